/*
 * SIP message inspection (libosip2) and in-place address rewriting.
 *
 * libosip2 parses and validates the message and gives the values the engine
 * keys on. It cannot rewrite, though: it keeps no byte offsets, and
 * osip_message_to_str() re-serialises the whole message, reordering and
 * reformatting headers, while the proxy must keep every byte it does not
 * change (SPEC §2.3, as the kernel SIP helper and Kamailio do). So a small
 * hand-written scanner below finds the byte spans of the few fields the
 * proxy rewrites (start line, header lines with folding and compact names,
 * comma-separated values, name-addr/addr-spec, Via sent-by and params) and
 * the rewriter splices them into the caller's buffer. The scanner also
 * checks the syntax it relies on, and since issue 21 the values the engine
 * keys on are read from its spans too (sp_sip_fields.c): libosip2's tree
 * cost half of the daemon's instructions per call. libosip2 still splits a
 * multipart body (inspect then cross-checks its reading against the scan's,
 * so a message both do not agree on is refused rather than half rewritten)
 * and gives tests its tree (sp_sip_osip()).
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

#include "sp_log.h"
#include "sp_sip.h"
#include "sp_sip_int.h"

/* ---- the parse arena ----
 *
 * libosip2 builds its tree from a few dozen small mallocs per message and
 * frees them one by one (bench/RESULTS.md: malloc/free were ~16 % of the
 * daemon's instructions per call). Its allocator hooks point at a per-thread
 * bump arena while sp_sip_inspect() parses: allocation is a pointer bump,
 * free a no-op, and the whole arena is reset once no inspected message of
 * the thread is alive, without walking the tree. Whatever does not fit
 * (a huge message) comes from malloc and is freed through the tree as
 * before. Outside the parse, the hooks pass through to malloc/free, so
 * libosip2 used elsewhere (other threads, tests) is unaffected.
 */

#define SP_SIP_ARENA_SIZE (256 * 1024)
#define SP_SIP_ARENA_ALIGN 16

struct sp_sip_arena {
	char *base;             /* SP_SIP_ARENA_SIZE bytes, allocated on first use */
	size_t used;
	unsigned live;          /* messages whose tree is in the arena */
	bool active;            /* allocating from it: inside a parse */
	bool spilled;           /* a block of a live tree came from malloc */
};

static __thread struct sp_sip_arena arena;
static pthread_key_t arena_key; /* frees a thread's arena when it exits */

static bool arena_owns(const void *p)
{
	return arena.base && (const char *)p >= arena.base &&
	       (const char *)p < arena.base + SP_SIP_ARENA_SIZE;
}

/* Each block is preceded by its size, for realloc. */
static void *arena_malloc(size_t size)
{
	size_t need = (SP_SIP_ARENA_ALIGN + size + SP_SIP_ARENA_ALIGN - 1) & ~(size_t)(SP_SIP_ARENA_ALIGN - 1);
	char *p;

	if (!arena.active || size > SP_SIP_ARENA_SIZE || need > SP_SIP_ARENA_SIZE - arena.used) {
		if (arena.active)
			arena.spilled = true;
		return malloc(size);
	}
	p = arena.base + arena.used;
	arena.used += need;
	ASAN_UNPOISON_MEMORY_REGION(p, need);
	memcpy(p, &size, sizeof(size));
	return p + SP_SIP_ARENA_ALIGN;
}

static void arena_free(void *p)
{
	if (!arena_owns(p))
		free(p);
}

static void *arena_realloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (!p)
		return arena_malloc(size);
	if (!arena_owns(p))
		return realloc(p, size);
	memcpy(&old, (char *)p - SP_SIP_ARENA_ALIGN, sizeof(old));
	n = arena_malloc(size);
	if (n)
		memcpy(n, p, old < size ? old : size);
	return n;
}

static void arena_thread_exit(void *base)
{
	free(base);
}

/* Before a parse (without an arena, libosip2 gets plain malloc). */
static void arena_begin(struct sp_sip_msg *msg)
{
	if (!arena.base) {
		arena.base = malloc(SP_SIP_ARENA_SIZE);
		if (!arena.base)
			return;
		pthread_setspecific(arena_key, arena.base);
		ASAN_POISON_MEMORY_REGION(arena.base, SP_SIP_ARENA_SIZE);
	}
	arena.live++;
	arena.active = true;
	msg->in_arena = true;
}

