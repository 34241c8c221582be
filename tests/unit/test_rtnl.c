/* sp_rtnl: the pure encoding (no root), then the real kernel, each kernel test
 * in a fresh network namespace of its own (nothing leaks to the host, nothing
 * to clean up). */
/* unshare() is a GNU extension; the define must come before any header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "sp_rtnl.h"

/* ---- helpers ------------------------------------------------------------- */

static struct sp_rt_prefix prefix(const char *text)
{
	struct sp_rt_prefix p;

	cr_assert_eq(sp_rt_prefix_parse(text, &p), 0, "parse %s", text);
	return p;
}

static struct sp_rt_addr addr(const char *text)
{
	return prefix(text).addr;
}

/* Every selector the kernel offers, on one rule. */
static struct sp_rule full_rule(int family, uint32_t priority)
{
	struct sp_rule r;

	memset(&r, 0, sizeof(r));
	r.family = family;
	r.priority = priority;
	r.src = prefix(family == AF_INET ? "10.1.0.0/24" : "2001:db8:1::/48");
	r.dst = prefix(family == AF_INET ? "192.0.2.7" : "2001:db8:2::7");
	snprintf(r.iifname, sizeof(r.iifname), "veth0");
	r.fwmark = 0x5;
	r.fwmask = 0xff;
	r.ip_proto = IPPROTO_UDP;
	r.sport.start = 1024;
	r.sport.end = 65534;
	r.dport.start = r.dport.end = 5060;
	r.table = 1000;
	return r;
}

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

/* The whole output of a shell command. */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char buf[512];
	size_t n;

	cr_assert_not_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, out);
	pclose(p);
	fclose(out);
	return text;
}

static size_t count_lines_with(const char *text, const char *needle)
{
	size_t count = 0;

	for (const char *line = text; line && *line;) {
		const char *eol = line + strcspn(line, "\n");
		char *copy = strndup(line, (size_t)(eol - line));

		if (strstr(copy, needle))
			count++;
		free(copy);
		line = *eol ? eol + 1 : eol;
	}
	return count;
}

/* Each kernel test gets its own network namespace, with lo up and a veth pair
 * veth0 (10.0.0.1/24, 2001:db8:f::1/64) <-> veth1. */
static void netns_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: each kernel test runs in its own network namespace (unshare(CLONE_NEWNET))");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	run("ip link set lo up");
	run("ip link add veth0 type veth peer name veth1");
	run("ip link set veth0 up && ip link set veth1 up");
	run("ip addr add 10.0.0.1/24 dev veth0");
	run("ip -6 addr add 2001:db8:f::1/64 dev veth0 nodad");
}

static struct sp_rtnl *open_rtnl(void)
{
	struct sp_rtnl *rtnl;
	struct sp_error err = { "" };

	cr_assert_eq(sp_rtnl_open(&rtnl, &err), 0, "%s", err.msg);
	return rtnl;
}

/* ---- pure: prefixes, formatting, encoding --------------------------------- */

