#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_protocol.h"
#include "sp_srclimit.h"
#include "sp_transport_udp.h"
#include "sp_engine_int.h"

#include <string.h>

/* ---- dialog tracking: the protocol's, the engine reacts ---- */

/* What a message does to its dialog (the protocol's track) and what the
 * engine does about it: the media of an ended call goes, the session-limit
 * notice is given or lifted (the standby and the store follow the table's
 * change hook). Returns -1 when the message must be refused (session limit). */
int sp_engine_track(struct sp_engine *en, struct sp_binding *b, const struct sp_proto_msg *m)
{
	struct sp_proto_track tr;

	if (PROTO(en, track, en->table, b, m, sp_now_ms(), &tr) == SP_PROTO_OVER_LIMIT) {
		if (!en->limit_notified) {
			/* once, until the table has room again */
			sp_warn("engine: session limit %llu reached: new calls are refused",
				(unsigned long long)sp_table_counters(en->table)->dialogs_current);
			en->limit_notified = true;
		}
		/* every refusal: the agent spaces the traps out and counts */
		sp_events_publish(en->env.events, &(struct sp_event){
			.type = SP_EVENT_SESSION_LIMIT_REACHED,
			.u.session_limit.current =
				(uint32_t)sp_table_counters(en->table)->dialogs_current });
		{
			char cid[SP_LOG_ESCAPED_MAX];

			sp_debug("engine: session limit: INVITE %s refused",
				 sp_log_escape(m->session, cid, sizeof(cid)));
		}
		return -1;
	}
	if (!tr.dialog)
		return 0;
	/* room again below 90 %, counted as the message found the table */
	if (en->limit_notified && en->session_limit &&
	    (sp_table_counters(en->table)->dialogs_current + tr.deleted) * 10 <
		    (uint64_t)en->session_limit * 9)
		en->limit_notified = false;
	if (tr.media_ends)
		sp_engine_media_end(en, tr.dialog, m->session, m->session_len);
	return 0;
}

/* ---- sending ---- */

/* A UDP socket of another worker than the one handling (a message read on
 * the loop's thread for a binding of worker 1, say): what is written is in
 * this worker's buffer and that worker's queue is flushed by that worker,
 * so it goes at once instead of queued. Never with one worker. */
static bool sp_engine_crossing(const struct sp_engine *en, const struct sp_transport_conn *c)
{
	if (en->n_workers < 2 || c->tp == en->tp)
		return false;
	for (unsigned i = 0; i < en->n_workers; i++)
		if (c->tp == en->workers[i].tp)
			return true;
	return false; /* TCP, TLS: not a worker's */
}

/* One message from E:e (virtual_server) to a terminal, sent with mark
 * (return path and VPN); over TCP: on the connection the terminal holds
 * to E:e. */
int sp_engine_send_as_e(struct sp_engine *en, uint8_t transport, const struct sp_endpoint *terminal,
			const struct sp_endpoint *virtual_server, uint32_t mark,
			const char *buf, size_t len)
{
	struct sp_transport_conn *l = NULL;
	struct sp_transport_conn *const *ls = transport == SP_STORE_TCP ? en->tcp_listeners : en->cur_listeners;
	struct sp_transport_out o = { .to = terminal, .from = virtual_server, .mark = mark, .data = buf,
				      .len = len, .now = en->send_now, .counter = &en->stats.to_terminals };

	for (unsigned i = 0; i < en->n_listeners && transport != SP_STORE_TLS; i++)
		if (ls[i] && ls[i]->local.port == virtual_server->port)
			l = ls[i];
	/* a worker without this listener answers on worker 0's */
	for (unsigned i = 0; !l && transport == SP_STORE_UDP && i < en->n_listeners; i++)
		if (en->listeners[i] && en->listeners[i]->local.port == virtual_server->port)
			l = en->listeners[i];
	/* TLS: over the connection the terminal holds to E's TLS port */
	if (transport == SP_STORE_TLS && en->tls_listener &&
	    en->tls_listener->local.port == virtual_server->port)
		l = en->tls_listener;
	if (!l)
		return -1;
	o.now |= sp_engine_crossing(en, l);
	return sp_transport_send(l, &o);
}

