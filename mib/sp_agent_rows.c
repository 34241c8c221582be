/* SIGPROXY-MIB writes, part: the columns of the strategies', policy
 * routes' and media proxies' rows (sp_agent_rows.h). */
#include "config.h"
#include "sp_agent_rows.h"
#include "sp_agent_check.h"

#include <stdio.h>
#include <string.h>

void sp_st_to_raw(const struct sp_strategy *s, struct sp_mib_st_raw *r)
{
	static const struct sp_addr unset;

	memset(r, 0, sizeof(*r));
	r->vpn = s->match & SP_MATCH_VPN ? s->vpn_id : 0;
	r->vlan = s->match & SP_MATCH_VLAN ? s->vlan : 0;
	r->mpls = s->match & SP_MATCH_MPLS ? s->mpls_label : 0;
	r->proto = s->match & SP_MATCH_PROTOCOL ? s->protocol : 0;
	sp_inet_from_addr(s->match & SP_MATCH_SOURCE ? &s->source.addr : &unset, &r->src);
	r->src_plen = s->match & SP_MATCH_SOURCE ? s->source.len : 0;
	sp_inet_from_addr(s->match & SP_MATCH_DESTINATION ? &s->destination.addr : &unset, &r->dst);
	r->dst_plen = s->match & SP_MATCH_DESTINATION ? s->destination.len : 0;
	if (s->match & SP_MATCH_SOURCE_PORT) {
		r->sp_lo = s->source_port.lo;
		r->sp_hi = s->source_port.hi;
	}
	if (s->match & SP_MATCH_DESTINATION_PORT) {
		r->dp_lo = s->destination_port.lo;
		r->dp_hi = s->destination_port.hi;
	}
	r->action = s->action == SP_ACTION_PROXY ? SP_ACT_V_PROXY :
		    s->action == SP_ACTION_FORWARD ? SP_ACT_V_FORWARD :
		    s->action == SP_ACTION_DROP ? SP_ACT_V_DROP : SP_ACT_V_NOTSET;
	sp_inet_from_addr(&s->server, &r->server);
	r->server_port = sp_addr_is_set(&s->server) ? s->server_port : 0;
}

void sp_st_apply(struct sp_mib_st_raw *r, int col, const netsnmp_variable_list *vb)
{
	switch (col) {
	case SP_ST_VPN: r->vpn = sp_vb_uns(vb); break;
	case SP_ST_VLAN: r->vlan = sp_vb_uns(vb); break;
	case SP_ST_MPLS: r->mpls = sp_vb_uns(vb); break;
	case SP_ST_PROTOCOL: r->proto = sp_vb_uns(vb); break;
	case SP_ST_SRC_TYPE: sp_inet_set_type(&r->src, vb); break;
	case SP_ST_SRC_ADDR: sp_inet_set_addr(&r->src, vb); break;
	case SP_ST_SRC_PLEN: r->src_plen = sp_vb_uns(vb); break;
	case SP_ST_SRC_PORT_LO: r->sp_lo = sp_vb_uns(vb); break;
	case SP_ST_SRC_PORT_HI: r->sp_hi = sp_vb_uns(vb); break;
	case SP_ST_DST_TYPE: sp_inet_set_type(&r->dst, vb); break;
	case SP_ST_DST_ADDR: sp_inet_set_addr(&r->dst, vb); break;
	case SP_ST_DST_PLEN: r->dst_plen = sp_vb_uns(vb); break;
	case SP_ST_DST_PORT_LO: r->dp_lo = sp_vb_uns(vb); break;
	case SP_ST_DST_PORT_HI: r->dp_hi = sp_vb_uns(vb); break;
	case SP_ST_ACTION: r->action = sp_vb_int(vb); break;
	case SP_ST_SERVER_TYPE: sp_inet_set_type(&r->server, vb); break;
	case SP_ST_SERVER_ADDR: sp_inet_set_addr(&r->server, vb); break;
	case SP_ST_SERVER_PORT: r->server_port = sp_vb_uns(vb); break;
	}
}

static void sp_set_bit(uint32_t *mask, uint32_t bit, bool on)
{
	if (on)
		*mask |= bit;
	else
		*mask &= ~bit;
}

