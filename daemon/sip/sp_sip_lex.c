/* The SIP scanner's pieces (sp_sip.c's header comment says why there is a
 * scanner beside libosip2): the output buffer's helpers are in sp_sip_int.h;
 * here the start line, header lines with folding and compact names,
 * comma-separated elements, parameters, host:port, name-addr/addr-spec and
 * Via sent-by, each checked for the syntax the rewriter relies on. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sp_sip.h"
#include "sp_sip_int.h"

/* ---- output buffer: never writes past cap, remembers that it ran out ---- */

/* ---- lexical helpers ---- */

static bool is_token_char(char c)
{
	return char_class[(unsigned char)c] & CC_TOKEN;
}

static const char *skip_lws(const char *p, const char *e)
{
	while (p < e && is_lws(*p))
		p++;
	return p;
}

static const char *rtrim(const char *s, const char *e)
{
	while (e > s && is_lws(e[-1]))
		e--;
	return e;
}

/* Skip a quoted-string starting at *p == '"'; NULL if unterminated. */
static const char *skip_quoted(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* ---- start line ---- */

/* No byte of the 8 at p stops line_end(): none below 0x20 (HT included,
 * for simplicity), none 0x7f, none '\\'. A "maybe" (the subtraction
 * borrows past a byte below 0x20) only sends the block to the byte loop. */
static bool block_plain(const char *p)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t x, y, z;

	memcpy(&x, p, sizeof(x));
	y = x ^ (ones * 0x7f);
	z = x ^ (ones * '\\');
	return !(((x - ones * 0x20) & ~x & high) | ((y - ones) & ~y & high) |
		 ((z - ones) & ~z & high));
}

/* Find the end of the line at p; reject control characters on the way.
 * Eight plain bytes at a time: this loop sees every byte of every header
 * line and was its scanner's largest cost (bench/count). */
