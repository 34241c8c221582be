#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_mediaproxy.h"
#include "sp_status.h"
#include "sp_transport_tcp.h"
#include "sp_transport_udp.h"
#include "sp_engine_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

/* The names of the terminal-side interfaces, malloc'ed (NULL: none or no
 * memory), their number in *n. */
static const char **sp_engine_terminal_ifs(const struct sp_config *c, size_t *n)
{
	const char **names = calloc(c->n_interfaces + 1, sizeof(*names));

	*n = 0;
	for (size_t k = 0; names && k < c->n_interfaces; k++)
		if (c->interfaces[k].side == SP_SIDE_TERMINAL)
			names[(*n)++] = c->interfaces[k].name;
	return names;
}

/* E as a local, unannounced address (SPEC §3.3). */
static int sp_engine_lva_apply(struct sp_engine *en, const struct sp_config *c, struct sp_error *e)
{
	const struct sp_addr *want = &c->sp.local_virtual_address;
	struct sp_rt_addr a = { 0 };
	struct sp_error err = { "" };
	size_t n;
	const char **ifs;
	int rc;

	if (sp_addr_is_set(want)) {
		a.family = want->family;
		if (want->family == AF_INET)
			a.v4 = want->u.v4;
		else
			a.v6 = want->u.v6;
	}
	ifs = sp_engine_terminal_ifs(c, &n);
	rc = KD(en, lva_set, &a, ifs, n, &err);
	free(ifs);
	if (rc < 0)
		return sp_error_set(e, "local-virtual-address: %s", err.msg);
	return 0;
}

/* The BPF tagger on the terminal-side interfaces, while a strategy matches
 * a VLAN or an MPLS label; NULL, or why they cannot be matched by their tags. */
static const char *sp_engine_tagger_apply(struct sp_engine *en, const struct sp_config *c,
					  const struct sp_bpf_tag *tagv, size_t n_vids)
{
	size_t n;
	const char **ifs = sp_engine_terminal_ifs(c, &n);
	const char *why = KD(en, tagger_apply, ifs, n, tagv, n_vids);

	free(ifs);
	return why;
}

/* The VPNs of the configured interfaces (vpn-id) and of the VRFs, and the
 * nft chains that put their packets in their zones and their slots in the
 * mark. */
static int sp_engine_vpn_map(const struct sp_config *c, const struct sp_link_state *links,
			     struct sp_vpn_map *map, char **chains, struct sp_error *e)
{
	struct sp_vpn_if ifs[SP_VPN_MAX_IFS];
	struct sp_link_vrf vrfs[SP_VPN_MAX_IFS];
	size_t n = 0, n_vrfs;
	char err[160];

	for (size_t k = 0; k < c->n_interfaces; k++) {
		if (!c->interfaces[k].vpn_id)
			continue;
		if (n == SP_VPN_MAX_IFS)
			return sp_error_set(e, "more than %d interfaces with a vpn-id", SP_VPN_MAX_IFS);
		snprintf(ifs[n].ifname, sizeof(ifs[n].ifname), "%s", c->interfaces[k].name);
		ifs[n++].vpn_id = c->interfaces[k].vpn_id;
	}
	n_vrfs = sp_link_vrf_members(links->links, links->n_links, vrfs, SP_VPN_MAX_IFS);
	n = sp_vpn_add_vrfs(ifs, n, SP_VPN_MAX_IFS, vrfs, n_vrfs, err, sizeof(err));
	if (err[0])
		sp_warn("engine: %s", err);
	if (sp_vpn_map_build(map, ifs, n, e) < 0)
		return -1;
	if (sp_vpn_render_nft(map, SP_CT_MARK, SP_CT_MARK_MASK, chains) < 0)
		return sp_error_set(e, "Out of memory");
	return 0;
}

/* One configured interface as this apply found it: what the status store
 * says of it once the apply is in (issue 16 item 5). */
struct sp_engine_if_state {
	char name[SP_IFNAME_MAX];
	bool installed;
	char reason[SP_STATUS_REASON_MAX];
};

