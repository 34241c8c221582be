/* The engine's pipeline without root (issue 16 item 9): the engine runs on a
 * fake kernel door (sp_kernel.h) and a fake transport (sp_transport.h), and
 * the test plays the terminal and the server. A REGISTER becomes a binding
 * and reaches the server from C:c with Via and Contact rewritten; the
 * server's 200 OK reaches the terminal from E; expiry removes the binding
 * and closes its socket; a source over its binding limit hears 503; a
 * standby takes the interception out and sends nothing. The engine reaches
 * SIP only through the protocol table (sp_protocol.h): the test hands it
 * SIP wrapped in a spy that counts each operation and can make track refuse
 * a session; a call is tracked from INVITE to the answer of its BYE. The event loop
 * never runs: messages are handed to the engine's transport handler and
 * expiry is the table's, at a time far ahead (no timing). */
#include "config.h"
#include "sp_config.h"
#include "sp_engine.h"
#include "sp_loop.h"
#include "sp_kernel.h"
#include "sp_mark.h"
#include "sp_protocol.h"
#include "sp_sip_protocol.h"
#include "sp_status.h"
#include "sp_stun.h"
#include "sp_table.h"
#include "sp_transport.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake transport: connections and sends recorded ---- */

#define FAKE_CONNS 16
#define FAKE_SENDS 16

struct fake_conn {
	struct sp_transport_conn c;
	bool open;
};

struct fake_send {
	struct sp_transport_conn *conn;
	struct sp_endpoint to, from;
	char data[4096];
	size_t len;
};

struct fake_tp {
	struct sp_transport tp;
	char out[8192];
	struct fake_conn conns[FAKE_CONNS];
	unsigned n_conns;
	struct fake_send sends[FAKE_SENDS];
	unsigned n_sends;
};

static struct fake_conn *fake_conn_new(struct sp_transport *tp, enum sp_transport_side side,
				       const struct sp_endpoint *local)
{
	struct fake_tp *f = (struct fake_tp *)tp;
	struct fake_conn *c;

	cr_assert_lt(f->n_conns, FAKE_CONNS);
	c = &f->conns[f->n_conns++];
	c->c.tp = tp;
	c->c.side = side;
	c->c.local = *local;
	c->open = true;
	return c;
}

static struct sp_transport_conn *fake_listen(struct sp_transport *tp, uint16_t port, struct sp_error *e)
{
	struct sp_endpoint any = { .family = AF_INET, .port = port };

	(void)e;
	return &fake_conn_new(tp, SP_TRANSPORT_TERMINAL, &any)->c;
}

static struct sp_transport_conn *fake_find(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct fake_tp *f = (struct fake_tp *)tp;

	for (unsigned i = 0; i < f->n_conns; i++)
		if (f->conns[i].open && f->conns[i].c.side == SP_TRANSPORT_SERVER &&
		    sp_endpoint_equal(&f->conns[i].c.local, local))
			return &f->conns[i].c;
	return NULL;
}

static struct sp_transport_conn *fake_open(struct sp_transport *tp, const struct sp_endpoint *local)
{
	struct sp_transport_conn *c = fake_find(tp, local);

	return c ? c : &fake_conn_new(tp, SP_TRANSPORT_SERVER, local)->c;
}

static void fake_close(struct sp_transport *tp, struct sp_transport_conn *conn)
{
	(void)tp;
	((struct fake_conn *)conn)->open = false;
}

static void fake_close_server_side(struct sp_transport *tp)
{
	struct fake_tp *f = (struct fake_tp *)tp;

	for (unsigned i = 0; i < f->n_conns; i++)
		if (f->conns[i].c.side == SP_TRANSPORT_SERVER)
			f->conns[i].open = false;
}

static int fake_send(struct sp_transport *tp, struct sp_transport_conn *conn,
		     const struct sp_transport_out *out)
{
	struct fake_tp *f = (struct fake_tp *)tp;
	struct fake_send *s;

	cr_assert(((struct fake_conn *)conn)->open, "a send on a closed connection");
	cr_assert_lt(f->n_sends, FAKE_SENDS);
	cr_assert_lt(out->len, sizeof(s->data));
	s = &f->sends[f->n_sends++];
	s->conn = conn;
	s->to = *out->to;
	if (out->from)
		s->from = *out->from;
	memcpy(s->data, out->data, out->len);
	s->data[out->len] = '\0';
	s->len = out->len;
	return 0;
}

static void fake_flush(struct sp_transport *tp)
{
	(void)tp;
}

static void fake_destroy(struct sp_transport *tp)
{
	(void)tp; /* the test owns it */
}

static const struct sp_transport_ops fake_tp_ops = {
	.name = "fake", .listen = fake_listen, .open = fake_open, .find = fake_find,
	.close = fake_close, .close_server_side = fake_close_server_side, .send = fake_send,
	.flush = fake_flush, .destroy = fake_destroy,
};

/* ---- the fake kernel: everything succeeds, the interception is a flag ---- */

