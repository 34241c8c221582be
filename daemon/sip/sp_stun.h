/* STUN on the SIP port (RFC 5626 §4.4.2, §8): a terminal behind a NAT
 * keeps its flow alive with STUN Binding requests (RFC 5389) sent to the
 * same address and port as its SIP, and learns from the answer the address
 * its NAT gives it. The SP stands for E, so it answers them itself; they
 * never go on to the server (they would not be SIP there either).
 *
 * Pure functions on bytes: no sockets, no allocation, no libraries. */
#ifndef SP_STUN_H
#define SP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"

#define SP_STUN_HEADER_LEN 20
#define SP_STUN_MAGIC_COOKIE 0x2112A442u
/* The largest answer sp_stun_answer builds: header, XOR-MAPPED-ADDRESS
 * (IPv6), FINGERPRINT, or an error response listing unknown attributes. */
#define SP_STUN_ANSWER_MAX 128

/* Whether a datagram is STUN rather than SIP (RFC 5389 §6, RFC 7983 §7):
 * the two top bits zero, a length that is the rest of the datagram and a
 * multiple of 4, the magic cookie. SIP starts with a letter, so a datagram
 * that passes cannot be SIP. */
bool sp_stun_is_stun(const void *buf, size_t len);

enum sp_stun_result {
	SP_STUN_ANSWERED,  /* a success response to a Binding request is in out */
	SP_STUN_REFUSED,   /* an error response (400, 420) is in out */
	SP_STUN_INDICATION, /* a keep-alive that wants no answer (ICE's Binding
			     * indication, RFC 5389 §7.3.2) */
	SP_STUN_IGNORED,   /* nothing to send: a response, or a request the RFC
			    * says to drop silently (bad FINGERPRINT,
			    * malformed attributes); reason says which */
};

/* Answers one STUN message (sp_stun_is_stun() was true) that came from
 * `from`: a Binding request gets XOR-MAPPED-ADDRESS = from, and a
 * FINGERPRINT when the request had one (RFC 5389 §7.3.1, §15.5). A request
 * with a comprehension-required attribute the SP does not know gets 420
 * with UNKNOWN-ATTRIBUTES; a request of another method gets 400.
 * out must hold SP_STUN_ANSWER_MAX bytes. *reason says why on IGNORED and
 * REFUSED (for the log); may be NULL. */
enum sp_stun_result sp_stun_answer(const void *req, size_t len, const struct sp_endpoint *from,
				   uint8_t *out, size_t *out_len, const char **reason);

/* CRC-32 (ISO 3309, as zlib computes it) of buf, for FINGERPRINT. */
uint32_t sp_stun_crc32(const void *buf, size_t len);

/* For tests and tools: the address in a XOR-MAPPED-ADDRESS (or, failing
 * that, MAPPED-ADDRESS) attribute of a STUN message. 0, or -1 if none. */
int sp_stun_mapped_address(const void *msg, size_t len, struct sp_endpoint *out);

#endif
