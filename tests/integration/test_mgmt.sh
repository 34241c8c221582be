#!/bin/bash
# The management plane under abuse (issue 15 items 4, 6, 7): configuration
# safety (an empty file is not reloaded over a working configuration unless
# forced, a failed write memory is logged), the CLI with more bindings than
# FD_SETSIZE, separate TCP and unix-socket session caps, login and exec
# timeouts, the failed-login limit and per-source back-off, the TCP access
# list, show users, and log lines that carry the source address and escape
# what came from the network.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools expect python3 snmpd snmpget snmpset

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
D=$SP_TMP/m1
PORT=2650

# snmpd as AgentX master in ns sp (as in test_snmp.sh), for the RowStatus part
sp_snmp_env
cat >"$SP_TMP/snmpd.conf" <<EOF
master agentx
agentXSocket $AX
agentaddress udp:127.0.0.1:161
createUser admin SHA authpass123 AES privpass123
rwuser admin priv
EOF
ip netns exec "$SP" snmpd -f -C -c "$SP_TMP/snmpd.conf" -Lf "$SP_TMP/snmpd.log" -p "$SP_TMP/snmpd.pid" &
SP_PIDS+=("$!")
sp_wait_for "snmpd socket" 10 test -S "$AX" || { sp_fail "snmpd starts"; sp_done; exit 1; }
V3=(-v3 -l authPriv -u admin -a SHA -A authpass123 -x AES -X privpass123 -t 2 -r 1)
sget() { ip netns exec "$SP" snmpget -OqvU "${V3[@]}" 127.0.0.1 "$@" 2>&1; }
sset() { ip netns exec "$SP" snmpset "${V3[@]}" 127.0.0.1 "$@"; }

