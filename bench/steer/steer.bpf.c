/* bench/steer: an sk_lookup program that picks worker (source port % N)'s
 * listener for UDP to port 5060, TPROXY'd datagrams included (see run). */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define WORKERS_MAX 16

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, WORKERS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} workers SEC(".maps");

const volatile __u32 n_workers = 1;

SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *sk;
	__u32 idx;

	if (ctx->protocol != IPPROTO_UDP || ctx->local_port != 5060 || !n_workers)
		return SK_PASS;
	/* remote_port is in network order in the low 16 bits */
	idx = bpf_ntohs((__u16)ctx->remote_port) % n_workers;
	sk = bpf_map_lookup_elem(&workers, &idx);
	if (!sk)
		return SK_PASS;
	/* the worker's socket itself, not its reuseport group's choice */
	bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