/* Each configured interface's state: installed when its link exists (its
 * vpn-id, side and tagger then apply to it); not, with why: the link is
 * missing (it is installed when it appears: sp_linkwatch), the links could
 * not be read, or the tagger a terminal-side link needs is not in place.
 * NULL when out of memory (the interfaces then read as not installed). */
static struct sp_engine_if_state *sp_engine_if_states(const struct sp_config *c,
						      const struct sp_link_state *links,
						      const char *links_err, const char *tagger_why)
{
	struct sp_engine_if_state *st = calloc(c->n_interfaces + 1, sizeof(*st));

	for (size_t k = 0; st && k < c->n_interfaces; k++) {
		const struct sp_interface *i = &c->interfaces[k];
		bool found = false;

		for (size_t l = 0; l < links->n_links && !found; l++)
			found = strcmp(links->links[l].ifname, i->name) == 0;
		snprintf(st[k].name, sizeof(st[k].name), "%s", i->name);
		if (links_err)
			snprintf(st[k].reason, sizeof(st[k].reason), "links cannot be read: %s", links_err);
		else if (!found)
			snprintf(st[k].reason, sizeof(st[k].reason), "interface %s not found", i->name);
		else if (tagger_why && i->side == SP_SIDE_TERMINAL)
			snprintf(st[k].reason, sizeof(st[k].reason), "%s", tagger_why);
		else
			st[k].installed = true;
	}
	return st;
}

/* The interfaces' state into the daemon's status store, where the CLI
 * (`show interface`) and SNMP (sigproxyInterfaceInstallState) read it. */
static void sp_engine_publish_interfaces(struct sp_engine *en, const struct sp_config *c,
					 const struct sp_engine_if_state *st)
{
	struct sp_status *status = en->env.status;

	sp_status_reset(status, SP_STATUS_INTERFACE);
	for (size_t k = 0; k < c->n_interfaces; k++)
		sp_status_set(status, SP_STATUS_INTERFACE, c->interfaces[k].name, 0, st && st[k].installed,
			      st ? st[k].reason : "Out of memory");
}

/* What the last apply read of the links, and the names it cares about:
 * the link watch compares the next changes with it. */
static void sp_engine_linkwatch_seed(struct sp_engine *en, const struct sp_config *c,
				     const struct sp_link_state *links)
{
	const char *names[SP_VPN_MAX_IFS];
	size_t n = 0;

	for (size_t k = 0; k < c->n_interfaces && n < SP_VPN_MAX_IFS; k++)
		names[n++] = c->interfaces[k].name;
	if (KD(en, links_watch, links->links, links->n_links, names, n) < 0)
		sp_warn("engine: out of memory: link changes may be missed");
}

/* The kernel's per-source drop counters as they read now (0 when the
 * table has none). */
void sp_engine_limits_read(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows)
{
	struct sp_error err = { "" };

	*rate = *new_flows = 0;
	if (!en->kd || !en->source_limits_in_kernel)
		return;
	if (KD(en, counter_packets, SP_NFT_SOURCE_RATE_COUNTER, rate, &err) < 0)
		*rate = 0;
	if (KD(en, counter_packets, SP_NFT_SOURCE_NEW_COUNTER, new_flows,
				   &err) < 0)
		*new_flows = 0;
}

/* The table that counted rate and new_flows is gone: keep the counts. */
void sp_engine_limits_bank(struct sp_engine *en, uint64_t rate, uint64_t new_flows)
{
	en->kernel_rate_banked += rate;
	en->kernel_new_banked += new_flows;
	en->kernel_rate_seen = en->kernel_new_seen = 0;
}

/* Per-source drops in the kernel since the start (or the last clear). */
void sp_engine_limits_totals(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows)
{
	sp_engine_limits_read(en, rate, new_flows);
	*rate += en->kernel_rate_banked;
	*new_flows += en->kernel_new_banked;
}

