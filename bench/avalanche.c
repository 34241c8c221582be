/*
 * avalanche: a registration avalanche (issue 21 item 4), both ends.
 *
 *   avalanche register FIRST-IP ADDRS PORT0 N DST-IP DST-PORT DEADLINE-S [ID0 READY-FILE LAT-FILE]
 *       IPv4 or IPv6 (FIRST-IP and DST-IP of one family). N terminals, terminal i on FIRST-IP + i / per-address, port
 *       PORT0 + i % per-address (per-address = ceil(N / ADDRS); the
 *       addresses must be configured), one UDP socket each, all send a
 *       REGISTER to DST-IP:DST-PORT at once (as fast as the sockets take
 *       them, no pacing), then retransmit what is unanswered as a SIP UAC
 *       does over UDP (timer E: 500 ms doubling to 4 s) until every
 *       terminal has its 200 or DEADLINE-S passed (timer F is 32 s).
 *       Prints one "key value" per line: terminals, registered, refused
 *       (final responses other than 200, e.g. 503), unanswered, sent,
 *       retransmissions, first_pass_s (all first REGISTERs handed to the
 *       kernel), all_registered_s (-1: not all), p50_ms, p99_ms (REGISTER
 *       to 200 of each terminal, from its first send), cpu_s (own),
 *       start_real_ns and last_real_ns (wall clock of the start and of the
 *       last 200, so several senders' figures add up). With ID0 READY-FILE
 *       LAT-FILE (several senders, each under the open-file limit): the
 *       terminals are numbered from ID0 (users and Call-IDs apart), READY-FILE
 *       is created once every socket is bound and the first REGISTER waits
 *       for SIGUSR1; each 200's latency (ms) goes to LAT-FILE.
 *   avalanche respond IP PORT
 *       A minimal registrar: answers every REGISTER with 200 OK (Via, From,
 *       To with a tag, Call-ID, CSeq and Contact copied, Expires 3600),
 *       recvmmsg/sendmmsg batches, until killed. Stores nothing: it is not
 *       the bottleneck (Kamailio's registrar would be, on 2 cores).
 *
 * Plain C, no dependency: bench/avalanche builds it with cc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSGMAX 2048
#define BATCH 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct term {
	int fd;
	struct sockaddr_storage addr;
	uint64_t first_ns, next_ns, done_ns;
	unsigned interval_ms;
	int status; /* 0: waiting; 200; other: refused */
};

union sa {
	struct sockaddr_storage ss;
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* IP (IPv4 or IPv6) and port in *a; its length, 0 when IP is no address */
static socklen_t sa_of(const char *ip, unsigned port, union sa *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		return sizeof(a->in);
	}
	if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		return sizeof(a->in6);
	}
	return 0;
}

static socklen_t sa_len(const union sa *a)
{
	return a->ss.ss_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* host[:port] as SIP writes it: an IPv6 address in brackets */
static void sa_host(const union sa *a, char *out, size_t max)
{
	char b[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, b, sizeof(b));
		snprintf(out, max, "[%s]", b);
	} else {
		inet_ntop(AF_INET, &a->in.sin_addr, out, (socklen_t)max);
	}
}

