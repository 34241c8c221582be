/* rtnetlink link messages -> VLAN ids, fed with messages built here. */
#include "config.h"
#include "sp_link.h"

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <string.h>

static struct nlmsghdr *link_msg(char *buf, const char *name, const char *kind, int vlan_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct nlattr *info, *data;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 7;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (kind) {
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		if (vlan_id >= 0) {
			data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
			mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)vlan_id);
			mnl_attr_nest_end(nlh, data);
		}
		mnl_attr_nest_end(nlh, info);
	}
	return nlh;
}

Test(link, vlan_device)
{
	char buf[1024];
	struct sp_link_vlan v;

	cr_assert_eq(sp_link_parse_vlan(link_msg(buf, "eth0.42", "vlan", 42), &v), 1);
	cr_assert_str_eq(v.ifname, "eth0.42");
	cr_assert_eq(v.vlan_id, 42);
}

Test(link, other_links_are_not_vlans)
{
	char buf[1024];
	struct sp_link_vlan v;

	cr_assert_eq(sp_link_parse_vlan(link_msg(buf, "veth0", "veth", -1), &v), 0);
	cr_assert_eq(sp_link_parse_vlan(link_msg(buf, "eth0", NULL, -1), &v), 0);
	cr_assert_eq(sp_link_parse_vlan(link_msg(buf, "eth0.9", "vlan", -1), &v), 0, "no VLAN id: not usable");
}

Test(link, malformed_messages)
{
	char buf[1024];
	struct sp_link_vlan v;
	struct nlmsghdr *nlh = link_msg(buf, "eth0.42", "vlan", 42);

	nlh->nlmsg_type = RTM_DELLINK;
	cr_assert_eq(sp_link_parse_vlan(nlh, &v), -1);
	nlh = link_msg(buf, "eth0.42", "vlan", 42);
	nlh->nlmsg_len = NLMSG_LENGTH(2); /* shorter than its ifinfomsg */
	cr_assert_eq(sp_link_parse_vlan(nlh, &v), -1);
}

Test(link, dump_of_this_namespace_finds_no_vlan_on_this_kernel_or_real_ones)
{
	struct sp_link_vlan *v = NULL;
	size_t n = 99;
	struct sp_error err = { "" };

	/* the dump itself works unprivileged; every entry it returns is a VLAN */
	cr_assert_eq(sp_link_vlans(&v, &n, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < n; i++)
		cr_assert(v[i].vlan_id >= 1 && v[i].vlan_id <= 4094);
	free(v);
}

/* ---- VRFs ---- */

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include "sp_linkwatch.h"
#include "sp_vpn.h"

/* A link with an index, an optional master and kind data: kind "vrf" takes
 * table as IFLA_VRF_TABLE, kind "vlan" takes it as IFLA_VLAN_ID. */
static struct nlmsghdr *link_full(char *buf, uint16_t type, int index, const char *name,
				  const char *kind, uint32_t value, int master, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (kind) {
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO), *data;

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		if (strcmp(kind, "vrf") == 0)
			mnl_attr_put_u32(nlh, IFLA_VRF_TABLE, value);
		else if (strcmp(kind, "vlan") == 0)
			mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)value);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, info);
	}
	return nlh;
}

Test(link, parse_vlan_device_in_general_form)
{
	char buf[1024];
	struct sp_link_info li;

	cr_assert_eq(sp_link_parse(link_full(buf, RTM_NEWLINK, 9, "eth0.42", "vlan", 42, 0, IFF_UP), &li), 1);
	cr_assert_str_eq(li.ifname, "eth0.42");
	cr_assert_eq(li.ifindex, 9);
	cr_assert_eq(li.vlan_id, 42);
	cr_assert_not(li.is_vrf);
	cr_assert(li.flags & IFF_UP);
}

Test(link, vrf_device_and_its_table)
{
	char buf[1024];
	struct sp_link_info li;

	cr_assert_eq(sp_link_parse(link_full(buf, RTM_NEWLINK, 5, "vrf-red", "vrf", 1010, 0, 0), &li), 1);
	cr_assert(li.is_vrf);
	cr_assert_eq(li.vrf_table, 1010);
	cr_assert_eq(li.vlan_id, 0);
	cr_assert_eq(li.master, 0);
}