static void arena_end_parse(void)
{
	arena.active = false;
}

/* A message's tree goes: true when libosip2 must still free it (blocks
 * from malloc in it, or the message was not parsed in the arena). */
static bool arena_release(struct sp_sip_msg *msg)
{
	bool walk = !msg->in_arena || arena.spilled;

	if (!msg->in_arena)
		return true;
	msg->in_arena = false;
	if (--arena.live == 0) {
		ASAN_POISON_MEMORY_REGION(arena.base, arena.used);
		arena.used = 0;
		arena.spilled = false;
	}
	return walk;
}

/* ---- inspect ---- */

static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

/* libosip2 prints its complaints to stderr; a refused datagram is routine
 * for a proxy (counted by the engine), so they go to the debug log. */
static void osip_trace_to_log(const char *file, int line, osip_trace_level_t level,
			      const char *fmt, va_list ap)
{
	char text[256];
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	if (n && text[n - 1] == '\n')
		text[n - 1] = '\0';
	{
		char esc[SP_LOG_ESCAPED_MAX]; /* libosip2 quotes what it parsed */

		sp_debug("libosip2 (%s:%d, level %d): %s", file, line, (int)level,
			 sp_log_escape(text, esc, sizeof(esc)));
	}
}

static void parser_init_once(void)
{
	osip_trace_initialize_func(OSIP_WARNING, osip_trace_to_log);
	parser_init();
	if (pthread_key_create(&arena_key, arena_thread_exit) == 0)
		osip_set_allocators(arena_malloc, arena_realloc, arena_free);
}

void sp_sip_global_init(void)
{
	pthread_once(&parser_once, parser_init_once);
}

static const char *const method_names[] = {
	[SP_SIP_UNKNOWN] = "", [SP_SIP_INVITE] = "INVITE", [SP_SIP_ACK] = "ACK",
	[SP_SIP_BYE] = "BYE", [SP_SIP_CANCEL] = "CANCEL",
	[SP_SIP_REGISTER] = "REGISTER", [SP_SIP_OPTIONS] = "OPTIONS",
	[SP_SIP_PRACK] = "PRACK", [SP_SIP_UPDATE] = "UPDATE",
	[SP_SIP_SUBSCRIBE] = "SUBSCRIBE", [SP_SIP_NOTIFY] = "NOTIFY",
	[SP_SIP_REFER] = "REFER", [SP_SIP_MESSAGE] = "MESSAGE",
	[SP_SIP_INFO] = "INFO", [SP_SIP_PUBLISH] = "PUBLISH",
};

const char *sp_sip_method_name(enum sp_sip_method method)
{
	if ((unsigned)method >= sizeof(method_names) / sizeof(method_names[0]))
		return "";
	return method_names[method];
}

