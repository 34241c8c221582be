/*
 * The session store (SPEC §1, §2.4; issue 16 item 3): terminal bindings,
 * dialogs and their media streams, the server-side (C:c) and media port
 * allocators, and their aging. Bindings are keyed with their transport and
 * address family (struct sp_binding_key). Every change is announced through
 * one hook (sp_table_watch): the state sync and the store on disk subscribe
 * there, so no caller marks changes for them.
 *
 * Pure data structures: no sockets, no clock reads. Every call that needs
 * the time takes "now" in milliseconds of a monotonic clock chosen by the
 * caller; the caller drives aging with sp_table_expire() and learns when to
 * call it next from sp_table_next_deadline().
 *
 * Lookups are O(1) (hash tables keyed with a per-table random secret),
 * iteration and get-next by id are O(log n) (red-black trees), the expiry
 * pass is O(expired * log n) (deadline-ordered tree). Nothing allocates
 * except creating an object or growing an index.
 *
 * Not thread-safe: one owner (the engine) uses a table.
 */
#ifndef SP_TABLE_H
#define SP_TABLE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"
#include "sp_valid.h"

#define SP_HOSTPORT_MAX 128	/* Via sent-by / Contact host:port, with NUL */
#define SP_CALLID_MAX 256	/* Call-ID, with NUL */
#define SP_TAG_MAX 96		/* From/To tag, with NUL */
#define SP_DIALOG_MAX_MEDIA 8
#define SP_TABLE_MAX_SERVER_ADDRS 8	/* distinct C addresses */

/* sp_dialog_create() returns -SP_TABLE_ELIMIT when the session limit is hit. */
#define SP_TABLE_ELIMIT EDQUOT

struct sp_table;

struct sp_table_config {
	uint16_t sig_port_first;	/* range of c, per server-side address C */
	uint16_t sig_port_last;
	uint16_t media_port_first;	/* RTP/RTCP pairs; 0 and 0: no media ports */
	uint16_t media_port_last;
	uint32_t session_limit;		/* dialogs; 0: unlimited */
	uint32_t binding_grace_ms;	/* kept after the registration expires */
	uint32_t binding_idle_ms;	/* kept after the last message */
	uint32_t early_timeout_ms;
	uint32_t confirmed_idle_ms;	/* confirmed dialog without session timer */
	uint32_t session_timer_grace_ms;	/* added to Session-Expires */
	uint32_t terminating_timeout_ms;	/* Timer F/H: 64 * T1 */
	uint32_t initial_buckets;
};

/* Called by sp_table_expire() for each object it removes, before freeing it. */
struct sp_binding;
struct sp_dialog;
struct sp_table_callbacks {
	void (*binding_expired)(void *arg, struct sp_binding *b);
	void (*dialog_expired)(void *arg, struct sp_dialog *d);
	void *arg;
};

struct sp_table_counters {
	uint64_t bindings_current;
	uint64_t bindings_created;
	uint64_t bindings_expired;
	uint64_t bindings_deleted;
	uint64_t dialogs_current;
	uint64_t dialogs_created;
	uint64_t dialogs_expired;
	uint64_t dialogs_deleted;
	uint64_t session_limit_hits;
	uint64_t sig_ports_exhausted;
	uint64_t media_ports_exhausted;
	uint64_t ports_quarantined_current;	/* C:c held for no binding */
	uint64_t ports_quarantined;		/* ever */
};

struct sp_table_memory {
	size_t binding_object;	/* one binding, index links included */
	size_t dialog_object;
	size_t per_binding;	/* object + its share of the index buckets */
	size_t per_dialog;
	size_t total;		/* everything the table holds right now */
};

/*
 * How a terminal's messages reach the SP: part of a binding's keys, so the
 * same A:a over UDP and over TCP are two bindings, and a C:c of one
 * transport is not found for another. Today every binding is UDP (the
 * default, 0); stream transports give theirs at creation. The state-sync
 * record does not carry it yet (every synced binding is UDP): a stream
 * transport adds it to the codec with its next record version.
 */
enum sp_store_transport {
	SP_STORE_UDP = 0,
	SP_STORE_TCP,
	SP_STORE_TLS,
};

