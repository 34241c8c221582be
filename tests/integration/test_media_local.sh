#!/bin/bash
# Media between two terminals behind the same SP (issue 4): alice
# (10.1.0.10) calls bob (10.1.0.11), both registered through E to Kamailio
# on D1, which record-routes, so both legs of the call pass sigproxyd: two
# dialogs with one Call-ID. Each leg's SDP towards the server names C:pc,
# which the other leg receives as its far side; sigproxyd joins the two
# legs into one NATed conntrack entry per flow (alice -> E:pe1 becomes
# E:pe2 -> bob, and back), so RTP goes terminal to terminal in the kernel.
# Checked: RTP both ways (SIPp play_pcap_audio at alice, -rtp_echo at bob)
# in captures at both terminals' side and in conntrack's counters, one
# entry per flow (not one per leg), `show sessions detail`, the entries
# gone after BYE, a re-INVITE moving alice's media, 20 sequential calls
# leaving no entry and no port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
CALLS=${MEDIA_LOCAL_CALLS:-20}
SC=$SP_TMP/scenarios
mkdir -p "$SC"

# alice's scenarios, from the lab's caller (uac.xml: INVITE, ACK and BYE
# through the Record-Route set): with RTP, and with a re-INVITE
lab_rtp_uac "$SC/rtp_uac.xml" "$PCAP"
# the re-INVITE: alice's media moves 2 ports up
reinvite=$(cat <<'EOF'
  <pause milliseconds="2500"/>
  <send retrans="500">
    <![CDATA[

      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      [routes]
      From: <sip:caller@[remote_ip]>;tag=[pid]C[call_number]
      To: <sip:[service]@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687638 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port+2] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      [routes]
      From: <sip:caller@[remote_ip]>;tag=[pid]C[call_number]
      To: <sip:[service]@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 ACK
      Contact: <sip:caller@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="2500"/>
EOF
)
awk -v r="$reinvite" '$0 == "  <pause/>" { print r; next } { print }' "$LAB_SIPP_DIR/uac.xml" |
	sed 's/CSeq: 2 BYE/CSeq: 4 BYE/' >"$SC/reinvite_uac.xml"

# ---- helpers ----
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
entries() {
	ip netns exec "$SP" conntrack -L -p udp --mark 0x53500000/0xffff0000 2>/dev/null
}
entry_count() { entries | grep -c udp; }
no_entries() { [ "$(entry_count)" -eq 0 ]; }
two_entries() { [ "$(entry_count)" -eq 2 ]; }
has_entry_for() { entries | grep -q "sport=$1 "; }
ports_free() { [ "$(stat 'media ports allocated')" = 0 ]; }
# bob N NAME: bob registers at E and answers N calls with RTP echo at 10.1.0.11:6100
bob() {
	lab_register "$TE" 10.1.0.11 5060 bob "$E" || return 1
	lab_sipp_bg "$TE" "bob-$2" -sf "$LAB_SIPP_DIR/uas.xml" -i 10.1.0.11 -p 5060 -mp 6100 \
		-rtp_echo -s bob -m "$1" "$E:5060"
	BOB=$LAB_SIPP_PID
	sp_wait_for "bob on 10.1.0.11:5060" 10 lab_bound "$TE" 10.1.0.11 5060
}

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio on D1"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategy and media configuration accepted" "" "$out"
sp_wait_for "nat chain in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'type nat'"
check "alice registers at E" lab_register "$TE" 10.1.0.10 5060 alice "$E"

# ---- one call alice -> bob with RTP both ways ----
TE_PCAP=$LAB_OUT/local-te.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "udp and (portrange 20000-20099 or port 6000 or port 6100)"
if bob 1 rtp; then
	lab_sipp_bg "$TE" alice-rtp -sf "$SC/rtp_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 \
		-d 7500 "$E:5060"
	ALICE=$LAB_SIPP_PID
	check "one entry per flow (RTP, RTCP), not one per leg" sp_wait_for "two entries" 5 two_entries
	sleep 7 # the pcap plays for 7 s
	during=$(entries)
	detail=$(sp_cli sp1 -c 'show sessions detail')
	# read with the rest, while the call lasts: the checks below take
	# long enough under ASan on a loaded machine for the BYE to come first
	joined=$(stat 'streams joined here')
	echo "$during" | sed 's/^/#   /'
	echo "$detail" | sed 's/^/#   /'
	check_eq "entries during the call: RTP and RTCP" 2 "$(echo "$during" | grep -c udp)"
	# whichever leg owns it: alice:6000 <-> E:pe1 on one side, bob:6100 <-> E:pe2 on the other
	check_match "conntrack: alice:6000 -> E joined to bob:6100 -> E" \
		"src=10\\.1\\.0\\.1[01] dst=${E//./\\.} sport=(6000|6100) dport=200[0-9][02468] .*src=10\\.1\\.0\\.1[01] dst=${E//./\\.} sport=(6000|6100) dport=200[0-9][02468] " "$during"
	rtp=$(echo "$during" | grep -E 'sport=(6000|6100) ' | head -1)
	orig_pk=$(echo "$rtp" | sed -nE 's/.* dport=[0-9]+ packets=([0-9]+).*/\1/p')
	repl_pk=$(echo "$rtp" | sed -nE 's/.* dport=[0-9]+ packets=[0-9]+ bytes=[0-9]+ .* dport=[0-9]+ packets=([0-9]+).*/\1/p')
	check "conntrack counted RTP one way (${orig_pk:-none} packets)" test "${orig_pk:-0}" -ge 200
	check "conntrack counted RTP the other way (${repl_pk:-none} packets)" test "${repl_pk:-0}" -ge 200
	check_match "show sessions detail: both legs carried and joined" \
		"joined with dialog [0-9]+: terminal to terminal 10\\.1\\.0\\.11:6100" "$detail"
	check_match "show sessions detail: alice's leg joined to bob's" \
		"joined with dialog [0-9]+: terminal to terminal 10\\.1\\.0\\.10:6000" "$detail"
	check_match "show sessions detail: packets both ways" \
		"rtp  to far [1-9][0-9]+ packets [0-9]+ bytes, to terminal [1-9][0-9]+ packets" "$detail"
	check_eq "statistics: one stream joined" 1 "$joined"
	lab_sipp_wait "$ALICE"; rc=$?
	lab_sipp_wait "$BOB"
	check_eq "the call ends well (alice, bob)" "0 0" "$rc $?"
	[ "$rc" = 0 ] || lab_sipp_log alice-rtp | sed 's/^/#   /'
	check "no entry after BYE" sp_wait_for "no entries" 3 no_entries
	check "no media port held after BYE" ports_free
	check_eq "no kernel error" 0 "$(stat 'kernel errors')"
	lab_capture_stop
	a_out=$(lab_pcap_count "$TE_PCAP" "ip.src == 10.1.0.10 && udp.srcport == 6000 && ip.dst == $E")
	b_in=$(lab_pcap_count "$TE_PCAP" "ip.src == $E && ip.dst == 10.1.0.11 && udp.dstport == 6100")
	b_out=$(lab_pcap_count "$TE_PCAP" "ip.src == 10.1.0.11 && udp.srcport == 6100 && ip.dst == $E")
	a_in=$(lab_pcap_count "$TE_PCAP" "ip.src == $E && ip.dst == 10.1.0.10 && udp.dstport == 6000")
	check "RTP from alice to E ($a_out)" test "$a_out" -ge 200
	check "... reaches bob from E ($b_in)" test "$b_in" -ge 200
	check "bob's echo to E ($b_out)" test "$b_out" -ge 200
	check "... reaches alice from E ($a_in)" test "$a_in" -ge 200
	c_pk=$(lab_pcap_count "$TE_PCAP" "ip.addr == $C")
	check_eq "no media packet on the terminal link names C" 0 "$c_pk"
else
	sp_fail "bob registers and answers"
	lab_capture_stop
fi

# ---- re-INVITE from alice moving her media 6000 -> 6002 ----
if bob 1 reinvite; then
	lab_sipp_bg "$TE" alice-reinvite -sf "$SC/reinvite_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 \
		-s bob -m 1 "$E:5060"
	ALICE=$LAB_SIPP_PID
	sp_wait_for "entries for alice:6000" 3 has_entry_for 6000
	before=$(entries)
	sleep 3.5
	after=$(entries)
	check_match "before the re-INVITE: alice:6000 joined to bob:6100" "sport=6000 .*sport=6100 |sport=6100 .*sport=6000 " "$before"
	check_match "after the re-INVITE: alice:6002 joined to bob:6100" "sport=6002 .*sport=6100 |sport=6100 .*sport=6002 " "$after"
	check_no_match "after the re-INVITE: nothing for alice:6000" "src=10\\.1\\.0\\.10 dst=[0-9.]+ sport=6000 " "$after"
	check_eq "after the re-INVITE: still two entries" 2 "$(echo "$after" | grep -c udp)"
	lab_sipp_wait "$ALICE"; rc=$?
	lab_sipp_wait "$BOB"
	check_eq "the re-INVITE call ends well" "0 0" "$rc $?"
	[ "$rc" = 0 ] || lab_sipp_log alice-reinvite | sed 's/^/#   /'
	check "no entry after the re-INVITE call" sp_wait_for "no entries" 3 no_entries
else
	sp_fail "bob registers for the re-INVITE call"
fi

# ---- sequential calls: no stale entry, no leaked port ----
created0=$(stat 'kernel entries created')
if bob "$CALLS" many; then
	lab_sipp "$TE" alice-many -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob \
		-m "$CALLS" -l 1 -r 20 -d 50 "$E:5060"
	rc=$?
	lab_sipp_wait "$BOB"
	check_eq "$CALLS sequential calls alice -> bob succeed" "0 0" "$rc $?"
	created1=$(stat 'kernel entries created')
	check_eq "$CALLS calls: two entries per call (RTP, RTCP joined), not four" $((2 * CALLS)) \
		$(( ${created1:-0} - ${created0:-0} ))
	check "$CALLS calls: zero stale entries" sp_wait_for "no entries" 3 no_entries
	check "$CALLS calls: zero media ports allocated" ports_free
	check_eq "$CALLS calls: no session left" 0 "$(sp_cli sp1 -c 'show sessions count' | grep -oE '[0-9]+' | head -1)"
	check_eq "$CALLS calls: no kernel error" 0 "$(stat 'kernel errors')"
else
	sp_fail "bob registers for the sequential calls"
fi

lab_down
sp_done
