#include "config.h"
#include "sp_redundancy.h"
#include "sp_persist.h"
#include "sp_classify.h"
#include "sp_engine.h"
#include "sp_event.h"
#include "sp_log.h"
#include "sp_loop.h"
#include "sp_sync.h"
#include "sp_sync_codec.h"
#include "sp_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct sp_redundancy_ctl {
	struct sp_redundancy_env env;	/* what the daemon lent it */
	struct sp_redundancy cfg;	/* what the channel and the role follow */
	enum sp_role role;
	struct sp_sync *sync;		/* NULL: see no_sync_why */
	char no_sync_why[SP_ERROR_MAX];	/* why there is no channel, for `show redundancy` (an sp_error fits) */
	struct sp_sync_codec *codec;
	struct sp_loop_timer *config_timer;	/* config change, applied once final */
	enum sp_sync_peer_state peer_state;
	bool peer_was_up;		/* for lost/regained */
	/* the last role change, for `show redundancy` */
	time_t changed_wall;
	uint64_t changed_ms;
	enum sp_role_cause cause;
	char reason[96];
	uint64_t role_changes;
};

static const char *sp_role_cause_name(enum sp_role_cause c)
{
	switch (c) {
	case SP_ROLE_CHANGE_START: return "start-up";
	case SP_ROLE_CHANGE_CONFIGURATION: return "configuration";
	case SP_ROLE_CHANGE_SWITCHOVER: return "switchover";
	case SP_ROLE_CHANGE_PEER_REQUEST: return "peer request";
	case SP_ROLE_CHANGE_VRRP: return "vrrp";
	}
	return "other";
}

static enum sp_event_role_cause sp_role_cause_mib(enum sp_role_cause c)
{
	switch (c) {
	case SP_ROLE_CHANGE_CONFIGURATION: return SP_EVENT_CAUSE_CONFIGURATION;
	case SP_ROLE_CHANGE_SWITCHOVER:
	case SP_ROLE_CHANGE_PEER_REQUEST: return SP_EVENT_CAUSE_SWITCHOVER;
	case SP_ROLE_CHANGE_VRRP: return SP_EVENT_CAUSE_VRRP;
	default: return SP_EVENT_CAUSE_OTHER;
	}
}

/* The one place the role changes: engine first (kernel state in or out),
 * then the channel's direction, then the manager. */
static int sp_redundancy_set_role(struct sp_redundancy_ctl *r, enum sp_role role,
				  enum sp_role_cause cause, const char *reason, struct sp_error *e)
{
	struct sp_error ignored;
	bool active = role == SP_ROLE_ACTIVE;

	if (!e)
		e = &ignored;
	if (role == r->role)
		return 0;
	/* a failure leaves the engine in the role it had */
	if (sp_engine_set_active(r->env.engine, active, e) < 0) {
		sp_err("redundancy: cannot become %s: %s", sp_role_name(role), e->msg);
		return -1;
	}
	r->role = role;
	if (r->sync)
		sp_sync_set_sender(r->sync, active);
	r->changed_wall = time(NULL);
	r->changed_ms = sp_loop_now_ms();
	r->cause = cause;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	r->role_changes++;
	sp_notice("redundancy: role %s (%s%s%s)", sp_role_name(role), sp_role_cause_name(cause),
		  r->reason[0] ? ": " : "", r->reason);
	/* the agent reports a new configured role by itself */
	if (cause != SP_ROLE_CHANGE_CONFIGURATION)
		sp_events_publish(r->env.events, &(struct sp_event){
			.type = SP_EVENT_ROLE_CHANGE,
			.u.role_change = { .role = role, .cause = sp_role_cause_mib(cause) } });
	return 0;
}

/* ---- the sync channel's callbacks: the engine's table through the codec ---- */

static ssize_t sp_red_encode(void *arg, enum sp_sync_kind kind, uint32_t id, uint8_t *buf, size_t cap)
{
	struct sp_redundancy_ctl *r = arg;

	return sp_sync_codec_encode(r->codec, kind, id, sp_loop_now_ms(), buf, cap);
}

static uint32_t sp_red_next_id(void *arg, enum sp_sync_kind kind, uint32_t after)
{
	struct sp_redundancy_ctl *r = arg;

	return sp_sync_codec_next_id(r->codec, kind, after);
}

static int sp_red_apply(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data, size_t len)
{
	struct sp_redundancy_ctl *r = arg;
	int rc;

	if (r->role == SP_ROLE_ACTIVE)
		return -EPERM; /* an active SP's table is its own: never overwritten */
	rc = sp_sync_codec_apply(r->codec, kind, id, data, len, sp_loop_now_ms());
	sp_engine_sync_applied(r->env.engine);
	return rc;
}

