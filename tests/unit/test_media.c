/* Media state per dialog without root: SDP offers and answers go through the
 * real SDP rewriter with sp_media's port map, and a fake kernel records what
 * would be programmed. */
#include "config.h"
#include "sp_media.h"
#include "sp_media_guard.h"
#include "sp_proxy.h"
#include "sp_sdp.h"
#include "sp_sip.h"
#include "sp_table.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRLF "\r\n"
#define MAX_ENTRIES 64

/* The fake kernel: a set of entries keyed by their original tuple. */
struct fake_kernel {
	struct sp_ct_nat e[MAX_ENTRIES];
	unsigned n;
	unsigned installs, removes;
	bool eexist_once;
	/* an unNATed entry of the far end's flow to C:pc (it kept sending
	 * while no entry was there): refuses ours until it is removed */
	bool has_stale_far;
	struct sp_ct_nat stale_far;
	int fail;		/* every install fails with it (a kernel refusal) */
	uint64_t packets;	/* what every entry counted */
};

static int fk_find(struct fake_kernel *k, const struct sp_ct_nat *n)
{
	for (unsigned i = 0; i < k->n; i++)
		if (sp_endpoint_equal(&k->e[i].terminal, &n->terminal) &&
		    sp_endpoint_equal(&k->e[i].terminal_side, &n->terminal_side))
			return (int)i;
	return -1;
}

static int fk_install(void *arg, const struct sp_ct_nat *n)
{
	struct fake_kernel *k = arg;

	if (k->fail)
		return k->fail;
	if (k->has_stale_far && sp_endpoint_equal(&n->far, &k->stale_far.terminal) &&
	    sp_endpoint_equal(&n->far_side, &k->stale_far.terminal_side))
		return -EEXIST;
	if (fk_find(k, n) >= 0 || k->eexist_once) {
		k->eexist_once = false;
		return -EEXIST;
	}
	cr_assert_lt(k->n, MAX_ENTRIES);
	k->e[k->n++] = *n;
	k->installs++;
	return 0;
}

static int fk_remove(void *arg, const struct sp_ct_nat *n)
{
	struct fake_kernel *k = arg;
	int f = n->terminal.family, i;

	/* as sp_conntrack_delete: one family for every endpoint */
	if (n->terminal_side.family != f || n->far.family != f || n->far_side.family != f)
		return -EAFNOSUPPORT;
	if (k->has_stale_far && sp_endpoint_equal(&n->terminal, &k->stale_far.terminal) &&
	    sp_endpoint_equal(&n->terminal_side, &k->stale_far.terminal_side)) {
		k->has_stale_far = false;
		return 0;
	}
	i = fk_find(k, n);
	if (i < 0)
		return -ENOENT;
	k->e[i] = k->e[--k->n];
	k->removes++;
	return 0;
}

static int fk_counters(void *arg, const struct sp_ct_nat *n, struct sp_ct_counters *c)
{
	struct fake_kernel *k = arg;

	memset(c, 0, sizeof(*c));
	c->orig_packets = c->reply_packets = k->packets;
	return fk_find(arg, n) >= 0 ? 0 : -ENOENT;
}

static int fk_list(void *arg, struct sp_ct_nat **out)
{
	struct fake_kernel *k = arg;

	*out = malloc(sizeof(k->e));
	memcpy(*out, k->e, sizeof(k->e));
	return (int)k->n;
}

static struct fake_kernel fk;
static struct sp_media *m;
/* the session store m views: its dialogs' stream records are the streams */
static struct sp_table *st;
static struct sp_endpoint E, C;
/* E's and C's addresses as the rewriter writes them into SDP */
static const char *e_addr, *c_addr;
/* where the terminal's messages come from (sp_media_terminal_source), or NULL */
static const struct sp_endpoint *msg_src;
static char out[4096];

/* A store with one binding, the terminal 10.1.0.10:5070 behind E:5060. */
static struct sp_table *new_store(void)
{
	struct sp_table_config tc;
	struct sp_table *t;
	struct sp_binding *b;
	struct sp_binding_params bp = { .vpn = 0, .strategy_id = 1, .via_sent_by = "10.1.0.10:5070",
					.contact = "10.1.0.10:5070" };

	sp_table_config_default(&tc);
	tc.media_port_first = tc.media_port_last = 0;	/* sp_media_set_range's */
	t = sp_table_create(&tc, NULL);
	cr_assert_not_null(t);
	sp_endpoint_parse(&bp.terminal, "10.1.0.10", 5070);
	sp_endpoint_parse(&bp.virtual_server, "198.51.100.1", 5060);
	sp_endpoint_parse(&bp.server_side, "192.0.2.1", 0);
	sp_endpoint_parse(&bp.server, "192.0.2.10", 5060);
	cr_assert_eq(sp_binding_create(t, &bp, 1000, &b), 0);
	return t;
}

/* Dialog id of the store, created as the protocol does before the media
 * of its first message is committed. */
static struct sp_dialog *need_dialog(struct sp_table *t, uint32_t id)
{
	struct sp_dialog *d = sp_dialog_find_id(t, id);
	char cid[32];
	struct sp_dialog_params p = { .id = id, .binding = sp_binding_first(t), .call_id = cid,
				      .from_tag = "ft", .invite_cseq = 1,
				      .state = SP_DIALOG_EARLY };

	if (d)
		return d;
	p.call_id_len = (size_t)snprintf(cid, sizeof(cid), "call-%u", id);
	cr_assert_eq(sp_dialog_create(t, &p, 1000, &d), 0);
	return d;
}

static void setup(void)
{
	struct sp_media_kernel mk = { fk_install, fk_remove, fk_counters, fk_list, &fk };
	char err[128];

	memset(&fk, 0, sizeof(fk));
	msg_src = NULL;
	st = new_store();
	m = sp_media_create(&mk, st);
	cr_assert_not_null(m);
	cr_assert_eq(sp_media_set_range(m, 20000, 20099, err, sizeof(err)), 0, "%s", err);
	e_addr = "198.51.100.1";
	c_addr = "192.0.2.1";
	sp_endpoint_parse(&E, e_addr, 0);
	sp_endpoint_parse(&C, c_addr, 0);
}

