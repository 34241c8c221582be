/* The proxy's address mapping, message by message: <Aa-Ee> -> <Cc-Dd> towards
 * the server and back, checked on the re-parsed output. */
#include "config.h"
#include "sp_proxy.h"
#include "sp_sip.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct sp_proxy_binding binding(void)
{
	struct sp_proxy_binding b;

	memset(&b, 0, sizeof(b));
	sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal);
	sp_proxy_hostport_parse("198.51.100.1:5060", &b.virtual_server);
	sp_proxy_hostport_parse("192.0.2.1:40000", &b.server_side);
	sp_proxy_hostport_parse("192.0.2.10:5060", &b.server);
	sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal_via);
	sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal_contact);
	strcpy(b.media_to_server, "192.0.2.1");
	strcpy(b.media_to_terminal, "198.51.100.1");
	return b;
}

static char out[8192];

/* rewrite with fn, re-parse the result into *res */
static void run(int (*fn)(struct sp_sip_msg *, const struct sp_proxy_binding *, char *, size_t, size_t *),
		const char *text, const struct sp_proxy_binding *b, struct sp_sip_msg *res)
{
	struct sp_sip_msg msg;
	size_t len;

	sp_sip_global_init();
	cr_assert_eq(sp_sip_inspect(&msg, text, strlen(text)), 0, "input does not parse: %s", msg.reason);
	cr_assert_eq(fn(&msg, b, out, sizeof(out), &len), 0, "rewrite failed");
	sp_sip_msg_free(&msg);
	out[len] = '\0';
	cr_assert_eq(sp_sip_inspect(res, out, len), 0, "output does not parse: %s\n%s", res->reason, out);
}

#define CRLF "\r\n"

static const char reg[] =
	"REGISTER sip:198.51.100.1 SIP/2.0" CRLF
	"Via: SIP/2.0/UDP 10.1.0.10:5070;branch=z9hG4bK-reg1;rport" CRLF
	"Max-Forwards: 70" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a1" CRLF
	"To: <sip:alice@198.51.100.1>" CRLF
	"Call-ID: reg-1@10.1.0.10" CRLF
	"CSeq: 1 REGISTER" CRLF
	"Contact: <sip:alice@10.1.0.10:5070>" CRLF
	"Expires: 300" CRLF
	"Content-Length: 0" CRLF CRLF;

Test(proxy, register_to_server)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_server, reg, &b, &r);
	cr_assert_str_eq(r.info.via.host, "192.0.2.1");
	cr_assert_eq(r.info.via.port, 40000);
	cr_assert_str_eq(r.info.via_branch, "z9hG4bK-reg1", "the branch must survive");
	cr_assert(r.info.via_rport);
	cr_assert_str_eq(r.info.contact.host, "192.0.2.1");
	cr_assert_eq(r.info.contact.port, 40000);
	cr_assert_str_eq(r.info.ruri.host, "192.0.2.10");
	cr_assert_eq(r.info.expires, 300);
	/* From/To keep the domain the terminal used */
	cr_assert(strstr(out, "From: <sip:alice@198.51.100.1>;tag=a1\r\n") != NULL);
	sp_sip_msg_free(&r);
}

static const char reg_ok[] =
	"SIP/2.0 200 OK" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bK-reg1;rport=40000" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a1" CRLF
	"To: <sip:alice@198.51.100.1>;tag=srv1" CRLF
	"Call-ID: reg-1@10.1.0.10" CRLF
	"CSeq: 1 REGISTER" CRLF
	"Contact: <sip:alice@192.0.2.1:40000>;expires=300" CRLF
	"Server: kamailio" CRLF
	"Content-Length: 0" CRLF CRLF;

Test(proxy, register_ok_to_terminal)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_terminal, reg_ok, &b, &r);
	/* the terminal sees its own Via and what E would have said */
	cr_assert_str_eq(r.info.via.host, "10.1.0.10");
	cr_assert_eq(r.info.via.port, 5070);
	cr_assert(r.info.via_rport);
	cr_assert_eq(r.info.via_rport_value, 5070);
	cr_assert_str_eq(r.info.via_received, "10.1.0.10");
	/* and its own contact in the registrar's list */
	cr_assert_str_eq(r.info.contact.host, "10.1.0.10");
	cr_assert_eq(r.info.contact.port, 5070);
	cr_assert_eq(r.info.expires, 300);
	cr_assert(strstr(out, "192.0.2.") == NULL, "a server-side address leaked:\n%s", out);
	sp_sip_msg_free(&r);
}

