/*
 * State tables: bindings, dialogs, port allocators, aging.
 *
 * Each object is one allocation: the public struct followed by its private
 * links (hash nodes, id-tree node, timer). Indexes:
 *   bindings by (VPN, transport, family, A:a) and by (transport, C:c),
 *   dialogs by (VPN, Call-ID): sp_htab;
 *   bindings and dialogs by id: red-black trees, for ordered walks and
 *   SNMP get-next in O(log n) whatever ids were freed or wrapped;
 *   all armed deadlines: one red-black tree ordered by (deadline, arm
 *   sequence), so the expiry pass touches only what expires, and equal
 *   deadlines expire in the order they were set.
 * The trees come from libbsd's <bsd/sys/tree.h> (intrusive, no allocation).
 */
#include "config.h"

#include <bsd/sys/tree.h>
#include <stdlib.h>
#include <string.h>

#include "sp_hash.h"
#include "sp_log.h"
#include "sp_portalloc.h"
#include "sp_srclimit.h"
#include "sp_table.h"

enum timer_kind {
	TIMER_BINDING,
	TIMER_DIALOG,
	TIMER_QUARANTINE,
};

struct table_timer {
	RB_ENTRY(table_timer) node;
	uint64_t deadline_ms;
	uint64_t seq;
	uint8_t kind;
	bool armed;
};

struct server_side_pool {
	struct sp_endpoint addr;	/* C, port 0 */
	struct sp_portalloc *ports;
};

struct binding_entry {
	struct sp_binding pub;
	struct sp_table *table;		/* for the setters that take no table */
	struct sp_hnode by_terminal;
	struct sp_hnode by_server_side;
	RB_ENTRY(binding_entry) by_id;
	struct table_timer timer;
	struct server_side_pool *pool;
};

/* A C:c held by no binding, kept out of the allocator until a registrar's
 * mapping to it can no longer route a call there (sp_table_quarantine). */
struct quarantine_entry {
	struct sp_endpoint server_side;
	struct server_side_pool *pool;
	struct table_timer timer;
	struct quarantine_entry *prev, *next;
};

struct dialog_entry {
	struct sp_dialog pub;
	struct sp_table *table;
	struct sp_hnode by_call_id;
	RB_ENTRY(dialog_entry) by_id;
	struct table_timer timer;
};

RB_HEAD(timer_tree, table_timer);
RB_HEAD(binding_ids, binding_entry);
RB_HEAD(dialog_ids, dialog_entry);

struct sp_table {
	struct sp_table_config cfg;
	struct sp_table_callbacks cb;
	struct sp_table_counters ctr;
	struct sp_hash_key hash_key;
	struct sp_htab bindings_by_terminal;
	struct sp_htab bindings_by_server_side;
	struct sp_htab dialogs_by_call_id;
	struct binding_ids binding_ids;
	struct dialog_ids dialog_ids;
	struct timer_tree timers;
	uint64_t timer_seq;
	uint32_t next_binding_id;
	uint32_t next_dialog_id;
	unsigned n_pools;
	struct server_side_pool pools[SP_TABLE_MAX_SERVER_ADDRS];
	struct sp_portalloc *media_ports;
	struct sp_srclimit *per_source;	/* bindings held per source address */
	struct quarantine_entry *quarantine;	/* doubly linked, unordered */
	struct {
		sp_store_watch_fn fn;
		void *arg;
	} watchers[SP_TABLE_WATCHERS_MAX];	/* the change hook's subscribers */
	unsigned n_watchers;
};

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

/*
 * RB_GENERATE_STATIC would spell the attribute "__unused", which libbsd
 * leaves undefined (it clashes with Linux headers); say it directly.
 */