/* The listener on E:e of a stream terminal's binding (TCP or TLS), or NULL. */
static struct sp_transport_conn *sp_engine_stream_listener(const struct sp_engine *en, const struct sp_binding *b)
{
	if (b->transport == SP_STORE_TLS)
		return en->tls_listener && en->tls_listener->local.port == b->virtual_server.port ?
		       en->tls_listener : NULL;
	for (unsigned i = 0; b->transport == SP_STORE_TCP && i < en->n_listeners; i++)
		if (en->tcp_listeners[i] && en->tcp_listeners[i]->local.port == b->virtual_server.port)
			return en->tcp_listeners[i];
	return NULL;
}

bool sp_engine_flow_gone(const struct sp_engine *en, const struct sp_binding *b)
{
	struct sp_transport_conn *l;
	struct sp_transport_out o = { .to = &b->terminal, .from = &b->virtual_server };

	if (!b->outbound || b->transport == SP_STORE_UDP)
		return false;
	l = sp_engine_stream_listener(en, b);
	return !l || !sp_transport_connected(l, &o);
}

/* Over the connection a TCP terminal holds to E:e, or, when it is gone,
 * a new one to its Contact, whose messages the engine then takes as the
 * interception would have given them (its strategy, VPN and tag). */
static int sp_engine_send_tcp(struct sp_engine *en, const struct sp_binding *b, uint32_t mark,
			      const char *buf, size_t len)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);
	struct sp_transport_out o = { .to = &b->terminal, .from = &b->virtual_server, .mark = mark,
				      .data = buf, .len = len, .now = en->send_now,
				      .counter = &en->stats.to_terminals };
	struct sp_transport_conn *l = sp_engine_stream_listener(en, b);
	struct sp_endpoint contact;

	if (!l)
		return -1;
	/* an outbound terminal is reached over its flow only (RFC 5626 §5.3) */
	if (st && !b->outbound && PROTO(en, contact_address, b, &contact) == 0) {
		o.connect_to = &contact;
		o.in_mark = sp_mark_strategy((uint32_t)(st - en->strategies) + 1) | b->origin_mark;
	}
	return sp_transport_send(l, &o);
}

int sp_engine_send_to_terminal(struct sp_engine *en, const struct sp_binding *b,
			       const char *buf, size_t len)
{
	/* back into its VPN, re-tagged (sp_mark.h), along its return path */
	uint32_t mark = KD(en, retpath_mark, &b->return_path) | sp_mark_return(b->origin_mark);

	if (b->transport == SP_STORE_TCP || b->transport == SP_STORE_TLS)
		return sp_engine_send_tcp(en, b, mark, buf, len);

	return sp_engine_send_as_e(en, b->transport, &b->terminal,
				   &b->virtual_server, mark, buf, len);
}

int sp_engine_send_to_server(struct sp_engine *en, const struct sp_binding *b,
			     const char *buf, size_t len)
{
	struct sp_transport_conn *bs = sp_transport_find(sp_engine_server_tp(en, b),
							  &b->server_side);
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);
	struct sp_transport_out o = { .to = &b->server, .data = buf, .len = len, .now = en->send_now,
				      .counter = &en->stats.proxied,
				      .tls_name = st && st->server_name[0] ? st->server_name : NULL };

	if (!bs)
		return -1;
	o.now |= sp_engine_crossing(en, bs);
	return sp_transport_send(bs, &o);
}

/* ---- the proxy ---- */