Test(rtnl_pure, prefix_parse_and_format)
{
	struct sp_rt_prefix p;
	char text[64];

	cr_assert_eq(sp_rt_prefix_parse("10.1.0.0/24", &p), 0);
	cr_assert_eq(p.addr.family, AF_INET);
	cr_assert_eq(p.len, 24);
	sp_rt_prefix_format(&p, text, sizeof(text));
	cr_assert_str_eq(text, "10.1.0.0/24");
	cr_assert_eq(sp_rt_prefix_parse("2001:db8::1", &p), 0);
	cr_assert_eq(p.addr.family, AF_INET6);
	cr_assert_eq(p.len, 128);
	sp_rt_prefix_format(&p, text, sizeof(text));
	cr_assert_str_eq(text, "2001:db8::1");
	cr_assert_eq(sp_rt_prefix_parse("10.0.0.300/24", &p), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(sp_rt_prefix_parse("10.1.0.1/24", &p), -1, "host bits set");
	cr_assert_eq(sp_rt_prefix_parse("10.1.0.0/33", &p), -1);
	cr_assert_eq(sp_rt_prefix_parse("10.1.0.0/", &p), -1);
	cr_assert_eq(sp_rt_prefix_parse("2001:db8::/129", &p), -1);
	cr_assert_eq(sp_rt_prefix_parse("0.0.0.0/0", &p), 0);
	cr_assert_eq(p.len, 0);
}

Test(rtnl_pure, rule_format_reads_like_ip_rule)
{
	struct sp_rule r = full_rule(AF_INET, 100);
	char text[SP_RTNL_DESC_LEN];

	sp_rtnl_rule_format(&r, text, sizeof(text));
	cr_assert_str_eq(text, "pref 100 from 10.1.0.0/24 to 192.0.2.7 iif veth0 fwmark 0x5/0xff "
			 "ipproto udp sport 1024-65534 dport 5060 lookup 1000");
}

Test(rtnl_pure, route_format_reads_like_ip_route)
{
	struct sp_route rt;
	char text[SP_RTNL_DESC_LEN];

	memset(&rt, 0, sizeof(rt));
	rt.family = AF_INET;
	rt.kind = SP_ROUTE_LOCAL;
	rt.table = 100;
	sp_rtnl_route_format(&rt, text, sizeof(text));
	cr_assert_str_eq(text, "local default dev lo table 100");
	rt.kind = SP_ROUTE_UNICAST;
	rt.dst = prefix("172.16.0.0/12");
	rt.gateway = addr("10.0.0.2");
	rt.metric = 7;
	sp_rtnl_route_format(&rt, text, sizeof(text));
	cr_assert_str_eq(text, "172.16.0.0/12 via 10.0.0.2 metric 7 table 100");
}

/* What goes on the wire is what the kernel documents: header fields, every
 * attribute, the ownership tag; and a decode gives the same rule back. */
Test(rtnl_pure, rule_encoding_round_trip)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t f = 0; f < 2; f++) {
		struct sp_rule in = full_rule(families[f], 321), out;
		char buf[4096];
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		const struct fib_rule_hdr *frh;
		const struct nlattr *attr;
		int len, seen = 0;

		len = sp_rtnl_rule_encode(buf, sizeof(buf), RTM_NEWRULE, NLM_F_CREATE, &in);
		cr_assert_gt(len, 0);
		cr_assert_eq((int)nlh->nlmsg_len, len);
		cr_assert_eq(nlh->nlmsg_type, RTM_NEWRULE);
		frh = mnl_nlmsg_get_payload(nlh);
		cr_assert_eq(frh->family, families[f]);
		cr_assert_eq(frh->action, FR_ACT_TO_TBL);
		cr_assert_eq(frh->table, RT_TABLE_UNSPEC, "table 1000 does not fit the 8-bit field");
		cr_assert_eq(frh->src_len, in.src.len);
		mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
			switch (mnl_attr_get_type(attr)) {
			case FRA_PROTOCOL:
				cr_assert_eq(mnl_attr_get_u8(attr), SP_RTPROT);
				seen |= 1;
				break;
			case FRA_TABLE:
				cr_assert_eq(mnl_attr_get_u32(attr), 1000);
				seen |= 2;
				break;
			case FRA_DPORT_RANGE: {
				const struct fib_rule_port_range *pr = mnl_attr_get_payload(attr);

				cr_assert_eq(mnl_attr_get_payload_len(attr), sizeof(*pr));
				cr_assert_eq(pr->start, 5060);
				cr_assert_eq(pr->end, 5060);
				seen |= 4;
				break;
			}
			}
		}
		cr_assert_eq(seen, 7, "protocol, table and dport attributes present");
		cr_assert_eq(sp_rtnl_rule_decode(buf, &out), 0);
		cr_assert(sp_rtnl_rule_equal(&in, &out));
		cr_assert_eq(out.protocol, SP_RTPROT);
		cr_assert_str_eq(out.iifname, "veth0");
		cr_assert_eq(out.sport.start, 1024);
		cr_assert_eq(out.sport.end, 65534);
	}
}

