#!/bin/bash
# SIP over TLS (issue 17 item 4). Certificates made here (openssl req): a CA,
# E's certificate (for 198.51.100.1), a second one for the reload, Kamailio
# D2's (kam.test, signed by the CA) and D1's (signed by another CA).
# - A TLS terminal (Python's ssl, OpenSSL) connects to E:5061, intercepted
#   (TPROXY) and terminated by sigproxyd with E's certificate (verified by
#   the client), registers with sips: URIs through E at D2 over the SP's own
#   TLS connection from C:c (D2's certificate verified against `tls ca` and
#   the name kam.test); D2 records sips:alice@C:c, the sips: URIs intact. A
#   second connection resumes the first's session (a ticket), counted.
# - A UDP terminal registers and calls through D2 over TLS (Via TLS at
#   C:c), and D2's INVITE reaches the TLS terminal over its connection.
# - Refused, counted and logged with the peer's address, the daemon
#   unharmed: a ClientHello of garbage, a client that says nothing, a server
#   whose certificate is of an unknown CA (D1), a server whose certificate
#   does not name what the strategy says.
# - Reload: E's certificate replaced and `tls certificate` entered again:
#   the held connection registers again over the same TLS session, a new
#   handshake sees the new certificate.
# - D2's INVITE over TLS held for a media proxy that answers garbage goes
#   through again when the call falls back to the kernel (it was lost:
#   sp_engine_receive_again looked for the server side in UDP only; fails
#   with that lookup). A UDP call still works at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft openssl

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2
TLS_CLIENT=$(dirname "$0")/tls_client.py

lab_up_or_end

# ---- certificates ----
T=$LAB_OUT/tls
mkdir -p "$T"
cert() { lab_tls_cert "$T" "$@"; }
ok=0
for ca in ca otherca; do
	lab_tls_ca "$T" "$ca" || ok=1
done
cert e1 ca sp.test "IP:$E" && cert e2 ca sp2.test "IP:$E" && cert d2 ca kam.test "DNS:kam.test,IP:$D2" &&
	cert d1 otherca kam1.test "DNS:kam1.test,IP:$D1" || ok=1
cp "$T/e1.crt" "$T/e.crt" && cp "$T/e1.key" "$T/e.key" || ok=1
check_eq "the test's certificates are made" 0 "$ok"

lab_sp_start
echo "# files: $SP_TMP"

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate /nonexistent/e.crt key /nonexistent/e.key" -c "end" 2>&1)
check_match "a certificate that does not load is refused" "Cannot load the TLS certificate" "$out"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate $T/e.crt key $T/e.key" -c "tls ca $T/ca.crt" -c "limit tcp-header-timeout 2" \
	-c "proxy-strategy badca seq 10" -c "match source 10.1.0.12/32" -c "match destination $E/32" \
	-c "server $D1 transport tls" -c "action proxy" \
	-c "proxy-strategy badname seq 11" -c "match source 10.1.0.13/32" -c "match destination $E/32" \
	-c "server $D2 transport tls name wrong.test" -c "action proxy" \
	-c "proxy-strategy east seq 20" -c "match source 10.1.0.0/24" -c "match destination $E/32" \
	-c "server $D2 transport tls name kam.test" -c "action proxy" \
	-c "proxy-strategy west seq 30" -c "match source 10.2.0.0/24" -c "match destination $E/32" \
	-c "server $D2 transport tls name kam.test" -c "action proxy" -c "end" 2>&1)
check_eq "E's certificate, the CA and the TLS strategies are accepted" "" "$out"
rc=$(sp_cli sp1 -c 'show running-config')
check_match "running-config shows E's certificate" "tls certificate ${T//./\\.}/e\\.crt key ${T//./\\.}/e\\.key" "$rc"
check_match "running-config shows the CA" "tls ca ${T//./\\.}/ca\\.crt" "$rc"
check_match "running-config shows the server's TLS name" "server ${D2//./\\.} transport tls name kam\\.test" "$rc"
sp_wait_for "TPROXY of the TLS port" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5061.*tproxy'"
check_match "TCP to the TLS port is intercepted" "tcp dport 5061 .*tproxy ip to :5061" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
check "sigproxyd listens on TCP 5061" sh -c "ip netns exec '$SP' ss -Hntl 'sport = :5061' | grep -q ."

lab_start_kamailio_tls "$SRV2" "$D2" srv2 "$T/d2.crt" "$T/d2.key" ||
	{ sp_fail "kamailio #2 starts on TLS"; sp_done; exit 1; }
