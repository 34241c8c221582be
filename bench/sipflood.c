/*
 * sipflood: a SIP flood from one source address, for bench/flood and
 * tests/integration/test_limits.sh (issue 15: one source must not take the
 * proxy down).
 *
 *   sipflood SRC-IP DST-IP DST-PORT PPS SECONDS [PORTS [METHOD]]
 *       sends SIP requests (METHOD, default OPTIONS; REGISTER makes each
 *       one ask for a binding) from SRC-IP to DST-IP:DST-PORT for SECONDS
 *       at PPS datagrams/s (0: as fast as it can), each with its own
 *       Call-ID and branch, from PORTS source ports in turn (default 1;
 *       many ports look like many terminals behind one address), in
 *       sendmmsg batches paced by the clock; answers are not read. Prints
 *       "sent N seconds T errors E rate R cpu C" (R: datagrams/s, C: its
 *       user+system CPU seconds).
 *
 * Plain C, no dependency: bench/flood and the test build it with cc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MSGMAX 1024
#define PORTS_MAX 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char bufs[BATCH][MSGMAX];
	static int fds[PORTS_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	const char *method = argc > 7 ? argv[7] : "OPTIONS";
	uint64_t pps, seconds, sent = 0, errors = 0, start, end, seq = 0;
	unsigned n_ports = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : 1, cur = 0;
	int big = 4 << 20;
	struct rusage ru;
	double elapsed;

	if (argc < 6 || !n_ports || n_ports > PORTS_MAX ||
	    inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: sipflood SRC-IP DST-IP DST-PORT PPS SECONDS [PORTS [METHOD]]\n");
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	pps = strtoull(argv[4], NULL, 10);
	seconds = strtoull(argv[5], NULL, 10);
	for (unsigned i = 0; i < n_ports; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&src, sizeof(src)) < 0) {
			fprintf(stderr, "sipflood: socket %u on %s: %s\n", i, argv[1], strerror(errno));
			return 2;
		}
		if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
			setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	start = now_ns();
	end = start + seconds * 1000000000u;
	for (;;) {
		uint64_t now = now_ns(), due;
		unsigned n = BATCH;
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		int r;

		if (now >= end)
			break;
		if (pps) {
			/* paced by the clock: what is due by now, at most a batch */
			due = (now - start) * pps / 1000000000u;
			if (due <= sent) {
				struct timespec ts = { 0, 200000 };

				nanosleep(&ts, NULL);
				continue;
			}
			if (due - sent < n)
				n = (unsigned)(due - sent);
		}
		getsockname(fds[cur], (struct sockaddr *)&me, &ml);
		for (unsigned i = 0; i < n; i++) {
			int len = snprintf(bufs[i], MSGMAX,
				"%s sip:flood@%s SIP/2.0\r\n"
				"Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-fl%llu;rport\r\n"
				"Max-Forwards: 70\r\n"
				"From: <sip:flood%llu@%s>;tag=fl%llu\r\n"
				"To: <sip:flood%llu@%s>\r\n"
				"Call-ID: flood-%llu@%s\r\n"
				"CSeq: 1 %s\r\n"
				"Contact: <sip:flood@%s:%u>\r\n"
				"Expires: 60\r\n"
				"User-Agent: sipflood\r\n"
				"Content-Length: 0\r\n\r\n",
				method, argv[2], argv[1], ntohs(me.sin_port),
				(unsigned long long)seq, (unsigned long long)seq, argv[2],
				(unsigned long long)seq, (unsigned long long)seq, argv[2],
				(unsigned long long)seq, argv[1], method, argv[1], ntohs(me.sin_port));

			seq++;
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = (size_t)len;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_name = &dst;
			msgs[i].msg_hdr.msg_namelen = sizeof(dst);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fds[cur], msgs, n, 0);
		if (r < 0) {
			errors += n;
			sent += n; /* paced as if sent: a full queue must not stall the clock */
		} else {
			sent += (unsigned)r;
			errors += n - (unsigned)r;
		}
		cur = (cur + 1) % n_ports;
	}
	elapsed = (double)(now_ns() - start) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("sent %llu seconds %.2f errors %llu rate %.0f cpu %.2f\n", (unsigned long long)sent,
	       elapsed, (unsigned long long)errors, (double)(sent - errors) / elapsed,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
