/* The AgentX subagent's glue to Net-SNMP and to the daemon: start-up as a
 * subagent, Net-SNMP's fds and timers driven from the daemon's epoll loop,
 * one handler for the whole sigproxyObjects subtree (so every varbind of a
 * SET PDU reaches one transaction), notifications, and the configuration
 * subscriber that reports role changes. The MIB itself is
 * sp_agent_objects.c (the objects), sp_agent_get.c and sp_agent_set.c. */
#include "config.h"
#include "sp_agent.h"
#include "sp_agent_mib.h"
#include "sp_agent_objects.h"
#include "sp_daemon.h"
#include "sp_endpoint.h"
#include "sp_log.h"

#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#define SP_AGENT_APP "sigproxyd"
#define SP_AGENT_PING_S 5 /* notices an snmpd restart and reconnects within this */
#define SP_AGENT_FDS_MAX 16
/* At most one sigproxySessionLimitReached per this many seconds: at a high
 * call rate every refused INVITE would otherwise be a trap. */
#define SP_AGENT_LIMIT_TRAP_INTERVAL_MS 10000

struct sp_agent_fd {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct sp_agent {
	struct sp_daemon *d;
	struct sp_agent_mib mib;
	struct sp_loop_timer *snmp_timer; /* Net-SNMP's next alarm or retransmission */
	struct sp_loop_timer *role_timer; /* role-change check after a commit */
	struct sp_agent_fd fds[SP_AGENT_FDS_MAX];
	size_t n_fds;
	uint64_t snmp_deadline_ms; /* when snmp_timer fires; 0: disarmed */
	enum sp_role notified_role;
	/* session-limit notifications: the last one sent, refusals since */
	struct sp_loop_timer *limit_timer;
	uint64_t limit_sent_ms;
	bool limit_ever_sent;
	uint32_t limit_held; /* refusals not yet reported by a trap */
	bool limit_armed;
};

static const oid sp_agent_objects_oid[] = { SP_MIB_BASE, 1 };
static const oid sp_agent_snmptrap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

/* ---- Net-SNMP's fds and timers on the loop ---- */

static void sp_agent_sync_fds(struct sp_agent *a, bool quick);
static void sp_agent_watch(struct sp_agent *a, const struct sp_agent_fd *want, size_t n_want);
static void sp_agent_arm(struct sp_agent *a, uint64_t delay_ms, bool armed);
static void sp_agent_sync(struct sp_agent *a)
{
	sp_agent_sync_fds(a, false);
}

static void sp_agent_fd_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_agent *a = arg;
	netsnmp_large_fd_set set;

	(void)loop;
	(void)events;
	netsnmp_large_fd_set_init(&set, fd + 1);
	NETSNMP_LARGE_FD_SET(fd, &set);
	snmp_read2(&set);
	netsnmp_large_fd_set_cleanup(&set);
	netsnmp_check_outstanding_agent_requests();
	sp_agent_sync_fds(a, true);
}

static void sp_agent_timer_cb(struct sp_loop *loop, void *arg)
{
	struct sp_agent *a = arg;

	(void)loop;
	a->snmp_deadline_ms = 0; /* fired */
	snmp_timeout();
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	sp_agent_sync(a);
}

static bool sp_agent_fd_same(const struct sp_agent_fd *f, int fd, const struct stat *st)
{
	return f->fd == fd && f->dev == st->st_dev && f->ino == st->st_ino;
}

/* Net-SNMP opens and closes its sockets by itself (AgentX reconnects, the
 * internal callback pipes), so after every activity the loop's fds are made
 * to match snmp_select_info2(). An fd number is identified together with
 * its inode: a socket closed and reopened under the same number is a new
 * epoll registration (epoll dropped the old one when it was closed).
 *
 * quick (after an answered request, one per varbind of a walk): when the
 * fd numbers are those already watched, the fstat() of each is skipped.
 * Net-SNMP reopens the AgentX session from an alarm (the timer path, which
 * always checks in full), not while it reads a request. The timer is
 * re-armed only when Net-SNMP's next alarm moved. */
