/* The daemon's event bus: see sp_event.h. A handful of subscribers, so a
 * plain array. */
#include "config.h"
#include "sp_event.h"

#include <stdlib.h>
#include <string.h>

struct sp_event_sub {
	sp_event_cb cb;
	void *arg;
};

struct sp_events {
	struct sp_event_sub *subs;
	size_t n;
};

struct sp_events *sp_events_new(void)
{
	return calloc(1, sizeof(struct sp_events));
}

void sp_events_free(struct sp_events *bus)
{
	if (!bus)
		return;
	free(bus->subs);
	free(bus);
}

int sp_events_subscribe(struct sp_events *bus, sp_event_cb cb, void *arg)
{
	struct sp_event_sub *n;

	if (!bus || !cb)
		return -1;
	n = realloc(bus->subs, (bus->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	bus->subs = n;
	bus->subs[bus->n++] = (struct sp_event_sub){ cb, arg };
	return 0;
}

void sp_events_unsubscribe(struct sp_events *bus, sp_event_cb cb, void *arg)
{
	if (!bus)
		return;
	for (size_t i = 0; i < bus->n; i++) {
		if (bus->subs[i].cb == cb && bus->subs[i].arg == arg) {
			/* the others keep the order they subscribed in */
			memmove(&bus->subs[i], &bus->subs[i + 1], (bus->n - i - 1) * sizeof(*bus->subs));
			bus->n--;
			return;
		}
	}
}

void sp_events_publish(struct sp_events *bus, const struct sp_event *ev)
{
	if (!bus || !ev)
		return;
	for (size_t i = 0; i < bus->n; i++)
		bus->subs[i].cb(bus->subs[i].arg, ev);
}