static void sp_red_resync_begin(void *arg)
{
	struct sp_redundancy_ctl *r = arg;

	if (r->role != SP_ROLE_ACTIVE)
		sp_sync_codec_resync_begin(r->codec);
}

static void sp_red_resync_end(void *arg)
{
	struct sp_redundancy_ctl *r = arg;
	unsigned swept;

	if (r->role == SP_ROLE_ACTIVE)
		return;
	swept = sp_sync_codec_resync_end(r->codec);
	sp_engine_sync_applied(r->env.engine);
	sp_info("redundancy: full resync from the peer received (%u stale objects removed)", swept);
}

static void sp_red_peer_state(void *arg, enum sp_sync_peer_state state)
{
	struct sp_redundancy_ctl *r = arg;
	bool up = state == SP_SYNC_PEER_UP || state == SP_SYNC_PEER_RESYNC;
	bool was_up = r->peer_state == SP_SYNC_PEER_UP || r->peer_state == SP_SYNC_PEER_RESYNC;

	r->peer_state = state;
	if (up && !was_up) {
		sp_notice("redundancy: peer connected");
		if (r->peer_was_up)
			sp_events_publish(r->env.events, &(struct sp_event){ .type = SP_EVENT_PEER_REGAINED });
		r->peer_was_up = true;
	} else if (!up && was_up) {
		sp_warn("redundancy: peer lost");
		sp_events_publish(r->env.events, &(struct sp_event){ .type = SP_EVENT_PEER_LOST });
	}
}

static void sp_red_takeover(void *arg)
{
	struct sp_redundancy_ctl *r = arg;

	sp_redundancy_set_role(r, SP_ROLE_ACTIVE, SP_ROLE_CHANGE_PEER_REQUEST,
			       "the peer handed over", NULL);
}

/* ---- configuration ---- */

static bool sp_red_channel_equal(const struct sp_redundancy *a, const struct sp_redundancy *b)
{
	return a->configured == b->configured && sp_addr_equal(&a->local_address, &b->local_address) &&
	       a->local_port == b->local_port && sp_addr_equal(&a->peer_address, &b->peer_address) &&
	       a->peer_port == b->peer_port && strcmp(a->key, b->key) == 0;
}

static void sp_red_channel_close(struct sp_redundancy_ctl *r)
{
	sp_sync_free(r->sync);
	r->sync = NULL;
	r->peer_state = SP_SYNC_PEER_DOWN;
	r->peer_was_up = false;
}

static void sp_red_channel_open(struct sp_redundancy_ctl *r)
{
	const struct sp_redundancy *c = &r->cfg;
	struct sp_sync_config sc = { 0 };
	struct sp_sync_callbacks cb = {
		.encode = sp_red_encode,
		.next_id = sp_red_next_id,
		.apply = sp_red_apply,
		.resync_begin = sp_red_resync_begin,
		.resync_end = sp_red_resync_end,
		.peer_state = sp_red_peer_state,
		.takeover = sp_red_takeover,
		.arg = r,
	};
	struct sp_error e = { { 0 } };

	snprintf(r->no_sync_why, sizeof(r->no_sync_why), "configuration incomplete");
	if (!c->configured)
		return;
	if (!sp_addr_is_set(&c->local_address) || !c->local_port || !sp_addr_is_set(&c->peer_address) ||
	    !c->peer_port || !c->key[0]) {
		sp_warn("redundancy: no state sync until local-address, peer-address and authentication key are all configured");
		return;
	}
	sp_endpoint_from_addr(&sc.local, &c->local_address, c->local_port);
	sp_endpoint_from_addr(&sc.peer, &c->peer_address, c->peer_port);
	sc.key = c->key;
	r->sync = sp_sync_new(r->env.loop, &sc, &cb, &e);
	if (!r->sync) {
		/* the commit stands (the settings are valid); the operator sees
		 * why the channel is down in `show redundancy` and the log */
		sp_err("redundancy: state sync: %s", e.msg);
		snprintf(r->no_sync_why, sizeof(r->no_sync_why), "%s", e.msg);
		return;
	}
	r->no_sync_why[0] = '\0';
	sp_sync_set_sender(r->sync, r->role == SP_ROLE_ACTIVE);
}

