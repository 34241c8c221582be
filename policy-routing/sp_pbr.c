/* Policy routes into the kernel: see sp_pbr.h. */
#include "config.h"
#include "sp_pbr.h"
#include "sp_event.h"
#include "sp_log.h"
#include "sp_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SP_PBR_STATE_LEN 320

struct sp_pbr_entry {
	struct sp_policy_route cfg;
	struct sp_pbr_plan plan;
	bool installed;
	char state[SP_PBR_STATE_LEN];
};

struct sp_pbr {
	struct sp_rtnl *rtnl;
	struct sp_pbr_entry *entries;	/* sorted by seq, as the configuration */
	size_t n_entries;
	/* the daemon's status store and event bus; NULL outside the daemon
	 * (unit tests) */
	struct sp_status *status;
	struct sp_events *events;
	/* the last refusal by the kernel during an apply, for the SNMP
	 * notification; empty when the kernel refused nothing */
	char kernel_failure[SP_PBR_STATE_LEN];
};

/* Only what the kernel itself refused: a check failed before asking it
 * (next hop not on a connected network, unknown interface) is a
 * configuration error, answered to whoever made the change. */
static void sp_pbr_kernel_failed(struct sp_pbr *pbr, const struct sp_policy_route *r,
				 const char *err)
{
	snprintf(pbr->kernel_failure, sizeof(pbr->kernel_failure), "policy-route %s seq %u: %s",
		 r->name, r->seq, err);
}

/* Raises a refusal recorded by the last apply as an event (the management
 * layer sends sigproxyKernelProgrammingFailure). */
static void sp_pbr_report_kernel_failure(struct sp_pbr *pbr)
{
	if (!pbr->kernel_failure[0])
		return;
	sp_events_publish(pbr->events, &(struct sp_event){
		.type = SP_EVENT_KERNEL_FAILURE, .u.kernel_failure.what = pbr->kernel_failure });
	pbr->kernel_failure[0] = '\0';
}

/* Every entry's state into the daemon's status store, where the CLI and
 * SNMP read it: after each apply, refused or not. */
static void sp_pbr_publish_status(struct sp_pbr *pbr)
{
	sp_status_reset(pbr->status, SP_STATUS_POLICY_ROUTE);
	for (size_t i = 0; i < pbr->n_entries; i++) {
		const struct sp_pbr_entry *en = &pbr->entries[i];

		sp_status_set(pbr->status, SP_STATUS_POLICY_ROUTE, en->cfg.name, en->cfg.seq,
			      en->installed, en->installed ? "" : en->state);
	}
}

/* ---- pure: the plan ---- */

static void sp_pbr_rt_addr(struct sp_rt_addr *out, const struct sp_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->family = a->family;
	if (a->family == AF_INET)
		out->v4 = a->u.v4;
	else if (a->family == AF_INET6)
		out->v6 = a->u.v6;
}

static void sp_pbr_rt_prefix(struct sp_rt_prefix *out, const struct sp_prefix *p)
{
	sp_pbr_rt_addr(&out->addr, &p->addr);
	out->len = p->len;
}

