/* The configuration store: the running configuration, its subscribers,
 * and the commit that hands them a diff and rolls back when one refuses. */
#include "config.h"
#include "sp_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the store: running configuration, subscribers, commit ---- */

#define SP_SUBSCRIBERS_MAX 16

struct sp_config_subscriber {
	const char *name;
	sp_config_subscriber_fn fn;
	void *arg;
};

struct sp_config_store {
	struct sp_config *running;
	struct sp_config_subscriber subs[SP_SUBSCRIBERS_MAX];
	size_t n_subs;
	uint64_t generation;
};

struct sp_config_store *sp_config_store_new(void)
{
	struct sp_config_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->running = sp_config_new();
	if (!s->running) {
		free(s);
		return NULL;
	}
	return s;
}

void sp_config_store_free(struct sp_config_store *s)
{
	if (!s)
		return;
	sp_config_free(s->running);
	free(s);
}

const struct sp_config *sp_config_store_current(const struct sp_config_store *s)
{
	return s->running;
}

uint64_t sp_config_store_generation(const struct sp_config_store *s)
{
	return s->generation;
}

int sp_config_store_subscribe(struct sp_config_store *s, const char *name,
			      sp_config_subscriber_fn fn, void *arg)
{
	if (s->n_subs == SP_SUBSCRIBERS_MAX)
		return -1;
	s->subs[s->n_subs++] = (struct sp_config_subscriber){ name, fn, arg };
	return 0;
}

/* The reverse of a diff, for rolling back subscribers that already applied. */
static int sp_config_diff_reverse(const struct sp_config_diff *d, struct sp_config_diff *out)
{
	out->n = d->n;
	out->changes = d->n ? malloc(d->n * sizeof(*out->changes)) : NULL;
	if (d->n && !out->changes)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		struct sp_config_change c = d->changes[i];
		const void *t = c.old_item;

		c.old_item = c.new_item;
		c.new_item = t;
		if (c.op == SP_CHANGE_ADD)
			c.op = SP_CHANGE_REMOVE;
		else if (c.op == SP_CHANGE_REMOVE)
			c.op = SP_CHANGE_ADD;
		out->changes[d->n - 1 - i] = c;
	}
	return 0;
}

int sp_config_store_commit(struct sp_config_store *s, struct sp_config *candidate,
			   size_t *n_changes, struct sp_error *e)
{
	struct sp_config_diff diff;
	size_t told;

	if (n_changes)
		*n_changes = 0;
	if (sp_config_validate(candidate, e) < 0) {
		sp_config_free(candidate);
		return -1;
	}
	if (sp_config_diff(s->running, candidate, &diff) < 0) {
		sp_config_free(candidate);
		return sp_error_set(e, "Out of memory");
	}
	if (diff.n == 0) {
		sp_config_free(candidate);
		return 0;
	}
	for (told = 0; told < s->n_subs; told++) {
		struct sp_config_subscriber *sub = &s->subs[told];

		if (sub->fn(sub->arg, s->running, candidate, &diff, e) < 0)
			break;
	}
	if (told < s->n_subs) {
		struct sp_config_diff rev;
		struct sp_error ignored;

		if (sp_config_diff_reverse(&diff, &rev) == 0) {
			while (told-- > 0) {
				struct sp_config_subscriber *sub = &s->subs[told];
				sub->fn(sub->arg, candidate, s->running, &rev, &ignored);
			}
			sp_config_diff_free(&rev);
		}
		sp_config_diff_free(&diff);
		sp_config_free(candidate);
		return -1;
	}
	if (n_changes)
		*n_changes = diff.n;
	sp_config_diff_free(&diff);
	sp_config_free(s->running);
	s->running = candidate;
	s->generation++;
	return 0;
}
