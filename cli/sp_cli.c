#include "config.h"
#include "sp_cli.h"
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
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sp_cli_session *sessions; /* owned by the loop thread */
	unsigned n_tcp, n_unix;
	unsigned next_line;
	struct sp_loop_timer *tick; /* login timeouts */
	struct sp_cli_backoff backoff[SP_CLI_BACKOFF_SOURCES];
	struct sp_access_groups groups; /* the admin and read-only groups */
};

/* libcli's auth and enable callbacks take no context argument; each session
 * thread sets this to its own session before entering cli_loop. */
static __thread struct sp_cli_session *sp_cli_current;

/* ---- running a command on the loop thread ---- */

static void sp_cli_audit_who(const struct sp_cli_session *sess, char *buf, size_t cap);

/* One command of a block not applied yet, as typed (its words copied). */
struct sp_cli_pending_line {
	const struct sp_cmd_def *def;
	int mode;
	struct sp_cmd_edit edit;
	int argc;
	char **argv;
};

static void sp_cli_pending_clear(struct sp_cli_session *sess)
{
	for (size_t i = 0; i < sess->n_pending; i++) {
		for (int k = 0; k < sess->pending[i].argc; k++)
			free(sess->pending[i].argv[k]);
		free(sess->pending[i].argv);
	}
	free(sess->pending);
	sess->pending = NULL;
	sess->n_pending = 0;
}

static int sp_cli_pending_add(struct sp_cli_session *sess, const struct sp_cmd_def *def, int mode,
			      const struct sp_cmd_edit *edit, int argc, char **argv)
{
	struct sp_cli_pending_line *grown = realloc(sess->pending, (sess->n_pending + 1) * sizeof(*grown));
	struct sp_cli_pending_line *l;

	if (!grown)
		return -1;
	sess->pending = grown;
	l = &grown[sess->n_pending];
	*l = (struct sp_cli_pending_line){ .def = def, .mode = mode, .edit = *edit };
	l->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!l->argv)
		return -1;
	for (int k = 0; k < argc; k++)
		if (!(l->argv[l->argc++] = strdup(argv[k]))) {
			sess->n_pending++;
			return -1;
		}
	sess->n_pending++;
	return 0;
}

/* A copy of the running configuration with the session's waiting lines
 * applied again (another session or SNMP may have committed meanwhile). */
static struct sp_config *sp_cli_pending_replay(struct sp_cli_session *sess, struct sp_daemon *d,
					       struct sp_error *e)
{
	const struct sp_config *running = sp_config_store_current(d->config);
	struct sp_config *cand = sp_config_dup(running);
	FILE *sink = sess->n_pending ? fopen("/dev/null", "w") : NULL;

	if (!cand || (sess->n_pending && !sink)) {
		if (sink)
			fclose(sink);
		sp_config_free(cand);
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sess->n_pending; i++) {
		struct sp_cli_pending_line *l = &sess->pending[i];
		struct sp_cmd_ctx ctx = { .daemon = d, .running = running, .cand = cand, .mode = l->mode,
					  .edit = l->edit, .out = sink };

		if (sp_cmd_run(l->def, &ctx, l->argc, l->argv) < 0) {
			*e = ctx.err;
			sp_config_free(cand);
			cand = NULL;
			break;
		}
	}
	if (sink)
		fclose(sink);
	return cand;
}

/* The block is left (exit, end, a top-level command, the end of the
 * session): its waiting lines are committed now or, still invalid as a
 * whole, dropped with the reason. */
static int sp_cli_pending_flush(struct sp_cli_session *sess, struct sp_daemon *d, struct sp_error *e)
{
	struct sp_config *cand;
	int rc;

	if (!sess->n_pending)
		return 0;
	cand = sp_cli_pending_replay(sess, d, e);
	rc = cand ? sp_config_store_commit(d->config, cand, NULL, e) : -1;
	{
		char who[SP_LOG_ESCAPED_MAX + 96];

		sp_cli_audit_who(sess, who, sizeof(who));
		if (rc == 0)
			sp_notice("audit: %s: the block's %zu waiting line%s applied", who, sess->n_pending,
				  sess->n_pending == 1 ? "" : "s");
		else
			sp_notice("audit: %s: the block's %zu waiting line%s refused: %s", who, sess->n_pending,
				  sess->n_pending == 1 ? "" : "s", e->msg);
	}
	sp_cli_pending_clear(sess);
	return rc;
}

struct sp_cli_flush_job {
	struct sp_cli_session *sess;
	int rc;
	struct sp_error err;
};

static void sp_cli_flush_on_loop(void *arg)
{
	struct sp_cli_flush_job *job = arg;

	job->rc = sp_cli_pending_flush(job->sess, job->sess->srv->d, &job->err);
}

/* From the session thread: leaves the block; on a refusal prints why. */
static int sp_cli_leave_block(struct cli_def *cli)
{
	struct sp_cli_session *sess = cli_get_context(cli);
	struct sp_cli_flush_job job = { .sess = sess };

	if (sess->kind == SP_CLI_LOADER)
		return CLI_OK; /* a file is checked as a whole at its end */
	if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_flush_on_loop, &job) < 0)
		return CLI_OK;
	if (job.rc < 0) {
		cli_error(cli, "%% %s", job.err.msg);
		return CLI_ERROR;
	}
	return CLI_OK;
}

struct sp_cli_job {
	struct sp_cli_session *sess;
	const struct sp_cmd_def *def;
	int mode;
	int argc;
	char **argv;
	/* results */
	int rc;
	int next_mode;
	char *out;
	size_t out_len;
	struct sp_error err;
	char hostname[SP_HOSTNAME_MAX + 1];
};

/* ---- the audit trail: every change, who made it and from where ---- */

static void sp_cli_audit_who(const struct sp_cli_session *sess, char *buf, size_t cap)
{
	char user[SP_LOG_ESCAPED_MAX];

	if (sess->kind == SP_CLI_TCP)
		snprintf(buf, cap, "cli user %s from %s (line %u)",
			 sess->user[0] ? sp_log_escape(sess->user, user, sizeof(user)) : "-", sess->from,
			 sess->line);
	else
		snprintf(buf, cap, "cli %s (line %u)", sess->local_who[0] ? sess->local_who : "unix socket",
			 sess->line);
}

/* The block a sub-mode command edits, as the line that enters it. */
static void sp_cli_audit_block(int mode, const struct sp_cmd_edit *edit, char *buf, size_t cap)
{
	switch (mode) {
	case SP_MODE_STRATEGY: snprintf(buf, cap, "[proxy-strategy %s seq %u] ", edit->name, edit->seq); break;
	case SP_MODE_PBR: snprintf(buf, cap, "[policy-route %s seq %u] ", edit->name, edit->seq); break;
	case SP_MODE_INTERFACE: snprintf(buf, cap, "[interface %s] ", edit->name); break;
	case SP_MODE_SP: snprintf(buf, cap, "[signaling-proxy] "); break;
	case SP_MODE_REDUNDANCY: snprintf(buf, cap, "[redundancy] "); break;
	default: buf[0] = '\0'; break;
	}
}

/* The command as typed (full keywords), secrets left out: every word
 * after "secret", "key" or "password" is hidden. */
static void sp_cli_audit_command(const char *path, int argc, char **argv, char *buf, size_t cap)
{
	FILE *f = fmemopen(buf, cap, "w");
	bool hide = false;
	char w[SP_LOG_ESCAPED_MAX];

	if (!f) {
		snprintf(buf, cap, "%s", path);
		return;
	}
	fputs(path, f);
	hide = strstr(path, "secret") || strstr(path, " key");
	for (int i = 0; i < argc; i++) {
		fprintf(f, " %s", hide ? "<hidden>" : sp_log_escape(argv[i], w, sizeof(w)));
		hide |= sp_cmd_word_introduces_secret(argv[i], false);
	}
	fclose(f);
	buf[cap - 1] = '\0';
}

