#!/bin/bash
# Real terminals over TCP (issue 17 item 6): Debian's baresip with
# `;transport=tcp` (alice, bob) registers through E with digest
# authentication at Kamailio D1 listening on TCP (WITH_AUTH, WITH_TCP), the
# strategy reaching D1 over TCP too (`server D1 transport tcp`): each
# terminal's SIP is one TCP connection to E, intercepted and accepted by
# sigproxyd, and each binding's C:c one TCP connection of the SP's own to
# D1. alice calls bob: the INVITE from D1 reaches bob over the connection
# he holds to E, RTP flows both ways through E, the call ends with a BYE.
# dave registers with SIP outbound over TCP (RFC 5626: sipnat=outbound,
# +sip.instance and reg-id in his Contact; Kamailio WITH_OUTBOUND asks
# for keep-alives): the registrar gets his Contact at C:c;transport=tcp
# with his instance and reg-id intact, his CRLFCRLF keep-alives are
# answered by the SP on his flow, and alice's call to him reaches him over
# that flow (his connection to E, no new connection to his Contact); his
# 200 OK's GRUU-style Contact (no transport=) goes to D1 as
# C:c;transport=tcp, so the ACK and BYE come back over TCP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/baresip.sh"
sp_require_root
sp_require_tools baresip kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
for t in alice:1 bob:2 dave:5; do
	baresip_up "${t%:*}" "${t#*:}" || { sp_fail "namespace for ${t%:*}"; sp_done; exit 1; }
done
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20199" \
	-c "proxy-strategy baresip seq 10" -c "match source $BARESIP_NET" \
	-c "match destination $E/32 port 5060" -c "server $D1 transport tcp" -c "action proxy" -c "end" 2>&1)
check_eq "the strategy (server over TCP) and media configuration accepted" "" "$out"
sp_wait_for "TCP TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5060.*tproxy'"
lab_start_kamailio_auth "$SRV1" "$D1" srv1 -A WITH_TCP -l "tcp:$D1:5060" -A WITH_OUTBOUND ||
	{ sp_fail "kamailio with digest auth starts on TCP"; sp_done; exit 1; }
sp_pass "kamailio with digest auth starts on TCP"

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
kamlog() { cat "$LAB_OUT/kam-srv1/log"; }
dump_on_failure() {
	echo "# --- sigproxyd:"; sp_cli sp1 -c 'show bindings' 2>&1 | sed 's/^/#   /'
	tail -5 "$SP_TMP/sp1/log" | sed 's/^/#   /'
	for n in "$@"; do echo "# --- baresip $n:"; baresip_log "$n" | tr '\r' '\n' | grep -av 'audio=' | tail -15 | sed 's/^/#   /'; done
}
# ended PEER: what a baresip logs when PEER's BYE ends its call (as the
# callee it says "session closed: Connection reset by peer", libre's word
# for a BYE, or "Call with ... terminated")
ended() {
	echo "Call with sip:$1@$E terminated|sip:$1@$E: session closed"
}
# tcp_to_e NAME: NAME's established TCP connections to E:5060 (in its namespace)
tcp_to_e() {
	ip netns exec "${BARESIP_NS[$1]}" ss -Hnt state established "dst $E:5060" | wc -l
}
# tcp_at NAME: established TCP connections on NAME's port 5060 (to his Contact)
tcp_at() {
	ip netns exec "${BARESIP_NS[$1]}" ss -Hnt state established "src ${BARESIP_ADDR[$1]}:5060" | wc -l
}

# ---- registration over TCP with digest through E ----
# the account's URI says TCP (<sip:USER@E;transport=tcp>)
baresip_start alice alice "$E;transport=tcp" || { sp_fail "baresip alice starts"; dump_on_failure alice; }
baresip_start bob bob "$E;transport=tcp" || { sp_fail "baresip bob starts"; dump_on_failure bob; }
baresip_start dave dave "$E;transport=tcp" pw-dave ";sipnat=outbound;outbound=\"sip:$E;transport=tcp\"" ||
	sp_fail "baresip dave starts"
for n in alice bob dave; do
	check "$n registers over TCP (200 OK after the challenge)" \
		sp_wait_for "$n registered" 10 baresip_logged "$n" "^$n@$E: .* 200 OK .*\\[1 binding\\]" ||
		dump_on_failure "$n"
