/* The state sync's wire format (SPEC §5, sp_sync.h): frames (header,
 * payload, HMAC-SHA256), the session keys, the records of a RECORDS payload.
 * Pure functions, apart from the channel (sp_sync.c) that sends and receives
 * them. */
#include "config.h"

#include <errno.h>
#include <nettle/hmac.h>
#include <string.h>

#include "sp_sync_wire.h"

void sp_sync_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
		uint8_t out[SP_SYNC_MAC_LEN])
{
	/* Nettle (LGPL-3+ or GPL-2+), not OpenSSL 3 (Apache-2.0, which the
	 * GPL-2 of libnftables and of sigproxy does not admit) */
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, key_len, key);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, SP_SYNC_MAC_LEN, out);
}

void sp_sync_session_key(const char *key, const uint8_t from_nonce[SP_SYNC_NONCE_LEN],
			 const uint8_t to_nonce[SP_SYNC_NONCE_LEN], uint8_t out[SP_SYNC_MAC_LEN])
{
	static const char label[] = "sp-sync 1";
	uint8_t msg[sizeof(label) - 1 + 2 * SP_SYNC_NONCE_LEN];

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, from_nonce, SP_SYNC_NONCE_LEN);
	memcpy(msg + sizeof(label) - 1 + SP_SYNC_NONCE_LEN, to_nonce, SP_SYNC_NONCE_LEN);
	sp_sync_mac((const uint8_t *)key, strlen(key), msg, sizeof(msg), out);
}

static void header_put(uint8_t *p, uint8_t version, uint8_t type, uint64_t seq, uint32_t len)
{
	sp_sync_le_put(p, SP_SYNC_MAGIC, 4);
	p[4] = version;
	p[5] = type;
	sp_sync_le_put(p + 6, 0, 2);
	sp_sync_le_put(p + 8, seq, 8);
	sp_sync_le_put(p + 16, len, 4);
}

size_t sp_sync_frame_build(uint8_t *out, uint8_t version, uint8_t type, uint64_t seq,
			   const uint8_t *payload, uint32_t len, const uint8_t *mac_key,
			   size_t mac_key_len)
{
	header_put(out, version, type, seq, len);
	if (len && payload != out + SP_SYNC_HDR_LEN)
		memmove(out + SP_SYNC_HDR_LEN, payload, len);
	sp_sync_mac(mac_key, mac_key_len, out, SP_SYNC_HDR_LEN + len, out + SP_SYNC_HDR_LEN + len);
	return SP_SYNC_HDR_LEN + len + SP_SYNC_MAC_LEN;
}

/* Validate a whole RECORDS payload before applying any of it. */
bool sp_sync_records_valid(const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		uint8_t kind;
		uint32_t id, rlen;

		if (len - off < SP_SYNC_REC_HDR)
			return false;
		kind = p[off];
		id = (uint32_t)sp_sync_le_get(p + off + 1, 4);
		rlen = (uint32_t)sp_sync_le_get(p + off + 5, 2);
		if ((kind != SP_SYNC_BINDING && kind != SP_SYNC_DIALOG) || id == 0 ||
		    rlen > SP_SYNC_RECORD_MAX || len - off - SP_SYNC_REC_HDR < rlen)
			return false;
		off += SP_SYNC_REC_HDR + rlen;
	}
	return true;
}

int sp_sync_adopt(const uint8_t *p, size_t len,
		  int (*apply)(void *arg, enum sp_sync_kind kind, uint32_t id,
			       const uint8_t *data, size_t len),
		  void *arg, uint64_t *records)
{
	size_t off = 0;
	int errors = 0;

	if (!sp_sync_records_valid(p, len))
		return -EBADMSG;
	while (off < len) {
		enum sp_sync_kind kind = (enum sp_sync_kind)p[off];
		uint32_t id = (uint32_t)sp_sync_le_get(p + off + 1, 4);
		uint32_t rlen = (uint32_t)sp_sync_le_get(p + off + 5, 2);

		if (records)
			(*records)++;
		if (apply && apply(arg, kind, id, p + off + SP_SYNC_REC_HDR, rlen) < 0)
			errors++;
		off += SP_SYNC_REC_HDR + rlen;
	}
	return errors;
}

int sp_sync_frame_parse(const uint8_t *buf, size_t avail, struct sp_sync_frame *f,
			const char **why)
{
	uint32_t len;

	if (avail < SP_SYNC_HDR_LEN)
		return 0;
	len = (uint32_t)sp_sync_le_get(buf + 16, 4);
	if (sp_sync_le_get(buf, 4) != SP_SYNC_MAGIC) {
		*why = "bad magic";
		return -1;
	}
	if (buf[4] != SP_SYNC_VERSION) {
		*why = "unsupported version";
		return -1;
	}
	if (sp_sync_le_get(buf + 6, 2) != 0 || len > SP_SYNC_PAYLOAD_MAX) {
		*why = "malformed header";
		return -1;
	}
	if (avail < SP_SYNC_HDR_LEN + (size_t)len + SP_SYNC_MAC_LEN)
		return 0;
	f->type = buf[5];
	f->seq = sp_sync_le_get(buf + 8, 8);
	f->payload = buf + SP_SYNC_HDR_LEN;
	f->len = len;
	f->mac = buf + SP_SYNC_HDR_LEN + len;
	f->size = SP_SYNC_HDR_LEN + (size_t)len + SP_SYNC_MAC_LEN;
	return 1;
}
