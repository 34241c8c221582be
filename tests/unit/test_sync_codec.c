/*
 * State-sync records: round trips between two tables on clocks that differ,
 * updates in place, deletes, stale objects, the resync sweep, and refusal
 * of every truncated or damaged record with nothing applied.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_sync_codec.h"
#include "table_fixture.h"

#define SEC(s) ((uint64_t)(s) * 1000)
#define NOW_A SEC(100000)	/* the sender's monotonic clock */
#define NOW_B SEC(5000)		/* the receiver booted later */

static struct sp_binding *binding(struct sp_table *t, uint32_t vpn, const char *addr,
				  uint16_t port, uint64_t now)
{
	return fx_binding(t, vpn, addr, port, "[2001:db8::5]:5062", now);
}

static struct sp_dialog *dialog(struct sp_table *t, struct sp_binding *b, const char *call_id,
				uint64_t now)
{
	return fx_dialog(t, b, call_id, "ftag-1", 101, now);
}

static int apply(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
		 const uint8_t *buf, ssize_t len)
{
	cr_assert_geq(len, 0);
	return sp_sync_codec_apply(c, kind, id, buf, (size_t)len, NOW_B);
}

/* Send every object of a to b the way a resync does. */
static void copy_all(struct sp_sync_codec *ca, struct sp_sync_codec *cb)
{
	uint8_t buf[SP_SYNC_RECORD_MAX];

	for (int k = SP_SYNC_BINDING; k <= SP_SYNC_DIALOG; k++)
		for (uint32_t id = sp_sync_codec_next_id(ca, k, 0); id;
		     id = sp_sync_codec_next_id(ca, k, id)) {
			ssize_t n = sp_sync_codec_encode(ca, k, id, NOW_A, buf, sizeof(buf));

			cr_assert_gt(n, 0);
			cr_assert_eq(apply(cb, k, id, buf, n), 0, "kind %d id %u", k, id);
		}
}

Test(codec, binding_round_trip_on_another_clock)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 3, "2001:db8::10", 5060, NOW_A - SEC(500));
	struct sp_binding *y;
	uint8_t buf[SP_SYNC_RECORD_MAX];
	ssize_t n;

	sp_binding_touch(a, x, NOW_A - SEC(20));
	sp_binding_set_registration(a, x, NOW_A - SEC(10), 3600);
	x->return_path.ifindex = 4;
	x->return_path.has_mac = true;
	memcpy(x->return_path.prev_hop_mac, "\x02\x00\x00\xaa\xbb\xcc", 6);
	x->return_path.prev_hop = fx_ep("10.9.9.1", 0);
	x->strategy_id = 42;
	x->origin_mark = 0x00000a0a;

	n = sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_expect_lt(n, 200, "compact: %zd bytes", n);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, buf, n), 0);
	y = sp_binding_find_id(b, x->id);
	cr_assert_not_null(y);
	cr_expect_eq(y->vpn, 3);
	cr_expect(sp_endpoint_equal(&y->terminal, &x->terminal));
	cr_expect(sp_endpoint_equal(&y->server_side, &x->server_side), "same C:c");
	cr_expect(sp_endpoint_equal(&y->virtual_server, &x->virtual_server));
	cr_expect(sp_endpoint_equal(&y->server, &x->server));
	cr_expect_eq(y->strategy_id, 42);
	cr_expect_eq(y->origin_mark, 0x00000a0a);
	cr_expect_str_eq(y->via_sent_by, x->via_sent_by);
	cr_expect_str_eq(y->contact, x->contact);
	cr_expect_eq(y->return_path.ifindex, 4);
	cr_expect(y->return_path.has_mac);
	cr_expect_arr_eq(y->return_path.prev_hop_mac, x->return_path.prev_hop_mac, 6);
	cr_expect(sp_endpoint_equal(&y->return_path.prev_hop, &x->return_path.prev_hop));
	/* ages and remaining times survive the change of clock */
	cr_expect_eq(NOW_B - y->created_ms, NOW_A - x->created_ms);
	cr_expect_eq(NOW_B - y->last_activity_ms, SEC(10));
	cr_expect_eq(y->registration_expiry_ms - NOW_B, SEC(3590));
	cr_expect_eq(sp_binding_find(b, 3, &x->terminal), y);
	cr_expect_eq(sp_binding_find_server_side(b, &x->server_side), y);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, registration_in_grace_stays_registered_and_old_ages_clamp)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A - SEC(60000));
	struct sp_binding *y;
	uint8_t buf[SP_SYNC_RECORD_MAX];
	ssize_t n;

	/* expired 5 s ago, within the grace period */
	sp_binding_set_registration(a, x, NOW_A - SEC(65), 60);
	n = sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, buf, sizeof(buf));
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, buf, n), 0);
	y = sp_binding_find_id(b, x->id);
	cr_assert_not_null(y);
	cr_expect_eq(y->registration_expiry_ms, NOW_B - SEC(5));
	cr_expect_eq(y->created_ms, 0, "older than this clock: clamped");
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

