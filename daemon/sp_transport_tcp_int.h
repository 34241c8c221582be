#ifndef SP_TRANSPORT_TCP_INT_H
#define SP_TRANSPORT_TCP_INT_H

/* The TCP transport's internals, shared by its files (sp_transport_tcp.c:
 * connections, reading and writing, the server side, the operations;
 * sp_transport_tcp_accept.c: listeners, admission within the limits, the
 * timeouts). Not for use outside the transport: its interface is
 * sp_transport_tcp.h. Included after sp_transport_tcp.h. */

#include <stdbool.h>
#include <stdint.h>

#include "sp_accept_guard.h"
#include "sp_hash.h"
#include "sp_log.h"
#include "sp_tls.h"

#define SP_TCP_PAUSED_MAX 64

/* How many connections one address holds. */
struct sp_tcp_source {
	struct sp_hnode node;
	struct sp_endpoint host; /* port 0 */
	uint32_t n;
};

/* A listener (E:e, any address) or a connection a terminal opened to E. */
struct sp_tcp_conn {
	struct sp_transport_conn pub;	/* accepted: local is E:e as the terminal sent to */
	struct sp_tcp *t;
	int fd;
	int fd6;	/* listener: its IPv6 socket (-1: none) */
	int lfd;	/* server side: the listener on C:c (-1: none) */
	bool listener;
	bool server;	/* the SP's own connection from C:c to a server */
	bool connecting;
	bool dead;	/* closed while being read: freed when the read ends */
	struct sp_endpoint peer;
	uint32_t mark;		/* the SYN's (strategy, VPN, tag) */
	uint32_t out_mark;	/* what SO_MARK is now */
	struct sp_tcp_source *src;
	struct sp_hnode by_peer;
	struct sp_tcp_conn *prev, *next; /* every accepted connection */
	char *buf;		/* bytes read and not yet a whole message */
	size_t used, cap, scanned;
	uint64_t begun_ms;	/* when the unfinished message began; 0: none */
	uint64_t last_ms;	/* last bytes read */
	char *wbuf;		/* what the socket did not take yet */
	size_t wused;
	/* TLS (the transport's TLS instance): the session, from the accept
	 * or the connect on; nothing but the handshake until it is done */
	struct sp_tls_session *tls;
	bool handshaking;
	char *tls_name;		/* server side: what its certificate must say */
	void *ticket;		/* server side: to resume the next session with */
	size_t ticket_len;
	bool ticket_saved;	/* of the current session */
	bool tls_failure_logged; /* server side: since its last handshake */
};

/* A server's last session ticket (sp_transport_tls.c): offered by every
 * new connection to that server with that name, whichever binding's. */
struct sp_tls_server_ticket {
	struct sp_tls_server_ticket *next;
	struct sp_endpoint server;
	char *name;	/* what its certificate was verified for */
	void *ticket;
	size_t len;
};

struct sp_tcp {
	struct sp_transport pub;
	struct sp_loop *loop;
	struct sp_tcp_limits lim;
	struct sp_tcp_stats st;
	struct sp_hash_key key;
	struct sp_htab conns;	/* accepted connections by peer */
	struct sp_htab servers;	/* the SP's own connections by C:c */
	struct sp_htab sources;
	struct sp_tcp_conn *all;
	struct sp_loop_timer *sweep;
	bool sweep_armed;
	struct sp_tcp_conn *reading;
	bool is_tls;		/* every connection speaks TLS */
	struct sp_tls *tls_server;	/* E's certificate; NULL: none configured */
	struct sp_tls *tls_client;	/* the CA servers are verified against */
	struct sp_tls_server_ticket *tickets;	/* most recent first */
	unsigned n_tickets;
	/* accept() out of descriptors (sp_tcp_shed): the spare, and the
	 * listening sockets waiting SP_ACCEPT_PAUSE_MS before they are
	 * polled again (beyond SP_TCP_PAUSED_MAX at once: polled on) */
	struct sp_accept_guard guard;
	int paused[SP_TCP_PAUSED_MAX];
	unsigned n_paused;
	struct sp_loop_timer *resume;
};

extern struct sp_log_limit sp_tcp_refusal_log;

