#!/bin/bash
# Calls between IPv4 and IPv6 (issue 18 item 4, issue 19's IPv4 terminal
# calling an IPv6 server): one strategy whose terminals are IPv4 and whose
# server is IPv6, and one the other way round. The signalling is rewritten
# between the families by the usual address mapping (E and the terminal of
# one family, C and D of the other: Via, Contact, Request-URI,
# Record-Route); the media is translated by rtpengine (Debian's
# rtpengine-daemon, userspace, --table=-1) in its own namespace with an
# address of each family, told over NG which family each side's SDP
# announces ("address family") and its media-address per side and family.
#
#   te 10.1.0.10, 2001:db8:1::11 --- sp --- srv1 192.0.2.10, 2001:db8:2::10 (D1, D6)
#                                     |  192.0.2.33/28, 2001:db8:7::1/64
#                                     +--- mp1 192.0.2.34, 2001:db8:7::34 (rtpengine, NG :2223)
#
# Checked: such a strategy is refused with its reason without media proxy
# and with an MP of one family, installed with an MP of both; alice (IPv4)
# calls a SIPp UAS on [D6] through E: the server link carries only IPv6
# (SIP from [C6]:c with Via, Contact and Request-URI of C6/D6, SDP c=IN IP6
# of the MP), the terminal link only IPv4 (answers from E, Record-Route and
# Contact naming E, SDP c=IN IP4 of the MP), RTP flows both ways counted at
# both ends and in rtpengine's own statistics, the BYE deletes the call at
# the MP; the IPv6 server calls alice back through her binding (its offer
# translated towards IPv4); bob (IPv6) calls a UAS on D1 (IPv4) through E6
# the same way; with the MP stopped, such a call is refused 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp dumpcap tshark python3 rtpengine
sp_require_files /usr/share/sip-tester/g711a.pcap

E=$LAB_E E6=$LAB6_E C=$LAB_C C6=$LAB6_C D1=$LAB_D1 D6=$LAB6_D1
A=10.1.0.10 B6=${LAB6_TE_NET}11
MP4=192.0.2.34 MP6=2001:db8:7::34
SC=$LAB_SIPP_DIR
HERE=$(cd "$(dirname "$0")" && pwd)

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }
# ns mp1 behind ns sp, both families
sp_netns mp1 >/dev/null || { sp_fail "media proxy namespace"; sp_done; exit 1; }
MPNS=$SP_TAG-mp1
ip netns exec "$MPNS" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link add eth0 netns "$MPNS" type veth peer name mp1 netns "$SP" &&
	ip -n "$SP" addr add 192.0.2.33/28 dev mp1 && lab6_addr "$SP" mp1 2001:db8:7::1/64 &&
	ip -n "$SP" link set mp1 up &&
	ip -n "$MPNS" addr add "$MP4/28" dev eth0 && lab6_addr "$MPNS" eth0 "$MP6/64" &&
	ip -n "$MPNS" link set eth0 up &&
	ip -n "$MPNS" route add default via 192.0.2.33 &&
	ip -n "$MPNS" -6 route add default via 2001:db8:7::1 ||
	{ sp_fail "media proxy namespace links"; sp_done; exit 1; }
# one logical interface with an address of each family: "address family"
# picks the one each side's SDP announces
ip netns exec "$MPNS" rtpengine --foreground --log-stderr --config-file=none --table=-1 \
	--interface="$MP4" --interface="$MP6" --listen-ng="$MP4:2223" \
	--port-min=30000 --port-max=30199 --pidfile="$SP_TMP/rtpe.pid" >"$SP_TMP/rtpe.log" 2>&1 &
RTPE_PID=$!
SP_PIDS+=("$!")

# ng_query CALL-ID: the packets rtpengine counted on every stream of the
# call, and the families of its local addresses ("4 6"), from its NG query
ng_query() {
	ip netns exec "$MPNS" python3 - "$MP4" "$1" <<'PY'
import re, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
cid = sys.argv[2].encode()
s.sendto(b"xq d7:command5:query7:call-id%d:%se" % (len(cid), cid), (sys.argv[1], 2223))
q = s.recv(65535).partition(b" ")[2]
fam = set()
for m in re.finditer(rb"13:local address(\d+):", q):
    addr = q[m.end():m.end() + int(m.group(1))]
    fam.add("6" if b":" in addr else "4")
fam = sorted(fam)
print(sum(int(n) for n in re.findall(rb"7:packetsi(\d+)e", q)), " ".join(fam))
PY
}
ng_ping() {
	ip netns exec "$MPNS" python3 -c 'import socket,sys;s=socket.socket(2,2);s.settimeout(0.5);s.sendto(b"p d7:command4:pinge",(sys.argv[1],2223));s.recv(99)' "$MP4"
}
check "rtpengine (both families) answers NG pings" sp_wait_for "rtpengine" 5 ng_ping
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }

