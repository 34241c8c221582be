#!/bin/bash
# SIGPROXY-MIB notifications that are not about redundancy, each provoked for
# real and received by an snmptrapd started here:
#  - sigproxySessionLimitReached: session-limit 1, one SIPp call held up
#    through the engine, a second call answered 503, the trap with the
#    session count, the limit and the refusal counter; more refusals within
#    the hold-down give one more trap at its end, not one each;
#  - sigproxyKernelProgrammingFailure: a policy route whose table already
#    holds a default route that is not sigproxy's, so the kernel refuses the
#    route (EEXIST); the trap says which entry and why, the change is
#    refused and nothing stays behind;
#  - sigproxySourceLimited: limit source-rate 50 and a flood from one
#    address; the trap names the source, once for the minute.
# The lab (lab.sh): terminals in te, sigproxyd in sp (with snmpd as AgentX
# master and snmptrapd), a SIPp callee as the server D1 in srv1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools snmpd snmptrapd snmpget sipp cc

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }

sp_snmp_env
TRAPS=$SP_TMP/traps.log

echo "disableAuthorization yes" >"$SP_TMP/snmptrapd.conf"
sp_snmpd_start "$SP" "trap2sink 127.0.0.1:1162 public" ||
	{ sp_fail "snmpd starts"; cat "$SP_TMP/snmpd.log"; sp_done; exit 1; }
# -OQU: "name = value" without type words or units, one varbind a line (-F)
ip netns exec "$SP" snmptrapd -f -C -OQU -c "$SP_TMP/snmptrapd.conf" -Lf "$TRAPS" -p "$SP_TMP/snmptrapd.pid" \
	-F '%V\n%v\n' udp:127.0.0.1:1162 &
SP_PIDS+=("$!")

