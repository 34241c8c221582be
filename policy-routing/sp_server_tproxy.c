#include "config.h"
#include "sp_server_tproxy.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One family's rule, or "" when it has no C or no socket. */
static void sp_server_tproxy_rule(const struct sp_rt_addr *c, uint16_t port, uint16_t first, uint16_t last,
				  char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], ports[16];
	bool v6 = c->family == AF_INET6;

	buf[0] = '\0';
	if (!port || (c->family != AF_INET && c->family != AF_INET6) ||
	    !inet_ntop(c->family, v6 ? (const void *)&c->v6 : (const void *)&c->v4, a, sizeof(a)))
		return;
	/* C is the SP's own address: the datagram is delivered locally
	 * anyway, TPROXY only picks the socket (no mark, no policy route;
	 * a mark would also put it under the per-source limits meant for
	 * terminals) */
	/* nft takes no range of one port */
	if (first == last)
		snprintf(ports, sizeof(ports), "%u", first);
	else
		snprintf(ports, sizeof(ports), "%u-%u", first, last);
	snprintf(buf, len, "\t\t%s daddr %s udp dport %s tproxy %s to :%u accept\n",
		 v6 ? "ip6" : "ip", a, ports, v6 ? "ip6" : "ip", port);
}

int sp_server_tproxy_append(const struct sp_server_tproxy *t, char **chains)
{
	char r4[128], r6[160], *out;

	sp_server_tproxy_rule(&t->c4, t->port4, t->first, t->last, r4, sizeof(r4));
	sp_server_tproxy_rule(&t->c6, t->port6, t->first, t->last, r6, sizeof(r6));
	if (!r4[0] && !r6[0])
		return 0;
	/* prerouting at mangle, where TPROXY may run; after conntrack, so
	 * the answers keep their entries (the raw socket's sends made them) */
	if (asprintf(&out,
		     "%s"
		     "\tchain server_side {\n"
		     "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		     "%s%s"
		     "\t}\n", *chains, r4, r6) < 0)
		out = NULL;
	free(*chains);
	*chains = out;
	return out ? 0 : -1;
}
