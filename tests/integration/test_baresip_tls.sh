#!/bin/bash
# Real terminals over TLS (issue 17 item 6): Debian's baresip with
# `;transport=tls` (alice, bob) trusting the test's CA (sip_cafile)
# connects to E:5061, where sigproxyd intercepts (TPROXY) and terminates
# TLS with E's certificate (IP SAN E, signed by that CA); they register
# with digest authentication at Kamailio D1 on TLS (WITH_AUTH, WITH_TLS),
# which the SP reaches over TLS connections of its own from C:c, verifying
# D1's certificate against `tls ca` and the name kam.test. alice calls
# bob: the INVITE from D1 reaches bob over the connection he holds to E,
# RTP flows both ways through E, the call ends with a BYE.
# Debian 12's baresip (1.0.0, libre 1.1.0) loads sip_cafile but does not
# verify the server's certificate (a terminal trusting another CA
# registers all the same), so what a verifying terminal would check, E's
# certificate against the CA and E's address (IP SAN), is checked with
# openssl s_client from alice's namespace, intercepted like her SIP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/baresip.sh"
sp_require_root
sp_require_tools baresip kamailio kamcmd python3 nft openssl

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
T=$LAB_OUT/tls
mkdir -p "$T"
lab_tls_ca "$T" ca && lab_tls_cert "$T" e ca sp.test "IP:$E" &&
	lab_tls_cert "$T" d1 ca kam.test "DNS:kam.test,IP:$D1"
check_eq "the test's certificates are made" 0 $?
for t in alice:1 bob:2; do
	baresip_up "${t%:*}" "${t#*:}" || { sp_fail "namespace for ${t%:*}"; sp_done; exit 1; }
done
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate $T/e.crt key $T/e.key" -c "tls ca $T/ca.crt" \
	-c "media kernel" -c "media-port-range 20000 20199" \
	-c "proxy-strategy baresip seq 10" -c "match source $BARESIP_NET" -c "match destination $E/32" \
	-c "server $D1 transport tls name kam.test" -c "action proxy" -c "end" 2>&1)
check_eq "E's certificate, the CA, the strategy (server over TLS) accepted" "" "$out"
sp_wait_for "TLS TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5061.*tproxy'"
lab_start_kamailio_tls "$SRV1" "$D1" srv1 "$T/d1.crt" "$T/d1.key" -A WITH_AUTH ||
	{ sp_fail "kamailio with digest auth starts on TLS"; sp_done; exit 1; }
sp_pass "kamailio with digest auth starts on TLS"

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}
dump_on_failure() {
	echo "# --- sigproxyd:"; sp_cli sp1 -c 'show bindings' 2>&1 | sed 's/^/#   /'
	tail -5 "$SP_TMP/sp1/log" | sed 's/^/#   /'
	for n in "$@"; do echo "# --- baresip $n:"; baresip_log "$n" | tr '\r' '\n' | grep -av 'audio=' | tail -15 | sed 's/^/#   /'; done
}
# tls_to_e NAME: NAME's established TCP connections to E:5061
tls_to_e() {
	ip netns exec "${BARESIP_NS[$1]}" ss -Hnt state established "dst $E:5061" | wc -l
}
# conns_at NAME: established connections on NAME's own SIP ports (to his Contact)
conns_at() {
	ip netns exec "${BARESIP_NS[$1]}" ss -Hnt state established "( sport = :5060 or sport = :5061 )" | wc -l
}

# ---- registration over TLS with digest through E ----
BARESIP_CAFILE=$T/ca.crt
for n in alice bob; do
	baresip_start "$n" "$n" "$E;transport=tls" || { sp_fail "baresip $n starts"; dump_on_failure "$n"; }
done
for n in alice bob; do
	check "$n registers over TLS (200 OK after the challenge)" \
		sp_wait_for "$n registered" 10 baresip_logged "$n" "^$n@$E: .* 200 OK .*\\[1 binding\\]" ||
		dump_on_failure "$n"
done
check_match "Kamailio challenged the REGISTERs (401)" "REGISTER for alice: challenged" "$(cat "$LAB_OUT/kam-srv1/log")"
contacts=$(lab_kamailio_contacts srv1)
for n in alice bob; do
	check_match "the registrar holds $n at C:c over TLS" \
		"^$n sip:$n-[^@]*@${C//./\\.}:4[0-9]{4};transport=tls " "$contacts"
done
check_no_match "no terminal's address at the registrar" "10\\.5\\." "$contacts"
check_eq "show bindings: two bindings, TLS on both sides" 2 \
	"$(sp_cli sp1 -c 'show bindings' | grep -cE '10\.5\.[0-9]+\.10:[0-9]+ .* tls/tls$')"
check "alice holds a TLS connection to E:5061" test "$(tls_to_e alice)" -ge 1
out=$(ip netns exec "${BARESIP_NS[alice]}" timeout 10 openssl s_client -connect "$E:5061" -brief \
	-CAfile "$T/ca.crt" -verify_ip "$E" -verify_return_error </dev/null 2>&1)
check_match "E's certificate verifies against the CA and E's address" "Verification: OK" "$out"
check_match "TLS handshakes counted (E's and towards D1)" "^([4-9]|[1-9][0-9]+)$" "$(stat handshakes)"

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
check_eq "bob's INVITE came over his connection to E, not a new one to his Contact" 0 "$(conns_at bob)"
check "alice hangs up" baresip_cmd alice hangup
check "bob sees the end (the BYE)" sp_wait_for "bob end" 5 \
	baresip_logged bob "Call with sip:alice@$E terminated|sip:alice@$E: session closed"

# ---- the end ----
check "no session left" sp_wait_for "0 sessions" 5 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 0 ]"
check_eq "nothing unparsable from a real terminal" 0 "$(stat 'parse errors')"
check_eq "nothing that could not be rewritten" 0 "$(stat 'rewrite errors')"
check_eq "no TLS handshake failed" 0 "$(stat 'handshake failed')"
check "sigproxyd still runs" kill -0 "$SPD_PID"

for n in alice bob; do baresip_stop "$n"; done
lab_down
sp_daemon_stop "$SPD_PID"
check_eq "sigproxyd exits cleanly" 0 $?
sp_done
