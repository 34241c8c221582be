/* The configuration model: collections, whole-config validation, diffs,
 * transactional commits with subscribers, and the text round trip through
 * the CLI grammar. */
#include "config.h"
#include "config_fixture.h"
#include "sp_cli.h"
#include "sp_cmd.h"
#include "sp_config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* A configuration that uses every config-mode command. */
static const char full_config[] =
	"!\n"
	"hostname edge-sp1\n"
	"!\n"
	"username admin secret hashed $6$saltsalt$4WJMS3mLflvP0bTwZiMcFdj6gxuOGsrq/k.LG1yVcL.fuUhnF0MWJBtiQ8oxQQYGiH1Dzw3zcw/5kJQuU4gV4.\n"
	"username ops privilege 1 secret hashed $6$othersalt$PS6b.J7Z5ldr9MyNbQpYv1vVwZZV3EDWHfuq6vBaEqOKhQ6CeMfGYeG/Epe9jnOoNjd45UZ2b2J1y5R9tT3Y9.\n"
	"username root1 privilege 15 secret hashed $6$saltsalt$4WJMS3mLflvP0bTwZiMcFdj6gxuOGsrq/k.LG1yVcL.fuUhnF0MWJBtiQ8oxQQYGiH1Dzw3zcw/5kJQuU4gV4.\n"
	"enable secret hashed $6$ensalt$V5jMOCRU6mrw/F7J5b5y0vtRfdEC5n9WFT4S1VH/E2PjTe0BtTLxLgMznSTUaRlh1tnSVzrJ7hXU3PSrsfCxT0\n"
	"!\n"
	"cli login-timeout 20\n"
	"cli exec-timeout 0\n"
	"cli access-class 10.0.0.0/8\n"
	"cli access-class 2001:db8::/32\n"
	"banner motd Authorized staff only - edge-sp1\n"
	"logging host 192.0.2.50\n"
	"logging host 2001:db8::50 port 1514\n"
	"!\n"
	"signaling-proxy\n"
	" server-side-address 192.0.2.1\n"
	" listen-port 5060 5070\n"
	" default-action drop\n"
	" local-virtual-address 198.51.100.1\n"
	" return-path default-gateway 10.0.0.254\n"
	" signaling-sockets shared\n"
	" media off\n"
	" media-port-range 30000 31999\n"
	" signaling-port-range 32000 39999\n"
	" session-limit 50000\n"
	" limit source-rate 0\n"
	" limit source-new-bindings 20\n"
	" limit source-bindings 5\n"
	" message-size-limit 1300\n"
	"!\n"
	"interface eth1\n"
	" vpn-id 100\n"
	" signaling-proxy terminal-side\n"
	"!\n"
	"interface eth2\n"
	" signaling-proxy server-side\n"
	"!\n"
	"proxy-strategy voip seq 10\n"
	" match vpn-id 100\n"
	" match vlan 42\n"
	" match mpls-label 1000\n"
	" match protocol udp\n"
	" match source 10.1.0.0/24 port 5060-5070\n"
	" match destination 198.51.100.1/32 port 5060\n"
	" server 192.0.2.10 port 5080\n"
	" action proxy\n"
	" hide-server-identity\n"
	"!\n"
	"proxy-strategy voip seq 20\n"
	" match source any port 5062\n"
	" action drop\n"
	" shutdown\n"
	"!\n"
	"proxy-strategy other seq 30\n"
	" match destination 2001:db8::/32\n"
	" server 2001:db8::10\n"
	" action forward\n"
	"!\n"
	"policy-route steer seq 5\n"
	" match source 10.1.0.0/24\n"
	" match destination 198.51.100.1/32\n"
	" match protocol udp\n"
	" match source-port 1024-65535\n"
	" match destination-port 5060\n"
	" match input-interface eth1\n"
	" set next-hop 10.0.0.2\n"
	"!\n"
	"policy-route steer seq 6\n"
	" match protocol 132\n"
	" set table 200\n"
	" shutdown\n"
	"!\n"
	"redundancy\n"
	" role standby\n"
	" local-address 10.9.0.1 port 7000\n"
	" peer-address 10.9.0.2 port 7000\n"
	" authentication key 7 0215575819551B6C474B10\n"
	"!\n"
	"end\n";

