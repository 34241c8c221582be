/* One message's SDP through the media module (sp_media.h): begin, the
 * port map, commit or abort; and the terminals behind a NAT whose flows
 * latch to the packets' source ports. */
#include "config.h"
#include "sp_media.h"
#include "sp_log.h"
#include "sp_table.h"
#include "sp_media_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- one message ---- */

void sp_media_begin(struct sp_media *m, uint32_t dialog_id, enum sp_media_from from,
		    bool has_sdp)
{
	sp_media_abort(m); /* a message the caller forgot to finish */
	memset(&m->msg, 0, sizeof(m->msg));
	m->msg.active = has_sdp;
	m->msg.dialog_id = dialog_id;
	m->msg.from = from;
}

void sp_media_terminal_source(struct sp_media *m, const struct sp_endpoint *src)
{
	m->msg.src = *src;
}

static int sp_media_parse(struct sp_endpoint *ep, const char *addr, uint16_t port)
{
	/* An IPv4 or IPv6 address (the conntrack entries take either, one
	 * family per stream: sp_media_commit_origin() checks). A host name in
	 * c= cannot be NATed. */
	if (sp_endpoint_parse(ep, addr, port) < 0)
		return -1;
	return 0;
}

int sp_media_port_map(void *arg, unsigned media_index, enum sp_sdp_port_kind kind,
		      const struct sp_sdp_stream *stream, uint16_t old_port, uint16_t *new_port)
{
	struct sp_media *m = arg;
	struct sp_media_pending *p;
	const struct sp_media_session *sess;
	const struct sp_media_stream *r = NULL;

	/* no more streams than the dialog's record in the store holds */
	if (!m->msg.active || media_index >= SP_MEDIA_MAX_STREAMS)
		goto refuse;
	p = &m->msg.p[media_index];
	if (!p->pe) {
		sess = sp_media_find(m, m->msg.dialog_id);
		if (sess && media_index < sess->n && sess->s[media_index].key_pe)
			r = sp_media_rec(m, &sess->s[media_index]);
		if (r && r->terminal_side_port) {
			/* a re-offer keeps the stream's ports */
			p->pe = r->terminal_side_port;
			p->pc = r->far_side_port;
		} else {
			/* taken in the store for this message: a dialog's
			 * record adopts them, an abort gives them back */
			int rc = sp_table_media_take(m->store, &p->pe);

			if (rc == 0 && (rc = sp_table_media_take(m->store, &p->pc)) < 0) {
				sp_table_media_release(m->store, p->pe);
				p->pe = 0;
			}
			if (rc < 0) {
				if (rc == -ENOSPC)
					m->st.ports_exhausted++;
				goto refuse;
			}
			m->st.pairs_in_use += 2;
			p->allocated = true;
		}
	}
	if (kind == SP_SDP_PORT_RTP) {
		if (sp_media_parse(&p->side.rtp, stream->addr, old_port) < 0)
			goto refuse;
		/* RFC 3550: RTCP on the next port unless a=rtcp says otherwise */
		p->side.rtcp = p->side.rtp;
		p->side.rtcp.port = old_port == 65535 ? 0 : old_port + 1;
		p->side.known = true;
		p->seen = true;
	} else {
		const char *a = stream->rtcp_addr[0] ? stream->rtcp_addr : stream->addr;

		if (sp_media_parse(&p->side.rtcp, a, old_port) < 0)
			goto refuse;
	}
	*new_port = (m->msg.from == SP_MEDIA_FROM_TERMINAL ? p->pc : p->pe) +
		    (kind == SP_SDP_PORT_RTCP ? 1 : 0);
	return 0;
refuse:
	m->st.refused++;
	return -1;
}

void sp_media_abort(struct sp_media *m)
{
	if (!m->msg.active)
		return;
	for (unsigned i = 0; i < SP_MEDIA_MAX_STREAMS; i++)
		if (m->msg.p[i].allocated)
			sp_media_release_pair(m, m->msg.p[i].pe, m->msg.p[i].pc);
	m->msg.active = false;
}

/* ---- terminals behind a NAT ---- */

/* RFC 1918, RFC 6598 (carrier-grade NAT) and link-local; in IPv6 unique
 * local (fc00::/7, what a NAT66 hides) and link-local (fe80::/10): an
 * address that cannot be reached from the far side, whatever the terminal
 * believes. */
static bool sp_media_private(const struct sp_endpoint *ep)
{
	uint32_t a;

	if (ep->family == AF_INET6)
		return (ep->addr.v6.s6_addr[0] & 0xfe) == 0xfc ||
		       (ep->addr.v6.s6_addr[0] == 0xfe && (ep->addr.v6.s6_addr[1] & 0xc0) == 0x80);
	if (ep->family != AF_INET)
		return false;
	a = ntohl(ep->addr.v4.s_addr);
	return (a & 0xff000000u) == 0x0a000000u || (a & 0xfff00000u) == 0xac100000u ||
	       (a & 0xffff0000u) == 0xc0a80000u || (a & 0xffc00000u) == 0x64400000u ||
	       (a & 0xffff0000u) == 0xa9fe0000u;
}

