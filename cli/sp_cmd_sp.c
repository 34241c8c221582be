/* The command layer, part: the commands of the config-sp block (the proxy's
 * own settings: addresses, ports, actions, media, limits). */
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

/* One C per address family: the address goes in its family's slot. */
int cmd_sp_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_addr a;

	if (argc != 1)
		return sp_cmd_usage(ctx, "server-side-address {A.B.C.D | X:X::X:X}");
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0)
		return -1;
	if (a.family == AF_INET6)
		ctx->cand->sp.server_side_address6 = a;
	else
		ctx->cand->sp.server_side_address = a;
	return 0;
}

/* `no server-side-address`: both; with an address, the one it names. */
int cmd_sp_no_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_sp_settings *sp = &ctx->cand->sp;
	struct sp_addr a;

	if (argc > 1)
		return sp_cmd_usage(ctx, "no server-side-address [A.B.C.D | X:X::X:X]");
	if (argc == 0) {
		memset(&sp->server_side_address, 0, sizeof(struct sp_addr));
		memset(&sp->server_side_address6, 0, sizeof(struct sp_addr));
		return 0;
	}
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0)
		return -1;
	if (sp_addr_equal(&a, &sp->server_side_address))
		memset(&sp->server_side_address, 0, sizeof(struct sp_addr));
	else if (sp_addr_equal(&a, &sp->server_side_address6))
		memset(&sp->server_side_address6, 0, sizeof(struct sp_addr));
	else
		return sp_error_set(&ctx->err, "%s is not a server-side-address", argv[0]);
	return 0;
}

int cmd_sp_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_sp_no_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.listen_ports[0] = SP_DEFAULT_SIP_PORT;
	ctx->cand->sp.n_listen_ports = 1;
	return 0;
}

int cmd_sp_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "forward"))
		ctx->cand->sp.default_action = SP_ACTION_FORWARD;
	else if (argc == 1 && sp_word_is(argv[0], "drop"))
		ctx->cand->sp.default_action = SP_ACTION_DROP;
	else
		return sp_cmd_usage(ctx, "default-action {forward|drop}");
	return 0;
}

int cmd_sp_no_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.default_action = SP_ACTION_FORWARD;
	return 0;
}

int cmd_sp_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "local-virtual-address A.B.C.D");
	return sp_parse_addr(argv[0], &ctx->cand->sp.local_virtual_address, &ctx->err);
}

int cmd_sp_no_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memset(&ctx->cand->sp.local_virtual_address, 0, sizeof(struct sp_addr));
	return 0;
}

int cmd_sp_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "return-path {learn | default-gateway {A.B.C.D | X:X::X:X}}";
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

int cmd_sp_no_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.return_path = SP_RETURN_LEARN;
	memset(&ctx->cand->sp.return_gateway, 0, sizeof(struct sp_addr));
	return 0;
}

int cmd_sp_signaling_sockets(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "per-binding"))
		ctx->cand->sp.signaling_sockets = SP_SIGSOCK_PER_BINDING;
	else if (argc == 1 && sp_word_is(argv[0], "shared"))
		ctx->cand->sp.signaling_sockets = SP_SIGSOCK_SHARED;
	else
		return sp_cmd_usage(ctx, "signaling-sockets {per-binding|shared}");
	return 0;
}

int cmd_sp_no_signaling_sockets(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.signaling_sockets = SP_SIGSOCK_PER_BINDING;
	return 0;
}

int cmd_sp_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 1 && sp_word_is(argv[0], "kernel"))
		ctx->cand->sp.media = SP_MEDIA_KERNEL;
	else if (argc == 1 && sp_word_is(argv[0], "off"))
		ctx->cand->sp.media = SP_MEDIA_OFF;
	else if (argc == 1 && sp_word_is(argv[0], "proxy"))
		ctx->cand->sp.media = SP_MEDIA_PROXY;
	else
		return sp_cmd_usage(ctx, "media {kernel|off|proxy}");
	return 0;
}

int cmd_sp_no_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.media = SP_MEDIA_KERNEL;
	return 0;
}

