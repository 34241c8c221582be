/*
 * SIP message inspection and address rewriting (SPEC §2.3).
 *
 * For every datagram the engine calls sp_sip_inspect() (the scanner reads and
 * checks the header lines the proxy reads or rewrites, libosip2 only a
 * multipart body; the fields the engine keys its state on land in a fixed
 * struct),
 * then, for a message it proxies, sp_sip_rewrite() with a plan of address
 * substitutions. The rewrite splices only the changed fields into a
 * caller buffer: every other byte, header order and folding stay as they were.
 * Datagram bytes past Content-Length are not part of the message (RFC 3261
 * §18.3) and are not copied; Content-Length is fixed (or added) when the SDP
 * body changes. Neither call allocates beyond libosip2's own parse, which
 * goes to a per-thread arena: a msg is freed on the thread that inspected it.
 */
#ifndef SP_SIP_H
#define SP_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_sdp.h"

struct osip_message;

#define SP_SIP_MAX_MSG 65535    /* one UDP datagram */
#define SP_SIP_HOST_MAX 256     /* DNS name (253) or IPv6 text, plus NUL */
#define SP_SIP_ID_MAX 256       /* Call-ID, tags, branch; longer is refused */
#define SP_SIP_METHOD_MAX 32
#define SP_SIP_HDR_CACHE 48     /* header lines remembered from the inspection */

enum sp_sip_err {
	SP_SIP_OK = 0,
	SP_SIP_E_ARG,       /* bad argument or plan */
	SP_SIP_E_PARSE,     /* syntax refused by libosip2 or by the sanity checks */
	SP_SIP_E_MISSING,   /* Via, From, To, Call-ID or CSeq missing */
	SP_SIP_E_LENGTH,    /* Content-Length malformed or beyond the datagram */
	SP_SIP_E_TOOLONG,   /* a key field does not fit struct sp_sip_info */
	SP_SIP_E_NOMEM,
	SP_SIP_E_NOSPACE,   /* rewrite output buffer too small */
	SP_SIP_E_REWRITE,   /* the plan cannot be applied safely */
	SP_SIP_E_MEDIA,     /* the SDP port map refused a stream */
};

enum sp_sip_method {
	SP_SIP_UNKNOWN = 0,
	SP_SIP_INVITE,
	SP_SIP_ACK,
	SP_SIP_BYE,
	SP_SIP_CANCEL,
	SP_SIP_REGISTER,
	SP_SIP_OPTIONS,
	SP_SIP_PRACK,
	SP_SIP_UPDATE,
	SP_SIP_SUBSCRIBE,
	SP_SIP_NOTIFY,
	SP_SIP_REFER,
	SP_SIP_MESSAGE,
	SP_SIP_INFO,
	SP_SIP_PUBLISH,
};

/* A host (IPv6 without brackets) and port; port 0 = none written. */
struct sp_sip_hostport {
	char host[SP_SIP_HOST_MAX];
	uint16_t port;
};

struct sp_sip_info {
	bool is_request;
	enum sp_sip_method method;          /* request method */
	char method_name[SP_SIP_METHOD_MAX];
	int status;                         /* responses: 100..699 */
	struct sp_sip_hostport ruri;        /* sip:/sips: Request-URI ("" otherwise) */
	struct sp_sip_hostport via;         /* top Via sent-by */
	char via_branch[SP_SIP_ID_MAX];
	char via_received[SP_SIP_HOST_MAX]; /* "" if absent */
	bool via_rport;                     /* rport present (with or without value) */
	uint16_t via_rport_value;           /* 0 when the flag has no value */
	char call_id[SP_SIP_ID_MAX];
	uint32_t cseq;
	enum sp_sip_method cseq_method;
	char cseq_method_name[SP_SIP_METHOD_MAX];
	char from_tag[SP_SIP_ID_MAX];       /* "" if absent */
	char to_tag[SP_SIP_ID_MAX];
	unsigned n_contacts;
	bool contact_star;                  /* Contact: * */
	struct sp_sip_hostport contact;     /* first Contact */
	bool contact_outbound;              /* ... with +sip.instance and reg-id
					     * (RFC 5626 §4.2) */
	int64_t expires;                    /* first Contact's expires param, else
					     * Expires header; -1 if neither */
	int max_forwards;                   /* requests: -1 if absent */
	bool body_is_sdp;
	size_t body_offset;                 /* into the datagram */
	size_t body_len;                    /* per Content-Length */
};

