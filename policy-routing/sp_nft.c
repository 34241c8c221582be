#include "config.h"
#include "sp_nft.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <time.h>

#define SP_NFT_TABLE_REF SP_NFT_FAMILY " " SP_NFT_TABLE

struct sp_nft {
	struct nft_ctx *ctx;
	/* reading one counter object: straight nfnetlink, since libnftables
	 * fetches every set of the table for any listing (10 000 strategies:
	 * ~30 ms a read, against ~0.1 ms) */
	struct mnl_socket *nl;
	uint32_t seq;
};

int sp_nft_open(struct sp_nft **out, struct sp_error *err)
{
	struct sp_nft *nft = calloc(1, sizeof(*nft));

	*out = NULL;
	if (!nft)
		goto fail;
	nft->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft->ctx)
		goto fail;
	/* Buffered, so errors reach the caller's message instead of stderr. */
	if (nft_ctx_buffer_output(nft->ctx) || nft_ctx_buffer_error(nft->ctx))
		goto fail;
	*out = nft;
	return 0;
fail:
	sp_error_set(err, "cannot set up libnftables: %s", strerror(errno ? errno : ENOMEM));
	sp_nft_close(nft);
	errno = ENOMEM;
	return -1;
}

void sp_nft_close(struct sp_nft *nft)
{
	if (!nft)
		return;
	if (nft->ctx)
		nft_ctx_free(nft->ctx);
	if (nft->nl)
		mnl_socket_close(nft->nl);
	free(nft);
}

/* End of the line at s (its '\n' or the final '\0'). */
static const char *sp_nft_eol(const char *s)
{
	return s + strcspn(s, "\n");
}

/* nft reports "[<where>: ]Error: WHAT" followed by the offending line and a
 * caret line; keep WHAT and, when nft gave a location, the offending line. (For
 * errors the kernel raises nft gives no location and its line is a guess.) */
static void sp_nft_error_summary(const char *text, struct sp_error *err, const char *what)
{
	const char *msg = strstr(text, "Error: ");
	const char *eol, *src, *src_eol;
	bool located;
	int msg_len, src_len;

	if (!msg) {
		sp_error_set(err, "%s: nft failed without a message", what);
		return;
	}
	located = msg > text && msg[-1] == ' ';
	msg += strlen("Error: ");
	eol = sp_nft_eol(msg);
	msg_len = (int)(eol - msg);
	src = *eol ? eol + 1 : eol;
	while (*src == ' ' || *src == '\t')
		src++;
	src_eol = sp_nft_eol(src);
	src_len = (int)(src_eol - src);
	if (located && src_len > 0 && *src_eol)
		sp_error_set(err, "%s: %.*s (at \"%.*s\")", what, msg_len, msg,
			      src_len, src);
	else
		sp_error_set(err, "%s: %.*s", what, msg_len, msg);
}

static int sp_nft_run(struct sp_nft *nft, const char *cmd, const char *what, struct sp_error *err)
{
	const char *errtext;

	/* Reading a buffer also empties it for the next command. */
	nft_ctx_get_error_buffer(nft->ctx);
	nft_ctx_get_output_buffer(nft->ctx);
	if (nft_run_cmd_from_buffer(nft->ctx, cmd) == 0)
		return 0;
	errtext = nft_ctx_get_error_buffer(nft->ctx);
	sp_nft_error_summary(errtext ? errtext : "", err, what);
	/* libnftables gives text, not an errno; these are the ones callers act on. */
	if (errtext && strstr(errtext, "Operation not permitted"))
		errno = EPERM;
	else if (errtext && strstr(errtext, "No such file or directory"))
		errno = ENOENT;
	else
		errno = EINVAL;
	return -1;
}

int sp_nft_apply(struct sp_nft *nft, const char *body, struct sp_error *err)
{
	static const char head[] = "table " SP_NFT_TABLE_REF "\n"
				   "delete table " SP_NFT_TABLE_REF "\n"
				   "table " SP_NFT_TABLE_REF " {\n";
	size_t len = strlen(body);
	char *cmd;
	int ret;

	/* One buffer is one transaction: create-if-missing, delete, recreate.
	 * If anything in it fails, the kernel keeps the old table. */
	cmd = malloc(sizeof(head) + len + sizeof("\n}\n"));
	if (!cmd) {
		sp_error_set(err, "cannot apply nftables table: out of memory");
		errno = ENOMEM;
		return -1;
	}
	memcpy(cmd, head, sizeof(head) - 1);
	memcpy(cmd + sizeof(head) - 1, body, len);
	strcpy(cmd + sizeof(head) - 1 + len, "\n}\n");
	ret = sp_nft_run(nft, cmd, "nftables refused table " SP_NFT_TABLE_REF, err);
	free(cmd);
	return ret;
}

int sp_nft_remove(struct sp_nft *nft, struct sp_error *err)
{
	return sp_nft_run(nft, "table " SP_NFT_TABLE_REF "\ndelete table " SP_NFT_TABLE_REF "\n",
			  "cannot remove table " SP_NFT_TABLE_REF, err);
}

