#!/bin/bash
# The CLI's help and output through a terminal (expect drives sigproxy-cli
# on a pty): `?` lists what may follow and never runs the command, argument
# help with types and ranges, tab completion of configured names, the
# trusted socket's session starts privileged, paging by `terminal length`
# (--More--: space, enter, q), `| section`, `| json` for every show command; over TCP: user EXEC's read-only
# show commands, the '^' under the word an error is about, and plain nc
# (LF line ends).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools expect

NS=$(sp_netns clihelp) || { sp_fail "create namespace"; sp_done; exit 1; }
sp_daemon_start "$NS" d1 --cli-listen 127.0.0.1:2650 || { sp_fail "daemon starts"; sp_done; exit 1; }
PID=$SP_DAEMON_PID

sp_cli d1 -c "configure terminal" -c "username admin secret Adm1nPass" \
	-c "signaling-proxy" -c "server-side-address 192.0.2.1" \
	-c "proxy-strategy voipcore seq 10" -c "match vlan 42" -c "server 192.0.2.10" -c "action proxy" \
	-c "proxy-strategy other seq 20" -c "action forward" -c "end" >/dev/null \
	|| sp_fail "initial configuration"

# An expect script (file $1) of the lines on stdin after the head they all
# share: the timeout, the log, and `step PATTERN DESC` (fails at DESC when
# PATTERN does not come).
expect_script() {
	{
		cat <<'EXP'
set timeout 8
log_user 1
proc step {pat desc} {
	expect {
		-re $pat {}
		timeout { puts "\nEXPECT-FAIL: $desc"; exit 1 }
		eof { puts "\nEXPECT-FAIL: eof at $desc"; exit 1 }
	}
}
EXP
		cat
	} >"$1"
}

