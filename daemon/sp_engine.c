#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_mediaproxy.h"
#include "sp_persist.h"
#include "sp_sip_protocol.h"
#include "sp_srclimit.h"
#include "sp_status.h"
#include "sp_table.h"
#include "sp_transport_tcp.h"
#include "sp_transport_udp.h"
#include "sp_vpn.h"
#include "sp_engine_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

uint64_t sp_now_ms(void)
{
	return sp_loop_now_ms();
}

void sp_engine_drop(struct sp_engine *en, uint64_t *reason)
{
	en->stats.dropped++;
	if (reason)
		(*reason)++;
}

/* 503s are refused calls a subscriber notices: say so, but at most one line
 * per SP_ENGINE_REFUSAL_LOG_MS, with how many there were since the last. */
void sp_engine_log_refusal(struct sp_engine *en, const char *why, const char *call_id)
{
	uint64_t now = sp_now_ms();

	en->refusal_log.since++;
	if (en->refusal_log.last_ms && now - en->refusal_log.last_ms < SP_ENGINE_REFUSAL_LOG_MS)
		return;
	{
		char cid[SP_LOG_ESCAPED_MAX]; /* from the network: escaped */

		sp_warn("engine: 503 Service Unavailable (%s) to the caller of %s; %llu call(s) refused "
			"since the last such line", why, sp_log_escape(call_id, cid, sizeof(cid)),
			(unsigned long long)en->refusal_log.since);
	}
	en->refusal_log.last_ms = now;
	en->refusal_log.since = 0;
}

