/*
 * SipHash-2-4 and an intrusive chained hash table.
 *
 * SipHash is written out here (as the Linux kernel, CPython and Rust do)
 * rather than taken from libsodium: it is thirty lines, checked against the
 * reference test vector in the unit tests, and avoids a library dependency
 * and a call per lookup through a general-purpose crypto API.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sp_hash.h"

void sp_hash_key_random(struct sp_hash_key *key)
{
	uint8_t *p = (uint8_t *)key;
	size_t left = sizeof(*key);

	while (left > 0) {
		ssize_t n = getrandom(p, left, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* No entropy source at all: still a usable (unkeyed) table. */
			memset(p, 0x5a, left);
			return;
		}
		p += n;
		left -= (size_t)n;
	}
}

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32); \
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;		\
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;		\
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32); \
} while (0)

uint64_t sp_siphash(const struct sp_hash_key *key, const void *data, size_t len)
{
	const uint8_t *in = data;
	const uint8_t *end = in + (len & ~(size_t)7);
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
	uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
	uint64_t b = (uint64_t)len << 56;
	uint64_t m;

	for (; in != end; in += 8) {
		m = load_le64(in);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static size_t round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int sp_htab_init(struct sp_htab *h, size_t initial_buckets)
{
	h->nbuckets = round_pow2(initial_buckets < 16 ? 16 : initial_buckets);
	h->count = 0;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	return h->buckets ? 0 : -ENOMEM;
}

void sp_htab_fini(struct sp_htab *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = 0;
	h->count = 0;
}

static void link_node(struct sp_hnode **head, struct sp_hnode *n)
{
	n->next = *head;
	if (n->next)
		n->next->pprev = &n->next;
	n->pprev = head;
	*head = n;
}

/* Rehash everything at once: growth is rare (doubling) and O(n) amortised. */
static void grow(struct sp_htab *h)
{
	size_t nb = h->nbuckets * 2;
	struct sp_hnode **nbkt = calloc(nb, sizeof(*nbkt));

	if (!nbkt)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct sp_hnode *n = h->buckets[i];

		while (n) {
			struct sp_hnode *next = n->next;

			link_node(&nbkt[n->hash & (nb - 1)], n);
			n = next;
		}
	}
	free(h->buckets);
	h->buckets = nbkt;
	h->nbuckets = nb;
}

void sp_htab_insert(struct sp_htab *h, struct sp_hnode *n, uint64_t hash)
{
	if (h->count >= h->nbuckets)
		grow(h);
	n->hash = hash;
	link_node(&h->buckets[hash & (h->nbuckets - 1)], n);
	h->count++;
}

void sp_htab_remove(struct sp_htab *h, struct sp_hnode *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
	h->count--;
}

struct sp_hnode *sp_htab_chain(const struct sp_htab *h, uint64_t hash)
{
	return h->buckets[hash & (h->nbuckets - 1)];
}

size_t sp_htab_bytes(const struct sp_htab *h)
{
	return h->nbuckets * sizeof(*h->buckets);
}
