#!/bin/bash
# Failover with IPv6 bindings (issue 18 item 6): an active-standby pair
# whose state-sync channel runs over IPv6 ([2001:db8:2::2] <-> [::3]) and
# whose terminals, server and addresses are all IPv6. bob registers through
# the active sp1 (an IPv6 binding [bob]:5060 <-> [C6]:c); the standby sp2
# holds it too, synced. sp1 dies (SIGKILL, links down), B6 and C6 move to
# sp2 by hand (what keepalived does in test_redundancy.sh) and sp2 is told
# `redundancy notify master`; then a call from the server side reaches bob
# through sp2 without bob registering again, and alice's refresh keeps her C6:c.
# SP_SIGNALING_SOCKETS=shared (test_failover6_shared_workers.sh): the same
# with shared server-side sockets.
#
#   te: alice 2001:db8:1::10, bob ::11 (default via B6 = 2001:db8:1::1)
#   sp1: te 2001:db8:1::2, srv 2001:db8:2::2 ---- bridges brt / brs ---- srv: Kamailio D6 2001:db8:2::10,
#   sp2: te 2001:db8:1::3, srv 2001:db8:2::3                                   caller 2001:db8:2::12
#   B6 = 2001:db8:1::1 and C6 = 2001:db8:2::1 on the active; E6 = 2001:db8:5::1 nowhere
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab6.sh"
sp_require_root
sp_require_tools sipp kamailio kamcmd python3 nft

E6=2001:db8:5::1
B6=2001:db8:1::1
C6=2001:db8:2::1
D6=2001:db8:2::10
CALLER6=2001:db8:2::12
KEY=sync-key-0123
declare -A NS=() IPX=([sp1]=2 [sp2]=3) PID_OF=()

topology6() {
	local ns n
	for ns in te sw sp1 sp2 srv; do sp_netns "$ns" >/dev/null || return 1; done
	TE=$SP_TAG-te SW=$SP_TAG-sw SRV=$SP_TAG-srv
	NS=([sp1]=$SP_TAG-sp1 [sp2]=$SP_TAG-sp2)
	for ns in "$TE" "$SW" "${NS[sp1]}" "${NS[sp2]}" "$SRV"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	lab_bridges "$SW" brt brs || return 1
	lab_bridge_port "$SW" "$TE" eth0 brt t0 && lab_bridge_port "$SW" "$SRV" eth0 brs s0 || return 1
	for n in sp1 sp2; do
		lab_bridge_port "$SW" "${NS[$n]}" te brt "t-$n" && lab_bridge_port "$SW" "${NS[$n]}" srv brs "s-$n" || return 1
		lab6_addr "${NS[$n]}" te "2001:db8:1::${IPX[$n]}/64" &&
			lab6_addr "${NS[$n]}" srv "2001:db8:2::${IPX[$n]}/64" || return 1
		ip netns exec "${NS[$n]}" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	done
	for a in 10 11; do lab6_addr "$TE" eth0 "2001:db8:1::$a/64" || return 1; done
	ip -n "$TE" -6 route add default via "$B6" dev eth0 || return 1
	for a in "$D6" "$CALLER6"; do lab6_addr "$SRV" eth0 "$a/64" || return 1; done
}

# vips_to NAME: B6 and C6 on NAME (what VRRP would do), the terminals' and
# the server's neighbour caches told (flushed)
vips_to() {
	local n=$1 o=sp1
	[ "$n" = sp1 ] && o=sp2
	ip -n "${NS[$o]}" -6 addr del "$B6/64" dev te 2>/dev/null
	ip -n "${NS[$o]}" -6 addr del "$C6/64" dev srv 2>/dev/null
	lab6_addr "${NS[$n]}" te "$B6/64" && lab6_addr "${NS[$n]}" srv "$C6/64" || return 1
	ip -n "$TE" -6 neigh flush dev eth0
	ip -n "$SRV" -6 neigh flush dev eth0
	return 0
}

spd6_start() {
	local n=$1 peer=3 role=standby
	[ "$n" = sp2 ] && peer=2
	[ "$n" = sp1 ] && role=active
	mkdir -p "$SP_TMP/$n"
	cat >"$SP_TMP/$n/sigproxy.conf" <<EOF
hostname $n
signaling-proxy
 server-side-address $C6
${SP_SIGNALING_SOCKETS:+ signaling-sockets $SP_SIGNALING_SOCKETS}
 media off
proxy-strategy lab6 seq 10
 match source 2001:db8:1::/64
 match destination $E6/128 port 5060
 server $D6
 action proxy
redundancy
 role $role
 local-address 2001:db8:2::${IPX[$n]} port 7000
 peer-address 2001:db8:2::$peer port 7000
 authentication key $KEY
EOF
	sp_daemon_start "${NS[$n]}" "$n" --cli-listen none --agentx /nonexistent || return 1
	PID_OF[$n]=$SP_DAEMON_PID
}

