#!/bin/bash
# test_ipv6_shared.sh with 2 engine workers (issue 21 item 3): each worker
# has its own shared server-side sockets, the sk_lookup program steers what
# D1 sends to C:c and [C6]:c to the worker owning c's binding (alice's IPv6
# terminal hashes to worker 0, bob's to worker 1), no TPROXY rule to C; the
# bindings restored from the store at a restart are steered too.
SP_WORKERS=${SP_WORKERS:-2} SP_SIGNALING_SOCKETS=shared exec bash "$(dirname "$0")/test_ipv6.sh" "$@"