int sp_nft_list(struct sp_nft *nft, char **text, struct sp_error *err)
{
	const char *out;

	*text = NULL;
	if (sp_nft_run(nft, "list table " SP_NFT_TABLE_REF, "cannot list table " SP_NFT_TABLE_REF,
		       err) < 0)
		return -1;
	out = nft_ctx_get_output_buffer(nft->ctx);
	*text = strdup(out ? out : "");
	if (!*text) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int sp_nft_parse_elements(const char *listing, char **out)
{
	const char *p = strstr(listing, "elements = {");
	size_t len = 0;
	FILE *w;

	*out = NULL;
	w = open_memstream(out, &len);
	if (!w)
		return -1;
	if (p) {
		p += strlen("elements = {");
		while (*p && *p != '}') {
			size_t n = strcspn(p, ",}");
			const char *e = p, *end = p + n, *x;

			/* one element: "KEY [expires T]", whitespace and newlines around */
			while (e < end && (*e == ' ' || *e == '\t' || *e == '\n'))
				e++;
			x = e;
			while (x < end && strncmp(x, " expires ", 9) != 0 && strncmp(x, " timeout ", 9) != 0)
				x++;
			while (x > e && (x[-1] == ' ' || x[-1] == '\t' || x[-1] == '\n'))
				x--;
			if (x > e)
				fprintf(w, "%.*s\n", (int)(x - e), e);
			p = end;
			if (*p == ',')
				p++;
		}
	}
	return fclose(w) == 0 ? 0 : -1;
}

struct sp_nft_counter_read {
	uint64_t packets;
	bool found;
};

static int sp_nft_counter_data_cb(const struct nlattr *attr, void *arg)
{
	struct sp_nft_counter_read *r = arg;

	if (mnl_attr_get_type(attr) == NFTA_COUNTER_PACKETS &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0) {
		r->packets = be64toh(mnl_attr_get_u64(attr));
		r->found = true;
	}
	return MNL_CB_OK;
}

static int sp_nft_obj_attr_cb(const struct nlattr *attr, void *arg)
{
	if (mnl_attr_get_type(attr) == NFTA_OBJ_DATA && mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(attr, sp_nft_counter_data_cb, arg);
	return MNL_CB_OK;
}

static int sp_nft_obj_msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), sp_nft_obj_attr_cb, arg);
	return MNL_CB_OK;
}

int sp_nft_counter_packets(struct sp_nft *nft, const char *name, uint64_t *packets,
			   struct sp_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct sp_nft_counter_read r = { 0 };
	uint32_t seq;
	ssize_t n;
	int ret;

	if (!nft->nl) {
		nft->nl = mnl_socket_open(NETLINK_NETFILTER);
		if (!nft->nl || mnl_socket_bind(nft->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			sp_error_set(err, "nfnetlink socket: %s", strerror(errno));
			if (nft->nl)
				mnl_socket_close(nft->nl);
			nft->nl = NULL;
			return -1;
		}
		nft->seq = (uint32_t)time(NULL);
	}
	seq = ++nft->seq;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, SP_NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	if (mnl_socket_sendto(nft->nl, nlh, nlh->nlmsg_len) < 0) {
		sp_error_set(err, "counter %s: %s", name, strerror(errno));
		return -1;
	}
	do {
		n = mnl_socket_recvfrom(nft->nl, buf, sizeof(buf));
		if (n < 0)
			break;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nft->nl), sp_nft_obj_msg_cb, &r);
	} while (ret > 0);
	if (n < 0 || ret < 0) {
		sp_error_set(err, "counter %s: %s", name, strerror(errno));
		return -1;
	}
	if (!r.found) {
		errno = ENOENT;
		return -1;
	}
	*packets = r.packets;
	return 0;
}

int sp_nft_set_elements(struct sp_nft *nft, const char *set, char **text, struct sp_error *err)
{
	char cmd[160];
	const char *out;

	*text = NULL;
	snprintf(cmd, sizeof(cmd), "list set " SP_NFT_TABLE_REF " %s", set);
	if (sp_nft_run(nft, cmd, "cannot list a set of " SP_NFT_TABLE_REF, err) < 0)
		return -1;
	out = nft_ctx_get_output_buffer(nft->ctx);
	if (sp_nft_parse_elements(out ? out : "", text) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int sp_nft_flush_set(struct sp_nft *nft, const char *set, struct sp_error *err)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "flush set " SP_NFT_TABLE_REF " %s", set);
	return sp_nft_run(nft, cmd, "cannot flush a set of " SP_NFT_TABLE_REF, err);
}

/* ---- generator ------------------------------------------------------------ */

/* Text that goes between double quotes in nft input: no quote, backslash or
 * control character can break out of it. */
static bool sp_nft_quotable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n == max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool sp_nft_ifname_ok(const char *name)
{
	return sp_nft_quotable(name, IFNAMSIZ) && !strpbrk(name, " /");
}

static void sp_nft_put_ports(FILE *out, const char *l4, const char *dir,
			     const struct sp_rt_port_range *range)
{
	if (range->start == range->end)
		fprintf(out, " %s %s %u", l4, dir, range->start);
	else
		fprintf(out, " %s %s %u-%u", l4, dir, range->start, range->end);
}

static void sp_nft_put_listen_ports(FILE *out, const char *l4, const struct sp_nft_intercept *spec)
{
	if (spec->n_listen_ports == 1) {
		fprintf(out, " %s dport %u", l4, spec->listen_ports[0]);
		return;
	}
	fprintf(out, " %s dport {", l4);
	for (size_t i = 0; i < spec->n_listen_ports; i++)
		fprintf(out, "%s %u", i ? "," : "", spec->listen_ports[i]);
	fprintf(out, " }");
}

static uint32_t sp_nft_owned_mask(const struct sp_nft_intercept *spec)
{
	return spec->mark_mask ? spec->mark_mask : 0xffffffffu;
}

static uint32_t sp_nft_fwmask(const struct sp_nft_intercept *spec)
{
	if (!spec->fwmark && !spec->fwmask)
		return 0;
	return spec->fwmask ? spec->fwmask : 0xffffffffu;
}

