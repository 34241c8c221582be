/* The remote media proxies' client (sp_mediaproxy.h): what its two parts
 * share. sp_mediaproxy.c: sockets, pings, requests and replies,
 * retransmission, configuration; sp_mediaproxy_calls.c: the calls (Call-ID
 * -> MP), the choice of an MP, offer/answer/delete/query. */
#ifndef SP_MEDIAPROXY_INT_H
#define SP_MEDIAPROXY_INT_H

/* after sp_mediaproxy.h (its types), which does not include this one */
#include "sp_ng.h"

#define SP_MP_TICK_MS 50
#define SP_MP_CALL_BUCKETS 1024
#define SP_MP_KERNEL_ID 0	/* a call id's MP: the kernel */

struct sp_mp {
	struct sp_media_proxy cfg;
	uint32_t id;		/* unique for the client's life; never SP_MP_KERNEL_ID */
	int fd;
	bool reachable;
	bool ever_answered;
	unsigned missed;	/* pings in a row without a pong */
	bool ping_outstanding;
	char ping_cookie[SP_NG_COOKIE_MAX + 1];
	uint64_t last_pong_ms;
	uint64_t calls;
	int64_t swrr;		/* smooth weighted round robin: current weight */
	struct sp_mp_stats stats;
};

enum sp_mp_kind { SP_MPK_OFFER, SP_MPK_ANSWER, SP_MPK_DELETE, SP_MPK_QUERY };

struct sp_mp_pending {
	struct sp_mp_pending *next;
	uint32_t mp_id;
	enum sp_mp_kind kind;
	char cookie[SP_NG_COOKIE_MAX + 1];
	char *msg;
	size_t len;
	unsigned tries;
	uint64_t deadline_ms;
	uint64_t rto_ms;
	sp_mp_done_fn done;
	void *arg;
	enum sp_mp_fallback fallback;
	char *query_call_id;	/* SP_MPK_QUERY: whose counters (owned) */
};

struct sp_mp_callent {
	struct sp_mp_callent *next;
	uint32_t mp_id;
	bool querying;		/* a query of its counters is in flight */
	uint64_t asked_ms;	/* when it went */
	struct sp_mp_call_stats stats;
	char call_id[];
};

struct sp_mp_client {
	struct sp_loop *loop;
	struct sp_status *status;
	struct sp_events *events;
	struct sp_mp *mps;
	size_t n_mps;
	uint32_t next_id;
	struct sp_mp_pending *pending;
	struct sp_mp_callent *calls[SP_MP_CALL_BUCKETS];
	struct sp_loop_timer *tick;
	uint64_t next_ping_ms;
	uint64_t cookie_seq;
	uint32_t cookie_salt;
	unsigned queries_in_flight;
	char rx[SP_NG_MSG_MAX + 1];
	char tx[SP_NG_MSG_MAX + 1];
	struct sp_ng_doc doc;
};

struct sp_mp *sp_mp_by_id(struct sp_mp_client *cl, uint32_t id);
void sp_mp_calls_forget_mp(struct sp_mp_client *cl, uint32_t mp_id);
void sp_mp_publish(struct sp_mp_client *cl);
void sp_mp_new_cookie(struct sp_mp_client *cl, char *out);
/* "COOKIE " then the dictionary the caller writes with o. */
void sp_mp_begin(struct sp_mp_client *cl, struct sp_ng_out *o, const char *cookie);
/* An ok reply to a query: the call's counters into its cache. */
void sp_mp_query_reply(struct sp_mp_client *cl, const struct sp_mp_pending *p,
		       const struct sp_ng_node *root);
/* A query finished (reply, error or timeout). */
void sp_mp_query_done(struct sp_mp_client *cl, const struct sp_mp_pending *p);
struct sp_mp_pending *sp_mp_queue(struct sp_mp_client *cl, struct sp_mp *mp, enum sp_mp_kind kind,
				  const char *cookie, const struct sp_ng_out *o);

#endif
