/* Events raised from below, delivered by whoever listens above.
 *
 * The engine, the redundancy module and policy-routing do not know the SNMP
 * agent: they publish what happened (a kernel refusal, a refused dialog, a
 * role change, counters cleared) on the daemon's bus, and the management
 * layer subscribes and turns each into a notification, a log line or an
 * object's new value. Delivery is synchronous, in subscription order, on the
 * publisher's stack (everything runs on the one event loop): a subscriber
 * must not publish back or unsubscribe from its callback.
 *
 * Publishing on a NULL bus does nothing (unit tests, start-up before the bus
 * exists). */
#ifndef SP_EVENT_H
#define SP_EVENT_H

#include <stdint.h>

#include "sp_config.h"

struct sp_endpoint;

enum sp_event_type {
	SP_EVENT_KERNEL_FAILURE,        /* u.kernel_failure */
	SP_EVENT_SESSION_LIMIT_REACHED, /* u.session_limit: one refused dialog */
	SP_EVENT_SOURCE_LIMITED,        /* u.source_limited (spaced out by the publisher) */
	SP_EVENT_STATISTICS_CLEARED,    /* no data: `clear statistics' */
	SP_EVENT_ROLE_CHANGE,           /* u.role_change: not by configuration */
	SP_EVENT_PEER_LOST,
	SP_EVENT_PEER_REGAINED,
	SP_EVENT_MEDIA_PROXY_DOWN,      /* u.media_proxy: out of rotation (no pongs) */
	SP_EVENT_MEDIA_PROXY_UP,        /* u.media_proxy: answering again */
};

/* Why the role changed, in SIGPROXY-MIB's sigproxyRoleChangeCause values. */
enum sp_event_role_cause {
	SP_EVENT_CAUSE_CONFIGURATION = 1,
	SP_EVENT_CAUSE_SWITCHOVER = 2,
	SP_EVENT_CAUSE_VRRP = 3,
	SP_EVENT_CAUSE_PEER_LOST = 4,
	SP_EVENT_CAUSE_OTHER = 5,
};

struct sp_event {
	enum sp_event_type type;
	union {
		struct { const char *what; } kernel_failure;
		struct { uint32_t current; } session_limit; /* dialogs tracked now */
		struct { const struct sp_endpoint *source; uint32_t vpn; } source_limited;
		struct { enum sp_role role; enum sp_event_role_cause cause; } role_change;
		struct { const char *name; } media_proxy;
	} u;
};

typedef void (*sp_event_cb)(void *arg, const struct sp_event *ev);

struct sp_events;

struct sp_events *sp_events_new(void);
void sp_events_free(struct sp_events *bus);
/* -1 when out of memory. */
int sp_events_subscribe(struct sp_events *bus, sp_event_cb cb, void *arg);
void sp_events_unsubscribe(struct sp_events *bus, sp_event_cb cb, void *arg);
void sp_events_publish(struct sp_events *bus, const struct sp_event *ev);

#endif
