/*
 * Active-standby (SPEC §5): the SP's role now, what changes it, and the
 * state-sync channel to the peer (daemon/sp_sync) that goes with it.
 *
 * The initial role is the configured one (`redundancy` / `role`); without a
 * redundancy block the SP is active and alone, exactly as before this module
 * existed. At run time the role changes on:
 *   - the configuration: a new configured role, or the block removed;
 *   - `redundancy force-switchover` (CLI) or sigproxyRedundancySwitchover
 *     (SNMP): an active SP asks its peer to take over, then becomes standby;
 *   - the peer handing over to this SP (its operator's switchover);
 *   - a VRRP daemon's notify hook: `redundancy notify {master|backup|fault}`.
 * Each change tells the engine (kernel state installed or removed), the sync
 * channel (sender or receiver) and the SNMP manager (sigproxyRoleChange).
 *
 * Runs on the daemon's loop; one per daemon (struct sp_daemon.redundancy).
 */
#ifndef SP_REDUNDANCY_H
#define SP_REDUNDANCY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "sp_config.h"
#include "sp_error.h"
#include "sp_sync.h"

struct sp_redundancy_ctl;

/* What a VRRP daemon reports (keepalived's notify states). */
enum sp_vrrp_state {
	SP_VRRP_MASTER,
	SP_VRRP_BACKUP,
	SP_VRRP_FAULT,
};

/* Why the role changed (shown by `show redundancy`, sent with the trap). */
enum sp_role_cause {
	SP_ROLE_CHANGE_START,		/* the configured role at start-up */
	SP_ROLE_CHANGE_CONFIGURATION,
	SP_ROLE_CHANGE_SWITCHOVER,	/* this SP's operator */
	SP_ROLE_CHANGE_PEER_REQUEST,	/* the peer handed over */
	SP_ROLE_CHANGE_VRRP,
};

/* After the engine has started: takes the role from the configuration and
 * follows its changes. NULL and e on failure. */
struct sp_engine;
struct sp_events;
struct sp_loop;
/* What the daemon lends the module, which keeps a copy: the loop, the
 * configuration it follows, the bus its events go up on, and the engine
 * whose role it sets and whose table it syncs. */
struct sp_redundancy_env {
	struct sp_loop *loop;
	struct sp_config_store *config;
	struct sp_events *events;
	struct sp_engine *engine;
};

struct sp_redundancy_ctl *sp_redundancy_start(const struct sp_redundancy_env *env, struct sp_error *e);
/* Closes the sync channel; leaves the engine as it is. */
void sp_redundancy_stop(struct sp_redundancy_ctl *r);

/* NULL (no module) counts as active. */
bool sp_redundancy_is_active(const struct sp_redundancy_ctl *r);
enum sp_role sp_redundancy_role(const struct sp_redundancy_ctl *r);

/* `redundancy force-switchover`: 0, or -1 with e saying why not. */
int sp_redundancy_force_switchover(struct sp_redundancy_ctl *r, struct sp_error *e);
/* What force-switchover would refuse now, without doing anything: 0 when it
 * would go ahead (a handover can still fail if the peer goes in between, a
 * forced takeover if the kernel refuses the interception), else -1 with e.
 * An SNMP SET checks with it and switches after it was answered (the
 * switchover can take longer than snmpd waits for a subagent). */
int sp_redundancy_switchover_check(const struct sp_redundancy_ctl *r, struct sp_error *e);
/* `redundancy notify ...`: 0, or -1 with e. */
int sp_redundancy_vrrp_notify(struct sp_redundancy_ctl *r, enum sp_vrrp_state state,
			      struct sp_error *e);
int sp_vrrp_state_parse(const char *word, enum sp_vrrp_state *out);

/* While it runs, it watches the table's changes (sp_table_watch): an
 * active SP marks them for its standby. */

/* What `show redundancy` prints (cli/sp_show); the strings stay valid until
 * the next role change or configuration apply. r NULL or not configured:
 * configured false. */
struct sp_redundancy_view {
	bool configured;
	enum sp_role role, configured_role;
	time_t changed_wall;
	uint64_t changed_ms;
	const char *cause, *reason; /* of the last role change */
	uint64_t role_changes;
	struct sp_addr local_address, peer_address;
	uint16_t local_port, peer_port;
	bool has_sync;		/* else no_sync_why says why */
	const char *no_sync_why;
	enum sp_sync_peer_state peer_state;
	bool peer_up;
	struct sp_sync_stats sync;
};
void sp_redundancy_view(const struct sp_redundancy_ctl *r, struct sp_redundancy_view *v);

/* The role, the peer and the channel's counters, for the management layer
 * (sigproxyRedundancy; the agent reads them, this module does not know it). */
enum sp_redundancy_peer {
	SP_RED_PEER_UNKNOWN,	/* no channel, or never connected */
	SP_RED_PEER_CONNECTED,
	SP_RED_PEER_LOST,	/* connected once, not now */
};
struct sp_redundancy_status {
	enum sp_role role;
	enum sp_redundancy_peer peer;
	uint32_t last_seq_sent, last_seq_acked;
	uint64_t msgs_sent, msgs_received;
	uint32_t resyncs, auth_failures;
};
void sp_redundancy_get_status(struct sp_redundancy_ctl *r, struct sp_redundancy_status *out);

#endif
