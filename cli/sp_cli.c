#include "config.h"
#include "sp_cli.h"
#include "sp_json.h"
#include "sp_cli_int.h"
#include "sp_io.h"
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

/* declared in sp_cli_int.h */
__thread struct sp_cli_session *sp_cli_current;

/* ---- line ends over TCP ----
 * libcli ends a line at CR only and drops LF, so a client that sends LF
 * alone (plain nc) never ends one. TCP sessions therefore run libcli on one
 * end of a socketpair; this pump copies between it and the connection and
 * turns a LF that does not follow a CR into a CR. The peer's end of input
 * (or the server shutting the connection) is passed on as end of file;
 * the pump ends when libcli's loop has returned (it closes its end) and its
 * output is out, or when the connection fails. */
struct sp_cli_pump {
	int net;   /* the TCP connection */
	int local; /* our end of the socketpair */
};

static void *sp_cli_pump_thread(void *arg)
{
	struct sp_cli_pump *p = arg;
	struct pollfd pfd[2] = { { .fd = p->net, .events = POLLIN }, { .fd = p->local, .events = POLLIN } };
	char buf[4096];
	bool after_cr = false;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].fd >= 0 && pfd[0].revents) {
			ssize_t r = read(p->net, buf, sizeof(buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				/* the peer is done sending (nc at the end of its input):
				 * libcli runs what it has, then reads end of file; its
				 * output still goes out */
				shutdown(p->local, SHUT_WR);
				pfd[0].fd = -1;
				continue;
			}
			for (ssize_t i = 0; i < r; i++) {
				bool lf = buf[i] == '\n';

				if (lf && !after_cr)
					buf[i] = '\r';
				after_cr = !lf && buf[i] == '\r';
			}
			if (sp_write_all(p->local, buf, (size_t)r) < 0)
				break;
		}
		if (pfd[1].revents) {
			ssize_t r = read(p->local, buf, sizeof(buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || sp_write_all(p->net, buf, (size_t)r) < 0)
				break;
		}
	}
	shutdown(p->local, SHUT_RDWR); /* libcli reads end of file */
	return NULL;
}

/* Runs libcli's loop for a TCP session through the pump (directly on the
 * connection if the pump cannot be set up). */
static void sp_cli_tcp_loop(struct sp_cli_session *sess)
{
	int pair[2];
	struct sp_cli_pump pump;
	pthread_t th;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		cli_loop(sess->cli, sess->fd);
		return;
	}
	pump.net = sess->fd;
	pump.local = pair[0];
	if (pthread_create(&th, NULL, sp_cli_pump_thread, &pump) != 0) {
		close(pair[0]);
		close(pair[1]);
		cli_loop(sess->cli, sess->fd);
		return;
	}
	sess->io_fd = pair[1];
	cli_loop(sess->cli, pair[1]);
	/* cli_loop() closes the descriptor it was given (it fclose()s its
	 * unbuffered FILE on it): everything it wrote is in the socket, and the
	 * pump copies it out, then reads end of file and ends */
	pthread_join(th, NULL);
	sess->io_fd = sess->fd;
	close(pair[0]);
}

/* cli_loop() closes the descriptor it is given; the session's own is
 * closed once, when the session is freed, so libcli gets a duplicate (a
 * second close of a number another thread may have reused meanwhile would
 * close that thread's descriptor). */
