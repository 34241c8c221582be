/* SIGPROXY-MIB writes, RESERVE2's building blocks: the builder of the
 * candidate configuration for a whole SET PDU, the conversions between
 * InetAddress/ranges and the configuration model, and the scalars (the
 * sigproxyConfig and sigproxyRedundancy groups); the rows and the
 * transaction are sp_agent_set.c. */
#include "config.h"
#include "sp_agent_build.h"
#include "sp_agent_check.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int sp_fail(struct sp_mib_build *b, size_t vb, int status, const char *fmt, const char *arg)
{
	b->bad = vb;
	sp_error_set(b->e, fmt, arg ? arg : "");
	return status;
}

void sp_inet_from_addr(const struct sp_addr *a, struct sp_mib_inet *r)
{
	memset(r, 0, sizeof(*r));
	if (a->family == AF_INET) {
		r->type = SP_INET_IPV4;
		r->len = 4;
		memcpy(r->addr, &a->u.v4, 4);
	} else if (a->family == AF_INET6) {
		r->type = SP_INET_IPV6;
		r->len = 16;
		memcpy(r->addr, &a->u.v6, 16);
	}
}

void sp_inet_set_type(struct sp_mib_inet *r, const netsnmp_variable_list *vb)
{
	r->type = sp_vb_int(vb);
}

void sp_inet_set_addr(struct sp_mib_inet *r, const netsnmp_variable_list *vb)
{
	r->len = vb->val_len <= sizeof(r->addr) ? vb->val_len : 0;
	memcpy(r->addr, vb->val.string, r->len);
}

/* The text form, so the CLI's own parsers decide (sp_parse_addr/_prefix). */
bool sp_inet_text(const struct sp_mib_inet *r, char *buf, size_t len)
{
	if (r->type == SP_INET_IPV4 && r->len == 4)
		return inet_ntop(AF_INET, r->addr, buf, (socklen_t)len) != NULL;
	if (r->type == SP_INET_IPV6 && r->len == 16)
		return inet_ntop(AF_INET6, r->addr, buf, (socklen_t)len) != NULL;
	return false;
}

/* InetAddressType + InetAddress -> address; unknown(0) with '' is unset. */
bool sp_inet_to_addr(const struct sp_mib_inet *r, struct sp_addr *out)
{
	char buf[SP_ADDR_STRLEN];
	struct sp_error e;

	memset(out, 0, sizeof(*out));
	if (r->type == SP_INET_UNKNOWN)
		return r->len == 0;
	return sp_inet_text(r, buf, sizeof(buf)) && sp_parse_addr(buf, out, &e) == 0;
}

/* ... + prefix length -> prefix; *set false for unknown(0), '' and 0. */
bool sp_inet_to_prefix(const struct sp_mib_inet *r, u_long plen, bool *set,
		       struct sp_prefix *out)
{
	char buf[SP_PREFIX_STRLEN + 8];
	size_t n;
	struct sp_error e;

	memset(out, 0, sizeof(*out));
	*set = false;
	if (r->type == SP_INET_UNKNOWN)
		return r->len == 0 && plen == 0;
	if (!sp_inet_text(r, buf, sizeof(buf)))
		return false;
	n = strlen(buf);
	snprintf(buf + n, sizeof(buf) - n, "/%lu", plen);
	*set = true;
	return sp_parse_prefix(buf, out, &e) == 0;
}

/* Port range: 0/0 any, else 1 <= lo <= hi. */
bool sp_range_from(u_long lo, u_long hi, bool *set, struct sp_port_range *out)
{
	*set = lo || hi;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return !*set || (lo >= 1 && lo <= hi && hi <= 65535);
}

size_t sp_first_of(const size_t *blame, const int *cols, size_t n, size_t fallback)
{
	for (size_t i = 0; i < n; i++)
		if (blame[cols[i]] != SP_NO_VB)
			return blame[cols[i]];
	return fallback;
}

/* ---- scalars ---- */

struct sp_mib_scalars {
	char hostname[SP_HOSTNAME_MAX + 1];
	struct sp_mib_inet ssa, lva, rgw, local, peer;
	long default_action, return_path, media, role, switchover;
	u_long media_lo, media_hi, session_limit, local_port, peer_port;
};

/* blame index of scalar id: the two writable groups, config (1xx) and
 * redundancy (8xx), folded into one array, the config group's first */
