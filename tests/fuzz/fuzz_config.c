/*
 * libFuzzer target: the configuration-file loader, as SIGHUP and start-up
 * run it: the whole input as one file through the CLI grammar
 * (sp_cli_load_text) against a fresh candidate, then committed to a
 * configuration store (sp_config_validate and the change set). Built and
 * run by scripts/fuzz (scripts/fuzz 60 config), with the dictionary
 * tests/fuzz/config.dict.
 *
 * fuzz-options: -max_len=2048
 *
 * Besides memory errors it checks that whatever a file can make the running
 * configuration is one `write memory` can save and a restart can read back:
 * its running-config text loads and commits again to an equal
 * configuration with the same text.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "sp_cli.h"
#include "sp_config.h"
#include "sp_log.h"

/* Loads text as a file into a fresh store; NULL when refused. */
static struct sp_config_store *load(const char *text)
{
	struct sp_config_store *store = sp_config_store_new();
	struct sp_config *cand = sp_config_new();
	struct sp_error e = { { 0 } };

	if (!store || !cand)
		abort();
	if (sp_cli_load_text("fuzz.conf", text, cand, &e) < 0) {
		sp_config_free(cand);
		sp_config_store_free(store);
		return NULL;
	}
	if (sp_config_store_commit(store, cand, NULL, &e) < 0) {
		sp_config_store_free(store);
		return NULL;
	}
	return store;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the loader refuses a file with a NUL byte before this point */
	char *text = malloc(size + 1);
	struct sp_config_store *a, *b;
	const struct sp_config *ca, *cb;
	char *ta, *tb;

	static int quiet;
	if (!quiet) {
		sp_log_set_level(LOG_CRIT);
		quiet = 1;
	}
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	a = load(text);
	free(text);
	if (!a)
		return 0;
	ca = sp_config_store_current(a);
	ta = sp_config_to_text(ca, NULL);
	if (!ta)
		abort();
	b = load(ta);
	if (!b)
		abort();	/* the saved configuration does not load */
	cb = sp_config_store_current(b);
	tb = sp_config_to_text(cb, NULL);
	if (!tb || strcmp(ta, tb) != 0 || !sp_config_equal(ca, cb))
		abort();	/* it loads as something else */
	free(ta);
	free(tb);
	sp_config_store_free(a);
	sp_config_store_free(b);
	return 0;
}
