/* Fixtures shared by the unit tests of the configuration model and of the
 * classification: a configuration loaded from text, and the interception
 * spec the engine would render from a classification plan. */
#ifndef CONFIG_FIXTURE_H
#define CONFIG_FIXTURE_H

#include "sp_classify.h"
#include "sp_config.h"
#include "sp_error.h"
#include "sp_nft.h"

/* text loaded through the CLI grammar into a new configuration; NULL (and
 * the reason in e) when the text does not load. */
struct sp_config *fx_config_load(const char *text, struct sp_error *e);

/* The interception spec of plan p for configuration c, with the marks the
 * engine uses and the given default verdict. */
struct sp_nft_intercept fx_intercept_spec(const struct sp_config *c, const struct sp_classify_plan *p,
					  enum sp_nft_verdict default_verdict);

#endif
