/*
 * The values the engine keys on (struct sp_sip_info), read from the spans
 * the whole-message scan already found and checked, without libosip2.
 *
 * libosip2 parsed every header of every message into a tree (a few dozen
 * allocations, every URI and parameter copied) to give the dozen values
 * below: half of sigproxyd's instructions per call (bench/RESULTS.md,
 * issue 21). The scanner already reads every header line once and checks
 * the syntax the rewrite relies on (Via, From, To, Contact, Route,
 * Record-Route, the Request-URI, Content-Length, the duplicates RFC 4475
 * forbids); here its spans are cut into the values as libosip2 gave them:
 * the first parameter of a name (case-insensitive), values as written,
 * hosts without IPv6 brackets. A multipart body still goes through libosip2
 * (sp_sip.c), which splits its parts.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "sp_sip.h"
#include "sp_sip_int.h"

static bool is_lws_only(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool copy_span(char *dst, size_t size, const char *s, const char *e)
{
	size_t n = s ? (size_t)(e - s) : 0;

	if (n >= size)
		return false;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* A value that may span folded lines, unfolded as libosip2 gave it: the
 * CR, LF and the white space starting the next line each a space. */
static bool copy_unfolded(char *dst, size_t size, const char *s, const char *e)
{
	if (!copy_span(dst, size, s, e))
		return false;
	/* every fold has its LF (the scanner refuses a bare CR) */
	if (!s || !memchr(s, '\n', (size_t)(e - s)))
		return true;
	for (size_t i = 0; dst[i]; i++)
		if (dst[i] == '\r' || dst[i] == '\n' ||
		    ((dst[i] == ' ' || dst[i] == '\t') && i && s[i - 1] == '\n'))
			dst[i] = ' ';
	return true;
}

static const char *trim_lws(const char *s, const char **e)
{
	while (s < *e && is_lws_only(*s))
		s++;
	while (*e > s && is_lws_only((*e)[-1]))
		(*e)--;
	return s;
}

/* Call-ID: number and host trimmed each side of the '@' (libosip2 reads
 * them apart), unfolded. */
static int copy_call_id(struct sp_sip_msg *msg, const struct span *v)
{
	char *id = msg->info.call_id;
	size_t size = sizeof(msg->info.call_id), n;
	const char *at = memchr(v->s, '@', (size_t)(v->e - v->s)), *ne, *hs, *he = v->e;

	if (!at)
		return copy_unfolded(id, size, v->s, v->e) ? SP_SIP_OK :
		       fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
	if (at == v->s)
		return fail(&msg->reason, "malformed Call-ID", SP_SIP_E_PARSE);
	ne = at;
	trim_lws(v->s, &ne);
	hs = trim_lws(at + 1, &he);
	n = (size_t)(ne - v->s);
	if (n + 1 + (size_t)(he - hs) >= size || !copy_unfolded(id, size, v->s, ne))
		return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
	id[n] = '@';
	if (!copy_unfolded(id + n + 1, size - n - 1, hs, he))
		return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
	return SP_SIP_OK;
}

/* Host without IPv6 brackets, as the engine wants it for inet_pton(). */
static bool copy_host_span(char *dst, const char *s, const char *e)
{
	if (s && e - s >= 2 && *s == '[' && e[-1] == ']') {
		s++;
		e--;
	}
	return copy_span(dst, SP_SIP_HOST_MAX, s, e);
}

/* The first ";name[=value]" of [p, e) called name: 1 (v->s NULL when it
 * has no value), 0 none, -1 malformed (the scan checked: not expected). */
static int find_param(const char *p, const char *e, const char *name, struct span *v)
{
	struct param pr;
	int r;

	while ((r = sip_next_param(&p, e, &pr)) > 0) {
		if (span_ieq(pr.name_s, pr.name_e, name)) {
			v->s = pr.val_s;
			v->e = pr.val_e;
			return 1;
		}
	}
	return r;
}

