/* Policy routes: the plans (pure) and the transactions against a real kernel
 * (each kernel test in its own network namespace). */
/* unshare() is a GNU extension; the define must come before any header. */
#define _GNU_SOURCE
#include "config.h"
#include "sp_pbr.h"
#include "sp_retpath.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

static struct sp_policy_route *add_route(struct sp_config *c, const char *name, uint32_t seq)
{
	struct sp_error e = { { 0 } };
	struct sp_policy_route *r = sp_config_policy_route_create(c, name, seq, &e);

	cr_assert_not_null(r, "%s", e.msg);
	return r;
}

static void set_prefix(struct sp_prefix *p, const char *text)
{
	struct sp_error e = { { 0 } };

	cr_assert_eq(sp_parse_prefix(text, p, &e), 0, "%s", e.msg);
}

static void set_addr(struct sp_addr *a, const char *text)
{
	struct sp_error e = { { 0 } };

	cr_assert_eq(sp_parse_addr(text, a, &e), 0, "%s", e.msg);
}

/* The SIP of 10.1.0.0/24 to the next hop 10.0.0.2. */
static void sip_to_sp(struct sp_policy_route *r, const char *next_hop)
{
	r->match = SP_MATCH_SOURCE | SP_MATCH_PROTOCOL | SP_MATCH_DESTINATION_PORT;
	set_prefix(&r->source, "10.1.0.0/24");
	r->protocol = IPPROTO_UDP;
	r->destination_port.lo = r->destination_port.hi = 5060;
	set_addr(&r->next_hop, next_hop);
}

/* ---- pure ---- */

Test(pbr_plan, next_hop_gives_one_rule_and_a_default_route)
{
	struct sp_config *c = sp_config_new();
	struct sp_policy_route *r = add_route(c, "SIP", 10);
	struct sp_pbr_plan plan;
	struct sp_error err = { "" };
	char desc[SP_RTNL_DESC_LEN];

	sip_to_sp(r, "10.0.0.2");
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), 0, "%s", err.msg);
	cr_assert(plan.active);
	cr_assert_eq(plan.n_rules, 1);
	cr_assert_eq(plan.rules[0].family, AF_INET);
	cr_assert_eq(plan.rules[0].priority, SP_PBR_RULE_PRIORITY_BASE + 10);
	cr_assert_eq(plan.rules[0].table, SP_PBR_TABLE_BASE + 10);
	cr_assert_eq(plan.rules[0].ip_proto, IPPROTO_UDP);
	cr_assert_eq(plan.rules[0].dport.start, 5060);
	cr_assert_eq(plan.rules[0].dport.end, 5060);
	sp_rtnl_rule_format(&plan.rules[0], desc, sizeof(desc));
	cr_assert(strstr(desc, "from 10.1.0.0/24"), "%s", desc);
	cr_assert(plan.has_route);
	cr_assert_eq(plan.route.table, SP_PBR_TABLE_BASE + 10);
	cr_assert_eq(plan.route.dst.len, 0);
	cr_assert_eq(plan.route.gateway.family, AF_INET);
	cr_assert_eq(plan.route.gateway.v4.s_addr, inet_addr("10.0.0.2"));
	sp_config_free(c);
}

Test(pbr_plan, table_without_prefix_gives_a_rule_per_family)
{
	struct sp_config *c = sp_config_new();
	struct sp_policy_route *r = add_route(c, "T", 5);
	struct sp_pbr_plan plan;
	struct sp_error err = { "" };

	r->match = SP_MATCH_INPUT_INTERFACE;
	strcpy(r->input_interface, "eth1");
	r->table = 300;
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), 0, "%s", err.msg);
	cr_assert_eq(plan.n_rules, 2);
	cr_assert_eq(plan.rules[0].family, AF_INET);
	cr_assert_eq(plan.rules[1].family, AF_INET6);
	cr_assert_eq(plan.rules[0].table, 300);
	cr_assert_str_eq(plan.rules[1].iifname, "eth1");
	cr_assert_not(plan.has_route);
	sp_config_free(c);
}