Test(link, vrf_slave_has_its_master)
{
	char buf[1024];
	struct sp_link_info li;

	cr_assert_eq(sp_link_parse(link_full(buf, RTM_NEWLINK, 6, "eth1", "veth", 0, 5, 0), &li), 1);
	cr_assert_eq(li.master, 5);
	cr_assert_not(li.is_vrf);
	/* a VLAN device may itself be a VRF slave */
	cr_assert_eq(sp_link_parse(link_full(buf, RTM_NEWLINK, 7, "eth0.7", "vlan", 7, 5, 0), &li), 1);
	cr_assert_eq(li.master, 5);
	cr_assert_eq(li.vlan_id, 7);
	/* a DELLINK parses the same way */
	cr_assert_eq(sp_link_parse(link_full(buf, RTM_DELLINK, 6, "eth1", NULL, 0, 0, 0), &li), 1);
	cr_assert_eq(li.ifindex, 6);
}

Test(link, vrf_members)
{
	const struct sp_link_info links[] = {
		{ .ifname = "lo", .ifindex = 1 },
		{ .ifname = "vrf-red", .ifindex = 5, .is_vrf = true, .vrf_table = 1010 },
		{ .ifname = "eth1", .ifindex = 6, .master = 5 },
		{ .ifname = "eth2", .ifindex = 8, .master = 9 }, /* a bridge port: no VRF */
		{ .ifname = "br0", .ifindex = 9 },
		{ .ifname = "vrf-blue", .ifindex = 10, .is_vrf = true, .vrf_table = 1020 },
		{ .ifname = "eth3", .ifindex = 11, .master = 10 },
	};
	struct sp_link_vrf m[8];
	size_t n = sp_link_vrf_members(links, sizeof(links) / sizeof(links[0]), m, 8);

	cr_assert_eq(n, 4);
	cr_assert_str_eq(m[0].ifname, "vrf-red");
	cr_assert_str_eq(m[0].vrf, "vrf-red");
	cr_assert_str_eq(m[1].ifname, "eth1");
	cr_assert_str_eq(m[1].vrf, "vrf-red");
	cr_assert_eq(m[1].table, 1010);
	cr_assert_str_eq(m[3].ifname, "eth3");
	cr_assert_eq(m[3].table, 1020);
	cr_assert_eq(sp_link_vrf_members(links, 7, m, 1), 1, "at most max");
}

Test(link, vrf_to_vpn_ids_configured_first)
{
	const struct sp_link_vrf vrfs[] = {
		{ "vrf-red", "vrf-red", 1010 }, { "eth1", "vrf-red", 1010 },
		{ "vrf-blue", "vrf-blue", 1020 }, { "eth3", "vrf-blue", 1020 },
		{ "eth4", "vrf-blue", 1020 },
		{ "vrf-big", "vrf-big", 70000 }, { "eth5", "vrf-big", 70000 },
	};
	/* configured: vrf-blue's interface block says vpn-id 20, eth4 has its own */
	struct sp_vpn_if ifs[16] = { { "vrf-blue", 20 }, { "eth4", 40 }, { "va", 10 } };
	char warn[160];
	size_t n = sp_vpn_add_vrfs(ifs, 3, 16, vrfs, 7, warn, sizeof(warn));

	cr_assert_eq(n, 6, "3 configured + vrf-red, eth1 (table id), eth3 (vrf-blue's vpn-id)");
	cr_assert_str_eq(ifs[3].ifname, "vrf-red");
	cr_assert_eq(ifs[3].vpn_id, 1010, "no vpn-id configured: the table id");
	cr_assert_str_eq(ifs[4].ifname, "eth1");
	cr_assert_eq(ifs[4].vpn_id, 1010);
	cr_assert_str_eq(ifs[5].ifname, "eth3");
	cr_assert_eq(ifs[5].vpn_id, 20, "the VRF device's configured vpn-id wins");
	cr_assert_eq(ifs[1].vpn_id, 40, "a member's own vpn-id stays");
	cr_assert(strstr(warn, "vrf-big") != NULL, "a table that is no zone: %s", warn);
}