static void sp_agent_sync_fds(struct sp_agent *a, bool quick)
{
	netsnmp_large_fd_set set;
	struct timeval tv = { 0, 0 };
	int numfds = 0, block = 1;
	struct sp_agent_fd want[SP_AGENT_FDS_MAX];
	size_t n_want = 0;
	bool same = quick;

	netsnmp_large_fd_set_init(&set, FD_SETSIZE);
	snmp_select_info2(&numfds, &set, &tv, &block);
	if (same) {
		size_t k = 0;

		for (int fd = 0; fd < numfds && same; fd++)
			if (NETSNMP_LARGE_FD_ISSET(fd, &set))
				same = k < a->n_fds && a->fds[k++].fd == fd;
		same = same && k == a->n_fds;
	}
	for (int fd = 0; fd < numfds && !same; fd++) {
		struct stat st;

		if (!NETSNMP_LARGE_FD_ISSET(fd, &set) || fstat(fd, &st) < 0)
			continue;
		if (n_want == SP_AGENT_FDS_MAX) {
			sp_warn("snmp: more than %d agent sockets; ignoring fd %d", SP_AGENT_FDS_MAX, fd);
			continue;
		}
		want[n_want++] = (struct sp_agent_fd){ fd, st.st_dev, st.st_ino };
	}
	netsnmp_large_fd_set_cleanup(&set);
	if (!same)
		sp_agent_watch(a, want, n_want);
	sp_agent_arm(a, block ? 0 : (uint64_t)tv.tv_sec * 1000 + (uint64_t)(tv.tv_usec + 999) / 1000, !block);
}

/* Makes the loop watch exactly the fds of want. */
static void sp_agent_watch(struct sp_agent *a, const struct sp_agent_fd *want, size_t n_want)
{
	for (size_t i = 0; i < a->n_fds; i++) {
		bool keep = false;

		for (size_t j = 0; j < n_want; j++) {
			struct stat st = { .st_dev = want[j].dev, .st_ino = want[j].ino };

			if (sp_agent_fd_same(&a->fds[i], want[j].fd, &st))
				keep = true;
		}
		if (!keep)
			sp_loop_del_fd(a->d->loop, a->fds[i].fd);
	}
	for (size_t j = 0; j < n_want; j++) {
		bool have = false;

		for (size_t i = 0; i < a->n_fds; i++) {
			struct stat st = { .st_dev = want[j].dev, .st_ino = want[j].ino };

			if (sp_agent_fd_same(&a->fds[i], want[j].fd, &st))
				have = true;
		}
		if (!have) {
			/* a stale registration of a reused number may remain */
			sp_loop_del_fd(a->d->loop, want[j].fd);
			if (sp_loop_add_fd(a->d->loop, want[j].fd, EPOLLIN, sp_agent_fd_cb, a) < 0)
				sp_warn("snmp: cannot watch fd %d", want[j].fd);
		}
	}
	memcpy(a->fds, want, n_want * sizeof(want[0]));
	a->n_fds = n_want;
}

/* Net-SNMP's next alarm or retransmission in delay_ms (none: !armed). A
 * deadline within a few ms of the armed one is left as it is: the timer
 * callback checks what is due and re-arms. */
static void sp_agent_arm(struct sp_agent *a, uint64_t delay_ms, bool armed)
{
	uint64_t deadline;

	if (!armed) {
		if (a->snmp_deadline_ms)
			sp_loop_timer_disarm(a->snmp_timer);
		a->snmp_deadline_ms = 0;
		return;
	}
	deadline = sp_loop_now_ms() + delay_ms;
	if (a->snmp_deadline_ms && deadline + 5 >= a->snmp_deadline_ms && deadline <= a->snmp_deadline_ms + 5)
		return;
	if (sp_loop_timer_arm(a->snmp_timer, delay_ms) == 0)
		a->snmp_deadline_ms = deadline;
}

/* ---- the handler ---- */

static void sp_agent_set_value(netsnmp_variable_list *vb, const struct sp_agent_value *v)
{
	switch (v->type) {
	case ASN_INTEGER:
		snmp_set_var_typed_value(vb, v->type, &v->integer, sizeof(v->integer));
		break;
	case ASN_OCTET_STR:
		snmp_set_var_typed_value(vb, v->type, v->str, v->len);
		break;
	case ASN_COUNTER64:
		snmp_set_var_typed_value(vb, v->type, &v->c64, sizeof(v->c64));
		break;
	default:
		snmp_set_var_typed_value(vb, v->type, &v->uns, sizeof(v->uns));
		break;
	}
}

