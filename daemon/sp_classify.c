#include "config.h"
#include "sp_classify.h"
#include "sp_link.h"
#include "sp_vpn.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void sp_endpoint_from_addr(struct sp_endpoint *ep, const struct sp_addr *a, uint16_t port)
{
	if (a->family == AF_INET)
		sp_endpoint_set_v4(ep, a->u.v4, port);
	else if (a->family == AF_INET6)
		sp_endpoint_set_v6(ep, &a->u.v6, port);
	else
		sp_endpoint_clear(ep);
}

static void sp_rt_prefix_from(struct sp_rt_prefix *out, const struct sp_prefix *p)
{
	memset(out, 0, sizeof(*out));
	if (!sp_addr_is_set(&p->addr))
		return;
	out->addr.family = p->addr.family;
	if (p->addr.family == AF_INET)
		out->addr.v4 = p->addr.u.v4;
	else
		out->addr.v6 = p->addr.u.v6;
	out->len = p->len;
}

/* The family the match's addresses name, or 0 (none named). */
static int sp_classify_match_family(const struct sp_strategy *s)
{
	if (s->match & SP_MATCH_SOURCE)
		return s->source.addr.family;
	if (s->match & SP_MATCH_DESTINATION)
		return s->destination.addr.family;
	return 0;
}

/* An MP of the strategy's group that announces the terminals' family on
 * the terminal side and the server's on the server side. */
static bool sp_classify_mp_bridges(const struct sp_config *c, const struct sp_strategy *s,
				   int term_family)
{
	for (size_t i = 0; i < c->n_media_proxies; i++) {
		const struct sp_media_proxy *mp = &c->media_proxies[i];

		if ((s->media_proxy[0] && strcmp(s->media_proxy, mp->name) != 0) || mp->shutdown ||
		    !sp_addr_is_set(&mp->control))
			continue;
		if (sp_media_proxy_address(mp, true, term_family) &&
		    sp_media_proxy_address(mp, false, s->server.family))
			return true;
	}
	return false;
}

/* A strategy whose terminals (its match) and server are of different
 * families: the signalling is rewritten between them (E and the terminal
 * of one family, C and D of the other), and its media must be translated,
 * which the kernel's conntrack NAT cannot do: only a remote media proxy
 * (rtpengine) that has an address of each family. Why not, or NULL. */
static const char *sp_classify_interworking_unfit(const struct sp_config *c,
						  const struct sp_strategy *s)
{
	bool v6_terminals = s->server.family == AF_INET;
	int term_family = v6_terminals ? AF_INET6 : AF_INET;

	if (sp_strategy_media_mode(c, s) != SP_MEDIA_PROXY)
		return v6_terminals ? "it matches IPv6 but its server is IPv4: interworking needs "
				      "media proxy (the kernel cannot translate media)"
				    : "it matches IPv4 but its server is IPv6: interworking needs "
				      "media proxy (the kernel cannot translate media)";
	if (v6_terminals && !sp_sp_server_side(&c->sp, AF_INET6))
		return "it matches IPv6: IPv6 interception needs an IPv6 server-side-address";
	if (!sp_classify_mp_bridges(c, s, term_family))
		return v6_terminals ? "it matches IPv6 but its server is IPv4: interworking needs a "
				      "media-proxy with media-address terminal-side IPv6 and "
				      "server-side IPv4"
				    : "it matches IPv4 but its server is IPv6: interworking needs a "
				      "media-proxy with media-address terminal-side IPv4 and "
				      "server-side IPv6";
	return NULL;
}