/* ---- AF_MPLS routes ---- */

static uint32_t lse(uint32_t label)
{
	return htonl(label << 12 | 1 << 8); /* bottom of stack */
}

static struct nlmsghdr *mpls_route(char *buf, uint16_t type, uint32_t label, int oif,
				   const char *via4, int newlabel)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint32_t l = lse(label);

	nlh->nlmsg_type = type;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_MPLS;
	rtm->rtm_dst_len = 20;
	mnl_attr_put(nlh, RTA_DST, sizeof(l), &l);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (via4) {
		char v[sizeof(struct rtvia) + 4];
		struct rtvia *rv = (struct rtvia *)v;

		rv->rtvia_family = AF_INET;
		inet_pton(AF_INET, via4, rv->rtvia_addr);
		mnl_attr_put(nlh, RTA_VIA, sizeof(v), v);
	}
	if (newlabel >= 0) {
		uint32_t nl = lse((uint32_t)newlabel);
		mnl_attr_put(nlh, RTA_NEWDST, sizeof(nl), &nl);
	}
	return nlh;
}

Test(mpls, pop_to_a_local_device)
{
	char buf[1024], said[128];
	struct sp_link_mpls_route r;

	cr_assert_eq(sp_link_parse_mpls_route(mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1), &r), 1);
	cr_assert_eq(r.label, 1001);
	cr_assert_eq(r.oif, 1);
	cr_assert_not(r.has_via);
	cr_assert_not(r.swap);
	cr_assert(sp_link_mpls_local(&r));
	snprintf(r.dev, sizeof(r.dev), "lo");
	sp_link_mpls_describe(&r, said, sizeof(said));
	cr_assert_str_eq(said, "label 1001 routed by the kernel to dev lo, popped to IP");
}

Test(mpls, forwarded_and_swapped)
{
	char buf[1024], said[128];
	struct sp_link_mpls_route r;

	cr_assert_eq(sp_link_parse_mpls_route(mpls_route(buf, RTM_NEWROUTE, 1002, 4, "10.9.0.2", 2002), &r), 1);
	cr_assert_eq(r.label, 1002);
	cr_assert(r.has_via);
	cr_assert_str_eq(r.via, "10.9.0.2");
	cr_assert(r.swap);
	cr_assert_eq(r.out_label, 2002);
	cr_assert_not(sp_link_mpls_local(&r));
	snprintf(r.dev, sizeof(r.dev), "eth4");
	sp_link_mpls_describe(&r, said, sizeof(said));
	cr_assert_str_eq(said, "label 1002 routed by the kernel to dev eth4 via 10.9.0.2, swapped to 2002");
	/* popped and forwarded as IP to a next hop: not local either */
	cr_assert_eq(sp_link_parse_mpls_route(mpls_route(buf, RTM_DELROUTE, 1003, 4, "10.9.0.2", -1), &r), 1);
	cr_assert_not(sp_link_mpls_local(&r));
}

Test(mpls, multipath_first_hop)
{
	char buf[1024];
	struct sp_link_mpls_route r;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct nlattr *mp;
	struct rtnexthop *nh;
	uint32_t l = lse(1004);
	char v[sizeof(struct rtvia) + 4];
	struct rtvia *rv = (struct rtvia *)v;

	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_MPLS;
	mnl_attr_put(nlh, RTA_DST, sizeof(l), &l);
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	nh = (struct rtnexthop *)((char *)nlh + nlh->nlmsg_len);
	memset(nh, 0, sizeof(*nh));
	nh->rtnh_ifindex = 12;
	nlh->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
	rv->rtvia_family = AF_INET;
	inet_pton(AF_INET, "10.9.1.2", rv->rtvia_addr);
	mnl_attr_put(nlh, RTA_VIA, sizeof(v), v);
	nh->rtnh_len = (unsigned short)((char *)nlh + nlh->nlmsg_len - (char *)nh);
	mnl_attr_nest_end(nlh, mp);
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), 1);
	cr_assert_eq(r.oif, 12);
	cr_assert_str_eq(r.via, "10.9.1.2");
}

