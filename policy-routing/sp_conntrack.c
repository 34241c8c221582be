#include "config.h"
#include "sp_conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#define SP_CT_ACCT_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_acct"

struct sp_conntrack {
	struct nfct_handle *h;
};

struct sp_ct_collect {
	struct sp_ct_nat *v;
	size_t n, cap;
	int err;
};

int sp_conntrack_open(struct sp_conntrack **out, struct sp_error *err)
{
	struct sp_conntrack *ct = calloc(1, sizeof(*ct));
	FILE *f;

	*out = NULL;
	if (!ct) {
		sp_error_set(err, "out of memory");
		return -1;
	}
	ct->h = nfct_open(CONNTRACK, 0);
	if (!ct->h) {
		sp_error_set(err, "conntrack netlink: %s", strerror(errno));
		free(ct);
		return -1;
	}
	/* Counters are allocated with an entry: accounting must be on before
	 * the first one is created. A missing sysctl only costs the counters. */
	f = fopen(SP_CT_ACCT_SYSCTL, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	*out = ct;
	return 0;
}

void sp_conntrack_close(struct sp_conntrack *ct)
{
	if (!ct)
		return;
	nfct_close(ct->h);
	free(ct);
}

/* One family for the four endpoints: IPv4 or IPv6 (an entry does not
 * translate between the families). */
static bool sp_ct_nat_valid(const struct sp_ct_nat *n)
{
	int f = n->terminal.family;

	return (f == AF_INET || f == AF_INET6) && n->terminal_side.family == f &&
	       n->far.family == f && n->far_side.family == f;
}

/* An address attribute of the endpoint's family: attr4 or attr6. */
static void sp_ct_set_addr(struct nf_conntrack *c, int attr4, int attr6, const struct sp_endpoint *ep)
{
	if (ep->family == AF_INET6)
		nfct_set_attr(c, attr6, &ep->addr.v6);
	else
		nfct_set_attr_u32(c, attr4, ep->addr.v4.s_addr);
}

/* The original tuple, all a delete or a get needs. */
static void sp_ct_set_orig(struct nf_conntrack *c, const struct sp_ct_nat *n)
{
	nfct_set_attr_u8(c, ATTR_L3PROTO, n->terminal.family);
	nfct_set_attr_u8(c, ATTR_L4PROTO, IPPROTO_UDP);
	sp_ct_set_addr(c, ATTR_IPV4_SRC, ATTR_IPV6_SRC, &n->terminal);
	sp_ct_set_addr(c, ATTR_IPV4_DST, ATTR_IPV6_DST, &n->terminal_side);
	nfct_set_attr_u16(c, ATTR_PORT_SRC, htons(n->terminal.port));
	nfct_set_attr_u16(c, ATTR_PORT_DST, htons(n->terminal_side.port));
	if (n->zone)
		nfct_set_attr_u16(c, ATTR_ORIG_ZONE, n->zone);
}

int sp_conntrack_create(struct sp_conntrack *ct, const struct sp_ct_nat *n, uint32_t timeout_s)
{
	struct nf_conntrack *c;
	int rc;

	if (!sp_ct_nat_valid(n))
		return -EAFNOSUPPORT;
	c = nfct_new();
	if (!c)
		return -ENOMEM;
	sp_ct_set_orig(c, n);
	nfct_set_attr_u8(c, ATTR_REPL_L3PROTO, n->terminal.family);
	nfct_set_attr_u8(c, ATTR_REPL_L4PROTO, IPPROTO_UDP);
	/* The reply tuple goes in un-NATed (the original's inverse): the
	 * kernel derives the NATed one, F:f -> C:pc, from the SNAT/DNAT
	 * ranges, and only then marks the entry for translation. Given
	 * NATed, it would see nothing to translate and the entry would
	 * carry no NAT at all. */
	sp_ct_set_addr(c, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &n->terminal_side);
	sp_ct_set_addr(c, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, &n->terminal);
	nfct_set_attr_u16(c, ATTR_REPL_PORT_SRC, htons(n->terminal_side.port));
	nfct_set_attr_u16(c, ATTR_REPL_PORT_DST, htons(n->terminal.port));
	sp_ct_set_addr(c, ATTR_DNAT_IPV4, ATTR_DNAT_IPV6, &n->far);
	nfct_set_attr_u16(c, ATTR_DNAT_PORT, htons(n->far.port));
	sp_ct_set_addr(c, ATTR_SNAT_IPV4, ATTR_SNAT_IPV6, &n->far_side);
	nfct_set_attr_u16(c, ATTR_SNAT_PORT, htons(n->far_side.port));
	nfct_set_attr_u32(c, ATTR_TIMEOUT, timeout_s);
	nfct_set_attr_u32(c, ATTR_MARK, SP_CT_MARK | n->origin);
	rc = nfct_query(ct->h, NFCT_Q_CREATE, c) < 0 ? -errno : 0;
	nfct_destroy(c);
	return rc;
}

int sp_conntrack_delete(struct sp_conntrack *ct, const struct sp_ct_nat *n)
{
	struct nf_conntrack *c;
	int rc;

	if (!sp_ct_nat_valid(n))
		return -EAFNOSUPPORT;
	c = nfct_new();
	if (!c)
		return -ENOMEM;
	sp_ct_set_orig(c, n);
	rc = nfct_query(ct->h, NFCT_Q_DESTROY, c) < 0 ? -errno : 0;
	nfct_destroy(c);
	return rc;
}

static int sp_ct_counters_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *c, void *arg)
{
	struct sp_ct_counters *cn = arg;

	(void)type;
	cn->orig_packets = nfct_get_attr_u64(c, ATTR_ORIG_COUNTER_PACKETS);
	cn->orig_bytes = nfct_get_attr_u64(c, ATTR_ORIG_COUNTER_BYTES);
	cn->reply_packets = nfct_get_attr_u64(c, ATTR_REPL_COUNTER_PACKETS);
	cn->reply_bytes = nfct_get_attr_u64(c, ATTR_REPL_COUNTER_BYTES);
	/* not NFCT_CB_STOP: that leaves the request's ACK in the socket, and
	 * the next request would read it as its own answer */
	return NFCT_CB_CONTINUE;
}

