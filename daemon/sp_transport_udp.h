/* SIP over UDP (sp_transport.h): transparent listeners read with
 * recvmmsg, one socket per binding on the server side, and what goes out
 * queued while a received batch is handled and sent with sendmmsg. */
#ifndef SP_TRANSPORT_UDP_H
#define SP_TRANSPORT_UDP_H

#include "sp_loop.h"
#include "sp_transport.h"

/* Its sockets are watched on loop; h is the engine's handler. NULL: out
 * of memory. */
struct sp_transport *sp_transport_udp_new(struct sp_loop *loop, const struct sp_transport_handler *h);

/* A UDP listener's socket of family (AF_INET, AF_INET6), -1: none; for
 * the kernel's steering of terminals to workers (sp_engine_workers.c). */
int sp_transport_udp_listener_fd(const struct sp_transport_conn *listener, int family);

/* The drops of a UDP listener's IPv4 socket since they were last told,
 * told to the handler now (SO_MEMINFO) rather than with its next datagram:
 * with engine workers the next datagram may be another worker's. */
void sp_transport_udp_listener_drops(struct sp_transport_conn *listener);

/* `signaling-sockets shared` (issue 21): no socket per binding. One
 * transparent socket per family receives what servers send to C's
 * signalling ports (the kernel's TPROXY rule points there), the binding
 * found by the original destination port; a raw socket sends from C:c.
 * Opens those sockets if they are not (bindings keep theirs meanwhile):
 * their ports in *port4 and *port6 (0: none of that family). The IPv6 ones
 * only with ipv6 (an IPv6 C; without, they close). -1: no IPv4 receiving
 * socket, logged. */
int sp_transport_udp_shared_open(struct sp_transport *tp, bool ipv6, uint16_t *port4, uint16_t *port6);
/* on: every binding's own socket closes, the shared ones carry them; off:
 * every binding opens its socket again and the shared ones close. */
void sp_transport_udp_shared_set(struct sp_transport *tp, bool on);
/* The shared receiving socket of family, -1: none; with several workers
 * the kernel's sk_lookup program hands it the datagrams for the C:c of
 * this transport's bindings (sp_engine_workers.c). */
int sp_transport_udp_shared_fd(const struct sp_transport *tp, int family);

#endif