/* What a rewrite of a message through b needs besides the message. */
void sp_engine_route(const struct sp_engine *en, const struct sp_binding *b, struct sp_proto_route *r)
{
	memset(r, 0, sizeof(*r));
	r->binding = b;
	/* each side on its own transport (the protocol's Via says which) */
	r->terminal_tcp = b->transport == SP_STORE_TCP || b->transport == SP_STORE_TLS;
	r->server_tcp = (en->tcp && sp_engine_server_tp(en, b) == en->tcp) ||
			(en->tls && sp_engine_server_tp(en, b) == en->tls);
	r->terminal_tls = b->transport == SP_STORE_TLS;
	r->server_tls = en->tls && sp_engine_server_tp(en, b) == en->tls;
	if (en->msg_kernel) {
		r->media = true;
		r->port_map = sp_media_port_map;
		r->port_map_arg = en->media;
	}
}

struct sp_binding *sp_engine_binding_for(struct sp_engine *en,
					 const struct sp_classify_strategy *st, uint32_t mark,
					 const struct sp_endpoint *terminal,
					 const struct sp_endpoint *virtual_server,
					 const struct sp_proto_keys *keys, bool *over_limit)
{
	uint32_t vpn = sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark));
	struct sp_binding *b = sp_engine_find_terminal(en, vpn, terminal);
	struct sp_binding_params p = { 0 };
	int rc;

	*over_limit = false;
	if (b)
		return b;
	/* the interception pins a strategy to its terminals' family (its
	 * server's, or the other one when it interworks): this keeps it so */
	if (terminal->family != st->terminal_family)
		return NULL;
	if (en->source_bindings_limit &&
	    sp_table_source_bindings(en->table, vpn, terminal) >= en->source_bindings_limit) {
		*over_limit = true;
		return NULL;
	}
	if (!(st->server.family == AF_INET6 ? en->server_side6 : en->server_side).family) {
		if (!en->warned_no_server_side)
			sp_warn("engine: no server-side-address configured: signaling cannot be proxied");
		en->warned_no_server_side = true;
		return NULL;
	}
	p.via_sent_by = keys->via;
	if (keys->contact[0])
		p.contact = keys->contact;
	p.vpn = vpn;
	p.terminal = *terminal;
	p.virtual_server = *virtual_server;
	p.server_side = st->server.family == AF_INET6 ? en->server_side6 : en->server_side;
	p.server = st->server;
	p.strategy_id = st->seq;
	p.origin_mark = mark & SP_MARK_ORIGIN_MASK;
	p.transport = sp_engine_rx_store_transport(en);
	rc = sp_binding_create(en->table, &p, sp_now_ms(), &b);
	if (rc < 0) {
		/* at a flood's rate when the ports run out: one line per interval */
		static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("engine: new terminals refused");
		char src[SP_ENDPOINT_STRLEN];

		sp_log_limited(&lim, LOG_WARNING, "engine: cannot bind a new terminal %s: %s",
			       sp_endpoint_format(terminal, src, sizeof(src)), sp_table_strerror(rc));
		return NULL;
	}
	if (!sp_engine_bsock_open(en, b)) {
		sp_binding_delete(en->table, b);
		return NULL;
	}
	return b;
}

/* Media hooks around one message's rewrite: begin before it (the port map
 * needs the dialog's streams), finish (commit) once the message left; a
 * dropped message is aborted on the way out, releasing the ports it took. */
void sp_engine_media_begin(struct sp_engine *en, const struct sp_binding *b,
			   const struct sp_proto_msg *m, enum sp_media_from from)
{
	const struct sp_dialog *dlg;

	en->send_now = en->msg_kernel && m->has_media;
	if (!en->send_now) {
		/* nothing to map or commit: spare the dialog lookup */
		sp_media_begin(en->media, 0, from, false);
		return;
	}
	dlg = sp_dialog_find(en->table, b->vpn, m->session, m->session_len, b);
	sp_media_begin(en->media, dlg ? dlg->id : 0, from, true);
	if (from == SP_MEDIA_FROM_TERMINAL) /* a private media address behind a NAT */
		sp_media_terminal_source(en->media, &b->terminal);
}

