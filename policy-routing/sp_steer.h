/* The kernel's steering of terminals to engine workers (issue 21 item 3):
 * an sk_lookup program on the namespace hands a UDP datagram for one of
 * sigproxy's listen ports to the listener of the worker its terminal hashes
 * to (policy-routing/bpf/sp_steer.bpf.c), TPROXY'd datagrams included, so
 * every message of a terminal (its binding and dialogs) is read by one
 * worker, in the order it came. Needs CAP_BPF and CAP_NET_ADMIN. */
#ifndef SP_STEER_H
#define SP_STEER_H

#include <stdint.h>

#include "sp_endpoint.h"
#include "sp_error.h"
#include "sp_rtnl.h"

/* The most workers the program can steer to. */
#define SP_STEER_MAX 64

struct sp_steer;

/* Loads the program for n workers (2..SP_STEER_MAX) and attaches it to the
 * calling thread's network namespace; nothing is steered until listeners
 * are set. */
int sp_steer_open(struct sp_steer **out, unsigned n, struct sp_error *e);
/* Worker w's listener of family (AF_INET or AF_INET6) on port: fd. A port
 * is steered once every worker's listener of a family is set; a closed
 * socket leaves the map by itself. Port 0: worker w's shared server-side
 * socket of family (sp_steer_server). Without a program (s NULL), these
 * calls fail with "steering not loaded". */
int sp_steer_listener(struct sp_steer *s, uint16_t port, int family, unsigned w, int fd,
		      struct sp_error *e);
/* signaling-sockets shared with workers: steer what servers send to C's
 * signalling ports first..last (c4, c6: C of each family, family 0 for
 * none; first 0: stop) to the shared socket of the worker owning the
 * binding that holds the port (sp_steer_port_owner), worker 0's for a port
 * no binding holds. */
int sp_steer_server(struct sp_steer *s, uint16_t first, uint16_t last, const struct sp_rt_addr *c4,
		    const struct sp_rt_addr *c6, struct sp_error *e);
/* C:port of family is held by a binding of worker w (w < 0: by none). */
int sp_steer_port_owner(struct sp_steer *s, int family, uint16_t port, int w, struct sp_error *e);
/* Stops steering every port (the listeners are being replaced). */
void sp_steer_reset(struct sp_steer *s);
/* Detaches and unloads the program. */
void sp_steer_close(struct sp_steer *s);

/* The worker (0..n-1) the program sends this terminal's datagrams to. */
unsigned sp_steer_worker(const struct sp_endpoint *terminal, unsigned n);

#endif