Test(config, round_trip_every_command)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load(full_config, &e), *c2;
	char *text, *text2;

	cr_assert_not_null(c, "load failed: %s", e.msg);
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	text = sp_config_to_text(c, NULL);
	cr_assert_not_null(text);
	/* the canonical text is exactly what went in */
	cr_assert_str_eq(text, full_config);
	c2 = fx_config_load(text, &e);
	cr_assert_not_null(c2, "reload failed: %s", e.msg);
	cr_assert(sp_config_equal(c, c2));
	text2 = sp_config_to_text(c2, NULL);
	cr_assert_str_eq(text, text2);
	cr_assert_eq(c->n_strategies, 3);
	cr_assert_eq(c->strategies[0].vlan, 42);
	cr_assert_eq(c->strategies[0].server_port, 5080);
	cr_assert_eq(c->sp.n_listen_ports, 2);
	cr_assert_eq(c->sp.signaling_port_min, 32000);
	cr_assert_eq(c->sp.signaling_port_max, 39999);
	cr_assert_eq(c->policy_routes[1].table, 200);
	cr_assert_eq(c->redundancy.role, SP_ROLE_STANDBY);
	cr_assert_str_eq(c->redundancy.key, "s3cr3t-key");
	cr_assert_eq(c->cli.login_timeout, 20);
	cr_assert_eq(c->cli.exec_timeout, 0);
	cr_assert_eq(c->cli.n_access, 2);
	cr_assert(c->strategies[1].shutdown);
	cr_assert_not(c->strategies[0].shutdown);
	cr_assert(c->policy_routes[1].shutdown);
	free(text);
	free(text2);
	sp_config_free(c);
	sp_config_free(c2);
}

Test(config, cli_settings_defaults_and_access_class)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load("cli access-class 10.1.0.0/16\ncli access-class 2001:db8::/32\n", &e);
	struct sp_config *d = sp_config_new();
	struct sp_addr a;

	cr_assert_not_null(c, "%s", e.msg);
	/* defaults: 30 s to log in, 600 s idle, every source */
	cr_assert_eq(d->cli.login_timeout, 30);
	cr_assert_eq(d->cli.exec_timeout, 600);
	sp_parse_addr("192.0.2.7", &a, &e);
	cr_assert(sp_cli_access_permits(&d->cli, &a));
	cr_assert_not(sp_cli_access_permits(&c->cli, &a));
	sp_parse_addr("10.1.255.3", &a, &e);
	cr_assert(sp_cli_access_permits(&c->cli, &a));
	sp_parse_addr("10.2.0.1", &a, &e);
	cr_assert_not(sp_cli_access_permits(&c->cli, &a));
	/* an IPv4 peer on a dual-stack listener */
	sp_parse_addr("::ffff:10.1.0.9", &a, &e);
	cr_assert(sp_cli_access_permits(&c->cli, &a));
	sp_parse_addr("2001:db8:1::1", &a, &e);
	cr_assert(sp_cli_access_permits(&c->cli, &a));
	/* the same prefix twice is kept once; removal; the cap */
	sp_config_free(c);
	c = fx_config_load("cli access-class 10.1.0.0/16\ncli access-class 10.1.0.0/16\nno cli access-class 10.1.0.0/16\n", &e);
	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_eq(c->cli.n_access, 0);
	cr_assert(sp_config_equal(c, d), "an emptied access list is the default");
	cr_assert_null(fx_config_load("cli login-timeout 0\n", &e));
	cr_assert_null(fx_config_load("cli exec-timeout 86401\n", &e));
	cr_assert_null(fx_config_load("cli access-class 10.0.0.300/8\n", &e));
	sp_config_free(c);
	sp_config_free(d);
}

Test(config, loader_reports_file_and_line)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load("hostname a\n!\nproxy-strategy s seq 10\n match vlan 5000\n", &e);

	cr_assert_null(c);
	cr_assert_str_eq(e.msg, "test.conf:4: Invalid VLAN ID \"5000\" (expected 1-4094)");
	c = fx_config_load("hostname a\nbogus command here\n", &e);
	cr_assert_null(c);
	cr_assert(strncmp(e.msg, "test.conf:2: ", 13) == 0, "%s", e.msg);
}