sp_daemon_start "$SP" m1 --cli-listen 0.0.0.0:$PORT --agentx "$AX" || { sp_fail "daemon starts"; cat "$D/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
sp_pass "daemon starts"
log() { cat "$D/log"; }

out=$(sp_cli m1 -c "configure terminal" -c "hostname mg1" -c "username admin secret Adm1nPass" \
	-c "enable secret En4blePass" -c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/16" \
	-c "match destination $LAB_E/32 port 5060" -c "server $LAB_D1" -c "action proxy" \
	-c "policy-route pr1 seq 5" -c "match source 10.9.0.0/24" -c "set table 100" -c "end" 2>&1)
check_eq "base configuration accepted" "" "$out"

# ---- item 7: configuration safety ----
check "write memory" sp_cli m1 -c "write memory"
BEFORE=$(sp_cli m1 -c "show running-config")
printf '! emptied by mistake\n!\n' >"$D/sigproxy.conf"
kill -HUP "$PID"
sp_wait_for "reload refusal in the log" 5 grep -q "yields an empty configuration" "$D/log"
check_match "SIGHUP with a comments-only file: refused with a warning" \
	'warning\]: config not changed: .*sigproxy.conf yields an empty configuration while the running one is not empty: refused \(use the CLI command "reload force"' "$(log)"
check_eq "... the running configuration is untouched" "$BEFORE" "$(sp_cli m1 -c 'show running-config')"
: >"$D/sigproxy.conf"
out=$(sp_cli m1 -c "reload" 2>&1); rc=$?
check_eq "reload (CLI) with an empty file fails" 1 $rc
check_match "... saying how to force it" 'refused \(use the CLI command "reload force"' "$out"
check_eq "... the running configuration is untouched" "$BEFORE" "$(sp_cli m1 -c 'show running-config')"
out=$(sp_cli m1 -c "reload force" 2>&1); rc=$?
check_eq "reload force applies the empty file" 0 $rc
run=$(sp_cli m1 -c "show running-config")
check_no_match "... strategies, users and policy routes are gone" 'proxy-strategy|username|policy-route' "$run"
check_match "... logged as forced" 'config: loaded .*sigproxy.conf \([0-9]+ changes?\), forced' "$(log)"
# an empty running configuration reloads an empty file without force
check "reload of an empty file over an empty configuration" sp_cli m1 -c "reload"
# back to the base configuration through a normal reload
printf '%s\n' "$BEFORE" >"$D/sigproxy.conf"
check "reload of the saved file" sp_cli m1 -c "reload"
check_eq "... the configuration is back" "$BEFORE" "$(sp_cli m1 -c 'show running-config')"

# a failed write memory is logged (the file's place is taken by a directory)
mv "$D/sigproxy.conf" "$D/saved.conf"; mkdir "$D/sigproxy.conf"
check_fails "write memory onto a directory fails" sp_cli m1 -c "write memory"
check_match "... and the failure is logged" 'error\]: config: write memory failed: Cannot replace .*sigproxy.conf' "$(log)"
rmdir "$D/sigproxy.conf"; mv "$D/saved.conf" "$D/sigproxy.conf"


# ---- item 7: an SNMP row set notInService stays in the configuration ----
answers() { sget sigproxyHostname.0 | grep -q mg1; }
sp_wait_for "subagent registered" 10 answers || sp_fail "the subagent answers"
block() { sp_cli m1 -c "show running-config" | sed -n "/^$1\$/,/^!\$/p"; }
check_eq "strategy east reads active" active "$(sget 'sigproxyStrategyRowStatus."east".10')"
check "snmpset notInService on strategy east" sset 'sigproxyStrategyRowStatus."east".10' i 2
check_eq "... it reads notInService" notInService "$(sget 'sigproxyStrategyRowStatus."east".10')"
check_match "... running-config keeps it, with shutdown" '^ shutdown$' "$(block 'proxy-strategy east seq 10')"
check_match "... with its columns" '^ server 192.0.2.10$' "$(block 'proxy-strategy east seq 10')"
check_match "... show proxy-strategy says it is not installed and why" \
	'proxy-strategy east seq 10: not installed \(shutdown\)' "$(sp_cli m1 -c 'show proxy-strategy east')"
check_no_match "... and it is out of the kernel" 'tproxy' "$(ip netns exec "$SP" nft list ruleset 2>/dev/null)"
check "... write memory and reload keep it shut down" sp_cli m1 -c "write memory" -c "reload"
check_eq "... still notInService after the reload" notInService "$(sget 'sigproxyStrategyRowStatus."east".10')"
check "snmpset active again" sset 'sigproxyStrategyRowStatus."east".10' i 1
check_eq "... it reads active" active "$(sget 'sigproxyStrategyRowStatus."east".10')"
check_no_match "... running-config without shutdown" 'shutdown' "$(block 'proxy-strategy east seq 10')"
sp_wait_for "the strategy back in the kernel" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
check_match "... installed again" 'proxy-strategy east seq 10: installed' "$(sp_cli m1 -c 'show proxy-strategy east')"
check "CLI shutdown under the strategy" sp_cli m1 -c "configure terminal" -c "proxy-strategy east seq 10" -c "shutdown"
check_eq "... SNMP reads notInService" notInService "$(sget 'sigproxyStrategyRowStatus."east".10')"
check "CLI no shutdown" sp_cli m1 -c "configure terminal" -c "proxy-strategy east seq 10" -c "no shutdown"
check_eq "... SNMP reads active" active "$(sget 'sigproxyStrategyRowStatus."east".10')"
check "snmpset notInService on policy-route pr1" sset 'sigproxyPolicyRouteRowStatus."pr1".5' i 2
check_eq "... it reads notInService" notInService "$(sget 'sigproxyPolicyRouteRowStatus."pr1".5')"
check_match "... running-config keeps it, with shutdown" '^ shutdown$' "$(block 'policy-route pr1 seq 5')"
check_match "... with its table" '^ set table 100$' "$(block 'policy-route pr1 seq 5')"
check_match "... show policy-route says why it is not installed" 'shutdown' "$(sp_cli m1 -c 'show policy-route pr1')"
check_no_match "... its rule is gone" 'lookup 100' "$(ip -n "$SP" rule)"
check "snmpset active again" sset 'sigproxyPolicyRouteRowStatus."pr1".5' i 1
check_eq "... it reads active" active "$(sget 'sigproxyPolicyRouteRowStatus."pr1".5')"
check_match "... its rule is back" 'lookup 100' "$(ip -n "$SP" rule)"
check_eq "the configuration is the base one again" "$BEFORE" "$(sp_cli m1 -c 'show running-config')"
# the CLI's timeouts are in SIGPROXY-MIB too (sigproxyConfig 19-20)
check_eq "sigproxyCliLoginTimeout reads the default" 30 "$(sget sigproxyCliLoginTimeout.0)"
check_eq "sigproxyCliExecTimeout reads the default" 600 "$(sget sigproxyCliExecTimeout.0)"
check "snmpset both" sset sigproxyCliLoginTimeout.0 u 45 sigproxyCliExecTimeout.0 u 900
run=$(sp_cli m1 -c "show running-config")
check_match "... running-config shows cli login-timeout" '^cli login-timeout 45$' "$run"
check_match "... and cli exec-timeout" '^cli exec-timeout 900$' "$run"
out=$(sset sigproxyCliLoginTimeout.0 u 0 2>&1)
check_match "login timeout 0 refused (wrongValue)" 'wrongValue' "$out"
sp_cli m1 -c "configure terminal" -c "no cli login-timeout" -c "no cli exec-timeout" >/dev/null
check_eq "a CLI change reads in SNMP" "30 600" "$(sget sigproxyCliLoginTimeout.0) $(sget sigproxyCliExecTimeout.0)"

# ---- item 6: the management plane ----
# Loopback sources: every 127.0.0.0/8 address is local in ns sp, so each
# part of the test connects from its own address (the back-off and the
# per-address caps are per source).
# A telnet-style client that ends when the daemon closes the connection
# (Debian's nc waits for the end of its own input first).
cp "$(dirname "$0")/tcp_client.py" "$SP_TMP/tcpc.py"
tcpc() { ip netns exec "$SP" python3 "$SP_TMP/tcpc.py" "$@"; }

# tcp_session SRC SCRIPT: an expect session to the TCP listener from SRC;
# SCRIPT is expect code run after the connection (steps with `step`).
tcp_session() {
	local src=$1 body=$2
	cat >"$SP_TMP/tcp.exp" <<EXP
set timeout 12
log_user 1
set stty_init "raw -echo"
spawn ip netns exec $SP python3 $SP_TMP/tcpc.py $src $PORT
proc step {pat desc} {
	expect {
		-re \$pat {}
		timeout { puts "\nEXPECT-FAIL: \$desc"; exit 1 }
		eof { puts "\nEXPECT-FAIL: eof at \$desc"; exit 1 }
	}
}
proc login {user pass} {
	step "Username:" "login prompt"
	send "\$user\r\n"
	step "Password:" "password prompt"
	send "\$pass\r\n"
}
$body
EXP
	expect "$SP_TMP/tcp.exp" >"$SP_TMP/tcp.out" 2>&1; local rc=$?
	[ $rc -eq 0 ] || tail -8 "$SP_TMP/tcp.out" | sed 's/^/#   /'
	return $rc
}

# More binding sockets than FD_SETSIZE: 60 terminal addresses x 25 ports
# (spread over addresses so per-source limits do not stop them), each
# REGISTERing through the proxy once: 1500 bindings, one socket each.
# The server-side port pool is 10000 per C, so 100 000 bindings cannot be
# made here; what broke the CLI was a descriptor above FD_SETSIZE, and 1500
# bindings put the sockets well above it.
for i in $(seq 100 159); do ip -n "$TE" addr add "10.1.0.$i/24" dev "$LAB_TE_IF" || sp_fail "address 10.1.0.$i"; done
cat >"$SP_TMP/flood_reg.py" <<'PY'
import socket, sys, time
e = sys.argv[1]
addrs = ["10.1.0.%d" % i for i in range(100, 160)]
socks = {}
for a in addrs:
    for p in range(21000, 21025):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, p))
        socks[(a, p)] = s
