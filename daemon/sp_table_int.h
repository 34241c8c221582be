/*
 * The session store's internals, shared by its files (daemon/sp_table*.c)
 * and nothing else: sp_table.c the table, its change hook, timers, aging
 * and quarantine; sp_table_binding.c bindings and their keys;
 * sp_table_dialog.c dialogs and their media streams.
 *
 * Each object is one allocation: the public struct followed by its private
 * links (hash nodes, id-tree node, timer). Indexes:
 *   bindings by (VPN, transport, family, A:a) and by (transport, C:c),
 *   dialogs by (VPN, Call-ID): sp_htab;
 *   bindings and dialogs by id: red-black trees, for ordered walks and
 *   SNMP get-next in O(log n) whatever ids were freed or wrapped;
 *   all armed deadlines: one red-black tree ordered by (deadline, arm
 *   sequence), so the expiry pass touches only what expires, and equal
 *   deadlines expire in the order they were set.
 * The trees come from libbsd's <bsd/sys/tree.h> (intrusive, no allocation).
 */
#ifndef SP_TABLE_INT_H
#define SP_TABLE_INT_H

#include <bsd/sys/tree.h>
#include <stdbool.h>
#include <stdint.h>

#include "sp_hash.h"
#include "sp_portalloc.h"
#include "sp_srclimit.h"
/* after sp_table.h (not included here: the layer check forbids a cycle) */

enum timer_kind {
	TIMER_BINDING,
	TIMER_DIALOG,
	TIMER_QUARANTINE,
};

struct table_timer {
	RB_ENTRY(table_timer) node;
	uint64_t deadline_ms;
	uint64_t seq;
	uint8_t kind;
	bool armed;
};

struct server_side_pool {
	struct sp_endpoint addr;	/* C, port 0 */
	struct sp_portalloc *ports;
};

struct binding_entry {
	struct sp_binding pub;
	struct sp_table *table;		/* for the setters that take no table */
	struct sp_hnode by_terminal;
	struct sp_hnode by_server_side;
	RB_ENTRY(binding_entry) by_id;
	struct table_timer timer;
	struct server_side_pool *pool;
};

/* A C:c held by no binding, kept out of the allocator until a registrar's
 * mapping to it can no longer route a call there (sp_table_quarantine). */
struct quarantine_entry {
	struct sp_endpoint server_side;
	struct server_side_pool *pool;
	struct table_timer timer;
	struct quarantine_entry *prev, *next;
};

struct dialog_entry {
	struct sp_dialog pub;
	struct sp_table *table;
	struct sp_hnode by_call_id;
	RB_ENTRY(dialog_entry) by_id;
	struct table_timer timer;
};

RB_HEAD(timer_tree, table_timer);
RB_HEAD(binding_ids, binding_entry);
RB_HEAD(dialog_ids, dialog_entry);

struct sp_table {
	struct sp_table_config cfg;
	struct sp_table_callbacks cb;
	struct sp_table_counters ctr;
	struct sp_hash_key hash_key;
	struct sp_htab bindings_by_terminal;
	struct sp_htab bindings_by_server_side;
	struct sp_htab dialogs_by_call_id;
	struct binding_ids binding_ids;
	struct dialog_ids dialog_ids;
	struct timer_tree timers;
	uint64_t timer_seq;
	uint32_t next_binding_id;
	uint32_t next_dialog_id;
	unsigned n_pools;
	struct server_side_pool pools[SP_TABLE_MAX_SERVER_ADDRS];
	struct sp_portalloc *media_ports;
	/* ports taken by the message in progress and held by no dialog yet
	 * (sp_table_media_take), one bit each */
	uint64_t media_taken[65536 / 64];
	struct sp_srclimit *per_source;	/* bindings held per source address */
	struct quarantine_entry *quarantine;	/* doubly linked, unordered */
	struct {
		sp_store_watch_fn fn;
		void *arg;
	} watchers[SP_TABLE_WATCHERS_MAX];	/* the change hook's subscribers */
	unsigned n_watchers;
};

RB_PROTOTYPE_INTERNAL(timer_tree, table_timer, node, timer_cmp, )
RB_PROTOTYPE_INTERNAL(binding_ids, binding_entry, by_id, binding_id_cmp, )
RB_PROTOTYPE_INTERNAL(dialog_ids, dialog_entry, by_id, dialog_id_cmp, )

static inline struct binding_entry *binding_entry_of(const struct sp_binding *b)
{
	return container_of(b, struct binding_entry, pub);
}

static inline struct dialog_entry *dialog_entry_of(const struct sp_dialog *d)
{
	return container_of(d, struct dialog_entry, pub);
}

/* ---- shared between the table's files ---- */

/* sp_table.c */
void announce(const struct sp_table *t, enum sp_store_kind kind, enum sp_store_op op, uint32_t id);
void binding_changed(const struct sp_table *t, const struct sp_binding *b);
void dialog_changed(const struct sp_table *t, const struct sp_dialog *d);
void timer_disarm(struct sp_table *t, struct table_timer *tm);
void timer_arm(struct sp_table *t, struct table_timer *tm, uint64_t deadline_ms);
uint64_t add_ms(uint64_t base, uint64_t ms);
uint64_t binding_deadline(const struct sp_table *t, const struct sp_binding *b);
void binding_rearm(struct sp_table *t, struct binding_entry *be);
void dialog_rearm(struct sp_table *t, struct dialog_entry *de, uint64_t now_ms);
int normalize_endpoint(struct sp_endpoint *out, const struct sp_endpoint *in, bool required);
int copy_bounded(char *dst, size_t size, const char *src);
struct server_side_pool *find_pool(struct sp_table *t, const struct sp_endpoint *c, bool create);

/* sp_table_binding.c */
void free_binding(struct sp_table *t, struct binding_entry *be);

/* sp_table_dialog.c */
void free_dialog(struct sp_table *t, struct dialog_entry *de);

#endif