static struct sp_dialog *dialog_with_media(struct sp_table *a, struct sp_binding *x,
					   const char *call_id)
{
	struct sp_dialog *d = dialog(a, x, call_id, NOW_A - SEC(30));
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("2001:db8::99", 6000);
	struct sp_media_stream *ms;

	cr_assert_eq(sp_dialog_add_media(a, d, &term, &far, &ms), 0);
	ms->engine_flags = 0x5;
	term.port = 4002;
	cr_assert_eq(sp_dialog_add_media(a, d, &term, &far, &ms), 0);
	cr_assert_eq(sp_dialog_set_to_tag(d, "ttag-2"), 0);
	cr_assert_eq(sp_dialog_set_state(a, d, SP_DIALOG_CONFIRMED, NOW_A - SEC(20)), 0);
	sp_dialog_set_session_expires(a, d, 1800, NOW_A - SEC(2));
	return d;
}

Test(codec, dialog_with_media_and_long_call_id_round_trip)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A - SEC(40));
	char call_id[SP_CALLID_MAX];
	struct sp_dialog *d, *e;

	memset(call_id, 'c', sizeof(call_id) - 1);
	call_id[sizeof(call_id) - 1] = '\0';
	call_id[7] = '@';
	/* ports on the sender that the receiver's allocator would not pick first */
	struct sp_dialog *filler = dialog_with_media(a, x, "filler");
	d = dialog_with_media(a, x, call_id);
	sp_dialog_delete(a, filler);

	copy_all(ca, cb);
	e = sp_dialog_find_id(b, d->id);
	cr_assert_not_null(e);
	cr_expect_eq(e->binding, sp_binding_find_id(b, x->id));
	cr_expect_eq(e->call_id_len, SP_CALLID_MAX - 1);
	cr_expect_arr_eq(e->call_id, d->call_id, d->call_id_len);
	cr_expect_eq(sp_dialog_find(b, 1, call_id, strlen(call_id), NULL), e);
	cr_expect_str_eq(e->from_tag, "ftag-1");
	cr_expect_str_eq(e->to_tag, "ttag-2");
	cr_expect_eq(e->state, SP_DIALOG_CONFIRMED);
	cr_expect_eq(e->invite_cseq, 101);
	cr_expect_eq(e->session_expires_s, 1800);
	cr_expect_eq(NOW_B - e->created_ms, SEC(30));
	cr_expect_eq(NOW_B - e->updated_ms, SEC(2));
	cr_expect_eq(sp_dialog_deadline(b, e) - NOW_B, sp_dialog_deadline(a, d) - NOW_A);
	cr_assert_eq(e->n_media, 2);
	for (unsigned i = 0; i < 2; i++) {
		cr_expect(sp_endpoint_equal(&e->media[i].terminal, &d->media[i].terminal));
		cr_expect(sp_endpoint_equal(&e->media[i].far, &d->media[i].far));
		cr_expect_eq(e->media[i].terminal_side_port, d->media[i].terminal_side_port);
		cr_expect_eq(e->media[i].far_side_port, d->media[i].far_side_port);
		cr_expect_eq(e->media[i].engine_flags, 0, "kernel state does not travel");
	}
	cr_expect_eq(sp_binding_find_id(b, x->id)->dialog_refs, 1);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, update_in_place_then_delete)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	struct sp_dialog *d = dialog_with_media(a, x, "call-1");
	struct sp_dialog *e;
	struct sp_binding *y;
	uint8_t buf[SP_SYNC_RECORD_MAX];
	ssize_t n;

	copy_all(ca, cb);
	y = sp_binding_find_id(b, x->id);
	e = sp_dialog_find_id(b, d->id);
	cr_assert(y && e);
	e->media[0].engine_flags = 1;	/* this side installed it meanwhile */

	/* changes on the sender */
	x->strategy_id = 99;
	cr_assert_eq(sp_binding_set_contact(x, "10.1.1.1:5999"), 0);
	sp_dialog_clear_media(a, d);
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("2001:db8::99", 6000);
	struct sp_media_stream *ms;
	cr_assert_eq(sp_dialog_add_media(a, d, &term, &far, &ms), 0);
	cr_assert_eq(sp_dialog_set_state(a, d, SP_DIALOG_TERMINATING, NOW_A), 0);

	copy_all(ca, cb);
	cr_expect_eq(sp_binding_find_id(b, x->id), y, "updated in place");
	cr_expect_eq(sp_dialog_find_id(b, d->id), e, "updated in place");
	cr_expect_eq(y->strategy_id, 99);
	cr_expect_str_eq(y->contact, "10.1.1.1:5999");
	cr_expect_eq(e->state, SP_DIALOG_TERMINATING);
	cr_assert_eq(e->n_media, 1);
	cr_expect_eq(e->media[0].terminal_side_port, d->media[0].terminal_side_port);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 1);

	/* the same record again changes nothing, keeps this side's flags */
	n = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, buf, sizeof(buf));
	e->media[0].engine_flags = 1;
	cr_assert_eq(apply(cb, SP_SYNC_DIALOG, d->id, buf, n), 0);
	cr_expect_eq(e->media[0].engine_flags, 1);

	/* a binding delete takes its dialogs along */
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, x->id, buf, 0), 0);
	cr_expect_eq(sp_table_counters(b)->bindings_current, 0);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 0);
	/* deleting what is not there is fine */
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, d->id, buf, 0), 0);
	cr_expect_eq(sp_sync_codec_encode(ca, SP_SYNC_DIALOG, 12345, NOW_A, buf, sizeof(buf)), 0);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, stale_objects_in_the_way_are_replaced)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x, *stale;
	uint8_t buf[SP_SYNC_RECORD_MAX];
	ssize_t n;

	/* b holds the same terminal under another id, from an older era */
	stale = binding(b, 1, "10.1.1.1", 5060, NOW_B);
	dialog(b, stale, "old-call", NOW_B);
	binding(a, 1, "10.1.1.50", 5060, NOW_A);	/* take an id */
	x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	cr_assert_neq(x->id, stale->id);
	n = sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, buf, sizeof(buf));
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, buf, n), 0);
	cr_expect_eq(sp_binding_find(b, 1, &x->terminal)->id, x->id);
	cr_expect_eq(sp_table_counters(b)->bindings_current, 1);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 0);
	cr_expect_eq(sp_sync_codec_counters(cb)->stale_removed, 1);

	/* the same id with another terminal: re-keyed in place */
	struct sp_binding *y = sp_binding_find_id(b, x->id);
	struct sp_binding *z = binding(a, 1, "10.1.1.60", 5060, NOW_A);
	n = sp_sync_encode_binding(z, NOW_A, buf, sizeof(buf));
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, buf, n), 0);
	cr_expect_eq(sp_binding_find_id(b, x->id), y);
	cr_expect(sp_endpoint_equal(&y->terminal, &z->terminal));
	cr_expect(sp_endpoint_equal(&y->server_side, &z->server_side));
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, dialog_of_unknown_binding_and_port_conflict_apply_nothing)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	struct sp_dialog *d = dialog_with_media(a, x, "call-1");
	uint8_t bbuf[SP_SYNC_RECORD_MAX], dbuf[SP_SYNC_RECORD_MAX];
	ssize_t bn, dn;

	bn = sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, bbuf, sizeof(bbuf));
	dn = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, dbuf, sizeof(dbuf));
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, d->id, dbuf, dn), -ENOENT);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 0);

	/* b's own dialog (on another binding) holds one of the ports */
	struct sp_binding_params op = { .id = 600, .vpn = 1, .terminal = fx_ep("10.1.1.2", 5060),
					.server_side = fx_ep("203.0.113.1", 29999) };
	struct sp_binding *other;
	cr_assert_eq(sp_binding_create(b, &op, NOW_B, &other), 0);
	struct sp_dialog_params hp = { .id = 500, .binding = other, .call_id = "holder",
				       .call_id_len = 6 };
	struct sp_dialog *holder;
	cr_assert_eq(sp_dialog_create(b, &hp, NOW_B, &holder), 0);
	struct sp_media_stream ms = d->media[1];
	cr_assert_eq(sp_dialog_set_media(b, holder, &ms, 1), 0);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, bbuf, bn), 0);
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, d->id, dbuf, dn), -EADDRINUSE);
	cr_expect_null(sp_dialog_find_id(b, d->id), "nothing half-applied");
	cr_expect_eq(sp_binding_find_id(b, x->id)->dialog_refs, 0);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 1);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, truncated_extended_and_garbage_records_refused)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	struct sp_dialog *d = dialog_with_media(a, x, "call-1");
	uint8_t bbuf[SP_SYNC_RECORD_MAX + 1], dbuf[SP_SYNC_RECORD_MAX + 1];
	ssize_t bn, dn;

	bn = sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, bbuf, sizeof(bbuf));
	dn = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, dbuf, sizeof(dbuf));
	for (ssize_t len = 1; len < bn; len++)
		cr_expect_eq(apply(cb, SP_SYNC_BINDING, x->id, bbuf, len), -EINVAL, "len %zd", len);
	bbuf[bn] = 0;
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, x->id, bbuf, bn + 1), -EINVAL, "trailing byte");
	cr_expect_eq(sp_table_counters(b)->bindings_current, 0);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, x->id, bbuf, bn), 0);
	for (ssize_t len = 1; len < dn; len++)
		cr_expect_eq(apply(cb, SP_SYNC_DIALOG, d->id, dbuf, len), -EINVAL, "len %zd", len);
	dbuf[dn] = 0;
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, d->id, dbuf, dn + 1), -EINVAL);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 0);

	/* one damaged field at a time */
	uint8_t bad[SP_SYNC_RECORD_MAX];
	memcpy(bad, bbuf, (size_t)bn);
	bad[0] = SP_SYNC_CODEC_VERSION + 1;
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 77, bad, bn), -EINVAL, "version");
	memcpy(bad, bbuf, (size_t)bn);
	bad[5] = 5;	/* terminal's family */
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 77, bad, bn), -EINVAL, "family");
	memcpy(bad, dbuf, (size_t)dn);
	bad[5] = 9;	/* state */
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 77, bad, dn), -EINVAL, "state");
	memcpy(bad, dbuf, (size_t)dn);
	/* n_media: before 2 x (v4 ep 7 + v6 ep 19 + ports 4) */
	bad[dn - 2 * 30 - 1] = SP_DIALOG_MAX_MEDIA + 1;
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 77, bad, dn), -EINVAL, "n_media");
	memcpy(bad, dbuf, (size_t)dn);
	bad[1] = bad[2] = bad[3] = bad[4] = 0;	/* binding id 0 */
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 77, bad, dn), -EINVAL, "binding id 0");
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 0, bbuf, bn), -EINVAL, "id 0");
	cr_expect_eq(sp_sync_codec_apply(cb, 9, 77, bbuf, (size_t)bn, NOW_B), -EINVAL, "kind");

	srandom(7);
	for (int i = 0; i < 2000; i++) {
		size_t len = 1 + (size_t)random() % 300;

		for (size_t j = 0; j < len; j++)
			bad[j] = (uint8_t)random();
		bad[0] = SP_SYNC_CODEC_VERSION;	/* get past the first check */
		cr_expect_eq(apply(cb, SP_SYNC_BINDING, 1000 + i, bad, len), -EINVAL);
		cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 1000 + i, bad, len), -EINVAL);
	}
	cr_expect_eq(sp_table_counters(b)->bindings_current, 1);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 0);
	cr_expect_eq(sp_sync_codec_encode(ca, SP_SYNC_BINDING, x->id, NOW_A, bbuf, 10), -ENOSPC);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(codec, resync_sweep_removes_what_was_not_carried)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	char name[32];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "10.1.2.%d", i + 1);
		struct sp_binding *x = binding(a, 1, name, 5060, NOW_A);

		snprintf(name, sizeof(name), "call-%d", i);
		dialog(a, x, name, NOW_A);
	}
	copy_all(ca, cb);
	cr_assert_eq(sp_table_counters(b)->dialogs_current, 20);
	/* the sender loses half while the channel is down */
	for (int i = 0; i < 20; i += 2) {
		struct sp_binding *x = sp_binding_get_next(a, 0);

		for (struct sp_dialog *d = sp_dialog_first(a); d; d = sp_dialog_next(a, d))
			if (d->binding == x) {
				sp_dialog_delete(a, d);
				break;
			}
		cr_assert_eq(sp_binding_delete(a, x), 0);
	}
	/* and one dialog of a binding it keeps */
	sp_dialog_delete(a, sp_dialog_first(a));
	sp_sync_codec_resync_begin(cb);
	copy_all(ca, cb);
	cr_expect_eq(sp_sync_codec_resync_end(cb), 21, "10 bindings, 11 dialogs");
	cr_expect_eq(sp_table_counters(b)->bindings_current, 10);
	cr_expect_eq(sp_table_counters(b)->dialogs_current, 9);
	for (struct sp_binding *x = sp_binding_first(b); x; x = sp_binding_next(b, x))
		cr_expect_not_null(sp_binding_find_id(a, x->id));
	/* a cut-off resync removes nothing; the next one starts over */
	sp_sync_codec_resync_begin(cb);
	sp_sync_codec_resync_begin(cb);
	cr_expect_eq(sp_sync_codec_resync_end(cb), 19, "nothing applied: everything goes");
	cr_expect_eq(sp_sync_codec_resync_end(cb), 0, "no resync running");
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