/*
 * A binding's terminal key: {vpn, transport, family, A:a}. The address
 * family is the terminal's own (AF_INET or AF_INET6), spelled out so an
 * IPv6 terminal and an IPv4 one never meet in a comparison; the endpoint
 * carries it too (normalized, no stray bytes). Hashed as these bytes, no
 * padding: a lookup is one hash and one chain walk whatever the transport
 * and family (O(1)).
 */
struct sp_binding_key {
	uint32_t vpn;
	uint8_t transport;	/* enum sp_store_transport */
	uint8_t family;		/* terminal.family; filled by the table */
	uint16_t reserved;	/* 0 */
	struct sp_endpoint terminal;
};

/* Where a terminal's messages came from, to send answers back that way. */
struct sp_learned_path {
	int ifindex;			/* 0: not learned */
	bool has_mac;
	uint8_t prev_hop_mac[6];
	struct sp_endpoint prev_hop;	/* previous-hop IP (port 0) */
};

/*
 * Readable by everyone; changed only through the API, which announces each
 * change (sp_table_watch). Keys (vpn, terminal, server_side, id) and times
 * change only there.
 */
struct sp_binding {
	uint32_t id;			/* stable, for CLI/SNMP; never 0 */
	uint32_t vpn;
	uint8_t transport;		/* enum sp_store_transport, a key as vpn */
	struct sp_endpoint terminal;	/* A:a */
	struct sp_endpoint virtual_server;	/* E:e the terminal sent to */
	struct sp_endpoint server_side;	/* C:c */
	struct sp_endpoint server;	/* D:d */
	uint32_t strategy_id;
	uint32_t dialog_refs;		/* dialogs of this binding */
	uint64_t created_ms;
	uint64_t last_activity_ms;
	uint64_t registration_expiry_ms;	/* 0: not registered */
	/* de-registered: ends as soon as no dialog holds it (its registrar
	 * no longer routes to C:c, so keeping c would only risk handing it to
	 * the next terminal with the old mapping still alive elsewhere) */
	bool deregistered;
	/* registered with SIP outbound (RFC 5626) over a stream: the
	 * connection it holds to E is its flow, the only way to reach it (a
	 * request for it when that is gone is answered 430). Synced and
	 * stored: after a takeover or a restart its flow is gone, and a
	 * request for it is answered 430, not sent to its Contact. */
	bool outbound;
	struct sp_learned_path return_path;
	uint32_t origin_mark;		/* VPN and tag slots of its datagrams (sp_mark.h) */
	char via_sent_by[SP_HOSTPORT_MAX];	/* terminal's original, host[:port] */
	char contact[SP_HOSTPORT_MAX];
};

enum sp_dialog_state {
	SP_DIALOG_EARLY,
	SP_DIALOG_CONFIRMED,
	SP_DIALOG_TERMINATING,
	SP_DIALOG_TERMINATED,
};

/* What a terminal behind a NAT has learned (struct sp_media_stream nat). */
#define SP_STREAM_NAT 0x01		/* its SDP named a private address: terminal is
					 * the signalling source's address */
#define SP_STREAM_LATCH 0x02		/* its flows' source ports are still learned */
#define SP_STREAM_LATCHED_RTP 0x04	/* the RTP flow learned its source port */
#define SP_STREAM_LATCHED_RTCP 0x08	/* the RTCP flow learned its own */
#define SP_STREAM_NAT_ALL 0x0f

/*
 * One media stream of a dialog: the one record of it, which the state sync
 * and the store on disk carry, and which the media module (sp_media) reads
 * and writes as it is: it keeps no copy, only its kernel entries. The RTCP addresses are where each side's
 * RTCP goes (RFC 3550's RTP + 1, an a=rtcp, or the port a NAT mapped it
 * to); family 0: RTP + 1 (a record of a peer or a store that did not carry
 * them). A terminal behind a NAT (nat & SP_STREAM_NAT) has the signalling
 * source's address in terminal and terminal_rtcp, with the ports latched
 * from its first packets, and its SDP's own address in terminal_sdp.
 */