sp_daemon_start "$SP" sp1 --agentx "$AX" ||
	{ sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
V2=(-v2c -c public -t 2 -r 1 127.0.0.1)
sget() { ip netns exec "$SP" snmpget -OqvU "${V2[@]}" "$@" 2>&1; }
answers() { sget sigproxyHostname.0 | grep -qv 'No Such'; }
sp_wait_for "subagent registered" 10 answers ||
	{ sp_fail "the subagent answers"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_pass "sigproxyd answers as a subagent of snmpd in ns sp"

# traps NAME: how many notifications NAME snmptrapd logged
# (snmpTrapOID.0 itself may print as a number: SNMPv2-MIB is not loaded)
traps() { grep -c " = SIGPROXY-MIB::$1\$" "$TRAPS" 2>/dev/null; }
# trap_block NAME N: the varbinds of the Nth notification NAME
trap_block() {
	awk -v want="SIGPROXY-MIB::$1" -v n="$2" '
		/ = SIGPROXY-MIB::sigproxy[A-Za-z]*$/ { inside = ($NF == want) && (++seen == n); next }
		/^SNMPv2-|^NET-SNMP/ { inside = 0 }
		inside' "$TRAPS"
}
# session_count: what `show sessions count` says
session_count() { sp_cli sp1 -c 'show sessions count' | grep -oE '[0-9]+' | head -1; }

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "session-limit 1" -c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "a strategy to D1 and session-limit 1 are accepted" "" "$out"
sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"

# ---- sigproxySessionLimitReached ----
# The callee answers the one call the limit admits; the refused ones never
# reach it.
# (its receive timeout outlasts the held call's pause)
LAB_SIPP_RECV_TIMEOUT=30000 lab_sipp_bg "$SRV1" callee -sf "$LAB_SIPP_DIR/uas.xml" -i "$D1" -p 5060 -m 1
CALLEE=$LAB_SIPP_PID
sp_wait_for "callee on $D1:5060" 10 lab_bound "$SRV1" "$D1" 5060 || sp_fail "the SIPp callee listens"
lab_sipp_bg "$TE" held -sf "$LAB_SIPP_DIR/uac.xml" -i 10.1.0.10 -p 5070 -s bob -m 1 -d 12000 "$E:5060"
HELD=$LAB_SIPP_PID
if sp_wait_for "the first call is up" 10 sh -c "[ \"\$('$SPCLI' -s '$SP_TMP/sp1/cli.sock' -c 'show sessions count' | grep -oE '[0-9]+' | head -1)\" = 1 ]"; then
	sp_pass "the first call is up through the engine (1 session)"
else
	sp_fail "the first call is up through the engine"; lab_sipp_log held
fi
check_eq "no session-limit notification before the limit is hit" 0 "$(traps sigproxySessionLimitReached)"

lab_call "$TE" 10.1.0.11 5071 bob "$E" uac.xml; rc=$?
check_eq "a second call over the limit fails at the caller" 1 $rc
check_match "... with a 503" 'SIP/2.0 503' "$(cat "$LAB_OUT"/sipp/caller-bob-uac-10.1.0.11-5071.msg 2>/dev/null)"
FIRST_AT=$SECONDS
sp_wait_for "sigproxySessionLimitReached" 10 sh -c "[ \"\$(grep -c ' = SIGPROXY-MIB::sigproxySessionLimitReached\$' '$TRAPS')\" -ge 1 ]"
check_eq "snmptrapd received one sigproxySessionLimitReached" 1 "$(traps sigproxySessionLimitReached)"
vb=$(trap_block sigproxySessionLimitReached 1)
check_match "... with the sessions tracked (1)" 'sigproxyStatsCurrentSessions\.0 = 1$' "$vb"
check_match "... the limit (1)" 'sigproxySessionLimit\.0 = 1$' "$vb"
check_match "... and the calls refused so far (1)" 'sigproxyStatsSessionLimitDrops\.0 = 1$' "$vb"

# Two more refusals within the hold-down: no trap each, one at its end that
# counts all three.
lab_call "$TE" 10.1.0.12 5072 bob "$E" uac.xml
lab_call "$TE" 10.1.0.13 5073 bob "$E" uac.xml
if [ $((SECONDS - FIRST_AT)) -lt 8 ]; then
	check_eq "refusals within the hold-down send no trap of their own" 1 "$(traps sigproxySessionLimitReached)"
else
	echo "# (machine slow: the two refusals took the hold-down; no check that they were held)"
fi
check_eq "the refusal counter says 3" 3 "$(sget sigproxyStatsSessionLimitDrops.0)"
sp_wait_for "second sigproxySessionLimitReached" 20 sh -c "[ \"\$(grep -c ' = SIGPROXY-MIB::sigproxySessionLimitReached\$' '$TRAPS')\" -ge 2 ]"
check_eq "one more trap at the end of the hold-down, for both refusals" 2 "$(traps sigproxySessionLimitReached)"
check_match "... counting every refusal (3)" 'sigproxyStatsSessionLimitDrops\.0 = 3$' \
	"$(trap_block sigproxySessionLimitReached 2)"

lab_sipp_wait "$HELD"; check_eq "the call within the limit completed" 0 $?
lab_sipp_wait "$CALLEE"
sleep 1
check_eq "no trap once refusals stop" 2 "$(traps sigproxySessionLimitReached)"

# ---- sigproxyKernelProgrammingFailure ----
# Table 100005 is the one policy-route seq 5 uses for its next hop; a
# default route someone else put there makes the kernel refuse ours.
ip -n "$SP" route add default via "$D1" table 100005 || sp_fail "a foreign route in table 100005"
check_eq "no kernel failure so far" "" "$(sget sigproxyLastKernelError.0 | tr -d '"')"
out=$(sp_cli sp1 -c "configure terminal" -c "policy-route pbr seq 5" -c "match source 10.9.0.0/24" \
	-c "set next-hop $D1" -c "end" 2>&1)
check_match "the CLI refuses the policy route the kernel refused" 'policy-route pbr seq 5: .*already exists' "$out"
sp_wait_for "sigproxyKernelProgrammingFailure" 10 sh -c "grep -q ' = SIGPROXY-MIB::sigproxyKernelProgrammingFailure\$' '$TRAPS'"
check_eq "snmptrapd received sigproxyKernelProgrammingFailure" 1 "$(traps sigproxyKernelProgrammingFailure)"
vb=$(trap_block sigproxyKernelProgrammingFailure 1)
check_match "... naming the entry and the kernel's refusal" \
	'sigproxyLastKernelError\.0 = "?policy-route pbr seq 5: route default via 192\.0\.2\.10 .*table 100005.* already exists' "$vb"
check_match "sigproxyLastKernelError reads the same" 'policy-route pbr seq 5: .*already exists' \
	"$(sget sigproxyLastKernelError.0)"
check_no_match "sigproxyLastKernelErrorTime is set" '^0$|^0:0:00:00.00$' "$(sget -Ot sigproxyLastKernelErrorTime.0)"
# (the CLI applies line by line: the entry and its match stay, inactive)
check_no_match "the refused next hop is not in running-config" 'set next-hop' \
	"$(sp_cli sp1 -c 'show running-config')"
check_eq "... nor a rule in the kernel" "" "$(ip -n "$SP" rule show | grep 'lookup 100005')"

# A next hop on no connected network waits for the network (accepted, not
# installed, with the reason): not a kernel failure, no notification for it.
out=$(sp_cli sp1 -c "configure terminal" -c "policy-route pbr seq 6" -c "match source 10.9.0.0/24" \
	-c "set next-hop 203.0.113.9" -c "end" 2>&1)
check_eq "a next hop on no connected network is accepted" "" "$out"
check_match "... not installed, with the reason" 'not on a connected network' \
	"$(sp_cli sp1 -c 'show policy-route pbr')"
sp_cli sp1 -c "configure terminal" -c "no policy-route pbr seq 6" >/dev/null
ip -n "$SP" route del default via "$D1" table 100005
out=$(sp_cli sp1 -c "configure terminal" -c "policy-route pbr seq 5" -c "match source 10.9.0.0/24" \
	-c "set next-hop $D1" -c "end" 2>&1)
check_eq "with the foreign route gone the same entry is accepted" "" "$out"
check_match "... and installed" 'lookup 100005' "$(ip -n "$SP" rule show)"
sleep 1
check_eq "neither sent a kernel-failure notification" 1 "$(traps sigproxyKernelProgrammingFailure)"

# ---- sigproxySourceLimited ----
FLOOD=$SP_TMP/sipflood
if cc -O2 -o "$FLOOD" "$SP_TOP/bench/sipflood.c"; then
	out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "limit source-rate 50" -c end 2>&1)
	check_eq "limit source-rate 50 is accepted" "" "$out"
	check_eq "no source-limited notification before a flood" 0 "$(traps sigproxySourceLimited)"
	ip netns exec "$TE" "$FLOOD" 10.1.0.13 "$E" 5060 500 2 >/dev/null
	sp_wait_for "sigproxySourceLimited" 10 sh -c "grep -q ' = SIGPROXY-MIB::sigproxySourceLimited\$' '$TRAPS'"
	check_eq "snmptrapd received sigproxySourceLimited" 1 "$(traps sigproxySourceLimited)"
	vb=$(trap_block sigproxySourceLimited 1)
	check_match "... naming an IPv4 source" 'sigproxyLimitedSourceType\.0 = ipv4' "$vb"
	check_match "... 10.1.0.13" 'sigproxyLimitedSource\.0 = "?(0A 01 00 0D|10\.1\.0\.13)' "$vb"
	check_match "... with the kernel's drops" 'sigproxyStatsSourceRateDrops\.0 = [1-9]' "$vb"
	ip netns exec "$TE" "$FLOOD" 10.1.0.13 "$E" 5060 500 2 >/dev/null
	sleep 2
	check_eq "the same source again within the minute: no second notification" 1 \
		"$(traps sigproxySourceLimited)"
	check_match "sigproxyStatsSourceRateDrops counts the drops" '^[1-9][0-9]+$' \
		"$(sget sigproxyStatsSourceRateDrops.0)"
else
	sp_fail "bench/sipflood.c builds"
fi

# ---- sigproxyMediaProxyUp / Down: a remote media proxy joins and leaves ----
# a fake NG responder in ns sp (it answers pings) stands for rtpengine; on
# port 2223, outside media-port-range, which the media guard keeps locally
ip netns exec "$SP" python3 "$SP_TOP/tests/integration/mp_fake.py" 127.0.0.1 2223 >/dev/null 2>&1 &
MPFAKE=$!
SP_PIDS+=("$MPFAKE")
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mpx" -c "control 127.0.0.1 port 2223" -c end 2>&1)
check_eq "media-proxy mpx accepted" "" "$out"
sp_wait_for "sigproxyMediaProxyUp" 10 sh -c "grep -q ' = SIGPROXY-MIB::sigproxyMediaProxyUp\$' '$TRAPS'"
check_eq "snmptrapd received sigproxyMediaProxyUp" 1 "$(traps sigproxyMediaProxyUp)"
check_match "... with the media proxy's state, installed" 'sigproxyMediaProxyInstallState\."mpx" = installed' \
	"$(trap_block sigproxyMediaProxyUp 1)"
check_eq "sigproxyMediaProxyInstallState.\"mpx\" reads installed" installed \
	"$(sget 'SIGPROXY-MIB::sigproxyMediaProxyInstallState."mpx"')"
check_eq "sigproxyMediaProxyControlPort.\"mpx\"" 2223 "$(sget 'SIGPROXY-MIB::sigproxyMediaProxyControlPort."mpx"')"
kill "$MPFAKE"; wait "$MPFAKE" 2>/dev/null
sp_wait_for "sigproxyMediaProxyDown" 10 sh -c "grep -q ' = SIGPROXY-MIB::sigproxyMediaProxyDown\$' '$TRAPS'"
check_eq "snmptrapd received sigproxyMediaProxyDown" 1 "$(traps sigproxyMediaProxyDown)"
check_match "... saying why" 'sigproxyMediaProxyInstallReason\."mpx" = "?unreachable' \
	"$(trap_block sigproxyMediaProxyDown 1)"

lab_down
check "daemon stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
check_eq "the policy route left the kernel with it" "" "$(ip -n "$SP" rule show | grep 'lookup 100005')"
sp_done
