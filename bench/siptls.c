/*
 * siptls: bench/run's SIP call generator over TLS (or plain TCP), the UAC of
 * bench/uac.xml's scenario where SIPp cannot go: Debian's SIPp is built
 * without TLS.
 *
 *   siptls [-t tls|tcp] [-c CONNS] [-C CONNS/S] [-r RATE] [-m CALLS] [-b LOCAL-IP]
 *          [-w TIMEOUT-MS] [-o RTT.csv] [-H SECONDS] HOST PORT
 *
 * Opens CONNS (default 1) persistent connections from LOCAL-IP to HOST:PORT
 * (TLS over GnuTLS, 1.2 at least; the server's certificate is not verified:
 * a load generator, not a client to trust), then makes CALLS calls at RATE
 * calls/s, round-robin over the connections: INVITE (with SDP), 100/180
 * ignored, 200 (the INVITE->200 time taken), ACK, BYE, 200. The ACK and BYE
 * follow the 200: Request-URI its Contact, Route its Record-Route set
 * reversed. One epoll loop, non-blocking sockets and handshakes; calls are
 * started on the clock (t0 + i / RATE), late ones at once.
 *
 * A call fails on a final response other than 2xx, on a connection that
 * fails or closes, or when TIMEOUT-MS (default 3000, SIPp's -recv_timeout
 * in bench/run) pass without its next response. Prints one line
 *
 *   calls N successful S failed F connections U p50_ms A p99_ms B
 *
 * and with -o a file "call_id;response_ms" (bench/rtt.py's format) of every
 * successful call's INVITE->200 time (CLOCK_MONOTONIC, µs precision).
 * Exit 0 when every call succeeded, 1 otherwise, 2 on bad arguments.
 *
 * -C: the connections opened at that rate (default all at once), each up or
 * given up 10 s after the last one's opening. -H SECONDS (with -m 0): hold
 * the connections open that long once they are up and print "established
 * U" first (memory per connection).
 *
 * Built by bench/run: cc -O2 siptls.c $(pkg-config --cflags --libs gnutls).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_CONNECTING, C_HANDSHAKE, C_UP, C_DEAD };
enum { K_IDLE, K_INVITED, K_BYE, K_DONE, K_FAILED };

struct buf {
	char *d;
	size_t off, len, cap;
};

struct conn {
	int fd, state;
	gnutls_session_t tls;	/* NULL over plain TCP */
	int send_pending;	/* a record_send returned AGAIN: retry it */
	char local[64];		/* "ip:port" for Via and Contact */
	struct buf in, out;
	unsigned calls_open;
};

struct call {
	uint8_t state;
	uint16_t conn;
	double t_invite, deadline, rtt_ms;
};

static struct {
	int tls;
	const char *host, *bind_ip;
	int port, nconn, timeout_ms, hold_s;
	double rate, conn_rate;
	long ncalls;
	const char *rtt_file;
	struct conn *conns;
	struct call *calls;
	long open, done, ok, failed;
	int ep;
	gnutls_certificate_credentials_t cred;
} g = { .tls = 1, .nconn = 1, .timeout_ms = 3000, .rate = 10, .ncalls = 10 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		if (b->off) {	/* compact before growing */
			memmove(b->d, b->d + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (b->len + n > b->cap)
			b->cap = b->cap ? b->cap * 2 : 65536;
		b->d = realloc(b->d, b->cap);
		if (!b->d) {
			perror("siptls: realloc");
			exit(2);
		}
	}
	memcpy(b->d + b->len, s, n);
	b->len += n;
}

static void call_end(long i, int ok)
{
	struct call *c = &g.calls[i];

	if (c->state == K_INVITED || c->state == K_BYE) {
		g.open--;
		g.conns[c->conn].calls_open--;
	}
	c->state = ok ? K_DONE : K_FAILED;
	g.done++;
	if (ok)
		g.ok++;
	else
		g.failed++;
}

static void want_out(struct conn *k, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = k };

	epoll_ctl(g.ep, EPOLL_CTL_MOD, k->fd, &ev);
}

