/*
 * State-sync records: encoding and validating decode (applying them to a
 * table: sp_sync_codec_table.c).
 *
 * Binding record (version 1), little-endian:
 *   u8 version, u32 vpn, ep terminal, ep virtual_server, ep server_side,
 *   ep server, u32 strategy_id, u32 origin_mark, u64 created age, u64 last-activity age,
 *   u8 registered, i64 registration remaining, i32 ifindex, u8 has_mac,
 *   6 bytes mac, ep prev_hop, str via_sent_by, str contact
 * Binding record of a stream transport (version 2): version 1's fields,
 *   then u8 transport (enum sp_store_transport); UDP's stays version 1.
 * Binding record of an outbound binding (version 5): version 2's fields,
 *   then u8 flags (SP_SYNC_BINDING_OUTBOUND); written only for one.
 * Dialog record (version 1):
 *   u8 version, u32 binding id, u8 state, u32 invite_cseq,
 *   u32 session_expires_s, u64 created age, u64 updated age, u8 armed,
 *   i64 deadline remaining, str call_id, str from_tag, str to_tag,
 *   u8 n_media, n x (ep terminal, ep far, u16 terminal-side port,
 *   u16 far-side port)
 * Dialog record of a call a remote media proxy holds (version 3): version
 *   1's fields, then str media proxy (not empty), str its from-tag, str its
 *   to-tag; other dialogs stay version 1.
 * Dialog record with the streams' RTCP and NAT latch (version 4): version
 *   3's fields (the media proxy may be empty), then n x (ep terminal RTCP, ep far RTCP, ep terminal SDP
 *   address, u8 nat flags SP_STREAM_*); written only when a stream has
 *   any of them other than what version 1 implies (RTCP on RTP + 1, no NAT),
 *   so other dialogs' records stay version 1 or 3, byte for byte.
 * ep: u8 family (0, 4, 6), u16 port, then 0, 4 or 16 address bytes.
 * str: u16 length, bytes (no NUL).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sp_sync_codec.h"
#include "sp_valid.h"

/* Writing */

struct writer {
	uint8_t *p;
	size_t cap, len;
	bool overflow;
};

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_le(struct writer *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, n);
}

static void put_ep(struct writer *w, const struct sp_endpoint *ep)
{
	if (ep->family == AF_INET) {
		put_u8(w, 4);
		put_le(w, ep->port, 2);
		put_bytes(w, &ep->addr.v4, 4);
	} else if (ep->family == AF_INET6) {
		put_u8(w, 6);
		put_le(w, ep->port, 2);
		put_bytes(w, &ep->addr.v6, 16);
	} else {
		put_u8(w, 0);
		put_le(w, 0, 2);
	}
}

static void put_str(struct writer *w, const char *s, size_t len)
{
	put_le(w, len, 2);
	put_bytes(w, s, len);
}

/* Age of a past time, 0 for one in the future. */
static uint64_t age_of(uint64_t t, uint64_t now_ms)
{
	return now_ms > t ? now_ms - t : 0;
}

static int64_t remaining_of(uint64_t deadline, uint64_t now_ms)
{
	if (deadline >= now_ms)
		return deadline - now_ms > INT64_MAX ? INT64_MAX : (int64_t)(deadline - now_ms);
	return now_ms - deadline > INT64_MAX ? -INT64_MAX : -(int64_t)(now_ms - deadline);
}

ssize_t sp_sync_encode_binding(const struct sp_binding *b, uint64_t now_ms,
			       uint8_t *buf, size_t cap)
{
	struct writer w = { .p = buf, .cap = cap };

	bool outbound = b->outbound && b->transport != SP_STORE_UDP;

	put_u8(&w, outbound ? SP_SYNC_CODEC_VERSION_BINDING_FLAGS
		   : b->transport == SP_STORE_UDP ? SP_SYNC_CODEC_VERSION
						  : SP_SYNC_CODEC_VERSION_TRANSPORT);
	put_le(&w, b->vpn, 4);
	put_ep(&w, &b->terminal);
	put_ep(&w, &b->virtual_server);
	put_ep(&w, &b->server_side);
	put_ep(&w, &b->server);
	put_le(&w, b->strategy_id, 4);
	put_le(&w, b->origin_mark, 4);
	put_le(&w, age_of(b->created_ms, now_ms), 8);
	put_le(&w, age_of(b->last_activity_ms, now_ms), 8);
	put_u8(&w, b->registration_expiry_ms != 0);
	put_le(&w, (uint64_t)remaining_of(b->registration_expiry_ms, now_ms), 8);
	put_le(&w, (uint32_t)b->return_path.ifindex, 4);
	put_u8(&w, b->return_path.has_mac);
	put_bytes(&w, b->return_path.prev_hop_mac, 6);
	put_ep(&w, &b->return_path.prev_hop);
	put_str(&w, b->via_sent_by, strnlen(b->via_sent_by, sizeof(b->via_sent_by)));
	put_str(&w, b->contact, strnlen(b->contact, sizeof(b->contact)));
	if (b->transport != SP_STORE_UDP)
		put_u8(&w, b->transport);
	if (outbound)
		put_u8(&w, SP_SYNC_BINDING_OUTBOUND);
	return w.overflow ? -ENOSPC : (ssize_t)w.len;
}

