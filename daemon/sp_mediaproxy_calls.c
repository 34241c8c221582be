/* The remote media proxies' client, part: the calls. A Call-ID sticks to
 * the MP its first offer went to (or to the kernel); new calls are spread
 * by weight; answers, deletes and queries go to the call's MP. */
#include "config.h"
#include "sp_mediaproxy.h"
#include "sp_mediaproxy_int.h"
#include "sp_log.h"
#include "sp_loop.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- calls: Call-ID -> MP ---- */

static unsigned sp_mp_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % SP_MP_CALL_BUCKETS;
}

static struct sp_mp_callent **sp_mp_call_slot(struct sp_mp_client *cl, const char *call_id)
{
	struct sp_mp_callent **p = &cl->calls[sp_mp_hash(call_id)];

	while (*p && strcmp((*p)->call_id, call_id) != 0)
		p = &(*p)->next;
	return p;
}

struct sp_mp *sp_mp_by_id(struct sp_mp_client *cl, uint32_t id)
{
	for (size_t i = 0; i < cl->n_mps; i++)
		if (cl->mps[i].id == id)
			return &cl->mps[i];
	return NULL;
}

static void sp_mp_call_set(struct sp_mp_client *cl, const char *call_id, uint32_t mp_id)
{
	struct sp_mp_callent **p = sp_mp_call_slot(cl, call_id), *e;
	size_t l = strlen(call_id);
	struct sp_mp *mp;

	if (*p)
		return; /* a call keeps its first MP */
	e = calloc(1, sizeof(*e) + l + 1); /* no counters, no query yet */
	if (!e)
		return;
	e->mp_id = mp_id;
	memcpy(e->call_id, call_id, l + 1);
	*p = e;
	if ((mp = sp_mp_by_id(cl, mp_id)))
		mp->calls++;
	sp_mp_publish(cl);
}

void sp_mp_calls_forget_mp(struct sp_mp_client *cl, uint32_t mp_id)
{
	for (unsigned b = 0; b < SP_MP_CALL_BUCKETS; b++)
		for (struct sp_mp_callent **p = &cl->calls[b]; *p;) {
			struct sp_mp_callent *e = *p;

			if (e->mp_id == mp_id) {
				*p = e->next;
				free(e);
			} else {
				p = &e->next;
			}
		}
}

/* ---- calls ---- */

static bool sp_mp_in_group(const struct sp_mp *mp, const char *group)
{
	return !group || !group[0] || strcmp(mp->cfg.name, group) == 0;
}

/* Any MP of the group says refuse: the group refuses. */
static enum sp_mp_fallback sp_mp_group_fallback(const struct sp_mp_client *cl, const char *group)
{
	for (size_t i = 0; i < cl->n_mps; i++)
		if (sp_mp_in_group(&cl->mps[i], group) && cl->mps[i].cfg.fallback == SP_MP_FALLBACK_REFUSE)
			return SP_MP_FALLBACK_REFUSE;
	return SP_MP_FALLBACK_KERNEL;
}

/* Smooth weighted round robin over the group's MPs in rotation. */
static struct sp_mp *sp_mp_pick(struct sp_mp_client *cl, const char *group)
{
	struct sp_mp *best = NULL;
	int64_t total = 0;

	for (size_t i = 0; i < cl->n_mps; i++) {
		struct sp_mp *mp = &cl->mps[i];

		if (!sp_mp_in_group(mp, group) || !mp->reachable || mp->cfg.shutdown || !mp->cfg.weight)
			continue;
		mp->swrr += mp->cfg.weight;
		total += mp->cfg.weight;
		if (!best || mp->swrr > best->swrr)
			best = mp;
	}
	if (best)
		best->swrr -= total;
	return best;
}

enum sp_mp_route sp_mp_client_route(struct sp_mp_client *cl, const char *call_id, const char *group,
				    bool offer)
{
	struct sp_mp_callent *e = *sp_mp_call_slot(cl, call_id);

	if (e)
		return e->mp_id == SP_MP_KERNEL_ID ? SP_MP_KERNEL : SP_MP_SENT;
	if (!offer)
		return SP_MP_KERNEL;
	for (size_t i = 0; i < cl->n_mps; i++) {
		const struct sp_mp *mp = &cl->mps[i];

		if (sp_mp_in_group(mp, group) && mp->reachable && !mp->cfg.shutdown && mp->cfg.weight)
			return SP_MP_SENT;
	}
	return sp_mp_group_fallback(cl, group) == SP_MP_FALLBACK_REFUSE ? SP_MP_REFUSE : SP_MP_KERNEL;
}

