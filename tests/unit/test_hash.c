/* SipHash against the reference vectors, the intrusive hash table, endpoints. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sp_endpoint.h"
#include "sp_hash.h"

/* Reference key 00 01 .. 0f, message 00 01 .. (len-1): SipHash-2-4 paper. */
static const struct {
	size_t len;
	uint64_t hash;
} siphash_vectors[] = {
	{ 0, 0x726fdb47dd0e0e31ULL },
	{ 1, 0x74f839c593dc67fdULL },
	{ 7, 0xab0200f58b01d137ULL },
	{ 8, 0x93f5f5799a932462ULL },
	{ 15, 0xa129ca6149be45e5ULL },
	{ 16, 0x3f2acc7f57c29bdbULL },
	{ 63, 0x958a324ceb064572ULL },
};

Test(siphash, reference_vectors)
{
	struct sp_hash_key key = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	uint8_t msg[64];

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(siphash_vectors) / sizeof(siphash_vectors[0]); i++)
		cr_expect_eq(sp_siphash(&key, msg, siphash_vectors[i].len), siphash_vectors[i].hash,
			     "length %zu", siphash_vectors[i].len);
}

Test(siphash, random_keys_differ)
{
	struct sp_hash_key a, b;

	sp_hash_key_random(&a);
	sp_hash_key_random(&b);
	/* 128 random bits twice the same would mean no randomness at all. */
	cr_assert(a.k0 != b.k0 || a.k1 != b.k1);
	cr_expect_neq(sp_siphash(&a, "call-1", 6), sp_siphash(&b, "call-1", 6));
}

struct item {
	struct sp_hnode node;
	unsigned value;
};

static struct item *lookup(struct sp_htab *h, const struct sp_hash_key *k, unsigned value)
{
	uint64_t hash = sp_siphash(k, &value, sizeof(value));

	for (struct sp_hnode *n = sp_htab_chain(h, hash); n; n = n->next) {
		struct item *it = container_of(n, struct item, node);

		if (n->hash == hash && it->value == value)
			return it;
	}
	return NULL;
}

Test(htab, insert_find_remove_and_grow)
{
	enum { N = 50000 };
	struct sp_hash_key k;
	struct sp_htab h;
	struct item *items = calloc(N, sizeof(*items));
	size_t initial;

	cr_assert_not_null(items);
	sp_hash_key_random(&k);
	cr_assert_eq(sp_htab_init(&h, 16), 0);
	initial = h.nbuckets;
	for (unsigned i = 0; i < N; i++) {
		items[i].value = i;
		sp_htab_insert(&h, &items[i].node, sp_siphash(&k, &i, sizeof(i)));
	}
	cr_expect_eq(h.count, N);
	cr_expect_gt(h.nbuckets, initial, "table grew");
	cr_expect_geq(h.nbuckets, (size_t)N, "load factor stays <= 1");
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(lookup(&h, &k, i), &items[i], "item %u", i);
	cr_expect_null(lookup(&h, &k, N + 1));
	/* Remove every other one; the rest stay findable. */
	for (unsigned i = 0; i < N; i += 2)
		sp_htab_remove(&h, &items[i].node);
	cr_expect_eq(h.count, N / 2);
	for (unsigned i = 0; i < N; i++) {
		if (i % 2)
			cr_assert_eq(lookup(&h, &k, i), &items[i]);
		else
			cr_assert_null(lookup(&h, &k, i));
	}
	sp_htab_fini(&h);
	free(items);
}

Test(htab, colliding_hashes_share_a_chain)
{
	struct sp_htab h;
	struct item items[100];
	unsigned found = 0;

	cr_assert_eq(sp_htab_init(&h, 16), 0);
	/* Same hash for all: the chain must hold and unlink each correctly. */
	for (unsigned i = 0; i < 100; i++) {
		items[i].value = i;
		sp_htab_insert(&h, &items[i].node, 42);
	}
	for (struct sp_hnode *n = sp_htab_chain(&h, 42); n; n = n->next)
		found++;
	cr_expect_eq(found, 100);
	sp_htab_remove(&h, &items[50].node);
	sp_htab_remove(&h, &items[99].node);
	sp_htab_remove(&h, &items[0].node);
	found = 0;
	for (struct sp_hnode *n = sp_htab_chain(&h, 42); n; n = n->next) {
		struct item *it = container_of(n, struct item, node);

		cr_expect(it->value != 50 && it->value != 99 && it->value != 0);
		found++;
	}
	cr_expect_eq(found, 97);
	sp_htab_fini(&h);
}

