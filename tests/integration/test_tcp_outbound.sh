#!/bin/bash
# A request from the server for a TCP terminal whose connection to E is
# gone (issue 17 item 2, RFC 5626 §5.3). Two terminals (flow_terminal.py)
# register over TCP through E at Kamailio D1 (over UDP from C:c), reset
# their connection and listen on their Contact; D1 then sends each an
# INVITE (SIPp through D1):
# - registered with outbound (the Contact's reg-id and +sip.instance): its
#   flow is the only way to it, so the SP answers the INVITE 430 Flow
#   Failed from C:c and opens no connection to its Contact;
# - registered without: the SP opens a new connection from E:5060 to its
#   Contact and the INVITE reaches it (it answers 480).
# The same over TLS (E's TLS port): the outbound one gets 430; the other
# one is reached over a new TLS connection from E:5061 to its Contact, the
# SP a TLS client verifying the terminal's certificate against `tls ca`
# for the Contact's address.
# Across a restart: an outbound terminal registers, the SP restarts from
# its state directory, D1 calls: 430 still (the binding is outbound in the
# store), no connection to its Contact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft openssl snmpd snmpget

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
HERE=$(cd "$(dirname "$0")" && pwd)

lab_up_or_end
T=$LAB_OUT/tls
lab_tls_certs "$T" e sp.test "IP:$E" t12 t12.test "IP:10.1.0.12" t13 t13.test "IP:10.1.0.13"
sp_snmp_env
sp_snmpd_start "$SP"
lab_sp_start --agentx "$AX" --state-dir "$SP_TMP/state"
sp_pass "sigproxyd starts in ns sp"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate $T/e.crt key $T/e.key" -c "tls ca $T/ca.crt" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "the strategy is accepted" "" "$out"
sp_wait_for "TPROXY rules in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5060.*tproxy'"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }

# flow_case NAME ADDR PORT EXPECTED-CODE [--outbound]: the terminal
# registers, drops its connection, D1 calls it; sets TERM_OUT (what the
# terminal said) and MSG (the caller's message log)
flow_case() {
	local name=$1 addr=$2 port=$3 code=$4 rc; shift 4
	local log=$SP_TMP/term-$name.out
	ip netns exec "$TE" python3 "$HERE/flow_terminal.py" "$addr" "$port" "$E" "$name" 12 "$@" >"$log" 2>&1 &
	local tpid=$!
	sp_wait_for "$name listens on its Contact" 10 grep -q '^listening' "$log"
	check_eq "$name registered (200)" "status 200" "$(head -1 "$log")"
	[ -z "${FLOW_BEFORE_CALL:-}" ] || $FLOW_BEFORE_CALL
	# the SP saw the reset: no connection of the terminal's left
	sp_wait_for "$name's connection closed in the SP" 5 \
		sh -c "! ip netns exec '$SP' ss -Hnt 'dst $addr:$port' | grep -q ."
	lab_sipp "$SRV1" "to-$name" -sf "$LAB_SIPP_DIR/uac_refused.xml" -i "$D1" -p 5070 -s "$name" -m 1 "$D1:5060"
	rc=$?
	check_eq "D1's INVITE to $name is answered (SIPp exit 0)" "0" "$rc"
	MSG=$(cat "$LAB_OUT/sipp/to-$name.msg" 2>/dev/null)
	check_match "the answer D1's caller gets is $code" "SIP/2.0 $code " "$MSG"
	wait "$tpid"
	TERM_OUT=$(cat "$log")
}

flow_case obt 10.1.0.12 5090 430 --outbound
check_match "the outbound terminal's answer is 430 Flow Failed" "SIP/2.0 430 Flow Failed" "$MSG"
check_match "no connection to the outbound terminal's Contact" "^connections 0$" "$TERM_OUT"
check_match "the log says why" "flow is gone" "$(cat "$SP_TMP/sp1/log")"
out=$(sp_cli sp1 -c 'show statistics')
check_match "show statistics counts the refusal as a flow failed" "flow failed \\(430\\) +1$" "$out"
check_match "... not as a send error" "send errors +0$" "$out"
check_eq "sigproxyStatsFlowFailed says the same" 1 \
	"$(ip netns exec "$SP" snmpget -OqvU -v2c -c public -t 2 -r 1 127.0.0.1 sigproxyStatsFlowFailed.0 2>&1)"

flow_case plain 10.1.0.13 5091 480
check_match "the terminal without outbound gets the INVITE over a new connection" "^request INVITE$" "$TERM_OUT"
check_match "one connection to its Contact" "^connections 1$" "$TERM_OUT"

# ---- over TLS ----
flow_case obtls 10.1.0.12 5092 430 --outbound --tls "$T/t12"
check_match "TLS: the outbound terminal's answer is 430 Flow Failed" "SIP/2.0 430 Flow Failed" "$MSG"
check_match "TLS: no connection to the outbound terminal's Contact" "^connections 0$" "$TERM_OUT"
flow_case plaintls 10.1.0.13 5093 480 --tls "$T/t13"
check_match "TLS: the terminal without outbound gets the INVITE over a new TLS connection" \
	"^request INVITE$" "$TERM_OUT"
check_match "TLS: one connection to its Contact" "^connections 1$" "$TERM_OUT"

# ---- across a restart ----
sp_cli sp1 -c "write memory" >/dev/null
restart_sp() {
	check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
	check "sigproxyd starts again from its state directory" \
		sp_daemon_start "$SP" sp1 --agentx "$AX" --state-dir "$SP_TMP/state"
}
FLOW_BEFORE_CALL=restart_sp flow_case obrestart 10.1.0.12 5094 430 --outbound
check_match "after a restart: the outbound terminal's answer is 430 Flow Failed" \
	"SIP/2.0 430 Flow Failed" "$MSG"
check_match "... no connection to its Contact" "^connections 0$" "$TERM_OUT"
check_match "... counted" "flow failed \\(430\\) +1$" "$(sp_cli sp1 -c 'show statistics')"

check "sigproxyd stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
lab_down
sp_done
