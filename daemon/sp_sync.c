/*
 * State sync channel (SPEC §5): one authenticated TCP connection between the
 * two SPs, full resync then coalesced incremental changes, windowed and
 * acknowledged. Wire format: sp_sync.h.
 *
 * Shape: a listening socket on the side with the higher address:port (an
 * accepted connection stays "pending" until it has proved the key, so a
 * stranger cannot knock the live one off), a dialing side with backoff, one
 * tick timer for keepalives and dead-peer detection, one "kick" timer that
 * runs the sender's pump outside of the owner's call stack.
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

#define DEFAULT_WINDOW 64
#define DEFAULT_KEEPALIVE_MS 1000
#define DEFAULT_DEAD_MS 3000
#define BATCH_CAP 16384			/* RECORDS payload we aim for */
#define OUT_HIGH (256 * 1024)		/* stop producing above this backlog */
#define READ_BUDGET (1024 * 1024)	/* per readable event, for fairness */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define FRAME_MAX (SP_SYNC_HDR_LEN + SP_SYNC_PAYLOAD_MAX + SP_SYNC_MAC_LEN)

/* A changed object waiting to be sent: one per (kind, id), FIFO. */
struct dirty {
	struct sp_hnode node;
	struct dirty *next;
	uint64_t key;			/* kind << 32 | id */
};

struct conn {
	struct sp_sync *s;
	int fd;
	uint32_t events;
	bool connecting;		/* non-blocking connect in progress */
	bool hello_ok;			/* peer's HELLO verified, keys derived */
	bool up;			/* a frame under the session key arrived */
	bool peer_sender;
	uint8_t my_nonce[SP_SYNC_NONCE_LEN];
	uint8_t peer_nonce[SP_SYNC_NONCE_LEN];
	uint8_t tx_key[SP_SYNC_MAC_LEN];
	uint8_t rx_key[SP_SYNC_MAC_LEN];
	uint64_t tx_seq;		/* last sent */
	uint64_t rx_seq;		/* last received */
	uint64_t acked;			/* peer's cumulative ack */
	bool ack_due;
	uint64_t last_rx_ms, last_tx_ms;
	/* seqs of sent frames that want an ack (the window counts RECORDS) */
	uint64_t *wait;
	size_t wait_head, wait_n, wait_cap;
	size_t records_in_flight;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	uint8_t *in;
	size_t in_len;
};

struct sp_sync {
	struct sp_loop *loop;
	struct sp_sync_config cfg;
	char *key;
	struct sp_sync_callbacks cb;
	bool dialer;
	bool sender;
	int listen_fd;
	struct conn *conn;		/* the live (or dialing) connection */
	struct conn *pending;		/* accepted, not yet proved */
	struct sp_loop_timer *tick, *kick, *redial;
	bool kicked;
	uint32_t backoff_ms;
	/* dirty set */
	struct sp_htab dirty_index;
	struct dirty *dirty_head, **dirty_tail;
	/* full resync, sender side */
	bool resyncing;
	enum sp_sync_kind rs_kind;
	uint32_t rs_cursor;
	bool rs_end_pending;		/* END sent, waiting for its ack */
	uint64_t rs_end_seq;
	uint64_t rs_start_ms;
	uint64_t rx_rs_start_ms;	/* receiver side */
	/* RECORDS frame being filled */
	uint8_t batch[SP_SYNC_HDR_LEN + BATCH_CAP + SP_SYNC_MAC_LEN];
	size_t batch_len;
	struct sp_sync_stats st;
};

static const char *frame_type_name(uint8_t type)
{
	switch (type) {
	case SP_SYNC_F_HELLO: return "hello";
	case SP_SYNC_F_RECORDS: return "records";
	case SP_SYNC_F_RESYNC_BEGIN: return "resync-begin";
	case SP_SYNC_F_RESYNC_END: return "resync-end";
	case SP_SYNC_F_ACK: return "ack";
	case SP_SYNC_F_KEEPALIVE: return "keepalive";
	case SP_SYNC_F_TAKEOVER: return "takeover";
	}
	return "unknown";
}

