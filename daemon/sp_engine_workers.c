/* The engine's workers (issue 21 item 3, HACKING.md "N engine workers").
 *
 * Worker 0 is the daemon's loop and the engine's UDP transport as they
 * always were. Each further worker has a loop on a thread of its own, a UDP
 * transport on it and a listener on every listen port; the kernel's
 * sk_lookup program (policy-routing/sp_steer) hands each terminal's
 * datagrams to the listener of the worker its address and port hash to,
 * and a binding's server-side socket (C:c) is opened in that same worker's
 * transport, so the server's answers come back to it: every message of a
 * terminal, its binding and its dialogs is read by one worker, in the order
 * it came. A binding over TCP or TLS is worker 0's (they are read there).
 *
 * What the workers share (the session store, the strategies, the media
 * ports, the sync and the store on disk, the counters the CLI and SNMP
 * read) is kept safe by one fair lock that every loop holds while it runs
 * its callbacks (sp_loop_set_lock), which the UDP transport lets go around
 * its own system calls and the inspect of what it read (below): the
 * workers wait for the kernel, read, parse and write side by side, and
 * handle one batch at a time. The
 * engine's code is the same on every worker: while worker w handles a
 * batch, the engine's UDP transport and listeners are w's. */
#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_table.h"
#include "sp_transport_udp.h"
#include "sp_engine_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- worker w's handler: the engine's, with w's transport ---- */

static struct sp_engine *sp_worker_enter(struct sp_engine_worker *w)
{
	struct sp_engine *en = w->en;

	en->tp = w->tp;
	en->cur_listeners = w->listeners;
	en->cur = w;
	return en;
}

static void sp_worker_leave(struct sp_engine *en)
{
	en->tp = en->workers[0].tp;
	en->cur_listeners = en->listeners;
	en->cur = &en->workers[0];
}

static void sp_worker_before_batch(void *arg, enum sp_transport_side side)
{
	struct sp_engine *en = sp_worker_enter(arg);

	en->handler.before_batch(en, side);
	sp_worker_leave(en);
}

static void sp_worker_received(void *arg, const struct sp_transport_msg *m)
{
	struct sp_engine *en = sp_worker_enter(arg);

	en->handler.received(en, m);
	sp_worker_leave(en);
}

static void sp_worker_wake_done(void *arg)
{
	struct sp_engine *en = sp_worker_enter(arg);

	en->handler.wake_done(en);
	sp_worker_leave(en);
}

static void sp_worker_queue_drops(void *arg, enum sp_transport_side side, uint64_t n)
{
	struct sp_engine *en = ((struct sp_engine_worker *)arg)->en;

	en->handler.queue_drops(en, side, n);
}

static void sp_worker_send_failed(void *arg)
{
	struct sp_engine *en = ((struct sp_engine_worker *)arg)->en;

	en->handler.send_failed(en);
}

static void sp_worker_unbound(void *arg, enum sp_transport_side side)
{
	struct sp_engine *en = ((struct sp_engine_worker *)arg)->en;

	en->handler.unbound(en, side);
}

/* ---- what a worker works out outside the lock ----
 *
 * A message's inspect (the protocol's scan) reads its bytes and nothing
 * else: the UDP transport hands each batch to prepare with the workers'
 * lock released, so the workers inspect side by side; the engine, holding
 * the lock, takes the result for the message it handles (sp_engine_inspect)
 * instead of inspecting again. What depends on shared state (the strategy,
 * the binding, the rewrite towards it, the dialog) stays under the lock.
 * A worker's slots are used on its own thread only (the protocol's parse
 * arena is per thread), and its messages are still handled one by one in
 * the order they were read: per-binding order is untouched. */

struct sp_engine_pre {
	const char *data;	/* the bytes inspected; NULL: the slot is free */
	size_t len;
	int rc;			/* inspect's */
	struct sp_proto_msg msg;
};

static void sp_pre_release(struct sp_engine_worker *w, struct sp_engine_pre *p)
{
	if (!p->data)
		return;
	PROTO(w->en, release, &p->msg);
	p->data = NULL;
	w->pre_live--;
}

static void sp_pre_fill(struct sp_engine_worker *w, unsigned slot, const char *data, size_t len)
{
	struct sp_engine_pre *p;

	if (!w->pre || slot >= SP_TRANSPORT_BATCH_MAX)
		return;
	p = &w->pre[slot];
	sp_pre_release(w, p);
	p->rc = PROTO(w->en, inspect, &p->msg, data, len);
	p->data = data;
	p->len = len;
	w->pre_live++;
}

/* Worker 0's (the engine's own handler): the engine is its arg. */
void sp_engine_prepare(void *arg, enum sp_transport_side side, unsigned slot, const char *data, size_t len)
{
	struct sp_engine *en = arg;

	(void)side;
	if (en->workers)
		sp_pre_fill(&en->workers[0], slot, data, len);
}

