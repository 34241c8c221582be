/* Interfaces and label routes as rtnetlink describes them, for
 * classification (SPEC §2.2 on a router kernel):
 * - VLAN ID: a tagged frame arrives on its VLAN device (eth0.42, kind "vlan",
 *   IFLA_VLAN_ID 42);
 * - VPN ID: a VRF device (kind "vrf", IFLA_VRF_TABLE) and the links enslaved
 *   to it (IFLA_MASTER) form a VPN (sp_vpn_add_vrfs() names it);
 * - MPLS label: the kernel's AF_MPLS route of the label.
 * Kernels without 802.1Q, VRF and MPLS (this machine's) have none of these:
 * there the BPF tagger and configured vpn-ids do the job. The parsers are
 * pure (fed with messages in the unit tests); the dumps talk rtnetlink. */
#ifndef SP_LINK_H
#define SP_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sp_error.h"

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
int sp_link_vlans(struct sp_link_vlan **out, size_t *n, struct sp_error *err);

/* One link, as classification sees it. */
struct sp_link_info {
	char ifname[IFNAMSIZ];
	int ifindex;
	int master;         /* ifindex of its master (IFLA_MASTER), 0: none */
	unsigned flags;     /* ifi_flags: IFF_UP */
	uint16_t vlan_id;   /* 0: not a VLAN device */
	bool is_vrf;        /* a VRF device */
	uint32_t vrf_table; /* its routing table (IFLA_VRF_TABLE) */
};

/* Pure: RTM_NEWLINK or RTM_DELLINK -> 1 and *out filled; -1 malformed (a
 * short header, bad attributes, no name). */
int sp_link_parse(const struct nlmsghdr *nlh, struct sp_link_info *out);

/* A member of a VRF: the VRF device itself, or a link enslaved to it. */
struct sp_link_vrf {
	char ifname[IFNAMSIZ];
	char vrf[IFNAMSIZ];
	uint32_t table;
};

/* Pure: the VRF devices among links and the links whose master is one of
 * them, at most max; returns how many. */
size_t sp_link_vrf_members(const struct sp_link_info *links, size_t n, struct sp_link_vrf *out,
			   size_t max);

/* One AF_MPLS route: what the kernel does with frames carrying label. */
struct sp_link_mpls_route {
	uint32_t label;
	int oif;               /* 0: none (a multipath route: its first hop's) */
	char dev[IFNAMSIZ];    /* oif's name, filled by sp_link_state_read() */
	bool has_via;          /* forwarded to a next hop (RTA_VIA) */
	char via[48];          /* its address, text */
	bool swap;             /* RTA_NEWDST: label switched, not popped */
	uint32_t out_label;    /* the first outgoing label when swap */
};

/* Pure: RTM_NEWROUTE/RTM_DELROUTE of family AF_MPLS -> 1 and *out filled;
 * 0 for a route of another family; -1 malformed. */
int sp_link_parse_mpls_route(const struct nlmsghdr *nlh, struct sp_link_mpls_route *out);
/* Pure: the label's route delivers the popped packet to IP on this host
 * (no next hop, no new label: `ip -f mpls route add N dev lo`). */
bool sp_link_mpls_local(const struct sp_link_mpls_route *r);
/* "routed by the kernel to dev X via inet A, label swapped to M" */
void sp_link_mpls_describe(const struct sp_link_mpls_route *r, char *buf, size_t len);

/* What rtnetlink says now: every link, and the MPLS label routes (none
 * where the kernel has no MPLS: mpls_supported false). */
struct sp_link_state {
	struct sp_link_info *links;
	size_t n_links;
	struct sp_link_mpls_route *mpls;
	size_t n_mpls;
	bool mpls_supported;
};

/* 0, or -1 with a reason in err (*s then empty but freeable). */
int sp_link_state_read(struct sp_link_state *s, struct sp_error *err);
void sp_link_state_free(struct sp_link_state *s);
/* The VLAN devices of a state (malloc'ed, *n entries; NULL when none). */
struct sp_link_vlan *sp_link_state_vlans(const struct sp_link_state *s, size_t *n);

#endif