/* The binding's transport is a key (issue 16 item 3): a TCP binding travels
 * in a version 2 record with its transport, a UDP one stays version 1 byte
 * for byte, and a UDP binding with the same id gives way to the TCP one. */
Test(codec, transport_of_a_stream_binding_carried)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *udp = binding(a, 1, "10.1.1.1", 5060, NOW_A), *tcp = NULL, *y;
	struct sp_binding_params p = {
		.vpn = 1, .transport = SP_STORE_TCP, .terminal = fx_ep("10.1.1.1", 5060),
		.server_side = fx_ep("203.0.113.1", 0), .contact = "10.1.1.1:5060",
	};
	uint8_t buf[SP_SYNC_RECORD_MAX], ubuf[SP_SYNC_RECORD_MAX];
	ssize_t n, un;

	cr_assert_eq(sp_binding_create(a, &p, NOW_A, &tcp), 0);
	un = sp_sync_codec_encode(ca, SP_SYNC_BINDING, udp->id, NOW_A, ubuf, sizeof(ubuf));
	n = sp_sync_codec_encode(ca, SP_SYNC_BINDING, tcp->id, NOW_A, buf, sizeof(buf));
	cr_assert_gt(un, 0);
	cr_assert_gt(n, 0);
	cr_expect_eq(ubuf[0], SP_SYNC_CODEC_VERSION, "a UDP binding's record is unchanged");
	cr_expect_eq(buf[0], SP_SYNC_CODEC_VERSION_TRANSPORT);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, udp->id, ubuf, un), 0);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, tcp->id, buf, n), 0);
	y = sp_binding_find_id(b, tcp->id);
	cr_assert_not_null(y);
	cr_expect_eq(y->transport, SP_STORE_TCP);
	cr_expect_eq(sp_binding_find_key(b, &(struct sp_binding_key){ .vpn = 1,
		.transport = SP_STORE_TCP, .terminal = p.terminal }), y);
	cr_expect_eq(sp_binding_find_server_side_on(b, SP_STORE_TCP, &tcp->server_side), y);
	cr_expect_eq(sp_binding_find_id(b, udp->id)->transport, SP_STORE_UDP);
	/* the same id as UDP elsewhere: replaced, not rekeyed across transports */
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, udp->id, buf, n), 0);
	cr_expect_eq(sp_binding_find_id(b, udp->id)->transport, SP_STORE_TCP);
	cr_expect_null(sp_binding_find_id(b, tcp->id), "the older copy in the way is gone");
	/* an unknown transport is refused, nothing applied */
	buf[n - 1] = SP_STORE_TLS + 1;
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 999, buf, n), -EINVAL);
	cr_expect_null(sp_binding_find_id(b, 999));
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