/* Raw columns -> strategy, with the checks that involve several columns. */
int sp_st_from_raw(struct sp_mib_build *b, const struct sp_mib_st_raw *r, const size_t *blame,
			  size_t fb, struct sp_strategy *s)
{
	bool set;

	s->vpn_id = (uint32_t)r->vpn;
	sp_set_bit(&s->match, SP_MATCH_VPN, r->vpn != 0);
	s->vlan = (uint32_t)r->vlan;
	sp_set_bit(&s->match, SP_MATCH_VLAN, r->vlan != 0);
	s->mpls_label = (uint32_t)r->mpls;
	sp_set_bit(&s->match, SP_MATCH_MPLS, r->mpls != 0);
	s->protocol = (uint8_t)r->proto;
	sp_set_bit(&s->match, SP_MATCH_PROTOCOL, r->proto != 0);
	if (!sp_inet_to_prefix(&r->src, r->src_plen, &set, &s->source))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_SRC_ADDR, SP_ST_SRC_PLEN, SP_ST_SRC_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "source: type, address and prefix length do not agree%s", NULL);
	sp_set_bit(&s->match, SP_MATCH_SOURCE, set);
	if (!sp_range_from(r->sp_lo, r->sp_hi, &set, &s->source_port))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_SRC_PORT_HI, SP_ST_SRC_PORT_LO),
			       SNMP_ERR_INCONSISTENTVALUE, "Invalid source port range%s", NULL);
	sp_set_bit(&s->match, SP_MATCH_SOURCE_PORT, set);
	if (!sp_inet_to_prefix(&r->dst, r->dst_plen, &set, &s->destination))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_DST_ADDR, SP_ST_DST_PLEN, SP_ST_DST_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "destination: type, address and prefix length do not agree%s", NULL);
	sp_set_bit(&s->match, SP_MATCH_DESTINATION, set);
	if (!sp_range_from(r->dp_lo, r->dp_hi, &set, &s->destination_port))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_DST_PORT_HI, SP_ST_DST_PORT_LO),
			       SNMP_ERR_INCONSISTENTVALUE, "Invalid destination port range%s", NULL);
	sp_set_bit(&s->match, SP_MATCH_DESTINATION_PORT, set);
	s->action = r->action == SP_ACT_V_PROXY ? SP_ACTION_PROXY :
		    r->action == SP_ACT_V_FORWARD ? SP_ACTION_FORWARD :
		    r->action == SP_ACT_V_DROP ? SP_ACTION_DROP : SP_ACTION_UNSET;
	if (!sp_inet_to_addr(&r->server, &s->server))
		return sp_fail(b, SP_BLAME(blame, fb, SP_ST_SERVER_ADDR, SP_ST_SERVER_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE, "server: type and address do not agree%s", NULL);
	if (!sp_addr_is_set(&s->server) && r->server_port && blame[SP_ST_SERVER_PORT] != SP_NO_VB)
		return sp_fail(b, blame[SP_ST_SERVER_PORT], SNMP_ERR_INCONSISTENTVALUE,
			       "a server port needs a server address%s", NULL);
	s->server_port = sp_addr_is_set(&s->server) && r->server_port ? (uint16_t)r->server_port
								      : SP_DEFAULT_SIP_PORT;
	return SNMP_ERR_NOERROR;
}


void sp_pr_to_raw(const struct sp_policy_route *p, struct sp_mib_pr_raw *r)
{
	static const struct sp_addr unset;

	memset(r, 0, sizeof(*r));
	sp_inet_from_addr(p->match & SP_MATCH_SOURCE ? &p->source.addr : &unset, &r->src);
	r->src_plen = p->match & SP_MATCH_SOURCE ? p->source.len : 0;
	sp_inet_from_addr(p->match & SP_MATCH_DESTINATION ? &p->destination.addr : &unset, &r->dst);
	r->dst_plen = p->match & SP_MATCH_DESTINATION ? p->destination.len : 0;
	r->proto = p->match & SP_MATCH_PROTOCOL ? p->protocol : 0;
	if (p->match & SP_MATCH_SOURCE_PORT) {
		r->sp_lo = p->source_port.lo;
		r->sp_hi = p->source_port.hi;
	}
	if (p->match & SP_MATCH_DESTINATION_PORT) {
		r->dp_lo = p->destination_port.lo;
		r->dp_hi = p->destination_port.hi;
	}
	if (p->match & SP_MATCH_INPUT_INTERFACE)
		snprintf(r->ifname, sizeof(r->ifname), "%s", p->input_interface);
	sp_inet_from_addr(&p->next_hop, &r->nh);
	r->table = p->table;
}

void sp_pr_apply(struct sp_mib_pr_raw *r, int col, const netsnmp_variable_list *vb)
{
	switch (col) {
	case SP_PR_SRC_TYPE: sp_inet_set_type(&r->src, vb); break;
	case SP_PR_SRC_ADDR: sp_inet_set_addr(&r->src, vb); break;
	case SP_PR_SRC_PLEN: r->src_plen = sp_vb_uns(vb); break;
	case SP_PR_DST_TYPE: sp_inet_set_type(&r->dst, vb); break;
	case SP_PR_DST_ADDR: sp_inet_set_addr(&r->dst, vb); break;
	case SP_PR_DST_PLEN: r->dst_plen = sp_vb_uns(vb); break;
	case SP_PR_PROTOCOL: r->proto = sp_vb_uns(vb); break;
	case SP_PR_SRC_PORT_LO: r->sp_lo = sp_vb_uns(vb); break;
	case SP_PR_SRC_PORT_HI: r->sp_hi = sp_vb_uns(vb); break;
	case SP_PR_DST_PORT_LO: r->dp_lo = sp_vb_uns(vb); break;
	case SP_PR_DST_PORT_HI: r->dp_hi = sp_vb_uns(vb); break;
	case SP_PR_IFNAME: sp_vb_str(vb, r->ifname, sizeof(r->ifname)); break;
	case SP_PR_NH_TYPE: sp_inet_set_type(&r->nh, vb); break;
	case SP_PR_NH: sp_inet_set_addr(&r->nh, vb); break;
	case SP_PR_TABLE: r->table = sp_vb_uns(vb); break;
	}
}

