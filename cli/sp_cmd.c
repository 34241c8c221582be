#include "config.h"
#include "sp_cmd.h"
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

#define PRIV_USER 0 /* libcli's PRIVILEGE_UNPRIVILEGED: user EXEC (the > prompt) */
#define PRIV_ADMIN 15
#define CFG (SP_CMD_EDITS_CONFIG)
#define TOP (SP_CMD_EDITS_CONFIG | SP_CMD_ALL_CONFIG_MODES)

/* ---- small helpers ---- */

#define SP_CMD_USAGE_PREFIX "Incomplete or invalid command; usage: "

static int sp_cmd_usage(struct sp_cmd_ctx *ctx, const char *usage)
{
	return sp_error_set(&ctx->err, SP_CMD_USAGE_PREFIX "%s", usage);
}

bool sp_cmd_failed_on_syntax(const struct sp_cmd_ctx *ctx)
{
	return strncmp(ctx->err.msg, SP_CMD_USAGE_PREFIX, strlen(SP_CMD_USAGE_PREFIX)) == 0;
}

static bool sp_word_is(const char *w, const char *keyword)
{
	/* unique-prefix abbreviations for keyword arguments, as for commands */
	size_t n = strlen(w);
	return n > 0 && strncasecmp(w, keyword, n) == 0;
}

static struct sp_strategy *sp_cmd_strategy(struct sp_cmd_ctx *ctx)
{
	struct sp_strategy *s = sp_config_strategy_find(ctx->cand, ctx->edit.name, ctx->edit.seq);

	if (!s)
		sp_error_set(&ctx->err, "proxy-strategy %s seq %u no longer exists", ctx->edit.name,
			     ctx->edit.seq);
	return s;
}

static struct sp_policy_route *sp_cmd_policy_route(struct sp_cmd_ctx *ctx)
{
	struct sp_policy_route *r =
		sp_config_policy_route_find(ctx->cand, ctx->edit.name, ctx->edit.seq);

	if (!r)
		sp_error_set(&ctx->err, "policy-route %s seq %u no longer exists", ctx->edit.name,
			     ctx->edit.seq);
	return r;
}

static struct sp_interface *sp_cmd_interface(struct sp_cmd_ctx *ctx)
{
	struct sp_interface *i = sp_config_interface_find(ctx->cand, ctx->edit.name);

	if (!i)
		sp_error_set(&ctx->err, "interface %s no longer exists", ctx->edit.name);
	return i;
}

char *sp_cmd_hash_secret(const char *plain)
{
	char *setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
	void *data = NULL;
	int size = 0;
	char *h, *out = NULL;

	if (!setting)
		return NULL;
	h = crypt_ra(plain, setting, &data, &size);
	if (h && h[0] != '*')
		out = strdup(h);
	free(setting);
	free(data);
	return out;
}

bool sp_cmd_check_secret(const char *plain, const char *hash)
{
	void *data = NULL;
	int size = 0;
	char *h;
	bool ok = false;

	if (!plain || !hash)
		return false;
	h = crypt_ra(plain, hash, &data, &size);
	if (h && h[0] != '*' && strlen(h) == strlen(hash)) {
		unsigned char diff = 0;
		/* constant time: do not leak how much of the hash matched */
		for (size_t i = 0; h[i]; i++)
			diff |= (unsigned char)(h[i] ^ hash[i]);
		ok = diff == 0;
	}
	free(data);
	return ok;
}

/* "PASSWORD" or "hashed HASH" -> a crypt(3) hash */
static char *sp_cmd_secret_arg(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage)
{
	char *h;

	if (argc == 2 && strcmp(argv[0], "hashed") == 0) {
		/* crypt_checksalt() looks at the prefix only; a hash running-config
		 * could not write back as a bare word is no crypt(3) output either */
		if (argv[1][0] != '$' || crypt_checksalt(argv[1]) != CRYPT_SALT_OK ||
		    strpbrk(argv[1], "\"'\\| \t")) {
			sp_error_set(&ctx->err, "Invalid hashed secret (expected a crypt(3) hash)");
			return NULL;
		}
		h = strdup(argv[1]);
	} else if (argc == 1) {
		if (strlen(argv[0]) < 4 || strlen(argv[0]) > 128) {
			sp_error_set(&ctx->err, "Invalid secret (4-128 characters)");
			return NULL;
		}
		h = sp_cmd_hash_secret(argv[0]);
	} else {
		sp_cmd_usage(ctx, usage);
		return NULL;
	}
	if (!h)
		sp_error_set(&ctx->err, "Cannot hash the secret");
	return h;
}

/* ---- config mode: top level ---- */

static int cmd_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "hostname NAME");
	if (sp_check_hostname(argv[0], &ctx->err) < 0)
		return -1;
	strcpy(ctx->cand->hostname, argv[0]);
	return 0;
}

static int cmd_no_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	strcpy(ctx->cand->hostname, "sigproxy");
	return 0;
}

/* username NAME [privilege {1|15}] secret ...: Cisco's order, the
 * privilege before the secret. */
static int cmd_username(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_username(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc < 1)
		return sp_cmd_usage(ctx, "no username NAME");
	if (!sp_config_user_remove(ctx->cand, argv[0]))
		return sp_error_set(&ctx->err, "No such user \"%s\"", argv[0]);
	return 0;
}

static int cmd_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	char *h = sp_cmd_secret_arg(ctx, argc, argv, "enable secret {PASSWORD | hashed HASH}");
	int rc;

	if (!h)
		return -1;
	rc = sp_config_enable_secret_set(ctx->cand, h);
	free(h);
	return rc < 0 ? sp_error_set(&ctx->err, "Out of memory") : 0;
}

static int cmd_no_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sp_config_enable_secret_set(ctx->cand, NULL);
	return 0;
}

/* ---- the management plane: cli login-timeout / exec-timeout / access-class ---- */

static int cmd_cli_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "cli login-timeout SECONDS (1-86400)");
	return sp_parse_u32(argv[0], 1, SP_CLI_TIMEOUT_MAX, "login timeout",
			    &ctx->cand->cli.login_timeout, &ctx->err);
}

static int cmd_cli_no_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->cli.login_timeout = SP_DEFAULT_CLI_LOGIN_TIMEOUT;
	return 0;
}

static int cmd_cli_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "cli exec-timeout SECONDS (0: never, at most 86400)");
	return sp_parse_u32(argv[0], 0, SP_CLI_TIMEOUT_MAX, "exec timeout",
			    &ctx->cand->cli.exec_timeout, &ctx->err);
}

static int cmd_cli_no_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->cli.exec_timeout = SP_DEFAULT_CLI_EXEC_TIMEOUT;
	return 0;
}

static int cmd_cli_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
static int cmd_cli_no_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_debug(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	return sp_cmd_debug(ctx, argc, argv, true);
}

static int cmd_no_debug(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	return sp_cmd_debug(ctx, argc, argv, false);
}

static int cmd_show_debugging(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_show_logging(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
static int cmd_show_history(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_show_startup_config(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
static int cmd_configure_replace(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_show_users(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show users");
	if (!ctx->show_users)
		return sp_error_set(&ctx->err, "No CLI server to show the sessions of");
	ctx->show_users(ctx->server, ctx->out);
	return 0;
}

static int cmd_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "signaling-proxy");
	ctx->cand->sp_enabled = true;
	ctx->next_mode = SP_MODE_SP;
	return 0;
}

static int cmd_no_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "no proxy-strategy NAME [seq N]", true, &seq) < 0)
		return -1;
	if (sp_config_strategy_remove(ctx->cand, argv[0], seq) == 0)
		return seq ? sp_error_set(&ctx->err, "No proxy-strategy %s seq %u", argv[0], seq)
			   : sp_error_set(&ctx->err, "No proxy-strategy %s", argv[0]);
	return 0;
}

static int cmd_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t seq;

	if (sp_cmd_name_seq(ctx, argc, argv, "no policy-route NAME [seq N]", true, &seq) < 0)
		return -1;
	if (sp_config_policy_route_remove(ctx->cand, argv[0], seq) == 0)
		return seq ? sp_error_set(&ctx->err, "No policy-route %s seq %u", argv[0], seq)
			   : sp_error_set(&ctx->err, "No policy-route %s", argv[0]);
	return 0;
}