struct fake_kernel {
	struct sp_kernel_door door;
	bool intercept;		/* installed now */
	unsigned installs, removes;
	bool destroyed;
	/* the links the kernel has (links_read), and the link watch's callback */
	struct sp_link_info links[4];
	size_t n_links;
	const char *tagger_why; /* what tagger_apply answers while tags are wanted */
	void (*links_changed)(void *arg);
	void *links_arg;
};

static struct fake_kernel *fk(struct sp_kernel_door *kd)
{
	return (struct fake_kernel *)kd;
}

static void fk_destroy(struct sp_kernel_door *kd)
{
	fk(kd)->destroyed = true;
	fk(kd)->intercept = false;
}

static int fk_install(struct sp_kernel_door *kd, const struct sp_kernel_intercept_cfg *cfg, struct sp_error *err)
{
	(void)cfg, (void)err;
	fk(kd)->intercept = true;
	fk(kd)->installs++;
	return 0;
}

static int fk_remove(struct sp_kernel_door *kd, struct sp_error *err)
{
	(void)err;
	fk(kd)->intercept = false;
	fk(kd)->removes++;
	return 0;
}

static bool fk_installed(struct sp_kernel_door *kd)
{
	return fk(kd)->intercept;
}

static uint64_t fk_zero(struct sp_kernel_door *kd)
{
	(void)kd;
	return 0;
}

static int fk_media_seen(struct sp_kernel_door *kd, struct sp_media_guard_seen **out, struct sp_error *err)
{
	(void)kd, (void)err;
	*out = NULL;
	return 0;
}

static int fk_lva_set(struct sp_kernel_door *kd, const struct sp_rt_addr *addr, const char *const *ifnames,
		      size_t n, struct sp_error *err)
{
	(void)kd, (void)addr, (void)ifnames, (void)n, (void)err;
	return 0;
}

static const char *fk_tagger(struct sp_kernel_door *kd, const char *const *ifnames, size_t n,
			     const struct sp_bpf_tag *tags, size_t n_tags)
{
	(void)ifnames, (void)n, (void)tags;
	return n_tags ? fk(kd)->tagger_why : NULL;
}

static int fk_counter(struct sp_kernel_door *kd, const char *name, uint64_t *packets, struct sp_error *err)
{
	(void)kd, (void)name, (void)err;
	*packets = 0;
	return 0;
}

static int fk_text(struct sp_kernel_door *kd, char **text, struct sp_error *err)
{
	(void)kd, (void)err;
	*text = strdup("");
	return 0;
}

static int fk_set(struct sp_kernel_door *kd, const char *set, char **text, struct sp_error *err)
{
	(void)set;
	return fk_text(kd, text, err);
}

static int fk_links_read(struct sp_kernel_door *kd, struct sp_link_state *s, struct sp_error *err)
{
	(void)err;
	memset(s, 0, sizeof(*s));
	if (fk(kd)->n_links) {
		s->links = calloc(fk(kd)->n_links, sizeof(*s->links));
		cr_assert_not_null(s->links);
		memcpy(s->links, fk(kd)->links, fk(kd)->n_links * sizeof(*s->links));
		s->n_links = fk(kd)->n_links;
	}
	return 0;
}

static int fk_links_watch(struct sp_kernel_door *kd, const struct sp_link_info *links, size_t n,
			  const char *const *names, size_t n_names)
{
	(void)kd, (void)links, (void)n, (void)names, (void)n_names;
	return 0;
}

static int fk_vpn_apply(struct sp_kernel_door *kd, const struct sp_vpn_map *map, struct sp_error *err)
{
	(void)kd, (void)map, (void)err;
	return 0;
}

static const struct sp_vpn_kernel *fk_vpn_state(struct sp_kernel_door *kd)
{
	(void)kd;
	return NULL;
}

static int fk_rp_configure(struct sp_kernel_door *kd, enum sp_retpath_mode mode, const struct sp_addr *gw,
			   const uint16_t *ports, unsigned n, struct sp_error *err)
{
	(void)kd, (void)mode, (void)gw, (void)ports, (void)n, (void)err;
	return 0;
}

static void fk_rp_drain(struct sp_kernel_door *kd)
{
	(void)kd;
}

static bool fk_rp_learn(struct sp_kernel_door *kd, const struct sp_endpoint *terminal, int ifindex,
			struct sp_learned_path *path)
{
	(void)kd, (void)terminal, (void)ifindex, (void)path;
	return false;
}

static uint32_t fk_rp_mark(struct sp_kernel_door *kd, const struct sp_learned_path *path)
{
	(void)kd, (void)path;
	return 0;
}

static int fk_ct_create(struct sp_kernel_door *kd, const struct sp_ct_nat *n, uint32_t timeout_s)
{
	(void)kd, (void)n, (void)timeout_s;
	return 0;
}

static int fk_ct_delete(struct sp_kernel_door *kd, const struct sp_ct_nat *n)
{
	(void)kd, (void)n;
	return 0;
}

static int fk_ct_counters(struct sp_kernel_door *kd, const struct sp_ct_nat *n, struct sp_ct_counters *c)
{
	(void)kd, (void)n;
	memset(c, 0, sizeof(*c));
	return 0;
}

