/*
 * State-sync records applied to a table (sp_sync_codec.h): the codec
 * object, the sender's encode and next id, the receiver's apply (create,
 * update in place, delete, stale objects in the way) and the resync sweep,
 * and the ready-made callbacks for sp_sync. The records themselves:
 * sp_sync_codec.c.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sp_loop.h"
#include "sp_sync_codec.h"

struct id_set {
	uint32_t *ids;
	size_t n, cap;
};

struct sp_sync_codec {
	struct sp_table *t;
	bool sweeping;
	bool sweep_broken;	/* out of memory: do not delete on a partial list */
	struct id_set seen[SP_SYNC_KINDS + 1];
	struct sp_sync_codec_counters ctr;
};

struct sp_sync_codec *sp_sync_codec_new(struct sp_table *t)
{
	struct sp_sync_codec *c = calloc(1, sizeof(*c));

	if (c)
		c->t = t;
	return c;
}

void sp_sync_codec_free(struct sp_sync_codec *c)
{
	if (!c)
		return;
	for (unsigned k = 0; k <= SP_SYNC_KINDS; k++)
		free(c->seen[k].ids);
	free(c);
}

const struct sp_sync_codec_counters *sp_sync_codec_counters(const struct sp_sync_codec *c)
{
	return &c->ctr;
}

ssize_t sp_sync_codec_encode(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			     uint64_t now_ms, uint8_t *buf, size_t cap)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_find_id(c->t, id);

		return b ? sp_sync_encode_binding(b, now_ms, buf, cap) : 0;
	}
	if (kind == SP_SYNC_DIALOG) {
		struct sp_dialog *d = sp_dialog_find_id(c->t, id);

		return d ? sp_sync_encode_dialog(c->t, d, now_ms, buf, cap) : 0;
	}
	return -EINVAL;
}

uint32_t sp_sync_codec_next_id(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t after)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_get_next(c->t, after);

		return b ? b->id : 0;
	}
	if (kind == SP_SYNC_DIALOG) {
		struct sp_dialog *d = sp_dialog_get_next(c->t, after);

		return d ? d->id : 0;
	}
	return 0;
}

static void remember(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id)
{
	struct id_set *s = &c->seen[kind];

	if (!c->sweeping || c->sweep_broken)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint32_t *ids = realloc(s->ids, cap * sizeof(*ids));

		if (!ids) {
			c->sweep_broken = true;
			return;
		}
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
}

/* A binding and, first, its dialogs. */
static void delete_binding_all(struct sp_table *t, struct sp_binding *b)
{
	/* No per-binding dialog list in the table: walk only when there are some
	 * (the sender deletes dialogs before their binding, so rarely). */
	for (struct sp_dialog *d = sp_dialog_first(t), *next; d && b->dialog_refs; d = next) {
		next = sp_dialog_next(t, d);
		if (d->binding == b)
			sp_dialog_delete(t, d);
	}
	sp_binding_delete(t, b);
}

static int apply_binding(struct sp_sync_codec *c, uint32_t id, const struct sp_sync_binding_rec *r)
{
	struct sp_table *t = c->t;
	struct sp_binding *b = sp_binding_find_id(t, id), *other;
	int err;

	/* vpn and transport are keys no rekey changes */
	if (b && (b->vpn != r->vpn || b->transport != r->transport)) {
		delete_binding_all(t, b);
		c->ctr.stale_removed++;
		b = NULL;
	}
	other = sp_binding_find_key(t, &(struct sp_binding_key){ .vpn = r->vpn,
		.transport = r->transport, .terminal = r->terminal });
	if (other && other != b) {
		delete_binding_all(t, other);
		c->ctr.stale_removed++;
	}
	/* a C:c is one binding's whatever the transport (one port pool) */
	for (uint8_t tr = SP_STORE_UDP; tr <= SP_STORE_TLS; tr++) {
		other = sp_binding_find_server_side_on(t, tr, &r->server_side);
		if (other && other != b) {
			delete_binding_all(t, other);
			c->ctr.stale_removed++;
		}
	}
	if (b) {
		err = sp_binding_rekey(t, b, &r->terminal, &r->server_side);
		if (err)
			return err;
		/* Lengths were checked by the decoder: these cannot fail. */
		sp_binding_set_via_sent_by(b, r->via_sent_by);
		sp_binding_set_contact(b, r->contact);
	} else {
		struct sp_binding_params p = {
			.id = id,
			.vpn = r->vpn,
			.transport = r->transport,
			.terminal = r->terminal,
			.virtual_server = r->virtual_server,
			.server_side = r->server_side,
			.server = r->server,
			.strategy_id = r->strategy_id,
			.via_sent_by = r->via_sent_by,
			.contact = r->contact,
		};

		err = sp_binding_create(t, &p, r->last_activity_ms, &b);
		if (err)
			return err;
	}
	sp_binding_set_route(t, b, &(struct sp_binding_route){ .virtual_server = r->virtual_server,
		.server = r->server, .strategy_id = r->strategy_id, .origin_mark = r->origin_mark });
	sp_binding_set_return_path(b, &r->return_path);
	sp_binding_set_outbound(b, r->outbound);
	sp_binding_restore_times(t, b, r->created_ms, r->last_activity_ms, r->registration_expiry_ms);
	c->ctr.bindings_applied++;
	return 0;
}

