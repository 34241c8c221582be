#!/bin/bash
# sigproxyd's scheduling policy (--sched): with --sched batch every thread
# (the engine workers, the state store's writer, the CLI's) runs
# SCHED_BATCH, so that a datagram's wake-up does not preempt the task that
# sent it and sigproxyd reads the sender's burst in one batch (issue 21:
# fewer wake-ups and less CPU per call, more latency on a busy CPU;
# bench/RESULTS.md). The default, --sched normal, leaves the policy it was
# started with; a real-time policy given by the operator (chrt, systemd's
# CPUSchedulingPolicy) is never lowered. With --sched fifo every thread runs
# SCHED_FIFO at priority 1 (ahead of every normal task: the least latency on
# a CPU shared with other work); without CAP_SYS_NICE it says why and runs
# as started.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools chrt

# the policies of every thread of PID, one per line, sorted and counted
# (field 41 of /proc/PID/task/TID/stat: 0 other, 1 fifo, 3 batch; with
# -p, policy/priority from fields 41 and 40)
policies() {
	local t f='$39'
	[ "$1" = -p ] && { f='$39 "/" $38'; shift; }
	for t in /proc/"$1"/task/*; do
		sed 's/^.*) //' "$t/stat" | awk "{ print $f }"
	done | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'
}
threads() { ls /proc/"$1"/task | wc -l; }

# check_policy NAME PID MIN SCHEDULING WANT DESC [-p]: once the daemon
# answers (its workers' threads have started by then), `show version` says
# Scheduling: SCHEDULING, it runs MIN threads at least, and every thread's
# policy is WANT (policies' output, N standing for the thread count)
check_policy() {
	local name=$1 pid=$2 min=$3 sched=$4 want=$5 desc=$6 opt=${7:-} n
	check_match "$desc: show version says Scheduling: $sched" "^Scheduling: $sched\$" \
		"$(sp_cli "$name" -c 'show version')"
	n=$(threads "$pid")
	check "$desc: $min threads at least to look at ($n)" test "$n" -ge "$min"
	# shellcheck disable=SC2086 # opt: -p or nothing
	check_eq "$desc: every thread's policy" "${want//N/$n} " "$(policies $opt "$pid")"
}

NS=$(sp_netns sched) || { sp_fail "create namespace"; sp_done; exit 1; }

# default: the policy it was started with (SCHED_OTHER here)
sp_daemon_start "$NS" d1 --workers 2 --state-dir "$SP_TMP/d1/state" ||
	{ sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
check_match "the CLI answers" '^sigproxy' "$(sp_cli d1 -c 'show version' 2>&1)"
check_policy d1 "$PID" 3 normal 0:N "by default SCHED_OTHER, as started"
sp_daemon_stop "$PID"

# --sched batch: SCHED_BATCH on every thread, the workers' and the store's included
sp_daemon_start "$NS" d2 --workers 2 --sched batch --state-dir "$SP_TMP/d2/state" ||
	{ sp_fail "daemon starts with --sched batch"; cat "$SP_TMP/d2/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
check_policy d2 "$PID" 3 batch 3:N "--sched batch: SCHED_BATCH"
sp_daemon_stop "$PID"

# started real-time by the operator: not lowered to batch
mkdir -p "$SP_TMP/d3"
ip netns exec "$NS" chrt -f 1 "$SPD" -f "$SP_TMP/d3/sigproxy.conf" --cli-socket "$SP_TMP/d3/cli.sock" \
	--state-dir none --workers 2 --sched batch >>"$SP_TMP/d3/log" 2>&1 &
PID=$!
SP_PIDS+=("$PID")
sp_wait_for "sigproxyd d3 socket" 10 sp_unix_listening "$NS" "$SP_TMP/d3/cli.sock" ||
	{ sp_fail "daemon starts under chrt -f"; cat "$SP_TMP/d3/log"; sp_done; exit 1; }
# (no store: the two workers' threads)
check_policy d3 "$PID" 2 "fifo, priority 1" 1:N "started SCHED_FIFO by chrt, with --sched batch: stays SCHED_FIFO"
sp_daemon_stop "$PID"

# --sched fifo: SCHED_FIFO priority 1 on every thread, workers and store included
sp_daemon_start "$NS" d4 --workers 2 --sched fifo --state-dir "$SP_TMP/d4/state" ||
	{ sp_fail "daemon starts with --sched fifo"; cat "$SP_TMP/d4/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
check_match "--sched fifo: the engine answers the CLI" '^Engine workers: 2$' "$(sp_cli d4 -c 'show version')"
check_policy d4 "$PID" 3 "fifo, priority 1" 1/1:N "--sched fifo: SCHED_FIFO at priority 1" -p
check_eq "show version | json: scheduling fifo, scheduling-priority 1" "fifo 1" \
	"$(sp_cli d4 -c 'show version | json' | python3 -c 'import json, sys; v = json.load(sys.stdin); print(v["scheduling"], v["scheduling-priority"])')"
sp_daemon_stop "$PID"

# --sched fifo without CAP_SYS_NICE (a unit whose bounding set lacks it):
# says why in the log and runs as started
SP_CAPS_DROP=-sys_nice sp_daemon_start "$NS" d5 --workers 2 --sched fifo ||
	{ sp_fail "daemon starts with --sched fifo and no CAP_SYS_NICE"; cat "$SP_TMP/d5/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
check_match "--sched fifo without CAP_SYS_NICE: it serves" '^Engine workers: 2$' "$(sp_cli d5 -c 'show version')"
check_policy d5 "$PID" 2 normal 0:N "--sched fifo without CAP_SYS_NICE: as started (SCHED_OTHER)"
check_match "... and the log says why" 'sched fifo: Operation not permitted; running with the policy it was started with' \
	"$(cat "$SP_TMP/d5/log")"
sp_daemon_stop "$PID"

out=$("$SPD" --sched fast -f /dev/null 2>&1); rc=$?
check_eq "--sched with an unknown policy refused (exit 2)" 2 "$rc"
check_match "... with why" 'sched.*normal.*batch.*fifo' "$out"
sp_done
