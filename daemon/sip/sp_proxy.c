#include "config.h"
#include "sp_proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SP_SIP_DEFAULT_PORT 5060

int sp_proxy_hostport_parse(const char *text, struct sp_proxy_hostport *hp)
{
	const char *host = text, *end, *colon;
	size_t hl;
	char *stop;

	memset(hp, 0, sizeof(*hp));
	if (!text || !*text)
		return -1;
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end)
			return -1;
		host = text + 1;
		hl = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (hl == 0 || hl >= sizeof(hp->host))
		return -1;
	memcpy(hp->host, host, hl);
	hp->host[hl] = '\0';
	if (colon) {
		unsigned long p = 0;
		const char *d = colon + 1;

		/* plain digits (what the daemon writes) without strtoul, which
		 * was most of this function's cost; anything else as before */
		while (*d >= '0' && *d <= '9' && d - colon <= 6)
			p = p * 10 + (unsigned long)(*d++ - '0');
		if (*d || d == colon + 1 || d - colon > 6)
			p = strtoul(colon + 1, &stop, 10);
		else
			stop = (char *)d;
		if (*stop || p == 0 || p > 65535)
			return -1;
		hp->port = (uint16_t)p;
	}
	return 0;
}

/* "host", "[v6]", "host:port" or "[v6]:port", cut to len as snprintf
 * would: by hand, since snprintf was ~6 % of the instructions per call
 * (every message formats two or three of them). */
