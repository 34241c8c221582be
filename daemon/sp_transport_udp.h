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

#endif
