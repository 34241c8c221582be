/* The tc-BPF tagger (policy-routing/bpf/sp_tag.bpf.c), loaded with libbpf
 * from the object built into the daemon, attached on the clsact ingress and
 * egress hooks of the interfaces sigproxyd serves and taken off again on
 * exit. On a kernel without 802.1Q it carries `match vlan`: ingress pops a
 * configured VLAN's tag into the mark's tag slot (sp_mark.h), egress pushes
 * the tag the mark names back on.
 */
#ifndef SP_BPF_H
#define SP_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_BPF_SERVE 1 /* = SP_TAG_SERVE */
#define SP_BPF_PEER 2  /* = SP_TAG_PEER: tag everything with one VID (test peers) */

struct sp_bpf;

/* Loads the programs and their maps (needs CAP_BPF/CAP_NET_ADMIN). */
int sp_bpf_open(struct sp_bpf **out, char *err, size_t errlen);
/* detach: take the programs off every interface (else they stay attached,
 * with their maps, after the process: what the test peers want). */
void sp_bpf_close(struct sp_bpf *b, bool detach);

/* Attaches on ifname's ingress and egress (a clsact qdisc is created if
 * missing, and removed on detach if we created it). Again on an attached
 * interface only updates its mode. */
int sp_bpf_attach(struct sp_bpf *b, const char *ifname, uint32_t mode, uint32_t vid, char *err,
		  size_t errlen);
/* Takes the programs off every attached interface not in keep[n]. */
void sp_bpf_detach_others(struct sp_bpf *b, const char *const *keep, size_t n);
bool sp_bpf_attached(const struct sp_bpf *b, const char *ifname);
/* Tag slot i + 1 is VLAN vids[i] (ascending, at most 255), both ways. */
int sp_bpf_set_vlans(struct sp_bpf *b, const uint16_t *vids, size_t n, char *err, size_t errlen);

#endif