static int fk_ct_list(struct sp_kernel_door *kd, struct sp_ct_nat **out)
{
	(void)kd;
	*out = NULL;
	return 0;
}

static const struct sp_kernel_door_ops fake_kernel_ops = {
	.destroy = fk_destroy, .install_intercept = fk_install, .remove_intercept = fk_remove,
	.intercept_installed = fk_installed, .media_guard_drops = fk_zero, .media_seen = fk_media_seen,
	.lva_set = fk_lva_set, .tagger_apply = fk_tagger, .counter_packets = fk_counter,
	.set_elements = fk_set, .nft_list = fk_text, .links_read = fk_links_read,
	.links_watch = fk_links_watch, .vpn_apply = fk_vpn_apply, .vpn_state = fk_vpn_state,
	.retpath_configure = fk_rp_configure, .retpath_drain = fk_rp_drain,
	.retpath_learn = fk_rp_learn, .retpath_mark = fk_rp_mark, .retpath_rx_drops = fk_zero,
	.ct_create = fk_ct_create, .ct_delete = fk_ct_delete, .ct_counters = fk_ct_counters,
	.ct_list = fk_ct_list,
};

/* ---- the protocol: SIP behind a spy ---- */

static struct spy {
	unsigned inspect, release, keys, came_through, to_server, to_terminal, track, refuse,
		lifetime, keepalive, probe, media_elsewhere;
	enum sp_proto_refusal last_refusal;
	bool over_limit;	/* track refuses every new dialog */
} spy;

#define SIP_OP(op, ...) (sp_sip_protocol()->op(__VA_ARGS__))

static void spy_init(void)
{
	SIP_OP(init);
}

static bool spy_is_keepalive(const char *buf, size_t len)
{
	spy.keepalive++;
	return SIP_OP(is_keepalive, buf, len);
}

static int spy_inspect(struct sp_proto_msg *m, const char *buf, size_t len)
{
	spy.inspect++;
	return SIP_OP(inspect, m, buf, len);
}

static void spy_release(struct sp_proto_msg *m)
{
	spy.release++;
	SIP_OP(release, m);
}

static bool spy_came_through(const struct sp_proto_msg *m, const struct sp_endpoint *hop)
{
	spy.came_through++;
	return SIP_OP(came_through, m, hop);
}

static void spy_keys(const struct sp_proto_msg *m, struct sp_proto_keys *k)
{
	spy.keys++;
	SIP_OP(keys, m, k);
}

static int spy_to_server(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			 size_t out_size, size_t *out_len)
{
	spy.to_server++;
	return SIP_OP(to_server, m, r, out, out_size, out_len);
}

static int spy_to_terminal(struct sp_proto_msg *m, const struct sp_proto_route *r, char *out,
			   size_t out_size, size_t *out_len)
{
	spy.to_terminal++;
	return SIP_OP(to_terminal, m, r, out, out_size, out_len);
}

static int spy_track(struct sp_table *t, struct sp_binding *b, const struct sp_proto_msg *m,
		     uint64_t now_ms, struct sp_proto_track *out)
{
	spy.track++;
	if (spy.over_limit) {
		memset(out, 0, sizeof(*out));
		return SP_PROTO_OVER_LIMIT;
	}
	return SIP_OP(track, t, b, m, now_ms, out);
}

static size_t spy_refuse(const struct sp_proto_msg *m, const char *buf, size_t len,
			 enum sp_proto_refusal why, unsigned retry_after, char *out, size_t out_size)
{
	spy.refuse++;
	spy.last_refusal = why;
	return SIP_OP(refuse, m, buf, len, why, retry_after, out, out_size);
}

static int spy_lifetime(const struct sp_proto_msg *m, const struct sp_endpoint *c, int64_t *expires)
{
	spy.lifetime++;
	return SIP_OP(lifetime, m, c, expires);
}

static int spy_contact_address(const struct sp_binding *b, struct sp_endpoint *out)
{
	return SIP_OP(contact_address, b, out);
}

static int spy_body(const char *msg, size_t len, const char **body, size_t *body_len)
{
	return SIP_OP(body, msg, len, body, body_len);
}

static char *spy_with_body(const char *msg, size_t len, const char *body, size_t body_len,
			   size_t *out_len)
{
	return SIP_OP(with_body, msg, len, body, body_len, out_len);
}

static int spy_media_ports(const struct sp_proto_msg *m, struct sp_sdp_info *out)
{
	return SIP_OP(media_ports, m, out);
}

static bool spy_media_elsewhere(const char *body, size_t body_len, const struct sp_endpoint *sender)
{
	spy.media_elsewhere++;
	return SIP_OP(media_elsewhere, body, body_len, sender);
}

static enum sp_proto_probe spy_probe(const char *buf, size_t len, const struct sp_endpoint *from,
				     char *out, size_t out_size, size_t *out_len, const char **reason)
{
	spy.probe++;
	return SIP_OP(probe, buf, len, from, out, out_size, out_len, reason);
}

