/* sp_nft and the sp_kernel facade: the generator and the plan (pure, no root),
 * then the real kernel, each kernel test in a fresh network namespace. */
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

#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_nft.h"

static const uint16_t sip_port[] = { 5060 };
static const uint16_t sip_ports[] = { 5060, 5080 };

static struct sp_rt_prefix prefix(const char *text)
{
	struct sp_rt_prefix p;

	cr_assert_eq(sp_rt_prefix_parse(text, &p), 0, "parse %s", text);
	return p;
}

static struct sp_nft_entry tproxy_entry(uint32_t mark)
{
	struct sp_nft_entry e;

	memset(&e, 0, sizeof(e));
	e.verdict = SP_NFT_TPROXY;
	e.tproxy_port = 5060;
	e.mark = mark;
	return e;
}

static struct sp_nft_intercept spec_of(const struct sp_nft_entry *entries, size_t n)
{
	struct sp_nft_intercept s;

	memset(&s, 0, sizeof(s));
	s.entries = entries;
	s.n_entries = n;
	s.listen_ports = sip_port;
	s.n_listen_ports = 1;
	s.default_verdict = SP_NFT_ACCEPT;
	s.fwmark = 0x80;
	s.fwmask = 0x80;
	s.mark_mask = 0xff;
	return s;
}

static char *render_ok(const struct sp_nft_intercept *s)
{
	struct sp_error err = { "" };
	char *body;

	cr_assert_eq(sp_nft_render_intercept(s, &body, &err), 0, "%s", err.msg);
	return body;
}

/* The n-th (from 0) line of text containing needle, or NULL. */
static char *line_with(const char *text, const char *needle, int nth)
{
	for (const char *line = text; *line;) {
		const char *eol = line + strcspn(line, "\n");
		char *copy = strndup(line, (size_t)(eol - line));

		if (strstr(copy, needle) && nth-- == 0)
			return copy;
		free(copy);
		line = *eol ? eol + 1 : eol;
	}
	return NULL;
}

static size_t offset_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);

	cr_assert_not_null(at, "\"%s\" not in:\n%s", needle, text);
	return (size_t)(at - text);
}

/* ---- pure: generator ------------------------------------------------------ */

Test(nft_render, entries_in_sequence_order_with_all_matches)
{
	struct sp_nft_entry e[3];
	struct sp_nft_intercept s;
	char *body, *line;

	e[0] = tproxy_entry(0x81);
	e[0].comment = "voip-a";
	snprintf(e[0].iifnames[0], IFNAMSIZ, "eth1");
	snprintf(e[0].iifnames[1], IFNAMSIZ, "eth2");
	e[0].n_iifnames = 2;
	e[0].ip_proto = IPPROTO_UDP;
	e[0].src = prefix("10.1.0.0/24");
	e[0].dst = prefix("192.0.2.10");
	e[0].sport.start = 1024;
	e[0].sport.end = 65535;
	memset(&e[1], 0, sizeof(e[1]));
	e[1].verdict = SP_NFT_DROP;
	e[1].comment = "blocked";
	e[1].src = prefix("10.2.0.0/16");
	memset(&e[2], 0, sizeof(e[2]));
	e[2].verdict = SP_NFT_ACCEPT;
	e[2].ip_proto = IPPROTO_TCP;
	e[2].dport.start = 5061;
	e[2].dport.end = 5061;
	s = spec_of(e, 3);
	body = render_ok(&s);

	line = line_with(body, "voip-a", 0);
	cr_assert_not_null(line, "%s", body);
	cr_assert_str_eq(line, "\t\tiifname { \"eth1\", \"eth2\" } ip saddr 10.1.0.0/24 ip daddr 192.0.2.10 "
			 "udp sport 1024-65535 udp dport 5060 meta mark set meta mark & 0xffffff00 | 0x00000081 "
			 "counter tproxy ip to :5060 accept comment \"voip-a\"");
	free(line);
	line = line_with(body, "blocked", 0);
	cr_assert_str_eq(line, "\t\tip saddr 10.2.0.0/16 meta l4proto { tcp, udp } th dport 5060 counter drop "
			 "comment \"blocked\"");
	free(line);
	line = line_with(body, "tcp dport 5061", 0);
	cr_assert_str_eq(line, "\t\ttcp dport 5061 counter accept");
	free(line);
	/* First match wins: the order is the sequence order, the default last. */
	cr_assert_lt(offset_of(body, "voip-a"), offset_of(body, "blocked"));
	cr_assert_lt(offset_of(body, "blocked"), offset_of(body, "tcp dport 5061"));
	cr_assert_lt(offset_of(body, "tcp dport 5061"), offset_of(body, "default action"));
	free(body);
}

Test(nft_render, hooks_conntrack_and_nat_chains)
{
	struct sp_nft_intercept s = spec_of(NULL, 0);
	char *body = render_ok(&s);

	cr_assert(strstr(body, "type filter hook prerouting priority mangle; policy accept;"), "%s", body);
	cr_assert(strstr(body, "\t\tct state invalid counter"), "%s", body);
	cr_assert(strstr(body, "type nat hook prerouting priority dstnat;"), "%s", body);
	cr_assert(strstr(body, "type nat hook postrouting priority srcnat;"), "%s", body);
	cr_assert(strstr(body, "meta l4proto { tcp, udp } th dport 5060 counter accept comment \"default action\""),
		  "%s", body);
	free(body);
}

