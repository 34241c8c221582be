/*
 * The session store: the table, its change hook, timers, aging and the
 * quarantine of server-side ports (bindings in sp_table_binding.c, dialogs
 * and their media streams in sp_table_dialog.c; the layout of the objects
 * and indexes in sp_table_int.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sp_log.h"
#include "sp_table.h"
#include "sp_table_int.h"

static int timer_cmp(const struct table_timer *a, const struct table_timer *b)
{
	if (a->deadline_ms != b->deadline_ms)
		return a->deadline_ms < b->deadline_ms ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int binding_id_cmp(const struct binding_entry *a, const struct binding_entry *b)
{
	return a->pub.id < b->pub.id ? -1 : a->pub.id > b->pub.id;
}

static int dialog_id_cmp(const struct dialog_entry *a, const struct dialog_entry *b)
{
	return a->pub.id < b->pub.id ? -1 : a->pub.id > b->pub.id;
}

/* The trees' functions, once for the table's files (sp_table_int.h). */
RB_GENERATE_INTERNAL(timer_tree, table_timer, node, timer_cmp, )
RB_GENERATE_INTERNAL(binding_ids, binding_entry, by_id, binding_id_cmp, )
RB_GENERATE_INTERNAL(dialog_ids, dialog_entry, by_id, dialog_id_cmp, )
/* The change hook */

int sp_table_watch(struct sp_table *t, sp_store_watch_fn fn, void *arg)
{
	if (t->n_watchers == SP_TABLE_WATCHERS_MAX)
		return -ENOSPC;
	t->watchers[t->n_watchers].fn = fn;
	t->watchers[t->n_watchers].arg = arg;
	t->n_watchers++;
	return 0;
}

void sp_table_unwatch(struct sp_table *t, sp_store_watch_fn fn, void *arg)
{
	for (unsigned i = 0; t && i < t->n_watchers; i++) {
		if (t->watchers[i].fn != fn || t->watchers[i].arg != arg)
			continue;
		memmove(&t->watchers[i], &t->watchers[i + 1],
			(t->n_watchers - i - 1) * sizeof(t->watchers[0]));
		t->n_watchers--;
		return;
	}
}

/* Every mutator ends here: the one place a change is announced. */
void announce(const struct sp_table *t, enum sp_store_kind kind, enum sp_store_op op,
		     uint32_t id)
{
	const struct sp_store_change c = { kind, op, id };

	for (unsigned i = 0; i < t->n_watchers; i++)
		t->watchers[i].fn(t->watchers[i].arg, &c);
}

void binding_changed(const struct sp_table *t, const struct sp_binding *b)
{
	announce(t, SP_STORE_BINDING, SP_STORE_UPDATE, b->id);
}

void dialog_changed(const struct sp_table *t, const struct sp_dialog *d)
{
	announce(t, SP_STORE_DIALOG, SP_STORE_UPDATE, d->id);
}

/* Timers */

void timer_disarm(struct sp_table *t, struct table_timer *tm)
{
	if (!tm->armed)
		return;
	RB_REMOVE(timer_tree, &t->timers, tm);
	tm->armed = false;
}

void timer_arm(struct sp_table *t, struct table_timer *tm, uint64_t deadline_ms)
{
	timer_disarm(t, tm);
	tm->deadline_ms = deadline_ms;
	tm->seq = ++t->timer_seq;
	RB_INSERT(timer_tree, &t->timers, tm);
	tm->armed = true;
}

uint64_t add_ms(uint64_t base, uint64_t ms)
{
	return base > UINT64_MAX - ms ? UINT64_MAX : base + ms;
}

/* Bindings live until both the registration (plus grace) and idle time end. */
uint64_t binding_deadline(const struct sp_table *t, const struct sp_binding *b)
{
	uint64_t idle = add_ms(b->last_activity_ms, t->cfg.binding_idle_ms);
	uint64_t reg = 0;

	if (b->deregistered)
		return 0; /* due now */
	if (b->registration_expiry_ms)
		reg = add_ms(b->registration_expiry_ms, t->cfg.binding_grace_ms);
	return reg > idle ? reg : idle;
}

/* A binding that dialogs use does not age; the last dialog re-arms it. */
void binding_rearm(struct sp_table *t, struct binding_entry *be)
{
	if (be->pub.dialog_refs > 0)
		timer_disarm(t, &be->timer);
	else
		timer_arm(t, &be->timer, binding_deadline(t, &be->pub));
}