/* Why a strategy cannot be put in the kernel on this system, or NULL. */
static const char *sp_classify_unfit(const struct sp_config *c, const struct sp_strategy *s)
{
	if (s->shutdown)
		return "shutdown";
	if (s->action == SP_ACTION_UNSET)
		return "no action configured";
	if ((s->match & SP_MATCH_MPLS) && (s->match & SP_MATCH_VLAN))
		return "a VLAN and an MPLS label together are not classified (one tag slot)";
	if ((s->match & SP_MATCH_PROTOCOL) && s->protocol != IPPROTO_UDP && s->protocol != IPPROTO_TCP)
		return "only SIP over UDP and TCP is proxied so far";
	if ((s->match & SP_MATCH_SOURCE) && (s->match & SP_MATCH_DESTINATION) &&
	    s->source.addr.family != s->destination.addr.family)
		return "source and destination are of different address families";
	if (s->action != SP_ACTION_PROXY)
		return NULL;
	if (s->server.family == AF_INET6 && !sp_sp_server_side(&c->sp, AF_INET6))
		return sp_addr_is_set(&c->sp.server_side_address)
			       ? "an IPv6 server needs an IPv6 server-side-address"
			       : "no server-side-address configured";
	if (s->server.family == AF_INET && !sp_sp_server_side(&c->sp, AF_INET))
		return sp_addr_is_set(&c->sp.server_side_address6)
			       ? "an IPv4 server needs an IPv4 server-side-address"
			       : "no server-side-address configured";
	if (sp_classify_match_family(s) && sp_classify_match_family(s) != s->server.family)
		return sp_classify_interworking_unfit(c, s);
	return NULL;
}

/* The family a proxy strategy's entries are pinned to: its server's, when
 * the SP intercepts IPv6 too (an IPv6 server-side-address); 0 (as the
 * addresses say, IPv4 only in the kernel) otherwise, so that an IPv4-only
 * configuration renders as it always did. */
static int sp_classify_entry_family(const struct sp_config *c, const struct sp_strategy *s)
{
	if (s->action != SP_ACTION_PROXY || !sp_sp_server_side(&c->sp, AF_INET6))
		return 0;
	/* interworking: the terminals' family (its match), not the server's */
	return sp_classify_match_family(s) ? sp_classify_match_family(s) : s->server.family;
}


void sp_classify_free(struct sp_classify_plan *p)
{
	free(p->entries);
	free(p->strategies);
}

static bool sp_classify_vlan_has(const struct sp_link_vlan *vlans, size_t n, const char *ifname,
				  uint32_t vlan)
{
	for (size_t i = 0; i < n; i++)
		if (vlans[i].vlan_id == vlan && strcmp(vlans[i].ifname, ifname) == 0)
			return true;
	return false;
}

static unsigned sp_classify_tag_slot(const struct sp_classify_tags *tags, uint32_t kind,
				     uint32_t value)
{
	for (size_t i = 0; tags && i < tags->n_tags; i++)
		if (tags->tags[i].kind == kind && tags->tags[i].value == value)
			return (unsigned)i + 1;
	return 0;
}

static bool sp_classify_vlan_device(const struct sp_link_vlan *vlans, size_t n, uint32_t vid)
{
	for (size_t k = 0; k < n; k++)
		if (vlans[k].vlan_id == vid)
			return true;
	return false;
}

/* The interfaces of VPN vpn_id (those that carry VLAN vlan, when vlan is
 * not 0) into ifs[n..max); returns the new count. */
static size_t sp_classify_vpn_ifs(const struct sp_config *c, const struct sp_classify_kernel *tags,
				  uint32_t vpn_id, uint32_t vlan, const struct sp_link_vlan *vlans,
				  size_t n_vlans, const char **ifs, size_t n, size_t max)
{
	if (tags && tags->vpn_ifs) {
		for (size_t k = 0; k < tags->n_vpn_ifs && n < max; k++)
			if (tags->vpn_ifs[k].vpn_id == vpn_id &&
			    (!vlan || sp_classify_vlan_has(vlans, n_vlans, tags->vpn_ifs[k].ifname, vlan)))
				ifs[n++] = tags->vpn_ifs[k].ifname;
		return n;
	}
	for (size_t k = 0; k < c->n_interfaces && n < max; k++)
		if (c->interfaces[k].vpn_id == vpn_id &&
		    (!vlan || sp_classify_vlan_has(vlans, n_vlans, c->interfaces[k].name, vlan)))
			ifs[n++] = c->interfaces[k].name;
	return n;
}