static const struct sp_protocol spy_protocol = {
	.name = "spy", .init = spy_init, .is_keepalive = spy_is_keepalive, .inspect = spy_inspect,
	.release = spy_release, .came_through = spy_came_through, .keys = spy_keys,
	.to_server = spy_to_server, .to_terminal = spy_to_terminal, .track = spy_track,
	.refuse = spy_refuse, .lifetime = spy_lifetime, .contact_address = spy_contact_address,
	.body = spy_body, .with_body = spy_with_body, .media_ports = spy_media_ports,
	.media_elsewhere = spy_media_elsewhere, .probe = spy_probe,
};

/* ---- the engine on both fakes ---- */

static struct fake_tp ftp;
static struct fake_kernel fkern;
static struct sp_engine_env daemon_ctx;
static struct sp_engine *en;

#define TERMINAL "10.0.0.2"
#define E_ADDR "203.0.113.5"	/* the virtual server the terminal talks to */
#define C_ADDR "192.0.2.1"	/* the SP's server-side address */
#define SERVER "198.51.100.10"

static struct sp_kernel_door *deps_kernel(void *arg, void (*changed)(void *), void *changed_arg,
					  struct sp_error *err)
{
	(void)arg, (void)err;
	fkern.door.ops = &fake_kernel_ops;
	fkern.links_changed = changed;
	fkern.links_arg = changed_arg;
	return &fkern.door;
}

static struct sp_transport *deps_transport(void *arg, struct sp_loop *loop,
					   const struct sp_transport_handler *h)
{
	(void)arg, (void)loop;
	ftp.tp.ops = &fake_tp_ops;
	ftp.tp.h = *h;
	ftp.tp.out = ftp.out;
	ftp.tp.out_max = sizeof(ftp.out);
	return &ftp.tp;
}

static void start_engine(uint32_t source_bindings)
{
	struct sp_config *c = sp_config_new();
	struct sp_strategy *st;
	struct sp_error e = { "" };
	const struct sp_engine_deps deps = { NULL, deps_kernel, deps_transport, &spy_protocol };

	memset(&spy, 0, sizeof(spy));
	memset(&ftp, 0, sizeof(ftp));
	memset(&fkern, 0, sizeof(fkern));
	memset(&daemon_ctx, 0, sizeof(daemon_ctx));
	cr_assert_not_null(c);
	c->sp_enabled = true;
	c->sp.server_side_address.family = AF_INET;
	inet_pton(AF_INET, C_ADDR, &c->sp.server_side_address.u.v4);
	c->sp.media = SP_MEDIA_OFF;
	c->sp.source_bindings = source_bindings;
	st = sp_config_strategy_create(c, "sip", 10, &e);
	cr_assert_not_null(st, "%s", e.msg);
	st->action = SP_ACTION_PROXY;
	st->server.family = AF_INET;
	inet_pton(AF_INET, SERVER, &st->server.u.v4);
	st->server_port = 5060;
	daemon_ctx.loop = sp_loop_new();
	daemon_ctx.config = sp_config_store_new();
	daemon_ctx.status = sp_status_new();
	cr_assert_not_null(daemon_ctx.loop);
	cr_assert_not_null(daemon_ctx.config);
	cr_assert_eq(sp_config_store_commit(daemon_ctx.config, c, NULL, &e), 0, "%s", e.msg);
	en = sp_engine_start_with(&daemon_ctx, &deps, &e);
	cr_assert_not_null(en, "%s", e.msg);
}

static void stop_engine(void)
{
	sp_engine_stop(en);
	cr_assert(fkern.destroyed, "the engine closes its kernel door");
	sp_config_store_free(daemon_ctx.config);
	sp_status_free(daemon_ctx.status);
	sp_loop_free(daemon_ctx.loop);
}

static struct sp_transport_conn *listener(void)
{
	for (unsigned i = 0; i < ftp.n_conns; i++)
		if (ftp.conns[i].open && ftp.conns[i].c.side == SP_TRANSPORT_TERMINAL)
			return &ftp.conns[i].c;
	cr_assert_fail("no listener");
	return NULL;
}

static struct sp_endpoint ep(const char *addr, uint16_t port)
{
	struct sp_endpoint p;

	cr_assert_eq(sp_endpoint_parse(&p, addr, port), 0);
	return p;
}

/* A message as the transport hands it up, then the wake-up's end. */
static void deliver(struct sp_transport_conn *conn, const struct sp_endpoint *from, const char *text)
{
	char buf[4096];
	struct sp_transport_msg m = { .conn = conn, .source = *from, .data = buf, .len = strlen(text) };

	snprintf(buf, sizeof(buf), "%s", text);
	if (conn->side == SP_TRANSPORT_TERMINAL) {
		m.orig_dst = ep(E_ADDR, 5060);
		/* the interception's mark: the first strategy's slot */
		m.mark = SP_MARK_TPROXY | 1u << SP_MARK_STRATEGY_SHIFT;
		ftp.tp.h.before_batch(ftp.tp.h.arg, SP_TRANSPORT_TERMINAL);
	} else {
		ftp.tp.h.before_batch(ftp.tp.h.arg, SP_TRANSPORT_SERVER);
	}
	ftp.tp.h.received(ftp.tp.h.arg, &m);
	ftp.tp.h.wake_done(ftp.tp.h.arg);
}

