/* SDP inspection and rewriting (sp_sdp), exact outputs. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <sys/socket.h>
#include <string.h>

#include "sp_sdp.h"

struct calls {
	unsigned n;
	unsigned index[8];
	enum sp_sdp_port_kind kind[8];
	uint16_t old[8];
	char addr[8][SP_SDP_ADDR_MAX];
};

static int record_map(void *arg, unsigned media_index, enum sp_sdp_port_kind kind,
		      const struct sp_sdp_stream *st, uint16_t old_port, uint16_t *new_port)
{
	struct calls *c = arg;

	cr_assert_lt(c->n, 8);
	c->index[c->n] = media_index;
	c->kind[c->n] = kind;
	c->old[c->n] = old_port;
	strcpy(c->addr[c->n], st->addr);
	c->n++;
	*new_port = (uint16_t)(20000 + media_index * 10 + (kind == SP_SDP_PORT_RTCP));
	return 0;
}

static int refuse_video(void *arg, unsigned media_index, enum sp_sdp_port_kind kind,
			const struct sp_sdp_stream *st, uint16_t old_port, uint16_t *new_port)
{
	(void)arg;
	(void)media_index;
	(void)kind;
	*new_port = old_port;
	return strcmp(st->media, "video") == 0;
}

static void expect(const char *in, const struct sp_sdp_plan *plan, const char *want)
{
	char out[2048];
	size_t n = 0;
	int err = sp_sdp_rewrite(in, strlen(in), plan, out, sizeof(out), &n);

	cr_assert_eq(err, SP_SDP_OK, "%s", sp_sdp_strerror(err));
	cr_assert(n == strlen(want) && memcmp(out, want, n) == 0,
		  "got:\n%.*s\nwant:\n%s", (int)n, out, want);
}

static const char offer[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 10.0.0.5\r\n"
	"s=-\r\n"
	"c=IN IP4 10.0.0.5\r\n"
	"t=0 0\r\n"
	"a=sendrecv\r\n"
	"m=audio 49170 RTP/AVP 0 8 97\r\n"
	"a=rtcp:49171 IN IP4 10.0.0.5\r\n"
	"a=rtpmap:97 iLBC/8000\r\n"
	"m=video 0 RTP/AVP 31\r\n"
	"m=video 51372/2 RTP/AVP 31 32\r\n"
	"c=IN IP4 10.0.0.6\r\n"
	"a=recvonly\r\n";

/* The first connection line against the sender's address (NAT detection
 * for a remote media proxy): a prefix of a longer address is another one. */
Test(sdp, addressed_elsewhere)
{
	static const char sdp[] = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 4000 RTP/AVP 0\r\n";
	static const char longer[] = "v=0\r\nc=IN IP4 10.0.0.23\r\nm=audio 4000 RTP/AVP 0\r\n";
	struct sp_endpoint a = { .family = AF_INET };

	inet_pton(AF_INET, "10.0.0.2", &a.addr.v4);
	cr_assert_not(sp_sdp_addressed_elsewhere(sdp, strlen(sdp), &a));
	cr_assert(sp_sdp_addressed_elsewhere(longer, strlen(longer), &a));
	cr_assert_not(sp_sdp_addressed_elsewhere("v=0\r\n", 5, &a), "no connection line");
	cr_assert(sp_sdp_addressed_elsewhere(sdp, 20, &a), "cut short: not the sender's line");
}

Test(sdp, inspect_streams)
{
	struct sp_sdp_info info;

	cr_assert_eq(sp_sdp_inspect(offer, strlen(offer), &info), SP_SDP_OK);
	cr_assert_str_eq(info.session_addr, "10.0.0.5");
	cr_assert_str_eq(info.origin_addr, "10.0.0.5");
	cr_assert_eq(info.n_streams, 3);
	cr_assert_str_eq(info.streams[0].media, "audio");
	cr_assert_eq(info.streams[0].port, 49170);
	cr_assert_eq(info.streams[0].rtcp_port, 49171);
	cr_assert_str_eq(info.streams[0].rtcp_addr, "10.0.0.5");
	cr_assert_eq(info.streams[0].dir, SP_SDP_SENDRECV);
	cr_assert_eq(info.streams[1].port, 0);
	cr_assert_eq(info.streams[2].port, 51372);
	cr_assert_str_eq(info.streams[2].addr, "10.0.0.6");
	cr_assert_eq(info.streams[2].dir, SP_SDP_RECVONLY);
}

