/* The `show` renderers of the engine's state (sessions, bindings, VPNs,
 * statistics): the management plane reads the engine through its read API
 * (sp_engine.h) and formats here, so the engine's core holds no output
 * formats. */
#include "config.h"
#include "sp_show.h"
#include "sp_classify.h"
#include "sp_engine.h"
#include "sp_mediaproxy.h"
#include "sp_loop.h"
#include "sp_mark.h"
#include "sp_media.h"
#include "sp_persist.h"
#include "sp_redundancy.h"
#include "sp_table.h"
#include "sp_transport_tcp.h"
#include "sp_vpn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The media streams of one dialog, with kernel counters. */
static void sp_show_media_dialog(struct sp_media *m, uint32_t dialog_id, FILE *out)
{
	for (unsigned i = 0; i < SP_SDP_MAX_STREAMS; i++) {
		struct sp_media_stream_view v;
		char t[SP_ENDPOINT_STRLEN], f[SP_ENDPOINT_STRLEN];

		if (!sp_media_stream_view(m, dialog_id, i, &v))
			continue;
		fprintf(out, "       media %u: terminal %s E-port %u C-port %u far %s %s\n", i,
			v.term_known ? sp_endpoint_format(&v.term, t, sizeof(t)) : "-", v.pe,
			v.pc, v.far_known ? sp_endpoint_format(&v.far, f, sizeof(f)) : "-",
			v.carried ? "in kernel" : "not in kernel");
		if (v.joined)
			fprintf(out, "         joined with dialog %u: terminal to terminal %s\n",
				v.peer_dialog, sp_endpoint_format(&v.peer_term, f, sizeof(f)));
		if (!v.counted)
			continue;
		fprintf(out,
			"         rtp  to far %llu packets %llu bytes, to terminal %llu packets %llu bytes\n"
			"         rtcp to far %llu packets %llu bytes, to terminal %llu packets %llu bytes\n",
			(unsigned long long)v.rtp.orig_packets, (unsigned long long)v.rtp.orig_bytes,
			(unsigned long long)v.rtp.reply_packets, (unsigned long long)v.rtp.reply_bytes,
			(unsigned long long)v.rtcp.orig_packets, (unsigned long long)v.rtcp.orig_bytes,
			(unsigned long long)v.rtcp.reply_packets, (unsigned long long)v.rtcp.reply_bytes);
	}
}

static void sp_show_media_statistics(struct sp_media *m, FILE *out)
{
	const struct sp_media_stats *s = sp_media_stats(m);

	fprintf(out, "Media\n");
	fprintf(out, "  sessions with media       %llu\n", (unsigned long long)s->sessions);
	fprintf(out, "  media ports allocated     %llu\n", (unsigned long long)s->pairs_in_use * 2);
	fprintf(out, "  streams in the kernel     %llu\n", (unsigned long long)s->streams_installed);
	fprintf(out, "  streams joined here       %llu\n", (unsigned long long)s->streams_joined);
	fprintf(out, "  kernel entries created    %llu\n", (unsigned long long)s->entries_created);
	fprintf(out, "  kernel entries deleted    %llu\n", (unsigned long long)s->entries_deleted);
	fprintf(out, "  kernel errors             %llu\n", (unsigned long long)s->kernel_errors);
	fprintf(out, "  kernel refusals           %llu\n", (unsigned long long)s->kernel_refusals);
	fprintf(out, "  streams behind a NAT      %llu\n", (unsigned long long)s->nat_streams);
	fprintf(out, "  flows latched             %llu\n", (unsigned long long)s->latched);
	fprintf(out, "  ports exhausted           %llu\n", (unsigned long long)s->ports_exhausted);
	fprintf(out, "  SDP refused               %llu\n", (unsigned long long)s->refused);
	fprintf(out, "  stale entries removed     %llu\n", (unsigned long long)s->reconcile_removed);
	fprintf(out, "  entries restored          %llu\n", (unsigned long long)s->reconcile_restored);
}

