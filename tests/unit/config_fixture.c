#include "config.h"
#include "config_fixture.h"
#include "sp_cli.h"
#include "sp_mark.h"

#include <criterion/criterion.h>

struct sp_config *fx_config_load(const char *text, struct sp_error *e)
{
	struct sp_config *c = sp_config_new();

	cr_assert_not_null(c);
	if (sp_cli_load_text("test.conf", text, c, e) < 0) {
		sp_config_free(c);
		return NULL;
	}
	return c;
}

struct sp_nft_intercept fx_intercept_spec(const struct sp_config *c, const struct sp_classify_plan *p,
					  enum sp_nft_verdict default_verdict)
{
	struct sp_nft_intercept spec = { 0 };

	spec.entries = p->entries;
	spec.n_entries = p->n_entries;
	spec.listen_ports = c->sp.listen_ports;
	spec.n_listen_ports = c->sp.n_listen_ports;
	spec.default_verdict = default_verdict;
	spec.mark_mask = SP_MARK_MASK;
	spec.fwmark = SP_MARK_TPROXY;
	spec.fwmask = SP_MARK_TPROXY;
	return spec;
}
