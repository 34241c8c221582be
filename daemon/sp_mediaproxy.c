#include "config.h"
#include "sp_mediaproxy.h"
#include "sp_mediaproxy_int.h"
#include "sp_event.h"
#include "sp_log.h"
#include "sp_loop.h"
#include "sp_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- sending ---- */

void sp_mp_new_cookie(struct sp_mp_client *cl, char *out)
{
	snprintf(out, SP_NG_COOKIE_MAX + 1, "%08x_%llu", cl->cookie_salt,
		 (unsigned long long)++cl->cookie_seq);
}

static int sp_mp_send(struct sp_mp *mp, const char *msg, size_t len)
{
	if (mp->fd < 0)
		return -1;
	if (send(mp->fd, msg, len, MSG_DONTWAIT) < 0)
		return -1;
	return 0;
}

void sp_mp_begin(struct sp_mp_client *cl, struct sp_ng_out *o, const char *cookie)
{
	sp_ng_out_init(o, cl->tx, SP_NG_MSG_MAX);
	sp_ng_put_raw(o, cookie, strlen(cookie));
	sp_ng_put_raw(o, " ", 1);
}

struct sp_mp_pending *sp_mp_queue(struct sp_mp_client *cl, struct sp_mp *mp,
					 enum sp_mp_kind kind, const char *cookie,
					 const struct sp_ng_out *o)
{
	struct sp_mp_pending *p = calloc(1, sizeof(*p));

	if (!p || !(p->msg = malloc(o->len))) {
		free(p);
		return NULL;
	}
	memcpy(p->msg, o->buf, o->len);
	p->len = o->len;
	p->mp_id = mp->id;
	p->kind = kind;
	snprintf(p->cookie, sizeof(p->cookie), "%s", cookie);
	p->tries = 1;
	p->rto_ms = SP_MP_RTO_MS;
	p->deadline_ms = sp_loop_now_ms() + p->rto_ms;
	p->next = cl->pending;
	cl->pending = p;
	mp->stats.requests++;
	if (sp_mp_send(mp, p->msg, p->len) < 0)
		sp_debug("media-proxy %s: send: %s", mp->cfg.name, strerror(errno));
	return p;
}

static void sp_mp_pending_finish(struct sp_mp_client *cl, struct sp_mp_pending *p, bool ok,
				 const char *sdp, size_t len)
{
	if (p->kind == SP_MPK_QUERY)
		sp_mp_query_done(cl, p);
	if (p->done)
		p->done(p->arg, ok, sdp, len, p->fallback);
	free(p->query_call_id);
	free(p->msg);
	free(p);
}

static struct sp_mp_pending *sp_mp_pending_take(struct sp_mp_client *cl, struct sp_mp_pending *p)
{
	for (struct sp_mp_pending **pp = &cl->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return p;
		}
	return NULL;
}

/* ---- state ---- */

void sp_mp_publish(struct sp_mp_client *cl)
{
	sp_status_reset(cl->status, SP_STATUS_MEDIA_PROXY);
	for (size_t i = 0; i < cl->n_mps; i++) {
		const struct sp_mp *mp = &cl->mps[i];
		char reason[SP_STATUS_REASON_MAX];

		if (mp->cfg.shutdown)
			snprintf(reason, sizeof(reason), "shutdown");
		else if (mp->fd < 0)
			snprintf(reason, sizeof(reason), "incomplete (no control address)");
		else if (mp->reachable)
			snprintf(reason, sizeof(reason), "reachable, %llu calls", (unsigned long long)mp->calls);
		else if (mp->ever_answered)
			snprintf(reason, sizeof(reason), "unreachable (no answer to %u pings), %llu calls",
				 mp->missed, (unsigned long long)mp->calls);
		else
			snprintf(reason, sizeof(reason), "unreachable (never answered a ping)");
		sp_status_set(cl->status, SP_STATUS_MEDIA_PROXY, mp->cfg.name, 0,
			      mp->reachable && !mp->cfg.shutdown, reason);
	}
}

static void sp_mp_set_reachable(struct sp_mp_client *cl, struct sp_mp *mp, bool up)
{
	struct sp_event ev = { .type = up ? SP_EVENT_MEDIA_PROXY_UP : SP_EVENT_MEDIA_PROXY_DOWN };

	if (mp->reachable == up)
		return;
	mp->reachable = up;
	if (up)
		sp_info("media-proxy %s: answering, back in rotation", mp->cfg.name);
	else
		sp_warn("media-proxy %s: no answer to %u pings, out of rotation (%llu calls held)",
			mp->cfg.name, mp->missed, (unsigned long long)mp->calls);
	sp_mp_publish(cl); /* first: the notification reads the new state */
	ev.u.media_proxy.name = mp->cfg.name;
	sp_events_publish(cl->events, &ev);
}

