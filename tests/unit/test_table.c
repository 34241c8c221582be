/*
 * State tables: bindings, dialogs, ids, aging with a controlled clock,
 * session limit, port allocation through the table, memory targets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_srclimit.h"
#include "sp_table.h"
#include "table_fixture.h"

#define SEC(s) ((uint64_t)(s) * 1000)
#define T0 SEC(1000)	/* an arbitrary monotonic start */

static struct sp_binding *add_binding(struct sp_table *t, uint32_t vpn, const char *addr,
				      uint16_t port, uint64_t now)
{
	return fx_binding(t, vpn, addr, port, "10.1.1.1:5060", now);
}

static struct sp_dialog *add_dialog(struct sp_table *t, struct sp_binding *b,
				    const char *call_id, uint64_t now)
{
	return fx_dialog(t, b, call_id, "ftag", 1, now);
}

/* Bindings */

Test(binding, create_and_find_every_way)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_endpoint term = fx_ep("10.1.1.1", 5060);
	struct sp_endpoint cc = b->server_side;
	char buf[SP_ENDPOINT_STRLEN];

	cr_expect_neq(b->id, 0);
	cr_expect_geq(b->server_side.port, 20000);
	cr_expect_leq(b->server_side.port, 29999);
	cr_expect_str_eq(sp_endpoint_format(&b->virtual_server, buf, sizeof(buf)), "198.51.100.1:5060");
	cr_expect_str_eq(b->via_sent_by, "10.1.1.1:5060");
	cr_expect_eq(b->strategy_id, 7);
	cr_expect_eq(b->created_ms, T0);

	cr_expect_eq(sp_binding_find(t, 1, &term), b);
	cr_expect_eq(sp_binding_find_server_side(t, &cc), b);
	cr_expect_eq(sp_binding_find_id(t, b->id), b);
	cr_expect_eq(sp_binding_first(t), b);
	cr_expect_null(sp_binding_next(t, b));

	/* Near misses are misses. */
	term.port = 5061;
	cr_expect_null(sp_binding_find(t, 1, &term));
	cc.port++;
	cr_expect_null(sp_binding_find_server_side(t, &cc));
	cr_expect_null(sp_binding_find_id(t, b->id + 1));

	cr_expect_eq(sp_table_counters(t)->bindings_current, 1);
	cr_expect_eq(sp_table_counters(t)->bindings_created, 1);
	cc = b->server_side;
	term.port = 5060;
	cr_assert_eq(sp_binding_delete(t, b), 0);
	cr_expect_null(sp_binding_find(t, 1, &term));
	cr_expect_null(sp_binding_find_server_side(t, &cc));
	cr_expect_null(sp_binding_first(t));
	cr_expect_eq(sp_table_counters(t)->bindings_current, 0);
	cr_expect_eq(sp_table_counters(t)->bindings_deleted, 1);
	sp_table_destroy(t);
}

Test(binding, ipv6_terminal)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b4 = add_binding(t, 1, "10.0.0.1", 5060, T0);
	struct sp_binding *b6 = add_binding(t, 1, "2001:db8::1", 5060, T0);
	struct sp_endpoint e = fx_ep("2001:db8::1", 5060);

	cr_expect_neq(b4, b6);
	cr_expect_eq(sp_binding_find(t, 1, &e), b6);
	cr_expect_neq(b4->server_side.port, b6->server_side.port);
	sp_table_destroy(t);
}

Test(binding, vpn_separates_equal_addresses)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *a = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_binding *b = add_binding(t, 2, "10.1.1.1", 5060, T0);
	struct sp_endpoint term = fx_ep("10.1.1.1", 5060);

	cr_expect_neq(a, b);
	cr_expect_eq(sp_binding_find(t, 1, &term), a);
	cr_expect_eq(sp_binding_find(t, 2, &term), b);
	cr_expect_null(sp_binding_find(t, 3, &term));
	/* Each has its own C:c, so server messages tell them apart. */
	cr_expect_neq(a->server_side.port, b->server_side.port);
	cr_expect_eq(sp_binding_find_server_side(t, &a->server_side), a);
	cr_expect_eq(sp_binding_find_server_side(t, &b->server_side), b);
	sp_table_destroy(t);
}

Test(binding, duplicates_and_bad_input_refused)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *a = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_binding *out = NULL;
	char longstr[SP_HOSTPORT_MAX + 10];
	struct sp_binding_params p = {
		.vpn = 1,
		.terminal = fx_ep("10.1.1.1", 5060),
		.server_side = fx_ep("203.0.113.1", 0),
	};

	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -EEXIST);
	p.terminal.port = 5062;
	p.server_side.port = a->server_side.port;
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -EADDRINUSE);
	p.server_side.port = 1000;
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -ERANGE);
	p.server_side.port = 0;
	p.id = a->id;
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -EEXIST);
	p.id = 0;
	memset(longstr, 'x', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	p.contact = longstr;
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -ENAMETOOLONG);
	p.contact = NULL;
	p.terminal.family = 99;
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -EINVAL);
	cr_expect_eq(sp_binding_set_via_sent_by(a, longstr), -ENAMETOOLONG);
	cr_expect_str_eq(a->via_sent_by, "10.1.1.1:5060", "unchanged after a refused set");
	cr_expect_eq(sp_table_counters(t)->bindings_current, 1);
	/* A failed create must not leak the port it would have used. */
	p.terminal = fx_ep("10.1.1.9", 5060);
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), 0);
	sp_table_destroy(t);
}

Test(binding, explicit_port_and_id_as_from_sync)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = NULL, *c;
	struct sp_binding_params p = {
		.id = 500,
		.vpn = 0,
		.terminal = fx_ep("10.1.1.1", 5060),
		.server_side = fx_ep("203.0.113.1", 25000),
	};

	cr_assert_eq(sp_binding_create(t, &p, T0, &b), 0);
	cr_expect_eq(b->id, 500);
	cr_expect_eq(b->server_side.port, 25000);
	c = add_binding(t, 0, "10.1.1.2", 5060, T0);
	cr_expect_eq(c->id, 1, "allocation starts at 1");
	sp_table_destroy(t);
}

static void two_ports(struct sp_table_config *cfg)
{
	cfg->sig_port_first = 40000;
	cfg->sig_port_last = 40001;
}

