/* The proxy engine (SPEC §2, §3.1): transparent interception of the
 * signaling sent to E, proxying through one binding (C:c) per terminal to the
 * strategy's server D, the answers back as E, and the state that takes:
 * bindings, dialogs, counters. It follows the configuration as a subscriber
 * and programs the kernel only through policy-routing/sp_kernel. */
#ifndef SP_ENGINE_H
#define SP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_error.h"
#include "sp_valid.h" /* SP_NAME_MAX */

struct sp_classify_strategy;
struct sp_engine;
struct sp_media;
struct sp_table;
struct sp_vpn_kernel;
struct sp_vpn_map;

/* The policy rule and table that deliver TPROXY'd packets locally. */
#define SP_INTERCEPT_RULE_PRIORITY 100
#define SP_INTERCEPT_TABLE 5060
/* Server-side ports c: signaling-port-range, SP_SIGNALING_PORT_FIRST..LAST by default (sp_config.h). */

struct sp_engine_stats {
	uint64_t received;        /* datagrams from terminals */
	uint64_t from_servers;    /* datagrams from servers */
	uint64_t proxied;         /* sent to servers */
	uint64_t to_terminals;    /* sent to terminals */
	uint64_t keepalives;
	uint64_t dropped;         /* every drop, whatever the reason below */
	uint64_t parse_errors;
	uint64_t rewrite_errors;
	uint64_t unclassified;    /* no strategy for the packet's mark */
	uint64_t no_binding;      /* no C address or no c port for a new terminal */
	uint64_t session_limit;
	uint64_t bad_source;      /* on a binding's socket, not from its server */
	uint64_t send_errors;
	uint64_t probes_answered; /* the protocol's probes answered (SIP: STUN Binding
				   * requests, RFC 5626 keep-alives) */
	uint64_t probe_errors;    /* probes dropped or refused with an error response */
	uint64_t source_bindings; /* a source at `limit source-bindings` */
	uint64_t unmatched_responses; /* a response to nothing the SP forwarded */
	uint64_t too_many_hops;       /* Max-Forwards: 0, answered 483 */
	uint64_t too_large;           /* over message-size-limit, answered 513 */
	uint64_t no_media_port;       /* no free media port, answered 503 */
	uint64_t flow_failed;         /* a server's request for an outbound terminal
				       * whose flow is gone, answered 430 (RFC 5626 §5.3) */
	/* remote media proxies: messages handed to one, calls that fell back
	 * to the kernel when theirs failed, and refused (503: none answers) */
	uint64_t media_proxy_parked;
	uint64_t media_proxy_fallbacks;
	uint64_t media_proxy_refused;
	/* datagrams the kernel dropped at a full receive queue (SO_RXQ_OVFL),
	 * by socket kind: they never reached the daemon, so they are not in
	 * `dropped` */
	uint64_t socket_drops_listener;
	uint64_t socket_drops_server_side;
};

struct sp_config_store;
struct sp_events;
struct sp_loop;
struct sp_persist;
struct sp_status;
/* What the daemon lends the engine, which keeps a copy: the loop it runs
 * on, the configuration it follows, the bus its events go up on, the board
 * its installs publish their state to (NULL: none), the store's directory
 * (--state-dir; NULL or "none": no store). */
struct sp_engine_env {
	struct sp_loop *loop;
	struct sp_config_store *config;
	struct sp_events *events;
	struct sp_status *status;
	const char *state_dir;
	/* engine workers (--workers; 0 or 1: one, the loop's thread) */
	unsigned workers;
	/* workers is the daemon's default, not the operator's --workers: if
	 * the kernel refuses the steering program, one worker runs instead */
	bool workers_defaulted;
};

struct sp_engine *sp_engine_start(const struct sp_engine_env *env, struct sp_error *e);

/* What the engine runs on, for tests (issue 16 item 9): the kernel door
 * (sp_kernel.h) and the transport (sp_transport.h) it is given instead of
 * the real ones, which need root. links_changed(links_arg) re-applies the
 * configuration as a link change does. */
