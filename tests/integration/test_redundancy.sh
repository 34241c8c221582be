#!/bin/bash
# Active-standby (SPEC §5, issue 7): two SPs on shared links, keepalived
# doing VRRP for B (terminal side) and C (server side) with sigproxy's notify
# hook and checks, state sync between the two sigproxyd.
#
#   te: alice 10.1.0.10, bob 10.1.0.11,    sw: bridges brt and brs      srv: Kamailio D 192.0.2.10,
#       rtp 10.1.0.12 (default via B)                                        UAS 192.0.2.11 (rtp echo),
#   sp1: te 10.1.0.2  srv 192.0.2.2  ---- brt / brs ----                    caller 192.0.2.12
#   sp2: te 10.1.0.3  srv 192.0.2.3        B = 10.1.0.1, C = 192.0.2.1 (VRRP VIPs), E = 198.51.100.1
#
# Proven: calls established through the active; SIGKILL of the active's
# sigproxyd and keepalived and its links down (a dying node); the standby
# takes over; the BYEs of the calls in progress are proxied (SIPp: no failed
# call); bob, registered before, gets an incoming call afterwards without
# registering again; RTP through the kernel resumes; garbage and a wrong key
# on the sync port are refused and counted; the old active comes back as
# standby and resyncs; `redundancy force-switchover` both ways, with the
# addresses following.
LAB_SIPP_RECV_TIMEOUT=${LAB_SIPP_RECV_TIMEOUT:-40000}
LAB_SIPP_TIMEOUT=${LAB_SIPP_TIMEOUT:-90}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd keepalived python3 nft conntrack nc snmpd snmptrapd snmpget snmpset

. "$(dirname "$0")/redlab.sh"
CALLS=${RED_CALLS:-4}
CALL_MS=${RED_CALL_MS:-16000}
topology || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
sp_pass "namespaces, bridges and links"
lab_start_kamailio "$SRV" "$D" srv || { sp_fail "kamailio starts"; sp_done; exit 1; }

# snmpd (AgentX master) and snmptrapd in sp2's namespace; sp2 is a subagent
IETF=$(ls -d /usr/lib/erlang/lib/snmp-*/mibs 2>/dev/null | head -1)
export MIBDIRS="$SP_TOP/mib:/usr/share/snmp/mibs${IETF:+:$IETF}" MIBS=SIGPROXY-MIB SNMPCONFPATH=$SP_TMP
SPD_AGENTX[sp2]=$SP_TMP/agentx.sock
cat >"$SP_TMP/snmpd.conf" <<EOF
master agentx
agentXSocket ${SPD_AGENTX[sp2]}
agentaddress udp:127.0.0.1:161
createUser admin SHA authpass123 AES privpass123
rwuser admin priv
trap2sink 127.0.0.1:1162 public
EOF
echo "disableAuthorization yes" >"$SP_TMP/snmptrapd.conf"
ip netns exec "${SP_NS[sp2]}" snmpd -f -C -c "$SP_TMP/snmpd.conf" -Lf "$SP_TMP/snmpd.log" -p "$SP_TMP/snmpd.pid" &
SP_PIDS+=("$!")
ip netns exec "${SP_NS[sp2]}" snmptrapd -f -C -c "$SP_TMP/snmptrapd.conf" -Lf "$SP_TMP/traps.log" \
	-p "$SP_TMP/snmptrapd.pid" udp:127.0.0.1:1162 &
SP_PIDS+=("$!")
sp_wait_for "snmpd socket" 10 test -S "${SPD_AGENTX[sp2]}" || sp_fail "snmpd starts in sp2's namespace"
V3=(-v3 -l authPriv -u admin -a SHA -A authpass123 -x AES -X privpass123 -t 2 -r 1 127.0.0.1)
sget() { ip netns exec "${SP_NS[sp2]}" snmpget -OqvU "${V3[@]}" "$@" 2>&1; }
sset() { ip netns exec "${SP_NS[sp2]}" snmpset "${V3[@]}" "$@"; }
trap_seen() { grep -qE "$1" "$SP_TMP/traps.log" 2>/dev/null; }

