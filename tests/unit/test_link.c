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
	char err[128];

	/* the dump itself works unprivileged; every entry it returns is a VLAN */
	cr_assert_eq(sp_link_vlans(&v, &n, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < n; i++)
		cr_assert(v[i].vlan_id >= 1 && v[i].vlan_id <= 4094);
	free(v);
}
