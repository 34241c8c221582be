#include "config.h"
#include "sp_transport_udp_int.h"
#include "sp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#ifndef SO_RCVMARK
#define SO_RCVMARK 75 /* Linux 5.19; older libc headers lack it */
#endif

static const struct sp_transport_ops sp_udp_ops;

/* ---- engine workers ----
 *
 * With more than one engine worker, the loops share a lock their callbacks
 * hold (sp_loop_set_lock). This transport's own system calls (recvmmsg on
 * the socket being read, the sendmmsg of its queue) run with that lock
 * released, so the workers' reads and writes go side by side; io then
 * keeps another thread, which holds the loop lock, from closing one of
 * these sockets or sending on one meanwhile: every socket call and every
 * touch of the queue holds io. Lock order: the loop's, then io; the lock
 * of the loop is taken again only after io is released. With one worker
 * there is no loop lock and io is never taken. */

void sp_udp_io_lock(struct sp_udp *u)
{
	if (sp_loop_has_lock(u->loop))
		pthread_mutex_lock(&u->io);
}

void sp_udp_io_unlock(struct sp_udp *u)
{
	if (sp_loop_has_lock(u->loop))
		pthread_mutex_unlock(&u->io);
}

/* ---- sending ---- */

/* Sends what is queued (io held); the counters of the datagrams that
 * failed go into failed, to be undone by the caller. Buffers stay as they
 * are: pub.out may be holding a message not queued yet. */
static unsigned sp_udp_send_queue(struct sp_udp *u, uint64_t **failed)
{
	unsigned i = 0, n = u->outq.n, nf = 0;

	while (i < n) {
		int r = sendmmsg(u->outq.fd, u->outq.msgs + i, n - i, MSG_DONTWAIT);

		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		/* the first datagram left failed: as a failed sendmsg did */
		failed[nf++] = u->outq.counter[i];
		i++;
	}
	u->outq.n = 0;
	return nf;
}

/* Failed sends told to the engine (with the loop's lock held). */
static void sp_udp_tell_failed(struct sp_udp *u, uint64_t **failed, unsigned nf)
{
	for (unsigned i = 0; i < nf; i++) {
		(*failed[i])--;
		u->pub.h.send_failed(u->pub.h.arg);
	}
}

void sp_udp_flush(struct sp_transport *tp)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	uint64_t *failed[SP_UDP_BATCH];
	unsigned nf;

	sp_udp_io_lock(u);
	nf = sp_udp_send_queue(u, failed);
	sp_udp_io_unlock(u);
	sp_udp_tell_failed(u, failed, nf);
}

/* Between received batches: everything out, every buffer free again. */
static void sp_udp_flush_all(struct sp_udp *u)
{
	sp_udp_flush(&u->pub);
	u->outq.slot = 0;
	u->pub.out = u->outq.bufs;
}

/* The same at the end of a batch read by this transport's own readable
 * callback: the queue goes out with the loops' lock released. */
void sp_udp_flush_all_unlocked(struct sp_udp *u)
{
	uint64_t *failed[SP_UDP_BATCH];
	unsigned nf;

	if (!sp_loop_has_lock(u->loop) || !u->outq.n) {
		sp_udp_flush_all(u);
		return;
	}
	sp_udp_io_lock(u);
	sp_loop_round_unlock(u->loop);
	nf = sp_udp_send_queue(u, failed);
	sp_udp_io_unlock(u);
	sp_loop_round_relock(u->loop);
	sp_udp_tell_failed(u, failed, nf);
	u->outq.slot = 0;
	u->pub.out = u->outq.bufs;
}