strategy_state() { sp_cli sp1 -c "show proxy-strategy $1" | head -1; }
mp_field() { sp_cli sp1 -c "show media-proxy mp1" | sed -nE "s/.*$1 +([0-9]+).*/\\1/p" | head -1; }
mp_in_service() { sp_cli sp1 -c "show media-proxy mp1" | grep -q "^media-proxy mp1: in service"; }

# ---- without a media proxy: refused with the reason ----
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "server-side-address $C6" -c "media-port-range 20000 20099" \
	-c "proxy-strategy x46 seq 10" -c "match source $A/32 port 5062" \
	-c "match destination $E/32 port 5060" -c "server $D6 port 5070" -c "action proxy" \
	-c "proxy-strategy x64 seq 20" -c "match source $B6/128 port 5062" \
	-c "match destination $E6/128 port 5060" -c "server $D1 port 5070" -c "action proxy" -c "end" 2>&1)
check_eq "the two interworking strategies accepted by the CLI" "" "$out"
check_match "IPv4 terminals, IPv6 server, media in the kernel: not installed, with the reason" \
	"x46 seq 10: not installed.*matches IPv4 but its server is IPv6: interworking needs media proxy" \
	"$(strategy_state x46)"
check_match "IPv6 terminals, IPv4 server, media in the kernel: not installed, with the reason" \
	"x64 seq 20: not installed.*matches IPv6 but its server is IPv4: interworking needs media proxy" \
	"$(strategy_state x64)"
check_no_match "nothing intercepted for them" "x46|x64" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept 2>&1)"

# ---- an MP of one family: still refused ----
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp1" -c "control $MP4 port 2223" \
	-c "media-address terminal-side $MP4" -c "media-address server-side $MP4" \
	-c "proxy-strategy x46 seq 10" -c "media proxy mp1" \
	-c "proxy-strategy x64 seq 20" -c "media proxy mp1" -c "end" 2>&1)
check_eq "media-proxy mp1 (IPv4 media addresses) and media proxy accepted" "" "$out"
check_match "an MP of IPv4 only: x46 not installed, with the reason" \
	"x46 seq 10: not installed.*needs a media-proxy with media-address terminal-side IPv4 and server-side IPv6" \
	"$(strategy_state x46)"
check_match "... nor x64" \
	"x64 seq 20: not installed.*needs a media-proxy with media-address terminal-side IPv6 and server-side IPv4" \
	"$(strategy_state x64)"

# ---- an MP of both families: installed ----
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp1" \
	-c "media-address terminal-side $MP6" -c "media-address server-side $MP6" -c "end" 2>&1)
check_eq "IPv6 media addresses beside the IPv4 ones accepted" "" "$out"
check_match "running-config: both families on each side" "media-address terminal-side $MP4
 media-address terminal-side $MP6
 media-address server-side $MP4
 media-address server-side $MP6" "$(sp_cli sp1 -c 'show running-config')"
check_match "x46 installed, saying how" \
	"x46 seq 10: installed \\(interworking: IPv4 terminals, IPv6 server, media through a media proxy\\)" \
	"$(strategy_state x46)"
check_match "x64 installed, saying how" \
	"x64 seq 20: installed \\(interworking: IPv6 terminals, IPv4 server, media through a media proxy\\)" \
	"$(strategy_state x64)"
nft=$(ip netns exec "$SP" nft list chain inet sigproxy intercept)
check_match "nft: x46 intercepts IPv4 (TPROXY for ip)" "ip daddr $E .*tproxy ip to :5060.*x46|x46.*" "$nft"
check_match "nft: x64 intercepts IPv6 (TPROXY for ip6)" "ip6 daddr $E6 .*tproxy ip6 to :5060" "$nft"
check "mp1 in service" sp_wait_for "mp1 in service" 5 mp_in_service

