/* The command layer, part: the remote media proxies, in (config-mp)
 * (`media-proxy NAME`), and the media choice of a strategy and of the
 * signaling-proxy that may name them. */
#include "config.h"
#include "sp_cmd.h"
#include "sp_cmd_int.h"
#include "sp_daemon.h"
#include "sp_engine.h"
#include "sp_loop.h"
#include "sp_mediaproxy.h"
#include "sp_status.h"

#include <string.h>
#include <sys/socket.h>

static struct sp_media_proxy *sp_cmd_mp(struct sp_cmd_ctx *ctx)
{
	struct sp_media_proxy *mp = sp_config_mp_find(ctx->cand, ctx->edit.name);

	if (!mp)
		sp_error_set(&ctx->err, "media-proxy %s no longer exists", ctx->edit.name);
	return mp;
}

int cmd_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "media-proxy NAME");
	if (!sp_config_mp_get(ctx->cand, argv[0], &ctx->err))
		return -1;
	snprintf(ctx->edit.name, sizeof(ctx->edit.name), "%s", argv[0]);
	ctx->edit.seq = 0;
	ctx->next_mode = SP_MODE_MEDIA_PROXY;
	return 0;
}

int cmd_no_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return sp_cmd_usage(ctx, "no media-proxy NAME");
	if (!sp_config_mp_remove(ctx->cand, argv[0]))
		return sp_error_set(&ctx->err, "No media-proxy %s in the configuration", argv[0]);
	return 0;
}

int cmd_mp_control(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);
	struct sp_addr a;
	uint16_t port;

	if (!mp)
		return -1;
	if (argc != 3 || !sp_word_is(argv[1], "port"))
		return sp_cmd_usage(ctx, "control A.B.C.D port N");
	if (sp_parse_addr(argv[0], &a, &ctx->err) < 0 || sp_parse_port(argv[2], &port, &ctx->err) < 0)
		return -1;
	mp->control = a;
	mp->control_port = port;
	return 0;
}

int cmd_mp_no_control(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	(void)argc;
	(void)argv;
	if (!mp)
		return -1;
	memset(&mp->control, 0, sizeof(mp->control));
	mp->control_port = 0;
	return 0;
}

int cmd_mp_weight(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	if (!mp)
		return -1;
	if (argc != 1)
		return sp_cmd_usage(ctx, "weight N");
	return sp_parse_u32(argv[0], 0, SP_MP_WEIGHT_MAX, "weight", &mp->weight, &ctx->err);
}

int cmd_mp_no_weight(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	(void)argc;
	(void)argv;
	if (!mp)
		return -1;
	mp->weight = SP_MP_DEFAULT_WEIGHT;
	return 0;
}

int cmd_mp_fallback(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	if (!mp)
		return -1;
	if (argc == 1 && sp_word_is(argv[0], "kernel"))
		mp->fallback = SP_MP_FALLBACK_KERNEL;
	else if (argc == 1 && sp_word_is(argv[0], "refuse"))
		mp->fallback = SP_MP_FALLBACK_REFUSE;
	else
		return sp_cmd_usage(ctx, "fallback {kernel|refuse}");
	return 0;
}

int cmd_mp_no_fallback(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	(void)argc;
	(void)argv;
	if (!mp)
		return -1;
	mp->fallback = SP_MP_FALLBACK_KERNEL;
	return 0;
}

/* 1: terminal-side, 0: server-side, -1: neither */
static int sp_cmd_mp_side(const char *side)
{
	if (sp_word_is(side, "terminal-side"))
		return 1;
	if (sp_word_is(side, "server-side"))
		return 0;
	return -1;
}

/* One address per side and family: an IPv6 one beside an IPv4 one is what
 * a call between the families needs (interworking). */
int cmd_mp_media_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);
	struct sp_addr a;
	int side;

	if (!mp)
		return -1;
	if (argc != 2 || (side = sp_cmd_mp_side(argv[0])) < 0)
		return sp_cmd_usage(ctx, "media-address {terminal-side|server-side} {A.B.C.D|X:X::X:X}");
	if (sp_parse_addr(argv[1], &a, &ctx->err) < 0)
		return -1;
	*sp_media_proxy_slot(mp, side, a.family) = a;
	return 0;
}

/* Without an address: both families of that side; with one: its family's. */
int cmd_mp_no_media_address(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);
	struct sp_addr a;
	int side;

	if (!mp)
		return -1;
	if ((argc != 1 && argc != 2) || (side = sp_cmd_mp_side(argv[0])) < 0)
		return sp_cmd_usage(ctx, "no media-address {terminal-side|server-side} [A.B.C.D|X:X::X:X]");
	if (argc == 2) {
		if (sp_parse_addr(argv[1], &a, &ctx->err) < 0)
			return -1;
		memset(sp_media_proxy_slot(mp, side, a.family), 0, sizeof(a));
		return 0;
	}
	memset(sp_media_proxy_slot(mp, side, AF_INET), 0, sizeof(a));
	memset(sp_media_proxy_slot(mp, side, AF_INET6), 0, sizeof(a));
	return 0;
}

static int sp_cmd_mp_set_shutdown(struct sp_cmd_ctx *ctx, int argc, bool on)
{
	struct sp_media_proxy *mp = sp_cmd_mp(ctx);

	if (!mp)
		return -1;
	if (argc != 0)
		return sp_cmd_usage(ctx, on ? "shutdown" : "no shutdown");
	mp->shutdown = on;
	return 0;
}

