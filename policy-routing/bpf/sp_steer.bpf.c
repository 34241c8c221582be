/* The steering of terminals to engine workers (issue 21 item 3, HACKING.md
 * "N engine workers"): an sk_lookup program attached to the namespace picks,
 * for a UDP datagram to one of sigproxy's listen ports, the listener of the
 * worker that owns its terminal (a hash of the terminal's address and port),
 * whatever E it was sent to. It runs inside the socket lookup that TPROXY
 * does too; a SO_REUSEPORT program would not (bench/steer/run: the reuseport
 * group is never asked for TPROXY's datagrams). Without an entry for that
 * worker it leaves the choice to the kernel. */
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

SEC("sk_lookup")
int sp_steer(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0, port, key, addr, v6, *n, *slot;
	struct bpf_sock *sk;

	if (ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	port = ctx->local_port;
	slot = bpf_map_lookup_elem(&sp_steer_ports, &port);
	n = bpf_map_lookup_elem(&sp_steer_n, &zero);
	if (!slot || !n || !*n || *slot >= SP_STEER_PORTS_MAX)
		return SK_PASS;
	v6 = ctx->family != AF_INET;
	if (!v6)
		addr = bpf_ntohl(ctx->remote_ip4);
	else
		addr = bpf_ntohl(ctx->remote_ip6[0]) ^ bpf_ntohl(ctx->remote_ip6[1]) ^
		       bpf_ntohl(ctx->remote_ip6[2]) ^ bpf_ntohl(ctx->remote_ip6[3]);
	/* remote_port: network order in the low 16 bits */
	key = SP_STEER_KEY(*slot, v6, sp_steer_pick(addr, bpf_ntohs((__u16)ctx->remote_port), *n));
	sk = bpf_map_lookup_elem(&sp_steer_socks, &key);
	if (!sk)
		return SK_PASS;
	/* the worker's socket itself, not its reuseport group's choice */
	bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
