#include "config.h"
#include "table_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

struct sp_endpoint fx_ep(const char *addr, uint16_t port)
{
	struct sp_endpoint e;

	cr_assert_eq(sp_endpoint_parse(&e, addr, port), 0, "address %s", addr);
	return e;
}

struct sp_table *fx_table_with(void (*tweak)(struct sp_table_config *),
			       const struct sp_table_callbacks *cb)
{
	struct sp_table_config cfg;
	struct sp_table *t;

	sp_table_config_default(&cfg);
	if (tweak)
		tweak(&cfg);
	t = sp_table_create(&cfg, cb);
	cr_assert_not_null(t);
	return t;
}

static void fx_media_ports(struct sp_table_config *cfg)
{
	cfg->media_port_first = 50000;
	cfg->media_port_last = 50099;
}

struct sp_table *fx_table_media(void)
{
	return fx_table_with(fx_media_ports, NULL);
}

struct sp_binding *fx_binding(struct sp_table *t, uint32_t vpn, const char *addr, uint16_t port,
			      const char *contact, uint64_t now)
{
	struct sp_binding_params p = {
		.vpn = vpn,
		.terminal = fx_ep(addr, port),
		.virtual_server = fx_ep("198.51.100.1", 5060),
		.server_side = fx_ep("203.0.113.1", 0),
		.server = fx_ep("203.0.113.100", 5060),
		.strategy_id = 7,
		.via_sent_by = "10.1.1.1:5060",
		.contact = contact,
	};
	struct sp_binding *b = NULL;
	int rc = sp_binding_create(t, &p, now, &b);

	cr_assert_eq(rc, 0, "binding %s:%u: %s", addr, port, sp_table_strerror(rc));
	return b;
}

struct sp_dialog *fx_dialog(struct sp_table *t, struct sp_binding *b, const char *call_id,
			    const char *from_tag, uint32_t invite_cseq, uint64_t now)
{
	struct sp_dialog_params p = {
		.binding = b,
		.call_id = call_id,
		.call_id_len = strlen(call_id),
		.from_tag = from_tag,
		.invite_cseq = invite_cseq,
		.state = SP_DIALOG_EARLY,
	};
	struct sp_dialog *d = NULL;
	int rc = sp_dialog_create(t, &p, now, &d);

	cr_assert_eq(rc, 0, "dialog %s: %s", call_id, sp_table_strerror(rc));
	return d;
}
