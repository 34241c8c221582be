# Shared helpers for the integration tests: assertions with a pass/fail
# count, network namespaces with unique names that are always removed, and
# starting/stopping sigproxyd. Source it; call sp_done at the end.
# Tests run as root; SP_BUILD points at the build tree (default: build/default).

set -u
SP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SP_BUILD=${SP_BUILD:-$SP_TOP/build/default}
SPD=$SP_BUILD/sigproxyd
SPCLI=$SP_BUILD/sigproxy-cli
SP_PASSED=0
SP_FAILED=0
SP_NETNS=()
SP_PIDS=()
SP_TMP=$(mktemp -d /tmp/sp-test.XXXXXX)
SP_TAG="sp$$"

sp_pass() { SP_PASSED=$((SP_PASSED + 1)); echo "ok - $*"; }
sp_fail() { SP_FAILED=$((SP_FAILED + 1)); echo "not ok - $*"; }

# check DESC CMD...: passes when CMD exits 0
check() {
	local desc=$1; shift
	if "$@" >"$SP_TMP/last.out" 2>&1; then sp_pass "$desc"; else
		sp_fail "$desc"; sed 's/^/#   /' "$SP_TMP/last.out" | head -20; fi
}

# check_fails DESC CMD...: passes when CMD exits non-zero
check_fails() {
	local desc=$1; shift
	if "$@" >"$SP_TMP/last.out" 2>&1; then
		sp_fail "$desc (unexpectedly succeeded)"; sed 's/^/#   /' "$SP_TMP/last.out" | head -20
	else sp_pass "$desc"; fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then sp_pass "$1"; else
		sp_fail "$1"; echo "#   expected: $(printf %q "$2")"; echo "#   actual:   $(printf %q "$3")"; fi
}

# check_match DESC REGEX TEXT
check_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then sp_pass "$1"; else
		sp_fail "$1"; echo "#   no match for /$2/ in:"; printf '%s\n' "$3" | sed 's/^/#   /' | head -20; fi
}

check_no_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then
		sp_fail "$1"; echo "#   unexpected /$2/ in:"; printf '%s\n' "$3" | sed 's/^/#   /' | head -20
	else sp_pass "$1"; fi
}

# sp_netns NAME: creates a namespace with a unique name (echoes it), lo up
sp_netns() {
	local ns="${SP_TAG}-$1"
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	# recorded in a file: callers use NS=$(sp_netns x), a subshell whose
	# variables would be lost and the namespace never removed
	echo "$ns" >>"$SP_TMP/netns.list"
	echo "$ns"
}

# sp_wait_for DESC TIMEOUT_S CMD...: polls CMD until it succeeds
sp_wait_for() {
	local desc=$1 t=$2; shift 2
	local end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# timed out waiting for: $desc"
	return 1
}

# sp_snmp_env: the MIB search path (the project's MIB, net-snmp's and the
# IETF ones Erlang ships), SNMPCONFPATH in $SP_TMP (keeps ~/.snmp and
# /etc/snmp out) and AX, the path of the AgentX socket
sp_snmp_env() {
	local ietf
	ietf=$(ls -d /usr/lib/erlang/lib/snmp-*/mibs 2>/dev/null | head -1)
	export MIBDIRS="$SP_TOP/mib:/usr/share/snmp/mibs${ietf:+:$ietf}"
	export MIBS=SIGPROXY-MIB
	export SNMPCONFPATH=$SP_TMP
	AX=$SP_TMP/agentx.sock
}

# sp_snmpd_start NS [CONF-LINE...]: snmpd in NS, the AgentX master on $AX,
# community public on 127.0.0.1:161, with the CONF-LINEs; waits for its socket
sp_snmpd_start() {
	local ns=$1
	shift
	printf '%s\n' "master agentx" "agentXSocket $AX" "agentaddress udp:127.0.0.1:161" \
		"rocommunity public 127.0.0.1" "$@" >"$SP_TMP/snmpd.conf"
	ip netns exec "$ns" snmpd -f -C -c "$SP_TMP/snmpd.conf" -Lf "$SP_TMP/snmpd.log" -p "$SP_TMP/snmpd.pid" &
	SP_PIDS+=("$!")
	sp_wait_for "snmpd socket" 10 test -S "$AX"
}

