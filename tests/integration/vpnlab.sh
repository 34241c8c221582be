# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the callers
# The two-VPN call of test_vpn.sh and test_vpn6.sh (IPv4 or IPv6): terminal
# A in namespace TA (link va, VPN 10) and in TB (link vb, VPN 20) call E at
# the same time, answered by a UAS with RTP echo on D1 (in SRV1) and on D2
# (in SRV2), the links captured on the SP. Source after lib.sh and lab.sh;
# the test sets SP TA TB SRV1 SRV2, A E D1 D2 and VPN_FAMILY (ipv4, ipv6).

# vpn_entries: sigproxy's media entries in SP's conntrack
vpn_entries() {
	ip netns exec "$SP" conntrack -L -f "$VPN_FAMILY" -p udp --mark 0x53500000/0xffff0000 2>/dev/null
}
vpn_two_per_vpn() {
	local e; e=$(vpn_entries)
	[ "$(echo "$e" | grep -c 'zone-orig=10')" -eq 2 ] && [ "$(echo "$e" | grep -c 'zone-orig=20')" -eq 2 ]
}
vpn_no_entries() { [ "$(vpn_entries | grep -c udp)" -eq 0 ]; }

# vpn_calls_start FILTER UAS-SCENARIO DURATION-MS: the captures of va and vb
# (VA_PCAP, VB_PCAP) with FILTER, the two UASes (UAS1, UAS2) and the two
# callers (UACA, UACB), in the background
vpn_calls_start() {
	local filter=$1 uas=$2 ms=$3
	VA_PCAP=$LAB_OUT/va.pcap VB_PCAP=$LAB_OUT/vb.pcap
	lab_capture_start "$SP" va "$VA_PCAP" "$filter"
	lab_capture_start "$SP" vb "$VB_PCAP" "$filter"
	lab_sipp_bg "$SRV1" uas-d1 -sf "$LAB_SIPP_DIR/$uas" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m 1
	UAS1=$LAB_SIPP_PID
	lab_sipp_bg "$SRV2" uas-d2 -sf "$LAB_SIPP_DIR/$uas" -i "$D2" -p 5060 -mp 6000 -rtp_echo -m 1
	UAS2=$LAB_SIPP_PID
	sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
	sp_wait_for "UAS on D2" 10 lab_bound "$SRV2" "$D2" 5060
	lab_sipp_bg "$TA" caller-a -sf "$LAB_SIPP_DIR/rtp_uac.xml" -i "$A" -p 5060 -mp 6000 -s bob -m 1 \
		-d "$ms" "$(lab_hostport "$E" 5060)"
	UACA=$LAB_SIPP_PID
	lab_sipp_bg "$TB" caller-b -sf "$LAB_SIPP_DIR/rtp_uac.xml" -i "$A" -p 5060 -mp 6000 -s bob -m 1 \
		-d "$ms" "$(lab_hostport "$E" 5060)"
	UACB=$LAB_SIPP_PID
}

# vpn_calls_end SECONDS: checks that the four SIPp runs end well and that
# no media entry is left, then stops the captures SECONDS later (dumpcap
# hands over the last packets when its buffer times out)
vpn_calls_end() {
	local rca rcb rc1 rc2
	lab_sipp_wait "$UACA"; rca=$?
	lab_sipp_wait "$UACB"; rcb=$?
	lab_sipp_wait "$UAS1"; rc1=$?
	lab_sipp_wait "$UAS2"; rc2=$?
	check_eq "both callers and both servers end their one call well" "0 0 0 0" "$rca $rcb $rc1 $rc2"
	[ "$rca" = 0 ] || lab_sipp_log caller-a | sed 's/^/#   /'
	[ "$rcb" = 0 ] || lab_sipp_log caller-b | sed 's/^/#   /'
	check "no media entry after the BYEs" sp_wait_for "no entries" 5 vpn_no_entries
	sleep "$1"
	lab_capture_stop
}

# vpn_links_check CALLIDS-FUNCTION: each link carried one call of its own
# (the Call-IDs CALLIDS-FUNCTION FILE gives for each capture)
vpn_links_check() {
	local ids_a ids_b
	ids_a=$("$1" "$VA_PCAP"); ids_b=$("$1" "$VB_PCAP")
	check "SIP on va: one call (${ids_a:-none})" test "$(echo "$ids_a" | grep -c .)" -eq 1
	check "SIP on vb: one call (${ids_b:-none})" test "$(echo "$ids_b" | grep -c .)" -eq 1
	check "the two links never carried the same call" test "$ids_a" != "$ids_b"
}
