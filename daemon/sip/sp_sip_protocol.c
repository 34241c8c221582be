#include "config.h"
#include "sp_sip_protocol.h"
#include "sp_proxy.h"
#include "sp_sdp.h"
#include "sp_sip.h"
#include "sp_sip_dialog.h"
#include "sp_stun.h"
#include "sp_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(struct sp_sip_msg) <= SP_PROTO_MSG_PRIV,
	       "struct sp_sip_msg fits the protocol message");
_Static_assert(SP_PROTO_HOSTPORT_MAX == SP_HOSTPORT_MAX, "a key fits the binding");

struct sp_sip_msg *sp_sip_protocol_msg(struct sp_proto_msg *m)
{
	return (struct sp_sip_msg *)m->priv;
}

static const struct sp_sip_msg *sip_msg(const struct sp_proto_msg *m)
{
	return (const struct sp_sip_msg *)m->priv;
}

static bool sip_is_keepalive(const char *buf, size_t len)
{
	return sp_proxy_is_keepalive(buf, len);
}

/* A STUN message on the SIP port (RFC 5626 §4.4.2 keep-alive): answered
 * by the proxy as E, with the address the terminal's datagrams come from
 * (sp_stun); it never goes on to the server. */
static enum sp_proto_probe sip_probe(const char *buf, size_t len, const struct sp_endpoint *from,
				     char *out, size_t out_size, size_t *out_len, const char **reason)
{
	*out_len = 0;
	if (!sp_stun_is_stun(buf, len))
		return SP_PROTO_NOT_PROBE;
	if (out_size < SP_STUN_ANSWER_MAX) {
		if (reason)
			*reason = "no room for the answer";
		return SP_PROTO_PROBE_IGNORED;
	}
	switch (sp_stun_answer(buf, len, from, (uint8_t *)out, out_len, reason)) {
	case SP_STUN_ANSWERED:
		return SP_PROTO_PROBE_ANSWERED;
	case SP_STUN_REFUSED:
		return SP_PROTO_PROBE_REFUSED;
	case SP_STUN_INDICATION:
		return SP_PROTO_PROBE_QUIET;
	case SP_STUN_IGNORED:
		break;
	}
	return SP_PROTO_PROBE_IGNORED;
}

/* What the engine decides on, from the SIP fields. */
static void sip_summary(struct sp_proto_msg *m, const struct sp_sip_info *in)
{
	m->is_request = in->is_request;
	m->answerable = in->is_request && in->method != SP_SIP_ACK;
	m->ends_here = in->is_request && in->method == SP_SIP_ACK &&
		       strcmp(in->to_tag, SP_SIP_REFUSAL_TAG) == 0;
	m->hops_exhausted = in->is_request && in->max_forwards == 0;
	m->has_media = in->body_is_sdp;
	m->registered = !in->is_request && in->cseq_method == SP_SIP_REGISTER &&
			in->status >= 200 && in->status < 300;
	m->offer = in->is_request && (in->method == SP_SIP_INVITE || in->method == SP_SIP_UPDATE);
	m->answer = in->is_request ? in->method == SP_SIP_ACK
				   : (in->cseq_method == SP_SIP_INVITE || in->cseq_method == SP_SIP_UPDATE) &&
					     in->status > 100 && in->status < 300;
	m->from_tag = in->from_tag;
	m->to_tag = in->to_tag;
	m->status = in->status;
	m->session = in->call_id;
	m->session_len = strlen(in->call_id);
}

static int sip_inspect(struct sp_proto_msg *m, const char *buf, size_t len)
{
	struct sp_sip_msg *s = sp_sip_protocol_msg(m);

	m->session = m->from_tag = m->to_tag = "";
	m->session_len = 0;
	m->reason = NULL;
	if (sp_sip_inspect(s, buf, len) != 0) {
		m->reason = s->reason ? s->reason : "?";
		return -1;
	}
	sip_summary(m, &s->info);
	return 0;
}

static void sip_release(struct sp_proto_msg *m)
{
	sp_sip_msg_free(sp_sip_protocol_msg(m));
}

static void sip_hostport(const struct sp_endpoint *ep, struct sp_proxy_hostport *hp)
{
	sp_endpoint_host(ep, hp->host, sizeof(hp->host));
	hp->port = ep->port;
}

static bool sip_came_through(const struct sp_proto_msg *m, const struct sp_endpoint *hop)
{
	struct sp_proxy_hostport hp;

	sip_hostport(hop, &hp);
	return sp_proxy_via_is(&sip_msg(m)->info, &hp);
}

/* host[:port] as a SIP sent-by or hostport writes it. */
static void sip_hostport_text(const struct sp_sip_hostport *in, char *buf, size_t len)
{
	struct sp_proxy_hostport hp;
	size_t n = strnlen(in->host, sizeof(in->host));

	if (n >= sizeof(hp.host))
		n = sizeof(hp.host) - 1;
	memcpy(hp.host, in->host, n);
	hp.host[n] = '\0';
	hp.port = in->port;
	sp_proxy_hostport_format(&hp, buf, len);
}

