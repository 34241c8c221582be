#!/bin/bash
# The proxy engine end to end (SPEC §1-§3.1, serial mode): the lab's
# terminals send everything to E = 198.51.100.1, which exists nowhere;
# sigproxyd in ns sp intercepts it and proxies 10.1.0.0/24 to Kamailio D1 and
# 10.2.0.0/24 to D2, from C = 192.0.2.1 with one port c per terminal.
# Registrations, calls (both hang-ups, CANCEL, re-INVITE, a call from the
# server side), the show commands and counters, malformed datagrams, and what
# each link carries.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd dumpcap tshark python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
sp_pass "sigproxyd starts in ns sp"
check "the proxy engine answers show statistics" sp_cli sp1 -c 'show statistics'

# stat LABEL: the counter on the first line of `show statistics` that
# starts with LABEL
stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
# stat_is NAME VALUE: does counter NAME read VALUE?
stat_is() {
	[ "$(stat "$1")" = "$2" ]
}
# session_lines CALL-ID N: does `show sessions` list that call on N lines?
session_lines() {
	[ "$(sp_cli sp1 -c 'show sessions' | grep -cF "$1")" -eq "$2" ]
}
# session_count: the number `show sessions count` prints
session_count() {
	sp_cli sp1 -c 'show sessions count' | grep -oE '[0-9]+' | head -1
}
# contact_port NAME USER: the port of USER's Contact in Kamailio NAME
contact_port() {
	lab_kamailio_contacts "$1" | sed -nE "s/^$2 sip:$2@[0-9.]+:([0-9]+) .*/\\1/p" | head -1
}

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" \
	-c "proxy-strategy west seq 20" -c "match source 10.2.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "the two strategies are accepted" "" "$out"
# SP_SIGNALING_SOCKETS=shared (test_engine_shared.sh): the same flows with
# one shared server-side socket instead of a socket per binding
if [ -n "${SP_SIGNALING_SOCKETS:-}" ]; then
	check_eq "signaling-sockets $SP_SIGNALING_SOCKETS is accepted" "" "$(sp_cli sp1 -c "configure terminal" \
		-c "signaling-proxy" -c "signaling-sockets $SP_SIGNALING_SOCKETS" -c "end" 2>&1)"
fi
# Three more strategies of the same shape for other sources, between the
# two: east, f1-f3 and west are one map lookup in the kernel (sp_nft's
# grouping), and the calls below still reach each one's own server.
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "proxy-strategy f1 seq 11" -c "match source 172.16.1.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D2" -c "action proxy" \
	-c "proxy-strategy f2 seq 12" -c "match source 172.16.2.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D2" -c "action proxy" \
	-c "proxy-strategy f3 seq 13" -c "match source 172.16.3.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "three filler strategies are accepted" "" "$out"
check_match "east, f1-f3, west share one nftables map" "map @g[0-9_]+ counter" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
# The engine follows the configuration on its own; give it a moment to put
# the interception into the kernel.
sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"

lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }
lab_start_kamailio "$SRV2" "$D2" srv2 || { sp_fail "kamailio #2 starts"; sp_done; exit 1; }

TE_PCAP=$LAB_OUT/te-sp.pcap
SRV1_PCAP=$LAB_OUT/sp-srv1.pcap
SRV2_PCAP=$LAB_OUT/sp-srv2.pcap
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$TE_PCAP" || sp_fail "capture on te-sp"
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$SRV1_PCAP" || sp_fail "capture on sp-srv1"
lab_capture_start "$SP" "$LAB_SP_SRV2_IF" "$SRV2_PCAP" || sp_fail "capture on sp-srv2"

RECEIVED0=$(stat 'received from terminals')
PROXIED0=$(stat 'proxied to servers')

