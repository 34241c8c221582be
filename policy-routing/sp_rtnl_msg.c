/* rtnetlink rules and routes as messages and as text, without a socket:
 * comparison, the `ip rule`/`ip route`-like descriptions, and the encoding
 * and decoding of RTM_*RULE and RTM_*ROUTE messages (pure, unit-tested
 * without root). */
#include "config.h"
#include "sp_rtnl.h"
#include "sp_rtnl_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* The loopback device has this index in every network namespace
 * (LOOPBACK_IFINDEX in the kernel), so encoding a local route needs no lookup. */
#define SP_RTNL_LO_IFINDEX 1

void sp_rt_prefix_format(const struct sp_rt_prefix *prefix, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!prefix->addr.family) {
		snprintf(buf, len, "any");
		return;
	}
	inet_ntop(prefix->addr.family, &prefix->addr.v6, addr, sizeof(addr));
	if (prefix->len == sp_rt_max_len(prefix->addr.family))
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, "%s/%u", addr, prefix->len);
}

int sp_rt_prefix_parse(const char *text, struct sp_rt_prefix *prefix)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	struct sp_rt_prefix p;
	unsigned long plen;
	char *end;

	memset(&p, 0, sizeof(p));
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &p.addr.v4) == 1)
		p.addr.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &p.addr.v6) == 1)
		p.addr.family = AF_INET6;
	else
		goto bad;
	plen = sp_rt_max_len(p.addr.family);
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || plen > sp_rt_max_len(p.addr.family))
			goto bad;
	}
	p.len = (uint8_t)plen;
	/* Host bits set usually mean a typo in the prefix length: refuse, as the
	 * kernel refuses such a route. */
	{
		const uint8_t *bytes = (const uint8_t *)&p.addr.v6;
		size_t n = sp_rt_addr_len(p.addr.family);

		for (size_t i = 0; i < n; i++) {
			unsigned keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
			uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

			if (bytes[i] & ~mask)
				goto bad;
		}
	}
	*prefix = p;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static bool sp_rt_addr_equal(const struct sp_rt_addr *a, const struct sp_rt_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(&a->v6, &b->v6, sp_rt_addr_len(a->family)) == 0;
}

static bool sp_rt_prefix_equal(const struct sp_rt_prefix *a, const struct sp_rt_prefix *b)
{
	if (!a->addr.family && !b->addr.family)
		return true;
	return a->len == b->len && sp_rt_addr_equal(&a->addr, &b->addr);
}

static bool sp_rt_ports_equal(const struct sp_rt_port_range *a, const struct sp_rt_port_range *b)
{
	return a->start == b->start && a->end == b->end;
}

static uint32_t sp_rule_fwmask(const struct sp_rule *r)
{
	if (!r->fwmark && !r->fwmask)
		return 0;
	return r->fwmask ? r->fwmask : 0xffffffffu;
}

bool sp_rtnl_rule_equal(const struct sp_rule *a, const struct sp_rule *b)
{
	return a->family == b->family && a->priority == b->priority &&
	       sp_rt_prefix_equal(&a->src, &b->src) && sp_rt_prefix_equal(&a->dst, &b->dst) &&
	       strncmp(a->iifname, b->iifname, IFNAMSIZ) == 0 &&
	       a->fwmark == b->fwmark && sp_rule_fwmask(a) == sp_rule_fwmask(b) &&
	       a->ip_proto == b->ip_proto && sp_rt_ports_equal(&a->sport, &b->sport) &&
	       sp_rt_ports_equal(&a->dport, &b->dport) && a->table == b->table;
}

bool sp_rtnl_route_equal(const struct sp_route *a, const struct sp_route *b)
{
	return a->family == b->family && a->kind == b->kind && a->table == b->table &&
	       a->dst.len == b->dst.len &&
	       (a->dst.len == 0 || sp_rt_addr_equal(&a->dst.addr, &b->dst.addr)) &&
	       sp_rt_addr_equal(&a->gateway, &b->gateway) && a->oif == b->oif &&
	       a->metric == b->metric;
}

static const char *sp_ip_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_UDP: return "udp";
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_SCTP: return "sctp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

/* Appends to buf at *pos without ever overrunning; truncation is silent (the
 * text is for people and logs). */
static void sp_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void sp_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n < len - *pos ? (size_t)n : len - *pos - 1;
}