/* A change is audited: configuration commands, and exec commands that
 * change state (write, copy, clear, reload, debug, configure replace, ...). */
static bool sp_cli_audited(const struct sp_cmd_def *def, int mode)
{
	if (def->flags & SP_CMD_EDITS_CONFIG)
		return true;
	return mode == SP_MODE_EXEC && strncmp(def->path, "show", 4) != 0 &&
	       strcmp(def->path, "configure terminal") != 0;
}

static void sp_cli_audit(const struct sp_cli_session *sess, const struct sp_cmd_def *def, int mode,
			 const struct sp_cmd_edit *edit, int argc, char **argv, const char *outcome)
{
	char who[SP_LOG_ESCAPED_MAX + 96], block[SP_NAME_MAX + 48], cmd[400];

	if (sess->kind == SP_CLI_LOADER || !sp_cli_audited(def, mode))
		return;
	sp_cli_audit_who(sess, who, sizeof(who));
	sp_cli_audit_block(mode, edit, block, sizeof(block));
	sp_cli_audit_command(def->path, argc, argv, cmd, sizeof(cmd));
	sp_notice("audit: %s: %s%s%s", who, block, cmd, outcome);
}

/* `show users` for the command table (sp_cmd.h), which does not include
 * the server. */
static void sp_cli_show_users(void *server, FILE *out)
{
	sp_cli_server_show_users(server, out);
}

static void sp_cli_job_run(struct sp_cli_job *job, struct sp_daemon *d, struct sp_config *direct)
{
	struct sp_cmd_ctx ctx = { 0 };
	FILE *out = open_memstream(&job->out, &job->out_len);
	struct sp_config *cand = NULL;
	/* editing a block (a sub-mode) of the running configuration */
	bool in_block = !direct && job->mode >= SP_MODE_SP;
	bool left_block = false;

	job->rc = -1;
	job->next_mode = -1;
	if (!out) {
		sp_error_set(&job->err, "Out of memory");
		return;
	}
	ctx.daemon = d;
	ctx.history = (const char *const *)job->sess->cli->history;
	ctx.n_history = MAX_HISTORY;
	ctx.mode = job->mode;
	ctx.edit = job->sess->edit;
	ctx.out = out;
	ctx.show_users = sp_cli_show_users;
	ctx.server = job->sess->srv;
	if (direct) {
		ctx.running = direct;
		ctx.cand = direct;
	} else {
		ctx.running = sp_config_store_current(d->config);
		if ((job->def->flags & SP_CMD_ALL_CONFIG_MODES) && in_block &&
		    sp_cli_pending_flush(job->sess, d, &ctx.err) < 0) {
			/* a top-level command leaves the block: it is checked first */
			job->err = ctx.err;
			goto done;
		}
		if (job->def->flags & SP_CMD_EDITS_CONFIG) {
			cand = sp_cli_pending_replay(job->sess, d, &ctx.err);
			if (!cand) {
				job->err = ctx.err;
				sp_cli_pending_clear(job->sess);
				goto done;
			}
			ctx.cand = cand;
		}
	}
	job->rc = sp_cmd_run(job->def, &ctx, job->argc, job->argv);
	if (job->rc < 0 && sp_cmd_failed_on_syntax(&ctx) && job->mode != SP_MODE_CONFIG &&
	    !(job->def->flags & SP_CMD_ALL_CONFIG_MODES)) {
		/* not valid in the sub-mode: try the global command of that name,
		 * as IOS does; a syntax failure changed nothing, so the same
		 * candidate serves */
		const struct sp_cmd_def *global = sp_cmd_find_global(job->def->path);
		struct sp_cmd_ctx retry = ctx;

		if (global && (global->flags & SP_CMD_EDITS_CONFIG) == (job->def->flags & SP_CMD_EDITS_CONFIG) &&
		    sp_cmd_run(global, &retry, job->argc, job->argv) == 0) {
			ctx = retry;
			job->rc = 0;
			left_block = in_block;
		}
	}
	if (job->rc == 0 && cand) {
		struct sp_error why;

		if (in_block && !left_block && sp_config_validate(cand, &why) < 0) {
			/* the block is not valid yet: the line waits for the
			 * rest of it (checked again with each line, and when the
			 * block is left) */
			if (sp_cli_pending_add(job->sess, job->def, job->mode, &job->sess->edit, job->argc,
					       job->argv) < 0) {
				sp_cli_pending_clear(job->sess);
				sp_error_set(&ctx.err, "Out of memory");
				job->rc = -1;
			}
			sp_config_free(cand);
			cand = NULL;
		} else {
			/* one command (with the block's waiting lines), one
			 * transaction */
			job->rc = sp_config_store_commit(d->config, cand, NULL, &ctx.err);
			cand = NULL;
			if (job->rc == 0 || left_block)
				sp_cli_pending_clear(job->sess);
		}
	}
	if (job->rc == 0) {
		sp_cli_audit(job->sess, job->def, job->mode, &job->sess->edit, job->argc, job->argv,
			     job->sess->n_pending ? " (waits for the rest of the block)" : "");
		job->next_mode = ctx.next_mode;
		job->sess->edit = ctx.edit;
	} else {
		job->err = ctx.err;
	}
done:
	sp_config_free(cand);
	fclose(out);
	if (d)
		snprintf(job->hostname, sizeof(job->hostname), "%s",
			 sp_config_store_current(d->config)->hostname);
	else if (direct)
		snprintf(job->hostname, sizeof(job->hostname), "%s", direct->hostname);
}

static void sp_cli_job_on_loop(void *arg)
{
	struct sp_cli_job *job = arg;

	sp_cli_job_run(job, job->sess->srv->d, NULL);
}

/* Prints command output line by line so libcli's output filters
 * (| include, | exclude, | begin, | count) apply. */
static void sp_cli_print_text(struct cli_def *cli, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int n = (int)((nl ? nl : end) - p);

		cli_print(cli, "%.*s", n, p);
		p = nl ? nl + 1 : end;
	}
}

static void sp_cli_apply_mode(struct cli_def *cli, int mode)
{
	if (mode == SP_MODE_EXEC)
		cli_set_configmode(cli, MODE_EXEC, NULL);
	else if (mode == SP_MODE_CONFIG)
		cli_set_configmode(cli, MODE_CONFIG, NULL);
	else if (mode > 0)
		cli_set_configmode(cli, mode, sp_cmd_mode_desc(mode));
}

static int sp_cli_command_cb(struct cli_def *cli, const char *command, char **argv, int argc);
static void sp_cli_caret(struct cli_def *cli, int word);

/* A "?" word is help, never an argument: interactive `?` is libcli's, but
 * a "?" can still arrive as a word (sigproxy-cli -c "interface ?", a pasted
 * line, "?" not at the end of the line). Lists what may follow instead of
 * running the command. */
static bool sp_cli_asks_help(struct cli_def *cli, int argc, char **argv)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	if (sess && sess->kind == SP_CLI_LOADER)
		return false; /* a file has no help to ask for; its words are data */
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "?") == 0)
			return true;
	return false;
}