/* One limited set's sources ("0x000000VV . ADDR" per line) named. */
static void sp_engine_limits_name(struct sp_engine *en, const char *set, int family,
				  const char *why)
{
	char *text = NULL;
	struct sp_error err = { "" };

	if (KD(en, set_elements, set, &text, &err) < 0)
		return;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *dot = strstr(line, " . ");
		unsigned long slot;
		struct sp_endpoint src;

		if (!dot)
			continue;
		*dot = '\0';
		slot = strtoul(line, NULL, 16);
		if (sp_endpoint_parse(&src, dot + 3, 0) < 0 || src.family != family)
			continue;
		sp_engine_source_limited(en, sp_vpn_id(&en->vpn_map, (uint32_t)(slot & SP_MARK_VPN_MASK)),
					 &src, why);
	}
	free(text);
}

/* Every second: when the kernel dropped for a source since the last look,
 * the sources it limits are named (log, notification). */
void sp_engine_limits_poll_cb(struct sp_loop *loop, void *arg)
{
	struct sp_engine *en = arg;
	uint64_t rate, new_flows;
	const char *why;

	(void)loop;
	sp_loop_timer_arm(en->limits_poll, SP_ENGINE_LIMITS_POLL_MS);
	if (!en->source_limits_in_kernel)
		return;
	sp_engine_limits_read(en, &rate, &new_flows);
	if (rate == en->kernel_rate_seen && new_flows == en->kernel_new_seen)
		return;
	/* one set holds the sources of both limits: the reason is what moved */
	why = new_flows == en->kernel_new_seen ?
		      "message rate over the limit (dropped in the kernel)" :
	      rate == en->kernel_rate_seen ?
		      "new bindings over the limit (dropped in the kernel)" :
		      "message rate or new bindings over the limit (dropped in the kernel)";
	en->kernel_rate_seen = rate;
	en->kernel_new_seen = new_flows;
	sp_engine_limits_name(en, SP_NFT_LIMITED_SET_V4, AF_INET, why);
	sp_engine_limits_name(en, SP_NFT_LIMITED_SET_V6, AF_INET6, why);
}

/* One apply's work in progress, from the plan to the commit. */
struct sp_engine_change {
	struct sp_classify_plan plan;
	struct sp_vpn_map vpn_map;
	char *vpn_chains;
	size_t n_tag_slots;
	/* the listeners wanted (in the configuration's order) and those of
	 * them this apply opened (closed again if it fails) */
	struct sp_transport_conn *keep[SP_LISTEN_PORTS_MAX], *opened[SP_LISTEN_PORTS_MAX];
	unsigned n_new;
	/* the same for TCP */
	struct sp_transport_conn *keep_tcp[SP_LISTEN_PORTS_MAX], *opened_tcp[SP_LISTEN_PORTS_MAX];
	unsigned n_new_tcp;
	/* Nothing to proxy (no signaling-proxy block, or no strategy the
	 * kernel carries): no listener, no nft table, no policy rule, no
	 * return path. An installed package with its empty default
	 * configuration leaves the host's data path as it was; the first
	 * strategy brings it all, the last takes it away. */
	bool idle;
	unsigned n_ports; /* the listen ports wanted: none while idle */
	struct sp_engine_tls_change tls;
	struct sp_engine_if_state *ifs; /* the configured interfaces, in order */
};

/* A strategy the kernel carries: what makes the SP intercept anything. */
static bool sp_engine_plan_has_strategy(const struct sp_classify_plan *plan)
{
	for (size_t i = 0; i < plan->n_strategies; i++)
		if (plan->strategies[i].installed)
			return true;
	return false;
}

/* The classification plan, from the configuration and what the kernel has
 * now: VLAN devices, VRFs and label routes are read at each apply (a
 * commit, or a link change: sp_linkwatch). On failure nothing is kept. */
static int sp_engine_plan(struct sp_engine *en, const struct sp_config *c, struct sp_engine_change *ch,
			  struct sp_error *e)
{
	struct sp_link_state links;
	struct sp_link_vlan *vlans = NULL;
	size_t n_vlans = 0;
	struct sp_error lerr = { "" };
	bool links_ok;
	int rc;
	struct sp_bpf_tag tagv[SP_MARK_TAG_MAX];
	struct sp_classify_tags tags = { 0 };
	struct sp_classify_kernel kern = { 0 };

