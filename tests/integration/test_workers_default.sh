#!/bin/bash
# sigproxyd's default number of engine workers (issue 21 item 3): one per
# CPU the daemon may run on (its affinity, not the machine's CPUs), at most
# 64; said in --help and shown by `show version` (text and JSON), and the
# engine runs that many (show statistics lists them from 2 on).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools taskset python3

cpus() { python3 -c 'import os; print(min(len(os.sched_getaffinity(0)), 64))'; }
N=$(cpus)

check_match "--help: the default is one worker per CPU, here $N" "CPU this process may run on, here $N\)" \
	"$("$SPD" --help 2>&1)"
check_match "--help under taskset -c 0: here 1" "here 1\)" "$(taskset -c 0 "$SPD" --help 2>&1)"

NS=$(sp_netns wdef) || { sp_fail "create namespace"; sp_done; exit 1; }
# SP_WORKERS=default: lib.sh passes no --workers, the daemon's own default
SP_WORKERS=default sp_daemon_start "$NS" d1 ||
	{ sp_fail "daemon starts without --workers"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
check_match "show version: Engine workers $N without --workers" "^Engine workers: $N\$" \
	"$(sp_cli d1 -c 'show version')"
check_eq "show version | json: engine-workers $N" "$N" \
	"$(sp_cli d1 -c 'show version | json' | python3 -c 'import json, sys; print(json.load(sys.stdin)["engine-workers"])')"
if [ "$N" -gt 1 ]; then
	check_eq "show statistics: the engine runs $N workers" "$N" \
		"$(sp_cli d1 -c 'show statistics' | grep -cE '^  worker [0-9]+ ')"
fi
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "SIGTERM: clean exit" 0 $?

# the daemon's affinity, not the machine's CPUs: started on CPU 0 only
all=$(taskset -p -c $$ | sed 's/.*: //')
taskset -p -c 0 $$ >/dev/null
SP_WORKERS=default sp_daemon_start "$NS" d2; rc=$?
taskset -p -c "$all" $$ >/dev/null
if [ $rc -eq 0 ]; then
	check_match "under taskset -c 0: Engine workers 1" "^Engine workers: 1\$" "$(sp_cli d2 -c 'show version')"
	sp_daemon_stop "$SP_DAEMON_PID"
else
	sp_fail "daemon starts under taskset -c 0"; cat "$SP_TMP/d2/log"
fi

# --workers 1 keeps the single loop whatever the CPUs
sp_daemon_start "$NS" d3 --workers 1 || { sp_fail "daemon starts with --workers 1"; cat "$SP_TMP/d3/log"; }
check_match "--workers 1: Engine workers 1" "^Engine workers: 1\$" "$(sp_cli d3 -c 'show version')"
check_no_match "--workers 1: no per-worker lines" "^  worker " "$(sp_cli d3 -c 'show statistics')"
sp_daemon_stop "$SP_DAEMON_PID"

# A default the kernel cannot carry must not keep the proxy from starting:
# without CAP_PERFMON (nor CAP_SYS_ADMIN, which stands for it) the verifier
# refuses the steering program, as under a unit whose bounding set lacks it.
# The default then runs one worker and says why; --workers 2 insists, and
# the daemon refuses to start, saying why.
if [ "$N" -lt 2 ]; then
	echo "# SKIP: fallback to one worker: this process may run on one CPU only, so the default is 1"
elif ! setpriv --bounding-set -perfmon,-sys_admin true 2>/dev/null; then
	echo "# SKIP: fallback to one worker: setpriv cannot drop CAP_PERFMON here"
else
	nopm=$SP_TMP/spd-no-perfmon
	printf '#!/bin/sh\nexec setpriv --bounding-set -perfmon,-sys_admin %s "$@"\n' "$SPD" >"$nopm"
	chmod +x "$nopm"
	spd=$SPD SPD=$nopm
	if SP_WORKERS=default sp_daemon_start "$NS" d4; then
		check_match "no CAP_PERFMON, default workers: the daemon runs, Engine workers 1" \
			"^Engine workers: 1\$" "$(sp_cli d4 -c 'show version')"
		check_match "no CAP_PERFMON, default workers: the log says why one" \
			"one engine worker instead of the default $N \(--workers $N insists\)" "$(cat "$SP_TMP/d4/log")"
		sp_daemon_stop "$SP_DAEMON_PID"
	else
		sp_fail "no CAP_PERFMON, default workers: the daemon starts"; cat "$SP_TMP/d4/log"
	fi
	mkdir -p "$SP_TMP/d5"
	timeout 10 ip netns exec "$NS" "$nopm" -f "$SP_TMP/d5/sigproxy.conf" --cli-socket "$SP_TMP/d5/cli.sock" \
		--cli-listen none --state-dir none --workers 2 >"$SP_TMP/d5/log" 2>&1
	rc=$?
	check "no CAP_PERFMON, --workers 2: the daemon refuses to start (exit $rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124
	check_match "no CAP_PERFMON, --workers 2: it says why" "proxy engine: .*steer" "$(cat "$SP_TMP/d5/log")"
	SPD=$spd
fi

sp_done
