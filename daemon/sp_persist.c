/*
 * Crash-safe persistence of the state tables on LMDB (see sp_persist.h).
 *
 * Threads: the owner's thread marks, flushes (encodes) and restores; the
 * writer thread only turns a batch of ready-made keys and values into one
 * LMDB write transaction. They share one batch slot under a mutex.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sp_log.h"
#include "sp_loop.h"
#include "sp_persist.h"
#include "sp_sync_codec.h"
#include "sp_persist_int.h"

uint64_t sp_persist_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sp_persist_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- encoding ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_ep(uint8_t *p, const struct sp_endpoint *ep)
{
	p[0] = ep->family;
	memcpy(p + 1, ep->addr.bytes, 16);
	put_le(p + 17, ep->port, 2);
}

static int get_ep(const uint8_t *p, struct sp_endpoint *ep)
{
	struct in6_addr a6;
	struct in_addr a4;
	uint16_t port = (uint16_t)get_le(p + 17, 2);

	sp_endpoint_clear(ep);
	switch (p[0]) {
	case 0:
		return 0;
	case AF_INET:
		memcpy(&a4, p + 1, sizeof(a4));
		sp_endpoint_set_v4(ep, a4, port);
		return 0;
	case AF_INET6:
		memcpy(&a6, p + 1, sizeof(a6));
		sp_endpoint_set_v6(ep, &a6, port);
		return 0;
	default:
		return -EINVAL;
	}
}

void sp_persist_put_header(uint8_t *p, const struct rec_header *h)
{
	p[0] = h->format;
	p[1] = h->kind;
	put_le(p + 2, h->written_wall_ms, 8);
	put_le(p + 10, h->hold_until_wall_ms, 8);
	put_ep(p + 18, &h->server_side);
}

int sp_persist_get_header(const uint8_t *p, size_t len, struct rec_header *h)
{
	if (len < HDR_LEN || p[0] != SP_PERSIST_FORMAT)
		return -EINVAL;
	h->format = p[0];
	h->kind = p[1];
	h->written_wall_ms = get_le(p + 2, 8);
	h->hold_until_wall_ms = get_le(p + 10, 8);
	return get_ep(p + 18, &h->server_side);
}

static size_t make_id_key(uint8_t *k, uint8_t kind, uint32_t id)
{
	k[0] = kind;
	k[1] = (uint8_t)(id >> 24);
	k[2] = (uint8_t)(id >> 16);
	k[3] = (uint8_t)(id >> 8);
	k[4] = (uint8_t)id;
	return KEY_ID_LEN;
}

size_t sp_persist_make_quarantine_key(uint8_t *k, const struct sp_endpoint *c)
{
	k[0] = KEY_QUARANTINE;
	put_ep(k + 1, c);
	return 1 + EP_LEN;
}

/* ---- batches ---- */

