/* Internals of the CLI server shared by its parts (sp_cli.c: the session
 * server, accept and caps; sp_cli_run.c: running commands and the audit
 * trail; sp_cli_register.c: filters, completion, registration, capture and
 * the loader; sp_cli_login.c: login and authentication; sp_cli_page.c:
 * paging and the batch loop). Not for use outside cli/sp_cli*.c. */
#ifndef SP_CLI_INT_H
#define SP_CLI_INT_H

#include <libcli.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "sp_access.h"
#include "sp_cmd.h"
#include "sp_daemon.h"
#include "sp_endpoint.h"

/* Separate caps per listener, so idle TCP connections never lock root out
 * of the unix socket; and per source on TCP, so one host cannot take every
 * TCP session either. */
#define SP_CLI_MAX_TCP_SESSIONS 16
#define SP_CLI_MAX_TCP_PER_SOURCE 4
#define SP_CLI_MAX_UNIX_SESSIONS 16
#define SP_CLI_LOGIN_DELAY_US 2000000
#define SP_CLI_MAX_LOGIN_FAILURES 3  /* per connection, then it is closed */
/* Per source address: every SP_CLI_MAX_LOGIN_FAILURES failures lock it out
 * for BACKOFF_FIRST seconds, doubling each time up to BACKOFF_MAX; a
 * successful login forgets the source. */
#define SP_CLI_BACKOFF_SOURCES 64
#define SP_CLI_BACKOFF_FIRST_MS 10000
#define SP_CLI_BACKOFF_MAX_MS 300000
#define SP_CLI_TICK_MS 1000
/* Read-only sessions run at the privilege of sp_cmd's user-EXEC commands
 * (PRIV_USER, libcli's unprivileged level): the show commands; `enable` is
 * replaced so that they stay there. */
#define SP_CLI_PRIV_READ_ONLY PRIVILEGE_UNPRIVILEGED

enum sp_cli_kind {
	SP_CLI_TCP,         /* telnet-style, login required */
	SP_CLI_UNIX,        /* local socket: interactive or batch */
	SP_CLI_LOADER,      /* a configuration file, no connection */
};

struct sp_cli_session {
	struct sp_cli_server *srv;
	enum sp_cli_kind kind;
	int fd;
	struct cli_def *cli;
	pthread_t thread;
	struct sp_cmd_edit edit;
	struct sp_config *loader_cand; /* SP_CLI_LOADER: edited directly */
	FILE *capture;                 /* batch and loader: output of one command */
	char *capture_buf;
	size_t capture_len;
	bool batch;
	/* who and since when, for show users and the log (loop thread) */
	struct sp_endpoint peer;   /* TCP: the source; unix: empty */
	char from[SP_ENDPOINT_STRLEN];
	char user[SP_USERNAME_MAX + 1]; /* TCP: once logged in */
	bool logged_in;            /* TCP: login done (unix: always) */
	bool login_timed_out;
	unsigned line;             /* number shown by show users */
	time_t since;
	uint64_t started_ms;
	_Atomic uint64_t last_ms;  /* last command, written by the session thread */
	unsigned failures;         /* failed logins on this connection (session thread) */
	bool raise_pending;        /* unix interactive: not yet privileged (session thread) */
	/* paging of interactive sessions (session thread) */
	unsigned page_len;         /* terminal length: lines per page, 0: no paging */
	unsigned page_lines;       /* lines the running command has shown on this page */
	bool interactive;          /* a terminal: paging, '^' markers */
	int io_fd;                 /* what libcli reads and writes: fd, or for TCP the
				      local end of the line-end pump (session thread) */
	bool paging;               /* a command's output is being shown */
	/* `| json` (session thread, and the loop thread while the session
	 * waits for its command): asked by the filter, written natively by
	 * the command, so the filter passes it on as it is */
	bool json_asked;
	bool json_written;
	bool page_quit;            /* q at --More--: the rest of the output is dropped */
	char held_hostname[SP_HOSTNAME_MAX + 1];
	/* lines of the block being edited that wait for it to be valid as a
	 * whole (loop thread): replayed onto the running configuration with
	 * each new line, committed once valid, refused when the block is left
	 * still invalid */
	struct sp_cli_pending_line *pending;
	size_t n_pending;
	int raise_to;              /* unix interactive: the privilege it is raised to */
	enum sp_access_role role;  /* unix: from the peer's credentials; TCP: PAM users */
	/* unix socket: who is at the other end (SO_PEERCRED), for the audit log */
	char local_who[SP_USERNAME_MAX + 48];
	char motd[SP_BANNER_MAX + 1]; /* `banner motd` when the session opened */
	struct sp_cli_session *next;
};