/* Queues one datagram (or sends it at once, see now). */
int sp_udp_push(struct sp_udp *u, int fd, const struct msghdr *mh, const struct sp_transport_out *o)
{
	size_t k = mh->msg_iovlen; /* 1, or 2: a UDP header first */
	bool uses_out = mh->msg_iov[k - 1].iov_base == u->pub.out;
	unsigned i;
	struct msghdr *q;

	if (o->now) {
		ssize_t r;

		sp_udp_flush(&u->pub);
		sp_udp_io_lock(u);
		r = sendmsg(fd, mh, MSG_DONTWAIT);
		sp_udp_io_unlock(u);
		return r < 0 ? -1 : 0;
	}
	if (u->outq.n && u->outq.fd != fd)
		sp_udp_flush(&u->pub);
	i = u->outq.n++;
	u->outq.fd = fd;
	u->outq.counter[i] = o->counter;
	u->outq.iov[i][k - 1] = mh->msg_iov[k - 1];
	if (k == 2) {
		memcpy(u->outq.hdr[i], mh->msg_iov[0].iov_base, SP_UDP_HDR_LEN);
		u->outq.iov[i][0] = (struct iovec){ u->outq.hdr[i], SP_UDP_HDR_LEN };
	}
	memcpy(&u->outq.to[i], mh->msg_name, mh->msg_namelen);
	q = &u->outq.msgs[i].msg_hdr;
	memset(q, 0, sizeof(*q));
	q->msg_name = &u->outq.to[i];
	q->msg_namelen = mh->msg_namelen;
	q->msg_iov = u->outq.iov[i];
	q->msg_iovlen = k;
	if (mh->msg_controllen) {
		memcpy(u->outq.ctrl[i], mh->msg_control, mh->msg_controllen);
		q->msg_control = u->outq.ctrl[i];
		q->msg_controllen = mh->msg_controllen;
	}
	if (uses_out) {
		u->outq.slot++;
		u->pub.out = u->outq.bufs + (size_t)u->outq.slot * SP_UDP_OUT_MAX;
	}
	if (u->outq.n == SP_UDP_BATCH || u->outq.slot == SP_UDP_BATCH)
		sp_udp_flush_all(u);
	return 0;
}

/* The source address (a listener answers as E) and the mark (return path
 * and VPN) of a datagram to a terminal, into mh's control buffer. */
void sp_udp_as_source(struct msghdr *mh, const struct sp_endpoint *from, uint32_t mark)
{
	char *cbuf = mh->msg_control;
	struct cmsghdr *cm;

	if (from->family == AF_INET) {
		struct in_pktinfo pi = { 0 };
		pi.ipi_spec_dst = from->addr.v4;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = SOL_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };
		pi.ipi6_addr = from->addr.v6;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = SOL_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (mark) {
		/* the return path's rule sends it the way the terminal came */
		cm = (struct cmsghdr *)(cbuf + mh->msg_controllen);
		mh->msg_controllen += CMSG_SPACE(sizeof(mark));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SO_MARK;
		cm->cmsg_len = CMSG_LEN(sizeof(mark));
		memcpy(CMSG_DATA(cm), &mark, sizeof(mark));
	}
}

static int sp_udp_send(struct sp_transport *tp, struct sp_transport_conn *conn,
		       const struct sp_transport_out *o)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	struct sp_udp_conn *c = (struct sp_udp_conn *)conn;
	struct sockaddr_storage to;
	socklen_t tl = sp_endpoint_to_sockaddr(o->to, &to);
	char cbuf[SP_UDP_OUT_CTRL] = { 0 };
	struct iovec iov = { (void *)o->data, o->len };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = tl, .msg_iov = &iov, .msg_iovlen = 1 };

	if (conn->side == SP_TRANSPORT_TERMINAL) {
		/* answer as E: the listener is transparent and E goes in as
		 * the source address; the port is the listener's, which is e */
		mh.msg_control = cbuf;
		sp_udp_as_source(&mh, o->from, o->mark);
		if (o->to->family == AF_INET6)
			return c->fd6 < 0 ? -1 : sp_udp_push(u, c->fd6, &mh, o);
	}
	if (c->fd < 0)
		return sp_udp_shared_send(u, c, o);
	return sp_udp_push(u, c->fd, &mh, o);
}

/* ---- receiving ---- */

/* SO_RXQ_OVFL: the socket's drop count so far (32 bits, wrapping), on a
 * datagram received after drops; the growth since the last one is told. */
void sp_udp_rxq_drops(struct sp_udp_conn *c, const unsigned char *data)
{
	uint32_t now, *last = c->reading6 ? &c->rxq_drops6 : &c->rxq_drops;

	memcpy(&now, data, sizeof(now));
	c->udp->pub.h.queue_drops(c->udp->pub.h.arg, c->pub.side, (uint32_t)(now - *last));
	*last = now;
}