Test(nft_render, any_protocol_tproxy_becomes_udp_and_tcp_and_listen_ports)
{
	struct sp_nft_entry e = tproxy_entry(0x80);
	struct sp_nft_intercept s = spec_of(&e, 1);
	char *body, *udp, *tcp;

	s.listen_ports = sip_ports;
	s.n_listen_ports = 2;
	s.mark_mask = 0;	/* the whole mark is ours */
	s.default_verdict = SP_NFT_DROP;
	body = render_ok(&s);
	udp = line_with(body, "udp dport", 0);
	tcp = line_with(body, "tcp dport", 0);
	cr_assert_str_eq(udp, "\t\tudp dport { 5060, 5080 } meta mark set 0x00000080 counter tproxy to :5060 accept");
	cr_assert_str_eq(tcp, "\t\ttcp dport { 5060, 5080 } meta mark set 0x00000080 counter tproxy to :5060 accept");
	cr_assert(strstr(body, "th dport { 5060, 5080 } counter drop comment \"default action\""), "%s", body);
	free(udp);
	free(tcp);
	free(body);
}

Test(nft_render, ipv6_entry_uses_ip6)
{
	struct sp_nft_entry e = tproxy_entry(0x80);
	struct sp_nft_intercept s = spec_of(&e, 1);
	char *body;

	e.ip_proto = IPPROTO_UDP;
	e.dst = prefix("2001:db8::/32");
	body = render_ok(&s);
	cr_assert(strstr(body, "ip6 daddr 2001:db8::/32 udp dport 5060 meta mark set meta mark & 0xffffff00 | "
			       "0x00000080 counter tproxy ip6 to :5060 accept"), "%s", body);
	free(body);
}

Test(nft_render, refuses_what_would_not_work)
{
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_nft_intercept s = spec_of(&e, 1);
	struct sp_error err = { "" };
	char *body = (char *)1;

	/* The mark must carry the fwmark, or the packet is never routed locally. */
	e.mark = 0x01;
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(body);
	cr_assert_str_eq(err.msg, "entry 0: mark 0x1 does not carry the interception fwmark 0x80/0x80");
	/* TPROXY is tcp/udp only. */
	e = tproxy_entry(0x81);
	e.ip_proto = IPPROTO_SCTP;
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	cr_assert(strstr(err.msg, "TPROXY takes only udp and tcp"), "%s", err.msg);
	/* Mixed families. */
	e = tproxy_entry(0x81);
	e.src = prefix("10.0.0.0/8");
	e.dst = prefix("2001:db8::/32");
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	/* Names that could break out of their quotes. */
	e = tproxy_entry(0x81);
	snprintf(e.iifnames[0], IFNAMSIZ, "eth0\" drop");
	e.n_iifnames = 1;
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	cr_assert(strstr(err.msg, "invalid interface name"), "%s", err.msg);
	e = tproxy_entry(0x81);
	e.comment = "x\" ; flush ruleset";
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	/* Mark bits sigproxy does not own. */
	e = tproxy_entry(0x181);
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
	cr_assert(strstr(err.msg, "outside the mark mask"), "%s", err.msg);
	/* No listen port. */
	e = tproxy_entry(0x81);
	s.n_listen_ports = 0;
	cr_assert_eq(sp_nft_render_intercept(&s, &body, &err), -1);
}

/* ---- pure: plan ----------------------------------------------------------- */

static struct sp_kernel_intercept_cfg cfg_of(const struct sp_nft_entry *entries, size_t n)
{
	struct sp_kernel_intercept_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nft = spec_of(entries, n);
	cfg.rule_priority = 1000;
	cfg.table = 100;
	return cfg;
}

Test(kernel_plan, fwmark_rule_local_route_and_table)
{
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_kernel_intercept_cfg cfg = cfg_of(&e, 1);
	struct sp_kernel_plan plan;
	struct sp_error err = { "" };
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	cfg.ipv6 = true;
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), 0, "%s", err.msg);
	cr_assert_eq(plan.n_rules, 2);
	cr_assert_eq(plan.n_routes, 2);
	cr_assert_eq(plan.rules[0].family, AF_INET);
	cr_assert_eq(plan.rules[1].family, AF_INET6);
	cr_assert_eq(plan.rules[0].fwmark, 0x80);
	cr_assert_eq(plan.rules[0].fwmask, 0x80);
	cr_assert_eq(plan.routes[0].kind, SP_ROUTE_LOCAL);
	cr_assert_eq(plan.routes[0].table, 100);
	cr_assert_not_null(strstr(plan.nft_body, "tproxy to :5060"));
	out = open_memstream(&text, &len);
	sp_kernel_plan_print(&plan, out);
	fclose(out);
	cr_assert(strstr(text, "ip rule pref 1000 fwmark 0x80/0x80 lookup 100\n"), "%s", text);
	cr_assert(strstr(text, "ip rule -6 pref 1000 fwmark 0x80/0x80 lookup 100\n"), "%s", text);
	cr_assert(strstr(text, "ip route local default dev lo table 100\n"), "%s", text);
	cr_assert(strstr(text, "table inet sigproxy {\n\tchain intercept {"), "%s", text);
	free(text);
	sp_kernel_plan_free(&plan);
	cr_assert_null(plan.nft_body);
}

