/*
 * The session store's dialogs (sp_table.h) and their media streams:
 * creation, lookups, state, streams and their media ports, deletion.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sp_table.h"
#include "sp_table_int.h"

static uint64_t hash_call_id(const struct sp_table *t, uint32_t vpn,
			     const char *call_id, size_t len)
{
	uint8_t key[sizeof(vpn) + SP_CALLID_MAX];

	memcpy(key, &vpn, sizeof(vpn));
	memcpy(key + sizeof(vpn), call_id, len);
	return sp_siphash(&t->hash_key, key, sizeof(vpn) + len);
}
static uint32_t alloc_dialog_id(struct sp_table *t)
{
	struct dialog_entry probe;

	for (;;) {
		probe.pub.id = t->next_dialog_id++;
		if (probe.pub.id == 0)
			continue;
		if (!RB_FIND(dialog_ids, &t->dialog_ids, &probe))
			return probe.pub.id;
	}
}
/* Dialogs */

static void release_media(struct sp_table *t, struct sp_dialog *d)
{
	if (!t->media_ports)
		return;
	for (unsigned i = 0; i < d->n_media; i++) {
		sp_portalloc_release(t->media_ports, d->media[i].terminal_side_port);
		sp_portalloc_release(t->media_ports, d->media[i].far_side_port);
	}
}

int sp_dialog_create(struct sp_table *t, const struct sp_dialog_params *p,
		     uint64_t now_ms, struct sp_dialog **out)
{
	struct dialog_entry *de;
	struct sp_dialog *d;
	int err;

	if (!p->binding || !p->call_id || p->call_id_len == 0 ||
	    p->state > SP_DIALOG_TERMINATED)
		return -EINVAL;
	if (p->call_id_len >= SP_CALLID_MAX)
		return -ENAMETOOLONG;
	if (t->cfg.session_limit && t->ctr.dialogs_current >= t->cfg.session_limit) {
		t->ctr.session_limit_hits++;
		return -SP_TABLE_ELIMIT;
	}
	if (sp_dialog_find(t, p->binding->vpn, p->call_id, p->call_id_len, p->binding))
		return -EEXIST;
	if (p->id && sp_dialog_find_id(t, p->id))
		return -EEXIST;

	de = calloc(1, sizeof(*de));
	if (!de)
		return -ENOMEM;
	de->table = t;
	d = &de->pub;
	if ((err = copy_bounded(d->from_tag, sizeof(d->from_tag), p->from_tag)) ||
	    (err = copy_bounded(d->to_tag, sizeof(d->to_tag), p->to_tag))) {
		free(de);
		return err;
	}
	memcpy(d->call_id, p->call_id, p->call_id_len);
	d->call_id[p->call_id_len] = '\0';
	d->call_id_len = (uint16_t)p->call_id_len;
	d->id = p->id ? p->id : alloc_dialog_id(t);
	d->vpn = p->binding->vpn;
	d->binding = p->binding;
	d->state = p->state;
	d->invite_cseq = p->invite_cseq;
	d->created_ms = now_ms;
	d->updated_ms = now_ms;

	sp_htab_insert(&t->dialogs_by_call_id, &de->by_call_id,
		       hash_call_id(t, d->vpn, d->call_id, d->call_id_len));
	RB_INSERT(dialog_ids, &t->dialog_ids, de);
	de->timer.kind = TIMER_DIALOG;
	dialog_rearm(t, de, now_ms);
	if (d->binding->dialog_refs++ == 0)
		binding_rearm(t, binding_entry_of(d->binding));
	t->ctr.dialogs_current++;
	t->ctr.dialogs_created++;
	*out = d;
	announce(t, SP_STORE_DIALOG, SP_STORE_INSERT, d->id);
	return 0;
}

struct sp_dialog *sp_dialog_find(const struct sp_table *t, uint32_t vpn,
				 const char *call_id, size_t call_id_len,
				 const struct sp_binding *binding)
{
	uint64_t h;

	if (call_id_len == 0 || call_id_len >= SP_CALLID_MAX)
		return NULL;
	h = hash_call_id(t, vpn, call_id, call_id_len);
	for (struct sp_hnode *n = sp_htab_chain(&t->dialogs_by_call_id, h); n; n = n->next) {
		struct dialog_entry *de = container_of(n, struct dialog_entry, by_call_id);
		struct sp_dialog *d = &de->pub;

		/* Call-IDs compare byte for byte (RFC 3261 §20.8). */
		if (n->hash == h && d->vpn == vpn && d->call_id_len == call_id_len &&
		    memcmp(d->call_id, call_id, call_id_len) == 0 &&
		    (!binding || d->binding == binding))
			return d;
	}
	return NULL;
}