static void sp_show_format_age(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;
	snprintf(buf, len, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
		 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

/* The call's counters at its MP (NG query): from the last reply, never
 * waited for; the first show asks, the next one shows. */
static void sp_show_dialog_mp_stats(struct sp_engine *en, const char *call_id, FILE *out)
{
	struct sp_mp_call_stats st;

	if (!sp_engine_call_media_stats(en, call_id, &st))
		return;
	if (!st.valid) {
		fputs("       media proxy counters: asked (shown from the next show)\n", out);
		return;
	}
	fprintf(out, "       media proxy counters: rtp %llu packets %llu bytes, rtcp %llu packets %llu bytes, "
		"errors %llu (%llu ms ago)\n", (unsigned long long)st.rtp_packets,
		(unsigned long long)st.rtp_bytes, (unsigned long long)st.rtcp_packets,
		(unsigned long long)st.rtcp_bytes, (unsigned long long)st.errors,
		(unsigned long long)(sp_loop_now_ms() - st.at_ms));
}

/* The remote media proxy holding the call, when one does (or did): the
 * dialog's (synced and stored, so a standby shows it too), else the
 * client's (an offer still waiting for its MP, or a kernel fallback). */
static void sp_show_dialog_media_proxy(struct sp_engine *en, const struct sp_dialog *d, FILE *out)
{
	char call_id[SP_CALLID_MAX + 1];
	const char *mp = d->media_proxy;

	snprintf(call_id, sizeof(call_id), "%.*s", (int)d->call_id_len, d->call_id);
	if (!mp[0])
		mp = sp_engine_call_media_proxy(en, call_id);
	if (mp && mp[0])
		fprintf(out, "       media proxy %s\n", mp);
	else if (mp)
		fputs("       media proxy none: fell back to the kernel\n", out);
	if (mp && mp[0])
		sp_show_dialog_mp_stats(en, call_id, out);
}

void sp_show_sessions(struct sp_engine *en, FILE *out, bool detail)
{
	const struct sp_table *table = sp_engine_table(en);
	struct sp_media *media = sp_engine_media(en);
	uint64_t now = sp_loop_now_ms();
	size_t n = 0;

	fprintf(out, "%-6s %-6s %-11s %-21s %-21s %-21s %-21s %-8s %-9s %s\n", "Id", "VPN", "State",
		"Terminal", "Virtual", "Server-side", "Server", "Media", "Transport", "Call-ID");
	for (struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d)) {
		const struct sp_binding *b = d->binding;
		char t[SP_ENDPOINT_STRLEN], v[SP_ENDPOINT_STRLEN], c[SP_ENDPOINT_STRLEN],
			s[SP_ENDPOINT_STRLEN], age[32], tp[16];

		n++;
		char vpn[12];

		snprintf(vpn, sizeof(vpn), d->vpn ? "%u" : "-", d->vpn);
		snprintf(tp, sizeof(tp), "%s/%s", /* terminal side / server side */
			 sp_engine_transport_name(sp_engine_binding_transport(en, b, false)),
			 sp_engine_transport_name(sp_engine_binding_transport(en, b, true)));
		fprintf(out, "%-6u %-6s %-11s %-21s %-21s %-21s %-21s %-8u %-9s %s\n", d->id, vpn,
			sp_dialog_state_name(d->state), sp_endpoint_format(&b->terminal, t, sizeof(t)),
			sp_endpoint_format(&b->virtual_server, v, sizeof(v)),
			sp_endpoint_format(&b->server_side, c, sizeof(c)),
			sp_endpoint_format(&b->server, s, sizeof(s)),
			sp_engine_dialog_media_streams(en, d), tp, d->call_id);
		if (detail) {
			const struct sp_classify_strategy *st = sp_engine_strategy(en, b->strategy_id);
			sp_show_format_age(now - d->created_ms, age, sizeof(age));
			fprintf(out, "       from-tag %s to-tag %s invite-cseq %u age %s strategy %s seq %u binding %u\n",
				d->from_tag[0] ? d->from_tag : "-", d->to_tag[0] ? d->to_tag : "-",
				d->invite_cseq, age, st ? st->name : "-", b->strategy_id, b->id);
			sp_show_media_dialog(media, d->id, out);
			sp_show_dialog_media_proxy(en, d, out);
		}
	}
	fprintf(out, "%zu session%s\n", n, n == 1 ? "" : "s");
}

void sp_show_sessions_count(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	const struct sp_table_counters *c = sp_table_counters(table);
	size_t state[4] = { 0 };

	for (struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d))
		if (d->state <= SP_DIALOG_TERMINATED)
			state[d->state]++;
	fprintf(out, "Sessions: %llu (early %zu, confirmed %zu, terminating %zu)\n",
		(unsigned long long)c->dialogs_current, state[SP_DIALOG_EARLY],
		state[SP_DIALOG_CONFIRMED], state[SP_DIALOG_TERMINATING]);
	fprintf(out, "Bindings: %llu\n", (unsigned long long)c->bindings_current);
}