static void teardown(void)
{
	sp_media_destroy(m);
	sp_table_destroy(st);
}

/* One SDP message through the rewriter: returns the sp_sdp error; the
 * rewritten body is in out and its streams in *info. */
static int sdp_msg(uint32_t dialog, enum sp_media_from from, const char *sdp, bool commit,
		   struct sp_sdp_info *info)
{
	struct sp_sdp_plan plan = {
		.media_addr = from == SP_MEDIA_FROM_TERMINAL ? c_addr : e_addr,
		.port_map = sp_media_port_map,
		.port_map_arg = m,
	};
	size_t len = 0;
	int rc;

	if (dialog)
		need_dialog(st, dialog);
	sp_media_begin(m, dialog, from, true);
	if (msg_src && from == SP_MEDIA_FROM_TERMINAL)
		sp_media_terminal_source(m, msg_src);
	rc = sp_sdp_rewrite(sdp, strlen(sdp), &plan, out, sizeof(out) - 1, &len);
	out[len] = '\0';
	if (rc == SP_SDP_OK && commit)
		sp_media_commit(m, dialog, &E, &C);
	else
		sp_media_abort(m);
	if (rc == SP_SDP_OK && info)
		cr_assert_eq(sp_sdp_inspect(out, len, info), SP_SDP_OK, "output: %s", out);
	return rc;
}

static const struct sp_ct_nat *entry_to(uint16_t port)
{
	for (unsigned i = 0; i < fk.n; i++)
		if (fk.e[i].terminal_side.port == port)
			return &fk.e[i];
	return NULL;
}

static void assert_ep(const struct sp_endpoint *ep, const char *addr, uint16_t port)
{
	char b[SP_ENDPOINT_STRLEN], want[SP_ENDPOINT_STRLEN];

	snprintf(want, sizeof(want), "%s:%u", addr, port);
	cr_assert_str_eq(sp_endpoint_format(ep, b, sizeof(b)), want);
}

static const char offer[] =
	"v=0" CRLF
	"o=alice 1 1 IN IP4 10.1.0.10" CRLF
	"s=-" CRLF
	"c=IN IP4 10.1.0.10" CRLF
	"t=0 0" CRLF
	"m=audio 6000 RTP/AVP 0" CRLF
	"a=rtpmap:0 PCMU/8000" CRLF;

static const char answer[] =
	"v=0" CRLF
	"o=bob 2 2 IN IP4 192.0.2.10" CRLF
	"s=-" CRLF
	"c=IN IP4 192.0.2.10" CRLF
	"t=0 0" CRLF
	"m=audio 7000 RTP/AVP 0" CRLF
	"a=rtcp:7101" CRLF;

TestSuite(media, .init = setup, .fini = teardown);

Test(media, offer_then_answer_programs_one_entry_per_flow)
{
	struct sp_sdp_info o, a;
	uint16_t pc, pe;
	const struct sp_ct_nat *rtp, *rtcp;

	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o), SP_SDP_OK);
	pc = o.streams[0].port;
	cr_assert(pc >= 20000 && pc <= 20098 && pc % 2 == 0, "pc %u", pc);
	cr_assert_str_eq(o.streams[0].addr, "192.0.2.1");
	cr_assert_eq(fk.n, 0, "only one side known: nothing programmed");
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 2);

	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	pe = a.streams[0].port;
	cr_assert(pe >= 20000 && pe % 2 == 0 && pe != pc, "pe %u pc %u", pe, pc);
	cr_assert_str_eq(a.streams[0].addr, "198.51.100.1");
	cr_assert_eq(a.streams[0].rtcp_port, pe + 1, "a=rtcp names our RTCP port");
	cr_assert_eq(fk.n, 2);
	rtp = entry_to(pe);
	rtcp = entry_to(pe + 1);
	cr_assert_not_null(rtp);
	cr_assert_not_null(rtcp);
	assert_ep(&rtp->terminal, "10.1.0.10", 6000);
	assert_ep(&rtp->terminal_side, "198.51.100.1", pe);
	assert_ep(&rtp->far, "192.0.2.10", 7000);
	assert_ep(&rtp->far_side, "192.0.2.1", pc);
	assert_ep(&rtcp->terminal, "10.1.0.10", 6001);
	assert_ep(&rtcp->far, "192.0.2.10", 7101);
	assert_ep(&rtcp->far_side, "192.0.2.1", pc + 1);
	cr_assert_eq(sp_media_streams(m, 1), 1);

	sp_media_dialog_end(m, 1);
	cr_assert_eq(fk.n, 0, "BYE removes the entries");
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0, "and releases the ports");
	cr_assert_eq(sp_media_stats(m)->sessions, 0);
}

Test(media, incoming_call_offer_from_far)
{
	struct sp_sdp_info o, a;

	cr_assert_eq(sdp_msg(7, SP_MEDIA_FROM_FAR, answer, true, &o), SP_SDP_OK);
	cr_assert_eq(sdp_msg(7, SP_MEDIA_FROM_TERMINAL, offer, true, &a), SP_SDP_OK);
	cr_assert_eq(fk.n, 2);
	assert_ep(&entry_to(o.streams[0].port)->far_side, "192.0.2.1", a.streams[0].port);
}

Test(media, message_not_sent_releases_its_ports)
{
	cr_assert_eq(sdp_msg(0, SP_MEDIA_FROM_TERMINAL, offer, false, NULL), SP_SDP_OK);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0);
	/* committed without a dialog (not tracked): the same */
	sp_media_begin(m, 0, SP_MEDIA_FROM_TERMINAL, true);
	cr_assert_eq(sdp_msg(0, SP_MEDIA_FROM_TERMINAL, offer, true, NULL), SP_SDP_OK);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0);
	cr_assert_eq(sp_media_stats(m)->sessions, 0);
}