struct sp_dialog *sp_dialog_find_id(const struct sp_table *t, uint32_t id)
{
	struct dialog_entry probe, *de;

	probe.pub.id = id;
	de = RB_FIND(dialog_ids, (struct dialog_ids *)&t->dialog_ids, &probe);
	return de ? &de->pub : NULL;
}

struct sp_dialog *sp_dialog_first(const struct sp_table *t)
{
	struct dialog_entry *de = RB_MIN(dialog_ids, (struct dialog_ids *)&t->dialog_ids);

	return de ? &de->pub : NULL;
}

struct sp_dialog *sp_dialog_next(const struct sp_table *t, const struct sp_dialog *d)
{
	struct dialog_entry *de;

	(void)t;
	de = RB_NEXT(dialog_ids, &t->dialog_ids, dialog_entry_of(d));
	return de ? &de->pub : NULL;
}

struct sp_dialog *sp_dialog_get_next(const struct sp_table *t, uint32_t id)
{
	struct dialog_entry probe, *de;

	if (id == UINT32_MAX)
		return NULL;
	probe.pub.id = id + 1;
	de = RB_NFIND(dialog_ids, (struct dialog_ids *)&t->dialog_ids, &probe);
	return de ? &de->pub : NULL;
}

/* Unlink and free; the binding loses a reference and may start aging. */
void free_dialog(struct sp_table *t, struct dialog_entry *de)
{
	struct sp_binding *b = de->pub.binding;

	timer_disarm(t, &de->timer);
	sp_htab_remove(&t->dialogs_by_call_id, &de->by_call_id);
	RB_REMOVE(dialog_ids, &t->dialog_ids, de);
	release_media(t, &de->pub);
	t->ctr.dialogs_current--;
	free(de);
	if (--b->dialog_refs == 0)
		binding_rearm(t, binding_entry_of(b));
}

void sp_dialog_delete(struct sp_table *t, struct sp_dialog *d)
{
	uint32_t id = d->id;

	free_dialog(t, dialog_entry_of(d));
	t->ctr.dialogs_deleted++;
	announce(t, SP_STORE_DIALOG, SP_STORE_DELETE, id);
}

int sp_dialog_set_state(struct sp_table *t, struct sp_dialog *d,
			enum sp_dialog_state state, uint64_t now_ms)
{
	if (state < d->state || state > SP_DIALOG_TERMINATED)
		return -EINVAL;
	d->state = state;
	d->updated_ms = now_ms;
	dialog_rearm(t, dialog_entry_of(d), now_ms);
	dialog_changed(t, d);
	return 0;
}

static void dialog_touch(struct sp_table *t, struct sp_dialog *d, uint64_t now_ms)
{
	d->updated_ms = now_ms;
	/* Retransmitted BYEs must not keep a terminating dialog alive. */
	if (d->state == SP_DIALOG_EARLY || d->state == SP_DIALOG_CONFIRMED)
		dialog_rearm(t, dialog_entry_of(d), now_ms);
}

void sp_dialog_touch(struct sp_table *t, struct sp_dialog *d, uint64_t now_ms)
{
	dialog_touch(t, d, now_ms);
	dialog_changed(t, d);
}

void sp_dialog_set_session_expires(struct sp_table *t, struct sp_dialog *d,
				   uint32_t seconds, uint64_t now_ms)
{
	d->session_expires_s = seconds;
	dialog_touch(t, d, now_ms);
	dialog_changed(t, d);
}

int sp_dialog_set_to_tag(struct sp_dialog *d, const char *tag)
{
	int err;

	if (strcmp(d->to_tag, tag ? tag : "") == 0)
		return 0;
	if ((err = copy_bounded(d->to_tag, sizeof(d->to_tag), tag)))
		return err;
	dialog_changed(dialog_entry_of(d)->table, d);
	return 0;
}

