/* The real kernel door (sp_kernel.h): the table of operations the engine
 * calls, each the kernel module that does it, and the lock of one engine per
 * network namespace. Apart from sp_kernel.c (the interception, the local
 * virtual address, the tagger) so that each new operation of the door has
 * room; it reaches the facade only through sp_kernel.h. */
#include "config.h"
#include "sp_kernel.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sp_linkwatch.h"
#include "sp_steer.h"
#include "sp_log.h"

/* ---- the real door: every kernel module the engine uses, behind one table ---- */

struct sp_kernel_real {
	struct sp_kernel_door door;
	int netns_lock;			/* abstract unix socket: one per namespace */
	struct sp_kernel *kernel;
	struct sp_conntrack *ct;
	struct sp_retpath *retpath;
	struct sp_vpn_kernel *vpn;
	struct sp_linkwatch *linkwatch;
	struct sp_steer *steer;		/* with more than one worker */
};

static struct sp_kernel_real *sp_real(struct sp_kernel_door *kd)
{
	return (struct sp_kernel_real *)kd;
}

static void sp_real_destroy(struct sp_kernel_door *kd)
{
	struct sp_kernel_real *r = sp_real(kd);
	struct sp_error err = { "" };

	sp_kernel_lva_remove(r->kernel);
	sp_steer_close(r->steer);
	sp_retpath_close(r->retpath); /* its rules and routes */
	sp_linkwatch_free(r->linkwatch);
	sp_vpn_kernel_free(r->vpn); /* the VPNs' rules and tables */
	sp_kernel_tagger_close(r->kernel); /* off every interface */
	sp_conntrack_close(r->ct);
	if (r->kernel) {
		if (sp_kernel_remove_all(r->kernel, &err) < 0)
			sp_err("engine: removing kernel state: %s", err.msg);
		sp_kernel_close(r->kernel);
	}
	if (r->netns_lock >= 0)
		close(r->netns_lock);
	free(r);
}

static int sp_real_install_intercept(struct sp_kernel_door *kd, const struct sp_kernel_intercept_cfg *cfg,
				     struct sp_error *err)
{
	return sp_kernel_install_intercept(sp_real(kd)->kernel, cfg, err);
}

static int sp_real_remove_intercept(struct sp_kernel_door *kd, struct sp_error *err)
{
	return sp_kernel_remove_intercept(sp_real(kd)->kernel, err);
}

static bool sp_real_intercept_installed(struct sp_kernel_door *kd)
{
	return sp_kernel_installed(sp_real(kd)->kernel) != NULL;
}

static uint64_t sp_real_media_guard_drops(struct sp_kernel_door *kd)
{
	return sp_kernel_media_guard_drops(sp_real(kd)->kernel);
}

static int sp_real_media_seen(struct sp_kernel_door *kd, struct sp_media_guard_seen **out, struct sp_error *err)
{
	return sp_kernel_media_seen(sp_real(kd)->kernel, out, err);
}

static int sp_real_lva_set(struct sp_kernel_door *kd, const struct sp_rt_addr *addr,
			   const char *const *ifnames, size_t n_ifnames, struct sp_error *err)
{
	return sp_kernel_lva_set(sp_real(kd)->kernel, addr, ifnames, n_ifnames, err);
}

static const char *sp_real_tagger_apply(struct sp_kernel_door *kd, const char *const *ifnames,
					size_t n_ifnames, const struct sp_bpf_tag *tags, size_t n_tags)
{
	return sp_kernel_tagger_apply(sp_real(kd)->kernel, ifnames, n_ifnames, tags, n_tags);
}

static int sp_real_counter_packets(struct sp_kernel_door *kd, const char *name, uint64_t *packets,
				   struct sp_error *err)
{
	return sp_nft_counter_packets(sp_kernel_nft(sp_real(kd)->kernel), name, packets, err);
}

static int sp_real_set_elements(struct sp_kernel_door *kd, const char *set, char **text, struct sp_error *err)
{
	return sp_nft_set_elements(sp_kernel_nft(sp_real(kd)->kernel), set, text, err);
}

