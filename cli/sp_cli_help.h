/* Argument help for the CLI's `?` and tab completion: what the first
 * argument of each command is (its type or range, as IOS shows them:
 * A.B.C.D/M, <1-4094>, WORD), further forms, and which configured names
 * complete it. Kept apart from the command table so the grammar rows stay
 * one line each. */
#ifndef SP_CLI_HELP_H
#define SP_CLI_HELP_H

#include <stdbool.h>

/* Configured names a first argument completes to. */
enum sp_cli_names {
	SP_NAMES_NONE,
	SP_NAMES_STRATEGY,
	SP_NAMES_POLICY_ROUTE,
	SP_NAMES_INTERFACE, /* configured, then the host's interfaces */
	SP_NAMES_USER,
};

struct sp_cli_arg_help {
	int mode;            /* the command's own mode (SP_MODE_CONFIG for top-level) */
	const char *path;    /* the command, as in the command table */
	const char *name;    /* the first argument: "A.B.C.D/M", "1-4094", "WORD" */
	const char *help;    /* what it is */
	const char *more;    /* other forms, "NAME\tHELP" lines joined by '\v', or NULL */
	bool optional;       /* the command also runs without it; an optional keyword
				(names NONE) is offered as a sub-command */
	enum sp_cli_names names;
};

/* The help of the first argument of the command at `path` of `mode`, or
 * NULL for a command that takes no argument. */
const struct sp_cli_arg_help *sp_cli_arg_help_find(int mode, const char *path);
/* How `?` names an argument completed from configured names ("IFNAME");
 * distinct per kind, so a completor can tell the kind from it. */
const char *sp_cli_names_label(enum sp_cli_names kind);

#endif