#define SP_RB_STATIC __attribute__((unused)) static
RB_GENERATE_INTERNAL(timer_tree, table_timer, node, timer_cmp, SP_RB_STATIC)
RB_GENERATE_INTERNAL(binding_ids, binding_entry, by_id, binding_id_cmp, SP_RB_STATIC)
RB_GENERATE_INTERNAL(dialog_ids, dialog_entry, by_id, dialog_id_cmp, SP_RB_STATIC)

static inline struct binding_entry *binding_entry_of(const struct sp_binding *b)
{
	return container_of(b, struct binding_entry, pub);
}

static inline struct dialog_entry *dialog_entry_of(const struct sp_dialog *d)
{
	return container_of(d, struct dialog_entry, pub);
}

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
static void announce(const struct sp_table *t, enum sp_store_kind kind, enum sp_store_op op,
		     uint32_t id)
{
	const struct sp_store_change c = { kind, op, id };

	for (unsigned i = 0; i < t->n_watchers; i++)
		t->watchers[i].fn(t->watchers[i].arg, &c);
}

static void binding_changed(const struct sp_table *t, const struct sp_binding *b)
{
	announce(t, SP_STORE_BINDING, SP_STORE_UPDATE, b->id);
}

static void dialog_changed(const struct sp_table *t, const struct sp_dialog *d)
{
	announce(t, SP_STORE_DIALOG, SP_STORE_UPDATE, d->id);
}

/* Timers */

static void timer_disarm(struct sp_table *t, struct table_timer *tm)
{
	if (!tm->armed)
		return;
	RB_REMOVE(timer_tree, &t->timers, tm);
	tm->armed = false;
}

static void timer_arm(struct sp_table *t, struct table_timer *tm, uint64_t deadline_ms)
{
	timer_disarm(t, tm);
	tm->deadline_ms = deadline_ms;
	tm->seq = ++t->timer_seq;
	RB_INSERT(timer_tree, &t->timers, tm);
	tm->armed = true;
}

static uint64_t add_ms(uint64_t base, uint64_t ms)
{
	return base > UINT64_MAX - ms ? UINT64_MAX : base + ms;
}

/* Bindings live until both the registration (plus grace) and idle time end. */
static uint64_t binding_deadline(const struct sp_table *t, const struct sp_binding *b)
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
static void binding_rearm(struct sp_table *t, struct binding_entry *be)
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

static void dialog_rearm(struct sp_table *t, struct dialog_entry *de, uint64_t now_ms)
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

static void free_dialog(struct sp_table *t, struct dialog_entry *de);
static void free_binding(struct sp_table *t, struct binding_entry *be);

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

/* Hash keys: explicit byte layouts, so no struct padding is hashed. */

_Static_assert(sizeof(struct sp_binding_key) == 8 + sizeof(struct sp_endpoint),
	       "struct sp_binding_key is hashed as bytes: no padding");

/* key's terminal normalized, family and reserved filled in. */
static uint64_t hash_terminal(const struct sp_table *t, const struct sp_binding_key *key)
{
	return sp_siphash(&t->hash_key, key, sizeof(*key));
}

static void binding_key_of(struct sp_binding_key *key, const struct sp_binding *b)
{
	key->vpn = b->vpn;
	key->transport = b->transport;
	key->family = b->terminal.family;
	key->reserved = 0;
	key->terminal = b->terminal;
}

static uint64_t hash_binding_terminal(const struct sp_table *t, const struct sp_binding *b)
{
	struct sp_binding_key key;

	binding_key_of(&key, b);
	return hash_terminal(t, &key);
}

static uint64_t hash_server_side(const struct sp_table *t, uint8_t transport,
				 const struct sp_endpoint *ep)
{
	uint8_t key[1 + sizeof(*ep)];

	key[0] = transport;
	memcpy(key + 1, ep, sizeof(*ep));
	return sp_siphash(&t->hash_key, key, sizeof(key));
}

