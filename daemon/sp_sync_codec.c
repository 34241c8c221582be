/*
 * State-sync records: encoding, validating decode, applying to a table.
 *
 * Binding record (version 1), little-endian:
 *   u8 version, u32 vpn, ep terminal, ep virtual_server, ep server_side,
 *   ep server, u32 strategy_id, u32 origin_mark, u64 created age, u64 last-activity age,
 *   u8 registered, i64 registration remaining, i32 ifindex, u8 has_mac,
 *   6 bytes mac, ep prev_hop, str via_sent_by, str contact
 * Binding record of a stream transport (version 2): version 1's fields,
 *   then u8 transport (enum sp_store_transport); UDP's stays version 1.
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

#include "sp_loop.h"
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

	put_u8(&w, b->transport == SP_STORE_UDP ? SP_SYNC_CODEC_VERSION
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
	return w.overflow ? -ENOSPC : (ssize_t)w.len;
}

/* RTCP where version 1 puts it: RTP + 1 (or not said). */
static bool rtcp_implied(const struct sp_endpoint *rtp, const struct sp_endpoint *rtcp)
{
	struct sp_endpoint next = *rtp;

	next.port = rtp->port == 65535 ? 0 : rtp->port + 1;
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
	uint8_t registered, has_mac;
	int64_t reg;
	const uint8_t *mac;
	uint64_t version;

	memset(out, 0, sizeof(*out));
	version = get_le(&r, 1);
	if (version != SP_SYNC_CODEC_VERSION && version != SP_SYNC_CODEC_VERSION_TRANSPORT)
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
	if (version == SP_SYNC_CODEC_VERSION_TRANSPORT)
		out->transport = (uint8_t)get_le(&r, 1);
	if (r.bad || r.off != len || registered > 1 || has_mac > 1 || !mac ||
	    out->transport > SP_STORE_TLS ||
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
		struct sp_endpoint *rtp[2] = { &ms[i].terminal, &ms[i].far };
		struct sp_endpoint *rtcp[2] = { &ms[i].terminal_rtcp, &ms[i].far_rtcp };

		for (int k = 0; k < 2; k++) {
			if (!rtp[k]->family)
				continue;
			*rtcp[k] = *rtp[k];
			rtcp[k]->port = rtp[k]->port == 65535 ? 0 : rtp[k]->port + 1;
		}
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

/* The table through the channel */

struct id_set {
	uint32_t *ids;
	size_t n, cap;
};

struct sp_sync_codec {
	struct sp_table *t;
	bool sweeping;
	bool sweep_broken;	/* out of memory: do not delete on a partial list */
	struct id_set seen[SP_SYNC_KINDS + 1];
	struct sp_sync_codec_counters ctr;
};

struct sp_sync_codec *sp_sync_codec_new(struct sp_table *t)
{
	struct sp_sync_codec *c = calloc(1, sizeof(*c));

	if (c)
		c->t = t;
	return c;
}

void sp_sync_codec_free(struct sp_sync_codec *c)
{
	if (!c)
		return;
	for (unsigned k = 0; k <= SP_SYNC_KINDS; k++)
		free(c->seen[k].ids);
	free(c);
}

const struct sp_sync_codec_counters *sp_sync_codec_counters(const struct sp_sync_codec *c)
{
	return &c->ctr;
}

ssize_t sp_sync_codec_encode(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			     uint64_t now_ms, uint8_t *buf, size_t cap)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_find_id(c->t, id);

		return b ? sp_sync_encode_binding(b, now_ms, buf, cap) : 0;
	}
	if (kind == SP_SYNC_DIALOG) {
		struct sp_dialog *d = sp_dialog_find_id(c->t, id);

		return d ? sp_sync_encode_dialog(c->t, d, now_ms, buf, cap) : 0;
	}
	return -EINVAL;
}

uint32_t sp_sync_codec_next_id(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t after)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_get_next(c->t, after);

		return b ? b->id : 0;
	}
	if (kind == SP_SYNC_DIALOG) {
		struct sp_dialog *d = sp_dialog_get_next(c->t, after);

		return d ? d->id : 0;
	}
	return 0;
}

static void remember(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id)
{
	struct id_set *s = &c->seen[kind];

	if (!c->sweeping || c->sweep_broken)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint32_t *ids = realloc(s->ids, cap * sizeof(*ids));

		if (!ids) {
			c->sweep_broken = true;
			return;
		}
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
}

/* A binding and, first, its dialogs. */
static void delete_binding_all(struct sp_table *t, struct sp_binding *b)
{
	/* No per-binding dialog list in the table: walk only when there are some
	 * (the sender deletes dialogs before their binding, so rarely). */
	for (struct sp_dialog *d = sp_dialog_first(t), *next; d && b->dialog_refs; d = next) {
		next = sp_dialog_next(t, d);
		if (d->binding == b)
			sp_dialog_delete(t, d);
	}
	sp_binding_delete(t, b);
}