	links_ok = KD(en, links_read, &links, &lerr) == 0;
	if (!links_ok)
		sp_warn("engine: %s: VLAN, VRF and MPLS matches cannot be resolved", lerr.msg);
	vlans = sp_link_state_vlans(&links, &n_vlans);
	if (sp_engine_vpn_map(c, &links, &ch->vpn_map, &ch->vpn_chains, e) < 0) {
		free(vlans);
		sp_link_state_free(&links);
		return -1;
	}
	kern.vpn_ifs = ch->vpn_map.ifs;
	kern.n_vpn_ifs = ch->vpn_map.n_ifs;
	kern.mpls = links.mpls;
	kern.n_mpls = links.n_mpls;
	kern.mpls_routing = links.mpls_supported;
	tags.n_tags = sp_classify_tag_values(c, tagv, SP_MARK_TAG_MAX);
	/* the labels the kernel routes are its own, not the tagger's */
	tags.n_tags = sp_classify_tags_unrouted(tagv, tags.n_tags, links.mpls, links.n_mpls);
	tags.tags = tagv;
	tags.unavailable = sp_engine_tagger_apply(en, c, tagv, tags.n_tags);
	if (tags.unavailable)
		tags.n_tags = 0;
	ch->n_tag_slots = tags.n_tags;
	ch->ifs = sp_engine_if_states(c, &links, links_ok ? NULL : lerr.msg, tags.unavailable);
	rc = sp_classify_build_kernel(c, vlans, n_vlans, &tags, &kern, &ch->plan, e);
	free(vlans);
	sp_engine_linkwatch_seed(en, c, &links);
	sp_link_state_free(&links);
	if (rc < 0) {
		free(ch->vpn_chains);
		ch->vpn_chains = NULL;
		free(ch->ifs);
		ch->ifs = NULL;
		return -1;
	}
	return 0;
}

/* A listener for every port wanted: a port that cannot be bound refuses
 * the change. */
static int sp_engine_listeners_open(struct sp_engine *en, const struct sp_config *c,
				    struct sp_engine_change *ch, struct sp_error *e)
{
	for (unsigned k = 0; k < ch->n_ports; k++) {
		uint16_t port = c->sp.listen_ports[k];
		struct sp_transport_conn *found = NULL;

		for (unsigned i = 0; i < en->n_listeners; i++)
			if (en->listeners[i]->local.port == port)
				found = en->listeners[i];
		if (!found) {
			found = sp_transport_listen(en->tp, port, e);
			if (!found)
				return -1;
			ch->opened[ch->n_new++] = found;
		}
		ch->keep[k] = found;
		if (!en->tcp)
			continue;
		found = NULL;
		for (unsigned i = 0; i < en->n_listeners; i++)
			if (en->tcp_listeners[i] && en->tcp_listeners[i]->local.port == port)
				found = en->tcp_listeners[i];
		if (!found) {
			found = sp_transport_listen(en->tcp, port, e);
			if (!found)
				return -1;
			ch->opened_tcp[ch->n_new_tcp++] = found;
		}
		ch->keep_tcp[k] = found;
	}
	return 0;
}

