/* The install state of every configured object, in one place.
 *
 * Whoever installs an object writes its state here after each apply (the
 * engine its proxy strategies and interfaces, policy-routing its policy
 * routes, the media-proxy client its media proxies); the CLI and the SNMP agent read it, so the
 * two cannot disagree. A writer republishes its whole kind each time
 * (sp_status_reset, then one sp_status_set per object): an object it no
 * longer holds has no entry, and readers fall back to what the
 * configuration alone says (not in service, incomplete).
 *
 * Every function accepts a NULL store (unit tests, tools without a daemon):
 * writes do nothing and reads find nothing. */
#ifndef SP_STATUS_H
#define SP_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_valid.h"

enum sp_status_kind {
	SP_STATUS_STRATEGY,
	SP_STATUS_POLICY_ROUTE,
	SP_STATUS_INTERFACE,
	SP_STATUS_MEDIA_PROXY,
	SP_STATUS_KINDS
};

#define SP_STATUS_REASON_MAX 320

struct sp_status_item {
	char name[SP_NAME_MAX + 1];
	uint32_t seq;
	bool installed;
	/* not installed: why; installed: how, when it says more than
	 * "installed" (empty otherwise) */
	char reason[SP_STATUS_REASON_MAX];
};

struct sp_status;

struct sp_status *sp_status_new(void);
void sp_status_free(struct sp_status *st);

/* Forgets every object of `kind`: its writer is about to say them all again. */
void sp_status_reset(struct sp_status *st, enum sp_status_kind kind);
/* Records (or replaces) one object's state. -1 when out of memory. */
int sp_status_set(struct sp_status *st, enum sp_status_kind kind, const char *name, uint32_t seq,
		  bool installed, const char *reason);
/* The object's state, or NULL when its writer has not said anything about it.
 * Valid until the next write of that kind. */
const struct sp_status_item *sp_status_get(const struct sp_status *st, enum sp_status_kind kind,
					   const char *name, uint32_t seq);

#endif