Test(pbr_plan, nothing_to_do_without_next_hop_or_table)
{
	struct sp_config *c = sp_config_new();
	struct sp_policy_route *r = add_route(c, "N", 1);
	struct sp_pbr_plan plan;
	struct sp_error err = { "" };

	set_prefix(&r->source, "10.1.0.0/24");
	r->match = SP_MATCH_SOURCE;
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), 0);
	cr_assert_not(plan.active);
	cr_assert_eq(plan.n_rules, 0);
	sp_config_free(c);
}

Test(pbr_plan, refusals)
{
	struct sp_config *c = sp_config_new();
	struct sp_policy_route *r = add_route(c, "B", 1);
	struct sp_pbr_plan plan;
	struct sp_error err = { "" };

	/* an IPv6 next hop for an IPv4 source */
	sip_to_sp(r, "2001:db8::2");
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), -1);
	cr_assert(strstr(err.msg, "address family"), "%s", err.msg);
	/* ports without a protocol that has them */
	sip_to_sp(r, "10.0.0.2");
	r->match &= ~(uint32_t)SP_MATCH_PROTOCOL;
	r->protocol = 0;
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), -1);
	cr_assert(strstr(err.msg, "match protocol"), "%s", err.msg);
	/* beyond the priorities before the main table */
	sip_to_sp(r, "10.0.0.2");
	r->seq = SP_PBR_SEQ_MAX + 1;
	cr_assert_eq(sp_pbr_plan_build(r, &plan, &err), -1);
	cr_assert(strstr(err.msg, "seq must be"), "%s", err.msg);
	sp_config_free(c);
}

/* ---- kernel ---- */

static void netns_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: each kernel test runs in its own network namespace (unshare(CLONE_NEWNET))");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	run("ip link set lo up");
	run("ip link add veth0 type veth peer name veth1");
	run("ip link set veth0 up && ip link set veth1 up");
	run("ip addr add 10.0.0.1/24 dev veth0");
}

/* Lines of `cmd` output containing needle. */
static int count_lines(const char *cmd, const char *needle)
{
	FILE *p = popen(cmd, "r");
	char line[512];
	int n = 0;

	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, needle))
			n++;
	pclose(p);
	return n;
}

static struct sp_pbr *open_pbr(void)
{
	struct sp_pbr *pbr;
	struct sp_error err = { "" };

	cr_assert_eq(sp_pbr_open(&pbr, &err), 0, "%s", err.msg);
	return pbr;
}

Test(pbr_kernel, install_show_remove, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new(), *c2;
	struct sp_error e = { { 0 } };

	sip_to_sp(add_route(c, "SIP", 10), "10.0.0.2");
	add_route(c, "OTHER", 20)->table = 300;
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	cr_assert_eq(count_lines("ip rule", "1010:\tfrom 10.1.0.0/24 ipproto udp dport 5060 lookup 100010 proto 160"), 1);
	cr_assert_eq(count_lines("ip route show table 100010", "default via 10.0.0.2 dev veth0 proto 160"), 1);
	cr_assert_eq(count_lines("ip rule", "1020:\tfrom all lookup 300 proto 160"), 1);
	cr_assert_eq(count_lines("ip -6 rule", "1020:\tfrom all lookup 300 proto 160"), 1);
	cr_assert_str_eq(sp_pbr_state(pbr, "SIP", 10), "installed");
	cr_assert_null(sp_pbr_state(pbr, "SIP", 11));

	/* `no policy-route SIP`: exactly its rule and route go */
	c2 = sp_config_dup(c);
	cr_assert_eq(sp_config_policy_route_remove(c2, "SIP", 0), 1);
	cr_assert_eq(sp_pbr_apply(pbr, c2, true, &e), 0, "%s", e.msg);
	cr_assert_eq(count_lines("ip rule", "lookup 100010"), 0);
	cr_assert_eq(count_lines("ip route show table 100010", "default"), 0);
	cr_assert_eq(count_lines("ip rule", "lookup 300"), 1);

	/* closing (SIGTERM) removes the rest */
	sp_pbr_close(pbr);
	cr_assert_eq(count_lines("ip rule; ip -6 rule", "proto 160"), 0);
	sp_config_free(c);
	sp_config_free(c2);
}