Test(kernel_plan, refuses_bad_config)
{
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_kernel_intercept_cfg cfg = cfg_of(&e, 1);
	struct sp_kernel_plan plan;
	struct sp_error err = { "" };

	cfg.table = 254;
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), -1);
	cr_assert_str_eq(err.msg, "table 254 cannot hold the interception route");
	cfg = cfg_of(&e, 1);
	e.dst = prefix("2001:db8::/32");
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), -1);
	cr_assert(strstr(err.msg, "IPv6 interception is off"), "%s", err.msg);
	cr_assert_null(plan.nft_body);
	e = tproxy_entry(0x01);	/* the generator's own check comes through */
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), -1);
	cr_assert(strstr(err.msg, "does not carry the interception fwmark"), "%s", err.msg);
}

/* ---- kernel --------------------------------------------------------------- */

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

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

static void netns_setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: each kernel test runs in its own network namespace (unshare(CLONE_NEWNET))");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	run("ip link set lo up");
	sp_log_set_level(LOG_WARNING);
}

static struct sp_nft *open_nft(void)
{
	struct sp_nft *nft;
	struct sp_error err = { "" };

	cr_assert_eq(sp_nft_open(&nft, &err), 0, "%s", err.msg);
	return nft;
}

TestSuite(nft_kernel, .init = netns_setup);

Test(nft_kernel, apply_replace_list_remove)
{
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char *text;

	/* Works whether the table exists or not. */
	cr_assert_eq(sp_nft_apply(nft, "chain a { type filter hook input priority 0; }", &err),
		     0, "%s", err.msg);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "chain a {"), "%s", text);
	free(text);
	cr_assert_eq(sp_nft_apply(nft, "chain b { type filter hook input priority 0; }", &err),
		     0, "%s", err.msg);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "chain b {"), "%s", text);
	cr_assert_null(strstr(text, "chain a"), "replaced, not merged:\n%s", text);
	free(text);
	cr_assert_eq(sp_nft_list(nft, &text, &err), 0, "%s", err.msg);
	cr_assert(strstr(text, "table inet sigproxy {"), "%s", text);
	free(text);

	cr_assert_eq(sp_nft_remove(nft, &err), 0, "%s", err.msg);
	text = capture("nft list tables");
	cr_assert_null(strstr(text, "sigproxy"), "%s", text);
	free(text);
	/* Removing nothing is fine; listing nothing is ENOENT. */
	cr_assert_eq(sp_nft_remove(nft, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_nft_list(nft, &text, &err), -1);
	cr_assert_eq(errno, ENOENT);
	sp_nft_close(nft);
}

Test(nft_kernel, bad_ruleset_keeps_the_old_table)
{
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char *before, *after;

	cr_assert_eq(sp_nft_apply(nft, "chain keep { type filter hook input priority 0; }", &err),
		     0, "%s", err.msg);
	before = capture("nft list table inet sigproxy");
	/* Refused by the parser. */
	cr_assert_eq(sp_nft_apply(nft, "chain x { this is not nft }", &err), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(err.msg, "syntax error"), "%s", err.msg);
	/* Parsed fine, refused by the kernel half-way through the transaction
	 * (after the old table's delete was queued). */
	cr_assert_eq(sp_nft_apply(nft, "chain y { jump nosuchchain; }", &err), -1);
	cr_assert(strstr(err.msg, "No such file or directory"), "%s", err.msg);
	after = capture("nft list table inet sigproxy");
	cr_assert_str_eq(after, before);
	cr_assert(strstr(after, "chain keep"), "%s", after);
	free(before);
	free(after);
	sp_nft_close(nft);
}

Test(nft_kernel, generated_ruleset_is_accepted)
{
	struct sp_nft_entry e[3];
	struct sp_nft_intercept s;
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char *body, *text;

	e[0] = tproxy_entry(0x81);
	e[0].comment = "voip-a";
	snprintf(e[0].iifnames[0], IFNAMSIZ, "eth1");
	snprintf(e[0].iifnames[1], IFNAMSIZ, "eth2");
	e[0].n_iifnames = 2;
	e[0].src = prefix("10.1.0.0/24");
	e[0].sport.start = 1024;
	e[0].sport.end = 65535;
	e[1] = tproxy_entry(0x82);
	e[1].ip_proto = IPPROTO_UDP;
	e[1].dst = prefix("2001:db8::/32");
	memset(&e[2], 0, sizeof(e[2]));
	e[2].verdict = SP_NFT_DROP;
	e[2].ip_proto = 132;
	e[2].dport.start = 5060;
	e[2].dport.end = 5062;
	s = spec_of(e, 3);
	s.listen_ports = sip_ports;
	s.n_listen_ports = 2;
	s.default_verdict = SP_NFT_DROP;
	body = render_ok(&s);
	cr_assert_eq(sp_nft_apply(nft, body, &err), 0, "%s\n%s", err.msg, body);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "tproxy ip to :5060 accept comment \"voip-a\""), "%s", text);
	cr_assert(strstr(text, "tproxy ip6 to :5060"), "%s", text);
	cr_assert(strstr(text, "sctp dport 5060-5062 counter packets 0 bytes 0 drop"), "%s", text);
	cr_assert(strstr(text, "type nat hook postrouting"), "%s", text);
	free(text);
	free(body);
	sp_nft_close(nft);
}