/* Which family an entry's addresses pin it to: AF_INET, AF_INET6, 0 (both),
 * or -1 when src and dst disagree. */
static int sp_nft_entry_family(const struct sp_nft_entry *e)
{
	int fs = e->src.addr.family, fd = e->dst.addr.family;

	if (fs && fd && fs != fd)
		return -1;
	if ((fs || fd) && e->family && e->family != (fs ? fs : fd))
		return -1;
	return fs ? fs : fd ? fd : e->family;
}

/* " meta nfproto ipv4|ipv6" for an entry pinned to a family its addresses
 * do not name (they name it themselves otherwise). */
static void sp_nft_put_nfproto(FILE *w, const struct sp_nft_entry *e)
{
	if (e->family && !e->src.addr.family && !e->dst.addr.family)
		fprintf(w, " meta nfproto %s", e->family == AF_INET6 ? "ipv6" : "ipv4");
}

static int sp_nft_check_entry(const struct sp_nft_intercept *spec, const struct sp_nft_entry *e,
			      size_t idx, struct sp_error *err)
{
	uint32_t owned = sp_nft_owned_mask(spec), fwmask = sp_nft_fwmask(spec);

	if (sp_nft_entry_family(e) < 0) {
		sp_error_set(err, "entry %zu: source and destination are of different address families", idx);
		return -1;
	}
	if ((e->family && e->family != AF_INET && e->family != AF_INET6) ||
	    (e->src.addr.family && e->src.addr.family != AF_INET && e->src.addr.family != AF_INET6) ||
	    (e->dst.addr.family && e->dst.addr.family != AF_INET && e->dst.addr.family != AF_INET6)) {
		sp_error_set(err, "entry %zu: unknown address family", idx);
		return -1;
	}
	if (e->n_iifnames > SP_NFT_MAX_IIFNAMES) {
		sp_error_set(err, "entry %zu: more than %d input interfaces", idx, SP_NFT_MAX_IIFNAMES);
		return -1;
	}
	for (size_t i = 0; i < e->n_iifnames; i++) {
		if (!sp_nft_ifname_ok(e->iifnames[i])) {
			sp_error_set(err, "entry %zu: invalid interface name \"%.*s\"", idx,
				      IFNAMSIZ, e->iifnames[i]);
			return -1;
		}
	}
	if (e->comment && !sp_nft_quotable(e->comment, 128)) {
		sp_error_set(err, "entry %zu: comment must be 1-127 characters without quotes or backslashes", idx);
		return -1;
	}
	if ((e->sport.start > e->sport.end) || (e->dport.start > e->dport.end) ||
	    (!e->sport.start && e->sport.end) || (!e->dport.start && e->dport.end)) {
		sp_error_set(err, "entry %zu: invalid port range", idx);
		return -1;
	}
	if (e->mark & ~owned) {
		sp_error_set(err, "entry %zu: mark 0x%x has bits outside the mark mask 0x%x",
			      idx, e->mark, owned);
		return -1;
	}
	switch (e->verdict) {
	case SP_NFT_ACCEPT:
	case SP_NFT_DROP:
		return 0;
	case SP_NFT_TPROXY:
		break;
	default:
		sp_error_set(err, "entry %zu: unknown verdict %d", idx, (int)e->verdict);
		return -1;
	}
	if (e->ip_proto && e->ip_proto != IPPROTO_UDP && e->ip_proto != IPPROTO_TCP) {
		sp_error_set(err, "entry %zu: TPROXY takes only udp and tcp, not protocol %u",
			      idx, e->ip_proto);
		return -1;
	}
	if (!e->tproxy_port) {
		sp_error_set(err, "entry %zu: TPROXY needs a listener port", idx);
		return -1;
	}
	/* Without the mark the fwmark rule never sends the packet to the local
	 * table, and nothing reaches the listener. */
	if (!fwmask || (fwmask & ~owned) || ((e->mark ^ spec->fwmark) & fwmask)) {
		sp_error_set(err, "entry %zu: mark 0x%x does not carry the interception fwmark 0x%x/0x%x",
			      idx, e->mark, spec->fwmark, fwmask);
		return -1;
	}
	return 0;
}

/* One nft rule of an entry for one l4 protocol: "udp", "tcp", or NULL for
 * "whatever ip_proto says" (any protocol when 0). Every word is written with a
 * leading space, which the line then drops. -1 when out of memory. */