static void sp_worker_prepare(void *arg, enum sp_transport_side side, unsigned slot, const char *data,
			      size_t len)
{
	(void)side;
	sp_pre_fill(arg, slot, data, len);
}

void sp_engine_pre_take(struct sp_engine *en, const struct sp_transport_msg *m)
{
	struct sp_engine_pre *p;

	en->rx_pre = NULL;
	if (!m->prepared || !en->cur || !en->cur->pre || m->prepared > SP_TRANSPORT_BATCH_MAX)
		return;
	p = &en->cur->pre[m->prepared - 1];
	if (p->data == m->data && p->len == m->len)
		en->rx_pre = p;
}

void sp_engine_pre_done(struct sp_engine *en)
{
	if (en->rx_pre)
		sp_pre_release(en->cur, en->rx_pre);
	en->rx_pre = NULL;
}

void sp_engine_pre_clear(struct sp_engine_worker *w)
{
	/* mostly none: every received message released its own */
	for (unsigned i = 0; w && w->pre && w->pre_live && i < SP_TRANSPORT_BATCH_MAX; i++)
		sp_pre_release(w, &w->pre[i]);
}

int sp_engine_inspect(struct sp_engine *en, struct sp_proto_msg *own, const char *buf, size_t len,
		      struct sp_proto_msg **msg)
{
	struct sp_engine_pre *p = en->rx_pre;

	if (p && p->data == buf && p->len == len) {
		*msg = &p->msg;
		return p->rc;
	}
	*msg = own;
	return PROTO(en, inspect, own, buf, len);
}

void sp_engine_inspected_release(struct sp_engine *en, struct sp_proto_msg *msg)
{
	if (en->rx_pre && msg == &en->rx_pre->msg)
		sp_engine_pre_done(en);
	else
		PROTO(en, release, msg);
}

/* ---- lifecycle ---- */

int sp_engine_workers_create(struct sp_engine *en, unsigned n, struct sp_error *e)
{
	if (n < 1)
		n = 1;
	if (n > SP_ENGINE_WORKERS_MAX)
		return sp_error_set(e, "at most %u workers", SP_ENGINE_WORKERS_MAX);
	/* the steering first, before anything is built for n: a default that
	 * the kernel cannot carry (no CAP_BPF, no sk_lookup) must not keep
	 * the proxy from starting where one loop would run */
	if (n > 1 && KD(en, steer_open, n, e) < 0) {
		if (!en->env.workers_defaulted)
			return -1;
		sp_warn("engine: %s: one engine worker instead of the default %u (--workers %u insists)",
			e->msg, n, n);
		*e = (struct sp_error){ { 0 } };
		n = 1;
	}
	en->workers = calloc(n, sizeof(*en->workers));
	if (!en->workers)
		return sp_error_set(e, "Out of memory");
	en->n_workers = n;
	en->workers[0] = (struct sp_engine_worker){ .en = en, .id = 0, .loop = en->env.loop, .tp = en->tp };
	sp_worker_leave(en);
	if (n == 1)
		return 0;
	en->lock = sp_loop_lock_new();
	if (!en->lock)
		return sp_error_set(e, "Out of memory");
	for (unsigned i = 0; i < n; i++) {
		en->workers[i].pre = calloc(SP_TRANSPORT_BATCH_MAX, sizeof(struct sp_engine_pre));
		if (!en->workers[i].pre)
			return sp_error_set(e, "Out of memory");
	}
	sp_loop_set_lock(en->env.loop, en->lock);
	for (unsigned i = 1; i < n; i++) {
		struct sp_engine_worker *w = &en->workers[i];
		const struct sp_transport_handler h = {
			.arg = w, .before_batch = sp_worker_before_batch, .received = sp_worker_received,
			.wake_done = sp_worker_wake_done, .queue_drops = sp_worker_queue_drops,
			.send_failed = sp_worker_send_failed, .prepare = sp_worker_prepare,
			.unbound = sp_worker_unbound,
		};

		w->en = en;
		w->id = i;
		w->loop = sp_loop_new();
		if (!w->loop)
			return sp_error_set(e, "Out of memory");
		sp_loop_set_lock(w->loop, en->lock);
		w->tp = sp_transport_udp_new(w->loop, &h);
		if (!w->tp)
			return sp_error_set(e, "Out of memory");
	}
	sp_notice("engine: %u workers, terminals steered by the kernel (sk_lookup)", n);
	return 0;
}

static void *sp_worker_main(void *arg)
{
	struct sp_engine_worker *w = arg;

	if (sp_loop_run(w->loop) < 0)
		sp_err("engine: worker %u: its loop failed", w->id);
	/* on this thread: the protocol's parse arena is its own */
	sp_engine_pre_clear(w);
	return NULL;
}

