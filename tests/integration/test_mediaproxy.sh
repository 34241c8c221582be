#!/bin/bash
# Remote media proxies (issue 19): two rtpengine daemons (Debian's
# rtpengine-daemon, userspace forwarding, --table=-1: no kernel module),
# each in its own namespace behind ns sp, driven by sigproxyd over the NG
# protocol. alice (ns te) calls a SIPp UAS on D1 through E with
# `media proxy`: the SDP each side sees is the MP's, RTP flows both ways
# through the MP (counted at both terminals' links and in rtpengine's own
# statistics), a terminal behind a port-mapping NAT gets its media through
# the MP (received-from, SIP-source-address, port-latching), calls are
# spread over both MPs, one MP stopped mid-test is
# taken out of rotation (new calls go to the other), both stopped: the
# fallback applies (kernel media, then refuse with 503), and a responder
# that answers garbage, a wrong cookie, a huge dictionary or nothing is
# counted and survived (the call falls back to the kernel).
#
#   te 10.1.0.10 --- sp --- srv1 192.0.2.10 (D1)
#                    |  192.0.2.33/28 --- mp1 192.0.2.34 (rtpengine, NG :2223)
#                    |  192.0.2.49/28 --- mp2 192.0.2.50 (rtpengine, NG :2223)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab_nat.sh"
. "$(dirname "$0")/mplab.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark python3 rtpengine
PCAP=/usr/share/sip-tester/g711a.pcap
sp_require_files "$PCAP"

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
MP1=192.0.2.34
MP2=192.0.2.50
SC=$LAB_SIPP_DIR
HERE=$(cd "$(dirname "$0")" && pwd)
declare -A RTPE_PID=()

