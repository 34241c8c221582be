#!/bin/bash
# VLAN ID and MPLS label by BPF, and a field combination (issue 10, SPEC
# §2.2), on a kernel without 802.1Q or MPLS. sigproxyd attaches its tagger
# (policy-routing/bpf) on the terminal-side link te0: ingress pops a
# configured VLAN's tag (tc) or MPLS label (XDP) into the mark's tag slot,
# egress pushes it back from the answer's mark. The terminals have neither:
# sp-tagpeer gives their links the same programs in peer mode, so SIPp sends
# really tagged frames (VLAN 100 from ta, 200 from tb, labels 1001 from tm1,
# 1002 from tm2) through a plain bridge (ns sw) to te0.
#
#   ta  10.1.0.10 (VLAN 100)    --\
#   tb  10.1.0.11 (VLAN 200)    ---\
#   tm1 10.1.0.20 (label 1001)  ---- sw (bridge) -- te0 10.1.0.1/24  sp  srv1/srv2 as in lab.sh
#   tm2 10.1.0.21 (label 1002)  --/
#
# 1. `match vlan 100` -> D1, `match vlan 200` -> D2 through the same E: calls
#    with RTP echo; on the wire (capture in sw) every frame of ta's call,
#    answers and media included, carries VLAN 100, tb's VLAN 200.
# 2. te0 in vpn-id 10; combo = vpn-id 10 + vlan 100 + source ports
#    5070-5079 -> D2 ahead of vlan 100 -> D1 and vlan 200 -> D1: REGISTERs
#    from ta:5060, ta:5070 and tb:5070 land on the registrar they should.
# 3. `match mpls-label 1001` -> D1, `match mpls-label 1002` -> D2: REGISTERs
#    from tm1 and tm2 land on their registrar, labelled both ways on the wire.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark nft tc kamailio
PEER=$SP_BUILD/sp-tagpeer
[ -x "$PEER" ] || { sp_fail "needs $PEER (make)"; sp_done; exit 1; }
[ -r /usr/share/sip-tester/g711a.pcap ] || { sp_fail "needs g711a.pcap (package sip-tester)"; sp_done; exit 1; }

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2
SC=$LAB_SIPP_DIR
mkdir -p "$LAB_OUT"