static int apply_binding(struct sp_sync_codec *c, uint32_t id, const struct sp_sync_binding_rec *r)
{
	struct sp_table *t = c->t;
	struct sp_binding *b = sp_binding_find_id(t, id), *other;
	int err;

	/* vpn and transport are keys no rekey changes */
	if (b && (b->vpn != r->vpn || b->transport != r->transport)) {
		delete_binding_all(t, b);
		c->ctr.stale_removed++;
		b = NULL;
	}
	other = sp_binding_find_key(t, &(struct sp_binding_key){ .vpn = r->vpn,
		.transport = r->transport, .terminal = r->terminal });
	if (other && other != b) {
		delete_binding_all(t, other);
		c->ctr.stale_removed++;
	}
	/* a C:c is one binding's whatever the transport (one port pool) */
	for (uint8_t tr = SP_STORE_UDP; tr <= SP_STORE_TLS; tr++) {
		other = sp_binding_find_server_side_on(t, tr, &r->server_side);
		if (other && other != b) {
			delete_binding_all(t, other);
			c->ctr.stale_removed++;
		}
	}
	if (b) {
		err = sp_binding_rekey(t, b, &r->terminal, &r->server_side);
		if (err)
			return err;
		/* Lengths were checked by the decoder: these cannot fail. */
		sp_binding_set_via_sent_by(b, r->via_sent_by);
		sp_binding_set_contact(b, r->contact);
	} else {
		struct sp_binding_params p = {
			.id = id,
			.vpn = r->vpn,
			.transport = r->transport,
			.terminal = r->terminal,
			.virtual_server = r->virtual_server,
			.server_side = r->server_side,
			.server = r->server,
			.strategy_id = r->strategy_id,
			.via_sent_by = r->via_sent_by,
			.contact = r->contact,
		};

		err = sp_binding_create(t, &p, r->last_activity_ms, &b);
		if (err)
			return err;
	}
	sp_binding_set_route(t, b, &(struct sp_binding_route){ .virtual_server = r->virtual_server,
		.server = r->server, .strategy_id = r->strategy_id, .origin_mark = r->origin_mark });
	sp_binding_set_return_path(b, &r->return_path);
	sp_binding_restore_times(t, b, r->created_ms, r->last_activity_ms, r->registration_expiry_ms);
	c->ctr.bindings_applied++;
	return 0;
}

static bool same_dialog(const struct sp_dialog *d, const struct sp_binding *b,
			const struct sp_sync_dialog_rec *r)
{
	return d->binding == b && d->call_id_len == r->call_id_len &&
	       memcmp(d->call_id, r->call_id, r->call_id_len) == 0 &&
	       strcmp(d->from_tag, r->from_tag) == 0;
}

static int apply_dialog(struct sp_sync_codec *c, uint32_t id, struct sp_sync_dialog_rec *r)
{
	struct sp_table *t = c->t;
	struct sp_binding *b = sp_binding_find_id(t, r->binding_id);
	struct sp_dialog *d, *other;
	int err;

	if (!b)
		return -ENOENT;
	d = sp_dialog_find_id(t, id);
	if (d && !same_dialog(d, b, r)) {
		sp_dialog_delete(t, d);
		c->ctr.stale_removed++;
		d = NULL;
	}
	other = sp_dialog_find(t, b->vpn, r->call_id, r->call_id_len, b);
	if (other && other != d) {
		sp_dialog_delete(t, other);
		c->ctr.stale_removed++;
	}
	if (d) {
		/* Kernel state this side installed for an unchanged stream stays
		 * described as installed. */
		for (unsigned i = 0; i < r->n_media && i < d->n_media; i++) {
			const struct sp_media_stream *o = &d->media[i];
			struct sp_media_stream *n = &r->media[i];

			if (sp_endpoint_equal(&o->terminal, &n->terminal) &&
			    sp_endpoint_equal(&o->far, &n->far) &&
			    sp_endpoint_equal(&o->terminal_rtcp, &n->terminal_rtcp) &&
			    sp_endpoint_equal(&o->far_rtcp, &n->far_rtcp) &&
			    sp_endpoint_equal(&o->terminal_sdp, &n->terminal_sdp) &&
			    o->nat == n->nat &&
			    o->terminal_side_port == n->terminal_side_port &&
			    o->far_side_port == n->far_side_port)
				n->engine_flags = o->engine_flags;
		}
		err = sp_dialog_set_media(t, d, r->media, r->n_media);
		if (err)
			return err;
		sp_dialog_set_to_tag(d, r->to_tag);
	} else {
		struct sp_dialog_params p = {
			.id = id,
			.binding = b,
			.call_id = r->call_id,
			.call_id_len = r->call_id_len,
			.from_tag = r->from_tag,
			.to_tag = r->to_tag,
			.invite_cseq = r->st.invite_cseq,
			.state = r->st.state,
		};

		err = sp_dialog_create(t, &p, r->st.updated_ms, &d);
		if (err)
			return err;
		err = sp_dialog_set_media(t, d, r->media, r->n_media);
		if (err) {
			sp_dialog_delete(t, d);
			return err;
		}
	}
	/* lengths checked by the decoder: cannot fail */
	sp_dialog_set_media_proxy(t, d, r->media_proxy, r->mp_from_tag, r->mp_to_tag);
	sp_dialog_restore(t, d, &r->st);
	c->ctr.dialogs_applied++;
	return 0;
}

