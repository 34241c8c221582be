/* The state sync's wire format (sp_sync_wire.c): frames, session keys,
 * records, and the helpers the channel (sp_sync.c) builds and checks frames
 * with. Exposed through sp_sync.h for tests and tools. */
#ifndef SP_SYNC_WIRE_H
#define SP_SYNC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_SYNC_VERSION 1
#define SP_SYNC_RECORD_MAX 4096	/* largest encoded object */

enum sp_sync_kind {
	SP_SYNC_BINDING = 1,
	SP_SYNC_DIALOG = 2,
};
#define SP_SYNC_KINDS 2

/*
 * Wire format (exposed for tests and tools). Every frame:
 *   u32 magic, u8 version, u8 type, u16 0, u64 seq, u32 payload length,
 *   payload, 32-byte HMAC-SHA256 over everything before it.
 * Little-endian. Each side first sends HELLO (seq 0, payload: 16-byte nonce,
 * u8 flags, bit 0 = "I send state"), MAC'd with the configured key; every
 * later frame is MAC'd with the session key of its direction,
 * HMAC(key, "sp-sync 1" | sender's nonce | receiver's nonce), and carries
 * seq = previous + 1. After a HELLO each side sends a KEEPALIVE at once: a
 * connection counts as up when a frame under the session key has arrived.
 * RECORDS payload: repeated { u8 kind, u32 id, u16 length, record }; a length
 * of 0 is a delete. ACK payload: u64 highest seq received (cumulative; sent
 * once per batch of input that held RECORDS, RESYNC_* or TAKEOVER frames,
 * which are the only ones the window counts).
 */
#define SP_SYNC_MAGIC 0x59535053u	/* "SPSY" on the wire */
#define SP_SYNC_HDR_LEN 20
#define SP_SYNC_MAC_LEN 32
#define SP_SYNC_NONCE_LEN 16
#define SP_SYNC_PAYLOAD_MAX 65536
enum sp_sync_frame_type {
	SP_SYNC_F_HELLO = 1,
	SP_SYNC_F_RECORDS = 2,
	SP_SYNC_F_RESYNC_BEGIN = 3,
	SP_SYNC_F_RESYNC_END = 4,
	SP_SYNC_F_ACK = 5,
	SP_SYNC_F_KEEPALIVE = 6,
	SP_SYNC_F_TAKEOVER = 7,
};
/* A frame's header fields, decoded and checked (magic, version, reserved
 * bits, payload length); payload and mac point into the buffer. */
struct sp_sync_frame {
	uint8_t type;
	uint64_t seq;
	const uint8_t *payload;
	uint32_t len;
	const uint8_t *mac;
	size_t size;			/* header + payload + MAC */
};
/* The frame at the start of buf: 1 (f filled), 0 (not all there yet), or -1
 * (malformed: *why says how; the connection is to be closed). The MAC is
 * not checked here. */
int sp_sync_frame_parse(const uint8_t *buf, size_t avail, struct sp_sync_frame *f,
			const char **why);
/*
 * Apply a RECORDS payload (already authenticated): every record is checked
 * first and nothing is applied unless all are well-formed (-EBADMSG);
 * then apply(arg, kind, id, record, length) for each in order (length 0: a
 * delete), counting them into *records (may be NULL). Returns how many
 * apply calls failed.
 */
int sp_sync_adopt(const uint8_t *payload, size_t len,
		  int (*apply)(void *arg, enum sp_sync_kind kind, uint32_t id,
			       const uint8_t *data, size_t len),
		  void *arg, uint64_t *records);
/* Session key of the direction from -> to. */
void sp_sync_session_key(const char *key, const uint8_t from_nonce[SP_SYNC_NONCE_LEN],
			 const uint8_t to_nonce[SP_SYNC_NONCE_LEN], uint8_t out[SP_SYNC_MAC_LEN]);
/* Build a whole frame into out (room for HDR + len + MAC); returns its size. */
size_t sp_sync_frame_build(uint8_t *out, uint8_t version, uint8_t type, uint64_t seq,
			   const uint8_t *payload, uint32_t len, const uint8_t *mac_key,
			   size_t mac_key_len);

#define SP_SYNC_REC_HDR 7 /* a record: u8 kind, u32 id, u16 length */

static inline void sp_sync_le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t sp_sync_le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* HMAC-SHA256 of data under key (all zero if it cannot be computed: it
 * then verifies against nothing). */
void sp_sync_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
		 uint8_t out[SP_SYNC_MAC_LEN]);
/* Whether a whole RECORDS payload is well formed, before any of it applies. */
bool sp_sync_records_valid(const uint8_t *p, size_t len);

#endif
