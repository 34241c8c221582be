#include "config.h"
#include "sp_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sp_addr.h"
#include "sp_linkwatch.h"
#include "sp_steer.h"
#include "sp_log.h"

struct sp_kernel {
	struct sp_rtnl *rtnl;
	struct sp_nft *nft;
	struct sp_kernel_plan installed;
	bool has_installed;
	/* local-virtual-address: E on lo, ARP silence on the terminal side */
	struct sp_rt_addr lva;          /* family 0: none installed */
	struct {
		char ifname[IFNAMSIZ];
		int arp_ignore, arp_announce;
	} arp_saved[SP_NFT_MAX_IIFNAMES];
	unsigned n_arp_saved;
	struct sp_bpf *bpf;		/* the tc-BPF VLAN tagger; NULL: not loaded */
	char bpf_unavailable[200];	/* why `match vlan` cannot use it */
};

/* ---- plan (pure) ---------------------------------------------------------- */

/* SIP over TCP: an accepted connection carries the mark of the SYN the
 * interception marked (net.ipv4.tcp_fwmark_accept, so the daemon can read
 * its strategy, VPN and tag), and so do the SYN-ACK and the ACKs sent before
 * the daemon sets the socket's mark; with the TPROXY bit the interception
 * rule would route them to the local table. On the way out the bit goes:
 * such a packet leaves as an answer does (sp_mark_return: into its VPN,
 * re-tagged, or unmarked), and the route chain routes it again. */
static const char sp_kernel_tcp_answers[] =
	"\tchain tcp_answers {\n"
	"\t\ttype route hook output priority mangle; policy accept;\n"
	"\t\tmeta l4proto tcp meta mark & 0x4000ffff == 0x40000000 meta mark set 0x00000000\n"
	"\t\tmeta l4proto tcp meta mark & 0x40000000 == 0x40000000"
	" meta mark set meta mark & 0x0000ffff | 0x80000000\n"
	"\t}\n";

/* The mark of a TCP connection's SYN on its accepted socket. */
static void sp_kernel_tcp_accept_marks(void)
{
	int fd = open("/proc/sys/net/ipv4/tcp_fwmark_accept", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "1", 1) != 1)
		sp_warn("kernel: cannot set net.ipv4.tcp_fwmark_accept: %s: SIP over TCP is not classified",
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

int sp_kernel_plan_build(const struct sp_kernel_intercept_cfg *cfg, struct sp_kernel_plan *plan,
			 struct sp_error *err)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const struct sp_nft_intercept *nft = &cfg->nft;

	memset(plan, 0, sizeof(*plan));
	if (!cfg->rule_priority) {
		sp_error_set(err, "the interception rule needs a priority above 0");
		errno = EINVAL;
		return -1;
	}
	/* 253-255 are the kernel's default, main and local tables: a local
	 * default route there would swallow all traffic. */
	if (!cfg->table || (cfg->table >= 253 && cfg->table <= 255)) {
		sp_error_set(err, "table %u cannot hold the interception route", cfg->table);
		errno = EINVAL;
		return -1;
	}
	if (!nft->fwmark && !nft->fwmask) {
		sp_error_set(err, "no interception fwmark");
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < nft->n_entries && !cfg->ipv6; i++) {
		const struct sp_nft_entry *e = &nft->entries[i];

		if (e->verdict == SP_NFT_TPROXY &&
		    (e->src.addr.family == AF_INET6 || e->dst.addr.family == AF_INET6)) {
			sp_error_set(err, "entry %zu intercepts IPv6 but IPv6 interception is off", i);
			errno = EINVAL;
			return -1;
		}
	}
	for (size_t f = 0; f < (cfg->ipv6 ? 2u : 1u); f++) {
		struct sp_rule *rule = &plan->rules[plan->n_rules++];
		struct sp_route *route = &plan->routes[plan->n_routes++];

		rule->family = families[f];
		rule->priority = cfg->rule_priority;
		rule->fwmark = nft->fwmark;
		rule->fwmask = nft->fwmask ? nft->fwmask : 0xffffffffu;
		rule->table = cfg->table;
		rule->protocol = SP_RTPROT;
		route->family = families[f];
		route->kind = SP_ROUTE_LOCAL;
		route->table = cfg->table;
		route->protocol = SP_RTPROT;
	}
	{
		/* the media guard goes with the interception, after the caller's
		 * own extra chains, and the shared server-side sockets' TPROXY */
		struct sp_nft_intercept with_guard = *nft;
		char *guard = NULL, *chains = NULL;
		int rc;

		if (sp_media_guard_render_families(cfg->media_port_first, cfg->media_port_last, cfg->ipv6, &guard) < 0 ||
		    asprintf(&chains, "%s%s%s", nft->extra_chains ? nft->extra_chains : "", guard,
			     sp_kernel_tcp_answers) < 0 || sp_server_tproxy_append(&cfg->server_tproxy, &chains) < 0) {
			free(guard);
			sp_error_set(err, "out of memory");
			errno = ENOMEM;
			return -1;
		}
		free(guard);
		with_guard.extra_chains = chains;
		rc = sp_nft_render_intercept(&with_guard, &plan->nft_body, err);
		free(chains);
		if (rc < 0) {
			int saved = errno;

			sp_kernel_plan_free(plan);
			errno = saved;
			return -1;
		}
	}
	return 0;
}

