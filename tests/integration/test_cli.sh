#!/bin/bash
# The daemon and its CLI, end to end: sigproxy-cli one-shot and batch, an
# interactive telnet-style session with login (expect), bad input, write
# memory + restart, SIGHUP reload as one transaction, concurrent sessions.
. "$(dirname "$0")/lib.sh"
sp_require_root

NS=$(sp_netns cli) || { sp_fail "create namespace"; sp_done; exit 1; }
D=$SP_TMP/d1
mkdir -p "$D"

# ---- command line ----
check_match "--version prints the version" '^sigproxyd [0-9]+\.[0-9]+' "$("$SPD" --version)"
check_match "--help lists every option" 'cli-listen.*' "$("$SPD" --help | tr '\n' ' ' | grep -- '--config' | grep -- '--pid-file' | grep -- '--agentx' | grep -- '--cli-socket')"
"$SPD" --bogus >/dev/null 2>&1; check_eq "unknown option exits 2" 2 $?
"$SPCLI" -s "$SP_TMP/nonexistent.sock" -c "show version" >/dev/null 2>"$SP_TMP/err"; rc=$?
check_eq "sigproxy-cli without a daemon exits 2" 2 $rc
check_match "... and says why" "cannot connect" "$(cat "$SP_TMP/err")"

# ---- start ----
sp_daemon_start "$NS" d1 --cli-listen 127.0.0.1:2650 || { sp_fail "daemon starts"; cat "$D/log"; sp_done; exit 1; }
PID=$SP_DAEMON_PID
sp_pass "daemon starts with no config file"
check_eq "pid file holds the daemon's pid" "$PID" "$(cat "$D/pid" | tr -d '\n')"
# every local user may connect; the daemon decides by the peer's credentials (test_access)
check_eq "unix socket is connectable (trust by peer credentials)" "srw-rw-rw-" "$(stat -c %A "$D/cli.sock")"

# ---- one-shot -c, in order, from exec mode ----
out=$(sp_cli d1 -c "configure terminal" -c "hostname edge1" -c "username admin secret Adm1nPass" \
	-c "enable secret En4blePass" -c "signaling-proxy" -c "server-side-address 192.0.2.1" \
	-c "proxy-strategy voip seq 10" -c "match source 10.1.0.0/24" -c "server 192.0.2.10" \
	-c "action proxy" -c "end" -c "show running-config" 2>&1); rc=$?
check_eq "-c commands succeed" 0 $rc
check_match "running-config shows the hostname" '^hostname edge1$' "$out"
check_match "running-config shows the strategy" 'proxy-strategy voip seq 10' "$out"
check_match "password is stored hashed" 'username admin secret hashed \$' "$out"
check_no_match "password is not stored in clear" 'Adm1nPass' "$out"

out=$(sp_cli d1 -c "show proxy-strategy voip")
check_match "show proxy-strategy NAME" 'proxy-strategy voip seq 10: installed, 0 hits' "$out"
check_match "show proxy-strategy shows the server" 'server +192.0.2.10 port 5060' "$out"

# failure: non-zero exit, error on stderr, later commands still run
sp_cli d1 -c "configure terminal" -c "hostname 9bad" -c "hostname edge2" >"$SP_TMP/o" 2>"$SP_TMP/e"; rc=$?
check_eq "a failed -c command makes the exit status 1" 1 $rc
check_eq "the error goes to stderr" '% Invalid hostname "9bad" (letters, digits and '"'"'-'"'"', starting with a letter, at most 63)' "$(cat "$SP_TMP/e")"
check_match "later commands still ran" '^hostname edge2$' "$(sp_cli d1 -c 'show running-config')"
sp_cli d1 -c "configure terminal" -c "hostname edge1" >/dev/null

# commands from standard input
out=$(printf 'configure terminal\ninterface eth9\nvpn-id 7\nend\nshow running-config\n' | sp_cli d1)
check_match "commands from stdin" 'interface eth9' "$out"
sp_cli d1 -c "configure terminal" -c "no interface eth9" >/dev/null

# abbreviations, do, output filters
out=$(sp_cli d1 -c "conf t" -c "proxy-s voip seq 10" -c "mat vl 42" -c "do sh run | inc vlan" 2>&1)
check_match "abbreviated commands and do with a filter" '^ match vlan 42$' "$out"
check_eq "| count counts lines" "$(sp_cli d1 -c 'show running-config' | wc -l)" \
	"$(sp_cli d1 -c 'show running-config | count' | tr -dc 0-9)"