static void sp_append_ports(char *buf, size_t len, size_t *pos, const char *what,
			    const struct sp_rt_port_range *range)
{
	if (!range->start && !range->end)
		return;
	if (range->start == range->end)
		sp_append(buf, len, pos, " %s %u", what, range->start);
	else
		sp_append(buf, len, pos, " %s %u-%u", what, range->start, range->end);
}

void sp_rtnl_rule_format(const struct sp_rule *r, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN + 8];
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = '\0';
	sp_append(buf, len, &pos, "%spref %u", r->family == AF_INET6 ? "-6 " : "", r->priority);
	if (r->src.addr.family) {
		sp_rt_prefix_format(&r->src, text, sizeof(text));
		sp_append(buf, len, &pos, " from %s", text);
	}
	if (r->dst.addr.family) {
		sp_rt_prefix_format(&r->dst, text, sizeof(text));
		sp_append(buf, len, &pos, " to %s", text);
	}
	if (r->iifname[0])
		sp_append(buf, len, &pos, " iif %.*s", IFNAMSIZ, r->iifname);
	if (sp_rule_fwmask(r))
		sp_append(buf, len, &pos, " fwmark 0x%x/0x%x", r->fwmark, sp_rule_fwmask(r));
	if (r->ip_proto)
		sp_append(buf, len, &pos, " ipproto %s",
			  sp_ip_proto_name(r->ip_proto, text, sizeof(text)));
	sp_append_ports(buf, len, &pos, "sport", &r->sport);
	sp_append_ports(buf, len, &pos, "dport", &r->dport);
	sp_append(buf, len, &pos, " lookup %u", r->table);
}

void sp_rtnl_route_format(const struct sp_route *rt, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN + 8];
	char ifname[IFNAMSIZ];
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (rt->family == AF_INET6)
		sp_append(buf, len, &pos, "-6 ");
	if (rt->kind == SP_ROUTE_LOCAL)
		sp_append(buf, len, &pos, "local ");
	if (rt->dst.len == 0) {
		sp_append(buf, len, &pos, "default");
	} else {
		sp_rt_prefix_format(&rt->dst, text, sizeof(text));
		sp_append(buf, len, &pos, "%s", text);
	}
	if (rt->gateway.family) {
		inet_ntop(rt->gateway.family, &rt->gateway.v6, text, sizeof(text));
		sp_append(buf, len, &pos, " via %s", text);
	}
	if (rt->oif)
		sp_append(buf, len, &pos, " dev %s",
			  if_indextoname(rt->oif, ifname) ? ifname : "?");
	else if (rt->kind == SP_ROUTE_LOCAL)
		sp_append(buf, len, &pos, " dev lo");
	if (rt->metric)
		sp_append(buf, len, &pos, " metric %u", rt->metric);
	sp_append(buf, len, &pos, " table %u", rt->table);
}

/* ---- encoding ------------------------------------------------------------- */

static bool sp_rt_prefix_valid(const struct sp_rt_prefix *p, int family)
{
	return !p->addr.family || (p->addr.family == family && p->len <= sp_rt_max_len(family));
}

/* The kernel refuses a range ending at 65535 ("Invalid sport range",
 * fib_rule_port_range_valid()); say so before sending it. */
static bool sp_rt_ports_valid(const struct sp_rt_port_range *r)
{
	return (!r->start && !r->end) || (r->start && r->start <= r->end && r->end < 0xffff);
}

