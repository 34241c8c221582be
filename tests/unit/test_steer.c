/* The worker a terminal is steered to (policy-routing/sp_steer.h): the
 * daemon's C hash is the BPF program's (bpf/sp_steer_map.h), IPv4 and IPv6,
 * and it spreads terminals over the workers. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sp_steer.h"
#include "bpf/sp_steer_map.h"

static struct sp_endpoint ep(const char *addr, uint16_t port)
{
	struct sp_endpoint e = { .port = port };

	if (inet_pton(AF_INET, addr, &e.addr.v4) == 1)
		e.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &e.addr.v6) == 1)
		e.family = AF_INET6;
	return e;
}

Test(steer, one_worker_is_worker_0)
{
	struct sp_endpoint t = ep("10.1.0.10", 5060);

	cr_assert_eq(sp_steer_worker(&t, 1), 0);
	cr_assert_eq(sp_steer_worker(&t, 0), 0);
}

/* test_order.sh counts on these two (and computes them the same way) */
Test(steer, ipv4_as_the_program)
{
	struct sp_endpoint a = ep("10.1.0.10", 5060), b = ep("10.1.0.11", 5060);

	cr_assert_eq(sp_steer_worker(&a, 2), sp_steer_pick(0x0a01000a, 5060, 2));
	cr_assert_eq(sp_steer_worker(&a, 2), 1);
	cr_assert_eq(sp_steer_worker(&b, 2), 0);
}

Test(steer, ipv6_words_xored)
{
	struct sp_endpoint t = ep("2001:db8::1:5", 40000);
	unsigned x = 0x20010db8u ^ 0x00010005u; /* the last word is 1:5 */

	for (unsigned n = 2; n <= 8; n++)
		cr_assert_eq(sp_steer_worker(&t, n), sp_steer_pick(x, 40000, n));
}

/* one address, many ports (a trunk or a NAT), and many addresses with one
 * port: every worker gets a share */
Test(steer, spreads)
{
	for (unsigned n = 2; n <= 8; n++) {
		unsigned by_port[8] = { 0 }, by_addr[8] = { 0 };

		for (unsigned i = 0; i < 800; i++) {
			struct sp_endpoint t = ep("192.0.2.7", (uint16_t)(10000 + i));
			char a[32];

			by_port[sp_steer_worker(&t, n)]++;
			snprintf(a, sizeof(a), "10.%u.%u.%u", i / 65536, (i / 256) % 256, i % 256);
			t = ep(a, 5060);
			by_addr[sp_steer_worker(&t, n)]++;
		}
		for (unsigned w = 0; w < n; w++) {
			cr_assert_gt(by_port[w], 800 / n / 2, "n %u worker %u: %u by port", n, w, by_port[w]);
			cr_assert_gt(by_addr[w], 800 / n / 2, "n %u worker %u: %u by address", n, w, by_addr[w]);
		}
	}
}

/* signaling-sockets shared with workers: the worker whose shared socket a
 * server's datagram to C:port goes to (sp_steer_server_worker, the BPF
 * program's choice from the port owner map). */
Test(steer, server_port_to_its_owner)
{
	struct sp_steer_server s = { .first = 40000, .last = 49999 };

	/* the owner entry is the worker plus one */
	cr_assert_eq(sp_steer_server_worker(&s, 40000, 1, 2), 0);
	cr_assert_eq(sp_steer_server_worker(&s, 45000, 2, 2), 1);
	cr_assert_eq(sp_steer_server_worker(&s, 49999, 64, 64), 63);
}

Test(steer, server_port_without_owner_to_worker_0)
{
	struct sp_steer_server s = { .first = 40000, .last = 49999 };

	/* worker 0 counts it as 'no binding', as the one shared socket did */
	cr_assert_eq(sp_steer_server_worker(&s, 40001, 0, 2), 0);
	/* an entry beyond the workers (the map outlived a change) */
	cr_assert_eq(sp_steer_server_worker(&s, 40001, 3, 2), 0);
}

Test(steer, server_port_outside_the_range_is_not_steered)
{
	struct sp_steer_server s = { .first = 40000, .last = 49999 };
	struct sp_steer_server off = { 0 };

	cr_assert_eq(sp_steer_server_worker(&s, 39999, 2, 2), -1);
	cr_assert_eq(sp_steer_server_worker(&s, 50000, 2, 2), -1);
	cr_assert_eq(sp_steer_server_worker(&s, 5060, 2, 2), -1);
	/* first 0: shared sockets off, nothing steered */
	cr_assert_eq(sp_steer_server_worker(&off, 40000, 2, 2), -1);
}

Test(steer, owner_keys_per_family)
{
	/* a v4 and a v6 C have separate pools: the same c, two owners */
	cr_assert_neq(SP_STEER_OWNER_KEY(0, 40000), SP_STEER_OWNER_KEY(1, 40000));
	cr_assert_lt(SP_STEER_OWNER_KEY(1, 65535), SP_STEER_OWNERS);
	/* the shared sockets' slot is beyond every listen port's */
	cr_assert_lt(SP_STEER_KEY(SP_STEER_SERVER_SLOT, 1, SP_STEER_WORKERS_MAX - 1), SP_STEER_SOCKS);
	cr_assert_gt(SP_STEER_KEY(SP_STEER_SERVER_SLOT, 0, 0),
		     SP_STEER_KEY(SP_STEER_PORTS_MAX - 1, 1, SP_STEER_WORKERS_MAX - 1));
}