Test(nft_kernel, facade_install_replace_remove)
{
	struct sp_kernel *kernel;
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_kernel_intercept_cfg cfg = cfg_of(&e, 1);
	struct sp_error err = { "" };
	char *text;

	/* Leftovers of a "crashed run": found and removed at open. */
	run("ip rule add pref 77 fwmark 0x3 lookup 300 proto 160");
	run("ip route add local default dev lo table 300 proto 160");
	run("nft add table inet sigproxy");
	run("ip rule add pref 78 fwmark 0x4 lookup 300");	/* not ours */
	cr_assert_eq(sp_kernel_open(&kernel, &err), 0, "%s", err.msg);
	text = capture("ip rule show; ip route show table 300; nft list tables");
	cr_assert_null(strstr(text, "77:"), "%s", text);
	cr_assert_null(strstr(text, "local default"), "%s", text);
	cr_assert_null(strstr(text, "sigproxy"), "%s", text);
	cr_assert(strstr(text, "78:\tfrom all fwmark 0x4 lookup 300"), "%s", text);
	free(text);
	cr_assert_null(sp_kernel_installed(kernel));

	cfg.ipv6 = true;
	cr_assert_eq(sp_kernel_install_intercept(kernel, &cfg, &err), 0, "%s", err.msg);
	text = capture("ip rule show; ip -6 rule show; ip route show table 100; ip -6 route show table 100");
	cr_assert(strstr(text, "1000:\tfrom all fwmark 0x80/0x80 lookup 100 proto 160"), "%s", text);
	cr_assert(strstr(text, "local default dev lo proto 160 scope host"), "%s", text);
	cr_assert(strstr(text, "local default dev lo proto 160 metric 1024"), "%s", text);
	free(text);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "tproxy to :5060"), "%s", text);
	free(text);
	cr_assert_not_null(sp_kernel_installed(kernel));
	cr_assert_eq(sp_kernel_installed(kernel)->n_rules, 2);

	/* Replace: another table and no IPv6; the old entries go. */
	cfg.table = 101;
	cfg.ipv6 = false;
	cr_assert_eq(sp_kernel_install_intercept(kernel, &cfg, &err), 0, "%s", err.msg);
	text = capture("ip rule show; ip -6 rule show; ip route show table 100; ip -6 route show table 100; "
		       "ip route show table 101");
	cr_assert(strstr(text, "1000:\tfrom all fwmark 0x80/0x80 lookup 101 proto 160"), "%s", text);
	cr_assert_null(strstr(text, "lookup 100"), "%s", text);
	cr_assert(strstr(text, "local default dev lo proto 160 scope host"), "%s", text);
	cr_assert_null(strstr(text, "metric 1024"), "IPv6 route gone:\n%s", text);
	free(text);
	text = capture("ip route show table 100");
	cr_assert_str_empty(text, "%s", text);
	free(text);

	/* A failing install (its rule is already there) changes nothing. */
	run("ip rule add pref 1000 fwmark 0x80/0x80 lookup 102 proto 160");
	cfg.table = 102;
	cr_assert_eq(sp_kernel_install_intercept(kernel, &cfg, &err), -1);
	cr_assert_eq(errno, EEXIST, "%s", err.msg);
	text = capture("ip route show table 102; ip route show table 101");
	cr_assert_str_eq(text, "local default dev lo proto 160 scope host \n", "only 101's route:\n%s", text);
	free(text);
	cr_assert_eq(sp_kernel_installed(kernel)->rules[0].table, 101);

	/* Clean shutdown: everything of ours goes, the foreign rule stays. */
	cr_assert_eq(sp_kernel_remove_all(kernel, &err), 0, "%s", err.msg);
	text = capture("ip rule show; ip -6 rule show; ip route show table all; nft list tables");
	cr_assert_null(strstr(text, "proto 160"), "%s", text);
	cr_assert_null(strstr(text, "sigproxy"), "%s", text);
	cr_assert(strstr(text, "78:\tfrom all fwmark 0x4 lookup 300"), "%s", text);
	free(text);
	cr_assert_null(sp_kernel_installed(kernel));
	sp_kernel_close(kernel);
}

/* ---- grouping into maps (issue 9: flat classification) -------------------- */

static struct sp_nft_entry udp_entry(enum sp_nft_verdict v, const char *src, uint32_t mark)
{
	struct sp_nft_entry e = tproxy_entry(mark);

	e.verdict = v;
	e.ip_proto = IPPROTO_UDP;
	e.src = prefix(src);
	e.dst = prefix("198.51.100.1");
	e.dport.start = e.dport.end = 5060;
	if (v != SP_NFT_TPROXY)
		e.tproxy_port = 0;
	return e;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
		n++;
	return n;
}