static uint64_t dialog_timeout_ms(const struct sp_table *t, const struct sp_dialog *d)
{
	switch (d->state) {
	case SP_DIALOG_EARLY:
		return t->cfg.early_timeout_ms;
	case SP_DIALOG_CONFIRMED:
		if (d->session_expires_s)
			return (uint64_t)d->session_expires_s * 1000 + t->cfg.session_timer_grace_ms;
		return t->cfg.confirmed_idle_ms;
	case SP_DIALOG_TERMINATING:
		return t->cfg.terminating_timeout_ms;
	case SP_DIALOG_TERMINATED:
		break;
	}
	return 0;
}

void dialog_rearm(struct sp_table *t, struct dialog_entry *de, uint64_t now_ms)
{
	timer_arm(t, &de->timer, add_ms(now_ms, dialog_timeout_ms(t, &de->pub)));
}
/* Table */

void sp_table_config_default(struct sp_table_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sig_port_first = 20000;
	cfg->sig_port_last = 29999;
	cfg->media_port_first = 30000;
	cfg->media_port_last = 39999;
	cfg->session_limit = 0;
	cfg->binding_grace_ms = 32 * 1000;
	cfg->binding_idle_ms = 300 * 1000;
	cfg->early_timeout_ms = 180 * 1000;
	/* Without a session timer a long call sends nothing; do not cut it early. */
	cfg->confirmed_idle_ms = 12 * 3600 * 1000;
	cfg->session_timer_grace_ms = 32 * 1000;
	cfg->terminating_timeout_ms = 32 * 1000;
	cfg->initial_buckets = 1024;
}

struct sp_table *sp_table_create(const struct sp_table_config *cfg,
				 const struct sp_table_callbacks *cb)
{
	struct sp_table *t;
	struct sp_portalloc *probe;

	/* Validate the signaling range now rather than at the first binding. */
	probe = sp_portalloc_create(cfg->sig_port_first, cfg->sig_port_last, 1);
	if (!probe)
		return NULL;
	sp_portalloc_destroy(probe);

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (cb)
		t->cb = *cb;
	sp_hash_key_random(&t->hash_key);
	RB_INIT(&t->binding_ids);
	RB_INIT(&t->dialog_ids);
	RB_INIT(&t->timers);
	t->next_binding_id = 1;
	t->next_dialog_id = 1;
	if (sp_htab_init(&t->bindings_by_terminal, cfg->initial_buckets) ||
	    sp_htab_init(&t->bindings_by_server_side, cfg->initial_buckets) ||
	    sp_htab_init(&t->dialogs_by_call_id, cfg->initial_buckets))
		goto fail;
	t->per_source = sp_srclimit_new();
	if (!t->per_source)
		goto fail;
	if (cfg->media_port_first || cfg->media_port_last) {
		t->media_ports = sp_portalloc_create(cfg->media_port_first,
						     cfg->media_port_last, 2);
		if (!t->media_ports)
			goto fail;
	}
	return t;
fail:
	{
		int err = errno;

		sp_table_destroy(t);
		errno = err;
	}
	return NULL;
}

void sp_table_destroy(struct sp_table *t)
{
	struct dialog_entry *de;
	struct binding_entry *be;

	if (!t)
		return;
	while (t->quarantine) {
		struct quarantine_entry *q = t->quarantine;

		t->quarantine = q->next;
		timer_disarm(t, &q->timer); /* the tree is walked by the frees below */
		free(q);
	}
	while ((de = RB_MIN(dialog_ids, &t->dialog_ids)))
		free_dialog(t, de);
	while ((be = RB_MIN(binding_ids, &t->binding_ids)))
		free_binding(t, be);
	for (unsigned i = 0; i < t->n_pools; i++)
		sp_portalloc_destroy(t->pools[i].ports);
	sp_portalloc_destroy(t->media_ports);
	sp_htab_fini(&t->bindings_by_terminal);
	sp_htab_fini(&t->bindings_by_server_side);
	sp_htab_fini(&t->dialogs_by_call_id);
	sp_srclimit_free(t->per_source);
	free(t);
}

void sp_table_set_session_limit(struct sp_table *t, uint32_t limit)
{
	t->cfg.session_limit = limit;
}