struct sp_media_stream {
	struct sp_endpoint terminal;	/* the terminal's RTP address:port */
	struct sp_endpoint far;		/* the far side's RTP address:port */
	struct sp_endpoint terminal_rtcp;	/* the terminal's RTCP, or family 0 */
	struct sp_endpoint far_rtcp;	/* the far side's RTCP, or family 0 */
	struct sp_endpoint terminal_sdp;	/* behind a NAT: what its SDP said */
	uint16_t terminal_side_port;	/* M port offered to the terminal (RTCP +1) */
	uint16_t far_side_port;		/* M port offered to the far side (RTCP +1) */
	uint8_t nat;			/* SP_STREAM_* */
	uint32_t engine_flags;		/* for the owner (e.g. kernel state installed) */
};

/* Same rules as struct sp_binding: read freely, change through the API. */
struct sp_dialog {
	uint32_t id;			/* stable, for CLI/SNMP; never 0 */
	uint32_t vpn;			/* the binding's */
	struct sp_binding *binding;
	enum sp_dialog_state state;
	uint32_t invite_cseq;
	uint32_t session_expires_s;	/* 0: no session timer */
	uint64_t created_ms;
	uint64_t updated_ms;
	unsigned n_media;
	struct sp_media_stream media[SP_DIALOG_MAX_MEDIA];
	uint16_t call_id_len;
	char call_id[SP_CALLID_MAX];
	char from_tag[SP_TAG_MAX];
	char to_tag[SP_TAG_MAX];
	/* the remote media proxy holding the call's media (issue 19), by its
	 * configured name; "": none (the kernel's, or no media). The MP knows
	 * the call by the Call-ID and these tags, as the last offer or answer
	 * sent to it carried them. */
	char media_proxy[SP_NAME_MAX + 1];
	char mp_from_tag[SP_TAG_MAX];
	char mp_to_tag[SP_TAG_MAX];
};

/*
 * The store's one change hook (issue 16 item 3). Every binding or dialog
 * inserted, updated or deleted through this API is announced, after the
 * change, to each watcher in the order they came: the state sync
 * (sp_redundancy), the store on disk (sp_persist). A dialog's media streams
 * travel with it: a change of its streams is an update of the dialog. A
 * mutator that changes nothing (a setter given the value already held)
 * announces nothing. Derived values (a binding's dialog_refs) are no
 * change of their own. Watchers only note what changed; they must not
 * change the store from the hook. tests/unit/test_store_hook.c drives every
 * mutator of this header and fails when one is not announced.
 */
enum sp_store_kind {
	SP_STORE_BINDING = 1,	/* the state sync's kinds (sp_sync_wire.h) */
	SP_STORE_DIALOG = 2,
};
enum sp_store_op {
	SP_STORE_INSERT,
	SP_STORE_UPDATE,
	SP_STORE_DELETE,	/* announced once the object is gone: id only */
};
struct sp_store_change {
	enum sp_store_kind kind;
	enum sp_store_op op;
	uint32_t id;
};
typedef void (*sp_store_watch_fn)(void *arg, const struct sp_store_change *c);
#define SP_TABLE_WATCHERS_MAX 4
/* 0, or -ENOSPC when SP_TABLE_WATCHERS_MAX are watching. */
int sp_table_watch(struct sp_table *t, sp_store_watch_fn fn, void *arg);
/* NULL-safe; a watcher not watching is ignored. */
void sp_table_unwatch(struct sp_table *t, sp_store_watch_fn fn, void *arg);

/* Table */
void sp_table_config_default(struct sp_table_config *cfg);
/* NULL with errno EINVAL (bad port range) or ENOMEM. cb may be NULL. */
struct sp_table *sp_table_create(const struct sp_table_config *cfg,
				 const struct sp_table_callbacks *cb);
/* Frees everything; no callbacks. */
void sp_table_destroy(struct sp_table *t);
void sp_table_set_session_limit(struct sp_table *t, uint32_t limit);
/* How long an early dialog waits for a final answer and a confirmed dialog
 * without session timer may stay silent (ms, 0: keep the current value). A
 * dialog takes the new value the next time its timeout restarts (its next
 * message or state change). */
void sp_table_set_dialog_timeouts(struct sp_table *t, uint32_t early_ms, uint32_t confirmed_idle_ms);
const struct sp_table_counters *sp_table_counters(const struct sp_table *t);
/* Bindings held by a source: src's address (its port ignored) in vpn. */
uint32_t sp_table_source_bindings(const struct sp_table *t, uint32_t vpn,
				  const struct sp_endpoint *src);