void sp_proxy_hostport_format(const struct sp_proxy_hostport *hp, char *buf, size_t len)
{
	char tmp[SP_PROXY_HOST_MAX + 8], digits[5];
	size_t hl = strnlen(hp->host, sizeof(hp->host)), n = 0, nd = 0;
	bool v6 = memchr(hp->host, ':', hl) != NULL;

	if (v6)
		tmp[n++] = '[';
	memcpy(tmp + n, hp->host, hl);
	n += hl;
	if (v6)
		tmp[n++] = ']';
	if (hp->port) {
		tmp[n++] = ':';
		for (unsigned v = hp->port; v; v /= 10)
			digits[nd++] = (char)('0' + v % 10);
		while (nd)
			tmp[n++] = digits[--nd];
	}
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

int sp_proxy_is_keepalive(const char *buf, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			return 0;
	return 1;
}

/* Written ports: 5060 is what an absent port means, so leave it out, as the
 * terminal and the server wrote theirs. Matched ports: 0 matches any. */
static struct sp_sip_addr sp_proxy_write_addr(const struct sp_proxy_hostport *hp)
{
	return (struct sp_sip_addr){ hp->host, hp->port == SP_SIP_DEFAULT_PORT ? 0 : hp->port };
}

static struct sp_sip_addr sp_proxy_match_host(const struct sp_proxy_hostport *hp)
{
	return (struct sp_sip_addr){ hp->host, 0 };
}

static struct sp_sip_addr sp_proxy_match_exact(const struct sp_proxy_hostport *hp)
{
	return (struct sp_sip_addr){ hp->host, hp->port };
}

/* RFC 3261 §16.6 step 3: a proxy decrements Max-Forwards. A request
 * without one passes without one: the SP adds no header the rewrite does
 * not need (the next proxy or the server applies its own default), and 0
 * never gets here (the engine answers 483). */
static void sp_proxy_plan_max_forwards(const struct sp_sip_info *in, struct sp_sip_plan *plan)
{
	if (in->is_request && in->max_forwards > 0) {
		plan->set_max_forwards = true;
		plan->max_forwards = (unsigned)in->max_forwards - 1;
	}
}

bool sp_proxy_via_is(const struct sp_sip_info *in, const struct sp_proxy_hostport *hp)
{
	uint16_t port = in->via.port ? in->via.port : SP_SIP_DEFAULT_PORT;

	return strcasecmp(in->via.host, hp->host) == 0 &&
	       port == (hp->port ? hp->port : SP_SIP_DEFAULT_PORT);
}

int sp_proxy_to_server(struct sp_sip_msg *msg, const struct sp_proxy_binding *b, char *out,
		       size_t out_size, size_t *out_len)
{
	const struct sp_sip_info *in = &msg->info;
	struct sp_sip_plan plan = { 0 };
	struct sp_sip_addr via, c_written;
	struct sp_sip_addr_map contact, ruri, route;

	c_written = (struct sp_sip_addr){ b->server_side.host, b->server_side.port };
	/* Route/Record-Route entries naming E go back to naming D: the terminal
	 * only ever saw E where the server had put itself. */
	route.from = sp_proxy_match_host(&b->virtual_server);
	route.to = sp_proxy_write_addr(&b->server);
	plan.routes = &route;
	plan.n_routes = 1;
	if (in->is_request) {
		/* our request to the server: the server answers C:c */
		via = c_written;
		plan.via_sent_by = &via;
		ruri.from = sp_proxy_match_host(&b->virtual_server);
		ruri.to = sp_proxy_write_addr(&b->server);
		plan.ruri = &ruri;
	} else {
		/* the terminal answers a request of the server's, whose Via we had
		 * turned into E: give the server its own back */
		via = sp_proxy_write_addr(&b->server);
		plan.via_sent_by = &via;
	}
	/* The terminal's own contacts become C:c, so the server reaches it
	 * through its binding (like NAPT). A third party's contact (a transfer
	 * target, say) keeps its meaning. */
	if (!in->contact_star && in->n_contacts > 0) {
		contact.from = b->terminal_contact.host[0] ? sp_proxy_match_exact(&b->terminal_contact)
							   : (struct sp_sip_addr){ NULL, 0 };
		contact.to = c_written;
		plan.contact = &contact;
	}
	sp_proxy_plan_max_forwards(in, &plan);
	plan.via_transport = b->via_transport_to_server;
	plan.uri_transport = b->uri_transport_to_server;
	if (in->body_is_sdp && b->media_to_server[0]) {
		plan.sdp.media_addr = b->media_to_server;
		plan.sdp.port_map = b->port_map_to_server;
		plan.sdp.port_map_arg = b->port_map_to_server_arg;
	}
	return sp_sip_rewrite(msg, &plan, out, out_size, out_len);
}

int sp_proxy_to_terminal(struct sp_sip_msg *msg, const struct sp_proxy_binding *b, char *out,
			 size_t out_size, size_t *out_len)
{
	const struct sp_sip_info *in = &msg->info;
	struct sp_sip_plan plan = { 0 };
	struct sp_sip_addr via;
	struct sp_sip_addr_map contact, ruri, route;

	route.from = sp_proxy_match_host(&b->server);
	route.to = sp_proxy_write_addr(&b->virtual_server);
	plan.routes = &route;
	plan.n_routes = 1;
	if (in->is_request) {
		/* the server's request: to the terminal it comes from E */
		via = (struct sp_sip_addr){ b->virtual_server.host, b->virtual_server.port };
		plan.via_sent_by = &via;
		/* the registered contact C:c is the terminal's own again */
		ruri.from = sp_proxy_match_exact(&b->server_side);
		ruri.to = (struct sp_sip_addr){ b->terminal_contact.host, b->terminal_contact.port };
		if (b->terminal_contact.host[0])
			plan.ruri = &ruri;
		contact.from = sp_proxy_match_host(&b->server);
		contact.to = sp_proxy_write_addr(&b->virtual_server);
		plan.contact = &contact;
	} else {
		/* the answer to the terminal's request: its own Via back, and what
		 * E would have said about where the request came from */
		via = (struct sp_sip_addr){ b->terminal_via.host, b->terminal_via.port };
		plan.via_sent_by = &via;
		if (in->via_rport) {
			plan.via_rport_op = SP_SIP_PARAM_SET;
			plan.via_rport = b->terminal.port;
		}
		/* RFC 3261 §18.2.1: received= when the sent-by host is not the
		 * source (a terminal behind a NAT), RFC 3581 §4: always with
		 * rport. The server cannot tell: it saw C:c as both. */
		if (in->via_rport || in->via_received[0] ||
		    strcasecmp(b->terminal_via.host, b->terminal.host) != 0) {
			plan.via_received_op = SP_SIP_PARAM_SET;
			plan.via_received = b->terminal.host;
		}
		if (in->cseq_method == SP_SIP_REGISTER) {
			/* the registrar lists the bindings it holds: C:c is the
			 * terminal's contact */
			contact.from = sp_proxy_match_exact(&b->server_side);
			contact.to = (struct sp_sip_addr){ b->terminal_contact.host,
							   b->terminal_contact.port };
			if (b->terminal_contact.host[0])
				plan.contact = &contact;
		} else {
			/* a B2BUA's contact (D) is reached through E */
			contact.from = sp_proxy_match_host(&b->server);
			contact.to = sp_proxy_write_addr(&b->virtual_server);
			plan.contact = &contact;
		}
	}
	sp_proxy_plan_max_forwards(in, &plan);
	if (in->body_is_sdp && b->media_to_terminal[0]) {
		plan.sdp.media_addr = b->media_to_terminal;
		plan.sdp.port_map = b->port_map_to_terminal;
		plan.sdp.port_map_arg = b->port_map_to_terminal_arg;
	}
	plan.via_transport = b->via_transport_to_terminal;
	plan.uri_transport = b->uri_transport_to_terminal;
	return sp_sip_rewrite(msg, &plan, out, out_size, out_len);
}

/* Which header a line starts, by its long or compact name. */
static bool sp_proxy_header_is(const char *line, size_t len, const char *name, char compact)
{
	size_t n = strlen(name), i;

	if (len > n && strncasecmp(line, name, n) == 0)
		i = n;
	else if (compact && len > 1 && (line[0] == compact || line[0] == compact - 32))
		i = 1;
	else
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

/* Byte-for-byte copy of the headers a response must echo: building it with
 * libosip2 would re-serialize them, and a reply has to match the request's
 * transaction exactly. */
size_t sp_proxy_build_reply(const char *req, size_t len, int status, const char *reason,
			    const char *to_tag, char *out, size_t out_size)
{
	return sp_proxy_build_reply_retry(req, len, status, reason, to_tag, 0, out, out_size);
}

size_t sp_proxy_build_reply_retry(const char *req, size_t len, int status, const char *reason,
				  const char *to_tag, unsigned retry_after, char *out,
				  size_t out_size)
{
	const char *p = req, *end = req + len;
	size_t o = 0;
	int n;

	n = snprintf(out, out_size, "SIP/2.0 %d %s\r\n", status, reason);
	if (n < 0 || (size_t)n >= out_size)
		return 0;
	o = (size_t)n;
	/* skip the request line */
	while (p < end && *p != '\n')
		p++;
	p++;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((eol ? eol : end) - p), body = ll;
		bool keep, is_to;

		if (body && p[body - 1] == '\r')
			body--;
		if (body == 0)
			break; /* end of headers */
		is_to = sp_proxy_header_is(p, body, "to", 't');
		keep = is_to || sp_proxy_header_is(p, body, "via", 'v') ||
		       sp_proxy_header_is(p, body, "from", 'f') ||
		       sp_proxy_header_is(p, body, "call-id", 'i') ||
		       sp_proxy_header_is(p, body, "cseq", 0);
		if (keep) {
			bool add_tag = is_to && to_tag && !memmem(p, body, ";tag=", 5);
			size_t need = body + 2 + (add_tag ? strlen(to_tag) + 5 : 0);

			if (o + need >= out_size)
				return 0;
			memcpy(out + o, p, body);
			o += body;
			if (add_tag)
				o += (size_t)sprintf(out + o, ";tag=%s", to_tag);
			out[o++] = '\r';
			out[o++] = '\n';
		}
		p = eol ? eol + 1 : end;
	}
	if (retry_after) {
		n = snprintf(out + o, out_size - o, "Retry-After: %u\r\n", retry_after);
		if (n < 0 || (size_t)n >= out_size - o)
			return 0;
		o += (size_t)n;
	}
	n = snprintf(out + o, out_size - o, "Content-Length: 0\r\n\r\n");
	if (n < 0 || (size_t)n >= out_size - o)
		return 0;
	return o + (size_t)n;
}

size_t sp_proxy_strip_identity(char *msg, size_t len)
{
	size_t r, w, eol;
	bool dropping = false;

	/* the start line stays */
	for (r = 0; r < len && msg[r] != '\n'; r++)
		;
	if (r >= len)
		return len;
	w = ++r;
	while (r < len) {
		const char *nl = memchr(msg + r, '\n', len - r);
		size_t ll;

		eol = nl ? (size_t)(nl - msg) + 1 : len;
		ll = eol - r;
		if (ll == 1 || (ll == 2 && msg[r] == '\r'))
			break; /* the blank line: the body follows untouched */
		if (msg[r] == ' ' || msg[r] == '\t') {
			/* a folded continuation goes with its header */
		} else {
			size_t body = ll - (msg[eol - 1] == '\n') - (ll > 1 && msg[eol - 2] == '\r');

			dropping = sp_proxy_header_is(msg + r, body, "server", 0) ||
				   sp_proxy_header_is(msg + r, body, "user-agent", 0) ||
				   sp_proxy_header_is(msg + r, body, "warning", 0);
		}
		if (!dropping) {
			memmove(msg + w, msg + r, ll);
			w += ll;
		}
		r = eol;
	}
	memmove(msg + w, msg + r, len - r);
	return w + (len - r);
}
