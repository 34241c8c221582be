/* Port allocator: range, exhaustion, no reuse of ports in use, LRU reuse. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sp_portalloc.h"

Test(portalloc, bad_ranges_refused)
{
	cr_expect_null(sp_portalloc_create(100, 99, 1));
	cr_expect_null(sp_portalloc_create(100, 200, 3));
	cr_expect_null(sp_portalloc_create(101, 101, 2), "no room for a pair");
}

Test(portalloc, hands_out_each_port_once_then_reports_exhaustion)
{
	struct sp_portalloc *pa = sp_portalloc_create(5000, 5099, 1);
	bool seen[100] = { false };
	uint16_t port;

	cr_assert_not_null(pa);
	cr_expect_eq(sp_portalloc_capacity(pa), 100);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_assert(port >= 5000 && port <= 5099, "port %u in range", port);
		cr_assert_not(seen[port - 5000], "port %u handed out twice", port);
		seen[port - 5000] = true;
		cr_expect(sp_portalloc_in_use(pa, port));
	}
	cr_expect_eq(sp_portalloc_used(pa), 100);
	cr_expect_eq(sp_portalloc_alloc(pa, &port), -ENOSPC);
	cr_assert_eq(sp_portalloc_release(pa, 5042), 0);
	cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
	cr_expect_eq(port, 5042, "the only free port");
	cr_expect_eq(sp_portalloc_alloc(pa, &port), -ENOSPC);
	sp_portalloc_destroy(pa);
}

Test(portalloc, released_port_goes_to_the_back)
{
	struct sp_portalloc *pa = sp_portalloc_create(6000, 6009, 1);
	uint16_t first, port;

	cr_assert_not_null(pa);
	cr_assert_eq(sp_portalloc_alloc(pa, &first), 0);
	cr_assert_eq(sp_portalloc_release(pa, first), 0);
	/* Nine other free ports come before the one just released. */
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_expect_neq(port, first, "allocation %d reused a fresh port", i);
	}
	cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
	cr_expect_eq(port, first);
	sp_portalloc_destroy(pa);
}

Test(portalloc, release_order_is_reuse_order)
{
	struct sp_portalloc *pa = sp_portalloc_create(7000, 7004, 1);
	uint16_t port;
	const uint16_t order[] = { 7003, 7000, 7004, 7001, 7002 };

	cr_assert_not_null(pa);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(sp_portalloc_release(pa, order[i]), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_expect_eq(port, order[i]);
	}
	sp_portalloc_destroy(pa);
}

Test(portalloc, take_and_double_release)
{
	struct sp_portalloc *pa = sp_portalloc_create(8000, 8009, 1);
	uint16_t port;

	cr_assert_not_null(pa);
	cr_expect_eq(sp_portalloc_take(pa, 8005), 0);
	cr_expect_eq(sp_portalloc_take(pa, 8005), -EADDRINUSE);
	cr_expect_eq(sp_portalloc_take(pa, 7999), -ERANGE);
	cr_expect_eq(sp_portalloc_release(pa, 8010), -ERANGE);
	cr_expect_eq(sp_portalloc_release(pa, 8004), -EINVAL, "not in use");
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_expect_neq(port, 8005, "a taken port is never allocated");
	}
	cr_expect_eq(sp_portalloc_alloc(pa, &port), -ENOSPC);
	cr_expect_eq(sp_portalloc_release(pa, 8005), 0);
	cr_expect_eq(sp_portalloc_release(pa, 8005), -EINVAL, "double release");
	sp_portalloc_destroy(pa);
}

Test(portalloc, pairs_are_even_and_disjoint)
{
	struct sp_portalloc *pa = sp_portalloc_create(10001, 10010, 2);
	uint16_t port;

	cr_assert_not_null(pa);
	/* 10001 rounds up to 10002: pairs 10002, 10004, 10006, 10008 (10010 has no +1). */
	cr_expect_eq(sp_portalloc_capacity(pa), 4);
	for (uint16_t want = 10002; want <= 10008; want += 2) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_expect_eq(port, want);
	}
	cr_expect_eq(sp_portalloc_alloc(pa, &port), -ENOSPC);
	cr_expect_eq(sp_portalloc_release(pa, 10003), -ERANGE, "odd port is not a pair base");
	sp_portalloc_destroy(pa);
}

Test(portalloc, never_port_zero_and_full_range)
{
	struct sp_portalloc *pa = sp_portalloc_create(0, 65535, 1);
	uint16_t port;

	cr_assert_not_null(pa);
	cr_expect_eq(sp_portalloc_capacity(pa), 65535);
	cr_expect_eq(sp_portalloc_take(pa, 0), -ERANGE);
	cr_expect_eq(sp_portalloc_take(pa, 65535), 0);
	for (unsigned i = 0; i < 65534; i++) {
		cr_assert_eq(sp_portalloc_alloc(pa, &port), 0);
		cr_assert_neq(port, 0);
		cr_assert_neq(port, 65535);
	}
	cr_expect_eq(sp_portalloc_alloc(pa, &port), -ENOSPC);
	sp_portalloc_destroy(pa);
}

/* Random alloc/release against a model: the allocator never hands out a port in use. */
Test(portalloc, random_against_model)
{
	enum { LO = 30000, N = 64 };
	struct sp_portalloc *pa = sp_portalloc_create(LO, LO + N - 1, 1);
	bool used[N] = { false };
	unsigned n_used = 0;
	unsigned seed = 12345;

	cr_assert_not_null(pa);
	for (int step = 0; step < 20000; step++) {
		unsigned r = rand_r(&seed);
		uint16_t port;

		if (r % 2) {
			int rc = sp_portalloc_alloc(pa, &port);

			if (n_used == N) {
				cr_assert_eq(rc, -ENOSPC);
				continue;
			}
			cr_assert_eq(rc, 0);
			cr_assert_not(used[port - LO], "port %u already in use", port);
			used[port - LO] = true;
			n_used++;
		} else {
			port = (uint16_t)(LO + (r / 2) % N);
			cr_assert_eq(sp_portalloc_release(pa, port), used[port - LO] ? 0 : -EINVAL);
			if (used[port - LO]) {
				used[port - LO] = false;
				n_used--;
			}
		}
		cr_assert_eq(sp_portalloc_used(pa), n_used);
	}
	sp_portalloc_destroy(pa);
}