void sp_table_memory(const struct sp_table *t, struct sp_table_memory *mem);
/* Earliest deadline of any object, UINT64_MAX when nothing is armed. */
uint64_t sp_table_next_deadline(const struct sp_table *t);
/*
 * Remove every object whose deadline is <= now, earliest first, calling the
 * callback for each. Callbacks may look up or delete other objects, not the
 * one they are given. Returns the number of objects removed.
 */
unsigned sp_table_expire(struct sp_table *t, uint64_t now_ms);
const char *sp_table_strerror(int err);

/* Bindings */
struct sp_binding_params {
	uint32_t id;			/* 0: allocate (else e.g. synced from the peer) */
	uint32_t vpn;
	uint8_t transport;		/* enum sp_store_transport; 0: UDP */
	struct sp_endpoint terminal;
	struct sp_endpoint virtual_server;
	struct sp_endpoint server_side;	/* C; port 0 allocates c */
	struct sp_endpoint server;
	uint32_t strategy_id;
	uint32_t origin_mark;		/* VPN and tag slots (sp_mark.h) */
	const char *via_sent_by;	/* may be NULL */
	const char *contact;		/* may be NULL */
};

/*
 * 0 and *out, or -EEXIST (terminal or id already bound), -EADDRINUSE (C:c
 * taken), -ENOSPC (no c left), -ERANGE (given c outside the range),
 * -ENAMETOOLONG, -EINVAL, -ENOMEM, -E2BIG (too many C addresses).
 */
int sp_binding_create(struct sp_table *t, const struct sp_binding_params *p,
		      uint64_t now_ms, struct sp_binding **out);
/* The binding of key (its family is taken from the terminal). */
struct sp_binding *sp_binding_find_key(const struct sp_table *t, const struct sp_binding_key *key);
/* A UDP terminal's binding: sp_binding_find_key with SP_STORE_UDP. */
struct sp_binding *sp_binding_find(const struct sp_table *t, uint32_t vpn,
				   const struct sp_endpoint *terminal);
/* The binding whose C:c of that transport is server_side. */
struct sp_binding *sp_binding_find_server_side_on(const struct sp_table *t, uint8_t transport,
						  const struct sp_endpoint *server_side);
/* The same for UDP. */
struct sp_binding *sp_binding_find_server_side(const struct sp_table *t,
					       const struct sp_endpoint *server_side);
struct sp_binding *sp_binding_find_id(const struct sp_table *t, uint32_t id);
/* In id order; get_next returns the first binding with an id > id. */
struct sp_binding *sp_binding_first(const struct sp_table *t);
struct sp_binding *sp_binding_next(const struct sp_table *t, const struct sp_binding *b);
struct sp_binding *sp_binding_get_next(const struct sp_table *t, uint32_t id);
/* 0, or -EBUSY while dialogs refer to it. Releases c. */
int sp_binding_delete(struct sp_table *t, struct sp_binding *b);
/* A message passed: restart the idle timeout. */
void sp_binding_touch(struct sp_table *t, struct sp_binding *b, uint64_t now_ms);
/* REGISTER accepted with this expiry (0: de-registered). Also a touch. */
void sp_binding_set_registration(struct sp_table *t, struct sp_binding *b,
				 uint64_t now_ms, uint32_t expires_s);
/* The registrar ended the registration (expires=0, or its 200 OK no longer
 * lists C:c): the binding goes at once, or when its last dialog ends. A
 * later registration (expires > 0) keeps it again. */
void sp_binding_deregister(struct sp_table *t, struct sp_binding *b);
/* 0 or -ENAMETOOLONG. */
int sp_binding_set_via_sent_by(struct sp_binding *b, const char *hostport);
int sp_binding_set_contact(struct sp_binding *b, const char *hostport);
/* Where the terminal's messages now come from (the return path learned). */
void sp_binding_set_return_path(struct sp_binding *b, const struct sp_learned_path *path);
/* Registered with SIP outbound or not (each REGISTER says it again); only
 * a stream transport's binding is ever outbound. */
void sp_binding_set_outbound(struct sp_binding *b, bool outbound);

/* Dialogs */
struct sp_dialog_params {
	uint32_t id;			/* 0: allocate */
	struct sp_binding *binding;
	const char *call_id;
	size_t call_id_len;
	const char *from_tag;		/* may be NULL */
	const char *to_tag;		/* may be NULL */
	uint32_t invite_cseq;
	enum sp_dialog_state state;	/* usually SP_DIALOG_EARLY */
};

