/*
 * Shared server-side sockets (`signaling-sockets shared`, issue 21): the
 * nftables chain that hands every UDP datagram a server sends to one of
 * C's signalling ports (C:first..last) to one transparent socket of the
 * daemon (TPROXY), which finds the binding by the original destination
 * port. No socket per binding: 100 000 bindings need no 100 000
 * descriptors.
 *
 * Rendering is pure; sp_kernel installs the chain with the interception.
 */
#ifndef SP_SERVER_TPROXY_H
#define SP_SERVER_TPROXY_H

#include <stdint.h>

#include "sp_rtnl.h"

/* Where server-side datagrams go: C of each family (family 0: none) and
 * the port of that family's transparent socket (0: not shared). */
struct sp_server_tproxy {
	struct sp_rt_addr c4, c6;
	uint16_t port4, port6;
	uint16_t first, last;	/* C's signalling ports */
};

/* The chain for the table appended to *chains (malloc'ed; nothing when
 * nothing is shared). -1: out of memory, *chains freed and NULL. */
int sp_server_tproxy_append(const struct sp_server_tproxy *t, char **chains);

#endif
