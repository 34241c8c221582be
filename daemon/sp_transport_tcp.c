#include "config.h"
#include "sp_transport_tcp.h"
#include "sp_transport_tcp_int.h"
#include "sp_frame.h"
#include "sp_hash.h"
#include "sp_log.h"
#include "sp_mark.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define SP_TCP_READ_MIN 8192	/* grow the buffer when less room is left */
#define SP_TCP_READS_PER_WAKE 8	/* then let other connections in */
#define SP_TCP_OUT_MAX (65536 + 4096)
/* What may wait for a peer that does not read, in messages of max size */
#define SP_TCP_WRITE_BACKLOG 4

static int sp_tcp_connect(struct sp_tcp_conn *c, const struct sp_endpoint *to, const char *tls_name);
static struct sp_tcp_conn *sp_tcp_dial(struct sp_tcp *t, const struct sp_transport_out *o, uint16_t port);

struct sp_log_limit sp_tcp_refusal_log = SP_LOG_LIMIT_INIT("tcp: connections refused or closed");

uint64_t sp_tcp_hash(const struct sp_tcp *t, const struct sp_endpoint *ep)
{
	return sp_siphash(&t->key, ep, sizeof(*ep));
}

/* A refusal, counted by the caller, in the log at a bounded rate. */
void sp_tcp_log_refusal(const struct sp_endpoint *peer, const char *why)
{
	char p[SP_ENDPOINT_STRLEN];

	sp_log_limited(&sp_tcp_refusal_log, LOG_NOTICE, "tcp: connection from %s %s",
		       sp_endpoint_format(peer, p, sizeof(p)), why);
}

/* ---- closing ---- */

void sp_tcp_conn_free(struct sp_tcp_conn *c)
{
	sp_tls_conn_end(c);
	free(c->ticket);
	free(c->tls_name);
	free(c->buf);
	free(c->wbuf);
	free(c);
}

