#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_table.h"
#include "sp_transport_udp.h"
#include "sp_vpn.h"
#include "sp_engine_int.h"

#include <string.h>

/* A server's message rewritten towards the terminal, checked, tracked and
 * sent; or answered and dropped. */
static void sp_engine_server_forward(struct sp_engine *en, struct sp_binding *b, struct sp_proto_msg *m,
				     const char *buf, size_t len)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);
	struct sp_proto_route route;
	size_t out_len;
	int rc;

	sp_engine_route(en, b, &route);
	route.hide_server_identity = st && st->hide_server_identity;
	sp_engine_media_begin(en, b, m, SP_MEDIA_FROM_FAR);
	rc = PROTO(en, to_terminal, m, &route, en->tp->out, en->tp->out_max, &out_len);
	if (rc != 0) {
		sp_engine_rewrite_refused(en, b, false, m, buf, len, rc);
		return;
	}
	if (sp_engine_track(en, b, m) < 0) {
		/* an incoming call over the limit: the server hears 503 from C:c */
		sp_engine_reply(en, b, false, m, buf, len, SP_PROTO_UNAVAILABLE, SP_ENGINE_RETRY_AFTER);
		sp_engine_drop(en, &en->stats.session_limit);
		sp_engine_log_refusal(en, "session limit", m->session);
		return;
	}
	sp_binding_touch(en->table, b, sp_now_ms());
	if (m->registered)
		sp_engine_registered(en, b, m);
	/* a remote media proxy rewrites the body first: sent when it answers */
	if (sp_engine_remote_park(en, b, m, false, en->tp->out, out_len))
		return;
	/* the kernel before the answer (2xx, 183) reaches the terminal, which
	 * may start sending at once */
	sp_engine_media_finish(en, b, m);
	if (sp_engine_send_to_terminal(en, b, en->tp->out, out_len) < 0) {
		sp_engine_drop(en, &en->stats.send_errors);
		return;
	}
	en->stats.to_terminals++;
}

/* Whether a message on a binding's server side came from its server: over
 * TCP the server's own connection to C:c comes from a port of its choice,
 * so its address says it. */
static bool sp_engine_from_its_server(const struct sp_engine *en, const struct sp_transport_conn *bs,
				      const struct sp_endpoint *from, const struct sp_binding *b)
{
	return sp_endpoint_equal(from, &b->server) ||
	       ((bs->tp == en->tcp || (en->tls && bs->tp == en->tls)) && sp_endpoint_same_addr(from, &b->server));
}

void sp_engine_from_server(struct sp_engine *en, const struct sp_transport_conn *bs,
			   const struct sp_endpoint *from, const char *buf, size_t len)
{
	struct sp_binding *b = sp_binding_find_server_side(en->table, &bs->local);
	struct sp_proto_msg own, *msg;

	en->stats.from_servers++;
	/* a terminal on TCP keeps its C:c on UDP towards the server */
	if (!b)
		b = sp_binding_find_server_side_on(en->table, SP_STORE_TCP, &bs->local);
	if (!b)
		b = sp_binding_find_server_side_on(en->table, SP_STORE_TLS, &bs->local);
	if (!b || !sp_engine_from_its_server(en, bs, from, b)) {
		sp_engine_drop(en, &en->stats.bad_source);
		return;
	}
	if (PROTO(en, is_keepalive, buf, len)) {
		en->stats.keepalives++;
		if (sp_engine_send_to_terminal(en, b, buf, len) == 0)
			en->stats.to_terminals++;
		return;
	}
	if (sp_engine_inspect(en, &own, buf, len, &msg) != 0) {
		sp_engine_drop(en, &en->stats.parse_errors);
		sp_engine_inspected_release(en, msg);
		return;
	}
	if (sp_engine_media_choose(en, b, msg, false, buf, len) < 0) {
		sp_engine_inspected_release(en, msg);
		return;
	}
	if (msg->ends_here) {
		/* the ACK of our own 503 */
	} else if (!msg->is_request && !PROTO(en, came_through, msg, &b->server_side)) {
		/* every request the SP forwarded had C:c on top of its Via */
		sp_engine_drop(en, &en->stats.unmatched_responses);
		sp_debug("engine: response %d (%s) from a server matches nothing forwarded",
			 msg->status, msg->session);
	} else if (msg->hops_exhausted) {
		sp_engine_reply(en, b, false, msg, buf, len, SP_PROTO_TOO_MANY_HOPS, 0);
		sp_engine_drop(en, &en->stats.too_many_hops);
	} else if (msg->is_request && sp_engine_flow_gone(en, b)) {
		/* RFC 5626 §5.3: no new connection to an outbound terminal's
		 * Contact; the server hears 430 from C:c (an ACK, none) */
		sp_engine_reply(en, b, false, msg, buf, len, SP_PROTO_FLOW_FAILED, 0);
		sp_engine_drop(en, &en->stats.flow_failed);
		sp_engine_log_refusal(en, "the terminal's flow is gone (430)", msg->session);
	} else {
		sp_engine_server_forward(en, b, msg, buf, len);
	}
	en->send_now = false;
	en->msg_kernel = en->msg_remote = false;
	sp_media_abort(en->media); /* a no-op once committed */
	sp_engine_inspected_release(en, msg);
}
