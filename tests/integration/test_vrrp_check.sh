#!/bin/bash
# sigproxy-vrrp-check, keepalived's check script (packaging/keepalived), on
# a real daemon: `active` holds on an active SP (or one without
# redundancy), fails on a standby; a daemon that is there but does not
# answer in time (stopped with SIGSTOP: the kernel still accepts the CLI's
# connection) keeps its last answer for one check and fails the second in a
# row; it answers again: holds again (the miss forgotten); a daemon that is
# gone fails at once, last answer or not; so does a check whose miss cannot
# be recorded; usage errors exit 2.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools timeout cksum

CHECK=$SP_BUILD/packaging/keepalived/sigproxy-vrrp-check
export SIGPROXY_CLI=$SPCLI SIGPROXY_VRRP_STATE_DIR=$SP_TMP/state SIGPROXY_VRRP_TIMEOUT=2
NS=$(sp_netns vrrpck) || { sp_fail "create namespace"; sp_done; exit 1; }

sp_daemon_start "$NS" d1 || { sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
SOCK=$SP_TMP/d1/cli.sock
chk() { sh "$CHECK" -s "$SOCK" "$@" 2>"$SP_TMP/check.err"; }

check "active: holds without redundancy configured" chk active
check "alive: holds" chk alive
sp_cli d1 -c 'configure terminal' -c 'redundancy' -c 'role standby' -c 'end' >/dev/null
check_match "the daemon is a standby now" '^  Role +standby' "$(sp_cli d1 -c 'show redundancy')"
check_fails "active: fails on a standby" chk active
sp_cli d1 -c 'configure terminal' -c 'redundancy' -c 'role active' -c 'end' >/dev/null
check "active: holds on the active" chk active

kill -STOP "$PID"
t0=$SECONDS
check "stopped (no answer in time): the last answer once" chk active
check_match "... saying so" 'did not answer within 2 s; keeping its last answer once' "$(cat "$SP_TMP/check.err")"
check "... and within the script's timeout ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 3
check_fails "still stopped: the second check in a row fails" chk active
check_fails "... and the third" chk active
check "alive: its own last answer once" chk alive
check_fails "alive: then fails" chk alive
kill -CONT "$PID"
check "answering again: holds" chk active
kill -STOP "$PID"
check "stopped again: the last answer once more (the miss was forgotten)" chk active
kill -CONT "$PID"

# a state file that cannot be replaced (a directory where the script
# writes its new copy; root ignores read-only modes): no grace that could
# never end, the unanswered check fails
check "answering: holds" chk active
state=$(ls "$SIGPROXY_VRRP_STATE_DIR"/active-* | grep -v '\.tmp$')
check_eq "one state file for the active check of this socket" 1 "$(grep -c . <<<"$state")"
mkdir "$state.tmp"
kill -STOP "$PID"
check_fails "stopped, the miss cannot be recorded: fails" chk active
kill -CONT "$PID"
rmdir "$state.tmp"

sp_cli d1 -c 'configure terminal' -c 'redundancy' -c 'role standby' -c 'end' >/dev/null
check_fails "standby again: fails" chk active
kill -STOP "$PID"
check_fails "stopped after a failing answer: fails (the last answer was a failure)" chk active
kill -CONT "$PID"
sp_cli d1 -c 'configure terminal' -c 'redundancy' -c 'role active' -c 'end' >/dev/null
check "active again: holds" chk active
sp_daemon_stop "$PID"
t0=$SECONDS
check_fails "daemon gone (no socket): fails at once, although the last answer held" chk active
check "... at once ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 1

sh "$CHECK" -s "$SOCK" bogus >/dev/null 2>&1; rc=$?
check_eq "unknown check: usage error, exit 2" 2 "$rc"
sp_done
