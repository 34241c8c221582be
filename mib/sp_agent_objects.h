/* SIGPROXY-MIB object identifiers and enumerations, and the object layout
 * (sp_agent_objects.c), shared by the GET, SET and notification parts of the
 * subagent. Internal to mib/. */
#ifndef SP_AGENT_OBJECTS_H
#define SP_AGENT_OBJECTS_H

#include "sp_agent_mib.h"

enum sp_mib_access { SP_RO, SP_RW, SP_RC, SP_NOTIFY };

struct sp_mib_obj {
	oid sub[4];    /* below sigproxyObjects */
	size_t sub_len;
	int table;     /* enum sp_mib_table_id; SP_TBL_NONE for scalars */
	int id;        /* enum sp_mib_scalar or the table's column */
	u_char type;
	enum sp_mib_access access;
};

/* Scalars: group * 100 + sub-identifier. */
enum sp_mib_scalar {
	SP_S_HOSTNAME = 101, SP_S_SSA_TYPE, SP_S_SSA, SP_S_DEFAULT_ACTION, SP_S_LVA_TYPE, SP_S_LVA,
	SP_S_RETURN_PATH, SP_S_RGW_TYPE, SP_S_RGW, SP_S_MEDIA, SP_S_MEDIA_LOW, SP_S_MEDIA_HIGH,
	SP_S_SESSION_LIMIT,
	SP_S_MESSAGE_SIZE_LIMIT = 115,
	SP_S_SOURCE_RATE = 116, SP_S_SOURCE_NEW_BINDINGS, SP_S_SOURCE_BINDINGS,
	SP_S_CLI_LOGIN_TIMEOUT = 119, SP_S_CLI_EXEC_TIMEOUT,
	SP_S_SSA6 = 121, SP_S_LVA6, SP_S_RGW6,
	SP_S_STATS_RECEIVED = 701, SP_S_STATS_PROXIED, SP_S_STATS_FORWARDED, SP_S_STATS_DROPPED,
	SP_S_STATS_PARSE_ERRORS, SP_S_STATS_REWRITE_ERRORS, SP_S_STATS_LIMIT_DROPS,
	SP_S_STATS_SESSIONS, SP_S_STATS_BINDINGS, SP_S_STATS_DISCONTINUITY,
	SP_S_STATS_UNMATCHED_RESPONSES = 711, SP_S_STATS_TOO_MANY_HOPS, SP_S_STATS_TOO_LARGE,
	SP_S_STATS_NO_MEDIA_PORT_DROPS,
	SP_S_STATS_SOURCE_RATE_DROPS = 715, SP_S_STATS_SOURCE_NEW_DROPS, SP_S_STATS_SOURCE_REFUSALS,
	SP_S_STATS_SOCK_DROPS_LISTENER, SP_S_STATS_SOCK_DROPS_SERVER_SIDE, SP_S_STATS_SOCK_DROPS_OTHER,
	SP_S_STATS_MEDIA_REFUSALS = 721, SP_S_STATS_MEDIA_GUARD_DROPS,
	SP_S_STATS_STUN_REQUESTS = 723, SP_S_STATS_STUN_ERRORS,
	SP_S_STATS_TCP_ACCEPTED = 725, SP_S_STATS_TCP_OPEN, SP_S_STATS_TCP_PINGS, SP_S_STATS_TCP_REFUSED_TOTAL, SP_S_STATS_TCP_REFUSED_SOURCE, SP_S_STATS_TCP_TOO_LARGE, SP_S_STATS_TCP_BAD_LENGTH, SP_S_STATS_TCP_HEADER_TIMEOUTS, SP_S_STATS_TCP_IDLE_TIMEOUTS, SP_S_STATS_TCP_WRITE_OVERFLOWS,
	SP_S_STATS_TLS_ACCEPTED = 735, SP_S_STATS_TLS_HANDSHAKES, SP_S_STATS_TLS_RESUMED,
	SP_S_STATS_TLS_HANDSHAKE_FAILURES, SP_S_STATS_TLS_CERTIFICATE_ERRORS,
	SP_S_STATS_FLOW_FAILED = 740, SP_S_STATS_TCP_ACCEPT_WAITS, SP_S_STATS_TLS_ACCEPT_WAITS,
	SP_S_RED_CONFIGURED = 801, SP_S_RED_ROLE, SP_S_RED_CONF_ROLE, SP_S_RED_LOCAL_TYPE,
	SP_S_RED_LOCAL_ADDR, SP_S_RED_LOCAL_PORT, SP_S_RED_PEER_TYPE, SP_S_RED_PEER_ADDR,
	SP_S_RED_PEER_PORT, SP_S_RED_PEER_STATE, SP_S_RED_SEQ_SENT, SP_S_RED_SEQ_ACKED,
	SP_S_RED_MSGS_SENT, SP_S_RED_MSGS_RECEIVED, SP_S_RED_RESYNCS, SP_S_RED_AUTH_FAILURES,
	SP_S_RED_SWITCHOVER, SP_S_RED_AUTH_KEY, SP_S_RED_LOCAL_ADDR6, SP_S_RED_PEER_ADDR6,
	SP_S_LAST_KERNEL_ERROR = 901, SP_S_LAST_KERNEL_ERROR_TIME, SP_S_ROLE_CHANGE_CAUSE,
	SP_S_LIMITED_SOURCE_TYPE = 904, SP_S_LIMITED_SOURCE,
};