static void sp_cli_unix_loop(struct sp_cli_session *sess)
{
	int fd = fcntl(sess->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return; /* out of descriptors: the session ends */
	cli_loop(sess->cli, fd);
}

static void *sp_cli_session_thread(void *arg)
{
	struct sp_cli_session *sess = arg;

	sp_cli_current = sess;
	sess->io_fd = sess->fd;
	if (sess->kind == SP_CLI_TCP) {
		cli_set_auth_callback(sess->cli, sp_cli_auth_cb);
		cli_set_enable_callback(sess->cli, sp_cli_enable_cb);
		/* the login timeout is the server's tick (from the connection, not
		 * from the last keystroke); the exec timeout follows the login */
		cli_set_banner(sess->cli, sess->motd[0] ? sess->motd : "sigproxy - authorized access only");
		sp_cli_start_paging(sess);
		sp_cli_tcp_loop(sess);
	} else {
		char hello[64];

		if (sess->role == SP_ACCESS_ADMIN)
			cli_set_privilege(sess->cli, PRIVILEGE_PRIVILEGED);
		else
			sp_cli_make_read_only(sess);
		if (sp_cli_read_line(sess->fd, hello, sizeof(hello)) >= 0) {
			strcat(hello, "\n");
			if (strcmp(hello, SP_CLI_HELLO_BATCH) == 0) {
				sp_cli_batch_loop(sess);
			} else if (strcmp(hello, SP_CLI_HELLO_INTERACTIVE) == 0) {
				/* the client keeps its terminal raw: no telnet negotiation */
				cli_telnet_protocol(sess->cli, 0);
				if (sess->motd[0])
					cli_set_banner(sess->cli, sess->motd);
				sp_cli_apply_exec_timeout(sess);
				/* read-only: cli_loop()'s own unprivileged start is right */
				if (sess->role == SP_ACCESS_ADMIN)
					sp_cli_start_privileged(sess, PRIVILEGE_PRIVILEGED);
				sp_cli_start_paging(sess);
				sp_cli_unix_loop(sess);
			}
		}
	}
	{
		/* the end of the session leaves its block */
		struct sp_cli_flush_job job = { .sess = sess };

		if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_flush_on_loop, &job) == 0 && job.rc < 0)
			sp_warn("cli: session %u ended in an invalid block, not applied: %s", sess->line,
				job.err.msg);
	}
	if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_session_reap_on_loop, sess) == 0) {
		/* unlinked and detached: this thread owns the session now */
		cli_done(sess->cli);
		close(sess->fd);
		free(sess->capture_buf);
		free(sess);
	}
	/* else the server is stopping and joins and frees us */
	return NULL;
}

/* The peer of a TCP session, IPv4 as IPv4 even on a dual-stack listener. */
static void sp_cli_peer(const struct sockaddr_storage *ss, socklen_t sl, struct sp_endpoint *ep)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	sp_endpoint_clear(ep);
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		struct in_addr v4;

		memcpy(&v4, &s6->sin6_addr.s6_addr[12], sizeof(v4));
		sp_endpoint_set_v4(ep, v4, ntohs(s6->sin6_port));
		return;
	}
	sp_endpoint_from_sockaddr(ep, (const struct sockaddr *)ss, sl);
}

/* Why a connection is not let in; each reason is rate-limited on its own
 * in the log, as an attacker can repeat any of them at will. */
enum sp_cli_refusal {
	SP_CLI_OK,
	SP_CLI_REFUSE_ACCESS,
	SP_CLI_REFUSE_LOCKED,
	SP_CLI_REFUSE_TCP_FULL,
	SP_CLI_REFUSE_SOURCE_FULL,
	SP_CLI_REFUSE_UNIX_FULL,
	SP_CLI_REFUSE_UNIX_DENIED,
	SP_CLI_N_REFUSALS,
};

static struct sp_log_limit sp_cli_refusal_limits[SP_CLI_N_REFUSALS] = {
	[SP_CLI_REFUSE_ACCESS] = SP_LOG_LIMIT_INIT("cli: connections refused by cli access-class"),
	[SP_CLI_REFUSE_LOCKED] = SP_LOG_LIMIT_INIT("cli: connections refused after failed logins"),
	[SP_CLI_REFUSE_TCP_FULL] = SP_LOG_LIMIT_INIT("cli: connections refused, all TCP sessions in use"),
	[SP_CLI_REFUSE_SOURCE_FULL] = SP_LOG_LIMIT_INIT("cli: connections refused, too many from one address"),
	[SP_CLI_REFUSE_UNIX_FULL] = SP_LOG_LIMIT_INIT("cli: connections refused, all unix-socket sessions in use"),
	[SP_CLI_REFUSE_UNIX_DENIED] = SP_LOG_LIMIT_INIT("cli: unix-socket connections refused, user in neither CLI group"),
};

