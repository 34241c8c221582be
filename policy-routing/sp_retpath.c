/* The SP's return path: see sp_retpath.h. */
#include "config.h"
#include "sp_retpath.h"
#include "sp_config.h"
#include "sp_log.h"
#include "sp_neigh.h"
#include "sp_rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Frames remembered by the packet socket: the listeners are read right after
 * it is drained, so only the last batch or so is ever looked up. */
#define SP_RETPATH_SEEN 256

/* The packet socket's receive ring (TPACKET_V2, shared with the kernel):
 * draining it before each listener batch reads memory, not a system call
 * (issue 21: one recvmmsg per terminal batch was ~2 of the ~17 syscalls of
 * a call). 16 frames of 256 bytes per 4 KiB block (header, sockaddr_ll and
 * the 128 bytes the filter keeps); 1024 frames. */
#define SP_RETPATH_RING_FRAME 256
#define SP_RETPATH_RING_BLOCK 4096
#define SP_RETPATH_RING_BLOCKS 64
#define SP_RETPATH_RING_FRAMES (SP_RETPATH_RING_BLOCKS * (SP_RETPATH_RING_BLOCK / SP_RETPATH_RING_FRAME))

struct sp_retpath_seen {
	struct sp_endpoint src;	/* the terminal's address and port */
	int ifindex;
	uint8_t mac[6];
};

/* One way back: an interface and the previous hop on it, in one family. */
struct sp_retpath_slot {
	bool used;
	int ifindex;
	struct sp_rt_addr via;	/* family set, address 0: directly on the interface */
	struct sp_rule rule;
	struct sp_route route;
};

struct sp_retpath {
	struct sp_rtnl *rtnl;
	enum sp_retpath_mode mode;
	struct sp_rt_addr gateway;	/* default-gateway mode: either family */
	int packet_fd;		/* learn mode only, else -1 */
	int packet6_fd;		/* the same for IPv6, or -1 */
	uint8_t *ring;		/* packet_fd's receive ring; NULL: read with recvmmsg */
	unsigned ring_next;	/* the frame the kernel fills next */
	uint8_t *ring6;		/* packet6_fd's, likewise */
	unsigned ring6_next;
	uint64_t rx_drops;	/* frames its queue dropped (PACKET_STATISTICS) */
	struct sp_retpath_seen seen[SP_RETPATH_SEEN];
	unsigned seen_next;
	struct sp_retpath_slot slots[SP_RETPATH_SLOTS];	/* 0: the default gateway */
};

static uint32_t sp_retpath_slot_mark(unsigned i)
{
	return SP_RETPATH_MARK | (uint32_t)i << 16;
}

static void sp_retpath_slot_remove(struct sp_retpath *rp, unsigned i)
{
	struct sp_retpath_slot *s = &rp->slots[i];
	struct sp_error err = { "" };

	if (!s->used)
		return;
	if (sp_rtnl_rule_del(rp->rtnl, &s->rule, &err) < 0 && errno != ENOENT)
		sp_warn("return path: %s", err.msg);
	if (sp_rtnl_route_del(rp->rtnl, &s->route, &err) < 0 && errno != ESRCH)
		sp_warn("return path: %s", err.msg);
	memset(s, 0, sizeof(*s));
}

/* Whether a slot's via is an address (not "directly on the interface"). */
static bool sp_retpath_via_set(const struct sp_rt_addr *via)
{
	return via->family == AF_INET6 ? !IN6_IS_ADDR_UNSPECIFIED(&via->v6) : via->v4.s_addr != 0;
}

static bool sp_retpath_via_equal(const struct sp_rt_addr *a, const struct sp_rt_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET6 ? IN6_ARE_ADDR_EQUAL(&a->v6, &b->v6) : a->v4.s_addr == b->v4.s_addr;
}