mac() { ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'; }

fields_lab_up() {
	local ns a
	for ns in ta tb tm1 tm2 sw sp srv1 srv2; do sp_netns "$ns" >/dev/null || return 1; done
	TA=$SP_TAG-ta TB=$SP_TAG-tb SW=$SP_TAG-sw SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
	TM1=$SP_TAG-tm1 TM2=$SP_TAG-tm2
	ip link add eth0 netns "$TA" type veth peer name pa netns "$SW" &&
	ip link add eth0 netns "$TB" type veth peer name pb netns "$SW" &&
	ip link add eth0 netns "$TM1" type veth peer name pm1 netns "$SW" &&
	ip link add eth0 netns "$TM2" type veth peer name pm2 netns "$SW" &&
	ip link add te0 netns "$SP" type veth peer name psp netns "$SW" &&
	ip link add eth0 netns "$SRV1" type veth peer name srv1 netns "$SP" &&
	ip link add eth0 netns "$SRV2" type veth peer name srv2 netns "$SP" || return 1
	ip -n "$SW" link add br0 type bridge &&
	for a in pa pb pm1 pm2 psp; do ip -n "$SW" link set "$a" master br0 up || return 1; done
	ip -n "$SW" link set br0 up || return 1
	ip -n "$TA" addr add 10.1.0.10/24 dev eth0 && ip -n "$TA" link set eth0 up &&
	ip -n "$TB" addr add 10.1.0.11/24 dev eth0 && ip -n "$TB" link set eth0 up &&
	ip -n "$TM1" addr add 10.1.0.20/24 dev eth0 && ip -n "$TM1" link set eth0 up &&
	ip -n "$TM2" addr add 10.1.0.21/24 dev eth0 && ip -n "$TM2" link set eth0 up || return 1
	ip -n "$SP" addr add 10.1.0.1/24 dev te0 &&
	ip -n "$SP" addr add 192.0.2.1/28 dev srv1 &&
	ip -n "$SP" addr add 192.0.2.17/28 dev srv2 || return 1
	for a in te0 srv1 srv2; do ip -n "$SP" link set "$a" up; done
	ip netns exec "$SP" sysctl -qw net.ipv4.ip_forward=1 || return 1
	for a in all default te0 srv1 srv2; do
		ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$a.rp_filter=0" || return 1
	done
	# the kernel's own ARP leaves untagged: static neighbours (KERNEL.md)
	ip -n "$TA" neigh add 10.1.0.1 lladdr "$(mac "$SP" te0)" dev eth0 nud permanent &&
	ip -n "$TB" neigh add 10.1.0.1 lladdr "$(mac "$SP" te0)" dev eth0 nud permanent &&
	ip -n "$SP" neigh add 10.1.0.10 lladdr "$(mac "$TA" eth0)" dev te0 nud permanent &&
	ip -n "$SP" neigh add 10.1.0.11 lladdr "$(mac "$TB" eth0)" dev te0 nud permanent || return 1
	# labelled peers: only IP is labelled, ARP works as usual
	for ns in "$TA" "$TB" "$TM1" "$TM2"; do ip -n "$ns" route add default via 10.1.0.1 || return 1; done
	ip -n "$SRV1" addr add "$D1/28" dev eth0 && ip -n "$SRV1" link set eth0 up &&
	ip -n "$SRV1" route add default via 192.0.2.1 &&
	ip -n "$SRV2" addr add "$D2/28" dev eth0 && ip -n "$SRV2" link set eth0 up &&
	ip -n "$SRV2" route add default via 192.0.2.17 || return 1
	# the terminals' frames leave tagged
	ip netns exec "$TA" "$PEER" eth0 vlan 100 && ip netns exec "$TB" "$PEER" eth0 vlan 200 &&
	ip netns exec "$TM1" "$PEER" eth0 mpls 1001 && ip netns exec "$TM2" "$PEER" eth0 mpls 1002
}

# wire FILTER: frames on the SP's side of the bridge matching a tshark filter
wire() { lab_pcap_count "$WIRE" "$1"; }
strategy_state() { sp_cli sp1 -c 'show proxy-strategy' | grep -A8 "proxy-strategy $1 " | grep -m1 -i 'installed'; }

fields_lab_up || { sp_fail "namespaces, bridge and tagged peers"; sp_done; exit 1; }
sp_pass "namespaces, bridge and tagged peers (sp-tagpeer)"
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media kernel" \
	-c "media-port-range 20000 20099" \
	-c "proxy-strategy v100 seq 10" -c "match vlan 100" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy v200 seq 20" -c "match vlan 200" -c "match destination $E/32 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "match vlan 100 and 200: accepted" "" "$out"
check_match "show proxy-strategy: without a terminal-side interface, not installed and why" \
	"not installed \\(.*no terminal-side interface for the BPF tagger\\)" "$(strategy_state v100)"
out=$(sp_cli sp1 -c "configure terminal" -c "interface te0" -c "signaling-proxy terminal-side" -c "end" 2>&1)
check_eq "te0 terminal-side: accepted" "" "$out"
check_match "tagger on te0's ingress" "bpf.*sp_tag_ingress" "$(ip netns exec "$SP" tc filter show dev te0 ingress)"
check_match "tagger on te0's egress" "bpf.*sp_tag_egress" "$(ip netns exec "$SP" tc filter show dev te0 egress)"
check_match "show proxy-strategy: v100 installed via tc-BPF" "installed \\(VLAN 100 tag popped by tc-BPF\\)" "$(strategy_state v100)"
check_match "nft matches the tag slot in the mark" "meta mark & 0x0000ff00 == 0x00000(1|2)00" \
	"$(ip netns exec "$SP" nft list table inet sigproxy)"

# ---- 1. two VLANs, two servers, one E ----
WIRE=$LAB_OUT/wire.pcap
lab_capture_start "$SW" psp "$WIRE" "udp or (vlan and udp)"
lab_sipp_bg "$SRV1" uas-d1 -sf "$SC/rtp_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m 1
UAS1=$LAB_SIPP_PID
lab_sipp_bg "$SRV2" uas-d2 -sf "$SC/rtp_uas.xml" -i "$D2" -p 5060 -mp 6000 -rtp_echo -m 1
UAS2=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
sp_wait_for "UAS on D2" 10 lab_bound "$SRV2" "$D2" 5060
lab_sipp_bg "$TA" caller-a -sf "$SC/rtp_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 4000 "$E:5060"
UACA=$LAB_SIPP_PID
lab_sipp_bg "$TB" caller-b -sf "$SC/rtp_uac.xml" -i 10.1.0.11 -p 5060 -mp 6000 -s bob -m 1 -d 4000 "$E:5060"
UACB=$LAB_SIPP_PID
sleep 2
bindings=$(sp_cli sp1 -c 'show bindings')
check_match "show bindings: ta (VLAN 100) to D1" "10\\.1\\.0\\.10:5060 .*${D1//./\\.}:5060" "$bindings"
check_match "show bindings: tb (VLAN 200) to D2" "10\\.1\\.0\\.11:5060 .*${D2//./\\.}:5060" "$bindings"
lab_sipp_wait "$UACA"; rca=$?
lab_sipp_wait "$UACB"; rcb=$?
lab_sipp_wait "$UAS1"; rc1=$?
lab_sipp_wait "$UAS2"; rc2=$?
check_eq "both calls, each on its own server, end well" "0 0 0 0" "$rca $rcb $rc1 $rc2"
[ "$rca" = 0 ] || lab_sipp_log caller-a | sed 's/^/#   /'
[ "$rcb" = 0 ] || lab_sipp_log caller-b | sed 's/^/#   /'
sleep 2 # dumpcap hands over the last packets when its buffer times out
lab_capture_stop
n=$(wire "sip && ip.src == 10.1.0.10 && vlan.id == 100")
check "ta's SIP arrives tagged 100 ($n)" test "$n" -ge 3
check_eq "ta's SIP never untagged or in another VLAN" 0 "$(wire "sip && ip.src == 10.1.0.10 && !(vlan.id == 100)")"
n=$(wire "sip && ip.dst == 10.1.0.10 && vlan.id == 100")
check "answers to ta leave tagged 100 ($n: 200 INVITE, 200 BYE)" test "$n" -ge 2
check_eq "no answer to ta untagged or in another VLAN" 0 "$(wire "sip && ip.dst == 10.1.0.10 && !(vlan.id == 100)")"
n=$(wire "sip && ip.dst == 10.1.0.11 && vlan.id == 200")
check "answers to tb leave tagged 200 ($n)" test "$n" -ge 2
check_eq "no answer to tb untagged or in another VLAN" 0 "$(wire "sip && ip.dst == 10.1.0.11 && !(vlan.id == 200)")"
n=$(wire "ip.dst == 10.1.0.10 && udp.dstport == 6000 && vlan.id == 100")
check "echoed RTP back to ta tagged 100 ($n)" test "$n" -ge 100
n=$(wire "ip.dst == 10.1.0.11 && udp.dstport == 6000 && vlan.id == 200")
check "echoed RTP back to tb tagged 200 ($n)" test "$n" -ge 100
check_eq "no RTP to a terminal untagged or in another VLAN" 0 \
	"$(wire "udp.dstport == 6000 && ((ip.dst == 10.1.0.10 && !(vlan.id == 100)) || (ip.dst == 10.1.0.11 && !(vlan.id == 200)))")"

# ---- 2. VPN + VLAN + source port range ----
lab_start_kamailio "$SRV1" "$D1" kam1 || sp_fail "kamailio on D1"
lab_start_kamailio "$SRV2" "$D2" kam2 || sp_fail "kamailio on D2"
out=$(sp_cli sp1 -c "configure terminal" -c "interface te0" -c "vpn-id 10" \
	-c "proxy-strategy v200 seq 20" -c "server $D1" \
	-c "proxy-strategy combo seq 5" -c "match vpn-id 10" -c "match vlan 100" \
	-c "match source any port 5070-5079" -c "match destination $E/32 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "combo strategy (vpn-id + vlan + source ports) accepted" "" "$out"
check_match "show proxy-strategy: combo installed via tc-BPF" "installed \\(VLAN 100 tag popped by tc-BPF\\)" "$(strategy_state combo)"
check "ta:5060 (VLAN 100, port outside the range) registers" lab_register "$TA" 10.1.0.10 5060 a5060 "$E"
check "ta:5070 (VPN 10, VLAN 100, port in range) registers" lab_register "$TA" 10.1.0.10 5070 a5070 "$E"
check "tb:5070 (VPN 10, VLAN 200, port in range) registers" lab_register "$TB" 10.1.0.11 5070 b5070 "$E"
k1=$(lab_kamailio_contacts kam1); k2=$(lab_kamailio_contacts kam2)
echo "$k1" "$k2" | sed 's/^/#   /'
check_match "ta:5060 -> vlan 100 -> D1" "a5060" "$k1"
check_no_match "... not on D2" "a5060" "$k2"
check_match "ta:5070 -> combo -> D2" "a5070" "$k2"
check_no_match "... not on D1" "a5070" "$k1"
check_match "tb:5070 -> vlan 200 (combo wants VLAN 100) -> D1" "b5070" "$k1"
check_no_match "... not on D2" "b5070" "$k2"
check_match "show bindings: the VPN of te0" "^[0-9]+ +10 +10\\.1\\.0\\.10:5070 " "$(sp_cli sp1 -c 'show bindings')"

# ---- 3. MPLS labels 1001 and 1002 ----
out=$(sp_cli sp1 -c "configure terminal" \
	-c "proxy-strategy m1001 seq 30" -c "match mpls-label 1001" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy m1002 seq 40" -c "match mpls-label 1002" -c "match destination $E/32 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "match mpls-label 1001 and 1002: accepted" "" "$out"
check_match "show proxy-strategy: m1001 installed via XDP" "installed \\(MPLS label 1001 popped by XDP\\)" "$(strategy_state m1001)"
check_match "the label popper on te0's XDP hook" "xdp" "$(ip -n "$SP" link show dev te0)"
WIRE=$LAB_OUT/wire-mpls.pcap
lab_capture_start "$SW" psp "$WIRE" "udp or mpls"
check "tm1 (label 1001) registers" lab_register "$TM1" 10.1.0.20 5060 m1 "$E"
check "tm2 (label 1002) registers" lab_register "$TM2" 10.1.0.21 5060 m2 "$E"
sleep 2 # dumpcap hands over the last packets when its buffer times out
lab_capture_stop
k1=$(lab_kamailio_contacts kam1); k2=$(lab_kamailio_contacts kam2)
check_match "label 1001 -> D1" "^m1 " "$k1"
check_no_match "... not on D2" "^m1 " "$k2"
check_match "label 1002 -> D2" "^m2 " "$k2"
check_no_match "... not on D1" "^m2 " "$k1"
n=$(wire "sip && ip.src == 10.1.0.20 && mpls.label == 1001")
check "tm1's REGISTER arrives labelled 1001 ($n)" test "$n" -ge 1
n=$(wire "sip && ip.dst == 10.1.0.20 && mpls.label == 1001")
check "the answer to tm1 leaves labelled 1001 ($n)" test "$n" -ge 1
n=$(wire "sip && ip.dst == 10.1.0.21 && mpls.label == 1002")
check "the answer to tm2 leaves labelled 1002 ($n)" test "$n" -ge 1
check_eq "no answer to tm1/tm2 unlabelled or with the other label" 0 \
	"$(wire "sip && ((ip.dst == 10.1.0.20 && !(mpls.label == 1001)) || (ip.dst == 10.1.0.21 && !(mpls.label == 1002)))")"

sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "SIGTERM: clean exit" 0 $rc
check_no_match "SIGTERM took the tagger off te0's ingress" "sp_tag" "$(ip netns exec "$SP" tc filter show dev te0 ingress)"
check_no_match "... and egress" "sp_tag" "$(ip netns exec "$SP" tc filter show dev te0 egress)"
check_no_match "... and XDP" "xdp" "$(ip -n "$SP" link show dev te0)"
sp_done