static const char *const sp_cli_refusal_why[SP_CLI_N_REFUSALS] = {
	[SP_CLI_REFUSE_ACCESS] = "not permitted by cli access-class",
	[SP_CLI_REFUSE_LOCKED] = "locked out after failed logins",
	[SP_CLI_REFUSE_TCP_FULL] = "all TCP sessions in use",
	[SP_CLI_REFUSE_SOURCE_FULL] = "too many TCP sessions from that address",
	[SP_CLI_REFUSE_UNIX_FULL] = "all unix-socket sessions in use",
	[SP_CLI_REFUSE_UNIX_DENIED] = "the user is in neither CLI group",
};

/* Whether a TCP connection is let in (loop thread). `msg` gets the line the
 * client sees when it is not. */
static enum sp_cli_refusal sp_cli_tcp_refusal(struct sp_cli_server *srv, const struct sp_endpoint *peer,
					      char *msg, size_t cap)
{
	const struct sp_config *c = sp_config_store_current(srv->d->config);
	struct sp_endpoint src = *peer;
	struct sp_addr a = { .family = peer->family };
	struct sp_cli_backoff *b;
	unsigned same = 0;
	uint64_t now = sp_loop_now_ms();

	src.port = 0;
	memcpy(&a.u, peer->addr.bytes, sizeof(a.u));
	if (!sp_cli_access_permits(&c->cli, &a)) {
		snprintf(msg, cap, "%% Access denied\r\n");
		return SP_CLI_REFUSE_ACCESS;
	}
	b = sp_cli_backoff_find(srv, &src, false);
	if (b && b->until_ms > now) {
		snprintf(msg, cap, "%% Too many failed logins from this address: try again in %llu s\r\n",
			 (unsigned long long)((b->until_ms - now + 999) / 1000));
		return SP_CLI_REFUSE_LOCKED;
	}
	if (srv->n_tcp >= SP_CLI_MAX_TCP_SESSIONS) {
		snprintf(msg, cap, "%% Too many CLI sessions\r\n");
		return SP_CLI_REFUSE_TCP_FULL;
	}
	for (struct sp_cli_session *s = srv->sessions; s; s = s->next) {
		struct sp_endpoint other = s->peer;

		other.port = 0;
		if (s->kind == SP_CLI_TCP && sp_endpoint_equal(&other, &src))
			same++;
	}
	if (same >= SP_CLI_MAX_TCP_PER_SOURCE) {
		snprintf(msg, cap, "%% Too many CLI sessions from this address\r\n");
		return SP_CLI_REFUSE_SOURCE_FULL;
	}
	return SP_CLI_OK;
}

/* Who is at the other end of a new connection, and whether it may stay:
 * SP_CLI_OK, or the refusal with the line msg tells the peer. A unix-socket
 * peer's role and uid come from its credentials. */
static enum sp_cli_refusal sp_cli_admit(struct sp_cli_server *srv, int fd, enum sp_cli_kind kind,
					const struct sockaddr_storage *ss, socklen_t sl,
					struct sp_endpoint *peer, char from[SP_ENDPOINT_STRLEN],
					char msg[128], enum sp_access_role *role, uid_t *uid)
{
	if (kind == SP_CLI_TCP) {
		sp_cli_peer(ss, sl, peer);
		sp_endpoint_format(peer, from, SP_ENDPOINT_STRLEN);
		return sp_cli_tcp_refusal(srv, peer, msg, 128);
	}
	/* the socket is open to every local user: the kernel's
	 * credentials of the peer decide, as sshd's user would be */
	*role = sp_access_role_of_peer(&srv->groups, fd, uid);
	snprintf(from, SP_ENDPOINT_STRLEN, "local uid %ld", *uid == (uid_t)-1 ? -1L : (long)*uid);
	if (*role == SP_ACCESS_NONE) {
		snprintf(msg, 128, "%% Access denied: not in group %s or %s\n",
			 srv->d->opt.cli_admin_group, srv->d->opt.cli_ro_group);
		return SP_CLI_REFUSE_UNIX_DENIED;
	}
	if (srv->n_unix >= SP_CLI_MAX_UNIX_SESSIONS) {
		snprintf(msg, 128, "%% Too many CLI sessions\r\n");
		return SP_CLI_REFUSE_UNIX_FULL;
	}
	return SP_CLI_OK;
}