void sp_kernel_plan_free(struct sp_kernel_plan *plan)
{
	free(plan->nft_body);
	memset(plan, 0, sizeof(*plan));
}

void sp_kernel_plan_print(const struct sp_kernel_plan *plan, FILE *out)
{
	char desc[SP_RTNL_DESC_LEN];

	for (size_t i = 0; i < plan->n_rules; i++) {
		sp_rtnl_rule_format(&plan->rules[i], desc, sizeof(desc));
		fprintf(out, "ip rule %s\n", desc);
	}
	for (size_t i = 0; i < plan->n_routes; i++) {
		sp_rtnl_route_format(&plan->routes[i], desc, sizeof(desc));
		fprintf(out, "ip route %s\n", desc);
	}
	if (plan->nft_body)
		fprintf(out, "table " SP_NFT_FAMILY " " SP_NFT_TABLE " {\n%s}\n", plan->nft_body);
}

/* ---- the kernel ----------------------------------------------------------- */

int sp_kernel_open(struct sp_kernel **out, struct sp_error *err)
{
	struct sp_kernel *kernel = calloc(1, sizeof(*kernel));
	size_t rules = 0, routes = 0;

	*out = NULL;
	if (!kernel)
		return sp_error_set(err, "out of memory");
	if (sp_rtnl_open(&kernel->rtnl, err) < 0 ||
	    sp_nft_open(&kernel->nft, err) < 0)
		goto fail;
	/* A crashed run leaves its rules, routes and table behind; they would
	 * steer traffic to a listener that no longer exists. */
	if (sp_rtnl_flush_owned(kernel->rtnl, &rules, &routes, err) < 0 ||
	    sp_nft_remove(kernel->nft, err) < 0)
		goto fail;
	if (rules || routes)
		sp_info("removed %zu stale rule(s) and %zu stale route(s) of a previous run",
			rules, routes);
	*out = kernel;
	return 0;
fail:
	{
		int saved = errno;

		sp_kernel_close(kernel);
		errno = saved;
	}
	return -1;
}

void sp_kernel_close(struct sp_kernel *kernel)
{
	if (!kernel)
		return;
	sp_kernel_plan_free(&kernel->installed);
	sp_nft_close(kernel->nft);
	sp_rtnl_close(kernel->rtnl);
	free(kernel);
}

static bool sp_plan_has_rule(const struct sp_kernel_plan *plan, const struct sp_rule *rule)
{
	for (size_t i = 0; plan && i < plan->n_rules; i++)
		if (sp_rtnl_rule_equal(&plan->rules[i], rule))
			return true;
	return false;
}

