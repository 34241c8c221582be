/* The BPF tagger (policy-routing/bpf/sp_tag.bpf.c), loaded with libbpf
 * from the object built into the daemon, attached on the XDP hook and the
 * clsact ingress and egress hooks of the interfaces sigproxyd serves and
 * taken off again on exit. On a kernel without 802.1Q or MPLS routing it
 * carries `match vlan` and `match mpls-label`: ingress pops a configured
 * VLAN's tag (tc) or MPLS label (XDP) into the mark's tag slot (sp_mark.h),
 * egress pushes the tag or label the mark names back on.
 */
#ifndef SP_BPF_H
#define SP_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sp_error.h"

#define SP_BPF_SERVE 1 /* = SP_TAG_SERVE */
#define SP_BPF_PEER 2  /* = SP_TAG_PEER: one tag on everything (test peers) */
#define SP_BPF_TAG_VLAN 1 /* = SP_TAG_VLAN */
#define SP_BPF_TAG_MPLS 2 /* = SP_TAG_MPLS */

/* A tag a tag slot stands for. */
struct sp_bpf_tag {
	uint32_t kind;  /* SP_BPF_TAG_VLAN or SP_BPF_TAG_MPLS */
	uint32_t value; /* VID or label */
};

struct sp_bpf;

/* Loads the programs and their maps (needs CAP_BPF/CAP_NET_ADMIN). */
int sp_bpf_open(struct sp_bpf **out, struct sp_error *err);
/* detach: take the programs off every interface (else they stay attached,
 * with their maps, after the process: what the test peers want). */
void sp_bpf_close(struct sp_bpf *b, bool detach);

/* Attaches on ifname's ingress and egress (a clsact qdisc is created if
 * missing, and removed on detach if we created it). Again on an attached
 * interface only updates its mode. */
int sp_bpf_attach(struct sp_bpf *b, const char *ifname, uint32_t mode, const struct sp_bpf_tag *peer,
		  struct sp_error *err);
/* Takes the programs off every attached interface not in keep[n]. */
void sp_bpf_detach_others(struct sp_bpf *b, const char *const *keep, size_t n);
bool sp_bpf_attached(const struct sp_bpf *b, const char *ifname);
/* Tag slot i + 1 is tags[i] (at most 255), both ways. */
int sp_bpf_set_tags(struct sp_bpf *b, const struct sp_bpf_tag *tags, size_t n, struct sp_error *err);

#endif
