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

/* ---- the store's stream records ---- */

/* The dialog whose record s views, and s's index in it (*i), or NULL when
 * the dialog is gone from the store. */
struct sp_dialog *sp_media_dialog(const struct sp_media *m, const struct sp_media_sstream *s,
				  unsigned *i)
{
	*i = (unsigned)(s - s->sess->s);
	return sp_dialog_find_id(m->store, s->sess->dialog_id);
}

/* The store's record of s, or NULL when its dialog or the stream is gone. */
const struct sp_media_stream *sp_media_rec(const struct sp_media *m,
					   const struct sp_media_sstream *s)
{
	unsigned i;
	const struct sp_dialog *d = sp_media_dialog(m, s, &i);

	return d && i < d->n_media ? &d->media[i] : NULL;
}

/* One side of a stream record; RTCP on RTP + 1 when the record does not
 * say (a peer's or a store's record of the version before). */
struct sp_media_side sp_media_side_from(const struct sp_endpoint *rtp,
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

/* One side into a record: family 0 when it is not known. */
void sp_media_put_side(struct sp_endpoint *rtp, struct sp_endpoint *rtcp,
		       const struct sp_media_side *side)
{
	if (side->known) {
		*rtp = side->rtp;
		*rtcp = side->rtcp;
	} else {
		memset(rtp, 0, sizeof(*rtp));
		memset(rtcp, 0, sizeof(*rtcp));
	}
}

static struct sp_media_side sp_media_term(const struct sp_media_stream *r)
{
	return sp_media_side_from(&r->terminal, &r->terminal_rtcp);
}

static struct sp_media_side sp_media_far(const struct sp_media_stream *r)
{
	return sp_media_side_from(&r->far, &r->far_rtcp);
}

/* The latch poll's index follows the record's SP_STREAM_LATCH. */
void sp_media_count_latch(struct sp_media *m, struct sp_media_sstream *s)
{
	const struct sp_media_stream *r = s->key_pe ? sp_media_rec(m, s) : NULL;
	bool on = r && (r->nat & SP_STREAM_LATCH);

	if (s->latch_counted == on)
		return;
	s->latch_counted = on;
	if (on)
		m->latching++;
	else
		m->latching--;
}

/* s takes the index slots of its record's ports (once: they do not change
 * while the dialog lives, a re-offer keeps them). */
void sp_media_index(struct sp_media *m, struct sp_media_sstream *s,
		    const struct sp_media_stream *r)
{
	if (s->key_pe || !r->terminal_side_port)
		return;
	s->key_pe = r->terminal_side_port;
	s->key_pc = r->far_side_port;
	m->by_pair[s->key_pe / 2] = s;
	m->by_cpair[s->key_pc / 2] = s;
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
	const struct sp_media_stream *r = sp_media_rec(m, s);
	const struct sp_endpoint *f;
	struct sp_media_sstream *t;

	if (!r)
		return NULL;
	f = &r->far;
	/* either family: a C port is ours whatever C's address family, and
	 * the address comparison tells an IPv4 C from an IPv6 one */
	if ((f->family != AF_INET && f->family != AF_INET6) || f->port % 2)
		return NULL;
	t = m->by_cpair[f->port / 2];
	if (!t || t == s || t->key_pc != f->port || !sp_endpoint_same_addr(f, &t->sess->c))
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
	const struct sp_media_stream *r = s->key_pe ? sp_media_rec(m, s) : NULL;
	const struct sp_media_stream *tr;
	const struct sp_media_sstream *t;
	struct sp_media_side term, far, tterm;

	*peer = NULL;
	if (!r || !r->terminal_side_port)
		return false;
	term = sp_media_term(r);
	far = sp_media_far(r);
	if (!sp_media_side_usable(&term) || !sp_media_side_usable(&far) ||
	    sp_media_unspecified(&sess->e) || sp_media_unspecified(&sess->c))
		return false;
	t = *peer = sp_media_peer(m, s);
	if (t) {
		tr = sp_media_rec(m, t);
		if (!tr)
			return false;
		tterm = sp_media_term(tr);
		if (tr->terminal_side_port < r->terminal_side_port || !sp_media_side_usable(&tterm) ||
		    sp_media_unspecified(&t->sess->e))
			return false;
		sp_media_nat(rtp, sess, &term.rtp, &tterm.rtp, r->terminal_side_port, 0);
		rtp->far_side = t->sess->e;
		rtp->far_side.port = tr->terminal_side_port;
		sp_media_nat(rtcp, sess, &term.rtcp, &tterm.rtcp, r->terminal_side_port + 1, 0);
		rtcp->far_side = t->sess->e;
		rtcp->far_side.port = tr->terminal_side_port + 1;
		return true;
	}
	/* this SP's own address, but no leg of ours answers there (yet):
	 * a DNAT to ourselves would carry nothing */
	if (sp_endpoint_same_addr(&far.rtp, &sess->c))
		return false;
	sp_media_nat(rtp, sess, &term.rtp, &far.rtp, r->terminal_side_port, r->far_side_port);
	sp_media_nat(rtcp, sess, &term.rtcp, &far.rtcp, r->terminal_side_port + 1,
		     r->far_side_port + 1);
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
	for (unsigned i = 0; i < SP_MEDIA_MAX_STREAMS; i++)
		sess->s[i].sess = sess;
	sp_htab_insert(&m->by_dialog, &sess->node, sp_media_hash(m, dialog_id));
	sess->next = m->sessions;
	if (m->sessions)
		m->sessions->prev = sess;
	m->sessions = sess;
	m->st.sessions++;
	return sess;
}

static void sp_media_session_free(struct sp_media *m, struct sp_media_session *sess)
{
	for (unsigned i = 0; i < sess->n; i++) {
		struct sp_media_sstream *s = &sess->s[i];
		/* the other leg, joined or about to be: it loses its partner,
		 * and the joined entries go with whichever leg owned them */
		struct sp_media_sstream *other[2] = { s->peer, sp_media_own_port(m, s) };

		if (s->key_pe) {
			m->by_pair[s->key_pe / 2] = NULL;
			m->by_cpair[s->key_pc / 2] = NULL;
		}
		sp_media_uninstall(m, s);
		if (s->latch_counted) {
			s->latch_counted = false;
			m->latching--;
		}
		s->peer = NULL;
		for (int k = 0; k < 2; k++) {
			if (!other[k] || (k == 1 && other[1] == other[0]))
				continue;
			if (other[k]->peer == s)
				other[k]->peer = NULL;
			sp_media_sync(m, other[k]);
		}
		if (s->key_pe)
			sp_media_release_pair(m, s->key_pe, s->key_pc);
		s->key_pe = s->key_pc = 0; /* a later stream's sync must not revive it */
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
	struct sp_dialog *d;

	if (!sess)
		return;
	sp_media_session_free(m, sess);
	/* a dialog that outlives its media (expiry ends the media first):
	 * its record lets the ports go */
	d = sp_dialog_find_id(m->store, dialog_id);
	if (d)
		sp_dialog_set_media(m->store, d, NULL, 0);
}

void sp_media_clear(struct sp_media *m)
{
	while (m->sessions)
		sp_media_session_free(m, m->sessions);
}

/* ---- active-standby ---- */

int sp_media_import(struct sp_media *m, uint32_t dialog_id, const struct sp_endpoint *e,
		    const struct sp_endpoint *c, uint16_t zone, uint16_t origin)
{
	const struct sp_dialog *d = dialog_id ? sp_dialog_find_id(m->store, dialog_id) : NULL;
	struct sp_media_session *sess;
	int restored = 0;

	if (!d || !d->n_media)
		return 0;
	sess = sp_media_find(m, dialog_id);
	if (sess) /* a view of an older run of the same dialog */
		sp_media_session_free(m, sess);
	if (!(sess = sp_media_session_new(m, dialog_id)))
		return -ENOMEM;
	sess->e = *e;
	sess->e.port = 0;
	sess->c = *c;
	sess->c.port = 0;
	sess->zone = zone;	/* the VPN's conntrack zone and mark, as sp_media_commit_origin() */
	sess->origin = origin;
	sess->n = d->n_media;
	for (unsigned i = 0; i < d->n_media; i++) {
		const struct sp_media_stream *r = &d->media[i];
		struct sp_media_sstream *s = &sess->s[i];

		/* the active's ports, which the far side and the terminal know:
		 * the dialog's record in the store holds them */
		if (!r->terminal_side_port || !sp_table_media_in_range(m->store, r->terminal_side_port) ||
		    !sp_table_media_in_range(m->store, r->far_side_port))
			continue;
		m->st.pairs_in_use += 2;
		sp_media_index(m, s, r);
		sp_media_count_latch(m, s);
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
	const struct sp_media_stream *r, *pr;

	if (!sess || i >= sess->n || !sess->s[i].key_pe || !(r = sp_media_rec(m, &sess->s[i])))
		return false;
	s = &sess->s[i];
	memset(v, 0, sizeof(*v));
	v->term_known = r->terminal.family != 0;
	v->term = r->terminal;
	v->far_known = r->far.family != 0;
	v->far = r->far;
	v->pe = r->terminal_side_port;
	v->pc = r->far_side_port;
	v->carried = sp_media_carried(s);
	if (v->carried && s->peer) {
		v->joined = true;
		v->peer_dialog = s->peer->sess->dialog_id;
		if ((pr = sp_media_rec(m, s->peer)))
			v->peer_term = pr->terminal;
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
