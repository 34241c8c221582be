#ifndef SP_ENGINE_INT_H
#define SP_ENGINE_INT_H

/* The engine's internals, shared by its files (sp_engine.c: helpers,
 * receiving, lifecycle, active-standby; sp_engine_track.c: what a tracked
 * message changes for the engine (the protocol tracks the dialog),
 * sending, bindings, refusals; sp_engine_terminal.c and sp_engine_server.c:
 * a message from either side; sp_engine_apply.c: configuration;
 * sp_engine_read.c: the read API). Not for use outside the engine: the
 * public interface is sp_engine.h.
 *
 * Included after sp_engine.h and the headers sp_engine.c includes; it does
 * not include sp_engine.h itself, so that the engine's module and this
 * header do not include each other (scripts/layers). */

#include <pthread.h>

#include "sp_protocol.h"
#include "sp_transport.h"

/* What a 503 of ours asks the caller to wait, in seconds (RFC 3261 §20.33) */
#define SP_ENGINE_RETRY_AFTER 30
/* Refusals (503s) are logged at most once per this many ms, with a count */
#define SP_ENGINE_REFUSAL_LOG_MS 10000
/* How often the media entries in the kernel are compared with the dialogs */
#define SP_ENGINE_MEDIA_RECONCILE_MS 10000
/* How often the media guard is read while a stream behind a NAT still learns
 * its source (the packets it drops meanwhile are the first of the call) */
#define SP_ENGINE_MEDIA_LATCH_MS 200
/* Link changes come in bursts (a VLAN device: new, up, addresses): re-apply
 * once they have settled */
#define SP_ENGINE_LINK_SETTLE_MS 300
/* RFC 3261 §18.1.1: a request this much larger than the path MTU's
 * 1500 bytes' worth goes over a congestion-controlled transport; towards a
 * UDP-only server (`server ... transport udp`) it is refused (513) */
#define SP_ENGINE_UDP_REQUEST_MAX 1300
/* A source over its binding limit is told when to come back (503) */
#define SP_ENGINE_SOURCE_RETRY_AFTER_S 60
/* How often the kernel's per-source drop counters are read, and how often
 * one source may be named in a log line and a notification */
#define SP_ENGINE_LIMITS_POLL_MS 1000
#define SP_ENGINE_SOURCE_NOTIFY_MS 60000


struct sp_engine;
struct sp_mp_client;
struct sp_loop_lock;
struct sp_engine_pre;

/* The most engine workers (= SP_STEER_MAX, the steering program's). */
#define SP_ENGINE_WORKERS_MAX 64

/* One worker (sp_engine_workers.c): its loop, its UDP transport and its
 * listeners (worker 0's are the engine's own), what it read. */
struct sp_engine_worker {
	struct sp_engine *en;
	unsigned id;
	struct sp_loop *loop;
	struct sp_transport *tp;
	struct sp_transport_conn *listeners[SP_LISTEN_PORTS_MAX]; /* workers 1..: ports as en's */
	pthread_t thread;
	bool running;
	struct sp_engine_worker_stats stats;
	/* with more than one worker: the batch's messages inspected outside
	 * the lock (SP_TRANSPORT_BATCH_MAX slots, this worker's thread only) */
	struct sp_engine_pre *pre;
	unsigned pre_live;	/* of them, the slots holding a message */
};

/* A message as received, kept to put it through the engine again. */
struct sp_engine_rx {
	bool from_server;
	struct sp_endpoint source;
	struct sp_endpoint orig_dst;	/* terminal side: E:e */
	struct sp_endpoint server_local; /* server side: the binding's C:c */
	uint32_t mark;
	int ifindex;
	bool tcp;			/* terminal side: over TCP */
	bool tls;			/* terminal side: over TLS */
	char *data;			/* NULL: none being handled */
	size_t len;
};

/* One operation of the kernel door (sp_kernel.h), the engine's only way to
 * the kernel. */
#define KD(en, op, ...) ((en)->kd->ops->op((en)->kd, ##__VA_ARGS__))
/* One operation of the signalling protocol (sp_protocol.h), the engine's
 * only way to SIP. */
#define PROTO(en, op, ...) ((en)->proto->op(__VA_ARGS__))