/* The varbinds of this call, in PDU order. */
static netsnmp_variable_list **sp_agent_vbs(netsnmp_request_info *requests, size_t *n)
{
	netsnmp_variable_list **vbs;
	size_t count = 0;

	for (netsnmp_request_info *r = requests; r; r = r->next)
		count++;
	vbs = calloc(count ? count : 1, sizeof(*vbs));
	*n = 0;
	if (!vbs)
		return NULL;
	for (netsnmp_request_info *r = requests; r; r = r->next)
		vbs[(*n)++] = r->requestvb;
	return vbs;
}

static netsnmp_request_info *sp_agent_request_at(netsnmp_request_info *requests, size_t i)
{
	while (requests && i--)
		requests = requests->next;
	return requests;
}

/* The SNMP context a SET came in, printable, for its audit line at commit
 * (one SET at a time: RESERVE1 to COMMIT or FREE). */
static void sp_agent_note_context(struct sp_agent_mib *m, const netsnmp_agent_request_info *reqinfo)
{
	const netsnmp_pdu *pdu = reqinfo->asp ? reqinfo->asp->pdu : NULL;
	size_t n = pdu && pdu->contextName ? pdu->contextNameLen : 0;

	if (n >= sizeof(m->set_context))
		n = sizeof(m->set_context) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pdu->contextName[i];

		m->set_context[i] = c < 0x20 || c >= 0x7f || c == '"' ? '?' : (char)c;
	}
	m->set_context[n] = '\0';
}

static int sp_agent_handle_set(struct sp_agent *a, netsnmp_agent_request_info *reqinfo,
			       netsnmp_request_info *requests)
{
	struct sp_error e = { { 0 } };
	netsnmp_variable_list **vbs;
	size_t n, bad = 0;
	int rc;

	switch (reqinfo->mode) {
	case MODE_SET_RESERVE1:
		/* only AgentX's TestSet carries the context (CommitSet does not) */
		sp_agent_note_context(&a->mib, reqinfo);
		for (netsnmp_request_info *r = requests; r; r = r->next) {
			rc = sp_agent_mib_set_check(&a->mib, r->requestvb);
			if (rc != SNMP_ERR_NOERROR) {
				netsnmp_set_request_error(reqinfo, r, rc);
				break;
			}
		}
		return SNMP_ERR_NOERROR;
	case MODE_SET_RESERVE2:
	case MODE_SET_ACTION:
		vbs = sp_agent_vbs(requests, &n);
		if (!vbs) {
			netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_RESOURCEUNAVAILABLE);
			return SNMP_ERR_NOERROR;
		}
		if (reqinfo->mode == MODE_SET_RESERVE2)
			rc = sp_agent_mib_set_prepare(&a->mib, vbs, n, &bad, &e);
		else
			rc = sp_agent_mib_set_commit(&a->mib, vbs, n, &e);
		free(vbs);
		if (rc != SNMP_ERR_NOERROR) {
			char esc[SP_LOG_ESCAPED_MAX]; /* the message may quote the value set */

			sp_info("snmp: SET refused: %s",
				sp_log_escape(e.msg[0] ? e.msg : snmp_errstring(rc), esc, sizeof(esc)));
			netsnmp_set_request_error(reqinfo, sp_agent_request_at(requests, bad), rc);
		}
		return SNMP_ERR_NOERROR;
	case MODE_SET_UNDO:
		rc = sp_agent_mib_set_undo(&a->mib, &e);
		if (rc != SNMP_ERR_NOERROR) {
			sp_err("snmp: SET undo failed: %s", e.msg);
			netsnmp_set_request_error(reqinfo, requests, rc);
		}
		sp_agent_mib_set_finish(&a->mib);
		return SNMP_ERR_NOERROR;
	case MODE_SET_COMMIT:
		sp_agent_mib_set_complete(&a->mib);
		sp_agent_mib_set_finish(&a->mib);
		return SNMP_ERR_NOERROR;
	case MODE_SET_FREE:
		sp_agent_mib_set_finish(&a->mib);
		return SNMP_ERR_NOERROR;
	}
	return SNMP_ERR_GENERR;
}

