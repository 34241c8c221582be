#include "config.h"
#include "sp_cli_help.h"
#include "sp_cmd.h"

#include <string.h>

#define CR "<cr>\t"

static const struct sp_cli_arg_help sp_cli_arg_helps[] = {
	/* exec */
	{ SP_MODE_EXEC, "show proxy-strategy", "WORD", "A strategy's name", CR "Every strategy", true, SP_NAMES_STRATEGY },
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
	{ SP_MODE_SP, "server-side-address", "A.B.C.D", "The SP's server-side address C", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "listen-port", "1-65535", "A port; more may follow", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "default-action", "forward|drop", "Forward or drop unmatched signaling", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "local-virtual-address", "A.B.C.D", "The local virtual address E", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "return-path", "learn", "Learn the return path from the traffic", "default-gateway\tThen the gateway A.B.C.D", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "media", "kernel|off", "Media in the kernel, or not handled", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "media-port-range", "1024-65534", "The first port", "1025-65535\tThen the last port", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "session-limit", "1-10000000", "Concurrent sessions", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_SP, "limit", "source-rate", "Messages per second from one source", "source-new-bindings\tNew bindings per second from one source\vsource-bindings\tBindings of one source\v0-10000000\tThen the limit (0: off)", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "no limit", "source-rate", "Messages per second from one source", "source-new-bindings\tNew bindings per second from one source\vsource-bindings\tBindings of one source", false, SP_NAMES_NONE },
	{ SP_MODE_SP, "message-size-limit", "512-65507", "Bytes", NULL, false, SP_NAMES_NONE },
	/* proxy-strategy */
	{ SP_MODE_STRATEGY, "match vpn-id", "1-4294967295", "VPN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match vlan", "1-4094", "VLAN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match mpls-label", "16-1048575", "MPLS label", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match protocol", "udp|tcp|0-255", "IP protocol", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match source", "A.B.C.D/M", "Source prefix", "any\tAny source\vport\tAfter the prefix: port <1-65535>, or a range N-M", false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "match destination", "A.B.C.D/M", "Destination prefix", "any\tAny destination\vport\tAfter the prefix: port <1-65535>, or a range N-M", false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "action", "proxy|forward|drop", "What to do with matching signaling", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_STRATEGY, "server", "A.B.C.D", "The real server D", "port\tAfter the address: port <1-65535> (default 5060)", false, SP_NAMES_NONE },
	/* interface */
	{ SP_MODE_INTERFACE, "vpn-id", "1-4294967295", "VPN ID", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_INTERFACE, "signaling-proxy", "terminal-side|server-side", "Which side of the SP this link is", NULL, false, SP_NAMES_NONE },
	/* policy-route */
	{ SP_MODE_PBR, "match source", "A.B.C.D/M", "Source prefix", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match destination", "A.B.C.D/M", "Destination prefix", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match protocol", "udp|tcp|0-255", "IP protocol", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match source-port", "1-65535", "A port, or a range N-M", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match destination-port", "1-65535", "A port, or a range N-M", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "match input-interface", "IFNAME", "The input interface", NULL, false, SP_NAMES_INTERFACE },
	{ SP_MODE_PBR, "set next-hop", "A.B.C.D", "The next hop", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_PBR, "set table", "1-4294967295", "A routing table (not 253-255)", NULL, false, SP_NAMES_NONE },
	/* redundancy */
	{ SP_MODE_REDUNDANCY, "role", "active|standby", "The configured role", NULL, false, SP_NAMES_NONE },
	{ SP_MODE_REDUNDANCY, "local-address", "A.B.C.D", "The local state-sync address", "port\tAfter the address: port <1-65535>", false, SP_NAMES_NONE },
	{ SP_MODE_REDUNDANCY, "peer-address", "A.B.C.D", "The peer's state-sync address", "port\tAfter the address: port <1-65535>", false, SP_NAMES_NONE },
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
