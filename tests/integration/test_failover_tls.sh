#!/bin/bash
# Failover with a TLS terminal and a TLS server (issue 17 item 5): an
# active-standby pair (redlab.sh's links, no keepalived: the addresses are
# moved by hand as in test_failover_tcp.sh), both terminating TLS on E with
# the same certificate and reaching Kamailio D over TLS (`server D
# transport tls name kam.test`). bob (tls_client.py) holds his TLS
# connection to E through the active sp1; D has him at sips:bob@C:c over
# sp1's own TLS connection; D's caller calls him and the call is confirmed
# (its BYE 12 s later); the standby sp2 holds the binding (tls/tls, the same
# C:c) and the dialog, synced. sp1 dies (SIGKILL, links down: neither of
# its connections is closed), B and C move to sp2 and sp2 is told
# `redundancy notify master`. bob connects to E again over TLS (from the
# same port) and registers: sp2 terminates it, the same binding, D keeps
# him at the same C:c, sp2's new TLS connection from C:c to D verifies D's
# certificate. The call's BYE then reaches bob over his new connection and
# a new call from D reaches him.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft openssl

. "$(dirname "$0")/redlab.sh"

# spdtls_start NAME: sigproxyd of the pair, TLS on E and towards D
spdtls_start() {
	red_spd_start "$1" --cli-listen none --agentx /nonexistent <<EOC
hostname $1
signaling-proxy
 server-side-address $C
 media off
 tls certificate $T/e.crt key $T/e.key
 tls ca $T/ca.crt
proxy-strategy lab seq 10
 match source 10.1.0.0/24
 match destination $E/32
 server $D transport tls name kam.test
 action proxy
EOC
}

intercepting() { ip netns exec "${SP_NS[$1]}" nft list ruleset 2>/dev/null | grep -q 'tcp dport 5061.*tproxy'; }
binding_of() { sp_cli "$1" -c 'show bindings' | grep -F "10.1.0.11:"; }
bob_contacts() { lab_kamailio_contacts srv | sed -nE 's/^bob (sips?:[^ ]+) .*/\1/p'; }
tls_from_c() { ip netns exec "${SP_NS[$1]}" ss -Hnt state established "src $C:$2 dst $D:5061" | grep -q .; }

topology || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
sp_pass "namespaces, bridges and links"
red_vips_to sp1 || sp_fail "B and C on sp1"
T=$SP_TMP/tls
lab_tls_certs "$T" e sp.test "IP:$E" d kam.test "DNS:kam.test,IP:$D"
lab_start_kamailio_tls "$SRV" "$D" srv "$T/d.crt" "$T/d.key" || { sp_fail "kamailio starts on TLS"; sp_done; exit 1; }
for n in sp1 sp2; do
	spdtls_start "$n" || { sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
done
check "the sync channel comes up" sp_wait_for "peer up" 15 peer_up sp2
check "sp1 is active and intercepts the TLS port" sp_wait_for "sp1 intercepting" 10 intercepting sp1

# ---- bob registers through the active, D calls him ----
lab_bob_tls_start "$TE" "$E" "$T"
check "bob registers over TLS through sp1 at D over TLS" sp_wait_for "bob registered" 10 grep -q '^status 200' "$T/bob.out"
contact=$(bob_contacts)
check_match "D has bob at sips:bob@C:c" "^sips:bob@${C//./\\.}:4[0-9]{4}(;transport=tls)?$" "$contact"
PB=$(sed -nE 's/^sips:bob@[0-9.]+:([0-9]+).*/\1/p' <<<"$contact" | head -1)
check "sp1's TLS connection from C:$PB to D is up" tls_from_c sp1 "$PB"
lab_sipp_bg "$SRV" to-bob -sf "$LAB_SIPP_DIR/uac.xml" -i "$CALLER_IP" -p 5070 -s bob -m 1 -d 12000 "$D:5060"
CALL_PID=$LAB_SIPP_PID
check "D's call to bob is confirmed on sp1" sp_wait_for "call confirmed" 10 confirmed_at_least sp1 1
check "sp2 holds bob's binding and the call (synced)" sp_wait_for "synced" 10 confirmed_at_least sp2 1
check_match "sp2: bob on the same C:$PB, TLS on both sides" "${C//./\\.}:$PB .* tls/tls$" "$(binding_of sp2)"

# ---- sp1 dies; sp2 takes the addresses and the active role ----
red_takeover_by_sp2
check "... and intercepts the TLS port" sp_wait_for "sp2 intercepting" 10 intercepting sp2
check "sp2 listens on the TLS port" sh -c "ip netns exec '${SP_NS[sp2]}' ss -Hntl 'sport = :5061' | grep -q ."

# ---- bob connects again; the BYE and a new call reach him ----
touch "$T/bob-again"
check "bob connects to E again over TLS (sp2) and registers" sp_wait_for "bob registered again" 15 \
	sh -c "[ \$(grep -c '^status 200' '$T/bob.out') -ge 2 ]"
[ "$(grep -c '^status 200' "$T/bob.out")" -ge 2 ] || { sed 's/^/#   bob: /' "$T/bob.out"; tail -20 "$SP_TMP/sp2/log"; }
check_eq "... the same binding: D has him at the same C:$PB, one contact" "$contact" "$(bob_contacts)"
check_eq "sp2: one binding for bob" 1 "$(binding_of sp2 | wc -l)"
check "sp2's TLS connection from C:$PB to D is up" tls_from_c sp2 "$PB"
check_eq "sp2 verified D's certificate (none refused)" 0 "$(lab_stat sp2 "certificate refused")"
check "sp2 counted its handshakes" test "$(lab_stat sp2 handshakes)" -ge 2
lab_bob_tls_calls "$T" sp2 "the call made through sp1 ends through sp2: its BYE reaches bob over his new connection" \
	"a new call from D reaches bob through sp2: SIPp exits 0" \
	"$SRV" "$CALLER_IP" "$D"

lab_down
sp_daemon_stop "${SPD_PID_OF[sp2]}"
check_eq "sp2: clean exit" 0 $?
sp_done
