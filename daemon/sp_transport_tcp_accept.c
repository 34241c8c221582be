#include "config.h"
#include "sp_transport_tcp.h"
#include "sp_transport_tcp_int.h"
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

#define SP_TCP_BACKLOG 4096
#define SP_TCP_SWEEP_MS 1000	/* timeouts are looked for this often */

static void sp_tcp_link(struct sp_tcp *t, struct sp_tcp_conn *c);

struct sp_tcp_source *sp_tcp_source_get(struct sp_tcp *t, const struct sp_endpoint *peer, bool create)
{
	struct sp_endpoint host = *peer;
	uint64_t h;

	host.port = 0;
	h = sp_tcp_hash(t, &host);
	for (struct sp_hnode *n = sp_htab_chain(&t->sources, h); n; n = n->next) {
		struct sp_tcp_source *s = container_of(n, struct sp_tcp_source, node);

		if (n->hash == h && sp_endpoint_equal(&s->host, &host))
			return s;
	}
	if (!create)
		return NULL;
	{
		struct sp_tcp_source *s = calloc(1, sizeof(*s));

		if (!s)
			return NULL;
		s->host = host;
		sp_htab_insert(&t->sources, &s->node, h);
		return s;
	}
}

void sp_tcp_source_put(struct sp_tcp *t, struct sp_tcp_source *s)
{
	if (!s || --s->n)
		return;
	sp_htab_remove(&t->sources, &s->node);
	free(s);
}

/* As the UDP transport's binding sockets: connections live at FD_SETSIZE
 * and above, leaving the low numbers to libcli's select(). */
int sp_tcp_fd_above_select(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);

	if (high < 0)
		return fd;
	close(fd);
	return high;
}

void sp_tcp_shed(struct sp_tcp *t, int lfd, uint16_t port)
{
	static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("tcp: accept failures");
	int saved = errno;
	enum sp_accept_verdict v = sp_accept_guard_failed(&t->guard, lfd, saved);

	if (v == SP_ACCEPT_NOTHING)
		return;
	sp_log_limited(&lim, LOG_WARNING, "tcp: cannot accept on port %u: %s%s", port, strerror(saved),
		       v == SP_ACCEPT_SHED ? " (the connection is closed, counted as the connection limit)"
					   : " (the listener waits 100 ms, counted as accept waits)");
	if (v == SP_ACCEPT_SHED) {
		t->st.refused_total++;
		return;
	}
	t->st.accept_waits++;
	if (t->n_paused >= SP_TCP_PAUSED_MAX || sp_loop_mod_fd(t->loop, lfd, 0) < 0)
		return;
	t->paused[t->n_paused++] = lfd;
	sp_loop_timer_arm(t->resume, SP_ACCEPT_PAUSE_MS);
}

void sp_tcp_unpause(struct sp_tcp *t, int lfd)
{
	for (unsigned i = 0; lfd >= 0 && i < t->n_paused; i++)
		if (t->paused[i] == lfd)
			t->paused[i--] = t->paused[--t->n_paused];
}

/* The wait is over: the paused listeners are polled again. */
void sp_tcp_resume_cb(struct sp_loop *loop, void *arg)
{
	struct sp_tcp *t = arg;

	for (unsigned i = 0; i < t->n_paused; i++)
		sp_loop_mod_fd(loop, t->paused[i], EPOLLIN);
	t->n_paused = 0;
}

void sp_tcp_sweep_arm(struct sp_tcp *t)
{
	if (t->sweep_armed)
		return;
	sp_loop_timer_arm(t->sweep, SP_TCP_SWEEP_MS);
	t->sweep_armed = true;
}

/* A connection within the limits, or NULL (closed, counted). */
static struct sp_tcp_conn *sp_tcp_admit(struct sp_tcp *t, int fd, const struct sp_endpoint *peer)
{
	struct sp_tcp_source *src;
	struct sp_tcp_conn *c;

	if (t->lim.max_connections && t->st.current >= t->lim.max_connections) {
		close(fd);
		t->st.refused_total++;
		sp_tcp_log_refusal(peer, "refused: the connection limit is reached");
		return NULL;
	}
	src = sp_tcp_source_get(t, peer, true);
	if (src && t->lim.max_per_source && src->n >= t->lim.max_per_source) {
		close(fd);
		t->st.refused_source++;
		sp_tcp_log_refusal(peer, "refused: its address holds its share of connections");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!src || !c) {
		free(c);
		if (src && !src->n) {
			src->n = 1;
			sp_tcp_source_put(t, src);
		}
		close(fd);
		return NULL;
	}
	src->n++;
	c->src = src;
	c->fd = fd;
	c->peer = *peer;
	return c;
}

/* What an accepted connection shows the engine: E:e it was sent to, the
 * SYN's mark; and what it sends from now on goes as an answer would. */
