#include "config.h"
#include "sp_cli_help.h"
#include "sp_cli_syntax.h"
#include "sp_cmd.h"

#include <dlfcn.h>
#include <libcli.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CR "<cr>\t"

static const struct sp_cli_arg_help sp_cli_arg_helps[] = {
	/* exec */
	{ SP_MODE_EXEC, "show proxy-strategy", "WORD", "A strategy's name", CR "Every strategy", true, SP_NAMES_STRATEGY },
	{ SP_MODE_EXEC, "show interface", "IFNAME", "An interface's name", CR "Every interface", true, SP_NAMES_INTERFACE },
	{ SP_MODE_EXEC, "show policy-route", "WORD", "A policy route's name", CR "Every policy route", true, SP_NAMES_POLICY_ROUTE },
	{ SP_MODE_EXEC, "show sessions", "detail", "Every dialog with its bindings and timers", NULL, true, SP_NAMES_NONE },
	{ SP_MODE_EXEC, "redundancy notify", "master|backup|fault", "The VRRP state", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_EXEC, "reload", "force", "Even a file that empties the configuration", NULL, true, SP_NAMES_NONE },
	/* config */
	{ SP_MODE_CONFIG, "hostname", "WORD", "Letters, digits and '-', starting with a letter (at most 63)", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "username", "WORD", "The user's login name", "privilege\tThen 1 (read-only) or 15 (privileged at login), then secret\vsecret\tThen the password, or hashed and a crypt(3) hash", false, SP_NAMES_USER },
	{ SP_MODE_CONFIG, "no username", "WORD", "The user's login name", NULL, false, SP_NAMES_USER },
	{ SP_MODE_CONFIG, "enable secret", "WORD", "The enable password (4-128 characters)", "hashed\tThen a crypt(3) hash", false, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "cli login-timeout", "1-86400", "Seconds", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "cli exec-timeout", "0-86400", "Idle seconds (0: never)", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "cli access-class", "A.B.C.D/M", "A permitted source prefix (or X:X::X:X/M)", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "no cli access-class", "A.B.C.D/M", "The prefix to remove", CR "Remove all", true, SP_NAMES_NONE },
	{ SP_MODE_CONFIG, "proxy-strategy", "WORD", "The strategy's name", "seq\tThen its sequence number <1-65535>", false, SP_NAMES_STRATEGY },
	{ SP_MODE_CONFIG, "no proxy-strategy", "WORD", "The strategy's name", "seq\tThen one sequence number <1-65535>\v" CR "Every entry of that name", false, SP_NAMES_STRATEGY },
	{ SP_MODE_CONFIG, "interface", "IFNAME", "An interface's name", NULL, false, SP_NAMES_INTERFACE },
	{ SP_MODE_CONFIG, "no interface", "IFNAME", "An interface's name", NULL, false, SP_NAMES_INTERFACE },
	{ SP_MODE_CONFIG, "policy-route", "WORD", "The policy route's name", "seq\tThen its sequence number <1-65535>", false, SP_NAMES_POLICY_ROUTE },
	{ SP_MODE_CONFIG, "no policy-route", "WORD", "The policy route's name", "seq\tThen one sequence number <1-65535>\v" CR "Every entry of that name", false, SP_NAMES_POLICY_ROUTE },
	/* signaling-proxy */
	{ SP_MODE_SP, "server-side-address", "A.B.C.D", "The SP's IPv4 server-side address C", "X:X::X:X\tThe IPv6 one (one per family)", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "listen-port", "1-65535", "A port; more may follow", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "default-action", "forward|drop", "Forward or drop unmatched signaling", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "local-virtual-address", "A.B.C.D", "The local virtual address E", "X:X::X:X\tAn IPv6 E", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "return-path", "learn", "Learn the return path from the traffic", "default-gateway\tThen the gateway A.B.C.D or X:X::X:X", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "signaling-sockets", "per-binding|shared", "A UDP socket per binding, or one per C for all", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "media", "kernel|off", "Media in the kernel, or not handled", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "media-port-range", "1024-65534", "The first port", "1025-65535\tThen the last port", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "signaling-port-range", "1024-65535", "The first port c", "1024-65535\tThen the last port", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "session-limit", "1-10000000", "Concurrent sessions", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "limit", "source-rate", "Messages per second from one source", "source-new-bindings\tNew bindings per second from one source\vsource-bindings\tBindings of one source\vtcp-connections\tTCP connections open at once\vtcp-source-connections\tTCP connections open from one address\vtcp-message-size\tLargest message on TCP (bytes)\vtcp-header-timeout\tSeconds a message begun on TCP may take\vtcp-idle-timeout\tSeconds a TCP connection may stay silent\vdialog-early-timeout\tSeconds an INVITE may wait for a final answer (1-2000000, default 180)\vdialog-idle-timeout\tSeconds a call without session timer may stay silent (1-2000000, default 43200)\v0-10000000\tThen the limit (0: off)", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "no limit", "source-rate", "Messages per second from one source", "source-new-bindings\tNew bindings per second from one source\vsource-bindings\tBindings of one source\vtcp-connections\tTCP connections open at once\vtcp-source-connections\tTCP connections open from one address\vtcp-message-size\tLargest message on TCP (bytes)\vtcp-header-timeout\tSeconds a message begun on TCP may take\vtcp-idle-timeout\tSeconds a TCP connection may stay silent\vdialog-early-timeout\tSeconds an INVITE may wait for a final answer (1-2000000, default 180)\vdialog-idle-timeout\tSeconds a call without session timer may stay silent (1-2000000, default 43200)", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "message-size-limit", "512-65507", "Bytes", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "tls", "certificate", "Then E's certificate (PEM file), key and the key's file", "ca\tThen the CA bundle (PEM file) servers are verified against", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "no tls", "certificate", "No certificate: TLS is not intercepted", "ca\tThe system's CAs", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "tls-port", "1-65535", "The port (default 5061)", NULL, false, SP_NAMES_NONE },
	/* proxy-strategy */
	{ SP_MODE_STRATEGY, "match vpn-id", "1-4294967295", "VPN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match vlan", "1-4094", "VLAN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match mpls-label", "16-1048575", "MPLS label", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match protocol", "udp|tcp|0-255", "IP protocol", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match source", "A.B.C.D/M", "Source prefix", "X:X::X:X/M\tAn IPv6 source prefix\vany\tAny source\vport\tAfter the prefix: port <1-65535>, or a range N-M", false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match destination", "A.B.C.D/M", "Destination prefix", "X:X::X:X/M\tAn IPv6 destination prefix\vany\tAny destination\vport\tAfter the prefix: port <1-65535>, or a range N-M", false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "action", "proxy|forward|drop", "What to do with matching signaling", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "server", "A.B.C.D", "The real server D", "X:X::X:X\tAn IPv6 server (needs an IPv6 server-side-address)\vport\tAfter the address: port <1-65535> (default 5060)\vtransport\tAfter the address (and port): udp, tcp or tls (then: name NAME)", false, SP_NAMES_NONE },
	/* interface */
	{ SP_MODE_INTERFACE, "vpn-id", "1-4294967295", "VPN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_INTERFACE, "signaling-proxy", "terminal-side|server-side", "Which side of the SP this link is", NULL, false, SP_NAMES_NONE },
	/* policy-route */
	{ SP_MODE_PBR, "match source", "A.B.C.D/M", "Source prefix", "X:X::X:X/M\tAn IPv6 source prefix", false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match destination", "A.B.C.D/M", "Destination prefix", "X:X::X:X/M\tAn IPv6 destination prefix", false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match protocol", "udp|tcp|0-255", "IP protocol", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match source-port", "1-65535", "A port, or a range N-M", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match destination-port", "1-65535", "A port, or a range N-M", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match input-interface", "IFNAME", "The input interface", NULL, false, SP_NAMES_INTERFACE },
	{ SP_MODE_PBR, "set next-hop", "A.B.C.D", "The next hop", "X:X::X:X\tAn IPv6 next hop", false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "set table", "1-4294967295", "A routing table (not 253-255)", NULL, false, SP_NAMES_NONE },
	/* redundancy */
	{ SP_MODE_REDUNDANCY, "role", "active|standby", "The configured role", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_REDUNDANCY, "local-address", "A.B.C.D", "The local state-sync address", "X:X::X:X\tAn IPv6 one\vport\tAfter the address: port <1-65535>", false, SP_NAMES_NONE },
	{ SP_MODE_REDUNDANCY, "peer-address", "A.B.C.D", "The peer's state-sync address", "X:X::X:X\tAn IPv6 one\vport\tAfter the address: port <1-65535>", false, SP_NAMES_NONE },
	{ SP_MODE_REDUNDANCY, "authentication key", "WORD", "The key (8 or more printable characters)", "7\tThen the key obfuscated, as running-config shows it", false, SP_NAMES_NONE },
};

const struct sp_cli_arg_help *sp_cli_arg_help_find(int mode, const char *path)
{
	for (size_t i = 0; i < sizeof(sp_cli_arg_helps) / sizeof(sp_cli_arg_helps[0]); i++)
		if (sp_cli_arg_helps[i].mode == mode && strcmp(sp_cli_arg_helps[i].path, path) == 0)
			return &sp_cli_arg_helps[i];
	return NULL;
}

const char *sp_cli_names_label(enum sp_cli_names kind)
{
	switch (kind) {
	case SP_NAMES_STRATEGY: return "STRATEGY-NAME";
	case SP_NAMES_POLICY_ROUTE: return "ROUTE-NAME";
	case SP_NAMES_INTERFACE: return "IFNAME";
	case SP_NAMES_USER: return "USERNAME";
	case SP_NAMES_NONE: break;
	}
	return "";
}

/* ---- `?` after the first argument ---- */

/* What `?` says of a keyword after the first argument. */
static const char *sp_cli_keyword_after_help(const char *kw)
{
	static const struct { const char *kw, *help; } helps[] = {
		{ "port", "Then a port" },
		{ "transport", "Then udp, tcp or tls" },
		{ "udp", "UDP (said: UDP only, 513 over 1300 bytes)" },
		{ "tcp", "The SP's own TCP connection per binding" },
		{ "tls", "The SP's own TLS connection per binding" },
		{ "name", "Then the name the server's certificate says" },
		{ "certificate", "Then the certificate's file" },
		{ "key", "Then the key's file" },
		{ "ca", "Then the CA bundle's file" },
		{ "seq", "Then the sequence number" },
		{ "privilege", "Then 1 (read-only) or 15 (privileged at login)" },
		{ "secret", "Then the password, or hashed and a crypt(3) hash" },
		{ "hashed", "Then a crypt(3) hash" },
		{ "1", "Read-only: user EXEC, enable refused" },
		{ "15", "Privileged at login" },
		{ "7", "Then the key obfuscated, as running-config shows it (or 7 as the key)" },
		{ "any", "Any address" },
		{ "detail", "Every dialog with its bindings and timers" },
		{ "force", "Even a file that empties the configuration" },
	};

	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].kw, kw) == 0)
			return helps[i].help;
	return "";
}

