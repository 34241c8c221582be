/*
 * Media state per dialog (SPEC §2.5): the ports the SP announces in SDP on
 * each side, what each side announced, and the kernel entries that carry
 * RTP/RTCP between them.
 *
 * Per stream (m= line, by index) the SP holds two RTP/RTCP port pairs from
 * `media-port-range`: pe, announced to the terminal with E, and pc,
 * announced to the far side with C. When both sides' addresses are known
 * (the offer and the answer, or a 183 with SDP for early media) one NATed
 * conntrack entry per RTP and per RTCP flow is programmed:
 * T:t -> E:pe becomes C:pc -> F:f, and back.
 *
 * A message's SDP is rewritten before the engine knows whether the message
 * will be sent (and, for an initial INVITE, before its dialog exists), so
 * the work comes in three steps: sp_media_begin(), the SDP port-map
 * callback sp_media_port_map() (called by sp_sdp_rewrite), then
 * sp_media_commit() or sp_media_abort().
 *
 * The entries are programmed when the message completing a stream is
 * committed, which the engine does before relaying it (media may follow
 * the answer at once). A terminal behind a NAT (a private SDP address
 * that is not its signalling source) gets the signalling source's address
 * and its flows' ports are learned from their first packets
 * (sp_media_latch). A stream the kernel refuses is counted and logged once
 * and retried by sp_media_reconcile().
 *
 * Kernel programming goes through struct sp_media_kernel, so the logic is
 * tested without root with a fake kernel.
 */
#ifndef SP_MEDIA_H
#define SP_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_conntrack.h"
#include "sp_endpoint.h"
#include "sp_sdp.h"

/* Timeout of a new entry; traffic then refreshes it with the kernel's UDP
 * timeouts, and the periodic reconciliation restores an entry that timed
 * out during a silence (a call on hold) while its dialog lives on. */
#define SP_MEDIA_CT_TIMEOUT_S 120

struct sp_media_kernel {
	int (*install)(void *arg, const struct sp_ct_nat *n);	/* 0 or -errno */
	int (*remove)(void *arg, const struct sp_ct_nat *n);	/* 0 or -errno */
	int (*counters)(void *arg, const struct sp_ct_nat *n, struct sp_ct_counters *c);
	int (*list)(void *arg, struct sp_ct_nat **out);	/* owned entries, malloc'ed */
	void *arg;
};

/* Which side sent the message whose SDP is being rewritten. */
enum sp_media_from {
	SP_MEDIA_FROM_TERMINAL,	/* rewritten towards the server: ports pc */
	SP_MEDIA_FROM_FAR,	/* rewritten towards the terminal: ports pe */
};

struct sp_media_stats {
	uint64_t sessions;		/* dialogs with media state now */
	uint64_t pairs_in_use;		/* RTP/RTCP port pairs allocated now */
	uint64_t streams_installed;	/* streams with kernel entries now */
	uint64_t streams_joined;	/* of which joined to another leg here */
	uint64_t entries_created;
	uint64_t entries_deleted;
	uint64_t kernel_errors;		/* every failed kernel call */
	uint64_t kernel_refusals;	/* streams the kernel refused (once each) */
	uint64_t nat_streams;		/* terminal SDP behind a NAT (private address) */
	uint64_t latched;		/* flows whose source port was learned */
	uint64_t ports_exhausted;
	uint64_t refused;		/* SDP the port map refused (message dropped) */
	uint64_t reconcile_removed;	/* owned entries no stream wanted */
	uint64_t reconcile_restored;	/* wanted entries found missing */
};

struct sp_media;

/*
 * kernel may be NULL: state is kept, nothing is programmed. store: the
 * session store, media's one home: its media allocator hands out the
 * streams' ports (sp_table_media_take for a message in progress) and its
 * dialogs' stream records (struct sp_media_stream) are the streams. The
 * media module reads them there and writes them there (a commit, a latch,
 * the media's end), so the store's change hook carries every change to the
 * state sync and the store on disk; it keeps only this node's kernel
 * entries. A message whose dialog is not in the store keeps nothing. NULL:
 * a store of the module's own, for ports only (tests).
 */
struct sp_table;
struct sp_media *sp_media_create(const struct sp_media_kernel *kernel, struct sp_table *store);
/* Removes every entry it installed and frees everything. */
void sp_media_destroy(struct sp_media *m);

/*
 * The port range (RTP even, RTCP = RTP + 1), the store's
 * (sp_table_set_media_range). A change while any port is used is refused
 * (-1, err says why): streams of running calls would otherwise hold ports
 * outside the range and the range's accounting would lie. 0 and 0: no range
 * (every SDP with a media port is refused).
 */
