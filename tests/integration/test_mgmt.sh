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
sp_require_tools expect nc python3

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
D=$SP_TMP/m1
PORT=2650
sp_daemon_start "$SP" m1 --cli-listen 0.0.0.0:$PORT || { sp_fail "daemon starts"; cat "$D/log"; sp_done; exit 1; }
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

sp_daemon_stop "$PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
sp_done