static const uint32_t origin_zero[] = { 0 };

Test(nft_group, overlap_detection)
{
	struct sp_nft_entry a = udp_entry(SP_NFT_DROP, "10.0.0.0/8", 0);
	struct sp_nft_entry b = udp_entry(SP_NFT_DROP, "10.1.0.0/16", 0);
	struct sp_nft_entry c = udp_entry(SP_NFT_DROP, "11.0.0.0/8", 0);
	struct sp_nft_entry d = udp_entry(SP_NFT_DROP, "10.1.0.0/16", 0);

	cr_assert(sp_nft_entries_overlap(&a, &b));
	cr_assert_not(sp_nft_entries_overlap(&a, &c));
	d.dport.start = d.dport.end = 5080; /* other port: disjoint */
	cr_assert_not(sp_nft_entries_overlap(&b, &d));
	d.dport.start = 5000;
	d.dport.end = 5100;
	cr_assert(sp_nft_entries_overlap(&b, &d));
	memset(&d.src, 0, sizeof(d.src)); /* any source overlaps */
	cr_assert(sp_nft_entries_overlap(&c, &d));
	d.mark_match = 0x100;
	d.mark_match_mask = 0xff00;
	c.mark_match = 0x200;
	c.mark_match_mask = 0xff00;
	cr_assert_not(sp_nft_entries_overlap(&c, &d));
	snprintf(a.iifnames[0], IFNAMSIZ, "eth1");
	a.n_iifnames = 1;
	snprintf(b.iifnames[0], IFNAMSIZ, "eth2");
	b.n_iifnames = 1;
	cr_assert_not(sp_nft_entries_overlap(&a, &b));
	struct sp_nft_entry v6 = udp_entry(SP_NFT_DROP, "2001:db8::/32", 0);
	v6.dst = prefix("2001:db8::1");
	cr_assert_not(sp_nft_entries_overlap(&v6, &c));
}

Test(nft_group, ten_thousand_strategies_collapse_to_one_rule)
{
	size_t n = 10000;
	struct sp_nft_entry *e = calloc(n, sizeof(*e));
	struct sp_nft_render_stats st;
	struct sp_nft_intercept s;
	struct sp_error err = { "" };
	char src[32], *body;

	for (size_t i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "172.%zu.%zu.0/24", 16 + (i >> 8), i & 255);
		e[i] = udp_entry(SP_NFT_TPROXY, src, 0x80 | (uint32_t)(i % 64));
	}
	s = spec_of(e, n);
	s.origin_marks = origin_zero;
	s.n_origin_marks = 1;
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.rules, 1);
	cr_assert_eq(st.maps, 1);
	cr_assert_eq(st.elements, n);
	cr_assert(strstr(body, "\t\tmeta mark set ip saddr . ip daddr . udp dport map @g0_0 counter "
			       "tproxy ip to :5060 accept"), "%.2000s", body);
	cr_assert(strstr(body, "172.16.5.0/24 . 198.51.100.1 . 5060 : 0x00000085"), "%.600s", body);
	free(body);
	/* without the origins, the mark cannot come from a map: one rule each */
	s.n_origin_marks = 0;
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.rules, n);
	cr_assert_eq(st.maps, 0);
	free(body);
	free(e);
}

Test(nft_group, overlap_splits_and_order_is_kept)
{
	struct sp_nft_entry e[12];
	struct sp_nft_render_stats st;
	struct sp_nft_intercept s;
	struct sp_error err = { "" };
	char src[32], *body;

	/* 0-4 disjoint forwards; 5 drops a /8 holding 0-4's sources; 6-10
	 * disjoint forwards under it again; 11 forward outside the /8 */
	for (int i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "10.0.%d.0/24", i);
		e[i] = udp_entry(SP_NFT_ACCEPT, src, 0);
		e[i].comment = "early";
	}
	e[5] = udp_entry(SP_NFT_DROP, "10.0.0.0/8", 0);
	e[5].comment = "wide-drop";
	for (int i = 6; i < 11; i++) {
		snprintf(src, sizeof(src), "10.0.%d.0/24", i - 6); /* same as 0-4 */
		e[i] = udp_entry(SP_NFT_ACCEPT, src, 0);
		e[i].comment = "late";
	}
	e[11] = udp_entry(SP_NFT_ACCEPT, "192.168.0.0/16", 0);
	e[11].comment = "outside";
	s = spec_of(e, 12);
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	/* map g0 (0-4 and 11, which overlaps none of 5-10), the /8 drop as a
	 * rule, map g2 (6-10) after it: 6-10 are never reached (the /8 wins),
	 * exactly as in the linear chain */
	cr_assert_eq(st.maps, 2, "%s", body);
	cr_assert_eq(st.rules, 3, "%s", body);
	cr_assert_lt(offset_of(body, "vmap @g0"), offset_of(body, "comment \"wide-drop\""));
	cr_assert_lt(offset_of(body, "comment \"wide-drop\""), offset_of(body, "vmap @g2"));
	cr_assert_lt(offset_of(body, "vmap @g2"), offset_of(body, "default action"));
	cr_assert(strstr(body, "192.168.0.0/16 . 198.51.100.1 . 5060 comment \"outside\" : accept"),
		  "%s", body);
	cr_assert_eq(count_of(body, "comment \"late\" : accept"), 5);
	free(body);
}