static void register_from(uint16_t port, const char *call_id)
{
	char msg[1024];
	struct sp_endpoint t = ep(TERMINAL, port);

	snprintf(msg, sizeof(msg),
		 "REGISTER sip:" E_ADDR " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP " TERMINAL ":%u;branch=z9hG4bK-%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@" E_ADDR ">;tag=t1\r\n"
		 "To: <sip:alice@" E_ADDR ">\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 REGISTER\r\n"
		 "Contact: <sip:alice@" TERMINAL ":%u>\r\n"
		 "Expires: 60\r\n"
		 "Content-Length: 0\r\n\r\n",
		 port, call_id, call_id, port);
	deliver(listener(), &t, msg);
}

/* The header line of data starting with name (its first), into out. */
static void header(const char *data, const char *name, char *out, size_t len)
{
	const char *p = strstr(data, name);
	const char *end;

	cr_assert_not_null(p, "no %s in:\n%s", name, data);
	end = strstr(p, "\r\n");
	snprintf(out, len, "%.*s", (int)(end - p), p);
}

/* The registrar's 200 OK to a forwarded REGISTER: its Vias, From, Call-ID,
 * CSeq, To with a tag, and the Contact it registered. */
static void ok_from_server(const struct fake_send *req)
{
	char msg[2048], via[256], from[256], to[256], callid[256], cseq[256], contact[256];
	struct sp_endpoint server = ep(SERVER, 5060);

	header(req->data, "Via:", via, sizeof(via));
	header(req->data, "From:", from, sizeof(from));
	header(req->data, "To:", to, sizeof(to));
	header(req->data, "Call-ID:", callid, sizeof(callid));
	header(req->data, "CSeq:", cseq, sizeof(cseq));
	header(req->data, "Contact:", contact, sizeof(contact));
	/* the SP's Via on top: it forwarded the request, the terminal's below */
	snprintf(msg, sizeof(msg),
		 "SIP/2.0 200 OK\r\n%s\r\n%s\r\n%s;tag=srv\r\n%s\r\n%s\r\n%s;expires=60\r\n"
		 "Content-Length: 0\r\n\r\n",
		 via, from, to, callid, cseq, contact);
	deliver(req->conn, &server, msg);
}

static unsigned count_bindings(void)
{
	unsigned n = 0;
	struct sp_table *t = sp_engine_sync_table(en);

	for (struct sp_binding *b = sp_binding_first(t); b; b = sp_binding_next(t, b))
		n++;
	return n;
}

static const struct fake_send *last_send(void)
{
	cr_assert_gt(ftp.n_sends, 0);
	return &ftp.sends[ftp.n_sends - 1];
}

Test(engine_pipeline, register_from_terminal_reaches_the_server_from_c_with_via_and_contact_rewritten)
{
	const struct fake_send *s;
	char cc[64], line[256];

	start_engine(0);
	cr_assert(fkern.intercept, "an active engine installs the interception");
	register_from(5060, "reg-1");
	cr_assert_eq(count_bindings(), 1);
	cr_assert_eq(ftp.n_sends, 1);
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_SERVER);
	{
		struct sp_endpoint server = ep(SERVER, 5060);

		cr_assert(sp_endpoint_equal(&s->to, &server), "sent to the strategy's server");
	}
	cr_assert_str_eq(inet_ntop(AF_INET, &s->conn->local.addr.v4, cc, sizeof(cc)), C_ADDR);
	cr_assert_geq(s->conn->local.port, SP_SIGNALING_PORT_FIRST);
	cr_assert_leq(s->conn->local.port, SP_SIGNALING_PORT_LAST);
	snprintf(cc, sizeof(cc), C_ADDR ":%u", s->conn->local.port);
	header(s->data, "Via:", line, sizeof(line));
	cr_assert(strstr(line, cc), "Via names C:c (%s): %s", cc, line);
	header(s->data, "Contact:", line, sizeof(line));
	cr_assert(strstr(line, cc), "Contact names C:c (%s): %s", cc, line);
	cr_assert_null(strstr(s->data, TERMINAL), "the terminal's address stays behind:\n%s", s->data);
	stop_engine();
}

Test(engine_pipeline, server_ok_goes_back_to_the_terminal_from_e)
{
	const struct fake_send *s;
	struct sp_endpoint terminal = ep(TERMINAL, 5060), e_addr = ep(E_ADDR, 5060);
	char line[256];

	start_engine(0);
	register_from(5060, "reg-2");
	ok_from_server(last_send());
	cr_assert_eq(ftp.n_sends, 2);
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_TERMINAL);
	cr_assert(sp_endpoint_equal(&s->to, &terminal), "to the terminal");
	cr_assert(sp_endpoint_same_addr(&s->from, &e_addr), "from E, the address it sent to");
	cr_assert_eq(strncmp(s->data, "SIP/2.0 200 OK\r\n", 16), 0, "%s", s->data);
	header(s->data, "Via:", line, sizeof(line));
	cr_assert(strstr(line, TERMINAL ":5060"), "the terminal's own Via on top: %s", line);
	header(s->data, "Contact:", line, sizeof(line));
	cr_assert(strstr(line, TERMINAL ":5060"), "the terminal's own Contact: %s", line);
	cr_assert_eq(sp_engine_stats(en)->proxied, 1);
	cr_assert_eq(sp_engine_stats(en)->to_terminals, 1);
	stop_engine();
}