/* A terminal behind a NAT: its Via names its private address, its
 * datagrams come from the NAT's 203.0.113.5:61000. */
static struct sp_proxy_binding binding_behind_nat(void)
{
	struct sp_proxy_binding b = binding();

	sp_proxy_hostport_parse("203.0.113.5:61000", &b.terminal);
	sp_proxy_hostport_parse("192.168.1.20:5060", &b.terminal_via);
	sp_proxy_hostport_parse("192.168.1.20:5060", &b.terminal_contact);
	return b;
}

/* RFC 3581 §4: with rport asked for, the response names the source port
 * and (always) the source address, whatever the server filled in. */
Test(proxy, rport_answered_with_the_nat_address_and_port)
{
	struct sp_proxy_binding b = binding_behind_nat();
	struct sp_sip_msg r;

	run(sp_proxy_to_terminal, reg_ok, &b, &r);
	cr_assert_str_eq(r.info.via.host, "192.168.1.20");
	cr_assert_eq(r.info.via.port, 5060, "its own sent-by, as it wrote it");
	cr_assert(r.info.via_rport);
	cr_assert_eq(r.info.via_rport_value, 61000);
	cr_assert_str_eq(r.info.via_received, "203.0.113.5");
	sp_sip_msg_free(&r);
}

static const char options_ok_no_rport[] =
	"SIP/2.0 200 OK" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bK-opt1" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a1" CRLF
	"To: <sip:bob@198.51.100.1>;tag=srv1" CRLF
	"Call-ID: opt-1@10.1.0.10" CRLF
	"CSeq: 1 OPTIONS" CRLF
	"Content-Length: 0" CRLF CRLF;

/* RFC 3261 §18.2.1: without rport, received= is added when the sent-by
 * host is not the address the request came from, and only then; the
 * server saw C:c as both and so never added one. */
Test(proxy, received_added_when_the_via_host_is_not_the_source)
{
	struct sp_proxy_binding b = binding_behind_nat();
	struct sp_sip_msg r;

	run(sp_proxy_to_terminal, options_ok_no_rport, &b, &r);
	cr_assert_str_eq(r.info.via.host, "192.168.1.20");
	cr_assert_str_eq(r.info.via_received, "203.0.113.5");
	cr_assert_not(r.info.via_rport, "rport only when the terminal asked for it");
	sp_sip_msg_free(&r);
}

Test(proxy, no_received_when_the_via_host_is_the_source)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_terminal, options_ok_no_rport, &b, &r);
	cr_assert_str_eq(r.info.via.host, "10.1.0.10");
	cr_assert_str_eq(r.info.via_received, "");
	cr_assert_not(r.info.via_rport);
	sp_sip_msg_free(&r);
}

static const char invite[] =
	"INVITE sip:bob@198.51.100.1 SIP/2.0" CRLF
	"Via: SIP/2.0/UDP 10.1.0.10:5070;branch=z9hG4bK-inv1" CRLF
	"Max-Forwards: 70" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a2" CRLF
	"To: <sip:bob@198.51.100.1>" CRLF
	"Call-ID: call-1@10.1.0.10" CRLF
	"CSeq: 1 INVITE" CRLF
	"Contact: <sip:alice@10.1.0.10:5070>" CRLF
	"Content-Type: application/sdp" CRLF
	"Content-Length: 129" CRLF CRLF
	"v=0" CRLF
	"o=user1 53655765 2353687637 IN IP4 10.1.0.10" CRLF
	"s=-" CRLF
	"c=IN IP4 10.1.0.10" CRLF
	"t=0 0" CRLF
	"m=audio 6000 RTP/AVP 0" CRLF
	"a=rtpmap:0 PCMU/8000" CRLF;

