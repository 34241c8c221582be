/* The daemon's one event loop (epoll), with a way for other threads (CLI
 * sessions) to run a function on the loop's thread and wait for it: every
 * access to the configuration model and the engine happens on this thread. */
#ifndef SP_LOOP_H
#define SP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct sp_loop;

typedef void (*sp_loop_fd_fn)(struct sp_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*sp_loop_call_fn)(void *arg);

struct sp_loop *sp_loop_new(void);
void sp_loop_free(struct sp_loop *loop);

/* events: EPOLLIN etc. The callback stays registered until removed. */
int sp_loop_add_fd(struct sp_loop *loop, int fd, uint32_t events, sp_loop_fd_fn fn, void *arg);
int sp_loop_mod_fd(struct sp_loop *loop, int fd, uint32_t events);
void sp_loop_del_fd(struct sp_loop *loop, int fd);

/* Loops on several threads (the engine's workers) that share state: each
 * round's callbacks run holding lock, taken after the wait and released
 * before the next, so the callbacks of all loops sharing it never run at
 * once. NULL (the default): no lock. Set before sp_loop_run. */
struct sp_loop_lock;
void sp_loop_set_lock(struct sp_loop *loop, struct sp_loop_lock *lock);
struct sp_loop_lock *sp_loop_lock_new(void);
void sp_loop_lock_free(struct sp_loop_lock *lock);

/* From a callback of a loop with a lock: let the other loops run while
 * this one waits on the kernel (a system call on its own sockets), and take
 * the lock back. No-ops without a lock. */
bool sp_loop_has_lock(const struct sp_loop *loop);
void sp_loop_round_unlock(struct sp_loop *loop);
void sp_loop_round_relock(struct sp_loop *loop);
/* How many times this loop waited for its lock, and for how long in all
 * (ns); any thread may read them. */
void sp_loop_lock_wait_stats(const struct sp_loop *loop, uint64_t *waits, uint64_t *wait_ns);

/* Runs until sp_loop_stop(). Returns 0, or -1 on an epoll failure. */
int sp_loop_run(struct sp_loop *loop);
void sp_loop_stop(struct sp_loop *loop);
bool sp_loop_stopping(const struct sp_loop *loop);
/* Clear a stop so that sp_loop_run() can run again (tests and tools that
 * drive the loop until a condition holds). Events of the interrupted round
 * are level-triggered and come back. */
void sp_loop_resume(struct sp_loop *loop);

/* From any other thread: run fn(arg) on the loop thread and wait until it has
 * returned. Returns -1 without running fn when the loop is shutting down. */
int sp_loop_call_sync(struct sp_loop *loop, sp_loop_call_fn fn, void *arg);
/* Refuse every queued and future call; used at shutdown so that waiting
 * threads are released. */
void sp_loop_close_calls(struct sp_loop *loop);

/* One-shot timers (one timerfd each: the daemon has a handful of timers,
 * the per-session deadlines live in the state tables' own heap). */
struct sp_loop_timer;
typedef void (*sp_loop_timer_fn)(struct sp_loop *loop, void *arg);

struct sp_loop_timer *sp_loop_timer_new(struct sp_loop *loop, sp_loop_timer_fn fn, void *arg);
/* (Re)arms the timer to fire once after delay_ms (0: as soon as possible). */
int sp_loop_timer_arm(struct sp_loop_timer *t, uint64_t delay_ms);
void sp_loop_timer_disarm(struct sp_loop_timer *t);
void sp_loop_timer_free(struct sp_loop_timer *t);

/* Monotonic milliseconds. */
uint64_t sp_loop_now_ms(void);

#endif
