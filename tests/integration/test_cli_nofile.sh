#!/bin/bash
# The CLI when sigproxyd has no descriptor left (found by bench/avalanche at
# 100 000 terminals with one socket per binding): a connection must be
# answered and closed, not left in the listen queue while the loop spins on
# accept's EMFILE; once descriptors are free again the CLI works as before.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools prlimit

NS=$(sp_netns nofile) || { sp_fail "create namespace"; sp_done; exit 1; }
sp_daemon_start "$NS" d1 || { sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
check_match "the CLI answers" '^sigproxy' "$(sp_cli d1 -c 'show version' 2>&1)"

hard=$(prlimit --pid "$PID" --nofile --noheadings --output HARD --raw)
# the soft limit at the lowest free descriptor number: the next one the
# daemon opens fails with EMFILE, as when every descriptor is in use
free=$(ls "/proc/$PID/fd" | sort -n | awk 'BEGIN { f = 0 } $1 == f { f++ } END { print f }')
prlimit --pid "$PID" --nofile="$free:$hard"
out=$(timeout 10 "$SPCLI" -s "$SP_TMP/d1/cli.sock" -c "show version" 2>&1); rc=$?
check "a CLI connection at the open-file limit is answered, not left waiting (rc $rc)" test "$rc" != 124
check_match "... with why" '^% Out of file descriptors' "$out"
t0=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
sleep 2
t1=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
check "sigproxyd does not spin on the refused connection ($((t1 - t0)) ticks in 2 s)" test $((t1 - t0)) -lt 50
check_match "the refusal is logged" 'no file descriptor left' "$(cat "$SP_TMP/d1/log")"

prlimit --pid "$PID" --nofile="$hard:$hard"
check_match "with descriptors free again the CLI answers" '^sigproxy' "$(sp_cli d1 -c 'show version' 2>&1)"
sp_done
