/* Kernel programming facade: the one thing the engine talks to.
 *
 * It bundles the rtnetlink socket and the nftables table, turns the serial
 * interception into a plan (pure: the fwmark rules, the local routes and the
 * nft table body) and installs or removes it, remembering what it installed so
 * `show` commands can report it. Nothing else in the daemon touches the kernel's
 * routing or nftables state.
 */
#ifndef SP_KERNEL_H
#define SP_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_bpf.h"
#include "sp_media_guard.h"
#include "sp_server_tproxy.h"
#include "sp_nft.h"
#include "sp_rtnl.h"

/* Room for one rule and one route per address family. */
#define SP_KERNEL_PLAN_MAX 2

struct sp_kernel_intercept_cfg {
	struct sp_nft_intercept nft;	/* entries, listen ports, marks */
	uint32_t rule_priority;		/* of the fwmark rule */
	uint32_t table;			/* holds the local default route */
	bool ipv6;			/* also intercept IPv6 */
	/* The media port range the media guard protects (sp_media_guard.h);
	 * 0 and 0: no media in the kernel, no guard. */
	uint16_t media_port_first, media_port_last;
	/* signaling-sockets shared: servers' datagrams to C's signalling
	 * ports to the daemon's transparent socket (ports 0: none) */
	struct sp_server_tproxy server_tproxy;
};

/* What an interception puts into the kernel. */
struct sp_kernel_plan {
	struct sp_rule rules[SP_KERNEL_PLAN_MAX];
	size_t n_rules;
	struct sp_route routes[SP_KERNEL_PLAN_MAX];
	size_t n_routes;
	char *nft_body;			/* malloc'ed */
};

/* Pure: no socket, no root. EINVAL with a reason for a config that cannot be
 * installed. Free with sp_kernel_plan_free(). */
int sp_kernel_plan_build(const struct sp_kernel_intercept_cfg *cfg, struct sp_kernel_plan *plan,
			 struct sp_error *err);
void sp_kernel_plan_free(struct sp_kernel_plan *plan);
/* The plan in ip rule / ip route / nft words, for show commands and logs. */
void sp_kernel_plan_print(const struct sp_kernel_plan *plan, FILE *out);

struct sp_kernel;

/* Opens both kernel interfaces and removes what a previous run left behind
 * (everything carrying SP_RTPROT, and the nft table). */
int sp_kernel_open(struct sp_kernel **out, struct sp_error *err);
/* Frees the context; leaves the kernel as it is (call sp_kernel_remove_all
 * first on a clean shutdown). */
void sp_kernel_close(struct sp_kernel *kernel);

/* Installs the interception, replacing one installed before: new rules and
 * routes first, then the nft table in one transaction, then the old rules and
 * routes no longer wanted. On failure what this call added is taken back and
 * the previous interception stays in force. */
int sp_kernel_install_intercept(struct sp_kernel *kernel, const struct sp_kernel_intercept_cfg *cfg,
				struct sp_error *err);
/* Removes the nft table and every rule and route carrying our tag. */
int sp_kernel_remove_all(struct sp_kernel *kernel, struct sp_error *err);

/* Removes only the interception (the nft table, its rule and route): what a
 * standby SP of an active-standby pair must not have. Policy routes and the
 * return path's rules, which carry the same tag, stay. */
int sp_kernel_remove_intercept(struct sp_kernel *kernel, struct sp_error *err);

/* The packets the media guard dropped since the last call (each source
 * and destination once), into a malloc'ed array (*out, free()); the set is
 * emptied. Returns the count, or -1 with err set. */
int sp_kernel_media_seen(struct sp_kernel *kernel, struct sp_media_guard_seen **out, struct sp_error *err);

/* Packets the media guard dropped since its table was installed (0 without
 * a guard). */
uint64_t sp_kernel_media_guard_drops(struct sp_kernel *kernel);

/* The local virtual address (SPEC §3.3): E on lo, unannounced: on each
 * terminal-side interface in ifnames ARP is silenced (arp_ignore 1,
 * arp_announce 2) and what was there is kept, to be put back. Replaces what
 * an earlier call set; addr family 0: none. On failure nothing of it stays. */
int sp_kernel_lva_set(struct sp_kernel *kernel, const struct sp_rt_addr *addr,
		      const char *const *ifnames, size_t n_ifnames, struct sp_error *err);
/* Puts back what sp_kernel_lva_set changed (NULL kernel: nothing). */
void sp_kernel_lva_remove(struct sp_kernel *kernel);

/* The BPF tagger (sp_bpf.h) on the terminal-side interfaces ifnames, for
 * the tags a strategy matches (n_tags 0: none, off every interface). Loaded
 * the first time a tag needs it. NULL, or why the tags cannot be matched
 * (a reason kept until the next call). */
const char *sp_kernel_tagger_apply(struct sp_kernel *kernel, const char *const *ifnames,
				   size_t n_ifnames, const struct sp_bpf_tag *tags, size_t n_tags);
/* Takes the tagger off every interface and unloads it (NULL kernel: nothing). */
void sp_kernel_tagger_close(struct sp_kernel *kernel);

/* What is installed now (NULL when nothing is). */
const struct sp_kernel_plan *sp_kernel_installed(const struct sp_kernel *kernel);
/* For policy routes (parallel mode), which go through the same socket. */
struct sp_rtnl *sp_kernel_rtnl(struct sp_kernel *kernel);
struct sp_nft *sp_kernel_nft(struct sp_kernel *kernel);

