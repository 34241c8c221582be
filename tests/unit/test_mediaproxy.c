/* The NG client's state machine against fake rtpengines on loopback, on a
 * real event loop: pings and rotation, offers and answers with the SDP
 * returned, cookies matched, retransmissions, timeouts, bad replies counted,
 * stickiness, weighted spread and the fallbacks. No timing is asserted: the
 * loop runs until the awaited thing happened, under a guard timer that
 * fails the test if it never does. */
#include "config.h"
#include "sp_config.h"
#include "sp_loop.h"
#include "sp_mediaproxy.h"
#include "sp_ng.h"
#include "sp_status.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum fake_mode { FAKE_OK, FAKE_SILENT, FAKE_GARBAGE, FAKE_WRONG_COOKIE, FAKE_HUGE, FAKE_ERROR,
		 FAKE_DROP_FIRST };

struct fake {
	int fd;
	uint16_t port;
	enum fake_mode mode;	/* for everything but pings */
	bool ping_silent;
	unsigned offers, answers, deletes, pings, queries, requests_seen;
	char last_call_id[64];
	bool saw_received_from;
	char last_family[8];	/* "address family" of the last request; "" none */
	char last_media[64];	/* "media-address" of the last request */
};

static struct sp_loop *loop;
static struct sp_status *status;
static struct sp_mp_client *cl;
static struct fake fakes[2];
static struct sp_loop_timer *guard;
static bool guard_fired;

struct done_rec {
	int calls;
	bool ok;
	char sdp[256];
	enum sp_mp_fallback fallback;
};

static void reply(struct fake *f, const struct sockaddr_storage *to, socklen_t tl, const char *cookie,
		  size_t cl_len, const char *body)
{
	char out[70000];
	int n = snprintf(out, sizeof(out), "%.*s %s", (int)cl_len, cookie, body);

	sendto(f->fd, out, (size_t)n, 0, (const struct sockaddr *)to, tl);
}

static void fake_cb(struct sp_loop *l, int fd, uint32_t ev, void *arg)
{
	struct fake *f = arg;
	char buf[70000];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
	const char *cookie, *body;
	size_t cl_len, bl;
	static struct sp_ng_doc d;
	const struct sp_ng_node *cmd, *cid;

	(void)l;
	(void)ev;
	if (n <= 0 || sp_ng_split(buf, (size_t)n, &cookie, &cl_len, &body, &bl) < 0 ||
	    sp_ng_decode(&d, body, bl, NULL) < 0)
		return;
	cmd = sp_ng_dict_get(&d, &d.nodes[0], "command");
	if (sp_ng_str_is(cmd, "ping")) {
		f->pings++;
		if (!f->ping_silent)
			reply(f, &from, fl, cookie, cl_len, "d6:result4:ponge");
		return;
	}
	f->requests_seen++;
	cid = sp_ng_dict_get(&d, &d.nodes[0], "call-id");
	if (cid)
		snprintf(f->last_call_id, sizeof(f->last_call_id), "%.*s", (int)cid->len, cid->s);
	f->saw_received_from |= sp_ng_dict_get(&d, &d.nodes[0], "received-from") != NULL;
	{
		const struct sp_ng_node *af = sp_ng_dict_get(&d, &d.nodes[0], "address family");
		const struct sp_ng_node *ma = sp_ng_dict_get(&d, &d.nodes[0], "media-address");

		snprintf(f->last_family, sizeof(f->last_family), "%.*s", af ? (int)af->len : 0,
			 af ? af->s : "");
		snprintf(f->last_media, sizeof(f->last_media), "%.*s", ma ? (int)ma->len : 0,
			 ma ? ma->s : "");
	}
	if (f->mode == FAKE_SILENT || (f->mode == FAKE_DROP_FIRST && f->requests_seen == 1))
		return;
	if (f->mode == FAKE_GARBAGE) {
		reply(f, &from, fl, cookie, cl_len, "d6:result2:o");
		return;
	}
	if (f->mode == FAKE_WRONG_COOKIE) {
		reply(f, &from, fl, "nope", 4, "d6:result2:ok3:sdp3:v=0e");
		return;
	}
	if (f->mode == FAKE_HUGE) {
		static char huge[SP_NG_NODES_MAX * 12 + 64];
		size_t k = 0;

		huge[k++] = 'd';
		for (int i = 0; i < SP_NG_NODES_MAX; i++)
			k += (size_t)sprintf(huge + k, "4:k%03di1e", i % 1000);
		huge[k++] = 'e';
		huge[k] = '\0';
		reply(f, &from, fl, cookie, cl_len, huge);
		return;
	}
	if (f->mode == FAKE_ERROR) {
		reply(f, &from, fl, cookie, cl_len, "d6:result5:error12:error-reason7:no calle");
		return;
	}
	if (sp_ng_str_is(cmd, "offer")) {
		f->offers++;
		reply(f, &from, fl, cookie, cl_len, "d6:result2:ok3:sdp14:v=0\r\nc=IN MP\r\ne");
	} else if (sp_ng_str_is(cmd, "answer")) {
		f->answers++;
		reply(f, &from, fl, cookie, cl_len, "d6:result2:ok3:sdp9:v=0\r\nans\re");
	} else if (sp_ng_str_is(cmd, "delete")) {
		f->deletes++;
		reply(f, &from, fl, cookie, cl_len, "d6:result2:oke");
	} else if (sp_ng_str_is(cmd, "query")) {
		/* rtpengine's shape: totals of the call's RTP and RTCP */
		f->queries++;
		reply(f, &from, fl, cookie, cl_len,
		      "d6:totalsd3:RTPd7:packetsi158e5:bytesi39816e6:errorsi1ee"
		      "4:RTCPd7:packetsi4e5:bytesi320e6:errorsi0eee6:result2:oke");
	}
}

