/* SIP framing on streams (daemon/sp_frame, RFC 3261 §18.3, RFC 5626
 * §4.4.1): a message split over reads at every byte, several messages in
 * one read, keep-alives between messages, and the refusals (too large,
 * unreadable or conflicting Content-Length). */
#include "config.h"
#include "sp_frame.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_HEAD "OPTIONS sip:e@198.51.100.1 SIP/2.0\r\n" \
	"Via: SIP/2.0/TCP 10.1.0.10:5060;branch=z9hG4bK1\r\n" \
	"Call-ID: f1\r\nCSeq: 1 OPTIONS\r\n"

static const char msg_body[] = REQ_HEAD "Content-Length: 5\r\n\r\nhello";
static const char msg_nobody[] = REQ_HEAD "Content-Length: 0\r\n\r\n";

static enum sp_frame_kind next(const char *buf, size_t avail, size_t max, size_t *len)
{
	size_t scanned = 0;

	return sp_frame_next(buf, avail, max, &scanned, len);
}

Test(frame, one_message_with_body)
{
	size_t len;

	cr_assert_eq(next(msg_body, strlen(msg_body), 65536, &len), SP_FRAME_MESSAGE);
	cr_assert_eq(len, strlen(msg_body));
}

/* Every split point: the first part is incomplete, and with the scan
 * offset carried over the whole is found once the rest arrives. */
Test(frame, split_at_every_byte)
{
	size_t total = strlen(msg_body);

	for (size_t cut = 0; cut < total; cut++) {
		size_t scanned = 0, len = 99;

		cr_assert_eq(sp_frame_next(msg_body, cut, 65536, &scanned, &len), SP_FRAME_MORE,
			     "cut at %zu", cut);
		cr_assert_eq(len, 0);
		cr_assert_leq(scanned, cut);
		cr_assert_eq(sp_frame_next(msg_body, total, 65536, &scanned, &len), SP_FRAME_MESSAGE,
			     "cut at %zu", cut);
		cr_assert_eq(len, total);
	}
}

/* Bytes trickling in one at a time, the scan offset carried: the same. */
Test(frame, one_byte_at_a_time)
{
	size_t total = strlen(msg_body), scanned = 0, len = 0;
	enum sp_frame_kind k = SP_FRAME_MORE;
	size_t avail;

	for (avail = 1; avail <= total && k == SP_FRAME_MORE; avail++)
		k = sp_frame_next(msg_body, avail, 65536, &scanned, &len);
	cr_assert_eq(k, SP_FRAME_MESSAGE);
	cr_assert_eq(avail - 1, total);
	cr_assert_eq(len, total);
}

Test(frame, several_messages_in_one_read)
{
	char buf[2048];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\r\n\r\n%s%s", msg_body, msg_nobody, msg_body);
	size_t off = 0, len;
	enum sp_frame_kind seen[4];

	for (int i = 0; i < 4; i++) {
		seen[i] = next(buf + off, n - off, 65536, &len);
		cr_assert_neq(seen[i], SP_FRAME_MORE, "frame %d", i);
		off += len;
	}
	cr_assert_eq(seen[0], SP_FRAME_MESSAGE);
	cr_assert_eq(seen[1], SP_FRAME_PING);
	cr_assert_eq(seen[2], SP_FRAME_MESSAGE);
	cr_assert_eq(seen[3], SP_FRAME_MESSAGE);
	cr_assert_eq(off, n);
	cr_assert_eq(next(buf + off, 0, 65536, &len), SP_FRAME_MORE);
}

Test(frame, keepalives)
{
	size_t len;

	cr_assert_eq(next("\r\n\r\n", 4, 65536, &len), SP_FRAME_PING);
	cr_assert_eq(len, 4);
	cr_assert_eq(next("\r\n", 2, 65536, &len), SP_FRAME_PONG);
	cr_assert_eq(len, 2);
	cr_assert_eq(next("\r\nOPTIONS", 9, 65536, &len), SP_FRAME_PONG);
	cr_assert_eq(len, 2);
	cr_assert_eq(next("\r\n\r", 3, 65536, &len), SP_FRAME_MORE);
	cr_assert_eq(next("\r", 1, 65536, &len), SP_FRAME_MORE);
}

Test(frame, compact_and_spaced_length)
{
	const char m[] = REQ_HEAD "l :  3 \r\n\r\nabc";
	const char lower[] = REQ_HEAD "content-LENGTH:3\r\n\r\nabc";
	size_t len;

	cr_assert_eq(next(m, strlen(m), 65536, &len), SP_FRAME_MESSAGE);
	cr_assert_eq(len, strlen(m));
	cr_assert_eq(next(lower, strlen(lower), 65536, &len), SP_FRAME_MESSAGE);
	cr_assert_eq(len, strlen(lower));
}

Test(frame, no_length_means_no_body)
{
	const char m[] = REQ_HEAD "\r\nxyz";
	size_t len;

	cr_assert_eq(next(m, strlen(m), 65536, &len), SP_FRAME_MESSAGE);
	cr_assert_eq(len, strlen(m) - 3);
}

Test(frame, bad_lengths)
{
	const char *bad[] = {
		REQ_HEAD "Content-Length: -1\r\n\r\n",
		REQ_HEAD "Content-Length: 12abc\r\n\r\n",
		REQ_HEAD "Content-Length:\r\n\r\n",
		REQ_HEAD "Content-Length: 99999999999999999999999\r\n\r\n",
		REQ_HEAD "Content-Length: 1 2\r\n\r\n",
		REQ_HEAD "Content-Length: 1\r\nl: 2\r\n\r\nab",
	};
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(next(bad[i], strlen(bad[i]), 65536, &len), SP_FRAME_BAD_LENGTH, "case %zu", i);
	/* a header that merely starts like it is another header */
	{
		const char m[] = REQ_HEAD "Content-Length-X: 9\r\nLocation: x\r\n\r\n";

		cr_assert_eq(next(m, strlen(m), 65536, &len), SP_FRAME_MESSAGE);
	}
}

Test(frame, too_large)
{
	size_t big = 100000, len;
	char *h = malloc(big);
	const char m[] = REQ_HEAD "Content-Length: 70000\r\n\r\n";

	cr_assert_not_null(h);
	memset(h, 'a', big);
	/* a header section that never ends within max */
	cr_assert_eq(next(h, 4096, 4096, &len), SP_FRAME_TOO_LARGE);
	cr_assert_eq(next(h, 4095, 4096, &len), SP_FRAME_MORE);
	/* a body announced beyond max is refused before it arrives */
	cr_assert_eq(next(m, strlen(m), 65536, &len), SP_FRAME_TOO_LARGE);
	/* exactly max fits */
	cr_assert_eq(next(msg_body, strlen(msg_body), strlen(msg_body), &len), SP_FRAME_MESSAGE);
	cr_assert_eq(next(msg_body, strlen(msg_body), strlen(msg_body) - 1, &len), SP_FRAME_TOO_LARGE);
	free(h);
}