# ---- registrations: D1 for 10.1.0.0/24, D2 for 10.2.0.0/24, each from C:c ----
check "alice (10.1.0.10) registers at E" lab_register "$TE" 10.1.0.10 5060 alice "$E"
check "bob (10.1.0.11) registers at E" lab_register "$TE" 10.1.0.11 5060 bob "$E"
check "erin (10.1.0.13) registers at E" lab_register "$TE" 10.1.0.13 5060 erin "$E"
check "carol (10.2.0.10) registers at E" lab_register "$TE" 10.2.0.10 5060 carol "$E"
check "OPTIONS keepalive to E answered 200" \
	lab_sipp "$TE" options -sf "$LAB_SIPP_DIR/options.xml" -i 10.1.0.12 -p 5060 -s keepalive -m 1 "$E:5060"
loc1=$(lab_kamailio_contacts srv1)
loc2=$(lab_kamailio_contacts srv2)
for u in alice bob erin; do
	check_match "D1 has $u at C:c" "^$u sip:$u@${C//./\\.}:[0-9]+ " "$loc1"
done
check_no_match "D1 has no terminal address" "@10\\." "$loc1"
check_no_match "D1 has no carol" '^carol ' "$loc1"
check_match "D2 has carol at C:c" "^carol sip:carol@${C//./\\.}:[0-9]+ " "$loc2"
check_no_match "D2 has none of the 10.1.0.0/24 terminals" '^(alice|bob|erin) ' "$loc2"
PA=$(contact_port srv1 alice)
PB=$(contact_port srv1 bob)
PE=$(contact_port srv1 erin)
check_eq "one distinct port c per terminal" 3 "$(printf '%s\n' "$PA" "$PB" "$PE" | sed '/^$/d' | sort -u | wc -l)"
check "alice registers again: same c" lab_register "$TE" 10.1.0.10 5060 alice "$E"
check_eq "... and D1 still has one alice at C:$PA" "alice sip:alice@$C:$PA" \
	"$(lab_kamailio_contacts srv1 | grep '^alice ' | cut -d' ' -f1,2)"

if [ "${SP_SIGNALING_SOCKETS:-}" = shared ]; then
	check_eq "shared: no UDP socket bound to C:c" "" "$(ip netns exec "$SP" ss -Hnua "src $C")"
	# (with workers, the sk_lookup program steers them: no rule)
	[ "$(sp_workers sp1)" -gt 1 ] || check_match "shared: servers' datagrams to C go to one socket (TPROXY)" \
		"ip daddr ${C//./\\.} udp dport 40000-49999 tproxy ip to :[0-9]+" \
		"$(ip netns exec "$SP" nft list chain inet sigproxy server_side)"
