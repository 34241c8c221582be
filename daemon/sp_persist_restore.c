/*
 * The state store read back at start (see sp_persist.h): every binding and
 * dialog record through the sync codec, times moved back by the downtime,
 * quarantined ports held again, and whatever cannot come back deleted from
 * the store in the same transaction.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sp_log.h"
#include "sp_persist.h"
#include "sp_persist_int.h"
#include "sp_sync_codec.h"

static uint64_t back(uint64_t t, uint64_t by, uint64_t floor)
{
	return t > by + floor ? t - by : floor;
}

/* The codec restored times as if no time had passed: move them back by the
 * time the daemon was down. A registration never turns into "not
 * registered" (0): it is at least already past. */
static void shift_binding(struct sp_table *t, struct sp_binding *b, uint64_t by)
{
	sp_binding_restore_times(t, b, back(b->created_ms, by, 0), back(b->last_activity_ms, by, 0),
				 b->registration_expiry_ms ? back(b->registration_expiry_ms, by, 1) : 0);
}

static void shift_dialog(struct sp_table *t, struct sp_dialog *d, uint64_t by)
{
	uint64_t deadline = sp_dialog_deadline(t, d);
	struct sp_dialog_restore r = {
		.state = d->state,
		.invite_cseq = d->invite_cseq,
		.session_expires_s = d->session_expires_s,
		.created_ms = back(d->created_ms, by, 0),
		.updated_ms = back(d->updated_ms, by, 0),
		.deadline_ms = deadline == UINT64_MAX ? UINT64_MAX : back(deadline, by, 1),
	};

	sp_dialog_restore(t, d, &r);
}

struct pending_q {
	struct sp_endpoint c;
	uint64_t until_wall;
};

/* One restore's progress: what it counted, the ports of bindings it could
 * not restore that stay quarantined, the keys it deletes at the end. */
struct restore {
	struct sp_persist *p;
	uint64_t now_ms, wall_ms;
	struct sp_persist_restore_stats rs;
	struct pending_q *qs;
	size_t n_qs, cap_qs;
	uint8_t (*dels)[KEY_MAX + 1];	/* [0]: length */
	size_t n_dels, cap_dels;
};

/* -1: out of memory. Through a temporary: a failed realloc leaves the old
 * list, freed by the caller. */
static int restore_hold_port(struct restore *r, const struct rec_header *h)
{
	if (r->n_qs == r->cap_qs) {
		size_t cap = r->cap_qs ? r->cap_qs * 2 : 64;
		struct pending_q *grown = realloc(r->qs, cap * sizeof(*r->qs));

		if (!grown)
			return -1;
		r->qs = grown;
		r->cap_qs = cap;
	}
	r->qs[r->n_qs++] = (struct pending_q){ h->server_side, h->hold_until_wall_ms };
	return 0;
}

static int restore_delete_later(struct restore *r, const MDB_val *k)
{
	if (r->n_dels == r->cap_dels) {
		size_t cap = r->cap_dels ? r->cap_dels * 2 : 64;
		uint8_t (*grown)[KEY_MAX + 1] = realloc(r->dels, cap * sizeof(*r->dels));

		if (!grown)
			return -1;
		r->dels = grown;
		r->cap_dels = cap;
	}
	r->dels[r->n_dels][0] = (uint8_t)(k->mv_size > KEY_MAX ? KEY_MAX : k->mv_size);
	memcpy(r->dels[r->n_dels] + 1, k->mv_data, r->dels[r->n_dels][0]);
	r->n_dels++;
	return 0;
}

/* A binding or dialog record: 1 restored (kept), 0 not (deleted), -1 out
 * of memory. */
static int restore_object(struct restore *r, const uint8_t *kb, const MDB_val *v,
			  const struct rec_header *h, bool hdr_ok, uint64_t down)
{
	struct sp_persist *p = r->p;
	uint32_t id = (uint32_t)kb[1] << 24 | (uint32_t)kb[2] << 16 | (uint32_t)kb[3] << 8 | kb[4];
	bool binding = kb[0] == KEY_BINDING;
	int arc = -EINVAL;

	if (hdr_ok && h->kind == kb[0])
		arc = sp_sync_codec_apply(p->codec, binding ? SP_SYNC_BINDING : SP_SYNC_DIALOG,
					  id, (const uint8_t *)v->mv_data + HDR_LEN,
					  v->mv_size - HDR_LEN, r->now_ms);
	if (arc == 0 && binding) {
		shift_binding(p->t, sp_binding_find_id(p->t, id), down);
		r->rs.bindings++;
		return 1;
	}
	if (arc == 0) {
		shift_dialog(p->t, sp_dialog_find_id(p->t, id), down);
		r->rs.dialogs++;
		return 1;
	}
	if (binding && arc == -ERANGE) {
		/* no binding can take a c outside signaling-port-range (the
		 * allocator refuses it), so there is nothing to hold it from */
		sp_warn("persistence: binding %u not restored (%s): its port %u lies outside "
			"signaling-port-range: not held", id, sp_table_strerror(arc), h->server_side.port);
		r->rs.discarded++;
		return 0;
	}
	if (binding && hdr_ok && h->server_side.port && h->hold_until_wall_ms > r->wall_ms) {
		/* not restorable, but a registrar may still route there */
		if (restore_hold_port(r, h) < 0)
			return -1;
		sp_warn("persistence: binding %u not restored (%s): its port %u is quarantined for %llu s",
			id, arc == -EINVAL ? "unreadable record" : sp_table_strerror(arc),
			h->server_side.port,
			(unsigned long long)((h->hold_until_wall_ms - r->wall_ms + 999) / 1000));
		return 0;
	}
	if (!binding)
		/* a dialog of a later version (a downgrade), damaged, or of a
		 * binding that is not there: its call is lost, say why */
		sp_warn("persistence: dialog %u not restored (%s)", id,
			arc == -EINVAL ? "unreadable record, of a later version or damaged"
				       : sp_table_strerror(arc));
	r->rs.discarded++;
	return 0;
}