Test(media, reinvite_moves_media_and_keeps_ports)
{
	struct sp_sdp_info o, a, o2;
	static const char moved[] =
		"v=0" CRLF "o=alice 1 2 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.11" CRLF "t=0 0" CRLF "m=audio 6100 RTP/AVP 0" CRLF;

	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a);
	cr_assert_eq(fk.n, 2);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, moved, true, &o2), SP_SDP_OK);
	cr_assert_eq(o2.streams[0].port, o.streams[0].port, "a re-offer keeps pc");
	cr_assert_eq(fk.n, 2, "old entries replaced, not added to");
	assert_ep(&entry_to(a.streams[0].port)->terminal, "10.1.0.11", 6100);
	assert_ep(&entry_to(a.streams[0].port + 1)->terminal, "10.1.0.11", 6101);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 2);
}

Test(media, hold_with_zero_address_removes_entries_resume_restores)
{
	struct sp_sdp_info o, a, h;
	static const char hold[] =
		"v=0" CRLF "o=alice 1 2 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 0.0.0.0" CRLF "t=0 0" CRLF "m=audio 6000 RTP/AVP 0" CRLF "a=sendonly" CRLF;
	static const char sendonly[] =
		"v=0" CRLF "o=alice 1 3 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.10" CRLF "t=0 0" CRLF "m=audio 6000 RTP/AVP 0" CRLF "a=sendonly" CRLF;

	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, hold, true, &h), SP_SDP_OK);
	cr_assert_str_eq(h.streams[0].addr, "0.0.0.0", "hold address stays unspecified");
	cr_assert_eq(h.streams[0].dir, SP_SDP_SENDONLY);
	cr_assert_eq(fk.n, 0, "c=0.0.0.0: nothing to send media to");
	cr_assert_eq(sp_media_streams(m, 1), 0);
	/* a=sendonly with a real address: media still flows one way */
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, sendonly, true, &h), SP_SDP_OK);
	cr_assert_eq(fk.n, 2);
}

Test(media, several_streams_and_port_zero)
{
	struct sp_sdp_info o, a;
	static const char av[] =
		"v=0" CRLF "o=alice 1 1 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.10" CRLF "t=0 0" CRLF
		"m=audio 6000 RTP/AVP 0" CRLF
		"m=video 6002 RTP/AVP 96" CRLF "c=IN IP4 10.1.0.12" CRLF
		"m=audio 6004 RTP/AVP 8" CRLF;
	/* video refused */
	static const char av_answer[] =
		"v=0" CRLF "o=bob 2 2 IN IP4 192.0.2.10" CRLF "s=-" CRLF
		"c=IN IP4 192.0.2.10" CRLF "t=0 0" CRLF
		"m=audio 7000 RTP/AVP 0" CRLF
		"m=video 0 RTP/AVP 96" CRLF
		"m=audio 7004 RTP/AVP 8" CRLF;

	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, av, true, &o), SP_SDP_OK);
	cr_assert_eq(o.n_streams, 3);
	cr_assert_str_eq(o.streams[1].addr, "192.0.2.1", "media-level c= rewritten too");
	cr_assert_neq(o.streams[0].port, o.streams[1].port);
	cr_assert_neq(o.streams[1].port, o.streams[2].port);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 6);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, av_answer, true, &a), SP_SDP_OK);
	cr_assert_eq(a.streams[1].port, 0, "a refused stream stays refused");
	cr_assert_eq(fk.n, 4, "two streams, RTP and RTCP each");
	cr_assert_null(entry_to(a.streams[1].port));
	assert_ep(&entry_to(a.streams[2].port)->terminal, "10.1.0.10", 6004);
	assert_ep(&entry_to(a.streams[2].port)->far, "192.0.2.10", 7004);
	cr_assert_eq(sp_media_streams(m, 1), 2);
	sp_media_dialog_end(m, 1);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0);
}

Test(media, bad_sdp_programs_nothing)
{
	static const char bad[] =
		"v=0" CRLF "o=alice 1 1 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.10" CRLF "t=0 0" CRLF "m=audio sixty RTP/AVP 0" CRLF;
	static const char named[] =
		"v=0" CRLF "o=alice 1 1 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 phone.example" CRLF "t=0 0" CRLF "m=audio 6000 RTP/AVP 0" CRLF;

	cr_assert_neq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, bad, true, NULL), SP_SDP_OK);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, named, true, NULL), SP_SDP_E_REFUSED,
		     "a host name cannot be NATed");
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 0);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 2, "only the answer's stream holds ports");
	cr_assert_geq(sp_media_stats(m)->refused, 1);
}

/* The SIP path: a malformed SDP body makes the proxy refuse the message. */
Test(media, bad_sdp_in_invite_refused_by_proxy)
{
	static const char invite[] =
		"INVITE sip:bob@198.51.100.1 SIP/2.0" CRLF
		"Via: SIP/2.0/UDP 10.1.0.10:5070;branch=z9hG4bK-1" CRLF
		"From: <sip:alice@198.51.100.1>;tag=a1" CRLF
		"To: <sip:bob@198.51.100.1>" CRLF
		"Call-ID: bad-sdp-1" CRLF
		"CSeq: 1 INVITE" CRLF
		"Contact: <sip:alice@10.1.0.10:5070>" CRLF
		"Content-Type: application/sdp" CRLF
		"Content-Length: 88" CRLF CRLF
		"v=0" CRLF "o=a 1 1 IN IP4 10.1.0.10" CRLF "s=-" CRLF "c=IN IP4 10.1.0.10" CRLF
		"t=0 0" CRLF "m=audio 70000 RTP/AVP 0" CRLF;
	struct sp_proxy_binding b = { 0 };
	struct sp_sip_msg msg;
	size_t len;

	sp_sip_global_init();
	sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal);
	sp_proxy_hostport_parse("198.51.100.1:5060", &b.virtual_server);
	sp_proxy_hostport_parse("192.0.2.1:40000", &b.server_side);
	sp_proxy_hostport_parse("192.0.2.10:5060", &b.server);
	b.terminal_via = b.terminal;
	b.terminal_contact = b.terminal;
	strcpy(b.media_to_server, "192.0.2.1");
	b.port_map_to_server = sp_media_port_map;
	b.port_map_to_server_arg = m;
	cr_assert_eq(sp_sip_inspect(&msg, invite, strlen(invite)), 0, "%s", msg.reason);
	sp_media_begin(m, 0, SP_MEDIA_FROM_TERMINAL, true);
	cr_assert_neq(sp_proxy_to_server(&msg, &b, out, sizeof(out), &len), 0);
	sp_media_abort(m);
	sp_sip_msg_free(&msg);
	cr_assert_eq(fk.n, 0);
	cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0);
}

