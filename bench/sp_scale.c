/*
 * bench/sp_scale: the state tables and the strategy loader at scale, through
 * the real code paths (sp_table, sp_cli_load_text, sp_config_store_commit,
 * sp_classify_build, sp_kernel). Not a test: it prints figures, bench/run
 * turns them into the report.
 *
 *   sp_scale tables N[xD]...   fill N bindings and D dialogs per binding
 *                              (default 10); memory and lookup cost
 *   sp_scale strategies N      load and commit N strategies; classification
 *   sp_scale nft N             also install the N-strategy interception
 *                              (root; run it in a scratch namespace)
 *
 * Output: one "key value" line per figure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp_cli.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_engine.h"
#include "sp_table.h"
#include "sp_kernel.h"

static double sp_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes malloc has handed out: the real cost, not only what the table
 * believes it holds. */
static size_t sp_bench_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Terminal i: 10.0.0.0/8 addresses, port 5060 + i / 2^24 (distinct). */
static void sp_bench_terminal(struct sp_endpoint *ep, uint32_t i)
{
	struct in_addr a = { .s_addr = htonl(0x0a000000u | (i & 0xffffffu)) };

	sp_endpoint_set_v4(ep, a, (uint16_t)(5060 + (i >> 24)));
}

/* A cheap deterministic permutation so lookups are not in insertion order
 * (xorshift: no library call in the timed loop). */
static uint32_t sp_bench_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

#define SP_BENCH_LOOKUPS 1000000u
/* Bindings: at most 8 C addresses x the c range (about 516 000).
 * Dialogs: per_binding per binding. */
static int sp_bench_tables(uint32_t n_bindings, uint32_t per_binding)
{
	struct sp_table_config cfg;
	struct sp_table_memory mem;
	struct sp_table *t;
	struct sp_binding **bindings;
	uint32_t n_dialogs = n_bindings * per_binding;
	size_t heap0, heap1, heap2;
	uint64_t seed = 88172645463325252ull;
	char callid[64];
	double t0, dt;
	unsigned found = 0;

	sp_table_config_default(&cfg);
	cfg.sig_port_first = 1024;
	cfg.sig_port_last = 65535;
	cfg.media_port_first = 0;
	cfg.media_port_last = 0;
	cfg.session_limit = 0;
	bindings = calloc(n_bindings, sizeof(*bindings));
	if (!bindings)
		return -1;
	heap0 = sp_bench_heap();
	t = sp_table_create(&cfg, NULL);
	if (!t)
		return -1;
	t0 = sp_bench_now();
	for (uint32_t i = 0; i < n_bindings; i++) {
		struct sp_binding_params p = { 0 };
		struct in_addr c = { .s_addr = htonl(0xc0000201u + i / 64000u) };	/* 192.0.2.1+ */
		struct in_addr e = { .s_addr = htonl(0xc6336401u) };			/* 198.51.100.1 */
		struct in_addr d = { .s_addr = htonl(0xc000020au) };			/* 192.0.2.10 */
		int rc;

		sp_bench_terminal(&p.terminal, i);
		sp_endpoint_set_v4(&p.virtual_server, e, 5060);
		sp_endpoint_set_v4(&p.server_side, c, 0);
		sp_endpoint_set_v4(&p.server, d, 5060);
		p.via_sent_by = "10.1.0.10:5060";
		p.contact = "10.1.0.10:5060";
		rc = sp_binding_create(t, &p, 1000, &bindings[i]);
		if (rc < 0) {
			fprintf(stderr, "binding %u: %s\n", i, sp_table_strerror(rc));
			return -1;
		}
	}
	dt = sp_bench_now() - t0;
	heap1 = sp_bench_heap();
	printf("bindings %u\n", n_bindings);
	printf("binding_create_ns %.0f\n", dt * 1e9 / n_bindings);
	printf("binding_heap_bytes %.0f\n", (double)(heap1 - heap0) / n_bindings);

	t0 = sp_bench_now();
	for (uint32_t k = 0; k < SP_BENCH_LOOKUPS; k++) {
		struct sp_endpoint ep;

		sp_bench_terminal(&ep, sp_bench_rand(&seed) % n_bindings);
		found += sp_binding_find(t, 0, &ep) != NULL;
	}
	dt = sp_bench_now() - t0;
	printf("binding_lookup_ns %.1f\n", dt * 1e9 / SP_BENCH_LOOKUPS);
	if (found != SP_BENCH_LOOKUPS) {
		fprintf(stderr, "binding lookups: %u of %u found\n", found, SP_BENCH_LOOKUPS);
		return -1;
	}

	if (n_dialogs == 0)
		goto out;
	t0 = sp_bench_now();
	for (uint32_t i = 0; i < n_dialogs; i++) {
		struct sp_dialog_params p = { 0 };
		struct sp_dialog *dlg;
		int rc;

		/* a realistic Call-ID length (SIPp's are ~30 characters) */
		p.call_id_len = (size_t)snprintf(callid, sizeof(callid), "%u-4711@10.1.0.10-bench", i);
		p.call_id = callid;
		p.binding = bindings[i % n_bindings];
		p.from_tag = "4711SIPpTag001";
		p.invite_cseq = 1;
		p.state = SP_DIALOG_EARLY;
		rc = sp_dialog_create(t, &p, 1000, &dlg);
		if (rc < 0) {
			fprintf(stderr, "dialog %u: %s\n", i, sp_table_strerror(rc));
			return -1;
		}
	}
	dt = sp_bench_now() - t0;
	heap2 = sp_bench_heap();
	printf("dialogs %u\n", n_dialogs);
	printf("dialog_create_ns %.0f\n", dt * 1e9 / n_dialogs);
	printf("dialog_heap_bytes %.0f\n", (double)(heap2 - heap1) / n_dialogs);

	found = 0;
	t0 = sp_bench_now();
	for (uint32_t k = 0; k < SP_BENCH_LOOKUPS; k++) {
		uint32_t i = sp_bench_rand(&seed) % n_dialogs;
		size_t len = (size_t)snprintf(callid, sizeof(callid), "%u-4711@10.1.0.10-bench", i);

		found += sp_dialog_find(t, 0, callid, len, bindings[i % n_bindings]) != NULL;
	}
	dt = sp_bench_now() - t0;
	printf("dialog_lookup_ns %.1f\n", dt * 1e9 / SP_BENCH_LOOKUPS);
	if (found != SP_BENCH_LOOKUPS) {
		fprintf(stderr, "dialog lookups: %u of %u found\n", found, SP_BENCH_LOOKUPS);
		return -1;
	}

out:
	sp_table_memory(t, &mem);
	printf("table_binding_object %zu\n", mem.binding_object);
	printf("table_dialog_object %zu\n", mem.dialog_object);
	printf("table_per_binding %zu\n", mem.per_binding);
	printf("table_per_dialog %zu\n", mem.per_dialog);
	printf("table_total %zu\n", mem.total);
	sp_table_destroy(t);
	free(bindings);
	return 0;
}