static int sp_agent_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
			    netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct sp_agent *a = handler->myvoid;
	struct sp_agent_value v;
	oid next[SP_MIB_OID_MAX];
	size_t next_len;

	(void)reginfo;
	switch (reqinfo->mode) {
	case MODE_GET:
		for (netsnmp_request_info *r = requests; r; r = r->next) {
			int rc;

			if (r->processed)
				continue;
			rc = sp_agent_mib_get(&a->mib, r->requestvb->name, r->requestvb->name_length, &v);
			if (rc == SNMP_ERR_NOERROR)
				sp_agent_set_value(r->requestvb, &v);
			else
				netsnmp_set_request_error(reqinfo, r, rc);
		}
		return SNMP_ERR_NOERROR;
	case MODE_GETNEXT:
		for (netsnmp_request_info *r = requests; r; r = r->next) {
			if (r->processed)
				continue;
			/* nothing after it here: left alone, the agent moves on */
			if (sp_agent_mib_next(&a->mib, r->requestvb->name, r->requestvb->name_length,
					      next, &next_len, &v)) {
				snmp_set_var_objid(r->requestvb, next, next_len);
				sp_agent_set_value(r->requestvb, &v);
			}
		}
		return SNMP_ERR_NOERROR;
	default:
		return sp_agent_handle_set(a, reqinfo, requests);
	}
}

/* ---- notifications ---- */

static void sp_agent_add_object(struct sp_agent *a, netsnmp_variable_list **vars, oid group, oid sub)
{
	oid name[] = { SP_MIB_BASE, 1, group, sub, 0 };
	struct sp_agent_value v;

	if (sp_agent_mib_get(&a->mib, name, OID_LENGTH(name), &v) != SNMP_ERR_NOERROR)
		return;
	switch (v.type) {
	case ASN_INTEGER:
		snmp_varlist_add_variable(vars, name, OID_LENGTH(name), v.type, &v.integer, sizeof(v.integer));
		break;
	case ASN_OCTET_STR:
		snmp_varlist_add_variable(vars, name, OID_LENGTH(name), v.type, v.str, v.len);
		break;
	case ASN_COUNTER64:
		snmp_varlist_add_variable(vars, name, OID_LENGTH(name), v.type, &v.c64, sizeof(v.c64));
		break;
	default:
		snmp_varlist_add_variable(vars, name, OID_LENGTH(name), v.type, &v.uns, sizeof(v.uns));
		break;
	}
}

static netsnmp_variable_list *sp_agent_trap_start(oid which)
{
	oid trap[] = { SP_MIB_BASE, 0, which };
	netsnmp_variable_list *vars = NULL;

	snmp_varlist_add_variable(&vars, sp_agent_snmptrap_oid, OID_LENGTH(sp_agent_snmptrap_oid),
				  ASN_OBJECT_ID, trap, sizeof(trap));
	return vars;
}

static void sp_agent_trap_send(struct sp_agent *a, netsnmp_variable_list *vars, const char *what)
{
	if (!vars)
		return;
	sp_info("snmp: sending %s", what);
	send_v2trap(vars);
	snmp_free_varbind(vars);
	sp_agent_sync(a);
}

static void sp_agent_role_trap(struct sp_agent *a, enum sp_role role, enum sp_agent_role_cause cause)
{
	oid role_oid[] = { SP_MIB_BASE, 1, 8, 2, 0 };
	oid cause_oid[] = { SP_MIB_BASE, 1, 9, 3, 0 };
	long role_v = role == SP_ROLE_STANDBY ? SP_ROLE_V_STANDBY : SP_ROLE_V_ACTIVE;
	long cause_v = cause;
	netsnmp_variable_list *vars = sp_agent_trap_start(1);

	snmp_varlist_add_variable(&vars, role_oid, OID_LENGTH(role_oid), ASN_INTEGER, &role_v,
				  sizeof(role_v));
	snmp_varlist_add_variable(&vars, cause_oid, OID_LENGTH(cause_oid), ASN_INTEGER, &cause_v,
				  sizeof(cause_v));
	sp_agent_trap_send(a, vars, "sigproxyRoleChange");
}

void sp_agent_notify_role_change(struct sp_agent *a, enum sp_role role,
				 enum sp_agent_role_cause cause)
{
	if (a)
		sp_agent_role_trap(a, role, cause);
}

