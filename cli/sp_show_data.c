/* The JSON form of the show commands of sp_show.c, from the same read APIs
 * (sp_engine.h, sp_media_stream_view, sp_persist_get_stats,
 * sp_redundancy_view): numbers as numbers, endpoints as "address:port",
 * what the text shows as "-" as null. */
#include "config.h"
#include "sp_show_data.h"
#include "sp_show.h"
#include "sp_classify.h"
#include "sp_engine.h"
#include "sp_json.h"
#include "sp_loop.h"
#include "sp_mark.h"
#include "sp_media.h"
#include "sp_mediaproxy.h"
#include "sp_persist.h"
#include "sp_redundancy.h"
#include "sp_table.h"
#include "sp_transport_tcp.h"
#include "sp_vpn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sp_json_counter {
	const char *key;
	uint64_t value;
};

static void sp_json_counters(struct sp_json *j, const struct sp_json_counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sp_json_uint(j, c[i].key, c[i].value);
}

#define SP_N(a) (sizeof(a) / sizeof((a)[0]))

static void sp_json_endpoint(struct sp_json *j, const char *key, const struct sp_endpoint *ep)
{
	char buf[SP_ENDPOINT_STRLEN];

	sp_json_str(j, key, sp_endpoint_format(ep, buf, sizeof(buf)));
}

static void sp_json_vpn(struct sp_json *j, uint32_t vpn)
{
	if (vpn)
		sp_json_uint(j, "vpn", vpn);
	else
		sp_json_null(j, "vpn");
}

static void sp_json_flow_counts(struct sp_json *j, const char *key, const struct sp_ct_counters *c)
{
	sp_json_object(j, key);
	sp_json_uint(j, "to-far-packets", c->orig_packets);
	sp_json_uint(j, "to-far-bytes", c->orig_bytes);
	sp_json_uint(j, "to-terminal-packets", c->reply_packets);
	sp_json_uint(j, "to-terminal-bytes", c->reply_bytes);
	sp_json_close(j);
}

static void sp_json_media_dialog(struct sp_json *j, struct sp_media *m, uint32_t dialog_id)
{
	sp_json_array(j, "media");
	for (unsigned i = 0; i < SP_SDP_MAX_STREAMS; i++) {
		struct sp_media_stream_view v;

		if (!sp_media_stream_view(m, dialog_id, i, &v))
			continue;
		sp_json_object(j, NULL);
		sp_json_uint(j, "stream", i);
		if (v.term_known)
			sp_json_endpoint(j, "terminal", &v.term);
		else
			sp_json_null(j, "terminal");
		sp_json_uint(j, "e-port", v.pe);
		sp_json_uint(j, "c-port", v.pc);
		if (v.far_known)
			sp_json_endpoint(j, "far", &v.far);
		else
			sp_json_null(j, "far");
		sp_json_bool(j, "in-kernel", v.carried);
		if (v.joined) {
			sp_json_uint(j, "joined-with-dialog", v.peer_dialog);
			sp_json_endpoint(j, "peer-terminal", &v.peer_term);
		}
		if (v.counted) {
			sp_json_flow_counts(j, "rtp", &v.rtp);
			sp_json_flow_counts(j, "rtcp", &v.rtcp);
		}
		sp_json_close(j);
	}
	sp_json_close(j);
}

/* The remote MP holding the call ("media-proxy", null: none) and its
 * counters there ("media-proxy-counters", null until a query answered). */
