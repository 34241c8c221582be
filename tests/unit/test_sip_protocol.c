/* SIP behind the protocol seam (sp_protocol.h, sp_sip_protocol): the table
 * the engine calls, operation by operation, on messages as a terminal and a
 * server send them: what inspect tells the engine, the keys of a binding,
 * the proxy's own refusals, a registration's lifetime, the media streams of
 * an SDP body, the rewrites through a binding and the dialog state machine
 * (track) in a real state table. */
#include "config.h"
#include "sp_protocol.h"
#include "sp_sip_protocol.h"
#include "sp_stun.h"
#include "sp_table.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRLF "\r\n"
#define T "10.1.0.10"		/* the terminal, A */
#define E "198.51.100.1"	/* the virtual server, E */
#define C "192.0.2.1"		/* the SP's server-side address, C */
#define D "192.0.2.10"		/* the server, D */

static const struct sp_protocol *sip;
static struct sp_proto_msg msg;
static char text[4096];

static void setup(void)
{
	sip = sp_sip_protocol();
	cr_assert_not_null(sip);
	cr_assert_str_eq(sip->name, "sip");
	sip->init();
}

TestSuite(sip_protocol, .init = setup);

/* A request or response inspected into msg (text keeps its bytes). */
static void inspect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void inspect(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_assert_eq(sip->inspect(&msg, text, strlen(text)), 0, "does not parse: %s\n%s", msg.reason,
		     text);
}

static void release(void)
{
	sip->release(&msg);
}

#define HEADERS(method, cseq, to_tag) \
	"Via: SIP/2.0/UDP " T ":5070;branch=z9hG4bK-1" CRLF \
	"From: <sip:alice@" E ">;tag=a1" CRLF \
	"To: <sip:bob@" E ">" to_tag CRLF \
	"Call-ID: call-1@" T CRLF \
	"CSeq: " cseq " " method CRLF

static const char *request(const char *method, const char *max_forwards, const char *to_tag)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "%s sip:bob@" E " SIP/2.0" CRLF
		 "Via: SIP/2.0/UDP " T ":5070;branch=z9hG4bK-1" CRLF
		 "Max-Forwards: %s" CRLF
		 "From: <sip:alice@" E ">;tag=a1" CRLF
		 "To: <sip:bob@" E ">%s" CRLF
		 "Call-ID: call-1@" T CRLF
		 "CSeq: 1 %s" CRLF
		 "Contact: <sip:alice@" T ":5070>" CRLF
		 "Content-Length: 0" CRLF CRLF,
		 method, max_forwards, to_tag, method);
	return buf;
}

Test(sip_protocol, inspect_tells_the_engine_what_a_request_is)
{
	inspect("%s", request("INVITE", "70", ""));
	cr_assert(msg.is_request);
	cr_assert(msg.answerable);
	cr_assert_not(msg.ends_here);
	cr_assert_not(msg.hops_exhausted);
	cr_assert_not(msg.has_media);
	cr_assert_not(msg.registered);
	cr_assert_str_eq(msg.session, "call-1@" T);
	cr_assert_eq(msg.session_len, strlen("call-1@" T));
	release();
}

Test(sip_protocol, an_ack_gets_no_answer_and_the_ack_of_a_refusal_ends_at_the_proxy)
{
	inspect("%s", request("ACK", "70", ";tag=x"));
	cr_assert(msg.is_request);
	cr_assert_not(msg.answerable, "an ACK has no response");
	cr_assert_not(msg.ends_here, "another's ACK goes on");
	release();
	inspect("%s", request("ACK", "70", ";tag=" SP_SIP_REFUSAL_TAG));
	cr_assert(msg.ends_here, "the ACK of the proxy's own refusal ends there");
	release();
}

Test(sip_protocol, max_forwards_zero_exhausts_the_hops)
{
	inspect("%s", request("OPTIONS", "0", ""));
	cr_assert(msg.hops_exhausted);
	release();
	inspect("%s", request("OPTIONS", "1", ""));
	cr_assert_not(msg.hops_exhausted);
	release();
}

