#!/bin/bash
# SIGPROXY-MIB end to end: a real snmpd as AgentX master in a namespace made
# here, sigproxyd as its subagent; reads, walks, SETs with RowStatus, bad
# SETs refused with the right error and nothing changed, v2c writes
# refused, a trap on a role change, and an snmpd restart.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools snmpd snmptrapd snmpget snmpset snmpwalk snmpbulkwalk

NS=$(sp_netns snmp) || { sp_fail "create namespace"; sp_done; exit 1; }
sp_snmp_env

# ---- snmpd (master), snmptrapd ----
cat >"$SP_TMP/snmpd.conf" <<EOF
master agentx
agentXSocket $AX
agentaddress udp:127.0.0.1:161
rocommunity public 127.0.0.1
createUser admin SHA authpass123 AES privpass123
rwuser admin priv
# the NOC's user writes in its own context: the audit line names it
createUser noc SHA nocpass1234 AES nocpriv1234
rwuser noc priv .1.3.6.1.4.1.8072.9999.9999.5060 noc
trap2sink 127.0.0.1:1162 public
EOF
cat >"$SP_TMP/snmptrapd.conf" <<EOF
disableAuthorization yes
EOF
start_snmpd() {
	ip netns exec "$NS" snmpd -f -C -c "$SP_TMP/snmpd.conf" -Lf "$SP_TMP/snmpd.log" \
		-p "$SP_TMP/snmpd.pid" &
	SNMPD_PID=$!
	SP_PIDS+=("$SNMPD_PID")
	sp_wait_for "snmpd socket" 10 test -S "$AX"
}
start_snmpd || { sp_fail "snmpd starts"; cat "$SP_TMP/snmpd.log"; sp_done; exit 1; }
ip netns exec "$NS" snmptrapd -f -C -c "$SP_TMP/snmptrapd.conf" -Lf "$SP_TMP/traps.log" \
	-p "$SP_TMP/snmptrapd.pid" udp:127.0.0.1:1162 &
SP_PIDS+=("$!")

sp_daemon_start "$NS" d1 --cli-listen none --agentx "$AX" --agentx-context noc ||
	{ sp_fail "daemon starts"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }
sp_pass "sigproxyd starts as a subagent"

V3=(-v3 -l authPriv -u admin -a SHA -A authpass123 -x AES -X privpass123 -t 2 -r 1)
V2=(-v2c -c public -t 2 -r 1 127.0.0.1)
sget() { ip netns exec "$NS" snmpget -OqvU "${V3[@]}" 127.0.0.1 "$@" 2>&1; }
# answers: the subagent is registered (snmpget exits 0 on noSuchObject too)
answers() { sget sigproxyHostname.0 | grep -qv 'No Such'; }
sset() { ip netns exec "$NS" snmpset "${V3[@]}" 127.0.0.1 "$@"; }
run() { sp_cli d1 -c "show running-config"; }

sp_wait_for "subagent registered" 10 answers ||
	{ sp_fail "subagent answers"; cat "$SP_TMP/d1/log"; sp_done; exit 1; }

# ---- reads ----
check_eq "get a scalar (hostname)" sigproxy "$(sget sigproxyHostname.0)"
check_eq "get with v2c read-only community" forward "$(ip netns exec "$NS" snmpget -Oqv "${V2[@]}" sigproxyDefaultAction.0)"
check_eq "numeric OID get" 20000 "$(ip netns exec "$NS" snmpget -Oqv "${V2[@]}" .1.3.6.1.4.1.8072.9999.9999.5060.1.1.11.0)"
out=$(ip netns exec "$NS" snmpgetnext "${V2[@]}" sigproxyConfig 2>&1)
check_match "getnext of the group gives its first object" 'sigproxyHostname\.0 = STRING: sigproxy' "$out"
out=$(ip netns exec "$NS" snmpwalk "${V2[@]}" sigproxyMIB 2>&1)
check_match "walk shows the default listen port row" 'sigproxyListenPortRowStatus\.5060 = INTEGER: active' "$out"
check_match "walk shows statistics (0 until the engine)" 'sigproxyStatsReceived\.0 = Counter64: 0' "$out"
check_match "walk shows the STUN counters (sigproxyStats 23-24)" \
	'sigproxyStatsStunRequests\.0 = Counter64: 0.*sigproxyStatsStunErrors\.0 = Counter64: 0' "$(tr '\n' ' ' <<<"$out")"
