#!/bin/bash
# Two VPNs with identical terminal addresses (issue 10, SPEC §2.2): terminals
# in namespaces ta and tb both own 10.1.0.10 and reach the SP through two
# different links, va (`vpn-id 10`) and vb (`vpn-id 20`); both call the same
# E. Strategies `match vpn-id 10` -> D1 and `match vpn-id 20` -> D2 (SIPp
# UAS with RTP echo). The daemon reads the VPN from the packet mark
# (SO_RCVMARK; nft raw prerouting sets it with the conntrack zone), keys
# bindings and sessions by it, answers with SP_MARK_RETURN | VPN so the VPN's
# own table routes them back, and programs the media entries in the VPN's
# conntrack zone with the VPN in their mark. Checked: each terminal gets only
# its own answers and media (captures on both links), each server only its
# own VPN's call, bindings/sessions show the VPN, zones on the entries.
#
#   ta 10.1.0.10 eth0 ---- va 10.1.0.1/24 (vpn-id 10)
#   tb 10.1.0.10 eth0 ---- vb 10.1.0.1/24 (vpn-id 20)     sp    srv1/srv2 as in lab.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/vpnlab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2
A=10.1.0.10
VPN_FAMILY=ipv4
mkdir -p "$LAB_OUT"

# ---- the namespaces ----
vpn_lab_up() {
	local ns a
	for ns in ta tb sp srv1 srv2; do sp_netns "$ns" >/dev/null || return 1; done
	TA=$SP_TAG-ta TB=$SP_TAG-tb SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
	ip link add eth0 netns "$TA" type veth peer name va netns "$SP" &&
	ip link add eth0 netns "$TB" type veth peer name vb netns "$SP" &&
	ip link add eth0 netns "$SRV1" type veth peer name srv1 netns "$SP" &&
	ip link add eth0 netns "$SRV2" type veth peer name srv2 netns "$SP" || return 1
	for ns in "$TA" "$TB"; do
		ip -n "$ns" addr add "$A/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via 10.1.0.1 || return 1
	done
	# the same subnet and SP address on both VPN links: only the VPNs'
	# own tables tell the two 10.1.0.10 apart
	ip -n "$SP" addr add 10.1.0.1/24 dev va &&
	ip -n "$SP" addr add 10.1.0.1/24 dev vb &&
	ip -n "$SP" addr add 192.0.2.1/28 dev srv1 &&
	ip -n "$SP" addr add 192.0.2.17/28 dev srv2 || return 1
	for a in va vb srv1 srv2; do ip -n "$SP" link set "$a" up; done
	ip netns exec "$SP" sysctl -qw net.ipv4.ip_forward=1 || return 1
	for a in all default va vb srv1 srv2; do
		ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$a.rp_filter=0" || return 1
	done
	ip -n "$SRV1" addr add "$D1/28" dev eth0 && ip -n "$SRV1" link set eth0 up &&
	ip -n "$SRV1" route add default via 192.0.2.1 &&
	ip -n "$SRV2" addr add "$D2/28" dev eth0 && ip -n "$SRV2" link set eth0 up &&
	ip -n "$SRV2" route add default via 192.0.2.17
}

# callids FILE: the distinct Call-IDs of the SIP in a capture
callids() { lab_pcap_sip "$1" | awk -F '\t' '$11 != "" { print $11 }' | sort -u; }