/* Columns: the MIB's column numbers. */
enum { SP_LP_ROWSTATUS = 2 };
enum {
	SP_ST_VPN = 3, SP_ST_VLAN, SP_ST_MPLS, SP_ST_PROTOCOL, SP_ST_SRC_TYPE, SP_ST_SRC_ADDR,
	SP_ST_SRC_PLEN, SP_ST_SRC_PORT_LO, SP_ST_SRC_PORT_HI, SP_ST_DST_TYPE, SP_ST_DST_ADDR,
	SP_ST_DST_PLEN, SP_ST_DST_PORT_LO, SP_ST_DST_PORT_HI, SP_ST_ACTION, SP_ST_SERVER_TYPE,
	SP_ST_SERVER_ADDR, SP_ST_SERVER_PORT, SP_ST_HITS, SP_ST_INSTALL_STATE,
	SP_ST_INSTALL_REASON, SP_ST_ROWSTATUS,
	/* the IPv6 views of the address pairs (read-only) */
	SP_ST_SRC_ADDR6, SP_ST_DST_ADDR6, SP_ST_SERVER_ADDR6, SP_ST_NCOLS
};
enum {
	SP_PR_SRC_TYPE = 3, SP_PR_SRC_ADDR, SP_PR_SRC_PLEN, SP_PR_DST_TYPE, SP_PR_DST_ADDR,
	SP_PR_DST_PLEN, SP_PR_PROTOCOL, SP_PR_SRC_PORT_LO, SP_PR_SRC_PORT_HI, SP_PR_DST_PORT_LO,
	SP_PR_DST_PORT_HI, SP_PR_IFNAME, SP_PR_NH_TYPE, SP_PR_NH, SP_PR_TABLE,
	SP_PR_INSTALL_STATE, SP_PR_INSTALL_REASON, SP_PR_ROWSTATUS,
	SP_PR_SRC_ADDR6, SP_PR_DST_ADDR6, SP_PR_NH6, SP_PR_NCOLS
};
enum {
	SP_IF_VPN = 2, SP_IF_SIDE, SP_IF_ROWSTATUS, SP_IF_INSTALL_STATE, SP_IF_INSTALL_REASON,
	SP_IF_NCOLS
};
enum {
	SP_MP_CTL_TYPE = 2, SP_MP_CTL, SP_MP_CTL_PORT, SP_MP_WEIGHT, SP_MP_FALLBACK,
	SP_MP_INSTALL_STATE, SP_MP_INSTALL_REASON, SP_MP_ROWSTATUS, SP_MP_CTL6,
	/* its client's counters, in enum sp_agent_mp_counter's order */
	SP_MP_CALLS, SP_MP_OFFERS, SP_MP_ANSWERS, SP_MP_DELETES, SP_MP_QUERIES, SP_MP_PINGS,
	SP_MP_PONGS, SP_MP_REQUESTS, SP_MP_REPLIES, SP_MP_RETRANSMISSIONS, SP_MP_TIMEOUTS,
	SP_MP_ERRORS, SP_MP_BAD_REPLIES, SP_MP_WRONG_COOKIES,
	/* its media addresses: per side (terminal, server) the IPv4 pair, the
	 * IPv6 pair and the IPv6 pair's text view */
	SP_MP_TERM4_TYPE, SP_MP_TERM4, SP_MP_TERM6_TYPE, SP_MP_TERM6, SP_MP_TERM6_6,
	SP_MP_SRV4_TYPE, SP_MP_SRV4, SP_MP_SRV6_TYPE, SP_MP_SRV6, SP_MP_SRV6_6, SP_MP_NCOLS
};
/* sigproxyMediaProxyTable's column, for the notifications */
#define SP_MIB_MP_COLUMN_OID(col) SP_MIB_BASE, 1, 10, 1, (col)
enum {
	SP_SE_STATE = 2, SP_SE_TERM_TYPE, SP_SE_TERM_ADDR, SP_SE_TERM_PORT, SP_SE_VIRT_TYPE,
	SP_SE_VIRT_ADDR, SP_SE_VIRT_PORT, SP_SE_PROXY_TYPE, SP_SE_PROXY_ADDR, SP_SE_PROXY_PORT,
	SP_SE_SERVER_TYPE, SP_SE_SERVER_ADDR, SP_SE_SERVER_PORT, SP_SE_CALL_ID, SP_SE_MEDIA,
	SP_SE_STRATEGY, SP_SE_AGE, SP_SE_TERM_ADDR6, SP_SE_VIRT_ADDR6, SP_SE_PROXY_ADDR6,
	SP_SE_SERVER_ADDR6
};
enum {
	SP_BI_TERM_TYPE = 2, SP_BI_TERM_ADDR, SP_BI_TERM_PORT, SP_BI_PROXY_TYPE, SP_BI_PROXY_ADDR,
	SP_BI_PROXY_PORT, SP_BI_SERVER_TYPE, SP_BI_SERVER_ADDR, SP_BI_SERVER_PORT, SP_BI_VPN,
	SP_BI_EXPIRES, SP_BI_TERM_TRANSPORT, SP_BI_SERVER_TRANSPORT, SP_BI_TERM_ADDR6,
	SP_BI_PROXY_ADDR6, SP_BI_SERVER_ADDR6
};