/* A binding registered with SIP outbound (RFC 5626) travels as such in a
 * version 5 record (version 2's and a flags byte), so that after a takeover
 * or a restart a request for it is answered 430 rather than sent to its
 * Contact; without the flag it stays version 2 byte for byte, an update
 * that drops the flag clears it on the receiver, and an unknown flag or a
 * version 5 UDP binding is a bad record. */
Test(codec, outbound_flag_of_a_stream_binding_carried)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *tcp = NULL, *y;
	struct sp_binding_params p = {
		.vpn = 1, .transport = SP_STORE_TCP, .terminal = fx_ep("10.1.1.2", 5060),
		.server_side = fx_ep("203.0.113.1", 0), .contact = "10.1.1.2:5060",
	};
	uint8_t buf[SP_SYNC_RECORD_MAX], plain[SP_SYNC_RECORD_MAX], bad[SP_SYNC_RECORD_MAX];
	ssize_t n, pn;

	cr_assert_eq(sp_binding_create(a, &p, NOW_A, &tcp), 0);
	pn = sp_sync_codec_encode(ca, SP_SYNC_BINDING, tcp->id, NOW_A, plain, sizeof(plain));
	sp_binding_set_outbound(tcp, true);
	n = sp_sync_codec_encode(ca, SP_SYNC_BINDING, tcp->id, NOW_A, buf, sizeof(buf));
	cr_assert_gt(pn, 0);
	cr_assert_eq(n, pn + 1);
	cr_expect_eq(plain[0], SP_SYNC_CODEC_VERSION_TRANSPORT, "not outbound: version 2 as before");
	cr_expect_eq(buf[0], SP_SYNC_CODEC_VERSION_BINDING_FLAGS);
	cr_expect_eq(memcmp(buf + 1, plain + 1, (size_t)pn - 1), 0, "version 2's fields, then the flags");
	cr_expect_eq(buf[n - 1], SP_SYNC_BINDING_OUTBOUND);
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, tcp->id, buf, n), 0);
	y = sp_binding_find_id(b, tcp->id);
	cr_assert_not_null(y);
	cr_expect(y->outbound, "the receiver's binding is outbound");
	cr_assert_eq(apply(cb, SP_SYNC_BINDING, tcp->id, plain, pn), 0);
	cr_expect_not(sp_binding_find_id(b, tcp->id)->outbound, "an update without the flag clears it");
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = SP_SYNC_BINDING_OUTBOUND | 0x02;
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 998, bad, n), -EINVAL, "a flag no version knows");
	memcpy(bad, buf, (size_t)n);
	bad[n - 2] = SP_STORE_UDP;
	cr_expect_eq(apply(cb, SP_SYNC_BINDING, 999, bad, n), -EINVAL, "outbound on UDP");
	cr_expect_null(sp_binding_find_id(b, 998));
	cr_expect_null(sp_binding_find_id(b, 999));
	/* a UDP binding is never outbound, whatever its REGISTER said */
	sp_binding_set_outbound(binding(a, 1, "10.1.1.3", 5060, NOW_A), true);
	cr_expect_not(sp_binding_find_key(a, &(struct sp_binding_key){ .vpn = 1,
		.transport = SP_STORE_UDP, .terminal = fx_ep("10.1.1.3", 5060) })->outbound);
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

