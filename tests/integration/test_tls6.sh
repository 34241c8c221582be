#!/bin/bash
# SIP over TLS on IPv6 (issue 17 item 4 with issue 18): test_tls.sh's TLS
# terminal and TLS server in the dual-stack lab (lab6.sh), every address
# IPv6. Certificates made here: a CA, E6's (IP:E6) and Kamailio D6's
# (kam.test, IP:D6).
# - alice (Python's ssl) connects from 2001:db8:1::10 to [E6]:5061, is
#   intercepted (the IPv6 TPROXY rule of the TLS port) and terminated with
#   E6's certificate (verified by the client for E6's address), registers
#   with sips: URIs at D6 over the SP's own TLS connection from [C6]:c
#   (`server D6 transport tls name kam.test`: D6's certificate verified);
#   D6 records sips:alice@[C6]:c, show bindings gives tls/tls.
# - bob holds his TLS connection; carol (UDP over IPv6) registers through
#   E6 at D6 over TCP (`server D6 transport tcp`, her own strategy) and
#   calls bob: her INVITE reaches D6 over TCP and comes back to bob over
#   the SP's TLS connection and his own; he answers, the call and its BYE
#   go through.
# - dave, a TCP terminal (SIPp -t t1) on IPv6, registers through E6:5060
#   at D6 over TLS: show bindings gives tcp/tls.
# - kill -9 and a restart with the state directory: bob's binding comes back
#   tls/tls on [C6]:c, E6's TLS port listens again on [::]; bob connects
#   again from the same port and registers as the same binding (D6 keeps
#   one contact); carol's call reaches him over his new connection.
# - a server certificate that does not say the expected name, on IPv6, and
#   a ClientHello of garbage from an IPv6 terminal: refused, counted,
#   logged with the peer's bracketed address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft openssl

E6=$LAB6_E
C6=$LAB6_C
D6=$LAB6_D1
TLS_CLIENT=$(dirname "$0")/tls_client.py

lab6_up || { sp_fail "dual-stack lab namespaces and links"; sp_done; exit 1; }

T=$LAB_OUT/tls
lab_tls_certs "$T" e sp6.test "IP:$E6" d kam.test "DNS:kam.test,IP:$D6"

STATE=$SP_TMP/state
lab_sp_start --state-dir "$STATE"
echo "# files: $SP_TMP"

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $LAB_C" \
	-c "server-side-address $C6" -c "tls certificate $T/e.crt key $T/e.key" -c "tls ca $T/ca.crt" \
	-c "proxy-strategy badname6 seq 10" -c "match source ${LAB6_TE_NET}13/128" \
	-c "match destination $E6/128" -c "server $D6 transport tls name wrong.test" -c "action proxy" \
	-c "proxy-strategy carol6 seq 15" -c "match source ${LAB6_TE_NET}12/128" \
	-c "match destination $E6/128" -c "server $D6 transport tcp" -c "action proxy" \
	-c "proxy-strategy six seq 20" -c "match source ${LAB6_TE_NET}/64" -c "match destination $E6/128" \
	-c "server $D6 transport tls name kam.test" -c "action proxy" -c "end" -c "write memory" 2>&1 |
	grep -vE '^(\[OK\]|Building configuration...)$')
check_eq "E6's certificate, the CA and the IPv6 TLS strategies are accepted" "" "$out"
check_match "running-config: the IPv6 server over TLS with its name" \
	"server ${D6//./\\.} transport tls name kam\\.test" "$(sp_cli sp1 -c 'show running-config')"
sp_wait_for "IPv6 TPROXY of the TLS port" 5 \
	sh -c "ip netns exec '$SP' nft list chain inet sigproxy intercept | grep -q 'tcp dport 5061.*tproxy ip6'"
check_match "TCP to the TLS port on IPv6 is intercepted" "tcp dport 5061 .*tproxy ip6 to :5061" \
	"$(ip netns exec "$SP" nft list chain inet sigproxy intercept)"
check "sigproxyd listens on TCP [::]:5061" sh -c "ip netns exec '$SP' ss -Hntl 'sport = :5061' | grep -q '\\[::\\]'"