const char *sp_sync_peer_state_name(enum sp_sync_peer_state state)
{
	switch (state) {
	case SP_SYNC_PEER_DOWN: return "down";
	case SP_SYNC_PEER_CONNECTING: return "connecting";
	case SP_SYNC_PEER_RESYNC: return "resync";
	case SP_SYNC_PEER_UP: return "up";
	}
	return "unknown";
}

/* Peer state */

static void set_peer_state(struct sp_sync *s, enum sp_sync_peer_state state)
{
	if (s->st.peer_state == state)
		return;
	s->st.peer_state = state;
	if (s->cb.peer_state)
		s->cb.peer_state(s->cb.arg, state);
}

static void conn_close(struct conn *c, const char *why);

/* Dirty set */

static uint64_t dirty_hash(uint64_t key)
{
	/* Ids are ours, not chosen by a remote party: a mixer is enough. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key;
}

static struct dirty *dirty_find(struct sp_sync *s, uint64_t key)
{
	uint64_t h = dirty_hash(key);

	for (struct sp_hnode *n = sp_htab_chain(&s->dirty_index, h); n; n = n->next) {
		struct dirty *d = container_of(n, struct dirty, node);

		if (n->hash == h && d->key == key)
			return d;
	}
	return NULL;
}

static void dirty_add(struct sp_sync *s, uint64_t key)
{
	struct dirty *d;

	if (dirty_find(s, key))
		return;	/* coalesced: the latest state goes when its turn comes */
	d = calloc(1, sizeof(*d));
	if (!d) {
		/* Cannot remember it: reconnect, the full resync loses nothing. */
		conn_close(s->conn, "out of memory for the change set");
		return;
	}
	d->key = key;
	sp_htab_insert(&s->dirty_index, &d->node, dirty_hash(key));
	*s->dirty_tail = d;
	s->dirty_tail = &d->next;
	s->st.dirty++;
}

static bool dirty_pop(struct sp_sync *s, uint64_t *key)
{
	struct dirty *d = s->dirty_head;

	if (!d)
		return false;
	s->dirty_head = d->next;
	if (!s->dirty_head)
		s->dirty_tail = &s->dirty_head;
	sp_htab_remove(&s->dirty_index, &d->node);
	*key = d->key;
	free(d);
	s->st.dirty--;
	return true;
}

static void dirty_clear(struct sp_sync *s)
{
	uint64_t key;

	while (dirty_pop(s, &key))
		;
}

/* Connections */

static void pump(struct sp_sync *s);
static void conn_event(struct sp_loop *loop, int fd, uint32_t events, void *arg);

static void kick(struct sp_sync *s)
{
	if (s->kicked)
		return;
	s->kicked = true;
	sp_loop_timer_arm(s->kick, 0);
}

static void conn_set_events(struct conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	c->events = events;
	sp_loop_mod_fd(c->s->loop, c->fd, events);
}