# rtpe_start N ADDR: rtpengine in ns mpN, userspace only
rtpe_start() {
	rtpe_run "$SP_TAG-mp$1" "$2" "rtpe$1"
	RTPE_PID[$1]=$RTPE_LAST_PID
}
# mp_packets N CALL-ID...: the packets rtpengine N counted on every stream
# of these calls (its NG query)
mp_packets() {
	local addr=$MP1
	[ "$1" = 2 ] && addr=$MP2
	rtpe_packets "$SP_TAG-mp$1" "$addr" "${@:2}"
}
mp_field() { # mp_field NAME FIELD: a number of show media-proxy NAME
	sp_cli sp1 -c "show media-proxy $1" | sed -nE "s/.*$2 +([0-9]+).*/\\1/p" | head -1
}
mp_in_service() { sp_cli sp1 -c "show media-proxy $1" | grep -q "^media-proxy $1: in service"; }
mp_out() { sp_cli sp1 -c "show media-proxy $1" | grep -q "^media-proxy $1: not in service"; }
stat() {
	sp_cli sp1 -c 'show statistics' | sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
uas() { # uas N NAME: the callee answering N calls with RTP echo
	lab_sipp_bg "$SRV1" "uas-$2" -sf "$SC/rtp_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m "$1"
	UAS=$LAB_SIPP_PID
	sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
}
calls() { # calls N NAME: N sequential calls from alice (no RTP); SIPp's status
	uas "$1" "$2"
	lab_sipp "$TE" "alice-$2" -sf "$SC/uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m "$1" -l 1 \
		-d 200 "$E:5060"
	local rc=$?
	lab_sipp_wait "$UAS"
	return $(( rc | $? ))
}

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
mp_ns 1 192.0.2.33 "$MP1" && mp_ns 2 192.0.2.49 "$MP2" ||
	{ sp_fail "media proxy namespaces"; sp_done; exit 1; }
rtpe_start 1 "$MP1"
rtpe_start 2 "$MP2"
check "rtpengine 1 answers NG pings" sp_wait_for "rtpengine 1" 5 rtpe_pings "$SP_TAG-mp1" "$MP1"
check "rtpengine 2 answers NG pings" sp_wait_for "rtpengine 2" 5 rtpe_pings "$SP_TAG-mp2" "$MP2"
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" \
	-c "media-proxy mp1" -c "control $MP1 port 2223" \
	-c "media-proxy mp2" -c "control $MP2 port 2223" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media proxy" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "media proxies, media proxy and the strategy accepted" "" "$out"
check "show media-proxy: mp1 in service" sp_wait_for "mp1 in service" 5 mp_in_service mp1
check "show media-proxy: mp2 in service" sp_wait_for "mp2 in service" 5 mp_in_service mp2
check_match "running-config holds the media proxies" "media-proxy mp1
 control $MP1 port 2223" "$(sp_cli sp1 -c 'show running-config')"

# ---- one call with RTP both ways through a remote MP ----
TE_PCAP=$LAB_OUT/mp-te.pcap
SRV_PCAP=$LAB_OUT/mp-srv1.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "udp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "udp"
sleep 1
uas 1 rtp
lab_sipp_bg "$TE" alice-rtp -sf "$SC/rtp_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 \
	-d 4000 "$E:5060"
UAC=$LAB_SIPP_PID
sleep 2
held=$(( $(mp_field mp1 'calls held') + $(mp_field mp2 'calls held') ))
check_eq "show media-proxy: one call held during the call" 1 "$held"
cid=$(sp_cli sp1 -c 'show sessions' | grep -oE '[0-9]+-[0-9]+@10\.1\.0\.10' | head -1)
check_match "show sessions detail names the call's media proxy" "media proxy mp[12]" \
	"$(sp_cli sp1 -c 'show sessions detail')"
# its counters at the MP: the first show asks (NG query), a later one shows
mp_counters() { sp_cli sp1 -c 'show sessions detail' | grep -qE 'media proxy counters: rtp [1-9][0-9]* packets'; }
check "show sessions detail: the call's counters at its MP (rtpengine's query)" \
	sp_wait_for "MP counters" 3 mp_counters
sp_rtp=$(sp_cli sp1 -c 'show sessions detail | json' | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["sessions"] if x.get("media-proxy")]
print(s[0]["media-proxy-counters"]["rtp-packets"] if s and s[0]["media-proxy-counters"] else 0)')
check "show sessions detail | json: media-proxy-counters (rtp-packets $sp_rtp)" test "${sp_rtp:-0}" -gt 0
# at once, while the call lasts (4 s): under ASan on a loaded machine the
# checks above can take that long, and rtpengine forgets a call at its BYE
rel1=$(mp_packets 1 "$cid"); rel2=$(mp_packets 2 "$cid")
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the call through the remote MP ends well (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log alice-rtp | sed 's/^/#   /'
lab_capture_stop
rel=$(( ${rel1:-0} + ${rel2:-0} ))
check "rtpengine's own statistics (query): RTP relayed during the call ($rel packets)" test "$rel" -ge 100
check "the SP's figure is rtpengine's, no more ($sp_rtp <= $rel)" test "${sp_rtp:-0}" -le "$rel"
te_out=$(lab_pcap_count "$TE_PCAP" "rtp && ip.src == 10.1.0.10 && (ip.dst == $MP1 || ip.dst == $MP2)")
te_back=$(lab_pcap_count "$TE_PCAP" "rtp && (ip.src == $MP1 || ip.src == $MP2) && ip.dst == 10.1.0.10")
srv_out=$(lab_pcap_count "$SRV_PCAP" "rtp && (ip.src == $MP1 || ip.src == $MP2) && ip.dst == $D1")
srv_back=$(lab_pcap_count "$SRV_PCAP" "rtp && ip.src == $D1 && (ip.dst == $MP1 || ip.dst == $MP2)")
check "RTP from alice to the MP on the terminal link ($te_out)" test "${te_out:-0}" -ge 100
check "RTP from the MP to D1 on the server link ($srv_out)" test "${srv_out:-0}" -ge 100
check "echo from D1 to the MP on the server link ($srv_back)" test "${srv_back:-0}" -ge 100
check "echo from the MP to alice on the terminal link ($te_back)" test "${te_back:-0}" -ge 100
sdp_srv=$(lab_pcap_sdp "$SRV_PCAP")
sdp_te=$(lab_pcap_sdp "$TE_PCAP")
check_match "the server saw the MP's address in the offer" "c=IN IP4 192\\.0\\.2\\.(34|50)" "$sdp_srv"
check_no_match "the server never saw alice's address" "c=IN IP4 10\\.1\\.0\\.10" "$sdp_srv"
check_match "alice saw the MP's address in the answer" "> 10\\.1\\.0\\.10 c=IN IP4 192\\.0\\.2\\.(34|50)" "$sdp_te"
held=$(( $(mp_field mp1 'calls held') + $(mp_field mp2 'calls held') ))
check_eq "show media-proxy: no call held after BYE (delete sent)" 0 "$held"

# ---- a terminal behind a NAT: the MP takes its signalling source ----
# carol (192.168.77.10 in ns priv, SDP and Contact private) reaches the SP
# as 10.3.0.2 with her source ports mapped into 30000-30999: the offer
# says so (received-from, SIP-source-address, port-latching) and the MP
# learns her RTP's real port from its first packets.
lab_nat_up 30000-30999 || { sp_fail "NAT namespaces"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "proxy-strategy nat seq 20" -c "match source $LAB_NAT_NET" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategy for the NAT'd terminal accepted" "" "$out"
NAT_PCAP=$LAB_OUT/mp-nat.pcap
lab_capture_start "$PRIV" eth0 "$NAT_PCAP" "udp"
sleep 1
uas 1 nat
lab_sipp "$PRIV" carol-nat -sf "$SC/rtp_uac.xml" -i "$LAB_NAT_PRIV" -p 5060 -mp 6000 -s bob -m 1 \
	-d 4000 "$E:5060"
rc=$?
lab_sipp_wait "$UAS"
check_eq "the NAT'd terminal's call through the MP ends well (caller, callee)" "0 $rc" "$? $rc"
[ "$rc" = 0 ] || lab_sipp_log carol-nat | sed 's/^/#   /'
lab_capture_stop
nat_back=$(lab_pcap_count "$NAT_PCAP" "rtp && (ip.src == $MP1 || ip.src == $MP2) && ip.dst == $LAB_NAT_PRIV")
nat_out=$(lab_pcap_count "$NAT_PCAP" "rtp && ip.src == $LAB_NAT_PRIV && (ip.dst == $MP1 || ip.dst == $MP2)")
check "NAT: RTP from carol to the MP ($nat_out)" test "${nat_out:-0}" -ge 100
check "NAT: the echo reaches carol behind her NAT ($nat_back)" test "${nat_back:-0}" -ge 100
check_match "NAT: carol saw the MP's address in the answer" "> ${LAB_NAT_PRIV//./\\.} c=IN IP4 192\\.0\\.2\\.(34|50)" \
	"$(lab_pcap_sdp "$NAT_PCAP")"

# ---- calls spread over both MPs ----
o1=$(mp_field mp1 offers); o2=$(mp_field mp2 offers)
calls 4 spread; rc=$?
check_eq "4 calls through the MPs succeed" 0 "$rc"
d1=$(( $(mp_field mp1 offers) - o1 )); d2=$(( $(mp_field mp2 offers) - o2 ))
check "both MPs took new calls (mp1 $d1, mp2 $d2 offers)" test "$d1" -ge 1 -a "$d2" -ge 1

# ---- clear sessions: the MPs are told (delete), no call held ----
held_calls() { echo $(( $(mp_field mp1 'calls held') + $(mp_field mp2 'calls held') )); }
held_is() { [ "$(held_calls)" = "$1" ]; }
del0=$(( $(mp_field mp1 deletes) + $(mp_field mp2 deletes) ))
uas 1 clear
lab_sipp_bg "$TE" alice-clear -sf "$SC/uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 3000 "$E:5060"
UAC=$LAB_SIPP_PID
check "a call held before clear sessions" sp_wait_for "one call held" 5 held_is 1
sp_cli sp1 -c "clear sessions" >/dev/null
check_eq "clear sessions: no call held by the MPs" 0 "$(held_calls)"
check_eq "clear sessions: one delete sent" $((del0 + 1)) $(( $(mp_field mp1 deletes) + $(mp_field mp2 deletes) ))
lab_sipp_wait "$UAC"; lab_sipp_wait "$UAS"

# ---- mp1 stops: out of rotation, new calls go to mp2 ----
kill -TERM "${RTPE_PID[1]}"; wait "${RTPE_PID[1]}" 2>/dev/null
check "mp1 stopped: taken out of rotation" sp_wait_for "mp1 out" 8 mp_out mp1
check_match "the log says mp1 is out of rotation" "media-proxy mp1: no answer" "$(cat "$SP_TMP/sp1/log")"
o1=$(mp_field mp1 offers); o2=$(mp_field mp2 offers)
calls 2 after1; rc=$?
check_eq "2 calls with mp1 stopped succeed" 0 "$rc"
check_eq "they all went to mp2 (mp1, mp2 offers)" "0 2" "$(( $(mp_field mp1 offers) - o1 )) $(( $(mp_field mp2 offers) - o2 ))"

# ---- both stopped: fallback kernel, then refuse ----
kill -TERM "${RTPE_PID[2]}"; wait "${RTPE_PID[2]}" 2>/dev/null
check "mp2 stopped: taken out of rotation" sp_wait_for "mp2 out" 8 mp_out mp2
f0=$(stat 'media proxy fallbacks')
calls 1 kernel; rc=$?
check_eq "no MP answers, fallback kernel: the call works" 0 "$rc"
check_match "fallback kernel: the server saw C (the kernel's media)" "c=IN IP4 ${C//./\\.}" \
	"$(cat "$LAB_OUT/sipp/uas-kernel.msg")"
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp1" -c "fallback refuse" -c "end" 2>&1)
check_eq "fallback refuse accepted" "" "$out"
r0=$(stat 'no media proxy')
uas 1 refuse
lab_sipp "$TE" alice-refuse -sf "$SC/uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 200 "$E:5060"
rc=$?
kill "$UAS" 2>/dev/null; wait "$UAS" 2>/dev/null
check "fallback refuse: the call fails" test "$rc" -ne 0
check_match "fallback refuse: alice got 503" "SIP/2.0 503" "$(cat "$LAB_OUT/sipp/alice-refuse.msg")"
check "fallback refuse: counted (no media proxy)" test "$(stat 'no media proxy')" -gt "${r0:-0}"

# ---- a responder answering badly: counted, survived, the call falls back ----
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp1" -c "no fallback" -c "end" 2>&1)
check_eq "fallback kernel again" "" "$out"
ip netns exec "$SP_TAG-mp1" python3 "$HERE/mp_fake.py" "$MP1" 2223 >/dev/null 2>&1 &
SP_PIDS+=("$!")
check "the fake responder back in rotation" sp_wait_for "mp1 in service" 8 mp_in_service mp1
calls 1 bad; rc=$?
check_eq "bad NG replies: the call still works (kernel fallback)" 0 "$rc"
detail=$(sp_cli sp1 -c 'show media-proxy mp1')
echo "$detail" | sed 's/^/#   /'
check "bad replies counted (garbage, huge dictionary)" test "$(mp_field mp1 'bad replies')" -ge 2
check "wrong cookie counted" test "$(mp_field mp1 'wrong cookie')" -ge 1
check "timeouts counted" test "$(mp_field mp1 timeouts)" -ge 1
check "fallbacks counted" test "$(stat 'media proxy fallbacks')" -gt "${f0:-0}"
check_match "sigproxyd survived" "sigproxy" "$(sp_cli sp1 -c 'show version')"
check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"

lab_down
sp_done