static bool sp_plan_has_route(const struct sp_kernel_plan *plan, const struct sp_route *route)
{
	for (size_t i = 0; plan && i < plan->n_routes; i++)
		if (sp_rtnl_route_equal(&plan->routes[i], route))
			return true;
	return false;
}

/* Takes back what an install added; failures here can only be logged. */
static void sp_kernel_undo(struct sp_kernel *kernel, const struct sp_kernel_plan *plan,
			   const bool *rule_added, const bool *route_added)
{
	struct sp_error msg = { "" };

	for (size_t i = 0; i < plan->n_rules; i++)
		if (rule_added[i] && sp_rtnl_rule_del(kernel->rtnl, &plan->rules[i], &msg) < 0)
			sp_warn("rollback: %s", msg.msg);
	for (size_t i = 0; i < plan->n_routes; i++)
		if (route_added[i] && sp_rtnl_route_del(kernel->rtnl, &plan->routes[i], &msg) < 0)
			sp_warn("rollback: %s", msg.msg);
}

int sp_kernel_install_intercept(struct sp_kernel *kernel, const struct sp_kernel_intercept_cfg *cfg,
				struct sp_error *err)
{
	const struct sp_kernel_plan *old = kernel->has_installed ? &kernel->installed : NULL;
	bool rule_added[SP_KERNEL_PLAN_MAX] = { false };
	bool route_added[SP_KERNEL_PLAN_MAX] = { false };
	struct sp_kernel_plan plan;
	struct sp_error msg = { "" };
	int saved;

	if (sp_kernel_plan_build(cfg, &plan, err) < 0)
		return -1;
	/* The route before the rule that leads to it. */
	for (size_t i = 0; i < plan.n_routes; i++) {
		if (sp_plan_has_route(old, &plan.routes[i]))
			continue;
		if (sp_rtnl_route_add(kernel->rtnl, &plan.routes[i], err) < 0)
			goto undo;
		route_added[i] = true;
	}
	for (size_t i = 0; i < plan.n_rules; i++) {
		if (sp_plan_has_rule(old, &plan.rules[i]))
			continue;
		if (sp_rtnl_rule_add(kernel->rtnl, &plan.rules[i], err) < 0)
			goto undo;
		rule_added[i] = true;
	}
	if (sp_nft_apply(kernel->nft, plan.nft_body, err) < 0)
		goto undo;
	sp_kernel_tcp_accept_marks();
	/* The new interception is in force; what only the old one used goes. */
	for (size_t i = 0; old && i < old->n_rules; i++)
		if (!sp_plan_has_rule(&plan, &old->rules[i]) &&
		    sp_rtnl_rule_del(kernel->rtnl, &old->rules[i], &msg) < 0)
			sp_warn("replacing interception: %s", msg.msg);
	for (size_t i = 0; old && i < old->n_routes; i++)
		if (!sp_plan_has_route(&plan, &old->routes[i]) &&
		    sp_rtnl_route_del(kernel->rtnl, &old->routes[i], &msg) < 0)
			sp_warn("replacing interception: %s", msg.msg);
	sp_kernel_plan_free(&kernel->installed);
	kernel->installed = plan;
	kernel->has_installed = true;
	return 0;
undo:
	saved = errno;
	sp_kernel_undo(kernel, &plan, rule_added, route_added);
	sp_kernel_plan_free(&plan);
	errno = saved;
	return -1;
}

int sp_kernel_remove_all(struct sp_kernel *kernel, struct sp_error *err)
{
	struct sp_error msg = { "" };
	int ret = 0, saved = 0;

	/* The table first: no more packets marked for a route about to go. */
	if (sp_nft_remove(kernel->nft, err) < 0) {
		saved = errno;
		ret = -1;
	}
	if (sp_rtnl_flush_owned(kernel->rtnl, NULL, NULL, ret ? &msg : err) < 0) {
		if (!ret)
			saved = errno;
		else
			sp_warn("%s", msg.msg);
		ret = -1;
	}
	sp_kernel_plan_free(&kernel->installed);
	kernel->has_installed = false;
	if (ret)
		errno = saved;
	return ret;
}

