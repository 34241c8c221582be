/* The neighbour table over rtnetlink: see sp_neigh.h. */
#include "config.h"
#include "sp_neigh.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct sp_neigh_want {
	int family;
	int ifindex;
	const uint8_t *mac;
	const struct sp_endpoint *prefer;
	struct sp_endpoint *out;
	int rank; /* of what out holds: 0 none, 1 link-local, 2 global, 3 preferred */
};

static int sp_neigh_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NDA_MAX) >= 0)
		tb[type] = a;
	return MNL_CB_OK;
}

/* How good an entry is as the answer (0: not one). */
static int sp_neigh_rank(const struct sp_neigh_want *w, const struct sp_endpoint *ep)
{
	if (w->prefer && sp_endpoint_same_addr(ep, w->prefer))
		return 3;
	if (ep->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&ep->addr.v6))
		return 1;
	return 2;
}

static int sp_neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sp_neigh_want *w = data;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	struct sp_endpoint ep;
	int rank;

	if (nd->ndm_family != w->family || nd->ndm_ifindex != w->ifindex ||
	    (nd->ndm_state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP)) || !nd->ndm_state)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*nd), sp_neigh_attr, tb);
	if (!tb[NDA_DST] || !tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6 ||
	    memcmp(mnl_attr_get_payload(tb[NDA_LLADDR]), w->mac, 6) != 0)
		return MNL_CB_OK;
	if (w->family == AF_INET && mnl_attr_get_payload_len(tb[NDA_DST]) == 4) {
		struct in_addr a;

		memcpy(&a, mnl_attr_get_payload(tb[NDA_DST]), 4);
		sp_endpoint_set_v4(&ep, a, 0);
	} else if (w->family == AF_INET6 && mnl_attr_get_payload_len(tb[NDA_DST]) == 16) {
		struct in6_addr a;

		memcpy(&a, mnl_attr_get_payload(tb[NDA_DST]), 16);
		sp_endpoint_set_v6(&ep, &a, 0);
	} else {
		return MNL_CB_OK;
	}
	rank = sp_neigh_rank(w, &ep);
	if (rank > w->rank) {
		*w->out = ep;
		w->rank = rank;
	}
	return MNL_CB_OK;
}

bool sp_neigh_by_mac(int family, int ifindex, const uint8_t mac[6], const struct sp_endpoint *prefer,
		     struct sp_endpoint *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sp_neigh_want w = { family, ifindex, mac, prefer, out, 0 };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int n, rc = MNL_CB_OK;

	if (!nl)
		return false;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return false;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		mnl_socket_close(nl);
		return false;
	}
	while (rc > MNL_CB_STOP && (n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, sp_neigh_cb, &w);
	mnl_socket_close(nl);
	return w.rank > 0;
}