for rnd in range(int(sys.argv[2])):
    for p in range(21000, 21025):
        for a in addrs:  # one new binding per source per round
            u = "u%s-%d" % (a.split(".")[-1], p)
            msg = ("REGISTER sip:%s SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s-%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:%s@%s>;tag=t%d\r\n"
                   "To: <sip:%s@%s>\r\n"
                   "Call-ID: reg-%s-%d-%d\r\n"
                   "CSeq: %d REGISTER\r\n"
                   "Contact: <sip:%s@%s:%d>\r\n"
                   "Expires: 3600\r\n"
                   "Content-Length: 0\r\n\r\n") % (e, a, p, u, rnd, u, e, p, u, e, u, p, rnd, rnd + 1, u, a, p)
            socks[(a, p)].sendto(msg.encode(), (e, 5060))
        time.sleep(0.05)
PY
bindings() { sp_cli m1 -c 'show sessions count' | sed -nE 's/^Bindings: ([0-9]+).*/\1/p'; }
for pass in 1 2 3; do
	ip netns exec "$TE" python3 "$SP_TMP/flood_reg.py" "$LAB_E" 1
	sp_wait_for "1500 bindings" 5 sh -c "[ \"\$('$SPCLI' -s '$D/cli.sock' -c 'show sessions count' | sed -nE 's/^Bindings: ([0-9]+).*/\\1/p')\" -ge 1500 ]" && break