struct sp_engine {
	struct sp_engine_env env;	/* what the daemon lent it */
	/* the kernel, only through its door (sp_kernel.h): a test gives a fake */
	struct sp_kernel_door *kd;
	/* signalling messages, only through the protocol (sp_protocol.h) */
	const struct sp_protocol *proto;
	struct sp_table *table;
	struct sp_persist *persist;	/* NULL: --state-dir none */
	struct sp_loop_timer *expiry;
	struct sp_transport *tp;	/* signalling in and out (sp_transport) */
	struct sp_transport_conn *listeners[SP_LISTEN_PORTS_MAX];
	unsigned n_listeners;
	/* SIP over TCP from terminals (sp_transport_tcp): a listener on each
	 * listen port beside UDP's; NULL with a test's transport */
	struct sp_transport *tcp;
	struct sp_transport_conn *tcp_listeners[SP_LISTEN_PORTS_MAX];
	bool rx_tcp;			/* the message being handled came over TCP (or TLS) */
	/* SIP over TLS (sp_transport_tls_new): one listener on the TLS port
	 * while a certificate is configured, and the SP's connections to
	 * servers said `transport tls`; NULL with a test's transport */
	struct sp_transport *tls;
	struct sp_transport_conn *tls_listener;
	bool rx_tls;			/* the message being handled came over TLS */
	/* what the TLS contexts were loaded from (a change, or the command
	 * entered again, loads them anew) */
	struct {
		char cert[SP_FILE_MAX + 1], key[SP_FILE_MAX + 1], ca[SP_FILE_MAX + 1];
		uint32_t load;
		bool client;	/* the client context is loaded */
	} tls_loaded;
	struct sp_classify_strategy *strategies; /* sorted by seq */
	size_t n_strategies;
	struct sp_endpoint server_side; /* C, port 0; family 0: not configured */
	struct sp_endpoint server_side6; /* the IPv6 C, the same way */
	bool media_on;
	bool standby;	/* active-standby: tables kept, nothing in the kernel */
	struct sp_media *media;
	struct sp_loop_timer *media_reconcile;
	struct sp_loop_timer *media_latch;	/* polls the media guard while streams latch */
	bool media_latch_armed;
	uint64_t media_guard_banked;	/* guard drops of the tables replaced */
	struct sp_vpn_map vpn_map;	/* vpn-id <-> mark slot (sp_vpn) */
	int rx_ifindex;			/* ingress of the datagram being handled */
	uint32_t session_limit;
	uint32_t message_size_limit; /* bytes towards a server */
	bool limit_notified;
	uint32_t source_bindings_limit;	/* 0: off */
	bool source_limits_in_kernel;	/* the rate limits are in the table */
	struct sp_srclimit *source_notified;	/* spacing of "source limited" */
	struct sp_loop_timer *limits_poll;
	/* the kernel's per-source drop counters: what earlier tables counted
	 * (each apply replaces the table) and what the last poll read */
	uint64_t kernel_rate_banked, kernel_new_banked;
	uint64_t kernel_rate_seen, kernel_new_seen;
	struct {
		uint64_t last_ms; /* of the last line; 0: none yet */
		uint64_t since;   /* refusals since that line */
	} refusal_log;
	uint64_t socket_drops_other_cleared; /* at the last clear statistics */
	bool warned_no_server_side; /* said once in the log */
	uint64_t armed_deadline;    /* of the expiry timer; UINT64_MAX: not armed */
	struct sp_engine_stats stats;
	bool send_now; /* media hangs on this message's fate: no queueing */
	/* the remote media proxies (sp_engine_remote.c) */
	struct sp_mp_client *mpc;
	bool mp_stopping;	/* the parked messages are only freed */
	bool msg_kernel;	/* this message's media: the kernel's */
	bool msg_remote;	/* this message's session description: a remote MP's */
	struct sp_engine_rx rx;	/* the message being handled */
	struct sp_engine_pre *rx_pre;	/* and its inspect, done outside the lock (NULL: none) */
	/* the workers (sp_engine_workers.c): tp and cur_listeners are the
	 * ones of cur, the worker handling now (worker 0's otherwise) */
	struct sp_engine_worker *workers;
	unsigned n_workers;
	struct sp_engine_worker *cur;
	struct sp_transport_conn **cur_listeners;
	struct sp_loop_lock *lock;	/* with more than one worker */
	struct sp_transport_conn *steered[SP_LISTEN_PORTS_MAX]; /* worker 0's listeners steered */
	int steered_fd6[SP_LISTEN_PORTS_MAX];	/* and their [::] sockets then (-1: none) */
	unsigned n_steered;
	struct sp_transport_handler handler; /* worker 0's, the engine's own */
};

