#!/bin/bash
# A TLS terminal's binding and dialog survive a kill -9 and restart (issue
# 17 item 5): sigproxyd with a state directory terminates TLS on E and
# reaches Kamailio D2 over TLS (`server D2 transport tls name kam.test`).
# bob (tls_client.py) holds his TLS connection to E; D2 has him at
# sips:bob@C:c over the SP's own TLS connection from C:c; D2's caller calls
# him and the call is confirmed (its BYE 12 s later). kill -9 and a new
# sigproxyd with the same state directory: the binding comes back on the
# same C:c, TLS on both sides; bob sees his connection closed, connects to
# E again over TLS (from the same port, as a phone with a fixed local port)
# and registers: the same binding, D2 keeps him at the same C:c (one
# contact), the SP's new TLS connection from C:c to D2 verifies D2's
# certificate. The call's BYE then reaches bob over his new connection and
# is answered, and a new call from D2 reaches him.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft openssl

E=$LAB_E
C=$LAB_C
D2=$LAB_D2
STATE=$SP_TMP/state

lab_up_with_state
T=$LAB_OUT/tls
lab_tls_certs "$T" e sp.test "IP:$E" d2 kam.test "DNS:kam.test,IP:$D2"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate $T/e.crt key $T/e.key" -c "tls ca $T/ca.crt" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" -c "match destination $E/32" \
	-c "server $D2 transport tls name kam.test" -c "action proxy" -c "end" -c "write memory" 2>&1)
check_match "TLS on E and towards D2, written" '\[OK\]' "$out"
sp_wait_for "TPROXY of the TLS port" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5061.*tproxy'"
lab_start_kamailio_tls "$SRV2" "$D2" srv2 "$T/d2.crt" "$T/d2.key" ||
	{ sp_fail "kamailio #2 starts on TLS"; sp_done; exit 1; }

bob_contacts() { lab_kamailio_contacts srv2 | sed -nE 's/^bob (sips?:[^ ]+) .*/\1/p'; }
tls_from_c() { ip netns exec "$SP" ss -Hnt state established "src $C:$1 dst $D2:5061" | grep -q .; }
confirmed() { sp_cli sp1 -c 'show sessions count' | grep -q 'confirmed 1'; }

# ---- before: bob registered over TLS, a call to him confirmed ----
lab_bob_tls_start "$TE" "$E" "$T"
check "bob registers over TLS through E at D2 over TLS" sp_wait_for "bob registered" 10 grep -q '^status 200' "$T/bob.out"
contact=$(bob_contacts)
check_match "D2 has bob at sips:bob@C:c" "^sips:bob@${C//./\\.}:4[0-9]{4}(;transport=tls)?$" "$contact"
PB=$(sed -nE 's/^sips:bob@[0-9.]+:([0-9]+).*/\1/p' <<<"$contact" | head -1)
check "the SP's TLS connection from C:$PB to D2 is up" tls_from_c "$PB"
check "the store holds the binding" sp_wait_for "stored binding" 5 \
	sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show persistence' | grep -qE 'Stored records: *[1-9]'"
lab_sipp_bg "$SRV2" to-bob -sf "$LAB_SIPP_DIR/uac.xml" -i "$D2" -p 5070 -s bob -m 1 -d 12000 "$D2:5060"
CALL_PID=$LAB_SIPP_PID
check "D2's call to bob is confirmed" sp_wait_for "call confirmed" 10 confirmed
sp_wait_for "the dialog stored" 3 sh -c "'$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show persistence' | grep -qE 'Stored records: *([2-9]|[1-9][0-9])'"

# ---- kill -9 and restart ----
lab_sp_kill9_restart
check_match "show bindings: bob restored on C:$PB, TLS on both sides" \
	"10\\.1\\.0\\.11:[0-9]+ .*${C//./\\.}:$PB .* tls/tls$" "$(sp_cli sp1 -c 'show bindings')"
check "show sessions: the call restored, confirmed" confirmed
check "bob saw his connection closed" sp_wait_for "bob's connection closed" 5 grep -q '^closed' "$T/bob.out"

# ---- bob connects again; the BYE and a new call reach him ----
refused=$(lab_stat sp1 "certificate refused")
touch "$T/bob-again"
check "bob connects again over TLS and registers" sp_wait_for "bob registered again" 10 \
	sh -c "[ \$(grep -c '^status 200' '$T/bob.out') -ge 2 ]"
[ "$(grep -c '^status 200' "$T/bob.out")" -ge 2 ] || sed 's/^/#   bob: /' "$T/bob.out"
check_eq "... the same binding: D2 has him at the same C:$PB, one contact" "$contact" "$(bob_contacts)"
check_eq "show bindings: one binding" 1 "$(sp_cli sp1 -c 'show bindings' | grep -c '10\.1\.0\.11:')"
check "the SP's new TLS connection from C:$PB to D2 is up" tls_from_c "$PB"
check_eq "D2's certificate verified, not refused" "${refused:-0}" "$(lab_stat sp1 "certificate refused")"
lab_bob_tls_calls "$T" sp1 "the call made before the restart ends: its BYE reaches bob over his new connection" \
	"a new call from D2 reaches bob after the restart: SIPp exits 0" \
	"$SRV2" "$D2" "$D2"

check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
lab_down
sp_done
