/* SIGPROXY-MIB reads: the objects' values, the sorted views of the configuration
 * tables, GET and GETNEXT (the object layout is sp_agent_objects.c). */
#include "config.h"
#include "sp_agent_mib.h"
#include "sp_agent_objects.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- values ---- */

static void sp_val_int(struct sp_agent_value *v, long x)
{
	v->type = ASN_INTEGER;
	v->integer = x;
}

static void sp_val_str(struct sp_agent_value *v, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(v->str))
		n = sizeof(v->str);

	v->type = ASN_OCTET_STR;
	memcpy(v->str, s, n);
	v->len = n;
}

void sp_agent_mib_addr_value(const struct sp_addr *a, struct sp_agent_value *type,
			     struct sp_agent_value *addr)
{
	addr->type = ASN_OCTET_STR;
	addr->len = 0;
	if (a->family == AF_INET) {
		memcpy(addr->str, &a->u.v4, 4);
		addr->len = 4;
	} else if (a->family == AF_INET6) {
		memcpy(addr->str, &a->u.v6, 16);
		addr->len = 16;
	}
	sp_val_int(type, addr->len == 4 ? SP_INET_IPV4 : addr->len == 16 ? SP_INET_IPV6 : 0);
}

static void sp_val_addr_type(struct sp_agent_value *v, const struct sp_addr *a)
{
	struct sp_agent_value ignored;

	sp_agent_mib_addr_value(a, v, &ignored);
}

static void sp_val_addr(struct sp_agent_value *v, const struct sp_addr *a)
{
	struct sp_agent_value ignored;

	sp_agent_mib_addr_value(a, &ignored, v);
}

/* The IPv6 view of an address (SigproxyInet6Address): its 16 octets when
 * it is IPv6, all zeros otherwise (a display hint cannot depend on the
 * companion type, so the pair's own column shows IPv6 as octets). */
static void sp_val_addr6(struct sp_agent_value *v, const struct sp_addr *a)
{
	v->type = ASN_OCTET_STR;
	v->len = 16;
	memset(v->str, 0, 16);
	if (a && a->family == AF_INET6)
		memcpy(v->str, &a->u.v6, 16);
}

/* Match prefixes: "not matched" reads as unknown(0), '' and length 0. */
static void sp_val_prefix(struct sp_agent_value *v, int part, bool set, const struct sp_prefix *p)
{
	static const struct sp_addr unset;
	const struct sp_addr *a = set ? &p->addr : &unset;

	if (part == 0)
		sp_val_addr_type(v, a);
	else if (part == 1)
		sp_val_addr(v, a);
	else
		sp_val_uns(v, ASN_UNSIGNED, set ? p->len : 0);
}

static void sp_val_range(struct sp_agent_value *v, bool hi, bool set, const struct sp_port_range *r)
{
	sp_val_uns(v, ASN_UNSIGNED, !set ? 0 : hi ? r->hi : r->lo);
}

/* ---- the role now: the redundancy module's when it reports one ---- */

static void sp_mib_redundancy_status(struct sp_agent_mib *m, struct sp_agent_redundancy_status *st)
{
	memset(st, 0, sizeof(*st));
	st->role = sp_config_store_current(m->store)->redundancy.role;
	st->peer_state = SP_PEER_UNKNOWN;
	if (m->hooks.redundancy)
		m->hooks.redundancy(m->redundancy_arg, st);
}

enum sp_role sp_agent_mib_role_now(struct sp_agent_mib *m)
{
	struct sp_agent_redundancy_status st;

	sp_mib_redundancy_status(m, &st);
	return st.role;
}

/* ---- scalars ---- */

/* sigproxyServerSideAddr: the IPv4 C, or the IPv6 one when it is the only
 * one. */
static const struct sp_addr *sp_mib_ssa(const struct sp_sp_settings *sp)
{
	return sp_addr_is_set(&sp->server_side_address) || !sp_addr_is_set(&sp->server_side_address6)
		       ? &sp->server_side_address : &sp->server_side_address6;
}