/* A request's Via is where its responses go back; the contact is the
 * terminal's own unless it gives none: a 3xx names other places, Contact: *
 * none. */
static void sip_keys(const struct sp_proto_msg *m, struct sp_proto_keys *k)
{
	const struct sp_sip_info *in = &sip_msg(m)->info;

	k->via[0] = k->contact[0] = '\0';
	k->registers = k->outbound = false;
	if (in->is_request && in->via.host[0])
		sip_hostport_text(&in->via, k->via, sizeof(k->via));
	if (in->n_contacts && !in->contact_star && in->contact.host[0] &&
	    (in->is_request || in->status < 300))
		sip_hostport_text(&in->contact, k->contact, sizeof(k->contact));
	k->registers = in->is_request && in->method == SP_SIP_REGISTER && k->contact[0];
	k->outbound = k->registers && in->contact_outbound;
}

/* The binding's addresses as the rewriter takes them. */
static void sip_binding_view(const struct sp_proto_route *r, struct sp_proxy_binding *v)
{
	const struct sp_binding *b = r->binding;

	memset(v, 0, sizeof(*v));
	sip_hostport(&b->terminal, &v->terminal);
	sip_hostport(&b->virtual_server, &v->virtual_server);
	sip_hostport(&b->server_side, &v->server_side);
	sip_hostport(&b->server, &v->server);
	if (sp_proxy_hostport_parse(b->via_sent_by, &v->terminal_via) < 0)
		v->terminal_via = v->terminal;
	if (b->contact[0])
		sp_proxy_hostport_parse(b->contact, &v->terminal_contact);
	/* each side on its own transport: the top Via says which on each
	 * side (RFC 3261 §18.2.2: the Via names the transport) */
	if (r->server_tcp != r->terminal_tcp || r->server_tls != r->terminal_tls) {
		v->via_transport_to_server = r->server_tls ? "TLS" : r->server_tcp ? "TCP" : "UDP";
		v->via_transport_to_terminal = r->terminal_tls ? "TLS" : r->terminal_tcp ? "TCP" : "UDP";
		v->uri_transport_to_server = r->server_tls ? "tls" : r->server_tcp ? "tcp" : "";
		v->uri_transport_to_terminal = r->terminal_tls ? "tls" : r->terminal_tcp ? "tcp" : "";
	}
	/* and a URI readdressed to the SP names TCP where that side is on
	 * TCP even when the two sides agree: a terminal's URI may name none
	 * (a GRUU-style Contact of RFC 5626 outbound), which means UDP (RFC
	 * 3263), and C:c of a TCP server side has no UDP socket */
	if (r->server_tcp)
		v->uri_transport_to_server = r->server_tls ? "tls" : "tcp";
	if (r->terminal_tcp)
		v->uri_transport_to_terminal = r->terminal_tls ? "tls" : "tcp";
	if (r->media) {
		sp_endpoint_host(&b->server_side, v->media_to_server, sizeof(v->media_to_server));
		sp_endpoint_host(&b->virtual_server, v->media_to_terminal, sizeof(v->media_to_terminal));
		v->port_map_to_server = r->port_map;
		v->port_map_to_server_arg = r->port_map_arg;
		v->port_map_to_terminal = r->port_map;
		v->port_map_to_terminal_arg = r->port_map_arg;
	}
}

static int sip_rewrite_result(int rc)
{
	return rc == 0 ? 0 : rc == SP_SIP_E_MEDIA ? SP_PROTO_E_MEDIA : -1;
}

static int sip_to_server(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			 size_t out_size, size_t *out_len)
{
	struct sp_proxy_binding view;

	sip_binding_view(r, &view);
	return sip_rewrite_result(sp_proxy_to_server(sp_sip_protocol_msg(m), &view, out, out_size,
						     out_len));
}

static int sip_to_terminal(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			   size_t out_size, size_t *out_len)
{
	struct sp_proxy_binding view;
	int rc;

	sip_binding_view(r, &view);
	rc = sp_proxy_to_terminal(sp_sip_protocol_msg(m), &view, out, out_size, out_len);
	if (rc == 0 && r->hide_server_identity)
		*out_len = sp_proxy_strip_identity(out, *out_len);
	return sip_rewrite_result(rc);
}

static int sip_track(struct sp_table *t, struct sp_binding *b, const struct sp_proto_msg *m,
		     uint64_t now_ms, struct sp_proto_track *out)
{
	return sp_sip_dialog_track(t, b, &sip_msg(m)->info, now_ms, out);
}

/* The request's Via, From, To (tagged), Call-ID and CSeq, no body
 * (sp_proxy_build_reply); none to an ACK or a response. */
