/*
 * rtpblast: an RTP-like UDP sender and a counting receiver for bench/rtp.
 *
 *   rtpblast send SRC-IP SRC-PORT DST-IP DST-PORT PPS SECONDS [SIZE]
 *       sends SIZE-byte datagrams (RTP header + payload, default 172: G.711
 *       20 ms) for SECONDS at PPS packets/s (0: as fast as it can), in
 *       sendmmsg batches paced by the clock; prints "sent N seconds T errors
 *       E cpu C" (C: its user+system CPU seconds). DST-PORT "@FILE": the
 *       ports listed in FILE (one a line, up to 65536), one datagram to each
 *       in turn: many streams, as a media relay sees many calls
 *   rtpblast recv IP PORT SECONDS
 *       counts datagrams until 0.5 s pass without one after the first (or
 *       SECONDS + 3 s without any); prints "received N"
 *
 * IP: IPv4 or IPv6 (bench/rtp-xfamily sends IPv4 that arrives as IPv6).
 * Plain C, no dependency: bench/run and bench/rtp build it with cc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXSIZE 1500

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ip (IPv4 or IPv6 text) and port into *a; its length, 0 when ip is bad */
static socklen_t sockaddr_of(const char *ip, int port, struct sockaddr_storage *a)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)a;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return sizeof(*a6);
	}
	return 0;
}

static int udp_socket(const char *ip, int port)
{
	struct sockaddr_storage a;
	socklen_t al = sockaddr_of(ip, port, &a);
	int fd = al ? socket(a.ss_family, SOCK_DGRAM, 0) : -1, big = 16 << 20;

	if (fd < 0) {
		fprintf(stderr, "rtpblast: bad address %s\n", ip);
		exit(2);
	}
	/* root in the bench: beyond rmem_max/wmem_max, so the socket buffer
	 * is not what limits the rate */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, al) < 0) {
		fprintf(stderr, "rtpblast: bind %s:%d: %s\n", ip, port, strerror(errno));
		exit(2);
	}
	return fd;
}

static int do_send(char **av)
{
	int fd = udp_socket(av[0], atoi(av[1]));
	static struct sockaddr_storage to[65536];
	size_t n_to = 0;
	socklen_t tl = 0;
	double pps = atof(av[4]), secs = atof(av[5]);
	size_t size = av[6] ? (size_t)atoi(av[6]) : 172;
	static unsigned char buf[BATCH][MAXSIZE];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	uint64_t start, end, sent = 0, errors = 0;
	uint16_t seq = 0;
	uint32_t ts = 0;

	if (av[3][0] == '@') {
		FILE *f = fopen(av[3] + 1, "r");
		int port;

		while (f && n_to < 65536 && fscanf(f, "%d", &port) == 1)
			if (!(tl = sockaddr_of(av[2], port, &to[n_to++])))
				break;
		if (f)
			fclose(f);
	} else {
		tl = sockaddr_of(av[2], atoi(av[3]), &to[n_to++]);
	}
	if (!tl || !n_to || size < 12 || size > MAXSIZE)
		return 2;
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < BATCH; i++) {
		buf[i][0] = 0x80; /* RTP version 2 */
		buf[i][1] = 0;    /* PCMU */
		buf[i][8] = 0x53; /* SSRC "SP.." */
		buf[i][9] = 0x50;
		iov[i].iov_base = buf[i];
		iov[i].iov_len = size;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_namelen = tl;
	}
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t t = now_ns();
		int n = BATCH, r;

		if (t >= end)
			break;
		if (pps > 0) {
			/* how many are due by now: the schedule, not the last send */
			uint64_t due = (uint64_t)((double)(t - start) * pps / 1e9) + 1;

			if (due <= sent) {
				struct timespec d = { 0, 20000 };

				nanosleep(&d, NULL);
				continue;
			}
			if (due - sent < (uint64_t)n)
				n = (int)(due - sent);
		}
		for (int i = 0; i < n; i++) {
			mm[i].msg_hdr.msg_name = &to[(sent + (uint64_t)i) % n_to];
			buf[i][2] = (unsigned char)(seq >> 8);
			buf[i][3] = (unsigned char)seq;
			buf[i][4] = (unsigned char)(ts >> 24);
			buf[i][5] = (unsigned char)(ts >> 16);
			buf[i][6] = (unsigned char)(ts >> 8);
			buf[i][7] = (unsigned char)ts;
			seq++;
			ts += 160;
		}
		r = sendmmsg(fd, mm, (unsigned)n, 0);
		if (r > 0)
			sent += (uint64_t)r;
		else
			errors++;
	}
	/* CPU of this process: on veth the forwarding (conntrack, NAT,
	 * routing) runs in its send calls' softirq and is charged here */
	struct rusage ru;
	double cpu;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	printf("sent %llu seconds %.3f errors %llu cpu %.3f\n", (unsigned long long)sent,
	       (double)(now_ns() - start) / 1e9, (unsigned long long)errors, cpu);
	return 0;
}

static int do_recv(char **av)
{
	int fd = udp_socket(av[0], atoi(av[1]));
	double secs = atof(av[2]);
	static unsigned char buf[BATCH][MAXSIZE];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	uint64_t got = 0, last = 0, giveup = now_ns() + (uint64_t)((secs + 3) * 1e9);

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = MAXSIZE;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	/* a line the script waits for before it starts the sender */
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ns();
		int r;

		if ((last && t >= last + 500000000u) || (!last && t >= giveup))
			break;
		if (poll(&p, 1, 50) <= 0)
			continue;
		r = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			continue;
		last = t;
		got += (uint64_t)r;
	}
	printf("received %llu\n", (unsigned long long)got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 8 && strcmp(argv[1], "send") == 0)
		return do_send(argv + 2);
	if (argc == 5 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv + 2);
	fprintf(stderr, "usage: rtpblast send SRC-IP SRC-PORT DST-IP DST-PORT PPS SECONDS [SIZE]\n"
			"       rtpblast recv IP PORT SECONDS\n");
	return 2;
}
