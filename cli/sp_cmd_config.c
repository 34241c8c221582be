/* The command layer, part: configuration mode at the top level (hostname,
 * users, the management plane, operator habits, entering the blocks) and
 * the exec commands that go with them (debug, logs, history, users). */
#include "config.h"
#include "sp_cmd.h"
#include "sp_cmd_int.h"
#include "sp_config_file.h"
#include "sp_daemon.h"
#include "sp_engine.h"
#include "sp_pbr.h"
#include "sp_log.h"
#include "sp_persist.h"
#include "sp_keyobf.h"
#include "sp_redundancy.h"
#include "sp_show.h"
#include "sp_status.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- config mode: top level ---- */

int cmd_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "hostname NAME");
	if (sp_check_hostname(argv[0], &ctx->err) < 0)
		return -1;
	strcpy(ctx->cand->hostname, argv[0]);
	return 0;
}

int cmd_no_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	strcpy(ctx->cand->hostname, "sigproxy");
	return 0;
}

/* username NAME [privilege {1|15}] secret ...: Cisco's order, the
 * privilege before the secret. */
int cmd_username(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "username NAME [privilege {1 | 15}] secret {PASSWORD | hashed HASH}";
	int privilege = SP_USER_PRIVILEGE_NONE, first = 1;
	char *h;
	int rc;

	if (argc >= 3 && strcmp(argv[1], "privilege") == 0) {
		if (strcmp(argv[2], "1") == 0)
			privilege = SP_USER_PRIVILEGE_READ_ONLY;
		else if (strcmp(argv[2], "15") == 0)
			privilege = SP_USER_PRIVILEGE_ADMIN;
		else
			return sp_error_set(&ctx->err, "Invalid privilege \"%s\" (1 or 15)", argv[2]);
		first = 3;
	}
	if (argc < first + 2 || strcmp(argv[first], "secret") != 0)
		return sp_cmd_usage(ctx, usage);
	if (sp_check_username(argv[0], &ctx->err) < 0)
		return -1;
	if (!(h = sp_cmd_secret_arg(ctx, argc - first - 1, argv + first + 1, usage)))
		return -1;
	rc = sp_config_user_set(ctx->cand, argv[0], privilege, h, &ctx->err);
	free(h);
	return rc;
}

int cmd_no_username(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc < 1)
		return sp_cmd_usage(ctx, "no username NAME");
	if (!sp_config_user_remove(ctx->cand, argv[0]))
		return sp_error_set(&ctx->err, "No such user \"%s\"", argv[0]);
	return 0;
}

int cmd_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	char *h = sp_cmd_secret_arg(ctx, argc, argv, "enable secret {PASSWORD | hashed HASH}");
	int rc;

	if (!h)
		return -1;
	rc = sp_config_enable_secret_set(ctx->cand, h);
	free(h);
	return rc < 0 ? sp_error_set(&ctx->err, "Out of memory") : 0;
}

int cmd_no_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sp_config_enable_secret_set(ctx->cand, NULL);
	return 0;
}

/* ---- the management plane: cli login-timeout / exec-timeout / access-class ---- */

int cmd_cli_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "cli login-timeout SECONDS (1-86400)");
	return sp_parse_u32(argv[0], 1, SP_CLI_TIMEOUT_MAX, "login timeout",
			    &ctx->cand->cli.login_timeout, &ctx->err);
}

int cmd_cli_no_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->cli.login_timeout = SP_DEFAULT_CLI_LOGIN_TIMEOUT;
	return 0;
}

int cmd_cli_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "cli exec-timeout SECONDS (0: never, at most 86400)");
	return sp_parse_u32(argv[0], 0, SP_CLI_TIMEOUT_MAX, "exec timeout",
			    &ctx->cand->cli.exec_timeout, &ctx->err);
}

int cmd_cli_no_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->cli.exec_timeout = SP_DEFAULT_CLI_EXEC_TIMEOUT;
	return 0;
}

