/* Classification: every strategy field alone and combined, turned into the
 * nftables entries and text the kernel gets. */
#include "config.h"
#include "config_fixture.h"
#include "sp_classify.h"
#include "sp_cli.h"
#include "sp_link.h"
#include "sp_nft.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const char base[] = "signaling-proxy\n server-side-address 192.0.2.1\n";

static const struct sp_link_vlan lab_vlans[] = {
	{ "eth0.42", 42 },
	{ "eth1.42", 42 },
	{ "eth0.7", 7 },
};

static void build_with(const char *strategies, const struct sp_link_vlan *vlans, size_t n_vlans,
		       struct sp_classify_plan *plan, char **text)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	struct sp_error err = { "" };
	char *conf = NULL;
	struct sp_nft_intercept spec;

	cr_assert(asprintf(&conf, "%s%s", base, strategies) > 0);
	cr_assert_eq(sp_cli_load_text("t", conf, c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_classify_build(c, vlans, n_vlans, plan, &e), 0, "%s", e.msg);
	spec = fx_intercept_spec(c, plan, c->sp.default_action == SP_ACTION_DROP ? SP_NFT_DROP : SP_NFT_ACCEPT);
	cr_assert_eq(sp_nft_render_intercept(&spec, text, &err), 0, "%s", err.msg);
	free(conf);
	sp_config_free(c);
}

static void build(const char *strategies, struct sp_classify_plan *plan, char **text)
{
	build_with(strategies, NULL, 0, plan, text);
}

#define HAS(text, s) cr_assert(strstr(text, s) != NULL, "missing \"%s\" in:\n%s", s, text)
#define HASNT(text, s) cr_assert(strstr(text, s) == NULL, "unexpected \"%s\" in:\n%s", s, text)

Test(classify, source_prefix_alone)
{
	struct sp_classify_plan p;
	char *t;

	build("proxy-strategy a seq 10\n match source 10.1.0.0/24\n server 192.0.2.10\n action proxy\n", &p, &t);
	/* SIP over UDP and its TCP twin */
	cr_assert_eq(p.n_entries, 2);
	cr_assert_eq(p.entries[0].ip_proto, IPPROTO_UDP);
	cr_assert_eq(p.entries[1].ip_proto, IPPROTO_TCP);
	cr_assert_eq(p.entries[1].mark, sp_mark_strategy(1));
	HAS(t, "tcp dport 5060");
	cr_assert(p.strategies[0].installed);
	cr_assert_eq(p.entries[0].verdict, SP_NFT_TPROXY);
	cr_assert_eq(p.entries[0].mark, sp_mark_strategy(1));
	HAS(t, "ip saddr 10.1.0.0/24");
	HAS(t, "udp dport 5060");
	HAS(t, "tproxy ip to :5060");
	sp_classify_free(&p);
	free(t);
}

Test(classify, destination_and_ports)
{
	struct sp_classify_plan p;
	char *t;

	build("proxy-strategy a seq 10\n match destination 198.51.100.1/32 port 5060\n"
	      " match source any port 1024-65535\n server 192.0.2.10\n action proxy\n", &p, &t);
	HAS(t, "ip daddr 198.51.100.1");
	HAS(t, "udp sport 1024-65535");
	HAS(t, "udp dport 5060");
	sp_classify_free(&p);
	free(t);
}

Test(classify, protocol)
{
	struct sp_classify_plan p;
	char *t;

	build("proxy-strategy a seq 10\n match protocol udp\n server 192.0.2.10\n action proxy\n"
	      "proxy-strategy b seq 20\n match protocol tcp\n server 192.0.2.10\n action proxy\n", &p, &t);
	/* each on its own protocol only: no twin */
	cr_assert(p.strategies[0].installed);
	cr_assert(p.strategies[1].installed, "%s", p.strategies[1].reason);
	cr_assert_eq(p.n_entries, 2);
	cr_assert_eq(p.entries[0].ip_proto, IPPROTO_UDP);
	cr_assert_eq(p.entries[1].ip_proto, IPPROTO_TCP);
	cr_assert_eq(p.entries[1].mark, sp_mark_strategy(2));
	sp_classify_free(&p);
	free(t);
}