static void guard_cb(struct sp_loop *l, void *arg)
{
	(void)arg;
	guard_fired = true;
	sp_loop_stop(l);
}

/* Runs the loop until cond() holds (checked every 10 ms). */
static struct sp_loop_timer *poll_t;
static bool (*poll_cond)(void);

static void poll_cb(struct sp_loop *l, void *arg)
{
	(void)arg;
	if (poll_cond())
		sp_loop_stop(l);
	else
		sp_loop_timer_arm(poll_t, 10);
}

static void run_until(bool (*cond)(void))
{
	poll_cond = cond;
	guard_fired = false;
	sp_loop_resume(loop);
	sp_loop_timer_arm(guard, 8000);
	sp_loop_timer_arm(poll_t, 0);
	sp_loop_run(loop);
	sp_loop_timer_disarm(guard);
	sp_loop_timer_disarm(poll_t);
	cr_assert_not(guard_fired, "the awaited event never came");
}

static void fake_open(struct fake *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(f->fd, 0);
	cr_assert_eq(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(f->fd, (struct sockaddr *)&a, &l);
	f->port = ntohs(a.sin_port);
	cr_assert_eq(sp_loop_add_fd(loop, f->fd, EPOLLIN, fake_cb, f), 0);
}

static void setup(void)
{
	loop = sp_loop_new();
	status = sp_status_new();
	cl = sp_mp_client_new(loop, status, NULL);
	guard = sp_loop_timer_new(loop, guard_cb, NULL);
	poll_t = sp_loop_timer_new(loop, poll_cb, NULL);
	fake_open(&fakes[0]);
	fake_open(&fakes[1]);
}

static void teardown(void)
{
	sp_mp_client_free(cl);
	for (int i = 0; i < 2; i++) {
		sp_loop_del_fd(loop, fakes[i].fd);
		close(fakes[i].fd);
	}
	sp_loop_timer_free(guard);
	sp_loop_timer_free(poll_t);
	sp_status_free(status);
	sp_loop_free(loop);
}

/* n MPs on the fakes, weights w0 w1, fallback of the first */
static void configure(int n, uint32_t w0, uint32_t w1, enum sp_mp_fallback fb)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };

	for (int i = 0; i < n; i++) {
		char name[16]; /* "mp" and any int: -O1 checks the whole range */
		struct sp_media_proxy *mp;

		snprintf(name, sizeof(name), "mp%d", i);
		mp = sp_config_mp_get(c, name, &e);
		cr_assert_not_null(mp);
		mp->control.family = AF_INET;
		mp->control.u.v4.s_addr = htonl(INADDR_LOOPBACK);
		mp->control_port = fakes[i].port;
		mp->weight = i == 0 ? w0 : w1;
		mp->fallback = i == 0 ? fb : SP_MP_FALLBACK_KERNEL;
	}
	cr_assert_eq(sp_mp_client_apply(cl, c, &e), 0, "%s", e.msg);
	sp_config_free(c);
}

static bool all_reachable(void)
{
	struct sp_mp_view v[2];
	size_t n = sp_mp_client_views(cl, v, 2);

	for (size_t i = 0; i < n; i++)
		if (!v[i].reachable)
			return false;
	return n > 0;
}

static struct done_rec rec;

