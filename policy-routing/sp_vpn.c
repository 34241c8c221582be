#include "config.h"
#include "sp_vpn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sp_log.h"

#define SP_VPN_MAIN_TABLE 254

int sp_vpn_map_build(struct sp_vpn_map *map, const struct sp_vpn_if *ifs, size_t n, struct sp_error *err)
{
	memset(map, 0, sizeof(*map));
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ifs[i].vpn_id;
		unsigned at;

		if (!id)
			continue;
		if (id > SP_VPN_ZONE_MAX) {
			sp_error_set(err, "vpn-id %u of %s is above %u: it names the VPN's conntrack zone",
				 id, ifs[i].ifname, SP_VPN_ZONE_MAX);
			return -1;
		}
		if (map->n_ifs == SP_VPN_MAX_IFS) {
			sp_error_set(err, "more than %d interfaces in VPNs", SP_VPN_MAX_IFS);
			return -1;
		}
		map->ifs[map->n_ifs++] = ifs[i];
		if (sp_vpn_slot(map, id))
			continue;
		if (map->n == SP_MARK_VPN_MAX) {
			sp_error_set(err, "more than %u VPNs (the mark holds %u)", SP_MARK_VPN_MAX,
				 SP_MARK_VPN_MAX);
			return -1;
		}
		/* ascending: a VPN keeps its slot when an unrelated one changes
		 * only if it sorts before it, but the order is at least stable */
		for (at = map->n + 1; at > 1 && map->ids[at - 1] > id; at--)
			map->ids[at] = map->ids[at - 1];
		map->ids[at] = id;
		map->n++;
	}
	return 0;
}

static uint32_t sp_vpn_configured(const struct sp_vpn_if *ifs, size_t n, const char *ifname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ifs[i].ifname, ifname) == 0)
			return ifs[i].vpn_id;
	return 0;
}

size_t sp_vpn_add_vrfs(struct sp_vpn_if *ifs, size_t n, size_t max, const struct sp_link_vrf *vrfs,
		       size_t n_vrfs, char *warn, size_t warnlen)
{
	size_t n_configured = n;

	if (warnlen)
		warn[0] = '\0';
	for (size_t i = 0; i < n_vrfs && n < max; i++) {
		uint32_t id;

		if (sp_vpn_configured(ifs, n_configured, vrfs[i].ifname))
			continue; /* its own vpn-id wins */
		id = sp_vpn_configured(ifs, n_configured, vrfs[i].vrf);
		if (!id && vrfs[i].table <= SP_VPN_ZONE_MAX)
			id = vrfs[i].table;
		if (!id) {
			snprintf(warn, warnlen,
				 "VRF %s: table %u is no conntrack zone (1..%u): give its interface a vpn-id",
				 vrfs[i].vrf, vrfs[i].table, SP_VPN_ZONE_MAX);
			continue;
		}
		snprintf(ifs[n].ifname, sizeof(ifs[n].ifname), "%s", vrfs[i].ifname);
		ifs[n++].vpn_id = id;
	}
	return n;
}