# call NAME CALLER-NS CALLER-IP SERVER-NS SERVER-IP VIRTUAL: one call from
# CALLER-IP:5062 to VIRTUAL:5060, answered by a SIPp UAS on SERVER-IP:5070
# that echoes the RTP (uas_rr.xml: with a Record-Route of its own), the
# caller playing g711a.pcap for 4 s; rtpengine's packet count and its local
# families during the call in QUERY; SIPp's exit statuses in RC
call() {
	local name=$1 cns=$2 cip=$3 sns=$4 sip=$5 virt=$6 uas cid
	lab_sipp_bg "$sns" "uas-$name" -sf "$HERE/sipp/uas_rr.xml" -i "$sip" -p 5070 -mp 6000 \
		-rtp_echo -m 1
	uas=$LAB_SIPP_PID
	sp_wait_for "UAS on $sip:5070" 10 lab_bound "$sns" "$sip" 5070
	lab_sipp_bg "$cns" "uac-$name" -sf "$SC/rtp_uac.xml" -i "$cip" -p 5062 -mp 6000 -s echo -m 1 \
		-d 4000 "$(lab_hostport "$virt" 5060)"
	sleep 3
	# the SP's count first: under ASan on a loaded machine the query took
	# long enough for the BYE (at 4 s) to come before it
	HELD=$(mp_field 'calls held')
	cid=$(sp_cli sp1 -c 'show sessions' | grep -oE '[0-9]+-[0-9]+@[0-9a-f.:]+' | head -1)
	QUERY=$(ng_query "$cid")
	lab_sipp_wait "$LAB_SIPP_PID"
	RC=$?
	lab_sipp_wait "$uas"
	RC="$RC $?"
	[ "$RC" = "0 0" ] || { lab_sipp_log "uac-$name"; lab_sipp_log "uas-$name"; } | sed 's/^/#   /'
}

# ---- alice (IPv4) calls the IPv6 server through E ----
TE_PCAP=$LAB_OUT/x46-te.pcap
SRV_PCAP=$LAB_OUT/x46-srv.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "udp" >/dev/null
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "udp" >/dev/null
del0=$(mp_field deletes)
call x46 "$TE" "$A" "$SRV1" "$D6" "$E"
lab_capture_stop
check_eq "IPv4 terminal -> IPv6 server: the call ends well (caller, callee)" "0 0" "$RC"
check_eq "show media-proxy: the call held by mp1 during it" 1 "$HELD"
read -r rel fams <<<"$QUERY"
check "rtpengine's own statistics (query): RTP relayed during the call (${rel:-0} packets)" \
	test "${rel:-0}" -ge 100
check_eq "... on local addresses of both families" "4 6" "$fams"
check_eq "the BYE deleted the call at the MP" $((${del0:-0} + 1)) "$(mp_field deletes)"
check_eq "show media-proxy: no call held after the BYE" 0 "$(mp_field 'calls held')"
# the signalling on each link: one family each
check_eq "terminal link: SIP only between alice and E (IPv4)" "$A	$E
$E	$A" "$(lab_tshark "$TE_PCAP" -Y sip -T fields -e ip.src -e ip.dst | sort -u)"
check_eq "server link: SIP only between C6 and D6 (IPv6)" "$C6	$D6
$D6	$C6" "$(lab_tshark "$SRV_PCAP" -Y sip -T fields -e ipv6.src -e ipv6.dst | sort -u)"
inv=$(lab_tshark "$SRV_PCAP" -Y 'sip.Method == "INVITE"' -T fields -e sip.r-uri -e sip.Via -e sip.contact.uri | head -1)
check_match "server link: the INVITE's Request-URI names [D6]:5070" "^sip:echo@\\[$D6\\]:5070" "$inv"
check_match "... its top Via is [C6]:c" "SIP/2.0/UDP \\[$C6\\]:4[0-9]{4}" "$inv"
check_match "... its Contact is [C6]:c" "@\\[$C6\\]:4[0-9]{4}" "$inv"
ok=$(lab_tshark "$TE_PCAP" -Y 'sip.Status-Code == 200 && sip.CSeq.method == "INVITE"' -T fields \
	-e sip.Record-Route -e sip.contact.uri | head -1)
check_match "terminal link: the 200's Record-Route names E (D6's turned)" "^<sip:${E//./\\.}(:5060)?;lr>" "$ok"
check_match "... and its Contact names E" "sip:service@${E//./\\.}(:5060)?\$" "$ok"
check_no_match "... no IPv6 address reaches alice's SIP" "2001:db8" \
	"$(lab_tshark "$TE_PCAP" -Y sip -T fields -e sip.msg_hdr | head -5)"