/* "NAME (uid U, pid P) on the unix socket", for `show users`. */
static void sp_cli_local_who(struct sp_cli_session *sess)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (getsockopt(sess->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
		struct passwd pw, *res = NULL;
		char pwbuf[1024];

		getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &res);
		snprintf(sess->local_who, sizeof(sess->local_who), "%.*s (uid %u, pid %d) on the unix socket",
			 SP_USERNAME_MAX, res ? res->pw_name : "?", (unsigned)cred.uid, (int)cred.pid);
	}
}

/* A session for an admitted connection, with its libcli instance; NULL
 * (nothing allocated) on failure. */
static struct sp_cli_session *sp_cli_session_new(struct sp_cli_server *srv, int fd,
						 enum sp_cli_kind kind, const struct sp_endpoint *peer,
						 const char *from, enum sp_access_role role, uid_t uid)
{
	struct sp_cli_session *sess = calloc(1, sizeof(*sess));

	if (!sess)
		return NULL;
	sess->srv = srv;
	sess->fd = fd;
	sess->kind = kind;
	sess->peer = *peer;
	snprintf(sess->from, sizeof(sess->from), "%s", from);
	if (kind == SP_CLI_UNIX)
		sp_cli_local_who(sess);
	snprintf(sess->motd, sizeof(sess->motd), "%s", sp_config_store_current(srv->d->config)->cli.banner_motd);
	sess->logged_in = kind != SP_CLI_TCP;
	sess->role = role;
	if (kind == SP_CLI_UNIX)
		snprintf(sess->user, sizeof(sess->user), "uid %ld (%s)", (long)uid,
			 sp_access_role_name(role));
	sess->line = ++srv->next_line;
	sess->since = time(NULL);
	sess->started_ms = sp_loop_now_ms();
	atomic_init(&sess->last_ms, sess->started_ms);
	sess->cli = sp_cli_new_def(sess);
	if (!sess->cli) {
		free(sess);
		return NULL;
	}
	cli_set_hostname(sess->cli, sp_config_store_current(srv->d->config)->hostname);
	return sess;
}

static struct sp_log_limit sp_cli_nofile_limit = SP_LOG_LIMIT_INIT("cli: connections refused, no file descriptor left");

/* accept failed with every descriptor in use: the spare one lets the
 * connection in to be told and closed, then is taken back */
static void sp_cli_refuse_no_fd(struct sp_cli_server *srv, int lfd, int err)
{
	static const char msg[] = "% Out of file descriptors\r\n";
	int fd;

	if ((err != EMFILE && err != ENFILE) || srv->spare_fd < 0)
		return;
	close(srv->spare_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		char drain[512];

		if (write(fd, msg, sizeof(msg) - 1) < 0) { /* best effort */ }
		/* what the client sent already is read first: a unix socket
		 * closed with unread data resets its peer, which may then lose
		 * the reason */
		shutdown(fd, SHUT_WR);
		while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
		close(fd);
	}
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sp_log_limited(&sp_cli_nofile_limit, LOG_WARNING,
		       "cli: connection refused: no file descriptor left (%s)", strerror(err));
}

