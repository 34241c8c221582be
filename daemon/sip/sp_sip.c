/*
 * size exception: 2026-12-04, temporary: helper proto is splitting sp_sip.c (issue 16 item 2); goes with the split
 * SIP message inspection (libosip2) and in-place address rewriting.
 *
 * libosip2 parses and validates the message and gives the values the engine
 * keys on. It cannot rewrite, though: it keeps no byte offsets, and
 * osip_message_to_str() re-serialises the whole message, reordering and
 * reformatting headers, while the proxy must keep every byte it does not
 * change (SPEC §2.3, as the kernel SIP helper and Kamailio do). So a small
 * hand-written scanner below finds the byte spans of the few fields the
 * proxy rewrites (start line, header lines with folding and compact names,
 * comma-separated values, name-addr/addr-spec, Via sent-by and params) and
 * the rewriter splices them into the caller's buffer. The scanner also
 * checks the syntax it relies on, and inspect cross-checks its reading
 * against libosip2's, so a message both do not agree on is refused rather
 * than half rewritten.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

#include "sp_log.h"
#include "sp_sip.h"

/* ---- output buffer: never writes past cap, remembers that it ran out ---- */

struct out {
	char *p;
	size_t cap;
	size_t len;
	bool full;
	const char *uri_transport;	/* the plan's, for every rewritten URI */
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_span(struct out *o, const char *s, const char *e)
{
	out_put(o, s, (size_t)(e - s));
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* Decimal digits, no NUL; 0 when they do not fit (snprintf was a tenth of
 * the rewrite's cost). */
static size_t fmt_uint(char *buf, size_t size, unsigned long v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (n > size)
		return 0;
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void out_uint(struct out *o, unsigned long v)
{
	char digits[24];

	out_put(o, digits, fmt_uint(digits, sizeof(digits), v));
}

/* ---- lexical helpers ---- */

/* Linear white space, including the CR/LF of a folded header line. */
static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Character classes by table: the scanner looks at every byte of every
 * message, and the per-byte tests were its largest cost. */
enum {
	CC_TOKEN = 1,   /* RFC 3261 token (and NUL, as strchr() had it) */
	CC_HOST = 2,    /* host name or IPv4 address */
	CC_LINE = 4,    /* stops line_end(): controls but HT, DEL, backslash */
	CC_ELEM = 8,    /* stops next_elem(): quote, angle brackets, comma */
	CC_PVAL = 16,   /* ends or spoils a bare parameter value */
};

static const unsigned char char_class[256] = {
	[0] = CC_TOKEN | CC_LINE, [1 ... 8] = CC_LINE, [11 ... 12] = CC_LINE, [14 ... 31] = CC_LINE,
	[0x7f] = CC_LINE, ['\\'] = CC_LINE,
	['"'] = CC_ELEM | CC_PVAL, ['<'] = CC_ELEM | CC_PVAL, ['>'] = CC_ELEM | CC_PVAL,
	[','] = CC_ELEM | CC_PVAL, [';'] = CC_PVAL,
	[' '] = CC_PVAL, ['\t'] = CC_PVAL, ['\r'] = CC_LINE | CC_PVAL, ['\n'] = CC_LINE | CC_PVAL,
	['a' ... 'z'] = CC_TOKEN | CC_HOST, ['A' ... 'Z'] = CC_TOKEN | CC_HOST,
	['0' ... '9'] = CC_TOKEN | CC_HOST,
	['-'] = CC_TOKEN | CC_HOST, ['.'] = CC_TOKEN | CC_HOST, ['_'] = CC_TOKEN | CC_HOST,
	['!'] = CC_TOKEN, ['%'] = CC_TOKEN, ['*'] = CC_TOKEN, ['+'] = CC_TOKEN,
	['`'] = CC_TOKEN, ['\''] = CC_TOKEN, ['~'] = CC_TOKEN,
};

static bool is_token_char(char c)
{
	return char_class[(unsigned char)c] & CC_TOKEN;
}

static bool is_host_char(char c)
{
	return char_class[(unsigned char)c] & CC_HOST;
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

static bool span_ieq(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - s) == n && strncasecmp(s, lit, n) == 0;
}

static bool span_iprefix(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - s) >= n && strncasecmp(s, lit, n) == 0;
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

static bool parse_port(const char *s, const char *e, uint16_t *port)
{
	unsigned v = 0;

	if (s == e || e - s > 5)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* ---- start line ---- */

struct start_line {
	bool request;
	const char *method_s, *method_e;
	const char *uri_s, *uri_e;
	int status;
	const char *end;        /* after the line end */
};

/* Find the end of the line at p; reject control characters on the way. */
static const char *line_end(const char *p, const char *e, const char **next)
{
	for (; p < e; p++) {
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
	return NULL;
}

static bool valid_scheme(const char *s, const char *e)
{
	const char *p = s;

	if (p >= e || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	for (p++; p < e && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
			return false;
	return p < e && p + 1 < e;
}

/* Strict: single spaces, SIP/2.0, a three-digit status (RFC 4475 §3.1.2). */
static int scan_start_line(const char *p, const char *e, struct start_line *sl)
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

enum hkind {
	H_OTHER,
	H_VIA,
	H_CONTACT,
	H_ROUTE,
	H_RECORD_ROUTE,
	H_CLEN,
	H_CTYPE,
	H_FROM,
	H_TO,
	H_CALLID,
	H_CSEQ,
	H_MAXFWD,
	H_KIND_COUNT,
};

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
};

/* Headers from H_CLEN on may appear once (RFC 4475 §3.3.8, §3.3.9). */
static const char *const duplicate_reason[H_KIND_COUNT] = {
	[H_CLEN] = "duplicate Content-Length", [H_CTYPE] = "duplicate Content-Type",
	[H_FROM] = "duplicate From", [H_TO] = "duplicate To",
	[H_CALLID] = "duplicate Call-ID", [H_CSEQ] = "duplicate CSeq",
	[H_MAXFWD] = "duplicate Max-Forwards",
};

struct hdr {
	const char *start;
	const char *name_e;
	const char *val, *val_e;        /* trimmed value, may span folded lines */
	const char *end;                /* after the final line end */
	enum hkind kind;
};

/* 1: a header; 0: the empty line ending the headers; -1: malformed. */
static int next_header(const char **cur, const char *e, struct hdr *h)
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
static int next_elem(const char **p, const char *e, const char **es, const char **ee)
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

struct param {
	const char *sep;                /* whitespace before ';' starts here */
	const char *name_s, *name_e;
	const char *val_s, *val_e;      /* NULL when no '=' */
	const char *end;
};

/* Next ";name[=value]" of [*p, e). */
static int next_param(const char **p, const char *e, struct param *pr)
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

	while ((r = next_param(&p, e, &pr)) > 0)
		;
	return r;
}

/* A URI's host[:port]; host keeps its brackets. */
struct hostport {
	const char *hs, *he;
	const char *pe;                 /* end of host[:port] */
	bool has_port;
	uint16_t port;
	uint16_t def_port;
};

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
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
			      (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
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
static int uri_hostport(const char *s, const char *e, struct hostport *hp)
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

struct addr {
	const char *uri_s, *uri_e;
	const char *params;             /* header params follow here */
	bool star;
};

/* name-addr or addr-spec followed by header params (From/To/Contact/Route). */
static int parse_addr(const char *s, const char *e, bool allow_star, struct addr *a)
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

struct via {
	struct hostport hp;
	const char *params;
	const char *ts, *te;	/* the transport token of sent-protocol */
};

/* sent-protocol LWS sent-by *(SEMI via-params), RFC 3261 §20.42. */
static int parse_via(const char *s, const char *e, struct via *v)
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
	return check_params(v->params, e);
}

/* ---- whole-message scan ---- */

struct scan {
	struct start_line sl;
	const char *headers;
	const char *body;
	unsigned lines[H_KIND_COUNT];
	unsigned n_via, n_contact, n_route, n_rr;
	struct via top_via;
	bool clen_present;
	size_t clen;
	bool multipart;
	int max_forwards;               /* -1: absent */
	int ruri_sip;                   /* 1 when ruri holds a sip/sips host */
	struct hostport ruri;
};

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

/* Count and check the elements of an address-list header. */
static int scan_addr_list(const struct hdr *h, bool allow_star, unsigned *n)
{
	const char *p = h->val, *es, *ee;
	struct addr a;
	int r;

	while ((r = next_elem(&p, h->val_e, &es, &ee)) > 0) {
		struct hostport hp;

		if (parse_addr(es, ee, allow_star, &a) < 0)
			return -1;
		/* a sip: host the rewrite may change must parse: an IPv6
		 * literal's brackets closed, its text an address */
		if (!a.star && uri_hostport(a.uri_s, a.uri_e, &hp) < 0)
			return -1;
		if (a.star && (*n > 0 || p < h->val_e))
			return -1;
		(*n)++;
	}
	return r;
}

/*
 * libosip2 5.3 leaks the first Content-Type of a MIME part that has two
 * (osip_body_set_contenttype() overwrites it), and its idea of where a part's
 * headers start is loose (any prefix match of the boundary, even mid-line).
 * A peer could grow our memory with such messages, so they are refused
 * before libosip2 sees them. Conservatively: a part's headers never cross an
 * empty line, so no run of non-empty lines may mention Content-Type twice.
 */
static bool part_has_two_content_types(const char *p, const char *e)
{
	int n = 0;

	while (p < e) {
		if (*p == '\r' || *p == '\n') {
			p += (*p == '\r' && p + 1 < e && p[1] == '\n') ? 2 : 1;
			if (p < e && (*p == '\r' || *p == '\n'))
				n = 0;
			continue;
		}
		if (e - p >= 12 && strncasecmp(p, "content-type", 12) == 0 && ++n > 1)
			return true;
		p++;
	}
	return false;
}

/* Remembers a header line for the rewrite (see struct sp_sip_msg). */
static void cache_header(struct sp_sip_msg *msg, const char *buf, const struct hdr *h, bool *overflow)
{
	struct sp_sip_hdr_span *c;

	if (*overflow || msg->n_hdrs == SP_SIP_HDR_CACHE) {
		*overflow = true;
		return;
	}
	c = &msg->hdrs[msg->n_hdrs++];
	c->start = (uint16_t)(h->start - buf);
	c->name_e = (uint16_t)(h->name_e - buf);
	c->val = (uint16_t)(h->val - buf);
	c->val_e = (uint16_t)(h->val_e - buf);
	c->end = (uint16_t)(h->end - buf);
	c->kind = (uint8_t)h->kind;
}

/* size exception: 2026-12-04, temporary: helper proto is splitting sp_sip.c (issue 16 item 2); goes with the split */
static int scan_message(const char *buf, size_t len, struct scan *sc, const char **why,
			struct sp_sip_msg *msg)
{
	bool overflow = false;

	const char *p = buf, *e = buf + len, *es, *ee;
	struct hdr h;
	struct addr a;
	int r;

	memset(sc, 0, sizeof(*sc));
	sc->max_forwards = -1;
	/* RFC 3261 §7.5: ignore CRLFs before the start line. */
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (scan_start_line(p, e, &sc->sl) < 0)
		return fail(why, "malformed start line", SP_SIP_E_PARSE);
	if (sc->sl.request) {
		sc->ruri_sip = uri_hostport(sc->sl.uri_s, sc->sl.uri_e, &sc->ruri);
		if (sc->ruri_sip < 0)
			return fail(why, "malformed Request-URI", SP_SIP_E_PARSE);
		/* RFC 3261 §19.1.1: no headers in a Request-URI. */
		if (sc->ruri_sip && memchr(sc->ruri.pe, '?', sc->sl.uri_e - sc->ruri.pe))
			return fail(why, "headers in Request-URI", SP_SIP_E_PARSE);
	}
	sc->headers = p = sc->sl.end;
	while ((r = next_header(&p, e, &h)) > 0) {
		const char *pp = h.val;

		cache_header(msg, buf, &h, &overflow);
		sc->lines[h.kind]++;
		if (h.kind >= H_CLEN && sc->lines[h.kind] > 1)
			return fail(why, duplicate_reason[h.kind], SP_SIP_E_PARSE);
		switch (h.kind) {
		case H_VIA:
			while ((r = next_elem(&pp, h.val_e, &es, &ee)) > 0) {
				struct via v;

				if (parse_via(es, ee, sc->n_via ? &v : &sc->top_via) < 0)
					return fail(why, "malformed Via", SP_SIP_E_PARSE);
				sc->n_via++;
			}
			if (r < 0)
				return fail(why, "malformed Via", SP_SIP_E_PARSE);
			break;
		case H_CONTACT:
			if (scan_addr_list(&h, true, &sc->n_contact) < 0)
				return fail(why, "malformed Contact", SP_SIP_E_PARSE);
			break;
		case H_ROUTE:
			if (scan_addr_list(&h, false, &sc->n_route) < 0)
				return fail(why, "malformed Route", SP_SIP_E_PARSE);
			break;
		case H_RECORD_ROUTE:
			if (scan_addr_list(&h, false, &sc->n_rr) < 0)
				return fail(why, "malformed Record-Route", SP_SIP_E_PARSE);
			break;
		case H_FROM:
		case H_TO:
			if (next_elem(&pp, h.val_e, &es, &ee) <= 0 || pp < h.val_e ||
			    parse_addr(es, ee, false, &a) < 0)
				return fail(why, h.kind == H_FROM ? "malformed From" :
					    "malformed To", SP_SIP_E_PARSE);
			break;
		case H_CTYPE:
			sc->multipart = span_iprefix(h.val, h.val_e, "multipart/");
			break;
		case H_MAXFWD: {
			unsigned long v = 0;

			const char *c = h.val;

			/* RFC 3261 §20.22: 1*DIGIT, leading zeros allowed (RFC
			 * 4475 §3.1.1.1); anything else is left alone, as before */
			for (; c < h.val_e && *c >= '0' && *c <= '9'; c++)
				if (v < 100000)
					v = v * 10 + (unsigned long)(*c - '0');
			if (c > h.val && c == h.val_e)
				sc->max_forwards = (int)v;
			break;
		}
		case H_CLEN: {
			unsigned long v = 0;

			if (h.val == h.val_e || h.val_e - h.val > 5)
				return fail(why, "bad Content-Length", SP_SIP_E_LENGTH);
			for (const char *c = h.val; c < h.val_e; c++) {
				if (*c < '0' || *c > '9')
					return fail(why, "bad Content-Length", SP_SIP_E_LENGTH);
				v = v * 10 + (unsigned long)(*c - '0');
			}
			sc->clen_present = true;
			sc->clen = v;
			break;
		}
		default:
			break;
		}
	}
	if (r < 0)
		return fail(why, "malformed header section", SP_SIP_E_PARSE);
	sc->body = p;
	if (overflow)
		msg->n_hdrs = 0;
	else
		msg->scanned_buf = buf;
	if (sc->clen_present && sc->clen > (size_t)(e - p))
		return fail(why, "Content-Length beyond datagram", SP_SIP_E_LENGTH);
	if (sc->multipart &&
	    part_has_two_content_types(p, sc->clen_present ? p + sc->clen : e))
		return fail(why, "MIME part with two Content-Types", SP_SIP_E_PARSE);
	return SP_SIP_OK;
}

/* ---- the parse arena ----
 *
 * libosip2 builds its tree from a few dozen small mallocs per message and
 * frees them one by one (bench/RESULTS.md: malloc/free were ~16 % of the
 * daemon's instructions per call). Its allocator hooks point at a per-thread
 * bump arena while sp_sip_inspect() parses: allocation is a pointer bump,
 * free a no-op, and the whole arena is reset once no inspected message of
 * the thread is alive, without walking the tree. Whatever does not fit
 * (a huge message) comes from malloc and is freed through the tree as
 * before. Outside the parse, the hooks pass through to malloc/free, so
 * libosip2 used elsewhere (other threads, tests) is unaffected.
 */

#define SP_SIP_ARENA_SIZE (256 * 1024)
#define SP_SIP_ARENA_ALIGN 16

struct sp_sip_arena {
	char *base;             /* SP_SIP_ARENA_SIZE bytes, allocated on first use */
	size_t used;
	unsigned live;          /* messages whose tree is in the arena */
	bool active;            /* allocating from it: inside a parse */
	bool spilled;           /* a block of a live tree came from malloc */
};

static __thread struct sp_sip_arena arena;
static pthread_key_t arena_key; /* frees a thread's arena when it exits */

static bool arena_owns(const void *p)
{
	return arena.base && (const char *)p >= arena.base &&
	       (const char *)p < arena.base + SP_SIP_ARENA_SIZE;
}

/* Each block is preceded by its size, for realloc. */
static void *arena_malloc(size_t size)
{
	size_t need = (SP_SIP_ARENA_ALIGN + size + SP_SIP_ARENA_ALIGN - 1) & ~(size_t)(SP_SIP_ARENA_ALIGN - 1);
	char *p;

	if (!arena.active || size > SP_SIP_ARENA_SIZE || need > SP_SIP_ARENA_SIZE - arena.used) {
		if (arena.active)
			arena.spilled = true;
		return malloc(size);
	}
	p = arena.base + arena.used;
	arena.used += need;
	ASAN_UNPOISON_MEMORY_REGION(p, need);
	memcpy(p, &size, sizeof(size));
	return p + SP_SIP_ARENA_ALIGN;
}

static void arena_free(void *p)
{
	if (!arena_owns(p))
		free(p);
}

static void *arena_realloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (!p)
		return arena_malloc(size);
	if (!arena_owns(p))
		return realloc(p, size);
	memcpy(&old, (char *)p - SP_SIP_ARENA_ALIGN, sizeof(old));
	n = arena_malloc(size);
	if (n)
		memcpy(n, p, old < size ? old : size);
	return n;
}

static void arena_thread_exit(void *base)
{
	free(base);
}

/* Before a parse (without an arena, libosip2 gets plain malloc). */
static void arena_begin(struct sp_sip_msg *msg)
{
	if (!arena.base) {
		arena.base = malloc(SP_SIP_ARENA_SIZE);
		if (!arena.base)
			return;
		pthread_setspecific(arena_key, arena.base);
		ASAN_POISON_MEMORY_REGION(arena.base, SP_SIP_ARENA_SIZE);
	}
	arena.live++;
	arena.active = true;
	msg->in_arena = true;
}

static void arena_end_parse(void)
{
	arena.active = false;
}

/* A message's tree goes: true when libosip2 must still free it (blocks
 * from malloc in it, or the message was not parsed in the arena). */
static bool arena_release(struct sp_sip_msg *msg)
{
	bool walk = !msg->in_arena || arena.spilled;

	if (!msg->in_arena)
		return true;
	msg->in_arena = false;
	if (--arena.live == 0) {
		ASAN_POISON_MEMORY_REGION(arena.base, arena.used);
		arena.used = 0;
		arena.spilled = false;
	}
	return walk;
}

/* ---- inspect ---- */

static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

/* libosip2 prints its complaints to stderr; a refused datagram is routine
 * for a proxy (counted by the engine), so they go to the debug log. */
static void osip_trace_to_log(const char *file, int line, osip_trace_level_t level,
			      const char *fmt, va_list ap)
{
	char text[256];
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	if (n && text[n - 1] == '\n')
		text[n - 1] = '\0';
	{
		char esc[SP_LOG_ESCAPED_MAX]; /* libosip2 quotes what it parsed */

		sp_debug("libosip2 (%s:%d, level %d): %s", file, line, (int)level,
			 sp_log_escape(text, esc, sizeof(esc)));
	}
}

static void parser_init_once(void)
{
	osip_trace_initialize_func(OSIP_WARNING, osip_trace_to_log);
	parser_init();
	if (pthread_key_create(&arena_key, arena_thread_exit) == 0)
		osip_set_allocators(arena_malloc, arena_realloc, arena_free);
}

void sp_sip_global_init(void)
{
	pthread_once(&parser_once, parser_init_once);
}

static const char *const method_names[] = {
	[SP_SIP_UNKNOWN] = "", [SP_SIP_INVITE] = "INVITE", [SP_SIP_ACK] = "ACK",
	[SP_SIP_BYE] = "BYE", [SP_SIP_CANCEL] = "CANCEL",
	[SP_SIP_REGISTER] = "REGISTER", [SP_SIP_OPTIONS] = "OPTIONS",
	[SP_SIP_PRACK] = "PRACK", [SP_SIP_UPDATE] = "UPDATE",
	[SP_SIP_SUBSCRIBE] = "SUBSCRIBE", [SP_SIP_NOTIFY] = "NOTIFY",
	[SP_SIP_REFER] = "REFER", [SP_SIP_MESSAGE] = "MESSAGE",
	[SP_SIP_INFO] = "INFO", [SP_SIP_PUBLISH] = "PUBLISH",
};

const char *sp_sip_method_name(enum sp_sip_method method)
{
	if ((unsigned)method >= sizeof(method_names) / sizeof(method_names[0]))
		return "";
	return method_names[method];
}

/* Method names are case-sensitive (RFC 3261 §7.1). */
enum sp_sip_method sp_sip_method_from_name(const char *name)
{
	for (unsigned i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (strcmp(name, method_names[i]) == 0)
			return (enum sp_sip_method)i;
	return SP_SIP_UNKNOWN;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return false;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return true;
}

/* Host without IPv6 brackets, as the engine wants it for inet_pton(). */
static bool copy_host(char *dst, const char *src)
{
	size_t n;

	if (!src)
		src = "";
	n = strlen(src);
	if (n >= 2 && src[0] == '[' && src[n - 1] == ']') {
		src++;
		n -= 2;
	}
	if (n >= SP_SIP_HOST_MAX)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *v, bool clamp)
{
	unsigned long long acc = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		acc = acc * 10 + (unsigned)(*s - '0');
		if (acc > max) {
			if (!clamp)
				return false;
			acc = max;
		}
	}
	*v = (uint32_t)acc;
	return true;
}

static bool opt_port(const char *s, uint16_t *port)
{
	const char *e = s ? s + strlen(s) : NULL;

	*port = 0;
	if (!s)
		return true;
	/* libosip2 leaves the white space of "sip:h:5060 ;p" in the port when
	 * the parameters are on a folded line: SWS before ';' is allowed */
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	return parse_port(s, e, port);
}

/* Same host (case-insensitive, brackets ignored)? */
static bool host_eq(const char *hs, const char *he, const char *want)
{
	size_t wn = strlen(want);

	if (he - hs >= 2 && *hs == '[' && he[-1] == ']') {
		hs++;
		he--;
	}
	if (wn >= 2 && want[0] == '[' && want[wn - 1] == ']') {
		want++;
		wn -= 2;
	}
	return (size_t)(he - hs) == wn && strncasecmp(hs, want, wn) == 0;
}

/* size exception: 2026-12-04, temporary: helper proto is splitting sp_sip.c (issue 16 item 2); goes with the split */
static int extract(struct sp_sip_msg *msg, const struct scan *sc)
{
	osip_message_t *sip = msg->osip;
	struct sp_sip_info *in = &msg->info;
	osip_via_t *via = osip_list_get(&sip->vias, 0);
	osip_contact_t *contact;
	osip_generic_param_t *param = NULL;
	osip_header_t *exp_hdr = NULL;
	uint32_t v32;

	if (!via || !via->host)
		return fail(&msg->reason, "no Via", SP_SIP_E_MISSING);
	if (!sip->from)
		return fail(&msg->reason, "no From", SP_SIP_E_MISSING);
	if (!sip->to)
		return fail(&msg->reason, "no To", SP_SIP_E_MISSING);
	if (!sip->call_id || !sip->call_id->number)
		return fail(&msg->reason, "no Call-ID", SP_SIP_E_MISSING);
	if (!sip->cseq || !sip->cseq->number || !sip->cseq->method)
		return fail(&msg->reason, "no CSeq", SP_SIP_E_MISSING);

	/* The scanner and libosip2 must read the same lists, or a splice
	 * could land somewhere libosip2 did not validate. */
	if ((unsigned)osip_list_size(&sip->vias) != sc->n_via ||
	    (unsigned)osip_list_size(&sip->contacts) != sc->n_contact ||
	    (unsigned)osip_list_size(&sip->routes) != sc->n_route ||
	    (unsigned)osip_list_size(&sip->record_routes) != sc->n_rr ||
	    !host_eq(sc->top_via.hp.hs, sc->top_via.hp.he, via->host))
		return fail(&msg->reason, "header lists ambiguous", SP_SIP_E_PARSE);

	in->is_request = MSG_IS_REQUEST(sip);
	if (in->is_request) {
		if (!copy_str(in->method_name, sizeof(in->method_name), sip->sip_method))
			return fail(&msg->reason, "method too long", SP_SIP_E_TOOLONG);
		in->method = sp_sip_method_from_name(in->method_name);
		if (strcmp(sip->sip_method, sip->cseq->method) != 0)
			return fail(&msg->reason, "CSeq method mismatch", SP_SIP_E_PARSE);
		if (sc->ruri_sip) {
			if (!sip->req_uri || !sip->req_uri->host ||
			    !host_eq(sc->ruri.hs, sc->ruri.he, sip->req_uri->host))
				return fail(&msg->reason, "Request-URI ambiguous", SP_SIP_E_PARSE);
			if (!copy_host(in->ruri.host, sip->req_uri->host))
				return fail(&msg->reason, "Request-URI host too long", SP_SIP_E_TOOLONG);
			in->ruri.port = sc->ruri.has_port ? sc->ruri.port : 0;
		}
	} else {
		in->status = sip->status_code;
	}
	if (!copy_str(in->cseq_method_name, sizeof(in->cseq_method_name), sip->cseq->method))
		return fail(&msg->reason, "CSeq method too long", SP_SIP_E_TOOLONG);
	in->cseq_method = sp_sip_method_from_name(in->cseq_method_name);
	/* RFC 3261 §8.1.1.5: the sequence number is below 2**31. */
	if (!parse_u32(sip->cseq->number, 0x7fffffffu, &in->cseq, false))
		return fail(&msg->reason, "bad CSeq number", SP_SIP_E_PARSE);

	if (!copy_host(in->via.host, via->host))
		return fail(&msg->reason, "Via host too long", SP_SIP_E_TOOLONG);
	in->via.port = sc->top_via.hp.has_port ? sc->top_via.hp.port : 0;
	if (osip_via_param_get_byname(via, "branch", &param) == 0 && param &&
	    !copy_str(in->via_branch, sizeof(in->via_branch), param->gvalue))
		return fail(&msg->reason, "branch too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_via_param_get_byname(via, "received", &param) == 0 && param &&
	    !copy_host(in->via_received, param->gvalue))
		return fail(&msg->reason, "received too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_via_param_get_byname(via, "rport", &param) == 0 && param) {
		in->via_rport = true;
		if (!opt_port(param->gvalue, &in->via_rport_value))
			return fail(&msg->reason, "bad rport", SP_SIP_E_PARSE);
	}

	if (sip->call_id->host) {
		size_t nn = strlen(sip->call_id->number), hn = strlen(sip->call_id->host);

		if (nn + 1 + hn >= sizeof(in->call_id))
			return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
		memcpy(in->call_id, sip->call_id->number, nn);
		in->call_id[nn] = '@';
		memcpy(in->call_id + nn + 1, sip->call_id->host, hn + 1);
	} else if (!copy_str(in->call_id, sizeof(in->call_id), sip->call_id->number)) {
		return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
	}
	param = NULL;
	if (osip_from_get_tag(sip->from, &param) == 0 && param &&
	    !copy_str(in->from_tag, sizeof(in->from_tag), param->gvalue))
		return fail(&msg->reason, "From tag too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_to_get_tag(sip->to, &param) == 0 && param &&
	    !copy_str(in->to_tag, sizeof(in->to_tag), param->gvalue))
		return fail(&msg->reason, "To tag too long", SP_SIP_E_TOOLONG);

	in->expires = -1;
	in->n_contacts = sc->n_contact;
	contact = osip_list_get(&sip->contacts, 0);
	if (contact && !contact->url && contact->displayname &&
	    strcmp(contact->displayname, "*") == 0) {
		in->contact_star = true;
	} else if (contact && contact->url) {
		if (!copy_host(in->contact.host, contact->url->host))
			return fail(&msg->reason, "Contact host too long", SP_SIP_E_TOOLONG);
		if (!opt_port(contact->url->port, &in->contact.port))
			return fail(&msg->reason, "bad Contact port", SP_SIP_E_PARSE);
		param = NULL;
		/* delta-seconds above 2**32-1 mean 2**32-1 (RFC 3261 §25.1) */
		if (osip_contact_param_get_byname(contact, "expires", &param) == 0 &&
		    param && parse_u32(param->gvalue, 0xffffffffu, &v32, true))
			in->expires = v32;
	}
	if (in->expires < 0 && osip_message_get_expires(sip, 0, &exp_hdr) >= 0 &&
	    exp_hdr && parse_u32(exp_hdr->hvalue, 0xffffffffu, &v32, true))
		in->expires = v32;

	in->max_forwards = in->is_request ? sc->max_forwards : -1;
	in->body_offset = (size_t)(sc->body - msg->buf);
	in->body_len = sc->clen_present ? sc->clen : msg->len - in->body_offset;
	in->body_is_sdp = in->body_len > 0 && sip->content_type &&
			  sip->content_type->type && sip->content_type->subtype &&
			  strcasecmp(sip->content_type->type, "application") == 0 &&
			  strcasecmp(sip->content_type->subtype, "sdp") == 0;
	return SP_SIP_OK;
}

int sp_sip_inspect(struct sp_sip_msg *msg, const char *buf, size_t len)
{
	struct scan sc;
	int err;

	memset(msg, 0, sizeof(*msg));
	if (!buf || len == 0 || len > SP_SIP_MAX_MSG)
		return fail(&msg->reason, "empty or oversized datagram", SP_SIP_E_ARG);
	msg->buf = buf;
	msg->len = len;
	err = scan_message(buf, len, &sc, &msg->reason, msg);
	if (err)
		return err;
	arena_begin(msg);
	if (osip_message_init(&msg->osip) != 0) {
		arena_end_parse();
		sp_sip_msg_free(msg);
		return fail(&msg->reason, "out of memory", SP_SIP_E_NOMEM);
	}
	/* Bytes past Content-Length are not part of the message (RFC 3261
	 * §18.3): libosip2 must not see them either (it would for multipart),
	 * since the rewrite drops them. */
	if (sc.clen_present)
		msg->len = (size_t)(sc.body - buf) + sc.clen;
	err = osip_message_parse(msg->osip, buf, msg->len);
	arena_end_parse();
	if (err != 0) {
		sp_sip_msg_free(msg);
		return fail(&msg->reason, "refused by libosip2", SP_SIP_E_PARSE);
	}
	err = extract(msg, &sc);
	if (err) {
		const char *why = msg->reason;

		sp_sip_msg_free(msg);
		msg->reason = why;
	}
	return err;
}

void sp_sip_msg_free(struct sp_sip_msg *msg)
{
	bool walk = arena_release(msg);

	if (msg->osip && walk)
		osip_message_free(msg->osip);
	msg->osip = NULL;
}

int sp_sip_contact_expires(const struct sp_sip_msg *msg, const char *host, uint16_t port,
			   int64_t *expires)
{
	osip_header_t *exp_hdr = NULL;
	uint32_t v32;

	*expires = -1;
	if (!msg->osip || !host)
		return 0;
	for (int i = 0; i < osip_list_size(&msg->osip->contacts); i++) {
		osip_contact_t *c = osip_list_get(&msg->osip->contacts, i);
		osip_generic_param_t *param = NULL;
		uint16_t cport;

		if (!c || !c->url || !c->url->host ||
		    !host_eq(c->url->host, c->url->host + strlen(c->url->host), host) ||
		    !opt_port(c->url->port, &cport) ||
		    (cport ? cport : 5060) != (port ? port : 5060))
			continue;
		/* delta-seconds above 2**32-1 mean 2**32-1 (RFC 3261 §25.1) */
		if (osip_contact_param_get_byname(c, "expires", &param) == 0 && param &&
		    parse_u32(param->gvalue, 0xffffffffu, &v32, true))
			*expires = v32;
		else if (osip_message_get_expires(msg->osip, 0, &exp_hdr) >= 0 && exp_hdr &&
			 parse_u32(exp_hdr->hvalue, 0xffffffffu, &v32, true))
			*expires = v32;
		return 1;
	}
	return 0;
}

/* ---- rewrite ---- */

static bool valid_plan_host(const char *h)
{
	if (!h || !*h)
		return false;
	for (; *h; h++)
		if (!is_host_char(*h) && *h != ':' && *h != '[' && *h != ']')
			return false;
	return true;
}

static bool valid_map(const struct sp_sip_addr_map *m, bool need_from)
{
	return (m->from.host ? valid_plan_host(m->from.host) : !need_from) &&
	       valid_plan_host(m->to.host);
}

static bool valid_plan(const struct sp_sip_plan *pl)
{
	if (pl->via_sent_by && !valid_plan_host(pl->via_sent_by->host))
		return false;
	if (pl->via_received_op == SP_SIP_PARAM_SET && !valid_plan_host(pl->via_received))
		return false;
	if (pl->contact && !valid_map(pl->contact, false))
		return false;
	if (pl->ruri && !valid_map(pl->ruri, true))
		return false;
	for (size_t i = 0; i < pl->n_routes; i++)
		if (!valid_map(&pl->routes[i], true))
			return false;
	if (pl->sdp.media_addr && !valid_plan_host(pl->sdp.media_addr))
		return false;
	return true;
}

static bool addr_match(const struct sp_sip_addr *want, const struct hostport *hp)
{
	if (!want->host)
		return true;
	if (!host_eq(hp->hs, hp->he, want->host))
		return false;
	return !want->port || want->port == (hp->has_port ? hp->port : hp->def_port);
}

/* host[:port], bracketing an IPv6 address as URIs and Via need. */
static void out_hostport(struct out *o, const struct sp_sip_addr *a)
{
	bool v6 = strchr(a->host, ':') && a->host[0] != '[';

	if (v6)
		out_str(o, "[");
	out_str(o, a->host);
	if (v6)
		out_str(o, "]");
	if (a->port) {
		out_str(o, ":");
		out_uint(o, a->port);
	}
}

/* received= carries a bare address (RFC 3261 §20.42, RFC 5118 §4.5). */
static void out_bare_host(struct out *o, const char *h)
{
	size_t n = strlen(h);

	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		out_put(o, h + 1, n - 2);
	else
		out_put(o, h, n);
}

static void out_rport(struct out *o, uint16_t port)
{
	out_str(o, "rport");
	if (port) {
		out_str(o, "=");
		out_uint(o, port);
	}
}

/* Top Via element: sent-by, received, rport. *copied tracks the input. */
static int rewrite_top_via(struct out *o, const char *es, const char *ee,
			   const struct sp_sip_plan *pl, const char **copied)
{
	bool have_received = false, have_rport = false;
	struct param pr;
	struct via v;
	const char *p;
	int r;

	if (parse_via(es, ee, &v) < 0)
		return -1;
	if (pl->via_transport) {
		out_span(o, *copied, v.ts);
		out_str(o, pl->via_transport);
		*copied = v.te;
	}
	if (pl->via_sent_by) {
		out_span(o, *copied, v.hp.hs);
		out_hostport(o, pl->via_sent_by);
		*copied = v.hp.pe;
	}
	p = v.params;
	while ((r = next_param(&p, ee, &pr)) > 0) {
		bool is_received = span_ieq(pr.name_s, pr.name_e, "received");
		bool is_rport = span_ieq(pr.name_s, pr.name_e, "rport");
		enum sp_sip_param_op op = is_received ? pl->via_received_op :
					  is_rport ? pl->via_rport_op : SP_SIP_PARAM_KEEP;

		have_received |= is_received;
		have_rport |= is_rport;
		if (op == SP_SIP_PARAM_REMOVE) {
			out_span(o, *copied, pr.sep);
			*copied = pr.end;
		} else if (op == SP_SIP_PARAM_SET) {
			out_span(o, *copied, pr.name_s);
			if (is_received) {
				out_str(o, "received=");
				out_bare_host(o, pl->via_received);
			} else {
				out_rport(o, pl->via_rport);
			}
			*copied = pr.end;
		}
	}
	if (r < 0)
		return -1;
	if ((pl->via_received_op == SP_SIP_PARAM_SET && !have_received) ||
	    (pl->via_rport_op == SP_SIP_PARAM_SET && !have_rport)) {
		out_span(o, *copied, ee);
		*copied = ee;
		if (pl->via_received_op == SP_SIP_PARAM_SET && !have_received) {
			out_str(o, ";received=");
			out_bare_host(o, pl->via_received);
		}
		if (pl->via_rport_op == SP_SIP_PARAM_SET && !have_rport) {
			out_str(o, ";");
			out_rport(o, pl->via_rport);
		}
	}
	return 0;
}

/* The transport parameter of a rewritten URI's parameters (from *copied,
 * just after its host:port, to ue): removed, then written as transport
 * says unless that is "". */
static void rewrite_uri_transport(struct out *o, const char *ue, const char *transport,
				  const char **copied)
{
	const char *p = *copied;

	while (p < ue && *p == ';') {
		const char *ns = p + 1, *q = ns;

		while (q < ue && *q != ';' && *q != '?')
			q++;
		if (q - ns >= 9 && strncasecmp(ns, "transport", 9) == 0 && (q - ns == 9 || ns[9] == '=')) {
			out_span(o, *copied, p);
			*copied = q;
		}
		p = q;
	}
	if (transport[0]) {
		out_span(o, *copied, p);
		out_str(o, ";transport=");
		out_str(o, transport);
		*copied = p;
	}
}

/* Substitute the host:port of one URI span if a map matches. */
static int rewrite_uri(struct out *o, const char *us, const char *ue,
		       const struct sp_sip_addr_map *maps, size_t n_maps,
		       const char **copied)
{
	struct hostport hp;
	int r = uri_hostport(us, ue, &hp);

	if (r <= 0)
		return r;
	for (size_t i = 0; i < n_maps; i++) {
		if (!addr_match(&maps[i].from, &hp))
			continue;
		out_span(o, *copied, hp.hs);
		out_hostport(o, &maps[i].to);
		*copied = hp.pe;
		if (o->uri_transport)
			rewrite_uri_transport(o, ue, o->uri_transport, copied);
		return 1;
	}
	return 0;
}

static int rewrite_addr_list(struct out *o, const struct hdr *h,
			     const struct sp_sip_addr_map *maps, size_t n_maps,
			     const char **copied)
{
	const char *p = h->val, *es, *ee;
	struct addr a;
	int r;

	while ((r = next_elem(&p, h->val_e, &es, &ee)) > 0) {
		int done;

		if (parse_addr(es, ee, true, &a) < 0)
			return -1;
		if (a.star)
			continue;
		done = rewrite_uri(o, a.uri_s, a.uri_e, maps, n_maps, copied);
		if (done < 0)
			return -1;
		/* A bare addr-spec with white space before its parameters:
		 * libosip2 refuses "sip:h:port \r\n ;p" (a port before a folded
		 * line) though it took "sip:h \r\n ;p"; the space is optional,
		 * so the rewritten one goes without it. */
		if (done && a.params == a.uri_e && *copied == a.uri_e) {
			const char *q = a.uri_e;

			while (q < ee && is_lws(*q))
				q++;
			*copied = q;
		}
	}
	return r;
}

static bool has_sdp_part(osip_message_t *sip)
{
	osip_body_t *b;
	int pos = 0;

	while ((b = osip_list_get(&sip->bodies, pos++)) != NULL)
		if (b->content_type && b->content_type->subtype &&
		    strcasecmp(b->content_type->subtype, "sdp") == 0)
			return true;
	return false;
}

static int rewrite_body(struct sp_sip_msg *msg, const struct sp_sip_plan *pl,
			struct out *o, bool *changed)
{
	const char *body = msg->buf + msg->info.body_offset;
	size_t n = 0;
	int err;

	*changed = false;
	if (!pl->sdp.media_addr && !pl->sdp.port_map) {
		out_put(o, body, msg->info.body_len);
		return SP_SIP_OK;
	}
	if (!msg->info.body_is_sdp) {
		if (msg->info.body_len && has_sdp_part(msg->osip))
			return fail(&msg->reason, "SDP inside multipart body",
				    SP_SIP_E_REWRITE);
		out_put(o, body, msg->info.body_len);
		return SP_SIP_OK;
	}
	if (o->full)
		return SP_SIP_OK;
	err = sp_sdp_rewrite(body, msg->info.body_len, &pl->sdp, o->p + o->len,
			     o->cap - o->len, &n);
	switch (err) {
	case SP_SDP_OK:
		o->len += n;
		*changed = true;
		return SP_SIP_OK;
	case SP_SDP_E_NOSPACE:
		o->full = true;
		return SP_SIP_OK;
	case SP_SDP_E_REFUSED:
		return fail(&msg->reason, "media port refused", SP_SIP_E_MEDIA);
	default:
		return fail(&msg->reason, sp_sdp_strerror(err), SP_SIP_E_REWRITE);
	}
}

/* Put the new body length into Content-Length, moving the body if needed. */
static int fix_content_length(struct out *o, size_t digits_at, size_t digits_len,
			      size_t body_at, const char *insert)
{
	char text[48];
	size_t body_len = o->len - body_at, n;

	if (insert) {
		n = (size_t)snprintf(text, sizeof(text), "Content-Length: %zu%s",
				     body_len, insert);
	} else {
		n = fmt_uint(text, sizeof(text), body_len);
	}
	if (n > digits_len && n - digits_len > o->cap - o->len)
		return -1;
	memmove(o->p + digits_at + n, o->p + digits_at + digits_len,
		o->len - digits_at - digits_len);
	memcpy(o->p + digits_at, text, n);
	o->len = o->len - digits_len + n;
	return 0;
}

/* next_header() over the rewrite's input, from what the inspection
 * remembered when it can. */
static int rewrite_next_header(const struct sp_sip_msg *msg, unsigned *idx, const char **cur,
			       const char *e, struct hdr *h)
{
	const struct sp_sip_hdr_span *c;
	const char *b = msg->buf;

	if (msg->scanned_buf != msg->buf || !msg->n_hdrs)
		return next_header(cur, e, h);
	if (*idx == msg->n_hdrs) {
		*cur = e; /* the body starts after the empty line */
		return 0;
	}
	c = &msg->hdrs[(*idx)++];
	h->start = b + c->start;
	h->name_e = b + c->name_e;
	h->val = b + c->val;
	h->val_e = b + c->val_e;
	h->end = b + c->end;
	h->kind = (enum hkind)c->kind;
	*cur = h->end;
	return 1;
}

/* size exception: 2026-12-04, temporary: helper proto is splitting sp_sip.c (issue 16 item 2); goes with the split */
int sp_sip_rewrite(struct sp_sip_msg *msg, const struct sp_sip_plan *pl,
		   char *out, size_t out_size, size_t *out_len)
{
	unsigned hdr_idx = 0;
	struct out o = { .p = out, .cap = out_size, .uri_transport = pl->uri_transport };
	const char *p, *e, *copied;
	struct start_line sl;
	bool first_via = true, body_changed;
	size_t clen_at = 0, clen_digits = 0, blank_at, body_at;
	const char *eol = "\r\n";
	struct hdr h;
	int r, err;

	if (!msg || !msg->osip || !pl || !out || !out_len)
		return SP_SIP_E_ARG;
	if (!valid_plan(pl))
		return fail(&msg->reason, "invalid plan", SP_SIP_E_ARG);
	p = copied = msg->buf;
	e = msg->buf + msg->info.body_offset;
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (scan_start_line(p, e, &sl) < 0)
		return fail(&msg->reason, "start line changed", SP_SIP_E_ARG);
	if (sl.request && pl->ruri &&
	    rewrite_uri(&o, sl.uri_s, sl.uri_e, pl->ruri, 1, &copied) < 0)
		return fail(&msg->reason, "Request-URI", SP_SIP_E_REWRITE);
	p = sl.end;
	while ((r = rewrite_next_header(msg, &hdr_idx, &p, e, &h)) > 0) {
		switch (h.kind) {
		case H_VIA: {
			const char *vp = h.val, *es, *ee;

			if (!first_via)
				break;
			first_via = false;
			if (next_elem(&vp, h.val_e, &es, &ee) <= 0 ||
			    rewrite_top_via(&o, es, ee, pl, &copied) < 0)
				return fail(&msg->reason, "Via", SP_SIP_E_REWRITE);
			break;
		}
		case H_CONTACT:
			if (pl->contact && rewrite_addr_list(&o, &h, pl->contact, 1, &copied) < 0)
				return fail(&msg->reason, "Contact", SP_SIP_E_REWRITE);
			break;
		case H_ROUTE:
		case H_RECORD_ROUTE:
			if (pl->n_routes &&
			    rewrite_addr_list(&o, &h, pl->routes, pl->n_routes, &copied) < 0)
				return fail(&msg->reason, "Route", SP_SIP_E_REWRITE);
			break;
		case H_MAXFWD:
			if (pl->set_max_forwards && sl.request) {
				out_span(&o, copied, h.val);
				out_uint(&o, pl->max_forwards);
				copied = h.val_e;
			}
			break;
		case H_CLEN:
			out_span(&o, copied, h.val);
			copied = h.val;
			clen_at = o.len;
			clen_digits = (size_t)(h.val_e - h.val);
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return fail(&msg->reason, "header section changed", SP_SIP_E_ARG);
	/* The empty line: a new Content-Length goes just before it. */
	out_span(&o, copied, p - (p[-2] == '\r' ? 2 : 1));
	blank_at = o.len;
	if (p[-2] != '\r')
		eol = "\n";
	out_str(&o, eol);
	body_at = o.len;
	err = rewrite_body(msg, pl, &o, &body_changed);
	if (err)
		return err;
	if (o.full)
		return fail(&msg->reason, "output buffer too small", SP_SIP_E_NOSPACE);
	if (body_changed) {
		if (clen_digits) {
			r = fix_content_length(&o, clen_at, clen_digits, body_at, NULL);
		} else {
			r = fix_content_length(&o, blank_at, 0, body_at, eol);
		}
		if (r < 0)
			return fail(&msg->reason, "output buffer too small", SP_SIP_E_NOSPACE);
	}
	*out_len = o.len;
	return SP_SIP_OK;
}

const char *sp_sip_strerror(int err)
{
	switch (err) {
	case SP_SIP_OK:
		return "success";
	case SP_SIP_E_ARG:
		return "invalid argument";
	case SP_SIP_E_PARSE:
		return "malformed SIP message";
	case SP_SIP_E_MISSING:
		return "mandatory header missing";
	case SP_SIP_E_LENGTH:
		return "bad Content-Length";
	case SP_SIP_E_TOOLONG:
		return "field too long";
	case SP_SIP_E_NOMEM:
		return "out of memory";
	case SP_SIP_E_NOSPACE:
		return "output buffer too small";
	case SP_SIP_E_REWRITE:
		return "cannot rewrite safely";
	case SP_SIP_E_MEDIA:
		return "media port refused";
	default:
		return "unknown error";
	}
}