static int sp_nft_put_rule(FILE *out, const struct sp_nft_intercept *spec,
			    const struct sp_nft_entry *e, const char *l4)
{
	int family = sp_nft_entry_family(e);
	const char *ipkw = family == AF_INET6 ? "ip6" : "ip";
	char text[INET6_ADDRSTRLEN + 8];
	uint32_t owned = sp_nft_owned_mask(spec);
	char *line = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&line, &len);

	if (!w)
		return -1;
	if (e->n_iifnames == 1) {
		fprintf(w, " iifname \"%s\"", e->iifnames[0]);
	} else if (e->n_iifnames > 1) {
		fprintf(w, " iifname {");
		for (size_t i = 0; i < e->n_iifnames; i++)
			fprintf(w, "%s \"%s\"", i ? "," : "", e->iifnames[i]);
		fprintf(w, " }");
	}
	if (e->mark_match_mask)
		fprintf(w, " meta mark & 0x%08x == 0x%08x", e->mark_match_mask,
			e->mark_match & e->mark_match_mask);
	sp_nft_put_nfproto(w, e);
	if (e->src.addr.family) {
		sp_rt_prefix_format(&e->src, text, sizeof(text));
		fprintf(w, " %s saddr %s", ipkw, text);
	}
	if (e->dst.addr.family) {
		sp_rt_prefix_format(&e->dst, text, sizeof(text));
		fprintf(w, " %s daddr %s", ipkw, text);
	}
	if (!l4) {
		if (!e->ip_proto)
			fprintf(w, " meta l4proto { tcp, udp }");
		else
			fprintf(w, " meta l4proto %u", e->ip_proto);
		l4 = "th";
	}
	if (e->sport.start)
		sp_nft_put_ports(w, l4, "sport", &e->sport);
	if (e->dport.start)
		sp_nft_put_ports(w, l4, "dport", &e->dport);
	else
		sp_nft_put_listen_ports(w, l4, spec);
	if (e->mark) {
		if (owned == 0xffffffffu)
			fprintf(w, " meta mark set 0x%08x", e->mark);
		else
			fprintf(w, " meta mark set meta mark & 0x%08x | 0x%08x", ~owned, e->mark);
	}
	fprintf(w, " counter");
	switch (e->verdict) {
	case SP_NFT_TPROXY:
		fprintf(w, " tproxy%s to :%u accept",
			family == AF_INET ? " ip" : family == AF_INET6 ? " ip6" : "", e->tproxy_port);
		break;
	case SP_NFT_DROP:
		fprintf(w, " drop");
		break;
	case SP_NFT_ACCEPT:
		fprintf(w, " accept");
		break;
	}
	if (e->comment)
		fprintf(w, " comment \"%s\"", e->comment);
	if (fclose(w) != 0) {
		free(line);
		return -1;
	}
	fprintf(out, "\t\t%s\n", line + 1);
	free(line);
	return 0;
}

static const char *sp_nft_l4_keyword(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : NULL;
}

/* ---- grouping: runs of entries into map lookups ---------------------------- */

enum sp_nft_group_kind {
	SP_NFT_GROUP_RULE,	/* a rule of its own */
	SP_NFT_GROUP_VMAP,	/* forward/drop: key -> accept/drop */
	SP_NFT_GROUP_MARKMAP,	/* TPROXY: key -> whole new mark, a map per origin */
};

struct sp_nft_group {
	enum sp_nft_group_kind kind;
	size_t *members;	/* entry indices, ascending */
	size_t n, cap;
};

static enum sp_nft_group_kind sp_nft_entry_kind(const struct sp_nft_intercept *spec,
						const struct sp_nft_entry *e)
{
	if (e->ip_proto != IPPROTO_UDP && e->ip_proto != IPPROTO_TCP)
		return SP_NFT_GROUP_RULE;
	if (e->verdict != SP_NFT_TPROXY)
		return SP_NFT_GROUP_VMAP;
	/* the map gives the whole mark, so it must know the bits it keeps */
	if (!spec->n_origin_marks || (e->mark_match_mask & sp_nft_owned_mask(spec)))
		return SP_NFT_GROUP_RULE;
	return SP_NFT_GROUP_MARKMAP;
}

/* Same fields matched, same kind: the same map key and rule. */
static bool sp_nft_same_shape(const struct sp_nft_entry *a, const struct sp_nft_entry *b)
{
	return a->ip_proto == b->ip_proto && sp_nft_entry_family(a) == sp_nft_entry_family(b) &&
	       (a->n_iifnames > 0) == (b->n_iifnames > 0) &&
	       a->mark_match_mask == b->mark_match_mask &&
	       (a->src.addr.family != 0) == (b->src.addr.family != 0) &&
	       (a->dst.addr.family != 0) == (b->dst.addr.family != 0) &&
	       (a->sport.start != 0) == (b->sport.start != 0) &&
	       (a->dport.start != 0) == (b->dport.start != 0) &&
	       (a->verdict == SP_NFT_TPROXY) == (b->verdict == SP_NFT_TPROXY) &&
	       (a->verdict != SP_NFT_TPROXY || a->tproxy_port == b->tproxy_port);
}

static bool sp_nft_prefixes_overlap(const struct sp_rt_prefix *a, const struct sp_rt_prefix *b)
{
	const uint8_t *pa, *pb;
	unsigned len;

	if (!a->addr.family || !b->addr.family)
		return true;
	if (a->addr.family != b->addr.family)
		return false;
	pa = a->addr.family == AF_INET ? (const uint8_t *)&a->addr.v4 : a->addr.v6.s6_addr;
	pb = b->addr.family == AF_INET ? (const uint8_t *)&b->addr.v4 : b->addr.v6.s6_addr;
	len = a->len < b->len ? a->len : b->len;
	if (memcmp(pa, pb, len / 8) != 0)
		return false;
	if (len % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - len % 8));
		return ((pa[len / 8] ^ pb[len / 8]) & m) == 0;
	}
	return true;
}

static bool sp_nft_ports_overlap(const struct sp_rt_port_range *a, const struct sp_rt_port_range *b)
{
	if (!a->start || !b->start)
		return true;
	return a->start <= b->end && b->start <= a->end;
}

bool sp_nft_entries_overlap(const struct sp_nft_entry *a, const struct sp_nft_entry *b)
{
	int fa = sp_nft_entry_family(a), fb = sp_nft_entry_family(b);

	if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
		return false;
	if (fa > 0 && fb > 0 && fa != fb)
		return false;
	if ((a->mark_match ^ b->mark_match) & a->mark_match_mask & b->mark_match_mask)
		return false;
	if (!sp_nft_prefixes_overlap(&a->src, &b->src) || !sp_nft_prefixes_overlap(&a->dst, &b->dst) ||
	    !sp_nft_ports_overlap(&a->sport, &b->sport) || !sp_nft_ports_overlap(&a->dport, &b->dport))
		return false;
	if (a->n_iifnames && b->n_iifnames) {
		for (size_t i = 0; i < a->n_iifnames; i++)
			for (size_t k = 0; k < b->n_iifnames; k++)
				if (strncmp(a->iifnames[i], b->iifnames[k], IFNAMSIZ) == 0)
					return true;
		return false;
	}
	return true;
}