check_match "walk shows the media counters (sigproxyStats 21-22)" \
	'sigproxyStatsMediaKernelRefusals\.0 = Counter64: 0.*sigproxyStatsMediaGuardDrops\.0 = Counter64: 0' "$(tr '\n' ' ' <<<"$out")"
check_match "walk reaches the end of the module" 'sigproxyLastKernelErrorTime\.0' "$out"
check_no_match "walk has no errors" 'No Such|^Error|not increasing' "$out"
check_eq "bulkwalk sees what walk sees" "$out" "$(ip netns exec "$NS" snmpbulkwalk "${V2[@]}" sigproxyMIB 2>&1)"
check_match "a missing row is noSuchInstance" 'No Such Instance' \
	"$(ip netns exec "$NS" snmpget "${V2[@]}" 'sigproxyStrategyAction."none".1' 2>&1)"

# ---- createAndGo with every needed column in one PDU ----
check "createAndGo a strategy" sset 'sigproxyStrategyRowStatus."voip".10' i 4 \
	'sigproxyStrategySrcAddrType."voip".10' i 1 'sigproxyStrategySrcAddr."voip".10' x 0A010000 \
	'sigproxyStrategySrcPrefixLen."voip".10' u 24 \
	'sigproxyStrategyServerAddrType."voip".10' i 1 'sigproxyStrategyServerAddr."voip".10' x C000020A \
	'sigproxyStrategyServerPort."voip".10' u 5070 'sigproxyStrategyAction."voip".10' i 1
out=$(run)
check_match "createAndGo shows in running-config" 'proxy-strategy voip seq 10' "$out"
check_match "... with its match" ' match source 10.1.0.0/24' "$out"
check_match "... its server" ' server 192.0.2.10 port 5070' "$out"
check_match "... and its action" ' action proxy' "$out"
check_eq "the row reads active" active "$(sget 'sigproxyStrategyRowStatus."voip".10')"
# no server-side-address here: the engine does not install it, and SNMP
# says so as the CLI does (one status owner, issue 16)
check_eq "the row reads notInstalled, as the CLI says" notInstalled "$(sget 'sigproxyStrategyInstallState."voip".10')"
check_eq "... for the CLI's reason" "no server-side-address configured" \
	"$(sget 'sigproxyStrategyInstallReason."voip".10')"
check_match "the CLI says the same" 'voip seq 10: not installed \(no server-side-address configured\)' \
	"$(sp_cli d1 -c 'show proxy-strategy voip' 2>&1)"

# ---- createAndWait, then active ----
check "createAndWait a strategy" sset 'sigproxyStrategyRowStatus."late".20' i 5 'sigproxyStrategyVlan."late".20' u 42
check_eq "it reads notInService" notInService "$(sget 'sigproxyStrategyRowStatus."late".20')"
check_no_match "... and is not in running-config" 'proxy-strategy late' "$(run)"
check "a column of the waiting row" sset 'sigproxyStrategyAction."late".20' i 3
check "set it active" sset 'sigproxyStrategyRowStatus."late".20' i 1
out=$(run)
check_match "the activated row is in running-config" 'proxy-strategy late seq 20' "$out"
check_match "... with the columns set while waiting" ' match vlan 42' "$out"

# ---- change a column, then destroy ----
check "change a column of an active row" sset 'sigproxyStrategyVlan."late".20' u 100
# (the daemon loads no MIB files: the object is numeric, sigproxyStrategyVlan."late".20)
check_match "the SET is in the audit log: the way it came, the object and the value" \
	'audit: snmp SET via snmpd \(AgentX, default context\): [a-z.0-9]*\.5060\.1\.2\.1\.4\.4\.108\.97\.116\.101\.20 = Gauge32: 100' \
	"$(cat "$SP_TMP/d1/log")"
