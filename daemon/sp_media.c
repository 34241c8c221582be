#include "config.h"
#include "sp_media.h"
#include "sp_hash.h"
#include "sp_log.h"
#include "sp_table.h"
#include "sp_media_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sp_media *sp_media_create(const struct sp_media_kernel *kernel, struct sp_table *store)
{
	struct sp_media *m = calloc(1, sizeof(*m));
	struct sp_table_config tc;

	if (!m)
		return NULL;
	if (kernel) {
		m->k = *kernel;
		m->have_kernel = true;
	}
	if (!store) {
		sp_table_config_default(&tc);
		tc.media_port_first = tc.media_port_last = 0;
		store = sp_table_create(&tc, NULL);
		m->own_store = true;
	}
	m->store = store;
	sp_hash_key_random(&m->key);
	m->by_pair = calloc(32768, sizeof(*m->by_pair));
	m->by_cpair = calloc(32768, sizeof(*m->by_cpair));
	if (!m->store || !m->by_pair || !m->by_cpair || sp_htab_init(&m->by_dialog, 64) < 0) {
		free(m->by_pair);
		free(m->by_cpair);
		if (m->own_store && m->store)
			sp_table_destroy(m->store);
		free(m);
		return NULL;
	}
	return m;
}

void sp_media_set_change_hook(struct sp_media *m, void (*fn)(void *arg, uint32_t dialog_id),
			      void *arg)
{
	m->changed = fn;
	m->changed_arg = arg;
}

void sp_media_changed(const struct sp_media *m, uint32_t dialog_id)
{
	if (m->changed)
		m->changed(m->changed_arg, dialog_id);
}

void sp_media_destroy(struct sp_media *m)
{
	if (!m)
		return;
	sp_media_abort(m);
	sp_media_clear(m);
	sp_htab_fini(&m->by_dialog);
	if (m->own_store)
		sp_table_destroy(m->store);
	free(m->by_pair);
	free(m->by_cpair);
	free(m);
}

int sp_media_set_range(struct sp_media *m, uint16_t first, uint16_t last, char *err,
		       size_t errlen)
{
	int rc = sp_table_set_media_range(m->store, first, last);

	if (rc == -EBUSY)
		snprintf(err, errlen,
			 "media-port-range cannot change while %u media streams hold ports (clear sessions first)",
			 sp_table_media_used(m->store));
	else if (rc < 0)
		snprintf(err, errlen, "media-port-range %u %u: %s", first, last, strerror(-rc));
	return rc < 0 ? -1 : 0;
}

static uint64_t sp_media_hash(const struct sp_media *m, uint32_t dialog_id)
{
	return sp_siphash(&m->key, &dialog_id, sizeof(dialog_id));
}

struct sp_media_session *sp_media_find(const struct sp_media *m, uint32_t dialog_id)
{
	uint64_t h = sp_media_hash(m, dialog_id);

	if (!dialog_id)
		return NULL;
	for (struct sp_hnode *n = sp_htab_chain(&m->by_dialog, h); n; n = n->next) {
		struct sp_media_session *s = container_of(n, struct sp_media_session, node);
		if (n->hash == h && s->dialog_id == dialog_id)
			return s;
	}
	return NULL;
}

/* ---- kernel entries ---- */

bool sp_media_unspecified(const struct sp_endpoint *ep)
{
	static const uint8_t zero[16];

	return ep->family == 0 || memcmp(&ep->addr, zero, sizeof(ep->addr)) == 0;
}

static void sp_media_nat(struct sp_ct_nat *n, const struct sp_media_session *sess,
			 const struct sp_endpoint *t, const struct sp_endpoint *f, uint16_t pe,
			 uint16_t pc)
{
	memset(n, 0, sizeof(*n)); /* compared with memcmp */
	n->terminal = *t;
	n->zone = sess->zone;
	n->origin = sess->origin;
	n->terminal_side = sess->e;
	n->terminal_side.port = pe;
	n->far = *f;
	n->far_side = sess->c;
	n->far_side.port = pc;
}

