#!/bin/bash
# The SP listens on C:c of a binding whose server is reached over TCP
# (issue 17 item 2): the server reaches the terminal without waiting for
# its next message, when the SP's own connection from C:c is gone. The
# strategy of 10.2.0.0/24 reaches Kamailio D2 over TCP; carol (UDP)
# registered through E, so D2 has her at C:c;transport=tcp.
# 1. D2 closes the idle connection (tcp_connection_lifetime 2 s: ~12 s): a call
#    from D2 to carol opens a new connection to C:c, which the SP accepts
#    and maps to carol's binding by its local address; the call completes
#    over it (the answers go back on the connection D2 opened).
# 2. kill -9 and a restart with the same state directory: the binding is
#    restored with a listener on C:c, and a call from D2 reaches carol
#    before she sends anything.
# Between the two, and right after the restart (before D2 connects), a
# connection to C:c from another address than D2's is refused (it would
# otherwise replace D2's connection).
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
# -n 1: one UDP process. With several, the caller's ACK can be taken by a
# process other than the one that has just opened the TCP connection to C:c
# for the INVITE ("quick connect", handed to tcp_main afterwards), and
# Kamailio then lost that ACK without a word (its log: INVITE and BYE by
# process 1, the ACK by process 2, which never reached C:c; carol saw the BYE
# without an ACK: 2 runs in 4 on this machine). What is tested here is the
# SP's TCP listening at C:c, not Kamailio's hand-over between its processes.
lab_start_kamailio_tcp "$SRV2" "$D2" srv2 -A TCP_LIFETIME=2 -n 1 ||
	{ sp_fail "kamailio #2 starts on TCP"; sp_done; exit 1; }

# tcp_c PORT: is there an established TCP connection on C:PORT in ns sp?
tcp_c() {
	ip netns exec "$SP" ss -Hnt state established "src $C:$1" | grep -q .
}
no_tcp_c() {
	! tcp_c "$1"
}

# call_carol NAME DESC: carol (10.2.0.10:5060, not registering again)
# answers one call from D2; both SIPp exit 0
call_carol() {
	local rc crc
	lab_sipp_bg "$TE" "carol-$1" -sf "$LAB_SIPP_DIR/uas.xml" -i 10.2.0.10 -p 5060 -s carol -m 1 "$E:5060"
	local carol=$LAB_SIPP_PID
	sp_wait_for "carol's UAS" 10 lab_bound "$TE" 10.2.0.10 5060
	lab_sipp "$SRV2" "to-carol-$1" -sf "$LAB_SIPP_DIR/uac.xml" -i "$D2" -p 5070 -s carol -m 1 "$D2:5060"
	rc=$?
	lab_sipp_wait "$carol"
	crc=$?
	check_eq "$2: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log "to-carol-$1"; lab_sipp_log "carol-$1"; tail -5 "$SP_TMP/sp1/log"; } |
		sed 's/^/#   /'
}

check "carol (10.2.0.10, UDP) registers through E at D2 over TCP" lab_register "$TE" 10.2.0.10 5060 carol "$E"
contact=$(lab_kamailio_contacts srv2 | sed -nE 's/^carol (sip:[^ ]+) .*/\1/p' | head -1)
check_match "D2 has carol at C:c over TCP" "^sip:carol@${C//./\\.}:4[0-9]{4};transport=tcp$" "$contact"
PC=$(printf '%s\n' "$contact" | sed -nE 's/.*:([0-9]+);transport=tcp$/\1/p')
check "the SP listens on C:$PC (TCP)" sh -c "ip netns exec '$SP' ss -Hntl 'src $C:$PC' | grep -q ."

# ---- 1. the server closes the idle connection ----
check "D2 closes the idle connection from C:$PC" sp_wait_for "no connection on C:$PC" 30 no_tcp_c "$PC"
call_carol idle "a call from D2 after it closed the idle connection reaches carol"
check_match "show statistics counts D2's connection to C:c" "from servers to C:c +1$" \
	"$(sp_cli sp1 -c 'show statistics')"
# another address connecting to C:c must not take the binding's connection
# over from D2: the SP closes it at once and counts it
hostile_to_c() {
	local hostile
	hostile=$(lab_tcp_closed_or_open "$TE" "$C" "$PC")
	check_eq "$1: a connection to C:$PC from carol's address (not D2) is closed by the SP" "closed" "$hostile"
	check_match "$1: show statistics counts it: not from the server 1" "not from the server +1$" \
		"$(sp_cli sp1 -c 'show statistics')"
}
hostile_to_c "after D2's connection"

# ---- 2. kill -9 and restart: D2 calls before carol says anything ----
check "the store holds the binding" sp_wait_for "stored binding" 5 \
	sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show persistence' | grep -qE 'Stored records: *[1-9]'"
lab_sp_kill9_restart
check_match "carol's binding restored on C:$PC" "10\\.2\\.0\\.10:5060 .*${C//./\\.}:$PC .* udp/tcp$" \
	"$(sp_cli sp1 -c 'show bindings')"
check "the restored binding listens on C:$PC (TCP)" sh -c "ip netns exec '$SP' ss -Hntl 'src $C:$PC' | grep -q ."
# the restored binding knows its server before anyone connects: the first
# comer from another address is refused too, and D2's call then reaches carol
hostile_to_c "right after the restart"
call_carol restart "a call from D2 after the restart reaches carol before she sends anything"
check_match "show statistics counts D2's connection to C:c" "from servers to C:c +1$" \
	"$(sp_cli sp1 -c 'show statistics')"
check_match "show statistics | json: from-servers" '"from-servers": ?1' \
	"$(sp_cli sp1 -c 'show statistics | json')"

check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
lab_down
sp_done