struct sp_kernel_door;
struct sp_transport;
struct sp_transport_handler;
struct sp_protocol;
struct sp_engine_deps {
	void *arg;
	struct sp_kernel_door *(*kernel_open)(void *arg, void (*links_changed)(void *links_arg),
					      void *links_arg, struct sp_error *err);
	struct sp_transport *(*transport_new)(void *arg, struct sp_loop *loop,
					      const struct sp_transport_handler *h);
	/* the signalling protocol (sp_protocol.h); NULL: SIP */
	const struct sp_protocol *protocol;
};
/* deps NULL: the real kernel and UDP, as sp_engine_start. */
struct sp_engine *sp_engine_start_with(const struct sp_engine_env *env,
				       const struct sp_engine_deps *deps, struct sp_error *e);
/* Starts the threads of workers 1.. (after daemon(): threads do not
 * survive a fork); a no-op with one worker. */
int sp_engine_workers_run(struct sp_engine *engine, struct sp_error *e);
/* Ends those threads (before the daemon takes anything down they use). */
void sp_engine_workers_join(struct sp_engine *engine);
/* The workers and what each read: datagrams from terminals and from
 * servers, and the bindings it owns now (issue 21 item 3). */
struct sp_engine_worker_stats {
	uint64_t from_terminals;
	uint64_t from_servers;
	uint64_t bindings;
	uint64_t lock_waits;	/* times it waited for the workers' lock */
	uint64_t lock_wait_us;	/* and how long in all */
};
unsigned sp_engine_workers(const struct sp_engine *engine);
void sp_engine_worker_stats(struct sp_engine *engine, unsigned i, struct sp_engine_worker_stats *out);
/* Closes every socket and removes everything it put in the kernel. */
void sp_engine_stop(struct sp_engine *engine);

/* The store of --state-dir (daemon/sp_persist) around daemon(): LMDB and
 * the store's writer thread do not survive a fork, so the parent closes the
 * store (nothing is lost: the tables stay) and the child opens it again. */
void sp_engine_persist_suspend(struct sp_engine *engine);
/* The store, for `show persistence`; NULL without one. */
struct sp_persist *sp_engine_persist(const struct sp_engine *engine);
int sp_engine_persist_resume(struct sp_engine *engine, struct sp_error *e);

/* The read API of the management plane: `show` renders it (cli/sp_show),
 * SNMP reads it (mib/). Loop thread only; pointers valid until the next
 * configuration apply. */
void sp_engine_clear_sessions(struct sp_engine *engine);
void sp_engine_clear_statistics(struct sp_engine *engine);
/* Whether a strategy is in the kernel, and why not; hits. NULL if unknown. */
/* The remote media proxies as their client sees them (sp_mediaproxy):
 * reachable, last pong, calls held, counters. Returns how many. */
/* The remote media proxy a call's media is on (`show sessions detail`):
 * its name, "" when the call fell back to the kernel, NULL: none. */
const char *sp_engine_call_media_proxy(struct sp_engine *en, const char *call_id);
/* The call's counters as its MP last reported them (sp_mp_client_call_stats:
 * cached, refreshed by an NG query that never blocks). False: no MP holds it. */
struct sp_mp_call_stats;
bool sp_engine_call_media_stats(struct sp_engine *en, const char *call_id,
				struct sp_mp_call_stats *out);
struct sp_mp_view;
size_t sp_engine_media_proxy_views(const struct sp_engine *en, struct sp_mp_view *out, size_t max);
const char *sp_engine_strategy_state(struct sp_engine *engine, uint32_t seq, uint64_t *hits);
const struct sp_engine_stats *sp_engine_stats(struct sp_engine *engine);
/* The media streams of a dialog, as `show sessions' and
 * sigproxySessionMediaStreams both count them. */
struct sp_dialog;
uint32_t sp_engine_dialog_media_streams(struct sp_engine *engine, const struct sp_dialog *d);
/* Packets the kernel forwarded and dropped on its own (forward/drop
 * strategies and the default action), from nftables counters. */