void sp_udp_prepare_batch(struct sp_udp *u)
{
	/* only the entries the last recvmmsg filled in have changed */
	int used = u->batch_used;

	u->batch_used = 0;
	for (int i = 0; i < used; i++) {
		u->iov[i].iov_base = u->bufs + (size_t)i * SP_UDP_DGRAM_MAX;
		u->iov[i].iov_len = SP_UDP_DGRAM_MAX - 1;
		memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
		u->msgs[i].msg_hdr.msg_name = &u->from[i];
		u->msgs[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
		u->msgs[i].msg_hdr.msg_control = u->ctrl[i];
		u->msgs[i].msg_hdr.msg_controllen = sizeof(u->ctrl[i]);
	}
}

/* The control data of one datagram: mark, ingress, original destination
 * (terminal side) and the queue's drops (both sides). */
void sp_udp_read_cmsgs(struct sp_udp_conn *c, struct msghdr *mh, struct sp_transport_msg *m)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_MARK)
			memcpy(&m->mark, CMSG_DATA(cm), sizeof(m->mark));
		else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
			sp_udp_rxq_drops(c, CMSG_DATA(cm));
		else if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO)
			m->ifindex = ((struct in_pktinfo *)CMSG_DATA(cm))->ipi_ifindex;
		else if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO)
			m->ifindex = (int)((struct in6_pktinfo *)CMSG_DATA(cm))->ipi6_ifindex;
		else if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_ORIGDSTADDR) {
			if (sp_endpoint_from_sockaddr(&m->orig_dst, (struct sockaddr *)CMSG_DATA(cm),
						      sizeof(struct sockaddr_in)) < 0)
				sp_endpoint_clear(&m->orig_dst);
		} else if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_ORIGDSTADDR) {
			if (sp_endpoint_from_sockaddr(&m->orig_dst, (struct sockaddr *)CMSG_DATA(cm),
						      sizeof(struct sockaddr_in6)) < 0)
				sp_endpoint_clear(&m->orig_dst);
		}
	}
}

bool sp_udp_batch_msg(struct sp_udp *u, int i, struct sp_transport_msg *m)
{
	struct msghdr *mh = &u->msgs[i].msg_hdr;
	bool readable = sp_endpoint_from_sockaddr(&m->source, mh->msg_name, mh->msg_namelen) == 0;

	m->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
	if (!readable) {
		/* counted as the parse error of a truncated datagram */
		sp_endpoint_clear(&m->source);
		m->truncated = true;
	}
	m->data = u->bufs + (size_t)i * SP_UDP_DGRAM_MAX;
	m->len = u->msgs[i].msg_len;
	m->data[m->len] = '\0';
	if (i < u->batch_prepared && !(mh->msg_flags & MSG_TRUNC))
		m->prepared = (unsigned)i + 1;
	return readable;
}

/* One received datagram to the handler; false: its socket went with it. */
static bool sp_udp_deliver(struct sp_udp *u, struct sp_udp_conn *c, int i)
{
	struct msghdr *mh = &u->msgs[i].msg_hdr;
	struct sp_transport_msg m = { .conn = &c->pub };
	bool listener = c->pub.side == SP_TRANSPORT_TERMINAL;

	sp_udp_read_cmsgs(c, mh, &m);
	/* a listener passes a datagram of no readable source by (unless
	 * truncated); a binding's socket counts it */
	if (!sp_udp_batch_msg(u, i, &m) && listener && !(mh->msg_flags & MSG_TRUNC))
		return true;
	u->pub.h.received(u->pub.h.arg, &m);
	/* c may be freed now: only u->reading says whether it still is */
	return listener || u->reading == c;
}

/* What the handler works out from a batch's bytes alone, with the loops'
 * lock released and io not held (it touches no socket). */
static void sp_udp_prepare(struct sp_udp *u, enum sp_transport_side side, int n)
{
	const struct sp_transport_handler *h = &u->pub.h;

	if (!h->prepare)
		return;
	for (int i = 0; i < n; i++) {
		char *data = u->bufs + (size_t)i * SP_UDP_DGRAM_MAX;

		if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		data[u->msgs[i].msg_len] = '\0';
		h->prepare(h->arg, side, (unsigned)i, data, u->msgs[i].msg_len);
	}
	u->batch_prepared = n;
}