static bool same_dialog(const struct sp_dialog *d, const struct sp_binding *b,
			const struct sp_sync_dialog_rec *r)
{
	return d->binding == b && d->call_id_len == r->call_id_len &&
	       memcmp(d->call_id, r->call_id, r->call_id_len) == 0 &&
	       strcmp(d->from_tag, r->from_tag) == 0;
}

/*
 * The record's streams on d, their media ports the store's (one
 * allocator). A port outside this node's media-port-range (configured
 * otherwise than the sender's) cannot be served here: d keeps its other
 * fields and no streams, as a node with no range at all stores them as
 * given. A port another dialog holds refuses the record (-EADDRINUSE).
 */
static int set_media_in_range(struct sp_table *t, struct sp_dialog *d,
			      const struct sp_sync_dialog_rec *r)
{
	int err = sp_dialog_set_media(t, d, r->media, r->n_media);

	return err == -ERANGE ? sp_dialog_set_media(t, d, NULL, 0) : err;
}

static int apply_dialog(struct sp_sync_codec *c, uint32_t id, struct sp_sync_dialog_rec *r)
{
	struct sp_table *t = c->t;
	struct sp_binding *b = sp_binding_find_id(t, r->binding_id);
	struct sp_dialog *d, *other;
	int err;

	if (!b)
		return -ENOENT;
	d = sp_dialog_find_id(t, id);
	if (d && !same_dialog(d, b, r)) {
		sp_dialog_delete(t, d);
		c->ctr.stale_removed++;
		d = NULL;
	}
	other = sp_dialog_find(t, b->vpn, r->call_id, r->call_id_len, b);
	if (other && other != d) {
		sp_dialog_delete(t, other);
		c->ctr.stale_removed++;
	}
	if (d) {
		/* Kernel state this side installed for an unchanged stream stays
		 * described as installed. */
		for (unsigned i = 0; i < r->n_media && i < d->n_media; i++) {
			const struct sp_media_stream *o = &d->media[i];
			struct sp_media_stream *n = &r->media[i];

			if (sp_endpoint_equal(&o->terminal, &n->terminal) &&
			    sp_endpoint_equal(&o->far, &n->far) &&
			    sp_endpoint_equal(&o->terminal_rtcp, &n->terminal_rtcp) &&
			    sp_endpoint_equal(&o->far_rtcp, &n->far_rtcp) &&
			    sp_endpoint_equal(&o->terminal_sdp, &n->terminal_sdp) &&
			    o->nat == n->nat &&
			    o->terminal_side_port == n->terminal_side_port &&
			    o->far_side_port == n->far_side_port)
				n->engine_flags = o->engine_flags;
		}
		err = set_media_in_range(t, d, r);
		if (err)
			return err;
		sp_dialog_set_to_tag(d, r->to_tag);
	} else {
		struct sp_dialog_params p = {
			.id = id,
			.binding = b,
			.call_id = r->call_id,
			.call_id_len = r->call_id_len,
			.from_tag = r->from_tag,
			.to_tag = r->to_tag,
			.invite_cseq = r->st.invite_cseq,
			.state = r->st.state,
		};

		err = sp_dialog_create(t, &p, r->st.updated_ms, &d);
		if (err)
			return err;
		err = set_media_in_range(t, d, r);
		if (err) {
			sp_dialog_delete(t, d);
			return err;
		}
	}
	/* lengths checked by the decoder: cannot fail */
	sp_dialog_set_media_proxy(t, d, r->media_proxy, r->mp_from_tag, r->mp_to_tag);
	sp_dialog_restore(t, d, &r->st);
	c->ctr.dialogs_applied++;
	return 0;
}