static void sp_cli_print_help(struct cli_def *cli)
{
	struct cli_command *cmd = cli->pipeline && cli->pipeline->current_stage ?
				  cli->pipeline->current_stage->command : NULL;
	bool any = false;

	if (!cmd)
		return;
	for (struct cli_command *c = cmd->children; c; c = c->next) {
		if (c->privilege > cli->privilege || (c->mode != cli->mode && c->mode != MODE_ANY))
			continue;
		cli_print(cli, "  %-20s %s", c->command, c->help ? c->help : "");
		any = true;
	}
	for (struct cli_optarg *o = cmd->optargs; o; o = o->next) {
		char *h = strdup(o->help ? o->help : ""), *save, *line;
		bool first = true;

		if (!h)
			break;
		for (line = strtok_r(h, "\v", &save); line; line = strtok_r(NULL, "\v", &save)) {
			char *tab = strchr(line, '\t'), name[64];

			if (first) {
				snprintf(name, sizeof(name), o->flags & CLI_CMD_OPTIONAL_FLAG ? "[%s]" : "<%s>", o->name);
				cli_print(cli, "  %-20s %s", name, line);
			} else if (tab) {
				*tab = '\0';
				cli_print(cli, "    %-18s %s", line, tab + 1);
			}
			first = false;
		}
		free(h);
		any = true;
	}
	if (cmd->callback == sp_cli_command_cb || !any)
		cli_print(cli, "  <cr>");
}

static void sp_cli_page_begin(struct sp_cli_session *sess);
static void sp_cli_page_end(struct sp_cli_session *sess);

/* A refusal that quotes the word it is about (`Invalid prefix "10.0.0.300/8"`)
 * gets the '^' under that word of the line. */
static void sp_cli_caret_at_quoted(struct cli_def *cli, const char *msg)
{
	const char *q = strchr(msg, '"'), *end;

	if (!q || !cli->pipeline || !(end = strchr(q + 1, '"')))
		return;
	for (int k = 1; k < cli->pipeline->num_words; k++)
		if (strlen(cli->pipeline->words[k]) == (size_t)(end - q - 1) &&
		    strncmp(cli->pipeline->words[k], q + 1, (size_t)(end - q - 1)) == 0) {
			sp_cli_caret(cli, k);
			return;
		}
}

static int sp_cli_dispatch(struct cli_def *cli, const struct sp_cmd_def *def, int argc, char **argv)
{
	struct sp_cli_session *sess = cli_get_context(cli);
	struct sp_cli_job job = { .sess = sess, .def = def, .mode = cli->mode, .argc = argc, .argv = argv };

	if (sp_cli_asks_help(cli, argc, argv)) {
		sp_cli_print_help(cli);
		return CLI_OK;
	}

	atomic_store(&sess->last_ms, sp_loop_now_ms());
	if (sess->kind == SP_CLI_LOADER) {
		sp_cli_job_run(&job, NULL, sess->loader_cand);
	} else if (sp_loop_call_sync(sess->srv->d->loop, sp_cli_job_on_loop, &job) < 0) {
		cli_error(cli, "%% The daemon is shutting down");
		return CLI_ERROR;
	}
	sp_cli_page_begin(sess);
	if (job.out_len)
		sp_cli_print_text(cli, job.out, job.out_len);
	sp_cli_page_end(sess);
	free(job.out);
	if (job.rc < 0) {
		sp_cli_caret_at_quoted(cli, job.err.msg);
		cli_error(cli, "%% %s", job.err.msg);
		return CLI_ERROR;
	}
	if (job.hostname[0] && (!cli->hostname || strcmp(cli->hostname, job.hostname) != 0))
		cli_set_hostname(cli, job.hostname);
	if (job.next_mode >= 0)
		sp_cli_apply_mode(cli, job.next_mode);
	return CLI_OK;
}

static int sp_cli_command_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	const struct sp_cmd_def *def = sp_cmd_find(cli->mode, command);

	if (!def) {
		cli_error(cli, "%% Invalid command \"%s\" in this mode", command);
		return CLI_ERROR;
	}
	return sp_cli_dispatch(cli, def, argc, argv);
}

static int sp_cli_incomplete_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	if (sp_cli_asks_help(cli, argc, argv)) {
		sp_cli_print_help(cli);
		return CLI_OK;
	}
	if (argc > 0 && cli->pipeline)
		sp_cli_caret(cli, (int)(argv - cli->pipeline->words));
	if (argc > 0)
		cli_error(cli, "%% Invalid input \"%s\" after \"%s\"", argv[0], command);
	else
		cli_error(cli, "%% Incomplete command \"%s\"", command);
	return CLI_ERROR;
}

/* `do CMD` in config modes: find the exec command the words abbreviate and
 * run it without leaving the mode. */
static int sp_cli_do_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	size_t n;
	const struct sp_cmd_def *tab = sp_cmd_table(&n), *best = NULL;
	int best_words = 0;
	bool ambiguous = false;

	(void)command;
	for (size_t i = 0; i < n; i++) {
		char path[128], *save, *w;
		int k = 0;
		bool ok = true;

		if (tab[i].mode != SP_MODE_EXEC || tab[i].privilege > cli->privilege)
			continue;
		snprintf(path, sizeof(path), "%s", tab[i].path);
		for (w = strtok_r(path, " ", &save); w; w = strtok_r(NULL, " ", &save), k++)
			if (k >= argc || strncasecmp(argv[k], w, strlen(argv[k])) != 0) {
				ok = false;
				break;
			}
		if (!ok)
			continue;
		if (k > best_words) {
			best = &tab[i];
			best_words = k;
			ambiguous = false;
		} else if (k == best_words) {
			ambiguous = true;
		}
	}
	if (!best || ambiguous) {
		cli_error(cli, "%% %s exec command after \"do\"", best ? "Ambiguous" : "Unknown");
		return CLI_ERROR;
	}
	{
		int saved = cli->mode, rc;

		cli->mode = MODE_EXEC; /* the handler must see exec mode */
		rc = sp_cli_dispatch(cli, best, argc - best_words, argv + best_words);
		cli->mode = saved;
		return rc;
	}
}

static int sp_cli_end_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	int rc = cli->mode >= SP_MODE_SP ? sp_cli_leave_block(cli) : CLI_OK;

	(void)command;
	(void)argv;
	(void)argc;
	cli_set_configmode(cli, MODE_EXEC, NULL);
	return rc;
}

static int sp_cli_exit_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	(void)command;
	(void)argv;
	(void)argc;
	int rc = cli->mode >= SP_MODE_SP ? sp_cli_leave_block(cli) : CLI_OK;

	if (cli->mode == MODE_EXEC)
		return CLI_QUIT;
	if (cli->mode == MODE_CONFIG)
		cli_set_configmode(cli, MODE_EXEC, NULL);
	else
		cli_set_configmode(cli, MODE_CONFIG, NULL);
	return rc;
}

static int sp_cli_terminal_length_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	struct sp_error e;
	uint32_t v;

	(void)command;
	if (argc != 1 || sp_parse_u32(argv[0], 0, 512, "terminal length", &v, &e) < 0) {
		cli_error(cli, "%% %s", argc != 1 ? "Usage: terminal length N (0-512)" : e.msg);
		return CLI_ERROR;
	}
	((struct sp_cli_session *)cli_get_context(cli))->page_len = v;
	return CLI_OK;
}

/* ---- output filters ----
 * libcli 1.10's own filters print nothing for an abbreviated name
 * ("| inc x") and their count bypasses the print callback, so the CLI
 * registers its own: include, exclude, begin, section (POSIX extended
 * regex, as on IOS) and count, with unique-prefix abbreviations. */

enum sp_filter_kind {
	SP_FILTER_INCLUDE, SP_FILTER_EXCLUDE, SP_FILTER_BEGIN, SP_FILTER_COUNT, SP_FILTER_SECTION, SP_FILTER_JSON,
};

