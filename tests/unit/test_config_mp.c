/* The remote media proxies in the configuration model: the (config-mp)
 * block, the media choice of the signaling-proxy and of a strategy, the
 * text round trip, validation and the diff. */
#include "config.h"
#include "config_fixture.h"
#include "sp_cli.h"
#include "sp_cmd.h"
#include "sp_config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char mp_config[] =
	"!\n"
	"hostname sigproxy\n"
	"!\n"
	"media-proxy mp-a\n"
	" control 192.0.2.20 port 2223\n"
	" weight 3\n"
	" media-address terminal-side 198.51.100.1\n"
	" media-address server-side 192.0.2.1\n"
	"!\n"
	"media-proxy mp-b\n"
	" control 2001:db8::20 port 22222\n"
	" weight 0\n"
	" fallback refuse\n"
	" shutdown\n"
	"!\n"
	"signaling-proxy\n"
	" server-side-address 192.0.2.1\n"
	" media proxy\n"
	"!\n"
	"proxy-strategy a seq 10\n"
	" server 192.0.2.10\n"
	" action proxy\n"
	" media proxy mp-a\n"
	"!\n"
	"proxy-strategy b seq 20\n"
	" server 192.0.2.10\n"
	" action proxy\n"
	" media kernel\n"
	"!\n"
	"proxy-strategy c seq 30\n"
	" server 192.0.2.10\n"
	" action proxy\n"
	"!\n"
	"end\n";

Test(config_mp, round_trip)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load(mp_config, &e), *c2;
	char *text;

	cr_assert_not_null(c, "load failed: %s", e.msg);
	text = sp_config_to_text(c, NULL);
	cr_assert_str_eq(text, mp_config);
	c2 = fx_config_load(text, &e);
	cr_assert_not_null(c2, "%s", e.msg);
	cr_assert(sp_config_equal(c, c2));
	cr_assert_eq(c->n_media_proxies, 2);
	cr_assert_eq(c->media_proxies[0].weight, 3);
	cr_assert_eq(c->media_proxies[0].control_port, 2223);
	cr_assert_eq(c->media_proxies[1].fallback, SP_MP_FALLBACK_REFUSE);
	cr_assert(c->media_proxies[1].shutdown);
	cr_assert_eq(c->sp.media, SP_MEDIA_PROXY);
	cr_assert_eq(sp_strategy_media_mode(c, &c->strategies[0]), SP_MEDIA_PROXY);
	cr_assert_str_eq(c->strategies[0].media_proxy, "mp-a");
	cr_assert_eq(sp_strategy_media_mode(c, &c->strategies[1]), SP_MEDIA_KERNEL);
	/* unset: the signaling-proxy's */
	cr_assert_eq(sp_strategy_media_mode(c, &c->strategies[2]), SP_MEDIA_PROXY);
	free(text);
	sp_config_free(c);
	sp_config_free(c2);
}

static void expect_refused(const char *text, const char *why)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load(text, &e);

	cr_assert_null(c, "accepted: %s", text);
	cr_assert(strstr(e.msg, why) != NULL, "%s (wanted %s)", e.msg, why);
}

Test(config_mp, validation)
{
	expect_refused("media-proxy x\n weight 1001\n", "weight");
	expect_refused("media-proxy x\n control 10.0.0.1\n", "usage");
	expect_refused("media-proxy x\n fallback maybe\n", "usage");
	expect_refused("media-proxy x\n media-address left 10.0.0.1\n", "usage");
	expect_refused("media-proxy x\n control 10.0.0.1 port 2223\n!\nmedia-proxy y\n control 10.0.0.1 port 2223\n",
		       "same control address");
	expect_refused("signaling-proxy\n media proxy\n", "at least one media-proxy");
	expect_refused("proxy-strategy s seq 1\n server 10.0.0.2\n action proxy\n media proxy nope\n",
		       "no media-proxy nope");
	expect_refused("proxy-strategy s seq 1\n server 10.0.0.2\n action proxy\n media proxy\n",
		       "needs a media-proxy");
	expect_refused("proxy-strategy s seq 1\n media sideways\n", "usage");
	expect_refused("media-proxy bad!name\n", "media-proxy name");
}