Test(sdp, rewrite_addresses_ports_rtcp)
{
	struct calls calls = { 0 };
	struct sp_sdp_plan plan = { .media_addr = "198.51.100.77", .port_map = record_map,
				    .port_map_arg = &calls };

	expect(offer, &plan,
	       "v=0\r\n"
	       "o=alice 2890844526 2890844526 IN IP4 198.51.100.77\r\n"
	       "s=-\r\n"
	       "c=IN IP4 198.51.100.77\r\n"
	       "t=0 0\r\n"
	       "a=sendrecv\r\n"
	       "m=audio 20000 RTP/AVP 0 8 97\r\n"
	       "a=rtcp:20001 IN IP4 198.51.100.77\r\n"
	       "a=rtpmap:97 iLBC/8000\r\n"
	       "m=video 0 RTP/AVP 31\r\n"
	       "m=video 20020/2 RTP/AVP 31 32\r\n"
	       "c=IN IP4 198.51.100.77\r\n"
	       "a=recvonly\r\n");
	/* port 0 is never offered to the callback */
	cr_assert_eq(calls.n, 3);
	cr_assert_eq(calls.index[0], 0);
	cr_assert_eq(calls.kind[0], SP_SDP_PORT_RTP);
	cr_assert_eq(calls.old[0], 49170);
	cr_assert_str_eq(calls.addr[0], "10.0.0.5");
	cr_assert_eq(calls.kind[1], SP_SDP_PORT_RTCP);
	cr_assert_eq(calls.old[1], 49171);
	cr_assert_eq(calls.index[2], 2);
	cr_assert_eq(calls.old[2], 51372);
	cr_assert_str_eq(calls.addr[2], "10.0.0.6");
}

Test(sdp, ipv6_media_address_changes_addrtype)
{
	struct sp_sdp_plan plan = { .media_addr = "2001:db8::77" };

	expect("v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
	       &plan,
	       "v=0\no=- 1 1 IN IP6 2001:db8::77\ns=-\nc=IN IP6 2001:db8::77\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
}

Test(sdp, hold_keeps_unspecified_address)
{
	struct sp_sdp_plan plan = { .media_addr = "198.51.100.77" };

	expect("v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	       "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", &plan,
	       "v=0\r\no=- 1 2 IN IP4 198.51.100.77\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	       "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n");
}

Test(sdp, empty_plan_is_identity)
{
	struct sp_sdp_plan plan = { 0 };

	expect(offer, &plan, offer);
}

Test(sdp, refusal_and_errors)
{
	struct sp_sdp_plan refuse = { .port_map = refuse_video };
	struct sp_sdp_plan addr = { .media_addr = "198.51.100.77" };
	char out[2048];
	size_t n = 0;
	const char *bad_port = "v=0\r\nm=audio 70000 RTP/AVP 0\r\n";
	const char *mcast = "v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 4000 RTP/AVP 0\r\n";

	cr_assert_eq(sp_sdp_rewrite(offer, strlen(offer), &refuse, out, sizeof(out), &n),
		     SP_SDP_E_REFUSED);
	cr_assert_eq(sp_sdp_rewrite(bad_port, strlen(bad_port), &addr, out, sizeof(out), &n),
		     SP_SDP_E_SYNTAX);
	cr_assert_eq(sp_sdp_rewrite(mcast, strlen(mcast), &addr, out, sizeof(out), &n),
		     SP_SDP_E_UNSUPPORTED);
	cr_assert_eq(sp_sdp_rewrite("hello", 5, &addr, out, sizeof(out), &n), SP_SDP_E_SYNTAX);
	cr_assert_eq(sp_sdp_rewrite(offer, strlen(offer), &addr, out, 10, &n), SP_SDP_E_NOSPACE);
	cr_assert_eq(n, 0);
}

Test(sdp, too_many_streams_unsupported)
{
	char sdp[4096] = "v=0\r\n";
	struct sp_sdp_info info;

	for (int i = 0; i <= SP_SDP_MAX_STREAMS; i++)
		strcat(sdp, "m=audio 4000 RTP/AVP 0\r\n");
	cr_assert_eq(sp_sdp_inspect(sdp, strlen(sdp), &info), SP_SDP_E_UNSUPPORTED);
}
