/* SIGPROXY-MIB writes: one SET PDU is one transaction on the configuration
 * model. RESERVE1 checks each varbind alone (sp_agent_check.c); RESERVE2 builds the candidate for the whole PDU
 * (RowStatus transitions, cross-field rules, sp_config_validate); ACTION
 * commits it once; UNDO commits the previous configuration back. */
#include "config.h"
#include "sp_agent_build.h"
#include "sp_agent_rows.h"
#include "sp_agent_check.h"
#include "sp_agent_objects.h"
#include "sp_log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sp_mib_txn {
	struct sp_config *cand;
	struct sp_mib_pending pending;
	uint64_t generation;
	bool switchover;
	bool committed;
	struct sp_config *undo_cfg;
	struct sp_mib_pending undo_pending;
};

/* ---- RESERVE2: the candidate for the whole PDU (the scalars: sp_agent_build.c) ---- */

/* ---- rows ---- */

/* The varbinds of one row of one table. */
struct sp_mib_group {
	int table;
	oid idx[1 + SP_NAME_MAX + 1];
	size_t idx_len;
	struct sp_mib_index index;
	size_t first, rs_vb;
	long rs;
};

static bool sp_group_has(const struct sp_mib_build *b, const struct sp_mib_group *g, size_t i,
			 const struct sp_mib_obj **o)
{
	size_t plen;

	*o = sp_mib_lookup(b->vbs[i]->name, b->vbs[i]->name_length, &plen);
	return *o && (*o)->table == g->table &&
	       snmp_oid_compare(b->vbs[i]->name + plen, b->vbs[i]->name_length - plen, g->idx,
				g->idx_len) == 0;
}

/* ---- generic row handling over the three named tables ---- */

/* Array access, so one routine handles strategies, policy routes and
 * interfaces (they differ only in their item type and key). */
struct sp_mib_coll {
	void **base;
	size_t *n;
	size_t size;
};

static struct sp_mib_coll sp_coll_cfg(struct sp_config *c, int table)
{
	if (table == SP_TBL_STRATEGY)
		return (struct sp_mib_coll){ (void **)&c->strategies, &c->n_strategies, sizeof(struct sp_strategy) };
	if (table == SP_TBL_POLICY_ROUTE)
		return (struct sp_mib_coll){ (void **)&c->policy_routes, &c->n_policy_routes,
					     sizeof(struct sp_policy_route) };
	if (table == SP_TBL_MEDIA_PROXY)
		return (struct sp_mib_coll){ (void **)&c->media_proxies, &c->n_media_proxies,
					     sizeof(struct sp_media_proxy) };
	return (struct sp_mib_coll){ (void **)&c->interfaces, &c->n_interfaces, sizeof(struct sp_interface) };
}

static struct sp_mib_coll sp_coll_pending(struct sp_mib_pending *p, int table)
{
	if (table == SP_TBL_STRATEGY)
		return (struct sp_mib_coll){ (void **)&p->strategies, &p->n_strategies, sizeof(struct sp_strategy) };
	if (table == SP_TBL_POLICY_ROUTE)
		return (struct sp_mib_coll){ (void **)&p->policy_routes, &p->n_policy_routes,
					     sizeof(struct sp_policy_route) };
	if (table == SP_TBL_MEDIA_PROXY)
		return (struct sp_mib_coll){ (void **)&p->media_proxies, &p->n_media_proxies,
					     sizeof(struct sp_media_proxy) };
	return (struct sp_mib_coll){ (void **)&p->interfaces, &p->n_interfaces, sizeof(struct sp_interface) };
}

/* Every item starts with its name; strategies and policy routes are then
 * keyed by seq as well. */
static uint32_t sp_item_seq(int table, const void *item)
{
	if (table == SP_TBL_STRATEGY)
		return ((const struct sp_strategy *)item)->seq;
	if (table == SP_TBL_POLICY_ROUTE)
		return ((const struct sp_policy_route *)item)->seq;
	return 0;
}

static bool sp_item_shutdown(int table, const void *item)
{
	if (table == SP_TBL_STRATEGY)
		return ((const struct sp_strategy *)item)->shutdown;
	if (table == SP_TBL_POLICY_ROUTE)
		return ((const struct sp_policy_route *)item)->shutdown;
	if (table == SP_TBL_MEDIA_PROXY)
		return ((const struct sp_media_proxy *)item)->shutdown;
	return false;
}

