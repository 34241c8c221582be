/* Classification (SPEC §2.2): the proxy strategies turned into what the
 * kernel matches. Every strategy becomes nftables entries in sequence order
 * (first match wins); a proxy strategy's entries TPROXY the datagram to the
 * daemon with the strategy's sequence number in the packet mark, which the
 * daemon reads back (SO_RCVMARK), so nothing is classified twice. VPN ID and
 * VLAN ID become the ingress interfaces that stand for them. Pure: no
 * socket, no root; the engine installs the result through sp_kernel. */
#ifndef SP_CLASSIFY_H
#define SP_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_config.h"
#include "sp_endpoint.h"
#include "sp_error.h"
#include "sp_bpf.h"
#include "sp_nft.h"

/* The mark layout (strategy slot, TPROXY bit, VPN and tag slots): sp_mark.h.
 * A strategy's slot is its position in plan->strategies plus one. */
#include "sp_mark.h"

/* A strategy as the engine runs it. */
struct sp_classify_strategy {
	uint32_t seq;
	char name[SP_NAME_MAX + 1];
	enum sp_action action;
	struct sp_endpoint server;
	enum sp_server_transport server_transport;	/* as configured */
	char server_name[SP_SERVER_NAME_MAX + 1];	/* TLS: its certificate's; "": its address */
	bool hide_server_identity;
	enum sp_media_mode media;	/* its own, or the signaling-proxy's */
	char media_proxy[SP_NAME_MAX + 1]; /* media proxy: this one only; "": any */
	/* its terminals' family: the server's, or the other one for a
	 * strategy that interworks (calls between IPv4 and IPv6 through a
	 * remote media proxy) */
	int terminal_family;
	bool installed;
	char reason[192]; /* why not installed */
	char note[128];  /* how, when it says more than "installed" */
	uint64_t hits;
};

struct sp_classify_plan {
	struct sp_nft_entry *entries; /* in sequence order */
	size_t n_entries;
	struct sp_classify_strategy *strategies; /* sorted by seq */
	size_t n_strategies;
};

/* A configured address (and a port) as an endpoint. */
void sp_endpoint_from_addr(struct sp_endpoint *ep, const struct sp_addr *a, uint16_t port);

struct sp_link_vlan;

/* vlans: the VLAN devices present (from sp_link_vlans()), for `match vlan`. */
int sp_classify_build(const struct sp_config *c, const struct sp_link_vlan *vlans, size_t n_vlans,
		      struct sp_classify_plan *plan, struct sp_error *e);

/* The tag slots of the mark (sp_mark.h) when the BPF tagger carries VLANs
 * and MPLS labels (a kernel without 802.1Q or MPLS routing): slot i + 1 is
 * tags[i]. A `match vlan` no sub-interface carries, and a `match mpls-label`,
 * then match the slot in the mark. unavailable: why the tagger is not there
 * (the strategies say so), or NULL. */
struct sp_classify_tags {
	const struct sp_bpf_tag *tags;
	size_t n_tags;
	const char *unavailable;
};

struct sp_vpn_if;
struct sp_link_mpls_route;

/* What the kernel resolves itself (sp_link: a router kernel's VRFs and
 * label routes). */
struct sp_classify_kernel {
	/* The interfaces of each VPN: the configured vpn-ids and the VRF
	 * members (sp_vpn_add_vrfs()); NULL: the configured vpn-ids only. */
	const struct sp_vpn_if *vpn_ifs;
	size_t n_vpn_ifs;
	/* The kernel's MPLS label routes (sp_link_state_read()). A `match
	 * mpls-label` whose label the kernel routes resolves to that route: a
	 * route that pops the label to IP on this host matches the packets
	 * on its device; any other route forwards the frames past IP, and the
	 * strategy says so. Labels without a route go to the BPF tagger. */
	const struct sp_link_mpls_route *mpls;
	size_t n_mpls;
	bool mpls_routing; /* the kernel routes MPLS: a label without a route is said so */
};

int sp_classify_build_tags(const struct sp_config *c, const struct sp_link_vlan *vlans,
			   size_t n_vlans, const struct sp_classify_tags *tags,
			   struct sp_classify_plan *plan, struct sp_error *e);
/* The same, with the kernel's VRFs and label routes (kernel may be NULL). */
int sp_classify_build_kernel(const struct sp_config *c, const struct sp_link_vlan *vlans,
			     size_t n_vlans, const struct sp_classify_tags *tags,
			     const struct sp_classify_kernel *kernel, struct sp_classify_plan *plan,
			     struct sp_error *e);
/* The VLAN ids, then the MPLS labels, the strategies match, each ascending
 * and unique, at most max; returns how many. */
size_t sp_classify_tag_values(const struct sp_config *c, struct sp_bpf_tag *tags, size_t max);
/* Drops from tags the MPLS labels the kernel routes itself (those are
 * not the tagger's to pop); returns the new count. */
size_t sp_classify_tags_unrouted(struct sp_bpf_tag *tags, size_t n,
				 const struct sp_link_mpls_route *mpls, size_t n_mpls);
void sp_classify_free(struct sp_classify_plan *plan);

/* The values (mark & SP_MARK_ORIGIN_MASK) a datagram can carry when the
 * interception sees it: VPN slot 0..n_vpn_slots times tag slot 0..n_tag_slots
 * (the tagger's, 0 without it). For sp_nft_intercept.origin_marks, which
 * lets runs of proxy strategies share one mark map; every strategy costs
 * one map element per origin, so more than SP_CLASSIFY_ORIGINS_MAX of them
 * give 0 (the strategies stay one rule each). */
#define SP_CLASSIFY_ORIGINS_MAX 16
size_t sp_classify_origin_marks(unsigned n_vpn_slots, size_t n_tag_slots,
				uint32_t out[SP_CLASSIFY_ORIGINS_MAX]);

#endif
