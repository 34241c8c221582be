#include "config.h"
#include "sp_loop.h"
#include "sp_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SP_LOOP_MAX_EVENTS 64

struct sp_loop_handler {
	int fd;
	sp_loop_fd_fn fn;       /* NULL once removed */
	void *arg;
	struct sp_loop_handler *next; /* in the retired list */
};

struct sp_loop_call {
	sp_loop_call_fn fn;
	void *arg;
	bool done;
	bool refused;
	struct sp_loop_call *next;
};

struct sp_loop {
	int epfd;
	int wakefd; /* eventfd: a call was queued */
	bool stop;
	/* Handlers by fd: O(1) add, remove and dispatch whatever the number
	 * of binding sockets (the list walked per event was O(bindings)). */
	struct sp_loop_handler **by_fd;
	int by_fd_cap;
	/* Removed handlers, freed after the round: the event array of the
	 * round may still point at them (a callback removing another fd). */
	struct sp_loop_handler *retired;
	pthread_mutex_t lock; /* guards the call queue and calls_closed */
	pthread_cond_t done_cond;
	struct sp_loop_call *calls_head, **calls_tail;
	bool calls_closed;
	struct sp_loop_lock *round_lock; /* NULL: none (sp_loop_set_lock) */
	/* how often and how long this loop waited for round_lock: written by
	 * the loop's own thread, read by others (relaxed atomics) */
	uint64_t lock_waits, lock_wait_ns;
};

/* A fair lock: taken in the order it was asked for (tickets). A plain
 * mutex let the worker that had just released it take it straight back
 * while the woken one waited for a CPU: on a loaded machine a worker's
 * terminals then waited hundreds of milliseconds (bench/avalanche's
 * REGISTERs were retransmitted). */
struct sp_loop_lock {
	pthread_mutex_t m;
	pthread_cond_t turn;
	uint64_t next, serving;
	unsigned waiting;
};

struct sp_loop_lock *sp_loop_lock_new(void)
{
	struct sp_loop_lock *l = calloc(1, sizeof(*l));

	if (l) {
		pthread_mutex_init(&l->m, NULL);
		pthread_cond_init(&l->turn, NULL);
	}
	return l;
}

void sp_loop_lock_free(struct sp_loop_lock *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->m);
	pthread_cond_destroy(&l->turn);
	free(l);
}

/* Returns how long the caller waited for its turn, in ns (0: none): the
 * clock is read only when it has to wait, so the uncontended take costs
 * nothing more. */
static uint64_t sp_loop_lock_take(struct sp_loop_lock *l)
{
	uint64_t ticket, waited = 0;
	struct timespec t0, t1;

	pthread_mutex_lock(&l->m);
	ticket = l->next++;
	if (ticket != l->serving) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		l->waiting++;
		while (ticket != l->serving)
			pthread_cond_wait(&l->turn, &l->m);
		l->waiting--;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		if (!waited)
			waited = 1;
	}
	pthread_mutex_unlock(&l->m);
	return waited;
}

/* Takes the loop's lock, counting a wait (HACKING.md "N engine workers":
 * the workers' one lock is what limits their scaling; an operator sees
 * what it costs per worker in `show statistics`). */
static void sp_loop_lock_take_counted(struct sp_loop *loop)
{
	uint64_t waited = sp_loop_lock_take(loop->round_lock);

	if (!waited)
		return;
	__atomic_store_n(&loop->lock_waits, loop->lock_waits + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&loop->lock_wait_ns, loop->lock_wait_ns + waited, __ATOMIC_RELAXED);
}

void sp_loop_lock_wait_stats(const struct sp_loop *loop, uint64_t *waits, uint64_t *wait_ns)
{
	*waits = __atomic_load_n(&loop->lock_waits, __ATOMIC_RELAXED);
	*wait_ns = __atomic_load_n(&loop->lock_wait_ns, __ATOMIC_RELAXED);
}

static void sp_loop_lock_give(struct sp_loop_lock *l)
{
	pthread_mutex_lock(&l->m);
	l->serving++;
	if (l->waiting)
		pthread_cond_broadcast(&l->turn);
	pthread_mutex_unlock(&l->m);
}