void sp_engine_media_finish(struct sp_engine *en, const struct sp_binding *b,
			    const struct sp_proto_msg *m)
{
	const struct sp_dialog *dlg;

	if (!en->msg_kernel || !m->has_media) {
		sp_media_abort(en->media); /* begun inactive: a no-op */
		return;
	}
	/* looked up again: tracking may have created or deleted it */
	dlg = sp_dialog_find(en->table, b->vpn, m->session, m->session_len, b);
	if (!dlg || dlg->state >= SP_DIALOG_TERMINATING)
		sp_media_abort(en->media);
	else
		sp_media_commit_origin(en->media, dlg->id, &b->virtual_server, &b->server_side,
				       (uint16_t)b->vpn, (uint16_t)(b->origin_mark & SP_MARK_ORIGIN_MASK));
	if (sp_media_latching(en->media) && !en->media_latch_armed) {
		sp_loop_timer_arm(en->media_latch, SP_ENGINE_MEDIA_LATCH_MS);
		en->media_latch_armed = true;
	}
}

/* A probe of the protocol's own (SIP: STUN on the SIP port, RFC 5626
 * §4.4.2 keep-alive), r what the protocol made of it with its answer, n
 * bytes, in the transport's out buffer: sent as E back to where the
 * terminal's datagrams come from; it refreshes the binding as a keep-alive
 * does but never goes on to the server. */
void sp_engine_probe(struct sp_engine *en, const struct sp_endpoint *terminal,
		     const struct sp_endpoint *virtual_server, uint32_t mark,
		     enum sp_proto_probe r, size_t n, const char *reason)
{
	struct sp_binding *b = sp_engine_find_terminal(en, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
					       terminal);
	struct sp_learned_path path = { 0 };
	uint32_t out_mark;

	if (r == SP_PROTO_PROBE_IGNORED) {
		sp_engine_drop(en, &en->stats.probe_errors);
		sp_debug("engine: %s probe from a terminal dropped: %s", en->proto->name, reason);
		return;
	}
	if (r == SP_PROTO_PROBE_REFUSED) {
		en->stats.probe_errors++;
		sp_debug("engine: %s probe from a terminal refused: %s", en->proto->name, reason);
	} else {
		en->stats.probes_answered += r == SP_PROTO_PROBE_ANSWERED;
		en->stats.keepalives++;
		if (b) {
			sp_binding_touch(en->table, b, sp_now_ms());
		}
	}
	if (!n)
		return; /* an indication: nothing to answer */
	/* back the way it came, as any answer to this terminal goes */
	if (b)
		path = b->return_path;
	else
		KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
	out_mark = KD(en, retpath_mark, &path) | sp_mark_return(mark & SP_MARK_ORIGIN_MASK);
	if (sp_engine_send_as_e(en, sp_engine_rx_store_transport(en), terminal, virtual_server, out_mark, en->tp->out, n) == 0)
		en->stats.to_terminals++;
	else
		sp_engine_drop(en, &en->stats.send_errors);
}

/* A source limited: named in the log and in a notification, once a minute
 * at most (a flood must not turn into a log flood). */
void sp_engine_source_limited(struct sp_engine *en, uint32_t vpn,
			      const struct sp_endpoint *src, const char *why)
{
	char a[SP_ENDPOINT_STRLEN];
	struct sp_endpoint host = *src;

	host.port = 0;
	if (!sp_srclimit_notify_due(en->source_notified, vpn, &host, sp_now_ms(),
				    SP_ENGINE_SOURCE_NOTIFY_MS))
		return;
	sp_endpoint_host(&host, a, sizeof(a));
	sp_warn("engine: source %s (vpn %u) limited: %s", a, vpn, why);
	sp_events_publish(en->env.events, &(struct sp_event){
		.type = SP_EVENT_SOURCE_LIMITED,
		.u.source_limited = { .source = &host, .vpn = vpn } });
}

