#!/bin/bash
# TLS session resumption towards servers (issue 17 item 4): the SP offers
# a server's last session ticket when it connects to it again, and the
# server sees a resumed session. The servers are tls_server.py (Python's
# ssl, OpenSSL: not the SP's GnuTLS), SIP registrars that close each
# connection after answering a REGISTER, as a server closing an idle
# connection does; each reports whether a handshake resumed a session.
# - D2 on TLS 1.3 (tickets after the handshake): carol (UDP) registers
#   through E three times; each REGISTER needs a new connection from C:c
#   to D2: the first is a full handshake (D2's certificate verified for
#   the name srv.test), the next ones resume (D2 says so; the SP counts
#   them in show statistics). dave, a second terminal (a new binding with
#   its own C:c and connection), resumes with D2's last ticket on his very
#   first connection: tickets are the server's, not one binding's. D2 restarted (new ticket keys): the SP's
#   stale ticket costs a full handshake, nothing else, and the next
#   connections resume with D2's new ticket.
# - D1 on TLS 1.2 at most (RFC 5077 tickets): the same for alice.
# Fails if the SP does not keep a server's ticket, or offers none.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp python3 nft openssl

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
D2=$LAB_D2
TLS_SERVER=$(dirname "$0")/tls_server.py

lab_up_or_end
T=$LAB_OUT/tls
lab_tls_certs "$T" d2 srv.test "DNS:srv.test,IP:$D2" d1 srv1.test "DNS:srv1.test,IP:$D1"

lab_sp_start
echo "# files: $SP_TMP"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls ca $T/ca.crt" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" -c "match destination $E/32" \
	-c "server $D1 transport tls name srv1.test" -c "action proxy" \
	-c "proxy-strategy west seq 20" -c "match source 10.2.0.0/24" -c "match destination $E/32" \
	-c "server $D2 transport tls name srv.test" -c "action proxy" -c "end" 2>&1)
check_eq "the TLS strategies are accepted" "" "$out"

ip netns exec "$SRV2" python3 "$TLS_SERVER" "$D2" 5061 "$T/d2.crt" "$T/d2.key" >"$T/d2.out" 2>&1 &
D2_PID=$!
SP_PIDS+=("$D2_PID")
ip netns exec "$SRV1" python3 "$TLS_SERVER" "$D1" 5061 "$T/d1.crt" "$T/d1.key" --tls12 >"$T/d1.out" 2>&1 &
SP_PIDS+=("$!")
sp_wait_for "the TLS servers listen" 10 sh -c \
	"ip netns exec '$SRV2' ss -Hntl 'sport = :5061' | grep -q . && ip netns exec '$SRV1' ss -Hntl 'sport = :5061' | grep -q ."

# registers USER SRC-IP: USER registers three times through E (UDP)
registers() {
	local i ok=0
	for i in 1 2 3; do
		lab_register "$TE" "$2" 5060 "$1" "$E" || ok=1
	done
	return $ok
}
before=$(lab_stat sp1 resumed)
check "carol registers three times through E at D2 over TLS 1.3" registers carol 10.2.0.10
out=$(cat "$T/d2.out")
check_eq "D2 answered three REGISTERs, one connection each" 3 "$(grep -c '^register .*carol@' <<<"$out")"
check_match "D2: the first connection a full TLS 1.3 handshake" "^conn ${C//./\\.} TLSv1\\.3 resumed no" \
	"$(grep '^conn' <<<"$out" | head -1)"
check_eq "D2: the next two resumed the session (the SP offered D2's ticket)" \
	"resumed yes
resumed yes" "$(grep '^conn' <<<"$out" | sed -n '2,3s/.* resumed /resumed /p')"
[ "$(grep -c 'resumed yes' <<<"$out")" == 2 ] || sed 's/^/#   d2: /' <<<"$out"

# dave: a new binding (its own C:c, its own connection) to the same D2
check "dave (a second terminal, a new binding) registers through E at D2" lab_register "$TE" 10.2.0.11 5060 dave "$E"
check_match "D2: dave's binding's first connection resumed the session (D2's last ticket)" \
	"^conn ${C//./\\.} TLSv1\\.3 resumed yes" "$(grep '^conn' "$T/d2.out" | sed -n 4p)"
[ "$(grep -c 'resumed yes' "$T/d2.out")" == 3 ] || sed 's/^/#   d2: /' "$T/d2.out"

# D2 restarted: its ticket keys are new, the SP's ticket is stale
kill "$D2_PID"
wait "$D2_PID" 2>/dev/null
ip netns exec "$SRV2" python3 "$TLS_SERVER" "$D2" 5061 "$T/d2.crt" "$T/d2.key" >"$T/d2b.out" 2>&1 &
SP_PIDS+=("$!")
sp_wait_for "D2 listens again" 10 sh -c "ip netns exec '$SRV2' ss -Hntl 'sport = :5061' | grep -q ."
check "carol registers three times at the restarted D2 (a stale ticket offered first)" registers carol 10.2.0.10
out=$(cat "$T/d2b.out")
check_eq "the restarted D2: a full handshake, then two resumed with its new ticket" \
	"resumed no
resumed yes
resumed yes" "$(grep '^conn' <<<"$out" | sed 's/.* resumed /resumed /')"
[ "$(grep -c '^register' <<<"$out")" == 3 ] || sed 's/^/#   d2: /' <<<"$out"

check "alice registers three times through E at D1 over TLS 1.2" registers alice 10.1.0.10
out=$(cat "$T/d1.out")
check_eq "D1 answered three REGISTERs" 3 "$(grep -c '^register .*alice@' <<<"$out")"
check_match "D1: the first connection a full TLS 1.2 handshake" "^conn ${C//./\\.} TLSv1\\.2 resumed no" \
	"$(grep '^conn' <<<"$out" | head -1)"
check_eq "D1: the next two resumed the session (an RFC 5077 ticket)" \
	"resumed yes
resumed yes" "$(grep '^conn' <<<"$out" | sed -n '2,3s/.* resumed /resumed /p')"
[ "$(grep -c 'resumed yes' <<<"$out")" == 2 ] || sed 's/^/#   d1: /' <<<"$out"
check_eq "show statistics: the seven resumed handshakes counted" "$((${before:-0} + 7))" "$(lab_stat sp1 resumed)"

check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