Test(config, loader_top_level_command_leaves_sub_mode)
{
	struct sp_error e = { { 0 } };
	/* no indentation at all: hostname must still leave (config-strategy) */
	struct sp_config *c = fx_config_load("proxy-strategy s seq 10\nserver 192.0.2.1\nhostname x\n"
				   "signaling-proxy\nsession-limit 5\n",
				   &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_str_eq(c->hostname, "x");
	cr_assert_eq(c->sp.session_limit, 5);
	/* and a sub-mode command after leaving it is refused */
	sp_config_free(c);
	c = fx_config_load("proxy-strategy s seq 10\nhostname x\nserver 192.0.2.1\n", &e);
	cr_assert_null(c);
	cr_assert(strncmp(e.msg, "test.conf:3:", 12) == 0, "%s", e.msg);
}

Test(config, strategies_sorted_and_seq_unique)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e;

	cr_assert_not_null(sp_config_strategy_create(c, "b", 30, &e));
	cr_assert_not_null(sp_config_strategy_create(c, "a", 10, &e));
	cr_assert_not_null(sp_config_strategy_create(c, "b", 20, &e));
	cr_assert_eq(c->n_strategies, 3);
	cr_assert_eq(c->strategies[0].seq, 10);
	cr_assert_eq(c->strategies[1].seq, 20);
	cr_assert_eq(c->strategies[2].seq, 30);
	/* same entry again: found, not duplicated */
	cr_assert_eq(sp_config_strategy_create(c, "b", 20, &e), &c->strategies[1]);
	cr_assert_eq(c->n_strategies, 3);
	/* a sequence number belongs to one name */
	cr_assert_null(sp_config_strategy_create(c, "c", 20, &e));
	cr_assert_str_eq(e.msg, "Sequence number 20 is already used by proxy-strategy b");
	cr_assert_null(sp_config_strategy_create(c, "c", 0, &e));
	cr_assert_null(sp_config_strategy_create(c, "c", 65536, &e));
	cr_assert_eq(sp_config_strategy_remove(c, "b", 0), 2);
	cr_assert_eq(c->n_strategies, 1);
	cr_assert_eq(sp_config_strategy_remove(c, "zzz", 0), 0);
	sp_config_free(c);
}

Test(config, validate_catches_whole_config_errors)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e;
	struct sp_strategy *s = sp_config_strategy_create(c, "a", 10, &e);

	cr_assert_eq(sp_config_validate(c, &e), 0);
	s->action = SP_ACTION_PROXY; /* as an SNMP row could try */
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "proxy-strategy a seq 10: action proxy needs a server");
	sp_parse_addr("192.0.2.1", &s->server, &e);
	cr_assert_eq(sp_config_validate(c, &e), 0);
	sp_parse_addr("192.0.2.1", &c->sp.server_side_address, &e);
	sp_parse_addr("192.0.2.1", &c->sp.local_virtual_address, &e);
	cr_assert_eq(sp_config_validate(c, &e), -1);
	sp_sp_settings_defaults(&c->sp);
	c->sp.return_path = SP_RETURN_DEFAULT_GATEWAY;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	sp_sp_settings_defaults(&c->sp);
	/* the media guard drops what reaches the range untranslated: no SIP there */
	c->sp.media_port_min = 5000;
	c->sp.media_port_max = 5999;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "media-port-range 5000 5999 holds listen port 5060");
	c->sp.media_port_min = 39000;
	c->sp.media_port_max = 40001;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "media-port-range 39000 40001 overlaps the server-side signaling ports 40000-49999");
	c->sp.media_port_max = 39999;
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	sp_config_free(c);
}

/* signaling-port-range: its own bounds, and apart from the media ports,
 * the listen ports and the TLS port */
