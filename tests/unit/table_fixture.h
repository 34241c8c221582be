/* Fixtures shared by the unit tests of the session tables and of what
 * copies them (persistence, state sync): endpoints, a table, a binding and
 * a dialog made with Criterion assertions, so a test reads as its scenario. */
#ifndef TABLE_FIXTURE_H
#define TABLE_FIXTURE_H

#include <stdint.h>

#include "sp_table.h"

/* addr:port, asserted to parse. */
struct sp_endpoint fx_ep(const char *addr, uint16_t port);

/* A table with the defaults, tweaked by tweak (optional), with callbacks
 * cb (optional). */
struct sp_table *fx_table_with(void (*tweak)(struct sp_table_config *),
			       const struct sp_table_callbacks *cb);

/* A table whose media ports are 50000-50099. */
struct sp_table *fx_table_media(void);

/* A binding of terminal addr:port in vpn, behind the virtual server
 * 198.51.100.1:5060, server side 203.0.113.1, server 203.0.113.100:5060,
 * strategy 7, Via sent-by 10.1.1.1:5060 and the given Contact. */
struct sp_binding *fx_binding(struct sp_table *t, uint32_t vpn, const char *addr, uint16_t port,
			      const char *contact, uint64_t now);

/* An early dialog of binding b. */
struct sp_dialog *fx_dialog(struct sp_table *t, struct sp_binding *b, const char *call_id,
			    const char *from_tag, uint32_t invite_cseq, uint64_t now);

#endif
