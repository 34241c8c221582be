#!/bin/bash
# A call whose media a remote media proxy holds survives a restart of the
# SP (issue 19 item 4): sigproxyd with a state directory, rtpengine (mp1,
# userspace) as its MP, alice calls a SIPp UAS on D1 (RTP echo) through E
# with `media proxy`. sigproxyd is killed (-9) mid-call: RTP keeps flowing
# through rtpengine while no SP runs (rtpengine's own counters grow). The
# new sigproxyd restores the dialog with its MP (`show sessions detail`,
# `show media-proxy mp1`: one call held), and alice's BYE through it makes
# it send the delete to mp1 (rtpengine runs with --delete-delay=0):
# rtpengine-ctl shows no call left and its NG
# query no longer knows the Call-ID. Without the MP in the stored dialog
# the BYE goes the kernel's way and rtpengine keeps the call.
#
#   te 10.1.0.10 --- sp --- srv1 192.0.2.10 (D1)
#                    |  192.0.2.33/28 --- mp1 192.0.2.34 (rtpengine, NG :2223)
LAB_SIPP_RECV_TIMEOUT=15000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/mplab.sh"
sp_require_root
sp_require_tools sipp python3 rtpengine rtpengine-ctl
sp_require_files /usr/share/sip-tester/g711a.pcap

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
MP1=192.0.2.34
MPNS=$SP_TAG-mp1
STATE=$SP_TMP/state
SC=$LAB_SIPP_DIR

mp_in_service() { sp_cli sp1 -c "show media-proxy mp1" | grep -q "^media-proxy mp1: in service"; }
mp_field() { sp_cli sp1 -c "show media-proxy mp1" | sed -nE "s/.*$1 +([0-9]+).*/\\1/p" | head -1; }
rtpe_holds() { [ "$(rtpe_sessions "$MPNS" "$MP1")" = "$1" ]; }
# relayed: the packets rtpengine sent (its link's counter: with no SP
# running no NG reply is among them)
relayed() { ip -n "$MPNS" -s link show eth0 | awk '/TX:/ { getline; print $2 }'; }

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
mp_ns 1 192.0.2.33 "$MP1" || { sp_fail "media proxy namespace"; sp_done; exit 1; }
rtpe_run "$MPNS" "$MP1" rtpe1
check "rtpengine answers NG pings" sp_wait_for "rtpengine" 5 rtpe_pings "$MPNS" "$MP1"
sp_daemon_start "$SP" sp1 --state-dir "$STATE" ||
	{ sp_fail "sigproxyd starts with a state directory"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mp1" -c "control $MP1 port 2223" \
	-c "signaling-proxy" -c "server-side-address $C" -c "media proxy" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" \
	-c "write memory" 2>&1)
check_match "media proxy, media proxy mode and the strategy accepted and written" '\[OK\]' "$out"
check "mp1 in service" sp_wait_for "mp1 in service" 5 mp_in_service

# ---- a call with RTP through mp1 ----
lab_sipp_bg "$SRV1" uas -sf "$SC/rtp_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
lab_sipp_bg "$TE" alice -sf "$SC/rtp_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 8000 "$E:5060"
UAC=$LAB_SIPP_PID
check "rtpengine holds the call" sp_wait_for "call on mp1" 5 rtpe_holds 1
check_match "show sessions detail: the call's media proxy is mp1" "media proxy mp1" \
	"$(sp_cli sp1 -c 'show sessions detail')"
CID=$(sp_cli sp1 -c 'show sessions' | grep -oE '[0-9]+-[0-9]+@10\.1\.0\.10' | head -1)
sleep 1 # the store's batch (100 ms) and some RTP

# ---- kill -9: the MP keeps relaying while no SP runs ----
kill -9 "$SP_DAEMON_PID"
wait "$SP_DAEMON_PID" 2>/dev/null
p0=$(relayed)
sleep 1
p1=$(relayed)
check "no SP running: rtpengine still relays the call's RTP (sent $((p1 - p0)) packets in 1 s)" \
	test "$((p1 - p0))" -ge 40

# ---- the new sigproxyd sends the call's delete to mp1 ----
sp_daemon_start "$SP" sp1 --state-dir "$STATE" ||
	{ sp_fail "sigproxyd restarts"; tail -20 "$SP_TMP/sp1/log"; sp_done; exit 1; }
check_match "the log says the dialog was restored" 'restored from .*: 1 bindings, 1 dialogs' \
	"$(grep 'restored from' "$SP_TMP/sp1/log" | tail -1)"
check_match "show sessions detail after the restart: still mp1's call" "media proxy mp1" \
	"$(sp_cli sp1 -c 'show sessions detail')"
check_eq "show media-proxy mp1: the restored call is held" 1 "$(mp_field 'calls held')"
lab_sipp_wait "$UAC"; rc=$?
lab_sipp_wait "$UAS"
check_eq "the call ends well through the new sigproxyd (caller, callee)" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log alice | sed 's/^/#   /'
check "after the BYE: rtpengine-ctl shows no call left" sp_wait_for "no call on mp1" 5 rtpe_holds 0
check_fails "rtpengine's NG query no longer knows the Call-ID" rtpe_knows "$MPNS" "$MP1" "$CID"
check_eq "show media-proxy mp1: one delete sent, no call held" "1 0" \
	"$(mp_field deletes) $(mp_field 'calls held')"
check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"

lab_down
sp_done
