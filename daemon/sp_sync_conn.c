/*
 * One state-sync connection (sp_sync.c owns the channel): the output
 * buffer and its flushing, the window of frames waiting for an ack, the
 * HELLO exchange, the frames received and what each does, and closing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <nettle/memops.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp_hash.h"
#include "sp_log.h"
#include "sp_loop.h"
#include "sp_sync.h"
#include "sp_sync_wire.h"
#include "sp_sync_int.h"

static void conn_event(struct sp_loop *loop, int fd, uint32_t events, void *arg);

static void conn_set_events(struct conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	c->events = events;
	sp_loop_mod_fd(c->s->loop, c->fd, events);
}

size_t sp_sync_out_pending(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* Room for n more bytes at the end of the output buffer. */
static uint8_t *out_reserve(struct conn *c, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len < n && c->out_off) {
		memmove(c->out, c->out + c->out_off, sp_sync_out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_cap - c->out_len < n) {
		size_t cap = c->out_cap ? c->out_cap : 65536;
		uint8_t *p;

		while (cap - c->out_len < n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return NULL;
		c->out = p;
		c->out_cap = cap;
	}
	return c->out + c->out_len;
}

/* Send what the kernel takes. Returns -1 when the connection was closed. */
int sp_sync_conn_flush(struct conn *c)
{
	while (sp_sync_out_pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_off, sp_sync_out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sp_sync_conn_close(c, strerror(errno));
			return -1;
		}
		c->out_off += (size_t)n;
	}
	if (c->connecting)
		return 0;
	conn_set_events(c, sp_sync_out_pending(c) ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

static bool wants_ack(uint8_t type)
{
	return type == SP_SYNC_F_RECORDS || type == SP_SYNC_F_RESYNC_BEGIN ||
	       type == SP_SYNC_F_RESYNC_END || type == SP_SYNC_F_TAKEOVER;
}

/* Entries: seq << 1 | 1 for a RECORDS frame (those the window counts). */
static int wait_push(struct conn *c, uint64_t entry)
{
	if (c->wait_n == c->wait_cap) {
		size_t cap = c->wait_cap ? 2 * c->wait_cap : 128;
		uint64_t *q = malloc(cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < c->wait_n; i++)
			q[i] = c->wait[(c->wait_head + i) % c->wait_cap];
		free(c->wait);
		c->wait = q;
		c->wait_cap = cap;
		c->wait_head = 0;
	}
	c->wait[(c->wait_head + c->wait_n) % c->wait_cap] = entry;
	c->wait_n++;
	return 0;
}

/*
 * Queue a frame whose payload is already at payload (may be inside out's
 * header room, see seal_batch). Returns -1 when out of memory (the
 * connection is closed: a hole in the stream is not an option).
 */
int sp_sync_conn_queue(struct conn *c, uint8_t type, const uint8_t *payload, uint32_t len)
{
	size_t size = SP_SYNC_HDR_LEN + len + SP_SYNC_MAC_LEN;
	uint8_t *p = out_reserve(c, size);
	const uint8_t *key = type == SP_SYNC_F_HELLO ? (const uint8_t *)c->s->key : c->tx_key;
	size_t key_len = type == SP_SYNC_F_HELLO ? strlen(c->s->key) : SP_SYNC_MAC_LEN;
	uint64_t seq = type == SP_SYNC_F_HELLO ? 0 : c->tx_seq + 1;

	if (!p || (wants_ack(type) && wait_push(c, seq << 1 | (type == SP_SYNC_F_RECORDS)) < 0)) {
		sp_sync_conn_close(c, "out of memory");
		return -1;
	}
	sp_sync_frame_build(p, SP_SYNC_VERSION, type, seq, payload, len, key, key_len);
	c->out_len += size;
	c->tx_seq = seq;
	c->last_tx_ms = sp_loop_now_ms();
	if (type == SP_SYNC_F_RECORDS)
		c->records_in_flight++;
	if (c == c->s->conn)
		c->s->st.last_seq_sent = seq;
	return 0;
}

int sp_sync_send_hello(struct conn *c)
{
	uint8_t payload[SP_SYNC_NONCE_LEN + 1];

	if (getrandom(c->my_nonce, sizeof(c->my_nonce), 0) != (ssize_t)sizeof(c->my_nonce)) {
		sp_sync_conn_close(c, "no random bytes for the nonce");
		return -1;
	}
	memcpy(payload, c->my_nonce, SP_SYNC_NONCE_LEN);
	payload[SP_SYNC_NONCE_LEN] = c->s->sender ? 1 : 0;
	if (sp_sync_conn_queue(c, SP_SYNC_F_HELLO, payload, sizeof(payload)) < 0)
		return -1;
	return sp_sync_conn_flush(c);
}

struct conn *sp_sync_conn_new(struct sp_sync *s, int fd, bool connecting)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->in = malloc(FRAME_MAX);
	if (!c->in) {
		free(c);
		return NULL;
	}
	c->s = s;
	c->fd = fd;
	c->connecting = connecting;
	c->events = connecting ? EPOLLOUT : EPOLLIN;
	c->last_rx_ms = c->last_tx_ms = sp_loop_now_ms();
	if (sp_loop_add_fd(s->loop, fd, c->events, conn_event, c) < 0) {
		free(c->in);
		free(c);
		return NULL;
	}
	return c;
}

void sp_sync_abort_sending(struct sp_sync *s)
{
	s->resyncing = false;
	s->rs_end_pending = false;
	s->batch_len = 0;
	sp_sync_dirty_clear(s);
}

void sp_sync_redial_later(struct sp_sync *s)
{
	sp_loop_timer_arm(s->redial, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

void sp_sync_conn_close(struct conn *c, const char *why)
{
	struct sp_sync *s = c->s;
	char peer[SP_ENDPOINT_STRLEN];

	sp_loop_del_fd(s->loop, c->fd);
	close(c->fd);
	if (c == s->pending) {
		s->pending = NULL;
	} else if (c == s->conn) {
		s->conn = NULL;
		if (c->up) {
			s->st.disconnects++;
			sp_notice("sync: connection to %s lost: %s",
				  sp_endpoint_format(&s->cfg.peer, peer, sizeof(peer)), why);
		} else {
			sp_debug("sync: connection attempt to %s failed: %s",
				 sp_endpoint_format(&s->cfg.peer, peer, sizeof(peer)), why);
		}
		sp_sync_abort_sending(s);
		s->st.peer_sender = false;
		/* A failed attempt of the dialer stays "connecting": no flapping
		 * notifications while the peer is away. */
		if (c->up || !s->dialer)
			sp_sync_set_peer_state(s, SP_SYNC_PEER_DOWN);
		if (s->dialer)
			sp_sync_redial_later(s);
	}
	free(c->wait);
	free(c->out);
	free(c->in);
	free(c);
}

/* Authentication or format failure: counted, connection closed. */
static void conn_reject(struct conn *c, const char *why)
{
	c->s->st.auth_failures++;
	sp_warn("sync: refusing the peer's data: %s", why);
	sp_sync_conn_close(c, why);
}

void sp_sync_start_resync(struct sp_sync *s)
{
	struct conn *c = s->conn;

	sp_sync_abort_sending(s);
	s->resyncing = true;
	s->rs_kind = SP_SYNC_BINDING;
	s->rs_cursor = 0;
	s->rs_start_ms = sp_loop_now_ms();
	s->st.resyncs++;
	sp_sync_set_peer_state(s, SP_SYNC_PEER_RESYNC);
	if (sp_sync_conn_queue(c, SP_SYNC_F_RESYNC_BEGIN, NULL, 0) < 0)
		return;
	sp_sync_kick(s);
}

/* The connection proved the key: it becomes the live one. */
static void conn_established(struct conn *c)
{
	struct sp_sync *s = c->s;
	char peer[SP_ENDPOINT_STRLEN];

	c->up = true;
	if (c == s->pending) {
		s->pending = NULL;
		if (s->conn)
			sp_sync_conn_close(s->conn, "replaced by a new connection");
		s->conn = c;
	}
	s->backoff_ms = BACKOFF_MIN_MS;
	s->st.connects++;
	s->st.last_seq_sent = c->tx_seq;
	s->st.last_seq_acked = 0;
	s->st.last_seq_received = c->rx_seq;
	s->st.peer_sender = c->peer_sender;
	sp_notice("sync: connected to %s (%s)", sp_endpoint_format(&s->cfg.peer, peer, sizeof(peer)),
		  s->sender ? "sending state" : "receiving state");
	if (s->sender)
		sp_sync_start_resync(s);
	else
		sp_sync_set_peer_state(s, c->peer_sender ? SP_SYNC_PEER_RESYNC : SP_SYNC_PEER_UP);
}

/* Receiving */

static int on_hello(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct sp_sync *s = c->s;

	if (len != SP_SYNC_NONCE_LEN + 1 || payload[SP_SYNC_NONCE_LEN] > 1) {
		conn_reject(c, "malformed hello");
		return -1;
	}
	/* Our own HELLO reflected back would give both directions one key. */
	if (memeql_sec(payload, c->my_nonce, SP_SYNC_NONCE_LEN)) {
		conn_reject(c, "reflected hello");
		return -1;
	}
	memcpy(c->peer_nonce, payload, SP_SYNC_NONCE_LEN);
	c->peer_sender = payload[SP_SYNC_NONCE_LEN] == 1;
	sp_sync_session_key(s->key, c->my_nonce, c->peer_nonce, c->tx_key);
	sp_sync_session_key(s->key, c->peer_nonce, c->my_nonce, c->rx_key);
	c->hello_ok = true;
	/* Prove the key at once, whatever this side's role. */
	return sp_sync_conn_queue(c, SP_SYNC_F_KEEPALIVE, NULL, 0);
}

static int on_ack(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct sp_sync *s = c->s;
	uint64_t v;

	if (len != 8 || (v = sp_sync_le_get(payload, 8)) > c->tx_seq) {
		conn_reject(c, "bad ack");
		return -1;
	}
	if (v <= c->acked)
		return 0;
	c->acked = v;
	if (c == s->conn)
		s->st.last_seq_acked = v;
	while (c->wait_n && c->wait[c->wait_head] >> 1 <= v) {
		if (c->wait[c->wait_head] & 1)
			c->records_in_flight--;
		c->wait_head = (c->wait_head + 1) % c->wait_cap;
		c->wait_n--;
	}
	if (s->rs_end_pending && v >= s->rs_end_seq) {
		s->rs_end_pending = false;
		s->st.last_resync_ms = sp_loop_now_ms() - s->rs_start_ms;
		sp_sync_set_peer_state(s, SP_SYNC_PEER_UP);
	}
	sp_sync_kick(s);
	return 0;
}

/* One verified frame. Returns -1 when the connection is gone. */
static int on_frame(struct conn *c, uint8_t type, const uint8_t *payload, uint32_t len)
{
	struct sp_sync *s = c->s;
	uint8_t ack[8];

	if (!c->up) {
		conn_established(c);
		if (s->conn != c)
			return -1;
	}
	if (wants_ack(type))
		c->ack_due = true;
	switch (type) {
	case SP_SYNC_F_RECORDS:
		if (!sp_sync_records_valid(payload, len)) {
			conn_reject(c, "malformed records");
			return -1;
		}
		/* Both sides think they are active: keep our own state. */
		if (!s->sender)
			s->st.apply_errors += (uint64_t)sp_sync_adopt(payload, len, s->cb.apply,
								   s->cb.arg,
								   &s->st.records_received);
		break;
	case SP_SYNC_F_RESYNC_BEGIN:
		if (len)
			goto malformed;
		s->st.peer_sender = true;
		if (!s->sender) {
			s->st.resyncs++;
			s->rx_rs_start_ms = sp_loop_now_ms();
			sp_sync_set_peer_state(s, SP_SYNC_PEER_RESYNC);
			if (s->cb.resync_begin)
				s->cb.resync_begin(s->cb.arg);
		}
		break;
	case SP_SYNC_F_RESYNC_END:
		if (len)
			goto malformed;
		if (!s->sender) {
			if (s->cb.resync_end)
				s->cb.resync_end(s->cb.arg);
			s->st.last_resync_ms = sp_loop_now_ms() - s->rx_rs_start_ms;
			sp_sync_set_peer_state(s, SP_SYNC_PEER_UP);
		}
		break;
	case SP_SYNC_F_ACK:
		return on_ack(c, payload, len);
	case SP_SYNC_F_KEEPALIVE:
		if (len)
			goto malformed;
		break;
	case SP_SYNC_F_TAKEOVER:
		if (len)
			goto malformed;
		/* Acknowledge before handing over: the callback may change roles. */
		sp_sync_le_put(ack, c->rx_seq, 8);
		c->ack_due = false;
		if (sp_sync_conn_queue(c, SP_SYNC_F_ACK, ack, 8) < 0 || sp_sync_conn_flush(c) < 0)
			return -1;
		sp_notice("sync: the peer hands over the active role");
		s->st.peer_sender = false;
		if (s->cb.takeover)
			s->cb.takeover(s->cb.arg);
		if (s->conn != c)
			return -1;
		break;
	default:
		conn_reject(c, "unknown frame type");
		return -1;
	}
	return 0;
malformed:
	conn_reject(c, "malformed control frame");
	return -1;
}

/*
 * Parse, verify and process the complete frames in the input buffer.
 * Returns -1 when the connection was closed.
 */
static int conn_process(struct conn *c)
{
	struct sp_sync *s = c->s;
	size_t off = 0;
	struct sp_sync_frame f;
	const char *why = NULL;
	int got;

	while ((got = sp_sync_frame_parse(c->in + off, c->in_len - off, &f, &why)) > 0) {
		const uint8_t *h = c->in + off;
		uint8_t mac[SP_SYNC_MAC_LEN];

		if (!c->hello_ok) {
			if (f.type != SP_SYNC_F_HELLO || f.seq != 0) {
				conn_reject(c, "no hello first");
				return -1;
			}
			sp_sync_mac((const uint8_t *)s->key, strlen(s->key), h, SP_SYNC_HDR_LEN + f.len, mac);
		} else {
			if (f.type == SP_SYNC_F_HELLO || f.seq != c->rx_seq + 1) {
				conn_reject(c, "frame out of sequence");
				return -1;
			}
			sp_sync_mac(c->rx_key, sizeof(c->rx_key), h, SP_SYNC_HDR_LEN + f.len, mac);
		}
		if (!memeql_sec(mac, f.mac, SP_SYNC_MAC_LEN)) {
			conn_reject(c, "authentication failed (key mismatch?)");
			return -1;
		}
		c->rx_seq = f.seq;
		c->last_rx_ms = sp_loop_now_ms();
		if (f.type == SP_SYNC_F_HELLO) {
			if (on_hello(c, f.payload, f.len) < 0)
				return -1;
		} else {
			sp_debug("sync: %s seq %llu", sp_sync_frame_type_name(f.type), (unsigned long long)f.seq);
			if (on_frame(c, f.type, f.payload, f.len) < 0)
				return -1;
			if (c == s->conn)
				s->st.last_seq_received = f.seq;
		}
		off += f.size;
	}
	if (got < 0) {
		conn_reject(c, why);
		return -1;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return 0;
}

/* Returns -1 when the connection was closed. */
int sp_sync_conn_readable(struct conn *c)
{
	size_t budget = READ_BUDGET;

	while (budget) {
		ssize_t n = recv(c->fd, c->in + c->in_len, FRAME_MAX - c->in_len, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sp_sync_conn_close(c, strerror(errno));
			return -1;
		}
		if (n == 0) {
			sp_sync_conn_close(c, "closed by the peer");
			return -1;
		}
		c->in_len += (size_t)n;
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
		if (conn_process(c) < 0)
			return -1;
	}
	/* One cumulative ack for everything this event brought. */
	if (c->ack_due && c->hello_ok) {
		uint8_t ack[8];

		c->ack_due = false;
		sp_sync_le_put(ack, c->rx_seq, 8);
		if (sp_sync_conn_queue(c, SP_SYNC_F_ACK, ack, 8) < 0)
			return -1;
	}
	if (budget == 0)
		sp_sync_kick(c->s);	/* more to read: come back after the others */
	return sp_sync_conn_flush(c);
}

static void conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		sp_sync_conn_close(c, strerror(err));
		return;
	}
	c->connecting = false;
	c->last_rx_ms = sp_loop_now_ms();
	sp_sync_send_hello(c);
}

static void conn_event(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct sp_sync *s = c->s;

	(void)loop;
	(void)fd;
	if (c->connecting) {
		conn_connected(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && sp_sync_conn_readable(c) < 0)
		return;
	if (events & EPOLLOUT) {
		if (sp_sync_conn_flush(c) < 0)
			return;
		if (c == s->conn)
			sp_sync_pump(s);
	}
}

/* Sending */
