#!/bin/bash
# Media in the kernel (SPEC §2.5, issue 4), serial mode: alice (10.1.0.10,
# ns te) calls a SIPp UAS on D1 (ns srv1) through E. sigproxyd rewrites the
# SDP to E:pe / C:pc and programs NATed conntrack entries, so the RTP alice
# plays (SIPp play_pcap_audio, the sip-tester package's g711a.pcap) reaches
# D1 from C:pc and D1's echo (-rtp_echo) comes back from E:pe, without the
# daemon touching a packet. Checked: captures at both ends, conntrack's
# counters and `show sessions detail`, entries gone after BYE, a re-INVITE
# moving the media, 1 000 sequential calls (the issue's figure; MEDIA_CALLS
# changes it; ~20 s at 50 calls/s) leaving no entry and no port, every
# one counted successful by SIPp with two entries created, overlapping
# calls announcing one address and port (bench/run's SDP),
# malformed SDP dropped and counted, `media off`.
#
# The far party is a plain SIPp UAS at D; a call between two terminals
# behind the same SP (both legs here, joined) is test_media_local.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark python3 nft conntrack
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
CALLS=${MEDIA_CALLS:-1000}
SC=$SP_TMP/scenarios
mkdir -p "$SC"

# ---- SIPp scenarios of this test ----
# sdp PORT-EXPR: the SDP body of alice's offers
sdp() {
	cat <<EOF
v=0
o=alice 1 [cseq] IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio $1 RTP/AVP 8
a=rtpmap:8 PCMA/8000
EOF
}
invite() { # invite CSEQ PORT-EXPR
	cat <<EOF
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: alice <sip:alice@[local_ip]:[local_port]>;tag=[pid]A[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>$2
      Call-ID: [call_id]
      CSeq: $1 INVITE
      Contact: <sip:alice@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

$(sdp "$3")

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: alice <sip:alice@[local_ip]:[local_port]>;tag=[pid]A[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: $1 ACK
      Contact: <sip:alice@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
EOF
}
bye() {
	cat <<EOF
  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: alice <sip:alice@[local_ip]:[local_port]>;tag=[pid]A[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 9 BYE
      Contact: <sip:alice@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
EOF
}
# media_uac.xml: call, play the pcap, wait (-d), hang up
{
	echo '<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="media uac">'
	invite 1 "" "[media_port]"
	echo "  <nop><action><exec play_pcap_audio=\"$PCAP\"/></action></nop>"
	echo '  <pause/>'
	bye
	echo '</scenario>'
} >"$SC/media_uac.xml"
# plain_uac.xml: call and hang up after -d, no RTP
{
	echo '<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="plain uac">'
	invite 1 "" "[media_port]"
	echo '  <pause/>'
	bye
	echo '</scenario>'
} >"$SC/plain_uac.xml"
# reinvite_uac.xml: call, wait, re-INVITE moving the media 2 ports up, wait, hang up
{
	echo '<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="reinvite uac">'
	invite 1 "" "[media_port]"
	echo '  <pause milliseconds="3000"/>'
	invite 2 "[peer_tag_param]" "[media_port+2]"
	echo '  <pause milliseconds="3000"/>'
	bye
	echo '</scenario>'
} >"$SC/reinvite_uac.xml"
# media_uas.xml: answers INVITEs (the first and any re-INVITE) with SDP, and BYE
cat >"$SC/media_uas.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="media uas">
  <recv request="INVITE" crlf="true"/>
  <!-- a re-INVITE jumps here: "next" continues after the received message -->
  <label id="1"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]B[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=bob 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INVITE" optional="true" next="1"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
EOF

# ---- helpers ----
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
# entries [conntrack -L filter args]: sigproxy's media entries in ns sp
entries() {
	ip netns exec "$SP" conntrack -L -p udp --mark 0x53500000/0xffff0000 "$@" 2>/dev/null
}
entry_count() { entries | grep -c udp; }
no_entries() { [ "$(entry_count)" -eq 0 ]; }
two_entries() { [ "$(entry_count)" -eq 2 ]; }
has_entry_from() { entries | grep -q "sport=$1 "; }
rewrite_errors_above() { [ "$(stat 'rewrite errors')" -gt "$1" ]; }
ports_free() { [ "$(stat 'media ports allocated')" = 0 ]; }
# uas N: the far party answering N calls at D1:5060 with RTP echo
uas() {
	lab_sipp_bg "$SRV1" "uas-$2" -sf "$SC/media_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo \
		-m "$1"
	UAS=$LAB_SIPP_PID
	sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
}

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_pass "sigproxyd starts in ns sp"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategy and media configuration accepted" "" "$out"
sp_wait_for "nat chain in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'type nat'"
check_eq "accounting on in ns sp" 1 "$(ip netns exec "$SP" sysctl -n net.netfilter.nf_conntrack_acct)"

# ---- one call with RTP both ways ----
RTP_FILTER="udp and (portrange 20000-20099 or port 6000)"
TE_PCAP=$LAB_OUT/media-te.pcap
SRV_PCAP=$LAB_OUT/media-srv1.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "$RTP_FILTER or port 5060"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "$RTP_FILTER or port 5060 or portrange 40000-49999"
sleep 1
uas 1 rtp
lab_sipp_bg "$TE" alice-rtp -sf "$SC/media_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 \
	-d 7500 "$E:5060"
UAC=$LAB_SIPP_PID
check "RTP and RTCP entries during the call" sp_wait_for "two entries" 5 two_entries
sleep 7 # the pcap plays for 7 s (the call lasts 7.5 s: under SIPp's 8 s receive timeout)
during=$(entries)
detail=$(sp_cli sp1 -c 'show sessions detail')
detail_json=$(sp_cli sp1 -c 'show sessions detail | json')
echo "$during" | sed 's/^/#   /'
echo "$detail" | sed 's/^/#   /'
check_match "conntrack: alice -> E:pe, reply D1:6000 -> C:pc" \
	"src=10\\.1\\.0\\.10 dst=${E//./\\.} sport=6000 dport=200[0-9][02468] .*src=${D1//./\\.} dst=${C//./\\.} sport=6000 dport=200" "$during"
orig_pk=$(echo "$during" | sed -nE 's/.*sport=6000 dport=[0-9]+ packets=([0-9]+).*/\1/p' | head -1)
repl_pk=$(echo "$during" | sed -nE 's/.*sport=6000 dport=[0-9]+ packets=[0-9]+ bytes=[0-9]+ .*sport=6000 dport=[0-9]+ packets=([0-9]+).*/\1/p' | head -1)
check "conntrack counted RTP to D1 (${orig_pk:-none} packets)" test "${orig_pk:-0}" -ge 200
check "conntrack counted the echo to alice (${repl_pk:-none} packets)" test "${repl_pk:-0}" -ge 200
check_match "show sessions detail: the stream is in the kernel" "media 0: terminal 10\\.1\\.0\\.10:6000 .* in kernel" "$detail"
check_match "show sessions detail: packets both ways" "rtp  to far [1-9][0-9]+ packets [0-9]+ bytes, to terminal [1-9][0-9]+ packets" "$detail"
# the same call in the JSON of show sessions detail (its own, not the text's)
check_eq "show sessions detail | json: the call, its stream in the kernel, packets both ways" \
	"10.1.0.10:6000 True True True" "$(python3 -c '
import json, sys
s = json.loads(sys.argv[1])["sessions"][0]
m = s["media"][0]
print(m["terminal"], m["in-kernel"], m["rtp"]["to-far-packets"] > 0, m["rtp"]["to-terminal-packets"] > 0)
' "$detail_json" 2>&1)"
check_match "... with the Call-ID the text shows" \
	"$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["sessions"][0]["call-id"])' "$detail_json" 2>&1)" "$detail"
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the call ends well (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log alice-rtp | sed 's/^/#   /'
check "no entry after BYE" sp_wait_for "no entries" 3 no_entries
check "no media port held after BYE" ports_free
lab_capture_stop
te_out=$(lab_pcap_count "$TE_PCAP" "udp && ip.src == 10.1.0.10 && udp.srcport == 6000 && ip.dst == $E")
te_back=$(lab_pcap_count "$TE_PCAP" "udp && ip.src == $E && ip.dst == 10.1.0.10 && udp.dstport == 6000")
srv_out=$(lab_pcap_count "$SRV_PCAP" "udp && ip.src == $C && ip.dst == $D1 && udp.dstport == 6000")
srv_back=$(lab_pcap_count "$SRV_PCAP" "udp && ip.src == $D1 && udp.srcport == 6000 && ip.dst == $C")
check "RTP from alice to E:pe on the terminal link ($te_out)" test "$te_out" -ge 200
check "RTP from C:pc to D1 on the server link ($srv_out)" test "$srv_out" -ge 200
check "echo from D1 to C:pc on the server link ($srv_back)" test "$srv_back" -ge 200
check "echo from E:pe to alice on the terminal link ($te_back)" test "$te_back" -ge 200
sdp_srv=$(lab_pcap_sdp "$SRV_PCAP")
check_match "the server saw C in the SDP" "c=IN IP4 ${C//./\\.}" "$sdp_srv"
check_no_match "the server never saw alice's address in the SDP" "c=IN IP4 10\\.1\\.0\\.10" "$sdp_srv"

# ---- re-INVITE moving alice's media from 6000 to 6002 ----
uas 1 reinvite
lab_sipp_bg "$TE" alice-reinvite -sf "$SC/reinvite_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 \
	-s bob -m 1 "$E:5060"
UAC=$LAB_SIPP_PID
sp_wait_for "entries for alice:6000" 3 has_entry_from 6000
before=$(entries)
sleep 3.5
after=$(entries)
check_match "before the re-INVITE: alice:6000" "src=10\\.1\\.0\\.10 dst=${E//./\\.} sport=6000 " "$before"
check_match "after the re-INVITE: alice:6002" "src=10\\.1\\.0\\.10 dst=${E//./\\.} sport=6002 " "$after"
check_no_match "after the re-INVITE: no entry for alice:6000" "src=10\\.1\\.0\\.10 dst=[0-9.]+ sport=6000 " "$after"
check_eq "after the re-INVITE: still two entries" 2 "$(echo "$after" | grep -c udp)"
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the re-INVITE call ends well" "0 0" "$rc $?"
check "no entry after the re-INVITE call" sp_wait_for "no entries" 3 no_entries

# ---- malformed SDP: dropped, counted, nothing programmed ----
BAD=$SP_TMP/bad-sdp.sip
body=$'v=0\r\no=a 1 1 IN IP4 10.1.0.12\r\ns=-\r\nc=IN IP4 10.1.0.12\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n'
printf 'INVITE sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.0.12:5062;branch=z9hG4bK-bad1\r\nFrom: <sip:x@%s>;tag=b1\r\nTo: <sip:bob@%s>\r\nCall-ID: bad-sdp-1\r\nCSeq: 1 INVITE\r\nContact: <sip:x@10.1.0.12:5062>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s' \
	"$E" "$E" "$E" "${#body}" "$body" >"$BAD"
rw0=$(stat 'rewrite errors')
lab_send_udp "$TE" 10.1.0.12 "$E" 5060 "$BAD"
check "malformed SDP: dropped and counted as a rewrite error" sp_wait_for "rewrite error" 3 rewrite_errors_above "${rw0:-0}"
check "malformed SDP: no entry" no_entries
check "malformed SDP: no port held" ports_free
check_no_match "malformed SDP: no session" "bad-sdp-1" "$(sp_cli sp1 -c 'show sessions')"

# ---- many sequential calls: no stale entry, no leaked port ----
created0=$(stat 'kernel entries created')
LAB_SIPP_TIMEOUT=$((40 + CALLS / 8)) uas "$CALLS" many
# one call at a time (-l 1) at up to 50/s: SIPp's time bound grows with the
# count, so a slow machine runs them to the end rather than into the bound
LAB_SIPP_TIMEOUT=$((40 + CALLS / 8)) lab_sipp "$TE" alice-many -sf "$SC/plain_uac.xml" \
	-i 10.1.0.10 -p 5060 -mp 6000 -s bob -m "$CALLS" -l 1 -r 50 -d 10 "$E:5060"
rc=$?
lab_sipp_wait "$UAS"
check_eq "$CALLS sequential calls succeed (caller, callee)" "0 0" "$rc $?"
check_eq "$CALLS calls: all successful" "$CALLS" "$(lab_sipp_successful alice-many)"
created1=$(stat 'kernel entries created')
check_eq "$CALLS calls: two entries created per call" $((2 * CALLS)) $(( ${created1:-0} - ${created0:-0} ))
check "$CALLS calls: zero stale entries" sp_wait_for "no entries" 3 no_entries
check "$CALLS calls: zero media ports allocated" ports_free
check_eq "$CALLS calls: no session left" 0 "$(sp_cli sp1 -c 'show sessions count' | grep -oE '[0-9]+' | head -1)"
check_eq "$CALLS calls: no kernel error" 0 "$(stat 'kernel errors')"

# ---- overlapping calls all announcing the same media address and port ----
# bench/run's pattern (its SIPps give every call alice:6000 and D1:6000):
# the entries differ only in E:pe and C:pc, and every one must be accepted.
OVERLAP=${MEDIA_OVERLAP_CALLS:-60}
created0=$(stat 'kernel entries created')
errors0=$(stat 'kernel errors')
uas "$OVERLAP" overlap
lab_sipp "$TE" alice-overlap -sf "$SC/plain_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob \
	-m "$OVERLAP" -l 20 -r 40 -d 400 "$E:5060"
rc=$?
lab_sipp_wait "$UAS"
check_eq "$OVERLAP overlapping calls, same SDP address and port, succeed" "0 0" "$rc $?"
created1=$(stat 'kernel entries created')
check_eq "$OVERLAP overlapping calls: every entry programmed" $((2 * OVERLAP)) $(( ${created1:-0} - ${created0:-0} ))
check_eq "$OVERLAP overlapping calls: no kernel error" "${errors0:-0}" "$(stat 'kernel errors')"
check_no_match "$OVERLAP overlapping calls: no 'cannot program' in the log" "cannot program" \
	"$(cat "$SP_TMP/sp1/log")"
check "$OVERLAP overlapping calls: zero stale entries" sp_wait_for "no entries" 3 no_entries
check "$OVERLAP overlapping calls: zero media ports allocated" ports_free

# ---- a stale entry (a crashed run's) is removed by the reconciliation ----
ip netns exec "$SP" conntrack -I -p udp -s 10.1.0.99 -d "$E" --sport 7000 --dport 20090 \
	-r "$D1" -q "$C" --reply-port-src 7000 --reply-port-dst 20092 -t 300 -m 0x53500000 >/dev/null 2>&1
check_eq "a stale owned entry exists" 1 "$(entry_count)"
check "the reconciliation removes it (within 10 s)" sp_wait_for "no entries" 12 no_entries

# ---- media off: SDP untouched, nothing programmed ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "media off" -c "end" 2>&1)
check_eq "media off accepted" "" "$out"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$LAB_OUT/off.pcap"
sleep 1
uas 1 off
lab_sipp "$TE" alice-off -sf "$SC/plain_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 \
	-d 1500 "$E:5060" &
UAC=$!
sleep 1
check "media off: no entry during the call" no_entries
wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "media off: the call works" "0 0" "$rc $?"
lab_capture_stop
sdp_off=$(lab_pcap_sdp "$LAB_OUT/off.pcap")
check_match "media off: the server sees alice's own c=" "c=IN IP4 10\\.1\\.0\\.10" "$sdp_off"
check_match "media off: alice's port 6000 untouched" "m=audio 6000 " "$(cat "$LAB_OUT/sipp/uas-off.msg" 2>/dev/null)"

# ---- SIGTERM during a call: the daemon removes its entries ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "media kernel" -c "end" 2>&1)
check_eq "media kernel again" "" "$out"
uas 1 shutdown
lab_sipp_bg "$TE" alice-shutdown -sf "$SC/plain_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob \
	-m 1 -d 5000 "$E:5060"
check "a call's entries before SIGTERM" sp_wait_for "two entries" 5 two_entries
check "sigproxyd stops cleanly during the call" sp_daemon_stop "$SP_DAEMON_PID"
check "no entry left after SIGTERM" no_entries

lab_down
sp_done
