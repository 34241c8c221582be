/* The CLI server, part: login and authentication (PAM, local users, enable,
 * per-source backoff) and the timeouts of a session. */
#include "config.h"
#include "sp_cli.h"
#include "sp_cli_int.h"
#include "sp_cli_help.h"
#include "sp_access.h"
#include "sp_show_json.h"
#include "sp_cmd.h"
#include "sp_daemon.h"
#include "sp_endpoint.h"
#include "sp_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libcli.h>
#include <net/if.h>
#include <pwd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- sessions ---- */

struct sp_cli_auth_job {
	struct sp_cli_session *sess;
	const char *user;
	char *hash; /* copy of the stored hash, or NULL */
	int privilege; /* a local user's SP_USER_PRIVILEGE_* */
	bool enable;
};

static void sp_cli_auth_lookup_on_loop(void *arg)
{
	struct sp_cli_auth_job *job = arg;
	const struct sp_config *c = sp_config_store_current(job->sess->srv->d->config);

	if (job->enable) {
		job->hash = c->enable_secret_hash ? strdup(c->enable_secret_hash) : NULL;
	} else {
		const struct sp_user *u = sp_config_user_find(c, job->user);
		job->hash = u ? strdup(u->secret_hash) : NULL;
		job->privilege = u ? u->privilege : SP_USER_PRIVILEGE_NONE;
	}
}

/* Failed logins of a source (loop thread): its entry, or the oldest slot. */
struct sp_cli_backoff *sp_cli_backoff_find(struct sp_cli_server *srv,
					  const struct sp_endpoint *addr, bool create)
{
	struct sp_cli_backoff *oldest = &srv->backoff[0];

	for (size_t i = 0; i < SP_CLI_BACKOFF_SOURCES; i++) {
		struct sp_cli_backoff *b = &srv->backoff[i];

		if (b->failures && sp_endpoint_equal(&b->addr, addr))
			return b;
		if (!b->failures || (oldest->failures && b->last_ms < oldest->last_ms))
			oldest = b;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->addr = *addr;
	return oldest;
}

struct sp_cli_auth_result {
	struct sp_cli_session *sess;
	const char *user;
	bool enable, ok;
	const char *how; /* PAM logins: "PAM, admin"..., or why PAM refused */
};

/* After the check: the session's state, the source's back-off and the log
 * line, all on the loop thread. */
static void sp_cli_auth_result_on_loop(void *arg)
{
	struct sp_cli_auth_result *r = arg;
	struct sp_cli_session *sess = r->sess;
	struct sp_cli_server *srv = sess->srv;
	struct sp_endpoint src = sess->peer;
	char user[SP_LOG_ESCAPED_MAX];
	uint64_t now = sp_loop_now_ms();

	src.port = 0;
	sp_log_escape(r->enable ? sess->user : r->user, user, sizeof(user));
	if (r->ok) {
		struct sp_cli_backoff *b = sp_cli_backoff_find(srv, &src, false);

		if (b)
			memset(b, 0, sizeof(*b));
		if (r->enable) {
			sp_info("cli: user \"%s\" from %s entered enable mode", user, sess->from);
		} else {
			sess->logged_in = true;
			snprintf(sess->user, sizeof(sess->user), "%s", r->user);
			sp_info("cli: user \"%s\" logged in from %s%s%s%s", user, sess->from,
				r->how ? " (" : "", r->how ? r->how : "", r->how ? ")" : "");
		}
		return;
	}
	if (r->enable)
		sp_notice("cli: failed enable for user \"%s\" from %s", user, sess->from);
	else
		sp_notice("cli: failed login for user \"%s\" from %s%s%s%s", user, sess->from,
			  r->how ? " (" : "", r->how ? r->how : "", r->how ? ")" : "");
	if (sess->kind == SP_CLI_TCP) {
		struct sp_cli_backoff *b = sp_cli_backoff_find(srv, &src, true);

		b->last_ms = now;
		if (++b->failures % SP_CLI_MAX_LOGIN_FAILURES == 0) {
			uint64_t ms = SP_CLI_BACKOFF_FIRST_MS << (b->lockouts < 5 ? b->lockouts : 5);

			b->lockouts++;
			if (ms > SP_CLI_BACKOFF_MAX_MS)
				ms = SP_CLI_BACKOFF_MAX_MS;
			b->until_ms = now + ms;
			sp_warn("cli: %u failed logins from %s: that address is locked out for %llu s",
				b->failures, sess->from, (unsigned long long)(ms / 1000));
		}
	}
}

/* A user not configured with `username`: PAM authenticates him (TACACS+,
 * RADIUS, ... as its stack says), his groups give his privilege; in neither
 * group he is refused like a wrong password. Session thread. */
static bool sp_cli_pam_check(struct sp_cli_session *sess, const char *user, const char *pass,
			     const char **how)
{
	const struct sp_daemon_options *o = &sess->srv->d->opt;
	struct sp_error e = { { 0 } };
	static __thread char why[sizeof(e.msg)];

	if (sp_access_pam_login(o->cli_pam_service, o->cli_pam_dir, user, pass, &e) < 0) {
		snprintf(why, sizeof(why), "%s", e.msg);
		*how = why;
		return false;
	}
	sess->role = sp_access_role_of_user(&sess->srv->groups, user);
	if (sess->role == SP_ACCESS_NONE) {
		snprintf(why, sizeof(why), "PAM accepted, but in neither group %s nor %s",
			 o->cli_admin_group, o->cli_ro_group);
		*how = why;
		return false;
	}
	*how = sess->role == SP_ACCESS_ADMIN ? "PAM, admin" : "PAM, read-only";
	return true;
}

/* A local user's `privilege` gives his session's role as a PAM user's
 * groups do: 15 admin, 1 read-only; without one he stays in user EXEC and
 * `enable` asks for the enable secret, as before privileges. Session thread. */
static void sp_cli_local_user_role(struct sp_cli_session *sess, int privilege, const char **how)
{
	switch (privilege) {
	case SP_USER_PRIVILEGE_ADMIN:
		sess->role = SP_ACCESS_ADMIN;
		*how = "privilege 15";
		break;
	case SP_USER_PRIVILEGE_READ_ONLY:
		sess->role = SP_ACCESS_READ_ONLY;
		*how = "privilege 1, read-only";
		break;
	default:
		sess->role = SP_ACCESS_NONE;
		break;
	}
}

static int sp_cli_check_credentials(const char *user, const char *pass, bool enable)
{
	struct sp_cli_session *sess = sp_cli_current;
	struct sp_cli_auth_job job = { .sess = sess, .user = user, .enable = enable };
	struct sp_cli_auth_result res = { .sess = sess, .user = user, .enable = enable };

	if (!sess || sp_loop_call_sync(sess->srv->d->loop, sp_cli_auth_lookup_on_loop, &job) < 0)
		return CLI_ERROR;
	/* crypt and PAM run here, in the session's thread, not on the event loop */
	if (job.hash) {
		res.ok = sp_cmd_check_secret(pass, job.hash);
		if (res.ok && !enable)
			sp_cli_local_user_role(sess, job.privilege, &res.how);
	} else if (!enable && sess->srv->d->opt.cli_pam_service)
		res.ok = sp_cli_pam_check(sess, user, pass, &res.how);
	free(job.hash);
	if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_auth_result_on_loop, &res) < 0)
		return CLI_ERROR;
	if (res.ok) {
		atomic_store(&sess->last_ms, sp_loop_now_ms());
		return CLI_OK;
	}
	usleep(SP_CLI_LOGIN_DELAY_US); /* slows password guessing; only this session waits */
	/* failed enable secrets count too: a user login is no licence to
	 * guess the enable secret */
	if (++sess->failures >= SP_CLI_MAX_LOGIN_FAILURES) {
		/* libcli would ask again forever: end the connection here (its
		 * loop then sees the end of input and ends the session) */
		static const char msg[] = "\r\n% Too many failed logins: disconnected\r\n";

		sp_notice("cli: %u failed logins or enables on one connection from %s: disconnected",
			  sess->failures, sess->from);
		if (write(sess->fd, msg, sizeof(msg) - 1) < 0) { /* best effort */ }
		shutdown(sess->fd, SHUT_RDWR);
	}
	return CLI_ERROR;
}