/* RTCP where versions 1 and 3 put it: RTP + 1. */
static struct sp_endpoint rtcp_of(const struct sp_endpoint *rtp)
{
	struct sp_endpoint next = *rtp;

	next.port = rtp->port == 65535 ? 0 : rtp->port + 1;
	return next;
}

static bool rtcp_implied(const struct sp_endpoint *rtp, const struct sp_endpoint *rtcp)
{
	struct sp_endpoint next = rtcp_of(rtp);

	return rtcp->family == 0 || sp_endpoint_equal(rtcp, &next);
}

/* Does any stream need version 4's fields? */
static bool media_needs_v4(const struct sp_dialog *d)
{
	for (unsigned i = 0; i < d->n_media; i++) {
		const struct sp_media_stream *ms = &d->media[i];

		if (ms->nat || ms->terminal_sdp.family ||
		    !rtcp_implied(&ms->terminal, &ms->terminal_rtcp) ||
		    !rtcp_implied(&ms->far, &ms->far_rtcp))
			return true;
	}
	return false;
}

ssize_t sp_sync_encode_dialog(const struct sp_table *t, const struct sp_dialog *d,
			      uint64_t now_ms, uint8_t *buf, size_t cap)
{
	struct writer w = { .p = buf, .cap = cap };
	uint64_t deadline = sp_dialog_deadline(t, d);
	bool v4 = media_needs_v4(d);

	put_u8(&w, v4 ? SP_SYNC_CODEC_VERSION_MEDIA
		      : d->media_proxy[0] ? SP_SYNC_CODEC_VERSION_MEDIA_PROXY : SP_SYNC_CODEC_VERSION);
	put_le(&w, d->binding->id, 4);
	put_u8(&w, (uint8_t)d->state);
	put_le(&w, d->invite_cseq, 4);
	put_le(&w, d->session_expires_s, 4);
	put_le(&w, age_of(d->created_ms, now_ms), 8);
	put_le(&w, age_of(d->updated_ms, now_ms), 8);
	put_u8(&w, deadline != UINT64_MAX);
	put_le(&w, (uint64_t)remaining_of(deadline == UINT64_MAX ? now_ms : deadline, now_ms), 8);
	put_str(&w, d->call_id, d->call_id_len);
	put_str(&w, d->from_tag, strnlen(d->from_tag, sizeof(d->from_tag)));
	put_str(&w, d->to_tag, strnlen(d->to_tag, sizeof(d->to_tag)));
	put_u8(&w, (uint8_t)d->n_media);
	for (unsigned i = 0; i < d->n_media; i++) {
		put_ep(&w, &d->media[i].terminal);
		put_ep(&w, &d->media[i].far);
		put_le(&w, d->media[i].terminal_side_port, 2);
		put_le(&w, d->media[i].far_side_port, 2);
	}
	if (d->media_proxy[0] || v4) {
		put_str(&w, d->media_proxy, strnlen(d->media_proxy, sizeof(d->media_proxy)));
		put_str(&w, d->mp_from_tag, strnlen(d->mp_from_tag, sizeof(d->mp_from_tag)));
		put_str(&w, d->mp_to_tag, strnlen(d->mp_to_tag, sizeof(d->mp_to_tag)));
	}
	for (unsigned i = 0; v4 && i < d->n_media; i++) {
		put_ep(&w, &d->media[i].terminal_rtcp);
		put_ep(&w, &d->media[i].far_rtcp);
		put_ep(&w, &d->media[i].terminal_sdp);
		put_u8(&w, d->media[i].nat);
	}
	return w.overflow ? -ENOSPC : (ssize_t)w.len;
}

/* Reading: every getter checks the length; a failure sticks. */