static int sp_retpath_slot_install(struct sp_retpath *rp, unsigned i, int ifindex,
				   const struct sp_rt_addr *via, struct sp_error *err)
{
	struct sp_retpath_slot *s = &rp->slots[i];
	struct sp_error ignored = { "" };

	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	s->via = *via;
	s->route.family = via->family;
	s->route.kind = SP_ROUTE_UNICAST;
	s->route.table = SP_RETPATH_TABLE_BASE + i;
	s->route.oif = (unsigned)ifindex;
	s->route.protocol = SP_RTPROT;
	if (sp_retpath_via_set(via))
		s->route.gateway = *via;
	s->rule.family = via->family;
	s->rule.priority = SP_RETPATH_RULE_PRIORITY;
	s->rule.fwmark = sp_retpath_slot_mark(i);
	s->rule.fwmask = SP_RETPATH_MARK_MASK;
	s->rule.table = s->route.table;
	s->rule.protocol = SP_RTPROT;
	/* a previous run's leftovers would make these EEXIST */
	sp_rtnl_rule_del(rp->rtnl, &s->rule, &ignored);
	sp_rtnl_route_del(rp->rtnl, &s->route, &ignored);
	if (sp_rtnl_route_add(rp->rtnl, &s->route, err) < 0)
		return -1;
	if (sp_rtnl_rule_add(rp->rtnl, &s->rule, err) < 0) {
		sp_rtnl_route_del(rp->rtnl, &s->route, &ignored);
		return -1;
	}
	s->used = true;
	return 0;
}

int sp_retpath_open(struct sp_retpath **out, struct sp_error *err)
{
	struct sp_retpath *rp = calloc(1, sizeof(*rp));

	if (!rp) {
		sp_error_set(err, "out of memory");
		return -1;
	}
	rp->packet_fd = -1;
	rp->packet6_fd = -1;
	if (sp_rtnl_open(&rp->rtnl, err) < 0) {
		free(rp);
		return -1;
	}
	*out = rp;
	return 0;
}

static void sp_retpath_take_drops(struct sp_retpath *rp, int fd);

static void sp_retpath_packet_close(struct sp_retpath *rp)
{
	if (rp->ring)
		munmap(rp->ring, (size_t)SP_RETPATH_RING_BLOCK * SP_RETPATH_RING_BLOCKS);
	if (rp->ring6)
		munmap(rp->ring6, (size_t)SP_RETPATH_RING_BLOCK * SP_RETPATH_RING_BLOCKS);
	rp->ring = rp->ring6 = NULL;
	rp->ring_next = rp->ring6_next = 0;
	if (rp->packet_fd >= 0)
		close(rp->packet_fd);
	rp->packet_fd = -1;
	if (rp->packet6_fd >= 0)
		close(rp->packet6_fd);
	rp->packet6_fd = -1;
}

/* The receive ring on a packet socket not bound yet; NULL (and the socket
 * read with recvmmsg) where the kernel refuses it. */
static uint8_t *sp_retpath_ring_open(int fd)
{
	struct tpacket_req req = {
		.tp_block_size = SP_RETPATH_RING_BLOCK,
		.tp_block_nr = SP_RETPATH_RING_BLOCKS,
		.tp_frame_size = SP_RETPATH_RING_FRAME,
		.tp_frame_nr = SP_RETPATH_RING_FRAMES,
	};
	int version = TPACKET_V2;
	void *ring;

	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return NULL;
	ring = mmap(NULL, (size_t)SP_RETPATH_RING_BLOCK * SP_RETPATH_RING_BLOCKS, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		/* without the mapping the ring would take frames nobody reads */
		memset(&req, 0, sizeof(req));
		setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req));
		return NULL;
	}
	return ring;
}

static void sp_retpath_reset(struct sp_retpath *rp)
{
	for (unsigned i = 0; i < SP_RETPATH_SLOTS; i++)
		sp_retpath_slot_remove(rp, i);
	if (rp->packet_fd >= 0) {
		sp_retpath_take_drops(rp, rp->packet_fd);
		sp_retpath_take_drops(rp, rp->packet6_fd);
		sp_retpath_packet_close(rp);
	}
	memset(rp->seen, 0, sizeof(rp->seen));
	rp->mode = SP_RETPATH_NONE;
}

void sp_retpath_close(struct sp_retpath *rp)
{
	if (!rp)
		return;
	sp_retpath_reset(rp);
	sp_rtnl_close(rp->rtnl);
	free(rp);
}

/* A packet socket of ethertype proto with filter prog, and its ring in
 * *ring; what names it in an error. Protocol 0 at socket(): no frame
 * arrives before the filter is attached and bind() names the protocol. */
static int sp_retpath_packet_socket(uint16_t proto, const struct sock_fprog *prog, const char *what,
				    uint8_t **ring, struct sp_error *err)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	*ring = fd >= 0 ? sp_retpath_ring_open(fd) : NULL;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		sp_error_set(err, "%s: %s", what, strerror(errno));
		if (*ring)
			munmap(*ring, (size_t)SP_RETPATH_RING_BLOCK * SP_RETPATH_RING_BLOCKS);
		*ring = NULL;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A packet socket that sees only unfragmented IPv4 UDP to the listen ports,
 * so the rest of the traffic (media, forwarded packets) never reaches
 * userspace. Classic BPF; on a SOCK_DGRAM packet socket it runs on the IP
 * header, and the link-layer source comes in sockaddr_ll. */