/* How `?` names a value after the first argument: by the keyword before
 * it, or by the command and the value's position. */
static void sp_cli_value_after_help(const struct sp_cmd_def *def, const struct sp_cli_syntax_item *it,
				    const char **name, const char **help)
{
	static const struct { const char *path, *after, *word, *name, *help; } helps[] = {
		{ NULL, "port", "N[-M]", "1-65535", "A port, or a range N-M" },
		{ NULL, "port", "N", "1-65535", "A port" },
		{ NULL, "seq", "N", "1-65535", "The sequence number" },
		{ NULL, "secret", "PASSWORD", "WORD", "The password (4-128 characters)" },
		{ NULL, "hashed", "HASH", "WORD", "A crypt(3) hash" },
		{ NULL, "default-gateway", "A.B.C.D", "A.B.C.D", "The default gateway (or X:X::X:X)" },
		{ NULL, "7", "HEX", "WORD", "The key obfuscated, as running-config shows it" },
		{ "listen-port", "", "N", "1-65535", "Another port" },
		{ "media-port-range", "", "M", "1025-65535", "The last port" },
		{ "signaling-port-range", "", "M", "1024-65535", "The last port" },
		{ "limit", "", "N", "0-10000000", "The limit (0: off)" },
		{ "banner motd", "", "TEXT", "LINE", "The message (the rest of the line)" },
	};
	const struct sp_cli_arg_help *h = sp_cli_arg_help_find(def->mode, def->path);

	*name = it->word;
	*help = "";
	if (it->ordinal == 0 && h && !it->after[0]) {
		*name = h->names != SP_NAMES_NONE ? sp_cli_names_label(h->names) : h->name;
		*help = h->help;
		return;
	}
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if ((!helps[i].path || strcmp(helps[i].path, def->path) == 0) &&
		    (helps[i].path || strcmp(helps[i].after, it->after) == 0) &&
		    strcmp(helps[i].word, it->word) == 0) {
			*name = helps[i].name;
			*help = helps[i].help;
			return;
		}
}

