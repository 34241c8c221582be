/* Internals of the UDP transport (sp_transport_udp.c), shared with its
 * shared server-side sockets (sp_transport_udp_shared.c). */
#ifndef SP_TRANSPORT_UDP_INT_H
#define SP_TRANSPORT_UDP_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sp_loop.h"
#include "sp_transport.h"

#define SP_UDP_BATCH 32           /* datagrams per recvmmsg */
#define SP_UDP_BATCHES_PER_WAKE 8 /* then let other sockets in */
_Static_assert(SP_UDP_BATCH <= SP_TRANSPORT_BATCH_MAX, "a batch fits the handler's prepare slots");
#define SP_UDP_DGRAM_MAX 65536
#define SP_UDP_OUT_MAX (SP_UDP_DGRAM_MAX + 4096)
#define SP_UDP_MAX_FILES 1048576
#define SP_UDP_SERVER_RCVBUF (2 << 20) /* a binding's socket (C:c) */
/* Control data of one datagram to a terminal: source address and mark */
#define SP_UDP_OUT_CTRL (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint32_t)))

#define SP_UDP_HDR_LEN 8 /* a UDP header: the raw socket's sends carry one */

/* A listener (E:e) or the socket of one binding (C:c). A listener has a
 * socket per family: IPv4 (fd) and IPv6 (fd6, -1 where the host has no
 * IPv6), so an IPv4 datagram keeps the IPv4 control messages it always had.
 * With shared server-side sockets a binding has none (fd -1): it is reached
 * through by_port, and the shared sockets are conns of their own. */
struct sp_udp_conn {
	struct sp_transport_conn pub;
	struct sp_udp *udp;
	int fd;
	int fd6;
	uint32_t rxq_drops; /* the socket's SO_RXQ_OVFL count last seen */
	uint32_t rxq_drops6; /* fd6's: each socket counts its own */
	bool reading6; /* the batch being read is fd6's */
};

struct sp_udp {
	struct sp_transport pub;
	struct sp_loop *loop;
	struct sp_udp_conn **by_port; /* [65536]: C:c -> socket, the IPv4 C */
	struct sp_udp_conn **by_port6; /* [65536]: the same for the IPv6 C */
	struct sp_udp_conn *reading;  /* the server-side socket being read; NULL once closed */
	/* receive buffers, allocated once: no per-message malloc */
	struct mmsghdr msgs[SP_UDP_BATCH];
	struct iovec iov[SP_UDP_BATCH];
	struct sockaddr_storage from[SP_UDP_BATCH];
	char ctrl[SP_UDP_BATCH][256];
	char *bufs; /* SP_UDP_BATCH * SP_UDP_DGRAM_MAX */
	int batch_used; /* msgs entries the last recvmmsg wrote */
	int batch_prepared; /* of those, the ones the handler's prepare had */
	pthread_mutex_t io; /* with engine workers: its socket calls (see below) */
	/* Datagrams going out, queued while a received batch is handled and
	 * sent with one sendmmsg per run of the same socket (several answers
	 * of a server often arrive in one batch). Order is kept: a datagram
	 * for another socket sends the queue first. */
	struct {
		struct mmsghdr msgs[SP_UDP_BATCH];
		struct iovec iov[SP_UDP_BATCH][2]; /* [0] a UDP header on the raw socket */
		uint8_t hdr[SP_UDP_BATCH][SP_UDP_HDR_LEN];
		struct sockaddr_storage to[SP_UDP_BATCH];
		char ctrl[SP_UDP_BATCH][SP_UDP_OUT_CTRL];
		uint64_t *counter[SP_UDP_BATCH]; /* counted as sent: undone on failure */
		unsigned n;	/* queued */
		unsigned slot;	/* buffers in use: pub.out is slot number slot */
		int fd;
		char *bufs;	/* SP_UDP_BATCH * SP_UDP_OUT_MAX */
	} outq;
	/* `signaling-sockets shared` (sp_transport_udp_shared.c) */
	struct {
		bool on;	/* bindings hold no socket */
		struct sp_udp_conn *rx4, *rx6; /* transparent, TPROXY's target */
		int raw4, raw6;	/* sends as C:c; -1: not open */
	} shared;
};

/* sp_transport_udp.c, for the shared sockets */
void sp_udp_io_lock(struct sp_udp *u);
void sp_udp_io_unlock(struct sp_udp *u);
void sp_udp_flush(struct sp_transport *tp);
void sp_udp_flush_all_unlocked(struct sp_udp *u);
/* Queues mh (one iovec, or a UDP header and the data) for fd. */
int sp_udp_push(struct sp_udp *u, int fd, const struct msghdr *mh, const struct sp_transport_out *o);
void sp_udp_as_source(struct msghdr *mh, const struct sp_endpoint *from, uint32_t mark);
void sp_udp_rxq_drops(struct sp_udp_conn *c, const unsigned char *data);
void sp_udp_prepare_batch(struct sp_udp *u);
/* One batch from fd (the loops' lock released, its datagrams prepared). */
int sp_udp_recv(struct sp_udp *u, int fd, enum sp_transport_side side);
void sp_udp_read_cmsgs(struct sp_udp_conn *c, struct msghdr *mh, struct sp_transport_msg *m);
/* Datagram i of the last batch into m: source, bytes, truncation and the
 * handler's prepared slot. false: its source address was unreadable (m
 * then has none and counts as truncated). */
bool sp_udp_batch_msg(struct sp_udp *u, int i, struct sp_transport_msg *m);
/* A socket bound to local (C:c) for one binding, watched; -1: failed. */
int sp_udp_server_socket(struct sp_udp *u, struct sp_udp_conn *c);
struct sp_udp_conn **sp_udp_ports(struct sp_udp *u, int family);

/* A transparent listener's socket of family on port (0: any free port). */
int sp_udp_listen_socket(int family, uint16_t port);

/* sp_transport_udp_shared.c */
/* A binding's datagram to its server from C:c through the raw socket. */
int sp_udp_shared_send(struct sp_udp *u, struct sp_udp_conn *c, const struct sp_transport_out *o);
/* Closes the shared sockets (the transport goes). */
void sp_udp_shared_close(struct sp_udp *u);


#endif
