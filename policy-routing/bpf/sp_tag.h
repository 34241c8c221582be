/* Shared between the tc-BPF tagger (sp_tag.bpf.c) and its loader (sp_bpf.c). */
#ifndef SP_TAG_H
#define SP_TAG_H

#define SP_TAG_SERVE 1 /* the SP: tags <-> mark slots */
#define SP_TAG_PEER 2  /* a test terminal: one VID on everything */
#define SP_TAG_MAX_IFS 64
#define SP_TAG_SLOTS 256
/* = SP_MARK_TAG_MASK / SP_MARK_TAG_SHIFT of sp_mark.h */
#define SP_TAG_MARK_MASK 0x0000ff00u
#define SP_TAG_MARK_SHIFT 8

struct sp_tag_if {
	__u32 mode;
	__u32 vid; /* peer mode */
};

#endif