Test(sip_protocol, an_unparsable_datagram_is_refused_with_a_reason)
{
	static const char junk[] = "this is not SIP\r\n\r\n";

	cr_assert_neq(sip->inspect(&msg, junk, strlen(junk)), 0);
	cr_assert_not_null(msg.reason);
	cr_assert_str_eq(msg.session, "");
	release();
}

/* SIP's probes are STUN on the SIP port: answered with the sender's
 * address; a SIP message or a CRLF is none. */
Test(sip_protocol, a_stun_binding_request_is_a_probe_answered_with_the_senders_address)
{
	static const unsigned char req[SP_STUN_HEADER_LEN] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	};
	static const unsigned char response[SP_STUN_HEADER_LEN] = {
		0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	};
	struct sp_endpoint from, mapped;
	char out[256];
	size_t n = 99;
	const char *reason = NULL;

	cr_assert_eq(sp_endpoint_parse(&from, T, 5062), 0);
	cr_assert_eq(sip->probe((const char *)req, sizeof(req), &from, out, sizeof(out), &n, &reason),
		     SP_PROTO_PROBE_ANSWERED);
	cr_assert_gt(n, SP_STUN_HEADER_LEN);
	cr_assert_eq(sp_stun_mapped_address(out, n, &mapped), 0);
	cr_assert(sp_endpoint_equal(&mapped, &from));
	cr_assert_eq(sip->probe((const char *)response, sizeof(response), &from, out, sizeof(out), &n,
				&reason), SP_PROTO_PROBE_IGNORED);
	cr_assert_eq(n, 0);
	cr_assert_not_null(reason);
	cr_assert_eq(sip->probe((const char *)req, sizeof(req), &from, out, 16, &n, &reason),
		     SP_PROTO_PROBE_IGNORED, "no room for the answer: nothing written");
	cr_assert_eq(sip->probe("\r\n\r\n", 4, &from, out, sizeof(out), &n, &reason), SP_PROTO_NOT_PROBE);
	cr_assert_eq(sip->probe("OPTIONS sip:x SIP/2.0\r\n", 23, &from, out, sizeof(out), &n, &reason),
		     SP_PROTO_NOT_PROBE);
}

/* A body naming another media address than its sender's: the sender is
 * behind a NAT (a remote media proxy then latches). */
Test(sip_protocol, media_elsewhere_compares_the_sdp_connection_with_the_sender)
{
	static const char same[] = "v=0\r\no=- 1 1 IN IP4 " T "\r\nc=IN IP4 " T "\r\nm=audio 4000 RTP/AVP 0\r\n";
	static const char other[] = "v=0\r\nc=IN IP4 192.168.1.5\r\nm=audio 4000 RTP/AVP 0\r\n";
	static const char none[] = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
	struct sp_endpoint from, from6;

	cr_assert_eq(sp_endpoint_parse(&from, T, 5060), 0);
	cr_assert_eq(sp_endpoint_parse(&from6, "2001:db8::1", 5060), 0);
	cr_assert_not(sip->media_elsewhere(same, strlen(same), &from));
	cr_assert(sip->media_elsewhere(other, strlen(other), &from));
	cr_assert_not(sip->media_elsewhere(none, strlen(none), &from));
	cr_assert_not(sip->media_elsewhere(other, strlen(other), &from6), "IPv6 not told apart");
}

Test(sip_protocol, crlf_is_a_keepalive)
{
	cr_assert(sip->is_keepalive("\r\n\r\n", 4));
	cr_assert(sip->is_keepalive("\r\n", 2));
	cr_assert_not(sip->is_keepalive("", 0));
	cr_assert_not(sip->is_keepalive("OPTIONS", 7));
}