/* The command the line's first words name in the session's mode (a
 * top-level config command also from a sub-mode), and how many words that
 * took; NULL when none or more than one fits. */
static const struct sp_cmd_def *sp_cli_line_command(int mode, int privilege, char *const *words, int n, int *taken)
{
	size_t n_defs;
	const struct sp_cmd_def *tab = sp_cmd_table(&n_defs), *best = NULL;
	int best_words = 0, best_exact = 0, ties = 0;

	for (size_t i = 0; i < n_defs; i++) {
		const struct sp_cmd_def *d = &tab[i];
		char path[128], *save;
		int k = 0, exact = 0;
		bool fits = true;

		if (d->privilege > privilege)
			continue;
		if (d->mode != mode && !((d->flags & SP_CMD_ALL_CONFIG_MODES) && sp_cmd_is_config_mode(mode)))
			continue;
		snprintf(path, sizeof(path), "%s", d->path);
		for (char *w = strtok_r(path, " ", &save); w && fits; w = strtok_r(NULL, " ", &save), k++) {
			fits = k < n && strncasecmp(words[k], w, strlen(words[k])) == 0;
			exact += fits && strcasecmp(words[k], w) == 0;
		}
		if (!fits)
			continue;
		/* the longest path; among equals, the most words typed in full,
		 * then the mode's own command */
		if (k > best_words || (k == best_words && exact > best_exact) ||
		    (k == best_words && exact == best_exact && best && best->mode != mode && d->mode == mode)) {
			best = d;
			best_words = k;
			best_exact = exact;
			ties = 0;
		} else if (k == best_words && exact == best_exact && !(d->mode != mode && best->mode == mode)) {
			ties++;
		}
	}
	*taken = best_words;
	return ties ? NULL : best;
}