static int sp_retpath_packet_open(const uint16_t *ports, unsigned n_ports, uint8_t **ring,
				  struct sp_error *err)
{
	struct sock_filter code[10 + SP_LISTEN_PORTS_MAX];
	struct sock_fprog prog;
	unsigned n = 0;

	if (n_ports > SP_LISTEN_PORTS_MAX)
		n_ports = SP_LISTEN_PORTS_MAX;
	/* jump offsets count from the next instruction: drop is at 8 + n_ports,
	 * accept at 9 + n_ports. The daemon's own datagrams to port 5060 (to
	 * the servers) go out through the same interfaces: dropped in the
	 * filter rather than read and skipped, one syscall each. */
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE);
	code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, (uint8_t)(6 + n_ports), 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9);	/* protocol */
	code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, (uint8_t)(4 + n_ports));
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6);	/* fragment offset */
	code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, (uint8_t)(2 + n_ports), 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0);	/* IP header length */
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2);	/* UDP destination port */
	for (unsigned i = 0; i < n_ports; i++)
		code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[i],
							 (uint8_t)(n_ports - i), 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 128); /* headers are all we read */
	prog.len = (unsigned short)n;
	prog.filter = code;
	return sp_retpath_packet_socket(ETH_P_IP, &prog, "packet socket", ring, err);
}

/* The same for IPv6: UDP right after the fixed header (no extension
 * header, as SIP's datagrams come) to the listen ports; with its own ring. */
static int sp_retpath_packet6_open(const uint16_t *ports, unsigned n_ports, uint8_t **ring,
				   struct sp_error *err)
{
	struct sock_filter code[8 + SP_LISTEN_PORTS_MAX];
	struct sock_fprog prog;
	unsigned n = 0;

	if (n_ports > SP_LISTEN_PORTS_MAX)
		n_ports = SP_LISTEN_PORTS_MAX;
	/* drop is at 5 + n_ports, accept at 6 + n_ports */
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE);
	code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, (uint8_t)(3 + n_ports), 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6);	/* next header */
	code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, (uint8_t)(1 + n_ports));
	code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42);	/* UDP destination port */
	for (unsigned i = 0; i < n_ports; i++)
		code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[i],
							 (uint8_t)(n_ports - i), 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 128);
	prog.len = (unsigned short)n;
	prog.filter = code;
	return sp_retpath_packet_socket(ETH_P_IPV6, &prog, "IPv6 packet socket", ring, err);
}

int sp_retpath_configure(struct sp_retpath *rp, enum sp_retpath_mode mode,
			 const struct sp_addr *gw, const uint16_t *listen_ports,
			 unsigned n_listen_ports, struct sp_error *err)
{
	struct sp_rt_addr gwa = { .family = AF_INET };
	unsigned oif = 0;
	int fd = -1, fd6 = -1;
	uint8_t *ring = NULL, *ring6 = NULL;

	if (mode == SP_RETPATH_DEFAULT_GATEWAY && gw && gw->family == AF_INET6) {
		gwa.family = AF_INET6;
		gwa.v6 = gw->u.v6;
	} else if (mode == SP_RETPATH_DEFAULT_GATEWAY && gw) {
		gwa.v4 = gw->u.v4;
	}
	if (mode == rp->mode && (mode != SP_RETPATH_DEFAULT_GATEWAY ||
				 sp_retpath_via_equal(&gwa, &rp->gateway)) && mode != SP_RETPATH_LEARN)
		return 0;
	/* everything that can fail, first */
	if (mode == SP_RETPATH_DEFAULT_GATEWAY) {
		if (sp_rtnl_gateway_check(rp->rtnl, &gwa, &oif, err) < 0)
			return -1;
	} else if (mode == SP_RETPATH_LEARN) {
		fd = sp_retpath_packet_open(listen_ports, n_listen_ports, &ring, err);
		if (fd < 0)
			return -1;
		/* IPv6 where the host has it: without, IPv4 paths are learned */
		fd6 = sp_retpath_packet6_open(listen_ports, n_listen_ports, &ring6, err);
	}
	if (mode == SP_RETPATH_LEARN && rp->mode == SP_RETPATH_LEARN) {
		/* new ports: a new filter; learned paths stay valid */
		sp_retpath_take_drops(rp, rp->packet_fd);
		sp_retpath_take_drops(rp, rp->packet6_fd);
		sp_retpath_packet_close(rp);
		rp->packet_fd = fd;
		rp->packet6_fd = fd6;
		rp->ring = ring;
		rp->ring6 = ring6;
		return 0;
	}
	sp_retpath_reset(rp);
	if (mode == SP_RETPATH_DEFAULT_GATEWAY &&
	    sp_retpath_slot_install(rp, 0, (int)oif, &gwa, err) < 0)
		return -1; /* the routing table decides meanwhile */
	rp->packet_fd = fd;
	rp->packet6_fd = fd6;
	rp->ring = ring;
	rp->ring6 = ring6;
	rp->mode = mode;
	rp->gateway = gwa;
	return 0;
}

