/* The engine's TLS (issue 17 item 4): E's certificate and the listener on
 * the TLS port, the CA servers are verified against. A configuration
 * change loads the files before anything else changes, so a certificate
 * that does not load refuses the change and the running one stays. A
 * reload (the files changed, or `tls certificate` entered again) gives
 * the transport new contexts: new handshakes use them, open connections
 * keep theirs and stay up. */
#include "config.h"
#include "sp_engine.h"
#include "sp_classify.h"
#include "sp_config.h"
#include "sp_event.h"
#include "sp_kernel.h"
#include "sp_log.h"
#include "sp_media.h"
#include "sp_tls.h"
#include "sp_transport_tcp.h"
#include "sp_engine_int.h"

#include <stdio.h>
#include <string.h>

/* Whether a strategy reaches its server over TLS (the client context is
 * needed then, or when a CA is configured). */
static bool sp_engine_tls_servers(const struct sp_config *c)
{
	for (size_t i = 0; i < c->n_strategies; i++)
		if (c->strategies[i].server_transport == SP_SERVER_TRANSPORT_TLS)
			return true;
	return false;
}

static int sp_engine_tls_contexts(struct sp_engine *en, const struct sp_config *c,
				  struct sp_engine_tls_change *tc, struct sp_error *e)
{
	const struct sp_sp_settings *sp = &c->sp;
	bool reload = sp->tls_load != en->tls_loaded.load;

	if (!sp->tls_certificate[0]) {
		tc->server_off = true;
	} else if (reload || strcmp(sp->tls_certificate, en->tls_loaded.cert) != 0 ||
		   strcmp(sp->tls_key, en->tls_loaded.key) != 0) {
		tc->server = sp_tls_server_new(sp->tls_certificate, sp->tls_key, e);
		if (!tc->server)
			return -1;
	}
	if ((sp->tls_ca[0] || sp_engine_tls_servers(c)) &&
	    (reload || !en->tls_loaded.client || strcmp(sp->tls_ca, en->tls_loaded.ca) != 0)) {
		tc->client = sp_tls_client_new(sp->tls_ca, e);
		if (!tc->client)
			return -1;
	}
	return 0;
}

int sp_engine_tls_prepare(struct sp_engine *en, const struct sp_config *c, bool idle,
			  struct sp_engine_tls_change *tc, struct sp_error *e)
{
	memset(tc, 0, sizeof(*tc));
	if (!en->tls)
		return 0;
	if (sp_engine_tls_contexts(en, c, tc, e) < 0) {
		sp_engine_tls_abort(tc);
		return -1;
	}
	if (idle || !c->sp.tls_certificate[0])
		return 0;
	if (en->tls_listener && en->tls_listener->local.port == c->sp.tls_port) {
		tc->listener = en->tls_listener;
		return 0;
	}
	tc->listener = sp_transport_listen(en->tls, c->sp.tls_port, e);
	if (!tc->listener) {
		sp_engine_tls_abort(tc);
		return -1;
	}
	tc->opened = true;
	return 0;
}

void sp_engine_tls_commit(struct sp_engine *en, const struct sp_config *c, struct sp_engine_tls_change *tc)
{
	const struct sp_sp_settings *sp = &c->sp;

	if (!en->tls)
		return;
	if (en->tls_listener && en->tls_listener != tc->listener)
		sp_transport_close(en->tls_listener);
	en->tls_listener = tc->listener;
	if (tc->server || tc->server_off) {
		if (tc->server)
			sp_info("engine: TLS certificate %s loaded", sp->tls_certificate);
		sp_transport_tls_set_server(en->tls, tc->server);
		snprintf(en->tls_loaded.cert, sizeof(en->tls_loaded.cert), "%s", sp->tls_certificate);
		snprintf(en->tls_loaded.key, sizeof(en->tls_loaded.key), "%s", sp->tls_key);
	}
	if (tc->client) {
		sp_transport_tls_set_client(en->tls, tc->client);
		snprintf(en->tls_loaded.ca, sizeof(en->tls_loaded.ca), "%s", sp->tls_ca);
		en->tls_loaded.client = true;
	}
	en->tls_loaded.load = sp->tls_load;
	/* the transport holds its references now */
	sp_tls_unref(tc->server);
	sp_tls_unref(tc->client);
	memset(tc, 0, sizeof(*tc));
}

void sp_engine_tls_abort(struct sp_engine_tls_change *tc)
{
	if (tc->opened)
		sp_transport_close(tc->listener);
	sp_tls_unref(tc->server);
	sp_tls_unref(tc->client);
	memset(tc, 0, sizeof(*tc));
}