Test(engine_pipeline, expiry_removes_the_binding_and_closes_its_socket)
{
	struct sp_transport_conn *c;

	start_engine(0);
	register_from(5060, "reg-3");
	c = last_send()->conn;
	ok_from_server(last_send());
	cr_assert_eq(count_bindings(), 1);
	cr_assert(((struct fake_conn *)c)->open);
	/* far past registration, grace and idle time: what the timer does */
	sp_table_expire(sp_engine_sync_table(en), sp_loop_now_ms() + 24ull * 3600 * 1000);
	cr_assert_eq(count_bindings(), 0);
	cr_assert_not(((struct fake_conn *)c)->open, "the binding's C:c socket is closed");
	stop_engine();
}

Test(engine_pipeline, a_source_over_its_binding_limit_hears_503)
{
	const struct fake_send *s;
	struct sp_endpoint second = ep(TERMINAL, 5062);

	start_engine(1);
	register_from(5060, "reg-4");
	cr_assert_eq(ftp.n_sends, 1);
	register_from(5062, "reg-5"); /* same source address, a second binding */
	cr_assert_eq(count_bindings(), 1);
	cr_assert_eq(ftp.n_sends, 2);
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_TERMINAL, "answered, not forwarded");
	cr_assert(sp_endpoint_equal(&s->to, &second));
	cr_assert_eq(strncmp(s->data, "SIP/2.0 503 ", 12), 0, "%s", s->data);
	cr_assert_not_null(strstr(s->data, "Retry-After:"), "%s", s->data);
	cr_assert_eq(sp_engine_stats(en)->source_bindings, 1);
	stop_engine();
}

Test(engine_pipeline, standby_removes_the_interception_and_stops_sending)
{
	struct sp_error e = { "" };
	const struct fake_send *req;
	unsigned sends;

	start_engine(0);
	register_from(5060, "reg-6");
	req = last_send();
	cr_assert_eq(sp_engine_set_active(en, false, &e), 0, "%s", e.msg);
	cr_assert_not(sp_engine_is_active(en));
	cr_assert_not(fkern.intercept, "a standby has no interception");
	cr_assert_not(((struct fake_conn *)req->conn)->open, "nor binding sockets");
	cr_assert_eq(count_bindings(), 1, "the table is kept for a takeover");
	sends = ftp.n_sends;
	/* what was in flight towards the listener before the rules went */
	register_from(5060, "reg-7");
	cr_assert_eq(ftp.n_sends, sends, "a standby sends nothing");
	cr_assert_eq(sp_engine_set_active(en, true, &e), 0, "%s", e.msg);
	cr_assert(fkern.intercept, "active again: the interception is back");
	stop_engine();
}

/* ---- an interface's install state (issue 16 item 5) ---- */

static const struct sp_status_item *if_status(const char *name)
{
	return sp_status_get(daemon_ctx.status, SP_STATUS_INTERFACE, name, 0);
}

Test(engine_pipeline, an_interface_is_installed_while_its_link_exists)
{
	struct sp_config *c;
	struct sp_interface *i;
	struct sp_error e = { "" };

	start_engine(0);
	c = sp_config_dup(sp_config_store_current(daemon_ctx.config));
	cr_assert_not_null(c);
	i = sp_config_interface_get(c, "eth9", &e);
	cr_assert_not_null(i, "%s", e.msg);
	i->vpn_id = 7;
	i->side = SP_SIDE_TERMINAL;
	cr_assert_eq(sp_config_store_commit(daemon_ctx.config, c, NULL, &e), 0, "%s", e.msg);
	cr_assert_not_null(if_status("eth9"), "the engine says what it made of eth9");
	cr_assert_not(if_status("eth9")->installed, "eth9 does not exist yet");
	cr_assert_str_eq(if_status("eth9")->reason, "interface eth9 not found");

	/* the link appears: the link watch re-applies */
	snprintf(fkern.links[0].ifname, sizeof(fkern.links[0].ifname), "eth9");
	fkern.links[0].ifindex = 9;
	fkern.n_links = 1;
	cr_assert_not_null(fkern.links_changed);
	fkern.links_changed(fkern.links_arg);
	cr_assert(if_status("eth9")->installed, "%s", if_status("eth9")->reason);

	/* and goes */
	fkern.n_links = 0;
	fkern.links_changed(fkern.links_arg);
	cr_assert_not(if_status("eth9")->installed);
	cr_assert_str_eq(if_status("eth9")->reason, "interface eth9 not found");
	stop_engine();
}

