/* SIGPROXY-MIB writes, one named table's columns (sp_agent_rows.c): a
 * row's columns as the PDU leaves them ("raw"), from and into the model's
 * item, with the checks that involve several columns. Shared with the
 * generic row handling of sp_agent_set.c. Internal to mib/. */
#ifndef SP_AGENT_ROWS_H
#define SP_AGENT_ROWS_H

#include "sp_agent_build.h"

struct sp_mib_st_raw {
	u_long vpn, vlan, mpls, proto, src_plen, dst_plen, sp_lo, sp_hi, dp_lo, dp_hi, server_port;
	struct sp_mib_inet src, dst, server;
	long action;
};

struct sp_mib_pr_raw {
	u_long src_plen, dst_plen, proto, sp_lo, sp_hi, dp_lo, dp_hi, table;
	struct sp_mib_inet src, dst, nh;
	char ifname[SP_IFNAME_MAX];
};

void sp_st_to_raw(const struct sp_strategy *s, struct sp_mib_st_raw *r);
void sp_st_apply(struct sp_mib_st_raw *r, int col, const netsnmp_variable_list *vb);
int sp_st_from_raw(struct sp_mib_build *b, const struct sp_mib_st_raw *r, const size_t *blame,
		   size_t fb, struct sp_strategy *s);
void sp_pr_to_raw(const struct sp_policy_route *p, struct sp_mib_pr_raw *r);
void sp_pr_apply(struct sp_mib_pr_raw *r, int col, const netsnmp_variable_list *vb);
int sp_pr_from_raw(struct sp_mib_build *b, const struct sp_mib_pr_raw *r, const size_t *blame,
		   size_t fb, struct sp_policy_route *p);

/* A media proxy's writable columns. */
struct sp_mib_mp_raw {
	struct sp_mib_inet control;
	u_long port, weight;
	long fallback;
};

void sp_mp_to_raw(const struct sp_media_proxy *mp, struct sp_mib_mp_raw *r);
void sp_mp_apply(struct sp_mib_mp_raw *r, int col, const netsnmp_variable_list *vb);
int sp_mp_from_raw(struct sp_mib_build *b, const struct sp_mib_mp_raw *r, const size_t *blame,
		   size_t fb, struct sp_media_proxy *mp);

#endif