for n in sp1 sp2; do
	spd_start "$n" "$KEY" || { sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
done
sp_pass "both sigproxyd start (configured standby)"
check "sp1 starts standby with nothing in the kernel" no_kernel_state sp1
check "the sync channel comes up" sp_wait_for "peer up" 15 peer_up sp1
for n in sp1 sp2; do keepalived_start "$n"; done
check "VRRP elects sp1 (higher priority): sp1 active" sp_wait_for "sp1 active" 20 role_is sp1 active
check "... and holds B and C" sp_wait_for "sp1 VIPs" 10 has_vip sp1
check "sp2 stays standby" role_is sp2 standby
check "... with nothing in the kernel" no_kernel_state sp2
check "sp1 installed its interception" sh -c "ip netns exec '${SP_NS[sp1]}' nft list ruleset | grep -q tproxy"
show=$(red sp1)
check_match "show redundancy: role, cause and peer" "Role +active.*Configured role +standby.*vrrp: notify master.*Peer address +192\\.0\\.2\\.3 port 7000.*Peer state +up" "$(echo "$show" | tr '\n' ' ')"

# ---- registrations and calls through the active ----
check "bob (10.1.0.11) registers at E through sp1" lab_register "$TE" 10.1.0.11 5060 bob "$E"
lab_sipp_bg "$TE" bob-after -sf "$LAB_SIPP_DIR/uas.xml" -i 10.1.0.11 -p 5060 -s bob -m 1 "$E:5060"
BOB=$LAB_SIPP_PID
lab_callee_start "$SRV" "$UAS_IP" 5060 uas "$D" $((CALLS + 1)) uas.xml -mp 6000 -rtp_echo ||
	sp_fail "the UAS registers at D and waits"
# one call whose media a python RTP sender at 10.1.0.12:7000 plays: its SDP
# names that port (SIPp itself binds -mp 6100)
sed -e 's/m=audio \[media_port\]/m=audio 7000/' "$LAB_SIPP_DIR/uac.xml" >"$SP_TMP/uac_rtp.xml"
lab_sipp_bg "$TE" calls -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5060 -s uas -m "$CALLS" -l "$CALLS" \
	-r 20 -d "$CALL_MS" "$E:5060"
CALLS_PID=$LAB_SIPP_PID
lab_sipp_bg "$TE" rtpcall -sf "$SP_TMP/uac_rtp.xml" -i 10.1.0.12 -p 5060 -mp 6100 -s uas -m 1 \
	-d "$CALL_MS" "$E:5060"
RTPCALL_PID=$LAB_SIPP_PID
check "$((CALLS + 1)) calls confirmed on sp1" sp_wait_for "calls on sp1" 10 confirmed_at_least sp1 $((CALLS + 1))
check "the standby holds the same sessions" sp_wait_for "sessions on sp2" 5 sessions_are sp2 "$(sessions sp1)"
check "... and the same bindings" sp_wait_for "bindings on sp2" 5 bindings_are sp2 "$(bindings sp1)"
check "... and still nothing in the kernel" no_kernel_state sp2
PE=$(sp_cli sp1 -c 'show sessions detail' | sed -nE 's/.*media 0: terminal 10\.1\.0\.12:7000 E-port ([0-9]+).*/\1/p' | head -1)
check "the RTP call's stream has an E port on sp1 (${PE:-none})" test -n "$PE"
ip netns exec "$TE" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.1.0.12", 7000))
s.setblocking(False)
dst = (sys.argv[1], int(sys.argv[2]))
end = time.time() + float(sys.argv[4])
sent = recv = 0
nxt = wr = time.time()
pkt = bytes([0x80, 8]) + bytes(170)
while time.time() < end:
	now = time.time()
	if now >= nxt:
		try:
			s.sendto(pkt, dst); sent += 1
		except OSError:
			pass
		nxt += 0.02
	try:
		while True:
			s.recv(2048); recv += 1
	except BlockingIOError:
		pass
	if now >= wr:
		with open(sys.argv[3] + ".tmp", "w") as f:
			f.write("%d %d\n" % (sent, recv))
		import os; os.replace(sys.argv[3] + ".tmp", sys.argv[3]); wr = now + 0.1
	time.sleep(0.005)
' "$E" "${PE:-1}" "$SP_TMP/rtp.count" $((CALL_MS / 1000 - 3)) &
SP_PIDS+=("$!")
check "RTP echoed through sp1's kernel entries" sp_wait_for "rtp echo" 5 rtp_received_above 20

# ---- the active dies ----
KILL_NS=$(date +%s%N)
node_kill sp1
sp_pass "sp1: sigproxyd and keepalived killed (SIGKILL), links down"
check "sp2 becomes active" sp_wait_for "sp2 active" 15 role_is sp2 active
TAKEOVER_MS=$((($(date +%s%N) - KILL_NS) / 1000000))
echo "# takeover seen $TAKEOVER_MS ms after the SIGKILL"
check "sp2 holds B and C" sp_wait_for "sp2 VIPs" 5 has_vip sp2
check "sp2 installed the interception" sh -c "ip netns exec '${SP_NS[sp2]}' nft list ruleset | grep -q tproxy"
check "sp2 programmed the synced media entries" sp_wait_for "entries on sp2" 5 entries_at_least sp2 2
R0=$(rtp_received)
check "RTP resumes through sp2's kernel entries (echoes past $R0)" sp_wait_for "rtp after failover" 8 rtp_received_above $((R0 + 50))
check_match "show redundancy on sp2: the cause" "vrrp: notify master" "$(red sp2)"
check "SNMP: sigproxyPeerLost from sp2" sp_wait_for "peer lost trap" 10 trap_seen 'sigproxyPeerLost'
check "SNMP: sigproxyRoleChange, cause vrrp" sp_wait_for "role trap" 5 trap_seen 'sigproxyRoleChangeCause.0 = INTEGER: vrrp'
check_eq "SNMP: sp2's role reads active" active "$(sget sigproxyRedundancyRole.0)"
check_eq "SNMP: its peer reads lost" lost "$(sget sigproxyRedundancyPeerState.0)"
check_fails "force-switchover refused while the peer is gone" sp_cli sp2 -c 'redundancy force-switchover'
check_match "... saying why" "peer is not connected" "$(sp_cli sp2 -c 'redundancy force-switchover' 2>&1)"

lab_sipp_wait "$CALLS_PID"; rc=$?
check_eq "the $CALLS calls in progress end well: their BYEs went through sp2 (SIPp exit)" 0 "$rc"
[ "$rc" = 0 ] || lab_sipp_log calls | sed 's/^/#   /'
lab_sipp_wait "$RTPCALL_PID"; rc=$?
check_eq "the RTP call ends well too" 0 "$rc"
[ "$rc" = 0 ] || lab_sipp_log rtpcall | sed 's/^/#   /'
check_eq "SIPp counts no failed call" "0" "$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' "$LAB_OUT/sipp/calls.screen" | tail -1)"

# ---- an incoming call to bob, registered before the failover ----
check "a call from the server side reaches bob through sp2, no new REGISTER" \
	lab_call "$SRV" "$CALLER_IP" 5062 bob "$D" uac.xml -d 500
lab_sipp_wait "$BOB"; rc=$?
check_eq "bob answered it" 0 "$rc"

# ---- the old active comes back: garbage and a wrong key first ----
ip -n "${SP_NS[sp1]}" addr flush dev te
ip -n "${SP_NS[sp1]}" addr flush dev srv
ip -n "${SP_NS[sp1]}" addr add 10.1.0.2/24 dev te
ip -n "${SP_NS[sp1]}" addr add 192.0.2.2/24 dev srv
ip -n "${SP_NS[sp1]}" link set te up
ip -n "${SP_NS[sp1]}" link set srv up
A0=$(auth_failures sp2)
head -c 2000 /dev/urandom | ip netns exec "${SP_NS[sp1]}" timeout 5 nc -q 1 -s 192.0.2.2 192.0.2.3 7000 >/dev/null 2>&1
check "garbage on the sync port is refused and counted" sp_wait_for "auth failure" 5 auth_failures_above sp2 "$A0"
check_fails "... the peer stays down" peer_up sp2
A1=$(auth_failures sp2)
spd_start sp1 "wrong-key-999" || sp_fail "sp1 restarts"
check "a peer with the wrong key is refused and counted" sp_wait_for "auth failure" 10 auth_failures_above sp2 "$A1"
check_fails "... never connected" peer_up sp2
check "... and sp1 comes up standby" role_is sp1 standby
out=$(sp_cli sp1 -c 'configure terminal' -c 'redundancy' -c "authentication key $KEY" -c end 2>&1)
check_eq "sp1 gets the right key" "" "$out"
check "the pair reconnects" sp_wait_for "peer up" 10 peer_up sp2
check "SNMP: sigproxyPeerRegained from sp2" sp_wait_for "peer regained trap" 10 trap_seen 'sigproxyPeerRegained'
check_eq "SNMP: the peer reads connected" connected "$(sget sigproxyRedundancyPeerState.0)"
check "SNMP: records counted as sent" test "$(sget sigproxyRedundancyMsgsSent.0)" -ge 1
check "sp1 resyncs: the same bindings as sp2" sp_wait_for "bindings on sp1" 10 bindings_are sp1 "$(bindings sp2)"
out=$(sp_cli sp1 -c 'redundancy force-switchover' 2>&1); rc=$?
check_eq "force-switchover on the standby while the active peer is connected: refused" 1 "$rc"
check_match "... saying where to run it" 'peer is connected and active' "$out"
check_match "show redundancy on sp1: receiving from an active peer" 'Sync direction +receiving \(the peer is active\)' "$(red sp1)"
keepalived_start sp1
sleep 3
check "sp1 stays standby under VRRP (sp2 keeps the addresses)" role_is sp1 standby
check "sp2 keeps B and C" has_vip sp2
show=$(red sp1)
echo "$show" | sed 's/^/#   /'
check "sp1 counts a resync received" test "$(red_field sp1 Resyncs)" -ge 1
check "sp1 counts records received" test "$(red_field sp1 'Records received')" -ge 1
check "sp2 counts records sent" test "$(red_field sp2 'Records sent')" -ge 1

# ---- force-switchover, both ways; the addresses follow by VRRP ----
check "switchover by SNMP on sp2 (sigproxyRedundancySwitchover)" sset sigproxyRedundancySwitchover.0 i 2
check_eq "... sp2 reads standby" standby "$(sget sigproxyRedundancyRole.0)"
check "... sigproxyRoleChange, cause switchover" sp_wait_for "switchover trap" 5 trap_seen 'sigproxyRoleChangeCause.0 = INTEGER: switchover'
check "sp1 takes over on sp2's request" sp_wait_for "sp1 active" 5 role_is sp1 active
check "... and VRRP moves B and C to sp1" sp_wait_for "sp1 VIPs" 10 has_vip sp1
check_match "show redundancy on sp1: peer request" "peer request: the peer handed over" "$(red sp1)"
check "a registration through E works via sp1" sp_wait_for "register" 10 lab_register "$TE" 10.1.0.11 5060 bob "$E"
out=$(sp_cli sp1 -c 'redundancy force-switchover' 2>&1)
check_match "force-switchover on sp1 (CLI)" "Role now standby" "$out"
check "sp2 takes over again" sp_wait_for "sp2 active" 5 role_is sp2 active
check "... and holds B and C" sp_wait_for "sp2 VIPs" 10 has_vip sp2
check "sp1 has nothing in the kernel" no_kernel_state sp1
check "a registration through E works via sp2" sp_wait_for "register" 10 lab_register "$TE" 10.1.0.11 5060 bob "$E"

keepalived_stop
for n in sp1 sp2; do
	sp_daemon_stop "${SPD_PID_OF[$n]}"; rc=$?
	check_eq "$n: SIGTERM, clean exit (and no leaks under ASan)" 0 $rc
done
check "sp2 left nothing in the kernel" no_kernel_state sp2
lab_down
sp_done