Test(classify, vpn_resolves_to_interfaces)
{
	struct sp_classify_plan p;
	char *t;

	build("interface veth-a\n vpn-id 7\ninterface veth-b\n vpn-id 7\ninterface veth-c\n vpn-id 8\n"
	      "proxy-strategy a seq 10\n match vpn-id 7\n server 192.0.2.10\n action proxy\n"
	      "proxy-strategy b seq 20\n match vpn-id 9\n server 192.0.2.10\n action proxy\n", &p, &t);
	cr_assert_eq(p.entries[0].n_iifnames, 2);
	HAS(t, "veth-a");
	HAS(t, "veth-b");
	HASNT(t, "veth-c");
	cr_assert_not(p.strategies[1].installed, "a VPN with no interface cannot match");
	cr_assert(strstr(p.strategies[1].reason, "vpn-id") != NULL);
	sp_classify_free(&p);
	free(t);
}

Test(classify, vlan_without_a_vlan_device_and_mpls_are_reported_not_installed)
{
	struct sp_classify_plan p;
	char *t;

	build("proxy-strategy a seq 10\n match vlan 42\n server 192.0.2.10\n action proxy\n"
	      "proxy-strategy b seq 20\n match mpls-label 1000\n server 192.0.2.10\n action proxy\n", &p, &t);
	cr_assert_eq(p.n_entries, 0);
	cr_assert_not(p.strategies[0].installed);
	cr_assert(strstr(p.strategies[0].reason, "VLAN") != NULL, "%s", p.strategies[0].reason);
	cr_assert(strstr(p.strategies[1].reason, "MPLS") != NULL);
	sp_classify_free(&p);
	free(t);
}

Test(classify, vlan_resolves_to_its_sub_interfaces)
{
	struct sp_classify_plan p;
	char *t;

	build_with("proxy-strategy a seq 10\n match vlan 42\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy b seq 20\n match vlan 100\n server 192.0.2.10\n action proxy\n",
		   lab_vlans, 3, &p, &t);
	cr_assert(p.strategies[0].installed);
	cr_assert_eq(p.entries[0].n_iifnames, 2);
	HAS(t, "eth0.42");
	HAS(t, "eth1.42");
	HASNT(t, "eth0.7");
	cr_assert_not(p.strategies[1].installed);
	sp_classify_free(&p);
	free(t);
}

Test(classify, vpn_and_vlan_together_are_the_intersection)
{
	struct sp_classify_plan p;
	char *t;

	build_with("interface eth0.42\n vpn-id 5\ninterface eth0.7\n vpn-id 5\n"
		   "proxy-strategy a seq 10\n match vpn-id 5\n match vlan 42\n match source any port 5060-5070\n"
		   " server 192.0.2.10\n action proxy\n"
		   "proxy-strategy b seq 20\n match vpn-id 5\n match vlan 9\n server 192.0.2.10\n action proxy\n",
		   lab_vlans, 3, &p, &t);
	cr_assert(p.strategies[0].installed);
	cr_assert_eq(p.entries[0].n_iifnames, 1);
	cr_assert_str_eq(p.entries[0].iifnames[0], "eth0.42");
	HAS(t, "udp sport 5060-5070");
	cr_assert_not(p.strategies[1].installed);
	cr_assert(strstr(p.strategies[1].reason, "carries this VLAN") != NULL);
	sp_classify_free(&p);
	free(t);
}