/* One batch from fd, with the loops' lock released (see above); its
 * datagrams are prepared before the lock is taken again. */
int sp_udp_recv(struct sp_udp *u, int fd, enum sp_transport_side side)
{
	int n;

	u->batch_prepared = 0;
	if (!sp_loop_has_lock(u->loop))
		return recvmmsg(fd, u->msgs, SP_UDP_BATCH, MSG_DONTWAIT, NULL);
	sp_udp_io_lock(u);
	sp_loop_round_unlock(u->loop);
	n = recvmmsg(fd, u->msgs, SP_UDP_BATCH, MSG_DONTWAIT, NULL);
	sp_udp_io_unlock(u);
	sp_udp_prepare(u, side, n);
	sp_loop_round_relock(u->loop);
	return n;
}

static void sp_udp_readable(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_udp_conn *c = arg;
	struct sp_udp *u = c->udp;
	const struct sp_transport_handler *h = &u->pub.h;

	(void)loop;
	(void)events;
	u->reading = c;
	c->reading6 = fd == c->fd6;
	for (int round = 0; round < SP_UDP_BATCHES_PER_WAKE; round++) {
		int n;

		sp_udp_prepare_batch(u);
		h->before_batch(h->arg, c->pub.side);
		n = sp_udp_recv(u, fd, c->pub.side);
		/* another worker may have closed it meanwhile: what it read goes */
		if (n <= 0 || u->reading != c)
			break;
		u->batch_used = n;
		for (int i = 0; i < n; i++)
			if (!sp_udp_deliver(u, c, i))
				goto done;
		/* before the next recvmmsg: queued keep-alives point into bufs */
		sp_udp_flush_all_unlocked(u);
		if (n < SP_UDP_BATCH || u->reading != c)
			break;
	}
done:
	u->reading = NULL;
	sp_udp_flush_all_unlocked(u);
	h->wake_done(h->arg);
}

/* ---- connections ---- */

/* One socket per binding means tens of thousands of descriptors, while
 * libcli's session loop uses select(), which cannot watch a descriptor at or
 * above FD_SETSIZE (it aborts the session). Binding sockets therefore live
 * at FD_SETSIZE and above, leaving the low numbers to the CLI and the
 * daemon's few other files however many terminals there are. If the limit
 * on open files does not allow it, the socket stays where it is. */
static int sp_udp_fd_above_select(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);

	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/* The server-side sockets of family's C, by port. */
struct sp_udp_conn **sp_udp_ports(struct sp_udp *u, int family)
{
	return family == AF_INET6 ? u->by_port6 : u->by_port;
}

