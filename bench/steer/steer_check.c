/*
 * steer_check MODE N SECONDS [BPF-OBJECT]: N UDP listeners on 0.0.0.0:5060
 * (IP_TRANSPARENT, SO_REUSEPORT, as sigproxyd's listener), steered by MODE:
 *   none      the kernel's choice (a hash of the 4-tuple);
 *   cbpf      SO_ATTACH_REUSEPORT_CBPF: source port % N;
 *   sklookup  an sk_lookup program (BPF-OBJECT, steer.bpf.c) attached to the
 *             namespace: source port % N.
 * Prints "steered K of M" (datagrams that landed on listener source-port % N)
 * after SECONDS of receiving. Built and run by bench/steer/run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

static int attach_cbpf(int fd, unsigned n)
{
	/* the data starts at the UDP payload: the headers are at SKF_NET_OFF */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, (uint32_t)SKF_NET_OFF),	/* X = IP header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, (uint32_t)SKF_NET_OFF),	/* A = UDP source port */
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

static int attach_sklookup(const char *path, const int *fds, unsigned n)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *rodata;
	int mfd, ns;

	if (!obj)
		return -1;
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	if (!rodata || bpf_map__set_initial_value(rodata, &n, sizeof(n)) || bpf_object__load(obj))
		return -1;
	mfd = bpf_object__find_map_fd_by_name(obj, "workers");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = (uint64_t)fds[i];

		if (bpf_map_update_elem(mfd, &i, &v, BPF_ANY))
			return -1;
	}
	ns = open("/proc/self/ns/net", O_RDONLY);
	return bpf_program__attach_netns(bpf_object__find_program_by_name(obj, "steer"), ns) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5060) };
	struct pollfd pfd[16];
	unsigned n, total = 0, steered = 0;
	int one = 1;
	time_t end;

	if (argc < 4 || (n = (unsigned)atoi(argv[2])) < 1 || n > 16) {
		fprintf(stderr, "usage: steer_check none|cbpf|sklookup N SECONDS [BPF-OBJECT]\n");
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		pfd[i].events = POLLIN;
		setsockopt(pfd[i].fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
		setsockopt(pfd[i].fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (bind(pfd[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("bind");
			return 1;
		}
	}
	if (strcmp(argv[1], "cbpf") == 0 && attach_cbpf(pfd[0].fd, n) < 0) {
		perror("SO_ATTACH_REUSEPORT_CBPF");
		return 1;
	}
	if (strcmp(argv[1], "sklookup") == 0) {
		int fds[16];

		for (unsigned i = 0; i < n; i++)
			fds[i] = pfd[i].fd;
		if (argc < 5 || attach_sklookup(argv[4], fds, n) < 0) {
			fprintf(stderr, "sk_lookup program not attached\n");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	end = time(NULL) + atoi(argv[3]);
	while (time(NULL) < end) {
		if (poll(pfd, n, 200) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++) {
			struct sockaddr_in s;
			socklen_t sl = sizeof(s);
			char b[64];

			if (!(pfd[i].revents & POLLIN) ||
			    recvfrom(pfd[i].fd, b, sizeof(b), 0, (struct sockaddr *)&s, &sl) < 0)
				continue;
			total++;
			steered += ntohs(s.sin_port) % n == i;
		}
	}
	printf("steered %u of %u\n", steered, total);
	return 0;
}