static int cmd_interface(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

static int cmd_no_interface(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "no interface NAME");
	if (!sp_config_interface_remove(ctx->cand, argv[0]))
		return sp_error_set(&ctx->err, "No interface %s in the configuration", argv[0]);
	return 0;
}

static int cmd_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "redundancy");
	ctx->cand->redundancy.configured = true;
	ctx->next_mode = SP_MODE_REDUNDANCY;
	return 0;
}

static int cmd_no_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->redundancy, 0, sizeof(ctx->cand->redundancy));
	return 0;
}

/* ---- (config-sp) ---- */

static int cmd_sp_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "server-side-address A.B.C.D");
	return sp_parse_addr(argv[0], &ctx->cand->sp.server_side_address, &ctx->err);
}

static int cmd_sp_no_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->sp.server_side_address, 0, sizeof(struct sp_addr));
	return 0;
}

static int cmd_sp_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint16_t ports[SP_LISTEN_PORTS_MAX];

	if (argc < 1 || argc > SP_LISTEN_PORTS_MAX)
		return sp_cmd_usage(ctx, "listen-port N [N ...] (at most 8)");
	for (int i = 0; i < argc; i++) {
		if (sp_parse_port(argv[i], &ports[i], &ctx->err) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (ports[j] == ports[i])
				return sp_error_set(&ctx->err, "Port %u given twice", ports[i]);
	}
	memcpy(ctx->cand->sp.listen_ports, ports, (size_t)argc * sizeof(ports[0]));
	ctx->cand->sp.n_listen_ports = (unsigned)argc;
	return 0;
}

static int cmd_sp_no_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.listen_ports[0] = SP_DEFAULT_SIP_PORT;
	ctx->cand->sp.n_listen_ports = 1;
	return 0;
}

static int cmd_sp_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "forward"))
		ctx->cand->sp.default_action = SP_ACTION_FORWARD;
	else if (argc == 1 && sp_word_is(argv[0], "drop"))
		ctx->cand->sp.default_action = SP_ACTION_DROP;
	else
		return sp_cmd_usage(ctx, "default-action {forward|drop}");
	return 0;
}

static int cmd_sp_no_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.default_action = SP_ACTION_FORWARD;
	return 0;
}

static int cmd_sp_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "local-virtual-address A.B.C.D");
	return sp_parse_addr(argv[0], &ctx->cand->sp.local_virtual_address, &ctx->err);
}

static int cmd_sp_no_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->sp.local_virtual_address, 0, sizeof(struct sp_addr));
	return 0;
}

static int cmd_sp_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "return-path {learn | default-gateway A.B.C.D}";
	struct sp_sp_settings *sp = &ctx->cand->sp;

	if (argc == 1 && sp_word_is(argv[0], "learn")) {
		sp->return_path = SP_RETURN_LEARN;
		memset(&sp->return_gateway, 0, sizeof(sp->return_gateway));
		return 0;
	}
	if (argc == 2 && sp_word_is(argv[0], "default-gateway")) {
		if (sp_parse_addr(argv[1], &sp->return_gateway, &ctx->err) < 0)
			return -1;
		sp->return_path = SP_RETURN_DEFAULT_GATEWAY;
		return 0;
	}
	return sp_cmd_usage(ctx, usage);
}

static int cmd_sp_no_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.return_path = SP_RETURN_LEARN;
	memset(&ctx->cand->sp.return_gateway, 0, sizeof(struct sp_addr));
	return 0;
}

static int cmd_sp_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "kernel"))
		ctx->cand->sp.media = SP_MEDIA_KERNEL;
	else if (argc == 1 && sp_word_is(argv[0], "off"))
		ctx->cand->sp.media = SP_MEDIA_OFF;
	else
		return sp_cmd_usage(ctx, "media {kernel|off}");
	return 0;
}

static int cmd_sp_no_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.media = SP_MEDIA_KERNEL;
	return 0;
}

static int cmd_sp_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t lo, hi;

	if (argc != 2)
		return sp_cmd_usage(ctx, "media-port-range N M");
	if (sp_parse_u32(argv[0], 1024, 65534, "media port", &lo, &ctx->err) < 0 ||
	    sp_parse_u32(argv[1], 1025, 65535, "media port", &hi, &ctx->err) < 0)
		return -1;
	if (lo & 1)
		return sp_error_set(&ctx->err, "Invalid media-port-range: %u is odd (RTP uses even ports)", lo);
	if (hi <= lo)
		return sp_error_set(&ctx->err, "Invalid media-port-range: %u is not above %u", hi, lo);
	ctx->cand->sp.media_port_min = (uint16_t)lo;
	ctx->cand->sp.media_port_max = (uint16_t)hi;
	return 0;
}

static int cmd_sp_no_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.media_port_min = SP_DEFAULT_MEDIA_PORT_MIN;
	ctx->cand->sp.media_port_max = SP_DEFAULT_MEDIA_PORT_MAX;
	return 0;
}

static int cmd_sp_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "session-limit N");
	return sp_parse_u32(argv[0], 1, SP_SESSION_LIMIT_MAX, "session limit",
			    &ctx->cand->sp.session_limit, &ctx->err);
}

static int cmd_sp_no_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.session_limit = 0;
	return 0;
}

/* limit {source-rate|source-new-bindings|source-bindings} N: 0 switches the
 * limit off; `no limit ...` puts the default back. */
static uint32_t *sp_cmd_source_limit(struct sp_cmd_ctx *ctx, const char *which, uint32_t *dflt)
{
	struct sp_sp_settings *sp = &ctx->cand->sp;

	if (sp_word_is(which, "source-rate")) {
		*dflt = SP_DEFAULT_SOURCE_RATE;
		return &sp->source_rate;
	}
	if (sp_word_is(which, "source-new-bindings")) {
		*dflt = SP_DEFAULT_SOURCE_NEW_BINDINGS;
		return &sp->source_new_bindings;
	}
	if (sp_word_is(which, "source-bindings")) {
		*dflt = SP_DEFAULT_SOURCE_BINDINGS;
		return &sp->source_bindings;
	}
	return NULL;
}

static int cmd_sp_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t dflt, *field = argc == 2 ? sp_cmd_source_limit(ctx, argv[0], &dflt) : NULL;

	if (!field)
		return sp_cmd_usage(ctx, "limit {source-rate|source-new-bindings|source-bindings} N");
	return sp_parse_u32(argv[1], 0, SP_SOURCE_LIMIT_MAX, "limit", field, &ctx->err);
}

static int cmd_sp_no_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t dflt, *field = argc >= 1 ? sp_cmd_source_limit(ctx, argv[0], &dflt) : NULL;

	if (!field)
		return sp_cmd_usage(ctx, "no limit {source-rate|source-new-bindings|source-bindings}");
	*field = dflt;
	return 0;
}

static int cmd_sp_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "message-size-limit N");
	return sp_parse_u32(argv[0], SP_MESSAGE_SIZE_MIN, SP_MESSAGE_SIZE_MAX, "message size limit",
			    &ctx->cand->sp.message_size_limit, &ctx->err);
}

static int cmd_sp_no_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.message_size_limit = SP_MESSAGE_SIZE_MAX;
	return 0;
}

/* ---- (config-strategy) ---- */

/* PREFIX|any [port N[-M]] */
static int sp_cmd_prefix_port(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage,
			      bool *has_prefix, struct sp_prefix *p, bool *has_port,
			      struct sp_port_range *r)
{
	struct sp_prefix np = { 0 };
	struct sp_port_range nr = { 0, 0 };

	if (argc != 1 && !(argc == 3 && sp_word_is(argv[1], "port")))
		return sp_cmd_usage(ctx, usage);
	*has_prefix = strcasecmp(argv[0], "any") != 0;
	if (*has_prefix && sp_parse_prefix(argv[0], &np, &ctx->err) < 0)
		return -1;
	*has_port = argc == 3;
	if (*has_port && sp_parse_port_range(argv[2], &nr, &ctx->err) < 0)
		return -1;
	if (!*has_prefix && !*has_port)
		return sp_error_set(&ctx->err, "Nothing to match: give a prefix or a port");
	*p = np;
	*r = nr;
	return 0;
}

static void sp_set_bit(uint32_t *mask, uint32_t bit, bool on)
{
	if (on)
		*mask |= bit;
	else
		*mask &= ~bit;
}