static void *sp_coll_find(struct sp_mib_coll c, int table, const struct sp_mib_index *k)
{
	for (size_t i = 0; i < *c.n; i++) {
		char *item = (char *)*c.base + i * c.size;

		if (strcmp(item, k->name) == 0 && sp_item_seq(table, item) == k->seq)
			return item;
	}
	return NULL;
}

static void sp_coll_remove(struct sp_mib_coll c, int table, const struct sp_mib_index *k)
{
	char *item = sp_coll_find(c, table, k);
	char *base = *c.base;

	if (!item)
		return;
	memmove(item, item + c.size, (size_t)(base + *c.n * c.size - (item + c.size)));
	(*c.n)--;
}

static int sp_coll_append(struct sp_mib_coll c, const void *item)
{
	char *grown = realloc(*c.base, (*c.n + 1) * c.size);

	if (!grown)
		return -1;
	memcpy(grown + *c.n * c.size, item, c.size);
	*c.base = grown;
	(*c.n)++;
	return 0;
}

/* A sequence number is unique across names, active or not. */
static const char *sp_seq_taken(struct sp_mib_build *b, int table, const struct sp_mib_index *k)
{
	struct sp_mib_coll cols[2] = { sp_coll_cfg(b->cand, table), sp_coll_pending(b->pending, table) };

	for (int j = 0; j < 2; j++)
		for (size_t i = 0; i < *cols[j].n; i++) {
			const char *item = (const char *)*cols[j].base + i * cols[j].size;

			if (sp_item_seq(table, item) == k->seq && strcmp(item, k->name) != 0)
				return item;
		}
	return NULL;
}

/* One row of a named table, whichever table. */
union sp_mib_item {
	struct sp_strategy st;
	struct sp_policy_route pr;
	struct sp_interface itf;
	struct sp_media_proxy mp;
};

/* The row's columns from the PDU over what it held (`from`, `size` bytes;
 * NULL: a new row), checked as the table's own rules say. */
static int sp_row_columns(struct sp_mib_build *b, const struct sp_mib_group *g, int old, size_t fb,
			  const void *from, size_t size, union sp_mib_item *wp, size_t *blame)
{
	union sp_mib_item w;
	struct sp_mib_st_raw st_raw;
	struct sp_mib_pr_raw pr_raw;
	struct sp_mib_mp_raw mp_raw;
	int rc;

	memset(&w, 0, sizeof(w));
	if (from)
		memcpy(&w, from, size);
	else
		snprintf(w.st.name, sizeof(w.st.name), "%s", g->index.name); /* every item starts with its name */
	if (g->table == SP_TBL_STRATEGY) {
		w.st.seq = g->index.seq;
		if (old == RS_NONEXISTENT)
			w.st.server_port = SP_DEFAULT_SIP_PORT;
		sp_st_to_raw(&w.st, &st_raw);
	} else if (g->table == SP_TBL_POLICY_ROUTE) {
		w.pr.seq = g->index.seq;
		sp_pr_to_raw(&w.pr, &pr_raw);
	} else if (g->table == SP_TBL_MEDIA_PROXY) {
		if (!from) {
			sp_media_proxy_defaults(&w.mp);
			snprintf(w.mp.name, sizeof(w.mp.name), "%s", g->index.name);
		}
		sp_mp_to_raw(&w.mp, &mp_raw);
	}
	for (size_t i = 0; i < SP_ST_NCOLS; i++)
		blame[i] = SP_NO_VB;
	for (size_t i = g->first; i < b->n; i++) {
		const struct sp_mib_obj *o;

		if (!sp_group_has(b, g, i, &o))
			continue;
		blame[o->id] = i;
		if (g->table == SP_TBL_STRATEGY)
			sp_st_apply(&st_raw, o->id, b->vbs[i]);
		else if (g->table == SP_TBL_POLICY_ROUTE)
			sp_pr_apply(&pr_raw, o->id, b->vbs[i]);
		else if (g->table == SP_TBL_MEDIA_PROXY)
			sp_mp_apply(&mp_raw, o->id, b->vbs[i]);
		else if (o->id == SP_IF_VPN)
			w.itf.vpn_id = (uint32_t)sp_vb_uns(b->vbs[i]);
		else if (o->id == SP_IF_SIDE)
			w.itf.side = sp_vb_int(b->vbs[i]) == SP_SIDE_V_TERMINAL ? SP_SIDE_TERMINAL :
				     sp_vb_int(b->vbs[i]) == SP_SIDE_V_SERVER ? SP_SIDE_SERVER : SP_SIDE_NONE;
	}
	if (g->table == SP_TBL_STRATEGY)
		rc = sp_st_from_raw(b, &st_raw, blame, fb, &w.st);
	else if (g->table == SP_TBL_POLICY_ROUTE)
		rc = sp_pr_from_raw(b, &pr_raw, blame, fb, &w.pr);
	else if (g->table == SP_TBL_MEDIA_PROXY)
		rc = sp_mp_from_raw(b, &mp_raw, blame, fb, &w.mp);
	else
		rc = SNMP_ERR_NOERROR;
	if (rc != SNMP_ERR_NOERROR)
		return rc;
	*wp = w;
	return SNMP_ERR_NOERROR;
}

