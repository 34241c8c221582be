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

# The steering program needs CAP_BPF and CAP_NET_ADMIN, not CAP_PERFMON
# (nor CAP_SYS_ADMIN, which stands for both): without CAP_PERFMON the
# verifier applies its Spectre v1 rules, as to an unprivileged program, and
# the program is written to pass them (policy-routing/bpf/sp_steer.bpf.c).
# The packaged unit's bounding set has no CAP_PERFMON: the default's N
# workers must run there. Without CAP_BPF (nor CAP_SYS_ADMIN) the kernel
# refuses the program: the default then runs one worker and says why;
# --workers 2 insists, and the daemon refuses to start, saying why.
# lib.sh's SP_CAPS_DROP starts the daemon with those capabilities out of its
# bounding and inheritable sets, as under a unit without them.
# caps_of PID: CAP_SYS_ADMIN, CAP_PERFMON and CAP_BPF in its effective set (0/1)
caps_of() {
	local eff
	eff=0x$(awk '/^CapEff:/ { print $2 }' "/proc/$1/status")
	echo "sys_admin $(((eff >> 21) & 1)) perfmon $(((eff >> 38) & 1)) bpf $(((eff >> 39) & 1))"
}
if [ "$N" -lt 2 ]; then
	echo "# SKIP: workers without CAP_PERFMON, fallback to one worker: this process may run on one CPU only, so the default is 1"
elif ! setpriv --inh-caps=-perfmon,-sys_admin,-bpf --bounding-set=-perfmon,-sys_admin,-bpf true 2>/dev/null; then
	echo "# SKIP: workers without CAP_PERFMON, fallback to one worker: setpriv cannot drop capabilities here"
else
	if SP_CAPS_DROP=-perfmon,-sys_admin SP_WORKERS=default sp_daemon_start "$NS" d4; then
		check_eq "no CAP_PERFMON: the daemon runs without CAP_PERFMON and CAP_SYS_ADMIN" \
			"sys_admin 0 perfmon 0 bpf 1" "$(caps_of "$(cat "$SP_TMP/d4/pid")")"
		check_match "no CAP_PERFMON, default workers: Engine workers $N" \
			"^Engine workers: $N\$" "$(sp_cli d4 -c 'show version')"
		check_eq "no CAP_PERFMON: the engine runs $N workers" "$N" \
			"$(sp_cli d4 -c 'show statistics' | grep -cE '^  worker [0-9]+ ')"
		check_no_match "no CAP_PERFMON: no fallback to one worker in the log" "one engine worker instead" \
			"$(cat "$SP_TMP/d4/log")"
		sp_daemon_stop "$SP_DAEMON_PID"
	else
		sp_fail "no CAP_PERFMON, default workers: the daemon starts"; cat "$SP_TMP/d4/log"
	fi

	if SP_CAPS_DROP=-bpf,-sys_admin SP_WORKERS=default sp_daemon_start "$NS" d5; then
		check_eq "no CAP_BPF: the daemon runs without CAP_BPF and CAP_SYS_ADMIN" \
			"sys_admin 0 perfmon 1 bpf 0" "$(caps_of "$(cat "$SP_TMP/d5/pid")")"
		check_match "no CAP_BPF, default workers: the daemon runs, Engine workers 1" \
			"^Engine workers: 1\$" "$(sp_cli d5 -c 'show version')"
		check_match "no CAP_BPF, default workers: the log says why one" \
			"one engine worker instead of the default $N \(--workers $N insists\)" "$(cat "$SP_TMP/d5/log")"
		sp_daemon_stop "$SP_DAEMON_PID"
	else
		sp_fail "no CAP_BPF, default workers: the daemon starts"; cat "$SP_TMP/d5/log"
	fi
	mkdir -p "$SP_TMP/d6"
	timeout 10 ip netns exec "$NS" setpriv --inh-caps=-bpf,-sys_admin --bounding-set=-bpf,-sys_admin \
		"$SPD" -f "$SP_TMP/d6/sigproxy.conf" --cli-socket "$SP_TMP/d6/cli.sock" \
		--cli-listen none --state-dir none --workers 2 >"$SP_TMP/d6/log" 2>&1
	rc=$?
	check "no CAP_BPF, --workers 2: the daemon refuses to start (exit $rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124
	check_match "no CAP_BPF, --workers 2: it says why" "proxy engine: .*steer" "$(cat "$SP_TMP/d6/log")"
fi

sp_done
