/*
 * SDP inspection and rewriting.
 *
 * libosip2's sdp_message_parse() builds a tree and sdp_message_to_str()
 * re-serialises it, which reorders and reformats lines; the proxy must keep
 * every byte it does not rewrite (SPEC §2.3). So this module walks the lines
 * itself and splices only the fields it changes (c=/o= addresses, m= and
 * a=rtcp ports), in caller memory, with no allocation. The tests re-parse
 * the output with libosip2's SDP parser.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sp_sdp.h"

struct sdp_out {
	char *p;
	size_t cap;
	size_t len;
	bool full;
};

static void out_put(struct sdp_out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct sdp_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_port(struct sdp_out *o, uint16_t port)
{
	char digits[6];
	int i = sizeof(digits);
	unsigned v = port;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_put(o, digits + i, sizeof(digits) - i);
}

struct line {
	const char *p;      /* start of line */
	const char *end;    /* end of content, before EOL */
	const char *next;   /* after EOL */
};

static bool next_line(const char **cur, const char *end, struct line *l)
{
	const char *p = *cur;
	const char *nl;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', end - p);
	l->p = p;
	l->next = nl ? nl + 1 : end;
	l->end = nl ? nl : end;
	if (l->end > p && l->end[-1] == '\r')
		l->end--;
	*cur = l->next;
	return true;
}

/* idx-th token of [p, e) separated by spaces (SDP uses single SP). */
static bool token(const char *p, const char *e, unsigned idx,
		  const char **ts, const char **te)
{
	for (;;) {
		while (p < e && *p == ' ')
			p++;
		if (p >= e)
			return false;
		*ts = p;
		while (p < e && *p != ' ')
			p++;
		*te = p;
		if (idx-- == 0)
			return true;
	}
}

static bool tok_eq(const char *s, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - s) == n && strncasecmp(s, lit, n) == 0;
}

