#!/bin/bash
# The packages, end to end: builds the .deb and the .rpm from a `make dist`
# tarball of this tree, checks the .deb with lintian, installs it, checks the
# installed files and their permissions, runs the INSTALLED daemon with the
# packaged configuration in a network namespace and queries it with the
# installed sigproxy-cli, removes and purges the package (nothing left, no
# kernel state), and compares the .rpm's file list with the .deb's.
# The package is purged at exit whatever happens (also on Ctrl-C).
. "$(dirname "$0")/lib.sh"
sp_require_root

sp_skip() {
	echo "# SKIP: $*"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
# The packages build from the source tree, not from SP_BUILD: once is enough.
[ "${SP_BUILD##*/}" = sanitize ] && sp_skip "packaging is tested once, in the default build"
for tool in dpkg-buildpackage dh fakeroot rpmbuild lintian; do
	command -v "$tool" >/dev/null || sp_skip "$tool is not installed (scripts/deps installs it)"
done
# The package is the host's, not the namespace's: two runs at once (two
# worktrees) would install and purge each other's. One at a time.
exec 9>/run/lock/sigproxy-test-packaging.lock
flock 9
# Never replace or purge a sigproxy package this test did not install.
if dpkg-query -W -f='${db:Status-Status}' sigproxy 2>/dev/null | grep -q installed; then
	sp_skip "a sigproxy package is already installed; not touching it"
fi

PKG=$SP_TMP/pkg
mkdir -p "$PKG"
INSTALLED=no
OWN_POLICY_RC=no
BG_GROUPS=()

pkg_cleanup() {
	local g
	for g in "${BG_GROUPS[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
	if [ "$INSTALLED" = yes ]; then
		dpkg --purge sigproxy >/dev/null 2>&1 || echo "# cleanup: dpkg --purge sigproxy failed"
	fi
	[ "$OWN_POLICY_RC" = yes ] && rm -f /usr/sbin/policy-rc.d
	sp_cleanup
}
trap pkg_cleanup EXIT
trap 'exit 130' INT TERM HUP

# kernel state of the host that installing and purging must leave alone
kernel_state() {
	ip -4 rule show; ip -6 rule show
	nft list tables 2>/dev/null
}

# ---- build ----
TARBALL=$("$SP_TOP/packaging/make-tarball" "$PKG/dist" 2>"$PKG/dist.log") ||
	{ sp_fail "make dist"; tail -20 "$PKG/dist.log"; sp_done; exit 1; }
sp_pass "make dist made $(basename "$TARBALL")"
VERSION=$(basename "$TARBALL" .tar.gz); VERSION=${VERSION#sigproxy-}

# the two builds run side by side; each uses the tarball's own recipes.
# setsid: the rpm build is a process group of its own, stopped as a whole at exit
setsid "$SP_TOP/packaging/build-rpm" -t "$TARBALL" -n "$PKG/rpm" \
	>"$PKG/rpm.out" 2>"$PKG/rpm.log" &
RPM_PID=$!
BG_GROUPS+=("$RPM_PID")
if DEB_BUILD_OPTIONS="nocheck parallel=2" "$SP_TOP/packaging/build-deb" -t "$TARBALL" "$PKG/deb" \
	>"$PKG/deb.out" 2>"$PKG/deb.log"; then
	sp_pass "the .deb builds"
else
	sp_fail "the .deb builds"; tail -30 "$PKG/deb.log" | sed 's/^/#   /'
	sp_done; exit 1
fi
DEB=$(grep -E '/sigproxy_[^/]*\.deb$' "$PKG/deb.out")
check_eq "the .deb has the version of configure.ac" "$VERSION" "$(dpkg-deb -f "$DEB" Version)"

# every tag down to pedantic; the overrides say why each one left is right
setsid lintian -I --pedantic "$DEB" >"$PKG/lintian.out" 2>&1 &
LINTIAN_PID=$!
BG_GROUPS+=("$LINTIAN_PID")

# ---- install ----
[ -e /usr/sbin/policy-rc.d ] || {
	# where systemd runs, postinst would start the packaged service:
	# this test runs the daemon itself, in a namespace
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
	OWN_POLICY_RC=yes
}
KERNEL_BEFORE=$(kernel_state)
INSTALLED=yes
check "dpkg -i installs the .deb" dpkg -i "$DEB"

# mode owner path of each file the package must install
while read -r mode path; do
	check_eq "installed $path ($mode)" "$mode root:root" "$(stat -c '%A %U:%G' "$path" 2>&1)"
done <<'EOF'
-rwxr-xr-x /usr/sbin/sigproxyd
-rwxr-xr-x /usr/bin/sigproxy-cli
-rwxr-xr-x /usr/sbin/sigproxy-vrrp-notify
-rwxr-xr-x /usr/sbin/sigproxy-vrrp-check
-rw-r--r-- /usr/share/doc/sigproxy/examples/keepalived/keepalived.conf
-rw------- /etc/sigproxy/sigproxy.conf
-rw-r--r-- /usr/share/snmp/mibs/SIGPROXY-MIB.txt
-rw-r--r-- /lib/systemd/system/sigproxyd.service
-rw-r--r-- /usr/share/man/man8/sigproxyd.8.gz
-rw-r--r-- /usr/share/man/man1/sigproxy-cli.1.gz
-rw-r--r-- /usr/share/man/man5/sigproxy.conf.5.gz
-rw-r--r-- /usr/share/man/man8/sigproxy-vrrp-notify.8.gz
-rw-r--r-- /usr/share/man/man8/sigproxy-vrrp-check.8.gz
-rw-r--r-- /usr/share/doc/sigproxy/copyright
-rw-r--r-- /usr/share/sigproxy/sigproxy.conf
EOF
# a license that lets anyone redistribute it, stated where Debian looks
check_match "debian/copyright is DEP-5 with the GPL-2+" '^License: GPL-2\+$' \
	"$(cat /usr/share/doc/sigproxy/copyright)"
check_no_match "no undecided license or all rights reserved" 'undecided|[Aa]ll rights reserved' \
	"$(cat /usr/share/doc/sigproxy/copyright)"
check_no_match "maintainer and homepage are no placeholders" 'example\.(org|com)' \
	"$(dpkg-deb -f "$DEB" Maintainer Homepage)"
# every program the package installs has its man page
for prog in $(dpkg -L sigproxy | grep -E '^/usr/s?bin/'); do
	check_match "man page of ${prog##*/}" "/${prog##*/}\.[18]" "$(man -w "${prog##*/}" 2>&1)"
done
# `write memory` rewrites the startup file: a conffile would make every
# upgrade ask about it. postinst makes it from the shipped default.
check_no_match "the startup file is no conffile" 'sigproxy.conf' \
	"$(dpkg-query -W -f='${Conffiles}\n' sigproxy)"
check "postinst made it from the shipped default" \
	cmp /usr/share/sigproxy/sigproxy.conf /etc/sigproxy/sigproxy.conf
check_match "installed sigproxyd --version" "^sigproxyd $VERSION\$" "$(/usr/sbin/sigproxyd --version)"
check_match "installed sigproxy-cli --version" "^sigproxy-cli $VERSION\$" "$(/usr/bin/sigproxy-cli --version)"
for page in sigproxyd.8 sigproxy-cli.1 sigproxy.conf.5 sigproxy-vrrp-notify.8 sigproxy-vrrp-check.8; do
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "/usr/share/man/man${page##*.}/$page.gz" 2>&1 >/dev/null)
	check_eq "man page $page renders without warnings" "" "$warnings"
done
check_match "man finds the installed pages" 'sigproxy.conf.5' "$(man -w sigproxy.conf 2>&1)"
if command -v systemd-analyze >/dev/null; then
	check_eq "systemd-analyze verify accepts the unit" "" \
		"$(systemd-analyze verify /lib/systemd/system/sigproxyd.service 2>&1)"
else
	echo "# SKIP: systemd-analyze not installed: unit not verified"
fi
check_match "the unit runs the installed daemon in the foreground with its pid file (lock), no TCP listener" \
	'^ExecStart=/usr/sbin/sigproxyd --pid-file /run/sigproxy/sigproxyd.pid --cli-listen none$' \
	"$(grep ^ExecStart= /lib/systemd/system/sigproxyd.service)"
check_match "the unit waits for the daemon's readiness" '^Type=notify$' \
	"$(grep ^Type= /lib/systemd/system/sigproxyd.service)"
check_match "the unit has a watchdog" '^WatchdogSec=[0-9]+s$' \
	"$(grep ^WatchdogSec= /lib/systemd/system/sigproxyd.service)"
check_match "the unit gives the daemon its default state directory" '^StateDirectory=sigproxy$' \
	"$(grep ^StateDirectory= /lib/systemd/system/sigproxyd.service)"

# ---- the installed daemon with the packaged configuration ----
NS=$(sp_netns pkg) || { sp_fail "create namespace"; sp_done; exit 1; }
SP_NETNS+=("$NS") # sp_netns ran in a subshell: register it here for sp_cleanup
D=$SP_TMP/inst
mkdir -p "$D"
NS_RULES=$(ip netns exec "$NS" ip rule show)
# the data path as the namespace has it without sigproxy: rules, tables,
# listening sockets (UDP and TCP: the packaged unit opens no TCP listener)
ns_data_path() {
	ip netns exec "$NS" sh -c 'ip -4 rule show; ip -6 rule show; nft list ruleset;
		ss -H -lnu; ss -H -lnt'
}
NS_DATA_PATH=$(ns_data_path)
# the installed unit's own command line, with this test's socket, pid file
# and state directory after it (the last of an option wins)
read -r -a UNIT_CMD <<<"$(sed -n 's/^ExecStart=//p' /lib/systemd/system/sigproxyd.service)"
ip netns exec "$NS" "${UNIT_CMD[@]}" -f /etc/sigproxy/sigproxy.conf --cli-socket "$D/cli.sock" \
	--pid-file "$D/pid" --state-dir "$D/state" >>"$D/log" 2>&1 &
PID=$!
SP_PIDS+=("$PID")
if sp_wait_for "installed sigproxyd socket" 10 test -S "$D/cli.sock"; then
	sp_pass "the installed daemon starts with the packaged configuration"
else
	sp_fail "the installed daemon starts with the packaged configuration"; sed 's/^/#   /' "$D/log"
fi
cli() { /usr/bin/sigproxy-cli -s "$D/cli.sock" "$@"; }
check_eq "the default configuration changes no rule, table or listening socket" \
	"$NS_DATA_PATH" "$(ns_data_path)"
check_eq "the packaged unit's daemon listens on no TCP port" "" \
	"$(ip netns exec "$NS" ss -H -ltnp | grep sigproxyd)"
check_match "... and sigproxy-cli still works on the unix socket" 'Uptime' \
	"$(/usr/bin/sigproxy-cli -s "$D/cli.sock" -c 'show version' 2>&1)"
out=$(cli -c "show running-config" 2>&1)
check_match "sigproxy-cli reads the packaged hostname" '^hostname sigproxy$' "$out"
check_no_match "the packaged configuration has no users" '^username' "$out"
check_match "show version" "$VERSION" "$(cli -c 'show version' 2>&1)"
# an operator's first set-up, stored in the packaged file
check "configure and write memory" cli -c "configure terminal" -c "hostname pkgtest" \
	-c "username admin secret Adm1nPass" -c "end" -c "write memory"
check_match "write memory stored the running configuration" '^hostname pkgtest$' \
	"$(cat /etc/sigproxy/sigproxy.conf)"
check_eq "the written file is still root-only" "-rw------- root:root" \
	"$(stat -c '%A %U:%G' /etc/sigproxy/sigproxy.conf)"
# an upgrade (the same .deb again) with no terminal: no conffile question,
# the operator's file kept as it is
written=$(cat /etc/sigproxy/sigproxy.conf)
check "installing the package again after write memory asks nothing" \
	dpkg -i "$DEB" </dev/null
check_eq "... and keeps the written file" "$written" "$(cat /etc/sigproxy/sigproxy.conf)"
check_eq "... with no .dpkg-* copies beside it" "sigproxy.conf" "$(ls /etc/sigproxy)"
sp_daemon_stop "$PID"; check_eq "SIGTERM stops the installed daemon cleanly" 0 $?
check_fails "... and removes its pid file" test -e "$D/pid"
check_fails "... and its socket" test -e "$D/cli.sock"
check_eq "no policy rules left in the namespace" "$NS_RULES" "$(ip netns exec "$NS" ip rule show)"
check_eq "no nftables tables left in the namespace" "" "$(ip netns exec "$NS" nft list tables)"

# the example of sigproxy.conf(5) is a valid startup file (hashes left out)
E=$SP_TMP/example
mkdir -p "$E"
zcat /usr/share/man/man5/sigproxy.conf.5.gz | awk '/^\.SH EXAMPLE/ { f = 1; next }
	f && /^\.EX/ { g = 1; next } g && /^\.EE/ { exit } g' | sed 's/\\-/-/g' |
	grep -v -E '^(username|enable) ' >"$E/sigproxy.conf"
ip netns exec "$NS" /usr/sbin/sigproxyd -f "$E/sigproxy.conf" --cli-listen none \
	--cli-socket "$E/cli.sock" --state-dir none >>"$E/log" 2>&1 &
PID=$!
SP_PIDS+=("$PID")
if sp_wait_for "example daemon socket" 10 test -S "$E/cli.sock"; then
	check_match "the example of sigproxy.conf(5) loads" 'proxy-strategy voip seq 10' \
		"$(/usr/bin/sigproxy-cli -s "$E/cli.sock" -c 'show running-config' 2>&1)"
else
	sp_fail "the example of sigproxy.conf(5) loads"; sed 's/^/#   /' "$E/log" | head -5
fi
sp_daemon_stop "$PID"

# ---- systemd's service protocol, as the unit's Type=notify and WatchdogSec=
# use it: a listener on NOTIFY_SOCKET stands for systemd (PID 1 here may be
# no systemd). Each datagram line is stamped with whether the CLI socket
# already exists when it arrives.
N=$SP_TMP/notify
mkdir -p "$N"
python3 - "$N/notify.sock" "$N/messages" "$N/cli.sock" <<'PY' &
import os, socket, sys, time
path, out, cli = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(15)
with open(out, "w", buffering=1) as f:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in data.splitlines():
            f.write("%s %s\n" % (line, "cli-up" if os.path.exists(cli) else "cli-down"))
PY
SP_PIDS+=("$!")
sp_wait_for "notify listener" 5 test -S "$N/notify.sock"
# WATCHDOG_USEC=1 s: pings every 0.5 s (the unit's 30 s would make a slow test)
NOTIFY_SOCKET=$N/notify.sock WATCHDOG_USEC=1000000 ip netns exec "$NS" /usr/sbin/sigproxyd \
	-f /etc/sigproxy/sigproxy.conf --cli-listen none --cli-socket "$N/cli.sock" \
	--state-dir none >>"$N/log" 2>&1 &
PID=$!
SP_PIDS+=("$PID")
pings() { grep -c '^WATCHDOG=1 ' "$N/messages" 2>/dev/null; }
if sp_wait_for "READY=1" 10 grep -q '^READY=1 ' "$N/messages"; then
	check_match "READY=1 comes once the CLI socket is up" '^READY=1 cli-up$' "$(cat "$N/messages")"
	check_match "... with the daemon's pid" "^MAINPID=$PID " "$(cat "$N/messages")"
else
	sp_fail "the daemon tells systemd it is ready"; sed 's/^/#   /' "$N/log" | head -5
fi
sp_wait_for "three watchdog pings" 5 sh -c "[ \$(grep -c '^WATCHDOG=1 ' '$N/messages') -ge 3 ]"
check "the event loop feeds the watchdog" [ "$(pings)" -ge 3 ]
# a hung loop: no ping for longer than WATCHDOG_USEC, which makes systemd
# kill and restart the service
kill -STOP "$PID"
sleep 0.6
before=$(pings)
sleep 2
check_eq "a stopped loop sends no watchdog ping for 2 s (> WatchdogSec)" "$before" "$(pings)"
kill -CONT "$PID"
sp_wait_for "pings again" 5 sh -c "[ \$(grep -c '^WATCHDOG=1 ' '$N/messages') -gt $before ]"
check "... and the pings come back when it runs again" [ "$(pings)" -gt "$before" ]
sp_daemon_stop "$PID"
check_match "SIGTERM: STOPPING=1" '^STOPPING=1 ' "$(cat "$N/messages")"

# ---- remove, purge ----
wait $LINTIAN_PID
BG_GROUPS=("$RPM_PID")
check_no_match "lintian finds nothing (errors to pedantic) but what is overridden" '^[EWIP]: ' \
	"$(cat "$PKG/lintian.out")"
grep -E '^[EWIP]: ' "$PKG/lintian.out" | sed 's/^/# lintian: /'

check "dpkg -r removes the package" dpkg -r sigproxy
check_fails "... the daemon is gone" test -e /usr/sbin/sigproxyd
check "... the operator's configuration is kept" grep -q '^hostname pkgtest$' /etc/sigproxy/sigproxy.conf
# the daemon's state store, as systemd's StateDirectory= would leave it
# (only where no store of someone else's is there)
STATE_LIST=""
if [ ! -e /var/lib/sigproxy ]; then
	mkdir -m 0700 /var/lib/sigproxy && : >/var/lib/sigproxy/data.mdb && STATE_LIST=/var/lib/sigproxy
fi
check "dpkg --purge purges it" dpkg --purge sigproxy
INSTALLED=no
left=""
for f in /etc/sigproxy /usr/sbin/sigproxyd /usr/bin/sigproxy-cli \
	/usr/share/snmp/mibs/SIGPROXY-MIB.txt /lib/systemd/system/sigproxyd.service \
	/usr/lib/systemd/system/sigproxyd.service /etc/systemd/system/multi-user.target.wants/sigproxyd.service \
	/usr/share/man/man8/sigproxyd.8.gz /usr/share/man/man1/sigproxy-cli.1.gz \
	/usr/share/man/man5/sigproxy.conf.5.gz /usr/share/man/man8/sigproxy-vrrp-notify.8.gz \
	/usr/share/man/man8/sigproxy-vrrp-check.8.gz /usr/share/doc/sigproxy /usr/share/sigproxy \
	/run/sigproxy $STATE_LIST; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check_eq "purge leaves no files" "" "$left"
# deb-systemd-helper's enable/mask state lives under /etc and /var/lib/systemd
check_eq "purge leaves no systemd state" "" "$(find /etc /var/lib/systemd -name '*sigproxy*' 2>/dev/null)"
check_eq "dpkg forgets the package" "" "$(dpkg-query -W -f='${db:Status-Status}' sigproxy 2>/dev/null)"
check_eq "install and purge leave the host's kernel state alone" "$KERNEL_BEFORE" "$(kernel_state)"

# ---- the .rpm holds the same files ----
wait $RPM_PID; rc=$?
BG_GROUPS=()
if [ $rc -eq 0 ]; then
	sp_pass "the .rpm builds"
	RPM=$(grep -E '/sigproxy-[0-9][^/]*\.rpm$' "$PKG/rpm.out")
	check_eq "the .rpm has the version of configure.ac" "$VERSION" \
		"$(rpm -qp --qf '%{VERSION}' "$RPM" 2>/dev/null)"
	# "MODE PATH" of every file and link; the differences that are the
	# distributions' own are left out: docs, licenses, lintian overrides,
	# build-id links, compressed man
	# pages, /lib (Debian 12) against /usr/lib for units
	normalize() {
		grep -v -E ' /usr/share/doc/| /usr/share/licenses/| /usr/share/lintian/| /usr/lib/\.build-id' | sed -E -e 's/\.gz$//' \
			-e 's# /lib/# /usr/lib/#' | sort
	}
	deb_files=$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $1, $6 }' | normalize)
	rpm_files=$(rpm -qlpv "$RPM" 2>/dev/null | awk '$1 !~ /^d/ { print $1, $9 }' | normalize)
	check_eq "the .rpm and the .deb install the same files with the same modes" "$deb_files" "$rpm_files"
	check_eq "the .rpm's license is the GPL-2.0-or-later" GPL-2.0-or-later \
		"$(rpm -qp --qf '%{LICENSE}' "$RPM" 2>/dev/null)"
	check_match "the .rpm ships COPYING as its license file" '/COPYING$' "$(rpm -qpL "$RPM" 2>/dev/null)"
	if command -v rpmlint >/dev/null; then
		rpmlint -c "$SP_TOP/packaging/rpm/sigproxy.rpmlint.toml" "$RPM" >"$PKG/rpmlint.out" 2>&1
		check_match "rpmlint finds nothing but what sigproxy.rpmlint.toml justifies" \
			' 0 errors, 0 warnings' "$(cat "$PKG/rpmlint.out")"
		grep -E '^sigproxy.*: [EW]: ' "$PKG/rpmlint.out" | sed 's/^/# rpmlint: /'
	else
		echo "# SKIP: rpmlint not installed (scripts/deps installs it)"
	fi
	# systemd-rpm-macros' scriptlets, not the empty ones of a missing macro
	scripts=$(rpm -qp --scripts "$RPM" 2>/dev/null)
	check_match "the .rpm enables the unit by preset on install" \
		'systemctl --no-reload preset sigproxyd.service' "$scripts"
	check_match "... stops and disables it on removal" \
		'systemctl --no-reload disable --now sigproxyd.service' "$scripts"
	check_match "... restarts it on upgrade" 'systemctl try-restart sigproxyd.service' "$scripts"
	check_no_match "the .rpm does not ship the startup file (the operator's)" \
		'/etc/sigproxy/sigproxy.conf' "$(rpm -qpl "$RPM" 2>/dev/null)"
	check_match "... its %post makes it from the default" \
		'install -m 0600 /usr/share/sigproxy/sigproxy.conf /etc/sigproxy/sigproxy.conf' "$scripts"
else
	sp_fail "the .rpm builds"; tail -30 "$PKG/rpm.log" | sed 's/^/#   /'
fi

sp_done
