/* The event loop: fd callbacks, timers, and calls from other threads. */
#include "config.h"
#include "sp_loop.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct timer_ctx {
	int fired;
	struct sp_loop_timer *t;
	int rearm;
};

static void timer_cb(struct sp_loop *loop, void *arg)
{
	struct timer_ctx *c = arg;

	c->fired++;
	if (c->rearm-- > 0)
		sp_loop_timer_arm(c->t, 1);
	else
		sp_loop_stop(loop);
}

Test(loop, timer_fires_and_rearms)
{
	struct sp_loop *loop = sp_loop_new();
	struct timer_ctx c = { .rearm = 2 };

	cr_assert_not_null(loop);
	c.t = sp_loop_timer_new(loop, timer_cb, &c);
	cr_assert_not_null(c.t);
	cr_assert_eq(sp_loop_timer_arm(c.t, 5), 0);
	cr_assert_eq(sp_loop_run(loop), 0);
	cr_assert_eq(c.fired, 3);
	sp_loop_timer_free(c.t);
	sp_loop_free(loop);
}

Test(loop, disarmed_timer_does_not_fire)
{
	struct sp_loop *loop = sp_loop_new();
	struct timer_ctx a = { 0 }, b = { 0 };

	a.t = sp_loop_timer_new(loop, timer_cb, &a);
	b.t = sp_loop_timer_new(loop, timer_cb, &b);
	sp_loop_timer_arm(a.t, 1);
	sp_loop_timer_disarm(a.t);
	sp_loop_timer_arm(b.t, 20);
	sp_loop_run(loop);
	cr_assert_eq(a.fired, 0);
	cr_assert_eq(b.fired, 1);
	sp_loop_timer_free(a.t);
	sp_loop_timer_free(b.t);
	sp_loop_free(loop);
}

struct call_ctx {
	struct sp_loop *loop;
	pthread_t loop_thread;
	int value;
	bool ran_on_loop_thread;
	int rc;
};

static void add_one(void *arg)
{
	struct call_ctx *c = arg;

	c->value++;
	c->ran_on_loop_thread = pthread_equal(pthread_self(), c->loop_thread);
}

static void stop_loop(void *arg)
{
	sp_loop_stop(((struct call_ctx *)arg)->loop);
}

static void *caller(void *arg)
{
	struct call_ctx *c = arg;

	for (int i = 0; i < 100; i++)
		if (sp_loop_call_sync(c->loop, add_one, c) < 0)
			c->rc = -1;
	sp_loop_call_sync(c->loop, stop_loop, c);
	return NULL;
}

Test(loop, call_sync_runs_on_the_loop_thread)
{
	struct call_ctx c = { .loop = sp_loop_new(), .loop_thread = pthread_self() };
	pthread_t th;

	pthread_create(&th, NULL, caller, &c);
	cr_assert_eq(sp_loop_run(c.loop), 0);
	pthread_join(th, NULL);
	cr_assert_eq(c.rc, 0);
	cr_assert_eq(c.value, 100);
	cr_assert(c.ran_on_loop_thread);
	/* once closed, calls are refused instead of waiting forever */
	sp_loop_close_calls(c.loop);
	cr_assert_eq(sp_loop_call_sync(c.loop, add_one, &c), -1);
	cr_assert_eq(c.value, 100);
	sp_loop_free(c.loop);
}

static void fd_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	char buf[8];
	int *got = arg;

	cr_assert(events & EPOLLIN);
	*got += (int)read(fd, buf, sizeof(buf));
	sp_loop_del_fd(loop, fd); /* removing itself from its callback is allowed */
	sp_loop_stop(loop);
}

Test(loop, fd_callback)
{
	struct sp_loop *loop = sp_loop_new();
	int p[2], got = 0;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(sp_loop_add_fd(loop, p[0], EPOLLIN, fd_cb, &got), 0);
	cr_assert_eq(write(p[1], "abc", 3), 3);
	sp_loop_run(loop);
	cr_assert_eq(got, 3);
	close(p[0]);
	close(p[1]);
	sp_loop_free(loop);
}

struct pair_ctx {
	int fds[2];
	int calls;
};

static void remove_both_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *c = arg;

	(void)fd;
	(void)events;
	c->calls++;
	/* the other fd is readable too and in this round's events: removed
	 * here, its callback must not run */
	sp_loop_del_fd(loop, c->fds[0]);
	sp_loop_del_fd(loop, c->fds[1]);
	sp_loop_stop(loop);
}

