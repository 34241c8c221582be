#!/bin/bash
# SNMP and the CLI read install state, media and counter discontinuities from
# the same owners (issue 16 item 5), one object each compared both ways:
#  - a proxy strategy whose destination ports hold no listen-port: the CLI
#    says not installed, and so do sigproxyStrategyInstallState
#    (notInstalled) and sigproxyStrategyInstallReason (the CLI's reason);
#    an installed one is installed(1) in both;
#  - policy routes, one installed, one to a next hop on no connected
#    network: the CLI's state and sigproxyPolicyRouteInstallState (and
#    ...InstallReason) agree;
#  - one call with RTP through `media kernel': the stream the CLI shows in
#    the kernel is counted by sigproxySessionMediaStreams;
#  - `clear statistics' sets sigproxyStatsDiscontinuityTime (0 before);
#  - an interface configured before its link exists: `show interface' and
#    sigproxyInterfaceInstallState/...InstallReason say not installed,
#    `interface eth9 not found'; installed in both once `ip link add' makes
#    it (the link watch re-applies), not installed again after `ip link del';
#  - a media proxy (a fake NG responder in ns sp) in service, then
#    unreachable, then shut down: `show media-proxy' and
#    sigproxyMediaProxyInstallState/...InstallReason agree at each step.
# The lab (lab.sh): a SIPp caller in te, sigproxyd in sp (snmpd as AgentX
# master), a SIPp callee with RTP echo as the server D1 in srv1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools snmpd snmpget snmpwalk sipp

E=$LAB_E
C=$LAB_C
D1=$LAB_D1
SC=$SP_TOP/tests/integration/sipp
lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }

sp_snmp_env
sp_snmpd_start "$SP" || { sp_fail "snmpd starts"; cat "$SP_TMP/snmpd.log"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 --agentx "$AX" ||
	{ sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
V2=(-v2c -c public -t 2 -r 1 127.0.0.1)
sget() { ip netns exec "$SP" snmpget -OqvU "${V2[@]}" "$@" 2>&1; }
swalk() { ip netns exec "$SP" snmpwalk -OqvU "${V2[@]}" "$@" 2>&1; }
answers() { sget sigproxyHostname.0 | grep -qv 'No Such'; }
sp_wait_for "subagent registered" 10 answers ||
	{ sp_fail "the subagent answers"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }

# the string index of a row: NAME.SEQ as OID sub-identifiers
idx() { local s=$1 o=${#1}; for ((i = 0; i < ${#s}; i++)); do o+=.$(printf %d "'${s:i:1}"); done; echo "$o.$2"; }

out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "media kernel" -c "media-port-range 20000 20099" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "exit" \
	-c "proxy-strategy deaf seq 20" -c "match destination $E/32 port 7000-7001" \
	-c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "two strategies and media kernel are accepted" "" "$out"
out=$(sp_cli sp1 -c "configure terminal" -c "policy-route pr seq 5" -c "match source 10.9.0.0/24" \
	-c "set table 4242" -c "end" 2>&1)
check_eq "a policy route is accepted" "" "$out"

# ---- install state ----
cli_deaf=$(sp_cli sp1 -c 'show proxy-strategy deaf' | head -1)
cli_east=$(sp_cli sp1 -c 'show proxy-strategy east' | head -1)
check_match "CLI: deaf is not installed" "deaf seq 20: not installed \\(its destination ports include no listen-port\\)" "$cli_deaf"
check_match "CLI: east is installed" "east seq 10: installed" "$cli_east"
check_eq "SNMP: deaf's install state is notInstalled, as the CLI says" notInstalled \
	"$(sget "sigproxyStrategyInstallState.$(idx deaf 20)")"
check_eq "SNMP: deaf's reason is the CLI's" 'its destination ports include no listen-port' \
	"$(sget "sigproxyStrategyInstallReason.$(idx deaf 20)")"
check_eq "SNMP: east is installed, as the CLI says" installed \
	"$(sget "sigproxyStrategyInstallState.$(idx east 10)")"
cli_pr=$(sp_cli sp1 -c 'show policy-route pr' | head -1)
snmp_pr=$(sget "sigproxyPolicyRouteInstallState.$(idx pr 5)")
echo "# CLI: $cli_pr / SNMP: $snmp_pr"
if [[ $cli_pr == *": installed"* ]]; then want=installed; else want=notInstalled; fi
check_eq "SNMP: the policy route's install state is the CLI's" "$want" "$snmp_pr"
# a next hop on no connected network: accepted, not installed, and SNMP
# says so with the CLI's words
out=$(sp_cli sp1 -c "configure terminal" -c "policy-route far seq 6" -c "match source 10.9.1.0/24" \
	-c "set next-hop 203.0.113.1" -c "end" 2>&1)
check_eq "a policy route to an unconnected next hop is accepted" "" "$out"
cli_far=$(sp_cli sp1 -c 'show policy-route far' | head -1)
check_match "CLI: it is not installed, with the reason" \
	'far seq 6: not installed: next hop 203\.0\.113\.1 is not on a connected network' "$cli_far"
check_eq "SNMP: notInstalled, as the CLI says" notInstalled \
	"$(sget "sigproxyPolicyRouteInstallState.$(idx far 6)")"
check_eq "SNMP: the CLI's reason" "${cli_far#*: }" \
	"$(sget "sigproxyPolicyRouteInstallReason.$(idx far 6)")"

# ---- an interface's install state: its link missing, added, deleted ----
# the CLI's first line is "interface eth9: installed|not installed (reason)"
if_line() { sp_cli sp1 -c 'show interface eth9' | head -1; }
if_state() { sget 'SIGPROXY-MIB::sigproxyInterfaceInstallState."eth9"'; }
if_reason() { local r; r=$(sget 'SIGPROXY-MIB::sigproxyInterfaceInstallReason."eth9"'); [ "$r" = '""' ] && r=; echo "$r"; }
# if_agree STATE REASON: the CLI and SNMP both say it
if_agree() {
	local want=$1 reason=$2 line
	if [ "$want" = installed ]; then line="interface eth9: installed"; else line="interface eth9: not installed ($reason)"; fi
	[ "$(if_line)" = "$line" ] && [ "$(if_state)" = "$want" ] && [ "$(if_reason)" = "$reason" ]
}
if_show() { echo "# CLI: $(if_line) / SNMP: $(if_state) '$(if_reason)'"; }
out=$(sp_cli sp1 -c "configure terminal" -c "interface eth9" -c "vpn-id 7" -c end 2>&1)
check_eq "interface eth9 (no such link yet) is accepted" "" "$out"
check "no link: the CLI and SNMP say not installed, interface eth9 not found" \
	sp_wait_for "eth9 not installed" 10 if_agree notInstalled "interface eth9 not found"
if_show
# a veth pair (this kernel may have no dummy links)
check "ip link add eth9" ip -n "$SP" link add eth9 type veth peer name eth9p
check "ip link add: the CLI and SNMP say installed" sp_wait_for "eth9 installed" 10 if_agree installed ""
if_show
check "ip link del eth9" ip -n "$SP" link del eth9
check "ip link del: the CLI and SNMP say not installed again" \
	sp_wait_for "eth9 gone" 10 if_agree notInstalled "interface eth9 not found"
if_show

# ---- a media proxy's install state: in service, unreachable, shut down ----
# the CLI's first line is "media-proxy NAME: in service|not in service[, reason]"
mp_line() { sp_cli sp1 -c 'show media-proxy mpx' | head -1; }
mp_state() { sget 'SIGPROXY-MIB::sigproxyMediaProxyInstallState."mpx"'; }
mp_reason() { local r; r=$(sget 'SIGPROXY-MIB::sigproxyMediaProxyInstallReason."mpx"'); [ "$r" = '""' ] && r=; echo "$r"; }
# the CLI's state word and reason, the SNMP state and reason, side by side
mp_agree() {
	local line state reason
	line=$(mp_line)
	line=${line#media-proxy mpx: }
	case $line in
	"in service"*) state=installed reason=${line#in service} ;;
	"not in service"*) state=notInstalled reason=${line#not in service} ;;
	*) return 1 ;;
	esac
	reason=${reason#, }
	[ "$state" = "$1" ] && [ "$(mp_state)" = "$state" ] && [ "$(mp_reason)" = "$reason" ]
}
# on 127.0.0.1:2223, outside media-port-range (the media guard keeps it local)
ip netns exec "$SP" python3 "$SP_TOP/tests/integration/mp_fake.py" 127.0.0.1 2223 >/dev/null 2>&1 &
MPFAKE=$!
SP_PIDS+=("$MPFAKE")
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mpx" -c "control 127.0.0.1 port 2223" -c end 2>&1)
check_eq "media-proxy mpx is accepted" "" "$out"
check "in service: the CLI and SNMP say installed with the same reason" \
	sp_wait_for "mpx in service" 10 mp_agree installed
echo "# CLI: $(mp_line) / SNMP: $(mp_state) '$(mp_reason)'"
kill "$MPFAKE"; wait "$MPFAKE" 2>/dev/null
check "unreachable: the CLI and SNMP say not installed with the same reason" \
	sp_wait_for "mpx unreachable" 15 mp_agree notInstalled
echo "# CLI: $(mp_line) / SNMP: $(mp_state) '$(mp_reason)'"
check_match "... the reason says why" 'unreachable' "$(mp_reason)"
out=$(sp_cli sp1 -c "configure terminal" -c "media-proxy mpx" -c "shutdown" -c end 2>&1)
check_eq "shutdown is accepted" "" "$out"
check "shut down: the CLI and SNMP say not installed with the same reason" \
	sp_wait_for "mpx shut down" 10 mp_agree notInstalled
echo "# CLI: $(mp_line) / SNMP: $(mp_state) '$(mp_reason)'"
check_match "... the reason says shutdown" 'shutdown' "$(mp_reason)"

# ---- discontinuity ----
check_eq "sigproxyStatsDiscontinuityTime is 0 before any clear" 0 "$(sget -Ot sigproxyStatsDiscontinuityTime.0)"
sp_cli sp1 -c 'clear statistics' >/dev/null
disc=$(sget -Ot sigproxyStatsDiscontinuityTime.0)
check "clear statistics sets sigproxyStatsDiscontinuityTime (${disc:-none})" test "${disc:-0}" -gt 0 2>/dev/null

# ---- media streams ----
lab_sipp_bg "$SRV1" uas -sf "$SC/rtp_uas.xml" -i "$D1" -p 5060 -mp 6000 -rtp_echo -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
lab_sipp_bg "$TE" uac -sf "$SC/rtp_uac.xml" -i 10.1.0.10 -p 5060 -mp 6000 -s bob -m 1 -d 5000 "$E:5060"
UAC=$LAB_SIPP_PID
in_kernel() { sp_cli sp1 -c 'show sessions detail' | grep -q 'media 0: .* in kernel'; }
check "CLI: the call's stream is in the kernel" sp_wait_for "stream in kernel" 5 in_kernel
cli_media=$(sp_cli sp1 -c 'show sessions' | awk 'NR == 2 { print $8 }')
snmp_media=$(swalk sigproxySessionMediaStreams | head -1)
echo "# CLI media: $cli_media / SNMP media: $snmp_media"
check "CLI: one stream or more (${cli_media:-none})" test "${cli_media:-0}" -ge 1 2>/dev/null
check_eq "SNMP: sigproxySessionMediaStreams is the CLI's" "$cli_media" "$snmp_media"
lab_sipp_wait "$UAC" || sp_fail "the call completes"
lab_sipp_wait "$UAS"

check "daemon stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
sp_done