void sp_loop_set_lock(struct sp_loop *loop, struct sp_loop_lock *lock)
{
	loop->round_lock = lock;
}

bool sp_loop_has_lock(const struct sp_loop *loop)
{
	return loop->round_lock != NULL;
}

void sp_loop_round_unlock(struct sp_loop *loop)
{
	if (loop->round_lock)
		sp_loop_lock_give(loop->round_lock);
}

void sp_loop_round_relock(struct sp_loop *loop)
{
	if (loop->round_lock)
		sp_loop_lock_take_counted(loop);
}

uint64_t sp_loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sp_loop_run_calls(struct sp_loop *loop)
{
	struct sp_loop_call *c;
	uint64_t v;

	if (read(loop->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sp_warn("loop: eventfd read: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&loop->lock);
		c = loop->calls_head;
		if (c) {
			loop->calls_head = c->next;
			if (!loop->calls_head)
				loop->calls_tail = &loop->calls_head;
		}
		pthread_mutex_unlock(&loop->lock);
		if (!c)
			break;
		c->fn(c->arg);
		pthread_mutex_lock(&loop->lock);
		c->done = true;
		pthread_cond_broadcast(&loop->done_cond);
		pthread_mutex_unlock(&loop->lock);
	}
}

static void sp_loop_wake_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	sp_loop_run_calls(loop);
}

struct sp_loop *sp_loop_new(void)
{
	struct sp_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->done_cond, NULL);
	loop->calls_tail = &loop->calls_head;
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    sp_loop_add_fd(loop, loop->wakefd, EPOLLIN, sp_loop_wake_cb, NULL) < 0) {
		sp_loop_free(loop);
		return NULL;
	}
	return loop;
}

static void sp_loop_free_retired(struct sp_loop *loop)
{
	struct sp_loop_handler *h, *next;

	for (h = loop->retired; h; h = next) {
		next = h->next;
		free(h);
	}
	loop->retired = NULL;
}

void sp_loop_free(struct sp_loop *loop)
{
	if (!loop)
		return;
	for (int fd = 0; fd < loop->by_fd_cap; fd++)
		free(loop->by_fd[fd]);
	free(loop->by_fd);
	sp_loop_free_retired(loop);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	pthread_cond_destroy(&loop->done_cond);
	free(loop);
}

static struct sp_loop_handler *sp_loop_find(struct sp_loop *loop, int fd)
{
	return fd >= 0 && fd < loop->by_fd_cap ? loop->by_fd[fd] : NULL;
}

int sp_loop_add_fd(struct sp_loop *loop, int fd, uint32_t events, sp_loop_fd_fn fn, void *arg)
{
	struct sp_loop_handler *h;
	struct epoll_event ev = { .events = events };

	if (fd < 0)
		return -1;
	if (fd >= loop->by_fd_cap) {
		int cap = loop->by_fd_cap ? loop->by_fd_cap : 64;
		struct sp_loop_handler **n;

		while (cap <= fd)
			cap *= 2;
		n = realloc(loop->by_fd, (size_t)cap * sizeof(*n));
		if (!n)
			return -1;
		memset(n + loop->by_fd_cap, 0, (size_t)(cap - loop->by_fd_cap) * sizeof(*n));
		loop->by_fd = n;
		loop->by_fd_cap = cap;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h->fd = fd;
	h->fn = fn;
	h->arg = arg;
	ev.data.ptr = h;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(h);
		return -1;
	}
	if (loop->by_fd[fd]) {
		/* epoll took it, so the fd was closed without sp_loop_del_fd()
		 * and its number reused: the old handler is stale */
		loop->by_fd[fd]->fn = NULL;
		loop->by_fd[fd]->next = loop->retired;
		loop->retired = loop->by_fd[fd];
	}
	loop->by_fd[fd] = h;
	return 0;
}