static void sp_json_dialog_media_proxy(struct sp_json *j, struct sp_engine *en, const struct sp_dialog *d)
{
	char call_id[SP_CALLID_MAX + 1];
	const char *mp = d->media_proxy;
	struct sp_mp_call_stats st;

	snprintf(call_id, sizeof(call_id), "%.*s", (int)d->call_id_len, d->call_id);
	if (!mp[0])
		mp = sp_engine_call_media_proxy(en, call_id);
	sp_json_str(j, "media-proxy", mp && mp[0] ? mp : NULL);
	if (!mp || !mp[0] || !sp_engine_call_media_stats(en, call_id, &st) || !st.valid) {
		sp_json_null(j, "media-proxy-counters");
		return;
	}
	sp_json_object(j, "media-proxy-counters");
	sp_json_uint(j, "rtp-packets", st.rtp_packets);
	sp_json_uint(j, "rtp-bytes", st.rtp_bytes);
	sp_json_uint(j, "rtcp-packets", st.rtcp_packets);
	sp_json_uint(j, "rtcp-bytes", st.rtcp_bytes);
	sp_json_uint(j, "errors", st.errors);
	sp_json_uint(j, "age-ms", sp_loop_now_ms() - st.at_ms);
	sp_json_close(j);
}

static void sp_json_dialog(struct sp_json *j, struct sp_engine *en, const struct sp_dialog *d, bool detail,
			   uint64_t now)
{
	const struct sp_binding *b = d->binding;

	sp_json_object(j, NULL);
	sp_json_uint(j, "id", d->id);
	sp_json_vpn(j, d->vpn);
	sp_json_str(j, "state", sp_dialog_state_name(d->state));
	sp_json_endpoint(j, "terminal", &b->terminal);
	sp_json_endpoint(j, "virtual", &b->virtual_server);
	sp_json_endpoint(j, "server-side", &b->server_side);
	sp_json_endpoint(j, "server", &b->server);
	sp_json_uint(j, "media-streams", sp_engine_dialog_media_streams(en, d));
	sp_json_str(j, "terminal-transport", sp_engine_transport_name(sp_engine_binding_transport(en, b, false)));
	sp_json_str(j, "server-transport", sp_engine_transport_name(sp_engine_binding_transport(en, b, true)));
	sp_json_str(j, "call-id", d->call_id);
	if (detail) {
		const struct sp_classify_strategy *st = sp_engine_strategy(en, b->strategy_id);

		sp_json_str(j, "from-tag", d->from_tag[0] ? d->from_tag : NULL);
		sp_json_str(j, "to-tag", d->to_tag[0] ? d->to_tag : NULL);
		sp_json_uint(j, "invite-cseq", d->invite_cseq);
		sp_json_uint(j, "age-seconds", (now - d->created_ms) / 1000);
		sp_json_str(j, "strategy", st ? st->name : NULL);
		sp_json_uint(j, "strategy-seq", b->strategy_id);
		sp_json_uint(j, "binding", b->id);
		sp_json_media_dialog(j, sp_engine_media(en), d->id);
		sp_json_dialog_media_proxy(j, en, d);
	}
	sp_json_close(j);
}

void sp_show_sessions_json(struct sp_engine *en, FILE *out, bool detail)
{
	const struct sp_table *table = sp_engine_table(en);
	uint64_t now = sp_loop_now_ms();
	struct sp_json j;
	size_t n = 0;

	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "sessions");
	for (struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d), n++)
		sp_json_dialog(&j, en, d, detail, now);
	sp_json_close(&j);
	sp_json_uint(&j, "count", n);
	sp_json_finish(&j);
}

void sp_show_sessions_count_json(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	const struct sp_table_counters *c = sp_table_counters(table);
	size_t state[4] = { 0 };
	struct sp_json j;

	for (struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d))
		if (d->state <= SP_DIALOG_TERMINATED)
			state[d->state]++;
	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_uint(&j, "sessions", c->dialogs_current);
	sp_json_uint(&j, "early", state[SP_DIALOG_EARLY]);
	sp_json_uint(&j, "confirmed", state[SP_DIALOG_CONFIRMED]);
	sp_json_uint(&j, "terminating", state[SP_DIALOG_TERMINATING]);
	sp_json_uint(&j, "bindings", c->bindings_current);
	sp_json_finish(&j);
}

