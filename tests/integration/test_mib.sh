#!/bin/sh
# Checks mib/SIGPROXY-MIB.txt with the two MIB parsers that matter to an
# operator: libsmi's smilint (strict SMIv2 rules, level 6: no errors, no
# warnings) and Net-SNMP's snmptranslate (what snmpd, snmpwalk and most
# NMS tool chains load), and pins the OIDs the AgentX subagent serves.
#
# usage: test_mib.sh [MIBDIR]    (default: the mib/ beside this script)
#
# The IETF base modules (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF,
# INET-ADDRESS-MIB) are not in Debian's main archive as MIB files of their
# own (snmp-mibs-downloader is non-free); the erlang-snmp package ships them,
# so that is where they are looked for unless SP_IETF_MIBDIR names a
# directory holding them.
#
# Needs: smitools, snmp, libsnmp-base (NET-SNMP-MIB), erlang-snmp.
# Exit status 0 when every check passed.

here=$(cd "$(dirname "$0")" && pwd)
mibdir=${1:-${SP_MIB_DIR:-$here/../../mib}}
mibdir=$(cd "$mibdir" 2>/dev/null && pwd) || mibdir=${1:-$here/../../mib}
mibfile=$mibdir/SIGPROXY-MIB.txt
netsnmp_mibdir=/usr/share/snmp/mibs

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Whether directory $1 holds every module named after it, under any of the
# file name endings libsmi and Net-SNMP accept.
has_modules() {
	dir=$1
	shift
	for m in "$@"; do
		found=
		for f in "$dir/$m" "$dir/$m.txt" "$dir/$m.mib" "$dir/$m.my"; do
			[ -f "$f" ] && found=1
		done
		[ -n "$found" ] || return 1
	done
}

ietf_mibdir=
for d in ${SP_IETF_MIBDIR:-} /usr/share/snmp/mibs/ietf /usr/share/mibs/ietf \
	/usr/lib/erlang/lib/snmp-*/mibs; do
	if [ -d "$d" ] && has_modules "$d" SNMPv2-SMI SNMPv2-TC SNMPv2-CONF INET-ADDRESS-MIB; then
		ietf_mibdir=$d
		break
	fi
done

if [ -f "$mibfile" ]; then
	ok "MIB file found ($mibfile)"
else
	not_ok "MIB file $mibfile not found"
	finish
fi
for tool in smilint snmptranslate; do
	if command -v "$tool" >/dev/null 2>&1; then
		ok "$tool available"
	else
		not_ok "$tool not installed (apt-get install smitools snmp)"
	fi
done
if has_modules "$netsnmp_mibdir" NET-SNMP-MIB; then
	ok "NET-SNMP-MIB found in $netsnmp_mibdir"
else
	not_ok "NET-SNMP-MIB not in $netsnmp_mibdir (apt-get install libsnmp-base)"
fi
if [ -n "$ietf_mibdir" ]; then
	ok "IETF base modules found in $ietf_mibdir"
else
	not_ok "SNMPv2-SMI/SNMPv2-TC/SNMPv2-CONF/INET-ADDRESS-MIB not found" \
		"(apt-get install erlang-snmp, or set SP_IETF_MIBDIR)"
fi
[ "$failed" -eq 0 ] || finish

# ---- smilint -------------------------------------------------------------
# -c /dev/null: no system or user smi.conf (Debian's hides some warnings);
# the search path is given in full. smilint exits 0 even when it reports
# errors, so its output is what is judged.
lint() {
	SMIPATH="$mibdir:$netsnmp_mibdir:$ietf_mibdir" \
		smilint -c /dev/null -l 6 -s -m "$@" 2>&1
}

out=$(lint "$mibfile")
if [ -z "$out" ]; then
	ok "smilint -l 6 reports nothing"
else
	not_ok "smilint -l 6 reports:"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi

# The lint step must be able to fail: plant an SMIv2 error (a base type not
# imported) and an unused import in a copy and expect both to be reported.
mkdir "$tmp/planted"
sed -e 's/sigproxyStrategyVlan            Unsigned32,/sigproxyStrategyVlan            Integer32,/' \
	-e 's/^    SYNTAX      Unsigned32 (0\.\.4094)$/    SYNTAX      Integer32 (0..4094)/' \
	-e 's/^    TruthValue$/    TruthValue, TestAndIncr/' \
	"$mibfile" >"$tmp/planted/SIGPROXY-MIB.txt"
out=$(lint "$tmp/planted/SIGPROXY-MIB.txt")
if printf '%s\n' "$out" | grep -q "Integer32" &&
	printf '%s\n' "$out" | grep -q "TestAndIncr"; then
	ok "smilint reports errors planted in a copy (the lint step is live)"
else
	not_ok "smilint did not report the planted errors; it said: $out"
fi

# ---- snmptranslate -------------------------------------------------------
# An empty SNMPCONFPATH keeps /etc/snmp/snmp.conf and ~/.snmp out; -M and -m
# name exactly the directories and the module to load.
export SNMPCONFPATH="$tmp"
unset MIBS MIBDIRS
translate() {
	snmptranslate -M "$mibdir:$netsnmp_mibdir:$ietf_mibdir" -m SIGPROXY-MIB "$@"
}

tree=$(translate -Tp SIGPROXY-MIB::sigproxyMIB 2>"$tmp/tree.err")
if [ -s "$tmp/tree.err" ]; then
	not_ok "snmptranslate -Tp complains:"
	sed 's/^/#   /' "$tmp/tree.err"
else
	ok "snmptranslate loads the module without a complaint"
