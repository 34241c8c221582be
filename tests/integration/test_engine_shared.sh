#!/bin/bash
# test_engine.sh with `signaling-sockets shared` (issue 21): registrations,
# calls both ways, keep-alives, the limits and the captures of every link,
# with the bindings' server side carried by one transparent socket (TPROXY
# to it for C's signalling ports) and a raw socket sending from C:c, no
# socket per binding (and that checked: nothing bound to C, the rule there).
SP_SIGNALING_SOCKETS=shared exec bash "$(dirname "$0")/test_engine.sh" "$@"
