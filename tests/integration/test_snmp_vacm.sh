#!/bin/bash
# The shipped example snmpd configuration (packaging/snmpd/snmpd.conf) with
# sigproxyd as its subagent: the v2c community reads but cannot write, the
# SNMPv3 user writes only with authPriv (authNoPriv and a wrong passphrase
# are refused), and addresses read as addresses (the MIB's display hint).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools snmpd snmpget snmpset snmpwalk

NS=$(sp_netns vacm) || { sp_fail "create namespace"; sp_done; exit 1; }
sp_snmp_env
export SNMP_PERSISTENT_DIR=$SP_TMP/persist # not /var/lib/snmp

# The shipped file, with only the socket and the address made local to the
# test: what is checked is its access control.
sed -e "s|^agentXSocket .*|agentXSocket $AX|" -e "s|^agentaddress .*|agentaddress udp:127.0.0.1:161|" \
	"$SP_TOP/packaging/snmpd/snmpd.conf" >"$SP_TMP/snmpd.conf"
ip netns exec "$NS" snmpd -f -C -c "$SP_TMP/snmpd.conf" -Lf "$SP_TMP/snmpd.log" -p "$SP_TMP/snmpd.pid" &
SP_PIDS+=("$!")
sp_wait_for "snmpd socket" 10 test -S "$AX" || { sp_fail "snmpd starts"; cat "$SP_TMP/snmpd.log"; sp_done; exit 1; }
sp_daemon_start "$NS" d1 --cli-listen none --agentx "$AX" ||
	{ sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }

AUTH="change-this-auth-passphrase" PRIV="change-this-priv-passphrase"
V2=(-v2c -c public -t 2 -r 1 127.0.0.1)
V3=(-v3 -l authPriv -u sigproxyAdmin -a SHA-256 -A "$AUTH" -x AES -X "$PRIV" -t 2 -r 1 127.0.0.1)
V3NOPRIV=(-v3 -l authNoPriv -u sigproxyAdmin -a SHA-256 -A "$AUTH" -t 2 -r 1 127.0.0.1)
V3BAD=(-v3 -l authPriv -u sigproxyAdmin -a SHA-256 -A "wrong-passphrase" -x AES -X "$PRIV" -t 2 -r 1 127.0.0.1)
snmp() { ip netns exec "$NS" "$@" 2>&1; }
answers() { snmp snmpget -Oqv "${V2[@]}" sigproxyHostname.0 | grep -qx sigproxy; }
limit() { sp_cli d1 -c "show running-config" | grep -E '^ *session-limit' | awk '{print $2}'; }

sp_wait_for "subagent registered" 10 answers ||
	{ sp_fail "subagent answers"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
sp_pass "the v2c community reads sigproxy through the shipped snmpd.conf"
check_match "the v2c community sees the system group" 'sysDescr.0 = STRING' \
	"$(snmp snmpget "${V2[@]}" SNMPv2-MIB::sysDescr.0)"
check_match "the v2c community sees nothing outside the view (no IF-MIB)" 'No Such Object' \
	"$(snmp snmpget "${V2[@]}" .1.3.6.1.2.1.2.1.0)"

out=$(snmp snmpset "${V2[@]}" sigproxySessionLimit.0 u 9); rc=$?
check_match "a v2c SET is refused (noAccess)" 'noAccess|authorizationError|notWritable' "$out"
check_eq "the refused v2c SET exits non-zero" 1 "$((rc != 0))"
check_no_match "the refused v2c SET changed nothing" '^9$' "$(limit)"

out=$(snmp snmpset "${V3NOPRIV[@]}" sigproxySessionLimit.0 u 10)
check_match "a v3 SET without privacy (authNoPriv) is refused" 'noAccess|authorizationError|unknown security level' "$out"
out=$(snmp snmpset "${V3BAD[@]}" sigproxySessionLimit.0 u 11)
check_match "a v3 SET with a wrong passphrase is refused" 'Authentication failure|authentication|Timeout' "$out"
check_no_match "neither refused v3 SET changed anything" '^1[01]$' "$(limit)"

check "a v3 authPriv SET is accepted" snmp snmpset "${V3[@]}" sigproxySessionLimit.0 u 5000
check_eq "the accepted SET is in the running-config" 5000 "$(limit)"

# ---- display hint: an address reads as an address, not hex ----
check "a v3 authPriv SET of an address pair" snmp snmpset "${V3[@]}" \
	sigproxyServerSideAddrType.0 i 1 sigproxyServerSideAddr.0 x C0000201
out=$(snmp snmpwalk "${V2[@]}" sigproxyConfig)
check_match "snmpwalk shows the address dotted (display hint)" \
	'sigproxyServerSideAddr\.0 = STRING: 192\.0\.2\.1$' "$out"
check_no_match "no address reads as hex" 'Addr[^ ]* = Hex-STRING' "$out"
check "an address is SET in its displayed form (snmpset type d)" snmp snmpset "${V3[@]}" \
	sigproxyServerSideAddrType.0 i 1 sigproxyServerSideAddr.0 d 192.0.2.7
check_match "the running-config has it" 'server-side-address 192\.0\.2\.7' \
	"$(sp_cli d1 -c "show running-config")"

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "the daemon stops cleanly (sanitizer build: no report, no leak)" 0 "$rc"
check_no_match "... no sanitizer report in its log" 'ERROR: [A-Za-z]*Sanitizer|runtime error' \
	"$(cat "$SP_TMP/d1/log")"

sp_done
