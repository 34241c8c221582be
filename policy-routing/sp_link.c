#include "config.h"
#include "sp_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sp_log.h"

struct sp_link_parse {
	const struct nlattr *ifname, *linkinfo, *master;
};

static int sp_link_attr_cb(const struct nlattr *attr, void *data)
{
	struct sp_link_parse *p = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		p->ifname = attr;
		break;
	case IFLA_LINKINFO:
		p->linkinfo = attr;
		break;
	case IFLA_MASTER:
		p->master = attr;
		break;
	}
	return MNL_CB_OK;
}

/* The kind-specific data of IFLA_LINKINFO: a VLAN's id, a VRF's table. */
static int sp_link_parse_info(const struct nlattr *linkinfo, struct sp_link_info *out)
{
	const struct nlattr *kind = NULL, *data = NULL, *a;
	const char *k;

	if (mnl_attr_validate(linkinfo, MNL_TYPE_NESTED) < 0)
		return -1;
	mnl_attr_for_each_nested(a, linkinfo) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
			kind = a;
		else if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
			data = a;
	}
	if (!kind)
		return 0;
	if (mnl_attr_validate(kind, MNL_TYPE_NUL_STRING) < 0)
		return -1;
	k = mnl_attr_get_str(kind);
	if (!data || (strcmp(k, "vlan") != 0 && strcmp(k, "vrf") != 0))
		return 0; /* a VLAN without its id is no use, nor a VRF without its table */
	if (mnl_attr_validate(data, MNL_TYPE_NESTED) < 0)
		return -1;
	mnl_attr_for_each_nested(a, data) {
		if (k[1] == 'l' && mnl_attr_get_type(a) == IFLA_VLAN_ID) {
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -1;
			out->vlan_id = mnl_attr_get_u16(a);
		} else if (k[1] == 'r' && mnl_attr_get_type(a) == IFLA_VRF_TABLE) {
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -1;
			out->is_vrf = true;
			out->vrf_table = mnl_attr_get_u32(a);
		}
	}
	return 0;
}

int sp_link_parse(const struct nlmsghdr *nlh, struct sp_link_info *out)
{
	struct sp_link_parse p = { 0 };
	const struct ifinfomsg *ifi;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return -1;
	if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), sp_link_attr_cb, &p) != MNL_CB_OK)
		return -1;
	if (!p.ifname || mnl_attr_validate(p.ifname, MNL_TYPE_NUL_STRING) < 0)
		return -1;
	if (p.master && mnl_attr_validate(p.master, MNL_TYPE_U32) < 0)
		return -1;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	snprintf(out->ifname, sizeof(out->ifname), "%s", mnl_attr_get_str(p.ifname));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->master = p.master ? (int)mnl_attr_get_u32(p.master) : 0;
	if (p.linkinfo && sp_link_parse_info(p.linkinfo, out) < 0)
		return -1;
	return 1;
}

int sp_link_parse_vlan(const struct nlmsghdr *nlh, struct sp_link_vlan *out)
{
	struct sp_link_info li;
	struct sp_link_parse p = { 0 };

	if (nlh->nlmsg_type != RTM_NEWLINK || sp_link_parse(nlh, &li) < 0) {
		/* a link without a name was never a usable VLAN device */
		if (nlh->nlmsg_type == RTM_NEWLINK &&
		    nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)) &&
		    mnl_attr_parse(nlh, sizeof(struct ifinfomsg), sp_link_attr_cb, &p) == MNL_CB_OK &&
		    !p.ifname)
			return 0;
		return -1;
	}
	if (!li.vlan_id)
		return 0;
	memset(out, 0, sizeof(*out));
	memcpy(out->ifname, li.ifname, sizeof(out->ifname));
	out->vlan_id = li.vlan_id;
	return 1;
}

size_t sp_link_vrf_members(const struct sp_link_info *links, size_t n, struct sp_link_vrf *out,
			   size_t max)
{
	size_t m = 0;

	for (size_t i = 0; i < n && m < max; i++) {
		const struct sp_link_info *vrf = NULL;

		if (links[i].is_vrf)
			vrf = &links[i];
		for (size_t k = 0; !vrf && links[i].master && k < n; k++)
			if (links[k].ifindex == links[i].master && links[k].is_vrf)
				vrf = &links[k];
		if (!vrf)
			continue;
		memcpy(out[m].ifname, links[i].ifname, IFNAMSIZ);
		memcpy(out[m].vrf, vrf->ifname, IFNAMSIZ);
		out[m++].table = vrf->vrf_table;
	}
	return m;
}

/* ---- AF_MPLS routes ---- */