/* An entry's matches as integer ranges, for the grouping's pairwise test:
 * ten thousand entries make fifty million of them. Exact for IPv4 (and for
 * no address); IPv6 and interface names take sp_nft_entries_overlap(). */
struct sp_nft_box {
	uint32_t src_lo, src_hi, dst_lo, dst_hi;
	uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
	uint32_t mark, mark_mask;
	uint8_t proto;
	bool exact;
};

static void sp_nft_v4_range(const struct sp_rt_prefix *p, uint32_t *lo, uint32_t *hi)
{
	uint32_t mask;

	if (p->addr.family != AF_INET || p->len > 32) {
		*lo = 0;
		*hi = 0xffffffffu;
		return;
	}
	mask = p->len ? 0xffffffffu << (32 - p->len) : 0;
	*lo = ntohl(p->addr.v4.s_addr) & mask;
	*hi = *lo | ~mask;
}

static void sp_nft_box_of(const struct sp_nft_entry *e, struct sp_nft_box *b)
{
	b->exact = e->src.addr.family != AF_INET6 && e->dst.addr.family != AF_INET6 &&
		   !e->n_iifnames;
	sp_nft_v4_range(&e->src, &b->src_lo, &b->src_hi);
	sp_nft_v4_range(&e->dst, &b->dst_lo, &b->dst_hi);
	b->sp_lo = e->sport.start ? e->sport.start : 0;
	b->sp_hi = e->sport.start ? e->sport.end : 0xffff;
	b->dp_lo = e->dport.start ? e->dport.start : 0;
	b->dp_hi = e->dport.start ? e->dport.end : 0xffff;
	b->mark = e->mark_match & e->mark_match_mask;
	b->mark_mask = e->mark_match_mask;
	b->proto = e->ip_proto;
}

static bool sp_nft_boxes_overlap(const struct sp_nft_box *a, const struct sp_nft_box *b)
{
	return a->src_lo <= b->src_hi && b->src_lo <= a->src_hi && a->dst_lo <= b->dst_hi &&
	       b->dst_lo <= a->dst_hi && a->sp_lo <= b->sp_hi && b->sp_lo <= a->sp_hi &&
	       a->dp_lo <= b->dp_hi && b->dp_lo <= a->dp_hi &&
	       !((a->mark ^ b->mark) & a->mark_mask & b->mark_mask) &&
	       (!a->proto || !b->proto || a->proto == b->proto);
}

static int sp_nft_group_add(struct sp_nft_group *g, size_t idx)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4;
		size_t *m = realloc(g->members, cap * sizeof(*m));

		if (!m)
			return -1;
		g->members = m;
		g->cap = cap;
	}
	g->members[g->n++] = idx;
	return 0;
}

static void sp_nft_groups_free(struct sp_nft_group *groups, size_t n)
{
	for (size_t i = 0; groups && i < n; i++)
		free(groups[i].members);
	free(groups);
}

/* Places every entry in sequence order: after the last group holding an entry
 * it overlaps (an earlier match must keep winning), in the first later group
 * of its shape, else in a new group at the end. Nothing after that group
 * overlaps it, so evaluating it there changes no packet's first match. */
static int sp_nft_group_entries(const struct sp_nft_intercept *spec, struct sp_nft_group **out,
				size_t *n_out)
{
	struct sp_nft_group *groups = NULL;
	struct sp_nft_box *boxes = calloc(spec->n_entries + 1, sizeof(*boxes));
	size_t n = 0, cap = 0;

	if (!boxes)
		return -1;
	for (size_t i = 0; i < spec->n_entries; i++)
		sp_nft_box_of(&spec->entries[i], &boxes[i]);
	for (size_t i = 0; i < spec->n_entries; i++) {
		const struct sp_nft_entry *e = &spec->entries[i];
		enum sp_nft_group_kind kind = sp_nft_entry_kind(spec, e);
		size_t after = 0, g; /* groups [after, n) overlap nothing of e */

		for (g = n; kind != SP_NFT_GROUP_RULE && g > 0 && !after; g--)
			for (size_t k = 0; k < groups[g - 1].n; k++) {
				size_t m = groups[g - 1].members[k];
				bool both = boxes[m].exact && boxes[i].exact;

				if (both ? sp_nft_boxes_overlap(&boxes[m], &boxes[i])
					 : sp_nft_entries_overlap(&spec->entries[m], e)) {
					after = g;
					break;
				}
			}
		g = n;
		if (kind != SP_NFT_GROUP_RULE)
			for (g = after; g < n; g++)
				if (groups[g].kind == kind &&
				    sp_nft_same_shape(&spec->entries[groups[g].members[0]], e))
					break;
		if (g == n) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct sp_nft_group *ng = realloc(groups, ncap * sizeof(*ng));

				if (!ng)
					goto oom;
				groups = ng;
				cap = ncap;
			}
			memset(&groups[n], 0, sizeof(groups[n]));
			groups[n++].kind = kind;
		}
		if (sp_nft_group_add(&groups[g], i) < 0)
			goto oom;
	}
	free(boxes);
	*out = groups;
	*n_out = n;
	return 0;
oom:
	free(boxes);
	sp_nft_groups_free(groups, n);
	return -1;
}