/* the connection is gone: its open calls fail, its later calls too */
static void conn_dead(struct conn *k, const char *why)
{
	long i;

	if (k->state == C_DEAD)
		return;
	fprintf(stderr, "siptls: connection %s to %s:%d: %s\n", k->local[0] ? k->local : "-",
		g.host, g.port, why);
	k->state = C_DEAD;
	epoll_ctl(g.ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	for (i = 0; i < g.ncalls && k->calls_open; i++)
		if (&g.conns[g.calls[i].conn] == k &&
		    (g.calls[i].state == K_INVITED || g.calls[i].state == K_BYE))
			call_end(i, 0);
}

/* sends what the connection has queued, as far as the socket takes it */
static void conn_flush(struct conn *k)
{
	ssize_t n;

	while (k->state == C_UP && (k->out.len > k->out.off || k->send_pending)) {
		size_t len = k->out.len - k->out.off;

		if (k->tls) {
			if (len > 16384)
				len = 16384;
			n = k->send_pending ? gnutls_record_send(k->tls, NULL, 0)
					    : gnutls_record_send(k->tls, k->out.d + k->out.off, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				k->send_pending = 1;
				want_out(k, 1);
				return;
			}
			k->send_pending = 0;
			if (n < 0) {
				conn_dead(k, gnutls_strerror((int)n));
				return;
			}
		} else {
			n = send(k->fd, k->out.d + k->out.off, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				want_out(k, 1);
				return;
			}
			if (n < 0) {
				conn_dead(k, strerror(errno));
				return;
			}
		}
		k->out.off += (size_t)n;
	}
	want_out(k, 0);
}

static void conn_printf(struct conn *k, const char *fmt, ...)
{
	char m[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(m))
		buf_add(&k->out, m, (size_t)n);
}

static const char *transport_name(void)
{
	return g.tls ? "TLS" : "TCP";
}

static void call_start(long i)
{
	struct call *c = &g.calls[i];
	struct conn *k = &g.conns[i % g.nconn];
	const char *tp = g.tls ? "tls" : "tcp";
	char sdp[512];
	int sl;

	c->conn = (uint16_t)(i % g.nconn);
	if (k->state != C_UP) {
		call_end(i, 0);
		return;
	}
	sl = snprintf(sdp, sizeof(sdp),
		      "v=0\r\no=caller 53655765 2353687637 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
		      "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", g.bind_ip, g.bind_ip);
	conn_printf(k,
		    "INVITE sip:bench@%s:%d;transport=%s SIP/2.0\r\n"
		    "Via: SIP/2.0/%s %s;branch=z9hG4bK-%ld-%d-1;rport\r\n"
		    "Max-Forwards: 70\r\n"
		    "From: <sip:caller@%s>;tag=%dC%ld\r\n"
		    "To: <sip:bench@%s>\r\n"
		    "Call-ID: %ld-%d@siptls\r\n"
		    "CSeq: 1 INVITE\r\n"
		    "Contact: <sip:caller@%s;transport=%s>\r\n"
		    "Subject: sigproxy bench call\r\n"
		    "User-Agent: sigproxy-bench-siptls\r\n"
		    "Content-Type: application/sdp\r\n"
		    "Content-Length: %d\r\n\r\n%s",
		    g.host, g.port, tp, transport_name(), k->local, i, getpid(), g.host, getpid(), i,
		    g.host, i, getpid(), k->local, tp, sl, sdp);
	c->state = K_INVITED;
	c->t_invite = now_s();
	c->deadline = c->t_invite + g.timeout_ms / 1e3;
	g.open++;
	k->calls_open++;
	conn_flush(k);
}

/* header NAME (or its compact form) in the message's head: the nth value
 * (0: the first), copied into out; 0 when absent */
static int header(const char *m, size_t hl, const char *name, const char *compact, int nth,
		  char *out, size_t outsz)
{
	const char *p = m, *end = m + hl, *e, *v;
	size_t nl = strlen(name), cl = compact ? strlen(compact) : 0;

	while (p < end && (e = memmem(p, (size_t)(end - p), "\r\n", 2))) {
		const char *line = e + 2;

		p = line;
		if (line >= end)
			break;
		if (!strncasecmp(line, name, nl) && (line[nl] == ':' || line[nl] == ' '))
			v = line + nl;
		else if (compact && !strncasecmp(line, compact, cl) && (line[cl] == ':' || line[cl] == ' '))
			v = line + cl;
		else
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ':')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (nth-- > 0)
			continue;
		e = memmem(v, (size_t)(end - v), "\r\n", 2);
		if (!e)
			e = end;
		if ((size_t)(e - v) >= outsz)
			return 0;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = 0;
		return 1;
	}
	return 0;
}