static void sp_mp_put_request(struct sp_ng_out *o, const struct sp_mp *mp, const struct sp_mp_request *r)
{
	const struct sp_addr *media = sp_media_proxy_address(&mp->cfg, r->towards_terminal, r->family);
	char a[SP_ADDR_STRLEN];

	sp_ng_open_dict(o);
	sp_ng_put_kv(o, "command", r->op == SP_MP_OFFER ? "offer" : "answer");
	sp_ng_put_kv(o, "call-id", r->call_id);
	sp_ng_put_kv(o, "from-tag", r->from_tag);
	if (r->to_tag && r->to_tag[0])
		sp_ng_put_kv(o, "to-tag", r->to_tag);
	sp_ng_put_cstr(o, "sdp");
	sp_ng_put_str(o, r->sdp, r->sdp_len);
	/* the MP's address everywhere the SDP names one */
	sp_ng_put_cstr(o, "replace");
	sp_ng_open_list(o);
	sp_ng_put_cstr(o, "origin");
	sp_ng_put_cstr(o, "session-connection");
	sp_ng_close(o);
	if (r->received_from) {
		/* behind a NAT: the signalling source, and learn the ports from
		 * the first packets */
		inet_ntop(r->received_from->family, r->received_from->addr.bytes, a, sizeof(a));
		sp_ng_put_cstr(o, "received-from");
		sp_ng_open_list(o);
		sp_ng_put_cstr(o, r->received_from->family == AF_INET6 ? "IP6" : "IP4");
		sp_ng_put_cstr(o, a);
		sp_ng_close(o);
		sp_ng_put_cstr(o, "flags");
		sp_ng_open_list(o);
		sp_ng_put_cstr(o, "SIP-source-address");
		sp_ng_put_cstr(o, "port-latching");
		sp_ng_close(o);
	}
	if (r->interworking)
		sp_ng_put_kv(o, "address family", r->family == AF_INET6 ? "IP6" : "IP4");
	if (media)
		sp_ng_put_kv(o, "media-address", sp_addr_str(media, a, sizeof(a)));
	sp_ng_close(o);
}

enum sp_mp_route sp_mp_client_request(struct sp_mp_client *cl, const struct sp_mp_request *r,
				      sp_mp_done_fn done, void *arg)
{
	struct sp_mp_callent *e = *sp_mp_call_slot(cl, r->call_id);
	struct sp_mp *mp;
	struct sp_mp_pending *p;
	char cookie[SP_NG_COOKIE_MAX + 1];
	struct sp_ng_out o;

	if (e && e->mp_id == SP_MP_KERNEL_ID)
		return SP_MP_KERNEL;
	mp = e ? sp_mp_by_id(cl, e->mp_id) : r->op == SP_MP_OFFER ? sp_mp_pick(cl, r->group) : NULL;
	if (!mp) {
		/* no MP holds it (an answer to a kernel offer) or none answers */
		if (!e && sp_mp_group_fallback(cl, r->group) == SP_MP_FALLBACK_REFUSE)
			return SP_MP_REFUSE;
		sp_mp_call_set(cl, r->call_id, SP_MP_KERNEL_ID);
		return SP_MP_KERNEL;
	}
	if (r->sdp_len > SP_MP_SDP_MAX)
		return SP_MP_KERNEL; /* not the MP's business: too large to send */
	sp_mp_new_cookie(cl, cookie);
	sp_mp_begin(cl, &o, cookie);
	sp_mp_put_request(&o, mp, r);
	if (!sp_ng_out_ok(&o) || !(p = sp_mp_queue(cl, mp, r->op == SP_MP_OFFER ? SP_MPK_OFFER : SP_MPK_ANSWER,
						  cookie, &o)))
		return SP_MP_KERNEL;
	p->done = done;
	p->arg = arg;
	p->fallback = sp_mp_group_fallback(cl, r->group);
	if (r->op == SP_MP_OFFER)
		mp->stats.offers++;
	else
		mp->stats.answers++;
	sp_mp_call_set(cl, r->call_id, mp->id);
	sp_loop_timer_arm(cl->tick, SP_MP_TICK_MS);
	return SP_MP_SENT;
}

const char *sp_mp_client_call_mp(struct sp_mp_client *cl, const char *call_id)
{
	struct sp_mp_callent *e = cl ? *sp_mp_call_slot(cl, call_id) : NULL;
	struct sp_mp *mp;

	if (!e)
		return NULL;
	if (e->mp_id == SP_MP_KERNEL_ID)
		return "";
	mp = sp_mp_by_id(cl, e->mp_id);
	return mp ? mp->cfg.name : NULL;
}

bool sp_mp_client_adopt(struct sp_mp_client *cl, const char *call_id, const char *mp_name)
{
	for (size_t i = 0; i < cl->n_mps; i++)
		if (strcmp(cl->mps[i].cfg.name, mp_name) == 0) {
			sp_mp_call_set(cl, call_id, cl->mps[i].id);
			return true;
		}
	return false;
}

void sp_mp_client_set_kernel(struct sp_mp_client *cl, const char *call_id)
{
	struct sp_mp_callent *e = *sp_mp_call_slot(cl, call_id);
	struct sp_mp *mp;

	if (!e) {
		sp_mp_call_set(cl, call_id, SP_MP_KERNEL_ID);
		return;
	}
	if ((mp = sp_mp_by_id(cl, e->mp_id)) && mp->calls)
		mp->calls--;
	e->mp_id = SP_MP_KERNEL_ID;
	sp_mp_publish(cl);
}

