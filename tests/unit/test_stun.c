/* STUN on the SIP port (sp_stun): the RFC 5769 test vectors, and the
 * answers the SP gives, byte for byte. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "sp_stun.h"

/* RFC 5769 §2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED,
 * USERNAME, MESSAGE-INTEGRITY, FINGERPRINT. */
static const uint8_t rfc5769_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2: the IPv4 response, mapped address 192.0.2.1:32853. */
static const uint8_t rfc5769_response_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3: the IPv6 response, mapped address
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_response_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
	0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
	0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* The transaction ID of every vector above. */
static const uint8_t vector_tid[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A bare Binding request with the vectors' transaction ID, as an RFC 5626
 * keep-alive is; fingerprint adds FINGERPRINT. */
static size_t keepalive(uint8_t *buf, bool fingerprint)
{
	static const uint8_t hdr[8] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
	size_t n = 20;

	memcpy(buf, hdr, 8);
	memcpy(buf + 8, vector_tid, 12);
	if (fingerprint) {
		uint32_t crc;

		buf[3] = 8;
		memcpy(buf + 20, (const uint8_t[]){ 0x80, 0x28, 0x00, 0x04 }, 4);
		crc = sp_stun_crc32(buf, 20) ^ 0x5354554Eu;
		buf[24] = (uint8_t)(crc >> 24);
		buf[25] = (uint8_t)(crc >> 16);
		buf[26] = (uint8_t)(crc >> 8);
		buf[27] = (uint8_t)crc;
		n = 28;
	}
	return n;
}

static struct sp_endpoint ep(const char *addr, uint16_t port)
{
	struct sp_endpoint e;

	cr_assert_eq(sp_endpoint_parse(&e, addr, port), 0);
	return e;
}

Test(stun, crc32_is_the_iso_3309_one)
{
	cr_assert_eq(sp_stun_crc32("123456789", 9), 0xCBF43926u);
	cr_assert_eq(sp_stun_crc32("", 0), 0u);
}

Test(stun, the_rfc5769_vectors_are_stun_and_their_fingerprints_match)
{
	const struct { const uint8_t *m; size_t n; } v[] = {
		{ rfc5769_request, sizeof(rfc5769_request) },
		{ rfc5769_response_v4, sizeof(rfc5769_response_v4) },
		{ rfc5769_response_v6, sizeof(rfc5769_response_v6) },
	};

	for (size_t i = 0; i < 3; i++) {
		cr_expect(sp_stun_is_stun(v[i].m, v[i].n), "vector %zu", i);
		cr_expect_eq(sp_stun_crc32(v[i].m, v[i].n - 8) ^ 0x5354554Eu, get32(v[i].m + v[i].n - 4),
			     "vector %zu", i);
	}
}

Test(stun, sip_and_crlf_are_not_stun)
{
	const char *sip = "OPTIONS sip:e SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n\r\n";
	uint8_t buf[28];
	size_t n = keepalive(buf, false);

	cr_expect_not(sp_stun_is_stun(sip, strlen(sip)));
	cr_expect_not(sp_stun_is_stun("\r\n\r\n", 4));
	cr_expect_not(sp_stun_is_stun(buf, n - 1), "shorter than a header");
	buf[4] ^= 1;
	cr_expect_not(sp_stun_is_stun(buf, n), "no magic cookie (RFC 3489 STUN)");
	buf[4] ^= 1;
	buf[3] = 4;
	cr_expect_not(sp_stun_is_stun(buf, n), "length not the rest of the datagram");
}

Test(stun, mapped_address_of_the_rfc5769_responses)
{
	struct sp_endpoint got, want4 = ep("192.0.2.1", 32853),
				want6 = ep("2001:db8:1234:5678:11:2233:4455:6677", 32853);

	cr_assert_eq(sp_stun_mapped_address(rfc5769_response_v4, sizeof(rfc5769_response_v4), &got), 0);
	cr_expect(sp_endpoint_equal(&got, &want4));
	cr_assert_eq(sp_stun_mapped_address(rfc5769_response_v6, sizeof(rfc5769_response_v6), &got), 0);
	cr_expect(sp_endpoint_equal(&got, &want6));
}

/* The SP's answer carries exactly the XOR-MAPPED-ADDRESS bytes of the RFC's
 * responses for the same transaction and the same source. */
Test(stun, answer_encodes_xor_mapped_address_like_rfc5769)
{
	uint8_t req[28], out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, false), out_len;
	struct sp_endpoint from4 = ep("192.0.2.1", 32853),
			   from6 = ep("2001:db8:1234:5678:11:2233:4455:6677", 32853);

	cr_assert_eq(sp_stun_answer(req, n, &from4, out, &out_len, NULL), SP_STUN_ANSWERED);
	cr_assert_eq(out_len, 20 + 12);
	cr_expect_arr_eq(out, ((const uint8_t[]){ 0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42 }), 8);
	cr_expect_arr_eq(out + 8, vector_tid, 12);
	cr_expect_arr_eq(out + 20, rfc5769_response_v4 + 36, 12, "XOR-MAPPED-ADDRESS as in §2.2");

	cr_assert_eq(sp_stun_answer(req, n, &from6, out, &out_len, NULL), SP_STUN_ANSWERED);
	cr_assert_eq(out_len, 20 + 24);
	cr_expect_eq(out[3], 24);
	cr_expect_arr_eq(out + 20, rfc5769_response_v6 + 36, 24, "XOR-MAPPED-ADDRESS as in §2.3");
}