int sp_kernel_remove_intercept(struct sp_kernel *kernel, struct sp_error *err)
{
	const struct sp_kernel_plan *old = kernel->has_installed ? &kernel->installed : NULL;
	struct sp_error msg = { "" };
	int ret = 0;

	/* The table first: no more packets marked for a route about to go. */
	if (sp_nft_remove(kernel->nft, err) < 0)
		ret = -1;
	for (size_t i = 0; old && i < old->n_rules; i++)
		if (sp_rtnl_rule_del(kernel->rtnl, &old->rules[i], &msg) < 0 && errno != ENOENT) {
			if (!ret)
				sp_error_set(err, "%s", msg.msg);
			ret = -1;
		}
	for (size_t i = 0; old && i < old->n_routes; i++)
		if (sp_rtnl_route_del(kernel->rtnl, &old->routes[i], &msg) < 0 && errno != ESRCH &&
		    errno != ENOENT) {
			if (!ret)
				sp_error_set(err, "%s", msg.msg);
			ret = -1;
		}
	sp_kernel_plan_free(&kernel->installed);
	kernel->has_installed = false;
	return ret;
}

int sp_kernel_media_seen(struct sp_kernel *kernel, struct sp_media_guard_seen **out, struct sp_error *err)
{
	static const char *const sets[] = { SP_MEDIA_GUARD_SET, SP_MEDIA_GUARD_SET6 };
	char *text[2] = { NULL, NULL }, *all = NULL;
	int n = 0;

	*out = NULL;
	if (!kernel->has_installed)
		return 0; /* no table (standby): nothing guarded */
	/* each family's set; one that does not exist (no media range, IPv4
	 * only) adds nothing. What was read is handled: a packet still
	 * dropped is added again. */
	for (unsigned i = 0; i < 2 && n == 0; i++)
		if (sp_nft_set_elements(kernel->nft, sets[i], &text[i], err) < 0)
			n = errno == ENOENT ? 0 : -1;
		else if (*text[i] && sp_nft_flush_set(kernel->nft, sets[i], err) < 0)
			n = -1;
	if (n == 0 && asprintf(&all, "%s%s", text[0] ? text[0] : "", text[1] ? text[1] : "") < 0)
		all = NULL;
	if (n == 0 && (!all || (n = sp_media_guard_parse_seen(all, out)) < 0))
		n = sp_error_set(err, "out of memory");
	free(text[0]);
	free(text[1]);
	free(all);
	return n;
}

uint64_t sp_kernel_media_guard_drops(struct sp_kernel *kernel)
{
	uint64_t packets = 0;
	struct sp_error err = { "" };

	if (!kernel->has_installed ||
	    sp_nft_counter_packets(kernel->nft, SP_MEDIA_GUARD_COUNTER, &packets, &err) < 0)
		return 0;
	return packets;
}

const struct sp_kernel_plan *sp_kernel_installed(const struct sp_kernel *kernel)
{
	return kernel->has_installed ? &kernel->installed : NULL;
}

struct sp_rtnl *sp_kernel_rtnl(struct sp_kernel *kernel)
{
	return kernel->rtnl;
}

struct sp_nft *sp_kernel_nft(struct sp_kernel *kernel)
{
	return kernel->nft;
}

/* ---- local virtual address ------------------------------------------------ */

void sp_kernel_lva_remove(struct sp_kernel *k)
{
	struct sp_error err = { "" };

	if (!k)
		return;
	for (unsigned i = 0; i < k->n_arp_saved; i++) {
		sp_addr_sysctl_set(k->arp_saved[i].ifname, "arp_ignore", k->arp_saved[i].arp_ignore, &err);
		sp_addr_sysctl_set(k->arp_saved[i].ifname, "arp_announce", k->arp_saved[i].arp_announce, &err);
	}
	k->n_arp_saved = 0;
	if (k->lva.family && sp_addr_local(&k->lva, "lo", false, &err) < 0)
		sp_warn("engine: %s", err.msg);
	memset(&k->lva, 0, sizeof(k->lva));
}