Test(media, ports_exhausted_and_range_change)
{
	char err[160];
	struct sp_media_kernel mk = { fk_install, fk_remove, fk_counters, fk_list, &fk };
	struct sp_table *small_st = new_store(), *keep_st = st;
	struct sp_media *small = sp_media_create(&mk, small_st);
	struct sp_media *keep = m;

	cr_assert_eq(sp_media_set_range(small, 20000, 20003, err, sizeof(err)), 0);
	m = small;
	st = small_st;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, NULL), SP_SDP_OK);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_TERMINAL, offer, true, NULL), SP_SDP_E_REFUSED,
		     "two pairs make one stream");
	cr_assert_eq(sp_media_stats(m)->ports_exhausted, 1);
	cr_assert_eq(sp_media_set_range(m, 30000, 30099, err, sizeof(err)), -1);
	cr_assert(strstr(err, "clear sessions") != NULL, "%s", err);
	/* clear sessions (sp_engine_clear_sessions): the media, then the
	 * dialogs, whose records held the ports */
	sp_media_clear(m);
	while (sp_dialog_first(st))
		sp_dialog_delete(st, sp_dialog_first(st));
	cr_assert_eq(sp_media_set_range(m, 30000, 30099, err, sizeof(err)), 0, "%s", err);
	m = keep;
	st = keep_st;
	sp_media_destroy(small);
	sp_table_destroy(small_st);
}

Test(media, reconcile_removes_strangers_and_restores_missing)
{
	struct sp_sdp_info o, a;
	struct sp_ct_nat stranger = fk.e[0];

	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a);
	cr_assert_eq(fk.n, 2);
	/* a crashed run's entry, and one of ours timed out */
	sp_endpoint_parse(&stranger.terminal, "10.9.9.9", 4000);
	sp_endpoint_parse(&stranger.terminal_side, "198.51.100.1", 20050);
	stranger.far = stranger.terminal;
	stranger.far_side = stranger.terminal_side;
	fk_remove(&fk, entry_to(a.streams[0].port + 1));
	fk_install(&fk, &stranger);
	cr_assert_eq(sp_media_reconcile(m), 2);
	cr_assert_eq(fk.n, 2);
	cr_assert_null(entry_to(20050));
	cr_assert_not_null(entry_to(a.streams[0].port + 1));
	cr_assert_eq(sp_media_stats(m)->reconcile_removed, 1);
	cr_assert_eq(sp_media_stats(m)->reconcile_restored, 1);
	cr_assert_eq(sp_media_reconcile(m), 0, "nothing left to fix");
}

Test(media, stale_unnated_entry_replaced)
{
	struct sp_sdp_info o, a;

	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	/* RTP the terminal sent to E:pe before the answer is tracked unNATed:
	 * the kernel refuses the tuple once; the stale entry must go */
	fk.eexist_once = true;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	cr_assert_eq(fk.n, 2);
	assert_ep(&entry_to(a.streams[0].port)->far, "192.0.2.10", 7000);
	cr_assert_eq(sp_media_stats(m)->kernel_errors, 0);
	cr_assert_eq(sp_media_streams(m, 1), 1);
}

Test(media, stale_entry_of_the_far_end_replaced)
{
	struct sp_sdp_info o, a;

	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o), SP_SDP_OK);
	/* the far end sent RTP to C:pc before the entry was there (a restart,
	 * a takeover): the kernel tracks it unNATed, to the SP itself */
	fk.has_stale_far = true;
	sp_endpoint_parse(&fk.stale_far.terminal, "192.0.2.10", 7000);
	sp_endpoint_parse(&fk.stale_far.terminal_side, "192.0.2.1", o.streams[0].port);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	cr_assert(!fk.has_stale_far, "the stale entry went");
	cr_assert_eq(fk.n, 2);
	cr_assert_eq(sp_media_stats(m)->kernel_refusals, 0);
	cr_assert_eq(sp_media_streams(m, 1), 1);
}

/* ---- a call between two terminals behind this SP (two legs, one Call-ID) ---- */

static const char bob_answer[] =
	"v=0" CRLF
	"o=bob 2 2 IN IP4 10.1.0.11" CRLF
	"s=-" CRLF
	"c=IN IP4 10.1.0.11" CRLF
	"t=0 0" CRLF
	"m=audio 6100 RTP/AVP 0" CRLF;

/* The joined entry of a flow between alice (leg 1) and bob (leg 2),
 * whichever leg owns it: NULL when none. Sets *alice_first to its
 * orientation. */
static const struct sp_ct_nat *joined_entry(uint16_t alice_port, bool *alice_first)
{
	for (unsigned i = 0; i < fk.n; i++) {
		if (fk.e[i].terminal.port == alice_port || fk.e[i].far.port == alice_port) {
			*alice_first = fk.e[i].terminal.port == alice_port;
			return &fk.e[i];
		}
	}
	return NULL;
}

/* Alice calls bob through a record-routing server: leg 1 (dialog 1) is
 * alice's, leg 2 (dialog 2) bob's. The SDP each leg sends to the server
 * comes back to the other leg as its far side. Returns pe1 and pe2. */
static void two_leg_call(uint16_t *pe1, uint16_t *pe2)
{
	struct sp_sdp_info o1, o2, a2, a1;
	char relay[sizeof(out)];

	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o1), SP_SDP_OK);
	strcpy(relay, out);	/* alice's offer, as the server hands it to leg 2 */
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_FAR, relay, true, &o2), SP_SDP_OK);
	*pe2 = o2.streams[0].port;
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_TERMINAL, bob_answer, true, &a2), SP_SDP_OK);
	cr_assert_eq(fk.n, 0, "leg 2's far side is this SP: nothing until leg 1 is answered");
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, relay, true, &a1), SP_SDP_OK);
	*pe1 = a1.streams[0].port;
}

