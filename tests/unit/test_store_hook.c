/*
 * The session store's one change hook (sp_table_watch, issue 16 item 3):
 * every public mutator of daemon/sp_table.h announces what it changed, and
 * the store on disk receives the changes through the hook alone.
 *
 * The list of mutators is read from the header itself: a function taking a
 * non-const table, binding or dialog is a mutator, and must be driven here
 * (or be listed, with why, as changing no binding or dialog). A new mutator
 * added without a driver fails `header_mutators_are_all_driven`; one that
 * forgets the hook fails its driver.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sp_persist.h"
#include "sp_table.h"
#include "table_fixture.h"

#define SEC(s) ((uint64_t)(s) * 1000)
#define T0 SEC(1000)

/* ---- what the hook said ---- */

struct heard {
	unsigned n;
	struct sp_store_change last;
	struct sp_store_change all[16];
};

static void hear(void *arg, const struct sp_store_change *c)
{
	struct heard *h = arg;

	if (h->n < 16)
		h->all[h->n] = *c;
	h->n++;
	h->last = *c;
}

/* A table (media range 30000-39999), one binding and one dialog on it. */
struct fixture {
	struct sp_table *t;
	struct sp_binding *b;
	struct sp_dialog *d;
	struct heard h;
};

static struct sp_binding *new_binding(struct sp_table *t, const char *addr, uint16_t port)
{
	return fx_binding(t, 1, addr, port, "10.1.1.1:5060", T0);
}

static struct sp_dialog *new_dialog(struct sp_table *t, struct sp_binding *b, const char *call_id)
{
	return fx_dialog(t, b, call_id, "ft", 1, T0);
}

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->t = fx_table_with(NULL, NULL);
	f->b = new_binding(f->t, "10.1.1.1", 5060);
	f->d = new_dialog(f->t, f->b, "call-1");
	cr_assert_eq(sp_table_watch(f->t, hear, &f->h), 0);
}

/* ---- one driver per mutator: it changes something and says what the
 * hook must announce last (and how often at least) ---- */

struct expect {
	enum sp_store_kind kind;
	enum sp_store_op op;
	uint32_t id;
};

#define BINDING(op_, id_) ((struct expect){ SP_STORE_BINDING, SP_STORE_##op_, (id_) })
#define DIALOG(op_, id_) ((struct expect){ SP_STORE_DIALOG, SP_STORE_##op_, (id_) })

static struct expect drive_binding_create(struct fixture *f)
{
	return BINDING(INSERT, new_binding(f->t, "10.1.1.2", 5060)->id);
}

static struct expect drive_binding_delete(struct fixture *f)
{
	struct sp_binding *b;
	uint32_t id;

	sp_table_unwatch(f->t, hear, &f->h);
	b = new_binding(f->t, "10.1.1.2", 5060);
	sp_table_watch(f->t, hear, &f->h);
	id = b->id;
	cr_assert_eq(sp_binding_delete(f->t, b), 0);
	return BINDING(DELETE, id);
}

