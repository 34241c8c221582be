#!/bin/bash
# VLAN ID and MPLS label classification of IPv6 packets (issue 18 item 2):
# test_classify_fields.sh in IPv6. sigproxyd's BPF tagger on te0 pops a
# configured VLAN's tag (tc) or MPLS label (XDP) into the mark and pushes it
# back on what leaves; the terminals' links get the same programs in peer
# mode (sp-tagpeer), so SIPp sends really tagged IPv6 frames through a plain
# bridge (ns sw) to te0. Neighbours are static on both sides (as in the IPv4
# test: the kernel's own neighbour discovery does not go through the tagger
# the same way).
#
#   ta  2001:db8:1::10 (VLAN 100)    --\
#   tb  2001:db8:1::11 (VLAN 200)    ---\
#   tm1 2001:db8:1::20 (label 1001)  ---- sw (bridge) -- te0 2001:db8:1::1/64  sp
#   tm2 2001:db8:1::21 (label 1002)  --/     srv1 2001:db8:2::1 (C6) -- D1 2001:db8:2::10
#                                            srv2 2001:db8:3::1      -- D2 2001:db8:3::10
#
# 1. `match vlan 100` -> D1, `match vlan 200` -> D2 through the same E6:
#    calls with RTP echo, each on its server; on the wire every frame of
#    ta's call (answers and media included) carries VLAN 100, tb's 200.
# 2. `match mpls-label 1001` -> D1, `match mpls-label 1002` -> D2:
#    REGISTERs from tm1 and tm2 land on their registrar, labelled both ways.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark nft tc kamailio kamcmd
PEER=$SP_BUILD/sp-tagpeer
[ -x "$PEER" ] || { sp_fail "needs $PEER (make)"; sp_done; exit 1; }
[ -r /usr/share/sip-tester/g711a.pcap ] || { sp_fail "needs g711a.pcap (package sip-tester)"; sp_done; exit 1; }

E6=2001:db8:5::1
C6=2001:db8:2::1
D1=2001:db8:2::10
D2=2001:db8:3::10
TA=2001:db8:1::10 TB=2001:db8:1::11 TM1=2001:db8:1::20 TM2=2001:db8:1::21
SC=$LAB_SIPP_DIR
mkdir -p "$LAB_OUT"

