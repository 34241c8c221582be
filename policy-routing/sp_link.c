#include "config.h"
#include "sp_link.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sp_link_parse {
	const struct nlattr *ifname, *linkinfo;
};

static int sp_link_attr_cb(const struct nlattr *attr, void *data)
{
	struct sp_link_parse *p = data;

	if (mnl_attr_get_type(attr) == IFLA_IFNAME)
		p->ifname = attr;
	else if (mnl_attr_get_type(attr) == IFLA_LINKINFO)
		p->linkinfo = attr;
	return MNL_CB_OK;
}

int sp_link_parse_vlan(const struct nlmsghdr *nlh, struct sp_link_vlan *out)
{
	struct sp_link_parse p = { 0 };
	const struct nlattr *kind = NULL, *data = NULL, *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return -1;
	if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), sp_link_attr_cb, &p) != MNL_CB_OK)
		return -1;
	if (!p.ifname || !p.linkinfo)
		return 0;
	mnl_attr_for_each_nested(a, p.linkinfo) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
			kind = a;
		else if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
			data = a;
	}
	if (!kind || mnl_attr_validate(kind, MNL_TYPE_NUL_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(kind), "vlan") != 0 || !data)
		return 0;
	mnl_attr_for_each_nested(a, data) {
		if (mnl_attr_get_type(a) != IFLA_VLAN_ID)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0 ||
		    mnl_attr_validate(p.ifname, MNL_TYPE_NUL_STRING) < 0)
			return -1;
		memset(out, 0, sizeof(*out));
		snprintf(out->ifname, sizeof(out->ifname), "%s", mnl_attr_get_str(p.ifname));
		out->vlan_id = mnl_attr_get_u16(a);
		return 1;
	}
	return 0;
}

struct sp_link_dump {
	struct sp_link_vlan *v;
	size_t n, cap;
	int bad;
};

static int sp_link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_link_dump *d = data;
	struct sp_link_vlan v;
	int rc = sp_link_parse_vlan(nlh, &v);

	if (rc < 0) {
		d->bad++;
		return MNL_CB_OK;
	}
	if (rc == 0)
		return MNL_CB_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct sp_link_vlan *g = realloc(d->v, cap * sizeof(*g));
		if (!g)
			return MNL_CB_ERROR;
		d->v = g;
		d->cap = cap;
	}
	d->v[d->n++] = v;
	return MNL_CB_OK;
}

int sp_link_vlans(struct sp_link_vlan **out, size_t *n, char *err, size_t errlen)
{
	char buf[32768]; /* a dump batch is larger than a page */
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct sp_link_dump d = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int rc;

	*out = NULL;
	*n = 0;
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		mnl_socket_close(nl);
		return -1;
	}
	do {
		ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (r < 0) {
			rc = -1;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)r, seq, portid, sp_link_dump_cb, &d);
	} while (rc > 0);
	mnl_socket_close(nl);
	if (rc < 0) {
		snprintf(err, errlen, "link dump: %s", strerror(errno));
		free(d.v);
		return -1;
	}
	*out = d.v;
	*n = d.n;
	return 0;
}