Test(proxy, invite_to_server)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;
	struct sp_sdp_info sdp;

	run(sp_proxy_to_server, invite, &b, &r);
	cr_assert_str_eq(r.info.ruri.host, "192.0.2.10");
	cr_assert_str_eq(r.info.via.host, "192.0.2.1");
	cr_assert_str_eq(r.info.contact.host, "192.0.2.1");
	cr_assert(r.info.body_is_sdp);
	cr_assert_eq(sp_sdp_inspect(out + r.info.body_offset, r.info.body_len, &sdp), 0);
	cr_assert_str_eq(sdp.session_addr, "192.0.2.1");
	cr_assert_str_eq(sdp.origin_addr, "192.0.2.1");
	cr_assert_eq(sdp.streams[0].port, 6000);
	cr_assert(strstr(out, "10.1.0.10") == NULL || strstr(out, "Call-ID: call-1@10.1.0.10"),
		  "terminal address leaked");
	sp_sip_msg_free(&r);
}

static const char ok_rr[] =
	"SIP/2.0 200 OK" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bK-inv1" CRLF
	"Record-Route: <sip:192.0.2.10;lr>" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a2" CRLF
	"To: <sip:bob@198.51.100.1>;tag=b2" CRLF
	"Call-ID: call-1@10.1.0.10" CRLF
	"CSeq: 1 INVITE" CRLF
	"Contact: <sip:bob@192.0.2.1:40001>" CRLF
	"Content-Type: application/sdp" CRLF
	"Content-Length: 125" CRLF CRLF
	"v=0" CRLF
	"o=user2 1 1 IN IP4 192.0.2.1" CRLF
	"s=-" CRLF
	"c=IN IP4 192.0.2.1" CRLF
	"t=0 0" CRLF
	"m=audio 7000 RTP/AVP 0" CRLF
	"a=rtpmap:0 PCMU/8000" CRLF
	"a=sendrecv" CRLF;

Test(proxy, invite_ok_with_record_route_to_terminal)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;
	struct sp_sdp_info sdp;

	run(sp_proxy_to_terminal, ok_rr, &b, &r);
	cr_assert_str_eq(r.info.via.host, "10.1.0.10");
	/* the server's Record-Route now names E: in-dialog requests come to us */
	cr_assert(strstr(out, "Record-Route: <sip:198.51.100.1;lr>\r\n") != NULL, "%s", out);
	cr_assert_eq(sp_sdp_inspect(out + r.info.body_offset, r.info.body_len, &sdp), 0);
	cr_assert_str_eq(sdp.session_addr, "198.51.100.1");
	cr_assert_eq(r.info.status, 200);
	sp_sip_msg_free(&r);
}

static const char bye_with_route[] =
	"BYE sip:bob@192.0.2.1:40001 SIP/2.0" CRLF
	"Via: SIP/2.0/UDP 10.1.0.10:5070;branch=z9hG4bK-bye1" CRLF
	"Route: <sip:198.51.100.1;lr>" CRLF
	"Max-Forwards: 70" CRLF
	"From: <sip:alice@198.51.100.1>;tag=a2" CRLF
	"To: <sip:bob@198.51.100.1>;tag=b2" CRLF
	"Call-ID: call-1@10.1.0.10" CRLF
	"CSeq: 2 BYE" CRLF
	"Content-Length: 0" CRLF CRLF;

Test(proxy, in_dialog_request_route_goes_back_to_the_server)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_server, bye_with_route, &b, &r);
	cr_assert(strstr(out, "Route: <sip:192.0.2.10;lr>\r\n") != NULL, "%s", out);
	/* the R-URI names the far party, not E: untouched */
	cr_assert_str_eq(r.info.ruri.host, "192.0.2.1");
	cr_assert_eq(r.info.ruri.port, 40001);
	sp_sip_msg_free(&r);
}

static const char incoming[] =
	"INVITE sip:alice@192.0.2.1:40000 SIP/2.0" CRLF
	"Record-Route: <sip:192.0.2.10;lr>" CRLF
	"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-srv1" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:40001;branch=z9hG4bK-other;rport=40001" CRLF
	"Max-Forwards: 69" CRLF
	"From: <sip:bob@198.51.100.1>;tag=b3" CRLF
	"To: <sip:alice@198.51.100.1>" CRLF
	"Call-ID: call-2@10.1.0.11" CRLF
	"CSeq: 1 INVITE" CRLF
	"Contact: <sip:bob@192.0.2.1:40001>" CRLF
	"Content-Length: 0" CRLF CRLF;