Test(binding, server_side_ports_exhaust_per_address)
{
	struct sp_table *t = fx_table_with(two_ports, NULL);
	struct sp_binding *a = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.2", 1, T0);
	struct sp_binding *out;
	struct sp_binding_params p = {
		.vpn = 1,
		.terminal = fx_ep("10.0.0.3", 1),
		.server_side = fx_ep("203.0.113.1", 0),
	};
	uint16_t freed = a->server_side.port;

	cr_expect_neq(a->server_side.port, b->server_side.port);
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -ENOSPC);
	cr_expect_eq(sp_table_counters(t)->sig_ports_exhausted, 1);

	/* Another C has its own range: the same c is fine there. */
	p.server_side = fx_ep("203.0.113.2", 0);
	cr_assert_eq(sp_binding_create(t, &p, T0, &out), 0);
	cr_expect_eq(out->server_side.port, 40000);
	cr_expect_eq(sp_binding_find_server_side(t, &out->server_side), out);
	cr_expect_eq(sp_binding_find_server_side(t, &a->server_side), a);

	cr_assert_eq(sp_binding_delete(t, a), 0);
	p.terminal = fx_ep("10.0.0.4", 1);
	p.server_side = fx_ep("203.0.113.1", 0);
	cr_assert_eq(sp_binding_create(t, &p, T0, &out), 0);
	cr_expect_eq(out->server_side.port, freed);
	sp_table_destroy(t);
}

/* signaling-port-range changed at run time: refused while a c in use lies
 * outside the new range, else every pool moves with its ports in use kept */
Test(binding, server_side_range_change)
{
	struct sp_table *t = fx_table_with(two_ports, NULL);
	struct sp_binding *a = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.2", 1, T0);
	struct sp_binding *out;
	struct sp_binding_params p = {
		.vpn = 1,
		.terminal = fx_ep("10.0.0.3", 1),
		.server_side = fx_ep("203.0.113.1", 0),
	};
	unsigned outside = 99;

	cr_assert_eq(a->server_side.port, 40000);
	cr_assert_eq(b->server_side.port, 40001);
	cr_expect_eq(sp_table_set_signaling_range(t, 40000, 40001, &outside), 0, "the same range");
	cr_expect_eq(outside, 0);
	cr_expect_eq(sp_table_set_signaling_range(t, 40001, 40010, &outside), -EBUSY);
	cr_expect_eq(outside, 1, "a's 40000");
	cr_expect_eq(sp_table_set_signaling_range(t, 40010, 40001, &outside), -EINVAL);
	/* unchanged: still full */
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -ENOSPC);
	cr_assert_eq(sp_binding_delete(t, a), 0);
	cr_assert_eq(sp_table_set_signaling_range(t, 40001, 40003, &outside), 0);
	for (int i = 0; i < 2; i++) {
		p.terminal = fx_ep("10.0.0.3", (uint16_t)(1 + i));
		cr_assert_eq(sp_binding_create(t, &p, T0, &out), 0);
		cr_expect(out->server_side.port == 40002 || out->server_side.port == 40003, "%u",
			  out->server_side.port);
	}
	/* b kept its c: the pool knows it is taken */
	p.terminal = fx_ep("10.0.0.3", 3);
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), -ENOSPC);
	cr_expect_eq(sp_binding_find_server_side(t, &b->server_side), b);
	cr_expect_eq(sp_binding_delete(t, b), 0);
	cr_expect_eq(sp_binding_create(t, &p, T0, &out), 0);
	cr_expect_eq(out->server_side.port, 40001);
	sp_table_destroy(t);
}

Test(binding, many_server_side_addresses_limit)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *out;
	char addr[32];

	for (int i = 0; i < SP_TABLE_MAX_SERVER_ADDRS + 1; i++) {
		struct sp_binding_params p = {
			.terminal = fx_ep("10.0.0.1", (uint16_t)(1000 + i)),
		};

		snprintf(addr, sizeof(addr), "203.0.113.%d", i + 1);
		p.server_side = fx_ep(addr, 0);
		cr_expect_eq(sp_binding_create(t, &p, T0, &out),
			     i < SP_TABLE_MAX_SERVER_ADDRS ? 0 : -E2BIG, "C number %d", i);
	}
	sp_table_destroy(t);
}

/* Dialogs */

Test(dialog, create_find_delete)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 4, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "abc@10.1.1.1", T0);
	struct sp_dialog *out;
	struct sp_dialog_params p = {
		.binding = b,
		.call_id = "abc@10.1.1.1",
		.call_id_len = 12,
	};

	cr_expect_neq(d->id, 0);
	cr_expect_eq(d->vpn, 4);
	cr_expect_eq(d->binding, b);
	cr_expect_eq(d->state, SP_DIALOG_EARLY);
	cr_expect_str_eq(d->call_id, "abc@10.1.1.1");
	cr_expect_str_eq(d->from_tag, "ftag");
	cr_expect_str_eq(d->to_tag, "");
	cr_expect_eq(b->dialog_refs, 1);

	cr_expect_eq(sp_dialog_find(t, 4, "abc@10.1.1.1", 12, NULL), d);
	cr_expect_eq(sp_dialog_find(t, 4, "abc@10.1.1.1", 12, b), d);
	cr_expect_null(sp_dialog_find(t, 5, "abc@10.1.1.1", 12, NULL), "other VPN");
	cr_expect_null(sp_dialog_find(t, 4, "ABC@10.1.1.1", 12, NULL), "Call-ID is case-sensitive");
	cr_expect_null(sp_dialog_find(t, 4, "abc@10.1.1.1", 11, NULL), "prefix");
	cr_expect_eq(sp_dialog_find_id(t, d->id), d);

	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -EEXIST);
	cr_expect_eq(sp_binding_delete(t, b), -EBUSY, "binding in use by a dialog");

	cr_expect_eq(sp_dialog_set_to_tag(d, "ttag"), 0);
	cr_expect_str_eq(d->to_tag, "ttag");

	sp_dialog_delete(t, d);
	cr_expect_null(sp_dialog_find(t, 4, "abc@10.1.1.1", 12, NULL));
	cr_expect_eq(b->dialog_refs, 0);
	cr_expect_eq(sp_table_counters(t)->dialogs_current, 0);
	cr_expect_eq(sp_table_counters(t)->dialogs_created, 1);
	cr_expect_eq(sp_table_counters(t)->dialogs_deleted, 1);
	cr_expect_eq(sp_binding_delete(t, b), 0);
	sp_table_destroy(t);
}

Test(dialog, same_call_id_on_two_bindings)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *caller = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_binding *callee = add_binding(t, 1, "10.1.1.2", 5060, T0);
	struct sp_dialog *d1 = add_dialog(t, caller, "hairpin-1", T0);
	struct sp_dialog *d2 = add_dialog(t, callee, "hairpin-1", T0);
	struct sp_dialog *any;

	cr_expect_neq(d1, d2);
	cr_expect_neq(d1->id, d2->id);
	cr_expect_eq(sp_dialog_find(t, 1, "hairpin-1", 9, caller), d1);
	cr_expect_eq(sp_dialog_find(t, 1, "hairpin-1", 9, callee), d2);
	any = sp_dialog_find(t, 1, "hairpin-1", 9, NULL);
	cr_expect(any == d1 || any == d2);
	sp_dialog_delete(t, d1);
	cr_expect_eq(sp_dialog_find(t, 1, "hairpin-1", 9, NULL), d2);
	sp_table_destroy(t);
}

