#!/bin/bash
# test_engine.sh with one engine worker (--workers 1): the suite runs the
# daemon's default, a worker per CPU; this keeps the single-loop engine (no
# workers' lock, no steering program, one UDP transport) proven end to end,
# as a one-CPU router or an operator's `--workers 1` runs it.
SP_WORKERS=1 exec bash "$(dirname "$0")/test_engine.sh" "$@"
