#include "config.h"
#include "sp_steer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "bpf/sp_steer_map.h"

_Static_assert(SP_STEER_MAX == SP_STEER_WORKERS_MAX, "one limit of workers");

/* The object file, built by clang -target bpf and embedded at build time
 * (policy-routing/bpf/sp_steer_obj.c), as the tagger's. */
extern const unsigned char sp_steer_obj[];
extern const size_t sp_steer_obj_len;

struct sp_steer {
	struct bpf_object *obj;
	struct bpf_link *link;
	int n_fd, ports_fd, socks_fd, srv_fd, owner_fd;
	unsigned n;
	struct {
		uint16_t port; /* 0: slot free */
		uint64_t set[2]; /* per family: bit w, worker w's listener is in */
	} slots[SP_STEER_PORTS_MAX];
};

int sp_steer_open(struct sp_steer **out, unsigned n, struct sp_error *e)
{
	struct sp_steer *s = calloc(1, sizeof(*s));
	struct bpf_program *prog;
	__u32 zero = 0, nw = n;
	int ns = -1;

	*out = NULL;
	if (!s)
		return sp_error_set(e, "out of memory");
	s->n = n;
	s->obj = bpf_object__open_mem(sp_steer_obj, sp_steer_obj_len, NULL);
	if (!s->obj) {
		sp_error_set(e, "cannot open the steering program: %s", strerror(errno));
		goto fail;
	}
	if (bpf_object__load(s->obj)) {
		sp_error_set(e, "cannot load the steering program (sk_lookup): %s", strerror(errno));
		goto fail;
	}
	prog = bpf_object__find_program_by_name(s->obj, "sp_steer");
	s->n_fd = bpf_object__find_map_fd_by_name(s->obj, "sp_steer_n");
	s->ports_fd = bpf_object__find_map_fd_by_name(s->obj, "sp_steer_ports");
	s->socks_fd = bpf_object__find_map_fd_by_name(s->obj, "sp_steer_socks");
	s->srv_fd = bpf_object__find_map_fd_by_name(s->obj, "sp_steer_srv");
	s->owner_fd = bpf_object__find_map_fd_by_name(s->obj, "sp_steer_owner");
	if (!prog || s->n_fd < 0 || s->ports_fd < 0 || s->socks_fd < 0 || s->srv_fd < 0 || s->owner_fd < 0) {
		sp_error_set(e, "the steering program lacks a program or map");
		goto fail;
	}
	if (bpf_map_update_elem(s->n_fd, &zero, &nw, BPF_ANY)) {
		sp_error_set(e, "steering: %s", strerror(errno));
		goto fail;
	}
	ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		sp_error_set(e, "steering: the network namespace: %s", strerror(errno));
		goto fail;
	}
	s->link = bpf_program__attach_netns(prog, ns);
	close(ns);
	if (!s->link) {
		sp_error_set(e, "cannot attach the steering program to the namespace: %s", strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sp_steer_close(s);
	return -1;
}

/* The slot of port, taken if it has none. */
static int sp_steer_slot(struct sp_steer *s, uint16_t port)
{
	int free_slot = -1;

	for (int i = 0; i < SP_STEER_PORTS_MAX; i++) {
		if (s->slots[i].port == port)
			return i;
		if (!s->slots[i].port && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
		s->slots[free_slot].port = port;
	return free_slot;
}

/* Worker w's shared server-side socket of family (sp_steer_listener's
 * port 0). */
static int sp_steer_server_socket(struct sp_steer *s, int family, unsigned w, int fd, struct sp_error *e)
{
	__u32 key = SP_STEER_KEY(SP_STEER_SERVER_SLOT, family == AF_INET6, w);
	__u64 v = (__u64)fd;

	if (w >= s->n)
		return sp_error_set(e, "steering: no worker %u", w);
	if (bpf_map_update_elem(s->socks_fd, &key, &v, BPF_ANY))
		return sp_error_set(e, "steering: shared server-side socket of worker %u: %s", w,
				    strerror(errno));
	return 0;
}

int sp_steer_listener(struct sp_steer *s, uint16_t port, int family, unsigned w, int fd,
		      struct sp_error *e)
{
	unsigned v6 = family == AF_INET6;
	int slot;
	__u32 key, p = port, sl;
	__u64 v = (__u64)fd;
	uint64_t all;

	if (!s)
		return sp_error_set(e, "steering not loaded");
	if (!port)
		return sp_steer_server_socket(s, family, w, fd, e);
	all = s->n >= 64 ? UINT64_MAX : (1ull << s->n) - 1;
	slot = sp_steer_slot(s, port);
	if (slot < 0 || w >= s->n)
		return sp_error_set(e, "steering: no room for port %u", port);
	key = SP_STEER_KEY((unsigned)slot, v6, w);
	if (bpf_map_update_elem(s->socks_fd, &key, &v, BPF_ANY))
		return sp_error_set(e, "steering: listener of worker %u on port %u: %s", w, port,
				    strerror(errno));
	s->slots[slot].set[v6] |= 1ull << w;
	/* the port is steered once one family has every worker's listener:
	 * before, a terminal could be sent to a worker with none */
	sl = (__u32)slot;
	if (s->slots[slot].set[v6] == all && bpf_map_update_elem(s->ports_fd, &p, &sl, BPF_ANY))
		return sp_error_set(e, "steering: port %u: %s", port, strerror(errno));
	return 0;
}

int sp_steer_server(struct sp_steer *s, uint16_t first, uint16_t last, const struct sp_rt_addr *c4,
		    const struct sp_rt_addr *c6, struct sp_error *e)
{
	struct sp_steer_server v = { .first = first, .last = last };
	__u32 zero = 0;

	if (!s)
		return sp_error_set(e, "steering not loaded");
	if (first) {
		v.has4 = c4->family == AF_INET;
		v.has6 = c6->family == AF_INET6;
		if (v.has4)
			memcpy(&v.c4, &c4->v4, sizeof(v.c4));
		if (v.has6)
			memcpy(v.c6, &c6->v6, sizeof(v.c6));
	}
	if (bpf_map_update_elem(s->srv_fd, &zero, &v, BPF_ANY))
		return sp_error_set(e, "steering: C's signalling ports: %s", strerror(errno));
	return 0;
}

int sp_steer_port_owner(struct sp_steer *s, int family, uint16_t port, int w, struct sp_error *e)
{
	__u32 key = SP_STEER_OWNER_KEY(family == AF_INET6, port), v = w < 0 ? 0 : (__u32)w + 1;

	if (!s)
		return sp_error_set(e, "steering not loaded");
	if (bpf_map_update_elem(s->owner_fd, &key, &v, BPF_ANY))
		return sp_error_set(e, "steering: owner of port %u: %s", port, strerror(errno));
	return 0;
}

void sp_steer_reset(struct sp_steer *s)
{
	if (!s)
		return;
	for (int i = 0; i < SP_STEER_PORTS_MAX; i++) {
		__u32 p = s->slots[i].port;

		if (!p)
			continue;
		bpf_map_delete_elem(s->ports_fd, &p);
		for (unsigned v6 = 0; v6 < 2; v6++)
			for (unsigned w = 0; w < s->n; w++) {
				__u32 key = SP_STEER_KEY((unsigned)i, v6, w);

				bpf_map_delete_elem(s->socks_fd, &key);
			}
		memset(&s->slots[i], 0, sizeof(s->slots[i]));
	}
}

void sp_steer_close(struct sp_steer *s)
{
	if (!s)
		return;
	bpf_link__destroy(s->link);
	bpf_object__close(s->obj);
	free(s);
}

unsigned sp_steer_worker(const struct sp_endpoint *t, unsigned n)
{
	unsigned addr = 0;

	if (n <= 1)
		return 0;
	if (t->family == AF_INET) {
		addr = ntohl(t->addr.v4.s_addr);
	} else {
		for (int i = 0; i < 4; i++) {
			uint32_t word;

			memcpy(&word, &t->addr.v6.s6_addr[4 * i], sizeof(word));
			addr ^= ntohl(word);
		}
	}
	return sp_steer_pick(addr, t->port, n);
}