Test(config, validate_signaling_port_range)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };

	cr_assert_eq(c->sp.signaling_port_min, 40000);
	cr_assert_eq(c->sp.signaling_port_max, 49999);
	c->sp.signaling_port_min = 1023;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "Invalid signaling-port-range 1023 49999");
	c->sp.signaling_port_min = 50000;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "Invalid signaling-port-range 50000 49999");
	/* one port is a range */
	c->sp.signaling_port_max = 50000;
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	c->sp.signaling_port_min = 1024;
	c->sp.signaling_port_max = 65535;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "media-port-range 20000 29999 overlaps the server-side signaling ports 1024-65535");
	c->sp.signaling_port_min = 30000;
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	c->sp.listen_ports[0] = 30000;
	cr_assert_eq(sp_config_validate(c, &e), -1);
	cr_assert_str_eq(e.msg, "signaling-port-range 30000 65535 holds listen port 30000");
	c->sp.listen_ports[0] = 5060;
	/* the media range moved off the default signaling ports is not refused */
	c->sp.signaling_port_min = 6000;
	c->sp.signaling_port_max = 19999;
	c->sp.media_port_min = 40000;
	c->sp.media_port_max = 49999;
	cr_assert_eq(sp_config_validate(c, &e), 0, "%s", e.msg);
	sp_config_free(c);
}

Test(config, dup_is_deep_and_equal)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load(full_config, &e), *d;

	cr_assert_not_null(c, "%s", e.msg);
	d = sp_config_dup(c);
	cr_assert(sp_config_equal(c, d));
	cr_assert_neq(c->strategies, d->strategies);
	cr_assert_neq(c->users[0].secret_hash, d->users[0].secret_hash);
	d->strategies[0].vlan = 43;
	cr_assert_not(sp_config_equal(c, d));
	cr_assert_eq(c->strategies[0].vlan, 42);
	sp_config_free(c);
	sp_config_free(d);
}

Test(config, diff_reports_exact_changes)
{
	struct sp_error e = { { 0 } };
	struct sp_config *a = fx_config_load(full_config, &e), *b;
	struct sp_config_diff d;

	cr_assert_not_null(a, "%s", e.msg);
	b = sp_config_dup(a);
	b->strategies[1].action = SP_ACTION_FORWARD;      /* voip 20 modified */
	sp_config_strategy_remove(b, "other", 30);         /* removed */
	cr_assert_not_null(sp_config_strategy_create(b, "new", 40, &e)); /* added */
	sp_config_interface_remove(b, "eth2");
	strcpy(b->hostname, "other-name");
	cr_assert_eq(sp_config_diff(a, b, &d), 0);
	cr_assert_eq(d.n, 5);
	cr_assert_eq(d.changes[0].object, SP_OBJ_GLOBAL);
	cr_assert_eq(d.changes[1].object, SP_OBJ_STRATEGY);
	cr_assert_eq(d.changes[1].op, SP_CHANGE_MODIFY);
	cr_assert_eq(((const struct sp_strategy *)d.changes[1].new_item)->seq, 20);
	cr_assert_eq(d.changes[2].op, SP_CHANGE_REMOVE);
	cr_assert_str_eq(((const struct sp_strategy *)d.changes[2].old_item)->name, "other");
	cr_assert_eq(d.changes[3].op, SP_CHANGE_ADD);
	cr_assert_str_eq(((const struct sp_strategy *)d.changes[3].new_item)->name, "new");
	cr_assert_eq(d.changes[4].object, SP_OBJ_INTERFACE);
	cr_assert_eq(d.changes[4].op, SP_CHANGE_REMOVE);
	sp_config_diff_free(&d);
	cr_assert_eq(sp_config_diff(a, a, &d), 0);
	cr_assert_eq(d.n, 0);
	sp_config_diff_free(&d);
	sp_config_free(a);
	sp_config_free(b);
}

struct recorder {
	int calls;
	int refuse_at; /* refuse the Nth call (1-based), 0: never */
	size_t last_n;
	int adds, removes, modifies;
};

static int record_cb(void *arg, const struct sp_config *o, const struct sp_config *n,
		     const struct sp_config_diff *diff, struct sp_error *e)
{
	struct recorder *r = arg;

	(void)o;
	(void)n;
	r->calls++;
	if (r->refuse_at && r->calls == r->refuse_at)
		return sp_error_set(e, "kernel said no");
	r->last_n = diff->n;
	for (size_t i = 0; i < diff->n; i++) {
		if (diff->changes[i].op == SP_CHANGE_ADD)
			r->adds++;
		else if (diff->changes[i].op == SP_CHANGE_REMOVE)
			r->removes++;
		else
			r->modifies++;
	}
	return 0;
}