struct sp_cli_timeouts {
	struct sp_cli_session *sess;
	uint32_t login, exec;
};

static void sp_cli_timeouts_on_loop(void *arg)
{
	struct sp_cli_timeouts *t = arg;
	const struct sp_config *c = sp_config_store_current(t->sess->srv->d->config);

	t->login = c->cli.login_timeout;
	t->exec = c->cli.exec_timeout;
}

/* libcli's idle timeout, from `cli exec-timeout` (read when the session
 * starts or logs in; 0: never). */
void sp_cli_apply_exec_timeout(struct sp_cli_session *sess)
{
	struct sp_cli_timeouts t = { .sess = sess };

	if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_timeouts_on_loop, &t) == 0)
		cli_set_idle_timeout(sess->cli, t.exec);
}

static int sp_cli_enable_refused_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	(void)command;
	(void)argv;
	(void)argc;
	cli_error(cli, "%% Read-only access: enable is not allowed for %s", sess->user);
	return CLI_ERROR;
}

/* A read-only session: user EXEC for good; `enable` answers that it is
 * refused instead of asking for a secret. Session thread. */
void sp_cli_make_read_only(struct sp_cli_session *sess)
{
	cli_set_privilege(sess->cli, SP_CLI_PRIV_READ_ONLY);
	cli_unregister_command(sess->cli, "enable");
	cli_register_command(sess->cli, NULL, "enable", sp_cli_enable_refused_cb,
			     PRIVILEGE_UNPRIVILEGED, MODE_EXEC, "Not allowed: read-only access");
}

int sp_cli_auth_cb(const char *user, const char *pass)
{
	int rc = sp_cli_check_credentials(user, pass, false);
	struct sp_cli_session *sess = sp_cli_current;

	if (rc == CLI_OK) {
		sp_cli_apply_exec_timeout(sess);
		/* PAM users start at their group's privilege, local users at
		 * their `privilege`; local users without one in user EXEC,
		 * `enable` with the enable secret as before */
		if (sess->role == SP_ACCESS_ADMIN)
			cli_set_privilege(sess->cli, PRIVILEGE_PRIVILEGED);
		else if (sess->role == SP_ACCESS_READ_ONLY)
			sp_cli_make_read_only(sess);
	}
	return rc;
}

/* libcli wants non-zero here for "allowed" (unlike the auth callback) */
int sp_cli_enable_cb(const char *pass)
{
	return sp_cli_check_credentials(NULL, pass, true) == CLI_OK;
}

void sp_cli_session_reap_on_loop(void *arg)
{
	struct sp_cli_session *sess = arg, **pp;
	struct sp_cli_server *srv = sess->srv;

	for (pp = &srv->sessions; *pp; pp = &(*pp)->next)
		if (*pp == sess) {
			*pp = sess->next;
			if (sess->kind == SP_CLI_TCP)
				srv->n_tcp--;
			else
				srv->n_unix--;
			if (sess->kind == SP_CLI_TCP)
				sp_info("cli: session %u from %s ended", sess->line, sess->from);
			pthread_detach(sess->thread);
			break;
		}
}

ssize_t sp_cli_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (ssize_t)n : -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (ssize_t)n;
		}
		n++;
	}
	return -1;
}
