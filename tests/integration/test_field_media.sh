#!/bin/bash
# Media the way the field sends it (issue 14, items 1 and 2), on an SP with
# a default route (lab_default_route: E routable, via the server link).
#
# 1. A terminal that sends RTP before its 200 OK (alice answers a call from
#    the far side at D1 through Kamailio, playing audio from the 180 on):
#    no untranslated packet to E reaches the server link, the NATed entries
#    are the daemon's from the first packet the kernel lets through, no
#    "cannot program" and no kernel refusal, RTP both ways through C:pc.
#    The same in local-virtual-address mode (E local on the SP).
# 2. A terminal behind a NAT (lab_nat.sh, source ports mapped, its SDP says
#    192.168.77.10:6000) answers a call from the far side: the SP uses the
#    signalling source address and latches on the first RTP packet's source
#    port, so RTP flows both ways; the server never sees the private
#    address.
# 3. The media guard's drops are counted (show statistics, MIB).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab_nat.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
SC=$SP_TMP/scenarios
mkdir -p "$SC"

# rtp_uac.xml: the lab's caller, playing audio once answered
lab_rtp_uac "$SC/rtp_uac.xml" "$PCAP"

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
entries() {
	ip netns exec "$SP" conntrack -L -p udp --mark 0x53500000/0xffff0000 "$@" 2>/dev/null
}
entry_count() { entries | grep -c udp; }
no_entries() { [ "$(entry_count)" -eq 0 ]; }

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
check "lab_default_route: the SP has a default route" lab_default_route
check_match "E is routable on the SP (via the server link)" "dev $LAB_SP_SRV1_IF" \
	"$(ip -n "$SP" route get "$E" 2>&1)"