int cmd_cli_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_cli_settings *c = &ctx->cand->cli;
	struct sp_prefix p;

	if (argc != 1)
		return sp_cmd_usage(ctx, "cli access-class PREFIX");
	if (sp_parse_prefix(argv[0], &p, &ctx->err) < 0)
		return -1;
	for (unsigned i = 0; i < c->n_access; i++)
		if (sp_prefix_equal(&c->access[i], &p))
			return 0;
	if (c->n_access >= SP_CLI_ACCESS_MAX)
		return sp_error_set(&ctx->err, "At most %d cli access-class prefixes", SP_CLI_ACCESS_MAX);
	c->access[c->n_access++] = p;
	return 0;
}

/* `no cli access-class PREFIX` removes one; without a prefix, all of them
 * (every source may connect again). */
int cmd_cli_no_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_cli_settings *c = &ctx->cand->cli;
	struct sp_prefix p;
	char pb[SP_PREFIX_STRLEN];

	if (argc == 0) {
		c->n_access = 0;
		return 0;
	}
	if (argc != 1)
		return sp_cmd_usage(ctx, "no cli access-class [PREFIX]");
	if (sp_parse_prefix(argv[0], &p, &ctx->err) < 0)
		return -1;
	for (unsigned i = 0; i < c->n_access; i++)
		if (sp_prefix_equal(&c->access[i], &p)) {
			memmove(&c->access[i], &c->access[i + 1], (c->n_access - i - 1) * sizeof(p));
			c->n_access--;
			return 0;
		}
	return sp_error_set(&ctx->err, "No cli access-class %s", sp_prefix_str(&p, pb, sizeof(pb)));
}

/* ---- operator habits: banner, remote syslog, debug, logs, history ---- */

int cmd_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	char text[SP_BANNER_MAX + 1] = "";
	size_t len = 0;

	if (argc < 1)
		return sp_cmd_usage(ctx, "banner motd TEXT");
	for (int i = 0; i < argc; i++) {
		int n = snprintf(text + len, sizeof(text) - len, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(text) - len)
			return sp_error_set(&ctx->err, "Banner too long (at most %d characters)", SP_BANNER_MAX);
		len += (size_t)n;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f)
			return sp_error_set(&ctx->err, "Invalid banner: printable ASCII only");
	memcpy(ctx->cand->cli.banner_motd, text, len + 1);
	return 0;
}

int cmd_no_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->cli.banner_motd[0] = '\0';
	return 0;
}

static int sp_cmd_log_host_arg(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage,
			       struct sp_log_host *h)
{
	h->port = SP_DEFAULT_SYSLOG_PORT;
	if (argc != 1 && !(argc == 3 && sp_word_is(argv[1], "port")))
		return sp_cmd_usage(ctx, usage);
	if (sp_parse_addr(argv[0], &h->addr, &ctx->err) < 0)
		return -1;
	if (argc == 3 && sp_parse_port(argv[2], &h->port, &ctx->err) < 0)
		return -1;
	return 0;
}

int cmd_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_cli_settings *c = &ctx->cand->cli;
	struct sp_log_host h;

	if (sp_cmd_log_host_arg(ctx, argc, argv, "logging host A.B.C.D [port N]", &h) < 0)
		return -1;
	for (unsigned i = 0; i < c->n_log_hosts; i++)
		if (sp_addr_equal(&c->log_hosts[i].addr, &h.addr)) {
			c->log_hosts[i].port = h.port; /* the same host: its port changes */
			return 0;
		}
	if (c->n_log_hosts == SP_LOG_HOSTS_MAX)
		return sp_error_set(&ctx->err, "At most %d logging hosts", SP_LOG_HOSTS_MAX);
	c->log_hosts[c->n_log_hosts++] = h;
	return 0;
}

int cmd_no_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_cli_settings *c = &ctx->cand->cli;
	struct sp_log_host h;
	char ab[SP_ADDR_STRLEN];

	if (sp_cmd_log_host_arg(ctx, argc, argv, "no logging host A.B.C.D", &h) < 0)
		return -1;
	for (unsigned i = 0; i < c->n_log_hosts; i++)
		if (sp_addr_equal(&c->log_hosts[i].addr, &h.addr)) {
			memmove(&c->log_hosts[i], &c->log_hosts[i + 1],
				(c->n_log_hosts - i - 1) * sizeof(c->log_hosts[0]));
			c->n_log_hosts--;
			return 0;
		}
	return sp_error_set(&ctx->err, "No logging host %s", sp_addr_str(&h.addr, ab, sizeof(ab)));
}