Test(sip_protocol, a_2xx_to_register_is_a_registration_with_its_contacts_lifetime)
{
	struct sp_endpoint c, other;
	int64_t exp = 0;

	inspect("SIP/2.0 200 OK" CRLF HEADERS("REGISTER", "1", ";tag=r") 
		"Contact: <sip:alice@" C ":40000>;expires=120" CRLF
		"Contact: <sip:alice@203.0.113.9:5060>;expires=60" CRLF
		"Content-Length: 0" CRLF CRLF);
	cr_assert_not(msg.is_request);
	cr_assert(msg.registered);
	cr_assert_eq(msg.status, 200);
	sp_endpoint_parse(&c, C, 40000);
	cr_assert_eq(sip->lifetime(&msg, &c, &exp), 1);
	cr_assert_eq(exp, 120, "its own Contact's, not another device's");
	sp_endpoint_parse(&other, C, 40002);
	cr_assert_eq(sip->lifetime(&msg, &other, &exp), 0, "not listed: de-registered");
	release();
	inspect("SIP/2.0 401 Unauthorized" CRLF HEADERS("REGISTER", "1", ";tag=r")
		"Content-Length: 0" CRLF CRLF);
	cr_assert_not(msg.registered, "a failure registers nothing");
	release();
	inspect("SIP/2.0 200 OK" CRLF HEADERS("INVITE", "1", ";tag=r") "Content-Length: 0" CRLF CRLF);
	cr_assert_not(msg.registered, "a 2xx to INVITE is not a registration");
	release();
}

Test(sip_protocol, keys_are_the_requests_via_and_the_terminals_own_contact)
{
	struct sp_proto_keys k;

	inspect("%s", request("INVITE", "70", ""));
	sip->keys(&msg, &k);
	cr_assert_str_eq(k.via, T ":5070");
	cr_assert_str_eq(k.contact, T ":5070");
	release();
	/* a 3xx names other places: no contact of the terminal's own */
	inspect("SIP/2.0 302 Moved" CRLF HEADERS("INVITE", "1", ";tag=r")
		"Contact: <sip:bob@203.0.113.7:5060>" CRLF "Content-Length: 0" CRLF CRLF);
	sip->keys(&msg, &k);
	cr_assert_str_eq(k.via, "", "a response's Via is not the terminal's");
	cr_assert_str_eq(k.contact, "");
	release();
	inspect("REGISTER sip:" E " SIP/2.0" CRLF HEADERS("REGISTER", "2", "")
		"Contact: *" CRLF "Expires: 0" CRLF "Content-Length: 0" CRLF CRLF);
	sip->keys(&msg, &k);
	cr_assert_str_eq(k.contact, "", "Contact: * is no contact");
	release();
}

Test(sip_protocol, keys_tell_a_registration_with_outbound_from_one_without)
{
	struct sp_proto_keys k;

	/* RFC 5626 §4.2: +sip.instance and reg-id on the REGISTER's Contact */
	inspect("REGISTER sip:" E " SIP/2.0" CRLF HEADERS("REGISTER", "2", "")
		"Contact: <sip:alice@" T ":5070;transport=tcp;ob>;reg-id=1"
		";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"" CRLF
		"Content-Length: 0" CRLF CRLF);
	sip->keys(&msg, &k);
	cr_assert(k.registers);
	cr_assert(k.outbound);
	release();
	/* an instance without a reg-id is GRUU, not outbound */
	inspect("REGISTER sip:" E " SIP/2.0" CRLF HEADERS("REGISTER", "2", "")
		"Contact: <sip:alice@" T ":5070;transport=tcp>"
		";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"" CRLF
		"Content-Length: 0" CRLF CRLF);
	sip->keys(&msg, &k);
	cr_assert(k.registers);
	cr_assert_not(k.outbound);
	release();
	/* an INVITE's Contact says nothing of the registration */
	inspect("%s", request("INVITE", "70", ""));
	sip->keys(&msg, &k);
	cr_assert_not(k.registers);
	cr_assert_not(k.outbound);
	release();
	inspect("REGISTER sip:" E " SIP/2.0" CRLF HEADERS("REGISTER", "2", "")
		"Contact: *" CRLF "Expires: 0" CRLF "Content-Length: 0" CRLF CRLF);
	sip->keys(&msg, &k);
	cr_assert_not(k.registers, "Contact: * names no contact");
	release();
}

Test(sip_protocol, came_through_matches_the_top_via)
{
	struct sp_endpoint e, c;

	inspect("SIP/2.0 180 Ringing" CRLF "Via: SIP/2.0/UDP " E ";branch=z9hG4bK-2" CRLF
		"Via: SIP/2.0/UDP " T ":5070;branch=z9hG4bK-1" CRLF
		"From: <sip:alice@" E ">;tag=a1" CRLF "To: <sip:bob@" E ">;tag=b" CRLF
		"Call-ID: x" CRLF "CSeq: 1 INVITE" CRLF "Content-Length: 0" CRLF CRLF);
	sp_endpoint_parse(&e, E, 5060);
	sp_endpoint_parse(&c, C, 40000);
	cr_assert(sip->came_through(&msg, &e), "an absent port is 5060");
	cr_assert_not(sip->came_through(&msg, &c));
	release();
}

