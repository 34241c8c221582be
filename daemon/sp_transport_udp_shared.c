/* Shared server-side sockets for UDP (`signaling-sockets shared`, issue
 * 21): a UDP binding holds no socket of its own. What its server sends to
 * C:c arrives on one transparent socket per family (the kernel's TPROXY
 * rule for C's signalling ports, policy-routing/sp_server_tproxy; with
 * several engine workers, one per worker's transport, which the sk_lookup
 * program picks by c's owner, policy-routing/sp_steer) and is
 * handed to the binding that c names (by_port: O(1)); what the binding
 * sends leaves through one raw socket with a UDP header written here, so
 * its source port is c although no socket is bound to C:c.
 *
 * Why a raw socket: a UDP socket sends from the port it is bound to, and
 * neither the socket API (IP_PKTINFO sets the address, never the port) nor
 * a library offers another way to send a datagram from an arbitrary source
 * port without binding a socket there, which is the descriptor per binding
 * this mode removes. The kernel still builds the IP header (no
 * IP_HDRINCL): it routes, fragments and marks as for a UDP socket, and
 * conntrack sees an ordinary UDP flow. The raw socket receives nothing
 * (bound where nothing is delivered, sp_udp_raw_socket). */
#include "config.h"
#include "sp_transport_udp_int.h"
#include "sp_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPV6_CHECKSUM
#define IPV6_CHECKSUM 7
#endif
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

/* it receives nothing (sp_udp_raw_socket); were a clone ever to match, a
 * small buffer keeps it bounded, and its drops show in /proc/net/raw */
#define SP_UDP_RAW_RCVBUF 4096

/* ---- sending ---- */

static void sp_udp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sp_udp_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

/* The UDP checksum over the IPv4 pseudo header, the header and the data
 * (the header's length is even: the data's words line up). IPv6 leaves it
 * to the kernel (IPV6_CHECKSUM), IPv4 raw sockets have no such option. */
static uint16_t sp_udp_csum4(const struct in_addr *src, const struct in_addr *dst, const uint8_t *hdr,
			     const char *data, size_t len)
{
	uint8_t pseudo[12];
	uint32_t sum;

	memcpy(pseudo, src, 4);
	memcpy(pseudo + 4, dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	memcpy(pseudo + 10, hdr + 4, 2);
	sum = sp_udp_sum(0, pseudo, sizeof(pseudo));
	sum = sp_udp_sum(sum, hdr, SP_UDP_HDR_LEN);
	sum = sp_udp_sum(sum, (const uint8_t *)data, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum ? (uint16_t)sum : 0xffff; /* 0 would mean "none" */
}

int sp_udp_shared_send(struct sp_udp *u, struct sp_udp_conn *c, const struct sp_transport_out *o)
{
	const struct sp_endpoint *local = &c->pub.local;
	bool v6 = local->family == AF_INET6;
	int fd = v6 ? u->shared.raw6 : u->shared.raw4;
	uint8_t hdr[SP_UDP_HDR_LEN] = { 0 };
	struct sockaddr_storage to;
	socklen_t tl;
	char cbuf[SP_UDP_OUT_CTRL] = { 0 };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)o->data, o->len } };
	struct msghdr mh = { .msg_name = &to, .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf };

	if (fd < 0 || o->to->family != local->family || o->len > 65535 - SP_UDP_HDR_LEN)
		return -1;
	tl = sp_endpoint_to_sockaddr(o->to, &to);
	/* a raw socket's port is the protocol (IPv6) or ignored (IPv4) */
	if (v6)
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	else
		((struct sockaddr_in *)&to)->sin_port = 0;
	mh.msg_namelen = tl;
	sp_udp_put16(hdr, local->port);
	sp_udp_put16(hdr + 2, o->to->port);
	sp_udp_put16(hdr + 4, (uint16_t)(o->len + SP_UDP_HDR_LEN));
	if (!v6)
		sp_udp_put16(hdr + 6, sp_udp_csum4(&local->addr.v4, &o->to->addr.v4, hdr, o->data, o->len));
	/* from C, as a socket bound to C:c sent */
	sp_udp_as_source(&mh, local, 0);
	return sp_udp_push(u, fd, &mh, o);
}

