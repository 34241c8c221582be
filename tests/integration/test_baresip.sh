#!/bin/bash
# Real terminals (issue 14 item 7): Debian's baresip, four of them (alice,
# bob, carol, eve), each in a namespace of its own behind the SP, register
# through E with digest authentication at Kamailio D1 (WITH_AUTH: 401 to
# REGISTER, 407 to INVITE; eve has a wrong password and is refused), and
# call: alice -> bob with RTP both ways joined in the kernel by sigproxyd
# (media kernel) and counted there, hold and resume (re-INVITEs with
# sendonly/sendrecv), then bob transfers alice to carol (REFER, NOTIFY, a
# new authenticated INVITE), alice and carol talk through the kernel, the
# call ends and nothing is left. dave registers with SIP outbound (RFC 5626,
# sipnat=outbound; Kamailio WITH_OUTBOUND asks for keep-alives every 6 s):
# his STUN keep-alives to E:5060 are answered by the SP, so his flow stays
# up without a new registration. frank sits behind a NAT (lab_nat.sh:
# private 192.168.77.10, masqueraded to 10.3.0.2 with its ports mapped
# into 30000-30999) with outbound too: his STUN answers tell him the NAT's
# address and port, the 200 OK to his REGISTER carries them as rport= and
# received=, and alice's call to him has its RTP latched to the NAT's
# address in the kernel. The SP has a default route, as a router does. What each side logs (baresip, Kamailio) and
# what sigproxyd shows (`show sessions detail`, `show statistics`) prove it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab_nat.sh"
. "$(dirname "$0")/baresip.sh"
sp_require_root
sp_require_tools baresip kamailio kamcmd python3 nft conntrack dumpcap tshark

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
for t in alice:1 bob:2 carol:3 eve:4 dave:5; do
	baresip_up "${t%:*}" "${t#*:}" || { sp_fail "namespace for ${t%:*}"; sp_done; exit 1; }
done
lab_default_route || { sp_fail "the SP's default route"; sp_done; exit 1; }
lab_nat_up 30000-30999 || { sp_fail "the NAT namespaces"; sp_done; exit 1; }
baresip_use frank "$PRIV" "$LAB_NAT_PRIV"
# SIP and STUN at frank and at bob, until bob's call is resumed (frank has
# registered and sent his first keep-alive by then)
FRANK_PCAP=$LAB_OUT/frank.pcap
BOB_PCAP=$LAB_OUT/bob.pcap
lab_capture_start "$PRIV" eth0 "$FRANK_PCAP" "udp port 5060" || sp_fail "capture at frank"
lab_capture_start "${BARESIP_NS[bob]}" eth0 "$BOB_PCAP" "udp port 5060" || sp_fail "capture at bob"
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20199" \
	-c "proxy-strategy baresip seq 10" -c "match source $BARESIP_NET" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" \
	-c "proxy-strategy natted seq 11" -c "match source $LAB_NAT_NET" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategies and media configuration accepted" "" "$out"
sp_wait_for "nat chain in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'type nat'"
lab_start_kamailio_auth "$SRV1" "$D1" srv1 -A WITH_OUTBOUND || { sp_fail "kamailio with digest auth starts"; sp_done; exit 1; }
sp_pass "kamailio with digest auth starts"

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
kamlog() { cat "$LAB_OUT/kam-srv1/log"; }
sessions() { sp_cli sp1 -c 'show sessions count' | grep -oE '[0-9]+' | head -1; }
# rtp_both_ways: every session's stream counted packets both ways in the
# kernel (show sessions detail)
rtp_counts() {
	sp_cli sp1 -c 'show sessions detail' |
		sed -nE 's/^ *rtp  to far ([0-9]+) packets .* to terminal ([0-9]+) packets.*/\1 \2/p'
}
rtp_both_ways() {
	local min=$1 n=0 far term
	while read -r far term; do
		[ "$far" -ge "$min" ] && [ "$term" -ge "$min" ] || return 1
		n=$((n + 1))
	done < <(rtp_counts)
	[ "$n" -ge 2 ]
}
dump_on_failure() {
	echo "# --- sigproxyd:"; sp_cli sp1 -c 'show sessions detail' 2>&1 | sed 's/^/#   /'
	for n in "$@"; do echo "# --- baresip $n:"; baresip_log "$n" | tr '\r' '\n' | grep -av 'audio=' | tail -15 | sed 's/^/#   /'; done
}

# ---- registration with digest through E ----
for n in alice bob carol; do
	baresip_start "$n" "$n" "$E" || { sp_fail "baresip $n starts"; dump_on_failure "$n"; }
