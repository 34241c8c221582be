/* The configuration model, part: the remote media proxies (`media-proxy
 * NAME`) and the media choices that name them. sp_config.c calls these for
 * its whole-configuration duties (copy, equality, diff, validation, text). */
#include "config.h"
#include "sp_config.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

void sp_media_proxy_defaults(struct sp_media_proxy *mp)
{
	memset(mp, 0, sizeof(*mp));
	mp->weight = SP_MP_DEFAULT_WEIGHT;
	mp->fallback = SP_MP_FALLBACK_KERNEL;
}

static size_t sp_mp_search(const struct sp_config *c, const char *name, bool *found)
{
	size_t lo = 0, hi = c->n_media_proxies;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(c->media_proxies[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < c->n_media_proxies && strcmp(c->media_proxies[lo].name, name) == 0;
	return lo;
}

struct sp_media_proxy *sp_config_mp_find(const struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_mp_search(c, name, &found);

	return found ? &c->media_proxies[i] : NULL;
}

struct sp_media_proxy *sp_config_mp_get(struct sp_config *c, const char *name, struct sp_error *e)
{
	struct sp_media_proxy *grown;
	bool found;
	size_t i;

	if (sp_check_name(name, "media-proxy name", e) < 0)
		return NULL;
	i = sp_mp_search(c, name, &found);
	if (found)
		return &c->media_proxies[i];
	if (c->n_media_proxies >= SP_MP_MAX) {
		sp_error_set(e, "Too many media proxies (at most %u)", SP_MP_MAX);
		return NULL;
	}
	grown = realloc(c->media_proxies, (c->n_media_proxies + 1) * sizeof(*grown));
	if (!grown) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	c->media_proxies = grown;
	memmove(&grown[i + 1], &grown[i], (c->n_media_proxies - i) * sizeof(*grown));
	c->n_media_proxies++;
	sp_media_proxy_defaults(&grown[i]);
	strcpy(grown[i].name, name);
	return &grown[i];
}

bool sp_config_mp_remove(struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_mp_search(c, name, &found);

	if (!found)
		return false;
	memmove(&c->media_proxies[i], &c->media_proxies[i + 1],
		(c->n_media_proxies - i - 1) * sizeof(*c->media_proxies));
	c->n_media_proxies--;
	return true;
}

bool sp_media_proxy_equal(const struct sp_media_proxy *a, const struct sp_media_proxy *b)
{
	return strcmp(a->name, b->name) == 0 && sp_addr_equal(&a->control, &b->control) &&
	       a->control_port == b->control_port && a->weight == b->weight &&
	       a->fallback == b->fallback &&
	       sp_addr_equal(&a->media_terminal_side, &b->media_terminal_side) &&
	       sp_addr_equal(&a->media_server_side, &b->media_server_side) &&
	       sp_addr_equal(&a->media_terminal_side6, &b->media_terminal_side6) &&
	       sp_addr_equal(&a->media_server_side6, &b->media_server_side6) &&
	       a->shutdown == b->shutdown;
}

struct sp_addr *sp_media_proxy_slot(struct sp_media_proxy *mp, bool terminal_side, int family)
{
	if (family == AF_INET6)
		return terminal_side ? &mp->media_terminal_side6 : &mp->media_server_side6;
	return terminal_side ? &mp->media_terminal_side : &mp->media_server_side;
}

const struct sp_addr *sp_media_proxy_address(const struct sp_media_proxy *mp, bool terminal_side,
					     int family)
{
	const struct sp_addr *a = sp_media_proxy_slot((struct sp_media_proxy *)mp, terminal_side, family);

	return sp_addr_is_set(a) && a->family == family ? a : NULL;
}

enum sp_media_mode sp_strategy_media_mode(const struct sp_config *c, const struct sp_strategy *s)
{
	switch (s->media) {
	case SP_STRATEGY_MEDIA_KERNEL: return SP_MEDIA_KERNEL;
	case SP_STRATEGY_MEDIA_OFF: return SP_MEDIA_OFF;
	case SP_STRATEGY_MEDIA_PROXY: return SP_MEDIA_PROXY;
	case SP_STRATEGY_MEDIA_UNSET: break;
	}
	return c->sp.media;
}

const char *sp_media_mode_name(enum sp_media_mode m)
{
	switch (m) {
	case SP_MEDIA_KERNEL: return "kernel";
	case SP_MEDIA_OFF: return "off";
	case SP_MEDIA_PROXY: return "proxy";
	}
	return "?";
}

const char *sp_mp_fallback_name(enum sp_mp_fallback f)
{
	return f == SP_MP_FALLBACK_REFUSE ? "refuse" : "kernel";
}

static int sp_mp_validate_one(const struct sp_config *c, size_t i, struct sp_error *e)
{
	const struct sp_media_proxy *mp = &c->media_proxies[i];

	/* without a control address it is kept, not used (as a strategy
	 * without an action): the block that creates it is valid at once */
	if (!sp_addr_is_set(&mp->control))
		return 0;
	for (size_t j = 0; j < i; j++)
		if (sp_addr_equal(&c->media_proxies[j].control, &mp->control) &&
		    c->media_proxies[j].control_port == mp->control_port)
			return sp_error_set(e, "media-proxy %s and %s have the same control address",
					    c->media_proxies[j].name, mp->name);
	if (mp->weight > SP_MP_WEIGHT_MAX)
		return sp_error_set(e, "media-proxy %s: invalid weight %u (0-%u)", mp->name,
				    mp->weight, SP_MP_WEIGHT_MAX);
	return 0;
}

int sp_config_mp_validate(const struct sp_config *c, struct sp_error *e)
{
	for (size_t i = 0; i < c->n_media_proxies; i++)
		if (sp_mp_validate_one(c, i, e) < 0)
			return -1;
	if (c->sp.media == SP_MEDIA_PROXY && c->n_media_proxies == 0)
		return sp_error_set(e, "media proxy needs at least one media-proxy");
	for (size_t i = 0; i < c->n_strategies; i++) {
		const struct sp_strategy *s = &c->strategies[i];

		if (s->media != SP_STRATEGY_MEDIA_PROXY)
			continue;
		if (s->media_proxy[0] && !sp_config_mp_find(c, s->media_proxy))
			return sp_error_set(e, "proxy-strategy %s seq %u: no media-proxy %s", s->name,
					    s->seq, s->media_proxy);
		if (c->n_media_proxies == 0)
			return sp_error_set(e, "proxy-strategy %s seq %u: media proxy needs a media-proxy",
					    s->name, s->seq);
	}
	return 0;
}

void sp_config_mp_text(FILE *f, const struct sp_config *c)
{
	char b[SP_ADDR_STRLEN];

	for (size_t i = 0; i < c->n_media_proxies; i++) {
		const struct sp_media_proxy *mp = &c->media_proxies[i];

		fprintf(f, "media-proxy %s\n", mp->name);
		if (sp_addr_is_set(&mp->control))
			fprintf(f, " control %s port %u\n", sp_addr_str(&mp->control, b, sizeof(b)),
				mp->control_port);
		if (mp->weight != SP_MP_DEFAULT_WEIGHT)
			fprintf(f, " weight %u\n", mp->weight);
		if (mp->fallback != SP_MP_FALLBACK_KERNEL)
			fprintf(f, " fallback %s\n", sp_mp_fallback_name(mp->fallback));
		for (int side = 1; side >= 0; side--)
			for (int k = 0; k < 2; k++) {
				const struct sp_addr *a =
					sp_media_proxy_address(mp, side, k ? AF_INET6 : AF_INET);

				if (a)
					fprintf(f, " media-address %s %s\n",
						side ? "terminal-side" : "server-side",
						sp_addr_str(a, b, sizeof(b)));
			}
		if (mp->shutdown)
			fputs(" shutdown\n", f);
		fputs("!\n", f);
	}
}