# AgentX passes no requester address, community or user; the context it
# does pass: a user (or community) confined to a context is named by it
V3NOC=(-v3 -l authPriv -u noc -a SHA -A nocpass1234 -x AES -X nocpriv1234 -t 2 -r 1)
check "a SET by the NOC's user in its context" \
	ip netns exec "$NS" snmpset "${V3NOC[@]}" -n noc 127.0.0.1 'sigproxyStrategyVlan."late".20' u 101
check_match "the audit line names the context it came in" \
	'audit: snmp SET via snmpd \(AgentX, context "noc"\): [a-z.0-9]*\.5060\.1\.2\.1\.4\.4\.108\.97\.116\.101\.20 = Gauge32: 101' \
	"$(cat "$SP_TMP/d1/log")"
check_fails "the NOC's user cannot write in the default context" \
	ip netns exec "$NS" snmpset "${V3NOC[@]}" 127.0.0.1 'sigproxyStrategyVlan."late".20' u 102
check "the admin's SET again" sset 'sigproxyStrategyVlan."late".20' u 100
check_match "the change is in running-config" ' match vlan 100' "$(run)"
check "destroy a row" sset 'sigproxyStrategyRowStatus."late".20' i 6
check_no_match "the destroyed row left running-config" 'proxy-strategy late' "$(run)"

# ---- createAndWait as an operator uses it (RFC 2579) ----
# Waiting rows live in the agent only: GET and walks show them with their
# columns, later SETs complete them, active(1) commits them.
walk3() { ip netns exec "$NS" snmpwalk "${V3[@]}" 127.0.0.1 "$@" 2>&1; }
refused() { # refused REASON VARBINDS...: the agent answers REASON
	local reason=$1; shift
	ip netns exec "$NS" snmpset -Ir "${V3[@]}" 127.0.0.1 "$@" 2>&1 | grep -q "Reason: $reason"
}
check "createAndWait a proxy strategy without its server" sset 'sigproxyStrategyRowStatus."cw".60' i 5 \
	'sigproxyStrategyAction."cw".60' i 1 'sigproxyStrategyVlan."cw".60' u 7
check_eq "it reads notReady (active would be refused)" notReady "$(sget 'sigproxyStrategyRowStatus."cw".60')"
out=$(walk3 sigproxyStrategyTable)
check_match "a walk shows the waiting row" 'sigproxyStrategyRowStatus\."cw"\.60 = INTEGER: notReady' "$out"
check_match "... with the columns set so far" 'sigproxyStrategyAction\."cw"\.60 = INTEGER: proxy' "$out"
check_match "... and why it is not installed" 'sigproxyStrategyInstallReason\."cw"\.60 = STRING: "?action proxy needs a server' "$out"
check_no_match "... and is not in running-config" 'proxy-strategy cw ' "$(run)"
check "active on a notReady row is inconsistentValue" refused inconsistentValue 'sigproxyStrategyRowStatus."cw".60' i 1
check "notInService on a notReady row is inconsistentValue" refused inconsistentValue 'sigproxyStrategyRowStatus."cw".60' i 2
check_eq "... and it stays notReady" notReady "$(sget 'sigproxyStrategyRowStatus."cw".60')"
sp_cli d1 -c "configure terminal" -c "hostname cwtest" >/dev/null
check_eq "a CLI commit meanwhile leaves the waiting row alone" notReady "$(sget 'sigproxyStrategyRowStatus."cw".60')"
check "a later SET completes it (the server)" sset 'sigproxyStrategyServerAddrType."cw".60' i 1 \
	'sigproxyStrategyServerAddr."cw".60' x C000021E
