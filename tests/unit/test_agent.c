/* The SIGPROXY-MIB core without an agent: GET/GETNEXT over a configuration
 * store, and the SET phases (per-varbind checks, whole-PDU candidate,
 * commit, undo, complete) including RowStatus and rows kept notInService,
 * and the switchover checked in ACTION and done in COMMIT. */
#include "config.h"
#include "sp_agent_mib.h"
#include "sp_agent_objects.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#define BASE SP_MIB_BASE, 1

static const oid hostname_oid[] = { BASE, 1, 1, 0 };
static const oid session_limit_oid[] = { BASE, 1, 13, 0 };
static const oid role_oid[] = { BASE, 8, 3, 0 };

/* sigproxyStrategy<col>."voip".10 */
static size_t st_oid(oid *o, oid col, const char *name, oid seq)
{
	static const oid prefix[] = { BASE, 2, 1 };
	size_t n = OID_LENGTH(prefix), len = strlen(name);

	memcpy(o, prefix, sizeof(prefix));
	o[n++] = col;
	o[n++] = len;
	for (size_t i = 0; i < len; i++)
		o[n++] = (unsigned char)name[i];
	o[n++] = seq;
	return n;
}

struct pdu {
	netsnmp_variable_list *list;
	netsnmp_variable_list *vbs[16];
	size_t n;
};

static void add(struct pdu *p, const oid *name, size_t len, u_char type, const void *val, size_t vlen)
{
	netsnmp_variable_list *vb = snmp_varlist_add_variable(&p->list, name, len, type, val, vlen);

	cr_assert_not_null(vb);
	p->vbs[p->n++] = vb;
}

static void add_int(struct pdu *p, const oid *name, size_t len, long v)
{
	add(p, name, len, ASN_INTEGER, &v, sizeof(v));
}

static void add_uns(struct pdu *p, const oid *name, size_t len, u_long v)
{
	add(p, name, len, ASN_UNSIGNED, &v, sizeof(v));
}

/* Runs RESERVE1, RESERVE2, ACTION, COMMIT as the agent would; returns the
 * first error and the index of the varbind it is blamed on. */
static int run_set(struct sp_agent_mib *m, struct pdu *p, size_t *bad)
{
	struct sp_error e = { { 0 } };
	int rc;

	*bad = 0;
	for (size_t i = 0; i < p->n; i++) {
		rc = sp_agent_mib_set_check(m, p->vbs[i]);
		if (rc != SNMP_ERR_NOERROR) {
			*bad = i;
			sp_agent_mib_set_finish(m);
			return rc;
		}
	}
	rc = sp_agent_mib_set_prepare(m, p->vbs, p->n, bad, &e);
	if (rc == SNMP_ERR_NOERROR)
		rc = sp_agent_mib_set_commit(m, p->vbs, p->n, &e);
	sp_agent_mib_set_finish(m);
	return rc;
}

static struct sp_config_store *store;
static struct sp_agent_mib mib;

static void setup(void)
{
	store = sp_config_store_new();
	cr_assert_not_null(store);
	sp_agent_mib_init(&mib, store);
}

static void teardown(void)
{
	sp_agent_mib_cleanup(&mib);
	sp_config_store_free(store);
}

TestSuite(agent, .init = setup, .fini = teardown);

Test(agent, get_scalar_reads_the_running_config)
{
	struct sp_agent_value v;

	cr_assert_eq(sp_agent_mib_get(&mib, hostname_oid, OID_LENGTH(hostname_oid), &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_OCTET_STR);
	cr_assert_eq(v.len, strlen("sigproxy"));
	cr_assert(memcmp(v.str, "sigproxy", v.len) == 0);
}

Test(agent, get_of_missing_row_is_no_such_instance)
{
	oid o[64];
	size_t n = st_oid(o, 17, "none", 1);
	struct sp_agent_value v;

	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_NOSUCHINSTANCE);
}