/* What the interception puts in the kernel for configuration c. */
static void sp_engine_intercept_cfg(const struct sp_config *c, const struct sp_engine_change *ch,
				    uint32_t *origins, struct sp_kernel_intercept_cfg *kcfg)
{
	kcfg->nft.entries = ch->plan.entries;
	kcfg->nft.n_entries = ch->plan.n_entries;
	kcfg->nft.listen_ports = c->sp.listen_ports;
	kcfg->nft.n_listen_ports = ch->n_ports;
	kcfg->nft.default_verdict = c->sp.default_action == SP_ACTION_DROP ? SP_NFT_DROP : SP_NFT_ACCEPT;
	kcfg->nft.mark_mask = SP_MARK_MASK;
	kcfg->nft.fwmark = SP_MARK_TPROXY;
	kcfg->nft.fwmask = SP_MARK_TPROXY;
	kcfg->nft.extra_chains = ch->vpn_chains;
	kcfg->nft.origin_marks = origins;
	kcfg->nft.n_origin_marks = sp_classify_origin_marks(ch->vpn_map.n, ch->n_tag_slots, origins);
	/* the rates in the kernel; a source is its address in its VPN */
	kcfg->nft.source_rate = c->sp_enabled ? c->sp.source_rate : 0;
	kcfg->nft.source_new_flows = c->sp_enabled ? c->sp.source_new_bindings : 0;
	kcfg->nft.source_key_mask = SP_MARK_VPN_MASK;
	if (c->sp.media == SP_MEDIA_KERNEL) {
		/* the media guard: no untranslated media crosses the SP */
		kcfg->media_port_first = c->sp.media_port_min;
		kcfg->media_port_last = c->sp.media_port_max;
	}
	/* IPv6 is intercepted once there is an IPv6 C to proxy it from */
	kcfg->ipv6 = sp_sp_server_side(&c->sp, AF_INET6) != NULL;
	kcfg->rule_priority = SP_INTERCEPT_RULE_PRIORITY;
	kcfg->table = SP_INTERCEPT_TABLE;
}

/* signaling-sockets shared: the sockets TPROXY hands C's signalling ports
 * to, open before the rule that points at them (the bindings move to them
 * after the rule is in, sp_engine_apply). Off: no rule. With several
 * workers, each worker's transport has its own and there is no rule: the
 * sk_lookup program picks the socket of c's worker (TPROXY's lookup would
 * run it with the redirect port, not c), set up after the commit
 * (sp_engine_workers_shared). */
static int sp_engine_server_tproxy_cfg(struct sp_engine *en, const struct sp_config *c,
				       struct sp_server_tproxy *t, struct sp_error *e)
{
	const struct sp_addr *c4 = sp_sp_server_side(&c->sp, AF_INET), *c6 = sp_sp_server_side(&c->sp, AF_INET6);

	memset(t, 0, sizeof(*t));
	if (c->sp.signaling_sockets != SP_SIGSOCK_SHARED)
		return 0;
	for (unsigned i = 0; i < en->n_workers; i++)
		if (sp_transport_udp_shared_open(en->workers[i].tp, c6 != NULL, &t->port4, &t->port6) < 0)
			return sp_error_set(e, "signaling-sockets shared: cannot open the shared sockets");
	if (en->n_workers > 1)
		t->port4 = t->port6 = 0; /* no TPROXY rule */
	if (c4) {
		t->c4.family = AF_INET;
		t->c4.v4 = c4->u.v4;
	}
	if (c6) {
		t->c6.family = AF_INET6;
		t->c6.v6 = c6->u.v6;
	}
	t->first = c->sp.signaling_port_min;
	t->last = c->sp.signaling_port_max;
	return 0;
}

/* Everything of configuration c that goes in the kernel through the
 * facade: the interception (not on a standby), the VPNs' return routes,
 * the local virtual address and the return path. */
static int sp_engine_kernel_apply(struct sp_engine *en, const struct sp_config *c,
				  struct sp_engine_change *ch, struct sp_error *e)
{
	struct sp_kernel_intercept_cfg kcfg = { 0 };
	uint32_t origins[SP_CLASSIFY_ORIGINS_MAX];
	uint64_t limits_rate, limits_new; /* the old table's per-source drop counters */
	struct sp_error err = { "" };