int sp_conntrack_counters(struct sp_conntrack *ct, const struct sp_ct_nat *n,
			  struct sp_ct_counters *cn)
{
	struct nf_conntrack *c;
	int rc;

	memset(cn, 0, sizeof(*cn));
	if (!sp_ct_nat_valid(n))
		return -EAFNOSUPPORT;
	c = nfct_new();
	if (!c)
		return -ENOMEM;
	sp_ct_set_orig(c, n);
	nfct_callback_register(ct->h, NFCT_T_ALL, sp_ct_counters_cb, cn);
	rc = nfct_query(ct->h, NFCT_Q_GET, c) < 0 ? -errno : 0;
	nfct_callback_unregister(ct->h);
	nfct_destroy(c);
	return rc;
}

static void sp_ct_endpoint(struct sp_endpoint *ep, const struct nf_conntrack *c, int addr_attr,
			   int addr6_attr, int port_attr)
{
	uint16_t port = ntohs(nfct_get_attr_u16(c, port_attr));

	if (nfct_get_attr_u8(c, ATTR_L3PROTO) == AF_INET6) {
		struct in6_addr a6;

		memcpy(&a6, nfct_get_attr(c, addr6_attr), sizeof(a6));
		sp_endpoint_set_v6(ep, &a6, port);
	} else {
		struct in_addr a = { .s_addr = nfct_get_attr_u32(c, addr_attr) };

		sp_endpoint_set_v4(ep, a, port);
	}
}

