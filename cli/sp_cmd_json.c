/* `| json` of the exec show commands that read the configuration (show
 * version, show proxy-strategy, show policy-route): the same data as their
 * text in sp_cmd_exec.c, written as JSON (sp_json.h). */
#include "config.h"
#include "sp_cmd.h"
#include "sp_cmd_int.h"
#include "sp_daemon.h"
#include "sp_engine.h"
#include "sp_json.h"
#include "sp_loop.h"
#include "sp_pbr.h"
#include "sp_status.h"

#include <stdlib.h>
#include <string.h>

int cmd_show_version_json(struct sp_cmd_ctx *ctx)
{
	struct sp_json j;

	sp_json_start(&j, ctx->out);
	sp_json_object(&j, NULL);
	sp_json_str(&j, "name", PACKAGE_NAME);
	sp_json_str(&j, "version", PACKAGE_VERSION);
	if (ctx->daemon) {
		sp_json_uint(&j, "uptime-seconds", (sp_loop_now_ms() - ctx->daemon->started_ms) / 1000);
		sp_json_str(&j, "configuration-file", ctx->daemon->opt.config_path);
		sp_json_uint(&j, "engine-workers",
			     ctx->daemon->engine ? sp_engine_workers(ctx->daemon->engine) : ctx->daemon->opt.workers);
		int prio;

		sp_json_str(&j, "scheduling", sp_cmd_sched_policy(&prio));
		sp_json_uint(&j, "scheduling-priority", (uint64_t)prio);
	}
	sp_json_finish(&j);
	ctx->json_written = true;
	return 0;
}

static void sp_json_port_match(struct sp_json *j, const char *key, const struct sp_prefix *p,
			       const struct sp_port_range *r)
{
	char b[SP_PREFIX_STRLEN];

	sp_json_object(j, key);
	sp_json_str(j, "prefix", sp_prefix_str(p, b, sizeof(b)));
	if (r->lo) {
		sp_json_uint(j, "port-low", r->lo);
		sp_json_uint(j, "port-high", r->hi);
	} else {
		sp_json_null(j, "port-low");
		sp_json_null(j, "port-high");
	}
	sp_json_close(j);
}

/* A strategy's install state (the status store) and hits (the engine), as
 * the text's first line has them. */
static void sp_json_strategy_state(struct sp_cmd_ctx *ctx, const struct sp_strategy *s, struct sp_json *j)
{
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_STRATEGY, s->name, s->seq) : NULL;
	uint64_t hits = 0;

	if (st && ctx->daemon->engine)
		sp_engine_strategy_state(ctx->daemon->engine, s->seq, &hits);
	sp_json_bool(j, "installed", st && st->installed);
	if (st && st->reason[0])
		sp_json_str(j, "reason", st->reason);
	else if (!st && s->action == SP_ACTION_UNSET)
		sp_json_str(j, "reason", "no action configured");
	else
		sp_json_null(j, "reason");
	sp_json_uint(j, "hits", hits);
}

static void sp_json_strategy(struct sp_cmd_ctx *ctx, const struct sp_strategy *s, struct sp_json *j)
{
	char b[SP_PREFIX_STRLEN];

	sp_json_object(j, NULL);
	sp_json_str(j, "name", s->name);
	sp_json_uint(j, "seq", s->seq);
	sp_json_strategy_state(ctx, s, j);
	sp_json_object(j, "match");
	if (s->match & SP_MATCH_VPN)
		sp_json_uint(j, "vpn-id", s->vpn_id);
	if (s->match & SP_MATCH_VLAN)
		sp_json_uint(j, "vlan", s->vlan);
	if (s->match & SP_MATCH_MPLS)
		sp_json_uint(j, "mpls-label", s->mpls_label);
	if (s->match & SP_MATCH_PROTOCOL)
		sp_json_str(j, "protocol", sp_protocol_str(s->protocol, b, sizeof(b)));
	if (s->match & (SP_MATCH_SOURCE | SP_MATCH_SOURCE_PORT))
		sp_json_port_match(j, "source", &s->source, &s->source_port);
	if (s->match & (SP_MATCH_DESTINATION | SP_MATCH_DESTINATION_PORT))
		sp_json_port_match(j, "destination", &s->destination, &s->destination_port);
	sp_json_close(j);
	sp_json_str(j, "action", sp_action_name(s->action));
	if (sp_addr_is_set(&s->server)) {
		sp_json_object(j, "server");
		sp_json_str(j, "address", sp_addr_str(&s->server, b, sizeof(b)));
		sp_json_uint(j, "port", s->server_port);
		sp_json_close(j);
	} else {
		sp_json_null(j, "server");
	}
	sp_json_close(j);
}

