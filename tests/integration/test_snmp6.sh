#!/bin/bash
# IPv6 addresses in SIGPROXY-MIB read as addresses (issue 18 item 1): the
# dual-stack lab (lab6.sh), sigproxyd as an AgentX subagent of an snmpd in
# ns sp, an IPv6 strategy and an IPv4 one, alice registered over IPv6 and a
# call in progress. snmpwalk shows every IPv6 address of a binding, a
# session, a strategy and a media proxy as text in the pair's read-only `...6' companion
# (SigproxyInet6Address, `2001:db8:1:0:0:0:0:10', equal to 2001:db8:1::10),
# the pair itself keeps its type ipv6(2) and 16 octets, and an IPv4 pair
# reads dotted with an all-zeros companion.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools snmpd snmpwalk sipp kamailio kamcmd python3 nft

E6=$LAB6_E
C6=$LAB6_C
D6=$LAB6_D1
A6=${LAB6_TE_NET}10 # alice
B6=${LAB6_TE_NET}11 # bob

sp_snmp_env

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }
sp_snmpd_start "$SP" || { sp_fail "snmpd starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 --agentx "$AX" || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
walk() { ip netns exec "$SP" snmpwalk -v2c -c public -t 2 -r 1 127.0.0.1 "$@" 2>&1; }
answers() { walk sigproxyHostname | grep -q 'STRING: sigproxy'; }
sp_wait_for "subagent registered" 10 answers || { sp_fail "subagent answers"; sp_done; exit 1; }

# v6 TEXT: TEXT as an IPv6 address in its shortest form (what snmpwalk
# shows, `2001:db8:1:0:0:0:0:10', compared with what the CLI takes)
v6() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$1" 2>&1; }
# value WALK OBJECT: the value of the first instance of OBJECT in WALK
value() { printf '%s\n' "$1" | sed -nE "s/^SIGPROXY-MIB::$2\\.[^ ]* = [A-Za-z0-9-]+: (.*)\$/\\1/p" | head -1; }

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "server-side-address $C6" \
	-c "proxy-strategy six seq 10" -c "match source ${LAB6_TE_NET}/64" \
	-c "match destination $E6/128 port 5060" -c "server $D6" -c "action proxy" \
	-c "proxy-strategy four seq 20" -c "match destination $LAB_E/32 port 5060" \
	-c "server $LAB_D1" -c "action proxy" -c "end" 2>&1)
check_eq "an IPv6 and an IPv4 strategy accepted" "" "$out"
lab6_start_kamailio "$SRV1" "$D6" srv1 || { sp_fail "kamailio on IPv6 starts"; sp_done; exit 1; }

# ---- the strategy table ----
w=$(walk sigproxyStrategyTable)
check_eq "strategy six: the destination pair's type is ipv6(2)" "ipv6(2)" "$(value "$w" 'sigproxyStrategyDstAddrType')"
check_eq "strategy six: sigproxyStrategyDstAddr6 reads as E6" "$E6" "$(v6 "$(value "$w" sigproxyStrategyDstAddr6)")"
check_match "... as text in snmpwalk" "sigproxyStrategyDstAddr6\\.\"six\"\\.10 = STRING: 2001:db8:5:0:0:0:0:1\$" "$w"
check_eq "strategy six: sigproxyStrategyServerAddr6 reads as D1" "$D6" "$(v6 "$(value "$w" sigproxyStrategyServerAddr6)")"
check_eq "strategy six: sigproxyStrategySrcAddr6 reads as the terminals' prefix" "2001:db8:1::" \
	"$(v6 "$(value "$w" sigproxyStrategySrcAddr6)")"
check_match "strategy four: its IPv4 server dotted in the pair" \
	"sigproxyStrategyServerAddr\\.\"four\"\\.20 = STRING: ${LAB_D1//./\\.}\$" "$w"