Test(endpoint, parse_format_roundtrip)
{
	struct sp_endpoint a, b;
	struct sockaddr_storage ss;
	char buf[SP_ENDPOINT_STRLEN];

	cr_assert_eq(sp_endpoint_parse(&a, "192.0.2.10", 5060), 0);
	cr_expect_str_eq(sp_endpoint_format(&a, buf, sizeof(buf)), "192.0.2.10:5060");
	cr_assert_eq(sp_endpoint_parse(&b, "2001:db8::1", 5062), 0);
	cr_expect_str_eq(sp_endpoint_format(&b, buf, sizeof(buf)), "[2001:db8::1]:5062");
	cr_expect_eq(sp_endpoint_parse(&b, "192.0.2.300", 1), -EINVAL);

	cr_assert_eq(sp_endpoint_to_sockaddr(&a, &ss), sizeof(struct sockaddr_in));
	cr_expect_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5060);
	cr_assert_eq(sp_endpoint_from_sockaddr(&b, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	cr_expect(sp_endpoint_equal(&a, &b));
	b.port = 1;
	cr_expect_not(sp_endpoint_equal(&a, &b));
	cr_expect(sp_endpoint_same_addr(&a, &b));

	sp_endpoint_clear(&a);
	cr_expect_str_eq(sp_endpoint_format(&a, buf, sizeof(buf)), "-");
	cr_expect_eq(sp_endpoint_to_sockaddr(&a, &ss), 0);
}

/* sp_endpoint_host writes IPv6 by hand (glibc's inet_ntop goes through
 * sprintf, a third of the daemon's instructions per call on IPv6): it must
 * write exactly what inet_ntop writes, zero runs, IPv4-mapped and
 * -compatible forms and all. */
Test(endpoint, ipv6_host_as_inet_ntop)
{
	static const char *const fixed[] = {
		"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1",
		"2001:db8:1:0:0:0:0:10", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:0:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:0", "0:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "::192.0.2.1",
		"::ffff:0:192.0.2.1", "0:0:0:0:0:fffe:c000:201", "::ffff:0.0.0.0", "::0.0.0.2",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
	};
	struct sp_endpoint ep = { .family = AF_INET6 };
	char got[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	unsigned seed = 1;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		cr_assert_eq(inet_pton(AF_INET6, fixed[i], &ep.addr.v6), 1, "%s", fixed[i]);
		inet_ntop(AF_INET6, &ep.addr.v6, want, sizeof(want));
		sp_endpoint_host(&ep, got, sizeof(got));
		cr_expect_str_eq(got, want, "%s", fixed[i]);
	}
	/* groups drawn from 0, 1, 0xffff and anything: every shape of zero runs */
	for (int n = 0; n < 20000; n++) {
		for (int g = 0; g < 8; g++) {
			unsigned v;

			seed = seed * 1103515245u + 12345u;
			v = seed >> 16;
			v = (v & 3) == 0 ? 0 : (v & 3) == 1 ? 1 : (v & 3) == 2 ? 0xffff : (v >> 2) & 0xffff;
			ep.addr.v6.s6_addr[2 * g] = (unsigned char)(v >> 8);
			ep.addr.v6.s6_addr[2 * g + 1] = (unsigned char)v;
		}
		inet_ntop(AF_INET6, &ep.addr.v6, want, sizeof(want));
		sp_endpoint_host(&ep, got, sizeof(got));
		cr_assert_str_eq(got, want);
	}
}

/* sp_endpoint_host remembers the texts it wrote (per thread, keyed by the
 * address): asked again, and in between for others that may share its
 * slot, it writes the same text; the same bytes in the other family are
 * another address; a buffer too short gets "?" as before, memo or not. */
Test(endpoint, host_memo_same_text_again)
{
	struct sp_endpoint a, b, v4 = { .family = AF_INET };
	char got[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN], small[8];
	struct in_addr four;

	inet_pton(AF_INET, "192.0.2.1", &four);
	sp_endpoint_set_v4(&a, four, 5060);
	sp_endpoint_clear(&b);
	b.family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:1::10", &b.addr.v6), 1);
	for (int round = 0; round < 3; round++) {
		sp_endpoint_host(&a, got, sizeof(got));
		cr_expect_str_eq(got, "192.0.2.1");
		sp_endpoint_host(&b, got, sizeof(got));
		cr_expect_str_eq(got, "2001:db8:1::10");
		sp_endpoint_host(&b, small, sizeof(small));
		cr_expect_str_eq(small, "?");
		/* many others in between: every slot taken and retaken */
		for (unsigned n = 0; n < 500; n++) {
			v4.addr.v4.s_addr = htonl(0x0a000000u + n * 7919u);
			inet_ntop(AF_INET, &v4.addr.v4, want, sizeof(want));
			sp_endpoint_host(&v4, got, sizeof(got));
			cr_assert_str_eq(got, want);
		}
	}
	/* the IPv4 address's bytes read as IPv6 */
	memset(&b, 0, sizeof(b));
	b.family = AF_INET6;
	memcpy(b.addr.bytes, a.addr.bytes, sizeof(b.addr.bytes));
	inet_ntop(AF_INET6, &b.addr.v6, want, sizeof(want));
	sp_endpoint_host(&b, got, sizeof(got));
	cr_expect_str_eq(got, want);
	sp_endpoint_host(&a, got, sizeof(got));
	cr_expect_str_eq(got, "192.0.2.1");
}
