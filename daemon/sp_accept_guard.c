#include "config.h"
#include "sp_accept_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

static int sp_accept_real(int lfd)
{
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static int sp_accept_open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void sp_accept_guard_init(struct sp_accept_guard *g)
{
	g->shed = g->pauses = 0;
	g->accept_fn = sp_accept_real;
	g->open_spare = sp_accept_open_spare;
	g->close_fn = close;
	g->spare_fd = g->open_spare();
}

void sp_accept_guard_fini(struct sp_accept_guard *g)
{
	if (g->spare_fd >= 0)
		g->close_fn(g->spare_fd);
	g->spare_fd = -1;
}

enum sp_accept_verdict sp_accept_guard_failed(struct sp_accept_guard *g, int lfd, int err)
{
	int fd;

	if (err == ENOBUFS || err == ENOMEM) {
		g->pauses++; /* memory comes back by itself, not by our hand */
		return SP_ACCEPT_PAUSE;
	}
	if (err != EMFILE && err != ENFILE)
		return SP_ACCEPT_NOTHING; /* EAGAIN: nothing waits; the rest: it is gone */
	if (g->spare_fd < 0)
		g->spare_fd = g->open_spare(); /* a wait may have left room */
	if (g->spare_fd < 0) {
		g->pauses++;
		return SP_ACCEPT_PAUSE;
	}
	g->close_fn(g->spare_fd);
	fd = g->accept_fn(lfd);
	if (fd >= 0) {
		g->close_fn(fd);
		g->shed++;
	}
	/* the room may be gone to another process (ENFILE): next time */
	g->spare_fd = g->open_spare();
	if (fd >= 0)
		return SP_ACCEPT_SHED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return SP_ACCEPT_NOTHING;
	g->pauses++;
	return SP_ACCEPT_PAUSE;
}