struct sp_mpls_parse {
	const struct nlattr *dst, *oif, *via, *newdst, *multipath;
};

static int sp_mpls_attr_cb(const struct nlattr *attr, void *data)
{
	struct sp_mpls_parse *p = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		p->dst = attr;
		break;
	case RTA_OIF:
		p->oif = attr;
		break;
	case RTA_VIA:
		p->via = attr;
		break;
	case RTA_NEWDST:
		p->newdst = attr;
		break;
	case RTA_MULTIPATH:
		p->multipath = attr;
		break;
	}
	return MNL_CB_OK;
}

/* A label stack entry (network order): label in the top 20 bits. */
static int sp_mpls_label(const struct nlattr *a, uint32_t *label)
{
	uint32_t lse;

	if (mnl_attr_get_payload_len(a) < sizeof(lse) || mnl_attr_get_payload_len(a) % sizeof(lse))
		return -1;
	memcpy(&lse, mnl_attr_get_payload(a), sizeof(lse));
	*label = ntohl(lse) >> 12;
	return 0;
}

static int sp_mpls_via(const struct nlattr *a, struct sp_link_mpls_route *out)
{
	const struct rtvia *v = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a);

	if (len < sizeof(*v))
		return -1;
	out->has_via = true;
	len -= sizeof(*v);
	if (v->rtvia_family == AF_INET && len >= 4)
		inet_ntop(AF_INET, v->rtvia_addr, out->via, sizeof(out->via));
	else if (v->rtvia_family == AF_INET6 && len >= 16)
		inet_ntop(AF_INET6, v->rtvia_addr, out->via, sizeof(out->via));
	else
		snprintf(out->via, sizeof(out->via), "family %u", v->rtvia_family);
	return 0;
}

int sp_link_parse_mpls_route(const struct nlmsghdr *nlh, struct sp_link_mpls_route *out)
{
	struct sp_mpls_parse p = { 0 };
	const struct rtmsg *rtm;

	if ((nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return -1;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_MPLS)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct rtmsg), sp_mpls_attr_cb, &p) != MNL_CB_OK || !p.dst)
		return -1;
	memset(out, 0, sizeof(*out));
	if (sp_mpls_label(p.dst, &out->label) < 0)
		return -1;
	if (p.oif) {
		if (mnl_attr_validate(p.oif, MNL_TYPE_U32) < 0)
			return -1;
		out->oif = (int)mnl_attr_get_u32(p.oif);
	}
	if (p.via && sp_mpls_via(p.via, out) < 0)
		return -1;
	if (p.newdst) {
		if (sp_mpls_label(p.newdst, &out->out_label) < 0)
			return -1;
		out->swap = true;
	}
	if (p.multipath) {
		/* the first hop stands for the route: enough to say where it goes */
		const struct rtnexthop *nh = mnl_attr_get_payload(p.multipath);
		size_t len = mnl_attr_get_payload_len(p.multipath);
		const struct nlattr *a;

		if (len < sizeof(*nh) || nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > len)
			return -1;
		out->oif = nh->rtnh_ifindex;
		for (a = (const struct nlattr *)((const char *)nh + RTNH_ALIGN(sizeof(*nh)));
		     mnl_attr_ok(a, (int)((const char *)nh + nh->rtnh_len - (const char *)a));
		     a = mnl_attr_next(a)) {
			if (mnl_attr_get_type(a) == RTA_VIA && sp_mpls_via(a, out) < 0)
				return -1;
			if (mnl_attr_get_type(a) == RTA_NEWDST) {
				if (sp_mpls_label(a, &out->out_label) < 0)
					return -1;
				out->swap = true;
			}
		}
	}
	return 1;
}

bool sp_link_mpls_local(const struct sp_link_mpls_route *r)
{
	return !r->has_via && !r->swap && r->oif;
}

void sp_link_mpls_describe(const struct sp_link_mpls_route *r, char *buf, size_t len)
{
	char dev[IFNAMSIZ + 16];

	if (r->dev[0])
		snprintf(dev, sizeof(dev), "dev %s", r->dev);
	else
		snprintf(dev, sizeof(dev), "ifindex %d", r->oif);
	snprintf(buf, len, "label %u routed by the kernel to %s%s%s%s", r->label, dev,
		 r->has_via ? " via " : "", r->has_via ? r->via : "",
		 r->swap ? ", swapped" : sp_link_mpls_local(r) ? ", popped to IP" : "");
	if (r->swap) {
		size_t at = strlen(buf);
		snprintf(buf + at, len - at, " to %u", r->out_label);
	}
}

