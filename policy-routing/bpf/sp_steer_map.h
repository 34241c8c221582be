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
#define SP_STEER_SOCKS (SP_STEER_PORTS_MAX * 2 * SP_STEER_WORKERS_MAX)

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