void sp_show_bindings_json(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	uint64_t now = sp_loop_now_ms();
	struct sp_json j;
	size_t n = 0;

	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "bindings");
	for (struct sp_binding *b = sp_binding_first(table); b; b = sp_binding_next(table, b), n++) {
		sp_json_object(&j, NULL);
		sp_json_uint(&j, "id", b->id);
		sp_json_vpn(&j, b->vpn);
		sp_json_endpoint(&j, "terminal", &b->terminal);
		sp_json_endpoint(&j, "virtual", &b->virtual_server);
		sp_json_endpoint(&j, "server-side", &b->server_side);
		sp_json_endpoint(&j, "server", &b->server);
		if (b->registration_expiry_ms > now)
			sp_json_uint(&j, "expires-seconds", (b->registration_expiry_ms - now) / 1000);
		else
			sp_json_null(&j, "expires-seconds");
		sp_json_uint(&j, "idle-seconds", (now - b->last_activity_ms) / 1000);
		sp_json_uint(&j, "dialogs", b->dialog_refs);
		sp_json_str(&j, "terminal-transport",
			    sp_engine_transport_name(sp_engine_binding_transport(en, b, false)));
		sp_json_str(&j, "server-transport",
			    sp_engine_transport_name(sp_engine_binding_transport(en, b, true)));
		sp_json_close(&j);
	}
	sp_json_close(&j);
	sp_json_uint(&j, "count", n);
	sp_json_finish(&j);
}

void sp_show_vpn_json(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	const struct sp_vpn_map *map = sp_engine_vpns(en);
	size_t bindings[SP_MARK_VPN_MAX + 1] = { 0 }, sessions[SP_MARK_VPN_MAX + 1] = { 0 };
	struct sp_json j;

	for (const struct sp_binding *b = sp_binding_first(table); b; b = sp_binding_next(table, b))
		bindings[sp_vpn_slot(map, b->vpn)]++;
	for (const struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d))
		sessions[sp_vpn_slot(map, d->vpn)]++;
	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "vpns");
	for (unsigned slot = 1; slot <= map->n; slot++) {
		uint32_t id = map->ids[slot];
		size_t routes = 0;
		bool rule = false;

		sp_json_object(&j, NULL);
		sp_json_uint(&j, "vpn", id);
		sp_json_uint(&j, "slot", slot);
		sp_json_uint(&j, "zone", id);
		sp_json_uint(&j, "table", SP_VPN_TABLE_BASE + slot);
		if (sp_vpn_kernel_state(sp_engine_vpn_kernel(en), id, &routes, &rule) < 0 || !rule)
			sp_json_null(&j, "routes");
		else
			sp_json_uint(&j, "routes", routes);
		sp_json_uint(&j, "bindings", bindings[slot]);
		sp_json_uint(&j, "sessions", sessions[slot]);
		sp_json_array(&j, "interfaces");
		for (size_t i = 0; i < map->n_ifs; i++)
			if (map->ifs[i].vpn_id == id)
				sp_json_str(&j, NULL, map->ifs[i].ifname);
		sp_json_close(&j);
		sp_json_close(&j);
	}
	sp_json_finish(&j);
}