check_match "... and its IPv6 view all zeros" "sigproxyStrategyServerAddr6\\.\"four\"\\.20 = STRING: 0:0:0:0:0:0:0:0\$" "$w"

# ---- the binding table ----
check "alice ($A6) registers at E6" lab_register "$TE" "$A6" 5060 alice "$E6"
w=$(walk sigproxyBindingTable)
check_eq "binding: the terminal pair's type is ipv6(2)" "ipv6(2)" "$(value "$w" sigproxyBindingTermAddrType)"
check_eq "binding: sigproxyBindingTermAddr6 reads as alice's address" "$A6" "$(v6 "$(value "$w" sigproxyBindingTermAddr6)")"
check_eq "binding: sigproxyBindingProxyAddr6 reads as C6" "$C6" "$(v6 "$(value "$w" sigproxyBindingProxyAddr6)")"
check_eq "binding: sigproxyBindingServerAddr6 reads as D1" "$D6" "$(v6 "$(value "$w" sigproxyBindingServerAddr6)")"
check_match "binding: the pair itself holds the 16 octets" \
	"sigproxyBindingTermAddr\\.[0-9]+ = STRING: 32\\.1\\.13\\.184\\.0\\.1\\.0\\.0\\.0\\.0\\.0\\.0\\.0\\.0\\.0\\.16\$" "$w"

# ---- the session table, during a call ----
if lab_callee_start "$TE" "$B6" 5060 bob "$E6" 1 uas.xml; then
	lab_sipp_bg "$TE" caller-alice -sf "$LAB_SIPP_DIR/uac.xml" -i "$A6" -p 5060 -s bob -m 1 -d 3000 "[$E6]:5060"
	CALLER=$LAB_SIPP_PID
	has_session() { walk sigproxySessionTermAddr6 | grep -q 'STRING: 2001'; }
	sp_wait_for "a session row" 5 has_session
	w=$(walk sigproxySessionTable)
	check_eq "session: sigproxySessionVirtAddr6 reads as E6" "$E6" "$(v6 "$(value "$w" sigproxySessionVirtAddr6)")"
	check_match "session: sigproxySessionTermAddr6 reads as a terminal" "^2001:db8:1::1[01]\$" \
		"$(v6 "$(value "$w" sigproxySessionTermAddr6)")"
	check_eq "session: sigproxySessionProxyAddr6 reads as C6" "$C6" "$(v6 "$(value "$w" sigproxySessionProxyAddr6)")"
	check_eq "session: sigproxySessionServerAddr6 reads as D1" "$D6" "$(v6 "$(value "$w" sigproxySessionServerAddr6)")"
	lab_sipp_wait "$CALLER"; rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "the call ends well (caller, callee)" "0 0" "$rc $?"
else
	sp_fail "bob registers and waits"
fi

# ---- scalars: the IPv6 local virtual address and return gateway ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "local-virtual-address $E6" -c "end" 2>&1)
check_eq "local-virtual-address $E6" "" "$out"
check_eq "sigproxyLocalVirtualAddr6 reads as E6" "$E6" \
	"$(v6 "$(value "$(walk sigproxyLocalVirtualAddr6)" sigproxyLocalVirtualAddr6)")"
check_match "sigproxyReturnGateway6 all zeros without a gateway" "= STRING: 0:0:0:0:0:0:0:0\$" \
	"$(walk sigproxyReturnGateway6)"

# ---- the media-proxy table: an rtpengine controlled over IPv6 ----
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp6" -c "control $D6 port 2223" -c "end" 2>&1)
check_eq "media-proxy mp6 with an IPv6 control address" "" "$out"
check_eq "sigproxyMediaProxyControl6 reads as its address" "$D6" \
	"$(v6 "$(value "$(walk sigproxyMediaProxyControl6)" sigproxyMediaProxyControl6)")"

lab_down
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "sigproxyd exits cleanly on SIGTERM" 0 $?
sp_done