/*
 * 0 and *out, or -SP_TABLE_ELIMIT (session limit), -EEXIST (same Call-ID on
 * the same binding, or id in use), -ENAMETOOLONG, -EINVAL, -ENOMEM.
 * The same Call-ID may exist once per binding (a call between two terminals
 * through the SP via a non-B2BUA server).
 */
int sp_dialog_create(struct sp_table *t, const struct sp_dialog_params *p,
		     uint64_t now_ms, struct sp_dialog **out);
/* binding NULL: any binding (the first found). */
struct sp_dialog *sp_dialog_find(const struct sp_table *t, uint32_t vpn,
				 const char *call_id, size_t call_id_len,
				 const struct sp_binding *binding);
struct sp_dialog *sp_dialog_find_id(const struct sp_table *t, uint32_t id);
struct sp_dialog *sp_dialog_first(const struct sp_table *t);
struct sp_dialog *sp_dialog_next(const struct sp_table *t, const struct sp_dialog *d);
struct sp_dialog *sp_dialog_get_next(const struct sp_table *t, uint32_t id);
/* Releases the media ports and the binding reference. */
void sp_dialog_delete(struct sp_table *t, struct sp_dialog *d);
/*
 * States only move forward (-EINVAL otherwise); each one re-arms the
 * dialog's timeout from now. TERMINATED removes it at the next expiry pass.
 */
int sp_dialog_set_state(struct sp_table *t, struct sp_dialog *d,
			enum sp_dialog_state state, uint64_t now_ms);
/* A message of the dialog passed: restart its timeout (early/confirmed). */
void sp_dialog_touch(struct sp_table *t, struct sp_dialog *d, uint64_t now_ms);
/* Session timer negotiated (RFC 4028), 0 to drop it; also a touch. */
void sp_dialog_set_session_expires(struct sp_table *t, struct sp_dialog *d,
				   uint32_t seconds, uint64_t now_ms);
int sp_dialog_set_to_tag(struct sp_dialog *d, const char *tag);
/* The remote MP holding the call's media and the tags it knows the call by
 * (name "" or NULL: none, tags cleared). 0, or -ENAMETOOLONG (unchanged). */
int sp_dialog_set_media_proxy(struct sp_table *t, struct sp_dialog *d, const char *name,
			      const char *from_tag, const char *to_tag);
/*
 * Add a stream and allocate its two RTP/RTCP port pairs (none when the table
 * has no media range). 0 and *out, -E2BIG (SP_DIALOG_MAX_MEDIA reached) or
 * -ENOSPC (media ports exhausted).
 */
int sp_dialog_add_media(struct sp_table *t, struct sp_dialog *d,
			const struct sp_endpoint *terminal, const struct sp_endpoint *far,
			struct sp_media_stream **out);
/* Drop every stream and release its ports (e.g. before a re-INVITE's). */
void sp_dialog_clear_media(struct sp_table *t, struct sp_dialog *d);
const char *sp_dialog_state_name(enum sp_dialog_state state);

/*
 * State sync (SPEC §5): the standby applies what the active peer holds, with
 * the same ids, keys, ports and deadlines (times already converted to this
 * machine's clock by the caller).
 */
/* Where a binding's messages go and how they are marked: what the peer's
 * (or the disk's) record says beside the keys, strings and times. */
struct sp_binding_route {
	struct sp_endpoint virtual_server;	/* E:e */
	struct sp_endpoint server;		/* D:d */
	uint32_t strategy_id;
	uint32_t origin_mark;
};
/* Announced when any of them changed. */
void sp_binding_set_route(struct sp_table *t, struct sp_binding *b,
			  const struct sp_binding_route *r);
/* Times as the peer had them; re-arms the binding's aging. */
void sp_binding_restore_times(struct sp_table *t, struct sp_binding *b, uint64_t created_ms,
			      uint64_t last_activity_ms, uint64_t registration_expiry_ms);
/*
 * Give a binding another A:a and/or C:c (same VPN). 0, or -EEXIST (another
 * binding has the terminal), -EADDRINUSE (C:c taken), -ERANGE (c outside the
 * range), -E2BIG (too many C addresses), -EINVAL; unchanged on error.
 */