check_eq "now it reads notInService" notInService "$(sget 'sigproxyStrategyRowStatus."cw".60')"
check_no_match "... still not in running-config" 'proxy-strategy cw ' "$(run)"
check "active(1) commits it" sset 'sigproxyStrategyRowStatus."cw".60' i 1
out=$(run)
check_match "it is in running-config" 'proxy-strategy cw seq 60' "$out"
check_match "... with every column set while it waited" ' match vlan 7' "$out"
check_match "... its server" ' server 192.0.2.30' "$out"
check_eq "it reads active" active "$(sget 'sigproxyStrategyRowStatus."cw".60')"
check "notInService takes an active row out of service" sset 'sigproxyStrategyRowStatus."cw".60' i 2
check_match "... it stays in running-config, shut down" '^ shutdown$' "$(run | sed -n '/^proxy-strategy cw seq 60$/,/^!$/p')"
out=$(walk3 sigproxyStrategyTable)
check_match "... a walk shows it notInService" 'sigproxyStrategyRowStatus\."cw"\.60 = INTEGER: notInService' "$out"
check_match "... with its columns kept" 'sigproxyStrategyVlan\."cw"\.60 = Gauge32: 7|sigproxyStrategyVlan\."cw"\.60 = [A-Za-z0-9]+: 7' "$out"
check "active again" sset 'sigproxyStrategyRowStatus."cw".60' i 1
check_match "... in running-config with its columns" ' match vlan 7' "$(run)"
check_no_match "... and no longer shut down" '^ shutdown$' "$(run | sed -n '/^proxy-strategy cw seq 60$/,/^!$/p')"
check "destroy" sset 'sigproxyStrategyRowStatus."cw".60' i 6
check_no_match "the destroyed row is gone from walks" '"cw"\.60' "$(walk3 sigproxyStrategyTable)"
check "createAndWait another, then destroy it while it waits" sset 'sigproxyStrategyRowStatus."cw2".61' i 5
check "... destroy" sset 'sigproxyStrategyRowStatus."cw2".61' i 6
check_no_match "... gone from walks" '"cw2"' "$(walk3 sigproxyStrategyTable)"

check "createAndWait a policy route" sset 'sigproxyPolicyRouteRowStatus."cwpr".62' i 5 \
	'sigproxyPolicyRouteDstAddrType."cwpr".62' i 1 'sigproxyPolicyRouteDstAddr."cwpr".62' x C6336402 \
	'sigproxyPolicyRouteDstPrefixLen."cwpr".62' u 32
check_eq "it reads notInService (a policy route with no target is valid)" notInService \
	"$(sget 'sigproxyPolicyRouteRowStatus."cwpr".62')"
check_match "a walk shows it" 'sigproxyPolicyRouteDstPrefixLen\."cwpr"\.62 = [A-Za-z0-9]+: 32' \
	"$(walk3 sigproxyPolicyRouteTable)"
check "a later SET gives it a table" sset 'sigproxyPolicyRouteTableId."cwpr".62' u 300
check "active(1) commits it" sset 'sigproxyPolicyRouteRowStatus."cwpr".62' i 1
out=$(run)
check_match "the policy route is in running-config" 'policy-route cwpr seq 62' "$out"
check_match "... with its table" ' set table 300' "$out"
check "destroy it" sset 'sigproxyPolicyRouteRowStatus."cwpr".62' i 6
check "createAndWait an interface" sset 'sigproxyInterfaceRowStatus."eth9"' i 5
check_eq "it reads notInService" notInService "$(sget 'sigproxyInterfaceRowStatus."eth9"')"
check "a later SET gives it a side" sset 'sigproxyInterfaceSide."eth9"' i 3
check "active(1) commits it" sset 'sigproxyInterfaceRowStatus."eth9"' i 1
check_match "the interface is in running-config" 'interface eth9' "$(run)"
check "destroy it" sset 'sigproxyInterfaceRowStatus."eth9"' i 6
check_no_match "nothing of these rows is left in running-config" 'cwpr|eth9|proxy-strategy cw' "$(run)"
sp_cli d1 -c "configure terminal" -c "hostname sigproxy" >/dev/null

# ---- scalars, policy routes, interfaces, listen ports, redundancy ----
check "set scalars in one PDU" sset sigproxyServerSideAddrType.0 i 1 sigproxyServerSideAddr.0 x C0000201 \
	sigproxyMediaPortLow.0 u 30000 sigproxyMediaPortHigh.0 u 30999 sigproxySessionLimit.0 u 500
out=$(run)
check_match "server-side-address in running-config" ' server-side-address 192.0.2.1' "$out"
check_match "media-port-range in running-config" ' media-port-range 30000 30999' "$out"
# IPv6 (issue 18): one C per family; a SET puts the address in its family's slot
check "an IPv6 server-side address by SET" sset sigproxyServerSideAddrType.0 i 2 \
	sigproxyServerSideAddr.0 x 20010db8000200000000000000000001
