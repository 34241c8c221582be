/* systemd's service protocol (sd_notify): readiness once the daemon serves,
 * and a watchdog fed by the event loop, so that systemd restarts a daemon
 * whose loop hangs (WatchdogSec= in the unit). Without systemd (no
 * NOTIFY_SOCKET) every call does nothing. */
#ifndef SP_SDNOTIFY_H
#define SP_SDNOTIFY_H

struct sp_loop;
struct sp_sdnotify;

/* Tells the service manager that the daemon is up (READY=1, with the main
 * pid: after -d the process that serves is not the one started). */
void sp_sdnotify_ready(void);
/* Tells it that the daemon is shutting down (STOPPING=1). */
void sp_sdnotify_stopping(void);

/* When the manager asks for a watchdog (WATCHDOG_USEC for this pid), a
 * timer on the loop sends WATCHDOG=1 at half the interval: the pings stop
 * when the loop stops turning. Returns NULL when no watchdog is wanted or
 * on an error (logged). */
struct sp_sdnotify *sp_sdnotify_watchdog_start(struct sp_loop *loop);
void sp_sdnotify_watchdog_stop(struct sp_sdnotify *w);

#endif
