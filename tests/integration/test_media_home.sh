#!/bin/bash
# A call's media keeps its NAT latch across a restart and a takeover (issue
# 16 item 3: one home for media, the session store's stream records).
#
# carol sits behind a NAT (192.168.77.10, her SDP says :6000) that maps her
# RTP to 10.1.0.20:31000 and her RTCP to 10.1.0.20:31501 (not RTP + 1, as
# NATs do). She calls a UAS at the far end (192.0.2.11:7000) through E; both
# ends send RTP and RTCP (rtp_peer.py) and the SP latches both of carol's
# flows to the NAT's ports. Then:
#  1. restart: sigproxyd (--state-dir) is killed with -9 and started again;
#  2. takeover: an active-standby pair, the active dies, the standby is told
#     `redundancy notify master` and gets B and C (what VRRP does);
# and each time RTP and RTCP keep flowing both ways (each end's counters go
# up on both sockets) and the kernel's entries name the NAT's RTCP port.
# Before the store carried the latch, the restored stream took RTCP as RTP + 1
# (10.1.0.20:31001) and carol's RTCP went nowhere in either direction.
#
#   priv: carol 192.168.77.10 -- nat: lan 192.168.77.1, wan 10.1.0.20 (on brt, default via B)
#   te/sp1/sp2/srv: redlab.sh's bridges (B = 10.1.0.1, C = 192.0.2.1, UAS 192.0.2.11, D 192.0.2.10)
LAB_SIPP_RECV_TIMEOUT=${LAB_SIPP_RECV_TIMEOUT:-40000}
LAB_SIPP_TIMEOUT=${LAB_SIPP_TIMEOUT:-60}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/redlab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft conntrack

PEER=$(dirname "$0")/rtp_peer.py
PRIV_IP=192.168.77.10
NAT_IP=10.1.0.20
NAT_RTP=31000
NAT_RTCP=31501
CALL_S=${MEDIA_HOME_CALL_S:-16}
SC=$SP_TMP/scenarios
mkdir -p "$SC"
# the SDP names the ports rtp_peer.py uses; SIPp binds its own media at -mp 16000
sed 's/m=audio \[media_port\]/m=audio 6000/' "$LAB_SIPP_DIR/uac.xml" >"$SC/uac.xml"
sed 's/m=audio \[media_port\]/m=audio 7000/' "$LAB_SIPP_DIR/uas.xml" >"$SC/uas.xml"

# nat_up: carol's namespace behind the NAT's, the NAT on the terminals' bridge
nat_up() {
	sp_netns nat >/dev/null && sp_netns priv >/dev/null || return 1
	NATNS=$SP_TAG-nat PRIV=$SP_TAG-priv
	lab_bridge_port "$SW" "$NATNS" wan brt t-nat || return 1
	ip link add eth0 netns "$PRIV" type veth peer name lan netns "$NATNS" || return 1
	ip -n "$NATNS" addr add "$NAT_IP/24" dev wan &&
		ip -n "$NATNS" addr add 192.168.77.1/24 dev lan && ip -n "$NATNS" link set lan up &&
		ip -n "$NATNS" route add default via "$B" &&
		ip netns exec "$NATNS" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$PRIV" addr add "$PRIV_IP/24" dev eth0 && ip -n "$PRIV" link set eth0 up &&
		ip -n "$PRIV" route add default via 192.168.77.1 || return 1
	ip netns exec "$NATNS" nft -f - <<NFT
table ip lab_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr $PRIV_IP udp sport 6000 snat to $NAT_IP:$NAT_RTP
		oifname "wan" ip saddr $PRIV_IP udp sport 6001 snat to $NAT_IP:$NAT_RTCP
		oifname "wan" ip saddr 192.168.77.0/24 masquerade
	}
}
NFT
}

# vips_to NAME: redlab's red_vips_to, and the NAT box's neighbour cache flushed too
vips_to() {
	red_vips_to "$1" || return 1
	ip -n "$NATNS" neigh flush dev wan
	return 0
}

# conf NAME [ROLE]: sp NAME's configuration, with a redundancy block when ROLE is given
conf() {
	local n=$1 role=${2:-}
	mkdir -p "$SP_TMP/$n"
	{
		red_proxy_conf "$n"
		[ -z "$role" ] || red_redundancy "$n" "$role" "$KEY"
	} >"$SP_TMP/$n/sigproxy.conf"
}