done
nb=$(bindings)
check "1500 bindings through the proxy (have ${nb:-0})" test "${nb:-0}" -ge 1500
nfd=$(ls /proc/$PID/fd | wc -l); maxfd=$(ls /proc/$PID/fd | sort -n | tail -1)
check "the daemon holds more descriptors than FD_SETSIZE ($nfd open, highest $maxfd)" test "$nfd" -gt 1024
check "the TCP CLI logs in and answers with $nb bindings" tcp_session 127.0.0.2 '
login admin Adm1nPass
step "mg1>" "logged in"
send "enable\r\n"
step "Password:" "enable password prompt"
send "En4blePass\r\n"
step "mg1#" "privileged"
send "show sessions count\r\n"
step {Bindings: +1[5-9][0-9][0-9]} "show sessions count answers"
step "mg1#" "prompt"
send "show users\r\n"
step "admin +127.0.0.2:" "show users lists this session"
step "mg1#" "prompt"
send "exit\r\n"
expect eof'
check_match "the login is logged with its source address" 'cli: user "admin" logged in from 127.0.0.2:[0-9]+' "$(log)"
out=$(sp_cli m1 -c "show users")
check_match "show users: header" '^Line +Kind +User +From +Since +Idle' "$out"
check_match "show users: the unix-socket session itself (its uid and role)" 'unix +uid 0 \(admin\) +local uid 0 +[0-9-]+ [0-9:]+ +[0-9:]+' "$out"

