#include "config.h"
#include "sp_rtnl.h"
#include "sp_rtnl_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* Large enough for one recvmsg of a dump (the kernel fills up to this much). */
#define SP_RTNL_RECV_LEN 32768

struct sp_rtnl {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	char extack[160];	/* the kernel's own words for the last error, if any */
	void *recv_buf;
};

/* ---- the socket ----------------------------------------------------------- */

int sp_rtnl_open(struct sp_rtnl **out, struct sp_error *err)
{
	struct sp_rtnl *rtnl = calloc(1, sizeof(*rtnl));
	int one = 1;

	*out = NULL;
	if (!rtnl || !(rtnl->recv_buf = malloc(SP_RTNL_RECV_LEN)))
		goto fail;
	rtnl->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!rtnl->nl)
		goto fail;
	if (mnl_socket_bind(rtnl->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Extended acks carry the kernel's reason ("Nexthop has invalid
	 * gateway"); capped acks keep them small. Both are optional. */
	mnl_socket_setsockopt(rtnl->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(rtnl->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	rtnl->portid = mnl_socket_get_portid(rtnl->nl);
	rtnl->seq = (uint32_t)time(NULL);
	*out = rtnl;
	return 0;
fail:
	{
		int saved = errno;

		sp_error_set(err, "cannot open rtnetlink socket: %s", strerror(saved));
		sp_rtnl_close(rtnl);
		errno = saved;
	}
	return -1;
}

void sp_rtnl_close(struct sp_rtnl *rtnl)
{
	if (!rtnl)
		return;
	if (rtnl->nl)
		mnl_socket_close(rtnl->nl);
	free(rtnl->recv_buf);
	free(rtnl);
}

static int sp_rtnl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int sp_rtnl_overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	errno = ENOSPC;
	return MNL_CB_ERROR;
}

/* What the callbacks of one request see: the context (the error callback
 * keeps the extended ack there) and the caller's data callback. */
struct sp_rtnl_req {
	struct sp_rtnl *rtnl;
	mnl_cb_t cb;
	void *arg;
};

static int sp_rtnl_extack_cb(const struct nlattr *attr, void *data)
{
	struct sp_rtnl *rtnl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(rtnl->extack, sizeof(rtnl->extack), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* libmnl's own error callback drops the extended ack; this one keeps it. */
static int sp_rtnl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_rtnl *rtnl = ((struct sp_rtnl_req *)data)->rtnl;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		offset = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(offset) <= nlh->nlmsg_len)
			mnl_attr_parse(nlh, (unsigned)offset, sp_rtnl_extack_cb, rtnl);
	}
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int sp_rtnl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_rtnl_req *req = data;

	return req->cb ? req->cb(nlh, req->arg) : MNL_CB_OK;
}

/* Sends one request and reads until its ack (or the end of its dump). */
static int sp_rtnl_talk(struct sp_rtnl *rtnl, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb,
			void *arg)
{
	/* With a control array libmnl uses no default for the other types:
	 * each one we care about is set here. */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = sp_rtnl_error_cb,
		[NLMSG_DONE] = sp_rtnl_done_cb,
		[NLMSG_OVERRUN] = sp_rtnl_overrun_cb,
	};
	struct sp_rtnl_req req = { rtnl, cb, arg };
	uint32_t seq = ++rtnl->seq;
	ssize_t n;
	int ret;

	rtnl->extack[0] = '\0';
	nlh->nlmsg_seq = seq;
	/* Not told by the flags: NLM_F_EXCL shares its bit with NLM_F_MATCH. */
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(rtnl->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		n = mnl_socket_recvfrom(rtnl->nl, rtnl->recv_buf, SP_RTNL_RECV_LEN);
		if (n < 0)
			return -1;
		ret = mnl_cb_run2(rtnl->recv_buf, (size_t)n, seq, rtnl->portid,
				  sp_rtnl_data_cb, &req, ctl, NLMSG_MIN_TYPE);
	} while (ret == MNL_CB_OK);
	return ret == MNL_CB_STOP ? 0 : -1;
}