Test(nft_group, mixed_shapes_and_small_runs_stay_rules)
{
	struct sp_nft_entry e[8];
	struct sp_nft_render_stats st;
	struct sp_nft_intercept s;
	struct sp_error err = { "" };
	char src[32], *body;

	for (int i = 0; i < 8; i++) {
		snprintf(src, sizeof(src), "10.%d.0.0/16", i);
		e[i] = udp_entry(i % 2 ? SP_NFT_DROP : SP_NFT_ACCEPT, src, 0);
		if (i >= 4) {
			e[i].sport.start = 1024; /* another shape */
			e[i].sport.end = 2048;
		}
	}
	s = spec_of(e, 8);
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	/* two shapes of 4: two verdict maps, drop and accept mixed in each */
	cr_assert_eq(st.maps, 2, "%s", body);
	cr_assert(strstr(body, "ip saddr . ip daddr . udp sport . udp dport vmap @g1"), "%s", body);
	cr_assert(strstr(body, "10.5.0.0/16 . 198.51.100.1 . 1024-2048 . 5060 : drop"), "%s", body);
	free(body);
	s.n_entries = 3; /* below SP_NFT_GROUP_MIN: plain rules */
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.maps, 0);
	cr_assert_eq(st.rules, 3);
	free(body);
}

Test(nft_group, several_origins_one_map_each)
{
	static const uint32_t origins[] = { 0x00, 0x01, 0x02 };
	struct sp_nft_entry e[4];
	struct sp_nft_render_stats st;
	struct sp_nft_intercept s;
	struct sp_error err = { "" };
	char src[32], *body;

	for (int i = 0; i < 4; i++) {
		snprintf(src, sizeof(src), "10.%d.0.0/16", i);
		e[i] = udp_entry(SP_NFT_TPROXY, src, 0x80 | (uint32_t)(i + 1) << 8);
	}
	s = spec_of(e, 4);
	s.mark_mask = 0xff80;
	s.origin_marks = origins;
	s.n_origin_marks = 3;
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.elements, 12);
	cr_assert_eq(st.maps, 3);
	cr_assert_eq(st.rules, 3);
	cr_assert(strstr(body, "meta mark & 0xffff007f == 0x00000002 meta mark set ip saddr . ip daddr . "
			       "udp dport map @g0_2 counter tproxy ip to :5060 accept"), "%s", body);
	/* the origin's bits survive in the new mark */
	cr_assert(strstr(body, "map g0_2 {"), "%s", body);
	cr_assert(strstr(body, "10.3.0.0/16 . 198.51.100.1 . 5060 : 0x00000482"), "%s", body);
	free(body);
}

Test(nft_kernel, grouped_maps_are_accepted_and_count_per_strategy)
{
	static const uint32_t origins[] = { 0x00, 0x01 };
	struct sp_nft_entry e[10];
	struct sp_nft_intercept s;
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char src[32], *body, *text;

	for (int i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "10.%d.0.0/16", i);
		e[i] = udp_entry(SP_NFT_TPROXY, src, 0x80 | (uint32_t)(i + 1) << 8);
		snprintf(src, sizeof(src), "10.%d.0.0/16", i + 5);
		e[i + 5] = udp_entry(i % 2 ? SP_NFT_DROP : SP_NFT_ACCEPT, src, 0);
		e[i + 5].comment = i % 2 ? "dropper" : "forwarder";
		snprintf(e[i + 5].iifnames[0], IFNAMSIZ, "lo");
		e[i + 5].n_iifnames = 1;
	}
	s = spec_of(e, 10);
	s.mark_mask = 0xff80;
	s.origin_marks = origins;
	s.n_origin_marks = 2;
	body = render_ok(&s);
	cr_assert_eq(sp_nft_apply(nft, body, &err), 0, "%s\n%s", err.msg, body);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "vmap @g1"), "%s", text);
	cr_assert(strstr(text, "meta mark & 0xffff007f == 0x00000001 meta mark set ip saddr . ip daddr . "
			       "udp dport map @g0_1 counter packets 0 bytes 0 tproxy ip to :5060 accept"), "%s", text);
	/* one element a line, with its counter and comment: what the engine's
	 * `show statistics` reads for forward and drop hits */
	cr_assert(strstr(text, "counter packets 0 bytes 0 comment \"dropper\" : drop"), "%s", text);
	cr_assert(strstr(text, "counter packets 0 bytes 0 comment \"forwarder\" : accept"), "%s", text);
	free(text);
	free(body);
	sp_nft_close(nft);
}

