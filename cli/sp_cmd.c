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

#define PRIV_USER 0 /* libcli's PRIVILEGE_UNPRIVILEGED: user EXEC (the > prompt) */
#define PRIV_ADMIN 15
#define CFG (SP_CMD_EDITS_CONFIG)
#define TOP (SP_CMD_EDITS_CONFIG | SP_CMD_ALL_CONFIG_MODES)

/* ---- small helpers ---- */

#define SP_CMD_USAGE_PREFIX "Incomplete or invalid command; usage: "

int sp_cmd_usage(struct sp_cmd_ctx *ctx, const char *usage)
{
	return sp_error_set(&ctx->err, SP_CMD_USAGE_PREFIX "%s", usage);
}

bool sp_cmd_failed_on_syntax(const struct sp_cmd_ctx *ctx)
{
	return strncmp(ctx->err.msg, SP_CMD_USAGE_PREFIX, strlen(SP_CMD_USAGE_PREFIX)) == 0;
}

bool sp_word_is(const char *w, const char *keyword)
{
	/* unique-prefix abbreviations for keyword arguments, as for commands */
	size_t n = strlen(w);
	return n > 0 && strncasecmp(w, keyword, n) == 0;
}

struct sp_strategy *sp_cmd_strategy(struct sp_cmd_ctx *ctx)
{
	struct sp_strategy *s = sp_config_strategy_find(ctx->cand, ctx->edit.name, ctx->edit.seq);

	if (!s)
		sp_error_set(&ctx->err, "proxy-strategy %s seq %u no longer exists", ctx->edit.name,
			     ctx->edit.seq);
	return s;
}

struct sp_policy_route *sp_cmd_policy_route(struct sp_cmd_ctx *ctx)
{
	struct sp_policy_route *r =
		sp_config_policy_route_find(ctx->cand, ctx->edit.name, ctx->edit.seq);

	if (!r)
		sp_error_set(&ctx->err, "policy-route %s seq %u no longer exists", ctx->edit.name,
			     ctx->edit.seq);
	return r;
}

struct sp_interface *sp_cmd_interface(struct sp_cmd_ctx *ctx)
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
char *sp_cmd_secret_arg(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage)
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

/* ---- the tables ---- */

