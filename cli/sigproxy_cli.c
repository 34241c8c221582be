/* sigproxy-cli: the local client of sigproxyd's CLI, like vtysh: interactive
 * on a terminal, or one command per -c (or per stdin line) in batch. */
#include "config.h"
#include "sp_cli.h"
#include "sp_io.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define SP_DEFAULT_CLI_SOCKET RUNSTATEDIR "/sigproxy/cli.sock"

static int sp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sigproxy-cli: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "sigproxy-cli: cannot connect to %s: %s (is sigproxyd running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* What the daemon sends before it closes, to the end: its refusal line is
 * as long as the daemon makes it (group names, a banner), and the client
 * has no length of it to trust. */
static void sp_copy_rest(int fd)
{
	char buf[512];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			fwrite(buf, 1, (size_t)r, stderr);
}

/* The daemon refuses a peer it does not trust with one "% ..." line and
 * closes: show that line rather than a broken pipe. */
static void sp_print_refusal(int fd)
{
	char first;

	if (read(fd, &first, 1) == 1 && first == '%') {
		fputc(first, stderr);
		sp_copy_rest(fd);
	}
}

/* Runs one command; returns 0 if it succeeded, 1 if it failed, -1 if the
 * connection broke. */
static int sp_batch_command(int fd, const char *cmd)
{
	char hdr[32], *out;
	size_t n, len;
	int status;

	if (strchr(cmd, '\n')) {
		fprintf(stderr, "%% A command cannot contain a newline\n");
		return 1;
	}
	if (sp_write_all(fd, cmd, strlen(cmd)) < 0 || sp_write_all(fd, "\n", 1) < 0) {
		sp_print_refusal(fd);
		return -1;
	}
	if (sp_read_all(fd, hdr, 1) < 0)
		return -1;
	if (hdr[0] == '%') {
		/* refused before the first command (access denied): the line
		 * is the daemon's, not a header, and may be longer than one */
		fputc('%', stderr);
		sp_copy_rest(fd);
		return -1;
	}
	for (n = 1; n + 1 < sizeof(hdr) && hdr[n - 1] != '\n'; n++)
		if (sp_read_all(fd, hdr + n, 1) < 0)
			return -1;
	hdr[n] = '\0';
	if (sscanf(hdr, "%d %zu", &status, &len) != 2 || len > (64u << 20))
		return -1;
	out = malloc(len + 1);
	if (!out || sp_read_all(fd, out, len) < 0) {
		free(out);
		return -1;
	}
	fwrite(out, 1, len, status == 0 ? stdout : stderr);
	free(out);
	return status == 0 ? 0 : 1;
}

static int sp_batch(int fd, char **cmds, int n_cmds, FILE *in)
{
	int failed = 0, rc;

	if (sp_write_all(fd, SP_CLI_HELLO_BATCH, strlen(SP_CLI_HELLO_BATCH)) < 0) {
		sp_print_refusal(fd);
		return 2;
	}
	for (int i = 0; i < n_cmds; i++) {
		rc = sp_batch_command(fd, cmds[i]);
		if (rc < 0) {
			fprintf(stderr, "sigproxy-cli: connection to sigproxyd lost\n");
			return 2;
		}
		failed |= rc;
	}
	if (in) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;

		while ((len = getline(&line, &cap, in)) >= 0) {
			while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = '\0';
			rc = sp_batch_command(fd, line);
			if (rc < 0) {
				fprintf(stderr, "sigproxy-cli: connection to sigproxyd lost\n");
				free(line);
				return 2;
			}
			failed |= rc;
		}
		free(line);
	}
	/* the daemon has closed already when the commands ended with exit */
	rc = sp_batch_command(fd, SP_CLI_BATCH_END);
	if (rc > 0)
		failed |= rc;
	return failed ? 1 : 0;
}

static int sp_interactive(int fd)
{
	struct termios saved, raw;
	struct pollfd pfd[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	char buf[4096];

	if (sp_write_all(fd, SP_CLI_HELLO_INTERACTIVE, strlen(SP_CLI_HELLO_INTERACTIVE)) < 0)
		return 2;
	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return 2;
	raw = saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* libcli writes \r\n itself; keep output sane */
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r <= 0 || sp_write_all(fd, buf, (size_t)r) < 0)
				break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0 || sp_write_all(STDOUT_FILENO, buf, (size_t)r) < 0)
				break;
		}
	}
	tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	putchar('\n');
	return 0;
}

static void sp_usage(FILE *f)
{
	fprintf(f, "Usage: sigproxy-cli [-s SOCKET] [-c COMMAND]...\n"
		   "Runs commands on the local sigproxyd: each -c in order, starting in exec\n"
		   "mode; without -c, an interactive session on a terminal, or one command\n"
		   "per line of standard input. Exit status 1 when a command failed.\n"
		   "As an SSH forced command, runs SSH_ORIGINAL_COMMAND as one command.\n\n"
		   "  -s, --socket PATH   the daemon's CLI socket (default %s)\n"
		   "  -c, --command CMD   a command to run (repeatable)\n"
		   "  -V, --version       print the version\n"
		   "  -h, --help          this help\n",
		SP_DEFAULT_CLI_SOCKET);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "command", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SP_DEFAULT_CLI_SOCKET;
	char **cmds = calloc((size_t)argc + 1, sizeof(*cmds));
	int n_cmds = 0, c, fd, rc;

	if (!cmds)
		return 2;
	/* a daemon that closed (exit, shutdown) is an error to report, not a
	 * signal to die of */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "s:c:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'c': cmds[n_cmds++] = optarg; break;
		case 'V': printf("sigproxy-cli %s\n", PACKAGE_VERSION); return 0;
		case 'h': sp_usage(stdout); return 0;
		default: sp_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		sp_usage(stderr);
		return 2;
	}
	/* as an SSH forced command: `ssh router show sessions` runs that
	 * one command (sshd passes it here, never to a shell) */
	if (!n_cmds && getenv("SSH_ORIGINAL_COMMAND") && *getenv("SSH_ORIGINAL_COMMAND"))
		cmds[n_cmds++] = getenv("SSH_ORIGINAL_COMMAND");
	signal(SIGPIPE, SIG_IGN); /* a closed connection is an error, not a kill */
	fd = sp_connect(path);
	if (fd < 0) {
		free(cmds);
		return 2;
	}
	if (n_cmds)
		rc = sp_batch(fd, cmds, n_cmds, NULL);
	else if (isatty(STDIN_FILENO))
		rc = sp_interactive(fd);
	else
		rc = sp_batch(fd, NULL, 0, stdin);
	close(fd);
	free(cmds);
	return rc;
}