# 3 wrong passwords on one connection: disconnected, no 4th try; one of
# them a user name with bytes a terminal would obey, escaped in the log
check "3 failed logins: the connection is closed" tcp_session 127.0.0.3 '
login admin wrong1
login "ev\x9b\"il" wrong2
login admin wrong3
expect {
	"Username:" { puts "\nEXPECT-FAIL: asked a 4th time"; exit 1 }
	eof {}
	timeout { puts "\nEXPECT-FAIL: still open"; exit 1 }
}'
check_match "failed logins are logged with the source address" 'cli: failed login for user "admin" from 127.0.0.3:[0-9]+' "$(log)"
# (expect sends the byte 0x9b as UTF-8: c2 9b)
check_match "a user name from the network is escaped in the log" 'failed login for user "ev\\xc2\\x9b\\x22il" from 127.0.0.3' "$(log)"
check_no_match "... never written raw" $'ev\xc2\x9b' "$(log)"
check_match "the disconnection is logged" 'cli: 3 failed logins or enables on one connection from 127.0.0.3:[0-9]+: disconnected' "$(log)"
out=$(timeout 5 ip netns exec "$SP" python3 "$SP_TMP/tcpc.py" 127.0.0.3 $PORT </dev/null 2>&1 | tr -d '\r')
check_match "the source is then locked out (back-off)" '^% Too many failed logins from this address: try again in [0-9]+ s' "$out"
check_match "... logged with the address" 'cli: TCP connection from 127.0.0.3:[0-9]+ refused: locked out after failed logins|3 failed logins from 127.0.0.3:[0-9]+: that address is locked out for 10 s' "$(log)"
check "3 failed enables: the connection is closed too" tcp_session 127.0.0.7 '
login admin Adm1nPass
step "mg1>" "logged in"
foreach p {bad1 bad2 bad3} {
	send "enable\r\n"
	step "Password:" "enable password prompt"
	send "$p\r\n"
}
expect {
	"mg1#" { puts "\nEXPECT-FAIL: enabled"; exit 1 }
	eof {}
	timeout { puts "\nEXPECT-FAIL: still open"; exit 1 }
}'
check_match "... logged with the user and source" 'cli: failed enable for user "admin" from 127.0.0.7:[0-9]+' "$(log)"
check "another source still logs in" tcp_session 127.0.0.4 '
login admin Adm1nPass
step "mg1>" "logged in"
send "exit\r\n"
expect eof'

# login timeout: a connection that never logs in is closed
out=$(sp_cli m1 -c "configure terminal" -c "cli login-timeout 3" -c "cli exec-timeout 2" 2>&1)
check_eq "cli login-timeout and cli exec-timeout accepted" "" "$out"
t0=$SECONDS
timeout 20 ip netns exec "$SP" python3 "$SP_TMP/tcpc.py" 127.0.0.5 $PORT >/dev/null 2>&1 < <(sleep 15)
dt=$((SECONDS - t0))
check "a connection that never logs in is closed after the login timeout (3 s; took ${dt} s)" test $dt -ge 2 -a $dt -le 8
check_match "... logged" 'cli: session [0-9]+ from 127.0.0.5:[0-9]+: no login within 3 s: disconnected' "$(log)"
check "exec timeout: an idle session is closed" tcp_session 127.0.0.6 '
login admin Adm1nPass
step "mg1>" "logged in"
set timeout 8
expect {
	eof {}
	timeout { puts "\nEXPECT-FAIL: still open after the exec timeout"; exit 1 }
}'
run=$(sp_cli m1 -c "show running-config")
check_match "running-config: cli login-timeout" '^cli login-timeout 3$' "$run"
check_match "running-config: cli exec-timeout" '^cli exec-timeout 2$' "$run"
sp_cli m1 -c "configure terminal" -c "no cli login-timeout" -c "cli exec-timeout 0" >/dev/null
check_match "cli exec-timeout 0 (never) is kept" '^cli exec-timeout 0$' "$(sp_cli m1 -c 'show running-config')"
check_fails "cli login-timeout 0 is refused" sp_cli m1 -c "configure terminal" -c "cli login-timeout 0"

