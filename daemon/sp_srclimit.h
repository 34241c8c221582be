/* Bindings held per source (issue 15: one address must not take every
 * server-side port). A source is a terminal's address in its VPN, whatever
 * its ports: the count the engine compares with `limit source-bindings`
 * before it creates a binding. The table keeps it (sp_table calls add and
 * remove wherever a binding appears, goes or changes its terminal), so the
 * count stays right for bindings made by the sync or by a rekey too.
 *
 * Also the spacing of the "source limited" notifications: one per source
 * per interval, from a small ring of the sources named last.
 *
 * Pure data structure: no clock reads, no sockets. */
#ifndef SP_SRCLIMIT_H
#define SP_SRCLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"

struct sp_srclimit;

struct sp_srclimit *sp_srclimit_new(void);
void sp_srclimit_free(struct sp_srclimit *s);
/* One more binding of (vpn, src's address); 0 or -ENOMEM. */
int sp_srclimit_add(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src);
/* One fewer; a source not counted is left alone. */
void sp_srclimit_remove(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src);
uint32_t sp_srclimit_count(const struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src);
/* Sources with at least one binding. */
size_t sp_srclimit_sources(const struct sp_srclimit *s);

/* Whether (vpn, src) may be named in a notification now: not named in the
 * last interval_ms. Records it when it returns true. */
bool sp_srclimit_notify_due(struct sp_srclimit *s, uint32_t vpn, const struct sp_endpoint *src,
			    uint64_t now_ms, uint64_t interval_ms);

#endif