red_field() { sp_cli "$1" -c 'show redundancy' | sed -nE "s/^  $2  +//p" | awk '{ print $1 }'; }
role_is() { [ "$(red_field "$1" Role)" = "$2" ]; }
peer_up() { [ "$(red_field "$1" 'Peer state')" = up ]; }
bindings() { sp_cli "$1" -c 'show sessions count' | sed -nE 's/^Bindings: ([0-9]+).*/\1/p'; }
bindings_are() { [ "$(bindings "$1")" = "$2" ]; }
intercepting() { ip netns exec "${NS[$1]}" nft list ruleset 2>/dev/null | grep -q 'tproxy ip6'; }
cport() { sp_cli "$1" -c 'show bindings' | grep -F "[$2]:5060" | grep -oE "\[$C6\]:[0-9]+" | head -1; }

topology6 || { sp_fail "namespaces, bridges and links"; sp_done; exit 1; }
sp_pass "namespaces, bridges and links"
vips_to sp1 || sp_fail "B6 and C6 on sp1"
lab6_start_kamailio "$SRV" "$D6" srv || { sp_fail "kamailio starts"; sp_done; exit 1; }
for n in sp1 sp2; do
	spd6_start "$n" || { sp_fail "sigproxyd $n starts"; cat "$SP_TMP/$n/log"; sp_done; exit 1; }
done
check "the sync channel comes up over IPv6" sp_wait_for "peer up" 15 peer_up sp2
check_match "show redundancy: the IPv6 peer" "Peer address +2001:db8:2::2 port 7000" \
	"$(sp_cli sp2 -c 'show redundancy')"
check "sp1 is active and intercepts IPv6" sp_wait_for "sp1 intercepting" 10 intercepting sp1
check "sp2 stays standby, nothing in the kernel" sh -c "! ip netns exec '${NS[sp2]}' nft list tables | grep -q sigproxy"

# ---- registrations through the active ----
check "alice registers at E6 through sp1" lab_register "$TE" 2001:db8:1::10 5060 alice "$E6"
check "bob registers at E6 through sp1" lab_register "$TE" 2001:db8:1::11 5060 bob "$E6"
check "sp2 holds both IPv6 bindings (synced)" sp_wait_for "2 bindings on sp2" 10 bindings_are sp2 2
PA=$(cport sp1 2001:db8:1::10)
check_match "sp1 has alice at [C6]:c (${PA:-none})" "^\[$C6\]:4[0-9]{4}\$" "$PA"
check_eq "sp2 has alice at the same [C6]:c as sp1" "$PA" "$(cport sp2 2001:db8:1::10)"
lab_sipp_bg "$TE" bob-after -sf "$LAB_SIPP_DIR/uas.xml" -i 2001:db8:1::11 -p 5060 -s bob -m 1 "[$E6]:5060"
BOB=$LAB_SIPP_PID
sp_wait_for "bob listens" 10 lab_bound "$TE" 2001:db8:1::11 5060

# ---- sp1 dies; sp2 takes the addresses and the active role ----
kill -STOP "${PID_OF[sp1]}" 2>/dev/null
kill -KILL "${PID_OF[sp1]}" 2>/dev/null
wait "${PID_OF[sp1]}" 2>/dev/null
ip -n "${NS[sp1]}" link set te down
ip -n "${NS[sp1]}" link set srv down
vips_to sp2 || sp_fail "B6 and C6 move to sp2"
sp_cli sp2 -c "redundancy notify master" >/dev/null
check "sp2 becomes active" sp_wait_for "sp2 active" 10 role_is sp2 active
check "... and intercepts IPv6" sp_wait_for "sp2 intercepting" 10 intercepting sp2

# a call from the server side to bob, whom D knows only as [C6]:c
lab_sipp "$SRV" from-server -sf "$LAB_SIPP_DIR/uac.xml" -i "$CALLER6" -p 5070 -s bob -m 1 -d 200 "[$D6]:5060"
rc=$?
lab_sipp_wait "$BOB"
check_eq "after the failover, a call reaches bob without him registering again" "0 0" "$rc $?"
[ "$rc" = 0 ] || lab_sipp_log from-server | sed 's/^/#   /'
check "alice refreshes her registration through sp2" lab_register "$TE" 2001:db8:1::10 5060 alice "$E6"
check_eq "... keeping her [C6]:c" "$PA" "$(cport sp2 2001:db8:1::10)"

lab_down
sp_daemon_stop "${PID_OF[sp2]}"
check_eq "sp2: clean exit" 0 $?
sp_done
