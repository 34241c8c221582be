/* The remote media proxies' client: rtpengine driven over its NG control
 * protocol (sp_ng), on the daemon's event loop, never blocking it.
 *
 * One UDP socket per configured media proxy (MP). Every MP is pinged each
 * SP_MP_PING_MS; one that answered is in rotation, one that missed
 * SP_MP_PING_MISSES pings in a row is taken out (an event says so, both
 * ways). A request (offer, answer, delete) carries a cookie of its own and
 * is retransmitted with a doubling timeout until its reply or
 * SP_MP_TRIES tries; a reply is matched by its cookie, validated whole
 * (bencode, sizes, the keys its command needs) and what does not fit is
 * counted and dropped.
 *
 * A call (Call-ID) sticks to the MP its first offer went to, for its life:
 * re-INVITEs, UPDATEs and answers go there, and sp_mp_client_end() sends
 * the delete. New calls are spread over the MPs in rotation of the
 * strategy's group (every MP, or the one named) by smooth weighted round
 * robin. When none is in rotation the group's fallback applies: the
 * in-kernel media (the call is remembered as a kernel call so its answer
 * stays there too) or a refusal.
 *
 * State and reason of every MP go to sp_status (kind
 * SP_STATUS_MEDIA_PROXY) after each ping round: the CLI and SNMP read
 * them there. */
#ifndef SP_MEDIAPROXY_H
#define SP_MEDIAPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_config.h"
#include "sp_endpoint.h"

#define SP_MP_PING_MS 1000
#define SP_MP_PING_MISSES 3
#define SP_MP_RTO_MS 250	/* first retransmission; doubles */
#define SP_MP_TRIES 3
#define SP_MP_SDP_MAX 16384	/* the largest SDP sent or accepted */
#define SP_MP_QUERY_MS 1000	/* a call's counters are asked for again after */
#define SP_MP_QUERIES_MAX 256	/* queries in flight at once, all calls */

struct sp_loop;
struct sp_status;
struct sp_events;
struct sp_mp_client;

enum sp_mp_op { SP_MP_OFFER, SP_MP_ANSWER };

struct sp_mp_request {
	enum sp_mp_op op;
	const char *call_id;
	const char *from_tag;
	const char *to_tag;		/* answers; may be "" */
	const char *sdp;
	size_t sdp_len;
	/* the signalling source of a terminal behind a NAT whose SDP shows a
	 * private address: the MP takes it instead (SIP-source-address) and
	 * latches on the first packets (symmetric); NULL: trust the SDP */
	const struct sp_endpoint *received_from;
	bool towards_terminal;		/* the rewritten SDP goes to the terminal */
	int family;			/* that side's family (AF_INET, AF_INET6) */
	/* the two sides are of different families: NG's "address family"
	 * says which the rewritten SDP announces */
	bool interworking;
	const char *group;		/* "" : every MP; else that MP only */
};

enum sp_mp_route {
	SP_MP_SENT,	/* the done callback follows (once, always) */
	SP_MP_KERNEL,	/* the call's media is the kernel's (fallback, or its offer was) */
	SP_MP_REFUSE,	/* no MP answers and the fallback is refuse */
};

/* ok: sdp is the MP's rewrite (valid during the call); failed: the group's
 * fallback, which the caller applies (the call is then a kernel call when
 * it is kernel). */
typedef void (*sp_mp_done_fn)(void *arg, bool ok, const char *sdp, size_t sdp_len,
			      enum sp_mp_fallback fallback);

struct sp_mp_stats {
	uint64_t requests, replies, retransmissions, timeouts, errors;
	uint64_t bad_replies, wrong_cookie, offers, answers, deletes;
	uint64_t pings, pongs, queries;
};

/* A call's counters as its MP last reported them (NG query: the totals of
 * the call's streams, both directions). */
struct sp_mp_call_stats {
	bool valid;		/* a reply came */
	uint64_t at_ms;		/* sp_loop_now_ms() of that reply */
	uint64_t rtp_packets, rtp_bytes, rtcp_packets, rtcp_bytes, errors;
};

/* One MP as `show media-proxy` and SNMP see it. */
struct sp_mp_view {
	char name[SP_NAME_MAX + 1];
	bool reachable;
	uint64_t last_pong_ms;	/* sp_loop_now_ms() of the last pong; 0: never */
	uint64_t calls;		/* held now */
	struct sp_mp_stats stats;
};

struct sp_mp_client *sp_mp_client_new(struct sp_loop *loop, struct sp_status *status,
				      struct sp_events *events);
/* Answers every pending request (done: failed) before freeing. */
void sp_mp_client_free(struct sp_mp_client *cl);
/* Takes the configured MPs: kept by name (calls, state), added, removed
 * (their calls forgotten). -1 (with e) when a socket cannot be made. */
int sp_mp_client_apply(struct sp_mp_client *cl, const struct sp_config *c, struct sp_error *e);

enum sp_mp_route sp_mp_client_request(struct sp_mp_client *cl, const struct sp_mp_request *r,
				      sp_mp_done_fn done, void *arg);
/* The call's media, as sp_mp_client_request would route it, without
 * sending anything (SP_MP_SENT: an MP holds it or, for an offer, would
 * take it). An answer of a call no MP holds is the kernel's. */
enum sp_mp_route sp_mp_client_route(struct sp_mp_client *cl, const char *call_id, const char *group,
				    bool offer);
/* The call's MP failed it: its media is the kernel's from now on. */
void sp_mp_client_set_kernel(struct sp_mp_client *cl, const char *call_id);
/* The MP holding the call: its name, "" when the call's media fell back to
 * the kernel, NULL when no MP knows it. */
const char *sp_mp_client_call_mp(struct sp_mp_client *cl, const char *call_id);
/* A call an MP already holds, known from elsewhere (the state sync, the
 * store after a restart): its answers and its delete go to that MP. False
 * when no MP of that name is configured. A call already known keeps its MP. */
bool sp_mp_client_adopt(struct sp_mp_client *cl, const char *call_id, const char *mp_name);
/* The counters of a call an MP holds, from the cache (false: no MP holds
 * it). Never waits: when the cache is older than SP_MP_QUERY_MS (or
 * empty) an NG query goes out and its reply fills the cache for the next
 * reader. */
bool sp_mp_client_call_stats(struct sp_mp_client *cl, const char *call_id,
			     struct sp_mp_call_stats *out);
/* The call ended: its MP is told (delete), the call forgotten. */
void sp_mp_client_end(struct sp_mp_client *cl, const char *call_id);

size_t sp_mp_client_views(const struct sp_mp_client *cl, struct sp_mp_view *out, size_t max);
/* Sends one ping round now (tests; the timer does it otherwise). */
void sp_mp_client_ping_all(struct sp_mp_client *cl);

#endif