Test(classify, combined_fields_and_order)
{
	struct sp_classify_plan p;
	char *t, *a, *b;

	build("interface t1\n vpn-id 3\n"
	      "proxy-strategy late seq 30\n match source 10.2.0.0/16\n action drop\n"
	      "proxy-strategy early seq 10\n match vpn-id 3\n match protocol udp\n"
	      " match source 10.2.1.0/24 port 5060\n match destination 198.51.100.1/32 port 5060\n"
	      " server 192.0.2.10\n action proxy\n", &p, &t);
	cr_assert_eq(p.n_entries, 2);
	cr_assert_eq(p.entries[0].mark, sp_mark_strategy(1), "seq order: early first");
	cr_assert_eq(p.entries[1].verdict, SP_NFT_DROP);
	a = strstr(t, "10.2.1.0/24");
	b = strstr(t, "10.2.0.0/16");
	cr_assert(a && b && a < b, "first match wins: the lower seq must come first\n%s", t);
	HAS(t, "t1");
	sp_classify_free(&p);
	free(t);
}

Test(classify, forward_drop_default_and_listen_ports)
{
	struct sp_classify_plan p;
	char *t;
	struct sp_config *c = sp_config_new();
	struct sp_error e;

	build("signaling-proxy\n listen-port 5060 5070\n default-action drop\n"
	      "proxy-strategy a seq 10\n match source 10.1.0.0/24\n server 192.0.2.10\n action proxy\n"
	      "proxy-strategy b seq 20\n match source 10.9.0.0/24\n action forward\n"
	      "proxy-strategy c seq 30\n match destination any port 5070\n server 192.0.2.10\n action proxy\n",
	      &p, &t);
	/* a proxy strategy gets one entry per listen port it admits, and
	 * their TCP twins come after every UDP entry, in the same order */
	cr_assert_eq(p.n_entries, 7);
	cr_assert_eq(p.entries[0].tproxy_port, 5060);
	cr_assert_eq(p.entries[1].tproxy_port, 5070);
	cr_assert_eq(p.entries[2].verdict, SP_NFT_ACCEPT);
	cr_assert_eq(p.entries[3].tproxy_port, 5070);
	for (int i = 4; i < 7; i++)
		cr_assert_eq(p.entries[i].ip_proto, IPPROTO_TCP);
	cr_assert_eq(p.entries[4].tproxy_port, 5060);
	cr_assert_eq(p.entries[5].tproxy_port, 5070);
	cr_assert_eq(p.entries[6].tproxy_port, 5070);
	cr_assert_eq(p.entries[6].mark, p.entries[3].mark);
	HAS(t, "tproxy ip to :5070");
	HAS(t, "drop");
	sp_classify_free(&p);
	free(t);
	sp_config_free(c);
	(void)e;
}

Test(classify, proxy_without_server_side_address_is_not_installed)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	struct sp_classify_plan p;

	cr_assert_eq(sp_cli_load_text("t", "proxy-strategy a seq 10\n server 192.0.2.10\n action proxy\n", c, &e), 0);
	cr_assert_eq(sp_classify_build(c, NULL, 0, &p, &e), 0);
	cr_assert_not(p.strategies[0].installed);
	cr_assert(strstr(p.strategies[0].reason, "server-side-address") != NULL);
	sp_classify_free(&p);
	sp_config_free(c);
}

/* ---- VLANs by their tag slot in the mark (tc-BPF, no 802.1Q) ---- */

static void build_tags(const char *strategies, const struct sp_classify_tags *tags,
		       struct sp_classify_plan *plan, char **text)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { 0 };
	struct sp_nft_intercept spec;
	struct sp_error err = { "" };
	char *conf = NULL;

	cr_assert(asprintf(&conf, "signaling-proxy\n server-side-address 192.0.2.1\n%s", strategies) > 0);
	cr_assert_eq(sp_cli_load_text("t", conf, c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_classify_build_tags(c, lab_vlans, 3, tags, plan, &e), 0, "%s", e.msg);
	spec = fx_intercept_spec(c, plan, SP_NFT_ACCEPT);
	cr_assert_eq(sp_nft_render_intercept(&spec, text, &err), 0, "%s", err.msg);
	free(conf);
	sp_config_free(c);
}