static size_t sip_refuse(const struct sp_proto_msg *m, const char *buf, size_t len,
			 enum sp_proto_refusal why, unsigned retry_after, char *out, size_t out_size)
{
	static const struct {
		int status;
		const char *reason;
	} answers[] = {
		[SP_PROTO_UNAVAILABLE] = { 503, "Service Unavailable" },
		[SP_PROTO_TOO_MANY_HOPS] = { 483, "Too Many Hops" },
		[SP_PROTO_TOO_LARGE] = { 513, "Message Too Large" },
		[SP_PROTO_FLOW_FAILED] = { 430, "Flow Failed" },
	};

	if (!m->answerable || (unsigned)why >= sizeof(answers) / sizeof(answers[0]))
		return 0;
	return sp_proxy_build_reply_retry(buf, len, answers[why].status, answers[why].reason,
					  SP_SIP_REFUSAL_TAG, retry_after, out, out_size);
}

/* A 2xx to REGISTER lists every Contact of the AoR, other devices' too:
 * only c's own counts. */
static int sip_lifetime(const struct sp_proto_msg *m, const struct sp_endpoint *c, int64_t *expires)
{
	char host[SP_PROXY_HOST_MAX];

	sp_endpoint_host(c, host, sizeof(host));
	return sp_sip_contact_expires(sip_msg(m), host, c->port, expires);
}

/* The binding keeps its contact as host[:port] text; an absent port is
 * 5060. */
static int sip_contact_address(const struct sp_binding *b, struct sp_endpoint *out)
{
	struct sp_proxy_hostport hp;

	if (!b->contact[0] || sp_proxy_hostport_parse(b->contact, &hp) != 0 ||
	    sp_endpoint_parse(out, hp.host, hp.port ? hp.port : 5060) != 0)
		return -1;
	return 0;
}

static int sip_media_ports(const struct sp_proto_msg *m, struct sp_sdp_info *out)
{
	const struct sp_sip_msg *s = sip_msg(m);

	if (!s->info.body_is_sdp)
		return -1;
	return sp_sdp_inspect(s->buf + s->info.body_offset, s->info.body_len, out) == 0 ? 0 : -1;
}

/* SIP's bodies with media are SDP: its connection line */
static bool sip_media_elsewhere(const char *body, size_t body_len, const struct sp_endpoint *sender)
{
	return sp_sdp_addressed_elsewhere(body, body_len, sender);
}

/* The body of a message as this module wrote it: after the blank line. */
static int sip_body(const char *msg, size_t len, const char **body, size_t *body_len)
{
	const char *end = memmem(msg, len, "\r\n\r\n", 4);

	if (!end)
		return -1;
	*body = end + 4;
	*body_len = (size_t)(msg + len - *body);
	return 0;
}

/* The message with its body replaced and Content-Length set to match. */
static char *sip_with_body(const char *msg, size_t len, const char *sdp, size_t sdp_len,
			   size_t *out_len)
{
	const char *end = memmem(msg, len, "\r\n\r\n", 4);
	char *out, *o;

	if (!end)
		return NULL;
	out = malloc((size_t)(end - msg) + sdp_len + 64);
	if (!out)
		return NULL;
	o = out;
	for (const char *line = msg; line < end + 2;) {
		const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		size_t ll = (size_t)(eol - line);
		size_t k = 0;

		if (ll >= 14 && strncasecmp(line, "Content-Length", 14) == 0)
			k = 14;
		else if (ll >= 1 && (line[0] == 'l' || line[0] == 'L'))
			k = 1;
		while (k && k < ll && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k && k < ll && line[k] == ':')
			o += sprintf(o, "Content-Length: %zu\r\n", sdp_len);
		else {
			memcpy(o, line, ll + 2);
			o += ll + 2;
		}
		line = eol + 2;
	}
	memcpy(o, "\r\n", 2);
	o += 2;
	memcpy(o, sdp, sdp_len);
	o += sdp_len;
	*out_len = (size_t)(o - out);
	return out;
}

static const struct sp_protocol sp_sip_ops = {
	.name = "sip",
	.init = sp_sip_global_init,
	.is_keepalive = sip_is_keepalive,
	.inspect = sip_inspect,
	.release = sip_release,
	.came_through = sip_came_through,
	.keys = sip_keys,
	.to_server = sip_to_server,
	.to_terminal = sip_to_terminal,
	.track = sip_track,
	.refuse = sip_refuse,
	.lifetime = sip_lifetime,
	.contact_address = sip_contact_address,
	.body = sip_body,
	.with_body = sip_with_body,
	.media_ports = sip_media_ports,
	.media_elsewhere = sip_media_elsewhere,
	.probe = sip_probe,
};

const struct sp_protocol *sp_sip_protocol(void)
{
	return &sp_sip_ops;
}
