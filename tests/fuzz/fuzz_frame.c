/*
 * libFuzzer target: sp_frame_next, the framing of SIP on TCP streams, on
 * arbitrary bytes as a connection delivers them.
 *
 * Sources: tests/fuzz/fuzz_frame.c daemon/sp_frame.c
 * Libraries: none
 * fuzz-options: -max_len=8192
 *
 * scripts/fuzz builds and runs it (scripts/fuzz 60 frame). By hand, from a
 * configured build directory BUILD (for config.h):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I$BUILD -Idaemon \
 *       tests/fuzz/fuzz_frame.c daemon/sp_frame.c -o fuzz_frame
 *
 * Besides memory errors it checks the contract: a frame never passes the
 * bytes given nor the size limit, an incomplete answer consumes nothing,
 * and the stream cut the way the transport cuts it (the first byte of the
 * input says where the first read ends) gives the same frames as all of
 * it at once.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

/* The frames of buf[0..n), reading it in two parts (the first cut bytes,
 * then all of it), as the transport does: the unread rest stays and the
 * scan offset is carried. Returns how many; stops at a refusal. */
static size_t frames(const char *buf, size_t n, size_t cut, size_t max, enum sp_frame_kind *kinds,
		     size_t *lens)
{
	size_t off = 0, nf = 0, scanned = 0, avail = cut < n ? cut : n;

	for (;;) {
		size_t len = 12345;
		enum sp_frame_kind k = sp_frame_next(buf + off, avail - off, max, &scanned, &len);

		if (k == SP_FRAME_MORE) {
			if (len != 0)
				abort();
			if (avail == n)
				return nf;
			avail = n; /* the second read */
			continue;
		}
		if (nf == MAX_FRAMES)
			return nf;
		kinds[nf] = k;
		lens[nf] = len;
		nf++;
		if (k == SP_FRAME_TOO_LARGE || k == SP_FRAME_BAD_LENGTH)
			return nf;
		if (len == 0 || len > avail - off || len > max)
			abort();
		off += len;
		scanned = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sp_frame_kind k1[MAX_FRAMES], k2[MAX_FRAMES];
	size_t l1[MAX_FRAMES], l2[MAX_FRAMES], n1, n2, max, cut;
	char *buf;

	if (size < 2)
		return 0;
	max = 64 + (size_t)data[0] * 16;
	cut = (size_t)data[1] * (size / 256 + 1);
	buf = malloc(size - 2 + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 2, size - 2);
	n1 = frames(buf, size - 2, size - 2, max, k1, l1);
	n2 = frames(buf, size - 2, cut, max, k2, l2);
	/* a lone CRLF at the end of the first read is a pong, where all at
	 * once it may be half a ping: compare only when no keep-alive came */
	for (size_t i = 0; i < n1 || i < n2; i++)
		if ((i < n1 && (k1[i] == SP_FRAME_PING || k1[i] == SP_FRAME_PONG)) ||
		    (i < n2 && (k2[i] == SP_FRAME_PING || k2[i] == SP_FRAME_PONG)))
			goto out;
	if (n1 != n2)
		abort();
	for (size_t i = 0; i < n1; i++)
		if (k1[i] != k2[i] || l1[i] != l2[i])
			abort();
out:
	free(buf);
	return 0;
}
