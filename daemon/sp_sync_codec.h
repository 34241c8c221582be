/*
 * State-sync records (SPEC §5): one binding or one dialog of an sp_table as
 * a compact, versioned byte string, and applying such a record to the
 * standby's table.
 *
 * Fields are explicit little-endian. The two machines' monotonic clocks
 * differ, so times travel relative to the sender's "now": ages for
 * created/last activity, remaining milliseconds (signed: a registration in
 * its grace period is already past) for deadlines. Media streams carry both
 * endpoints and both ports, and (version 3) both RTCP addresses and a NATed
 * terminal's latch; engine_flags do not travel (the new active installs its
 * kernel state itself).
 *
 * The record does not carry its id: the sync frame does.
 */
#ifndef SP_SYNC_CODEC_H
#define SP_SYNC_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sp_sync.h"
#include "sp_table.h"

#define SP_SYNC_CODEC_VERSION 1
/* A binding of a stream transport (TCP, TLS): version 1 and its transport
 * after the contact. A UDP binding's record stays version 1, byte for byte
 * (peers and stores of earlier versions read it as before); a peer that
 * knows only version 1 refuses a TCP binding's record, which it could not
 * serve. */
#define SP_SYNC_CODEC_VERSION_TRANSPORT 2
/* A dialog whose media a remote media proxy holds (issue 19 item 4):
 * version 1 and, after the media, the MP's name and the from- and to-tag
 * it knows the call by. A dialog without one stays version 1 byte for
 * byte; a peer or a store of version 1 only refuses the record (it could
 * not send the call's answer or delete to its MP). */
#define SP_SYNC_CODEC_VERSION_MEDIA_PROXY 3
/* A dialog whose streams carry what versions 1 and 3 cannot: RTCP elsewhere than
 * RTP + 1 (a=rtcp, or a NAT's mapping) or a terminal behind a NAT with
 * what it latched (struct sp_media_stream nat): version 3's fields (the MP
 * name empty when no MP holds the call) and the streams' own. Other
 * dialogs' records stay version 1 or 3; a peer or a store of an earlier version refuses this one
 * (an unreadable record), where it would have restored the stream with
 * RTCP on the wrong port and no latching. Version 1 and 3 records still
 * load: their RTCP is RTP + 1. */
#define SP_SYNC_CODEC_VERSION_MEDIA 4
/* A binding registered with SIP outbound (RFC 5626) over a stream: version
 * 2's fields and a flags byte (SP_SYNC_BINDING_OUTBOUND). Its flow does not
 * survive a restart or a takeover, and the flag is what says a request for
 * it is then answered 430 rather than carried over a new connection to its
 * Contact. Other bindings' records stay version 1 or 2 byte for byte; a
 * peer or a store of an earlier version refuses this one. */
#define SP_SYNC_CODEC_VERSION_BINDING_FLAGS 5
#define SP_SYNC_BINDING_OUTBOUND 0x01

/* A decoded binding record, times on the receiver's clock. */
struct sp_sync_binding_rec {
	uint32_t vpn;
	uint8_t transport;	/* enum sp_store_transport: a key, as vpn */
	struct sp_endpoint terminal;
	struct sp_endpoint virtual_server;
	struct sp_endpoint server_side;
	struct sp_endpoint server;
	uint32_t strategy_id;
	uint32_t origin_mark;	/* VPN and tag slots (sp_mark.h): answers re-tagged the same way */
	uint64_t created_ms;
	uint64_t last_activity_ms;
	uint64_t registration_expiry_ms;	/* 0: not registered */
	struct sp_learned_path return_path;
	char via_sent_by[SP_HOSTPORT_MAX];
	char contact[SP_HOSTPORT_MAX];
	bool outbound;		/* struct sp_binding outbound */
};

struct sp_sync_dialog_rec {
	uint32_t binding_id;
	struct sp_dialog_restore st;		/* state, cseq, session timer, times */
	unsigned n_media;
	struct sp_media_stream media[SP_DIALOG_MAX_MEDIA];	/* engine_flags 0 */
	uint16_t call_id_len;
	char call_id[SP_CALLID_MAX];
	char from_tag[SP_TAG_MAX];
	char to_tag[SP_TAG_MAX];
	char media_proxy[SP_NAME_MAX + 1];	/* "": none */
	char mp_from_tag[SP_TAG_MAX];
	char mp_to_tag[SP_TAG_MAX];
};

/* Encode into buf: the length, or -ENOSPC when cap is too small. */
ssize_t sp_sync_encode_binding(const struct sp_binding *b, uint64_t now_ms,
			       uint8_t *buf, size_t cap);
ssize_t sp_sync_encode_dialog(const struct sp_table *t, const struct sp_dialog *d,
			      uint64_t now_ms, uint8_t *buf, size_t cap);
/* Decode and validate every field: 0, or -EINVAL (out is then undefined). */
int sp_sync_decode_binding(const uint8_t *data, size_t len, uint64_t now_ms,
			   struct sp_sync_binding_rec *out);
int sp_sync_decode_dialog(const uint8_t *data, size_t len, uint64_t now_ms,
			  struct sp_sync_dialog_rec *out);

/*
 * A table seen through the sync channel: the sender's encode/next_id and the
 * receiver's apply and resync sweep, in the shape of struct
 * sp_sync_callbacks (the owner forwards its callbacks here).
 */
struct sp_sync_codec;

struct sp_sync_codec *sp_sync_codec_new(struct sp_table *t);
void sp_sync_codec_free(struct sp_sync_codec *c);
/* Length, 0 when (kind, id) does not exist (send a delete), < 0 on error. */
ssize_t sp_sync_codec_encode(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			     uint64_t now_ms, uint8_t *buf, size_t cap);
/* First id of kind greater than after; 0: none. */
uint32_t sp_sync_codec_next_id(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t after);
/*
 * Create (same id), update in place, or (len 0) delete (kind, id); a binding
 * delete deletes its dialogs first. Stale objects of this table that stand in
 * the way (same terminal, same C:c, same Call-ID on the binding, same id with
 * other keys) are deleted: the sender's state wins. 0, or a negative errno
 * with the record's object left as it was: -EINVAL (bad record), -ENOENT
 * (dialog of an unknown binding), or a table error (-EADDRINUSE, -ERANGE,
 * -SP_TABLE_ELIMIT, ...).
 */
int sp_sync_codec_apply(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			const uint8_t *data, size_t len, uint64_t now_ms);
/*
 * Full resync sweep: remember the ids applied from begin on; end deletes
 * every binding and dialog that was not applied, and returns how many
 * objects it removed. A second begin (the previous resync was cut off)
 * starts over.
 */
void sp_sync_codec_resync_begin(struct sp_sync_codec *c);
unsigned sp_sync_codec_resync_end(struct sp_sync_codec *c);
/*
 * Point encode, next_id, apply, resync_begin and resync_end of cb at this
 * codec (arg = c, "now" from sp_loop_now_ms()); peer_state and takeover are
 * left as they are, for the owner to fill.
 */
void sp_sync_codec_callbacks(struct sp_sync_codec *c, struct sp_sync_callbacks *cb);
/* Objects removed by the codec (deletes, stale, sweep), for the owner's view. */
struct sp_sync_codec_counters {
	uint64_t bindings_applied;
	uint64_t dialogs_applied;
	uint64_t deleted;		/* by delete records */
	uint64_t stale_removed;		/* in the way of a record */
	uint64_t swept;			/* not carried by a full resync */
};
const struct sp_sync_codec_counters *sp_sync_codec_counters(const struct sp_sync_codec *c);

#endif
