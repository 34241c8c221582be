#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_daemon.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_persist.h"
#include "sp_proxy.h"
#include "sp_sip.h"
#include "sp_stun.h"
#include "sp_srclimit.h"
#include "sp_status.h"
#include "sp_sync.h"
#include "sp_table.h"
#include "sp_transport_udp.h"
#include "sp_vpn.h"

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

/* To-tag of the responses the proxy gives itself (503 at the session limit) */
#define SP_ENGINE_REFUSAL_TAG "sp-refused"
/* What a 503 of ours asks the caller to wait, in seconds (RFC 3261 §20.33) */
#define SP_ENGINE_RETRY_AFTER 30
/* Refusals (503s) are logged at most once per this many ms, with a count */
#define SP_ENGINE_REFUSAL_LOG_MS 10000
/* How often the media entries in the kernel are compared with the dialogs */
#define SP_ENGINE_MEDIA_RECONCILE_MS 10000
/* How often the media guard is read while a stream behind a NAT still learns
 * its source (the packets it drops meanwhile are the first of the call) */
#define SP_ENGINE_MEDIA_LATCH_MS 200
/* Link changes come in bursts (a VLAN device: new, up, addresses): re-apply
 * once they have settled */
#define SP_ENGINE_LINK_SETTLE_MS 300
/* A source over its binding limit is told when to come back (503) */
#define SP_ENGINE_SOURCE_RETRY_AFTER_S 60
/* How often the kernel's per-source drop counters are read, and how often
 * one source may be named in a log line and a notification */
#define SP_ENGINE_LIMITS_POLL_MS 1000
#define SP_ENGINE_SOURCE_NOTIFY_MS 60000


struct sp_engine;

/* One operation of the kernel door (sp_kernel.h), the engine's only way to
 * the kernel. */
#define KD(en, op, ...) ((en)->kd->ops->op((en)->kd, ##__VA_ARGS__))

struct sp_engine {
	struct sp_daemon *d;
	/* the kernel, only through its door (sp_kernel.h): a test gives a fake */
	struct sp_kernel_door *kd;
	struct sp_table *table;
	struct sp_persist *persist;	/* NULL: --state-dir none */
	struct sp_loop_timer *expiry;
	struct sp_transport *tp;	/* signalling in and out (sp_transport) */
	struct sp_transport_conn *listeners[SP_LISTEN_PORTS_MAX];
	unsigned n_listeners;
	struct sp_classify_strategy *strategies; /* sorted by seq */
	size_t n_strategies;
	struct sp_endpoint server_side; /* C, port 0; family 0: not configured */
	bool media_on;
	bool standby;	/* active-standby: tables kept, nothing in the kernel */
	struct sp_media *media;
	struct sp_loop_timer *media_reconcile;
	struct sp_loop_timer *media_latch;	/* polls the media guard while streams latch */
	bool media_latch_armed;
	uint64_t media_guard_banked;	/* guard drops of the tables replaced */
	struct sp_vpn_map vpn_map;	/* vpn-id <-> mark slot (sp_vpn) */
	int rx_ifindex;			/* ingress of the datagram being handled */
	uint32_t session_limit;
	uint32_t message_size_limit; /* bytes towards a server */
	bool limit_notified;
	uint32_t source_bindings_limit;	/* 0: off */
	bool source_limits_in_kernel;	/* the rate limits are in the table */
	struct sp_srclimit *source_notified;	/* spacing of "source limited" */
	struct sp_loop_timer *limits_poll;
	/* the kernel's per-source drop counters: what earlier tables counted
	 * (each apply replaces the table) and what the last poll read */
	uint64_t kernel_rate_banked, kernel_new_banked;
	uint64_t kernel_rate_seen, kernel_new_seen;
	struct {
		uint64_t last_ms; /* of the last line; 0: none yet */
		uint64_t since;   /* refusals since that line */
	} refusal_log;
	uint64_t socket_drops_other_cleared; /* at the last clear statistics */
	bool warned_no_server_side; /* said once in the log */
	uint64_t armed_deadline;    /* of the expiry timer; UINT64_MAX: not armed */
	struct sp_engine_stats stats;
	struct {
		sp_engine_change_fn fn;
		void *arg;
	} watchers[SP_ENGINE_WATCHERS_MAX];	/* the change hook's subscribers */
	unsigned n_watchers;
	bool send_now; /* media hangs on this message's fate: no queueing */
};

/* ---- helpers ---- */

static uint64_t sp_now_ms(void)
{
	return sp_loop_now_ms();
}

static void sp_engine_drop(struct sp_engine *en, uint64_t *reason)
{
	en->stats.dropped++;
	if (reason)
		(*reason)++;
}

/* (kind, id) was created, changed or went: every watcher hears it. */
static void sp_engine_changed(struct sp_engine *en, enum sp_sync_kind kind, uint32_t id)
{
	for (unsigned i = 0; i < en->n_watchers; i++)
		en->watchers[i].fn(en->watchers[i].arg, (int)kind, id);
}

int sp_engine_watch(struct sp_engine *en, sp_engine_change_fn fn, void *arg)
{
	if (en->n_watchers == SP_ENGINE_WATCHERS_MAX)
		return -1;
	en->watchers[en->n_watchers].fn = fn;
	en->watchers[en->n_watchers].arg = arg;
	en->n_watchers++;
	return 0;
}

void sp_engine_unwatch(struct sp_engine *en, sp_engine_change_fn fn, void *arg)
{
	for (unsigned i = 0; en && i < en->n_watchers; i++) {
		if (en->watchers[i].fn != fn || en->watchers[i].arg != arg)
			continue;
		memmove(&en->watchers[i], &en->watchers[i + 1],
			(en->n_watchers - i - 1) * sizeof(en->watchers[0]));
		en->n_watchers--;
		return;
	}
}

/* 503s are refused calls a subscriber notices: say so, but at most one line
 * per SP_ENGINE_REFUSAL_LOG_MS, with how many there were since the last. */
static void sp_engine_log_refusal(struct sp_engine *en, const char *why, const char *call_id)
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