static void sp_media_kernel_remove(struct sp_media *m, const struct sp_ct_nat *n)
{
	int rc;

	if (!m->have_kernel)
		return;
	rc = m->k.remove(m->k.arg, n);
	if (rc == 0)
		m->st.entries_deleted++;
	else if (rc != -ENOENT)
		m->st.kernel_errors++;
}

static int sp_media_kernel_install(struct sp_media *m, struct sp_media_sstream *s,
				   const struct sp_ct_nat *n)
{
	char b[160];
	int rc;

	if (!m->have_kernel)
		return 0;
	rc = m->k.install(m->k.arg, n);
	if (rc == -EEXIST) {
		/* A flow that started before the answer arrived made the kernel
		 * track it unNATed (T -> E:pe forwarded, or F -> C:pc to the SP
		 * itself): the stale entry goes, ours replaces it. A delete
		 * needs only the original tuple, but every endpoint of one
		 * family (or the driver refuses it, and the stale entry of a
		 * far end that kept sending while no entry was there, during a
		 * restart or a takeover, would stay in the way for good). */
		struct sp_ct_nat from_far = { .terminal = n->far, .terminal_side = n->far_side,
					      .far = n->terminal, .far_side = n->terminal_side };

		m->k.remove(m->k.arg, n);
		m->k.remove(m->k.arg, &from_far);
		rc = m->k.install(m->k.arg, n);
	}
	if (rc == 0) {
		m->st.entries_created++;
		return 0;
	}
	m->st.kernel_errors++;
	/* once per stream: the reconciliation retries it every period */
	if (!s->refusal_logged) {
		s->refusal_logged = true;
		m->st.kernel_refusals++;
		sp_warn("media: the kernel refused %s: %s (retried at each reconciliation, not logged again)",
			sp_ct_nat_format(n, b, sizeof(b)), strerror(-rc));
	}
	return rc;
}

static void sp_media_uninstall(struct sp_media *m, struct sp_media_sstream *s)
{
	if (!s->installed)
		return;
	sp_media_kernel_remove(m, &s->rtp);
	sp_media_kernel_remove(m, &s->rtcp);
	s->installed = false;
	m->st.streams_installed--;
	if (s->installed_joined)
		m->st.streams_joined--;
	s->installed_joined = false;
}

/*
 * The stream of this SP whose C-side port s's far side announced: the far
 * side of s is then this SP itself. It happens to a call between two
 * terminals behind the SP through a proxy that keeps both legs here
 * (Kamailio with record_route): leg 1 announces C:pc1 to the server, which
 * hands it on to leg 2 as leg 2's far side, and the other way round.
 */
static struct sp_media_sstream *sp_media_own_port(const struct sp_media *m,
						  const struct sp_media_sstream *s)
{
	const struct sp_endpoint *f = &s->far.rtp;
	struct sp_media_sstream *t;

	/* either family: a C port is ours whatever C's address family, and
	 * the address comparison tells an IPv4 C from an IPv6 one */
	if (!s->far.known || (f->family != AF_INET && f->family != AF_INET6) || f->port % 2)
		return NULL;
	t = m->by_cpair[f->port / 2];
	if (!t || t == s || t->pc != f->port || !sp_endpoint_same_addr(f, &t->sess->c))
		return NULL;
	return t;
}

/* The other leg of s when each names the other's C:pc as its far side. */
static struct sp_media_sstream *sp_media_peer(const struct sp_media *m,
					      const struct sp_media_sstream *s)
{
	struct sp_media_sstream *t = sp_media_own_port(m, s);

	return t && sp_media_own_port(m, t) == s ? t : NULL;
}

static bool sp_media_side_usable(const struct sp_media_side *side)
{
	return side->known && !sp_media_unspecified(&side->rtp);
}