static int cmd_st_match(struct sp_cmd_ctx *ctx, int argc, char **argv, uint32_t field)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);
	bool hp, hr;

	if (!s)
		return -1;
	switch (field) {
	case SP_MATCH_VPN:
		if (argc != 1)
			return sp_cmd_usage(ctx, "match vpn-id N");
		if (sp_parse_u32(argv[0], SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &s->vpn_id, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_VLAN:
		if (argc != 1)
			return sp_cmd_usage(ctx, "match vlan N");
		if (sp_parse_u32(argv[0], SP_VLAN_MIN, SP_VLAN_MAX, "VLAN ID", &s->vlan, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_MPLS:
		if (argc != 1)
			return sp_cmd_usage(ctx, "match mpls-label N");
		if (sp_parse_u32(argv[0], SP_MPLS_MIN, SP_MPLS_MAX, "MPLS label", &s->mpls_label,
				 &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_PROTOCOL:
		if (argc != 1)
			return sp_cmd_usage(ctx, "match protocol {udp|tcp|N}");
		if (sp_parse_protocol(argv[0], &s->protocol, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_SOURCE:
		if (sp_cmd_prefix_port(ctx, argc, argv, "match source {PREFIX|any} [port N[-M]]", &hp,
				       &s->source, &hr, &s->source_port) < 0)
			return -1;
		sp_set_bit(&s->match, SP_MATCH_SOURCE, hp);
		sp_set_bit(&s->match, SP_MATCH_SOURCE_PORT, hr);
		return 0;
	case SP_MATCH_DESTINATION:
		if (sp_cmd_prefix_port(ctx, argc, argv, "match destination {PREFIX|any} [port N[-M]]",
				       &hp, &s->destination, &hr, &s->destination_port) < 0)
			return -1;
		sp_set_bit(&s->match, SP_MATCH_DESTINATION, hp);
		sp_set_bit(&s->match, SP_MATCH_DESTINATION_PORT, hr);
		return 0;
	}
	s->match |= field;
	return 0;
}

static int cmd_st_no_match(struct sp_cmd_ctx *ctx, uint32_t field)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	if (!s)
		return -1;
	s->match &= ~field;
	switch (field) {
	case SP_MATCH_VPN: s->vpn_id = 0; break;
	case SP_MATCH_VLAN: s->vlan = 0; break;
	case SP_MATCH_MPLS: s->mpls_label = 0; break;
	case SP_MATCH_PROTOCOL: s->protocol = 0; break;
	case SP_MATCH_SOURCE:
		s->match &= ~(uint32_t)SP_MATCH_SOURCE_PORT;
		memset(&s->source, 0, sizeof(s->source));
		memset(&s->source_port, 0, sizeof(s->source_port));
		break;
	case SP_MATCH_DESTINATION:
		s->match &= ~(uint32_t)SP_MATCH_DESTINATION_PORT;
		memset(&s->destination, 0, sizeof(s->destination));
		memset(&s->destination_port, 0, sizeof(s->destination_port));
		break;
	}
	return 0;
}

#define SP_ST_MATCH_CMDS(fn_name, field)                                                   \
	static int cmd_st_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)   \
	{                                                                                  \
		return cmd_st_match(ctx, argc, argv, field);                               \
	}                                                                                  \
	static int cmd_st_no_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv) \
	{                                                                                  \
		(void)argc;                                                                \
		(void)argv;                                                                \
		return cmd_st_no_match(ctx, field);                                        \
	}

SP_ST_MATCH_CMDS(vpn, SP_MATCH_VPN)
SP_ST_MATCH_CMDS(vlan, SP_MATCH_VLAN)
SP_ST_MATCH_CMDS(mpls, SP_MATCH_MPLS)
SP_ST_MATCH_CMDS(protocol, SP_MATCH_PROTOCOL)
SP_ST_MATCH_CMDS(source, SP_MATCH_SOURCE)
SP_ST_MATCH_CMDS(destination, SP_MATCH_DESTINATION)

static int cmd_st_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);
	enum sp_action a;

	if (!s)
		return -1;
	if (argc == 1 && sp_word_is(argv[0], "proxy"))
		a = SP_ACTION_PROXY;
	else if (argc == 1 && sp_word_is(argv[0], "forward"))
		a = SP_ACTION_FORWARD;
	else if (argc == 1 && sp_word_is(argv[0], "drop"))
		a = SP_ACTION_DROP;
	else
		return sp_cmd_usage(ctx, "action {proxy|forward|drop}");
	/* a proxy action without its server is caught when the block is
	 * checked as a whole: the SPEC writes action before server */
	s->action = a;
	return 0;
}

static int cmd_st_no_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	(void)argc;
	(void)argv;
	if (!s)
		return -1;
	s->action = SP_ACTION_UNSET;
	return 0;
}

static int cmd_st_server(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);
	struct sp_addr a;
	uint16_t port = SP_DEFAULT_SIP_PORT;

	if (!s)
		return -1;
	if (argc != 1 && !(argc == 3 && sp_word_is(argv[1], "port")))
		return sp_cmd_usage(ctx, "server A.B.C.D [port N]");
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0)
		return -1;
	if (argc == 3 && sp_parse_port(argv[2], &port, &ctx->err) < 0)
		return -1;
	s->server = a;
	s->server_port = port;
	return 0;
}

static int sp_cmd_st_set_hide(struct sp_cmd_ctx *ctx, int argc, bool on)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	if (argc != 0)
		return sp_cmd_usage(ctx, on ? "hide-server-identity" : "no hide-server-identity");
	if (!s)
		return -1;
	s->hide_server_identity = on;
	return 0;
}

/* `shutdown` keeps an entry in the configuration without installing it,
 * which is also what SNMP's notInService(2) does to a row. */
static int sp_cmd_set_shutdown(struct sp_cmd_ctx *ctx, int argc, bool on)
{
	if (argc != 0)
		return sp_cmd_usage(ctx, on ? "shutdown" : "no shutdown");
	if (ctx->mode == SP_MODE_STRATEGY) {
		struct sp_strategy *s = sp_cmd_strategy(ctx);

		if (!s)
			return -1;
		s->shutdown = on;
	} else {
		struct sp_policy_route *r = sp_cmd_policy_route(ctx);

		if (!r)
			return -1;
		r->shutdown = on;
	}
	return 0;
}

static int cmd_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_set_shutdown(ctx, argc, true);
}

static int cmd_no_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_set_shutdown(ctx, argc, false);
}

static int cmd_st_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_st_set_hide(ctx, argc, true);
}

static int cmd_st_no_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_st_set_hide(ctx, argc, false);
}

static int cmd_st_no_server(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	(void)argc;
	(void)argv;
	if (!s)
		return -1;
	memset(&s->server, 0, sizeof(s->server));
	s->server_port = SP_DEFAULT_SIP_PORT;
	return 0;
}

/* ---- (config-if) ---- */

static int cmd_if_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	if (!i)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "vpn-id N");
	return sp_parse_u32(argv[0], SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &i->vpn_id, &ctx->err);
}

static int cmd_if_no_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	(void)argc;
	(void)argv;
	if (!i)
		return -1;
	i->vpn_id = 0;
	return 0;
}

static int cmd_if_side(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	if (!i)
		return -1;
	if (argc == 1 && sp_word_is(argv[0], "terminal-side"))
		i->side = SP_SIDE_TERMINAL;
	else if (argc == 1 && sp_word_is(argv[0], "server-side"))
		i->side = SP_SIDE_SERVER;
	else
		return sp_cmd_usage(ctx, "signaling-proxy {terminal-side|server-side}");
	return 0;
}

static int cmd_if_no_side(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	(void)argc;
	(void)argv;
	if (!i)
		return -1;
	i->side = SP_SIDE_NONE;
	return 0;
}

/* ---- (config-pbr) ---- */