check_match "server link: the offer's SDP is the MP's IPv6 address" "c=IN IP6 $MP6" "$(lab_pcap_sdp "$SRV_PCAP")"
check_no_match "... never alice's" "10\\.1\\.0\\.10" "$(lab_pcap_sdp "$SRV_PCAP")"
check_match "... its o= line too" "IN IP6 $MP6" \
	"$(lab_tshark "$SRV_PCAP" -Y "sdp && ipv6.dst == $D6" -T fields -e sdp.owner | sort -u)"
check_match "the answer's o= line towards alice is the MP's IPv4 address" "IN IP4 ${MP4//./\\.}" \
	"$(lab_tshark "$TE_PCAP" -Y "sdp && ip.dst == $A" -T fields -e sdp.owner | sort -u)"
check_match "terminal link: the answer's SDP is the MP's IPv4 address" "> $A c=IN IP4 ${MP4//./\\.}" \
	"$(lab_pcap_sdp "$TE_PCAP")"
n_out=$(lab_pcap_count "$TE_PCAP" "ip.src == $A && udp.srcport == 6000 && ip.dst == $MP4")
n_srv=$(lab_pcap_count "$SRV_PCAP" "ipv6.src == $MP6 && ipv6.dst == $D6 && udp.dstport == 6000")
n_echo=$(lab_pcap_count "$SRV_PCAP" "ipv6.src == $D6 && udp.srcport == 6000 && ipv6.dst == $MP6")
n_back=$(lab_pcap_count "$TE_PCAP" "ip.src == $MP4 && ip.dst == $A && udp.dstport == 6000")
check "RTP alice -> MP (IPv4) on the terminal link ($n_out)" test "${n_out:-0}" -ge 100
check "... MP -> D6 (IPv6) on the server link ($n_srv)" test "${n_srv:-0}" -ge 100
check "echo D6 -> MP (IPv6) on the server link ($n_echo)" test "${n_echo:-0}" -ge 100
check "... MP -> alice (IPv4) on the terminal link ($n_back)" test "${n_back:-0}" -ge 100

# ---- the IPv6 server calls alice back: its offer towards the IPv4 terminal ----
# alice's binding (10.1.0.10:5062 <-> [C6]:c) from the call above; a SIPp
# UAC on [D6]:5070 calls [C6]:c, alice answers (echoing the RTP)
cport=$(sp_cli sp1 -c 'show bindings' | grep -F "$A:5062" | grep -oE "\\[$C6\\]:[0-9]+" | head -1 | sed 's/.*://')
check "alice's binding has a C6:c (${cport:-none})" test -n "$cport"
TE_PCAP=$LAB_OUT/back-te.pcap
SRV_PCAP=$LAB_OUT/back-srv.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "udp" >/dev/null
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "udp" >/dev/null
lab_sipp_bg "$TE" uas-back -sf "$SC/uas.xml" -i "$A" -p 5062 -mp 6000 -rtp_echo -m 1
uas=$LAB_SIPP_PID
sp_wait_for "alice's UAS" 10 lab_bound "$TE" "$A" 5062
lab_sipp "$SRV1" uac-back -sf "$SC/rtp_uac.xml" -i "$D6" -p 5070 -mp 6000 -s alice -m 1 -d 4000 \
	"[$C6]:${cport:-1}"
rc=$?
lab_sipp_wait "$uas"
check_eq "IPv6 server -> IPv4 terminal: the call ends well (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log uac-back | sed 's/^/#   /'
lab_capture_stop
check_match "terminal link: the server's offer reaches alice with the MP's IPv4 address" \
	"> $A c=IN IP4 ${MP4//./\\.}" "$(lab_pcap_sdp "$TE_PCAP")"
sdp=$(lab_tshark "$SRV_PCAP" -Y "sdp && ipv6.dst == $D6" -T fields -e sdp.connection_info | sort -u)
check_eq "server link: alice's answer reaches D6 with the MP's IPv6 address" "IN IP6 $MP6" "$sdp"
n_out=$(lab_pcap_count "$SRV_PCAP" "ipv6.src == $D6 && udp.srcport == 6000 && ipv6.dst == $MP6")
n_back=$(lab_pcap_count "$SRV_PCAP" "ipv6.src == $MP6 && ipv6.dst == $D6 && udp.dstport == 6000")
n_te=$(lab_pcap_count "$TE_PCAP" "ip.src == $MP4 && ip.dst == $A && udp.dstport == 6000")
n_echo=$(lab_pcap_count "$TE_PCAP" "ip.src == $A && udp.srcport == 6000 && ip.dst == $MP4")
check "RTP D6 -> MP (IPv6) ($n_out), MP -> alice (IPv4) ($n_te)" test "${n_out:-0}" -ge 100 -a "${n_te:-0}" -ge 100
check "echo alice -> MP (IPv4) ($n_echo), MP -> D6 (IPv6) ($n_back)" test "${n_echo:-0}" -ge 100 -a "${n_back:-0}" -ge 100

