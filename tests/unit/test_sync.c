/*
 * The state-sync channel: two sp_sync instances on 127.0.0.1 in one process,
 * one loop, two tables (through the record codec), and a hand-made peer that
 * speaks the wire format to check what the other side refuses or bounds.
 *
 * The loop runs until a condition holds, bounded by a generous deadline;
 * nothing asserts how long something took.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp_loop.h"
#include "sp_sync.h"
#include "sp_sync_codec.h"

#define BOUND_MS 30000		/* generous: the machine is shared */
#define KEY "test key for the pair"

struct side {
	struct sp_table *t;
	struct sp_sync_codec *codec;
	struct sp_sync *sync;
	int begins, ends, takeovers, states;
	enum sp_sync_peer_state state;
	bool become_sender_on_takeover;
};

static ssize_t cb_encode(void *arg, enum sp_sync_kind kind, uint32_t id, uint8_t *buf, size_t cap)
{
	struct side *s = arg;

	return sp_sync_codec_encode(s->codec, kind, id, sp_loop_now_ms(), buf, cap);
}

static uint32_t cb_next_id(void *arg, enum sp_sync_kind kind, uint32_t after)
{
	struct side *s = arg;

	return sp_sync_codec_next_id(s->codec, kind, after);
}

static int cb_apply(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data, size_t len)
{
	struct side *s = arg;

	return sp_sync_codec_apply(s->codec, kind, id, data, len, sp_loop_now_ms());
}

static void cb_begin(void *arg)
{
	struct side *s = arg;

	s->begins++;
	sp_sync_codec_resync_begin(s->codec);
}

static void cb_end(void *arg)
{
	struct side *s = arg;

	s->ends++;
	sp_sync_codec_resync_end(s->codec);
}

static void cb_state(void *arg, enum sp_sync_peer_state state)
{
	struct side *s = arg;

	s->state = state;
	s->states++;
}

static void cb_takeover(void *arg)
{
	struct side *s = arg;

	s->takeovers++;
	if (s->become_sender_on_takeover)
		sp_sync_set_sender(s->sync, true);
}

static struct sp_table *new_table(void)
{
	struct sp_table_config cfg;
	struct sp_table *t;

	sp_table_config_default(&cfg);
	cfg.media_port_first = 40000;
	cfg.media_port_last = 49999;
	t = sp_table_create(&cfg, NULL);
	cr_assert_not_null(t);
	return t;
}