	sp_engine_intercept_cfg(c, ch, origins, &kcfg);
	if (sp_engine_server_tproxy_cfg(en, c, &kcfg.server_tproxy, e) < 0) {
		sp_err("engine: %s", e->msg);
		return -1;
	}
	/* the table goes and its counters with it: what they counted is kept
	 * once the new table is in (a refused one leaves the old in place) */
	sp_engine_limits_read(en, &limits_rate, &limits_new);
	en->media_guard_banked += KD(en, media_guard_drops);
	if (!en->standby && ch->idle) {
		if (KD(en, intercept_installed) &&
		    KD(en, remove_intercept, &err) < 0)
			sp_warn("engine: nothing to proxy: %s", err.msg);
	} else if (!en->standby && KD(en, install_intercept, &kcfg, &err) < 0) {
		sp_error_set(e, "kernel: %s", err.msg);
		sp_err("engine: %s", e->msg);
		sp_events_publish(en->env.events, &(struct sp_event){
			.type = SP_EVENT_KERNEL_FAILURE, .u.kernel_failure.what = e->msg });
		return -1;
	}
	if (!en->standby)
		sp_engine_limits_bank(en, limits_rate, limits_new);
	en->vpn_map = ch->vpn_map;
	if (KD(en, vpn_apply, &ch->vpn_map, &err) < 0)
		sp_warn("engine: VPN return routes incomplete: %s", err.msg);
	if (sp_engine_lva_apply(en, c, e) < 0) {
		sp_err("engine: %s", e->msg);
		return -1; /* the caller re-applies the previous configuration */
	}
	/* the return path is the SP's: not on a router with only policy routes */
	if (KD(en, retpath_configure,
				 ch->idle ? SP_RETPATH_NONE :
				 c->sp.return_path == SP_RETURN_DEFAULT_GATEWAY ? SP_RETPATH_DEFAULT_GATEWAY :
				 SP_RETPATH_LEARN, &c->sp.return_gateway, c->sp.listen_ports,
				 ch->n_ports, &err) < 0)
		return sp_error_set(e, "return-path: %s", err.msg);
	en->source_limits_in_kernel = !en->standby && !ch->idle &&
				      (kcfg.nft.source_rate || kcfg.nft.source_new_flows);
	return 0;
}

/* The change is in the kernel: the engine follows it. */
/* A strategy's server transport changed under its bindings (udp <-> tcp):
 * each keeps its C:c, the old socket or connection closes and the new
 * transport opens on the same C:c, since sp_engine_send_to_server looks in
 * the strategy's transport only. Bindings with nothing open (standby) or
 * whose strategy went stay as they are. */
static void sp_engine_server_tp_move(struct sp_engine *en)
{
	for (struct sp_binding *b = sp_binding_first(en->table); b; b = sp_binding_next(en->table, b)) {
		struct sp_transport *tp = sp_engine_server_tp(en, b);
		struct sp_transport *all[] = { sp_engine_owner_tp(en, b), en->tcp, en->tls };
		struct sp_transport *from = NULL;
		struct sp_transport_conn *old = NULL;
		char c[SP_ENDPOINT_STRLEN];

		if (!sp_engine_strategy_by_seq(en, b->strategy_id) || sp_transport_find(tp, &b->server_side))
			continue;
		for (size_t k = 0; k < sizeof(all) / sizeof(all[0]) && !old; k++)
			if (all[k] && all[k] != tp && (old = sp_transport_find(all[k], &b->server_side)))
				from = all[k];
		if (!old)
			continue;
		/* from UDP: its port owner entry goes with the socket (a TCP
		 * or TLS server side is worker 0's, steered by no entry) */
		if (from == all[0])
			sp_engine_steer_port(en, b, false);
		sp_transport_close(old);
		if (!sp_engine_bsock_open(en, b))
			sp_warn("engine: binding %u: server side %s not reopened on %s",
			       b->id, sp_endpoint_format(&b->server_side, c, sizeof(c)), tp->ops->name);
	}
}

/* An IPv6 E is intercepted only with an IPv6 C (sp_engine_intercept_cfg):
 * the listeners hold a [::] socket only then. */
static void sp_engine_listeners_ipv6(struct sp_engine *en, const struct sp_config *c)
{
	bool v6 = sp_sp_server_side(&c->sp, AF_INET6) != NULL;

	for (unsigned i = 0; i < en->n_listeners; i++) {
		sp_transport_listen_ipv6(en->listeners[i], v6);
		if (en->tcp_listeners[i])
			sp_transport_listen_ipv6(en->tcp_listeners[i], v6);
	}
	if (en->tls_listener)
		sp_transport_listen_ipv6(en->tls_listener, v6);
}

