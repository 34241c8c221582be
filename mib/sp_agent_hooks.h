/* What the SNMP agent reads from the engine and the redundancy module: the
 * values of the MIB's run-time objects and the hooks that fill them. Apart
 * from sp_agent.h so the MIB core (sp_agent_mib.h) needs no part of the
 * agent's Net-SNMP glue. Internal to mib/ and the code plugging the hooks. */
#ifndef SP_AGENT_HOOKS_H
#define SP_AGENT_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_config.h"
#include "sp_error.h"

/* sigproxyRoleChangeCause */
enum sp_agent_role_cause {
	SP_ROLE_CAUSE_CONFIGURATION = 1,
	SP_ROLE_CAUSE_SWITCHOVER = 2,
	SP_ROLE_CAUSE_VRRP = 3,
	SP_ROLE_CAUSE_PEER_LOST = 4,
	SP_ROLE_CAUSE_OTHER = 5,
};

/* sigproxyRedundancyPeerState */
enum sp_agent_peer_state {
	SP_PEER_UNKNOWN = 1,
	SP_PEER_CONNECTED = 2,
	SP_PEER_LOST = 3,
};

/* The sigproxyStats group. */
struct sp_agent_stats {
	uint64_t received, proxied, forwarded, dropped;
	uint64_t parse_errors, rewrite_errors, session_limit_drops;
	uint64_t unmatched_responses, too_many_hops, too_large, no_media_port_drops;
	uint64_t flow_failed; /* 430s: a server's request for a gone outbound flow */
	uint32_t current_sessions, current_bindings;
	uint32_t discontinuity_time; /* sysUpTime (centiseconds) of the last reset */
	/* per-source limits: dropped in the kernel (rate, new bindings) and
	 * refused by the engine (bindings held) */
	uint64_t source_rate_drops, source_new_binding_drops, source_binding_refusals;
	/* datagrams the kernel dropped at full receive queues (SO_RXQ_OVFL) */
	uint64_t socket_drops_listener, socket_drops_server_side, socket_drops_other;
	/* STUN on the SIP ports: Binding requests answered, errors */
	uint64_t stun_requests, stun_errors;
	/* SIP over TCP: connections, pings, and each reason one was refused */
	uint64_t tcp_accepted, tcp_open, tcp_pings, tcp_refused_total, tcp_refused_source;
	uint64_t tcp_too_large, tcp_bad_length, tcp_header_timeouts, tcp_idle_timeouts,
		tcp_write_overflows, tcp_accept_waits;
	/* SIP over TLS: connections, handshakes, and the refused ones */
	uint64_t tls_accepted, tls_handshakes, tls_resumed, tls_handshake_failures,
		tls_certificate_errors, tls_accept_waits;
	uint64_t media_kernel_refusals, media_guard_drops;
};

/* The run-time part of sigproxyRedundancy. */
struct sp_agent_redundancy_status {
	enum sp_role role;
	enum sp_agent_peer_state peer_state;
	uint32_t last_seq_sent, last_seq_acked;
	uint64_t msgs_sent, msgs_received;
	uint32_t resyncs, auth_failures;
};

/* One row of sigproxySessionTable (state: 1 early .. 4 terminated). */
struct sp_agent_session {
	uint32_t id;
	int state;
	struct sp_addr term, virt, proxy, server;
	uint16_t term_port, virt_port, proxy_port, server_port;
	char call_id[256];
	uint32_t media_streams;
	char strategy[SP_NAME_MAX + 1];
	uint32_t age;
};

/* One row of sigproxyBindingTable. */
struct sp_agent_binding {
	uint32_t id;
	struct sp_addr term, proxy, server;
	uint16_t term_port, proxy_port, server_port;
	uint32_t vpn_id;
	uint32_t expires;
	int term_transport, server_transport;	/* 1 udp, 2 tcp */
};

/* A media proxy's client counters (sigproxyMediaProxyTable), in its
 * columns' order: the calls it holds now, then what was sent and answered
 * since it was configured. */
enum sp_agent_mp_counter {
	SP_AGENT_MP_CALLS, SP_AGENT_MP_OFFERS, SP_AGENT_MP_ANSWERS, SP_AGENT_MP_DELETES,
	SP_AGENT_MP_QUERIES, SP_AGENT_MP_PINGS, SP_AGENT_MP_PONGS, SP_AGENT_MP_REQUESTS,
	SP_AGENT_MP_REPLIES, SP_AGENT_MP_RETRANSMISSIONS, SP_AGENT_MP_TIMEOUTS, SP_AGENT_MP_ERRORS,
	SP_AGENT_MP_BAD_REPLIES, SP_AGENT_MP_WRONG_COOKIES, SP_AGENT_MP_NCOUNTERS
};

/* What the engine and the redundancy module provide. Every member may be
 * NULL. The session and binding lookups are by id: exact when `next` is
 * false, else the row with the smallest id greater than `id` — so a get-next
 * is one ordered lookup, never a scan of the table. They return false when
 * there is no such row. */
struct sp_agent_hooks {
	void (*stats)(void *arg, struct sp_agent_stats *out);
	uint64_t (*strategy_hits)(void *arg, const char *name, uint32_t seq);
	void (*redundancy)(void *arg, struct sp_agent_redundancy_status *out);
	/* sigproxyRedundancySwitchover: -1 with a message refuses */
	int (*switchover)(void *arg, struct sp_error *e);
	/* what switchover would refuse now, doing nothing: a SET checks with it
	 * in ACTION and switches in COMMIT (sp_agent_set.c says why) */
	int (*switchover_check)(void *arg, struct sp_error *e);
	bool (*session)(void *arg, uint32_t id, bool next, struct sp_agent_session *out);
	bool (*binding)(void *arg, uint32_t id, bool next, struct sp_agent_binding *out);
	/* the counters of the media proxy of that name; false: its client
	 * does not know it (yet) */
	bool (*media_proxy)(void *arg, const char *name, uint64_t out[SP_AGENT_MP_NCOUNTERS]);
};

#endif