void sp_tcp_close(struct sp_transport *tp, struct sp_transport_conn *conn)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)conn;

	if (c->dead)
		return;
	if (c->listener || c->server) {
		sp_tcp_unpause(t, c->listener ? c->fd : c->lfd);
		sp_tcp_unpause(t, c->listener ? c->fd6 : -1);
	}
	if (c->fd >= 0) {
		sp_loop_del_fd(t->loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	if (c->server) {
		sp_htab_remove(&t->servers, &c->by_peer);
		if (c->lfd >= 0) {
			sp_loop_del_fd(t->loop, c->lfd);
			close(c->lfd);
			c->lfd = -1;
		}
	}
	if (c->listener && c->fd6 >= 0) {
		sp_loop_del_fd(t->loop, c->fd6);
		close(c->fd6);
	}
	if (!c->listener && !c->server) {
		sp_htab_remove(&t->conns, &c->by_peer);
		if (c->prev)
			c->prev->next = c->next;
		else
			t->all = c->next;
		if (c->next)
			c->next->prev = c->prev;
		sp_tcp_source_put(t, c->src);
		t->st.current--;
	}
	if (t->reading == c) {
		c->dead = true; /* the read loop frees it */
		return;
	}
	sp_tcp_conn_free(c);
}

/* A connection that ended: a terminal's goes; the SP's own to a server
 * keeps its C:c (and its listener there) and connects again with the next
 * message, unless the server connects first. */
void sp_tcp_lost(struct sp_tcp_conn *c)
{
	if (!c->server) {
		sp_tcp_close(&c->t->pub, &c->pub);
		return;
	}
	if (c->fd >= 0) {
		sp_loop_del_fd(c->t->loop, c->fd);
		close(c->fd);
	}
	c->fd = -1;
	sp_tls_conn_end(c);
	c->used = c->wused = c->scanned = 0;
	c->begun_ms = 0;
	c->connecting = false;
}

/* Whether the connection being handled went (closed, or lost its socket). */
static bool sp_tcp_gone(const struct sp_tcp_conn *c)
{
	return c->dead || c->fd < 0;
}

/* A connection closed for a reason that is counted. */
void sp_tcp_refuse(struct sp_tcp_conn *c, uint64_t *counter, const char *why)
{
	(*counter)++;
	sp_tcp_log_refusal(&c->peer, why);
	sp_tcp_lost(c);
}

/* ---- writing ---- */

ssize_t sp_tcp_io_send(struct sp_tcp_conn *c, const char *buf, size_t len)
{
	if (c->tls)
		return sp_tls_send(c->tls, buf, len);
	return send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t sp_tcp_io_recv(struct sp_tcp_conn *c, char *buf, size_t len)
{
	if (c->tls)
		return sp_tls_recv(c->tls, buf, len);
	return recv(c->fd, buf, len, MSG_DONTWAIT);
}

void sp_tcp_want_write(struct sp_tcp_conn *c, bool on)
{
	sp_loop_mod_fd(c->t->loop, c->fd, EPOLLIN | (on ? EPOLLOUT : 0));
}

/* What the socket takes now goes; the rest waits for EPOLLOUT, within a
 * bound: a peer that does not read is closed. -1: closed. */
static int sp_tcp_write(struct sp_tcp_conn *c, const char *data, size_t len)
{
	struct sp_tcp *t = c->t;
	ssize_t n = 0;

	if (!c->wused && !c->connecting && !c->handshaking) {
		n = sp_tcp_io_send(c, data, len);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			sp_tcp_lost(c);
			return -1;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return 0;
	}
	len -= (size_t)n;
	data += n;
	if (c->wused + len > (size_t)t->lim.max_message * SP_TCP_WRITE_BACKLOG) {
		sp_tcp_refuse(c, &t->st.write_overflows, "closed: it does not read what it is sent");
		return -1;
	}
	{
		char *w = realloc(c->wbuf, c->wused + len);

		if (!w) {
			sp_tcp_lost(c);
			return -1;
		}
		c->wbuf = w;
	}
	memcpy(c->wbuf + c->wused, data, len);
	if (!c->wused && !c->connecting && !c->handshaking)
		sp_tcp_want_write(c, true);
	c->wused += len;
	return 0;
}

static void sp_tcp_writable(struct sp_tcp_conn *c)
{
	ssize_t n;

	if (c->connecting) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			char p[SP_ENDPOINT_STRLEN];

			sp_log_limited(&sp_tcp_refusal_log, LOG_WARNING, "tcp: cannot connect to the server %s: %s",
				       sp_endpoint_format(&c->peer, p, sizeof(p)), strerror(err ? err : errno));
			sp_tcp_lost(c);
			return;
		}
		c->connecting = false;
		if (c->t->is_tls) {
			/* the handshake first: what waits goes after it */
			sp_tls_conn_connected(c);
			return;
		}
	}
	if (c->handshaking)
		return;
	if (!c->wused) {
		sp_tcp_want_write(c, false);
		return;
	}
	n = sp_tcp_io_send(c, c->wbuf, c->wused);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		sp_tcp_lost(c);
		return;
	}
	if (n <= 0)
		return;
	memmove(c->wbuf, c->wbuf + n, c->wused - (size_t)n);
	c->wused -= (size_t)n;
	if (!c->wused)
		sp_tcp_want_write(c, false);
}

/* The accepted connection from to (a terminal) to from (E:e). */
static struct sp_tcp_conn *sp_tcp_lookup(struct sp_tcp *t, const struct sp_endpoint *to,
					 const struct sp_endpoint *from, uint16_t port)
{
	uint64_t h = sp_tcp_hash(t, to);

	for (struct sp_hnode *n = sp_htab_chain(&t->conns, h); n; n = n->next) {
		struct sp_tcp_conn *c = container_of(n, struct sp_tcp_conn, by_peer);

		if (n->hash == h && sp_endpoint_equal(&c->peer, to) && c->pub.local.port == port &&
		    (!from || sp_endpoint_same_addr(&c->pub.local, from)))
			return c;
	}
	return NULL;
}

static bool sp_tcp_connected(struct sp_transport_conn *conn, const struct sp_transport_out *o)
{
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)conn;

	if (c->listener)
		c = sp_tcp_lookup(c->t, o->to, o->from, conn->local.port);
	return c && !c->dead && c->fd >= 0;
}