struct reader {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *get_bytes(struct reader *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static uint64_t get_le(struct reader *r, unsigned n)
{
	const uint8_t *b = get_bytes(r, n);
	uint64_t v = 0;

	if (!b)
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void get_ep(struct reader *r, struct sp_endpoint *ep)
{
	uint8_t fam = (uint8_t)get_le(r, 1);
	uint16_t port = (uint16_t)get_le(r, 2);
	const uint8_t *a;

	sp_endpoint_clear(ep);
	if (fam == 4 && (a = get_bytes(r, 4))) {
		struct in_addr v4;

		memcpy(&v4, a, 4);
		sp_endpoint_set_v4(ep, v4, port);
	} else if (fam == 6 && (a = get_bytes(r, 16))) {
		struct in6_addr v6;

		memcpy(&v6, a, 16);
		sp_endpoint_set_v6(ep, &v6, port);
	} else if (fam != 0 || port != 0) {
		r->bad = true;
	}
}

/* A string of fewer than size bytes, NUL-free when text, stored with a NUL. */
static size_t get_str(struct reader *r, char *dst, size_t size, bool text)
{
	size_t len = get_le(r, 2);
	const uint8_t *b;

	if (r->bad || len >= size || !(b = get_bytes(r, len))) {
		r->bad = true;
		dst[0] = '\0';
		return 0;
	}
	if (text && memchr(b, '\0', len)) {
		r->bad = true;
		return 0;
	}
	memcpy(dst, b, len);
	dst[len] = '\0';
	return len;
}

static uint64_t from_age(uint64_t age, uint64_t now_ms)
{
	return age < now_ms ? now_ms - age : 0;
}

static uint64_t from_remaining(int64_t rem, uint64_t now_ms)
{
	uint64_t back;

	if (rem >= 0)
		return now_ms > UINT64_MAX - (uint64_t)rem ? UINT64_MAX : now_ms + (uint64_t)rem;
	back = (uint64_t)0 - (uint64_t)rem;
	return back < now_ms ? now_ms - back : 0;
}

int sp_sync_decode_binding(const uint8_t *data, size_t len, uint64_t now_ms,
			   struct sp_sync_binding_rec *out)
{
	struct reader r = { .p = data, .len = len };
	uint8_t registered, has_mac, flags = 0;
	int64_t reg;
	const uint8_t *mac;
	uint64_t version;

	memset(out, 0, sizeof(*out));
	version = get_le(&r, 1);
	if (version != SP_SYNC_CODEC_VERSION && version != SP_SYNC_CODEC_VERSION_TRANSPORT &&
	    version != SP_SYNC_CODEC_VERSION_BINDING_FLAGS)
		return -EINVAL;
	out->vpn = (uint32_t)get_le(&r, 4);
	get_ep(&r, &out->terminal);
	get_ep(&r, &out->virtual_server);
	get_ep(&r, &out->server_side);
	get_ep(&r, &out->server);
	out->strategy_id = (uint32_t)get_le(&r, 4);
	out->origin_mark = (uint32_t)get_le(&r, 4);
	out->created_ms = from_age(get_le(&r, 8), now_ms);
	out->last_activity_ms = from_age(get_le(&r, 8), now_ms);
	registered = (uint8_t)get_le(&r, 1);
	reg = (int64_t)get_le(&r, 8);
	out->return_path.ifindex = (int32_t)(uint32_t)get_le(&r, 4);
	has_mac = (uint8_t)get_le(&r, 1);
	mac = get_bytes(&r, 6);
	get_ep(&r, &out->return_path.prev_hop);
	get_str(&r, out->via_sent_by, sizeof(out->via_sent_by), true);
	get_str(&r, out->contact, sizeof(out->contact), true);
	if (version != SP_SYNC_CODEC_VERSION)
		out->transport = (uint8_t)get_le(&r, 1);
	if (version == SP_SYNC_CODEC_VERSION_BINDING_FLAGS)
		flags = (uint8_t)get_le(&r, 1);
	/* a flag no version knows, or outbound on UDP or written as version 5
	 * without it, is a bad record */
	if (r.bad || r.off != len || registered > 1 || has_mac > 1 || !mac ||
	    out->transport > SP_STORE_TLS || (flags & ~SP_SYNC_BINDING_OUTBOUND) ||
	    (version == SP_SYNC_CODEC_VERSION_BINDING_FLAGS &&
	     (flags != SP_SYNC_BINDING_OUTBOUND || out->transport == SP_STORE_UDP)) ||
	    out->terminal.family == 0 || out->server_side.family == 0 ||
	    out->server_side.port == 0 || out->return_path.ifindex < 0)
		return -EINVAL;
	if (registered) {
		/* 0 means "not registered": a long-past expiry stays non-zero. */
		out->registration_expiry_ms = from_remaining(reg, now_ms);
		if (out->registration_expiry_ms == 0)
			out->registration_expiry_ms = 1;
	}
	out->return_path.has_mac = has_mac;
	memcpy(out->return_path.prev_hop_mac, mac, 6);
	out->outbound = flags & SP_SYNC_BINDING_OUTBOUND;
	return 0;
}

/* Version 4's stream fields; a flag no version knows is a bad record. */
static void get_media_v4(struct reader *r, struct sp_media_stream *ms, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		get_ep(r, &ms[i].terminal_rtcp);
		get_ep(r, &ms[i].far_rtcp);
		get_ep(r, &ms[i].terminal_sdp);
		ms[i].nat = (uint8_t)get_le(r, 1);
		if (ms[i].nat & ~SP_STREAM_NAT_ALL)
			r->bad = true;
	}
}

/* The media proxy's name and tags of versions 3 and 4: false for a bad
 * one. Version 3 names one; version 4 may leave it empty (no MP). */
static bool get_media_proxy(struct reader *r, struct sp_sync_dialog_rec *out, uint64_t version)
{
	size_t len = get_str(r, out->media_proxy, sizeof(out->media_proxy), true);

	if (r->bad || (len == 0 && version == SP_SYNC_CODEC_VERSION_MEDIA_PROXY) ||
	    (len && sp_check_name(out->media_proxy, "media proxy", NULL) < 0))
		return false;
	get_str(r, out->mp_from_tag, sizeof(out->mp_from_tag), true);
	get_str(r, out->mp_to_tag, sizeof(out->mp_to_tag), true);
	return true;
}

/* Versions 1 and 3 carry no RTCP: each known side's is on RTP + 1. */
static void imply_rtcp(struct sp_media_stream *ms, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (ms[i].terminal.family)
			ms[i].terminal_rtcp = rtcp_of(&ms[i].terminal);
		if (ms[i].far.family)
			ms[i].far_rtcp = rtcp_of(&ms[i].far);
	}
}

int sp_sync_decode_dialog(const uint8_t *data, size_t len, uint64_t now_ms,
			  struct sp_sync_dialog_rec *out)
{
	struct reader r = { .p = data, .len = len };
	uint8_t state, armed, n_media;
	int64_t deadline;
	uint64_t version;