static uint16_t free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Two ports, lower first: the lower side dials. */
static void two_ports(uint16_t *lo, uint16_t *hi)
{
	uint16_t a = free_port(), b;

	do
		b = free_port();
	while (b == a);
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

struct opts {
	const char *key;
	uint32_t window, keepalive_ms, dead_ms;
};

static void start_side(struct side *s, struct sp_loop *loop, uint16_t local, uint16_t peer,
		       bool sender, const struct opts *o)
{
	struct sp_sync_config cfg = {
		.key = o && o->key ? o->key : KEY,
		.window = o ? o->window : 0,
		/* no keepalives in the way of exact sequence checks */
		.keepalive_ms = o && o->keepalive_ms ? o->keepalive_ms : 60000,
		.dead_ms = o && o->dead_ms ? o->dead_ms : 120000,
	};
	struct sp_sync_callbacks cb = {
		.encode = cb_encode, .next_id = cb_next_id, .apply = cb_apply,
		.resync_begin = cb_begin, .resync_end = cb_end, .peer_state = cb_state,
		.takeover = cb_takeover, .arg = s,
	};
	struct sp_error e = { { 0 } };

	cr_assert_eq(sp_endpoint_parse(&cfg.local, "127.0.0.1", local), 0);
	cr_assert_eq(sp_endpoint_parse(&cfg.peer, "127.0.0.1", peer), 0);
	if (!s->t)
		s->t = new_table();
	if (!s->codec)
		s->codec = sp_sync_codec_new(s->t);
	s->sync = sp_sync_new(loop, &cfg, &cb, &e);
	cr_assert_not_null(s->sync, "%s", e.msg);
	sp_sync_set_sender(s->sync, sender);
}

static void stop_side(struct side *s)
{
	sp_sync_free(s->sync);
	s->sync = NULL;
}

static void free_side(struct side *s)
{
	stop_side(s);
	sp_sync_codec_free(s->codec);
	sp_table_destroy(s->t);
}

static struct sp_sync_stats stats(const struct side *s)
{
	struct sp_sync_stats st;

	sp_sync_get_stats(s->sync, &st);
	return st;
}

/* Driving the loop */

struct until {
	bool (*cond)(void *);
	void *arg;
	uint64_t deadline;
	struct sp_loop_timer *t;
	bool met;
};

static void until_check(struct sp_loop *loop, void *arg)
{
	struct until *u = arg;

	if (u->cond(u->arg)) {
		u->met = true;
		sp_loop_stop(loop);
	} else if (sp_loop_now_ms() >= u->deadline) {
		sp_loop_stop(loop);
	} else {
		sp_loop_timer_arm(u->t, 2);
	}
}

/* Run the loop until cond holds (true) or the bound passes (false). */
static bool run_until(struct sp_loop *loop, bool (*cond)(void *), void *arg, uint64_t bound_ms)
{
	struct until u = { .cond = cond, .arg = arg, .deadline = sp_loop_now_ms() + bound_ms };

	if (cond(arg))
		return true;
	u.t = sp_loop_timer_new(loop, until_check, &u);
	cr_assert_not_null(u.t);
	sp_loop_timer_arm(u.t, 1);
	sp_loop_resume(loop);
	sp_loop_run(loop);
	sp_loop_timer_free(u.t);
	return u.met;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* Filling and comparing tables */

static struct sp_binding *add_binding(struct side *s, uint32_t n)
{
	struct sp_binding_params p = { .vpn = 1, .strategy_id = 3, .contact = "10.0.0.1:5060" };
	struct sp_binding *b;
	char addr[32];

	snprintf(addr, sizeof(addr), "10.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255, n & 255);
	cr_assert_eq(sp_endpoint_parse(&p.terminal, addr, 5060), 0);
	cr_assert_eq(sp_endpoint_parse(&p.server_side, "203.0.113.1", 0), 0);
	cr_assert_eq(sp_endpoint_parse(&p.server, "203.0.113.100", 5060), 0);
	cr_assert_eq(sp_binding_create(s->t, &p, sp_loop_now_ms(), &b), 0);
	sp_binding_set_registration(s->t, b, sp_loop_now_ms(), 3600);
	if (s->sync)
		sp_sync_mark(s->sync, SP_SYNC_BINDING, b->id);
	return b;
}

static struct sp_dialog *add_dialog(struct side *s, struct sp_binding *b, uint32_t n, bool media)
{
	struct sp_dialog_params p = { .binding = b, .from_tag = "f", .state = SP_DIALOG_EARLY };
	struct sp_dialog *d;
	char call_id[64];

	snprintf(call_id, sizeof(call_id), "call-%u@10.0.0.1", n);
	p.call_id = call_id;
	p.call_id_len = strlen(call_id);
	cr_assert_eq(sp_dialog_create(s->t, &p, sp_loop_now_ms(), &d), 0);
	if (media) {
		struct sp_endpoint term, far;
		struct sp_media_stream *ms;

		sp_endpoint_parse(&term, "10.0.0.1", 4000);
		sp_endpoint_parse(&far, "192.0.2.9", 6000);
		cr_assert_eq(sp_dialog_add_media(s->t, d, &term, &far, &ms), 0);
	}
	if (s->sync)
		sp_sync_mark(s->sync, SP_SYNC_DIALOG, d->id);
	return d;
}

static void fill(struct side *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		add_dialog(s, add_binding(s, i + 1), i + 1, i % 10 == 0);
}

/* Same ids, keys, ports, states: what a takeover relies on. */
static bool tables_equal(const struct sp_table *a, const struct sp_table *b)
{
	const struct sp_table_counters *ca = sp_table_counters(a), *cb = sp_table_counters(b);

	if (ca->bindings_current != cb->bindings_current ||
	    ca->dialogs_current != cb->dialogs_current)
		return false;
	for (struct sp_binding *x = sp_binding_first(a); x; x = sp_binding_next(a, x)) {
		struct sp_binding *y = sp_binding_find_id(b, x->id);

		if (!y || !sp_endpoint_equal(&x->terminal, &y->terminal) ||
		    !sp_endpoint_equal(&x->server_side, &y->server_side) ||
		    x->strategy_id != y->strategy_id || strcmp(x->contact, y->contact) ||
		    (x->registration_expiry_ms != 0) != (y->registration_expiry_ms != 0))
			return false;
	}
	for (struct sp_dialog *x = sp_dialog_first(a); x; x = sp_dialog_next(a, x)) {
		struct sp_dialog *y = sp_dialog_find_id(b, x->id);

		if (!y || y->binding->id != x->binding->id || x->state != y->state ||
		    x->call_id_len != y->call_id_len || memcmp(x->call_id, y->call_id, x->call_id_len) ||
		    x->n_media != y->n_media)
			return false;
		for (unsigned i = 0; i < x->n_media; i++)
			if (x->media[i].terminal_side_port != y->media[i].terminal_side_port ||
			    x->media[i].far_side_port != y->media[i].far_side_port)
				return false;
	}
	return true;
}

struct pair {
	struct sp_loop *loop;
	struct side a, b;	/* a dials (lower port), b listens */
	uint16_t lo, hi;
};

static void pair_start(struct pair *p, bool a_sends, const struct opts *o)
{
	two_ports(&p->lo, &p->hi);
	start_side(&p->b, p->loop, p->hi, p->lo, !a_sends, o);
	start_side(&p->a, p->loop, p->lo, p->hi, a_sends, o);
}

static bool in_sync(void *arg)
{
	struct pair *p = arg;
	struct sp_sync_stats sa = stats(&p->a);

	return sa.peer_state == SP_SYNC_PEER_UP && stats(&p->b).peer_state == SP_SYNC_PEER_UP &&
	       sa.dirty == 0 && sa.last_seq_acked == sa.last_seq_sent &&
	       tables_equal(p->a.t, p->b.t);
}

static void pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->loop = sp_loop_new();
	cr_assert_not_null(p->loop);
	p->a.t = new_table();
	p->b.t = new_table();
}

static void pair_free(struct pair *p)
{
	free_side(&p->a);
	free_side(&p->b);
	sp_loop_free(p->loop);
}

Test(sync, full_resync_of_many_objects)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 3000);
	/* the receiver holds objects the sender does not: the resync removes them */
	for (uint32_t i = 0; i < 50; i++)
		add_binding(&p.b, 100000 + i);
	pair_start(&p, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS), "tables converge");
	struct sp_sync_stats sa = stats(&p.a), sb = stats(&p.b);
	cr_expect_eq(sp_table_counters(p.b.t)->bindings_current, 3000);
	cr_expect_eq(sp_table_counters(p.b.t)->dialogs_current, 3000);
	cr_expect_eq(p.b.begins, 1);
	cr_expect_eq(p.b.ends, 1);
	cr_expect_eq(sa.resyncs, 1);
	cr_expect_eq(sb.resyncs, 1);
	cr_expect_eq(sa.connects, 1);
	cr_expect_eq(sb.connects, 1);
	cr_expect_eq(sa.records_sent, 6000);
	cr_expect_eq(sb.records_received, 6000);
	cr_expect_eq(sb.apply_errors, 0);
	cr_expect_eq(sa.auth_failures + sb.auth_failures, 0);
	cr_expect_gt(sa.last_seq_sent, 1);
	cr_expect_eq(sa.last_seq_acked, sa.last_seq_sent);
	cr_expect_eq(sb.last_seq_received, sa.last_seq_sent);
	cr_expect(sb.peer_sender, "b knows a sends");
	cr_expect_not(sa.peer_sender);
	pair_free(&p);
}