Test(config_mp, no_forms_restore_defaults)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load("media-proxy x\n control 10.0.0.1 port 2223\n weight 5\n fallback refuse\n"
				   " media-address terminal-side 10.0.0.9\n shutdown\n no weight\n no fallback\n"
				   " no media-address terminal-side\n no shutdown\n", &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_eq(c->media_proxies[0].weight, SP_MP_DEFAULT_WEIGHT);
	cr_assert_eq(c->media_proxies[0].fallback, SP_MP_FALLBACK_KERNEL);
	cr_assert_not(sp_addr_is_set(&c->media_proxies[0].media_terminal_side));
	cr_assert_not(c->media_proxies[0].shutdown);
	sp_config_free(c);
	c = fx_config_load("media-proxy x\n control 10.0.0.1 port 2223\n!\nno media-proxy x\n", &e);
	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_eq(c->n_media_proxies, 0);
	sp_config_free(c);
}

/* One media address per side and family: an IPv6 one beside the IPv4
 * one (interworking), written back in the file, cleared by family or
 * whole, and a change of one of them a change of the media proxy. */
Test(config_mp, media_address_per_family)
{
	static const char text[] = "!\nhostname sigproxy\n!\n"
				   "media-proxy x\n"
				   " control 192.0.2.34 port 2223\n"
				   " media-address terminal-side 192.0.2.34\n"
				   " media-address terminal-side 2001:db8:7::34\n"
				   " media-address server-side 2001:db8:7::35\n"
				   "!\nend\n";
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load(text, &e), *c2;
	const struct sp_media_proxy *mp;
	char *out, a[SP_ADDR_STRLEN];

	cr_assert_not_null(c, "%s", e.msg);
	mp = &c->media_proxies[0];
	cr_assert_str_eq(sp_addr_str(sp_media_proxy_address(mp, true, AF_INET), a, sizeof(a)), "192.0.2.34");
	cr_assert_str_eq(sp_addr_str(sp_media_proxy_address(mp, true, AF_INET6), a, sizeof(a)),
			 "2001:db8:7::34");
	cr_assert_null(sp_media_proxy_address(mp, false, AF_INET));
	cr_assert_str_eq(sp_addr_str(sp_media_proxy_address(mp, false, AF_INET6), a, sizeof(a)),
			 "2001:db8:7::35");
	out = sp_config_to_text(c, NULL);
	cr_assert_str_eq(out, text);
	free(out);
	/* the IPv6 one alone cleared, then a whole side */
	c2 = fx_config_load("media-proxy x\n control 192.0.2.34 port 2223\n"
			    " media-address terminal-side 192.0.2.34\n media-address terminal-side 2001:db8:7::34\n"
			    " no media-address terminal-side 2001:db8:7::99\n", &e);
	cr_assert_not_null(c2, "%s", e.msg);
	cr_assert_not_null(sp_media_proxy_address(&c2->media_proxies[0], true, AF_INET));
	cr_assert_null(sp_media_proxy_address(&c2->media_proxies[0], true, AF_INET6));
	cr_assert_not(sp_media_proxy_equal(mp, &c2->media_proxies[0]));
	sp_config_free(c2);
	c2 = fx_config_load("media-proxy x\n control 192.0.2.34 port 2223\n"
			    " media-address terminal-side 192.0.2.34\n media-address terminal-side 2001:db8:7::34\n"
			    " no media-address terminal-side\n", &e);
	cr_assert_not_null(c2, "%s", e.msg);
	cr_assert_null(sp_media_proxy_address(&c2->media_proxies[0], true, AF_INET));
	cr_assert_null(sp_media_proxy_address(&c2->media_proxies[0], true, AF_INET6));
	sp_config_free(c2);
	sp_config_free(c);
}

Test(config_mp, diff_names_the_media_proxy)
{
	struct sp_error e = { { 0 } };
	struct sp_config *a = fx_config_load("media-proxy x\n control 10.0.0.1 port 2223\n", &e);
	struct sp_config *b;
	struct sp_config_diff d;

	cr_assert_not_null(a, "%s", e.msg);
	b = sp_config_dup(a);
	cr_assert_not_null(b);
	b->media_proxies[0].weight = 7;
	cr_assert_eq(sp_config_diff(a, b, &d), 0);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.changes[0].object, SP_OBJ_MEDIA_PROXY);
	cr_assert_eq(d.changes[0].op, SP_CHANGE_MODIFY);
	cr_assert_str_eq(sp_config_object_name(d.changes[0].object), "media-proxy");
	sp_config_diff_free(&d);
	sp_config_mp_remove(b, "x");
	cr_assert_eq(sp_config_diff(a, b, &d), 0);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.changes[0].op, SP_CHANGE_REMOVE);
	sp_config_diff_free(&d);
	sp_config_free(a);
	sp_config_free(b);
}
