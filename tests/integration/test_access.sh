#!/bin/bash
# Secure access to the CLI: sigproxy-cli as the forced command of a real
# sshd (in a namespace made here) for an admin and a read-only group, the
# unix socket's trust decided by the peer's credentials, and TCP logins
# through PAM with a test stack (pam_exec + pam_permit in a service file of
# our own), privilege from the user's groups.
# Makes two groups and three users with unique names; removes them at exit.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools /usr/sbin/sshd ssh ssh-keygen useradd groupadd userdel groupdel runuser nc expect

GA="${SP_TAG}adm" GR="${SP_TAG}ro"                 # the admin and the read-only group
UA="${SP_TAG}a" UR="${SP_TAG}r" UN="${SP_TAG}n"    # an admin, a read-only user, neither
access_cleanup() {
	local u g
	for u in "$UA" "$UR" "$UN"; do id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null; done
	for g in "$GA" "$GR"; do getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null; done
}
trap 'access_cleanup; sp_cleanup' EXIT
groupadd "$GA" && groupadd "$GR" || { sp_fail "groupadd"; sp_done; exit 1; }
# '*': no password, but not locked (sshd refuses locked accounts)
useradd -M -N -d /nonexistent -s /bin/sh -G "$GA" -p '*' "$UA" &&
	useradd -M -N -d /nonexistent -s /bin/sh -G "$GR" -p '*' "$UR" &&
	useradd -M -N -d /nonexistent -s /bin/sh -p '*' "$UN" || { sp_fail "useradd"; sp_done; exit 1; }

NS=$(sp_netns access) || { sp_fail "create namespace"; sp_done; exit 1; }
chmod 711 "$SP_TMP" # the users reach the socket (the daemon decides who may use it)
mkdir -p "$SP_TMP/bin" && cp "$SPCLI" "$SP_TMP/bin/" && chmod 755 "$SP_TMP/bin"
CLI=$SP_TMP/bin/sigproxy-cli
SOCK=$SP_TMP/d1/cli.sock

# ---- the PAM test stack: pam_exec checks user and password, pam_permit ----
mkdir -p "$SP_TMP/pam.d"
cat >"$SP_TMP/pamcheck" <<PAMCHECK
#!/bin/bash
# pam_exec expose_authtok: the password on stdin, NUL-terminated
IFS= read -r -d '' pw
case "\$PAM_USER:\$pw" in
"$UA:admin-pass-1"|"$UR:ro-pass-1"|"$UN:none-pass-1") exit 0 ;;
esac
exit 1
PAMCHECK
chmod 755 "$SP_TMP/pamcheck"
cat >"$SP_TMP/pam.d/sigproxy" <<PAMSTACK
auth    required pam_exec.so expose_authtok quiet $SP_TMP/pamcheck
account required pam_permit.so
PAMSTACK