/* The built row into the candidate (`in_cfg`), or left waiting in the agent. */
static int sp_row_store(struct sp_mib_build *b, const struct sp_mib_group *g, struct sp_mib_coll cfg,
			struct sp_mib_coll pend, const union sp_mib_item *wp, bool in_cfg, size_t fb)
{
	union sp_mib_item w = *wp;

	sp_coll_remove(cfg, g->table, &g->index);
	sp_coll_remove(pend, g->table, &g->index);
	if (!in_cfg) {
		if (sp_coll_append(pend, &w) < 0)
			return sp_fail(b, fb, SNMP_ERR_RESOURCEUNAVAILABLE, "Out of memory%s", NULL);
		return SNMP_ERR_NOERROR;
	}
	/* into the candidate through the model's own constructors, which keep
	 * the collections sorted and check the keys as the CLI does */
	if (g->table == SP_TBL_STRATEGY) {
		struct sp_strategy *s = sp_config_strategy_create(b->cand, w.st.name, w.st.seq, b->e);

		if (!s)
			return sp_fail(b, fb, SNMP_ERR_INCONSISTENTVALUE, "%s", b->e->msg);
		*s = w.st;
	} else if (g->table == SP_TBL_POLICY_ROUTE) {
		struct sp_policy_route *p = sp_config_policy_route_create(b->cand, w.pr.name, w.pr.seq, b->e);

		if (!p)
			return sp_fail(b, fb, SNMP_ERR_INCONSISTENTVALUE, "%s", b->e->msg);
		*p = w.pr;
	} else if (g->table == SP_TBL_MEDIA_PROXY) {
		struct sp_media_proxy *mp = sp_config_mp_get(b->cand, w.mp.name, b->e);

		if (!mp)
			return sp_fail(b, fb, SNMP_ERR_INCONSISTENTVALUE, "%s", b->e->msg);
		*mp = w.mp;
	} else {
		struct sp_interface *itf = sp_config_interface_get(b->cand, w.itf.name, b->e);

		if (!itf)
			return sp_fail(b, fb, SNMP_ERR_INCONSISTENTVALUE, "%s", b->e->msg);
		*itf = w.itf;
	}
	return SNMP_ERR_NOERROR;
}

