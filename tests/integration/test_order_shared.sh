#!/bin/bash
# test_order.sh with `signaling-sockets shared` and 2 engine workers (issue
# 21 item 3): each worker has its own shared server-side socket per family,
# and the kernel's sk_lookup program steers what the server sends to C:c to
# the socket of the worker owning c's binding, which also reads that
# terminal's datagrams. Every call sees 180 before 200, both workers read
# from terminals and from servers, no answer lands on a worker without its
# binding. Fewer calls than test_order.sh (the order proof is there).
SP_SIGNALING_SOCKETS=shared ORDER_WORKERS=${ORDER_WORKERS:-2} ORDER_CALLS=${ORDER_CALLS:-400} \
	exec bash "$(dirname "$0")/test_order.sh" "$@"