int sp_kernel_lva_set(struct sp_kernel *k, const struct sp_rt_addr *a, const char *const *ifnames,
		      size_t n_ifnames, struct sp_error *err)
{
	sp_kernel_lva_remove(k);
	if (!a->family)
		return 0;
	if (sp_addr_local(a, "lo", true, err) < 0)
		return -1;
	k->lva = *a;
	for (size_t i = 0; i < n_ifnames && k->n_arp_saved < SP_NFT_MAX_IIFNAMES; i++) {
		const char *ifn = ifnames[i];
		int ign, ann;

		if (sp_addr_sysctl_get(ifn, "arp_ignore", &ign) < 0 ||
		    sp_addr_sysctl_get(ifn, "arp_announce", &ann) < 0) {
			sp_warn("engine: interface %s not present: ARP settings not changed", ifn);
			continue;
		}
		snprintf(k->arp_saved[k->n_arp_saved].ifname, IFNAMSIZ, "%s", ifn);
		k->arp_saved[k->n_arp_saved].arp_ignore = ign;
		k->arp_saved[k->n_arp_saved].arp_announce = ann;
		k->n_arp_saved++;
		if (sp_addr_sysctl_set(ifn, "arp_ignore", 1, err) < 0 ||
		    sp_addr_sysctl_set(ifn, "arp_announce", 2, err) < 0) {
			sp_kernel_lva_remove(k);
			return -1;
		}
	}
	return 0;
}

/* ---- the tagger ----------------------------------------------------------- */

/* The tagger on the interfaces it serves, the others let go; how many. */
static size_t sp_kernel_tagger_attach(struct sp_kernel *k, const char *const *ifnames, size_t n_ifnames,
				      size_t n_tags)
{
	const char *serve[SP_NFT_MAX_IIFNAMES] = { 0 };
	size_t n = 0;
	struct sp_error err = { "" };

	for (size_t i = 0; n_tags && i < n_ifnames && n < SP_NFT_MAX_IIFNAMES; i++) {
		if (sp_bpf_attach(k->bpf, ifnames[i], SP_BPF_SERVE, NULL, &err) < 0) {
			snprintf(k->bpf_unavailable, sizeof(k->bpf_unavailable),
				 "tc-BPF tagger not attached: %s", err.msg);
			sp_warn("engine: %s", k->bpf_unavailable);
			continue;
		}
		serve[n++] = ifnames[i];
	}
	sp_bpf_detach_others(k->bpf, serve, n);
	return n;
}

const char *sp_kernel_tagger_apply(struct sp_kernel *k, const char *const *ifnames, size_t n_ifnames,
				   const struct sp_bpf_tag *tags, size_t n_tags)
{
	struct sp_error err = { "" };
	size_t n;

	/* loaded the first time a strategy needs it; without it `match vlan`
	 * needs 802.1Q sub-interfaces, and the strategies say so */
	if (!k->bpf && n_tags && sp_bpf_open(&k->bpf, &err) < 0) {
		snprintf(k->bpf_unavailable, sizeof(k->bpf_unavailable),
			 "no 802.1Q sub-interface or MPLS route, and the BPF tagger is not loaded: %.100s", err.msg);
		sp_warn("engine: %s", k->bpf_unavailable);
	}
	if (!k->bpf)
		return n_tags ? k->bpf_unavailable : NULL;
	k->bpf_unavailable[0] = '\0'; /* this apply's reasons only */
	n = sp_kernel_tagger_attach(k, ifnames, n_ifnames, n_tags);
	if (!n_tags)
		return NULL;
	if (!n) {
		if (!k->bpf_unavailable[0])
			snprintf(k->bpf_unavailable, sizeof(k->bpf_unavailable),
				 "no 802.1Q sub-interface or MPLS route, and no terminal-side "
				 "interface for the BPF tagger");
		return k->bpf_unavailable;
	}
	if (sp_bpf_set_tags(k->bpf, tags, n_tags, &err) < 0) {
		snprintf(k->bpf_unavailable, sizeof(k->bpf_unavailable), "tc-BPF tagger: %s", err.msg);
		return k->bpf_unavailable;
	}
	k->bpf_unavailable[0] = '\0';
	return NULL;
}