static void sp_cli_accept_cb(struct sp_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct sp_cli_server *srv = arg;
	struct sp_cli_session *sess;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sp_endpoint peer;
	enum sp_cli_kind kind = lfd == srv->tcp_fd ? SP_CLI_TCP : SP_CLI_UNIX;
	char from[SP_ENDPOINT_STRLEN] = "local", msg[128];
	enum sp_cli_refusal why;
	enum sp_access_role role = SP_ACCESS_NONE;
	uid_t uid = (uid_t)-1;
	int fd;

	(void)loop;
	(void)events;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0) {
		sp_cli_refuse_no_fd(srv, lfd, errno);
		return;
	}
	sp_endpoint_clear(&peer);
	why = sp_cli_admit(srv, fd, kind, &ss, sl, &peer, from, msg, &role, &uid);
	if (why != SP_CLI_OK) {
		if (write(fd, msg, strlen(msg)) < 0) { /* best effort */ }
		close(fd);
		sp_log_limited(&sp_cli_refusal_limits[why], LOG_WARNING, "cli: %s connection from %s refused: %s",
			       kind == SP_CLI_TCP ? "TCP" : "unix-socket", from, sp_cli_refusal_why[why]);
		return;
	}
	sess = sp_cli_session_new(srv, fd, kind, &peer, from, role, uid);
	if (!sess) {
		close(fd);
		return;
	}
	sess->next = srv->sessions;
	srv->sessions = sess;
	if (kind == SP_CLI_TCP)
		srv->n_tcp++;
	else
		srv->n_unix++;
	if (pthread_create(&sess->thread, NULL, sp_cli_session_thread, sess) != 0) {
		srv->sessions = sess->next;
		if (kind == SP_CLI_TCP)
			srv->n_tcp--;
		else
			srv->n_unix--;
		cli_done(sess->cli);
		close(fd);
		free(sess);
		sp_err("cli: cannot start a session thread");
		return;
	}
	if (kind == SP_CLI_TCP)
		sp_info("cli: session %u: TCP connection from %s", sess->line, from);
	else if (uid != 0)
		sp_info("cli: session %u: unix-socket connection from %s: %s", sess->line, from,
			sp_access_role_name(role));
}

/* Every second: TCP sessions that have not logged in within
 * `cli login-timeout` of connecting are ended (shutdown wakes their thread,
 * which then ends as on a hang-up). */
static void sp_cli_tick(struct sp_loop *loop, void *arg)
{
	struct sp_cli_server *srv = arg;
	const struct sp_config *c = sp_config_store_current(srv->d->config);
	uint64_t now = sp_loop_now_ms();

	(void)loop;
	for (struct sp_cli_session *s = srv->sessions; s; s = s->next)
		if (s->kind == SP_CLI_TCP && !s->logged_in && !s->login_timed_out &&
		    now - s->started_ms >= (uint64_t)c->cli.login_timeout * 1000) {
			s->login_timed_out = true;
			sp_notice("cli: session %u from %s: no login within %u s: disconnected", s->line,
				  s->from, c->cli.login_timeout);
			shutdown(s->fd, SHUT_RDWR);
		}
	sp_loop_timer_arm(srv->tick, SP_CLI_TICK_MS);
}

static void sp_cli_server_show_users_json(struct sp_cli_server *srv, FILE *out)
{
	uint64_t now = sp_loop_now_ms();
	struct sp_json j;

	sp_json_start(&j, out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "sessions");
	for (struct sp_cli_session *s = srv->sessions; s; s = s->next) {
		uint64_t last = atomic_load(&s->last_ms);
		bool tcp = s->kind == SP_CLI_TCP;
		char since[40];
		struct tm tm;

		localtime_r(&s->since, &tm);
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%S%z", &tm);
		sp_json_object(&j, NULL);
		sp_json_uint(&j, "line", s->line);
		sp_json_str(&j, "kind", tcp ? "tcp" : "unix");
		sp_json_str(&j, "user", !tcp || s->logged_in ? s->user : NULL); /* NULL: logging in */
		sp_json_str(&j, "from", s->from);
		sp_json_str(&j, "since", since);
		sp_json_uint(&j, "idle-seconds", now > last ? (now - last) / 1000 : 0);
		sp_json_close(&j);
	}
	sp_json_close(&j);
	sp_json_uint(&j, "tcp-sessions", srv->n_tcp);
	sp_json_uint(&j, "tcp-sessions-max", SP_CLI_MAX_TCP_SESSIONS);
	sp_json_uint(&j, "tcp-sessions-max-per-address", SP_CLI_MAX_TCP_PER_SOURCE);
	sp_json_uint(&j, "unix-sessions", srv->n_unix);
	sp_json_uint(&j, "unix-sessions-max", SP_CLI_MAX_UNIX_SESSIONS);
	sp_json_finish(&j);
}

