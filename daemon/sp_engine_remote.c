/* The engine, part: media through the remote media proxies (issue 19).
 *
 * The one place the engine meets sp_mediaproxy. Per message the engine asks
 * sp_engine_media_choose() whether its media is the kernel's (as before)
 * or a remote MP's; a message of a remote call that carries an offer or
 * an answer is rewritten and tracked as usual (body untouched), then parked
 * here (sp_engine_remote_park) while the MP rewrites its session
 * description, and sent when the MP answers, with the protocol's with_body
 * splicing the MP's in. When the MP fails
 * the group's fallback applies to the message: the call becomes a kernel
 * call and the original message goes through the engine again, or a
 * request is refused with 503. */
#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_mediaproxy.h"
#include "sp_table.h"
#include "sp_transport.h"
#include "sp_vpn.h"
#include "sp_engine_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A message waiting for its MP. */
struct sp_engine_parked {
	struct sp_engine *en;
	uint32_t binding_id;
	bool to_server;
	char call_id[SP_CALLID_MAX];
	char from_tag[SP_TAG_MAX];	/* as the MP was told */
	char to_tag[SP_TAG_MAX];
	struct sp_engine_rx rx;	/* the message as received, data owned */
	char *out;		/* rewritten, body still the sender's */
	size_t out_len;
};

int sp_engine_media_choose(struct sp_engine *en, const struct sp_binding *b,
			   const struct sp_proto_msg *m, bool from_terminal, const char *buf, size_t len)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);
	enum sp_media_mode mode = st ? st->media : SP_MEDIA_OFF;
	enum sp_mp_route route;
	bool offer;

	en->msg_kernel = en->media_on && mode == SP_MEDIA_KERNEL;
	en->msg_remote = false;
	if (mode != SP_MEDIA_PROXY || !m->has_media || !m->session[0])
		return 0;
	offer = m->offer;
	if (!offer && !m->answer)
		return 0; /* a body the protocol does not exchange: passed as it is */
	route = sp_mp_client_route(en->mpc, m->session, st->media_proxy, offer);
	if (route == SP_MP_SENT) {
		en->msg_remote = true;
	} else if (!m->is_request) {
		/* a kernel call's answer: the kernel's, unless the families
		 * differ (it cannot translate): then passed as it is */
		en->msg_kernel = en->media_on && b->terminal.family == b->server.family;
	} else if (route == SP_MP_KERNEL && b->terminal.family == b->server.family) {
		en->msg_kernel = en->media_on;
	} else {
		/* no MP answers and the group refuses, or the call crosses the
		 * families and the kernel cannot translate its media */
		/* no MP answers and the group refuses: as a server at E would */
		sp_engine_reply(en, b, from_terminal, m, buf, len, SP_PROTO_UNAVAILABLE,
				SP_ENGINE_RETRY_AFTER);
		sp_engine_drop(en, &en->stats.media_proxy_refused);
		sp_engine_log_refusal(en, route == SP_MP_REFUSE ? "no media proxy answers"
								 : "no media proxy for a call between the families",
				      m->session);
		return -1;
	}
	return 0;
}

/* The parked call's dialog: where its MP is noted, for the state sync and
 * the store (a new active or a restarted daemon sends the call's answer
 * and delete to the same MP). */
static struct sp_dialog *sp_engine_parked_dialog(struct sp_engine *en, const struct sp_engine_parked *p)
{
	struct sp_binding *b = sp_binding_find_id(en->table, p->binding_id);

	return b ? sp_dialog_find(en->table, b->vpn, p->call_id, strlen(p->call_id), b) : NULL;
}

static void sp_engine_parked_note_mp(struct sp_engine *en, const struct sp_engine_parked *p)
{
	struct sp_dialog *d = sp_engine_parked_dialog(en, p);
	const char *mp = sp_mp_client_call_mp(en->mpc, p->call_id);

	if (d && mp)
		sp_dialog_set_media_proxy(en->table, d, mp, p->from_tag, p->to_tag);
}

static void sp_engine_parked_free(struct sp_engine_parked *p)
{
	free(p->rx.data);
	free(p->out);
	free(p);
}

/* The MP failed: the group's fallback for this message. */
static void sp_engine_remote_fallback(struct sp_engine *en, struct sp_engine_parked *p,
				      enum sp_mp_fallback fallback)
{
	struct sp_binding *b = sp_binding_find_id(en->table, p->binding_id);
	struct sp_proto_msg msg;

	if (fallback == SP_MP_FALLBACK_KERNEL) {
		/* a kernel call from now on: the message goes through again */
		en->stats.media_proxy_fallbacks++;
		sp_mp_client_set_kernel(en->mpc, p->call_id);
		sp_engine_parked_note_mp(en, p);
		sp_engine_receive_again(en, &p->rx);
		return;
	}
	if (!b)
		return;
	if (PROTO(en, inspect, &msg, p->rx.data, p->rx.len) == 0 && msg.is_request) {
		en->stats.media_proxy_refused++;
		sp_engine_reply(en, b, p->to_server, &msg, p->rx.data, p->rx.len, SP_PROTO_UNAVAILABLE,
				SP_ENGINE_RETRY_AFTER);
		sp_engine_log_refusal(en, "media proxy failed", p->call_id);
	}
	PROTO(en, release, &msg);
}

static void sp_engine_remote_done(void *arg, bool ok, const char *body, size_t body_len,
				  enum sp_mp_fallback fallback)
{
	struct sp_engine_parked *p = arg;
	struct sp_engine *en = p->en;
	struct sp_binding *b;
	char *out;
	size_t out_len;
	int rc;

