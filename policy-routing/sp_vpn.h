/* VPNs on a kernel without VRF (SPEC §2.2, KERNEL.md "Classification
 * fields"): an interface configured `vpn-id N` belongs to VPN N.
 *
 * - Ingress: nft raw prerouting puts every packet of a VPN interface in
 *   conntrack zone N (two VPNs may reuse the same addresses) and its VPN slot
 *   in the mark (sp_mark.h), which the daemon reads with SO_RCVMARK.
 * - Egress: an answer carries SP_MARK_RETURN | slot; the VPN's policy rule
 *   sends it to the VPN's own table, which holds copies of the main table's
 *   routes through the VPN's interfaces. Media coming back from the far side
 *   gets the same mark from its conntrack entry's mark.
 *
 * The map and the nft text are pure; install/remove talk rtnetlink.
 */
#ifndef SP_VPN_H
#define SP_VPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#include "sp_link.h"
#include "sp_mark.h"
#include "sp_rtnl.h"
#include "sp_error.h"

/* After the interception rule (100), before the return path's (200). */
#define SP_VPN_RULE_PRIORITY 150
/* Table of VPN slot i: SP_VPN_TABLE_BASE + i. */
#define SP_VPN_TABLE_BASE 5062000u
#define SP_VPN_MAX_IFS 64
#define SP_VPN_ZONE_MAX 65535u

struct sp_vpn_if {
	char ifname[IFNAMSIZ];
	uint32_t vpn_id;
};

struct sp_vpn_map {
	uint32_t ids[SP_MARK_VPN_MAX + 1]; /* slot -> vpn-id; [0] unused */
	unsigned n;                        /* slots 1..n used */
	struct sp_vpn_if ifs[SP_VPN_MAX_IFS];
	size_t n_ifs;
};

/* VRF members (sp_link_vrf_members()) as VPN interfaces, appended to the
 * configured ones in ifs[0..n): a VRF's VPN is the vpn-id configured on the
 * VRF device's `interface` block, else its table id; an interface with a
 * configured vpn-id of its own keeps that. Returns the new count (at most
 * max). A VRF whose table id is no conntrack zone (above 65535) and has no
 * configured vpn-id is left out, said in warn (else warn is ""). Pure. */
size_t sp_vpn_add_vrfs(struct sp_vpn_if *ifs, size_t n, size_t max, const struct sp_link_vrf *vrfs,
		       size_t n_vrfs, char *warn, size_t warnlen);

/* Slots in ascending vpn-id order. -1 with err: too many VPNs or interfaces,
 * or a vpn-id that is not a conntrack zone (1..65535). */
int sp_vpn_map_build(struct sp_vpn_map *map, const struct sp_vpn_if *ifs, size_t n, struct sp_error *err);
/* 0 when vpn_id has no slot. */
unsigned sp_vpn_slot(const struct sp_vpn_map *map, uint32_t vpn_id);
/* 0 (global) for slot 0 or an unknown slot. */
uint32_t sp_vpn_id(const struct sp_vpn_map *map, unsigned slot);

/* The chains that go into sigproxy's nft table (empty text without VPNs, but
 * the media return rule is always there); *text malloc'ed. */
int sp_vpn_render_nft(const struct sp_vpn_map *map, uint32_t ct_mark, uint32_t ct_mark_mask,
		      char **text);

struct sp_vpn_kernel;

struct sp_vpn_kernel *sp_vpn_kernel_new(struct sp_rtnl *rtnl);
/* Replaces the rules and tables of the previous apply with those of map.
 * Failures are per VPN: logged in err (the last one) and -1, the rest in place. */
int sp_vpn_kernel_apply(struct sp_vpn_kernel *k, const struct sp_vpn_map *map, struct sp_error *err);
/* Removes everything it installed and frees k. */
void sp_vpn_kernel_free(struct sp_vpn_kernel *k);
/* What the last apply installed for vpn_id: its table's routes and whether
 * its rule is in. 0, or -1 when the VPN has nothing installed. */
int sp_vpn_kernel_state(const struct sp_vpn_kernel *k, uint32_t vpn_id, size_t *n_routes,
			bool *rule_installed);

#endif