out=$(run)
check_match "... in running-config beside the IPv4 one" \
	' server-side-address 192\.0\.2\.1.* server-side-address 2001:db8:2::1' "$(printf '%s' "$out" | tr '\n' ' ')"
check_eq "sigproxyServerSideAddr still reads the IPv4 C" 192.0.2.1 "$(sget sigproxyServerSideAddr.0)"
check_eq "sigproxyServerSideAddr6 reads the IPv6 C as an IPv6 address (display hint)" \
	"2001:db8:2:0:0:0:0:1" "$(sget sigproxyServerSideAddr6.0)"
check "sigproxyServerSideAddr6 is writable" sset sigproxyServerSideAddr6.0 x 20010db8000200000000000000000002
check_match "... and becomes the IPv6 server-side-address" ' server-side-address 2001:db8:2::2' "$(run)"
check_fails "sigproxyServerSideAddr6 refuses 4 octets" sset sigproxyServerSideAddr6.0 x C0000201
check "writing :: removes it" sset sigproxyServerSideAddr6.0 x 00000000000000000000000000000000
check_no_match "... gone from running-config" ' server-side-address 2001' "$(run)"
check "the IPv6 C again, by SET" sset sigproxyServerSideAddr6.0 x 20010db8000200000000000000000001
check "an IPv6 strategy by SET" sset 'sigproxyStrategyRowStatus."six".70' i 4 \
	'sigproxyStrategyDstAddrType."six".70' i 2 \
	'sigproxyStrategyDstAddr."six".70' x 20010db8000500000000000000000001 \
	'sigproxyStrategyDstPrefixLen."six".70' u 128 \
	'sigproxyStrategyServerAddrType."six".70' i 2 \
	'sigproxyStrategyServerAddr."six".70' x 20010db8000200000000000000000010 \
	'sigproxyStrategyAction."six".70' i 1
check_match "... in running-config with IPv6 text" \
	'proxy-strategy six seq 70 match destination 2001:db8:5::1/128 server 2001:db8:2::10 action proxy' \
	"$(run | tr '\n' ' ' | tr -s ' ')"
check "destroy it" sset 'sigproxyStrategyRowStatus."six".70' i 6
sp_cli d1 -c "configure terminal" -c "signaling-proxy" -c "no server-side-address 2001:db8:2::1" >/dev/null
check_no_match "the IPv6 C removed by the CLI" 'server-side-address 2001' "$(run)"
check_eq "sigproxyMessageSizeLimit reads the default" 65507 "$(sget sigproxyMessageSizeLimit.0)"
check "sigproxyMessageSizeLimit is writable" sset sigproxyMessageSizeLimit.0 u 1400
check_match "... and becomes message-size-limit in running-config" ' message-size-limit 1400' "$(run)"
check_fails "sigproxyMessageSizeLimit refuses 511" sset sigproxyMessageSizeLimit.0 u 511
check_eq "... and keeps its value" 1400 "$(sget sigproxyMessageSizeLimit.0)"
check_match "the new statistics are in the walk" 'sigproxyStatsUnmatchedResponses.*sigproxyStatsTooManyHops.*sigproxyStatsTooLarge.*sigproxyStatsNoMediaPortDrops.*sigproxyStatsFlowFailed\.0 = Counter64: 0 requests.*sigproxyStatsTcpAcceptWaits\.0 = Counter64: 0 waits.*sigproxyStatsTlsAcceptWaits\.0 = Counter64: 0 waits' \
	"$(ip netns exec "$NS" snmpwalk "${V2[@]}" sigproxyStats 2>&1 | tr '\n' ' ')"
check_eq "sigproxySourceRateLimit reads the default" 1000 "$(sget sigproxySourceRateLimit.0)"
check "the per-source limits are writable in one PDU" sset sigproxySourceRateLimit.0 u 0 \
	sigproxySourceNewBindingLimit.0 u 20 sigproxySourceBindingLimit.0 u 5
out=$(run)
check_match "... and in running-config" ' limit source-rate 0.* limit source-new-bindings 20.* limit source-bindings 5' \
	"$(printf '%s' "$out" | tr '\n' ' ')"