static size_t out_pending(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* Room for n more bytes at the end of the output buffer. */
static uint8_t *out_reserve(struct conn *c, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len < n && c->out_off) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
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
static int conn_flush(struct conn *c)
{
	while (out_pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c, strerror(errno));
			return -1;
		}
		c->out_off += (size_t)n;
	}
	if (c->connecting)
		return 0;
	conn_set_events(c, out_pending(c) ? EPOLLIN | EPOLLOUT : EPOLLIN);
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
static int conn_queue(struct conn *c, uint8_t type, const uint8_t *payload, uint32_t len)
{
	size_t size = SP_SYNC_HDR_LEN + len + SP_SYNC_MAC_LEN;
	uint8_t *p = out_reserve(c, size);
	const uint8_t *key = type == SP_SYNC_F_HELLO ? (const uint8_t *)c->s->key : c->tx_key;
	size_t key_len = type == SP_SYNC_F_HELLO ? strlen(c->s->key) : SP_SYNC_MAC_LEN;
	uint64_t seq = type == SP_SYNC_F_HELLO ? 0 : c->tx_seq + 1;

	if (!p || (wants_ack(type) && wait_push(c, seq << 1 | (type == SP_SYNC_F_RECORDS)) < 0)) {
		conn_close(c, "out of memory");
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

static int send_hello(struct conn *c)
{
	uint8_t payload[SP_SYNC_NONCE_LEN + 1];

	if (getrandom(c->my_nonce, sizeof(c->my_nonce), 0) != (ssize_t)sizeof(c->my_nonce)) {
		conn_close(c, "no random bytes for the nonce");
		return -1;
	}
	memcpy(payload, c->my_nonce, SP_SYNC_NONCE_LEN);
	payload[SP_SYNC_NONCE_LEN] = c->s->sender ? 1 : 0;
	if (conn_queue(c, SP_SYNC_F_HELLO, payload, sizeof(payload)) < 0)
		return -1;
	return conn_flush(c);
}

static struct conn *conn_new(struct sp_sync *s, int fd, bool connecting)
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

static void abort_sending(struct sp_sync *s)
{
	s->resyncing = false;
	s->rs_end_pending = false;
	s->batch_len = 0;
	dirty_clear(s);
}

static void redial_later(struct sp_sync *s)
{
	sp_loop_timer_arm(s->redial, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void conn_close(struct conn *c, const char *why)
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
		abort_sending(s);
		s->st.peer_sender = false;
		/* A failed attempt of the dialer stays "connecting": no flapping
		 * notifications while the peer is away. */
		if (c->up || !s->dialer)
			set_peer_state(s, SP_SYNC_PEER_DOWN);
		if (s->dialer)
			redial_later(s);
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
	conn_close(c, why);
}

static void start_resync(struct sp_sync *s)
{
	struct conn *c = s->conn;

	abort_sending(s);
	s->resyncing = true;
	s->rs_kind = SP_SYNC_BINDING;
	s->rs_cursor = 0;
	s->rs_start_ms = sp_loop_now_ms();
	s->st.resyncs++;
	set_peer_state(s, SP_SYNC_PEER_RESYNC);
	if (conn_queue(c, SP_SYNC_F_RESYNC_BEGIN, NULL, 0) < 0)
		return;
	kick(s);
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
			conn_close(s->conn, "replaced by a new connection");
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
		start_resync(s);
	else
		set_peer_state(s, c->peer_sender ? SP_SYNC_PEER_RESYNC : SP_SYNC_PEER_UP);
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
	return conn_queue(c, SP_SYNC_F_KEEPALIVE, NULL, 0);
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
		set_peer_state(s, SP_SYNC_PEER_UP);
	}
	kick(s);
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
			set_peer_state(s, SP_SYNC_PEER_RESYNC);
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
			set_peer_state(s, SP_SYNC_PEER_UP);
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
		if (conn_queue(c, SP_SYNC_F_ACK, ack, 8) < 0 || conn_flush(c) < 0)
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
			sp_debug("sync: %s seq %llu", frame_type_name(f.type), (unsigned long long)f.seq);
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
static int conn_readable(struct conn *c)
{
	size_t budget = READ_BUDGET;

	while (budget) {
		ssize_t n = recv(c->fd, c->in + c->in_len, FRAME_MAX - c->in_len, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c, strerror(errno));
			return -1;
		}
		if (n == 0) {
			conn_close(c, "closed by the peer");
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
		if (conn_queue(c, SP_SYNC_F_ACK, ack, 8) < 0)
			return -1;
	}
	if (budget == 0)
		kick(c->s);	/* more to read: come back after the others */
	return conn_flush(c);
}

static void conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_close(c, strerror(err));
		return;
	}
	c->connecting = false;
	c->last_rx_ms = sp_loop_now_ms();
	send_hello(c);
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
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && conn_readable(c) < 0)
		return;
	if (events & EPOLLOUT) {
		if (conn_flush(c) < 0)
			return;
		if (c == s->conn)
			pump(s);
	}
}