void sp_kernel_tagger_close(struct sp_kernel *k)
{
	if (!k)
		return;
	sp_bpf_close(k->bpf, true); /* off every interface */
	k->bpf = NULL;
}

/* ---- the real door: every kernel module the engine uses, behind one table ---- */

struct sp_kernel_real {
	struct sp_kernel_door door;
	int netns_lock;			/* abstract unix socket: one per namespace */
	struct sp_kernel *kernel;
	struct sp_conntrack *ct;
	struct sp_retpath *retpath;
	struct sp_vpn_kernel *vpn;
	struct sp_linkwatch *linkwatch;
	struct sp_steer *steer;		/* with more than one worker */
};

static struct sp_kernel_real *sp_real(struct sp_kernel_door *kd)
{
	return (struct sp_kernel_real *)kd;
}

static void sp_real_destroy(struct sp_kernel_door *kd)
{
	struct sp_kernel_real *r = sp_real(kd);
	struct sp_error err = { "" };

	sp_kernel_lva_remove(r->kernel);
	sp_steer_close(r->steer);
	sp_retpath_close(r->retpath); /* its rules and routes */
	sp_linkwatch_free(r->linkwatch);
	sp_vpn_kernel_free(r->vpn); /* the VPNs' rules and tables */
	sp_kernel_tagger_close(r->kernel); /* off every interface */
	sp_conntrack_close(r->ct);
	if (r->kernel) {
		if (sp_kernel_remove_all(r->kernel, &err) < 0)
			sp_err("engine: removing kernel state: %s", err.msg);
		sp_kernel_close(r->kernel);
	}
	if (r->netns_lock >= 0)
		close(r->netns_lock);
	free(r);
}

static int sp_real_install_intercept(struct sp_kernel_door *kd, const struct sp_kernel_intercept_cfg *cfg,
				     struct sp_error *err)
{
	return sp_kernel_install_intercept(sp_real(kd)->kernel, cfg, err);
}

static int sp_real_remove_intercept(struct sp_kernel_door *kd, struct sp_error *err)
{
	return sp_kernel_remove_intercept(sp_real(kd)->kernel, err);
}

static bool sp_real_intercept_installed(struct sp_kernel_door *kd)
{
	return sp_kernel_installed(sp_real(kd)->kernel) != NULL;
}

static uint64_t sp_real_media_guard_drops(struct sp_kernel_door *kd)
{
	return sp_kernel_media_guard_drops(sp_real(kd)->kernel);
}

static int sp_real_media_seen(struct sp_kernel_door *kd, struct sp_media_guard_seen **out, struct sp_error *err)
{
	return sp_kernel_media_seen(sp_real(kd)->kernel, out, err);
}

static int sp_real_lva_set(struct sp_kernel_door *kd, const struct sp_rt_addr *addr,
			   const char *const *ifnames, size_t n_ifnames, struct sp_error *err)
{
	return sp_kernel_lva_set(sp_real(kd)->kernel, addr, ifnames, n_ifnames, err);
}

static const char *sp_real_tagger_apply(struct sp_kernel_door *kd, const char *const *ifnames,
					size_t n_ifnames, const struct sp_bpf_tag *tags, size_t n_tags)
{
	return sp_kernel_tagger_apply(sp_real(kd)->kernel, ifnames, n_ifnames, tags, n_tags);
}

static int sp_real_counter_packets(struct sp_kernel_door *kd, const char *name, uint64_t *packets,
				   struct sp_error *err)
{
	return sp_nft_counter_packets(sp_real(kd)->kernel->nft, name, packets, err);
}

static int sp_real_set_elements(struct sp_kernel_door *kd, const char *set, char **text, struct sp_error *err)
{
	return sp_nft_set_elements(sp_real(kd)->kernel->nft, set, text, err);
}