void sp_show_bindings(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	uint64_t now = sp_loop_now_ms();
	size_t n = 0;

	fprintf(out, "%-6s %-6s %-21s %-21s %-21s %-21s %-9s %-9s %-8s %s\n", "Id", "VPN", "Terminal",
		"Virtual", "Server-side", "Server", "Expires", "Idle", "Dialogs", "Transport");
	for (struct sp_binding *b = sp_binding_first(table); b; b = sp_binding_next(table, b)) {
		char t[SP_ENDPOINT_STRLEN], v[SP_ENDPOINT_STRLEN], c[SP_ENDPOINT_STRLEN],
			s[SP_ENDPOINT_STRLEN], exp[24], idle[24];

		n++;
		if (b->registration_expiry_ms > now)
			snprintf(exp, sizeof(exp), "%llus",
				 (unsigned long long)((b->registration_expiry_ms - now) / 1000));
		else
			snprintf(exp, sizeof(exp), "-");
		snprintf(idle, sizeof(idle), "%llus", (unsigned long long)((now - b->last_activity_ms) / 1000));
		char vpn[12];

		snprintf(vpn, sizeof(vpn), b->vpn ? "%u" : "-", b->vpn);
		/* terminal side / server side */
		fprintf(out, "%-6u %-6s %-21s %-21s %-21s %-21s %-9s %-9s %-8u %s/%s\n", b->id, vpn,
			sp_endpoint_format(&b->terminal, t, sizeof(t)),
			sp_endpoint_format(&b->virtual_server, v, sizeof(v)),
			sp_endpoint_format(&b->server_side, c, sizeof(c)),
			sp_endpoint_format(&b->server, s, sizeof(s)), exp, idle, b->dialog_refs,
			sp_engine_transport_name(sp_engine_binding_transport(en, b, false)),
			sp_engine_transport_name(sp_engine_binding_transport(en, b, true)));
	}
	fprintf(out, "%zu binding%s\n", n, n == 1 ? "" : "s");
}

/* `show statistics`, SIP over TCP: connections, and each reason a
 * connection was refused or closed. */
