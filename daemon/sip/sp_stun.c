#include "config.h"
#include "sp_stun.h"

#include <string.h>
#include <sys/socket.h>

/* RFC 5389 §18.2 attribute types; 0x0000-0x7FFF are comprehension-required. */
#define STUN_ATTR_MAPPED_ADDRESS 0x0001
#define STUN_ATTR_USERNAME 0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define STUN_ATTR_ERROR_CODE 0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define STUN_ATTR_REALM 0x0014
#define STUN_ATTR_NONCE 0x0015
#define STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define STUN_ATTR_FINGERPRINT 0x8028
#define STUN_FINGERPRINT_XOR 0x5354554Eu

#define STUN_METHOD_BINDING 0x001
enum { STUN_CLASS_REQUEST = 0, STUN_CLASS_INDICATION = 1, STUN_CLASS_SUCCESS = 2, STUN_CLASS_ERROR = 3 };

/* At most this many unknown attributes are listed in a 420: enough for any
 * real client, and it bounds the answer. */
#define STUN_UNKNOWN_MAX 8

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The message type packs a 12-bit method and a 2-bit class (RFC 5389 §6). */
static unsigned stun_class(uint16_t type)
{
	return ((type >> 4) & 1u) | ((type >> 7) & 2u);
}

static unsigned stun_method(uint16_t type)
{
	return (type & 0x000Fu) | ((type >> 1) & 0x0070u) | ((type >> 2) & 0x0F80u);
}

static uint16_t stun_type(unsigned method, unsigned cls)
{
	return (uint16_t)((method & 0x000Fu) | ((method & 0x0070u) << 1) | ((method & 0x0F80u) << 2) |
			  ((cls & 1u) << 4) | ((cls & 2u) << 7));
}

uint32_t sp_stun_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xFFFFFFFFu;

	/* bitwise: a keep-alive is 20-28 bytes, a table buys nothing */
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xFFFFFFFFu;
}

bool sp_stun_is_stun(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (len < SP_STUN_HEADER_LEN || (p[0] & 0xC0) != 0)
		return false;
	if (get32(p + 4) != SP_STUN_MAGIC_COOKIE)
		return false;
	return get16(p + 2) == len - SP_STUN_HEADER_LEN && (len & 3) == 0;
}

/* Known and understood (or deliberately ignored: the SP uses no
 * credentials, RFC 5389 §10) comprehension-required attributes. */
static bool stun_attr_known(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		return true;
	default:
		return false;
	}
}

struct stun_scan {
	bool fingerprint;	/* present and correct */
	size_t n_unknown;
	uint16_t unknown[STUN_UNKNOWN_MAX];
	const uint8_t *xor_mapped, *mapped; /* attribute values */
	uint16_t xor_mapped_len, mapped_len;
};

/* Walks the attributes. -1 with *reason when the message must be dropped
 * silently: an attribute running past the end, or a FINGERPRINT that is
 * not last or does not match (RFC 5389 §7.3, §15.5). */
static int stun_scan(const uint8_t *m, size_t len, struct stun_scan *s, const char **reason)
{
	size_t off = SP_STUN_HEADER_LEN;
	bool after_integrity = false;

	memset(s, 0, sizeof(*s));
	while (off < len) {
		uint16_t type, alen;
		size_t padded;

		if (len - off < 4) {
			*reason = "truncated attribute header";
			return -1;
		}
		type = get16(m + off);
		alen = get16(m + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4) {
			*reason = "attribute longer than the message";
			return -1;
		}
		if (type == STUN_ATTR_FINGERPRINT) {
			if (alen != 4 || off + 8 != len) {
				*reason = "FINGERPRINT not last or of a wrong length";
				return -1;
			}
			if ((sp_stun_crc32(m, off) ^ STUN_FINGERPRINT_XOR) != get32(m + off + 4)) {
				*reason = "FINGERPRINT does not match";
				return -1;
			}
			s->fingerprint = true;
		} else if (after_integrity) {
			/* only FINGERPRINT may follow MESSAGE-INTEGRITY: the rest is
			 * ignored (RFC 5389 §15.4) */
		} else if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
			after_integrity = true;
		} else if (type == STUN_ATTR_XOR_MAPPED_ADDRESS && !s->xor_mapped) {
			s->xor_mapped = m + off + 4;
			s->xor_mapped_len = alen;
		} else if (type == STUN_ATTR_MAPPED_ADDRESS && !s->mapped) {
			s->mapped = m + off + 4;
			s->mapped_len = alen;
		} else if (type < 0x8000 && !stun_attr_known(type) && s->n_unknown < STUN_UNKNOWN_MAX) {
			s->unknown[s->n_unknown++] = type;
		}
		off += 4 + padded;
	}
	return 0;
}

/* Header of an answer to req with `type`; the length is filled in later. */
static size_t stun_put_header(uint8_t *out, const uint8_t *req, uint16_t type)
{
	put16(out, type);
	put16(out + 2, 0);
	memcpy(out + 4, req + 4, 16); /* magic cookie and transaction ID */
	return SP_STUN_HEADER_LEN;
}

static size_t stun_put_xor_mapped(uint8_t *out, size_t o, const uint8_t *req, const struct sp_endpoint *from)
{
	uint8_t key[16];
	size_t alen = from->family == AF_INET6 ? 20 : 8;

	memcpy(key, req + 4, 16); /* cookie, then the transaction ID (IPv6) */
	put16(out + o, STUN_ATTR_XOR_MAPPED_ADDRESS);
	put16(out + o + 2, (uint16_t)alen);
	out[o + 4] = 0;
	out[o + 5] = from->family == AF_INET6 ? 0x02 : 0x01;
	put16(out + o + 6, (uint16_t)(from->port ^ (SP_STUN_MAGIC_COOKIE >> 16)));
	for (size_t i = 0; i < alen - 4; i++)
		out[o + 8 + i] = from->addr.bytes[i] ^ key[i];
	return o + 4 + alen;
}

