/* What the state store (sp_persist.c: records, batches, the writer thread,
 * open and close) and its restore at start (sp_persist_restore.c) share;
 * nothing else includes it. */
#ifndef SP_PERSIST_INT_H
#define SP_PERSIST_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_loop.h"
/* after sp_persist.h (not included here: it and sp_persist.c are one module) */
#include "sp_sync_codec.h"

/* Room for the map: about 1.5 KiB per object at most, 1 GiB holds far more
 * than the 10 000 bindings per C the port range allows (virtual memory only:
 * the file grows with what is written). */
#define SP_PERSIST_MAP_BYTES (1024ULL * 1024 * 1024)
#define SP_PERSIST_RECORD_MAX 4096

/* Keys: one byte of kind, then the id (big-endian, so LMDB's byte order is
 * id order) or, for a quarantined port, the C:c. Bindings sort before
 * dialogs, which sort before quarantines: the restore needs that order. */
enum {
	KEY_BINDING = 'B',
	KEY_DIALOG = 'D',
	KEY_QUARANTINE = 'Q',
};
#define KEY_ID_LEN 5
#define EP_LEN 19	/* family, 16 address bytes, port */
#define KEY_MAX (1 + EP_LEN)

/* Value header, then the codec record (none for a quarantine). */
#define HDR_LEN (1 + 1 + 8 + 8 + EP_LEN)
struct rec_header {
	uint8_t format;
	uint8_t kind;
	uint64_t written_wall_ms;
	uint64_t hold_until_wall_ms;	/* 0: nothing to hold */
	struct sp_endpoint server_side;	/* family 0: none */
};

/* One batch: items of [key_len u8][key][val_len u32][val]; val_len
 * UINT32_MAX: delete the key. */
struct batch {
	uint8_t *buf;
	size_t len, cap;
	unsigned n;
	bool clear;	/* drop every binding and dialog record first */
};

struct sp_persist {
	char dir[4096];
	int lock_fd;
	MDB_env *env;
	MDB_dbi dbi;
	struct sp_table *t;
	struct sp_sync_codec *codec;
	struct sp_persist_hooks hooks;
	struct sp_loop_timer *timer;	/* NULL without a loop */
	bool timer_armed;
	/* marked, owner's thread: kind << 32 | id, duplicates removed at flush */
	uint64_t *dirty;
	size_t n_dirty, cap_dirty;
	bool clear_pending;
	bool restoring;		/* the table's changes come from the store itself */
	bool follow;		/* sp_persist_follow: every change, or deletes only */
	uint8_t scratch[HDR_LEN + SP_PERSIST_RECORD_MAX];

	pthread_t writer;
	bool writer_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	struct batch *slot;	/* handed over, not committed yet */
	bool stop;
	/* under mu */
	struct sp_persist_stats st;
	uint64_t write_errors_seen;	/* owner's: a failed batch is written again */
	uint64_t retry_at_ms;		/* owner's: no batch before then (after a failure) */
};

/* sp_persist.c */
uint64_t sp_persist_mono_us(void);
void sp_persist_put_header(uint8_t *p, const struct rec_header *h);
/* -1: too short or an unknown format */
int sp_persist_get_header(const uint8_t *p, size_t len, struct rec_header *h);
size_t sp_persist_make_quarantine_key(uint8_t *k, const struct sp_endpoint *c);

#endif
