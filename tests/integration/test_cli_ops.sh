#!/bin/bash
# Configuration as an operator writes it (issue 20 items 1 and 3): a startup
# file in the SPEC's own order (action proxy before server) loads; the same
# order works interactively, a block being checked when it is left; a policy
# route whose next hop is not connected yet is accepted and shown "not
# installed" with the reason, as at start-up. The audit trail (CLI, SIGHUP;
# SNMP in test_snmp) and the operator's habits: write, copy, show
# startup-config, show history, show logging, clear counters, debug, configure
# replace, banner motd, logging host (a UDP syslog listener in the namespace).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools expect

NS=$(sp_netns ops) || { sp_fail "create namespace"; sp_done; exit 1; }
ip -n "$NS" link add ops0 type veth peer name ops1 && ip -n "$NS" link set ops1 up && ip -n "$NS" addr add 192.0.2.1/24 dev ops0 &&
	ip -n "$NS" link set ops0 up || sp_fail "a dummy link in the namespace"
D=$SP_TMP/o1
mkdir -p "$D"

# ---- item 1: the SPEC's order in a startup file ----
cat >"$D/sigproxy.conf" <<'EOF'
hostname ops1
signaling-proxy
 server-side-address 192.0.2.1
proxy-strategy voip seq 10
 action proxy
 match source 10.1.0.0/24
 server 192.0.2.10
policy-route late seq 5
 set next-hop 198.51.100.1
 match source 10.1.0.0/24
EOF
sp_daemon_start "$NS" o1 --cli-listen none || { sp_fail "daemon starts"; cat "$D/log"; sp_done; exit 1; }
if kill -0 "$SP_DAEMON_PID" 2>/dev/null && sp_cli o1 -c "show version" >/dev/null 2>&1; then
	sp_pass "a startup file with action proxy before server loads"
else
	sp_fail "a startup file with action proxy before server loads"; sed 's/^/#   /' "$D/log"
	sp_done; exit 1
fi
check_match "... the strategy is installed" 'proxy-strategy voip seq 10: installed' \
	"$(sp_cli o1 -c 'show proxy-strategy voip')"
check_match "... the unconnected next hop loads, not installed, with the reason" \
	'not installed: next hop 198.51.100.1 is not on a connected network' "$(sp_cli o1 -c 'show policy-route late')"

# ---- item 1: the same order interactively ----
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy two seq 20" -c "action proxy" \
	-c "match source 10.2.0.0/24" -c "server 192.0.2.20" -c "exit" 2>&1); rc=$?
check_eq "interactively: action proxy before server is accepted" 0 $rc
check_eq "... without a word" "" "$out"
check_match "... and the strategy is installed" 'proxy-strategy two seq 20: installed' \
	"$(sp_cli o1 -c 'show proxy-strategy two')"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy three seq 30" -c "action proxy" \
	-c "match source 10.3.0.0/24" -c "end" 2>&1); rc=$?
check_eq "a block left incomplete is refused when it is left" 1 $rc
check_match "... saying why" '^% proxy-strategy three seq 30: action proxy needs a server' "$out"
check_no_match "... its lines are not in running-config (only the entry typed first)" '10\.3\.0\.0' \
	"$(sp_cli o1 -c 'show running-config')"
check_match "... which is inactive" 'proxy-strategy three seq 30: (inactive|not installed)' \
	"$(sp_cli o1 -c 'show proxy-strategy three')"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy four seq 40" -c "action proxy" 2>&1); rc=$?
check_eq "a block incomplete at the end of the commands is refused" 1 $rc
check_match "... saying why" 'proxy-strategy four seq 40: action proxy needs a server' "$out"
check_no_match "... and its action is not in running-config" 'action proxy' \
	"$(sp_cli o1 -c 'show running-config | begin four' | sed -n 2p)"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy five seq 50" -c "action proxy" \
	-c "policy-route x seq 7" 2>&1); rc=$?
check_eq "a top-level command leaves the block: checked then" 1 $rc
check_match "... saying why" 'proxy-strategy five seq 50: action proxy needs a server' "$out"
check_no_match "... and the top-level command did not run" 'policy-route x' "$(sp_cli o1 -c 'show running-config')"

# ---- item 1: a next hop not connected yet, interactively ----
out=$(sp_cli o1 -c "configure terminal" -c "policy-route pr seq 8" -c "match source 10.8.0.0/24" \
	-c "set next-hop 203.0.113.1" -c "end" 2>&1); rc=$?
check_eq "interactively: a next hop not connected yet is accepted" 0 $rc
check_match "... shown not installed with the reason" \
	'not installed: next hop 203.0.113.1 is not on a connected network' "$(sp_cli o1 -c 'show policy-route pr')"
check_match "... and kept in running-config" 'set next-hop 203.0.113.1' "$(sp_cli o1 -c 'show running-config')"
ip -n "$NS" addr add 203.0.113.2/24 dev ops0
check "a later commit installs it once the network is there" sp_cli o1 -c "configure terminal" \
	-c "policy-route pr seq 8" -c "match destination 10.9.0.0/24"
