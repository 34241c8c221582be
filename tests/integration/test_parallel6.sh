#!/bin/bash
# Parallel networking on IPv6 (issue 18 item 2): test_parallel.sh's router
# and SP in IPv6. r1's sigproxyd programs an IPv6 policy route (ip -6 rule
# from 2001:db8:1::/64 ipproto udp dport 5060, next hop the SP) so only the
# terminals' SIP reaches the SP; the SP proxies it to Kamailio on IPv6 and,
# with `return-path learn`, answers the terminals back through r1 although
# its routing table has no route to them: the previous hop's MAC on the
# terminal's frames, turned into r1's address through the IPv6 neighbour
# table (rtnetlink), an ip -6 rule and table of the return path.
#
#   te1 2001:db8:1::10-11 ---- r1 ----------------- srv 2001:db8:2::10 (D1)
#                              | 2001:db8:a::1/64
#                              | 2001:db8:a::2 (C6)
#                              sp   (routes only 2001:db8:2::/64, via r1)
#
# E6 = 2001:db8:5::1 exists nowhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

E6=2001:db8:5::1
C6=2001:db8:a::2
R1A=2001:db8:a::1
D6=2001:db8:2::10

# par6_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth between two namespaces, IPv6
par6_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
	lab6_addr "$1" "$2" "$3" && ip -n "$1" link set "$2" up &&
	lab6_addr "$4" "$5" "$6" && ip -n "$4" link set "$5" up
}

par6_up() {
	local ns
	for ns in te1 r1 sp srv; do sp_netns "$ns" >/dev/null || return 1; done
	TE1=$SP_TAG-te1 R1=$SP_TAG-r1 SP=$SP_TAG-sp SRV=$SP_TAG-srv
	mkdir -p "$LAB_OUT"
	for ns in "$TE1" "$R1" "$SP" "$SRV"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	par6_link "$TE1" eth0 2001:db8:1::10/64 "$R1" te 2001:db8:1::1/64 &&
	lab6_addr "$TE1" eth0 2001:db8:1::11/64 &&
	par6_link "$R1" srv 2001:db8:2::1/64 "$SRV" eth0 "$D6/64" &&
	par6_link "$R1" sp "$R1A/64" "$SP" r1 "$C6/64" || return 1
	ip -n "$TE1" -6 route add default via 2001:db8:1::1 dev eth0 &&
	ip -n "$SRV" -6 route add default via 2001:db8:2::1 dev eth0 &&
	ip -n "$SP" -6 route add 2001:db8:2::/64 via "$R1A" dev r1 || return 1
	for ns in "$R1" "$SP"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	done
}

par6_up || { sp_fail "namespaces and links"; sp_done; exit 1; }
sp_pass "namespaces and links"

# ---- the router: only a policy route ----
sp_daemon_start "$R1" r1 --cli-listen none --agentx /nonexistent ||
	{ sp_fail "sigproxyd starts on r1"; cat "$SP_TMP/r1/log"; sp_done; exit 1; }
R1_PID=$SP_DAEMON_PID
out=$(sp_cli r1 -c "configure terminal" -c "policy-route to-sp seq 10" -c "match source 2001:db8:1::/64" \
	-c "match protocol udp" -c "match destination-port 5060" -c "set next-hop $C6" -c "end" 2>&1)
check_eq "r1: the IPv6 policy route is accepted" "" "$out"
check_match "r1: show policy-route says installed" "^policy-route to-sp seq 10: installed" \
	"$(sp_cli r1 -c "show policy-route")"
check_match "r1: ip -6 rule" "^1010:.*from 2001:db8:1::/64 ipproto udp dport 5060 lookup 100010 proto 160" \
	"$(ip -n "$R1" -6 rule show)"
check_match "r1: ip -6 route show table 100010" "^default via $C6 dev sp proto 160" \
	"$(ip -n "$R1" -6 route show table 100010)"
check_eq "r1: no IPv4 rule for an IPv6 entry" "" "$(ip -n "$R1" -4 rule show | grep 'lookup 100010')"
check_match "r1: the kernel routes a terminal's SIP to the SP" "via $C6 dev sp" \
	"$(ip -n "$R1" -6 route get "$E6" from 2001:db8:1::10 iif te ipproto udp dport 5060 2>&1)"

# ---- the SP ----
sp_daemon_start "$SP" sp --cli-listen none --agentx /nonexistent ||
	{ sp_fail "sigproxyd starts on sp"; cat "$SP_TMP/sp/log"; sp_done; exit 1; }
