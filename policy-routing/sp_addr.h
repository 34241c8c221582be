/* Local addresses and per-interface ARP behaviour (SPEC §3.3): E as a local,
 * unannounced address — on lo, with the terminal-side links told not to
 * answer ARP for it (arp_ignore=1) nor to use it as an ARP source
 * (arp_announce=2). Functions return 0, or -1 with a reason in err. */
#ifndef SP_ADDR_H
#define SP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "sp_rtnl.h"
#include "sp_error.h"

/* Adds (add=true) or removes a host address on an interface over rtnetlink;
 * an address already present (add) or absent (remove) is not an error. */
int sp_addr_local(const struct sp_rt_addr *addr, const char *ifname, bool add, struct sp_error *err);

/* Reads / writes an interface's IPv4 conf sysctl (e.g. "arp_ignore"). */
int sp_addr_sysctl_get(const char *ifname, const char *key, int *value);
int sp_addr_sysctl_set(const char *ifname, const char *key, int value, struct sp_error *err);

#endif