static bool sp_tcp_setup(struct sp_tcp *t, struct sp_tcp_conn *c, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	socklen_t ml = sizeof(c->mark);
	int one = 1;

	c->t = t;
	c->pub.tp = &t->pub;
	c->pub.side = SP_TRANSPORT_TERMINAL;
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    sp_endpoint_from_sockaddr(&c->pub.local, (struct sockaddr *)&ss, sl) < 0)
		return false;
	c->pub.local.port = port;
	/* net.ipv4.tcp_fwmark_accept: the mark the interception gave the SYN */
	if (getsockopt(c->fd, SOL_SOCKET, SO_MARK, &c->mark, &ml) < 0)
		c->mark = 0;
	/* what it sends is an answer: never the interception's mark, which
	 * routes to the local table (sp_mark.h) */
	c->out_mark = sp_mark_return(c->mark);
	setsockopt(c->fd, SOL_SOCKET, SO_MARK, &c->out_mark, sizeof(c->out_mark));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->last_ms = sp_loop_now_ms();
	return sp_loop_add_fd(t->loop, c->fd, EPOLLIN, sp_tcp_conn_event, c) == 0;
}

static void sp_tcp_accept(struct sp_tcp_conn *l, int lfd)
{
	struct sp_tcp *t = l->t;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sp_endpoint peer;
		struct sp_tcp_conn *c;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			sp_tcp_shed(t, lfd, l->pub.local.port);
			return;
		}
		if (sp_endpoint_from_sockaddr(&peer, (struct sockaddr *)&ss, sl) < 0) {
			close(fd);
			continue;
		}
		c = sp_tcp_admit(t, sp_tcp_fd_above_select(fd), &peer);
		if (!c)
			continue;
		if (!sp_tcp_setup(t, c, l->pub.local.port)) {
			sp_tcp_source_put(t, c->src);
			close(c->fd);
			sp_tcp_conn_free(c);
			continue;
		}
		sp_tcp_link(t, c);
		t->st.accepted++;
		if (t->is_tls && !sp_tls_conn_accepted(c))
			sp_tcp_close(&t->pub, &c->pub);
	}
}

/* A terminal's connection among the others: found by its peer, swept for
 * its timeouts, counted. */
static void sp_tcp_link(struct sp_tcp *t, struct sp_tcp_conn *c)
{
	sp_htab_insert(&t->conns, &c->by_peer, sp_tcp_hash(t, &c->peer));
	c->next = t->all;
	if (t->all)
		t->all->prev = c;
	t->all = c;
	t->st.current++;
	sp_tcp_sweep_arm(t);
}

bool sp_tcp_adopt(struct sp_tcp *t, struct sp_tcp_conn *c)
{
	c->src = sp_tcp_source_get(t, &c->peer, true);
	if (!c->src)
		return false;
	c->src->n++;
	if (sp_loop_add_fd(t->loop, c->fd, EPOLLIN, sp_tcp_conn_event, c) < 0) {
		sp_tcp_source_put(t, c->src);
		return false;
	}
	sp_tcp_link(t, c);
	return true;
}

static void sp_tcp_listener_event(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	sp_tcp_accept(arg, fd);
}

/* Slowloris and silence: connections past their timeouts close. */
void sp_tcp_sweep_cb(struct sp_loop *loop, void *arg)
{
	struct sp_tcp *t = arg;
	uint64_t now = sp_loop_now_ms();
	struct sp_tcp_conn *c = t->all, *next;

	(void)loop;
	t->sweep_armed = false;
	for (; c; c = next) {
		next = c->next;
		if (t->lim.header_timeout_ms && c->begun_ms && now - c->begun_ms >= t->lim.header_timeout_ms &&
		    c->handshaking)
			sp_tls_conn_failed(c, &t->st.tls_handshake_failures, "handshake failed with",
					   "no handshake in time");
		else if (t->lim.header_timeout_ms && c->begun_ms && now - c->begun_ms >= t->lim.header_timeout_ms)
			sp_tcp_refuse(c, &t->st.header_timeouts, "closed: a message not finished in time");
		else if (t->lim.idle_timeout_ms && now - c->last_ms >= t->lim.idle_timeout_ms)
			sp_tcp_refuse(c, &t->st.idle_timeouts, "closed: idle");
	}
	if (t->all)
		sp_tcp_sweep_arm(t);
}

/* A transparent listening socket of family on port: it accepts what TPROXY
 * hands it, for any E. -1 with errno on failure. */