static const struct sp_cmd_def sp_cmds[] = {
	/* exec */
	{ SP_MODE_EXEC, "show running-config", "Current operating configuration", NULL, PRIV_ADMIN, 0, cmd_show_running_config },
	{ SP_MODE_EXEC, "show proxy-strategy", "Proxy strategies", "[NAME]", PRIV_USER, 0, cmd_show_proxy_strategy },
	{ SP_MODE_EXEC, "show policy-route", "Policy routes", "[NAME]", PRIV_USER, 0, cmd_show_policy_route },
	{ SP_MODE_EXEC, "show interface", "Interfaces: vpn-id, side, installed or why not", "[NAME]", PRIV_USER, 0, cmd_show_interface },
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
	{ SP_MODE_EXEC, "show version", "Software version, uptime and engine workers", NULL, PRIV_USER, 0, cmd_show_version },
	{ SP_MODE_EXEC, "show media-proxy", "Remote media proxies: state, reason, calls", "[NAME]", PRIV_USER, 0, cmd_show_media_proxy },
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
	{ SP_MODE_CONFIG, "media-proxy", "A remote media proxy (rtpengine, NG protocol)", "NAME", PRIV_ADMIN, TOP, cmd_media_proxy },
	{ SP_MODE_CONFIG, "no media-proxy", "Remove a remote media proxy", "NAME", PRIV_ADMIN, TOP, cmd_no_media_proxy },
	{ SP_MODE_CONFIG, "redundancy", "Active-standby redundancy", NULL, PRIV_ADMIN, TOP, cmd_redundancy },
	{ SP_MODE_CONFIG, "no redundancy", "Remove the redundancy settings", NULL, PRIV_ADMIN, TOP, cmd_no_redundancy },

	/* config-sp */
	{ SP_MODE_SP, "server-side-address", "The SP's server-side address C (one per family)", "{A.B.C.D | X:X::X:X}", PRIV_ADMIN, CFG, cmd_sp_server_side_address },
	{ SP_MODE_SP, "no server-side-address", "Remove the server-side addresses, or one", "[A.B.C.D | X:X::X:X]", PRIV_ADMIN, CFG, cmd_sp_no_server_side_address },
	{ SP_MODE_SP, "listen-port", "Intercepted SIP ports", "N [N ...]", PRIV_ADMIN, CFG, cmd_sp_listen_port },
	{ SP_MODE_SP, "no listen-port", "Intercept port 5060 only", NULL, PRIV_ADMIN, CFG, cmd_sp_no_listen_port },
	{ SP_MODE_SP, "default-action", "Action when no strategy matches", "{forward|drop}", PRIV_ADMIN, CFG, cmd_sp_default_action },
	{ SP_MODE_SP, "no default-action", "Forward when no strategy matches", NULL, PRIV_ADMIN, CFG, cmd_sp_no_default_action },
	{ SP_MODE_SP, "local-virtual-address", "E as a local, unannounced address", "{A.B.C.D | X:X::X:X}", PRIV_ADMIN, CFG, cmd_sp_local_virtual_address },
	{ SP_MODE_SP, "no local-virtual-address", "Remove the local virtual address", NULL, PRIV_ADMIN, CFG, cmd_sp_no_local_virtual_address },
	{ SP_MODE_SP, "return-path", "How answers reach terminals", "{learn | default-gateway {A.B.C.D | X:X::X:X}}", PRIV_ADMIN, CFG, cmd_sp_return_path },
	{ SP_MODE_SP, "no return-path", "Learn the return path", NULL, PRIV_ADMIN, CFG, cmd_sp_no_return_path },
	{ SP_MODE_SP, "signaling-sockets", "Server-side UDP sockets", "{per-binding|shared}", PRIV_ADMIN, CFG, cmd_sp_signaling_sockets },
	{ SP_MODE_SP, "no signaling-sockets", "A UDP socket per binding", NULL, PRIV_ADMIN, CFG, cmd_sp_no_signaling_sockets },
	{ SP_MODE_SP, "media", "Media handling", "{kernel|off|proxy}", PRIV_ADMIN, CFG, cmd_sp_media },
	{ SP_MODE_SP, "no media", "Media in the kernel", NULL, PRIV_ADMIN, CFG, cmd_sp_no_media },
	{ SP_MODE_SP, "media-port-range", "Ports for media streams", "N M", PRIV_ADMIN, CFG, cmd_sp_media_port_range },
	{ SP_MODE_SP, "no media-port-range", "Default media ports", NULL, PRIV_ADMIN, CFG, cmd_sp_no_media_port_range },
	{ SP_MODE_SP, "signaling-port-range", "Server-side ports c of each C", "N M", PRIV_ADMIN, CFG, cmd_sp_signaling_port_range },
	{ SP_MODE_SP, "no signaling-port-range", "Default server-side ports", NULL, PRIV_ADMIN, CFG, cmd_sp_no_signaling_port_range },
	{ SP_MODE_SP, "session-limit", "Maximum concurrent sessions", "N", PRIV_ADMIN, CFG, cmd_sp_session_limit },
	{ SP_MODE_SP, "no session-limit", "No session limit", NULL, PRIV_ADMIN, CFG, cmd_sp_no_session_limit },
	{ SP_MODE_SP, "limit", "Per-source, TCP and dialog limit (0: off)", "{source-rate|source-new-bindings|source-bindings|tcp-connections|tcp-source-connections|tcp-message-size|tcp-header-timeout|tcp-idle-timeout|dialog-early-timeout|dialog-idle-timeout} N", PRIV_ADMIN, CFG, cmd_sp_limit },
	{ SP_MODE_SP, "no limit", "Default per-source, TCP or dialog limit", "{source-rate|source-new-bindings|source-bindings|tcp-connections|tcp-source-connections|tcp-message-size|tcp-header-timeout|tcp-idle-timeout|dialog-early-timeout|dialog-idle-timeout}", PRIV_ADMIN, CFG, cmd_sp_no_limit },
	{ SP_MODE_SP, "message-size-limit", "Largest request sent to a server (bytes)", "N", PRIV_ADMIN, CFG, cmd_sp_message_size_limit },
	{ SP_MODE_SP, "no message-size-limit", "Largest UDP request (65507 bytes)", NULL, PRIV_ADMIN, CFG, cmd_sp_no_message_size_limit },
	{ SP_MODE_SP, "tls", "SIP over TLS: E's certificate, the servers' CA", "{certificate FILE key FILE | ca FILE}", PRIV_ADMIN, CFG, cmd_sp_tls },
	{ SP_MODE_SP, "no tls", "No certificate (TLS not intercepted), or the system's CAs", "{certificate | ca}", PRIV_ADMIN, CFG, cmd_sp_no_tls },
	{ SP_MODE_SP, "tls-port", "The port terminals reach E's TLS on", "N", PRIV_ADMIN, CFG, cmd_sp_tls_port },
	{ SP_MODE_SP, "no tls-port", "TLS on port 5061", NULL, PRIV_ADMIN, CFG, cmd_sp_no_tls_port },

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
	{ SP_MODE_STRATEGY, "server", "The real server D", "{A.B.C.D | X:X::X:X} [port N] [transport {udp|tcp|tls [name NAME]}]", PRIV_ADMIN, CFG, cmd_st_server },
	{ SP_MODE_STRATEGY, "no server", "Remove the server", NULL, PRIV_ADMIN, CFG, cmd_st_no_server },
	{ SP_MODE_STRATEGY, "shutdown", "Keep the entry but do not install it", NULL, PRIV_ADMIN, CFG, cmd_shutdown },
	{ SP_MODE_STRATEGY, "no shutdown", "Install the entry again", NULL, PRIV_ADMIN, CFG, cmd_no_shutdown },
	{ SP_MODE_STRATEGY, "hide-server-identity", "Remove Server, User-Agent and Warning towards terminals", NULL, PRIV_ADMIN, CFG, cmd_st_hide_identity },
	{ SP_MODE_STRATEGY, "no hide-server-identity", "Pass the server's identity headers", NULL, PRIV_ADMIN, CFG, cmd_st_no_hide_identity },
	{ SP_MODE_STRATEGY, "media", "Media of this strategy's calls", "{kernel | off | proxy [NAME]}", PRIV_ADMIN, CFG, cmd_st_media },
	{ SP_MODE_STRATEGY, "no media", "The signaling-proxy's media", NULL, PRIV_ADMIN, CFG, cmd_st_no_media },

	/* config-mp */
	{ SP_MODE_MEDIA_PROXY, "control", "Its NG control address", "A.B.C.D port N", PRIV_ADMIN, CFG, cmd_mp_control },
	{ SP_MODE_MEDIA_PROXY, "no control", "Remove the control address", NULL, PRIV_ADMIN, CFG, cmd_mp_no_control },
	{ SP_MODE_MEDIA_PROXY, "weight", "Share of new calls (0: none)", "N", PRIV_ADMIN, CFG, cmd_mp_weight },
	{ SP_MODE_MEDIA_PROXY, "no weight", "Default weight (1)", NULL, PRIV_ADMIN, CFG, cmd_mp_no_weight },
	{ SP_MODE_MEDIA_PROXY, "fallback", "When no media proxy answers", "{kernel|refuse}", PRIV_ADMIN, CFG, cmd_mp_fallback },
	{ SP_MODE_MEDIA_PROXY, "no fallback", "Fall back to the kernel", NULL, PRIV_ADMIN, CFG, cmd_mp_no_fallback },
	{ SP_MODE_MEDIA_PROXY, "media-address", "The address it announces towards a side", "{terminal-side|server-side} {A.B.C.D|X:X::X:X}", PRIV_ADMIN, CFG, cmd_mp_media_address },
	{ SP_MODE_MEDIA_PROXY, "no media-address", "Its own address towards a side (that family's, or both)", "{terminal-side|server-side} [A.B.C.D|X:X::X:X]", PRIV_ADMIN, CFG, cmd_mp_no_media_address },
	{ SP_MODE_MEDIA_PROXY, "shutdown", "Keep it but send it no calls", NULL, PRIV_ADMIN, CFG, cmd_mp_shutdown },
	{ SP_MODE_MEDIA_PROXY, "no shutdown", "Use it again", NULL, PRIV_ADMIN, CFG, cmd_mp_no_shutdown },

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
	{ SP_MODE_PBR, "set next-hop", "Send matching traffic to this next hop", "{A.B.C.D | X:X::X:X}", PRIV_ADMIN, CFG, cmd_pbr_set_next_hop },
	{ SP_MODE_PBR, "set table", "Look matching traffic up in this table", "N", PRIV_ADMIN, CFG, cmd_pbr_set_table },
	{ SP_MODE_PBR, "no set next-hop", "Remove the next hop", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_set_next_hop },
	{ SP_MODE_PBR, "no set table", "Remove the table", NULL, PRIV_ADMIN, CFG, cmd_pbr_no_set_table },

	/* config-redundancy */
	{ SP_MODE_REDUNDANCY, "role", "Configured role", "{active|standby}", PRIV_ADMIN, CFG, cmd_red_role },
	{ SP_MODE_REDUNDANCY, "local-address", "Local state-sync address", "{A.B.C.D | X:X::X:X} port N", PRIV_ADMIN, CFG, cmd_red_local },
	{ SP_MODE_REDUNDANCY, "no local-address", "Remove the local address", NULL, PRIV_ADMIN, CFG, cmd_red_no_local },
	{ SP_MODE_REDUNDANCY, "peer-address", "The peer's state-sync address", "{A.B.C.D | X:X::X:X} port N", PRIV_ADMIN, CFG, cmd_red_peer },
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
	{ SP_MODE_MEDIA_PROXY, "no", "Negate a command or set its defaults" },
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
	case SP_MODE_MEDIA_PROXY: return "mp";
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