check_match "... installed" 'policy-route pr seq 8: installed' "$(sp_cli o1 -c 'show policy-route pr')"
out=$(sp_cli o1 -c "configure terminal" -c "policy-route iif seq 9" -c "match input-interface nosuch0" \
	-c "set table 300" 2>&1); rc=$?
check_eq "an input interface that does not exist yet is accepted" 0 $rc
check_match "... shown not installed with the reason" 'input interface nosuch0 does not exist' \
	"$(sp_cli o1 -c 'show policy-route iif')"

# ---- item 3: the audit trail ----
LOG=$D/log
check_match "a block line is logged with who, from where, its block and the command" \
	'audit: cli root \(uid 0, pid [0-9]+\) on the unix socket \(line [0-9]+\): \[proxy-strategy two seq 20\] action proxy \(waits for the rest of the block\)' \
	"$(cat "$LOG")"
check_match "... a refused block too" "audit: cli root .*: the block's 2 waiting lines refused: proxy-strategy three seq 30: action proxy needs a server" \
	"$(cat "$LOG")"
sp_cli o1 -c "configure terminal" -c "hostname audited" -c "username ops secret Sup3rSecret9" \
	-c "enable secret En4bleOps9" >/dev/null
check_match "a top-level change is logged" 'audit: cli root .*: hostname audited$' "$(cat "$LOG")"
check_match "... a password change too" 'audit: cli root .*: username ops secret <hidden>$' "$(cat "$LOG")"
check_no_match "... without the password" 'Sup3rSecret9' "$(cat "$LOG")"
sp_cli o1 -c "write memory" >/dev/null # SIGHUP re-reads the file: the same configuration
kill -HUP "$SP_DAEMON_PID"
sp_wait_for "the SIGHUP audit line" 5 grep -q 'audit: SIGHUP from pid [0-9]* (uid 0): re-reading' "$LOG"
check_match "SIGHUP is logged with the sender's pid and uid" 'audit: SIGHUP from pid [0-9]+ \(uid 0\): re-reading' \
	"$(cat "$LOG")"
check_match "show logging: the recent log from memory" 'notice: audit: cli root .*: hostname audited' \
	"$(sp_cli o1 -c 'show logging')"

# ---- item 3: habits ----
check_match "write (write memory)" '\[OK\]' "$(sp_cli o1 -c 'write')"
check_match "show startup-config shows the file" '^hostname audited$' "$(sp_cli o1 -c 'show startup-config')"
sp_cli o1 -c "configure terminal" -c "hostname copied" >/dev/null
check_match "copy running-config startup-config" '\[OK\]' "$(sp_cli o1 -c 'copy running-config startup-config')"
check_match "... saved" '^hostname copied$' "$(sp_cli o1 -c 'show startup-config')"
check_match "show history: this session's commands" '^  show version$' \
	"$(sp_cli o1 -c 'show version' -c 'show history')"
# secrets typed in the session are masked as the audit log masks them,
# abbreviated keywords and a mistyped "password" too (the same values as
# above, so nothing changes; the redundancy key is taken back)
out=$(sp_cli o1 -c "configure terminal" -c "username ops secret Sup3rSecret9" \
	-c "username x password Pw0rdLeak9" -c "enable sec En4bleOps9" -c "redundancy" \
	-c "authentication key K3yLeak9" -c "auth k 7 AbbrevLeak9" -c "no authentication key" -c "end" \
	-c "show history" 2>&1)
check_match "show history: a secret is shown <hidden>" '^  username ops secret <hidden>$' "$out"
check_match "... the mistyped password too" '^  username x password <hidden>$' "$out"
check_match "... an abbreviated keyword too" '^  auth k <hidden> <hidden>$' "$out"
for s in Sup3rSecret9 Pw0rdLeak9 En4bleOps9 K3yLeak9 AbbrevLeak9; do
	check_no_match "... $s not shown" "$s" "$out"
	check_no_match "... nor logged" "$s" "$(cat "$LOG")"
done
check "clear counters" sp_cli o1 -c "clear counters"
check_match "... audited" 'audit: cli root .*: clear counters$' "$(cat "$LOG")"
check_eq "no debugging at first" "No debugging is on" "$(sp_cli o1 -c 'show debugging')"
check_eq "debug sip" "sip debugging is on" "$(sp_cli o1 -c 'debug sip')"
check "debug sync" sp_cli o1 -c "debug sync"
check_match "show debugging lists both" 'sip.*sync' "$(sp_cli o1 -c 'show debugging' | tr '\n' ' ')"
check "no debug all" sp_cli o1 -c "no debug all"
check_eq "... all off" "No debugging is on" "$(sp_cli o1 -c 'show debugging')"
check_fails "debug of an unknown category is refused" sp_cli o1 -c "debug everything"

