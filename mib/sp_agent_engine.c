/* The SNMP agent's view of the proxy engine: counters, strategy hits, and the
 * session and binding tables, through the agent's hooks. Get-next on the
 * tables is the state table's own ordered lookup by id, never a scan. The
 * redundancy module's status and switchover are plugged in here too: the
 * agent reads the engine layer, never the other way. */
#include "config.h"
#include "sp_agent.h"
#include "sp_engine.h"
#include "sp_mediaproxy.h"
#include "sp_transport_tcp.h"
#include "sp_redundancy.h"
#include "sp_loop.h"
#include "sp_table.h"

#include <string.h>
#include <sys/socket.h>

static void sp_agent_addr(const struct sp_endpoint *ep, struct sp_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	a->family = ep->family;
	if (ep->family == AF_INET)
		a->u.v4 = ep->addr.v4;
	else if (ep->family == AF_INET6)
		a->u.v6 = ep->addr.v6;
	*port = ep->port;
}

static void sp_agent_engine_stats(void *arg, struct sp_agent_stats *out)
{
	struct sp_engine *en = arg;
	const struct sp_engine_stats *s = sp_engine_stats(en);
	const struct sp_table_counters *c = sp_table_counters(sp_engine_table(en));
	uint64_t fwd, drop;

	sp_engine_kernel_totals(en, &fwd, &drop);
	memset(out, 0, sizeof(*out));
	out->received = s->received;
	out->proxied = s->proxied;
	out->forwarded = fwd;
	out->dropped = s->dropped + drop;
	out->parse_errors = s->parse_errors;
	out->rewrite_errors = s->rewrite_errors;
	out->session_limit_drops = s->session_limit;
	sp_engine_source_limit_drops(en, &out->source_rate_drops, &out->source_new_binding_drops);
	out->source_binding_refusals = s->source_bindings;
	out->stun_requests = s->probes_answered;
	out->stun_errors = s->probe_errors;
	{
		struct sp_tcp_stats tcp;

		sp_engine_tcp_stats(en, &tcp);
		out->tcp_accepted = tcp.accepted;
		out->tcp_open = tcp.current;
		out->tcp_pings = tcp.pings;
		out->tcp_refused_total = tcp.refused_total;
		out->tcp_refused_source = tcp.refused_source;
		out->tcp_too_large = tcp.too_large;
		out->tcp_bad_length = tcp.bad_length;
		out->tcp_header_timeouts = tcp.header_timeouts;
		out->tcp_idle_timeouts = tcp.idle_timeouts;
		out->tcp_write_overflows = tcp.write_overflows;
		out->tcp_accept_waits = tcp.accept_waits;
		sp_engine_tls_stats(en, &tcp);
		out->tls_accepted = tcp.accepted;
		out->tls_handshakes = tcp.tls_handshakes;
		out->tls_resumed = tcp.tls_resumed;
		out->tls_handshake_failures = tcp.tls_handshake_failures;
		out->tls_certificate_errors = tcp.tls_certificate_errors;
		out->tls_accept_waits = tcp.accept_waits;
	}
	out->media_kernel_refusals = sp_engine_media_kernel_refusals(en);
	out->media_guard_drops = sp_engine_media_guard_drops(en);
	out->socket_drops_listener = s->socket_drops_listener;
	out->socket_drops_server_side = s->socket_drops_server_side;
	out->socket_drops_other = sp_engine_socket_drops_other(en);
	out->dropped += out->source_rate_drops + out->source_new_binding_drops;
	out->unmatched_responses = s->unmatched_responses;
	out->too_many_hops = s->too_many_hops;
	out->too_large = s->too_large;
	out->no_media_port_drops = s->no_media_port;
	out->flow_failed = s->flow_failed;
	out->current_sessions = (uint32_t)c->dialogs_current;
	out->current_bindings = (uint32_t)c->bindings_current;
}

static uint64_t sp_agent_engine_hits(void *arg, const char *name, uint32_t seq)
{
	struct sp_engine *en = arg;
	const char *n = sp_engine_strategy_name(en, seq);
	uint64_t hits = 0;

	if (!n || strcmp(n, name) != 0)
		return 0;
	sp_engine_strategy_state(en, seq, &hits);
	return hits;
}

static bool sp_agent_engine_session(void *arg, uint32_t id, bool next, struct sp_agent_session *out)
{
	struct sp_engine *en = arg;
	const struct sp_table *t = sp_engine_table(en);
	const struct sp_dialog *d = next ? sp_dialog_get_next(t, id) : sp_dialog_find_id(t, id);
	const struct sp_binding *b;
	const char *st;

	if (!d)
		return false;
	b = d->binding;
	memset(out, 0, sizeof(*out));
	out->id = d->id;
	out->state = (int)d->state + 1; /* MIB: early(1) confirmed(2) terminating(3) terminated(4) */
	sp_agent_addr(&b->terminal, &out->term, &out->term_port);
	sp_agent_addr(&b->virtual_server, &out->virt, &out->virt_port);
	sp_agent_addr(&b->server_side, &out->proxy, &out->proxy_port);
	sp_agent_addr(&b->server, &out->server, &out->server_port);
	snprintf(out->call_id, sizeof(out->call_id), "%s", d->call_id);
	out->media_streams = sp_engine_dialog_media_streams(en, d);
	st = sp_engine_strategy_name(en, b->strategy_id);
	snprintf(out->strategy, sizeof(out->strategy), "%s", st ? st : "");
	out->age = (uint32_t)((sp_loop_now_ms() - d->created_ms) / 1000);
	return true;
}