lab_start_kamailio_tls "$SRV1" "[$D6]" kam6 "$T/d.crt" "$T/d.key" --alias="[$E6]" ||
	{ sp_fail "kamailio starts on TLS over IPv6"; sp_done; exit 1; }

tls_client() { ip netns exec "$TE" timeout 20 python3 "$TLS_CLIENT" "$@"; }

# ---- alice: a TLS terminal, a TLS server, on IPv6 ----
out=$(tls_client "${LAB6_TE_NET}10" "$E6" 5061 "$T/ca.crt" alice 2>&1)
check_match "alice's client verifies E6's certificate (sp6.test)" "^cert sp6\\.test" "$out"
check_match "alice registers over TLS through E6 at D6 over TLS" "^status 200" "$out"
grep -q '^status 200' <<<"$out" || { sed 's/^/#   /' <<<"$out"; tail -20 "$SP_TMP/sp1/log" | sed 's/^/#   /'; }
check_match "D6 location table: alice at [C6]:c, sips: intact" \
	"^alice sips:alice@\\[$C6\\]:4[0-9]{4}(;transport=tls)? " "$(lab_kamailio_contacts kam6)"
check_match "show bindings: alice over TLS on IPv6, her server over TLS" \
	"\\[${LAB6_TE_NET}10\\]:[0-9]+ .*\\[$C6\\]:4[0-9]{4} .* tls/tls$" "$(sp_cli sp1 -c 'show bindings')"
check "the SP's TLS connection from [C6]:c to [D6]:5061 is up" \
	sh -c "ip netns exec '$SP' ss -Hnt state established 'src [$C6] dst [$D6]:5061' | grep -q ."

# ---- bob holds his connection; carol (UDP) calls him through D6 ----
TRIGGER=$T/bob-done
AGAIN=$T/bob-again
ip netns exec "$TE" timeout 80 python3 "$TLS_CLIENT" "${LAB6_TE_NET}11" "$E6" 5061 "$T/ca.crt" bob \
	--hold "$TRIGGER" --reconnect "$AGAIN" >"$T/bob.out" 2>&1 &
BOB_PID=$!
SP_PIDS+=("$BOB_PID")
check "bob registers over TLS and holds his connection" sp_wait_for "bob registered" 10 grep -q '^status 200' "$T/bob.out"
check "carol (UDP, IPv6) registers through E6 at D6 over TCP" \
	lab_register "$TE" "${LAB6_TE_NET}12" 5060 carol "$E6"
check_match "D6 location table: carol at [C6]:c over TCP" \
	"^carol sip:carol@\\[$C6\\]:4[0-9]{4};transport=tcp " "$(lab_kamailio_contacts kam6)"
check "the SP's TCP connection from [C6]:c to [D6]:5060 is up" \
	sh -c "ip netns exec '$SP' ss -Hnt state established 'src [$C6] dst [$D6]:5060' | grep -q ."
lab_sipp "$TE" carol-bob -sf "$LAB_SIPP_DIR/uac.xml" -i "${LAB6_TE_NET}12" -p 5060 -s bob -m 1 -d 100 "[$E6]:5060"
rc=$?
check_eq "carol (UDP) -> bob (TLS) through D6 (TCP in, TLS out), all IPv6: SIPp exits 0" 0 "$rc"
[ "$rc" == 0 ] && sp_wait_for "bob answered" 5 grep -q '^invite-answered' "$T/bob.out"
check "bob answered the INVITE and the BYE over his own connection" grep -q '^invite-answered' "$T/bob.out"
[ "$rc" == 0 ] || { lab_sipp_log carol-bob; sed 's/^/#   bob: /' "$T/bob.out"; } | sed 's/^/#   /'
bob_contact=$(lab_kamailio_contacts kam6 | grep '^bob ')

# ---- a TCP terminal on IPv6 ----
lab6_addr "$TE" "$LAB_TE_IF" "${LAB6_TE_NET}14/64"
check "dave registers over TCP (-t t1) through [E6]:5060 at D6 over TLS" \
	lab_sipp "$TE" reg-dave-tcp -sf "$LAB_SIPP_DIR/register.xml" -t t1 -i "${LAB6_TE_NET}14" -p 5070 \
	-s dave -m 1 "[$E6]:5060"