#define SP_SCALAR_CONFIG_SLOTS 30
#define SP_SCALAR_SLOTS (SP_SCALAR_CONFIG_SLOTS + 30)
static size_t sp_scalar_slot(int id)
{
	return id < 800 ? (size_t)(id - 100) : (size_t)(id - 800 + SP_SCALAR_CONFIG_SLOTS);
}

/* The scalars' values before the PDU: the candidate's. */
static void sp_scalars_from_config(const struct sp_config *c, struct sp_mib_scalars *r)
{
	snprintf(r->hostname, sizeof(r->hostname), "%s", c->hostname);
	/* the IPv4 C, or the IPv6 one when it is the only one (as GET shows) */
	sp_inet_from_addr(sp_addr_is_set(&c->sp.server_side_address) || !sp_addr_is_set(&c->sp.server_side_address6)
			  ? &c->sp.server_side_address : &c->sp.server_side_address6, &r->ssa);
	sp_inet_from_addr(&c->sp.local_virtual_address, &r->lva);
	sp_inet_from_addr(&c->sp.return_gateway, &r->rgw);
	sp_inet_from_addr(&c->redundancy.local_address, &r->local);
	sp_inet_from_addr(&c->redundancy.peer_address, &r->peer);
	r->return_path = c->sp.return_path == SP_RETURN_DEFAULT_GATEWAY ? SP_RP_GATEWAY : SP_RP_LEARN;
	r->media_lo = c->sp.media_port_min;
	r->media_hi = c->sp.media_port_max;
	r->local_port = c->redundancy.local_port;
	r->peer_port = c->redundancy.peer_port;
}

/* One scalar varbind into the candidate, or into `r` when it is checked
 * with others (address and type, ranges) once every varbind is in. */
static void sp_scalar_apply(struct sp_config *c, struct sp_mib_scalars *r, int id,
			    const netsnmp_variable_list *vb)
{
	switch (id) {
	case SP_S_HOSTNAME: sp_vb_str(vb, r->hostname, sizeof(r->hostname)); break;
	case SP_S_SSA_TYPE: sp_inet_set_type(&r->ssa, vb); break;
	case SP_S_SSA: sp_inet_set_addr(&r->ssa, vb); break;
	case SP_S_SSA6: /* 16 octets, checked; :: removes the IPv6 C */
		memset(&c->sp.server_side_address6, 0, sizeof(c->sp.server_side_address6));
		if (vb->val_len == 16 && !IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)vb->val.string)) {
			c->sp.server_side_address6.family = AF_INET6;
			memcpy(&c->sp.server_side_address6.u.v6, vb->val.string, 16);
		}
		break;
	case SP_S_DEFAULT_ACTION:
		c->sp.default_action = sp_vb_int(vb) == SP_DEFACT_DROP ? SP_ACTION_DROP : SP_ACTION_FORWARD;
		break;
	case SP_S_LVA_TYPE: sp_inet_set_type(&r->lva, vb); break;
	case SP_S_LVA: sp_inet_set_addr(&r->lva, vb); break;
	case SP_S_RETURN_PATH: r->return_path = sp_vb_int(vb); break;
	case SP_S_RGW_TYPE: sp_inet_set_type(&r->rgw, vb); break;
	case SP_S_RGW: sp_inet_set_addr(&r->rgw, vb); break;
	case SP_S_MEDIA:
		c->sp.media = sp_vb_int(vb) == SP_MEDIA_V_OFF ? SP_MEDIA_OFF :
			      sp_vb_int(vb) == SP_MEDIA_V_PROXY ? SP_MEDIA_PROXY : SP_MEDIA_KERNEL;
		break;
	case SP_S_MEDIA_LOW: r->media_lo = sp_vb_uns(vb); break;
	case SP_S_MEDIA_HIGH: r->media_hi = sp_vb_uns(vb); break;
	case SP_S_SESSION_LIMIT: c->sp.session_limit = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_SOURCE_RATE: c->sp.source_rate = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_SOURCE_NEW_BINDINGS: c->sp.source_new_bindings = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_SOURCE_BINDINGS: c->sp.source_bindings = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_MESSAGE_SIZE_LIMIT: c->sp.message_size_limit = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_CLI_LOGIN_TIMEOUT: c->cli.login_timeout = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_CLI_EXEC_TIMEOUT: c->cli.exec_timeout = (uint32_t)sp_vb_uns(vb); break;
	case SP_S_RED_CONF_ROLE:
		c->redundancy.role = sp_vb_int(vb) == SP_ROLE_V_STANDBY ? SP_ROLE_STANDBY : SP_ROLE_ACTIVE;
		break;
	case SP_S_RED_LOCAL_TYPE: sp_inet_set_type(&r->local, vb); break;
	case SP_S_RED_LOCAL_ADDR: sp_inet_set_addr(&r->local, vb); break;
	case SP_S_RED_LOCAL_PORT: r->local_port = sp_vb_uns(vb); break;
	case SP_S_RED_PEER_TYPE: sp_inet_set_type(&r->peer, vb); break;
	case SP_S_RED_PEER_ADDR: sp_inet_set_addr(&r->peer, vb); break;
	case SP_S_RED_PEER_PORT: r->peer_port = sp_vb_uns(vb); break;
	case SP_S_RED_SWITCHOVER: r->switchover = sp_vb_int(vb); break;
	case SP_S_RED_AUTH_KEY:
		/* checked by sp_check_key() in the check phase */
		sp_vb_str(vb, c->redundancy.key, sizeof(c->redundancy.key));
		break;
	}
}

