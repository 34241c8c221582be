/* SIP over TCP (sp_transport.h, RFC 3261 §18): transparent listeners on
 * E's ports accept the connections the interception (TPROXY) hands them;
 * each connection's bytes are cut into messages by Content-Length
 * (sp_frame) and handed up with the same source, original destination
 * (the accepted socket's local address: E:e) and mark (the SYN's, through
 * net.ipv4.tcp_fwmark_accept) a datagram would carry. A message to a
 * terminal goes back over the connection it holds to E, or over a new one
 * from E:e to its Contact when that one is gone (sp_transport_out's
 * connect_to). On the server side, open() gives a binding's C:c, which
 * connects to the server with its first message and again after the
 * server closed it.
 *
 * Nothing a connection sends may cost more than it is worth, so every
 * connection lives within limits, and every refusal is counted by reason:
 * connections over the total or over their source's share are closed at
 * accept; a message over the size limit or with an unreadable
 * Content-Length closes its connection; a message begun and not finished
 * within the header timeout (slowloris) closes it, as does a connection
 * silent for the idle timeout. CRLFCRLF pings are answered with a CRLF pong
 * (RFC 5626 §4.4.1). */
#ifndef SP_TRANSPORT_TCP_H
#define SP_TRANSPORT_TCP_H

#include <stdint.h>

#include "sp_loop.h"
#include "sp_tls.h"
#include "sp_transport.h"

struct sp_tcp_limits {
	uint32_t max_message;		/* bytes, headers and body */
	uint32_t header_timeout_ms;	/* a message begun must end within it */
	uint32_t idle_timeout_ms;	/* a connection silent this long closes */
	uint32_t max_connections;	/* open at once, all sources */
	uint32_t max_per_source;	/* open at once from one address */
};

#define SP_TCP_DEFAULT_MAX_MESSAGE 65535u
#define SP_TCP_DEFAULT_HEADER_TIMEOUT_S 10u
#define SP_TCP_DEFAULT_IDLE_TIMEOUT_S 3600u
#define SP_TCP_DEFAULT_MAX_CONNECTIONS 16384u
#define SP_TCP_DEFAULT_MAX_PER_SOURCE 128u

/* Counted since start (current: open now). */
struct sp_tcp_stats {
	uint64_t accepted;
	uint64_t server_accepted;	/* servers' own connections to C:c */
	uint64_t current;
	uint64_t pings;			/* CRLFCRLF answered */
	/* refusals, by reason */
	uint64_t refused_total;		/* over max_connections */
	uint64_t refused_source;	/* over max_per_source */
	uint64_t too_large;		/* a message over max_message */
	uint64_t bad_length;		/* Content-Length unreadable */
	uint64_t header_timeouts;	/* a message not finished in time */
	uint64_t idle_timeouts;
	uint64_t write_overflows;	/* the peer did not read what it was sent */
	uint64_t not_server;		/* to C:c from another address than its server's */
	uint64_t accept_waits;		/* out of descriptors: a listener waited */
	/* the TLS instance only (sp_transport_tls_new) */
	uint64_t tls_handshakes;	/* completed, both sides */
	uint64_t tls_resumed;		/* of them, resuming an earlier session */
	uint64_t tls_handshake_failures; /* garbage, silence, a version or cipher refused */
	uint64_t tls_certificate_errors; /* a server's certificate refused */
};

struct sp_transport *sp_transport_tcp_new(struct sp_loop *loop, const struct sp_transport_handler *h);
/* Limits for what comes next (open connections keep their buffers). */
void sp_transport_tcp_set_limits(struct sp_transport *tp, const struct sp_tcp_limits *l);
void sp_transport_tcp_get_stats(const struct sp_transport *tp, struct sp_tcp_stats *st);
void sp_transport_tcp_limits_default(struct sp_tcp_limits *l);
/* The same transport speaking TLS on every connection (RFC 3261 §26.2:
 * SIP over TLS on E's TLS port, and towards servers that take TLS only).
 * A connection the SP opens to a terminal whose own is gone is made over
 * TLS as a client, the terminal's certificate verified against the CA for
 * its Contact's address. */
struct sp_transport *sp_transport_tls_new(struct sp_loop *loop, const struct sp_transport_handler *h);
/* E's certificate for handshakes from now on (a reference is taken; NULL:
 * none, terminals' handshakes are refused); open sessions keep theirs. */
void sp_transport_tls_set_server(struct sp_transport *tp, struct sp_tls *ctx);
/* The CA servers are verified against, from the next connection on. */
void sp_transport_tls_set_client(struct sp_transport *tp, struct sp_tls *ctx);
/* Every counter back to 0 (current stays: it counts what is open). */
void sp_transport_tcp_clear_stats(struct sp_transport *tp);

#endif