mac() { ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'; }
addr6() { ip -n "$1" -6 addr add "$3" dev "$2" nodad; }

fields6_lab_up() {
	local ns a t
	for ns in ta tb tm1 tm2 sw sp srv1 srv2; do sp_netns "$ns" >/dev/null || return 1; done
	NTA=$SP_TAG-ta NTB=$SP_TAG-tb SW=$SP_TAG-sw SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
	NTM1=$SP_TAG-tm1 NTM2=$SP_TAG-tm2
	for ns in "$NTA" "$NTB" "$NTM1" "$NTM2" "$SW" "$SP" "$SRV1" "$SRV2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	ip link add eth0 netns "$NTA" type veth peer name pa netns "$SW" &&
	ip link add eth0 netns "$NTB" type veth peer name pb netns "$SW" &&
	ip link add eth0 netns "$NTM1" type veth peer name pm1 netns "$SW" &&
	ip link add eth0 netns "$NTM2" type veth peer name pm2 netns "$SW" &&
	ip link add te0 netns "$SP" type veth peer name psp netns "$SW" &&
	ip link add eth0 netns "$SRV1" type veth peer name srv1 netns "$SP" &&
	ip link add eth0 netns "$SRV2" type veth peer name srv2 netns "$SP" || return 1
	lab_bridges "$SW" br0 &&
	for a in pa pb pm1 pm2 psp; do ip -n "$SW" link set "$a" master br0 up || return 1; done
	for t in "$NTA:$TA" "$NTB:$TB" "$NTM1:$TM1" "$NTM2:$TM2"; do
		addr6 "${t%%:*}" eth0 "${t#*:}/64" && ip -n "${t%%:*}" link set eth0 up || return 1
	done
	addr6 "$SP" te0 2001:db8:1::1/64 && addr6 "$SP" srv1 "$C6/64" &&
	addr6 "$SP" srv2 2001:db8:3::1/64 || return 1
	for a in te0 srv1 srv2; do ip -n "$SP" link set "$a" up; done
	ip netns exec "$SP" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	# tagged frames both ways: static neighbours (KERNEL.md)
	for t in "$NTA:$TA" "$NTB:$TB" "$NTM1:$TM1" "$NTM2:$TM2"; do
		ip -n "${t%%:*}" -6 neigh add 2001:db8:1::1 lladdr "$(mac "$SP" te0)" dev eth0 nud permanent &&
		ip -n "$SP" -6 neigh add "${t#*:}" lladdr "$(mac "${t%%:*}" eth0)" dev te0 nud permanent &&
		ip -n "${t%%:*}" -6 route add default via 2001:db8:1::1 dev eth0 || return 1
	done
	addr6 "$SRV1" eth0 "$D1/64" && ip -n "$SRV1" link set eth0 up &&
	ip -n "$SRV1" -6 route add default via "$C6" dev eth0 &&
	addr6 "$SRV2" eth0 "$D2/64" && ip -n "$SRV2" link set eth0 up &&
	ip -n "$SRV2" -6 route add default via 2001:db8:3::1 dev eth0 || return 1
	# the terminals' frames leave tagged
	ip netns exec "$NTA" "$PEER" eth0 vlan 100 && ip netns exec "$NTB" "$PEER" eth0 vlan 200 &&
	ip netns exec "$NTM1" "$PEER" eth0 mpls 1001 && ip netns exec "$NTM2" "$PEER" eth0 mpls 1002
}

# wire FILTER: frames on the SP's side of the bridge matching a tshark filter
wire() { lab_pcap_count "$WIRE" "$1"; }
strategy_state() { sp_cli sp1 -c 'show proxy-strategy' | grep -A8 "proxy-strategy $1 " | grep -m1 -i 'installed'; }

fields6_lab_up || { sp_fail "namespaces, bridge and tagged peers"; sp_done; exit 1; }
sp_pass "namespaces, bridge and tagged IPv6 peers (sp-tagpeer)"
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "interface te0" -c "signaling-proxy terminal-side" \
	-c "signaling-proxy" -c "server-side-address $C6" -c "media kernel" \
	-c "media-port-range 20000 20099" \
	-c "proxy-strategy v100 seq 10" -c "match vlan 100" -c "match destination $E6/128 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy v200 seq 20" -c "match vlan 200" -c "match destination $E6/128 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "IPv6 strategies with match vlan 100 and 200: accepted" "" "$out"
check_match "show proxy-strategy: v100 installed via tc-BPF" "installed \\(VLAN 100 tag popped by tc-BPF\\)" "$(strategy_state v100)"
check_match "nft: the IPv6 rule matches the tag slot in the mark" \
	"meta mark & 0x0000ff00 == 0x00000(1|2)00 .*ip6 daddr $E6" "$(ip netns exec "$SP" nft list table inet sigproxy)"

# ---- 1. two VLANs, two servers, one E6, calls with RTP ----
WIRE=$LAB_OUT/wire6.pcap
lab_capture_start "$SW" psp "$WIRE" "ip6 or (vlan and ip6)"
lab_sipp_bg "$SRV1" uas-d1 -sf "$SC/rtp_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m 1
UAS1=$LAB_SIPP_PID
lab_sipp_bg "$SRV2" uas-d2 -sf "$SC/rtp_uas.xml" -i "$D2" -p 5060 -mp 6000 -rtp_echo -m 1
UAS2=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
sp_wait_for "UAS on D2" 10 lab_bound "$SRV2" "$D2" 5060
lab_sipp_bg "$NTA" caller-a -sf "$SC/rtp_uac.xml" -i "$TA" -p 5060 -mp 6000 -s bob -m 1 -d 4000 "[$E6]:5060"
UACA=$LAB_SIPP_PID
lab_sipp_bg "$NTB" caller-b -sf "$SC/rtp_uac.xml" -i "$TB" -p 5060 -mp 6000 -s bob -m 1 -d 4000 "[$E6]:5060"
UACB=$LAB_SIPP_PID
sleep 2
bindings=$(sp_cli sp1 -c 'show bindings')
check_match "show bindings: ta (VLAN 100) to D1" "\\[$TA\\]:5060 .*\\[$D1\\]:5060" "$bindings"
check_match "show bindings: tb (VLAN 200) to D2" "\\[$TB\\]:5060 .*\\[$D2\\]:5060" "$bindings"
lab_sipp_wait "$UACA"; rca=$?
lab_sipp_wait "$UACB"; rcb=$?
lab_sipp_wait "$UAS1"; rc1=$?
lab_sipp_wait "$UAS2"; rc2=$?
check_eq "both IPv6 calls, each on its own server, end well" "0 0 0 0" "$rca $rcb $rc1 $rc2"
[ "$rca" = 0 ] || lab_sipp_log caller-a | sed 's/^/#   /'
[ "$rcb" = 0 ] || lab_sipp_log caller-b | sed 's/^/#   /'
sleep 2 # dumpcap hands over the last packets when its buffer times out
lab_capture_stop
n=$(wire "sip && ipv6.src == $TA && vlan.id == 100")
check "ta's SIP arrives tagged 100 ($n)" test "$n" -ge 3
n=$(wire "sip && ipv6.dst == $TA && vlan.id == 100")
check "answers to ta leave tagged 100 ($n)" test "$n" -ge 2
check_eq "no answer to ta untagged or in another VLAN" 0 "$(wire "sip && ipv6.dst == $TA && !(vlan.id == 100)")"
n=$(wire "sip && ipv6.dst == $TB && vlan.id == 200")
check "answers to tb leave tagged 200 ($n)" test "$n" -ge 2
check_eq "no answer to tb untagged or in another VLAN" 0 "$(wire "sip && ipv6.dst == $TB && !(vlan.id == 200)")"
n=$(wire "ipv6.dst == $TA && udp.dstport == 6000 && vlan.id == 100")
check "echoed RTP back to ta tagged 100 ($n)" test "$n" -ge 100
n=$(wire "ipv6.dst == $TB && udp.dstport == 6000 && vlan.id == 200")
check "echoed RTP back to tb tagged 200 ($n)" test "$n" -ge 100
check_eq "no RTP to a terminal untagged or in another VLAN" 0 \
	"$(wire "udp.dstport == 6000 && ((ipv6.dst == $TA && !(vlan.id == 100)) || (ipv6.dst == $TB && !(vlan.id == 200)))")"

# ---- 2. MPLS labels 1001 and 1002 ----
lab_start_kamailio "$SRV1" "[$D1]" kam1 --alias="[$E6]" || sp_fail "kamailio on D1"
lab_start_kamailio "$SRV2" "[$D2]" kam2 --alias="[$E6]" || sp_fail "kamailio on D2"
out=$(sp_cli sp1 -c "configure terminal" \
	-c "proxy-strategy m1001 seq 30" -c "match mpls-label 1001" -c "match destination $E6/128 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy m1002 seq 40" -c "match mpls-label 1002" -c "match destination $E6/128 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "IPv6 strategies with match mpls-label 1001 and 1002: accepted" "" "$out"
check_match "show proxy-strategy: m1001 installed via XDP" "installed \\(MPLS label 1001 popped by XDP\\)" "$(strategy_state m1001)"
WIRE=$LAB_OUT/wire6-mpls.pcap
lab_capture_start "$SW" psp "$WIRE" "ip6 or mpls"
check "tm1 (label 1001) registers over IPv6" lab_register "$NTM1" "$TM1" 5060 m1 "$E6"
check "tm2 (label 1002) registers over IPv6" lab_register "$NTM2" "$TM2" 5060 m2 "$E6"
sleep 2
lab_capture_stop
k1=$(lab_kamailio_contacts kam1); k2=$(lab_kamailio_contacts kam2)
check_match "label 1001 -> D1" "^m1 " "$k1"
check_no_match "... not on D2" "^m1 " "$k2"
check_match "label 1002 -> D2" "^m2 " "$k2"
check_no_match "... not on D1" "^m2 " "$k1"
n=$(wire "sip && ipv6.src == $TM1 && mpls.label == 1001")
check "tm1's REGISTER arrives labelled 1001 ($n)" test "$n" -ge 1
n=$(wire "sip && ipv6.dst == $TM1 && mpls.label == 1001")
check "the answer to tm1 leaves labelled 1001 ($n)" test "$n" -ge 1
n=$(wire "sip && ipv6.dst == $TM2 && mpls.label == 1002")
check "the answer to tm2 leaves labelled 1002 ($n)" test "$n" -ge 1
check_eq "no answer to tm1/tm2 unlabelled or with the other label" 0 \
	"$(wire "sip && ((ipv6.dst == $TM1 && !(mpls.label == 1001)) || (ipv6.dst == $TM2 && !(mpls.label == 1002)))")"

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
sp_done
