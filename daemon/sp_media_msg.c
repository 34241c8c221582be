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

	if (!m->msg.active || media_index >= SP_SDP_MAX_STREAMS)
		goto refuse;
	p = &m->msg.p[media_index];
	if (!p->pe) {
		sess = sp_media_find(m, m->msg.dialog_id);
		if (sess && media_index < sess->n && sess->s[media_index].pe) {
			/* a re-offer keeps the stream's ports */
			p->pe = sess->s[media_index].pe;
			p->pc = sess->s[media_index].pc;
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
	for (unsigned i = 0; i < SP_SDP_MAX_STREAMS; i++)
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

/* The terminal's side of s from an SDP behind a NAT: the signalling
 * source's address with the SDP's ports until the first packets tell the
 * real ones. A re-offer naming the same SDP address keeps what was learned. */
static void sp_media_nat_side(struct sp_media *m, struct sp_media_sstream *s,
			      const struct sp_media_side *sdp, const struct sp_endpoint *src)
{
	if (s->nat && sp_endpoint_equal(&s->term_sdp, &sdp->rtp) && s->term.known)
		return;
	s->nat = true;
	s->term_sdp = sdp->rtp;
	s->term = *sdp;
	s->term.rtp.addr = src->addr;
	s->term.rtcp.addr = src->addr;
	s->latched_rtp = s->latched_rtcp = false;
	sp_media_set_latch(m, s, true);
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

int sp_media_latch(struct sp_media *m, const struct sp_endpoint *src, const struct sp_endpoint *dst)
{
	struct sp_media_sstream *s;
	struct sp_endpoint *ep;
	bool rtcp;
	char b[SP_ENDPOINT_STRLEN];

	if (dst->family != src->family)
		return 0;
	s = m->by_pair[dst->port / 2];
	if (!s || !s->latch || !s->sess || !sp_endpoint_same_addr(dst, &s->sess->e) ||
	    !sp_endpoint_same_addr(src, &s->term.rtp))
		return 0; /* only the address the signalling came from can latch */
	rtcp = dst->port == s->pe + 1;
	if (dst->port != s->pe && !rtcp)
		return 0;
	ep = rtcp ? &s->term.rtcp : &s->term.rtp;
	if (ep->port == src->port)
		return 0;
	/* A flow latched once moves again only while its entry has carried
	 * nothing from the terminal: a NAT that changed its mapping before
	 * the answer, or a terminal that sent from another port first. Once
	 * media flows, another source is not the terminal's. */
	if ((rtcp ? s->latched_rtcp : s->latched_rtp) && sp_media_from_terminal(m, s, rtcp) > 0)
		return 0;
	if (rtcp)
		s->latched_rtcp = true;
	else
		s->latched_rtp = true;
	ep->port = src->port;
	m->st.latched++;
	sp_info("media: dialog %u %s latched to %s (the terminal is behind a NAT)", s->sess->dialog_id,
		rtcp ? "RTCP" : "RTP", sp_endpoint_format(src, b, sizeof(b)));
	sp_media_sync(m, s);
	sp_media_changed(m, s->sess->dialog_id);
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

void sp_media_commit_origin(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
			    const struct sp_endpoint *c, uint16_t zone, uint16_t origin)
{
	struct sp_media_session *sess;
	bool any = false;

	if (!m->msg.active)
		return;
	for (unsigned i = 0; i < SP_SDP_MAX_STREAMS; i++)
		any |= m->msg.p[i].seen;
	sess = sp_media_find(m, dialog_id);
	if (!dialog_id || (!sess && !any)) {
		sp_media_abort(m);
		return;
	}
	if (!sess && !(sess = sp_media_session_new(m, dialog_id))) {
		sp_media_abort(m);
		return;
	}
	m->msg.active = false;
	sess->e = *e;
	sess->e.port = 0;
	sess->c = *c;
	sess->c.port = 0;
	sess->zone = zone;
	sess->origin = origin;
	for (unsigned i = 0; i < SP_SDP_MAX_STREAMS; i++) {
		struct sp_media_pending *p = &m->msg.p[i];
		struct sp_media_sstream *s = &sess->s[i];
		struct sp_media_side *side;

		if (!p->seen && i >= sess->n) {
			if (p->allocated) /* a=rtcp without an RTP port: impossible, but safe */
				sp_media_release_pair(m, p->pe, p->pc);
			continue;
		}
		if (i >= sess->n)
			sess->n = i + 1;
		if (p->pe && !s->pe) {
			s->sess = sess;
			s->pe = p->pe;
			s->pc = p->pc;
			m->by_pair[s->pe / 2] = s;
			m->by_cpair[s->pc / 2] = s;
		}
		side = m->msg.from == SP_MEDIA_FROM_TERMINAL ? &s->term : &s->far;
		if (m->msg.from == SP_MEDIA_FROM_TERMINAL && p->seen &&
		    sp_media_behind_nat(&p->side, &m->msg.src))
			sp_media_nat_side(m, s, &p->side, &m->msg.src);
		else {
			if (m->msg.from == SP_MEDIA_FROM_TERMINAL) {
				s->nat = false;
				sp_media_set_latch(m, s, false);
			}
			/* not in this SDP, or port 0: this side refused the stream */
			*side = p->seen ? p->side : (struct sp_media_side){ 0 };
		}
		sp_media_sync(m, s);
	}
	sp_media_changed(m, dialog_id);
}