static bool b_has(void *arg)
{
	struct pair *p = arg;

	return tables_equal(p->a.t, p->b.t) && stats(&p->a).dirty == 0;
}

Test(sync, incremental_add_change_delete)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 10);
	pair_start(&p, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));

	/* add */
	struct sp_binding *x = add_binding(&p.a, 500);
	struct sp_dialog *d = add_dialog(&p.a, x, 500, true);
	cr_assert(run_until(p.loop, b_has, &p, BOUND_MS), "added");
	cr_expect_not_null(sp_dialog_find_id(p.b.t, d->id));

	/* change */
	x->strategy_id = 77;
	sp_binding_set_contact(x, "10.9.9.9:5070");
	sp_sync_mark(p.a.sync, SP_SYNC_BINDING, x->id);
	sp_dialog_set_state(p.a.t, d, SP_DIALOG_CONFIRMED, sp_loop_now_ms());
	sp_sync_mark(p.a.sync, SP_SYNC_DIALOG, d->id);
	cr_assert(run_until(p.loop, b_has, &p, BOUND_MS), "changed");
	cr_expect_eq(sp_binding_find_id(p.b.t, x->id)->strategy_id, 77);
	cr_expect_eq(sp_dialog_find_id(p.b.t, d->id)->state, SP_DIALOG_CONFIRMED);

	/* delete: dialog, then its binding, as the engine does */
	uint32_t xid = x->id, did = d->id;
	sp_dialog_delete(p.a.t, d);
	sp_sync_mark(p.a.sync, SP_SYNC_DIALOG, did);
	cr_assert_eq(sp_binding_delete(p.a.t, x), 0);
	sp_sync_mark(p.a.sync, SP_SYNC_BINDING, xid);
	cr_assert(run_until(p.loop, b_has, &p, BOUND_MS), "deleted");
	cr_expect_null(sp_binding_find_id(p.b.t, xid));
	cr_expect_null(sp_dialog_find_id(p.b.t, did));
	cr_expect_eq(stats(&p.b).resyncs, 1, "incremental, no second resync");
	pair_free(&p);
}

Test(sync, thousand_changes_of_one_object_coalesce)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 5);
	pair_start(&p, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));
	uint64_t before = stats(&p.a).records_sent;
	struct sp_binding *x = sp_binding_first(p.a.t);

	for (uint32_t i = 1; i <= 1000; i++) {
		x->strategy_id = i;
		sp_sync_mark(p.a.sync, SP_SYNC_BINDING, x->id);
	}
	cr_expect_eq(stats(&p.a).dirty, 1, "one entry per object");
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));
	cr_expect_eq(sp_binding_find_id(p.b.t, x->id)->strategy_id, 1000, "latest state");
	cr_expect_leq(stats(&p.a).records_sent - before, 2, "%llu records for 1000 changes",
		      (unsigned long long)(stats(&p.a).records_sent - before));
	pair_free(&p);
}