sp_daemon_start "$NS" d1 --cli-listen 127.0.0.1:2650 --cli-group "$GA" --cli-ro-group "$GR" \
	--cli-pam sigproxy --cli-pam-dir "$SP_TMP/pam.d" ||
	{ sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
chmod 755 "$SP_TMP/d1"

# ---- the unix socket: the peer's credentials decide ----
as() { local u=$1; shift; runuser -u "$u" -- "$CLI" -s "$SOCK" "$@" 2>&1; }
check_match "root: admin (show running-config)" '^hostname sigproxy' "$(sp_cli d1 -c 'show running-config')"
check "admin group: show running-config" as "$UA" -c "show running-config"
check "admin group: configures" as "$UA" -c "configure terminal" -c "hostname byadmin"
check_match "... the change is in" '^hostname byadmin' "$(sp_cli d1 -c 'show running-config')"
check "read-only group: show commands" as "$UR" -c "show proxy-strategy"
check_fails "read-only group: no show running-config (it is admin's)" as "$UR" -c "show running-config"
check_fails "read-only group: no configure" as "$UR" -c "configure terminal" -c "hostname byro"
check_match "read-only group: enable refused, saying why" '% Read-only access' "$(as "$UR" -c enable)"
check_match "... nothing changed" '^hostname byadmin' "$(sp_cli d1 -c 'show running-config')"
out=$(as "$UN" -c "show proxy-strategy"); rc=$?
check_match "neither group: refused at once" '% Access denied' "$out"
check_eq "... with a failing exit status" 2 "$rc"
# the refusal read where the client awaits a reply's header line (the
# daemon stopped until the client has sent its command): the whole line,
# however long, not a header's length of it
kill -STOP "$SP_DAEMON_PID"
as "$UN" -c "show proxy-strategy" >"$SP_TMP/refused" &
cli_pid=$!
sleep 0.3
kill -CONT "$SP_DAEMON_PID"
wait "$cli_pid"
check_match "... the whole line, naming both groups, when the command was sent first" \
	"^% Access denied: not in group $GA or $GR\$" "$(cat "$SP_TMP/refused")"
check_match "show users names the local users and their privilege" \
	"uid $(id -u "$UR") \(read-only\)" "$(as "$UR" -c "show users")"
check_match "the refusal is logged" 'unix-socket connection from local uid [0-9]+ refused: the user is in neither CLI group' \
	"$(cat "$SP_TMP/d1/log")"

# ---- SSH: sigproxy-cli as the forced command of the two groups ----
ssh-keygen -q -t ed25519 -N '' -f "$SP_TMP/hostkey" && ssh-keygen -q -t ed25519 -N '' -f "$SP_TMP/id" ||
	{ sp_fail "ssh-keygen"; sp_done; exit 1; }
mkdir -p "$SP_TMP/keys" /run/sshd
for u in "$UA" "$UR" "$UN"; do cp "$SP_TMP/id.pub" "$SP_TMP/keys/$u"; done
cat >"$SP_TMP/sshd_config" <<SSHDCONF
ListenAddress 127.0.0.1
Port 22
HostKey $SP_TMP/hostkey
PidFile $SP_TMP/sshd.pid
AuthorizedKeysFile $SP_TMP/keys/%u
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowGroups $GA $GR
Match Group $GA,$GR
	ForceCommand $CLI -s $SOCK
	AllowTcpForwarding no
	X11Forwarding no
	PermitTunnel no
SSHDCONF
ip netns exec "$NS" /usr/sbin/sshd -D -e -f "$SP_TMP/sshd_config" 2>>"$SP_TMP/sshd.log" &
SP_PIDS+=("$!")
sp_wait_for "sshd" 10 ip netns exec "$NS" nc -z 127.0.0.1 22 ||
	{ sp_fail "sshd starts"; cat "$SP_TMP/sshd.log"; sp_done; exit 1; }
SSH=(ssh -i "$SP_TMP/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=5)
viassh() { local u=$1; shift; ip netns exec "$NS" "${SSH[@]}" "$u@127.0.0.1" "$@"; }

check_match "ssh, admin group: one command (SSH_ORIGINAL_COMMAND)" '^hostname byadmin' \
	"$(viassh "$UA" show running-config 2>&1)"
printf 'configure terminal\nhostname byssh\n' | viassh "$UA" >"$SP_TMP/out" 2>&1
check_match "ssh, admin group: commands on stdin configure" '^hostname byssh' \
	"$(sp_cli d1 -c 'show running-config')"
check "ssh, read-only group: show commands" viassh "$UR" show proxy-strategy
out=$(printf 'configure terminal\nhostname byrossh\n' | viassh "$UR" 2>&1); rc=$?
check_eq "ssh, read-only group: configuring fails" 1 "$((rc != 0))"
check_match "... and changed nothing" '^hostname byssh' "$(sp_cli d1 -c 'show running-config')"
out=$(viassh "$UR" 'bash -c id' 2>&1)
check_no_match "ssh: no shell behind the forced command" 'uid=' "$out"
check_match "... the words are a CLI command, refused" '^%' "$out"
check_fails "ssh, neither group: refused by sshd (AllowGroups)" viassh "$UN" show proxy-strategy

# interactive over ssh with a terminal: the read-only prompt, enable refused
cat >"$SP_TMP/ssh.exp" <<SSHEXP
set timeout 10
spawn ip netns exec $NS ${SSH[*]} -tt $UR@127.0.0.1
expect {
	"byssh>" {}
	timeout { puts "EXPECT-FAIL: no user EXEC prompt"; exit 1 }
}
send "show proxy-strategy\r"
expect {
	-re "% (Invalid|Unknown)" { puts "EXPECT-FAIL: show refused"; exit 1 }
	"byssh>" {}
	timeout { puts "EXPECT-FAIL: no prompt after show"; exit 1 }
}
send "enable\r"
expect {
	"Read-only access" {}
	timeout { puts "EXPECT-FAIL: enable not refused"; exit 1 }
}
send "exit\r"
expect eof
SSHEXP
out=$(expect "$SP_TMP/ssh.exp" 2>&1); rc=$?
check_eq "ssh with a terminal, read-only group: user EXEC prompt, show commands, enable refused" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'

# ---- TCP logins through PAM ----
tcp_login() { # USER PASS COMMAND...: the session's output, CRs removed
	local u=$1 p=$2; shift 2
	{
		sleep 0.3; printf '%s\r\n' "$u"; sleep 0.3; printf '%s\r\n' "$p"; sleep 0.5
		for c in "$@"; do printf '%s\r\n' "$c"; sleep 0.3; done
		printf 'exit\r\n'; sleep 0.5
	} | timeout 15 ip netns exec "$NS" nc -q 2 127.0.0.1 2650 2>&1 | tr -d '\r'
}
out=$(tcp_login "$UA" admin-pass-1 "show running-config | include hostname")
check_match "PAM, admin group: logged in privileged" 'byssh#' "$out"
check_match "... runs admin commands" 'hostname byssh' "$out"
out=$(tcp_login "$UR" ro-pass-1 "enable")
check_match "PAM, read-only group: logged in to user EXEC" 'byssh>' "$out"
check_match "... enable refused" '% Read-only access' "$out"
out=$(tcp_login "$UN" none-pass-1)
check_no_match "PAM accepts a user in neither group: refused all the same" 'byssh[>#]' "$out"
out=$(tcp_login "$UA" wrong-pass)
check_no_match "PAM, wrong password: refused" 'byssh[>#]' "$out"
log=$(cat "$SP_TMP/d1/log")
check_match "the PAM login is logged with its privilege" "user \"$UA\" logged in from .*\(PAM, admin\)" "$log"
check_match "the refusal of a user in neither group is logged" \
	"failed login for user \"$UN\" from .*PAM accepted, but in neither group" "$log"
check_match "the wrong password is logged with PAM's reason" "failed login for user \"$UA\" from .*\(PAM: " "$log"

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "the daemon stops cleanly (sanitizer build: no report, no leak)" 0 "$rc"
check_no_match "... no sanitizer report in its log" 'ERROR: [A-Za-z]*Sanitizer|runtime error' \
	"$(cat "$SP_TMP/d1/log")"

sp_done
