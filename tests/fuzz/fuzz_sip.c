/*
 * libFuzzer target: sp_sip_inspect + sp_sip_rewrite on arbitrary bytes.
 * Built and run by scripts/fuzz (scripts/fuzz 60 sip).
 *
 * fuzz-options: -max_len=4096
 * fuzz-seeds: tests/unit/sip-corpus/valid
 *
 * It also runs the proxy's own mappings (sp_proxy_to_server/_to_terminal)
 * on every message that inspects, as the engine would.
 *
 * Besides memory errors it checks the contract: a successful rewrite never
 * writes past the buffer and always yields a message that inspects again.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_proxy.h"
#include "sp_sip.h"

static int shift_port(void *arg, unsigned media_index, enum sp_sdp_port_kind kind,
		      const struct sp_sdp_stream *st, uint16_t old_port, uint16_t *new_port)
{
	(void)arg;
	(void)kind;
	(void)st;
	if (media_index > 3)
		return -1;      /* exercise the refusal path too */
	*new_port = (uint16_t)(old_port % 60000 + 1024);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SP_SIP_MAX_MSG + 4096];
	static const struct sp_sip_addr sent_by = { "198.51.100.1", 40001 };
	static const struct sp_sip_addr_map contact = { { NULL, 0 }, { "2001:db8::1", 5060 } };
	static const struct sp_sip_addr_map ruri = { { "example.com", 0 }, { "203.0.113.5", 0 } };
	static const struct sp_sip_addr_map routes[] = {
		{ { "192.0.2.10", 0 }, { "198.51.100.1", 40001 } },
		{ { "example.com", 5060 }, { "203.0.113.9", 0 } },
	};
	const struct sp_sip_plan plan = {
		.via_sent_by = &sent_by,
		.via_received_op = SP_SIP_PARAM_SET,
		.via_received = "192.0.2.200",
		.via_rport_op = SP_SIP_PARAM_SET,
		.via_rport = 1,
		.contact = &contact,
		.ruri = &ruri,
		.routes = routes,
		.n_routes = 2,
		.sdp = { .media_addr = "198.51.100.77", .port_map = shift_port },
	};
	struct sp_sip_msg msg, again;
	size_t out_len = 0;
	/* A copy in its own allocation so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);

	sp_sip_global_init();
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (sp_sip_inspect(&msg, buf, size) == SP_SIP_OK) {
		if (sp_sip_rewrite(&msg, &plan, out, sizeof(out), &out_len) == SP_SIP_OK) {
			if (out_len > sizeof(out))
				abort();
			if (sp_sip_inspect(&again, out, out_len) != SP_SIP_OK)
				abort();
			sp_sip_msg_free(&again);
		}
		/* A tight buffer must fail cleanly, never overflow (ASan
		 * watches the end of the heap block). */
		if (out_len > 1) {
			char *small = malloc(out_len / 2);

			if (small && sp_sip_rewrite(&msg, &plan, small, out_len / 2,
						    &out_len) != SP_SIP_E_NOSPACE)
				abort();
			free(small);
		}
		/* the engine's two directions, with a fixed binding */
		{
			static struct sp_proxy_binding b;
			static int ready;
			size_t n;

			if (!ready) {
				sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal);
				sp_proxy_hostport_parse("198.51.100.1:5060", &b.virtual_server);
				sp_proxy_hostport_parse("192.0.2.1:40000", &b.server_side);
				sp_proxy_hostport_parse("192.0.2.10:5060", &b.server);
				sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal_via);
				sp_proxy_hostport_parse("10.1.0.10:5070", &b.terminal_contact);
				strcpy(b.media_to_server, "192.0.2.1");
				strcpy(b.media_to_terminal, "198.51.100.1");
				ready = 1;
			}
			if (sp_proxy_to_server(&msg, &b, out, sizeof(out), &n) == SP_SIP_OK) {
				if (sp_sip_inspect(&again, out, n) != SP_SIP_OK)
					abort();
				sp_sip_msg_free(&again);
			}
			if (sp_proxy_to_terminal(&msg, &b, out, sizeof(out), &n) == SP_SIP_OK) {
				if (sp_sip_inspect(&again, out, n) != SP_SIP_OK)
					abort();
				sp_sip_msg_free(&again);
			}
		}
		sp_sip_msg_free(&msg);
	}
	free(buf);
	return 0;
}
