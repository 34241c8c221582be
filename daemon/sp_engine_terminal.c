#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_transport_udp.h"
#include "sp_engine_int.h"

#include <string.h>

/* A 2xx to REGISTER lists every Contact of the AoR, other devices' too:
 * this binding lives by its own C:c's expiry, and ends when the registrar
 * dropped it (expires=0, or C:c not listed at all: a de-registration). */
void sp_engine_registered(struct sp_engine *en, struct sp_binding *b, const struct sp_proto_msg *m)
{
	int64_t exp;

	if (PROTO(en, lifetime, m, &b->server_side, &exp) == 0 || exp == 0) {
		sp_debug("engine: binding %u de-registered", b->id);
		sp_binding_deregister(en->table, b);
		return;
	}
	/* a registrar must say; one that does not gets the RFC's default */
	sp_binding_set_registration(en->table, b, sp_now_ms(),
				    exp < 0 ? 3600 : exp > UINT32_MAX ? UINT32_MAX : (uint32_t)exp);
}

/* A CRLF keep-alive refreshes the binding and goes on to the server. */
static void sp_engine_terminal_keepalive(struct sp_engine *en, const struct sp_endpoint *terminal,
					 uint32_t mark, const char *buf, size_t len)
{
	struct sp_binding *b = sp_engine_find_terminal(en, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
					       terminal);

	en->stats.keepalives++;
	if (b) {
		sp_binding_touch(en->table, b, sp_now_ms());
		if (sp_engine_send_to_server(en, b, buf, len) == 0)
			en->stats.proxied++;
	}
}

/* The binding a terminal's message goes through; NULL: the message was
 * answered or dropped (and counted) here. */
static struct sp_binding *sp_engine_terminal_binding(struct sp_engine *en, const struct sp_classify_strategy *st,
						     const struct sp_endpoint *terminal,
						     const struct sp_endpoint *virtual_server, uint32_t mark,
						     const char *buf, size_t len, const struct sp_proto_msg *m,
						     const struct sp_proto_keys *keys)
{
	struct sp_binding *b;
	bool over_limit;

	if (!m->is_request) {
		/* A terminal answers only the server's requests, which reached it
		 * through its binding with E on top of the Via (RFC 3261 §16.7:
		 * a response matching nothing is dropped, not forwarded). */
		b = sp_engine_find_terminal(en, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)), terminal);
		if (!b || !PROTO(en, came_through, m, &b->virtual_server)) {
			sp_engine_drop(en, &en->stats.unmatched_responses);
			sp_debug("engine: response %d (%s) from a terminal matches nothing forwarded",
				 m->status, m->session);
			return NULL;
		}
		return b;
	}
	if (m->hops_exhausted) {
		sp_engine_too_many_hops(en, terminal, virtual_server, mark, buf, len, m);
		return NULL;
	}
	b = sp_engine_binding_for(en, st, mark, terminal, virtual_server, keys, &over_limit);
	if (!b && over_limit)
		sp_engine_refuse_source(en, terminal, virtual_server, mark, buf, len, m);
	else if (!b)
		sp_engine_drop(en, &en->stats.no_binding);
	return b;
}

/* What a terminal's message tells of its binding: alive, its return path,
 * its Via and its contact. */
static void sp_engine_binding_refresh(struct sp_engine *en, struct sp_binding *b,
				      const struct sp_endpoint *terminal, const struct sp_proto_keys *keys)
{
	struct sp_learned_path path;

	sp_binding_touch(en->table, b, sp_now_ms());
	path = b->return_path;
	KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
	sp_binding_set_return_path(b, &path);
	/* the Via of each request is the one its responses give back: a
	 * terminal may change it (a new NAT mapping, a new local port) */
	if (keys->via[0] && strcmp(keys->via, b->via_sent_by) != 0)
		sp_binding_set_via_sent_by(b, keys->via);
	/* Whatever the terminal now gives as its contact is the one C:c
	 * stands for: a contact that changes (a NAT rebinding, a re-INVITE
	 * from another interface) is rewritten like the first, never passed
	 * on as a private address. */
	if (keys->contact[0])
		sp_binding_set_contact(b, keys->contact);
	if (keys->registers)
		sp_binding_set_outbound(b, keys->outbound);
}