static void add_link(const char *name)
{
	struct sp_link_info *l = &fkern.links[fkern.n_links++];

	snprintf(l->ifname, sizeof(l->ifname), "%s", name);
	l->ifindex = (int)fkern.n_links + 1;
}

Test(engine_pipeline, a_terminal_side_interface_without_the_tagger_it_needs_says_why)
{
	struct sp_config *c;
	struct sp_interface *i;
	struct sp_error e = { "" };

	start_engine(0);
	add_link("eth1");
	add_link("eth2");
	fkern.tagger_why = "tc-BPF tagger not attached: eth1: Operation not permitted";
	c = sp_config_dup(sp_config_store_current(daemon_ctx.config));
	cr_assert_not_null(c);
	c->strategies[0].match |= SP_MATCH_VLAN; /* a tag only the tagger can read here */
	c->strategies[0].vlan = 42;
	i = sp_config_interface_get(c, "eth1", &e);
	cr_assert_not_null(i, "%s", e.msg);
	i->side = SP_SIDE_TERMINAL;
	i = sp_config_interface_get(c, "eth2", &e);
	cr_assert_not_null(i, "%s", e.msg);
	i->side = SP_SIDE_SERVER;
	cr_assert_eq(sp_config_store_commit(daemon_ctx.config, c, NULL, &e), 0, "%s", e.msg);
	cr_assert_not(if_status("eth1")->installed, "the tagger eth1 needs is not there");
	cr_assert_str_eq(if_status("eth1")->reason, fkern.tagger_why);
	cr_assert(if_status("eth2")->installed, "the server side needs no tagger: %s",
		  if_status("eth2")->reason);
	stop_engine();
}

/* ---- through the protocol table ---- */

Test(engine_pipeline, the_engine_reaches_sip_only_through_the_protocol_table)
{
	start_engine(0);
	register_from(5060, "reg-8");
	cr_assert_eq(spy.inspect, 1);
	cr_assert_eq(spy.keys, 1, "the binding's keys from the terminal's message");
	cr_assert_eq(spy.to_server, 1);
	cr_assert_eq(spy.track, 1);
	ok_from_server(last_send());
	cr_assert_eq(ftp.n_sends, 2, "the 200 OK reached the terminal");
	cr_assert_eq(spy.inspect, 2);
	cr_assert_eq(spy.came_through, 1, "the server's response matched against C:c");
	cr_assert_eq(spy.to_terminal, 1);
	cr_assert_eq(spy.track, 2);
	cr_assert_eq(spy.lifetime, 1, "a REGISTER 2xx: the binding's lifetime from the protocol");
	cr_assert_eq(spy.release, spy.inspect, "every inspected message released");
	cr_assert_eq(spy.refuse, 0);
	deliver(listener(), &(struct sp_endpoint){ 0 }, "\r\n\r\n");
	cr_assert_gt(spy.keepalive, 0, "keep-alives are the protocol's to recognise");
	stop_engine();
}

/* A STUN Binding request on the SIP port (RFC 5626 §4.4.2): the engine
 * knows no STUN; the protocol's probe recognises and answers it, the
 * engine sends the answer back as E and counts it. */
Test(engine_pipeline, a_probe_on_the_signalling_port_is_the_protocols_to_answer)
{
	static const unsigned char req[SP_STUN_HEADER_LEN] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	};
	struct sp_endpoint t = ep(TERMINAL, 5062), mapped;
	struct sp_transport_msg m = { .conn = NULL, .source = t, .data = (char *)req, .len = sizeof(req) };
	const struct fake_send *s;

	start_engine(0);
	m.conn = listener();
	m.orig_dst = ep(E_ADDR, 5060);
	m.mark = SP_MARK_TPROXY | 1u << SP_MARK_STRATEGY_SHIFT;
	ftp.tp.h.before_batch(ftp.tp.h.arg, SP_TRANSPORT_TERMINAL);
	ftp.tp.h.received(ftp.tp.h.arg, &m);
	ftp.tp.h.wake_done(ftp.tp.h.arg);
	cr_assert_eq(spy.probe, 1, "the protocol is asked what the datagram is");
	cr_assert_eq(spy.inspect, 0, "a probe is not inspected as a message");
	cr_assert_eq(ftp.n_sends, 1, "the probe is answered");
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_TERMINAL, "answered towards the terminal");
	cr_assert(sp_endpoint_equal(&s->to, &t));
	cr_assert_eq(sp_stun_mapped_address(s->data, s->len, &mapped), 0);
	cr_assert(sp_endpoint_equal(&mapped, &t), "the answer gives the terminal its own address");
	cr_assert_eq(sp_engine_stats(en)->probes_answered, 1);
	cr_assert_eq(sp_engine_stats(en)->probe_errors, 0);
	register_from(5060, "reg-probe");
	cr_assert_eq(spy.probe, 2, "every datagram from a terminal is asked about");
	cr_assert_eq(spy.inspect, 1, "a message that is no probe goes on to inspect");
	stop_engine();
}

/* A request from the terminal with the given method, Call-ID, CSeq and
 * To-tag ("" for none), delivered. */