SP_PID=$SP_DAEMON_PID
out=$(sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C6" \
	-c "return-path learn" \
	-c "proxy-strategy par6 seq 10" -c "match source 2001:db8:1::/64" \
	-c "match destination $E6/128 port 5060" -c "server $D6" -c "action proxy" -c "end" 2>&1)
check_eq "sp: the IPv6 strategy is accepted" "" "$out"
check_match "sp: no route to the terminals of its own" "unreachable|No route|Network is unreachable" \
	"$(ip -n "$SP" -6 route get 2001:db8:1::10 2>&1)"
lab6_start_kamailio "$SRV" "$D6" srv || { sp_fail "kamailio starts"; sp_done; exit 1; }

check "alice (te1 2001:db8:1::10, behind r1) registers at E6" lab_register "$TE1" 2001:db8:1::10 5060 alice "$E6"
check_match "D1 has alice at [C6]:c" "^alice sip:alice@\\[$C6\\]:[0-9]+ " "$(lab_kamailio_contacts srv)"
if lab_callee_start "$TE1" 2001:db8:1::11 5060 bob "$E6" 1 uas.xml; then
	lab_call "$TE1" 2001:db8:1::10 5062 bob "[$E6]" uac.xml -d 200
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "a call alice -> bob through r1 and the SP, on IPv6" "0 0" "$rc $?"
else
	sp_fail "bob (te1 2001:db8:1::11) registers"
fi
rules=$(ip -n "$SP" -6 rule show)
check_match "sp: an ip -6 return-path rule for the way through r1" \
	"^200:.*fwmark 0x2[0-9a-f]{7}/0x20ff0000 lookup 5061" "$rules"
routes=$(for t in $(printf '%s\n' "$rules" | sed -nE 's/^200:.*lookup ([0-9]+).*/\1/p'); do
	ip -n "$SP" -6 route show table "$t"; done)
check_match "sp: learned: default via r1 on r1's link (its address from the neighbour table)" \
	"^default via ($R1A|fe80::[0-9a-f:]+) dev r1" "$routes"

# ---- return-path default-gateway on IPv6: every IPv6 answer through r1 ----
out=$(sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "return-path default-gateway 2001:db8:9::9" 2>&1)
check_eq "sp: an IPv6 default gateway not on a connected network is refused" \
	"% return-path: next hop 2001:db8:9::9 is not on a connected network" "$out"
out=$(sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "return-path default-gateway $R1A" -c "end" 2>&1)
check_eq "sp: return-path default-gateway $R1A accepted" "" "$out"
check_match "sp: running-config has the IPv6 gateway" "^ return-path default-gateway $R1A\$" \
	"$(sp_cli sp -c 'show running-config')"
check_eq "sp: one ip -6 mark rule, to the default gateway's table" \
	"200:	from all fwmark 0x20000000/0x20ff0000 lookup 5061000 proto 160" \
	"$(ip -n "$SP" -6 rule show | grep '^200:')"
check_eq "sp: ... whose route is the IPv6 default gateway" "default via $R1A dev r1 proto 160 metric 1024 pref medium" \
	"$(ip -n "$SP" -6 route show table 5061000 | sed 's/ *$//')"
check_eq "sp: no IPv4 rule for the IPv6 gateway" "" "$(ip -n "$SP" -4 rule show | grep '^200:')"
check "alice registers, answered through the IPv6 default gateway" \
	lab_register "$TE1" 2001:db8:1::10 5060 alice "$E6"
check "sp: back to return-path learn" sp_cli sp -c "configure terminal" -c "signaling-proxy" -c "return-path learn"
check_eq "sp: the gateway's rule gone" "" "$(ip -n "$SP" -6 rule show | grep 'lookup 5061000 ')"
check "alice registers again (learned path)" lab_register "$TE1" 2001:db8:1::10 5060 alice "$E6"

lab_down
sp_daemon_stop "$SP_PID"
check_eq "sp: clean exit" 0 $?
sp_daemon_stop "$R1_PID"
check_eq "r1: clean exit" 0 $?
check_eq "r1: its IPv6 policy rule removed" "" "$(ip -n "$R1" -6 rule show | grep 'proto 160')"
check_eq "sp: its IPv6 rules removed" "" "$(ip -n "$SP" -6 rule show | grep 'proto 160')"
sp_done