/* ---- The engine's door (issue 16 item 4) ----
 *
 * Everything the engine asks of the kernel, as one table of operations: the
 * interception, the media guard, the local virtual address and the tagger
 * (above), the nftables counters and sets, the links and their changes, the
 * VPNs' return rules, the return path, and the media's conntrack entries.
 * sp_kernel_door_open() gives the real one (root); a test gives a fake and
 * runs the engine without root. Errors: -1 (or NULL) with err set. */

#include "sp_conntrack.h"
#include "sp_link.h"
#include "sp_retpath.h"
#include "sp_vpn.h"
#include "sp_error.h"

struct sp_loop;
struct sp_kernel_door;

struct sp_kernel_door_ops {
	/* Takes back everything it put in the kernel, then frees the door. */
	void (*destroy)(struct sp_kernel_door *kd);
	int (*install_intercept)(struct sp_kernel_door *kd, const struct sp_kernel_intercept_cfg *cfg,
				 struct sp_error *err);
	int (*remove_intercept)(struct sp_kernel_door *kd, struct sp_error *err);
	bool (*intercept_installed)(struct sp_kernel_door *kd);
	uint64_t (*media_guard_drops)(struct sp_kernel_door *kd);
	int (*media_seen)(struct sp_kernel_door *kd, struct sp_media_guard_seen **out, struct sp_error *err);
	int (*lva_set)(struct sp_kernel_door *kd, const struct sp_rt_addr *addr,
		       const char *const *ifnames, size_t n_ifnames, struct sp_error *err);
	const char *(*tagger_apply)(struct sp_kernel_door *kd, const char *const *ifnames,
				    size_t n_ifnames, const struct sp_bpf_tag *tags, size_t n_tags);
	/* sigproxy's nftables table: a named counter, a set's elements, all
	 * of it as nft prints it (text malloc'ed) */
	int (*counter_packets)(struct sp_kernel_door *kd, const char *name, uint64_t *packets,
			       struct sp_error *err);
	int (*set_elements)(struct sp_kernel_door *kd, const char *set, char **text, struct sp_error *err);
	int (*nft_list)(struct sp_kernel_door *kd, char **text, struct sp_error *err);
	/* The links now (free with sp_link_state_free), and the ones whose
	 * changes call the door's links-changed callback. */
	int (*links_read)(struct sp_kernel_door *kd, struct sp_link_state *s, struct sp_error *err);
	int (*links_watch)(struct sp_kernel_door *kd, const struct sp_link_info *links, size_t n,
			   const char *const *names, size_t n_names);
	/* The VPNs' return rules and tables (sp_vpn.h); what is installed. */
	int (*vpn_apply)(struct sp_kernel_door *kd, const struct sp_vpn_map *map, struct sp_error *err);
	const struct sp_vpn_kernel *(*vpn_state)(struct sp_kernel_door *kd);
	/* The return path (sp_retpath.h). */
	int (*retpath_configure)(struct sp_kernel_door *kd, enum sp_retpath_mode mode,
				 const struct sp_addr *gw, const uint16_t *listen_ports,
				 unsigned n_listen_ports, struct sp_error *err);
	void (*retpath_drain)(struct sp_kernel_door *kd);
	bool (*retpath_learn)(struct sp_kernel_door *kd, const struct sp_endpoint *terminal,
			      int ifindex, struct sp_learned_path *path);
	uint32_t (*retpath_mark)(struct sp_kernel_door *kd, const struct sp_learned_path *path);
	uint64_t (*retpath_rx_drops)(struct sp_kernel_door *kd);
	/* The media's conntrack entries (sp_conntrack.h). */
	int (*ct_create)(struct sp_kernel_door *kd, const struct sp_ct_nat *n, uint32_t timeout_s);
	int (*ct_delete)(struct sp_kernel_door *kd, const struct sp_ct_nat *n);
	int (*ct_counters)(struct sp_kernel_door *kd, const struct sp_ct_nat *n,
			   struct sp_ct_counters *c);
	int (*ct_list)(struct sp_kernel_door *kd, struct sp_ct_nat **out);
	/* The steering of terminals to n engine workers (sp_steer.h), only
	 * with n > 1: load it, each worker's listener of a port and family
	 * (port 0: its shared server-side socket), forget every port, and the
	 * worker a terminal is steered to. signaling-sockets shared: servers'
	 * datagrams to C's signalling ports first..last steered (first 0:
	 * not), and the worker owning the binding on C:port (-1: none). */
	int (*steer_open)(struct sp_kernel_door *kd, unsigned n, struct sp_error *err);
	int (*steer_listener)(struct sp_kernel_door *kd, uint16_t port, int family, unsigned worker,
			      int fd, struct sp_error *err);
	int (*steer_server)(struct sp_kernel_door *kd, uint16_t first, uint16_t last,
			    const struct sp_rt_addr *c4, const struct sp_rt_addr *c6, struct sp_error *err);
	int (*steer_port)(struct sp_kernel_door *kd, int family, uint16_t port, int worker,
			  struct sp_error *err);
	void (*steer_reset)(struct sp_kernel_door *kd);
	unsigned (*steer_worker)(struct sp_kernel_door *kd, const struct sp_endpoint *terminal,
				 unsigned n);
};

/* What every door shows its user; implementations extend it. */
struct sp_kernel_door {
	const struct sp_kernel_door_ops *ops;
};

/* The real door: one per network namespace (a second one fails with
 * "another sigproxyd runs in this network namespace"), opening the rtnetlink
 * socket, the nft table, conntrack, the return path and the link watch, and
 * removing what a previous run left behind. links_changed(arg) is called
 * once link changes settled for settle_ms. Needs root. */
struct sp_kernel_door *sp_kernel_door_open(struct sp_loop *loop, unsigned settle_ms,
					   void (*links_changed)(void *arg), void *arg, struct sp_error *err);

#endif
