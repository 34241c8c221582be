/*
 * Port allocator. Each slot (port or pair) is a node of a doubly-linked free
 * list kept as index arrays; a sentinel node at index nslots closes the ring.
 * Allocation takes the head, release appends at the tail, claiming a given
 * slot unlinks it from the middle: all O(1), no per-call allocation.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "sp_portalloc.h"

#define SLOT_IN_USE UINT32_MAX

struct sp_portalloc {
	uint16_t first;
	unsigned step;
	uint32_t nslots;
	uint32_t used;
	/* Per slot, plus the sentinel at [nslots]; prev == SLOT_IN_USE marks use. */
	uint32_t *next;
	uint32_t *prev;
};

static void unlink_slot(struct sp_portalloc *pa, uint32_t s)
{
	pa->next[pa->prev[s]] = pa->next[s];
	pa->prev[pa->next[s]] = pa->prev[s];
	pa->prev[s] = SLOT_IN_USE;
	pa->next[s] = SLOT_IN_USE;
	pa->used++;
}

static void append_slot(struct sp_portalloc *pa, uint32_t s)
{
	uint32_t head = pa->nslots;
	uint32_t tail = pa->prev[head];

	pa->next[s] = head;
	pa->prev[s] = tail;
	pa->next[tail] = s;
	pa->prev[head] = s;
	pa->used--;
}

struct sp_portalloc *sp_portalloc_create(uint16_t first, uint16_t last, unsigned step)
{
	struct sp_portalloc *pa;
	uint32_t lo = first, nslots;

	if (step != 1 && step != 2) {
		errno = EINVAL;
		return NULL;
	}
	if (step == 2 && lo % 2)
		lo++;
	if (lo == 0)	/* port 0 means "any" to the socket API: never hand it out */
		lo = step;
	if (lo + step - 1 > last) {
		errno = EINVAL;
		return NULL;
	}
	nslots = ((uint32_t)last - lo + 1) / step;

	pa = calloc(1, sizeof(*pa));
	if (!pa)
		return NULL;
	pa->first = (uint16_t)lo;
	pa->step = step;
	pa->nslots = nslots;
	pa->next = malloc((nslots + 1) * sizeof(*pa->next));
	pa->prev = malloc((nslots + 1) * sizeof(*pa->prev));
	if (!pa->next || !pa->prev) {
		sp_portalloc_destroy(pa);
		errno = ENOMEM;
		return NULL;
	}
	pa->next[nslots] = nslots;
	pa->prev[nslots] = nslots;
	pa->used = nslots;
	for (uint32_t s = 0; s < nslots; s++)
		append_slot(pa, s);
	return pa;
}

void sp_portalloc_destroy(struct sp_portalloc *pa)
{
	if (!pa)
		return;
	free(pa->next);
	free(pa->prev);
	free(pa);
}

bool sp_portalloc_owns(const struct sp_portalloc *pa, uint16_t port)
{
	if (port < pa->first || (port - pa->first) % pa->step)
		return false;
	return (uint32_t)(port - pa->first) / pa->step < pa->nslots;
}

int sp_portalloc_alloc(struct sp_portalloc *pa, uint16_t *port)
{
	uint32_t s = pa->next[pa->nslots];

	if (s == pa->nslots)
		return -ENOSPC;
	unlink_slot(pa, s);
	*port = (uint16_t)(pa->first + s * pa->step);
	return 0;
}

int sp_portalloc_take(struct sp_portalloc *pa, uint16_t port)
{
	uint32_t s;

	if (!sp_portalloc_owns(pa, port))
		return -ERANGE;
	s = (uint32_t)(port - pa->first) / pa->step;
	if (pa->prev[s] == SLOT_IN_USE)
		return -EADDRINUSE;
	unlink_slot(pa, s);
	return 0;
}

int sp_portalloc_release(struct sp_portalloc *pa, uint16_t port)
{
	uint32_t s;

	if (!sp_portalloc_owns(pa, port))
		return -ERANGE;
	s = (uint32_t)(port - pa->first) / pa->step;
	if (pa->prev[s] != SLOT_IN_USE)
		return -EINVAL;
	append_slot(pa, s);
	return 0;
}

bool sp_portalloc_in_use(const struct sp_portalloc *pa, uint16_t port)
{
	if (!sp_portalloc_owns(pa, port))
		return false;
	return pa->prev[(uint32_t)(port - pa->first) / pa->step] == SLOT_IN_USE;
}

unsigned sp_portalloc_capacity(const struct sp_portalloc *pa)
{
	return pa->nslots;
}

unsigned sp_portalloc_used(const struct sp_portalloc *pa)
{
	return pa->used;
}

size_t sp_portalloc_bytes(const struct sp_portalloc *pa)
{
	return sizeof(*pa) + 2 * (pa->nslots + 1) * sizeof(uint32_t);
}