static int sp_tcp_send(struct sp_transport *tp, struct sp_transport_conn *conn,
		       const struct sp_transport_out *o)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)conn;

	/* a listener sends over the connection the terminal holds to E, or
	 * a new one to its Contact */
	if (c->listener) {
		c = sp_tcp_lookup(t, o->to, o->from, conn->local.port);
		if (!c && o->connect_to)
			c = sp_tcp_dial(t, o, conn->local.port);
	}
	if (c && c->server && c->fd < 0 && sp_tcp_connect(c, o->to, o->tls_name) < 0)
		return -1;
	if (!c || c->dead) {
		char a[SP_ENDPOINT_STRLEN];

		sp_debug("tcp: no connection from %s to send to", sp_endpoint_format(o->to, a, sizeof(a)));
		return -1;
	}
	if (o->mark && o->mark != c->out_mark &&
	    setsockopt(c->fd, SOL_SOCKET, SO_MARK, &o->mark, sizeof(o->mark)) == 0)
		c->out_mark = o->mark; /* the return path, and back into a VPN */
	return sp_tcp_write(c, o->data, o->len);
}

static void sp_tcp_flush(struct sp_transport *tp)
{
	(void)tp; /* every send is on its socket (or waiting for EPOLLOUT) already */
}

/* ---- reading ---- */

/* One message to the handler, NUL-terminated in place; false: its
 * connection went with it. */
static bool sp_tcp_deliver(struct sp_tcp_conn *c, char *data, size_t len)
{
	struct sp_tcp *t = c->t;
	struct sp_transport_msg m = {
		.conn = &c->pub, .source = c->peer, .orig_dst = c->pub.local, .mark = c->mark,
		.data = data, .len = len,
	};
	char saved = data[len];

	data[len] = '\0';
	t->pub.h.received(t->pub.h.arg, &m);
	if (sp_tcp_gone(c))
		return false;
	data[len] = saved;
	return true;
}

/* Every whole frame in the buffer; false: the connection is closed. */
static bool sp_tcp_frames(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;
	size_t off = 0, len;
	bool more = true;

	while (more && off < c->used) {
		switch (sp_frame_next(c->buf + off, c->used - off, t->lim.max_message, &c->scanned, &len)) {
		case SP_FRAME_MORE:
			more = false;
			continue;
		case SP_FRAME_PING:
			t->st.pings++;
			if (sp_tcp_write(c, "\r\n", 2) < 0)
				return false;
			break;
		case SP_FRAME_PONG:
			break;
		case SP_FRAME_MESSAGE:
			if (!sp_tcp_deliver(c, c->buf + off, len))
				return false;
			break;
		case SP_FRAME_TOO_LARGE:
			sp_tcp_refuse(c, &t->st.too_large, "closed: a message over the size limit");
			return false;
		case SP_FRAME_BAD_LENGTH:
			sp_tcp_refuse(c, &t->st.bad_length, "closed: an unreadable Content-Length");
			return false;
		}
		off += len;
		c->scanned = 0;
	}
	if (off) {
		memmove(c->buf, c->buf + off, c->used - off);
		c->used -= off;
		c->begun_ms = 0;
	}
	/* the header timeout runs from the first byte of an unfinished message */
	if (c->used && !c->begun_ms)
		c->begun_ms = sp_loop_now_ms();
	else if (!c->used)
		c->begun_ms = 0;
	return true;
}

/* Room for the next read: the buffer grows up to one message of the
 * largest size (and its NUL). false: out of memory. */
static bool sp_tcp_room(struct sp_tcp_conn *c)
{
	size_t want = (size_t)c->t->lim.max_message + 1;

	if (c->cap - c->used >= SP_TCP_READ_MIN || c->cap >= want)
		return true;
	{
		size_t cap = c->cap ? c->cap * 2 : SP_TCP_READ_MIN;
		char *b;

		if (cap > want)
			cap = want;
		if (cap < c->used + 2)
			cap = c->used + 2;
		b = realloc(c->buf, cap);
		if (!b)
			return false;
		c->buf = b;
		c->cap = cap;
	}
	return true;
}