/*
 * What the kernel should carry for s (false: nothing), and its joined
 * peer. Two legs joined need one entry per flow, not two chained through
 * C (a packet NATed to C:pc is delivered to the SP, not tracked again):
 * T1:t1 -> E1:pe1 becomes E2:pe2 -> T2:t2, and back. The leg with the
 * lower pe owns it, so it is programmed once.
 */
static bool sp_media_wanted(const struct sp_media *m, const struct sp_media_sstream *s,
			    struct sp_ct_nat *rtp, struct sp_ct_nat *rtcp,
			    struct sp_media_sstream **peer)
{
	const struct sp_media_session *sess = s->sess;
	const struct sp_media_sstream *t;

	*peer = NULL;
	if (!s->pe || !sp_media_side_usable(&s->term) || !sp_media_side_usable(&s->far) ||
	    sp_media_unspecified(&sess->e) || sp_media_unspecified(&sess->c))
		return false;
	t = *peer = sp_media_peer(m, s);
	if (t) {
		if (t->pe < s->pe || !sp_media_side_usable(&t->term) ||
		    sp_media_unspecified(&t->sess->e))
			return false;
		sp_media_nat(rtp, sess, &s->term.rtp, &t->term.rtp, s->pe, 0);
		rtp->far_side = t->sess->e;
		rtp->far_side.port = t->pe;
		sp_media_nat(rtcp, sess, &s->term.rtcp, &t->term.rtcp, s->pe + 1, 0);
		rtcp->far_side = t->sess->e;
		rtcp->far_side.port = t->pe + 1;
		return true;
	}
	/* this SP's own address, but no leg of ours answers there (yet):
	 * a DNAT to ourselves would carry nothing */
	if (sp_endpoint_same_addr(&s->far.rtp, &sess->c))
		return false;
	sp_media_nat(rtp, sess, &s->term.rtp, &s->far.rtp, s->pe, s->pc);
	sp_media_nat(rtcp, sess, &s->term.rtcp, &s->far.rtcp, s->pe + 1, s->pc + 1);
	return true;
}

/* One stream: remove what it no longer wants (install false), or add what
 * it wants (install true). */
static void sp_media_apply(struct sp_media *m, struct sp_media_sstream *s, bool install)
{
	struct sp_ct_nat rtp, rtcp;
	struct sp_media_sstream *peer;
	bool want = sp_media_wanted(m, s, &rtp, &rtcp, &peer);

	if (!install) {
		s->peer = peer;
		if (!want || !s->installed || memcmp(&rtp, &s->rtp, sizeof(rtp)) != 0 ||
		    memcmp(&rtcp, &s->rtcp, sizeof(rtcp)) != 0)
			sp_media_uninstall(m, s);
		return;
	}
	if (!want || s->installed)
		return;
	if (sp_media_kernel_install(m, s, &rtp) < 0) {
		s->refused = true;
		return;
	}
	if (sp_media_kernel_install(m, s, &rtcp) < 0) {
		sp_media_kernel_remove(m, &rtp);
		s->refused = true;
		return;
	}
	s->refused = false;
	s->rtp = rtp;
	s->rtcp = rtcp;
	s->installed = true;
	m->st.streams_installed++;
	if (peer) {
		s->installed_joined = true;
		m->st.streams_joined++;
	}
}

/* Makes the kernel match what both sides announced for one stream, and
 * for the other leg it was or is now joined with: every removal first, so
 * a joined entry never meets the tuple of an entry it replaces. */
void sp_media_sync(struct sp_media *m, struct sp_media_sstream *s)
{
	struct sp_media_sstream *v[3] = { s, s->peer, sp_media_own_port(m, s) };

	if (v[2] == v[1])
		v[2] = NULL;
	for (int install = 0; install < 2; install++)
		for (int i = 0; i < 3; i++)
			if (v[i])
				sp_media_apply(m, v[i], install);
}