/* errno preserved; the kernel's extended ack appended when it gave one. */
static void sp_rtnl_fail(struct sp_rtnl *rtnl, struct sp_error *err, const char *what,
			 const char *desc)
{
	int saved = errno;

	if (rtnl->extack[0])
		sp_error_set(err, "cannot %s %s: %s (%s)", what, desc, strerror(saved),
			       rtnl->extack);
	else
		sp_error_set(err, "cannot %s %s: %s", what, desc, strerror(saved));
	errno = saved;
}

/* Adding or deleting a rule or a route (what, described by desc) failed:
 * it exists already, there is none, or the kernel's own reason. errno kept. */
static void sp_rtnl_change_failed(struct sp_rtnl *rtnl, struct sp_error *err, bool add,
				  const char *what, const char *desc)
{
	int saved = errno;
	char verb[32];

	if (add && saved == EEXIST) {
		sp_error_set(err, "%s %s already exists", what, desc);
	} else if (!add && (saved == ENOENT || saved == ESRCH)) {
		sp_error_set(err, "no such %s %s", what, desc);
	} else {
		snprintf(verb, sizeof(verb), "%s %s", add ? "add" : "delete", what);
		errno = saved;
		sp_rtnl_fail(rtnl, err, verb, desc);
	}
	errno = saved;
}

static int sp_rtnl_rule_change(struct sp_rtnl *rtnl, const struct sp_rule *rule, bool add,
			       struct sp_error *err)
{
	char buf[SP_RTNL_SEND_LEN];
	char desc[SP_RTNL_DESC_LEN];

	sp_rtnl_rule_format(rule, desc, sizeof(desc));
	if (sp_rtnl_rule_encode(buf, sizeof(buf), add ? RTM_NEWRULE : RTM_DELRULE,
				add ? NLM_F_CREATE | NLM_F_EXCL : 0, rule) < 0) {
		sp_error_set(err, "invalid rule %s", desc);
		return -1;
	}
	if (sp_rtnl_talk(rtnl, (struct nlmsghdr *)buf, false, NULL, NULL) == 0)
		return 0;
	sp_rtnl_change_failed(rtnl, err, add, "rule", desc);
	return -1;
}

int sp_rtnl_rule_add(struct sp_rtnl *rtnl, const struct sp_rule *rule, struct sp_error *err)
{
	return sp_rtnl_rule_change(rtnl, rule, true, err);
}

int sp_rtnl_rule_del(struct sp_rtnl *rtnl, const struct sp_rule *rule, struct sp_error *err)
{
	return sp_rtnl_rule_change(rtnl, rule, false, err);
}

static int sp_rtnl_route_change(struct sp_rtnl *rtnl, const struct sp_route *route, bool add,
				struct sp_error *err)
{
	char buf[SP_RTNL_SEND_LEN];
	char desc[SP_RTNL_DESC_LEN];

	sp_rtnl_route_format(route, desc, sizeof(desc));
	if (sp_rtnl_route_encode(buf, sizeof(buf), add ? RTM_NEWROUTE : RTM_DELROUTE,
				 add ? NLM_F_CREATE | NLM_F_EXCL : 0, route) < 0) {
		sp_error_set(err, "invalid route %s", desc);
		return -1;
	}
	if (sp_rtnl_talk(rtnl, (struct nlmsghdr *)buf, false, NULL, NULL) == 0)
		return 0;
	if (add && errno == ENETUNREACH && route->gateway.family) {
		char gw[INET6_ADDRSTRLEN];

		inet_ntop(route->gateway.family, &route->gateway.v6, gw, sizeof(gw));
		sp_error_set(err, "next hop %s is not on a connected network", gw);
	} else {
		sp_rtnl_change_failed(rtnl, err, add, "route", desc);
	}
	return -1;
}

int sp_rtnl_route_add(struct sp_rtnl *rtnl, const struct sp_route *route, struct sp_error *err)
{
	return sp_rtnl_route_change(rtnl, route, true, err);
}

int sp_rtnl_route_del(struct sp_rtnl *rtnl, const struct sp_route *route, struct sp_error *err)
{
	return sp_rtnl_route_change(rtnl, route, false, err);
}

/* A growing array filled by the dump callbacks. */
struct sp_rtnl_list {
	void *items;
	size_t count;
	size_t cap;
	size_t size;
	bool owned_only;
	uint32_t table;
};