/* the Route headers for the ACK and BYE: every Record-Route entry of the
 * 200, in reverse order (RFC 3261 §12.1.2) */
static void route_set(const char *m, size_t hl, char *out, size_t outsz)
{
	char all[4096] = "", one[2048];
	const char *ent[32];
	size_t el[32];
	int n = 0, i, depth = 0;
	char *p, *s;

	for (i = 0; header(m, hl, "Record-Route", NULL, i, one, sizeof(one)); i++) {
		if (strlen(all) + strlen(one) + 2 >= sizeof(all))
			break;
		if (all[0])
			strcat(all, ",");
		strcat(all, one);
	}
	out[0] = 0;
	/* split at commas outside <...> */
	for (s = p = all; n < 32; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>')
			depth--;
		else if ((*p == ',' && !depth) || !*p) {
			while (*s == ' ')
				s++;
			if (p > s) {
				ent[n] = s;
				el[n++] = (size_t)(p - s);
			}
			s = p + 1;
		}
		if (!*p)
			break;
	}
	for (i = n - 1; i >= 0; i--) {
		size_t l = strlen(out);

		if (l + el[i] + 12 >= outsz)
			break;
		snprintf(out + l, outsz - l, "Route: %.*s\r\n", (int)el[i], ent[i]);
	}
}

/* ACK (and for a 2xx the BYE too) after the INVITE's final response */
static void call_ack(long i, const char *m, size_t hl, int code)
{
	struct call *c = &g.calls[i];
	struct conn *k = &g.conns[c->conn];
	char to[1024], contact[1024], ruri[1024], routes[4096] = "", *a, *b;

	if (!header(m, hl, "To", "t", 0, to, sizeof(to)))
		snprintf(to, sizeof(to), "<sip:bench@%s>", g.host);
	snprintf(ruri, sizeof(ruri), "sip:bench@%s:%d;transport=%s", g.host, g.port, g.tls ? "tls" : "tcp");
	if (code < 300) {
		if (header(m, hl, "Contact", "m", 0, contact, sizeof(contact)) &&
		    (a = strchr(contact, '<')) && (b = strchr(a, '>'))) {
			*b = 0;
			snprintf(ruri, sizeof(ruri), "%s", a + 1);
		}
		route_set(m, hl, routes, sizeof(routes));
	}
	/* a 2xx's ACK is a transaction of its own; a failure's, the INVITE's */
	conn_printf(k,
		    "ACK %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%ld-%d-%d;rport\r\n"
		    "Max-Forwards: 70\r\n%sFrom: <sip:caller@%s>;tag=%dC%ld\r\nTo: %s\r\n"
		    "Call-ID: %ld-%d@siptls\r\nCSeq: 1 ACK\r\nContact: <sip:caller@%s>\r\n"
		    "Content-Length: 0\r\n\r\n",
		    ruri, transport_name(), k->local, i, getpid(), code < 300 ? 2 : 1, routes, g.host,
		    getpid(), i, to, i, getpid(), k->local);
	if (code < 300)
		conn_printf(k,
			    "BYE %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%ld-%d-3;rport\r\n"
			    "Max-Forwards: 70\r\n%sFrom: <sip:caller@%s>;tag=%dC%ld\r\nTo: %s\r\n"
			    "Call-ID: %ld-%d@siptls\r\nCSeq: 2 BYE\r\nContact: <sip:caller@%s>\r\n"
			    "Content-Length: 0\r\n\r\n",
			    ruri, transport_name(), k->local, i, getpid(), routes, g.host, getpid(), i,
			    to, i, getpid(), k->local);
	conn_flush(k);
}

