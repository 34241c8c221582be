# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the callers
# An active-standby pair of SPs in network namespaces, for
# test_redundancy.sh and bench/failover. Source after lib.sh and lab.sh.
#
#   te: alice 10.1.0.10, bob 10.1.0.11,    sw: bridges brt and brs      srv: Kamailio D 192.0.2.10,
#       rtp 10.1.0.12 (default via B)                                        UAS 192.0.2.11 (rtp echo),
#   sp1: te 10.1.0.2  srv 192.0.2.2  ---- brt / brs ----                    caller 192.0.2.12
#   sp2: te 10.1.0.3  srv 192.0.2.3        B = 10.1.0.1, C = 192.0.2.1 (VRRP VIPs), E = 198.51.100.1
#
# keepalived in sp1 and sp2 runs packaging/keepalived/keepalived.conf (this
# lab's names, VRRPv3, 0.5 s adverts) with the built notify and check hooks.
E=$LAB_E
B=10.1.0.1
C=192.0.2.1
D=192.0.2.10
UAS_IP=192.0.2.11
CALLER_IP=192.0.2.12
KEY=sync-key-0123
KA=$SP_TMP/keepalived
mkdir -p "$KA"
declare -A SP_NS=() SP_IP=() SPD_PID_OF=() SPD_AGENTX=() PRIO=([sp1]=100 [sp2]=90)

# ---- the lab ----
topology() {
	local ns n
	for ns in te sw sp1 sp2 srv; do sp_netns "$ns" >/dev/null || return 1; done
	TE=$SP_TAG-te SW=$SP_TAG-sw SRV=$SP_TAG-srv
	SP_NS=([sp1]=$SP_TAG-sp1 [sp2]=$SP_TAG-sp2)
	SP_IP=([sp1]=2 [sp2]=3)
	lab_bridges "$SW" brt brs || return 1
	lab_bridge_port "$SW" "$TE" eth0 brt t0 && lab_bridge_port "$SW" "$SRV" eth0 brs s0 || return 1
	for n in sp1 sp2; do
		lab_bridge_port "$SW" "${SP_NS[$n]}" te brt "t-$n" && lab_bridge_port "$SW" "${SP_NS[$n]}" srv brs "s-$n" || return 1
		ip -n "${SP_NS[$n]}" addr add "10.1.0.${SP_IP[$n]}/24" dev te &&
			ip -n "${SP_NS[$n]}" addr add "192.0.2.${SP_IP[$n]}/24" dev srv || return 1
		ip netns exec "${SP_NS[$n]}" sysctl -qw net.ipv4.ip_forward=1
		for i in all default te srv; do
			ip netns exec "${SP_NS[$n]}" sysctl -qw "net.ipv4.conf.$i.rp_filter=0"
		done
	done
	for a in 10.1.0.10 10.1.0.11 10.1.0.12; do ip -n "$TE" addr add "$a/24" dev eth0 || return 1; done
	ip -n "$TE" route add default via $B || return 1
	for a in $D $UAS_IP $CALLER_IP; do ip -n "$SRV" addr add "$a/24" dev eth0 || return 1; done
}

