/* The command layer, part: the commands inside the configuration blocks
 * (config-strategy, config-if, config-pbr, config-redundancy; config-sp in
 * sp_cmd_sp.c). */
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
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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
	int cmd_st_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)          \
	{                                                                                  \
		return cmd_st_match(ctx, argc, argv, field);                               \
	}                                                                                  \
	int cmd_st_no_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)        \
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

int cmd_st_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_st_no_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	(void)argc;
	(void)argv;
	if (!s)
		return -1;
	s->action = SP_ACTION_UNSET;
	return 0;
}

int cmd_st_server(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);
	struct sp_addr a;
	uint16_t port = SP_DEFAULT_SIP_PORT;
	enum sp_server_transport tr = SP_SERVER_TRANSPORT_DEFAULT;
	const char *name = "";
	int i = 1;

	if (!s)
		return -1;
	if (argc >= 3 && sp_word_is(argv[1], "port")) {
		if (sp_parse_port(argv[2], &port, &ctx->err) < 0)
			return -1;
		i = 3;
	}
	if (argc >= i + 2 && sp_word_is(argv[i], "transport")) {
		tr = sp_word_is(argv[i + 1], "udp") ? SP_SERVER_TRANSPORT_UDP :
		     sp_word_is(argv[i + 1], "tcp") ? SP_SERVER_TRANSPORT_TCP :
		     sp_word_is(argv[i + 1], "tls") ? SP_SERVER_TRANSPORT_TLS : SP_SERVER_TRANSPORT_DEFAULT;
		i += 2;
	}
	/* over TLS: the name the server's certificate must say */
	if (tr == SP_SERVER_TRANSPORT_TLS && argc == i + 2 && sp_word_is(argv[i], "name")) {
		name = argv[i + 1];
		i += 2;
	}
	if (argc < 1 || argc != i || (i > 1 && argc >= 2 && sp_word_is(argv[argc - 2], "transport") &&
				      tr == SP_SERVER_TRANSPORT_DEFAULT))
		return sp_cmd_usage(ctx, "server A.B.C.D [port N] [transport {udp|tcp|tls [name NAME]}]");
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0 || sp_check_server_name(name, &ctx->err) < 0)
		return -1;
	/* SIP over TLS is on 5061 unless said (RFC 3261 §19.1.2) */
	if (tr == SP_SERVER_TRANSPORT_TLS && !sp_word_is(argv[1 < argc ? 1 : 0], "port"))
		port = SP_DEFAULT_TLS_PORT;
	s->server = a;
	s->server_port = port;
	s->server_transport = tr;
	snprintf(s->server_name, sizeof(s->server_name), "%s", name);
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

int cmd_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_set_shutdown(ctx, argc, true);
}

int cmd_no_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_set_shutdown(ctx, argc, false);
}

int cmd_st_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_st_set_hide(ctx, argc, true);
}

int cmd_st_no_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_st_set_hide(ctx, argc, false);
}

int cmd_st_no_server(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	(void)argc;
	(void)argv;
	if (!s)
		return -1;
	memset(&s->server, 0, sizeof(s->server));
	s->server_port = SP_DEFAULT_SIP_PORT;
	s->server_transport = SP_SERVER_TRANSPORT_DEFAULT;
	s->server_name[0] = '\0';
	return 0;
}

/* ---- (config-if) ---- */

int cmd_if_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	if (!i)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "vpn-id N");
	return sp_parse_u32(argv[0], SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &i->vpn_id, &ctx->err);
}

int cmd_if_no_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_interface *i = sp_cmd_interface(ctx);

	(void)argc;
	(void)argv;
	if (!i)
		return -1;
	i->vpn_id = 0;
	return 0;
}

int cmd_if_side(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_if_no_side(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
	int cmd_pbr_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)          \
	{                                                                                   \
		return cmd_pbr_match(ctx, argc, argv, field);                               \
	}                                                                                   \
	int cmd_pbr_no_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv)        \
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

int cmd_pbr_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_pbr_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_pbr_no_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_policy_route *r = sp_cmd_policy_route(ctx);

	(void)argc;
	(void)argv;
	if (!r)
		return -1;
	memset(&r->next_hop, 0, sizeof(r->next_hop));
	return 0;
}

int cmd_pbr_no_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_red_role(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_red_local(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_redundancy *r = &ctx->cand->redundancy;
	return sp_cmd_addr_port(ctx, argc, argv, "local-address A.B.C.D port N", &r->local_address,
				&r->local_port);
}

int cmd_red_peer(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_redundancy *r = &ctx->cand->redundancy;
	return sp_cmd_addr_port(ctx, argc, argv, "peer-address A.B.C.D port N", &r->peer_address,
				&r->peer_port);
}

int cmd_red_no_local(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->redundancy.local_address, 0, sizeof(struct sp_addr));
	ctx->cand->redundancy.local_port = 0;
	return 0;
}

int cmd_red_no_peer(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
int cmd_red_key(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_red_no_key(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->redundancy.key[0] = '\0';
	return 0;
}
