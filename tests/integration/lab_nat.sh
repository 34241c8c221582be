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
