/*
 * SDP (RFC 4566) inspection and in-place address/port rewriting.
 *
 * The SIP rewriter calls this for application/sdp bodies, and the SIP
 * protocol (daemon/sip/sp_sip_protocol) for the media streams and the
 * address a body announces; the media proxy maps its ports through
 * sp_sdp_port_map_fn. The engine reaches it only through the protocol seam
 * (sp_protocol.h). All work happens in caller-supplied memory.
 */
#ifndef SP_SDP_H
#define SP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"

/* Media sections handled per body; more is refused rather than truncated. */
#define SP_SDP_MAX_STREAMS 16
/* Longest address kept (an IPv6 text address, or a short host name). */
#define SP_SDP_ADDR_MAX 64

enum sp_sdp_err {
	SP_SDP_OK = 0,
	SP_SDP_E_SYNTAX,      /* a line the rewriter must understand is malformed */
	SP_SDP_E_UNSUPPORTED, /* e.g. multicast or too many media sections */
	SP_SDP_E_REFUSED,     /* the port-map callback refused a port */
	SP_SDP_E_NOSPACE,     /* output buffer too small */
};

enum sp_sdp_port_kind {
	SP_SDP_PORT_RTP,
	SP_SDP_PORT_RTCP,     /* explicit a=rtcp: port */
};

enum sp_sdp_direction {
	SP_SDP_SENDRECV,
	SP_SDP_SENDONLY,
	SP_SDP_RECVONLY,
	SP_SDP_INACTIVE,
};

struct sp_sdp_stream {
	char media[16];                 /* "audio", "video", ... (truncated) */
	uint16_t port;                  /* m= port; 0 = stream disabled */
	uint16_t rtcp_port;             /* a=rtcp: port, 0 if absent */
	char addr[SP_SDP_ADDR_MAX];     /* effective c= address ("" if none) */
	char rtcp_addr[SP_SDP_ADDR_MAX];/* a=rtcp: address, "" if absent */
	enum sp_sdp_direction dir;      /* media-level, else session-level */
};

struct sp_sdp_info {
	char session_addr[SP_SDP_ADDR_MAX]; /* session-level c= ("" if none) */
	char origin_addr[SP_SDP_ADDR_MAX];  /* o= unicast address */
	unsigned n_streams;
	struct sp_sdp_stream streams[SP_SDP_MAX_STREAMS];
};

/*
 * Return 0 and set *new_port to use it, or non-zero to refuse (the whole
 * rewrite then fails). Called once per non-zero m= port and a=rtcp port,
 * before anything is written.
 */
typedef int (*sp_sdp_port_map_fn)(void *arg, unsigned media_index,
				  enum sp_sdp_port_kind kind,
				  const struct sp_sdp_stream *stream,
				  uint16_t old_port, uint16_t *new_port);

struct sp_sdp_plan {
	/* c=, o= and a=rtcp addresses become this (IPv4 or IPv6 text);
	 * NULL keeps them. Unspecified addresses (hold: 0.0.0.0, ::) stay. */
	const char *media_addr;
	sp_sdp_port_map_fn port_map;    /* NULL keeps ports */
	void *port_map_arg;
};

int sp_sdp_inspect(const char *sdp, size_t len, struct sp_sdp_info *info);

/*
 * Write the rewritten body to out (never beyond out_size) and its length to
 * *out_len. Every byte outside the rewritten fields is copied unchanged.
 */
int sp_sdp_rewrite(const char *sdp, size_t len, const struct sp_sdp_plan *plan,
		   char *out, size_t out_size, size_t *out_len);

const char *sp_sdp_strerror(int err);

/*
 * Whether the first connection line of sdp ("c=IN IP...") names another
 * address than sender's (a terminal behind a NAT announces its private
 * one): false when sdp has none, when it is sender's IPv4 address, and
 * for an IPv6 sender (not told apart).
 */
bool sp_sdp_addressed_elsewhere(const char *sdp, size_t len, const struct sp_endpoint *sender);

#endif