static int cmd_pbr_match(struct sp_cmd_ctx *ctx, int argc, char **argv, uint32_t field)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);

	if (!r)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "match {source PREFIX | destination PREFIX | protocol P | "
					 "source-port N[-M] | destination-port N[-M] | input-interface IF}");
	switch (field) {
	case SP_MATCH_SOURCE:
		if (sp_parse_prefix(argv[0], &r->source, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_DESTINATION:
		if (sp_parse_prefix(argv[0], &r->destination, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_PROTOCOL:
		if (sp_parse_protocol(argv[0], &r->protocol, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_SOURCE_PORT:
		if (sp_parse_port_range(argv[0], &r->source_port, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_DESTINATION_PORT:
		if (sp_parse_port_range(argv[0], &r->destination_port, &ctx->err) < 0)
			return -1;
		break;
	case SP_MATCH_INPUT_INTERFACE:
		if (sp_check_ifname(argv[0], &ctx->err) < 0)
			return -1;
		snprintf(r->input_interface, sizeof(r->input_interface), "%s", argv[0]);
		break;
	}
	r->match |= field;
	return 0;
}

static int cmd_pbr_no_match(struct sp_cmd_ctx *ctx, uint32_t field)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);

	if (!r)
		return -1;
	r->match &= ~field;
	switch (field) {
	case SP_MATCH_SOURCE: memset(&r->source, 0, sizeof(r->source)); break;
	case SP_MATCH_DESTINATION: memset(&r->destination, 0, sizeof(r->destination)); break;
	case SP_MATCH_PROTOCOL: r->protocol = 0; break;
	case SP_MATCH_SOURCE_PORT: memset(&r->source_port, 0, sizeof(r->source_port)); break;
	case SP_MATCH_DESTINATION_PORT:
		memset(&r->destination_port, 0, sizeof(r->destination_port));
		break;
	case SP_MATCH_INPUT_INTERFACE: r->input_interface[0] = '\0'; break;
	}
	return 0;
}

#define SP_PBR_MATCH_CMDS(fn_name, field)                                                   \
	static int cmd_pbr_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)   \
	{                                                                                   \
		return cmd_pbr_match(ctx, argc, argv, field);                               \
	}                                                                                   \
	static int cmd_pbr_no_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv) \
	{                                                                                   \
		(void)argc;                                                                 \
		(void)argv;                                                                 \
		return cmd_pbr_no_match(ctx, field);                                        \
	}

SP_PBR_MATCH_CMDS(source, SP_MATCH_SOURCE)
SP_PBR_MATCH_CMDS(destination, SP_MATCH_DESTINATION)
SP_PBR_MATCH_CMDS(protocol, SP_MATCH_PROTOCOL)
SP_PBR_MATCH_CMDS(source_port, SP_MATCH_SOURCE_PORT)
SP_PBR_MATCH_CMDS(destination_port, SP_MATCH_DESTINATION_PORT)
SP_PBR_MATCH_CMDS(input_interface, SP_MATCH_INPUT_INTERFACE)

static int cmd_pbr_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);
	struct sp_addr a;

	if (!r)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "set next-hop A.B.C.D");
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0)
		return -1;
	/* a next hop and a table are alternatives: the last one set wins */
	r->next_hop = a;
	r->table = 0;
	return 0;
}

static int cmd_pbr_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);
	uint32_t t;

	if (!r)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "set table N");
	if (sp_parse_u32(argv[0], SP_TABLE_MIN, SP_TABLE_MAX, "table", &t, &ctx->err) < 0)
		return -1;
	if (t >= 253 && t <= 255)
		return sp_error_set(&ctx->err, "Invalid table %u (253-255 are the kernel's default, main and local tables)", t);
	r->table = t;
	memset(&r->next_hop, 0, sizeof(r->next_hop));
	return 0;
}

static int cmd_pbr_no_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);

	(void)argc;
	(void)argv;
	if (!r)
		return -1;
	memset(&r->next_hop, 0, sizeof(r->next_hop));
	return 0;
}

static int cmd_pbr_no_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);

	(void)argc;
	(void)argv;
	if (!r)
		return -1;
	r->table = 0;
	return 0;
}

/* ---- (config-redundancy) ---- */

static int cmd_red_role(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "active"))
		ctx->cand->redundancy.role = SP_ROLE_ACTIVE;
	else if (argc == 1 && sp_word_is(argv[0], "standby"))
		ctx->cand->redundancy.role = SP_ROLE_STANDBY;
	else
		return sp_cmd_usage(ctx, "role {active|standby}");
	return 0;
}

static int sp_cmd_addr_port(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage,
			    struct sp_addr *a, uint16_t *port)
{
	struct sp_addr na;
	uint16_t np;

	if (argc != 3 || !sp_word_is(argv[1], "port"))
		return sp_cmd_usage(ctx, usage);
	if (sp_parse_addr(argv[0], &na, &ctx->err) < 0 || sp_parse_port(argv[2], &np, &ctx->err) < 0)
		return -1;
	*a = na;
	*port = np;
	return 0;
}

static int cmd_red_local(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_redundancy *r = &ctx->cand->redundancy;
	return sp_cmd_addr_port(ctx, argc, argv, "local-address A.B.C.D port N", &r->local_address,
				&r->local_port);
}

static int cmd_red_peer(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_redundancy *r = &ctx->cand->redundancy;
	return sp_cmd_addr_port(ctx, argc, argv, "peer-address A.B.C.D port N", &r->peer_address,
				&r->peer_port);
}

static int cmd_red_no_local(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->redundancy.local_address, 0, sizeof(struct sp_addr));
	ctx->cand->redundancy.local_port = 0;
	return 0;
}

static int cmd_red_no_peer(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->redundancy.peer_address, 0, sizeof(struct sp_addr));
	ctx->cand->redundancy.peer_port = 0;
	return 0;
}

/* `authentication key WORD` (clear) or `authentication key 7 HEX`, the
 * obfuscated form running-config shows; a key cannot be "7" (8 characters at
 * least), so the two never mix. */
static int cmd_red_key(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	char key[SP_KEY_MAX + 1];

	if (argc == 2 && strcmp(argv[0], "7") == 0) {
		if (sp_keyobf_decode(argv[1], key, sizeof(key), &ctx->err) < 0)
			return -1;
	} else if (argc == 1) {
		snprintf(key, sizeof(key), "%s", argv[0]);
	} else {
		return sp_cmd_usage(ctx, "authentication key {WORD | 7 HEX}");
	}
	if (sp_check_key(key, &ctx->err) < 0)
		return -1;
	snprintf(ctx->cand->redundancy.key, sizeof(ctx->cand->redundancy.key), "%s", key);
	return 0;
}

static int cmd_red_no_key(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->redundancy.key[0] = '\0';
	return 0;
}

/* ---- exec mode ---- */

static int cmd_show_running_config(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	size_t len;
	char *text;

	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "show running-config");
	text = sp_config_to_text(ctx->running, &len);
	if (!text)
		return sp_error_set(&ctx->err, "Out of memory");
	fwrite(text, 1, len, ctx->out);
	free(text);
	return 0;
}

static void sp_strategy_state(struct sp_cmd_ctx *ctx, const struct sp_strategy *s, char *buf,
			      size_t len)
{
	/* the state from the one status store (SNMP reads it there too), the
	 * hits from the engine */
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_STRATEGY, s->name, s->seq) : NULL;
	uint64_t hits = 0;

	if (st && ctx->daemon->engine)
		sp_engine_strategy_state(ctx->daemon->engine, s->seq, &hits);
	if (!st)
		snprintf(buf, len, "%s", s->action == SP_ACTION_UNSET ? "not installed (no action configured)"
								       : "not installed");
	else if (st->installed)
		snprintf(buf, len, st->reason[0] ? "installed (%s), %llu hits" : "installed%s, %llu hits",
			 st->reason, (unsigned long long)hits);
	else
		snprintf(buf, len, "not installed (%s)", st->reason);
}