/* N strategies, one /32 source each, all proxied to one server. */
static char *sp_bench_strategy_text(unsigned n)
{
	size_t cap = (size_t)n * 160 + 256, len = 0;
	char *text = malloc(cap);

	if (!text)
		return NULL;
	len += (size_t)snprintf(text + len, cap - len,
				"signaling-proxy\n server-side-address 192.0.2.1\n");
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"proxy-strategy s%u seq %u\n match source 10.%u.%u.0/24\n"
					" match destination 198.51.100.1/32 port 5060\n"
					" server 192.0.2.10\n action proxy\n",
					i, i + 1, (i >> 8) & 255, i & 255);
	return text;
}

static int sp_bench_strategies(unsigned n, bool install)
{
	struct sp_config_store *store = sp_config_store_new();
	struct sp_config *cand = sp_config_new();
	struct sp_classify_plan plan;
	struct sp_error e = { "" };
	char *text = sp_bench_strategy_text(n);
	double t0, t_load, t_commit, t_classify;
	size_t changes = 0;

	if (!store || !cand || !text)
		return -1;
	t0 = sp_bench_now();
	if (sp_cli_load_text("bench", text, cand, &e) < 0) {
		fprintf(stderr, "load: %s\n", e.msg);
		return -1;
	}
	t_load = sp_bench_now() - t0;
	t0 = sp_bench_now();
	if (sp_config_store_commit(store, cand, &changes, &e) < 0) {
		fprintf(stderr, "commit: %s\n", e.msg);
		return -1;
	}
	t_commit = sp_bench_now() - t0;
	t0 = sp_bench_now();
	if (sp_classify_build(sp_config_store_current(store), NULL, 0, &plan, &e) < 0) {
		fprintf(stderr, "classify: %s\n", e.msg);
		return -1;
	}
	t_classify = sp_bench_now() - t0;
	printf("strategies %u\n", n);
	printf("strategy_load_ms %.1f\n", t_load * 1e3);
	printf("strategy_commit_ms %.1f\n", t_commit * 1e3);
	printf("classify_build_ms %.1f\n", t_classify * 1e3);
	printf("nft_entries %zu\n", plan.n_entries);

	if (install) {
		const struct sp_config *c = sp_config_store_current(store);
		struct sp_kernel_intercept_cfg kcfg = { 0 };
		struct sp_kernel *k;
		struct sp_error err = { "" };

		if (sp_kernel_open(&k, &err) < 0) {
			fprintf(stderr, "kernel: %s\n", err.msg);
			return -1;
		}
		kcfg.nft.entries = plan.entries;
		kcfg.nft.n_entries = plan.n_entries;
		kcfg.nft.listen_ports = c->sp.listen_ports;
		kcfg.nft.n_listen_ports = c->sp.n_listen_ports;
		kcfg.nft.default_verdict = SP_NFT_ACCEPT;
		kcfg.nft.mark_mask = SP_MARK_MASK;
		kcfg.nft.fwmark = SP_MARK_TPROXY;
		kcfg.nft.fwmask = SP_MARK_TPROXY;
		kcfg.rule_priority = SP_INTERCEPT_RULE_PRIORITY;
		kcfg.table = SP_INTERCEPT_TABLE;
		/* no VPN, no tagger: one origin (SP_SCALE_VPNS=N: N VPN slots
		 * more); SP_SCALE_NO_MAPS=1 keeps one rule per strategy (the
		 * classification before the maps) */
		uint32_t origins[SP_CLASSIFY_ORIGINS_MAX];
		const char *vpns = getenv("SP_SCALE_VPNS");
		if (!getenv("SP_SCALE_NO_MAPS")) {
			kcfg.nft.origin_marks = origins;
			kcfg.nft.n_origin_marks = sp_classify_origin_marks(
				vpns ? (unsigned)strtoul(vpns, NULL, 10) : 0, 0, origins);
		}
		{
			struct sp_nft_render_stats st;
			char *body;

			t0 = sp_bench_now();
			if (sp_nft_render_intercept_stats(&kcfg.nft, &body, &st, &err) < 0) {
				fprintf(stderr, "render: %s\n", err.msg);
				return -1;
			}
			printf("nft_render_ms %.1f\n", (sp_bench_now() - t0) * 1e3);
			printf("nft_chain_rules %zu\nnft_maps %zu\nnft_map_elements %zu\n", st.rules,
			       st.maps, st.elements);
			free(body);
		}
		t0 = sp_bench_now();
		if (sp_kernel_install_intercept(k, &kcfg, &err) < 0) {
			fprintf(stderr, "install: %s\n", err.msg);
			return -1;
		}
		printf("nft_install_ms %.1f\n", (sp_bench_now() - t0) * 1e3);
		/* a second install replaces the table: what a commit costs */
		t0 = sp_bench_now();
		if (sp_kernel_install_intercept(k, &kcfg, &err) < 0) {
			fprintf(stderr, "reinstall: %s\n", err.msg);
			return -1;
		}
		printf("nft_reinstall_ms %.1f\n", (sp_bench_now() - t0) * 1e3);
		sp_kernel_remove_all(k, &err);
		sp_kernel_close(k);
	}
	sp_classify_free(&plan);
	sp_config_store_free(store);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "tables") == 0) {
		for (int i = 2; i < argc; i++) {
			char *end;
			uint32_t n = (uint32_t)strtoul(argv[i], &end, 10);
			uint32_t per = *end == 'x' ? (uint32_t)strtoul(end + 1, NULL, 10) : 10;

			if (sp_bench_tables(n, per) < 0)
				return 1;
		}
		return 0;
	}
	if (argc == 3 && (strcmp(argv[1], "strategies") == 0 || strcmp(argv[1], "nft") == 0))
		return sp_bench_strategies((unsigned)strtoul(argv[2], NULL, 10),
					   strcmp(argv[1], "nft") == 0) < 0;
	fprintf(stderr, "usage: sp_scale tables N[xD]... | strategies N | nft N\n");
	return 2;
}
