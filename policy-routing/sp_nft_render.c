/* The interception ruleset as nft text: a pure generator (no kernel, no
 * root), checking every entry first, then writing the table: maps and rules
 * in group order (sp_nft_group.c), the source limits, the counters. */
#include "config.h"
#include "sp_nft.h"
#include "sp_nft_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sp_nft_put_listen_ports(FILE *out, const char *l4, const struct sp_nft_intercept *spec)
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

uint32_t sp_nft_owned_mask(const struct sp_nft_intercept *spec)
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
int sp_nft_entry_family(const struct sp_nft_entry *e)
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
void sp_nft_put_nfproto(FILE *w, const struct sp_nft_entry *e)
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

const char *sp_nft_l4_keyword(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : NULL;
}

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

/* The spec as a whole, before any text: -1 (errno EINVAL) with the reason. */
static int sp_nft_check_spec(const struct sp_nft_intercept *spec, struct sp_error *err)
{
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
	return 0;
}

/* The chains of the table into out, the maps its rules look up into maps;
 * false when a write failed. */
static bool sp_nft_put_chains(FILE *maps, FILE *out, const struct sp_nft_intercept *spec,
			      const struct sp_nft_group *groups, size_t n_groups,
			      struct sp_nft_render_stats *st)
{
	struct sp_nft_entry dflt;
	bool ok = true;

	fprintf(out,
		"\tchain intercept {\n"
		"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		/* Any ct expression makes conntrack run in this namespace; the
		 * media entries sigproxy programs need it. */
		"\t\tct state invalid counter comment \"keeps conntrack active\"\n");
	ok &= sp_nft_put_entries(maps, out, spec, groups, n_groups, st);
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
	return ok;
}

int sp_nft_render_intercept_stats(const struct sp_nft_intercept *spec, char **body,
				  struct sp_nft_render_stats *stats, struct sp_error *err)
{
	struct sp_nft_render_stats st = { 0 };
	struct sp_nft_group *groups = NULL;
	char *text = NULL, *maps_text = NULL;
	size_t len = 0, maps_len = 0, n_groups = 0;
	bool ok = true;
	FILE *out, *maps;

	*body = NULL;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (sp_nft_check_spec(spec, err) < 0)
		return -1;
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
	ok &= sp_nft_put_chains(maps, out, spec, groups, n_groups, &st);
	sp_nft_groups_free(groups, n_groups);
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
