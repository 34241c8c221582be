/* SIGPROXY-MIB writes, RESERVE1: each varbind of a SET checked alone (type,
 * length, range, the same validators as the CLI), before the candidate for
 * the whole PDU is built (sp_agent_set.c). */
#include "config.h"
#include "sp_agent_check.h"
#include "sp_agent_objects.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- varbind helpers ---- */

long sp_vb_int(const netsnmp_variable_list *vb)
{
	return vb->val.integer ? *vb->val.integer : 0;
}

u_long sp_vb_uns(const netsnmp_variable_list *vb)
{
	return vb->val.integer ? (u_long)*vb->val.integer & 0xffffffffUL : 0;
}

void sp_vb_str(const netsnmp_variable_list *vb, char *out, size_t max)
{
	size_t n = vb->val_len < max - 1 ? vb->val_len : max - 1;

	memcpy(out, vb->val.string, n);
	out[n] = '\0';
}

bool sp_vb_has_nul(const netsnmp_variable_list *vb)
{
	return vb->val_len && memchr(vb->val.string, '\0', vb->val_len);
}

/* ---- indexes ---- */

/* Parses a row index; false when it can never name a row (noCreation). */
bool sp_mib_parse_index(int table, const oid *idx, size_t len, struct sp_mib_index *out)
{
	size_t n, max = table == SP_TBL_INTERFACE ? SP_IFNAME_MAX - 1 : SP_NAME_MAX;
	struct sp_error e;

	memset(out, 0, sizeof(*out));
	if (table == SP_TBL_LISTEN_PORT) {
		if (len != 1 || idx[0] < 1 || idx[0] > 65535)
			return false;
		out->seq = (uint32_t)idx[0];
		return true;
	}
	if (len < 1 || idx[0] < 1 || idx[0] > max)
		return false;
	n = idx[0];
	if (len != 1 + n + (table == SP_TBL_INTERFACE || table == SP_TBL_MEDIA_PROXY ? 0 : 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (idx[1 + i] < 1 || idx[1 + i] > 255)
			return false;
		out->name[i] = (char)idx[1 + i];
	}
	if (table == SP_TBL_INTERFACE)
		return sp_check_ifname(out->name, &e) == 0;
	if (table == SP_TBL_MEDIA_PROXY)
		return sp_check_name(out->name, "", &e) == 0;
	if (idx[1 + n] < SP_SEQ_MIN || idx[1 + n] > SP_SEQ_MAX)
		return false;
	out->seq = (uint32_t)idx[1 + n];
	return sp_check_name(out->name, "", &e) == 0;
}

/* ---- RESERVE1: one varbind on its own ---- */

static bool sp_is_addr_obj(const struct sp_mib_obj *o)
{
	return o->type == ASN_OCTET_STR &&
	       !(o->table == SP_TBL_NONE && (o->id == SP_S_HOSTNAME || o->id == SP_S_RED_AUTH_KEY)) &&
	       !(o->table == SP_TBL_POLICY_ROUTE && o->id == SP_PR_IFNAME);
}

static bool sp_is_addr_type_obj(const struct sp_mib_obj *o)
{
	if (o->table == SP_TBL_NONE)
		return o->id == SP_S_SSA_TYPE || o->id == SP_S_LVA_TYPE || o->id == SP_S_RGW_TYPE ||
		       o->id == SP_S_RED_LOCAL_TYPE || o->id == SP_S_RED_PEER_TYPE;
	if (o->table == SP_TBL_STRATEGY)
		return o->id == SP_ST_SRC_TYPE || o->id == SP_ST_DST_TYPE || o->id == SP_ST_SERVER_TYPE;
	if (o->table == SP_TBL_POLICY_ROUTE)
		return o->id == SP_PR_SRC_TYPE || o->id == SP_PR_DST_TYPE || o->id == SP_PR_NH_TYPE;
	if (o->table == SP_TBL_MEDIA_PROXY)
		return o->id == SP_MP_CTL_TYPE;
	return false;
}

static bool sp_is_port_obj(const struct sp_mib_obj *o)
{
	if (o->table == SP_TBL_NONE)
		return o->id == SP_S_RED_LOCAL_PORT || o->id == SP_S_RED_PEER_PORT;
	if (o->table == SP_TBL_STRATEGY)
		return (o->id >= SP_ST_SRC_PORT_LO && o->id <= SP_ST_SRC_PORT_HI) ||
		       (o->id >= SP_ST_DST_PORT_LO && o->id <= SP_ST_DST_PORT_HI) ||
		       o->id == SP_ST_SERVER_PORT;
	if (o->table == SP_TBL_POLICY_ROUTE)
		return o->id >= SP_PR_SRC_PORT_LO && o->id <= SP_PR_DST_PORT_HI;
	return false;
}

/* The enumerations' largest value (all start at 1), 0 if not an enumeration. */
static long sp_enum_max(const struct sp_mib_obj *o)
{
	if (o->table == SP_TBL_NONE) {
		switch (o->id) {
		case SP_S_DEFAULT_ACTION: case SP_S_RETURN_PATH:
		case SP_S_RED_CONF_ROLE: case SP_S_RED_SWITCHOVER:
			return 2;
		case SP_S_MEDIA:
			return 3;
		}
		return 0;
	}
	if (o->table == SP_TBL_STRATEGY && o->id == SP_ST_ACTION)
		return 4;
	if (o->table == SP_TBL_INTERFACE && o->id == SP_IF_SIDE)
		return 3;
	if (o->table == SP_TBL_MEDIA_PROXY && o->id == SP_MP_FALLBACK)
		return 2;
	return 0;
}

bool sp_is_rowstatus(const struct sp_mib_obj *o)
{
	return (o->table == SP_TBL_STRATEGY && o->id == SP_ST_ROWSTATUS) ||
	       (o->table == SP_TBL_POLICY_ROUTE && o->id == SP_PR_ROWSTATUS) ||
	       (o->table == SP_TBL_INTERFACE && o->id == SP_IF_ROWSTATUS) ||
	       (o->table == SP_TBL_MEDIA_PROXY && o->id == SP_MP_ROWSTATUS) ||
	       o->table == SP_TBL_LISTEN_PORT;
}

/* A writable scalar's value: the CLI's limits and validators. */
static int sp_check_scalar(const struct sp_mib_obj *o, const netsnmp_variable_list *vb)
{
	u_long u = sp_vb_uns(vb);
	struct sp_error e;
	char s[64];

	switch (o->id) {
	case SP_S_HOSTNAME:
		if (vb->val_len < 1 || vb->val_len > SP_HOSTNAME_MAX)
			return SNMP_ERR_WRONGLENGTH;
		sp_vb_str(vb, s, sizeof(s));
		return !sp_vb_has_nul(vb) && sp_check_hostname(s, &e) == 0 ? SNMP_ERR_NOERROR
									    : SNMP_ERR_WRONGVALUE;
	/* the CLI's media-port-range limits: even low port from 1024 */
	case SP_S_MEDIA_LOW:
		return u >= 1024 && u <= 65534 && !(u & 1) ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_MEDIA_HIGH:
		return u >= 1025 && u <= 65535 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_SESSION_LIMIT:
		return u <= SP_SESSION_LIMIT_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_SOURCE_RATE:
	case SP_S_SOURCE_NEW_BINDINGS:
	case SP_S_SOURCE_BINDINGS:
		return u <= SP_SOURCE_LIMIT_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_MESSAGE_SIZE_LIMIT:
		return u >= SP_MESSAGE_SIZE_MIN && u <= SP_MESSAGE_SIZE_MAX ? SNMP_ERR_NOERROR
									     : SNMP_ERR_WRONGVALUE;
	case SP_S_CLI_LOGIN_TIMEOUT: /* as `cli login-timeout' */
		return u >= 1 && u <= SP_CLI_TIMEOUT_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_CLI_EXEC_TIMEOUT:
		return u <= SP_CLI_TIMEOUT_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	case SP_S_RED_AUTH_KEY: {
		char key[SP_KEY_MAX + 1];

		if (vb->val_len == 0)
			return SNMP_ERR_NOERROR; /* no authentication key */
		if (vb->val_len < 8 || vb->val_len > SP_KEY_MAX)
			return SNMP_ERR_WRONGLENGTH;
		sp_vb_str(vb, key, sizeof(key));
		return !sp_vb_has_nul(vb) && sp_check_key(key, &e) == 0 ? SNMP_ERR_NOERROR
									 : SNMP_ERR_WRONGVALUE;
	}
	}
	return SNMP_ERR_NOERROR;
}

static int sp_check_value(const struct sp_mib_obj *o, const netsnmp_variable_list *vb)
{
	long i = sp_vb_int(vb);
	u_long u = sp_vb_uns(vb);
	struct sp_error e;
	char s[64];

	if (o->table == SP_TBL_NONE && o->id == SP_S_SSA6) /* InetAddressIPv6 */
		return vb->val_len == 16 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGLENGTH;
	if (sp_is_addr_obj(o))
		return vb->val_len == 0 || vb->val_len == 4 || vb->val_len == 16 ? SNMP_ERR_NOERROR
										  : SNMP_ERR_WRONGLENGTH;
	if (sp_is_addr_type_obj(o))
		return i >= SP_INET_UNKNOWN && i <= SP_INET_IPV6 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	if (sp_is_port_obj(o))
		return u <= 65535 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	if (sp_enum_max(o))
		return i >= 1 && i <= sp_enum_max(o) ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
	if (sp_is_rowstatus(o)) {
		if (i < RS_ACTIVE || i > RS_DESTROY || i == RS_NOTREADY)
			return SNMP_ERR_WRONGVALUE;
		/* the listen-port row has no other column to wait for */
		if (o->table == SP_TBL_LISTEN_PORT && (i == RS_CREATEANDWAIT || i == RS_NOTINSERVICE))
			return SNMP_ERR_WRONGVALUE;
		return SNMP_ERR_NOERROR;
	}
	if (o->table == SP_TBL_NONE)
		return sp_check_scalar(o, vb);
	if (o->table == SP_TBL_STRATEGY) {
		switch (o->id) {
		case SP_ST_VLAN: return u <= SP_VLAN_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		case SP_ST_MPLS:
			return u == 0 || (u >= SP_MPLS_MIN && u <= SP_MPLS_MAX) ? SNMP_ERR_NOERROR
									      : SNMP_ERR_WRONGVALUE;
		case SP_ST_PROTOCOL: return u <= 255 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		case SP_ST_SRC_PLEN: case SP_ST_DST_PLEN:
			return u <= 128 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		}
		return SNMP_ERR_NOERROR;
	}
	if (o->table == SP_TBL_MEDIA_PROXY) {
		switch (o->id) {
		case SP_MP_CTL_PORT: /* as `control A port N' */
			return u >= 1 && u <= 65535 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		case SP_MP_WEIGHT: /* as `weight N' */
			return u <= SP_MP_WEIGHT_MAX ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		}
		return SNMP_ERR_NOERROR;
	}
	if (o->table == SP_TBL_POLICY_ROUTE) {
		switch (o->id) {
		case SP_PR_PROTOCOL: return u <= 255 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		case SP_PR_SRC_PLEN: case SP_PR_DST_PLEN:
			return u <= 128 ? SNMP_ERR_NOERROR : SNMP_ERR_WRONGVALUE;
		case SP_PR_TABLE:
			/* as `set table': the kernel's default, main and local tables are refused */
			return u >= 253 && u <= 255 ? SNMP_ERR_WRONGVALUE : SNMP_ERR_NOERROR;
		case SP_PR_IFNAME:
			if (vb->val_len >= SP_IFNAME_MAX)
				return SNMP_ERR_WRONGLENGTH;
			if (vb->val_len == 0)
				return SNMP_ERR_NOERROR;
			sp_vb_str(vb, s, sizeof(s));
			return !sp_vb_has_nul(vb) && sp_check_ifname(s, &e) == 0 ? SNMP_ERR_NOERROR
										  : SNMP_ERR_WRONGVALUE;
		}
	}
	return SNMP_ERR_NOERROR;
}

int sp_agent_mib_set_check(struct sp_agent_mib *m, const netsnmp_variable_list *vb)
{
	size_t plen;
	const struct sp_mib_obj *o = sp_mib_lookup(vb->name, vb->name_length, &plen);
	struct sp_mib_index index;

	(void)m;
	if (!o)
		return SNMP_ERR_NOCREATION;
	if (o->access == SP_RO || o->access == SP_NOTIFY)
		return SNMP_ERR_NOTWRITABLE;
	if (o->table == SP_TBL_NONE) {
		if (vb->name_length != plen + 1 || vb->name[plen] != 0)
			return SNMP_ERR_NOCREATION;
	} else if (!sp_mib_parse_index(o->table, vb->name + plen, vb->name_length - plen, &index)) {
		return SNMP_ERR_NOCREATION;
	}
	if (vb->type != o->type)
		return SNMP_ERR_WRONGTYPE;
	if (o->type != ASN_OCTET_STR && vb->val_len != sizeof(long))
		return SNMP_ERR_WRONGLENGTH;
	return sp_check_value(o, vb);
}

