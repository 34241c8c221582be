#!/bin/bash
# A call whose media a remote media proxy holds survives a failover (issue
# 19 item 4): an active-standby pair (redlab.sh's links, no keepalived: the
# addresses are moved by hand as in test_failover_tcp.sh), rtpengine (mp1,
# userspace) on the server link at 192.0.2.20, reachable from both SPs.
# The caller (10.1.0.12) calls a SIPp UAS (192.0.2.11, RTP echo) through E
# with `media proxy`: the active sp1 gives the call to mp1 and the standby
# sp2 holds the dialog with its MP (synced: its `show sessions detail`
# names mp1). sp1 dies (SIGKILL, links down), B and C move to sp2, sp2 is
# told `redundancy notify master`: RTP keeps flowing through rtpengine,
# sp2 counts the call as mp1's, and the caller's BYE through sp2 makes it
# send the delete to mp1 (rtpengine-ctl: no call left). Without the MP in
# the synced dialog the BYE goes the kernel's way and rtpengine keeps the
# call.
LAB_SIPP_RECV_TIMEOUT=15000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/mplab.sh"
sp_require_root
sp_require_tools sipp python3 nft rtpengine rtpengine-ctl
sp_require_files /usr/share/sip-tester/g711a.pcap

. "$(dirname "$0")/redlab.sh"
MP1=192.0.2.20
SC=$LAB_SIPP_DIR

# spdmp_start NAME: sigproxyd of the pair, media through mp1
spdmp_start() {
	red_spd_start "$1" --cli-listen none --agentx /nonexistent <<EOC
hostname $1
media-proxy mp1
 control $MP1 port 2223
signaling-proxy
 server-side-address $C
 media proxy
 media-port-range 20000 20999
proxy-strategy lab seq 10
 match source 10.1.0.0/24
 match destination $E/32 port 5060
 server $UAS_IP
 action proxy
EOC
}

intercepting() { ip netns exec "${SP_NS[$1]}" nft list ruleset 2>/dev/null | grep -q tproxy; }
mp_in_service() { sp_cli "$1" -c "show media-proxy mp1" | grep -q "^media-proxy mp1: in service"; }
mp_field() { sp_cli "$1" -c "show media-proxy mp1" | sed -nE "s/.*$2 +([0-9]+).*/\\1/p" | head -1; }
rtpe_holds() { [ "$(rtpe_sessions "$SRV" "$MP1")" = "$1" ]; }
names_mp1() { sp_cli "$1" -c 'show sessions detail' | grep -q "media proxy mp1"; }
# relayed: the packets rtpengine sent from its media ports (it shares the
# namespace with the UAS: counted by its address and ports)
relayed() { ip netns exec "$SRV" nft list counter inet mpcount relayed 2>/dev/null | sed -nE 's/.*packets ([0-9]+).*/\1/p'; }

topology || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
sp_pass "namespaces, bridges and links"
red_vips_to sp1 || sp_fail "B and C on sp1"
# the MP on the server link, the terminals behind the pair's C (the VIP)
ip -n "$SRV" addr add "$MP1/24" dev eth0 && ip -n "$SRV" route add 10.1.0.0/24 via "$C" ||
	sp_fail "the MP's address on the server link, the route to the terminals"
ip netns exec "$SRV" nft -f - <<EON || sp_fail "a counter of what rtpengine sends"
table inet mpcount {
	counter relayed { }
	chain out { type filter hook output priority 0; ip saddr $MP1 udp sport 30000-30199 counter name relayed; }
}
EON
rtpe_run "$SRV" "$MP1" rtpe1
check "rtpengine answers NG pings" sp_wait_for "rtpengine" 5 rtpe_pings "$SRV" "$MP1"
for n in sp1 sp2; do
	spdmp_start "$n" || { sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
done
check "the sync channel comes up" sp_wait_for "peer up" 15 peer_up sp2
check "sp1 is active and intercepts" sp_wait_for "sp1 intercepting" 10 intercepting sp1
check "sp1: mp1 in service" sp_wait_for "mp1 in service" 5 mp_in_service sp1

# ---- a call with RTP through mp1, synced to the standby ----
lab_sipp_bg "$SRV" uas -sf "$SC/rtp_uas.xml" -i "$UAS_IP" -p 5060 -mp 6000 -rtp_echo -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS listens" 10 lab_bound "$SRV" "$UAS_IP" 5060
lab_sipp_bg "$TE" caller -sf "$SC/rtp_uac.xml" -i 10.1.0.12 -p 5060 -mp 6000 -s bob -m 1 -d 8000 "$E:5060"
UAC=$LAB_SIPP_PID
check "rtpengine holds the call" sp_wait_for "call on mp1" 5 rtpe_holds 1
check "sp1: the call's media proxy is mp1" sp_wait_for "sp1 names mp1" 5 names_mp1 sp1
check "sp2 (standby): the synced dialog names mp1" sp_wait_for "sp2 names mp1" 5 names_mp1 sp2
CID=$(sp_cli sp1 -c 'show sessions' | grep -oE '[0-9]+-[0-9]+@10\.1\.0\.12' | head -1)

# ---- sp1 dies; sp2 takes the addresses and the active role ----
red_takeover_by_sp2
p0=$(relayed)
sleep 1
p1=$(relayed)
check "after the failover rtpengine still relays the call's RTP (sent $((p1 - p0)) packets in 1 s)" \
	test "$((p1 - p0))" -ge 40
check_eq "sp2: show media-proxy mp1 holds the call" 1 "$(mp_field sp2 'calls held')"

# ---- the BYE through sp2: the delete goes to mp1 ----
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the call ends well through sp2 (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log caller | sed 's/^/#   /'
check "after the BYE: rtpengine-ctl shows no call left" sp_wait_for "no call on mp1" 5 rtpe_holds 0
check_fails "rtpengine's NG query no longer knows the Call-ID" rtpe_knows "$SRV" "$MP1" "$CID"
check_eq "sp2: one delete sent, no call held" "1 0" "$(mp_field sp2 deletes) $(mp_field sp2 'calls held')"

lab_down
sp_daemon_stop "${SPD_PID_OF[sp2]}"
check_eq "sp2: clean exit" 0 $?
sp_done