# keepalived NAME: VRRP for B and C in NAME's namespace, sigproxy's hooks
keepalived_start() {
	local n=$1 dir=$KA/$1
	mkdir -p "$dir"
	cat >"$dir/notify" <<EOF
#!/bin/sh
export SIGPROXY_CLI=$SPCLI; exec sh $SP_BUILD/packaging/keepalived/sigproxy-vrrp-notify -s $SP_TMP/$n/cli.sock "\$@" >>$dir/notify.log 2>&1
EOF
	cat >"$dir/check" <<EOF
#!/bin/sh
export SIGPROXY_CLI=$SPCLI SIGPROXY_VRRP_STATE_DIR=$dir/state; exec sh $SP_BUILD/packaging/keepalived/sigproxy-vrrp-check -s $SP_TMP/$n/cli.sock "\$@"
EOF
	chmod 755 "$dir/notify" "$dir/check"
	# the shipped example with this lab's names, timers and scripts
	sed -e "s|router_id sigproxy-sp1|router_id $n\\n\\tvrrp_version 3|" \
		-e "s|/usr/sbin/sigproxy-vrrp-check|$dir/check|" \
		-e "s|/usr/sbin/sigproxy-vrrp-notify|$dir/notify|" \
		-e '/enable_script_security/d' \
		-e "s|interface eth0|interface te|; s|interface eth1|interface srv|" \
		-e "s|priority 100|priority ${PRIO[$n]}|" \
		-e "s|advert_int 1|advert_int 0.5|" \
		-e "s|10.1.0.1/24|$B/24|; s|10.2.0.1/24|$C/24|" \
		"$SP_TOP/packaging/keepalived/keepalived.conf" >"$dir/keepalived.conf"
	ip netns exec "${SP_NS[$n]}" keepalived -n -l -D -G -P -f "$dir/keepalived.conf" \
		-p "$dir/keepalived.pid" -r "$dir/vrrp.pid" >>"$dir/log" 2>&1 &
	SP_PIDS+=("$!")
}

# node_kill NAME: SIGKILL sigproxyd and keepalived, links down: a dying node
node_kill() {
	local n=$1 p
	local ka=()
	for p in $(ip netns pids "${SP_NS[$n]}"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] && ka+=("$p")
	done
	# stopped first: keepalived's VRRP child would otherwise see its
	# parent die and resign politely (priority 0), as a dead node cannot
	kill -STOP "${ka[@]}" "${SPD_PID_OF[$n]}" 2>/dev/null
	kill -KILL "${ka[@]}" "${SPD_PID_OF[$n]}" 2>/dev/null
	wait "${SPD_PID_OF[$n]}" 2>/dev/null
	ip -n "${SP_NS[$n]}" link set te down
	ip -n "${SP_NS[$n]}" link set srv down
}

# red_takeover_by_sp2: sp1 dies (node_kill) and sp2, told by hand what
# VRRP would tell it, takes B and C and the active role (checked)
red_takeover_by_sp2() {
	node_kill sp1
	red_vips_to sp2 || sp_fail "B and C move to sp2"
	sp_cli sp2 -c "redundancy notify master" >/dev/null
	check "sp2 becomes active" sp_wait_for "sp2 active" 10 role_is sp2 active
}

# keepalived_stop: SIGTERM to every keepalived of the pair, and wait
keepalived_stop() {
	local n p
	for n in sp1 sp2; do
		for p in $(ip netns pids "${SP_NS[$n]}" 2>/dev/null); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] && kill -TERM "$p" 2>/dev/null
		done
	done
	for n in sp1 sp2; do
		sp_wait_for "keepalived gone in $n" 10 sh -c "! ip netns pids '${SP_NS[$n]}' | xargs -r -I{} cat /proc/{}/comm 2>/dev/null | grep -q keepalived"
	done
	return 0
}

# red_vips_to NAME: B and C on NAME only (what VRRP does, for the pairs
# without keepalived), the terminals' and the server's neighbour caches flushed
red_vips_to() {
	local n=$1 o
	for o in sp1 sp2; do
		ip -n "${SP_NS[$o]}" addr del "$B/24" dev te 2>/dev/null
		ip -n "${SP_NS[$o]}" addr del "$C/24" dev srv 2>/dev/null
	done
	ip -n "${SP_NS[$n]}" addr add "$B/24" dev te && ip -n "${SP_NS[$n]}" addr add "$C/24" dev srv ||
		return 1
	ip -n "$TE" neigh flush dev eth0
	ip -n "$SRV" neigh flush dev eth0
	return 0
}

# red_proxy_conf NAME: the pair's proxying (media kernel, server D), no redundancy block
red_proxy_conf() {
	cat <<EOF
hostname $1
signaling-proxy
 server-side-address $C
 media kernel
 media-port-range 20000 20999
proxy-strategy lab seq 10
 match source 10.1.0.0/24
 match destination $E/32 port 5060
 server $D
 action proxy
EOF
}