# counts WHO: "RTP-SENT RTP-RECEIVED RTCP-SENT RTCP-RECEIVED" of carol or far
counts() { cat "$SP_TMP/$1.count" 2>/dev/null || echo "0 0 0 0"; }
# received_above WHO RTP RTCP: more than RTP and RTCP packets received
received_above() { counts "$1" | awk -v a="$2" -v b="$3" '{ exit !($2 > a && $4 > b) }'; }
# flowing_past: both ends received 50 RTP and 5 RTCP packets more than $C0/$F0 say
flowing_past() {
	received_above carol "$(echo "$C0" | awk '{ print $2 + 50 }')" "$(echo "$C0" | awk '{ print $4 + 5 }')" &&
		received_above far "$(echo "$F0" | awk '{ print $2 + 50 }')" "$(echo "$F0" | awk '{ print $4 + 5 }')"
}
detail() { sp_cli "$1" -c 'show sessions detail'; }
media_line() { detail "$1" | grep -E "media 0: terminal $NAT_IP:" | head -1; }
latched() { media_line "$1" | grep -q "terminal $NAT_IP:$NAT_RTP E-port"; }
# rtcp_entry NS PE: the kernel's RTCP entry of carol's stream, from the NAT's RTCP port
rtcp_entry() {
	ip netns exec "$1" conntrack -L -p udp --mark 0x53500000/0xffff0000 2>/dev/null |
		grep -E "src=$NAT_IP dst=$E sport=$NAT_RTCP dport=$(($2 + 1)) "
}

# call NAME SP: carol calls the UAS through SP NAME's E; media both ways once
# the stream is known; sets CALL_PID, PE, PC
call() {
	local name=$1 sp=$2 line
	lab_sipp_bg "$SRV" "uas-$name" -sf "$SC/uas.xml" -i "$UAS_IP" -p 5060 -mp 16000 -s uas -m 1 "$D:5060"
	UAS_PID=$LAB_SIPP_PID
	sp_wait_for "UAS listens" 10 lab_bound "$SRV" "$UAS_IP" 5060
	lab_sipp_bg "$PRIV" "carol-$name" -sf "$SC/uac.xml" -i "$PRIV_IP" -p 5060 -mp 16000 -s uas -m 1 \
		-d $((CALL_S * 1000)) "$E:5060"
	CALL_PID=$LAB_SIPP_PID
	check "$name: carol's call is confirmed on $sp" sp_wait_for "confirmed" 10 \
		sh -c "'$SPCLI' -s '$SP_TMP/$sp/cli.sock' -c 'show sessions' | grep -q confirmed"
	line=$(media_line "$sp")
	echo "# $line"
	PE=$(echo "$line" | sed -nE 's/.* E-port ([0-9]+) .*/\1/p')
	PC=$(echo "$line" | sed -nE 's/.* C-port ([0-9]+) .*/\1/p')
	check "$name: the stream has its ports (E ${PE:-none}, C ${PC:-none})" test -n "$PE" -a -n "$PC"
	rm -f "$SP_TMP/carol.count" "$SP_TMP/far.count"
	ip netns exec "$PRIV" python3 "$PEER" "$PRIV_IP" 6000 "$E" "${PE:-1}" "$SP_TMP/carol.count" \
		$((CALL_S - 3)) &
	SP_PIDS+=("$!")
	ip netns exec "$SRV" python3 "$PEER" "$UAS_IP" 7000 "$C" "${PC:-1}" "$SP_TMP/far.count" \
		$((CALL_S - 3)) &
	SP_PIDS+=("$!")
	check "$name: the SP latched carol's RTP to $NAT_IP:$NAT_RTP" sp_wait_for "latched" 5 latched "$sp"
	C0="0 0 0 0" F0="0 0 0 0"
	check "$name: RTP and RTCP flow both ways" sp_wait_for "media" 8 flowing_past
	check "$name: the RTCP entry names the NAT's RTCP port" rtcp_entry "${SP_NS[$sp]}" "${PE:-1}"
}