static void *sp_rtnl_list_slot(struct sp_rtnl_list *list)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		void *items = reallocarray(list->items, cap, list->size);

		if (!items)
			return NULL;
		list->items = items;
		list->cap = cap;
	}
	return (char *)list->items + list->count * list->size;
}

static int sp_rtnl_rule_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_rtnl_list *list = data;
	struct sp_rule rule;
	struct sp_rule *slot;

	if (nlh->nlmsg_type != RTM_NEWRULE || sp_rtnl_rule_decode(nlh, &rule) < 0)
		return MNL_CB_OK;
	if (list->owned_only && rule.protocol != SP_RTPROT)
		return MNL_CB_OK;
	slot = sp_rtnl_list_slot(list);
	if (!slot)
		return MNL_CB_ERROR;
	*slot = rule;
	list->count++;
	return MNL_CB_OK;
}

static int sp_rtnl_route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_rtnl_list *list = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct sp_route route;
	struct sp_route *slot;

	if (nlh->nlmsg_type != RTM_NEWROUTE || (rtm->rtm_flags & RTM_F_CLONED) ||
	    sp_rtnl_route_decode(nlh, &route) < 0)
		return MNL_CB_OK;
	if (list->owned_only && route.protocol != SP_RTPROT)
		return MNL_CB_OK;
	if (list->table && route.table != list->table)
		return MNL_CB_OK;
	slot = sp_rtnl_list_slot(list);
	if (!slot)
		return MNL_CB_ERROR;
	*slot = route;
	list->count++;
	return MNL_CB_OK;
}

static int sp_rtnl_dump(struct sp_rtnl *rtnl, uint16_t type, int family, size_t hdrlen,
			mnl_cb_t cb, struct sp_rtnl_list *list, struct sp_error *err)
{
	char buf[SP_RTNL_SEND_LEN];
	struct nlmsghdr *nlh;
	uint8_t *fam;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* rtmsg and fib_rule_hdr both start with the family byte. */
	fam = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	*fam = (uint8_t)family;
	if (sp_rtnl_talk(rtnl, nlh, true, cb, list) < 0) {
		int saved = errno;

		free(list->items);
		list->items = NULL;
		list->count = 0;
		sp_error_set(err, "cannot list %s: %s",
			       type == RTM_GETRULE ? "rules" : "routes", strerror(saved));
		errno = saved;
		return -1;
	}
	return 0;
}

int sp_rtnl_rule_list(struct sp_rtnl *rtnl, int family, bool owned_only,
		      struct sp_rule **out, size_t *count, struct sp_error *err)
{
	struct sp_rtnl_list list = { .size = sizeof(struct sp_rule), .owned_only = owned_only };

	*out = NULL;
	*count = 0;
	if (sp_rtnl_dump(rtnl, RTM_GETRULE, family, sizeof(struct fib_rule_hdr),
			 sp_rtnl_rule_list_cb, &list, err) < 0)
		return -1;
	*out = list.items;
	*count = list.count;
	return 0;
}

int sp_rtnl_route_list(struct sp_rtnl *rtnl, int family, uint32_t table, bool owned_only,
		       struct sp_route **out, size_t *count, struct sp_error *err)
{
	struct sp_rtnl_list list = {
		.size = sizeof(struct sp_route), .owned_only = owned_only, .table = table,
	};

	*out = NULL;
	*count = 0;
	if (sp_rtnl_dump(rtnl, RTM_GETROUTE, family, sizeof(struct rtmsg),
			 sp_rtnl_route_list_cb, &list, err) < 0)
		return -1;
	*out = list.items;
	*count = list.count;
	return 0;
}

