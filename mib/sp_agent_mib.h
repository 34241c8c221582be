/* The SIGPROXY-MIB core of the subagent, kept apart from Net-SNMP's agent
 * machinery so it can be unit-tested: the object layout, GET/GETNEXT over
 * the configuration model, and the SET transaction (check, prepare, commit,
 * undo, finish) with RowStatus and the rows kept notInService. */
#ifndef SP_AGENT_MIB_H
#define SP_AGENT_MIB_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_agent_hooks.h"
#include "sp_config.h"
#include "sp_status.h"

/* 1.3.6.1.4.1.8072.9999.9999.5060: sigproxyMIB */
#define SP_MIB_BASE 1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 5060
#define SP_MIB_BASE_LEN 10
/* sigproxyObjects: what the handler is registered for */
#define SP_MIB_OBJECTS_LEN (SP_MIB_BASE_LEN + 1)
/* longest instance: objects prefix, 3 sub-ids of column, name index 1+32, seq */
#define SP_MIB_OID_MAX (SP_MIB_OBJECTS_LEN + 4 + 1 + SP_NAME_MAX + 1)

struct sp_agent_value {
	u_char type;
	long integer;          /* ASN_INTEGER */
	u_long uns;            /* ASN_UNSIGNED, ASN_GAUGE, ASN_COUNTER, ASN_TIMETICKS */
	struct counter64 c64;  /* ASN_COUNTER64 */
	u_char str[256];       /* ASN_OCTET_STR */
	size_t len;
};

/* A row kept by the agent outside the running configuration
 * (createAndWait, or an active row set to notInService). */
struct sp_mib_pending {
	struct sp_strategy *strategies;
	size_t n_strategies;
	struct sp_policy_route *policy_routes;
	size_t n_policy_routes;
	struct sp_interface *interfaces;
	size_t n_interfaces;
	struct sp_media_proxy *media_proxies;
	size_t n_media_proxies;
};

struct sp_mib_row {
	oid idx[1 + SP_NAME_MAX + 1];
	size_t idx_len;
	const void *item;
	bool active; /* else notInService */
};

struct sp_mib_view {
	struct sp_mib_row *rows;
	size_t n;
};

enum sp_mib_table_id {
	SP_TBL_NONE = 0,
	SP_TBL_LISTEN_PORT,
	SP_TBL_STRATEGY,
	SP_TBL_POLICY_ROUTE,
	SP_TBL_INTERFACE,
	SP_TBL_SESSION,
	SP_TBL_BINDING,
	SP_TBL_MEDIA_PROXY,
	SP_TBL_COUNT,
};

struct sp_mib_txn;

struct sp_agent_mib {
	struct sp_config_store *store;
	struct sp_mib_pending pending;
	uint64_t pending_version;
	/* Sorted index views of the configuration tables, rebuilt whenever the
	 * running configuration or the pending rows change (never stale: keyed
	 * by the store's generation), so a get-next is a binary search. */
	struct sp_mib_view views[SP_TBL_COUNT];
	const struct sp_config *view_cfg;
	uint64_t view_generation, view_pending_version;
	bool views_valid;
	struct sp_agent_hooks hooks;
	void *hooks_arg;
	void *redundancy_arg;	/* for hooks.redundancy and hooks.switchover */
	char last_kernel_error[256];
	u_long last_kernel_error_time;
	/* sysUpTime of the last `clear statistics' (0: never) */
	u_long stats_discontinuity_time;
	/* the daemon's install state of every object (NULL: none, unit tests) */
	const struct sp_status *status;
	struct sp_mib_txn *txn; /* the SET being processed: one at a time */
	/* the SNMP context of the SET being committed ("": the default one),
	 * for its audit line: the one thing AgentX tells of the requester */
	char set_context[40];
};

void sp_agent_mib_init(struct sp_agent_mib *m, struct sp_config_store *store);
void sp_agent_mib_cleanup(struct sp_agent_mib *m);

/* GET: SNMP_ERR_NOERROR with the value, or SNMP_NOSUCHOBJECT /
 * SNMP_NOSUCHINSTANCE. */
int sp_agent_mib_get(struct sp_agent_mib *m, const oid *name, size_t len, struct sp_agent_value *v);
/* GETNEXT within sigproxyObjects: true with the next instance's name (at
 * most SP_MIB_OID_MAX sub-ids) and value, false past the end. */
bool sp_agent_mib_next(struct sp_agent_mib *m, const oid *name, size_t len, oid *next,
		       size_t *next_len, struct sp_agent_value *v);

/* SET phases. `vbs` are the PDU's varbinds for this subtree, in order.
 * check (RESERVE1): each varbind on its own; type, length and range.
 * prepare (RESERVE2): the candidate for the whole PDU; on error *bad is the
 *   index of the varbind to blame and e says why.
 * commit (ACTION): one commit of the prepared candidate (rebuilt from the same
 *   varbinds if the configuration changed since prepare);
 *   SNMP_ERR_COMMITFAILED leaves everything as it was.
 * undo (UNDO): puts back the configuration from before commit.
 * complete (COMMIT): what a committed SET does that may take long (the
 *   switchover): snmpd does not wait for this phase; it cannot fail.
 * finish (COMMIT, FREE): forgets the transaction. */
int sp_agent_mib_set_check(struct sp_agent_mib *m, const netsnmp_variable_list *vb);
int sp_agent_mib_set_prepare(struct sp_agent_mib *m, netsnmp_variable_list *const *vbs, size_t n,
			     size_t *bad, struct sp_error *e);
int sp_agent_mib_set_commit(struct sp_agent_mib *m, netsnmp_variable_list *const *vbs, size_t n,
			    struct sp_error *e);
int sp_agent_mib_set_undo(struct sp_agent_mib *m, struct sp_error *e);
void sp_agent_mib_set_complete(struct sp_agent_mib *m);
void sp_agent_mib_set_finish(struct sp_agent_mib *m);

/* Read helpers shared with the notification code. */
void sp_agent_mib_addr_value(const struct sp_addr *a, struct sp_agent_value *type,
			     struct sp_agent_value *addr);
enum sp_role sp_agent_mib_role_now(struct sp_agent_mib *m);

/* A value of an unsigned type (Gauge32, TimeTicks, Counter32) and a
 * Counter64: the readers of sp_agent_get.c and sp_agent_get_stats.c. */
static inline void sp_val_uns(struct sp_agent_value *v, u_char type, u_long x)
{
	v->type = type;
	v->uns = x;
}

static inline void sp_val_c64(struct sp_agent_value *v, uint64_t x)
{
	v->type = ASN_COUNTER64;
	v->c64.high = (u_long)(x >> 32);
	v->c64.low = (u_long)(x & 0xffffffffu);
}

#endif