static int apply_delete(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id)
{
	if (kind == SP_SYNC_BINDING) {
		struct sp_binding *b = sp_binding_find_id(c->t, id);

		if (b) {
			delete_binding_all(c->t, b);
			c->ctr.deleted++;
		}
	} else {
		struct sp_dialog *d = sp_dialog_find_id(c->t, id);

		if (d) {
			sp_dialog_delete(c->t, d);
			c->ctr.deleted++;
		}
	}
	return 0;
}

int sp_sync_codec_apply(struct sp_sync_codec *c, enum sp_sync_kind kind, uint32_t id,
			const uint8_t *data, size_t len, uint64_t now_ms)
{
	int err;

	if (id == 0 || (kind != SP_SYNC_BINDING && kind != SP_SYNC_DIALOG))
		return -EINVAL;
	if (len == 0)
		return apply_delete(c, kind, id);
	if (kind == SP_SYNC_BINDING) {
		struct sp_sync_binding_rec r;

		err = sp_sync_decode_binding(data, len, now_ms, &r);
		if (!err)
			err = apply_binding(c, id, &r);
	} else {
		/* The largest record struct: off the stack's hot path is not
		 * needed, it is a few hundred bytes. */
		struct sp_sync_dialog_rec r;

		err = sp_sync_decode_dialog(data, len, now_ms, &r);
		if (!err)
			err = apply_dialog(c, id, &r);
	}
	if (!err)
		remember(c, kind, id);
	return err;
}

void sp_sync_codec_resync_begin(struct sp_sync_codec *c)
{
	for (unsigned k = 0; k <= SP_SYNC_KINDS; k++)
		c->seen[k].n = 0;
	c->sweeping = true;
	c->sweep_broken = false;
}

static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool seen(const struct id_set *s, uint32_t id)
{
	return s->n && bsearch(&id, s->ids, s->n, sizeof(*s->ids), id_cmp) != NULL;
}

unsigned sp_sync_codec_resync_end(struct sp_sync_codec *c)
{
	struct id_set *sb = &c->seen[SP_SYNC_BINDING], *sd = &c->seen[SP_SYNC_DIALOG];
	unsigned removed = 0;

	if (!c->sweeping)
		return 0;
	c->sweeping = false;
	if (c->sweep_broken)
		return 0;
	if (sb->n)
		qsort(sb->ids, sb->n, sizeof(*sb->ids), id_cmp);
	if (sd->n)
		qsort(sd->ids, sd->n, sizeof(*sd->ids), id_cmp);
	for (struct sp_dialog *d = sp_dialog_first(c->t), *next; d; d = next) {
		next = sp_dialog_next(c->t, d);
		if (!seen(sd, d->id)) {
			sp_dialog_delete(c->t, d);
			removed++;
		}
	}
	for (struct sp_binding *b = sp_binding_first(c->t), *next; b; b = next) {
		next = sp_binding_next(c->t, b);
		if (!seen(sb, b->id)) {
			removed += 1 + b->dialog_refs;
			delete_binding_all(c->t, b);
		}
	}
	c->ctr.swept += removed;
	return removed;
}

/* Ready-made callbacks for sp_sync */

static ssize_t cb_encode(void *arg, enum sp_sync_kind kind, uint32_t id, uint8_t *buf, size_t cap)
{
	return sp_sync_codec_encode(arg, kind, id, sp_loop_now_ms(), buf, cap);
}

static uint32_t cb_next_id(void *arg, enum sp_sync_kind kind, uint32_t after)
{
	return sp_sync_codec_next_id(arg, kind, after);
}

static int cb_apply(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data, size_t len)
{
	return sp_sync_codec_apply(arg, kind, id, data, len, sp_loop_now_ms());
}

static void cb_resync_begin(void *arg)
{
	sp_sync_codec_resync_begin(arg);
}

static void cb_resync_end(void *arg)
{
	sp_sync_codec_resync_end(arg);
}

void sp_sync_codec_callbacks(struct sp_sync_codec *c, struct sp_sync_callbacks *cb)
{
	cb->encode = cb_encode;
	cb->next_id = cb_next_id;
	cb->apply = cb_apply;
	cb->resync_begin = cb_resync_begin;
	cb->resync_end = cb_resync_end;
	cb->arg = c;
}