static size_t stun_put_error(uint8_t *out, size_t o, unsigned code, const char *phrase)
{
	size_t pl = strlen(phrase), alen = 4 + pl;

	put16(out + o, STUN_ATTR_ERROR_CODE);
	put16(out + o + 2, (uint16_t)alen);
	out[o + 4] = 0;
	out[o + 5] = 0;
	out[o + 6] = (uint8_t)(code / 100);
	out[o + 7] = (uint8_t)(code % 100);
	memcpy(out + o + 8, phrase, pl);
	o += 4 + alen;
	while (o & 3)
		out[o++] = 0;
	return o;
}

static size_t stun_put_unknown(uint8_t *out, size_t o, const struct stun_scan *s)
{
	put16(out + o, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	put16(out + o + 2, (uint16_t)(2 * s->n_unknown));
	o += 4;
	for (size_t i = 0; i < s->n_unknown; i++, o += 2)
		put16(out + o, s->unknown[i]);
	while (o & 3)
		out[o++] = 0;
	return o;
}

/* Sets the length, then appends FINGERPRINT over everything before it with
 * the length already counting it (RFC 5389 §15.5). */
static size_t stun_finish(uint8_t *out, size_t o, bool fingerprint)
{
	if (fingerprint) {
		put16(out + 2, (uint16_t)(o + 8 - SP_STUN_HEADER_LEN));
		put16(out + o, STUN_ATTR_FINGERPRINT);
		put16(out + o + 2, 4);
		put32(out + o + 4, sp_stun_crc32(out, o) ^ STUN_FINGERPRINT_XOR);
		return o + 8;
	}
	put16(out + 2, (uint16_t)(o - SP_STUN_HEADER_LEN));
	return o;
}

enum sp_stun_result sp_stun_answer(const void *req, size_t len, const struct sp_endpoint *from,
				   uint8_t *out, size_t *out_len, const char **reason)
{
	const uint8_t *m = req;
	const char *why = NULL;
	struct stun_scan s;
	uint16_t type;
	size_t o;

	if (!reason)
		reason = &why;
	*out_len = 0;
	if (!sp_stun_is_stun(req, len)) {
		*reason = "not a STUN message";
		return SP_STUN_IGNORED;
	}
	type = get16(m);
	if (stun_class(type) != STUN_CLASS_REQUEST) {
		/* indications (ICE's keep-alive) want no answer; responses are
		 * not for a server */
		if (stun_class(type) == STUN_CLASS_INDICATION) {
			*reason = "indication";
			return SP_STUN_INDICATION;
		}
		*reason = "a response";
		return SP_STUN_IGNORED;
	}
	if (stun_scan(m, len, &s, reason) < 0)
		return SP_STUN_IGNORED;
	if (stun_method(type) != STUN_METHOD_BINDING) {
		o = stun_put_header(out, m, stun_type(stun_method(type), STUN_CLASS_ERROR));
		o = stun_put_error(out, o, 400, "Bad Request");
		*out_len = stun_finish(out, o, s.fingerprint);
		*reason = "not a Binding request";
		return SP_STUN_REFUSED;
	}
	if (s.n_unknown) {
		o = stun_put_header(out, m, stun_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR));
		o = stun_put_error(out, o, 420, "Unknown Attribute");
		o = stun_put_unknown(out, o, &s);
		*out_len = stun_finish(out, o, s.fingerprint);
		*reason = "unknown comprehension-required attribute";
		return SP_STUN_REFUSED;
	}
	if (from->family != AF_INET && from->family != AF_INET6) {
		*reason = "no source address";
		return SP_STUN_IGNORED;
	}
	o = stun_put_header(out, m, stun_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS));
	o = stun_put_xor_mapped(out, o, m, from);
	*out_len = stun_finish(out, o, s.fingerprint);
	return SP_STUN_ANSWERED;
}

int sp_stun_mapped_address(const void *msg, size_t len, struct sp_endpoint *out)
{
	const uint8_t *m = msg, *v;
	const char *reason;
	struct stun_scan s;
	bool xored;
	uint8_t key[16], addr[16];
	uint16_t port, vlen;
	size_t alen;

	if (!sp_stun_is_stun(msg, len) || stun_scan(m, len, &s, &reason) < 0)
		return -1;
	xored = s.xor_mapped != NULL;
	v = xored ? s.xor_mapped : s.mapped;
	vlen = xored ? s.xor_mapped_len : s.mapped_len;
	if (!v || vlen < 8)
		return -1;
	alen = v[1] == 0x01 ? 4 : v[1] == 0x02 ? 16 : 0;
	if (!alen || vlen != 4 + alen)
		return -1;
	memcpy(key, m + 4, 16);
	port = get16(v + 2);
	if (xored)
		port ^= (uint16_t)(SP_STUN_MAGIC_COOKIE >> 16);
	for (size_t i = 0; i < alen; i++)
		addr[i] = xored ? (uint8_t)(v[4 + i] ^ key[i]) : v[4 + i];
	if (alen == 4) {
		struct in_addr a;

		memcpy(&a, addr, 4);
		sp_endpoint_set_v4(out, a, port);
	} else {
		struct in6_addr a;

		memcpy(&a, addr, 16);
		sp_endpoint_set_v6(out, &a, port);
	}
	return 0;
}
