/*
 * Media in the kernel (the MP): NATed conntrack entries for RTP/RTCP,
 * programmed through libnetfilter_conntrack on one netlink handle kept for
 * the daemon's life (LIBRARIES.md).
 *
 * One entry carries a stream both ways (KERNEL.md): its original tuple is
 * T:t -> E:pe with SNAT to C:pc and DNAT to F:f, so its reply tuple is
 * F:f -> C:pc. Every entry carries the owner's conntrack mark, so the
 * entries a crashed run left behind can be listed and removed. The NAT is
 * only applied when the namespace has a `type nat` chain and conntrack runs
 * (sp_nft's table provides both).
 *
 * IPv4 or IPv6: the four endpoints of an entry share one family (no
 * translation between the families); -EAFNOSUPPORT otherwise.
 */
#ifndef SP_CONNTRACK_H
#define SP_CONNTRACK_H

#include <stdint.h>
#include <stddef.h>

#include "sp_endpoint.h"
#include "sp_error.h"

/* The conntrack mark of sigproxy's media entries (upper half, "SP"; the
 * lower half is the entry's origin). */
#define SP_CT_MARK 0x53500000u
#define SP_CT_MARK_MASK 0xffff0000u

/* One NATed UDP entry: the terminal's flow to E:pe, seen by the far side as
 * coming from C:pc. */
struct sp_ct_nat {
	struct sp_endpoint terminal;	/* T:t, original source */
	struct sp_endpoint terminal_side;	/* E:pe, original destination */
	struct sp_endpoint far;		/* F:f, reply source (DNAT target) */
	struct sp_endpoint far_side;	/* C:pc, reply destination (SNAT) */
	/* The terminal's VPN: the original direction's conntrack zone (the
	 * far side's replies stay in zone 0), 0 = none. */
	uint16_t zone;
	/* Where the terminal is, in the packet mark's low bits (VPN and tag
	 * slots, sp_mark.h): the low half of the entry's mark. */
	uint16_t origin;
};

struct sp_ct_counters {
	uint64_t orig_packets, orig_bytes;	/* terminal -> far */
	uint64_t reply_packets, reply_bytes;	/* far -> terminal */
};

struct sp_conntrack;

/* Opens the handle and turns conntrack accounting on in this namespace
 * (net.netfilter.nf_conntrack_acct=1). 0, or -1 with err set. */
int sp_conntrack_open(struct sp_conntrack **out, struct sp_error *err);
void sp_conntrack_close(struct sp_conntrack *ct);

/* 0 or -errno (-EEXIST: the tuple is taken, -EINVAL, -EAFNOSUPPORT). */
int sp_conntrack_create(struct sp_conntrack *ct, const struct sp_ct_nat *n, uint32_t timeout_s);
/* 0 or -errno (-ENOENT: already gone, e.g. timed out). */
int sp_conntrack_delete(struct sp_conntrack *ct, const struct sp_ct_nat *n);
/* Counters of the entry with n's original tuple; 0 or -errno. */
int sp_conntrack_counters(struct sp_conntrack *ct, const struct sp_ct_nat *n,
			  struct sp_ct_counters *c);
/* Every entry carrying SP_CT_MARK, into a malloc'ed array (*out, free()).
 * Returns the count or -errno. */
int sp_conntrack_list(struct sp_conntrack *ct, struct sp_ct_nat **out);
/* Deletes every entry carrying SP_CT_MARK; returns how many, or -errno. */
int sp_conntrack_flush(struct sp_conntrack *ct);

/* "T:t -> E:pe => C:pc -> F:f", for logs. */
char *sp_ct_nat_format(const struct sp_ct_nat *n, char *buf, size_t len);

#endif
