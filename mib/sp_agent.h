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
 * channel) reaches the agent through the hooks (sp_agent_hooks.h); until a hook is set
 * the objects answer 0, unknown, or no rows. */
#ifndef SP_AGENT_H
#define SP_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_agent_hooks.h"
#include "sp_config.h"
#include "sp_error.h"

struct sp_daemon;
struct sp_agent;

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
				int (*switchover)(void *arg, struct sp_error *e),
				int (*switchover_check)(void *arg, struct sp_error *e), void *arg);

/* Notifications (sent through the master's trap sinks). The configured role
 * changing (CLI, SNMP, config file) sends sigproxyRoleChange by itself. */
void sp_agent_notify_role_change(struct sp_agent *a, enum sp_role role,
				 enum sp_agent_role_cause cause);
void sp_agent_notify_peer_lost(struct sp_agent *a);
void sp_agent_notify_media_proxy(struct sp_agent *a, const char *name, bool up);
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