struct sp_filter_state {
	enum sp_filter_kind kind;
	regex_t re;
	bool started; /* begin: a line has matched; section: in a matching block */
	unsigned long count;
	FILE *text; /* json: the output so far */
	char *text_buf;
	size_t text_len;
};

static void sp_filter_emit_direct(struct cli_def *cli, const char *line)
{
	if (cli->print_callback)
		cli->print_callback(cli, line);
	else if (cli->client) {
		fprintf(cli->client, "%s\r\n", line);
		fflush(cli->client);
	}
}

static int sp_filter_cb(struct cli_def *cli, const char *string, void *data)
{
	struct sp_filter_state *f = data;
	int rc = CLI_ERROR;

	if (!f)
		return CLI_OK;
	if (!string) {
		/* end of the command's output */
		if (f->kind == SP_FILTER_COUNT) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%lu", f->count);
			sp_filter_emit_direct(cli, buf);
		} else if (f->kind == SP_FILTER_JSON) {
			char *json = NULL;

			if (f->text && fclose(f->text) == 0)
				json = sp_show_json(f->text_buf ? f->text_buf : "", f->text_len);
			sp_filter_emit_direct(cli, json ? json : "{\"error\":\"out of memory\"}");
			free(json);
			free(f->text_buf);
		} else {
			regfree(&f->re);
		}
		free(f);
		return CLI_OK;
	}
	switch (f->kind) {
	case SP_FILTER_INCLUDE:
		rc = regexec(&f->re, string, 0, NULL, 0) == 0 ? CLI_OK : CLI_ERROR;
		break;
	case SP_FILTER_EXCLUDE:
		rc = regexec(&f->re, string, 0, NULL, 0) == 0 ? CLI_ERROR : CLI_OK;
		break;
	case SP_FILTER_BEGIN:
		if (!f->started && regexec(&f->re, string, 0, NULL, 0) == 0)
			f->started = true;
		rc = f->started ? CLI_OK : CLI_ERROR;
		break;
	case SP_FILTER_SECTION:
		/* a block is an unindented line and the indented lines under it,
		 * as in running-config: a matching head line shows its block */
		if (string[0] != ' ' && string[0] != '\t')
			f->started = regexec(&f->re, string, 0, NULL, 0) == 0;
		rc = f->started ? CLI_OK : CLI_ERROR;
		break;
	case SP_FILTER_JSON:
		if (f->text) {
			fputs(string, f->text);
			fputc('\n', f->text);
		}
		rc = CLI_ERROR; /* kept for the JSON at the end */
		break;
	case SP_FILTER_COUNT:
		f->count++;
		rc = CLI_ERROR; /* counted, not shown */
		break;
	}
	return rc;
}

static int sp_filter_init(struct cli_def *cli, int argc, char **argv, struct cli_filter *filt)
{
	struct sp_filter_state *f;
	char pattern[CLI_MAX_LINE_LENGTH] = "";
	size_t n = argc > 0 ? strlen(argv[0]) : 0;
	int err;

	if (n == 0)
		return CLI_ERROR;
	f = calloc(1, sizeof(*f));
	if (!f)
		return CLI_ERROR;
	if (strncmp(argv[0], "count", n) == 0)
		f->kind = SP_FILTER_COUNT;
	else if (strncmp(argv[0], "json", n) == 0)
		f->kind = SP_FILTER_JSON;
	else if (strncmp(argv[0], "include", n) == 0)
		f->kind = SP_FILTER_INCLUDE;
	else if (strncmp(argv[0], "exclude", n) == 0)
		f->kind = SP_FILTER_EXCLUDE;
	else if (strncmp(argv[0], "section", n) == 0)
		f->kind = SP_FILTER_SECTION;
	else
		f->kind = SP_FILTER_BEGIN;
	if (f->kind == SP_FILTER_COUNT || f->kind == SP_FILTER_JSON) {
		if (argc > 1) {
			cli_error(cli, "%% Invalid input \"%s\" after %s", argv[1], argv[0]);
			free(f);
			return CLI_ERROR;
		}
		if (f->kind == SP_FILTER_JSON && !(f->text = open_memstream(&f->text_buf, &f->text_len))) {
			free(f);
			return CLI_ERROR;
		}
	} else {
		for (int i = 1; i < argc; i++) {
			if (i > 1)
				strncat(pattern, " ", sizeof(pattern) - strlen(pattern) - 1);
			strncat(pattern, argv[i], sizeof(pattern) - strlen(pattern) - 1);
		}
		if (!pattern[0]) {
			cli_error(cli, "%% Missing the pattern after \"%s\"", argv[0]);
			free(f);
			return CLI_ERROR;
		}
		err = regcomp(&f->re, pattern, REG_EXTENDED | REG_NOSUB);
		if (err) {
			cli_error(cli, "%% Invalid regular expression \"%s\"", pattern);
			free(f);
			return CLI_ERROR;
		}
	}
	filt->filter = sp_filter_cb;
	filt->data = f;
	return CLI_OK;
}

static void sp_cli_register_filters(struct cli_def *cli)
{
	static const struct { const char *name, *help; } filters[] = {
		{ "begin", "Begin with the first line that matches" },
		{ "count", "Count the lines" },
		{ "exclude", "Exclude lines that match" },
		{ "include", "Include lines that match" },
		{ "json", "The output as one JSON object (rows, fields, lines)" },
		{ "section", "Blocks whose first line matches" },
	};

	cli_unregister_all_filters(cli);
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		cli_register_filter(cli, filters[i].name, sp_filter_init, sp_filter_cb,
				    PRIVILEGE_UNPRIVILEGED, MODE_ANY, filters[i].help);
}

/* ---- argument help and completion of configured names ---- */

struct sp_cli_names_job {
	enum sp_cli_names kind;
	const char *word;
	struct cli_comphelp *comphelp;
};

static void sp_cli_names_add(struct sp_cli_names_job *job, const char *name)
{
	struct cli_comphelp *ch = job->comphelp;

	if (job->word && strncmp(job->word, name, strlen(job->word)) != 0)
		return;
	for (int i = 0; i < ch->num_entries; i++)
		if (strcmp(ch->entries[i], name) == 0)
			return; /* one entry per name (strategies have several seqs) */
	cli_add_comphelp_entry(ch, name);
}

static void sp_cli_names_on_loop(struct sp_cli_names_job *job, const struct sp_config *c)
{
	switch (job->kind) {
	case SP_NAMES_STRATEGY:
		for (size_t i = 0; i < c->n_strategies; i++)
			sp_cli_names_add(job, c->strategies[i].name);
		break;
	case SP_NAMES_POLICY_ROUTE:
		for (size_t i = 0; i < c->n_policy_routes; i++)
			sp_cli_names_add(job, c->policy_routes[i].name);
		break;
	case SP_NAMES_USER:
		for (size_t i = 0; i < c->n_users; i++)
			sp_cli_names_add(job, c->users[i].name);
		break;
	case SP_NAMES_INTERFACE: {
		struct if_nameindex *ifs = if_nameindex();

		for (size_t i = 0; i < c->n_interfaces; i++)
			sp_cli_names_add(job, c->interfaces[i].name);
		for (struct if_nameindex *x = ifs; x && x->if_name; x++)
			sp_cli_names_add(job, x->if_name);
		if (ifs)
			if_freenameindex(ifs);
		break;
	}
	case SP_NAMES_NONE:
		break;
	}
}

struct sp_cli_names_call {
	struct sp_cli_names_job *job;
	struct sp_daemon *d;
};