static bool sp_agent_engine_binding(void *arg, uint32_t id, bool next, struct sp_agent_binding *out)
{
	struct sp_engine *en = arg;
	const struct sp_table *t = sp_engine_table(en);
	const struct sp_binding *b = next ? sp_binding_get_next(t, id) : sp_binding_find_id(t, id);
	uint64_t now = sp_loop_now_ms();

	if (!b)
		return false;
	memset(out, 0, sizeof(*out));
	out->id = b->id;
	sp_agent_addr(&b->terminal, &out->term, &out->term_port);
	sp_agent_addr(&b->server_side, &out->proxy, &out->proxy_port);
	sp_agent_addr(&b->server, &out->server, &out->server_port);
	out->vpn_id = b->vpn;
	out->term_transport = sp_engine_binding_transport(en, b, false);
	out->server_transport = sp_engine_binding_transport(en, b, true);
	out->expires = b->registration_expiry_ms > now
			       ? (uint32_t)((b->registration_expiry_ms - now) / 1000)
			       : 0;
	return true;
}

static bool sp_agent_engine_media_proxy(void *arg, const char *name,
					uint64_t out[SP_AGENT_MP_NCOUNTERS])
{
	static struct sp_mp_view v[SP_MP_MAX]; /* the loop's thread only; big for a stack */
	size_t n = sp_engine_media_proxy_views(arg, v, SP_MP_MAX);

	for (size_t i = 0; i < n; i++) {
		const struct sp_mp_stats *s = &v[i].stats;

		if (strcmp(v[i].name, name) != 0)
			continue;
		out[SP_AGENT_MP_CALLS] = v[i].calls;
		out[SP_AGENT_MP_OFFERS] = s->offers;
		out[SP_AGENT_MP_ANSWERS] = s->answers;
		out[SP_AGENT_MP_DELETES] = s->deletes;
		out[SP_AGENT_MP_QUERIES] = s->queries;
		out[SP_AGENT_MP_PINGS] = s->pings;
		out[SP_AGENT_MP_PONGS] = s->pongs;
		out[SP_AGENT_MP_REQUESTS] = s->requests;
		out[SP_AGENT_MP_REPLIES] = s->replies;
		out[SP_AGENT_MP_RETRANSMISSIONS] = s->retransmissions;
		out[SP_AGENT_MP_TIMEOUTS] = s->timeouts;
		out[SP_AGENT_MP_ERRORS] = s->errors;
		out[SP_AGENT_MP_BAD_REPLIES] = s->bad_replies;
		out[SP_AGENT_MP_WRONG_COOKIES] = s->wrong_cookie;
		return true;
	}
	return false;
}

void sp_agent_attach_engine(struct sp_agent *a, struct sp_engine *en)
{
	static const struct sp_agent_hooks hooks = {
		.stats = sp_agent_engine_stats,
		.strategy_hits = sp_agent_engine_hits,
		.session = sp_agent_engine_session,
		.binding = sp_agent_engine_binding,
		.media_proxy = sp_agent_engine_media_proxy,
	};

	if (a && en)
		sp_agent_set_hooks(a, &hooks, en);
}

/* ---- the redundancy module: role, peer, channel counters, switchover ---- */

static void sp_agent_redundancy_read(void *arg, struct sp_agent_redundancy_status *out)
{
	struct sp_redundancy_status st;

	sp_redundancy_get_status(arg, &st);
	memset(out, 0, sizeof(*out));
	out->role = st.role;
	out->peer_state = st.peer == SP_RED_PEER_CONNECTED ? SP_PEER_CONNECTED :
			  st.peer == SP_RED_PEER_LOST ? SP_PEER_LOST : SP_PEER_UNKNOWN;
	out->last_seq_sent = st.last_seq_sent;
	out->last_seq_acked = st.last_seq_acked;
	out->msgs_sent = st.msgs_sent;
	out->msgs_received = st.msgs_received;
	out->resyncs = st.resyncs;
	out->auth_failures = st.auth_failures;
}

static int sp_agent_redundancy_switchover(void *arg, struct sp_error *e)
{
	return sp_redundancy_force_switchover(arg, e);
}

static int sp_agent_redundancy_switchover_check(void *arg, struct sp_error *e)
{
	return sp_redundancy_switchover_check(arg, e);
}

void sp_agent_attach_redundancy_ctl(struct sp_agent *a, struct sp_redundancy_ctl *r)
{
	if (a && r)
		sp_agent_attach_redundancy(a, sp_agent_redundancy_read, sp_agent_redundancy_switchover,
					   sp_agent_redundancy_switchover_check, r);
}
