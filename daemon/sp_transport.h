/* The transport seam (issue 16 item 1): how the engine receives and sends
 * signalling messages, whatever carries them.
 *
 * A transport owns its sockets (connections), reads them in batches and
 * hands each message up with what the engine needs to classify it: source,
 * original destination, mark, ingress interface and the connection it came
 * on. It sends what the engine writes, queued where it can (one system call
 * for several messages) and in order. UDP (sp_transport_udp) is the first
 * implementation; stream transports plug in beside it with the same
 * operations, and tests plug in a fake.
 *
 * A connection is one of two sides: a terminal-side listener (E:e,
 * transparent: it receives what was sent to any E and answers as that E) or
 * a server-side socket (C:c, one per binding).
 */
#ifndef SP_TRANSPORT_H
#define SP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"
#include "sp_error.h"

enum sp_transport_side {
	SP_TRANSPORT_TERMINAL,	/* a listener: messages from terminals */
	SP_TRANSPORT_SERVER,	/* a binding's socket: messages from its server */
};

struct sp_transport;

/* What every connection shows the engine; implementations extend it. */
struct sp_transport_conn {
	struct sp_transport *tp;
	enum sp_transport_side side;
	struct sp_endpoint local;	/* listener: family and port e; server side: C:c */
};

/* One received message. data[len] is a NUL the transport put there (the
 * SIP parser reads text); data stays valid until the handler returns. */
struct sp_transport_msg {
	struct sp_transport_conn *conn;
	struct sp_endpoint source;
	/* terminal side: where the terminal sent it (E:e); family 0: the
	 * transport could not tell */
	struct sp_endpoint orig_dst;
	uint32_t mark;		/* terminal side: the packet's mark */
	int ifindex;		/* terminal side: ingress interface; 0: unknown */
	bool truncated;		/* larger than the transport's buffer: data is a part */
	char *data;
	size_t len;
	/* 1 + the slot the handler's prepare had this message in, 0: not
	 * prepared (one worker, TCP, TLS) */
	unsigned prepared;
};

/* The most messages one batch hands to prepare (its slots: 0 .. this - 1) */
#define SP_TRANSPORT_BATCH_MAX 32

/* The engine's side of the seam, called by the transport. */
struct sp_transport_handler {
	void *arg;
	/* Before each batch read from a connection of this side. */
	void (*before_batch)(void *arg, enum sp_transport_side side);
	/* One message (any message: truncated ones too; the engine counts). */
	void (*received)(void *arg, const struct sp_transport_msg *m);
	/* After a connection's messages of one wake-up were handled. */
	void (*wake_done)(void *arg);
	/* The kernel dropped n messages of this side at a full queue. */
	void (*queue_drops)(void *arg, enum sp_transport_side side, uint64_t n);
	/* A queued message could not be sent (its counter is already undone). */
	void (*send_failed)(void *arg);
	/* Optional (NULL: none). Engine workers: a batch's messages, as
	 * bytes only, on the reading thread with the workers' shared lock
	 * released, before the first of them is received: what follows from
	 * the bytes alone (the protocol's inspect) is worked out side by side
	 * with the other workers. slot < SP_TRANSPORT_BATCH_MAX; the message
	 * comes to received with prepared = slot + 1 (it may not come at all:
	 * the batch's socket can go with an earlier one). data[len] is NUL. */
	void (*prepare)(void *arg, enum sp_transport_side side, unsigned slot, const char *data,
			size_t len);
	/* Optional (NULL: none). A message of this side that no connection
	 * takes (shared server-side sockets: sent to a C:c no binding holds),
	 * dropped: the engine counts it. */
	void (*unbound)(void *arg, enum sp_transport_side side);
};

/* One message to send. */
struct sp_transport_out {
	const struct sp_endpoint *to;
	/* terminal side: the source address to send from (E); the port is
	 * the listener's */
	const struct sp_endpoint *from;
	uint32_t mark;		/* 0: none */
	const char *data;
	size_t len;
	/* no queueing: the caller acts on the result (media hangs on it) */
	bool now;
	/* counted as sent by the caller when send returns 0; a later failure
	 * decrements it (and calls send_failed) */
	uint64_t *counter;
	/* a stream to a terminal whose connection from `to` is gone: a new
	 * one from `from` to connect_to (its Contact), whose messages come up
	 * as from `to` with in_mark (what the interception would have said).
	 * NULL: none (datagrams ignore it) */
	const struct sp_endpoint *connect_to;
	uint32_t in_mark;
	/* a stream to a server over TLS: the name its certificate must say
	 * (and SNI); NULL: its address */
	const char *tls_name;
};