/* Failed logins per source address (loop thread). */
struct sp_cli_backoff {
	struct sp_endpoint addr; /* port 0 */
	unsigned failures;
	unsigned lockouts;
	uint64_t until_ms;
	uint64_t last_ms;
};

struct sp_cli_server {
	struct sp_daemon *d;
	int tcp_fd;
	int unix_fd;
	/* a descriptor held in reserve: with every other one in use, it is
	 * given up to accept a connection and tell it why it is closed, so
	 * the listener does not stay readable (a spinning loop, a client left
	 * waiting) */
	int spare_fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sp_cli_session *sessions; /* owned by the loop thread */
	unsigned n_tcp, n_unix;
	unsigned next_line;
	struct sp_loop_timer *tick; /* login timeouts */
	struct sp_cli_backoff backoff[SP_CLI_BACKOFF_SOURCES];
	struct sp_access_groups groups; /* the admin and read-only groups */
};

/* a pending block flushed on the loop thread (sp_cli_flush_on_loop) */
struct sp_cli_flush_job {
	struct sp_cli_session *sess;
	int rc;
	struct sp_error err;
};

/* libcli's auth and enable callbacks take no context argument; each session
 * thread sets this to its own session before entering cli_loop. */
extern __thread struct sp_cli_session *sp_cli_current;

/* sp_cli_run.c */
void sp_cli_pending_clear(struct sp_cli_session *sess);
void sp_cli_flush_on_loop(void *arg);
int sp_cli_leave_block(struct cli_def *cli);
int sp_cli_dispatch(struct cli_def *cli, const struct sp_cmd_def *def, int argc, char **argv);
int sp_cli_command_cb(struct cli_def *cli, const char *command, char **argv, int argc);
int sp_cli_incomplete_cb(struct cli_def *cli, const char *command, char **argv, int argc);
int sp_cli_do_cb(struct cli_def *cli, const char *command, char **argv, int argc);
int sp_cli_end_cb(struct cli_def *cli, const char *command, char **argv, int argc);
int sp_cli_exit_cb(struct cli_def *cli, const char *command, char **argv, int argc);
int sp_cli_terminal_length_cb(struct cli_def *cli, const char *command, char **argv, int argc);

/* sp_cli_register.c */
struct cli_def *sp_cli_new_def(struct sp_cli_session *sess);
void sp_cli_capture_cb(struct cli_def *cli, const char *s);
int sp_cli_capture_begin(struct sp_cli_session *sess);
void sp_cli_capture_end(struct sp_cli_session *sess);

/* sp_cli_login.c */
struct sp_cli_backoff *sp_cli_backoff_find(struct sp_cli_server *srv,
					  const struct sp_endpoint *addr, bool create);
void sp_cli_apply_exec_timeout(struct sp_cli_session *sess);
void sp_cli_make_read_only(struct sp_cli_session *sess);
int sp_cli_auth_cb(const char *user, const char *pass);
int sp_cli_enable_cb(const char *pass);
void sp_cli_session_reap_on_loop(void *arg);
ssize_t sp_cli_read_line(int fd, char *buf, size_t cap);

/* sp_cli_page.c */
void sp_cli_caret(struct cli_def *cli, int word);
void sp_cli_page_begin(struct sp_cli_session *sess);
void sp_cli_page_end(struct sp_cli_session *sess);
void sp_cli_start_paging(struct sp_cli_session *sess);
void sp_cli_batch_loop(struct sp_cli_session *sess);
void sp_cli_start_privileged(struct sp_cli_session *sess, int privilege);

#endif