static void sp_show_tcp_statistics(struct sp_engine *en, FILE *out)
{
	struct sp_tcp_stats t;

	sp_engine_tcp_stats(en, &t);
	fprintf(out, "  TCP connections accepted  %llu\n", (unsigned long long)t.accepted);
	fprintf(out, "    open now                %llu\n", (unsigned long long)t.current);
	fprintf(out, "    pings answered          %llu\n", (unsigned long long)t.pings);
	fprintf(out, "    from servers to C:c     %llu\n", (unsigned long long)t.server_accepted);
	fprintf(out, "  TCP refused or closed\n");
	fprintf(out, "    connection limit        %llu\n", (unsigned long long)t.refused_total);
	fprintf(out, "    source connection limit %llu\n", (unsigned long long)t.refused_source);
	fprintf(out, "    message too large       %llu\n", (unsigned long long)t.too_large);
	fprintf(out, "    bad Content-Length      %llu\n", (unsigned long long)t.bad_length);
	fprintf(out, "    header timeout          %llu\n", (unsigned long long)t.header_timeouts);
	fprintf(out, "    idle timeout            %llu\n", (unsigned long long)t.idle_timeouts);
	fprintf(out, "    not reading             %llu\n", (unsigned long long)t.write_overflows);
	fprintf(out, "    not from the server     %llu\n", (unsigned long long)t.not_server);
	fprintf(out, "    accept waits            %llu\n", (unsigned long long)t.accept_waits);
	sp_engine_tls_stats(en, &t);
	fprintf(out, "  TLS connections\n");
	fprintf(out, "    accepted                %llu\n", (unsigned long long)t.accepted);
	fprintf(out, "    open now                %llu\n", (unsigned long long)t.current);
	fprintf(out, "    handshakes              %llu\n", (unsigned long long)t.tls_handshakes);
	fprintf(out, "    resumed                 %llu\n", (unsigned long long)t.tls_resumed);
	fprintf(out, "  TLS refused or closed\n");
	fprintf(out, "    handshake failed        %llu\n", (unsigned long long)t.tls_handshake_failures);
	fprintf(out, "    certificate refused     %llu\n", (unsigned long long)t.tls_certificate_errors);
	fprintf(out, "    other                   %llu\n",
		(unsigned long long)(t.refused_total + t.refused_source + t.too_large + t.bad_length +
				     t.header_timeouts + t.idle_timeouts + t.write_overflows));
	fprintf(out, "    accept waits            %llu\n", (unsigned long long)t.accept_waits);
}

/* `show statistics` with more than one engine worker: what each read
 * and the bindings it owns (issue 21 item 3). */
static void sp_show_worker_statistics(struct sp_engine *en, FILE *out)
{
	unsigned n = sp_engine_workers(en);

	if (n < 2)
		return;
	fprintf(out, "Workers\n");
	for (unsigned i = 0; i < n; i++) {
		struct sp_engine_worker_stats w;

		sp_engine_worker_stats(en, i, &w);
		fprintf(out, "  worker %-3u from terminals %llu from servers %llu bindings %llu lock waits %llu (%llu ms)\n",
			i, (unsigned long long)w.from_terminals, (unsigned long long)w.from_servers,
			(unsigned long long)w.bindings, (unsigned long long)w.lock_waits,
			(unsigned long long)(w.lock_wait_us / 1000));
	}
}

uint64_t sp_show_strategy_hits(const struct sp_classify_strategy *st, const struct sp_kernel_count *kc,
			       size_t nkc)
{
	uint64_t hits = st->hits;

	if (st->action != SP_ACTION_PROXY)
		for (size_t k = 0; k < nkc; k++)
			if (strcmp(kc[k].comment, st->name) == 0)
				hits += kc[k].packets;
	return hits;
}

/* A counter added here goes into sp_show_data.c's JSON too: test_cli_help
 * compares every counter of the two. */