# configure replace: one transaction, only the difference applied
sed -e 's/^hostname .*/hostname replaced/' -e '/^proxy-strategy two/,/^!/d' "$D/sigproxy.conf" >"$D/replace.conf"
out=$(sp_cli o1 -c "configure replace $D/replace.conf" 2>&1); rc=$?
check_eq "configure replace FILE" 0 $rc
check_match "... says so" "Configuration replaced from $D/replace.conf" "$out"
RUN=$(sp_cli o1 -c "show running-config")
check_match "... the file's hostname" '^hostname replaced$' "$RUN"
check_no_match "... the strategy the file lacks is gone" 'proxy-strategy two' "$RUN"
check_match "... the others stay installed" 'proxy-strategy voip seq 10: installed' "$(sp_cli o1 -c 'show proxy-strategy voip')"
printf 'hostname broken\nproxy-strategy z seq 99\n action proxy\n' >"$D/bad.conf"
out=$(sp_cli o1 -c "configure replace $D/bad.conf" 2>&1); rc=$?
check_eq "configure replace of an invalid file is refused" 1 $rc
check_match "... saying why" 'action proxy needs a server' "$out"
check_eq "... and nothing changed" "$RUN" "$(sp_cli o1 -c 'show running-config')"

# banner motd and logging host (remote syslog over UDP)
check "banner motd" sp_cli o1 -c "configure terminal" -c "banner motd Authorized staff only - ops1"
ip netns exec "$NS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5514))
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(2048) + b"\n")
' "$D/syslog" &
SP_PIDS+=($!)
sleep 0.3
check "logging host A.B.C.D port N" sp_cli o1 -c "configure terminal" -c "logging host 127.0.0.1 port 5514"
sp_cli o1 -c "configure terminal" -c "hostname remote1" >/dev/null
sp_wait_for "the audit line at the syslog host" 5 grep -q 'hostname remote1' "$D/syslog"
check_match "the syslog host receives the audit line (daemon.notice, RFC 3164)" \
	'^<29>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [^ ]+ sigproxyd\[[0-9]+\]: audit: cli root .*: hostname remote1' \
	"$(cat "$D/syslog" 2>/dev/null)"
check_match "running-config has both" 'banner motd Authorized staff only - ops1.*logging host 127\.0\.0\.1 port 5514' \
	"$(sp_cli o1 -c 'show running-config' | tr '\n' ' ')"

# a TCP session: the audit line names the user and the source address (a
# telnet-style client that ends when the daemon closes the connection)
cp "$(dirname "$0")/tcp_client.py" "$SP_TMP/tcpc.py"
# the running configuration written and read back is the same
check "write memory" sp_cli o1 -c "write memory"
RUN=$(sp_cli o1 -c "show running-config")
sp_daemon_stop "$SP_DAEMON_PID"
sp_daemon_start "$NS" o1 --cli-listen 127.0.0.1:2650 || sp_fail "daemon restarts on its written file"
check_eq "the written configuration loads back the same" "$RUN" "$(sp_cli o1 -c 'show running-config')"
out=$(sleep 1 | ip netns exec "$NS" timeout 3 /usr/bin/python3 "$SP_TMP/tcpc.py" 2>/dev/null | tr -d '\r' | strings)
check_match "a TCP session opens with the banner" 'Authorized staff only - ops1' "$out"
cat >"$SP_TMP/tcp.exp" <<EXP
set timeout 10
set stty_init "raw -echo"
spawn ip netns exec $NS /usr/bin/python3 $SP_TMP/tcpc.py
proc step {pat desc} {
	expect {
		-re \$pat {}
		timeout { puts "\nEXPECT-FAIL: \$desc"; exit 1 }
		eof { puts "\nEXPECT-FAIL: eof at \$desc"; exit 1 }
	}
}
step "Username:" "login prompt"
send "ops\r\n"
step "Password:" "password prompt"
send "Sup3rSecret9\r\n"
step ">" "logged in"
send "enable\r\n"
step "Password:" "enable prompt"
send "En4bleOps9\r\n"
step "#" "privileged"
send "configure terminal\r\n"
step "config.#" "config mode"
send "hostname tcpaudit\r\n"
step "tcpaudit.config.#" "hostname changed"
send "end\r\n"
step "tcpaudit#" "exec"
send "exit\r\n"
expect eof
EXP
check "a TCP session logs in and changes the hostname" expect "$SP_TMP/tcp.exp"
check_match "... audited with the user and the source address" \
	'audit: cli user ops from 127\.0\.0\.1:[0-9]+ \(line [0-9]+\): hostname tcpaudit$' "$(cat "$LOG")"
check "no logging host" sp_cli o1 -c "configure terminal" -c "no logging host 127.0.0.1"
check_no_match "... gone from running-config" 'logging host' "$(sp_cli o1 -c 'show running-config')"

sp_done
