#!/bin/bash
# Configuration as an operator writes it (issue 20 items 1 and 3): a startup
# file in the SPEC's own order (action proxy before server) loads; the same
# order works interactively, a block being checked when it is left; a policy
# route whose next hop is not connected yet is accepted and shown "not
# installed" with the reason, as at start-up.
. "$(dirname "$0")/lib.sh"
sp_require_root

NS=$(sp_netns ops) || { sp_fail "create namespace"; sp_done; exit 1; }
ip -n "$NS" link add ops0 type veth peer name ops1 && ip -n "$NS" link set ops1 up && ip -n "$NS" addr add 192.0.2.1/24 dev ops0 &&
	ip -n "$NS" link set ops0 up || sp_fail "a dummy link in the namespace"
D=$SP_TMP/o1
mkdir -p "$D"

# ---- item 1: the SPEC's order in a startup file ----
cat >"$D/sigproxy.conf" <<'EOF'
hostname ops1
signaling-proxy
 server-side-address 192.0.2.1
proxy-strategy voip seq 10
 action proxy
 match source 10.1.0.0/24
 server 192.0.2.10
policy-route late seq 5
 set next-hop 198.51.100.1
 match source 10.1.0.0/24
EOF
sp_daemon_start "$NS" o1 --cli-listen none || { sp_fail "daemon starts"; cat "$D/log"; sp_done; exit 1; }
if kill -0 "$SP_DAEMON_PID" 2>/dev/null && sp_cli o1 -c "show version" >/dev/null 2>&1; then
	sp_pass "a startup file with action proxy before server loads"
else
	sp_fail "a startup file with action proxy before server loads"; sed 's/^/#   /' "$D/log"
	sp_done; exit 1
fi
check_match "... the strategy is installed" 'proxy-strategy voip seq 10: installed' \
	"$(sp_cli o1 -c 'show proxy-strategy voip')"
check_match "... the unconnected next hop loads, not installed, with the reason" \
	'not installed: next hop 198.51.100.1 is not on a connected network' "$(sp_cli o1 -c 'show policy-route late')"

# ---- item 1: the same order interactively ----
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy two seq 20" -c "action proxy" \
	-c "match source 10.2.0.0/24" -c "server 192.0.2.20" -c "exit" 2>&1); rc=$?
check_eq "interactively: action proxy before server is accepted" 0 $rc
check_eq "... without a word" "" "$out"
check_match "... and the strategy is installed" 'proxy-strategy two seq 20: installed' \
	"$(sp_cli o1 -c 'show proxy-strategy two')"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy three seq 30" -c "action proxy" \
	-c "match source 10.3.0.0/24" -c "end" 2>&1); rc=$?
check_eq "a block left incomplete is refused when it is left" 1 $rc
check_match "... saying why" '^% proxy-strategy three seq 30: action proxy needs a server' "$out"
check_no_match "... its lines are not in running-config (only the entry typed first)" '10\.3\.0\.0' \
	"$(sp_cli o1 -c 'show running-config')"
check_match "... which is inactive" 'proxy-strategy three seq 30: (inactive|not installed)' \
	"$(sp_cli o1 -c 'show proxy-strategy three')"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy four seq 40" -c "action proxy" 2>&1); rc=$?
check_eq "a block incomplete at the end of the commands is refused" 1 $rc
check_match "... saying why" 'proxy-strategy four seq 40: action proxy needs a server' "$out"
check_no_match "... and its action is not in running-config" 'action proxy' \
	"$(sp_cli o1 -c 'show running-config | begin four' | sed -n 2p)"
out=$(sp_cli o1 -c "configure terminal" -c "proxy-strategy five seq 50" -c "action proxy" \
	-c "policy-route x seq 7" 2>&1); rc=$?
check_eq "a top-level command leaves the block: checked then" 1 $rc
check_match "... saying why" 'proxy-strategy five seq 50: action proxy needs a server' "$out"
check_no_match "... and the top-level command did not run" 'policy-route x' "$(sp_cli o1 -c 'show running-config')"

# ---- item 1: a next hop not connected yet, interactively ----
out=$(sp_cli o1 -c "configure terminal" -c "policy-route pr seq 8" -c "match source 10.8.0.0/24" \
	-c "set next-hop 203.0.113.1" -c "end" 2>&1); rc=$?
check_eq "interactively: a next hop not connected yet is accepted" 0 $rc
check_match "... shown not installed with the reason" \
	'not installed: next hop 203.0.113.1 is not on a connected network' "$(sp_cli o1 -c 'show policy-route pr')"
check_match "... and kept in running-config" 'set next-hop 203.0.113.1' "$(sp_cli o1 -c 'show running-config')"
ip -n "$NS" addr add 203.0.113.2/24 dev ops0
check "a later commit installs it once the network is there" sp_cli o1 -c "configure terminal" \
	-c "policy-route pr seq 8" -c "match destination 10.9.0.0/24"
check_match "... installed" 'policy-route pr seq 8: installed' "$(sp_cli o1 -c 'show policy-route pr')"
out=$(sp_cli o1 -c "configure terminal" -c "policy-route iif seq 9" -c "match input-interface nosuch0" \
	-c "set table 300" 2>&1); rc=$?
check_eq "an input interface that does not exist yet is accepted" 0 $rc
check_match "... shown not installed with the reason" 'input interface nosuch0 does not exist' \
	"$(sp_cli o1 -c 'show policy-route iif')"

# the running configuration written and read back is the same
check "write memory" sp_cli o1 -c "write memory"
RUN=$(sp_cli o1 -c "show running-config")
sp_daemon_stop "$SP_DAEMON_PID"
sp_daemon_start "$NS" o1 --cli-listen none || sp_fail "daemon restarts on its written file"
check_eq "the written configuration loads back the same" "$RUN" "$(sp_cli o1 -c 'show running-config')"

sp_done