done
check_match "Kamailio challenged the REGISTERs (401)" "REGISTER for alice: challenged" "$(kamlog)"
contacts=$(lab_kamailio_contacts srv1)
for n in alice bob; do
	check_match "the registrar holds $n at C:c over TCP" \
		"^$n sip:$n-[^@]*@${C//./\\.}:4[0-9]{4};transport=tcp " "$contacts"
done
check_no_match "no terminal's address at the registrar" "10\\.5\\." "$contacts"
bindings=$(sp_cli sp1 -c 'show bindings')
check_eq "show bindings: three bindings, TCP on both sides" 3 "$(grep -cE '10\.5\.[0-9]+\.10:[0-9]+ .* tcp/tcp$' <<<"$bindings")"
check "alice holds one TCP connection to E" test "$(tcp_to_e alice)" -ge 1

# ---- RFC 5626 outbound over TCP: what the registrar sees, the keep-alives ----
loc=$(lab_kamailio_location srv1)
dave_loc=$(awk '/AoR: dave/,/^\t*}$/' <<<"$loc")
check_match "the registrar has dave at C:c over TCP" "Address: sip:dave-[^@]*@${C//./\\.}:4[0-9]{4};transport=tcp" "$dave_loc"
check_match "... his +sip.instance" "Instance: <urn:uuid:" "$dave_loc"
check_match "... and his reg-id" "Reg-Id: 1" "$dave_loc"
# baresip (libre) keeps a TCP flow alive every max(Flow-Timer, 20 s) x 0.8-1.0:
# with Kamailio's Flow-Timer 6 the first CRLFCRLF comes 16-20 s after the
# 200 OK, so 20 s of waiting here was a race (it lost once in CI); 45 s is
# two intervals.
check "dave's CRLFCRLF keep-alives answered on his flow (>= 1)" \
	sp_wait_for "keep-alive pong" 45 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show statistics' | sed -nE 's/^ *pings answered *([0-9]+)/\\1/p')\" -ge 1 ]"

# ---- alice calls bob ----
check "alice dials bob" baresip_cmd alice dial "sip:bob@$E"
check "the call is established at alice" \
	sp_wait_for "alice established" 10 baresip_logged alice "Call established: sip:bob@$E" || dump_on_failure alice bob
check "the call is established at bob" \
	sp_wait_for "bob established" 10 baresip_logged bob "Call established: sip:alice@$E"
check "bob receives RTP from E" \
	sp_wait_for "bob rtp" 10 baresip_logged bob "incoming rtp for 'audio' established, receiving from $E:"
check "alice receives RTP from E" \
	sp_wait_for "alice rtp" 10 baresip_logged alice "incoming rtp for 'audio' established, receiving from $E:"
check_eq "bob's INVITE came over his connection to E, not a new one to his Contact" 0 "$(tcp_at bob)"
check "alice hangs up" baresip_cmd alice hangup
check "bob sees the end (the BYE)" sp_wait_for "bob end" 5 baresip_logged bob "$(ended alice)"

# ---- alice calls dave: over his flow ----
check "alice dials dave" baresip_cmd alice dial "sip:dave@$E"
check "the call is established at dave" \
	sp_wait_for "dave established" 10 baresip_logged dave "Call established: sip:alice@$E" || dump_on_failure alice dave
check_eq "dave's INVITE came over his flow (his connection to E)" 0 "$(tcp_at dave)"
check "alice hangs up on dave" baresip_cmd alice hangup
check "dave sees the end (the BYE)" sp_wait_for "dave end" 5 baresip_logged dave "$(ended alice)"
check_eq "dave registered once: his flow never failed" 1 "$(baresip_count dave ' 200 OK ')"

# ---- the end ----
check "no session left" sp_wait_for "0 sessions" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 0 ]"
check_eq "nothing unparsable from a real terminal" 0 "$(stat 'parse errors')"
check_eq "nothing that could not be rewritten" 0 "$(stat 'rewrite errors')"
check_eq "no TCP connection refused or closed by a limit" 0 \
	"$(sp_cli sp1 -c 'show statistics' | sed -n '/TCP refused or closed/,/not reading/p' | awk '{s+=$NF} END {print s+0}')"
check "sigproxyd still runs" kill -0 "$SPD_PID"

for n in alice bob dave; do baresip_stop "$n"; done
lab_down
sp_daemon_stop "$SPD_PID"
check_eq "sigproxyd exits cleanly" 0 $?
sp_done