void sp_show_statistics(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	const struct sp_engine_stats *s = sp_engine_stats(en);
	const struct sp_table_counters *c = sp_table_counters(table);
	size_t n_strategies;
	const struct sp_classify_strategy *strategies = sp_engine_strategies(en, &n_strategies);
	struct sp_kernel_count *kc;
	size_t nkc = sp_engine_kernel_counts(en, &kc);
	uint64_t k_forwarded, k_dropped;

	/* one listing of the ruleset for the totals and the per-strategy hits */
	sp_engine_sum_kernel_counts(kc, nkc, &k_forwarded, &k_dropped);

	fprintf(out, "Signaling proxy statistics\n");
	fprintf(out, "  received from terminals   %llu\n", (unsigned long long)s->received);
	fprintf(out, "  proxied to servers        %llu\n", (unsigned long long)s->proxied);
	fprintf(out, "  received from servers     %llu\n", (unsigned long long)s->from_servers);
	fprintf(out, "  sent to terminals         %llu\n", (unsigned long long)s->to_terminals);
	fprintf(out, "  keep-alives               %llu\n", (unsigned long long)s->keepalives);
	fprintf(out, "  STUN requests answered    %llu\n", (unsigned long long)s->probes_answered);
	fprintf(out, "  STUN errors               %llu\n", (unsigned long long)s->probe_errors);
	fprintf(out, "  forwarded (in the kernel) %llu\n", (unsigned long long)k_forwarded);
	fprintf(out, "  dropped (in the kernel)   %llu\n", (unsigned long long)k_dropped);
	fprintf(out, "  dropped                   %llu\n", (unsigned long long)s->dropped);
	fprintf(out, "    parse errors            %llu\n", (unsigned long long)s->parse_errors);
	fprintf(out, "    rewrite errors          %llu\n", (unsigned long long)s->rewrite_errors);
	fprintf(out, "    session limit           %llu\n", (unsigned long long)s->session_limit);
	fprintf(out, "    no binding              %llu\n", (unsigned long long)s->no_binding);
	fprintf(out, "    unclassified            %llu\n", (unsigned long long)s->unclassified);
	fprintf(out, "    not from the server     %llu\n", (unsigned long long)s->bad_source);
	fprintf(out, "    send errors             %llu\n", (unsigned long long)s->send_errors);
	fprintf(out, "    source bindings limit   %llu\n", (unsigned long long)s->source_bindings);
	fprintf(out, "    unmatched responses     %llu\n", (unsigned long long)s->unmatched_responses);
	fprintf(out, "    too many hops           %llu\n", (unsigned long long)s->too_many_hops);
	fprintf(out, "    too large               %llu\n", (unsigned long long)s->too_large);
	fprintf(out, "    no media port           %llu\n", (unsigned long long)s->no_media_port);
	fprintf(out, "    flow failed (430)       %llu\n", (unsigned long long)s->flow_failed);
	fprintf(out, "    no media proxy          %llu\n", (unsigned long long)s->media_proxy_refused);
	{
		uint64_t rate, new_flows;

		sp_engine_source_limit_drops(en, &rate, &new_flows);
		fprintf(out, "  source limits (in the kernel)\n");
		fprintf(out, "    source rate limit       %llu\n", (unsigned long long)rate);
		fprintf(out, "    source new bindings     %llu\n", (unsigned long long)new_flows);
	}
	fprintf(out, "  socket drops (queue full, in the kernel)\n");
	fprintf(out, "    listener                %llu\n", (unsigned long long)s->socket_drops_listener);
	fprintf(out, "    server-side bindings    %llu\n", (unsigned long long)s->socket_drops_server_side);
	fprintf(out, "    other                   %llu\n",
		(unsigned long long)sp_engine_socket_drops_other(en));
	fprintf(out, "  sessions created          %llu\n", (unsigned long long)c->dialogs_created);
	fprintf(out, "  sessions timed out        %llu\n", (unsigned long long)c->dialogs_expired);
	fprintf(out, "  bindings created          %llu\n", (unsigned long long)c->bindings_created);
	sp_show_media_statistics(sp_engine_media(en), out);
	fprintf(out, "  media proxy requests      %llu\n", (unsigned long long)s->media_proxy_parked);
	fprintf(out, "  media proxy fallbacks     %llu\n", (unsigned long long)s->media_proxy_fallbacks);
	fprintf(out, "  media guard drops         %llu\n",
		(unsigned long long)sp_engine_media_guard_drops(en));
	sp_show_tcp_statistics(en, out);
	sp_show_worker_statistics(en, out);
	fprintf(out, "Strategy hits\n");
	for (size_t i = 0; i < n_strategies; i++) {
		const struct sp_classify_strategy *st = &strategies[i];

		fprintf(out, "  %-24s seq %-5u %-8s %llu\n", st->name, st->seq, sp_action_name(st->action),
			(unsigned long long)sp_show_strategy_hits(st, kc, nkc));
	}
	free(kc);
}

/* `show vpn`: each VPN the classification knows (configured `vpn-id` or a
 * VRF), where it lives in the kernel, and what the tables hold for it. */