struct sp_sip_msg {
	const char *buf;                    /* the datagram: not copied, must */
	size_t len;                         /* outlive the msg; bytes past
					     * Content-Length are not counted */
	struct osip_message *osip;          /* libosip2's tree, owned; read-only
					     * (it may live in the parse arena);
					     * NULL until sp_sip_osip() but for
					     * a multipart body */
	bool in_arena;                      /* holds a share of the arena */
	bool inspected;                     /* sp_sip_inspect() succeeded */
	struct sp_sip_info info;
	const char *reason;                 /* why the last call failed */
	/* The header lines the inspection found (offsets into buf), so that
	 * the rewrite does not scan them again; n_hdrs 0 or scanned_buf not
	 * buf: scanned again. */
	const char *scanned_buf;
	uint16_t n_hdrs;
	struct sp_sip_hdr_span {
		uint16_t start, name_e, val, val_e, end;
		uint8_t kind;
	} hdrs[SP_SIP_HDR_CACHE];
};

/* A host:port to match (port 0 = any) or to write (port 0 = none). */
struct sp_sip_addr {
	const char *host;
	uint16_t port;
};

struct sp_sip_addr_map {
	struct sp_sip_addr from;
	struct sp_sip_addr to;
};

enum sp_sip_param_op {
	SP_SIP_PARAM_KEEP = 0,
	SP_SIP_PARAM_SET,                   /* add or replace */
	SP_SIP_PARAM_REMOVE,
};

/* Every member is optional: a zeroed plan copies the message unchanged. */
struct sp_sip_plan {
	const struct sp_sip_addr *via_sent_by;      /* top Via sent-by */
	const char *via_transport;                  /* top Via's transport token */
	/* the transport parameter of every URI a map rewrites: NULL left as
	 * it is, "" removed, else set to this (each side on its own transport) */
	const char *uri_transport;
	enum sp_sip_param_op via_received_op;
	const char *via_received;
	enum sp_sip_param_op via_rport_op;
	uint16_t via_rport;                         /* SET with 0: bare "rport" */
	/* Contacts whose host:port is .from (every sip/sips one if
	 * .from.host is NULL) get .to. */
	const struct sp_sip_addr_map *contact;
	/* Request-URI, only when it names .from (E). */
	const struct sp_sip_addr_map *ruri;
	/* Route and Record-Route URIs: first matching pair applies. */
	const struct sp_sip_addr_map *routes;
	size_t n_routes;
	/* Max-Forwards written as this value when set (requests). */
	bool set_max_forwards;
	unsigned max_forwards;
	/* application/sdp body; zeroed = untouched. */
	struct sp_sdp_plan sdp;
};

/* Once per process, before any other call (idempotent, thread-safe). */
void sp_sip_global_init(void);

/* Parse and validate buf; on failure msg->reason says why (and needs no free). */
int sp_sip_inspect(struct sp_sip_msg *msg, const char *buf, size_t len);

/*
 * Write the rewritten datagram of an inspected msg into out. Returns 0 and
 * the length in *out_len, or an error: then out holds nothing usable and
 * nothing was written past out_size.
 */
int sp_sip_rewrite(struct sp_sip_msg *msg, const struct sp_sip_plan *plan,
		   char *out, size_t out_size, size_t *out_len);

void sp_sip_msg_free(struct sp_sip_msg *msg);

/*
 * libosip2's tree of an inspected msg, parsed on the first call (the
 * inspection reads its values from its own scan; only a multipart body is
 * split by libosip2 there): for tests and tools, not the message path.
 * NULL when msg was not inspected or libosip2 refuses it. Freed with msg.
 */
struct osip_message *sp_sip_osip(struct sp_sip_msg *msg);

/*
 * The lifetime a response (a REGISTER 200 OK: the registrar lists every
 * Contact of the AoR) gives the Contact at host:port (port 0: 5060): 1 and
 * *expires = its expires param, else the Expires header, else -1; 0 when
 * no Contact of the message is at host:port.
 */
int sp_sip_contact_expires(const struct sp_sip_msg *msg, const char *host, uint16_t port,
			   int64_t *expires);

const char *sp_sip_strerror(int err);
const char *sp_sip_method_name(enum sp_sip_method method);
enum sp_sip_method sp_sip_method_from_name(const char *name);

#endif