static int cmd_show_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char b1[SP_PREFIX_STRLEN], b2[16];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show proxy-strategy [NAME]");
	for (size_t i = 0; i < c->n_strategies; i++) {
		const struct sp_strategy *s = &c->strategies[i];

		if (argc == 1 && strcmp(argv[0], s->name) != 0)
			continue;
		char state[SP_STATUS_REASON_MAX + 64];

		shown++;
		sp_strategy_state(ctx, s, state, sizeof(state));
		fprintf(ctx->out, "proxy-strategy %s seq %u: %s\n", s->name, s->seq, state);
		if (s->match & SP_MATCH_VPN)
			fprintf(ctx->out, "  match vpn-id       %u\n", s->vpn_id);
		if (s->match & SP_MATCH_VLAN)
			fprintf(ctx->out, "  match vlan         %u\n", s->vlan);
		if (s->match & SP_MATCH_MPLS)
			fprintf(ctx->out, "  match mpls-label   %u\n", s->mpls_label);
		if (s->match & SP_MATCH_PROTOCOL)
			fprintf(ctx->out, "  match protocol     %s\n", sp_protocol_str(s->protocol, b1, sizeof(b1)));
		if (s->match & (SP_MATCH_SOURCE | SP_MATCH_SOURCE_PORT))
			fprintf(ctx->out, "  match source       %s port %s\n",
				sp_prefix_str(&s->source, b1, sizeof(b1)),
				sp_port_range_str(&s->source_port, b2, sizeof(b2)));
		if (s->match & (SP_MATCH_DESTINATION | SP_MATCH_DESTINATION_PORT))
			fprintf(ctx->out, "  match destination  %s port %s\n",
				sp_prefix_str(&s->destination, b1, sizeof(b1)),
				sp_port_range_str(&s->destination_port, b2, sizeof(b2)));
		if (!s->match)
			fprintf(ctx->out, "  match              any\n");
		fprintf(ctx->out, "  action             %s\n", sp_action_name(s->action));
		if (sp_addr_is_set(&s->server))
			fprintf(ctx->out, "  server             %s port %u\n",
				sp_addr_str(&s->server, b1, sizeof(b1)), s->server_port);
	}
	if (argc == 1 && shown == 0)
		return sp_error_set(&ctx->err, "No proxy-strategy %s", argv[0]);
	if (shown == 0)
		fprintf(ctx->out, "No proxy strategies configured; default action %s\n",
			sp_action_name(c->sp.default_action));
	return 0;
}

static const char *sp_policy_route_state(const struct sp_cmd_ctx *ctx,
					 const struct sp_policy_route *r)
{
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_POLICY_ROUTE, r->name, r->seq)
			    : NULL;

	if (st) /* the kernel state, as policy-routing recorded it */
		return st->installed ? "installed" : st->reason;
	if (!sp_addr_is_set(&r->next_hop) && !r->table)
		return "inactive (no set next-hop or set table)";
	return "active";
}

static int cmd_show_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char b[SP_PREFIX_STRLEN];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show policy-route [NAME]");
	for (size_t i = 0; i < c->n_policy_routes; i++) {
		const struct sp_policy_route *r = &c->policy_routes[i];

		if (argc == 1 && strcmp(argv[0], r->name) != 0)
			continue;
		shown++;
		fprintf(ctx->out, "policy-route %s seq %u: %s\n", r->name, r->seq,
			sp_policy_route_state(ctx, r));
		if (r->match & SP_MATCH_SOURCE)
			fprintf(ctx->out, "  match source            %s\n", sp_prefix_str(&r->source, b, sizeof(b)));
		if (r->match & SP_MATCH_DESTINATION)
			fprintf(ctx->out, "  match destination       %s\n", sp_prefix_str(&r->destination, b, sizeof(b)));
		if (r->match & SP_MATCH_PROTOCOL)
			fprintf(ctx->out, "  match protocol          %s\n", sp_protocol_str(r->protocol, b, sizeof(b)));
		if (r->match & SP_MATCH_SOURCE_PORT)
			fprintf(ctx->out, "  match source-port       %s\n", sp_port_range_str(&r->source_port, b, sizeof(b)));
		if (r->match & SP_MATCH_DESTINATION_PORT)
			fprintf(ctx->out, "  match destination-port  %s\n", sp_port_range_str(&r->destination_port, b, sizeof(b)));
		if (r->match & SP_MATCH_INPUT_INTERFACE)
			fprintf(ctx->out, "  match input-interface   %s\n", r->input_interface);
		if (sp_addr_is_set(&r->next_hop))
			fprintf(ctx->out, "  set next-hop            %s\n", sp_addr_str(&r->next_hop, b, sizeof(b)));
		if (r->table)
			fprintf(ctx->out, "  set table               %u\n", r->table);
		if (ctx->daemon)
			sp_pbr_print_kernel(ctx->daemon->pbr, r->name, r->seq, "  kernel: ", ctx->out);
	}
	if (argc == 1 && shown == 0)
		return sp_error_set(&ctx->err, "No policy-route %s", argv[0]);
	if (shown == 0)
		fprintf(ctx->out, "No policy routes configured\n");
	return 0;
}

static int cmd_show_version(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(ctx->out, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	if (ctx->daemon) {
		uint64_t up = (sp_loop_now_ms() - ctx->daemon->started_ms) / 1000;
		fprintf(ctx->out, "Uptime: %llud %02lluh %02llum %02llus\n", (unsigned long long)(up / 86400),
			(unsigned long long)(up / 3600 % 24), (unsigned long long)(up / 60 % 60),
			(unsigned long long)(up % 60));
		fprintf(ctx->out, "Configuration file: %s\n", ctx->daemon->opt.config_path);
	}
	return 0;
}

static struct sp_engine *sp_cmd_engine(struct sp_cmd_ctx *ctx)
{
	if (!ctx->daemon || !ctx->daemon->engine) {
		sp_error_set(&ctx->err, "The proxy engine is not running");
		return NULL;
	}
	return ctx->daemon->engine;
}

static int cmd_show_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);
	bool detail = argc == 1 && sp_word_is(argv[0], "detail");

	if (!en)
		return -1;
	if (argc > 1 || (argc == 1 && !detail))
		return sp_cmd_usage(ctx, "show sessions [detail]");
	sp_show_sessions(en, ctx->out, detail);
	return 0;
}

static int cmd_show_sessions_count(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show sessions count");
	sp_show_sessions_count(en, ctx->out);
	return 0;
}

static int cmd_show_vpn(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show vpn");
	sp_show_vpn(en, ctx->out);
	return 0;
}

static int cmd_show_bindings(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show bindings");
	sp_show_bindings(en, ctx->out);
	return 0;
}

static int cmd_show_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show statistics");
	sp_show_statistics(en, ctx->out);
	return 0;
}

static int cmd_clear_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "clear sessions");
	sp_engine_clear_sessions(en);
	return 0;
}

static int cmd_clear_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "clear statistics");
	sp_engine_clear_statistics(en);
	return 0;
}

static int cmd_write_memory(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return sp_cmd_usage(ctx, "write memory");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to write the configuration of");
	if (sp_config_file_write(ctx->daemon->config, ctx->daemon->opt.config_path, &ctx->err) < 0)
		return -1;
	fprintf(ctx->out, "Building configuration...\n[OK]\n");
	return 0;
}

/* `reload [force]`: what SIGHUP does, from the CLI; `force` is the one way
 * to apply a file that empties a running configuration. */
static int cmd_reload(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	bool force = argc == 1 && strcasecmp(argv[0], "force") == 0;

	if (argc > 1 || (argc == 1 && !force))
		return sp_cmd_usage(ctx, "reload [force]");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to reload the configuration of");
	if (sp_config_file_load(ctx->daemon->config, ctx->daemon->opt.config_path, false, force,
				&ctx->err) < 0) {
		sp_warn("config not changed: %s", ctx->err.msg);
		return -1;
	}
	fprintf(ctx->out, "Configuration reloaded from %s\n", ctx->daemon->opt.config_path);
	return 0;
}

static int cmd_show_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show redundancy");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to show the redundancy state of");
	sp_show_redundancy(ctx->daemon->redundancy, ctx->out);
	return 0;
}

static int cmd_show_persistence(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show persistence");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to show the persistence of");
	sp_show_persistence(ctx->daemon->persist, ctx->out);
	return 0;
}

static int cmd_redundancy_force_switchover(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "redundancy force-switchover");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to switch over");
	if (sp_redundancy_force_switchover(ctx->daemon->redundancy, &ctx->err) < 0)
		return -1;
	fprintf(ctx->out, "Role now %s\n", sp_role_name(sp_redundancy_role(ctx->daemon->redundancy)));
	return 0;
}

static int cmd_redundancy_notify(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	enum sp_vrrp_state st;

	if (argc != 1 || sp_vrrp_state_parse(argv[0], &st) < 0)
		return sp_cmd_usage(ctx, "redundancy notify {master|backup|fault}");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to notify");
	if (sp_redundancy_vrrp_notify(ctx->daemon->redundancy, st, &ctx->err) < 0)
		return -1;
	fprintf(ctx->out, "Role now %s\n", sp_role_name(sp_redundancy_role(ctx->daemon->redundancy)));
	return 0;
}