static void sp_json_statistics_signaling(struct sp_json *j, struct sp_engine *en, uint64_t k_forwarded,
					 uint64_t k_dropped)
{
	const struct sp_engine_stats *s = sp_engine_stats(en);
	const struct sp_table_counters *c = sp_table_counters(sp_engine_table(en));
	uint64_t rate, new_flows;
	const struct sp_json_counter top[] = {
		{ "received-from-terminals", s->received }, { "proxied-to-servers", s->proxied },
		{ "received-from-servers", s->from_servers }, { "sent-to-terminals", s->to_terminals },
		{ "keep-alives", s->keepalives }, { "stun-requests-answered", s->probes_answered },
		{ "stun-errors", s->probe_errors }, { "forwarded-in-kernel", k_forwarded },
		{ "dropped-in-kernel", k_dropped },
	};
	const struct sp_json_counter dropped[] = {
		{ "total", s->dropped }, { "parse-errors", s->parse_errors },
		{ "rewrite-errors", s->rewrite_errors }, { "session-limit", s->session_limit },
		{ "no-binding", s->no_binding }, { "unclassified", s->unclassified },
		{ "not-from-the-server", s->bad_source }, { "send-errors", s->send_errors },
		{ "source-bindings-limit", s->source_bindings }, { "unmatched-responses", s->unmatched_responses },
		{ "too-many-hops", s->too_many_hops }, { "too-large", s->too_large },
		{ "no-media-port", s->no_media_port }, { "no-media-proxy", s->media_proxy_refused },
		{ "flow-failed", s->flow_failed },
	};

	sp_engine_source_limit_drops(en, &rate, &new_flows);
	sp_json_object(j, "signaling");
	sp_json_counters(j, top, SP_N(top));
	sp_json_object(j, "dropped");
	sp_json_counters(j, dropped, SP_N(dropped));
	sp_json_close(j);
	sp_json_object(j, "source-limits-in-kernel");
	sp_json_uint(j, "source-rate-limit", rate);
	sp_json_uint(j, "source-new-bindings", new_flows);
	sp_json_close(j);
	sp_json_object(j, "socket-drops-in-kernel");
	sp_json_uint(j, "listener", s->socket_drops_listener);
	sp_json_uint(j, "server-side-bindings", s->socket_drops_server_side);
	sp_json_uint(j, "other", sp_engine_socket_drops_other(en));
	sp_json_close(j);
	sp_json_uint(j, "sessions-created", c->dialogs_created);
	sp_json_uint(j, "sessions-timed-out", c->dialogs_expired);
	sp_json_uint(j, "bindings-created", c->bindings_created);
	sp_json_close(j);
}

static void sp_json_statistics_media(struct sp_json *j, struct sp_engine *en)
{
	const struct sp_media_stats *s = sp_media_stats(sp_engine_media(en));
	const struct sp_engine_stats *es = sp_engine_stats(en);
	const struct sp_json_counter media[] = {
		{ "sessions-with-media", s->sessions }, { "media-ports-allocated", s->pairs_in_use * 2 },
		{ "streams-in-kernel", s->streams_installed }, { "streams-joined-here", s->streams_joined },
		{ "kernel-entries-created", s->entries_created }, { "kernel-entries-deleted", s->entries_deleted },
		{ "kernel-errors", s->kernel_errors }, { "kernel-refusals", s->kernel_refusals },
		{ "streams-behind-a-nat", s->nat_streams }, { "flows-latched", s->latched },
		{ "ports-exhausted", s->ports_exhausted }, { "sdp-refused", s->refused },
		{ "stale-entries-removed", s->reconcile_removed }, { "entries-restored", s->reconcile_restored },
		{ "media-proxy-requests", es->media_proxy_parked },
		{ "media-proxy-fallbacks", es->media_proxy_fallbacks },
		{ "media-guard-drops", sp_engine_media_guard_drops(en) },
	};

	sp_json_object(j, "media");
	sp_json_counters(j, media, SP_N(media));
	sp_json_close(j);
}