/* One dump request (RTM_GETLINK or RTM_GETROUTE) and its answers through cb. */
static int sp_link_dump(uint16_t type, uint8_t family, size_t hdrlen, mnl_cb_t cb, void *data,
			struct sp_error *err)
{
	char buf[32768]; /* a dump batch is larger than a page */
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	uint8_t *fam;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int rc;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		sp_error_set(err, "rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	fam = mnl_nlmsg_put_extra_header(nlh, hdrlen); /* ifi_family, rtm_family: first byte */
	*fam = family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		sp_error_set(err, "rtnetlink: %s", strerror(errno));
		mnl_socket_close(nl);
		return -1;
	}
	do {
		ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (r < 0) {
			rc = -1;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)r, seq, portid, cb, data);
	} while (rc > 0);
	if (rc < 0)
		sp_error_set(err, "%s dump: %s", type == RTM_GETLINK ? "link" : "route",
			 strerror(errno));
	mnl_socket_close(nl);
	return rc < 0 ? -1 : 0;
}

static int sp_link_grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *g;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	g = realloc(*v, c * size);
	if (!g)
		return -1;
	*v = g;
	*cap = c;
	return 0;
}

struct sp_link_state_dump {
	struct sp_link_state *s;
	size_t cap_links, cap_mpls;
};

static int sp_link_state_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_link_state_dump *d = data;
	struct sp_link_info li;

	if (sp_link_parse(nlh, &li) < 0)
		return MNL_CB_OK; /* one odd link does not hide the others */
	if (sp_link_grow((void **)&d->s->links, &d->cap_links, d->s->n_links, sizeof(li)) < 0)
		return MNL_CB_ERROR;
	d->s->links[d->s->n_links++] = li;
	return MNL_CB_OK;
}

static int sp_link_state_mpls_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_link_state_dump *d = data;
	struct sp_link_mpls_route r;

	/* without AF_MPLS, the kernel answers with every family's routes */
	if (sp_link_parse_mpls_route(nlh, &r) <= 0)
		return MNL_CB_OK;
	if (sp_link_grow((void **)&d->s->mpls, &d->cap_mpls, d->s->n_mpls, sizeof(r)) < 0)
		return MNL_CB_ERROR;
	d->s->mpls[d->s->n_mpls++] = r;
	return MNL_CB_OK;
}

int sp_link_state_read(struct sp_link_state *s, struct sp_error *err)
{
	struct sp_link_state_dump d = { .s = s };

	memset(s, 0, sizeof(*s));
	if (sp_link_dump(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), sp_link_state_link_cb, &d,
			 err) < 0) {
		sp_link_state_free(s);
		return -1;
	}
	/* the sysctl directory exists exactly when the kernel routes MPLS */
	s->mpls_supported = access("/proc/sys/net/mpls/platform_labels", F_OK) == 0;
	if (s->mpls_supported &&
	    sp_link_dump(RTM_GETROUTE, AF_MPLS, sizeof(struct rtmsg), sp_link_state_mpls_cb, &d, err) < 0) {
		/* the links are still good: only the label routes are unknown */
		sp_warn("MPLS label routes: %s", err ? err->msg : "");
		free(s->mpls);
		s->mpls = NULL;
		s->n_mpls = 0;
	}
	for (size_t i = 0; i < s->n_mpls; i++)
		for (size_t k = 0; k < s->n_links; k++)
			if (s->links[k].ifindex == s->mpls[i].oif)
				memcpy(s->mpls[i].dev, s->links[k].ifname, IFNAMSIZ);
	return 0;
}

void sp_link_state_free(struct sp_link_state *s)
{
	free(s->links);
	free(s->mpls);
	memset(s, 0, sizeof(*s));
}

struct sp_link_vlan *sp_link_state_vlans(const struct sp_link_state *s, size_t *n)
{
	struct sp_link_vlan *v = NULL;

	*n = 0;
	for (size_t i = 0; i < s->n_links; i++) {
		if (!s->links[i].vlan_id)
			continue;
		if (!v && !(v = calloc(s->n_links, sizeof(*v))))
			return NULL;
		memcpy(v[*n].ifname, s->links[i].ifname, IFNAMSIZ);
		v[(*n)++].vlan_id = s->links[i].vlan_id;
	}
	return v;
}

int sp_link_vlans(struct sp_link_vlan **out, size_t *n, struct sp_error *err)
{
	struct sp_link_state s;

	*out = NULL;
	*n = 0;
	if (sp_link_state_read(&s, err) < 0)
		return -1;
	*out = sp_link_state_vlans(&s, n);
	sp_link_state_free(&s);
	return 0;
}
