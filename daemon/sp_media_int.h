/*
 * The media module's internals (daemon/sp_media.h), shared by its files and
 * nothing else: sp_media.c the sessions and streams, their kernel entries,
 * the active-standby export and import, the reconciliation and the read
 * API; sp_media_msg.c one message's SDP (begin, port map, commit, abort)
 * and the terminals behind a NAT (latching).
 */
#ifndef SP_MEDIA_INT_H
#define SP_MEDIA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_hash.h"
/* after sp_media.h (not included here: the layer check forbids a cycle) */

/* What one side announced for one stream. */
struct sp_media_side {
	struct sp_endpoint rtp, rtcp;
	bool known;
};


struct sp_media_session;

struct sp_media_sstream {
	struct sp_media_session *sess;
	uint16_t pe, pc;		/* 0: no ports (stream never offered) */
	struct sp_media_side term, far;
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
	/* The terminal is behind a NAT (its SDP named a private address, not
	 * the one its signalling comes from): term holds the signalling
	 * source's address, term_sdp what the SDP said. latch: the flows'
	 * source ports are learned from the packets the media guard drops
	 * (set for as long as the terminal is behind a NAT); latched_*: a
	 * flow learned one. */
	bool nat, latch, latched_rtp, latched_rtcp;
	struct sp_endpoint term_sdp;
};


struct sp_media_session {
	struct sp_hnode node;
	struct sp_media_session *prev, *next;	/* every session, for iteration */
	uint32_t dialog_id;
	struct sp_endpoint e, c;	/* addresses announced, port 0 */
	uint16_t zone, origin;		/* the terminal's VPN zone and mark bits */
	unsigned n;
	struct sp_media_sstream s[SP_SDP_MAX_STREAMS];
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
	struct sp_table *store;		/* its media allocator hands out the ports */
	bool own_store;			/* created here (no store given) */
	struct sp_hash_key key;
	struct sp_htab by_dialog;
	struct sp_media_session *sessions;
	/* stream by pe / 2: the kernel entry's E:pe names its stream */
	struct sp_media_sstream **by_pair;
	/* stream by pc / 2: a far side announcing C:pc is this SP's other leg */
	struct sp_media_sstream **by_cpair;
	uint32_t gen;
	void (*changed)(void *arg, uint32_t dialog_id);	/* sp_media_set_change_hook */
	void *changed_arg;
	struct sp_media_stats st;
	unsigned latching;		/* streams with latch set */
	struct {
		bool active;
		uint32_t dialog_id;
		enum sp_media_from from;
		struct sp_endpoint src;	/* the terminal's signalling source, or family 0 */
		struct sp_media_pending p[SP_SDP_MAX_STREAMS];
	} msg;
};

/* ---- shared between the media module's files ---- */

/* sp_media.c */
void sp_media_changed(const struct sp_media *m, uint32_t dialog_id);
struct sp_media_session *sp_media_find(const struct sp_media *m, uint32_t dialog_id);
void sp_media_release_pair(struct sp_media *m, uint16_t pe, uint16_t pc);
struct sp_media_session *sp_media_session_new(struct sp_media *m, uint32_t dialog_id);
void sp_media_set_latch(struct sp_media *m, struct sp_media_sstream *s, bool on);
void sp_media_sync(struct sp_media *m, struct sp_media_sstream *s);
bool sp_media_unspecified(const struct sp_endpoint *ep);

#endif