/* sigproxyConfig: the running configuration. */
static void sp_mib_config_value(struct sp_agent_mib *m, int id, struct sp_agent_value *v)
{
	const struct sp_config *c = sp_config_store_current(m->store);
	const struct sp_sp_settings *sp = &c->sp;

	switch (id) {
	case SP_S_HOSTNAME: sp_val_str(v, c->hostname); break;
	case SP_S_SSA_TYPE: sp_val_addr_type(v, sp_mib_ssa(sp)); break;
	case SP_S_SSA: sp_val_addr(v, sp_mib_ssa(sp)); break;
	case SP_S_SSA6: sp_val_addr6(v, &sp->server_side_address6); break; /* :: for none */
	case SP_S_LVA6: sp_val_addr6(v, &sp->local_virtual_address); break;
	case SP_S_RGW6: sp_val_addr6(v, &sp->return_gateway); break;
	case SP_S_DEFAULT_ACTION:
		sp_val_int(v, sp->default_action == SP_ACTION_DROP ? SP_DEFACT_DROP : SP_DEFACT_FORWARD);
		break;
	case SP_S_LVA_TYPE: sp_val_addr_type(v, &sp->local_virtual_address); break;
	case SP_S_LVA: sp_val_addr(v, &sp->local_virtual_address); break;
	case SP_S_RETURN_PATH:
		sp_val_int(v, sp->return_path == SP_RETURN_DEFAULT_GATEWAY ? SP_RP_GATEWAY : SP_RP_LEARN);
		break;
	case SP_S_RGW_TYPE: sp_val_addr_type(v, &sp->return_gateway); break;
	case SP_S_RGW: sp_val_addr(v, &sp->return_gateway); break;
	case SP_S_MEDIA:
		sp_val_int(v, sp->media == SP_MEDIA_OFF ? SP_MEDIA_V_OFF :
			      sp->media == SP_MEDIA_PROXY ? SP_MEDIA_V_PROXY : SP_MEDIA_V_KERNEL);
		break;
	case SP_S_MEDIA_LOW: sp_val_uns(v, ASN_UNSIGNED, sp->media_port_min); break;
	case SP_S_MEDIA_HIGH: sp_val_uns(v, ASN_UNSIGNED, sp->media_port_max); break;
	case SP_S_SESSION_LIMIT: sp_val_uns(v, ASN_UNSIGNED, sp->session_limit); break;
	case SP_S_SOURCE_RATE: sp_val_uns(v, ASN_UNSIGNED, sp->source_rate); break;
	case SP_S_SOURCE_NEW_BINDINGS: sp_val_uns(v, ASN_UNSIGNED, sp->source_new_bindings); break;
	case SP_S_SOURCE_BINDINGS: sp_val_uns(v, ASN_UNSIGNED, sp->source_bindings); break;
	case SP_S_MESSAGE_SIZE_LIMIT: sp_val_uns(v, ASN_UNSIGNED, sp->message_size_limit); break;
	case SP_S_CLI_LOGIN_TIMEOUT: sp_val_uns(v, ASN_UNSIGNED, c->cli.login_timeout); break;
	case SP_S_CLI_EXEC_TIMEOUT: sp_val_uns(v, ASN_UNSIGNED, c->cli.exec_timeout); break;
	}
}

/* sigproxyRedundancy (configuration and the channel's status) and
 * sigproxyStatus. */
static void sp_mib_redundancy_value(struct sp_agent_mib *m, int id, struct sp_agent_value *v)
{
	const struct sp_redundancy *r = &sp_config_store_current(m->store)->redundancy;
	struct sp_agent_redundancy_status rs;

	if (id >= SP_S_RED_CONFIGURED && id <= SP_S_RED_AUTH_KEY)
		sp_mib_redundancy_status(m, &rs);
	switch (id) {
	case SP_S_RED_CONFIGURED: sp_val_int(v, r->configured ? 1 : 2); break;
	case SP_S_RED_ROLE: sp_val_int(v, rs.role == SP_ROLE_STANDBY ? SP_ROLE_V_STANDBY : SP_ROLE_V_ACTIVE); break;
	case SP_S_RED_CONF_ROLE:
		sp_val_int(v, r->role == SP_ROLE_STANDBY ? SP_ROLE_V_STANDBY : SP_ROLE_V_ACTIVE);
		break;
	case SP_S_RED_LOCAL_TYPE: sp_val_addr_type(v, &r->local_address); break;
	case SP_S_RED_LOCAL_ADDR: sp_val_addr(v, &r->local_address); break;
	case SP_S_RED_LOCAL_PORT: sp_val_uns(v, ASN_UNSIGNED, r->local_port); break;
	case SP_S_RED_PEER_TYPE: sp_val_addr_type(v, &r->peer_address); break;
	case SP_S_RED_PEER_ADDR: sp_val_addr(v, &r->peer_address); break;
	case SP_S_RED_LOCAL_ADDR6: sp_val_addr6(v, &r->local_address); break;
	case SP_S_RED_PEER_ADDR6: sp_val_addr6(v, &r->peer_address); break;
	case SP_S_RED_PEER_PORT: sp_val_uns(v, ASN_UNSIGNED, r->peer_port); break;
	case SP_S_RED_PEER_STATE: sp_val_int(v, rs.peer_state); break;
	case SP_S_RED_SEQ_SENT: sp_val_uns(v, ASN_UNSIGNED, rs.last_seq_sent); break;
	case SP_S_RED_SEQ_ACKED: sp_val_uns(v, ASN_UNSIGNED, rs.last_seq_acked); break;
	case SP_S_RED_MSGS_SENT: sp_val_c64(v, rs.msgs_sent); break;
	case SP_S_RED_MSGS_RECEIVED: sp_val_c64(v, rs.msgs_received); break;
	case SP_S_RED_RESYNCS: sp_val_uns(v, ASN_COUNTER, rs.resyncs); break;
	case SP_S_RED_AUTH_FAILURES: sp_val_uns(v, ASN_COUNTER, rs.auth_failures); break;
	case SP_S_RED_SWITCHOVER: sp_val_int(v, SP_SWITCHOVER_NOOP); break;
	case SP_S_RED_AUTH_KEY: sp_val_str(v, ""); break; /* a secret: never read back */
	case SP_S_LAST_KERNEL_ERROR: sp_val_str(v, m->last_kernel_error); break;
	case SP_S_LAST_KERNEL_ERROR_TIME: sp_val_uns(v, ASN_TIMETICKS, m->last_kernel_error_time); break;
	}
}