Test(dialog, bad_input_refused)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	char longid[SP_CALLID_MAX + 1];
	struct sp_dialog *out;
	struct sp_dialog_params p = { .binding = b, .call_id = longid };

	memset(longid, 'c', sizeof(longid));
	p.call_id_len = SP_CALLID_MAX;
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -ENAMETOOLONG);
	p.call_id_len = SP_CALLID_MAX - 1;
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), 0, "longest Call-ID that fits");
	cr_expect_eq(sp_dialog_find(t, 1, longid, SP_CALLID_MAX - 1, b), out);
	p.call_id_len = 0;
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -EINVAL);
	p.call_id_len = 3;
	p.binding = NULL;
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -EINVAL);
	sp_table_destroy(t);
}

Test(dialog, states_only_move_forward)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "s1", T0);

	cr_expect_eq(sp_dialog_set_state(t, d, SP_DIALOG_CONFIRMED, T0 + 1), 0);
	cr_expect_eq(d->updated_ms, T0 + 1);
	cr_expect_eq(sp_dialog_set_state(t, d, SP_DIALOG_EARLY, T0 + 2), -EINVAL);
	cr_expect_eq(d->state, SP_DIALOG_CONFIRMED);
	cr_expect_eq(sp_dialog_set_state(t, d, SP_DIALOG_TERMINATING, T0 + 3), 0);
	cr_expect_eq(sp_dialog_set_state(t, d, SP_DIALOG_CONFIRMED, T0 + 4), -EINVAL);
	cr_expect_str_eq(sp_dialog_state_name(d->state), "terminating");
	sp_table_destroy(t);
}

static void limit_three(struct sp_table_config *cfg)
{
	cfg->session_limit = 3;
}

Test(dialog, session_limit)
{
	struct sp_table *t = fx_table_with(limit_three, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d[3], *out = NULL;
	struct sp_dialog_params p = { .binding = b, .call_id = "over", .call_id_len = 4 };
	int rc;

	for (int i = 0; i < 3; i++) {
		char cid[16];

		snprintf(cid, sizeof(cid), "c%d", i);
		d[i] = add_dialog(t, b, cid, T0);
	}
	rc = sp_dialog_create(t, &p, T0, &out);
	cr_expect_eq(rc, -SP_TABLE_ELIMIT);
	cr_expect_str_eq(sp_table_strerror(rc), "session limit reached");
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -SP_TABLE_ELIMIT);
	cr_expect_eq(sp_table_counters(t)->session_limit_hits, 2);
	cr_expect_eq(sp_table_counters(t)->dialogs_current, 3);
	cr_expect_null(sp_dialog_find(t, 1, "over", 4, NULL));

	sp_dialog_delete(t, d[1]);
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), 0, "room again after a delete");
	sp_table_set_session_limit(t, 0);
	p.call_id = "more";
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), 0, "0 is unlimited");
	cr_expect_eq(sp_table_counters(t)->session_limit_hits, 2);
	sp_table_destroy(t);
}

static void four_media_pairs(struct sp_table_config *cfg)
{
	cfg->media_port_first = 50000;
	cfg->media_port_last = 50007;
}

Test(dialog, media_ports_allocated_and_released)
{
	struct sp_table *t = fx_table_with(four_media_pairs, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "m1", T0);
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("192.0.2.50", 6000);
	struct sp_media_stream *ms[2], *out;
	struct sp_dialog *d2;

	cr_assert_eq(sp_dialog_add_media(t, d, &term, &far, &ms[0]), 0);
	cr_assert_eq(sp_dialog_add_media(t, d, &term, &far, &ms[1]), 0);
	cr_expect_eq(d->n_media, 2);
	cr_expect(sp_endpoint_equal(&ms[0]->far, &far));
	uint16_t ports[4] = { ms[0]->terminal_side_port, ms[0]->far_side_port,
			      ms[1]->terminal_side_port, ms[1]->far_side_port };
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(ports[i] % 2, 0, "RTP port even");
		cr_expect(ports[i] >= 50000 && ports[i] <= 50006);
		for (int j = 0; j < i; j++)
			cr_expect_neq(ports[i], ports[j], "pairs distinct");
	}
	cr_expect_eq(sp_dialog_add_media(t, d, &term, &far, &out), -ENOSPC);
	cr_expect_eq(d->n_media, 2);
	cr_expect_eq(sp_table_counters(t)->media_ports_exhausted, 1);

	d2 = add_dialog(t, b, "m2", T0);
	cr_expect_eq(sp_dialog_add_media(t, d2, &term, &far, &out), -ENOSPC);
	sp_dialog_delete(t, d);
	cr_expect_eq(sp_dialog_add_media(t, d2, &term, &far, &out), 0, "ports back after delete");
	cr_expect_eq(sp_dialog_add_media(t, d2, &term, &far, &out), 0);
	sp_dialog_clear_media(t, d2);
	cr_expect_eq(d2->n_media, 0);
	cr_expect_eq(sp_dialog_add_media(t, d2, &term, &far, &out), 0, "ports back after clear");
	sp_table_destroy(t);
}

static void no_media(struct sp_table_config *cfg)
{
	cfg->media_port_first = 0;
	cfg->media_port_last = 0;
}

Test(dialog, media_stream_limit)
{
	struct sp_table *t = fx_table_with(no_media, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "m", T0);
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("192.0.2.50", 6000);
	struct sp_media_stream *out;

	for (int i = 0; i < SP_DIALOG_MAX_MEDIA; i++) {
		cr_assert_eq(sp_dialog_add_media(t, d, &term, &far, &out), 0);
		cr_expect_eq(out->terminal_side_port, 0, "no media range: no ports");
	}
	cr_expect_eq(sp_dialog_add_media(t, d, &term, &far, &out), -E2BIG);
	sp_table_destroy(t);
}

/* Ids, iteration, get-next */