struct sp_transport_ops {
	const char *name;
	/* A terminal-side listener on port (all addresses: transparent), IPv4
	 * only until listen_ipv6 turns IPv6 on. */
	struct sp_transport_conn *(*listen)(struct sp_transport *tp, uint16_t port, struct sp_error *e);
	/* Opens (on) or closes the listener's IPv6 socket ([::]:port): only
	 * while an IPv6 E can be intercepted, so an IPv4-only SP holds no
	 * IPv6 socket. Best effort: a host without IPv6 logs it and proxies
	 * IPv4. NULL: the transport has no IPv6 side. */
	void (*listen_ipv6)(struct sp_transport_conn *listener, bool on);
	/* A server-side connection from local (C:c); NULL, logged, on failure. */
	struct sp_transport_conn *(*open)(struct sp_transport *tp, const struct sp_endpoint *local);
	/* The server-side connection bound to local, or NULL. */
	struct sp_transport_conn *(*find)(struct sp_transport *tp, const struct sp_endpoint *local);
	/* The server a server-side connection talks to, known before it sent
	 * anything there (a binding restored from the store or taken over
	 * from the peer): a stream accepts the server's own connections to
	 * C:c from that address only. NULL: nothing to know (datagrams). */
	void (*expect_server)(struct sp_transport_conn *conn, const struct sp_endpoint *server);
	/* Closes one connection (what is queued goes out first). Safe from
	 * within the handler, for the connection being read too. */
	void (*close)(struct sp_transport *tp, struct sp_transport_conn *conn);
	/* Closes every server-side connection. */
	void (*close_server_side)(struct sp_transport *tp);
	/* Whether a message from the listener to out->to (from out->from)
	 * has a connection the peer holds to go over now, without a new one
	 * (streams); NULL: always (datagrams). */
	bool (*connected)(struct sp_transport_conn *listener, const struct sp_transport_out *out);
	/* 0: sent or queued; -1: not sent (now, or no way to send). */
	int (*send)(struct sp_transport *tp, struct sp_transport_conn *conn,
		    const struct sp_transport_out *out);
	/* Sends everything queued. */
	void (*flush)(struct sp_transport *tp);
	void (*destroy)(struct sp_transport *tp);
};

/* What every transport shows the engine; implementations extend it. */
struct sp_transport {
	const struct sp_transport_ops *ops;
	struct sp_transport_handler h;
	/* Where the engine writes the next message it sends (out_max bytes):
	 * a send of data == out keeps the buffer until it is on the wire and
	 * moves out to a free one. No per-message allocation. */
	char *out;
	size_t out_max;
};

static inline struct sp_transport_conn *sp_transport_listen(struct sp_transport *tp, uint16_t port,
							    struct sp_error *e)
{
	return tp->ops->listen(tp, port, e);
}

static inline void sp_transport_listen_ipv6(struct sp_transport_conn *listener, bool on)
{
	if (listener->tp->ops->listen_ipv6)
		listener->tp->ops->listen_ipv6(listener, on);
}

static inline struct sp_transport_conn *sp_transport_open(struct sp_transport *tp,
							  const struct sp_endpoint *local)
{
	return tp->ops->open(tp, local);
}

static inline struct sp_transport_conn *sp_transport_find(struct sp_transport *tp,
							  const struct sp_endpoint *local)
{
	return tp->ops->find(tp, local);
}

static inline void sp_transport_close(struct sp_transport_conn *conn)
{
	if (conn)
		conn->tp->ops->close(conn->tp, conn);
}

static inline void sp_transport_expect_server(struct sp_transport_conn *conn,
					      const struct sp_endpoint *server)
{
	if (conn && server->family && conn->tp->ops->expect_server)
		conn->tp->ops->expect_server(conn, server);
}

static inline void sp_transport_close_server_side(struct sp_transport *tp)
{
	tp->ops->close_server_side(tp);
}

static inline bool sp_transport_connected(struct sp_transport_conn *listener,
					  const struct sp_transport_out *out)
{
	return !listener->tp->ops->connected || listener->tp->ops->connected(listener, out);
}

static inline int sp_transport_send(struct sp_transport_conn *conn, const struct sp_transport_out *out)
{
	return conn->tp->ops->send(conn->tp, conn, out);
}

static inline void sp_transport_flush(struct sp_transport *tp)
{
	tp->ops->flush(tp);
}

static inline void sp_transport_destroy(struct sp_transport *tp)
{
	if (tp)
		tp->ops->destroy(tp);
}

#endif