Test(agent, getnext_walks_in_oid_order_and_ends)
{
	oid name[SP_MIB_OID_MAX], next[SP_MIB_OID_MAX];
	size_t len = SP_MIB_OBJECTS_LEN, next_len, count = 0;
	struct sp_agent_value v;
	static const oid start[] = { BASE };

	memcpy(name, start, sizeof(start));
	while (sp_agent_mib_next(&mib, name, len, next, &next_len, &v)) {
		cr_assert_lt(snmp_oid_compare(name, len, next, next_len), 0, "not increasing");
		memcpy(name, next, next_len * sizeof(oid));
		len = next_len;
		cr_assert_lt(++count, 1000);
	}
	/* 22 config scalars (sigproxyServerSideAddr6 the 20th, the IPv6 views of
	 * the local virtual address and the return gateway) + 1 listen port +
	 * 42 stats (sigproxyStatsFlowFailed, sigproxyStatsTcpAcceptWaits and
	 * sigproxyStatsTlsAcceptWaits the last 3) + 20 redundancy (the IPv6
	 * views of its addresses) + 2 status */
	cr_assert_eq(count, 87);
}

static void fake_stats(void *arg, struct sp_agent_stats *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->flow_failed = (1ULL << 32) + 430;
	out->tcp_accept_waits = 7;
	out->tls_accept_waits = 9;
}

/* sigproxyStats 40, 41 and 42: the 430s for gone flows and the TCP and
 * TLS listeners' waits for a descriptor (the accept guard's
 * SP_ACCEPT_PAUSE), whole Counter64s from the stats hook. */
Test(agent, stats_read_flow_failed_and_accept_waits)
{
	static const oid flow_failed[] = { BASE, 7, 40, 0 }, accept_waits[] = { BASE, 7, 41, 0 },
			 tls_accept_waits[] = { BASE, 7, 42, 0 };
	struct sp_agent_value v;

	mib.hooks.stats = fake_stats;
	cr_assert_eq(sp_agent_mib_get(&mib, flow_failed, OID_LENGTH(flow_failed), &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_COUNTER64);
	cr_assert_eq(v.c64.high, 1);
	cr_assert_eq(v.c64.low, 430);
	cr_assert_eq(sp_agent_mib_get(&mib, accept_waits, OID_LENGTH(accept_waits), &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_COUNTER64);
	cr_assert_eq(v.c64.high, 0);
	cr_assert_eq(v.c64.low, 7);
	cr_assert_eq(sp_agent_mib_get(&mib, tls_accept_waits, OID_LENGTH(tls_accept_waits), &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_COUNTER64);
	cr_assert_eq(v.c64.high, 0);
	cr_assert_eq(v.c64.low, 9);
}

Test(agent, create_and_go_commits_one_strategy)
{
	struct pdu p = { 0 };
	oid rs[64], act[64], type[64], addr[64];
	size_t nrs = st_oid(rs, 24, "voip", 10), nact = st_oid(act, 17, "voip", 10);
	size_t ntype = st_oid(type, 18, "voip", 10), naddr = st_oid(addr, 19, "voip", 10);
	static const u_char server[4] = { 192, 0, 2, 10 };
	const struct sp_config *c;
	size_t bad;

	add_int(&p, rs, nrs, RS_CREATEANDGO);
	add_int(&p, type, ntype, 1);
	add(&p, addr, naddr, ASN_OCTET_STR, server, sizeof(server));
	add_int(&p, act, nact, 1);
	cr_assert_eq(run_set(&mib, &p, &bad), SNMP_ERR_NOERROR);
	c = sp_config_store_current(store);
	cr_assert_eq(c->n_strategies, 1);
	cr_assert_str_eq(c->strategies[0].name, "voip");
	cr_assert_eq(c->strategies[0].action, SP_ACTION_PROXY);
	cr_assert_eq(c->strategies[0].server_port, SP_DEFAULT_SIP_PORT);
	snmp_free_varbind(p.list);
}

Test(agent, proxy_without_server_is_inconsistent_and_changes_nothing)
{
	struct pdu p = { 0 };
	oid rs[64], act[64];
	size_t nrs = st_oid(rs, 24, "voip", 10), nact = st_oid(act, 17, "voip", 10);
	uint64_t gen = sp_config_store_generation(store);
	size_t bad;

	add_uns(&p, session_limit_oid, OID_LENGTH(session_limit_oid), 5);
	add_int(&p, rs, nrs, RS_CREATEANDGO);
	add_int(&p, act, nact, 1);
	cr_assert_eq(run_set(&mib, &p, &bad), SNMP_ERR_INCONSISTENTVALUE);
	cr_assert_eq(bad, 2, "blamed on the action varbind");
	cr_assert_eq(sp_config_store_generation(store), gen);
	cr_assert_eq(sp_config_store_current(store)->sp.session_limit, 0);
	snmp_free_varbind(p.list);
}

Test(agent, reserve1_errors)
{
	struct pdu p = { 0 };
	oid vlan[64], hits[64], rs[64];
	size_t nvlan = st_oid(vlan, 4, "voip", 10), nhits = st_oid(hits, 21, "voip", 10);
	size_t nrs = st_oid(rs, 24, "voip", 0);

	add_int(&p, vlan, nvlan, 5);                   /* Unsigned32 given as INTEGER */
	add_uns(&p, vlan, nvlan, 4095);                /* above 4094 */
	add_uns(&p, hits, nhits, 1);                   /* read-only */
	add_int(&p, rs, nrs, RS_CREATEANDGO);          /* seq 0: no such index */
	add(&p, hostname_oid, OID_LENGTH(hostname_oid), ASN_OCTET_STR, "a_b", 3);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[0]), SNMP_ERR_WRONGTYPE);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[1]), SNMP_ERR_WRONGVALUE);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[2]), SNMP_ERR_NOTWRITABLE);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[3]), SNMP_ERR_NOCREATION);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[4]), SNMP_ERR_WRONGVALUE);
	snmp_free_varbind(p.list);
}