static bool parse_port(const char *s, const char *e, uint16_t *port)
{
	unsigned v = 0;

	if (s == e || e - s > 5)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static void copy_addr(char *dst, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (n >= SP_SDP_ADDR_MAX)
		n = SP_SDP_ADDR_MAX - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool is_unspecified(const char *s, const char *e)
{
	return tok_eq(s, e, "0.0.0.0") || tok_eq(s, e, "::");
}

/*
 * An "IN IP4|IP6 addr" triple starting at token first of the line content.
 * Returns false when malformed; *ok_family false for other net/addr types.
 */
struct conn {
	const char *type_s, *type_e;
	const char *addr_s, *addr_e;
	bool inet;
};

static bool parse_conn(const char *p, const char *e, unsigned first, struct conn *c)
{
	const char *ns, *ne;

	if (!token(p, e, first, &ns, &ne) ||
	    !token(p, e, first + 1, &c->type_s, &c->type_e) ||
	    !token(p, e, first + 2, &c->addr_s, &c->addr_e))
		return false;
	c->inet = tok_eq(ns, ne, "IN") &&
		  (tok_eq(c->type_s, c->type_e, "IP4") || tok_eq(c->type_s, c->type_e, "IP6"));
	return true;
}

static enum sp_sdp_direction parse_dir(const char *s, const char *e, bool *is_dir)
{
	*is_dir = true;
	if (tok_eq(s, e, "sendonly"))
		return SP_SDP_SENDONLY;
	if (tok_eq(s, e, "recvonly"))
		return SP_SDP_RECVONLY;
	if (tok_eq(s, e, "inactive"))
		return SP_SDP_INACTIVE;
	if (!tok_eq(s, e, "sendrecv"))
		*is_dir = false;
	return SP_SDP_SENDRECV;
}

/* An m= line: a new stream, its media, port and (checked) proto. */
static int inspect_media(struct sp_sdp_info *info, const char *v, const char *end,
			 struct sp_sdp_stream **stp)
{
	struct sp_sdp_stream *st;
	const char *ts, *te, *slash;

	if (info->n_streams == SP_SDP_MAX_STREAMS)
		return SP_SDP_E_UNSUPPORTED;
	st = *stp = &info->streams[info->n_streams++];
	if (!token(v, end, 0, &ts, &te))
		return SP_SDP_E_SYNTAX;
	if ((size_t)(te - ts) >= sizeof(st->media))
		te = ts + sizeof(st->media) - 1;
	memcpy(st->media, ts, te - ts);
	if (!token(v, end, 1, &ts, &te))
		return SP_SDP_E_SYNTAX;
	slash = memchr(ts, '/', te - ts);
	if (!parse_port(ts, slash ? slash : te, &st->port))
		return SP_SDP_E_SYNTAX;
	if (!token(v, end, 2, &ts, &te))
		return SP_SDP_E_SYNTAX;
	memcpy(st->addr, info->session_addr, sizeof(st->addr));
	return SP_SDP_OK;
}

/* An a= line: a=rtcp: of the current stream, or a direction (of the
 * stream, or of the session before the first m=); others are ignored. */
static int inspect_attribute(struct sp_sdp_info *info, struct sp_sdp_stream *st, const char *v,
			     const char *end, bool *media_dir_set,
			     enum sp_sdp_direction *session_dir)
{
	struct conn c;
	bool is_dir;
	enum sp_sdp_direction d;

	if (end - v > 5 && strncasecmp(v, "rtcp:", 5) == 0 && st) {
		const char *ps = v + 5, *pe = ps;

		while (pe < end && *pe != ' ')
			pe++;
		if (!parse_port(ps, pe, &st->rtcp_port) || st->rtcp_port == 0)
			return SP_SDP_E_SYNTAX;
		if (pe < end) {
			if (!parse_conn(pe, end, 0, &c))
				return SP_SDP_E_SYNTAX;
			copy_addr(st->rtcp_addr, c.addr_s, c.addr_e);
		}
		return SP_SDP_OK;
	}
	d = parse_dir(v, end, &is_dir);
	if (!is_dir)
		return SP_SDP_OK;
	if (st) {
		st->dir = d;
		media_dir_set[st - info->streams] = true;
	} else {
		*session_dir = d;
	}
	return SP_SDP_OK;
}

int sp_sdp_inspect(const char *sdp, size_t len, struct sp_sdp_info *info)
{
	const char *cur = sdp, *end = sdp + len;
	enum sp_sdp_direction session_dir = SP_SDP_SENDRECV;
	bool media_dir_set[SP_SDP_MAX_STREAMS] = { false };
	struct sp_sdp_stream *st = NULL;
	struct line l;
	bool first = true;

	memset(info, 0, sizeof(*info));
	while (next_line(&cur, end, &l)) {
		const char *v = l.p + 2;
		struct conn c;
		int err = SP_SDP_OK;

		if (l.end == l.p)
			continue;       /* tolerate a trailing empty line */
		if (l.end - l.p < 2 || l.p[1] != '=')
			return SP_SDP_E_SYNTAX;
		if (first && l.p[0] != 'v')
			return SP_SDP_E_SYNTAX;
		first = false;
		switch (l.p[0]) {
		case 'o':
			if (!parse_conn(v, l.end, 3, &c))
				return SP_SDP_E_SYNTAX;
			copy_addr(info->origin_addr, c.addr_s, c.addr_e);
			break;
		case 'c':
			if (!parse_conn(v, l.end, 0, &c))
				return SP_SDP_E_SYNTAX;
			copy_addr(st ? st->addr : info->session_addr, c.addr_s, c.addr_e);
			break;
		case 'm':
			err = inspect_media(info, v, l.end, &st);
			break;
		case 'a':
			err = inspect_attribute(info, st, v, l.end, media_dir_set, &session_dir);
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	if (first)
		return SP_SDP_E_SYNTAX;
	for (unsigned i = 0; i < info->n_streams; i++)
		if (!media_dir_set[i])
			info->streams[i].dir = session_dir;
	return SP_SDP_OK;
}

/* Splice the addrtype and address of a connection triple. */
static void put_conn(struct sdp_out *o, const struct conn *c,
		     const char *media_addr, const char **copied)
{
	out_put(o, *copied, c->type_s - *copied);
	out_str(o, strchr(media_addr, ':') ? "IP6" : "IP4");
	out_put(o, c->type_e, c->addr_s - c->type_e);
	out_str(o, media_addr);
	*copied = c->addr_e;
}

static bool conn_rewritable(const struct conn *c)
{
	return c->inet && !is_unspecified(c->addr_s, c->addr_e);
}

/* The port each stream's RTP and RTCP get (the port map's, or their own). */
static int map_ports(const struct sp_sdp_info *info, const struct sp_sdp_plan *plan, uint16_t *rtp,
		     uint16_t *rtcp)
{
	for (unsigned i = 0; i < info->n_streams; i++) {
		const struct sp_sdp_stream *st = &info->streams[i];

		rtp[i] = st->port;
		rtcp[i] = st->rtcp_port;
		if (!plan->port_map || st->port == 0)
			continue;
		if (plan->port_map(plan->port_map_arg, i, SP_SDP_PORT_RTP, st,
				   st->port, &rtp[i]) || rtp[i] == 0)
			return SP_SDP_E_REFUSED;
		if (st->rtcp_port &&
		    (plan->port_map(plan->port_map_arg, i, SP_SDP_PORT_RTCP, st,
				    st->rtcp_port, &rtcp[i]) || rtcp[i] == 0))
			return SP_SDP_E_REFUSED;
	}
	return SP_SDP_OK;
}

int sp_sdp_rewrite(const char *sdp, size_t len, const struct sp_sdp_plan *plan,
		   char *out, size_t out_size, size_t *out_len)
{
	struct sp_sdp_info info;
	uint16_t rtp[SP_SDP_MAX_STREAMS], rtcp[SP_SDP_MAX_STREAMS];
	struct sdp_out o = { .p = out, .cap = out_size };
	const char *cur = sdp, *end = sdp + len;
	const char *maddr = plan->media_addr;
	struct line l;
	int media = -1;
	int err;

	err = sp_sdp_inspect(sdp, len, &info);
	if (err)
		return err;

	/* Ask for every port first, so a refusal leaves nothing half done. */
	err = map_ports(&info, plan, rtp, rtcp);
	if (err)
		return err;

	while (next_line(&cur, end, &l)) {
		const char *v = l.p + 2, *copied = l.p, *ts = NULL, *te = NULL;
		struct conn c = { 0 };

		switch (l.end - l.p >= 2 ? l.p[0] : 0) {
		case 'o':
			parse_conn(v, l.end, 3, &c);
			if (maddr && conn_rewritable(&c))
				put_conn(&o, &c, maddr, &copied);
			break;
		case 'c':
			parse_conn(v, l.end, 0, &c);
			if (!maddr || !conn_rewritable(&c))
				break;
			/* Multicast groups (addr/ttl) cannot be relayed through M. */
			if (memchr(c.addr_s, '/', c.addr_e - c.addr_s))
				return SP_SDP_E_UNSUPPORTED;
			put_conn(&o, &c, maddr, &copied);
			break;
		case 'm': {
			const char *slash;

			media++;
			token(v, l.end, 1, &ts, &te);
			slash = memchr(ts, '/', te - ts);
			if (rtp[media] == info.streams[media].port)
				break;
			out_put(&o, copied, ts - copied);
			out_port(&o, rtp[media]);
			copied = slash ? slash : te;
			break;
		}
		case 'a':
			if (media < 0 || l.end - v <= 5 || strncasecmp(v, "rtcp:", 5) != 0 ||
			    info.streams[media].port == 0)
				break;
			ts = v + 5;
			for (te = ts; te < l.end && *te != ' '; te++)
				;
			out_put(&o, copied, ts - copied);
			out_port(&o, rtcp[media]);
			copied = te;
			if (te < l.end && maddr) {
				parse_conn(te, l.end, 0, &c);
				if (conn_rewritable(&c))
					put_conn(&o, &c, maddr, &copied);
			}
			break;
		default:
			break;
		}
		out_put(&o, copied, l.next - copied);
	}
	if (o.full)
		return SP_SDP_E_NOSPACE;
	*out_len = o.len;
	return SP_SDP_OK;
}

const char *sp_sdp_strerror(int err)
{
	switch (err) {
	case SP_SDP_OK:
		return "success";
	case SP_SDP_E_SYNTAX:
		return "malformed SDP";
	case SP_SDP_E_UNSUPPORTED:
		return "unsupported SDP (multicast or too many media)";
	case SP_SDP_E_REFUSED:
		return "media port refused";
	case SP_SDP_E_NOSPACE:
		return "output buffer too small";
	default:
		return "unknown SDP error";
	}
}

bool sp_sdp_addressed_elsewhere(const char *sdp, size_t len, const struct sp_endpoint *sender)
{
	char host[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN + 16];
	const char *c = memmem(sdp, len, "c=IN IP", 7);

	if (!c || sender->family != AF_INET)
		return false;
	inet_ntop(AF_INET, &sender->addr.v4, host, sizeof(host));
	snprintf(want, sizeof(want), "c=IN IP4 %s\r", host);
	return !((size_t)(sdp + len - c) >= strlen(want) && memcmp(c, want, strlen(want)) == 0);
}
