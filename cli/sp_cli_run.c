/* The CLI server, part: running a command on the loop thread, the audit
 * trail, and the commands of libcli's own (do, end, exit, terminal length). */
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

void sp_cli_pending_clear(struct sp_cli_session *sess)
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

void sp_cli_flush_on_loop(void *arg)
{
	struct sp_cli_flush_job *job = arg;

	job->rc = sp_cli_pending_flush(job->sess, job->sess->srv->d, &job->err);
}

/* From the session thread: leaves the block; on a refusal prints why. */
int sp_cli_leave_block(struct cli_def *cli)
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
	case SP_MODE_MEDIA_PROXY: snprintf(buf, cap, "[media-proxy %s] ", edit->name); break;
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
static void sp_cli_show_users(void *server, FILE *out, bool json)
{
	sp_cli_server_show_users(server, out, json);
}

/* The command's context: the running configuration, and a candidate when
 * it edits one (*cand, with the block's waiting lines replayed). -1 with
 * job->err: the block's waiting lines do not pass. */
static int sp_cli_job_ctx(struct sp_cli_job *job, struct sp_daemon *d, struct sp_config *direct,
			  bool in_block, struct sp_cmd_ctx *ctx, struct sp_config **cand)
{
	ctx->daemon = d;
	ctx->history = (const char *const *)job->sess->cli->history;
	ctx->n_history = MAX_HISTORY;
	ctx->mode = job->mode;
	ctx->edit = job->sess->edit;
	ctx->show_users = sp_cli_show_users;
	ctx->server = job->sess->srv;
	ctx->json = job->sess->json_asked;
	if (direct) {
		ctx->running = direct;
		ctx->cand = direct;
		return 0;
	}
	ctx->running = sp_config_store_current(d->config);
	if ((job->def->flags & SP_CMD_ALL_CONFIG_MODES) && in_block &&
	    sp_cli_pending_flush(job->sess, d, &ctx->err) < 0) {
		/* a top-level command leaves the block: it is checked first */
		job->err = ctx->err;
		return -1;
	}
	if (job->def->flags & SP_CMD_EDITS_CONFIG) {
		*cand = sp_cli_pending_replay(job->sess, d, &ctx->err);
		if (!*cand) {
			job->err = ctx->err;
			sp_cli_pending_clear(job->sess);
			return -1;
		}
		ctx->cand = *cand;
	}
	return 0;
}

/* Not valid in the sub-mode: the global command of that name, as IOS
 * does; a syntax failure changed nothing, so the same candidate serves.
 * True when it ran (the command then left the block). */
static bool sp_cli_job_retry_global(struct sp_cli_job *job, struct sp_cmd_ctx *ctx)
{
	const struct sp_cmd_def *global = sp_cmd_find_global(job->def->path);
	struct sp_cmd_ctx retry = *ctx;

	if (global && (global->flags & SP_CMD_EDITS_CONFIG) == (job->def->flags & SP_CMD_EDITS_CONFIG) &&
	    sp_cmd_run(global, &retry, job->argc, job->argv) == 0) {
		*ctx = retry;
		return true;
	}
	return false;
}

/* The edited candidate (freed here): committed as one transaction with the
 * block's waiting lines, or, inside a block not valid yet, the line waits
 * for the rest of it (checked again with each line, and when the block is
 * left). */
static void sp_cli_job_commit(struct sp_cli_job *job, struct sp_daemon *d, struct sp_cmd_ctx *ctx,
			      struct sp_config *cand, bool in_block, bool left_block)
{
	struct sp_error why;

	if (in_block && !left_block && sp_config_validate(cand, &why) < 0) {
		if (sp_cli_pending_add(job->sess, job->def, job->mode, &job->sess->edit, job->argc,
				       job->argv) < 0) {
			sp_cli_pending_clear(job->sess);
			sp_error_set(&ctx->err, "Out of memory");
			job->rc = -1;
		}
		sp_config_free(cand);
		return;
	}
	job->rc = sp_config_store_commit(d->config, cand, NULL, &ctx->err);
	if (job->rc == 0 || left_block)
		sp_cli_pending_clear(job->sess);
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
	ctx.out = out;
	if (sp_cli_job_ctx(job, d, direct, in_block, &ctx, &cand) < 0)
		goto done;
	job->rc = sp_cmd_run(job->def, &ctx, job->argc, job->argv);
	job->sess->json_written = ctx.json_written;
	if (job->rc < 0 && sp_cmd_failed_on_syntax(&ctx) && job->mode != SP_MODE_CONFIG &&
	    !(job->def->flags & SP_CMD_ALL_CONFIG_MODES) && sp_cli_job_retry_global(job, &ctx)) {
		job->rc = 0;
		left_block = in_block;
	}
	if (job->rc == 0 && cand) {
		sp_cli_job_commit(job, d, &ctx, cand, in_block, left_block);
		cand = NULL;
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

int sp_cli_dispatch(struct cli_def *cli, const struct sp_cmd_def *def, int argc, char **argv)
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

int sp_cli_command_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	const struct sp_cmd_def *def = sp_cmd_find(cli->mode, command);

	if (!def) {
		cli_error(cli, "%% Invalid command \"%s\" in this mode", command);
		return CLI_ERROR;
	}
	return sp_cli_dispatch(cli, def, argc, argv);
}

int sp_cli_incomplete_cb(struct cli_def *cli, const char *command, char **argv, int argc)
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
int sp_cli_do_cb(struct cli_def *cli, const char *command, char **argv, int argc)
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

int sp_cli_end_cb(struct cli_def *cli, const char *command, char **argv, int argc)
{
	int rc = cli->mode >= SP_MODE_SP ? sp_cli_leave_block(cli) : CLI_OK;

	(void)command;
	(void)argv;
	(void)argc;
	cli_set_configmode(cli, MODE_EXEC, NULL);
	return rc;
}

int sp_cli_exit_cb(struct cli_def *cli, const char *command, char **argv, int argc)
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

int sp_cli_terminal_length_cb(struct cli_def *cli, const char *command, char **argv, int argc)
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
