/* The CLI server, part: paging (--More--), the '^' marker, history, the
 * batch loop and raising a unix session's privilege. */
#include "config.h"
#include "sp_cli.h"
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

	if (sp_write_all(sess->io_fd, prompt, sizeof(prompt) - 1) < 0)
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
	sp_write_all(sess->io_fd, erase, sizeof(erase) - 1);
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
void sp_cli_caret(struct cli_def *cli, int word)
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
			if (sp_write_all(sess->io_fd, "% ", 2) == 0 &&
			    sp_write_all(sess->io_fd, copy, strlen(copy)) == 0)
				sp_write_all(sess->io_fd, "\r\n", 2);
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
	if (sp_write_all(sess->io_fd, line, strlen(line)) == 0)
		sp_write_all(sess->io_fd, "\r\n", 2);
	sess->page_lines++;
}

void sp_cli_page_begin(struct sp_cli_session *sess)
{
	sess->paging = true;
	sess->page_lines = 0;
	sess->page_quit = false;
}

void sp_cli_page_end(struct sp_cli_session *sess)
{
	sess->paging = false;
	sess->page_quit = false;
}

void sp_cli_start_paging(struct sp_cli_session *sess)
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

void sp_cli_batch_loop(struct sp_cli_session *sess)
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
		if (sp_write_all(sess->fd, hdr, strlen(hdr)) < 0 ||
		    sp_write_all(sess->fd, sess->capture_buf ? sess->capture_buf : "",
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

void sp_cli_start_privileged(struct sp_cli_session *sess, int privilege)
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