void sp_mp_client_end(struct sp_mp_client *cl, const char *call_id)
{
	struct sp_mp_callent **slot = sp_mp_call_slot(cl, call_id), *e = *slot;
	struct sp_mp *mp;
	char cookie[SP_NG_COOKIE_MAX + 1];
	struct sp_ng_out o;

	if (!e)
		return;
	*slot = e->next;
	mp = sp_mp_by_id(cl, e->mp_id);
	free(e);
	if (!mp)
		return;
	if (mp->calls)
		mp->calls--;
	sp_mp_publish(cl);
	sp_mp_new_cookie(cl, cookie);
	sp_mp_begin(cl, &o, cookie);
	sp_ng_open_dict(&o);
	sp_ng_put_kv(&o, "command", "delete");
	sp_ng_put_kv(&o, "call-id", call_id);
	sp_ng_close(&o);
	if (sp_ng_out_ok(&o) && sp_mp_queue(cl, mp, SP_MPK_DELETE, cookie, &o)) {
		mp->stats.deletes++;
		sp_loop_timer_arm(cl->tick, SP_MP_TICK_MS);
	}
}

/* ---- a call's counters (NG query) ---- */

static uint64_t sp_mp_uint(const struct sp_ng_doc *doc, const struct sp_ng_node *dict, const char *key)
{
	const struct sp_ng_node *n = dict && dict->type == SP_NG_DICT ? sp_ng_dict_get(doc, dict, key) : NULL;

	return n && n->type == SP_NG_INT && n->i > 0 ? (uint64_t)n->i : 0;
}

void sp_mp_query_reply(struct sp_mp_client *cl, const struct sp_mp_pending *p,
		       const struct sp_ng_node *root)
{
	struct sp_mp_callent *e = *sp_mp_call_slot(cl, p->query_call_id);
	const struct sp_ng_node *totals = sp_ng_dict_get(&cl->doc, root, "totals");
	const struct sp_ng_node *rtp = NULL, *rtcp = NULL;

	if (!e || e->mp_id != p->mp_id)
		return; /* ended, or no longer this MP's, meanwhile */
	if (totals && totals->type == SP_NG_DICT) {
		rtp = sp_ng_dict_get(&cl->doc, totals, "RTP");
		rtcp = sp_ng_dict_get(&cl->doc, totals, "RTCP");
	}
	e->stats.valid = true;
	e->stats.at_ms = sp_loop_now_ms();
	e->stats.rtp_packets = sp_mp_uint(&cl->doc, rtp, "packets");
	e->stats.rtp_bytes = sp_mp_uint(&cl->doc, rtp, "bytes");
	e->stats.rtcp_packets = sp_mp_uint(&cl->doc, rtcp, "packets");
	e->stats.rtcp_bytes = sp_mp_uint(&cl->doc, rtcp, "bytes");
	e->stats.errors = sp_mp_uint(&cl->doc, rtp, "errors") + sp_mp_uint(&cl->doc, rtcp, "errors");
}

void sp_mp_query_done(struct sp_mp_client *cl, const struct sp_mp_pending *p)
{
	struct sp_mp_callent *e = *sp_mp_call_slot(cl, p->query_call_id);

	if (cl->queries_in_flight)
		cl->queries_in_flight--;
	if (e)
		e->querying = false;
}

static void sp_mp_query_send(struct sp_mp_client *cl, struct sp_mp *mp, struct sp_mp_callent *e)
{
	char cookie[SP_NG_COOKIE_MAX + 1];
	struct sp_ng_out o;
	struct sp_mp_pending *p;
	char *cid = strdup(e->call_id);

	if (!cid)
		return;
	sp_mp_new_cookie(cl, cookie);
	sp_mp_begin(cl, &o, cookie);
	sp_ng_open_dict(&o);
	sp_ng_put_kv(&o, "command", "query");
	sp_ng_put_kv(&o, "call-id", e->call_id);
	sp_ng_close(&o);
	if (!sp_ng_out_ok(&o) || !(p = sp_mp_queue(cl, mp, SP_MPK_QUERY, cookie, &o))) {
		free(cid);
		return;
	}
	p->query_call_id = cid;
	e->querying = true;
	e->asked_ms = sp_loop_now_ms();
	cl->queries_in_flight++;
	mp->stats.queries++;
	sp_loop_timer_arm(cl->tick, SP_MP_TICK_MS);
}

bool sp_mp_client_call_stats(struct sp_mp_client *cl, const char *call_id,
			     struct sp_mp_call_stats *out)
{
	struct sp_mp_callent *e = cl ? *sp_mp_call_slot(cl, call_id) : NULL;
	struct sp_mp *mp = e && e->mp_id != SP_MP_KERNEL_ID ? sp_mp_by_id(cl, e->mp_id) : NULL;
	uint64_t now = sp_loop_now_ms();

	if (!mp)
		return false;
	*out = e->stats;
	/* fresh enough, already asked, too many asked, or the MP silent */
	if (e->querying || cl->queries_in_flight >= SP_MP_QUERIES_MAX || !mp->reachable ||
	    (e->asked_ms && now - e->asked_ms < SP_MP_QUERY_MS))
		return true;
	sp_mp_query_send(cl, mp, e);
	return true;
}