Test(ids, walk_and_get_next_after_deletions)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d[11];
	const uint32_t gone[] = { 1, 3, 4, 5, 9 };
	const uint32_t left[] = { 2, 6, 7, 8, 10 };
	struct sp_dialog *it;
	unsigned n = 0;

	for (int i = 1; i <= 10; i++) {
		char cid[24];

		snprintf(cid, sizeof(cid), "walk-%d", i);
		d[i] = add_dialog(t, b, cid, T0);
		cr_assert_eq(d[i]->id, (uint32_t)i);
	}
	for (unsigned i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		sp_dialog_delete(t, d[gone[i]]);

	for (it = sp_dialog_first(t); it; it = sp_dialog_next(t, it)) {
		cr_assert_lt(n, 5);
		cr_expect_eq(it->id, left[n], "walk position %u", n);
		n++;
	}
	cr_expect_eq(n, 5);

	/* SNMP get-next: the first id greater than the one asked, present or not. */
	cr_expect_eq(sp_dialog_get_next(t, 0)->id, 2);
	cr_expect_eq(sp_dialog_get_next(t, 2)->id, 6);
	cr_expect_eq(sp_dialog_get_next(t, 3)->id, 6);
	cr_expect_eq(sp_dialog_get_next(t, 8)->id, 10);
	cr_expect_eq(sp_dialog_get_next(t, 9)->id, 10);
	cr_expect_null(sp_dialog_get_next(t, 10));
	cr_expect_null(sp_dialog_get_next(t, UINT32_MAX));
	cr_expect_null(sp_dialog_find_id(t, 4));
	cr_expect_eq(sp_dialog_find_id(t, 7), d[7]);

	/* Ids are not reused while the counter has room. */
	it = add_dialog(t, b, "walk-11", T0);
	cr_expect_eq(it->id, 11);
	sp_table_destroy(t);
}

Test(ids, allocation_skips_ids_in_use_and_top_id_works)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *out;
	struct sp_dialog_params p = { .binding = b, .call_id = "x", .call_id_len = 1 };

	p.id = 2;
	cr_assert_eq(sp_dialog_create(t, &p, T0, &out), 0);
	p.id = UINT32_MAX;
	p.call_id = "top";
	p.call_id_len = 3;
	cr_assert_eq(sp_dialog_create(t, &p, T0, &out), 0);
	p.call_id = "dup";
	cr_expect_eq(sp_dialog_create(t, &p, T0, &out), -EEXIST, "id in use");
	cr_expect_eq(add_dialog(t, b, "a", T0)->id, 1);
	cr_expect_eq(add_dialog(t, b, "b", T0)->id, 3, "2 was taken");
	cr_expect_eq(sp_dialog_get_next(t, 3)->id, UINT32_MAX);
	cr_expect_null(sp_dialog_get_next(t, UINT32_MAX));
	sp_table_destroy(t);
}

Test(ids, bindings_walk_and_get_next)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b[6];
	unsigned n = 0;

	for (int i = 1; i <= 5; i++)
		b[i] = add_binding(t, 1, "10.1.1.1", (uint16_t)(5000 + i), T0);
	cr_assert_eq(sp_binding_delete(t, b[2]), 0);
	cr_assert_eq(sp_binding_delete(t, b[3]), 0);
	cr_expect_eq(sp_binding_get_next(t, 1), b[4]);
	cr_expect_eq(sp_binding_get_next(t, 0), b[1]);
	cr_expect_null(sp_binding_get_next(t, 5));
	for (struct sp_binding *it = sp_binding_first(t); it; it = sp_binding_next(t, it))
		n++;
	cr_expect_eq(n, 3);
	sp_table_destroy(t);
}

/* Aging with a controlled clock */

struct expiry_log {
	char what[64][32];
	unsigned n;
	struct sp_table *table;
	bool lookup_ok;		/* the dialog was still findable inside the callback */
};

static void log_binding(void *arg, struct sp_binding *b)
{
	struct expiry_log *log = arg;

	cr_assert_lt(log->n, 64);
	snprintf(log->what[log->n++], sizeof(log->what[0]), "b%u", b->terminal.port);
}

static void log_dialog(void *arg, struct sp_dialog *d)
{
	struct expiry_log *log = arg;

	cr_assert_lt(log->n, 64);
	snprintf(log->what[log->n++], sizeof(log->what[0]), "d:%.28s", d->call_id);
	log->lookup_ok = sp_dialog_find_id(log->table, d->id) == d;
}

static struct sp_table *logged_table(struct expiry_log *log)
{
	struct sp_table_callbacks cb = {
		.binding_expired = log_binding,
		.dialog_expired = log_dialog,
		.arg = log,
	};

	memset(log, 0, sizeof(*log));
	log->table = fx_table_with(NULL, &cb);
	return log->table;
}

Test(aging, binding_idle_and_registration)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	struct sp_binding *idle = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_binding *reg = add_binding(t, 1, "10.0.0.1", 2, T0);
	struct sp_binding *busy = add_binding(t, 1, "10.0.0.1", 3, T0);
	struct sp_endpoint term1 = fx_ep("10.0.0.1", 1);

	/* Defaults: idle 300 s, grace 32 s. */
	sp_binding_set_registration(t, reg, T0, 3600);
	sp_binding_touch(t, busy, T0 + SEC(200));
	cr_expect_eq(busy->last_activity_ms, T0 + SEC(200));
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(300));
	cr_expect_eq(sp_binding_find(t, 1, &term1), idle);

	cr_expect_eq(sp_table_expire(t, T0 + SEC(300) - 1), 0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(300)), 1);
	cr_expect_eq(log.n, 1);
	cr_expect_str_eq(log.what[0], "b1");
	cr_expect_null(sp_binding_find(t, 1, &term1));
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(500));

	cr_expect_eq(sp_table_expire(t, T0 + SEC(3600)), 1);
	cr_expect_str_eq(log.what[1], "b3");
	cr_expect_eq(sp_table_expire(t, T0 + SEC(3632) - 1), 0, "registration + grace");
	cr_expect_eq(sp_table_expire(t, T0 + SEC(3632)), 1);
	cr_expect_str_eq(log.what[2], "b2");
	cr_expect_eq(sp_table_counters(t)->bindings_expired, 3);
	cr_expect_eq(sp_table_counters(t)->bindings_current, 0);
	cr_expect_eq(sp_table_next_deadline(t), UINT64_MAX);
	sp_table_destroy(t);
}

Test(aging, deregistration_falls_back_to_idle)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.1", 1, T0);

	sp_binding_set_registration(t, b, T0, 3600);
	sp_binding_set_registration(t, b, T0 + SEC(10), 0);
	cr_expect_eq(b->registration_expiry_ms, 0);
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(310));
	sp_table_destroy(t);
}