/* What nathelper's nat_uac_test and rtpengine's "SIP source address" do:
 * a private SDP address that is not where the signalling comes from names
 * the terminal's side of a NAT. (0.0.0.0, hold, is left alone.) */
static bool sp_media_behind_nat(const struct sp_media_side *side, const struct sp_endpoint *src)
{
	return src->family == side->rtp.family && side->known && !sp_media_unspecified(&side->rtp) &&
	       sp_media_private(&side->rtp) && !sp_endpoint_same_addr(&side->rtp, src);
}

/* The terminal's side of record r from an SDP behind a NAT: the signalling
 * source's address with the SDP's ports until the first packets tell the
 * real ones. A re-offer naming the same SDP address keeps what was learned. */
static void sp_media_nat_side(struct sp_media *m, struct sp_media_stream *r,
			      const struct sp_media_side *sdp, const struct sp_endpoint *src)
{
	struct sp_media_side term = *sdp;

	if ((r->nat & SP_STREAM_NAT) && sp_endpoint_equal(&r->terminal_sdp, &sdp->rtp) &&
	    r->terminal.family)
		return;
	r->nat = SP_STREAM_NAT | SP_STREAM_LATCH;	/* nothing latched yet */
	r->terminal_sdp = sdp->rtp;
	term.rtp.addr = src->addr;
	term.rtcp.addr = src->addr;
	sp_media_put_side(&r->terminal, &r->terminal_rtcp, &term);
	m->st.nat_streams++;
}

/* Packets the kernel carried from the terminal on one flow of s. */
static uint64_t sp_media_from_terminal(struct sp_media *m, const struct sp_media_sstream *s,
				       bool rtcp)
{
	const struct sp_media_sstream *owner = s->installed ? s : s->peer;
	struct sp_ct_counters c;

	if (!m->have_kernel || !owner || !owner->installed)
		return 0;
	if (m->k.counters(m->k.arg, rtcp ? &owner->rtcp : &owner->rtp, &c) < 0)
		return 0;
	/* the joined leg's entry has this terminal on its reply side */
	return owner == s ? c.orig_packets : c.reply_packets;
}

/* The stream whose E:pe (or E:pe + 1) dst is, when its record still
 * latches and src has the address the terminal's signalling came from:
 * its dialog, its index there (*i) and whether dst is RTCP (*rtcp). */
static struct sp_media_sstream *sp_media_latching_stream(struct sp_media *m,
							 const struct sp_endpoint *src,
							 const struct sp_endpoint *dst,
							 struct sp_dialog **d, unsigned *i,
							 bool *rtcp)
{
	struct sp_media_sstream *s = m->by_pair[dst->port / 2];
	const struct sp_media_stream *r;

	if (dst->family != src->family || !s)
		return NULL;
	*d = sp_media_dialog(m, s, i);
	if (!*d || *i >= (*d)->n_media)
		return NULL;
	r = &(*d)->media[*i];
	if (!(r->nat & SP_STREAM_LATCH) || !sp_endpoint_same_addr(dst, &s->sess->e) ||
	    !sp_endpoint_same_addr(src, &r->terminal))
		return NULL; /* only the address the signalling came from can latch */
	*rtcp = dst->port == r->terminal_side_port + 1;
	if (dst->port != r->terminal_side_port && !*rtcp)
		return NULL;
	return s;
}

int sp_media_latch(struct sp_media *m, const struct sp_endpoint *src, const struct sp_endpoint *dst)
{
	struct sp_media_stream next[SP_DIALOG_MAX_MEDIA];
	struct sp_media_sstream *s;
	struct sp_media_stream *r;
	struct sp_media_side term;
	struct sp_dialog *d;
	unsigned i;
	bool rtcp;
	uint8_t flag;
	char b[SP_ENDPOINT_STRLEN];

	if (!(s = sp_media_latching_stream(m, src, dst, &d, &i, &rtcp)))
		return 0;
	memcpy(next, d->media, sizeof(next));
	r = &next[i];
	term = sp_media_side_from(&r->terminal, &r->terminal_rtcp);
	if ((rtcp ? term.rtcp.port : term.rtp.port) == src->port)
		return 0;
	/* A flow latched once moves again only while its entry has carried
	 * nothing from the terminal: a NAT that changed its mapping before
	 * the answer, or a terminal that sent from another port first. Once
	 * media flows, another source is not the terminal's. */
	flag = rtcp ? SP_STREAM_LATCHED_RTCP : SP_STREAM_LATCHED_RTP;
	if ((r->nat & flag) && sp_media_from_terminal(m, s, rtcp) > 0)
		return 0;
	r->nat |= flag;
	if (rtcp)
		term.rtcp.port = src->port;
	else
		term.rtp.port = src->port;
	sp_media_put_side(&r->terminal, &r->terminal_rtcp, &term);
	/* into the store's record, which the state sync and the disk follow */
	if (sp_dialog_set_media(m->store, d, next, d->n_media) < 0)
		return 0;
	m->st.latched++;
	sp_info("media: dialog %u %s latched to %s (the terminal is behind a NAT)", s->sess->dialog_id,
		rtcp ? "RTCP" : "RTP", sp_endpoint_format(src, b, sizeof(b)));
	sp_media_sync(m, s);
	return 1;
}