# after WHAT NS: media keeps flowing both ways, RTCP to the latched port
after() {
	local what=$1 ns=$2
	C0=$(counts carol) F0=$(counts far)
	check "$what: RTP and RTCP keep flowing both ways (carol $C0, far $F0 before)" \
		sp_wait_for "media after $what" 8 flowing_past
	flowing_past || ip netns exec "$ns" conntrack -L -p udp 2>/dev/null | sed 's/^/#   /'
	echo "# after $what: carol $(counts carol), far $(counts far)"
	check "$what: the RTCP entry still names the NAT's RTCP port" rtcp_entry "$ns" "${PE:-1}"
	check "$what: no entry for RTCP on RTP + 1" sh -c "! ip netns exec '$ns' conntrack -L -p udp 2>/dev/null | grep -q 'sport=$((NAT_RTP + 1)) dport=$((PE + 1)) '"
}

# call_end NAME: both SIPp runs exit 0 (the BYE went through)
call_end() {
	local rc crc
	lab_sipp_wait "$CALL_PID"; rc=$?
	lab_sipp_wait "$UAS_PID"; crc=$?
	check_eq "$1: the call ends well (caller, callee)" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log "carol-$1"; lab_sipp_log "uas-$1"; } | sed 's/^/#   /'
}

topology || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
nat_up || { sp_fail "carol behind a NAT"; sp_done; exit 1; }
vips_to sp1 || { sp_fail "B and C on sp1"; sp_done; exit 1; }
sp_pass "namespaces, bridges, links and the NAT"
lab_start_kamailio "$SRV" "$D" srv || { sp_fail "kamailio starts"; sp_done; exit 1; }
check "the UAS registers at D" lab_register "$SRV" "$UAS_IP" 5060 uas "$D"

# ---- 1. restart ----
STATE=$SP_TMP/state
conf sp1
sp_daemon_start "${SP_NS[sp1]}" sp1 --state-dir "$STATE" --agentx none ||
	{ sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_wait_for "interception" 10 sh -c "ip netns exec '${SP_NS[sp1]}' nft list ruleset | grep -q tproxy"
call restart sp1
sleep 0.5 # the store's batch
kill -9 "$SP_DAEMON_PID"
wait "$SP_DAEMON_PID" 2>/dev/null
sp_daemon_start "${SP_NS[sp1]}" sp1 --state-dir "$STATE" --agentx none ||
	{ sp_fail "sigproxyd restarts"; tail -20 "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_pass "sigproxyd killed (-9) and started again on its store"
echo "# $(media_line sp1)"
after restart "${SP_NS[sp1]}"
call_end restart
sp_daemon_stop "$SP_DAEMON_PID"; check_eq "restart: clean exit" 0 $?

# ---- 2. takeover ----
conf sp1 active
conf sp2 standby
for n in sp1 sp2; do
	sp_daemon_start "${SP_NS[$n]}" "$n" --agentx none ||
		{ sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
	SPD_PID_OF[$n]=$SP_DAEMON_PID
done
check "the sync channel comes up" sp_wait_for "peer up" 15 peer_up sp2
check "sp1 is active" sp_wait_for "sp1 active" 10 role_is sp1 active
call takeover sp1
check "the standby holds the call" sp_wait_for "synced" 5 \
	sh -c "'$SPCLI' -s '$SP_TMP/sp2/cli.sock' -c 'show sessions' | grep -q confirmed"
sleep 0.5 # the latch went to the standby with the change that made it, well before
kill -STOP "${SPD_PID_OF[sp1]}"
kill -KILL "${SPD_PID_OF[sp1]}"
wait "${SPD_PID_OF[sp1]}" 2>/dev/null
ip -n "${SP_NS[sp1]}" link set te down
ip -n "${SP_NS[sp1]}" link set srv down
vips_to sp2 || sp_fail "B and C move to sp2"
sp_cli sp2 -c "redundancy notify master" >/dev/null
check "sp2 becomes active" sp_wait_for "sp2 active" 10 role_is sp2 active
echo "# $(media_line sp2)"
after takeover "${SP_NS[sp2]}"
call_end takeover

lab_down
sp_daemon_stop "${SPD_PID_OF[sp2]}"; check_eq "sp2: clean exit" 0 $?
sp_done
