/*
 * State sync between the two SPs of an active-standby pair (SPEC §5).
 *
 * One TCP connection between the redundancy local-address:port and
 * peer-address:port (the side with the lower address:port dials, the other
 * accepts; whoever holds the active role sends state, the other applies it).
 * The wire format is versioned and every frame carries a sequence number and
 * an HMAC-SHA256 with the configured key (bound to nonces both sides exchange
 * at connect, so a recorded frame cannot be replayed on another connection);
 * a frame that fails is counted and closes the connection.
 *
 * The sync layer does not know what a binding or a dialog is: the owner (the
 * engine) marks objects as changed by (kind, id) and encodes/applies them
 * through callbacks. Changes are coalesced in a dirty set (one entry per
 * object however often it changes, the latest state sent), so memory stays
 * bounded by the number of objects when the peer is slow or gone; a window of
 * unacknowledged frames limits what is in flight. On every (re)connect the
 * sender streams a full resync (walking the ids through next_id), then
 * incremental changes.
 *
 * Runs on the daemon's loop (non-blocking sockets, loop timers), not
 * thread-safe.
 */
#ifndef SP_SYNC_H
#define SP_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sp_endpoint.h"
#include "sp_error.h"
#include "sp_sync_wire.h" /* the wire format, the record kinds */

struct sp_loop;
struct sp_sync;

enum sp_sync_peer_state {
	SP_SYNC_PEER_DOWN,	/* never connected, or lost */
	SP_SYNC_PEER_CONNECTING,
	SP_SYNC_PEER_RESYNC,	/* connected, full resync in progress */
	SP_SYNC_PEER_UP,	/* connected, incremental */
};

struct sp_sync_config {
	struct sp_endpoint local;	/* address:port to listen on / dial from */
	struct sp_endpoint peer;
	const char *key;		/* shared secret; must not be empty */
	uint32_t window;		/* unacknowledged frames in flight; 0: default */
	uint32_t keepalive_ms;		/* 0: default (1000) */
	uint32_t dead_ms;		/* silence before the peer is lost; 0: default (3000) */
};

struct sp_sync_callbacks {
	/*
	 * Sender side. Encode the current state of (kind, id) into buf (at most
	 * cap bytes). Returns the length, 0 when the object no longer exists
	 * (a delete is sent), or -1 on error (the object is skipped and counted).
	 */
	ssize_t (*encode)(void *arg, enum sp_sync_kind kind, uint32_t id, uint8_t *buf, size_t cap);
	/* Sender side, full resync: the first id of kind greater than after; 0: none. */
	uint32_t (*next_id)(void *arg, enum sp_sync_kind kind, uint32_t after);
	/*
	 * Receiver side. Apply a record: len 0 means delete. Returns 0 or a
	 * negative errno (counted as an apply error; the stream goes on).
	 * Records of one resync come bindings first, then dialogs.
	 */
	int (*apply)(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data, size_t len);
	/* Receiver side: a full resync starts / has ended. At the end the owner
	 * removes every object the resync did not carry. */
	void (*resync_begin)(void *arg);
	void (*resync_end)(void *arg);
	/* Peer reachability changed (for logs and notifications). */
	void (*peer_state)(void *arg, enum sp_sync_peer_state state);
	/* The peer asks this side to take the active role (its operator ran a
	 * switchover); the peer has already become standby. May be NULL. */
	void (*takeover)(void *arg);
	void *arg;
};

struct sp_sync_stats {
	enum sp_sync_peer_state peer_state;
	uint64_t last_seq_sent;		/* these three: of the current connection */
	uint64_t last_seq_acked;
	uint64_t last_seq_received;
	uint64_t records_sent;
	uint64_t records_received;
	uint64_t apply_errors;
	uint64_t encode_errors;
	uint64_t resyncs;		/* full resyncs sent or received */
	uint64_t auth_failures;		/* bad HMAC, bad magic/version, garbage */
	uint64_t connects;
	uint64_t disconnects;
	uint64_t dirty;			/* objects waiting to be sent */
	uint64_t last_resync_ms;	/* duration of the last full resync */
	bool peer_sender;		/* the peer said it sends state (HELLO flag or a
					 * resync it started; cleared by its takeover
					 * request): both sending is a split brain */
};

/* Starts listening/dialing at once. NULL and e filled on error. Not to be
 * freed from within its own callbacks. */
struct sp_sync *sp_sync_new(struct sp_loop *loop, const struct sp_sync_config *cfg,
			    const struct sp_sync_callbacks *cb, struct sp_error *e);
void sp_sync_free(struct sp_sync *s);
/* true: this side sends state (active); false: it applies what it gets. A
 * change while connected restarts the exchange with a full resync. */
void sp_sync_set_sender(struct sp_sync *s, bool sender);
/* Sender: (kind, id) changed or was deleted. Cheap; coalesced. Ignored when
 * this side is not the sender. */
void sp_sync_mark(struct sp_sync *s, enum sp_sync_kind kind, uint32_t id);
/* Ask the peer to become active (authenticated control frame). 0, or
 * -ENOTCONN when the peer is not connected. */
int sp_sync_request_takeover(struct sp_sync *s);
void sp_sync_get_stats(const struct sp_sync *s, struct sp_sync_stats *out);
const char *sp_sync_peer_state_name(enum sp_sync_peer_state state);

#endif