static void sp_tcp_read(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;

	/* what TLS decrypted already wakes no one: it is read in this turn */
	for (int round = 0; round < SP_TCP_READS_PER_WAKE || (c->tls && sp_tls_pending(c->tls)); round++) {
		ssize_t n;

		if (!sp_tcp_room(c)) {
			sp_tcp_lost(c);
			return;
		}
		if (c->cap - c->used <= 1) {
			/* the limit went down under a message being read */
			sp_tcp_refuse(c, &t->st.too_large, "closed: a message over the size limit");
			return;
		}
		n = sp_tcp_io_recv(c, c->buf + c->used, c->cap - c->used - 1);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			/* the peer closed (or reset): what was whole was handled */
			sp_tcp_lost(c);
			return;
		}
		c->used += (size_t)n;
		c->last_ms = sp_loop_now_ms();
		/* the server's ticket (TLS 1.3: after the handshake), for the next connection */
		sp_tls_conn_keep_ticket(c);
		if (!sp_tcp_frames(c))
			return;
	}
}

void sp_tcp_conn_event(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_tcp_conn *c = arg;
	struct sp_tcp *t = c->t;
	const struct sp_transport_handler *h = &t->pub.h;

	(void)loop;
	(void)fd;
	t->reading = c;
	if (c->handshaking && !c->connecting) {
		/* once done, what the peer sent with its last flight is read */
		if (sp_tls_conn_step(c) && !c->handshaking)
			events |= EPOLLIN;
	} else if ((events & EPOLLOUT) || c->connecting) {
		sp_tcp_writable(c);
	}
	if (!sp_tcp_gone(c) && !c->handshaking && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		h->before_batch(h->arg, c->pub.side);
		sp_tcp_read(c);
	}
	t->reading = NULL;
	if (c->dead)
		sp_tcp_conn_free(c);
	h->wake_done(h->arg);
}

/* ---- listeners and the transport ---- */

/* ---- connections to terminals whose own is gone ---- */

/* From E:e (the listener's port, SO_REUSEPORT beside it, transparent) to
 * a terminal's Contact (RFC 3261 §18.2.2, RFC 5626 §5.3: a request to a
 * terminal whose flow is gone opens a new one). Its packets come back to
 * E:e, where the interception hands them to this socket (TPROXY finds
 * the established connection before the listener). It stands for the
 * terminal's binding: found and reported as from o->to. */
static struct sp_tcp_conn *sp_tcp_dial(struct sp_tcp *t, const struct sp_transport_out *o, uint16_t port)
{
	struct sockaddr_storage ls, rs;
	struct sp_endpoint local = *o->from;
	struct sp_tcp_conn *c = calloc(1, sizeof(*c));
	bool v6 = local.family == AF_INET6;
	int one = 1, fd = -1;

	local.port = port;
	if (c)
		fd = socket(local.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		fd = sp_tcp_fd_above_select(fd);
	if (fd < 0 || setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
				 sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (o->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &o->mark, sizeof(o->mark)) < 0) ||
	    bind(fd, (struct sockaddr *)&ls, sp_endpoint_to_sockaddr(&local, &ls)) < 0 ||
	    (connect(fd, (struct sockaddr *)&rs, sp_endpoint_to_sockaddr(o->connect_to, &rs)) < 0 &&
	     errno != EINPROGRESS)) {
		char a[SP_ENDPOINT_STRLEN];

		sp_log_limited(&sp_tcp_refusal_log, LOG_WARNING, "tcp: cannot connect to the terminal at %s: %s",
			       sp_endpoint_format(o->connect_to, a, sizeof(a)), strerror(errno));
		if (fd >= 0)
			close(fd);
		free(c);
		return NULL;
	}
	c->t = t;
	c->fd = fd;
	c->pub.tp = &t->pub;
	c->pub.side = SP_TRANSPORT_TERMINAL;
	c->pub.local = local;
	c->peer = *o->to;
	c->mark = o->in_mark;
	c->out_mark = o->mark;
	c->connecting = true;
	c->last_ms = sp_loop_now_ms();
	if (t->is_tls) {
		/* TLS as a client, once connected: the terminal's certificate
		 * verified against `tls ca` for its Contact's address */
		char a[SP_ENDPOINT_STRLEN];

		sp_endpoint_host(o->connect_to, a, sizeof(a));
		c->tls_name = strdup(a);
	}
	if ((t->is_tls && !c->tls_name) || !sp_tcp_adopt(t, c)) {
		free(c->tls_name);
		close(fd);
		free(c);
		return NULL;
	}
	sp_loop_mod_fd(t->loop, fd, EPOLLIN | EPOLLOUT);
	return c;
}