# sp_daemon_start NS NAME [ARGS...]: starts sigproxyd in NS with files under
# $SP_TMP/NAME (conf, cli.sock, pid, log); sets SP_DAEMON_PID. Without a
# --state-dir in ARGS the daemon keeps no state across restarts (--state-dir
# none): parallel tests must not share the default store.
sp_daemon_start() {
	local ns=$1 name=$2; shift 2
	local dir=$SP_TMP/$name
	mkdir -p "$dir"
	case " $* " in
	*" --state-dir "*) ;;
	*) set -- "$@" --state-dir none ;;
	esac
	# Engine workers: unset (or SP_WORKERS=default), the daemon's own
	# default, a worker per CPU, as the product runs; SP_WORKERS=N: every
	# daemon a test starts runs N (SP_WORKERS=1: the single-loop engine).
	# A test's own --workers wins.
	case " $* " in
	*" --workers "*) ;;
	*) [ "${SP_WORKERS:-default}" = default ] || set -- "$@" --workers "$SP_WORKERS" ;;
	esac
	# SP_CAPS_DROP=-perfmon,-sys_admin (setpriv's list): every daemon runs
	# without those capabilities (bounding and inheritable sets), as under a
	# unit whose bounding set lacks them
	local spd=("$SPD")
	[ -z "${SP_CAPS_DROP:-}" ] ||
		spd=(setpriv --inh-caps="$SP_CAPS_DROP" --bounding-set="$SP_CAPS_DROP" "$SPD")
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "${spd[@]}" -f "$dir/sigproxy.conf" --cli-socket "$dir/cli.sock" \
			--pid-file "$dir/pid" "$@" >>"$dir/log" 2>&1 &
	else
		"${spd[@]}" -f "$dir/sigproxy.conf" --cli-socket "$dir/cli.sock" --pid-file "$dir/pid" \
			--cli-listen none "$@" >>"$dir/log" 2>&1 &
	fi
	SP_DAEMON_PID=$!
	SP_PIDS+=("$SP_DAEMON_PID")
	# In the background (-d) the parent returns once the child is ready
	# and has written the pid file: wait for it, or a caller reads the
	# parent's pid from that file.
	case " $* " in
	*" -d "* | *" --daemon "*) wait "$SP_DAEMON_PID" || return 1 ;;
	esac
	# A daemon killed with -9 leaves its cli.sock behind: wait for a daemon
	# listening on it, not for the file.
	sp_wait_for "sigproxyd $name socket" 10 sp_unix_listening "$ns" "$dir/cli.sock"
}

# sp_unix_listening NS PATH: a process in NS ("" here) listens on unix socket PATH
sp_unix_listening() {
	local ns=$1 path=$2
	if [ -n "$ns" ]; then
		ip netns exec "$ns" ss -xlnH src "$path" | grep -q .
	else
		ss -xlnH src "$path" | grep -q .
	fi
}

# sp_cli NAME ARGS...: sigproxy-cli against daemon NAME
sp_cli() {
	local name=$1; shift
	"$SPCLI" -s "$SP_TMP/$name/cli.sock" "$@"
}

# sp_workers NAME: the engine workers the daemon NAME runs (`show version`),
# whoever chose them (SP_WORKERS, a test's --workers or the daemon's own
# default): what a test expects of the workers follows this, not SP_WORKERS
sp_workers() {
	sp_cli "$1" -c 'show version' | sed -nE 's/^Engine workers: ([0-9]+)$/\1/p'
}

# sp_daemon_stop PID: SIGTERM and wait; returns the daemon's exit status
sp_daemon_stop() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null || return 1
	wait "$pid"; rc=$?
	return $rc
}

sp_cleanup() {
	local p ns
	for p in "${SP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${SP_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -f "$SP_TMP/netns.list" ] && mapfile -t -O "${#SP_NETNS[@]}" SP_NETNS <"$SP_TMP/netns.list"
	for ns in "${SP_NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${SP_KEEP_TMP:-}" ] || rm -rf "$SP_TMP"
}
trap sp_cleanup EXIT

sp_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "# SKIP: $(basename "$0") needs root (network namespaces)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
}

# sp_require_tools TOOL...: scripts/deps installs every tool a test uses, so
# a missing one is a broken setup: the test fails (it does not skip) and says
# which one.
sp_require_tools() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			sp_fail "$(basename "$0") needs $tool (run scripts/deps)"
			sp_done
			exit 1
		fi
	done
}

# sp_require_files FILE...: the same for data files from the packages
sp_require_files() {
	local f
	for f in "$@"; do
		if [ ! -r "$f" ]; then
			sp_fail "$(basename "$0") needs $f (run scripts/deps)"
			sp_done
			exit 1
		fi
	done
}

# sp_done: the summary line scripts/check adds up; non-zero exit on failure
sp_done() {
	echo "$SP_PASSED passed, $SP_FAILED failed"
	[ "$SP_FAILED" -eq 0 ]
}