Test(agent, create_and_wait_keeps_the_row_out_of_the_config)
{
	struct pdu p = { 0 }, q = { 0 };
	oid rs[64], act[64];
	size_t nrs = st_oid(rs, 24, "w", 20), nact = st_oid(act, 17, "w", 20);
	struct sp_agent_value v;
	size_t bad;

	add_int(&p, rs, nrs, RS_CREATEANDWAIT);
	add_int(&p, act, nact, 3);
	cr_assert_eq(run_set(&mib, &p, &bad), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_config_store_current(store)->n_strategies, 0);
	cr_assert_eq(sp_agent_mib_get(&mib, rs, nrs, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, RS_NOTINSERVICE);

	add_int(&q, rs, nrs, RS_ACTIVE);
	cr_assert_eq(run_set(&mib, &q, &bad), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_config_store_current(store)->n_strategies, 1);
	cr_assert_eq(sp_config_store_current(store)->strategies[0].action, SP_ACTION_DROP);
	cr_assert_eq(sp_agent_mib_get(&mib, rs, nrs, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, RS_ACTIVE);
	snmp_free_varbind(p.list);
	snmp_free_varbind(q.list);
}

Test(agent, undo_puts_the_previous_config_back)
{
	struct pdu p = { 0 };
	struct sp_error e = { { 0 } };
	size_t bad;

	add_int(&p, role_oid, OID_LENGTH(role_oid), 2);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[0]), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_prepare(&mib, p.vbs, p.n, &bad, &e), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_commit(&mib, p.vbs, p.n, &e), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_config_store_current(store)->redundancy.role, SP_ROLE_STANDBY);
	cr_assert(sp_config_store_current(store)->redundancy.configured);
	cr_assert_eq(sp_agent_mib_set_undo(&mib, &e), SNMP_ERR_NOERROR);
	sp_agent_mib_set_finish(&mib);
	cr_assert_eq(sp_config_store_current(store)->redundancy.role, SP_ROLE_ACTIVE);
	cr_assert_not(sp_config_store_current(store)->redundancy.configured);
	snmp_free_varbind(p.list);
}

/* sigproxyRedundancySwitchover: snmpd gives a subagent about a second per
 * AgentX request (agentxTimeout) and answers genErr past it, then sends
 * UndoSet. A switchover (the engine's interception out of or into the
 * kernel) can take longer than that on a loaded machine, so the SET only
 * checks it in ACTION (CommitSet, whose answer snmpd waits for) and switches
 * in COMMIT (CleanupSet, which it does not wait for). */
struct fake_red {
	int checks, switches;
	int check_rc;
};

static int fake_switchover(void *arg, struct sp_error *e)
{
	(void)e;
	((struct fake_red *)arg)->switches++;
	return 0;
}

static int fake_switchover_check(void *arg, struct sp_error *e)
{
	struct fake_red *r = arg;

	r->checks++;
	return r->check_rc < 0 ? sp_error_set(e, "refused") : 0;
}

static const oid switchover_oid[] = { BASE, 8, 17, 0 };

