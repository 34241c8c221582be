#ifndef SP_SIP_INT_H
#define SP_SIP_INT_H

/* SIP's parse and rewrite internals, shared by the files sp_sip.c was split
 * into: sp_sip.c (inspect, libosip2 and its parse arena), sp_sip_lex.c (the
 * scanner's pieces: start line, header lines, parameters, host:port,
 * name-addr, Via), sp_sip_scan.c (the whole-message scan) and
 * sp_sip_rewrite.c (the splice rewrite: Via, Contact, Route/Record-Route,
 * Request-URI, SDP body, Content-Length). Not for use outside them: the
 * interface is sp_sip.h. The small helpers are static inline here, as they
 * were static in one file: the scanner looks at every byte of every
 * message.
 *
 * Included after sp_sip.h (whose types it uses); it does not include it
 * itself, so that the module sp_sip and this header do not include each
 * other (scripts/layers). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct out {
	char *p;
	size_t cap;
	size_t len;
	bool full;
	const char *uri_transport;	/* the plan's, for every rewritten URI */
};

static inline void out_put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static inline void out_span(struct out *o, const char *s, const char *e)
{
	out_put(o, s, (size_t)(e - s));
}

static inline void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* Decimal digits, no NUL; 0 when they do not fit (snprintf was a tenth of
 * the rewrite's cost). */
static inline size_t fmt_uint(char *buf, size_t size, unsigned long v)
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

static inline void out_uint(struct out *o, unsigned long v)
{
	char digits[24];

	out_put(o, digits, fmt_uint(digits, sizeof(digits), v));
}

/* 1*DIGIT up to max (clamped to it when clamp); the span must be all digits. */
static inline bool span_u32(const char *s, const char *e, uint32_t max, uint32_t *v, bool clamp)
{
	unsigned long long acc = 0;

	if (!s || s == e)
		return false;
	for (; s < e; s++) {
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

/* Linear white space, including the CR/LF of a folded header line. */
static inline bool is_lws(char c)
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
	CC_V6 = 32,     /* inside an IPv6 reference's brackets: hex, ':', '.' */
	CC_PLAN = 64,   /* a host the rewrite may write: CC_HOST, ':', '[', ']' */
};

#define CC_H (CC_TOKEN | CC_HOST | CC_PLAN)

static const unsigned char char_class[256] = {
	[0] = CC_TOKEN | CC_LINE, [1 ... 8] = CC_LINE, [11 ... 12] = CC_LINE, [14 ... 31] = CC_LINE,
	[0x7f] = CC_LINE, ['\\'] = CC_LINE,
	['"'] = CC_ELEM | CC_PVAL, ['<'] = CC_ELEM | CC_PVAL, ['>'] = CC_ELEM | CC_PVAL,
	[','] = CC_ELEM | CC_PVAL, [';'] = CC_PVAL,
	[' '] = CC_PVAL, ['\t'] = CC_PVAL, ['\r'] = CC_LINE | CC_PVAL, ['\n'] = CC_LINE | CC_PVAL,
	['a' ... 'f'] = CC_H | CC_V6, ['g' ... 'z'] = CC_H,
	['A' ... 'F'] = CC_H | CC_V6, ['G' ... 'Z'] = CC_H,
	['0' ... '9'] = CC_H | CC_V6,
	['-'] = CC_H, ['.'] = CC_H | CC_V6, ['_'] = CC_H,
	[':'] = CC_V6 | CC_PLAN, ['['] = CC_PLAN, [']'] = CC_PLAN,
	['!'] = CC_TOKEN, ['%'] = CC_TOKEN, ['*'] = CC_TOKEN, ['+'] = CC_TOKEN,
	['`'] = CC_TOKEN, ['\''] = CC_TOKEN, ['~'] = CC_TOKEN,
};

#undef CC_H

static inline bool is_host_char(char c)
{
	return char_class[(unsigned char)c] & CC_HOST;
}

static inline bool span_ieq(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - s) == n && strncasecmp(s, lit, n) == 0;
}

static inline bool span_iprefix(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - s) >= n && strncasecmp(s, lit, n) == 0;
}

static inline bool parse_port(const char *s, const char *e, uint16_t *port)
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

struct start_line {
	bool request;
	const char *method_s, *method_e;
	const char *uri_s, *uri_e;
	int status;
	const char *end;        /* after the line end */
};

enum hkind {
	H_OTHER,
	H_VIA,
	H_CONTACT,
	H_ROUTE,
	H_RECORD_ROUTE,
	H_EXPIRES,      /* may repeat: the first one counts (as libosip2's) */
	H_CLEN,
	H_CTYPE,
	H_FROM,
	H_TO,
	H_CALLID,
	H_CSEQ,
	H_MAXFWD,
	H_KIND_COUNT,
};

struct hdr {
	const char *start;
	const char *name_e;
	const char *val, *val_e;        /* trimmed value, may span folded lines */
	const char *end;                /* after the final line end */
	enum hkind kind;
};

struct param {
	const char *sep;                /* whitespace before ';' starts here */
	const char *name_s, *name_e;
	const char *val_s, *val_e;      /* NULL when no '=' */
	const char *end;
};

/* A URI's host[:port]; host keeps its brackets. */
struct hostport {
	const char *hs, *he;
	const char *pe;                 /* end of host[:port] */
	bool has_port;
	uint16_t port;
	uint16_t def_port;
};

struct addr {
	const char *uri_s, *uri_e;
	const char *params;             /* header params follow here */
	bool star;
};

struct via {
	struct hostport hp;
	const char *params;
	const char *end;        /* end of the element (of its params) */
	const char *ts, *te;	/* the transport token of sent-protocol */
};

/* A header value's span (trimmed); s NULL when the header is absent. */
struct span {
	const char *s, *e;
};

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
	/* what sp_sip_fields.c reads the keys from (no second scan) */
	struct addr from, to, contact;  /* contact: the first element */
	struct span from_e, to_e, contact_e;    /* .e: the element's end */
	struct span call_id, cseq, ctype, expires;
};

static inline int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

/* sp_sip_lex.c */
int sip_scan_start_line(const char *p, const char *e, struct start_line *sl);
extern const char *const sip_duplicate_reason[H_KIND_COUNT];
int sip_next_header(const char **cur, const char *e, struct hdr *h);
int sip_next_elem(const char **p, const char *e, const char **es, const char **ee);
int sip_next_param(const char **p, const char *e, struct param *pr);
int sip_uri_hostport(const char *s, const char *e, struct hostport *hp);
int sip_parse_addr(const char *s, const char *e, bool allow_star, struct addr *a);
int sip_parse_via(const char *s, const char *e, struct via *v);

/* sp_sip_scan.c */
int sip_scan_message(const char *buf, size_t len, struct scan *sc, const char **why,
			struct sp_sip_msg *msg);

/* sp_sip.c */
bool sip_host_eq(const char *hs, const char *he, const char *want);
/* sp_sip_inspect() with every value read by libosip2, as before
 * sp_sip_fields.c: the reference test_sip compares the two with */
int sip_inspect_with_osip(struct sp_sip_msg *msg, const char *buf, size_t len);

/* sp_sip_fields.c: the values libosip2 gave, read from the scan */
int sip_extract_fields(struct sp_sip_msg *msg, const struct scan *sc);
int sip_contact_expires(const struct sp_sip_msg *msg, const char *host, uint16_t port,
			int64_t *expires);

#endif