int sp_rtnl_rule_encode(void *buf, size_t buflen, uint16_t type, uint16_t flags,
			const struct sp_rule *r)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	if ((r->family != AF_INET && r->family != AF_INET6) || !r->priority || !r->table ||
	    !sp_rt_prefix_valid(&r->src, r->family) || !sp_rt_prefix_valid(&r->dst, r->family) ||
	    !sp_rt_ports_valid(&r->sport) || !sp_rt_ports_valid(&r->dport) ||
	    strnlen(r->iifname, IFNAMSIZ) == IFNAMSIZ || buflen < SP_RTNL_SEND_LEN) {
		errno = EINVAL;
		return -1;
	}
	memset(buf, 0, SP_RTNL_SEND_LEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)r->family;
	frh->action = FR_ACT_TO_TBL;
	/* The header's table field is 8 bits; FRA_TABLE carries the real one. */
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->src.addr.family) {
		frh->src_len = r->src.len;
		mnl_attr_put(nlh, FRA_SRC, sp_rt_addr_len(r->family), &r->src.addr.v6);
	}
	if (r->dst.addr.family) {
		frh->dst_len = r->dst.len;
		mnl_attr_put(nlh, FRA_DST, sp_rt_addr_len(r->family), &r->dst.addr.v6);
	}
	if (r->iifname[0]) {
		char name[IFNAMSIZ];

		snprintf(name, sizeof(name), "%.*s", IFNAMSIZ - 1, r->iifname);
		mnl_attr_put_strz(nlh, FRA_IIFNAME, name);
	}
	if (sp_rule_fwmask(r)) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, sp_rule_fwmask(r));
	}
	if (r->ip_proto)
		mnl_attr_put_u8(nlh, FRA_IP_PROTO, r->ip_proto);
	if (r->sport.start) {
		struct fib_rule_port_range range = { r->sport.start, r->sport.end };

		mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(range), &range);
	}
	if (r->dport.start) {
		struct fib_rule_port_range range = { r->dport.start, r->dport.end };

		mnl_attr_put(nlh, FRA_DPORT_RANGE, sizeof(range), &range);
	}
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, SP_RTPROT);
	return (int)nlh->nlmsg_len;
}

struct sp_rtnl_attrs {
	const struct nlattr **tb;
	uint16_t max;
};

static int sp_rtnl_attr_cb(const struct nlattr *attr, void *data)
{
	const struct sp_rtnl_attrs *a = data;

	if (mnl_attr_type_valid(attr, a->max) > 0)
		a->tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* The fixed header (hdrlen bytes) of message nlh, its attributes up to max
 * in tb; NULL when the message is too short (EINVAL) or does not parse. */
static const void *sp_rtnl_parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
				 uint16_t max)
{
	struct sp_rtnl_attrs a = { tb, max };

	if (nlh->nlmsg_len < mnl_nlmsg_size(hdrlen)) {
		errno = EINVAL;
		return NULL;
	}
	if (mnl_attr_parse(nlh, hdrlen, sp_rtnl_attr_cb, &a) < 0)
		return NULL;
	return mnl_nlmsg_get_payload(nlh);
}

static void sp_rt_addr_from_attr(struct sp_rt_addr *addr, int family, const struct nlattr *attr)
{
	size_t len = sp_rt_addr_len(family);

	if (!len || mnl_attr_get_payload_len(attr) != len)
		return;
	addr->family = family;
	memcpy(&addr->v6, mnl_attr_get_payload(attr), len);
}

static void sp_rt_ports_from_attr(struct sp_rt_port_range *range, const struct nlattr *attr)
{
	const struct fib_rule_port_range *kr;

	if (mnl_attr_get_payload_len(attr) < sizeof(*kr))
		return;
	kr = mnl_attr_get_payload(attr);
	range->start = kr->start;
	range->end = kr->end;
}

int sp_rtnl_rule_decode(const void *nlmsg, struct sp_rule *r)
{
	const struct nlmsghdr *nlh = nlmsg;
	const struct nlattr *tb[FRA_MAX + 1] = { NULL };
	const struct fib_rule_hdr *frh = sp_rtnl_parse(nlh, sizeof(*frh), tb, FRA_MAX);

	if (!frh)
		return -1;
	memset(r, 0, sizeof(*r));
	r->family = frh->family;
	r->table = frh->table;
	if (tb[FRA_PRIORITY])
		r->priority = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_SRC]) {
		sp_rt_addr_from_attr(&r->src.addr, r->family, tb[FRA_SRC]);
		r->src.len = frh->src_len;
	}
	if (tb[FRA_DST]) {
		sp_rt_addr_from_attr(&r->dst.addr, r->family, tb[FRA_DST]);
		r->dst.len = frh->dst_len;
	}
	if (tb[FRA_IIFNAME])
		snprintf(r->iifname, sizeof(r->iifname), "%s", mnl_attr_get_str(tb[FRA_IIFNAME]));
	if (tb[FRA_FWMARK])
		r->fwmark = mnl_attr_get_u32(tb[FRA_FWMARK]);
	if (tb[FRA_FWMASK])
		r->fwmask = mnl_attr_get_u32(tb[FRA_FWMASK]);
	if (tb[FRA_IP_PROTO])
		r->ip_proto = mnl_attr_get_u8(tb[FRA_IP_PROTO]);
	if (tb[FRA_SPORT_RANGE])
		sp_rt_ports_from_attr(&r->sport, tb[FRA_SPORT_RANGE]);
	if (tb[FRA_DPORT_RANGE])
		sp_rt_ports_from_attr(&r->dport, tb[FRA_DPORT_RANGE]);
	if (tb[FRA_TABLE])
		r->table = mnl_attr_get_u32(tb[FRA_TABLE]);
	if (tb[FRA_PROTOCOL])
		r->protocol = mnl_attr_get_u8(tb[FRA_PROTOCOL]);
	return 0;
}

