/* What the nft ruleset generator (sp_nft_render.c) and its grouping of
 * entries into maps (sp_nft_group.c) share; nothing outside them uses it. */
#ifndef SP_NFT_INT_H
#define SP_NFT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_nft.h"

enum sp_nft_group_kind {
	SP_NFT_GROUP_RULE,	/* a rule of its own */
	SP_NFT_GROUP_VMAP,	/* forward/drop: key -> accept/drop */
	SP_NFT_GROUP_MARKMAP,	/* TPROXY: key -> whole new mark, a map per origin */
};

struct sp_nft_group {
	enum sp_nft_group_kind kind;
	size_t *members;	/* entry indices, ascending */
	size_t n, cap;
};

/* sp_nft_render.c */
int sp_nft_entry_family(const struct sp_nft_entry *e);
void sp_nft_put_nfproto(FILE *w, const struct sp_nft_entry *e);
const char *sp_nft_l4_keyword(uint8_t proto);
uint32_t sp_nft_owned_mask(const struct sp_nft_intercept *spec);
void sp_nft_put_listen_ports(FILE *out, const char *l4, const struct sp_nft_intercept *spec);

/* sp_nft_group.c: the entries in groups, in evaluation order (-1 with
 * errno: out of memory), and each group's maps and rules. */
int sp_nft_group_entries(const struct sp_nft_intercept *spec, struct sp_nft_group **out,
			 size_t *n_out);
void sp_nft_groups_free(struct sp_nft_group *groups, size_t n);
bool sp_nft_put_group(FILE *maps, FILE *chain, const struct sp_nft_intercept *spec,
		      const struct sp_nft_group *g, size_t gi, struct sp_nft_render_stats *st);

#endif
