#include "config.h"
#include "bench_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sp_table *bench_table_new(unsigned initial_buckets)
{
	struct sp_table_config cfg;
	struct sp_table *t;

	sp_table_config_default(&cfg);
	cfg.sig_port_first = 1024;	/* N c ports over two C addresses */
	cfg.sig_port_last = 60999;
	cfg.media_port_first = 61000;
	cfg.media_port_last = 65535;
	if (initial_buckets)
		cfg.initial_buckets = initial_buckets;
	t = sp_table_create(&cfg, NULL);
	if (!t) {
		perror("sp_table_create");
		exit(1);
	}
	return t;
}

struct sp_binding *bench_binding(struct sp_table *t, uint32_t i, const char *server_side_a,
				 const char *server_side_b, uint64_t now, char addr[32])
{
	struct sp_binding_params bp = { .vpn = 1, .strategy_id = 1,
					.via_sent_by = "10.0.0.1:5060", .contact = "10.0.0.1:5060" };
	struct sp_binding *b;
	int rc;

	snprintf(addr, 32, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
	sp_endpoint_parse(&bp.terminal, addr, 5060);
	sp_endpoint_parse(&bp.virtual_server, "198.51.100.1", 5060);
	sp_endpoint_parse(&bp.server_side, i % 2 ? server_side_a : server_side_b, 0);
	sp_endpoint_parse(&bp.server, "203.0.113.100", 5060);
	rc = sp_binding_create(t, &bp, now, &b);
	if (rc) {
		fprintf(stderr, "binding %u: %s\n", i, sp_table_strerror(rc));
		exit(1);
	}
	sp_binding_set_registration(t, b, now, 3600);
	return b;
}

int bench_dialog(struct sp_table *t, struct sp_binding *b, uint32_t i, uint64_t now,
		 struct sp_dialog **d)
{
	struct sp_dialog_params dp = { .binding = b, .from_tag = "a8f3c1", .to_tag = "77d1e0",
				       .invite_cseq = 1, .state = SP_DIALOG_CONFIRMED };
	char call_id[64];

	snprintf(call_id, sizeof(call_id), "%08x-4b1e-9c3a-%u@10.0.0.1", i * 2654435761u, i);
	dp.call_id = call_id;
	dp.call_id_len = strlen(call_id);
	return sp_dialog_create(t, &dp, now, d);
}