/* Runs once the commit is final (subscribers hear of it before). */
static void sp_red_config_timer_cb(struct sp_loop *loop, void *arg)
{
	struct sp_redundancy_ctl *r = arg;
	const struct sp_redundancy *now = &sp_config_store_current(r->env.config)->redundancy;
	struct sp_redundancy old = r->cfg;

	(void)loop;
	r->cfg = *now;
	if (!sp_red_channel_equal(&old, now)) {
		sp_red_channel_close(r);
		sp_red_channel_open(r);
	}
	if (!now->configured)
		sp_redundancy_set_role(r, SP_ROLE_ACTIVE, SP_ROLE_CHANGE_CONFIGURATION,
				       "no redundancy: the SP runs alone", NULL);
	else if (!old.configured || old.role != now->role)
		sp_redundancy_set_role(r, now->role, SP_ROLE_CHANGE_CONFIGURATION, "configured role", NULL);
}

static int sp_red_config_cb(void *arg, const struct sp_config *old_cfg, const struct sp_config *new_cfg,
			    const struct sp_config_diff *diff, struct sp_error *e)
{
	struct sp_redundancy_ctl *r = arg;

	(void)old_cfg;
	(void)new_cfg;
	(void)e;
	for (size_t i = 0; i < diff->n; i++)
		if (diff->changes[i].object == SP_OBJ_REDUNDANCY)
			sp_loop_timer_arm(r->config_timer, 0);
	return 0;
}

/* ---- lifecycle ---- */

static void sp_red_changed(void *arg, const struct sp_store_change *c);

struct sp_redundancy_ctl *sp_redundancy_start(const struct sp_redundancy_env *env, struct sp_error *e)
{
	struct sp_redundancy_ctl *r = calloc(1, sizeof(*r));
	const struct sp_redundancy *c = &sp_config_store_current(env->config)->redundancy;

	if (!r) {
		sp_error_set(e, "redundancy: out of memory");
		return NULL;
	}
	r->env = *env;
	r->cfg = *c;
	/* the engine started in the configured role (sp_engine_start) */
	r->role = sp_engine_is_active(env->engine) ? SP_ROLE_ACTIVE : SP_ROLE_STANDBY;
	r->changed_wall = time(NULL);
	r->changed_ms = sp_loop_now_ms();
	r->cause = SP_ROLE_CHANGE_START;
	snprintf(r->reason, sizeof(r->reason), "%s", c->configured ? "configured role" : "no redundancy");
	r->codec = sp_sync_codec_new(sp_engine_sync_table(env->engine));
	r->config_timer = sp_loop_timer_new(env->loop, sp_red_config_timer_cb, r);
	if (!r->codec || !r->config_timer) {
		sp_error_set(e, "redundancy: out of memory");
		goto fail;
	}
	if (sp_config_store_subscribe(env->config, "redundancy", sp_red_config_cb, r) < 0) {
		sp_error_set(e, "redundancy: cannot subscribe to the configuration");
		goto fail;
	}
	if (sp_table_watch(sp_engine_sync_table(env->engine), sp_red_changed, r) < 0) {
		sp_error_set(e, "redundancy: cannot watch the table's changes");
		goto fail;
	}
	sp_red_channel_open(r);
	if (c->configured)
		sp_notice("redundancy: starting as %s", sp_role_name(r->role));
	return r;
fail:
	sp_loop_timer_free(r->config_timer);
	sp_sync_codec_free(r->codec);
	free(r);
	return NULL;
}

/* The configuration store keeps its subscriber: stop only when no commit
 * can follow (at shutdown). */
void sp_redundancy_stop(struct sp_redundancy_ctl *r)
{
	if (!r)
		return;
	sp_table_unwatch(sp_engine_sync_table(r->env.engine), sp_red_changed, r);
	sp_red_channel_close(r);
	sp_loop_timer_free(r->config_timer);
	sp_sync_codec_free(r->codec);
	free(r);
}

bool sp_redundancy_is_active(const struct sp_redundancy_ctl *r)
{
	return !r || r->role == SP_ROLE_ACTIVE;
}

enum sp_role sp_redundancy_role(const struct sp_redundancy_ctl *r)
{
	return r ? r->role : SP_ROLE_ACTIVE;
}

/* The table's change hook: an active SP tells its standby (a standby's
 * changes are the peer's, applied). */
static void sp_red_changed(void *arg, const struct sp_store_change *c)
{
	struct sp_redundancy_ctl *r = arg;

	if (r->sync && r->role == SP_ROLE_ACTIVE)
		sp_sync_mark(r->sync, c->kind == SP_STORE_BINDING ? SP_SYNC_BINDING : SP_SYNC_DIALOG,
			     c->id);
}

/* ---- operator commands ---- */

static bool sp_red_peer_up(const struct sp_redundancy_ctl *r)
{
	return r->sync && (r->peer_state == SP_SYNC_PEER_UP || r->peer_state == SP_SYNC_PEER_RESYNC);
}

