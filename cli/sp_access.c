#include "config.h"
#include "sp_access.h"

#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SP_ACCESS_MAX_GROUPS 256

void sp_access_groups_resolve(struct sp_access_groups *g, const char *admin_name,
			      const char *ro_name)
{
	struct group *gr;

	memset(g, 0, sizeof(*g));
	if (admin_name && (gr = getgrnam(admin_name))) {
		g->admin = gr->gr_gid;
		g->have_admin = true;
	}
	if (ro_name && (gr = getgrnam(ro_name))) {
		g->read_only = gr->gr_gid;
		g->have_read_only = true;
	}
}

/* The highest role any of the gids gives. */
static enum sp_access_role sp_access_role_of_gids(const struct sp_access_groups *g,
						  const gid_t *gids, size_t n)
{
	enum sp_access_role r = SP_ACCESS_NONE;

	for (size_t i = 0; i < n; i++) {
		if (g->have_admin && gids[i] == g->admin)
			return SP_ACCESS_ADMIN;
		if (g->have_read_only && gids[i] == g->read_only)
			r = SP_ACCESS_READ_ONLY;
	}
	return r;
}

enum sp_access_role sp_access_role_of_peer(const struct sp_access_groups *g, int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t gids[SP_ACCESS_MAX_GROUPS + 1];
	enum sp_access_role r;

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return SP_ACCESS_NONE;
	*uid = cred.uid;
	/* root, and the daemon's own user (tests, an unprivileged daemon) */
	if (cred.uid == 0 || cred.uid == geteuid())
		return SP_ACCESS_ADMIN;
	gids[0] = cred.gid;
	r = sp_access_role_of_gids(g, gids, 1);
	if (r == SP_ACCESS_ADMIN)
		return r;
	/* the supplementary groups the peer had when it connected */
	len = (socklen_t)(SP_ACCESS_MAX_GROUPS * sizeof(gid_t));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids + 1, &len) == 0) {
		enum sp_access_role s = sp_access_role_of_gids(g, gids + 1, len / sizeof(gid_t));

		if (s > r)
			r = s;
	}
	return r;
}

enum sp_access_role sp_access_role_of_user(const struct sp_access_groups *g, const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t gids[SP_ACCESS_MAX_GROUPS];
	int n = SP_ACCESS_MAX_GROUPS;

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return SP_ACCESS_NONE;
	if (getgrouplist(user, pw.pw_gid, gids, &n) < 0)
		n = SP_ACCESS_MAX_GROUPS; /* the first ones fitted */
	return sp_access_role_of_gids(g, gids, (size_t)n);
}

const char *sp_access_role_name(enum sp_access_role r)
{
	switch (r) {
	case SP_ACCESS_ADMIN: return "admin";
	case SP_ACCESS_READ_ONLY: return "read-only";
	case SP_ACCESS_NONE: break;
	}
	return "none";
}

/* The conversation: the password for every hidden prompt, the user name for
 * a visible one (libcli has already asked both), nothing for messages. */
static int sp_access_pam_conv(int n, const struct pam_message **msg, struct pam_response **resp,
			      void *data)
{
	const char *const *cred = data; /* { user, pass } */
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *answer = NULL;

		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			answer = cred[1];
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			answer = cred[0];
		if (answer && !(r[i].resp = strdup(answer))) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void sp_access_pam_no_delay(int status, unsigned usec, void *data)
{
	(void)status;
	(void)usec;
	(void)data;
}

int sp_access_pam_login(const char *service, const char *confdir, const char *user,
			const char *pass, struct sp_error *e)
{
	const char *cred[2] = { user, pass };
	struct pam_conv conv = { sp_access_pam_conv, (void *)cred };
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return sp_error_set(e, "PAM start (service %s): %s", service,
				    pamh ? pam_strerror(pamh, rc) : "failed");
	/* the daemon delays failures itself (per session, with back-off): no
	 * module's delay on top of it */
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)sp_access_pam_no_delay);
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		sp_error_set(e, "PAM: %s", pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
}