unsigned sp_vpn_slot(const struct sp_vpn_map *map, uint32_t vpn_id)
{
	/* ids[1..n] ascending (sp_vpn_map_build): binary search */
	unsigned lo = 1, hi = map->n;

	while (vpn_id && lo <= hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (map->ids[mid] == vpn_id)
			return mid;
		if (map->ids[mid] < vpn_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

uint32_t sp_vpn_id(const struct sp_vpn_map *map, unsigned slot)
{
	return slot >= 1 && slot <= map->n ? map->ids[slot] : 0;
}

int sp_vpn_render_nft(const struct sp_vpn_map *map, uint32_t ct_mark, uint32_t ct_mark_mask,
		      char **text)
{
	size_t len = 0;
	FILE *out = open_memstream(text, &len);

	if (!out)
		return -1;
	if (map->n_ifs) {
		/* raw: before conntrack, which must look the packet up in the
		 * VPN's zone; the mark's other bits are left to later hooks */
		fprintf(out, "\tchain vpn_ingress {\n"
			     "\t\ttype filter hook prerouting priority raw; policy accept;\n");
		for (size_t i = 0; i < map->n_ifs; i++)
			fprintf(out,
				"\t\tiifname \"%s\" meta mark set meta mark & 0x%08x | 0x%08x ct zone set %u"
				" comment \"vpn-id %u\"\n",
				map->ifs[i].ifname, ~SP_MARK_VPN_MASK,
				sp_vpn_slot(map, map->ifs[i].vpn_id) << SP_MARK_VPN_SHIFT,
				map->ifs[i].vpn_id, map->ifs[i].vpn_id);
		fprintf(out, "\t}\n");
	}
	/* media coming back from the far side: its entry's mark holds where the
	 * terminal is (VPN, tag), which routes and re-tags it */
	fprintf(out,
		"\tchain media_return {\n"
		"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		"\t\tct direction reply ct mark & 0x%08x == 0x%08x ct mark & 0x%08x != 0"
		" meta mark set ct mark & 0x%08x | 0x%08x comment \"media back into its VPN\"\n"
		"\t}\n",
		ct_mark_mask, ct_mark, SP_MARK_ORIGIN_MASK, SP_MARK_ORIGIN_MASK, SP_MARK_RETURN);
	if (fclose(out) != 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

/* ---- kernel ---- */

struct sp_vpn_installed {
	struct sp_rule rule;
	struct sp_rule rule6;	/* the same for IPv6 (priority 0: not installed) */
	struct sp_route *routes;
	size_t n_routes;
	uint32_t vpn_id;
	unsigned slot;
};

struct sp_vpn_kernel {
	struct sp_rtnl *rtnl;
	struct sp_vpn_installed vpns[SP_MARK_VPN_MAX];
	size_t n;
};

struct sp_vpn_kernel *sp_vpn_kernel_new(struct sp_rtnl *rtnl)
{
	struct sp_vpn_kernel *k = calloc(1, sizeof(*k));

	if (k)
		k->rtnl = rtnl;
	return k;
}

static void sp_vpn_kernel_clear(struct sp_vpn_kernel *k)
{
	struct sp_error msg = { "" };

	for (size_t i = 0; i < k->n; i++) {
		struct sp_vpn_installed *v = &k->vpns[i];

		if (v->rule.priority && sp_rtnl_rule_del(k->rtnl, &v->rule, &msg) < 0)
			sp_warn("vpn-id %u: %s", v->vpn_id, msg.msg);
		if (v->rule6.priority && sp_rtnl_rule_del(k->rtnl, &v->rule6, &msg) < 0)
			sp_warn("vpn-id %u: %s", v->vpn_id, msg.msg);
		for (size_t r = 0; r < v->n_routes; r++)
			if (sp_rtnl_route_del(k->rtnl, &v->routes[r], &msg) < 0 &&
			    errno != ESRCH)
				sp_warn("vpn-id %u: %s", v->vpn_id, msg.msg);
		free(v->routes);
	}
	k->n = 0;
}

/* The main table's routes (IPv4 and IPv6) through the VPN's interfaces,
 * into its table: what a VRF would hold. A snapshot, taken at each apply.
 * One rule per family sends the VPN's answers there. */
static int sp_vpn_install_one(struct sp_vpn_kernel *k, const struct sp_vpn_map *map, unsigned slot,
			      const struct sp_route *main_routes, size_t n_main,
			      struct sp_vpn_installed *v, struct sp_error *err)
{
	uint32_t table = SP_VPN_TABLE_BASE + slot;

	memset(v, 0, sizeof(*v));
	v->vpn_id = map->ids[slot];
	v->slot = slot;
	v->routes = calloc(n_main ? n_main : 1, sizeof(*v->routes));
	if (!v->routes) {
		sp_error_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < map->n_ifs; i++) {
		unsigned ifindex;

		if (map->ifs[i].vpn_id != v->vpn_id)
			continue;
		if (sp_rtnl_ifindex(map->ifs[i].ifname, &ifindex, err) < 0)
			continue; /* not there yet: no routes through it */
		for (size_t r = 0; r < n_main; r++) {
			struct sp_route rt = main_routes[r];

			if (rt.oif != ifindex || rt.kind != SP_ROUTE_UNICAST)
				continue;
			rt.table = table;
			rt.protocol = SP_RTPROT;
			rt.metric = 0;
			if (sp_rtnl_route_add(k->rtnl, &rt, err) < 0 && errno != EEXIST)
				return -1;
			v->routes[v->n_routes++] = rt;
		}
	}
	v->rule.family = AF_INET;
	v->rule.priority = SP_VPN_RULE_PRIORITY;
	v->rule.fwmark = SP_MARK_RETURN | slot << SP_MARK_VPN_SHIFT;
	v->rule.fwmask = SP_MARK_RETURN | SP_MARK_VPN_MASK;
	v->rule.table = table;
	v->rule.protocol = SP_RTPROT;
	if (sp_rtnl_rule_add(k->rtnl, &v->rule, err) < 0) {
		v->rule.priority = 0;
		return -1;
	}
	v->rule6 = v->rule;
	v->rule6.family = AF_INET6;
	if (sp_rtnl_rule_add(k->rtnl, &v->rule6, err) < 0) {
		v->rule6.priority = 0; /* a host without IPv6: IPv4 answers still go */
		if (errno != EAFNOSUPPORT)
			return -1;
	}
	return 0;
}

/* The main table's unicast routes of both families (*out malloc'ed). */
static int sp_vpn_main_routes(struct sp_vpn_kernel *k, struct sp_route **out, size_t *n,
			      struct sp_error *err)
{
	struct sp_route *v6 = NULL, *all;
	size_t n6 = 0;

	if (sp_rtnl_route_list(k->rtnl, AF_INET, SP_VPN_MAIN_TABLE, false, out, n, err) < 0)
		return -1;
	if (sp_rtnl_route_list(k->rtnl, AF_INET6, SP_VPN_MAIN_TABLE, false, &v6, &n6, err) < 0 || !n6) {
		free(v6);
		return 0; /* no IPv6: the IPv4 routes alone */
	}
	all = realloc(*out, (*n + n6) * sizeof(*all));
	if (!all) {
		free(v6);
		return 0;
	}
	memcpy(all + *n, v6, n6 * sizeof(*all));
	*out = all;
	*n += n6;
	free(v6);
	return 0;
}

int sp_vpn_kernel_apply(struct sp_vpn_kernel *k, const struct sp_vpn_map *map, struct sp_error *err)
{
	struct sp_route *main_routes = NULL;
	size_t n_main = 0;
	int ret = 0;

	sp_vpn_kernel_clear(k);
	if (!map->n)
		return 0;
	if (sp_vpn_main_routes(k, &main_routes, &n_main, err) < 0)
		return -1;
	for (unsigned s = 1; s <= map->n; s++) {
		struct sp_vpn_installed *v = &k->vpns[k->n++];

		if (sp_vpn_install_one(k, map, s, main_routes, n_main, v, err) < 0) {
			sp_warn("vpn-id %u: %s", map->ids[s], err ? err->msg : "");
			ret = -1;
		}
	}
	free(main_routes);
	return ret;
}

void sp_vpn_kernel_free(struct sp_vpn_kernel *k)
{
	if (!k)
		return;
	sp_vpn_kernel_clear(k);
	free(k);
}

int sp_vpn_kernel_state(const struct sp_vpn_kernel *k, uint32_t vpn_id, size_t *n_routes,
			bool *rule_installed)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->vpns[i].vpn_id == vpn_id) {
			*n_routes = k->vpns[i].n_routes;
			*rule_installed = k->vpns[i].rule.priority != 0;
			return 0;
		}
	return -1;
}
