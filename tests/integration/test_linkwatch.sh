#!/bin/bash
# Link changes followed without a commit (issue 10 item 2): sigproxyd
# subscribes to rtnetlink's link notifications and re-applies its
# classification when an interface it cares about appears, is renamed,
# comes up or goes (VLAN sub-interfaces, VRF devices and slaves, configured
# interfaces). This kernel has no 802.1Q, VRF or MPLS routing: those parts
# are skipped with the reason (their parsing is unit-tested, tests/unit/
# test_link.c); what runs here is a configured `interface vb` / `vpn-id 20`
# whose link does not exist when the daemon starts. It is created as "vtmp",
# renamed to vb and brought up: VPN 20's return table must then route
# through vb with no configuration commit in between, and calls from tb and
# ta (the same address, VPN 10) are answered. An unrelated link change must
# not re-apply; removing vb re-applies again.
#
#   ta 10.1.0.10 eth0 ---- va 10.1.0.1/24 (vpn-id 10)          srv1 D1
#   tb 10.1.0.10 eth0 ---- vb 10.1.0.1/24 (vpn-id 20, late)  sp   srv2 D2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools sipp nft
E=$LAB_E C=$LAB_C D1=$LAB_D1 D2=$LAB_D2 A=10.1.0.10
mkdir -p "$LAB_OUT"

# ---- what this kernel has: 802.1Q, VRF, MPLS ----
sp_netns probe >/dev/null || { sp_fail "probe namespace"; sp_done; exit 1; }
PROBE=$SP_TAG-probe
ip -n "$PROBE" link add p0 type veth peer name p1
if why=$(ip -n "$PROBE" link add vrf-probe type vrf table 1010 2>&1); then HAVE_VRF=1; else
	HAVE_VRF=0; echo "# SKIP: VRF membership from rtnetlink: this kernel has no VRF (ip link add type vrf: $why)"; fi
if why=$(ip -n "$PROBE" link add link p0 name p0.42 type vlan id 42 2>&1); then HAVE_VLAN=1; else
	HAVE_VLAN=0; echo "# SKIP: VLAN sub-interfaces from rtnetlink: this kernel has no 802.1Q (ip link add type vlan: $why)"; fi
if [ -e /proc/sys/net/mpls/platform_labels ]; then HAVE_MPLS=1; else
	HAVE_MPLS=0; echo "# SKIP: MPLS label routes from rtnetlink: this kernel has no MPLS routing (no /proc/sys/net/mpls)"; fi
if [ -r /proc/config.gz ]; then
	zcat /proc/config.gz | grep -E '^(# )?CONFIG_(VLAN_8021Q|NET_VRF|MPLS_ROUTING)[ =]' | sed 's/^/#   kernel: /'
fi