Test(config, commit_tells_subscribers_and_rolls_back_on_refusal)
{
	struct sp_config_store *s = sp_config_store_new();
	struct recorder first = { 0 }, second = { 0 };
	struct sp_error e = { { 0 } };
	struct sp_config *cand;
	size_t n;

	sp_config_store_subscribe(s, "first", record_cb, &first);
	sp_config_store_subscribe(s, "second", record_cb, &second);
	cand = sp_config_dup(sp_config_store_current(s));
	cr_assert_not_null(sp_config_strategy_create(cand, "a", 10, &e));
	cr_assert_eq(sp_config_store_commit(s, cand, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 1);
	cr_assert_eq(first.adds, 1);
	cr_assert_eq(second.adds, 1);
	cr_assert_eq(sp_config_store_current(s)->n_strategies, 1);
	cr_assert_eq(sp_config_store_generation(s), 1);

	/* the second subscriber refuses: the first gets the reverse change and the
	 * running configuration stays as it was */
	second.refuse_at = second.calls + 1;
	cand = sp_config_dup(sp_config_store_current(s));
	cr_assert_not_null(sp_config_strategy_create(cand, "b", 20, &e));
	cr_assert_eq(sp_config_store_commit(s, cand, &n, &e), -1);
	cr_assert_str_eq(e.msg, "kernel said no");
	cr_assert_eq(first.adds, 2);
	cr_assert_eq(first.removes, 1, "first subscriber was not rolled back");
	cr_assert_eq(sp_config_store_current(s)->n_strategies, 1);
	cr_assert_eq(sp_config_store_generation(s), 1);

	/* an invalid candidate reaches no subscriber */
	cand = sp_config_dup(sp_config_store_current(s));
	cand->strategies[0].action = SP_ACTION_PROXY;
	int calls = first.calls;
	cr_assert_eq(sp_config_store_commit(s, cand, &n, &e), -1);
	cr_assert_eq(first.calls, calls);

	/* no change, no notification */
	cand = sp_config_dup(sp_config_store_current(s));
	cr_assert_eq(sp_config_store_commit(s, cand, &n, &e), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(first.calls, calls);
	sp_config_store_free(s);
}

/* The command layer rejects bad input and leaves the candidate unchanged. */
static int run_cmds(struct sp_config *c, const char *const *lines, size_t n, struct sp_error *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
	rc = sp_cli_load_text("cmds", text, c, e);
	free(text);
	return rc;
}

Test(config, cmd_signaling_port_range)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	static const char *const ok[] = { "signaling-proxy", "signaling-port-range 6000 19999" };
	static const char *const back[] = { "signaling-proxy", "signaling-port-range 6000 6999", "no signaling-port-range" };
	static const char *const low[] = { "signaling-proxy", "signaling-port-range 1023 2000" };
	static const char *const high[] = { "signaling-proxy", "signaling-port-range 2000 65536" };
	static const char *const reversed[] = { "signaling-proxy", "signaling-port-range 3000 2999" };
	static const char *const one[] = { "signaling-proxy", "signaling-port-range 3000" };

	cr_assert_eq(run_cmds(c, ok, 2, &e), 0, "%s", e.msg);
	cr_assert_eq(c->sp.signaling_port_min, 6000);
	cr_assert_eq(c->sp.signaling_port_max, 19999);
	cr_assert_eq(run_cmds(c, back, 3, &e), 0, "%s", e.msg);
	cr_assert_eq(c->sp.signaling_port_min, 40000);
	cr_assert_eq(c->sp.signaling_port_max, 49999);
	cr_assert_eq(run_cmds(c, low, 2, &e), -1);
	cr_assert_eq(run_cmds(c, high, 2, &e), -1);
	cr_assert_eq(run_cmds(c, reversed, 2, &e), -1);
	cr_assert(strstr(e.msg, "2999 is below 3000") != NULL, "%s", e.msg);
	cr_assert_eq(run_cmds(c, one, 2, &e), -1);
	cr_assert_eq(c->sp.signaling_port_min, 40000);
	sp_config_free(c);
}

Test(config, cmd_cross_field_rules)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	static const char *const a[] = { "proxy-strategy s seq 10", "action proxy" };
	/* the SPEC's own order: a block is checked as a whole, not line by line */
	static const char *const spec_order[] = { "proxy-strategy s seq 10", "action proxy", "server 192.0.2.1" };
	static const char *const b[] = { "proxy-strategy s seq 10", "server 192.0.2.1", "action proxy", "no server" };
	static const char *const d[] = { "policy-route p seq 1", "set next-hop 10.0.0.1", "set table 100" };

	cr_assert_eq(run_cmds(c, a, 2, &e), -1);
	cr_assert(strstr(e.msg, "action proxy needs a server") != NULL, "%s", e.msg);
	sp_config_free(c);
	c = sp_config_new();
	cr_assert_eq(run_cmds(c, b, 4, &e), -1);
	cr_assert(strstr(e.msg, "action proxy needs a server") != NULL, "%s", e.msg);
	sp_config_free(c);
	c = sp_config_new();
	cr_assert_eq(run_cmds(c, spec_order, 3, &e), 0, "%s", e.msg);
	cr_assert_eq(c->strategies[0].action, SP_ACTION_PROXY);
	cr_assert(sp_addr_is_set(&c->strategies[0].server));
	sp_config_free(c);
	c = sp_config_new();
	/* next hop and table are alternatives: the last one wins */
	cr_assert_eq(run_cmds(c, d, 3, &e), 0, "%s", e.msg);
	cr_assert_eq(c->policy_routes[0].table, 100);
	cr_assert_not(sp_addr_is_set(&c->policy_routes[0].next_hop));
	sp_config_free(c);
}