/* ---- the SP's own connections to servers ---- */

static struct sp_transport_conn *sp_tcp_find(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	uint64_t h = sp_tcp_hash(t, local);

	for (struct sp_hnode *n = sp_htab_chain(&t->servers, h); n; n = n->next) {
		struct sp_tcp_conn *c = container_of(n, struct sp_tcp_conn, by_peer);

		if (n->hash == h && sp_endpoint_equal(&c->pub.local, local))
			return &c->pub;
	}
	return NULL;
}

/* C:c of a binding whose server is reached over TCP: the connection is
 * made with the first message (open does not know D), and made again
 * with the next one when the server closed it. One connection per
 * binding, from its own C:c, as over UDP: the server sees each terminal
 * at its own address, which is what its location table, its per-source
 * limits and its logs key on (RFC 5923 connection sharing would need the
 * server to accept several contacts over one connection, and a single
 * connection's loss would take every binding with it). The server may
 * connect to C:c itself (the terminal's Contact) when that connection is
 * gone (it closed it idle, the SP restarted or took over): a listener on
 * C:c accepts it and it becomes the binding's connection. */
static struct sp_transport_conn *sp_tcp_open(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)sp_tcp_find(tp, local);

	if (c)
		return &c->pub;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t = t;
	c->server = true;
	c->fd = -1;
	c->lfd = -1;
	c->pub.tp = tp;
	c->pub.side = SP_TRANSPORT_SERVER;
	c->pub.local = *local;
	sp_htab_insert(&t->servers, &c->by_peer, sp_tcp_hash(t, local));
	sp_tcp_server_listen(c);
	return &c->pub;
}

/* From C:c to the server, without waiting: what is sent meanwhile waits
 * for the connection. */
static int sp_tcp_connect(struct sp_tcp_conn *c, const struct sp_endpoint *to, const char *tls_name)
{
	struct sockaddr_storage ls, rs;
	socklen_t ll = sp_endpoint_to_sockaddr(&c->pub.local, &ls), rl = sp_endpoint_to_sockaddr(to, &rs);
	bool v6 = c->pub.local.family == AF_INET6;
	int one = 1;
	int fd = socket(c->pub.local.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	fd = sp_tcp_fd_above_select(fd);
	/* C need not be on an interface yet when a VRRP daemon owns it */
	setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* beside the listener on C:c (sp_tcp_server_listen) */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ls, ll) < 0 ||
	    (connect(fd, (struct sockaddr *)&rs, rl) < 0 && errno != EINPROGRESS) ||
	    sp_loop_add_fd(c->t->loop, fd, EPOLLIN | EPOLLOUT, sp_tcp_conn_event, c) < 0) {
		char a[SP_ENDPOINT_STRLEN];

		sp_log_limited(&sp_tcp_refusal_log, LOG_WARNING, "tcp: cannot connect from %s: %s",
			       sp_endpoint_format(&c->pub.local, a, sizeof(a)), strerror(errno));
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->peer = *to;
	c->connecting = true;
	c->last_ms = sp_loop_now_ms();
	if (c->t->is_tls) {
		char a[SP_ENDPOINT_STRLEN];
		char *copy;

		sp_endpoint_host(to, a, sizeof(a));
		copy = strdup(tls_name && tls_name[0] ? tls_name : a);

		if (!copy) {
			sp_tcp_lost(c);
			return -1;
		}
		free(c->tls_name);
		c->tls_name = copy;
	}
	return 0;
}

static void sp_tcp_close_server_side(struct sp_transport *tp)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;

	for (size_t b = 0; b < t->servers.nbuckets; b++)
		while (t->servers.buckets[b])
			sp_tcp_close(tp, &container_of(t->servers.buckets[b], struct sp_tcp_conn, by_peer)->pub);
}

static void sp_tcp_destroy(struct sp_transport *tp)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;

	while (t->all)
		sp_tcp_close(tp, &t->all->pub);
	sp_tcp_close_server_side(tp);
	sp_loop_timer_free(t->sweep);
	sp_tls_unref(t->tls_server);
	sp_tls_unref(t->tls_client);
	sp_tls_tickets_free(t);
	sp_loop_timer_free(t->resume);
	sp_accept_guard_fini(&t->guard);
	sp_htab_fini(&t->conns);
	sp_htab_fini(&t->servers);
	sp_htab_fini(&t->sources);
	free(t->pub.out);
	free(t);
}