static int sp_build_row(struct sp_mib_build *b, const struct sp_mib_group *g)
{
	struct sp_mib_coll cfg = sp_coll_cfg(b->cand, g->table);
	struct sp_mib_coll pend = sp_coll_pending(b->pending, g->table);
	void *active = sp_coll_find(cfg, g->table, &g->index);
	void *waiting = active ? NULL : sp_coll_find(pend, g->table, &g->index);
	/* strategies and policy routes: `shutdown` in the configuration is
	 * notInService; a row waiting in the agent (createAndWait) too */
	bool was_shutdown = active && sp_item_shutdown(g->table, active);
	int old = active && !was_shutdown ? RS_ACTIVE : active || waiting ? RS_NOTINSERVICE : RS_NONEXISTENT;
	size_t fb = g->rs_vb != SP_NO_VB ? g->rs_vb : g->first;
	size_t blame[SP_ST_NCOLS];
	union sp_mib_item w;
	const char *taken;
	bool to_active, in_cfg;
	int rc;

	if (g->rs_vb != SP_NO_VB) {
		rc = check_rowstatus_transition(old, (int)g->rs);
		if (rc != SNMP_ERR_NOERROR)
			return sp_fail(b, g->rs_vb, rc, "%s: RowStatus transition not allowed", g->index.name);
	} else if (old == RS_NONEXISTENT) {
		return sp_fail(b, g->first, SNMP_ERR_INCONSISTENTNAME,
			       "%s: no such row (create it with its RowStatus)", g->index.name);
	}
	if (g->rs == RS_DESTROY) {
		sp_coll_remove(cfg, g->table, &g->index);
		sp_coll_remove(pend, g->table, &g->index);
		return SNMP_ERR_NOERROR;
	}

	rc = sp_row_columns(b, g, old, fb, active ? active : waiting, cfg.size, &w, blame);
	if (rc != SNMP_ERR_NOERROR)
		return rc;

	to_active = g->rs_vb == SP_NO_VB ? old == RS_ACTIVE : g->rs == RS_ACTIVE || g->rs == RS_CREATEANDGO;
	/* Into the configuration, installed or shut down, or left waiting in
	 * the agent. notInService(2) asked of a strategy or policy route keeps
	 * it in the configuration with `shutdown`, so the CLI, running-config
	 * and the saved file still show it and active(1) brings it back; only
	 * rows under construction (createAndWait) wait in the agent. */
	if (g->table != SP_TBL_INTERFACE) {
		bool shut = g->rs_vb == SP_NO_VB ? was_shutdown : g->rs == RS_NOTINSERVICE;

		if (g->table == SP_TBL_STRATEGY)
			w.st.shutdown = !to_active && shut;
		else if (g->table == SP_TBL_MEDIA_PROXY)
			w.mp.shutdown = !to_active && shut;
		else
			w.pr.shutdown = !to_active && shut;
		in_cfg = to_active || shut;
	} else {
		in_cfg = to_active;
	}
	if (g->table != SP_TBL_INTERFACE && g->table != SP_TBL_MEDIA_PROXY &&
	    (taken = sp_seq_taken(b, g->table, &g->index)))
		return sp_fail(b, fb, SNMP_ERR_INCONSISTENTVALUE,
			       "the sequence number is already used by %s", taken);
	if (in_cfg && g->table == SP_TBL_STRATEGY && !sp_mib_strategy_ready(&w.st))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_ACTION, SP_ST_SERVER_ADDR, SP_ST_SERVER_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE, "action proxy needs a server%s", NULL);
	if (g->table == SP_TBL_MEDIA_PROXY && !sp_mib_media_proxy_ready(&w.mp) &&
	    (in_cfg || (g->rs_vb != SP_NO_VB && g->rs == RS_NOTINSERVICE)))
		return sp_fail(b, SP_BLAME(blame, fb, SP_MP_CTL, SP_MP_CTL_TYPE, SP_MP_CTL_PORT),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "the row is notReady: a media proxy needs its control address and port%s", NULL);
	/* RFC 2579: notInService(2) asked of a row that stays notReady */
	if (g->rs_vb != SP_NO_VB && g->rs == RS_NOTINSERVICE && g->table == SP_TBL_STRATEGY &&
	    !sp_mib_strategy_ready(&w.st))
		return sp_fail(b, g->rs_vb, SNMP_ERR_INCONSISTENTVALUE,
			       "the row is notReady: action proxy needs a server%s", NULL);
	return sp_row_store(b, g, cfg, pend, &w, in_cfg, fb);
}