static bool both_down_or_connecting(void *arg)
{
	struct pair *p = arg;

	return stats(&p->b).peer_state != SP_SYNC_PEER_UP;
}

Test(sync, reconnect_resyncs_and_removes_what_the_sender_lost)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 200);
	pair_start(&p, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));

	/* the sender goes away; while it is away its table changes */
	stop_side(&p.a);
	cr_assert(run_until(p.loop, both_down_or_connecting, &p, BOUND_MS), "peer loss seen");
	for (int i = 0; i < 50; i++) {
		struct sp_dialog *d = sp_dialog_first(p.a.t);
		struct sp_binding *b = d->binding;

		sp_dialog_delete(p.a.t, d);
		sp_binding_delete(p.a.t, b);
	}
	add_dialog(&p.a, add_binding(&p.a, 9000), 9000, true);
	start_side(&p.a, p.loop, p.lo, p.hi, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS), "converged after the reconnect");
	cr_expect_eq(sp_table_counters(p.b.t)->bindings_current, 151);
	cr_expect_eq(stats(&p.b).connects, 2);
	cr_expect_eq(stats(&p.b).disconnects, 1);
	cr_expect_eq(stats(&p.b).resyncs, 2);
	cr_expect_eq(p.b.ends, 2);
	pair_free(&p);
}

static bool refused(void *arg)
{
	struct pair *p = arg;

	return stats(&p->a).auth_failures + stats(&p->b).auth_failures >= 2;
}

Test(sync, wrong_key_refused_counted_nothing_applied)
{
	struct pair p;
	struct opts other = { .key = "not the same key" };

	pair_init(&p);
	fill(&p.a, 20);
	two_ports(&p.lo, &p.hi);
	start_side(&p.b, p.loop, p.hi, p.lo, false, &other);
	start_side(&p.a, p.loop, p.lo, p.hi, true, NULL);
	/* the dialer retries with backoff: more than one refusal comes */
	cr_assert(run_until(p.loop, refused, &p, BOUND_MS), "refusals counted");
	cr_expect_eq(sp_table_counters(p.b.t)->bindings_current, 0);
	cr_expect_eq(stats(&p.b).records_received, 0);
	cr_expect_eq(stats(&p.a).connects + stats(&p.b).connects, 0);
	cr_expect_neq(stats(&p.b).peer_state, SP_SYNC_PEER_UP);
	cr_expect_eq(p.b.begins, 0);
	pair_free(&p);
}

/* A hand-made peer */

struct raw {
	int fd;
	struct sp_loop *loop;
	const char *key;
	uint8_t in[2 * (SP_SYNC_HDR_LEN + SP_SYNC_PAYLOAD_MAX + SP_SYNC_MAC_LEN)];
	size_t in_len;
	uint8_t my_nonce[SP_SYNC_NONCE_LEN], peer_nonce[SP_SYNC_NONCE_LEN];
	uint8_t tx_key[SP_SYNC_MAC_LEN], rx_key[SP_SYNC_MAC_LEN];
	bool hello_ok, closed, bad;
	uint64_t tx_seq, rx_seq;
	int records_frames, takeovers;
	bool auto_handshake;
	bool reflect;		/* send the peer's HELLO back as ours */
};

