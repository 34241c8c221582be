/* The AgentX subagent: SIGPROXY-MIB served from inside sigproxyd, on the
 * daemon's event loop, over the one configuration model.
 *
 * Reads always look at the running configuration (plus the rows a manager
 * keeps notInService); writes go candidate -> validate -> commit exactly as
 * the CLI's, one commit per SET PDU. Rows made with createAndWait (or set to
 * notInService) live only in the agent until set active: they are not part
 * of the running configuration, `show running-config' or `write memory', and
 * are lost when the daemon restarts.
 *
 * Engine-side state (statistics, sessions, bindings, the redundancy
 * channel) reaches the agent through the hooks below; until a hook is set
 * the objects answer 0, unknown, or no rows. */
#ifndef SP_AGENT_H
#define SP_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_config.h"
#include "sp_error.h"

struct sp_daemon;
struct sp_agent;

/* sigproxyRoleChangeCause */
enum sp_agent_role_cause {
	SP_ROLE_CAUSE_CONFIGURATION = 1,
	SP_ROLE_CAUSE_SWITCHOVER = 2,
	SP_ROLE_CAUSE_VRRP = 3,
	SP_ROLE_CAUSE_PEER_LOST = 4,
	SP_ROLE_CAUSE_OTHER = 5,
};

/* sigproxyRedundancyPeerState */
enum sp_agent_peer_state {
	SP_PEER_UNKNOWN = 1,
	SP_PEER_CONNECTED = 2,
	SP_PEER_LOST = 3,
};

/* The sigproxyStats group. */
struct sp_agent_stats {
	uint64_t received, proxied, forwarded, dropped;
	uint64_t parse_errors, rewrite_errors, session_limit_drops;
	uint64_t unmatched_responses, too_many_hops, too_large, no_media_port_drops;
	uint32_t current_sessions, current_bindings;
	uint32_t discontinuity_time; /* sysUpTime (centiseconds) of the last reset */
	/* per-source limits: dropped in the kernel (rate, new bindings) and
	 * refused by the engine (bindings held) */
	uint64_t source_rate_drops, source_new_binding_drops, source_binding_refusals;
	/* datagrams the kernel dropped at full receive queues (SO_RXQ_OVFL) */
	uint64_t socket_drops_listener, socket_drops_server_side, socket_drops_other;
	/* STUN on the SIP ports: Binding requests answered, errors */
	uint64_t stun_requests, stun_errors;
	uint64_t media_kernel_refusals, media_guard_drops;
};

/* The run-time part of sigproxyRedundancy. */
struct sp_agent_redundancy_status {
	enum sp_role role;
	enum sp_agent_peer_state peer_state;
	uint32_t last_seq_sent, last_seq_acked;
	uint64_t msgs_sent, msgs_received;
	uint32_t resyncs, auth_failures;
};

/* One row of sigproxySessionTable (state: 1 early .. 4 terminated). */
struct sp_agent_session {
	uint32_t id;
	int state;
	struct sp_addr term, virt, proxy, server;
	uint16_t term_port, virt_port, proxy_port, server_port;
	char call_id[256];
	uint32_t media_streams;
	char strategy[SP_NAME_MAX + 1];
	uint32_t age;
};

/* One row of sigproxyBindingTable. */
struct sp_agent_binding {
	uint32_t id;
	struct sp_addr term, proxy, server;
	uint16_t term_port, proxy_port, server_port;
	uint32_t vpn_id;
	uint32_t expires;
};

/* What the engine and the redundancy module provide. Every member may be
 * NULL. The session and binding lookups are by id: exact when `next` is
 * false, else the row with the smallest id greater than `id` — so a get-next
 * is one ordered lookup, never a scan of the table. They return false when
 * there is no such row. */
struct sp_agent_hooks {
	void (*stats)(void *arg, struct sp_agent_stats *out);
	uint64_t (*strategy_hits)(void *arg, const char *name, uint32_t seq);
	void (*redundancy)(void *arg, struct sp_agent_redundancy_status *out);
	/* sigproxyRedundancySwitchover: -1 with a message refuses */
	int (*switchover)(void *arg, struct sp_error *e);
	bool (*session)(void *arg, uint32_t id, bool next, struct sp_agent_session *out);
	bool (*binding)(void *arg, uint32_t id, bool next, struct sp_agent_binding *out);
};

/* Starts the subagent on d->loop and connects to the AgentX master at
 * d->opt.agentx_socket (NULL: Net-SNMP's default; "none": no agent, NULL is
 * returned and e->msg is empty). A master that is not there yet is not an
 * error: the agent keeps trying every few seconds, as after an snmpd
 * restart. Returns NULL with e->msg set on failure. Call once per process
 * (Net-SNMP keeps global state). */
struct sp_agent *sp_agent_start(struct sp_daemon *d, struct sp_error *e);
/* Disconnects and frees; call before the configuration store is freed. */
void sp_agent_stop(struct sp_agent *a);

void sp_agent_set_hooks(struct sp_agent *a, const struct sp_agent_hooks *hooks, void *arg);
/* Plugs the proxy engine's counters and tables into the hooks. */
struct sp_engine;
void sp_agent_attach_engine(struct sp_agent *a, struct sp_engine *en);

/* Plugs the redundancy module's role, channel counters and switchover into
 * the hooks (their own argument: the engine's hooks keep theirs).
 * sp_agent_attach_redundancy_ctl does it for the daemon's module. */
struct sp_redundancy_ctl;
void sp_agent_attach_redundancy_ctl(struct sp_agent *a, struct sp_redundancy_ctl *r);
void sp_agent_attach_redundancy(struct sp_agent *a,
				void (*status)(void *arg, struct sp_agent_redundancy_status *out),
				int (*switchover)(void *arg, struct sp_error *e), void *arg);

/* Notifications (sent through the master's trap sinks). The configured role
 * changing (CLI, SNMP, config file) sends sigproxyRoleChange by itself. */
void sp_agent_notify_role_change(struct sp_agent *a, enum sp_role role,
				 enum sp_agent_role_cause cause);
void sp_agent_notify_peer_lost(struct sp_agent *a);
void sp_agent_notify_peer_regained(struct sp_agent *a);
/* Called for every refused dialog; sends sigproxySessionLimitReached at once,
 * then at most one every 10 s while refusals go on (the MIB says so).
 * current: the number of dialogs tracked now */
void sp_agent_notify_session_limit_reached(struct sp_agent *a, uint32_t current);
/* Records `what` as sigproxyLastKernelError and sends the notification. */
void sp_agent_notify_kernel_failure(struct sp_agent *a, const char *what);
/* sigproxySourceLimited: a source (address, VPN) is being limited. The
 * engine spaces the calls out (one per source per minute). */
struct sp_endpoint;
void sp_agent_notify_source_limited(struct sp_agent *a, const struct sp_endpoint *src, uint32_t vpn);
/* `clear statistics': sigproxyStatsDiscontinuityTime becomes now. */
void sp_agent_note_statistics_cleared(struct sp_agent *a);

/* The events raised below (sp_event.h) delivered as the notifications and
 * objects above (mib/sp_agent_events.c). Unsubscribe before sp_agent_stop. */
struct sp_events;
int sp_agent_subscribe(struct sp_agent *a, struct sp_events *bus);
void sp_agent_unsubscribe(struct sp_agent *a, struct sp_events *bus);

#endif
