/* TLS for the stream transport (issue 17 item 4): credentials and one
 * session per connection, without blocking (the event loop drives every
 * handshake, read and write).
 *
 * GnuTLS, not OpenSSL: the daemon links libnftables (GPL-2), which
 * OpenSSL 3's Apache-2.0 license does not admit (configure.ac says the
 * same of the sync channel's HMAC, which is why Nettle, GnuTLS's own
 * cryptography, is there already).
 *
 * A server context holds E's certificate and key, session tickets (a
 * resumed handshake costs one round trip and no certificate), TLS 1.2 at
 * least. A client context holds the CA that servers are verified against;
 * each session checks the server's name (or address) and offers it as SNI,
 * and offers the ticket of the previous session to the same server.
 * Contexts are counted references: a reload makes a new one for new
 * handshakes while every open session keeps the one it began with. */
#ifndef SP_TLS_H
#define SP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sp_error.h"

struct sp_tls;
struct sp_tls_session;

/* E's side: certificate chain and key, PEM files. NULL, e set, on failure. */
struct sp_tls *sp_tls_server_new(const char *cert_file, const char *key_file, struct sp_error *e);
/* Towards servers: the CA bundle (PEM) servers are verified against; NULL
 * or "": the system's trust store. */
struct sp_tls *sp_tls_client_new(const char *ca_file, struct sp_error *e);
struct sp_tls *sp_tls_ref(struct sp_tls *t);
void sp_tls_unref(struct sp_tls *t);

/* A session on connected socket fd: as the server (ctx from
 * sp_tls_server_new), or as the client of a server called name (a DNS
 * name or an address: what its certificate must say) with the ticket of a
 * previous session (NULL: none). NULL on failure. */
struct sp_tls_session *sp_tls_session_server(struct sp_tls *ctx, int fd);
struct sp_tls_session *sp_tls_session_client(struct sp_tls *ctx, int fd, const char *name,
					     const void *ticket, size_t ticket_len);
void sp_tls_session_free(struct sp_tls_session *s);

enum sp_tls_result {
	SP_TLS_DONE,
	SP_TLS_WANT_READ,	/* again when the socket is readable */
	SP_TLS_WANT_WRITE,	/* again when it is writable */
	SP_TLS_FAILED,		/* the handshake failed (reason set) */
	SP_TLS_CERT_FAILED,	/* the peer's certificate was refused (reason set) */
};

/* One step of the handshake. */
enum sp_tls_result sp_tls_handshake(struct sp_tls_session *s, char *reason, size_t reason_len);
/* Whether the handshake resumed an earlier session. */
bool sp_tls_resumed(struct sp_tls_session *s);
/* The ticket to resume this session with later, copied into *buf (realloc'd);
 * 0 when there is one, -1 otherwise. */
int sp_tls_ticket(struct sp_tls_session *s, void **buf, size_t *len);

/* As recv/send on a non-blocking socket: bytes, 0 at the peer's end
 * (recv), -1 with errno EAGAIN (try again when the socket is ready for
 * sp_tls_want_write's direction) or another error. A send that returned
 * EAGAIN is retried with the same bytes. */
ssize_t sp_tls_recv(struct sp_tls_session *s, void *buf, size_t len);
ssize_t sp_tls_send(struct sp_tls_session *s, const void *buf, size_t len);
/* Whether the last EAGAIN waits for the socket to be writable. */
bool sp_tls_want_write(struct sp_tls_session *s);
/* Bytes decrypted and not yet read (the socket will not wake for them). */
size_t sp_tls_pending(struct sp_tls_session *s);

#endif
