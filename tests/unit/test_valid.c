/* Every validator with good and bad values. */
#include "config.h"
#include "sp_valid.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/socket.h>

Test(valid, prefix_good)
{
	struct sp_prefix p;
	struct sp_error e;
	char b[SP_PREFIX_STRLEN];

	cr_assert_eq(sp_parse_prefix("10.0.0.0/24", &p, &e), 0);
	cr_assert_str_eq(sp_prefix_str(&p, b, sizeof(b)), "10.0.0.0/24");
	/* host bits are cleared, as a router does */
	cr_assert_eq(sp_parse_prefix("10.1.2.3/16", &p, &e), 0);
	cr_assert_str_eq(sp_prefix_str(&p, b, sizeof(b)), "10.1.0.0/16");
	cr_assert_eq(sp_parse_prefix("192.0.2.7", &p, &e), 0);
	cr_assert_str_eq(sp_prefix_str(&p, b, sizeof(b)), "192.0.2.7/32");
	cr_assert_eq(sp_parse_prefix("0.0.0.0/0", &p, &e), 0);
	cr_assert_eq(p.len, 0);
	cr_assert_eq(sp_parse_prefix("2001:db8:1::5/48", &p, &e), 0);
	cr_assert_str_eq(sp_prefix_str(&p, b, sizeof(b)), "2001:db8:1::/48");
	cr_assert_eq(p.addr.family, AF_INET6);
}

Test(valid, prefix_bad)
{
	static const char *bad[] = {
		"10.0.0.300/24", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/24",
		"abc", "", "10.0.0.0/24x", "2001:db8::/129", "10.0.0.0/ 24", "10.0.0.0/0x10",
	};
	struct sp_prefix p;
	struct sp_error e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		cr_assert_eq(sp_parse_prefix(bad[i], &p, &e), -1, "accepted \"%s\"", bad[i]);
		cr_assert(strstr(e.msg, "Invalid prefix") != NULL, "message for %s: %s", bad[i], e.msg);
	}
	cr_assert_eq(sp_parse_prefix("10.0.0.300/24", &p, &e), -1);
	cr_assert_str_eq(e.msg, "Invalid prefix \"10.0.0.300/24\"");
}

Test(valid, addresses)
{
	struct sp_addr a;
	struct sp_error e;
	char b[SP_ADDR_STRLEN];

	cr_assert_eq(sp_parse_addr("192.0.2.1", &a, &e), 0);
	cr_assert_eq(a.family, AF_INET);
	cr_assert_str_eq(sp_addr_str(&a, b, sizeof(b)), "192.0.2.1");
	cr_assert_eq(sp_parse_addr("fe80::1", &a, &e), 0);
	cr_assert_eq(a.family, AF_INET6);
	cr_assert_eq(sp_parse_addr("192.0.2.256", &a, &e), -1);
	cr_assert_eq(sp_parse_addr("192.0.2", &a, &e), -1);
	cr_assert_eq(sp_parse_addr("", &a, &e), -1);
	cr_assert_eq(sp_parse_ipv4("::1", &a, &e), -1);
	cr_assert_eq(sp_parse_ipv4("10.9.8.7", &a, &e), 0);
}

Test(valid, ports_and_ranges)
{
	uint16_t p;
	struct sp_port_range r;
	struct sp_error e;

	cr_assert_eq(sp_parse_port("1", &p, &e), 0);
	cr_assert_eq(p, 1);
	cr_assert_eq(sp_parse_port("65535", &p, &e), 0);
	cr_assert_eq(p, 65535);
	cr_assert_eq(sp_parse_port("0", &p, &e), -1);
	cr_assert_eq(sp_parse_port("65536", &p, &e), -1);
	cr_assert_eq(sp_parse_port("-5", &p, &e), -1);
	cr_assert_eq(sp_parse_port("50x", &p, &e), -1);
	cr_assert_eq(sp_parse_port("99999999999", &p, &e), -1);
	cr_assert_eq(sp_parse_port_range("5060", &r, &e), 0);
	cr_assert(r.lo == 5060 && r.hi == 5060);
	cr_assert_eq(sp_parse_port_range("5060-5080", &r, &e), 0);
	cr_assert(r.lo == 5060 && r.hi == 5080);
	cr_assert_eq(sp_parse_port_range("5080-5060", &r, &e), -1);
	cr_assert(strstr(e.msg, "start above end") != NULL);
	cr_assert_eq(sp_parse_port_range("5060-", &r, &e), -1);
	cr_assert_eq(sp_parse_port_range("-5060", &r, &e), -1);
	cr_assert_eq(sp_parse_port_range("0-10", &r, &e), -1);
	cr_assert_eq(sp_parse_port_range("1-70000", &r, &e), -1);
	cr_assert_eq(sp_parse_port_range("1-2-3", &r, &e), -1);
}