check_fails "sigproxySourceBindingLimit refuses 10000001" sset sigproxySourceBindingLimit.0 u 10000001
check_eq "... and keeps its value" 5 "$(sget sigproxySourceBindingLimit.0)"
check "back to the defaults" sset sigproxySourceRateLimit.0 u 1000 sigproxySourceNewBindingLimit.0 u 100 \
	sigproxySourceBindingLimit.0 u 1000
check_no_match "... not in running-config" 'limit source' "$(run)"
check_match "the per-source and socket drop counters are in the walk" 'sigproxyStatsSourceRateDrops.*sigproxyStatsSourceNewBindingDrops.*sigproxyStatsSourceBindingRefusals.*sigproxyStatsSocketDropsListener.*sigproxyStatsSocketDropsServerSide.*sigproxyStatsSocketDropsOther' \
	"$(ip netns exec "$NS" snmpwalk "${V2[@]}" sigproxyStats 2>&1 | tr '\n' ' ')"
check "create a policy route" sset 'sigproxyPolicyRouteRowStatus."pbr1".5' i 4 \
	'sigproxyPolicyRouteDstAddrType."pbr1".5' i 1 'sigproxyPolicyRouteDstAddr."pbr1".5' x C6336401 \
	'sigproxyPolicyRouteDstPrefixLen."pbr1".5' u 32 'sigproxyPolicyRouteTableId."pbr1".5' u 100
check_match "policy route in running-config" 'policy-route pbr1 seq 5' "$(run)"
check "create an interface" sset 'sigproxyInterfaceRowStatus."eth1"' i 4 'sigproxyInterfaceSide."eth1"' i 2 \
	'sigproxyInterfaceVpnId."eth1"' u 7
check_match "interface in running-config" 'interface eth1' "$(run)"
check "add a listen port" sset sigproxyListenPortRowStatus.5080 i 4
check_match "listen-port in running-config" ' listen-port 5060 5080' "$(run)"

# ---- CLI change visible at once ----
sp_cli d1 -c "configure terminal" -c "hostname edge7" >/dev/null
check_eq "a CLI change is visible in SNMP at once" edge7 "$(sget sigproxyHostname.0)"

# ---- bad SETs: the expected error, nothing changed ----
BASE=$(run)
bad() { # bad DESC REASON VARBINDS...
	local desc=$1 reason=$2; shift 2
	# -Ir: no client-side checks, so the agent is the one that refuses
	local o; o=$(ip netns exec "$NS" snmpset -Ir "${V3[@]}" 127.0.0.1 "$@" 2>&1); local rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$o" | grep -q "Reason: $reason" && [ "$(run)" == "$BASE" ]; then
		sp_pass "bad SET refused ($reason): $desc"
	else
		sp_fail "bad SET refused ($reason): $desc"; printf '%s\n' "$o" | sed 's/^/#   /' | head -5
	fi
}
bad "wrong type" wrongType 'sigproxyStrategyVlan."voip".10' i 5
bad "VLAN out of range" wrongValue 'sigproxyStrategyVlan."voip".10' u 4095
bad "MPLS reserved label" wrongValue 'sigproxyStrategyMplsLabel."voip".10' u 15
bad "port out of range" wrongValue 'sigproxyStrategyServerPort."voip".10' u 70000
bad "address of a bad length" wrongLength 'sigproxyStrategyServerAddr."voip".10' x C00002
bad "address type and length disagree" inconsistentValue 'sigproxyStrategyServerAddrType."voip".10' i 2
bad "name too long" noCreation 'sigproxyStrategyRowStatus."abcdefghijabcdefghijabcdefghijabc".30' i 4
bad "bad character in a name" noCreation 'sigproxyStrategyRowStatus."a b".30' i 4
bad "duplicate sequence number" inconsistentValue 'sigproxyStrategyRowStatus."other".10' i 4
bad "action proxy without a server" inconsistentValue 'sigproxyStrategyRowStatus."nosrv".30' i 4 \
	'sigproxyStrategyAction."nosrv".30' i 1