int cmd_mp_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_mp_set_shutdown(ctx, argc, true);
}

int cmd_mp_no_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	return sp_cmd_mp_set_shutdown(ctx, argc, false);
}

/* (config-strategy) media {kernel | off | proxy [NAME]}: the name is
 * checked when the block is left (the media-proxy may come later in a file). */
int cmd_st_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "media {kernel | off | proxy [NAME]}";
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	if (!s)
		return -1;
	if (argc < 1 || argc > 2 || (argc == 2 && !sp_word_is(argv[0], "proxy")))
		return sp_cmd_usage(ctx, usage);
	if (argc == 2 && sp_check_name(argv[1], "media-proxy name", &ctx->err) < 0)
		return -1;
	if (sp_word_is(argv[0], "kernel"))
		s->media = SP_STRATEGY_MEDIA_KERNEL;
	else if (sp_word_is(argv[0], "off"))
		s->media = SP_STRATEGY_MEDIA_OFF;
	else if (sp_word_is(argv[0], "proxy"))
		s->media = SP_STRATEGY_MEDIA_PROXY;
	else
		return sp_cmd_usage(ctx, usage);
	snprintf(s->media_proxy, sizeof(s->media_proxy), "%s", argc == 2 ? argv[1] : "");
	return 0;
}

int cmd_st_no_media(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_strategy *s = sp_cmd_strategy(ctx);

	(void)argc;
	(void)argv;
	if (!s)
		return -1;
	s->media = SP_STRATEGY_MEDIA_UNSET;
	s->media_proxy[0] = '\0';
	return 0;
}

/* The state its client published (sp_status), or what the configuration
 * alone says. */
static void sp_show_mp_state(struct sp_cmd_ctx *ctx, const struct sp_media_proxy *mp)
{
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_MEDIA_PROXY, mp->name, 0) : NULL;

	if (st)
		fprintf(ctx->out, "%s%s%s\n", st->installed ? "in service" : "not in service",
			st->reason[0] ? ", " : "", st->reason);
	else if (mp->shutdown)
		fputs("not in service, shutdown\n", ctx->out);
	else
		fputs("not in service, not started\n", ctx->out);
}

/* What its client counted (the engine's read API). */
static void sp_show_mp_counters(struct sp_cmd_ctx *ctx, const char *name)
{
	struct sp_mp_view v[SP_MP_MAX];
	size_t n = ctx->daemon ? sp_engine_media_proxy_views(ctx->daemon->engine, v, SP_MP_MAX) : 0;
	uint64_t now = sp_loop_now_ms();

	for (size_t i = 0; i < n; i++) {
		const struct sp_mp_stats *s = &v[i].stats;

		if (strcmp(v[i].name, name) != 0)
			continue;
		fprintf(ctx->out, "  reachable               %s\n", v[i].reachable ? "yes" : "no");
		if (v[i].last_pong_ms)
			fprintf(ctx->out, "  last ping answered      %llu ms ago\n",
				(unsigned long long)(now - v[i].last_pong_ms));
		else
			fputs("  last ping answered      never\n", ctx->out);
		fprintf(ctx->out, "  calls held              %llu\n", (unsigned long long)v[i].calls);
		fprintf(ctx->out, "  offers %llu, answers %llu, deletes %llu, pings %llu, pongs %llu\n",
			(unsigned long long)s->offers, (unsigned long long)s->answers,
			(unsigned long long)s->deletes, (unsigned long long)s->pings,
			(unsigned long long)s->pongs);
		fprintf(ctx->out, "  requests %llu, replies %llu, retransmissions %llu, timeouts %llu, errors %llu\n",
			(unsigned long long)s->requests, (unsigned long long)s->replies,
			(unsigned long long)s->retransmissions, (unsigned long long)s->timeouts,
			(unsigned long long)s->errors);
		fprintf(ctx->out, "  bad replies %llu, wrong cookie %llu, queries %llu\n",
			(unsigned long long)s->bad_replies, (unsigned long long)s->wrong_cookie,
			(unsigned long long)s->queries);
	}
}

int cmd_show_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char b[SP_ADDR_STRLEN];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show media-proxy [NAME]");
	for (size_t i = 0; i < c->n_media_proxies; i++) {
		const struct sp_media_proxy *mp = &c->media_proxies[i];

		if (argc == 1 && strcmp(argv[0], mp->name) != 0)
			continue;
		shown++;
		fprintf(ctx->out, "media-proxy %s: ", mp->name);
		sp_show_mp_state(ctx, mp);
		fprintf(ctx->out, "  control                 %s port %u\n",
			sp_addr_str(&mp->control, b, sizeof(b)), mp->control_port);
		fprintf(ctx->out, "  weight                  %u\n", mp->weight);
		fprintf(ctx->out, "  fallback                %s\n", sp_mp_fallback_name(mp->fallback));
		for (int side = 1; side >= 0; side--)
			for (int k = 0; k < 2; k++) {
				const struct sp_addr *a =
					sp_media_proxy_address(mp, side, k ? AF_INET6 : AF_INET);

				if (a)
					fprintf(ctx->out, "  media-address %s  %s\n",
						side ? "terminal" : "server  ", sp_addr_str(a, b, sizeof(b)));
			}
		sp_show_mp_counters(ctx, mp->name);
	}
	if (argc == 1 && !shown)
		return sp_error_set(&ctx->err, "No media-proxy %s", argv[0]);
	if (!shown)
		fputs("No media proxies configured\n", ctx->out);
	return 0;
}