static void sp_engine_commit(struct sp_engine *en, const struct sp_config *c, struct sp_engine_change *ch)
{
	struct sp_classify_plan *plan = &ch->plan;

	/* retire listeners no longer wanted */
	for (unsigned i = 0; i < en->n_listeners; i++) {
		bool wanted = false, wanted_tcp = false;
		for (unsigned k = 0; k < ch->n_ports; k++) {
			wanted |= ch->keep[k] == en->listeners[i];
			wanted_tcp |= ch->keep_tcp[k] == en->tcp_listeners[i];
		}
		if (!wanted)
			sp_transport_close(en->listeners[i]);
		if (!wanted_tcp)
			sp_transport_close(en->tcp_listeners[i]);
	}
	memcpy(en->listeners, ch->keep, sizeof(ch->keep));
	memcpy(en->tcp_listeners, ch->keep_tcp, sizeof(ch->keep_tcp));
	en->n_listeners = ch->n_ports;
	sp_engine_tls_commit(en, c, &ch->tls);
	sp_engine_listeners_ipv6(en, c);
	/* keep the hit counters of strategies that stay */
	for (size_t i = 0; i < plan->n_strategies; i++) {
		const struct sp_classify_strategy *old = sp_engine_strategy_by_seq(en, plan->strategies[i].seq);
		if (old && strcmp(old->name, plan->strategies[i].name) == 0)
			plan->strategies[i].hits = old->hits;
	}
	free(en->strategies);
	en->strategies = plan->strategies;
	en->n_strategies = plan->n_strategies;
	plan->strategies = NULL;
	sp_engine_publish_strategies(en);
	sp_engine_publish_interfaces(en, c, ch->ifs);
	sp_engine_server_tp_move(en);
	/* one C per family: a binding takes its server's */
	sp_endpoint_from_addr(&en->server_side, &c->sp.server_side_address, 0);
	if (en->server_side.family != AF_INET)
		sp_endpoint_clear(&en->server_side);
	sp_endpoint_from_addr(&en->server_side6, &c->sp.server_side_address6, 0);
	if (en->server_side6.family != AF_INET6)
		sp_endpoint_clear(&en->server_side6);
	/* the kernel's media path is open when any call may use it: a
	 * strategy (or the default) in the kernel, or remote media proxies
	 * whose fallback is the kernel */
	en->media_on = c->sp.media != SP_MEDIA_OFF;
	for (size_t i = 0; i < en->n_strategies; i++)
		en->media_on |= en->strategies[i].media != SP_MEDIA_OFF;
	sp_table_set_session_limit(en->table, c->sp.session_limit);
	sp_table_set_dialog_timeouts(en->table, c->sp.dialog_early_timeout * 1000u,
				     c->sp.dialog_idle_timeout * 1000u);
	en->session_limit = c->sp.session_limit;
	en->source_bindings_limit = c->sp.source_bindings;
	en->message_size_limit = c->sp.message_size_limit;
	if (en->tcp) {
		struct sp_tcp_limits tl = {
			.max_message = c->sp.tcp_message_size,
			.header_timeout_ms = c->sp.tcp_header_timeout * 1000u,
			.idle_timeout_ms = c->sp.tcp_idle_timeout * 1000u,
			.max_connections = c->sp.tcp_connections,
			.max_per_source = c->sp.tcp_source_connections,
		};

		sp_transport_tcp_set_limits(en->tcp, &tl);
		if (en->tls)
			sp_transport_tcp_set_limits(en->tls, &tl);
	}
}

/* signaling-port-range: the table's pools over the new range, their ports
 * in use kept (a failed apply puts the old range back the same way). */
static int sp_engine_signaling_range(struct sp_engine *en, const struct sp_config *c,
				     struct sp_error *e)
{
	unsigned outside = 0;
	int rc = sp_table_set_signaling_range(en->table, c->sp.signaling_port_min,
					      c->sp.signaling_port_max, &outside);