/* ---- shared between the engine's files ---- */

/* sp_engine.c */
uint64_t sp_now_ms(void);
void sp_engine_drop(struct sp_engine *en, uint64_t *reason);
void sp_engine_log_refusal(struct sp_engine *en, const char *why, const char *call_id);
const struct sp_classify_strategy *sp_engine_strategy_by_seq(const struct sp_engine *en,
							     uint32_t seq);
const struct sp_classify_strategy *sp_engine_strategy_by_mark(const struct sp_engine *en,
							      uint32_t mark);
void sp_engine_publish_strategies(struct sp_engine *en);
struct sp_transport *sp_engine_server_tp(const struct sp_engine *en, const struct sp_binding *b);
struct sp_transport_conn *sp_engine_bsock_open(struct sp_engine *en, const struct sp_binding *b);
void sp_engine_arm_expiry(struct sp_engine *en);
struct sp_binding *sp_engine_find_terminal(struct sp_engine *en, uint32_t vpn,
					   const struct sp_endpoint *terminal);

/* sp_engine_track.c */
int sp_engine_track(struct sp_engine *en, struct sp_binding *b, const struct sp_proto_msg *m);
uint8_t sp_engine_rx_store_transport(const struct sp_engine *en);
int sp_engine_send_as_e(struct sp_engine *en, uint8_t transport, const struct sp_endpoint *terminal,
			const struct sp_endpoint *virtual_server, uint32_t mark,
			const char *buf, size_t len);
/* A terminal registered with outbound (RFC 5626) whose flow, the
 * connection it holds to E, is gone: nothing reaches it until it
 * registers a new one (a request for it is answered 430). */
bool sp_engine_flow_gone(const struct sp_engine *en, const struct sp_binding *b);
int sp_engine_send_to_terminal(struct sp_engine *en, const struct sp_binding *b,
			       const char *buf, size_t len);
int sp_engine_send_to_server(struct sp_engine *en, const struct sp_binding *b,
			     const char *buf, size_t len);
void sp_engine_route(const struct sp_engine *en, const struct sp_binding *b, struct sp_proto_route *r);
struct sp_binding *sp_engine_binding_for(struct sp_engine *en,
					 const struct sp_classify_strategy *st, uint32_t mark,
					 const struct sp_endpoint *terminal,
					 const struct sp_endpoint *virtual_server,
					 const struct sp_proto_keys *keys, bool *over_limit);
void sp_engine_media_begin(struct sp_engine *en, const struct sp_binding *b,
			   const struct sp_proto_msg *m, enum sp_media_from from);
void sp_engine_media_finish(struct sp_engine *en, const struct sp_binding *b,
			    const struct sp_proto_msg *m);
void sp_engine_probe(struct sp_engine *en, const struct sp_endpoint *terminal,
		     const struct sp_endpoint *virtual_server, uint32_t mark,
		     enum sp_proto_probe r, size_t n, const char *reason);
void sp_engine_source_limited(struct sp_engine *en, uint32_t vpn,
			      const struct sp_endpoint *src, const char *why);
void sp_engine_refuse_source(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len, const struct sp_proto_msg *m);
void sp_engine_too_many_hops(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len, const struct sp_proto_msg *m);
void sp_engine_reply(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
		     const struct sp_proto_msg *m, const char *buf, size_t len,
		     enum sp_proto_refusal why, unsigned retry_after);
void sp_engine_rewrite_refused(struct sp_engine *en, const struct sp_binding *b, bool to_terminal,
			       const struct sp_proto_msg *m, const char *buf, size_t len, int rc);