static const struct sp_link_mpls_route *sp_classify_mpls_route(const struct sp_classify_kernel *tags,
							       uint32_t label)
{
	for (size_t i = 0; tags && i < tags->n_mpls; i++)
		if (tags->mpls[i].label == label)
			return &tags->mpls[i];
	return NULL;
}

size_t sp_classify_tags_unrouted(struct sp_bpf_tag *tags, size_t n,
				 const struct sp_link_mpls_route *mpls, size_t n_mpls)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		bool routed = false;

		for (size_t k = 0; tags[i].kind == SP_BPF_TAG_MPLS && k < n_mpls; k++)
			routed |= mpls[k].label == tags[i].value;
		if (!routed)
			tags[kept++] = tags[i];
	}
	return kept;
}

/* A label the kernel routes: it pops it to route->dev, which must be a
 * local delivery, and in the strategy's VPN when it names one. NULL, or
 * why not (in why). */
static const char *sp_classify_mpls_ingress(const struct sp_config *c, const struct sp_strategy *s,
					    const struct sp_link_vlan *vlans, size_t n_vlans,
					    const struct sp_classify_kernel *kern,
					    const struct sp_link_mpls_route *route, char *note,
					    size_t note_len, char *why, size_t why_len)
{
	char said[112];

	sp_link_mpls_describe(route, said, sizeof(said));
	if (!sp_link_mpls_local(route) || !route->dev[0]) {
		snprintf(why, why_len, "%s: the kernel forwards these frames, they never reach IP here",
			 said);
		return why;
	}
	snprintf(note, note_len, "%s", said);
	if (s->match & SP_MATCH_VPN) {
		const char *vpn[SP_NFT_MAX_IIFNAMES * 4];
		size_t nv = sp_classify_vpn_ifs(c, kern, s->vpn_id, 0, vlans, n_vlans, vpn, 0,
						sizeof(vpn) / sizeof(vpn[0]));
		bool in = false;

		for (size_t k = 0; k < nv; k++)
			in |= strcmp(vpn[k], route->dev) == 0;
		if (!in) {
			snprintf(why, why_len, "%s, which is not in this vpn-id", said);
			return why;
		}
	}
	return NULL;
}

/* The ingress interfaces a strategy's VPN and VLAN fields stand for: the
 * interfaces of the VPN (configured, or a VRF's), the VLAN devices of that
 * VLAN id, or both at once; without VLAN devices of that id, the VLAN's tag
 * slot in the mark (tc-BPF). An MPLS label the kernel routes: the device its
 * route pops it to. NULL, or why nothing fits (in why, or a constant). */