static int sp_real_nft_list(struct sp_kernel_door *kd, char **text, struct sp_error *err)
{
	return sp_nft_list(sp_kernel_nft(sp_real(kd)->kernel), text, err);
}

static int sp_real_links_read(struct sp_kernel_door *kd, struct sp_link_state *s, struct sp_error *err)
{
	(void)kd;
	return sp_link_state_read(s, err);
}

static int sp_real_links_watch(struct sp_kernel_door *kd, const struct sp_link_info *links, size_t n,
			       const char *const *names, size_t n_names)
{
	return sp_linkwatch_seed(sp_real(kd)->linkwatch, links, n, names, n_names);
}

static int sp_real_vpn_apply(struct sp_kernel_door *kd, const struct sp_vpn_map *map, struct sp_error *err)
{
	return sp_vpn_kernel_apply(sp_real(kd)->vpn, map, err);
}

static const struct sp_vpn_kernel *sp_real_vpn_state(struct sp_kernel_door *kd)
{
	return sp_real(kd)->vpn;
}

static int sp_real_retpath_configure(struct sp_kernel_door *kd, enum sp_retpath_mode mode,
				     const struct sp_addr *gw, const uint16_t *listen_ports,
				     unsigned n_listen_ports, struct sp_error *err)
{
	return sp_retpath_configure(sp_real(kd)->retpath, mode, gw, listen_ports, n_listen_ports, err);
}

static void sp_real_retpath_drain(struct sp_kernel_door *kd)
{
	sp_retpath_drain(sp_real(kd)->retpath);
}

static bool sp_real_retpath_learn(struct sp_kernel_door *kd, const struct sp_endpoint *terminal,
				  int ifindex, struct sp_learned_path *path)
{
	return sp_retpath_learn(sp_real(kd)->retpath, terminal, ifindex, path);
}

static uint32_t sp_real_retpath_mark(struct sp_kernel_door *kd, const struct sp_learned_path *path)
{
	return sp_retpath_mark(sp_real(kd)->retpath, path);
}

static uint64_t sp_real_retpath_rx_drops(struct sp_kernel_door *kd)
{
	return sp_retpath_rx_drops(sp_real(kd)->retpath);
}

static int sp_real_ct_create(struct sp_kernel_door *kd, const struct sp_ct_nat *n, uint32_t timeout_s)
{
	return sp_conntrack_create(sp_real(kd)->ct, n, timeout_s);
}

static int sp_real_ct_delete(struct sp_kernel_door *kd, const struct sp_ct_nat *n)
{
	return sp_conntrack_delete(sp_real(kd)->ct, n);
}

static int sp_real_ct_counters(struct sp_kernel_door *kd, const struct sp_ct_nat *n,
			       struct sp_ct_counters *c)
{
	return sp_conntrack_counters(sp_real(kd)->ct, n, c);
}

static int sp_real_ct_list(struct sp_kernel_door *kd, struct sp_ct_nat **out)
{
	return sp_conntrack_list(sp_real(kd)->ct, out);
}

static int sp_real_steer_open(struct sp_kernel_door *kd, unsigned n, struct sp_error *err)
{
	sp_steer_close(sp_real(kd)->steer); /* sp_steer_open sets it, NULL on failure */
	return sp_steer_open(&sp_real(kd)->steer, n, err);
}

static int sp_real_steer_listener(struct sp_kernel_door *kd, uint16_t port, int family,
				  unsigned worker, int fd, struct sp_error *err)
{
	return sp_steer_listener(sp_real(kd)->steer, port, family, worker, fd, err);
}

static int sp_real_steer_server(struct sp_kernel_door *kd, uint16_t first, uint16_t last,
				const struct sp_rt_addr *c4, const struct sp_rt_addr *c6, struct sp_error *err)
{
	return sp_steer_server(sp_real(kd)->steer, first, last, c4, c6, err);
}

static int sp_real_steer_port(struct sp_kernel_door *kd, int family, uint16_t port, int w, struct sp_error *err)
{
	return sp_steer_port_owner(sp_real(kd)->steer, family, port, w, err);
}