/* redundancy configured (role active), the fake module plugged in */
static void with_redundancy(struct fake_red *r)
{
	struct pdu p = { 0 };
	size_t bad;

	add_int(&p, role_oid, OID_LENGTH(role_oid), 1);
	cr_assert_eq(run_set(&mib, &p, &bad), SNMP_ERR_NOERROR);
	snmp_free_varbind(p.list);
	mib.hooks.switchover = fake_switchover;
	mib.hooks.switchover_check = fake_switchover_check;
	mib.redundancy_arg = r;
}

/* a switchover SET through RESERVE1/2 and ACTION (snmpd's first three
 * phases), each answered with success */
static void switchover_set_to_action(struct pdu *p, struct sp_error *e)
{
	size_t bad;

	add_int(p, switchover_oid, OID_LENGTH(switchover_oid), SP_SWITCHOVER_GO);
	cr_assert_eq(sp_agent_mib_set_check(&mib, p->vbs[0]), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_prepare(&mib, p->vbs, p->n, &bad, e), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_commit(&mib, p->vbs, p->n, e), SNMP_ERR_NOERROR);
}

Test(agent, switchover_is_checked_in_action_and_done_in_commit)
{
	struct fake_red r = { 0 };
	struct pdu p = { 0 };
	struct sp_error e = { { 0 } };

	with_redundancy(&r);
	switchover_set_to_action(&p, &e);
	cr_assert_eq(r.checks, 1, "ACTION checks the switchover");
	cr_assert_eq(r.switches, 0, "ACTION must not switch: snmpd may have given up waiting");
	sp_agent_mib_set_complete(&mib);
	sp_agent_mib_set_finish(&mib);
	cr_assert_eq(r.switches, 1, "COMMIT switches");
	snmp_free_varbind(p.list);
}

Test(agent, a_refused_switchover_fails_action_and_never_switches)
{
	struct fake_red r = { .check_rc = -1 };
	struct pdu p = { 0 };
	struct sp_error e = { { 0 } };
	size_t bad;

	with_redundancy(&r);
	add_uns(&p, session_limit_oid, OID_LENGTH(session_limit_oid), 77);
	add_int(&p, switchover_oid, OID_LENGTH(switchover_oid), SP_SWITCHOVER_GO);
	for (size_t i = 0; i < p.n; i++)
		cr_assert_eq(sp_agent_mib_set_check(&mib, p.vbs[i]), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_prepare(&mib, p.vbs, p.n, &bad, &e), SNMP_ERR_NOERROR);
	cr_assert_eq(sp_agent_mib_set_commit(&mib, p.vbs, p.n, &e), SNMP_ERR_COMMITFAILED);
	cr_assert_str_eq(e.msg, "refused");
	cr_assert_neq(sp_config_store_current(store)->sp.session_limit, 77, "the PDU's other changes are undone");
	/* snmpd sends UndoSet after a failed CommitSet, never CleanupSet */
	cr_assert_eq(sp_agent_mib_set_undo(&mib, &e), SNMP_ERR_NOERROR);
	sp_agent_mib_set_finish(&mib);
	cr_assert_eq(r.switches, 0);
	snmp_free_varbind(p.list);
}

Test(agent, a_set_undone_after_action_never_switches)
{
	struct fake_red r = { 0 };
	struct pdu p = { 0 };
	struct sp_error e = { { 0 } };

	with_redundancy(&r);
	switchover_set_to_action(&p, &e);
	/* another subagent's varbind failed: snmpd undoes this one */
	cr_assert_eq(sp_agent_mib_set_undo(&mib, &e), SNMP_ERR_NOERROR);
	sp_agent_mib_set_complete(&mib); /* nothing left to complete */
	sp_agent_mib_set_finish(&mib);
	cr_assert_eq(r.switches, 0);
	snmp_free_varbind(p.list);
}

/* sigproxyMediaProxyTable: read-only rows from the configuration, the
 * state from sp_status as `show media-proxy' reads it. */