static void raw_send(struct raw *r, uint8_t version, uint8_t type, const uint8_t *payload,
		     uint32_t len)
{
	static uint8_t frame[SP_SYNC_HDR_LEN + SP_SYNC_PAYLOAD_MAX + SP_SYNC_MAC_LEN];
	bool hello = type == SP_SYNC_F_HELLO;
	size_t n;

	if (!hello)
		r->tx_seq++;
	n = sp_sync_frame_build(frame, version, type, hello ? 0 : r->tx_seq, payload, len,
				hello ? (const uint8_t *)r->key : r->tx_key,
				hello ? strlen(r->key) : SP_SYNC_MAC_LEN);
	cr_assert_eq(send(r->fd, frame, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void raw_hello(struct raw *r, uint8_t version)
{
	uint8_t payload[SP_SYNC_NONCE_LEN + 1] = { 0 };

	for (int i = 0; i < SP_SYNC_NONCE_LEN; i++)
		r->my_nonce[i] = (uint8_t)random();
	memcpy(payload, r->my_nonce, SP_SYNC_NONCE_LEN);
	raw_send(r, version, SP_SYNC_F_HELLO, payload, sizeof(payload));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void raw_readable(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct raw *r = arg;
	ssize_t n;
	size_t off = 0;

	(void)loop;
	(void)events;
	n = recv(fd, r->in + r->in_len, sizeof(r->in) - r->in_len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			r->closed = true;
			sp_loop_del_fd(r->loop, r->fd);
		}
		return;
	}
	r->in_len += (size_t)n;
	while (r->in_len - off >= SP_SYNC_HDR_LEN) {
		const uint8_t *h = r->in + off;
		uint32_t len = (uint32_t)get_le(h + 16, 4);
		size_t size = SP_SYNC_HDR_LEN + len + SP_SYNC_MAC_LEN;
		uint8_t check[SP_SYNC_HDR_LEN + SP_SYNC_PAYLOAD_MAX + SP_SYNC_MAC_LEN];
		bool hello = h[5] == SP_SYNC_F_HELLO;

		if (r->in_len - off < size)
			break;
		/* verify the MAC the way the real receiver does */
		memcpy(check, h, SP_SYNC_HDR_LEN + len);
		sp_sync_frame_build(check, h[4], h[5], get_le(h + 8, 8), check + SP_SYNC_HDR_LEN,
				    len, hello ? (const uint8_t *)r->key : r->rx_key,
				    hello ? strlen(r->key) : SP_SYNC_MAC_LEN);
		if (memcmp(check + SP_SYNC_HDR_LEN + len, h + SP_SYNC_HDR_LEN + len, SP_SYNC_MAC_LEN) ||
		    (!hello && get_le(h + 8, 8) != r->rx_seq + 1))
			r->bad = true;
		if (hello && r->reflect)
			cr_assert_eq(send(r->fd, h, size, MSG_NOSIGNAL), (ssize_t)size);
		if (hello) {
			memcpy(r->peer_nonce, h + SP_SYNC_HDR_LEN, SP_SYNC_NONCE_LEN);
			sp_sync_session_key(r->key, r->my_nonce, r->peer_nonce, r->tx_key);
			sp_sync_session_key(r->key, r->peer_nonce, r->my_nonce, r->rx_key);
			r->hello_ok = true;
			if (r->auto_handshake)
				raw_send(r, SP_SYNC_VERSION, SP_SYNC_F_KEEPALIVE, NULL, 0);
		} else {
			r->rx_seq = get_le(h + 8, 8);
		}
		if (h[5] == SP_SYNC_F_RECORDS)
			r->records_frames++;
		if (h[5] == SP_SYNC_F_TAKEOVER)
			r->takeovers++;
		off += size;
	}
	memmove(r->in, r->in + off, r->in_len - off);
	r->in_len -= off;
}

static struct raw *raw_connect(struct sp_loop *loop, uint16_t port, const char *key)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	cr_assert_not_null(r);
	r->loop = loop;
	r->key = key;
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(r->fd, 0);
	cr_assert_eq(connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(sp_loop_add_fd(loop, r->fd, EPOLLIN, raw_readable, r), 0);
	return r;
}

static void raw_free(struct raw *r)
{
	if (!r->closed)
		sp_loop_del_fd(r->loop, r->fd);
	close(r->fd);
	free(r);
}

struct lone {
	struct sp_loop *loop;
	struct side s;
	uint16_t lo, hi;
	struct raw *r;
};

/* The side under test listens; the hand-made peer dials it. */
static void lone_start(struct lone *l, bool sender, const struct opts *o)
{
	memset(l, 0, sizeof(*l));
	l->loop = sp_loop_new();
	two_ports(&l->lo, &l->hi);
	start_side(&l->s, l->loop, l->hi, l->lo, sender, o);
}

static void lone_free(struct lone *l)
{
	if (l->r)
		raw_free(l->r);
	free_side(&l->s);
	sp_loop_free(l->loop);
}

static bool lone_refused(void *arg)
{
	struct lone *l = arg;

	return stats(&l->s).auth_failures >= 1 && l->r->closed;
}

Test(sync, raw_garbage_refused_and_counted)
{
	struct lone l;
	static const char garbage[] = "GET / HTTP/1.0\r\nHost: sp\r\n\r\n and some more bytes";

	lone_start(&l, false, NULL);
	l.r = raw_connect(l.loop, l.hi, KEY);
	cr_assert_eq(send(l.r->fd, garbage, sizeof(garbage), MSG_NOSIGNAL), (ssize_t)sizeof(garbage));
	cr_assert(run_until(l.loop, lone_refused, &l, BOUND_MS), "closed and counted");
	cr_expect_eq(stats(&l.s).connects, 0);
	cr_expect_eq(stats(&l.s).records_received, 0);
	cr_expect_eq(sp_table_counters(l.s.t)->bindings_current, 0);
	lone_free(&l);
}

Test(sync, version_mismatch_refused)
{
	struct lone l;

	lone_start(&l, false, NULL);
	l.r = raw_connect(l.loop, l.hi, KEY);
	raw_hello(l.r, SP_SYNC_VERSION + 1);	/* right key, future version */
	cr_assert(run_until(l.loop, lone_refused, &l, BOUND_MS), "closed and counted");
	cr_expect_eq(stats(&l.s).connects, 0);
	lone_free(&l);
}

static bool raw_up(void *arg)
{
	struct lone *l = arg;

	return l->r->hello_ok && stats(&l->s).connects == 1;
}

Test(sync, forged_frame_after_hello_refused_nothing_applied)
{
	struct lone l;
	uint8_t rec[512];
	ssize_t n;

	lone_start(&l, false, NULL);
	l.r = raw_connect(l.loop, l.hi, KEY);
	l.r->auto_handshake = true;
	raw_hello(l.r, SP_SYNC_VERSION);
	cr_assert(run_until(l.loop, raw_up, &l, BOUND_MS), "handshake");
	/* a RECORDS frame MAC'd with the long-term key, not the session key */
	struct sp_table *t = new_table();
	struct sp_sync_codec *c = sp_sync_codec_new(t);
	struct side tmp = { .t = t, .codec = c };
	struct sp_binding *b = add_binding(&tmp, 1);
	n = sp_sync_encode_binding(b, sp_loop_now_ms(), rec + 7, sizeof(rec) - 7);
	cr_assert_gt(n, 0);
	rec[0] = SP_SYNC_BINDING;
	rec[1] = (uint8_t)b->id, rec[2] = rec[3] = rec[4] = 0;
	rec[5] = (uint8_t)n, rec[6] = 0;
	memcpy(l.r->tx_key, KEY "0123456789abcdef", SP_SYNC_MAC_LEN);
	raw_send(l.r, SP_SYNC_VERSION, SP_SYNC_F_RECORDS, rec, (uint32_t)(7 + n));
	cr_assert(run_until(l.loop, lone_refused, &l, BOUND_MS), "closed and counted");
	cr_expect_eq(stats(&l.s).records_received, 0);
	cr_expect_eq(sp_table_counters(l.s.t)->bindings_current, 0);
	sp_sync_codec_free(c);
	sp_table_destroy(t);
	lone_free(&l);
}

Test(sync, reflected_hello_refused)
{
	struct lone l;

	lone_start(&l, false, NULL);
	l.r = raw_connect(l.loop, l.hi, KEY);
	l.r->reflect = true;
	cr_assert(run_until(l.loop, lone_refused, &l, BOUND_MS), "closed and counted");
	cr_expect_eq(stats(&l.s).connects, 0);
	lone_free(&l);
}

Test(sync, replayed_frame_refused)
{
	struct lone l;

	lone_start(&l, false, NULL);
	l.r = raw_connect(l.loop, l.hi, KEY);
	l.r->auto_handshake = true;
	raw_hello(l.r, SP_SYNC_VERSION);
	cr_assert(run_until(l.loop, raw_up, &l, BOUND_MS), "handshake");
	/* the keepalive of seq 1 again, MAC and all */
	l.r->tx_seq--;
	raw_send(l.r, SP_SYNC_VERSION, SP_SYNC_F_KEEPALIVE, NULL, 0);
	cr_assert(run_until(l.loop, lone_refused, &l, BOUND_MS), "closed and counted");
	cr_expect_eq(stats(&l.s).disconnects, 1);
	lone_free(&l);
}

struct window_wait {
	struct lone *l;
	int frames;
};

static bool raw_has_frames(void *arg)
{
	struct window_wait *w = arg;

	return w->l->r->records_frames >= w->frames;
}

Test(sync, window_bounds_frames_in_flight)
{
	struct lone l;
	struct opts o = { .window = 4 };
	struct window_wait w = { .l = &l, .frames = 4 };
	uint8_t ack[8];

	lone_start(&l, true, &o);
	fill(&l.s, 3000);	/* ~6000 records: far more than 4 frames' worth */
	l.r = raw_connect(l.loop, l.hi, KEY);
	l.r->auto_handshake = true;
	raw_hello(l.r, SP_SYNC_VERSION);
	cr_assert(run_until(l.loop, raw_has_frames, &w, BOUND_MS), "first window");
	/* a slow receiver: no ack. The sender stops at the window. */
	run_until(l.loop, never, NULL, 300);
	cr_expect_eq(l.r->records_frames, 4, "%d frames in flight", l.r->records_frames);
	cr_expect_eq(stats(&l.s).peer_state, SP_SYNC_PEER_RESYNC);
	cr_expect_not(l.r->bad, "frames verify");
	/* an ack opens the window again */
	uint64_t acked = l.r->rx_seq;
	for (int i = 0; i < 8; i++)
		ack[i] = (uint8_t)(acked >> (8 * i));
	raw_send(l.r, SP_SYNC_VERSION, SP_SYNC_F_ACK, ack, 8);
	w.frames = 8;
	cr_assert(run_until(l.loop, raw_has_frames, &w, BOUND_MS), "second window");
	run_until(l.loop, never, NULL, 300);
	cr_expect_eq(l.r->records_frames, 8);
	cr_expect_eq(stats(&l.s).last_seq_acked, acked);
	cr_expect_gt(stats(&l.s).last_seq_sent, acked);
	cr_expect_not(l.r->bad);
	lone_free(&l);
}

static bool peer_lost(void *arg)
{
	struct lone *l = arg;

	return stats(&l->s).disconnects == 1 && stats(&l->s).peer_state == SP_SYNC_PEER_DOWN;
}

Test(sync, silent_peer_detected_dead)
{
	struct lone l;
	struct opts o = { .keepalive_ms = 20, .dead_ms = 100 };

	lone_start(&l, false, &o);
	l.r = raw_connect(l.loop, l.hi, KEY);
	l.r->auto_handshake = true;
	raw_hello(l.r, SP_SYNC_VERSION);
	cr_assert(run_until(l.loop, raw_up, &l, BOUND_MS), "handshake");
	/* the hand-made peer never sends a keepalive */
	cr_assert(run_until(l.loop, peer_lost, &l, BOUND_MS), "dead peer detected");
	cr_expect(l.r->rx_seq >= 2, "keepalives were sent meanwhile");
	cr_expect_not(l.r->bad);
	lone_free(&l);
}

static bool took_over(void *arg)
{
	struct pair *p = arg;

	return p->b.takeovers == 1 && p->a.begins == 1 && p->a.ends == 1 &&
	       stats(&p->b).peer_state == SP_SYNC_PEER_UP && tables_equal(p->a.t, p->b.t);
}

Test(sync, takeover_delivered_and_roles_swap)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 30);
	p.b.become_sender_on_takeover = true;
	two_ports(&p.lo, &p.hi);
	start_side(&p.b, p.loop, p.hi, p.lo, false, NULL);
	cr_expect_eq(sp_sync_request_takeover(p.b.sync), -ENOTCONN, "nobody to hand over to");
	start_side(&p.a, p.loop, p.lo, p.hi, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));

	/* operator switchover on a: hand over, become standby */
	cr_assert_eq(sp_sync_request_takeover(p.a.sync), 0);
	sp_sync_set_sender(p.a.sync, false);
	/* b's table now changes and flows back to a */
	add_dialog(&p.b, add_binding(&p.b, 7777), 7777, true);
	cr_assert(run_until(p.loop, took_over, &p, BOUND_MS), "b active, a resynced from b");
	cr_expect_eq(stats(&p.a).resyncs, 2, "sent one, received one");
	cr_expect_eq(sp_table_counters(p.a.t)->bindings_current, 31);
	cr_expect(stats(&p.a).peer_sender, "roles swapped");
	cr_expect_not(stats(&p.b).peer_sender);
	pair_free(&p);
}

