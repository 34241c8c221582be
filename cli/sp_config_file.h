/* The configuration file (SPEC §4): read as one transaction through the
 * CLI grammar, written atomically by `write memory`. */
#ifndef SP_CONFIG_FILE_H
#define SP_CONFIG_FILE_H

#include <stdbool.h>

#include "sp_config.h"
#include "sp_error.h"

/* Reads the configuration file as one transaction: every line is run through
 * the CLI grammar against a candidate, and only a file without errors is
 * committed to `store`. On failure `e` holds "FILE:LINE: reason" and nothing
 * changes. A missing file is not an error when `missing_ok`.
 * Without `force` (start-up, SIGHUP, `reload`), a file yielding an empty
 * configuration (defaults only) is refused while the running one is not
 * empty; `reload force` applies it. */
int sp_config_file_load(struct sp_config_store *store, const char *path, bool missing_ok,
			bool force, struct sp_error *e);

/* `write memory`: the running configuration, stored atomically. A failure is
 * logged as well as returned. */
int sp_config_file_write(const struct sp_config_store *store, const char *path, struct sp_error *e);

#endif
