#!/bin/bash
# test_failover6.sh with `signaling-sockets shared` and 2 engine workers
# (issue 21 item 3): the bindings sp2 holds come from the state sync, with
# the C6:c sp1 picked; at the takeover sp2 writes each one's owner in the
# sk_lookup program's port map, so the server's call to bob's [C6]:c
# reaches the shared socket of bob's worker (worker 1: his address and
# port hash there), which holds his binding.
SP_WORKERS=${SP_WORKERS:-2} SP_SIGNALING_SOCKETS=shared exec bash "$(dirname "$0")/test_failover6.sh" "$@"
