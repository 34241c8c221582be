/* SIP message framing on a stream (RFC 3261 §18.3): where one message ends
 * in the bytes a TCP (or TLS) connection delivered so far, by the blank line
 * that ends its headers and the Content-Length that gives its body; and the
 * RFC 5626 §4.4.1 keep-alives between messages (CRLFCRLF ping, CRLF pong).
 *
 * Pure: no state between calls; the caller keeps the unread bytes and calls
 * again when more arrive, so a message split over any number of reads, or
 * several messages in one read, come out the same. */
#ifndef SP_FRAME_H
#define SP_FRAME_H

#include <stddef.h>

enum sp_frame_kind {
	SP_FRAME_MORE,		/* incomplete: read more (nothing consumed) */
	SP_FRAME_MESSAGE,	/* a whole SIP message of *len bytes */
	SP_FRAME_PING,		/* CRLFCRLF: answer with a pong (CRLF) */
	SP_FRAME_PONG,		/* a lone CRLF: nothing to do */
	SP_FRAME_TOO_LARGE,	/* headers, or headers and body, over max */
	SP_FRAME_BAD_LENGTH,	/* Content-Length unreadable, or two that differ */
};

/* What the bytes buf[0..avail) start with. *len: the bytes the frame takes
 * (MESSAGE, PING, PONG). max: the largest message accepted, headers and
 * body. A message without Content-Length has no body (RFC 3261 §18.3 makes
 * it mandatory on streams; a lenient reading loses nothing). *scanned: how
 * far the blank line was looked for already (0 for a new message; the call
 * updates it), so bytes trickling in are not scanned again and again. */
enum sp_frame_kind sp_frame_next(const char *buf, size_t avail, size_t max, size_t *scanned,
				 size_t *len);

/* "too large", "bad Content-Length", ... for logs. */
const char *sp_frame_kind_name(enum sp_frame_kind k);

#endif