/* The top Via: sent-by, branch, received, rport. */
static int fields_via(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	const struct via *v = &sc->top_via;
	struct span branch = { NULL, NULL }, received = branch, rport = branch;
	bool has_branch = false, has_received = false;
	const char *p = v->params;
	struct param pr;

	if (!copy_host_span(in->via.host, v->hp.hs, v->hp.he))
		return fail(&msg->reason, "Via host too long", SP_SIP_E_TOOLONG);
	in->via.port = v->hp.has_port ? v->hp.port : 0;
	/* one pass over the parameters, the first of each name counting */
	while (sip_next_param(&p, v->end, &pr) > 0) {
		struct span val = { pr.val_s, pr.val_e };

		if (!has_branch && span_ieq(pr.name_s, pr.name_e, "branch"))
			branch = val, has_branch = true;
		else if (!has_received && span_ieq(pr.name_s, pr.name_e, "received"))
			received = val, has_received = true;
		else if (!in->via_rport && span_ieq(pr.name_s, pr.name_e, "rport"))
			rport = val, in->via_rport = true;
	}
	if (has_branch && !copy_span(in->via_branch, sizeof(in->via_branch), branch.s, branch.e))
		return fail(&msg->reason, "branch too long", SP_SIP_E_TOOLONG);
	if (has_received && !copy_host_span(in->via_received, received.s, received.e))
		return fail(&msg->reason, "received too long", SP_SIP_E_TOOLONG);
	if (rport.s && !parse_port(rport.s, rport.e, &in->via_rport_value))
		return fail(&msg->reason, "bad rport", SP_SIP_E_PARSE);
	return SP_SIP_OK;
}

/* Call-ID (as written) and the From and To tags. */
static int fields_ids(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	struct span val;

	int err = copy_call_id(msg, &sc->call_id);

	if (err)
		return err;
	if (find_param(sc->from.params, sc->from_e.e, "tag", &val) > 0 &&
	    !copy_span(in->from_tag, sizeof(in->from_tag), val.s, val.e))
		return fail(&msg->reason, "From tag too long", SP_SIP_E_TOOLONG);
	if (find_param(sc->to.params, sc->to_e.e, "tag", &val) > 0 &&
	    !copy_span(in->to_tag, sizeof(in->to_tag), val.s, val.e))
		return fail(&msg->reason, "To tag too long", SP_SIP_E_TOOLONG);
	return SP_SIP_OK;
}

/* The first Contact (or *) and the lifetime it is given: its expires
 * param, else the Expires header. */
static int fields_contact(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	struct hostport hp;
	struct span val;
	uint32_t v32;

	in->expires = -1;
	in->n_contacts = sc->n_contact;
	if (sc->n_contact && sc->contact.star) {
		in->contact_star = true;
	} else if (sc->n_contact) {
		if (sip_uri_hostport(sc->contact.uri_s, sc->contact.uri_e, &hp) > 0) {
			if (!copy_host_span(in->contact.host, hp.hs, hp.he))
				return fail(&msg->reason, "Contact host too long", SP_SIP_E_TOOLONG);
			in->contact.port = hp.has_port ? hp.port : 0;
		}
		in->contact_outbound =
			find_param(sc->contact.params, sc->contact_e.e, "+sip.instance", &val) > 0 &&
			find_param(sc->contact.params, sc->contact_e.e, "reg-id", &val) > 0;
		/* delta-seconds above 2**32-1 mean 2**32-1 (RFC 3261 §25.1) */
		if (find_param(sc->contact.params, sc->contact_e.e, "expires", &val) > 0 &&
		    span_u32(val.s, val.e, 0xffffffffu, &v32, true))
			in->expires = v32;
	}
	if (in->expires < 0 && span_u32(sc->expires.s, sc->expires.e, 0xffffffffu, &v32, true))
		in->expires = v32;
	return SP_SIP_OK;
}

/* "1*DIGIT LWS Method" (RFC 3261 §20.16). */
static int fields_cseq(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	const char *s = sc->cseq.s, *e = sc->cseq.e, *sp = s, *m;

	while (sp < e && !is_lws_only(*sp))
		sp++;
	for (m = sp; m < e && is_lws_only(*m); m++)
		;
	if (sp == s || m == e)
		return fail(&msg->reason, "malformed CSeq", SP_SIP_E_PARSE);
	if (!copy_unfolded(in->cseq_method_name, sizeof(in->cseq_method_name), m, e))
		return fail(&msg->reason, "CSeq method too long", SP_SIP_E_TOOLONG);
	in->cseq_method = sp_sip_method_from_name(in->cseq_method_name);
	/* RFC 3261 §8.1.1.5: the sequence number is below 2**31. */
	if (!span_u32(s, sp, 0x7fffffffu, &in->cseq, false))
		return fail(&msg->reason, "bad CSeq number", SP_SIP_E_PARSE);
	return SP_SIP_OK;
}

