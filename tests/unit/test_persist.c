/*
 * The state store (daemon/sp_persist): what one daemon wrote, the next one
 * restores with the same ids, C:c and media ports, times moved by the time
 * it was down; deletes stay deleted; a record that cannot be restored
 * quarantines its port until the registrar's mapping expires, across a
 * second restart too; a standby taking over replaces the store; a second
 * daemon cannot open the same store.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sp_persist.h"
#include "table_fixture.h"

#define SEC(s) ((uint64_t)(s) * 1000)
#define NOW_A SEC(100000)	/* the first daemon's monotonic clock */
#define NOW_B SEC(50)		/* the second one's: the machine rebooted */
#define WALL_A SEC(1700000000)

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sp-persist-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(persist, .init = setup, .fini = teardown);

static struct sp_binding *binding(struct sp_table *t, const char *addr, uint16_t port,
				  uint64_t now)
{
	return fx_binding(t, 3, addr, port, "10.1.1.1:5062", now);
}

static struct sp_persist *open_store(struct sp_table *t)
{
	char err[256] = "";
	struct sp_persist *p = sp_persist_open(dir, t, NULL, NULL, err, sizeof(err));

	cr_assert_not_null(p, "open: %s", err);
	return p;
}

static void restore(struct sp_persist *p, uint64_t now, uint64_t wall)
{
	char err[256] = "";

	cr_assert_eq(sp_persist_restore(p, now, wall, err, sizeof(err)), 0, "restore: %s", err);
}

/* Registered terminals and a call with media, as the first daemon leaves them. */
static void first_daemon(struct sp_table **tp, struct sp_persist **pp, uint32_t *ids)
{
	struct sp_table *t = fx_table_media();
	struct sp_persist *p = open_store(t);
	struct sp_dialog_params dp = { 0 };
	struct sp_dialog *d;
	struct sp_media_stream *ms;
	struct sp_endpoint far = fx_ep("192.0.2.9", 7000), term = fx_ep("10.1.1.1", 4000);

	for (int i = 0; i < 3; i++) {
		struct sp_binding *b = binding(t, "10.1.1.1", (uint16_t)(5060 + i), NOW_A);

		sp_binding_set_registration(t, b, NOW_A, 3600);
		ids[i] = b->id;
		sp_persist_mark(p, SP_SYNC_BINDING, b->id);
	}
	dp.binding = sp_binding_find_id(t, ids[1]);
	dp.call_id = "call-1@host";
	dp.call_id_len = strlen(dp.call_id);
	dp.from_tag = "ft";
	dp.invite_cseq = 1;
	dp.state = SP_DIALOG_EARLY;
	cr_assert_eq(sp_dialog_create(t, &dp, NOW_A, &d), 0);
	cr_assert_eq(sp_dialog_set_to_tag(d, "tt"), 0);
	cr_assert_eq(sp_dialog_set_state(t, d, SP_DIALOG_CONFIRMED, NOW_A), 0);
	cr_assert_eq(sp_dialog_add_media(t, d, &term, &far, &ms), 0);
	cr_assert_eq(sp_dialog_set_media_proxy(t, d, "mp1", "ft", "tt"), 0);
	ids[3] = d->id;
	sp_persist_mark(p, SP_SYNC_DIALOG, d->id);
	sp_persist_sync(p, NOW_A, WALL_A);
	*tp = t;
	*pp = p;
}