static void assert_refusal(enum sp_proto_refusal why, unsigned retry, const char *status_line,
			   bool retry_after)
{
	char out[2048];
	size_t n;

	n = sip->refuse(&msg, text, strlen(text), why, retry, out, sizeof(out) - 1);
	cr_assert_gt(n, 0);
	out[n] = '\0';
	cr_assert_eq(strncmp(out, status_line, strlen(status_line)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "Call-ID: call-1@" T CRLF), "%s", out);
	cr_assert_not_null(strstr(out, ";tag=" SP_SIP_REFUSAL_TAG), "%s", out);
	cr_assert_eq(strstr(out, "Retry-After:") != NULL, retry_after, "%s", out);
}

Test(sip_protocol, refusals_are_503_483_513_and_430_from_the_request)
{
	inspect("%s", request("INVITE", "70", ""));
	assert_refusal(SP_PROTO_UNAVAILABLE, 30, "SIP/2.0 503 Service Unavailable" CRLF, true);
	assert_refusal(SP_PROTO_TOO_MANY_HOPS, 0, "SIP/2.0 483 Too Many Hops" CRLF, false);
	assert_refusal(SP_PROTO_TOO_LARGE, 0, "SIP/2.0 513 Message Too Large" CRLF, false);
	assert_refusal(SP_PROTO_FLOW_FAILED, 0, "SIP/2.0 430 Flow Failed" CRLF, false);
	release();
}

Test(sip_protocol, an_ack_or_a_response_is_never_answered)
{
	char out[2048];

	inspect("%s", request("ACK", "70", ";tag=x"));
	cr_assert_eq(sip->refuse(&msg, text, strlen(text), SP_PROTO_UNAVAILABLE, 0, out, sizeof(out)), 0);
	release();
	inspect("SIP/2.0 200 OK" CRLF HEADERS("INVITE", "1", ";tag=r") "Content-Length: 0" CRLF CRLF);
	cr_assert_eq(sip->refuse(&msg, text, strlen(text), SP_PROTO_TOO_MANY_HOPS, 0, out, sizeof(out)), 0);
	release();
}

#define SDP_BODY \
	"v=0" CRLF "o=- 1 1 IN IP4 " T CRLF "s=-" CRLF "c=IN IP4 " T CRLF "t=0 0" CRLF \
	"m=audio 4000 RTP/AVP 0" CRLF "m=video 4002 RTP/AVP 96" CRLF "a=rtcp:4005" CRLF

static void inspect_invite_with_sdp(void)
{
	inspect("INVITE sip:bob@" E " SIP/2.0" CRLF HEADERS("INVITE", "1", "")
		"Max-Forwards: 70" CRLF "Contact: <sip:alice@" T ":5070>" CRLF
		"Content-Type: application/sdp" CRLF "Content-Length: %zu" CRLF CRLF SDP_BODY,
		strlen(SDP_BODY));
}

Test(sip_protocol, media_ports_are_the_sdp_streams)
{
	struct sp_sdp_info info;

	inspect_invite_with_sdp();
	cr_assert(msg.has_media);
	cr_assert_eq(sip->media_ports(&msg, &info), 0);
	cr_assert_eq(info.n_streams, 2);
	cr_assert_str_eq(info.streams[0].media, "audio");
	cr_assert_eq(info.streams[0].port, 4000);
	cr_assert_eq(info.streams[1].port, 4002);
	cr_assert_eq(info.streams[1].rtcp_port, 4005);
	release();
	inspect("%s", request("INVITE", "70", ""));
	cr_assert_eq(sip->media_ports(&msg, &info), -1, "no body, no streams");
	release();
}