static int sp_build_listen_port(struct sp_mib_build *b, const struct sp_mib_group *g)
{
	struct sp_sp_settings *sp = &b->cand->sp;
	uint16_t port = (uint16_t)g->index.seq;
	unsigned at = sp->n_listen_ports;
	int rc;

	for (unsigned i = 0; i < sp->n_listen_ports; i++)
		if (sp->listen_ports[i] == port)
			at = i;
	rc = check_rowstatus_transition(at < sp->n_listen_ports ? RS_ACTIVE : RS_NONEXISTENT, (int)g->rs);
	if (rc != SNMP_ERR_NOERROR)
		return sp_fail(b, g->rs_vb, rc, "listen-port: RowStatus transition not allowed%s", NULL);
	if (g->rs == RS_CREATEANDGO) {
		if (sp->n_listen_ports == SP_LISTEN_PORTS_MAX)
			return sp_fail(b, g->rs_vb, SNMP_ERR_INCONSISTENTVALUE,
				       "listen-port: at most 8 ports%s", NULL);
		sp->listen_ports[sp->n_listen_ports++] = port;
		b->cand->sp_enabled = true;
	} else if (g->rs == RS_DESTROY && at < sp->n_listen_ports) {
		if (sp->n_listen_ports == 1)
			return sp_fail(b, g->rs_vb, SNMP_ERR_INCONSISTENTVALUE,
				       "listen-port: the last port cannot be removed%s", NULL);
		memmove(&sp->listen_ports[at], &sp->listen_ports[at + 1],
			(sp->n_listen_ports - at - 1) * sizeof(sp->listen_ports[0]));
		sp->n_listen_ports--;
		b->cand->sp_enabled = true;
	}
	return SNMP_ERR_NOERROR;
}

/* Groups the table varbinds by row; destroys go first so that a PDU may
 * remove a row and give its sequence number to another. */
static int sp_build_tables(struct sp_mib_build *b)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < b->n; i++) {
			const netsnmp_variable_list *vb = b->vbs[i];
			struct sp_mib_group g = { .first = i, .rs_vb = SP_NO_VB, .rs = 0 };
			const struct sp_mib_obj *o = sp_mib_lookup(vb->name, vb->name_length, &g.idx_len);
			size_t plen = g.idx_len;
			bool seen = false;
			int rc;

			if (!o || o->table == SP_TBL_NONE)
				continue;
			g.table = o->table;
			g.idx_len = vb->name_length - plen;
			memcpy(g.idx, vb->name + plen, g.idx_len * sizeof(oid));
			sp_mib_parse_index(g.table, g.idx, g.idx_len, &g.index);
			for (size_t j = 0; j < b->n; j++) {
				const struct sp_mib_obj *oj;

				if (!sp_group_has(b, &g, j, &oj))
					continue;
				if (j < i) {
					seen = true; /* handled with its first varbind */
					break;
				}
				if (sp_is_rowstatus(oj)) {
					g.rs_vb = j;
					g.rs = sp_vb_int(b->vbs[j]);
				}
			}
			if (seen || (pass == 0) != (g.rs == RS_DESTROY))
				continue;
			if (g.table == SP_TBL_LISTEN_PORT)
				rc = sp_build_listen_port(b, &g);
			else
				rc = sp_build_row(b, &g);
			if (rc != SNMP_ERR_NOERROR)
				return rc;
		}
	}
	return SNMP_ERR_NOERROR;
}

static int sp_pending_dup(const struct sp_mib_pending *src, struct sp_mib_pending *dst)
{
	memset(dst, 0, sizeof(*dst));
	if ((src->n_strategies &&
	     !(dst->strategies = malloc(src->n_strategies * sizeof(*dst->strategies)))) ||
	    (src->n_policy_routes &&
	     !(dst->policy_routes = malloc(src->n_policy_routes * sizeof(*dst->policy_routes)))) ||
	    (src->n_interfaces && !(dst->interfaces = malloc(src->n_interfaces * sizeof(*dst->interfaces)))) ||
	    (src->n_media_proxies &&
	     !(dst->media_proxies = malloc(src->n_media_proxies * sizeof(*dst->media_proxies))))) {
		sp_mib_pending_free(dst);
		return -1;
	}
	if (src->n_strategies)
		memcpy(dst->strategies, src->strategies, src->n_strategies * sizeof(*dst->strategies));
	if (src->n_policy_routes)
		memcpy(dst->policy_routes, src->policy_routes,
		       src->n_policy_routes * sizeof(*dst->policy_routes));
	if (src->n_interfaces)
		memcpy(dst->interfaces, src->interfaces, src->n_interfaces * sizeof(*dst->interfaces));
	if (src->n_media_proxies)
		memcpy(dst->media_proxies, src->media_proxies,
		       src->n_media_proxies * sizeof(*dst->media_proxies));
	dst->n_media_proxies = src->n_media_proxies;
	dst->n_strategies = src->n_strategies;
	dst->n_policy_routes = src->n_policy_routes;
	dst->n_interfaces = src->n_interfaces;
	return 0;
}