/* `debug {engine|sip|kernel|sync|all}`: not configuration (as on IOS, it
 * is gone after a restart). */
static int sp_cmd_debug(struct sp_cmd_ctx *ctx, int argc, char **argv, bool on)
{
	unsigned cat;

	if (argc != 1)
		return sp_cmd_usage(ctx, on ? "debug {engine|sip|kernel|sync|all}"
					    : "no debug {engine|sip|kernel|sync|all}");
	cat = sp_word_is(argv[0], "all") ? SP_DEBUG_ALL : sp_log_debug_from_name(argv[0]);
	if (!cat)
		return sp_cmd_usage(ctx, on ? "debug {engine|sip|kernel|sync|all}"
					    : "no debug {engine|sip|kernel|sync|all}");
	sp_log_debug_set(cat, on);
	for (unsigned bit = 1; bit & SP_DEBUG_ALL; bit <<= 1)
		if (cat & bit)
			fprintf(ctx->out, "%s debugging is %s\n", sp_log_debug_name(bit), on ? "on" : "off");
	return 0;
}

int cmd_debug(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	return sp_cmd_debug(ctx, argc, argv, true);
}

int cmd_no_debug(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	return sp_cmd_debug(ctx, argc, argv, false);
}

int cmd_show_debugging(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	unsigned on = sp_log_debug_get();

	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show debugging");
	if (!on) {
		fprintf(ctx->out, "No debugging is on\n");
		return 0;
	}
	fprintf(ctx->out, "Debugging on (debug lines logged whatever the log level):\n");
	for (unsigned bit = 1; bit & SP_DEBUG_ALL; bit <<= 1)
		if (on & bit)
			fprintf(ctx->out, "  %s\n", sp_log_debug_name(bit));
	return 0;
}

int cmd_show_logging(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show logging");
	fprintf(ctx->out, "Log buffer (the last %d lines, oldest first):\n", SP_LOG_RING_LINES);
	sp_log_ring_print(ctx->out);
	return 0;
}

bool sp_cmd_word_introduces_secret(const char *word, bool abbreviated)
{
	/* the shortest forms that still say which word is meant: "s" or "p"
	 * alone would hide too much of a history, "k" is key in every mode
	 * that has one */
	static const struct {
		const char *word;
		size_t min_abbrev;
	} secret_words[] = { { "secret", 3 }, { "key", 1 }, { "password", 4 } };
	size_t len = strlen(word);

	for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++) {
		if (abbreviated ? len >= secret_words[i].min_abbrev && len <= strlen(secret_words[i].word) &&
					  strncasecmp(word, secret_words[i].word, len) == 0
				: strcmp(word, secret_words[i].word) == 0)
			return true;
	}
	return false;
}

void sp_cmd_print_masked(FILE *out, const char *line)
{
	bool hide = false, first = true;
	/* longer than any keyword: a longer word never introduces a secret */
	char word[16];
	const char *p = line;

	for (;;) {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (!n)
			break;
		if (hide)
			fprintf(out, "%s<hidden>", first ? "" : " ");
		else
			fprintf(out, "%s%.*s", first ? "" : " ", (int)n, p);
		if (n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			hide |= sp_cmd_word_introduces_secret(word, true);
		}
		first = false;
		p += n;
	}
}

/* The lines as typed, secrets hidden as the audit log hides them: the
 * history is shown to whoever uses the session next, and a mistyped
 * secret command (never audited as what it meant) is still a secret. */
int cmd_show_history(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show history");
	for (size_t i = 0; i < ctx->n_history; i++)
		if (ctx->history[i]) {
			fputs("  ", ctx->out);
			sp_cmd_print_masked(ctx->out, ctx->history[i]);
			fputc('\n', ctx->out);
		}
	return 0;
}

int cmd_show_startup_config(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	FILE *f;
	char buf[4096];
	size_t n;

	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show startup-config");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to show the startup configuration of");
	f = fopen(ctx->daemon->opt.config_path, "r");
	if (!f)
		return sp_error_set(&ctx->err, "No startup configuration (%s: %s)", ctx->daemon->opt.config_path,
				    strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, ctx->out);
	fclose(f);
	return 0;
}