static void done_cb(void *arg, bool ok, const char *sdp, size_t len, enum sp_mp_fallback fb)
{
	struct done_rec *r = arg;

	r->calls++;
	r->ok = ok;
	r->fallback = fb;
	snprintf(r->sdp, sizeof(r->sdp), "%.*s", (int)(ok ? len : 0), ok ? sdp : "");
}

static bool rec_done(void)
{
	return rec.calls > 0;
}

static enum sp_mp_route offer(const char *call_id)
{
	struct sp_mp_request r = { .op = SP_MP_OFFER, .call_id = call_id, .from_tag = "ft",
				   .sdp = "v=0\r\n", .sdp_len = 5, .group = "" };

	memset(&rec, 0, sizeof(rec));
	return sp_mp_client_request(cl, &r, done_cb, &rec);
}

TestSuite(mediaproxy, .init = setup, .fini = teardown);

Test(mediaproxy, ping_offer_answer_delete)
{
	struct sp_mp_request a = { .op = SP_MP_ANSWER, .call_id = "call-1", .from_tag = "ft",
				   .to_tag = "tt", .sdp = "v=0\r\n", .sdp_len = 5, .group = "" };
	struct sp_endpoint nat;
	const struct sp_status_item *st;
	struct sp_mp_view v;

	configure(1, 1, 0, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	st = sp_status_get(status, SP_STATUS_MEDIA_PROXY, "mp0", 0);
	cr_assert(st && st->installed, "%s", st ? st->reason : "no status");
	cr_assert_eq(offer("call-1"), SP_MP_SENT);
	run_until(rec_done);
	cr_assert(rec.ok);
	cr_assert_str_eq(rec.sdp, "v=0\r\nc=IN MP\r\n");
	cr_assert_str_eq(fakes[0].last_call_id, "call-1");
	cr_assert_not(fakes[0].saw_received_from);
	/* the answer, from a terminal behind a NAT */
	sp_endpoint_parse(&nat, "203.0.113.5", 5060);
	a.received_from = &nat;
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &a, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert(rec.ok);
	cr_assert_str_eq(rec.sdp, "v=0\r\nans\r");
	cr_assert(fakes[0].saw_received_from);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.calls, 1);
	sp_mp_client_end(cl, "call-1");
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.calls, 0);
	cr_assert_eq(v.stats.deletes, 1);
}

/* A call between the families: each request says which family the
 * rewritten SDP announces (NG "address family") and the MP's address of
 * that family on that side; a call within one family says no family. */
Test(mediaproxy, interworking_asks_for_the_other_family)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };
	struct sp_media_proxy *mp = sp_config_mp_get(c, "mp0", &e);
	struct sp_mp_request r = { .op = SP_MP_OFFER, .call_id = "x", .from_tag = "ft",
				   .sdp = "v=0\r\n", .sdp_len = 5, .group = "",
				   .family = AF_INET6, .interworking = true };

	cr_assert_not_null(mp);
	mp->control.family = AF_INET;
	mp->control.u.v4.s_addr = htonl(INADDR_LOOPBACK);
	mp->control_port = fakes[0].port;
	sp_parse_addr("192.0.2.34", sp_media_proxy_slot(mp, true, AF_INET), &e);
	sp_parse_addr("2001:db8:7::34", sp_media_proxy_slot(mp, false, AF_INET6), &e);
	sp_parse_addr("192.0.2.35", sp_media_proxy_slot(mp, false, AF_INET), &e);
	cr_assert_eq(sp_mp_client_apply(cl, c, &e), 0, "%s", e.msg);
	sp_config_free(c);
	run_until(all_reachable);
	/* the IPv4 terminal's offer, towards the IPv6 server */
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &r, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert_str_eq(fakes[0].last_family, "IP6");
	cr_assert_str_eq(fakes[0].last_media, "2001:db8:7::34");
	/* the server's answer, towards the IPv4 terminal */
	r.op = SP_MP_ANSWER;
	r.to_tag = "tt";
	r.towards_terminal = true;
	r.family = AF_INET;
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &r, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert_str_eq(fakes[0].last_family, "IP4");
	cr_assert_str_eq(fakes[0].last_media, "192.0.2.34");
	/* a call within IPv4: no family asked, the IPv4 address of its side */
	r = (struct sp_mp_request){ .op = SP_MP_OFFER, .call_id = "y", .from_tag = "ft",
				    .sdp = "v=0\r\n", .sdp_len = 5, .group = "", .family = AF_INET };
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &r, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert_str_eq(fakes[0].last_family, "");
	cr_assert_str_eq(fakes[0].last_media, "192.0.2.35");
}

