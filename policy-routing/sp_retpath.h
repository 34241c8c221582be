/* The SP's return path (parallel mode, `return-path` in config-sp): which way
 * the answers to a terminal leave.
 *
 * - default-gateway GW: every answer to a terminal goes through GW.
 * - learn: for each binding, the ingress interface and the previous hop (the
 *   router the terminal's messages came through) are recorded, and answers go
 *   back that way even where the routing table would choose another path.
 *
 * Kernel mechanism: an answer is sent with a socket mark (SO_MARK control
 * message on the listener's sendmsg); for each way out there is one rule
 * `fwmark M lookup T` with `default via PREVHOP dev IF table T`. The
 * previous hop's MAC is not in a UDP socket's control messages: a packet
 * socket (AF_PACKET, a classic BPF filter for UDP to the listen ports) sees
 * the same frames and keeps the last few source MACs by (source address,
 * port); the MAC is turned into the router's address through the neighbour
 * table (rtnetlink, sp_neigh), which holds it since the router had to
 * resolve our address to send to us. IPv4 and IPv6 (a packet socket each;
 * the IPv6 one sees UDP without extension headers); an IPv6 path needs its
 * neighbour, an IPv4 one falls back to the interface alone. default-gateway
 * takes a gateway of either family: the answers of its family go through it
 * (an `ip rule` or `ip -6 rule` and its table), the other family's follow
 * the routing table.
 */
#ifndef SP_RETPATH_H
#define SP_RETPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include "sp_table.h"
#include "sp_error.h"
#include "sp_valid.h"

/* Mark bits of ours: clear of the engine's TPROXY and strategy bits
 * (SP_MARK_MASK in sp_classify.h). Slot i (0 = the default gateway) is
 * mark SP_RETPATH_MARK | i << 16, table SP_RETPATH_TABLE_BASE + i. */
#define SP_RETPATH_MARK 0x20000000u
#define SP_RETPATH_MARK_MASK 0x20ff0000u
#define SP_RETPATH_SLOTS 256
#define SP_RETPATH_TABLE_BASE 5061000u
/* Before the policy routes (1000+) and the main table; after the engine's
 * interception rule (100), which matches other mark bits anyway. */
#define SP_RETPATH_RULE_PRIORITY 200

enum sp_retpath_mode {
	SP_RETPATH_NONE,	/* the routing table decides */
	SP_RETPATH_DEFAULT_GATEWAY,
	SP_RETPATH_LEARN,
};

struct sp_retpath;

int sp_retpath_open(struct sp_retpath **out, struct sp_error *err);
/* Removes its rules and routes, closes its sockets. */
void sp_retpath_close(struct sp_retpath *rp);

/* Switches the mode. default-gateway checks that gw (IPv4 or IPv6) is on a
 * connected network; learn needs the listen ports for its packet
 * filter. On failure the previous mode stays. */
int sp_retpath_configure(struct sp_retpath *rp, enum sp_retpath_mode mode,
			 const struct sp_addr *gw, const uint16_t *listen_ports,
			 unsigned n_listen_ports, struct sp_error *err);

/* Learn mode: reads the frames the packet socket holds; call it before
 * reading the listeners, so every datagram they return has been seen. */
void sp_retpath_drain(struct sp_retpath *rp);
/* Frames the packet socket's full queue dropped so far. */
uint64_t sp_retpath_rx_drops(struct sp_retpath *rp);
/* The path of a datagram from terminal (IPv4 or IPv6) that arrived on ifindex (from
 * IP_PKTINFO). false when unknown (not in learn mode, frame not seen). */
bool sp_retpath_learn(struct sp_retpath *rp, const struct sp_endpoint *terminal, int ifindex,
		      struct sp_learned_path *path);
/* The mark to send an answer with along path (learn) or to the default
 * gateway; installs the path's rule and route on first use. 0: none, the
 * routing table decides. */
uint32_t sp_retpath_mark(struct sp_retpath *rp, const struct sp_learned_path *path);

#endif
