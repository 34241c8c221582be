#include "sp_sdnotify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "sp_log.h"
#include "sp_loop.h"

struct sp_sdnotify {
	struct sp_loop_timer *timer;
	uint64_t interval_ms;
};

static void sp_sdnotify_send(const char *state)
{
	int rc = sd_notifyf(0, "%s\nMAINPID=%lu", state, (unsigned long)getpid());

	if (rc < 0)
		sp_warn("sd_notify %s: %s", state, strerror(-rc));
}

void sp_sdnotify_ready(void)
{
	sp_sdnotify_send("READY=1\nSTATUS=serving");
}

void sp_sdnotify_stopping(void)
{
	sp_sdnotify_send("STOPPING=1");
}

/* Fires only when the loop runs its timers: a loop stuck in one callback
 * (or a stopped process) sends nothing and the manager restarts it. */
static void sp_sdnotify_watchdog_cb(struct sp_loop *loop, void *arg)
{
	struct sp_sdnotify *w = arg;

	(void)loop;
	sd_notify(0, "WATCHDOG=1");
	sp_loop_timer_arm(w->timer, w->interval_ms);
}

struct sp_sdnotify *sp_sdnotify_watchdog_start(struct sp_loop *loop)
{
	uint64_t usec = 0;
	struct sp_sdnotify *w;
	int rc = sd_watchdog_enabled(0, &usec);

	if (rc <= 0) {
		if (rc < 0)
			sp_warn("watchdog: %s: not fed", strerror(-rc));
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	/* half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms */
	w->interval_ms = usec / 2000 ? usec / 2000 : 1;
	w->timer = sp_loop_timer_new(loop, sp_sdnotify_watchdog_cb, w);
	if (!w->timer || sp_loop_timer_arm(w->timer, 0) < 0) {
		sp_warn("watchdog: cannot arm its timer: not fed");
		sp_sdnotify_watchdog_stop(w);
		return NULL;
	}
	sp_info("watchdog: fed every %llu ms", (unsigned long long)w->interval_ms);
	return w;
}

void sp_sdnotify_watchdog_stop(struct sp_sdnotify *w)
{
	if (!w)
		return;
	if (w->timer)
		sp_loop_timer_free(w->timer);
	free(w);
}
