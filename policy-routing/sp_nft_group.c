/* Grouping of the interception entries: runs of entries of one shape become
 * one map lookup (a verdict map, or a mark map per origin) wherever that
 * changes no packet's first match; the rest stay rules of their own. */
#include "config.h"
#include "sp_nft.h"
#include "sp_nft_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sp_nft_groups_free(struct sp_nft_group *groups, size_t n)
{
	for (size_t i = 0; groups && i < n; i++)
		free(groups[i].members);
	free(groups);
}

/* Places every entry in sequence order: after the last group holding an entry
 * it overlaps (an earlier match must keep winning), in the first later group
 * of its shape, else in a new group at the end. Nothing after that group
 * overlaps it, so evaluating it there changes no packet's first match. */
int sp_nft_group_entries(const struct sp_nft_intercept *spec, struct sp_nft_group **out,
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
bool sp_nft_put_group(FILE *maps, FILE *chain, const struct sp_nft_intercept *spec,
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