int cmd_show_proxy_strategy_json(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	struct sp_json j;
	size_t shown = 0;

	for (size_t i = 0; i < c->n_strategies; i++)
		shown += argc == 0 || strcmp(argv[0], c->strategies[i].name) == 0;
	if (argc == 1 && shown == 0)
		return sp_error_set(&ctx->err, "No proxy-strategy %s", argv[0]);
	sp_json_start(&j, ctx->out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "strategies");
	for (size_t i = 0; i < c->n_strategies; i++)
		if (argc == 0 || strcmp(argv[0], c->strategies[i].name) == 0)
			sp_json_strategy(ctx, &c->strategies[i], &j);
	sp_json_close(&j);
	sp_json_str(&j, "default-action", sp_action_name(c->sp.default_action));
	sp_json_finish(&j);
	ctx->json_written = true;
	return 0;
}

/* The kernel's lines of a policy route, as the text shows them. */
static void sp_json_pbr_kernel(struct sp_cmd_ctx *ctx, const struct sp_policy_route *r, struct sp_json *j)
{
	char *buf = NULL, *save;
	size_t len = 0;
	FILE *f;

	sp_json_array(j, "kernel");
	if (ctx->daemon && (f = open_memstream(&buf, &len))) {
		sp_pbr_print_kernel(ctx->daemon->pbr, r->name, r->seq, "", f);
		if (fclose(f) == 0 && buf)
			for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
				sp_json_str(j, NULL, line);
		free(buf);
	}
	sp_json_close(j);
}

static void sp_json_policy_route(struct sp_cmd_ctx *ctx, const struct sp_policy_route *r, struct sp_json *j)
{
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_POLICY_ROUTE, r->name, r->seq) : NULL;
	char b[SP_PREFIX_STRLEN];

	sp_json_object(j, NULL);
	sp_json_str(j, "name", r->name);
	sp_json_uint(j, "seq", r->seq);
	sp_json_bool(j, "installed", st && st->installed);
	sp_json_str(j, "reason", st && !st->installed ? st->reason : NULL);
	sp_json_object(j, "match");
	if (r->match & SP_MATCH_SOURCE)
		sp_json_str(j, "source", sp_prefix_str(&r->source, b, sizeof(b)));
	if (r->match & SP_MATCH_DESTINATION)
		sp_json_str(j, "destination", sp_prefix_str(&r->destination, b, sizeof(b)));
	if (r->match & SP_MATCH_PROTOCOL)
		sp_json_str(j, "protocol", sp_protocol_str(r->protocol, b, sizeof(b)));
	if (r->match & SP_MATCH_SOURCE_PORT)
		sp_json_str(j, "source-port", sp_port_range_str(&r->source_port, b, sizeof(b)));
	if (r->match & SP_MATCH_DESTINATION_PORT)
		sp_json_str(j, "destination-port", sp_port_range_str(&r->destination_port, b, sizeof(b)));
	if (r->match & SP_MATCH_INPUT_INTERFACE)
		sp_json_str(j, "input-interface", r->input_interface);
	sp_json_close(j);
	sp_json_str(j, "next-hop", sp_addr_is_set(&r->next_hop) ? sp_addr_str(&r->next_hop, b, sizeof(b)) : NULL);
	if (r->table)
		sp_json_uint(j, "table", r->table);
	else
		sp_json_null(j, "table");
	sp_json_pbr_kernel(ctx, r, j);
	sp_json_close(j);
}

int cmd_show_policy_route_json(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	struct sp_json j;
	size_t shown = 0;

	for (size_t i = 0; i < c->n_policy_routes; i++)
		shown += argc == 0 || strcmp(argv[0], c->policy_routes[i].name) == 0;
	if (argc == 1 && shown == 0)
		return sp_error_set(&ctx->err, "No policy-route %s", argv[0]);
	sp_json_start(&j, ctx->out);
	sp_json_object(&j, NULL);
	sp_json_array(&j, "policy-routes");
	for (size_t i = 0; i < c->n_policy_routes; i++)
		if (argc == 0 || strcmp(argv[0], c->policy_routes[i].name) == 0)
			sp_json_policy_route(ctx, &c->policy_routes[i], &j);
	sp_json_finish(&j);
	ctx->json_written = true;
	return 0;
}