Test(aging, dialogs_time_out_by_state_in_deadline_order)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_dialog *early = add_dialog(t, b, "early", T0);
	struct sp_dialog *conf = add_dialog(t, b, "confirmed", T0);
	struct sp_dialog *st = add_dialog(t, b, "timer", T0);
	struct sp_dialog *bye = add_dialog(t, b, "bye", T0);
	struct sp_dialog *gone = add_dialog(t, b, "gone", T0);

	/* early: 180 s from creation. */
	cr_assert_eq(sp_dialog_set_state(t, conf, SP_DIALOG_CONFIRMED, T0 + SEC(1)), 0);
	cr_assert_eq(sp_dialog_set_state(t, st, SP_DIALOG_CONFIRMED, T0 + SEC(1)), 0);
	sp_dialog_set_session_expires(t, st, 90, T0 + SEC(2));	/* 2 + 90 + 32 = 124 */
	cr_assert_eq(sp_dialog_set_state(t, bye, SP_DIALOG_TERMINATING, T0 + SEC(3)), 0);	/* 35 */
	cr_assert_eq(sp_dialog_set_state(t, gone, SP_DIALOG_TERMINATED, T0 + SEC(4)), 0);	/* 4 */
	sp_dialog_touch(t, bye, T0 + SEC(30));	/* retransmitted BYE: no extension */

	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(4));
	cr_expect_eq(sp_table_expire(t, T0 + SEC(4)), 1);
	cr_expect_str_eq(log.what[0], "d:gone");
	cr_expect(log.lookup_ok, "findable inside the callback");
	cr_expect_null(sp_dialog_find(t, 1, "gone", 4, NULL), "gone after it");

	cr_expect_eq(sp_table_expire(t, T0 + SEC(35) - 1), 0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(35)), 1);
	cr_expect_str_eq(log.what[1], "d:bye");

	/* Traffic keeps the early dialog alive for another 180 s. */
	sp_dialog_touch(t, early, T0 + SEC(100));
	cr_expect_eq(sp_table_expire(t, T0 + SEC(280) - 1), 1);
	cr_expect_str_eq(log.what[2], "d:timer");
	cr_expect_eq(sp_table_expire(t, T0 + SEC(280)), 1);
	cr_expect_str_eq(log.what[3], "d:early");

	/* Confirmed without a session timer: 12 h of silence. */
	cr_expect_eq(sp_table_expire(t, T0 + SEC(1 + 12 * 3600) - 1), 0);
	cr_expect_eq(b->dialog_refs, 1);
	/* The binding, kept by its dialogs, long idle, follows its last one. */
	cr_expect_eq(sp_table_expire(t, T0 + SEC(1 + 12 * 3600)), 2);
	cr_expect_str_eq(log.what[4], "d:confirmed");
	cr_expect_str_eq(log.what[5], "b1");
	cr_expect_eq(log.n, 6);
	cr_expect_eq(sp_table_counters(t)->dialogs_expired, 5);
	cr_expect_eq(sp_table_counters(t)->dialogs_current, 0);
	cr_expect_eq(sp_table_counters(t)->bindings_current, 0);
	sp_table_destroy(t);
}

Test(aging, binding_waits_for_its_dialogs)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.1", 7, T0);
	struct sp_dialog *d = add_dialog(t, b, "long-call", T0);

	cr_assert_eq(sp_dialog_set_state(t, d, SP_DIALOG_CONFIRMED, T0), 0);
	/* Far past the binding's idle time: only the dialog is due. */
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(12 * 3600));
	cr_expect_eq(sp_table_expire(t, T0 + SEC(3600)), 0);
	cr_expect_not_null(sp_binding_find_id(t, b->id));
	/* The dialog goes, and the binding, long idle, goes in the same pass after it. */
	cr_expect_eq(sp_table_expire(t, T0 + SEC(12 * 3600)), 2);
	cr_assert_eq(log.n, 2);
	cr_expect_str_eq(log.what[0], "d:long-call");
	cr_expect_str_eq(log.what[1], "b7");
	sp_table_destroy(t);
}

Test(aging, equal_deadlines_expire_in_arming_order)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	const char *expect[] = { "b10", "b11", "b12", "b13" };

	for (uint16_t p = 10; p <= 13; p++)
		add_binding(t, 1, "10.0.0.1", p, T0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(300)), 4);
	for (int i = 0; i < 4; i++)
		cr_expect_str_eq(log.what[i], expect[i]);
	sp_table_destroy(t);
}

static void delete_sibling(void *arg, struct sp_dialog *d)
{
	struct expiry_log *log = arg;
	struct sp_dialog *other;

	log_dialog(arg, d);
	other = sp_dialog_find(log->table, d->vpn, "sibling", 7, NULL);
	if (other && other != d)
		sp_dialog_delete(log->table, other);
}

Test(aging, callback_may_delete_other_objects)
{
	struct expiry_log log;
	struct sp_table_callbacks cb = { .dialog_expired = delete_sibling, .arg = &log };
	struct sp_table *t;
	struct sp_binding *b;

	memset(&log, 0, sizeof(log));
	t = log.table = fx_table_with(NULL, &cb);
	b = add_binding(t, 1, "10.0.0.1", 1, T0);
	add_dialog(t, b, "first", T0);
	add_dialog(t, b, "sibling", T0);	/* same deadline, later in order */
	cr_expect_eq(sp_table_expire(t, T0 + SEC(180)), 1, "sibling deleted, not expired");
	cr_expect_eq(log.n, 1);
	cr_expect_eq(sp_table_counters(t)->dialogs_current, 0);
	cr_expect_eq(sp_table_counters(t)->dialogs_deleted, 1);
	sp_table_destroy(t);
}

/* Scale: growth, many similar keys, memory targets */

static void big_ranges(struct sp_table_config *cfg)
{
	cfg->sig_port_first = 1024;
	cfg->sig_port_last = 65535;
	cfg->initial_buckets = 16;	/* force many doublings */
}