Test(media, two_legs_here_joined_into_one_entry_per_flow)
{
	uint16_t pe1, pe2;
	const struct sp_ct_nat *rtp, *rtcp;
	bool alice_first;

	two_leg_call(&pe1, &pe2);
	cr_assert_eq(fk.n, 2, "one entry for RTP, one for RTCP: not one per leg");
	cr_assert_eq(fk.installs, 2, "programmed once");
	rtp = joined_entry(6000, &alice_first);
	rtcp = joined_entry(6001, &alice_first);
	cr_assert_not_null(rtp);
	cr_assert_not_null(rtcp);
	/* T1:6000 -> E:pe1 becomes E:pe2 -> T2:6100 (or the same, from bob's side) */
	if (alice_first) {
		assert_ep(&rtp->terminal, "10.1.0.10", 6000);
		assert_ep(&rtp->terminal_side, "198.51.100.1", pe1);
		assert_ep(&rtp->far, "10.1.0.11", 6100);
		assert_ep(&rtp->far_side, "198.51.100.1", pe2);
		assert_ep(&rtcp->terminal, "10.1.0.10", 6001);
		assert_ep(&rtcp->far, "10.1.0.11", 6101);
		assert_ep(&rtcp->far_side, "198.51.100.1", pe2 + 1);
	} else {
		assert_ep(&rtp->terminal, "10.1.0.11", 6100);
		assert_ep(&rtp->terminal_side, "198.51.100.1", pe2);
		assert_ep(&rtp->far, "10.1.0.10", 6000);
		assert_ep(&rtp->far_side, "198.51.100.1", pe1);
		assert_ep(&rtcp->terminal_side, "198.51.100.1", pe2 + 1);
		assert_ep(&rtcp->far_side, "198.51.100.1", pe1 + 1);
	}
	cr_assert_eq(sp_media_streams(m, 1), 1, "both legs are carried");
	cr_assert_eq(sp_media_streams(m, 2), 1);
	cr_assert_eq(sp_media_stats(m)->streams_joined, 1);
	cr_assert_eq(sp_media_reconcile(m), 0, "the joined entries are owned");
	cr_assert_eq(fk.n, 2);
}

Test(media, two_legs_reinvite_of_either_leg_replaces_the_joined_entry)
{
	static const char bob_moved[] =
		"v=0" CRLF "o=bob 2 3 IN IP4 10.1.0.11" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.11" CRLF "t=0 0" CRLF "m=audio 6200 RTP/AVP 0" CRLF;
	static const char alice_moved[] =
		"v=0" CRLF "o=alice 1 2 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 10.1.0.12" CRLF "t=0 0" CRLF "m=audio 6300 RTP/AVP 0" CRLF;
	uint16_t pe1, pe2;
	bool first;

	two_leg_call(&pe1, &pe2);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_TERMINAL, bob_moved, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 2, "replaced, not added to");
	cr_assert_not_null(joined_entry(6000, &first));
	assert_ep(first ? &joined_entry(6000, &first)->far : &joined_entry(6000, &first)->terminal,
		  "10.1.0.11", 6200);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, alice_moved, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 2);
	cr_assert_null(joined_entry(6000, &first));
	cr_assert_not_null(joined_entry(6300, &first));
	assert_ep(first ? &joined_entry(6300, &first)->terminal : &joined_entry(6300, &first)->far,
		  "10.1.0.12", 6300);
	cr_assert_eq(sp_media_stats(m)->streams_joined, 1);
}

Test(media, two_legs_either_leg_ending_removes_the_entries)
{
	uint16_t pe1, pe2;

	for (uint32_t first_to_end = 1; first_to_end <= 2; first_to_end++) {
		two_leg_call(&pe1, &pe2);
		cr_assert_eq(fk.n, 2);
		sp_media_dialog_end(m, first_to_end);
		cr_assert_eq(fk.n, 0, "leg %u ended: the joined entries go", first_to_end);
		cr_assert_eq(sp_media_streams(m, 3 - first_to_end), 0);
		cr_assert_eq(sp_media_stats(m)->streams_joined, 0);
		cr_assert_eq(sp_media_stats(m)->streams_installed, 0);
		sp_media_dialog_end(m, 3 - first_to_end);
		cr_assert_eq(fk.n, 0);
		cr_assert_eq(sp_media_stats(m)->pairs_in_use, 0, "no port leaked");
		cr_assert_eq(sp_media_stats(m)->sessions, 0);
	}
	cr_assert_eq(fk.installs, fk.removes);
}

Test(media, two_legs_hold_removes_resume_joins_again)
{
	static const char alice_hold[] =
		"v=0" CRLF "o=alice 1 2 IN IP4 10.1.0.10" CRLF "s=-" CRLF
		"c=IN IP4 0.0.0.0" CRLF "t=0 0" CRLF "m=audio 6000 RTP/AVP 0" CRLF "a=sendonly" CRLF;
	char relay[sizeof(out)];
	uint16_t pe1, pe2;
	bool first;

	two_leg_call(&pe1, &pe2);
	cr_assert_eq(fk.n, 2);
	/* alice's hold, on leg 1 and as the server relays it to leg 2 */
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, alice_hold, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 0, "hold: nothing to send media to");
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_FAR, relay, true, NULL), SP_SDP_OK);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_TERMINAL, bob_answer, true, NULL), SP_SDP_OK);
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, relay, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 0);
	cr_assert_eq(sp_media_streams(m, 1) + sp_media_streams(m, 2), 0);
	/* resume: the same offer/answer as the first */
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, NULL), SP_SDP_OK);
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_FAR, relay, true, NULL), SP_SDP_OK);
	cr_assert_eq(fk.n, 2, "both legs' terminals known again: joined");
	cr_assert_not_null(joined_entry(6000, &first));
	cr_assert_eq(sp_media_stats(m)->streams_joined, 1);
	cr_assert_eq(sp_media_stats(m)->kernel_errors, 0);
}