Test(sip_protocol, with_body_replaces_the_body_and_its_content_length)
{
	static const char sdp2[] = "v=0\r\no=- 2 2 IN IP4 192.0.2.99\r\n";
	const char *body;
	size_t body_len, n;
	char *out;

	inspect_invite_with_sdp();
	release();
	cr_assert_eq(sip->body(text, strlen(text), &body, &body_len), 0);
	cr_assert_eq(body_len, strlen(SDP_BODY));
	cr_assert_eq(memcmp(body, SDP_BODY, body_len), 0);
	out = sip->with_body(text, strlen(text), sdp2, strlen(sdp2), &n);
	cr_assert_not_null(out);
	cr_assert_eq(sip->inspect(&msg, out, n), 0, "%s", msg.reason);
	cr_assert(msg.has_media);
	cr_assert_eq(sip->body(out, n, &body, &body_len), 0);
	cr_assert_eq(body_len, strlen(sdp2), "Content-Length follows the new body");
	cr_assert_eq(memcmp(body, sdp2, body_len), 0);
	cr_assert_not_null(strstr(out, "Content-Length: 32\r\n"), "%.*s", (int)n, out);
	release();
	free(out);
	cr_assert_eq(sip->body("no blank line", 13, &body, &body_len), -1);
}

/* ---- rewrites and tracking through a binding of a real table ---- */

static struct sp_table *table;
static struct sp_binding *bnd;

static void table_setup(uint32_t session_limit)
{
	struct sp_table_config tc;
	struct sp_table_callbacks cb = { 0 };
	struct sp_binding_params p = { 0 };

	sp_table_config_default(&tc);
	tc.sig_port_first = 40000;
	tc.sig_port_last = 40010;
	tc.session_limit = session_limit;
	table = sp_table_create(&tc, &cb);
	cr_assert_not_null(table);
	p.via_sent_by = T ":5070";
	p.contact = T ":5070";
	sp_endpoint_parse(&p.terminal, T, 5070);
	sp_endpoint_parse(&p.virtual_server, E, 5060);
	sp_endpoint_parse(&p.server_side, C, 0);
	sp_endpoint_parse(&p.server, D, 5060);
	cr_assert_eq(sp_binding_create(table, &p, 1000, &bnd), 0);
}

static int remap(void *arg, unsigned idx, enum sp_sdp_port_kind kind, const struct sp_sdp_stream *s,
		 uint16_t old_port, uint16_t *new_port)
{
	(void)arg, (void)idx, (void)kind, (void)s;
	*new_port = (uint16_t)(old_port + 10000);
	return 0;
}

static int refuse_port(void *arg, unsigned idx, enum sp_sdp_port_kind kind,
		       const struct sp_sdp_stream *s, uint16_t old_port, uint16_t *new_port)
{
	(void)arg, (void)idx, (void)kind, (void)s, (void)old_port, (void)new_port;
	return -1;
}

Test(sip_protocol, to_server_readdresses_via_contact_and_media_to_c)
{
	struct sp_proto_route r = { 0 };
	char out[4096], cc[64];
	size_t n;

	table_setup(0);
	r.binding = bnd;
	r.media = true;
	r.port_map = remap;
	inspect_invite_with_sdp();
	cr_assert_eq(sip->to_server(&msg, &r, out, sizeof(out) - 1, &n), 0);
	out[n] = '\0';
	snprintf(cc, sizeof(cc), C ":%u", bnd->server_side.port);
	cr_assert_not_null(strstr(out, "Via: SIP/2.0/UDP " C), "%s", out);
	cr_assert_not_null(strstr(out, cc), "Contact names C:c: %s", out);
	cr_assert_not_null(strstr(out, "c=IN IP4 " C CRLF), "%s", out);
	cr_assert_not_null(strstr(out, "m=audio 14000 "), "%s", out);
	cr_assert_null(strstr(out, T ":"), "the terminal stays behind (but in the Call-ID):\n%s", out);
	cr_assert_null(strstr(out, "IP4 " T), "%s", out);
	release();
	r.port_map = refuse_port;
	inspect_invite_with_sdp();
	cr_assert_eq(sip->to_server(&msg, &r, out, sizeof(out), &n), SP_PROTO_E_MEDIA);
	release();
	sp_table_destroy(table);
}