fi
missing=
for node in 'sigproxyMIB(5060)' 'sigproxyNotifications(0)' 'sigproxyObjects(1)' \
	'sigproxyConformance(2)' 'sigproxyConfig(1)' 'sigproxyListenPortTable(14)' \
	'sigproxyStrategyTable(2)' 'sigproxyPolicyRouteTable(3)' \
	'sigproxyInterfaceTable(4)' 'sigproxySessionTable(5)' \
	'sigproxyBindingTable(6)' 'sigproxyStats(7)' 'sigproxyRedundancy(8)' \
	'sigproxyStatus(9)' 'sigproxyCompliance(1)' 'sigproxyNotificationGroup(10)' \
	'-RW- EnumVal   sigproxyRedundancySwitchover(17)' \
	'CR-- EnumVal   sigproxyStrategyRowStatus(24)' \
	'CR-- EnumVal   sigproxyPolicyRouteRowStatus(20)' \
	'-R-- Counter64 sigproxyStrategyHits(21)' \
	'-R-- Gauge     sigproxyStatsCurrentSessions(8)' \
	'---N EnumVal   sigproxyRoleChangeCause(3)' \
	'Index: sigproxyStrategyName, sigproxyStrategySeq' \
	'Index: sigproxyPolicyRouteName, sigproxyPolicyRouteSeq' \
	'Index: sigproxyInterfaceName' 'Index: sigproxySessionId' \
	'Index: sigproxyBindingId'; do
	printf '%s\n' "$tree" | grep -qF -- "$node" || missing="$missing [$node]"
done
if [ -z "$missing" ]; then
	ok "snmptranslate -Tp shows every group, table, index and access"
else
	not_ok "snmptranslate -Tp lacks:$missing"
fi

# The OIDs the subagent registers; a change here breaks deployed managers.
base=.1.3.6.1.4.1.8072.9999.9999.5060
while read -r name oid; do
	[ -n "$name" ] || continue
	got=$(translate -On "SIGPROXY-MIB::$name" 2>&1)
	if [ "$got" = "$oid" ]; then
		ok "$name -> $oid"
	else
		not_ok "$name -> expected $oid, got: $got"
	fi
	got=$(translate "$oid" 2>&1)
	if [ "$got" = "SIGPROXY-MIB::$name" ]; then
		ok "$oid -> $name"
	else
		not_ok "$oid -> expected SIGPROXY-MIB::$name, got: $got"
	fi
done <<EOF
sigproxyMIB $base
sigproxyServerSideAddr.0 $base.1.1.3.0
sigproxySessionLimit.0 $base.1.1.13.0
sigproxyStrategyRowStatus $base.1.2.1.24
sigproxyStrategyAction."voip".10 $base.1.2.1.17.4.118.111.105.112.10
sigproxyPolicyRouteNextHop."pbr1".20 $base.1.3.1.16.4.112.98.114.49.20
sigproxyInterfaceSide."eth0" $base.1.4.1.3.4.101.116.104.48
sigproxyInterfaceInstallState."eth0" $base.1.4.1.5.4.101.116.104.48
sigproxyInterfaceInstallReason."eth0" $base.1.4.1.6.4.101.116.104.48
sigproxySessionCallId.42 $base.1.5.1.15.42
sigproxyBindingExpires.7 $base.1.6.1.12.7
sigproxyStatsReceived.0 $base.1.7.1.0
sigproxyStatsFlowFailed.0 $base.1.7.40.0
sigproxyStatsTcpAcceptWaits.0 $base.1.7.41.0
sigproxyStatsTlsAcceptWaits.0 $base.1.7.42.0
sigproxyRedundancySwitchover.0 $base.1.8.17.0
sigproxyLastKernelError.0 $base.1.9.1.0
sigproxyKernelProgrammingFailure $base.0.5
sigproxyCompliance $base.2.1.1
EOF

# Values the agent must refuse are outside the declared syntax, so any
# manager can tell before it sends them.
check_syntax() {
	name=$1
	want=$2
	desc=$(translate -Td "SIGPROXY-MIB::$name" 2>&1)
	if printf '%s\n' "$desc" | grep -qF -- "$want"; then
		ok "$name declares $want"
	else
		not_ok "$name lacks $want"
	fi
}
check_syntax sigproxyStrategyVlan '(0..4094)'
check_syntax sigproxyStrategyMplsLabel '(0 | 16..1048575)'
check_syntax sigproxyStrategyServerPort 'InetPortNumber'
check_syntax sigproxyStrategySrcAddr '(0 | 4 | 16)'
check_syntax sigproxyStrategySrcPrefixLen '(0..128)'
check_syntax sigproxyInterfaceSide 'none(1), terminalSide(2), serverSide(3)'
check_syntax sigproxyStrategyAction 'proxy(1), forward(2), drop(3)'
check_syntax sigproxyRedundancyPeerState 'unknown(1), connected(2), lost(3)'
check_syntax sigproxySessionState 'early(1), confirmed(2), terminating(3), terminated(4)'
check_syntax sigproxyRedundancyMsgsSent 'Counter64'
check_syntax sigproxyInterfaceInstallState 'installed(1), notInstalled(2)'
check_syntax sigproxyInterfaceInstallReason '(0..255)'

# Index names need a size limit, or an index OID could be unbounded.
for name in sigproxyStrategyName sigproxyPolicyRouteName; do
	check_syntax $name 'SigproxyName'
done
check_syntax sigproxyInterfaceName 'SigproxyIfName'
if grep -q 'SYNTAX       OCTET STRING (SIZE (1..32))' "$mibfile" &&
	grep -q 'SYNTAX       OCTET STRING (SIZE (1..15))' "$mibfile"; then
	ok "name textual conventions are 1..32 and 1..15 octets"
else
	not_ok "SigproxyName/SigproxyIfName size limits changed"
fi

finish