static struct expect drive_binding_touch(struct fixture *f)
{
	sp_binding_touch(f->t, f->b, T0 + SEC(1));
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_set_registration(struct fixture *f)
{
	sp_binding_set_registration(f->t, f->b, T0, 3600);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_deregister(struct fixture *f)
{
	sp_binding_deregister(f->t, f->b);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_set_via_sent_by(struct fixture *f)
{
	cr_assert_eq(sp_binding_set_via_sent_by(f->b, "10.1.1.1:5070"), 0);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_set_contact(struct fixture *f)
{
	cr_assert_eq(sp_binding_set_contact(f->b, "10.1.1.1:5070"), 0);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_set_return_path(struct fixture *f)
{
	struct sp_learned_path p = { .ifindex = 3, .prev_hop = fx_ep("10.1.1.254", 0) };

	sp_binding_set_return_path(f->b, &p);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_set_route(struct fixture *f)
{
	struct sp_binding_route r = { .virtual_server = f->b->virtual_server,
		.server = fx_ep("10.9.9.9", 5060), .strategy_id = 7, .origin_mark = 0x10000 };

	sp_binding_set_route(f->t, f->b, &r);
	cr_expect(sp_endpoint_equal(&f->b->server, &r.server));
	cr_expect_eq(f->b->strategy_id, 7);
	cr_expect_eq(f->b->origin_mark, 0x10000);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_binding_restore_times(struct fixture *f)
{
	sp_binding_restore_times(f->t, f->b, T0 - SEC(10), T0 - SEC(5), T0 + SEC(60));
	return BINDING(UPDATE, f->b->id);
}

/* only a stream binding is ever outbound: one made unheard */
static struct expect drive_binding_set_outbound(struct fixture *f)
{
	struct sp_binding_params p = { .vpn = 1, .transport = SP_STORE_TCP,
		.terminal = fx_ep("10.1.1.3", 5060), .server_side = fx_ep("203.0.113.1", 0) };
	struct sp_binding *b = NULL;

	sp_table_unwatch(f->t, hear, &f->h);
	cr_assert_eq(sp_binding_create(f->t, &p, T0, &b), 0);
	sp_table_watch(f->t, hear, &f->h);
	sp_binding_set_outbound(b, true);
	return BINDING(UPDATE, b->id);
}

static struct expect drive_binding_rekey(struct fixture *f)
{
	struct sp_endpoint term = fx_ep("10.1.1.9", 5060), c = f->b->server_side;

	cr_assert_eq(sp_binding_rekey(f->t, f->b, &term, &c), 0);
	return BINDING(UPDATE, f->b->id);
}

static struct expect drive_dialog_create(struct fixture *f)
{
	return DIALOG(INSERT, new_dialog(f->t, f->b, "call-2")->id);
}

static struct expect drive_dialog_delete(struct fixture *f)
{
	uint32_t id = f->d->id;

	sp_dialog_delete(f->t, f->d);
	return DIALOG(DELETE, id);
}

static struct expect drive_dialog_set_state(struct fixture *f)
{
	cr_assert_eq(sp_dialog_set_state(f->t, f->d, SP_DIALOG_CONFIRMED, T0), 0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_touch(struct fixture *f)
{
	sp_dialog_touch(f->t, f->d, T0 + SEC(1));
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_set_session_expires(struct fixture *f)
{
	sp_dialog_set_session_expires(f->t, f->d, 1800, T0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_set_to_tag(struct fixture *f)
{
	cr_assert_eq(sp_dialog_set_to_tag(f->d, "tt"), 0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_set_media_proxy(struct fixture *f)
{
	cr_assert_eq(sp_dialog_set_media_proxy(f->t, f->d, "mp1", "ft", "tt"), 0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_add_media(struct fixture *f)
{
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("192.0.2.9", 7000);
	struct sp_media_stream *ms;

	cr_assert_eq(sp_dialog_add_media(f->t, f->d, &term, &far, &ms), 0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_clear_media(struct fixture *f)
{
	struct sp_endpoint term = fx_ep("10.1.1.1", 4000), far = fx_ep("192.0.2.9", 7000);
	struct sp_media_stream *ms;

	sp_table_unwatch(f->t, hear, &f->h);
	cr_assert_eq(sp_dialog_add_media(f->t, f->d, &term, &far, &ms), 0);
	sp_table_watch(f->t, hear, &f->h);
	sp_dialog_clear_media(f->t, f->d);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_restore(struct fixture *f)
{
	struct sp_dialog_restore r = {
		.state = SP_DIALOG_CONFIRMED, .invite_cseq = 2, .created_ms = T0,
		.updated_ms = T0, .deadline_ms = T0 + SEC(100),
	};

	cr_assert_eq(sp_dialog_restore(f->t, f->d, &r), 0);
	return DIALOG(UPDATE, f->d->id);
}

static struct expect drive_dialog_set_media(struct fixture *f)
{
	struct sp_media_stream ms = {
		.terminal = fx_ep("10.1.1.1", 4000), .far = fx_ep("192.0.2.9", 7000),
		.terminal_side_port = 30000, .far_side_port = 30002,
	};

	cr_assert_eq(sp_dialog_set_media(f->t, f->d, &ms, 1), 0);
	return DIALOG(UPDATE, f->d->id);
}

/* Expiry removes the dialog, then (no dialog holds it any more, idle for
 * long enough) its binding: both announced as deletes. */
static struct expect drive_table_expire(struct fixture *f)
{
	uint32_t bid = f->b->id, did = f->d->id;

	cr_assert_eq(sp_table_expire(f->t, T0 + SEC(24 * 3600)), 2);
	cr_assert_eq(f->h.n, 2);
	cr_assert(f->h.all[0].kind == SP_STORE_DIALOG && f->h.all[0].op == SP_STORE_DELETE &&
		  f->h.all[0].id == did);
	return BINDING(DELETE, bid);
}

struct driver {
	const char *mutator;
	struct expect (*drive)(struct fixture *f);
};

static const struct driver drivers[] = {
	{ "sp_binding_create", drive_binding_create },
	{ "sp_binding_delete", drive_binding_delete },
	{ "sp_binding_touch", drive_binding_touch },
	{ "sp_binding_set_registration", drive_binding_set_registration },
	{ "sp_binding_deregister", drive_binding_deregister },
	{ "sp_binding_set_via_sent_by", drive_binding_set_via_sent_by },
	{ "sp_binding_set_contact", drive_binding_set_contact },
	{ "sp_binding_set_return_path", drive_binding_set_return_path },
	{ "sp_binding_set_route", drive_binding_set_route },
	{ "sp_binding_restore_times", drive_binding_restore_times },
	{ "sp_binding_rekey", drive_binding_rekey },
	{ "sp_binding_set_outbound", drive_binding_set_outbound },
	{ "sp_dialog_create", drive_dialog_create },
	{ "sp_dialog_delete", drive_dialog_delete },
	{ "sp_dialog_set_state", drive_dialog_set_state },
	{ "sp_dialog_touch", drive_dialog_touch },
	{ "sp_dialog_set_session_expires", drive_dialog_set_session_expires },
	{ "sp_dialog_set_to_tag", drive_dialog_set_to_tag },
	{ "sp_dialog_set_media_proxy", drive_dialog_set_media_proxy },
	{ "sp_dialog_add_media", drive_dialog_add_media },
	{ "sp_dialog_clear_media", drive_dialog_clear_media },
	{ "sp_dialog_restore", drive_dialog_restore },
	{ "sp_dialog_set_media", drive_dialog_set_media },
	{ "sp_table_expire", drive_table_expire },
};

/* Functions of the header that take a non-const table, binding or dialog
 * but change no binding or dialog of a running table. */
static const char *const not_mutators[] = {
	"sp_table_destroy",		/* frees everything: its owner is going */
	"sp_table_set_session_limit",	/* configuration */
	"sp_table_set_dialog_timeouts",	/* configuration */
	"sp_table_quarantine",		/* holds a port for no object */
	"sp_table_set_media_range",	/* configuration: the allocator's range */
	"sp_table_set_signaling_range", /* configuration: the pools' range, every c kept */
	"sp_table_media_take",		/* a media port for a message in progress, */
	"sp_table_media_release",	/* and back: no object holds it */
	"sp_table_watch",		/* the hook itself */
	"sp_table_unwatch",
};

Test(store_hook, every_mutator_announces_its_change)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		struct fixture f;
		struct expect e;

		setup(&f);
		e = drivers[i].drive(&f);
		cr_expect_geq(f.h.n, 1, "%s announced nothing", drivers[i].mutator);
		cr_expect(f.h.last.kind == e.kind && f.h.last.op == e.op && f.h.last.id == e.id,
			  "%s announced kind %d op %d id %u, not kind %d op %d id %u", drivers[i].mutator,
			  f.h.last.kind, f.h.last.op, f.h.last.id, e.kind, e.op, e.id);
		sp_table_destroy(f.t);
	}
}

/* ---- the header's mutators, read from the header ---- */

static char *read_header(void)
{
	FILE *fp = fopen(SP_TABLE_HEADER, "r");
	char *buf;
	long n;

	cr_assert_not_null(fp, "%s", SP_TABLE_HEADER);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* Declarations only: comments, preprocessor lines and brace blocks (struct
 * and enum bodies, whose function-pointer members are no mutators) become
 * blanks, runs of white space one blank. */
static void keep_declarations(char *s)
{
	char *w = s;
	int depth = 0;
	bool line_start = true;

	for (char *r = s; *r; r++) {
		if (r[0] == '/' && r[1] == '*') {
			char *end = strstr(r + 2, "*/");

			r = end ? end + 1 : r + strlen(r) - 1;
			continue;
		}
		if (line_start && *r == '#') {
			while (r[1] && r[1] != '\n')
				r++;
			continue;
		}
		line_start = *r == '\n';
		if (*r == '{')
			depth++;
		if (depth == 0 && !(w > s && w[-1] == ' ' && (*r == ' ' || *r == '\t' || *r == '\n')))
			*w++ = *r == '\t' || *r == '\n' ? ' ' : *r;
		if (*r == '}')
			depth--;
	}
	*w = '\0';
}

/* Does params take type (e.g. "struct sp_table *") other than as const? */
static bool takes_mutable(const char *params, const char *type)
{
	for (const char *p = strstr(params, type); p; p = strstr(p + 1, type))
		if (p - params < 6 || strncmp(p - 6, "const ", 6) != 0)
			return true;
	return false;
}

static bool listed(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i].mutator, name) == 0)
			return true;
	for (size_t i = 0; i < sizeof(not_mutators) / sizeof(not_mutators[0]); i++)
		if (strcmp(not_mutators[i], name) == 0)
			return true;
	return false;
}

Test(store_hook, header_mutators_are_all_driven)
{
	char *h = read_header(), *save = NULL;
	unsigned mutators = 0;

	keep_declarations(h);
	for (char *decl = strtok_r(h, ";", &save); decl; decl = strtok_r(NULL, ";", &save)) {
		char *open = strchr(decl, '('), *name, *params;

		while (*decl == ' ')
			decl++;
		if (!open || strncmp(decl, "typedef", 7) == 0)
			continue;
		params = open + 1;
		for (name = open; name > decl && name[-1] == ' '; name--)
			;
		*name = '\0';
		while (name > decl && (name[-1] == '_' || (name[-1] >= 'a' && name[-1] <= 'z') ||
				       (name[-1] >= 'A' && name[-1] <= 'Z') ||
				       (name[-1] >= '0' && name[-1] <= '9')))
			name--;
		if (!takes_mutable(params, "struct sp_table *") &&
		    !takes_mutable(params, "struct sp_binding *") &&
		    !takes_mutable(params, "struct sp_dialog *"))
			continue;
		mutators++;
		cr_expect(listed(name), "%s takes a mutable table, binding or dialog: drive it in "
			  "tests/unit/test_store_hook.c (or list it as no mutator, with why)", name);
	}
	/* the parse found what it should: the drivers and the exceptions */
	cr_expect_eq(mutators, sizeof(drivers) / sizeof(drivers[0]) +
				       sizeof(not_mutators) / sizeof(not_mutators[0]));
	free(h);
}

/* ---- setters given what is held announce nothing ---- */

Test(store_hook, no_change_no_announcement)
{
	struct fixture f;
	struct sp_learned_path same;
	struct sp_media_stream none[1];

	setup(&f);
	same = f.b->return_path;
	cr_assert_eq(sp_binding_set_via_sent_by(f.b, "10.1.1.1:5060"), 0);
	cr_assert_eq(sp_binding_set_contact(f.b, "10.1.1.1:5060"), 0);
	sp_binding_set_return_path(f.b, &same);
	sp_binding_set_outbound(f.b, false);
	sp_binding_set_outbound(f.b, true); /* UDP: never outbound */
	sp_binding_set_route(f.t, f.b, &(struct sp_binding_route){ f.b->virtual_server,
			     f.b->server, f.b->strategy_id, f.b->origin_mark });
	cr_assert_eq(sp_dialog_set_to_tag(f.d, ""), 0);
	cr_assert_eq(sp_dialog_set_media_proxy(f.t, f.d, "", "x", "y"), 0);
	cr_assert_eq(sp_dialog_set_media(f.t, f.d, none, 0), 0);
	sp_dialog_clear_media(f.t, f.d);
	cr_expect_eq(f.h.n, 0);
	/* a refused change is none either */
	cr_assert_eq(sp_dialog_set_state(f.t, f.d, SP_DIALOG_CONFIRMED, T0), 0);
	cr_assert_eq(sp_dialog_set_state(f.t, f.d, SP_DIALOG_EARLY, T0), -EINVAL);
	cr_expect_eq(f.h.n, 1);
	sp_table_destroy(f.t);
}

Test(store_hook, watchers_in_order_and_unwatch)
{
	struct fixture f;
	struct heard second = { 0 };

	setup(&f);
	cr_assert_eq(sp_table_watch(f.t, hear, &second), 0);
	sp_binding_touch(f.t, f.b, T0 + 1);
	cr_expect_eq(f.h.n, 1);
	cr_expect_eq(second.n, 1);
	sp_table_unwatch(f.t, hear, &f.h);
	sp_binding_touch(f.t, f.b, T0 + 2);
	cr_expect_eq(f.h.n, 1);
	cr_expect_eq(second.n, 2);
	sp_table_unwatch(f.t, hear, &second);
	for (int i = 0; i < SP_TABLE_WATCHERS_MAX; i++)
		cr_assert_eq(sp_table_watch(f.t, hear, &second), 0);
	cr_expect_eq(sp_table_watch(f.t, hear, &second), -ENOSPC);
	sp_table_destroy(f.t);
}

/* ---- the store on disk hears the hook: nothing marked by hand ---- */

static char dir[] = "/tmp/sp-test-store-hook-XXXXXX";

static struct sp_persist *open_store(struct sp_table *t)
{
	char err[256] = "";
	struct sp_persist *p = sp_persist_open(dir, t, NULL, NULL, err, sizeof(err));

	cr_assert_not_null(p, "open: %s", err);
	return p;
}

Test(store_hook, the_store_on_disk_follows_the_hook)
{
	struct sp_table *a, *b;
	struct sp_persist *pa, *pb;
	struct sp_binding *x;
	struct sp_dialog *d;
	uint32_t gone;
	char err[256] = "";

	cr_assert_not_null(mkdtemp(dir));
	a = fx_table_with(NULL, NULL);
	pa = open_store(a);
	x = new_binding(a, "10.1.1.1", 5060);
	sp_binding_set_registration(a, x, T0, 3600);
	cr_assert_eq(sp_binding_set_contact(x, "10.1.1.1:5999"), 0);
	d = new_dialog(a, x, "call-1");
	cr_assert_eq(sp_dialog_set_state(a, d, SP_DIALOG_CONFIRMED, T0), 0);
	gone = new_binding(a, "10.1.1.2", 5060)->id;
	cr_assert_eq(sp_binding_delete(a, sp_binding_find_id(a, gone)), 0);
	sp_persist_sync(pa, T0, SEC(1700000000));
	sp_persist_close(pa);

	b = fx_table_with(NULL, NULL);
	pb = open_store(b);
	cr_assert_eq(sp_persist_restore(pb, T0, SEC(1700000000), err, sizeof(err)), 0, "%s", err);
	cr_expect_not_null(sp_binding_find_id(b, x->id));
	cr_expect_str_eq(sp_binding_find_id(b, x->id)->contact, "10.1.1.1:5999");
	cr_expect_null(sp_binding_find_id(b, gone));
	cr_expect_not_null(sp_dialog_find_id(b, d->id));
	cr_expect_eq(sp_dialog_find_id(b, d->id)->state, SP_DIALOG_CONFIRMED);
	/* the restore itself marked nothing: the store is where it came from */
	{
		struct sp_persist_stats st;

		sp_persist_get_stats(pb, &st);
		cr_expect_eq(st.marks, 0);
		cr_expect_eq(st.pending, 0);
	}
	/* a standby (follow false) marks deletes only */
	sp_persist_follow(pb, false);
	sp_binding_touch(b, sp_binding_find_id(b, x->id), T0 + 1);
	{
		struct sp_persist_stats st;

		sp_persist_get_stats(pb, &st);
		cr_expect_eq(st.marks, 0);
	}
	sp_dialog_delete(b, sp_dialog_find_id(b, d->id));
	{
		struct sp_persist_stats st;

		sp_persist_get_stats(pb, &st);
		cr_expect_eq(st.marks, 1);
	}
	sp_persist_close(pb);
	sp_table_destroy(a);
	sp_table_destroy(b);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		cr_expect_eq(system(cmd), 0);
	}
}