static int sp_real_nft_list(struct sp_kernel_door *kd, char **text, struct sp_error *err)
{
	return sp_nft_list(sp_real(kd)->kernel->nft, text, err);
}

static int sp_real_links_read(struct sp_kernel_door *kd, struct sp_link_state *s, struct sp_error *err)
{
	(void)kd;
	return sp_link_state_read(s, err);
}

static int sp_real_links_watch(struct sp_kernel_door *kd, const struct sp_link_info *links, size_t n,
			       const char *const *names, size_t n_names)
{
	return sp_linkwatch_seed(sp_real(kd)->linkwatch, links, n, names, n_names);
}

static int sp_real_vpn_apply(struct sp_kernel_door *kd, const struct sp_vpn_map *map, struct sp_error *err)
{
	return sp_vpn_kernel_apply(sp_real(kd)->vpn, map, err);
}

static const struct sp_vpn_kernel *sp_real_vpn_state(struct sp_kernel_door *kd)
{
	return sp_real(kd)->vpn;
}

static int sp_real_retpath_configure(struct sp_kernel_door *kd, enum sp_retpath_mode mode,
				     const struct sp_addr *gw, const uint16_t *listen_ports,
				     unsigned n_listen_ports, struct sp_error *err)
{
	return sp_retpath_configure(sp_real(kd)->retpath, mode, gw, listen_ports, n_listen_ports, err);
}

static void sp_real_retpath_drain(struct sp_kernel_door *kd)
{
	sp_retpath_drain(sp_real(kd)->retpath);
}

static bool sp_real_retpath_learn(struct sp_kernel_door *kd, const struct sp_endpoint *terminal,
				  int ifindex, struct sp_learned_path *path)
{
	return sp_retpath_learn(sp_real(kd)->retpath, terminal, ifindex, path);
}

static uint32_t sp_real_retpath_mark(struct sp_kernel_door *kd, const struct sp_learned_path *path)
{
	return sp_retpath_mark(sp_real(kd)->retpath, path);
}

static uint64_t sp_real_retpath_rx_drops(struct sp_kernel_door *kd)
{
	return sp_retpath_rx_drops(sp_real(kd)->retpath);
}

static int sp_real_ct_create(struct sp_kernel_door *kd, const struct sp_ct_nat *n, uint32_t timeout_s)
{
	return sp_conntrack_create(sp_real(kd)->ct, n, timeout_s);
}

static int sp_real_ct_delete(struct sp_kernel_door *kd, const struct sp_ct_nat *n)
{
	return sp_conntrack_delete(sp_real(kd)->ct, n);
}

static int sp_real_ct_counters(struct sp_kernel_door *kd, const struct sp_ct_nat *n,
			       struct sp_ct_counters *c)
{
	return sp_conntrack_counters(sp_real(kd)->ct, n, c);
}

static int sp_real_ct_list(struct sp_kernel_door *kd, struct sp_ct_nat **out)
{
	return sp_conntrack_list(sp_real(kd)->ct, out);
}

static int sp_real_steer_open(struct sp_kernel_door *kd, unsigned n, struct sp_error *err)
{
	sp_steer_close(sp_real(kd)->steer); /* sp_steer_open sets it, NULL on failure */
	return sp_steer_open(&sp_real(kd)->steer, n, err);
}

static int sp_real_steer_listener(struct sp_kernel_door *kd, uint16_t port, int family,
				  unsigned worker, int fd, struct sp_error *err)
{
	return sp_steer_listener(sp_real(kd)->steer, port, family, worker, fd, err);
}

static int sp_real_steer_server(struct sp_kernel_door *kd, uint16_t first, uint16_t last,
				const struct sp_rt_addr *c4, const struct sp_rt_addr *c6, struct sp_error *err)
{
	return sp_steer_server(sp_real(kd)->steer, first, last, c4, c6, err);
}

static int sp_real_steer_port(struct sp_kernel_door *kd, int family, uint16_t port, int w, struct sp_error *err)
{
	return sp_steer_port_owner(sp_real(kd)->steer, family, port, w, err);
}

