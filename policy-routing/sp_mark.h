/* The packet mark: how the kernel's classification reaches the daemon
 * (SO_RCVMARK on the listeners) and how an answer tells the kernel where it
 * goes back to (SO_MARK). One 32-bit word, shared by nftables, the policy
 * rules, the conntrack entries of the media and (on kernels without 802.1Q or
 * MPLS routing) the tc-BPF programs.
 *
 *   bit 31      RETURN: an answer going back into a VPN (egress only); the
 *               VPN's rule `fwmark RETURN|vpn/RETURN|0xff` routes it
 *   bit 30      TPROXY: the packet was intercepted for the daemon (ingress);
 *               the interception rule matches this bit alone
 *   bits 16-29  strategy slot, 1..16383 (ingress; 0 = no strategy): the
 *               strategy's position in sequence order, not its seq number,
 *               so any seq works and 10 000+ strategies fit. On egress these
 *               bits are free and the return path (sp_retpath.h) uses bit 29
 *               and bits 16-23 for its own slots.
 *   bits 8-15   tag slot, 1..255 (both ways; 0 = untagged): a configured
 *               VLAN id or MPLS label. A VID takes 12 bits and a label 20, and
 *               the VPN and strategy fields leave too little room for both,
 *               so the classifier maps the values the configuration names to
 *               small slots (nft and BPF maps); egress maps the slot back.
 *   bits 0-7    VPN slot, 1..255 (both ways; 0 = global): the configured
 *               vpn-ids in ascending order; the VPN's conntrack zone is its
 *               vpn-id.
 *
 * The low 16 bits (VPN and tag) are also the low half of the media conntrack
 * entries' mark (the upper half is SP_CT_MARK), so a media packet coming
 * back from the far side gets them with one `meta mark set ct mark & 0xffff`.
 */
#ifndef SP_MARK_H
#define SP_MARK_H

#include <stdbool.h>
#include <stdint.h>

#define SP_MARK_RETURN 0x80000000u
#define SP_MARK_TPROXY 0x40000000u
#define SP_MARK_STRATEGY_SHIFT 16
#define SP_MARK_STRATEGY_MASK 0x3fff0000u
#define SP_MARK_TAG_SHIFT 8
#define SP_MARK_TAG_MASK 0x0000ff00u
#define SP_MARK_VPN_SHIFT 0
#define SP_MARK_VPN_MASK 0x000000ffu
/* What a datagram carries from where it came from, kept with its binding. */
#define SP_MARK_ORIGIN_MASK (SP_MARK_TAG_MASK | SP_MARK_VPN_MASK)

#define SP_MARK_STRATEGY_MAX 16383u
#define SP_MARK_TAG_MAX 255u
#define SP_MARK_VPN_MAX 255u

/* The bits the interception rules set; the VPN and tag bits set before them
 * (raw prerouting, tc ingress) survive. */
#define SP_MARK_MASK (SP_MARK_TPROXY | SP_MARK_STRATEGY_MASK)

struct sp_mark_fields {
	bool tproxy;
	bool ret;
	uint32_t strategy; /* slot, 0..SP_MARK_STRATEGY_MAX */
	uint32_t tag;      /* slot, 0..SP_MARK_TAG_MAX */
	uint32_t vpn;      /* slot, 0..SP_MARK_VPN_MAX */
};

/* A field out of range is refused rather than spilled into its neighbour. */
static inline bool sp_mark_encode(const struct sp_mark_fields *f, uint32_t *mark)
{
	if (f->strategy > SP_MARK_STRATEGY_MAX || f->tag > SP_MARK_TAG_MAX || f->vpn > SP_MARK_VPN_MAX)
		return false;
	*mark = (f->ret ? SP_MARK_RETURN : 0) | (f->tproxy ? SP_MARK_TPROXY : 0) |
		f->strategy << SP_MARK_STRATEGY_SHIFT | f->tag << SP_MARK_TAG_SHIFT |
		f->vpn << SP_MARK_VPN_SHIFT;
	return true;
}

static inline void sp_mark_decode(uint32_t mark, struct sp_mark_fields *f)
{
	f->ret = (mark & SP_MARK_RETURN) != 0;
	f->tproxy = (mark & SP_MARK_TPROXY) != 0;
	f->strategy = (mark & SP_MARK_STRATEGY_MASK) >> SP_MARK_STRATEGY_SHIFT;
	f->tag = (mark & SP_MARK_TAG_MASK) >> SP_MARK_TAG_SHIFT;
	f->vpn = (mark & SP_MARK_VPN_MASK) >> SP_MARK_VPN_SHIFT;
}

/* The interception mark of the strategy in slot (1-based). */
static inline uint32_t sp_mark_strategy(uint32_t slot)
{
	return SP_MARK_TPROXY | (slot << SP_MARK_STRATEGY_SHIFT & SP_MARK_STRATEGY_MASK);
}

static inline uint32_t sp_mark_strategy_slot(uint32_t mark)
{
	return (mark & SP_MARK_TPROXY) ? (mark & SP_MARK_STRATEGY_MASK) >> SP_MARK_STRATEGY_SHIFT : 0;
}

static inline uint32_t sp_mark_vpn_slot(uint32_t mark)
{
	return (mark & SP_MARK_VPN_MASK) >> SP_MARK_VPN_SHIFT;
}

/* The mark of an answer going back where a datagram with mark came from. */
static inline uint32_t sp_mark_return(uint32_t mark)
{
	return (mark & SP_MARK_ORIGIN_MASK) ? SP_MARK_RETURN | (mark & SP_MARK_ORIGIN_MASK) : 0;
}

#endif
