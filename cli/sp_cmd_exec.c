/* The command layer, part: exec mode (show, clear, write, reload and the
 * redundancy operations). */
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
#include "sp_show_data.h"
#include "sp_status.h"

#include <crypt.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- exec mode ---- */

int cmd_show_running_config(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_show_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char b1[SP_PREFIX_STRLEN], b2[16];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show proxy-strategy [NAME]");
	if (ctx->json)
		return cmd_show_proxy_strategy_json(ctx, argc, argv);
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

int cmd_show_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char b[SP_PREFIX_STRLEN];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show policy-route [NAME]");
	if (ctx->json)
		return cmd_show_policy_route_json(ctx, argc, argv);
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

/* An interface's state as the engine recorded it when it applied the
 * configuration or the link came or went (the status store, where SNMP reads
 * it too); "not installed" alone before the engine has said anything. */
static void sp_interface_state(const struct sp_cmd_ctx *ctx, const struct sp_interface *i, char *buf,
			       size_t len)
{
	const struct sp_status_item *st =
		ctx->daemon ? sp_status_get(ctx->daemon->status, SP_STATUS_INTERFACE, i->name, 0) : NULL;

	if (!st)
		snprintf(buf, len, "not installed");
	else if (st->installed)
		snprintf(buf, len, "installed");
	else
		snprintf(buf, len, "not installed (%s)", st->reason);
}

int cmd_show_interface(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct sp_config *c = ctx->running;
	char state[SP_STATUS_REASON_MAX + 32];
	size_t shown = 0;

	if (argc > 1)
		return sp_cmd_usage(ctx, "show interface [NAME]");
	for (size_t k = 0; k < c->n_interfaces; k++) {
		const struct sp_interface *i = &c->interfaces[k];

		if (argc == 1 && strcmp(argv[0], i->name) != 0)
			continue;
		shown++;
		sp_interface_state(ctx, i, state, sizeof(state));
		fprintf(ctx->out, "interface %s: %s\n", i->name, state);
		if (i->vpn_id)
			fprintf(ctx->out, "  vpn-id           %u\n", i->vpn_id);
		if (i->side != SP_SIDE_NONE)
			fprintf(ctx->out, "  signaling-proxy  %s\n",
				i->side == SP_SIDE_TERMINAL ? "terminal-side" : "server-side");
	}
	if (argc == 1 && shown == 0)
		return sp_error_set(&ctx->err, "No interface %s", argv[0]);
	if (shown == 0)
		fprintf(ctx->out, "No interfaces configured\n");
	return 0;
}

int cmd_show_version(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (ctx->json)
		return cmd_show_version_json(ctx);
	fprintf(ctx->out, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	if (ctx->daemon) {
		uint64_t up = (sp_loop_now_ms() - ctx->daemon->started_ms) / 1000;
		fprintf(ctx->out, "Uptime: %llud %02lluh %02llum %02llus\n", (unsigned long long)(up / 86400),
			(unsigned long long)(up / 3600 % 24), (unsigned long long)(up / 60 % 60),
			(unsigned long long)(up % 60));
		fprintf(ctx->out, "Configuration file: %s\n", ctx->daemon->opt.config_path);
		/* what runs: --workers, or its default from the CPUs (one if the
		 * kernel refused the steering that default needed) */
		fprintf(ctx->out, "Engine workers: %u\n",
			ctx->daemon->engine ? sp_engine_workers(ctx->daemon->engine) : ctx->daemon->opt.workers);
		/* what runs, whoever set it: --sched may have been refused
		 * (no CAP_SYS_NICE) or the policy given by systemd or chrt */
		int prio;
		const char *policy = sp_cmd_sched_policy(&prio);

		if (prio)
			fprintf(ctx->out, "Scheduling: %s, priority %d\n", policy, prio);
		else
			fprintf(ctx->out, "Scheduling: %s\n", policy);
	}
	return 0;
}

const char *sp_cmd_sched_policy(int *priority)
{
	struct sched_param param = { 0 };
	int policy = sched_getscheduler(getpid());

	*priority = sched_getparam(getpid(), &param) == 0 ? param.sched_priority : 0;
	switch (policy & ~SCHED_RESET_ON_FORK) {
	case SCHED_OTHER: return "normal";
	case SCHED_BATCH: return "batch";
	case SCHED_IDLE: return "idle";
	case SCHED_FIFO: return "fifo";
	case SCHED_RR: return "rr";
#ifdef SCHED_DEADLINE
	case SCHED_DEADLINE: return "deadline";
#endif
	default: return "unknown";
	}
}

static struct sp_engine *sp_cmd_engine(struct sp_cmd_ctx *ctx)
{
	if (!ctx->daemon || !ctx->daemon->engine) {
		sp_error_set(&ctx->err, "The proxy engine is not running");
		return NULL;
	}
	return ctx->daemon->engine;
}

int cmd_show_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);
	bool detail = argc == 1 && sp_word_is(argv[0], "detail");

	if (!en)
		return -1;
	if (argc > 1 || (argc == 1 && !detail))
		return sp_cmd_usage(ctx, "show sessions [detail]");
	if (ctx->json)
		sp_show_sessions_json(en, ctx->out, detail);
	else
		sp_show_sessions(en, ctx->out, detail);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_show_sessions_count(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show sessions count");
	if (ctx->json)
		sp_show_sessions_count_json(en, ctx->out);
	else
		sp_show_sessions_count(en, ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_show_vpn(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show vpn");
	if (ctx->json)
		sp_show_vpn_json(en, ctx->out);
	else
		sp_show_vpn(en, ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_show_bindings(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show bindings");
	if (ctx->json)
		sp_show_bindings_json(en, ctx->out);
	else
		sp_show_bindings(en, ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_show_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	struct sp_engine *en = sp_cmd_engine(ctx);

	(void)argv;
	if (!en)
		return -1;
	if (argc)
		return sp_cmd_usage(ctx, "show statistics");
	if (ctx->json)
		sp_show_statistics_json(en, ctx->out);
	else
		sp_show_statistics(en, ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_clear_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_clear_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_write_memory(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
int cmd_reload(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_show_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show redundancy");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to show the redundancy state of");
	if (ctx->json)
		sp_show_redundancy_json(ctx->daemon->redundancy, ctx->out);
	else
		sp_show_redundancy(ctx->daemon->redundancy, ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_show_persistence(struct sp_cmd_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return sp_cmd_usage(ctx, "show persistence");
	if (!ctx->daemon)
		return sp_error_set(&ctx->err, "No daemon to show the persistence of");
	if (ctx->json)
		sp_show_persistence_json(sp_engine_persist(ctx->daemon->engine), ctx->out);
	else
		sp_show_persistence(sp_engine_persist(ctx->daemon->engine), ctx->out);
	ctx->json_written = ctx->json;
	return 0;
}

int cmd_redundancy_force_switchover(struct sp_cmd_ctx *ctx, int argc, char **argv)
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

int cmd_redundancy_notify(struct sp_cmd_ctx *ctx, int argc, char **argv)
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