static void sp_json_statistics_tcp(struct sp_json *j, struct sp_engine *en)
{
	struct sp_tcp_stats t;

	sp_engine_tcp_stats(en, &t);
	const struct sp_json_counter tcp[] = {
		{ "accepted", t.accepted }, { "open", t.current }, { "pings-answered", t.pings },
		{ "from-servers", t.server_accepted },
	};
	const struct sp_json_counter closed[] = {
		{ "connection-limit", t.refused_total }, { "source-connection-limit", t.refused_source },
		{ "message-too-large", t.too_large }, { "bad-content-length", t.bad_length },
		{ "header-timeout", t.header_timeouts }, { "idle-timeout", t.idle_timeouts },
		{ "not-reading", t.write_overflows }, { "not-from-the-server", t.not_server },
		{ "accept-waits", t.accept_waits },
	};

	sp_json_object(j, "tcp");
	sp_json_counters(j, tcp, SP_N(tcp));
	sp_json_object(j, "refused-or-closed");
	sp_json_counters(j, closed, SP_N(closed));
	sp_json_close(j);
	sp_json_close(j);
	sp_engine_tls_stats(en, &t);
	{
		const struct sp_json_counter tls[] = {
			{ "accepted", t.accepted }, { "open", t.current },
			{ "handshakes", t.tls_handshakes }, { "resumed", t.tls_resumed },
			{ "handshake-failed", t.tls_handshake_failures },
			{ "certificate-refused", t.tls_certificate_errors },
			{ "other", t.refused_total + t.refused_source + t.too_large + t.bad_length +
					   t.header_timeouts + t.idle_timeouts + t.write_overflows },
			{ "accept-waits", t.accept_waits },
		};

		sp_json_object(j, "tls");
		sp_json_counters(j, tls, SP_N(tls));
		sp_json_close(j);
	}
}

void sp_show_statistics_json(struct sp_engine *en, FILE *out)
{
	size_t n_strategies;
	const struct sp_classify_strategy *strategies = sp_engine_strategies(en, &n_strategies);
	struct sp_kernel_count *kc;
	size_t nkc = sp_engine_kernel_counts(en, &kc);
	uint64_t k_forwarded, k_dropped;
	struct sp_json j;

	sp_engine_sum_kernel_counts(kc, nkc, &k_forwarded, &k_dropped);
	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_statistics_signaling(&j, en, k_forwarded, k_dropped);
	sp_json_statistics_media(&j, en);
	sp_json_statistics_tcp(&j, en);
	if (sp_engine_workers(en) > 1) {
		sp_json_array(&j, "workers");
		for (unsigned i = 0; i < sp_engine_workers(en); i++) {
			struct sp_engine_worker_stats w;

			sp_engine_worker_stats(en, i, &w);
			sp_json_object(&j, NULL);
			sp_json_uint(&j, "worker", i);
			sp_json_uint(&j, "from-terminals", w.from_terminals);
			sp_json_uint(&j, "from-servers", w.from_servers);
			sp_json_uint(&j, "bindings", w.bindings);
			sp_json_uint(&j, "lock-waits", w.lock_waits);
			sp_json_uint(&j, "lock-wait-us", w.lock_wait_us);
			sp_json_close(&j);
		}
		sp_json_close(&j);
	}
	sp_json_array(&j, "strategy-hits");
	for (size_t i = 0; i < n_strategies; i++) {
		const struct sp_classify_strategy *st = &strategies[i];

		sp_json_object(&j, NULL);
		sp_json_str(&j, "name", st->name);
		sp_json_uint(&j, "seq", st->seq);
		sp_json_str(&j, "action", sp_action_name(st->action));
		/* as the text counts them */
		sp_json_uint(&j, "hits", sp_show_strategy_hits(st, kc, nkc));
		sp_json_close(&j);
	}
	sp_json_finish(&j);
	free(kc);
}

