/*
 * Crash-safe persistence of the state tables (issue 14 item 4): bindings and
 * dialogs survive a restart of the daemon (kill -9, crash, reboot) with the
 * same ids, the same C:c and the same media ports.
 *
 * The store is an LMDB environment in the state directory (--state-dir):
 * one record per binding or dialog, keyed by kind and id, whose value is a
 * small header (format version, wall-clock time of writing, until when the
 * object's C:c may still be routed to, that C:c) followed by the object as
 * the state-sync codec encodes it (daemon/sp_sync_codec.h, SPEC §5). LMDB
 * commits are atomic and durable (fsync of the data file before the meta
 * page flips): after any crash the store holds exactly the last committed
 * batch.
 *
 * Writing: the table's change hook (sp_table_watch) marks (kind, id) when
 * an object changes or goes, the same hook as the state sync. Marks are coalesced;
 * every SP_PERSIST_BATCH_MS the owner's thread encodes the marked objects
 * (the table is not thread-safe) and hands the batch to a writer thread that
 * commits it as one LMDB transaction, so no fsync ever runs on the event
 * loop. While the writer is busy, marks keep coalescing into the next batch.
 *
 * Restoring (at start, before the first datagram is read): every record is
 * applied to the table with the codec, times moved back by the wall-clock
 * time the daemon was down. A binding record that cannot be restored (a
 * record of an unknown format, a port outside the range, a C:c claimed
 * twice) has its C:c quarantined in the table until the time its header
 * says a registrar may still route to it; the quarantine is itself stored,
 * so a second restart keeps it.
 */
#ifndef SP_PERSIST_H
#define SP_PERSIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_sync.h"
#include "sp_table.h"

#define SP_PERSIST_BATCH_MS 100
/* After a failed transaction: the whole table again, at most this often */
#define SP_PERSIST_RETRY_MS 10000
#define SP_PERSIST_FORMAT 1
/* Default --state-dir */
#define SP_PERSIST_DEFAULT_DIR "/var/lib/sigproxy"

struct sp_loop;
struct sp_persist;

struct sp_persist_hooks {
	/* Before a dialog is encoded. May be NULL (the engine's is: the
	 * table holds each dialog's media streams as they change). */
	void (*prepare_dialog)(void *arg, uint32_t dialog_id);
	void *arg;
};

/* What the restore at start found. */
struct sp_persist_restore_stats {
	uint64_t bindings;	/* restored */
	uint64_t dialogs;
	uint64_t quarantined;	/* C:c held for a record not restored */
	uint64_t discarded;	/* records dropped (unreadable, expired, orphan dialogs) */
	uint64_t elapsed_ms;	/* reading and applying, monotonic */
	uint64_t downtime_ms;	/* wall clock between the last write and the restore */
};

struct sp_persist_stats {
	uint64_t marks;		/* changes recorded by the engine */
	uint64_t pending;	/* marked, not yet handed to the writer */
	uint64_t records_written;
	uint64_t records_deleted;
	uint64_t transactions;	/* committed batches */
	uint64_t write_errors;	/* failed transactions (their records are marked again) */
	uint64_t encode_errors;
	uint64_t last_batch_records;
	uint64_t last_commit_us;
	uint64_t max_commit_us;
	struct sp_persist_restore_stats restore;
	char unreadable_store[4200];	/* where an unreadable store was moved; "": none */
};

/*
 * Opens (creating it, mode 0700) the store in dir and starts the writer
 * thread. The directory is locked: a second daemon with the same directory
 * is refused. loop may be NULL (no batch timer: the owner calls
 * sp_persist_flush itself, e.g. a benchmark). NULL with err on failure.
 */
struct sp_persist *sp_persist_open(const char *dir, struct sp_table *t,
				   const struct sp_persist_hooks *hooks, struct sp_loop *loop,
				   char *err, size_t errlen);
/* Writes what is marked, waits for the writer, closes the store. NULL-safe. */
void sp_persist_close(struct sp_persist *p);

/*
 * Restore every stored record into the (empty) table; now_ms on the table's
 * clock, wall_ms the wall clock (ms since the epoch). 0, or -1 with err when
 * the store cannot be read at all (the table is then left as it is).
 */
int sp_persist_restore(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms,
		       char *err, size_t errlen);

/*
 * The store watches the table's change hook (sp_table_watch) from open to
 * close and marks every change itself. follow false (a standby, whose
 * table the peer fills): only deletes are marked until it is true again.
 * NULL-safe; open follows.
 */
void sp_persist_follow(struct sp_persist *p, bool all);
/* (kind, id) changed or went. Cheap; NULL-safe. */
void sp_persist_mark(struct sp_persist *p, enum sp_sync_kind kind, uint32_t id);
/* The table replaces the store: the next batch drops every binding and
 * dialog record and writes every object (a standby taking over). */
void sp_persist_mark_all(struct sp_persist *p);
/*
 * Encode the marked objects and hand them to the writer as one batch
 * (nothing when the writer is still busy with the previous one). Returns the
 * number of records handed over.
 */
unsigned sp_persist_flush(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms);
/* Flush until nothing is marked and the writer has committed everything. */
void sp_persist_sync(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms);

void sp_persist_get_stats(struct sp_persist *p, struct sp_persist_stats *out);
/* Records in the store now (all kinds), -1 on error. */
long sp_persist_stored(struct sp_persist *p);
const char *sp_persist_dir(const struct sp_persist *p);
/* The table it stores (its quarantined ports are in `show persistence`). */
const struct sp_table *sp_persist_table(const struct sp_persist *p);

/* Wall clock in ms since the epoch. */
uint64_t sp_persist_wall_ms(void);

#endif
