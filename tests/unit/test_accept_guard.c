/* sp_accept_guard: what a listener does when accept() fails for want of
 * descriptors, against a fake kernel (no limit of the machine's is
 * touched: fs.file-max is shared with everyone). The point: after ENFILE
 * or EMFILE the listener is either relieved of the waiting connection
 * (shed, with the spare descriptor) or told to wait; never left to be
 * polled again at once with the connection still waiting (a spin). */
#include <criterion/criterion.h>
#include <errno.h>

#include "sp_accept_guard.h"

static int accepts, accept_errno, opens, open_errno, closes, last_closed;
static int next_fd = 100;

static int fake_accept(int lfd)
{
	(void)lfd;
	accepts++;
	if (accept_errno) {
		errno = accept_errno;
		return -1;
	}
	return next_fd++;
}

static int fake_open(void)
{
	opens++;
	if (open_errno) {
		errno = open_errno;
		return -1;
	}
	return next_fd++;
}

static int fake_close(int fd)
{
	closes++;
	last_closed = fd;
	return 0;
}

static struct sp_accept_guard g;

static void setup(void)
{
	accepts = accept_errno = opens = open_errno = closes = last_closed = 0;
	sp_accept_guard_init(&g);
	sp_accept_guard_fini(&g); /* the real spare back */
	g.accept_fn = fake_accept;
	g.open_spare = fake_open;
	g.close_fn = fake_close;
	g.spare_fd = fake_open();
	opens = 0;
}

TestSuite(accept_guard, .init = setup);

Test(accept_guard, enfile_with_a_spare_sheds_the_waiting_connection_and_keeps_a_spare)
{
	int spare = g.spare_fd;

	cr_assert_eq(sp_accept_guard_failed(&g, 3, ENFILE), SP_ACCEPT_SHED);
	cr_assert_eq(accepts, 1, "one accept with the spare's room, no loop");
	cr_assert_eq(closes, 2, "the spare, then the connection");
	cr_assert_neq(last_closed, spare);
	cr_assert_eq(g.shed, 1);
	cr_assert_geq(g.spare_fd, 0, "a spare again");
	cr_assert_eq(opens, 1);
}

Test(accept_guard, emfile_takes_the_same_way)
{
	cr_assert_eq(sp_accept_guard_failed(&g, 3, EMFILE), SP_ACCEPT_SHED);
	cr_assert_eq(accepts, 1);
	cr_assert_eq(g.shed, 1);
}

Test(accept_guard, enfile_when_the_spares_room_went_elsewhere_waits)
{
	/* the system table is full for everyone: the room the spare left is
	 * taken by another process before our accept */
	accept_errno = ENFILE;
	cr_assert_eq(sp_accept_guard_failed(&g, 3, ENFILE), SP_ACCEPT_PAUSE);
	cr_assert_eq(accepts, 1, "tried once, not in a loop");
	cr_assert_eq(g.pauses, 1);
	cr_assert_eq(g.shed, 0);
}

Test(accept_guard, enfile_without_a_spare_waits_without_accepting)
{
	/* the spare could not be opened again last time */
	g.spare_fd = -1;
	open_errno = ENFILE;
	accept_errno = ENFILE;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(sp_accept_guard_failed(&g, 3, ENFILE), SP_ACCEPT_PAUSE);
	cr_assert_eq(accepts, 0, "no accept without room of its own");
	cr_assert_eq(g.pauses, 3);
	/* after the wait there is room: the spare comes back first */
	open_errno = 0;
	accept_errno = 0;
	cr_assert_eq(sp_accept_guard_failed(&g, 3, ENFILE), SP_ACCEPT_SHED);
	cr_assert_eq(accepts, 1);
	cr_assert_geq(g.spare_fd, 0);
}

Test(accept_guard, out_of_memory_waits)
{
	cr_assert_eq(sp_accept_guard_failed(&g, 3, ENOBUFS), SP_ACCEPT_PAUSE);
	cr_assert_eq(sp_accept_guard_failed(&g, 3, ENOMEM), SP_ACCEPT_PAUSE);
	cr_assert_eq(accepts, 0);
}

Test(accept_guard, nothing_waiting_or_a_connection_gone_is_nothing_to_do)
{
	cr_assert_eq(sp_accept_guard_failed(&g, 3, EAGAIN), SP_ACCEPT_NOTHING);
	cr_assert_eq(sp_accept_guard_failed(&g, 3, ECONNABORTED), SP_ACCEPT_NOTHING);
	cr_assert_eq(accepts + closes + opens, 0);
}