Test(rtnl_pure, route_encoding_round_trip)
{
	struct sp_route in, out;
	char buf[4096];
	const struct rtmsg *rtm;

	memset(&in, 0, sizeof(in));
	in.family = AF_INET6;
	in.kind = SP_ROUTE_UNICAST;
	in.table = 70000;
	in.dst = prefix("2001:db8:100::/40");
	in.gateway = addr("2001:db8:f::2");
	in.metric = 5;
	cr_assert_gt(sp_rtnl_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 0, &in), 0);
	rtm = mnl_nlmsg_get_payload((const struct nlmsghdr *)buf);
	cr_assert_eq(rtm->rtm_protocol, SP_RTPROT);
	cr_assert_eq(rtm->rtm_type, RTN_UNICAST);
	cr_assert_eq(rtm->rtm_dst_len, 40);
	cr_assert_eq(sp_rtnl_route_decode(buf, &out), 0);
	cr_assert(sp_rtnl_route_equal(&in, &out));
	cr_assert_eq(out.protocol, SP_RTPROT);

	/* A local route: type local, scope host, device lo. */
	memset(&in, 0, sizeof(in));
	in.family = AF_INET;
	in.kind = SP_ROUTE_LOCAL;
	in.table = 100;
	cr_assert_gt(sp_rtnl_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 0, &in), 0);
	rtm = mnl_nlmsg_get_payload((const struct nlmsghdr *)buf);
	cr_assert_eq(rtm->rtm_type, RTN_LOCAL);
	cr_assert_eq(rtm->rtm_scope, RT_SCOPE_HOST);
	cr_assert_eq(rtm->rtm_table, 100);
	cr_assert_eq(sp_rtnl_route_decode(buf, &out), 0);
	cr_assert(sp_rtnl_route_equal(&in, &out));
}

Test(rtnl_pure, encoding_refuses_what_cannot_be_deleted_safely)
{
	struct sp_rule r = full_rule(AF_INET, 100);
	struct sp_route rt;
	char buf[4096];

	r.priority = 0;		/* the kernel would pick one we could not delete by */
	cr_assert_eq(sp_rtnl_rule_encode(buf, sizeof(buf), RTM_NEWRULE, 0, &r), -1);
	cr_assert_eq(errno, EINVAL);
	r = full_rule(AF_INET, 100);
	r.src = prefix("2001:db8::/32");	/* family mismatch */
	cr_assert_eq(sp_rtnl_rule_encode(buf, sizeof(buf), RTM_NEWRULE, 0, &r), -1);
	r = full_rule(AF_INET, 100);
	r.dport.start = 6000;
	r.dport.end = 5000;
	cr_assert_eq(sp_rtnl_rule_encode(buf, sizeof(buf), RTM_NEWRULE, 0, &r), -1);
	r = full_rule(AF_INET, 100);
	r.sport.end = 65535;	/* the kernel's "Invalid sport range" */
	cr_assert_eq(sp_rtnl_rule_encode(buf, sizeof(buf), RTM_NEWRULE, 0, &r), -1);
	memset(&rt, 0, sizeof(rt));
	rt.family = AF_INET;
	rt.table = 100;		/* unicast with neither gateway nor device */
	cr_assert_eq(sp_rtnl_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 0, &rt), -1);
}

Test(rtnl_pure, rule_equality_normalises_the_mask)
{
	struct sp_rule a = full_rule(AF_INET, 100), b = a;

	a.fwmark = b.fwmark = 1;
	a.fwmask = 0;
	b.fwmask = 0xffffffff;
	cr_assert(sp_rtnl_rule_equal(&a, &b));
	b.dport.end = 5061;
	cr_assert_not(sp_rtnl_rule_equal(&a, &b));
}

/* ---- kernel ---------------------------------------------------------------- */

TestSuite(rtnl_kernel, .init = netns_setup);

Test(rtnl_kernel, rules_with_every_selector_and_exact_delete)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_rule r1 = full_rule(AF_INET, 100), r2 = full_rule(AF_INET, 101);
	struct sp_rule r6 = full_rule(AF_INET6, 100);
	struct sp_rule *list;
	size_t n;
	struct sp_error err = { "" };
	char *text;

	r2.dport.start = 5070;
	r2.dport.end = 5080;
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r1, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r2, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r6, &err), 0, "%s", err.msg);

	text = capture("ip rule show");
	cr_assert(strstr(text, "100:\tfrom 10.1.0.0/24 to 192.0.2.7 fwmark 0x5/0xff iif veth0 "
			       "ipproto udp sport 1024-65534 dport 5060 lookup 1000 proto 160\n"),
		  "ip rule show:\n%s", text);
	cr_assert(strstr(text, "dport 5070-5080"), "%s", text);
	free(text);
	text = capture("ip -6 rule show");
	cr_assert(strstr(text, "from 2001:db8:1::/48 to 2001:db8:2::7"), "%s", text);
	free(text);

	/* The module's own dump sees the same, with our tag. */
	cr_assert_eq(sp_rtnl_rule_list(rtnl, AF_INET, true, &list, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert(sp_rtnl_rule_equal(&list[0], &r1));
	cr_assert(sp_rtnl_rule_equal(&list[1], &r2));
	cr_assert_eq(list[0].protocol, SP_RTPROT);
	free(list);

	/* Delete exactly the second: same table, same selector but the ports. */
	cr_assert_eq(sp_rtnl_rule_del(rtnl, &r2, &err), 0, "%s", err.msg);
	text = capture("ip rule show");
	cr_assert_eq(count_lines_with(text, "lookup 1000"), 1, "%s", text);
	cr_assert(strstr(text, "dport 5060"), "%s", text);
	free(text);
	/* Deleting it again: nothing there. */
	cr_assert_eq(sp_rtnl_rule_del(rtnl, &r2, &err), -1);
	cr_assert(errno == ENOENT || errno == ESRCH, "errno %d", errno);
	cr_assert(strstr(err.msg, "no such rule pref 101"), "%s", err.msg);
	sp_rtnl_close(rtnl);
}

Test(rtnl_kernel, duplicate_rule_is_eexist)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_rule r = full_rule(AF_INET, 200);
	struct sp_error err = { "" };

	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r, &err), -1);
	cr_assert_eq(errno, EEXIST);
	cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
	sp_rtnl_close(rtnl);
}

