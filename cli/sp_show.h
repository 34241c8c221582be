/* `show sessions`, `show sessions count`, `show bindings`, `show vpn`,
 * `show statistics`, `show persistence` and `show redundancy`: the state as the CLI
 * prints it (SPEC §5).
 * Run on the loop thread, as every CLI command. */
#ifndef SP_SHOW_H
#define SP_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sp_classify_strategy;
struct sp_engine;
struct sp_kernel_count;
struct sp_persist;
struct sp_redundancy_ctl;

void sp_show_sessions(struct sp_engine *engine, FILE *out, bool detail);
void sp_show_sessions_count(struct sp_engine *engine, FILE *out);
void sp_show_bindings(struct sp_engine *engine, FILE *out);
void sp_show_vpn(struct sp_engine *engine, FILE *out);
void sp_show_statistics(struct sp_engine *engine, FILE *out);
/* `show persistence`: the state store of --state-dir (NULL: none). */
void sp_show_persistence(struct sp_persist *persist, FILE *out);
/* `show redundancy` (NULL: not configured). */
void sp_show_redundancy(struct sp_redundancy_ctl *redundancy, FILE *out);
/* A strategy's hits as `show statistics` counts them: the daemon's, plus
 * the kernel's (kc, nkc) for forward and drop, which never reach the daemon. */
uint64_t sp_show_strategy_hits(const struct sp_classify_strategy *st, const struct sp_kernel_count *kc,
			       size_t nkc);

#endif