static const char *sp_classify_ingress(const struct sp_config *c, const struct sp_strategy *s,
				       const struct sp_link_vlan *vlans, size_t n_vlans,
				       const struct sp_classify_tags *tags,
				       const struct sp_classify_kernel *kern,
				       struct sp_nft_entry *e, char *note, size_t note_len,
				       char *why, size_t why_len)
{
	const char *ifs[SP_NFT_MAX_IIFNAMES * 4];
	const size_t max = sizeof(ifs) / sizeof(ifs[0]);
	const struct sp_link_mpls_route *route = NULL;
	size_t n = 0;

	if (s->match & SP_MATCH_MPLS)
		route = sp_classify_mpls_route(kern, s->mpls_label);
	if (route) {
		const char *unfit = sp_classify_mpls_ingress(c, s, vlans, n_vlans, kern, route, note,
							     note_len, why, why_len);

		if (unfit)
			return unfit;
		ifs[n++] = route->dev;
	} else if ((s->match & SP_MATCH_MPLS) ||
	    ((s->match & SP_MATCH_VLAN) && !sp_classify_vlan_device(vlans, n_vlans, s->vlan))) {
		bool mpls = s->match & SP_MATCH_MPLS;
		unsigned slot = mpls ? sp_classify_tag_slot(tags, SP_BPF_TAG_MPLS, s->mpls_label)
				     : sp_classify_tag_slot(tags, SP_BPF_TAG_VLAN, s->vlan);

		bool unrouted = mpls && kern && kern->mpls_routing;

		if (!slot && unrouted) {
			snprintf(why, why_len, "label %u: no kernel route, and %s", s->mpls_label,
				 tags && tags->unavailable ? tags->unavailable : "no BPF tagger");
			return why;
		}
		if (!slot)
			return tags && tags->unavailable ? tags->unavailable
			       : mpls ? "MPLS label matching needs the XDP/tc-BPF tagger"
				      : "no interface carries this VLAN (no 802.1Q sub-interface of that id)";
		e->mark_match = slot << SP_MARK_TAG_SHIFT;
		e->mark_match_mask = SP_MARK_TAG_MASK;
		if (mpls)
			snprintf(note, note_len, "MPLS label %u popped by XDP%s", s->mpls_label,
				 unrouted ? " (no kernel route for it)" : "");
		else
			snprintf(note, note_len, "VLAN %u tag popped by tc-BPF", s->vlan);
		if (!(s->match & SP_MATCH_VPN))
			return NULL; /* any interface the tagger serves */
		n = sp_classify_vpn_ifs(c, kern, s->vpn_id, 0, vlans, n_vlans, ifs, n, max);
		if (n == 0)
			return "no interface is configured with this vpn-id";
	} else if (s->match & SP_MATCH_VPN) {
		n = sp_classify_vpn_ifs(c, kern, s->vpn_id, s->match & SP_MATCH_VLAN ? s->vlan : 0,
					vlans, n_vlans, ifs, n, max);
		if (n == 0)
			return s->match & SP_MATCH_VLAN
				       ? "no interface of this vpn-id carries this VLAN"
				       : "no interface is configured with this vpn-id";
	} else {
		for (size_t k = 0; k < n_vlans && n < max; k++)
			if (vlans[k].vlan_id == s->vlan)
				ifs[n++] = vlans[k].ifname;
		if (n == 0)
			return "no interface carries this VLAN (no 802.1Q sub-interface of that id)";
	}
	if (n > SP_NFT_MAX_IIFNAMES)
		return "too many ingress interfaces";
	for (size_t k = 0; k < n; k++)
		snprintf(e->iifnames[k], IFNAMSIZ, "%s", ifs[k]);
	e->n_iifnames = n;
	return NULL;
}

size_t sp_classify_tag_values(const struct sp_config *c, struct sp_bpf_tag *tags, size_t max)
{
	size_t n = 0;

	for (uint32_t kind = SP_BPF_TAG_VLAN; kind <= SP_BPF_TAG_MPLS; kind++) {
		size_t first = n;

		for (size_t i = 0; i < c->n_strategies; i++) {
			const struct sp_strategy *s = &c->strategies[i];
			uint32_t v = kind == SP_BPF_TAG_VLAN ? s->vlan : s->mpls_label;
			size_t at;
			bool dup = false;

			if (!(s->match & (kind == SP_BPF_TAG_VLAN ? SP_MATCH_VLAN : SP_MATCH_MPLS)) || !v)
				continue;
			for (size_t k = first; k < n && !dup; k++)
				dup = tags[k].value == v;
			if (dup || n == max)
				continue;
			for (at = n; at > first && tags[at - 1].value > v; at--)
				tags[at] = tags[at - 1];
			tags[at] = (struct sp_bpf_tag){ kind, v };
			n++;
		}
	}
	return n;
}

int sp_classify_build(const struct sp_config *c, const struct sp_link_vlan *vlans, size_t n_vlans,
		      struct sp_classify_plan *p, struct sp_error *e)
{
	return sp_classify_build_tags(c, vlans, n_vlans, NULL, p, e);
}

int sp_classify_build_tags(const struct sp_config *c, const struct sp_link_vlan *vlans,
			   size_t n_vlans, const struct sp_classify_tags *tags,
			   struct sp_classify_plan *p, struct sp_error *e)
{
	return sp_classify_build_kernel(c, vlans, n_vlans, tags, NULL, p, e);
}