/* Sending */

static void seal_batch(struct sp_sync *s)
{
	if (!s->batch_len)
		return;
	if (conn_queue(s->conn, SP_SYNC_F_RECORDS, s->batch + SP_SYNC_HDR_LEN,
		       (uint32_t)s->batch_len) < 0)
		return;
	s->batch_len = 0;
}

/* Encode (kind, id) into the batch. in_resync: a vanished object is skipped. */
static void add_record(struct sp_sync *s, enum sp_sync_kind kind, uint32_t id, bool in_resync)
{
	uint8_t *rec = s->batch + SP_SYNC_HDR_LEN + s->batch_len;
	ssize_t n = s->cb.encode(s->cb.arg, kind, id, rec + SP_SYNC_REC_HDR, SP_SYNC_RECORD_MAX);

	if (n < 0 || n > SP_SYNC_RECORD_MAX) {
		s->st.encode_errors++;
		return;
	}
	if (n == 0 && in_resync)
		return;
	rec[0] = (uint8_t)kind;
	sp_sync_le_put(rec + 1, id, 4);
	sp_sync_le_put(rec + 5, (uint64_t)n, 2);
	s->batch_len += SP_SYNC_REC_HDR + (size_t)n;
	s->st.records_sent++;
}

/*
 * Fill the connection while it has room: full resync first (bindings, then
 * dialogs, in id order), then the dirty set in FIFO order.
 */
static void pump(struct sp_sync *s)
{
	struct conn *c = s->conn;
	uint32_t window = s->cfg.window;

	if (!c)
		return;
	if (!c->up || !s->sender)
		goto flush;
	for (;;) {
		uint64_t key;

		if (s->batch_len + SP_SYNC_REC_HDR + SP_SYNC_RECORD_MAX > BATCH_CAP) {
			seal_batch(s);
			if (s->conn != c)
				return;
		}
		if (c->records_in_flight >= window || out_pending(c) >= OUT_HIGH)
			break;
		if (s->resyncing) {
			uint32_t id = s->cb.next_id(s->cb.arg, s->rs_kind, s->rs_cursor);

			if (id == 0 && s->rs_kind == SP_SYNC_BINDING) {
				s->rs_kind = SP_SYNC_DIALOG;
				s->rs_cursor = 0;
			} else if (id == 0) {
				seal_batch(s);
				if (s->conn != c || conn_queue(c, SP_SYNC_F_RESYNC_END, NULL, 0) < 0)
					return;
				s->resyncing = false;
				s->rs_end_pending = true;
				s->rs_end_seq = c->tx_seq;
			} else {
				s->rs_cursor = id;
				add_record(s, s->rs_kind, id, true);
			}
		} else if (dirty_pop(s, &key)) {
			add_record(s, (enum sp_sync_kind)(key >> 32), (uint32_t)key, false);
		} else {
			break;
		}
	}
	seal_batch(s);
	if (s->conn != c)
		return;
flush:
	conn_flush(c);
}

static void kick_fired(struct sp_loop *loop, void *arg)
{
	struct sp_sync *s = arg;

	(void)loop;
	s->kicked = false;
	if (s->conn && !s->conn->connecting)
		conn_readable(s->conn);	/* input left over by the read budget */
	if (s->conn)
		pump(s);
}

/* Connecting */

