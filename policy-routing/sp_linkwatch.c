#include "config.h"
#include "sp_linkwatch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp_log.h"
#include "sp_loop.h"

struct sp_linkwatch {
	struct sp_link_info *links; /* the view: every link, as last told */
	size_t n_links, cap_links;
	char (*names)[IFNAMSIZ];    /* configured interface names */
	size_t n_names;
	unsigned long changes;
	/* listening */
	struct mnl_socket *nl;
	struct sp_loop *loop;
	struct sp_loop_timer *debounce;
	unsigned debounce_ms;
	sp_linkwatch_fn fn;
	void *arg;
};

struct sp_linkwatch *sp_linkwatch_new(void)
{
	return calloc(1, sizeof(struct sp_linkwatch));
}

int sp_linkwatch_seed(struct sp_linkwatch *w, const struct sp_link_info *links, size_t n,
		      const char *const *names, size_t n_names)
{
	struct sp_link_info *l = n ? malloc(n * sizeof(*l)) : NULL;
	char (*nm)[IFNAMSIZ] = n_names ? calloc(n_names, IFNAMSIZ) : NULL;

	if ((n && !l) || (n_names && !nm)) {
		free(l);
		free(nm);
		return -1;
	}
	if (n)
		memcpy(l, links, n * sizeof(*l));
	for (size_t i = 0; i < n_names; i++)
		snprintf(nm[i], IFNAMSIZ, "%s", names[i]);
	free(w->links);
	free(w->names);
	w->links = l;
	w->n_links = w->cap_links = n;
	w->names = nm;
	w->n_names = n_names;
	return 0;
}

static struct sp_link_info *sp_linkwatch_find(struct sp_linkwatch *w, int ifindex)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (w->links[i].ifindex == ifindex)
			return &w->links[i];
	return NULL;
}

static bool sp_linkwatch_of_interest(struct sp_linkwatch *w, const struct sp_link_info *l)
{
	const struct sp_link_info *m;

	if (!l)
		return false;
	if (l->vlan_id || l->is_vrf)
		return true;
	if (l->master && (m = sp_linkwatch_find(w, l->master)) && m->is_vrf)
		return true;
	for (size_t i = 0; i < w->n_names; i++)
		if (strcmp(w->names[i], l->ifname) == 0)
			return true;
	return false;
}

/* What classification reads of a link: its name, VRF and VLAN, and whether
 * it is up (a VPN's routes through it come and go with that). */
static bool sp_linkwatch_same(const struct sp_link_info *a, const struct sp_link_info *b)
{
	return strcmp(a->ifname, b->ifname) == 0 && a->master == b->master &&
	       a->vlan_id == b->vlan_id && a->is_vrf == b->is_vrf && a->vrf_table == b->vrf_table &&
	       (a->flags & IFF_UP) == (b->flags & IFF_UP);
}

static bool sp_linkwatch_feed_link(struct sp_linkwatch *w, const struct nlmsghdr *nlh)
{
	struct sp_link_info now, *before;
	bool relevant;

	if (sp_link_parse(nlh, &now) < 0)
		return false;
	before = sp_linkwatch_find(w, now.ifindex);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		relevant = sp_linkwatch_of_interest(w, before ? before : &now);
		if (before)
			*before = w->links[--w->n_links];
		return relevant;
	}
	if (before) {
		struct sp_link_info was = *before;

		if (sp_linkwatch_same(&was, &now))
			return false; /* counters, carrier, XDP: nothing classification reads */
		*before = now;
		return sp_linkwatch_of_interest(w, &was) || sp_linkwatch_of_interest(w, &now);
	}
	if (w->n_links == w->cap_links) {
		size_t cap = w->cap_links ? w->cap_links * 2 : 16;
		struct sp_link_info *g = realloc(w->links, cap * sizeof(*g));

		if (!g)
			return true; /* the view is lost: better re-apply */
		w->links = g;
		w->cap_links = cap;
	}
	w->links[w->n_links++] = now;
	return sp_linkwatch_of_interest(w, &now);
}

bool sp_linkwatch_feed(struct sp_linkwatch *w, const struct nlmsghdr *nlh)
{
	struct sp_link_mpls_route r;
	bool relevant = false;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		relevant = sp_linkwatch_feed_link(w, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		relevant = sp_link_parse_mpls_route(nlh, &r) == 1;
		break;
	}
	if (relevant)
		w->changes++;
	return relevant;
}

struct sp_linkwatch_batch {
	struct sp_linkwatch *w;
	bool relevant;
};

static int sp_linkwatch_batch_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_linkwatch_batch *b = data;

	b->relevant |= sp_linkwatch_feed(b->w, nlh);
	return MNL_CB_OK;
}

static void sp_linkwatch_readable(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_linkwatch *w = arg;
	struct sp_linkwatch_batch b = { w, false };
	char buf[16384];

	(void)loop;
	(void)fd;
	(void)events;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));

		if (r < 0) {
			if (errno == ENOBUFS) {
				/* notifications lost: the view may be stale */
				sp_warn("link changes: notifications lost, re-applying");
				b.relevant = true;
				w->changes++;
				continue;
			}
			break; /* EAGAIN: all read */
		}
		mnl_cb_run(buf, (size_t)r, 0, 0, sp_linkwatch_batch_cb, &b);
	}
	if (b.relevant)
		sp_loop_timer_arm(w->debounce, w->debounce_ms); /* re-armed: the last change counts */
}

static void sp_linkwatch_settled(struct sp_loop *loop, void *arg)
{
	struct sp_linkwatch *w = arg;

	(void)loop;
	w->fn(w->arg);
}

int sp_linkwatch_listen(struct sp_linkwatch *w, struct sp_loop *loop, unsigned debounce_ms,
			sp_linkwatch_fn fn, void *arg, struct sp_error *err)
{
	int grp = RTNLGRP_LINK;

	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		sp_error_set(err, "link notifications: %s", strerror(errno));
		return -1;
	}
	/* label routes only where the kernel has them */
	grp = RTNLGRP_MPLS_ROUTE;
	if (access("/proc/sys/net/mpls/platform_labels", F_OK) == 0 &&
	    mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		sp_warn("MPLS route notifications: %s", strerror(errno));
	w->debounce = sp_loop_timer_new(loop, sp_linkwatch_settled, w);
	if (!w->debounce ||
	    sp_loop_add_fd(loop, mnl_socket_get_fd(w->nl), EPOLLIN, sp_linkwatch_readable, w) < 0) {
		sp_error_set(err, "link notifications: cannot join the loop");
		return -1;
	}
	w->loop = loop;
	w->debounce_ms = debounce_ms;
	w->fn = fn;
	w->arg = arg;
	return 0;
}

unsigned long sp_linkwatch_changes(const struct sp_linkwatch *w)
{
	return w->changes;
}

void sp_linkwatch_free(struct sp_linkwatch *w)
{
	if (!w)
		return;
	if (w->nl) {
		if (w->loop)
			sp_loop_del_fd(w->loop, mnl_socket_get_fd(w->nl));
		mnl_socket_close(w->nl);
	}
	sp_loop_timer_free(w->debounce);
	free(w->links);
	free(w->names);
	free(w);
}