static const char *line_end(const char *p, const char *e, const char **next)
{
	while (p < e) {
		const char *stop;

		if (e - p >= 8 && block_plain(p)) {
			p += 8;
			continue;
		}
		/* a block with a byte to look at: byte by byte */
		for (stop = e - p >= 8 ? p + 8 : e; p < stop; p++) {
			unsigned char c = (unsigned char)*p;

			if (!(char_class[c] & CC_LINE))
				continue;
			if (c == '\n') {
				*next = p + 1;
				return p;
			}
			if (c == '\r') {
				if (p + 1 < e && p[1] == '\n') {
					*next = p + 2;
					return p;
				}
				return NULL;
			}
			/* A quoted-pair may escape any control but CR and LF
			 * (RFC 3261 §25.1; RFC 4475 §3.1.1.2). */
			if (c == '\\' && p + 1 < e && p[1] != '\r' && p[1] != '\n') {
				p++;
				continue;
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return NULL;
		}
	}
	return NULL;
}

/* A scheme as libosip2 reads one (osip_uri_parse): two letters or more,
 * then ':' and at least one character, two for a scheme not starting with
 * "sip" (its test). RFC 3261 also allows digits, '+',
 * '-' and '.' after the first letter (RFC 4475 §3.3.3's "soap.beep"), but
 * the proxy has always refused those, when libosip2 parsed every message,
 * and the values are now read without it (sp_sip_fields.c). */
static bool valid_scheme(const char *s, const char *e)
{
	const char *p = s;

	for (; p < e && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	if (p - s < 2 || p >= e)
		return false;
	return e - (p + 1) >= (p - s >= 3 && strncasecmp(s, "sip", 3) == 0 ? 1 : 2);
}

/* Strict: single spaces, SIP/2.0, a three-digit status (RFC 4475 §3.1.2). */
int sip_scan_start_line(const char *p, const char *e, struct start_line *sl)
{
	const char *le = line_end(p, e, &sl->end);
	const char *q;

	if (!le)
		return -1;
	if (span_iprefix(p, le, "SIP/")) {
		sl->request = false;
		if (!span_iprefix(p, le, "SIP/2.0 ") || le - p < 11)
			return -1;
		q = p + 8;
		if (q[0] < '1' || q[0] > '6' || q[1] < '0' || q[1] > '9' ||
		    q[2] < '0' || q[2] > '9' || (q + 3 < le && q[3] != ' '))
			return -1;
		sl->status = (q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0');
		return 0;
	}
	sl->request = true;
	sl->method_s = p;
	for (q = p; q < le && is_token_char(*q); q++)
		;
	if (q == p || q >= le || *q != ' ')
		return -1;
	sl->method_e = q;
	sl->uri_s = ++q;
	while (q < le && *q != ' ' && *q != '\t')
		q++;
	sl->uri_e = q;
	if (q >= le || *q != ' ' || !valid_scheme(sl->uri_s, sl->uri_e))
		return -1;
	if (!span_ieq(q + 1, le, "SIP/2.0"))
		return -1;
	return 0;
}

/* ---- header lines ---- */

static const struct {
	const char *name;
	size_t len;
	char compact;
	enum hkind kind;
} header_names[] = {
	{ "via", 3, 'v', H_VIA },
	{ "contact", 7, 'm', H_CONTACT },
	{ "route", 5, 0, H_ROUTE },
	{ "record-route", 12, 0, H_RECORD_ROUTE },
	{ "content-length", 14, 'l', H_CLEN },
	{ "content-type", 12, 'c', H_CTYPE },
	{ "from", 4, 'f', H_FROM },
	{ "to", 2, 't', H_TO },
	{ "call-id", 7, 'i', H_CALLID },
	{ "cseq", 4, 0, H_CSEQ },
	{ "max-forwards", 12, 0, H_MAXFWD },
	{ "expires", 7, 0, H_EXPIRES },
};

/* Headers from H_CLEN on may appear once (RFC 4475 §3.3.8, §3.3.9). */
const char *const sip_duplicate_reason[H_KIND_COUNT] = {
	[H_CLEN] = "duplicate Content-Length", [H_CTYPE] = "duplicate Content-Type",
	[H_FROM] = "duplicate From", [H_TO] = "duplicate To",
	[H_CALLID] = "duplicate Call-ID", [H_CSEQ] = "duplicate CSeq",
	[H_MAXFWD] = "duplicate Max-Forwards",
};

/* 1: a header; 0: the empty line ending the headers; -1: malformed. */
int sip_next_header(const char **cur, const char *e, struct hdr *h)
{
	const char *p = *cur, *q, *le, *next;
	size_t n;
	char first;

	if (p >= e)
		return -1;
	if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n')) {
		*cur = p + (*p == '\r' ? 2 : 1);
		return 0;
	}
	h->start = p;
	for (q = p; q < e && is_token_char(*q); q++)
		;
	if (q == p)
		return -1;
	h->name_e = q;
	while (q < e && (*q == ' ' || *q == '\t'))
		q++;
	if (q >= e || *q != ':')
		return -1;
	h->val = ++q;
	/* Unfold: a line starting with SP/HT continues the header. */
	for (;;) {
		le = line_end(q, e, &next);
		if (!le)
			return -1;
		if (next < e && (*next == ' ' || *next == '\t')) {
			q = next;
			continue;
		}
		break;
	}
	h->end = next;
	h->val = skip_lws(h->val, le);
	h->val_e = rtrim(h->val, le);
	h->kind = H_OTHER;
	n = (size_t)(h->name_e - p);
	first = (char)(*p | 0x20); /* lower case, for letters */
	for (size_t i = 0; i < sizeof(header_names) / sizeof(header_names[0]); i++) {
		if (n == 1 ? first == header_names[i].compact :
		    n == header_names[i].len && first == header_names[i].name[0] &&
		    strncasecmp(p, header_names[i].name, n) == 0) {
			h->kind = header_names[i].kind;
			break;
		}
	}
	*cur = next;
	return 1;
}

/* Next comma-separated element; quotes and <...> protect commas. */
int sip_next_elem(const char **p, const char *e, const char **es, const char **ee)
{
	const char *s = skip_lws(*p, e), *q;
	bool angle = false;

	if (s >= e)
		return 0;
	for (q = s; q < e; q++) {
		if (!(char_class[(unsigned char)*q] & CC_ELEM))
			continue;
		if (*q == '"') {
			q = skip_quoted(q, e);
			if (!q)
				return -1;
			q--;
		} else if (*q == '<') {
			if (angle)
				return -1;
			angle = true;
		} else if (*q == '>') {
			angle = false;
		} else if (*q == ',' && !angle) {
			break;
		}
	}
	if (angle)
		return -1;
	*es = s;
	*ee = rtrim(s, q);
	if (*ee == s)
		return -1;
	*p = q < e ? q + 1 : e;
	return 1;
}

/* Next ";name[=value]" of [*p, e). */
int sip_next_param(const char **p, const char *e, struct param *pr)
{
	const char *q = skip_lws(*p, e), *r;

	if (q >= e)
		return 0;
	if (*q != ';')
		return -1;
	pr->sep = *p;
	q = skip_lws(q + 1, e);
	pr->name_s = q;
	while (q < e && is_token_char(*q))
		q++;
	if (q == pr->name_s)
		return -1;
	pr->name_e = pr->end = q;
	pr->val_s = pr->val_e = NULL;
	r = skip_lws(q, e);
	if (r < e && *r == '=') {
		r = skip_lws(r + 1, e);
		pr->val_s = r;
		if (r < e && *r == '"') {
			r = skip_quoted(r, e);
			if (!r)
				return -1;
		} else {
			/* No <, > or " in a bare value: splicing one must not
			 * change how elements and quotes balance. */
			while (r < e && !(char_class[(unsigned char)*r] & CC_PVAL))
				r++;
			if (r < e && (*r == '<' || *r == '>' || *r == '"'))
				return -1;
		}
		if (r == pr->val_s)
			return -1;
		pr->val_e = pr->end = r;
	}
	*p = pr->end;
	return 1;
}

static int check_params(const char *p, const char *e)
{
	struct param pr;
	int r;

	while ((r = sip_next_param(&p, e, &pr)) > 0)
		;
	return r;
}

/* Host, then optional SWS ":" SWS port when lws_colon (Via), ":" otherwise. */
static int parse_host_port(const char *q, const char *e, bool lws_colon,
			   struct hostport *hp)
{
	const char *r, *ps;

	hp->hs = q;
	if (q < e && *q == '[') {
		r = memchr(q, ']', e - q);
		if (!r || r == q + 1)
			return -1;
		for (const char *c = q + 1; c < r; c++)
			if (!(char_class[(unsigned char)*c] & CC_V6))
				return -1;
		hp->he = r + 1;
	} else {
		for (r = q; r < e && is_host_char(*r); r++)
			;
		if (r == q)
			return -1;
		hp->he = r;
	}
	hp->pe = hp->he;
	hp->has_port = false;
	r = lws_colon ? skip_lws(hp->he, e) : hp->he;
	if (r < e && *r == ':') {
		ps = lws_colon ? skip_lws(r + 1, e) : r + 1;
		for (r = ps; r < e && *r >= '0' && *r <= '9'; r++)
			;
		if (!parse_port(ps, r, &hp->port))
			return -1;
		hp->has_port = true;
		hp->pe = r;
	}
	return 0;
}

/* 1: sip/sips URI with host; 0: another scheme; -1: malformed. */
int sip_uri_hostport(const char *s, const char *e, struct hostport *hp)
{
	const char *q, *at;

	if (span_iprefix(s, e, "sip:")) {
		hp->def_port = 5060;
		q = s + 4;
	} else if (span_iprefix(s, e, "sips:")) {
		hp->def_port = 5061;
		q = s + 5;
	} else {
		return 0;
	}
	/* '@' may only appear unescaped as the userinfo separator. */
	at = memchr(q, '@', e - q);
	if (at)
		q = at + 1;
	if (parse_host_port(q, e, false, hp) < 0)
		return -1;
	if (hp->pe < e && *hp->pe != ';' && *hp->pe != '?')
		return -1;
	return 1;
}

/* name-addr or addr-spec followed by header params (From/To/Contact/Route). */
int sip_parse_addr(const char *s, const char *e, bool allow_star, struct addr *a)
{
	const char *q, *lt = NULL, *gt;

	a->star = false;
	if (allow_star && e - s == 1 && *s == '*') {
		a->star = true;
		a->uri_s = a->uri_e = a->params = e;
		return 0;
	}
	for (q = s; q < e; q++) {
		if (*q == '"') {
			q = skip_quoted(q, e);
			if (!q)
				return -1;
			q--;
		} else if (*q == '<') {
			lt = q;
			break;
		}
	}
	if (lt) {
		const char *ds = s, *de = rtrim(s, lt);

		if (ds < de && *ds == '"') {
			if (skip_quoted(ds, de) != de)
				return -1;
		} else {
			for (; ds < de; ds++)
				if (!is_token_char(*ds) && !is_lws(*ds))
					return -1;
		}
		gt = memchr(lt, '>', e - lt);
		if (!gt || gt == lt + 1)
			return -1;
		a->uri_s = lt + 1;
		a->uri_e = gt;
		for (q = a->uri_s; q < a->uri_e; q++)
			if (is_lws(*q))
				return -1;
		a->params = gt + 1;
	} else {
		/* RFC 3261 §20: an addr-spec with ',' '?' or ';' needs <>. */
		for (q = s; q < e && *q != ';' && !is_lws(*q); q++)
			if (*q == '?' || *q == '"')
				return -1;
		a->uri_s = s;
		a->uri_e = q;
		a->params = q;
	}
	if (!valid_scheme(a->uri_s, a->uri_e))
		return -1;
	return check_params(a->params, e);
}

/* sent-protocol LWS sent-by *(SEMI via-params), RFC 3261 §20.42. */
int sip_parse_via(const char *s, const char *e, struct via *v)
{
	const char *q = s, *ts = s;

	for (int i = 0; i < 3; i++) {
		if (i) {
			q = skip_lws(q, e);
			if (q >= e || *q != '/')
				return -1;
			q = skip_lws(q + 1, e);
		}
		ts = q;
		while (q < e && is_token_char(*q))
			q++;
		if (q == ts)
			return -1;
	}
	v->hp.def_port = span_ieq(ts, q, "TLS") ? 5061 : 5060;
	v->ts = ts;
	v->te = q;
	if (q >= e || !is_lws(*q))
		return -1;
	q = skip_lws(q, e);
	if (parse_host_port(q, e, true, &v->hp) < 0)
		return -1;
	v->params = v->hp.pe;
	v->end = e;
	return check_params(v->params, e);
}