int sp_media_set_range(struct sp_media *m, uint16_t first, uint16_t last, char *err,
		       size_t errlen);

/* Starts one message. dialog_id 0: the dialog does not exist yet.
 * has_sdp false (no SDP body, or media off): the message changes nothing. */
void sp_media_begin(struct sp_media *m, uint32_t dialog_id, enum sp_media_from from,
		    bool has_sdp);
/* For a message from the terminal: where its signalling came from. An SDP
 * naming a private address other than src is taken as from behind a NAT:
 * src's address replaces it and the flows' ports are learned from their
 * first packets (sp_media_latch). Not called: the SDP is taken as it is. */
void sp_media_terminal_source(struct sp_media *m, const struct sp_endpoint *src);
/* The sp_sdp_port_map_fn for sp_sdp_plan; arg is the struct sp_media. */
int sp_media_port_map(void *arg, unsigned media_index, enum sp_sdp_port_kind kind,
		      const struct sp_sdp_stream *stream, uint16_t old_port, uint16_t *new_port);
/*
 * The message was rewritten and sent: write what it announced into the
 * dialog's stream records in the store and program the kernel for every stream whose two sides are known.
 * e and c: the addresses announced with pe and pc (ports ignored).
 * dialog_id 0 (the message belongs to no tracked dialog): as abort.
 */
void sp_media_commit(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
		     const struct sp_endpoint *c);
/* The same for a terminal in a VPN or behind a tag: zone is the conntrack
 * zone of its side, origin its mark bits (struct sp_ct_nat). */
void sp_media_commit_origin(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
			    const struct sp_endpoint *c, uint16_t zone, uint16_t origin);
/* The message was not sent: release what the port map allocated for it. */
void sp_media_abort(struct sp_media *m);
/* The dialog ended (BYE, CANCEL, failure, expiry): entries and ports go. */
void sp_media_dialog_end(struct sp_media *m, uint32_t dialog_id);
/* Every dialog's media ends (clear sessions). */
void sp_media_clear(struct sp_media *m);

/*
 * Active-standby and restart: the dialog's streams are its records in the
 * session store (filled by the state sync or from the disk); the media
 * module takes a view of them, claims their ports and programs the kernel
 * for the known ones (the new active taking over), in the VPN's conntrack
 * zone with its origin mark. Returns the streams restored, or -errno.
 */
int sp_media_import(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
		    const struct sp_endpoint *c, uint16_t zone, uint16_t origin);

/*
 * Compares the kernel's owned entries with the wanted ones: removes the
 * entries no stream wants (left by a crashed run, say) and restores wanted
 * ones that are missing. Returns removed + restored, or -errno.
 */
int sp_media_reconcile(struct sp_media *m);

/*
 * Symmetric RTP (latching, as rtpengine and nathelper do): a packet from
 * src to dst = E:pe (or E:pe+1) that no entry carried (the media guard
 * dropped it). When dst is a stream of a terminal behind a NAT and src has
 * the address its signalling came from, that flow is reprogrammed with
 * src's port; a flow that latched already moves again only while its entry
 * has carried nothing from the terminal. Returns 1 when an entry changed.
 */
int sp_media_latch(struct sp_media *m, const struct sp_endpoint *src, const struct sp_endpoint *dst);
/* Streams of terminals behind a NAT, which may still learn a flow's source
 * (the engine polls the media guard while there are any). */
unsigned sp_media_latching(const struct sp_media *m);

/* Stream i of a dialog, with kernel counters, for `show sessions detail`
 * (cli/sp_show): false when the dialog has no stream i with media ports. */
struct sp_media_stream_view {
	bool term_known, far_known;
	struct sp_endpoint term, far;	/* their RTP addresses */
	uint16_t pe, pc;		/* the media ports on E and on C */
	bool carried;			/* the kernel carries it now */
	bool joined;			/* terminal to terminal, with peer_dialog's leg */
	uint32_t peer_dialog;
	struct sp_endpoint peer_term;
	bool counted;			/* rtp, rtcp read from the kernel */
	struct sp_ct_counters rtp, rtcp; /* orig: to the far end; reply: to the terminal */
};
bool sp_media_stream_view(struct sp_media *m, uint32_t dialog_id, unsigned i,
			  struct sp_media_stream_view *v);
/* Streams of the dialog carried by the kernel now. */
unsigned sp_media_streams(struct sp_media *m, uint32_t dialog_id);
const struct sp_media_stats *sp_media_stats(struct sp_media *m);

#endif