void sp_show_vpn(struct sp_engine *en, FILE *out)
{
	const struct sp_table *table = sp_engine_table(en);
	const struct sp_vpn_map *map = sp_engine_vpns(en);

	if (!map->n) {
		fprintf(out, "No VPNs (no interface has a vpn-id, no VRF)\n");
		return;
	}
	fprintf(out, "%-8s %-5s %-6s %-9s %-7s %-9s %-9s %s\n", "VPN", "Slot", "Zone", "Table", "Routes",
		"Bindings", "Sessions", "Interfaces");
	/* one pass over each table (this runs on the loop thread): counts by slot */
	size_t bindings[SP_MARK_VPN_MAX + 1] = { 0 }, sessions[SP_MARK_VPN_MAX + 1] = { 0 };

	for (const struct sp_binding *b = sp_binding_first(table); b; b = sp_binding_next(table, b))
		bindings[sp_vpn_slot(map, b->vpn)]++;
	for (const struct sp_dialog *d = sp_dialog_first(table); d; d = sp_dialog_next(table, d))
		sessions[sp_vpn_slot(map, d->vpn)]++;
	for (unsigned slot = 1; slot <= map->n; slot++) {
		uint32_t id = map->ids[slot];
		size_t routes = 0;
		bool rule = false;
		char routes_s[16], ifs[256] = "";
		size_t used = 0;

		for (size_t i = 0; i < map->n_ifs && used < sizeof(ifs); i++)
			if (map->ifs[i].vpn_id == id) {
				int w = snprintf(ifs + used, sizeof(ifs) - used, "%s%s", used ? " " : "",
						 map->ifs[i].ifname);
				used += w > 0 ? (size_t)w : 0;
			}
		if (sp_vpn_kernel_state(sp_engine_vpn_kernel(en), id, &routes, &rule) < 0 || !rule)
			snprintf(routes_s, sizeof(routes_s), "-");
		else
			snprintf(routes_s, sizeof(routes_s), "%zu", routes);
		fprintf(out, "%-8u %-5u %-6u %-9u %-7s %-9zu %-9zu %s\n", id, slot, id,
			SP_VPN_TABLE_BASE + slot, routes_s, bindings[slot], sessions[slot], ifs);
	}
}

void sp_show_persistence(struct sp_persist *p, FILE *out)
{
	struct sp_persist_stats s;
	const struct sp_persist_restore_stats *r = &s.restore;

	if (!p) {
		fprintf(out, "Persistence: off (--state-dir none): bindings and dialogs do not survive a restart\n");
		return;
	}
	sp_persist_get_stats(p, &s);
	fprintf(out, "Persistence: on, LMDB store in %s\n", sp_persist_dir(p));
	fprintf(out, "  Stored records:      %ld\n", sp_persist_stored(p));
	fprintf(out, "  Changes marked:      %llu (%llu pending)\n", (unsigned long long)s.marks,
		(unsigned long long)s.pending);
	fprintf(out, "  Records written:     %llu, deleted %llu, in %llu transactions\n",
		(unsigned long long)s.records_written, (unsigned long long)s.records_deleted,
		(unsigned long long)s.transactions);
	fprintf(out, "  Last transaction:    %llu records, %llu us (longest %llu us)\n",
		(unsigned long long)s.last_batch_records, (unsigned long long)s.last_commit_us,
		(unsigned long long)s.max_commit_us);
	fprintf(out, "  Errors:              %llu write, %llu encode\n",
		(unsigned long long)s.write_errors, (unsigned long long)s.encode_errors);
	fprintf(out, "  Restored at start:   %llu bindings, %llu dialogs, %llu ports quarantined, %llu records discarded, in %llu ms (down %llu s)\n",
		(unsigned long long)r->bindings, (unsigned long long)r->dialogs,
		(unsigned long long)r->quarantined, (unsigned long long)r->discarded,
		(unsigned long long)r->elapsed_ms, (unsigned long long)(r->downtime_ms / 1000));
	if (s.unreadable_store[0])
		fprintf(out, "  Unreadable at start: moved to %s (nothing restored from it)\n",
			s.unreadable_store);
	fprintf(out, "  Quarantined ports:   %llu\n",
		(unsigned long long)sp_table_counters(sp_persist_table(p))->ports_quarantined_current);
}

