/* Policy routes (SPEC §4.2, parallel mode): every `policy-route NAME seq N`
 * becomes one ip rule per address family, matching what the entry matches and
 * pointing at a table of sigproxy's whose default route is the entry's next
 * hop (the SP), or at the entry's own table.
 *
 * The module is a configuration subscriber: a commit is applied as one
 * transaction (everything or nothing), `no policy-route` removes exactly that
 * entry's rule and route, and sp_pbr_stop() removes all of them. It opens its
 * own rtnetlink socket: the module then works (and is tested) without the
 * engine, and nothing it does can disturb the engine's interception state.
 */
#ifndef SP_PBR_H
#define SP_PBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_config.h"
#include "sp_rtnl.h"
#include "sp_error.h"

/* Rule priority = base + seq. After the engine's interception rule (100), so
 * TPROXY'd packets are still delivered locally when SP and router are one
 * box, and before the main table's rule (32766), which would otherwise route
 * everything first: hence the highest usable seq. */
#define SP_PBR_RULE_PRIORITY_BASE 1000
#define SP_PBR_SEQ_MAX (32765 - SP_PBR_RULE_PRIORITY_BASE)
/* Table of the next-hop route of `seq N` = base + N (when no `set table`). */
#define SP_PBR_TABLE_BASE 100000

/* What one entry puts into the kernel. */
struct sp_pbr_plan {
	bool active;			/* false: no next hop nor table: nothing */
	struct sp_rule rules[2];	/* one per address family */
	size_t n_rules;
	bool has_route;			/* default via next hop */
	struct sp_route route;
};

/* Pure (no socket): the rules and route of one entry. -1 with a reason (not
 * prefixed with the entry's name) for an entry that cannot be expressed. */
int sp_pbr_plan_build(const struct sp_policy_route *r, struct sp_pbr_plan *plan, struct sp_error *err);
bool sp_pbr_plan_equal(const struct sp_pbr_plan *a, const struct sp_pbr_plan *b);

struct sp_pbr;

int sp_pbr_open(struct sp_pbr **out, struct sp_error *err);
/* Removes everything it installed, then frees. */
void sp_pbr_close(struct sp_pbr *pbr);

/* Makes the kernel match the policy routes of c. An entry that is new or
 * changed and that the kernel refuses (or that fails a check that no network
 * change can fix: a next hop that is a local address) makes the whole call
 * fail with "policy-route NAME seq N: reason" and the previous state
 * restored. An entry waiting for the network (next hop not on a connected
 * network yet, input interface not there yet), an unchanged entry that still
 * cannot be installed, or any entry when !strict (at start-up), only records
 * its reason ("not installed: REASON"). */
int sp_pbr_apply(struct sp_pbr *pbr, const struct sp_config *c, bool strict, struct sp_error *e);

/* "installed", "inactive (...)", or "not installed: REASON"; NULL when the
 * entry is not known. */
const char *sp_pbr_state(const struct sp_pbr *pbr, const char *name, uint32_t seq);
/* The entry's kernel state in ip rule / ip route words, one line each,
 * every line starting with indent. */
void sp_pbr_print_kernel(const struct sp_pbr *pbr, const char *name, uint32_t seq,
			 const char *indent, FILE *out);

/* Daemon life cycle: opens, applies the running configuration (entries the
 * kernel refuses are reported, not fatal) and subscribes to changes. */
struct sp_status;
struct sp_events;
struct sp_pbr *sp_pbr_start(struct sp_config_store *config, struct sp_status *status,
			    struct sp_events *events, struct sp_error *e);
void sp_pbr_stop(struct sp_pbr *pbr);

#endif