/* RFC 5626 over TCP on both sides (a terminal with outbound behind a
 * server reached over TCP): the Contact's ;ob, its reg-id and
 * +sip.instance and a Path with ;ob pass intact; C:c says transport=tcp
 * even where the terminal's URI named none (a GRUU-style Contact), since
 * C:c of a TCP server side has no UDP socket (RFC 3263: no transport=
 * means UDP), so the server's in-dialog requests come back over TCP. */
Test(sip_protocol, outbound_over_tcp_keeps_ob_reg_id_instance_and_path)
{
	struct sp_proto_route r = { .terminal_tcp = true, .server_tcp = true };
	char out[4096], want[256];
	size_t n;

	table_setup(0);
	r.binding = bnd;
	inspect("REGISTER sip:" E " SIP/2.0" CRLF
		"Via: SIP/2.0/TCP " T ":5070;branch=z9hG4bK-1;rport" CRLF
		"Max-Forwards: 70" CRLF
		"Path: <sip:edge.example.net;lr;ob>" CRLF
		"From: <sip:dave@" E ">;tag=a1" CRLF
		"To: <sip:dave@" E ">" CRLF
		"Call-ID: reg-1@" T CRLF
		"CSeq: 1 REGISTER" CRLF
		"Supported: outbound, path" CRLF
		"Contact: <sip:dave@" T ":5070;ob>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"" CRLF
		"Content-Length: 0" CRLF CRLF);
	cr_assert_eq(sip->to_server(&msg, &r, out, sizeof(out) - 1, &n), 0);
	out[n] = '\0';
	snprintf(want, sizeof(want),
		 "Contact: <sip:dave@" C ":%u;ob;transport=tcp>;reg-id=1;"
		 "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"" CRLF,
		 bnd->server_side.port);
	cr_assert_not_null(strstr(out, want), "want %s in:\n%s", want, out);
	cr_assert_not_null(strstr(out, CRLF "Path: <sip:edge.example.net;lr;ob>" CRLF), "%s", out);
	cr_assert_not_null(strstr(out, CRLF "Supported: outbound, path" CRLF), "%s", out);
	cr_assert_not_null(strstr(out, "Via: SIP/2.0/TCP " C), "%s", out);
	release();
	/* a GRUU-style Contact without transport= gets it */
	inspect("REGISTER sip:" E " SIP/2.0" CRLF
		"Via: SIP/2.0/TCP " T ":5070;branch=z9hG4bK-2;rport" CRLF
		"Max-Forwards: 70" CRLF
		"From: <sip:dave@" E ">;tag=a1" CRLF
		"To: <sip:dave@" E ">" CRLF
		"Call-ID: reg-2@" T CRLF
		"CSeq: 2 REGISTER" CRLF
		"Contact: <sip:dave@" T ":5070>" CRLF
		"Content-Length: 0" CRLF CRLF);
	cr_assert_eq(sip->to_server(&msg, &r, out, sizeof(out) - 1, &n), 0);
	out[n] = '\0';
	snprintf(want, sizeof(want), "Contact: <sip:dave@" C ":%u;transport=tcp>" CRLF, bnd->server_side.port);
	cr_assert_not_null(strstr(out, want), "want %s in:\n%s", want, out);
	release();
	sp_table_destroy(table);
}

Test(sip_protocol, to_terminal_gives_back_the_terminals_via_and_hides_the_server)
{
	struct sp_proto_route r = { .binding = NULL, .hide_server_identity = true };
	char out[4096];
	size_t n;

	table_setup(0);
	r.binding = bnd;
	inspect("SIP/2.0 200 OK" CRLF "Via: SIP/2.0/UDP " C ":%u;branch=z9hG4bK-2" CRLF
		"Via: SIP/2.0/UDP " T ":5070;branch=z9hG4bK-1" CRLF
		"From: <sip:alice@" E ">;tag=a1" CRLF "To: <sip:bob@" E ">;tag=b" CRLF
		"Call-ID: call-1@" T CRLF "CSeq: 1 INVITE" CRLF "Server: ExampleSwitch 1.0" CRLF
		"Contact: <sip:bob@" D ":5060>" CRLF "Content-Length: 0" CRLF CRLF,
		bnd->server_side.port);
	cr_assert_eq(sip->to_terminal(&msg, &r, out, sizeof(out) - 1, &n), 0);
	out[n] = '\0';
	cr_assert_eq(strncmp(out, "SIP/2.0 200 OK" CRLF "Via: SIP/2.0/UDP " T ":5070;", 36), 0,
		     "the SP's Via gone, the terminal's on top:\n%s", out);
	cr_assert_null(strstr(out, "Server:"), "%s", out);
	cr_assert_not_null(strstr(out, "Contact: <sip:bob@" E), "the server's contact reads E:\n%s", out);
	release();
	sp_table_destroy(table);
}