int sp_engine_workers_run(struct sp_engine *en, struct sp_error *e)
{
	sigset_t all, old;
	int rc = 0;

	/* signals are the main thread's (its signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < en->n_workers && rc == 0; i++) {
		struct sp_engine_worker *w = &en->workers[i];

		if (w->running)
			continue;
		if (pthread_create(&w->thread, NULL, sp_worker_main, w) != 0)
			rc = sp_error_set(e, "cannot start worker %u", i);
		else
			w->running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void sp_worker_stop_cb(void *arg)
{
	sp_loop_stop(arg);
}

void sp_engine_workers_join(struct sp_engine *en)
{
	for (unsigned i = 1; en && i < en->n_workers; i++) {
		struct sp_engine_worker *w = &en->workers[i];

		if (w->running) {
			/* run on its thread: it leaves its loop after that round */
			sp_loop_call_sync(w->loop, sp_worker_stop_cb, w->loop);
			pthread_join(w->thread, NULL);
			w->running = false;
		}
	}
}

void sp_engine_workers_stop(struct sp_engine *en)
{
	sp_engine_workers_join(en);
	/* one thread again: the transports and loops go without the lock */
	if (en->n_workers > 1)
		sp_loop_set_lock(en->env.loop, NULL);
	if (en->workers) {
		sp_engine_pre_clear(&en->workers[0]); /* this thread's, as worker 0 */
		for (unsigned i = 0; i < en->n_workers; i++)
			free(en->workers[i].pre);
	}
	for (unsigned i = 1; i < en->n_workers; i++) {
		struct sp_engine_worker *w = &en->workers[i];

		for (unsigned k = 0; k < SP_LISTEN_PORTS_MAX; k++)
			sp_transport_close(w->listeners[k]);
		sp_transport_destroy(w->tp);
		sp_loop_free(w->loop);
	}
	if (en->workers)
		sp_worker_leave(en);
	sp_loop_lock_free(en->lock);
	en->lock = NULL;
	free(en->workers);
	en->workers = NULL;
	en->n_workers = 0;
}

/* ---- listeners and steering ---- */

/* Worker w's listeners follow worker 0's (the ports in the same order). */
static bool sp_worker_listeners_follow(struct sp_engine *en, struct sp_engine_worker *w)
{
	struct sp_transport_conn *keep[SP_LISTEN_PORTS_MAX] = { NULL };
	bool changed = false;

	for (unsigned k = 0; k < en->n_listeners; k++) {
		uint16_t port = en->listeners[k]->local.port;

		for (unsigned i = 0; i < SP_LISTEN_PORTS_MAX; i++)
			if (w->listeners[i] && w->listeners[i]->local.port == port) {
				keep[k] = w->listeners[i];
				w->listeners[i] = NULL;
			}
		if (!keep[k]) {
			struct sp_error err = { "" };

			keep[k] = sp_transport_listen(w->tp, port, &err);
			if (!keep[k])
				sp_warn("engine: worker %u: %s", w->id, err.msg);
			changed = true;
		}
	}
	for (unsigned i = 0; i < SP_LISTEN_PORTS_MAX; i++) {
		changed |= w->listeners[i] != NULL;
		sp_transport_close(w->listeners[i]);
	}
	memcpy(w->listeners, keep, sizeof(keep));
	/* a [::] socket as worker 0's listener has one (only with an IPv6 C) */
	for (unsigned k = 0; k < en->n_listeners; k++) {
		bool v6 = sp_transport_udp_listener_fd(en->listeners[k], AF_INET6) >= 0;

		if (!keep[k] || (sp_transport_udp_listener_fd(keep[k], AF_INET6) >= 0) == v6)
			continue;
		sp_transport_listen_ipv6(keep[k], v6);
		changed = true;
	}
	return changed;
}

static void sp_workers_steer(struct sp_engine *en)
{
	static const int families[] = { AF_INET, AF_INET6 };

	KD(en, steer_reset);
	for (unsigned i = 0; i < en->n_workers; i++) {
		struct sp_transport_conn *const *ls = i ? en->workers[i].listeners : en->listeners;

		for (unsigned k = 0; k < en->n_listeners; k++)
			for (unsigned f = 0; ls[k] && f < 2; f++) {
				int fd = sp_transport_udp_listener_fd(ls[k], families[f]);
				struct sp_error err = { "" };

				if (fd >= 0 && KD(en, steer_listener, ls[k]->local.port, families[f], i, fd,
						  &err) < 0)
					sp_warn("engine: %s", err.msg);
			}
	}
}