Test(mpls, other_families_and_malformed)
{
	char buf[1024];
	struct sp_link_mpls_route r;
	struct nlmsghdr *nlh = mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	rtm->rtm_family = AF_INET; /* a kernel without MPLS dumps every family */
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), 0);
	nlh = mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1);
	nlh->nlmsg_type = RTM_NEWLINK;
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), -1, "not a route");
	nlh = mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1);
	nlh->nlmsg_len = NLMSG_LENGTH(4);
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), -1, "shorter than its rtmsg");
	/* no RTA_DST */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_MPLS;
	mnl_attr_put_u32(nlh, RTA_OIF, 1);
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), -1, "no label");
	/* a label of 2 bytes */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_MPLS;
	mnl_attr_put_u16(nlh, RTA_DST, 7);
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), -1, "a short label stack entry");
	/* an attribute running past the message */
	nlh = mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1);
	((struct nlattr *)((char *)nlh + NLMSG_LENGTH(sizeof(*rtm))))->nla_len = 200;
	cr_assert_eq(sp_link_parse_mpls_route(nlh, &r), -1, "attribute past the end");
}

Test(link, malformed_links_refused)
{
	char buf[1024];
	struct sp_link_info li;
	struct nlmsghdr *nlh;

	nlh = link_full(buf, RTM_NEWLINK, 5, "vrf-red", "vrf", 10, 0, 0);
	nlh->nlmsg_type = RTM_NEWROUTE;
	cr_assert_eq(sp_link_parse(nlh, &li), -1, "not a link message");
	nlh = link_full(buf, RTM_NEWLINK, 5, NULL, "vrf", 10, 0, 0);
	cr_assert_eq(sp_link_parse(nlh, &li), -1, "no name");
	/* IFLA_MASTER of 2 bytes */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth1");
	mnl_attr_put_u16(nlh, IFLA_MASTER, 5);
	cr_assert_eq(sp_link_parse(nlh, &li), -1, "a short master");
	/* IFLA_VRF_TABLE of 2 bytes */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "vrf-x");
	{
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO), *data;

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vrf");
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u16(nlh, IFLA_VRF_TABLE, 10);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, info);
	}
	cr_assert_eq(sp_link_parse(nlh, &li), -1, "a short VRF table");
	/* a name that is not NUL-terminated */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth1");
	cr_assert_eq(sp_link_parse(nlh, &li), -1, "an unterminated name");
}

/* ---- the change filter ---- */

static struct sp_linkwatch *seeded(void)
{
	const struct sp_link_info links[] = {
		{ .ifname = "lo", .ifindex = 1, .flags = IFF_UP },
		{ .ifname = "eth0", .ifindex = 2, .flags = IFF_UP },
		{ .ifname = "vrf-red", .ifindex = 5, .is_vrf = true, .vrf_table = 1010, .flags = IFF_UP },
		{ .ifname = "eth1", .ifindex = 6, .master = 5, .flags = IFF_UP },
		{ .ifname = "eth0.42", .ifindex = 7, .vlan_id = 42, .flags = IFF_UP },
		{ .ifname = "eth9", .ifindex = 9, .flags = IFF_UP },
	};
	static const char *const names[] = { "va", "eth0" };
	struct sp_linkwatch *w = sp_linkwatch_new();

	cr_assert_not_null(w);
	cr_assert_eq(sp_linkwatch_seed(w, links, 6, names, 2), 0);
	return w;
}