Test(media, two_legs_here_joined_on_ipv6)
{
	static const char alice6[] =
		"v=0" CRLF "o=alice 1 1 IN IP6 2001:db8:1::10" CRLF "s=-" CRLF
		"c=IN IP6 2001:db8:1::10" CRLF "t=0 0" CRLF "m=audio 6000 RTP/AVP 0" CRLF;
	static const char bob6[] =
		"v=0" CRLF "o=bob 2 2 IN IP6 2001:db8:1::11" CRLF "s=-" CRLF
		"c=IN IP6 2001:db8:1::11" CRLF "t=0 0" CRLF "m=audio 6100 RTP/AVP 0" CRLF;
	struct sp_sdp_info o1, o2, a2, a1;
	char relay[sizeof(out)];
	const struct sp_ct_nat *rtp;
	uint16_t pe1, pe2;
	bool alice_first;

	/* an SP with IPv6 on both sides: leg 1 announces [C]:pc1 to the server,
	 * which hands it to leg 2 as its far side */
	e_addr = "2001:db8:1::1";
	c_addr = "2001:db8:2::1";
	sp_endpoint_parse(&E, e_addr, 0);
	sp_endpoint_parse(&C, c_addr, 0);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, alice6, true, &o1), SP_SDP_OK);
	cr_assert_str_eq(o1.streams[0].addr, "2001:db8:2::1");
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_FAR, relay, true, &o2), SP_SDP_OK);
	pe2 = o2.streams[0].port;
	cr_assert_eq(sdp_msg(2, SP_MEDIA_FROM_TERMINAL, bob6, true, &a2), SP_SDP_OK);
	cr_assert_eq(fk.n, 0, "leg 2's far side is this SP: no DNAT to ourselves");
	strcpy(relay, out);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, relay, true, &a1), SP_SDP_OK);
	pe1 = a1.streams[0].port;

	cr_assert_eq(fk.n, 2, "one entry for RTP, one for RTCP: not one per leg");
	cr_assert_eq(sp_media_stats(m)->streams_joined, 1);
	cr_assert_eq(sp_media_streams(m, 1), 1, "both legs are carried");
	cr_assert_eq(sp_media_streams(m, 2), 1);
	rtp = joined_entry(6000, &alice_first);
	cr_assert_not_null(rtp);
	/* [T1]:6000 -> [E]:pe1 becomes [E]:pe2 -> [T2]:6100, or the other way */
	assert_ep(alice_first ? &rtp->terminal : &rtp->far, "[2001:db8:1::10]", 6000);
	assert_ep(alice_first ? &rtp->terminal_side : &rtp->far_side, "[2001:db8:1::1]", pe1);
	assert_ep(alice_first ? &rtp->far : &rtp->terminal, "[2001:db8:1::11]", 6100);
	assert_ep(alice_first ? &rtp->far_side : &rtp->terminal_side, "[2001:db8:1::1]", pe2);
	cr_assert_not_null(joined_entry(6001, &alice_first), "RTCP joined too");
	cr_assert_eq(sp_media_reconcile(m), 0, "the joined entries are owned");
	sp_media_dialog_end(m, 1);
	cr_assert_eq(fk.n, 0, "a leg ended: the joined entries go");
	cr_assert_eq(sp_media_stats(m)->streams_joined, 0);
}

/* ---- the kernel refuses (issue 14): counted and logged once, retried ---- */

Test(media, refusal_counted_once_per_stream_and_retried)
{
	struct sp_sdp_info o, a;

	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	fk.fail = -EPERM;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	cr_assert_eq(fk.n, 0);
	cr_assert_eq(sp_media_stats(m)->kernel_refusals, 1);
	for (int i = 0; i < 3; i++)
		sp_media_reconcile(m);
	cr_assert_eq(sp_media_stats(m)->kernel_refusals, 1, "one stream, one refusal");
	cr_assert_geq(sp_media_stats(m)->kernel_errors, 4, "but every attempt is an error");
	cr_assert_eq(sp_media_streams(m, 1), 0);
	fk.fail = 0;
	sp_media_reconcile(m);
	cr_assert_eq(fk.n, 2, "the reconciliation programs it once the kernel accepts");
	cr_assert_eq(sp_media_streams(m, 1), 1);
	cr_assert_eq(sp_media_stats(m)->kernel_refusals, 1);
}

/* ---- a terminal behind a NAT (issue 14): signalling source, latching ---- */

static const char nat_offer[] =
	"v=0" CRLF
	"o=carol 1 1 IN IP4 192.168.77.10" CRLF
	"s=-" CRLF
	"c=IN IP4 192.168.77.10" CRLF
	"t=0 0" CRLF
	"m=audio 6000 RTP/AVP 0" CRLF;

Test(media, private_sdp_behind_nat_uses_the_signalling_source_and_latches)
{
	struct sp_endpoint src, rtp_src, dst, other;
	struct sp_sdp_info o, a;
	const struct sp_ct_nat *rtp;
	uint16_t pe;

	sp_endpoint_parse(&src, "10.3.0.2", 30012);
	msg_src = &src;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, nat_offer, true, &o), SP_SDP_OK);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	pe = a.streams[0].port;
	rtp = entry_to(pe);
	cr_assert_not_null(rtp);
	assert_ep(&rtp->terminal, "10.3.0.2", 6000);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 6001);
	cr_assert_eq(sp_media_stats(m)->nat_streams, 1);
	cr_assert_eq(sp_media_latching(m), 1);

	/* the first RTP packet, from the NAT's mapping, dropped by the guard */
	sp_endpoint_parse(&rtp_src, "10.3.0.2", 30500);
	sp_endpoint_parse(&dst, "198.51.100.1", pe);
	cr_assert_eq(sp_media_latch(m, &rtp_src, &dst), 1);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30500);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 6001); /* RTCP learns on its own */
	cr_assert_eq(sp_media_stats(m)->latched, 1);

	/* another address is not the terminal's */
	sp_endpoint_parse(&other, "10.9.9.9", 30600);
	cr_assert_eq(sp_media_latch(m, &other, &dst), 0);
	/* another port of the NAT while nothing flowed: the mapping changed */
	sp_endpoint_parse(&other, "10.3.0.2", 30600);
	cr_assert_eq(sp_media_latch(m, &other, &dst), 1);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30600);
	/* once media flows, a new source does not take the stream over */
	fk.packets = 50;
	sp_endpoint_parse(&other, "10.3.0.2", 30700);
	cr_assert_eq(sp_media_latch(m, &other, &dst), 0);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30600);

	/* a re-offer with the same private SDP keeps what was learned */
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, nat_offer, true, &o), SP_SDP_OK);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30600);

	sp_media_dialog_end(m, 1);
	cr_assert_eq(sp_media_latching(m), 0);
	cr_assert_eq(fk.n, 0);
}