static void sp_cli_add_help_line(struct cli_comphelp *comphelp, const char *name, const char *help)
{
	char line[160];

	snprintf(line, sizeof(line), "  %-20s %s", name, help);
	cli_add_comphelp_entry(comphelp, line);
}

/* `do WORDS ?` in a configuration mode (libcli's `do` takes the rest of the
 * line as it is): the keywords of the exec commands that may follow WORDS,
 * with their help. */
static void sp_cli_help_exec_keywords(int privilege, char *const *words, int n, const char *partial,
				      struct cli_comphelp *comphelp)
{
	size_t n_defs, n_kw;
	const struct sp_cmd_def *tab = sp_cmd_table(&n_defs);
	const struct sp_cmd_keyword_help *kw = sp_cmd_keyword_helps(&n_kw);
	char seen[CLI_MAX_LINE_LENGTH] = " ";

	for (size_t i = 0; i < n_defs; i++) {
		char path[128], prefix[128] = "", *save, *w = NULL;
		const char *help = "";
		int k = 0;
		bool fits = true;

		if (tab[i].mode != SP_MODE_EXEC || tab[i].privilege > privilege)
			continue;
		snprintf(path, sizeof(path), "%s", tab[i].path);
		for (w = strtok_r(path, " ", &save); w && k < n && fits; w = strtok_r(NULL, " ", &save), k++) {
			fits = strncasecmp(words[k], w, strlen(words[k])) == 0;
			snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "%s%s", k ? " " : "", w);
		}
		if (!fits || k < n || !w || strncasecmp(partial, w, strlen(partial)) != 0)
			continue;
		char key[72];

		snprintf(key, sizeof(key), " %s ", w);
		if (strstr(seen, key) || strlen(seen) + strlen(key) >= sizeof(seen))
			continue; /* one line per keyword */
		strcat(seen, key + 1);
		if (!strtok_r(NULL, " ", &save)) {
			help = tab[i].help; /* the command's own last word */
		} else {
			snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "%s%s", n ? " " : "", w);
			for (size_t h = 0; h < n_kw; h++)
				if (kw[h].mode == SP_MODE_EXEC && strcmp(kw[h].path, prefix) == 0)
					help = kw[h].help;
		}
		sp_cli_add_help_line(comphelp, w, help);
	}
}

/* `?` at the end of `line` when libcli had nothing to say: what may follow,
 * from the command's usage, with <cr> when the line is complete; after `do`
 * in a configuration mode, the exec command's. */
