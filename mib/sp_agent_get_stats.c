/* sigproxyStats: the engine's counters as the stats hook gives them, one
 * scalar each (apart from sp_agent_get.c, which holds every other read). */
#include "config.h"
#include "sp_agent_mib.h"
#include "sp_agent_objects.h"

/* sigproxyStats: the engine's counters, through the stats hook. */
void sp_mib_stats_value(struct sp_agent_mib *m, int id, struct sp_agent_value *v)
{
	struct sp_agent_stats st = { 0 };

	if (m->hooks.stats)
		m->hooks.stats(m->hooks_arg, &st);
	switch (id) {
	case SP_S_STATS_RECEIVED: sp_val_c64(v, st.received); break;
	case SP_S_STATS_PROXIED: sp_val_c64(v, st.proxied); break;
	case SP_S_STATS_FORWARDED: sp_val_c64(v, st.forwarded); break;
	case SP_S_STATS_DROPPED: sp_val_c64(v, st.dropped); break;
	case SP_S_STATS_PARSE_ERRORS: sp_val_c64(v, st.parse_errors); break;
	case SP_S_STATS_REWRITE_ERRORS: sp_val_c64(v, st.rewrite_errors); break;
	case SP_S_STATS_LIMIT_DROPS: sp_val_c64(v, st.session_limit_drops); break;
	case SP_S_STATS_SESSIONS: sp_val_uns(v, ASN_GAUGE, st.current_sessions); break;
	case SP_S_STATS_BINDINGS: sp_val_uns(v, ASN_GAUGE, st.current_bindings); break;
	case SP_S_STATS_DISCONTINUITY:
		sp_val_uns(v, ASN_TIMETICKS, m->stats_discontinuity_time > st.discontinuity_time ?
					      m->stats_discontinuity_time : st.discontinuity_time);
		break;
	case SP_S_STATS_SOURCE_RATE_DROPS: sp_val_c64(v, st.source_rate_drops); break;
	case SP_S_STATS_SOURCE_NEW_DROPS: sp_val_c64(v, st.source_new_binding_drops); break;
	case SP_S_STATS_SOURCE_REFUSALS: sp_val_c64(v, st.source_binding_refusals); break;
	case SP_S_STATS_SOCK_DROPS_LISTENER: sp_val_c64(v, st.socket_drops_listener); break;
	case SP_S_STATS_SOCK_DROPS_SERVER_SIDE: sp_val_c64(v, st.socket_drops_server_side); break;
	case SP_S_STATS_SOCK_DROPS_OTHER: sp_val_c64(v, st.socket_drops_other); break;
	case SP_S_STATS_MEDIA_REFUSALS: sp_val_c64(v, st.media_kernel_refusals); break;
	case SP_S_STATS_MEDIA_GUARD_DROPS: sp_val_c64(v, st.media_guard_drops); break;
	case SP_S_STATS_STUN_REQUESTS: sp_val_c64(v, st.stun_requests); break;
	case SP_S_STATS_STUN_ERRORS: sp_val_c64(v, st.stun_errors); break;
	case SP_S_STATS_TCP_ACCEPTED: sp_val_c64(v, st.tcp_accepted); break;
	case SP_S_STATS_TCP_OPEN: sp_val_uns(v, ASN_GAUGE, (uint32_t)st.tcp_open); break;
	case SP_S_STATS_TCP_PINGS: sp_val_c64(v, st.tcp_pings); break;
	case SP_S_STATS_TCP_REFUSED_TOTAL: sp_val_c64(v, st.tcp_refused_total); break;
	case SP_S_STATS_TCP_REFUSED_SOURCE: sp_val_c64(v, st.tcp_refused_source); break;
	case SP_S_STATS_TCP_TOO_LARGE: sp_val_c64(v, st.tcp_too_large); break;
	case SP_S_STATS_TCP_BAD_LENGTH: sp_val_c64(v, st.tcp_bad_length); break;
	case SP_S_STATS_TCP_HEADER_TIMEOUTS: sp_val_c64(v, st.tcp_header_timeouts); break;
	case SP_S_STATS_TCP_IDLE_TIMEOUTS: sp_val_c64(v, st.tcp_idle_timeouts); break;
	case SP_S_STATS_TCP_WRITE_OVERFLOWS: sp_val_c64(v, st.tcp_write_overflows); break;
	case SP_S_STATS_TLS_ACCEPTED: sp_val_c64(v, st.tls_accepted); break;
	case SP_S_STATS_TLS_HANDSHAKES: sp_val_c64(v, st.tls_handshakes); break;
	case SP_S_STATS_TLS_RESUMED: sp_val_c64(v, st.tls_resumed); break;
	case SP_S_STATS_TLS_HANDSHAKE_FAILURES: sp_val_c64(v, st.tls_handshake_failures); break;
	case SP_S_STATS_TLS_CERTIFICATE_ERRORS: sp_val_c64(v, st.tls_certificate_errors); break;
	case SP_S_STATS_UNMATCHED_RESPONSES: sp_val_c64(v, st.unmatched_responses); break;
	case SP_S_STATS_TOO_MANY_HOPS: sp_val_c64(v, st.too_many_hops); break;
	case SP_S_STATS_TOO_LARGE: sp_val_c64(v, st.too_large); break;
	case SP_S_STATS_NO_MEDIA_PORT_DROPS: sp_val_c64(v, st.no_media_port_drops); break;
	case SP_S_STATS_FLOW_FAILED: sp_val_c64(v, st.flow_failed); break;
	case SP_S_STATS_TCP_ACCEPT_WAITS: sp_val_c64(v, st.tcp_accept_waits); break;
	case SP_S_STATS_TLS_ACCEPT_WAITS: sp_val_c64(v, st.tls_accept_waits); break;
	}
}