int sp_redundancy_switchover_check(const struct sp_redundancy_ctl *r, struct sp_error *e)
{
	if (!r || !r->cfg.configured)
		return sp_error_set(e, "Redundancy is not configured");
	if (r->role == SP_ROLE_STANDBY) {
		struct sp_sync_stats st = { 0 };

		if (r->sync)
			sp_sync_get_stats(r->sync, &st);
		/* two actives would both send state: the handover starts on the active */
		if (sp_red_peer_up(r) && st.peer_sender)
			return sp_error_set(e, "The peer is connected and active: run redundancy force-switchover on it");
		return 0;
	}
	if (!r->sync)
		return sp_error_set(e, "No state sync with a peer (local-address, peer-address and authentication key needed): switchover refused");
	if (r->peer_state != SP_SYNC_PEER_UP)
		return sp_error_set(e, "The peer is %s: switchover refused",
				    r->peer_state == SP_SYNC_PEER_RESYNC ? "still being resynchronised" : "not connected");
	return 0;
}

int sp_redundancy_force_switchover(struct sp_redundancy_ctl *r, struct sp_error *e)
{
	int rc;

	if (sp_redundancy_switchover_check(r, e) < 0)
		return -1;
	if (r->role == SP_ROLE_STANDBY)
		return sp_redundancy_set_role(r, SP_ROLE_ACTIVE, SP_ROLE_CHANGE_SWITCHOVER,
					      sp_red_peer_up(r) ? "forced, the peer is standby too" :
					      "forced, peer not connected", e);
	rc = sp_sync_request_takeover(r->sync);
	if (rc < 0)
		return sp_error_set(e, "The peer is not connected: switchover refused (%s)", strerror(-rc));
	return sp_redundancy_set_role(r, SP_ROLE_STANDBY, SP_ROLE_CHANGE_SWITCHOVER,
				      "handed over to the peer", e);
}

int sp_vrrp_state_parse(const char *word, enum sp_vrrp_state *out)
{
	static const char *const names[] = { "master", "backup", "fault" };

	for (unsigned i = 0; i < 3; i++)
		if (word[0] && strncasecmp(word, names[i], strlen(word)) == 0) {
			*out = (enum sp_vrrp_state)i;
			return 0;
		}
	return -1;
}

int sp_redundancy_vrrp_notify(struct sp_redundancy_ctl *r, enum sp_vrrp_state state, struct sp_error *e)
{
	static const char *const why[] = { "notify master", "notify backup", "notify fault" };

	if (!r || !r->cfg.configured)
		return sp_error_set(e, "Redundancy is not configured");
	sp_info("redundancy: VRRP %s", why[state]);
	return sp_redundancy_set_role(r, state == SP_VRRP_MASTER ? SP_ROLE_ACTIVE : SP_ROLE_STANDBY,
				      SP_ROLE_CHANGE_VRRP, why[state], e);
}

/* ---- read by `show redundancy` (cli/sp_show) ---- */

void sp_redundancy_view(const struct sp_redundancy_ctl *r, struct sp_redundancy_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!r || !r->cfg.configured)
		return;
	v->configured = true;
	v->role = r->role;
	v->configured_role = r->cfg.role;
	v->changed_wall = r->changed_wall;
	v->changed_ms = r->changed_ms;
	v->cause = sp_role_cause_name(r->cause);
	v->reason = r->reason;
	v->role_changes = r->role_changes;
	v->local_address = r->cfg.local_address;
	v->local_port = r->cfg.local_port;
	v->peer_address = r->cfg.peer_address;
	v->peer_port = r->cfg.peer_port;
	v->has_sync = r->sync != NULL;
	v->peer_state = r->peer_state;
	v->no_sync_why = r->no_sync_why;
	v->peer_up = sp_red_peer_up(r);
	if (r->sync)
		sp_sync_get_stats(r->sync, &v->sync);
}

/* ---- the management layer's view ---- */

void sp_redundancy_get_status(struct sp_redundancy_ctl *r, struct sp_redundancy_status *out)
{
	struct sp_sync_stats st = { 0 };

	memset(out, 0, sizeof(*out));
	out->role = r->role;
	if (!r->sync) {
		out->peer = SP_RED_PEER_UNKNOWN;
		return;
	}
	sp_sync_get_stats(r->sync, &st);
	out->peer = sp_red_peer_up(r) ? SP_RED_PEER_CONNECTED :
		    r->peer_was_up ? SP_RED_PEER_LOST : SP_RED_PEER_UNKNOWN;
	out->last_seq_sent = (uint32_t)st.last_seq_sent;
	out->last_seq_acked = (uint32_t)st.last_seq_acked;
	out->msgs_sent = st.records_sent;
	out->msgs_received = st.records_received;
	out->resyncs = (uint32_t)st.resyncs;
	out->auth_failures = (uint32_t)st.auth_failures;
}
