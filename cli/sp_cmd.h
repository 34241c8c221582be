/* The command layer: one table of commands per CLI mode, each row its syntax,
 * help, privilege and handler. Handlers only read and edit the configuration
 * model (and read the daemon's state for show commands); they always run on
 * the daemon's event-loop thread. The same table serves interactive CLI
 * sessions, `sigproxy-cli -c` and the startup configuration file. */
#ifndef SP_CMD_H
#define SP_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_config.h"
#include "sp_error.h"

struct sp_daemon;

/* libcli's MODE_EXEC is 0 and MODE_CONFIG 1; our sub-modes follow. */
enum sp_cli_mode {
	SP_MODE_EXEC = 0,
	SP_MODE_CONFIG = 1,
	SP_MODE_SP = 10,
	SP_MODE_STRATEGY,
	SP_MODE_INTERFACE,
	SP_MODE_PBR,
	SP_MODE_REDUNDANCY,
	SP_MODE_MEDIA_PROXY,
};

/* What a sub-mode is editing. */
struct sp_cmd_edit {
	char name[SP_NAME_MAX + 1]; /* strategy / policy-route / interface name */
	uint32_t seq;
};

struct sp_cmd_ctx {
	struct sp_daemon *daemon; /* NULL in unit tests: show commands then say so */
	const struct sp_config *running;
	struct sp_config *cand;   /* the candidate a config command edits */
	int mode;                 /* mode the command runs in */
	struct sp_cmd_edit edit;  /* sub-mode object, in and out */
	int next_mode;            /* set by commands that change mode */
	FILE *out;
	struct sp_error err;
	/* the session's command history, for show history (may be NULL) */
	const char *const *history;
	size_t n_history;
	/* `show users`: the sessions of the CLI server running the command
	 * (NULL: none, as for the configuration file and in unit tests) */
	void (*show_users)(void *server, FILE *out, bool json);
	void *server;
	/* `| json` asked for the output: a show command with a JSON form of its
	 * own writes that and sets json_written (the others' text is read back
	 * into JSON by the filter) */
	bool json;
	bool json_written;
};

typedef int (*sp_cmd_fn)(struct sp_cmd_ctx *ctx, int argc, char **argv);

enum sp_cmd_flags {
	SP_CMD_EDITS_CONFIG = 1 << 0, /* runs on a candidate that is then committed */
	SP_CMD_ALL_CONFIG_MODES = 1 << 1, /* a top-level config command: also accepted in
					     sub-modes, which it leaves (as on IOS) */
};

struct sp_cmd_def {
	int mode;
	const char *path;  /* keywords, e.g. "match source" */
	const char *help;  /* help of the last keyword */
	const char *usage; /* arguments, e.g. "PREFIX [port N[-M]]"; NULL: none */
	int privilege;
	unsigned flags;
	sp_cmd_fn fn;
};

/* Help text for intermediate keywords ("match", "show", "no match", ...). */
struct sp_cmd_keyword_help {
	int mode;
	const char *path;
	const char *help;
};

const struct sp_cmd_def *sp_cmd_table(size_t *n);
const struct sp_cmd_keyword_help *sp_cmd_keyword_helps(size_t *n);
const struct sp_cmd_def *sp_cmd_find(int mode, const char *path);
/* The top-level config command of that path, or NULL: what IOS tries when a
 * line is not valid in the sub-mode ("signaling-proxy" typed in (config-if),
 * where the interface command of that name needs an argument). */
const struct sp_cmd_def *sp_cmd_find_global(const char *path);
/* True when a command failed on its syntax (it then changed nothing). */
bool sp_cmd_failed_on_syntax(const struct sp_cmd_ctx *ctx);
const char *sp_cmd_mode_desc(int mode); /* "strategy" for "(config-strategy)" */
bool sp_cmd_is_config_mode(int mode);

/* Runs one command: for SP_CMD_EDITS_CONFIG commands `ctx->cand` must be set.
 * On failure the message is in ctx->err. */
int sp_cmd_run(const struct sp_cmd_def *def, struct sp_cmd_ctx *ctx, int argc, char **argv);

/* Password hashing for `username ... secret` and `enable secret`
 * (crypt(3), yescrypt where available, else SHA-512). */
char *sp_cmd_hash_secret(const char *plain);
bool sp_cmd_check_secret(const char *plain, const char *hash);

/* Whether WORD introduces a secret (secret, key, password): every word after
 * it is one. ABBREVIATED also takes the short forms an operator may type
 * (sec, k, pass, ...); the audit log, which has the full keywords, does not. */
bool sp_cmd_word_introduces_secret(const char *word, bool abbreviated);

/* Prints LINE as typed, with every word after one that introduces a secret
 * replaced by <hidden> (words separated by one space). */
void sp_cmd_print_masked(FILE *out, const char *line);

#endif
