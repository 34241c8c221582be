/* Interfaces as rtnetlink describes them, for classification: which VLAN
 * sub-interface carries which VLAN id (SPEC §2.2 "VLAN ID" on a kernel with
 * 802.1Q: a tagged frame arrives on its VLAN device, eth0.42 for VLAN 42).
 * Kernels without 802.1Q (this machine's) have no such devices: there the
 * tc-BPF classifier marks the packets instead. */
#ifndef SP_LINK_H
#define SP_LINK_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

struct sp_link_vlan {
	char ifname[IFNAMSIZ];
	uint16_t vlan_id;
};

/* Pure: one RTM_NEWLINK message -> its VLAN id. 1 and *out filled for a
 * VLAN device, 0 for any other link, -1 for a malformed message. */
int sp_link_parse_vlan(const struct nlmsghdr *nlh, struct sp_link_vlan *out);

/* Dumps the links of this network namespace and returns the VLAN devices
 * (*out malloc'ed, *n entries). 0, or -1 with a reason in err. */
int sp_link_vlans(struct sp_link_vlan **out, size_t *n, char *err, size_t errlen);

#endif
