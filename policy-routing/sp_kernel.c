#include "config.h"
#include "sp_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp_addr.h"
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
	char bpf_unavailable[SP_ERROR_MAX + 32];	/* why `match vlan` cannot use it: a prefix and an sp_error */
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