static void sp_mib_scalar_value(struct sp_agent_mib *m, int id, struct sp_agent_value *v)
{
	if (id < SP_S_STATS_RECEIVED)
		sp_mib_config_value(m, id, v);
	else if (id < SP_S_RED_CONFIGURED)
		sp_mib_stats_value(m, id, v); /* sp_agent_get_stats.c */
	else
		sp_mib_redundancy_value(m, id, v);
}

/* ---- configuration table rows ---- */

bool sp_mib_strategy_ready(const struct sp_strategy *s)
{
	return !(s->action == SP_ACTION_PROXY && !sp_addr_is_set(&s->server));
}

const char *sp_mib_strategy_reason(const struct sp_strategy *s, bool active)
{
	if (s->action == SP_ACTION_PROXY && !sp_addr_is_set(&s->server))
		return "action proxy needs a server";
	if (s->action == SP_ACTION_UNSET)
		return "no action configured";
	if (!active || s->shutdown)
		return "not in service";
	return "";
}

const char *sp_mib_policy_route_reason(const struct sp_policy_route *r, bool active)
{
	if (!sp_addr_is_set(&r->next_hop) && !r->table)
		return "no set next-hop or set table";
	if (!active || r->shutdown)
		return "not in service";
	return "";
}

/* Why a row is not installed ("" when it is): what its installer recorded in
 * the daemon's status store (the CLI shows the same), else what the
 * configuration alone says (a row waiting in the agent, no daemon). */
static const char *sp_mib_install_reason(const struct sp_agent_mib *m, enum sp_status_kind kind,
					 const char *name, uint32_t seq, bool active,
					 const char *from_config)
{
	const struct sp_status_item *it =
		active ? sp_status_get(m->status, kind, name, seq) : NULL;

	if (!it || from_config[0])
		return from_config;
	return it->installed ? "" : it->reason[0] ? it->reason : "not installed";
}

/* installed(1) when the reason is empty, or the reason */
static void sp_val_install(struct sp_agent_value *v, bool state_col, const char *reason)
{
	if (state_col)
		sp_val_int(v, reason[0] ? SP_INSTALL_NOT : SP_INSTALL_OK);
	else
		sp_val_str(v, reason);
}

static void sp_mib_strategy_value(struct sp_agent_mib *m, const struct sp_mib_row *row, int col,
				  struct sp_agent_value *v)
{
	const struct sp_strategy *s = row->item;

