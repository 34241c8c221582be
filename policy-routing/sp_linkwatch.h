/* Following link changes (SPEC §2.2 on a router kernel): VLAN
 * sub-interfaces, VRF devices and their slaves, configured interfaces that
 * appear, vanish or are renamed, and MPLS label routes. A netlink socket
 * subscribed to RTNLGRP_LINK (and RTNLGRP_MPLS_ROUTE where the kernel routes
 * MPLS), on the daemon's loop; a change that alters what the classification
 * resolved calls the owner back once the changes have settled (debounced),
 * and the owner re-applies its classification as a commit does. Never on
 * the datagram path.
 *
 * The change filter is pure: sp_linkwatch_new() + seed + feed need no socket
 * (the unit tests feed it hand-built messages). */
#ifndef SP_LINKWATCH_H
#define SP_LINKWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "sp_link.h"
#include "sp_error.h"

struct nlmsghdr;
struct sp_loop;
struct sp_linkwatch;

typedef void (*sp_linkwatch_fn)(void *arg);

struct sp_linkwatch *sp_linkwatch_new(void);
/* The links as the last apply saw them (sp_link_state_read()), and the
 * configured interface names: a link is of interest when it is a VLAN or
 * VRF device, enslaved to a VRF, or carries a configured name. */
int sp_linkwatch_seed(struct sp_linkwatch *w, const struct sp_link_info *links, size_t n,
		      const char *const *names, size_t n_names);
/* One message: true when it changes what classification resolved (an
 * interface of interest added, removed, renamed, enslaved, released, brought
 * up or down; any MPLS route). Updates the watch's view of the links. */
bool sp_linkwatch_feed(struct sp_linkwatch *w, const struct nlmsghdr *nlh);
/* Opens the socket on loop: fn(arg) debounce_ms after the last relevant
 * change. 0, or -1 with a reason in err. */
int sp_linkwatch_listen(struct sp_linkwatch *w, struct sp_loop *loop, unsigned debounce_ms,
			sp_linkwatch_fn fn, void *arg, struct sp_error *err);
/* Relevant changes seen since the watch was created. */
unsigned long sp_linkwatch_changes(const struct sp_linkwatch *w);
void sp_linkwatch_free(struct sp_linkwatch *w);

#endif