Test(classify_tags, tag_values_sorted_unique)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { 0 };
	struct sp_bpf_tag v[8];

	cr_assert_eq(sp_cli_load_text("t", "proxy-strategy a seq 10\n match vlan 200\n"
					   "proxy-strategy b seq 20\n match vlan 100\n"
					   "proxy-strategy d seq 25\n match mpls-label 1002\n"
					   "proxy-strategy e seq 26\n match mpls-label 1001\n"
					   "proxy-strategy c seq 30\n match vlan 200\n", c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_classify_tag_values(c, v, 8), 4);
	cr_assert(v[0].kind == SP_BPF_TAG_VLAN && v[0].value == 100);
	cr_assert(v[1].kind == SP_BPF_TAG_VLAN && v[1].value == 200);
	cr_assert(v[2].kind == SP_BPF_TAG_MPLS && v[2].value == 1001);
	cr_assert(v[3].kind == SP_BPF_TAG_MPLS && v[3].value == 1002);
	sp_config_free(c);
}

Test(classify_tags, vlan_without_device_matches_the_tag_slot)
{
	static const struct sp_bpf_tag vids[] = { { SP_BPF_TAG_VLAN, 100 }, { SP_BPF_TAG_VLAN, 200 } };
	struct sp_classify_tags tags = { vids, 2, NULL };
	struct sp_classify_plan p;
	char *t;

	build_tags("proxy-strategy a seq 10\n match vlan 200\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy b seq 20\n match vlan 42\n server 192.0.2.10\n action proxy\n", &tags, &p, &t);
	cr_assert(p.strategies[0].installed);
	cr_assert_eq(p.entries[0].n_iifnames, 0, "any interface the tagger serves");
	cr_assert_eq(p.entries[0].mark_match, 2u << SP_MARK_TAG_SHIFT);
	cr_assert(strstr(p.strategies[0].note, "tc-BPF") != NULL);
	HAS(t, "meta mark & 0x0000ff00 == 0x00000200");
	/* a VLAN with sub-interfaces keeps them */
	cr_assert(p.strategies[1].installed);
	HAS(t, "eth0.42");
	sp_classify_free(&p);
	free(t);
}

Test(classify_tags, vpn_vlan_and_source_ports_combined)
{
	static const struct sp_bpf_tag vids[] = { { SP_BPF_TAG_VLAN, 100 } };
	struct sp_classify_tags tags = { vids, 1, NULL };
	struct sp_classify_plan p;
	char *t;

	build_tags("interface te0\n vpn-id 10\n"
		   "proxy-strategy combo seq 5\n match vpn-id 10\n match vlan 100\n"
		   " match source any port 5070-5079\n server 192.0.2.20\n action proxy\n", &tags, &p, &t);
	cr_assert(p.strategies[0].installed);
	HAS(t, "iifname \"te0\" meta mark & 0x0000ff00 == 0x00000100 udp sport 5070-5079 udp dport 5060");
	sp_classify_free(&p);
	free(t);
}

Test(classify_tags, tagger_missing_is_the_reason)
{
	struct sp_classify_tags tags = { NULL, 0, "the tc-BPF tagger is not loaded: EPERM" };
	struct sp_classify_plan p;
	char *t;

	build_tags("proxy-strategy a seq 10\n match vlan 300\n server 192.0.2.10\n action proxy\n", &tags, &p, &t);
	cr_assert_not(p.strategies[0].installed);
	cr_assert_str_eq(p.strategies[0].reason, "the tc-BPF tagger is not loaded: EPERM");
	sp_classify_free(&p);
	free(t);
}