/* one whole message from the server */
static void on_message(const char *m, size_t hl)
{
	char v[256], method[32];
	long i;
	int code, pid;
	struct call *c;

	if (strncmp(m, "SIP/2.0 ", 8))
		return;		/* a request: none is expected in this scenario */
	code = atoi(m + 8);
	if (!header(m, hl, "Call-ID", "i", 0, v, sizeof(v)) || sscanf(v, "%ld-%d@", &i, &pid) != 2 ||
	    pid != getpid() || i < 0 || i >= g.ncalls)
		return;
	if (!header(m, hl, "CSeq", NULL, 0, v, sizeof(v)) || sscanf(v, "%*d %31s", method) != 1)
		return;
	c = &g.calls[i];
	if (code < 200) {
		if (c->state == K_INVITED)
			c->deadline = now_s() + g.timeout_ms / 1e3;
		return;
	}
	if (!strcmp(method, "INVITE") && c->state == K_INVITED) {
		if (code < 300) {
			double t = now_s();

			c->rtt_ms = (t - c->t_invite) * 1e3;
			c->state = K_BYE;
			c->deadline = t + g.timeout_ms / 1e3;
			call_ack(i, m, hl, code);
		} else {
			call_ack(i, m, hl, code);
			call_end(i, 0);
		}
	} else if (!strcmp(method, "BYE") && c->state == K_BYE) {
		call_end(i, code < 300);
	}
}

/* frames the input by Content-Length (RFC 3261 §18.3) */
static void conn_parse(struct conn *k)
{
	struct buf *b = &k->in;

	for (;;) {
		char *s = b->d + b->off, *e, cl[32];
		size_t avail = b->len - b->off, hl, body = 0;

		while (avail && (*s == '\r' || *s == '\n')) {	/* keep-alives */
			s++;
			avail--;
			b->off++;
		}
		if (!avail || !(e = memmem(s, avail, "\r\n\r\n", 4)))
			return;
		hl = (size_t)(e - s) + 2;
		if (header(s, hl, "Content-Length", "l", 0, cl, sizeof(cl)))
			body = strtoul(cl, NULL, 10);
		if (avail < hl + 2 + body)
			return;
		on_message(s, hl);
		b->off += hl + 2 + body;
	}
}