Test(config, secrets_are_hashed)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	static const char *const a[] = { "username admin secret Passw0rd!", "enable secret en4ble" };
	char *text;

	cr_assert_eq(run_cmds(c, a, 2, &e), 0, "%s", e.msg);
	cr_assert_eq(c->n_users, 1);
	cr_assert(strstr(c->users[0].secret_hash, "Passw0rd") == NULL);
	cr_assert_eq(c->users[0].secret_hash[0], '$');
	cr_assert(sp_cmd_check_secret("Passw0rd!", c->users[0].secret_hash));
	cr_assert_not(sp_cmd_check_secret("passw0rd!", c->users[0].secret_hash));
	cr_assert(sp_cmd_check_secret("en4ble", c->enable_secret_hash));
	text = sp_config_to_text(c, NULL);
	cr_assert(strstr(text, "Passw0rd") == NULL);
	cr_assert(strstr(text, "username admin secret hashed $") != NULL);
	free(text);
	sp_config_free(c);
}

/* username NAME privilege {1|15}: in the model, compared by equal and dup,
 * shown only when set; any other level is refused. */
Test(config, user_privilege)
{
	struct sp_config *c = sp_config_new(), *d;
	struct sp_error e = { { 0 } };
	static const char *const a[] = { "username ro privilege 1 secret Passw0rd!",
					 "username rw privilege 15 secret hashed $6$salt$abc/./DEF012",
					 "username plain secret Passw0rd!" };
	static const char *const bad[] = { "username x privilege 7 secret Passw0rd!" };
	static const char *const nosecret[] = { "username x privilege 15" };
	char *text;

	cr_assert_eq(run_cmds(c, a, 3, &e), 0, "%s", e.msg);
	cr_assert_eq(sp_config_user_find(c, "ro")->privilege, SP_USER_PRIVILEGE_READ_ONLY);
	cr_assert_eq(sp_config_user_find(c, "rw")->privilege, SP_USER_PRIVILEGE_ADMIN);
	cr_assert_eq(sp_config_user_find(c, "plain")->privilege, SP_USER_PRIVILEGE_NONE);
	text = sp_config_to_text(c, NULL);
	cr_assert(strstr(text, "\nusername ro privilege 1 secret hashed $") != NULL, "%s", text);
	cr_assert(strstr(text, "\nusername rw privilege 15 secret hashed $6$salt$abc/./DEF012\n") != NULL, "%s", text);
	cr_assert(strstr(text, "\nusername plain secret hashed $") != NULL, "%s", text);
	free(text);
	d = sp_config_dup(c);
	cr_assert(sp_config_equal(c, d));
	sp_config_user_find(d, "ro")->privilege = SP_USER_PRIVILEGE_ADMIN;
	cr_assert_not(sp_config_equal(c, d), "a changed privilege is a change");
	sp_config_free(d);
	cr_assert_neq(run_cmds(c, bad, 1, &e), 0);
	cr_assert(strstr(e.msg, "Invalid privilege \"7\" (1 or 15)") != NULL, "%s", e.msg);
	cr_assert_neq(run_cmds(c, nosecret, 1, &e), 0, "a privilege without a secret was accepted");
	cr_assert_null(sp_config_user_find(c, "x"));
	sp_config_free(c);
}