# access list for the TCP listener
out=$(sp_cli m1 -c "configure terminal" -c "cli access-class 127.0.0.0/30" -c "cli access-class 10.1.0.0/24" 2>&1)
check_eq "cli access-class (two prefixes) accepted" "" "$out"
run=$(sp_cli m1 -c "show running-config")
check_match "running-config: both prefixes" $'cli access-class 127.0.0.0/30\ncli access-class 10.1.0.0/24' "$run"
out=$(timeout 5 ip netns exec "$SP" python3 "$SP_TMP/tcpc.py" 127.0.0.9 $PORT </dev/null 2>&1 | tr -d '\r')
check_match "a source outside the access list is refused" '^% Access denied' "$out"
check_match "... logged with the source" 'cli: TCP connection from 127.0.0.9:[0-9]+ refused: not permitted by cli access-class' "$(log)"
check "a permitted source logs in" tcp_session 127.0.0.2 '
login admin Adm1nPass
step "mg1>" "logged in"
send "exit\r\n"
expect eof'
check "the access list survives a reload of the saved file" sp_cli m1 -c "write memory" -c "reload"
check_match "... still there" 'cli access-class 10.1.0.0/24' "$(sp_cli m1 -c 'show running-config')"
check_fails "no cli access-class of a prefix not in the list" sp_cli m1 -c "configure terminal" -c "no cli access-class 192.0.2.0/24"
sp_cli m1 -c "configure terminal" -c "no cli access-class" >/dev/null
check_no_match "no cli access-class removes them all" 'access-class' "$(sp_cli m1 -c 'show running-config')"

# 40 idle TCP connections: at most 4 per address and 16 in all, and the
# unix socket still answers
cat >"$SP_TMP/idle.py" <<'PY'
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
conns = []
for src in sys.argv[3:]:
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    conns.append((src, s))
    time.sleep(0.02)
time.sleep(1.5)
res = []
for src, s in conns:
    s.setblocking(False)
    try:
        data = s.recv(4096)
    except BlockingIOError:
        data = b""
    res.append("%s %s" % (src, "refused-addr" if b"from this address" in data else
                          "refused-all" if b"Too many CLI sessions" in data else
                          "open" if b"Username" in data or data == b"" else "other"))
with open(out, "w") as f:
    f.write("\n".join(res) + "\n")
time.sleep(60)
PY
srcs=(127.0.0.10 127.0.0.10 127.0.0.10 127.0.0.10 127.0.0.10)   # a 5th from one address
for k in 1 2 3 4; do for i in $(seq 11 19); do srcs+=(127.0.0.$i); done; done
ip netns exec "$SP" python3 "$SP_TMP/idle.py" $PORT "$SP_TMP/idle.out" "${srcs[@]}" &
IDLE=$!
sp_wait_for "idle connections made" 10 test -s "$SP_TMP/idle.out"
check_eq "41 connections from 10 addresses: 16 open (the TCP cap)" 16 "$(grep -c ' open$' "$SP_TMP/idle.out")"
check_eq "... the 5th from one address is refused for its address" "127.0.0.10 refused-addr" "$(sed -n 5p "$SP_TMP/idle.out")"
out=$(sp_cli m1 -c "show users"); rc=$?
check_eq "the unix socket still answers with 16 TCP sessions held" 0 $rc
check_eq "show users lists the 16 TCP sessions, not logged in" 16 "$(printf '%s\n' "$out" | grep -cE '^[0-9]+ +tcp +\(login\) +127\.0\.0\.1[0-9]:[0-9]+')"
check_match "show users: the caps" '16 TCP sessions \(at most 16, 4 per address\), 1 unix-socket session \(at most 16\)' "$out"
pids=()
for i in $(seq 1 8); do sp_cli m1 -c "show version" >/dev/null & pids+=($!); done
ok=0; for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check_eq "8 concurrent unix-socket commands all succeed meanwhile" 8 $ok
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null

# ---- item 4: repeated refusals are rate-limited ----
sp_wait_for "the suppressed count" 15 grep -q "cli: connections refused, all TCP sessions in use: [0-9]* more suppressed" "$D/log"
check_match "24 refusals for one reason: one line, then 'N more suppressed'" \
	'cli: connections refused, all TCP sessions in use: 23 more suppressed' "$(log)"
check_eq "... and that one line" 1 "$(grep -c 'refused: all TCP sessions in use' "$D/log")"

sp_daemon_stop "$PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
sp_done
