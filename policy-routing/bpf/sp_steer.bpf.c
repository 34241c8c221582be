/* The steering of terminals to engine workers (issue 21 item 3, HACKING.md
 * "N engine workers"): an sk_lookup program attached to the namespace picks,
 * for a UDP datagram to one of sigproxy's listen ports, the listener of the
 * worker that owns its terminal (a hash of the terminal's address and port),
 * whatever E it was sent to. It runs inside the socket lookup that TPROXY
 * does too; a SO_REUSEPORT program would not (bench/steer/run: the reuseport
 * group is never asked for TPROXY's datagrams). Without an entry for that
 * worker it leaves the choice to the kernel.
 *
 * With `signaling-sockets shared` it also picks, for a UDP datagram a
 * server sends to one of C's signalling ports, the shared server-side
 * socket of the worker owning the binding that holds that port (the port
 * owner map, which the engine writes). No TPROXY rule then: TPROXY's own
 * lookup would run this program with the redirect port, not C's port. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sp_steer_map.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* [0]: the number of workers */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sp_steer_n SEC(".maps");

/* listen port (host order) -> its slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_STEER_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} sp_steer_ports SEC(".maps");

/* SP_STEER_KEY(slot, v6, worker) -> that listener */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, SP_STEER_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} sp_steer_socks SEC(".maps");

/* [0]: C's addresses and signalling ports (signaling-sockets shared) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_steer_server);
} sp_steer_srv SEC(".maps");

/* SP_STEER_OWNER_KEY(v6, port) -> the owning worker + 1 (0: none) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SP_STEER_OWNERS);
	__type(key, __u32);
	__type(value, __u32);
} sp_steer_owner SEC(".maps");

/* Hands ctx to sock key's socket (itself, not its reuseport group's
 * choice); without one, the kernel's own lookup decides. */
static int sp_steer_assign(struct bpf_sk_lookup *ctx, __u32 key)
{
	struct bpf_sock *sk = bpf_map_lookup_elem(&sp_steer_socks, &key);

	if (!sk)
		return SK_PASS;
	bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	return SK_PASS;
}

/* Is the datagram's destination C of its family? The context's fields
 * are read one by one, up front: the verifier refuses a context pointer
 * the compiler moved to pick the IPv4 or IPv6 field. The map value's too,
 * before a barrier: clang would otherwise merge the two families' last
 * comparisons into one load through srv moved by 16 (c4) or 32 (c6[3]),
 * and without CAP_PERFMON the verifier's Spectre v1 rules refuse a pointer
 * moved by different offsets on different paths ("R0 tried to add from
 * different maps, paths or scalars, pointer arithmetic with it prohibited
 * for !root"). */
static int sp_steer_to_c(const struct bpf_sk_lookup *ctx, const struct sp_steer_server *srv, __u32 v6)
{
	__u32 l4 = ctx->local_ip4, l6_0 = ctx->local_ip6[0], l6_1 = ctx->local_ip6[1],
	      l6_2 = ctx->local_ip6[2], l6_3 = ctx->local_ip6[3];
	__u32 has4 = srv->has4, c4 = srv->c4, has6 = srv->has6, c6_0 = srv->c6[0], c6_1 = srv->c6[1],
	      c6_2 = srv->c6[2], c6_3 = srv->c6[3];

	barrier();
	if (!v6)
		return has4 && l4 == c4;
	return has6 && l6_0 == c6_0 && l6_1 == c6_1 && l6_2 == c6_2 && l6_3 == c6_3;
}

/* A server's datagram to C:port: 1 if handled (assigned or left). */
static int sp_steer_server_side(struct bpf_sk_lookup *ctx, __u32 port, __u32 v6, __u32 n)
{
	__u32 zero = 0, okey = SP_STEER_OWNER_KEY(v6, port), *owner;
	struct sp_steer_server *srv = bpf_map_lookup_elem(&sp_steer_srv, &zero);
	int w;

	if (!srv || !sp_steer_to_c(ctx, srv, v6))
		return 0;
	owner = bpf_map_lookup_elem(&sp_steer_owner, &okey);
	w = sp_steer_server_worker(srv, port, owner ? *owner : 0, n);
	if (w < 0 || w >= SP_STEER_WORKERS_MAX)
		return 0;
	sp_steer_assign(ctx, SP_STEER_KEY(SP_STEER_SERVER_SLOT, v6, (__u32)w));
	return 1;
}

SEC("sk_lookup")
int sp_steer(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0, port, key, addr, v6, *n, *slot;

	if (ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	port = ctx->local_port;
	v6 = ctx->family != AF_INET;
	n = bpf_map_lookup_elem(&sp_steer_n, &zero);
	if (!n || !*n)
		return SK_PASS;
	if (sp_steer_server_side(ctx, port, v6, *n))
		return SK_PASS;
	slot = bpf_map_lookup_elem(&sp_steer_ports, &port);
	if (!slot || *slot >= SP_STEER_PORTS_MAX)
		return SK_PASS;
	if (!v6)
		addr = bpf_ntohl(ctx->remote_ip4);
	else
		addr = bpf_ntohl(ctx->remote_ip6[0]) ^ bpf_ntohl(ctx->remote_ip6[1]) ^
		       bpf_ntohl(ctx->remote_ip6[2]) ^ bpf_ntohl(ctx->remote_ip6[3]);
	/* remote_port: network order in the low 16 bits */
	key = SP_STEER_KEY(*slot, v6, sp_steer_pick(addr, bpf_ntohs((__u16)ctx->remote_port), *n));
	return sp_steer_assign(ctx, key);
}

char LICENSE[] SEC("license") = "GPL";