/* A source at its binding limit asks for one more: a request gets 503 with
 * Retry-After from E, as a server over capacity would answer (RFC 3261
 * 21.5.4), so the terminal backs off instead of retransmitting; anything
 * else (ACK, responses) is dropped. */
void sp_engine_refuse_source(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len, const struct sp_proto_msg *m)
{
	uint32_t vpn = sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark));

	sp_engine_drop(en, &en->stats.source_bindings);
	sp_engine_source_limited(en, vpn, terminal, "bindings held at the limit");
	if (m->answerable) {
		struct sp_learned_path path = { 0 };
		size_t n = PROTO(en, refuse, m, buf, len, SP_PROTO_UNAVAILABLE,
				 SP_ENGINE_SOURCE_RETRY_AFTER_S, en->tp->out, en->tp->out_max);

		KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
		if (n && sp_engine_send_as_e(en, sp_engine_rx_store_transport(en), terminal, virtual_server,
					     KD(en, retpath_mark, &path) |
						     sp_mark_return(mark & SP_MARK_ORIGIN_MASK),
					     en->tp->out, n) == 0)
			en->stats.to_terminals++;
	}
}

/* 483 to a terminal's request with Max-Forwards: 0 (RFC 3261 §16.3 step 2),
 * from E, before any binding: a request that goes nowhere must not take a
 * port c for the binding idle time. */
void sp_engine_too_many_hops(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len, const struct sp_proto_msg *m)
{
	sp_engine_drop(en, &en->stats.too_many_hops);
	if (m->answerable) {
		struct sp_binding *b = sp_engine_find_terminal(en, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
						       terminal);
		struct sp_learned_path path = { 0 };
		size_t n = PROTO(en, refuse, m, buf, len, SP_PROTO_TOO_MANY_HOPS, 0, en->tp->out,
				 en->tp->out_max);

		if (b)
			path = b->return_path;
		else
			KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
		if (n && sp_engine_send_as_e(en, sp_engine_rx_store_transport(en), terminal, virtual_server,
					     KD(en, retpath_mark, &path) |
						     sp_mark_return(mark & SP_MARK_ORIGIN_MASK),
					     en->tp->out, n) == 0)
			en->stats.to_terminals++;
	}
}

/* A final response of the SP's own to a request: towards the terminal (from
 * E) when it came from the terminal, towards the server (from C:c) when it
 * came from the server. None to an ACK, which has no response. */
void sp_engine_reply(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
		     const struct sp_proto_msg *m, const char *buf, size_t len,
		     enum sp_proto_refusal why, unsigned retry_after)
{
	size_t n = PROTO(en, refuse, m, buf, len, why, retry_after, en->tp->out, en->tp->out_max);

	if (!n)
		return;
	if (to_terminal) {
		if (sp_engine_send_to_terminal(en, b, en->tp->out, n) == 0)
			en->stats.to_terminals++;
	} else if (sp_engine_send_to_server(en, b, en->tp->out, n) == 0) {
		en->stats.proxied++;
	}
}

/* A message the rewriter refused. A request that found no free media port
 * is answered 503 with when to try again (from E to a terminal, from C:c to
 * the server), so the caller does not retransmit into the void; anything
 * else is a counted drop. */
void sp_engine_rewrite_refused(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
			       const struct sp_proto_msg *m, const char *buf, size_t len, int rc)
{
	if (rc != SP_PROTO_E_MEDIA) {
		sp_engine_drop(en, &en->stats.rewrite_errors);
		return;
	}
	sp_engine_drop(en, &en->stats.no_media_port);
	if (!m->is_request)
		return;
	sp_engine_reply(en, b, to_terminal, m, buf, len, SP_PROTO_UNAVAILABLE, SP_ENGINE_RETRY_AFTER);
	sp_engine_log_refusal(en, "no free media port", m->session);
}
