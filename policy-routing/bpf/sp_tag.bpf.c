/* BPF tagger: 802.1Q VLAN tags and MPLS labels into the packet mark and
 * back, for kernels without 8021Q or MPLS routing (KERNEL.md
 * "Classification fields"). Loaded and attached by sigproxyd
 * (policy-routing/sp_bpf.c) on the terminal-side interfaces; the mark
 * layout is policy-routing/sp_mark.h.
 *
 * serve mode (the SP): a configured VLAN's tag (tc ingress) or MPLS label
 * (XDP, which can still move the MAC header; the slot reaches tc ingress in
 * the XDP metadata) is popped and its tag slot put in the mark (bits 8-15),
 * so nft, the policy rules and the daemon (SO_RCVMARK) see it; tc egress
 * pushes the tag or label of the slot the mark names (an answer's SO_MARK,
 * a media entry's mark).
 * peer mode (test terminals, which have neither 8021Q nor MPLS): egress
 * tags every frame (labels every IPv4 packet) with the interface's one
 * tag, ingress pops it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sp_tag.h"

#define SP_ETH_P_MPLS 0x8847

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_TAG_MAX_IFS);
	__type(key, __u32); /* ifindex */
	__type(value, struct sp_tag_if);
} sp_tag_ifs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* VID */
	__type(value, __u32); /* tag slot, 0: not ours */
} sp_tag_vid_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_TAG_SLOTS);
	__type(key, __u32);   /* MPLS label */
	__type(value, __u32); /* tag slot */
} sp_tag_label_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SP_TAG_SLOTS);
	__type(key, __u32); /* tag slot */
	__type(value, struct sp_tag_slot);
} sp_tag_slots SEC(".maps");

/* The whole 32-bit mark in one store: a store the compiler narrows to the
 * byte that changed is refused by the verifier (KERNEL.md). */
static __always_inline void sp_tag_set_slot(struct __sk_buff *skb, __u32 slot)
{
	__u32 mark = (skb->mark & ~SP_TAG_MARK_MASK) | ((slot << SP_TAG_MARK_SHIFT) & SP_TAG_MARK_MASK);

	*(volatile __u32 *)&skb->mark = mark;
}

SEC("xdp")
int sp_tag_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex, label, lse, slot = 0, *s, *meta;
	struct ethhdr *eth = data, copy;
	struct sp_tag_if *cfg;
	__u8 *ip;

	if ((void *)(eth + 1) + 4 + 1 > data_end || eth->h_proto != bpf_htons(SP_ETH_P_MPLS))
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&sp_tag_ifs, &ifindex);
	if (!cfg)
		return XDP_PASS;
	lse = bpf_ntohl(*(__u32 *)(eth + 1));
	label = lse >> 12;
	if (!(lse & 0x100))
		return XDP_PASS; /* a stack of labels: not ours */
	if (cfg->mode == SP_TAG_SERVE) {
		s = bpf_map_lookup_elem(&sp_tag_label_slot, &label);
		if (!s || !*s)
			return XDP_PASS; /* not a configured label: IP never sees it */
		slot = *s;
	}
	ip = (__u8 *)(eth + 1) + 4;
	copy = *eth;
	copy.h_proto = (*ip >> 4) == 6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	if (bpf_xdp_adjust_head(ctx, 4))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	*eth = copy;
	if (!slot)
		return XDP_PASS;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return XDP_PASS; /* untagged now, but unclassified: no strategy matches */
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return XDP_PASS;
	*meta = SP_TAG_META_MAGIC | slot;
	return XDP_PASS;
}

SEC("tc")
int sp_tag_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, vid, *slot;
	struct sp_tag_if *cfg = bpf_map_lookup_elem(&sp_tag_ifs, &ifindex);
	void *data = (void *)(long)skb->data;
	__u32 *meta = (void *)(long)skb->data_meta;

	if (!cfg)
		return TC_ACT_OK;
	if ((void *)(meta + 1) <= data && (*meta & 0xffff0000u) == SP_TAG_META_MAGIC) {
		/* an MPLS label the XDP program popped */
		sp_tag_set_slot(skb, *meta & 0xffu);
		return TC_ACT_OK;
	}
	if (!skb->vlan_present)
		return TC_ACT_OK;
	vid = skb->vlan_tci & 0x0fff;
	if (cfg->mode == SP_TAG_PEER) {
		if (cfg->kind == SP_TAG_VLAN && vid == cfg->value)
			bpf_skb_vlan_pop(skb);
		return TC_ACT_OK;
	}
	slot = bpf_map_lookup_elem(&sp_tag_vid_slot, &vid);
	if (!slot || !*slot)
		return TC_ACT_OK; /* not a configured VLAN: left tagged, IP drops it */
	if (bpf_skb_vlan_pop(skb))
		return TC_ACT_SHOT;
	sp_tag_set_slot(skb, *slot);
	return TC_ACT_OK;
}

static __always_inline int sp_tag_push_label(struct __sk_buff *skb, __u32 label)
{
	__u16 proto = bpf_htons(SP_ETH_P_MPLS);
	__u32 lse = bpf_htonl(label << 12 | 0x100 | 64); /* bottom of stack, TTL 64 */

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_adjust_room(skb, 4, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 12, &proto, sizeof(proto), 0) ||
	    bpf_skb_store_bytes(skb, 14, &lse, sizeof(lse), 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int sp_tag_egress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, slot, kind = 0, value = 0;
	struct sp_tag_if *cfg = bpf_map_lookup_elem(&sp_tag_ifs, &ifindex);
	struct sp_tag_slot *t;

	if (!cfg || skb->vlan_present)
		return TC_ACT_OK;
	if (cfg->mode == SP_TAG_PEER) {
		kind = cfg->kind;
		value = cfg->value;
	} else {
		slot = (skb->mark & SP_TAG_MARK_MASK) >> SP_TAG_MARK_SHIFT;
		if (!slot)
			return TC_ACT_OK;
		t = bpf_map_lookup_elem(&sp_tag_slots, &slot);
		if (t) {
			kind = t->kind;
			value = t->value;
		}
	}
	if (kind == SP_TAG_MPLS && value)
		return sp_tag_push_label(skb, value);
	if (kind == SP_TAG_VLAN && value &&
	    bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), (__u16)value))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
