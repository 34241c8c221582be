/* What a listener does when accept() fails for want of descriptors
 * (EMFILE: the process's limit; ENFILE: the system's) or memory
 * (ENOBUFS, ENOMEM). The waiting connection stays in the backlog, so a
 * level-triggered listener would wake the loop again at once, forever:
 * instead a spare descriptor, kept for this moment, is closed, the
 * connection taken with the room it leaves and closed (shed, counted), and
 * the spare opened again; when that cannot be done (no spare, or the room
 * went to another process first: ENFILE is shared), the listener must wait
 * SP_ACCEPT_PAUSE_MS before it is polled again. The system calls are the
 * guard's, so a test can play the kernel. */
#ifndef SP_ACCEPT_GUARD_H
#define SP_ACCEPT_GUARD_H

#include <stdint.h>

#define SP_ACCEPT_PAUSE_MS 100

struct sp_accept_guard {
	int spare_fd;		/* -1: none held */
	uint64_t shed;		/* connections taken with the spare and closed */
	uint64_t pauses;	/* times a listener had to wait */
	/* accept4 / open of the spare / close; the real ones by default */
	int (*accept_fn)(int lfd);
	int (*open_spare)(void);
	int (*close_fn)(int fd);
};

enum sp_accept_verdict {
	SP_ACCEPT_NOTHING,	/* nothing waits, or that connection is gone */
	SP_ACCEPT_SHED,		/* the waiting connection was closed: poll on */
	SP_ACCEPT_PAUSE,	/* do not poll the listener for SP_ACCEPT_PAUSE_MS */
};

/* With the real system calls and a spare opened (if it can be). */
void sp_accept_guard_init(struct sp_accept_guard *g);
void sp_accept_guard_fini(struct sp_accept_guard *g);
/* accept() on lfd failed with err: what the listener does next. */
enum sp_accept_verdict sp_accept_guard_failed(struct sp_accept_guard *g, int lfd, int err);

#endif
