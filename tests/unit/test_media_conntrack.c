/* sp_conntrack against the real kernel, each test in a fresh network
 * namespace of its own (Criterion runs every test in its own process). */
#define _GNU_SOURCE
#include "config.h"
#include "sp_conntrack.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

static struct sp_conntrack *ct;

static void setup(void)
{
	struct sp_error err = { "" };

	if (geteuid() != 0)
		cr_skip_test("needs root: creates a network namespace and conntrack entries");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(sp_conntrack_open(&ct, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	sp_conntrack_close(ct);
}

static struct sp_ct_nat nat(const char *t, uint16_t tp, uint16_t pe, const char *f, uint16_t fp,
			    uint16_t pc)
{
	struct sp_ct_nat n;

	sp_endpoint_parse(&n.terminal, t, tp);
	sp_endpoint_parse(&n.terminal_side, "198.51.100.1", pe);
	sp_endpoint_parse(&n.far, f, fp);
	sp_endpoint_parse(&n.far_side, "192.0.2.1", pc);
	return n;
}

/* An entry that is not ours (no mark), made the way conntrack -I would. */
static void create_foreign(void)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nf_conntrack *c = nfct_new();

	cr_assert(h && c);
	nfct_set_attr_u8(c, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u8(c, ATTR_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u32(c, ATTR_IPV4_SRC, inet_addr("10.7.0.1"));
	nfct_set_attr_u32(c, ATTR_IPV4_DST, inet_addr("10.7.0.2"));
	nfct_set_attr_u16(c, ATTR_PORT_SRC, htons(1000));
	nfct_set_attr_u16(c, ATTR_PORT_DST, htons(2000));
	nfct_set_attr_u8(c, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u8(c, ATTR_REPL_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u32(c, ATTR_REPL_IPV4_SRC, inet_addr("10.7.0.2"));
	nfct_set_attr_u32(c, ATTR_REPL_IPV4_DST, inet_addr("10.7.0.1"));
	nfct_set_attr_u16(c, ATTR_REPL_PORT_SRC, htons(2000));
	nfct_set_attr_u16(c, ATTR_REPL_PORT_DST, htons(1000));
	nfct_set_attr_u32(c, ATTR_TIMEOUT, 60);
	cr_assert_eq(nfct_query(h, NFCT_Q_CREATE, c), 0, "foreign entry: %s", strerror(errno));
	nfct_destroy(c);
	nfct_close(h);
}

TestSuite(conntrack, .init = setup, .fini = teardown);

Test(conntrack, create_list_counters_delete)
{
	struct sp_ct_nat n = nat("10.1.0.10", 6000, 20002, "192.0.2.10", 7000, 20000), *v;
	struct sp_ct_counters c;
	char b[160];
	int count;

	cr_assert_eq(sp_conntrack_create(ct, &n, 60), 0);
	cr_assert_eq(sp_conntrack_create(ct, &n, 60), -EEXIST, "the tuple is taken");
	count = sp_conntrack_list(ct, &v);
	cr_assert_eq(count, 1);
	cr_assert_eq(memcmp(&v[0], &n, sizeof(n)), 0, "listed %s", sp_ct_nat_format(&v[0], b, sizeof(b)));
	free(v);
	cr_assert_eq(sp_conntrack_counters(ct, &n, &c), 0);
	cr_assert_eq(c.orig_packets + c.reply_packets, 0, "no packet has passed");
	cr_assert_eq(sp_conntrack_delete(ct, &n), 0);
	{ int rc = sp_conntrack_delete(ct, &n); cr_assert_eq(rc, -ENOENT, "second delete: %d", rc); }
	cr_assert_eq(sp_conntrack_counters(ct, &n, &c), -ENOENT);
	cr_assert_eq(sp_conntrack_list(ct, &v), 0);
	free(v);
}

Test(conntrack, reply_tuple_collision_refused)
{
	struct sp_ct_nat a = nat("10.1.0.10", 6000, 20002, "192.0.2.10", 7000, 20000);
	/* another terminal flow whose reply would also be F:f -> C:pc */
	struct sp_ct_nat b = nat("10.1.0.11", 6000, 20006, "192.0.2.10", 7000, 20000);

	cr_assert_eq(sp_conntrack_create(ct, &a, 60), 0);
	cr_assert_neq(sp_conntrack_create(ct, &b, 60), 0);
}

Test(conntrack, flush_removes_only_owned_entries)
{
	struct sp_ct_nat n1 = nat("10.1.0.10", 6000, 20002, "192.0.2.10", 7000, 20000);
	struct sp_ct_nat n2 = nat("10.1.0.10", 6001, 20003, "192.0.2.10", 7001, 20001);
	struct sp_ct_nat *v;

	create_foreign();
	cr_assert_eq(sp_conntrack_create(ct, &n1, 60), 0);
	cr_assert_eq(sp_conntrack_create(ct, &n2, 60), 0);
	cr_assert_eq(sp_conntrack_list(ct, &v), 2, "the foreign entry is not listed");
	free(v);
	cr_assert_eq(sp_conntrack_flush(ct), 2);
	cr_assert_eq(sp_conntrack_list(ct, &v), 0);
	free(v);
	cr_assert_eq(system("conntrack -L -p udp --orig-src 10.7.0.1 2>/dev/null | grep -q 10.7.0.2"), 0,
		     "the foreign entry survives");
}

Test(conntrack, ipv6_refused)
{
	struct sp_ct_nat n = nat("10.1.0.10", 6000, 20002, "192.0.2.10", 7000, 20000);

	sp_endpoint_parse(&n.terminal, "2001:db8::1", 6000);
	cr_assert_eq(sp_conntrack_create(ct, &n, 60), -EAFNOSUPPORT);
}

/* IPv6 (issue 18): an entry whose four endpoints are IPv6 is created with
 * its NAT, listed back as it was given, and deleted. */
Test(conntrack, ipv6_entry_created_listed_deleted)
{
	struct sp_ct_nat n = { 0 }, *v = NULL;
	char a[160], b[160];

	sp_endpoint_parse(&n.terminal, "2001:db8:1::10", 6000);
	sp_endpoint_parse(&n.terminal_side, "2001:db8:5::1", 20000);
	sp_endpoint_parse(&n.far, "2001:db8:2::10", 7000);
	sp_endpoint_parse(&n.far_side, "2001:db8:2::1", 20002);
	cr_assert_eq(sp_conntrack_create(ct, &n, 60), 0);
	cr_assert_eq(sp_conntrack_list(ct, &v), 1);
	cr_assert_str_eq(sp_ct_nat_format(&v[0], a, sizeof(a)), sp_ct_nat_format(&n, b, sizeof(b)));
	free(v);
	cr_assert_eq(system("conntrack -L -f ipv6 2>/dev/null | grep -q 'dst=2001:db8:2::1 sport=7000 dport=20002'"),
		     0, "the reply tuple is NATed to C6:pc");
	cr_assert_eq(sp_conntrack_delete(ct, &n), 0);
	cr_assert_eq(sp_conntrack_list(ct, &v), 0);
	free(v);
}