static void sp_cli_names_call_on_loop(void *arg)
{
	struct sp_cli_names_call *call = arg;

	sp_cli_names_on_loop(call->job, sp_config_store_current(call->d->config));
}

/* The names a first argument completes to (libcli's completor: it tells the
 * kind from the optarg's name, which is distinct per kind). Runs in the
 * session thread; the configuration is read on the loop thread. */
static int sp_cli_complete_names(struct cli_def *cli, const char *name, const char *word,
				 struct cli_comphelp *comphelp)
{
	struct sp_cli_session *sess = cli_get_context(cli);
	struct sp_cli_names_job job = { .kind = SP_NAMES_NONE, .word = word, .comphelp = comphelp };
	struct sp_cli_names_call call = { .job = &job };

	for (int k = SP_NAMES_STRATEGY; k <= SP_NAMES_USER; k++)
		if (strcmp(name, sp_cli_names_label(k)) == 0)
			job.kind = k;
	if (job.kind == SP_NAMES_NONE || !sess || sess->kind == SP_CLI_LOADER)
		return CLI_OK;
	call.d = sess->srv->d;
	sp_loop_call_sync(sess->srv->d->loop, sp_cli_names_call_on_loop, &call);
	return CLI_OK;
}

/* "show sessions detail": the command "show sessions" with "detail" as its
 * first argument. */
static int sp_cli_keyword_arg_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	char path[128], *sp, **args;
	const struct sp_cmd_def *def;
	int rc;

	snprintf(path, sizeof(path), "%s", command);
	sp = strrchr(path, ' ');
	if (!sp)
		return CLI_ERROR;
	*sp = '\0';
	def = sp_cmd_find(cli->mode, path);
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!def || !args) {
		free(args);
		cli_error(cli, "%% Invalid command \"%s\" in this mode", command);
		return CLI_ERROR;
	}
	args[0] = sp + 1;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	rc = sp_cli_dispatch(cli, def, argc + 1, args);
	free(args);
	return rc;
}

/* The first argument of a command as libcli's `?` and tab see it: an
 * optarg that is never recorded (CLI_CMD_DO_NOT_RECORD), so every word
 * still reaches the handler, which parses and validates it as before. */
static void sp_cli_register_arg(struct cli_def *cli, struct cli_command *cmd, int mode, const struct sp_cmd_def *def)
{
	const struct sp_cli_arg_help *h = sp_cli_arg_help_find(def->mode, def->path);
	const char *name;
	struct cli_optarg *o;
	int flags = CLI_CMD_DO_NOT_RECORD;

	if (cmd->optargs)
		return;
	if (!h) {
		/* a show command without arguments: `?` offers the output
		 * modifiers and <cr> (libcli adds <cr> when every entry is
		 * optional, and shows nothing at all for a command with none) */
		if (def->mode == SP_MODE_EXEC && strncmp(def->path, "show ", 5) == 0)
			cli_register_optarg(cmd, "|", CLI_CMD_OPTIONAL_FLAG | CLI_CMD_DO_NOT_RECORD, def->privilege,
					    mode, "Output modifiers (include, exclude, section, json, ...)",
					    NULL, NULL, NULL);
		return;
	}
	if (h->optional && h->names == SP_NAMES_NONE) {
		/* an optional keyword ("show sessions detail"): a sub-command, so
		 * `?` lists it beside the command's other sub-commands */
		for (struct cli_command *c = cmd->children; c; c = c->next)
			if (strcmp(c->command, h->name) == 0)
				return;
		cli_register_command(cli, cmd, h->name, sp_cli_keyword_arg_cb, def->privilege, mode, h->help);
		return;
	}
	name = h->names != SP_NAMES_NONE ? sp_cli_names_label(h->names) : h->name;
	flags |= CLI_CMD_ARGUMENT;
	o = cli_register_optarg(cmd, name, flags, def->privilege, mode, h->help,
				h->names != SP_NAMES_NONE ? sp_cli_complete_names : NULL, NULL, NULL);
	if (o && h->more) {
		char more[512], *save, *line;

		snprintf(more, sizeof(more), "%s", h->more);
		for (line = strtok_r(more, "\v", &save); line; line = strtok_r(NULL, "\v", &save)) {
			char *tab = strchr(line, '\t');

			if (tab) {
				*tab = '\0';
				cli_optarg_addhelp(o, line, tab + 1);
			}
		}
	}
}

/* ---- registering the command table with a libcli instance ---- */

struct sp_cli_node {
	int mode;
	char path[128];
	struct cli_command *cmd;
};

/* The keywords registered so far, by mode and path: every command looks
 * up each of its prefixes, so the lookup is a hash (open addressing, at
 * most half full), not a scan of all the nodes (quadratic in the table). */
#define SP_CLI_MAX_NODES 512
#define SP_CLI_NODE_SLOTS (2 * SP_CLI_MAX_NODES) /* a power of two */

struct sp_cli_registry {
	struct sp_cli_node nodes[SP_CLI_MAX_NODES];
	size_t n;
	uint16_t slot[SP_CLI_NODE_SLOTS]; /* 1 + index into nodes; 0: empty */
};

static size_t sp_cli_node_hash(int mode, const char *path)
{
	uint32_t h = 2166136261u ^ (uint32_t)mode; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (SP_CLI_NODE_SLOTS - 1);
}

static struct cli_command *sp_cli_node_find(const struct sp_cli_registry *reg, int mode, const char *path)
{
	for (size_t s = sp_cli_node_hash(mode, path); reg->slot[s]; s = (s + 1) & (SP_CLI_NODE_SLOTS - 1)) {
		const struct sp_cli_node *nd = &reg->nodes[reg->slot[s] - 1];

		/* a node libcli could not register (NULL) is looked for again */
		if (nd->cmd && nd->mode == mode && strcmp(nd->path, path) == 0)
			return nd->cmd;
	}
	return NULL;
}

/* Records a node (not found before); past SP_CLI_MAX_NODES nodes are not
 * recorded, as before the index. */
static void sp_cli_node_add(struct sp_cli_registry *reg, int mode, const char *path, struct cli_command *cmd)
{
	struct sp_cli_node *nd;
	size_t s;

	if (reg->n >= SP_CLI_MAX_NODES)
		return;
	nd = &reg->nodes[reg->n];
	nd->mode = mode;
	snprintf(nd->path, sizeof(nd->path), "%s", path);
	nd->cmd = cmd;
	for (s = sp_cli_node_hash(mode, nd->path); reg->slot[s]; s = (s + 1) & (SP_CLI_NODE_SLOTS - 1))
		;
	reg->slot[s] = (uint16_t)(++reg->n);
}

static const char *sp_cli_keyword_help(int mode, const char *path)
{
	size_t n;
	const struct sp_cmd_keyword_help *h = sp_cmd_keyword_helps(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].path, path) == 0 && (h[i].mode == mode || (sp_cmd_is_config_mode(mode) && h[i].mode == SP_MODE_CONFIG)))
			return h[i].help;
	return "";
}

