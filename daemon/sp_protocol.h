/*
 * The protocol seam (issue 16 item 2): what the engine asks of a signalling
 * protocol, as one table of operations. The engine holds bindings, sockets,
 * media and the kernel; the protocol knows its messages: what one is
 * (inspect), which binding and dialog it belongs to (keys), how it reads
 * towards the server and towards the terminal (rewrites), what it does to
 * the dialog state (track), what the proxy answers itself when it refuses
 * one (refuse), how long a registration lives (lifetime), where a binding's
 * contact is (contact_address), which media streams its session
 * description announces (media_ports), where a rewritten message's body
 * is and how it reads with another (body, with_body: a remote media
 * proxy's SDP), whether a body's media address is another than its
 * sender's (media_elsewhere: a terminal behind a NAT), and the probes the
 * proxy answers itself on the signalling port (probe: SIP's STUN
 * keep-alives). The engine knows no body format and no probe format.
 *
 * SIP (daemon/sip/, sp_sip_protocol()) is the first implementation; a
 * second protocol (MGCP, H.248) is a new folder implementing this table,
 * not edits across the engine. The engine reaches SIP only through it.
 *
 * A message is inspected into a struct sp_proto_msg the engine owns (on its
 * stack): the fields the engine decides on are protocol-neutral, the rest
 * is the protocol's own (priv). Every operation runs on the loop thread;
 * none keeps a pointer past its return.
 *
 * Not behind it yet: the stream framing of SIP over TCP (daemon/sp_frame,
 * Content-Length) sits with the TCP transport.
 */
#ifndef SP_PROTOCOL_H
#define SP_PROTOCOL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"
#include "sp_sdp.h"

struct sp_table;
struct sp_binding;

/* Room for a protocol's own parse of one message (SIP: struct sp_sip_msg) */
#define SP_PROTO_MSG_PRIV 4096
/* A hop or contact as host[:port] text, with NUL (as the binding keeps it) */
#define SP_PROTO_HOSTPORT_MAX 128

/* One inspected message: what the engine decides on, then the protocol's own. */
struct sp_proto_msg {
	bool is_request;
	bool answerable;	/* a request that gets a response (SIP: not an ACK) */
	bool ends_here;		/* acknowledges a refusal of the proxy's own: goes no further */
	bool hops_exhausted;	/* a request that may not be forwarded again (Max-Forwards 0) */
	bool has_media;		/* carries a session description (SDP) */
	bool registered;	/* a success answer to a registration: the binding's lifetime */
	bool offer;		/* may carry an SDP offer (SIP: INVITE, UPDATE) */
	bool answer;		/* may carry an SDP answer (SIP: ACK, 18x/2xx to INVITE/UPDATE) */
	int status;		/* responses: the status code, for the log */
	const char *session;	/* the dialog key (SIP: Call-ID), NUL-terminated */
	size_t session_len;
	const char *from_tag;	/* the parties' tags, "" when absent (a media proxy's keys) */
	const char *to_tag;
	const char *reason;	/* why inspect failed */
	alignas(max_align_t) unsigned char priv[SP_PROTO_MSG_PRIV];
};

/* What a terminal's message says of its binding (keys) */
struct sp_proto_keys {
	/* a request's own first hop, where its responses go back ("": none) */
	char via[SP_PROTO_HOSTPORT_MAX];
	/* the contact the terminal gives as its own ("": none, e.g. a 3xx) */
	char contact[SP_PROTO_HOSTPORT_MAX];
	/* a registration of that contact (SIP: a REGISTER) */
	bool registers;
	/* ... with a flow of its own (SIP outbound, RFC 5626 §4.2: the
	 * Contact's +sip.instance and reg-id): the terminal is reached over
	 * the connection it registered on, never a new one */
	bool outbound;
};

/* Everything a rewrite needs besides the message. */
struct sp_proto_route {
	const struct sp_binding *binding;
	/* media in the kernel: session descriptions are readdressed (to C
	 * towards the server, to E towards the terminal) and their ports go
	 * through port_map; false: left alone */
	bool media;
	sp_sdp_port_map_fn port_map;
	void *port_map_arg;
	/* towards the terminal: drop what names the server's software */
	bool hide_server_identity;
	/* the transport each side is on (SIP: the Via and URIs name it) */
	bool terminal_tcp;	/* a stream: TCP, or TLS when *_tls */
	bool server_tcp;
	bool terminal_tls;
	bool server_tls;
};

/* The refusals the proxy gives itself */
enum sp_proto_refusal {
	SP_PROTO_UNAVAILABLE,	/* a limit, or no media port (SIP 503) */
	SP_PROTO_TOO_MANY_HOPS,	/* SIP 483 */
	SP_PROTO_TOO_LARGE,	/* rewritten beyond the message size limit (SIP 513) */
	SP_PROTO_FLOW_FAILED,	/* the terminal's flow is gone (SIP 430, RFC 5626 §5.3) */
};

