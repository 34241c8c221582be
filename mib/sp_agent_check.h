/* SIGPROXY-MIB writes, RESERVE1 (sp_agent_mib_set_check, sp_agent_mib.h), and
 * what the rest of a SET reads varbinds and row indexes with. Internal to
 * mib/. */
#ifndef SP_AGENT_CHECK_H
#define SP_AGENT_CHECK_H

#include "sp_agent_objects.h"

/* A varbind's value, of the type RESERVE1 checked it is. */
long sp_vb_int(const netsnmp_variable_list *vb);
u_long sp_vb_uns(const netsnmp_variable_list *vb);
void sp_vb_str(const netsnmp_variable_list *vb, char *out, size_t max);
bool sp_vb_has_nul(const netsnmp_variable_list *vb);

/* Whether the object is a table's RowStatus column. */
bool sp_is_rowstatus(const struct sp_mib_obj *o);

/* The index of a row of a named table (strategy, policy route, interface)
 * or of the listen-port table. */
struct sp_mib_index {
	char name[SP_NAME_MAX + 1];
	uint32_t seq; /* also the listen port */
};

/* Parses a row index; false when it can never name a row (noCreation). */
bool sp_mib_parse_index(int table, const oid *idx, size_t len, struct sp_mib_index *out);

#endif