int sp_binding_rekey(struct sp_table *t, struct sp_binding *b,
		     const struct sp_endpoint *terminal, const struct sp_endpoint *server_side);
struct sp_dialog_restore {
	enum sp_dialog_state state;	/* any: a synced dialog may move back */
	uint32_t invite_cseq;
	uint32_t session_expires_s;
	uint64_t created_ms;
	uint64_t updated_ms;
	uint64_t deadline_ms;		/* when the dialog ages out */
};
/* 0 or -EINVAL (bad state). */
int sp_dialog_restore(struct sp_table *t, struct sp_dialog *d, const struct sp_dialog_restore *r);
/* The dialog's current aging deadline. */
uint64_t sp_dialog_deadline(const struct sp_table *t, const struct sp_dialog *d);
/*
 * Replace every stream of d with ms[0..n) keeping their given ports (taken
 * from the media allocator, or adopted when the message in progress took
 * them: sp_table_media_take; stored as given when the table has no media
 * range). Atomic: 0, or -E2BIG (n too large), -EINVAL (bad endpoint, a port
 * given twice), -ERANGE (not a media port of this table), -EADDRINUSE (held
 * by another dialog), and d unchanged.
 */
int sp_dialog_set_media(struct sp_table *t, struct sp_dialog *d,
			const struct sp_media_stream *ms, unsigned n);

/*
 * Media ports (issue 16 item 3: one home for media). The store's media
 * allocator is the only one: a port pair (RTP even, RTCP + 1) is used while
 * a dialog's stream record holds it (sp_dialog_set_media, add_media) or
 * while the message in progress took it and no dialog holds it yet.
 *
 * The range, 0 and 0 for none. 0, or -EBUSY while any port of the current
 * range is used (streams of running calls would hold ports outside the new
 * one), -EINVAL or -ENOMEM. Dialogs already in the table (restored from the
 * store before the configuration came) keep their ports: those in the new
 * range are counted as used.
 */
int sp_table_set_media_range(struct sp_table *t, uint16_t first, uint16_t last);
/*
 * The range of c on every C (`signaling-port-range`), in one step: every
 * pool's allocator is replaced by one over first..last holding the ports
 * in use now (bindings and quarantined ports, which keep their c). 0;
 * -EBUSY when a port in use lies outside first..last (*outside: how many),
 * nothing changed; -EINVAL (empty range) or -ENOMEM, nothing changed.
 */
int sp_table_set_signaling_range(struct sp_table *t, uint16_t first, uint16_t last,
				 unsigned *outside);
/* Ports of the range in use now (held or taken). */
unsigned sp_table_media_used(const struct sp_table *t);
/* Is port one of the range's (even, inside it)? */
bool sp_table_media_in_range(const struct sp_table *t, uint16_t port);
/*
 * A message being rewritten takes a pair for a new stream before its dialog
 * exists or before it is known whether it will be sent: 0 and *port,
 * -ERANGE (no range) or -ENOSPC (counted as media_ports_exhausted). The
 * dialog adopts it when sp_dialog_set_media gives it in a stream; a message
 * not sent gives it back with sp_table_media_release, which leaves a port a
 * dialog holds alone (so a half-processed message never leaves one used).
 */
int sp_table_media_take(struct sp_table *t, uint16_t *port);
void sp_table_media_release(struct sp_table *t, uint16_t port);

/*
 * Restart (daemon/sp_persist). A binding's deadline: when it ages out if no
 * dialog holds it (registration plus grace, or idle time, whichever is later).
 */
uint64_t sp_binding_deadline(const struct sp_table *t, const struct sp_binding *b);
/*
 * Hold C:c out of the allocator until until_ms (released by the expiry
 * pass, which counts it as removed): the port of a binding that was not
 * restored, which a registrar may still route calls to. 0, or -EADDRINUSE,
 * -ERANGE, -E2BIG, -EINVAL, -ENOMEM.
 */
int sp_table_quarantine(struct sp_table *t, const struct sp_endpoint *server_side,
			uint64_t until_ms);
/* O(quarantined): for show commands and tests. */
bool sp_table_is_quarantined(const struct sp_table *t, const struct sp_endpoint *server_side,
			     uint64_t *until_ms);

#endif