static void sp_real_steer_reset(struct sp_kernel_door *kd)
{
	sp_steer_reset(sp_real(kd)->steer);
}

static unsigned sp_real_steer_worker(struct sp_kernel_door *kd, const struct sp_endpoint *terminal, unsigned n)
{
	(void)kd;
	return sp_steer_worker(terminal, n);
}

static const struct sp_kernel_door_ops sp_real_ops = {
	.destroy = sp_real_destroy,
	.install_intercept = sp_real_install_intercept,
	.remove_intercept = sp_real_remove_intercept,
	.intercept_installed = sp_real_intercept_installed,
	.media_guard_drops = sp_real_media_guard_drops,
	.media_seen = sp_real_media_seen,
	.lva_set = sp_real_lva_set,
	.tagger_apply = sp_real_tagger_apply,
	.counter_packets = sp_real_counter_packets,
	.set_elements = sp_real_set_elements,
	.nft_list = sp_real_nft_list,
	.links_read = sp_real_links_read,
	.links_watch = sp_real_links_watch,
	.vpn_apply = sp_real_vpn_apply,
	.vpn_state = sp_real_vpn_state,
	.retpath_configure = sp_real_retpath_configure,
	.retpath_drain = sp_real_retpath_drain,
	.retpath_learn = sp_real_retpath_learn,
	.retpath_mark = sp_real_retpath_mark,
	.retpath_rx_drops = sp_real_retpath_rx_drops,
	.ct_create = sp_real_ct_create,
	.ct_delete = sp_real_ct_delete,
	.ct_counters = sp_real_ct_counters,
	.ct_list = sp_real_ct_list,
	.steer_open = sp_real_steer_open,
	.steer_listener = sp_real_steer_listener,
	.steer_reset = sp_real_steer_reset,
	.steer_server = sp_real_steer_server,
	.steer_port = sp_real_steer_port,
	.steer_worker = sp_real_steer_worker,
};

/* Two engines in one network namespace would fight over its nftables table
 * and rules. Abstract unix sockets belong to the namespace, so binding a
 * well-known one is a lock that a crash releases by itself. */
static int sp_kernel_netns_lock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char name[] = "sigproxyd-engine";
	int fd;

	memcpy(sa.sun_path + 1, name, sizeof(name) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(name))) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

struct sp_kernel_door *sp_kernel_door_open(struct sp_loop *loop, unsigned settle_ms,
					   void (*links_changed)(void *arg), void *arg, struct sp_error *err)
{
	struct sp_kernel_real *r = calloc(1, sizeof(*r));
	struct sp_error why = { "" };

	if (!r) {
		sp_error_set(err, "Out of memory");
		return NULL;
	}
	r->door.ops = &sp_real_ops;
	r->netns_lock = sp_kernel_netns_lock();
	if (r->netns_lock < 0) {
		sp_error_set(err, "another sigproxyd runs in this network namespace");
		goto fail;
	}
	if (sp_kernel_open(&r->kernel, &why) < 0) {
		sp_error_set(err, "kernel: %s", why.msg);
		goto fail;
	}
	if (sp_conntrack_open(&r->ct, &why) < 0) {
		sp_error_set(err, "media: %s", why.msg);
		goto fail;
	}
	/* after sp_kernel_open, which removes a previous run's tagged rules */
	if (sp_retpath_open(&r->retpath, &why) < 0) {
		sp_error_set(err, "return path: %s", why.msg);
		goto fail;
	}
	r->vpn = sp_vpn_kernel_new(sp_kernel_rtnl(r->kernel));
	r->linkwatch = sp_linkwatch_new();
	if (!r->vpn || !r->linkwatch) {
		sp_error_set(err, "Out of memory");
		goto fail;
	}
	if (sp_linkwatch_listen(r->linkwatch, loop, settle_ms, links_changed, arg, &why) < 0)
		sp_warn("engine: %s: link changes wait for the next commit", why.msg);
	return &r->door;
fail:
	sp_real_destroy(&r->door);
	return NULL;
}