Test(sync, config_errors)
{
	struct sp_loop *loop = sp_loop_new();
	struct sp_sync_config cfg = { .key = "" };
	struct sp_sync_callbacks cb = { .encode = cb_encode, .next_id = cb_next_id, .apply = cb_apply };
	struct sp_error e;

	sp_endpoint_parse(&cfg.local, "127.0.0.1", 7000);
	sp_endpoint_parse(&cfg.peer, "127.0.0.1", 7001);
	cr_expect_null(sp_sync_new(loop, &cfg, &cb, &e), "empty key");
	cfg.key = KEY;
	cfg.peer = cfg.local;
	cr_expect_null(sp_sync_new(loop, &cfg, &cb, &e), "same endpoint");
	sp_endpoint_parse(&cfg.peer, "::1", 7001);
	cr_expect_null(sp_sync_new(loop, &cfg, &cb, &e), "mixed families");
	cr_expect_str_eq(sp_sync_peer_state_name(SP_SYNC_PEER_RESYNC), "resync");
	sp_loop_free(loop);
}

static bool codec_pair_done(void *arg)
{
	struct side *s = arg;	/* [0] sends, [1] receives */

	return sp_table_counters(s[1].t)->dialogs_current == 100 &&
	       stats(&s[0]).peer_state == SP_SYNC_PEER_UP && tables_equal(s[0].t, s[1].t);
}