/* Content-Type application/sdp (parameters aside, any case). */
static bool ctype_is_sdp(const struct span *ct)
{
	const char *slash, *te, *ss, *se;

	if (!ct->s)
		return false;
	slash = memchr(ct->s, '/', (size_t)(ct->e - ct->s));
	if (!slash)
		return false;
	for (te = slash; te > ct->s && is_lws_only(te[-1]); te--)
		;
	for (ss = slash + 1; ss < ct->e && is_lws_only(*ss); ss++)
		;
	for (se = ss; se < ct->e && *se != ';'; se++)
		;
	while (se > ss && is_lws_only(se[-1]))
		se--;
	return span_ieq(ct->s, te, "application") && span_ieq(ss, se, "sdp");
}

static int fields_start(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;

	in->is_request = sc->sl.request;
	if (!in->is_request) {
		in->status = sc->sl.status;
		return SP_SIP_OK;
	}
	if (!copy_span(in->method_name, sizeof(in->method_name), sc->sl.method_s, sc->sl.method_e))
		return fail(&msg->reason, "method too long", SP_SIP_E_TOOLONG);
	in->method = sp_sip_method_from_name(in->method_name);
	if (sc->ruri_sip) {
		if (!copy_host_span(in->ruri.host, sc->ruri.hs, sc->ruri.he))
			return fail(&msg->reason, "Request-URI host too long", SP_SIP_E_TOOLONG);
		in->ruri.port = sc->ruri.has_port ? sc->ruri.port : 0;
	}
	return SP_SIP_OK;
}

int sip_extract_fields(struct sp_sip_msg *msg, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	int err;

	if (!sc->n_via)
		return fail(&msg->reason, "no Via", SP_SIP_E_MISSING);
	if (!sc->lines[H_FROM])
		return fail(&msg->reason, "no From", SP_SIP_E_MISSING);
	if (!sc->lines[H_TO])
		return fail(&msg->reason, "no To", SP_SIP_E_MISSING);
	if (!sc->lines[H_CALLID])
		return fail(&msg->reason, "no Call-ID", SP_SIP_E_MISSING);
	if (sc->call_id.s == sc->call_id.e)
		return fail(&msg->reason, "empty Call-ID", SP_SIP_E_PARSE);
	if (!sc->lines[H_CSEQ])
		return fail(&msg->reason, "no CSeq", SP_SIP_E_MISSING);
	err = fields_start(msg, sc);
	if (!err)
		err = fields_cseq(msg, sc);
	if (err)
		return err;
	if (in->is_request && strcmp(in->method_name, in->cseq_method_name) != 0)
		return fail(&msg->reason, "CSeq method mismatch", SP_SIP_E_PARSE);
	err = fields_via(msg, sc);
	if (!err)
		err = fields_ids(msg, sc);
	if (!err)
		err = fields_contact(msg, sc);
	if (err)
		return err;
	in->max_forwards = in->is_request ? sc->max_forwards : -1;
	in->body_offset = (size_t)(sc->body - msg->buf);
	in->body_len = sc->clen_present ? sc->clen : msg->len - in->body_offset;
	in->body_is_sdp = in->body_len > 0 && ctype_is_sdp(&sc->ctype);
	return SP_SIP_OK;
}

int sip_contact_expires(const struct sp_sip_msg *msg, const char *host, uint16_t port,
			int64_t *expires)
{
	const char *p = msg->buf, *e = msg->buf + msg->info.body_offset;
	struct span exp = { NULL, NULL }, val = { NULL, NULL };
	struct start_line sl;
	bool found = false;
	struct hdr h;
	uint32_t v32;

	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (sip_scan_start_line(p, e, &sl) < 0)
		return 0;
	p = sl.end;
	while (sip_next_header(&p, e, &h) > 0) {
		const char *q = h.val, *es, *ee;

		if (h.kind == H_EXPIRES && !exp.s)
			exp = (struct span){ h.val, h.val_e };
		while (h.kind == H_CONTACT && !found && sip_next_elem(&q, h.val_e, &es, &ee) > 0) {
			struct hostport hp;
			struct addr a;

			if (sip_parse_addr(es, ee, true, &a) < 0 || a.star ||
			    sip_uri_hostport(a.uri_s, a.uri_e, &hp) <= 0 ||
			    !sip_host_eq(hp.hs, hp.he, host) ||
			    (hp.has_port ? hp.port : 5060) != (port ? port : 5060))
				continue;
			found = true;
			if (find_param(a.params, ee, "expires", &val) <= 0)
				val.s = NULL;
		}
	}
	if (!found)
		return 0;
	/* delta-seconds above 2**32-1 mean 2**32-1 (RFC 3261 §25.1) */
	if (span_u32(val.s, val.e, 0xffffffffu, &v32, true) ||
	    span_u32(exp.s, exp.e, 0xffffffffu, &v32, true))
		*expires = v32;
	return 1;
}