static void sp_agent_peer_trap(struct sp_agent *a, oid which, const char *name)
{
	netsnmp_variable_list *vars = sp_agent_trap_start(which);

	sp_agent_add_object(a, &vars, 8, 7);
	sp_agent_add_object(a, &vars, 8, 8);
	sp_agent_add_object(a, &vars, 8, 9);
	sp_agent_add_object(a, &vars, 8, 2);
	sp_agent_trap_send(a, vars, name);
}

/* sigproxyMediaProxyDown (7) / Up (8): the media proxy's state and reason,
 * the instance naming it. */
void sp_agent_notify_media_proxy(struct sp_agent *a, const char *name, bool up)
{
	netsnmp_variable_list *vars;
	static const int cols[] = { SP_MP_INSTALL_STATE, SP_MP_INSTALL_REASON };

	if (!a || !name)
		return;
	vars = sp_agent_trap_start(up ? 8 : 7);
	for (size_t i = 0; i < 2; i++) {
		static const oid col_base[] = { SP_MIB_MP_COLUMN_OID(0) };
		oid o[OID_LENGTH(col_base) + 1 + SP_NAME_MAX] = { SP_MIB_MP_COLUMN_OID((oid)cols[i]) };
		size_t n = OID_LENGTH(col_base) + sp_mib_name_index(name, o + OID_LENGTH(col_base));
		struct sp_agent_value v;

		if (sp_agent_mib_get(&a->mib, o, n, &v) != SNMP_ERR_NOERROR)
			continue;
		if (v.type == ASN_INTEGER)
			snmp_varlist_add_variable(&vars, o, n, v.type, &v.integer, sizeof(v.integer));
		else
			snmp_varlist_add_variable(&vars, o, n, v.type, v.str, v.len);
	}
	sp_agent_trap_send(a, vars, up ? "sigproxyMediaProxyUp" : "sigproxyMediaProxyDown");
}

void sp_agent_notify_peer_lost(struct sp_agent *a)
{
	if (a)
		sp_agent_peer_trap(a, 2, "sigproxyPeerLost");
}

void sp_agent_notify_peer_regained(struct sp_agent *a)
{
	if (a)
		sp_agent_peer_trap(a, 3, "sigproxyPeerRegained");
}

/* The varbinds are read when the trap leaves, from the loop, after the
 * engine has counted the refusal that called for it; a trap sent at the end
 * of a hold-down carries the counter with every refusal held back. */
static void sp_agent_limit_trap(struct sp_agent *a)
{
	netsnmp_variable_list *vars = sp_agent_trap_start(4);

	sp_agent_add_object(a, &vars, 7, 8); /* sigproxyStatsCurrentSessions */
	sp_agent_add_object(a, &vars, 1, 13); /* sigproxySessionLimit */
	sp_agent_add_object(a, &vars, 7, 7); /* sigproxyStatsSessionLimitDrops */
	a->limit_sent_ms = sp_loop_now_ms();
	a->limit_ever_sent = true;
	a->limit_held = 0;
	sp_agent_trap_send(a, vars, "sigproxySessionLimitReached");
}

static void sp_agent_limit_timer_cb(struct sp_loop *loop, void *arg)
{
	struct sp_agent *a = arg;

	(void)loop;
	a->limit_armed = false;
	if (a->limit_held)
		sp_agent_limit_trap(a);
}

void sp_agent_notify_session_limit_reached(struct sp_agent *a, uint32_t current)
{
	uint64_t since;

	(void)current; /* read from the engine when the trap leaves */
	if (!a)
		return;
	a->limit_held++;
	if (a->limit_armed)
		return; /* the trap to come reports this refusal too */
	since = sp_loop_now_ms() - a->limit_sent_ms;
	/* the first at once (from the loop), later ones at the end of the
	 * interval after the last trap */
	a->limit_armed = sp_loop_timer_arm(a->limit_timer,
		!a->limit_ever_sent || since >= SP_AGENT_LIMIT_TRAP_INTERVAL_MS ? 0 :
		SP_AGENT_LIMIT_TRAP_INTERVAL_MS - since) == 0;
}