Test(scale, hundred_thousand_bindings_and_dialogs, .timeout = 120)
{
	enum { N = 100000 };
	struct sp_table *t = fx_table_with(big_ranges, NULL);
	struct sp_binding **b = calloc(N, sizeof(*b));
	struct sp_table_memory mem;
	char cid[64];

	cr_assert_not_null(b);
	for (uint32_t i = 0; i < N; i++) {
		/* Keys that differ in few bits: adjacent addresses and ports, two VPNs. */
		struct in_addr a = { htonl(0x0a000000u + i / 4) };
		struct sp_binding_params p = {
			.vpn = i % 2,
			.server_side = fx_ep(i < N / 2 ? "203.0.113.1" : "203.0.113.2", 0),
		};

		sp_endpoint_set_v4(&p.terminal, a, (uint16_t)(5060 + i % 4));
		cr_assert_eq(sp_binding_create(t, &p, T0, &b[i]), 0, "binding %u", i);
	}
	for (uint32_t i = 0; i < N; i++) {
		snprintf(cid, sizeof(cid), "%08x-call@host", i);
		add_dialog(t, b[i], cid, T0);
	}
	cr_expect_eq(sp_table_counters(t)->bindings_current, N);
	cr_expect_eq(sp_table_counters(t)->dialogs_current, N);

	for (uint32_t i = 0; i < N; i++) {
		struct in_addr a = { htonl(0x0a000000u + i / 4) };
		struct sp_endpoint term;
		struct sp_dialog *d;

		sp_endpoint_set_v4(&term, a, (uint16_t)(5060 + i % 4));
		cr_assert_eq(sp_binding_find(t, i % 2, &term), b[i], "binding %u", i);
		cr_assert_null(sp_binding_find(t, (i + 1) % 2, &term), "wrong VPN %u", i);
		cr_assert_eq(sp_binding_find_server_side(t, &b[i]->server_side), b[i]);
		snprintf(cid, sizeof(cid), "%08x-call@host", i);
		d = sp_dialog_find(t, i % 2, cid, strlen(cid), NULL);
		cr_assert_not_null(d, "dialog %u", i);
		cr_assert_eq(d->binding, b[i]);
		cr_assert_eq(sp_dialog_find_id(t, d->id), d);
	}

	sp_table_memory(t, &mem);
	cr_expect_leq(mem.per_binding, 1024, "%zu bytes per binding", mem.per_binding);
	cr_expect_leq(mem.per_dialog, 2048, "%zu bytes per dialog", mem.per_dialog);
	cr_expect_geq(mem.total, N * (mem.binding_object + mem.dialog_object));

	/* Everything ages out in one pass, in order, leaving an empty table. */
	cr_expect_eq(sp_table_expire(t, T0 + SEC(180)), N, "early dialogs");
	cr_expect_eq(sp_table_expire(t, T0 + SEC(300)), N, "idle bindings");
	cr_expect_null(sp_dialog_first(t));
	cr_expect_null(sp_binding_first(t));
	free(b);
	sp_table_destroy(t);
}

Test(scale, memory_targets_hold_for_a_small_table)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_table_memory mem;

	add_dialog(t, b, "one", T0);
	sp_table_memory(t, &mem);
	cr_expect_leq(mem.binding_object, 1024, "binding object %zu", mem.binding_object);
	cr_expect_leq(mem.dialog_object, 2048, "dialog object %zu", mem.dialog_object);
	cr_expect_geq(mem.per_binding, mem.binding_object);
	cr_expect_geq(mem.total, mem.binding_object + mem.dialog_object);
	sp_table_destroy(t);
}

Test(table, bad_config_refused)
{
	struct sp_table_config cfg;

	sp_table_config_default(&cfg);
	cfg.sig_port_first = 3000;
	cfg.sig_port_last = 2000;
	cr_expect_null(sp_table_create(&cfg, NULL));
	sp_table_config_default(&cfg);
	cfg.media_port_first = 3001;
	cfg.media_port_last = 3001;
	cr_expect_null(sp_table_create(&cfg, NULL));
}

/* State sync additions: objects restored as the active peer holds them */

Test(sync, binding_rekey_moves_both_indexes)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_binding *o = add_binding(t, 1, "10.1.1.2", 5060, T0);
	struct sp_endpoint old_c = b->server_side;
	struct sp_endpoint new_c = fx_ep("203.0.113.2", 21000), a2 = fx_ep("10.1.1.9", 5070);

	/* another binding's terminal or C:c: refused, b unchanged */
	cr_expect_eq(sp_binding_rekey(t, b, &o->terminal, &new_c), -EEXIST);
	cr_expect_eq(sp_binding_rekey(t, b, &a2, &o->server_side), -EADDRINUSE);
	struct sp_endpoint out_of_range = fx_ep("203.0.113.2", 1000);
	cr_expect_eq(sp_binding_rekey(t, b, &a2, &out_of_range), -ERANGE);
	cr_expect(sp_endpoint_equal(&b->server_side, &old_c));
	cr_expect_eq(sp_binding_find(t, 1, &a2), NULL);

	cr_assert_eq(sp_binding_rekey(t, b, &a2, &new_c), 0);
	cr_expect_eq(sp_binding_find(t, 1, &a2), b);
	cr_expect_eq(sp_binding_find_server_side(t, &new_c), b);
	cr_expect_eq(sp_binding_find(t, 1, &(struct sp_endpoint){ 0 }), NULL);
	struct sp_endpoint a1 = fx_ep("10.1.1.1", 5060);
	cr_expect_eq(sp_binding_find(t, 1, &a1), NULL, "old terminal key gone");
	cr_expect_eq(sp_binding_find_server_side(t, &old_c), NULL, "old C:c gone");
	/* the old c is free again: a binding may take it */
	struct sp_binding_params p = { .vpn = 1, .terminal = a1, .server_side = old_c };
	struct sp_binding *n;
	cr_expect_eq(sp_binding_create(t, &p, T0, &n), 0);
	sp_table_destroy(t);
}

Test(sync, binding_times_restored_and_aging_follows)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);

	sp_binding_restore_times(t, b, T0 - SEC(50), T0 - SEC(10), T0 + SEC(100));
	cr_expect_eq(b->created_ms, T0 - SEC(50));
	cr_expect_eq(b->last_activity_ms, T0 - SEC(10));
	cr_expect_eq(b->registration_expiry_ms, T0 + SEC(100));
	/* idle 300 s from T0-10 s; registration + 32 s grace is earlier */
	cr_expect_eq(sp_table_next_deadline(t), T0 - SEC(10) + SEC(300));
	sp_binding_restore_times(t, b, T0, T0, T0 + SEC(3600));
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(3600) + SEC(32));
	sp_table_destroy(t);
}

Test(sync, dialog_restore_sets_state_backwards_and_deadline)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "r1", T0);
	struct sp_dialog_restore r = {
		.state = SP_DIALOG_CONFIRMED, .invite_cseq = 9, .session_expires_s = 90,
		.created_ms = T0 - SEC(5), .updated_ms = T0 - SEC(1), .deadline_ms = T0 + SEC(77),
	};

	cr_assert_eq(sp_dialog_set_state(t, d, SP_DIALOG_TERMINATING, T0), 0);
	cr_assert_eq(sp_dialog_restore(t, d, &r), 0);
	cr_expect_eq(d->state, SP_DIALOG_CONFIRMED);
	cr_expect_eq(d->invite_cseq, 9);
	cr_expect_eq(d->session_expires_s, 90);
	cr_expect_eq(d->created_ms, T0 - SEC(5));
	cr_expect_eq(sp_dialog_deadline(t, d), T0 + SEC(77));
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(77));
	cr_expect_eq(sp_table_expire(t, T0 + SEC(77) - 1), 0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(77)), 1);
	r.state = 99;
	d = add_dialog(t, b, "r2", T0);
	cr_expect_eq(sp_dialog_restore(t, d, &r), -EINVAL);
	sp_table_destroy(t);
}