/* Method names are case-sensitive (RFC 3261 §7.1). */
enum sp_sip_method sp_sip_method_from_name(const char *name)
{
	for (unsigned i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (strcmp(name, method_names[i]) == 0)
			return (enum sp_sip_method)i;
	return SP_SIP_UNKNOWN;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return false;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return true;
}

/* Host without IPv6 brackets, as the engine wants it for inet_pton(). */
static bool copy_host(char *dst, const char *src)
{
	size_t n;

	if (!src)
		src = "";
	n = strlen(src);
	if (n >= 2 && src[0] == '[' && src[n - 1] == ']') {
		src++;
		n -= 2;
	}
	if (n >= SP_SIP_HOST_MAX)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

/* A NUL-terminated number: the scanner's span_u32 over the whole string. */
static bool parse_u32(const char *s, uint32_t max, uint32_t *v, bool clamp)
{
	return s && span_u32(s, s + strlen(s), max, v, clamp);
}

static bool opt_port(const char *s, uint16_t *port)
{
	const char *e = s ? s + strlen(s) : NULL;

	*port = 0;
	if (!s)
		return true;
	/* libosip2 leaves the white space of "sip:h:5060 ;p" in the port when
	 * the parameters are on a folded line: SWS before ';' is allowed */
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	return parse_port(s, e, port);
}

/* Same host (case-insensitive, brackets ignored)? */
bool sip_host_eq(const char *hs, const char *he, const char *want)
{
	size_t wn = strlen(want);

	if (he - hs >= 2 && *hs == '[' && he[-1] == ']') {
		hs++;
		he--;
	}
	if (wn >= 2 && want[0] == '[' && want[wn - 1] == ']') {
		want++;
		wn -= 2;
	}
	return (size_t)(he - hs) == wn && strncasecmp(hs, want, wn) == 0;
}

/* The top Via: sent-by, branch, received, rport. */
static int extract_via(struct sp_sip_msg *msg, osip_via_t *via, const struct scan *sc)
{
	struct sp_sip_info *in = &msg->info;
	osip_generic_param_t *param = NULL;

	if (!copy_host(in->via.host, via->host))
		return fail(&msg->reason, "Via host too long", SP_SIP_E_TOOLONG);
	in->via.port = sc->top_via.hp.has_port ? sc->top_via.hp.port : 0;
	if (osip_via_param_get_byname(via, "branch", &param) == 0 && param &&
	    !copy_str(in->via_branch, sizeof(in->via_branch), param->gvalue))
		return fail(&msg->reason, "branch too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_via_param_get_byname(via, "received", &param) == 0 && param &&
	    !copy_host(in->via_received, param->gvalue))
		return fail(&msg->reason, "received too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_via_param_get_byname(via, "rport", &param) == 0 && param) {
		in->via_rport = true;
		if (!opt_port(param->gvalue, &in->via_rport_value))
			return fail(&msg->reason, "bad rport", SP_SIP_E_PARSE);
	}
	return SP_SIP_OK;
}

/* Call-ID (number@host) and the From and To tags. */
static int extract_ids(struct sp_sip_msg *msg)
{
	osip_message_t *sip = msg->osip;
	struct sp_sip_info *in = &msg->info;
	osip_generic_param_t *param = NULL;

	if (sip->call_id->host) {
		size_t nn = strlen(sip->call_id->number), hn = strlen(sip->call_id->host);

		if (nn + 1 + hn >= sizeof(in->call_id))
			return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
		memcpy(in->call_id, sip->call_id->number, nn);
		in->call_id[nn] = '@';
		memcpy(in->call_id + nn + 1, sip->call_id->host, hn + 1);
	} else if (!copy_str(in->call_id, sizeof(in->call_id), sip->call_id->number)) {
		return fail(&msg->reason, "Call-ID too long", SP_SIP_E_TOOLONG);
	}
	if (osip_from_get_tag(sip->from, &param) == 0 && param &&
	    !copy_str(in->from_tag, sizeof(in->from_tag), param->gvalue))
		return fail(&msg->reason, "From tag too long", SP_SIP_E_TOOLONG);
	param = NULL;
	if (osip_to_get_tag(sip->to, &param) == 0 && param &&
	    !copy_str(in->to_tag, sizeof(in->to_tag), param->gvalue))
		return fail(&msg->reason, "To tag too long", SP_SIP_E_TOOLONG);
	return SP_SIP_OK;
}

/* The first Contact (or *) and the lifetime it is given: its expires
 * param, else the Expires header. */
static int extract_contact(struct sp_sip_msg *msg, const struct scan *sc)
{
	osip_message_t *sip = msg->osip;
	struct sp_sip_info *in = &msg->info;
	osip_contact_t *contact;
	osip_generic_param_t *param = NULL;
	osip_header_t *exp_hdr = NULL;
	uint32_t v32;

	in->expires = -1;
	in->n_contacts = sc->n_contact;
	contact = osip_list_get(&sip->contacts, 0);
	if (contact && !contact->url && contact->displayname &&
	    strcmp(contact->displayname, "*") == 0) {
		in->contact_star = true;
	} else if (contact && contact->url) {
		if (!copy_host(in->contact.host, contact->url->host))
			return fail(&msg->reason, "Contact host too long", SP_SIP_E_TOOLONG);
		if (!opt_port(contact->url->port, &in->contact.port))
			return fail(&msg->reason, "bad Contact port", SP_SIP_E_PARSE);
		param = NULL;
		/* delta-seconds above 2**32-1 mean 2**32-1 (RFC 3261 §25.1) */
		if (osip_contact_param_get_byname(contact, "expires", &param) == 0 &&
		    param && parse_u32(param->gvalue, 0xffffffffu, &v32, true))
			in->expires = v32;
	}
	if (in->expires < 0 && osip_message_get_expires(sip, 0, &exp_hdr) >= 0 &&
	    exp_hdr && parse_u32(exp_hdr->hvalue, 0xffffffffu, &v32, true))
		in->expires = v32;
	return SP_SIP_OK;
}

static int extract(struct sp_sip_msg *msg, const struct scan *sc)
{
	osip_message_t *sip = msg->osip;
	struct sp_sip_info *in = &msg->info;
	osip_via_t *via = osip_list_get(&sip->vias, 0);
	int err;

	if (!via || !via->host)
		return fail(&msg->reason, "no Via", SP_SIP_E_MISSING);
	if (!sip->from)
		return fail(&msg->reason, "no From", SP_SIP_E_MISSING);
	if (!sip->to)
		return fail(&msg->reason, "no To", SP_SIP_E_MISSING);
	if (!sip->call_id || !sip->call_id->number)
		return fail(&msg->reason, "no Call-ID", SP_SIP_E_MISSING);
	if (!sip->cseq || !sip->cseq->number || !sip->cseq->method)
		return fail(&msg->reason, "no CSeq", SP_SIP_E_MISSING);

	/* The scanner and libosip2 must read the same lists, or a splice
	 * could land somewhere libosip2 did not validate. */
	if ((unsigned)osip_list_size(&sip->vias) != sc->n_via ||
	    (unsigned)osip_list_size(&sip->contacts) != sc->n_contact ||
	    (unsigned)osip_list_size(&sip->routes) != sc->n_route ||
	    (unsigned)osip_list_size(&sip->record_routes) != sc->n_rr ||
	    !sip_host_eq(sc->top_via.hp.hs, sc->top_via.hp.he, via->host))
		return fail(&msg->reason, "header lists ambiguous", SP_SIP_E_PARSE);

	in->is_request = MSG_IS_REQUEST(sip);
	if (in->is_request) {
		if (!copy_str(in->method_name, sizeof(in->method_name), sip->sip_method))
			return fail(&msg->reason, "method too long", SP_SIP_E_TOOLONG);
		in->method = sp_sip_method_from_name(in->method_name);
		if (strcmp(sip->sip_method, sip->cseq->method) != 0)
			return fail(&msg->reason, "CSeq method mismatch", SP_SIP_E_PARSE);
		if (sc->ruri_sip) {
			if (!sip->req_uri || !sip->req_uri->host ||
			    !sip_host_eq(sc->ruri.hs, sc->ruri.he, sip->req_uri->host))
				return fail(&msg->reason, "Request-URI ambiguous", SP_SIP_E_PARSE);
			if (!copy_host(in->ruri.host, sip->req_uri->host))
				return fail(&msg->reason, "Request-URI host too long", SP_SIP_E_TOOLONG);
			in->ruri.port = sc->ruri.has_port ? sc->ruri.port : 0;
		}
	} else {
		in->status = sip->status_code;
	}
	if (!copy_str(in->cseq_method_name, sizeof(in->cseq_method_name), sip->cseq->method))
		return fail(&msg->reason, "CSeq method too long", SP_SIP_E_TOOLONG);
	in->cseq_method = sp_sip_method_from_name(in->cseq_method_name);
	/* RFC 3261 §8.1.1.5: the sequence number is below 2**31. */
	if (!parse_u32(sip->cseq->number, 0x7fffffffu, &in->cseq, false))
		return fail(&msg->reason, "bad CSeq number", SP_SIP_E_PARSE);

	err = extract_via(msg, via, sc);
	if (err)
		return err;

	err = extract_ids(msg);
	if (err)
		return err;

	err = extract_contact(msg, sc);
	if (err)
		return err;

	in->max_forwards = in->is_request ? sc->max_forwards : -1;
	in->body_offset = (size_t)(sc->body - msg->buf);
	in->body_len = sc->clen_present ? sc->clen : msg->len - in->body_offset;
	in->body_is_sdp = in->body_len > 0 && sip->content_type &&
			  sip->content_type->type && sip->content_type->subtype &&
			  strcasecmp(sip->content_type->type, "application") == 0 &&
			  strcasecmp(sip->content_type->subtype, "sdp") == 0;
	return SP_SIP_OK;
}

/* libosip2's tree of msg->buf, in the parse arena. */
static int osip_parse(struct sp_sip_msg *msg)
{
	int err;

	arena_begin(msg);
	if (osip_message_init(&msg->osip) != 0) {
		arena_end_parse();
		return fail(&msg->reason, "out of memory", SP_SIP_E_NOMEM);
	}
	err = osip_message_parse(msg->osip, msg->buf, msg->len);
	arena_end_parse();
	if (err != 0)
		return fail(&msg->reason, "refused by libosip2", SP_SIP_E_PARSE);
	return SP_SIP_OK;
}

static int inspect(struct sp_sip_msg *msg, const char *buf, size_t len, bool with_osip)
{
	struct scan sc;
	int err;

	memset(msg, 0, sizeof(*msg));
	if (!buf || len == 0 || len > SP_SIP_MAX_MSG)
		return fail(&msg->reason, "empty or oversized datagram", SP_SIP_E_ARG);
	msg->buf = buf;
	msg->len = len;
	err = sip_scan_message(buf, len, &sc, &msg->reason, msg);
	if (err)
		return err;
	/* Bytes past Content-Length are not part of the message (RFC 3261
	 * §18.3): libosip2 must not see them either (it would for multipart),
	 * since the rewrite drops them. */
	if (sc.clen_present)
		msg->len = (size_t)(sc.body - buf) + sc.clen;
	/* The values come from the scan (sp_sip_fields.c); a multipart body
	 * is split by libosip2, whose reading must then agree with the scan. */
	if (sc.multipart || with_osip) {
		err = osip_parse(msg);
		if (!err)
			err = extract(msg, &sc);
	} else {
		err = sip_extract_fields(msg, &sc);
	}
	if (err) {
		const char *why = msg->reason;

		sp_sip_msg_free(msg);
		msg->reason = why;
		return err;
	}
	msg->inspected = true;
	return SP_SIP_OK;
}

int sp_sip_inspect(struct sp_sip_msg *msg, const char *buf, size_t len)
{
	return inspect(msg, buf, len, false);
}

int sip_inspect_with_osip(struct sp_sip_msg *msg, const char *buf, size_t len)
{
	return inspect(msg, buf, len, true);
}

struct osip_message *sp_sip_osip(struct sp_sip_msg *msg)
{
	if (!msg->inspected)
		return NULL;
	if (!msg->osip && osip_parse(msg) != SP_SIP_OK) {
		bool walk = arena_release(msg);

		if (msg->osip && walk)
			osip_message_free(msg->osip);
		msg->osip = NULL;
	}
	return msg->osip;
}

void sp_sip_msg_free(struct sp_sip_msg *msg)
{
	bool walk = arena_release(msg);

	if (msg->osip && walk)
		osip_message_free(msg->osip);
	msg->osip = NULL;
	msg->inspected = false;
}

int sp_sip_contact_expires(const struct sp_sip_msg *msg, const char *host, uint16_t port,
			   int64_t *expires)
{
	*expires = -1;
	if (!msg->inspected || !host)
		return 0;
	return sip_contact_expires(msg, host, port, expires);
}

const char *sp_sip_strerror(int err)
{
	switch (err) {
	case SP_SIP_OK:
		return "success";
	case SP_SIP_E_ARG:
		return "invalid argument";
	case SP_SIP_E_PARSE:
		return "malformed SIP message";
	case SP_SIP_E_MISSING:
		return "mandatory header missing";
	case SP_SIP_E_LENGTH:
		return "bad Content-Length";
	case SP_SIP_E_TOOLONG:
		return "field too long";
	case SP_SIP_E_NOMEM:
		return "out of memory";
	case SP_SIP_E_NOSPACE:
		return "output buffer too small";
	case SP_SIP_E_REWRITE:
		return "cannot rewrite safely";
	case SP_SIP_E_MEDIA:
		return "media port refused";
	default:
		return "unknown error";
	}
}