Test(pbr_kernel, changed_next_hop_replaces_the_route, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new(), *c2;
	struct sp_error e = { { 0 } };

	sip_to_sp(add_route(c, "SIP", 10), "10.0.0.2");
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	c2 = sp_config_dup(c);
	set_addr(&sp_config_policy_route_find(c2, "SIP", 10)->next_hop, "10.0.0.3");
	cr_assert_eq(sp_pbr_apply(pbr, c2, true, &e), 0, "%s", e.msg);
	cr_assert_eq(count_lines("ip route show table 100010", "default via 10.0.0.3"), 1);
	cr_assert_eq(count_lines("ip route show table 100010", "10.0.0.2"), 0);
	cr_assert_eq(count_lines("ip rule", "lookup 100010"), 1);
	sp_pbr_close(pbr);
	sp_config_free(c);
	sp_config_free(c2);
}

/* A refused commit leaves the kernel exactly as it was, even when the entry
 * refused comes after one that was installed in the same call. */
Test(pbr_kernel, refusals_change_nothing, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new(), *bad;
	struct sp_error e = { { 0 } };

	sip_to_sp(add_route(c, "SIP", 10), "10.0.0.2");
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);

	/* a next hop that is one of our own addresses can never work, with a
	 * new good entry before it and the existing one removed */
	bad = sp_config_dup(c);
	sp_config_policy_route_remove(bad, "SIP", 0);
	add_route(bad, "GOOD", 5)->table = 400;
	sip_to_sp(add_route(bad, "LOCAL", 50), "10.0.0.1");
	cr_assert_eq(sp_pbr_apply(pbr, bad, true, &e), -1);
	cr_assert(strstr(e.msg, "policy-route LOCAL seq 50: next hop 10.0.0.1"), "%s", e.msg);
	cr_assert_eq(count_lines("ip rule", "lookup 100010"), 1);
	cr_assert_eq(count_lines("ip route show table 100010", "default via 10.0.0.2"), 1);
	cr_assert_eq(count_lines("ip rule", "lookup 400"), 0);
	cr_assert_eq(count_lines("ip rule", "lookup 100050"), 0);
	cr_assert_str_eq(sp_pbr_state(pbr, "SIP", 10), "installed");
	sp_config_free(bad);

	cr_assert_eq(count_lines("ip rule", "proto 160"), 1);
	sp_pbr_close(pbr);
	sp_config_free(c);
}

/* What depends on the network's current state (a next hop not on a
 * connected network yet, an input interface not there yet) is accepted by a
 * strict commit too, not installed, with the reason: as at start-up. */
Test(pbr_kernel, network_state_waits, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new(), *next;
	struct sp_error e = { { 0 } };

	sip_to_sp(add_route(c, "SIP", 10), "10.0.0.2");
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	next = sp_config_dup(c);
	sip_to_sp(add_route(next, "X", 30), "10.9.9.9");
	{
		struct sp_policy_route *r = add_route(next, "IIF", 40);

		r->match = SP_MATCH_INPUT_INTERFACE;
		strcpy(r->input_interface, "nosuch0");
		r->table = 500;
	}
	cr_assert_eq(sp_pbr_apply(pbr, next, true, &e), 0, "%s", e.msg);
	cr_assert_str_eq(sp_pbr_state(pbr, "X", 30),
			 "not installed: next hop 10.9.9.9 is not on a connected network");
	cr_assert_str_eq(sp_pbr_state(pbr, "IIF", 40), "not installed: input interface nosuch0 does not exist");
	cr_assert_str_eq(sp_pbr_state(pbr, "SIP", 10), "installed");
	cr_assert_eq(count_lines("ip rule", "lookup 100030"), 0);
	cr_assert_eq(count_lines("ip rule", "lookup 500"), 0);
	cr_assert_eq(count_lines("ip rule", "proto 160"), 1);
	sp_pbr_close(pbr);
	sp_config_free(next);
	sp_config_free(c);
}

/* At start-up (not strict) a refused entry is reported, not fatal; once its
 * next hop becomes reachable a later commit installs it. */