Test(sync, dialog_set_media_keeps_given_ports_atomically)
{
	struct sp_table *t = fx_table_with(four_media_pairs, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "m1", T0), *d2 = add_dialog(t, b, "m2", T0);
	struct sp_media_stream ms[2] = {
		{ .terminal = fx_ep("10.1.1.1", 4000), .far = fx_ep("192.0.2.50", 6000),
		  .terminal_side_port = 50004, .far_side_port = 50000 },
		{ .terminal = fx_ep("10.1.1.1", 4002), .far = fx_ep("192.0.2.50", 6002),
		  .terminal_side_port = 50006, .far_side_port = 50002 },
	};
	struct sp_media_stream *out;

	cr_assert_eq(sp_dialog_set_media(t, d, ms, 2), 0);
	cr_expect_eq(d->n_media, 2);
	cr_expect_eq(d->media[0].terminal_side_port, 50004);
	cr_expect_eq(d->media[1].far_side_port, 50002);
	cr_expect(sp_endpoint_equal(&d->media[1].far, &ms[1].far));
	/* every pair taken: the allocator knows */
	cr_expect_eq(sp_dialog_add_media(t, d2, &ms[0].terminal, &ms[0].far, &out), -ENOSPC);
	/* another dialog cannot take them; d2 stays as it was */
	cr_expect_eq(sp_dialog_set_media(t, d2, ms, 1), -EADDRINUSE);
	cr_expect_eq(d2->n_media, 0);
	/* odd, out of range, twice, too many: refused, d unchanged */
	struct sp_media_stream bad = ms[0];
	bad.far_side_port = 50001;
	cr_expect_eq(sp_dialog_set_media(t, d, &bad, 1), -ERANGE);
	bad.far_side_port = 50004;
	cr_expect_eq(sp_dialog_set_media(t, d, &bad, 1), -EINVAL);
	cr_expect_eq(sp_dialog_set_media(t, d, ms, SP_DIALOG_MAX_MEDIA + 1), -E2BIG);
	cr_expect_eq(d->n_media, 2);
	cr_expect_eq(d->media[0].terminal_side_port, 50004);
	/* d may keep or swap its own ports; freed ones go back to the pool */
	struct sp_media_stream swapped = ms[1];
	swapped.terminal_side_port = 50000;
	swapped.far_side_port = 50006;
	cr_assert_eq(sp_dialog_set_media(t, d, &swapped, 1), 0);
	cr_expect_eq(d->n_media, 1);
	cr_expect_eq(sp_dialog_add_media(t, d2, &ms[0].terminal, &ms[0].far, &out), 0);
	cr_expect(out->terminal_side_port == 50002 || out->terminal_side_port == 50004);
	sp_dialog_delete(t, d);
	cr_expect_eq(sp_dialog_set_media(t, d2, &swapped, 1), 0, "released with the dialog");
	sp_table_destroy(t);
}

Test(sync, dialog_set_media_without_media_range_stores_ports)
{
	struct sp_table *t = fx_table_with(no_media, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "m1", T0);
	struct sp_media_stream ms = { .terminal = fx_ep("10.1.1.1", 4000), .far = fx_ep("192.0.2.50", 6000) };

	cr_assert_eq(sp_dialog_set_media(t, d, &ms, 1), 0);
	cr_expect_eq(d->n_media, 1);
	sp_table_destroy(t);
}

/* limit source-bindings counts bindings per address in its VPN, whatever the
 * ports, through every way a binding comes and goes. */
Test(binding, bindings_held_per_source)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_endpoint src = fx_ep("10.1.1.1", 1), other = fx_ep("10.1.1.2", 5060);
	struct sp_binding *a = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5061, T0);

	add_binding(t, 2, "10.1.1.1", 5060, T0);
	cr_expect_eq(sp_table_source_bindings(t, 1, &src), 2);
	cr_expect_eq(sp_table_source_bindings(t, 2, &src), 1);
	cr_expect_eq(sp_table_source_bindings(t, 1, &other), 0);
	cr_assert_eq(sp_binding_delete(t, a), 0);
	cr_expect_eq(sp_table_source_bindings(t, 1, &src), 1);
	/* a rekey to another address moves the binding's count with it */
	cr_assert_eq(sp_binding_rekey(t, b, &other, &b->server_side), 0);
	cr_expect_eq(sp_table_source_bindings(t, 1, &src), 0);
	cr_expect_eq(sp_table_source_bindings(t, 1, &other), 1);
	/* expiry */
	sp_table_expire(t, UINT64_MAX - 1);
	cr_expect_eq(sp_table_source_bindings(t, 1, &other), 0);
	cr_expect_eq(sp_table_source_bindings(t, 2, &src), 0);
	sp_table_destroy(t);
}

/* A limited source is named once per interval, each source on its own. */
Test(srclimit, notifications_spaced_per_source)
{
	struct sp_srclimit *s = sp_srclimit_new();
	struct sp_endpoint a = fx_ep("10.1.0.12", 5060), a2 = fx_ep("10.1.0.12", 9999), b = fx_ep("10.1.0.13", 1);

	cr_assert_not_null(s);
	cr_expect(sp_srclimit_notify_due(s, 0, &a, 1000, 60000));
	cr_expect_not(sp_srclimit_notify_due(s, 0, &a2, 2000, 60000), "the port does not matter");
	cr_expect(sp_srclimit_notify_due(s, 1, &a, 2000, 60000), "another VPN, another source");
	cr_expect(sp_srclimit_notify_due(s, 0, &b, 2000, 60000));
	cr_expect_not(sp_srclimit_notify_due(s, 0, &a, 60999, 60000));
	cr_expect(sp_srclimit_notify_due(s, 0, &a, 61000, 60000));
	cr_expect_eq(sp_srclimit_sources(s), 0);
	cr_assert_eq(sp_srclimit_add(s, 0, &a), 0);
	cr_assert_eq(sp_srclimit_add(s, 0, &a2), 0);
	cr_expect_eq(sp_srclimit_count(s, 0, &b), 0);
	cr_expect_eq(sp_srclimit_count(s, 0, &a), 2);
	cr_expect_eq(sp_srclimit_sources(s), 1);
	sp_srclimit_remove(s, 0, &b); /* not counted: left alone */
	sp_srclimit_remove(s, 0, &a);
	sp_srclimit_remove(s, 0, &a);
	cr_expect_eq(sp_srclimit_sources(s), 0);
	sp_srclimit_free(s);
}

/* Keys with transport and family (issue 16 item 3): the same A:a over UDP
 * and over TCP are two bindings; a lookup names its transport; an IPv6
 * terminal has a key of its own. */
