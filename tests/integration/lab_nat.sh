# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the tests
# A terminal behind a NAT, for the lab (lab.sh): source it after lab.sh and
# call lab_nat_up after lab_up.
#
#   nat-priv                  nat (masquerade)                      sp
#   192.168.77.10/24 eth0 ---- lan 192.168.77.1/24
#                              wan 10.3.0.2/24 ----------------- nat0 10.3.0.1/24
#
# The terminal in nat-priv has a private address it puts into its SDP and
# Contact; the SP sees its packets from 10.3.0.2 (LAB_NAT_PUBLIC). With a
# port range, the NAT also maps every source port into it (as a carrier-
# grade or port-restricted NAT does), so the SDP's port is wrong too.

LAB_NAT_PRIV=192.168.77.10
LAB_NAT_PUBLIC=10.3.0.2
LAB_NAT_NET=10.3.0.0/24
LAB_SP_NAT_IF=nat0

# lab_nat_up [PORT-RANGE]: the two namespaces (NATNS, PRIV), their links
# and the masquerade (source ports mapped into PORT-RANGE, e.g. 30000-30999,
# when given; kept when free otherwise)
lab_nat_up() {
	local range=${1:-}
	sp_netns nat >/dev/null && sp_netns priv >/dev/null || return 1
	NATNS=$SP_TAG-nat PRIV=$SP_TAG-priv
	ip link add wan netns "$NATNS" type veth peer name "$LAB_SP_NAT_IF" netns "$SP" &&
	ip link add eth0 netns "$PRIV" type veth peer name lan netns "$NATNS" || return 1
	ip -n "$SP" addr add 10.3.0.1/24 dev "$LAB_SP_NAT_IF" &&
	ip -n "$SP" link set "$LAB_SP_NAT_IF" up &&
	ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$LAB_SP_NAT_IF.rp_filter=0" || return 1
	ip -n "$NATNS" addr add "$LAB_NAT_PUBLIC/24" dev wan &&
	ip -n "$NATNS" addr add 192.168.77.1/24 dev lan &&
	ip -n "$NATNS" link set wan up && ip -n "$NATNS" link set lan up &&
	ip -n "$NATNS" route add default via 10.3.0.1 &&
	ip netns exec "$NATNS" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$PRIV" addr add "$LAB_NAT_PRIV/24" dev eth0 &&
	ip -n "$PRIV" link set eth0 up &&
	ip -n "$PRIV" route add default via 192.168.77.1 || return 1
	ip netns exec "$NATNS" nft -f - <<NFT || return 1
table ip lab_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr 192.168.77.0/24 meta l4proto { tcp, udp } masquerade${range:+ to :$range}
		oifname "wan" ip saddr 192.168.77.0/24 masquerade
	}
}
NFT
}

# The same NAT in IPv6 (NAT66, lab_nat6_up after lab_nat_up and lab6_up):
#
#   nat-priv                  nat (ip6 nat masquerade)              sp
#   fd00:77::10/64 eth0 ----- lan fd00:77::1/64
#                             wan 2001:db8:4::2/64 -------------- nat0 2001:db8:4::1/64
#
# The terminal puts its unique local address in its SDP and Contact; the SP
# sees it as 2001:db8:4::2 (LAB_NAT6_PUBLIC).
LAB_NAT6_PRIV=fd00:77::10
LAB_NAT6_PUBLIC=2001:db8:4::2
LAB_NAT6_NET=2001:db8:4::/64

# lab_nat6_up [PORT-RANGE]: IPv6 on the NAT's links and its masquerade
# (source ports mapped into PORT-RANGE when given)
lab_nat6_up() {
	local range=${1:-} ns
	for ns in "$NATNS" "$PRIV"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 || return 1
	done
	ip -n "$SP" -6 addr add 2001:db8:4::1/64 dev "$LAB_SP_NAT_IF" nodad &&
	ip -n "$NATNS" -6 addr add "$LAB_NAT6_PUBLIC/64" dev wan nodad &&
	ip -n "$NATNS" -6 addr add fd00:77::1/64 dev lan nodad &&
	ip -n "$NATNS" -6 route add default via 2001:db8:4::1 dev wan &&
	ip netns exec "$NATNS" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	ip -n "$PRIV" -6 addr add "$LAB_NAT6_PRIV/64" dev eth0 nodad &&
	ip -n "$PRIV" -6 route add default via fd00:77::1 dev eth0 || return 1
	ip netns exec "$NATNS" nft -f - <<NFT || return 1
table ip6 lab_nat6 {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip6 saddr fd00:77::/64 meta l4proto { tcp, udp } masquerade${range:+ to :$range}
		oifname "wan" ip6 saddr fd00:77::/64 masquerade
	}
}
NFT
}