/* ---- the tables ---- */

static const struct sp_cmd_def sp_cmds[] = {
	/* exec */
	{ SP_MODE_EXEC, "show running-config", "Current operating configuration", NULL, PRIV_ADMIN, 0, cmd_show_running_config },
	{ SP_MODE_EXEC, "show proxy-strategy", "Proxy strategies", "[NAME]", PRIV_USER, 0, cmd_show_proxy_strategy },
	{ SP_MODE_EXEC, "show policy-route", "Policy routes", "[NAME]", PRIV_USER, 0, cmd_show_policy_route },
	{ SP_MODE_EXEC, "show sessions", "Dialogs through the proxy", "[detail]", PRIV_USER, 0, cmd_show_sessions },
	{ SP_MODE_EXEC, "show sessions count", "Number of dialogs and bindings", NULL, PRIV_USER, 0, cmd_show_sessions_count },
	{ SP_MODE_EXEC, "show bindings", "Terminal bindings A:a <-> C:c", NULL, PRIV_USER, 0, cmd_show_bindings },
	{ SP_MODE_EXEC, "show vpn", "VPNs: interfaces, mark slot, conntrack zone, return table", NULL, PRIV_USER, 0, cmd_show_vpn },
	{ SP_MODE_EXEC, "show statistics", "Proxy counters", NULL, PRIV_USER, 0, cmd_show_statistics },
	{ SP_MODE_EXEC, "clear sessions", "Forget every dialog", NULL, PRIV_ADMIN, 0, cmd_clear_sessions },
	{ SP_MODE_EXEC, "clear statistics", "Zero the proxy counters", NULL, PRIV_ADMIN, 0, cmd_clear_statistics },
	{ SP_MODE_EXEC, "show users", "CLI sessions: who, from where, since, idle", NULL, PRIV_USER, 0, cmd_show_users },
	{ SP_MODE_EXEC, "show startup-config", "The configuration file the daemon starts with", NULL, PRIV_ADMIN, 0, cmd_show_startup_config },
	{ SP_MODE_EXEC, "show logging", "The daemon's recent log lines (in memory)", NULL, PRIV_ADMIN, 0, cmd_show_logging },
	{ SP_MODE_EXEC, "show history", "The commands of this session", NULL, PRIV_USER, 0, cmd_show_history },
	{ SP_MODE_EXEC, "show debugging", "Debug categories that are on", NULL, PRIV_USER, 0, cmd_show_debugging },
	{ SP_MODE_EXEC, "clear counters", "Zero the proxy counters (as clear statistics)", NULL, PRIV_ADMIN, 0, cmd_clear_statistics },
	{ SP_MODE_EXEC, "debug", "Log the debug lines of a category", "{engine|sip|kernel|sync|all}", PRIV_ADMIN, 0, cmd_debug },
	{ SP_MODE_EXEC, "no debug", "Stop logging the debug lines of a category", "{engine|sip|kernel|sync|all}", PRIV_ADMIN, 0, cmd_no_debug },
	{ SP_MODE_EXEC, "undebug", "Stop logging the debug lines of a category", "{engine|sip|kernel|sync|all}", PRIV_ADMIN, 0, cmd_no_debug },
	{ SP_MODE_EXEC, "write", "Save the running configuration (as write memory)", NULL, PRIV_ADMIN, 0, cmd_write_memory },
	{ SP_MODE_EXEC, "copy running-config startup-config", "Save the running configuration (as write memory)", NULL, PRIV_ADMIN, 0, cmd_write_memory },
	{ SP_MODE_EXEC, "configure replace", "Make a file the running configuration, in one transaction", "FILE", PRIV_ADMIN, 0, cmd_configure_replace },
	{ SP_MODE_EXEC, "show version", "Software version and uptime", NULL, PRIV_USER, 0, cmd_show_version },
	{ SP_MODE_EXEC, "show redundancy", "Active-standby role and state sync", NULL, PRIV_USER, 0, cmd_show_redundancy },
	{ SP_MODE_EXEC, "show persistence", "Bindings and dialogs kept across restarts", NULL, PRIV_USER, 0, cmd_show_persistence },
	{ SP_MODE_EXEC, "redundancy force-switchover", "Hand the active role over to the peer", NULL, PRIV_ADMIN, 0, cmd_redundancy_force_switchover },
	{ SP_MODE_EXEC, "redundancy notify", "A VRRP daemon's new state (its notify hook)", "{master|backup|fault}", PRIV_ADMIN, 0, cmd_redundancy_notify },
	{ SP_MODE_EXEC, "reload", "Re-read the configuration file (force: even one that empties the configuration)", "[force]", PRIV_ADMIN, 0, cmd_reload },
	{ SP_MODE_EXEC, "write memory", "Save the running configuration", NULL, PRIV_ADMIN, 0, cmd_write_memory },

	/* config, top level */
	{ SP_MODE_CONFIG, "hostname", "Set the system's network name", "NAME", PRIV_ADMIN, TOP, cmd_hostname },
	{ SP_MODE_CONFIG, "banner motd", "Message shown when a CLI session opens", "TEXT", PRIV_ADMIN, TOP, cmd_banner_motd },
	{ SP_MODE_CONFIG, "no banner motd", "The default banner", NULL, PRIV_ADMIN, TOP, cmd_no_banner_motd },
	{ SP_MODE_CONFIG, "logging host", "Also send the log to a syslog host (UDP)", "A.B.C.D [port N]", PRIV_ADMIN, TOP, cmd_logging_host },
	{ SP_MODE_CONFIG, "no logging host", "Stop sending the log to a syslog host", "A.B.C.D", PRIV_ADMIN, TOP, cmd_no_logging_host },
	{ SP_MODE_CONFIG, "no hostname", "Reset the hostname", NULL, PRIV_ADMIN, TOP, cmd_no_hostname },
	{ SP_MODE_CONFIG, "username", "A login user", "NAME [privilege {1 | 15}] secret {PASSWORD | hashed HASH}", PRIV_ADMIN, TOP, cmd_username },
	{ SP_MODE_CONFIG, "no username", "Remove a login user", "NAME", PRIV_ADMIN, TOP, cmd_no_username },
	{ SP_MODE_CONFIG, "enable secret", "The enable secret", "{PASSWORD | hashed HASH}", PRIV_ADMIN, TOP, cmd_enable_secret },
	{ SP_MODE_CONFIG, "no enable secret", "Remove the enable secret", NULL, PRIV_ADMIN, TOP, cmd_no_enable_secret },
	{ SP_MODE_CONFIG, "cli login-timeout", "Seconds a TCP session has to log in (default 30)", "SECONDS", PRIV_ADMIN, TOP, cmd_cli_login_timeout },
	{ SP_MODE_CONFIG, "no cli login-timeout", "Default login timeout (30 s)", NULL, PRIV_ADMIN, TOP, cmd_cli_no_login_timeout },
	{ SP_MODE_CONFIG, "cli exec-timeout", "Idle seconds before a session is closed (default 600, 0: never)", "SECONDS", PRIV_ADMIN, TOP, cmd_cli_exec_timeout },
	{ SP_MODE_CONFIG, "no cli exec-timeout", "Default exec timeout (600 s)", NULL, PRIV_ADMIN, TOP, cmd_cli_no_exec_timeout },
	{ SP_MODE_CONFIG, "cli access-class", "A source prefix permitted on the TCP listener", "PREFIX", PRIV_ADMIN, TOP, cmd_cli_access_class },
	{ SP_MODE_CONFIG, "no cli access-class", "Remove a permitted prefix (all without one)", "[PREFIX]", PRIV_ADMIN, TOP, cmd_cli_no_access_class },
	{ SP_MODE_CONFIG, "signaling-proxy", "Signaling proxy settings", NULL, PRIV_ADMIN, TOP, cmd_signaling_proxy },
	{ SP_MODE_CONFIG, "no signaling-proxy", "Reset the signaling proxy settings", NULL, PRIV_ADMIN, TOP, cmd_no_signaling_proxy },
	{ SP_MODE_CONFIG, "proxy-strategy", "A proxy strategy entry", "NAME seq N", PRIV_ADMIN, TOP, cmd_proxy_strategy },
	{ SP_MODE_CONFIG, "no proxy-strategy", "Remove a proxy strategy", "NAME [seq N]", PRIV_ADMIN, TOP, cmd_no_proxy_strategy },
	{ SP_MODE_CONFIG, "interface", "Interface settings", "NAME", PRIV_ADMIN, TOP, cmd_interface },
	{ SP_MODE_CONFIG, "no interface", "Remove an interface's settings", "NAME", PRIV_ADMIN, TOP, cmd_no_interface },
	{ SP_MODE_CONFIG, "policy-route", "A policy route on the host router", "NAME seq N", PRIV_ADMIN, TOP, cmd_policy_route },
	{ SP_MODE_CONFIG, "no policy-route", "Remove a policy route", "NAME [seq N]", PRIV_ADMIN, TOP, cmd_no_policy_route },
	{ SP_MODE_CONFIG, "redundancy", "Active-standby redundancy", NULL, PRIV_ADMIN, TOP, cmd_redundancy },
	{ SP_MODE_CONFIG, "no redundancy", "Remove the redundancy settings", NULL, PRIV_ADMIN, TOP, cmd_no_redundancy },

	/* config-sp */
	{ SP_MODE_SP, "server-side-address", "The SP's server-side address C", "A.B.C.D", PRIV_ADMIN, CFG, cmd_sp_server_side_address },
	{ SP_MODE_SP, "no server-side-address", "Remove the server-side address", NULL, PRIV_ADMIN, CFG, cmd_sp_no_server_side_address },
	{ SP_MODE_SP, "listen-port", "Intercepted SIP ports", "N [N ...]", PRIV_ADMIN, CFG, cmd_sp_listen_port },
	{ SP_MODE_SP, "no listen-port", "Intercept port 5060 only", NULL, PRIV_ADMIN, CFG, cmd_sp_no_listen_port },
	{ SP_MODE_SP, "default-action", "Action when no strategy matches", "{forward|drop}", PRIV_ADMIN, CFG, cmd_sp_default_action },
	{ SP_MODE_SP, "no default-action", "Forward when no strategy matches", NULL, PRIV_ADMIN, CFG, cmd_sp_no_default_action },
	{ SP_MODE_SP, "local-virtual-address", "E as a local, unannounced address", "A.B.C.D", PRIV_ADMIN, CFG, cmd_sp_local_virtual_address },
	{ SP_MODE_SP, "no local-virtual-address", "Remove the local virtual address", NULL, PRIV_ADMIN, CFG, cmd_sp_no_local_virtual_address },
	{ SP_MODE_SP, "return-path", "How answers reach terminals", "{learn | default-gateway A.B.C.D}", PRIV_ADMIN, CFG, cmd_sp_return_path },
	{ SP_MODE_SP, "no return-path", "Learn the return path", NULL, PRIV_ADMIN, CFG, cmd_sp_no_return_path },
	{ SP_MODE_SP, "media", "Media handling", "{kernel|off}", PRIV_ADMIN, CFG, cmd_sp_media },
	{ SP_MODE_SP, "no media", "Media in the kernel", NULL, PRIV_ADMIN, CFG, cmd_sp_no_media },
	{ SP_MODE_SP, "media-port-range", "Ports for media streams", "N M", PRIV_ADMIN, CFG, cmd_sp_media_port_range },
	{ SP_MODE_SP, "no media-port-range", "Default media ports", NULL, PRIV_ADMIN, CFG, cmd_sp_no_media_port_range },
	{ SP_MODE_SP, "session-limit", "Maximum concurrent sessions", "N", PRIV_ADMIN, CFG, cmd_sp_session_limit },
	{ SP_MODE_SP, "no session-limit", "No session limit", NULL, PRIV_ADMIN, CFG, cmd_sp_no_session_limit },
	{ SP_MODE_SP, "limit", "Per-source limit (0: off)", "{source-rate|source-new-bindings|source-bindings} N", PRIV_ADMIN, CFG, cmd_sp_limit },
	{ SP_MODE_SP, "no limit", "Default per-source limit", "{source-rate|source-new-bindings|source-bindings}", PRIV_ADMIN, CFG, cmd_sp_no_limit },
	{ SP_MODE_SP, "message-size-limit", "Largest request sent to a server (bytes)", "N", PRIV_ADMIN, CFG, cmd_sp_message_size_limit },
	{ SP_MODE_SP, "no message-size-limit", "Largest UDP request (65507 bytes)", NULL, PRIV_ADMIN, CFG, cmd_sp_no_message_size_limit },

	/* config-strategy */
	{ SP_MODE_STRATEGY, "match vpn-id", "Match a VPN", "N", PRIV_ADMIN, CFG, cmd_st_match_vpn },
	{ SP_MODE_STRATEGY, "match vlan", "Match a VLAN ID", "N", PRIV_ADMIN, CFG, cmd_st_match_vlan },
	{ SP_MODE_STRATEGY, "match mpls-label", "Match an MPLS label", "N", PRIV_ADMIN, CFG, cmd_st_match_mpls },
	{ SP_MODE_STRATEGY, "match protocol", "Match an IP protocol", "{udp|tcp|N}", PRIV_ADMIN, CFG, cmd_st_match_protocol },
	{ SP_MODE_STRATEGY, "match source", "Match the source", "{PREFIX|any} [port N[-M]]", PRIV_ADMIN, CFG, cmd_st_match_source },
	{ SP_MODE_STRATEGY, "match destination", "Match the destination", "{PREFIX|any} [port N[-M]]", PRIV_ADMIN, CFG, cmd_st_match_destination },
	{ SP_MODE_STRATEGY, "no match vpn-id", "Remove the VPN match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_vpn },
	{ SP_MODE_STRATEGY, "no match vlan", "Remove the VLAN match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_vlan },
	{ SP_MODE_STRATEGY, "no match mpls-label", "Remove the MPLS label match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_mpls },
	{ SP_MODE_STRATEGY, "no match protocol", "Remove the protocol match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_protocol },
	{ SP_MODE_STRATEGY, "no match source", "Remove the source match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_source },
	{ SP_MODE_STRATEGY, "no match destination", "Remove the destination match", NULL, PRIV_ADMIN, CFG, cmd_st_no_match_destination },
	{ SP_MODE_STRATEGY, "action", "What to do with matching signaling", "{proxy|forward|drop}", PRIV_ADMIN, CFG, cmd_st_action },
	{ SP_MODE_STRATEGY, "no action", "Remove the action (entry inactive)", NULL, PRIV_ADMIN, CFG, cmd_st_no_action },
	{ SP_MODE_STRATEGY, "server", "The real server D", "A.B.C.D [port N]", PRIV_ADMIN, CFG, cmd_st_server },
	{ SP_MODE_STRATEGY, "no server", "Remove the server", NULL, PRIV_ADMIN, CFG, cmd_st_no_server },
	{ SP_MODE_STRATEGY, "shutdown", "Keep the entry but do not install it", NULL, PRIV_ADMIN, CFG, cmd_shutdown },
	{ SP_MODE_STRATEGY, "no shutdown", "Install the entry again", NULL, PRIV_ADMIN, CFG, cmd_no_shutdown },
	{ SP_MODE_STRATEGY, "hide-server-identity", "Remove Server, User-Agent and Warning towards terminals", NULL, PRIV_ADMIN, CFG, cmd_st_hide_identity },
	{ SP_MODE_STRATEGY, "no hide-server-identity", "Pass the server's identity headers", NULL, PRIV_ADMIN, CFG, cmd_st_no_hide_identity },

	/* config-if */
	{ SP_MODE_INTERFACE, "vpn-id", "VPN membership of this interface", "N", PRIV_ADMIN, CFG, cmd_if_vpn_id },
	{ SP_MODE_INTERFACE, "no vpn-id", "Remove the VPN membership", NULL, PRIV_ADMIN, CFG, cmd_if_no_vpn_id },
	{ SP_MODE_INTERFACE, "signaling-proxy", "Which side of the SP this link is", "{terminal-side|server-side}", PRIV_ADMIN, CFG, cmd_if_side },
	{ SP_MODE_INTERFACE, "no signaling-proxy", "Remove the link's side", NULL, PRIV_ADMIN, CFG, cmd_if_no_side },

	/* config-pbr */
	{ SP_MODE_PBR, "match source", "Match a source prefix", "PREFIX", PRIV_ADMIN, CFG, cmd_pbr_match_source },
	{ SP_MODE_PBR, "match destination", "Match a destination prefix", "PREFIX", PRIV_ADMIN, CFG, cmd_pbr_match_destination },
	{ SP_MODE_PBR, "match protocol", "Match an IP protocol", "{udp|tcp|N}", PRIV_ADMIN, CFG, cmd_pbr_match_protocol },
	{ SP_MODE_PBR, "match source-port", "Match source ports", "N[-M]", PRIV_ADMIN, CFG, cmd_pbr_match_source_port },
	{ SP_MODE_PBR, "match destination-port", "Match destination ports", "N[-M]", PRIV_ADMIN, CFG, cmd_pbr_match_destination_port },
	{ SP_MODE_PBR, "match input-interface", "Match the input interface", "IFNAME", PRIV_ADMIN, CFG, cmd_pbr_match_input_interface },
	{ SP_MODE_PBR, "no match source", "Remove the source match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_source },
	{ SP_MODE_PBR, "no match destination", "Remove the destination match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_destination },
	{ SP_MODE_PBR, "no match protocol", "Remove the protocol match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_protocol },
	{ SP_MODE_PBR, "no match source-port", "Remove the source port match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_source_port },
	{ SP_MODE_PBR, "no match destination-port", "Remove the destination port match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_destination_port },
	{ SP_MODE_PBR, "no match input-interface", "Remove the input interface match", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_match_input_interface },
	{ SP_MODE_PBR, "shutdown", "Keep the entry but do not install it", NULL, PRIV_ADMIN, CFG, cmd_shutdown },
	{ SP_MODE_PBR, "no shutdown", "Install the entry again", NULL, PRIV_ADMIN, CFG, cmd_no_shutdown },
	{ SP_MODE_PBR, "set next-hop", "Send matching traffic to this next hop", "A.B.C.D", PRIV_ADMIN, CFG, cmd_pbr_set_next_hop },
	{ SP_MODE_PBR, "set table", "Look matching traffic up in this table", "N", PRIV_ADMIN, CFG, cmd_pbr_set_table },
	{ SP_MODE_PBR, "no set next-hop", "Remove the next hop", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_set_next_hop },
	{ SP_MODE_PBR, "no set table", "Remove the table", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_set_table },

	/* config-redundancy */
	{ SP_MODE_REDUNDANCY, "role", "Configured role", "{active|standby}", PRIV_ADMIN, CFG, cmd_red_role },
	{ SP_MODE_REDUNDANCY, "local-address", "Local state-sync address", "A.B.C.D port N", PRIV_ADMIN, CFG, cmd_red_local },
	{ SP_MODE_REDUNDANCY, "no local-address", "Remove the local address", NULL, PRIV_ADMIN, CFG, cmd_red_no_local },
	{ SP_MODE_REDUNDANCY, "peer-address", "The peer's state-sync address", "A.B.C.D port N", PRIV_ADMIN, CFG, cmd_red_peer },
	{ SP_MODE_REDUNDANCY, "no peer-address", "Remove the peer address", NULL, PRIV_ADMIN, CFG, cmd_red_no_peer },
	{ SP_MODE_REDUNDANCY, "authentication key", "Key of the state-sync channel (7: obfuscated, as shown)", "WORD | 7 HEX", PRIV_ADMIN, CFG, cmd_red_key },
	{ SP_MODE_REDUNDANCY, "no authentication key", "Remove the key", NULL, PRIV_ADMIN, CFG, cmd_red_no_key },
};

static const struct sp_cmd_keyword_help sp_keyword_helps[] = {
	{ SP_MODE_EXEC, "show", "Show running system information" },
	{ SP_MODE_EXEC, "write", "Write the running configuration" },
	{ SP_MODE_EXEC, "clear", "Reset state or counters" },
	{ SP_MODE_EXEC, "redundancy", "Active-standby role changes" },
	{ SP_MODE_CONFIG, "no", "Negate a command or set its defaults" },
	{ SP_MODE_CONFIG, "cli", "The management plane: CLI sessions" },
	{ SP_MODE_CONFIG, "no cli", "The management plane: CLI sessions" },
	{ SP_MODE_CONFIG, "enable", "Enable settings" },
	{ SP_MODE_CONFIG, "no enable", "Enable settings" },
	{ SP_MODE_SP, "no", "Negate a command or set its defaults" },
	{ SP_MODE_SP, "limit", "Per-source limits" },
	{ SP_MODE_SP, "no limit", "Default per-source limits" },
	{ SP_MODE_STRATEGY, "match", "Match a field of the signaling" },
	{ SP_MODE_STRATEGY, "no", "Negate a command or set its defaults" },
	{ SP_MODE_STRATEGY, "no match", "Remove a match" },
	{ SP_MODE_INTERFACE, "no", "Negate a command or set its defaults" },
	{ SP_MODE_PBR, "match", "Match a field of the traffic" },
	{ SP_MODE_PBR, "set", "What to do with matching traffic" },
	{ SP_MODE_PBR, "no", "Negate a command or set its defaults" },
	{ SP_MODE_PBR, "no match", "Remove a match" },
	{ SP_MODE_PBR, "no set", "Remove a set action" },
	{ SP_MODE_REDUNDANCY, "authentication", "Authentication of the state-sync channel" },
	{ SP_MODE_REDUNDANCY, "no", "Negate a command or set its defaults" },
	{ SP_MODE_REDUNDANCY, "no authentication", "Authentication of the state-sync channel" },
};

const struct sp_cmd_def *sp_cmd_table(size_t *n)
{
	*n = sizeof(sp_cmds) / sizeof(sp_cmds[0]);
	return sp_cmds;
}

const struct sp_cmd_keyword_help *sp_cmd_keyword_helps(size_t *n)
{
	*n = sizeof(sp_keyword_helps) / sizeof(sp_keyword_helps[0]);
	return sp_keyword_helps;
}

bool sp_cmd_is_config_mode(int mode)
{
	return mode == SP_MODE_CONFIG || mode >= SP_MODE_SP;
}

/* A sub-mode's own command wins over a top-level one of the same name
 * ("signaling-proxy" in (config-if) is the interface's side). */
const struct sp_cmd_def *sp_cmd_find(int mode, const char *path)
{
	const struct sp_cmd_def *top = NULL;

	for (size_t i = 0; i < sizeof(sp_cmds) / sizeof(sp_cmds[0]); i++) {
		const struct sp_cmd_def *d = &sp_cmds[i];

		if (strcmp(d->path, path) != 0)
			continue;
		if (d->mode == mode)
			return d;
		if ((d->flags & SP_CMD_ALL_CONFIG_MODES) && sp_cmd_is_config_mode(mode) && !top)
			top = d;
	}
	return top;
}

const struct sp_cmd_def *sp_cmd_find_global(const char *path)
{
	for (size_t i = 0; i < sizeof(sp_cmds) / sizeof(sp_cmds[0]); i++)
		if ((sp_cmds[i].flags & SP_CMD_ALL_CONFIG_MODES) && strcmp(sp_cmds[i].path, path) == 0)
			return &sp_cmds[i];
	return NULL;
}

const char *sp_cmd_mode_desc(int mode)
{
	switch (mode) {
	case SP_MODE_SP: return "sp";
	case SP_MODE_STRATEGY: return "strategy";
	case SP_MODE_INTERFACE: return "if";
	case SP_MODE_PBR: return "pbr";
	case SP_MODE_REDUNDANCY: return "redundancy";
	case SP_MODE_CONFIG: return "";
	default: return NULL;
	}
}

int sp_cmd_run(const struct sp_cmd_def *def, struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	ctx->next_mode = -1;
	sp_error_clear(&ctx->err);
	if ((def->flags & SP_CMD_EDITS_CONFIG) && !ctx->cand)
		return sp_error_set(&ctx->err, "internal: no candidate configuration");
	/* A top-level command typed in a sub-mode leaves the sub-mode. */
	if ((def->flags & SP_CMD_ALL_CONFIG_MODES) && ctx->mode != SP_MODE_CONFIG)
		ctx->next_mode = SP_MODE_CONFIG;
	if (def->fn(ctx, argc, argv) < 0) {
		if (!ctx->err.msg[0])
			sp_error_set(&ctx->err, "Command failed");
		ctx->next_mode = -1;
		return -1;
	}
	return 0;
}
