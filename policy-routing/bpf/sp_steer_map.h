/* Shared between the sk_lookup steering program (sp_steer.bpf.c) and its
 * loader (sp_steer.c): the map layout and the hash that picks a terminal's
 * worker. The daemon computes the same hash in C to know which worker owns
 * a terminal (a binding restored from the store or synced from the peer). */
#ifndef SP_STEER_BPF_H
#define SP_STEER_BPF_H

#define SP_STEER_WORKERS_MAX 64
/* = SP_LISTEN_PORTS_MAX of sp_config.h (checked there) */
#define SP_STEER_PORTS_MAX 16
/* The SOCKMAP's key of worker w's listener for port slot s and a family
 * (v6: 0 IPv4, 1 IPv6). */
#define SP_STEER_KEY(s, v6, w) (((s) * 2u + (v6)) * SP_STEER_WORKERS_MAX + (w))
/* The slot after the listen ports': each worker's shared server-side
 * socket of `signaling-sockets shared` (one per family). */
#define SP_STEER_SERVER_SLOT SP_STEER_PORTS_MAX
#define SP_STEER_SOCKS ((SP_STEER_PORTS_MAX + 1) * 2 * SP_STEER_WORKERS_MAX)

/* signaling-sockets shared with workers: what servers send to C's
 * signalling ports. first 0: not steered. c4: C's IPv4 address, c6 its
 * IPv6 one, in network order as sk_lookup's local_ip4/local_ip6; has4,
 * has6: that family has a C. */
struct sp_steer_server {
	unsigned int first, last;
	unsigned int has4, has6;
	unsigned int c4;
	unsigned int c6[4];
};

/* The port owner map: one entry per family and port, the worker owning the
 * binding that holds C:port, plus one (0: no binding). Why a map the engine
 * writes and not c's worker computed from c (per-worker runs of ports in
 * the allocator): a binding's worker is its terminal's (sp_steer_pick), and
 * a binding restored from the store or synced from the peer keeps the c it
 * had there, picked under another worker count or none: only a map can say
 * that c's worker is its terminal's. It costs one map update when a
 * binding opens (and one when it closes), against a socket, a bind and an
 * epoll registration per binding without shared sockets. */
#define SP_STEER_OWNER_KEY(v6, port) ((v6) * 65536u + (port))
#define SP_STEER_OWNERS (2 * 65536)

/* The worker whose shared socket gets a server's datagram to C:port, given
 * the port's owner entry (0: none) and n workers; -1: not a signalling port
 * (the kernel's own lookup decides). No owner, or an owner beyond n (the
 * map outlived a change), goes to worker 0, which counts it as 'no binding'
 * as the one shared socket did. */
static inline int sp_steer_server_worker(const struct sp_steer_server *s, unsigned int port,
					 unsigned int owner, unsigned int n)
{
	if (!s->first || port < s->first || port > s->last)
		return -1;
	if (!owner || owner > n)
		return 0;
	return (int)(owner - 1);
}

/* The worker of a terminal: addr is its IPv4 address in host order (IPv6:
 * the four 32-bit words in host order, xored), port its port; n > 0.
 * Fibonacci hashing; the high half, as the low bits of a product of a port
 * mix poorly. */
static inline unsigned int sp_steer_pick(unsigned int addr, unsigned int port, unsigned int n)
{
	unsigned int h = (addr ^ (port << 16) ^ port) * 2654435761u;

	return (h >> 16) % n;
}

#endif
