/*
 * Port allocator: hands out ports (or even/odd RTP/RTCP pairs) from a
 * configured range in O(1).
 *
 * Free ports are kept in least-recently-released order: a released port goes
 * to the back of the queue, so it is not handed out again while older free
 * ports remain, and late retransmissions for its previous owner do not land
 * on a new one.
 */
#ifndef SP_PORTALLOC_H
#define SP_PORTALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_portalloc;

/*
 * Ports first..last inclusive. step 1: single ports; step 2: pairs, the
 * allocator returns the even port p and also owns p+1 (first is rounded up
 * to even, a pair must fit below last). Returns NULL with errno EINVAL for
 * an empty range or bad step, ENOMEM on allocation failure.
 */
struct sp_portalloc *sp_portalloc_create(uint16_t first, uint16_t last, unsigned step);
void sp_portalloc_destroy(struct sp_portalloc *pa);

/* 0 and *port set, or -ENOSPC when every port is in use. */
int sp_portalloc_alloc(struct sp_portalloc *pa, uint16_t *port);
/*
 * Claim one given port (e.g. a binding synced from the active peer).
 * 0, -ERANGE (not a port of this allocator) or -EADDRINUSE.
 */
int sp_portalloc_take(struct sp_portalloc *pa, uint16_t port);
/* 0, -ERANGE, or -EINVAL when the port is not in use (double release). */
int sp_portalloc_release(struct sp_portalloc *pa, uint16_t port);
bool sp_portalloc_in_use(const struct sp_portalloc *pa, uint16_t port);
/* Does this allocator hand out port (in range and aligned)? */
bool sp_portalloc_owns(const struct sp_portalloc *pa, uint16_t port);

unsigned sp_portalloc_capacity(const struct sp_portalloc *pa);
unsigned sp_portalloc_used(const struct sp_portalloc *pa);
size_t sp_portalloc_bytes(const struct sp_portalloc *pa);

#endif