void sp_agent_notify_kernel_failure(struct sp_agent *a, const char *what)
{
	netsnmp_variable_list *vars;

	if (!a)
		return;
	snprintf(a->mib.last_kernel_error, sizeof(a->mib.last_kernel_error), "%s", what);
	a->mib.last_kernel_error_time = netsnmp_get_agent_uptime();
	vars = sp_agent_trap_start(5);
	sp_agent_add_object(a, &vars, 9, 1);
	sp_agent_trap_send(a, vars, "sigproxyKernelProgrammingFailure");
}

void sp_agent_note_statistics_cleared(struct sp_agent *a)
{
	if (a)
		a->mib.stats_discontinuity_time = netsnmp_get_agent_uptime();
}

void sp_agent_notify_source_limited(struct sp_agent *a, const struct sp_endpoint *src, uint32_t vpn)
{
	oid type_oid[] = { SP_MIB_BASE, 1, 9, 4, 0 };
	oid addr_oid[] = { SP_MIB_BASE, 1, 9, 5, 0 };
	long type = src->family == AF_INET6 ? SP_INET_IPV6 : SP_INET_IPV4;
	netsnmp_variable_list *vars;

	(void)vpn; /* the log line names it; the MIB's source is the address */
	if (!a)
		return;
	vars = sp_agent_trap_start(6);
	snmp_varlist_add_variable(&vars, type_oid, OID_LENGTH(type_oid), ASN_INTEGER, &type,
				  sizeof(type));
	snmp_varlist_add_variable(&vars, addr_oid, OID_LENGTH(addr_oid), ASN_OCTET_STR,
				  src->addr.bytes, src->family == AF_INET6 ? 16 : 4);
	sp_agent_add_object(a, &vars, 7, 15); /* sigproxyStatsSourceRateDrops */
	sp_agent_add_object(a, &vars, 7, 16); /* sigproxyStatsSourceNewBindingDrops */
	sp_agent_add_object(a, &vars, 7, 17); /* sigproxyStatsSourceBindingRefusals */
	sp_agent_trap_send(a, vars, "sigproxySourceLimited");
}

/* ---- configuration subscriber: the configured role ---- */

/* Subscribers are told before the commit is final (a later one may refuse
 * it), so the check runs from the loop just after, against what runs then. */
static int sp_agent_config_cb(void *arg, const struct sp_config *old_cfg,
			      const struct sp_config *new_cfg, const struct sp_config_diff *diff,
			      struct sp_error *e)
{
	struct sp_agent *a = arg;

	(void)diff;
	(void)e;
	if (old_cfg->redundancy.role != new_cfg->redundancy.role)
		sp_loop_timer_arm(a->role_timer, 0);
	return 0;
}

static void sp_agent_role_timer_cb(struct sp_loop *loop, void *arg)
{
	struct sp_agent *a = arg;
	enum sp_role role = sp_config_store_current(a->d->config)->redundancy.role;

	(void)loop;
	if (role == a->notified_role)
		return;
	a->notified_role = role;
	sp_notice("snmp: configured redundancy role is now %s", sp_role_name(role));
	sp_agent_role_trap(a, role, SP_ROLE_CAUSE_CONFIGURATION);
}

/* ---- start and stop ---- */

static int sp_agent_log_cb(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *m = serverarg;
	size_t n = m->msg ? strlen(m->msg) : 0;

	(void)major;
	(void)minor;
	(void)clientarg;
	while (n && m->msg[n - 1] == '\n')
		n--;
	if (n)
		sp_log(m->priority > LOG_NOTICE ? m->priority : LOG_NOTICE, "snmp: %.*s", (int)n, m->msg);
	return 0;
}

void sp_agent_set_hooks(struct sp_agent *a, const struct sp_agent_hooks *hooks, void *arg)
{
	if (!a)
		return;
	if (hooks)
		a->mib.hooks = *hooks;
	else
		memset(&a->mib.hooks, 0, sizeof(a->mib.hooks));
	a->mib.hooks_arg = arg;
	a->mib.redundancy_arg = arg;
}

void sp_agent_attach_redundancy(struct sp_agent *a,
				void (*status)(void *arg, struct sp_agent_redundancy_status *out),
				int (*switchover)(void *arg, struct sp_error *e),
				int (*switchover_check)(void *arg, struct sp_error *e), void *arg)
{
	if (!a)
		return;
	a->mib.hooks.redundancy = status;
	a->mib.hooks.switchover = switchover;
	a->mib.hooks.switchover_check = switchover_check;
	a->mib.redundancy_arg = arg;
}