int sp_rtnl_flush_owned(struct sp_rtnl *rtnl, size_t *rules_removed, size_t *routes_removed,
			struct sp_error *err)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t nrules = 0, nroutes = 0;
	int ret = 0;

	for (size_t f = 0; f < 2 && ret == 0; f++) {
		struct sp_rule *rules;
		struct sp_route *routes;
		size_t n;

		/* Deleting while a dump is running would confuse it: list, then
		 * delete. A family the kernel lacks has nothing of ours. */
		if (sp_rtnl_rule_list(rtnl, families[f], true, &rules, &n, err) < 0) {
			if (errno == EAFNOSUPPORT)
				continue;
			ret = -1;
			break;
		}
		for (size_t i = 0; i < n && ret == 0; i++) {
			if (sp_rtnl_rule_del(rtnl, &rules[i], err) == 0)
				nrules++;
			else if (errno != ENOENT)
				ret = -1;
		}
		free(rules);
		if (ret)
			break;
		if (sp_rtnl_route_list(rtnl, families[f], 0, true, &routes, &n, err) < 0) {
			if (errno == EAFNOSUPPORT)
				continue;
			ret = -1;
			break;
		}
		for (size_t i = 0; i < n && ret == 0; i++) {
			if (sp_rtnl_route_del(rtnl, &routes[i], err) == 0)
				nroutes++;
			else if (errno != ESRCH)
				ret = -1;
		}
		free(routes);
	}
	if (rules_removed)
		*rules_removed = nrules;
	if (routes_removed)
		*routes_removed = nroutes;
	return ret;
}

struct sp_rtnl_getroute {
	struct sp_route route;
	uint8_t type;
	bool found;
};

static int sp_rtnl_getroute_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_rtnl_getroute *res = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE || sp_rtnl_route_decode(nlh, &res->route) < 0)
		return MNL_CB_OK;
	res->type = rtm->rtm_type;
	res->found = true;
	return MNL_CB_OK;
}

int sp_rtnl_gateway_check(struct sp_rtnl *rtnl, const struct sp_rt_addr *gw, unsigned *oif,
			  struct sp_error *err)
{
	char buf[SP_RTNL_SEND_LEN];
	char text[INET6_ADDRSTRLEN];
	struct sp_rtnl_getroute res;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (gw->family != AF_INET && gw->family != AF_INET6) {
		sp_error_set(err, "next hop has no address family");
		errno = EINVAL;
		return -1;
	}
	inet_ntop(gw->family, &gw->v6, text, sizeof(text));
	memset(buf, 0, sizeof(buf));
	memset(&res, 0, sizeof(res));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)gw->family;
	rtm->rtm_dst_len = (uint8_t)sp_rt_max_len(gw->family);
	mnl_attr_put(nlh, RTA_DST, sp_rt_addr_len(gw->family), &gw->v6);
	if (sp_rtnl_talk(rtnl, nlh, false, sp_rtnl_getroute_cb, &res) < 0) {
		if (errno == ENETUNREACH || errno == EHOSTUNREACH) {
			sp_error_set(err, "next hop %s is not on a connected network", text);
			errno = ENETUNREACH;
		} else {
			sp_rtnl_fail(rtnl, err, "look up next hop", text);
		}
		return -1;
	}
	if (res.found && res.type == RTN_LOCAL) {
		sp_error_set(err, "next hop %s is a local address", text);
		errno = EINVAL;
		return -1;
	}
	/* Reached through another gateway, or not a unicast route at all
	 * (unreachable, blackhole, prohibit): not on a connected network. */
	if (!res.found || res.type != RTN_UNICAST || res.route.gateway.family) {
		sp_error_set(err, "next hop %s is not on a connected network", text);
		errno = ENETUNREACH;
		return -1;
	}
	if (oif)
		*oif = res.route.oif;
	return 0;
}

/* if_nametoindex()/if_indextoname() are the C library's answer and cost one
 * ioctl; no need to walk rtnetlink links for this. */
int sp_rtnl_ifindex(const char *name, unsigned *ifindex, struct sp_error *err)
{
	unsigned idx = if_nametoindex(name);

	if (!idx) {
		sp_error_set(err, "no interface named %s", name);
		errno = ENODEV;
		return -1;
	}
	*ifindex = idx;
	return 0;
}

int sp_rtnl_ifname(unsigned ifindex, char name[IFNAMSIZ], struct sp_error *err)
{
	if (!if_indextoname(ifindex, name)) {
		sp_error_set(err, "no interface with index %u", ifindex);
		errno = ENODEV;
		return -1;
	}
	return 0;
}