void sp_table_set_dialog_timeouts(struct sp_table *t, uint32_t early_ms, uint32_t confirmed_idle_ms)
{
	if (early_ms)
		t->cfg.early_timeout_ms = early_ms;
	if (confirmed_idle_ms)
		t->cfg.confirmed_idle_ms = confirmed_idle_ms;
}

uint32_t sp_table_source_bindings(const struct sp_table *t, uint32_t vpn,
				  const struct sp_endpoint *src)
{
	return sp_srclimit_count(t->per_source, vpn, src);
}

const struct sp_table_counters *sp_table_counters(const struct sp_table *t)
{
	return &t->ctr;
}

void sp_table_memory(const struct sp_table *t, struct sp_table_memory *mem)
{
	size_t bidx = sp_htab_bytes(&t->bindings_by_terminal) +
		      sp_htab_bytes(&t->bindings_by_server_side);
	size_t didx = sp_htab_bytes(&t->dialogs_by_call_id);
	size_t nb = t->ctr.bindings_current, nd = t->ctr.dialogs_current;

	mem->binding_object = sizeof(struct binding_entry);
	mem->dialog_object = sizeof(struct dialog_entry);
	mem->per_binding = mem->binding_object + (nb ? bidx / nb : bidx);
	mem->per_dialog = mem->dialog_object + (nd ? didx / nd : didx);
	mem->total = sizeof(*t) + bidx + didx + nb * mem->binding_object +
		     nd * mem->dialog_object;
	for (unsigned i = 0; i < t->n_pools; i++)
		mem->total += sp_portalloc_bytes(t->pools[i].ports);
	if (t->media_ports)
		mem->total += sp_portalloc_bytes(t->media_ports);
}

uint64_t sp_table_next_deadline(const struct sp_table *t)
{
	struct table_timer *tm = RB_MIN(timer_tree, (struct timer_tree *)&t->timers);

	return tm ? tm->deadline_ms : UINT64_MAX;
}

const char *sp_table_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case SP_TABLE_ELIMIT:
		return "session limit reached";
	case EEXIST:
		return "entry exists";
	case EADDRINUSE:
		return "server-side port in use";
	case ENOSPC:
		return "port range exhausted";
	case ERANGE:
		return "port outside the configured range";
	case ENAMETOOLONG:
		return "string too long";
	case E2BIG:
		return "too many entries";
	case EBUSY:
		return "in use by dialogs";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
/* Endpoints built by hand may carry garbage in unused bytes; keys may not. */
int normalize_endpoint(struct sp_endpoint *out, const struct sp_endpoint *in,
			      bool required)
{
	sp_endpoint_clear(out);
	if (in->family == AF_INET)
		sp_endpoint_set_v4(out, in->addr.v4, in->port);
	else if (in->family == AF_INET6)
		sp_endpoint_set_v6(out, &in->addr.v6, in->port);
	else if (required || in->family != 0)
		return -EINVAL;
	return 0;
}

int copy_bounded(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
	return 0;
}
/* Server-side port pools, one per C address. */

struct server_side_pool *find_pool(struct sp_table *t, const struct sp_endpoint *c,
					  bool create)
{
	struct sp_endpoint addr = *c;

	addr.port = 0;
	for (unsigned i = 0; i < t->n_pools; i++)
		if (sp_endpoint_equal(&t->pools[i].addr, &addr))
			return &t->pools[i];
	if (!create || t->n_pools == SP_TABLE_MAX_SERVER_ADDRS)
		return NULL;
	t->pools[t->n_pools].ports = sp_portalloc_create(t->cfg.sig_port_first,
							 t->cfg.sig_port_last, 1);
	if (!t->pools[t->n_pools].ports)
		return NULL;
	t->pools[t->n_pools].addr = addr;
	return &t->pools[t->n_pools++];
}
/* The ports in use of old taken in a fresh allocator over first..last;
 * NULL with *outside counted when some lie outside it. */
static struct sp_portalloc *pool_moved(const struct sp_portalloc *old, uint16_t first,
				       uint16_t last, unsigned *outside)
{
	struct sp_portalloc *pa = sp_portalloc_create(first, last, 1);

	for (unsigned p = 1; p <= 65535; p++) {
		if (!sp_portalloc_in_use(old, (uint16_t)p))
			continue;
		if (p < first || p > last)
			(*outside)++;
		else if (pa)
			sp_portalloc_take(pa, (uint16_t)p);
	}
	if (*outside) {
		sp_portalloc_destroy(pa);
		return NULL;
	}
	return pa;
}

