/* IPv6 in the configuration and the classification (issue 18 item 1): one
 * server-side address per family, IPv6 prefixes and servers through the
 * CLI's grammar and back out of `show running-config`, strategies whose
 * families do not fit reported with their reason, and the interception
 * pinned to the server's family once IPv6 is intercepted. */
#define _GNU_SOURCE
#include "config.h"
#include "config_fixture.h"
#include "sp_classify.h"
#include "sp_cli.h"
#include "sp_config.h"
#include "sp_kernel.h"
#include "sp_media_guard.h"
#include "sp_neigh.h"
#include "sp_nft.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/socket.h>

#define HAS(text, s) cr_assert(strstr(text, s) != NULL, "missing \"%s\" in:\n%s", s, text)
#define HASNT(text, s) cr_assert(strstr(text, s) == NULL, "unexpected \"%s\" in:\n%s", s, text)

static struct sp_config *load(const char *text)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { 0 };

	cr_assert_eq(sp_cli_load_text("t", text, c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	return c;
}

/* The plan and its nft text, as the engine would install it. */
static void plan_of(const struct sp_config *c, struct sp_classify_plan *p, char **text)
{
	struct sp_error e = { 0 };
	struct sp_nft_intercept spec;
	struct sp_error err = { 0 };

	cr_assert_eq(sp_classify_build(c, NULL, 0, p, &e), 0, "%s", e.msg);
	spec = fx_intercept_spec(c, p, SP_NFT_ACCEPT);
	cr_assert_eq(sp_nft_render_intercept(&spec, text, &err), 0, "%s", err.msg);
}

Test(ipv6, one_server_side_address_per_family)
{
	struct sp_config *c = load("signaling-proxy\n server-side-address 192.0.2.1\n"
				   " server-side-address 2001:db8:2::1\n");
	char b[SP_ADDR_STRLEN], *text;
	size_t len;

	cr_assert_str_eq(sp_addr_str(&c->sp.server_side_address, b, sizeof(b)), "192.0.2.1");
	cr_assert_str_eq(sp_addr_str(&c->sp.server_side_address6, b, sizeof(b)), "2001:db8:2::1");
	cr_assert_not_null(sp_sp_server_side(&c->sp, AF_INET));
	cr_assert_not_null(sp_sp_server_side(&c->sp, AF_INET6));
	text = sp_config_to_text(c, &len);
	HAS(text, " server-side-address 192.0.2.1\n server-side-address 2001:db8:2::1\n");
	free(text);
	/* a second address of one family replaces the first */
	sp_config_free(c);
	c = load("signaling-proxy\n server-side-address 2001:db8:2::1\n server-side-address 2001:db8:2::7\n");
	cr_assert_str_eq(sp_addr_str(&c->sp.server_side_address6, b, sizeof(b)), "2001:db8:2::7");
	cr_assert_null(sp_sp_server_side(&c->sp, AF_INET));
	sp_config_free(c);
}

Test(ipv6, no_server_side_address_one_or_both)
{
	struct sp_config *c = load("signaling-proxy\n server-side-address 192.0.2.1\n"
				   " server-side-address 2001:db8:2::1\n no server-side-address 2001:db8:2::1\n");
	struct sp_error e = { 0 };

	cr_assert_not_null(sp_sp_server_side(&c->sp, AF_INET));
	cr_assert_null(sp_sp_server_side(&c->sp, AF_INET6));
	cr_assert_neq(sp_cli_load_text("t", "signaling-proxy\n no server-side-address 2001:db8::9\n", c, &e), 0);
	HAS(e.msg, "not a server-side-address");
	sp_config_free(c);
	c = load("signaling-proxy\n server-side-address 192.0.2.1\n server-side-address 2001:db8:2::1\n"
		 " no server-side-address\n");
	cr_assert_null(sp_sp_server_side(&c->sp, AF_INET));
	cr_assert_null(sp_sp_server_side(&c->sp, AF_INET6));
	sp_config_free(c);
}

/* Every address and prefix the configuration takes, in IPv6, survives
 * `show running-config` and a reload of it unchanged. */
Test(ipv6, every_address_round_trips)
{
	static const char conf[] =
		"signaling-proxy\n"
		" server-side-address 2001:db8:2::1\n"
		" local-virtual-address 2001:db8:5::1\n"
		"proxy-strategy six seq 10\n"
		" match source 2001:db8:1::/64 port 5060\n"
		" match destination 2001:db8:5::1/128\n"
		" action proxy\n"
		" server 2001:db8:3::10 port 5070\n"
		"policy-route p6 seq 10\n"
		" match source 2001:db8:1::/64\n"
		" match destination 2001:db8:5::/48\n"
		" set next-hop 2001:db8:9::2\n"
		"redundancy\n"
		" local-address 2001:db8:7::1 port 5999\n"
		" peer-address 2001:db8:7::2 port 5999\n";
	struct sp_config *c = load(conf), *again;
	char *text, *text2;
	size_t len;

	text = sp_config_to_text(c, &len);
	HAS(text, " server-side-address 2001:db8:2::1\n");
	HAS(text, " local-virtual-address 2001:db8:5::1\n");
	HAS(text, " match source 2001:db8:1::/64 port 5060\n");
	HAS(text, " match destination 2001:db8:5::1/128\n");
	HAS(text, " server 2001:db8:3::10 port 5070\n");
	HAS(text, " set next-hop 2001:db8:9::2\n");
	HAS(text, " peer-address 2001:db8:7::2 port 5999\n");
	again = load(text);
	cr_assert(sp_config_equal(c, again));
	text2 = sp_config_to_text(again, &len);
	cr_assert_str_eq(text, text2);
	free(text);
	free(text2);
	sp_config_free(again);
	sp_config_free(c);
}

Test(ipv6, validate_refuses_an_address_in_the_wrong_slot)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { 0 };

	/* what only SNMP could try: the CLI puts each address in its slot */
	sp_parse_addr("2001:db8::1", &c->sp.server_side_address, &e);
	cr_assert_neq(sp_config_validate(c, &e), 0);
	HAS(e.msg, "not IPv4");
	memset(&c->sp.server_side_address, 0, sizeof(c->sp.server_side_address));
	sp_parse_addr("192.0.2.1", &c->sp.server_side_address6, &e);
	cr_assert_neq(sp_config_validate(c, &e), 0);
	HAS(e.msg, "not IPv6");
	sp_config_free(c);
}