static void sp_cli_register_path(struct cli_def *cli, struct sp_cli_registry *reg, int mode,
				 const struct sp_cmd_def *def)
{
	char path[128], prefix[128] = "", *save, *w, *next;
	struct cli_command *parent = NULL;

	snprintf(path, sizeof(path), "%s", def->path);
	for (w = strtok_r(path, " ", &save); w; w = next) {
		struct cli_command *found = NULL;
		bool last;

		next = strtok_r(NULL, " ", &save);
		last = next == NULL;
		if (prefix[0])
			strncat(prefix, " ", sizeof(prefix) - strlen(prefix) - 1);
		strncat(prefix, w, sizeof(prefix) - strlen(prefix) - 1);
		found = sp_cli_node_find(reg, mode, prefix);
		if (found && !last) {
			parent = found;
			continue;
		}
		if (found && last) {
			/* a keyword that is also a command ("signaling-proxy" and
			 * "signaling-proxy ..."): give the node the command's callback */
			found->callback = sp_cli_command_cb;
			found->privilege = def->privilege;
			if (def->mode == mode)
				sp_cli_register_arg(cli, found, mode, def);
			if (def->mode == mode && def->help) {
				/* the mode's own command wins, so does its help */
				char *h = strdup(def->help);
				if (h) {
					free(found->help);
					found->help = h;
				}
			}
			return;
		}
		found = cli_register_command(cli, parent, w, last ? sp_cli_command_cb : sp_cli_incomplete_cb,
					     last ? def->privilege : PRIVILEGE_UNPRIVILEGED, mode,
					     last ? def->help : sp_cli_keyword_help(mode, prefix));
		if (found && last)
			sp_cli_register_arg(cli, found, mode, def);
		sp_cli_node_add(reg, mode, prefix, found);
		parent = found;
	}
}

static const int sp_cli_config_modes[] = {
	SP_MODE_CONFIG, SP_MODE_SP, SP_MODE_STRATEGY, SP_MODE_INTERFACE, SP_MODE_PBR, SP_MODE_REDUNDANCY,
};
#define SP_CLI_N_CONFIG_MODES (sizeof(sp_cli_config_modes) / sizeof(sp_cli_config_modes[0]))

static struct cli_def *sp_cli_new_def(struct sp_cli_session *sess)
{
	struct cli_def *cli = cli_init();
	struct sp_cli_registry *reg;
	struct cli_command *c;
	size_t n;
	const struct sp_cmd_def *tab = sp_cmd_table(&n);

	if (!cli)
		return NULL;
	reg = calloc(1, sizeof(*reg));
	if (!reg) {
		cli_done(cli);
		return NULL;
	}
	cli_set_context(cli, sess);
	cli_set_hostname(cli, "sigproxy");
	sp_cli_register_filters(cli);
	cli_unregister_command(cli, "exit");
	cli_register_command(cli, NULL, "exit", sp_cli_exit_cb, PRIVILEGE_UNPRIVILEGED, MODE_ANY,
			     "Exit from the current mode");
	c = cli_register_command(cli, NULL, "terminal", NULL, PRIVILEGE_UNPRIVILEGED, MODE_EXEC,
				 "Terminal settings");
	c = cli_register_command(cli, c, "length", sp_cli_terminal_length_cb, PRIVILEGE_UNPRIVILEGED,
				 MODE_EXEC, "Lines per page (0: no paging)");
	if (c)
		cli_register_optarg(c, "0-512", CLI_CMD_ARGUMENT | CLI_CMD_DO_NOT_RECORD, PRIVILEGE_UNPRIVILEGED,
				    MODE_EXEC, "Lines per page, --More-- between pages (0: no paging)", NULL, NULL, NULL);
	for (size_t m = 0; m < SP_CLI_N_CONFIG_MODES; m++) {
		int mode = sp_cli_config_modes[m];

		cli_register_command(cli, NULL, "end", sp_cli_end_cb, PRIVILEGE_PRIVILEGED, mode,
				     "Exit to exec mode");
		cli_register_command(cli, NULL, "do", sp_cli_do_cb, PRIVILEGE_PRIVILEGED, mode,
				     "Run an exec command");
	}
	/* libcli's own "configure" (its "terminal" enters config mode): our
	 * "configure replace" goes beside it, not under a second "configure" */
	for (struct cli_command *cc = cli->commands; cc; cc = cc->next)
		if (strcmp(cc->command, "configure") == 0) {
			sp_cli_node_add(reg, cc->mode, "configure", cc);
			break;
		}
	for (size_t i = 0; i < n; i++) {
		if (tab[i].flags & SP_CMD_ALL_CONFIG_MODES) {
			for (size_t m = 0; m < SP_CLI_N_CONFIG_MODES; m++)
				sp_cli_register_path(cli, reg, sp_cli_config_modes[m], &tab[i]);
		} else {
			sp_cli_register_path(cli, reg, tab[i].mode, &tab[i]);
		}
	}
	free(reg);
	return cli;
}

/* ---- output capture for batch sessions and the loader ---- */

static void sp_cli_capture_cb(struct cli_def *cli, const char *s)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	if (sess->capture) {
		fputs(s, sess->capture);
		fputc('\n', sess->capture);
	}
}

static int sp_cli_capture_begin(struct sp_cli_session *sess)
{
	free(sess->capture_buf);
	sess->capture_buf = NULL;
	sess->capture_len = 0;
	sess->capture = open_memstream(&sess->capture_buf, &sess->capture_len);
	return sess->capture ? 0 : -1;
}

static void sp_cli_capture_end(struct sp_cli_session *sess)
{
	if (sess->capture) {
		fclose(sess->capture);
		sess->capture = NULL;
	}
}

/* ---- the configuration file loader ---- */

int sp_cli_load_text(const char *name, const char *text, struct sp_config *cand,
		     struct sp_error *e)
{
	struct sp_cli_session sess = { .kind = SP_CLI_LOADER, .fd = -1, .loader_cand = cand };
	const char *p = text;
	unsigned lineno = 0;
	int rc = 0;

	sess.cli = sp_cli_new_def(&sess);
	if (!sess.cli)
		return sp_error_set(e, "%s: out of memory", name);
	cli_print_callback(sess.cli, sp_cli_capture_cb);
	cli_set_privilege(sess.cli, PRIVILEGE_PRIVILEGED);
	cli_set_configmode(sess.cli, MODE_CONFIG, NULL);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[CLI_MAX_LINE_LENGTH];
		char *s;

		lineno++;
		if (len >= sizeof(line)) {
			rc = sp_error_set(e, "%s:%u: line too long", name, lineno);
			break;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol ? eol + 1 : p + len;
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (*s == '\0' || *s == '!')
			continue;
		if (strcmp(s, "end") == 0)
			break;
		if (sp_cli_capture_begin(&sess) < 0) {
			rc = sp_error_set(e, "%s:%u: out of memory", name, lineno);
			break;
		}
		rc = cli_run_command(sess.cli, s);
		sp_cli_capture_end(&sess);
		if (rc != CLI_OK) {
			char *msg = sess.capture_buf ? sess.capture_buf : "";
			size_t ml = strlen(msg);

			while (ml && msg[ml - 1] == '\n')
				msg[--ml] = '\0';
			if (msg[0] == '%')
				msg += msg[1] == ' ' ? 2 : 1;
			rc = sp_error_set(e, "%s:%u: %s", name, lineno, *msg ? msg : "invalid command");
			break;
		}
		/* Top-level commands may end a sub-mode; nothing leaves config mode. */
		if (sess.cli->mode == MODE_EXEC)
			cli_set_configmode(sess.cli, MODE_CONFIG, NULL);
	}
	if (rc == 0) {
		/* the lines of a block come in any order: blocks are checked
		 * as a whole at the end of the file */
		struct sp_error why;

		if (sp_config_validate(cand, &why) < 0)
			rc = sp_error_set(e, "%s: %s", name, why.msg);
	}
	free(sess.capture_buf);
	cli_done(sess.cli);
	return rc == 0 ? 0 : -1;
}

