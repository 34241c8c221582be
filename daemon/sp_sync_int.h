/* What the state-sync channel (sp_sync.c: the dirty set, the sender's pump,
 * dialing, accepting, timers, the API) and its connection (sp_sync_conn.c:
 * buffers, window, frames) share; nothing else includes it. */
#ifndef SP_SYNC_INT_H
#define SP_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_hash.h"
#include "sp_loop.h"
/* after sp_sync.h (not included here: it and sp_sync.c are one module) */
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

/* sp_sync.c */
const char *sp_sync_frame_type_name(uint8_t type);
void sp_sync_set_peer_state(struct sp_sync *s, enum sp_sync_peer_state state);
void sp_sync_dirty_clear(struct sp_sync *s);
void sp_sync_kick(struct sp_sync *s);
void sp_sync_pump(struct sp_sync *s);
void sp_sync_seal_batch(struct sp_sync *s);

/* sp_sync_conn.c */
size_t sp_sync_out_pending(const struct conn *c);
int sp_sync_conn_flush(struct conn *c);
int sp_sync_conn_queue(struct conn *c, uint8_t type, const uint8_t *payload, uint32_t len);
int sp_sync_send_hello(struct conn *c);
/* Reads and processes what arrived, up to a budget; -1: the connection was closed. */
int sp_sync_conn_readable(struct conn *c);
struct conn *sp_sync_conn_new(struct sp_sync *s, int fd, bool connecting);
void sp_sync_abort_sending(struct sp_sync *s);
void sp_sync_redial_later(struct sp_sync *s);
void sp_sync_conn_close(struct conn *c, const char *why);
void sp_sync_start_resync(struct sp_sync *s);

#endif