int sp_rtnl_route_encode(void *buf, size_t buflen, uint16_t type, uint16_t flags,
			 const struct sp_route *rt)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	bool del = type == RTM_DELROUTE;

	if ((rt->family != AF_INET && rt->family != AF_INET6) || !rt->table ||
	    (rt->dst.len && !sp_rt_prefix_valid(&rt->dst, rt->family)) ||
	    (rt->dst.len && !rt->dst.addr.family) ||
	    (rt->gateway.family && rt->gateway.family != rt->family) ||
	    (rt->kind == SP_ROUTE_LOCAL && rt->gateway.family) ||
	    (rt->kind == SP_ROUTE_UNICAST && !rt->gateway.family && !rt->oif) ||
	    buflen < SP_RTNL_SEND_LEN) {
		errno = EINVAL;
		return -1;
	}
	memset(buf, 0, SP_RTNL_SEND_LEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)rt->family;
	rtm->rtm_dst_len = rt->dst.len;
	rtm->rtm_table = rt->table < 256 ? (uint8_t)rt->table : RT_TABLE_UNSPEC;
	/* A delete with a non-zero protocol only matches a route of that
	 * protocol: that keeps our deletes off other daemons' routes. */
	rtm->rtm_protocol = SP_RTPROT;
	if (rt->kind == SP_ROUTE_LOCAL) {
		rtm->rtm_type = RTN_LOCAL;
		rtm->rtm_scope = RT_SCOPE_HOST;
	} else {
		rtm->rtm_type = RTN_UNICAST;
		rtm->rtm_scope = rt->gateway.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	}
	/* As iproute2 does: a delete of any scope. */
	if (del)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	if (rt->dst.len)
		mnl_attr_put(nlh, RTA_DST, sp_rt_addr_len(rt->family), &rt->dst.addr.v6);
	if (rt->gateway.family)
		mnl_attr_put(nlh, RTA_GATEWAY, sp_rt_addr_len(rt->family), &rt->gateway.v6);
	if (rt->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, rt->oif);
	else if (rt->kind == SP_ROUTE_LOCAL)
		mnl_attr_put_u32(nlh, RTA_OIF, SP_RTNL_LO_IFINDEX);
	if (rt->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
	mnl_attr_put_u32(nlh, RTA_TABLE, rt->table);
	return (int)nlh->nlmsg_len;
}

int sp_rtnl_route_decode(const void *nlmsg, struct sp_route *rt)
{
	const struct nlmsghdr *nlh = nlmsg;
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	const struct rtmsg *rtm = sp_rtnl_parse(nlh, sizeof(*rtm), tb, RTA_MAX);

	if (!rtm)
		return -1;
	memset(rt, 0, sizeof(*rt));
	rt->family = rtm->rtm_family;
	rt->kind = rtm->rtm_type == RTN_LOCAL ? SP_ROUTE_LOCAL : SP_ROUTE_UNICAST;
	rt->table = rtm->rtm_table;
	rt->protocol = rtm->rtm_protocol;
	rt->dst.len = rtm->rtm_dst_len;
	if (tb[RTA_DST])
		sp_rt_addr_from_attr(&rt->dst.addr, rt->family, tb[RTA_DST]);
	if (tb[RTA_GATEWAY])
		sp_rt_addr_from_attr(&rt->gateway, rt->family, tb[RTA_GATEWAY]);
	if (tb[RTA_OIF])
		rt->oif = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY])
		rt->metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_TABLE])
		rt->table = mnl_attr_get_u32(tb[RTA_TABLE]);
	/* For a local route the device is always lo when we install it; keep
	 * "0 = lo" so a listed route compares equal to the one we asked for. */
	if (rt->kind == SP_ROUTE_LOCAL && rt->oif == SP_RTNL_LO_IFINDEX)
		rt->oif = 0;
	return 0;
}