check_match "show bindings: dave over TCP on IPv6, his server over TLS" \
	"\\[${LAB6_TE_NET}14\\]:[0-9]+ .*\\[$C6\\]:4[0-9]{4} .* tcp/tls$" "$(sp_cli sp1 -c 'show bindings')"

# ---- a server certificate naming something else, on IPv6 ----
before=$(lab_stat sp1 "certificate refused")
tls_client "${LAB6_TE_NET}13" "$E6" 5061 "$T/ca.crt" mallory >/dev/null 2>&1
check "a server whose certificate does not say the expected name is refused, counted" \
	test "$(lab_stat sp1 "certificate refused")" -gt "${before:-0}"
check_match "... logged with the server's IPv6 address" \
	"tls: refused the certificate of the server \\[$D6\\]:5061" "$(cat "$SP_TMP/sp1/log")"

# ---- a ClientHello of garbage from an IPv6 terminal ----
before=$(lab_stat sp1 "handshake failed")
out=$(ip netns exec "$TE" timeout 20 python3 -c "
import socket
s = socket.socket(socket.AF_INET6)
s.bind(('${LAB6_TE_NET}11', 0))
s.settimeout(10)
s.connect(('$E6', 5061))
s.sendall(b'\x16\x03\x01\x00\x50\x01\x00\x00\x4c' + b'\xff' * 76)
try:
    while s.recv(100):
        pass
    print('closed')
except ConnectionResetError:
    print('closed')")
check_eq "a ClientHello of garbage over IPv6 is refused (closed)" closed "$out"
check_eq "... counted" "$((${before:-0} + 1))" "$(lab_stat sp1 "handshake failed")"
check_match "... logged with the terminal's IPv6 address" \
	"tls: handshake failed with the terminal \\[${LAB6_TE_NET}11\\]:[0-9]+" "$(cat "$SP_TMP/sp1/log")"
check "sigproxyd is unharmed" kill -0 "$SPD_PID"

# ---- kill -9 and restart: bob's IPv6 TLS binding comes back ----
kill -9 "$SPD_PID"
wait "$SPD_PID" 2>/dev/null
sp_daemon_start "$SP" sp1 --state-dir "$STATE" ||
	{ sp_fail "sigproxyd restarts after kill -9"; tail -20 "$SP_TMP/sp1/log"; sp_done; exit 1; }
SPD_PID=$SP_DAEMON_PID
check_match "after kill -9 and restart: bob's binding back on [C6]:c, TLS on both sides" \
	"\\[${LAB6_TE_NET}11\\]:[0-9]+ .*\\[$C6\\]:4[0-9]{4} .* tls/tls$" "$(sp_cli sp1 -c 'show bindings')"
check "sigproxyd listens on TCP [::]:5061 again" \
	sp_wait_for "[::]:5061" 5 sh -c "ip netns exec '$SP' ss -Hntl 'sport = :5061' | grep -q '\\[::\\]'"
check "bob saw his connection closed" sp_wait_for "bob's connection closed" 5 grep -q '^closed' "$T/bob.out"
touch "$AGAIN"
check "bob connects to [E6]:5061 again from the same port and registers" sp_wait_for "bob registered again" 10 \
	sh -c "[ \$(grep -c '^status 200' '$T/bob.out') -ge 2 ]"
check_eq "... the same binding: D6 keeps one contact for him, the same [C6]:c" "$bob_contact" \
	"$(lab_kamailio_contacts kam6 | grep '^bob ')"
lab_sipp "$TE" carol-bob2 -sf "$LAB_SIPP_DIR/uac.xml" -i "${LAB6_TE_NET}12" -p 5060 -s bob -m 1 -d 100 "[$E6]:5060"
rc=$?
check_eq "carol calls bob after the restart over his new connection: SIPp exits 0" 0 "$rc"
[ "$rc" == 0 ] || { lab_sipp_log carol-bob2; sed 's/^/#   bob: /' "$T/bob.out"; } | sed 's/^/#   /'
touch "$TRIGGER"
wait "$BOB_PID"
check_eq "bob answered both calls" 2 "$(grep -c '^invite-answered' "$T/bob.out")"

check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