static bool fake0_deleted(void)
{
	return fakes[0].deletes > 0;
}

static bool fake1_deleted(void)
{
	return fakes[1].deletes > 0;
}

Test(mediaproxy, delete_reaches_the_mp)
{
	configure(1, 1, 0, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	offer("c");
	run_until(rec_done);
	sp_mp_client_end(cl, "c");
	run_until(fake0_deleted);
}

static void expect_failure(enum fake_mode mode, uint64_t struct_off_unused)
{
	(void)struct_off_unused;
	configure(1, 1, 0, SP_MP_FALLBACK_REFUSE);
	run_until(all_reachable);
	fakes[0].mode = mode;
	cr_assert_eq(offer("c"), SP_MP_SENT);
	run_until(rec_done);
	cr_assert_not(rec.ok);
	cr_assert_eq(rec.fallback, SP_MP_FALLBACK_REFUSE);
}

Test(mediaproxy, timeout_after_retransmissions)
{
	struct sp_mp_view v;

	expect_failure(FAKE_SILENT, 0);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.stats.timeouts, 1);
	cr_assert_eq(v.stats.retransmissions, SP_MP_TRIES - 1);
	cr_assert_eq(fakes[0].requests_seen, SP_MP_TRIES);
}

Test(mediaproxy, garbage_counted_then_timeout)
{
	struct sp_mp_view v;

	expect_failure(FAKE_GARBAGE, 0);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_geq(v.stats.bad_replies, 1);
	cr_assert_eq(v.stats.timeouts, 1);
}

Test(mediaproxy, wrong_cookie_counted_then_timeout)
{
	struct sp_mp_view v;

	expect_failure(FAKE_WRONG_COOKIE, 0);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_geq(v.stats.wrong_cookie, 1);
	cr_assert_eq(v.stats.replies, 0);
}

Test(mediaproxy, huge_dictionary_refused)
{
	struct sp_mp_view v;

	expect_failure(FAKE_HUGE, 0);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_geq(v.stats.bad_replies, 1);
}

Test(mediaproxy, error_result_fails_at_once)
{
	struct sp_mp_view v;

	expect_failure(FAKE_ERROR, 0);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.stats.errors, 1);
	cr_assert_eq(v.stats.timeouts, 0);
}

Test(mediaproxy, retransmission_recovers_a_lost_request)
{
	struct sp_mp_view v;

	configure(1, 1, 0, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	fakes[0].mode = FAKE_DROP_FIRST;
	offer("c");
	run_until(rec_done);
	cr_assert(rec.ok);
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.stats.retransmissions, 1);
}

Test(mediaproxy, weighted_spread_and_stickiness)
{
	char id[16];

	configure(2, 3, 1, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		cr_assert_eq(offer(id), SP_MP_SENT);
		run_until(rec_done);
	}
	cr_assert_eq(fakes[0].offers, 6);
	cr_assert_eq(fakes[1].offers, 2);
	/* a re-offer of a call goes to its MP, whatever the rotation says */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(offer("w1"), SP_MP_SENT);
		run_until(rec_done);
	}
	cr_assert(fakes[0].offers == 10 || fakes[1].offers == 6);
}

static bool mp0_down(void)
{
	struct sp_mp_view v[2];

	sp_mp_client_views(cl, v, 2);
	return !v[0].reachable;
}

static bool all_down(void)
{
	struct sp_mp_view v[2];

	sp_mp_client_views(cl, v, 2);
	return !v[0].reachable && !v[1].reachable;
}

