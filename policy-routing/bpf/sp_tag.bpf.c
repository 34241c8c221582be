/* tc-BPF tagger: 802.1Q VLAN tags into the packet mark and back, for
 * kernels without 8021Q (KERNEL.md "Classification fields"). Loaded and
 * attached by sigproxyd (policy-routing/sp_bpf.c) on the clsact hooks of the
 * terminal-side interfaces; the mark layout is policy-routing/sp_mark.h.
 *
 * serve mode (the SP): ingress pops a tag whose VID has a tag slot and puts
 * the slot in the mark (bits 8-15), so nft, the policy rules and the daemon
 * (SO_RCVMARK) see it; egress pushes the VID of the slot the mark names
 * (an answer's SO_MARK, a media entry's mark).
 * peer mode (test terminals, which have no 8021Q either): egress tags every
 * untagged frame with the interface's VID, ingress pops that VID.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sp_tag.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_TAG_MAX_IFS);
	__type(key, __u32); /* ifindex */
	__type(value, struct sp_tag_if);
} sp_tag_ifs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32); /* VID */
	__type(value, __u32); /* tag slot, 0: not ours */
} sp_tag_vid_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SP_TAG_SLOTS);
	__type(key, __u32); /* tag slot */
	__type(value, __u32); /* VID, 0: none */
} sp_tag_slot_vid SEC(".maps");

/* The whole 32-bit mark in one store: a store the compiler narrows to the
 * byte that changed is refused by the verifier (KERNEL.md). */
static __always_inline void sp_tag_set_mark(struct __sk_buff *skb, __u32 mark)
{
	*(volatile __u32 *)&skb->mark = mark;
}

SEC("tc")
int sp_tag_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, vid, *slot;
	struct sp_tag_if *cfg = bpf_map_lookup_elem(&sp_tag_ifs, &ifindex);

	if (!cfg || !skb->vlan_present)
		return TC_ACT_OK;
	vid = skb->vlan_tci & 0x0fff;
	if (cfg->mode == SP_TAG_PEER) {
		if (vid == cfg->vid)
			bpf_skb_vlan_pop(skb);
		return TC_ACT_OK;
	}
	slot = bpf_map_lookup_elem(&sp_tag_vid_slot, &vid);
	if (!slot || !*slot)
		return TC_ACT_OK; /* not a configured VLAN: left tagged, IP drops it */
	if (bpf_skb_vlan_pop(skb))
		return TC_ACT_SHOT;
	sp_tag_set_mark(skb, (skb->mark & ~SP_TAG_MARK_MASK) |
				     ((*slot << SP_TAG_MARK_SHIFT) & SP_TAG_MARK_MASK));
	return TC_ACT_OK;
}

SEC("tc")
int sp_tag_egress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, vid = 0, slot, *v;
	struct sp_tag_if *cfg = bpf_map_lookup_elem(&sp_tag_ifs, &ifindex);

	if (!cfg || skb->vlan_present)
		return TC_ACT_OK;
	if (cfg->mode == SP_TAG_PEER) {
		vid = cfg->vid;
	} else {
		slot = (skb->mark & SP_TAG_MARK_MASK) >> SP_TAG_MARK_SHIFT;
		if (!slot)
			return TC_ACT_OK;
		v = bpf_map_lookup_elem(&sp_tag_slot_vid, &slot);
		if (v)
			vid = *v;
	}
	if (!vid)
		return TC_ACT_OK;
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), (__u16)vid))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