# Runs expect script $1 (with SPCLI, SOCK for the daemon's socket and NS)
# and checks it ends well ($2); its last lines when it does not.
expect_check() {
	local out rc
	out=$(SPCLI=$SPCLI SOCK=$SP_TMP/d1/cli.sock NS=$NS expect "$1" 2>&1); rc=$?
	check_eq "$2" 0 $rc
	[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -15 | sed 's/^/#   /'
}

# ---- interactive, on a pty ----
expect_script "$SP_TMP/help.exp" <<'EXP'
spawn $env(SPCLI) -s $env(SOCK)
# ^U: libcli erases the line in place (no new prompt)
proc clear {} {
	send "\025"
}
expect {
	-re "sigproxy> " { puts "\nEXPECT-FAIL: the trusted socket starts unprivileged"; exit 1 }
	-re "sigproxy# " {}
	timeout { puts "\nEXPECT-FAIL: no prompt"; exit 1 }
}
send "show sessions ?"
step "detail +Every dialog" "show sessions ? lists detail"
clear
send "show version ?"
step "\\\[\\|\\\] +Output modifiers.*<cr>" "show version ? offers the output modifiers and <cr>"
clear
send "show proxy-strategy ?"
step "STRATEGY-NAME" "show proxy-strategy ? names the argument"
clear
send "show proxy-strategy voi\t"
step "voipcore " "tab completes a configured strategy name"
clear
send "configure terminal\r"
step "sigproxy\\(config\\)# " "config mode"
send "interface ?"
step "<IFNAME> +An interface's name" "interface ? describes the argument"
step "sigproxy\\(config\\)# interface " "... and stays in config mode with the line kept"
clear
send "no username ad\t"
step "admin " "tab completes a configured user"
clear
send "proxy-strategy voipcore seq 10\r"
step "sigproxy\\(config-strategy\\)# " "strategy sub-mode"
send "match source ?"
step "<A.B.C.D/M> +Source prefix" "match source ? gives the prefix's form"
step "any +Any source" "... and the other forms"
clear
send "match vlan ?"
step "<1-4094> +VLAN ID" "match vlan ? gives the range"
clear
# the prompt "sigproxy(config-strategy)# " is 27 wide, "match vlan " 11 more
send "match vlan 5000\r"
step "\n {38}\\^\r*\n% Invalid VLAN ID \"5000\"" "a refused value gets the '^' under it"
send "end\r"
step "sigproxy# " "end"
# paging: terminal length 6 shows 5 lines, then --More--
send "terminal length 6\r"
step "sigproxy# " "terminal length"
send "show running-config\r"
step "--More--" "a page, then --More--"
send " "
step "--More--" "space: the next page"
send "q"
expect {
	-re "\r\nend\r" { puts "\nEXPECT-FAIL: q did not stop the output"; exit 1 }
	-re "\r\nsigproxy# $" {}
	timeout { puts "\nEXPECT-FAIL: no prompt after q"; exit 1 }
}
send "terminal length 0\r"
step "sigproxy# " "terminal length 0"
send "show running-config\r"
expect {
	-ex "--More--" { puts "\nEXPECT-FAIL: paged with terminal length 0"; exit 1 }
	-re "\r\nsigproxy# $" {}
	timeout { puts "\nEXPECT-FAIL: no prompt after an unpaged show"; exit 1 }
}
send "exit\r"
expect eof
EXP
expect_check "$SP_TMP/help.exp" "interactive: privileged start, ? with argument types and ranges, tab completion of names, paging"
run=$(sp_cli d1 -c "show running-config")
check_no_match "interactive ? changed nothing" '^interface|\?' "$run"

# ---- ? after the first argument: what may follow, <cr> when complete ----
expect_script "$SP_TMP/args.exp" <<'EXP'
spawn $env(SPCLI) -s $env(SOCK)
# the help, then the prompt with the line kept (nothing ran)
proc ask {line pat desc prompt} {
	send "$line?"
	expect {
		-re "\a" { puts "\nEXPECT-FAIL: the bell at $desc"; exit 1 }
		-re "$pat.*\n$prompt[string map {. \\.} $line]$" {}
		timeout { puts "\nEXPECT-FAIL: $desc"; exit 1 }
	}
	send "\025"
}
step "sigproxy# " "prompt"
send "show sessions detail ?"
step "<cr>" "show sessions detail ? completes with <cr>"
send "\025"
ask "show proxy-strategy voipcore " "\\| +Output modifiers.*\r+\n +<cr>" "show proxy-strategy NAME ? offers the modifiers and <cr>" "sigproxy# "
send "configure terminal\r"
step "sigproxy\\(config\\)# " "config mode"
ask "username bob " "privilege +Then 1.*\r+\n +secret +Then the password" "username NAME ? offers privilege and secret" "sigproxy\\(config\\)# "
ask "username bob privilege " "1 +Read-only.*\r+\n +15 +Privileged" "username NAME privilege ? offers 1 and 15" "sigproxy\\(config\\)# "
ask "username bob secret " "<WORD> +The password.*\r+\n +hashed +Then a crypt" "username NAME secret ? offers the password or hashed" "sigproxy\\(config\\)# "
ask "proxy-strategy voipcore " "seq +Then the sequence number" "proxy-strategy NAME ? offers seq" "sigproxy\\(config\\)# "
ask "proxy-strategy voipcore seq " "<1-65535> +The sequence number" "proxy-strategy NAME seq ? gives the range" "sigproxy\\(config\\)# "
send "proxy-strategy voipcore seq 10\r"
step "sigproxy\\(config-strategy\\)# " "strategy sub-mode"
set P "sigproxy\\(config-strategy\\)# "
ask "match source 10.0.0.0/8 " "port +Then a port\r+\n +<cr>" "match source PREFIX ? offers port and <cr>" $P
ask "match source 10.0.0.0/8 port " "<1-65535> +A port, or a range N-M" "match source PREFIX port ? gives the range" $P
ask "match source 10.0.0.0/8 port 5060 " "<cr>" "match source PREFIX port N ? is complete" $P
ask "match source any " "port +Then a port\r+\n +<cr>" "match source any ? offers port and <cr>" $P
ask "server 192.0.2.1 " "port +Then a port\r+\n +transport +Then udp, tcp or tls\r+\n +<cr>" "server A.B.C.D ? offers port, transport and <cr>" $P
ask "server 192.0.2.1 port " "<1-65535> +A port\r+\n" "server A.B.C.D port ? gives the range" $P
ask "server 192.0.2.1 p" "port +Then a port" "a keyword being typed" $P
ask "match vlan 42 " "<cr>" "match vlan N ? is complete" $P
# do: the exec command after it, from a configuration mode
ask "do sh" "show +" "do sh? completes to show" $P
ask "do show sessions " "count +Number of dialogs.*detail +Every dialog.*\\| +Output modifiers.*<cr>" \
	"do show sessions ? lists count, detail, the modifiers and <cr>" $P
# a word that fits no form of the command: the bell, nothing shown
send "server 192.0.2.1 5070 ?"
step "\a" "words that fit nothing ring the bell"
send "\025end\r"
step "sigproxy# " "end"
send "exit\r"
expect eof
EXP
expect_check "$SP_TMP/args.exp" "interactive: ? after the first argument lists what follows (types, ranges, <cr>)"
run=$(sp_cli d1 -c "show running-config")
check_no_match "? after an argument ran nothing" 'bob|10\.0\.0\.0/8|192\.0\.2\.1 port|5070' "$run"

# ---- user EXEC over TCP: read-only show commands, '^' under the bad word ----
expect_script "$SP_TMP/user.exp" <<'EXP'
set stty_init "raw -echo"
spawn ip netns exec $env(NS) nc 127.0.0.1 2650
step "Username:" "login prompt"
send "admin\r\n"
step "Password:" "password prompt"
send "Adm1nPass\r\n"
step "sigproxy> " "user EXEC prompt"
send "show version\r\n"
step "Uptime" "show version in user EXEC"
step "sigproxy> " "prompt"
send "show proxy-strategy\r\n"
step "proxy-strategy voipcore seq 10" "show proxy-strategy in user EXEC"
step "sigproxy> " "prompt"
send "show running-config\r\n"
step "\r\n {15}\\^\r\n% Invalid input \"running-config\"" "show running-config stays privileged: '^' under it"
step "sigproxy> " "prompt"
send "configure terminal\r\n"
step "\r\n {10}\\^\r\n% Invalid command \"configure\"" "configure in user EXEC: '^' and '% '"
step "sigproxy> " "prompt"
send "exit\r\n"
# the daemon closes; nc itself stays until its input ends
set timeout 1
expect eof
EXP
expect_check "$SP_TMP/user.exp" "user EXEC: show commands, privileged ones refused with a '^' marker and '% '"

# ---- plain nc: LF line ends end a line too ----
out=$(printf 'admin\nAdm1nPass\nshow version\nexit\n' | timeout 10 ip netns exec "$NS" nc -q 3 127.0.0.1 2650 2>&1 | tr -d '\r')
check_match "plain nc (LF line ends): login and a command" 'Uptime' "$out"
out=$(printf 'admin\r\nAdm1nPass\r\nshow version\r\nexit\r\n' | timeout 10 ip netns exec "$NS" nc -q 3 127.0.0.1 2650 2>&1 | tr -d '\r')
check_match "CR LF (telnet, nc -C) still one line end each" 'Uptime' "$out"
check_no_match "... not two (no empty command between)" 'Invalid|Incomplete' "$out"

# ---- "?" as a word (one-shot commands): help, never an argument ----
out=$(sp_cli d1 -c "configure terminal" -c "interface ?" 2>&1); rc=$?
check_match "-c 'interface ?' describes the argument" 'IFNAME' "$out"
check_no_match "... and does not create the interface" '^interface' "$(sp_cli d1 -c 'show running-config')"
out=$(sp_cli d1 -c "configure terminal" -c "proxy-strategy voipcore seq 10" -c "match source ?" 2>&1)
check_match "-c 'match source ?' gives the argument's type" 'A\.B\.C\.D/M' "$out"
check_no_match "... without an error about the prefix" 'Invalid prefix' "$out"
out=$(sp_cli d1 -c "show sessions ?" 2>&1)
check_match "-c 'show sessions ?' lists detail" 'detail' "$out"
check_match "... and count" 'count' "$out"

# ---- | section ----
out=$(sp_cli d1 -c "show running-config | section voipcore")
check_match "| section shows the block's head" '^proxy-strategy voipcore seq 10$' "$out"
check_match "... and its lines" '^ match vlan 42$' "$out"
check_no_match "... and nothing else" 'other|hostname|server-side-address' "$out"

# ---- | json: every show command's output as one JSON object ----
# the engine's, persistence's and redundancy's show commands write their
# own JSON (from the same read APIs as their text); the others' text is
# read back as rows, fields and lines
sp_cli d1 -c "configure terminal" -c "redundancy" -c "role active" \
	-c "local-address 127.0.0.1 port 7400" -c "end" >/dev/null || sp_fail "redundancy for show redundancy"
for c in "show statistics" "show sessions" "show sessions detail" "show sessions count" \
	"show bindings" "show vpn" "show redundancy" "show persistence" "show version" \
	"show proxy-strategy" "show proxy-strategy voipcore" "show policy-route" "show users"; do
	out=$(sp_cli d1 -c "$c | json")
	check "$c | json is one JSON object of its own (python3 -m json.tool)" \
		sh -c 'printf "%s" "$1" | python3 -m json.tool >/dev/null && ! printf "%s" "$1" | grep -q "\"lines\":"' - "$out"
done
for c in "show running-config" "show history" "show interface"; do
	out=$(sp_cli d1 -c "$c | json")
	check "$c | json is one JSON object (rows, fields, lines)" python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert set(d) == {"rows", "fields", "lines"}' "$out"
done
# the JSON says what the text says: every counter of show statistics (the
# text's label with '-' for blanks), the strategy hits, sessions count,
# redundancy and persistence
cat >"$SP_TMP/json_vs_text.py" <<'PY'
import json, re, subprocess, sys
cli, sock = sys.argv[1:3]
def run(c):
    return subprocess.run([cli, "-s", sock, "-c", c], capture_output=True, text=True, check=True).stdout
bad = []
text, js = run("show statistics"), json.loads(run("show statistics | json"))
flat = {}
def walk(d, path=""):
    for k, v in d.items():
        if isinstance(v, dict):
            walk(v, path + k + ".")
        elif isinstance(v, int) and not isinstance(v, bool):
            flat.setdefault(k, []).append(v)
walk({k: v for k, v in js.items() if k != "strategy-hits"})
alias = {"dropped": "total", "open-now": "open", "forwarded-(in-the-kernel)": "forwarded-in-kernel",
         "dropped-(in-the-kernel)": "dropped-in-kernel", "streams-in-the-kernel": "streams-in-kernel",
         "tcp-connections-accepted": "accepted", "stun-requests-answered": "stun-requests-answered",
         "sdp-refused": "sdp-refused"}
n = 0
for line in text.splitlines():
    m = re.match(r"^ +([A-Za-z][A-Za-z -]*[a-z)]) +([0-9]+)$", line)
    if not m:
        continue
    key = re.sub(r" +", "-", m.group(1).strip().lower())
    key = alias.get(key, key)
    if key not in flat or int(m.group(2)) not in flat[key]:
        bad.append("statistics %s=%s not in the JSON" % (key, m.group(2)))
    n += 1
if n < 40:
    bad.append("only %d counters in the text" % n)
hits = re.findall(r"^  (\S+) +seq (\d+) +(\w+) +(\d+)$", text, re.M)
if [(h["name"], str(h["seq"]), h["action"], str(h["hits"])) for h in js["strategy-hits"]] != hits or not hits:
    bad.append("strategy hits differ: %s %s" % (hits, js["strategy-hits"]))
text, js = run("show sessions count"), json.loads(run("show sessions count | json"))
if "Sessions: %d " % js["sessions"] not in text or "Bindings: %d" % js["bindings"] not in text:
    bad.append("sessions count differs")
text, js = run("show redundancy"), json.loads(run("show redundancy | json"))
if not js["configured"] or not re.search(r"^  Role +%s$" % js["role"], text, re.M) or \
        js["local-address"] != {"address": "127.0.0.1", "port": 7400} or \
        not re.search(r"^  Local address +127.0.0.1 port 7400$", text, re.M) or \
        not re.search(r"^  Role changes +%d$" % js["role-changes"], text, re.M):
    bad.append("redundancy differs: %s" % js)
text, js = run("show proxy-strategy"), json.loads(run("show proxy-strategy | json"))
st = {(s["name"], s["seq"]): s for s in js["strategies"]}
v = st.get(("voipcore", 10), {})
if sorted(st) != [("other", 20), ("voipcore", 10)] or v.get("match") != {"vlan": 42} or \
        v.get("action") != "proxy" or v.get("server") != {"address": "192.0.2.10", "port": 5060} or \
        ("proxy-strategy voipcore seq 10: " + ("installed, %d hits" % v["hits"] if v["installed"]
                                              else "not installed (%s)" % v["reason"])) not in text or \
        not re.search(r"^  match vlan +42$", text, re.M) or \
        not re.search(r"^  server +192.0.2.10 port 5060$", text, re.M) or \
        st[("other", 20)]["action"] != "forward":
    bad.append("proxy-strategy differs: %s" % js)
one = json.loads(run("show proxy-strategy voipcore | json"))
if [s["name"] for s in one["strategies"]] != ["voipcore"]:
    bad.append("show proxy-strategy NAME | json: %s" % one)
text, js = run("show version"), json.loads(run("show version | json"))
if text.splitlines()[0] != "%s %s" % (js["name"], js["version"]) or \
        "Configuration file: %s" % js["configuration-file"] not in text:
    bad.append("version differs")
text, js = run("show persistence"), json.loads(run("show persistence | json"))
if js != {"enabled": False} or not text.startswith("Persistence: off"):
    bad.append("persistence differs")
print("\n".join(bad) if bad else "same")
PY
check_eq "| json: the values are those of the text" same \
	"$(python3 "$SP_TMP/json_vs_text.py" "$SPCLI" "$SP_TMP/d1/cli.sock" 2>&1)"
out=$(sp_cli d1 -c "show users | json")
check_eq "show users | json: this session, on the unix socket, as admin" "unix uid 0 (admin)" \
	"$(python3 -c 'import json, sys; s = json.loads(sys.argv[1])["sessions"][0]; print(s["kind"], s["user"])' "$out")"
out=$(sp_cli d1 -c "show running-config | json")
check_match "| json: the text is kept line by line" '"lines":\["!","hostname sigproxy"' "$out"

sp_daemon_stop "$PID"; rc=$?
check_eq "SIGTERM: clean exit (and no leaks under ASan)" 0 $rc

sp_done