/* Found by fuzzing the loader: crypt_checksalt() judges the prefix only, so
 * a quoted "hashed" value with '|' or a quote was kept and written back as a
 * line that loads as something else. */
Test(config, hashed_secret_must_be_a_bare_word)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c;

	c = fx_config_load("username u secret hashed \"$6$salt$a|b\"\n", &e);
	cr_expect_null(c, "a '|' in a hash was accepted");
	sp_config_free(c);
	c = fx_config_load("enable secret hashed \"$6$salt$a'b\"\n", &e);
	cr_expect_null(c, "a quote in a hash was accepted");
	sp_config_free(c);
	c = fx_config_load("enable secret hashed $6$salt$abc/./DEF012\n", &e);
	cr_expect_not_null(c, "%s", e.msg);
	sp_config_free(c);
}

Test(config, global_command_from_a_sub_mode_when_it_does_not_parse_there)
{
	struct sp_error e = { { 0 } };
	/* "signaling-proxy" with no argument is not the interface command: as on
	 * IOS it is taken at the global level and enters (config-sp) */
	struct sp_config *c = fx_config_load("interface eth1\n signaling-proxy terminal-side\n"
				   "signaling-proxy\n session-limit 7\n", &e);

	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_eq(c->interfaces[0].side, SP_SIDE_TERMINAL);
	cr_assert(c->sp_enabled);
	cr_assert_eq(c->sp.session_limit, 7);
	sp_config_free(c);
	/* a bad argument to the interface command is still its own error */
	c = fx_config_load("interface eth1\n signaling-proxy both-sides\n", &e);
	cr_assert_null(c);
	cr_assert(strstr(e.msg, "terminal-side|server-side") != NULL, "%s", e.msg);
}

/* The sync key never shows as itself in the configuration text: it is
 * written as `authentication key 7 HEX`, which loads back to the same key;
 * a clear key typed in is accepted and shown obfuscated. */
Test(config, sync_key_shown_obfuscated)
{
	struct sp_error e = { { 0 } };
	struct sp_config *c = fx_config_load("redundancy\n authentication key s3cr3t-key\n", &e), *c2;
	char *text, *text2, *p;

	cr_assert_not_null(c, "%s", e.msg);
	cr_assert_str_eq(c->redundancy.key, "s3cr3t-key");
	text = sp_config_to_text(c, NULL);
	cr_assert_null(strstr(text, "s3cr3t-key"), "the key in clear:\n%s", text);
	p = strstr(text, " authentication key 7 ");
	cr_assert_not_null(p, "no obfuscated key in:\n%s", text);
	c2 = fx_config_load(text, &e);
	cr_assert_not_null(c2, "reload: %s", e.msg);
	cr_assert_str_eq(c2->redundancy.key, "s3cr3t-key");
	text2 = sp_config_to_text(c2, NULL);
	cr_assert_str_eq(text, text2);
	free(text);
	free(text2);
	sp_config_free(c);
	sp_config_free(c2);
	/* garbage after 7, and an obfuscated key too short to be a key */
	cr_assert_null(fx_config_load("redundancy\n authentication key 7 zz\n", &e));
	cr_assert_null(fx_config_load("redundancy\n authentication key 7 0A0B\n", &e));
	cr_assert_null(fx_config_load("redundancy\n authentication key 7 05XYZW\n", &e));
}