int sp_pbr_plan_build(const struct sp_policy_route *r, struct sp_pbr_plan *plan, struct sp_error *err)
{
	int families[2], n_families = 0, fixed = 0;
	struct sp_rule rule = { 0 };

	memset(plan, 0, sizeof(*plan));
	if (r->shutdown || (!sp_addr_is_set(&r->next_hop) && !r->table))
		return 0;
	if (r->seq < 1 || r->seq > SP_PBR_SEQ_MAX) {
		sp_error_set(err, "seq must be 1-%u for a policy route (rule priority %u + seq)",
			 SP_PBR_SEQ_MAX, SP_PBR_RULE_PRIORITY_BASE);
		return -1;
	}
	/* the family is fixed by whatever carries an address */
	if (r->match & SP_MATCH_SOURCE)
		fixed = r->source.addr.family;
	if (r->match & SP_MATCH_DESTINATION) {
		if (fixed && fixed != r->destination.addr.family) {
			sp_error_set(err, "source and destination are of different address families");
			return -1;
		}
		fixed = r->destination.addr.family;
	}
	if (sp_addr_is_set(&r->next_hop)) {
		if (fixed && fixed != r->next_hop.family) {
			sp_error_set(err, "the next hop is not of the matched prefixes' address family");
			return -1;
		}
		fixed = r->next_hop.family;
	}
	if (fixed) {
		families[n_families++] = fixed;
	} else {
		families[n_families++] = AF_INET;
		families[n_families++] = AF_INET6;
	}

	rule.priority = SP_PBR_RULE_PRIORITY_BASE + r->seq;
	rule.table = r->table ? r->table : SP_PBR_TABLE_BASE + r->seq;
	rule.protocol = SP_RTPROT;
	if (r->match & SP_MATCH_SOURCE)
		sp_pbr_rt_prefix(&rule.src, &r->source);
	if (r->match & SP_MATCH_DESTINATION)
		sp_pbr_rt_prefix(&rule.dst, &r->destination);
	if (r->match & SP_MATCH_INPUT_INTERFACE)
		snprintf(rule.iifname, sizeof(rule.iifname), "%s", r->input_interface);
	if (r->match & SP_MATCH_PROTOCOL)
		rule.ip_proto = r->protocol;
	if (r->match & SP_MATCH_SOURCE_PORT) {
		rule.sport.start = r->source_port.lo;
		rule.sport.end = r->source_port.hi;
	}
	if (r->match & SP_MATCH_DESTINATION_PORT) {
		rule.dport.start = r->destination_port.lo;
		rule.dport.end = r->destination_port.hi;
	}
	/* the kernel takes port ranges only with a protocol that has ports */
	if ((rule.sport.start || rule.dport.start) && rule.ip_proto != IPPROTO_UDP &&
	    rule.ip_proto != IPPROTO_TCP && rule.ip_proto != IPPROTO_SCTP) {
		sp_error_set(err, "port matches need match protocol udp, tcp or sctp");
		return -1;
	}
	for (int i = 0; i < n_families; i++) {
		plan->rules[i] = rule;
		plan->rules[i].family = families[i];
	}
	plan->n_rules = (size_t)n_families;
	if (sp_addr_is_set(&r->next_hop)) {
		plan->has_route = true;
		plan->route.family = r->next_hop.family;
		plan->route.kind = SP_ROUTE_UNICAST;
		plan->route.table = rule.table;
		plan->route.protocol = SP_RTPROT;
		sp_pbr_rt_addr(&plan->route.gateway, &r->next_hop);
	}
	plan->active = true;
	return 0;
}

bool sp_pbr_plan_equal(const struct sp_pbr_plan *a, const struct sp_pbr_plan *b)
{
	if (a->active != b->active || a->n_rules != b->n_rules || a->has_route != b->has_route)
		return false;
	for (size_t i = 0; i < a->n_rules; i++)
		if (!sp_rtnl_rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return !a->has_route || sp_rtnl_route_equal(&a->route, &b->route);
}

/* ---- kernel ---- */

/* Checks the kernel can make of it what the configuration means; fills the
 * route's output interface. */
/* *waits: the failure depends on the network's current state (an input
 * interface not there yet, a next hop not on a connected network yet), not
 * on the entry itself. */
static int sp_pbr_check(struct sp_pbr *pbr, const struct sp_policy_route *r,
			struct sp_pbr_plan *plan, bool *waits, struct sp_error *err)
{
	unsigned ifindex;

	*waits = false;
	/* the kernel accepts a rule for an interface that does not exist (it
	 * waits for it): not installed, with the reason shown, so a typo does
	 * not go unnoticed */
	if ((r->match & SP_MATCH_INPUT_INTERFACE) &&
	    sp_rtnl_ifindex(r->input_interface, &ifindex, err) < 0) {
		sp_error_set(err, "input interface %s does not exist", r->input_interface);
		*waits = true;
		return -1;
	}
	if (plan->has_route &&
	    sp_rtnl_gateway_check(pbr->rtnl, &plan->route.gateway, &plan->route.oif, err) < 0) {
		*waits = errno == ENETUNREACH;
		return -1;
	}
	return 0;
}

/* Removes what remove() says of the entry; a piece already gone is fine
 * (someone else removed it: the aim is reached). */
static int sp_pbr_uninstall(struct sp_pbr *pbr, const struct sp_pbr_plan *plan, struct sp_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < plan->n_rules; i++)
		if (sp_rtnl_rule_del(pbr->rtnl, &plan->rules[i], err) < 0 && errno != ENOENT)
			rc = -1;
	if (plan->has_route && sp_rtnl_route_del(pbr->rtnl, &plan->route, err) < 0 &&
	    errno != ESRCH && errno != ENOENT)
		rc = -1;
	return rc;
}