/* ---- ports and sessions ---- */

void sp_media_release_pair(struct sp_media *m, uint16_t pe, uint16_t pc)
{
	if (!pe)
		return;
	/* the ports a message took and no dialog's record holds go back;
	 * a dialog's go with its streams in the store */
	sp_table_media_release(m->store, pe);
	sp_table_media_release(m->store, pc);
	m->st.pairs_in_use -= 2;
}

struct sp_media_session *sp_media_session_new(struct sp_media *m, uint32_t dialog_id)
{
	struct sp_media_session *sess = calloc(1, sizeof(*sess));

	if (!sess)
		return NULL;
	sess->dialog_id = dialog_id;
	sp_htab_insert(&m->by_dialog, &sess->node, sp_media_hash(m, dialog_id));
	sess->next = m->sessions;
	if (m->sessions)
		m->sessions->prev = sess;
	m->sessions = sess;
	m->st.sessions++;
	return sess;
}

void sp_media_set_latch(struct sp_media *m, struct sp_media_sstream *s, bool on)
{
	if (s->latch == on)
		return;
	s->latch = on;
	if (on)
		m->latching++;
	else
		m->latching--;
}

static void sp_media_session_free(struct sp_media *m, struct sp_media_session *sess)
{
	for (unsigned i = 0; i < sess->n; i++) {
		struct sp_media_sstream *s = &sess->s[i];
		/* the other leg, joined or about to be: it loses its partner,
		 * and the joined entries go with whichever leg owned them */
		struct sp_media_sstream *other[2] = { s->peer, sp_media_own_port(m, s) };

		if (s->pe) {
			m->by_pair[s->pe / 2] = NULL;
			m->by_cpair[s->pc / 2] = NULL;
		}
		sp_media_uninstall(m, s);
		sp_media_set_latch(m, s, false);
		s->peer = NULL;
		for (int k = 0; k < 2; k++) {
			if (!other[k] || (k == 1 && other[1] == other[0]))
				continue;
			if (other[k]->peer == s)
				other[k]->peer = NULL;
			sp_media_sync(m, other[k]);
		}
		if (s->pe)
			sp_media_release_pair(m, s->pe, s->pc);
		s->pe = s->pc = 0; /* a later stream's sync must not revive it */
	}
	sp_htab_remove(&m->by_dialog, &sess->node);
	if (sess->prev)
		sess->prev->next = sess->next;
	else
		m->sessions = sess->next;
	if (sess->next)
		sess->next->prev = sess->prev;
	m->st.sessions--;
	free(sess);
}

void sp_media_dialog_end(struct sp_media *m, uint32_t dialog_id)
{
	struct sp_media_session *sess = sp_media_find(m, dialog_id);

	if (!sess)
		return;
	sp_media_session_free(m, sess);
	sp_media_changed(m, dialog_id);
}

void sp_media_clear(struct sp_media *m)
{
	while (m->sessions)
		sp_media_session_free(m, m->sessions);
}

/* ---- active-standby ---- */

unsigned sp_media_export(struct sp_media *m, uint32_t dialog_id, struct sp_media_stream *out,
			 unsigned max)
{
	const struct sp_media_session *sess = sp_media_find(m, dialog_id);
	unsigned n = 0;

	for (unsigned i = 0; sess && i < sess->n && n < max; i++) {
		const struct sp_media_sstream *s = &sess->s[i];
		struct sp_media_stream *o = &out[n++];

		memset(o, 0, sizeof(*o));
		o->terminal_side_port = s->pe;
		o->far_side_port = s->pc;
		if (s->term.known) {
			o->terminal = s->term.rtp;
			o->terminal_rtcp = s->term.rtcp;
		}
		if (s->far.known) {
			o->far = s->far.rtp;
			o->far_rtcp = s->far.rtcp;
		}
		if (s->nat) {
			o->terminal_sdp = s->term_sdp;
			o->nat = SP_STREAM_NAT | (s->latch ? SP_STREAM_LATCH : 0) |
				 (s->latched_rtp ? SP_STREAM_LATCHED_RTP : 0) |
				 (s->latched_rtcp ? SP_STREAM_LATCHED_RTCP : 0);
		}
	}
	return n;
}