static void request_from(const char *method, const char *call_id, unsigned cseq, const char *to_tag,
			 const char *max_forwards)
{
	char msg[1024];
	struct sp_endpoint t = ep(TERMINAL, 5060);

	snprintf(msg, sizeof(msg),
		 "%s sip:bob@" E_ADDR " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP " TERMINAL ":5060;branch=z9hG4bK-%s-%u\r\n"
		 "Max-Forwards: %s\r\n"
		 "From: <sip:alice@" E_ADDR ">;tag=t1\r\n"
		 "To: <sip:bob@" E_ADDR ">%s%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:alice@" TERMINAL ":5060>\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, method, cseq, max_forwards, to_tag[0] ? ";tag=" : "", to_tag, call_id, cseq,
		 method);
	deliver(listener(), &t, msg);
}

/* The server's final answer to the request it was sent last (no Contact). */
static void answer_from_server(const char *status_line)
{
	const struct fake_send *req = last_send();
	char msg[2048], via[256], from[256], to[256], callid[256], cseq[256];
	struct sp_endpoint server = ep(SERVER, 5060);

	cr_assert_eq(req->conn->side, SP_TRANSPORT_SERVER, "the last send went to the server");
	header(req->data, "Via:", via, sizeof(via));
	header(req->data, "From:", from, sizeof(from));
	header(req->data, "To:", to, sizeof(to));
	header(req->data, "Call-ID:", callid, sizeof(callid));
	header(req->data, "CSeq:", cseq, sizeof(cseq));
	snprintf(msg, sizeof(msg), "SIP/2.0 %s\r\n%s\r\n%s\r\n%s%s\r\n%s\r\n%s\r\n"
		 "Contact: <sip:bob@" SERVER ":5060>\r\nContent-Length: 0\r\n\r\n",
		 status_line, via, from, to, strstr(to, "tag=") ? "" : ";tag=srv", callid, cseq);
	deliver(req->conn, &server, msg);
}

static unsigned count_dialogs(void)
{
	unsigned n = 0;
	struct sp_table *t = sp_engine_sync_table(en);

	for (struct sp_dialog *d = sp_dialog_first(t); d; d = sp_dialog_next(t, d))
		n++;
	return n;
}

Test(engine_pipeline, a_call_is_tracked_by_the_protocol_from_invite_to_the_answer_of_bye)
{
	struct sp_table *t;

	start_engine(0);
	t = sp_engine_sync_table(en);
	request_from("INVITE", "call-1", 1, "", "70");
	cr_assert_eq(count_dialogs(), 1, "an initial INVITE opens a dialog");
	cr_assert_eq(sp_dialog_first(t)->state, SP_DIALOG_EARLY);
	answer_from_server("200 OK");
	cr_assert_eq(last_send()->conn->side, SP_TRANSPORT_TERMINAL, "the 200 OK reached the terminal");
	cr_assert_eq(sp_dialog_first(t)->state, SP_DIALOG_CONFIRMED);
	cr_assert_str_eq(sp_dialog_first(t)->to_tag, "srv");
	request_from("BYE", "call-1", 2, "srv", "70");
	cr_assert_eq(sp_dialog_first(t)->state, SP_DIALOG_TERMINATING);
	answer_from_server("200 OK");
	cr_assert_eq(count_dialogs(), 0, "the answer of BYE ends the dialog");
	cr_assert_eq(spy.track, 4);
	cr_assert_eq(spy.release, spy.inspect);
	stop_engine();
}

Test(engine_pipeline, a_session_the_protocol_refuses_is_answered_with_its_refusal)
{
	const struct fake_send *s;

	start_engine(0);
	spy.over_limit = true;
	request_from("INVITE", "call-2", 1, "", "70");
	cr_assert_eq(ftp.n_sends, 1);
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_TERMINAL, "answered, not forwarded");
	cr_assert_eq(spy.refuse, 1);
	cr_assert_eq(spy.last_refusal, SP_PROTO_UNAVAILABLE);
	cr_assert_eq(strncmp(s->data, "SIP/2.0 503 ", 12), 0, "%s", s->data);
	cr_assert_not_null(strstr(s->data, "Retry-After:"), "%s", s->data);
	cr_assert_eq(sp_engine_stats(en)->session_limit, 1);
	cr_assert_eq(count_dialogs(), 0);
	stop_engine();
}

Test(engine_pipeline, a_request_out_of_hops_hears_483_and_takes_no_binding)
{
	const struct fake_send *s;

	start_engine(0);
	request_from("OPTIONS", "opt-1", 1, "", "0");
	cr_assert_eq(count_bindings(), 0, "a request that goes nowhere takes no port");
	cr_assert_eq(ftp.n_sends, 1);
	s = last_send();
	cr_assert_eq(s->conn->side, SP_TRANSPORT_TERMINAL);
	cr_assert_eq(spy.last_refusal, SP_PROTO_TOO_MANY_HOPS);
	cr_assert_eq(strncmp(s->data, "SIP/2.0 483 ", 12), 0, "%s", s->data);
	cr_assert_eq(sp_engine_stats(en)->too_many_hops, 1);
	stop_engine();
}