	switch (col) {
	case SP_ST_VPN: sp_val_uns(v, ASN_UNSIGNED, s->match & SP_MATCH_VPN ? s->vpn_id : 0); break;
	case SP_ST_VLAN: sp_val_uns(v, ASN_UNSIGNED, s->match & SP_MATCH_VLAN ? s->vlan : 0); break;
	case SP_ST_MPLS: sp_val_uns(v, ASN_UNSIGNED, s->match & SP_MATCH_MPLS ? s->mpls_label : 0); break;
	case SP_ST_PROTOCOL: sp_val_uns(v, ASN_UNSIGNED, s->match & SP_MATCH_PROTOCOL ? s->protocol : 0); break;
	case SP_ST_SRC_TYPE: case SP_ST_SRC_ADDR: case SP_ST_SRC_PLEN:
		sp_val_prefix(v, col - SP_ST_SRC_TYPE, s->match & SP_MATCH_SOURCE, &s->source);
		break;
	case SP_ST_SRC_PORT_LO: case SP_ST_SRC_PORT_HI:
		sp_val_range(v, col == SP_ST_SRC_PORT_HI, s->match & SP_MATCH_SOURCE_PORT, &s->source_port);
		break;
	case SP_ST_DST_TYPE: case SP_ST_DST_ADDR: case SP_ST_DST_PLEN:
		sp_val_prefix(v, col - SP_ST_DST_TYPE, s->match & SP_MATCH_DESTINATION, &s->destination);
		break;
	case SP_ST_DST_PORT_LO: case SP_ST_DST_PORT_HI:
		sp_val_range(v, col == SP_ST_DST_PORT_HI, s->match & SP_MATCH_DESTINATION_PORT,
			     &s->destination_port);
		break;
	case SP_ST_ACTION:
		sp_val_int(v, s->action == SP_ACTION_PROXY ? SP_ACT_V_PROXY :
			      s->action == SP_ACTION_FORWARD ? SP_ACT_V_FORWARD :
			      s->action == SP_ACTION_DROP ? SP_ACT_V_DROP : SP_ACT_V_NOTSET);
		break;
	case SP_ST_SERVER_TYPE: sp_val_addr_type(v, &s->server); break;
	case SP_ST_SERVER_ADDR: sp_val_addr(v, &s->server); break;
	case SP_ST_SRC_ADDR6: sp_val_addr6(v, s->match & SP_MATCH_SOURCE ? &s->source.addr : NULL); break;
	case SP_ST_DST_ADDR6:
		sp_val_addr6(v, s->match & SP_MATCH_DESTINATION ? &s->destination.addr : NULL);
		break;
	case SP_ST_SERVER_ADDR6: sp_val_addr6(v, &s->server); break;
	case SP_ST_SERVER_PORT:
		sp_val_uns(v, ASN_UNSIGNED, sp_addr_is_set(&s->server) ? s->server_port : 0);
		break;
	case SP_ST_HITS:
		sp_val_c64(v, row->active && m->hooks.strategy_hits ?
			      m->hooks.strategy_hits(m->hooks_arg, s->name, s->seq) : 0);
		break;
	case SP_ST_INSTALL_STATE: case SP_ST_INSTALL_REASON:
		sp_val_install(v, col == SP_ST_INSTALL_STATE,
			       sp_mib_install_reason(m, SP_STATUS_STRATEGY, s->name, s->seq, row->active,
						     sp_mib_strategy_reason(s, row->active)));
		break;
	case SP_ST_ROWSTATUS:
		/* RFC 2579: a waiting row that active(1) would refuse is notReady */
		/* a row in the configuration with `shutdown` is notInService too */
		sp_val_int(v, row->active ? (s->shutdown ? RS_NOTINSERVICE : RS_ACTIVE) :
			      sp_mib_strategy_ready(s) ? RS_NOTINSERVICE : RS_NOTREADY);
		break;
	}
}

static void sp_mib_policy_route_value(const struct sp_agent_mib *m, const struct sp_mib_row *row,
				      int col, struct sp_agent_value *v)
{
	const struct sp_policy_route *r = row->item;

	switch (col) {
	case SP_PR_SRC_TYPE: case SP_PR_SRC_ADDR: case SP_PR_SRC_PLEN:
		sp_val_prefix(v, col - SP_PR_SRC_TYPE, r->match & SP_MATCH_SOURCE, &r->source);
		break;
	case SP_PR_DST_TYPE: case SP_PR_DST_ADDR: case SP_PR_DST_PLEN:
		sp_val_prefix(v, col - SP_PR_DST_TYPE, r->match & SP_MATCH_DESTINATION, &r->destination);
		break;
	case SP_PR_PROTOCOL: sp_val_uns(v, ASN_UNSIGNED, r->match & SP_MATCH_PROTOCOL ? r->protocol : 0); break;
	case SP_PR_SRC_PORT_LO: case SP_PR_SRC_PORT_HI:
		sp_val_range(v, col == SP_PR_SRC_PORT_HI, r->match & SP_MATCH_SOURCE_PORT, &r->source_port);
		break;
	case SP_PR_DST_PORT_LO: case SP_PR_DST_PORT_HI:
		sp_val_range(v, col == SP_PR_DST_PORT_HI, r->match & SP_MATCH_DESTINATION_PORT,
			     &r->destination_port);
		break;
	case SP_PR_IFNAME:
		sp_val_str(v, r->match & SP_MATCH_INPUT_INTERFACE ? r->input_interface : "");
		break;
	case SP_PR_NH_TYPE: sp_val_addr_type(v, &r->next_hop); break;
	case SP_PR_NH: sp_val_addr(v, &r->next_hop); break;
	case SP_PR_SRC_ADDR6: sp_val_addr6(v, r->match & SP_MATCH_SOURCE ? &r->source.addr : NULL); break;
	case SP_PR_DST_ADDR6:
		sp_val_addr6(v, r->match & SP_MATCH_DESTINATION ? &r->destination.addr : NULL);
		break;
	case SP_PR_NH6: sp_val_addr6(v, &r->next_hop); break;
	case SP_PR_TABLE: sp_val_uns(v, ASN_UNSIGNED, r->table); break;
	case SP_PR_INSTALL_STATE: case SP_PR_INSTALL_REASON:
		sp_val_install(v, col == SP_PR_INSTALL_STATE,
			       sp_mib_install_reason(m, SP_STATUS_POLICY_ROUTE, r->name, r->seq, row->active,
						     sp_mib_policy_route_reason(r, row->active)));
		break;
	case SP_PR_ROWSTATUS: sp_val_int(v, row->active && !r->shutdown ? RS_ACTIVE : RS_NOTINSERVICE); break;
	}
}