done
baresip_start eve eve "$E" wrong-password || sp_fail "baresip eve starts"
baresip_start dave dave "$E" pw-dave ";sipnat=outbound;outbound=\"sip:$E\"" || sp_fail "baresip dave starts"
baresip_start frank frank "$E" pw-frank ";sipnat=outbound;outbound=\"sip:$E\"" || sp_fail "baresip frank starts"
for n in alice bob carol; do
	check "$n registers (200 OK after the challenge)" \
		sp_wait_for "$n registered" 10 baresip_logged "$n" "^$n@$E: .* 200 OK .*\\[1 binding\\]"
done
check_match "Kamailio challenged the REGISTERs (401)" "REGISTER for alice: challenged" "$(kamlog)"
contacts=$(lab_kamailio_contacts srv1)
for n in alice bob carol; do
	check_match "the registrar holds $n at C:c" "^$n sip:$n-[^@]*@${C//./\\.}:4[0-9]{4} " "$contacts"
done
check_no_match "no private address at the registrar" "10\\.5\\." "$contacts"
check "eve's wrong password is refused (401 at eve)" \
	sp_wait_for "eve refused" 10 baresip_logged eve "401 Unauthorized"
check_no_match "eve is not registered" "^eve " "$(lab_kamailio_contacts srv1)"
check "dave registers with outbound" \
	sp_wait_for "dave registered" 10 baresip_logged dave "^dave@$E: .* 200 OK .*\\[1 binding\\]"
check "frank registers from behind the NAT" \
	sp_wait_for "frank registered" 10 baresip_logged frank "^frank@$E: .* 200 OK .*\\[1 binding\\]"
check_eq "reginfo: alice OK" 1 "$(baresip_cmd alice reginfo | grep -c "sip:alice@$E .*OK")"

# ---- a call alice -> bob, RTP both ways in the kernel ----
check "alice dials bob" baresip_cmd alice dial "sip:bob@$E"
check "Kamailio asked alice's INVITE for credentials (407)" \
	sp_wait_for "INVITE challenged" 5 sh -c "grep -q 'INVITE from alice: challenged' '$LAB_OUT/kam-srv1/log'"
check "the call is established at alice" \
	sp_wait_for "alice established" 10 baresip_logged alice "Call established: sip:bob@$E"
check "the call is established at bob" \
	sp_wait_for "bob established" 10 baresip_logged bob "Call established: sip:alice@$E"
check "alice receives RTP from E" \
	sp_wait_for "alice rtp" 10 baresip_logged alice "incoming rtp for 'audio' established, receiving from $E:"
check "bob receives RTP from E" \
	sp_wait_for "bob rtp" 10 baresip_logged bob "incoming rtp for 'audio' established, receiving from $E:"
check_eq "two sessions (one per leg)" 2 "$(sessions)"
detail=$(sp_cli sp1 -c 'show sessions detail')
check_match "the legs are joined in the kernel" "joined with dialog [0-9]+: terminal to terminal 10\\.5\\.2\\.10:" "$detail"
check_eq "both legs' streams in the kernel" 2 "$(grep -c ' in kernel$' <<<"$detail")"
if check "RTP counted both ways on both legs (>= 100 packets)" sp_wait_for "rtp counted" 10 rtp_both_ways 100; then :; else
	dump_on_failure alice bob; fi

# ---- hold and resume ----
before=$(rtp_counts | head -1)
check "alice puts bob on hold" baresip_cmd alice hold
check "bob gets the re-INVITE" sp_wait_for "bob re-INVITE" 5 baresip_logged bob "got re-INVITE"
sleep 1
check_eq "still two sessions on hold" 2 "$(sessions)"
check "alice resumes" baresip_cmd alice resume
check "bob gets the second re-INVITE" \
	sp_wait_for "second re-INVITE" 5 sh -c "[ \$(grep -ac 'got re-INVITE' '$LAB_OUT/baresip-bob/log') -ge 2 ]"
sleep 0.3
lab_capture_stop # bob's and frank's
dirs=$(tshark -r "$BOB_PCAP" -Y 'sip.Method == "INVITE"' -T fields -e sdp.media_attr 2>/dev/null | grep -oE 'sendonly|sendrecv|recvonly|inactive' | tr '\n' ' ')
check_match "bob got the hold offer (sendonly) and then the resume (sendrecv), through E" "sendonly sendrecv \$" "$dirs"
check_match "the re-INVITEs went through Kamailio" "INVITE sip:bob-[^@]*@${C//./\\.}:4" "$(kamlog)"
sleep 2
after=$(rtp_counts | head -1)
check "RTP flows again after resume (${before% *} -> ${after% *} packets)" \
	test "${after% *}" -gt "$((${before% *} + 50))"
check_eq "the streams stay in the kernel" 2 "$(sp_cli sp1 -c 'show sessions detail' | grep -c ' in kernel$')"

# ---- bob transfers alice to carol (REFER) ----
check "bob transfers alice to carol" baresip_cmd bob transfer "sip:carol@$E"
check "REFER from bob reaches Kamailio through the SP" \
	sp_wait_for "REFER" 5 sh -c "grep -q 'REFER sip:alice-' '$LAB_OUT/kam-srv1/log'"