Test(pbr_kernel, startup_records_the_reason, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };

	sip_to_sp(add_route(c, "SIP", 10), "10.2.0.2");
	add_route(c, "OTHER", 20)->table = 300;
	cr_assert_eq(sp_pbr_apply(pbr, c, false, &e), 0, "%s", e.msg);
	cr_assert_str_eq(sp_pbr_state(pbr, "SIP", 10),
			 "not installed: next hop 10.2.0.2 is not on a connected network");
	cr_assert_str_eq(sp_pbr_state(pbr, "OTHER", 20), "installed");
	/* unchanged and still refused: a strict commit is not blocked by it */
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	run("ip addr add 10.2.0.1/24 dev veth0");
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	cr_assert_str_eq(sp_pbr_state(pbr, "SIP", 10), "installed");
	cr_assert_eq(count_lines("ip route show table 100010", "default via 10.2.0.2"), 1);
	sp_pbr_close(pbr);
	sp_config_free(c);
}

/* Traffic really takes the rule: the kernel's own route lookup for SIP from a
 * terminal uses the policy table, other traffic the main table. */
Test(pbr_kernel, route_get_follows_the_rule, .init = netns_setup)
{
	struct sp_pbr *pbr = open_pbr();
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };

	run("ip link add veth2 type veth peer name veth3 && ip link set veth2 up && ip link set veth3 up");
	run("ip addr add 10.1.0.1/24 dev veth2");
	run("sysctl -qw net.ipv4.ip_forward=1");
	sip_to_sp(add_route(c, "SIP", 10), "10.0.0.2");
	cr_assert_eq(sp_pbr_apply(pbr, c, true, &e), 0, "%s", e.msg);
	cr_assert_eq(count_lines("ip route get 10.0.0.77 from 10.1.0.5 iif veth2 ipproto udp dport 5060",
				 "via 10.0.0.2"), 1);
	cr_assert_eq(count_lines("ip route get 10.0.0.77 from 10.1.0.5 iif veth2 ipproto udp dport 5061",
				 "via 10.0.0.2"), 0);
	sp_pbr_close(pbr);
	sp_config_free(c);
}

/* ---- the SP's return path ---- */

Test(retpath_kernel, default_gateway_rule_and_route, .init = netns_setup)
{
	struct sp_retpath *rp;
	struct sp_learned_path none = { 0 };
	struct sp_addr gw, bad;
	uint16_t ports[] = { 5060 };
	struct sp_error err = { "" };

	set_addr(&gw, "10.0.0.2");
	set_addr(&bad, "10.9.9.9");
	cr_assert_eq(sp_retpath_open(&rp, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_retpath_mark(rp, &none), 0, "no mode: the routing table decides");
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &bad, ports, 1, &err), -1);
	cr_assert_str_eq(err.msg, "next hop 10.9.9.9 is not on a connected network");
	cr_assert_eq(count_lines("ip rule", "proto 160"), 0);
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &gw, ports, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_retpath_mark(rp, &none), SP_RETPATH_MARK);
	cr_assert_eq(count_lines("ip rule", "200:\tfrom all fwmark 0x20000000/0x20ff0000 lookup 5061000 proto 160"), 1);
	cr_assert_eq(count_lines("ip route show table 5061000", "default via 10.0.0.2 dev veth0 proto 160"), 1);
	/* learn: the default gateway's rule goes; nothing learned, no mark */
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_LEARN, NULL, ports, 1, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(count_lines("ip rule", "proto 160"), 0);
	cr_assert_eq(sp_retpath_mark(rp, &none), 0);
	sp_retpath_close(rp);
}

/* An IPv6 gateway: its rule and route in IPv6 only (IPv4 answers follow
 * the routing table). */
Test(retpath_kernel, default_gateway_ipv6, .init = netns_setup)
{
	struct sp_retpath *rp;
	struct sp_learned_path none = { 0 };
	struct sp_addr gw, bad;
	uint16_t ports[] = { 5060 };
	struct sp_error err = { "" };

	run("sysctl -qw net.ipv6.conf.veth0.accept_dad=0");
	run("ip -6 addr add 2001:db8:a::1/64 dev veth0 nodad");
	set_addr(&gw, "2001:db8:a::2");
	set_addr(&bad, "2001:db8:9::9");
	cr_assert_eq(sp_retpath_open(&rp, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &bad, ports, 1, &err), -1);
	cr_assert_str_eq(err.msg, "next hop 2001:db8:9::9 is not on a connected network");
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &gw, ports, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_retpath_mark(rp, &none), SP_RETPATH_MARK);
	cr_assert_eq(count_lines("ip -6 rule", "200:\tfrom all fwmark 0x20000000/0x20ff0000 lookup 5061000 proto 160"), 1);
	cr_assert_eq(count_lines("ip -6 route show table 5061000", "default via 2001:db8:a::2 dev veth0 proto 160"), 1);
	cr_assert_eq(count_lines("ip -4 rule", "proto 160"), 0, "no IPv4 rule for an IPv6 gateway");
	/* the same gateway again: nothing changes; another family: replaced */
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &gw, ports, 1, &err), 0, "%s", err.msg);
	set_addr(&gw, "10.0.0.2");
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_DEFAULT_GATEWAY, &gw, ports, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(count_lines("ip -6 rule", "proto 160"), 0);
	cr_assert_eq(count_lines("ip -4 rule", "lookup 5061000 proto 160"), 1);
	sp_retpath_close(rp);
	cr_assert_eq(count_lines("ip -4 rule", "proto 160"), 0);
}