/* One record of the store: -1 out of memory. */
static int restore_record(struct restore *r, const MDB_val *k, const MDB_val *v)
{
	const uint8_t *kb = k->mv_data;
	struct rec_header h = { 0 };
	bool hdr_ok = sp_persist_get_header(v->mv_data, v->mv_size, &h) == 0;
	uint64_t down = hdr_ok && r->wall_ms > h.written_wall_ms ? r->wall_ms - h.written_wall_ms : 0;
	int keep = 0;

	if (hdr_ok && down > r->rs.downtime_ms)
		r->rs.downtime_ms = down;
	if (k->mv_size == KEY_ID_LEN && (kb[0] == KEY_BINDING || kb[0] == KEY_DIALOG)) {
		keep = restore_object(r, kb, v, &h, hdr_ok, down);
		if (keep < 0)
			return -1;
	} else if (kb[0] == KEY_QUARANTINE && hdr_ok && h.hold_until_wall_ms > r->wall_ms &&
		   sp_table_quarantine(r->p->t, &h.server_side,
				       r->now_ms + (h.hold_until_wall_ms - r->wall_ms)) == 0) {
		r->rs.quarantined++;
		keep = 1;
	} else {
		r->rs.discarded++;
	}
	return keep ? 0 : restore_delete_later(r, k);
}

/* What could not come back leaves the store; the ports of bindings that
 * could not are held as quarantine records instead. */
static void restore_clean(struct restore *r, MDB_txn *txn)
{
	struct sp_persist *p = r->p;

	for (size_t i = 0; i < r->n_dels; i++) {
		MDB_val dk = { r->dels[i][0], r->dels[i] + 1 };

		mdb_del(txn, p->dbi, &dk, NULL);
	}
	for (size_t i = 0; i < r->n_qs; i++) {
		uint8_t key[KEY_MAX], val[HDR_LEN];
		struct rec_header h = { SP_PERSIST_FORMAT, KEY_QUARANTINE, r->wall_ms,
					r->qs[i].until_wall, r->qs[i].c };
		MDB_val qk = { sp_persist_make_quarantine_key(key, &r->qs[i].c), key },
			qv = { HDR_LEN, val };

		/* a port another record restored is in use: nothing to hold */
		if (sp_table_quarantine(p->t, &r->qs[i].c,
					r->now_ms + (r->qs[i].until_wall - r->wall_ms)) < 0)
			continue;
		sp_persist_put_header(val, &h);
		mdb_put(txn, p->dbi, &qk, &qv, 0);
		r->rs.quarantined++;
	}
}

static int restore_records(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms,
			   char *err, size_t errlen)
{
	struct restore r = { .p = p, .now_ms = now_ms, .wall_ms = wall_ms };
	uint64_t t0 = sp_persist_mono_us();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn))) {
		snprintf(err, errlen, "state store %s: %s", p->dir, mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, p->dbi, &cur))) {
		mdb_txn_abort(txn);
		snprintf(err, errlen, "state store %s: %s", p->dir, mdb_strerror(rc));
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (restore_record(&r, &k, &v) < 0) {
			mdb_cursor_close(cur);
			mdb_txn_abort(txn);
			free(r.qs);
			free(r.dels);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	mdb_cursor_close(cur);
	restore_clean(&r, txn);
	if ((rc = mdb_txn_commit(txn)))
		sp_warn("persistence: cleaning the store: %s", mdb_strerror(rc));
	free(r.qs);
	free(r.dels);
	r.rs.elapsed_ms = (sp_persist_mono_us() - t0) / 1000;
	pthread_mutex_lock(&p->mu);
	p->st.restore = r.rs;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int sp_persist_restore(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms,
		       char *err, size_t errlen)
{
	int rc;

	p->restoring = true;
	rc = restore_records(p, now_ms, wall_ms, err, errlen);
	p->restoring = false;
	return rc;
}
