/* The one owner of install state: see sp_status.h. Each kind is an array
 * sorted by (seq, name), so a read (an SNMP walk of 10 000 strategies asks
 * once per row) is a binary search; writers publish in configuration order,
 * which makes a set an append. */
#include "config.h"
#include "sp_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sp_status_list {
	struct sp_status_item *items;
	size_t n, cap;
};

struct sp_status {
	struct sp_status_list kinds[SP_STATUS_KINDS];
};

struct sp_status *sp_status_new(void)
{
	return calloc(1, sizeof(struct sp_status));
}

void sp_status_free(struct sp_status *st)
{
	if (!st)
		return;
	for (int k = 0; k < SP_STATUS_KINDS; k++)
		free(st->kinds[k].items);
	free(st);
}

void sp_status_reset(struct sp_status *st, enum sp_status_kind kind)
{
	if (st && kind < SP_STATUS_KINDS)
		st->kinds[kind].n = 0;
}

static int sp_status_cmp(uint32_t seq, const char *name, const struct sp_status_item *it)
{
	if (seq != it->seq)
		return seq < it->seq ? -1 : 1;
	return strcmp(name, it->name);
}

/* The index of the first item not below (seq, name). */
static size_t sp_status_lower(const struct sp_status_list *l, const char *name, uint32_t seq)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp_status_cmp(seq, name, &l->items[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int sp_status_set(struct sp_status *st, enum sp_status_kind kind, const char *name, uint32_t seq,
		  bool installed, const char *reason)
{
	struct sp_status_list *l;
	struct sp_status_item *it;
	size_t at;

	if (!st || kind >= SP_STATUS_KINDS)
		return 0;
	l = &st->kinds[kind];
	/* in order (the usual case): straight to the end */
	at = l->n && sp_status_cmp(seq, name, &l->items[l->n - 1]) > 0 ? l->n
								       : sp_status_lower(l, name, seq);
	if (at == l->n || sp_status_cmp(seq, name, &l->items[at]) != 0) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			struct sp_status_item *n = realloc(l->items, cap * sizeof(*n));

			if (!n)
				return -1;
			l->items = n;
			l->cap = cap;
		}
		memmove(&l->items[at + 1], &l->items[at], (l->n - at) * sizeof(*l->items));
		l->n++;
	}
	it = &l->items[at];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->seq = seq;
	it->installed = installed;
	snprintf(it->reason, sizeof(it->reason), "%s", reason ? reason : "");
	return 0;
}

const struct sp_status_item *sp_status_get(const struct sp_status *st, enum sp_status_kind kind,
					   const char *name, uint32_t seq)
{
	const struct sp_status_list *l;
	size_t at;

	if (!st || kind >= SP_STATUS_KINDS)
		return NULL;
	l = &st->kinds[kind];
	at = sp_status_lower(l, name, seq);
	return at < l->n && sp_status_cmp(seq, name, &l->items[at]) == 0 ? &l->items[at] : NULL;
}