/* What track did */
struct sp_proto_track {
	uint32_t dialog;	/* the dialog the message belongs to (0: none) */
	bool created;		/* by this message */
	bool deleted;		/* by this message: dialog is gone */
	bool media_ends;	/* that dialog's media ends with this message */
};

/* track's return when a new dialog would exceed the table's session limit */
#define SP_PROTO_OVER_LIMIT (-1)

/* What probe made of a datagram on the signalling port */
enum sp_proto_probe {
	SP_PROTO_NOT_PROBE,	/* none of the protocol's probes: a message to inspect */
	SP_PROTO_PROBE_ANSWERED, /* a request: its success answer is in out */
	SP_PROTO_PROBE_REFUSED,	/* a request: an error answer is in out */
	SP_PROTO_PROBE_QUIET,	/* a keep-alive that wants no answer */
	SP_PROTO_PROBE_IGNORED,	/* dropped (malformed, a response): reason says why */
};

struct sp_protocol {
	const char *name;
	/* once per process, before any message */
	void (*init)(void);
	/* a keep-alive of the protocol's own (SIP: CRLF, RFC 5626 §3.5.1) */
	bool (*is_keepalive)(const char *buf, size_t len);
	/* 0, or an error with m->reason set; release m either way. buf must
	 * outlive m. */
	int (*inspect)(struct sp_proto_msg *m, const char *buf, size_t len);
	void (*release)(struct sp_proto_msg *m);
	/* a response that came back through hop (its top Via is hop) */
	bool (*came_through)(const struct sp_proto_msg *m, const struct sp_endpoint *hop);
	void (*keys)(const struct sp_proto_msg *m, struct sp_proto_keys *k);
	/* the rewritten message into out: 0, or an error (SP_PROTO_E_MEDIA:
	 * the port map refused a stream) */
	int (*to_server)(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			 size_t out_size, size_t *out_len);
	int (*to_terminal)(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			   size_t out_size, size_t *out_len);
	/* the dialog state this message changes in t, for binding b: 0, or
	 * SP_PROTO_OVER_LIMIT (the message must be refused) */
	int (*track)(struct sp_table *t, struct sp_binding *b, const struct sp_proto_msg *m,
		     uint64_t now_ms, struct sp_proto_track *out);
	/* the proxy's own answer to m (buf its bytes): its length, 0 when m
	 * gets none (a response, an ACK) or it does not fit; retry_after in
	 * seconds, 0: not said */
	size_t (*refuse)(const struct sp_proto_msg *m, const char *buf, size_t len,
			 enum sp_proto_refusal why, unsigned retry_after, char *out, size_t out_size);
	/* the lifetime a registration answer gives the contact at c: 1 and
	 * *expires (-1: not said), or 0 when c is not registered any more */
	int (*lifetime)(const struct sp_proto_msg *m, const struct sp_endpoint *c, int64_t *expires);
	/* the address of the contact binding b keeps (where the terminal
	 * says it is reached): 0, or -1 when it has none or it is a name */
	int (*contact_address)(const struct sp_binding *b, struct sp_endpoint *out);
	/* the body of a message out of to_server/to_terminal: 0 and where it
	 * is, or -1 when it has none */
	int (*body)(const char *msg, size_t len, const char **body, size_t *body_len);
	/* that message with its body replaced (a remote media proxy's SDP),
	 * its length fields to match: malloc'd, NULL when out of memory */
	char *(*with_body)(const char *msg, size_t len, const char *body, size_t body_len,
			   size_t *out_len);
	/* the media streams m's session description announces: 0, or -1 when
	 * it has none or it cannot be read */
	int (*media_ports)(const struct sp_proto_msg *m, struct sp_sdp_info *out);
	/* whether a body (as body() found it) gives a media address other
	 * than sender's: the sender is behind a NAT (false: the same, or it
	 * cannot tell) */
	bool (*media_elsewhere)(const char *body, size_t body_len, const struct sp_endpoint *sender);
	/* a probe the proxy answers itself on the signalling port from a
	 * terminal at from (SIP: a STUN message, RFC 5626 §4.4.2, checked
	 * before is_keepalive): what it is, the answer in out (*out_len, 0:
	 * none) and, when refused or ignored, why in *reason */
	enum sp_proto_probe (*probe)(const char *buf, size_t len, const struct sp_endpoint *from,
				     char *out, size_t out_size, size_t *out_len, const char **reason);
};

/* to_server/to_terminal: the port map refused a stream (no free port) */
#define SP_PROTO_E_MEDIA (-2)

#endif