Test(nft_kernel, grouped_shapes_nft_accepts)
{
	struct sp_nft_entry e[12];
	struct sp_nft_render_stats st;
	struct sp_nft_intercept s;
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char addr[64], *body, *text;

	for (int i = 0; i < 4; i++) {
		/* tag slots in the mark, two interfaces each */
		snprintf(addr, sizeof(addr), "10.%d.0.0/16", i);
		e[i] = udp_entry(SP_NFT_DROP, addr, 0);
		e[i].mark_match = (uint32_t)(i + 1) << 8;
		e[i].mark_match_mask = 0xff00;
		snprintf(e[i].iifnames[0], IFNAMSIZ, "lo");
		snprintf(e[i].iifnames[1], IFNAMSIZ, "eth%d", i);
		e[i].n_iifnames = 2;
		/* IPv6 proxy, source ports */
		snprintf(addr, sizeof(addr), "2001:db8:%d::/48", i);
		e[i + 4] = udp_entry(SP_NFT_TPROXY, "10.0.0.0/8", 0x80 | (uint32_t)(i + 1) << 16);
		e[i + 4].src = prefix(addr);
		e[i + 4].dst = prefix("2001:db8:ffff::1");
		e[i + 4].sport.start = 1024;
		e[i + 4].sport.end = 2047;
		/* nothing but the source: the listen ports stay in the rule */
		snprintf(addr, sizeof(addr), "192.168.%d.0/24", i);
		e[i + 8] = udp_entry(SP_NFT_ACCEPT, addr, 0);
		memset(&e[i + 8].dst, 0, sizeof(e[i + 8].dst));
		e[i + 8].dport.start = e[i + 8].dport.end = 0;
	}
	s = spec_of(e, 12);
	s.mark_mask = 0xff0080; /* the tag slot stays outside */
	s.origin_marks = origin_zero;
	s.n_origin_marks = 1;
	cr_assert_eq(sp_nft_render_intercept_stats(&s, &body, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.maps, 3, "%s", body);
	cr_assert_eq(sp_nft_apply(nft, body, &err), 0, "%s\n%s", err.msg, body);
	text = capture("nft list table inet sigproxy");
	cr_assert(strstr(text, "iifname . meta mark & 0x0000ff00 . ip saddr . ip daddr . udp dport vmap @g0"),
		  "%s", text);
	cr_assert(strstr(text, "tproxy ip6 to :5060"), "%s", text);
	cr_assert(strstr(text, "udp dport 5060 ip saddr vmap @g2"), "%s", text);
	free(text);
	free(body);
	sp_nft_close(nft);
}

/* Per-source limits: an input chain over what the interception delivered
 * (the fwmark bit), a meter per limit keyed by the VPN bits and the source
 * address, drops counted by named counters and the source remembered. */
Test(nft_render, source_limits_in_an_input_chain)
{
	struct sp_nft_intercept s = spec_of(NULL, 0);
	char *body, *rule;

	body = render_ok(&s);
	cr_assert_null(strstr(body, "source_limits"), "off by default: %s", body);
	free(body);
	s.source_rate = 1000;
	s.source_new_flows = 100;
	s.source_key_mask = 0xff;
	body = render_ok(&s);
	cr_assert(strstr(body, "type filter hook input priority filter; policy accept;"), "%s", body);
	cr_assert(strstr(body, "meta mark & 0x00000080 != 0x00000080 accept"), "%s", body);
	rule = line_with(body, "@source_rate_v4", 0);
	cr_assert_not_null(rule, "%s", body);
	cr_assert(strstr(rule, "meta mark & 0x000000ff . ip saddr limit rate over 1000/second burst 1000 packets"), "%s", rule);
	cr_assert(strstr(rule, "update @" SP_NFT_LIMITED_SET_V4), "%s", rule);
	cr_assert(strstr(rule, "counter name \"" SP_NFT_SOURCE_RATE_COUNTER "\" drop"), "%s", rule);
	free(rule);
	rule = line_with(body, "@source_new_v6", 0);
	cr_assert_not_null(rule, "%s", body);
	cr_assert(strstr(rule, "ct state new"), "%s", rule);
	cr_assert(strstr(rule, "ip6 saddr limit rate over 100/second"), "%s", rule);
	free(rule);
	cr_assert(strstr(body, "counter " SP_NFT_SOURCE_NEW_COUNTER " {"), "%s", body);
	free(body);
	/* one limit off: its meter and rule are not there */
	s.source_rate = 0;
	body = render_ok(&s);
	cr_assert_null(strstr(body, "@source_rate_v4"), "%s", body);
	cr_assert(strstr(body, "@source_new_v4"), "%s", body);
	free(body);
}

Test(nft_parse, set_elements)
{
	static const char set[] = "table inet sigproxy {\n\tset limited_sources_v4 {\n"
				  "\t\ttype mark . ipv4_addr\n\t\tflags dynamic,timeout\n"
				  "\t\telements = { 0x00000000 . 10.1.0.12 expires 59s992ms,\n"
				  "\t\t\t     0x00000002 . 10.9.9.9 expires 1s }\n\t}\n}\n";
	char *out;

	cr_assert_eq(sp_nft_parse_elements(set, &out), 0);
	cr_expect_str_eq(out, "0x00000000 . 10.1.0.12\n0x00000002 . 10.9.9.9\n");
	free(out);
	cr_assert_eq(sp_nft_parse_elements("table inet sigproxy {\n}\n", &out), 0);
	cr_expect_str_eq(out, "");
	free(out);
}

/* The per-source limits as the kernel takes them, their counters read over
 * nfnetlink, the limited sets listed. */
Test(nft_kernel, source_limits_accepted_and_counters_read)
{
	struct sp_nft_entry e = tproxy_entry(0x80);
	struct sp_nft_intercept s = spec_of(&e, 1);
	struct sp_nft *nft = open_nft();
	struct sp_error err = { "" };
	char *body, *text;
	uint64_t n = 99;

	cr_assert_eq(sp_nft_counter_packets(nft, SP_NFT_SOURCE_RATE_COUNTER, &n, &err), -1,
		     "no table, no counter");
	s.source_rate = 1000;
	s.source_new_flows = 100;
	s.source_key_mask = 0xff;
	body = render_ok(&s);
	cr_assert_eq(sp_nft_apply(nft, body, &err), 0, "%s\n%s", err.msg, body);
	free(body);
	cr_assert_eq(sp_nft_counter_packets(nft, SP_NFT_SOURCE_RATE_COUNTER, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 0);
	free(capture("nft add element inet sigproxy " SP_NFT_LIMITED_SET_V4 " '{ 0x00000003 . 10.1.2.3 }'"));
	free(capture("nft add element inet sigproxy " SP_NFT_LIMITED_SET_V4 " '{ 0x00000000 . 10.9.9.9 }'"));
	cr_assert_eq(sp_nft_set_elements(nft, SP_NFT_LIMITED_SET_V4, &text, &err), 0, "%s", err.msg);
	cr_expect(strstr(text, "0x00000003 . 10.1.2.3\n"), "%s", text);
	cr_expect(strstr(text, "0x00000000 . 10.9.9.9\n"), "%s", text);
	free(text);
	cr_assert_eq(sp_nft_set_elements(nft, SP_NFT_LIMITED_SET_V6, &text, &err), 0, "%s", err.msg);
	cr_expect_str_eq(text, "");
	free(text);
	sp_nft_close(nft);
}

/* signaling-sockets shared: servers' datagrams to C's signalling ports go
 * to the daemon's transparent socket of their family; nothing without one */
static struct sp_kernel_intercept_cfg shared_cfg(struct sp_nft_entry *e)
{
	struct sp_kernel_intercept_cfg cfg = cfg_of(e, 1);

	cfg.ipv6 = true;
	cfg.server_tproxy.c4.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &cfg.server_tproxy.c4.v4);
	cfg.server_tproxy.c6.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &cfg.server_tproxy.c6.v6);
	cfg.server_tproxy.port4 = 33001;
	cfg.server_tproxy.port6 = 33002;
	cfg.server_tproxy.first = 40000;
	cfg.server_tproxy.last = 49999;
	return cfg;
}

