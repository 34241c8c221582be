#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_media.h"
#include "sp_transport_tcp.h"
#include "sp_transport_udp.h"
#include "sp_engine_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the read API of the management plane (cli/sp_show, mib/) ---- */

const struct sp_engine_stats *sp_engine_stats(struct sp_engine *en)
{
	/* with workers, a listener's drops come with its own next datagram,
	 * which the terminal asking may never send (another worker's) */
	for (unsigned i = 0; en->n_workers > 1 && i < en->n_workers; i++)
		for (unsigned k = 0; k < en->n_listeners; k++) {
			struct sp_transport_conn *l = i ? en->workers[i].listeners[k] : en->listeners[k];

			if (l)
				sp_transport_udp_listener_drops(l);
		}
	return &en->stats;
}

const char *sp_engine_strategy_state(struct sp_engine *en, uint32_t seq, uint64_t *hits)
{
	const struct sp_classify_strategy *s = sp_engine_strategy_by_seq(en, seq);

	if (!s)
		return NULL;
	if (hits)
		*hits = s->hits;
	if (s->installed && s->note[0]) {
		/* "installed (how)": the CLI prints it as it is */
		snprintf(((struct sp_classify_strategy *)s)->reason, sizeof(s->reason), "installed (%s)",
			 s->note);
		return s->reason;
	}
	return s->installed ? "installed" : s->reason;
}

size_t sp_engine_kernel_counts(struct sp_engine *en, struct sp_kernel_count **outp)
{
	char *text = NULL;
	struct sp_error err;
	size_t n = 0, cap = 0;
	struct sp_kernel_count *out = NULL;

	*outp = NULL;
	if (!en->kd || KD(en, nft_list, &text, &err) < 0)
		return 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *cnt = strstr(line, "counter packets "), *cm = strstr(line, "comment \"");
		char *q;

		if (!cnt || !cm || strstr(line, "tproxy"))
			continue;
		cm += strlen("comment \"");
		q = strchr(cm, '"');
		if (!q)
			continue;
		*q = '\0';
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct sp_kernel_count *g = realloc(out, ncap * sizeof(*g));

			if (!g)
				break; /* what was counted so far */
			out = g;
			cap = ncap;
		}
		snprintf(out[n].comment, sizeof(out[n].comment), "%s", cm);
		out[n].packets = strtoull(cnt + strlen("counter packets "), NULL, 10);
		out[n].drop = strstr(cnt, " drop") != NULL;
		n++;
	}
	free(text);
	*outp = out;
	return n;
}

void sp_engine_sum_kernel_counts(const struct sp_kernel_count *kc, size_t n, uint64_t *forwarded,
				 uint64_t *dropped)
{
	*forwarded = *dropped = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(kc[i].comment, "keeps conntrack active") == 0)
			continue;
		if (kc[i].drop)
			*dropped += kc[i].packets;
		else
			*forwarded += kc[i].packets;
	}
}

uint64_t sp_engine_media_guard_drops(struct sp_engine *en)
{
	/* banked: what the tables this one replaced had counted */
	return en->media_guard_banked + (en->kd ? KD(en, media_guard_drops) : 0);
}

uint64_t sp_engine_media_kernel_refusals(struct sp_engine *en)
{
	return en->media ? sp_media_stats(en->media)->kernel_refusals : 0;
}

void sp_engine_kernel_totals(struct sp_engine *en, uint64_t *forwarded, uint64_t *dropped)
{
	struct sp_kernel_count *kc;
	size_t n = sp_engine_kernel_counts(en, &kc);

	sp_engine_sum_kernel_counts(kc, n, forwarded, dropped);
	free(kc);
}

const struct sp_table *sp_engine_table(struct sp_engine *en)
{
	return en->table;
}

struct sp_media *sp_engine_media(struct sp_engine *en)
{
	return en->media;
}

uint32_t sp_engine_dialog_media_streams(struct sp_engine *en, const struct sp_dialog *d)
{
	/* with media in the kernel the media module holds the streams; the
	 * dialog's own count is what the signalling announced */
	return en->media ? (uint32_t)sp_media_streams(en->media, d->id) : d->n_media;
}

const struct sp_classify_strategy *sp_engine_strategy(struct sp_engine *en, uint32_t seq)
{
	return sp_engine_strategy_by_seq(en, seq);
}

const struct sp_classify_strategy *sp_engine_strategies(struct sp_engine *en, size_t *n)
{
	*n = en->n_strategies;
	return en->strategies;
}

const struct sp_vpn_map *sp_engine_vpns(struct sp_engine *en)
{
	return &en->vpn_map;
}

const struct sp_vpn_kernel *sp_engine_vpn_kernel(struct sp_engine *en)
{
	return KD(en, vpn_state);
}

const char *sp_engine_strategy_name(struct sp_engine *en, uint32_t seq)
{
	const struct sp_classify_strategy *s = sp_engine_strategy_by_seq(en, seq);
	return s ? s->name : NULL;
}

void sp_engine_clear_sessions(struct sp_engine *en)
{
	struct sp_dialog *d;

	sp_media_clear(en->media);
	while ((d = sp_dialog_first(en->table))) {
		/* a remote media proxy's call ends too (delete) */
		sp_engine_media_end(en, d->id, d->call_id, d->call_id_len);
		sp_dialog_delete(en->table, d);
	}
	sp_engine_arm_expiry(en);
}

void sp_engine_clear_statistics(struct sp_engine *en)
{
	uint64_t rate, new_flows;

	memset(&en->stats, 0, sizeof(en->stats));
	/* the kernel's counters run on: start from what they read now */
	sp_engine_limits_read(en, &rate, &new_flows);
	en->kernel_rate_banked = 0 - rate;
	en->kernel_new_banked = 0 - new_flows;
	en->media_guard_banked = 0 - (en->kd ? KD(en, media_guard_drops) : 0);
	en->socket_drops_other_cleared = KD(en, retpath_rx_drops);
	for (size_t i = 0; i < en->n_strategies; i++)
		en->strategies[i].hits = 0;
	if (en->tcp)
		sp_transport_tcp_clear_stats(en->tcp);
	if (en->tls)
		sp_transport_tcp_clear_stats(en->tls);
	sp_events_publish(en->env.events, &(struct sp_event){ .type = SP_EVENT_STATISTICS_CLEARED });
}

void sp_engine_tcp_stats(struct sp_engine *en, struct sp_tcp_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (en->tcp)
		sp_transport_tcp_get_stats(en->tcp, st);
}

void sp_engine_tls_stats(struct sp_engine *en, struct sp_tcp_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (en->tls)
		sp_transport_tcp_get_stats(en->tls, st);
}

int sp_engine_binding_transport(const struct sp_engine *en, const struct sp_binding *b, bool server_side)
{
	if (server_side)
		return sp_engine_server_tp(en, b) == en->tcp && en->tcp ? 2 :
		       en->tls && sp_engine_server_tp(en, b) == en->tls ? 3 : 1;
	return b->transport == SP_STORE_TLS ? 3 : b->transport == SP_STORE_TCP ? 2 : 1;
}

const char *sp_engine_transport_name(int transport)
{
	return transport == 3 ? "tls" : transport == 2 ? "tcp" : "udp";
}