static void sp_real_steer_reset(struct sp_kernel_door *kd)
{
	sp_steer_reset(sp_real(kd)->steer);
}

static unsigned sp_real_steer_worker(struct sp_kernel_door *kd, const struct sp_endpoint *terminal, unsigned n)
{
	(void)kd;
	return sp_steer_worker(terminal, n);
}

static const struct sp_kernel_door_ops sp_real_ops = {
	.destroy = sp_real_destroy,
	.install_intercept = sp_real_install_intercept,
	.remove_intercept = sp_real_remove_intercept,
	.intercept_installed = sp_real_intercept_installed,
	.media_guard_drops = sp_real_media_guard_drops,
	.media_seen = sp_real_media_seen,
	.lva_set = sp_real_lva_set,
	.tagger_apply = sp_real_tagger_apply,
	.counter_packets = sp_real_counter_packets,
	.set_elements = sp_real_set_elements,
	.nft_list = sp_real_nft_list,
	.links_read = sp_real_links_read,
	.links_watch = sp_real_links_watch,
	.vpn_apply = sp_real_vpn_apply,
	.vpn_state = sp_real_vpn_state,
	.retpath_configure = sp_real_retpath_configure,
	.retpath_drain = sp_real_retpath_drain,
	.retpath_learn = sp_real_retpath_learn,
	.retpath_mark = sp_real_retpath_mark,
	.retpath_rx_drops = sp_real_retpath_rx_drops,
	.ct_create = sp_real_ct_create,
	.ct_delete = sp_real_ct_delete,
	.ct_counters = sp_real_ct_counters,
	.ct_list = sp_real_ct_list,
	.steer_open = sp_real_steer_open,
	.steer_listener = sp_real_steer_listener,
	.steer_reset = sp_real_steer_reset,
	.steer_server = sp_real_steer_server,
	.steer_port = sp_real_steer_port,
	.steer_worker = sp_real_steer_worker,
};

/* Two engines in one network namespace would fight over its nftables table
 * and rules. Abstract unix sockets belong to the namespace, so binding a
 * well-known one is a lock that a crash releases by itself. */
static int sp_kernel_netns_lock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char name[] = "sigproxyd-engine";
	int fd;

	memcpy(sa.sun_path + 1, name, sizeof(name) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(name))) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

struct sp_kernel_door *sp_kernel_door_open(struct sp_loop *loop, unsigned settle_ms,
					   void (*links_changed)(void *arg), void *arg, struct sp_error *err)
{
	struct sp_kernel_real *r = calloc(1, sizeof(*r));
	struct sp_error why = { "" };

	if (!r) {
		sp_error_set(err, "Out of memory");
		return NULL;
	}
	r->door.ops = &sp_real_ops;
	r->netns_lock = sp_kernel_netns_lock();
	if (r->netns_lock < 0) {
		sp_error_set(err, "another sigproxyd runs in this network namespace");
		goto fail;
	}
	if (sp_kernel_open(&r->kernel, &why) < 0) {
		sp_error_set(err, "kernel: %s", why.msg);
		goto fail;
	}
	if (sp_conntrack_open(&r->ct, &why) < 0) {
		sp_error_set(err, "media: %s", why.msg);
		goto fail;
	}
	/* after sp_kernel_open, which removes a previous run's tagged rules */
	if (sp_retpath_open(&r->retpath, &why) < 0) {
		sp_error_set(err, "return path: %s", why.msg);
		goto fail;
	}
	r->vpn = sp_vpn_kernel_new(r->kernel->rtnl);
	r->linkwatch = sp_linkwatch_new();
	if (!r->vpn || !r->linkwatch) {
		sp_error_set(err, "Out of memory");
		goto fail;
	}
	if (sp_linkwatch_listen(r->linkwatch, loop, settle_ms, links_changed, arg, &why) < 0)
		sp_warn("engine: %s: link changes wait for the next commit", why.msg);
	return &r->door;
fail:
	sp_real_destroy(&r->door);
	return NULL;
}
