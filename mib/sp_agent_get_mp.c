/* sigproxyMediaProxyTable's run-time columns: what `show media-proxy'
 * shows of a media proxy beyond its configuration, its client's counters
 * (through the agent's media_proxy hook) and its media addresses per side
 * and family. */
#include "config.h"
#include "sp_agent_mib.h"
#include "sp_agent_objects.h"

#include <string.h>
#include <sys/socket.h>

/* Per side (terminal, server) the IPv4 pair, the IPv6 pair and its text
 * view; a side and family without one reads as unknown(0), '' (and all
 * zeros). */
static void sp_mib_media_proxy_address(const struct sp_media_proxy *mp, int col,
				       struct sp_agent_value *v)
{
	static const struct sp_addr none;
	int k = (col - SP_MP_TERM4_TYPE) % 5;
	const struct sp_addr *a = sp_media_proxy_address(mp, col < SP_MP_SRV4_TYPE,
							 k < 2 ? AF_INET : AF_INET6);
	struct sp_agent_value ignored;

	if (!a)
		a = &none;
	if (k == 4) {
		v->type = ASN_OCTET_STR;
		v->len = 16;
		memset(v->str, 0, 16);
		if (a->family == AF_INET6)
			memcpy(v->str, &a->u.v6, 16);
	} else if (k == 0 || k == 2) {
		sp_agent_mib_addr_value(a, v, &ignored);
	} else {
		sp_agent_mib_addr_value(a, &ignored, v);
	}
}

/* Its client's counters, as `show media-proxy' shows them (Counter32: the
 * low 32 bits; calls held a Gauge32); zeros when the client does not know
 * it (a row waiting in the agent, no engine). */
static void sp_mib_media_proxy_counter(struct sp_agent_mib *m, const struct sp_mib_row *row,
				       int col, struct sp_agent_value *v)
{
	const struct sp_media_proxy *mp = row->item;
	uint64_t c[SP_AGENT_MP_NCOUNTERS] = { 0 };

	if (row->active && m->hooks.media_proxy && !m->hooks.media_proxy(m->hooks_arg, mp->name, c))
		memset(c, 0, sizeof(c));
	v->type = col == SP_MP_CALLS ? ASN_GAUGE : ASN_COUNTER;
	v->uns = (uint32_t)c[col - SP_MP_CALLS];
}

void sp_mib_media_proxy_run_value(struct sp_agent_mib *m, const struct sp_mib_row *row, int col,
				  struct sp_agent_value *v)
{
	if (col >= SP_MP_CALLS && col <= SP_MP_WRONG_COOKIES)
		sp_mib_media_proxy_counter(m, row, col, v);
	else if (col >= SP_MP_TERM4_TYPE && col < SP_MP_NCOLS)
		sp_mib_media_proxy_address(row->item, col, v);
}
