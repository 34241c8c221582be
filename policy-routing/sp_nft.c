#include "config.h"
#include "sp_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>

#define SP_NFT_TABLE_REF SP_NFT_FAMILY " " SP_NFT_TABLE

struct sp_nft {
	struct nft_ctx *ctx;
};

static void sp_nft_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sp_nft_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int sp_nft_open(struct sp_nft **out, char *err, size_t errlen)
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
	sp_nft_seterr(err, errlen, "cannot set up libnftables: %s", strerror(errno ? errno : ENOMEM));
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
static void sp_nft_error_summary(const char *text, char *err, size_t errlen, const char *what)
{
	const char *msg = strstr(text, "Error: ");
	const char *eol, *src, *src_eol;
	bool located;
	int msg_len, src_len;

	if (!msg) {
		sp_nft_seterr(err, errlen, "%s: nft failed without a message", what);
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
		sp_nft_seterr(err, errlen, "%s: %.*s (at \"%.*s\")", what, msg_len, msg,
			      src_len, src);
	else
		sp_nft_seterr(err, errlen, "%s: %.*s", what, msg_len, msg);
}

static int sp_nft_run(struct sp_nft *nft, const char *cmd, const char *what, char *err,
		      size_t errlen)
{
	const char *errtext;

	/* Reading a buffer also empties it for the next command. */
	nft_ctx_get_error_buffer(nft->ctx);
	nft_ctx_get_output_buffer(nft->ctx);
	if (nft_run_cmd_from_buffer(nft->ctx, cmd) == 0)
		return 0;
	errtext = nft_ctx_get_error_buffer(nft->ctx);
	sp_nft_error_summary(errtext ? errtext : "", err, errlen, what);
	/* libnftables gives text, not an errno; these are the ones callers act on. */
	if (errtext && strstr(errtext, "Operation not permitted"))
		errno = EPERM;
	else if (errtext && strstr(errtext, "No such file or directory"))
		errno = ENOENT;
	else
		errno = EINVAL;
	return -1;
}

int sp_nft_apply(struct sp_nft *nft, const char *body, char *err, size_t errlen)
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
		sp_nft_seterr(err, errlen, "cannot apply nftables table: out of memory");
		errno = ENOMEM;
		return -1;
	}
	memcpy(cmd, head, sizeof(head) - 1);
	memcpy(cmd + sizeof(head) - 1, body, len);
	strcpy(cmd + sizeof(head) - 1 + len, "\n}\n");
	ret = sp_nft_run(nft, cmd, "nftables refused table " SP_NFT_TABLE_REF, err, errlen);
	free(cmd);
	return ret;
}

int sp_nft_remove(struct sp_nft *nft, char *err, size_t errlen)
{
	return sp_nft_run(nft, "table " SP_NFT_TABLE_REF "\ndelete table " SP_NFT_TABLE_REF "\n",
			  "cannot remove table " SP_NFT_TABLE_REF, err, errlen);
}

int sp_nft_list(struct sp_nft *nft, char **text, char *err, size_t errlen)
{
	const char *out;

	*text = NULL;
	if (sp_nft_run(nft, "list table " SP_NFT_TABLE_REF, "cannot list table " SP_NFT_TABLE_REF,
		       err, errlen) < 0)
		return -1;
	out = nft_ctx_get_output_buffer(nft->ctx);
	*text = strdup(out ? out : "");
	if (!*text) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
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
	return fs ? fs : fd;
}

