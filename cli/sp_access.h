/* Who may use the CLI, and with which privilege: read-only (user EXEC, the
 * show commands) or admin (privileged EXEC and configuration).
 *  - On the unix socket, the peer's kernel credentials decide (SO_PEERCRED,
 *    SO_PEERGROUPS): root and members of the admin group are admin, members
 *    of the read-only group read-only, anyone else is refused. This is what
 *    makes `sigproxy-cli` usable as an SSH forced command or login shell.
 *  - Over TCP, a user PAM authenticates (TACACS+, RADIUS, local accounts:
 *    whatever the PAM service's stack says) gets the privilege of his
 *    groups the same way. */
#ifndef SP_ACCESS_H
#define SP_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sp_error.h"

enum sp_access_role {
	SP_ACCESS_NONE,
	SP_ACCESS_READ_ONLY,
	SP_ACCESS_ADMIN,
};

#define SP_ACCESS_DEFAULT_ADMIN_GROUP "sigproxy"
#define SP_ACCESS_DEFAULT_RO_GROUP "sigproxy-ro"

/* The two groups, resolved once at start (NSS lookups may block, and the
 * decisions are made on the event loop). A group that does not exist
 * grants nothing. */
struct sp_access_groups {
	gid_t admin, read_only;
	bool have_admin, have_read_only;
};

void sp_access_groups_resolve(struct sp_access_groups *g, const char *admin_name,
			      const char *ro_name);

/* The role of the process at the other end of a connected unix socket, and
 * its uid. No NSS lookup: the kernel's credentials only. */
enum sp_access_role sp_access_role_of_peer(const struct sp_access_groups *g, int fd, uid_t *uid);

/* The role of a user by name, from his groups (NSS: may block; not on the
 * event loop). */
enum sp_access_role sp_access_role_of_user(const struct sp_access_groups *g, const char *user);

const char *sp_access_role_name(enum sp_access_role r);

/* Authenticates `user` with `pass` through PAM service `service` (its file
 * read from `confdir`, or from /etc/pam.d when NULL), then its account
 * management (expired, locked...). 0 when both succeed; else -1 with the
 * PAM error in `e` (for the log, not for the user). Blocks: session thread. */
int sp_access_pam_login(const char *service, const char *confdir, const char *user,
			const char *pass, struct sp_error *e);

#endif