/* One side of a stream record; RTCP on RTP + 1 when the record does not
 * say (a peer's or a store's record of the version before). */
static struct sp_media_side sp_media_side_from(const struct sp_endpoint *rtp,
					       const struct sp_endpoint *rtcp)
{
	struct sp_media_side side = { .known = rtp->family != 0 };

	if (side.known) {
		side.rtp = *rtp;
		side.rtcp = *rtp;
		side.rtcp.port = rtp->port == 65535 ? 0 : rtp->port + 1;
		if (rtcp->family)
			side.rtcp = *rtcp;
	}
	return side;
}

/* What a terminal behind a NAT had learned, as the record says. */
static void sp_media_nat_from(struct sp_media *m, struct sp_media_sstream *s,
			      const struct sp_media_stream *st)
{
	if (!(st->nat & SP_STREAM_NAT))
		return;
	s->nat = true;
	s->term_sdp = st->terminal_sdp;
	s->latched_rtp = st->nat & SP_STREAM_LATCHED_RTP;
	s->latched_rtcp = st->nat & SP_STREAM_LATCHED_RTCP;
	sp_media_set_latch(m, s, st->nat & SP_STREAM_LATCH);
}

int sp_media_import(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
		    const struct sp_endpoint *c, uint16_t zone, uint16_t origin,
		    const struct sp_media_stream *streams, unsigned n)
{
	struct sp_media_session *sess;
	int restored = 0;

	if (!dialog_id || !n)
		return 0;
	sess = sp_media_find(m, dialog_id);
	if (sess) /* an older copy of the same dialog (not announced: see the header) */
		sp_media_session_free(m, sess);
	if (!(sess = sp_media_session_new(m, dialog_id)))
		return -ENOMEM;
	sess->e = *e;
	sess->e.port = 0;
	sess->c = *c;
	sess->c.port = 0;
	sess->zone = zone;	/* the VPN's conntrack zone and mark, as sp_media_commit_origin() */
	sess->origin = origin;
	for (unsigned i = 0; i < n && i < SP_SDP_MAX_STREAMS; i++) {
		const struct sp_media_stream *st = &streams[i];
		struct sp_media_sstream *s = &sess->s[i];

		sess->n = i + 1;
		s->sess = sess;
		/* the active's ports, which the far side and the terminal know:
		 * the dialog's record in the store holds them */
		if (!st->terminal_side_port || !sp_table_media_in_range(m->store, st->terminal_side_port) ||
		    !sp_table_media_in_range(m->store, st->far_side_port))
			continue;
		m->st.pairs_in_use += 2;
		s->pe = st->terminal_side_port;
		s->pc = st->far_side_port;
		m->by_pair[s->pe / 2] = s;
		m->by_cpair[s->pc / 2] = s;
		s->term = sp_media_side_from(&st->terminal, &st->terminal_rtcp);
		s->far = sp_media_side_from(&st->far, &st->far_rtcp);
		sp_media_nat_from(m, s, st);
		sp_media_sync(m, s);
		restored++;
	}
	return restored;
}

/* ---- reconciliation ---- */