	if (en->mp_stopping) {
		sp_engine_parked_free(p);
		return;
	}
	if (!ok) {
		sp_engine_remote_fallback(en, p, fallback);
		sp_engine_parked_free(p);
		return;
	}
	sp_engine_parked_note_mp(en, p);
	b = sp_binding_find_id(en->table, p->binding_id);
	out = b ? PROTO(en, with_body, p->out, p->out_len, body, body_len, &out_len) : NULL;
	if (!out) {
		sp_engine_drop(en, &en->stats.send_errors);
		sp_engine_parked_free(p);
		return;
	}
	en->send_now = true;
	rc = p->to_server ? sp_engine_send_to_server(en, b, out, out_len)
			  : sp_engine_send_to_terminal(en, b, out, out_len);
	en->send_now = false;
	if (rc < 0)
		sp_engine_drop(en, &en->stats.send_errors);
	else if (p->to_server)
		en->stats.proxied++;
	else
		en->stats.to_terminals++;
	free(out);
	sp_engine_parked_free(p);
}

/* The terminal's signalling source when its body names another media
 * address (a terminal behind a NAT): the MP then uses the source and
 * latches. */
static const struct sp_endpoint *sp_engine_nat_source(struct sp_engine *en, const struct sp_binding *b,
						      const char *body, size_t len)
{
	return PROTO(en, media_elsewhere, body, len, &b->terminal) ? &b->terminal : NULL;
}

bool sp_engine_remote_park(struct sp_engine *en, const struct sp_binding *b, const struct sp_proto_msg *m,
			   bool to_server, const char *out, size_t out_len)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);
	const char *body = NULL;
	size_t body_len = 0;
	struct sp_mp_request r = { 0 };
	struct sp_engine_parked *p;
	enum sp_mp_route route;

	if (!en->msg_remote || !en->rx.data || PROTO(en, body, out, out_len, &body, &body_len) != 0)
		return false;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->out = malloc(out_len)) || !(p->rx.data = malloc(en->rx.len + 1))) {
		if (p)
			free(p->out);
		free(p);
		return false;
	}
	p->en = en;
	p->binding_id = b->id;
	p->to_server = to_server;
	snprintf(p->call_id, sizeof(p->call_id), "%s", m->session);
	snprintf(p->from_tag, sizeof(p->from_tag), "%s", m->from_tag);
	snprintf(p->to_tag, sizeof(p->to_tag), "%s", m->to_tag ? m->to_tag : "");
	memcpy(p->out, out, out_len);
	p->out_len = out_len;
	{
		char *data = p->rx.data;

		p->rx = en->rx;
		p->rx.data = memcpy(data, en->rx.data, en->rx.len);
		p->rx.data[en->rx.len] = '\0';
	}
	r.op = m->offer ? SP_MP_OFFER : SP_MP_ANSWER;
	r.call_id = m->session;
	r.from_tag = m->from_tag;
	r.to_tag = m->to_tag;
	r.sdp = body;
	r.sdp_len = body_len;
	r.received_from = to_server ? sp_engine_nat_source(en, b, body, body_len) : NULL;
	r.towards_terminal = !to_server;
	/* the family of the side that reads the MP's body: a call between the
	 * families has the MP announce the other one there */
	r.family = to_server ? b->server.family : b->terminal.family;
	r.interworking = b->terminal.family != b->server.family;
	r.group = st ? st->media_proxy : "";
	route = sp_mp_client_request(en->mpc, &r, sp_engine_remote_done, p);
	if (route != SP_MP_SENT) {
		sp_engine_parked_free(p);
		return false; /* sent as it is: the body untouched */
	}
	en->stats.media_proxy_parked++;
	return true;
}

void sp_engine_remote_adopt(struct sp_engine *en)
{
	for (struct sp_dialog *d = sp_dialog_first(en->table); d; d = sp_dialog_next(en->table, d)) {
		char cid[SP_CALLID_MAX + 1];

		if (!d->media_proxy[0] || d->state >= SP_DIALOG_TERMINATED)
			continue;
		snprintf(cid, sizeof(cid), "%.*s", (int)d->call_id_len, d->call_id);
		if (!sp_mp_client_adopt(en->mpc, cid, d->media_proxy))
			sp_warn("engine: call %u: its media proxy %s is not configured: its media is lost",
				d->id, d->media_proxy);
	}
}

const char *sp_engine_call_media_proxy(struct sp_engine *en, const char *call_id)
{
	return en ? sp_mp_client_call_mp(en->mpc, call_id) : NULL;
}

bool sp_engine_call_media_stats(struct sp_engine *en, const char *call_id,
				struct sp_mp_call_stats *out)
{
	return en && sp_mp_client_call_stats(en->mpc, call_id, out);
}

size_t sp_engine_media_proxy_views(const struct sp_engine *en, struct sp_mp_view *out, size_t max)
{
	return en ? sp_mp_client_views(en->mpc, out, max) : 0;
}

void sp_engine_media_end(struct sp_engine *en, uint32_t dialog_id, const char *call_id,
			 size_t call_id_len)
{
	char cid[SP_CALLID_MAX + 1];

	sp_media_dialog_end(en->media, dialog_id);
	snprintf(cid, sizeof(cid), "%.*s", (int)call_id_len, call_id);
	sp_mp_client_end(en->mpc, cid);
}
