#!/bin/bash
# The packaged unit under a real systemd: PID 1 of this machine need not be
# systemd, so the test boots /lib/systemd/systemd as PID 1 of its own PID,
# mount and cgroup namespaces (a cgroup of its own, bound where systemd looks
# for its hierarchy; /run a tmpfs of its own), with a unit path that holds
# only the packaged sigproxyd.service, a drop-in for this build's daemon and
# stub targets. It proves Type=notify (`systemctl start` returns once the
# daemon is ready: its CLI answers at once), the watchdog (a loop stopped
# with SIGSTOP is killed by systemd, Result=watchdog, and restarted by
# Restart=on-failure) and a clean stop.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools unshare nsenter
sp_require_files /lib/systemd/systemd "$SP_BUILD/packaging/systemd/sigproxyd.service"

CG=sp-test-$$
# systemd and nsenter want absolute paths
SPD=$(readlink -f "$SPD")
SPCLI=$(readlink -f "$SPCLI")
U=$SP_TMP/units
mkdir -p "$U/sigproxyd.service.d"

# ---- a cgroup of its own for the test's systemd ----
cg_dirs=()
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	cg_dirs=("/sys/fs/cgroup/$CG:/sys/fs/cgroup")          # unified
else
	cg_dirs=("/sys/fs/cgroup/systemd/$CG:/sys/fs/cgroup/systemd") # hybrid or legacy
	[ -d /sys/fs/cgroup/unified ] && cg_dirs+=("/sys/fs/cgroup/unified/$CG:/sys/fs/cgroup/unified")
fi
cg_cleanup() {
	local d
	for d in "${cg_dirs[@]}"; do
		[ -d "${d%%:*}" ] && find "${d%%:*}" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}
SD_UNSHARE=
test_cleanup() {
	# --kill-child: unshare's end is the end of the namespace's PID 1
	[ -n "$SD_UNSHARE" ] && kill -KILL "$SD_UNSHARE" 2>/dev/null && wait "$SD_UNSHARE" 2>/dev/null
	sleep 0.2
	cg_cleanup
	sp_cleanup
}
trap test_cleanup EXIT

# ---- the units: the packaged one, this build's daemon in a drop-in ----
for t in sysinit basic shutdown network multi-user; do
	printf '[Unit]\nDescription=stub %s.target\n' "$t" >"$U/$t.target"
done
printf '[Unit]\nDescription=the test system\n' >"$U/sp-test.target"
cp "$SP_BUILD/packaging/systemd/sigproxyd.service" "$U/"
cat >"$U/sigproxyd.service.d/test.conf" <<EOF
[Service]
ExecStart=
ExecStart=$SPD --pid-file /run/sigproxy/sigproxyd.pid --cli-listen none -f /run/sp-test/sigproxy.conf --cli-socket /run/sigproxy/cli.sock --state-dir none --agentx /run/sigproxy/no-agentx
# quick enough for a test; the rest of the unit is the packaged one
WatchdogSec=4s
# the sanitizer build: LeakSanitizer cannot stop the threads at exit under
# the unit's SystemCallFilter (the other tests check leaks)
Environment=ASAN_OPTIONS=detect_leaks=0
RestartSec=3s
TimeoutStopSec=10s
# the packaged path is the installed sysconfdir, absent here
ReadWritePaths=
StandardOutput=append:$SP_TMP/daemon.log
StandardError=append:$SP_TMP/daemon.log
EOF
printf 'hostname sdtest\n' >"$SP_TMP/sigproxy.conf"
cat >"$SP_TMP/pid1.sh" <<EOF
#!/bin/sh
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd /run/sp-test
cp "$SP_TMP/sigproxy.conf" /run/sp-test/
$(for d in "${cg_dirs[@]}"; do echo "mount --bind ${d%%:*} ${d#*:}"; done)
export SYSTEMD_UNIT_PATH=$U container=sp-test
exec /lib/systemd/systemd --system --unit=sp-test.target --log-target=null
EOF
chmod +x "$SP_TMP/pid1.sh"
cat >"$SP_TMP/enter.sh" <<'EOF'
#!/bin/sh
# moves itself into the test's cgroup, then becomes the namespaces' PID 1
for d in "$@"; do echo $$ >"$d/cgroup.procs"; done
exec unshare --cgroup --pid --mount --fork --kill-child --mount-proc --propagation private "$PID1"
EOF
for d in "${cg_dirs[@]}"; do mkdir -p "${d%%:*}"; done
PID1=$SP_TMP/pid1.sh sh "$SP_TMP/enter.sh" $(for d in "${cg_dirs[@]}"; do echo "${d%%:*}"; done) \
	>"$SP_TMP/pid1.log" 2>&1 &