vpn_lab_up || { sp_fail "namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" \
	-c "interface va" -c "vpn-id 10" -c "signaling-proxy terminal-side" \
	-c "interface vb" -c "vpn-id 20" -c "signaling-proxy terminal-side" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media kernel" \
	-c "media-port-range 20000 20099" \
	-c "proxy-strategy vpn10 seq 10" -c "match vpn-id 10" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy vpn20 seq 20" -c "match vpn-id 20" -c "match destination $E/32 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "two interfaces in two VPNs, a strategy each: accepted" "" "$out"
ruleset=$(ip netns exec "$SP" nft list table inet sigproxy)
check_match "nft: va's packets in zone 10" 'iifname "va" .*ct zone set 10' "$ruleset"
# Two more strategies of the same shape (other destinations): the four are
# one mark map per VPN slot (sp_nft's grouping), and the calls below still
# reach each VPN's server, their bindings in their own VPN (the slot kept).
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "proxy-strategy f10 seq 11" -c "match vpn-id 10" -c "match destination 203.0.113.1/32 port 5060" \
	-c "server $D2" -c "action proxy" \
	-c "proxy-strategy f20 seq 21" -c "match vpn-id 20" -c "match destination 203.0.113.2/32 port 5060" \
	-c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "two filler strategies: accepted" "" "$out"
check_match "nft: the four strategies in a mark map per VPN slot" \
	'meta mark & 0x8000ffff == 0x00000002 meta mark set iifname . ip daddr . udp dport map @g[0-9]+_2' \
	"$(ip netns exec "$SP" nft list table inet sigproxy)"
check_match "nft: vb's packets in zone 20" 'iifname "vb" .*ct zone set 20' "$ruleset"
rules=$(ip -n "$SP" rule)
check_match "a return rule per VPN" "fwmark 0x80000001/0x800000ff lookup 5062001" "$rules"
check_match "... and the second" "fwmark 0x80000002/0x800000ff lookup 5062002" "$rules"
check_match "VPN 10's table routes through va" "10\\.1\\.0\\.0/24 dev va" "$(ip -n "$SP" route show table 5062001)"
check_match "VPN 20's table routes through vb" "10\\.1\\.0\\.0/24 dev vb" "$(ip -n "$SP" route show table 5062002)"

# ---- the same terminal address and ports in both VPNs, at the same time ----
vpn_calls_start "udp port 5060 or udp portrange 20000-20099 or udp port 6000" rtp_uas.xml 5000
check "media entries in zone 10 and zone 20 during the calls" sp_wait_for "entries" 5 vpn_two_per_vpn
during=$(vpn_entries)
echo "$during" | sed 's/^/#   /'
check_match "VPN 10's RTP goes to D1" "src=10\\.1\\.0\\.10 dst=${E//./\\.} sport=6000 .*zone-orig=10 .*src=${D1//./\\.}" "$during"
check_match "VPN 20's RTP goes to D2" "src=10\\.1\\.0\\.10 dst=${E//./\\.} sport=6000 .*zone-orig=20 .*src=${D2//./\\.}" "$during"
bindings=$(sp_cli sp1 -c 'show bindings')
sessions=$(sp_cli sp1 -c 'show sessions')
echo "$bindings" | sed 's/^/#   /'
check_match "show bindings: 10.1.0.10:5060 in VPN 10, to D1" "^[0-9]+ +10 +10\\.1\\.0\\.10:5060 .*${D1//./\\.}:5060" "$bindings"
check_match "show bindings: 10.1.0.10:5060 in VPN 20, to D2" "^[0-9]+ +20 +10\\.1\\.0\\.10:5060 .*${D2//./\\.}:5060" "$bindings"
check_match "show sessions: the call in VPN 10" "^[0-9]+ +10 +[a-z]+ +10\\.1\\.0\\.10:5060 .*${D1//./\\.}" "$sessions"
check_match "show sessions: the call in VPN 20" "^[0-9]+ +20 +[a-z]+ +10\\.1\\.0\\.10:5060 .*${D2//./\\.}" "$sessions"
vpns=$(sp_cli sp1 -c 'show vpn')
echo "$vpns" | sed 's/^/#   /'
# VPN slot zone table routes bindings sessions interfaces
check_match "show vpn: VPN 10 in zone 10, its table and routes, one binding and one call, on va" \
	"^10 +1 +10 +5062001 +[1-9][0-9]* +1 +1 +va$" "$vpns"
check_match "show vpn: VPN 20 in zone 20, its table and routes, one binding and one call, on vb" \
	"^20 +2 +20 +5062002 +[1-9][0-9]* +1 +1 +vb$" "$vpns"
vpn_calls_end 2

# each link carries its own call only: disjoint Call-IDs, media back from
# its own E:pe
vpn_links_check callids
check_eq "va: every answer to 10.1.0.10 came back on va (INVITE 200 + BYE 200)" 2 \
	"$(lab_pcap_message_count "$VA_PCAP" 200)"
check_eq "vb: every answer to 10.1.0.10 came back on vb (INVITE 200 + BYE 200)" 2 \
	"$(lab_pcap_message_count "$VB_PCAP" 200)"
pe_a=$(lab_tshark "$VA_PCAP" -Y "udp.dstport == 6000 && ip.src == $E" -T fields -e udp.srcport | sort -u)
pe_b=$(lab_tshark "$VB_PCAP" -Y "udp.dstport == 6000 && ip.src == $E" -T fields -e udp.srcport | sort -u)
back_a=$(lab_pcap_count "$VA_PCAP" "udp.dstport == 6000 && ip.src == $E")
back_b=$(lab_pcap_count "$VB_PCAP" "udp.dstport == 6000 && ip.src == $E")
check "echoed RTP back to ta on va ($back_a packets)" test "$back_a" -ge 100
check "echoed RTP back to tb on vb ($back_b packets)" test "$back_b" -ge 100
check "each link's media from its own E:pe (va: $(echo $pe_a), vb: $(echo $pe_b))" \
	test -n "$pe_a" -a -n "$pe_b" -a -z "$(comm -12 <(echo "$pe_a") <(echo "$pe_b"))"

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
check_eq "SIGTERM removed the VPN rules" "" "$(ip -n "$SP" rule | grep 'proto 160')"
check_eq "SIGTERM removed the VPN tables" "" "$(ip -n "$SP" route show table 5062001 2>/dev/null)"
sp_done