void sp_engine_kernel_totals(struct sp_engine *engine, uint64_t *forwarded, uint64_t *dropped);
/* Datagrams the kernel dropped for their source (limit source-rate,
 * limit source-new-bindings), from nftables' named counters. */
void sp_engine_source_limit_drops(struct sp_engine *engine, uint64_t *rate, uint64_t *new_bindings);
/* Untranslated media packets the media guard dropped (sp_media_guard.h). */
uint64_t sp_engine_media_guard_drops(struct sp_engine *engine);
/* Media streams the kernel refused (once each, sp_media_stats). */
uint64_t sp_engine_media_kernel_refusals(struct sp_engine *engine);
/* Receive-queue drops of the daemon's sockets other than the listeners and
 * the binding sockets (the return path's packet socket). */
uint64_t sp_engine_socket_drops_other(struct sp_engine *engine);
/* SIP over TCP (sp_transport_tcp.h): connections, and refusals by reason;
 * zeros when the engine runs without TCP. */
struct sp_tcp_stats;
void sp_engine_tcp_stats(struct sp_engine *engine, struct sp_tcp_stats *st);
/* SIP over TLS: the TLS transport's counters (its handshakes too) */
void sp_engine_tls_stats(struct sp_engine *engine, struct sp_tcp_stats *st);
/* How a binding's terminal reaches E and how the SP reaches its server:
 * 1 udp, 2 tcp, 3 tls (SIGPROXY-MIB's SigproxyTransport). */
struct sp_binding;
int sp_engine_binding_transport(const struct sp_engine *engine, const struct sp_binding *b,
				bool server_side);
const char *sp_engine_transport_name(int transport);
/* The state tables, read-only, for the SNMP tables. */
const struct sp_table *sp_engine_table(struct sp_engine *engine);
/* The name of the strategy with this seq, or NULL. */
const char *sp_engine_strategy_name(struct sp_engine *engine, uint32_t seq);
/* The strategy with this seq, or NULL; all of them, sorted by seq. */
const struct sp_classify_strategy *sp_engine_strategy(struct sp_engine *engine, uint32_t seq);
const struct sp_classify_strategy *sp_engine_strategies(struct sp_engine *engine, size_t *n);
/* The media proxy (NULL: media off). */
struct sp_media *sp_engine_media(struct sp_engine *engine);
/* The VPNs the classification knows and their return rules and tables. */
const struct sp_vpn_map *sp_engine_vpns(struct sp_engine *engine);
const struct sp_vpn_kernel *sp_engine_vpn_kernel(struct sp_engine *engine);

/* Packets the kernel handled alone (forward and drop strategies, the default
 * action), from the counters of sigproxy's nftables rules, by rule comment. */
struct sp_kernel_count {
	char comment[SP_NAME_MAX + 16];
	uint64_t packets;
	bool drop;
};

/* Every counted rule and map element (10 000 strategies make as many):
 * *out is allocated, the caller frees it. */
size_t sp_engine_kernel_counts(struct sp_engine *engine, struct sp_kernel_count **out);
/* Their sum: forwarded and dropped ("keeps conntrack active" left out). */
void sp_engine_sum_kernel_counts(const struct sp_kernel_count *kc, size_t n, uint64_t *forwarded,
				 uint64_t *dropped);

/* Active-standby (daemon/sp_redundancy). A standby keeps its tables (the
 * state sync fills them) and has nothing in the kernel: no interception, no
 * binding sockets, no media entries. Becoming active installs all of it from
 * the tables. Without a redundancy block the engine is always active. */
int sp_engine_set_active(struct sp_engine *engine, bool active, struct sp_error *e);
bool sp_engine_is_active(struct sp_engine *engine);
/* The table the state sync reads (active) and writes (standby). */
struct sp_table *sp_engine_sync_table(struct sp_engine *engine);
/* After records were applied: the aging timer follows the new deadlines. */
void sp_engine_sync_applied(struct sp_engine *engine);

/* Changes of the table (bindings, dialogs, their media streams) are
 * announced by the table itself: sp_table_watch() (sp_table.h). The
 * engine's media streams are written into it as they change. */

#endif