int sp_dialog_set_media_proxy(struct sp_table *t, struct sp_dialog *d, const char *name,
			      const char *from_tag, const char *to_tag)
{
	char n[sizeof(d->media_proxy)], f[sizeof(d->mp_from_tag)], to[sizeof(d->mp_to_tag)];
	bool none = !name || !name[0];

	if (copy_bounded(n, sizeof(n), none ? "" : name) ||
	    copy_bounded(f, sizeof(f), none || !from_tag ? "" : from_tag) ||
	    copy_bounded(to, sizeof(to), none || !to_tag ? "" : to_tag))
		return -ENAMETOOLONG;
	if (strcmp(n, d->media_proxy) == 0 && strcmp(f, d->mp_from_tag) == 0 &&
	    strcmp(to, d->mp_to_tag) == 0)
		return 0;
	memcpy(d->media_proxy, n, sizeof(n));
	memcpy(d->mp_from_tag, f, sizeof(f));
	memcpy(d->mp_to_tag, to, sizeof(to));
	dialog_changed(t, d);
	return 0;
}

int sp_dialog_add_media(struct sp_table *t, struct sp_dialog *d,
			const struct sp_endpoint *terminal, const struct sp_endpoint *far,
			struct sp_media_stream **out)
{
	struct sp_media_stream *ms;
	uint16_t tport = 0, fport = 0;
	int err;

	if (d->n_media == SP_DIALOG_MAX_MEDIA)
		return -E2BIG;
	ms = &d->media[d->n_media];
	memset(ms, 0, sizeof(*ms));
	if ((err = normalize_endpoint(&ms->terminal, terminal, false)) ||
	    (err = normalize_endpoint(&ms->far, far, false)))
		return err;
	if (t->media_ports) {
		if (sp_portalloc_alloc(t->media_ports, &tport)) {
			t->ctr.media_ports_exhausted++;
			return -ENOSPC;
		}
		if (sp_portalloc_alloc(t->media_ports, &fport)) {
			sp_portalloc_release(t->media_ports, tport);
			t->ctr.media_ports_exhausted++;
			return -ENOSPC;
		}
	}
	ms->terminal_side_port = tport;
	ms->far_side_port = fport;
	d->n_media++;
	*out = ms;
	dialog_changed(t, d);
	return 0;
}

void sp_dialog_clear_media(struct sp_table *t, struct sp_dialog *d)
{
	if (!d->n_media)
		return;
	release_media(t, d);
	memset(d->media, 0, sizeof(d->media));
	d->n_media = 0;
	dialog_changed(t, d);
}

const char *sp_dialog_state_name(enum sp_dialog_state state)
{
	switch (state) {
	case SP_DIALOG_EARLY:
		return "early";
	case SP_DIALOG_CONFIRMED:
		return "confirmed";
	case SP_DIALOG_TERMINATING:
		return "terminating";
	case SP_DIALOG_TERMINATED:
		return "terminated";
	}
	return "unknown";
}
int sp_dialog_restore(struct sp_table *t, struct sp_dialog *d, const struct sp_dialog_restore *r)
{
	struct dialog_entry *de = dialog_entry_of(d);

	if (r->state > SP_DIALOG_TERMINATED)
		return -EINVAL;
	d->state = r->state;
	d->invite_cseq = r->invite_cseq;
	d->session_expires_s = r->session_expires_s;
	d->created_ms = r->created_ms;
	d->updated_ms = r->updated_ms;
	timer_arm(t, &de->timer, r->deadline_ms);
	dialog_changed(t, d);
	return 0;
}

uint64_t sp_dialog_deadline(const struct sp_table *t, const struct sp_dialog *d)
{
	const struct dialog_entry *de = dialog_entry_of(d);

	(void)t;
	return de->timer.armed ? de->timer.deadline_ms : UINT64_MAX;
}

/* ---- media ports (sp_table.h: one allocator, the store's) ---- */

static bool media_taken(const struct sp_table *t, uint16_t port)
{
	return t->media_taken[port / 64] & (UINT64_C(1) << (port % 64));
}

int sp_table_set_media_range(struct sp_table *t, uint16_t first, uint16_t last)
{
	struct sp_portalloc *pa = NULL;

	if (first == t->cfg.media_port_first && last == t->cfg.media_port_last)
		return 0;
	if (t->media_ports && sp_portalloc_used(t->media_ports))
		return -EBUSY;
	if ((first || last) && !(pa = sp_portalloc_create(first, last, 2)))
		return -errno;
	sp_portalloc_destroy(t->media_ports);
	t->media_ports = pa;
	t->cfg.media_port_first = first;
	t->cfg.media_port_last = last;
	memset(t->media_taken, 0, sizeof(t->media_taken));
	/* streams restored before the range came: their ports are used */
	for (struct sp_dialog *d = sp_dialog_first(t); pa && d; d = sp_dialog_next(t, d))
		for (unsigned i = 0; i < d->n_media; i++) {
			sp_portalloc_take(pa, d->media[i].terminal_side_port);
			sp_portalloc_take(pa, d->media[i].far_side_port);
		}
	return 0;
}

