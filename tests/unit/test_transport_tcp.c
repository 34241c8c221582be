/* The TCP transport's server side (daemon/sp_transport_tcp) through the
 * transport seam, on loopback (no root): a binding's C:c connects to the
 * server with its first message (sent once the connection is up, from
 * C:c), the server's bytes come back cut into messages (two in one write,
 * one split over two) with the server as their source on the server side,
 * a CRLFCRLF ping is answered with a CRLF, and a connection the server
 * closed is made again by the next message. */
#include "config.h"
#include "sp_transport_tcp.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct seen {
	struct sp_loop *loop;
	int messages;
	char data[4][256];
	struct sp_endpoint source[4];
	enum sp_transport_side side[4];
};

static void before_batch(void *arg, enum sp_transport_side side)
{
	(void)arg;
	(void)side;
}

static void received(void *arg, const struct sp_transport_msg *m)
{
	struct seen *s = arg;
	int i = s->messages++;

	cr_assert_lt(i, 4);
	cr_assert_eq(m->data[m->len], '\0', "NUL after the message");
	snprintf(s->data[i], sizeof(s->data[i]), "%s", m->data);
	s->source[i] = m->source;
	s->side[i] = m->conn->side;
}

static void wake_done(void *arg)
{
	sp_loop_stop(((struct seen *)arg)->loop);
}

static void queue_drops(void *arg, enum sp_transport_side side, uint64_t n)
{
	(void)arg;
	(void)side;
	(void)n;
}

static void send_failed(void *arg)
{
	(void)arg;
}

/* A listening TCP socket on 127.0.0.1 (the server D); its endpoint in ep. */
static int server_socket(struct sp_endpoint *ep)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(sp_endpoint_from_sockaddr(ep, (struct sockaddr *)&sa, sl), 0);
	return fd;
}

/* A free port on 127.0.0.1 for C:c. */
static void free_local(struct sp_endpoint *ep)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(sp_endpoint_from_sockaddr(ep, (struct sockaddr *)&sa, sl), 0);
	close(fd);
}

/* The server accepts the SP's connection (waiting at most 5 s); the
 * connection's source into from. */
static int server_accept(int lfd, struct sp_endpoint *from)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	cr_assert_eq(poll(&p, 1, 5000), 1, "no connection from the SP");
	fd = accept(lfd, (struct sockaddr *)&ss, &sl);
	cr_assert_geq(fd, 0);
	cr_assert_eq(sp_endpoint_from_sockaddr(from, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

/* What the server reads within 5 s, NUL-terminated. */
static void server_expect(int fd, const char *text)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[512];
	size_t got = 0, want = strlen(text);

	while (got < want) {
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "the server got %zu of %zu bytes", got, want);
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	cr_assert_str_eq(buf, text);
}

/* One round of the loop, until a wake-up is done. */
static void run(struct seen *s)
{
	sp_loop_resume(s->loop);
	cr_assert_eq(sp_loop_run(s->loop), 0);
}

static void send_to(struct sp_transport_conn *c, const struct sp_endpoint *to, const char *text)
{
	uint64_t counter = 0;
	struct sp_transport_out o = { .to = to, .data = text, .len = strlen(text), .counter = &counter };

	cr_assert_eq(sp_transport_send(c, &o), 0);
}

#define MSG(n) "OPTIONS sip:d SIP/2.0\r\nCall-ID: " n "\r\nContent-Length: 0\r\n\r\n"

Test(transport_tcp, server_side_connects_frames_and_reconnects, .timeout = 30)
{
	struct seen s = { 0 };
	struct sp_transport_handler h = { &s, before_batch, received, wake_done, queue_drops, send_failed, NULL, NULL };
	struct sp_endpoint local, server, from;
	struct sp_transport *tp;
	struct sp_transport_conn *c;
	int lfd, sfd;

	s.loop = sp_loop_new();
	cr_assert_not_null(s.loop);
	tp = sp_transport_tcp_new(s.loop, &h);
	cr_assert_not_null(tp);
	lfd = server_socket(&server);
	free_local(&local);
	c = sp_transport_open(tp, &local);
	cr_assert_not_null(c);
	cr_assert_eq(c->side, SP_TRANSPORT_SERVER);
	cr_assert_eq(sp_transport_find(tp, &local), c);

	/* the first message opens the connection, from C:c */
	send_to(c, &server, MSG("a"));
	sfd = server_accept(lfd, &from);
	cr_assert(sp_endpoint_equal(&from, &local), "the connection comes from C:c");
	run(&s); /* connected: what waited goes */
	server_expect(sfd, MSG("a"));

	/* two messages in one write, the second split over two */
	{
		static const char one[] = MSG("b") MSG("c") "OPTIONS sip:d SIP/2.0\r\nCall-";
		static const char two[] = "ID: d\r\nContent-Length: 0\r\n\r\n";

		cr_assert_eq(send(sfd, one, strlen(one), 0), (ssize_t)strlen(one));
		while (s.messages < 2)
			run(&s);
		cr_assert_eq(send(sfd, two, strlen(two), 0), (ssize_t)strlen(two));
	}
	while (s.messages < 3)
		run(&s);
	cr_assert_str_eq(s.data[0], MSG("b"));
	cr_assert_str_eq(s.data[1], MSG("c"));
	cr_assert_str_eq(s.data[2], MSG("d"));
	for (int i = 0; i < 3; i++) {
		cr_assert(sp_endpoint_equal(&s.source[i], &server), "message %d from the server", i);
		cr_assert_eq(s.side[i], SP_TRANSPORT_SERVER);
	}

	/* a ping is answered with a pong */
	cr_assert_eq(send(sfd, "\r\n\r\n", 4, 0), 4);
	run(&s);
	server_expect(sfd, "\r\n");

	/* the server closes; the next message connects again */
	close(sfd);
	run(&s);
	send_to(c, &server, MSG("e"));
	sfd = server_accept(lfd, &from);
	cr_assert(sp_endpoint_equal(&from, &local), "again from C:c");
	run(&s);
	server_expect(sfd, MSG("e"));

	sp_transport_close(c);
	cr_assert_null(sp_transport_find(tp, &local));
	close(sfd);
	close(lfd);
	sp_transport_destroy(tp);
	sp_loop_free(s.loop);
}