int cmd_sp_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_sp_no_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.media_port_min = SP_DEFAULT_MEDIA_PORT_MIN;
	ctx->cand->sp.media_port_max = SP_DEFAULT_MEDIA_PORT_MAX;
	return 0;
}

int cmd_sp_signaling_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t lo, hi;

	if (argc != 2)
		return sp_cmd_usage(ctx, "signaling-port-range N M");
	if (sp_parse_u32(argv[0], SP_SIGNALING_PORT_MIN, 65535, "signaling port", &lo, &ctx->err) < 0 ||
	    sp_parse_u32(argv[1], SP_SIGNALING_PORT_MIN, 65535, "signaling port", &hi, &ctx->err) < 0)
		return -1;
	if (hi < lo)
		return sp_error_set(&ctx->err, "Invalid signaling-port-range: %u is below %u", hi, lo);
	ctx->cand->sp.signaling_port_min = (uint16_t)lo;
	ctx->cand->sp.signaling_port_max = (uint16_t)hi;
	return 0;
}

int cmd_sp_no_signaling_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.signaling_port_min = SP_SIGNALING_PORT_FIRST;
	ctx->cand->sp.signaling_port_max = SP_SIGNALING_PORT_LAST;
	return 0;
}

int cmd_sp_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "session-limit N");
	return sp_parse_u32(argv[0], 1, SP_SESSION_LIMIT_MAX, "session limit",
			    &ctx->cand->sp.session_limit, &ctx->err);
}

int cmd_sp_no_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.session_limit = 0;
	return 0;
}

/* limit {source-rate|source-new-bindings|source-bindings} N: 0 switches the
 * limit off; `no limit ...` puts the default back. */
/* The limits of SIP over TCP (daemon/sp_transport_tcp). */
static uint32_t *sp_cmd_tcp_limit(struct sp_sp_settings *sp, const char *which, uint32_t *dflt)
{
	static const struct {
		const char *word;
		size_t off;
		uint32_t dflt;
	} tcp[] = {
		{ "tcp-connections", offsetof(struct sp_sp_settings, tcp_connections),
		  SP_DEFAULT_TCP_CONNECTIONS },
		{ "tcp-source-connections", offsetof(struct sp_sp_settings, tcp_source_connections),
		  SP_DEFAULT_TCP_SOURCE_CONNECTIONS },
		{ "tcp-message-size", offsetof(struct sp_sp_settings, tcp_message_size),
		  SP_DEFAULT_TCP_MESSAGE_SIZE },
		{ "tcp-header-timeout", offsetof(struct sp_sp_settings, tcp_header_timeout),
		  SP_DEFAULT_TCP_HEADER_TIMEOUT },
		{ "tcp-idle-timeout", offsetof(struct sp_sp_settings, tcp_idle_timeout),
		  SP_DEFAULT_TCP_IDLE_TIMEOUT },
	};

	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
		if (sp_word_is(which, tcp[i].word)) {
			*dflt = tcp[i].dflt;
			return (uint32_t *)((char *)sp + tcp[i].off);
		}
	}
	return NULL;
}

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
	return sp_cmd_tcp_limit(sp, which, dflt);
}

/* How long a dialog without a message is kept: 1 s at least (0 would keep
 * a dead call for ever, the state the timeouts exist to bound). */
static uint32_t *sp_cmd_dialog_timeout(struct sp_cmd_ctx *ctx, const char *which, uint32_t *dflt)
{
	struct sp_sp_settings *sp = &ctx->cand->sp;

	if (sp_word_is(which, "dialog-early-timeout")) {
		*dflt = SP_DEFAULT_DIALOG_EARLY_TIMEOUT;
		return &sp->dialog_early_timeout;
	}
	if (sp_word_is(which, "dialog-idle-timeout")) {
		*dflt = SP_DEFAULT_DIALOG_IDLE_TIMEOUT;
		return &sp->dialog_idle_timeout;
	}
	return NULL;
}

