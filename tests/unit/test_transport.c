/* The UDP transport (daemon/sp_transport_udp) through the transport seam
 * (sp_transport.h), server side on loopback (no root): a batch handed up
 * with its source and connection, replies queued in order until the batch
 * is done, a send `now` on the wire at once, a connection closed by the
 * handler while it is being read, failed sends undone, and, with the
 * engine workers' lock, each datagram prepared outside it before it is
 * received. */
#include "config.h"
#include "sp_transport_udp.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct seen {
	struct sp_loop *loop;
	struct sp_transport *tp;
	int messages, wakes, drops, failed;
	char data[8][64];
	struct sp_endpoint source[8];
	struct sp_transport_conn *conn[8];
	bool echo;		/* reply to each message, queued */
	bool close_on_first;	/* close the connection from the handler */
	uint64_t sent;
	int prepared;		/* prepare calls */
	unsigned prepared_slot[8]; /* 1 + the slot received said; 0: none */
	char prepared_data[8][64];
};

static void before_batch(void *arg, enum sp_transport_side side)
{
	(void)arg;
	cr_assert_eq(side, SP_TRANSPORT_SERVER);
}

static void received(void *arg, const struct sp_transport_msg *m)
{
	struct seen *s = arg;
	int i = s->messages++;

	cr_assert_lt(i, 8);
	cr_assert_not(m->truncated);
	cr_assert_eq(m->data[m->len], '\0', "NUL after the data");
	snprintf(s->data[i], sizeof(s->data[i]), "%s", m->data);
	s->source[i] = m->source;
	s->conn[i] = m->conn;
	s->prepared_slot[i] = m->prepared;
	if (s->echo) {
		int n = snprintf(s->tp->out, s->tp->out_max, "re:%s", m->data);
		struct sp_transport_out o = { .to = &m->source, .data = s->tp->out, .len = (size_t)n,
					      .counter = &s->sent };

		cr_assert_eq(sp_transport_send(m->conn, &o), 0);
		s->sent++;
	}
	if (s->close_on_first)
		sp_transport_close(m->conn);
}

static void wake_done(void *arg)
{
	struct seen *s = arg;

	s->wakes++;
	sp_loop_stop(s->loop);
}

static void queue_drops(void *arg, enum sp_transport_side side, uint64_t n)
{
	(void)side;
	((struct seen *)arg)->drops += (int)n;
}

static void send_failed(void *arg)
{
	((struct seen *)arg)->failed++;
}

static void prepare(void *arg, enum sp_transport_side side, unsigned slot, const char *data, size_t len)
{
	struct seen *s = arg;

	cr_assert_eq(side, SP_TRANSPORT_SERVER);
	cr_assert_lt(slot, 8);
	cr_assert_eq(data[len], '\0', "NUL after the data");
	cr_assert_eq(s->messages, 0, "prepared before any of the batch is received");
	snprintf(s->prepared_data[slot], sizeof(s->prepared_data[slot]), "%s", data);
	s->prepared++;
}

static struct sp_transport *udp_new(struct seen *s)
{
	struct sp_transport_handler h = { s, before_batch, received, wake_done, queue_drops, send_failed,
					  prepare, NULL };

	s->loop = sp_loop_new();
	cr_assert_not_null(s->loop);
	s->tp = sp_transport_udp_new(s->loop, &h);
	cr_assert_not_null(s->tp);
	return s->tp;
}

/* A UDP socket on 127.0.0.1, any port; its endpoint into ep. */
static int peer_socket(struct sp_endpoint *ep)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(sp_endpoint_from_sockaddr(ep, (struct sockaddr *)&sa, sl), 0);
	return fd;
}

/* A free port on 127.0.0.1 for C:c (taken from the kernel, then let go). */
static void free_local(struct sp_endpoint *ep)
{
	close(peer_socket(ep));
}

static void peer_send(int fd, const struct sp_endpoint *to, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t sl = sp_endpoint_to_sockaddr(to, &ss);

	cr_assert_eq(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&ss, sl), (ssize_t)strlen(text));
}

static void peer_expect(int fd, const char *text)
{
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	cr_assert_geq(n, 0, "nothing for the peer, expected %s", text);
	buf[n] = '\0';
	cr_assert_str_eq(buf, text);
}