Test(stun, a_fingerprinted_request_gets_a_fingerprinted_answer)
{
	uint8_t req[28], out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, true), out_len;
	struct sp_endpoint from = ep("198.51.100.7", 6000), got;

	cr_assert_eq(sp_stun_answer(req, n, &from, out, &out_len, NULL), SP_STUN_ANSWERED);
	cr_assert_eq(out_len, 20 + 12 + 8);
	cr_expect(sp_stun_is_stun(out, out_len));
	cr_expect_eq(out[3], 20, "the length counts the FINGERPRINT");
	cr_expect_eq(out[32], 0x80);
	cr_expect_eq(out[33], 0x28);
	cr_expect_eq(sp_stun_crc32(out, 32) ^ 0x5354554Eu, get32(out + 36));
	cr_assert_eq(sp_stun_mapped_address(out, out_len, &got), 0);
	cr_expect(sp_endpoint_equal(&got, &from));
}

Test(stun, a_wrong_fingerprint_is_dropped_silently)
{
	uint8_t req[28], out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, true), out_len = 99;
	struct sp_endpoint from = ep("198.51.100.7", 6000);
	const char *reason = NULL;

	req[27] ^= 0x01;
	cr_expect_eq(sp_stun_answer(req, n, &from, out, &out_len, &reason), SP_STUN_IGNORED);
	cr_expect_eq(out_len, 0);
	cr_expect_str_eq(reason, "FINGERPRINT does not match");
}

Test(stun, the_rfc5769_request_is_refused_for_its_ice_priority)
{
	/* PRIORITY (0x0024) is comprehension-required and ICE's, not the SIP
	 * port's: 420 listing it (RFC 5389 §7.3.1), the fingerprint checked
	 * first and echoed */
	uint8_t out[SP_STUN_ANSWER_MAX];
	size_t out_len;
	struct sp_endpoint from = ep("192.0.2.1", 32853);
	static const uint8_t want[] = {
		0x01, 0x11, 0x00, 0x2c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
		0xfa, 0x87, 0xdf, 0xae,
		0x00, 0x09, 0x00, 0x15, 0x00, 0x00, 0x04, 0x14, 'U', 'n', 'k', 'n', 'o', 'w', 'n', ' ',
		'A', 't', 't', 'r', 'i', 'b', 'u', 't', 'e', 0x00, 0x00, 0x00,
		0x00, 0x0a, 0x00, 0x02, 0x00, 0x24, 0x00, 0x00,
	};

	cr_assert_eq(sp_stun_answer(rfc5769_request, sizeof(rfc5769_request), &from, out, &out_len, NULL),
		     SP_STUN_REFUSED);
	cr_assert_eq(out_len, sizeof(want) + 8);
	cr_expect_arr_eq(out, want, sizeof(want));
	cr_expect_eq(sp_stun_crc32(out, sizeof(want)) ^ 0x5354554Eu, get32(out + sizeof(want) + 4));
}

Test(stun, usernames_and_integrity_are_ignored_not_refused)
{
	/* the RFC 5769 request without PRIORITY and ICE-CONTROLLED: the SP
	 * uses no credentials, so it answers (RFC 5389 §10) */
	uint8_t req[sizeof(rfc5769_request)], out[SP_STUN_ANSWER_MAX];
	size_t n = 0, out_len;
	struct sp_endpoint from = ep("192.0.2.1", 32853);

	memcpy(req, rfc5769_request, 40);                    /* header, SOFTWARE */
	n = 40;
	memcpy(req + n, rfc5769_request + 60, 16 + 24);      /* USERNAME, MESSAGE-INTEGRITY */
	n += 40;
	req[3] = (uint8_t)(n - 20);                          /* no FINGERPRINT now */
	cr_assert_eq(sp_stun_answer(req, n, &from, out, &out_len, NULL), SP_STUN_ANSWERED);
	cr_expect_eq(out_len, 32, "no FINGERPRINT asked for, none given");
}

Test(stun, indications_and_responses_get_no_answer)
{
	uint8_t req[28], out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, false), out_len;
	struct sp_endpoint from = ep("192.0.2.1", 5060);

	req[1] = 0x11; /* Binding indication */
	cr_expect_eq(sp_stun_answer(req, n, &from, out, &out_len, NULL), SP_STUN_INDICATION);
	cr_expect_eq(out_len, 0);
	cr_expect_eq(sp_stun_answer(rfc5769_response_v4, sizeof(rfc5769_response_v4), &from, out,
				    &out_len, NULL), SP_STUN_IGNORED);
}

Test(stun, another_method_gets_400)
{
	uint8_t req[28], out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, false), out_len;
	struct sp_endpoint from = ep("192.0.2.1", 5060);

	req[1] = 0x03; /* Allocate (TURN) request */
	cr_assert_eq(sp_stun_answer(req, n, &from, out, &out_len, NULL), SP_STUN_REFUSED);
	cr_expect_eq(out[0], 0x01);
	cr_expect_eq(out[1], 0x13, "Allocate error response");
	cr_expect_eq(out[26], 4);
	cr_expect_eq(out[27], 0);
}

Test(stun, attributes_running_past_the_end_are_dropped)
{
	uint8_t req[32] = { 0 }, out[SP_STUN_ANSWER_MAX];
	size_t n = keepalive(req, false), out_len;
	struct sp_endpoint from = ep("192.0.2.1", 5060);

	/* one attribute header claiming 8 bytes of value, only 4 there */
	memcpy(req + 20, (const uint8_t[]){ 0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd' }, 8);
	n = 28;
	req[3] = 8;
	cr_expect_eq(sp_stun_answer(req, n, &from, out, &out_len, NULL), SP_STUN_IGNORED);
	cr_expect_eq(sp_stun_mapped_address(req, n, &from), -1);
}