static uint64_t hash_call_id(const struct sp_table *t, uint32_t vpn,
			     const char *call_id, size_t len)
{
	uint8_t key[sizeof(vpn) + SP_CALLID_MAX];

	memcpy(key, &vpn, sizeof(vpn));
	memcpy(key + sizeof(vpn), call_id, len);
	return sp_siphash(&t->hash_key, key, sizeof(vpn) + len);
}

/* Endpoints built by hand may carry garbage in unused bytes; keys may not. */
static int normalize_endpoint(struct sp_endpoint *out, const struct sp_endpoint *in,
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

static int copy_bounded(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
	return 0;
}

/* Server-side port pools, one per C address. */

static struct server_side_pool *find_pool(struct sp_table *t, const struct sp_endpoint *c,
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

/* Ids: next in sequence, skipping 0 and ids still in use after a wrap. */

static uint32_t alloc_binding_id(struct sp_table *t)
{
	struct binding_entry probe;

	for (;;) {
		probe.pub.id = t->next_binding_id++;
		if (probe.pub.id == 0)
			continue;
		if (!RB_FIND(binding_ids, &t->binding_ids, &probe))
			return probe.pub.id;
	}
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

/* Bindings */

int sp_binding_create(struct sp_table *t, const struct sp_binding_params *p,
		      uint64_t now_ms, struct sp_binding **out)
{
	struct binding_entry *be;
	struct sp_binding *b;
	struct server_side_pool *pool;
	uint16_t port = 0;
	int err;

	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->table = t;
	b = &be->pub;
	b->vpn = p->vpn;
	b->transport = p->transport;
	b->strategy_id = p->strategy_id;
	b->origin_mark = p->origin_mark;
	if ((err = normalize_endpoint(&b->terminal, &p->terminal, true)) ||
	    (err = normalize_endpoint(&b->server_side, &p->server_side, true)) ||
	    (err = normalize_endpoint(&b->virtual_server, &p->virtual_server, false)) ||
	    (err = normalize_endpoint(&b->server, &p->server, false)) ||
	    (err = copy_bounded(b->via_sent_by, sizeof(b->via_sent_by), p->via_sent_by)) ||
	    (err = copy_bounded(b->contact, sizeof(b->contact), p->contact)))
		goto fail;
	if (b->transport > SP_STORE_TLS) {
		err = -EINVAL;
		goto fail;
	}
	{
		struct sp_binding_key key;

		binding_key_of(&key, b);
		if (sp_binding_find_key(t, &key)) {
			err = -EEXIST;
			goto fail;
		}
	}
	if (p->id) {
		if (sp_binding_find_id(t, p->id)) {
			err = -EEXIST;
			goto fail;
		}
	}

	pool = find_pool(t, &b->server_side, true);
	if (!pool) {
		err = t->n_pools == SP_TABLE_MAX_SERVER_ADDRS ? -E2BIG : -ENOMEM;
		goto fail;
	}
	if (b->server_side.port) {
		err = sp_portalloc_take(pool->ports, b->server_side.port);
		if (err)
			goto fail;
	} else {
		err = sp_portalloc_alloc(pool->ports, &port);
		if (err) {
			t->ctr.sig_ports_exhausted++;
			goto fail;
		}
		b->server_side.port = port;
	}
	be->pool = pool;
	if (sp_srclimit_add(t->per_source, b->vpn, &b->terminal) < 0) {
		sp_portalloc_release(pool->ports, b->server_side.port);
		err = -ENOMEM;
		goto fail;
	}

	b->id = p->id ? p->id : alloc_binding_id(t);
	b->created_ms = now_ms;
	b->last_activity_ms = now_ms;
	sp_htab_insert(&t->bindings_by_terminal, &be->by_terminal, hash_binding_terminal(t, b));
	sp_htab_insert(&t->bindings_by_server_side, &be->by_server_side,
		       hash_server_side(t, b->transport, &b->server_side));
	RB_INSERT(binding_ids, &t->binding_ids, be);
	be->timer.kind = TIMER_BINDING;
	binding_rearm(t, be);
	t->ctr.bindings_current++;
	t->ctr.bindings_created++;
	*out = b;
	announce(t, SP_STORE_BINDING, SP_STORE_INSERT, b->id);
	return 0;
fail:
	free(be);
	return err;
}

struct sp_binding *sp_binding_find_key(const struct sp_table *t, const struct sp_binding_key *k)
{
	struct sp_binding_key key = { .vpn = k->vpn, .transport = k->transport };
	uint64_t h;

	if (normalize_endpoint(&key.terminal, &k->terminal, true))
		return NULL;
	key.family = key.terminal.family;
	h = hash_terminal(t, &key);
	for (struct sp_hnode *n = sp_htab_chain(&t->bindings_by_terminal, h); n; n = n->next) {
		struct binding_entry *be = container_of(n, struct binding_entry, by_terminal);

		if (n->hash == h && be->pub.vpn == key.vpn && be->pub.transport == key.transport &&
		    sp_endpoint_equal(&be->pub.terminal, &key.terminal))
			return &be->pub;
	}
	return NULL;
}

struct sp_binding *sp_binding_find(const struct sp_table *t, uint32_t vpn,
				   const struct sp_endpoint *terminal)
{
	struct sp_binding_key key = { .vpn = vpn, .transport = SP_STORE_UDP, .terminal = *terminal };

	return sp_binding_find_key(t, &key);
}

struct sp_binding *sp_binding_find_server_side_on(const struct sp_table *t, uint8_t transport,
						  const struct sp_endpoint *server_side)
{
	struct sp_endpoint key;
	uint64_t h;

	if (normalize_endpoint(&key, server_side, true))
		return NULL;
	h = hash_server_side(t, transport, &key);
	for (struct sp_hnode *n = sp_htab_chain(&t->bindings_by_server_side, h); n; n = n->next) {
		struct binding_entry *be = container_of(n, struct binding_entry, by_server_side);

		if (n->hash == h && be->pub.transport == transport &&
		    sp_endpoint_equal(&be->pub.server_side, &key))
			return &be->pub;
	}
	return NULL;
}

struct sp_binding *sp_binding_find_server_side(const struct sp_table *t,
					       const struct sp_endpoint *server_side)
{
	return sp_binding_find_server_side_on(t, SP_STORE_UDP, server_side);
}

struct sp_binding *sp_binding_find_id(const struct sp_table *t, uint32_t id)
{
	struct binding_entry probe, *be;

	probe.pub.id = id;
	be = RB_FIND(binding_ids, (struct binding_ids *)&t->binding_ids, &probe);
	return be ? &be->pub : NULL;
}

struct sp_binding *sp_binding_first(const struct sp_table *t)
{
	struct binding_entry *be = RB_MIN(binding_ids, (struct binding_ids *)&t->binding_ids);

	return be ? &be->pub : NULL;
}

struct sp_binding *sp_binding_next(const struct sp_table *t, const struct sp_binding *b)
{
	struct binding_entry *be;

	(void)t;	/* RB_NEXT walks parent links; the head is not needed */
	be = RB_NEXT(binding_ids, &t->binding_ids, binding_entry_of(b));
	return be ? &be->pub : NULL;
}

struct sp_binding *sp_binding_get_next(const struct sp_table *t, uint32_t id)
{
	struct binding_entry probe, *be;

	if (id == UINT32_MAX)
		return NULL;
	probe.pub.id = id + 1;
	be = RB_NFIND(binding_ids, (struct binding_ids *)&t->binding_ids, &probe);
	return be ? &be->pub : NULL;
}

static void free_binding(struct sp_table *t, struct binding_entry *be)
{
	timer_disarm(t, &be->timer);
	sp_htab_remove(&t->bindings_by_terminal, &be->by_terminal);
	sp_htab_remove(&t->bindings_by_server_side, &be->by_server_side);
	RB_REMOVE(binding_ids, &t->binding_ids, be);
	sp_portalloc_release(be->pool->ports, be->pub.server_side.port);
	if (t->per_source)
		sp_srclimit_remove(t->per_source, be->pub.vpn, &be->pub.terminal);
	t->ctr.bindings_current--;
	free(be);
}

int sp_binding_delete(struct sp_table *t, struct sp_binding *b)
{
	uint32_t id = b->id;

	if (b->dialog_refs > 0)
		return -EBUSY;
	free_binding(t, binding_entry_of(b));
	t->ctr.bindings_deleted++;
	announce(t, SP_STORE_BINDING, SP_STORE_DELETE, id);
	return 0;
}

static void binding_touch(struct sp_table *t, struct sp_binding *b, uint64_t now_ms)
{
	b->last_activity_ms = now_ms;
	binding_rearm(t, binding_entry_of(b));
}

void sp_binding_touch(struct sp_table *t, struct sp_binding *b, uint64_t now_ms)
{
	binding_touch(t, b, now_ms);
	binding_changed(t, b);
}

void sp_binding_set_registration(struct sp_table *t, struct sp_binding *b,
				 uint64_t now_ms, uint32_t expires_s)
{
	b->registration_expiry_ms = expires_s ? add_ms(now_ms, (uint64_t)expires_s * 1000) : 0;
	if (expires_s)
		b->deregistered = false;
	binding_touch(t, b, now_ms);
	binding_changed(t, b);
}

void sp_binding_deregister(struct sp_table *t, struct sp_binding *b)
{
	b->registration_expiry_ms = 0;
	b->deregistered = true;
	binding_rearm(t, binding_entry_of(b));
	binding_changed(t, b);
}

/* A string field set through the API: announced when it changed. */
static int set_binding_string(struct sp_binding *b, char *dst, size_t size, const char *src)
{
	int err;

	if (strcmp(dst, src ? src : "") == 0)
		return 0;
	if ((err = copy_bounded(dst, size, src)))
		return err;
	binding_changed(binding_entry_of(b)->table, b);
	return 0;
}

int sp_binding_set_via_sent_by(struct sp_binding *b, const char *hostport)
{
	return set_binding_string(b, b->via_sent_by, sizeof(b->via_sent_by), hostport);
}

int sp_binding_set_contact(struct sp_binding *b, const char *hostport)
{
	return set_binding_string(b, b->contact, sizeof(b->contact), hostport);
}

void sp_binding_set_return_path(struct sp_binding *b, const struct sp_learned_path *path)
{
	struct sp_learned_path *rp = &b->return_path;

	/* field by field: the struct has padding */
	if (rp->ifindex == path->ifindex && rp->has_mac == path->has_mac &&
	    memcmp(rp->prev_hop_mac, path->prev_hop_mac, sizeof(rp->prev_hop_mac)) == 0 &&
	    sp_endpoint_equal(&rp->prev_hop, &path->prev_hop))
		return;
	*rp = *path;
	binding_changed(binding_entry_of(b)->table, b);
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
static void free_dialog(struct sp_table *t, struct dialog_entry *de)
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

/* State sync: objects as the active peer holds them */

void sp_binding_restore_times(struct sp_table *t, struct sp_binding *b, uint64_t created_ms,
			      uint64_t last_activity_ms, uint64_t registration_expiry_ms)
{
	b->created_ms = created_ms;
	b->last_activity_ms = last_activity_ms;
	b->registration_expiry_ms = registration_expiry_ms;
	binding_rearm(t, binding_entry_of(b));
	binding_changed(t, b);
}

int sp_binding_rekey(struct sp_table *t, struct sp_binding *b,
		     const struct sp_endpoint *terminal, const struct sp_endpoint *server_side)
{
	struct binding_entry *be = binding_entry_of(b);
	struct sp_endpoint term, ss;
	struct sp_binding *other;
	struct server_side_pool *pool;
	int err;

	if ((err = normalize_endpoint(&term, terminal, true)) ||
	    (err = normalize_endpoint(&ss, server_side, true)))
		return err;
	if (ss.port == 0)
		return -EINVAL;
	{
		struct sp_binding_key key = { .vpn = b->vpn, .transport = b->transport, .terminal = term };

		other = sp_binding_find_key(t, &key);
	}
	if (other && other != b)
		return -EEXIST;
	if (!sp_endpoint_equal(&ss, &b->server_side)) {
		if (sp_binding_find_server_side_on(t, b->transport, &ss))
			return -EADDRINUSE;
		pool = find_pool(t, &ss, true);
		if (!pool)
			return t->n_pools == SP_TABLE_MAX_SERVER_ADDRS ? -E2BIG : -ENOMEM;
		/* Claim the new c before giving up the old one: unchanged on error. */
		err = sp_portalloc_take(pool->ports, ss.port);
		if (err)
			return err;
		sp_portalloc_release(be->pool->ports, b->server_side.port);
		be->pool = pool;
		sp_htab_remove(&t->bindings_by_server_side, &be->by_server_side);
		b->server_side = ss;
		sp_htab_insert(&t->bindings_by_server_side, &be->by_server_side,
			       hash_server_side(t, b->transport, &b->server_side));
	}
	if (!sp_endpoint_equal(&term, &b->terminal)) {
		if (!sp_endpoint_same_addr(&term, &b->terminal) &&
		    sp_srclimit_add(t->per_source, b->vpn, &term) == 0)
			sp_srclimit_remove(t->per_source, b->vpn, &b->terminal);
		sp_htab_remove(&t->bindings_by_terminal, &be->by_terminal);
		b->terminal = term;
		sp_htab_insert(&t->bindings_by_terminal, &be->by_terminal,
			       hash_binding_terminal(t, b));
	}
	binding_changed(t, b);
	return 0;
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

/* Is port one this dialog's streams hold now? */
static bool dialog_holds_port(const struct sp_dialog *d, uint16_t port)
{
	for (unsigned i = 0; i < d->n_media; i++)
		if (d->media[i].terminal_side_port == port || d->media[i].far_side_port == port)
			return true;
	return false;
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
		    (err = normalize_endpoint(&next[i].far, &ms[i].far, false)))
			return err;
		next[i].terminal_side_port = ms[i].terminal_side_port;
		next[i].far_side_port = ms[i].far_side_port;
		next[i].engine_flags = ms[i].engine_flags;
	}
	if (t->media_ports) {
		/* Check everything before touching the allocator. */
		for (unsigned i = 0; i < 2 * n; i++) {
			uint16_t port = i % 2 ? next[i / 2].far_side_port : next[i / 2].terminal_side_port;

			if (!sp_portalloc_owns(t->media_ports, port))
				return -ERANGE;
			for (unsigned j = 0; j < i; j++)
				if (port == (j % 2 ? next[j / 2].far_side_port
						   : next[j / 2].terminal_side_port))
					return -EINVAL;
			if (sp_portalloc_in_use(t->media_ports, port) && !dialog_holds_port(d, port))
				return -EADDRINUSE;
		}
		release_media(t, d);
		for (unsigned i = 0; i < n; i++) {
			sp_portalloc_take(t->media_ports, next[i].terminal_side_port);
			sp_portalloc_take(t->media_ports, next[i].far_side_port);
		}
	}
	if (n == d->n_media && memcmp(d->media, next, sizeof(next)) == 0)
		return 0; /* the streams it holds: no change */
	memcpy(d->media, next, sizeof(next));
	d->n_media = n;
	dialog_changed(t, d);
	return 0;
}

/* Restart (daemon/sp_persist): ports of state that could not be restored */

uint64_t sp_binding_deadline(const struct sp_table *t, const struct sp_binding *b)
{
	return binding_deadline(t, b);
}

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
