/*
 * Restart with N bindings (issue 14 item 4), without the port pool's limit
 * of 10 000 c per C: the daemon's own store code (daemon/sp_persist) and
 * table, driven directly.
 *
 *   1. A child process fills a table with N registered bindings (two C
 *      addresses, c from 1024-60999) and N/10 confirmed dialogs (every tenth
 *      with a media stream), marks them all, lets the store commit them (the
 *      daemon's writer thread, one LMDB transaction), then a burst of
 *      changes (re-registrations of N/10 bindings, one batch), and dies
 *      with _exit: a kill -9, nothing closed.
 *   2. The parent, a "restarted daemon": opens the store, restores into an
 *      empty table (sp_persist_restore, as sigproxyd does at start), then
 *      opens one UDP socket per binding bound to its C:c (IP_FREEBIND) and
 *      registers it with epoll: what sigproxyd's engine does before it
 *      proxies again. The time until the last socket is ready is "restored
 *      and proxying". Where RLIMIT_NOFILE's hard limit is below N, only that
 *      many sockets are opened and the time for N is extrapolated from their
 *      rate (the row says so): sigproxyd could not hold N sockets there
 *      either.
 *   3. One datagram sent to the restored C:c of the last binding is read
 *      from its socket: the socket proxies.
 *
 * Run it in a network namespace of its own (bench/restart does) and as root
 * for 100 000 sockets (RLIMIT_NOFILE). Prints one markdown table row.
 *
 *   bench/sp_persist_bench DIR [N]          (default 100000)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sp_loop.h"
#include "sp_persist.h"
#include "bench_table.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sp_persist *open_store(const char *dir, struct sp_table *t)
{
	char err[256];
	struct sp_persist *p = sp_persist_open(dir, t, NULL, NULL, err, sizeof(err));

	if (!p) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return p;
}

/* The daemon before the kill: writes, then dies without closing anything. */
static void first_daemon(const char *dir, uint32_t n, double *write_s, double *burst_s)
{
	struct sp_table *t = bench_table_new(131072);
	struct sp_persist *p = open_store(dir, t);
	uint64_t now = sp_loop_now_ms();
	double t0;

	for (uint32_t i = 0; i < n; i++) {
		char addr[32];
		struct sp_binding *b = bench_binding(t, i, "10.255.0.1", "10.255.0.2", now, addr);

		sp_persist_mark(p, SP_SYNC_BINDING, b->id);
		if (i % 10 == 0) {
			struct sp_dialog *d;

			if (bench_dialog(t, b, i, now, &d) == 0) {
				struct sp_endpoint term, far;
				struct sp_media_stream *ms;

				sp_endpoint_parse(&term, addr, 4000);
				sp_endpoint_parse(&far, "192.0.2.9", 6000);
				if (i % 100 == 0)
					sp_dialog_add_media(t, d, &term, &far, &ms);
				sp_persist_mark(p, SP_SYNC_DIALOG, d->id);
			}
		}
	}
	t0 = now_s();
	sp_persist_sync(p, sp_loop_now_ms(), sp_persist_wall_ms());
	*write_s = now_s() - t0;
	/* steady state: a burst of re-registrations, one batch as the 100 ms
	 * timer would hand it over */
	for (uint32_t i = 0; i < n / 10; i++) {
		struct sp_binding *b = sp_binding_find_id(t, 1 + i * 7 % n);

		if (b) {
			sp_binding_set_registration(t, b, sp_loop_now_ms(), 3600);
			sp_persist_mark(p, SP_SYNC_BINDING, b->id);
		}
	}
	t0 = now_s();
	sp_persist_sync(p, sp_loop_now_ms(), sp_persist_wall_ms());
	*burst_s = now_s() - t0;
}