/* The signaling-proxy scalars that go together, checked and into the
 * candidate. */
static int sp_scalars_sp(struct sp_mib_build *b, const struct sp_mib_scalars *r, const size_t *blame,
			 size_t last, bool touched)
{
	struct sp_config *c = b->cand;
	struct sp_addr ssa;

	snprintf(c->hostname, sizeof(c->hostname), "%s", r->hostname);
	if (touched)
		c->sp_enabled = true; /* as entering `signaling-proxy' does */
	if (!sp_inet_to_addr(&r->ssa, &ssa))
		return sp_fail(b, SP_BLAME(blame, last, 3, 2), SNMP_ERR_INCONSISTENTVALUE,
			       "server-side address: type and address do not agree%s", NULL);
	/* one C per family, as the CLI's server-side-address: the address
	 * goes in its family's slot; unknown(0) clears the one shown */
	if (ssa.family == AF_INET6)
		c->sp.server_side_address6 = ssa;
	else if (ssa.family == AF_INET || sp_addr_is_set(&c->sp.server_side_address))
		c->sp.server_side_address = ssa;
	else
		c->sp.server_side_address6 = ssa;
	if (!sp_inet_to_addr(&r->lva, &c->sp.local_virtual_address))
		return sp_fail(b, SP_BLAME(blame, last, 6, 5), SNMP_ERR_INCONSISTENTVALUE,
			       "local-virtual-address: type and address do not agree%s", NULL);
	if (!sp_inet_to_addr(&r->rgw, &c->sp.return_gateway))
		return sp_fail(b, SP_BLAME(blame, last, 9, 8), SNMP_ERR_INCONSISTENTVALUE,
			       "return gateway: type and address do not agree%s", NULL);
	if (r->return_path == SP_RP_GATEWAY) {
		if (!sp_addr_is_set(&c->sp.return_gateway))
			return sp_fail(b, SP_BLAME(blame, last, 7, 9, 8), SNMP_ERR_INCONSISTENTVALUE,
				       "return-path default-gateway needs an address%s", NULL);
		c->sp.return_path = SP_RETURN_DEFAULT_GATEWAY;
	} else {
		/* `return-path learn' has no gateway: one written now is refused */
		if (sp_addr_is_set(&c->sp.return_gateway) && (blame[8] != SP_NO_VB || blame[9] != SP_NO_VB))
			return sp_fail(b, SP_BLAME(blame, last, 9, 8), SNMP_ERR_INCONSISTENTVALUE,
				       "a return gateway needs return-path defaultGateway%s", NULL);
		memset(&c->sp.return_gateway, 0, sizeof(c->sp.return_gateway));
		c->sp.return_path = SP_RETURN_LEARN;
	}
	if (r->media_hi <= r->media_lo)
		return sp_fail(b, SP_BLAME(blame, last, 12, 11), SNMP_ERR_INCONSISTENTVALUE,
			       "media-port-range: the high port must be above the low one%s", NULL);
	c->sp.media_port_min = (uint16_t)r->media_lo;
	c->sp.media_port_max = (uint16_t)r->media_hi;
	return SNMP_ERR_NOERROR;
}