int sp_table_set_signaling_range(struct sp_table *t, uint16_t first, uint16_t last,
				 unsigned *outside)
{
	struct sp_portalloc *fresh[SP_TABLE_MAX_SERVER_ADDRS] = { NULL };
	int err = 0;

	*outside = 0;
	if (first == t->cfg.sig_port_first && last == t->cfg.sig_port_last)
		return 0;
	if (!first || first > last)
		return -EINVAL;
	for (unsigned i = 0; i < t->n_pools; i++) {
		fresh[i] = pool_moved(t->pools[i].ports, first, last, outside);
		if (!fresh[i] && !*outside)
			err = -ENOMEM;
	}
	if (*outside || err) {
		for (unsigned i = 0; i < t->n_pools; i++)
			sp_portalloc_destroy(fresh[i]);
		return *outside ? -EBUSY : err;
	}
	for (unsigned i = 0; i < t->n_pools; i++) {
		sp_portalloc_destroy(t->pools[i].ports);
		t->pools[i].ports = fresh[i];
	}
	t->cfg.sig_port_first = first;
	t->cfg.sig_port_last = last;
	return 0;
}

/* Aging */

unsigned sp_table_expire(struct sp_table *t, uint64_t now_ms)
{
	struct table_timer *tm;
	unsigned removed = 0;

	while ((tm = RB_MIN(timer_tree, &t->timers)) && tm->deadline_ms <= now_ms) {
		timer_disarm(t, tm);
		if (tm->kind == TIMER_QUARANTINE) {
			struct quarantine_entry *q = container_of(tm, struct quarantine_entry, timer);

			sp_portalloc_release(q->pool->ports, q->server_side.port);
			if (q->prev)
				q->prev->next = q->next;
			else
				t->quarantine = q->next;
			if (q->next)
				q->next->prev = q->prev;
			t->ctr.ports_quarantined_current--;
			free(q);
			removed++;
			continue;
		}
		if (tm->kind == TIMER_DIALOG) {
			struct dialog_entry *de = container_of(tm, struct dialog_entry, timer);

			/* Still findable in the callback, so the engine sees it whole. */
			uint32_t id = de->pub.id;

			if (t->cb.dialog_expired)
				t->cb.dialog_expired(t->cb.arg, &de->pub);
			t->ctr.dialogs_expired++;
			free_dialog(t, de);
			announce(t, SP_STORE_DIALOG, SP_STORE_DELETE, id);
		} else {
			struct binding_entry *be = container_of(tm, struct binding_entry, timer);
			uint32_t id = be->pub.id;

			if (t->cb.binding_expired)
				t->cb.binding_expired(t->cb.arg, &be->pub);
			t->ctr.bindings_expired++;
			free_binding(t, be);
			announce(t, SP_STORE_BINDING, SP_STORE_DELETE, id);
		}
		removed++;
	}
	return removed;
}
/* Restart (daemon/sp_persist): ports of state that could not be restored */

int sp_table_quarantine(struct sp_table *t, const struct sp_endpoint *server_side,
			uint64_t until_ms)
{
	struct quarantine_entry *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	if ((err = normalize_endpoint(&q->server_side, server_side, true)))
		goto fail;
	if (!q->server_side.port) {
		err = -EINVAL;
		goto fail;
	}
	q->pool = find_pool(t, &q->server_side, true);
	if (!q->pool) {
		err = t->n_pools == SP_TABLE_MAX_SERVER_ADDRS ? -E2BIG : -ENOMEM;
		goto fail;
	}
	if ((err = sp_portalloc_take(q->pool->ports, q->server_side.port)))
		goto fail;
	q->timer.kind = TIMER_QUARANTINE;
	timer_arm(t, &q->timer, until_ms);
	q->next = t->quarantine;
	if (q->next)
		q->next->prev = q;
	t->quarantine = q;
	t->ctr.ports_quarantined_current++;
	t->ctr.ports_quarantined++;
	return 0;
fail:
	free(q);
	return err;
}

bool sp_table_is_quarantined(const struct sp_table *t, const struct sp_endpoint *server_side,
			     uint64_t *until_ms)
{
	for (const struct quarantine_entry *q = t->quarantine; q; q = q->next)
		if (sp_endpoint_equal(&q->server_side, server_side)) {
			if (until_ms)
				*until_ms = q->timer.deadline_ms;
			return true;
		}
	return false;
}
