/* TLS on the stream transport's connections (sp_transport_tls_new): the
 * handshake of each, driven by the event loop without blocking, counted
 * and logged with the peer's address when it fails. */
#include "config.h"
#include "sp_transport_tcp.h"
#include "sp_transport_tcp_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

static struct sp_log_limit sp_tls_log = SP_LOG_LIMIT_INIT("tls: handshakes failed");

/* Servers whose last ticket is kept: a handful in practice (the
 * strategies' servers); beyond, the least recent goes. */
#define SP_TLS_TICKETS_MAX 256

/* The link to server's entry for name (NULL at the end: none). */
static struct sp_tls_server_ticket **sp_tls_ticket_link(struct sp_tcp *t, const struct sp_endpoint *server,
							 const char *name)
{
	struct sp_tls_server_ticket **l = &t->tickets;

	while (*l && !(sp_endpoint_equal(&(*l)->server, server) && strcmp((*l)->name, name) == 0))
		l = &(*l)->next;
	return l;
}

static void sp_tls_ticket_free(struct sp_tls_server_ticket *k)
{
	free(k->name);
	free(k->ticket);
	free(k);
}

/* c's ticket becomes its server's last (first in the list) */
static void sp_tls_ticket_remember(struct sp_tcp_conn *c)
{
	struct sp_tcp *t = c->t;
	const char *name = c->tls_name ? c->tls_name : "";
	struct sp_tls_server_ticket **l = sp_tls_ticket_link(t, &c->peer, name), *k = *l;
	void *copy = malloc(c->ticket_len);

	if (!copy)
		return;
	memcpy(copy, c->ticket, c->ticket_len);
	if (k) {
		*l = k->next;
		free(k->ticket);
	} else {
		k = calloc(1, sizeof(*k));
		if (!k || !(k->name = strdup(name))) {
			free(k);
			free(copy);
			return;
		}
		k->server = c->peer;
		t->n_tickets++;
	}
	k->ticket = copy;
	k->len = c->ticket_len;
	k->next = t->tickets;
	t->tickets = k;
	if (t->n_tickets > SP_TLS_TICKETS_MAX) {
		for (l = &t->tickets; (*l)->next; l = &(*l)->next)
			;
		sp_tls_ticket_free(*l);
		*l = NULL;
		t->n_tickets--;
	}
}

void sp_tls_conn_keep_ticket(struct sp_tcp_conn *c)
{
	if (!c->server || !c->tls || c->ticket_saved || c->handshaking)
		return;
	c->ticket_saved = sp_tls_ticket(c->tls, &c->ticket, &c->ticket_len) == 0;
	if (c->ticket_saved)
		sp_tls_ticket_remember(c);
}

void sp_tls_tickets_free(struct sp_tcp *t)
{
	while (t->tickets) {
		struct sp_tls_server_ticket *k = t->tickets;

		t->tickets = k->next;
		sp_tls_ticket_free(k);
	}
	t->n_tickets = 0;
}

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
	const char *name = c->tls_name ? c->tls_name : "";
	/* the server's last ticket, whichever binding's connection got it
	 * (a new binding resumes too); else this connection's own last */
	struct sp_tls_server_ticket *k = *sp_tls_ticket_link(t, &c->peer, name);
	const void *ticket = k ? k->ticket : c->ticket;
	size_t ticket_len = k ? k->len : c->ticket_len;

	c->tls = t->tls_client ? sp_tls_session_client(t->tls_client, c->fd, name, ticket, ticket_len) : NULL;
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
	sp_tls_conn_keep_ticket(c);
	sp_tls_session_free(c->tls);
	c->tls = NULL;
	c->handshaking = false;
}