static struct sp_proto_track track(int expect_rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct sp_proto_track track(int expect_rc, const char *fmt, ...)
{
	struct sp_proto_track tr;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_assert_eq(sip->inspect(&msg, text, strlen(text)), 0, "%s\n%s", msg.reason, text);
	cr_assert_eq(sip->track(table, bnd, &msg, 2000, &tr), expect_rc);
	release();
	return tr;
}

static struct sp_dialog *the_dialog(void)
{
	return sp_dialog_find(table, bnd->vpn, "call-1@" T, strlen("call-1@" T), bnd);
}

#define RESPONSE(line, method, to_tag) "SIP/2.0 " line CRLF HEADERS(method, "1", to_tag) "Content-Length: 0" CRLF CRLF

Test(sip_protocol, track_follows_a_call_from_invite_to_the_answer_of_bye)
{
	struct sp_proto_track tr;
	uint32_t id;

	table_setup(0);
	tr = track(0, "%s", request("OPTIONS", "70", ""));
	cr_assert_eq(tr.dialog, 0, "out of dialog: nothing tracked");
	tr = track(0, "%s", request("INVITE", "70", ""));
	cr_assert_neq(tr.dialog, 0);
	cr_assert(tr.created);
	id = tr.dialog;
	cr_assert_eq(the_dialog()->state, SP_DIALOG_EARLY);
	tr = track(0, RESPONSE("180 Ringing", "INVITE", ";tag=b1"));
	cr_assert_eq(tr.dialog, id);
	cr_assert_not(tr.created);
	cr_assert_str_eq(the_dialog()->to_tag, "b1");
	tr = track(0, RESPONSE("200 OK", "INVITE", ";tag=b1"));
	cr_assert_eq(the_dialog()->state, SP_DIALOG_CONFIRMED);
	cr_assert_not(tr.media_ends);
	tr = track(0, "%s", request("BYE", "70", ";tag=b1"));
	cr_assert(tr.media_ends, "the media ends with BYE");
	cr_assert_not(tr.deleted);
	cr_assert_eq(the_dialog()->state, SP_DIALOG_TERMINATING);
	tr = track(0, RESPONSE("200 OK", "BYE", ";tag=b1"));
	cr_assert(tr.deleted);
	cr_assert_eq(tr.dialog, id, "the dialog it deleted");
	cr_assert_null(the_dialog());
	sp_table_destroy(table);
}

Test(sip_protocol, track_deletes_a_failed_call)
{
	struct sp_proto_track tr;

	table_setup(0);
	track(0, "%s", request("INVITE", "70", ""));
	tr = track(0, RESPONSE("486 Busy Here", "INVITE", ";tag=b1"));
	cr_assert(tr.deleted);
	cr_assert(tr.media_ends);
	cr_assert_null(the_dialog());
	sp_table_destroy(table);
}

Test(sip_protocol, track_refuses_a_new_call_over_the_session_limit)
{
	struct sp_proto_track tr;

	table_setup(1);
	track(0, "%s", request("INVITE", "70", ""));
	snprintf(text, sizeof(text), "%s", request("INVITE", "70", ""));
	*strstr(text, "call-1") = 'X'; /* another Call-ID */
	cr_assert_eq(sip->inspect(&msg, text, strlen(text)), 0);
	cr_assert_eq(sip->track(table, bnd, &msg, 2000, &tr), SP_PROTO_OVER_LIMIT);
	cr_assert_eq(tr.dialog, 0);
	release();
	cr_assert_eq(sp_table_counters(table)->dialogs_current, 1);
	sp_table_destroy(table);
}
