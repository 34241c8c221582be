/*
 * Full-resync time of the state-sync channel: one table filled with N
 * bindings and N dialogs through the sp_table API (every tenth dialog with a
 * media stream), two sp_sync instances on 127.0.0.1 in this process sharing
 * one loop, the second applying into its own table through the record codec.
 * Prints one markdown table row.
 *
 *   bench/sp_sync_bench [N]          (default 100000)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sp_loop.h"
#include "sp_sync.h"
#include "sp_sync_codec.h"
#include "bench_table.h"

#define KEY "bench key"
#define BOUND_MS (10 * 60 * 1000)

struct side {
	struct sp_table *t;
	struct sp_sync_codec *codec;
	struct sp_sync *sync;
	int ends;
};

static struct side *receiver;

/* The codec's own callbacks, and a note of the end for the watch timer. */
static void cb_end(void *arg)
{
	sp_sync_codec_resync_end(arg);
	receiver->ends++;
}

static void fill(struct sp_table *t, uint32_t n)
{
	uint64_t now = sp_loop_now_ms();

	for (uint32_t i = 0; i < n; i++) {
		char addr[32];
		struct sp_binding *b = bench_binding(t, i, "203.0.113.1", "203.0.113.2", now, addr);
		struct sp_dialog *d;
		int rc = bench_dialog(t, b, i, now, &d);

		if (rc) {
			fprintf(stderr, "dialog %u: %s\n", i, sp_table_strerror(rc));
			exit(1);
		}
		if (i % 100 == 0) {
			struct sp_endpoint term, far;
			struct sp_media_stream *ms;

			sp_endpoint_parse(&term, addr, 4000);
			sp_endpoint_parse(&far, "192.0.2.9", 6000);
			if (sp_dialog_add_media(t, d, &term, &far, &ms) == 0)
				ms->engine_flags = 1;
		}
	}
}

static uint16_t free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("free port");
		exit(1);
	}
	close(fd);
	return ntohs(sin.sin_port);
}

static void start(struct side *s, struct sp_loop *loop, uint16_t local, uint16_t peer,
		  bool sender)
{
	struct sp_sync_config cfg = { .key = KEY };
	struct sp_sync_callbacks cb = { 0 };
	struct sp_error e = { { 0 } };

	sp_endpoint_parse(&cfg.local, "127.0.0.1", local);
	sp_endpoint_parse(&cfg.peer, "127.0.0.1", peer);
	s->codec = sp_sync_codec_new(s->t);
	sp_sync_codec_callbacks(s->codec, &cb);
	cb.resync_end = cb_end;
	s->sync = sp_sync_new(loop, &cfg, &cb, &e);
	if (!s->sync || !s->codec) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	sp_sync_set_sender(s->sync, sender);
}

struct watch {
	struct side *rx;
	struct sp_loop_timer *t;
	uint64_t deadline;
};

static void check(struct sp_loop *loop, void *arg)
{
	struct watch *w = arg;

	if (w->rx->ends > 0 || sp_loop_now_ms() > w->deadline)
		sp_loop_stop(loop);
	else
		sp_loop_timer_arm(w->t, 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
	struct sp_loop *loop = sp_loop_new();
	struct side a = { 0 }, b = { 0 };
	struct watch w = { .rx = &b };
	struct sp_sync_stats sa, sb;
	uint16_t p1 = free_port(), p2 = free_port();
	uint16_t lo = p1 < p2 ? p1 : p2, hi = p1 < p2 ? p2 : p1;
	double t0, t1;
	uint64_t records;

	if (!loop || n == 0 || n > 110000 || lo == hi) {
		fprintf(stderr, "usage: sp_sync_bench [N <= 110000]\n");
		return 2;
	}
	a.t = bench_table_new(0);
	b.t = bench_table_new(0);
	receiver = &b;
	fill(a.t, n);
	w.t = sp_loop_timer_new(loop, check, &w);
	w.deadline = sp_loop_now_ms() + BOUND_MS;
	sp_loop_timer_arm(w.t, 1);
	t0 = now_s();
	start(&b, loop, hi, lo, false);
	start(&a, loop, lo, hi, true);
	sp_loop_run(loop);
	t1 = now_s();
	sp_sync_get_stats(a.sync, &sa);
	sp_sync_get_stats(b.sync, &sb);
	records = sb.records_received;
	if (b.ends != 1 || sp_table_counters(b.t)->bindings_current != n ||
	    sp_table_counters(b.t)->dialogs_current != n || sb.apply_errors) {
		fprintf(stderr, "resync incomplete: %llu bindings, %llu dialogs, %llu apply errors\n",
			(unsigned long long)sp_table_counters(b.t)->bindings_current,
			(unsigned long long)sp_table_counters(b.t)->dialogs_current,
			(unsigned long long)sb.apply_errors);
		return 1;
	}
	printf("| bindings + dialogs | records | connect to resync end | receiver's resync | records/s | frames |\n");
	printf("|---|---|---|---|---|---|\n");
	printf("| %u + %u | %llu | %.0f ms | %llu ms | %.0f | %llu |\n", n, n,
	       (unsigned long long)records, (t1 - t0) * 1000, (unsigned long long)sb.last_resync_ms,
	       (double)records / (t1 - t0), (unsigned long long)sa.last_seq_sent);
	sp_loop_timer_free(w.t);
	sp_sync_free(a.sync);
	sp_sync_free(b.sync);
	sp_sync_codec_free(a.codec);
	sp_sync_codec_free(b.codec);
	sp_table_destroy(a.t);
	sp_table_destroy(b.t);
	sp_loop_free(loop);
	return 0;
}
