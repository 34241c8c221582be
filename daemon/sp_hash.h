/*
 * Keyed hashing (SipHash-2-4) and an intrusive, chained hash table.
 *
 * The tables are keyed with a per-table random secret so that remote
 * parties, who choose Call-IDs and source ports, cannot make every entry
 * land in one chain (hash flooding turns O(1) lookups into O(n)).
 */
#ifndef SP_HASH_H
#define SP_HASH_H

#include <stddef.h>
#include <stdint.h>

struct sp_hash_key {
	uint64_t k0, k1;
};

/* Fill with random bytes from the kernel (getrandom). */
void sp_hash_key_random(struct sp_hash_key *key);
uint64_t sp_siphash(const struct sp_hash_key *key, const void *data, size_t len);

/* Embedded in the hashed object; find the object with container_of. */
struct sp_hnode {
	struct sp_hnode *next;
	struct sp_hnode **pprev;	/* O(1) unlink without the bucket */
	uint64_t hash;
};

struct sp_htab {
	struct sp_hnode **buckets;
	size_t nbuckets;		/* power of two */
	size_t count;
};

int sp_htab_init(struct sp_htab *h, size_t initial_buckets);
/* Frees the bucket array only; the caller owns the nodes. */
void sp_htab_fini(struct sp_htab *h);
/*
 * Link n under hash. Grows the table (doubling, rehash) when the load factor
 * passes 1; if that allocation fails the table keeps working, only slower.
 */
void sp_htab_insert(struct sp_htab *h, struct sp_hnode *n, uint64_t hash);
void sp_htab_remove(struct sp_htab *h, struct sp_hnode *n);
/* First node of the chain that may hold hash; compare n->hash, then the key. */
struct sp_hnode *sp_htab_chain(const struct sp_htab *h, uint64_t hash);
size_t sp_htab_bytes(const struct sp_htab *h);

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
