/* Internals of the command layer shared by its parts (sp_cmd.c: helpers,
 * the command table and lookup; sp_cmd_config.c: configuration mode at the
 * top level; sp_cmd_blocks.c: the configuration blocks; sp_cmd_exec.c: exec
 * mode). The handlers are named here only for the table. Not for use outside
 * cli/sp_cmd*.c. */
#ifndef SP_CMD_INT_H
#define SP_CMD_INT_H

#include <stdbool.h>

/* declared, not included: sp_cmd.c includes this header, and a module and
 * its internals must not include each other (scripts/layers) */
struct sp_cmd_ctx;
struct sp_strategy;
struct sp_policy_route;
struct sp_interface;

/* sp_cmd.c */
int sp_cmd_usage(struct sp_cmd_ctx *ctx, const char *usage);
bool sp_word_is(const char *w, const char *keyword);
struct sp_strategy *sp_cmd_strategy(struct sp_cmd_ctx *ctx);
struct sp_policy_route *sp_cmd_policy_route(struct sp_cmd_ctx *ctx);
struct sp_interface *sp_cmd_interface(struct sp_cmd_ctx *ctx);
char *sp_cmd_secret_arg(struct sp_cmd_ctx *ctx, int argc, char **argv, const char *usage);

/* sp_cmd_config.c */
int cmd_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_hostname(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_username(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_username(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_enable_secret(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_no_login_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_no_exec_timeout(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_cli_no_access_class(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_banner_motd(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_logging_host(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_debug(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_debug(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_debugging(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_logging(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_history(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_startup_config(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_configure_replace(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_users(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_signaling_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_interface(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_interface(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv);

/* sp_cmd_blocks.c */
int cmd_sp_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_server_side_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_listen_port(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_default_action(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_local_virtual_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_return_path(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_signaling_sockets(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_signaling_sockets(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_media(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_media(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_media_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_signaling_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_signaling_port_range(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_session_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_tls(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_tls(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_tls_port(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_tls_port(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_sp_no_message_size_limit(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_action(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_no_action(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_server(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_no_hide_identity(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_no_server(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_if_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_if_no_vpn_id(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_if_side(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_if_no_side(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_pbr_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_pbr_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_pbr_no_set_next_hop(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_pbr_no_set_table(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_role(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_local(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_peer(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_no_local(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_no_peer(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_key(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_red_no_key(struct sp_cmd_ctx *ctx, int argc, char **argv);

/* sp_cmd_mp.c */
int cmd_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_no_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_control(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_no_control(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_weight(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_no_weight(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_fallback(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_no_fallback(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_media_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_no_media_address(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_mp_no_shutdown(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_media(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_st_no_media(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_media_proxy(struct sp_cmd_ctx *ctx, int argc, char **argv);

/* sp_cmd_exec.c */
int cmd_show_running_config(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_proxy_strategy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_policy_route(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_interface(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_version(struct sp_cmd_ctx *ctx, int argc, char **argv);

/* sp_cmd_json.c: `| json` of the show commands above that read the
 * configuration (their handlers call these when ctx->json) */
int cmd_show_version_json(struct sp_cmd_ctx *ctx);
/* The scheduling policy the daemon's main thread runs under (its threads
 * inherit it: --sched, chrt, systemd's CPUSchedulingPolicy), as `show
 * version` names it: normal, batch, idle, fifo, rr, deadline; *priority
 * its real-time priority (0 for the others). */
const char *sp_cmd_sched_policy(int *priority);
int cmd_show_proxy_strategy_json(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_policy_route_json(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_sessions_count(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_vpn(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_bindings(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_clear_sessions(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_clear_statistics(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_write_memory(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_reload(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_redundancy(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_show_persistence(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_redundancy_force_switchover(struct sp_cmd_ctx *ctx, int argc, char **argv);
int cmd_redundancy_notify(struct sp_cmd_ctx *ctx, int argc, char **argv);

/* the handlers SP_ST_MATCH_CMDS and SP_PBR_MATCH_CMDS define */
#define SP_CMD_MATCH_DECL(kind, fn_name)                                                  \
	int cmd_##kind##_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv); \
	int cmd_##kind##_no_match_##fn_name(struct sp_cmd_ctx *ctx, int argc, char **argv);
SP_CMD_MATCH_DECL(st, vpn)
SP_CMD_MATCH_DECL(st, vlan)
SP_CMD_MATCH_DECL(st, mpls)
SP_CMD_MATCH_DECL(st, protocol)
SP_CMD_MATCH_DECL(st, source)
SP_CMD_MATCH_DECL(st, destination)
SP_CMD_MATCH_DECL(pbr, source)
SP_CMD_MATCH_DECL(pbr, destination)
SP_CMD_MATCH_DECL(pbr, protocol)
SP_CMD_MATCH_DECL(pbr, source_port)
SP_CMD_MATCH_DECL(pbr, destination_port)
SP_CMD_MATCH_DECL(pbr, input_interface)

#endif
