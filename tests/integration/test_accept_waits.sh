#!/bin/bash
# A listener out of descriptors waits, and the operator sees it for TCP and
# TLS alike (issue 21 leftover). sigproxyd's open-file limit is lowered to 1
# (prlimit): every descriptor it would open fails with EMFILE, the spare
# one the accept guard keeps included, so a connection waiting in the
# listen queue cannot be taken and shed; the listener is not polled for
# 100 ms instead (`accept waits`, sp_transport_tcp_accept.c), again and
# again while the limit holds. A terminal connects to E's TLS port (5061)
# and one to E's TCP port (5060); the limit is raised again after a
# second. Checked: each listener counted its own waits (`show statistics`
# has `accept waits` in the TCP and in the TLS part, `| json` too), and
# SIGPROXY-MIB's sigproxyStatsTcpAcceptWaits (41) and
# sigproxyStatsTlsAcceptWaits (42) read the same; both connections are
# accepted once descriptors are free (the wait ended, nothing lost).
# Before the TLS counter was shown, the TLS listener's waits were counted
# but seen nowhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools python3 nft openssl snmpd snmpget prlimit

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
HOLD=$(dirname "$0")/tcp_hold.py

lab_up_or_end
T=$LAB_OUT/tls
lab_tls_certs "$T" e sp.test "IP:$E"
sp_snmp_env
sp_snmpd_start "$SP"
lab_sp_start --agentx "$AX"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "tls certificate $T/e.crt key $T/e.key" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "E's certificate and the strategy are accepted" "" "$out"
sp_wait_for "TPROXY of the TCP and TLS ports" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5061.*tproxy' &&
	ip netns exec '$SP' nft list ruleset | grep -q 'tcp dport 5060.*tproxy'"
check "sigproxyd listens on TCP 5061" sh -c "ip netns exec '$SP' ss -Hntl 'sport = :5061' | grep -q ."

# section_stat SECTION LABEL: LABEL's count in show statistics' part whose
# heading starts with SECTION ("TCP" or "TLS")
section_stat() {
	sp_cli sp1 -c 'show statistics' | awk -v s="$1" -v k="$2" '
		/^[^ ]/ { in_s = 0 }
		/^  [A-Z]/ { in_s = index($0, "  " s " ") == 1 }
		in_s { l = $0; sub(/ +[0-9]+$/, "", l); sub(/^ +/, "", l); if (l == k) { print $NF; exit } }'
}
sget() {
	ip netns exec "$SP" snmpget -OqvU -v2c -c public -t 2 -r 1 127.0.0.1 "$1" 2>&1
}
# hold NAME PORT: one connection from 10.1.0.10 to E:PORT, held (tcp_hold.py)
hold() {
	ip netns exec "$TE" python3 "$HOLD" 10.1.0.10 "$E" "$2" 1 >"$SP_TMP/$1.out" 2>&1 &
	SP_PIDS+=("$!")
	eval "HOLD_$1=$!"
}

tcp_acc0=$(section_stat TCP "TCP connections accepted") tls_acc0=$(section_stat TLS accepted)
check_eq "no TCP accept waits yet" 0 "$(section_stat TCP 'accept waits')"
check_eq "no TLS accept waits yet" 0 "$(section_stat TLS 'accept waits')"

hard=$(prlimit --pid "$SPD_PID" --nofile --noheadings --output HARD --raw)
soft=$(prlimit --pid "$SPD_PID" --nofile --noheadings --output SOFT --raw)
# no CLI or SNMP read meanwhile: either may need a descriptor
prlimit --pid "$SPD_PID" --nofile=1:"$hard"
hold tls 5061
check "the TLS listener cannot accept and waits (logged)" \
	sp_wait_for "the TLS listener's wait in the log" 10 grep -q 'cannot accept on port 5061: .*accept waits' "$SP_TMP/sp1/log"
hold tcp 5060
sp_wait_for "the TCP connection is made (in the listen queue)" 10 grep -q '^connected 1' "$SP_TMP/tcp.out"
sleep 1
prlimit --pid "$SPD_PID" --nofile="$soft":"$hard"

# stat_is SECTION LABEL VALUE
stat_is() {
	[ "$(section_stat "$1" "$2")" = "$3" ]
}
check "with descriptors again, the TLS listener accepts the waiting connection" \
	sp_wait_for "TLS accepted +1" 10 stat_is TLS accepted $((tls_acc0 + 1))
check "... and the TCP listener its own" \
	sp_wait_for "TCP accepted +1" 10 stat_is TCP "TCP connections accepted" $((tcp_acc0 + 1))

tls_waits=$(section_stat TLS 'accept waits')
tcp_waits=$(section_stat TCP 'accept waits')
echo "# accept waits: TLS ${tls_waits:-none}, TCP ${tcp_waits:-none}"
check "show statistics: the TLS listener's accept waits are counted (${tls_waits:-none})" \
	test "${tls_waits:-0}" -gt 0
check "show statistics: the TCP listener's accept waits are counted (${tcp_waits:-none})" \
	test "${tcp_waits:-0}" -gt 0
check_eq "sigproxyStatsTlsAcceptWaits says what the CLI says" "${tls_waits:-none}" "$(sget sigproxyStatsTlsAcceptWaits.0)"
check_eq "sigproxyStatsTcpAcceptWaits says what the CLI says" "${tcp_waits:-none}" "$(sget sigproxyStatsTcpAcceptWaits.0)"
check_eq "... by number too (sigproxyStats 42)" "${tls_waits:-none}" \
	"$(sget .1.3.6.1.4.1.8072.9999.9999.5060.1.7.42.0)"
json=$(sp_cli sp1 -c 'show statistics | json')
check_eq "| json: tls accept-waits and tcp refused-or-closed accept-waits" "${tls_waits:-none} ${tcp_waits:-none}" \
	"$(printf '%s' "$json" | python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["tls"].get("accept-waits"), d["tcp"]["refused-or-closed"]["accept-waits"])' 2>&1)"

check "the CLI answers" timeout 5 "$SPCLI" -s "$SP_TMP/sp1/cli.sock" -c 'show sessions count'
check "sigproxyd still runs" kill -0 "$SPD_PID"
kill -TERM "$HOLD_tls" "$HOLD_tcp" 2>/dev/null
wait "$HOLD_tls" "$HOLD_tcp" 2>/dev/null
check "sigproxyd stops cleanly" sp_daemon_stop "$SPD_PID"
lab_down
sp_done
