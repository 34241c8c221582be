/* The splice rewrite (sp_sip_rewrite): a plan of address substitutions
 * applied to an inspected message, only the changed fields written, every
 * other byte copied: top Via sent-by, received and rport; Contact,
 * Route/Record-Route and Request-URI host:port; the SDP body through
 * sp_sdp_rewrite; Content-Length fixed or added. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "sp_sdp.h"
#include "sp_sip.h"
#include "sp_sip_int.h"

/* ---- rewrite ---- */

static bool valid_plan_host(const char *h)
{
	if (!h || !*h)
		return false;
	for (; *h; h++)
		if (!(char_class[(unsigned char)*h] & CC_PLAN))
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
	if (!sip_host_eq(hp->hs, hp->he, want->host))
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

	if (sip_parse_via(es, ee, &v) < 0)
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
	while ((r = sip_next_param(&p, ee, &pr)) > 0) {
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
	int r = sip_uri_hostport(us, ue, &hp);

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

	while ((r = sip_next_elem(&p, h->val_e, &es, &ee)) > 0) {
		int done;

		if (sip_parse_addr(es, ee, true, &a) < 0)
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
		/* only a multipart body has parts (and its tree) */
		if (msg->info.body_len && msg->osip && has_sdp_part(msg->osip))
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

/* sip_next_header() over the rewrite's input, from what the inspection
 * remembered when it can. */
static int rewrite_next_header(const struct sp_sip_msg *msg, unsigned *idx, const char **cur,
			       const char *e, struct hdr *h)
{
	const struct sp_sip_hdr_span *c;
	const char *b = msg->buf;

	if (msg->scanned_buf != msg->buf || !msg->n_hdrs)
		return sip_next_header(cur, e, h);
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

/* What the header lines before the current one left to the rest. */
struct hdr_state {
	bool first_via;		/* the top Via not yet seen */
	size_t clen_at;		/* Content-Length's digits in the output */
	size_t clen_digits;	/* and how many; 0: no Content-Length */
};

/* One header line of the plan's: spliced into o up to its changed parts
 * (*copied: how far the input is copied). NULL, or what failed. */
static const char *rewrite_header(struct out *o, const struct hdr *h, const struct sp_sip_plan *pl,
				  bool request, struct hdr_state *hs, const char **copied)
{
	switch (h->kind) {
	case H_VIA: {
		const char *vp = h->val, *es, *ee;

		if (!hs->first_via)
			break;
		hs->first_via = false;
		if (sip_next_elem(&vp, h->val_e, &es, &ee) <= 0 ||
		    rewrite_top_via(o, es, ee, pl, copied) < 0)
			return "Via";
		break;
	}
	case H_CONTACT:
		if (pl->contact && rewrite_addr_list(o, h, pl->contact, 1, copied) < 0)
			return "Contact";
		break;
	case H_ROUTE:
	case H_RECORD_ROUTE:
		if (pl->n_routes && rewrite_addr_list(o, h, pl->routes, pl->n_routes, copied) < 0)
			return "Route";
		break;
	case H_MAXFWD:
		if (pl->set_max_forwards && request) {
			out_span(o, *copied, h->val);
			out_uint(o, pl->max_forwards);
			*copied = h->val_e;
		}
		break;
	case H_CLEN:
		out_span(o, *copied, h->val);
		*copied = h->val;
		hs->clen_at = o->len;
		hs->clen_digits = (size_t)(h->val_e - h->val);
		break;
	default:
		break;
	}
	return NULL;
}

int sp_sip_rewrite(struct sp_sip_msg *msg, const struct sp_sip_plan *pl,
		   char *out, size_t out_size, size_t *out_len)
{
	unsigned hdr_idx = 0;
	struct out o = { .p = out, .cap = out_size, .uri_transport = pl->uri_transport };
	const char *p, *e, *copied;
	struct start_line sl;
	struct hdr_state hs = { .first_via = true };
	bool body_changed;
	size_t blank_at, body_at;
	const char *eol = "\r\n";
	struct hdr h;
	int r, err;

	if (!msg || !msg->inspected || !pl || !out || !out_len)
		return SP_SIP_E_ARG;
	if (!valid_plan(pl))
		return fail(&msg->reason, "invalid plan", SP_SIP_E_ARG);
	p = copied = msg->buf;
	e = msg->buf + msg->info.body_offset;
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (sip_scan_start_line(p, e, &sl) < 0)
		return fail(&msg->reason, "start line changed", SP_SIP_E_ARG);
	if (sl.request && pl->ruri &&
	    rewrite_uri(&o, sl.uri_s, sl.uri_e, pl->ruri, 1, &copied) < 0)
		return fail(&msg->reason, "Request-URI", SP_SIP_E_REWRITE);
	p = sl.end;
	while ((r = rewrite_next_header(msg, &hdr_idx, &p, e, &h)) > 0) {
		const char *why = rewrite_header(&o, &h, pl, sl.request, &hs, &copied);

		if (why)
			return fail(&msg->reason, why, SP_SIP_E_REWRITE);
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
		if (hs.clen_digits) {
			r = fix_content_length(&o, hs.clen_at, hs.clen_digits, body_at, NULL);
		} else {
			r = fix_content_length(&o, blank_at, 0, body_at, eol);
		}
		if (r < 0)
			return fail(&msg->reason, "output buffer too small", SP_SIP_E_NOSPACE);
	}
	*out_len = o.len;
	return SP_SIP_OK;
}