# ---- bob (IPv6) calls the IPv4 server through E6 ----
TE_PCAP=$LAB_OUT/x64-te.pcap
SRV_PCAP=$LAB_OUT/x64-srv.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" "udp" >/dev/null
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV_PCAP" "udp" >/dev/null
call x64 "$TE" "$B6" "$SRV1" "$D1" "$E6"
lab_capture_stop
check_eq "IPv6 terminal -> IPv4 server: the call ends well (caller, callee)" "0 0" "$RC"
read -r rel fams <<<"$QUERY"
check "rtpengine's statistics: RTP relayed during the call (${rel:-0} packets)" test "${rel:-0}" -ge 100
check_eq "server link: SIP only between C and D1 (IPv4)" "$C	$D1
$D1	$C" "$(lab_tshark "$SRV_PCAP" -Y sip -T fields -e ip.src -e ip.dst | sort -u)"
check_eq "terminal link: SIP only between bob and E6 (IPv6)" "$B6	$E6
$E6	$B6" "$(lab_tshark "$TE_PCAP" -Y sip -T fields -e ipv6.src -e ipv6.dst | sort -u)"
check_match "server link: the offer's SDP is the MP's IPv4 address" "c=IN IP4 ${MP4//./\\.}" "$(lab_pcap_sdp "$SRV_PCAP")"
sdp=$(lab_tshark "$TE_PCAP" -Y "sdp && ipv6.dst == $B6" -T fields -e sdp.connection_info | sort -u)
check_eq "terminal link: the answer's SDP is the MP's IPv6 address" "IN IP6 $MP6" "$sdp"
n_out=$(lab_pcap_count "$TE_PCAP" "ipv6.src == $B6 && udp.srcport == 6000 && ipv6.dst == $MP6")
n_srv=$(lab_pcap_count "$SRV_PCAP" "ip.src == $MP4 && ip.dst == $D1 && udp.dstport == 6000")
n_echo=$(lab_pcap_count "$SRV_PCAP" "ip.src == $D1 && udp.srcport == 6000 && ip.dst == $MP4")
n_back=$(lab_pcap_count "$TE_PCAP" "ipv6.src == $MP6 && ipv6.dst == $B6 && udp.dstport == 6000")
check "RTP bob -> MP (IPv6) on the terminal link ($n_out)" test "${n_out:-0}" -ge 100
check "... MP -> D1 (IPv4) on the server link ($n_srv)" test "${n_srv:-0}" -ge 100
check "echo D1 -> MP (IPv4) on the server link ($n_echo)" test "${n_echo:-0}" -ge 100
check "... MP -> bob (IPv6) on the terminal link ($n_back)" test "${n_back:-0}" -ge 100

# ---- the MP stops: a call between the families cannot fall back ----
# (mp1's fallback is kernel, which cannot translate: the call is refused)
kill -TERM "$RTPE_PID"; wait "$RTPE_PID" 2>/dev/null
mp_out() { sp_cli sp1 -c "show media-proxy mp1" | grep -q "^media-proxy mp1: not in service"; }
check "mp1 stopped: out of rotation" sp_wait_for "mp1 out" 8 mp_out
r0=$(sp_cli sp1 -c 'show statistics' | sed -nE 's/^ *no media proxy *([0-9]+).*/\1/p')
lab_sipp "$TE" alice-nomp -sf "$SC/uac.xml" -i "$A" -p 5062 -s echo -m 1 -d 200 "$E:5060"
check "no MP: alice's call to the IPv6 server fails" test $? -ne 0
check_match "... with a 503 from E (the kernel cannot translate its media)" "SIP/2.0 503" \
	"$(cat "$LAB_OUT/sipp/alice-nomp.msg")"
check "... counted (no media proxy)" test "$(sp_cli sp1 -c 'show statistics' | sed -nE 's/^ *no media proxy *([0-9]+).*/\1/p')" -gt "${r0:-0}"

lab_down
check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
sp_done