Test(table, keys_carry_transport_and_family)
{
	struct sp_table *t = fx_table_with(NULL, NULL);
	struct sp_binding *udp = add_binding(t, 1, "10.1.1.1", 5060, T0), *tcp = NULL, *v6 = NULL;
	struct sp_binding_params p = {
		.vpn = 1,
		.transport = SP_STORE_TCP,
		.terminal = fx_ep("10.1.1.1", 5060),
		.server_side = fx_ep("203.0.113.1", 0),
	};
	struct sp_binding_key k = { .vpn = 1, .transport = SP_STORE_TCP, .terminal = fx_ep("10.1.1.1", 5060) };

	cr_assert_eq(sp_binding_create(t, &p, T0, &tcp), 0);
	cr_expect_neq(tcp, udp);
	cr_expect_eq(sp_binding_create(t, &p, T0, &(struct sp_binding *){ NULL }), -EEXIST);
	cr_expect_eq(sp_binding_find(t, 1, &p.terminal), udp, "sp_binding_find is UDP's");
	cr_expect_eq(sp_binding_find_key(t, &k), tcp);
	k.transport = SP_STORE_TLS;
	cr_expect_null(sp_binding_find_key(t, &k));
	cr_expect_eq(sp_binding_find_server_side_on(t, SP_STORE_TCP, &tcp->server_side), tcp);
	cr_expect_null(sp_binding_find_server_side_on(t, SP_STORE_UDP, &tcp->server_side));
	cr_expect_eq(sp_binding_find_server_side(t, &udp->server_side), udp);
	p.transport = SP_STORE_UDP;
	p.terminal = fx_ep("2001:db8::1", 5060);
	cr_assert_eq(sp_binding_create(t, &p, T0, &v6), 0);
	k = (struct sp_binding_key){ .vpn = 1, .terminal = fx_ep("2001:db8::1", 5060) };
	cr_expect_eq(sp_binding_find_key(t, &k), v6);
	cr_expect_eq(sp_binding_find(t, 1, &k.terminal), v6);
	p.transport = SP_STORE_TLS + 1;
	cr_expect_eq(sp_binding_create(t, &p, T0, &(struct sp_binding *){ NULL }), -EINVAL);
	sp_table_destroy(t);
}

/* One home for media (issue 16 item 3): the store's allocator is the only
 * one. A message in progress takes pairs; a dialog's stream record adopts
 * them; a message not sent gives its own back and nothing a dialog holds;
 * the range cannot change under held ports; dialogs restored before the
 * range came keep theirs, counted as used. */
Test(media_ports, taken_adopted_released_and_the_range)
{
	struct sp_table *t = fx_table_with(no_media, NULL);
	struct sp_binding *b = add_binding(t, 1, "10.1.1.1", 5060, T0);
	struct sp_dialog *d = add_dialog(t, b, "m1", T0), *d2 = add_dialog(t, b, "m2", T0);
	struct sp_media_stream ms = { .terminal = fx_ep("10.1.1.1", 4000),
				      .far = fx_ep("192.0.2.50", 6000),
				      .terminal_side_port = 50004, .far_side_port = 50006 };
	uint16_t pe, pc, p;

	/* restored before the configuration: stored as given */
	cr_assert_eq(sp_dialog_set_media(t, d2, &ms, 1), 0);
	cr_assert_eq(sp_table_media_take(t, &p), -ERANGE, "no range");
	cr_assert_eq(sp_table_set_media_range(t, 50000, 50007), 0);
	cr_expect_eq(sp_table_media_used(t), 2, "d2's pairs are used");
	cr_expect(sp_table_media_in_range(t, 50000));
	cr_expect_not(sp_table_media_in_range(t, 50001), "RTCP is the pair's");

	/* a message takes the two pairs left; the dialog's record adopts them */
	cr_assert_eq(sp_table_media_take(t, &pe), 0);
	cr_assert_eq(sp_table_media_take(t, &pc), 0);
	cr_expect_eq(sp_table_media_take(t, &p), -ENOSPC);
	cr_expect_eq(sp_table_counters(t)->media_ports_exhausted, 1);
	ms.terminal_side_port = pe;
	ms.far_side_port = pc;
	cr_assert_eq(sp_dialog_set_media(t, d, &ms, 1), 0);
	sp_table_media_release(t, pe);	/* held by d: not the message's any more */
	cr_expect_eq(sp_table_media_used(t), 4);
	cr_expect_eq(sp_dialog_set_media(t, d2, &ms, 1), -EADDRINUSE);
	cr_expect_eq(sp_table_set_media_range(t, 40000, 40099), -EBUSY, "ports held");

	/* the dialog goes: its ports too; a refused message's go back */
	sp_dialog_delete(t, d);
	cr_expect_eq(sp_table_media_used(t), 2);
	cr_assert_eq(sp_table_media_take(t, &pe), 0);
	sp_table_media_release(t, pe);
	cr_expect_eq(sp_table_media_used(t), 2, "a half-processed message leaves nothing used");
	sp_dialog_delete(t, d2);
	cr_expect_eq(sp_table_media_used(t), 0);
	cr_expect_eq(sp_table_set_media_range(t, 40000, 40099), 0);
	sp_table_destroy(t);
}

/* `limit dialog-early-timeout` / `limit dialog-idle-timeout`: an unanswered
 * INVITE's dialog and a silent confirmed one (a 200 never ACKed, a BYE never
 * sent) go after the configured time, not after 180 s and 12 h. */
Test(aging, configured_dialog_timeouts)
{
	struct expiry_log log;
	struct sp_table *t = logged_table(&log);
	struct sp_binding *b = add_binding(t, 1, "10.0.0.1", 1, T0);
	struct sp_dialog *early, *conf;

	sp_table_set_dialog_timeouts(t, 5 * 1000, 20 * 1000);
	early = add_dialog(t, b, "unanswered", T0);
	conf = add_dialog(t, b, "abandoned", T0);
	cr_assert_eq(sp_dialog_set_state(t, conf, SP_DIALOG_CONFIRMED, T0 + SEC(1)), 0);
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(5));
	cr_expect_eq(sp_table_expire(t, T0 + SEC(5) - 1), 0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(5)), 1);
	cr_expect_str_eq(log.what[0], "d:unanswered");
	cr_expect_eq(sp_table_expire(t, T0 + SEC(21) - 1), 0);
	cr_expect_eq(sp_table_expire(t, T0 + SEC(21)), 1);
	cr_expect_str_eq(log.what[1], "d:abandoned");
	cr_expect_eq(sp_table_counters(t)->dialogs_current, 0);
	(void)early;
	/* 0 keeps the value: a dialog confirmed now still goes after 20 s */
	sp_table_set_dialog_timeouts(t, 0, 0);
	conf = add_dialog(t, b, "again", T0 + SEC(30));
	cr_assert_eq(sp_dialog_set_state(t, conf, SP_DIALOG_CONFIRMED, T0 + SEC(30)), 0);
	cr_expect_eq(sp_table_next_deadline(t), T0 + SEC(50));
	sp_table_destroy(t);
}