Test(valid, numbers_with_ranges)
{
	uint32_t v;
	struct sp_error e;

	/* VLAN 1-4094 */
	cr_assert_eq(sp_parse_u32("1", SP_VLAN_MIN, SP_VLAN_MAX, "VLAN ID", &v, &e), 0);
	cr_assert_eq(sp_parse_u32("4094", SP_VLAN_MIN, SP_VLAN_MAX, "VLAN ID", &v, &e), 0);
	cr_assert_eq(sp_parse_u32("0", SP_VLAN_MIN, SP_VLAN_MAX, "VLAN ID", &v, &e), -1);
	cr_assert_eq(sp_parse_u32("4095", SP_VLAN_MIN, SP_VLAN_MAX, "VLAN ID", &v, &e), -1);
	cr_assert_str_eq(e.msg, "Invalid VLAN ID \"4095\" (expected 1-4094)");
	/* MPLS 16-1048575 */
	cr_assert_eq(sp_parse_u32("16", SP_MPLS_MIN, SP_MPLS_MAX, "MPLS label", &v, &e), 0);
	cr_assert_eq(sp_parse_u32("1048575", SP_MPLS_MIN, SP_MPLS_MAX, "MPLS label", &v, &e), 0);
	cr_assert_eq(sp_parse_u32("15", SP_MPLS_MIN, SP_MPLS_MAX, "MPLS label", &v, &e), -1);
	cr_assert_eq(sp_parse_u32("1048576", SP_MPLS_MIN, SP_MPLS_MAX, "MPLS label", &v, &e), -1);
	/* VPN 1-4294967295 */
	cr_assert_eq(sp_parse_u32("4294967295", SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &v, &e), 0);
	cr_assert_eq(v, 4294967295u);
	cr_assert_eq(sp_parse_u32("4294967296", SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &v, &e), -1);
	cr_assert_eq(sp_parse_u32("0", SP_VPN_MIN, SP_VPN_MAX, "VPN ID", &v, &e), -1);
	cr_assert_eq(sp_parse_u32("+5", 0, 10, "x", &v, &e), -1);
	cr_assert_eq(sp_parse_u32(" 5", 0, 10, "x", &v, &e), -1);
	cr_assert_eq(sp_parse_u32("", 0, 10, "x", &v, &e), -1);
}

Test(valid, protocol)
{
	uint8_t p;
	struct sp_error e;

	cr_assert_eq(sp_parse_protocol("udp", &p, &e), 0);
	cr_assert_eq(p, 17);
	cr_assert_eq(sp_parse_protocol("TCP", &p, &e), 0);
	cr_assert_eq(p, 6);
	cr_assert_eq(sp_parse_protocol("132", &p, &e), 0);
	cr_assert_eq(p, 132);
	cr_assert_eq(sp_parse_protocol("0", &p, &e), -1);
	cr_assert_eq(sp_parse_protocol("256", &p, &e), -1);
	cr_assert_eq(sp_parse_protocol("sctpx", &p, &e), -1);
}

Test(valid, names)
{
	struct sp_error e;

	cr_assert_eq(sp_check_name("voip-A_1.x", "proxy-strategy", &e), 0);
	cr_assert_eq(sp_check_name("-bad", "proxy-strategy", &e), -1);
	cr_assert_eq(sp_check_name("", "proxy-strategy", &e), -1);
	cr_assert_eq(sp_check_name("a b", "proxy-strategy", &e), -1);
	cr_assert_eq(sp_check_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "proxy-strategy", &e), -1); /* 33 */
	cr_assert_eq(sp_check_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "proxy-strategy", &e), 0);  /* 32 */
	cr_assert_eq(sp_check_hostname("router-1", &e), 0);
	cr_assert_eq(sp_check_hostname("1router", &e), -1);
	cr_assert_eq(sp_check_hostname("router-", &e), -1);
	cr_assert_eq(sp_check_hostname("rou.ter", &e), -1);
	cr_assert_eq(sp_check_ifname("eth0.100", &e), 0);
	cr_assert_eq(sp_check_ifname("a/b", &e), -1);
	cr_assert_eq(sp_check_ifname("0123456789abcdef", &e), -1); /* 16 > IFNAMSIZ-1 */
	cr_assert_eq(sp_check_username("admin", &e), 0);
	cr_assert_eq(sp_check_username("ad min", &e), -1);
	cr_assert_eq(sp_check_key("12345678", &e), 0);
	cr_assert_eq(sp_check_key("1234567", &e), -1);
	cr_assert_eq(sp_check_key("1234 5678", &e), -1);
}

/* Found by fuzzing the configuration loader: a name or key the CLI only takes
 * quoted or escaped is written unquoted by running-config, and the saved file
 * then loads as something else (a '|' starts a filter). */
Test(valid, names_and_keys_stay_writable_as_config_words)
{
	static const char *const bad[] = { "\"", "'", "\\", "|" };
	struct sp_error e;
	char name[16], key[16];

	cr_assert_eq(sp_check_key("a#b!c?d$e&f", &e), 0);
	cr_assert_eq(sp_check_ifname("eth0#1", &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "a%sb", bad[i]);
		snprintf(key, sizeof(key), "abcd%sefgh", bad[i]);
		cr_expect_eq(sp_check_ifname(name, &e), -1, "interface %s", name);
		cr_expect_eq(sp_check_key(key, &e), -1, "key %s", key);
	}
}