/* The binding's server was said to take UDP only (`transport udp`). */
static bool sp_engine_udp_only_server(const struct sp_engine *en, const struct sp_binding *b)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);

	return st && st->server_transport == SP_SERVER_TRANSPORT_UDP;
}

/* A terminal's message rewritten towards the server, checked, tracked and
 * sent; or answered and dropped. */
static void sp_engine_terminal_forward(struct sp_engine *en, struct sp_binding *b, struct sp_proto_msg *m,
				       const char *buf, size_t len)
{
	struct sp_proto_route route;
	size_t out_len;
	int rc;

	if (sp_engine_media_choose(en, b, m, true, buf, len) < 0)
		return;
	sp_engine_route(en, b, &route);
	sp_engine_media_begin(en, b, m, SP_MEDIA_FROM_TERMINAL);
	rc = PROTO(en, to_server, m, &route, en->tp->out, en->tp->out_max, &out_len);
	if (rc != 0) {
		sp_engine_rewrite_refused(en, b, true, m, buf, len, rc);
		return;
	}
	if (m->ends_here)
		return; /* the ACK of our own 503 ends there */
	if (out_len > en->message_size_limit ||
	    (m->is_request && out_len > SP_ENGINE_UDP_REQUEST_MAX && sp_engine_udp_only_server(en, b))) {
		/* over message-size-limit, or over 1300 bytes towards a
		 * UDP-only server (RFC 3261 §18.1.1) */
		sp_engine_reply(en, b, true, m, buf, len, SP_PROTO_TOO_LARGE, 0);
		sp_engine_drop(en, &en->stats.too_large);
		return;
	}
	if (sp_engine_track(en, b, m) < 0) {
		/* refused as a server at E would refuse it, so the terminal does
		 * not retransmit into the void */
		sp_engine_reply(en, b, true, m, buf, len, SP_PROTO_UNAVAILABLE, SP_ENGINE_RETRY_AFTER);
		sp_engine_drop(en, &en->stats.session_limit);
		sp_engine_log_refusal(en, "session limit", m->session);
		return;
	}
	/* a remote media proxy rewrites the body first: sent when it answers */
	if (sp_engine_remote_park(en, b, m, true, en->tp->out, out_len))
		return;
	/* the kernel first: the far side may send media as soon as it reads
	 * the answer (and the terminal already does) */
	sp_engine_media_finish(en, b, m);
	if (sp_engine_send_to_server(en, b, en->tp->out, out_len) < 0) {
		sp_engine_drop(en, &en->stats.send_errors);
		return;
	}
	en->stats.proxied++;
}

void sp_engine_from_terminal(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len)
{
	const struct sp_classify_strategy *st;
	struct sp_binding *b;
	struct sp_proto_msg own, *msg;
	struct sp_proto_keys keys;
	enum sp_proto_probe probe;
	const char *reason = NULL;
	size_t probe_len = 0;

	en->stats.received++;
	st = sp_engine_strategy_by_mark(en, mark);
	if (!st || st->action != SP_ACTION_PROXY) {
		sp_engine_drop(en, &en->stats.unclassified);
		return;
	}
	((struct sp_classify_strategy *)st)->hits++;
	probe = PROTO(en, probe, buf, len, terminal, en->tp->out, en->tp->out_max, &probe_len, &reason);
	if (probe != SP_PROTO_NOT_PROBE) {
		sp_engine_probe(en, terminal, virtual_server, mark, probe, probe_len, reason);
		return;
	}
	if (PROTO(en, is_keepalive, buf, len)) {
		sp_engine_terminal_keepalive(en, terminal, mark, buf, len);
		return;
	}
	if (sp_engine_inspect(en, &own, buf, len, &msg) != 0) {
		sp_engine_drop(en, &en->stats.parse_errors);
		sp_debug("engine: unparsable datagram from a terminal: %s", msg->reason);
		sp_engine_inspected_release(en, msg);
		return;
	}
	PROTO(en, keys, msg, &keys);
	b = sp_engine_terminal_binding(en, st, terminal, virtual_server, mark, buf, len, msg, &keys);
	if (b) {
		sp_engine_binding_refresh(en, b, terminal, &keys);
		sp_engine_terminal_forward(en, b, msg, buf, len);
	}
	en->send_now = false;
	en->msg_kernel = en->msg_remote = false;
	sp_media_abort(en->media); /* a no-op once committed */
	sp_engine_inspected_release(en, msg);
}