Test(sync, codec_ready_made_callbacks)
{
	struct sp_loop *loop = sp_loop_new();
	struct side s[2] = { { 0 } };
	uint16_t lo, hi;
	struct sp_error e;

	s[0].t = new_table();
	s[1].t = new_table();
	fill(&s[0], 100);
	two_ports(&lo, &hi);
	for (int i = 0; i < 2; i++) {
		struct sp_sync_config cfg = { .key = KEY };
		struct sp_sync_callbacks cb = { 0 };

		sp_endpoint_parse(&cfg.local, "127.0.0.1", i ? hi : lo);
		sp_endpoint_parse(&cfg.peer, "127.0.0.1", i ? lo : hi);
		s[i].codec = sp_sync_codec_new(s[i].t);
		sp_sync_codec_callbacks(s[i].codec, &cb);
		s[i].sync = sp_sync_new(loop, &cfg, &cb, &e);
		cr_assert_not_null(s[i].sync, "%s", e.msg);
	}
	sp_sync_set_sender(s[0].sync, true);
	cr_assert(run_until(loop, codec_pair_done, s, BOUND_MS));
	cr_expect_eq(sp_sync_codec_counters(s[1].codec)->dialogs_applied, 100);
	free_side(&s[0]);
	free_side(&s[1]);
	sp_loop_free(loop);
}