static int batch_add(struct batch *b, const uint8_t *key, size_t klen, const uint8_t *val,
		     uint32_t vlen)
{
	size_t need = 1 + klen + 4 + (vlen == UINT32_MAX ? 0 : vlen);

	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		uint8_t *nb;

		while (cap < b->len + need)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	b->buf[b->len++] = (uint8_t)klen;
	memcpy(b->buf + b->len, key, klen);
	b->len += klen;
	put_le(b->buf + b->len, vlen, 4);
	b->len += 4;
	if (vlen != UINT32_MAX) {
		memcpy(b->buf + b->len, val, vlen);
		b->len += vlen;
	}
	b->n++;
	return 0;
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

/* Deletes every key of one kind (the cursor's deletes keep it positioned). */
static int drop_kind(MDB_txn *txn, MDB_dbi dbi, uint8_t kind)
{
	MDB_cursor *cur;
	MDB_val k = { 1, &kind }, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size && ((uint8_t *)k.mv_data)[0] == kind) {
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		if (rc == EINVAL || rc == MDB_NOTFOUND)	/* deleted the last one */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int batch_commit(struct sp_persist *p, const struct batch *b, uint64_t *written,
			uint64_t *deleted)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(p->env, NULL, 0, &txn);

	*written = *deleted = 0;
	if (rc)
		return rc;
	if (b->clear && ((rc = drop_kind(txn, p->dbi, KEY_BINDING)) ||
			 (rc = drop_kind(txn, p->dbi, KEY_DIALOG))))
		goto abort;
	for (size_t off = 0; off < b->len;) {
		MDB_val k, v;
		uint32_t vlen;

		k.mv_size = b->buf[off++];
		k.mv_data = b->buf + off;
		off += k.mv_size;
		vlen = (uint32_t)get_le(b->buf + off, 4);
		off += 4;
		if (vlen == UINT32_MAX) {
			rc = mdb_del(txn, p->dbi, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
			(*deleted)++;
		} else {
			v.mv_size = vlen;
			v.mv_data = b->buf + off;
			off += vlen;
			rc = mdb_put(txn, p->dbi, &k, &v, 0);
			(*written)++;
		}
		if (rc)
			goto abort;
	}
	return mdb_txn_commit(txn); /* durable: LMDB syncs before it returns */
abort:
	mdb_txn_abort(txn);
	return rc;
}

static void *writer_main(void *arg)
{
	struct sp_persist *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct batch *b;
		uint64_t t0, us, written, deleted;
		int rc;

		while (!p->slot && !p->stop)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (!p->slot)
			break;
		b = p->slot;
		pthread_mutex_unlock(&p->mu);
		t0 = sp_persist_mono_us();
		rc = batch_commit(p, b, &written, &deleted);
		us = sp_persist_mono_us() - t0;
		if (rc)
			sp_err("persistence: writing %u records to %s: %s", b->n, p->dir,
			       mdb_strerror(rc));
		pthread_mutex_lock(&p->mu);
		if (rc) {
			p->st.write_errors++;
		} else {
			p->st.transactions++;
			p->st.records_written += written;
			p->st.records_deleted += deleted;
			p->st.last_batch_records = b->n;
			p->st.last_commit_us = us;
			if (us > p->st.max_commit_us)
				p->st.max_commit_us = us;
		}
		p->slot = NULL;
		pthread_cond_broadcast(&p->cv_done);
		batch_free(b);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- marking and flushing (owner's thread) ---- */

static void timer_cb(struct sp_loop *loop, void *arg)
{
	struct sp_persist *p = arg;

	(void)loop;
	p->timer_armed = false;
	sp_persist_flush(p, sp_loop_now_ms(), sp_persist_wall_ms());
	if ((p->n_dirty || p->clear_pending) && p->timer) {
		sp_loop_timer_arm(p->timer, SP_PERSIST_BATCH_MS);
		p->timer_armed = true;
	}
}

void sp_persist_mark(struct sp_persist *p, enum sp_sync_kind kind, uint32_t id)
{
	uint64_t key = (uint64_t)kind << 32 | id;

	if (!p || !id)
		return;
	/* one message changes one object several times (touch, contact,
	 * return path): the same mark twice in a row is one */
	if (p->n_dirty && p->dirty[p->n_dirty - 1] == key)
		return;
	if (p->n_dirty == p->cap_dirty) {
		size_t cap = p->cap_dirty ? p->cap_dirty * 2 : 1024;
		uint64_t *nd = realloc(p->dirty, cap * sizeof(*nd));

		if (!nd) {
			sp_err("persistence: out of memory: a change is not stored");
			return;
		}
		p->dirty = nd;
		p->cap_dirty = cap;
	}
	p->dirty[p->n_dirty++] = key;
	p->st.marks++;
	if (p->timer && !p->timer_armed) {
		sp_loop_timer_arm(p->timer, SP_PERSIST_BATCH_MS);
		p->timer_armed = true;
	}
}

/* The table's change hook (sp_table_watch). Not while restoring: the
 * store is where those changes come from. While not following (a standby)
 * only deletes: what the peer sends is written when this side takes over
 * (sp_persist_mark_all), an object gone is never to be restored. */
static void persist_changed(void *arg, const struct sp_store_change *c)
{
	struct sp_persist *p = arg;

	if (p->restoring || (!p->follow && c->op != SP_STORE_DELETE))
		return;
	sp_persist_mark(p, c->kind == SP_STORE_BINDING ? SP_SYNC_BINDING : SP_SYNC_DIALOG, c->id);
}

void sp_persist_follow(struct sp_persist *p, bool all)
{
	if (p)
		p->follow = all;
}

void sp_persist_mark_all(struct sp_persist *p)
{
	if (!p)
		return;
	p->clear_pending = true;
	for (struct sp_binding *b = sp_binding_first(p->t); b; b = sp_binding_next(p->t, b))
		sp_persist_mark(p, SP_SYNC_BINDING, b->id);
	for (struct sp_dialog *d = sp_dialog_first(p->t); d; d = sp_dialog_next(p->t, d))
		sp_persist_mark(p, SP_SYNC_DIALOG, d->id);
	if (p->timer && !p->timer_armed) {
		sp_loop_timer_arm(p->timer, SP_PERSIST_BATCH_MS);
		p->timer_armed = true;
	}
}

static void sift_down(uint64_t *a, size_t root, size_t n)
{
	uint64_t v = a[root];

	for (;;) {
		size_t c = 2 * root + 1;

		if (c >= n)
			break;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[c] <= v)
			break;
		a[root] = a[c];
		root = c;
	}
	a[root] = v;
}

/* A period's marks in ascending order (duplicates next to each other): a
 * heapsort with the comparison inline, as qsort's merge sort called its
 * comparison through a pointer and took ~4 % of the daemon's instructions
 * per call (bench/count). */
static void sort_u64(uint64_t *a, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		uint64_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* Encodes (kind, id) into the batch: the record, or a delete. */
static int encode_one(struct sp_persist *p, struct batch *b, enum sp_sync_kind kind, uint32_t id,
		      uint64_t now_ms, uint64_t wall_ms)
{
	uint8_t key[KEY_MAX];
	size_t klen = make_id_key(key, kind == SP_SYNC_BINDING ? KEY_BINDING : KEY_DIALOG, id);
	struct rec_header h = { .format = SP_PERSIST_FORMAT, .kind = key[0],
				.written_wall_ms = wall_ms };
	ssize_t n;

	if (kind == SP_SYNC_DIALOG && p->hooks.prepare_dialog && sp_dialog_find_id(p->t, id))
		p->hooks.prepare_dialog(p->hooks.arg, id);
	n = sp_sync_codec_encode(p->codec, kind, id, now_ms, p->scratch + HDR_LEN,
				 sizeof(p->scratch) - HDR_LEN);
	if (n < 0) {
		p->st.encode_errors++;
		return 0;
	}
	if (n == 0)
		return batch_add(b, key, klen, NULL, UINT32_MAX);
	if (kind == SP_SYNC_BINDING) {
		const struct sp_binding *bd = sp_binding_find_id(p->t, id);
		uint64_t deadline = sp_binding_deadline(p->t, bd);

		h.server_side = bd->server_side;
		h.hold_until_wall_ms = deadline > now_ms ? wall_ms + (deadline - now_ms) : wall_ms;
	}
	sp_persist_put_header(p->scratch, &h);
	return batch_add(b, key, klen, p->scratch, (uint32_t)(HDR_LEN + (size_t)n));
}

unsigned sp_persist_flush(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms)
{
	struct batch *b;
	size_t n = 0;
	unsigned handed;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (p->slot) {
		/* the writer is behind: keep coalescing */
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if (p->st.write_errors != p->write_errors_seen) {
		/* a transaction failed as a whole: its records are not in
		 * the store, and which they were is gone with the batch. A
		 * store that keeps failing (disk full) is retried with the
		 * whole table every SP_PERSIST_RETRY_MS, not every batch:
		 * encoding it all is not free for the event loop. */
		p->write_errors_seen = p->st.write_errors;
		pthread_mutex_unlock(&p->mu);
		sp_persist_mark_all(p);
		p->retry_at_ms = now_ms + SP_PERSIST_RETRY_MS;
	} else {
		pthread_mutex_unlock(&p->mu);
	}
	if ((!p->n_dirty && !p->clear_pending) || now_ms < p->retry_at_ms)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return 0;
	sort_u64(p->dirty, p->n_dirty);
	for (size_t i = 0; i < p->n_dirty; i++) {
		if (i && p->dirty[i] == p->dirty[i - 1])
			continue;
		if (encode_one(p, b, (enum sp_sync_kind)(p->dirty[i] >> 32), (uint32_t)p->dirty[i],
			       now_ms, wall_ms) < 0) {
			/* out of memory: what is left stays marked */
			memmove(p->dirty, p->dirty + i, (p->n_dirty - i) * sizeof(*p->dirty));
			p->n_dirty -= i;
			n = 1;
			break;
		}
	}
	if (!n)
		p->n_dirty = 0;
	b->clear = p->clear_pending;
	p->clear_pending = false;
	handed = b->n;
	pthread_mutex_lock(&p->mu);
	p->slot = b;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return handed;
}

static void wait_writer(struct sp_persist *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->slot)
		pthread_cond_wait(&p->cv_done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void sp_persist_sync(struct sp_persist *p, uint64_t now_ms, uint64_t wall_ms)
{
	uint64_t errors;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	errors = p->st.write_errors;
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		bool failed;

		wait_writer(p);
		pthread_mutex_lock(&p->mu);
		failed = p->st.write_errors != errors;
		pthread_mutex_unlock(&p->mu);
		/* a store that refuses writes (disk full) is not waited for */
		if (failed || now_ms < p->retry_at_ms || (!p->n_dirty && !p->clear_pending))
			break;
		sp_persist_flush(p, now_ms, wall_ms);
	}
}

/* ---- open and close ---- */

static int env_open(struct sp_persist *p)
{
	int rc;

	if (p->env) {
		mdb_env_close(p->env);
		p->env = NULL;
	}
	if ((rc = mdb_env_create(&p->env)))
		return rc;
	if ((rc = mdb_env_set_mapsize(p->env, SP_PERSIST_MAP_BYTES)) ||
	    (rc = mdb_env_open(p->env, p->dir, MDB_NOTLS, 0600))) {
		mdb_env_close(p->env);
		p->env = NULL;
	}
	return rc;
}

/* A store this LMDB cannot read (rc) must not keep the router from
 * starting: it is kept aside for a post-mortem and the daemon starts with an
 * empty one (which ports a registrar maps is then unknown: said loudly).
 * 0, or -1 with err when it cannot be moved. */
static int set_aside(struct sp_persist *p, const char *dir, int rc, char *err, size_t errlen)
{
	char from[4200], to[4200];

	snprintf(from, sizeof(from), "%s/data.mdb", dir);
	snprintf(to, sizeof(to), "%s/data.mdb.unreadable-%llu", dir,
		 (unsigned long long)(sp_persist_wall_ms() / 1000));
	sp_err("persistence: the store %s is unreadable (%s): moved to %s, starting without "
	       "the bindings of the previous run", from, mdb_strerror(rc), to);
	snprintf(p->st.unreadable_store, sizeof(p->st.unreadable_store), "%s", to);
	if (rename(from, to) < 0) {
		snprintf(err, errlen, "state store %s: %s, and cannot move it aside: %s", dir,
			 mdb_strerror(rc), strerror(errno));
		return -1;
	}
	return 0;
}

struct sp_persist *sp_persist_open(const char *dir, struct sp_table *t,
				   const struct sp_persist_hooks *hooks, struct sp_loop *loop,
				   char *err, size_t errlen)
{
	struct sp_persist *p = calloc(1, sizeof(*p));
	char path[4200];
	MDB_txn *txn = NULL;
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->lock_fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	p->t = t;
	p->follow = true;
	if (hooks)
		p->hooks = *hooks;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* LMDB lets several processes share an environment; two daemons
	 * restoring and writing the same bindings must not */
	snprintf(path, sizeof(path), "%s/sigproxyd.lock", dir);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "state directory %s is in use by another sigproxyd", dir);
		goto fail;
	}
	rc = env_open(p);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
		if (set_aside(p, dir, rc, err, errlen) < 0)
			goto fail;
		rc = env_open(p);
	}
	if (rc) {
		snprintf(err, errlen, "state store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	/* readers a killed process left in the lock table would pin old pages */
	mdb_reader_check(p->env, NULL);
	if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &p->dbi)) ||
	    (rc = mdb_txn_commit(txn))) {
		if (txn && rc)
			mdb_txn_abort(txn);
		snprintf(err, errlen, "state store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	p->codec = sp_sync_codec_new(t);
	if (!p->codec || (loop && !(p->timer = sp_loop_timer_new(loop, timer_cb, p)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (sp_table_watch(t, persist_changed, p) < 0) {
		snprintf(err, errlen, "the table has no room for another watcher");
		goto fail;
	}
	if ((rc = pthread_create(&p->writer, NULL, writer_main, p))) {
		snprintf(err, errlen, "writer thread: %s", strerror(rc));
		goto fail;
	}
	p->writer_started = true;
	return p;
fail:
	sp_persist_close(p);
	return NULL;
}

void sp_persist_close(struct sp_persist *p)
{
	if (!p)
		return;
	sp_table_unwatch(p->t, persist_changed, p);
	if (p->writer_started) {
		sp_persist_sync(p, sp_loop_now_ms(), sp_persist_wall_ms());
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->writer, NULL);
	}
	sp_loop_timer_free(p->timer);
	sp_sync_codec_free(p->codec);
	if (p->env)
		mdb_env_close(p->env);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_done);
	free(p->dirty);
	free(p);
}

/* ---- statistics (read by `show persistence`, cli/sp_show) ---- */

void sp_persist_get_stats(struct sp_persist *p, struct sp_persist_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	pthread_mutex_unlock(&p->mu);
	out->marks = p->st.marks;
	out->pending = p->n_dirty;
	out->encode_errors = p->st.encode_errors;
}

long sp_persist_stored(struct sp_persist *p)
{
	MDB_stat ms;

	if (mdb_env_stat(p->env, &ms))
		return -1;
	return (long)ms.ms_entries;
}

const char *sp_persist_dir(const struct sp_persist *p)
{
	return p->dir;
}

const struct sp_table *sp_persist_table(const struct sp_persist *p)
{
	return p->t;
}
