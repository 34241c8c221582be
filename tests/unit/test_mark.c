/* The packet mark layout (policy-routing/sp_mark.h) and the VPN map and nft
 * chains built on it (policy-routing/sp_vpn.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_mark.h"
#include "sp_vpn.h"

Test(mark, fields_round_trip)
{
	struct sp_mark_fields f = { .tproxy = true, .strategy = 16383, .tag = 200, .vpn = 255 }, g;
	uint32_t m;

	cr_assert(sp_mark_encode(&f, &m));
	cr_assert_eq(m, 0x40000000u | 0x3fff0000u | 200u << 8 | 255u);
	sp_mark_decode(m, &g);
	cr_assert(g.tproxy && !g.ret);
	cr_assert_eq(g.strategy, 16383);
	cr_assert_eq(g.tag, 200);
	cr_assert_eq(g.vpn, 255);
}

Test(mark, fields_do_not_overlap)
{
	cr_assert_eq(SP_MARK_RETURN & (SP_MARK_TPROXY | SP_MARK_STRATEGY_MASK | SP_MARK_TAG_MASK | SP_MARK_VPN_MASK), 0);
	cr_assert_eq(SP_MARK_TPROXY & (SP_MARK_STRATEGY_MASK | SP_MARK_TAG_MASK | SP_MARK_VPN_MASK), 0);
	cr_assert_eq(SP_MARK_STRATEGY_MASK & (SP_MARK_TAG_MASK | SP_MARK_VPN_MASK), 0);
	cr_assert_eq(SP_MARK_TAG_MASK & SP_MARK_VPN_MASK, 0);
	/* the origin is the low half: the media entries' conntrack mark holds it */
	cr_assert_eq(SP_MARK_ORIGIN_MASK, 0xffffu);
}

Test(mark, out_of_range_refused)
{
	struct sp_mark_fields f = { .strategy = 16384 };
	uint32_t m = 7;

	cr_assert_not(sp_mark_encode(&f, &m));
	f = (struct sp_mark_fields){ .vpn = 256 };
	cr_assert_not(sp_mark_encode(&f, &m));
	f = (struct sp_mark_fields){ .tag = 256 };
	cr_assert_not(sp_mark_encode(&f, &m));
	cr_assert_eq(m, 7, "untouched on failure");
}

Test(mark, ten_thousand_strategies)
{
	for (uint32_t slot = 1; slot <= 10000; slot++) {
		uint32_t m = sp_mark_strategy(slot) | 3u; /* a VPN slot set earlier survives */
		cr_assert_eq(sp_mark_strategy_slot(m), slot);
		cr_assert_eq(sp_mark_vpn_slot(m), 3);
	}
	cr_assert_eq(sp_mark_strategy_slot(5u << SP_MARK_STRATEGY_SHIFT), 0, "no TPROXY bit: no strategy");
}

Test(mark, return_mark)
{
	cr_assert_eq(sp_mark_return(sp_mark_strategy(9)), 0, "global and untagged: the routing table decides");
	cr_assert_eq(sp_mark_return(sp_mark_strategy(9) | 0x0102u), SP_MARK_RETURN | 0x0102u);
}

Test(vpn, slots_in_ascending_order)
{
	struct sp_vpn_if ifs[] = { { "b", 20 }, { "a", 10 }, { "c", 20 }, { "g", 0 } };
	struct sp_vpn_map map;
	struct sp_error err = { "" };

	cr_assert_eq(sp_vpn_map_build(&map, ifs, 4, &err), 0, "%s", err.msg);
	cr_assert_eq(map.n, 2);
	cr_assert_eq(map.n_ifs, 3, "interfaces without a vpn-id are global");
	cr_assert_eq(sp_vpn_slot(&map, 10), 1);
	cr_assert_eq(sp_vpn_slot(&map, 20), 2);
	cr_assert_eq(sp_vpn_slot(&map, 30), 0);
	cr_assert_eq(sp_vpn_id(&map, 2), 20);
	cr_assert_eq(sp_vpn_id(&map, 0), 0);
	cr_assert_eq(sp_vpn_id(&map, 3), 0);
}

/* every slot of a full map is found (binary search over the sorted ids),
 * ids between and around them are not */
Test(vpn, slot_lookup_in_a_full_map)
{
	static struct sp_vpn_if ifs[SP_VPN_MAX_IFS];
	struct sp_vpn_map map;
	struct sp_error err = { "" };
	size_t n = SP_VPN_MAX_IFS;

	for (size_t i = 0; i < n; i++) {
		snprintf(ifs[i].ifname, sizeof(ifs[i].ifname), "if%zu", i);
		ifs[i].vpn_id = (uint32_t)(((i * 37) % n) * 3 + 100); /* scrambled, distinct */
	}
	cr_assert_eq(sp_vpn_map_build(&map, ifs, n, &err), 0, "%s", err.msg);
	cr_assert_eq(map.n, n);
	for (unsigned s = 1; s <= map.n; s++) {
		cr_assert_eq(sp_vpn_slot(&map, map.ids[s]), s, "slot %u", s);
		cr_assert_eq(sp_vpn_slot(&map, map.ids[s] + 1), 0);
	}
	cr_assert_eq(sp_vpn_slot(&map, 99), 0);
	cr_assert_eq(sp_vpn_slot(&map, 0), 0);
}

Test(vpn, zone_range)
{
	struct sp_vpn_if ifs[] = { { "a", 70000 } };
	struct sp_vpn_map map;
	struct sp_error err = { "" };

	cr_assert_eq(sp_vpn_map_build(&map, ifs, 1, &err), -1);
	cr_assert(strstr(err.msg, "conntrack zone"), "%s", err.msg);
}

Test(vpn, nft_chains)
{
	struct sp_vpn_if ifs[] = { { "v10", 10 }, { "v20", 20 } };
	struct sp_vpn_map map;
	struct sp_error err = { "" };
	char *t;

	cr_assert_eq(sp_vpn_map_build(&map, ifs, 2, &err), 0);
	cr_assert_eq(sp_vpn_render_nft(&map, 0x53500000u, 0xffff0000u, &t), 0);
	cr_assert(strstr(t, "type filter hook prerouting priority raw;"), "%s", t);
	cr_assert(strstr(t, "iifname \"v10\" meta mark set meta mark & 0xffffff00 | 0x00000001 ct zone set 10"), "%s", t);
	cr_assert(strstr(t, "iifname \"v20\" meta mark set meta mark & 0xffffff00 | 0x00000002 ct zone set 20"), "%s", t);
	cr_assert(strstr(t, "ct direction reply ct mark & 0xffff0000 == 0x53500000 ct mark & 0x0000ffff != 0 "
			    "meta mark set ct mark & 0x0000ffff | 0x80000000"), "%s", t);
	free(t);
}