/* The redundancy scalars that go together, and switchover. */
static int sp_scalars_redundancy(struct sp_mib_build *b, const struct sp_mib_scalars *r,
				 const size_t *blame, size_t last, bool touched)
{
	struct sp_config *c = b->cand;

	if (touched)
		c->redundancy.configured = true; /* writing any of them configures it */
	if (!sp_inet_to_addr(&r->local, &c->redundancy.local_address) ||
	    sp_addr_is_set(&c->redundancy.local_address) != (r->local_port != 0))
		return sp_fail(b, SP_BLAME(blame, last, (int)sp_scalar_slot(SP_S_RED_LOCAL_ADDR), (int)sp_scalar_slot(SP_S_RED_LOCAL_PORT),
					  (int)sp_scalar_slot(SP_S_RED_LOCAL_TYPE)), SNMP_ERR_INCONSISTENTVALUE,
			       "redundancy local-address needs a type, an address and a port%s", NULL);
	c->redundancy.local_port = (uint16_t)r->local_port;
	if (!sp_inet_to_addr(&r->peer, &c->redundancy.peer_address) ||
	    sp_addr_is_set(&c->redundancy.peer_address) != (r->peer_port != 0))
		return sp_fail(b, SP_BLAME(blame, last, (int)sp_scalar_slot(SP_S_RED_PEER_ADDR), (int)sp_scalar_slot(SP_S_RED_PEER_PORT),
					  (int)sp_scalar_slot(SP_S_RED_PEER_TYPE)), SNMP_ERR_INCONSISTENTVALUE,
			       "redundancy peer-address needs a type, an address and a port%s", NULL);
	c->redundancy.peer_port = (uint16_t)r->peer_port;
	if (r->switchover == SP_SWITCHOVER_GO) {
		if (!c->redundancy.configured)
			return sp_fail(b, blame[sp_scalar_slot(SP_S_RED_SWITCHOVER)], SNMP_ERR_INCONSISTENTVALUE,
				       "switchover needs redundancy configured%s", NULL);
		if (!b->m->hooks.switchover)
			return sp_fail(b, blame[sp_scalar_slot(SP_S_RED_SWITCHOVER)], SNMP_ERR_RESOURCEUNAVAILABLE,
				       "switchover: the redundancy module is not running%s", NULL);
		b->switchover = true;
	}
	return SNMP_ERR_NOERROR;
}

int sp_build_scalars(struct sp_mib_build *b)
{
	struct sp_config *c = b->cand;
	struct sp_mib_scalars r = { 0 };
	size_t blame[SP_SCALAR_SLOTS];
	bool sp_touched = false, red_touched = false;
	size_t last = SP_NO_VB;
	int rc;

	for (size_t i = 0; i < SP_SCALAR_SLOTS; i++)
		blame[i] = SP_NO_VB;
	sp_scalars_from_config(c, &r);

	for (size_t i = 0; i < b->n; i++) {
		const netsnmp_variable_list *vb = b->vbs[i];
		size_t plen;
		const struct sp_mib_obj *o = sp_mib_lookup(vb->name, vb->name_length, &plen);

		if (!o || o->table != SP_TBL_NONE)
			continue;
		blame[sp_scalar_slot(o->id)] = i;
		last = i;
		if ((o->id > SP_S_HOSTNAME && o->id <= SP_S_SESSION_LIMIT) || o->id == SP_S_MESSAGE_SIZE_LIMIT ||
		    o->id == SP_S_SSA6 ||
		    (o->id >= SP_S_SOURCE_RATE && o->id <= SP_S_SOURCE_BINDINGS))
			sp_touched = true;
		if ((o->id >= SP_S_RED_CONF_ROLE && o->id <= SP_S_RED_PEER_PORT) || o->id == SP_S_RED_AUTH_KEY)
			red_touched = true;
		sp_scalar_apply(c, &r, o->id, vb);
	}
	if (last == SP_NO_VB)
		return SNMP_ERR_NOERROR;
	rc = sp_scalars_sp(b, &r, blame, last, sp_touched);
	if (rc != SNMP_ERR_NOERROR)
		return rc;
	return sp_scalars_redundancy(b, &r, blame, last, red_touched);
}