static void sp_show_endpoint(const struct sp_addr *a, uint16_t port, char *buf, size_t len)
{
	char b[SP_PREFIX_STRLEN];

	if (!sp_addr_is_set(a))
		snprintf(buf, len, "not configured");
	else
		snprintf(buf, len, "%s port %u", sp_addr_str(a, b, sizeof(b)), port);
}

void sp_show_redundancy(struct sp_redundancy_ctl *ctl, FILE *out)
{
	struct sp_redundancy_view rv, *r = &rv;
	const struct sp_sync_stats *s;
	char when[64], ep[96];
	struct tm tm;
	uint64_t ago;

	sp_redundancy_view(ctl, r);
	if (!r->configured) {
		fprintf(out, "Redundancy is not configured: this SP is active and alone\n");
		return;
	}
	s = &r->sync;
	gmtime_r(&r->changed_wall, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	ago = (sp_loop_now_ms() - r->changed_ms) / 1000;
	fprintf(out, "Redundancy\n");
	fprintf(out, "  Role                    %s\n", sp_role_name(r->role));
	fprintf(out, "  Configured role         %s\n", sp_role_name(r->configured_role));
	fprintf(out, "  Last role change        %s (%llus ago), %s%s%s\n", when, (unsigned long long)ago,
		r->cause, r->reason[0] ? ": " : "", r->reason);
	fprintf(out, "  Role changes            %llu\n", (unsigned long long)r->role_changes);
	sp_show_endpoint(&r->local_address, r->local_port, ep, sizeof(ep));
	fprintf(out, "  Local address           %s\n", ep);
	sp_show_endpoint(&r->peer_address, r->peer_port, ep, sizeof(ep));
	fprintf(out, "  Peer address            %s\n", ep);
	if (r->has_sync)
		fprintf(out, "  Peer state              %s\n", sp_sync_peer_state_name(r->peer_state));
	else
		fprintf(out, "  Peer state              no sync (%s)\n", r->no_sync_why);
	fprintf(out, "  Sync direction          %s%s\n", r->role == SP_ROLE_ACTIVE ? "sending" : "receiving",
		!r->peer_up ? "" :
		s->peer_sender && r->role == SP_ROLE_ACTIVE ? " (the peer sends too: both active!)" :
		s->peer_sender ? " (the peer is active)" :
		r->role == SP_ROLE_ACTIVE ? " (the peer is standby)" : " (the peer is standby too)");
	fprintf(out, "  Last sequence sent      %llu\n", (unsigned long long)s->last_seq_sent);
	fprintf(out, "  Last sequence acked     %llu\n", (unsigned long long)s->last_seq_acked);
	fprintf(out, "  Lag                     %llu unacknowledged, %llu changes waiting\n",
		(unsigned long long)(s->last_seq_sent - s->last_seq_acked), (unsigned long long)s->dirty);
	fprintf(out, "  Last sequence received  %llu\n", (unsigned long long)s->last_seq_received);
	fprintf(out, "  Records sent            %llu\n", (unsigned long long)s->records_sent);
	fprintf(out, "  Records received        %llu\n", (unsigned long long)s->records_received);
	fprintf(out, "  Resyncs                 %llu (last took %llu ms)\n", (unsigned long long)s->resyncs,
		(unsigned long long)s->last_resync_ms);
	fprintf(out, "  Auth failures           %llu\n", (unsigned long long)s->auth_failures);
	fprintf(out, "  Apply errors            %llu\n", (unsigned long long)s->apply_errors);
	fprintf(out, "  Encode errors           %llu\n", (unsigned long long)s->encode_errors);
	fprintf(out, "  Connects                %llu (disconnects %llu)\n", (unsigned long long)s->connects,
		(unsigned long long)s->disconnects);
}