/* SIGPROXY-MIB in the default context (NULL) or in a named one. */
static int sp_agent_register(struct sp_agent *a, const char *context, struct sp_error *e)
{
	netsnmp_handler_registration *reg;

	reg = netsnmp_create_handler_registration("sigproxy", sp_agent_handler, sp_agent_objects_oid,
						  OID_LENGTH(sp_agent_objects_oid), HANDLER_CAN_RWRITE);
	if (reg && context && !(reg->contextName = strdup(context))) {
		netsnmp_handler_registration_free(reg);
		reg = NULL;
	}
	if (!reg) {
		sp_error_set(e, "snmp: cannot create the MIB handler");
		return -1;
	}
	reg->handler->myvoid = a;
	if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK) {
		sp_error_set(e, "snmp: cannot register SIGPROXY-MIB%s%s", context ? " in context " : "",
			     context ? context : "");
		return -1;
	}
	return 0;
}

struct sp_agent *sp_agent_start(struct sp_daemon *d, struct sp_error *e)
{
	const char *sock = d->opt.agentx_socket;
	struct sp_agent *a;

	sp_error_clear(e);
	if (sock && strcmp(sock, "none") == 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		sp_error_set(e, "snmp: out of memory");
		return NULL;
	}
	a->d = d;
	sp_agent_mib_init(&a->mib, d->config);
	a->mib.status = d->status;
	a->notified_role = sp_config_store_current(d->config)->redundancy.role;
	a->snmp_timer = sp_loop_timer_new(d->loop, sp_agent_timer_cb, a);
	a->role_timer = sp_loop_timer_new(d->loop, sp_agent_role_timer_cb, a);
	a->limit_timer = sp_loop_timer_new(d->loop, sp_agent_limit_timer_cb, a);
	if (!a->snmp_timer || !a->role_timer || !a->limit_timer) {
		sp_loop_timer_free(a->snmp_timer);
		sp_loop_timer_free(a->role_timer);
		sp_loop_timer_free(a->limit_timer);
		free(a);
		sp_error_set(e, "snmp: cannot set up the agent");
		return NULL;
	}

	/* Net-SNMP's own messages go to our log, not to its stderr default. */
	snmp_disable_log();
	snmp_enable_calllog();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, sp_agent_log_cb, NULL);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	/* no SIGALRM: the loop runs Net-SNMP's alarms from its own timer */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* no snmp.conf, no persistent files: the daemon's config is the only one */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   SP_AGENT_PING_S);
	if (sock)
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, sock);
	/* a subagent needs no MIB files; without this Net-SNMP parses (and
	 * complains about) every module it finds at start-up */
	setenv("MIBS", "", 1);
	if (init_agent(SP_AGENT_APP) != 0) {
		sp_error_set(e, "snmp: cannot initialise the AgentX subagent");
		goto fail;
	}
	for (size_t i = 0; i <= d->opt.n_agentx_contexts; i++)
		if (sp_agent_register(a, i ? d->opt.agentx_contexts[i - 1] : NULL, e) < 0)
			goto fail;
	init_snmp(SP_AGENT_APP);
	/* again: reading the (empty) configuration resets it to the default 15 s */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   SP_AGENT_PING_S);
	/* last: the store has no way to unsubscribe (see sp_agent_stop) */
	if (sp_config_store_subscribe(d->config, "snmp", sp_agent_config_cb, a) < 0) {
		sp_error_set(e, "snmp: cannot subscribe to configuration changes");
		goto fail;
	}
	sp_agent_sync(a);
	sp_notice("snmp: AgentX subagent started (master %s)", sock ? sock : "Net-SNMP's default");
	return a;
fail:
	sp_agent_stop(a);
	return NULL;
}

/* The configuration store keeps the subscriber: stop only when no commit
 * can follow (at shutdown, just before the store is freed). */
void sp_agent_stop(struct sp_agent *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_fds; i++)
		sp_loop_del_fd(a->d->loop, a->fds[i].fd);
	a->n_fds = 0;
	snmp_shutdown(SP_AGENT_APP);
	sp_loop_timer_free(a->snmp_timer);
	sp_loop_timer_free(a->role_timer);
	sp_loop_timer_free(a->limit_timer);
	sp_agent_mib_cleanup(&a->mib);
	free(a);
}