lab_start_kamailio_tls "$SRV1" "$D1" srv1 "$T/d1.crt" "$T/d1.key" ||
	{ sp_fail "kamailio #1 starts on TLS"; sp_done; exit 1; }

# tls_client ARGS...: tls_client.py in ns te
tls_client() {
	ip netns exec "$TE" timeout 20 python3 "$TLS_CLIENT" "$@"
}

# ---- a TLS terminal, a TLS server ----
out=$(tls_client 10.1.0.10 "$E" 5061 "$T/ca.crt" alice --resume 2>&1)
check_match "alice's client verifies E's certificate (sp.test)" "^cert sp\\.test" "$out"
check_eq "alice registers over TLS through E at D2 over TLS, twice" "2" "$(grep -c '^status 200' <<<"$out")"
check_match "her second connection resumes the first's session" "resumed yes" "$out"
[ "$(grep -c '^status 200' <<<"$out")" == 2 ] || sed 's/^/#   /' <<<"$out"
check_match "D2 location table: alice at C:c, sips: intact" "^alice sips:alice@${C//./\\.}:4[0-9]{4}(;transport=tls)? " \
	"$(lab_kamailio_contacts srv2)"
check_match "show bindings: alice over TLS, her server over TLS" "10\\.1\\.0\\.10:[0-9]+ .* tls/tls$" \
	"$(sp_cli sp1 -c 'show bindings')"
check_match "show statistics counts resumed handshakes" "^[1-9][0-9]*$" "$(lab_stat sp1 resumed)"
handshakes=$(lab_stat sp1 handshakes)
check_match "show statistics counts TLS handshakes (E's and towards D2)" "^([4-9]|[1-9][0-9]+)$" "$handshakes"

# ---- UDP terminals, a TLS server; D2 calls a TLS terminal ----
check "carol (UDP) registers through E at D2 over TLS" lab_register "$TE" 10.2.0.10 5060 carol "$E"
check_match "D2 location table: carol at C:c over TLS" \
	"^carol sip:carol@${C//./\\.}:4[0-9]{4};transport=tls " "$(lab_kamailio_contacts srv2)"
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-dave -sf "$LAB_SIPP_DIR/uac.xml" -i 10.2.0.10 -p 5060 -s dave -m 1 -d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "UDP caller -> UDP callee through a TLS server: both SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log carol-dave; lab_sipp_log callee-dave-uas; } | sed 's/^/#   /'
else
	sp_fail "dave registers through E at D2 over TLS"
fi

# bob holds his TLS connection: called over it, then (after the reload)
# registers again over it
TRIGGER=$T/reregister
ip netns exec "$TE" timeout 60 python3 "$TLS_CLIENT" 10.1.0.11 "$E" 5061 "$T/ca.crt" bob --hold "$TRIGGER" \
	>"$T/bob.out" 2>&1 &
BOB_PID=$!
SP_PIDS+=("$BOB_PID")
sp_wait_for "bob registered over TLS" 10 grep -q '^status 200' "$T/bob.out"
lab_sipp "$TE" carol-bob -sf "$LAB_SIPP_DIR/uac.xml" -i 10.2.0.10 -p 5060 -s bob -m 1 -d 100 "$E:5060"
check_eq "UDP caller -> TLS callee over its own connection: SIPp exits 0" 0 "$?"
sp_wait_for "bob answered the call and its BYE" 5 grep -q '^invite-answered' "$T/bob.out"