/* sp_engine_terminal.c */
void sp_engine_registered(struct sp_engine *en, struct sp_binding *b, const struct sp_proto_msg *m);
/* sp_engine_remote.c: the remote media proxies */
int sp_engine_media_choose(struct sp_engine *en, const struct sp_binding *b,
			   const struct sp_proto_msg *m, bool from_terminal, const char *buf, size_t len);
bool sp_engine_remote_park(struct sp_engine *en, const struct sp_binding *b, const struct sp_proto_msg *m,
			   bool to_server, const char *out, size_t out_len);
/* The calls of the table whose media a remote MP holds (restored, or
 * synced from the former active) are that MP's again: their answers and
 * deletes go there. */
void sp_engine_remote_adopt(struct sp_engine *en);
void sp_engine_media_end(struct sp_engine *en, uint32_t dialog_id, const char *call_id,
			 size_t call_id_len);
/* sp_engine.c: a message received earlier, handled as if it came now */
void sp_engine_receive_again(struct sp_engine *en, const struct sp_engine_rx *rx);

void sp_engine_from_terminal(struct sp_engine *en, const struct sp_endpoint *terminal,
			     const struct sp_endpoint *virtual_server, uint32_t mark,
			     const char *buf, size_t len);

/* sp_engine_server.c */
void sp_engine_from_server(struct sp_engine *en, const struct sp_transport_conn *bs,
			   const struct sp_endpoint *from, const char *buf, size_t len);

/* sp_engine_workers.c */
int sp_engine_workers_create(struct sp_engine *en, unsigned n, struct sp_error *e);
void sp_engine_workers_stop(struct sp_engine *en);
void sp_engine_workers_listen(struct sp_engine *en);
void sp_engine_workers_shared(struct sp_engine *en, const struct sp_config *c);
void sp_engine_steer_port(struct sp_engine *en, const struct sp_binding *b, bool held);
unsigned sp_engine_owner(const struct sp_engine *en, const struct sp_binding *b);
struct sp_transport *sp_engine_owner_tp(const struct sp_engine *en, const struct sp_binding *b);
void sp_engine_prepare(void *arg, enum sp_transport_side side, unsigned slot, const char *data, size_t len);
void sp_engine_pre_take(struct sp_engine *en, const struct sp_transport_msg *m);
void sp_engine_pre_done(struct sp_engine *en);
void sp_engine_pre_clear(struct sp_engine_worker *w);
/* buf's inspected message into *msg: the one prepared outside the lock for
 * the message being handled, or own, inspected now; inspect's result.
 * Release it with sp_engine_inspected_release either way. */
int sp_engine_inspect(struct sp_engine *en, struct sp_proto_msg *own, const char *buf, size_t len,
		      struct sp_proto_msg **msg);
void sp_engine_inspected_release(struct sp_engine *en, struct sp_proto_msg *msg);

/* sp_engine_tls.c: what a configuration changes of TLS, prepared (files
 * loaded, the listener opened: an error refuses the change), then
 * committed or undone */
struct sp_engine_tls_change {
	struct sp_tls *server, *client;	/* new contexts (NULL: unchanged) */
	bool server_off;		/* no certificate any more */
	struct sp_transport_conn *listener; /* wanted (NULL: none) */
	bool opened;			/* this change opened it */
};
int sp_engine_tls_prepare(struct sp_engine *en, const struct sp_config *c, bool idle,
			  struct sp_engine_tls_change *tc, struct sp_error *e);
void sp_engine_tls_commit(struct sp_engine *en, const struct sp_config *c, struct sp_engine_tls_change *tc);
void sp_engine_tls_abort(struct sp_engine_tls_change *tc);

/* sp_engine_apply.c */
void sp_engine_limits_read(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows);
void sp_engine_limits_bank(struct sp_engine *en, uint64_t rate, uint64_t new_flows);
void sp_engine_limits_totals(struct sp_engine *en, uint64_t *rate, uint64_t *new_flows);
void sp_engine_limits_poll_cb(struct sp_loop *loop, void *arg);
int sp_engine_apply(struct sp_engine *en, const struct sp_config *c, struct sp_error *e);
int sp_engine_config_cb(void *arg, const struct sp_config *old_cfg,
			const struct sp_config *new_cfg, const struct sp_config_diff *diff,
			struct sp_error *e);
void sp_engine_links_changed(void *arg);

#endif
