#include "config.h"
#include "sp_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2 and 1.3 only (issue 17: minimum TLS 1.2); the server's order of
 * ciphers wins on E. */
#define SP_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"
/* One record at a time: a send that waits is retried with exactly it */
#define SP_TLS_RECORD_MAX 16384

struct sp_tls {
	int refs;
	bool server;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key;	/* server: encrypts its session tickets */
};

struct sp_tls_session {
	gnutls_session_t s;
	struct sp_tls *ctx;
	char *name;		/* client: what the server's certificate must say */
	size_t in_flight;	/* a send that returned EAGAIN: its length */
};

static struct sp_tls *sp_tls_alloc(bool server, struct sp_error *e)
{
	struct sp_tls *t = calloc(1, sizeof(*t));
	int rc;

	if (!t) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	t->refs = 1;
	t->server = server;
	if ((rc = gnutls_certificate_allocate_credentials(&t->cred)) < 0 ||
	    (rc = gnutls_priority_init(&t->prio, SP_TLS_PRIORITY, NULL)) < 0 ||
	    (server && (rc = gnutls_session_ticket_key_generate(&t->ticket_key)) < 0)) {
		sp_error_set(e, "TLS: %s", gnutls_strerror(rc));
		sp_tls_unref(t);
		return NULL;
	}
	return t;
}

struct sp_tls *sp_tls_server_new(const char *cert_file, const char *key_file, struct sp_error *e)
{
	struct sp_tls *t = sp_tls_alloc(true, e);
	int rc;

	if (!t)
		return NULL;
	rc = gnutls_certificate_set_x509_key_file2(t->cred, cert_file, key_file, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		sp_error_set(e, "Cannot load the TLS certificate %s and key %s: %s", cert_file, key_file,
			     gnutls_strerror(rc));
		sp_tls_unref(t);
		return NULL;
	}
	return t;
}

struct sp_tls *sp_tls_client_new(const char *ca_file, struct sp_error *e)
{
	struct sp_tls *t = sp_tls_alloc(false, e);
	int rc;

	if (!t)
		return NULL;
	if (ca_file && ca_file[0])
		rc = gnutls_certificate_set_x509_trust_file(t->cred, ca_file, GNUTLS_X509_FMT_PEM);
	else
		rc = gnutls_certificate_set_x509_system_trust(t->cred);
	if (rc <= 0) {
		sp_error_set(e, "Cannot load the TLS CA %s: %s", ca_file && ca_file[0] ? ca_file : "(system)",
			     rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
		sp_tls_unref(t);
		return NULL;
	}
	return t;
}

struct sp_tls *sp_tls_ref(struct sp_tls *t)
{
	if (t)
		t->refs++;
	return t;
}

void sp_tls_unref(struct sp_tls *t)
{
	if (!t || --t->refs > 0)
		return;
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	if (t->prio)
		gnutls_priority_deinit(t->prio);
	if (t->ticket_key.data) {
		memset(t->ticket_key.data, 0, t->ticket_key.size);
		gnutls_free(t->ticket_key.data);
	}
	free(t);
}

static struct sp_tls_session *sp_tls_session_new(struct sp_tls *ctx, int fd, unsigned flags)
{
	struct sp_tls_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (gnutls_init(&s->s, flags | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		free(s);
		return NULL;
	}
	s->ctx = sp_tls_ref(ctx);
	if (gnutls_priority_set(s->s, ctx->prio) < 0 ||
	    gnutls_credentials_set(s->s, GNUTLS_CRD_CERTIFICATE, ctx->cred) < 0) {
		sp_tls_session_free(s);
		return NULL;
	}
	gnutls_transport_set_int(s->s, fd);
	return s;
}

struct sp_tls_session *sp_tls_session_server(struct sp_tls *ctx, int fd)
{
	struct sp_tls_session *s = ctx && ctx->server ? sp_tls_session_new(ctx, fd, GNUTLS_SERVER) : NULL;

