#include "config.h"
#include "sp_frame.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Content-Length (or its compact form "l") at the start of a header line:
 * the value in *value; false when the line is another header. *bad: the
 * value is not a number. */
static bool sp_frame_length_line(const char *s, const char *e, uint64_t *value, bool *bad)
{
	static const char full[] = "content-length";
	size_t n = 0;
	const char *p = s;

	while (p < e && n < sizeof(full) - 1 && (*p | 0x20) == full[n]) {
		p++;
		n++;
	}
	if (n != sizeof(full) - 1) {
		if (!(e - s >= 1 && (*s | 0x20) == 'l'))
			return false;
		p = s + 1; /* compact form */
	}
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || *p != ':')
		return false;
	p++;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	*value = 0;
	/* no digit at all is as bad as a letter */
	*bad = p == e || *p < '0' || *p > '9';
	for (; p < e && *p != ' ' && *p != '\t' && *p != '\r'; p++) {
		if (*p < '0' || *p > '9' || *value > UINT32_MAX) {
			*bad = true;
			return true;
		}
		*value = *value * 10 + (uint64_t)(*p - '0');
	}
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	*bad |= p != e;
	return true;
}

/* The body length the headers hdr[0..n) give; -1: unreadable or two that
 * differ. Folded continuation lines start with a space and never match. */
static int64_t sp_frame_body_length(const char *hdr, size_t n)
{
	const char *p = hdr, *end = hdr + n;
	int64_t found = -2;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		uint64_t v;
		bool bad;

		if (!eol)
			eol = end;
		if (sp_frame_length_line(p, eol, &v, &bad)) {
			if (bad || (found >= 0 && (uint64_t)found != v))
				return -1;
			found = (int64_t)v;
		}
		p = eol + 1;
	}
	return found == -2 ? 0 : found;
}

enum sp_frame_kind sp_frame_next(const char *buf, size_t avail, size_t max, size_t *scanned,
				 size_t *len)
{
	const char *hdr_end = NULL;
	size_t hdr_len;
	int64_t body;

	*len = 0;
	if (avail >= 1 && buf[0] == '\r') {
		/* keep-alives: CRLFCRLF is a ping, a CRLF alone a pong (sent
		 * on their own: a CRLF that ends the bytes read is a pong, not
		 * half a ping, so it never waits like a message's start) */
		if (avail < 2 || (buf[1] == '\n' && avail == 3 && buf[2] == '\r'))
			return SP_FRAME_MORE;
		if (avail >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
			*len = 4;
			return SP_FRAME_PING;
		}
		if (buf[1] == '\n') {
			*len = 2;
			return SP_FRAME_PONG;
		}
	}
	for (size_t i = *scanned; i + 3 < avail && i + 4 <= max; i++) {
		if (buf[i] == '\r' && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			hdr_end = buf + i + 4;
			break;
		}
	}
	if (!hdr_end) {
		/* the next call starts where a blank line could still begin */
		*scanned = avail > 3 ? avail - 3 : 0;
		return avail >= max ? SP_FRAME_TOO_LARGE : SP_FRAME_MORE;
	}
	hdr_len = (size_t)(hdr_end - buf);
	body = sp_frame_body_length(buf, hdr_len);
	if (body < 0)
		return SP_FRAME_BAD_LENGTH;
	if ((uint64_t)body > max - hdr_len)
		return SP_FRAME_TOO_LARGE;
	if (avail < hdr_len + (size_t)body)
		return SP_FRAME_MORE;
	*len = hdr_len + (size_t)body;
	return SP_FRAME_MESSAGE;
}

const char *sp_frame_kind_name(enum sp_frame_kind k)
{
	switch (k) {
	case SP_FRAME_MORE: return "incomplete";
	case SP_FRAME_MESSAGE: return "message";
	case SP_FRAME_PING: return "ping";
	case SP_FRAME_PONG: return "pong";
	case SP_FRAME_TOO_LARGE: return "too large";
	case SP_FRAME_BAD_LENGTH: return "bad Content-Length";
	}
	return "?";
}