/* The map's key expression and its type, from the group's first entry. */
static void sp_nft_put_key(FILE *expr, FILE *type, const struct sp_nft_group *g,
			   const struct sp_nft_entry *e)
{
	const char *l4 = sp_nft_l4_keyword(e->ip_proto);
	const char *ipkw = sp_nft_entry_family(e) == AF_INET6 ? "ip6" : "ip";
	const char *addr = sp_nft_entry_family(e) == AF_INET6 ? "ipv6_addr" : "ipv4_addr";
	const char *sep = "";

	if (e->n_iifnames) {
		fprintf(expr, "iifname");
		fprintf(type, "ifname");
		sep = " . ";
	}
	/* a mark map's rule compares the mark (the origin) before the lookup */
	if (g->kind == SP_NFT_GROUP_VMAP && e->mark_match_mask) {
		fprintf(expr, "%smeta mark & 0x%08x", sep, e->mark_match_mask);
		fprintf(type, "%smark", sep);
		sep = " . ";
	}
	if (e->src.addr.family) {
		fprintf(expr, "%s%s saddr", sep, ipkw);
		fprintf(type, "%s%s", sep, addr);
		sep = " . ";
	}
	if (e->dst.addr.family) {
		fprintf(expr, "%s%s daddr", sep, ipkw);
		fprintf(type, "%s%s", sep, addr);
		sep = " . ";
	}
	if (e->sport.start) {
		fprintf(expr, "%s%s sport", sep, l4);
		fprintf(type, "%sinet_service", sep);
		sep = " . ";
	}
	if (e->dport.start) {
		fprintf(expr, "%s%s dport", sep, l4);
		fprintf(type, "%sinet_service", sep);
		sep = " . ";
	}
}

static void sp_nft_put_range(FILE *out, const struct sp_rt_port_range *r)
{
	if (r->start == r->end)
		fprintf(out, "%u", r->start);
	else
		fprintf(out, "%u-%u", r->start, r->end);
}

/* One element's key for one interface (or none). */
static void sp_nft_put_element_key(FILE *out, const struct sp_nft_group *g,
				   const struct sp_nft_entry *e, const char *ifname)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *sep = "";

	if (ifname) {
		fprintf(out, "\"%s\"", ifname);
		sep = " . ";
	}
	if (g->kind == SP_NFT_GROUP_VMAP && e->mark_match_mask) {
		fprintf(out, "%s0x%08x", sep, e->mark_match & e->mark_match_mask);
		sep = " . ";
	}
	if (e->src.addr.family) {
		sp_rt_prefix_format(&e->src, text, sizeof(text));
		fprintf(out, "%s%s", sep, text);
		sep = " . ";
	}
	if (e->dst.addr.family) {
		sp_rt_prefix_format(&e->dst, text, sizeof(text));
		fprintf(out, "%s%s", sep, text);
		sep = " . ";
	}
	if (e->sport.start) {
		fprintf(out, "%s", sep);
		sp_nft_put_range(out, &e->sport);
		sep = " . ";
	}
	if (e->dport.start) {
		fprintf(out, "%s", sep);
		sp_nft_put_range(out, &e->dport);
	}
}

/* One map of a group and the rule that looks it up. A mark map is per
 * origin (origin: its index, or -1 for a verdict map): the rule first
 * compares the bits the map's values keep, so the key needs no 32-bit mark
 * field, which the kernel's pipapo set inserts at a high cost (10 000
 * elements: ~0.1 s with three fields, ~1 s with the mark as a fourth). */
static bool sp_nft_put_map(FILE *maps, FILE *chain, const struct sp_nft_intercept *spec,
			   const struct sp_nft_group *g, size_t gi, long origin_idx,
			   const char *expr, const char *type, struct sp_nft_render_stats *st)
{
	const struct sp_nft_entry *first = &spec->entries[g->members[0]];
	const char *l4 = sp_nft_l4_keyword(first->ip_proto);
	int family = sp_nft_entry_family(first);
	uint32_t owned = sp_nft_owned_mask(spec);
	uint32_t origin = origin_idx >= 0 ? spec->origin_marks[origin_idx] : 0;
	const char *sep = "";
	char name[48], *text = NULL;
	size_t n_el = 0, len = 0;
	FILE *line;

	if (origin_idx >= 0)
		snprintf(name, sizeof(name), "g%zu_%ld", gi, origin_idx);
	else
		snprintf(name, sizeof(name), "g%zu", gi);
	for (size_t m = 0; m < g->n; m++) {
		const struct sp_nft_entry *e = &spec->entries[g->members[m]];
		size_t n_if = e->n_iifnames ? e->n_iifnames : 1;

		/* a tag the entry matches: only in the map of the origins carrying it */
		if (origin_idx >= 0 && ((origin ^ e->mark_match) & e->mark_match_mask))
			continue;
		for (size_t i = 0; i < n_if; i++) {
			if (!n_el)
				fprintf(maps, "\tmap %s {\n\t\ttype %s : %s\n\t\tflags interval\n%s"
					"\t\telements = {", name, type,
					origin_idx < 0 ? "verdict" : "mark",
					origin_idx < 0 ? "\t\tcounter\n" : "");
			fprintf(maps, "%s\n\t\t\t", sep);
			sep = ",";
			sp_nft_put_element_key(maps, g, e, e->n_iifnames ? e->iifnames[i] : NULL);
			if (origin_idx >= 0) {
				fprintf(maps, " : 0x%08x", (origin & ~owned) | e->mark);
			} else {
				if (e->comment)
					fprintf(maps, " comment \"%s\"", e->comment);
				fprintf(maps, " : %s", e->verdict == SP_NFT_DROP ? "drop" : "accept");
			}
			n_el++;
		}
	}
	if (!n_el)
		return true; /* no entry of the group can see this origin */
	fprintf(maps, "\n\t\t}\n\t}\n");
	/* every word with a leading space, which the line then drops */
	line = open_memstream(&text, &len);
	if (!line)
		return false;
	sp_nft_put_nfproto(line, first);
	/* "any" destination port means the listen ports, as for a rule */
	if (!first->dport.start)
		sp_nft_put_listen_ports(line, l4, spec);
	if (origin_idx < 0)
		fprintf(line, " %s vmap @%s", expr, name);
	else {
		if (spec->n_origin_marks > 1)
			fprintf(line, " meta mark & 0x%08x == 0x%08x", ~owned, origin);
		fprintf(line, " meta mark set %s map @%s counter tproxy%s to :%u accept", expr, name,
			family == AF_INET ? " ip" : family == AF_INET6 ? " ip6" : "",
			first->tproxy_port);
	}
	if (fclose(line) != 0) {
		free(text);
		return false;
	}
	fprintf(chain, "\t\t%s\n", text + 1);
	free(text);
	st->maps++;
	st->rules++;
	st->elements += n_el;
	return true;
}