/* Enumerated values of the MIB. */
enum { SP_INET_UNKNOWN = 0, SP_INET_IPV4 = 1, SP_INET_IPV6 = 2 };
enum { SP_DEFACT_FORWARD = 1, SP_DEFACT_DROP = 2 };
enum { SP_RP_LEARN = 1, SP_RP_GATEWAY = 2 };
enum { SP_MEDIA_V_KERNEL = 1, SP_MEDIA_V_OFF = 2, SP_MEDIA_V_PROXY = 3 };
enum { SP_ACT_V_PROXY = 1, SP_ACT_V_FORWARD, SP_ACT_V_DROP, SP_ACT_V_NOTSET };
enum { SP_SIDE_V_NONE = 1, SP_SIDE_V_TERMINAL, SP_SIDE_V_SERVER };
enum { SP_ROLE_V_ACTIVE = 1, SP_ROLE_V_STANDBY = 2 };
enum { SP_SWITCHOVER_NOOP = 1, SP_SWITCHOVER_GO = 2 };
enum { SP_INSTALL_OK = 1, SP_INSTALL_NOT = 2 };
enum { SP_MP_FALLBACK_V_KERNEL = 1, SP_MP_FALLBACK_V_REFUSE = 2 };

extern const struct sp_mib_obj sp_mib_objs[];
extern const size_t sp_mib_n_objs;

/* The full OID of an object (without instance): its length. */
size_t sp_mib_obj_oid(const struct sp_mib_obj *o, oid *out);
/* The object an OID names (prefix_len: its length without the instance). */
const struct sp_mib_obj *sp_mib_lookup(const oid *name, size_t len, size_t *prefix_len);
/* sigproxyMediaProxyTable's read-only run-time columns, from its client's
 * counters and its media addresses (sp_agent_get_mp.c). */
void sp_mib_media_proxy_run_value(struct sp_agent_mib *m, const struct sp_mib_row *row, int col,
				  struct sp_agent_value *v);
/* A sigproxyStats scalar (id SP_S_STATS_*), through the stats hook; zeros
 * without one (sp_agent_get_stats.c). */
void sp_mib_stats_value(struct sp_agent_mib *m, int id, struct sp_agent_value *v);
const struct sp_mib_row *sp_mib_find_row(struct sp_agent_mib *m, int table, const oid *idx,
					 size_t len);
size_t sp_mib_name_index(const char *name, oid *idx);
/* Whether active(1) would accept the media proxy: control address and port. */
bool sp_mib_media_proxy_ready(const struct sp_media_proxy *mp);
/* Whether active(1) would accept the strategy (else its row is notReady). */
bool sp_mib_strategy_ready(const struct sp_strategy *s);
const char *sp_mib_strategy_reason(const struct sp_strategy *s, bool active);
const char *sp_mib_policy_route_reason(const struct sp_policy_route *r, bool active);
void sp_mib_pending_free(struct sp_mib_pending *p);
void sp_mib_pending_prune(struct sp_agent_mib *m);

#endif