# ---- the namespaces; vb is not there yet ----
for ns in ta tb sp srv1 srv2; do sp_netns "$ns" >/dev/null || { sp_fail "namespaces"; sp_done; exit 1; }; done
TA=$SP_TAG-ta TB=$SP_TAG-tb SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
lab_net() {
	local ns a
	ip link add eth0 netns "$TA" type veth peer name va netns "$SP" &&
	ip link add eth0 netns "$SRV1" type veth peer name srv1 netns "$SP" &&
	ip link add eth0 netns "$SRV2" type veth peer name srv2 netns "$SP" || return 1
	ip -n "$SP" addr add 10.1.0.1/24 dev va &&
	ip -n "$SP" addr add 192.0.2.1/28 dev srv1 &&
	ip -n "$SP" addr add 192.0.2.17/28 dev srv2 || return 1
	for a in va srv1 srv2; do ip -n "$SP" link set "$a" up; done
	ip netns exec "$SP" sysctl -qw net.ipv4.ip_forward=1 || return 1
	for a in all default va srv1 srv2; do
		ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$a.rp_filter=0" || return 1
	done
	ip -n "$TA" addr add "$A/24" dev eth0 && ip -n "$TA" link set eth0 up &&
	ip -n "$TA" route add default via 10.1.0.1 &&
	ip -n "$SRV1" addr add "$D1/28" dev eth0 && ip -n "$SRV1" link set eth0 up &&
	ip -n "$SRV1" route add default via 192.0.2.1 &&
	ip -n "$SRV2" addr add "$D2/28" dev eth0 && ip -n "$SRV2" link set eth0 up &&
	ip -n "$SRV2" route add default via 192.0.2.17
}
lab_net || { sp_fail "links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
out=$(sp_cli sp1 -c "configure terminal" \
	-c "interface va" -c "vpn-id 10" -c "signaling-proxy terminal-side" \
	-c "interface vb" -c "vpn-id 20" -c "signaling-proxy terminal-side" \
	-c "signaling-proxy" -c "server-side-address $C" \
	-c "proxy-strategy vpn10 seq 10" -c "match vpn-id 10" -c "match destination $E/32 port 5060" \
	-c "server $D1" -c "action proxy" \
	-c "proxy-strategy vpn20 seq 20" -c "match vpn-id 20" -c "match destination $E/32 port 5060" \
	-c "server $D2" -c "action proxy" -c "end" 2>&1)
check_eq "two VPNs configured, vb not there yet: accepted" "" "$out"
LOG=$SP_TMP/sp1/log
reapplied() { grep -c "links changed: re-applying" "$LOG"; }
vpn20_routes() { ip -n "$SP" route show table 5062002 2>/dev/null; }
check_match "VPN 10's table routes through va" "10\\.1\\.0\\.0/24 dev va" "$(ip -n "$SP" route show table 5062001)"
check_eq "VPN 20's table is empty: vb does not exist" "" "$(vpn20_routes)"

# ---- an unrelated link: no re-apply ----
ip link add x0 netns "$SP" type veth peer name x1 netns "$SP" && ip -n "$SP" link set x0 up
sleep 1 # longer than the daemon's settling time (300 ms): nothing may come
check_eq "an unrelated link created and brought up: no re-apply" 0 "$(reapplied)"

# ---- vb arrives under another name, is renamed, comes up ----
ip link add eth0 netns "$TB" type veth peer name vtmp netns "$SP" &&
ip -n "$TB" addr add "$A/24" dev eth0 && ip -n "$TB" link set eth0 up &&
ip -n "$TB" route add default via 10.1.0.1 &&
ip -n "$SP" link set vtmp name vb &&
ip -n "$SP" addr add 10.1.0.1/24 dev vb &&
ip netns exec "$SP" sysctl -qw net.ipv4.conf.vb.rp_filter=0 &&
ip -n "$SP" link set vb up || sp_fail "vb created"
has_vb_route() { vpn20_routes | grep -q "10.1.0.0/24 dev vb"; }
check "VPN 20's table catches up with vb, no commit (renamed from vtmp, brought up)" \
	sp_wait_for "VPN 20 route" 10 has_vb_route
check_match "the daemon says why it re-applied" "links changed: re-applying" "$(cat "$LOG")"
check_no_match "... and the re-apply succeeded" "re-applying after a link change" "$(cat "$LOG")"
check_match "show proxy-strategy vpn20: installed" "installed" "$(sp_cli sp1 -c 'show proxy-strategy vpn20')"

# ---- a call through vb: answered through VPN 20's own table ----
lab_sipp_bg "$SRV2" uas-d2 -sn uas -i "$D2" -p 5060 -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS on D2" 10 lab_bound "$SRV2" "$D2" 5060
lab_sipp "$TB" caller-b -sn uac -i "$A" -p 5060 -m 1 -d 200 "$E:5060"; rcb=$?
lab_sipp_wait "$UAS"; rcs=$?
check_eq "tb (10.1.0.10, like ta) calls E through the late vb: the caller and D2 end the call well" "0 0" "$rcb $rcs"
[ "$rcb" = 0 ] || lab_sipp_log caller-b | sed 's/^/#   /'
# ta has the same address (the answers also follow the return path the
# daemon learns from the ingress link: the table checks above are the ones
# that need the link watch; these show the late link carries calls)
lab_sipp_bg "$SRV1" uas-d1 -sn uas -i "$D1" -p 5060 -m 1
UAS=$LAB_SIPP_PID
sp_wait_for "UAS on D1" 10 lab_bound "$SRV1" "$D1" 5060
lab_sipp "$TA" caller-a -sn uac -i "$A" -p 5060 -m 1 -d 200 "$E:5060"; rca=$?
lab_sipp_wait "$UAS"; rcs=$?
check_eq "ta (VPN 10) calls E as well: the caller and D1 end the call well" "0 0" "$rca $rcs"
[ "$rca" = 0 ] || lab_sipp_log caller-a | sed 's/^/#   /'
check_match "show bindings: tb's binding is in VPN 20, to D2" "^[0-9]+ +20 +10\\.1\\.0\\.10:5060 .*${D2//./\\.}:5060" \
	"$(sp_cli sp1 -c 'show bindings')"

# ---- vb goes: re-applied again ----
n=$(reapplied)
ip -n "$SP" link del vb
more_reapplies() { [ "$(reapplied)" -gt "$n" ]; }
check "vb removed: re-applied" sp_wait_for "re-apply after vb went" 10 more_reapplies
check_eq "VPN 20's table is empty again" "" "$(vpn20_routes)"

# ---- a VRF, where the kernel has one (not this machine's) ----
if [ "$HAVE_VRF" = 1 ]; then
	ip -n "$SP" link add vrf-red type vrf table 1010 && ip -n "$SP" link set vrf-red up &&
	ip -n "$SP" link set x0 master vrf-red || sp_fail "VRF vrf-red"
	has_vrf_zone() { ip netns exec "$SP" nft list table inet sigproxy | grep -q 'iifname "x0" .*ct zone set 1010'; }
	check "a VRF slave joins VPN 1010 (the VRF's table), no commit" sp_wait_for "VRF zone" 10 has_vrf_zone
fi
check "sigproxyd still runs" kill -0 "$SP_DAEMON_PID"
sp_daemon_stop "$SP_DAEMON_PID"; rc=$?
check_eq "sigproxyd exits cleanly (sanitizer builds: no report)" 0 "$rc"
check_no_match "no sanitizer report in its log" "Sanitizer|runtime error" "$(cat "$LOG")"
check_eq "its VPN rules are gone" "" "$(ip -n "$SP" rule | grep 5062)"
sp_done
