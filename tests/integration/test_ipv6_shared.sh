#!/bin/bash
# test_ipv6.sh with `signaling-sockets shared` (issue 21): IPv6 terminals
# registered and called through an IPv6 C whose bindings hold no socket
# (the IPv6 transparent socket receives, the raw IPv6 socket sends with the
# kernel's checksum), beside IPv4 ones.
SP_SIGNALING_SOCKETS=shared exec bash "$(dirname "$0")/test_ipv6.sh" "$@"