Test(classify_tags, mpls_label_matches_its_slot)
{
	static const struct sp_bpf_tag t2[] = { { SP_BPF_TAG_VLAN, 100 }, { SP_BPF_TAG_MPLS, 1001 },
						{ SP_BPF_TAG_MPLS, 1002 } };
	struct sp_classify_tags tags = { t2, 3, NULL };
	struct sp_classify_plan p;
	char *t;

	build_tags("proxy-strategy a seq 10\n match mpls-label 1002\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy b seq 20\n match mpls-label 1001\n match vlan 100\n server 192.0.2.10\n"
		   " action proxy\n", &tags, &p, &t);
	cr_assert(p.strategies[0].installed);
	HAS(t, "meta mark & 0x0000ff00 == 0x00000300");
	cr_assert_str_eq(p.strategies[0].note, "MPLS label 1002 popped by XDP");
	cr_assert_not(p.strategies[1].installed, "one tag slot: VLAN and label together are refused");
	cr_assert(strstr(p.strategies[1].reason, "one tag slot"), "%s", p.strategies[1].reason);
	sp_classify_free(&p);
	free(t);
}

/* ---- fields the kernel resolves: VRF members, MPLS label routes ---- */

#include "sp_vpn.h"

static void build_kernel(const char *strategies, const struct sp_classify_tags *tags,
			 const struct sp_classify_kernel *kern, struct sp_classify_plan *plan, char **text)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { 0 };
	struct sp_nft_intercept spec;
	struct sp_error err = { "" };
	char *conf = NULL;

	cr_assert(asprintf(&conf, "signaling-proxy\n server-side-address 192.0.2.1\n%s", strategies) > 0);
	cr_assert_eq(sp_cli_load_text("t", conf, c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_classify_build_kernel(c, lab_vlans, 3, tags, kern, plan, &e), 0, "%s", e.msg);
	spec = fx_intercept_spec(c, plan, SP_NFT_ACCEPT);
	cr_assert_eq(sp_nft_render_intercept(&spec, text, &err), 0, "%s", err.msg);
	free(conf);
	sp_config_free(c);
}

Test(classify_kernel, vpn_of_a_vrf)
{
	/* what sp_vpn_add_vrfs() gives for a VRF "vrf-red" (table 1010) with eth1 */
	static const struct sp_vpn_if vpn_ifs[] = { { "va", 10 }, { "vrf-red", 1010 }, { "eth1", 1010 } };
	struct sp_classify_kernel kern = { 0 };
	struct sp_classify_plan p;
	char *t;

	kern.vpn_ifs = vpn_ifs;
	kern.n_vpn_ifs = 3;
	build_kernel("proxy-strategy red seq 10\n match vpn-id 1010\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy ten seq 20\n match vpn-id 10\n server 192.0.2.11\n action proxy\n"
		   "proxy-strategy none seq 30\n match vpn-id 30\n server 192.0.2.12\n action proxy\n",
		   NULL, &kern, &p, &t);
	cr_assert(p.strategies[0].installed, "%s", p.strategies[0].reason);
	cr_assert_eq(p.entries[0].n_iifnames, 2);
	cr_assert_str_eq(p.entries[0].iifnames[0], "vrf-red");
	cr_assert_str_eq(p.entries[0].iifnames[1], "eth1");
	cr_assert(p.strategies[1].installed);
	cr_assert_not(p.strategies[2].installed);
	cr_assert(strstr(p.strategies[2].reason, "vpn-id") != NULL);
	HAS(t, "eth1");
	sp_classify_free(&p);
	free(t);
}