Test(kernel_plan, shared_server_sockets_tproxy_c_ports)
{
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_kernel_intercept_cfg cfg = shared_cfg(&e);
	struct sp_kernel_plan plan;
	struct sp_error err = { "" };

	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), 0, "%s", err.msg);
	cr_assert(strstr(plan.nft_body, "chain server_side {\n\t\ttype filter hook prerouting priority mangle;"),
		  "%s", plan.nft_body);
	cr_assert(strstr(plan.nft_body, "ip daddr 192.0.2.1 udp dport 40000-49999 tproxy ip to :33001 accept\n"),
		  "%s", plan.nft_body);
	cr_assert(strstr(plan.nft_body, "ip6 daddr 2001:db8::1 udp dport 40000-49999 tproxy ip6 to :33002 accept\n"),
		  "%s", plan.nft_body);
	sp_kernel_plan_free(&plan);
	/* no IPv6 socket: no IPv6 rule; no socket at all: no chain */
	cfg.server_tproxy.port6 = 0;
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), 0, "%s", err.msg);
	cr_assert(strstr(plan.nft_body, "tproxy ip to :33001"), "%s", plan.nft_body);
	cr_assert_null(strstr(plan.nft_body, "ip6 daddr 2001:db8::1"), "%s", plan.nft_body);
	sp_kernel_plan_free(&plan);
	cfg.server_tproxy.port4 = 0;
	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), 0, "%s", err.msg);
	cr_assert_null(strstr(plan.nft_body, "server_side"), "%s", plan.nft_body);
	sp_kernel_plan_free(&plan);
}

Test(nft_kernel, shared_server_sockets_chain_is_accepted)
{
	struct sp_kernel *kernel;
	struct sp_nft_entry e = tproxy_entry(0x81);
	struct sp_kernel_intercept_cfg cfg = shared_cfg(&e);
	struct sp_error err = { "" };
	char *text;

	cr_assert_eq(sp_kernel_open(&kernel, &err), 0, "%s", err.msg);
	cr_assert_eq(sp_kernel_install_intercept(kernel, &cfg, &err), 0, "%s", err.msg);
	text = capture("nft list chain inet sigproxy server_side");
	cr_assert(strstr(text, "ip daddr 192.0.2.1 udp dport 40000-49999 tproxy ip to :33001 accept"), "%s", text);
	cr_assert(strstr(text, "ip6 daddr 2001:db8::1 udp dport 40000-49999 tproxy ip6 to :33002 accept"), "%s", text);
	free(text);
	cr_assert_eq(sp_kernel_remove_all(kernel, &err), 0, "%s", err.msg);
	sp_kernel_close(kernel);
}