unsigned sp_media_latching(const struct sp_media *m)
{
	return m->latching;
}

void sp_media_commit(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
		     const struct sp_endpoint *c)
{
	sp_media_commit_origin(m, dialog_id, e, c, 0, 0);
}

/* Stream i of next (the dialog's records being rewritten) as the message
 * committed says: its ports, and the side that sent the message. */
static void sp_media_commit_stream(struct sp_media *m, struct sp_media_stream *r,
				   const struct sp_media_pending *p)
{
	/* new ports: the stream had none here (or ports outside this node's
	 * range, which the view did not take: sp_media_import) */
	if (p->pe && (!r->terminal_side_port || p->allocated)) {
		r->terminal_side_port = p->pe;
		r->far_side_port = p->pc;
	}
	if (m->msg.from == SP_MEDIA_FROM_FAR) {
		/* not in this SDP, or port 0: this side refused the stream */
		sp_media_put_side(&r->far, &r->far_rtcp, p->seen ? &p->side : &(struct sp_media_side){ 0 });
	} else if (p->seen && sp_media_behind_nat(&p->side, &m->msg.src)) {
		sp_media_nat_side(m, r, &p->side, &m->msg.src);
	} else {
		r->nat = 0;
		memset(&r->terminal_sdp, 0, sizeof(r->terminal_sdp));
		sp_media_put_side(&r->terminal, &r->terminal_rtcp,
				  p->seen ? &p->side : &(struct sp_media_side){ 0 });
	}
}

/* The message's streams into the dialog's records in the store: 0, or
 * what sp_dialog_set_media said (nothing written). */
static int sp_media_commit_store(struct sp_media *m, struct sp_dialog *d, unsigned *n)
{
	struct sp_media_stream next[SP_DIALOG_MAX_MEDIA];

	memset(next, 0, sizeof(next));
	memcpy(next, d->media, d->n_media * sizeof(next[0]));
	*n = d->n_media;
	for (unsigned i = 0; i < SP_MEDIA_MAX_STREAMS; i++) {
		struct sp_media_pending *p = &m->msg.p[i];

		if (!p->seen && i >= *n) {
			if (p->allocated) { /* a=rtcp without an RTP port: impossible, but safe */
				sp_media_release_pair(m, p->pe, p->pc);
				p->allocated = false;
			}
			continue;
		}
		if (i >= *n)
			*n = i + 1;
		sp_media_commit_stream(m, &next[i], p);
	}
	return sp_dialog_set_media(m->store, d, next, *n);
}

void sp_media_commit_origin(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
			    const struct sp_endpoint *c, uint16_t zone, uint16_t origin)
{
	struct sp_media_session *sess;
	struct sp_dialog *d = dialog_id ? sp_dialog_find_id(m->store, dialog_id) : NULL;
	bool any = false;
	unsigned n;
	int rc;

	if (!m->msg.active)
		return;
	for (unsigned i = 0; i < SP_MEDIA_MAX_STREAMS; i++)
		any |= m->msg.p[i].seen;
	sess = sp_media_find(m, dialog_id);
	/* the dialog's record in the store is where the streams live */
	if (!d || (!sess && !any) || (!sess && !(sess = sp_media_session_new(m, dialog_id)))) {
		sp_media_abort(m);
		return;
	}
	if ((rc = sp_media_commit_store(m, d, &n)) < 0) {
		sp_warn("media: dialog %u: the store refused its streams: %s", dialog_id,
			strerror(-rc));
		sp_media_abort(m);
		return;
	}
	m->msg.active = false;	/* the store adopted the ports the message took */
	sess->e = *e;
	sess->e.port = 0;
	sess->c = *c;
	sess->c.port = 0;
	sess->zone = zone;
	sess->origin = origin;
	if (n > sess->n)
		sess->n = n;
	for (unsigned i = 0; i < sess->n; i++) {
		struct sp_media_sstream *s = &sess->s[i];
		const struct sp_media_stream *r = sp_media_rec(m, s);

		if (r)
			sp_media_index(m, s, r);
		sp_media_count_latch(m, s);
		sp_media_sync(m, s);
	}
}