static void sp_cli_help_after_argument(struct cli_def *cli, const char *line, struct cli_comphelp *comphelp)
{
	char buf[CLI_MAX_LINE_LENGTH], *all[CLI_MAX_LINE_WORDS], **words = all, *save;
	const char *partial = "";
	const struct sp_cmd_def *def;
	struct sp_cli_syntax_next *nx;
	int n = 0, taken, mode = cli->mode;
	size_t len = strlen(line);

	if (strchr(line, '|') || len == 0 || len >= sizeof(buf))
		return; /* a filter's words, or nothing typed: libcli's own */
	memcpy(buf, line, len + 1);
	for (char *w = strtok_r(buf, " ", &save); w && n < CLI_MAX_LINE_WORDS; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	if (line[len - 1] != ' ' && n > 0)
		partial = words[--n];
	if (mode != SP_MODE_EXEC && n > 0 && strcasecmp(words[0], "do") == 0) {
		mode = SP_MODE_EXEC;
		words++;
		n--;
	}
	def = sp_cli_line_command(mode, cli->privilege, words, n, &taken);
	if (mode != cli->mode && (!def || taken == n)) {
		/* after `do`: the keywords that go on from here, then (a whole
		 * command typed) its arguments below */
		int before = comphelp->num_entries < 0 ? 0 : comphelp->num_entries;

		comphelp->num_entries = before;
		sp_cli_help_exec_keywords(cli->privilege, words, n, partial, comphelp);
		if (!def)
			return;
	}
	if (!def || taken == 0 || !(nx = calloc(1, sizeof(*nx))))
		return;
	sp_cli_syntax_next(def->usage, words + taken, n - taken, partial, nx);
	if (!nx->fits) {
		free(nx);
		return; /* the words do not make that command: the bell */
	}
	if (comphelp->num_entries < 0)
		comphelp->num_entries = 0; /* libcli's -1: "a command without optargs" */
	for (int i = 0; i < nx->n; i++) {
		const char *name, *help;
		char value[64];

		if (!nx->items[i].is_value) {
			sp_cli_add_help_line(comphelp, nx->items[i].word, sp_cli_keyword_after_help(nx->items[i].word));
			continue;
		}
		sp_cli_value_after_help(def, &nx->items[i], &name, &help);
		snprintf(value, sizeof(value), "<%s>", name);
		sp_cli_add_help_line(comphelp, value, help);
	}
	if (nx->can_end && !partial[0]) {
		if (def->mode == SP_MODE_EXEC && strncmp(def->path, "show ", 5) == 0)
			sp_cli_add_help_line(comphelp, "|", "Output modifiers (include, exclude, section, json, ...)");
		sp_cli_add_help_line(comphelp, "<cr>", "");
	}
	free(nx);
}

/* libcli describes a command's first argument and nothing after it: the
 * argument is registered as not recorded (so every word still reaches the
 * handler, which parses them), and an argument of that kind ends libcli's
 * parsing of the line, so `?` after it found nothing and rang the bell.
 * libcli calls cli_get_completions() through its PLT, so this definition,
 * exported from the daemon (--export-dynamic-symbol in its link), is the one
 * it reaches: it runs libcli's own and, where that found nothing for `?`,
 * answers from the command's usage. Without the export (a unit test) libcli
 * keeps its own and nothing changes. */
void cli_get_completions(struct cli_def *cli, const char *command, char lastchar, struct cli_comphelp *comphelp);

typedef void (*sp_cli_completions_fn)(struct cli_def *, const char *, char, struct cli_comphelp *);
static sp_cli_completions_fn sp_cli_libcli_completions;
static pthread_once_t sp_cli_completions_once = PTHREAD_ONCE_INIT;

static void sp_cli_find_libcli_completions(void)
{
	void *f = dlsym(RTLD_NEXT, "cli_get_completions");

	memcpy(&sp_cli_libcli_completions, &f, sizeof(f)); /* ISO C: no object-to-function cast */
}

void cli_get_completions(struct cli_def *cli, const char *command, char lastchar, struct cli_comphelp *comphelp)
{
	pthread_once(&sp_cli_completions_once, sp_cli_find_libcli_completions);
	if (sp_cli_libcli_completions)
		sp_cli_libcli_completions(cli, command, lastchar, comphelp);
	if (lastchar == '?' && comphelp->num_entries <= 0 && command)
		sp_cli_help_after_argument(cli, command, comphelp);
}