/* SIP over TCP (RFC 3261 §18: mandatory for a proxy): each interception
 * entry of a strategy that names no protocol gets a TCP twin, after every
 * UDP entry. The two protocols never overlap, so the twins keep among
 * themselves the order of the strategies, and the UDP entries (and their
 * nft maps) stay as they were. */
static void sp_classify_tcp_twins(struct sp_classify_plan *p, const bool *any_proto)
{
	size_t n = p->n_entries;

	for (size_t i = 0; i < n; i++) {
		if (!any_proto[i])
			continue;
		p->entries[p->n_entries] = p->entries[i];
		p->entries[p->n_entries].ip_proto = IPPROTO_TCP;
		p->n_entries++;
	}
}

/* What the plan says of strategy s besides its entries. */
static void sp_classify_strategy_init(struct sp_classify_strategy *rs, const struct sp_config *c,
				      const struct sp_strategy *s)
{
	rs->seq = s->seq;
	snprintf(rs->name, sizeof(rs->name), "%s", s->name);
	rs->action = s->action;
	sp_endpoint_from_addr(&rs->server, &s->server, s->server_port);
	rs->server_transport = s->server_transport;
	snprintf(rs->server_name, sizeof(rs->server_name), "%s", s->server_name);
	rs->hide_server_identity = s->hide_server_identity;
	rs->media = sp_strategy_media_mode(c, s);
	rs->terminal_family = s->action == SP_ACTION_PROXY && sp_classify_match_family(s)
				      ? sp_classify_match_family(s)
				      : s->server.family;
	snprintf(rs->media_proxy, sizeof(rs->media_proxy), "%s", s->media_proxy);
}

/* The fields of s's entries every verdict shares: name, protocol,
 * source, destination and source port. */
static void sp_classify_base_match(struct sp_nft_entry *base, const struct sp_strategy *s)
{
	base->comment = s->name;
	base->ip_proto = (s->match & SP_MATCH_PROTOCOL) ? s->protocol : IPPROTO_UDP;
	if (s->match & SP_MATCH_SOURCE)
		sp_rt_prefix_from(&base->src, &s->source);
	if (s->match & SP_MATCH_DESTINATION)
		sp_rt_prefix_from(&base->dst, &s->destination);
	if (s->match & SP_MATCH_SOURCE_PORT)
		base->sport = (struct sp_rt_port_range){ s->source_port.lo, s->source_port.hi };
}

/* SIP over TLS: strategy s's TPROXY entry for TCP to the TLS port, while
 * E has a certificate and s's match admits TCP and that port; true: added. */
static bool sp_classify_tls_entry(const struct sp_config *c, const struct sp_strategy *s,
				  const struct sp_nft_entry *base, struct sp_classify_plan *p)
{
	struct sp_nft_entry *en = &p->entries[p->n_entries];

	if (!c->sp.tls_certificate[0] || ((s->match & SP_MATCH_PROTOCOL) && s->protocol != IPPROTO_TCP) ||
	    ((s->match & SP_MATCH_DESTINATION_PORT) &&
	     (c->sp.tls_port < s->destination_port.lo || c->sp.tls_port > s->destination_port.hi)))
		return false;
	*en = *base;
	en->ip_proto = IPPROTO_TCP;
	en->dport = (struct sp_rt_port_range){ c->sp.tls_port, c->sp.tls_port };
	en->tproxy_port = c->sp.tls_port;
	p->n_entries++;
	return true;
}

int sp_classify_build_kernel(const struct sp_config *c, const struct sp_link_vlan *vlans,
			     size_t n_vlans, const struct sp_classify_tags *tags,
			     const struct sp_classify_kernel *kernel, struct sp_classify_plan *p,
			     struct sp_error *e)
{
	/* a proxy entry per listen port, and its TCP twin */
	size_t cap = 2 * c->n_strategies * (c->sp.n_listen_ports + 1) + 1;
	bool *any_proto = calloc(cap, sizeof(*any_proto));