Test(proxy, server_started_request_reaches_the_terminal_from_e)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_terminal, incoming, &b, &r);
	/* the registered contact is the terminal's own again */
	cr_assert_str_eq(r.info.ruri.host, "10.1.0.10");
	cr_assert_eq(r.info.ruri.port, 5070);
	/* the top Via (the server's) now says E; the second one is untouched */
	cr_assert_str_eq(r.info.via.host, "198.51.100.1");
	cr_assert(strstr(out, "Via: SIP/2.0/UDP 192.0.2.1:40001;branch=z9hG4bK-other;rport=40001\r\n") != NULL);
	cr_assert(strstr(out, "Record-Route: <sip:198.51.100.1;lr>\r\n") != NULL, "%s", out);
	sp_sip_msg_free(&r);
}

static const char terminal_ok[] =
	"SIP/2.0 200 OK" CRLF
	"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-srv1" CRLF
	"Via: SIP/2.0/UDP 192.0.2.1:40001;branch=z9hG4bK-other;rport=40001" CRLF
	"Record-Route: <sip:198.51.100.1;lr>" CRLF
	"From: <sip:bob@198.51.100.1>;tag=b3" CRLF
	"To: <sip:alice@198.51.100.1>;tag=a3" CRLF
	"Call-ID: call-2@10.1.0.11" CRLF
	"CSeq: 1 INVITE" CRLF
	"Contact: <sip:alice@10.1.0.10:5070>" CRLF
	"Content-Length: 0" CRLF CRLF;

Test(proxy, terminal_answer_to_a_server_request)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	run(sp_proxy_to_server, terminal_ok, &b, &r);
	cr_assert_str_eq(r.info.via.host, "192.0.2.10", "the server's own Via comes back");
	cr_assert_str_eq(r.info.contact.host, "192.0.2.1");
	cr_assert_eq(r.info.contact.port, 40000);
	cr_assert(strstr(out, "Record-Route: <sip:192.0.2.10;lr>\r\n") != NULL, "%s", out);
	sp_sip_msg_free(&r);
}

Test(proxy, no_media_address_leaves_sdp_alone)
{
	struct sp_proxy_binding b = binding();
	struct sp_sip_msg r;

	b.media_to_server[0] = '\0';
	run(sp_proxy_to_server, invite, &b, &r);
	cr_assert(strstr(out, "c=IN IP4 10.1.0.10\r\n") != NULL);
	sp_sip_msg_free(&r);
}