/* sp_transport_tcp.c: connections, reading, writing, the server side */
uint64_t sp_tcp_hash(const struct sp_tcp *t, const struct sp_endpoint *ep);
void sp_tcp_log_refusal(const struct sp_endpoint *peer, const char *why);
void sp_tcp_conn_free(struct sp_tcp_conn *c);
void sp_tcp_close(struct sp_transport *tp, struct sp_transport_conn *conn);
void sp_tcp_lost(struct sp_tcp_conn *c);
void sp_tcp_refuse(struct sp_tcp_conn *c, uint64_t *counter, const char *why);
void sp_tcp_conn_event(struct sp_loop *loop, int fd, uint32_t events, void *arg);

/* sp_transport_tls.c: TLS on the transport's connections */
/* A terminal's accepted connection begins its handshake; false: refused
 * (counted), the caller closes it. */
bool sp_tls_conn_accepted(struct sp_tcp_conn *c);
/* The SP's connection to a server, connected: its handshake begins. */
void sp_tls_conn_connected(struct sp_tcp_conn *c);
/* One step of a handshake; false: the connection is gone (counted). */
bool sp_tls_conn_step(struct sp_tcp_conn *c);
/* A connection closed for a TLS failure: counted, logged with the peer's
 * address ("tls: WHAT the terminal|server PEER: WHY"). */
void sp_tls_conn_failed(struct sp_tcp_conn *c, uint64_t *counter, const char *what, const char *why);
/* What a connection's TLS holds goes (its resumption ticket stays). */
void sp_tls_conn_end(struct sp_tcp_conn *c);
/* A server connection's session ticket, once it came (TLS 1.3: after the
 * handshake), kept for its next connection and as the server's last. */
void sp_tls_conn_keep_ticket(struct sp_tcp_conn *c);
/* The servers' last tickets go (the transport is destroyed). */
void sp_tls_tickets_free(struct sp_tcp *t);
ssize_t sp_tcp_io_recv(struct sp_tcp_conn *c, char *buf, size_t len);
ssize_t sp_tcp_io_send(struct sp_tcp_conn *c, const char *buf, size_t len);
void sp_tcp_lost(struct sp_tcp_conn *c);
void sp_tcp_want_write(struct sp_tcp_conn *c, bool on);

/* sp_transport_tcp_accept.c: listeners, admission within the limits, the
 * sweep of timeouts */
struct sp_tcp_source *sp_tcp_source_get(struct sp_tcp *t, const struct sp_endpoint *peer, bool create);
void sp_tcp_source_put(struct sp_tcp *t, struct sp_tcp_source *s);
int sp_tcp_fd_above_select(int fd);
/* After accept failed with errno: with no descriptor left (EMFILE,
 * ENFILE), the waiting connection is taken with the spare one and closed
 * (counted), or, when that cannot be, the listener waits a while (counted)
 * before it is polled again: the level-triggered listener would wake the
 * loop forever. */
void sp_tcp_shed(struct sp_tcp *t, int lfd, uint16_t port);
/* A listening socket about to close leaves the paused ones. */
void sp_tcp_unpause(struct sp_tcp *t, int lfd);
void sp_tcp_resume_cb(struct sp_loop *loop, void *arg);
void sp_tcp_sweep_arm(struct sp_tcp *t);
void sp_tcp_sweep_cb(struct sp_loop *loop, void *arg);
struct sp_transport_conn *sp_tcp_listen(struct sp_transport *tp, uint16_t port, struct sp_error *e);
void sp_tcp_listen_ipv6(struct sp_transport_conn *conn, bool on);
/* The listener on a server-side connection's C:c (c->lfd), where the
 * server's own connections to the terminal's Contact arrive; false:
 * none (logged), the server side works without it. */
bool sp_tcp_server_listen(struct sp_tcp_conn *c);
/* The server c talks to, before it has a connection (a restored or taken
 * over binding): its listener on C:c takes that address only. */
void sp_tcp_expect_server(struct sp_transport_conn *conn, const struct sp_endpoint *server);
/* A connection the SP opened to a terminal, among the accepted ones (and
 * on the loop); false: not taken (the caller closes it). */
bool sp_tcp_adopt(struct sp_tcp *t, struct sp_tcp_conn *c);

#endif