Test(mediaproxy, out_of_rotation_then_fallback)
{
	const struct sp_status_item *st;

	configure(2, 1, 1, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	fakes[0].ping_silent = true;
	run_until(mp0_down);
	st = sp_status_get(status, SP_STATUS_MEDIA_PROXY, "mp0", 0);
	cr_assert(st && !st->installed);
	cr_assert(strstr(st->reason, "unreachable") != NULL, "%s", st->reason);
	for (int i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n%d", i);
		cr_assert_eq(offer(id), SP_MP_SENT);
		run_until(rec_done);
	}
	cr_assert_eq(fakes[0].offers, 0);
	cr_assert_eq(fakes[1].offers, 3);
	fakes[1].ping_silent = true;
	run_until(all_down);
	/* kernel fallback: the call is the kernel's, its answer too */
	cr_assert_eq(offer("k"), SP_MP_KERNEL);
	cr_assert_eq(sp_mp_client_route(cl, "k", "", true), SP_MP_KERNEL);
	/* back: new calls go to the MPs again, the kernel call stays */
	fakes[0].ping_silent = false;
	cr_assert_eq(sp_mp_client_route(cl, "k", "", true), SP_MP_KERNEL);
}

Test(mediaproxy, refuse_fallback_when_none_answers)
{
	configure(1, 1, 0, SP_MP_FALLBACK_REFUSE);
	fakes[0].ping_silent = true;
	/* never answered a ping: not in rotation */
	cr_assert_eq(offer("r"), SP_MP_REFUSE);
	cr_assert_eq(sp_mp_client_route(cl, "r", "", true), SP_MP_REFUSE);
}

Test(mediaproxy, group_names_one_mp)
{
	struct sp_mp_request r = { .op = SP_MP_OFFER, .call_id = "g", .from_tag = "ft",
				   .sdp = "v=0\r\n", .sdp_len = 5, .group = "mp1" };

	configure(2, 1000, 1, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &r, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert_eq(fakes[1].offers, 1);
	cr_assert_eq(fakes[0].offers, 0);
}

Test(mediaproxy, removed_mp_fails_its_pending_requests)
{
	struct sp_config *c = sp_config_new();
	struct sp_error e = { { 0 } };

	configure(1, 1, 0, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	fakes[0].mode = FAKE_SILENT;
	offer("x");
	cr_assert_eq(sp_mp_client_apply(cl, c, &e), 0);
	cr_assert_eq(rec.calls, 1);
	cr_assert_not(rec.ok);
	sp_config_free(c);
}

static struct sp_mp_call_stats qs;

static bool stats_came(void)
{
	return sp_mp_client_call_stats(cl, "c", &qs) && qs.valid;
}

/* show sessions detail (issue 19): the call's counters as its MP reports
 * them (NG query), asked for without waiting and cached; asked again only
 * once the cache is SP_MP_QUERY_MS old; a call no MP holds has none. */
Test(mediaproxy, query_counters_cached)
{
	struct sp_mp_view v;

	configure(1, 1, 0, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	offer("c");
	run_until(rec_done);
	cr_assert(sp_mp_client_call_stats(cl, "c", &qs), "an MP holds the call");
	cr_assert_not(qs.valid, "nothing known before the first reply");
	run_until(stats_came);
	cr_assert_eq(qs.rtp_packets, 158);
	cr_assert_eq(qs.rtp_bytes, 39816);
	cr_assert_eq(qs.rtcp_packets, 4);
	cr_assert_eq(qs.rtcp_bytes, 320);
	cr_assert_eq(qs.errors, 1);
	cr_assert_eq(fakes[0].queries, 1);
	/* fresh: read from the cache, no new query */
	cr_assert(sp_mp_client_call_stats(cl, "c", &qs));
	sp_mp_client_views(cl, &v, 1);
	cr_assert_eq(v.stats.queries, 1);
	cr_assert_not(sp_mp_client_call_stats(cl, "other", &qs), "no MP holds it");
	sp_mp_client_end(cl, "c");
	cr_assert_not(sp_mp_client_call_stats(cl, "c", &qs), "ended");
}

/* A call known from the state sync or the store goes to its MP by name:
 * its answer and its delete. */
Test(mediaproxy, adopted_call_deleted_at_its_mp)
{
	struct sp_mp_view v[2];

	configure(2, 1, 1, SP_MP_FALLBACK_KERNEL);
	run_until(all_reachable);
	cr_assert_not(sp_mp_client_adopt(cl, "c", "nosuch"));
	cr_assert(sp_mp_client_adopt(cl, "c", "mp1"));
	cr_assert_str_eq(sp_mp_client_call_mp(cl, "c"), "mp1");
	sp_mp_client_views(cl, v, 2);
	cr_assert_eq(v[1].calls, 1);
	/* its answer (a 200 arriving after the takeover) goes to mp1 too */
	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(sp_mp_client_request(cl, &(struct sp_mp_request){ .op = SP_MP_ANSWER,
		.call_id = "c", .from_tag = "ft", .to_tag = "tt", .sdp = "v=0\r\n", .sdp_len = 5,
		.group = "" }, done_cb, &rec), SP_MP_SENT);
	run_until(rec_done);
	cr_assert(rec.ok);
	cr_assert_eq(fakes[1].answers, 1);
	cr_assert_eq(fakes[0].answers, 0);
	sp_mp_client_end(cl, "c");
	run_until(fake1_deleted);
	cr_assert_eq(fakes[0].deletes, 0);
}