# ---- bad input and bad servers ----
# tcp_probe SRC-IP SCRIPT: python with a socket s connected from SRC-IP to E:5061
tcp_probe() {
	ip netns exec "$TE" timeout 20 python3 -c "
import socket, time
s = socket.socket()
s.bind(('$1', 0))
s.settimeout(10)
s.connect(('$E', 5061))
$2
"
}
before=$(lab_stat sp1 "handshake failed")
out=$(tcp_probe 10.1.0.12 '
s.sendall(b"\x16\x03\x01\x00\x50\x01\x00\x00\x4c" + b"\xff" * 76)
try:
    print(s.recv(100)[:1] != b"\x17")
    print(s.recv(100))
except ConnectionResetError:
    print("reset")')
check_match "a ClientHello of garbage is refused (alert, closed)" "(b''|reset)$" "$out"
check_eq "handshake failure counted" "$((before + 1))" "$(lab_stat sp1 "handshake failed")"
out=$(tcp_probe 10.1.0.12 '
t = time.time()
print(s.recv(100), round(time.time() - t))')
check_match "a client that says nothing is closed after the header timeout (2 s)" "^b'' [1-4]$" "$out"
check_eq "its handshake failure counted" "$((before + 2))" "$(lab_stat sp1 "handshake failed")"
check_match "the failures are logged with the peer's address" \
	"tls: handshake failed with the terminal 10\\.1\\.0\\.12:[0-9]+" "$(cat "$SP_TMP/sp1/log")"

before=$(lab_stat sp1 "certificate refused")
lab_register "$TE" 10.1.0.12 5060 eve "$E" >/dev/null 2>&1
# (one refusal per attempt: SIPp's retransmissions each try again)
after=$(lab_stat sp1 "certificate refused")
check "a server whose certificate is of an unknown CA is refused, counted" test "$after" -gt "$before"
lab_register "$TE" 10.1.0.13 5060 mallory "$E" >/dev/null 2>&1
check "a server whose certificate does not say the expected name is refused, counted" \
	test "$(lab_stat sp1 "certificate refused")" -gt "$after"
log=$(cat "$SP_TMP/sp1/log")
check_match "the unknown CA is logged with the server's address" \
	"tls: refused the certificate of the server ${D1//./\\.}:5061" "$log"
check_match "the wrong name is logged with the server's address" \
	"tls: refused the certificate of the server ${D2//./\\.}:5061: .*(hostname|name)" "$log"
check_eq "nothing reached D1" 0 "$(grep -c 'REGISTER' "$LAB_OUT/kam-srv1/log")"
check "sigproxyd is unharmed" kill -0 "$SPD_PID"

# ---- reload ----
cp "$T/e2.crt" "$T/e.crt" && cp "$T/e2.key" "$T/e.key"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "tls certificate $T/e.crt key $T/e.key" \
	-c "end" 2>&1)
check_eq "tls certificate entered again (the files renewed)" "" "$out"
check_match "a new handshake sees the new certificate" "^cert sp2\\.test" \
	"$(tls_client 10.1.0.10 "$E" 5061 "$T/ca.crt" alice 2>&1)"
touch "$TRIGGER"
wait "$BOB_PID"
check_eq "bob's connection, made before the reload, registers again over it" "2" \
	"$(grep -c '^status 200' "$T/bob.out")"
[ "$(grep -c '^status 200' "$T/bob.out")" == 2 ] || sed 's/^/#   /' "$T/bob.out"
check_match "... and it had seen the old certificate" "^cert sp\\.test" "$(cat "$T/bob.out")"

# ---- a server's request put through again after a media proxy failed ----
# (sp_engine_receive_again found the server side in the UDP transports
# only: D2's INVITE over TLS, held for a media proxy that answers garbage,
# was lost when the call fell back to the kernel)
ip netns exec "$SP" python3 "$(dirname "$0")/mp_fake.py" 127.0.0.1 2223 >/dev/null 2>&1 &
SP_PIDS+=("$!")
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mpf" -c "control 127.0.0.1 port 2223" \
	-c "proxy-strategy west seq 30" -c "media proxy mpf" -c "end" 2>&1)
check_eq "west's calls go to a media proxy that answers garbage (fallback kernel)" "" "$out"
mp_in_service() { sp_cli sp1 -c "show media-proxy mpf" | grep -q "^media-proxy mpf: in service"; }
sp_wait_for "mpf in service" 10 mp_in_service
before=$(lab_stat sp1 "media proxy fallbacks")
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$SRV2" d2-dave -sf "$LAB_SIPP_DIR/uac.xml" -i "$D2" -p 5070 -s dave -m 1 -d 100 "$D2:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "D2's INVITE over TLS, re-run after the media proxy failed, reaches dave: both SIPp exit 0" \
		"0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log d2-dave; lab_sipp_log callee-dave-uas; } | sed 's/^/#   /'
else
	sp_fail "dave registers through E at D2 (media proxy)"
fi
check "the call fell back to the kernel (counted)" test "$(lab_stat sp1 "media proxy fallbacks")" -gt "${before:-0}"
out=$(sp_cli sp1 -c "configure terminal" -c "proxy-strategy west seq 30" -c "no media" -c "end" 2>&1)
check_eq "west's media back to the kernel" "" "$out"

# a UDP call at the end: unaffected
if lab_callee_start "$TE" 10.2.0.11 5060 dave "$E" 1 uas.xml; then
	lab_sipp "$TE" carol-dave2 -sf "$LAB_SIPP_DIR/uac.xml" -i 10.2.0.10 -p 5060 -s dave -m 1 -d 100 "$E:5060"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	check_eq "a UDP call after the bad input and the reload succeeds" "0 0" "$rc $?"
else
	sp_fail "dave registers again"
fi

check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