Test(agent, media_proxy_table_reads_config_and_status)
{
	struct sp_config *c = sp_config_dup(sp_config_store_current(store));
	struct sp_error e = { { 0 } };
	struct sp_media_proxy *mp = sp_config_mp_get(c, "mp1", &e);
	oid o[64] = { BASE, 10, 1, 5 };
	size_t n = 14 + 1 + 3;
	struct sp_agent_value v;
	struct pdu p = { 0 };
	size_t bad;

	cr_assert_not_null(mp);
	mp->weight = 3;
	mp->fallback = SP_MP_FALLBACK_REFUSE;
	mp->control.family = AF_INET;
	mp->control.u.v4.s_addr = htonl(0xc0000222);
	mp->control_port = 2223;
	cr_assert_eq(sp_config_store_commit(store, c, NULL, &e), 0, "%s", e.msg);
	o[14] = 3, o[15] = 'm', o[16] = 'p', o[17] = '1';
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_UNSIGNED);
	cr_assert_eq(v.uns, 3);
	o[13] = 6; /* fallback */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, 2);
	o[13] = 4; /* control port */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.uns, 2223);
	o[13] = 7; /* no daemon: no status, not installed */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, 2);
	o[13] = 8;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.len, strlen("not started"));
	/* read-create (issue 19): a SET of an active row's weight commits */
	o[13] = 5;
	add_uns(&p, o, n, 7);
	cr_assert_eq(run_set(&mib, &p, &bad), SNMP_ERR_NOERROR);
	snmp_free_varbind(p.list);
	cr_assert_eq(sp_config_mp_find(sp_config_store_current(store), "mp1")->weight, 7);
	o[17] = '2'; /* no such row */
	o[13] = 5;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_NOSUCHINSTANCE);
}

/* The client's counters of mp1 only; Offers past 2^32 to see Counter32's
 * low 32 bits. */
static bool fake_mp_counters(void *arg, const char *name, uint64_t out[SP_AGENT_MP_NCOUNTERS])
{
	(void)arg;
	if (strcmp(name, "mp1") != 0)
		return false;
	for (int i = 0; i < SP_AGENT_MP_NCOUNTERS; i++)
		out[i] = 100 + (uint64_t)i;
	out[SP_AGENT_MP_OFFERS] = (1ULL << 32) + 5;
	return true;
}

/* sigproxyMediaProxyTable's run-time columns (issue 19): the counters
 * through the media_proxy hook, the media addresses per side and family
 * from the configuration. */
Test(agent, media_proxy_table_reads_counters_and_media_addresses)
{
	struct sp_config *c = sp_config_dup(sp_config_store_current(store));
	struct sp_error e = { { 0 } };
	struct sp_media_proxy *mp = sp_config_mp_get(c, "mp1", &e);
	oid o[64] = { BASE, 10, 1, 11, 3, 'm', 'p', '1' };
	size_t n = 14 + 1 + 3;
	struct sp_agent_value v;

	cr_assert_not_null(mp);
	mp->control.family = AF_INET;
	mp->control.u.v4.s_addr = htonl(0xc0000222);
	mp->control_port = 2223;
	sp_media_proxy_slot(mp, true, AF_INET6)->family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:7::34", &sp_media_proxy_slot(mp, true, AF_INET6)->u.v6);
	sp_media_proxy_slot(mp, false, AF_INET)->family = AF_INET;
	sp_media_proxy_slot(mp, false, AF_INET)->u.v4.s_addr = htonl(0xc0000222);
	cr_assert_eq(sp_config_store_commit(store, c, NULL, &e), 0, "%s", e.msg);
	/* no hook (no engine): zeros */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_GAUGE);
	cr_assert_eq(v.uns, 0);
	mib.hooks.media_proxy = fake_mp_counters;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.uns, 100); /* calls held */
	o[13] = 12; /* offers: the low 32 bits */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.type, ASN_COUNTER);
	cr_assert_eq(v.uns, 5);
	o[13] = 24; /* wrong cookies, the last counter */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.uns, 100 + SP_AGENT_MP_WRONG_COOKIES);
	o[13] = 25; /* terminal side IPv4: none */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, 0);
	o[13] = 27; /* terminal side IPv6: ipv6(2), 16 octets, and its view */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, 2);
	o[13] = 28;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.len, 16);
	cr_assert_eq(v.str[0], 0x20);
	o[13] = 29;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.len, 16);
	cr_assert_eq(v.str[15], 0x34);
	o[13] = 30; /* server side IPv4: ipv4(1), 192.0.2.34 */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.integer, 1);
	o[13] = 31;
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.len, 4);
	cr_assert_eq(v.str[3], 0x22);
	o[13] = 34; /* server side IPv6 view: all zeros */
	cr_assert_eq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
	cr_assert_eq(v.len, 16);
	cr_assert_eq(v.str[0], 0);
	o[13] = 35; /* past the last column */
	cr_assert_neq(sp_agent_mib_get(&mib, o, n, &v), SNMP_ERR_NOERROR);
}