static void sp_mib_interface_value(const struct sp_agent_mib *m, const struct sp_mib_row *row,
				   int col, struct sp_agent_value *v)
{
	const struct sp_interface *i = row->item;

	switch (col) {
	case SP_IF_VPN: sp_val_uns(v, ASN_UNSIGNED, i->vpn_id); break;
	case SP_IF_SIDE:
		sp_val_int(v, i->side == SP_SIDE_TERMINAL ? SP_SIDE_V_TERMINAL :
			      i->side == SP_SIDE_SERVER ? SP_SIDE_V_SERVER : SP_SIDE_V_NONE);
		break;
	case SP_IF_ROWSTATUS: sp_val_int(v, row->active ? RS_ACTIVE : RS_NOTINSERVICE); break;
	case SP_IF_INSTALL_STATE: case SP_IF_INSTALL_REASON:
		sp_val_install(v, col == SP_IF_INSTALL_STATE,
			       sp_mib_install_reason(m, SP_STATUS_INTERFACE, i->name, 0, row->active,
						     !row->active ? "not in service" :
						     sp_status_get(m->status, SP_STATUS_INTERFACE, i->name, 0) ?
						     "" : "not installed"));
		break;
	}
}

/* The same state and reason as `show media-proxy' (sp_status). */
static void sp_mib_media_proxy_value(struct sp_agent_mib *m, const struct sp_mib_row *row, int col,
				     struct sp_agent_value *v)
{
	const struct sp_media_proxy *mp = row->item;
	const struct sp_status_item *st = sp_status_get(m->status, SP_STATUS_MEDIA_PROXY, mp->name, 0);

	if (col >= SP_MP_CALLS) {
		sp_mib_media_proxy_run_value(m, row, col, v);
		return;
	}
	switch (col) {
	case SP_MP_CTL_TYPE: sp_val_addr_type(v, &mp->control); break;
	case SP_MP_CTL: sp_val_addr(v, &mp->control); break;
	case SP_MP_CTL6: sp_val_addr6(v, &mp->control); break;
	case SP_MP_CTL_PORT: sp_val_uns(v, ASN_UNSIGNED, mp->control_port); break;
	case SP_MP_WEIGHT: sp_val_uns(v, ASN_UNSIGNED, mp->weight); break;
	case SP_MP_FALLBACK:
		sp_val_int(v, mp->fallback == SP_MP_FALLBACK_REFUSE ? SP_MP_FALLBACK_V_REFUSE
								     : SP_MP_FALLBACK_V_KERNEL);
		break;
	case SP_MP_INSTALL_STATE:
		sp_val_int(v, row->active && st && st->installed ? SP_INSTALL_OK : SP_INSTALL_NOT);
		break;
	case SP_MP_INSTALL_REASON:
		sp_val_str(v, !row->active ? "waiting in the agent (createAndWait)"
			      : st ? st->reason : mp->shutdown ? "shutdown" : "not started");
		break;
	case SP_MP_ROWSTATUS:
		/* RFC 2579: a waiting row that active(1) would refuse is notReady */
		sp_val_int(v, row->active ? (mp->shutdown ? RS_NOTINSERVICE : RS_ACTIVE) :
			      sp_mib_media_proxy_ready(mp) ? RS_NOTINSERVICE : RS_NOTREADY);
		break;
	}
}