static unsigned sa_port(const union sa *a)
{
	return ntohs(a->ss.ss_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/* first + k: the last 32 bits of an IPv6 address, the IPv4 address */
static void sa_add(union sa *a, uint32_t k)
{
	if (a->ss.ss_family == AF_INET6) {
		uint32_t w;

		memcpy(&w, &a->in6.sin6_addr.s6_addr[12], 4);
		w = htonl(ntohl(w) + k);
		memcpy(&a->in6.sin6_addr.s6_addr[12], &w, 4);
	} else {
		a->in.sin_addr.s_addr = htonl(ntohl(a->in.sin_addr.s_addr) + k);
	}
}

static int build_register(char *buf, size_t max, const struct term *t, unsigned i, const union sa *dst)
{
	char a[INET6_ADDRSTRLEN + 2], d[INET6_ADDRSTRLEN + 2];
	unsigned p = sa_port((const union sa *)&t->addr), dport = sa_port(dst);

	sa_host((const union sa *)&t->addr, a, sizeof(a));
	sa_host(dst, d, sizeof(d));
	return snprintf(buf, max,
			"REGISTER sip:%s:%u SIP/2.0\r\n"
			"Via: SIP/2.0/UDP %s:%u;branch=z9hG4bKav%u\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:t%u@%s>;tag=av%u\r\n"
			"To: <sip:t%u@%s>\r\n"
			"Call-ID: av%u@%s\r\n"
			"CSeq: 1 REGISTER\r\n"
			"Contact: <sip:t%u@%s:%u>\r\n"
			"Expires: 3600\r\n"
			"User-Agent: avalanche\r\n"
			"Content-Length: 0\r\n\r\n",
			d, dport, a, p, i, i, d, i, i, d, i, a, i, a, p);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void send_one(struct term *t, unsigned i, const union sa *dst, uint64_t *sent, uint64_t *errors)
{
	char buf[MSGMAX];
	int n = build_register(buf, sizeof(buf), t, i, dst);

	if (sendto(t->fd, buf, (size_t)n, MSG_DONTWAIT, &dst->sa, sa_len(dst)) < 0)
		(*errors)++;
	else
		(*sent)++;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* N sockets bound, one per terminal; then READY-FILE is created and the
 * process waits for SIGUSR1, so that several senders start together. */
static int open_terms(struct term *t, unsigned n, const union sa *first, unsigned per, unsigned port0, int ep)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		union sa a = *first;

		sa_add(&a, i / per);
		if (a.ss.ss_family == AF_INET6)
			a.in6.sin6_port = htons((uint16_t)(port0 + i % per));
		else
			a.in.sin_port = htons((uint16_t)(port0 + i % per));
		memcpy(&t[i].addr, &a.ss, sizeof(a.ss));
		t[i].fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (t[i].fd < 0 || bind(t[i].fd, &a.sa, sa_len(&a)) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, t[i].fd, &ev) < 0) {
			fprintf(stderr, "avalanche: terminal %u: %s (open-file limit %llu)\n", i, strerror(errno),
				(unsigned long long)rl.rlim_cur);
			return -1;
		}
	}
	return 0;
}

static void wait_start(const char *ready)
{
	sigset_t set;
	int sig;
	FILE *f;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (!ready)
		return;
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	sigwait(&set, &sig);
}

static int do_register(int argc, char **argv)
{
	union sa first, dst;
	unsigned addrs, port0, n, per, deadline_s, id0 = 0, registered = 0, refused = 0, waiting;
	uint64_t sent = 0, errors = 0, retrans = 0, start, start_real, first_pass = 0, last_done = 0, *lat;
	const char *ready = NULL, *latfile = NULL;
	struct term *t;
	struct rusage ru;
	sigset_t set;
	int ep;

	if ((argc != 9 && argc != 12) || !sa_of(argv[2], 0, &first) || !sa_of(argv[6], (unsigned)atoi(argv[7]), &dst) ||
	    first.ss.ss_family != dst.ss.ss_family) {
		fprintf(stderr, "usage: avalanche register FIRST-IP ADDRS PORT0 N DST-IP DST-PORT DEADLINE-S "
				"[ID0 READY-FILE LATENCY-FILE]\n");
		return 2;
	}
	addrs = (unsigned)atoi(argv[3]);
	port0 = (unsigned)atoi(argv[4]);
	n = (unsigned)atoi(argv[5]);
	deadline_s = (unsigned)atoi(argv[8]);
	if (argc == 12) {
		id0 = (unsigned)atoi(argv[9]);
		ready = argv[10];
		latfile = argv[11];
	}
	per = addrs ? (n + addrs - 1) / addrs : 0;
	if (!addrs || !n || port0 + per > 65536) {
		fprintf(stderr, "avalanche: %u terminals on %u addresses do not fit from port %u\n", n, addrs, port0);
		return 2;
	}
	/* SIGUSR1 blocked before the sockets: a start signal is never lost */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	t = calloc(n, sizeof(*t));
	lat = calloc(n, sizeof(*lat));
	ep = epoll_create1(0);
	if (!t || !lat || ep < 0 || open_terms(t, n, &first, per, port0, ep) < 0)
		return 1;
	wait_start(ready);
	start = now_ns();
	start_real = real_ns();
	for (unsigned i = 0; i < n; i++) {
		t[i].first_ns = now_ns();
		t[i].interval_ms = 500;
		t[i].next_ns = t[i].first_ns + 500000000ull;
		send_one(&t[i], id0 + i, &dst, &sent, &errors);
	}
	first_pass = now_ns() - start;
	waiting = n;
	while (waiting && now_ns() - start < (uint64_t)deadline_s * 1000000000ull) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 20);
		uint64_t now;

		for (int j = 0; j < k; j++) {
			struct term *x = &t[evs[j].data.u32];
			char buf[MSGMAX];
			ssize_t r;

			while ((r = recv(x->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
				int code;

				buf[r] = '\0';
				if (x->status || sscanf(buf, "SIP/2.0 %d", &code) != 1 || code < 200)
					continue;
				x->status = code;
				x->done_ns = now_ns();
				waiting--;
				if (code == 200) {
					lat[registered++] = x->done_ns - x->first_ns;
					last_done = x->done_ns;
				} else {
					refused++;
				}
			}
		}
		now = now_ns();
		for (unsigned i = 0; i < n; i++) {
			if (t[i].status || now < t[i].next_ns)
				continue;
			send_one(&t[i], id0 + i, &dst, &sent, &errors);
			retrans++;
			if (t[i].interval_ms < 4000)
				t[i].interval_ms *= 2;
			t[i].next_ns = now + (uint64_t)t[i].interval_ms * 1000000ull;
		}
	}
	if (latfile) {
		FILE *f = fopen(latfile, "w");

		for (unsigned i = 0; f && i < registered; i++)
			fprintf(f, "%.3f\n", lat[i] / 1e6);
		if (f)
			fclose(f);
	}
	qsort(lat, registered, sizeof(*lat), cmp_u64);
	getrusage(RUSAGE_SELF, &ru);
	printf("terminals %u\nregistered %u\nrefused %u\nunanswered %u\nsent %llu\nsend_errors %llu\n"
	       "retransmissions %llu\nfirst_pass_s %.3f\nall_registered_s %.3f\n",
	       n, registered, refused, waiting, (unsigned long long)sent, (unsigned long long)errors,
	       (unsigned long long)retrans, first_pass / 1e9,
	       registered == n ? (last_done - start) / 1e9 : -1.0);
	printf("start_real_ns %llu\nlast_real_ns %llu\n", (unsigned long long)start_real,
	       (unsigned long long)(start_real + (last_done ? last_done - start : 0)));
	printf("p50_ms %.1f\np99_ms %.1f\ncpu_s %.2f\n",
	       registered ? lat[registered / 2] / 1e6 : -1.0,
	       registered ? lat[(size_t)(registered * 0.99)] / 1e6 : -1.0,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

/* The header line of buf starting with name (case-insensitive, at a line
 * start), with its CRLF; length in *len. */
static const char *header(const char *buf, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(buf, "\r\n"); p && p[2] && !(p[2] == '\r' && p[3] == '\n');
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0) {
			const char *e = strstr(p + 2, "\r\n");

			*len = e ? (size_t)(e + 2 - (p + 2)) : strlen(p + 2);
			return p + 2;
		}
	}
	return NULL;
}

static size_t build_ok(const char *req, char *out, size_t max)
{
	static const char *copy[] = { "Via:", "From:", "Call-ID:", "CSeq:", "Contact:" };
	size_t o = (size_t)snprintf(out, max, "SIP/2.0 200 OK\r\n"), len;
	const char *h;

	for (unsigned i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
		if ((h = header(req, copy[i], &len)) && o + len < max) {
			memcpy(out + o, h, len);
			o += len;
		}
	}
	if ((h = header(req, "To:", &len)) && o + len + 16 < max) {
		memcpy(out + o, h, len - 2);
		o += len - 2;
		o += (size_t)snprintf(out + o, max - o, ";tag=reg\r\n");
	}
	o += (size_t)snprintf(out + o, max - o, "Expires: 3600\r\nContent-Length: 0\r\n\r\n");
	return o;
}

static int do_respond(int argc, char **argv)
{
	static char in[BATCH][MSGMAX], out[BATCH][MSGMAX];
	union sa me, from[BATCH];
	struct mmsghdr rm[BATCH], sm[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	int fd, big = 8 << 20;

	if (argc != 4 || !sa_of(argv[2], (unsigned)atoi(argv[3]), &me)) {
		fprintf(stderr, "usage: avalanche respond IP PORT\n");
		return 2;
	}
	fd = socket(me.ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, &me.sa, sa_len(&me)) < 0) {
		perror("avalanche respond");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	for (;;) {
		int got, k = 0;

		memset(rm, 0, sizeof(rm));
		for (int i = 0; i < BATCH; i++) {
			riov[i].iov_base = in[i];
			riov[i].iov_len = MSGMAX - 1;
			rm[i].msg_hdr.msg_iov = &riov[i];
			rm[i].msg_hdr.msg_iovlen = 1;
			rm[i].msg_hdr.msg_name = &from[i];
			rm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		got = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("recvmmsg");
			return 1;
		}
		memset(sm, 0, sizeof(sm));
		for (int i = 0; i < got; i++) {
			in[i][rm[i].msg_len] = '\0';
			if (strncmp(in[i], "REGISTER ", 9) != 0)
				continue;
			siov[k].iov_base = out[k];
			siov[k].iov_len = build_ok(in[i], out[k], MSGMAX);
			sm[k].msg_hdr.msg_iov = &siov[k];
			sm[k].msg_hdr.msg_iovlen = 1;
			sm[k].msg_hdr.msg_name = &from[i];
			sm[k].msg_hdr.msg_namelen = rm[i].msg_hdr.msg_namelen;
			k++;
		}
		for (int s = 0; s < k;) {
			int r = sendmmsg(fd, sm + s, (unsigned)(k - s), 0);

			s += r > 0 ? r : 1;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "register") == 0)
		return do_register(argc, argv);
	if (argc > 1 && strcmp(argv[1], "respond") == 0)
		return do_respond(argc, argv);
	fprintf(stderr, "usage: avalanche register ... | avalanche respond IP PORT\n");
	return 2;
}
