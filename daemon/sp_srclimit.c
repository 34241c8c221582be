#include "config.h"
#include "sp_srclimit.h"
#include "sp_hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sources named in notifications lately: a flood names a handful, and an
 * older entry falling out only means one more (spaced) notification. */
#define SP_SRCLIMIT_RECENT 64

struct sp_srclimit_key {
	uint32_t vpn;
	struct sp_endpoint addr; /* port 0 */
};

struct sp_srclimit_node {
	struct sp_hnode node;
	struct sp_srclimit_key key;
	uint32_t count;
};

struct sp_srclimit {
	struct sp_hash_key hash_key; /* sources choose their addresses: keyed */
	struct sp_htab by_source;
	struct {
		struct sp_srclimit_key key;
		uint64_t at_ms;
		bool used;
	} recent[SP_SRCLIMIT_RECENT];
	unsigned next_recent;
};

static void sp_srclimit_key_of(struct sp_srclimit_key *k, uint32_t vpn, const struct sp_endpoint *src)
{
	memset(k, 0, sizeof(*k));
	k->vpn = vpn;
	k->addr = *src;
	k->addr.port = 0;
}

static struct sp_srclimit_node *sp_srclimit_find(const struct sp_srclimit *s,
						 const struct sp_srclimit_key *k, uint64_t h)
{
	for (struct sp_hnode *n = sp_htab_chain(&s->by_source, h); n; n = n->next) {
		struct sp_srclimit_node *e = container_of(n, struct sp_srclimit_node, node);

		if (n->hash == h && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
	return NULL;
}

struct sp_srclimit *sp_srclimit_new(void)
{
	struct sp_srclimit *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	sp_hash_key_random(&s->hash_key);
	if (sp_htab_init(&s->by_source, 64) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void sp_srclimit_free(struct sp_srclimit *s)
{
	if (!s)
		return;
	for (size_t b = 0; b < s->by_source.nbuckets; b++) {
		struct sp_hnode *n = s->by_source.buckets[b];

		while (n) {
			struct sp_hnode *next = n->next;

			free(container_of(n, struct sp_srclimit_node, node));
			n = next;
		}
	}
	sp_htab_fini(&s->by_source);
	free(s);
}

int sp_srclimit_add(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src)
{
	struct sp_srclimit_key k;
	struct sp_srclimit_node *e;
	uint64_t h;

	sp_srclimit_key_of(&k, vpn, src);
	h = sp_siphash(&s->hash_key, &k, sizeof(k));
	e = sp_srclimit_find(s, &k, h);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->key = k;
		sp_htab_insert(&s->by_source, &e->node, h);
	}
	e->count++;
	return 0;
}

void sp_srclimit_remove(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src)
{
	struct sp_srclimit_key k;
	struct sp_srclimit_node *e;

	sp_srclimit_key_of(&k, vpn, src);
	e = sp_srclimit_find(s, &k, sp_siphash(&s->hash_key, &k, sizeof(k)));
	if (!e)
		return;
	if (--e->count == 0) {
		sp_htab_remove(&s->by_source, &e->node);
		free(e);
	}
}

uint32_t sp_srclimit_count(const struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src)
{
	struct sp_srclimit_key k;
	const struct sp_srclimit_node *e;

	sp_srclimit_key_of(&k, vpn, src);
	e = sp_srclimit_find(s, &k, sp_siphash(&s->hash_key, &k, sizeof(k)));
	return e ? e->count : 0;
}

size_t sp_srclimit_sources(const struct sp_srclimit *s)
{
	return s->by_source.count;
}

bool sp_srclimit_notify_due(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src,
			    uint64_t now_ms, uint64_t interval_ms)
{
	struct sp_srclimit_key k;

	sp_srclimit_key_of(&k, vpn, src);
	for (unsigned i = 0; i < SP_SRCLIMIT_RECENT; i++) {
		if (!s->recent[i].used || memcmp(&s->recent[i].key, &k, sizeof(k)) != 0)
			continue;
		if (now_ms - s->recent[i].at_ms < interval_ms)
			return false;
		s->recent[i].at_ms = now_ms;
		return true;
	}
	s->recent[s->next_recent].key = k;
	s->recent[s->next_recent].at_ms = now_ms;
	s->recent[s->next_recent].used = true;
	s->next_recent = (s->next_recent + 1) % SP_SRCLIMIT_RECENT;
	return true;
}
