#include "config.h"
#include "sp_ng.h"

#include <stdio.h>
#include <string.h>

struct sp_ng_parser {
	struct sp_ng_doc *d;
	const char *p, *end;
	const char *why;
};

static int sp_ng_fail(struct sp_ng_parser *ps, const char *why)
{
	if (!ps->why)
		ps->why = why;
	return -1;
}

static int sp_ng_new_node(struct sp_ng_parser *ps, enum sp_ng_type t)
{
	struct sp_ng_node *n;

	if (ps->d->n >= SP_NG_NODES_MAX)
		return sp_ng_fail(ps, "too many values");
	n = &ps->d->nodes[ps->d->n];
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->first = -1;
	n->next = -1;
	return (int)ps->d->n++;
}

/* Digits up to `stop`: canonical (no leading zero but "0", "-0" refused). */
static int sp_ng_number(struct sp_ng_parser *ps, char stop, bool allow_sign, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0;
	const char *start;

	if (allow_sign && ps->p < ps->end && *ps->p == '-') {
		neg = true;
		ps->p++;
	}
	start = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (v > (uint64_t)INT64_MAX / 10)
			return sp_ng_fail(ps, "number too large");
		v = v * 10 + (uint64_t)(*ps->p - '0');
		if (v > (uint64_t)INT64_MAX)
			return sp_ng_fail(ps, "number too large");
		ps->p++;
	}
	if (ps->p == start || ps->p >= ps->end || *ps->p != stop)
		return sp_ng_fail(ps, "bad number");
	if ((ps->p - start > 1 && *start == '0') || (neg && v == 0))
		return sp_ng_fail(ps, "non-canonical number");
	ps->p++;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int sp_ng_value(struct sp_ng_parser *ps, unsigned depth);

/* The children of a list or dictionary, up to its 'e'. */
static int sp_ng_children(struct sp_ng_parser *ps, int idx, unsigned depth, bool dict)
{
	int prev = -1;
	size_t count = 0;

	for (;;) {
		int child;

		if (ps->p >= ps->end)
			return sp_ng_fail(ps, "truncated");
		if (*ps->p == 'e') {
			ps->p++;
			break;
		}
		child = sp_ng_value(ps, depth + 1);
		if (child < 0)
			return -1;
		/* a dictionary's keys are strings */
		if (dict && !(count & 1) && ps->d->nodes[child].type != SP_NG_STR)
			return sp_ng_fail(ps, "dictionary key not a string");
		if (prev < 0)
			ps->d->nodes[idx].first = child;
		else
			ps->d->nodes[prev].next = child;
		prev = child;
		count++;
	}
	if (dict && (count & 1))
		return sp_ng_fail(ps, "dictionary key without a value");
	ps->d->nodes[idx].len = count;
	return 0;
}

static int sp_ng_value(struct sp_ng_parser *ps, unsigned depth)
{
	int idx;
	int64_t v;

	if (depth > SP_NG_DEPTH_MAX)
		return sp_ng_fail(ps, "nested too deep");
	if (ps->p >= ps->end)
		return sp_ng_fail(ps, "truncated");
	switch (*ps->p) {
	case 'i':
		ps->p++;
		if (sp_ng_number(ps, 'e', true, &v) < 0 || (idx = sp_ng_new_node(ps, SP_NG_INT)) < 0)
			return -1;
		ps->d->nodes[idx].i = v;
		return idx;
	case 'l':
	case 'd': {
		bool dict = *ps->p == 'd';

		ps->p++;
		idx = sp_ng_new_node(ps, dict ? SP_NG_DICT : SP_NG_LIST);
		if (idx < 0 || sp_ng_children(ps, idx, depth, dict) < 0)
			return -1;
		return idx;
	}
	default:
		if (sp_ng_number(ps, ':', false, &v) < 0)
			return -1;
		if ((uint64_t)v > (uint64_t)(ps->end - ps->p))
			return sp_ng_fail(ps, "string longer than the message");
		if ((idx = sp_ng_new_node(ps, SP_NG_STR)) < 0)
			return -1;
		ps->d->nodes[idx].s = ps->p;
		ps->d->nodes[idx].len = (size_t)v;
		ps->p += v;
		return idx;
	}
}

int sp_ng_decode(struct sp_ng_doc *d, const char *buf, size_t len, const char **why)
{
	struct sp_ng_parser ps = { d, buf, buf + len, NULL };

	d->n = 0;
	if (sp_ng_value(&ps, 0) < 0 || (ps.p != ps.end && sp_ng_fail(&ps, "trailing bytes") < 0)) {
		if (why)
			*why = ps.why;
		d->n = 0;
		return -1;
	}
	return 0;
}

const struct sp_ng_node *sp_ng_dict_get(const struct sp_ng_doc *d, const struct sp_ng_node *dict,
					const char *key)
{
	if (!dict || dict->type != SP_NG_DICT)
		return NULL;
	for (int k = dict->first; k >= 0;) {
		int v = d->nodes[k].next; /* a decoded dictionary pairs every key */

		if (sp_ng_str_is(&d->nodes[k], key))
			return &d->nodes[v];
		k = d->nodes[v].next;
	}
	return NULL;
}

bool sp_ng_str_is(const struct sp_ng_node *n, const char *s)
{
	size_t l = strlen(s);

	return n && n->type == SP_NG_STR && n->len == l && memcmp(n->s, s, l) == 0;
}

int sp_ng_split(const char *buf, size_t len, const char **cookie, size_t *cookie_len,
		const char **body, size_t *body_len)
{
	size_t i;

	for (i = 0; i < len && i <= SP_NG_COOKIE_MAX && buf[i] != ' '; i++)
		if (buf[i] < 0x21 || buf[i] > 0x7e)
			return -1;
	if (i == 0 || i > SP_NG_COOKIE_MAX || i >= len)
		return -1;
	*cookie = buf;
	*cookie_len = i;
	*body = buf + i + 1;
	*body_len = len - i - 1;
	return 0;
}

void sp_ng_out_init(struct sp_ng_out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	o->overflow = false;
}

void sp_ng_put_raw(struct sp_ng_out *o, const char *s, size_t len)
{
	if (o->overflow || len > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, len);
	o->len += len;
}

void sp_ng_put_str(struct sp_ng_out *o, const char *s, size_t len)
{
	char n[24];

	sp_ng_put_raw(o, n, (size_t)snprintf(n, sizeof(n), "%zu:", len));
	sp_ng_put_raw(o, s, len);
}

void sp_ng_put_cstr(struct sp_ng_out *o, const char *s)
{
	sp_ng_put_str(o, s, strlen(s));
}

void sp_ng_put_int(struct sp_ng_out *o, int64_t v)
{
	char n[32];

	sp_ng_put_raw(o, n, (size_t)snprintf(n, sizeof(n), "i%llde", (long long)v));
}

void sp_ng_open_dict(struct sp_ng_out *o)
{
	sp_ng_put_raw(o, "d", 1);
}

void sp_ng_open_list(struct sp_ng_out *o)
{
	sp_ng_put_raw(o, "l", 1);
}

void sp_ng_close(struct sp_ng_out *o)
{
	sp_ng_put_raw(o, "e", 1);
}

void sp_ng_put_kv(struct sp_ng_out *o, const char *key, const char *value)
{
	sp_ng_put_cstr(o, key);
	sp_ng_put_cstr(o, value);
}

bool sp_ng_out_ok(const struct sp_ng_out *o)
{
	return !o->overflow;
}