unsigned sp_table_media_used(const struct sp_table *t)
{
	return t->media_ports ? sp_portalloc_used(t->media_ports) : 0;
}

bool sp_table_media_in_range(const struct sp_table *t, uint16_t port)
{
	return t->media_ports && sp_portalloc_owns(t->media_ports, port);
}

int sp_table_media_take(struct sp_table *t, uint16_t *port)
{
	if (!t->media_ports)
		return -ERANGE;
	if (sp_portalloc_alloc(t->media_ports, port) < 0) {
		t->ctr.media_ports_exhausted++;
		return -ENOSPC;
	}
	t->media_taken[*port / 64] |= UINT64_C(1) << (*port % 64);
	return 0;
}

void sp_table_media_release(struct sp_table *t, uint16_t port)
{
	if (!t->media_ports || !media_taken(t, port))
		return;	/* a dialog holds it: it goes with the dialog's streams */
	t->media_taken[port / 64] &= ~(UINT64_C(1) << (port % 64));
	sp_portalloc_release(t->media_ports, port);
}

/* Is port one this dialog's streams hold now? */
static bool dialog_holds_port(const struct sp_dialog *d, uint16_t port)
{
	for (unsigned i = 0; i < d->n_media; i++)
		if (d->media[i].terminal_side_port == port || d->media[i].far_side_port == port)
			return true;
	return false;
}

/* The ports of streams next[0..n) (0: a stream without ports) become d's
 * in the allocator: checked first, then d's old ones released and the new
 * ones taken or adopted from the message in progress. */
static int move_media_ports(struct sp_table *t, struct sp_dialog *d,
			    const struct sp_media_stream *next, unsigned n)
{
	for (unsigned i = 0; i < 2 * n; i++) {
		uint16_t port = i % 2 ? next[i / 2].far_side_port : next[i / 2].terminal_side_port;

		if (!port)
			continue;
		if (!sp_portalloc_owns(t->media_ports, port))
			return -ERANGE;
		for (unsigned j = 0; j < i; j++)
			if (port == (j % 2 ? next[j / 2].far_side_port : next[j / 2].terminal_side_port))
				return -EINVAL;
		if (sp_portalloc_in_use(t->media_ports, port) && !dialog_holds_port(d, port) &&
		    !media_taken(t, port))
			return -EADDRINUSE;
	}
	release_media(t, d);
	for (unsigned i = 0; i < 2 * n; i++) {
		uint16_t port = i % 2 ? next[i / 2].far_side_port : next[i / 2].terminal_side_port;

		if (media_taken(t, port))	/* the message's: the dialog's now */
			t->media_taken[port / 64] &= ~(UINT64_C(1) << (port % 64));
		else if (port)
			sp_portalloc_take(t->media_ports, port);
	}
	return 0;
}

int sp_dialog_set_media(struct sp_table *t, struct sp_dialog *d,
			const struct sp_media_stream *ms, unsigned n)
{
	struct sp_media_stream next[SP_DIALOG_MAX_MEDIA];
	int err;

	if (n > SP_DIALOG_MAX_MEDIA)
		return -E2BIG;
	memset(next, 0, sizeof(next));
	for (unsigned i = 0; i < n; i++) {
		if ((err = normalize_endpoint(&next[i].terminal, &ms[i].terminal, false)) ||
		    (err = normalize_endpoint(&next[i].far, &ms[i].far, false)) ||
		    (err = normalize_endpoint(&next[i].terminal_rtcp, &ms[i].terminal_rtcp, false)) ||
		    (err = normalize_endpoint(&next[i].far_rtcp, &ms[i].far_rtcp, false)) ||
		    (err = normalize_endpoint(&next[i].terminal_sdp, &ms[i].terminal_sdp, false)))
			return err;
		if (ms[i].nat & ~SP_STREAM_NAT_ALL)
			return -EINVAL;
		next[i].terminal_side_port = ms[i].terminal_side_port;
		next[i].far_side_port = ms[i].far_side_port;
		next[i].nat = ms[i].nat;
		next[i].engine_flags = ms[i].engine_flags;
	}
	if (t->media_ports && (err = move_media_ports(t, d, next, n)))
		return err;
	if (n == d->n_media && memcmp(d->media, next, sizeof(next)) == 0)
		return 0; /* the streams it holds: no change */
	memcpy(d->media, next, sizeof(next));
	d->n_media = n;
	dialog_changed(t, d);
	return 0;
}