/* A group of entries as maps (into maps) and their rules (into chain):
 * one verdict map, or a mark map per origin. */
static bool sp_nft_put_group(FILE *maps, FILE *chain, const struct sp_nft_intercept *spec,
			     const struct sp_nft_group *g, size_t gi, struct sp_nft_render_stats *st)
{
	char *expr = NULL, *type = NULL;
	size_t expr_len = 0, type_len = 0;
	FILE *fe = open_memstream(&expr, &expr_len), *ft = open_memstream(&type, &type_len);
	bool ok = fe && ft;

	if (ok)
		sp_nft_put_key(fe, ft, g, &spec->entries[g->members[0]]);
	if (fe)
		ok &= fclose(fe) == 0;
	if (ft)
		ok &= fclose(ft) == 0;
	if (ok && g->kind == SP_NFT_GROUP_VMAP)
		ok = sp_nft_put_map(maps, chain, spec, g, gi, -1, expr, type, st);
	else if (ok)
		for (size_t o = 0; o < spec->n_origin_marks && ok; o++)
			ok = sp_nft_put_map(maps, chain, spec, g, gi, (long)o, expr, type, st);
	free(expr);
	free(type);
	return ok;
}

/* One limit rule per address family: over the rate, the source goes into
 * the limited set (the daemon names it in a notification) and the packet is
 * dropped and counted. */
static void sp_nft_put_limit_rule(FILE *out, const struct sp_nft_intercept *spec,
				  const char *match, const char *meter, uint32_t rate,
				  const char *counter)
{
	static const struct { const char *ipkw, *sfx, *set; } fam[] = {
		{ "ip", "v4", SP_NFT_LIMITED_SET_V4 },
		{ "ip6", "v6", SP_NFT_LIMITED_SET_V6 },
	};

	for (size_t f = 0; f < 2; f++)
		fprintf(out,
			"\t\t%supdate @%s_%s { meta mark & 0x%08x . %s saddr limit rate over %u/second burst %u packets }"
			" update @%s { meta mark & 0x%08x . %s saddr } counter name \"%s\" drop\n",
			match, meter, fam[f].sfx, spec->source_key_mask, fam[f].ipkw, rate, rate,
			fam[f].set, spec->source_key_mask, fam[f].ipkw, counter);
}

/* Per-source limits where the daemon's packets enter it: the input hook
 * sees exactly what the interception delivered (the fwmark bit), so a flood
 * is dropped before it costs the daemon a wake-up. */
static void sp_nft_put_source_limits(FILE *out, const struct sp_nft_intercept *spec)
{
	uint32_t fw = spec->fwmask ? spec->fwmask : spec->fwmark;

	if (!spec->source_rate && !spec->source_new_flows)
		return;
	for (int v6 = 0; v6 < 2; v6++) {
		const char *type = v6 ? "ipv6_addr" : "ipv4_addr", *sfx = v6 ? "v6" : "v4";

		if (spec->source_rate)
			fprintf(out, "\tset source_rate_%s {\n\t\ttype mark . %s\n\t\tsize 65535\n"
				"\t\tflags dynamic,timeout\n\t\ttimeout 10s\n\t}\n", sfx, type);
		if (spec->source_new_flows)
			fprintf(out, "\tset source_new_%s {\n\t\ttype mark . %s\n\t\tsize 65535\n"
				"\t\tflags dynamic,timeout\n\t\ttimeout 10s\n\t}\n", sfx, type);
		fprintf(out, "\tset %s {\n\t\ttype mark . %s\n\t\tsize 4096\n"
			"\t\tflags dynamic,timeout\n\t\ttimeout %us\n\t}\n",
			v6 ? SP_NFT_LIMITED_SET_V6 : SP_NFT_LIMITED_SET_V4, type, SP_NFT_LIMITED_TIMEOUT_S);
	}
	fprintf(out, "\tcounter " SP_NFT_SOURCE_RATE_COUNTER " {\n\t}\n"
		     "\tcounter " SP_NFT_SOURCE_NEW_COUNTER " {\n\t}\n"
		     "\tchain source_limits {\n"
		     "\t\ttype filter hook input priority filter; policy accept;\n"
		     "\t\tmeta mark & 0x%08x != 0x%08x accept\n", fw, spec->fwmark & fw);
	/* new flows first: a new flow over its limit is not counted twice */
	if (spec->source_new_flows)
		sp_nft_put_limit_rule(out, spec, "ct state new ", "source_new", spec->source_new_flows,
				      SP_NFT_SOURCE_NEW_COUNTER);
	if (spec->source_rate)
		sp_nft_put_limit_rule(out, spec, "", "source_rate", spec->source_rate,
				      SP_NFT_SOURCE_RATE_COUNTER);
	fprintf(out, "\t}\n");
}