Test(media, sdp_address_of_the_signalling_source_is_not_behind_nat)
{
	struct sp_endpoint src;
	struct sp_sdp_info o, a;

	/* 10.1.0.10 is private, but it is where the signalling comes from */
	sp_endpoint_parse(&src, "10.1.0.10", 5060);
	msg_src = &src;
	sdp_msg(1, SP_MEDIA_FROM_TERMINAL, offer, true, &o);
	sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a);
	assert_ep(&entry_to(a.streams[0].port)->terminal, "10.1.0.10", 6000);
	cr_assert_eq(sp_media_latching(m), 0);
	cr_assert_eq(sp_media_stats(m)->nat_streams, 0);
}

/* ---- one home for media (issue 16 item 3): the store's record carries
 * what the terminal behind a NAT learned, through a restart or takeover ---- */

/* Dialog 1's stream records copied into a new store (what the store on
 * disk or the state sync carries) and a new media module on its own fake
 * kernel taking its view of them (the restarted daemon, or the new active):
 * m, st and fk are the new ones afterwards. */
static void move_to_new_media(void)
{
	struct sp_media_kernel mk = { fk_install, fk_remove, fk_counters, fk_list, &fk };
	const struct sp_dialog *old = sp_dialog_find_id(st, 1);
	struct sp_table *next = new_store();
	char err[128];

	cr_assert_not_null(old);
	cr_assert_eq(old->n_media, 1);
	sp_media_destroy(m);
	memset(&fk, 0, sizeof(fk));
	m = sp_media_create(&mk, next);
	cr_assert_not_null(m);
	cr_assert_eq(sp_media_set_range(m, 20000, 20099, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sp_dialog_set_media(next, need_dialog(next, 1), old->media, old->n_media), 0);
	sp_table_destroy(st);
	st = next;
	cr_assert_eq(sp_media_import(m, 1, &E, &C, 0, 0), 1);
}

Test(media, nat_latch_and_rtcp_ports_survive_export_and_import)
{
	struct sp_endpoint src, from, dst;
	struct sp_sdp_info o, a;
	uint16_t pe, pc;

	sp_endpoint_parse(&src, "10.3.0.2", 30012);
	msg_src = &src;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, nat_offer, true, &o), SP_SDP_OK);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	pe = a.streams[0].port;
	pc = o.streams[0].port;
	/* RTP and RTCP each latch to a port of the NAT's choosing */
	sp_endpoint_parse(&from, "10.3.0.2", 30500);
	sp_endpoint_parse(&dst, "198.51.100.1", pe);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);
	sp_endpoint_parse(&from, "10.3.0.2", 30901);
	sp_endpoint_parse(&dst, "198.51.100.1", pe + 1);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);

	move_to_new_media();
	cr_assert_eq(fk.n, 2);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30500);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 30901);
	/* the far side's a=rtcp:7101, not RTP + 1 */
	assert_ep(&entry_to(pe + 1)->far, "192.0.2.10", 7101);
	cr_assert_eq(entry_to(pe + 1)->far_side.port, pc + 1);
	/* still behind the NAT: a flow that carried nothing may move again */
	cr_assert_eq(sp_media_latching(m), 1);
	sp_endpoint_parse(&from, "10.3.0.2", 30950);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 30950);
	/* once media flowed, no other source takes it over */
	fk.packets = 5;
	sp_endpoint_parse(&from, "10.3.0.2", 30999);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 0);
}

Test(media, rtcp_not_latched_before_the_restart_latches_after_it)
{
	struct sp_endpoint src, from, dst;
	struct sp_sdp_info o, a;
	uint16_t pe;

	sp_endpoint_parse(&src, "10.3.0.2", 30012);
	msg_src = &src;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, nat_offer, true, &o), SP_SDP_OK);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	pe = a.streams[0].port;
	sp_endpoint_parse(&from, "10.3.0.2", 30500);
	sp_endpoint_parse(&dst, "198.51.100.1", pe);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);

	move_to_new_media();
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30500);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 6001);
	/* RTCP's first packet comes after the restart: it still latches */
	sp_endpoint_parse(&from, "10.3.0.2", 30901);
	sp_endpoint_parse(&dst, "198.51.100.1", pe + 1);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 30901);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30500);
}

/* The store's change hook, counting what it announced of dialog 1. */
static void count_dialog_1(void *arg, const struct sp_store_change *c)
{
	if (c->kind == SP_STORE_DIALOG && c->op == SP_STORE_UPDATE && c->id == 1)
		(*(unsigned *)arg)++;
}

/* One copy (issue 16 item 3, step 4): the store's stream record is the
 * stream. What sp_media learns is in the record at once, and what is
 * written through the store is what sp_media reads next, with nothing
 * called on sp_media in between (there is no hook to keep a copy). */