lab_nat_up 30000-30999 || { sp_fail "NAT namespace"; sp_done; exit 1; }
sp_pass "lab_nat_up: a terminal behind a masquerading NAT"
lab_start_kamailio "$SRV1" "$D1" kam1 || { sp_fail "kamailio starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" \
	-c "proxy-strategy nat seq 20" -c "match source $LAB_NAT_NET" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategies and media configuration accepted" "" "$out"

# early_call NAME: alice (registered at 10.1.0.10:5070) answers a call from
# D1:5070 (echoing the RTP back) with audio from the 180 on; checks what the
# two links saw
early_call() {
	local name=$1 te_pcap=$LAB_OUT/$1-te.pcap srv_pcap=$LAB_OUT/$1-srv.pcap
	local filter="udp and (portrange 20000-20099 or port 6000 or port 7000)"
	local errors0 created0 leak out back te_back
	errors0=$(stat 'kernel errors')
	created0=$(stat 'kernel entries created')
	lab_capture_start "$SP" "$LAB_SP_TE_IF" "$te_pcap" "$filter"
	lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$srv_pcap" "$filter"
	lab_callee_start "$TE" 10.1.0.10 5070 alice "$E" 1 uas_early.xml -mp 6000 ||
		sp_fail "$name: alice registers and waits"
	lab_call "$SRV1" "$D1" 5070 alice "$D1" uac.xml -mp 7000 -rtp_echo -d 4000
	local rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "$name: the call succeeds (caller, callee)" "0 0" "$rc $?"
	lab_capture_stop
	leak=$(lab_pcap_count "$srv_pcap" "udp && ip.dst == $E")
	out=$(lab_pcap_count "$srv_pcap" "udp && ip.src == $C && ip.dst == $D1 && udp.dstport == 7000")
	back=$(lab_pcap_count "$srv_pcap" "udp && ip.src == $D1 && udp.srcport == 7000 && ip.dst == $C")
	te_back=$(lab_pcap_count "$te_pcap" "udp && ip.src == $E && ip.dst == 10.1.0.10 && udp.dstport == 6000")
	check_eq "$name: no untranslated RTP to E on the server link" 0 "$leak"
	check "$name: alice's RTP reaches D1 from C:pc ($out)" test "$out" -ge 100
	check "$name: the echo comes back to C:pc ($back)" test "$back" -ge 100
	check "$name: ... and reaches alice from E:pe ($te_back)" test "$te_back" -ge 100
	check_eq "$name: no kernel error" "${errors0:-0}" "$(stat 'kernel errors')"
	check_eq "$name: no kernel refusal" 0 "$(stat 'kernel refusals')"
	check "$name: two entries programmed" test $(( $(stat 'kernel entries created') - ${created0:-0} )) -ge 2
	check_no_match "$name: no 'cannot program' in the log" "cannot program|File exists" \
		"$(cat "$SP_TMP/sp1/log")"
	check "$name: no entry after BYE" sp_wait_for "no entries" 3 no_entries
}

# ---- 1. RTP before the 200 OK, E routable ----
early_call early
drops=$(stat 'media guard drops')
check "the media guard dropped the early packets (${drops:-none})" test "${drops:-0}" -ge 1

# ---- 1b. the same in local-virtual-address mode ----
out=$(sp_cli sp1 -c "configure terminal" -c "interface $LAB_SP_TE_IF" \
	-c "signaling-proxy terminal-side" -c "signaling-proxy" -c "local-virtual-address $E" \
	-c "end" 2>&1)
check_eq "local-virtual-address with media" "" "$out"
check_match "E is local on the SP" "local $E" "$(ip -n "$SP" route show table local)"
early_call lva
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no local-virtual-address" \
	-c "end" 2>&1)
check_eq "no local-virtual-address" "" "$out"

# ---- 2. a terminal behind a NAT, private SDP, ports mapped ----
# carol (192.168.77.10:5060 behind the NAT) registers through E and answers
# a call from D1:5072 (which echoes the RTP), sending audio from its 180 on
NAT_TE=$LAB_OUT/nat-wan.pcap
NAT_SRV=$LAB_OUT/nat-srv.pcap
lab_capture_start "$SP" "$LAB_SP_NAT_IF" "$NAT_TE" "udp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$NAT_SRV" "udp"
lab_callee_start "$PRIV" "$LAB_NAT_PRIV" 5060 carol "$E" 1 uas_early.xml -mp 6000 ||
	sp_fail "NAT: carol registers through the NAT and waits"
lab_call "$SRV1" "$D1" 5072 carol "$D1" uac.xml -mp 7002 -rtp_echo -d 4000
rc=$?
lab_sipp_wait "$LAB_SIPP_PID"
check_eq "NAT: the call succeeds (caller, callee)" "0 0" "$rc $?"
lab_capture_stop
sdp=$(lab_pcap_sdp "$NAT_SRV")
check_match "NAT: the server sees C in the SDP" "c=IN IP4 ${C//./\\.}" "$sdp"
check_no_match "NAT: the server never sees the private address in SDP" "c=IN IP4 192\\.168" "$sdp"
wan_src=$(lab_tshark "$NAT_TE" -Y "udp && ip.src == $LAB_NAT_PUBLIC && ip.dst == $E && udp.dstport >= 20000 && udp.dstport <= 20099" \
	-T fields -e udp.srcport | sort | uniq -c | sort -rn | head -1)
echo "# RTP from the NAT (count, source port): $wan_src"
check_match "NAT: the NAT mapped the RTP port (not 6000)" "^ *[0-9]+ 30[0-9]{3}$" "$wan_src"
out=$(lab_pcap_count "$NAT_SRV" "udp && ip.src == $C && ip.dst == $D1 && udp.dstport == 7002")
back=$(lab_pcap_count "$NAT_TE" "udp && ip.src == $E && ip.dst == $LAB_NAT_PUBLIC && udp.srcport >= 20000 && udp.srcport <= 20099")
check "NAT: the terminal's RTP reaches D1 from C:pc ($out)" test "$out" -ge 100
check "NAT: the echo reaches the NAT's public address from E:pe ($back)" test "$back" -ge 100
check_eq "NAT: no untranslated RTP to E on the server link" 0 \
	"$(lab_pcap_count "$NAT_SRV" "udp && ip.dst == $E")"
check_match "NAT: the SP logged the latch" "media: .*latched to ${LAB_NAT_PUBLIC//./\\.}:30" "$(cat "$SP_TMP/sp1/log")"
check "NAT: no entry after BYE" sp_wait_for "no entries" 3 no_entries

# ---- 3. counters ----
check_match "show statistics: media guard drops" "media guard drops +[1-9]" \
	"$(sp_cli sp1 -c 'show statistics')"
check_match "show statistics: kernel refusals" "kernel refusals +0" "$(sp_cli sp1 -c 'show statistics')"

lab_down
sp_done