static int bind_one(int ep, const struct sp_endpoint *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sp_endpoint_to_sockaddr(c, &ss);
	int one = 1, fd = socket(c->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = EPOLLIN };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	ev.data.fd = fd;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100000;
	struct rlimit rl = { 1048576, 1048576 };
	struct {
		double write_s, burst_s;
	} *shared;
	int pfd[2], status, ep, last_fd = -1;
	pid_t pid;
	double t0, t_restore, t_ready;
	struct sp_table *t;
	struct sp_persist *p;
	struct sp_persist_stats st;
	struct stat sb;
	char path[4200], err[256];
	unsigned sockets = 0, max_sockets;
	struct sp_binding *last = NULL;

	if (!dir || n == 0 || n > 110000) {
		fprintf(stderr, "usage: sp_persist_bench DIR [N <= 110000]\n");
		return 2;
	}
	/* as sigproxyd: as many descriptors as allowed */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	max_sockets = rl.rlim_cur > 200 ? (unsigned)(rl.rlim_cur - 100) : 0;
	if (pipe(pfd) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		double w[2];

		first_daemon(dir, n, &w[0], &w[1]);
		close(pfd[0]);
		if (write(pfd[1], w, sizeof(w)) != sizeof(w))
			_exit(1);
		_exit(0); /* kill -9: no close, no flush */
	}
	shared = calloc(1, sizeof(*shared));
	if (read(pfd[0], shared, sizeof(*shared)) != sizeof(*shared) ||
	    waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "the first daemon failed\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	stat(path, &sb);

	/* the restarted daemon */
	t0 = now_s();
	t = bench_table_new(131072);
	p = open_store(dir, t);
	if (sp_persist_restore(p, sp_loop_now_ms(), sp_persist_wall_ms(), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t_restore = now_s() - t0;
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (struct sp_binding *b = sp_binding_first(t); b && sockets < max_sockets;
	     b = sp_binding_next(t, b)) {
		int fd = bind_one(ep, &b->server_side);

		if (fd < 0) {
			fprintf(stderr, "socket for binding %u: %s\n", b->id, strerror(errno));
			return 1;
		}
		last_fd = fd;
		last = b;
		sockets++;
	}
	t_ready = now_s() - t0;
	sp_persist_get_stats(p, &st);
	if (st.restore.bindings != n || sp_table_counters(t)->bindings_current != n || !last) {
		fprintf(stderr, "restore incomplete: %llu of %u bindings, %u sockets\n",
			(unsigned long long)st.restore.bindings, n, sockets);
		return 1;
	}
	/* the last binding's socket receives what is sent to its C:c */
	{
		struct sp_binding *b = last;
		struct epoll_event ev;
		char buf[16];
		int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
		struct sockaddr_storage ss;
		socklen_t sl;

		sl = sp_endpoint_to_sockaddr(&b->server_side, &ss);
		setsockopt(s, SOL_IP, IP_FREEBIND, &one, sizeof(one));
		if (sendto(s, "ping", 4, 0, (struct sockaddr *)&ss, sl) != 4 ||
		    epoll_wait(ep, &ev, 1, 2000) != 1 || ev.data.fd != last_fd ||
		    recv(ev.data.fd, buf, sizeof(buf), 0) != 4) {
			fprintf(stderr, "the restored C:c does not receive (is 10.255.0.0/16 local? "
				"run in a namespace with it on lo)\n");
			return 1;
		}
		close(s);
	}
	/* the descriptor limit may stop the sockets short of n: the rest is
	 * extrapolated from the measured rate, and said so */
	printf("| %u | %llu | %.1f MB | %.2f s | %.0f ms | %.2f s | %u in %.2f s | %.2f s%s |\n", n,
	       (unsigned long long)st.restore.dialogs, (double)sb.st_size / 1e6, shared->write_s,
	       shared->burst_s * 1000, t_restore, sockets, t_ready - t_restore,
	       t_restore + (t_ready - t_restore) * n / sockets,
	       sockets < n ? " (sockets extrapolated)" : "");
	sp_persist_close(p);
	sp_table_destroy(t);
	return 0;
}
