#include "config.h"
#include "sp_classify.h"

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

/* Why a strategy cannot be put in the kernel on this system, or NULL. */
static const char *sp_classify_unfit(const struct sp_config *c, const struct sp_strategy *s)
{
	if (s->action == SP_ACTION_UNSET)
		return "no action configured";
	if (s->match & SP_MATCH_VLAN)
		return "VLAN matching is not available on this system yet";
	if (s->match & SP_MATCH_MPLS)
		return "MPLS label matching is not available on this system yet";
	if ((s->match & SP_MATCH_PROTOCOL) && s->protocol != IPPROTO_UDP)
		return "only SIP over UDP is proxied so far";
	if (s->action == SP_ACTION_PROXY && !sp_addr_is_set(&c->sp.server_side_address))
		return "no server-side-address configured";
	if ((s->match & SP_MATCH_SOURCE) && (s->match & SP_MATCH_DESTINATION) &&
	    s->source.addr.family != s->destination.addr.family)
		return "source and destination are of different address families";
	if (s->action == SP_ACTION_PROXY && s->server.family != AF_INET)
		return "only IPv4 servers are proxied so far";
	return NULL;
}


void sp_classify_free(struct sp_classify_plan *p)
{
	free(p->entries);
	free(p->strategies);
}

int sp_classify_build(const struct sp_config *c, struct sp_classify_plan *p,
				struct sp_error *e)
{
	size_t cap = c->n_strategies * (c->sp.n_listen_ports + 1) + 1;

	memset(p, 0, sizeof(*p));
	p->entries = calloc(cap, sizeof(*p->entries));
	p->strategies = calloc(c->n_strategies + 1, sizeof(*p->strategies));
	if (!p->entries || !p->strategies) {
		sp_classify_free(p);
		return sp_error_set(e, "Out of memory");
	}
	for (size_t i = 0; i < c->n_strategies; i++) {
		const struct sp_strategy *s = &c->strategies[i];
		struct sp_classify_strategy *rs = &p->strategies[p->n_strategies++];
		const char *unfit = sp_classify_unfit(c, s);
		struct sp_nft_entry base = { 0 };
		size_t n_ifs = 0;

		rs->seq = s->seq;
		snprintf(rs->name, sizeof(rs->name), "%s", s->name);
		rs->action = s->action;
		sp_endpoint_from_addr(&rs->server, &s->server, s->server_port);
		if (!unfit && (s->match & SP_MATCH_VPN)) {
			/* a VPN is the set of interfaces configured into it */
			for (size_t k = 0; k < c->n_interfaces; k++) {
				if (c->interfaces[k].vpn_id != s->vpn_id)
					continue;
				if (n_ifs == SP_NFT_MAX_IIFNAMES) {
					unfit = "too many interfaces in the VPN";
					break;
				}
				snprintf(base.iifnames[n_ifs++], IFNAMSIZ, "%s", c->interfaces[k].name);
			}
			if (!unfit && n_ifs == 0)
				unfit = "no interface is configured with this vpn-id";
			base.n_iifnames = n_ifs;
		}
		if (unfit) {
			snprintf(rs->reason, sizeof(rs->reason), "%s", unfit);
			continue;
		}
		base.comment = s->name;
		base.ip_proto = IPPROTO_UDP;
		if (s->match & SP_MATCH_SOURCE)
			sp_rt_prefix_from(&base.src, &s->source);
		if (s->match & SP_MATCH_DESTINATION)
			sp_rt_prefix_from(&base.dst, &s->destination);
		if (s->match & SP_MATCH_SOURCE_PORT)
			base.sport = (struct sp_rt_port_range){ s->source_port.lo, s->source_port.hi };
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
		base.mark = SP_MARK_TPROXY | s->seq;
		for (unsigned k = 0; k < c->sp.n_listen_ports; k++) {
			uint16_t port = c->sp.listen_ports[k];
			if ((s->match & SP_MATCH_DESTINATION_PORT) &&
			    (port < s->destination_port.lo || port > s->destination_port.hi))
				continue;
			p->entries[p->n_entries] = base;
			p->entries[p->n_entries].dport = (struct sp_rt_port_range){ port, port };
			p->entries[p->n_entries].tproxy_port = port;
			p->n_entries++;
			rs->installed = true;
		}
		if (!rs->installed)
			snprintf(rs->reason, sizeof(rs->reason), "its destination ports include no listen-port");
	}
	return 0;
}