int sp_loop_mod_fd(struct sp_loop *loop, int fd, uint32_t events)
{
	struct sp_loop_handler *h = sp_loop_find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!h)
		return -1;
	ev.data.ptr = h;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void sp_loop_del_fd(struct sp_loop *loop, int fd)
{
	struct sp_loop_handler *h = sp_loop_find(loop, fd);

	if (!h)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->by_fd[fd] = NULL;
	/* A handler may delete itself (or another) from within a callback:
	 * the event array of this round can still point at it, so it is
	 * retired, its callback pointing at nothing, and freed after the
	 * round. */
	h->fn = NULL;
	h->next = loop->retired;
	loop->retired = h;
}

int sp_loop_run(struct sp_loop *loop)
{
	struct epoll_event evs[SP_LOOP_MAX_EVENTS];

	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, SP_LOOP_MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			sp_err("loop: epoll_wait: %s", strerror(errno));
			return -1;
		}
		/* another loop's callback may have removed a handler of this
		 * one meanwhile: it is retired (fn NULL), freed below */
		if (loop->round_lock)
			sp_loop_lock_take_counted(loop);
		for (int i = 0; i < n && !loop->stop; i++) {
			struct sp_loop_handler *h = evs[i].data.ptr;

			/* NULL: removed earlier in this same round */
			if (h->fn)
				h->fn(loop, h->fd, evs[i].events, h->arg);
		}
		sp_loop_free_retired(loop);
		if (loop->round_lock)
			sp_loop_lock_give(loop->round_lock);
	}
	return 0;
}

void sp_loop_stop(struct sp_loop *loop)
{
	loop->stop = true;
}

void sp_loop_resume(struct sp_loop *loop)
{
	loop->stop = false;
}

bool sp_loop_stopping(const struct sp_loop *loop)
{
	return loop->stop;
}

int sp_loop_call_sync(struct sp_loop *loop, sp_loop_call_fn fn, void *arg)
{
	struct sp_loop_call call = { .fn = fn, .arg = arg };
	uint64_t one = 1;
	int rc = 0;

	pthread_mutex_lock(&loop->lock);
	if (loop->calls_closed) {
		pthread_mutex_unlock(&loop->lock);
		return -1;
	}
	*loop->calls_tail = &call;
	loop->calls_tail = &call.next;
	pthread_mutex_unlock(&loop->lock);
	if (write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sp_warn("loop: eventfd write: %s", strerror(errno));
	pthread_mutex_lock(&loop->lock);
	while (!call.done)
		pthread_cond_wait(&loop->done_cond, &loop->lock);
	if (call.refused)
		rc = -1;
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

void sp_loop_close_calls(struct sp_loop *loop)
{
	struct sp_loop_call *c;

	pthread_mutex_lock(&loop->lock);
	loop->calls_closed = true;
	for (c = loop->calls_head; c; c = c->next) {
		c->done = true;
		c->refused = true;
	}
	loop->calls_head = NULL;
	loop->calls_tail = &loop->calls_head;
	pthread_cond_broadcast(&loop->done_cond);
	pthread_mutex_unlock(&loop->lock);
}

struct sp_loop_timer {
	struct sp_loop *loop;
	int fd;
	sp_loop_timer_fn fn;
	void *arg;
};

static void sp_loop_timer_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_loop_timer *t = arg;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return; /* disarmed after it fired: nothing to do */
	t->fn(loop, t->arg);
}

struct sp_loop_timer *sp_loop_timer_new(struct sp_loop *loop, sp_loop_timer_fn fn, void *arg)
{
	struct sp_loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->fn = fn;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || sp_loop_add_fd(loop, t->fd, EPOLLIN, sp_loop_timer_cb, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

int sp_loop_timer_arm(struct sp_loop_timer *t, uint64_t delay_ms)
{
	struct itimerspec its = { 0 };

	if (delay_ms == 0)
		delay_ms = 1; /* zero would disarm */
	its.it_value.tv_sec = (time_t)(delay_ms / 1000);
	its.it_value.tv_nsec = (long)(delay_ms % 1000) * 1000000L;
	return timerfd_settime(t->fd, 0, &its, NULL);
}

void sp_loop_timer_disarm(struct sp_loop_timer *t)
{
	struct itimerspec its = { 0 };

	timerfd_settime(t->fd, 0, &its, NULL);
}

void sp_loop_timer_free(struct sp_loop_timer *t)
{
	if (!t)
		return;
	sp_loop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}