Test(classify_kernel, mpls_label_routes)
{
	static const struct sp_bpf_tag lbl[] = { { SP_BPF_TAG_MPLS, 1003 } };
	static const struct sp_link_mpls_route routes[] = {
		{ .label = 1001, .oif = 1, .dev = "lo" },
		{ .label = 1002, .oif = 4, .dev = "eth4", .has_via = true, .via = "10.9.0.2" },
	};
	static const struct sp_vpn_if vpn_ifs[] = { { "va", 10 } };
	struct sp_classify_tags tags = { lbl, 1, NULL };
	struct sp_classify_kernel kern = { 0 };
	struct sp_classify_plan p;
	char *t;

	kern.mpls = routes;
	kern.n_mpls = 2;
	kern.mpls_routing = true;
	kern.vpn_ifs = vpn_ifs;
	kern.n_vpn_ifs = 1;
	build_kernel("proxy-strategy local seq 10\n match mpls-label 1001\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy fwd seq 20\n match mpls-label 1002\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy tagger seq 30\n match mpls-label 1003\n server 192.0.2.10\n action proxy\n"
		   "proxy-strategy vpn seq 40\n match mpls-label 1001\n match vpn-id 10\n server 192.0.2.10\n action proxy\n",
		   &tags, &kern, &p, &t);
	cr_assert(p.strategies[0].installed, "%s", p.strategies[0].reason);
	cr_assert_str_eq(p.strategies[0].note, "label 1001 routed by the kernel to dev lo, popped to IP");
	cr_assert_str_eq(p.entries[0].iifnames[0], "lo");
	cr_assert_eq(p.entries[0].mark_match_mask, 0, "not the tagger's slot");
	cr_assert_not(p.strategies[1].installed);
	cr_assert(strstr(p.strategies[1].reason, "label 1002 routed by the kernel to dev eth4 via 10.9.0.2") != NULL,
		  "%s", p.strategies[1].reason);
	cr_assert(strstr(p.strategies[1].reason, "never reach IP") != NULL);
	cr_assert(p.strategies[2].installed, "no kernel route: the tagger");
	cr_assert_str_eq(p.strategies[2].note, "MPLS label 1003 popped by XDP (no kernel route for it)");
	cr_assert_not(p.strategies[3].installed, "lo is not in VPN 10");
	cr_assert(strstr(p.strategies[3].reason, "not in this vpn-id") != NULL, "%s", p.strategies[3].reason);
	sp_classify_free(&p);
	free(t);
	/* no tagger, no route */
	tags.n_tags = 0;
	tags.unavailable = "the BPF tagger is not loaded";
	build_kernel("proxy-strategy x seq 10\n match mpls-label 1005\n server 192.0.2.10\n action proxy\n",
		     &tags, &kern, &p, &t);
	cr_assert_not(p.strategies[0].installed);
	cr_assert_str_eq(p.strategies[0].reason, "label 1005: no kernel route, and the BPF tagger is not loaded");
	sp_classify_free(&p);
	free(t);
}

Test(classify_kernel, routed_labels_are_not_the_taggers)
{
	struct sp_bpf_tag v[] = { { SP_BPF_TAG_VLAN, 1001 }, { SP_BPF_TAG_MPLS, 1001 },
				  { SP_BPF_TAG_MPLS, 1002 }, { SP_BPF_TAG_MPLS, 1003 } };
	static const struct sp_link_mpls_route routes[] = { { .label = 1001 }, { .label = 1003 } };

	cr_assert_eq(sp_classify_tags_unrouted(v, 4, routes, 2), 2);
	cr_assert(v[0].kind == SP_BPF_TAG_VLAN && v[0].value == 1001, "a VLAN id is no label");
	cr_assert(v[1].kind == SP_BPF_TAG_MPLS && v[1].value == 1002);
}

/* ---- grouping into nftables maps (issue 9) ------------------------------ */

/* The plan of conf rendered as the engine does without VPNs or tags. */
static char *render_grouped(const char *conf_body, struct sp_nft_render_stats *st)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	struct sp_classify_plan plan;
	struct sp_nft_intercept spec = { 0 };
	uint32_t origins[SP_CLASSIFY_ORIGINS_MAX];
	struct sp_error err = { "" };
	char *conf = NULL, *text = NULL;

	cr_assert(asprintf(&conf, "%s%s", base, conf_body) > 0);
	cr_assert_eq(sp_cli_load_text("t", conf, c, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_classify_build(c, NULL, 0, &plan, &e), 0, "%s", e.msg);
	spec = fx_intercept_spec(c, &plan, SP_NFT_ACCEPT);
	spec.origin_marks = origins;
	spec.n_origin_marks = sp_classify_origin_marks(0, 0, origins);
	cr_assert_eq(spec.n_origin_marks, 1);
	cr_assert_eq(sp_nft_render_intercept_stats(&spec, &text, st, &err), 0, "%s", err.msg);
	sp_classify_free(&plan);
	free(conf);
	sp_config_free(c);
	return text;
}