static void conn_read(struct conn *k)
{
	char tmp[65536];
	ssize_t n;

	for (;;) {
		if (k->tls)
			n = gnutls_record_recv(k->tls, tmp, sizeof(tmp));
		else
			n = recv(k->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			buf_add(&k->in, tmp, (size_t)n);
			continue;
		}
		if (k->tls ? (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			   : (n < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		conn_parse(k);
		conn_dead(k, n == 0 ? "closed by the server"
				    : k->tls ? gnutls_strerror((int)n) : strerror(errno));
		return;
	}
	conn_parse(k);
}

static void conn_handshake(struct conn *k)
{
	int r = gnutls_handshake(k->tls);
	struct epoll_event ev = { .data.ptr = k };

	if (r == GNUTLS_E_SUCCESS) {
		k->state = C_UP;
		want_out(k, 0);
		return;
	}
	if (gnutls_error_is_fatal(r)) {
		conn_dead(k, gnutls_strerror(r));
		return;
	}
	ev.events = gnutls_record_get_direction(k->tls) ? EPOLLOUT : EPOLLIN;
	epoll_ctl(g.ep, EPOLL_CTL_MOD, k->fd, &ev);
}

static void conn_event(struct conn *k, uint32_t events)
{
	if (k->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		struct sockaddr_in a;
		socklen_t al = sizeof(a);

		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			conn_dead(k, strerror(err));
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		getsockname(k->fd, (struct sockaddr *)&a, &al);
		snprintf(k->local, sizeof(k->local), "%s:%u", g.bind_ip, ntohs(a.sin_port));
		k->state = g.tls ? C_HANDSHAKE : C_UP;
		if (!g.tls) {
			want_out(k, 0);
			return;
		}
	}
	if (k->state == C_HANDSHAKE) {
		conn_handshake(k);
		return;
	}
	if (k->state != C_UP)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(k);
	if (k->state == C_UP && (events & EPOLLOUT))
		conn_flush(k);
}

static int conn_open(struct conn *k)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = k };
	int one = 1;

	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (k->fd < 0)
		return -1;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (inet_pton(AF_INET, g.bind_ip, &src.sin_addr) != 1 || inet_pton(AF_INET, g.host, &dst.sin_addr) != 1)
		return -1;
	dst.sin_port = htons((uint16_t)g.port);
	if (bind(k->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		return -1;
	if (connect(k->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)
		return -1;
	k->state = C_CONNECTING;
	if (g.tls) {
		if (gnutls_init(&k->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
		    gnutls_priority_set_direct(k->tls, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL) < 0 ||
		    gnutls_credentials_set(k->tls, GNUTLS_CRD_CERTIFICATE, g.cred) < 0)
			return -1;
		gnutls_transport_set_int(k->tls, k->fd);
	}
	return epoll_ctl(g.ep, EPOLL_CTL_ADD, k->fd, &ev);
}

/* one epoll round: waits at most ms, handles what is ready */
static void poll_once(int ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(g.ep, ev, 64, ms), i;

	for (i = 0; i < n; i++)
		conn_event(ev[i].data.ptr, ev[i].events);
}

/* every connection up or dead, opened at conn_rate a second (0: at once),
 * within 10 s of the last one's opening; the number up */
static int connect_all(void)
{
	double t0 = now_s(), end = t0 + 10 + (g.conn_rate > 0 ? g.nconn / g.conn_rate : 0);
	int i, up, pending, opened = 0;

	do {
		for (; opened < g.nconn && (g.conn_rate <= 0 || t0 + opened / g.conn_rate <= now_s()); opened++)
			if (conn_open(&g.conns[opened]) < 0) {
				fprintf(stderr, "siptls: connection %d: %s\n", opened, strerror(errno));
				g.conns[opened].state = C_DEAD;
			}
		for (i = pending = up = 0; i < opened; i++) {
			pending += g.conns[i].state == C_CONNECTING || g.conns[i].state == C_HANDSHAKE;
			up += g.conns[i].state == C_UP;
		}
		if (pending || opened < g.nconn)
			poll_once(pending ? 10 : 1);
	} while ((pending || opened < g.nconn) && now_s() < end);
	for (i = 0; i < g.nconn; i++)
		if (g.conns[i].state != C_UP && g.conns[i].state != C_DEAD)
			conn_dead(&g.conns[i], "no connection within 10 s");
	return up;
}

static void expire(double t, long *oldest)
{
	long i;

	while (*oldest < g.ncalls && g.calls[*oldest].state >= K_DONE)
		(*oldest)++;
	for (i = *oldest; i < g.ncalls && g.calls[i].state != K_IDLE; i++)
		if ((g.calls[i].state == K_INVITED || g.calls[i].state == K_BYE) && g.calls[i].deadline < t)
			call_end(i, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(int up)
{
	double *v = malloc(sizeof(double) * (size_t)(g.ok ? g.ok : 1)), p50 = -1, p99 = -1;
	long i, n = 0;
	FILE *f = g.rtt_file ? fopen(g.rtt_file, "w") : NULL;

	if (g.rtt_file && !f)
		perror(g.rtt_file);
	if (f)
		fprintf(f, "call_id;response_ms\n");
	for (i = 0; i < g.ncalls; i++)
		if (g.calls[i].state == K_DONE) {
			v[n++] = g.calls[i].rtt_ms;
			if (f)
				fprintf(f, "%ld-%d@siptls;%.3f\n", i, getpid(), g.calls[i].rtt_ms);
		}
	if (f)
		fclose(f);
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	if (n) {	/* nearest rank, as bench/report.py */
		p50 = v[(long)((n * 50 + 99) / 100) - 1];
		p99 = v[(long)((n * 99 + 99) / 100) - 1];
	}
	printf("calls %ld successful %ld failed %ld connections %d p50_ms %.3f p99_ms %.3f\n", g.ncalls, g.ok,
	       g.failed, up, p50, p99);
	free(v);
}

static int usage(void)
{
	fprintf(stderr, "usage: siptls [-t tls|tcp] [-c CONNS] [-C CONNS/S] [-r RATE] [-m CALLS] [-b LOCAL-IP] "
			"[-w TIMEOUT-MS] [-o RTT.csv] [-H SECONDS] HOST PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	int o, up;
	long next = 0, oldest = 0;
	double t0, t, last_expire = 0;

	/* GnuTLS writes with send(2) without MSG_NOSIGNAL: a connection the
	 * server reset must fail its calls, not kill the generator */
	signal(SIGPIPE, SIG_IGN);
		g.bind_ip = "0.0.0.0";
	while ((o = getopt(argc, argv, "t:c:C:r:m:b:w:o:H:")) != -1) {
		switch (o) {
		case 't': g.tls = !strcmp(optarg, "tls"); if (!g.tls && strcmp(optarg, "tcp")) return usage(); break;
		case 'c': g.nconn = atoi(optarg); break;
		case 'C': g.conn_rate = atof(optarg); break;
		case 'r': g.rate = atof(optarg); break;
		case 'm': g.ncalls = atol(optarg); break;
		case 'b': g.bind_ip = optarg; break;
		case 'w': g.timeout_ms = atoi(optarg); break;
		case 'o': g.rtt_file = optarg; break;
		case 'H': g.hold_s = atoi(optarg); break;
		default: return usage();
		}
	}
	if (argc - optind != 2 || g.nconn < 1 || g.nconn > 65535 || g.rate <= 0 || g.ncalls < 0)
		return usage();
	g.host = argv[optind];
	g.port = atoi(argv[optind + 1]);
	g.conns = calloc((size_t)g.nconn, sizeof(*g.conns));
	g.calls = calloc((size_t)(g.ncalls ? g.ncalls : 1), sizeof(*g.calls));
	g.ep = epoll_create1(0);
	if (!g.conns || !g.calls || g.ep < 0)
		return 2;
	if (g.tls && (gnutls_global_init() < 0 || gnutls_certificate_allocate_credentials(&g.cred) < 0))
		return 2;
	up = connect_all();
	if (g.hold_s) {
		printf("established %d\n", up);
		fflush(stdout);
		for (t = now_s() + g.hold_s; now_s() < t;)
			poll_once(200);
	}
	t0 = now_s();
	while (next < g.ncalls || g.open) {
		t = now_s();
		while (next < g.ncalls && t0 + next / g.rate <= t)
			call_start(next++);
		if (t - last_expire > 0.1) {
			expire(t, &oldest);
			last_expire = t;
		}
		o = next < g.ncalls ? (int)((t0 + next / g.rate - t) * 1e3) : 100;
		poll_once(o < 0 ? 0 : o > 100 ? 100 : o);
	}
	report(up);
	return g.ok == g.ncalls && !g.failed ? 0 : 1;
}