/* Frames per recvmmsg: a batch that comes back short means the queue is
 * empty, so a drain costs one syscall rather than one per frame plus one. */
#define SP_RETPATH_DRAIN_BATCH 16

/* PACKET_STATISTICS gives the drops since it was last read: taken before a
 * socket closes and whenever asked. */
static void sp_retpath_take_drops(struct sp_retpath *rp, int fd)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (fd >= 0 && getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		rp->rx_drops += st.tp_drops;
}

uint64_t sp_retpath_rx_drops(struct sp_retpath *rp)
{
	if (!rp)
		return 0;
	sp_retpath_take_drops(rp, rp->packet_fd);
	sp_retpath_take_drops(rp, rp->packet6_fd);
	return rp->rx_drops;
}

/* One frame the packet socket saw (SOCK_DGRAM: from the IP header, the
 * link-layer source in sll): remembered if it is a terminal's. */
static void sp_retpath_saw(struct sp_retpath *rp, const uint8_t *f, size_t n, const struct sockaddr_ll *sll)
{
	struct sp_retpath_seen *s;
	size_t ihl;

	if (sll->sll_pkttype == PACKET_OUTGOING || sll->sll_hatype != ARPHRD_ETHER || sll->sll_halen != 6 || n < 28)
		return;
	if (sll->sll_protocol == htons(ETH_P_IPV6)) {
		struct in6_addr a;

		if (n < 44 || (f[0] >> 4) != 6) /* the filter let only UDP after 40 bytes in */
			return;
		s = &rp->seen[rp->seen_next++ % SP_RETPATH_SEEN];
		memcpy(&a, f + 8, 16);
		sp_endpoint_set_v6(&s->src, &a, (uint16_t)(f[40] << 8 | f[41]));
	} else {
		struct in_addr a;

		ihl = (size_t)(f[0] & 0x0f) * 4;
		if (ihl < 20 || n < ihl + 4)
			return;
		s = &rp->seen[rp->seen_next++ % SP_RETPATH_SEEN];
		memcpy(&a, f + 12, 4);
		sp_endpoint_set_v4(&s->src, a, (uint16_t)(f[ihl] << 8 | f[ihl + 1]));
	}
	s->ifindex = sll->sll_ifindex;
	memcpy(s->mac, sll->sll_addr, 6);
}

/* The ring: every frame the kernel handed over (TP_STATUS_USER), in order,
 * each given back at once. No system call. */