/* The route first, so a rule never points at an empty table; all or nothing. */
static int sp_pbr_install(struct sp_pbr *pbr, const struct sp_pbr_plan *plan, struct sp_error *err)
{
	size_t i;
	struct sp_error ignored = { "" };

	if (plan->has_route && sp_rtnl_route_add(pbr->rtnl, &plan->route, err) < 0)
		return -1;
	for (i = 0; i < plan->n_rules; i++)
		if (sp_rtnl_rule_add(pbr->rtnl, &plan->rules[i], err) < 0)
			break;
	if (i == plan->n_rules)
		return 0;
	while (i-- > 0)
		sp_rtnl_rule_del(pbr->rtnl, &plan->rules[i], &ignored);
	if (plan->has_route)
		sp_rtnl_route_del(pbr->rtnl, &plan->route, &ignored);
	return -1;
}

int sp_pbr_open(struct sp_pbr **out, struct sp_error *err)
{
	struct sp_pbr *pbr = calloc(1, sizeof(*pbr));

	if (!pbr) {
		sp_error_set(err, "out of memory");
		return -1;
	}
	if (sp_rtnl_open(&pbr->rtnl, err) < 0) {
		free(pbr);
		return -1;
	}
	*out = pbr;
	return 0;
}

void sp_pbr_close(struct sp_pbr *pbr)
{
	struct sp_error err = { "" };

	if (!pbr)
		return;
	for (size_t i = 0; i < pbr->n_entries; i++)
		if (pbr->entries[i].installed &&
		    sp_pbr_uninstall(pbr, &pbr->entries[i].plan, &err) < 0)
			sp_warn("policy-route %s seq %u: %s", pbr->entries[i].cfg.name,
				pbr->entries[i].cfg.seq, err.msg);
	free(pbr->entries);
	sp_rtnl_close(pbr->rtnl);
	free(pbr);
}

static struct sp_pbr_entry *sp_pbr_find(const struct sp_pbr *pbr, const char *name, uint32_t seq)
{
	for (size_t i = 0; i < pbr->n_entries; i++)
		if (pbr->entries[i].cfg.seq == seq && strcmp(pbr->entries[i].cfg.name, name) == 0)
			return &pbr->entries[i];
	return NULL;
}