Test(classify_groups, origin_marks_are_vpn_times_tag_slots)
{
	uint32_t o[SP_CLASSIFY_ORIGINS_MAX];

	cr_assert_eq(sp_classify_origin_marks(0, 0, o), 1);
	cr_assert_eq(o[0], 0);
	cr_assert_eq(sp_classify_origin_marks(2, 1, o), 6);
	cr_assert_eq(o[0], 0x000);
	cr_assert_eq(o[2], 0x002);
	cr_assert_eq(o[3], 0x100);
	cr_assert_eq(o[5], 0x102);
	/* too many: proxy strategies stay rules rather than blow up the map */
	cr_assert_eq(sp_classify_origin_marks(16, 0, o), 0);
}

Test(classify_groups, ten_thousand_strategies_are_one_rule_per_protocol)
{
	struct sp_nft_render_stats st;
	char *conf = NULL, *text;
	size_t len = 0;
	FILE *w = open_memstream(&conf, &len);

	/* bench/run's configuration: the caller's strategy last */
	for (unsigned i = 0; i < 9999; i++)
		fprintf(w, "proxy-strategy s%u seq %u\n match source 172.%u.%u.0/24\n"
			" match destination 198.51.100.1/32 port 5060\n server 192.0.2.10\n action proxy\n",
			i, i + 1, 16 + (i >> 8), i & 255);
	fprintf(w, "proxy-strategy bench seq 10000\n match source 10.1.0.0/24\n"
		" match destination 198.51.100.1/32 port 5060\n server 192.0.2.10\n action proxy\n");
	fclose(w);
	text = render_grouped(conf, &st);
	/* one map for UDP, one for TCP */
	cr_assert_eq(st.rules, 2);
	cr_assert_eq(st.maps, 2);
	cr_assert_eq(st.elements, 20000);
	/* the last strategy keeps its slot (10000) in the mark */
	HAS(text, "10.1.0.0/24 . 198.51.100.1 . 5060 : 0x67100000");
	free(text);
	free(conf);
}

Test(classify_groups, listen_ports_and_an_overlapping_forward_keep_the_order)
{
	struct sp_nft_render_stats st;
	char *t;

	/* two listen ports: a proxy strategy is an entry per port, and the
	 * ports' entries go to two maps (one TPROXY port each); the forward of
	 * 10.0.0.0/8 comes first, so proxy strategies inside it stay after it */
	t = render_grouped(" listen-port 5060 5080\n"
			   "proxy-strategy fw seq 5\n match source 10.0.0.0/8\n action forward\n"
			   "proxy-strategy a seq 10\n match source 10.1.0.0/24\n server 192.0.2.10\n action proxy\n"
			   "proxy-strategy b seq 11\n match source 10.2.0.0/24\n server 192.0.2.10\n action proxy\n"
			   "proxy-strategy c seq 12\n match source 10.3.0.0/24\n server 192.0.2.10\n action proxy\n"
			   "proxy-strategy d seq 13\n match source 10.4.0.0/24\n server 192.0.2.10\n action proxy\n",
			   &st);
	/* and as many again for TCP */
	cr_assert_eq(st.maps, 4, "%s", t);
	cr_assert_eq(st.rules, 5, "%s", t);
	HAS(t, "tproxy ip to :5060 accept");
	HAS(t, "tproxy ip to :5080 accept");
	HAS(t, "10.4.0.0/24 . 5080 : 0x40050000");
	cr_assert_lt(strstr(t, "comment \"fw\"") - t, strstr(t, "map @g1") - t, "%s", t);
	cr_assert_lt(strstr(t, "comment \"fw\"") - t, strstr(t, "map @g2") - t, "%s", t);
	free(t);
}