/* Pending rows whose index the running configuration now holds (made
 * meanwhile through the CLI) are dropped: the configuration wins. */
void sp_mib_pending_prune(struct sp_agent_mib *m)
{
	struct sp_config *c = (struct sp_config *)sp_config_store_current(m->store);
	static const int tables[] = { SP_TBL_STRATEGY, SP_TBL_POLICY_ROUTE, SP_TBL_INTERFACE,
				      SP_TBL_MEDIA_PROXY };

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct sp_mib_coll pend = sp_coll_pending(&m->pending, tables[t]);
		struct sp_mib_coll cfg = sp_coll_cfg(c, tables[t]);

		for (size_t i = *pend.n; i-- > 0;) {
			const char *item = (const char *)*pend.base + i * pend.size;
			struct sp_mib_index k = { .seq = sp_item_seq(tables[t], item) };

			snprintf(k.name, sizeof(k.name), "%s", item);
			if (sp_coll_find(cfg, tables[t], &k)) {
				sp_coll_remove(pend, tables[t], &k);
				m->pending_version++;
			}
		}
	}
}

static void sp_txn_free(struct sp_mib_txn *t)
{
	if (!t)
		return;
	sp_config_free(t->cand);
	sp_config_free(t->undo_cfg);
	sp_mib_pending_free(&t->pending);
	sp_mib_pending_free(&t->undo_pending);
	free(t);
}

/* Builds t->cand and t->pending from the running configuration. */
static int sp_prepare(struct sp_agent_mib *m, struct sp_mib_txn *t, netsnmp_variable_list *const *vbs,
		      size_t n, size_t *bad, struct sp_error *e)
{
	struct sp_mib_build b = { .m = m, .vbs = vbs, .n = n, .bad = n ? n - 1 : 0, .e = e };
	int rc;

	sp_config_free(t->cand);
	sp_mib_pending_free(&t->pending);
	sp_mib_pending_prune(m);
	t->cand = sp_config_dup(sp_config_store_current(m->store));
	if (!t->cand || sp_pending_dup(&m->pending, &t->pending) < 0) {
		*bad = b.bad;
		sp_error_set(e, "Out of memory");
		return SNMP_ERR_RESOURCEUNAVAILABLE;
	}
	b.cand = t->cand;
	b.pending = &t->pending;
	rc = sp_build_scalars(&b);
	if (rc == SNMP_ERR_NOERROR)
		rc = sp_build_tables(&b);
	if (rc == SNMP_ERR_NOERROR && sp_config_validate(t->cand, e) < 0)
		rc = SNMP_ERR_INCONSISTENTVALUE; /* blamed on the last varbind */
	*bad = b.bad;
	t->switchover = b.switchover;
	t->generation = sp_config_store_generation(m->store);
	return rc;
}

int sp_agent_mib_set_prepare(struct sp_agent_mib *m, netsnmp_variable_list *const *vbs, size_t n,
			     size_t *bad, struct sp_error *e)
{
	sp_agent_mib_set_finish(m);
	m->txn = calloc(1, sizeof(*m->txn));
	*bad = 0;
	if (!m->txn) {
		sp_error_set(e, "Out of memory");
		return SNMP_ERR_RESOURCEUNAVAILABLE;
	}
	return sp_prepare(m, m->txn, vbs, n, bad, e);
}

/* The audit trail of a committed SET: one line per object. An AgentX
 * request (RFC 2741, 6.1) carries no requester address, community or SNMP
 * user, only the context: the line says the change came through snmpd and
 * names the context, which snmpd's VACM can tie to one user or community
 * (see --agentx-context). Keys are never written. */