/* `configure replace FILE`: the file becomes the running configuration in
 * one transaction (checked as a whole; only the difference is applied to
 * the kernel and the engine; on any refusal nothing changes). */
int cmd_configure_replace(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint64_t before;

	if (argc != 1)
		return sp_cmd_usage(ctx, "configure replace FILE");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to replace the configuration of");
	before = sp_config_store_generation(ctx->daemon->config);
	if (sp_config_file_load(ctx->daemon->config, argv[0], false, true, &ctx->err) < 0)
		return -1;
	fprintf(ctx->out, "Configuration replaced from %s%s\n", argv[0],
		sp_config_store_generation(ctx->daemon->config) == before ? " (no change)" : "");
	return 0;
}

int cmd_show_users(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show users");
	if (!ctx->show_users)
		return sp_error_set(&ctx->err, "No CLI server to show the sessions of");
	ctx->show_users(ctx->server, ctx->out, ctx->json);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "signaling-proxy");
	ctx->cand->sp_enabled = true;
	ctx->next_mode = SP_MODE_SP;
	return 0;
}

int cmd_no_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp_enabled = false;
	sp_sp_settings_defaults(&ctx->cand->sp);
	return 0;
}

static int sp_cmd_name_seq(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage,
			   bool seq_optional, uint32_t *seq)
{
	*seq = 0;
	if (argc == 1 && seq_optional)
		return 0;
	if (argc != 3 || !sp_word_is(argv[1], "seq"))
		return sp_cmd_usage(ctx, usage);
	return sp_parse_u32(argv[2], SP_SEQ_MIN, SP_SEQ_MAX, "sequence number", seq, &ctx->err);
}

int cmd_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "proxy-strategy NAME seq N", false, &seq) < 0)
		return -1;
	if (!sp_config_strategy_create(ctx->cand, argv[0], seq, &ctx->err))
		return -1;
	snprintf(ctx->edit.name, sizeof(ctx->edit.name), "%s", argv[0]);
	ctx->edit.seq = seq;
	ctx->next_mode = SP_MODE_STRATEGY;
	return 0;
}

int cmd_no_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "no proxy-strategy NAME [seq N]", true, &seq) < 0)
		return -1;
	if (sp_config_strategy_remove(ctx->cand, argv[0], seq) == 0)
		return seq ? sp_error_set(&ctx->err, "No proxy-strategy %s seq %u", argv[0], seq)
			   : sp_error_set(&ctx->err, "No proxy-strategy %s", argv[0]);
	return 0;
}

int cmd_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "policy-route NAME seq N", false, &seq) < 0)
		return -1;
	if (!sp_config_policy_route_create(ctx->cand, argv[0], seq, &ctx->err))
		return -1;
	snprintf(ctx->edit.name, sizeof(ctx->edit.name), "%s", argv[0]);
	ctx->edit.seq = seq;
	ctx->next_mode = SP_MODE_PBR;
	return 0;
}

int cmd_no_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "no policy-route NAME [seq N]", true, &seq) < 0)
		return -1;
	if (sp_config_policy_route_remove(ctx->cand, argv[0], seq) == 0)
		return seq ? sp_error_set(&ctx->err, "No policy-route %s seq %u", argv[0], seq)
			   : sp_error_set(&ctx->err, "No policy-route %s", argv[0]);
	return 0;
}

int cmd_interface(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "interface NAME");
	if (!sp_config_interface_get(ctx->cand, argv[0], &ctx->err))
		return -1;
	snprintf(ctx->edit.name, sizeof(ctx->edit.name), "%s", argv[0]);
	ctx->edit.seq = 0;
	ctx->next_mode = SP_MODE_INTERFACE;
	return 0;
}

int cmd_no_interface(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "no interface NAME");
	if (!sp_config_interface_remove(ctx->cand, argv[0]))
		return sp_error_set(&ctx->err, "No interface %s in the configuration", argv[0]);
	return 0;
}

int cmd_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "redundancy");
	ctx->cand->redundancy.configured = true;
	ctx->next_mode = SP_MODE_REDUNDANCY;
	return 0;
}

int cmd_no_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->redundancy, 0, sizeof(ctx->cand->redundancy));
	return 0;
}