Test(loop, handler_removed_in_the_same_round_is_not_called)
{
	struct sp_loop *loop = sp_loop_new();
	struct pair_ctx c = { 0 };
	int p[2], q[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(q), 0);
	c.fds[0] = p[0];
	c.fds[1] = q[0];
	cr_assert_eq(sp_loop_add_fd(loop, p[0], EPOLLIN, remove_both_cb, &c), 0);
	cr_assert_eq(sp_loop_add_fd(loop, q[0], EPOLLIN, remove_both_cb, &c), 0);
	cr_assert_eq(sp_loop_add_fd(loop, q[0], EPOLLIN, remove_both_cb, &c), -1, "one handler per fd");
	cr_assert_eq(write(p[1], "a", 1), 1);
	cr_assert_eq(write(q[1], "b", 1), 1);
	sp_loop_run(loop);
	cr_assert_eq(c.calls, 1);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	sp_loop_free(loop);
}

Test(loop, many_fds)
{
	struct sp_loop *loop = sp_loop_new();
	int p[200][2], got = 0;

	/* fd numbers well past the handler table's first size */
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(pipe(p[i]), 0);
		cr_assert_eq(sp_loop_add_fd(loop, p[i][0], EPOLLIN, fd_cb, &got), 0);
	}
	for (int i = 0; i < 199; i++)
		sp_loop_del_fd(loop, p[i][0]);
	cr_assert_eq(write(p[199][1], "xyz", 3), 3);
	sp_loop_run(loop);
	cr_assert_eq(got, 3);
	for (int i = 0; i < 200; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	sp_loop_free(loop);
}

Test(loop, fd_closed_without_removal_can_be_added_again)
{
	struct sp_loop *loop = sp_loop_new();
	int p[2], q[2], got = 0;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(sp_loop_add_fd(loop, p[0], EPOLLIN, fd_cb, &got), 0);
	close(p[0]); /* epoll forgets it; the loop is not told */
	cr_assert_eq(pipe(q), 0);
	cr_assert_eq(q[0], p[0], "the lowest free fd is reused");
	cr_assert_eq(sp_loop_add_fd(loop, q[0], EPOLLIN, fd_cb, &got), 0);
	cr_assert_eq(write(q[1], "ab", 2), 2);
	sp_loop_run(loop);
	cr_assert_eq(got, 2);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	sp_loop_free(loop);
}

/* Two pipes ready in the same round: whichever callback runs first removes
 * the other one's fd and closes it, and watches a new pipe in its place
 * (which gets the closed fd's number back): the removed callback is not
 * called, though the round's events still point at its handler. */
struct reuse_ctx {
	int p[2][2];
	int calls[2];
	int fresh[2];
};

static void reuse_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg);

static void reuse_fresh_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)arg;
	cr_assert_fail("the new handler got the removed handler's event");
}

static void reuse_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct reuse_ctx *c = arg;
	int me = fd == c->p[0][0] ? 0 : 1, other = 1 - me;

	(void)events;
	c->calls[me]++;
	sp_loop_del_fd(loop, c->p[other][0]);
	close(c->p[other][0]);
	cr_assert_eq(pipe(c->fresh), 0);
	cr_assert_eq(c->fresh[0], c->p[other][0], "the fd number is reused");
	cr_assert_eq(sp_loop_add_fd(loop, c->fresh[0], EPOLLIN, reuse_fresh_cb, c), 0);
	sp_loop_stop(loop);
}

Test(loop, fd_number_reused_in_the_same_round_goes_to_the_new_handler)
{
	struct sp_loop *loop = sp_loop_new();
	struct reuse_ctx c = { 0 };

	cr_assert_eq(pipe(c.p[0]), 0);
	cr_assert_eq(pipe(c.p[1]), 0);
	cr_assert_eq(sp_loop_add_fd(loop, c.p[0][0], EPOLLIN, reuse_cb, &c), 0);
	cr_assert_eq(sp_loop_add_fd(loop, c.p[1][0], EPOLLIN, reuse_cb, &c), 0);
	cr_assert_eq(write(c.p[0][1], "a", 1), 1);
	cr_assert_eq(write(c.p[1][1], "b", 1), 1);
	sp_loop_run(loop);
	cr_assert_eq(c.calls[0] + c.calls[1], 1, "only the first callback of the round ran");
	sp_loop_free(loop);
	close(c.fresh[0]);
	close(c.fresh[1]);
	close(c.p[0][1]);
	close(c.p[1][1]);
	close(c.calls[0] ? c.p[0][0] : c.p[1][0]);
}

/* Engine workers (sp_loop_set_lock): the callbacks of two loops on two
 * threads sharing a lock never run at once, and a callback that lets the
 * lock go around a system call (sp_loop_round_unlock) has it back after. */
struct shared_ctx {
	struct sp_loop_lock *lock;
	int inside;		/* callbacks running now */
	int overlaps;		/* a callback found another running */
	unsigned long sum;	/* non-atomic: exact only under the lock */
};

struct worker_ctx {
	struct shared_ctx *sh;
	struct sp_loop *loop;
	int efd;
	int rounds;
	pthread_t th;
};

