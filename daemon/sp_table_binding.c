/*
 * The session store's bindings (sp_table.h): their keys and indexes,
 * creation, lookups, changes and deletion.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sp_table.h"
#include "sp_table_int.h"

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

/* Bindings */

/* The new binding's fields from p, checked; its key not taken yet. */
static int binding_fill(struct sp_table *t, struct sp_binding *b, const struct sp_binding_params *p)
{
	struct sp_binding_key key;
	int err;

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
		return err;
	if (b->transport > SP_STORE_TLS)
		return -EINVAL;
	binding_key_of(&key, b);
	if (sp_binding_find_key(t, &key) || (p->id && sp_binding_find_id(t, p->id)))
		return -EEXIST;
	return 0;
}

/* C:c for the new binding: the given one taken, or a c allocated. */
static int binding_take_server_side(struct sp_table *t, struct binding_entry *be)
{
	struct sp_binding *b = &be->pub;
	struct server_side_pool *pool = find_pool(t, &b->server_side, true);
	uint16_t port = 0;
	int err;

	if (!pool)
		return t->n_pools == SP_TABLE_MAX_SERVER_ADDRS ? -E2BIG : -ENOMEM;
	if (b->server_side.port) {
		err = sp_portalloc_take(pool->ports, b->server_side.port);
		if (err)
			return err;
	} else {
		err = sp_portalloc_alloc(pool->ports, &port);
		if (err) {
			t->ctr.sig_ports_exhausted++;
			return err;
		}
		b->server_side.port = port;
	}
	be->pool = pool;
	if (sp_srclimit_add(t->per_source, b->vpn, &b->terminal) < 0) {
		sp_portalloc_release(pool->ports, b->server_side.port);
		return -ENOMEM;
	}
	return 0;
}

int sp_binding_create(struct sp_table *t, const struct sp_binding_params *p,
		      uint64_t now_ms, struct sp_binding **out)
{
	struct binding_entry *be;
	struct sp_binding *b;
	int err;

	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->table = t;
	b = &be->pub;
	if ((err = binding_fill(t, b, p)) || (err = binding_take_server_side(t, be))) {
		free(be);
		return err;
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

void free_binding(struct sp_table *t, struct binding_entry *be)
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
void sp_binding_set_outbound(struct sp_binding *b, bool outbound)
{
	outbound = outbound && b->transport != SP_STORE_UDP;
	if (b->outbound == outbound)
		return;
	b->outbound = outbound;
	binding_changed(binding_entry_of(b)->table, b);
}

/* State sync: objects as the active peer holds them */

void sp_binding_set_route(struct sp_table *t, struct sp_binding *b,
			  const struct sp_binding_route *r)
{
	struct sp_endpoint e, d;

	/* as at creation: no stray bytes; a family neither 4 nor 6 is none */
	normalize_endpoint(&e, &r->virtual_server, false);
	normalize_endpoint(&d, &r->server, false);
	if (sp_endpoint_equal(&b->virtual_server, &e) && sp_endpoint_equal(&b->server, &d) &&
	    b->strategy_id == r->strategy_id && b->origin_mark == r->origin_mark)
		return;
	b->virtual_server = e;
	b->server = d;
	b->strategy_id = r->strategy_id;
	b->origin_mark = r->origin_mark;
	binding_changed(t, b);
}

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
/* Restart (daemon/sp_persist): ports of state that could not be restored */

uint64_t sp_binding_deadline(const struct sp_table *t, const struct sp_binding *b)
{
	return binding_deadline(t, b);
}