SD_UNSHARE=$!
sd_pid() { pgrep -P "$SD_UNSHARE" -x systemd; }
sp_wait_for "systemd as PID 1 of the namespace" 10 sd_pid
SD=$(sd_pid)
sctl() { nsenter -t "$SD" -m -p systemctl "$@"; }
in_ns() { nsenter -t "$SD" -m -p "$@"; }
booted() { case "$(sctl is-system-running 2>/dev/null)" in running | degraded) return 0 ;; esac; return 1; }
if [ -n "$SD" ] && sp_wait_for "systemd is running" 20 booted; then
	sp_pass "systemd runs as PID 1 of the test's namespaces"
else
	sp_fail "systemd runs as PID 1 of the test's namespaces"; sed 's/^/#   /' "$SP_TMP/pid1.log"
	sp_done; exit 1
fi
prop() { sctl show -p "$1" --value sigproxyd; }

# ---- Type=notify: start returns once the daemon is ready ----
check "systemctl start sigproxyd" sctl start sigproxyd
check_eq "the service is active (running) right after start returns" "active running" \
	"$(prop ActiveState) $(prop SubState)"
# no wait: READY=1 comes after the listeners, so the CLI answers already
check_match "... and its CLI answers at once" '^hostname sdtest$' \
	"$(in_ns "$SPCLI" -s /run/sigproxy/cli.sock -c 'show running-config' 2>&1)"
check_eq "the unit is Type=notify with the packaged hardening" "notify yes" \
	"$(prop Type) $(prop NoNewPrivileges)"
# the unit's bounding set has neither CAP_PERFMON nor CAP_SYS_ADMIN, and the
# steering program of the default's engine workers (one per CPU, at most 64)
# loads without them: the daemon runs them all, not the one-worker fallback
check_eq "the unit's bounding set: no CAP_PERFMON, no CAP_SYS_ADMIN" \
	"cap_net_bind_service cap_net_admin cap_net_raw cap_bpf" "$(prop CapabilityBoundingSet)"
N=$(nproc)
[ "$N" -le 64 ] || N=64
check_match "... and its daemon runs the default's $N engine workers" "^Engine workers: $N\$" \
	"$(in_ns "$SPCLI" -s /run/sigproxy/cli.sock -c 'show version' 2>&1)"
check_eq "the daemon's status line reached systemd (sd_notify STATUS=)" serving "$(prop StatusText)"
check_eq "systemd gives the daemon the drop-in's watchdog" 4s "$(prop WatchdogUSec)"
sp_wait_for "watchdog log line" 5 grep -q 'watchdog: fed every 2000 ms' "$SP_TMP/daemon.log"
check_match "the daemon feeds it every half interval" 'watchdog: fed every 2000 ms' "$(cat "$SP_TMP/daemon.log")"

# ---- a hung loop: SIGSTOP; systemd's watchdog kills, Restart= restarts ----
OLD=$(prop MainPID)
# (never "kill -STOP 0": that is this test's own process group)
[ "${OLD:-0}" != 0 ] || { sp_fail "the service has a main process"; sp_done; exit 1; }
in_ns kill -STOP "$OLD"
killed() { [ "$(prop Result)" = watchdog ]; }
if sp_wait_for "systemd's watchdog" 12 killed; then
	sp_pass "a stopped event loop is killed by systemd's watchdog (Result=watchdog)"
else
	sp_fail "a stopped event loop is killed by systemd's watchdog (Result=watchdog)"
	sctl status --no-pager sigproxyd 2>&1 | sed 's/^/#   /'
fi
restarted() { [ "$(prop NRestarts)" = 1 ] && [ "$(prop SubState)" = running ]; }
sp_wait_for "the restart" 10 restarted
check_eq "Restart=on-failure starts it again (one restart, running)" "1 running" \
	"$(prop NRestarts) $(prop SubState)"
NEW=$(prop MainPID)
check "... as a new process" [ "$NEW" != "$OLD" ]
check_fails "... and the hung one is gone" in_ns kill -0 "$OLD"
check_match "the new daemon answers" '^hostname sdtest$' \
	"$(in_ns "$SPCLI" -s /run/sigproxy/cli.sock -c 'show running-config' 2>&1)"

# ---- stop: SIGTERM, a clean exit ----
check "systemctl stop sigproxyd" sctl stop sigproxyd
check_eq "the daemon stopped cleanly (inactive, Result=success)" "inactive success" \
	"$(prop ActiveState) $(prop Result)"

sp_done