bad "removing the server of a proxy strategy" inconsistentValue 'sigproxyStrategyServerAddrType."voip".10' i 0 \
	'sigproxyStrategyServerAddr."voip".10' x ""
bad "next-hop and table together" inconsistentValue 'sigproxyPolicyRouteNextHopType."pbr1".5' i 1 \
	'sigproxyPolicyRouteNextHop."pbr1".5' x C0000202
bad "kernel table 254" wrongValue 'sigproxyPolicyRouteTableId."pbr1".5' u 254
bad "createAndGo of an existing row" inconsistentValue 'sigproxyStrategyRowStatus."voip".10' i 4
bad "active on a missing row" inconsistentValue 'sigproxyStrategyRowStatus."ghost".40' i 1
bad "notReady is not settable" wrongValue 'sigproxyStrategyRowStatus."voip".10' i 3
bad "column of a missing row" inconsistentName 'sigproxyStrategyVlan."ghost".40' u 5
bad "read-only object" notWritable 'sigproxyStrategyInstallState."voip".10' i 1
bad "odd media port" wrongValue sigproxyMediaPortLow.0 u 30001
bad "media range upside down" inconsistentValue sigproxyMediaPortLow.0 u 40000
bad "hostname with a bad character" wrongValue sigproxyHostname.0 s "bad_name"
bad "interface name with a slash" noCreation 'sigproxyInterfaceRowStatus."a/b"' i 4
bad "createAndWait on a listen port" wrongValue sigproxyListenPortRowStatus.6000 i 5
bad "default gateway without an address" inconsistentValue sigproxyReturnPath.0 i 2
bad "switchover without redundancy" inconsistentValue sigproxyRedundancySwitchover.0 i 2
bad "multi-varbind SET whose last varbind is bad" wrongValue \
	sigproxySessionLimit.0 u 77 'sigproxyStrategyVlan."voip".10' u 9 'sigproxyStrategyVlan."voip".10' u 5000
bad "multi-varbind SET failing the whole-PDU check" inconsistentValue \
	sigproxySessionLimit.0 u 77 'sigproxyStrategyRowStatus."good".50' i 4 \
	'sigproxyStrategyRowStatus."dup".10' i 4
check_eq "session limit unchanged by the refused PDUs" 500 "$(sget sigproxySessionLimit.0)"

# ---- v2c community is read-only ----
out=$(ip netns exec "$NS" snmpset "${V2[@]}" sigproxySessionLimit.0 u 9 2>&1)
check_match "a v2c write is refused" 'noAccess|authorizationError|notWritable' "$out"
check_eq "... and changes nothing" "$BASE" "$(run)"

# ---- trap on a role change ----
check "role change by SNMP" sset sigproxyRedundancyConfiguredRole.0 i 2
check_match "role standby in running-config" ' role standby' "$(run)"
sp_wait_for "role-change trap" 10 grep -q 'sigproxyRoleChange' "$SP_TMP/traps.log" ||
	grep -q '8072.9999.9999.5060.0.1' "$SP_TMP/traps.log"
check_match "snmptrapd received sigproxyRoleChange" 'sigproxyRoleChange|5060\.0\.1' "$(cat "$SP_TMP/traps.log")"
check_match "... with the new role" 'sigproxyRedundancyRole.0 = INTEGER: standby|5060\.1\.8\.2\.0 = INTEGER: 2' "$(cat "$SP_TMP/traps.log")"
sp_cli d1 -c "configure terminal" -c "redundancy" -c "role active" >/dev/null
sp_wait_for "second trap (CLI change)" 10 sh -c "grep -cE 'sigproxyRoleChange|5060\.0\.1' '$SP_TMP/traps.log' | grep -qx 2"
check_eq "a CLI role change sends a trap too" 2 "$(grep -cE 'sigproxyRoleChange|5060\.0\.1' "$SP_TMP/traps.log")"
check "configured role standby again" sset sigproxyRedundancyConfiguredRole.0 i 2
role_reads() { [ "$(sget sigproxyRedundancyRole.0)" = "$1" ]; }
sp_wait_for "runtime role standby" 5 role_reads standby
check_eq "the role now follows the configured one" standby "$(sget sigproxyRedundancyRole.0)"
check "switchover on a standby without a peer" sset sigproxyRedundancySwitchover.0 i 2
check_eq "... makes it active" active "$(sget sigproxyRedundancyRole.0)"
sp_wait_for "switchover trap" 10 grep -qE 'switchover\(2\)|INTEGER: switchover|5060\.1\.9\.3\.0 = INTEGER: 2' "$SP_TMP/traps.log"
check_match "... and sends sigproxyRoleChange, cause switchover" \
	'sigproxyRoleChangeCause.0 = INTEGER: switchover|5060\.1\.9\.3\.0 = INTEGER: 2' "$(cat "$SP_TMP/traps.log")"