static int sp_ct_collect_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *c, void *arg)
{
	struct sp_ct_collect *col = arg;
	struct sp_ct_nat *n;

	(void)type;
	/* the kernel filters by mark; this check keeps an older kernel that
	 * ignores the filter from handing us someone else's entries */
	if ((nfct_get_attr_u32(c, ATTR_MARK) & SP_CT_MARK_MASK) != SP_CT_MARK ||
	    (nfct_get_attr_u8(c, ATTR_L3PROTO) != AF_INET && nfct_get_attr_u8(c, ATTR_L3PROTO) != AF_INET6))
		return NFCT_CB_CONTINUE;
	if (col->n == col->cap) {
		size_t cap = col->cap ? col->cap * 2 : 64;
		struct sp_ct_nat *v = realloc(col->v, cap * sizeof(*v));

		if (!v) {
			col->err = -ENOMEM;
			return NFCT_CB_CONTINUE; /* drain the dump (see above) */
		}
		col->v = v;
		col->cap = cap;
	}
	n = &col->v[col->n++];
	memset(n, 0, sizeof(*n));
	sp_ct_endpoint(&n->terminal, c, ATTR_IPV4_SRC, ATTR_IPV6_SRC, ATTR_PORT_SRC);
	sp_ct_endpoint(&n->terminal_side, c, ATTR_IPV4_DST, ATTR_IPV6_DST, ATTR_PORT_DST);
	sp_ct_endpoint(&n->far, c, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, ATTR_REPL_PORT_SRC);
	sp_ct_endpoint(&n->far_side, c, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, ATTR_REPL_PORT_DST);
	n->zone = nfct_attr_is_set(c, ATTR_ORIG_ZONE) > 0 ? nfct_get_attr_u16(c, ATTR_ORIG_ZONE) : 0;
	n->origin = (uint16_t)(nfct_get_attr_u32(c, ATTR_MARK) & ~SP_CT_MARK_MASK);
	return NFCT_CB_CONTINUE;
}

/* Our entries of one family, dumped by the kernel (filtered by mark), into col. */
static int sp_ct_dump_family(struct sp_conntrack *ct, uint8_t family, struct sp_ct_collect *col)
{
	struct nfct_filter_dump *fd = nfct_filter_dump_create();
	struct nfct_filter_dump_mark mark = { .val = SP_CT_MARK, .mask = SP_CT_MARK_MASK };
	int rc;

	if (!fd)
		return -ENOMEM;
	nfct_filter_dump_set_attr(fd, NFCT_FILTER_DUMP_MARK, &mark);
	nfct_filter_dump_set_attr_u8(fd, NFCT_FILTER_DUMP_L3NUM, family);
	nfct_callback_register(ct->h, NFCT_T_ALL, sp_ct_collect_cb, col);
	rc = nfct_query(ct->h, NFCT_Q_DUMP_FILTER, fd) < 0 ? -errno : 0;
	nfct_callback_unregister(ct->h);
	nfct_filter_dump_destroy(fd);
	return rc ? rc : col->err;
}

int sp_conntrack_list(struct sp_conntrack *ct, struct sp_ct_nat **out)
{
	struct sp_ct_collect col = { 0 };
	int rc;

	*out = NULL;
	rc = sp_ct_dump_family(ct, AF_INET, &col);
	if (!rc)
		rc = sp_ct_dump_family(ct, AF_INET6, &col);
	if (rc) {
		free(col.v);
		return rc;
	}
	*out = col.v;
	return (int)col.n;
}

int sp_conntrack_flush(struct sp_conntrack *ct)
{
	struct sp_ct_nat *v;
	int n = sp_conntrack_list(ct, &v), removed = 0;

	if (n < 0)
		return n;
	/* deleting inside the dump callback would interleave two requests on
	 * one socket: collect first, then delete */
	for (int i = 0; i < n; i++)
		if (sp_conntrack_delete(ct, &v[i]) == 0)
			removed++;
	free(v);
	return removed;
}

char *sp_ct_nat_format(const struct sp_ct_nat *n, char *buf, size_t len)
{
	char t[SP_ENDPOINT_STRLEN], e[SP_ENDPOINT_STRLEN], c[SP_ENDPOINT_STRLEN],
		f[SP_ENDPOINT_STRLEN];

	snprintf(buf, len, "%s -> %s => %s -> %s%s%.0u", sp_endpoint_format(&n->terminal, t, sizeof(t)),
		 sp_endpoint_format(&n->terminal_side, e, sizeof(e)),
		 sp_endpoint_format(&n->far_side, c, sizeof(c)),
		 sp_endpoint_format(&n->far, f, sizeof(f)), n->zone ? " zone " : "", n->zone);
	return buf;
}