check "alice calls carol" \
	sp_wait_for "alice-carol" 10 baresip_logged alice "Call established: sip:carol@$E"
check "carol answers alice" \
	sp_wait_for "carol established" 10 baresip_logged carol "Call established: sip:alice@$E"
check "alice's call with bob ends" \
	sp_wait_for "bob gone" 10 baresip_logged alice "Call with sip:bob@$E terminated"
check_match "NOTIFY of the transfer's progress to bob" "NOTIFY sip:bob-" "$(kamlog)"
check "two sessions again (alice-carol)" sp_wait_for "2 sessions" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 2 ]"
check_match "the new legs are carol's" "terminal to terminal 10\\.5\\.3\\.10:" "$(sp_cli sp1 -c 'show sessions detail')"
if check "alice <-> carol RTP counted both ways in the kernel" sp_wait_for "rtp alice-carol" 10 rtp_both_ways 100; then :; else
	dump_on_failure alice carol; fi

# ---- dave's RFC 5626 keep-alives: STUN to E:5060, answered by the SP ----
check "dave's STUN keep-alives answered by the SP (>= 2)" \
	sp_wait_for "2 STUN answers" 15 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show statistics' | sed -nE 's/^ *STUN requests answered *([0-9]+)/\\1/p')\" -ge 2 ]"
check_eq "no STUN error" 0 "$(stat 'STUN errors')"
check_eq "dave registered once: his flow never failed" 1 "$(baresip_count dave ' 200 OK ')"
check_no_match "no keep-alive failure at dave" "keepalive|flow.*fail|failed" "$(baresip_log dave)"

check "alice hangs up on carol" baresip_cmd alice hangup
check "carol sees the end" \
	sp_wait_for "carol end" 5 baresip_logged carol "Call with sip:alice@$E terminated"
check "no session left after it" sp_wait_for "0 sessions" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 0 ]"

# ---- frank behind the NAT: a call, and what the NAT did ----
check "alice dials frank" baresip_cmd alice dial "sip:frank@$E"
check "the call is established at frank" \
	sp_wait_for "frank established" 10 baresip_logged frank "Call established: sip:alice@$E"
check "frank receives RTP from E" \
	sp_wait_for "frank rtp" 10 baresip_logged frank "incoming rtp for 'audio' established, receiving from $E:"
check_match "frank's media latched to the NAT's address, not his private SDP" \
	"terminal to terminal ${LAB_NAT_PUBLIC//./\\.}:30[0-9]{3}" "$(sp_cli sp1 -c 'show sessions detail')"
if check "alice <-> frank RTP counted both ways in the kernel" sp_wait_for "rtp alice-frank" 10 rtp_both_ways 100; then :; else
	dump_on_failure alice frank; fi
check "alice hangs up on frank" baresip_cmd alice hangup
check "frank sees the end" \
	sp_wait_for "frank end" 5 baresip_logged frank "Call with sip:alice@$E terminated"
mapped=$(tshark -r "$FRANK_PCAP" -Y 'stun.type == 0x0101' -T fields -e stun.att.ipv4 -e stun.att.port 2>/dev/null | head -1)
check_match "STUN tells frank the NAT's address and port (XOR-MAPPED-ADDRESS)" \
	"^${LAB_NAT_PUBLIC//./\\.}[[:space:]]30[0-9]{3}\$" "$mapped"
reg_via=$(tshark -r "$FRANK_PCAP" -Y 'sip.Status-Code == 200 && sip.CSeq.method == "REGISTER"' -T fields -e sip.Via 2>/dev/null | head -1)
check_match "the 200 OK to his REGISTER: his own Via, rport= and received= of the NAT" \
	"^SIP/2\\.0/UDP ${LAB_NAT_PRIV//./\\.}:5060;.*rport=${mapped##*[[:space:]]}" "$reg_via"
check_match "... received= is the NAT's address" "received=${LAB_NAT_PUBLIC//./\\.}(;|\$)" "$reg_via"

# ---- the end ----
check "no session left" sp_wait_for "0 sessions" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 0 ]"
check_eq "no media port held" 0 "$(stat 'media ports allocated')"
check_eq "nothing unparsable from a real terminal" 0 "$(stat 'parse errors')"
check_eq "nothing that could not be rewritten" 0 "$(stat 'rewrite errors')"
check "sigproxyd still runs" kill -0 "$SPD_PID"

for n in alice bob carol eve dave frank; do baresip_stop "$n"; done
check_eq "every baresip has quit" "" "$(for n in alice bob carol eve dave frank; do ip netns pids "${BARESIP_NS[$n]}"; done)"
lab_down
sp_daemon_stop "$SPD_PID"
check_eq "sigproxyd exits cleanly" 0 $?
sp_done