/* A call whose media a remote MP holds (issue 19 item 4): the MP's name and
 * the tags the MP knows the call by travel in a version 3 dialog record; a
 * dialog without one stays version 1 byte for byte; an update that drops
 * the MP clears it on the receiver; a peer or store knowing only version 1
 * refuses the record whole (here: a decoder shown the record as version 1
 * finds bytes left over), and a name too long is refused. */
Test(codec, media_proxy_of_a_dialog_carried)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	struct sp_dialog *plain = dialog(a, x, "plain", NOW_A);
	struct sp_dialog *d = dialog(a, x, "remote", NOW_A), *e;
	uint8_t buf[SP_SYNC_RECORD_MAX], pbuf[SP_SYNC_RECORD_MAX];
	struct sp_sync_dialog_rec rec;
	ssize_t n, pn;

	cr_assert_eq(sp_dialog_set_media_proxy(a, d, "mp-east", "ftag-1", "ttag-9"), 0);
	pn = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, plain->id, NOW_A, pbuf, sizeof(pbuf));
	n = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, buf, sizeof(buf));
	cr_assert_gt(pn, 0);
	cr_assert_gt(n, 0);
	cr_expect_eq(pbuf[0], SP_SYNC_CODEC_VERSION, "a dialog without an MP is unchanged");
	cr_expect_eq(buf[0], SP_SYNC_CODEC_VERSION_MEDIA_PROXY);
	copy_all(ca, cb);
	e = sp_dialog_find_id(b, d->id);
	cr_assert_not_null(e);
	cr_expect_str_eq(e->media_proxy, "mp-east");
	cr_expect_str_eq(e->mp_from_tag, "ftag-1");
	cr_expect_str_eq(e->mp_to_tag, "ttag-9");
	cr_expect_str_eq(sp_dialog_find_id(b, plain->id)->media_proxy, "");
	/* the MP failed the call: its media is the kernel's, the peer follows */
	cr_assert_eq(sp_dialog_set_media_proxy(a, d, "", NULL, NULL), 0);
	copy_all(ca, cb);
	cr_expect_str_eq(e->media_proxy, "");
	cr_expect_str_eq(e->mp_from_tag, "");
	/* an old reader: version 3 is not version 1 plus garbage */
	buf[0] = SP_SYNC_CODEC_VERSION;
	cr_expect_eq(sp_sync_decode_dialog(buf, (size_t)n, NOW_B, &rec), -EINVAL);
	buf[0] = SP_SYNC_CODEC_VERSION_TRANSPORT;
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 4242, buf, n), -EINVAL, "a binding's version");
	buf[0] = SP_SYNC_CODEC_VERSION_MEDIA_PROXY;
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 4242, buf, n - 1), -EINVAL, "truncated");
	cr_expect_null(sp_dialog_find_id(b, 4242));
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