/* Learning from a real datagram: a UDP packet from a neighbour (in a second
 * namespace, with its own MAC) to the listen port is seen by the packet
 * socket; the path names the interface and that neighbour, and its mark's
 * rule and route send back through it. */
Test(retpath_kernel, learn_from_a_datagram, .init = netns_setup)
{
	struct sp_retpath *rp;
	struct sp_learned_path path = { 0 };
	struct sp_endpoint terminal = { 0 };
	uint16_t ports[] = { 5060 };
	struct sp_error err = { "" };
	char cmd[768], peer[64];
	unsigned ifindex;
	uint32_t mark;

	/* a named namespace (for ip -n), unique to this run */
	snprintf(peer, sizeof(peer), "sp-test-pbr-%ld", (long)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip link set veth1 netns %s && "
		 "ip -n %s link set veth1 up && ip -n %s addr add 10.0.0.7/24 dev veth1",
		 peer, peer, peer, peer);
	run(cmd);
	cr_assert_eq(sp_retpath_open(&rp, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_retpath_configure(rp, SP_RETPATH_LEARN, NULL, ports, 1, &err), 0,
		     "%s", err.msg);
	/* a datagram to another port is not seen; one to 5060 is */
	snprintf(cmd, sizeof(cmd), "ip netns exec %s python3 -c '"
		 "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		 "o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
		 "o.bind((\"10.0.0.7\", 5997))\n"
		 "s.bind((\"10.0.0.7\", 5999))\n"
		 "o.sendto(b\"x\", (\"10.0.0.1\", 5061)); s.sendto(b\"x\", (\"10.0.0.1\", 5060))'",
		 peer);
	run(cmd);
	terminal.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.7", &terminal.addr.v4);
	terminal.port = 5999;
	/* veth delivery is asynchronous (a softirq): poll, up to 2 s */
	for (int tries = 0; tries < 100; tries++) {
		sp_retpath_drain(rp);
		if (sp_retpath_learn(rp, &terminal, 0, &path))
			break;
		usleep(20000);
	}
	cr_assert_neq(path.ifindex, 0, "the datagram to 5060 was seen");
	/* sent first, to another port: the packet filter kept it out */
	terminal.port = 5997;
	{
		struct sp_learned_path other = { 0 };

		cr_assert_not(sp_retpath_learn(rp, &terminal, 0, &other), "5061 is not a listen port");
	}
	cr_assert_eq(sp_rtnl_ifindex("veth0", &ifindex, &err), 0);
	cr_assert_eq((unsigned)path.ifindex, ifindex);
	cr_assert(path.has_mac);
	/* the peer resolved our address before sending: we know it back */
	cr_assert_eq(path.prev_hop.family, AF_INET);
	cr_assert_eq(path.prev_hop.addr.v4.s_addr, inet_addr("10.0.0.7"));
	mark = sp_retpath_mark(rp, &path);
	cr_assert_neq(mark, 0);
	cr_assert_eq(mark & SP_RETPATH_MARK_MASK, mark);
	cr_assert_eq(count_lines("ip route show table all", "default via 10.0.0.7 dev veth0"), 1);
	cr_assert_eq(sp_retpath_mark(rp, &path), mark, "one way back, one mark");
	sp_retpath_close(rp);
	cr_assert_eq(count_lines("ip rule; ip route show table all", "proto 160"), 0);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", peer);
	run(cmd);
}