	memset(out, 0, sizeof(*out));
	version = get_le(&r, 1);
	if (version != SP_SYNC_CODEC_VERSION && version != SP_SYNC_CODEC_VERSION_MEDIA_PROXY &&
	    version != SP_SYNC_CODEC_VERSION_MEDIA)
		return -EINVAL;
	out->binding_id = (uint32_t)get_le(&r, 4);
	state = (uint8_t)get_le(&r, 1);
	out->st.invite_cseq = (uint32_t)get_le(&r, 4);
	out->st.session_expires_s = (uint32_t)get_le(&r, 4);
	out->st.created_ms = from_age(get_le(&r, 8), now_ms);
	out->st.updated_ms = from_age(get_le(&r, 8), now_ms);
	armed = (uint8_t)get_le(&r, 1);
	deadline = (int64_t)get_le(&r, 8);
	out->call_id_len = (uint16_t)get_str(&r, out->call_id, sizeof(out->call_id), false);
	get_str(&r, out->from_tag, sizeof(out->from_tag), true);
	get_str(&r, out->to_tag, sizeof(out->to_tag), true);
	n_media = (uint8_t)get_le(&r, 1);
	if (r.bad || n_media > SP_DIALOG_MAX_MEDIA)
		return -EINVAL;
	for (unsigned i = 0; i < n_media; i++) {
		get_ep(&r, &out->media[i].terminal);
		get_ep(&r, &out->media[i].far);
		out->media[i].terminal_side_port = (uint16_t)get_le(&r, 2);
		out->media[i].far_side_port = (uint16_t)get_le(&r, 2);
	}
	if (version != SP_SYNC_CODEC_VERSION && !get_media_proxy(&r, out, version))
		return -EINVAL;
	if (version == SP_SYNC_CODEC_VERSION_MEDIA)
		get_media_v4(&r, out->media, n_media);
	else
		imply_rtcp(out->media, n_media);
	if (r.bad || r.off != len || out->binding_id == 0 || state > SP_DIALOG_TERMINATED ||
	    armed > 1 || out->call_id_len == 0)
		return -EINVAL;
	out->n_media = n_media;
	out->st.state = (enum sp_dialog_state)state;
	out->st.deadline_ms = armed ? from_remaining(deadline, now_ms) : UINT64_MAX;
	return 0;
}
