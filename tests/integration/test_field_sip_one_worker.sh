#!/bin/bash
# test_field_sip.sh with one engine worker (--workers 1): two devices on one
# AoR, stray responses, Max-Forwards, bare-LF messages, size limits through
# the single-loop engine, beside the suite's default of a worker per CPU.
SP_WORKERS=1 exec bash "$(dirname "$0")/test_field_sip.sh" "$@"