fi
bindings=$(sp_cli sp1 -c 'show bindings')
for t in "10.1.0.10:5060 $PA" "10.1.0.11:5060 $PB" "10.1.0.13:5060 $PE"; do
	a=${t% *} c=${t#* }
	check_match "show bindings: $a as $C:$c" "${a//./\\.}.*${C//./\\.}:$c([^0-9]|\$)" "$bindings"
done
check_match "show bindings: carol" '10\.2\.0\.10:5060' "$bindings"
# show bindings | json: the same bindings, from the table (not the text)
check_eq "show bindings | json: each terminal with its C:c" \
	"10.1.0.10:5060 $C:$PA 10.1.0.11:5060 $C:$PB 10.1.0.13:5060 $C:$PE" "$(sp_cli sp1 -c 'show bindings | json' |
	python3 -c '
import json, sys
b = {x["terminal"]: x["server-side"] for x in json.load(sys.stdin)["bindings"]}
print(" ".join("%s %s" % (t, b.get(t)) for t in ("10.1.0.10:5060", "10.1.0.11:5060", "10.1.0.13:5060")))
' 2>&1)"
check_eq "show vpn without any vpn-id or VRF" "No VPNs (no interface has a vpn-id, no VRF)" \
	"$(sp_cli sp1 -c 'show vpn')"

# ---- calls between 10.1.0.0/24 terminals, all through E ----
# expect_call DESC CALLEE-SCENARIO CALLER-SCENARIO [N]: bob answers N calls
# from alice
expect_call() {
	lab_expect_call "$1" "$E" 10.1.0.10 10.1.0.11 "$2" "$3" "${4:-1}"
}
expect_call "call alice->bob, caller hangs up" uas.xml uac.xml
expect_call "call cancelled while ringing" uas_cancel.xml uac_cancel.xml
expect_call "callee hangs up" uas_bye.xml uac_wait_bye.xml
expect_call "re-INVITE (hold) in a call" uas.xml uac_reinvite.xml
expect_call "two calls at once" uas.xml uac.xml 2

# An incoming call: the server side (a SIPp on D1's host) calls bob, whom D1
# knows only as C:c.
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	lab_sipp "$SRV1" from-server -sf "$LAB_SIPP_DIR/uac.xml" -i "$D1" -p 5070 -s bob -m 1 \
		-d 100 "$D1:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "incoming call from the server side reaches bob" "0 0" "$rc $?"
else
	sp_fail "incoming call: bob registers"
fi

# A call between the 10.2.0.0/24 terminals, through D2.
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-dave -sf "$LAB_SIPP_DIR/uac.xml" -i 10.2.0.10 -p 5060 -s dave -m 1 \
		-d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "call carol->dave through D2" "0 0" "$rc $?"
else
	sp_fail "call carol->dave: dave registers"
fi
check_match "D2 has dave at C:c" "^dave sip:dave@${C//./\\.}:[0-9]+ " "$(lab_kamailio_contacts srv2)"

# ---- a long call, seen by the show commands while it lasts ----
CALLID=longcall-1@10.1.0.10
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	CALLEE=$LAB_SIPP_PID
	lab_sipp_bg "$TE" long-call -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5060 -s bob -m 1 \
		-d 4000 -cid_str 'longcall-%u@%s' "$E:5060"
	CALLER=$LAB_SIPP_PID
	# Both ends are terminals behind the proxy: the call passes it twice, as
	# alice's dialog with D1 and as D1's dialog with bob.
	sp_wait_for "both legs of the long call in show sessions" 5 session_lines "$CALLID" 2
	sessions=$(sp_cli sp1 -c 'show sessions')
	lines=$(printf '%s\n' "$sessions" | grep -F "$CALLID")
	check_eq "show sessions: one line per leg of the long call" 2 "$(printf '%s\n' "$lines" | grep -c .)"
	check_match "show sessions: the caller's leg, terminal and E" "10\\.1\\.0\\.10:5060.*${E//./\\.}" "$lines"
	check_match "show sessions: the callee's leg, terminal and E" "10\\.1\\.0\\.11:5060.*${E//./\\.}" "$lines"
	check_match "show sessions: C:c and D of the legs" "${C//./\\.}:[0-9]+.*${D1//./\\.}" "$lines"
	n=$(session_count)
	check "show sessions count: at least the two legs (${n:-none})" test "${n:-0}" -ge 2
	check_match "show sessions detail names the Call-ID" "$CALLID" "$(sp_cli sp1 -c 'show sessions detail')"
	lab_sipp_wait "$CALLER"
	rc=$?
	lab_sipp_wait "$CALLEE"
	check_eq "the long call ends well" "0 0" "$rc $?"
else
	sp_fail "long call: bob registers"
fi

RECEIVED1=$(stat 'received from terminals')
PROXIED1=$(stat 'proxied to servers')
check "show statistics: received rose (${RECEIVED0:-?} -> ${RECEIVED1:-?})" \
	test "${RECEIVED1:-0}" -gt "${RECEIVED0:-0}"
check "show statistics: proxied rose (${PROXIED0:-?} -> ${PROXIED1:-?})" \
	test "${PROXIED1:-0}" -gt "${PROXIED0:-0}"

# ---- malformed datagrams: dropped, counted, never forwarded ----
lab_capture_stop
MALFORMED=("$LAB_MALFORMED_DIR"/*.sip)
BAD_SRV1=$LAB_OUT/malformed-srv1.pcap
BAD_SRV2=$LAB_OUT/malformed-srv2.pcap
BAD_TE=$LAB_OUT/malformed-te.pcap
# Nothing else runs now: any packet on a server link would be a forwarded one.
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$BAD_SRV1" "udp or ip[6:2] & 0x3fff != 0"
lab_capture_start "$SP" "$LAB_SP_SRV2_IF" "$BAD_SRV2" "udp or ip[6:2] & 0x3fff != 0"
lab_capture_start "$SP" "$LAB_SP_TE_IF" "$BAD_TE"
PARSE0=$(stat 'parse errors')
check "malformed datagrams sent to E:5060" lab_send_udp "$TE" 10.1.0.12 "$E" 5060 "${MALFORMED[@]}"
want=$((${PARSE0:-0} + ${#MALFORMED[@]}))
sp_wait_for "parse errors counted" 5 stat_is 'parse errors' "$want"
sleep 0.5   # anything forwarded late would still be caught
lab_capture_stop
check "sigproxyd is still running" kill -0 "$SPD_PID"
check_eq "parse errors rose by the ${#MALFORMED[@]} datagrams sent" "$want" "$(stat 'parse errors')"
check_eq "te-sp link: every malformed datagram went out" "${#MALFORMED[@]}" \
	"$(lab_pcap_table "$BAD_TE" | awk -F '\t' -v e="$E" '$3 == "10.1.0.12" && $5 == e && $4 != ""' | grep -c .)"
check_eq "te-sp link: none was answered" 0 \
	"$(lab_pcap_table "$BAD_TE" | awk -F '\t' '$5 == "10.1.0.12"' | grep -c .)"
check_eq "sp-srv1 link: none was forwarded" 0 "$(lab_pcap_table "$BAD_SRV1" | grep -c .)"
check_eq "sp-srv2 link: none was forwarded" 0 "$(lab_pcap_table "$BAD_SRV2" | grep -c .)"
check "the proxy still proxies afterwards" lab_register "$TE" 10.1.0.10 5060 alice "$E"

# ---- what each link carried ----
# Terminal side: every SIP packet between a terminal and E:5060, nothing else.
ends=$(lab_pcap_endpoints "$TE_PCAP")
check_match "te-sp: terminals sent SIP to E" "^10\\.1\\.0\\.10:5060 > ${E//./\\.}:5060\$" "$ends"
check_match "te-sp: E answered the terminals" "^${E//./\\.}:5060 > 10\\.1\\.0\\.10:5060\$" "$ends"
check_eq "te-sp: E:5060 is the far end of every SIP packet" "" \
	"$(printf '%s\n' "$ends" | grep -vE "^10\\.[12]\\.0\\.[0-9]+:[0-9]+ > ${E//./\\.}:5060\$|^${E//./\\.}:5060 > 10\\.[12]\\.0\\.[0-9]+:[0-9]+\$")"
check_no_match "te-sp: no 192.0.2.x address" '192\.0\.2\.' "$(lab_pcap_addresses "$TE_PCAP" all)"
# Server side: only C talking to D.
check_eq "sp-srv1: only C and D1" "$(printf '%s\n' "$C" "$D1")" "$(lab_pcap_addresses "$SRV1_PCAP" all)"
check_eq "sp-srv2: only C and D2" "$(printf '%s\n' "$C" "$D2")" "$(lab_pcap_addresses "$SRV2_PCAP" all)"
ends1=$(lab_pcap_endpoints "$SRV1_PCAP")
check_match "sp-srv1: alice's REGISTERs came from C:$PA" "^${C//./\\.}:$PA > ${D1//./\\.}:5060\$" "$ends1"
check_eq "sp-srv1: every SIP packet between C:c and D1:5060" "" \
	"$(printf '%s\n' "$ends1" | grep -vE "^${C//./\\.}:[0-9]+ > ${D1//./\\.}:5060\$|^${D1//./\\.}:5060 > ${C//./\\.}:[0-9]+\$")"
# SDP: the terminals are told E, the servers C.
sdp_te=$(lab_pcap_sdp "$TE_PCAP" | grep "^$E > ")
sdp_srv=$(lab_pcap_sdp "$SRV1_PCAP" | grep "^$C > ")
check_match "te-sp: SDP from E names E" "c=IN IP4 ${E//./\\.}\$" "$sdp_te"
check_eq "te-sp: no SDP from E names anything else" "" \
	"$(printf '%s\n' "$sdp_te" | sed '/^$/d' | grep -v "c=IN IP4 $E\$")"
check_match "sp-srv1: SDP from C names C" "c=IN IP4 ${C//./\\.}\$" "$sdp_srv"
check_eq "sp-srv1: no SDP from C names anything else" "" \
	"$(printf '%s\n' "$sdp_srv" | sed '/^$/d' | grep -v "c=IN IP4 $C\$")"

# ---- CRLF keep-alives (RFC 5626) refresh the binding and reach the server ----
KA_PCAP=$LAB_OUT/keepalive-srv1.pcap
KA0=$(stat 'keep-alives')
lab_capture_start "$SP" "$LAB_SP_SRV1_IF" "$KA_PCAP" "udp and dst host $D1"
check "a registered terminal (alice, 10.1.0.10:5060) sends a CRLF keep-alive to E" \
	ip netns exec "$TE" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.1.0.10", 5060))
s.sendto(b"\r\n\r\n", (sys.argv[1], 5060))' "$E"
sp_wait_for "keep-alive counted" 5 stat_is 'keep-alives' "$(( ${KA0:-0} + 1 ))"
sleep 0.3
lab_capture_stop
check_eq "keep-alive counted" "$(( ${KA0:-0} + 1 ))" "$(stat 'keep-alives')"
check_eq "... and forwarded to D1 from C" 1 "$(tshark -r "$KA_PCAP" -Y "ip.src == $C && udp.length == 12" 2>/dev/null | grep -c .)"

# ---- session-limit: counted, logged, and the caller told 503 ----
# A call between two terminals behind the SP is two dialogs (two legs), and
# `show sessions` has a line for each: a limit of 2 admits one such call.
check "session-limit 2" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "session-limit 2"
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	BOB=$LAB_SIPP_PID
	lab_sipp_bg "$TE" "limit-long-call" -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5066 -s bob \
		-m 1 -d 4000 "$E:5060"
	LONG=$LAB_SIPP_PID
	sp_wait_for "the first call is up" 10 sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show sessions count' | grep -q 'Sessions: [1-9]'"
	LIM0=$(stat 'session limit')
	lab_call "$TE" 10.1.0.13 5067 bob "$E" uac.xml; rc=$?
	check_eq "a second call over the limit fails at the caller" 1 $rc
	check_match "... with 503 from E" '503' "$(lab_sipp_log "caller-bob-uac-10.1.0.13-5067")$(cat "$LAB_OUT/sipp/caller-bob-uac-10.1.0.13-5067"* 2>/dev/null)"
	check_eq "... counted as a session-limit drop" "$(( ${LIM0:-0} + 1 ))" "$(stat 'session limit')"
	check_match "... and logged" "session limit .* reached" "$(cat "$SP_TMP/sp1/log")"
	lab_sipp_wait "$LONG"
	check_eq "the call within the limit completed" 0 $?
	lab_sipp_wait "$BOB"
fi
check "no session-limit" sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no session-limit"

# ---- clear sessions: the table empties, the call's signaling still passes ----
if lab_callee_start "$TE" 10.1.0.11 5060 bob "$E" 1 uas.xml; then
	BOB=$LAB_SIPP_PID
	lab_sipp_bg "$TE" "clear-long-call" -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5068 -s bob \
		-m 1 -d 3000 -cid_str 'clearcall-%u@%s' "$E:5060"
	LONG=$LAB_SIPP_PID
	sp_wait_for "the call to clear is up" 10 session_lines clearcall 2
	check "clear sessions" sp_cli sp1 -c 'clear sessions'
	check_eq "clear sessions: show sessions count says 0" 0 "$(session_count)"
	check_eq "clear sessions: the call is not listed any more" 0 \
		"$(sp_cli sp1 -c 'show sessions' | grep -c clearcall)"
	lab_sipp_wait "$LONG"
	check_eq "... and its BYE is still proxied: the call ends well" 0 $?
	lab_sipp_wait "$BOB"
else
	sp_fail "clear sessions: bob registers"
fi

# hits per strategy with the grouped map: the mark names each one
hits_of() { sp_cli sp1 -c 'show statistics' | sed -nE "s/^ +$1 +seq [0-9]+ +proxy +([0-9]+)$/\\1/p"; }
h_east=$(hits_of east) h_west=$(hits_of west)
check "strategy hits through the map: east ${h_east:-?} > 0, west ${h_west:-?} > 0" \
	test "${h_east:-0}" -gt 0 -a "${h_west:-0}" -gt 0
check_eq "strategy hits through the map: the fillers none" "0 0 0" "$(hits_of f1) $(hits_of f2) $(hits_of f3)"

# forward and drop strategies grouped in a verdict map: the kernel counts
# each one's hits per map element; `show statistics` reads them back
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" \
	-c "proxy-strategy blk1 seq 1" -c "match source 10.1.0.10/32 port 5991" -c "action drop" \
	-c "proxy-strategy blk2 seq 2" -c "match source 10.1.0.10/32 port 5992" -c "action drop" \
	-c "proxy-strategy fwd3 seq 3" -c "match source 10.1.0.10/32 port 5993" -c "action forward" \
	-c "proxy-strategy blk4 seq 4" -c "match source 10.1.0.10/32 port 5994" -c "action drop" -c "end" 2>&1)
check_eq "four forward/drop strategies are accepted" "" "$out"
check_match "... and share one verdict map" "vmap @g[0-9]+" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
for port in 5992 5992 5993; do
	ip netns exec "$TE" python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
s.bind(('10.1.0.10', int(sys.argv[1]))); s.sendto(b'OPTIONS sip:x SIP/2.0\r\n\r\n', ('$E', 5060))" "$port"
done
kernel_hits_of() { sp_cli sp1 -c 'show statistics' | sed -nE "s/^ +$1 +seq [0-9]+ +$2 +([0-9]+)$/\\1/p"; }
check_eq "kernel hits per element: blk1 0, blk2 2, fwd3 1, blk4 0" "0 2 1 0" \
	"$(kernel_hits_of blk1 drop) $(kernel_hits_of blk2 drop) $(kernel_hits_of fwd3 forward) $(kernel_hits_of blk4 drop)"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "no proxy-strategy blk1" \
	-c "no proxy-strategy blk2" -c "no proxy-strategy fwd3" -c "no proxy-strategy blk4" -c "end" 2>&1)
check_eq "the forward/drop strategies are removed" "" "$out"

# ---- clear statistics ----
check "clear statistics" sp_cli sp1 -c 'clear statistics'
check_eq "clear statistics: received, proxied, parse errors are 0" "0 0 0" \
	"$(stat 'received from terminals') $(stat 'proxied to servers') $(stat 'parse errors')"

# ---- stop: everything it put in the kernel goes ----
sp_daemon_stop "$SPD_PID"
check_eq "sigproxyd exits 0 on SIGTERM" 0 $?
check_eq "no nftables rules left in ns sp" "" "$(ip netns exec "$SP" nft list ruleset)"
check_eq "no policy rules left in ns sp" 3 "$(ip -n "$SP" rule show | wc -l)"
lab_down
check_eq "no stray processes" "" "$(lab_stray_processes)"
sp_done
