#!/bin/bash
# Latching behind a NAT on IPv6 (issue 18): test_field_media.sh's terminal
# behind a NAT, in IPv6. carol (fd00:77::10 behind a NAT66 namespace that
# masquerades with `ip6 nat`, source ports mapped into 30000-30999)
# registers through E6 and answers a call from the far side (Kamailio on D1
# over IPv6, the caller echoing her RTP), sending audio from her 180 on.
# Her SDP says c=IN IP6 fd00:77::10 port 6000: the SP uses the signalling
# source address (the NAT's public one) and latches on the first RTP
# packet's source port (the IPv6 media guard records what it drops), so RTP
# flows both ways through C6:pc; the server never sees the private address.
#
#   priv fd00:77::10 ---- nat (NAT66) 2001:db8:4::2 ---- nat0 2001:db8:4::1  sp  C6 ---- D1 (lab6.sh)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
. "$(dirname "$0")/lab_nat.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark nft conntrack
sp_require_files /usr/share/sip-tester/g711a.pcap

E6=$LAB6_E
C6=$LAB6_C
D6=$LAB6_D1

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
no_entries() {
	[ "$(ip netns exec "$SP" conntrack -L -f ipv6 -p udp --mark 0x53500000/0xffff0000 2>/dev/null | grep -c udp)" -eq 0 ]
}

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }
lab_nat_up 30000-30999 && lab_nat6_up 30000-30999 || { sp_fail "NAT66 namespace"; sp_done; exit 1; }
sp_pass "lab_nat6_up: a terminal behind a masquerading NAT66"
check "the NAT66 masquerade in ns nat" sh -c "ip netns exec '$NATNS' nft list table ip6 lab_nat6 | grep -q masquerade"
lab6_start_kamailio "$SRV1" "$D6" kam1 || { sp_fail "kamailio on IPv6 starts"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C6" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy nat6 seq 10" -c "match source $LAB_NAT6_NET" \
	-c "match destination $E6/128 port 5060" -c "server $D6" -c "action proxy" -c "end" 2>&1)
check_eq "the IPv6 strategy with media in the kernel accepted" "" "$out"

NAT_TE=$LAB_OUT/nat6-wan.pcap
NAT_SRV=$LAB_OUT/nat6-srv.pcap
lab_capture_start "$SP" "$LAB_SP_NAT_IF" "$NAT_TE" "ip6 and udp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$NAT_SRV" "ip6 and udp"
lab_callee_start "$PRIV" "$LAB_NAT6_PRIV" 5060 carol "$E6" 1 uas_early.xml -mp 6000 ||
	sp_fail "carol registers through the NAT66 and waits"
check_match "D1 has carol at [C6]:c" "^carol sip:carol@\\[$C6\\]:[0-9]+ " "$(lab_kamailio_contacts kam1)"
check_match "show bindings: carol as the NAT's public address" "\\[$LAB_NAT6_PUBLIC\\]:30[0-9]{3} .*\\[$C6\\]:4[0-9]{4}" \
	"$(sp_cli sp1 -c 'show bindings')"
lab_call "$SRV1" "$D6" 5072 carol "[$D6]" uac.xml -mp 7002 -rtp_echo -d 4000
rc=$?
lab_sipp_wait "$LAB_SIPP_PID"
check_eq "the call succeeds (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log "caller-carol-uac-$D6-5072" | sed 's/^/#   /'
lab_capture_stop
sdp=$(lab_pcap_sdp "$NAT_SRV")
check_match "the server sees C6 in the SDP" "c=IN IP6 $C6" "$sdp"
check_no_match "the server never sees the private address in SDP" "fd00:" "$sdp"
wan_src=$(lab_tshark "$NAT_TE" -Y "udp && ipv6.src == $LAB_NAT6_PUBLIC && ipv6.dst == $E6 && udp.dstport >= 20000 && udp.dstport <= 20099" \
	-T fields -e udp.srcport | sort | uniq -c | sort -rn | head -1)
echo "# RTP from the NAT66 (count, source port): $wan_src"
check_match "the NAT66 mapped the RTP port (not 6000)" "^ *[0-9]+ 30[0-9]{3}$" "$wan_src"
out=$(lab_pcap_count "$NAT_SRV" "udp && ipv6.src == $C6 && ipv6.dst == $D6 && udp.dstport == 7002")
back=$(lab_pcap_count "$NAT_TE" "udp && ipv6.src == $E6 && ipv6.dst == $LAB_NAT6_PUBLIC && udp.srcport >= 20000 && udp.srcport <= 20099")
check "carol's RTP reaches D1 from C6:pc ($out)" test "${out:-0}" -ge 100
check "the echo reaches the NAT's public address from E6:pe ($back)" test "${back:-0}" -ge 100
check_eq "no untranslated RTP to E6 on the server link" 0 \
	"$(lab_pcap_count "$NAT_SRV" "udp && ipv6.dst == $E6")"
check_match "the SP logged the latch" "media: .*latched to \\[$LAB_NAT6_PUBLIC\\]:30" "$(cat "$SP_TMP/sp1/log")"
check "flows latched are counted" test "$(stat 'flows latched')" -ge 1
check "no IPv6 entry of ours after the BYE" sp_wait_for "no entries" 3 no_entries

lab_down
sp_daemon_stop "$SP_DAEMON_PID"
check_eq "sigproxyd exits cleanly on SIGTERM" 0 $?
sp_done