static void sp_audit_set(const struct sp_agent_mib *m, netsnmp_variable_list *const *vbs, size_t n)
{
	char via[80];

	if (m->set_context[0])
		snprintf(via, sizeof(via), "AgentX, context \"%s\"", m->set_context);
	else
		snprintf(via, sizeof(via), "AgentX, default context");
	for (size_t i = 0; i < n; i++) {
		char name[256], val[256];
		size_t plen;
		const struct sp_mib_obj *o = sp_mib_lookup(vbs[i]->name, vbs[i]->name_length, &plen);

		if (snprint_objid(name, sizeof(name), vbs[i]->name, vbs[i]->name_length) < 0)
			snprintf(name, sizeof(name), "?");
		if (o && o->table == SP_TBL_NONE && o->id == SP_S_RED_AUTH_KEY)
			snprintf(val, sizeof(val), "<hidden>");
		else if (snprint_value(val, sizeof(val), vbs[i]->name, vbs[i]->name_length, vbs[i]) < 0)
			snprintf(val, sizeof(val), "?");
		for (char *p = val; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?'; /* one log line, whatever the value holds */
		sp_notice("audit: snmp SET via snmpd (%s): %s = %s", via, name, val);
	}
}

int sp_agent_mib_set_commit(struct sp_agent_mib *m, netsnmp_variable_list *const *vbs, size_t n,
			    struct sp_error *e)
{
	struct sp_mib_txn *t = m->txn;
	struct sp_config *cand;
	size_t bad;

	if (!t || t->committed)
		return t ? SNMP_ERR_NOERROR : SNMP_ERR_COMMITFAILED;
	/* the CLI may have committed since RESERVE2: build on what runs now */
	if (t->generation != sp_config_store_generation(m->store) &&
	    sp_prepare(m, t, vbs, n, &bad, e) != SNMP_ERR_NOERROR)
		return SNMP_ERR_COMMITFAILED;
	t->undo_cfg = sp_config_dup(sp_config_store_current(m->store));
	if (!t->undo_cfg || sp_pending_dup(&m->pending, &t->undo_pending) < 0) {
		sp_error_set(e, "Out of memory");
		return SNMP_ERR_COMMITFAILED;
	}
	cand = t->cand;
	t->cand = NULL;
	if (sp_config_store_commit(m->store, cand, NULL, e) < 0)
		return SNMP_ERR_COMMITFAILED;
	sp_mib_pending_free(&m->pending);
	m->pending = t->pending;
	memset(&t->pending, 0, sizeof(t->pending));
	m->pending_version++;
	t->committed = true;
	sp_audit_set(m, vbs, n);
	/* The switchover itself waits for COMMIT (sp_agent_mib_set_complete):
	 * snmpd waits about a second for the answer to this phase (its
	 * agentxTimeout), then answers genErr and sends UndoSet, which could not
	 * take a switchover back; taking the interception out of the kernel (or
	 * putting it in) can take longer on a loaded machine. Here only what
	 * would refuse it. */
	if (t->switchover && m->hooks.switchover_check &&
	    m->hooks.switchover_check(m->redundancy_arg, e) < 0) {
		struct sp_error ignored;

		return sp_agent_mib_set_undo(m, &ignored) == SNMP_ERR_NOERROR ? SNMP_ERR_COMMITFAILED
									      : SNMP_ERR_UNDOFAILED;
	}
	return SNMP_ERR_NOERROR;
}

int sp_agent_mib_set_undo(struct sp_agent_mib *m, struct sp_error *e)
{
	struct sp_mib_txn *t = m->txn;
	struct sp_config *back;

	if (!t || !t->committed)
		return SNMP_ERR_NOERROR;
	back = t->undo_cfg;
	t->undo_cfg = NULL;
	t->committed = false;
	sp_mib_pending_free(&m->pending);
	m->pending = t->undo_pending;
	memset(&t->undo_pending, 0, sizeof(t->undo_pending));
	m->pending_version++;
	if (sp_config_store_commit(m->store, back, NULL, e) < 0)
		return SNMP_ERR_UNDOFAILED;
	return SNMP_ERR_NOERROR;
}

void sp_agent_mib_set_complete(struct sp_agent_mib *m)
{
	struct sp_mib_txn *t = m->txn;
	struct sp_error e = { "" };

	if (!t || !t->committed || !t->switchover)
		return;
	t->switchover = false; /* once, whatever snmpd sends next */
	/* checked in ACTION: only a peer lost since then or the kernel refusing
	 * a forced takeover fails it; the role, its trap and the log tell */
	if (m->hooks.switchover(m->redundancy_arg, &e) < 0)
		sp_err("snmp: switchover after the SET was answered: %s", e.msg);
}

void sp_agent_mib_set_finish(struct sp_agent_mib *m)
{
	sp_txn_free(m->txn);
	m->txn = NULL;
}
