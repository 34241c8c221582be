/* The status owner (sp_status) and the event bus (sp_event). */
#include "config.h"
#include "sp_event.h"
#include "sp_status.h"

#include <criterion/criterion.h>
#include <string.h>

Test(status, set_get_replace_reset)
{
	struct sp_status *st = sp_status_new();
	const struct sp_status_item *it;

	cr_assert_not_null(st);
	cr_assert_null(sp_status_get(st, SP_STATUS_STRATEGY, "a", 10));
	cr_assert_eq(sp_status_set(st, SP_STATUS_STRATEGY, "a", 10, true, ""), 0);
	cr_assert_eq(sp_status_set(st, SP_STATUS_STRATEGY, "b", 30, false, "why"), 0);
	/* out of order: inserted where it belongs */
	cr_assert_eq(sp_status_set(st, SP_STATUS_STRATEGY, "c", 20, false, "other"), 0);
	it = sp_status_get(st, SP_STATUS_STRATEGY, "b", 30);
	cr_assert_not_null(it);
	cr_assert(!it->installed);
	cr_assert_str_eq(it->reason, "why");
	cr_assert_str_eq(sp_status_get(st, SP_STATUS_STRATEGY, "c", 20)->reason, "other");
	cr_assert(sp_status_get(st, SP_STATUS_STRATEGY, "a", 10)->installed);
	/* the name is part of the key, and kinds are apart */
	cr_assert_null(sp_status_get(st, SP_STATUS_STRATEGY, "x", 10));
	cr_assert_null(sp_status_get(st, SP_STATUS_POLICY_ROUTE, "a", 10));
	/* replaced, not duplicated */
	cr_assert_eq(sp_status_set(st, SP_STATUS_STRATEGY, "b", 30, true, "how"), 0);
	it = sp_status_get(st, SP_STATUS_STRATEGY, "b", 30);
	cr_assert(it->installed);
	cr_assert_str_eq(it->reason, "how");
	sp_status_reset(st, SP_STATUS_STRATEGY);
	cr_assert_null(sp_status_get(st, SP_STATUS_STRATEGY, "a", 10));
	sp_status_free(st);
}

Test(status, many_in_order)
{
	struct sp_status *st = sp_status_new();

	for (uint32_t i = 1; i <= 1000; i++)
		cr_assert_eq(sp_status_set(st, SP_STATUS_POLICY_ROUTE, "r", i, i % 2, NULL), 0);
	for (uint32_t i = 1; i <= 1000; i++)
		cr_assert_eq(sp_status_get(st, SP_STATUS_POLICY_ROUTE, "r", i)->installed, i % 2);
	sp_status_free(st);
}

Test(status, null_store)
{
	cr_assert_eq(sp_status_set(NULL, SP_STATUS_STRATEGY, "a", 1, true, ""), 0);
	cr_assert_null(sp_status_get(NULL, SP_STATUS_STRATEGY, "a", 1));
	sp_status_reset(NULL, SP_STATUS_STRATEGY);
	sp_status_free(NULL);
}

struct seen {
	char log[64];
	uint32_t current;
};

static void on_a(void *arg, const struct sp_event *ev)
{
	struct seen *s = arg;

	strcat(s->log, "a");
	if (ev->type == SP_EVENT_SESSION_LIMIT_REACHED)
		s->current = ev->u.session_limit.current;
}

static void on_b(void *arg, const struct sp_event *ev)
{
	(void)ev;
	strcat(((struct seen *)arg)->log, "b");
}

Test(event, delivered_in_order_until_unsubscribed)
{
	struct sp_events *bus = sp_events_new();
	struct seen s = { "", 0 };
	struct sp_event ev = { .type = SP_EVENT_SESSION_LIMIT_REACHED, .u.session_limit.current = 7 };

	cr_assert_eq(sp_events_subscribe(bus, on_a, &s), 0);
	cr_assert_eq(sp_events_subscribe(bus, on_b, &s), 0);
	sp_events_publish(bus, &ev);
	cr_assert_str_eq(s.log, "ab");
	cr_assert_eq(s.current, 7);
	sp_events_unsubscribe(bus, on_a, &s);
	sp_events_publish(bus, &ev);
	cr_assert_str_eq(s.log, "abb");
	sp_events_free(bus);
}

Test(event, null_bus)
{
	struct sp_event ev = { .type = SP_EVENT_PEER_LOST };

	sp_events_publish(NULL, &ev);
	cr_assert_eq(sp_events_subscribe(NULL, on_b, NULL), -1);
	sp_events_free(NULL);
}