	memset(p, 0, sizeof(*p));
	p->entries = calloc(cap, sizeof(*p->entries));
	p->strategies = calloc(c->n_strategies + 1, sizeof(*p->strategies));
	if (!p->entries || !p->strategies || !any_proto) {
		free(any_proto);
		sp_classify_free(p);
		return sp_error_set(e, "Out of memory");
	}
	for (size_t i = 0; i < c->n_strategies; i++) {
		const struct sp_strategy *s = &c->strategies[i];
		struct sp_classify_strategy *rs = &p->strategies[p->n_strategies++];
		const char *unfit = sp_classify_unfit(c, s);
		struct sp_nft_entry base = { 0 };
		char why[sizeof(rs->reason)];

		sp_classify_strategy_init(rs, c, s);
		if (!unfit && p->n_strategies > SP_MARK_STRATEGY_MAX)
			unfit = "beyond the 16383 strategies the packet mark can name";
		if (!unfit && (s->match & (SP_MATCH_VPN | SP_MATCH_VLAN | SP_MATCH_MPLS)))
			unfit = sp_classify_ingress(c, s, vlans, n_vlans, tags, kernel, &base, rs->note,
						    sizeof(rs->note), why, sizeof(why));
		if (unfit) {
			snprintf(rs->reason, sizeof(rs->reason), "%s", unfit);
			continue;
		}
		sp_classify_base_match(&base, s);
		if (s->action != SP_ACTION_PROXY) {
			base.verdict = s->action == SP_ACTION_DROP ? SP_NFT_DROP : SP_NFT_ACCEPT;
			if (s->match & SP_MATCH_DESTINATION_PORT)
				base.dport = (struct sp_rt_port_range){ s->destination_port.lo,
									s->destination_port.hi };
			p->entries[p->n_entries++] = base;
			rs->installed = true;
			continue;
		}
		/* proxy: one TPROXY entry per listen port the match admits, so each
		 * datagram reaches the listener of its own destination port */
		base.verdict = SP_NFT_TPROXY;
		base.family = (uint8_t)sp_classify_entry_family(c, s);
		base.mark = sp_mark_strategy((uint32_t)p->n_strategies);
		for (unsigned k = 0; k < c->sp.n_listen_ports; k++) {
			uint16_t port = c->sp.listen_ports[k];
			if ((s->match & SP_MATCH_DESTINATION_PORT) &&
			    (port < s->destination_port.lo || port > s->destination_port.hi))
				continue;
			p->entries[p->n_entries] = base;
			p->entries[p->n_entries].dport = (struct sp_rt_port_range){ port, port };
			p->entries[p->n_entries].tproxy_port = port;
			any_proto[p->n_entries] = !(s->match & SP_MATCH_PROTOCOL);
			p->n_entries++;
			rs->installed = true;
		}
		rs->installed |= sp_classify_tls_entry(c, s, &base, p);
		if (!rs->installed)
			snprintf(rs->reason, sizeof(rs->reason), "its destination ports include no listen-port");
		else if (rs->terminal_family != s->server.family && !rs->note[0])
			snprintf(rs->note, sizeof(rs->note),
				 "interworking: IPv%c terminals, IPv%c server, media through a media proxy",
				 rs->terminal_family == AF_INET6 ? '6' : '4',
				 s->server.family == AF_INET6 ? '6' : '4');
	}
	sp_classify_tcp_twins(p, any_proto);
	free(any_proto);
	return 0;
}


size_t sp_classify_origin_marks(unsigned n_vpn_slots, size_t n_tag_slots,
				uint32_t out[SP_CLASSIFY_ORIGINS_MAX])
{
	size_t n = 0;

	if (((size_t)n_vpn_slots + 1) * (n_tag_slots + 1) > SP_CLASSIFY_ORIGINS_MAX)
		return 0;
	for (uint32_t t = 0; t <= n_tag_slots; t++)
		for (uint32_t v = 0; v <= n_vpn_slots; v++)
			out[n++] = t << SP_MARK_TAG_SHIFT | v << SP_MARK_VPN_SHIFT;
	return n;
}
