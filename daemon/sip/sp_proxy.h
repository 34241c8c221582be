/* What the proxy does to one SIP message (SPEC §1, §2.3), as pure functions
 * the engine calls and the unit tests drive directly: the address mapping
 * <Aa-Ee> -> <Cc-Dd> towards the server and <Dd-Cc> -> <Ee-Aa> back towards
 * the terminal, expressed as a rewrite plan for sp_sip_rewrite(). */
#ifndef SP_PROXY_H
#define SP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_sip.h"

#define SP_PROXY_HOST_MAX SP_SIP_HOST_MAX

struct sp_proxy_hostport {
	char host[SP_PROXY_HOST_MAX]; /* IPv4/IPv6 text or a name */
	uint16_t port;                /* 0: none given */
};

/* The addresses of one binding, as text. */
struct sp_proxy_binding {
	struct sp_proxy_hostport terminal;         /* A:a, where its datagrams come from */
	struct sp_proxy_hostport virtual_server;   /* E:e */
	struct sp_proxy_hostport server_side;      /* C:c */
	struct sp_proxy_hostport server;           /* D:d */
	struct sp_proxy_hostport terminal_via;     /* the terminal's own top Via sent-by */
	struct sp_proxy_hostport terminal_contact; /* the terminal's own Contact */
	/* the top Via's transport written towards each side ("UDP", "TCP");
	 * NULL: as it came (both sides on the same transport) */
	const char *via_transport_to_server;
	const char *via_transport_to_terminal;
	/* the transport parameter of the URIs rewritten towards each side
	 * (Contact, Record-Route, Route, Request-URI): NULL as it came, ""
	 * none (UDP), "tcp" */
	const char *uri_transport_to_server;
	const char *uri_transport_to_terminal;
	/* SDP connection address towards each side; empty: leave SDP alone */
	char media_to_server[SP_PROXY_HOST_MAX];
	char media_to_terminal[SP_PROXY_HOST_MAX];
	/* SDP port map for each direction (media in the kernel): the m= and
	 * a=rtcp ports the SP announces; NULL keeps the ports. Used only where
	 * the connection address above is set. */
	sp_sdp_port_map_fn port_map_to_server;
	void *port_map_to_server_arg;
	sp_sdp_port_map_fn port_map_to_terminal;
	void *port_map_to_terminal_arg;
};

/* A message from the terminal (a request it sends, or its response to a
 * request the server started) rewritten for the server. */
int sp_proxy_to_server(struct sp_sip_msg *msg, const struct sp_proxy_binding *b, char *out,
		       size_t out_size, size_t *out_len);

/* A message from the server rewritten for the terminal. */
int sp_proxy_to_terminal(struct sp_sip_msg *msg, const struct sp_proxy_binding *b, char *out,
			 size_t out_size, size_t *out_len);

/* "host", "host:port", "[v6]:port" -> host and port (0 when absent). */
int sp_proxy_hostport_parse(const char *text, struct sp_proxy_hostport *hp);
/* host:port as a SIP sent-by/hostport would write it. */
void sp_proxy_hostport_format(const struct sp_proxy_hostport *hp, char *buf, size_t len);

/* A final response the proxy itself gives to a request (503 at the session
 * limit or without media ports, 483, 513): the request's Via, From, To (with
 * a tag added), Call-ID and CSeq lines copied byte for byte, no body.
 * Returns the length, or 0 when it does not fit. */
size_t sp_proxy_build_reply(const char *req, size_t len, int status, const char *reason,
			    const char *to_tag, char *out, size_t out_size);
/* The same with a Retry-After header (seconds; 0: none), for a 503 that
 * says when to come back (a source over its binding limit). */
size_t sp_proxy_build_reply_retry(const char *req, size_t len, int status, const char *reason,
				  const char *to_tag, unsigned retry_after, char *out,
				  size_t out_size);

/* hide-server-identity: removes the Server, User-Agent and Warning header
 * lines (folded continuations included) from a message's header section, in
 * place; the body and its Content-Length are untouched. Returns the new
 * length. */
size_t sp_proxy_strip_identity(char *msg, size_t len);

/* Is the message's top Via sent-by hp (an absent port is 5060)? A response
 * the proxy forwarded the request of carries the sent-by it wrote there. */
bool sp_proxy_via_is(const struct sp_sip_info *in, const struct sp_proxy_hostport *hp);

/* True when the datagram is only CRLF keep-alive bytes (RFC 5626 §3.5.1). */
int sp_proxy_is_keepalive(const char *buf, size_t len);

#endif
