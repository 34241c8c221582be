/*
 * The media guard (issue 14): nftables rules in sigproxy's table that keep
 * untranslated media from crossing the SP.
 *
 * A terminal (or the far side) often sends RTP before the answer that
 * tells the SP both sides' addresses has been relayed, or from an address
 * and port its SDP does not name (a NAT). Such a packet to E:pe or C:pc
 * matches none of the NATed conntrack entries sp_media programs: routed
 * on (E is routable on a router with a default route) it would leak to the
 * other side untranslated, and the plain conntrack entry it creates would
 * take the tuple the daemon's NATed entry needs (EEXIST). The guard drops,
 * in prerouting after the NAT hook (so before forward and input, and before
 * conntrack confirms an entry for it), every IPv4 UDP packet to a port of
 * the media range that no NATed entry translates (IPv6 too where the SP
 * intercepts IPv6), and records its addresses in the set
 * SP_MEDIA_GUARD_SET (IPv6: SP_MEDIA_GUARD_SET6), from which the daemon learns where a terminal
 * behind a NAT really sends from (latching, sp_media_latch).
 *
 * Rendering and parsing are pure; sp_kernel installs the chains with the
 * interception and reads the set (the engine only talks to sp_kernel).
 */
#ifndef SP_MEDIA_GUARD_H
#define SP_MEDIA_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_endpoint.h"

#define SP_MEDIA_GUARD_SET "media_seen"
/* the same for IPv6 (where the SP intercepts IPv6) */
#define SP_MEDIA_GUARD_SET6 "media_seen6"
/* the named counter of the drop rule (read alone, without listing the table) */
#define SP_MEDIA_GUARD_COUNTER "media_guard_drops"
/* how long a recorded packet stays in the set, and how many it holds */
#define SP_MEDIA_GUARD_SEEN_TIMEOUT_S 10
#define SP_MEDIA_GUARD_SEEN_MAX 4096

/* One packet the guard dropped: its source and destination. */
struct sp_media_guard_seen {
	struct sp_endpoint src, dst;
};

/*
 * The set and chain for the media port range first..last, to append to the
 * table body; *out malloc'ed ("" when first is 0: no range, no guard).
 * 0, or -1 (out of memory).
 */
int sp_media_guard_render(uint16_t first, uint16_t last, char **out);
/* The same, with ipv6: IPv6 UDP to the range that no NATed entry
 * translates is recorded in SP_MEDIA_GUARD_SET6, dropped and counted too;
 * for an SP that intercepts IPv6 (an IPv6 server-side address), so an
 * IPv4-only SP leaves others' IPv6 alone. */
int sp_media_guard_render_families(uint16_t first, uint16_t last, bool ipv6, char **out);

/* The elements of SP_MEDIA_GUARD_SET or SP_MEDIA_GUARD_SET6, one a line as
 * sp_nft_set_elements gives them ("10.3.0.2 . 30012 . 198.51.100.1 . 20008",
 * "2001:db8:4::2 . 30012 . 2001:db8:5::1 . 20008"), into a
 * malloc'ed array (*out, free()). Returns the count (unparsable elements
 * skipped), or -1 (out of memory). */
int sp_media_guard_parse_seen(const char *text, struct sp_media_guard_seen **out);

#endif