Test(persist, restores_same_ids_ports_and_times)
{
	struct sp_table *a, *b;
	struct sp_persist *pa, *pb;
	uint32_t ids[4];
	struct sp_persist_stats st;

	first_daemon(&a, &pa, ids);
	sp_persist_close(pa); /* a kill -9 loses nothing committed: see below */
	b = fx_table_media();
	pb = open_store(b);
	restore(pb, NOW_B, WALL_A + SEC(60));
	for (int i = 0; i < 3; i++) {
		struct sp_binding *x = sp_binding_find_id(a, ids[i]), *y = sp_binding_find_id(b, ids[i]);

		cr_assert_not_null(y, "binding %u restored", ids[i]);
		cr_assert(sp_endpoint_equal(&x->server_side, &y->server_side), "same C:c");
		cr_assert(sp_endpoint_equal(&x->terminal, &y->terminal));
		cr_assert_eq(y->vpn, 3);
		cr_assert_str_eq(y->contact, "10.1.1.1:5062");
		cr_assert_eq(sp_binding_find_server_side(b, &x->server_side), y, "found by C:c");
		/* registered for 3600 s, down for 60 s: 3540 s left */
		cr_assert_eq(y->registration_expiry_ms, NOW_B + SEC(3540));
	}
	{
		struct sp_dialog *x = sp_dialog_find_id(a, ids[3]), *y = sp_dialog_find_id(b, ids[3]);

		cr_assert_not_null(y);
		cr_assert_eq(y->binding->id, ids[1]);
		cr_assert_eq(y->state, SP_DIALOG_CONFIRMED);
		cr_assert_str_eq(y->to_tag, "tt");
		/* the remote MP holding its media, and the tags it knows */
		cr_assert_str_eq(y->media_proxy, "mp1");
		cr_assert_str_eq(y->mp_from_tag, "ft");
		cr_assert_str_eq(y->mp_to_tag, "tt");
		cr_assert_eq(y->n_media, 1);
		cr_assert_eq(y->media[0].terminal_side_port, x->media[0].terminal_side_port);
		cr_assert_eq(y->media[0].far_side_port, x->media[0].far_side_port);
	}
	/* a new terminal does not get any restored C:c */
	{
		struct sp_binding *n = binding(b, "10.9.9.9", 5060, NOW_B);

		for (int i = 0; i < 3; i++)
			cr_assert_neq(n->server_side.port, sp_binding_find_id(a, ids[i])->server_side.port);
	}
	sp_persist_get_stats(pb, &st);
	cr_assert_eq(st.restore.bindings, 3);
	cr_assert_eq(st.restore.dialogs, 1);
	cr_assert_eq(st.restore.quarantined, 0);
	cr_assert_eq(st.restore.downtime_ms, SEC(60));
	sp_persist_close(pb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(persist, committed_batches_survive_without_close)
{
	struct sp_table *a, *b;
	struct sp_persist *pa, *pb;
	uint32_t ids[4];
	pid_t pid;
	int status;

	/* the child writes and dies without closing anything: kill -9 */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		first_daemon(&a, &pa, ids);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	b = fx_table_media();
	pb = open_store(b);
	restore(pb, NOW_B, WALL_A + SEC(1));
	cr_assert_eq(sp_table_counters(b)->bindings_current, 3);
	cr_assert_eq(sp_table_counters(b)->dialogs_current, 1);
	sp_persist_close(pb);
	sp_table_destroy(b);
}

Test(persist, deletes_and_updates_are_stored)
{
	struct sp_table *a, *b;
	struct sp_persist *pa, *pb;
	uint32_t ids[4];
	struct sp_binding *x;

	first_daemon(&a, &pa, ids);
	sp_dialog_delete(a, sp_dialog_find_id(a, ids[3]));
	sp_persist_mark(pa, SP_SYNC_DIALOG, ids[3]);
	sp_binding_delete(a, sp_binding_find_id(a, ids[0]));
	sp_persist_mark(pa, SP_SYNC_BINDING, ids[0]);
	x = sp_binding_find_id(a, ids[2]);
	sp_binding_set_registration(a, x, NOW_A + SEC(10), 60);
	sp_persist_mark(pa, SP_SYNC_BINDING, ids[2]);
	sp_persist_mark(pa, SP_SYNC_BINDING, ids[2]); /* coalesced */
	sp_persist_sync(pa, NOW_A + SEC(10), WALL_A + SEC(10));
	sp_persist_close(pa);
	b = fx_table_media();
	pb = open_store(b);
	restore(pb, NOW_B, WALL_A + SEC(10));
	cr_assert_null(sp_binding_find_id(b, ids[0]));
	cr_assert_null(sp_dialog_find_id(b, ids[3]));
	cr_assert_not_null(sp_binding_find_id(b, ids[1]));
	cr_assert_eq(sp_binding_find_id(b, ids[2])->registration_expiry_ms, NOW_B + SEC(60));
	cr_assert_eq(sp_persist_stored(pb), 2);
	sp_persist_close(pb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(persist, expired_while_down_ages_out)
{
	struct sp_table *a, *b;
	struct sp_persist *pa, *pb;
	uint32_t ids[4];

	first_daemon(&a, &pa, ids);
	sp_dialog_delete(a, sp_dialog_find_id(a, ids[3]));
	sp_persist_mark(pa, SP_SYNC_DIALOG, ids[3]);
	sp_persist_sync(pa, NOW_A, WALL_A);
	sp_persist_close(pa);
	b = fx_table_media();
	pb = open_store(b);
	/* down for two hours: every registration has expired */
	restore(pb, NOW_B, WALL_A + SEC(7200));
	cr_assert_eq(sp_table_counters(b)->bindings_current, 3);
	/* the machine booted 50 s ago: times before its boot cannot be told
	 * apart, the last activity counts as at boot and the idle time (300 s)
	 * runs from there */
	cr_assert_leq(sp_table_next_deadline(b), SEC(300));
	cr_assert_eq(sp_table_expire(b, SEC(300)), 3);
	cr_assert_eq(sp_table_counters(b)->bindings_current, 0);
	sp_persist_close(pb);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

/* Replaces the codec part of a stored binding with garbage (a record of a
 * format this daemon does not read), keeping the store's header. */
static void damage_binding(uint32_t id)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[5] = { 'B', (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
			   (uint8_t)id };
	MDB_val k = { sizeof(key), key }, v;
	uint8_t val[64];

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_gt(v.mv_size, 40);
	memcpy(val, v.mv_data, 37);
	memset(val + 37, 0xee, sizeof(val) - 37);
	v.mv_data = val;
	v.mv_size = sizeof(val);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

Test(persist, unrestorable_binding_quarantines_its_port)
{
	struct sp_table *a, *b, *c;
	struct sp_persist *pa, *pb, *pc;
	uint32_t ids[4];
	struct sp_endpoint lost;
	uint64_t until = 0;
	struct sp_persist_stats st;

	first_daemon(&a, &pa, ids);
	lost = sp_binding_find_id(a, ids[0])->server_side;
	sp_persist_close(pa);
	damage_binding(ids[0]);

	b = fx_table_media();
	pb = open_store(b);
	restore(pb, NOW_B, WALL_A + SEC(100));
	cr_assert_null(sp_binding_find_id(b, ids[0]), "the damaged record is not restored");
	cr_assert_not_null(sp_binding_find_id(b, ids[1]));
	cr_assert(sp_table_is_quarantined(b, &lost, &until));
	/* the registrar maps to it for 3600 s from the registration (plus
	 * the table's grace), 100 s of which went by while down */
	cr_assert_eq(until, NOW_B + SEC(3600 + 32 - 100));
	sp_persist_get_stats(pb, &st);
	cr_assert_eq(st.restore.quarantined, 1);
	cr_assert_eq(sp_table_counters(b)->ports_quarantined_current, 1);
	/* every new terminal gets another port while it is held */
	for (int i = 0; i < 50; i++) {
		struct sp_binding *n = binding(b, "10.7.7.7", (uint16_t)(1000 + i), NOW_B);

		cr_assert_neq(n->server_side.port, lost.port);
	}
	sp_persist_close(pb);

	/* the quarantine is stored: a second restart keeps it */
	c = fx_table_media();
	pc = open_store(c);
	restore(pc, NOW_B, WALL_A + SEC(200));
	cr_assert(sp_table_is_quarantined(c, &lost, &until));
	cr_assert_eq(until, NOW_B + SEC(3600 + 32 - 200));
	/* and the expiry pass releases it */
	cr_assert_geq(sp_table_expire(c, until), 1);
	cr_assert_not(sp_table_is_quarantined(c, &lost, NULL));
	cr_assert_eq(sp_table_counters(c)->ports_quarantined_current, 0);
	sp_persist_close(pc);
	sp_table_destroy(c);

	/* once the mapping has expired, nothing is held any more */
	c = fx_table_media();
	pc = open_store(c);
	restore(pc, NOW_B, WALL_A + SEC(4000));
	cr_assert_not(sp_table_is_quarantined(c, &lost, NULL));
	sp_persist_close(pc);
	sp_table_destroy(c);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(persist, takeover_replaces_the_store)
{
	struct sp_table *a, *b, *c;
	struct sp_persist *pa, *pb;
	uint32_t ids[4];

	first_daemon(&a, &pa, ids);
	sp_persist_close(pa);
	/* a standby whose table (filled by the sync) holds one other binding */
	b = fx_table_media();
	pb = open_store(b);
	binding(b, "10.2.2.2", 5060, NOW_B);
	sp_persist_mark_all(pb);
	sp_persist_sync(pb, NOW_B, WALL_A + SEC(5));
	sp_persist_close(pb);
	c = fx_table_media();
	pb = open_store(c);
	restore(pb, NOW_B, WALL_A + SEC(6));
	cr_assert_eq(sp_table_counters(c)->bindings_current, 1);
	cr_assert_eq(sp_table_counters(c)->dialogs_current, 0);
	{
		struct sp_endpoint term = fx_ep("10.2.2.2", 5060);

		cr_assert_not_null(sp_binding_find(c, 3, &term), "the standby's binding");
	}
	sp_persist_close(pb);
	sp_table_destroy(a);
	sp_table_destroy(b);
	sp_table_destroy(c);
}

Test(persist, one_daemon_per_store)
{
	struct sp_table *a = fx_table_media(), *b = fx_table_media();
	struct sp_persist *pa = open_store(a);
	char err[256] = "";

	cr_assert_null(sp_persist_open(dir, b, NULL, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "in use"), "%s", err);
	sp_persist_close(pa);
	sp_table_destroy(a);
	sp_table_destroy(b);
}

Test(persist, unreadable_store_is_moved_aside)
{
	struct sp_table *t = fx_table_media();
	struct sp_persist *p;
	struct sp_persist_stats st;
	char path[128], junk[65536];
	FILE *f;

	/* not an LMDB file at all (a disk that returned garbage) */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	memset(junk, 0xee, sizeof(junk));
	cr_assert_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	p = open_store(t);
	sp_persist_get_stats(p, &st);
	cr_assert(strstr(st.unreadable_store, "/data.mdb.unreadable-"), "%s", st.unreadable_store);
	cr_assert_eq(access(st.unreadable_store, F_OK), 0, "kept for a post-mortem");
	restore(p, NOW_B, WALL_A);
	cr_assert_eq(sp_table_counters(t)->bindings_current, 0);
	/* and the new store works */
	sp_persist_mark(p, SP_SYNC_BINDING, binding(t, "10.3.3.3", 5060, NOW_B)->id);
	sp_persist_sync(p, NOW_B, WALL_A);
	cr_assert_eq(sp_persist_stored(p), 1);
	sp_persist_close(p);
	sp_table_destroy(t);
}

/* ---- a growing list that cannot grow (realloc fails) ----
 * The test binary is linked with --wrap=realloc --wrap=free (persist.am):
 * when armed, the first realloc that would grow a block fails, and the
 * block it was given is watched until freed. */
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);

static bool realloc_armed;
static void *realloc_refused;
static bool realloc_refused_freed;

void *__wrap_realloc(void *ptr, size_t size)
{
	if (realloc_armed && ptr) {
		realloc_armed = false;
		realloc_refused = ptr;
		return NULL;
	}
	return __real_realloc(ptr, size);
}

void __wrap_free(void *ptr)
{
	if (ptr && ptr == realloc_refused)
		realloc_refused_freed = true;
	__real_free(ptr);
}

/* Adds N records the daemon does not read (keys of no known kind): the
 * restore discards them, listing each for deletion. */
static void add_unreadable_records(int n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	for (int i = 0; i < n; i++) {
		uint8_t key[5] = { 'Z', 0, 0, (uint8_t)(i >> 8), (uint8_t)i }, val[8] = { 0 };
		MDB_val k = { sizeof(key), key }, v = { sizeof(val), val };

		cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void restore_out_of_memory(void)
{
	struct sp_table *t = fx_table_media();
	struct sp_persist *p = open_store(t);
	char err[256] = "";

	realloc_armed = true;
	cr_assert_eq(sp_persist_restore(p, NOW_B, WALL_A + SEC(100), err, sizeof(err)), -1);
	cr_assert_str_eq(err, "out of memory");
	cr_assert_not(realloc_armed, "a list had to grow");
	cr_assert(realloc_refused_freed, "the list realloc could not grow is freed, not lost");
	sp_persist_close(p);
	sp_table_destroy(t);
}

Test(persist, discarded_list_that_cannot_grow_is_freed)
{
	struct sp_table *t = fx_table_media();

	sp_persist_close(open_store(t));
	sp_table_destroy(t);
	add_unreadable_records(100);
	restore_out_of_memory();
}

Test(persist, quarantine_list_that_cannot_grow_is_freed)
{
	struct sp_table *t = fx_table_media();
	struct sp_persist *p = open_store(t);
	uint32_t ids[100];

	for (int i = 0; i < 100; i++) {
		struct sp_binding *b = binding(t, "10.1.1.1", (uint16_t)(6000 + i), NOW_A);

		sp_binding_set_registration(t, b, NOW_A, 3600);
		ids[i] = b->id;
		sp_persist_mark(p, SP_SYNC_BINDING, b->id);
	}
	sp_persist_sync(p, NOW_A, WALL_A);
	sp_persist_close(p);
	sp_table_destroy(t);
	/* unrestorable, each with a port the registrar still maps: every one
	 * is listed for quarantine, and none for deletion */
	for (int i = 0; i < 100; i++)
		damage_binding(ids[i]);
	restore_out_of_memory();
}

/* Sets the codec version byte of stored record kind:id (after the store's
 * 37-byte header), as a later daemon would have written it. */
static void set_record_version(char kind, uint32_t id, uint8_t version)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[5] = { (uint8_t)kind, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
			   (uint8_t)(id >> 8), (uint8_t)id };
	MDB_val k = { sizeof(key), key }, v;
	uint8_t val[4096];

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_gt(v.mv_size, 38);
	cr_assert_leq(v.mv_size, sizeof(val));
	memcpy(val, v.mv_data, v.mv_size);
	val[37] = version;
	v.mv_data = val;
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* One home for media (issue 16 item 3): a call of a terminal behind a NAT,
 * its RTCP latched elsewhere than RTP + 1, is restored with what it
 * learned (a version 4 record); a plain call's record is still version 1
 * and restores as before; a dialog record of a later version is not
 * restored, and is counted (and logged) as discarded. */
Test(persist, stream_latch_restored_and_later_versions_discarded)
{
	struct sp_table *a, *b, *c;
	struct sp_persist *pa, *pb, *pc;
	uint32_t ids[4], plain_id;
	struct sp_dialog *d, *y;
	struct sp_media_stream ms;
	struct sp_dialog_params dp = { 0 };
	struct sp_persist_stats st;

	first_daemon(&a, &pa, ids);
	d = sp_dialog_find_id(a, ids[3]);
	ms = d->media[0];
	ms.terminal = fx_ep("203.0.113.7", 31000);
	ms.terminal_rtcp = fx_ep("203.0.113.7", 31501);
	ms.terminal_sdp = fx_ep("192.168.77.10", 6000);
	ms.nat = SP_STREAM_NAT | SP_STREAM_LATCH | SP_STREAM_LATCHED_RTP | SP_STREAM_LATCHED_RTCP;
	cr_assert_eq(sp_dialog_set_media(a, d, &ms, 1), 0);
	sp_persist_mark(pa, SP_SYNC_DIALOG, d->id);
	dp.binding = sp_binding_find_id(a, ids[0]);
	dp.call_id = "plain@host";
	dp.call_id_len = strlen(dp.call_id);
	dp.state = SP_DIALOG_CONFIRMED;
	cr_assert_eq(sp_dialog_create(a, &dp, NOW_A, &y), 0);
	plain_id = y->id;
	sp_persist_mark(pa, SP_SYNC_DIALOG, plain_id);
	sp_persist_sync(pa, NOW_A, WALL_A);
	sp_persist_close(pa);

	b = fx_table_media();
	pb = open_store(b);
	restore(pb, NOW_B, WALL_A + SEC(5));
	y = sp_dialog_find_id(b, ids[3]);
	cr_assert_not_null(y);
	cr_assert(sp_endpoint_equal(&y->media[0].terminal, &ms.terminal));
	cr_assert(sp_endpoint_equal(&y->media[0].terminal_rtcp, &ms.terminal_rtcp));
	cr_assert(sp_endpoint_equal(&y->media[0].terminal_sdp, &ms.terminal_sdp));
	cr_assert_eq(y->media[0].nat, ms.nat);
	cr_assert_not_null(sp_dialog_find_id(b, plain_id));
	sp_persist_close(pb);

	set_record_version('D', ids[3], 99);
	c = fx_table_media();
	pc = open_store(c);
	restore(pc, NOW_B, WALL_A + SEC(10));
	cr_assert_null(sp_dialog_find_id(c, ids[3]), "a later version's record is not guessed at");
	cr_assert_not_null(sp_dialog_find_id(c, plain_id));
	sp_persist_get_stats(pc, &st);
	cr_assert_eq(st.restore.dialogs, 1);
	cr_assert_eq(st.restore.discarded, 1);
	sp_persist_close(pc);
	sp_table_destroy(a);
	sp_table_destroy(b);
	sp_table_destroy(c);
}
