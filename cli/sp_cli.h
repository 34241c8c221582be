/* The CLI server: libcli sessions over TCP (with login) and over the local
 * unix socket (trusted like vtysh's: no login, privileged), each in its own
 * thread because libcli's session loop blocks; every command is handed to the
 * event loop thread to run (sp_loop_call_sync), so the model is only ever
 * touched there. Also reads configuration files through the same grammar. */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <stdio.h>

#include "sp_config.h"
#include "sp_error.h"

struct sp_daemon;
struct sp_cli_server;

struct sp_cli_server *sp_cli_server_start(struct sp_daemon *d, struct sp_error *e);
/* Closes the listeners, ends every session and waits for their threads.
 * Call sp_loop_close_calls() first so no session waits on the loop. */
void sp_cli_server_stop(struct sp_cli_server *srv);

/* `show users`: every CLI session, who, from where, since when and idle
 * for how long (loop thread). */
/* json: one JSON object (`show users | json`) instead of the table. */
void sp_cli_server_show_users(struct sp_cli_server *srv, FILE *out, bool json);

/* Runs the commands of a configuration file (config mode, one per line, '!'
 * comments) against `cand`. Stops at the first error: `e` gets
 * "PATH:LINE: reason". */
int sp_cli_load_file(const char *path, struct sp_config *cand, struct sp_error *e);
/* The same for text in memory (unit tests, SNMP-free round trips). */
int sp_cli_load_text(const char *name, const char *text, struct sp_config *cand,
		     struct sp_error *e);

/* The unix socket protocol between sigproxy-cli and the daemon. The client
 * sends one hello line, then:
 *  - "interactive": raw terminal bytes both ways (libcli's own line editing);
 *  - "batch": per command, one line; the daemon answers
 *    "<status> <length>\n" followed by <length> bytes of output
 *    (status 0: success, 1: the command failed, output is the error). */
#define SP_CLI_HELLO_INTERACTIVE "SPCLI/1 interactive\n"
#define SP_CLI_HELLO_BATCH "SPCLI/1 batch\n"
/* Sent by the client after its last command: the daemon leaves the block
 * being edited (checks and commits its waiting lines) and answers as for a
 * command, so an invalid block is an error of the batch. */
#define SP_CLI_BATCH_END "\004"

#endif