static void sp_mib_session_value(const struct sp_agent_session *s, int col, struct sp_agent_value *v)
{
	switch (col) {
	case SP_SE_STATE: sp_val_int(v, s->state); break;
	case SP_SE_TERM_TYPE: sp_val_addr_type(v, &s->term); break;
	case SP_SE_TERM_ADDR: sp_val_addr(v, &s->term); break;
	case SP_SE_TERM_PORT: sp_val_uns(v, ASN_UNSIGNED, s->term_port); break;
	case SP_SE_VIRT_TYPE: sp_val_addr_type(v, &s->virt); break;
	case SP_SE_VIRT_ADDR: sp_val_addr(v, &s->virt); break;
	case SP_SE_VIRT_PORT: sp_val_uns(v, ASN_UNSIGNED, s->virt_port); break;
	case SP_SE_PROXY_TYPE: sp_val_addr_type(v, &s->proxy); break;
	case SP_SE_PROXY_ADDR: sp_val_addr(v, &s->proxy); break;
	case SP_SE_PROXY_PORT: sp_val_uns(v, ASN_UNSIGNED, s->proxy_port); break;
	case SP_SE_SERVER_TYPE: sp_val_addr_type(v, &s->server); break;
	case SP_SE_SERVER_ADDR: sp_val_addr(v, &s->server); break;
	case SP_SE_SERVER_PORT: sp_val_uns(v, ASN_UNSIGNED, s->server_port); break;
	case SP_SE_CALL_ID: sp_val_str(v, s->call_id); break;
	case SP_SE_MEDIA: sp_val_uns(v, ASN_GAUGE, s->media_streams); break;
	case SP_SE_STRATEGY: sp_val_str(v, s->strategy); break;
	case SP_SE_AGE: sp_val_uns(v, ASN_UNSIGNED, s->age); break;
	case SP_SE_TERM_ADDR6: sp_val_addr6(v, &s->term); break;
	case SP_SE_VIRT_ADDR6: sp_val_addr6(v, &s->virt); break;
	case SP_SE_PROXY_ADDR6: sp_val_addr6(v, &s->proxy); break;
	case SP_SE_SERVER_ADDR6: sp_val_addr6(v, &s->server); break;
	}
}

static void sp_mib_binding_value(const struct sp_agent_binding *b, int col, struct sp_agent_value *v)
{
	switch (col) {
	case SP_BI_TERM_TYPE: sp_val_addr_type(v, &b->term); break;
	case SP_BI_TERM_ADDR: sp_val_addr(v, &b->term); break;
	case SP_BI_TERM_PORT: sp_val_uns(v, ASN_UNSIGNED, b->term_port); break;
	case SP_BI_PROXY_TYPE: sp_val_addr_type(v, &b->proxy); break;
	case SP_BI_PROXY_ADDR: sp_val_addr(v, &b->proxy); break;
	case SP_BI_PROXY_PORT: sp_val_uns(v, ASN_UNSIGNED, b->proxy_port); break;
	case SP_BI_SERVER_TYPE: sp_val_addr_type(v, &b->server); break;
	case SP_BI_SERVER_ADDR: sp_val_addr(v, &b->server); break;
	case SP_BI_SERVER_PORT: sp_val_uns(v, ASN_UNSIGNED, b->server_port); break;
	case SP_BI_VPN: sp_val_uns(v, ASN_UNSIGNED, b->vpn_id); break;
	case SP_BI_EXPIRES: sp_val_uns(v, ASN_UNSIGNED, b->expires); break;
	case SP_BI_TERM_TRANSPORT: sp_val_int(v, b->term_transport); break;
	case SP_BI_SERVER_TRANSPORT: sp_val_int(v, b->server_transport); break;
	case SP_BI_TERM_ADDR6: sp_val_addr6(v, &b->term); break;
	case SP_BI_PROXY_ADDR6: sp_val_addr6(v, &b->proxy); break;
	case SP_BI_SERVER_ADDR6: sp_val_addr6(v, &b->server); break;
	}
}

/* ---- views: the rows of each configuration table in index order ---- */

static int sp_mib_row_cmp(const void *a, const void *b)
{
	const struct sp_mib_row *x = a, *y = b;

	return snmp_oid_compare(x->idx, x->idx_len, y->idx, y->idx_len);
}

static int sp_mib_view_add(struct sp_mib_view *v, size_t *cap, const void *item, bool active,
			   const char *name, bool has_seq, uint32_t seq)
{
	struct sp_mib_row *row;

	if (v->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct sp_mib_row *grown = realloc(v->rows, ncap * sizeof(*grown));

		if (!grown)
			return -1;
		v->rows = grown;
		*cap = ncap;
	}
	row = &v->rows[v->n++];
	row->item = item;
	row->active = active;
	row->idx_len = name ? sp_mib_name_index(name, row->idx) : 0;
	if (has_seq)
		row->idx[row->idx_len++] = seq;
	return 0;
}

static void sp_mib_views_free(struct sp_agent_mib *m)
{
	for (int t = 0; t < SP_TBL_COUNT; t++) {
		free(m->views[t].rows);
		m->views[t].rows = NULL;
		m->views[t].n = 0;
	}
	m->views_valid = false;
}