/* A raw UDP socket that only sends, and receives nothing.
 *
 * The kernel hands every raw socket of a protocol a clone of each datagram
 * of it delivered locally in the namespace (raw_v4_input, ipv6_raw_deliver),
 * unless the socket is bound to another local address: the address match
 * comes before the clone. So the socket is bound to an address the kernel
 * never delivers to, and no clone is made (not made and then dropped, as a
 * filter would: that cost every UDP datagram of the host a clone per
 * worker per family):
 *  - IPv4 0.0.0.1: 0.0.0.0/8 is never a destination (a martian on input,
 *    no route on output);
 *  - IPv6 ff00::1: multicast of the reserved scope 0, dropped on input
 *    (RFC 4291 2.7); with IPV6_MULTICAST_ALL off, or every multicast
 *    datagram of a group the host joined would still match.
 * IP_TRANSPARENT lets it bind an address that is not local; sends are
 * unchanged, their source is C from IP_PKTINFO.
 *
 * Not IPPROTO_RAW (send-only by design): it takes the whole IP header from
 * us and refuses a datagram above the device's MTU (EMSGSIZE) instead of
 * fragmenting it; the transport would then find the path MTU and fragment
 * itself. Bound this way the kernel keeps doing all of it. */
static int sp_udp_raw_bind_nowhere(int fd, int family)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = { { { 0xff, 0x00 } } } };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x00000001) };
	int zero = 0;

	if (family == AF_INET)
		return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	sin6.sin6_addr.s6_addr[15] = 1;
	if (setsockopt(fd, SOL_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof(zero)) < 0)
		return -1;
	return bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
}