static const struct sp_transport_ops sp_tls_ops = {
	.name = "tls",
	.listen = sp_tcp_listen,
	/* E on IPv6 too: the TLS port is intercepted on both families */
	.listen_ipv6 = sp_tcp_listen_ipv6,
	.open = sp_tcp_open,
	.find = sp_tcp_find,
	.expect_server = sp_tcp_expect_server,
	.close = sp_tcp_close,
	.close_server_side = sp_tcp_close_server_side,
	.connected = sp_tcp_connected,
	.send = sp_tcp_send,
	.flush = sp_tcp_flush,
	.destroy = sp_tcp_destroy,
};

static const struct sp_transport_ops sp_tcp_ops = {
	.name = "tcp",
	.listen = sp_tcp_listen,
	.listen_ipv6 = sp_tcp_listen_ipv6,
	.open = sp_tcp_open,
	.find = sp_tcp_find,
	.expect_server = sp_tcp_expect_server,
	.close = sp_tcp_close,
	.close_server_side = sp_tcp_close_server_side,
	.connected = sp_tcp_connected,
	.send = sp_tcp_send,
	.flush = sp_tcp_flush,
	.destroy = sp_tcp_destroy,
};

void sp_transport_tcp_limits_default(struct sp_tcp_limits *l)
{
	l->max_message = SP_TCP_DEFAULT_MAX_MESSAGE;
	l->header_timeout_ms = SP_TCP_DEFAULT_HEADER_TIMEOUT_S * 1000u;
	l->idle_timeout_ms = SP_TCP_DEFAULT_IDLE_TIMEOUT_S * 1000u;
	l->max_connections = SP_TCP_DEFAULT_MAX_CONNECTIONS;
	l->max_per_source = SP_TCP_DEFAULT_MAX_PER_SOURCE;
}

void sp_transport_tcp_set_limits(struct sp_transport *tp, const struct sp_tcp_limits *l)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;

	t->lim = *l;
	if (t->lim.max_message < 64)
		t->lim.max_message = 64;
}

void sp_transport_tcp_get_stats(const struct sp_transport *tp, struct sp_tcp_stats *st)
{
	*st = ((const struct sp_tcp *)tp)->st;
}

void sp_transport_tcp_clear_stats(struct sp_transport *tp)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	uint64_t current = t->st.current;

	memset(&t->st, 0, sizeof(t->st));
	t->st.current = current;
}

struct sp_transport *sp_transport_tcp_new(struct sp_loop *loop, const struct sp_transport_handler *h)
{
	struct sp_tcp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->pub.ops = &sp_tcp_ops;
	t->pub.h = *h;
	t->loop = loop;
	sp_transport_tcp_limits_default(&t->lim);
	sp_hash_key_random(&t->key);
	t->pub.out = malloc(SP_TCP_OUT_MAX);
	t->pub.out_max = SP_TCP_OUT_MAX;
	t->sweep = sp_loop_timer_new(loop, sp_tcp_sweep_cb, t);
	t->resume = sp_loop_timer_new(loop, sp_tcp_resume_cb, t);
	sp_accept_guard_init(&t->guard);
	if (!t->pub.out || !t->sweep || !t->resume || sp_htab_init(&t->conns, 256) < 0 ||
	    sp_htab_init(&t->sources, 64) < 0 || sp_htab_init(&t->servers, 256) < 0) {
		sp_loop_timer_free(t->sweep);
		sp_loop_timer_free(t->resume);
		sp_accept_guard_fini(&t->guard);
		free(t->pub.out);
		free(t);
		return NULL;
	}
	return &t->pub;
}

struct sp_transport *sp_transport_tls_new(struct sp_loop *loop, const struct sp_transport_handler *h)
{
	struct sp_transport *tp = sp_transport_tcp_new(loop, h);

	if (tp) {
		tp->ops = &sp_tls_ops;
		((struct sp_tcp *)tp)->is_tls = true;
	}
	return tp;
}