	if (!s)
		return NULL;
	/* terminals present no certificate: they authenticate in SIP */
	gnutls_certificate_server_set_request(s->s, GNUTLS_CERT_IGNORE);
	if (gnutls_session_ticket_enable_server(s->s, &ctx->ticket_key) < 0) {
		sp_tls_session_free(s);
		return NULL;
	}
	return s;
}

static bool sp_tls_is_address(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

struct sp_tls_session *sp_tls_session_client(struct sp_tls *ctx, int fd, const char *name,
					     const void *ticket, size_t ticket_len)
{
	struct sp_tls_session *s = ctx && !ctx->server ? sp_tls_session_new(ctx, fd, GNUTLS_CLIENT) : NULL;

	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		sp_tls_session_free(s);
		return NULL;
	}
	/* SNI carries names only (RFC 6066 §3); the certificate is checked
	 * against the name or the address either way */
	if (!sp_tls_is_address(name))
		gnutls_server_name_set(s->s, GNUTLS_NAME_DNS, name, strlen(name));
	gnutls_session_set_verify_cert(s->s, s->name, 0);
	if (ticket && ticket_len)
		gnutls_session_set_data(s->s, ticket, ticket_len);
	return s;
}

void sp_tls_session_free(struct sp_tls_session *s)
{
	if (!s)
		return;
	if (s->s)
		gnutls_deinit(s->s);
	sp_tls_unref(s->ctx);
	free(s->name);
	free(s);
}

enum sp_tls_result sp_tls_handshake(struct sp_tls_session *s, char *reason, size_t reason_len)
{
	int rc = gnutls_handshake(s->s);

	if (rc == 0)
		return SP_TLS_DONE;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc))
		return gnutls_record_get_direction(s->s) ? SP_TLS_WANT_WRITE : SP_TLS_WANT_READ;
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { 0 };
		unsigned status = gnutls_session_get_verify_cert_status(s->s);

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(reason, reason_len, "%s", (const char *)out.data);
			gnutls_free(out.data);
		} else {
			snprintf(reason, reason_len, "%s", gnutls_strerror(rc));
		}
		return SP_TLS_CERT_FAILED;
	}
	snprintf(reason, reason_len, "%s", gnutls_strerror(rc));
	return SP_TLS_FAILED;
}

bool sp_tls_resumed(struct sp_tls_session *s)
{
	return gnutls_session_is_resumed(s->s) != 0;
}

int sp_tls_ticket(struct sp_tls_session *s, void **buf, size_t *len)
{
	gnutls_datum_t d = { 0 };
	void *b;

	/* TLS 1.3 sends its ticket after the handshake: none until it came */
	if (gnutls_protocol_get_version(s->s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(s->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return -1;
	if (gnutls_session_get_data2(s->s, &d) < 0)
		return -1;
	b = realloc(*buf, d.size);
	if (!b) {
		gnutls_free(d.data);
		return -1;
	}
	memcpy(b, d.data, d.size);
	*buf = b;
	*len = d.size;
	gnutls_free(d.data);
	return 0;
}

ssize_t sp_tls_recv(struct sp_tls_session *s, void *buf, size_t len)
{
	ssize_t n = gnutls_record_recv(s->s, buf, len);

	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_REHANDSHAKE ||
	    !gnutls_error_is_fatal((int)n)) {
		errno = EAGAIN;
		return -1;
	}
	errno = ECONNRESET;
	return -1;
}

ssize_t sp_tls_send(struct sp_tls_session *s, const void *buf, size_t len)
{
	ssize_t n;

	if (s->in_flight) {
		/* the record that waited, as GnuTLS holds it */
		n = gnutls_record_send(s->s, NULL, 0);
		if (n >= 0) {
			n = (ssize_t)s->in_flight;
			s->in_flight = 0;
			return n;
		}
	} else {
		if (len > SP_TLS_RECORD_MAX)
			len = SP_TLS_RECORD_MAX;
		n = gnutls_record_send(s->s, buf, len);
		if (n >= 0)
			return n;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			s->in_flight = len;
	}
	errno = n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ? EAGAIN : EPIPE;
	return -1;
}

bool sp_tls_want_write(struct sp_tls_session *s)
{
	return gnutls_record_get_direction(s->s) == 1;
}

size_t sp_tls_pending(struct sp_tls_session *s)
{
	return gnutls_record_check_pending(s->s);
}