int sp_udp_server_socket(struct sp_udp *u, struct sp_udp_conn *c)
{
	const struct sp_endpoint *local = &c->pub.local;
	struct sockaddr_storage ss;
	socklen_t sl = sp_endpoint_to_sockaddr(local, &ss);
	int one = 1, rcvbuf = SP_UDP_SERVER_RCVBUF;

	c->fd = socket(local->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	c->fd = sp_udp_fd_above_select(c->fd);
	/* C need not be configured on an interface yet when a VRRP daemon owns it */
	setsockopt(c->fd, local->family == AF_INET6 ? SOL_IPV6 : SOL_IP,
		   local->family == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &one, sizeof(one));
	/* the kernel's drops at a full queue come with the next datagram */
	setsockopt(c->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* a trunk's binding carries every call's answers: the 212 KB default
	 * held ~40 ms of them at 1100 calls/s and overflowed whenever the
	 * engine waited that long for a CPU (bench/RESULTS.md, 2026-12-04). A
	 * limit, not an allocation: memory is taken only while datagrams wait. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(c->fd, (struct sockaddr *)&ss, sl) < 0 ||
	    sp_loop_add_fd(u->loop, c->fd, EPOLLIN, sp_udp_readable, c) < 0) {
		int saved = errno;

		close(c->fd);
		c->fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

static struct sp_transport_conn *sp_udp_open(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	struct sp_udp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->udp = u;
	c->pub.tp = tp;
	c->pub.side = SP_TRANSPORT_SERVER;
	c->pub.local = *local;
	c->fd = -1;
	c->fd6 = -1;
	/* shared: the binding is found by its port, no socket of its own */
	if (u->shared.on || sp_udp_server_socket(u, c) == 0) {
		sp_udp_ports(u, local->family)[local->port] = c;
		return &c->pub;
	}
	{
		static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("engine: server-side sockets not opened");
		char b[SP_ENDPOINT_STRLEN];

		sp_log_limited(&lim, LOG_WARNING, "engine: cannot open the server-side socket %s: %s",
			       sp_endpoint_format(local, b, sizeof(b)), strerror(errno));
	}
	free(c);
	return NULL;
}

static struct sp_transport_conn *sp_udp_find(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct sp_udp_conn *c = sp_udp_ports((struct sp_udp *)tp, local->family)[local->port];

	return c ? &c->pub : NULL;
}

/* A transparent listener socket of family on port: it receives what
 * TPROXY hands it (to any E), tells the original destination, the ingress
 * and the mark, and answers as E. -1 with errno on failure. */
int sp_udp_listen_socket(int family, uint16_t port)
{
	bool v6 = family == AF_INET6;
	int level = v6 ? SOL_IPV6 : SOL_IP;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1, rcvbuf = 8 << 20, saved;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* an IPv6 socket takes IPv6 only: IPv4 has its own */
	if ((v6 && setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, level, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, level, v6 ? IPV6_RECVORIGDSTADDR : IP_RECVORIGDSTADDR, &one, sizeof(one)) < 0 ||
	    /* ingress, return path */
	    setsockopt(fd, level, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVMARK, &one, sizeof(one)) < 0 ||
	    /* overload made visible: the drops at a full queue */
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ||
	    /* bursts from many terminals: the 212 KB default overflowed at
	     * 4300 calls/s (bench/RESULTS.md); FORCE passes rmem_max as root */
	    (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    (v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) : bind(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static struct sp_transport_conn *sp_udp_listen(struct sp_transport *tp, uint16_t port, struct sp_error *e)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	struct sp_udp_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	c->udp = u;
	c->pub.tp = tp;
	c->pub.side = SP_TRANSPORT_TERMINAL;
	c->pub.local.family = AF_INET;
	c->pub.local.port = port;
	c->fd6 = -1;
	c->fd = sp_udp_listen_socket(AF_INET, port);
	if (c->fd < 0 || sp_loop_add_fd(u->loop, c->fd, EPOLLIN, sp_udp_readable, c) < 0) {
		sp_error_set(e, "Cannot listen on UDP port %u: %s", port, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	return &c->pub;
}

static void sp_udp_listen_ipv6(struct sp_transport_conn *conn, bool on)
{
	struct sp_udp_conn *c = (struct sp_udp_conn *)conn;
	struct sp_udp *u = c->udp;

	if (!on && c->fd6 >= 0) {
		sp_udp_flush(&u->pub); /* what is queued may be for this socket */
		sp_loop_del_fd(u->loop, c->fd6);
		close(c->fd6);
		c->fd6 = -1;
	}
	if (!on || c->fd6 >= 0)
		return;
	c->rxq_drops6 = 0; /* a new socket counts from 0 */
	/* IPv6 where the host has it: a host without only proxies IPv4 */
	c->fd6 = sp_udp_listen_socket(AF_INET6, conn->local.port);
	if (c->fd6 >= 0 && sp_loop_add_fd(u->loop, c->fd6, EPOLLIN, sp_udp_readable, c) < 0) {
		close(c->fd6);
		c->fd6 = -1;
	}
	if (c->fd6 < 0)
		sp_info("engine: no IPv6 listener on UDP port %u: %s", conn->local.port, strerror(errno));
}

void sp_transport_udp_listener_drops(struct sp_transport_conn *listener)
{
	struct sp_udp_conn *c = (struct sp_udp_conn *)listener;
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (listener->side != SP_TRANSPORT_TERMINAL || listener->tp->ops != &sp_udp_ops ||
	    getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(mem[0]) ||
	    mem[SK_MEMINFO_DROPS] == c->rxq_drops)
		return;
	/* the count SO_RXQ_OVFL tells with the next datagram, read now */
	sp_udp_rxq_drops(c, (const unsigned char *)&mem[SK_MEMINFO_DROPS]);
}

int sp_transport_udp_listener_fd(const struct sp_transport_conn *listener, int family)
{
	const struct sp_udp_conn *c = (const struct sp_udp_conn *)listener;

	if (listener->side != SP_TRANSPORT_TERMINAL || listener->tp->ops != &sp_udp_ops)
		return -1;
	return family == AF_INET6 ? c->fd6 : c->fd;
}

static void sp_udp_close(struct sp_transport *tp, struct sp_transport_conn *conn)
{
	struct sp_udp *u = (struct sp_udp *)tp;
	struct sp_udp_conn *c = (struct sp_udp_conn *)conn;
	uint64_t *failed[SP_UDP_BATCH];
	unsigned nf;

	sp_udp_io_lock(u);
	nf = sp_udp_send_queue(u, failed); /* what is queued may be for this socket */
	if (c->fd >= 0) { /* a binding of shared sockets has none */
		sp_loop_del_fd(u->loop, c->fd);
		close(c->fd);
	}
	if (c->fd6 >= 0) {
		sp_loop_del_fd(u->loop, c->fd6);
		close(c->fd6);
	}
	sp_udp_io_unlock(u);
	sp_udp_tell_failed(u, failed, nf);
	if (conn->side == SP_TRANSPORT_SERVER && sp_udp_ports(u, conn->local.family)[conn->local.port] == c)
		sp_udp_ports(u, conn->local.family)[conn->local.port] = NULL;
	if (u->reading == c)
		u->reading = NULL;
	free(c);
}

static void sp_udp_close_server_side(struct sp_transport *tp)
{
	struct sp_udp *u = (struct sp_udp *)tp;

	for (unsigned p = 0; u->by_port && u->by_port6 && p < 65536; p++) {
		if (u->by_port[p])
			sp_udp_close(tp, &u->by_port[p]->pub);
		if (u->by_port6[p])
			sp_udp_close(tp, &u->by_port6[p]->pub);
	}
}

static void sp_udp_destroy(struct sp_transport *tp)
{
	struct sp_udp *u = (struct sp_udp *)tp;

	sp_udp_close_server_side(tp);
	sp_udp_shared_close(u);
	free(u->by_port);
	free(u->by_port6);
	free(u->bufs);
	free(u->outq.bufs);
	pthread_mutex_destroy(&u->io);
	free(u);
}

static const struct sp_transport_ops sp_udp_ops = {
	.name = "udp",
	.listen = sp_udp_listen,
	.listen_ipv6 = sp_udp_listen_ipv6,
	.open = sp_udp_open,
	.find = sp_udp_find,
	.close = sp_udp_close,
	.close_server_side = sp_udp_close_server_side,
	.send = sp_udp_send,
	.flush = sp_udp_flush,
	.destroy = sp_udp_destroy,
};

struct sp_transport *sp_transport_udp_new(struct sp_loop *loop, const struct sp_transport_handler *h)
{
	struct sp_udp *u = calloc(1, sizeof(*u));
	struct rlimit rl = { SP_UDP_MAX_FILES, SP_UDP_MAX_FILES };

	if (!u)
		return NULL;
	/* one socket per terminal binding: allow many */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pthread_mutex_init(&u->io, NULL);
	u->shared.raw4 = u->shared.raw6 = -1;
	u->pub.ops = &sp_udp_ops;
	u->pub.h = *h;
	u->loop = loop;
	u->bufs = malloc((size_t)SP_UDP_BATCH * SP_UDP_DGRAM_MAX);
	u->outq.bufs = malloc((size_t)SP_UDP_BATCH * SP_UDP_OUT_MAX);
	u->batch_used = SP_UDP_BATCH; /* the first prepare sets them all */
	u->pub.out = u->outq.bufs;
	u->pub.out_max = SP_UDP_OUT_MAX;
	u->by_port = calloc(65536, sizeof(*u->by_port));
	u->by_port6 = calloc(65536, sizeof(*u->by_port6));
	if (!u->bufs || !u->outq.bufs || !u->by_port || !u->by_port6) {
		sp_udp_destroy(&u->pub);
		return NULL;
	}
	return &u->pub;
}