static void sp_retpath_drain_ring(struct sp_retpath *rp, uint8_t *ring, unsigned *next)
{
	for (unsigned k = 0; k < SP_RETPATH_RING_FRAMES; k++) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(ring + (size_t)*next * SP_RETPATH_RING_FRAME);
		const struct sockaddr_ll *sll;

		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return;
		sll = (const struct sockaddr_ll *)((const uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
		if (h->tp_net + h->tp_snaplen <= SP_RETPATH_RING_FRAME)
			sp_retpath_saw(rp, (const uint8_t *)h + h->tp_net, h->tp_snaplen, sll);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		*next = (*next + 1) % SP_RETPATH_RING_FRAMES;
	}
}

/* A packet socket without a ring: recvmmsg until it is empty. */
static void sp_retpath_drain_fd(struct sp_retpath *rp, int fd)
{
	uint8_t frame[SP_RETPATH_DRAIN_BATCH][128];
	struct sockaddr_ll sll[SP_RETPATH_DRAIN_BATCH];
	struct iovec iov[SP_RETPATH_DRAIN_BATCH];
	struct mmsghdr mm[SP_RETPATH_DRAIN_BATCH];
	int got;

	do {
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < SP_RETPATH_DRAIN_BATCH; i++) {
			iov[i].iov_base = frame[i];
			iov[i].iov_len = sizeof(frame[i]);
			mm[i].msg_hdr.msg_name = &sll[i];
			mm[i].msg_hdr.msg_namelen = sizeof(sll[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(fd, mm, SP_RETPATH_DRAIN_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < got; i++)
			sp_retpath_saw(rp, frame[i], mm[i].msg_len, &sll[i]);
	} while (got == SP_RETPATH_DRAIN_BATCH);
}

void sp_retpath_drain(struct sp_retpath *rp)
{
	if (!rp || rp->packet_fd < 0)
		return;
	if (rp->ring)
		sp_retpath_drain_ring(rp, rp->ring, &rp->ring_next);
	else
		sp_retpath_drain_fd(rp, rp->packet_fd);
	if (rp->ring6)
		sp_retpath_drain_ring(rp, rp->ring6, &rp->ring6_next);
	else if (rp->packet6_fd >= 0)
		sp_retpath_drain_fd(rp, rp->packet6_fd);
}

bool sp_retpath_learn(struct sp_retpath *rp, const struct sp_endpoint *terminal, int ifindex,
		      struct sp_learned_path *path)
{
	const struct sp_retpath_seen *hit = NULL;
	struct sp_endpoint via;

	if (!rp || rp->mode != SP_RETPATH_LEARN ||
	    (terminal->family != AF_INET && terminal->family != AF_INET6))
		return false;
	for (unsigned k = 1; k <= SP_RETPATH_SEEN; k++) {
		const struct sp_retpath_seen *s = &rp->seen[(rp->seen_next - k) % SP_RETPATH_SEEN];

		/* the ingress interface too: two VPNs may reuse a terminal's
		 * address and port on different interfaces */
		if (s->ifindex && (!ifindex || s->ifindex == ifindex) && sp_endpoint_equal(&s->src, terminal)) {
			hit = s;
			break;
		}
	}
	if (!hit)
		return path->ifindex != 0; /* keep what was learned before */
	if (!ifindex)
		ifindex = hit->ifindex;
	/* unchanged: no neighbour lookup */
	if (path->ifindex == ifindex && path->has_mac && memcmp(path->prev_hop_mac, hit->mac, 6) == 0)
		return true;
	memset(path, 0, sizeof(*path));
	path->ifindex = ifindex;
	path->has_mac = true;
	memcpy(path->prev_hop_mac, hit->mac, 6);
	/* the router's address from the neighbour table (rtnetlink), which
	 * holds it since the router had to resolve ours to send to us */
	if (sp_neigh_by_mac(terminal->family, ifindex, hit->mac, terminal, &via))
		path->prev_hop = via;
	else if (terminal->family == AF_INET6)
		memset(path, 0, sizeof(*path)); /* IPv6 needs the neighbour: not learned */
	return path->ifindex != 0;
}

uint32_t sp_retpath_mark(struct sp_retpath *rp, const struct sp_learned_path *path)
{
	struct sp_rt_addr via = { .family = AF_INET };
	unsigned free_slot = 0;
	struct sp_error err = { "" };

	if (!rp)
		return 0;
	if (rp->mode == SP_RETPATH_DEFAULT_GATEWAY)
		return rp->slots[0].used ? sp_retpath_slot_mark(0) : 0;
	if (rp->mode != SP_RETPATH_LEARN || !path->ifindex)
		return 0;
	if (path->prev_hop.family == AF_INET)
		via.v4 = path->prev_hop.addr.v4;
	else if (path->prev_hop.family == AF_INET6) {
		via.family = AF_INET6;
		via.v6 = path->prev_hop.addr.v6;
	}
	for (unsigned i = 1; i < SP_RETPATH_SLOTS; i++) {
		const struct sp_retpath_slot *s = &rp->slots[i];

		if (s->used && s->ifindex == path->ifindex && sp_retpath_via_equal(&s->via, &via))
			return sp_retpath_slot_mark(i);
		if (!s->used && !free_slot)
			free_slot = i;
	}
	/* Slots are kept until the mode changes: there are as many as
	 * neighbours terminals come through, a handful of routers. */
	if (!free_slot) {
		sp_warn("return path: more than %u ways back: the routing table decides",
			SP_RETPATH_SLOTS - 1);
		return 0;
	}
	if (sp_retpath_slot_install(rp, free_slot, path->ifindex, &via, &err) < 0) {
		sp_warn("return path: %s", err.msg);
		return 0;
	}
	return sp_retpath_slot_mark(free_slot);
}