int sp_pr_from_raw(struct sp_mib_build *b, const struct sp_mib_pr_raw *r, const size_t *blame,
			  size_t fb, struct sp_policy_route *p)
{
	bool set;

	if (!sp_inet_to_prefix(&r->src, r->src_plen, &set, &p->source))
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_SRC_ADDR, SP_PR_SRC_PLEN, SP_PR_SRC_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "source: type, address and prefix length do not agree%s", NULL);
	sp_set_bit(&p->match, SP_MATCH_SOURCE, set);
	if (!sp_inet_to_prefix(&r->dst, r->dst_plen, &set, &p->destination))
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_DST_ADDR, SP_PR_DST_PLEN, SP_PR_DST_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "destination: type, address and prefix length do not agree%s", NULL);
	sp_set_bit(&p->match, SP_MATCH_DESTINATION, set);
	p->protocol = (uint8_t)r->proto;
	sp_set_bit(&p->match, SP_MATCH_PROTOCOL, r->proto != 0);
	if (!sp_range_from(r->sp_lo, r->sp_hi, &set, &p->source_port))
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_SRC_PORT_HI, SP_PR_SRC_PORT_LO),
			       SNMP_ERR_INCONSISTENTVALUE, "Invalid source port range%s", NULL);
	sp_set_bit(&p->match, SP_MATCH_SOURCE_PORT, set);
	if (!sp_range_from(r->dp_lo, r->dp_hi, &set, &p->destination_port))
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_DST_PORT_HI, SP_PR_DST_PORT_LO),
			       SNMP_ERR_INCONSISTENTVALUE, "Invalid destination port range%s", NULL);
	sp_set_bit(&p->match, SP_MATCH_DESTINATION_PORT, set);
	snprintf(p->input_interface, sizeof(p->input_interface), "%s", r->ifname);
	sp_set_bit(&p->match, SP_MATCH_INPUT_INTERFACE, r->ifname[0] != '\0');
	if (!sp_inet_to_addr(&r->nh, &p->next_hop))
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_NH, SP_PR_NH_TYPE), SNMP_ERR_INCONSISTENTVALUE,
			       "next-hop: type and address do not agree%s", NULL);
	p->table = (uint32_t)r->table;
	if (sp_addr_is_set(&p->next_hop) && p->table)
		return sp_fail(b, SP_BLAME(blame, fb, SP_PR_TABLE, SP_PR_NH, SP_PR_NH_TYPE),
			       SNMP_ERR_INCONSISTENTVALUE,
			       "set next-hop and set table exclude each other%s", NULL);
	return SNMP_ERR_NOERROR;
}

void sp_mp_to_raw(const struct sp_media_proxy *mp, struct sp_mib_mp_raw *r)
{
	memset(r, 0, sizeof(*r));
	sp_inet_from_addr(&mp->control, &r->control);
	r->port = mp->control_port;
	r->weight = mp->weight;
	r->fallback = mp->fallback == SP_MP_FALLBACK_REFUSE ? SP_MP_FALLBACK_V_REFUSE : SP_MP_FALLBACK_V_KERNEL;
}

void sp_mp_apply(struct sp_mib_mp_raw *r, int col, const netsnmp_variable_list *vb)
{
	switch (col) {
	case SP_MP_CTL_TYPE: sp_inet_set_type(&r->control, vb); break;
	case SP_MP_CTL: sp_inet_set_addr(&r->control, vb); break;
	case SP_MP_CTL_PORT: r->port = sp_vb_uns(vb); break;
	case SP_MP_WEIGHT: r->weight = sp_vb_uns(vb); break;
	case SP_MP_FALLBACK: r->fallback = sp_vb_int(vb); break;
	}
}

int sp_mp_from_raw(struct sp_mib_build *b, const struct sp_mib_mp_raw *r, const size_t *blame,
		   size_t fb, struct sp_media_proxy *mp)
{
	if (!sp_inet_to_addr(&r->control, &mp->control))
		return sp_fail(b, SP_BLAME(blame, fb, SP_MP_CTL, SP_MP_CTL_TYPE), SNMP_ERR_INCONSISTENTVALUE,
			       "control: type and address do not agree%s", NULL);
	mp->control_port = (uint16_t)r->port;
	mp->weight = (uint32_t)r->weight;
	mp->fallback = r->fallback == SP_MP_FALLBACK_V_REFUSE ? SP_MP_FALLBACK_REFUSE : SP_MP_FALLBACK_KERNEL;
	return SNMP_ERR_NOERROR;
}