static int sp_mib_views_build(struct sp_agent_mib *m)
{
	const struct sp_config *c = sp_config_store_current(m->store);
	const struct sp_mib_pending *p = &m->pending;
	size_t cap[SP_TBL_COUNT] = { 0 };
	int rc = 0;

	if (m->views_valid && m->view_cfg == c &&
	    m->view_generation == sp_config_store_generation(m->store) &&
	    m->view_pending_version == m->pending_version)
		return 0;
	sp_mib_pending_prune(m);
	sp_mib_views_free(m);
	for (unsigned i = 0; i < c->sp.n_listen_ports; i++) {
		rc |= sp_mib_view_add(&m->views[SP_TBL_LISTEN_PORT], &cap[SP_TBL_LISTEN_PORT],
				      &c->sp.listen_ports[i], true, NULL, true, c->sp.listen_ports[i]);
	}
	for (size_t i = 0; i < c->n_strategies; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_STRATEGY], &cap[SP_TBL_STRATEGY],
				      &c->strategies[i], true, c->strategies[i].name, true,
				      c->strategies[i].seq);
	for (size_t i = 0; i < p->n_strategies; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_STRATEGY], &cap[SP_TBL_STRATEGY],
				      &p->strategies[i], false, p->strategies[i].name, true,
				      p->strategies[i].seq);
	for (size_t i = 0; i < c->n_policy_routes; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_POLICY_ROUTE], &cap[SP_TBL_POLICY_ROUTE],
				      &c->policy_routes[i], true, c->policy_routes[i].name, true,
				      c->policy_routes[i].seq);
	for (size_t i = 0; i < p->n_policy_routes; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_POLICY_ROUTE], &cap[SP_TBL_POLICY_ROUTE],
				      &p->policy_routes[i], false, p->policy_routes[i].name, true,
				      p->policy_routes[i].seq);
	for (size_t i = 0; i < c->n_interfaces; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_INTERFACE], &cap[SP_TBL_INTERFACE],
				      &c->interfaces[i], true, c->interfaces[i].name, false, 0);
	for (size_t i = 0; i < p->n_interfaces; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_INTERFACE], &cap[SP_TBL_INTERFACE],
				      &p->interfaces[i], false, p->interfaces[i].name, false, 0);
	for (size_t i = 0; i < c->n_media_proxies; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_MEDIA_PROXY], &cap[SP_TBL_MEDIA_PROXY],
				      &c->media_proxies[i], true, c->media_proxies[i].name, false, 0);
	for (size_t i = 0; i < p->n_media_proxies; i++)
		rc |= sp_mib_view_add(&m->views[SP_TBL_MEDIA_PROXY], &cap[SP_TBL_MEDIA_PROXY],
				      &p->media_proxies[i], false, p->media_proxies[i].name, false, 0);
	if (rc) {
		sp_mib_views_free(m);
		return -1;
	}
	for (int t = 0; t < SP_TBL_COUNT; t++)
		if (m->views[t].n > 1)
			qsort(m->views[t].rows, m->views[t].n, sizeof(struct sp_mib_row), sp_mib_row_cmp);
	m->view_cfg = c;
	m->view_generation = sp_config_store_generation(m->store);
	m->view_pending_version = m->pending_version;
	m->views_valid = true;
	return 0;
}

/* The first row whose index is greater than (or, `exact`, equal to) idx. */
static const struct sp_mib_row *sp_mib_view_search(const struct sp_mib_view *v, const oid *idx,
						   size_t len, bool exact)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = snmp_oid_compare(v->rows[mid].idx, v->rows[mid].idx_len, idx, len);

		if (c < 0 || (c == 0 && !exact))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == v->n)
		return NULL;
	if (exact && snmp_oid_compare(v->rows[lo].idx, v->rows[lo].idx_len, idx, len) != 0)
		return NULL;
	return &v->rows[lo];
}

const struct sp_mib_row *sp_mib_find_row(struct sp_agent_mib *m, int table, const oid *idx,
					 size_t len)
{
	if (sp_mib_views_build(m) < 0)
		return NULL;
	return sp_mib_view_search(&m->views[table], idx, len, true);
}

static void sp_mib_row_value(struct sp_agent_mib *m, const struct sp_mib_obj *o,
			     const struct sp_mib_row *row, struct sp_agent_value *v)
{
	switch (o->table) {
	case SP_TBL_LISTEN_PORT: sp_val_int(v, RS_ACTIVE); break;
	case SP_TBL_STRATEGY: sp_mib_strategy_value(m, row, o->id, v); break;
	case SP_TBL_POLICY_ROUTE: sp_mib_policy_route_value(m, row, o->id, v); break;
	case SP_TBL_INTERFACE: sp_mib_interface_value(m, row, o->id, v); break;
	case SP_TBL_MEDIA_PROXY: sp_mib_media_proxy_value(m, row, o->id, v); break;
	}
}

