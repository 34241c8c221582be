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
#include "sp_sync_int.h"


const char *sp_sync_frame_type_name(uint8_t type)
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

void sp_sync_set_peer_state(struct sp_sync *s, enum sp_sync_peer_state state)
{
	if (s->st.peer_state == state)
		return;
	s->st.peer_state = state;
	if (s->cb.peer_state)
		s->cb.peer_state(s->cb.arg, state);
}


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
		sp_sync_conn_close(s->conn, "out of memory for the change set");
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

void sp_sync_dirty_clear(struct sp_sync *s)
{
	uint64_t key;

	while (dirty_pop(s, &key))
		;
}

/* Connections */


void sp_sync_kick(struct sp_sync *s)
{
	if (s->kicked)
		return;
	s->kicked = true;
	sp_loop_timer_arm(s->kick, 0);
}

void sp_sync_seal_batch(struct sp_sync *s)
{
	if (!s->batch_len)
		return;
	if (sp_sync_conn_queue(s->conn, SP_SYNC_F_RECORDS, s->batch + SP_SYNC_HDR_LEN,
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
void sp_sync_pump(struct sp_sync *s)
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
			sp_sync_seal_batch(s);
			if (s->conn != c)
				return;
		}
		if (c->records_in_flight >= window || sp_sync_out_pending(c) >= OUT_HIGH)
			break;
		if (s->resyncing) {
			uint32_t id = s->cb.next_id(s->cb.arg, s->rs_kind, s->rs_cursor);

			if (id == 0 && s->rs_kind == SP_SYNC_BINDING) {
				s->rs_kind = SP_SYNC_DIALOG;
				s->rs_cursor = 0;
			} else if (id == 0) {
				sp_sync_seal_batch(s);
				if (s->conn != c || sp_sync_conn_queue(c, SP_SYNC_F_RESYNC_END, NULL, 0) < 0)
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
	sp_sync_seal_batch(s);
	if (s->conn != c)
		return;
flush:
	sp_sync_conn_flush(c);
}

static void kick_fired(struct sp_loop *loop, void *arg)
{
	struct sp_sync *s = arg;

	(void)loop;
	s->kicked = false;
	if (s->conn && !s->conn->connecting)
		sp_sync_conn_readable(s->conn);	/* input left over by the read budget */
	if (s->conn)
		sp_sync_pump(s);
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
	s->conn = sp_sync_conn_new(s, fd, true);
	if (!s->conn)
		goto fail;
	sp_sync_set_peer_state(s, SP_SYNC_PEER_CONNECTING);
	return;
fail:
	sp_debug("sync: dial: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	sp_sync_redial_later(s);
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
		sp_sync_conn_close(s->pending, "replaced by a newer attempt");
	c = sp_sync_conn_new(s, cfd, false);
	if (!c) {
		close(cfd);
		return;
	}
	/* No state change: a stranger's attempt is not news. */
	s->pending = c;
	sp_sync_send_hello(c);
}

/* Keepalives and dead peers */

static void tick_conn(struct conn *c, uint64_t now)
{
	struct sp_sync *s = c->s;

	if (now - c->last_rx_ms >= s->cfg.dead_ms) {
		sp_sync_conn_close(c, "peer silent");
		return;
	}
	if (c->hello_ok && !c->connecting && now - c->last_tx_ms >= s->cfg.keepalive_ms) {
		if (sp_sync_conn_queue(c, SP_SYNC_F_KEEPALIVE, NULL, 0) < 0)
			return;
		sp_sync_conn_flush(c);
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
	sp_sync_dirty_clear(s);
	sp_htab_fini(&s->dirty_index);
	free(s->key);
	free(s);
}

void sp_sync_set_sender(struct sp_sync *s, bool sender)
{
	if (s->sender == sender)
		return;
	s->sender = sender;
	sp_sync_abort_sending(s);
	if (!s->conn || !s->conn->up)
		return;
	if (sender)
		sp_sync_start_resync(s);
	else
		sp_sync_set_peer_state(s, SP_SYNC_PEER_UP);
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
	sp_sync_kick(s);
}

int sp_sync_request_takeover(struct sp_sync *s)
{
	if (!s->conn || !s->conn->up)
		return -ENOTCONN;
	/* What the window lets out now goes before the hand-over. */
	sp_sync_pump(s);
	if (!s->conn)
		return -ENOTCONN;
	if (sp_sync_conn_queue(s->conn, SP_SYNC_F_TAKEOVER, NULL, 0) < 0)
		return -ENOTCONN;
	sp_sync_conn_flush(s->conn);
	return 0;
}

void sp_sync_get_stats(const struct sp_sync *s, struct sp_sync_stats *out)
{
	*out = s->st;
}
