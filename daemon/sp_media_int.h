/*
 * The media module's internals (daemon/sp_media.h), shared by its files and
 * nothing else: sp_media.c the sessions and their views of the store's
 * stream records, their kernel entries, the view taken at a restart or
 * takeover (import), the reconciliation and the read API; sp_media_msg.c one message's SDP (begin, port map, commit, abort)
 * and the terminals behind a NAT (latching).
 */
#ifndef SP_MEDIA_INT_H
#define SP_MEDIA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_hash.h"
#include "sp_table.h"
/* after sp_media.h (not included here: the layer check forbids a cycle) */

/* What one side announced for one stream: a value read from (or about to
 * be written into) the store's stream record, never kept. */
struct sp_media_side {
	struct sp_endpoint rtp, rtcp;
	bool known;
};

/* A dialog has at most as many streams as its record in the store holds. */
#define SP_MEDIA_MAX_STREAMS SP_DIALOG_MAX_MEDIA

struct sp_media_session;

/*
 * One stream as this node's kernel carries it: a view of the store's
 * stream record (struct sp_media_stream, the dialog's media[i] in the
 * session store), which is the one home of the ports, both sides' RTP and
 * RTCP, the SDP's private address and the NAT latch; sp_media reads them
 * there and writes them there (sp_dialog_set_media), so a restart, a
 * takeover or a write through the store is what it sees. What is kept here
 * is this node's own, on purpose, and must not travel: the conntrack
 * entries as installed and their refusal, the joined leg they were
 * installed with, the reconciliation's marks, and the index slots.
 */
struct sp_media_stream;
struct sp_media_sstream {
	struct sp_media_session *sess;	/* its index in sess->s is the record's */
	/* The slots it holds in by_pair (key_pe / 2) and by_cpair (key_pc /
	 * 2), 0: none (the stream has no ports, or they are not this node's
	 * range). The index's keys, not the ports' home: they free the slots
	 * and the pair when the record is gone already (the protocol deletes
	 * the dialog before the engine ends its media). */
	uint16_t key_pe, key_pc;
	bool installed;
	bool installed_joined;		/* what is installed is a joined pair */
	struct sp_ct_nat rtp, rtcp;	/* as installed */
	/* The other leg's stream when both legs of a call pass this SP (see
	 * sp_media_peer): one of the two (the lower pe) owns the entries. */
	struct sp_media_sstream *peer;
	uint32_t seen_gen_rtp, seen_gen_rtcp;	/* reconciliation pass marks */
	/* The kernel refused the entries: the reconciliation retries them,
	 * and the refusal is counted and logged once for the stream. */
	bool refused, refusal_logged;
	/* Counted in sp_media's latching (the latch poll's index over the
	 * records' SP_STREAM_LATCH, brought up to date whenever this node
	 * writes or adopts the record). */
	bool latch_counted;
};


struct sp_media_session {
	struct sp_hnode node;
	struct sp_media_session *prev, *next;	/* every session, for iteration */
	uint32_t dialog_id;
	/* what the entries are installed against: the binding's addresses
	 * (port 0), its VPN zone and mark bits, as the last commit gave them */
	struct sp_endpoint e, c;
	uint16_t zone, origin;
	unsigned n;			/* streams with a view here */
	struct sp_media_sstream s[SP_MEDIA_MAX_STREAMS];
};


/* What the port map saw in the message being rewritten. */
struct sp_media_pending {
	bool seen;
	bool allocated;			/* pe/pc are new: release on abort */
	uint16_t pe, pc;
	struct sp_media_side side;
};


struct sp_media {
	struct sp_media_kernel k;
	bool have_kernel;
	/* the session store: its media allocator hands out the ports, its
	 * dialogs' stream records are the streams */
	struct sp_table *store;
	bool own_store;			/* created here (no store given) */
	struct sp_hash_key key;
	struct sp_htab by_dialog;
	struct sp_media_session *sessions;
	/* stream by pe / 2: the kernel entry's E:pe names its stream */
	struct sp_media_sstream **by_pair;
	/* stream by pc / 2: a far side announcing C:pc is this SP's other leg */
	struct sp_media_sstream **by_cpair;
	uint32_t gen;
	struct sp_media_stats st;
	unsigned latching;		/* streams with latch set */
	struct {
		bool active;
		uint32_t dialog_id;
		enum sp_media_from from;
		struct sp_endpoint src;	/* the terminal's signalling source, or family 0 */
		struct sp_media_pending p[SP_MEDIA_MAX_STREAMS];
	} msg;
};

/* ---- shared between the media module's files ---- */

/* sp_media.c */
struct sp_media_session *sp_media_find(const struct sp_media *m, uint32_t dialog_id);
void sp_media_release_pair(struct sp_media *m, uint16_t pe, uint16_t pc);
struct sp_media_session *sp_media_session_new(struct sp_media *m, uint32_t dialog_id);
struct sp_dialog *sp_media_dialog(const struct sp_media *m, const struct sp_media_sstream *s,
				  unsigned *i);
const struct sp_media_stream *sp_media_rec(const struct sp_media *m,
					   const struct sp_media_sstream *s);
struct sp_media_side sp_media_side_from(const struct sp_endpoint *rtp,
					const struct sp_endpoint *rtcp);
void sp_media_put_side(struct sp_endpoint *rtp, struct sp_endpoint *rtcp,
		       const struct sp_media_side *side);
void sp_media_count_latch(struct sp_media *m, struct sp_media_sstream *s);
void sp_media_index(struct sp_media *m, struct sp_media_sstream *s,
		    const struct sp_media_stream *r);
void sp_media_sync(struct sp_media *m, struct sp_media_sstream *s);
bool sp_media_unspecified(const struct sp_endpoint *ep);

#endif