static const char *reason_of(const char *conf)
{
	static char reason[256];
	struct sp_config *c = load(conf);
	struct sp_classify_plan p;
	struct sp_error e = { 0 };

	cr_assert_eq(sp_classify_build(c, NULL, 0, &p, &e), 0, "%s", e.msg);
	cr_assert_eq(p.n_strategies, 1);
	snprintf(reason, sizeof(reason), "%s", p.strategies[0].installed ? "installed" : p.strategies[0].reason);
	sp_classify_free(&p);
	sp_config_free(c);
	return reason;
}

Test(ipv6, families_that_do_not_fit_are_not_installed_with_their_reason)
{
	/* an IPv6 server without an IPv6 C */
	cr_assert_str_eq(reason_of("signaling-proxy\n server-side-address 192.0.2.1\n"
				   "proxy-strategy a seq 10\n server 2001:db8:3::10\n action proxy\n"),
			 "an IPv6 server needs an IPv6 server-side-address");
	/* an IPv4 server with an IPv6 C only */
	cr_assert_str_eq(reason_of("signaling-proxy\n server-side-address 2001:db8:2::1\n"
				   "proxy-strategy a seq 10\n server 192.0.2.10\n action proxy\n"),
			 "an IPv4 server needs an IPv4 server-side-address");
	/* an IPv6 match with an IPv4 server: no interworking with media in the kernel */
	cr_assert_str_eq(reason_of("signaling-proxy\n server-side-address 192.0.2.1\n"
				   " server-side-address 2001:db8:2::1\n"
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::/64\n"
				   " server 192.0.2.10\n action proxy\n"),
			 "it matches IPv6 but its server is IPv4: interworking needs media proxy "
			 "(the kernel cannot translate media)");
	cr_assert_str_eq(reason_of("signaling-proxy\n server-side-address 192.0.2.1\n"
				   " server-side-address 2001:db8:2::1\n"
				   "proxy-strategy a seq 10\n match source 10.1.0.0/24\n"
				   " server 2001:db8:3::10\n action proxy\n"),
			 "it matches IPv4 but its server is IPv6: interworking needs media proxy "
			 "(the kernel cannot translate media)");
	cr_assert_str_eq(reason_of("signaling-proxy\n server-side-address 2001:db8:2::1\n"
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::/64\n"
				   " server 2001:db8:3::10\n action proxy\n"),
			 "installed");
	/* forward and drop take any family */
	cr_assert_str_eq(reason_of("signaling-proxy\n"
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::/64\n action drop\n"),
			 "installed");
}

#define XF_SP "signaling-proxy\n server-side-address 192.0.2.1\n server-side-address 2001:db8:2::1\n"
#define XF_MP(name, media) "media-proxy " name "\n control 192.0.2.34 port 2223\n" media "!\n"
#define XF_BOTH \
	" media-address terminal-side 192.0.2.34\n media-address terminal-side 2001:db8:7::34\n" \
	" media-address server-side 192.0.2.34\n media-address server-side 2001:db8:7::34\n"

/* Calls between the families (interworking): installed with media proxy
 * through an MP that has an address of each family on the right side,
 * refused with the reason otherwise. */
Test(ipv6, interworking_needs_a_media_proxy_of_both_families)
{
	/* IPv4 terminals, IPv6 server, an MP of both families */
	cr_assert_str_eq(reason_of(XF_MP("mp1", XF_BOTH) XF_SP
				   "proxy-strategy a seq 10\n match destination 198.51.100.1/32\n"
				   " server 2001:db8:2::10\n action proxy\n media proxy\n"),
			 "installed");
	/* and the reverse through the same MP */
	cr_assert_str_eq(reason_of(XF_MP("mp1", XF_BOTH) XF_SP
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::1/128\n"
				   " server 192.0.2.10\n action proxy\n media proxy mp1\n"),
			 "installed");
	/* the MP has IPv4 only */
	cr_assert_str_eq(reason_of(XF_MP("mp1", " media-address terminal-side 192.0.2.34\n"
					 " media-address server-side 192.0.2.34\n") XF_SP
				   "proxy-strategy a seq 10\n match destination 198.51.100.1/32\n"
				   " server 2001:db8:2::10\n action proxy\n media proxy\n"),
			 "it matches IPv4 but its server is IPv6: interworking needs a media-proxy with "
			 "media-address terminal-side IPv4 and server-side IPv6");
	/* the families on the wrong sides */
	cr_assert_str_eq(reason_of(XF_MP("mp1", " media-address terminal-side 2001:db8:7::34\n"
					 " media-address server-side 192.0.2.34\n") XF_SP
				   "proxy-strategy a seq 10\n match destination 198.51.100.1/32\n"
				   " server 2001:db8:2::10\n action proxy\n media proxy\n"),
			 "it matches IPv4 but its server is IPv6: interworking needs a media-proxy with "
			 "media-address terminal-side IPv4 and server-side IPv6");
	/* an MP of both families, but shut down */
	cr_assert_str_eq(reason_of(XF_MP("mp1", XF_BOTH " shutdown\n") XF_SP
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::1/128\n"
				   " server 192.0.2.10\n action proxy\n media proxy\n"),
			 "it matches IPv6 but its server is IPv4: interworking needs a media-proxy with "
			 "media-address terminal-side IPv6 and server-side IPv4");
	/* IPv6 terminals need the IPv6 interception (an IPv6 C) */
	cr_assert_str_eq(reason_of(XF_MP("mp1", XF_BOTH)
				   "signaling-proxy\n server-side-address 192.0.2.1\n"
				   "proxy-strategy a seq 10\n match destination 2001:db8:5::1/128\n"
				   " server 192.0.2.10\n action proxy\n media proxy\n"),
			 "it matches IPv6: IPv6 interception needs an IPv6 server-side-address");
}

Test(ipv6, interworking_is_intercepted_in_the_terminals_family)
{
	struct sp_config *c = load(XF_MP("mp1", XF_BOTH) XF_SP
				   "proxy-strategy a seq 10\n match source 10.1.0.0/24\n"
				   " server 2001:db8:2::10\n action proxy\n media proxy\n"
				   "proxy-strategy b seq 20\n match destination 2001:db8:5::1/128\n"
				   " server 192.0.2.10\n action proxy\n media proxy\n");
	struct sp_classify_plan p;
	char *t;

	plan_of(c, &p, &t);
	cr_assert(p.strategies[0].installed && p.strategies[1].installed);
	cr_assert_eq(p.strategies[0].terminal_family, AF_INET);
	cr_assert_eq(p.strategies[1].terminal_family, AF_INET6);
	cr_assert_str_eq(p.strategies[0].note,
			 "interworking: IPv4 terminals, IPv6 server, media through a media proxy");
	/* IPv4 terminals to an IPv6 server: TPROXY for ip; the reverse: ip6 */
	HAS(t, "ip saddr 10.1.0.0/24");
	HAS(t, "tproxy ip to :5060");
	HAS(t, "ip6 daddr 2001:db8:5::1");
	HAS(t, "tproxy ip6 to :5060");
	sp_classify_free(&p);
	free(t);
	sp_config_free(c);
}

Test(ipv6, interception_pinned_to_the_server_family)
{
	struct sp_config *c = load("signaling-proxy\n server-side-address 192.0.2.1\n"
				   " server-side-address 2001:db8:2::1\n"
				   "proxy-strategy v4 seq 10\n server 192.0.2.10\n action proxy\n"
				   "proxy-strategy v6 seq 20\n match destination 2001:db8:5::/64\n"
				   " server 2001:db8:3::10\n action proxy\n"
				   "proxy-strategy any6 seq 30\n server 2001:db8:3::20\n action proxy\n");
	struct sp_classify_plan p;
	char *t;

	plan_of(c, &p, &t);
	cr_assert(p.strategies[0].installed && p.strategies[1].installed && p.strategies[2].installed);
	HAS(t, "meta nfproto ipv4 udp dport 5060");
	HAS(t, "tproxy ip to :5060");
	HAS(t, "ip6 daddr 2001:db8:5::/64");
	HAS(t, "meta nfproto ipv6 udp dport 5060");
	HAS(t, "tproxy ip6 to :5060");
	sp_classify_free(&p);
	free(t);
	sp_config_free(c);
}

/* Without an IPv6 C, an IPv4 configuration renders as it always did. */
Test(ipv6, ipv4_only_configuration_unchanged)
{
	struct sp_config *c = load("signaling-proxy\n server-side-address 192.0.2.1\n"
				   "proxy-strategy v4 seq 10\n server 192.0.2.10\n action proxy\n");
	struct sp_classify_plan p;
	char *t;

	plan_of(c, &p, &t);
	HASNT(t, "nfproto");
	HAS(t, "tproxy to :5060");
	cr_assert_eq(p.entries[0].family, 0);
	sp_classify_free(&p);
	free(t);
	sp_config_free(c);
}

/* The kernel plan: the fwmark rule and the local route for IPv6 too. */
Test(ipv6, kernel_plan_has_ipv6_rule_and_route)
{
	struct sp_nft_entry e = { .ip_proto = IPPROTO_UDP, .verdict = SP_NFT_TPROXY, .tproxy_port = 5060,
				  .mark = SP_MARK_TPROXY, .family = AF_INET6 };
	uint16_t ports[] = { 5060 };
	struct sp_kernel_intercept_cfg cfg = {
		.nft = { .entries = &e, .n_entries = 1, .listen_ports = ports, .n_listen_ports = 1,
			 .default_verdict = SP_NFT_ACCEPT, .mark_mask = SP_MARK_MASK,
			 .fwmark = SP_MARK_TPROXY, .fwmask = SP_MARK_TPROXY },
		.rule_priority = 100, .table = 100, .ipv6 = true,
	};
	struct sp_kernel_plan plan;
	struct sp_error err = { 0 };

	cr_assert_eq(sp_kernel_plan_build(&cfg, &plan, &err), 0, "%s", err.msg);
	cr_assert_eq(plan.n_rules, 2);
	cr_assert_eq(plan.rules[1].family, AF_INET6);
	cr_assert_eq(plan.routes[1].family, AF_INET6);
	HAS(plan.nft_body, "meta nfproto ipv6");
	sp_kernel_plan_free(&plan);
	/* an entry pinned to one family and matching the other's address */
	e.dst.addr.family = AF_INET;
	e.dst.len = 32;
	cr_assert_neq(sp_kernel_plan_build(&cfg, &plan, &err), 0);
	HAS(err.msg, "different address families");
}

/* The return path's neighbour lookup over rtnetlink (issue 18 item 2: not
 * /proc/net/arp), both families, in a network namespace of its own: a
 * veth pair with permanent neighbours sharing one MAC. */
Test(ipv6, neighbour_by_mac_both_families)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
	static const uint8_t other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
	struct sp_endpoint out, prefer;
	char b[SP_ENDPOINT_STRLEN];
	int ifindex;

	if (geteuid() != 0)
		cr_skip_test("needs root: a network namespace");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link add n0 type veth peer name n1 && ip link set n0 up && ip link set n1 up &&"
			    " ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:0a dev n0 nud permanent &&"
			    " ip neigh add 10.9.0.3 lladdr 02:00:00:00:00:0a dev n0 nud permanent &&"
			    " ip -6 neigh add fe80::a lladdr 02:00:00:00:00:0a dev n0 nud permanent &&"
			    " ip -6 neigh add 2001:db8:9::a lladdr 02:00:00:00:00:0a dev n0 nud permanent"
			    " 2>/dev/null"), 0);
	ifindex = (int)if_nametoindex("n0");
	cr_assert(ifindex > 0);
	cr_assert(sp_neigh_by_mac(AF_INET, ifindex, mac, NULL, &out));
	cr_assert_eq(out.family, AF_INET);
	/* the terminal itself when it is one of the addresses of that MAC */
	sp_endpoint_parse(&prefer, "10.9.0.3", 5060);
	cr_assert(sp_neigh_by_mac(AF_INET, ifindex, mac, &prefer, &out));
	cr_assert_str_eq(sp_endpoint_format(&out, b, sizeof(b)), "10.9.0.3:0");
	/* IPv6: the global address before the link-local one */
	cr_assert(sp_neigh_by_mac(AF_INET6, ifindex, mac, NULL, &out));
	cr_assert_str_eq(sp_endpoint_format(&out, b, sizeof(b)), "[2001:db8:9::a]:0");
	/* another MAC, another interface: none */
	cr_assert_not(sp_neigh_by_mac(AF_INET6, ifindex, other, NULL, &out));
	cr_assert_not(sp_neigh_by_mac(AF_INET, (int)if_nametoindex("n1"), mac, NULL, &out));
}

/* The media guard drops untranslated IPv6 to the media range too, once the
 * SP intercepts IPv6; an IPv4-only SP renders it as before. */
Test(ipv6, media_guard_for_ipv6_only_with_ipv6)
{
	char *text;

	cr_assert_eq(sp_media_guard_render_families(20000, 20099, true, &text), 0);
	HAS(text, "meta nfproto ipv6 udp dport 20000-20099 ct status ! dnat counter name \"" SP_MEDIA_GUARD_COUNTER "\" drop");
	HAS(text, "meta nfproto ipv4 udp dport 20000-20099 ct status ! dnat counter");
	free(text);
	cr_assert_eq(sp_media_guard_render_families(20000, 20099, false, &text), 0);
	HASNT(text, "ipv6");
	free(text);
}