check_match "| begin starts at the first match" '^proxy-strategy' "$(sp_cli d1 -c 'show running-config | begin proxy-strategy' | head -1)"
check_no_match "| exclude drops lines" '^hostname' "$(sp_cli d1 -c 'show running-config | exclude hostname')"
check "no forms: no match vlan" sp_cli d1 -c "conf t" -c "proxy-strategy voip seq 10" -c "no match vlan"
check_no_match "no match vlan removed it" 'match vlan' "$(sp_cli d1 -c 'show running-config')"
check "terminal length 0" sp_cli d1 -c "terminal length 0"

# ---- bad input: one clear line, nothing changed ----
sp_cli d1 -c "conf t" -c "proxy-strategy nosrv seq 20" -c "policy-route pr seq 5" -c "set table 100" \
	-c "redundancy" -c "role active" >/dev/null
BASE=$(sp_cli d1 -c "show running-config")
bad() { # bad SUBMODE-ENTRY|- COMMAND EXPECTED-REGEX
	local entry=$1 cmd=$2 re=$3 args=(-c "configure terminal")
	[ "$entry" != - ] && args+=(-c "$entry")
	args+=(-c "$cmd")
	sp_cli d1 "${args[@]}" >"$SP_TMP/bo" 2>"$SP_TMP/be"; local rc=$?
	local err; err=$(cat "$SP_TMP/be")
	if [ $rc -eq 1 ] && [ "$(wc -l <"$SP_TMP/be")" -eq 1 ] && printf '%s' "$err" | grep -qE -- "^% .*$re" \
		&& [ "$(sp_cli d1 -c 'show running-config')" == "$BASE" ]; then
		sp_pass "bad input refused: $cmd"
	else
		sp_fail "bad input refused: $cmd (rc=$rc, stderr: $err)"
	fi
}
ST="proxy-strategy voip seq 10"
bad - "hostname 1bad" "Invalid hostname"
bad - "hostname" "usage: hostname NAME"
bad - "proxy-strategy s1 seq 0" "Invalid sequence number"
bad - "proxy-strategy s1 seq 70000" "Invalid sequence number"
bad - "proxy-strategy s1" "usage: proxy-strategy NAME seq N"
bad - "proxy-strategy bad/name seq 5" "Invalid proxy-strategy name"
bad - "proxy-strategy other seq 10" "already used by proxy-strategy voip"
bad - "no proxy-strategy nosuch" "No proxy-strategy nosuch"
bad - "policy-route p1 seq abc" "Invalid sequence number"
bad - "interface a/b" "Invalid interface name"
bad - "no interface nosuch" "No interface nosuch"
bad - "frobnicate" "Invalid command|Unknown"
bad - "username x secret" "usage: username"
bad - "enable secret hashed nothash" "Invalid hashed secret"
bad "signaling-proxy" "server-side-address 10.0.0.300" 'Invalid address "10.0.0.300"'
bad "signaling-proxy" "listen-port 0" "Invalid port"
bad "signaling-proxy" "listen-port 5060 5060" "given twice"
bad "signaling-proxy" "default-action proxy" "usage: default-action"
bad "signaling-proxy" "media-port-range 20001 30000" "odd"
bad "signaling-proxy" "media-port-range 30000 20000" "not above"
bad "signaling-proxy" "signaling-port-range 1023 2000" "Invalid signaling port"
bad "signaling-proxy" "signaling-port-range 3000 2999" "2999 is below 3000"
bad "signaling-proxy" "signaling-port-range 20000 20999" "overlaps the server-side signaling ports 20000-20999"
bad "signaling-proxy" "session-limit 0" "Invalid session limit"
bad "signaling-proxy" "message-size-limit 511" "Invalid message size limit"
bad "signaling-proxy" "message-size-limit 65508" "Invalid message size limit"
bad "signaling-proxy" "return-path default-gateway" "usage: return-path"
bad "signaling-proxy" "media fast" "usage: media"
bad "$ST" "match source 10.0.0.300/24" 'Invalid prefix "10.0.0.300/24"'
bad "$ST" "match source 2001:db8::/129" 'Invalid prefix "2001:db8::/129"'
bad "$ST" "server 2001:db8::zz" 'Invalid address "2001:db8::zz"'
bad "signaling-proxy" "server-side-address 2001:db8:::1" 'Invalid address'
bad "signaling-proxy" "no server-side-address 2001:db8::99" 'not a server-side-address'
bad "$ST" "match vlan 5000" "Invalid VLAN ID"
bad "$ST" "match vlan 0" "Invalid VLAN ID"
bad "$ST" "match mpls-label 15" "Invalid MPLS label"
bad "$ST" "match mpls-label 1048576" "Invalid MPLS label"
bad "$ST" "match vpn-id 0" "Invalid VPN ID"
bad "$ST" "match protocol 256" "Invalid protocol"
bad "$ST" "match source 10.0.0.0/24 port 70000" "Invalid port"
bad "$ST" "match destination 10.0.0.0/24 port 5080-5060" "start above end"
bad "$ST" "server 192.0.2.999" "Invalid address"
bad "$ST" "server 192.0.2.1 port 0" "Invalid port"
bad "$ST" "action teleport" "usage: action"
# (checked when the block is left: here at the end of the commands)
bad "$ST" "no server" "action proxy needs a server"
bad "proxy-strategy nosrv seq 20" "action proxy" "action proxy needs a server"
bad "policy-route pr seq 5" "set next-hop 300.1.1.1" "Invalid address"
bad "policy-route pr seq 5" "set table 254" "Invalid table"
bad "policy-route pr seq 5" "match source-port 1-99999" "Invalid port range"
bad "policy-route pr seq 5" "match input-interface a/b" "Invalid interface name"
bad "redundancy" "authentication key short" "Invalid key"
bad "redundancy" "local-address 10.0.0.1 port 99999" "Invalid port"
bad "redundancy" "role master" "usage: role"

