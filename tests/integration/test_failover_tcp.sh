#!/bin/bash
# Failover with a binding whose server is reached over TCP (issue 17 item
# 5): an active-standby pair (redlab.sh's links, no keepalived: the
# addresses are moved by hand as in test_failover6.sh), the strategy
# reaching Kamailio D over TCP (`server D transport tcp`). bob (UDP)
# registers through the active sp1, so D has him at C:c;transport=tcp over
# sp1's own TCP connection from C:c; the standby sp2 holds the binding too,
# synced, with the same C:c. sp1 dies (SIGKILL, links down: its connection
# to D is never closed), B and C move to sp2 and sp2 is told `redundancy
# notify master`: sp2 serves the binding's server side over TCP (no UDP
# socket on C:c), bob's next REGISTER reaches D over a new TCP connection
# from the same C:c, and a call from the server side reaches bob over it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

. "$(dirname "$0")/redlab.sh"

# spdtcp_start NAME: sigproxyd of the pair, its server reached over TCP
spdtcp_start() {
	red_spd_start "$1" --cli-listen none --agentx /nonexistent <<EOC
hostname $1
signaling-proxy
 server-side-address $C
 media off
proxy-strategy lab seq 10
 match source 10.1.0.0/24
 match destination $E/32 port 5060
 server $D transport tcp
 action proxy
EOC
}

intercepting() { ip netns exec "${SP_NS[$1]}" nft list ruleset 2>/dev/null | grep -q tproxy; }
# binding_of NAME: bob's line in NAME's show bindings
binding_of() { sp_cli "$1" -c 'show bindings' | grep -F "10.1.0.11:5060 "; }
bob_contact() { lab_kamailio_contacts srv | sed -nE 's/^bob (sip:[^ ]+) .*/\1/p' | head -1; }
# tcp_from_c NAME PORT: an established TCP connection from C:PORT to D:5060 in NAME's namespace?
tcp_from_c() { ip netns exec "${SP_NS[$1]}" ss -Hnt state established "src $C:$2 dst $D:5060" | grep -q .; }

topology || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
sp_pass "namespaces, bridges and links"
red_vips_to sp1 || sp_fail "B and C on sp1"
lab_start_kamailio_tcp "$SRV" "$D" srv || { sp_fail "kamailio starts on TCP"; sp_done; exit 1; }
for n in sp1 sp2; do
	spdtcp_start "$n" || { sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
done
check "the sync channel comes up" sp_wait_for "peer up" 15 peer_up sp2
check "sp1 is active and intercepts" sp_wait_for "sp1 intercepting" 10 intercepting sp1

# ---- bob registers through the active ----
check "bob (UDP) registers at E through sp1, D over TCP" lab_register "$TE" 10.1.0.11 5060 bob "$E"
contact=$(bob_contact)
check_match "D has bob at C:c over TCP" "^sip:bob@${C//./\\.}:4[0-9]{4};transport=tcp$" "$contact"
PB=$(printf '%s\n' "$contact" | sed -nE 's/.*:([0-9]+);transport=tcp$/\1/p')
check "sp1's TCP connection from C:$PB to D is up" tcp_from_c sp1 "$PB"
check "sp2 holds bob's binding (synced)" sp_wait_for "binding on sp2" 10 bindings_are sp2 1
check_match "sp2: bob on the same C:$PB, UDP to him, TCP to his server" \
	"${C//./\\.}:$PB .* udp/tcp$" "$(binding_of sp2)"

# ---- sp1 dies; sp2 takes the addresses and the active role ----
red_takeover_by_sp2
check "... and intercepts" sp_wait_for "sp2 intercepting" 10 intercepting sp2
check_match "sp2: bob's binding still udp/tcp on C:$PB" "${C//./\\.}:$PB .* udp/tcp$" "$(binding_of sp2)"
check "no UDP socket on C:$PB in sp2 (the server side is TCP)" \
	sh -c "! ip netns exec '${SP_NS[sp2]}' ss -Hnlu 'src $C:$PB' | grep -q ."
# sp2 knows bob's server (D) from the sync before anything went to it: a
# connection to C:$PB from another address (bob's) is refused and counted
hostile=$(lab_tcp_closed_or_open "$TE" "$C" "$PB")
check_eq "after the takeover, a connection to C:$PB from bob's address (not D) is closed by sp2" "closed" "$hostile"
check_match "sp2's show statistics counts it: not from the server 1" "not from the server +1$" \
	"$(sp_cli sp2 -c 'show statistics')"

# ---- bob's next REGISTER and a call from the server ----
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	sp_pass "bob registers again through sp2 and waits for a call"
	BOB=$LAB_SIPP_PID
	check_eq "D still has bob at C:$PB over TCP" "sip:bob@$C:$PB;transport=tcp" "$(bob_contact)"
	check "the REGISTER went over sp2's TCP connection from C:$PB to D" tcp_from_c sp2 "$PB"
	lab_sipp "$SRV" from-server -sf "$LAB_SIPP_DIR/uac.xml" -i "$CALLER_IP" -p 5070 -s bob -m 1 -d 200 \
		"$D:5060"
	rc=$?
	lab_sipp_wait "$BOB"
	crc=$?
	check_eq "after the failover, a call from the server side reaches bob: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log from-server; lab_sipp_log callee-bob-uas; } | sed 's/^/#   /'
else
	sp_fail "bob registers again through sp2"
	tail -20 "$SP_TMP/sp2/log" | sed 's/^/#   /'
fi

lab_down
sp_daemon_stop "${SPD_PID_OF[sp2]}"
check_eq "sp2: clean exit" 0 $?
sp_done
