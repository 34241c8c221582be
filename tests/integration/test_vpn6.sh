#!/bin/bash
# Two VPNs with overlapping IPv6 prefixes (issue 18): test_vpn.sh in IPv6.
# Terminals in namespaces ta and tb both own 2001:db8:1::10 and reach the
# SP through two links, va (`vpn-id 10`) and vb (`vpn-id 20`), each with
# 2001:db8:1::1/64 on the SP side; both call E6 = 2001:db8:5::1.
# Strategies `match vpn-id 10` -> D1 and `match vpn-id 20` -> D2 (SIPp UAS
# with RTP echo, on IPv6). The VPN comes from the packet mark (nft raw
# prerouting, with the conntrack zone), answers leave with SP_MARK_RETURN |
# VPN and an ip -6 rule sends them to the VPN's own table (the main table's
# IPv6 routes through its interfaces). Checked: the ip -6 return rules and
# tables, both calls at once with their media entries in their zones
# (IPv6 conntrack), each terminal getting only its own answers and media.
#
#   ta 2001:db8:1::10 eth0 ---- va 2001:db8:1::1/64 (vpn-id 10)
#   tb 2001:db8:1::10 eth0 ---- vb 2001:db8:1::1/64 (vpn-id 20)
#                                  srv1 2001:db8:2::1/64 ---- 2001:db8:2::10 (D1)
#                                  srv2 2001:db8:3::1/64 ---- 2001:db8:3::10 (D2)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/vpnlab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=2001:db8:5::1
C=2001:db8:2::1
D1=2001:db8:2::10
D2=2001:db8:3::10
A=2001:db8:1::10
VPN_FAMILY=ipv6
mkdir -p "$LAB_OUT"

addr6() { ip -n "$1" -6 addr add "$3" dev "$2" nodad; }

vpn6_lab_up() {
	local ns a
	for ns in ta tb sp srv1 srv2; do sp_netns "$ns" >/dev/null || return 1; done
	TA=$SP_TAG-ta TB=$SP_TAG-tb SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
	ip link add eth0 netns "$TA" type veth peer name va netns "$SP" &&
	ip link add eth0 netns "$TB" type veth peer name vb netns "$SP" &&
	ip link add eth0 netns "$SRV1" type veth peer name srv1 netns "$SP" &&
	ip link add eth0 netns "$SRV2" type veth peer name srv2 netns "$SP" || return 1
	for ns in "$TA" "$TB" "$SP" "$SRV1" "$SRV2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	for ns in "$TA" "$TB"; do
		addr6 "$ns" eth0 "$A/64" && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" -6 route add default via 2001:db8:1::1 dev eth0 || return 1
	done
	# the same prefix and SP address on both VPN links: only the VPNs' own
	# tables tell the two 2001:db8:1::10 apart
	addr6 "$SP" va 2001:db8:1::1/64 && addr6 "$SP" vb 2001:db8:1::1/64 &&
	addr6 "$SP" srv1 "$C/64" && addr6 "$SP" srv2 2001:db8:3::1/64 || return 1
	for a in va vb srv1 srv2; do ip -n "$SP" link set "$a" up; done
	ip netns exec "$SP" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	addr6 "$SRV1" eth0 "$D1/64" && ip -n "$SRV1" link set eth0 up &&
	ip -n "$SRV1" -6 route add default via "$C" dev eth0 &&
	addr6 "$SRV2" eth0 "$D2/64" && ip -n "$SRV2" link set eth0 up &&
	ip -n "$SRV2" -6 route add default via 2001:db8:3::1 dev eth0
}

callids() { lab_tshark "$1" -Y sip -T fields -e sip.Call-ID | sort -u | sed '/^$/d'; }

vpn6_lab_up || { sp_fail "namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" \
	-c "interface va" -c "vpn-id 10" -c "signaling-proxy terminal-side" \
	-c "interface vb" -c "vpn-id 20" -c "signaling-proxy terminal-side" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media kernel" \
	-c "media-port-range 20000 20099" \
	-c "proxy-strategy vpn10 seq 10" -c "match vpn-id 10" -c "match destination $E/128 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy vpn20 seq 20" -c "match vpn-id 20" -c "match destination $E/128 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "two interfaces in two VPNs, an IPv6 strategy each: accepted" "" "$out"
check_match "both strategies installed" "vpn10 seq 10: installed.*vpn20 seq 20: installed" \
	"$(sp_cli sp1 -c 'show proxy-strategy' | grep 'seq' | tr '\n' ' ')"
rules=$(ip -n "$SP" -6 rule)
check_match "an IPv6 return rule per VPN" "fwmark 0x80000001/0x800000ff lookup 5062001" "$rules"
check_match "... and the second" "fwmark 0x80000002/0x800000ff lookup 5062002" "$rules"
check_match "VPN 10's IPv6 table routes through va" "2001:db8:1::/64 dev va" \
	"$(ip -n "$SP" -6 route show table 5062001)"
check_match "VPN 20's IPv6 table routes through vb" "2001:db8:1::/64 dev vb" \
	"$(ip -n "$SP" -6 route show table 5062002)"

# ---- the same terminal address and ports in both VPNs, at the same time ----
vpn_calls_start "ip6 and (udp port 5060 or udp portrange 20000-20099 or udp port 6000)" uas.xml 4000
check "IPv6 media entries in zone 10 and zone 20 during the calls" sp_wait_for "entries" 5 vpn_two_per_vpn
during=$(vpn_entries)
check_match "VPN 10's RTP goes to D1" "src=$A dst=$E sport=6000 .*zone-orig=10 .*src=$D1" "$during"
check_match "VPN 20's RTP goes to D2" "src=$A dst=$E sport=6000 .*zone-orig=20 .*src=$D2" "$during"
bindings=$(sp_cli sp1 -c 'show bindings')
check_match "show bindings: [$A]:5060 in VPN 10, to D1" "^[0-9]+ +10 +\\[$A\\]:5060 .*\\[$D1\\]:5060" "$bindings"
check_match "show bindings: [$A]:5060 in VPN 20, to D2" "^[0-9]+ +20 +\\[$A\\]:5060 .*\\[$D2\\]:5060" "$bindings"
vpn_calls_end 1

vpn_links_check callids
back_a=$(lab_pcap_count "$VA_PCAP" "udp.dstport == 6000 && ipv6.src == $E")
back_b=$(lab_pcap_count "$VB_PCAP" "udp.dstport == 6000 && ipv6.src == $E")
check "echoed RTP back to ta on va ($back_a packets)" test "$back_a" -ge 50
check "echoed RTP back to tb on vb ($back_b packets)" test "$back_b" -ge 50

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
check_eq "SIGTERM removed the IPv6 VPN rules" "" "$(ip -n "$SP" -6 rule | grep 'proto 160')"
check_eq "SIGTERM removed the IPv6 VPN tables" "" "$(ip -n "$SP" -6 route show table 5062001 2>/dev/null)"
sp_done