void sp_cli_server_show_users(struct sp_cli_server *srv, FILE *out, bool json)
{
	uint64_t now = sp_loop_now_ms();

	if (json) {
		sp_cli_server_show_users_json(srv, out);
		return;
	}
	fprintf(out, "%-6s %-6s %-20s %-26s %-20s %s\n", "Line", "Kind", "User", "From", "Since", "Idle");
	for (struct sp_cli_session *s = srv->sessions; s; s = s->next) {
		char since[32], idle[32];
		struct tm tm;
		uint64_t last = atomic_load(&s->last_ms), secs = now > last ? (now - last) / 1000 : 0;
		const char *user = s->kind != SP_CLI_TCP ? s->user : s->logged_in ? s->user : "(login)";
		char esc[SP_LOG_ESCAPED_MAX];

		localtime_r(&s->since, &tm);
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(idle, sizeof(idle), "%02llu:%02llu:%02llu", (unsigned long long)(secs / 3600),
			 (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60));
		fprintf(out, "%-6u %-6s %-20s %-26s %-20s %s\n", s->line,
			s->kind == SP_CLI_TCP ? "tcp" : "unix", sp_log_escape(user, esc, sizeof(esc)),
			s->from, since, idle);
	}
	fprintf(out, "%u TCP session%s (at most %d, %d per address), %u unix-socket session%s (at most %d)\n",
		srv->n_tcp, srv->n_tcp == 1 ? "" : "s", SP_CLI_MAX_TCP_SESSIONS, SP_CLI_MAX_TCP_PER_SOURCE,
		srv->n_unix, srv->n_unix == 1 ? "" : "s", SP_CLI_MAX_UNIX_SESSIONS);
}

static int sp_cli_listen_tcp(struct sp_cli_server *srv, const char *spec, struct sp_error *e)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint16_t port;
	int one = 1, fd;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return sp_error_set(e, "Invalid --cli-listen \"%s\" (expected ADDR:PORT)", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (sp_parse_port(colon + 1, &port, e) < 0)
		return -1;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return sp_error_set(e, "Invalid --cli-listen address \"%s\"", host);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sp_error_set(e, "CLI socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		int err = errno;
		close(fd);
		return sp_error_set(e, "CLI listen on %s: %s", spec, strerror(err));
	}
	srv->tcp_fd = fd;
	return 0;
}

static int sp_cli_listen_unix(struct sp_cli_server *srv, const char *path, struct sp_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sp_error_set(e, "CLI socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return sp_error_set(e, "Cannot create %s: %s", dir, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sp_error_set(e, "CLI unix socket: %s", strerror(errno));
	unlink(path); /* a stale socket from an earlier run */
	/* connectable by every local user: sp_access decides by the peer's
	 * credentials (root and the admin group: admin; the read-only group:
	 * read-only; anyone else is refused at once) */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int err = errno;
		umask(old);
		close(fd);
		return sp_error_set(e, "CLI unix socket %s: %s", path, strerror(err));
	}
	umask(old);
	srv->unix_fd = fd;
	snprintf(srv->unix_path, sizeof(srv->unix_path), "%s", path);
	return 0;
}

/* `logging host`: the log module's remote syslog hosts follow the
 * configuration (the CLI server owns the management plane). */
static void sp_cli_apply_log_hosts(const struct sp_config *c)
{
	struct sockaddr_storage ss[SP_LOG_HOSTS_MAX];
	socklen_t lens[SP_LOG_HOSTS_MAX];
	size_t n = 0;

	for (unsigned i = 0; i < c->cli.n_log_hosts && i < SP_LOG_REMOTE_MAX; i++) {
		struct sp_endpoint ep;

		sp_endpoint_clear(&ep);
		if (c->cli.log_hosts[i].addr.family == AF_INET)
			sp_endpoint_set_v4(&ep, c->cli.log_hosts[i].addr.u.v4, c->cli.log_hosts[i].port);
		else
			sp_endpoint_set_v6(&ep, &c->cli.log_hosts[i].addr.u.v6, c->cli.log_hosts[i].port);
		lens[n] = sp_endpoint_to_sockaddr(&ep, &ss[n]);
		if (lens[n])
			n++;
	}
	if (sp_log_set_remote(ss, lens, n) < 0)
		sp_warn("logging host: cannot open a UDP socket: %s", strerror(errno));
}