/* Session and binding rows come from the engine by id. */
static bool sp_mib_id_row(struct sp_agent_mib *m, const struct sp_mib_obj *o, uint32_t id, bool next,
			  uint32_t *found, struct sp_agent_value *v)
{
	if (o->table == SP_TBL_SESSION) {
		struct sp_agent_session s;

		if (!m->hooks.session || !m->hooks.session(m->hooks_arg, id, next, &s))
			return false;
		*found = s.id;
		sp_mib_session_value(&s, o->id, v);
	} else {
		struct sp_agent_binding b;

		if (!m->hooks.binding || !m->hooks.binding(m->hooks_arg, id, next, &b))
			return false;
		*found = b.id;
		sp_mib_binding_value(&b, o->id, v);
	}
	return true;
}

/* ---- GET / GETNEXT ---- */

int sp_agent_mib_get(struct sp_agent_mib *m, const oid *name, size_t len, struct sp_agent_value *v)
{
	size_t plen;
	const struct sp_mib_obj *o = sp_mib_lookup(name, len, &plen);
	const oid *idx = name + plen;
	size_t idx_len = len - plen;
	const struct sp_mib_row *row;
	uint32_t found;

	memset(v, 0, sizeof(*v));
	if (!o || o->access == SP_NOTIFY)
		return SNMP_NOSUCHOBJECT;
	if (o->table == SP_TBL_NONE) {
		if (idx_len != 1 || idx[0] != 0)
			return SNMP_NOSUCHINSTANCE;
		sp_mib_scalar_value(m, o->id, v);
		return SNMP_ERR_NOERROR;
	}
	if (o->table == SP_TBL_SESSION || o->table == SP_TBL_BINDING) {
		if (idx_len != 1 || idx[0] == 0 || idx[0] > 0xffffffffUL ||
		    !sp_mib_id_row(m, o, (uint32_t)idx[0], false, &found, v) || found != idx[0])
			return SNMP_NOSUCHINSTANCE;
		return SNMP_ERR_NOERROR;
	}
	row = sp_mib_find_row(m, o->table, idx, idx_len);
	if (!row)
		return SNMP_NOSUCHINSTANCE;
	sp_mib_row_value(m, o, row, v);
	return SNMP_ERR_NOERROR;
}

bool sp_agent_mib_next(struct sp_agent_mib *m, const oid *name, size_t len, oid *next,
		       size_t *next_len, struct sp_agent_value *v)
{
	if (sp_mib_views_build(m) < 0)
		return false;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < sp_mib_n_objs; i++) {
		const struct sp_mib_obj *o = &sp_mib_objs[i];
		size_t n = sp_mib_obj_oid(o, next);
		/* where the request stands against this object's subtree */
		int c = snmp_oid_compare(name, len < n ? len : n, next, n);
		const oid *after = NULL;
		size_t after_len = 0;

		if (o->access == SP_NOTIFY || c > 0)
			continue;
		if (c == 0 && len >= n) {
			after = name + n;
			after_len = len - n;
		}
		if (o->table == SP_TBL_NONE) {
			if (after && after_len >= 1)
				continue; /* at or past the .0 instance */
			next[n] = 0;
			*next_len = n + 1;
			sp_mib_scalar_value(m, o->id, v);
			return true;
		}
		if (o->table == SP_TBL_SESSION || o->table == SP_TBL_BINDING) {
			uint32_t found;
			u_long from = after && after_len ? after[0] : 0;

			if (from >= 0xffffffffUL ||
			    !sp_mib_id_row(m, o, (uint32_t)from, true, &found, v))
				continue;
			next[n] = found;
			*next_len = n + 1;
			return true;
		}
		{
			const struct sp_mib_view *view = &m->views[o->table];
			const struct sp_mib_row *row = after ? sp_mib_view_search(view, after, after_len, false)
							     : (view->n ? &view->rows[0] : NULL);

			if (!row)
				continue;
			memcpy(next + n, row->idx, row->idx_len * sizeof(oid));
			*next_len = n + row->idx_len;
			sp_mib_row_value(m, o, row, v);
			return true;
		}
	}
	return false;
}

void sp_agent_mib_init(struct sp_agent_mib *m, struct sp_config_store *store)
{
	memset(m, 0, sizeof(*m));
	m->store = store;
}

void sp_mib_pending_free(struct sp_mib_pending *p)
{
	free(p->strategies);
	free(p->policy_routes);
	free(p->interfaces);
	free(p->media_proxies);
	memset(p, 0, sizeof(*p));
}

void sp_agent_mib_cleanup(struct sp_agent_mib *m)
{
	sp_agent_mib_set_finish(m);
	sp_mib_pending_free(&m->pending);
	sp_mib_views_free(m);
}