void sp_show_persistence_json(struct sp_persist *p, FILE *out)
{
	struct sp_persist_stats s;
	const struct sp_persist_restore_stats *r = &s.restore;
	struct sp_json j;

	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_bool(&j, "enabled", p != NULL);
	if (p) {
		sp_persist_get_stats(p, &s);
		const struct sp_json_counter counts[] = {
			{ "stored-records", (uint64_t)sp_persist_stored(p) }, { "changes-marked", s.marks },
			{ "pending", s.pending }, { "records-written", s.records_written },
			{ "records-deleted", s.records_deleted }, { "transactions", s.transactions },
			{ "last-transaction-records", s.last_batch_records },
			{ "last-commit-us", s.last_commit_us }, { "longest-commit-us", s.max_commit_us },
			{ "write-errors", s.write_errors }, { "encode-errors", s.encode_errors },
			{ "quarantined-ports",
			  sp_table_counters(sp_persist_table(p))->ports_quarantined_current },
		};
		const struct sp_json_counter restored[] = {
			{ "bindings", r->bindings }, { "dialogs", r->dialogs },
			{ "ports-quarantined", r->quarantined }, { "records-discarded", r->discarded },
			{ "elapsed-ms", r->elapsed_ms }, { "downtime-seconds", r->downtime_ms / 1000 },
		};

		sp_json_str(&j, "directory", sp_persist_dir(p));
		sp_json_counters(&j, counts, SP_N(counts));
		sp_json_object(&j, "restored-at-start");
		sp_json_counters(&j, restored, SP_N(restored));
		sp_json_close(&j);
		sp_json_str(&j, "unreadable-store-moved-to", s.unreadable_store[0] ? s.unreadable_store : NULL);
	}
	sp_json_finish(&j);
}

static void sp_json_address(struct sp_json *j, const char *key, const struct sp_addr *a, uint16_t port)
{
	char b[SP_PREFIX_STRLEN];

	if (!sp_addr_is_set(a)) {
		sp_json_null(j, key);
		return;
	}
	sp_json_object(j, key);
	sp_json_str(j, "address", sp_addr_str(a, b, sizeof(b)));
	sp_json_uint(j, "port", port);
	sp_json_close(j);
}

void sp_show_redundancy_json(struct sp_redundancy_ctl *ctl, FILE *out)
{
	struct sp_redundancy_view r;
	const struct sp_sync_stats *s = &r.sync;
	struct sp_json j;
	char when[64];
	struct tm tm;

	sp_redundancy_view(ctl, &r);
	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_bool(&j, "configured", r.configured);
	if (r.configured) {
		const struct sp_json_counter sync[] = {
			{ "last-sequence-sent", s->last_seq_sent }, { "last-sequence-acked", s->last_seq_acked },
			{ "changes-waiting", s->dirty }, { "last-sequence-received", s->last_seq_received },
			{ "records-sent", s->records_sent }, { "records-received", s->records_received },
			{ "resyncs", s->resyncs }, { "last-resync-ms", s->last_resync_ms },
			{ "auth-failures", s->auth_failures }, { "apply-errors", s->apply_errors },
			{ "encode-errors", s->encode_errors }, { "connects", s->connects },
			{ "disconnects", s->disconnects },
		};

		gmtime_r(&r.changed_wall, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sp_json_str(&j, "role", sp_role_name(r.role));
		sp_json_str(&j, "configured-role", sp_role_name(r.configured_role));
		sp_json_object(&j, "last-role-change");
		sp_json_str(&j, "time", when);
		sp_json_uint(&j, "seconds-ago", (sp_loop_now_ms() - r.changed_ms) / 1000);
		sp_json_str(&j, "cause", r.cause);
		sp_json_str(&j, "reason", r.reason[0] ? r.reason : NULL);
		sp_json_close(&j);
		sp_json_uint(&j, "role-changes", r.role_changes);
		sp_json_address(&j, "local-address", &r.local_address, r.local_port);
		sp_json_address(&j, "peer-address", &r.peer_address, r.peer_port);
		sp_json_str(&j, "peer-state", r.has_sync ? sp_sync_peer_state_name(r.peer_state) : NULL);
		sp_json_str(&j, "no-sync-reason", r.has_sync ? NULL : r.no_sync_why);
		sp_json_bool(&j, "peer-up", r.peer_up);
		sp_json_bool(&j, "peer-sends", s->peer_sender);
		sp_json_object(&j, "sync");
		sp_json_counters(&j, sync, SP_N(sync));
		sp_json_close(&j);
	}
	sp_json_finish(&j);
}