static int sp_cli_log_hosts_cb(void *arg, const struct sp_config *old_cfg, const struct sp_config *new_cfg,
			       const struct sp_config_diff *diff, struct sp_error *e)
{
	(void)arg;
	(void)old_cfg;
	(void)e;
	for (size_t i = 0; i < diff->n; i++)
		if (diff->changes[i].object == SP_OBJ_USERS) { /* the management plane */
			sp_cli_apply_log_hosts(new_cfg);
			break;
		}
	return 0;
}

struct sp_cli_server *sp_cli_server_start(struct sp_daemon *d, struct sp_error *e)
{
	struct sp_cli_server *srv = calloc(1, sizeof(*srv));

	if (!srv) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	srv->d = d;
	srv->tcp_fd = -1;
	srv->unix_fd = -1;
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sp_access_groups_resolve(&srv->groups, d->opt.cli_admin_group, d->opt.cli_ro_group);
	sp_cli_apply_log_hosts(sp_config_store_current(d->config));
	if (sp_config_store_subscribe(d->config, "logging", sp_cli_log_hosts_cb, NULL) < 0) {
		sp_error_set(e, "Cannot subscribe to the configuration");
		goto fail;
	}
	srv->tick = sp_loop_timer_new(d->loop, sp_cli_tick, srv);
	if (!srv->tick || sp_loop_timer_arm(srv->tick, SP_CLI_TICK_MS) < 0) {
		sp_error_set(e, "CLI timer: %s", strerror(errno));
		goto fail;
	}
	if (d->opt.cli_listen && strcmp(d->opt.cli_listen, "none") != 0 &&
	    (sp_cli_listen_tcp(srv, d->opt.cli_listen, e) < 0 ||
	     sp_loop_add_fd(d->loop, srv->tcp_fd, EPOLLIN, sp_cli_accept_cb, srv) < 0))
		goto fail;
	if (d->opt.cli_socket && strcmp(d->opt.cli_socket, "none") != 0 &&
	    (sp_cli_listen_unix(srv, d->opt.cli_socket, e) < 0 ||
	     sp_loop_add_fd(d->loop, srv->unix_fd, EPOLLIN, sp_cli_accept_cb, srv) < 0))
		goto fail;
	return srv;
fail:
	if (!e->msg[0])
		sp_error_set(e, "Cannot start the CLI");
	sp_cli_server_stop(srv);
	return NULL;
}

void sp_cli_server_stop(struct sp_cli_server *srv)
{
	struct sp_cli_session *sess, *next;

	if (!srv)
		return;
	if (srv->tick)
		sp_loop_timer_free(srv->tick);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	if (srv->tcp_fd >= 0) {
		sp_loop_del_fd(srv->d->loop, srv->tcp_fd);
		close(srv->tcp_fd);
	}
	if (srv->unix_fd >= 0) {
		sp_loop_del_fd(srv->d->loop, srv->unix_fd);
		close(srv->unix_fd);
		unlink(srv->unix_path);
	}
	/* wake every session thread out of its read; they cannot reach the loop
	 * any more (calls are closed), so each ends and is joined here */
	for (sess = srv->sessions; sess; sess = sess->next)
		shutdown(sess->fd, SHUT_RDWR);
	for (sess = srv->sessions; sess; sess = next) {
		next = sess->next;
		pthread_join(sess->thread, NULL);
		sp_cli_pending_clear(sess);
		cli_done(sess->cli);
		close(sess->fd);
		free(sess->capture_buf);
		free(sess);
	}
	free(srv);
}
