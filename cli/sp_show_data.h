/* `show ... | json` of the engine's state, written natively from the same
 * read APIs as the text of sp_show.h (not read back from the text): one
 * JSON object on one line per command. Run on the loop thread. */
#ifndef SP_SHOW_DATA_H
#define SP_SHOW_DATA_H

#include <stdbool.h>
#include <stdio.h>

struct sp_engine;
struct sp_persist;
struct sp_redundancy_ctl;

void sp_show_sessions_json(struct sp_engine *engine, FILE *out, bool detail);
void sp_show_sessions_count_json(struct sp_engine *engine, FILE *out);
void sp_show_bindings_json(struct sp_engine *engine, FILE *out);
void sp_show_vpn_json(struct sp_engine *engine, FILE *out);
void sp_show_statistics_json(struct sp_engine *engine, FILE *out);
void sp_show_persistence_json(struct sp_persist *persist, FILE *out);
void sp_show_redundancy_json(struct sp_redundancy_ctl *redundancy, FILE *out);

#endif