const struct sp_classify_strategy *sp_engine_strategy_by_seq(const struct sp_engine *en,
							     uint32_t seq)
{
	size_t lo = 0, hi = en->n_strategies;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (en->strategies[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < en->n_strategies && en->strategies[lo].seq == seq ? &en->strategies[lo] : NULL;
}

/* The strategy a datagram's mark names (its slot, sp_mark.h). */
const struct sp_classify_strategy *sp_engine_strategy_by_mark(const struct sp_engine *en,
							      uint32_t mark)
{
	uint32_t slot = sp_mark_strategy_slot(mark);

	return slot && slot <= en->n_strategies ? &en->strategies[slot - 1] : NULL;
}

/* The strategies' install state into the daemon's one status store (the
 * CLI and SNMP read it there): installed, with how when it says more, or
 * why not. */
void sp_engine_publish_strategies(struct sp_engine *en)
{
	struct sp_status *st = en->env.status;

	sp_status_reset(st, SP_STATUS_STRATEGY);
	for (size_t i = 0; i < en->n_strategies; i++) {
		const struct sp_classify_strategy *s = &en->strategies[i];

		sp_status_set(st, SP_STATUS_STRATEGY, s->name, s->seq, s->installed,
			      s->installed ? s->note : s->reason);
	}
}

/* The binding of a terminal on the transport of the message being
 * handled (the same A:a over UDP and over TCP are two bindings). */
struct sp_binding *sp_engine_find_terminal(struct sp_engine *en, uint32_t vpn,
					   const struct sp_endpoint *terminal)
{
	struct sp_binding_key key = { .vpn = vpn, .transport = sp_engine_rx_store_transport(en),
				      .terminal = *terminal };

	return sp_binding_find_key(en->table, &key);
}

/* ---- binding sockets ---- */

static void sp_engine_install_table(struct sp_engine *en, unsigned *sockets, unsigned *streams);

/* The transport a binding reaches its server over: TCP when its strategy
 * says `server ... transport tcp`, UDP otherwise. */
struct sp_transport *sp_engine_server_tp(const struct sp_engine *en, const struct sp_binding *b)
{
	const struct sp_classify_strategy *st = sp_engine_strategy_by_seq(en, b->strategy_id);

	if (en->tls && st && st->server_transport == SP_SERVER_TRANSPORT_TLS)
		return en->tls;
	return en->tcp && st && st->server_transport == SP_SERVER_TRANSPORT_TCP ? en->tcp :
	       sp_engine_owner_tp(en, b);
}

/* The store's transport of the terminal side of the message being handled. */
uint8_t sp_engine_rx_store_transport(const struct sp_engine *en)
{
	return en->rx_tls ? SP_STORE_TLS : en->rx_tcp ? SP_STORE_TCP : SP_STORE_UDP;
}

/* The server-side connection of a binding's C:c, opened if it is not; a
 * stream knows its server from now on (only it may connect to C:c), also
 * when the binding comes from the store or the peer. */
struct sp_transport_conn *sp_engine_bsock_open(struct sp_engine *en, const struct sp_binding *b)
{
	struct sp_transport *tp = sp_engine_server_tp(en, b);
	struct sp_transport_conn *bs = sp_transport_open(tp, &b->server_side);

	sp_transport_expect_server(bs, &b->server);
	/* over UDP, before anything is sent: the server's answers to C:c go
	 * to the binding's worker (shared sockets with workers) */
	if (bs && tp == sp_engine_owner_tp(en, b))
		sp_engine_steer_port(en, b, true);
	return bs;
}

static void sp_engine_bsock_close(struct sp_engine *en, const struct sp_binding *b)
{
	struct sp_transport_conn *udp = sp_transport_find(sp_engine_owner_tp(en, b), &b->server_side);

	if (udp)
		sp_engine_steer_port(en, b, false);
	sp_transport_close(udp);
	if (en->tcp)
		sp_transport_close(sp_transport_find(en->tcp, &b->server_side));
	if (en->tls)
		sp_transport_close(sp_transport_find(en->tls, &b->server_side));
}

/* ---- table callbacks and aging ---- */

static void sp_engine_binding_expired(void *arg, struct sp_binding *b)
{
	struct sp_engine *en = arg;
	char t[SP_ENDPOINT_STRLEN], c[SP_ENDPOINT_STRLEN];

	sp_debug("engine: binding %u %s <-> %s expired", b->id,
		 sp_endpoint_format(&b->terminal, t, sizeof(t)),
		 sp_endpoint_format(&b->server_side, c, sizeof(c)));
	sp_engine_bsock_close(en, b);
}

static void sp_engine_dialog_expired(void *arg, struct sp_dialog *d)
{
	struct sp_engine *en = arg;

	sp_engine_media_end(en, d->id, d->call_id, d->call_id_len);
	{
		char cid[SP_LOG_ESCAPED_MAX];

		sp_debug("engine: dialog %u (%s) expired in state %s", d->id,
			 sp_log_escape(d->call_id, cid, sizeof(cid)), sp_dialog_state_name(d->state));
	}
}

/* Re-arms the expiry timer only when the earliest deadline moved earlier
 * than what is armed: a timer that fires early finds nothing due and arms
 * itself again, so a later deadline needs no syscall (bench/RESULTS.md: the
 * re-arm on every batch was 3.6 timerfd_settime calls per call). */
void sp_engine_arm_expiry(struct sp_engine *en)
{
	uint64_t next = sp_table_next_deadline(en->table), now = sp_now_ms();

	if (next == UINT64_MAX || (next >= en->armed_deadline && en->armed_deadline > now))
		return;
	sp_loop_timer_arm(en->expiry, next > now ? next - now : 0);
	en->armed_deadline = next;
}

static void sp_engine_expiry_cb(struct sp_loop *loop, void *arg)
{
	struct sp_engine *en = arg;

	(void)loop;
	en->armed_deadline = UINT64_MAX;
	sp_table_expire(en->table, sp_now_ms());
	sp_engine_arm_expiry(en);
}

/* ---- receiving (the transport's handler) ---- */

static void sp_engine_before_batch(void *arg, enum sp_transport_side side)
{
	struct sp_engine *en = arg;

	/* the return path's packet socket first: then it has seen the frame
	 * of every datagram a listener's batch brings */
	if (side == SP_TRANSPORT_TERMINAL)
		KD(en, retpath_drain);
	/* what an earlier batch prepared and never received (its socket went) */
	sp_engine_pre_clear(en->cur);
}

static void sp_engine_received(void *arg, const struct sp_transport_msg *m)
{
	struct sp_engine *en = arg;

	if (m->truncated) {
		sp_engine_drop(en, &en->stats.parse_errors);
		return;
	}
	/* kept for a message a remote media proxy holds back (sp_engine_remote) */
	en->rx = (struct sp_engine_rx){ .from_server = m->conn->side == SP_TRANSPORT_SERVER,
					.source = m->source, .orig_dst = m->orig_dst,
					.server_local = m->conn->local, .mark = m->mark,
					.ifindex = m->ifindex,
					.tcp = m->conn->tp == en->tcp || (en->tls && m->conn->tp == en->tls),
					.tls = en->tls && m->conn->tp == en->tls,
					.data = m->data, .len = m->len };
	sp_engine_pre_take(en, m);
	if (m->conn->side == SP_TRANSPORT_SERVER) {
		en->cur->stats.from_servers++;
		sp_engine_from_server(en, m->conn, &m->source, m->data, m->len);
	} else if (!m->orig_dst.family) {
		sp_engine_drop(en, &en->stats.unclassified);
	} else {
		en->cur->stats.from_terminals++;
		en->rx_ifindex = m->ifindex;
		en->rx_tcp = en->rx.tcp;
		en->rx_tls = en->rx.tls;
		sp_engine_from_terminal(en, &m->source, &m->orig_dst, m->mark, m->data, m->len);
	}
	sp_engine_pre_done(en);
	en->rx.data = NULL;
}

/* The server-side connection on C:c, whichever transport holds it (the
 * strategy's: UDP, TCP or TLS). */
static struct sp_transport_conn *sp_engine_server_conn(struct sp_engine *en, const struct sp_endpoint *local)
{
	struct sp_transport_conn *bs = NULL;

	/* a UDP binding's socket is in its worker's transport */
	for (unsigned i = 0; i < en->n_workers && !bs; i++)
		bs = sp_transport_find(en->workers[i].tp, local);
	if (!bs)
		bs = sp_transport_find(en->tp, local);
	if (!bs && en->tcp)
		bs = sp_transport_find(en->tcp, local);
	if (!bs && en->tls)
		bs = sp_transport_find(en->tls, local);
	return bs;
}

void sp_engine_receive_again(struct sp_engine *en, const struct sp_engine_rx *rx)
{
	struct sp_transport_conn *bs;

	en->rx = *rx;
	if (!rx->from_server) {
		en->rx_ifindex = rx->ifindex;
		en->rx_tcp = rx->tcp;
		en->rx_tls = rx->tls;
		sp_engine_from_terminal(en, &rx->source, &rx->orig_dst, rx->mark, rx->data, rx->len);
	} else if ((bs = sp_engine_server_conn(en, &rx->server_local))) {
		sp_engine_from_server(en, bs, &rx->source, rx->data, rx->len);
	}
	en->rx.data = NULL;
	sp_engine_arm_expiry(en);
}

static void sp_engine_wake_done(void *arg)
{
	struct sp_engine *en = arg;

	/* what a TCP message sent on over UDP waits in UDP's queue, which
	 * only UDP's own wake-ups flush (a no-op after them) */
	sp_transport_flush(en->tp);
	sp_engine_arm_expiry(en);
}

static void sp_engine_queue_drops(void *arg, enum sp_transport_side side, uint64_t n)
{
	struct sp_engine *en = arg;

	if (side == SP_TRANSPORT_TERMINAL)
		en->stats.socket_drops_listener += n;
	else
		en->stats.socket_drops_server_side += n;
}

static void sp_engine_send_failed(void *arg)
{
	struct sp_engine *en = arg;

	sp_engine_drop(en, &en->stats.send_errors);
}

/* Shared server-side sockets: a datagram to a C:c that no binding holds. */
static void sp_engine_unbound(void *arg, enum sp_transport_side side)
{
	(void)side;
	sp_engine_drop(arg, &((struct sp_engine *)arg)->stats.no_binding);
}

/* ---- lifecycle ---- */

static int sp_engine_ct_install(void *arg, const struct sp_ct_nat *n)
{
	return ((struct sp_kernel_door *)arg)->ops->ct_create(arg, n, SP_MEDIA_CT_TIMEOUT_S);
}

static int sp_engine_ct_remove(void *arg, const struct sp_ct_nat *n)
{
	return ((struct sp_kernel_door *)arg)->ops->ct_delete(arg, n);
}

static int sp_engine_ct_counters(void *arg, const struct sp_ct_nat *n, struct sp_ct_counters *c)
{
	return ((struct sp_kernel_door *)arg)->ops->ct_counters(arg, n, c);
}

static int sp_engine_ct_list(void *arg, struct sp_ct_nat **out)
{
	return ((struct sp_kernel_door *)arg)->ops->ct_list(arg, out);
}

static void sp_engine_media_reconcile_cb(struct sp_loop *loop, void *arg)
{
	struct sp_engine *en = arg;

	(void)loop;
	sp_media_reconcile(en->media);
	sp_loop_timer_arm(en->media_reconcile, SP_ENGINE_MEDIA_RECONCILE_MS);
}

/* Terminals behind a NAT: the media guard's dropped packets name the real
 * sources of their flows. Polled while any stream still learns one. */
static void sp_engine_media_latch_cb(struct sp_loop *loop, void *arg)
{
	struct sp_engine *en = arg;
	struct sp_media_guard_seen *seen;
	struct sp_error err = { "" };
	int n;

	(void)loop;
	en->media_latch_armed = false;
	if (!sp_media_latching(en->media))
		return;
	n = KD(en, media_seen, &seen, &err);
	if (n < 0)
		sp_debug("media: %s", err.msg);
	for (int i = 0; i < n; i++)
		sp_media_latch(en->media, &seen[i].src, &seen[i].dst);
	if (n > 0)
		free(seen);
	if (sp_media_latching(en->media)) {
		sp_loop_timer_arm(en->media_latch, SP_ENGINE_MEDIA_LATCH_MS);
		en->media_latch_armed = true;
	}
}

/* The media state on the door's conntrack, and a first reconciliation that
 * removes the entries a previous run left behind. */
static int sp_engine_media_open(struct sp_engine *en, char *err, size_t errlen)
{
	struct sp_media_kernel mk;

	mk = (struct sp_media_kernel){ sp_engine_ct_install, sp_engine_ct_remove,
				       sp_engine_ct_counters, sp_engine_ct_list, en->kd };
	en->media = sp_media_create(&mk, en->table);
	en->media_reconcile = sp_loop_timer_new(en->env.loop, sp_engine_media_reconcile_cb, en);
	en->media_latch = sp_loop_timer_new(en->env.loop, sp_engine_media_latch_cb, en);
	if (!en->media || !en->media_reconcile || !en->media_latch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp_media_reconcile(en->media);
	sp_loop_timer_arm(en->media_reconcile, SP_ENGINE_MEDIA_RECONCILE_MS);
	return 0;
}

/* The store of --state-dir, and the table as it was before the restart:
 * before the listeners are read, so the first datagram finds every binding. */
static int sp_engine_persist_open(struct sp_engine *en, struct sp_error *e)
{
	const char *dir = en->env.state_dir;
	char err[256] = "";

	if (!dir || strcmp(dir, "none") == 0)
		return 0;
	en->persist = sp_persist_open(dir, en->table, NULL, en->env.loop, err, sizeof(err));
	if (!en->persist || sp_persist_restore(en->persist, sp_now_ms(), sp_persist_wall_ms(), err,
					       sizeof(err)) < 0) {
		sp_error_set(e, "persistence: %s", err);
		return -1;
	}
	sp_persist_follow(en->persist, !en->standby);
		return 0;
}

void sp_engine_persist_suspend(struct sp_engine *en)
{
	sp_persist_close(en->persist);
	en->persist = NULL;
}

struct sp_persist *sp_engine_persist(const struct sp_engine *en)
{
	return en ? en->persist : NULL;
}

int sp_engine_persist_resume(struct sp_engine *en, struct sp_error *e)
{
	const char *dir = en->env.state_dir;
	char err[256] = "";

	if (en->persist || !dir || strcmp(dir, "none") == 0)
		return 0;
	en->persist = sp_persist_open(dir, en->table, NULL, en->env.loop, err, sizeof(err));
	if (!en->persist) {
		sp_error_set(e, "persistence: %s", err);
		return -1;
	}
	sp_persist_follow(en->persist, !en->standby);
		return 0;
}

struct sp_engine *sp_engine_start(const struct sp_engine_env *env, struct sp_error *e)
{
	return sp_engine_start_with(env, NULL, e);
}

/* What the store restored at start: an active engine installs it (sockets,
 * media streams) and arms expiry; logged with the restore's figures. */
static void sp_engine_restored(struct sp_engine *en)
{
	struct sp_persist_stats ps;
	unsigned sockets = 0, streams = 0;

	if (!en->standby)
		sp_engine_install_table(en, &sockets, &streams);
	sp_engine_arm_expiry(en);
	sp_persist_get_stats(en->persist, &ps);
	sp_notice("engine: restored from %s: %llu bindings, %llu dialogs (%u sockets, %u media streams), "
		  "%llu ports quarantined, %llu records discarded, in %llu ms",
		  sp_persist_dir(en->persist), (unsigned long long)ps.restore.bindings,
		  (unsigned long long)ps.restore.dialogs, sockets, streams,
		  (unsigned long long)ps.restore.quarantined,
		  (unsigned long long)ps.restore.discarded,
		  (unsigned long long)ps.restore.elapsed_ms);
}

struct sp_engine *sp_engine_start_with(const struct sp_engine_env *env,
				       const struct sp_engine_deps *deps, struct sp_error *e)
{
	struct sp_engine *en = calloc(1, sizeof(*en));
	struct sp_table_config tc;
	struct sp_table_callbacks cb;
	const struct sp_transport_handler th = {
		.arg = en, .before_batch = sp_engine_before_batch, .received = sp_engine_received,
		.wake_done = sp_engine_wake_done, .queue_drops = sp_engine_queue_drops,
		.send_failed = sp_engine_send_failed, .prepare = sp_engine_prepare,
		.unbound = sp_engine_unbound,
	};
	char err[256] = "";

	if (!en) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	en->env = *env;
	en->proto = deps && deps->protocol ? deps->protocol : sp_sip_protocol();
	en->proto->init();
	en->handler = th;
	en->tp = deps ? deps->transport_new(deps->arg, env->loop, &th) : sp_transport_udp_new(env->loop, &th);
	/* a test's transport stands for every transport there is */
	en->tcp = deps ? NULL : sp_transport_tcp_new(env->loop, &th);
	en->tls = deps ? NULL : sp_transport_tls_new(env->loop, &th);
	sp_table_config_default(&tc);
	/* the configured c range before the store is restored into the table */
	tc.sig_port_first = sp_config_store_current(env->config)->sp.signaling_port_min;
	tc.sig_port_last = sp_config_store_current(env->config)->sp.signaling_port_max;
	tc.media_port_first = 0; /* set by the media configuration (sp_media_set_range) */
	tc.media_port_last = 0;
	cb = (struct sp_table_callbacks){ sp_engine_binding_expired, sp_engine_dialog_expired, en };
	en->table = sp_table_create(&tc, &cb);
	en->expiry = sp_loop_timer_new(env->loop, sp_engine_expiry_cb, en);
	en->armed_deadline = UINT64_MAX;
	en->source_notified = sp_srclimit_new();
	en->limits_poll = sp_loop_timer_new(env->loop, sp_engine_limits_poll_cb, en);
	if (!en->tp || (!deps && (!en->tcp || !en->tls)) || !en->table || !en->expiry ||
	    !en->source_notified || !en->limits_poll) {
		sp_error_set(e, "Out of memory");
		goto fail;
	}
	en->kd = deps ? deps->kernel_open(deps->arg, sp_engine_links_changed, en, e) :
		 sp_kernel_door_open(env->loop, SP_ENGINE_LINK_SETTLE_MS, sp_engine_links_changed, en, e);
	if (!en->kd)
		goto fail;
	/* a test's transport runs one worker */
	if (sp_engine_workers_create(en, deps ? 1 : env->workers, e) < 0)
		goto fail;
	en->mpc = sp_mp_client_new(env->loop, env->status, env->events);
	if (!en->mpc) {
		sp_error_set(e, "Out of memory");
		goto fail;
	}
	if (sp_engine_media_open(en, err, sizeof(err)) < 0) {
		sp_error_set(e, "media: %s", err);
		goto fail;
	}
	/* a standby starts with its tables empty and nothing in the kernel */
	en->standby = sp_config_store_current(env->config)->redundancy.configured &&
		      sp_config_store_current(env->config)->redundancy.role == SP_ROLE_STANDBY;
	if (sp_engine_persist_open(en, e) < 0)
		goto fail;
	if (sp_engine_apply(en, sp_config_store_current(env->config), e) < 0)
		goto fail;
	if (en->persist)
		sp_engine_restored(en);
	if (sp_config_store_subscribe(env->config, "engine", sp_engine_config_cb, en) < 0) {
		sp_error_set(e, "Cannot subscribe to the configuration");
		goto fail;
	}
	sp_loop_timer_arm(en->limits_poll, SP_ENGINE_LIMITS_POLL_MS);
	return en;
fail:
	sp_engine_stop(en);
	return NULL;
}

void sp_engine_stop(struct sp_engine *en)
{
	if (!en)
		return;
	/* the workers' threads end before anything they use goes */
	sp_engine_workers_stop(en);
	/* first, while the media state the dialogs' records read is there:
	 * what is marked goes to the store, which keeps every binding and
	 * dialog (a stopped daemon restores them as a killed one does) */
	sp_persist_close(en->persist);
	en->persist = NULL;
	en->mp_stopping = true; /* its parked messages are dropped */
	sp_mp_client_free(en->mpc);
	en->mpc = NULL;
	sp_loop_timer_free(en->media_reconcile);
	sp_loop_timer_free(en->media_latch);
	sp_media_destroy(en->media); /* removes its conntrack entries */
	/* the interception, the return path, the VPNs' rules, the tagger */
	if (en->kd)
		en->kd->ops->destroy(en->kd);
	for (unsigned i = 0; i < en->n_listeners; i++) {
		sp_transport_close(en->listeners[i]);
		sp_transport_close(en->tcp_listeners[i]);
	}
	sp_transport_destroy(en->tp); /* and every server-side connection */
	sp_transport_destroy(en->tcp); /* and every terminal's connection */
	sp_transport_close(en->tls_listener);
	sp_transport_destroy(en->tls);
	sp_loop_timer_free(en->expiry);
	sp_loop_timer_free(en->limits_poll);
	sp_srclimit_free(en->source_notified);
	if (en->table)
		sp_table_destroy(en->table);
	free(en->strategies);
	free(en);
}

/* ---- active-standby ---- */

bool sp_engine_is_active(struct sp_engine *en)
{
	return !en->standby;
}

struct sp_table *sp_engine_sync_table(struct sp_engine *en)
{
	return en->table;
}

void sp_engine_sync_applied(struct sp_engine *en)
{
	sp_engine_arm_expiry(en);
}

/* The sockets and media entries of a table filled from elsewhere (the peer's
 * state sync, or the store at start). */
static void sp_engine_install_table(struct sp_engine *en, unsigned *sockets, unsigned *streams)
{
	*sockets = *streams = 0;
	for (struct sp_binding *b = sp_binding_first(en->table); b; b = sp_binding_next(en->table, b)) {
		/* the peer's (or the previous boot's) interface numbers mean
		 * nothing here: learned again from the terminal's next message,
		 * the routing table decides until then */
		sp_binding_set_return_path(b, &(struct sp_learned_path){ 0 });
		if (!sp_transport_find(sp_engine_server_tp(en, b), &b->server_side) &&
		    sp_engine_bsock_open(en, b))
			(*sockets)++;
	}
	for (struct sp_dialog *d = sp_dialog_first(en->table); d; d = sp_dialog_next(en->table, d)) {
		int n;

		if (!en->media_on || !d->n_media || d->state >= SP_DIALOG_TERMINATING)
			continue;
		n = sp_media_import(en->media, d->id, &d->binding->virtual_server,
				    &d->binding->server_side, (uint16_t)d->binding->vpn,
				    (uint16_t)(d->binding->origin_mark & SP_MARK_ORIGIN_MASK));
		if (n > 0)
			*streams += (unsigned)n;
	}
	sp_engine_remote_adopt(en);
	/* a terminal behind a NAT that had not latched every flow yet */
	if (sp_media_latching(en->media) && !en->media_latch_armed) {
		sp_loop_timer_arm(en->media_latch, SP_ENGINE_MEDIA_LATCH_MS);
		en->media_latch_armed = true;
	}
}

/* Standby: the interception, the binding sockets and the media entries go;
 * the tables stay (the sync keeps them current). Active: all of it comes
 * back from the tables, the same C:c and media ports the peer used, so the
 * server, the terminals and the far ends see no change. */
int sp_engine_set_active(struct sp_engine *en, bool active, struct sp_error *e)
{
	unsigned sockets = 0, streams = 0;

	if (active == !en->standby)
		return 0;
	if (!active) {
		/* each dialog's streams stay in the table (sp_media_clear
		 * does not announce): a later takeover without a peer to
		 * resync from restores them */
		en->standby = true;
		sp_persist_follow(en->persist, false);
		sp_media_clear(en->media);
		/* the port owner map goes with the sockets: the standby's
		 * table changes by the sync alone (deletes, rekeys), which
		 * never reaches the engine; the takeover writes it again */
		for (struct sp_binding *b = sp_binding_first(en->table); b && en->n_workers > 1;
		     b = sp_binding_next(en->table, b))
			if (sp_transport_find(sp_engine_owner_tp(en, b), &b->server_side))
				sp_engine_steer_port(en, b, false);
		for (unsigned i = 0; i < en->n_workers; i++)
			sp_transport_close_server_side(en->workers[i].tp);
		if (en->tcp)
			sp_transport_close_server_side(en->tcp);
		if (en->tls)
			sp_transport_close_server_side(en->tls);
		{
			uint64_t rate, new_flows;

			sp_engine_limits_read(en, &rate, &new_flows);
			sp_engine_limits_bank(en, rate, new_flows);
			en->source_limits_in_kernel = false;
		}
		struct sp_error kerr = { "" };

		if (KD(en, remove_intercept, &kerr) < 0)
			sp_warn("engine: standby: %s", kerr.msg);
		sp_notice("engine: standby: interception, binding sockets and media entries removed");
		return 0;
	}
	en->standby = false;
	if (sp_engine_apply(en, sp_config_store_current(en->env.config), e) < 0) {
		en->standby = true;
		return -1;
	}
	sp_engine_install_table(en, &sockets, &streams);
	/* what the peer synced was not stored here: the table replaces the store */
	sp_persist_follow(en->persist, true);
	sp_persist_mark_all(en->persist);
	sp_engine_arm_expiry(en);
	sp_notice("engine: active: interception installed, %u binding sockets opened, %u media streams restored",
		  sockets, streams);
	return 0;
}

void sp_engine_source_limit_drops(struct sp_engine *en, uint64_t *rate, uint64_t *new_bindings)
{
	sp_engine_limits_totals(en, rate, new_bindings);
}

uint64_t sp_engine_socket_drops_other(struct sp_engine *en)
{
	return KD(en, retpath_rx_drops) - en->socket_drops_other_cleared;
}