int sp_nft_render_intercept(const struct sp_nft_intercept *spec, char **body,
			    struct sp_error *err)
{
	return sp_nft_render_intercept_stats(spec, body, NULL, err);
}

/* The entries' rules (and maps) in group order. */
static bool sp_nft_put_entries(FILE *maps, FILE *out, const struct sp_nft_intercept *spec,
			       const struct sp_nft_group *groups, size_t n_groups,
			       struct sp_nft_render_stats *st)
{
	bool ok = true;

	for (size_t gi = 0; gi < n_groups; gi++) {
		const struct sp_nft_group *g = &groups[gi];

		if (g->kind != SP_NFT_GROUP_RULE && g->n >= SP_NFT_GROUP_MIN) {
			ok &= sp_nft_put_group(maps, out, spec, g, gi, st);
			continue;
		}
		for (size_t m = 0; m < g->n; m++) {
			const struct sp_nft_entry *e = &spec->entries[g->members[m]];

			/* TPROXY needs a known transport protocol in the rule: "any"
			 * becomes one rule per protocol. */
			if (e->verdict == SP_NFT_TPROXY && !e->ip_proto) {
				ok &= sp_nft_put_rule(out, spec, e, "udp") == 0;
				ok &= sp_nft_put_rule(out, spec, e, "tcp") == 0;
				st->rules += 2;
			} else {
				ok &= sp_nft_put_rule(out, spec, e, sp_nft_l4_keyword(e->ip_proto)) == 0;
				st->rules++;
			}
		}
	}
	return ok;
}

int sp_nft_render_intercept_stats(const struct sp_nft_intercept *spec, char **body,
				  struct sp_nft_render_stats *stats, struct sp_error *err)
{
	struct sp_nft_render_stats st = { 0 };
	struct sp_nft_group *groups = NULL;
	struct sp_nft_entry dflt;
	char *text = NULL, *maps_text = NULL;
	size_t len = 0, maps_len = 0, n_groups = 0;
	bool ok = true;
	FILE *out, *maps;

	*body = NULL;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!spec->n_listen_ports || !spec->listen_ports) {
		sp_error_set(err, "no listen port to intercept");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < spec->n_listen_ports; i++) {
		if (!spec->listen_ports[i]) {
			sp_error_set(err, "listen port 0 is not a port");
			errno = EINVAL;
			return -1;
		}
	}
	if (spec->default_verdict != SP_NFT_ACCEPT && spec->default_verdict != SP_NFT_DROP) {
		sp_error_set(err, "the default action must be forward or drop");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < spec->n_entries; i++) {
		if (sp_nft_check_entry(spec, &spec->entries[i], i, err) < 0) {
			errno = EINVAL;
			return -1;
		}
	}
	for (size_t i = 0; i < spec->n_origin_marks; i++) {
		if (spec->origin_marks[i] & sp_nft_owned_mask(spec)) {
			sp_error_set(err, "origin mark 0x%x has bits inside the mark mask",
				      spec->origin_marks[i]);
			errno = EINVAL;
			return -1;
		}
	}
	if (sp_nft_group_entries(spec, &groups, &n_groups) < 0) {
		sp_error_set(err, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	/* open_memstream grows the text as needed: the C library's string builder.
	 * The maps go first in the table: the chain refers to them. */
	out = open_memstream(&text, &len);
	maps = open_memstream(&maps_text, &maps_len);
	if (!out || !maps) {
		if (out)
			fclose(out);
		if (maps)
			fclose(maps);
		free(text);
		free(maps_text);
		sp_nft_groups_free(groups, n_groups);
		sp_error_set(err, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	fprintf(out,
		"\tchain intercept {\n"
		"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		/* Any ct expression makes conntrack run in this namespace; the
		 * media entries sigproxy programs need it. */
		"\t\tct state invalid counter comment \"keeps conntrack active\"\n");
	ok &= sp_nft_put_entries(maps, out, spec, groups, n_groups, &st);
	sp_nft_groups_free(groups, n_groups);
	memset(&dflt, 0, sizeof(dflt));
	dflt.verdict = spec->default_verdict;
	dflt.comment = "default action";
	ok &= sp_nft_put_rule(out, spec, &dflt, NULL) == 0;
	fprintf(out,
		"\t}\n"
		/* NAT set on conntrack entries from userspace (the media path) is
		 * only applied when a nat chain exists in the namespace. */
		"\tchain nat_prerouting {\n"
		"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		"\t}\n"
		"\tchain nat_postrouting {\n"
		"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t}\n");
	if (spec->extra_chains)
		fputs(spec->extra_chains, out);
	sp_nft_put_source_limits(out, spec);
	ok &= fclose(maps) == 0;
	ok &= fclose(out) == 0;
	if (ok) {
		char *whole = malloc(maps_len + len + 1);

		if (whole) {
			memcpy(whole, maps_text, maps_len);
			memcpy(whole + maps_len, text, len + 1);
		}
		free(text);
		text = whole;
		ok = whole != NULL;
	}
	free(maps_text);
	if (!ok) {
		free(text);
		sp_error_set(err, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (stats)
		*stats = st;
	*body = text;
	return 0;
}
