/* The management layer's side of the event bus: each event the engine, the
 * redundancy module or policy-routing raises becomes its SIGPROXY-MIB
 * notification or object. The layers below never call the agent. */
#include "config.h"
#include "sp_agent.h"
#include "sp_event.h"

_Static_assert((int)SP_EVENT_CAUSE_CONFIGURATION == (int)SP_ROLE_CAUSE_CONFIGURATION &&
		       (int)SP_EVENT_CAUSE_SWITCHOVER == (int)SP_ROLE_CAUSE_SWITCHOVER &&
		       (int)SP_EVENT_CAUSE_VRRP == (int)SP_ROLE_CAUSE_VRRP &&
		       (int)SP_EVENT_CAUSE_PEER_LOST == (int)SP_ROLE_CAUSE_PEER_LOST &&
		       (int)SP_EVENT_CAUSE_OTHER == (int)SP_ROLE_CAUSE_OTHER,
	       "the event's role causes are sigproxyRoleChangeCause's values");

static void sp_agent_on_event(void *arg, const struct sp_event *ev)
{
	struct sp_agent *a = arg;

	switch (ev->type) {
	case SP_EVENT_KERNEL_FAILURE:
		sp_agent_notify_kernel_failure(a, ev->u.kernel_failure.what);
		break;
	case SP_EVENT_SESSION_LIMIT_REACHED:
		sp_agent_notify_session_limit_reached(a, ev->u.session_limit.current);
		break;
	case SP_EVENT_SOURCE_LIMITED:
		sp_agent_notify_source_limited(a, ev->u.source_limited.source, ev->u.source_limited.vpn);
		break;
	case SP_EVENT_STATISTICS_CLEARED:
		sp_agent_note_statistics_cleared(a);
		break;
	case SP_EVENT_ROLE_CHANGE:
		sp_agent_notify_role_change(a, ev->u.role_change.role,
					    (enum sp_agent_role_cause)ev->u.role_change.cause);
		break;
	case SP_EVENT_PEER_LOST:
		sp_agent_notify_peer_lost(a);
		break;
	case SP_EVENT_PEER_REGAINED:
		sp_agent_notify_peer_regained(a);
		break;
	case SP_EVENT_MEDIA_PROXY_DOWN:
	case SP_EVENT_MEDIA_PROXY_UP:
		sp_agent_notify_media_proxy(a, ev->u.media_proxy.name, ev->type == SP_EVENT_MEDIA_PROXY_UP);
		break;
	}
}

int sp_agent_subscribe(struct sp_agent *a, struct sp_events *bus)
{
	return a ? sp_events_subscribe(bus, sp_agent_on_event, a) : 0;
}

void sp_agent_unsubscribe(struct sp_agent *a, struct sp_events *bus)
{
	if (a)
		sp_events_unsubscribe(bus, sp_agent_on_event, a);
}