int sp_cli_load_file(const char *path, struct sp_config *cand, struct sp_error *e)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, len = 0;
	int rc;

	if (!f)
		return sp_error_set(e, "%s: %s", path, strerror(errno));
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *grown = realloc(text, cap = cap ? cap * 2 : 8192);
			if (!grown) {
				free(text);
				fclose(f);
				return sp_error_set(e, "%s: out of memory", path);
			}
			text = grown;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(text);
		fclose(f);
		return sp_error_set(e, "%s: read error", path);
	}
	fclose(f);
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		return sp_error_set(e, "%s: contains a NUL byte", path);
	}
	rc = sp_cli_load_text(path, text, cand, e);
	free(text);
	return rc;
}

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
static struct sp_cli_backoff *sp_cli_backoff_find(struct sp_cli_server *srv,
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
static void sp_cli_apply_exec_timeout(struct sp_cli_session *sess)
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
static void sp_cli_make_read_only(struct sp_cli_session *sess)
{
	cli_set_privilege(sess->cli, SP_CLI_PRIV_READ_ONLY);
	cli_unregister_command(sess->cli, "enable");
	cli_register_command(sess->cli, NULL, "enable", sp_cli_enable_refused_cb,
			     PRIVILEGE_UNPRIVILEGED, MODE_EXEC, "Not allowed: read-only access");
}

static int sp_cli_auth_cb(const char *user, const char *pass)
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
static int sp_cli_enable_cb(const char *pass)
{
	return sp_cli_check_credentials(NULL, pass, true) == CLI_OK;
}

static void sp_cli_session_reap_on_loop(void *arg)
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

static ssize_t sp_cli_read_line(int fd, char *buf, size_t cap)
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

static int sp_cli_write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- paging ----
 * Interactive sessions print through this callback (after libcli's
 * filters, so filtered-out lines do not count). While a command's output is
 * shown, every `terminal length - 1` lines it asks --More-- and reads one
 * key from the connection itself (libcli's loop is waiting for the command
 * to return): space a page more, Enter a line more, anything else (q)
 * drops the rest. */
#define SP_CLI_DEFAULT_PAGE_LEN 24

enum sp_cli_more_key { SP_MORE_PAGE, SP_MORE_LINE, SP_MORE_QUIT };

static enum sp_cli_more_key sp_cli_more(struct sp_cli_session *sess)
{
	static const char prompt[] = "--More--", erase[] = "\r        \r";
	unsigned char c;

	if (sp_cli_write_all(sess->io_fd, prompt, sizeof(prompt) - 1) < 0)
		return SP_MORE_QUIT;
	for (;;) {
		ssize_t r = read(sess->io_fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return SP_MORE_QUIT;
		atomic_store(&sess->last_ms, sp_loop_now_ms());
		if (c == 255) {
			/* a telnet command (IAC x [option]): not a key */
			unsigned char skip[2];
			if (read(sess->io_fd, skip, 1) == 1 && skip[0] >= 251 && skip[0] <= 254)
				(void)!read(sess->io_fd, skip + 1, 1);
			continue;
		}
		if (c == '\n' || c == '\0')
			continue; /* the rest of a CR LF or CR NUL line end */
		break;
	}
	sp_cli_write_all(sess->io_fd, erase, sizeof(erase) - 1);
	return c == ' ' ? SP_MORE_PAGE : c == '\r' ? SP_MORE_LINE : SP_MORE_QUIT;
}

/* The column where word `word` of the line being run starts (words as
 * libcli splits them: blanks between, quotes kept with their word). */
static int sp_cli_word_column(const char *line, int word)
{
	const char *p = line;

	for (int k = 0;; k++) {
		char quote = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || k == word)
			return (int)(p - line);
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (*p == '"' || *p == '\'')
				quote = quote == *p ? 0 : quote ? quote : *p;
			p++;
		}
	}
}

/* Interactive sessions: a '^' under the word a syntax error is about, as
 * IOS marks it (the typed line follows the prompt, so the prompt's width
 * counts). */
static void sp_cli_caret(struct cli_def *cli, int word)
{
	struct sp_cli_session *sess = cli_get_context(cli);
	size_t col;
	char *buf;

	if (!sess || !sess->interactive || !cli->pipeline || word < 0)
		return;
	col = (cli->hostname ? strlen(cli->hostname) : 0) + (cli->modestring ? strlen(cli->modestring) : 0) +
	      (cli->promptchar ? strlen(cli->promptchar) : 0) +
	      (size_t)sp_cli_word_column(cli->pipeline->cmdline, word);
	if (col > CLI_MAX_LINE_LENGTH * 2 || !(buf = malloc(col + 2)))
		return;
	memset(buf, ' ', col);
	buf[col] = '^';
	buf[col + 1] = '\0';
	cli_error(cli, "%s", buf);
	free(buf);
}

/* libcli's own parse errors ("Invalid command \"x\"", "Invalid argument
 * \"x\"", "Incomplete command", ...) come without the "% " of every other
 * error; printed while a line is parsed (no command output yet), they get
 * it here, and the word they name its '^'. */
static bool sp_cli_libcli_error(struct cli_def *cli, const char *line)
{
	static const char *const forms[] = { "Invalid command \"", "Invalid argument \"", "Incomplete command",
					     "Ambiguous ", "Problem ", "Invalid ", "No callback", "Empty command" };
	struct sp_cli_session *sess = cli_get_context(cli);
	bool is_error = false;

	if (line[0] == '%' || !cli->pipeline || sess->paging)
		return false;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]) && !is_error; i++)
		is_error = strncmp(line, forms[i], strlen(forms[i])) == 0;
	if (!is_error)
		return false;
	if (strncmp(line, "Invalid command \"", 17) == 0 || strncmp(line, "Invalid argument \"", 18) == 0) {
		const char *w = strchr(line, '"') + 1;
		size_t wl = strcspn(w, "\"");

		for (int k = line[8] == 'a' ? 1 : 0; k < cli->pipeline->num_words; k++)
			if (strlen(cli->pipeline->words[k]) == wl && strncmp(cli->pipeline->words[k], w, wl) == 0) {
				sp_cli_caret(cli, k);
				break;
			}
	}
	return true;
}

static void sp_cli_pager_cb(struct cli_def *cli, const char *line)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	if (sess->page_quit)
		return;
	if (!sess->paging && cli->pipeline && line[0] != '%') {
		/* `line` is libcli's print buffer, which the '^' line reuses */
		char *copy = strdup(line);

		if (copy && sp_cli_libcli_error(cli, copy)) {
			if (sp_cli_write_all(sess->io_fd, "% ", 2) == 0 &&
			    sp_cli_write_all(sess->io_fd, copy, strlen(copy)) == 0)
				sp_cli_write_all(sess->io_fd, "\r\n", 2);
			free(copy);
			return;
		}
		free(copy);
	}
	if (sess->paging && sess->page_len > 1 && sess->page_lines >= sess->page_len - 1) {
		switch (sp_cli_more(sess)) {
		case SP_MORE_PAGE:
			sess->page_lines = 0;
			break;
		case SP_MORE_LINE:
			sess->page_lines = sess->page_len - 2;
			break;
		case SP_MORE_QUIT:
			sess->page_quit = true;
			return;
		}
	}
	if (sp_cli_write_all(sess->io_fd, line, strlen(line)) == 0)
		sp_cli_write_all(sess->io_fd, "\r\n", 2);
	sess->page_lines++;
}

static void sp_cli_page_begin(struct sp_cli_session *sess)
{
	sess->paging = true;
	sess->page_lines = 0;
	sess->page_quit = false;
}

static void sp_cli_page_end(struct sp_cli_session *sess)
{
	sess->paging = false;
	sess->page_quit = false;
}