static void peer_expect_nothing(int fd)
{
	char buf[128];

	cr_assert_lt(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
}

Test(transport_udp, batch_up_with_source_and_connection_replies_in_order)
{
	struct seen s = { .echo = true };
	struct sp_transport *tp = udp_new(&s);
	struct sp_endpoint local, peer;
	int pfd = peer_socket(&peer);
	struct sp_transport_conn *c;

	free_local(&local);
	c = sp_transport_open(tp, &local);
	cr_assert_not_null(c);
	cr_assert_eq(c->side, SP_TRANSPORT_SERVER);
	cr_assert(sp_endpoint_equal(&c->local, &local));
	cr_assert_eq(sp_transport_find(tp, &local), c);
	peer_send(pfd, &local, "one");
	peer_send(pfd, &local, "two");
	peer_send(pfd, &local, "three");
	cr_assert_eq(sp_loop_run(s.loop), 0);
	cr_assert_eq(s.messages, 3);
	cr_assert_eq(s.wakes, 1);
	cr_assert_str_eq(s.data[0], "one");
	cr_assert_str_eq(s.data[2], "three");
	for (int i = 0; i < 3; i++) {
		cr_assert(sp_endpoint_equal(&s.source[i], &peer));
		cr_assert_eq(s.conn[i], c);
	}
	/* the replies, each in its own buffer, went out once the batch was done */
	peer_expect(pfd, "re:one");
	peer_expect(pfd, "re:two");
	peer_expect(pfd, "re:three");
	cr_assert_eq(s.sent, 3);
	cr_assert_eq(s.failed, 0);
	sp_transport_close(c);
	cr_assert_null(sp_transport_find(tp, &local));
	sp_transport_destroy(tp);
	sp_loop_free(s.loop);
	close(pfd);
}

Test(transport_udp, queued_until_flushed_now_at_once)
{
	struct seen s = { 0 };
	struct sp_transport *tp = udp_new(&s);
	struct sp_endpoint local, peer;
	int pfd = peer_socket(&peer);
	struct sp_transport_conn *c;
	uint64_t sent = 0;
	struct sp_transport_out o = { .to = &peer, .data = "queued", .len = 6, .counter = &sent };

	free_local(&local);
	c = sp_transport_open(tp, &local);
	cr_assert_not_null(c);
	cr_assert_eq(sp_transport_send(c, &o), 0);
	peer_expect_nothing(pfd);
	o.data = "now";
	o.len = 3;
	o.now = true;
	/* what was queued goes first: order is kept */
	cr_assert_eq(sp_transport_send(c, &o), 0);
	peer_expect(pfd, "queued");
	peer_expect(pfd, "now");
	sp_transport_destroy(tp); /* closes c */
	sp_loop_free(s.loop);
	close(pfd);
}

Test(transport_udp, closed_by_the_handler_while_read)
{
	struct seen s = { .close_on_first = true };
	struct sp_transport *tp = udp_new(&s);
	struct sp_endpoint local, peer;
	int pfd = peer_socket(&peer);

	free_local(&local);
	cr_assert_not_null(sp_transport_open(tp, &local));
	peer_send(pfd, &local, "first");
	peer_send(pfd, &local, "second");
	cr_assert_eq(sp_loop_run(s.loop), 0);
	/* the rest of the batch went with the socket */
	cr_assert_eq(s.messages, 1);
	cr_assert_eq(s.wakes, 1);
	cr_assert_null(sp_transport_find(tp, &local));
	sp_transport_destroy(tp);
	sp_loop_free(s.loop);
	close(pfd);
}

Test(transport_udp, failed_send_undone)
{
	struct seen s = { 0 };
	struct sp_transport *tp = udp_new(&s);
	struct sp_endpoint local, nowhere;
	struct sp_transport_conn *c;
	uint64_t sent = 1; /* the caller counted it */
	struct sp_transport_out o = { .to = &nowhere, .data = "x", .len = 1, .counter = &sent };

	free_local(&local);
	c = sp_transport_open(tp, &local);
	cr_assert_not_null(c);
	/* an IPv6 destination from an IPv4 socket: refused by the kernel */
	cr_assert_eq(sp_endpoint_parse(&nowhere, "2001:db8::1", 5060), 0);
	cr_assert_eq(sp_transport_send(c, &o), 0);
	sp_transport_flush(tp);
	cr_assert_eq(sent, 0);
	cr_assert_eq(s.failed, 1);
	sp_transport_destroy(tp);
	sp_loop_free(s.loop);
}

/* One worker (no lock): nothing is prepared, received as it always was. */
Test(transport_udp, nothing_prepared_without_the_workers_lock)
{
	struct seen s = { 0 };
	struct sp_transport *tp = udp_new(&s);
	struct sp_endpoint local, peer;
	int pfd = peer_socket(&peer);

	free_local(&local);
	cr_assert_not_null(sp_transport_open(tp, &local));
	peer_send(pfd, &local, "one");
	cr_assert_eq(sp_loop_run(s.loop), 0);
	cr_assert_eq(s.messages, 1);
	cr_assert_eq(s.prepared, 0);
	cr_assert_eq(s.prepared_slot[0], 0);
	sp_transport_destroy(tp);
	sp_loop_free(s.loop);
	close(pfd);
}

/* Engine workers: each datagram of a batch is prepared (outside the lock,
 * with the batch's other datagrams) before the first is received, and
 * received says which slot it was prepared in. */
Test(transport_udp, batch_prepared_before_received_with_the_workers_lock)
{
	struct seen s = { 0 };
	struct sp_transport *tp = udp_new(&s);
	struct sp_loop_lock *lock = sp_loop_lock_new();
	struct sp_endpoint local, peer;
	int pfd = peer_socket(&peer);

	cr_assert_not_null(lock);
	sp_loop_set_lock(s.loop, lock);
	free_local(&local);
	cr_assert_not_null(sp_transport_open(tp, &local));
	peer_send(pfd, &local, "one");
	peer_send(pfd, &local, "two");
	peer_send(pfd, &local, "three");
	cr_assert_eq(sp_loop_run(s.loop), 0);
	cr_assert_eq(s.messages, 3);
	cr_assert_eq(s.prepared, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(s.prepared_slot[i], (unsigned)i + 1);
		cr_assert_str_eq(s.prepared_data[i], s.data[i]);
	}
	sp_transport_destroy(tp);
	sp_loop_set_lock(s.loop, NULL);
	sp_loop_free(s.loop);
	sp_loop_lock_free(lock);
	close(pfd);
}
