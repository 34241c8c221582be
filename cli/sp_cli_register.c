/* The CLI server, part: output filters, completion of configured names,
 * registering the command table with libcli, output capture and the
 * configuration file loader. */
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
			struct sp_cli_session *sess = cli_get_context(cli);
			bool native = sess && sess->json_written;
			char *json = NULL;

			if (f->text && fclose(f->text) == 0 && !native)
				json = sp_show_json(f->text_buf ? f->text_buf : "", f->text_len);
			if (native && f->text_buf && f->text_len && f->text_buf[f->text_len - 1] == '\n')
				f->text_buf[f->text_len - 1] = '\0'; /* the command's own JSON line */
			sp_filter_emit_direct(cli, native ? (f->text_buf ? f->text_buf : "{}")
						  : json ? json : "{\"error\":\"out of memory\"}");
			free(json);
			free(f->text_buf);
			if (sess)
				sess->json_asked = sess->json_written = false;
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
		if (f->kind == SP_FILTER_JSON) {
			struct sp_cli_session *sess = cli_get_context(cli);

			if (sess) {
				sess->json_asked = true;
				sess->json_written = false;
			}
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
	SP_MODE_MEDIA_PROXY,
};
#define SP_CLI_N_CONFIG_MODES (sizeof(sp_cli_config_modes) / sizeof(sp_cli_config_modes[0]))

struct cli_def *sp_cli_new_def(struct sp_cli_session *sess)
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

void sp_cli_capture_cb(struct cli_def *cli, const char *s)
{
	struct sp_cli_session *sess = cli_get_context(cli);

	if (sess->capture) {
		fputs(s, sess->capture);
		fputc('\n', sess->capture);
	}
}

int sp_cli_capture_begin(struct sp_cli_session *sess)
{
	free(sess->capture_buf);
	sess->capture_buf = NULL;
	sess->capture_len = 0;
	sess->capture = open_memstream(&sess->capture_buf, &sess->capture_len);
	return sess->capture ? 0 : -1;
}

void sp_cli_capture_end(struct sp_cli_session *sess)
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