static int apply_delete(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_find_id(c->t, id);

		if (b) {
			delete_binding_all(c->t, b);
			c->ctr.deleted++;
		}
	} else {
		struct sp_dialog *d = sp_dialog_find_id(c->t, id);

		if (d) {
			sp_dialog_delete(c->t, d);
			c->ctr.deleted++;
		}
	}
	return 0;
}

int sp_sync_codec_apply(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			const uint8_t *data, size_t len, uint64_t now_ms)
{
	int err;

	if (id == 0 || (kind != SP_SYNC_BINDING && kind != SP_SYNC_DIALOG))
		return -EINVAL;
	if (len == 0)
		return apply_delete(c, kind, id);
	if (kind == SP_SYNC_BINDING) {
		struct sp_sync_binding_rec r;

		err = sp_sync_decode_binding(data, len, now_ms, &r);
		if (!err)
			err = apply_binding(c, id, &r);
	} else {
		/* The largest record struct: off the stack's hot path is not
		 * needed, it is a few hundred bytes. */
		struct sp_sync_dialog_rec r;

		err = sp_sync_decode_dialog(data, len, now_ms, &r);
		if (!err)
			err = apply_dialog(c, id, &r);
	}
	if (!err)
		remember(c, kind, id);
	return err;
}

void sp_sync_codec_resync_begin(struct sp_sync_codec *c)
{
	for (unsigned k = 0; k <= SP_SYNC_KINDS; k++)
		c->seen[k].n = 0;
	c->sweeping = true;
	c->sweep_broken = false;
}

static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool seen(const struct id_set *s, uint32_t id)
{
	return s->n && bsearch(&id, s->ids, s->n, sizeof(*s->ids), id_cmp) != NULL;
}

unsigned sp_sync_codec_resync_end(struct sp_sync_codec *c)
{
	struct id_set *sb = &c->seen[SP_SYNC_BINDING], *sd = &c->seen[SP_SYNC_DIALOG];
	unsigned removed = 0;

	if (!c->sweeping)
		return 0;
	c->sweeping = false;
	if (c->sweep_broken)
		return 0;
	if (sb->n)
		qsort(sb->ids, sb->n, sizeof(*sb->ids), id_cmp);
	if (sd->n)
		qsort(sd->ids, sd->n, sizeof(*sd->ids), id_cmp);
	for (struct sp_dialog *d = sp_dialog_first(c->t), *next; d; d = next) {
		next = sp_dialog_next(c->t, d);
		if (!seen(sd, d->id)) {
			sp_dialog_delete(c->t, d);
			removed++;
		}
	}
	for (struct sp_binding *b = sp_binding_first(c->t), *next; b; b = next) {
		next = sp_binding_next(c->t, b);
		if (!seen(sb, b->id)) {
			removed += 1 + b->dialog_refs;
			delete_binding_all(c->t, b);
		}
	}
	c->ctr.swept += removed;
	return removed;
}

/* Ready-made callbacks for sp_sync */

static ssize_t cb_encode(void *arg, enum sp_sync_kind kind, uint32_t id, uint8_t *buf, size_t cap)
{
	return sp_sync_codec_encode(arg, kind, id, sp_loop_now_ms(), buf, cap);
}

static uint32_t cb_next_id(void *arg, enum sp_sync_kind kind, uint32_t after)
{
	return sp_sync_codec_next_id(arg, kind, after);
}

static int cb_apply(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data, size_t len)
{
	return sp_sync_codec_apply(arg, kind, id, data, len, sp_loop_now_ms());
}

static void cb_resync_begin(void *arg)
{
	sp_sync_codec_resync_begin(arg);
}

static void cb_resync_end(void *arg)
{
	sp_sync_codec_resync_end(arg);
}

void sp_sync_codec_callbacks(struct sp_sync_codec *c, struct sp_sync_callbacks *cb)
{
	cb->encode = cb_encode;
	cb->next_id = cb_next_id;
	cb->apply = cb_apply;
	cb->resync_begin = cb_resync_begin;
	cb->resync_end = cb_resync_end;
	cb->arg = c;
}