out=$(ip netns exec "$NS" snmpset -Ir "${V3[@]}" 127.0.0.1 sigproxyRedundancySwitchover.0 i 2 2>&1)
check_match "switchover of an active SP without a peer: commitFailed" 'Reason: commitFailed' "$out"
check_eq "... it stays active" active "$(sget sigproxyRedundancyRole.0)"
check_eq "peer state unknown without a peer" unknown "$(sget sigproxyRedundancyPeerState.0)"

# ---- the state-sync key: written like the CLI's, never read back ----
check "authentication key by SNMP" sset sigproxyRedundancyAuthKey.0 s "s3cret-Key9"
check_match "... shows in running-config, obfuscated" ' authentication key 7 [0-9A-F]+$' "$(run)"
check_no_match "... never in clear" 's3cret-Key9' "$(run)"
check_match "an SNMP SET is in the audit log, the key hidden" \
	'audit: snmp SET via snmpd \(AgentX, default context\): [a-z.0-9]*\.5060\.1\.8\.18\.0 = <hidden>' "$(cat "$SP_TMP/d1/log")"
check_no_match "... the key never in the log" 's3cret-Key9' "$(cat "$SP_TMP/d1/log")"
KEYLINE=$(run | grep ' authentication key ')
check_eq "... and reads back empty" '""' "$(sget sigproxyRedundancyAuthKey.0)"
BASE=$(run) # what the refused SETs below must leave as it is
bad "a key too short" wrongLength sigproxyRedundancyAuthKey.0 s "short"
bad "a key with a space" wrongValue sigproxyRedundancyAuthKey.0 s "has a space"
check_eq "... the refused keys changed nothing" "$KEYLINE" "$(run | grep ' authentication key ')"
sp_cli d1 -c "configure terminal" -c "redundancy" -c "authentication key Other-key-77" >/dev/null
out=$(run | grep ' authentication key ')
check_match "a CLI key change shows in running-config, obfuscated" ' authentication key 7 [0-9A-F]+$' "$out"
check_no_match "... another key than SNMP's, never in clear" "Other-key-77|^$KEYLINE\$" "$out"
sp_cli d1 -c "configure terminal" -c "redundancy" -c "authentication key s3cret-Key9" >/dev/null
check_eq "the same key typed in the CLI reads as SNMP's did (one obfuscated form)" "$KEYLINE" \
	"$(run | grep ' authentication key ')"
sp_cli d1 -c "configure terminal" -c "redundancy" -c "authentication key 7 ${KEYLINE##* }" >/dev/null
check_eq "the obfuscated form typed back is the same key" "$KEYLINE" "$(run | grep ' authentication key ')"
check "removing the key by SNMP (zero length)" sset sigproxyRedundancyAuthKey.0 s ""
check_no_match "... no key in running-config" 'authentication key' "$(run)"

# ---- snmpd restart ----
kill -TERM "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
start_snmpd || sp_fail "snmpd restarts"
if sp_wait_for "subagent back after an snmpd restart" 15 answers; then
	sp_pass "the subagent answers again after an snmpd restart"
else
	sp_fail "the subagent answers again after an snmpd restart"; tail -5 "$SP_TMP/d1/log"
fi
check_eq "... with the current configuration" edge7 "$(sget sigproxyHostname.0)"
check "... and accepts SETs" sset sigproxySessionLimit.0 u 600
check_match "... that reach running-config" ' session-limit 600' "$(run)"

check "daemon stops cleanly" sp_daemon_stop "$SP_DAEMON_PID"
sp_done