static int sp_udp_raw_socket(int family)
{
	int one = 1, off = 6, rcvbuf = SP_UDP_RAW_RCVBUF, saved;
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	/* C need not be on an interface yet (VRRP), as IP_FREEBIND allowed */
	if (setsockopt(fd, family == AF_INET6 ? SOL_IPV6 : SOL_IP,
		       family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    sp_udp_raw_bind_nowhere(fd, family) < 0 ||
	    /* IPv6: the kernel writes the checksum at offset 6 of the header */
	    (family == AF_INET6 && setsockopt(fd, SOL_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/* ---- receiving ---- */

/* One datagram of the shared socket rx to the binding its original
 * destination names; one for no binding (or another address) is dropped,
 * as the kernel dropped it with no socket bound there, and counted (the
 * kernel's drop was visible as a port unreachable; this one would not be). */
static void sp_udp_shared_deliver(struct sp_udp *u, struct sp_udp_conn *rx, int i)
{
	struct msghdr *mh = &u->msgs[i].msg_hdr;
	struct sp_transport_msg seen = { 0 };
	struct sp_udp_conn *c;

	sp_udp_read_cmsgs(rx, mh, &seen); /* the queue's drops, the original destination */
	if (seen.orig_dst.family == rx->pub.local.family)
		c = sp_udp_ports(u, seen.orig_dst.family)[seen.orig_dst.port];
	else
		c = NULL;
	if (!c || c->fd >= 0 || !sp_endpoint_same_addr(&c->pub.local, &seen.orig_dst)) {
		if (u->pub.h.unbound)
			u->pub.h.unbound(u->pub.h.arg, SP_TRANSPORT_SERVER);
		return;
	}
	/* what a binding's own socket told: source, data, nothing else */
	struct sp_transport_msg m = { .conn = &c->pub };

	sp_udp_batch_msg(u, i, &m);
	u->pub.h.received(u->pub.h.arg, &m);
}

static void sp_udp_shared_readable(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_udp_conn *rx = arg;
	struct sp_udp *u = rx->udp;
	const struct sp_transport_handler *h = &u->pub.h;

	(void)loop;
	(void)events;
	u->reading = rx;
	for (int round = 0; round < SP_UDP_BATCHES_PER_WAKE; round++) {
		int n;

		sp_udp_prepare_batch(u);
		h->before_batch(h->arg, SP_TRANSPORT_SERVER);
		n = sp_udp_recv(u, fd, SP_TRANSPORT_SERVER);
		if (n <= 0 || u->reading != rx)
			break;
		u->batch_used = n;
		/* bindings the handler closes leave by_port: the next finds none */
		for (int i = 0; i < n; i++)
			sp_udp_shared_deliver(u, rx, i);
		sp_udp_flush_all_unlocked(u);
		if (n < SP_UDP_BATCH || u->reading != rx)
			break;
	}
	u->reading = NULL;
	sp_udp_flush_all_unlocked(u);
	h->wake_done(h->arg);
}

/* The receiving socket of family on a free port, watched; NULL: none. */
static struct sp_udp_conn *sp_udp_shared_rx(struct sp_udp *u, int family)
{
	struct sp_udp_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (!c)
		return NULL;
	c->udp = u;
	c->pub.tp = &u->pub;
	c->pub.side = SP_TRANSPORT_SERVER;
	c->fd6 = -1;
	c->fd = sp_udp_listen_socket(family, 0);
	if (c->fd < 0 || getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    sp_endpoint_from_sockaddr(&c->pub.local, (struct sockaddr *)&ss, sl) < 0 ||
	    sp_loop_add_fd(u->loop, c->fd, EPOLLIN, sp_udp_shared_readable, c) < 0) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

static void sp_udp_shared_rx_close(struct sp_udp *u, struct sp_udp_conn **c)
{
	if (!*c)
		return;
	sp_loop_del_fd(u->loop, (*c)->fd);
	close((*c)->fd);
	if (u->reading == *c)
		u->reading = NULL;
	free(*c);
	*c = NULL;
}

void sp_udp_shared_close(struct sp_udp *u)
{
	sp_udp_flush(&u->pub); /* what is queued may be for the raw sockets */
	sp_udp_shared_rx_close(u, &u->shared.rx4);
	sp_udp_shared_rx_close(u, &u->shared.rx6);
	if (u->shared.raw4 >= 0)
		close(u->shared.raw4);
	if (u->shared.raw6 >= 0)
		close(u->shared.raw6);
	u->shared.raw4 = u->shared.raw6 = -1;
}

int sp_transport_udp_shared_open(struct sp_transport *tp, bool ipv6, uint16_t *port4, uint16_t *port6)
{
	struct sp_udp *u = (struct sp_udp *)tp;

	/* no IPv6 C: no IPv6 socket (as the listeners hold no [::] one) */
	if (!ipv6) {
		sp_udp_flush(tp);
		sp_udp_shared_rx_close(u, &u->shared.rx6);
		if (u->shared.raw6 >= 0)
			close(u->shared.raw6);
		u->shared.raw6 = -1;
	}

	if (!u->shared.rx4)
		u->shared.rx4 = sp_udp_shared_rx(u, AF_INET);
	if (u->shared.raw4 < 0)
		u->shared.raw4 = sp_udp_raw_socket(AF_INET);
	/* IPv6 where the host has it, as the listeners */
	if (ipv6 && !u->shared.rx6)
		u->shared.rx6 = sp_udp_shared_rx(u, AF_INET6);
	if (ipv6 && u->shared.raw6 < 0)
		u->shared.raw6 = sp_udp_raw_socket(AF_INET6);
	*port4 = u->shared.rx4 && u->shared.raw4 >= 0 ? u->shared.rx4->pub.local.port : 0;
	*port6 = u->shared.rx6 && u->shared.raw6 >= 0 ? u->shared.rx6->pub.local.port : 0;
	if (!*port4) {
		sp_err("engine: no shared server-side sockets: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int sp_transport_udp_shared_fd(const struct sp_transport *tp, int family)
{
	const struct sp_udp *u = (const struct sp_udp *)tp;
	const struct sp_udp_conn *rx = family == AF_INET6 ? u->shared.rx6 : u->shared.rx4;

	return rx ? rx->fd : -1;
}

void sp_transport_udp_shared_set(struct sp_transport *tp, bool on)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	unsigned moved = 0, failed = 0;

	if (u->shared.on == on)
		return;
	sp_udp_flush(tp); /* what is queued may be for the sockets that go */
	u->shared.on = on;
	/* off: the rule is gone already; the receiving socket's port may be
	 * one of C's (the kernel picked it), which a binding binds again */
	if (!on)
		sp_udp_shared_close(u);
	for (int f = 0; f < 2; f++) {
		struct sp_udp_conn **ports = sp_udp_ports(u, f ? AF_INET6 : AF_INET);

		for (unsigned p = 0; p < 65536; p++) {
			struct sp_udp_conn *c = ports[p];

			if (!c)
				continue;
			if (on && c->fd >= 0) {
				sp_loop_del_fd(u->loop, c->fd);
				close(c->fd);
				c->fd = -1;
				moved++;
			} else if (!on && c->fd < 0) {
				if (sp_udp_server_socket(u, c) < 0)
					failed++;
				else
					moved++;
			}
		}
	}
	sp_info("engine: signaling sockets %s: %u bindings moved%s", on ? "shared" : "per binding", moved,
		failed ? ", some without a socket (see the descriptor limit)" : "");
}