static void sp_mp_ping(struct sp_mp_client *cl, struct sp_mp *mp)
{
	struct sp_ng_out o;

	if (mp->ping_outstanding && ++mp->missed >= SP_MP_PING_MISSES)
		sp_mp_set_reachable(cl, mp, false);
	if (mp->fd < 0)
		return;
	sp_mp_new_cookie(cl, mp->ping_cookie);
	sp_mp_begin(cl, &o, mp->ping_cookie);
	sp_ng_open_dict(&o);
	sp_ng_put_kv(&o, "command", "ping");
	sp_ng_close(&o);
	mp->ping_outstanding = true;
	mp->stats.pings++;
	sp_mp_send(mp, o.buf, o.len);
}

void sp_mp_client_ping_all(struct sp_mp_client *cl)
{
	for (size_t i = 0; i < cl->n_mps; i++)
		sp_mp_ping(cl, &cl->mps[i]);
	sp_mp_publish(cl);
}

/* ---- receiving ---- */

static void sp_mp_on_pong(struct sp_mp_client *cl, struct sp_mp *mp)
{
	mp->ping_outstanding = false;
	mp->missed = 0;
	mp->ever_answered = true;
	mp->last_pong_ms = sp_loop_now_ms();
	mp->stats.pongs++;
	sp_mp_set_reachable(cl, mp, true);
}

/* A reply to one of our requests: its result, and for an offer or an
 * answer the SDP, checked before anyone sees them. */
static void sp_mp_on_reply(struct sp_mp_client *cl, struct sp_mp *mp, struct sp_mp_pending *p,
			   const struct sp_ng_node *root)
{
	const struct sp_ng_node *result = sp_ng_dict_get(&cl->doc, root, "result");
	const struct sp_ng_node *sdp = sp_ng_dict_get(&cl->doc, root, "sdp");

	if (p->kind == SP_MPK_QUERY && sp_ng_str_is(result, "ok")) {
		mp->stats.replies++;
		sp_mp_query_reply(cl, p, root);
		sp_mp_pending_take(cl, p);
		sp_mp_pending_finish(cl, p, true, NULL, 0);
		return;
	}
	if (sp_ng_str_is(result, "ok") && (p->kind == SP_MPK_DELETE ||
					   (sdp && sdp->type == SP_NG_STR && sdp->len > 0 &&
					    sdp->len <= SP_MP_SDP_MAX))) {
		mp->stats.replies++;
		sp_mp_pending_take(cl, p);
		sp_mp_pending_finish(cl, p, true, sdp ? sdp->s : NULL, sdp ? sdp->len : 0);
		return;
	}
	if (sp_ng_str_is(result, "error")) {
		const struct sp_ng_node *why = sp_ng_dict_get(&cl->doc, root, "error-reason");

		mp->stats.errors++;
		sp_info("media-proxy %s: error: %.*s", mp->cfg.name,
			why && why->type == SP_NG_STR ? (int)(why->len > 200 ? 200 : why->len) : 1,
			why && why->type == SP_NG_STR ? why->s : "?");
		sp_mp_pending_take(cl, p);
		sp_mp_pending_finish(cl, p, false, NULL, 0);
		return;
	}
	/* neither: not what the protocol answers; the request's
	 * retransmission or timeout decides */
	mp->stats.bad_replies++;
}

static void sp_mp_on_datagram(struct sp_mp_client *cl, struct sp_mp *mp, size_t len)
{
	const char *cookie, *body, *why = NULL;
	size_t cookie_len, body_len;
	const struct sp_ng_node *root;

	if (sp_ng_split(cl->rx, len, &cookie, &cookie_len, &body, &body_len) < 0 ||
	    sp_ng_decode(&cl->doc, body, body_len, &why) < 0 || cl->doc.nodes[0].type != SP_NG_DICT) {
		static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("media-proxy: bad replies");

		mp->stats.bad_replies++;
		sp_log_limited(&lim, LOG_WARNING, "media-proxy %s: unreadable reply (%s)", mp->cfg.name,
			       why ? why : "no cookie or not a dictionary");
		return;
	}
	root = &cl->doc.nodes[0];
	if (mp->ping_outstanding && cookie_len == strlen(mp->ping_cookie) &&
	    memcmp(cookie, mp->ping_cookie, cookie_len) == 0) {
		if (sp_ng_str_is(sp_ng_dict_get(&cl->doc, root, "result"), "pong"))
			sp_mp_on_pong(cl, mp);
		else
			mp->stats.bad_replies++;
		return;
	}
	for (struct sp_mp_pending *p = cl->pending; p; p = p->next)
		if (p->mp_id == mp->id && strlen(p->cookie) == cookie_len &&
		    memcmp(p->cookie, cookie, cookie_len) == 0) {
			sp_mp_on_reply(cl, mp, p, root);
			return;
		}
	/* a late duplicate, or someone else's */
	mp->stats.wrong_cookie++;
}

