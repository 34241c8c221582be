/* The whole-message scan: every header line of a datagram once, counted,
 * checked against the RFC 4475 torture cases the rewriter must not
 * half-handle, and remembered (offsets) so the rewrite does not scan again. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sp_sip.h"
#include "sp_sip_int.h"

/* ---- whole-message scan ---- */

/* Count and check the elements of an address-list header. */
static int scan_addr_list(const struct hdr *h, bool allow_star, unsigned *n,
			  struct addr *first, struct span *first_e)
{
	const char *p = h->val, *es, *ee;
	struct addr a;
	int r;

	while ((r = sip_next_elem(&p, h->val_e, &es, &ee)) > 0) {
		struct hostport hp;

		if (sip_parse_addr(es, ee, allow_star, &a) < 0)
			return -1;
		/* a sip: host the rewrite may change must parse: an IPv6
		 * literal's brackets closed, its text an address */
		if (!a.star && sip_uri_hostport(a.uri_s, a.uri_e, &hp) < 0)
			return -1;
		if (a.star && (*n > 0 || p < h->val_e))
			return -1;
		if (*n == 0 && first) {
			*first = a;
			first_e->s = es;
			first_e->e = ee;
		}
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

/* The value of a header sp_sip_fields.c reads (the first Expires). */
static void remember_value(struct scan *sc, const struct hdr *h)
{
	struct span *v = h->kind == H_CTYPE ? &sc->ctype : h->kind == H_CALLID ? &sc->call_id :
			 h->kind == H_CSEQ ? &sc->cseq : &sc->expires;

	if (!v->s)
		*v = (struct span){ h->val, h->val_e };
}

/* From or To: one name-addr or addr-spec, kept for its tag. */
static int scan_from_to(struct scan *sc, const struct hdr *h, const char **why)
{
	const char *pp = h->val, *es, *ee;
	struct addr a;

	if (sip_next_elem(&pp, h->val_e, &es, &ee) <= 0 || pp < h->val_e ||
	    sip_parse_addr(es, ee, false, &a) < 0)
		return fail(why, h->kind == H_FROM ? "malformed From" : "malformed To",
			    SP_SIP_E_PARSE);
	if (h->kind == H_FROM) {
		sc->from = a;
		sc->from_e = (struct span){ es, ee };
	} else {
		sc->to = a;
		sc->to_e = (struct span){ es, ee };
	}
	return SP_SIP_OK;
}

/* One header line the rewriter relies on, checked (and counted) in sc. */
static int scan_header(struct scan *sc, const struct hdr *h, const char **why)
{
	const char *pp = h->val, *es, *ee;
	int r;

	switch (h->kind) {
	case H_VIA:
		while ((r = sip_next_elem(&pp, h->val_e, &es, &ee)) > 0) {
			struct via v;

			if (sip_parse_via(es, ee, sc->n_via ? &v : &sc->top_via) < 0)
				return fail(why, "malformed Via", SP_SIP_E_PARSE);
			sc->n_via++;
		}
		if (r < 0)
			return fail(why, "malformed Via", SP_SIP_E_PARSE);
		break;
	case H_CONTACT:
		if (scan_addr_list(h, true, &sc->n_contact, &sc->contact, &sc->contact_e) < 0)
			return fail(why, "malformed Contact", SP_SIP_E_PARSE);
		break;
	case H_ROUTE:
		if (scan_addr_list(h, false, &sc->n_route, NULL, NULL) < 0)
			return fail(why, "malformed Route", SP_SIP_E_PARSE);
		break;
	case H_RECORD_ROUTE:
		if (scan_addr_list(h, false, &sc->n_rr, NULL, NULL) < 0)
			return fail(why, "malformed Record-Route", SP_SIP_E_PARSE);
		break;
	case H_FROM:
	case H_TO:
		return scan_from_to(sc, h, why);
	case H_CTYPE:
		sc->multipart = span_iprefix(h->val, h->val_e, "multipart/");
		/* fall through */
	case H_CALLID:
	case H_CSEQ:
	case H_EXPIRES:
		remember_value(sc, h);
		break;
	case H_MAXFWD: {
		unsigned long v = 0;

		const char *c = h->val;

		/* RFC 3261 §20.22: 1*DIGIT, leading zeros allowed (RFC
		 * 4475 §3.1.1.1); anything else is left alone, as before */
		for (; c < h->val_e && *c >= '0' && *c <= '9'; c++)
			if (v < 100000)
				v = v * 10 + (unsigned long)(*c - '0');
		if (c > h->val && c == h->val_e)
			sc->max_forwards = (int)v;
		break;
	}
	case H_CLEN: {
		unsigned long v = 0;

		if (h->val == h->val_e || h->val_e - h->val > 5)
			return fail(why, "bad Content-Length", SP_SIP_E_LENGTH);
		for (const char *c = h->val; c < h->val_e; c++) {
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
	return SP_SIP_OK;
}

int sip_scan_message(const char *buf, size_t len, struct scan *sc, const char **why,
			struct sp_sip_msg *msg)
{
	bool overflow = false;

	const char *p = buf, *e = buf + len;
	struct hdr h;
	int r;

	memset(sc, 0, sizeof(*sc));
	sc->max_forwards = -1;
	/* RFC 3261 §7.5: ignore CRLFs before the start line. */
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (sip_scan_start_line(p, e, &sc->sl) < 0)
		return fail(why, "malformed start line", SP_SIP_E_PARSE);
	if (sc->sl.request) {
		sc->ruri_sip = sip_uri_hostport(sc->sl.uri_s, sc->sl.uri_e, &sc->ruri);
		if (sc->ruri_sip < 0)
			return fail(why, "malformed Request-URI", SP_SIP_E_PARSE);
		/* RFC 3261 §19.1.1: no headers in a Request-URI. */
		if (sc->ruri_sip && memchr(sc->ruri.pe, '?', sc->sl.uri_e - sc->ruri.pe))
			return fail(why, "headers in Request-URI", SP_SIP_E_PARSE);
	}
	sc->headers = p = sc->sl.end;
	while ((r = sip_next_header(&p, e, &h)) > 0) {
		int err;

		cache_header(msg, buf, &h, &overflow);
		sc->lines[h.kind]++;
		if (h.kind >= H_CLEN && sc->lines[h.kind] > 1)
			return fail(why, sip_duplicate_reason[h.kind], SP_SIP_E_PARSE);
		err = scan_header(sc, &h, why);
		if (err)
			return err;
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