Test(rtnl_kernel, routes_local_and_via_gateway)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_route local, dflt, net6;
	struct sp_route *list;
	size_t n;
	struct sp_error err = { "" };
	char *text;

	memset(&local, 0, sizeof(local));
	local.family = AF_INET;
	local.kind = SP_ROUTE_LOCAL;
	local.table = 100;
	memset(&dflt, 0, sizeof(dflt));
	dflt.family = AF_INET;
	dflt.table = 200;
	dflt.gateway = addr("10.0.0.2");
	memset(&net6, 0, sizeof(net6));
	net6.family = AF_INET6;
	net6.table = 200;
	net6.dst = prefix("2001:db8:100::/40");
	net6.gateway = addr("2001:db8:f::2");
	cr_assert_eq(sp_rtnl_route_add(rtnl, &local, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_route_add(rtnl, &dflt, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_route_add(rtnl, &net6, &err), 0, "%s", err.msg);

	text = capture("ip route show table 100");
	cr_assert(strstr(text, "local default dev lo proto 160 scope host"), "%s", text);
	free(text);
	text = capture("ip route show table 200");
	cr_assert(strstr(text, "default via 10.0.0.2 dev veth0 proto 160"), "%s", text);
	free(text);
	text = capture("ip -6 route show table 200");
	cr_assert(strstr(text, "2001:db8:100::/40 via 2001:db8:f::2 dev veth0 proto 160"), "%s", text);
	free(text);

	cr_assert_eq(sp_rtnl_route_list(rtnl, AF_INET, 200, true, &list, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].protocol, SP_RTPROT);
	cr_assert_eq(list[0].gateway.v4.s_addr, dflt.gateway.v4.s_addr);
	free(list);

	/* Duplicate. */
	cr_assert_eq(sp_rtnl_route_add(rtnl, &dflt, &err), -1);
	cr_assert_eq(errno, EEXIST);
	cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);

	/* Delete: the route goes, table 100's stays. */
	cr_assert_eq(sp_rtnl_route_del(rtnl, &dflt, &err), 0, "%s", err.msg);
	text = capture("ip route show table 200");
	cr_assert_str_empty(text, "%s", text);
	free(text);
	text = capture("ip route show table 100");
	cr_assert(strstr(text, "local default"), "%s", text);
	free(text);
	sp_rtnl_close(rtnl);
}

Test(rtnl_kernel, unreachable_gateway)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_route rt;
	struct sp_rt_addr gw = addr("10.9.9.9"), near = addr("10.0.0.2");
	unsigned oif = 0, veth0 = 0;
	struct sp_error err = { "" };

	memset(&rt, 0, sizeof(rt));
	rt.family = AF_INET;
	rt.table = 200;
	rt.gateway = gw;
	cr_assert_eq(sp_rtnl_route_add(rtnl, &rt, &err), -1);
	cr_assert_eq(errno, ENETUNREACH);
	cr_assert_str_eq(err.msg, "next hop 10.9.9.9 is not on a connected network");

	/* The same verdict before installing. */
	cr_assert_eq(sp_rtnl_gateway_check(rtnl, &gw, &oif, &err), -1);
	cr_assert_eq(errno, ENETUNREACH);
	cr_assert_str_eq(err.msg, "next hop 10.9.9.9 is not on a connected network");
	/* Still not connected when reachable only through another gateway. */
	run("ip route add 10.9.0.0/16 via 10.0.0.2");
	cr_assert_eq(sp_rtnl_gateway_check(rtnl, &gw, &oif, &err), -1);
	cr_assert_eq(errno, ENETUNREACH);
	/* On veth0's network: fine, and the interface is veth0. */
	cr_assert_eq(sp_rtnl_gateway_check(rtnl, &near, &oif, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_ifindex("veth0", &veth0, &err), 0);
	cr_assert_eq(oif, veth0);
	sp_rtnl_close(rtnl);
}