static bool a_lost(void *arg)
{
	struct pair *p = arg;

	return stats(&p->a).disconnects == 1;
}

Test(sync, listener_restart_redialed_and_resynced)
{
	struct pair p;

	pair_init(&p);
	fill(&p.a, 100);
	pair_start(&p, true, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS));
	stop_side(&p.b);
	cr_assert(run_until(p.loop, a_lost, &p, BOUND_MS), "the dialer sees the loss");
	cr_expect_eq(stats(&p.a).peer_state, SP_SYNC_PEER_DOWN);
	/* changes while the peer is away are not queued: the resync carries them */
	struct sp_binding *x = sp_binding_first(p.a.t);
	x->strategy_id = 1234;
	sp_sync_mark(p.a.sync, SP_SYNC_BINDING, x->id);
	cr_expect_eq(stats(&p.a).dirty, 0);
	start_side(&p.b, p.loop, p.hi, p.lo, false, NULL);
	cr_assert(run_until(p.loop, in_sync, &p, BOUND_MS), "redialed and resynced");
	cr_expect_eq(sp_binding_find_id(p.b.t, x->id)->strategy_id, 1234);
	cr_expect_eq(stats(&p.a).connects, 2);
	cr_expect_eq(stats(&p.a).resyncs, 2);
	pair_free(&p);
}

/* IPv6 (issue 18): the channel over IPv6 ([::1] both ends) carries IPv6
 * bindings (terminal, C6:c and server of family IPv6) with their dialogs. */
static struct sp_binding *add_binding6(struct side *s, uint32_t n)
{
	struct sp_binding_params p = { .vpn = 1, .strategy_id = 6, .contact = "[2001:db8:1::1]:5060" };
	struct sp_binding *b;
	char addr[64];

	snprintf(addr, sizeof(addr), "2001:db8:1::%x", n);
	cr_assert_eq(sp_endpoint_parse(&p.terminal, addr, 5060), 0);
	cr_assert_eq(sp_endpoint_parse(&p.server_side, "2001:db8:2::1", 0), 0);
	cr_assert_eq(sp_endpoint_parse(&p.server, "2001:db8:2::10", 5060), 0);
	cr_assert_eq(sp_binding_create(s->t, &p, sp_loop_now_ms(), &b), 0);
	sp_binding_set_registration(s->t, b, sp_loop_now_ms(), 3600);
	return b;
}

static bool ipv6_pair_done(void *arg)
{
	struct side *s = arg;

	return sp_table_counters(s[1].t)->bindings_current == 20 &&
	       stats(&s[0]).peer_state == SP_SYNC_PEER_UP && tables_equal(s[0].t, s[1].t);
}

Test(sync, ipv6_channel_carries_ipv6_bindings)
{
	struct sp_loop *loop = sp_loop_new();
	struct side s[2] = { { 0 } };
	uint16_t lo, hi;
	struct sp_error e;
	int probe = socket(AF_INET6, SOCK_STREAM, 0);

	if (probe < 0)
		cr_skip_test("no IPv6 on this host");
	close(probe);
	s[0].t = new_table();
	s[1].t = new_table();
	for (uint32_t i = 1; i <= 20; i++)
		add_dialog(&s[0], add_binding6(&s[0], i), i, i % 5 == 0);
	two_ports(&lo, &hi);
	for (int i = 0; i < 2; i++) {
		struct sp_sync_config cfg = { .key = KEY };
		struct sp_sync_callbacks cb = { 0 };

		sp_endpoint_parse(&cfg.local, "::1", i ? hi : lo);
		sp_endpoint_parse(&cfg.peer, "::1", i ? lo : hi);
		s[i].codec = sp_sync_codec_new(s[i].t);
		sp_sync_codec_callbacks(s[i].codec, &cb);
		s[i].sync = sp_sync_new(loop, &cfg, &cb, &e);
		cr_assert_not_null(s[i].sync, "%s", e.msg);
	}
	sp_sync_set_sender(s[0].sync, true);
	cr_assert(run_until(loop, ipv6_pair_done, s, BOUND_MS));
	for (struct sp_binding *x = sp_binding_first(s[1].t); x; x = sp_binding_next(s[1].t, x))
		cr_expect(x->terminal.family == AF_INET6 && x->server_side.family == AF_INET6 &&
			  x->server.family == AF_INET6);
	free_side(&s[0]);
	free_side(&s[1]);
	sp_loop_free(loop);
}