void sp_engine_workers_listen(struct sp_engine *en)
{
	bool changed = false;

	if (en->n_workers < 2)
		return;
	for (unsigned i = 1; i < en->n_workers; i++)
		changed |= sp_worker_listeners_follow(en, &en->workers[i]);
	for (unsigned k = 0; k < en->n_listeners; k++)
		changed |= en->listeners[k] != en->steered[k] ||
			    sp_transport_udp_listener_fd(en->listeners[k], AF_INET6) != en->steered_fd6[k];
	changed |= en->n_listeners != en->n_steered;
	if (!changed)
		return;
	sp_workers_steer(en);
	memcpy(en->steered, en->listeners, sizeof(en->steered));
	for (unsigned k = 0; k < en->n_listeners; k++)
		en->steered_fd6[k] = sp_transport_udp_listener_fd(en->listeners[k], AF_INET6);
	en->n_steered = en->n_listeners;
}

/* ---- shared server-side sockets with workers ----
 *
 * Each worker's transport has its own shared sockets (sp_engine_apply
 * opens them); the sk_lookup program hands what a server sends to C:c to
 * the one of the worker owning the binding that holds c, read from the
 * port owner map written here when a binding's socket opens and closes
 * (why a map: policy-routing/bpf/sp_steer_map.h). One worker keeps the
 * TPROXY rule: the path every shared-socket test has proven, and no BPF
 * program to load where there is nothing to steer. */

void sp_engine_workers_shared(struct sp_engine *en, const struct sp_config *c)
{
	static const int families[] = { AF_INET, AF_INET6 };
	bool on = c->sp.signaling_sockets == SP_SIGSOCK_SHARED;
	const struct sp_addr *a4 = sp_sp_server_side(&c->sp, AF_INET), *a6 = sp_sp_server_side(&c->sp, AF_INET6);
	struct sp_rt_addr c4 = { 0 }, c6 = { 0 };
	struct sp_error err = { "" };

	if (en->n_workers < 2) {
		sp_transport_udp_shared_set(en->tp, on);
		return;
	}
	/* off: no more steering to the sockets about to close */
	if (!on && KD(en, steer_server, 0, 0, &c4, &c6, &err) < 0)
		sp_warn("engine: %s", err.msg);
	for (unsigned i = 0; i < en->n_workers; i++)
		sp_transport_udp_shared_set(en->workers[i].tp, on);
	if (!on)
		return;
	for (unsigned i = 0; i < en->n_workers; i++)
		for (unsigned f = 0; f < 2; f++) {
			int fd = sp_transport_udp_shared_fd(en->workers[i].tp, families[f]);

			if (fd >= 0 && KD(en, steer_listener, 0, families[f], i, fd, &err) < 0)
				sp_warn("engine: worker %u: %s", i, err.msg);
		}
	if (a4) {
		c4.family = AF_INET;
		c4.v4 = a4->u.v4;
	}
	if (a6) {
		c6.family = AF_INET6;
		c6.v6 = a6->u.v6;
	}
	if (KD(en, steer_server, c->sp.signaling_port_min, c->sp.signaling_port_max, &c4, &c6, &err) < 0)
		sp_warn("engine: %s", err.msg);
}

void sp_engine_steer_port(struct sp_engine *en, const struct sp_binding *b, bool held)
{
	struct sp_error err = { "" };

	/* written in either mode, so a switch to shared finds every entry */
	if (en->n_workers < 2 || b->transport != SP_STORE_UDP)
		return;
	if (KD(en, steer_port, b->server_side.family, b->server_side.port,
	       held ? (int)sp_engine_owner(en, b) : -1, &err) < 0)
		sp_warn("engine: %s", err.msg);
}

/* ---- who owns what ---- */

unsigned sp_engine_owner(const struct sp_engine *en, const struct sp_binding *b)
{
	/* TCP and TLS are read on worker 0 */
	if (en->n_workers < 2 || b->transport != SP_STORE_UDP)
		return 0;
	return en->kd->ops->steer_worker(en->kd, &b->terminal, en->n_workers);
}

struct sp_transport *sp_engine_owner_tp(const struct sp_engine *en, const struct sp_binding *b)
{
	return en->n_workers < 2 ? en->tp : en->workers[sp_engine_owner(en, b)].tp;
}

/* ---- the read API ---- */

unsigned sp_engine_workers(const struct sp_engine *en)
{
	return en->n_workers;
}

void sp_engine_worker_stats(struct sp_engine *en, unsigned i, struct sp_engine_worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= en->n_workers)
		return;
	*out = en->workers[i].stats;
	if (en->workers[i].loop) {
		uint64_t ns;

		sp_loop_lock_wait_stats(en->workers[i].loop, &out->lock_waits, &ns);
		out->lock_wait_us = ns / 1000;
	}
	for (struct sp_binding *b = sp_binding_first(en->table); b; b = sp_binding_next(en->table, b))
		out->bindings += sp_engine_owner(en, b) == i;
}