Test(change_filter, new_vlan_device_and_vrf_slave)
{
	char buf[1024];
	struct sp_linkwatch *w = seeded();

	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 20, "eth0.100", "vlan", 100, 0, 0)),
		  "a VLAN sub-interface appears");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 21, "eth5", "veth", 0, 5, 0)),
		  "a link created inside a VRF");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 22, "vrf-blue", "vrf", 1020, 0, 0)),
		  "a VRF device appears");
	cr_assert_not(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 23, "veth7", "veth", 0, 0, 0)),
		      "an unrelated link appears");
	cr_assert_eq(sp_linkwatch_changes(w), 3);
	sp_linkwatch_free(w);
}

Test(change_filter, enslaved_released_and_removed)
{
	char buf[1024];
	struct sp_linkwatch *w = seeded();

	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 9, "eth9", NULL, 0, 5, IFF_UP)),
		  "eth9 enslaved to vrf-red");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 6, "eth1", NULL, 0, 0, IFF_UP)),
		  "eth1 released from vrf-red");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_DELLINK, 7, "eth0.42", "vlan", 42, 0, 0)),
		  "a VLAN device removed");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_DELLINK, 5, "vrf-red", "vrf", 1010, 0, 0)),
		  "a VRF device removed");
	cr_assert_not(sp_linkwatch_feed(w, link_full(buf, RTM_DELLINK, 6, "eth1", NULL, 0, 0, 0)),
		      "eth1, no longer in a VRF, removed");
	sp_linkwatch_free(w);
}

Test(change_filter, configured_names_appear_and_renames)
{
	char buf[1024];
	struct sp_linkwatch *w = seeded();

	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 30, "va", "veth", 0, 0, 0)),
		  "a configured interface appears");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 30, "va", "veth", 0, 0, IFF_UP)),
		  "... and comes up (its routes with it)");
	cr_assert_not(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 30, "va", "veth", 0, 0, IFF_UP)),
		      "the same again (carrier, counters, XDP): nothing classification reads");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 9, "va2", NULL, 0, 0, IFF_UP)) == false,
		  "an unrelated rename");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 30, "vx", "veth", 0, 0, IFF_UP)),
		  "a configured interface renamed away");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 9, "va", NULL, 0, 0, IFF_UP)),
		  "another link renamed to a configured name");
	cr_assert_not(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 2, "eth0", NULL, 0, 0, IFF_UP)),
		      "a configured interface, unchanged");
	cr_assert(sp_linkwatch_feed(w, link_full(buf, RTM_NEWLINK, 2, "eth0", NULL, 0, 0, 0)),
		  "... going down");
	sp_linkwatch_free(w);
}

Test(change_filter, mpls_routes_and_junk)
{
	char buf[1024];
	struct sp_linkwatch *w = seeded();
	struct nlmsghdr *nlh;

	cr_assert(sp_linkwatch_feed(w, mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1)));
	cr_assert(sp_linkwatch_feed(w, mpls_route(buf, RTM_DELROUTE, 1001, 1, NULL, -1)));
	nlh = mpls_route(buf, RTM_NEWROUTE, 1001, 1, NULL, -1);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = AF_INET;
	cr_assert_not(sp_linkwatch_feed(w, nlh), "an IPv4 route");
	nlh = link_full(buf, RTM_NEWLINK, 40, "eth0.5", "vlan", 5, 0, 0);
	nlh->nlmsg_len = NLMSG_LENGTH(3);
	cr_assert_not(sp_linkwatch_feed(w, nlh), "a truncated message is ignored");
	nlh->nlmsg_type = NLMSG_DONE;
	cr_assert_not(sp_linkwatch_feed(w, nlh));
	cr_assert_eq(sp_linkwatch_changes(w), 2);
	sp_linkwatch_free(w);
}

Test(link, state_of_this_namespace)
{
	struct sp_link_state s;
	struct sp_error err = { "" };
	bool lo = false;

	cr_assert_eq(sp_link_state_read(&s, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < s.n_links; i++)
		lo |= strcmp(s.links[i].ifname, "lo") == 0 && s.links[i].ifindex == 1;
	cr_assert(lo, "the dump lists lo");
	if (!s.mpls_supported)
		cr_assert_eq(s.n_mpls, 0, "no MPLS in this kernel: no label routes, not other families'");
	sp_link_state_free(&s);
}