#define SP_CMD_LIMIT_WORDS "{source-rate|source-new-bindings|source-bindings|tcp-connections|" \
	"tcp-source-connections|tcp-message-size|tcp-header-timeout|tcp-idle-timeout|" \
	"dialog-early-timeout|dialog-idle-timeout}"

int cmd_sp_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t dflt, *field = argc == 2 ? sp_cmd_source_limit(ctx, argv[0], &dflt) : NULL;

	if (!field && argc == 2 && (field = sp_cmd_dialog_timeout(ctx, argv[0], &dflt)))
		return sp_parse_u32(argv[1], 1, SP_DIALOG_TIMEOUT_MAX, "limit", field, &ctx->err);
	if (!field)
		return sp_cmd_usage(ctx, "limit " SP_CMD_LIMIT_WORDS " N");
	return sp_parse_u32(argv[1], 0, SP_SOURCE_LIMIT_MAX, "limit", field, &ctx->err);
}

int cmd_sp_no_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	uint32_t dflt, *field = argc >= 1 ? sp_cmd_source_limit(ctx, argv[0], &dflt) : NULL;

	if (!field && argc >= 1)
		field = sp_cmd_dialog_timeout(ctx, argv[0], &dflt);
	if (!field)
		return sp_cmd_usage(ctx, "no limit " SP_CMD_LIMIT_WORDS);
	*field = dflt;
	return 0;
}

int cmd_sp_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "message-size-limit N");
	return sp_parse_u32(argv[0], SP_MESSAGE_SIZE_MIN, SP_MESSAGE_SIZE_MAX, "message size limit",
			    &ctx->cand->sp.message_size_limit, &ctx->err);
}

int cmd_sp_no_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.message_size_limit = SP_MESSAGE_SIZE_MAX;
	return 0;
}

/* A file the daemon reads (a certificate, a key, a CA bundle): an absolute
 * path running-config can write back as one word. */
static int sp_cmd_file(struct sp_cmd_ctx *ctx, const char *path, char *out, size_t len)
{
	if (path[0] != '/' || strlen(path) >= len || strpbrk(path, "\"'\\| \t"))
		return sp_error_set(&ctx->err, "Invalid file \"%s\" (an absolute path, at most %zu characters)",
				    path, len - 1);
	snprintf(out, len, "%s", path);
	return 0;
}

/* tls certificate FILE key FILE | tls ca FILE. The certificate entered
 * again (the same files) re-reads them: a renewed certificate is taken
 * for new handshakes, open connections stay. */
int cmd_sp_tls(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_sp_settings *sp = &ctx->cand->sp;

	if (argc == 4 && sp_word_is(argv[0], "certificate") && sp_word_is(argv[2], "key")) {
		if (sp_cmd_file(ctx, argv[1], sp->tls_certificate, sizeof(sp->tls_certificate)) < 0 ||
		    sp_cmd_file(ctx, argv[3], sp->tls_key, sizeof(sp->tls_key)) < 0)
			return -1;
		sp->tls_load++;
		return 0;
	}
	if (argc == 2 && sp_word_is(argv[0], "ca"))
		return sp_cmd_file(ctx, argv[1], sp->tls_ca, sizeof(sp->tls_ca));
	return sp_cmd_usage(ctx, "tls {certificate FILE key FILE | ca FILE}");
}

int cmd_sp_no_tls(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_sp_settings *sp = &ctx->cand->sp;

	if (argc == 1 && sp_word_is(argv[0], "certificate")) {
		sp->tls_certificate[0] = sp->tls_key[0] = '\0';
		return 0;
	}
	if (argc == 1 && sp_word_is(argv[0], "ca")) {
		sp->tls_ca[0] = '\0';
		return 0;
	}
	return sp_cmd_usage(ctx, "no tls {certificate | ca}");
}

int cmd_sp_tls_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "tls-port N");
	return sp_parse_port(argv[0], &ctx->cand->sp.tls_port, &ctx->err);
}

int cmd_sp_no_tls_port(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->cand->sp.tls_port = SP_DEFAULT_TLS_PORT;
	return 0;
}