static int sp_tcp_listen_socket(int family, uint16_t port)
{
	bool v6 = family == AF_INET6;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1, saved;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* an IPv6 socket takes IPv6 only: IPv4 has its own */
	if ((v6 && setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one,
		       sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    /* a connection the SP opens to a terminal binds E:e beside it */
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) : bind(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 ||
	    listen(fd, SP_TCP_BACKLOG) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct sp_transport_conn *sp_tcp_listen(struct sp_transport *tp, uint16_t port, struct sp_error *e)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;
	struct sp_tcp_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	c->t = t;
	c->listener = true;
	c->pub.tp = tp;
	c->pub.side = SP_TRANSPORT_TERMINAL;
	c->pub.local.family = AF_INET;
	c->pub.local.port = port;
	c->fd = sp_tcp_listen_socket(AF_INET, port);
	if (c->fd < 0 || sp_loop_add_fd(t->loop, c->fd, EPOLLIN, sp_tcp_listener_event, c) < 0) {
		sp_error_set(e, "Cannot listen on TCP port %u: %s", port, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	c->fd6 = -1;
	return &c->pub;
}

void sp_tcp_listen_ipv6(struct sp_transport_conn *conn, bool on)
{
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)conn;

	if (!on && c->fd6 >= 0) {
		sp_tcp_unpause(c->t, c->fd6);
		sp_loop_del_fd(c->t->loop, c->fd6);
		close(c->fd6);
		c->fd6 = -1;
	}
	if (!on || c->fd6 >= 0)
		return;
	/* IPv6 where the host has it (as UDP's listeners) */
	c->fd6 = sp_tcp_listen_socket(AF_INET6, conn->local.port);
	if (c->fd6 >= 0 && sp_loop_add_fd(c->t->loop, c->fd6, EPOLLIN, sp_tcp_listener_event, c) < 0) {
		close(c->fd6);
		c->fd6 = -1;
	}
}

/* ---- the server's own connections to C:c ---- */

/* A connection the server opened to C:c takes the place of the binding's
 * connection, whatever it was: a server opens a new one when it holds
 * none it can use (RFC 3261 §18.2.2: it sends to the Contact), so the old
 * one is gone or going. Its messages come up from the server's address
 * and its port of choice; what the SP sends from now on goes over it. */
static void sp_tcp_server_accept(struct sp_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct sp_tcp_conn *c = arg;
	int one = 1;

	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sp_endpoint peer;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			sp_tcp_shed(c->t, lfd, c->pub.local.port);
			return;
		}
		if (sp_endpoint_from_sockaddr(&peer, (struct sockaddr *)&ss, sl) < 0) {
			close(fd);
			continue;
		}
		/* Only the server C:c talks to may take the binding's connection
		 * over: anyone else who can reach C:c would otherwise knock the
		 * live one down (its messages would be dropped, but the server's
		 * connection would be gone). After a restart or a takeover the
		 * binding's server is known from the store or the peer
		 * (sp_tcp_expect_server) before anything is sent to it. */
		if (c->peer.family && !sp_endpoint_same_addr(&peer, &c->peer)) {
			char a[SP_ENDPOINT_STRLEN];

			close(fd);
			c->t->st.not_server++;
			sp_log_limited(&sp_tcp_refusal_log, LOG_NOTICE,
				       "tcp: connection to C:%u from %s refused: not its server", c->pub.local.port,
				       sp_endpoint_format(&peer, a, sizeof(a)));
			continue;
		}
		fd = sp_tcp_fd_above_select(fd);
		if (c->fd >= 0)
			sp_tcp_lost(c);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (sp_loop_add_fd(loop, fd, EPOLLIN, sp_tcp_conn_event, c) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->out_mark = 0;
		c->last_ms = sp_loop_now_ms();
		c->t->st.server_accepted++;
	}
}

void sp_tcp_expect_server(struct sp_transport_conn *conn, const struct sp_endpoint *server)
{
	struct sp_tcp_conn *c = (struct sp_tcp_conn *)conn;

	/* what it is connected to, or was last accepted from, stays */
	if (c->server && c->fd < 0 && !c->peer.family)
		c->peer = *server;
}

bool sp_tcp_server_listen(struct sp_tcp_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sp_endpoint_to_sockaddr(&c->pub.local, &ss);
	bool v6 = c->pub.local.family == AF_INET6;
	int one = 1;
	int fd = socket(c->pub.local.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0)
		fd = sp_tcp_fd_above_select(fd);
	/* C need not be on an interface yet (a VRRP daemon, the standby);
	 * the SP's own connection from C:c binds beside it */
	if (fd < 0 || setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0 ||
	    sp_loop_add_fd(c->t->loop, fd, EPOLLIN, sp_tcp_server_accept, c) < 0) {
		char a[SP_ENDPOINT_STRLEN];

		sp_log_limited(&sp_tcp_refusal_log, LOG_WARNING, "tcp: cannot listen on %s: %s",
			       sp_endpoint_format(&c->pub.local, a, sizeof(a)), strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	c->lfd = fd;
	return true;
}