	if (rc == -EBUSY)
		return sp_error_set(e,
				    "signaling-port-range %u %u: %u server-side ports in use lie outside it "
				    "(clear sessions first)",
				    c->sp.signaling_port_min, c->sp.signaling_port_max, outside);
	if (rc < 0)
		return sp_error_set(e, "signaling-port-range %u %u: %s", c->sp.signaling_port_min,
				    c->sp.signaling_port_max, strerror(-rc));
	return 0;
}

int sp_engine_apply(struct sp_engine *en, const struct sp_config *c, struct sp_error *e)
{
	struct sp_engine_change ch = { 0 };
	char err[256] = "";
	int rc = -1;

	if (sp_engine_plan(en, c, &ch, e) < 0)
		return -1;
	ch.idle = !c->sp_enabled || !sp_engine_plan_has_strategy(&ch.plan);
	ch.n_ports = ch.idle ? 0 : c->sp.n_listen_ports;
	/* the port ranges first: a change while calls hold media ports, or
	 * bindings hold a c outside the new range, is refused */
	if (sp_engine_signaling_range(en, c, e) < 0)
		;
	else if (sp_media_set_range(en->media, c->sp.media_port_min, c->sp.media_port_max, err,
			       sizeof(err)) < 0)
		sp_error_set(e, "%s", err);
	else if (sp_mp_client_apply(en->mpc, c, e) == 0 && sp_engine_listeners_open(en, c, &ch, e) == 0 &&
		 sp_engine_tls_prepare(en, c, ch.idle, &ch.tls, e) == 0 &&
		 sp_engine_kernel_apply(en, c, &ch, e) == 0) {
		sp_engine_commit(en, c, &ch);
		/* the rule is in: the bindings' datagrams come to the shared
		 * socket now (or, switched off, to their own again) */
		sp_engine_workers_shared(en, c);
		sp_engine_workers_listen(en);
		rc = 0;
	}
	for (unsigned i = 0; rc < 0 && i < ch.n_new; i++)
		sp_transport_close(ch.opened[i]);
	for (unsigned i = 0; rc < 0 && i < ch.n_new_tcp; i++)
		sp_transport_close(ch.opened_tcp[i]);
	if (rc < 0)
		sp_engine_tls_abort(&ch.tls);
	sp_classify_free(&ch.plan);
	free(ch.vpn_chains);
	free(ch.ifs);
	return rc;
}

int sp_engine_config_cb(void *arg, const struct sp_config *old_cfg,
			const struct sp_config *new_cfg, const struct sp_config_diff *diff,
			struct sp_error *e)
{
	struct sp_engine *en = arg;
	bool relevant = false;

	for (size_t i = 0; i < diff->n; i++) {
		enum sp_config_object o = diff->changes[i].object;
		relevant |= o == SP_OBJ_GLOBAL || o == SP_OBJ_STRATEGY || o == SP_OBJ_INTERFACE ||
			    o == SP_OBJ_MEDIA_PROXY;
	}
	if (!relevant)
		return 0;
	if (sp_engine_apply(en, new_cfg, e) < 0) {
		struct sp_error ignored;

		/* whatever step failed, put back what the running config says */
		if (sp_engine_apply(en, old_cfg, &ignored) < 0)
			sp_err("engine: cannot restore the previous state: %s", ignored.msg);
		return -1;
	}
	return 0;
}

/* The links changed under the running configuration (a VLAN sub-interface
 * or VRF slave came or went, a configured interface appeared or was renamed):
 * the same apply as a commit, with the same configuration. */
void sp_engine_links_changed(void *arg)
{
	struct sp_engine *en = arg;
	struct sp_error e = { 0 };

	sp_info("engine: links changed: re-applying the classification");
	if (sp_engine_apply(en, sp_config_store_current(en->env.config), &e) < 0)
		sp_err("engine: re-applying after a link change: %s", e.msg);
}