Test(rtnl_kernel, flush_removes_ours_and_keeps_foreign)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_rule r = full_rule(AF_INET, 300), r6 = full_rule(AF_INET6, 300);
	struct sp_route local, local6;
	struct sp_rule *rules;
	size_t nrules = 0, nroutes = 0, n;
	struct sp_error err = { "" };
	char *text;

	/* Foreign entries, some in the very same tables and at the same priority. */
	run("ip rule add pref 300 from 10.1.0.0/24 lookup 1000");
	run("ip rule add pref 50 fwmark 0x9 lookup 100");
	run("ip route add 192.0.2.0/24 via 10.0.0.2 table 100");
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_rule_add(rtnl, &r6, &err), 0, "%s", err.msg);
	memset(&local, 0, sizeof(local));
	local.family = AF_INET;
	local.kind = SP_ROUTE_LOCAL;
	local.table = 100;
	local6 = local;
	local6.family = AF_INET6;
	cr_assert_eq(sp_rtnl_route_add(rtnl, &local, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_rtnl_route_add(rtnl, &local6, &err), 0, "%s", err.msg);

	cr_assert_eq(sp_rtnl_flush_owned(rtnl, &nrules, &nroutes, &err), 0, "%s", err.msg);
	cr_assert_eq(nrules, 2);
	cr_assert_eq(nroutes, 2);

	text = capture("ip rule show; ip -6 rule show");
	cr_assert_eq(count_lines_with(text, "proto 160"), 0, "%s", text);
	cr_assert(strstr(text, "300:\tfrom 10.1.0.0/24 lookup 1000"), "%s", text);
	cr_assert(strstr(text, "50:\tfrom all fwmark 0x9 lookup 100"), "%s", text);
	free(text);
	text = capture("ip route show table 100; ip -6 route show table 100");
	cr_assert_str_eq(text, "192.0.2.0/24 via 10.0.0.2 dev veth0 \n", "%s", text);
	free(text);

	/* Nothing of ours left; all rules still listable. */
	cr_assert_eq(sp_rtnl_rule_list(rtnl, AF_INET, true, &rules, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(rules);
	cr_assert_eq(sp_rtnl_rule_list(rtnl, AF_INET, false, &rules, &n, &err), 0);
	cr_assert_eq(n, 5, "local, main, default and the two foreign rules");
	free(rules);
	sp_rtnl_close(rtnl);
}

/* A delete never touches a foreign rule, even one with the same selector. */
Test(rtnl_kernel, delete_leaves_foreign_twin)
{
	struct sp_rtnl *rtnl = open_rtnl();
	struct sp_rule r;
	struct sp_error err = { "" };
	char *text;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.priority = 400;
	r.fwmark = 1;
	r.table = 100;
	run("ip rule add pref 400 fwmark 1 lookup 100");
	cr_assert_eq(sp_rtnl_rule_del(rtnl, &r, &err), -1);
	text = capture("ip rule show");
	cr_assert(strstr(text, "400:\tfrom all fwmark 0x1 lookup 100"), "%s", text);
	free(text);
	sp_rtnl_close(rtnl);
}

Test(rtnl_kernel, interface_lookup)
{
	unsigned idx = 0;
	struct sp_error err = { "" };
	char name[IFNAMSIZ];

	cr_assert_eq(sp_rtnl_ifindex("lo", &idx, &err), 0);
	cr_assert_eq(idx, 1);
	cr_assert_eq(sp_rtnl_ifindex("veth1", &idx, &err), 0);
	cr_assert_eq(sp_rtnl_ifname(idx, name, &err), 0);
	cr_assert_str_eq(name, "veth1");
	cr_assert_eq(sp_rtnl_ifindex("nosuch0", &idx, &err), -1);
	cr_assert_eq(errno, ENODEV);
	cr_assert_str_eq(err.msg, "no interface named nosuch0");
}