static int sp_nft_check_entry(const struct sp_nft_intercept *spec, const struct sp_nft_entry *e,
			      size_t idx, char *err, size_t errlen)
{
	uint32_t owned = sp_nft_owned_mask(spec), fwmask = sp_nft_fwmask(spec);

	if (sp_nft_entry_family(e) < 0) {
		sp_nft_seterr(err, errlen, "entry %zu: source and destination are of different address families", idx);
		return -1;
	}
	if ((e->src.addr.family && e->src.addr.family != AF_INET && e->src.addr.family != AF_INET6) ||
	    (e->dst.addr.family && e->dst.addr.family != AF_INET && e->dst.addr.family != AF_INET6)) {
		sp_nft_seterr(err, errlen, "entry %zu: unknown address family", idx);
		return -1;
	}
	if (e->n_iifnames > SP_NFT_MAX_IIFNAMES) {
		sp_nft_seterr(err, errlen, "entry %zu: more than %d input interfaces", idx, SP_NFT_MAX_IIFNAMES);
		return -1;
	}
	for (size_t i = 0; i < e->n_iifnames; i++) {
		if (!sp_nft_ifname_ok(e->iifnames[i])) {
			sp_nft_seterr(err, errlen, "entry %zu: invalid interface name \"%.*s\"", idx,
				      IFNAMSIZ, e->iifnames[i]);
			return -1;
		}
	}
	if (e->comment && !sp_nft_quotable(e->comment, 128)) {
		sp_nft_seterr(err, errlen, "entry %zu: comment must be 1-127 characters without quotes or backslashes", idx);
		return -1;
	}
	if ((e->sport.start > e->sport.end) || (e->dport.start > e->dport.end) ||
	    (!e->sport.start && e->sport.end) || (!e->dport.start && e->dport.end)) {
		sp_nft_seterr(err, errlen, "entry %zu: invalid port range", idx);
		return -1;
	}
	if (e->mark & ~owned) {
		sp_nft_seterr(err, errlen, "entry %zu: mark 0x%x has bits outside the mark mask 0x%x",
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
		sp_nft_seterr(err, errlen, "entry %zu: unknown verdict %d", idx, (int)e->verdict);
		return -1;
	}
	if (e->ip_proto && e->ip_proto != IPPROTO_UDP && e->ip_proto != IPPROTO_TCP) {
		sp_nft_seterr(err, errlen, "entry %zu: TPROXY takes only udp and tcp, not protocol %u",
			      idx, e->ip_proto);
		return -1;
	}
	if (!e->tproxy_port) {
		sp_nft_seterr(err, errlen, "entry %zu: TPROXY needs a listener port", idx);
		return -1;
	}
	/* Without the mark the fwmark rule never sends the packet to the local
	 * table, and nothing reaches the listener. */
	if (!fwmask || (fwmask & ~owned) || ((e->mark ^ spec->fwmark) & fwmask)) {
		sp_nft_seterr(err, errlen, "entry %zu: mark 0x%x does not carry the interception fwmark 0x%x/0x%x",
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

int sp_nft_render_intercept(const struct sp_nft_intercept *spec, char **body,
			    char *err, size_t errlen)
{
	struct sp_nft_entry dflt;
	char *text = NULL;
	size_t len = 0;
	bool ok = true;
	FILE *out;

	*body = NULL;
	if (!spec->n_listen_ports || !spec->listen_ports) {
		sp_nft_seterr(err, errlen, "no listen port to intercept");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < spec->n_listen_ports; i++) {
		if (!spec->listen_ports[i]) {
			sp_nft_seterr(err, errlen, "listen port 0 is not a port");
			errno = EINVAL;
			return -1;
		}
	}
	if (spec->default_verdict != SP_NFT_ACCEPT && spec->default_verdict != SP_NFT_DROP) {
		sp_nft_seterr(err, errlen, "the default action must be forward or drop");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < spec->n_entries; i++) {
		if (sp_nft_check_entry(spec, &spec->entries[i], i, err, errlen) < 0) {
			errno = EINVAL;
			return -1;
		}
	}
	/* open_memstream grows the text as needed: the C library's string builder. */
	out = open_memstream(&text, &len);
	if (!out) {
		sp_nft_seterr(err, errlen, "out of memory");
		return -1;
	}
	fprintf(out,
		"\tchain intercept {\n"
		"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		/* Any ct expression makes conntrack run in this namespace; the
		 * media entries sigproxy programs need it. */
		"\t\tct state invalid counter comment \"keeps conntrack active\"\n");
	for (size_t i = 0; i < spec->n_entries; i++) {
		const struct sp_nft_entry *e = &spec->entries[i];

		/* TPROXY needs a known transport protocol in the rule: "any"
		 * becomes one rule per protocol. */
		if (e->verdict == SP_NFT_TPROXY && !e->ip_proto) {
			ok &= sp_nft_put_rule(out, spec, e, "udp") == 0;
			ok &= sp_nft_put_rule(out, spec, e, "tcp") == 0;
		} else {
			ok &= sp_nft_put_rule(out, spec, e, sp_nft_l4_keyword(e->ip_proto)) == 0;
		}
	}
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
	if (fclose(out) != 0 || !ok) {
		free(text);
		sp_nft_seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	*body = text;
	return 0;
}
