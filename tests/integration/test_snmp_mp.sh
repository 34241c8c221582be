#!/bin/bash
# sigproxyMediaProxyTable over SNMP (issue 19 item 1): RowStatus as the
# strategies' table has it. A real snmpd as AgentX master in a namespace
# made here, sigproxyd as its subagent. createAndGo with the control
# address in one PDU; createAndWait, columns set while it waits
# (notInService, not in the configuration), active(1) commits it;
# notInService puts an active row to `shutdown`, active brings it back;
# the writable columns (control address type, address, port, weight,
# fallback) changed on an active row; destroy. Bad SETs are refused with
# the right error and nothing half-applied: a wrong type (wrongType), a
# port or a weight out of range (wrongValue), a fallback outside its
# enumeration (wrongValue), an address that does not fit its type
# (inconsistentValue, in a PDU that also sets a good weight: the weight is
# not applied), active on a row without a control address
# (inconsistentValue), a column of a row that does not exist
# (inconsistentName), createAndGo on an existing row
# (inconsistentValue).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools snmpd snmpget snmpset snmpwalk

NS=$(sp_netns snmp) || { sp_fail "create namespace"; sp_done; exit 1; }
# a route to the media proxies' control addresses (the daemon opens a
# socket towards each; nothing answers there)
ip -n "$NS" link add d0 type veth peer name d1 && ip -n "$NS" link set d1 up &&
	ip -n "$NS" addr add 192.0.2.33/24 dev d0 &&
	ip -n "$NS" link set d0 up || { sp_fail "a link in the namespace"; sp_done; exit 1; }
sp_snmp_env
sp_snmpd_start "$NS" "createUser admin SHA authpass123 AES privpass123" "rwuser admin priv" ||
	{ sp_fail "snmpd starts"; sp_done; exit 1; }
sp_daemon_start "$NS" d1 --cli-listen none --agentx "$AX" ||
	{ sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }

V3=(-v3 -l authPriv -u admin -a SHA -A authpass123 -x AES -X privpass123 -t 2 -r 1)
sget() { ip netns exec "$NS" snmpget -OqvU "${V3[@]}" 127.0.0.1 "$@" 2>&1; }
sset() { ip netns exec "$NS" snmpset "${V3[@]}" 127.0.0.1 "$@"; }
refused() { # refused REASON VARBINDS...: the agent answers REASON
	local reason=$1; shift
	ip netns exec "$NS" snmpset -Ir "${V3[@]}" 127.0.0.1 "$@" 2>&1 | grep -q "Reason: $reason"
}
answers() { sget sigproxyHostname.0 | grep -qv 'No Such'; }
run() { sp_cli d1 -c "show running-config"; }
mp() { printf '%s."%s"' "sigproxyMediaProxy$1" "$2"; }
sp_wait_for "subagent registered" 10 answers ||
	{ sp_fail "subagent answers"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }

# ---- createAndGo with the control address in one PDU ----
check "createAndGo a media proxy" sset "$(mp RowStatus mp1)" i 4 "$(mp ControlType mp1)" i 1 \
	"$(mp Control mp1)" x C0000222 "$(mp ControlPort mp1)" u 2223 "$(mp Weight mp1)" u 3
check_eq "it reads active" active "$(sget "$(mp RowStatus mp1)")"
check_match "running-config has it" "media-proxy mp1
 control 192.0.2.34 port 2223
 weight 3" "$(run)"

# ---- createAndWait: waits in the agent, then active commits it ----
check "createAndWait another" sset "$(mp RowStatus mp2)" i 5 "$(mp Weight mp2)" u 2
check_eq "it reads notReady (no control address yet)" notReady "$(sget "$(mp RowStatus mp2)")"
check_no_match "not in running-config while it waits" "media-proxy mp2" "$(run)"
check "active on a row without a control address is inconsistentValue" \
	refused inconsistentValue "$(mp RowStatus mp2)" i 1
check "its control address and port set while it waits" sset "$(mp ControlType mp2)" i 1 \
	"$(mp Control mp2)" x C0000232 "$(mp ControlPort mp2)" u 2223 "$(mp Fallback mp2)" i 2
check_eq "now it reads notInService" notInService "$(sget "$(mp RowStatus mp2)")"
check "active(1) commits it" sset "$(mp RowStatus mp2)" i 1
check_match "running-config has it, with its columns" "media-proxy mp2
 control 192.0.2.50 port 2223
 weight 2
 fallback refuse" "$(run)"

# ---- notInService <-> active on a row in service ----
check "notInService takes mp1 out of service" sset "$(mp RowStatus mp1)" i 2
check_eq "it reads notInService" notInService "$(sget "$(mp RowStatus mp1)")"
check_match "running-config: shutdown" "media-proxy mp1
 control 192.0.2.34 port 2223
 weight 3
 shutdown" "$(run)"
check "active brings it back" sset "$(mp RowStatus mp1)" i 1
check_no_match "no shutdown any more" "shutdown" "$(run | sed -n '/^media-proxy mp1/,/^[^ ]/p')"

# ---- columns of an active row ----
check "weight, port and fallback of an active row in one PDU" sset "$(mp Weight mp1)" u 7 \
	"$(mp ControlPort mp1)" u 2224 "$(mp Fallback mp1)" i 2
check_match "running-config follows" "media-proxy mp1
 control 192.0.2.34 port 2224
 weight 7
 fallback refuse" "$(run)"
check_eq "and the MIB reads it back" "7 2224 refuse" \
	"$(sget "$(mp Weight mp1)") $(sget "$(mp ControlPort mp1)") $(sget "$(mp Fallback mp1)")"

# ---- bad SETs: refused, nothing half-applied ----
before=$(run)
check "a weight as a string is wrongType" refused wrongType "$(mp Weight mp1)" s 5
check "port 0 is wrongValue" refused wrongValue "$(mp ControlPort mp1)" u 0
check "a weight over 1000 is wrongValue" refused wrongValue "$(mp Weight mp1)" u 1001
check "fallback 3 is wrongValue" refused wrongValue "$(mp Fallback mp1)" i 3
check "a 16-byte address for ipv4 is inconsistentValue (and the weight beside it not applied)" \
	refused inconsistentValue "$(mp Weight mp1)" u 9 "$(mp Control mp1)" x 20010DB8000000000000000000000001
check "a column of a row that does not exist is inconsistentName" \
	refused inconsistentName "$(mp Weight nosuch)" u 1
check "createAndGo on an existing row is inconsistentValue" refused inconsistentValue "$(mp RowStatus mp1)" i 4
check_eq "nothing of the refused SETs reached the configuration" "$before" "$(run)"

# ---- destroy ----
check "destroy mp2" sset "$(mp RowStatus mp2)" i 6
check_no_match "mp2 is gone from running-config" "media-proxy mp2" "$(run)"
check_match "and from the table" "No Such Instance" "$(sget "$(mp RowStatus mp2)")"

check "daemon stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
sp_done
