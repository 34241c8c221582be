/* Policy rules and routes over rtnetlink (libmnl).
 *
 * Everything sigproxy installs carries its own protocol number SP_RTPROT
 * (FRA_PROTOCOL on rules, rtm_protocol on routes): that tag is how entries left
 * by a crashed run are found and how a clean shutdown removes exactly ours.
 *
 * Functions returning int give 0 on success, or -1 with errno set and a one-line
 * reason in the caller's err buffer (err may be NULL).
 */
#ifndef SP_RTNL_H
#define SP_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include "sp_error.h"

/* Ownership tag. 160 has no name in iproute2's rt_protos nor in
 * <linux/rtnetlink.h> (99, the number first tried, is RTPROT_OPENR); `ip rule`
 * shows it as "proto 160" unless packaging adds "160 sigproxy" to
 * /etc/iproute2/rt_protos.d/. */
#define SP_RTPROT 160

/* Longest text sp_rtnl_rule_format()/sp_rtnl_route_format() produce. */
#define SP_RTNL_DESC_LEN 256

struct sp_rtnl;

/* An IPv4 or IPv6 address; family 0 means "none". */
struct sp_rt_addr {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* family 0 means "any" (no match on it). */
struct sp_rt_prefix {
	struct sp_rt_addr addr;
	uint8_t len;
};

/* start = end = 0 means "any"; a single port is start = end. */
struct sp_rt_port_range {
	uint16_t start;
	uint16_t end;
};

/* An `ip rule ... lookup TABLE`. The selector is everything but table and
 * protocol; the kernel deletes the first rule matching what a delete sends, so
 * deletes always send priority and the full selector. */
struct sp_rule {
	int family;			/* AF_INET or AF_INET6 */
	uint32_t priority;		/* 1.. ; 0 (the local rule) is refused */
	struct sp_rt_prefix src;
	struct sp_rt_prefix dst;
	char iifname[IFNAMSIZ];		/* "" = any */
	uint32_t fwmark;		/* match when fwmark or fwmask is non-zero; */
	uint32_t fwmask;		/* fwmask 0 with fwmark set means all ones */
	uint8_t ip_proto;		/* 0 = any */
	struct sp_rt_port_range sport;
	struct sp_rt_port_range dport;
	uint32_t table;			/* > 0, u32 (FRA_TABLE) */
	uint8_t protocol;		/* set from the kernel in lists; ours on install */
};

enum sp_route_kind {
	SP_ROUTE_UNICAST,	/* DST [via GATEWAY] [dev OIF] */
	SP_ROUTE_LOCAL,		/* local DST dev OIF|lo: delivery to local sockets (TPROXY) */
};

struct sp_route {
	int family;			/* AF_INET or AF_INET6 */
	enum sp_route_kind kind;
	uint32_t table;			/* > 0 */
	struct sp_rt_prefix dst;	/* len 0 = default */
	struct sp_rt_addr gateway;	/* family 0 = directly on OIF */
	unsigned oif;			/* ifindex, 0 = let the kernel pick (lo for local) */
	uint32_t metric;		/* RTA_PRIORITY, 0 = none */
	uint8_t protocol;		/* set from the kernel in lists; ours on install */
};

int sp_rtnl_open(struct sp_rtnl **out, struct sp_error *err);
void sp_rtnl_close(struct sp_rtnl *rtnl);

/* NLM_F_EXCL: a rule with the same priority and selector gives EEXIST. */
int sp_rtnl_rule_add(struct sp_rtnl *rtnl, const struct sp_rule *rule, struct sp_error *err);
/* Deletes only a rule carrying our tag; none there gives ENOENT. */
int sp_rtnl_rule_del(struct sp_rtnl *rtnl, const struct sp_rule *rule, struct sp_error *err);
/* ENETUNREACH: the gateway is not on a connected network. EEXIST: duplicate. */
int sp_rtnl_route_add(struct sp_rtnl *rtnl, const struct sp_route *route, struct sp_error *err);
/* Deletes only a route carrying our tag; none there gives ESRCH. */
int sp_rtnl_route_del(struct sp_rtnl *rtnl, const struct sp_route *route, struct sp_error *err);

/* Lists the kernel's rules (family AF_INET, AF_INET6) or routes (table 0 = all
 * tables), only ours when owned_only. *out is malloc'ed (free() it), NULL when
 * *count is 0. */
int sp_rtnl_rule_list(struct sp_rtnl *rtnl, int family, bool owned_only,
		      struct sp_rule **out, size_t *count, struct sp_error *err);
int sp_rtnl_route_list(struct sp_rtnl *rtnl, int family, uint32_t table, bool owned_only,
		       struct sp_route **out, size_t *count, struct sp_error *err);

/* Removes every rule and route of both families carrying our tag; counts are
 * optional. Stops at the first failure (the rest stays listed for a retry). */
int sp_rtnl_flush_owned(struct sp_rtnl *rtnl, size_t *rules_removed, size_t *routes_removed,
			struct sp_error *err);

/* Validation before install: is gw reachable without another gateway (a
 * connected route, as `ip route get GW` shows)? On success *oif (optional) is
 * the interface. ENETUNREACH with "next hop X is not on a connected network". */
int sp_rtnl_gateway_check(struct sp_rtnl *rtnl, const struct sp_rt_addr *gw, unsigned *oif,
			  struct sp_error *err);

/* Interface name <-> index. ENODEV when there is none. */
int sp_rtnl_ifindex(const char *name, unsigned *ifindex, struct sp_error *err);
int sp_rtnl_ifname(unsigned ifindex, char name[IFNAMSIZ], struct sp_error *err);

/* Pure helpers (no socket, no root). */

/* Same entry in the kernel's eyes (fwmask normalised, protocol ignored). */
bool sp_rtnl_rule_equal(const struct sp_rule *a, const struct sp_rule *b);
bool sp_rtnl_route_equal(const struct sp_route *a, const struct sp_route *b);
/* In `ip rule` / `ip route` words, e.g. "pref 100 fwmark 0x1/0xff lookup 100". */
void sp_rtnl_rule_format(const struct sp_rule *rule, char *buf, size_t len);
void sp_rtnl_route_format(const struct sp_route *route, char *buf, size_t len);
/* "10.1.0.0/24", "2001:db8::1" (full-length prefixes print as the address). */
void sp_rt_prefix_format(const struct sp_rt_prefix *prefix, char *buf, size_t len);
/* Parses "A.B.C.D[/N]" or "X:X::X[/N]"; host bits must be zero. */
int sp_rt_prefix_parse(const char *text, struct sp_rt_prefix *prefix);

/* The netlink encoding the socket functions send, exposed so it can be checked
 * without a kernel: encode a RTM_NEWRULE/RTM_DELRULE (or RTM_NEWROUTE/
 * RTM_DELROUTE) into buf and decode a rule/route message back. encode returns
 * the message length, or -1 with errno (EINVAL for a rule or route that cannot
 * be expressed, e.g. priority 0). */
int sp_rtnl_rule_encode(void *buf, size_t buflen, uint16_t type, uint16_t flags,
			const struct sp_rule *rule);
int sp_rtnl_rule_decode(const void *nlmsg, struct sp_rule *rule);
int sp_rtnl_route_encode(void *buf, size_t buflen, uint16_t type, uint16_t flags,
			 const struct sp_route *route);
int sp_rtnl_route_decode(const void *nlmsg, struct sp_route *route);

#endif