static int tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void dial(struct sp_sync *s)
{
	struct sockaddr_storage ss;
	struct sp_endpoint from = s->cfg.local;
	socklen_t len;
	int fd, one = 1;

	fd = tcp_socket(s->cfg.peer.family);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* From our address (the peer checks it), any port. */
	from.port = 0;
	len = sp_endpoint_to_sockaddr(&from, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	len = sp_endpoint_to_sockaddr(&s->cfg.peer, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		goto fail;
	s->conn = conn_new(s, fd, true);
	if (!s->conn)
		goto fail;
	set_peer_state(s, SP_SYNC_PEER_CONNECTING);
	return;
fail:
	sp_debug("sync: dial: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	redial_later(s);
}

static void redial_fired(struct sp_loop *loop, void *arg)
{
	struct sp_sync *s = arg;

	(void)loop;
	if (!s->conn)
		dial(s);
}

static void accept_event(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_sync *s = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sp_endpoint from;
	struct conn *c;
	int cfd, one = 1;

	(void)loop;
	(void)events;
	cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (sp_endpoint_from_sockaddr(&from, (struct sockaddr *)&ss, len) < 0 ||
	    !sp_endpoint_same_addr(&from, &s->cfg.peer)) {
		char buf[SP_ENDPOINT_STRLEN];

		s->st.auth_failures++;
		sp_warn("sync: refusing a connection from %s (not the peer)",
			sp_endpoint_format(&from, buf, sizeof(buf)));
		close(cfd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->pending)
		conn_close(s->pending, "replaced by a newer attempt");
	c = conn_new(s, cfd, false);
	if (!c) {
		close(cfd);
		return;
	}
	/* No state change: a stranger's attempt is not news. */
	s->pending = c;
	send_hello(c);
}

/* Keepalives and dead peers */

static void tick_conn(struct conn *c, uint64_t now)
{
	struct sp_sync *s = c->s;

	if (now - c->last_rx_ms >= s->cfg.dead_ms) {
		conn_close(c, "peer silent");
		return;
	}
	if (c->hello_ok && !c->connecting && now - c->last_tx_ms >= s->cfg.keepalive_ms) {
		if (conn_queue(c, SP_SYNC_F_KEEPALIVE, NULL, 0) < 0)
			return;
		conn_flush(c);
	}
}

static void tick_fired(struct sp_loop *loop, void *arg)
{
	struct sp_sync *s = arg;
	uint64_t now = sp_loop_now_ms();
	uint32_t period = s->cfg.keepalive_ms / 2;

	(void)loop;
	if (s->pending)
		tick_conn(s->pending, now);
	if (s->conn)
		tick_conn(s->conn, now);
	sp_loop_timer_arm(s->tick, period ? period : 1);
}

/* API */

static int endpoint_cmp(const struct sp_endpoint *a, const struct sp_endpoint *b)
{
	int r = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	if (r)
		return r;
	return a->port < b->port ? -1 : a->port > b->port;
}

struct sp_sync *sp_sync_new(struct sp_loop *loop, const struct sp_sync_config *cfg,
			    const struct sp_sync_callbacks *cb, struct sp_error *e)
{
	struct sp_sync *s;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (!cfg->key || !cfg->key[0]) {
		sp_error_set(e, "sync: a key is required");
		return NULL;
	}
	if (cfg->local.family == 0 || cfg->local.family != cfg->peer.family ||
	    cfg->local.port == 0 || cfg->peer.port == 0) {
		sp_error_set(e, "sync: local and peer need an address of one family and a port");
		return NULL;
	}
	if (endpoint_cmp(&cfg->local, &cfg->peer) == 0) {
		sp_error_set(e, "sync: local and peer are the same address:port");
		return NULL;
	}
	if (!cb->encode || !cb->next_id || !cb->apply) {
		sp_error_set(e, "sync: encode, next_id and apply callbacks are required");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->key = strdup(cfg->key)) || sp_htab_init(&s->dirty_index, 1024) < 0) {
		if (s)
			free(s->key);
		free(s);
		sp_error_set(e, "sync: out of memory");
		return NULL;
	}
	s->loop = loop;
	s->cfg = *cfg;
	s->cfg.key = s->key;
	if (!s->cfg.window)
		s->cfg.window = DEFAULT_WINDOW;
	if (!s->cfg.keepalive_ms)
		s->cfg.keepalive_ms = DEFAULT_KEEPALIVE_MS;
	if (!s->cfg.dead_ms)
		s->cfg.dead_ms = DEFAULT_DEAD_MS;
	s->cb = *cb;
	s->listen_fd = -1;
	s->dirty_tail = &s->dirty_head;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->dialer = endpoint_cmp(&cfg->local, &cfg->peer) < 0;
	s->tick = sp_loop_timer_new(loop, tick_fired, s);
	s->kick = sp_loop_timer_new(loop, kick_fired, s);
	s->redial = sp_loop_timer_new(loop, redial_fired, s);
	if (!s->tick || !s->kick || !s->redial) {
		sp_error_set(e, "sync: cannot create timers: %s", strerror(errno));
		goto fail;
	}
	if (!s->dialer) {
		s->listen_fd = tcp_socket(cfg->local.family);
		if (s->listen_fd < 0)
			goto sock_fail;
		setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		len = sp_endpoint_to_sockaddr(&cfg->local, &ss);
		if (bind(s->listen_fd, (struct sockaddr *)&ss, len) < 0 ||
		    listen(s->listen_fd, 4) < 0 ||
		    sp_loop_add_fd(loop, s->listen_fd, EPOLLIN, accept_event, s) < 0)
			goto sock_fail;
	} else {
		sp_loop_timer_arm(s->redial, 0);
	}
	sp_loop_timer_arm(s->tick, s->cfg.keepalive_ms / 2 ? s->cfg.keepalive_ms / 2 : 1);
	return s;
sock_fail: {
		char buf[SP_ENDPOINT_STRLEN];

		sp_error_set(e, "sync: cannot listen on %s: %s",
			     sp_endpoint_format(&cfg->local, buf, sizeof(buf)), strerror(errno));
	}
fail:
	sp_sync_free(s);
	return NULL;
}

static void conn_free_quiet(struct sp_sync *s, struct conn *c)
{
	sp_loop_del_fd(s->loop, c->fd);
	close(c->fd);
	free(c->wait);
	free(c->out);
	free(c->in);
	free(c);
}

void sp_sync_free(struct sp_sync *s)
{
	if (!s)
		return;
	if (s->conn)
		conn_free_quiet(s, s->conn);
	if (s->pending)
		conn_free_quiet(s, s->pending);
	if (s->listen_fd >= 0) {
		sp_loop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	sp_loop_timer_free(s->tick);
	sp_loop_timer_free(s->kick);
	sp_loop_timer_free(s->redial);
	dirty_clear(s);
	sp_htab_fini(&s->dirty_index);
	free(s->key);
	free(s);
}

void sp_sync_set_sender(struct sp_sync *s, bool sender)
{
	if (s->sender == sender)
		return;
	s->sender = sender;
	abort_sending(s);
	if (!s->conn || !s->conn->up)
		return;
	if (sender)
		start_resync(s);
	else
		set_peer_state(s, SP_SYNC_PEER_UP);
}

void sp_sync_mark(struct sp_sync *s, enum sp_sync_kind kind, uint32_t id)
{
	/*
	 * Without a connection there is nothing to remember: the next connect
	 * starts with a full resync. During a resync, what the walk has not
	 * reached yet goes with the walk.
	 */
	if (!s->sender || !s->conn || !s->conn->up || id == 0)
		return;
	if (s->resyncing && (kind > s->rs_kind || (kind == s->rs_kind && id > s->rs_cursor)))
		return;
	dirty_add(s, (uint64_t)kind << 32 | id);
	kick(s);
}

int sp_sync_request_takeover(struct sp_sync *s)
{
	if (!s->conn || !s->conn->up)
		return -ENOTCONN;
	/* What the window lets out now goes before the hand-over. */
	pump(s);
	if (!s->conn)
		return -ENOTCONN;
	if (conn_queue(s->conn, SP_SYNC_F_TAKEOVER, NULL, 0) < 0)
		return -ENOTCONN;
	conn_flush(s->conn);
	return 0;
}

void sp_sync_get_stats(const struct sp_sync *s, struct sp_sync_stats *out)
{
	*out = s->st;
}