static const struct sp_classify_strategy *sp_engine_strategy_by_seq(const struct sp_engine *en,
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
static const struct sp_classify_strategy *sp_engine_strategy_by_mark(const struct sp_engine *en,
								   uint32_t mark)
{
	uint32_t slot = sp_mark_strategy_slot(mark);

	return slot && slot <= en->n_strategies ? &en->strategies[slot - 1] : NULL;
}

/* The strategies' install state into the daemon's one status store (the
 * CLI and SNMP read it there): installed, with how when it says more, or
 * why not. */
static void sp_engine_publish_strategies(struct sp_engine *en)
{
	struct sp_status *st = en->d ? en->d->status : NULL;

	sp_status_reset(st, SP_STATUS_STRATEGY);
	for (size_t i = 0; i < en->n_strategies; i++) {
		const struct sp_classify_strategy *s = &en->strategies[i];

		sp_status_set(st, SP_STATUS_STRATEGY, s->name, s->seq, s->installed,
			      s->installed ? s->note : s->reason);
	}
}

/* Dotted quad by hand: glibc's inet_ntop formats through sprintf, and the
 * binding view formats four addresses per message (~9 % of the daemon's
 * instructions, bench/RESULTS.md 2026-11-30). */
static bool sp_engine_format_v4(const struct in_addr *a, char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *p = buf;

	if (len < INET_ADDRSTRLEN)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return true;
}

static void sp_endpoint_host(const struct sp_endpoint *ep, char *buf, size_t len)
{
	if (ep->family == AF_INET && sp_engine_format_v4(&ep->addr.v4, buf, len))
		return;
	if (!inet_ntop(ep->family, &ep->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static void sp_engine_hostport(const struct sp_endpoint *ep, struct sp_proxy_hostport *hp)
{
	sp_endpoint_host(ep, hp->host, sizeof(hp->host));
	hp->port = ep->port;
}

/* ---- binding sockets ---- */

static void sp_engine_install_table(struct sp_engine *en, unsigned *sockets, unsigned *streams);

/* The server-side connection of C:c, opened if it is not. */
static struct sp_transport_conn *sp_engine_bsock_open(struct sp_engine *en, const struct sp_endpoint *local)
{
	return sp_transport_open(en->tp, local);
}

static void sp_engine_bsock_close(struct sp_engine *en, const struct sp_endpoint *local)
{
	sp_transport_close(sp_transport_find(en->tp, local));
}

/* ---- table callbacks and aging ---- */

static void sp_engine_binding_expired(void *arg, struct sp_binding *b)
{
	struct sp_engine *en = arg;
	char t[SP_ENDPOINT_STRLEN], c[SP_ENDPOINT_STRLEN];

	sp_debug("engine: binding %u %s <-> %s expired", b->id,
		 sp_endpoint_format(&b->terminal, t, sizeof(t)),
		 sp_endpoint_format(&b->server_side, c, sizeof(c)));
	sp_engine_bsock_close(en, &b->server_side);
	sp_engine_changed(en, SP_SYNC_BINDING, b->id);
}

static void sp_engine_dialog_expired(void *arg, struct sp_dialog *d)
{
	struct sp_engine *en = arg;

	sp_media_dialog_end(en->media, d->id);
	sp_engine_changed(en, SP_SYNC_DIALOG, d->id);
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
static void sp_engine_arm_expiry(struct sp_engine *en)
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

/* ---- state tracking ---- */

static bool sp_engine_is_initial_invite(const struct sp_sip_info *in)
{
	return in->is_request && in->method == SP_SIP_INVITE && !in->to_tag[0];
}

/* Follows the dialog a message belongs to. Returns -1 when the message must
 * be dropped (session limit). */
static int sp_engine_track(struct sp_engine *en, struct sp_binding *b, const struct sp_sip_info *in)
{
	uint64_t now = sp_now_ms();
	struct sp_dialog *dlg = sp_dialog_find(en->table, b->vpn, in->call_id, strlen(in->call_id), b);
	int rc;

	if (!dlg && sp_engine_is_initial_invite(in)) {
		struct sp_dialog_params p = {
			.binding = b,
			.call_id = in->call_id,
			.call_id_len = strlen(in->call_id),
			.from_tag = in->from_tag,
			.invite_cseq = in->cseq,
			.state = SP_DIALOG_EARLY,
		};
		rc = sp_dialog_create(en->table, &p, now, &dlg);
		if (rc == -SP_TABLE_ELIMIT) {
			if (!en->limit_notified) {
				/* once, until the table has room again */
				sp_warn("engine: session limit %llu reached: new calls are refused",
					(unsigned long long)sp_table_counters(en->table)->dialogs_current);
				en->limit_notified = true;
			}
			/* every refusal: the agent spaces the traps out and counts */
			sp_events_publish(en->d->events, &(struct sp_event){
				.type = SP_EVENT_SESSION_LIMIT_REACHED,
				.u.session_limit.current =
					(uint32_t)sp_table_counters(en->table)->dialogs_current });
			{
				char cid[SP_LOG_ESCAPED_MAX];

				sp_debug("engine: session limit: INVITE %s refused",
					 sp_log_escape(in->call_id, cid, sizeof(cid)));
			}
			return -1;
		}
		if (rc < 0) {
			static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("engine: dialogs not tracked");
			char cid[SP_LOG_ESCAPED_MAX], src[SP_ENDPOINT_STRLEN];

			sp_log_limited(&lim, LOG_WARNING, "engine: cannot track dialog %s from %s: %s",
				       sp_log_escape(in->call_id, cid, sizeof(cid)),
				       sp_endpoint_format(&b->terminal, src, sizeof(src)), sp_table_strerror(rc));
			return 0;
		}
	}
	if (!dlg)
		return 0;
	/* whatever this message changes (or deletes) goes to the standby */
	sp_engine_changed(en, SP_SYNC_DIALOG, dlg->id);
	if (en->limit_notified && en->session_limit &&
	    sp_table_counters(en->table)->dialogs_current * 10 < (uint64_t)en->session_limit * 9)
		en->limit_notified = false;
	sp_dialog_touch(en->table, dlg, now);
	if (in->is_request) {
		if (in->method == SP_SIP_BYE || in->method == SP_SIP_CANCEL) {
			sp_dialog_set_state(en->table, dlg, SP_DIALOG_TERMINATING, now);
			sp_media_dialog_end(en->media, dlg->id); /* the media ends with the call */
		}
		return 0;
	}
	/* responses */
	if (in->cseq_method == SP_SIP_INVITE && in->cseq == dlg->invite_cseq) {
		if (in->status >= 200 && in->status < 300) {
			if (in->to_tag[0] && !dlg->to_tag[0])
				sp_dialog_set_to_tag(dlg, in->to_tag);
			if (dlg->state == SP_DIALOG_EARLY)
				sp_dialog_set_state(en->table, dlg, SP_DIALOG_CONFIRMED, now);
		} else if (in->status >= 300 && dlg->state != SP_DIALOG_CONFIRMED) {
			/* the call failed or was cancelled: nothing more to keep */
			sp_media_dialog_end(en->media, dlg->id);
			sp_dialog_delete(en->table, dlg);
		} else if (in->status > 100 && in->to_tag[0] && !dlg->to_tag[0]) {
			sp_dialog_set_to_tag(dlg, in->to_tag);
		}
	} else if (in->cseq_method == SP_SIP_BYE && in->status >= 200) {
		sp_media_dialog_end(en->media, dlg->id);
		sp_dialog_delete(en->table, dlg);
	}
	return 0;
}

/* ---- sending ---- */

/* One message from E:e (virtual_server) to a terminal, sent with mark
 * (return path and VPN). */
static int sp_engine_send_as_e(struct sp_engine *en, const struct sp_endpoint *terminal,
			       const struct sp_endpoint *virtual_server, uint32_t mark,
			       const char *buf, size_t len)
{
	struct sp_transport_conn *l = NULL;
	struct sp_transport_out o = { .to = terminal, .from = virtual_server, .mark = mark, .data = buf,
				      .len = len, .now = en->send_now, .counter = &en->stats.to_terminals };

	for (unsigned i = 0; i < en->n_listeners; i++)
		if (en->listeners[i]->local.port == virtual_server->port)
			l = en->listeners[i];
	if (!l)
		return -1;
	return sp_transport_send(l, &o);
}

static int sp_engine_send_to_terminal(struct sp_engine *en, const struct sp_binding *b,
				      const char *buf, size_t len)
{
	/* back into its VPN, re-tagged (sp_mark.h), along its return path */
	uint32_t mark = KD(en, retpath_mark, &b->return_path) | sp_mark_return(b->origin_mark);

	return sp_engine_send_as_e(en, &b->terminal, &b->virtual_server, mark, buf, len);
}

static int sp_engine_send_to_server(struct sp_engine *en, const struct sp_binding *b,
				    const char *buf, size_t len)
{
	struct sp_transport_conn *bs = sp_transport_find(en->tp, &b->server_side);
	struct sp_transport_out o = { .to = &b->server, .data = buf, .len = len, .now = en->send_now,
				      .counter = &en->stats.proxied };

	if (!bs)
		return -1;
	return sp_transport_send(bs, &o);
}

/* ---- the proxy ---- */

static void sp_engine_binding_view(const struct sp_engine *en, const struct sp_binding *b,
				   struct sp_proxy_binding *v)
{
	memset(v, 0, sizeof(*v));
	sp_engine_hostport(&b->terminal, &v->terminal);
	sp_engine_hostport(&b->virtual_server, &v->virtual_server);
	sp_engine_hostport(&b->server_side, &v->server_side);
	sp_engine_hostport(&b->server, &v->server);
	if (sp_proxy_hostport_parse(b->via_sent_by, &v->terminal_via) < 0)
		v->terminal_via = v->terminal;
	if (b->contact[0])
		sp_proxy_hostport_parse(b->contact, &v->terminal_contact);
	if (en->media_on) {
		sp_endpoint_host(&b->server_side, v->media_to_server, sizeof(v->media_to_server));
		sp_endpoint_host(&b->virtual_server, v->media_to_terminal, sizeof(v->media_to_terminal));
		v->port_map_to_server = sp_media_port_map;
		v->port_map_to_server_arg = en->media;
		v->port_map_to_terminal = sp_media_port_map;
		v->port_map_to_terminal_arg = en->media;
	}
}

static struct sp_binding *sp_engine_binding_for(struct sp_engine *en,
						 const struct sp_classify_strategy *st, uint32_t mark,
						 const struct sp_endpoint *terminal,
						 const struct sp_endpoint *virtual_server,
						 const struct sp_sip_info *in, bool *over_limit)
{
	uint32_t vpn = sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark));
	struct sp_binding *b = sp_binding_find(en->table, vpn, terminal);
	struct sp_binding_params p = { 0 };
	char via[SP_HOSTPORT_MAX], contact[SP_HOSTPORT_MAX];
	struct sp_proxy_hostport hp;
	int rc;

	*over_limit = false;
	if (b)
		return b;
	if (en->source_bindings_limit &&
	    sp_table_source_bindings(en->table, vpn, terminal) >= en->source_bindings_limit) {
		*over_limit = true;
		return NULL;
	}
	if (!en->server_side.family) {
		if (!en->warned_no_server_side)
			sp_warn("engine: no server-side-address configured: signaling cannot be proxied");
		en->warned_no_server_side = true;
		return NULL;
	}
	snprintf(hp.host, sizeof(hp.host), "%s", in->via.host);
	hp.port = in->via.port;
	sp_proxy_hostport_format(&hp, via, sizeof(via));
	p.via_sent_by = via;
	if (in->n_contacts && !in->contact_star && in->contact.host[0]) {
		snprintf(hp.host, sizeof(hp.host), "%s", in->contact.host);
		hp.port = in->contact.port;
		sp_proxy_hostport_format(&hp, contact, sizeof(contact));
		p.contact = contact;
	}
	p.vpn = vpn;
	p.terminal = *terminal;
	p.virtual_server = *virtual_server;
	p.server_side = en->server_side;
	p.server = st->server;
	p.strategy_id = st->seq;
	rc = sp_binding_create(en->table, &p, sp_now_ms(), &b);
	if (rc < 0) {
		/* at a flood's rate when the ports run out: one line per interval */
		static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("engine: new terminals refused");
		char src[SP_ENDPOINT_STRLEN];

		sp_log_limited(&lim, LOG_WARNING, "engine: cannot bind a new terminal %s: %s",
			       sp_endpoint_format(terminal, src, sizeof(src)), sp_table_strerror(rc));
		return NULL;
	}
	if (!sp_engine_bsock_open(en, &b->server_side)) {
		sp_binding_delete(en->table, b);
		return NULL;
	}
	b->origin_mark = mark & SP_MARK_ORIGIN_MASK;
	return b;
}

/* Media hooks around one message's rewrite: begin before it (the port map
 * needs the dialog's streams), finish (commit) once the message left; a
 * dropped message is aborted on the way out, releasing the ports it took. */
static void sp_engine_media_begin(struct sp_engine *en, const struct sp_binding *b,
				  const struct sp_sip_info *in, enum sp_media_from from)
{
	const struct sp_dialog *dlg;

	en->send_now = en->media_on && in->body_is_sdp;
	if (!en->send_now) {
		/* nothing to map or commit: spare the dialog lookup */
		sp_media_begin(en->media, 0, from, false);
		return;
	}
	dlg = sp_dialog_find(en->table, b->vpn, in->call_id, strlen(in->call_id), b);
	sp_media_begin(en->media, dlg ? dlg->id : 0, from, true);
	if (from == SP_MEDIA_FROM_TERMINAL) /* a private SDP address behind a NAT */
		sp_media_terminal_source(en->media, &b->terminal);
}

static void sp_engine_media_finish(struct sp_engine *en, const struct sp_binding *b,
				   const struct sp_sip_info *in)
{
	const struct sp_dialog *dlg;

	if (!en->media_on || !in->body_is_sdp) {
		sp_media_abort(en->media); /* begun inactive: a no-op */
		return;
	}
	/* looked up again: tracking may have created or deleted it */
	dlg = sp_dialog_find(en->table, b->vpn, in->call_id, strlen(in->call_id), b);
	if (!dlg || dlg->state >= SP_DIALOG_TERMINATING)
		sp_media_abort(en->media);
	else
		sp_media_commit_origin(en->media, dlg->id, &b->virtual_server, &b->server_side,
				       (uint16_t)b->vpn, (uint16_t)(b->origin_mark & SP_MARK_ORIGIN_MASK));
	if (dlg) /* the streams travel with the dialog */
		sp_engine_changed(en, SP_SYNC_DIALOG, dlg->id);
	if (sp_media_latching(en->media) && !en->media_latch_armed) {
		sp_loop_timer_arm(en->media_latch, SP_ENGINE_MEDIA_LATCH_MS);
		en->media_latch_armed = true;
	}
}

/* A STUN message on the SIP port (RFC 5626 §4.4.2 keep-alive): answered
 * here, as E, with the address the terminal's datagrams come from; it
 * refreshes the binding as a CRLF keep-alive does but never goes on to the
 * server. */
static void sp_engine_stun(struct sp_engine *en, const struct sp_endpoint *terminal,
			   const struct sp_endpoint *virtual_server, uint32_t mark,
			   const char *buf, size_t len)
{
	struct sp_binding *b = sp_binding_find(en->table, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
					       terminal);
	struct sp_learned_path path = { 0 };
	const char *reason = NULL;
	uint32_t out_mark;
	size_t n = 0;
	enum sp_stun_result r = sp_stun_answer(buf, len, terminal, (uint8_t *)en->tp->out, &n, &reason);

	if (r == SP_STUN_IGNORED) {
		sp_engine_drop(en, &en->stats.stun_errors);
		sp_debug("engine: STUN message from a terminal dropped: %s", reason);
		return;
	}
	if (r == SP_STUN_REFUSED) {
		en->stats.stun_errors++;
		sp_debug("engine: STUN request from a terminal refused: %s", reason);
	} else {
		en->stats.stun_requests += r == SP_STUN_ANSWERED;
		en->stats.keepalives++;
		if (b) {
			sp_binding_touch(en->table, b, sp_now_ms());
			sp_engine_changed(en, SP_SYNC_BINDING, b->id);
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
	if (sp_engine_send_as_e(en, terminal, virtual_server, out_mark, en->tp->out, n) == 0)
		en->stats.to_terminals++;
	else
		sp_engine_drop(en, &en->stats.send_errors);
}

/* A source limited: named in the log and in a notification, once a minute
 * at most (a flood must not turn into a log flood). */
static void sp_engine_source_limited(struct sp_engine *en, uint32_t vpn,
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
	sp_events_publish(en->d->events, &(struct sp_event){
		.type = SP_EVENT_SOURCE_LIMITED,
		.u.source_limited = { .source = &host, .vpn = vpn } });
}

/* A source at its binding limit asks for one more: a request gets 503 with
 * Retry-After from E, as a server over capacity would answer (RFC 3261
 * 21.5.4), so the terminal backs off instead of retransmitting; anything
 * else (ACK, responses) is dropped. */
static void sp_engine_refuse_source(struct sp_engine *en, const struct sp_endpoint *terminal,
				    const struct sp_endpoint *virtual_server, uint32_t mark,
				    const char *buf, size_t len, const struct sp_sip_info *in)
{
	uint32_t vpn = sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark));

	sp_engine_drop(en, &en->stats.source_bindings);
	sp_engine_source_limited(en, vpn, terminal, "bindings held at the limit");
	if (in->is_request && in->method != SP_SIP_ACK) {
		struct sp_learned_path path = { 0 };
		size_t n = sp_proxy_build_reply_retry(buf, len, 503, "Service Unavailable",
						      SP_ENGINE_REFUSAL_TAG,
						      SP_ENGINE_SOURCE_RETRY_AFTER_S, en->tp->out,
						      en->tp->out_max);

		KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
		if (n && sp_engine_send_as_e(en, terminal, virtual_server,
					     KD(en, retpath_mark, &path) |
						     sp_mark_return(mark & SP_MARK_ORIGIN_MASK),
					     en->tp->out, n) == 0)
			en->stats.to_terminals++;
	}
}

/* 483 to a terminal's request with Max-Forwards: 0 (RFC 3261 §16.3 step 2),
 * from E, before any binding: a request that goes nowhere must not take a
 * port c for the binding idle time. */
static void sp_engine_too_many_hops(struct sp_engine *en, const struct sp_endpoint *terminal,
				    const struct sp_endpoint *virtual_server, uint32_t mark,
				    const char *buf, size_t len, const struct sp_sip_info *in)
{
	sp_engine_drop(en, &en->stats.too_many_hops);
	if (in->method != SP_SIP_ACK) {
		struct sp_binding *b = sp_binding_find(en->table, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
						       terminal);
		struct sp_learned_path path = { 0 };
		size_t n = sp_proxy_build_reply(buf, len, 483, "Too Many Hops", SP_ENGINE_REFUSAL_TAG,
						en->tp->out, en->tp->out_max);

		if (b)
			path = b->return_path;
		else
			KD(en, retpath_learn, terminal, en->rx_ifindex, &path);
		if (n && sp_engine_send_as_e(en, terminal, virtual_server,
					     KD(en, retpath_mark, &path) |
						     sp_mark_return(mark & SP_MARK_ORIGIN_MASK),
					     en->tp->out, n) == 0)
			en->stats.to_terminals++;
	}
}

/* A final response of the SP's own to a request: towards the terminal (from
 * E) when it came from the terminal, towards the server (from C:c) when it
 * came from the server. None to an ACK, which has no response. */
static void sp_engine_reply(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
			    const struct sp_sip_info *in, const char *buf, size_t len, int status,
			    const char *reason, unsigned retry_after)
{
	size_t n;

	if (!in->is_request || in->method == SP_SIP_ACK)
		return;
	n = sp_proxy_build_reply_retry(buf, len, status, reason, SP_ENGINE_REFUSAL_TAG, retry_after,
				       en->tp->out, en->tp->out_max);
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
static void sp_engine_rewrite_refused(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
				      const struct sp_sip_info *in, const char *buf, size_t len, int rc)
{
	if (rc != SP_SIP_E_MEDIA) {
		sp_engine_drop(en, &en->stats.rewrite_errors);
		return;
	}
	sp_engine_drop(en, &en->stats.no_media_port);
	if (!in->is_request)
		return;
	sp_engine_reply(en, b, to_terminal, in, buf, len, 503, "Service Unavailable", SP_ENGINE_RETRY_AFTER);
	sp_engine_log_refusal(en, "no free media port", in->call_id);
}

/* The contact a message of the terminal's gives, as host[:port]; false when
 * it gives none of its own: a 3xx names other places, Contact: * none. */
static bool sp_engine_terminal_contact(const struct sp_sip_info *in, char *buf, size_t len)
{
	struct sp_proxy_hostport hp;

	if (!in->n_contacts || in->contact_star || !in->contact.host[0] ||
	    (!in->is_request && in->status >= 300))
		return false;
	snprintf(hp.host, sizeof(hp.host), "%s", in->contact.host);
	hp.port = in->contact.port;
	sp_proxy_hostport_format(&hp, buf, len);
	return true;
}

/* A 2xx to REGISTER lists every Contact of the AoR, other devices' too:
 * this binding lives by its own C:c's expiry, and ends when the registrar
 * dropped it (expires=0, or C:c not listed at all: a de-registration). */
static void sp_engine_registered(struct sp_engine *en, struct sp_binding *b, const struct sp_sip_msg *msg)
{
	char host[SP_PROXY_HOST_MAX];
	int64_t exp;

	sp_endpoint_host(&b->server_side, host, sizeof(host));
	if (sp_sip_contact_expires(msg, host, b->server_side.port, &exp) == 0 || exp == 0) {
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
	struct sp_binding *b = sp_binding_find(en->table, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)),
					       terminal);

	en->stats.keepalives++;
	if (b) {
		sp_binding_touch(en->table, b, sp_now_ms());
		sp_engine_changed(en, SP_SYNC_BINDING, b->id);
		if (sp_engine_send_to_server(en, b, buf, len) == 0)
			en->stats.proxied++;
	}
}

/* The binding a terminal's message goes through; NULL: the message was
 * answered or dropped (and counted) here. */
static struct sp_binding *sp_engine_terminal_binding(struct sp_engine *en, const struct sp_classify_strategy *st,
						     const struct sp_endpoint *terminal,
						     const struct sp_endpoint *virtual_server, uint32_t mark,
						     const char *buf, size_t len, const struct sp_sip_info *in)
{
	struct sp_binding *b;
	bool over_limit;

	if (!in->is_request) {
		/* A terminal answers only the server's requests, which reached it
		 * through its binding with E on top of the Via (RFC 3261 §16.7:
		 * a response matching nothing is dropped, not forwarded). */
		struct sp_proxy_hostport e_hp;

		b = sp_binding_find(en->table, sp_vpn_id(&en->vpn_map, sp_mark_vpn_slot(mark)), terminal);
		if (b)
			sp_engine_hostport(&b->virtual_server, &e_hp);
		if (!b || !sp_proxy_via_is(in, &e_hp)) {
			sp_engine_drop(en, &en->stats.unmatched_responses);
			sp_debug("engine: response %d (%s) from a terminal matches nothing forwarded",
				 in->status, in->call_id);
			return NULL;
		}
		return b;
	}
	if (in->max_forwards == 0) {
		sp_engine_too_many_hops(en, terminal, virtual_server, mark, buf, len, in);
		return NULL;
	}
	b = sp_engine_binding_for(en, st, mark, terminal, virtual_server, in, &over_limit);
	if (!b && over_limit)
		sp_engine_refuse_source(en, terminal, virtual_server, mark, buf, len, in);
	else if (!b)
		sp_engine_drop(en, &en->stats.no_binding);
	return b;
}

/* What a terminal's message tells of its binding: alive, its return path,
 * its Via and its contact. */
static void sp_engine_binding_refresh(struct sp_engine *en, struct sp_binding *b,
				      const struct sp_endpoint *terminal, const struct sp_sip_info *in)
{
	char contact[SP_HOSTPORT_MAX];

	sp_binding_touch(en->table, b, sp_now_ms());
	KD(en, retpath_learn, terminal, en->rx_ifindex, &b->return_path);
	/* created, touched, contact or return path: the standby follows */
	sp_engine_changed(en, SP_SYNC_BINDING, b->id);
	/* the Via of each request is the one its responses give back: a
	 * terminal may change it (a new NAT mapping, a new local port) */
	if (in->is_request && in->via.host[0]) {
		struct sp_proxy_hostport hp;
		char via[SP_HOSTPORT_MAX];

		snprintf(hp.host, sizeof(hp.host), "%s", in->via.host);
		hp.port = in->via.port;
		sp_proxy_hostport_format(&hp, via, sizeof(via));
		if (strcmp(via, b->via_sent_by) != 0)
			sp_binding_set_via_sent_by(b, via);
	}
	/* Whatever the terminal now gives as its contact is the one C:c
	 * stands for: a contact that changes (a NAT rebinding, a re-INVITE
	 * from another interface) is rewritten like the first, never passed
	 * on as a private address. */
	if (sp_engine_terminal_contact(in, contact, sizeof(contact)))
		sp_binding_set_contact(b, contact);
}

/* A terminal's message rewritten towards the server, checked, tracked and
 * sent; or answered and dropped. */
static void sp_engine_terminal_forward(struct sp_engine *en, struct sp_binding *b, struct sp_sip_msg *msg,
				       const char *buf, size_t len)
{
	const struct sp_sip_info *in = &msg->info;
	struct sp_proxy_binding view;
	size_t out_len;
	int rc;

	sp_engine_binding_view(en, b, &view);
	sp_engine_media_begin(en, b, in, SP_MEDIA_FROM_TERMINAL);
	rc = sp_proxy_to_server(msg, &view, en->tp->out, en->tp->out_max, &out_len);
	if (rc != 0) {
		sp_engine_rewrite_refused(en, b, true, in, buf, len, rc);
		return;
	}
	if (in->is_request && in->method == SP_SIP_ACK && strcmp(in->to_tag, SP_ENGINE_REFUSAL_TAG) == 0)
		return; /* the ACK of our own 503 ends there */
	if (out_len > en->message_size_limit) {
		/* UDP only for now: RFC 3261 §18.1.1 would move it to TCP */
		sp_engine_reply(en, b, true, in, buf, len, 513, "Message Too Large", 0);
		sp_engine_drop(en, &en->stats.too_large);
		return;
	}
	if (sp_engine_track(en, b, in) < 0) {
		/* refused as a server at E would refuse it, so the terminal does
		 * not retransmit into the void */
		sp_engine_reply(en, b, true, in, buf, len, 503, "Service Unavailable", SP_ENGINE_RETRY_AFTER);
		sp_engine_drop(en, &en->stats.session_limit);
		sp_engine_log_refusal(en, "session limit", in->call_id);
		return;
	}
	/* the kernel first: the far side may send media as soon as it reads
	 * the answer (and the terminal already does) */
	sp_engine_media_finish(en, b, in);
	if (sp_engine_send_to_server(en, b, en->tp->out, out_len) < 0) {
		sp_engine_drop(en, &en->stats.send_errors);
		return;
	}
	en->stats.proxied++;
}

static void sp_engine_from_terminal(struct sp_engine *en, const struct sp_endpoint *terminal,
				    const struct sp_endpoint *virtual_server, uint32_t mark,
				    const char *buf, size_t len)
{
	const struct sp_classify_strategy *st;
	struct sp_binding *b;
	struct sp_sip_msg msg;

	en->stats.received++;
	st = sp_engine_strategy_by_mark(en, mark);
	if (!st || st->action != SP_ACTION_PROXY) {
		sp_engine_drop(en, &en->stats.unclassified);
		return;
	}
	((struct sp_classify_strategy *)st)->hits++;
	if (sp_stun_is_stun(buf, len)) {
		sp_engine_stun(en, terminal, virtual_server, mark, buf, len);
		return;
	}
	if (sp_proxy_is_keepalive(buf, len)) {
		sp_engine_terminal_keepalive(en, terminal, mark, buf, len);
		return;
	}
	if (sp_sip_inspect(&msg, buf, len) != 0) {
		sp_engine_drop(en, &en->stats.parse_errors);
		sp_debug("engine: unparsable datagram from a terminal: %s",
			 msg.reason ? msg.reason : "?");
		sp_sip_msg_free(&msg);
		return;
	}
	b = sp_engine_terminal_binding(en, st, terminal, virtual_server, mark, buf, len, &msg.info);
	if (b) {
		sp_engine_binding_refresh(en, b, terminal, &msg.info);
		sp_engine_terminal_forward(en, b, &msg, buf, len);
	}
	en->send_now = false;
	sp_media_abort(en->media); /* a no-op once committed */
	sp_sip_msg_free(&msg);
}

/* A server's message rewritten towards the terminal, checked, tracked and
 * sent; or answered and dropped. */
static void sp_engine_server_forward(struct sp_engine *en, struct sp_binding *b, struct sp_sip_msg *msg,
				     const struct sp_proxy_binding *view, const char *buf, size_t len)
{
	const struct sp_sip_info *in = &msg->info;
	const struct sp_classify_strategy *st;
	size_t out_len;
	int rc;

	sp_engine_media_begin(en, b, in, SP_MEDIA_FROM_FAR);
	rc = sp_proxy_to_terminal(msg, view, en->tp->out, en->tp->out_max, &out_len);
	if (rc != 0) {
		sp_engine_rewrite_refused(en, b, false, in, buf, len, rc);
		return;
	}
	st = sp_engine_strategy_by_seq(en, b->strategy_id);
	if (st && st->hide_server_identity)
		out_len = sp_proxy_strip_identity(en->tp->out, out_len);
	if (sp_engine_track(en, b, in) < 0) {
		/* an incoming call over the limit: the server hears 503 from C:c */
		sp_engine_reply(en, b, false, in, buf, len, 503, "Service Unavailable", SP_ENGINE_RETRY_AFTER);
		sp_engine_drop(en, &en->stats.session_limit);
		sp_engine_log_refusal(en, "session limit", in->call_id);
		return;
	}
	sp_binding_touch(en->table, b, sp_now_ms());
	if (!in->is_request && in->cseq_method == SP_SIP_REGISTER && in->status >= 200 && in->status < 300)
		sp_engine_registered(en, b, msg);
	sp_engine_changed(en, SP_SYNC_BINDING, b->id);
	/* the kernel before the answer (2xx, 183) reaches the terminal, which
	 * may start sending at once */
	sp_engine_media_finish(en, b, in);
	if (sp_engine_send_to_terminal(en, b, en->tp->out, out_len) < 0) {
		sp_engine_drop(en, &en->stats.send_errors);
		return;
	}
	en->stats.to_terminals++;
}

static void sp_engine_from_server(struct sp_engine *en, const struct sp_transport_conn *bs,
				  const struct sp_endpoint *from, const char *buf, size_t len)
{
	struct sp_binding *b = sp_binding_find_server_side(en->table, &bs->local);
	struct sp_sip_msg msg;
	struct sp_proxy_binding view;

	en->stats.from_servers++;
	if (!b || !sp_endpoint_equal(from, &b->server)) {
		sp_engine_drop(en, &en->stats.bad_source);
		return;
	}
	if (sp_proxy_is_keepalive(buf, len)) {
		en->stats.keepalives++;
		if (sp_engine_send_to_terminal(en, b, buf, len) == 0)
			en->stats.to_terminals++;
		return;
	}
	if (sp_sip_inspect(&msg, buf, len) != 0) {
		sp_engine_drop(en, &en->stats.parse_errors);
		sp_sip_msg_free(&msg);
		return;
	}
	sp_engine_binding_view(en, b, &view);
	if (msg.info.is_request && msg.info.method == SP_SIP_ACK &&
	    strcmp(msg.info.to_tag, SP_ENGINE_REFUSAL_TAG) == 0) {
		/* the ACK of our own 503 */
	} else if (!msg.info.is_request && !sp_proxy_via_is(&msg.info, &view.server_side)) {
		/* every request the SP forwarded had C:c on top of its Via */
		sp_engine_drop(en, &en->stats.unmatched_responses);
		sp_debug("engine: response %d (%s) from a server matches nothing forwarded",
			 msg.info.status, msg.info.call_id);
	} else if (msg.info.is_request && msg.info.max_forwards == 0) {
		sp_engine_reply(en, b, false, &msg.info, buf, len, 483, "Too Many Hops", 0);
		sp_engine_drop(en, &en->stats.too_many_hops);
	} else {
		sp_engine_server_forward(en, b, &msg, &view, buf, len);
	}
	en->send_now = false;
	sp_media_abort(en->media); /* a no-op once committed */
	sp_sip_msg_free(&msg);
}

/* ---- receiving (the transport's handler) ---- */

static void sp_engine_before_batch(void *arg, enum sp_transport_side side)
{
	struct sp_engine *en = arg;

	/* the return path's packet socket first: then it has seen the frame
	 * of every datagram a listener's batch brings */
	if (side == SP_TRANSPORT_TERMINAL)
		KD(en, retpath_drain);
}

static void sp_engine_received(void *arg, const struct sp_transport_msg *m)
{
	struct sp_engine *en = arg;

	if (m->truncated) {
		sp_engine_drop(en, &en->stats.parse_errors);
		return;
	}
	if (m->conn->side == SP_TRANSPORT_SERVER) {
		sp_engine_from_server(en, m->conn, &m->source, m->data, m->len);
		return;
	}
	if (!m->orig_dst.family) {
		sp_engine_drop(en, &en->stats.unclassified);
		return;
	}
	en->rx_ifindex = m->ifindex;
	sp_engine_from_terminal(en, &m->source, &m->orig_dst, m->mark, m->data, m->len);
}

static void sp_engine_wake_done(void *arg)
{
	sp_engine_arm_expiry(arg);
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

/* ---- configuration ---- */

/* The names of the terminal-side interfaces, malloc'ed (NULL: none or no
 * memory), their number in *n. */
static const char **sp_engine_terminal_ifs(const struct sp_config *c, size_t *n)
{
	const char **names = calloc(c->n_interfaces + 1, sizeof(*names));

	*n = 0;
	for (size_t k = 0; names && k < c->n_interfaces; k++)
		if (c->interfaces[k].side == SP_SIDE_TERMINAL)
			names[(*n)++] = c->interfaces[k].name;
	return names;
}

/* E as a local, unannounced address (SPEC §3.3). */
static int sp_engine_lva_apply(struct sp_engine *en, const struct sp_config *c, struct sp_error *e)
{
	const struct sp_addr *want = &c->sp.local_virtual_address;
	struct sp_rt_addr a = { 0 };
	char err[256];
	size_t n;
	const char **ifs;
	int rc;

	if (sp_addr_is_set(want)) {
		a.family = want->family;
		if (want->family == AF_INET)
			a.v4 = want->u.v4;
		else
			a.v6 = want->u.v6;
	}
	ifs = sp_engine_terminal_ifs(c, &n);
	rc = KD(en, lva_set, &a, ifs, n, err, sizeof(err));
	free(ifs);
	if (rc < 0)
		return sp_error_set(e, "local-virtual-address: %s", err);
	return 0;
}

/* The BPF tagger on the terminal-side interfaces, while a strategy matches
 * a VLAN or an MPLS label; NULL, or why they cannot be matched by their tags. */
static const char *sp_engine_tagger_apply(struct sp_engine *en, const struct sp_config *c,
					  const struct sp_bpf_tag *tagv, size_t n_vids)
{
	size_t n;
	const char **ifs = sp_engine_terminal_ifs(c, &n);
	const char *why = KD(en, tagger_apply, ifs, n, tagv, n_vids);

	free(ifs);
	return why;
}

/* The VPNs of the configured interfaces (vpn-id) and of the VRFs, and the
 * nft chains that put their packets in their zones and their slots in the
 * mark. */
static int sp_engine_vpn_map(const struct sp_config *c, const struct sp_link_state *links,
			     struct sp_vpn_map *map, char **chains, struct sp_error *e)
{
	struct sp_vpn_if ifs[SP_VPN_MAX_IFS];
	struct sp_link_vrf vrfs[SP_VPN_MAX_IFS];
	size_t n = 0, n_vrfs;
	char err[160];

	for (size_t k = 0; k < c->n_interfaces; k++) {
		if (!c->interfaces[k].vpn_id)
			continue;
		if (n == SP_VPN_MAX_IFS)
			return sp_error_set(e, "more than %d interfaces with a vpn-id", SP_VPN_MAX_IFS);
		snprintf(ifs[n].ifname, sizeof(ifs[n].ifname), "%s", c->interfaces[k].name);
		ifs[n++].vpn_id = c->interfaces[k].vpn_id;
	}
	n_vrfs = sp_link_vrf_members(links->links, links->n_links, vrfs, SP_VPN_MAX_IFS);
	n = sp_vpn_add_vrfs(ifs, n, SP_VPN_MAX_IFS, vrfs, n_vrfs, err, sizeof(err));
	if (err[0])
		sp_warn("engine: %s", err);
	if (sp_vpn_map_build(map, ifs, n, err, sizeof(err)) < 0)
		return sp_error_set(e, "%s", err);
	if (sp_vpn_render_nft(map, SP_CT_MARK, SP_CT_MARK_MASK, chains) < 0)
		return sp_error_set(e, "Out of memory");
	return 0;
}

/* What the last apply read of the links, and the names it cares about:
 * the link watch compares the next changes with it. */
static void sp_engine_linkwatch_seed(struct sp_engine *en, const struct sp_config *c,
				     const struct sp_link_state *links)
{
	const char *names[SP_VPN_MAX_IFS];
	size_t n = 0;

	for (size_t k = 0; k < c->n_interfaces && n < SP_VPN_MAX_IFS; k++)
		names[n++] = c->interfaces[k].name;
	if (KD(en, links_watch, links->links, links->n_links, names, n) < 0)
		sp_warn("engine: out of memory: link changes may be missed");
}

/* The kernel's per-source drop counters as they read now (0 when the
 * table has none). */
static void sp_engine_limits_read(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows)
{
	char err[160];

	*rate = *new_flows = 0;
	if (!en->kd || !en->source_limits_in_kernel)
		return;
	if (KD(en, counter_packets, SP_NFT_SOURCE_RATE_COUNTER, rate, err,
				   sizeof(err)) < 0)
		*rate = 0;
	if (KD(en, counter_packets, SP_NFT_SOURCE_NEW_COUNTER, new_flows,
				   err, sizeof(err)) < 0)
		*new_flows = 0;
}

/* The table that counted rate and new_flows is gone: keep the counts. */
static void sp_engine_limits_bank(struct sp_engine *en, uint64_t rate, uint64_t new_flows)
{
	en->kernel_rate_banked += rate;
	en->kernel_new_banked += new_flows;
	en->kernel_rate_seen = en->kernel_new_seen = 0;
}

/* Per-source drops in the kernel since the start (or the last clear). */
static void sp_engine_limits_totals(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows)
{
	sp_engine_limits_read(en, rate, new_flows);
	*rate += en->kernel_rate_banked;
	*new_flows += en->kernel_new_banked;
}

/* One limited set's sources ("0x000000VV . ADDR" per line) named. */
static void sp_engine_limits_name(struct sp_engine *en, const char *set, int family,
				  const char *why)
{
	char *text = NULL, err[160];

	if (KD(en, set_elements, set, &text, err, sizeof(err)) < 0)
		return;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *dot = strstr(line, " . ");
		unsigned long slot;
		struct sp_endpoint src;

		if (!dot)
			continue;
		*dot = '\0';
		slot = strtoul(line, NULL, 16);
		if (sp_endpoint_parse(&src, dot + 3, 0) < 0 || src.family != family)
			continue;
		sp_engine_source_limited(en, sp_vpn_id(&en->vpn_map, (uint32_t)(slot & SP_MARK_VPN_MASK)),
					 &src, why);
	}
	free(text);
}

/* Every second: when the kernel dropped for a source since the last look,
 * the sources it limits are named (log, notification). */
static void sp_engine_limits_poll_cb(struct sp_loop *loop, void *arg)
{
	struct sp_engine *en = arg;
	uint64_t rate, new_flows;
	const char *why;

	(void)loop;
	sp_loop_timer_arm(en->limits_poll, SP_ENGINE_LIMITS_POLL_MS);
	if (!en->source_limits_in_kernel)
		return;
	sp_engine_limits_read(en, &rate, &new_flows);
	if (rate == en->kernel_rate_seen && new_flows == en->kernel_new_seen)
		return;
	/* one set holds the sources of both limits: the reason is what moved */
	why = new_flows == en->kernel_new_seen ?
		      "message rate over the limit (dropped in the kernel)" :
	      rate == en->kernel_rate_seen ?
		      "new bindings over the limit (dropped in the kernel)" :
		      "message rate or new bindings over the limit (dropped in the kernel)";
	en->kernel_rate_seen = rate;
	en->kernel_new_seen = new_flows;
	sp_engine_limits_name(en, SP_NFT_LIMITED_SET_V4, AF_INET, why);
	sp_engine_limits_name(en, SP_NFT_LIMITED_SET_V6, AF_INET6, why);
}

/* One apply's work in progress, from the plan to the commit. */
struct sp_engine_change {
	struct sp_classify_plan plan;
	struct sp_vpn_map vpn_map;
	char *vpn_chains;
	size_t n_tag_slots;
	/* the listeners wanted (in the configuration's order) and those of
	 * them this apply opened (closed again if it fails) */
	struct sp_transport_conn *keep[SP_LISTEN_PORTS_MAX], *opened[SP_LISTEN_PORTS_MAX];
	unsigned n_new;
	/* Nothing to proxy (no signaling-proxy block, or no strategy the
	 * kernel carries): no listener, no nft table, no policy rule, no
	 * return path. An installed package with its empty default
	 * configuration leaves the host's data path as it was; the first
	 * strategy brings it all, the last takes it away. */
	bool idle;
	unsigned n_ports; /* the listen ports wanted: none while idle */
};

/* A strategy the kernel carries: what makes the SP intercept anything. */
static bool sp_engine_plan_has_strategy(const struct sp_classify_plan *plan)
{
	for (size_t i = 0; i < plan->n_strategies; i++)
		if (plan->strategies[i].installed)
			return true;
	return false;
}

/* The classification plan, from the configuration and what the kernel has
 * now: VLAN devices, VRFs and label routes are read at each apply (a
 * commit, or a link change: sp_linkwatch). On failure nothing is kept. */
static int sp_engine_plan(struct sp_engine *en, const struct sp_config *c, struct sp_engine_change *ch,
			  struct sp_error *e)
{
	struct sp_link_state links;
	struct sp_link_vlan *vlans = NULL;
	size_t n_vlans = 0;
	char lerr[128];
	int rc;
	struct sp_bpf_tag tagv[SP_MARK_TAG_MAX];
	struct sp_classify_tags tags = { 0 };
	struct sp_classify_kernel kern = { 0 };

	if (KD(en, links_read, &links, lerr, sizeof(lerr)) < 0)
		sp_warn("engine: %s: VLAN, VRF and MPLS matches cannot be resolved", lerr);
	vlans = sp_link_state_vlans(&links, &n_vlans);
	if (sp_engine_vpn_map(c, &links, &ch->vpn_map, &ch->vpn_chains, e) < 0) {
		free(vlans);
		sp_link_state_free(&links);
		return -1;
	}
	kern.vpn_ifs = ch->vpn_map.ifs;
	kern.n_vpn_ifs = ch->vpn_map.n_ifs;
	kern.mpls = links.mpls;
	kern.n_mpls = links.n_mpls;
	kern.mpls_routing = links.mpls_supported;
	tags.n_tags = sp_classify_tag_values(c, tagv, SP_MARK_TAG_MAX);
	/* the labels the kernel routes are its own, not the tagger's */
	tags.n_tags = sp_classify_tags_unrouted(tagv, tags.n_tags, links.mpls, links.n_mpls);
	tags.tags = tagv;
	tags.unavailable = sp_engine_tagger_apply(en, c, tagv, tags.n_tags);
	if (tags.unavailable)
		tags.n_tags = 0;
	ch->n_tag_slots = tags.n_tags;
	rc = sp_classify_build_kernel(c, vlans, n_vlans, &tags, &kern, &ch->plan, e);
	free(vlans);
	sp_engine_linkwatch_seed(en, c, &links);
	sp_link_state_free(&links);
	if (rc < 0) {
		free(ch->vpn_chains);
		ch->vpn_chains = NULL;
		return -1;
	}
	return 0;
}

/* A listener for every port wanted: a port that cannot be bound refuses
 * the change. */
static int sp_engine_listeners_open(struct sp_engine *en, const struct sp_config *c,
				    struct sp_engine_change *ch, struct sp_error *e)
{
	for (unsigned k = 0; k < ch->n_ports; k++) {
		uint16_t port = c->sp.listen_ports[k];
		struct sp_transport_conn *found = NULL;

		for (unsigned i = 0; i < en->n_listeners; i++)
			if (en->listeners[i]->local.port == port)
				found = en->listeners[i];
		if (!found) {
			found = sp_transport_listen(en->tp, port, e);
			if (!found)
				return -1;
			ch->opened[ch->n_new++] = found;
		}
		ch->keep[k] = found;
	}
	return 0;
}

/* What the interception puts in the kernel for configuration c. */
static void sp_engine_intercept_cfg(const struct sp_config *c, const struct sp_engine_change *ch,
				    uint32_t *origins, struct sp_kernel_intercept_cfg *kcfg)
{
	kcfg->nft.entries = ch->plan.entries;
	kcfg->nft.n_entries = ch->plan.n_entries;
	kcfg->nft.listen_ports = c->sp.listen_ports;
	kcfg->nft.n_listen_ports = ch->n_ports;
	kcfg->nft.default_verdict = c->sp.default_action == SP_ACTION_DROP ? SP_NFT_DROP : SP_NFT_ACCEPT;
	kcfg->nft.mark_mask = SP_MARK_MASK;
	kcfg->nft.fwmark = SP_MARK_TPROXY;
	kcfg->nft.fwmask = SP_MARK_TPROXY;
	kcfg->nft.extra_chains = ch->vpn_chains;
	kcfg->nft.origin_marks = origins;
	kcfg->nft.n_origin_marks = sp_classify_origin_marks(ch->vpn_map.n, ch->n_tag_slots, origins);
	/* the rates in the kernel; a source is its address in its VPN */
	kcfg->nft.source_rate = c->sp_enabled ? c->sp.source_rate : 0;
	kcfg->nft.source_new_flows = c->sp_enabled ? c->sp.source_new_bindings : 0;
	kcfg->nft.source_key_mask = SP_MARK_VPN_MASK;
	if (c->sp.media == SP_MEDIA_KERNEL) {
		/* the media guard: no untranslated media crosses the SP */
		kcfg->media_port_first = c->sp.media_port_min;
		kcfg->media_port_last = c->sp.media_port_max;
	}
	kcfg->rule_priority = SP_INTERCEPT_RULE_PRIORITY;
	kcfg->table = SP_INTERCEPT_TABLE;
}

/* Everything of configuration c that goes in the kernel through the
 * facade: the interception (not on a standby), the VPNs' return routes,
 * the local virtual address and the return path. */
static int sp_engine_kernel_apply(struct sp_engine *en, const struct sp_config *c,
				  struct sp_engine_change *ch, struct sp_error *e)
{
	struct sp_kernel_intercept_cfg kcfg = { 0 };
	uint32_t origins[SP_CLASSIFY_ORIGINS_MAX];
	uint64_t limits_rate, limits_new; /* the old table's per-source drop counters */
	char err[256] = "";

	sp_engine_intercept_cfg(c, ch, origins, &kcfg);
	/* the table goes and its counters with it: what they counted is kept
	 * once the new table is in (a refused one leaves the old in place) */
	sp_engine_limits_read(en, &limits_rate, &limits_new);
	en->media_guard_banked += KD(en, media_guard_drops);
	if (!en->standby && ch->idle) {
		if (KD(en, intercept_installed) &&
		    KD(en, remove_intercept, err, sizeof(err)) < 0)
			sp_warn("engine: nothing to proxy: %s", err);
	} else if (!en->standby && KD(en, install_intercept, &kcfg, err, sizeof(err)) < 0) {
		sp_error_set(e, "kernel: %s", err);
		sp_err("engine: %s", e->msg);
		sp_events_publish(en->d->events, &(struct sp_event){
			.type = SP_EVENT_KERNEL_FAILURE, .u.kernel_failure.what = e->msg });
		return -1;
	}
	if (!en->standby)
		sp_engine_limits_bank(en, limits_rate, limits_new);
	en->vpn_map = ch->vpn_map;
	if (KD(en, vpn_apply, &ch->vpn_map, err, sizeof(err)) < 0)
		sp_warn("engine: VPN return routes incomplete: %s", err);
	if (sp_engine_lva_apply(en, c, e) < 0) {
		sp_err("engine: %s", e->msg);
		return -1; /* the caller re-applies the previous configuration */
	}
	/* the return path is the SP's: not on a router with only policy routes */
	if (KD(en, retpath_configure,
				 ch->idle ? SP_RETPATH_NONE :
				 c->sp.return_path == SP_RETURN_DEFAULT_GATEWAY ? SP_RETPATH_DEFAULT_GATEWAY :
				 SP_RETPATH_LEARN, &c->sp.return_gateway.u.v4, c->sp.listen_ports,
				 ch->n_ports, err, sizeof(err)) < 0)
		return sp_error_set(e, "return-path: %s", err);
	en->source_limits_in_kernel = !en->standby && !ch->idle &&
				      (kcfg.nft.source_rate || kcfg.nft.source_new_flows);
	return 0;
}

/* The change is in the kernel: the engine follows it. */
static void sp_engine_commit(struct sp_engine *en, const struct sp_config *c, struct sp_engine_change *ch)
{
	struct sp_classify_plan *plan = &ch->plan;

	/* retire listeners no longer wanted */
	for (unsigned i = 0; i < en->n_listeners; i++) {
		bool wanted = false;
		for (unsigned k = 0; k < ch->n_ports; k++)
			wanted |= ch->keep[k] == en->listeners[i];
		if (!wanted)
			sp_transport_close(en->listeners[i]);
	}
	memcpy(en->listeners, ch->keep, sizeof(ch->keep));
	en->n_listeners = ch->n_ports;
	/* keep the hit counters of strategies that stay */
	for (size_t i = 0; i < plan->n_strategies; i++) {
		const struct sp_classify_strategy *old = sp_engine_strategy_by_seq(en, plan->strategies[i].seq);
		if (old && strcmp(old->name, plan->strategies[i].name) == 0)
			plan->strategies[i].hits = old->hits;
	}
	free(en->strategies);
	en->strategies = plan->strategies;
	en->n_strategies = plan->n_strategies;
	plan->strategies = NULL;
	sp_engine_publish_strategies(en);
	sp_endpoint_from_addr(&en->server_side, &c->sp.server_side_address, 0);
	if (en->server_side.family != AF_INET)
		sp_endpoint_clear(&en->server_side); /* one C, IPv4, for now */
	en->media_on = c->sp.media == SP_MEDIA_KERNEL;
	sp_table_set_session_limit(en->table, c->sp.session_limit);
	en->session_limit = c->sp.session_limit;
	en->source_bindings_limit = c->sp.source_bindings;
	en->message_size_limit = c->sp.message_size_limit;
}

static int sp_engine_apply(struct sp_engine *en, const struct sp_config *c, struct sp_error *e)
{
	struct sp_engine_change ch = { 0 };
	char err[256] = "";
	int rc = -1;

	if (sp_engine_plan(en, c, &ch, e) < 0)
		return -1;
	ch.idle = !c->sp_enabled || !sp_engine_plan_has_strategy(&ch.plan);
	ch.n_ports = ch.idle ? 0 : c->sp.n_listen_ports;
	/* the media range first: a change while calls hold ports is refused */
	if (sp_media_set_range(en->media, c->sp.media_port_min, c->sp.media_port_max, err,
			       sizeof(err)) < 0)
		sp_error_set(e, "%s", err);
	else if (sp_engine_listeners_open(en, c, &ch, e) == 0 && sp_engine_kernel_apply(en, c, &ch, e) == 0) {
		sp_engine_commit(en, c, &ch);
		rc = 0;
	}
	for (unsigned i = 0; rc < 0 && i < ch.n_new; i++)
		sp_transport_close(ch.opened[i]);
	sp_classify_free(&ch.plan);
	free(ch.vpn_chains);
	return rc;
}

static int sp_engine_config_cb(void *arg, const struct sp_config *old_cfg,
			       const struct sp_config *new_cfg, const struct sp_config_diff *diff,
			       struct sp_error *e)
{
	struct sp_engine *en = arg;
	bool relevant = false;

	for (size_t i = 0; i < diff->n; i++) {
		enum sp_config_object o = diff->changes[i].object;
		relevant |= o == SP_OBJ_GLOBAL || o == SP_OBJ_STRATEGY || o == SP_OBJ_INTERFACE;
	}
	if (!relevant)
		return 0;
	if (sp_engine_apply(en, new_cfg, e) < 0) {
		struct sp_error ignored;

		/* whatever step failed, put back what the running config says */
		if (sp_engine_apply(en, old_cfg, &ignored) < 0)
			sp_err("engine: cannot restore the previous state: %s", ignored.msg);
		return -1;
	}
	return 0;
}

/* The links changed under the running configuration (a VLAN sub-interface
 * or VRF slave came or went, a configured interface appeared or was renamed):
 * the same apply as a commit, with the same configuration. */
static void sp_engine_links_changed(void *arg)
{
	struct sp_engine *en = arg;
	struct sp_error e = { 0 };

	sp_info("engine: links changed: re-applying the classification");
	if (sp_engine_apply(en, sp_config_store_current(en->d->config), &e) < 0)
		sp_err("engine: re-applying after a link change: %s", e.msg);
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
	char err[256];
	int n;

	(void)loop;
	en->media_latch_armed = false;
	if (!sp_media_latching(en->media))
		return;
	n = KD(en, media_seen, &seen, err, sizeof(err));
	if (n < 0)
		sp_debug("media: %s", err);
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
	en->media = sp_media_create(&mk);
	en->media_reconcile = sp_loop_timer_new(en->d->loop, sp_engine_media_reconcile_cb, en);
	en->media_latch = sp_loop_timer_new(en->d->loop, sp_engine_media_latch_cb, en);
	if (!en->media || !en->media_reconcile || !en->media_latch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp_media_reconcile(en->media);
	sp_loop_timer_arm(en->media_reconcile, SP_ENGINE_MEDIA_RECONCILE_MS);
	return 0;
}

static void sp_engine_persist_prepare(void *arg, uint32_t dialog_id)
{
	sp_engine_sync_prepare(arg, dialog_id);
}

/* The store of --state-dir, and the table as it was before the restart:
 * before the listeners are read, so the first datagram finds every binding. */
/* The store of --state-dir keeps what changed (its marks coalesce): what
 * a restart must find is what the standby is told. */
static void sp_engine_persist_changed(void *arg, int kind, uint32_t id)
{
	struct sp_engine *en = arg;

	sp_persist_mark(en->persist, (enum sp_sync_kind)kind, id);
}

static int sp_engine_persist_open(struct sp_engine *en, struct sp_error *e)
{
	struct sp_persist_hooks hooks = { sp_engine_persist_prepare, en };
	const char *dir = en->d->opt.state_dir;
	char err[256] = "";

	if (!dir || strcmp(dir, "none") == 0)
		return 0;
	en->persist = sp_persist_open(dir, en->table, &hooks, en->d->loop, err, sizeof(err));
	if (!en->persist || sp_persist_restore(en->persist, sp_now_ms(), sp_persist_wall_ms(), err,
					       sizeof(err)) < 0) {
		sp_error_set(e, "persistence: %s", err);
		return -1;
	}
	en->d->persist = en->persist;
	return 0;
}

void sp_engine_persist_suspend(struct sp_engine *en)
{
	sp_persist_close(en->persist);
	en->persist = NULL;
	en->d->persist = NULL;
}

int sp_engine_persist_resume(struct sp_engine *en, struct sp_error *e)
{
	struct sp_persist_hooks hooks = { sp_engine_persist_prepare, en };
	const char *dir = en->d->opt.state_dir;
	char err[256] = "";

	if (en->persist || !dir || strcmp(dir, "none") == 0)
		return 0;
	en->persist = sp_persist_open(dir, en->table, &hooks, en->d->loop, err, sizeof(err));
	if (!en->persist) {
		sp_error_set(e, "persistence: %s", err);
		return -1;
	}
	en->d->persist = en->persist;
	return 0;
}

struct sp_engine *sp_engine_start(struct sp_daemon *d, struct sp_error *e)
{
	return sp_engine_start_with(d, NULL, e);
}

struct sp_engine *sp_engine_start_with(struct sp_daemon *d, const struct sp_engine_deps *deps,
				       struct sp_error *e)
{
	struct sp_engine *en = calloc(1, sizeof(*en));
	struct sp_table_config tc;
	struct sp_table_callbacks cb;
	const struct sp_transport_handler th = {
		.arg = en, .before_batch = sp_engine_before_batch, .received = sp_engine_received,
		.wake_done = sp_engine_wake_done, .queue_drops = sp_engine_queue_drops,
		.send_failed = sp_engine_send_failed,
	};
	char err[256] = "";

	if (!en) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	en->d = d;
	sp_engine_watch(en, sp_engine_persist_changed, en); /* the first watcher */
	sp_sip_global_init();
	en->tp = deps ? deps->transport_new(deps->arg, d->loop, &th) : sp_transport_udp_new(d->loop, &th);
	sp_table_config_default(&tc);
	tc.sig_port_first = SP_SIGNALING_PORT_FIRST;
	tc.sig_port_last = SP_SIGNALING_PORT_LAST;
	tc.media_port_first = 0; /* media ports come with the kernel media path */
	tc.media_port_last = 0;
	cb = (struct sp_table_callbacks){ sp_engine_binding_expired, sp_engine_dialog_expired, en };
	en->table = sp_table_create(&tc, &cb);
	en->expiry = sp_loop_timer_new(d->loop, sp_engine_expiry_cb, en);
	en->armed_deadline = UINT64_MAX;
	en->source_notified = sp_srclimit_new();
	en->limits_poll = sp_loop_timer_new(d->loop, sp_engine_limits_poll_cb, en);
	if (!en->tp || !en->table || !en->expiry ||
	    !en->source_notified || !en->limits_poll) {
		sp_error_set(e, "Out of memory");
		goto fail;
	}
	en->kd = deps ? deps->kernel_open(deps->arg, sp_engine_links_changed, en, err, sizeof(err)) :
		 sp_kernel_door_open(d->loop, SP_ENGINE_LINK_SETTLE_MS, sp_engine_links_changed, en, err,
				     sizeof(err));
	if (!en->kd) {
		sp_error_set(e, "%s", err);
		goto fail;
	}
	if (sp_engine_media_open(en, err, sizeof(err)) < 0) {
		sp_error_set(e, "media: %s", err);
		goto fail;
	}
	/* a standby starts with its tables empty and nothing in the kernel */
	en->standby = sp_config_store_current(d->config)->redundancy.configured &&
		      sp_config_store_current(d->config)->redundancy.role == SP_ROLE_STANDBY;
	if (sp_engine_persist_open(en, e) < 0)
		goto fail;
	if (sp_engine_apply(en, sp_config_store_current(d->config), e) < 0)
		goto fail;
	if (en->persist) {
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
	if (sp_config_store_subscribe(d->config, "engine", sp_engine_config_cb, en) < 0) {
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
	/* first, while the media state the dialogs' records read is there:
	 * what is marked goes to the store, which keeps every binding and
	 * dialog (a stopped daemon restores them as a killed one does) */
	sp_persist_close(en->persist);
	en->persist = NULL;
	en->d->persist = NULL;
	sp_loop_timer_free(en->media_reconcile);
	sp_loop_timer_free(en->media_latch);
	sp_media_destroy(en->media); /* removes its conntrack entries */
	/* the interception, the return path, the VPNs' rules, the tagger */
	if (en->kd)
		en->kd->ops->destroy(en->kd);
	for (unsigned i = 0; i < en->n_listeners; i++)
		sp_transport_close(en->listeners[i]);
	sp_transport_destroy(en->tp); /* and every server-side connection */
	sp_loop_timer_free(en->expiry);
	sp_loop_timer_free(en->limits_poll);
	sp_srclimit_free(en->source_notified);
	if (en->table)
		sp_table_destroy(en->table);
	free(en->strategies);
	free(en);
}

/* ---- the read API of the management plane (cli/sp_show, mib/) ---- */

const struct sp_engine_stats *sp_engine_stats(struct sp_engine *en)
{
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
	char *text = NULL, err[256];
	size_t n = 0, cap = 0;
	struct sp_kernel_count *out = NULL;

	*outp = NULL;
	if (!en->kd || KD(en, nft_list, &text, err, sizeof(err)) < 0)
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
		sp_engine_changed(en, SP_SYNC_DIALOG, d->id);
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
	sp_events_publish(en->d->events, &(struct sp_event){ .type = SP_EVENT_STATISTICS_CLEARED });
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

void sp_engine_sync_prepare(struct sp_engine *en, uint32_t dialog_id)
{
	struct sp_dialog *d = sp_dialog_find_id(en->table, dialog_id);
	struct sp_media_stream ms[SP_DIALOG_MAX_MEDIA];
	unsigned n;

	/* a standby's dialogs hold what the active sent */
	if (!d || en->standby)
		return;
	n = sp_media_export(en->media, dialog_id, ms, SP_DIALOG_MAX_MEDIA);
	/* the table has no media range of its own: it keeps the ports as given */
	sp_dialog_set_media(en->table, d, ms, n);
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
		memset(&b->return_path, 0, sizeof(b->return_path));
		if (!sp_transport_find(en->tp, &b->server_side) && sp_engine_bsock_open(en, &b->server_side))
			(*sockets)++;
	}
	for (struct sp_dialog *d = sp_dialog_first(en->table); d; d = sp_dialog_next(en->table, d)) {
		int n;

		if (!en->media_on || !d->n_media || d->state >= SP_DIALOG_TERMINATING)
			continue;
		n = sp_media_import(en->media, d->id, &d->binding->virtual_server,
				    &d->binding->server_side, (uint16_t)d->binding->vpn,
				    (uint16_t)(d->binding->origin_mark & SP_MARK_ORIGIN_MASK),
				    d->media, d->n_media);
		if (n > 0)
			*streams += (unsigned)n;
	}
}

/* Standby: the interception, the binding sockets and the media entries go;
 * the tables stay (the sync keeps them current). Active: all of it comes
 * back from the tables, the same C:c and media ports the peer used, so the
 * server, the terminals and the far ends see no change. */
int sp_engine_set_active(struct sp_engine *en, bool active, struct sp_error *e)
{
	char err[256] = "";
	unsigned sockets = 0, streams = 0;

	if (active == !en->standby)
		return 0;
	if (!active) {
		/* keep each dialog's streams in the table: a later takeover
		 * without a peer to resync from restores them */
		for (struct sp_dialog *d = sp_dialog_first(en->table); d; d = sp_dialog_next(en->table, d))
			sp_engine_sync_prepare(en, d->id);
		en->standby = true;
		sp_media_clear(en->media);
		sp_transport_close_server_side(en->tp);
		{
			uint64_t rate, new_flows;

			sp_engine_limits_read(en, &rate, &new_flows);
			sp_engine_limits_bank(en, rate, new_flows);
			en->source_limits_in_kernel = false;
		}
		if (KD(en, remove_intercept, err, sizeof(err)) < 0)
			sp_warn("engine: standby: %s", err);
		sp_notice("engine: standby: interception, binding sockets and media entries removed");
		return 0;
	}
	en->standby = false;
	if (sp_engine_apply(en, sp_config_store_current(en->d->config), e) < 0) {
		en->standby = true;
		return -1;
	}
	sp_engine_install_table(en, &sockets, &streams);
	/* what the peer synced was not stored here: the table replaces the store */
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