int sp_media_reconcile(struct sp_media *m)
{
	struct sp_ct_nat *v;
	int n, fixed = 0;

	if (!m->have_kernel)
		return 0;
	n = m->k.list(m->k.arg, &v);
	if (n < 0) {
		m->st.kernel_errors++;
		return n;
	}
	m->gen++;
	for (int i = 0; i < n; i++) {
		struct sp_media_sstream *s = m->by_pair[v[i].terminal_side.port / 2];

		if (s && s->installed && memcmp(&v[i], &s->rtp, sizeof(v[i])) == 0) {
			s->seen_gen_rtp = m->gen;
		} else if (s && s->installed && memcmp(&v[i], &s->rtcp, sizeof(v[i])) == 0) {
			s->seen_gen_rtcp = m->gen;
		} else {
			char b[160];

			sp_info("media: removing a conntrack entry no stream owns: %s",
				sp_ct_nat_format(&v[i], b, sizeof(b)));
			sp_media_kernel_remove(m, &v[i]);
			m->st.reconcile_removed++;
			fixed++;
		}
	}
	free(v);
	for (struct sp_media_session *sess = m->sessions; sess; sess = sess->next) {
		for (unsigned i = 0; i < sess->n; i++) {
			struct sp_media_sstream *s = &sess->s[i];

			if (!s->installed) {
				/* refused when the answer came: try again */
				if (s->refused) {
					sp_media_apply(m, s, true);
					if (s->installed) {
						m->st.reconcile_restored += 2;
						fixed += 2;
					}
				}
				continue;
			}
			/* timed out during a silence (hold): the dialog still wants it */
			if (s->seen_gen_rtp != m->gen && sp_media_kernel_install(m, s, &s->rtp) == 0) {
				m->st.reconcile_restored++;
				fixed++;
			}
			if (s->seen_gen_rtcp != m->gen && sp_media_kernel_install(m, s, &s->rtcp) == 0) {
				m->st.reconcile_restored++;
				fixed++;
			}
		}
	}
	return fixed;
}

/* ---- read by `show` (cli/sp_show) ---- */

/* Whether the kernel carries s now: its own entries, or its joined leg's. */
static bool sp_media_carried(const struct sp_media_sstream *s)
{
	return s->installed || (s->peer && s->peer->installed && s->peer->installed_joined);
}

bool sp_media_stream_view(struct sp_media *m, uint32_t dialog_id, unsigned i,
			  struct sp_media_stream_view *v)
{
	const struct sp_media_session *sess = sp_media_find(m, dialog_id);
	const struct sp_media_sstream *s, *owner;

	if (!sess || i >= sess->n || !sess->s[i].pe)
		return false;
	s = &sess->s[i];
	memset(v, 0, sizeof(*v));
	v->term_known = s->term.known;
	v->term = s->term.rtp;
	v->far_known = s->far.known;
	v->far = s->far.rtp;
	v->pe = s->pe;
	v->pc = s->pc;
	v->carried = sp_media_carried(s);
	if (v->carried && s->peer) {
		v->joined = true;
		v->peer_dialog = s->peer->sess->dialog_id;
		v->peer_term = s->peer->term.rtp;
	}
	if (!v->carried || !m->have_kernel)
		return true;
	owner = s->installed ? s : s->peer;
	m->k.counters(m->k.arg, &owner->rtp, &v->rtp);
	m->k.counters(m->k.arg, &owner->rtcp, &v->rtcp);
	if (owner != s) {
		/* the other leg's entry: its original direction is ours reversed */
		struct sp_ct_counters x = v->rtp;

		v->rtp = (struct sp_ct_counters){ x.reply_packets, x.reply_bytes, x.orig_packets,
						  x.orig_bytes };
		x = v->rtcp;
		v->rtcp = (struct sp_ct_counters){ x.reply_packets, x.reply_bytes, x.orig_packets,
						   x.orig_bytes };
	}
	v->counted = true;
	return true;
}

const struct sp_media_stats *sp_media_stats(struct sp_media *m)
{
	return &m->st;
}

unsigned sp_media_streams(struct sp_media *m, uint32_t dialog_id)
{
	const struct sp_media_session *sess = sp_media_find(m, dialog_id);
	unsigned n = 0;

	for (unsigned i = 0; sess && i < sess->n; i++)
		n += sp_media_carried(&sess->s[i]);
	return n;
}