static bool sp_pbr_cfg_equal(const struct sp_policy_route *a, const struct sp_policy_route *b)
{
	/* entries are built field by field from zeroed memory: bytes compare */
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* One apply in progress: the entries it builds, and what it changed in
 * the kernel so far, to undo on failure. */
struct sp_pbr_change {
	bool strict;
	struct sp_pbr_entry *next;	/* the new entries */
	size_t n_new;
	size_t *removed, n_removed;	/* indexes into pbr->entries removed */
	size_t *added, n_added;		/* indexes into next installed */
};

/* 1. plans and checks: nothing touched yet. -1 with e: a strict apply
 * refused an entry that can never work. */
static int sp_pbr_plan_all(struct sp_pbr *pbr, struct sp_pbr_change *ch, const struct sp_config *c,
			   struct sp_error *e)
{
	struct sp_error err = { "" };

	for (size_t i = 0; i < ch->n_new; i++) {
		struct sp_pbr_entry *ne = &ch->next[i];
		const struct sp_pbr_entry *old;

		ne->cfg = c->policy_routes[i];
		old = sp_pbr_find(pbr, ne->cfg.name, ne->cfg.seq);
		bool waits = false; /* for the network: a next hop, an interface */

		if (sp_pbr_plan_build(&ne->cfg, &ne->plan, &err) < 0 ||
		    (ne->plan.active && sp_pbr_check(pbr, &ne->cfg, &ne->plan, &waits, &err) < 0)) {
			bool changed = !old || !sp_pbr_cfg_equal(&old->cfg, &ne->cfg);

			/* what depends on the network's current state is accepted
			 * and shown with its reason, as at start-up; only what
			 * can never work is refused */
			if (ch->strict && changed && !waits)
				return sp_error_set(e, "policy-route %s seq %u: %s", ne->cfg.name, ne->cfg.seq,
						    err.msg);
			ne->plan.active = false;
			snprintf(ne->state, sizeof(ne->state), "not installed: %s", err.msg);
			continue;
		}
		if (!ne->plan.active)
			snprintf(ne->state, sizeof(ne->state), "%s", ne->cfg.shutdown ? "inactive (shutdown)" :
				 "inactive (no set next-hop or set table)");
	}
	return 0;
}

/* 2. remove what is no longer wanted as it is. -1 with e: the kernel
 * refused. */
static int sp_pbr_remove_unwanted(struct sp_pbr *pbr, struct sp_pbr_change *ch, struct sp_error *e)
{
	struct sp_error err = { "" };

	for (size_t i = 0; i < pbr->n_entries; i++) {
		struct sp_pbr_entry *oe = &pbr->entries[i];
		bool keep = false;

		if (!oe->installed)
			continue;
		for (size_t k = 0; k < ch->n_new; k++) {
			struct sp_pbr_entry *ne = &ch->next[k];

			if (ne->cfg.seq == oe->cfg.seq && strcmp(ne->cfg.name, oe->cfg.name) == 0 &&
			    ne->plan.active && sp_pbr_plan_equal(&ne->plan, &oe->plan)) {
				ne->installed = true;
				keep = true;
			}
		}
		if (keep)
			continue;
		if (sp_pbr_uninstall(pbr, &oe->plan, &err) < 0) {
			sp_pbr_kernel_failed(pbr, &oe->cfg, err.msg);
			return sp_error_set(e, "policy-route %s seq %u: %s", oe->cfg.name, oe->cfg.seq, err.msg);
		}
		ch->removed[ch->n_removed++] = i;
	}
	return 0;
}

/* 3. install what is new or changed. -1 with e: the kernel refused an
 * entry a strict apply changed. */
static int sp_pbr_install_new(struct sp_pbr *pbr, struct sp_pbr_change *ch, struct sp_error *e)
{
	struct sp_error err = { "" };

	for (size_t k = 0; k < ch->n_new; k++) {
		struct sp_pbr_entry *ne = &ch->next[k];
		const struct sp_pbr_entry *old;

		if (!ne->plan.active || ne->installed)
			continue;
		if (sp_pbr_install(pbr, &ne->plan, &err) < 0) {
			sp_pbr_kernel_failed(pbr, &ne->cfg, err.msg);
			old = sp_pbr_find(pbr, ne->cfg.name, ne->cfg.seq);
			if (ch->strict && (!old || !sp_pbr_cfg_equal(&old->cfg, &ne->cfg)))
				return sp_error_set(e, "policy-route %s seq %u: %s", ne->cfg.name, ne->cfg.seq,
						    err.msg);
			sp_warn("policy-route %s seq %u: %s", ne->cfg.name, ne->cfg.seq, err.msg);
			snprintf(ne->state, sizeof(ne->state), "not installed: %s", err.msg);
			continue;
		}
		ne->installed = true;
		ch->added[ch->n_added++] = k;
	}
	return 0;
}

/* Back to the state before the apply: what it added goes, what it removed
 * comes back. */
static void sp_pbr_undo(struct sp_pbr *pbr, struct sp_pbr_change *ch)
{
	struct sp_error err = { "" };

	while (ch->n_added-- > 0)
		sp_pbr_uninstall(pbr, &ch->next[ch->added[ch->n_added]].plan, &err);
	while (ch->n_removed-- > 0) {
		struct sp_pbr_entry *oe = &pbr->entries[ch->removed[ch->n_removed]];

		if (sp_pbr_install(pbr, &oe->plan, &err) < 0) {
			sp_pbr_kernel_failed(pbr, &oe->cfg, err.msg);
			sp_err("policy-route %s seq %u: cannot restore: %s", oe->cfg.name, oe->cfg.seq, err.msg);
			oe->installed = false;
			snprintf(oe->state, sizeof(oe->state), "not installed: %s", err.msg);
		}
	}
}

int sp_pbr_apply(struct sp_pbr *pbr, const struct sp_config *c, bool strict, struct sp_error *e)
{
	struct sp_pbr_change ch = { .strict = strict, .n_new = c->n_policy_routes };
	int rc = -1;

	ch.next = calloc(ch.n_new ? ch.n_new : 1, sizeof(*ch.next));
	ch.removed = calloc(pbr->n_entries ? pbr->n_entries : 1, sizeof(*ch.removed));
	ch.added = calloc(ch.n_new ? ch.n_new : 1, sizeof(*ch.added));
	pbr->kernel_failure[0] = '\0';
	if (!ch.next || !ch.removed || !ch.added) {
		sp_error_set(e, "Out of memory");
		goto out;
	}
	if (sp_pbr_plan_all(pbr, &ch, c, e) < 0)
		goto out;
	if (sp_pbr_remove_unwanted(pbr, &ch, e) < 0 || sp_pbr_install_new(pbr, &ch, e) < 0) {
		sp_pbr_undo(pbr, &ch);
		goto out;
	}
	for (size_t k = 0; k < ch.n_new; k++)
		if (ch.next[k].installed)
			snprintf(ch.next[k].state, sizeof(ch.next[k].state), "installed");
	free(pbr->entries);
	pbr->entries = ch.next;
	pbr->n_entries = ch.n_new;
	ch.next = NULL;
	rc = 0;
out:
	free(ch.next);
	free(ch.removed);
	free(ch.added);
	return rc;
}

const char *sp_pbr_state(const struct sp_pbr *pbr, const char *name, uint32_t seq)
{
	const struct sp_pbr_entry *en = pbr ? sp_pbr_find(pbr, name, seq) : NULL;

	return en ? en->state : NULL;
}

void sp_pbr_print_kernel(const struct sp_pbr *pbr, const char *name, uint32_t seq,
			 const char *indent, FILE *out)
{
	const struct sp_pbr_entry *en = pbr ? sp_pbr_find(pbr, name, seq) : NULL;
	char desc[SP_RTNL_DESC_LEN];

	if (!en || !en->installed)
		return;
	for (size_t i = 0; i < en->plan.n_rules; i++) {
		sp_rtnl_rule_format(&en->plan.rules[i], desc, sizeof(desc));
		fprintf(out, "%sip rule %s\n", indent, desc);
	}
	if (en->plan.has_route) {
		sp_rtnl_route_format(&en->plan.route, desc, sizeof(desc));
		fprintf(out, "%sip route %s\n", indent, desc);
	}
}

/* ---- daemon ---- */

static int sp_pbr_config_cb(void *arg, const struct sp_config *old_cfg,
			    const struct sp_config *new_cfg, const struct sp_config_diff *diff,
			    struct sp_error *e)
{
	struct sp_pbr *pbr = arg;
	bool relevant = false;
	int rc;

	(void)old_cfg;
	/* interfaces count too: an input interface may have been created */
	for (size_t i = 0; i < diff->n; i++)
		relevant |= diff->changes[i].object == SP_OBJ_POLICY_ROUTE ||
			    diff->changes[i].object == SP_OBJ_INTERFACE;
	if (!relevant)
		return 0;
	rc = sp_pbr_apply(pbr, new_cfg, true, e);
	sp_pbr_publish_status(pbr);
	sp_pbr_report_kernel_failure(pbr);
	return rc;
}

struct sp_pbr *sp_pbr_start(struct sp_config_store *config, struct sp_status *status,
			    struct sp_events *events, struct sp_error *e)
{
	struct sp_pbr *pbr;
	struct sp_error ignored = { { 0 } };
	struct sp_error err = { "" };

	if (sp_pbr_open(&pbr, &err) < 0) {
		sp_error_set(e, "policy routes: %s", err.msg);
		return NULL;
	}
	pbr->status = status;
	pbr->events = events;
	/* at start-up an entry the kernel refuses is shown, not fatal: the
	 * daemon must come up to let the operator fix it */
	sp_pbr_apply(pbr, sp_config_store_current(config), false, &ignored);
	sp_pbr_publish_status(pbr);
	for (size_t i = 0; i < pbr->n_entries; i++)
		if (strncmp(pbr->entries[i].state, "not installed", 13) == 0)
			sp_warn("policy-route %s seq %u: %s", pbr->entries[i].cfg.name,
				pbr->entries[i].cfg.seq, pbr->entries[i].state);
	if (sp_config_store_subscribe(config, "policy-routes", sp_pbr_config_cb, pbr) < 0) {
		sp_pbr_close(pbr);
		sp_error_set(e, "Cannot subscribe to the configuration");
		return NULL;
	}
	return pbr;
}

void sp_pbr_stop(struct sp_pbr *pbr)
{
	sp_pbr_close(pbr);
}
