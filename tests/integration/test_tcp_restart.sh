#!/bin/bash
# A binding whose server is reached over TCP survives a restart (issue 17
# item 5): sigproxyd with a state directory, the strategy of 10.2.0.0/24
# reaching Kamailio D2 over TCP (`server D2 transport tcp`), carol (UDP)
# registered through E, so D2 has her at C:c;transport=tcp over the SP's
# own TCP connection from C:c. kill -9 and a new sigproxyd with the same
# state directory: the binding comes back on the same C:c with its server
# side on TCP (no UDP socket on C:c), carol's next REGISTER goes to D2 over
# a new TCP connection from that C:c, and a call from D2 to carol reaches
# her over it; show sessions gives each side's transport of that call.
# Then the strategy's server transport changes (tcp -> udp -> tcp) under
# the binding: its server side moves with it on the same C:c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D2=$LAB_D2
STATE=$SP_TMP/state

lab_up_with_state

lab_west_over_tcp
lab_start_kamailio_tcp "$SRV2" "$D2" srv2 || { sp_fail "kamailio #2 starts on TCP"; sp_done; exit 1; }

# carol_contact: carol's Contact at D2
carol_contact() {
	lab_kamailio_contacts srv2 | sed -nE 's/^carol (sip:[^ ]+) .*/\1/p' | head -1
}
# tcp_from_c PORT: is there an established TCP connection from C:PORT to D2:5060 in ns sp?
tcp_from_c() {
	ip netns exec "$SP" ss -Hnt state established "src $C:$1 dst $D2:5060" | grep -q .
}

# ---- before: carol registered, her server side on TCP ----
check "carol (10.2.0.10, UDP) registers through E at D2 over TCP" lab_register "$TE" 10.2.0.10 5060 carol "$E"
contact=$(carol_contact)
check_match "D2 has carol at C:c over TCP" "^sip:carol@${C//./\\.}:4[0-9]{4};transport=tcp$" "$contact"
PC=$(printf '%s\n' "$contact" | sed -nE 's/.*:([0-9]+);transport=tcp$/\1/p')
check "the SP's TCP connection from C:$PC to D2 is up" tcp_from_c "$PC"
check "the store holds the binding" sp_wait_for "stored binding" 5 \
	sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show persistence' | grep -qE 'Stored records: *[1-9]'"

# ---- kill -9 and restart ----
lab_sp_kill9_restart
check_match "show bindings: carol restored on C:$PC, UDP to her, TCP to her server" \
	"10\\.2\\.0\\.10:5060 .*${C//./\\.}:$PC .* udp/tcp$" "$(sp_cli sp1 -c 'show bindings')"
check "no UDP socket on C:$PC (the server side is TCP)" sh -c "! ip netns exec '$SP' ss -Hnlu 'src $C:$PC' | grep -q ."

# ---- carol's next REGISTER and a call from the server ----
if lab_callee_start "$TE" 10.2.0.10 5060 carol "$E" 1 uas.xml; then
	sp_pass "carol registers again through the restored binding and waits for a call"
	CAROL_PID=$LAB_SIPP_PID
	check_eq "D2 still has carol at C:$PC over TCP" "sip:carol@$C:$PC;transport=tcp" "$(carol_contact)"
	check "the REGISTER went over a new TCP connection from C:$PC to D2" tcp_from_c "$PC"
	# the call lasts 3 s: show sessions gives each side's transport meanwhile
	lab_sipp_bg "$SRV2" to-carol -sf "$LAB_SIPP_DIR/uac.xml" -i "$D2" -p 5070 -s carol -m 1 -d 3000 "$D2:5060"
	TO_CAROL_PID=$LAB_SIPP_PID
	sp_wait_for "the call to carol confirmed" 10 \
		sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show sessions count' | grep -q 'confirmed 1'"
	check_match "show sessions: the call to carol, UDP to her, TCP to her server" \
		"^[0-9]+ +- +confirmed +10\\.2\\.0\\.10:5060 .*${C//./\\.}:$PC .* udp/tcp +[^ ]+$" \
		"$(sp_cli sp1 -c 'show sessions')"
	check_match "show sessions | json: the transports" \
		'"terminal-transport": ?"udp", ?"server-transport": ?"tcp"' "$(sp_cli sp1 -c 'show sessions | json')"
	lab_sipp_wait "$TO_CAROL_PID"
	rc=$?
	lab_sipp_wait "$CAROL_PID"
	crc=$?
	check_eq "the server's call to carol reaches her after the restart: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log to-carol; lab_sipp_log callee-carol-uas; } | sed 's/^/#   /'
else
	sp_fail "carol registers again through the restored binding"
	tail -20 "$SP_TMP/sp1/log" | sed 's/^/#   /'
fi

# ---- the strategy's server transport changed under the binding ----
# tcp -> udp, then udp -> tcp by the CLI: the binding keeps its C:c, its
# server side moves to the new transport (old socket or connection closed,
# new one opened on the same C:c), carol's next REGISTER reaches D2 over it
# and a call from D2 reaches her.
# carol_has URI: is URI among carol's contacts at D2 (a change of transport
# gives her a second contact, the same C:c with or without ;transport=tcp)
carol_has() {
	lab_kamailio_contacts srv2 | sed -nE 's/^carol (sip:[^ ]+) .*/\1/p' | grep -qFx "$1"
}
set_west_transport() {
	sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "proxy-strategy west seq 20" \
		-c "server $D2 transport $1" -c "end" 2>&1
}
check_no_match "the strategy's server transport changes to UDP" '%|[Ee]rror' "$(set_west_transport udp)"
check "after the change to UDP: a UDP socket on C:$PC" sp_wait_for "UDP socket on C:$PC" 5 \
	sh -c "ip netns exec '$SP' ss -Hnlu 'src $C:$PC' | grep -q ."
check "carol registers again through E, now at D2 over UDP" lab_register "$TE" 10.2.0.10 5060 carol "$E"
check "D2 has carol at the same C:$PC over UDP" carol_has "sip:carol@$C:$PC"
check_no_match "the strategy's server transport changes back to TCP" '%|[Ee]rror' "$(set_west_transport tcp)"
check "after the change to TCP: no UDP socket on C:$PC" sp_wait_for "no UDP socket on C:$PC" 5 \
	sh -c "! ip netns exec '$SP' ss -Hnlu 'src $C:$PC' | grep -q ."
if lab_callee_start "$TE" 10.2.0.10 5060 carol "$E" 1 uas.xml; then
	sp_pass "carol registers again after the change back to TCP and waits for a call"
	CAROL_PID=$LAB_SIPP_PID
	check "D2 has carol at the same C:$PC over TCP" carol_has "sip:carol@$C:$PC;transport=tcp"
	check "the REGISTER went over a TCP connection from C:$PC to D2" tcp_from_c "$PC"
	lab_sipp_bg "$SRV2" to-carol2 -sf "$LAB_SIPP_DIR/uac.xml" -i "$D2" -p 5070 -s carol -m 1 "$D2:5060"
	TO_CAROL_PID=$LAB_SIPP_PID
	lab_sipp_wait "$TO_CAROL_PID"
	rc=$?
	lab_sipp_wait "$CAROL_PID"
	crc=$?
	check_eq "the server's call to carol after the transport changes: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log to-carol2; lab_sipp_log callee-carol-uas; } | sed 's/^/#   /'
else
	sp_fail "carol registers again after the change back to TCP"
	tail -20 "$SP_TMP/sp1/log" | sed 's/^/#   /'
fi

check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
lab_down
sp_done