static void shared_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct worker_ctx *w = arg;

	(void)fd;
	(void)events;
	if (w->sh->inside++)
		w->sh->overlaps++;
	for (int i = 0; i < 1000; i++)
		w->sh->sum++;
	w->sh->inside--;
	/* as the UDP transport around recvmmsg: the other loop may run */
	sp_loop_round_unlock(loop);
	sp_loop_round_relock(loop);
	if (w->sh->inside++)
		w->sh->overlaps++;
	w->sh->sum++;
	w->sh->inside--;
	if (++w->rounds == 2000)
		sp_loop_stop(loop);
}

static void *shared_run(void *arg)
{
	struct worker_ctx *w = arg;

	sp_loop_run(w->loop);
	return NULL;
}

Test(loop, loops_sharing_a_lock_run_one_callback_at_a_time)
{
	struct shared_ctx sh = { .lock = sp_loop_lock_new() };
	struct worker_ctx w[2];

	cr_assert_not_null(sh.lock);
	for (int i = 0; i < 2; i++) {
		uint64_t one = 1;

		w[i] = (struct worker_ctx){ .sh = &sh, .loop = sp_loop_new() };
		cr_assert_not_null(w[i].loop);
		sp_loop_set_lock(w[i].loop, sh.lock);
		cr_assert(sp_loop_has_lock(w[i].loop));
		/* never read: readable in every round */
		w[i].efd = eventfd(0, EFD_NONBLOCK);
		cr_assert_eq(write(w[i].efd, &one, sizeof(one)), (ssize_t)sizeof(one));
		cr_assert_eq(sp_loop_add_fd(w[i].loop, w[i].efd, EPOLLIN, shared_cb, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&w[i].th, NULL, shared_run, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
	cr_assert_eq(sh.overlaps, 0);
	cr_assert_eq(sh.sum, 2UL * 2000 * 1001);
	for (int i = 0; i < 2; i++) {
		sp_loop_del_fd(w[i].loop, w[i].efd);
		close(w[i].efd);
		sp_loop_free(w[i].loop);
	}
	sp_loop_lock_free(sh.lock);
}

/* The lock's waits are counted per loop (`show statistics` per worker):
 * a loop that found the lock held counts one wait lasting at least as long
 * as the holder kept it; the holder counts none. */
struct wait_ctx {
	struct sp_loop *holder, *waiter;
	int hfd, wfd;
	int waiter_started;
	pthread_t th;
};

static void *wait_run(void *arg)
{
	struct wait_ctx *c = arg;

	__atomic_store_n(&c->waiter_started, 1, __ATOMIC_RELEASE);
	sp_loop_run(c->waiter);
	return NULL;
}

static void wait_waiter_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	sp_loop_stop(loop);
}

static void wait_holder_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct wait_ctx *c = arg;

	(void)fd;
	(void)events;
	/* holding the lock: start the other loop, whose round finds it held */
	cr_assert_eq(pthread_create(&c->th, NULL, wait_run, c), 0);
	while (!__atomic_load_n(&c->waiter_started, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(100 * 1000);
	sp_loop_stop(loop);
}

Test(loop, a_loop_counts_its_waits_for_the_shared_lock)
{
	struct sp_loop_lock *lock = sp_loop_lock_new();
	struct wait_ctx c = { 0 };
	uint64_t one = 1, waits, ns;

	cr_assert_not_null(lock);
	c.holder = sp_loop_new();
	c.waiter = sp_loop_new();
	cr_assert(c.holder && c.waiter);
	sp_loop_set_lock(c.holder, lock);
	sp_loop_set_lock(c.waiter, lock);
	c.hfd = eventfd(0, EFD_NONBLOCK);
	c.wfd = eventfd(0, EFD_NONBLOCK);
	cr_assert_eq(write(c.hfd, &one, sizeof(one)), (ssize_t)sizeof(one));
	cr_assert_eq(write(c.wfd, &one, sizeof(one)), (ssize_t)sizeof(one));
	cr_assert_eq(sp_loop_add_fd(c.holder, c.hfd, EPOLLIN, wait_holder_cb, &c), 0);
	cr_assert_eq(sp_loop_add_fd(c.waiter, c.wfd, EPOLLIN, wait_waiter_cb, &c), 0);
	sp_loop_run(c.holder);
	pthread_join(c.th, NULL);

	sp_loop_lock_wait_stats(c.holder, &waits, &ns);
	cr_assert_eq(waits, 0);
	cr_assert_eq(ns, 0);
	sp_loop_lock_wait_stats(c.waiter, &waits, &ns);
	cr_assert_eq(waits, 1);
	/* it waited from its round's start until the holder's 100 ms ended:
	 * well over half of them whatever the machine's load */
	cr_assert_geq(ns, 50u * 1000 * 1000, "waited %llu ns", (unsigned long long)ns);
	sp_loop_del_fd(c.holder, c.hfd);
	sp_loop_del_fd(c.waiter, c.wfd);
	close(c.hfd);
	close(c.wfd);
	sp_loop_free(c.holder);
	sp_loop_free(c.waiter);
	sp_loop_lock_free(lock);
}
