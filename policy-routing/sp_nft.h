/* sigproxy's nftables table, through libnftables.
 *
 * sigproxy owns exactly one table, `table inet sigproxy`, and replaces it whole
 * in one transaction: a ruleset the kernel refuses leaves the previous table in
 * place. The interception ruleset is produced by a pure generator, so the
 * engine and the tests build it without root.
 *
 * Functions returning int give 0 on success, or -1 with errno set and a one-line
 * reason in the caller's err buffer (err may be NULL).
 */
#ifndef SP_NFT_H
#define SP_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "sp_rtnl.h"
#include "sp_error.h"

#define SP_NFT_FAMILY "inet"
#define SP_NFT_TABLE "sigproxy"
#define SP_NFT_MAX_IIFNAMES 16

struct sp_nft;

int sp_nft_open(struct sp_nft **out, struct sp_error *err);
void sp_nft_close(struct sp_nft *nft);

/* Replaces the table with `table inet sigproxy { BODY }` atomically, whether
 * it existed or not. */
int sp_nft_apply(struct sp_nft *nft, const char *body, struct sp_error *err);
/* Deletes the table; no table is not an error. */
int sp_nft_remove(struct sp_nft *nft, struct sp_error *err);
/* The table as `nft list table inet sigproxy` prints it; *text malloc'ed.
 * ENOENT when there is no table. */
int sp_nft_list(struct sp_nft *nft, char **text, struct sp_error *err);
/* The packets of a named counter of the table, read over nfnetlink (no
 * libnftables cache: cheap whatever the table holds); -1 (ENOENT) without
 * it. */
int sp_nft_counter_packets(struct sp_nft *nft, const char *name, uint64_t *packets,
			   struct sp_error *err);
/* The elements of a set of the table as nft prints them ("0x00000001 .
 * 10.1.0.12"), one per line; *text malloc'ed. */
int sp_nft_set_elements(struct sp_nft *nft, const char *set, char **text, struct sp_error *err);
/* sp_nft_set_elements' parser (exposed for the unit tests): a set
 * listing's elements one per line without their "expires ..." (*out
 * malloc'ed). */
int sp_nft_parse_elements(const char *listing, char **out);

/* Empties a set of the table (ENOENT when there is no such set). */
int sp_nft_flush_set(struct sp_nft *nft, const char *set, struct sp_error *err);

/* ---- interception ruleset generator (pure) ------------------------------- */

enum sp_nft_verdict {
	SP_NFT_ACCEPT,	/* forward: pass untouched */
	SP_NFT_DROP,
	SP_NFT_TPROXY,	/* deliver to the daemon's listener */
};

/* One proxy strategy in kernel terms. Zero fields match anything. */
struct sp_nft_entry {
	const char *comment;		/* optional, e.g. the strategy name */
	char iifnames[SP_NFT_MAX_IIFNAMES][IFNAMSIZ];
	size_t n_iifnames;
	uint8_t ip_proto;		/* 0 = tcp and udp */
	struct sp_rt_prefix src;	/* src and dst, when both set, share a family */
	struct sp_rt_prefix dst;
	struct sp_rt_port_range sport;
	struct sp_rt_port_range dport;	/* any = the listen ports */
	uint32_t mark;			/* set on a match (within mark_mask); 0 = leave */
	/* match only packets whose mark & mark_match_mask == mark_match (set
	 * earlier, e.g. a VLAN's tag slot by tc-BPF); mask 0 = any mark */
	uint32_t mark_match, mark_match_mask;
	enum sp_nft_verdict verdict;
	uint16_t tproxy_port;		/* SP_NFT_TPROXY: the listener's port */
	/* AF_INET or AF_INET6 pins an entry to one family where its
	 * addresses do not (`meta nfproto`); 0: as its addresses say */
	uint8_t family;
};

/* The whole interception: entries in sequence order (first match wins), then
 * the default verdict for the remaining signaling to the listen ports. */
struct sp_nft_intercept {
	const struct sp_nft_entry *entries;
	size_t n_entries;
	const uint16_t *listen_ports;
	size_t n_listen_ports;		/* at least one */
	enum sp_nft_verdict default_verdict;	/* SP_NFT_ACCEPT or SP_NFT_DROP */
	/* The mark bits sigproxy owns (others, e.g. set by a VPN classifier,
	 * survive); 0 means the whole mark. */
	uint32_t mark_mask;
	/* The policy rule that delivers TPROXY'd packets locally matches
	 * fwmark/fwmask: every TPROXY entry's mark must carry it. */
	uint32_t fwmark;
	uint32_t fwmask;
	/* More chains for the same table, verbatim (e.g. sp_vpn's); NULL: none. */
	const char *extra_chains;
	/* Every value (mark & ~mark_mask) a packet can carry when it reaches
	 * the interception (the VPN and tag slots set before it), each once.
	 * With them, TPROXY entries can share a map from the packet's fields
	 * to its whole new mark; NULL: unknown, TPROXY entries stay rules. */
	const uint32_t *origin_marks;
	size_t n_origin_marks;
	/* Per-source limits on what the interception delivers to the daemon
	 * (packets carrying fwmark), in an input chain: a source is the
	 * packet's source address and its mark & source_key_mask (the VPN
	 * slot), so equal addresses in two VPNs are two sources. 0: off. */
	uint32_t source_rate;		/* datagrams per second */
	uint32_t source_new_flows;	/* new conntrack flows per second */
	uint32_t source_key_mask;
};

/* The named counters of the per-source drops, and the sets of the sources
 * limited in the last minute (key: mark & source_key_mask . address). */
#define SP_NFT_SOURCE_RATE_COUNTER "source_rate_drops"
#define SP_NFT_SOURCE_NEW_COUNTER "source_new_drops"
#define SP_NFT_LIMITED_SET_V4 "limited_sources_v4"
#define SP_NFT_LIMITED_SET_V6 "limited_sources_v6"
/* How long a source stays in the limited sets after its last drop. */
#define SP_NFT_LIMITED_TIMEOUT_S 60

/* Runs of at least this many entries of one shape (the same fields matched,
 * the same verdict kind) whose matches cannot overlap become one map lookup:
 * a verdict map for forward and drop (one counter and comment per element),
 * a mark map for TPROXY; the chain's cost per packet no longer grows with
 * the number of entries. An entry joins an earlier map only when it overlaps
 * no entry in between, so first match wins exactly as in a linear chain. */
#define SP_NFT_GROUP_MIN 4

/* The table body (chains and rules, no `table` line) for sp_nft_apply();
 * *body malloc'ed. EINVAL with a reason for an entry nft cannot express. */
int sp_nft_render_intercept(const struct sp_nft_intercept *spec, char **body,
			    struct sp_error *err);

/* What the last render made of the entries (for tests and benchmarks). */
struct sp_nft_render_stats {
	size_t rules;	/* rules in the intercept chain for the entries */
	size_t maps;	/* of which map lookups */
	size_t elements;
};
int sp_nft_render_intercept_stats(const struct sp_nft_intercept *spec, char **body,
				  struct sp_nft_render_stats *stats, struct sp_error *err);

/* Whether some packet could match both entries (conservative: true when
 * unsure). The grouping's test; exposed for the unit tests. */
bool sp_nft_entries_overlap(const struct sp_nft_entry *a, const struct sp_nft_entry *b);

#endif
