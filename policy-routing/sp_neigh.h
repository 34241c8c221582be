/* The kernel's neighbour table (ARP for IPv4, ND for IPv6) read over
 * rtnetlink: which address of a family a link-layer address has on an
 * interface. The return path (sp_retpath) turns the previous hop's MAC,
 * seen on a terminal's frames, into the router's address this way. */
#ifndef SP_NEIGH_H
#define SP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_endpoint.h"

/* The address of family (AF_INET, AF_INET6) on ifindex whose link-layer
 * address is mac (6 bytes), among the entries that are reachable or were
 * (not failed, not incomplete). The host `prefer` is taken when it is one of
 * them (several addresses of one host share its MAC); else a global address
 * before a link-local one. false when there is none (or rtnetlink fails). */
bool sp_neigh_by_mac(int family, int ifindex, const uint8_t mac[6], const struct sp_endpoint *prefer,
		     struct sp_endpoint *out);

#endif