static void sp_cli_start_paging(struct sp_cli_session *sess)
{
	sess->interactive = true;
	sess->page_len = SP_CLI_DEFAULT_PAGE_LEN;
	cli_print_callback(sess->cli, sp_cli_pager_cb);
}

/* libcli records the lines of interactive sessions only: batch lines are
 * recorded here, the same way (oldest dropped when full), for show history. */
static void sp_cli_history_add(struct cli_def *cli, const char *line)
{
	char *copy;

	if (!line[0] || !(copy = strdup(line)))
		return;
	if (cli->history[MAX_HISTORY - 1]) {
		free(cli->history[0]);
		memmove(&cli->history[0], &cli->history[1], (MAX_HISTORY - 1) * sizeof(cli->history[0]));
		cli->history[MAX_HISTORY - 1] = NULL;
	}
	for (int i = 0; i < MAX_HISTORY; i++)
		if (!cli->history[i]) {
			cli->history[i] = copy;
			return;
		}
	free(copy);
}

static void sp_cli_batch_loop(struct sp_cli_session *sess)
{
	char line[CLI_MAX_LINE_LENGTH];

	cli_print_callback(sess->cli, sp_cli_capture_cb);
	while (sp_cli_read_line(sess->fd, line, sizeof(line)) >= 0) {
		char hdr[32];
		int rc;

		if (sp_cli_capture_begin(sess) < 0)
			break;
		if (strcmp(line, SP_CLI_BATCH_END) == 0) {
			rc = sess->cli->mode >= SP_MODE_SP ? sp_cli_leave_block(sess->cli) : CLI_OK;
		} else {
			sp_cli_history_add(sess->cli, line);
			rc = cli_run_command(sess->cli, line);
		}
		sp_cli_capture_end(sess);
		if (rc != CLI_OK && rc != CLI_QUIT && sess->capture_buf && sess->capture_buf[0] != '%') {
			/* libcli's own parse errors come without the "% " every
			 * other error line has: make them alike for scripts */
			char *prefixed = NULL;
			if (asprintf(&prefixed, "%% %s", sess->capture_buf) >= 0) {
				free(sess->capture_buf);
				sess->capture_buf = prefixed;
				sess->capture_len = strlen(prefixed);
			}
		}
		snprintf(hdr, sizeof(hdr), "%d %zu\n", rc == CLI_OK || rc == CLI_QUIT ? 0 : 1,
			 sess->capture_len);
		if (sp_cli_write_all(sess->fd, hdr, strlen(hdr)) < 0 ||
		    sp_cli_write_all(sess->fd, sess->capture_buf ? sess->capture_buf : "",
				     sess->capture_len) < 0 ||
		    rc == CLI_QUIT)
			break;
	}
}

/* The trusted socket's interactive session is privileged, as vtysh is; but
 * cli_loop() starts every session unprivileged. So the session enters
 * cli_loop() already "unprivileged" with an empty prompt and no hostname
 * (cli_loop's own cli_set_privilege() is then a no-op and its first prompt
 * prints nothing), and libcli's regular callback, due at once, raises it
 * and shows the real prompt: the first prompt the user sees ends in '#'. */
static int sp_cli_raise_cb(struct cli_def *cli)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	if (sess->raise_pending) {
		sess->raise_pending = false;
		cli_set_hostname(cli, sess->held_hostname);
		cli_set_privilege(cli, sess->raise_to);
		cli->timeout_tm.tv_sec = 1;
		cli->timeout_tm.tv_usec = 0;
		cli->showprompt = 1;
	}
	return CLI_OK;
}

static void sp_cli_start_privileged(struct sp_cli_session *sess, int privilege)
{
	struct cli_def *cli = sess->cli;

	snprintf(sess->held_hostname, sizeof(sess->held_hostname), "%s",
		 cli->hostname ? cli->hostname : "sigproxy");
	cli_set_hostname(cli, NULL);
	cli_set_privilege(cli, PRIVILEGE_UNPRIVILEGED);
	cli_set_promptchar(cli, "");
	sess->raise_pending = true;
	sess->raise_to = privilege;
	cli_regular(cli, sp_cli_raise_cb);
	cli->timeout_tm.tv_sec = 0;
	cli->timeout_tm.tv_usec = 1000;
}

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
			if (sp_cli_write_all(p->local, buf, (size_t)r) < 0)
				break;
		}
		if (pfd[1].revents) {
			ssize_t r = read(p->local, buf, sizeof(buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || sp_cli_write_all(p->net, buf, (size_t)r) < 0)
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

static void sp_cli_accept_cb(struct sp_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct sp_cli_server *srv = arg;
	struct sp_cli_session *sess;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sp_endpoint peer;
	enum sp_cli_kind kind = lfd == srv->tcp_fd ? SP_CLI_TCP : SP_CLI_UNIX;
	char from[SP_ENDPOINT_STRLEN] = "local", msg[128];
	enum sp_cli_refusal why = SP_CLI_OK;
	enum sp_access_role role = SP_ACCESS_NONE;
	uid_t uid;
	int fd;

	(void)loop;
	(void)events;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	sp_endpoint_clear(&peer);
	if (kind == SP_CLI_TCP) {
		sp_cli_peer(&ss, sl, &peer);
		sp_endpoint_format(&peer, from, sizeof(from));
		why = sp_cli_tcp_refusal(srv, &peer, msg, sizeof(msg));
	} else {
		/* the socket is open to every local user: the kernel's
		 * credentials of the peer decide, as sshd's user would be */
		role = sp_access_role_of_peer(&srv->groups, fd, &uid);
		snprintf(from, sizeof(from), "local uid %ld", uid == (uid_t)-1 ? -1L : (long)uid);
		if (role == SP_ACCESS_NONE) {
			snprintf(msg, sizeof(msg), "%% Access denied: not in group %s or %s\n",
				 srv->d->opt.cli_admin_group, srv->d->opt.cli_ro_group);
			why = SP_CLI_REFUSE_UNIX_DENIED;
		} else if (srv->n_unix >= SP_CLI_MAX_UNIX_SESSIONS) {
			snprintf(msg, sizeof(msg), "%% Too many CLI sessions\r\n");
			why = SP_CLI_REFUSE_UNIX_FULL;
		}
	}
	if (why != SP_CLI_OK) {
		if (write(fd, msg, strlen(msg)) < 0) { /* best effort */ }
		close(fd);
		sp_log_limited(&sp_cli_refusal_limits[why], LOG_WARNING, "cli: %s connection from %s refused: %s",
			       kind == SP_CLI_TCP ? "TCP" : "unix-socket", from, sp_cli_refusal_why[why]);
		return;
	}
	sess = calloc(1, sizeof(*sess));
	if (!sess) {
		close(fd);
		return;
	}
	sess->srv = srv;
	sess->fd = fd;
	sess->kind = kind;
	sess->peer = peer;
	snprintf(sess->from, sizeof(sess->from), "%s", from);
	if (kind == SP_CLI_UNIX) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			struct passwd pw, *res = NULL;
			char pwbuf[1024];

			getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &res);
			snprintf(sess->local_who, sizeof(sess->local_who), "%.*s (uid %u, pid %d) on the unix socket",
				 SP_USERNAME_MAX, res ? res->pw_name : "?", (unsigned)cred.uid, (int)cred.pid);
		}
	}
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
		close(fd);
		free(sess);
		return;
	}
	cli_set_hostname(sess->cli, sp_config_store_current(srv->d->config)->hostname);
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

void sp_cli_server_show_users(struct sp_cli_server *srv, FILE *out)
{
	uint64_t now = sp_loop_now_ms();

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