Test(media, the_store_record_is_the_one_copy_of_ports_rtcp_and_nat_latch)
{
	struct sp_endpoint src, from, dst;
	struct sp_media_stream_view v;
	struct sp_media_stream rec;
	struct sp_sdp_info o, a;
	struct sp_dialog *d;
	unsigned updates = 0;
	uint16_t pe, pc;

	sp_endpoint_parse(&src, "10.3.0.2", 30012);
	msg_src = &src;
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_TERMINAL, nat_offer, true, &o), SP_SDP_OK);
	cr_assert_eq(sdp_msg(1, SP_MEDIA_FROM_FAR, answer, true, &a), SP_SDP_OK);
	pc = o.streams[0].port;
	pe = a.streams[0].port;
	d = sp_dialog_find_id(st, 1);
	cr_assert_not_null(d);
	cr_assert_eq(d->n_media, 1);
	/* the commit wrote ports, both sides' RTP and RTCP, the SDP's private
	 * address and the latch into the record */
	cr_assert_eq(d->media[0].terminal_side_port, pe);
	cr_assert_eq(d->media[0].far_side_port, pc);
	assert_ep(&d->media[0].terminal, "10.3.0.2", 6000);
	assert_ep(&d->media[0].terminal_rtcp, "10.3.0.2", 6001);
	assert_ep(&d->media[0].far_rtcp, "192.0.2.10", 7101);
	assert_ep(&d->media[0].terminal_sdp, "192.168.77.10", 6000);
	cr_assert_eq(d->media[0].nat, SP_STREAM_NAT | SP_STREAM_LATCH);

	/* sp_media latches: the record has it at once, announced once */
	cr_assert_eq(sp_table_watch(st, count_dialog_1, &updates), 0);
	sp_endpoint_parse(&from, "10.3.0.2", 30500);
	sp_endpoint_parse(&dst, "198.51.100.1", pe);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);
	assert_ep(&d->media[0].terminal, "10.3.0.2", 30500);
	cr_assert_eq(d->media[0].nat, SP_STREAM_NAT | SP_STREAM_LATCH | SP_STREAM_LATCHED_RTP);
	cr_assert_eq(updates, 1);

	/* written through the store (the latch ends, RTCP moves): sp_media
	 * sees it with nothing called on it in between */
	rec = d->media[0];
	rec.nat &= (uint8_t)~SP_STREAM_LATCH;
	rec.terminal_rtcp.port = 31001;
	cr_assert_eq(sp_dialog_set_media(st, d, &rec, 1), 0);
	cr_assert(sp_media_stream_view(m, 1, 0, &v));
	assert_ep(&v.term, "10.3.0.2", 30500);
	cr_assert_eq(v.pe, pe);
	cr_assert_eq(v.pc, pc);
	sp_endpoint_parse(&from, "10.3.0.2", 30600);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 0, "the store says it latches no more");
	/* and latches again when the store says so, keeping the RTCP it wrote */
	rec.nat |= SP_STREAM_LATCH;
	cr_assert_eq(sp_dialog_set_media(st, d, &rec, 1), 0);
	cr_assert_eq(sp_media_latch(m, &from, &dst), 1);
	assert_ep(&entry_to(pe)->terminal, "10.3.0.2", 30600);
	assert_ep(&d->media[0].terminal_rtcp, "10.3.0.2", 31001);
	assert_ep(&entry_to(pe + 1)->terminal, "10.3.0.2", 31001);
}

/* ---- the media guard's rules and set (sp_media_guard) ---- */

Test(media_guard, renders_chain_and_set_for_the_range)
{
	char *text;

	cr_assert_eq(sp_media_guard_render(20000, 20099, &text), 0);
	cr_assert_not_null(strstr(text, "set " SP_MEDIA_GUARD_SET " {"));
	cr_assert_not_null(strstr(text, "hook prerouting priority dstnat + 10"));
	cr_assert_not_null(strstr(text, "counter " SP_MEDIA_GUARD_COUNTER " {"), "%s", text);
	cr_assert_not_null(strstr(text, "meta nfproto ipv4 udp dport 20000-20099 ct status ! dnat counter name \"" SP_MEDIA_GUARD_COUNTER "\" drop"),
			   "%s", text);
	free(text);
	cr_assert_eq(sp_media_guard_render(0, 0, &text), 0);
	cr_assert_str_eq(text, "", "no range, no guard");
	free(text);
}

Test(media_guard, records_ipv6_in_its_own_set)
{
	char *text;

	cr_assert_eq(sp_media_guard_render_families(20000, 20099, true, &text), 0);
	cr_assert_not_null(strstr(text, "set " SP_MEDIA_GUARD_SET6 " {\n\t\ttype ipv6_addr . inet_service . ipv6_addr . inet_service"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "meta nfproto ipv6 udp dport 20000-20099 ct status ! dnat add @" SP_MEDIA_GUARD_SET6
				  " { ip6 saddr . udp sport . ip6 daddr . udp dport }"), "%s", text);
	free(text);
	cr_assert_eq(sp_media_guard_render_families(20000, 20099, false, &text), 0);
	cr_assert_null(strstr(text, SP_MEDIA_GUARD_SET6), "an IPv4-only SP has no IPv6 set");
	free(text);
}

Test(media_guard, parses_ipv6_elements)
{
	struct sp_media_guard_seen *v;
	int n = sp_media_guard_parse_seen("2001:db8:4::2 . 30012 . 2001:db8:5::1 . 20008\n", &v);

	cr_assert_eq(n, 1);
	assert_ep(&v[0].src, "[2001:db8:4::2]", 30012);
	assert_ep(&v[0].dst, "[2001:db8:5::1]", 20008);
	free(v);
}

Test(media_guard, parses_the_elements)
{
	struct sp_media_guard_seen *v;
	int n = sp_media_guard_parse_seen("10.3.0.2 . 30012 . 198.51.100.1 . 20008\n"
					  "garbage\n"
					  "192.0.2.10 . 7000 . 192.0.2.1 . 20010\n", &v);

	cr_assert_eq(n, 2);
	assert_ep(&v[0].src, "10.3.0.2", 30012);
	assert_ep(&v[0].dst, "198.51.100.1", 20008);
	assert_ep(&v[1].src, "192.0.2.10", 7000);
	free(v);
	cr_assert_eq(sp_media_guard_parse_seen("", &v), 0);
	free(v);
}