/* One home for media (issue 16 item 3): a stream whose RTCP is elsewhere
 * than RTP + 1 or whose terminal is behind a NAT travels in a version 4
 * record with both RTCP addresses, the SDP's private address and what was
 * latched (and version 3's media proxy, if any); the other dialogs' records
 * stay version 1 (or 3) byte for byte, and a version 1 record still loads
 * (a store written before, a peer not yet upgraded) with RTCP on RTP + 1. */
Test(codec, stream_rtcp_and_nat_latch_carried)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_sync_codec *ca = sp_sync_codec_new(a), *cb = sp_sync_codec_new(b);
	struct sp_binding *x = binding(a, 1, "10.1.1.1", 5060, NOW_A);
	struct sp_dialog *d = dialog_with_media(a, x, "call-1"), *e;
	struct sp_media_stream ms[2];
	uint8_t buf[SP_SYNC_RECORD_MAX], v1[SP_SYNC_RECORD_MAX];
	ssize_t n, n1;

	/* version 1 while nothing needs more, RTCP implied on the receiver */
	n1 = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, v1, sizeof(v1));
	cr_assert_gt(n1, 0);
	cr_expect_eq(v1[0], SP_SYNC_CODEC_VERSION, "no NAT, RTCP on RTP + 1: version 1");
	copy_all(ca, cb);
	e = sp_dialog_find_id(b, d->id);
	cr_assert_not_null(e);
	cr_expect_neq(e->media[0].terminal_rtcp.family, 0);
	cr_expect_eq(e->media[0].terminal_rtcp.port, d->media[0].terminal.port + 1);
	cr_expect_eq(e->media[0].far_rtcp.port, d->media[0].far.port + 1);
	cr_expect_eq(e->media[0].nat, 0);

	/* stream 0: a terminal behind a NAT, both flows latched; stream 1: a=rtcp */
	memcpy(ms, d->media, sizeof(ms));
	ms[0].terminal = fx_ep("203.0.113.7", 31000);
	ms[0].terminal_rtcp = fx_ep("203.0.113.7", 31501);
	ms[0].terminal_sdp = fx_ep("192.168.77.10", 6000);
	ms[0].nat = SP_STREAM_NAT | SP_STREAM_LATCH | SP_STREAM_LATCHED_RTP | SP_STREAM_LATCHED_RTCP;
	ms[1].far_rtcp = fx_ep("2001:db8::99", 7101);
	cr_assert_eq(sp_dialog_set_media(a, d, ms, 2), 0);
	n = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, buf, sizeof(buf));
	cr_assert_gt(n, n1);
	cr_expect_eq(buf[0], SP_SYNC_CODEC_VERSION_MEDIA);
	cr_assert_eq(apply(cb, SP_SYNC_DIALOG, d->id, buf, n), 0);
	cr_expect_eq(sp_dialog_find_id(b, d->id), e, "updated in place");
	cr_assert_eq(e->n_media, 2);
	cr_expect(sp_endpoint_equal(&e->media[0].terminal, &ms[0].terminal));
	cr_expect(sp_endpoint_equal(&e->media[0].terminal_rtcp, &ms[0].terminal_rtcp));
	cr_expect(sp_endpoint_equal(&e->media[0].terminal_sdp, &ms[0].terminal_sdp));
	cr_expect_eq(e->media[0].nat, ms[0].nat);
	cr_expect(sp_endpoint_equal(&e->media[1].far_rtcp, &ms[1].far_rtcp));
	cr_expect_eq(e->media[1].nat, 0);

	/* the version 1 record of before still applies: RTCP back on RTP + 1 */
	cr_assert_eq(apply(cb, SP_SYNC_DIALOG, d->id, v1, n1), 0);
	cr_expect_eq(e->media[0].nat, 0);
	cr_expect_eq(e->media[0].terminal_rtcp.port, e->media[0].terminal.port + 1);

	/* truncated, or a latch flag no version knows: refused, nothing applied */
	for (ssize_t len = n1 + 1; len < n; len++)
		cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 555, buf, len), -EINVAL, "len %zd", len);
	buf[n - 1] = 0x10;	/* stream 1's nat flags */
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 555, buf, n), -EINVAL, "unknown flag");
	cr_expect_null(sp_dialog_find_id(b, 555));
	/* with a remote MP too: version 4 carries both */
	cr_assert_eq(sp_dialog_set_media_proxy(a, d, "mp-east", "ftag-1", "ttag-9"), 0);
	n = sp_sync_codec_encode(ca, SP_SYNC_DIALOG, d->id, NOW_A, buf, sizeof(buf));
	cr_expect_eq(buf[0], SP_SYNC_CODEC_VERSION_MEDIA);
	cr_assert_eq(apply(cb, SP_SYNC_DIALOG, d->id, buf, n), 0);
	cr_expect_str_eq(e->media_proxy, "mp-east");
	cr_expect_str_eq(e->mp_to_tag, "ttag-9");
	cr_expect_eq(e->media[0].nat, ms[0].nat);
	cr_expect(sp_endpoint_equal(&e->media[0].terminal_rtcp, &ms[0].terminal_rtcp));
	/* a version no decoder of today knows */
	buf[0] = SP_SYNC_CODEC_VERSION_MEDIA + 1;
	cr_expect_eq(apply(cb, SP_SYNC_DIALOG, 555, buf, n), -EINVAL, "version");
	sp_sync_codec_free(ca);
	sp_sync_codec_free(cb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}
