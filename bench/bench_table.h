/* What the persistence and state-sync benches fill their tables with: the
 * same bindings and dialogs, so their rows compare. Every failure exits. */
#ifndef BENCH_TABLE_H
#define BENCH_TABLE_H

#include <stdint.h>

#include "sp_table.h"

/* A table for N c ports over two C addresses (1024-60999) and media ports
 * 61000-65535; initial_buckets 0: the default. */
struct sp_table *bench_table_new(unsigned initial_buckets);

/* Binding i: terminal 10.x.y.z:5060 (its address in addr), registered for
 * an hour, its server side alternating between the two C addresses. */
struct sp_binding *bench_binding(struct sp_table *t, uint32_t i, const char *server_side_a,
				 const char *server_side_b, uint64_t now, char addr[32]);

/* Binding b's confirmed dialog number i; 0 or an sp_table error. */
int bench_dialog(struct sp_table *t, struct sp_binding *b, uint32_t i, uint64_t now,
		 struct sp_dialog **d);

#endif