Test(proxy, hostport_parse_and_keepalive)
{
	struct sp_proxy_hostport hp;
	char buf[80];

	cr_assert_eq(sp_proxy_hostport_parse("[2001:db8::1]:5070", &hp), 0);
	cr_assert_str_eq(hp.host, "2001:db8::1");
	cr_assert_eq(hp.port, 5070);
	sp_proxy_hostport_format(&hp, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[2001:db8::1]:5070");
	cr_assert_eq(sp_proxy_hostport_parse("2001:db8::1", &hp), 0);
	cr_assert_eq(hp.port, 0);
	cr_assert_eq(sp_proxy_hostport_parse("host:0", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("host:70000", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("", &hp), -1);
	/* ports read as strtoul reads them, the daemon's digits by hand */
	cr_assert_eq(sp_proxy_hostport_parse("host:", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("host:5x", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("host:65536", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("host:1234567", &hp), -1);
	cr_assert_eq(sp_proxy_hostport_parse("host:65535", &hp), 0);
	cr_assert_eq(hp.port, 65535);
	cr_assert_eq(sp_proxy_hostport_parse("host:0005070", &hp), 0);
	cr_assert_eq(hp.port, 5070);
	cr_assert_eq(sp_proxy_hostport_parse("host:+5070", &hp), 0);
	cr_assert_eq(hp.port, 5070);
	cr_assert_eq(sp_proxy_hostport_parse("host: 5070", &hp), 0);
	cr_assert_eq(hp.port, 5070);
	cr_assert(sp_proxy_is_keepalive("\r\n\r\n", 4));
	cr_assert(!sp_proxy_is_keepalive("\r\nX", 3));
	cr_assert(!sp_proxy_is_keepalive("", 0));
}

/* Formatted by hand (no snprintf on the message path): the same text, and
 * the same cut to the buffer, as snprintf gave. */
Test(proxy, hostport_format_as_snprintf)
{
	static const struct { const char *host; uint16_t port; } cases[] = {
		{ "192.0.2.1", 5060 }, { "192.0.2.1", 0 }, { "2001:db8::1", 1 },
		{ "2001:db8::1", 0 }, { "a.example.com", 65535 }, { "h", 40001 },
	};
	struct sp_proxy_hostport hp;
	char got[64], want[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool v6 = strchr(cases[i].host, ':') != NULL;

		memset(&hp, 0, sizeof(hp));
		strcpy(hp.host, cases[i].host);
		hp.port = cases[i].port;
		for (size_t len = 1; len <= sizeof(got); len++) {
			memset(got, 'x', sizeof(got));
			memset(want, 'x', sizeof(want));
			sp_proxy_hostport_format(&hp, got, len);
			if (hp.port)
				snprintf(want, len, v6 ? "[%s]:%u" : "%s:%u", hp.host, hp.port);
			else
				snprintf(want, len, v6 ? "[%s]" : "%s", hp.host);
			cr_assert(memcmp(got, want, sizeof(got)) == 0, "%s %u in %zu: %s / %s",
				  hp.host, hp.port, len, got, want);
		}
	}
	memset(got, 'x', sizeof(got));
	sp_proxy_hostport_format(&hp, got, 0);
	cr_assert_eq(got[0], 'x', "nothing written to an empty buffer");
}

Test(proxy, reply_echoes_the_transaction)
{
	char buf[2048];
	size_t n = sp_proxy_build_reply(invite, strlen(invite), 503, "Service Unavailable", "lim1", buf,
					sizeof(buf));
	struct sp_sip_msg r;

	sp_sip_global_init();
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_eq(sp_sip_inspect(&r, buf, n), 0, "%s", buf);
	cr_assert_eq(r.info.status, 503);
	cr_assert_str_eq(r.info.via_branch, "z9hG4bK-inv1");
	cr_assert_str_eq(r.info.call_id, "call-1@10.1.0.10");
	cr_assert_str_eq(r.info.to_tag, "lim1");
	cr_assert_str_eq(r.info.from_tag, "a2");
	cr_assert_eq(r.info.cseq, 1);
	cr_assert_eq(r.info.body_len, 0);
	cr_assert(strstr(buf, "Contact") == NULL);
	sp_sip_msg_free(&r);
	cr_assert_eq(sp_proxy_build_reply(invite, strlen(invite), 503, "x", "t", buf, 40), 0);
}

Test(proxy, reply_with_retry_after)
{
	char buf[2048];
	size_t n = sp_proxy_build_reply_retry(invite, strlen(invite), 503, "Service Unavailable",
					      "lim1", 60, buf, sizeof(buf));
	struct sp_sip_msg r;

	sp_sip_global_init();
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, "\r\nRetry-After: 60\r\nContent-Length: 0\r\n\r\n"), "%s", buf);
	cr_assert_eq(sp_sip_inspect(&r, buf, n), 0, "%s", buf);
	cr_assert_eq(r.info.status, 503);
	sp_sip_msg_free(&r);
}

/* hide-server-identity: Server, User-Agent and Warning go (a folded line
 * with its header), everything else and the body stay byte for byte. */
Test(proxy, strip_identity_headers)
{
	char msg[] = "SIP/2.0 200 OK\r\n"
		     "Via: SIP/2.0/UDP 10.1.0.10;branch=z9hG4bK-1\r\n"
		     "Server: kamailio (5.6.3 (x86_64/linux))\r\n"
		     "user-agent: pbx\r\n"
		     "  continued\r\n"
		     "Warning: 399 srv \"debug\"\r\n"
		     "Serverx: stays\r\n"
		     "Content-Length: 8\r\n"
		     "\r\n"
		     "Server: ";
	static const char want[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP 10.1.0.10;branch=z9hG4bK-1\r\n"
				   "Serverx: stays\r\n"
				   "Content-Length: 8\r\n"
				   "\r\n"
				   "Server: ";
	size_t n = sp_proxy_strip_identity(msg, strlen(msg));

	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(msg, want, n) == 0, "%.*s", (int)n, msg);
}