# ---- interactive session over TCP, with login ----
# the client: stdin to the daemon, the daemon to stdout, ending when the
# daemon closes (nc stays until its own input ends, so it cannot tell)
cp "$(dirname "$0")/tcp_client.py" "$SP_TMP/tcpc.py"
cat >"$SP_TMP/session.exp" <<'EXP'
set timeout 10
log_user 1
# raw: CR and LF reach the daemon as typed, as from a telnet client
set stty_init "raw -echo"
spawn ip netns exec $env(NS) /usr/bin/python3 $env(SP_TMP)/tcpc.py
proc step {pat desc} {
	expect {
		-re $pat {}
		timeout { puts "\nEXPECT-FAIL: $desc"; exit 1 }
		eof { puts "\nEXPECT-FAIL: eof at $desc"; exit 1 }
	}
}
step "Username:" "login prompt"
send "admin\r\n"
step "Password:" "password prompt"
send "wrong-password\r\n"
step "Username:" "wrong password refused, asked again"
send "admin\r\n"
step "Password:" "password prompt 2"
send "Adm1nPass\r\n"
step "edge1>" "logged in, unprivileged prompt"
send "configure terminal\r\n"
step "Invalid|Unknown|\\\\^" "configure refused before enable"
step "edge1>" "prompt after refusal"
send "enable\r\n"
step "Password:" "enable password prompt"
send "En4blePass\r\n"
step "edge1#" "privileged prompt"
send "conf t\r\n"
step "edge1\\(config\\)#" "config mode (abbreviated)"
send "proxy-strategy lab seq 30\r\n"
step "edge1\\(config-strategy\\)#" "strategy sub-mode"
send "?"
step "match.*action|action.*match" "? lists the sub-mode's commands"
step "edge1\\(config-strategy\\)#" "prompt after ?"
send "\025"
send "mat dest 198.51.100.0/24 port 5060\r\n"
step "edge1\\(config-strategy\\)#" "abbreviated match"
send "ser 192.0.2.20\r\n"
step "edge1\\(config-strategy\\)#" "server"
send "act prox\r\n"
step "edge1\\(config-strategy\\)#" "action proxy"
send "no act\r\n"
step "edge1\\(config-strategy\\)#" "no action"
send "hostname edge1x\r\n"
step "edge1x\\(config\\)#" "top-level command leaves the sub-mode, new hostname in the prompt"
send "end\r\n"
step "edge1x#" "end"
send "sh\t"
step "show " "tab completes show"
send "run | inc lab\r\n"
step "proxy-strategy lab seq 30" "show running-config with a filter"
step "edge1x#" "prompt after show"
send "exit\r\n"
# the daemon closes the session: the client ends at once
set timeout 3
expect {
	eof {}
	timeout { puts "\nEXPECT-FAIL: the session stays open after exit"; exit 1 }
}
EXP
out=$(NS=$NS SP_TMP=$SP_TMP expect "$SP_TMP/session.exp" 2>&1); rc=$?
check_eq "interactive session: login, enable, modes, ?, tab, abbreviations, no forms" 0 $rc
[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -15 | sed 's/^/#   /'
run=$(sp_cli d1 -c "show running-config")
check_match "interactive changes are in running-config" 'match destination 198.51.100.0/24 port 5060' "$run"
check_eq "interactive 'no action' took effect" "" "$(printf '%s\n' "$run" | sed -n '/lab seq 30/,/^!/p' | grep action)"
check_match "failed login logged" 'failed login for user "admin"' "$(cat "$D/log")"
sp_cli d1 -c "conf t" -c "hostname edge1" >/dev/null

# ---- per-user privilege (username NAME privilege {1|15}) over TCP ----
out=$(sp_cli d1 -c "configure terminal" -c "username boss privilege 15 secret B0ssPass" \
	-c "username viewer privilege 1 secret V1ewPass" -c "end" -c "show running-config" 2>&1); rc=$?
check_eq "username NAME privilege {1|15} secret ... is accepted" 0 $rc
check_match "... and shown with its privilege" '^username boss privilege 15 secret hashed \$' "$out"
check_match "... privilege 1 too" '^username viewer privilege 1 secret hashed \$' "$out"
check_match "a user without privilege is shown as before" '^username admin secret hashed \$' "$out"
check_match "privilege out of range refused" '% Invalid privilege "7" \(1 or 15\)' \
	"$(sp_cli d1 -c "configure terminal" -c "username bad privilege 7 secret X" 2>&1)"
cat >"$SP_TMP/priv.exp" <<'EXP'
set timeout 10
set stty_init "raw -echo"
proc step {pat desc} {
	global spawn_id
	expect {
		-re $pat {}
		timeout { puts "\nEXPECT-FAIL: $desc"; exit 1 }
		eof { puts "\nEXPECT-FAIL: eof at $desc"; exit 1 }
	}
}
# nc may outlive the session's end: the pty is closed after exit
proc login {user pass} {
	global spawn_id
	spawn ip netns exec $::env(NS) nc 127.0.0.1 2650
	step "Username:" "login prompt ($user)"
	send "$user\r\n"
	step "Password:" "password prompt ($user)"
	send "$pass\r\n"
}
# privilege 15: privileged EXEC at once, configures without enable
login boss B0ssPass
step "edge1#" "privilege 15: logged in to privileged EXEC (#)"
send "conf t\r\n"
step "edge1\\(config\\)#" "privilege 15: configures without enable"
send "end\r\n"
step "edge1#" "privilege 15: end"
send "exit\r\n"
close; wait
# privilege 1: user EXEC, show commands, enable refused without a secret prompt
login viewer V1ewPass
step "edge1>" "privilege 1: logged in to user EXEC (>)"
send "show proxy-strategy\r\n"
step "proxy-strategy" "privilege 1: show commands"
step "edge1>" "privilege 1: prompt after show"
send "enable\r\n"
expect {
	"Password:" { puts "\nEXPECT-FAIL: privilege 1: enable asks for the secret"; exit 1 }
	-re "Read-only access" {}
	timeout { puts "\nEXPECT-FAIL: privilege 1: enable not refused"; exit 1 }
}
step "edge1>" "privilege 1: still user EXEC after enable"
send "exit\r\n"
close; wait
# no privilege: user EXEC, then enable with the enable secret (as before)
login admin Adm1nPass
step "edge1>" "no privilege: user EXEC (>)"
send "enable\r\n"
step "Password:" "no privilege: enable asks for the enable secret"
send "En4blePass\r\n"
step "edge1#" "no privilege: privileged after enable"
send "exit\r\n"
close; wait
puts "\nEXPECT-OK"
EXP
out=$(NS=$NS expect "$SP_TMP/priv.exp" 2>&1); rc=$?
check_eq "TCP logins: privilege 15 starts at #, privilege 1 at > with enable refused, no privilege as before" 0 $rc
[ $rc -eq 0 ] || printf '%s\n' "$out" | grep -a 'EXPECT-FAIL' | sed 's/^/#   /'
check_match "the privilege-15 login is logged with its privilege" 'user "boss" logged in from .*\(privilege 15\)' "$(cat "$D/log")"
sp_cli d1 -c "conf t" -c "no username boss" -c "no username viewer" >/dev/null

# no users: the TCP listener refuses everyone
out=$(printf 'admin\r\nx\r\n' | timeout 8 ip netns exec "$NS" nc -q 6 127.0.0.1 2650 2>&1 | tr -d '\r')
check_no_match "TCP login without the right password gets no prompt" 'edge1[>#]' "$out"

# ---- two sessions configuring at once ----
( for i in $(seq 1 40); do sp_cli d1 -c "conf t" -c "proxy-strategy a$i seq $((1000 + i))" -c "action forward" || exit 1; done ) &
P1=$!
( for i in $(seq 1 40); do sp_cli d1 -c "conf t" -c "proxy-strategy b$i seq $((2000 + i))" -c "action drop" || exit 1; done ) &
P2=$!
wait $P1; r1=$?; wait $P2; r2=$?
check_eq "two concurrent sessions both succeed" "0 0" "$r1 $r2"
run=$(sp_cli d1 -c "show running-config")
check_eq "all 80 concurrent strategies are there" 80 "$(printf '%s\n' "$run" | grep -cE '^proxy-strategy [ab][0-9]+ seq')"
check_eq "each with its action" 80 "$(printf '%s\n' "$run" | grep -cE '^ action (forward|drop)$' )"

# ---- write memory, restart, identical running-config ----
BEFORE=$(sp_cli d1 -c "show running-config")
out=$(sp_cli d1 -c "write memory"); rc=$?
check_eq "write memory succeeds" 0 $rc
check_eq "the file is the running-config" "$BEFORE" "$(cat "$D/sigproxy.conf")"
check_eq "the file is root-only" "-rw-------" "$(stat -c %A "$D/sigproxy.conf")"
check_eq "no temp file left behind" "" "$(ls "$D" | grep tmp)"
sp_daemon_stop "$PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
check_eq "SIGTERM: pid file removed" no "$( [ -e "$D/pid" ] && echo yes || echo no)"
check_eq "SIGTERM: socket removed" no "$( [ -e "$D/cli.sock" ] && echo yes || echo no)"
sp_daemon_start "$NS" d1 --cli-listen 127.0.0.1:2650 || sp_fail "restart"
PID=$SP_DAEMON_PID
check_eq "after restart running-config is identical" "$BEFORE" "$(sp_cli d1 -c 'show running-config')"

# a second daemon on the same pid file refuses to start
"$SPD" -f "$D/sigproxy.conf" --cli-socket "$SP_TMP/other.sock" --cli-listen none --pid-file "$D/pid" --state-dir none >"$SP_TMP/second.log" 2>&1
check_eq "second daemon with the same pid file exits 1" 1 $?
check_match "... saying why" "another sigproxyd is running" "$(cat "$SP_TMP/second.log")"

# ---- SIGHUP: a broken file changes nothing ----
cp "$D/sigproxy.conf" "$SP_TMP/good.conf"
sed 's/^hostname edge1$/hostname edge-reloaded/; s/^ match source 10.1.0.0\/24$/ match source 10.1.0.0\/33/' \
	"$SP_TMP/good.conf" >"$D/sigproxy.conf"
line=$(grep -n '10.1.0.0/33' "$D/sigproxy.conf" | cut -d: -f1)
kill -HUP "$PID"
sp_wait_for "reload error in the log" 5 grep -q "config not changed" "$D/log"
check_match "broken file reported with file:line and reason" \
	"config not changed: $D/sigproxy.conf:$line: Invalid prefix \"10.1.0.0/33\"" "$(cat "$D/log")"
check_eq "broken file: running-config unchanged (hostname line came first)" "$BEFORE" "$(sp_cli d1 -c 'show running-config')"
# a good file is applied, including removals
sed 's/^hostname edge1$/hostname edge-reloaded/; /^proxy-strategy a1 seq 1001$/,/^!$/d' "$SP_TMP/good.conf" >"$D/sigproxy.conf"
kill -HUP "$PID"
sp_wait_for "reload applied" 5 sh -c "'$SPCLI' -s '$D/cli.sock' -c 'show running-config' | grep -q '^hostname edge-reloaded'"
run=$(sp_cli d1 -c "show running-config")
check_match "good file: change applied" '^hostname edge-reloaded$' "$run"
check_no_match "good file: removed strategy is gone" 'proxy-strategy a1 seq 1001' "$run"
check_match "daemon still answers after reloads" 'sigproxy' "$(sp_cli d1 -c 'show version')"

# one engine per network namespace: a second daemon there refuses to start
ip netns exec "$NS" "$SPD" -f "$D/sigproxy.conf" --cli-socket "$SP_TMP/third.sock" --cli-listen none --state-dir none >"$SP_TMP/third.log" 2>&1
check_eq "second daemon in the same namespace exits 1" 1 $?
check_match "... saying why" "another sigproxyd runs in this network namespace" "$(cat "$SP_TMP/third.log")"
check_match "... and the first one's interception is intact" 'lookup 5060' "$(ip -n "$NS" rule)"

# ---- redundancy commands on an SP without a peer ----
out=$(sp_cli d1 -c 'show redundancy' | tr '\n' ' ')
check_match "show redundancy: roles, no sync without peer and key" \
	'Role +active +Configured role +active .*Peer address +not configured +Peer state +no sync' "$out"
check_match "redundancy notify backup: standby" 'Role now standby' "$(sp_cli d1 -c 'redundancy notify backup')"
check_no_match "... the interception is removed" 'lookup 5060' "$(ip -n "$NS" rule)"
check_match "... show redundancy says why" 'Last role change .*vrrp: notify backup' "$(sp_cli d1 -c 'show redundancy')"
check_fails "redundancy notify with a bad state" sp_cli d1 -c 'redundancy notify sideways'
check_match "force-switchover on a standby without a peer: active" 'Role now active' \
	"$(sp_cli d1 -c 'redundancy force-switchover')"
check_match "... the interception is back" 'lookup 5060' "$(ip -n "$NS" rule)"
out=$(sp_cli d1 -c 'redundancy force-switchover' 2>&1); rc=$?
check_eq "force-switchover on the active without a peer fails" 1 $rc
check_match "... saying why" '^% No state sync with a peer' "$out"
check_match "... and it stays active" 'Role +active' "$(sp_cli d1 -c 'show redundancy')"
sp_cli d1 -c "configure terminal" -c "redundancy" -c "local-address 127.0.0.1 port 7100" \
	-c "peer-address 127.0.0.1 port 7100" -c "authentication key sync-key-123" >/dev/null
no_sync_why() { sp_cli d1 -c 'show redundancy' | grep -qE 'Peer state +no sync \(sync: local and peer are the same'; }
sp_wait_for "the channel's error in show redundancy" 5 no_sync_why
check_match "a channel that cannot start: show redundancy says why" \
	'Peer state +no sync \(sync: local and peer are the same address:port\)' \
	"$(sp_cli d1 -c 'show redundancy')"
sp_cli d1 -c "configure terminal" -c "no redundancy" >/dev/null
check_match "show redundancy without the block" 'not configured: this SP is active and alone' \
	"$(sp_cli d1 -c 'show redundancy')"
check_fails "redundancy notify needs the block" sp_cli d1 -c 'redundancy notify master'

# ---- -d daemonizes ----
NS2=$(sp_netns bg)
ip netns exec "$NS2" "$SPD" -d -f "$D/sigproxy.conf" --cli-socket "$SP_TMP/bg.sock" --cli-listen none --pid-file "$SP_TMP/bg.pid" --state-dir none; rc=$?
check_eq "-d: the parent returns 0" 0 $rc
sp_wait_for "daemonized pid file" 5 test -s "$SP_TMP/bg.pid"
sp_wait_for "daemonized CLI socket" 10 test -S "$SP_TMP/bg.sock"
BG=$(cat "$SP_TMP/bg.pid" 2>/dev/null)
check "-d: the daemon runs in the background" kill -0 "$BG"
check_match "-d: it answers the CLI" 'hostname edge-reloaded' "$("$SPCLI" -s "$SP_TMP/bg.sock" -c 'show running-config')"
kill -TERM "$BG" 2>/dev/null
sp_wait_for "daemonized process exits" 5 sh -c "! kill -0 $BG"
check_eq "-d: SIGTERM removes its pid file" no "$( [ -e "$SP_TMP/bg.pid" ] && echo yes || echo no)"

sp_daemon_stop "$PID"; rc=$?
check_eq "final SIGTERM: clean exit (and no leaks under ASan)" 0 $rc
sp_done
