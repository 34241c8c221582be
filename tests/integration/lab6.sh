# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the tests
# The SIP lab of lab.sh in IPv6 as well (dual stack): the same namespaces
# and links, each also given an IPv6 address. Source it after lib.sh and
# lab.sh.
#
#   te (terminals)                  sp (sigproxyd)               srv1 / srv2
#   2001:db8:1::10-13/64  eth0 ---- te0  2001:db8:1::1/64
#                                   srv1 2001:db8:2::1/64 (C6) ---- eth0 2001:db8:2::10/64 (D1)
#                                   srv2 2001:db8:3::1/64      ---- eth0 2001:db8:3::10/64 (D2)
#
# E6 = 2001:db8:5::1 (the virtual server) exists nowhere.
#
# lab.sh's lab_bound, lab_register, lab_callee_start and lab_send_udp take
# IPv6 addresses as they are (no brackets).

LAB6_E=2001:db8:5::1
LAB6_C=2001:db8:2::1
LAB6_D1=2001:db8:2::10
LAB6_D2=2001:db8:3::10
LAB6_TE_NET=2001:db8:1::
# SIP over IPv6 on the lab's ports (tshark and dumpcap filters)
LAB6_SIP_FILTER="ip6 and (udp port 5060 or udp portrange 40000-49999)"

# lab6_addr NS DEV ADDR/LEN: an IPv6 address without duplicate address
# detection (a tentative address cannot be bound for a second or more)
lab6_addr() {
	ip -n "$1" -6 addr add "$3" dev "$2" nodad
}

# lab6_up: lab_up, then IPv6 on every link of the lab; sets what lab_up sets
lab6_up() {
	lab_up || return 1
	local ns a
	for ns in "$TE" "$SP" "$SRV1" "$SRV2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	for a in 10 11 12 13; do
		lab6_addr "$TE" "$LAB_TE_IF" "${LAB6_TE_NET}$a/64" || return 1
	done
	ip -n "$TE" -6 route add default via 2001:db8:1::1 dev "$LAB_TE_IF" || return 1
	lab6_addr "$SP" "$LAB_SP_TE_IF" 2001:db8:1::1/64 &&
	lab6_addr "$SP" "$LAB_SP_SRV1_IF" "$LAB6_C/64" &&
	lab6_addr "$SP" "$LAB_SP_SRV2_IF" 2001:db8:3::1/64 || return 1
	ip netns exec "$SP" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	lab6_addr "$SRV1" "$LAB_SRV_IF" "$LAB6_D1/64" &&
	ip -n "$SRV1" -6 route add default via "$LAB6_C" dev "$LAB_SRV_IF" &&
	lab6_addr "$SRV2" "$LAB_SRV_IF" "$LAB6_D2/64" &&
	ip -n "$SRV2" -6 route add default via 2001:db8:3::1 dev "$LAB_SRV_IF" || return 1
}

# lab6_start_kamailio NS ADDR NAME [KAMAILIO-ARGS...]: lab_start_kamailio on
# udp:[ADDR]:5060, answering for E6 too
lab6_start_kamailio() {
	local ns=$1 addr=$2 name=$3; shift 3
	lab_start_kamailio "$ns" "[$addr]" "$name" --alias="[$LAB6_E]" "$@"
}
