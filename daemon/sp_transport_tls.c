/* TLS on the stream transport's connections (sp_transport_tls_new): the
 * handshake of each, driven by the event loop without blocking, counted
 * and logged with the peer's address when it fails. */
#include "config.h"
#include "sp_transport_tcp.h"
#include "sp_transport_tcp_int.h"

#include <stdlib.h>
#include <sys/epoll.h>

static struct sp_log_limit sp_tls_log = SP_LOG_LIMIT_INIT("tls: handshakes failed");

void sp_transport_tls_set_server(struct sp_transport *tp, struct sp_tls *ctx)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;

	sp_tls_unref(t->tls_server);
	t->tls_server = sp_tls_ref(ctx);
}

void sp_transport_tls_set_client(struct sp_transport *tp, struct sp_tls *ctx)
{
	struct sp_tcp *t = (struct sp_tcp *)tp;

	sp_tls_unref(t->tls_client);
	t->tls_client = sp_tls_ref(ctx);
}

void sp_tls_conn_failed(struct sp_tcp_conn *c, uint64_t *counter, const char *what,
			       const char *why)
{
	char p[SP_ENDPOINT_STRLEN];

	(*counter)++;
	sp_endpoint_format(&c->peer, p, sizeof(p));
	/* a server's first failure always (a configuration to fix), then
	 * at the rate terminals' are */
	if (c->server && !c->tls_failure_logged)
		sp_notice("tls: %s the server %s: %s", what, p, why);
	else
		sp_log_limited(&sp_tls_log, LOG_NOTICE, "tls: %s %s %s: %s", what,
			       c->server ? "the server" : "the terminal", p, why);
	c->tls_failure_logged = c->server;
	sp_tcp_lost(c);
}

bool sp_tls_conn_accepted(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;

	if (!t->tls_server) {
		sp_tls_conn_failed(c, &t->st.tls_handshake_failures, "no handshake with",
				   "no TLS certificate configured");
		return true; /* closed already */
	}
	c->tls = sp_tls_session_server(t->tls_server, c->fd);
	if (!c->tls)
		return false;
	c->handshaking = true;
	/* the handshake must end within the header timeout (a client that
	 * says nothing holds no connection for long) */
	c->begun_ms = sp_loop_now_ms();
	sp_tcp_sweep_arm(t);
	return true;
}

void sp_tls_conn_connected(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;

	c->tls = t->tls_client ? sp_tls_session_client(t->tls_client, c->fd, c->tls_name ? c->tls_name : "",
							c->ticket, c->ticket_len)
			       : NULL;
	if (!c->tls) {
		sp_tls_conn_failed(c, &t->st.tls_handshake_failures, "no handshake with",
				   t->tls_client ? "out of memory" : "no TLS CA configured");
		return;
	}
	c->handshaking = true;
	c->ticket_saved = false;
	sp_tls_conn_step(c);
}

bool sp_tls_conn_step(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;
	char why[256];

	switch (sp_tls_handshake(c->tls, why, sizeof(why))) {
	case SP_TLS_DONE:
		c->handshaking = false;
		c->begun_ms = 0;
		c->tls_failure_logged = false;
		t->st.tls_handshakes++;
		if (sp_tls_resumed(c->tls))
			t->st.tls_resumed++;
		sp_tcp_want_write(c, c->wused > 0);
		return true;
	case SP_TLS_WANT_READ:
		sp_tcp_want_write(c, false);
		return true;
	case SP_TLS_WANT_WRITE:
		sp_tcp_want_write(c, true);
		return true;
	case SP_TLS_CERT_FAILED:
		sp_tls_conn_failed(c, &t->st.tls_certificate_errors, "refused the certificate of", why);
		return false;
	case SP_TLS_FAILED:
	default:
		sp_tls_conn_failed(c, &t->st.tls_handshake_failures, "handshake failed with", why);
		return false;
	}
}

void sp_tls_conn_end(struct sp_tcp_conn *c)
{
	if (!c->tls)
		return;
	if (c->server && !c->ticket_saved && !c->handshaking)
		sp_tls_ticket(c->tls, &c->ticket, &c->ticket_len);
	sp_tls_session_free(c->tls);
	c->tls = NULL;
	c->handshaking = false;
}