# red_redundancy NAME ROLE KEY: NAME's redundancy block towards its peer
red_redundancy() {
	local peer=3
	[ "$1" = sp2 ] && peer=2
	cat <<EOF
redundancy
 role $2
 local-address 192.0.2.${SP_IP[$1]} port 7000
 peer-address 192.0.2.$peer port 7000
 authentication key $3
EOF
}

# red_spd_run NAME [ARGS...]: sigproxyd NAME on its written configuration, its pid in SPD_PID_OF
red_spd_run() {
	local n=$1
	shift
	sp_daemon_start "${SP_NS[$n]}" "$n" "$@" || return 1
	SPD_PID_OF[$n]=$SP_DAEMON_PID
}

# red_spd_start NAME [ARGS...]: sigproxyd NAME of a pair without keepalived
# (sp1 active, sp2 standby, key $KEY): the configuration on stdin, then the
# redundancy block
red_spd_start() {
	local n=$1 role=standby
	shift
	[ "$n" = sp1 ] && role=active
	mkdir -p "$SP_TMP/$n"
	{ cat; red_redundancy "$n" "$role" "$KEY"; } >"$SP_TMP/$n/sigproxy.conf"
	red_spd_run "$n" "$@"
}

# spd_start NAME ROLE-KEY: sigproxyd with the pair's configuration
spd_start() {
	local n=$1 key=$2
	mkdir -p "$SP_TMP/$n"
	{ red_proxy_conf "$n"; red_redundancy "$n" standby "$key"; } >"$SP_TMP/$n/sigproxy.conf"
	red_spd_run "$n" --agentx "${SPD_AGENTX[$n]:-none}"
}

red() { sp_cli "$1" -c 'show redundancy'; }
# red_field NAME LABEL: a value of `show redundancy`
red_field() { red "$1" | sed -nE "s/^  $2  +//p" | awk '{ print $1 }'; }
role_is() { [ "$(red_field "$1" Role)" = "$2" ]; }
peer_up() { [ "$(red_field "$1" 'Peer state')" = up ]; }
has_vip() { ip -n "${SP_NS[$1]}" -4 addr show dev te | grep -q " $B/" &&
	ip -n "${SP_NS[$1]}" -4 addr show dev srv | grep -q " $C/"; }
sessions() { sp_cli "$1" -c 'show sessions count' | sed -nE 's/^Sessions: ([0-9]+).*/\1/p'; }
bindings() { sp_cli "$1" -c 'show sessions count' | sed -nE 's/^Bindings: ([0-9]+).*/\1/p'; }
confirmed_at_least() { [ "$(sp_cli "$1" -c 'show sessions' | grep -c confirmed)" -ge "$2" ]; }
sessions_are() { [ "$(sessions "$1")" = "$2" ]; }
bindings_are() { [ "$(bindings "$1")" = "$2" ]; }
entries() { ip netns exec "${SP_NS[$1]}" conntrack -L -p udp --mark 0x53500000/0xffff0000 2>/dev/null | grep -c udp; }
entries_at_least() { [ "$(entries "$1")" -ge "$2" ]; }
no_kernel_state() {
	! ip netns exec "${SP_NS[$1]}" nft list tables | grep -q sigproxy &&
		! ip -n "${SP_NS[$1]}" rule | grep -q 'lookup 5060' && [ "$(entries "$1")" -eq 0 ]
}
auth_failures() { red_field "$1" 'Auth failures'; }
auth_failures_above() { [ "$(auth_failures "$1")" -gt "$2" ]; }
# rtp_counts: "SENT RECEIVED" of the RTP sender so far
rtp_counts() { cat "$SP_TMP/rtp.count" 2>/dev/null || echo "0 0"; }
rtp_received() { rtp_counts | awk '{ print $2 }'; }
rtp_received_above() { [ "$(rtp_received)" -gt "$1" ]; }

