/* sp_access: the CLI privilege of a local peer and of a named user, from
 * the admin and read-only groups (root's group 0 stands in for both, as
 * every system has it). */
#include "config.h"
#include "sp_access.h"

#include <criterion/criterion.h>
#include <sys/socket.h>
#include <unistd.h>

Test(access, user_role_from_groups)
{
	struct sp_access_groups g;

	sp_access_groups_resolve(&g, "root", NULL);
	cr_assert(g.have_admin);
	cr_assert_not(g.have_read_only);
	cr_assert_eq(sp_access_role_of_user(&g, "root"), SP_ACCESS_ADMIN);
	sp_access_groups_resolve(&g, NULL, "root");
	cr_assert_eq(sp_access_role_of_user(&g, "root"), SP_ACCESS_READ_ONLY);
	/* admin wins over read-only */
	sp_access_groups_resolve(&g, "root", "root");
	cr_assert_eq(sp_access_role_of_user(&g, "root"), SP_ACCESS_ADMIN);
	/* a group that does not exist grants nothing; an unknown user neither */
	sp_access_groups_resolve(&g, "sp-no-such-group-x", "sp-no-such-group-y");
	cr_assert_not(g.have_admin);
	cr_assert_not(g.have_read_only);
	cr_assert_eq(sp_access_role_of_user(&g, "root"), SP_ACCESS_NONE);
	sp_access_groups_resolve(&g, "root", "root");
	cr_assert_eq(sp_access_role_of_user(&g, "sp-no-such-user-z"), SP_ACCESS_NONE);
}

Test(access, peer_of_own_user_is_admin)
{
	struct sp_access_groups g;
	int sv[2];
	uid_t uid;

	/* the daemon's own user (root in production) is always admin, even
	 * with no group configured */
	sp_access_groups_resolve(&g, "sp-no-such-group-x", "sp-no-such-group-y");
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(sp_access_role_of_peer(&g, sv[0], &uid), SP_ACCESS_ADMIN);
	cr_assert_eq(uid, geteuid());
	close(sv[0]);
	close(sv[1]);
	/* not a unix socket: no credentials, no access */
	cr_assert_eq(sp_access_role_of_peer(&g, -1, &uid), SP_ACCESS_NONE);
}

Test(access, role_names)
{
	cr_assert_str_eq(sp_access_role_name(SP_ACCESS_ADMIN), "admin");
	cr_assert_str_eq(sp_access_role_name(SP_ACCESS_READ_ONLY), "read-only");
	cr_assert_str_eq(sp_access_role_name(SP_ACCESS_NONE), "none");
}
