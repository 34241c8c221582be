/* Shared between the BPF tagger (sp_tag.bpf.c) and its loader (sp_bpf.c). */
#ifndef SP_TAG_H
#define SP_TAG_H

#define SP_TAG_SERVE 1 /* the SP: tags <-> mark slots */
#define SP_TAG_PEER 2  /* a test terminal: one tag on everything */
#define SP_TAG_VLAN 1  /* tag kinds */
#define SP_TAG_MPLS 2
#define SP_TAG_MAX_IFS 64
#define SP_TAG_SLOTS 256
/* = SP_MARK_TAG_MASK / SP_MARK_TAG_SHIFT of sp_mark.h */
#define SP_TAG_MARK_MASK 0x0000ff00u
#define SP_TAG_MARK_SHIFT 8
/* XDP metadata handed to tc ingress: this in the upper half, the slot below */
#define SP_TAG_META_MAGIC 0x53500000u

struct sp_tag_if {
	__u32 mode;
	__u32 kind;  /* peer mode: SP_TAG_VLAN or SP_TAG_MPLS */
	__u32 value; /* peer mode: VID or label */
};

/* What a tag slot stands for (egress). */
struct sp_tag_slot {
	__u32 kind; /* 0: unused */
	__u32 value;
};

#endif