static void sp_mp_readable(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_mp_client *cl = arg;

	(void)loop;
	(void)events;
	for (int n = 0; n < 64; n++) {
		struct sp_mp *mp = NULL;
		ssize_t r;

		for (size_t i = 0; i < cl->n_mps; i++)
			if (cl->mps[i].fd == fd)
				mp = &cl->mps[i];
		if (!mp)
			return;
		r = recv(fd, cl->rx, SP_NG_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			return;
		if ((size_t)r > SP_NG_MSG_MAX) {
			mp->stats.bad_replies++;
			continue;
		}
		cl->rx[r] = '\0';
		sp_mp_on_datagram(cl, mp, (size_t)r);
	}
}

/* ---- time: retransmissions, timeouts, pings ---- */

static void sp_mp_retransmit(struct sp_mp_client *cl, uint64_t now)
{
	for (struct sp_mp_pending **pp = &cl->pending; *pp;) {
		struct sp_mp_pending *p = *pp;
		struct sp_mp *mp = sp_mp_by_id(cl, p->mp_id);

		if (p->deadline_ms > now) {
			pp = &p->next;
			continue;
		}
		if (mp && p->tries < SP_MP_TRIES) {
			p->tries++;
			p->rto_ms *= 2;
			p->deadline_ms = now + p->rto_ms;
			mp->stats.retransmissions++;
			sp_mp_send(mp, p->msg, p->len);
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (mp)
			mp->stats.timeouts++;
		sp_mp_pending_finish(cl, p, false, NULL, 0);
	}
}

static void sp_mp_tick(struct sp_loop *loop, void *arg)
{
	struct sp_mp_client *cl = arg;
	uint64_t now = sp_loop_now_ms();

	(void)loop;
	sp_mp_retransmit(cl, now);
	if (now >= cl->next_ping_ms) {
		cl->next_ping_ms = now + SP_MP_PING_MS;
		sp_mp_client_ping_all(cl);
	}
	if (cl->n_mps || cl->pending)
		sp_loop_timer_arm(cl->tick, SP_MP_TICK_MS);
}

/* ---- configuration ---- */

static int sp_mp_open(struct sp_mp_client *cl, struct sp_mp *mp, struct sp_error *e)
{
	struct sp_endpoint ep;
	struct sockaddr_storage ss;
	socklen_t sl;

	mp->fd = -1;
	if (!sp_addr_is_set(&mp->cfg.control))
		return 0; /* incomplete: kept, never in rotation */
	memset(&ep, 0, sizeof(ep));
	ep.family = mp->cfg.control.family;
	ep.port = mp->cfg.control_port;
	memcpy(ep.addr.bytes, &mp->cfg.control.u,
	       ep.family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr));
	sl = sp_endpoint_to_sockaddr(&ep, &ss);
	mp->fd = socket(ep.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mp->fd < 0 || connect(mp->fd, (struct sockaddr *)&ss, sl) < 0 ||
	    sp_loop_add_fd(cl->loop, mp->fd, EPOLLIN, sp_mp_readable, cl) < 0) {
		int err = errno;

		if (mp->fd >= 0)
			close(mp->fd);
		mp->fd = -1;
		return sp_error_set(e, "media-proxy %s: cannot open its control socket: %s",
				    mp->cfg.name, strerror(err));
	}
	return 0;
}

static void sp_mp_close(struct sp_mp_client *cl, struct sp_mp *mp)
{
	if (mp->fd >= 0) {
		sp_loop_del_fd(cl->loop, mp->fd);
		close(mp->fd);
	}
	mp->fd = -1;
}

/* Fails every request pending on an MP that goes away. */
static void sp_mp_fail_pending(struct sp_mp_client *cl, uint32_t mp_id)
{
	for (struct sp_mp_pending **pp = &cl->pending; *pp;) {
		struct sp_mp_pending *p = *pp;

		if (p->mp_id != mp_id) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		sp_mp_pending_finish(cl, p, false, NULL, 0);
	}
}

/* The old MP of that name and control address, not yet taken. */
static struct sp_mp *sp_mp_same(struct sp_mp_client *cl, const struct sp_media_proxy *cfg, bool *taken)
{
	for (size_t j = 0; j < cl->n_mps; j++)
		if (!taken[j] && strcmp(cl->mps[j].cfg.name, cfg->name) == 0 &&
		    sp_addr_equal(&cl->mps[j].cfg.control, &cfg->control) &&
		    cl->mps[j].cfg.control_port == cfg->control_port) {
			taken[j] = true;
			return &cl->mps[j];
		}
	return NULL;
}

int sp_mp_client_apply(struct sp_mp_client *cl, const struct sp_config *c, struct sp_error *e)
{
	size_t n = c->n_media_proxies;
	struct sp_mp *mps = calloc(n ? n : 1, sizeof(*mps));
	bool *taken = calloc(cl->n_mps ? cl->n_mps : 1, sizeof(*taken));
	bool *opened = calloc(n ? n : 1, sizeof(*opened));

	if (!mps || !taken || !opened) {
		free(mps), free(taken), free(opened);
		return sp_error_set(e, "Out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const struct sp_media_proxy *cfg = &c->media_proxies[i];
		struct sp_mp *old = sp_mp_same(cl, cfg, taken);

		if (old) {
			mps[i] = *old; /* the same MP: its socket, state and calls stay */
		} else {
			mps[i].id = ++cl->next_id;
			mps[i].cfg = *cfg;
			opened[i] = true;
			if (sp_mp_open(cl, &mps[i], e) < 0) {
				for (size_t k = 0; k < i; k++)
					if (opened[k])
						sp_mp_close(cl, &mps[k]);
				free(mps), free(taken), free(opened);
				return -1;
			}
		}
		mps[i].cfg = *cfg;
	}
	for (size_t j = 0; j < cl->n_mps; j++) {
		if (taken[j])
			continue;
		sp_mp_close(cl, &cl->mps[j]);
		sp_mp_fail_pending(cl, cl->mps[j].id);
		sp_mp_calls_forget_mp(cl, cl->mps[j].id);
	}
	free(cl->mps);
	free(taken);
	free(opened);
	cl->mps = mps;
	cl->n_mps = n;
	sp_mp_publish(cl);
	if (n) {
		cl->next_ping_ms = 0; /* ping the new set now */
		sp_loop_timer_arm(cl->tick, 0);
	}
	return 0;
}

size_t sp_mp_client_views(const struct sp_mp_client *cl, struct sp_mp_view *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; cl && i < cl->n_mps && n < max; i++, n++) {
		const struct sp_mp *mp = &cl->mps[i];

		snprintf(out[n].name, sizeof(out[n].name), "%s", mp->cfg.name);
		out[n].reachable = mp->reachable;
		out[n].last_pong_ms = mp->last_pong_ms;
		out[n].calls = mp->calls;
		out[n].stats = mp->stats;
	}
	return n;
}

/* ---- life ---- */

struct sp_mp_client *sp_mp_client_new(struct sp_loop *loop, struct sp_status *status,
				      struct sp_events *events)
{
	struct sp_mp_client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->loop = loop;
	cl->status = status;
	cl->events = events;
	cl->tick = sp_loop_timer_new(loop, sp_mp_tick, cl);
	if (!cl->tick) {
		free(cl);
		return NULL;
	}
	if (getrandom(&cl->cookie_salt, sizeof(cl->cookie_salt), GRND_NONBLOCK) != sizeof(cl->cookie_salt))
		cl->cookie_salt = (uint32_t)sp_loop_now_ms() ^ (uint32_t)getpid();
	return cl;
}

void sp_mp_client_free(struct sp_mp_client *cl)
{
	if (!cl)
		return;
	while (cl->pending) {
		struct sp_mp_pending *p = cl->pending;

		cl->pending = p->next;
		sp_mp_pending_finish(cl, p, false, NULL, 0);
	}
	for (size_t i = 0; i < cl->n_mps; i++)
		sp_mp_close(cl, &cl->mps[i]);
	free(cl->mps);
	for (unsigned b = 0; b < SP_MP_CALL_BUCKETS; b++)
		while (cl->calls[b]) {
			struct sp_mp_callent *e = cl->calls[b];

			cl->calls[b] = e->next;
			free(e);
		}
	sp_loop_timer_free(cl->tick);
	free(cl);
}
