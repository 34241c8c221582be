#include "config.h"
#include "sp_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void sp_sp_settings_defaults(struct sp_sp_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->listen_ports[0] = SP_DEFAULT_SIP_PORT;
	s->n_listen_ports = 1;
	s->default_action = SP_ACTION_FORWARD;
	s->return_path = SP_RETURN_LEARN;
	s->media = SP_MEDIA_KERNEL;
	s->media_port_min = SP_DEFAULT_MEDIA_PORT_MIN;
	s->media_port_max = SP_DEFAULT_MEDIA_PORT_MAX;
	s->signaling_port_min = SP_SIGNALING_PORT_FIRST;
	s->signaling_port_max = SP_SIGNALING_PORT_LAST;
	s->source_rate = SP_DEFAULT_SOURCE_RATE;
	s->source_new_bindings = SP_DEFAULT_SOURCE_NEW_BINDINGS;
	s->source_bindings = SP_DEFAULT_SOURCE_BINDINGS;
	s->message_size_limit = SP_MESSAGE_SIZE_MAX;
	s->tcp_connections = SP_DEFAULT_TCP_CONNECTIONS;
	s->tcp_source_connections = SP_DEFAULT_TCP_SOURCE_CONNECTIONS;
	s->tcp_message_size = SP_DEFAULT_TCP_MESSAGE_SIZE;
	s->tcp_header_timeout = SP_DEFAULT_TCP_HEADER_TIMEOUT;
	s->tcp_idle_timeout = SP_DEFAULT_TCP_IDLE_TIMEOUT;
	s->dialog_early_timeout = SP_DEFAULT_DIALOG_EARLY_TIMEOUT;
	s->dialog_idle_timeout = SP_DEFAULT_DIALOG_IDLE_TIMEOUT;
	s->tls_port = SP_DEFAULT_TLS_PORT;
}

const struct sp_addr *sp_sp_server_side(const struct sp_sp_settings *s, int family)
{
	const struct sp_addr *a = family == AF_INET6 ? &s->server_side_address6 : &s->server_side_address;

	return a->family == family ? a : NULL;
}

void sp_cli_settings_defaults(struct sp_cli_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->login_timeout = SP_DEFAULT_CLI_LOGIN_TIMEOUT;
	s->exec_timeout = SP_DEFAULT_CLI_EXEC_TIMEOUT;
}

static bool sp_prefix_contains(const struct sp_prefix *p, const struct sp_addr *a)
{
	const uint8_t *pb = p->addr.family == AF_INET ? (const uint8_t *)&p->addr.u.v4 : p->addr.u.v6.s6_addr;
	const uint8_t *ab = a->family == AF_INET ? (const uint8_t *)&a->u.v4 : a->u.v6.s6_addr;
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != a->family)
		return false;
	if (memcmp(pb, ab, full) != 0)
		return false;
	return rest == 0 || ((pb[full] ^ ab[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool sp_cli_access_permits(const struct sp_cli_settings *s, const struct sp_addr *peer)
{
	struct sp_addr a = *peer;

	if (s->n_access == 0)
		return true;
	if (a.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.u.v6)) {
		struct in_addr v4;

		memcpy(&v4, &a.u.v6.s6_addr[12], sizeof(v4));
		a.family = AF_INET;
		a.u.v4 = v4;
	}
	for (unsigned i = 0; i < s->n_access; i++)
		if (sp_prefix_contains(&s->access[i], &a))
			return true;
	return false;
}

struct sp_config *sp_config_new(void)
{
	struct sp_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	strcpy(c->hostname, "sigproxy");
	sp_sp_settings_defaults(&c->sp);
	c->redundancy.role = SP_ROLE_ACTIVE;
	sp_cli_settings_defaults(&c->cli);
	return c;
}

static void *sp_dup_array(const void *src, size_t n, size_t size, bool *fail)
{
	void *dst;

	if (n == 0)
		return NULL;
	dst = malloc(n * size);
	if (!dst) {
		*fail = true;
		return NULL;
	}
	memcpy(dst, src, n * size);
	return dst;
}

struct sp_config *sp_config_dup(const struct sp_config *c)
{
	struct sp_config *d = malloc(sizeof(*d));
	bool fail = false;

	if (!d)
		return NULL;
	*d = *c;
	d->enable_secret_hash = NULL;
	d->users = NULL;
	d->n_users = 0;
	d->strategies = sp_dup_array(c->strategies, c->n_strategies, sizeof(*c->strategies), &fail);
	d->policy_routes = sp_dup_array(c->policy_routes, c->n_policy_routes,
					sizeof(*c->policy_routes), &fail);
	d->interfaces = sp_dup_array(c->interfaces, c->n_interfaces, sizeof(*c->interfaces), &fail);
	d->media_proxies = sp_dup_array(c->media_proxies, c->n_media_proxies,
					sizeof(*c->media_proxies), &fail);
	if (c->enable_secret_hash && !(d->enable_secret_hash = strdup(c->enable_secret_hash)))
		fail = true;
	if (c->n_users) {
		d->users = calloc(c->n_users, sizeof(*d->users));
		if (!d->users)
			fail = true;
		for (size_t i = 0; d->users && i < c->n_users; i++) {
			d->users[i] = c->users[i];
			d->users[i].secret_hash = strdup(c->users[i].secret_hash);
			if (!d->users[i].secret_hash)
				fail = true;
			d->n_users++;
		}
	}
	if (fail) {
		sp_config_free(d);
		return NULL;
	}
	return d;
}

void sp_config_free(struct sp_config *c)
{
	if (!c)
		return;
	free(c->strategies);
	free(c->policy_routes);
	free(c->interfaces);
	free(c->media_proxies);
	for (size_t i = 0; i < c->n_users; i++)
		free(c->users[i].secret_hash);
	free(c->users);
	free(c->enable_secret_hash);
	free(c);
}

/* ---- sorted collections ---- */

/* Binary search by seq in an array sorted by seq; returns the insertion index
 * and sets *found. Works for both strategies and policy routes through an
 * accessor so the two collections share one search. */
static size_t sp_seq_search(const void *base, size_t n, size_t size, size_t seq_off, uint32_t seq,
			    bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t v;

		memcpy(&v, (const char *)base + mid * size + seq_off, sizeof(v));
		if (v < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	if (lo < n) {
		uint32_t v;
		memcpy(&v, (const char *)base + lo * size + seq_off, sizeof(v));
		*found = v == seq;
	}
	return lo;
}

static void *sp_array_insert(void **base, size_t *n, size_t size, size_t at)
{
	char *grown = realloc(*base, (*n + 1) * size);

	if (!grown)
		return NULL;
	memmove(grown + (at + 1) * size, grown + at * size, (*n - at) * size);
	memset(grown + at * size, 0, size);
	*base = grown;
	(*n)++;
	return grown + at * size;
}

static void sp_array_erase(void *base, size_t *n, size_t size, size_t at)
{
	char *b = base;

	memmove(b + at * size, b + (at + 1) * size, (*n - at - 1) * size);
	(*n)--;
}

struct sp_strategy *sp_config_strategy_find(struct sp_config *c, const char *name, uint32_t seq)
{
	bool found;
	size_t i = sp_seq_search(c->strategies, c->n_strategies, sizeof(*c->strategies),
				 offsetof(struct sp_strategy, seq), seq, &found);

	if (found && strcmp(c->strategies[i].name, name) == 0)
		return &c->strategies[i];
	return NULL;
}

struct sp_strategy *sp_config_strategy_create(struct sp_config *c, const char *name, uint32_t seq,
					      struct sp_error *e)
{
	struct sp_strategy *s;
	bool found;
	size_t i;

	if (sp_check_name(name, "proxy-strategy", e) < 0)
		return NULL;
	if (seq < SP_SEQ_MIN || seq > SP_SEQ_MAX) {
		sp_error_set(e, "Invalid sequence number %u (expected %u-%u)", seq, SP_SEQ_MIN,
			     SP_SEQ_MAX);
		return NULL;
	}
	i = sp_seq_search(c->strategies, c->n_strategies, sizeof(*c->strategies),
			  offsetof(struct sp_strategy, seq), seq, &found);
	if (found) {
		if (strcmp(c->strategies[i].name, name) == 0)
			return &c->strategies[i];
		sp_error_set(e, "Sequence number %u is already used by proxy-strategy %s", seq,
			     c->strategies[i].name);
		return NULL;
	}
	s = sp_array_insert((void **)&c->strategies, &c->n_strategies, sizeof(*s), i);
	if (!s) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	strcpy(s->name, name);
	s->seq = seq;
	s->server_port = SP_DEFAULT_SIP_PORT;
	return s;
}

size_t sp_config_strategy_remove(struct sp_config *c, const char *name, uint32_t seq)
{
	size_t removed = 0;

	for (size_t i = c->n_strategies; i-- > 0;) {
		if (strcmp(c->strategies[i].name, name) == 0 && (seq == 0 || c->strategies[i].seq == seq)) {
			sp_array_erase(c->strategies, &c->n_strategies, sizeof(*c->strategies), i);
			removed++;
		}
	}
	return removed;
}

struct sp_policy_route *sp_config_policy_route_find(struct sp_config *c, const char *name,
						    uint32_t seq)
{
	bool found;
	size_t i = sp_seq_search(c->policy_routes, c->n_policy_routes, sizeof(*c->policy_routes),
				 offsetof(struct sp_policy_route, seq), seq, &found);

	if (found && strcmp(c->policy_routes[i].name, name) == 0)
		return &c->policy_routes[i];
	return NULL;
}

struct sp_policy_route *sp_config_policy_route_create(struct sp_config *c, const char *name,
						      uint32_t seq, struct sp_error *e)
{
	struct sp_policy_route *r;
	bool found;
	size_t i;

	if (sp_check_name(name, "policy-route", e) < 0)
		return NULL;
	if (seq < SP_SEQ_MIN || seq > SP_SEQ_MAX) {
		sp_error_set(e, "Invalid sequence number %u (expected %u-%u)", seq, SP_SEQ_MIN,
			     SP_SEQ_MAX);
		return NULL;
	}
	i = sp_seq_search(c->policy_routes, c->n_policy_routes, sizeof(*c->policy_routes),
			  offsetof(struct sp_policy_route, seq), seq, &found);
	if (found) {
		if (strcmp(c->policy_routes[i].name, name) == 0)
			return &c->policy_routes[i];
		sp_error_set(e, "Sequence number %u is already used by policy-route %s", seq,
			     c->policy_routes[i].name);
		return NULL;
	}
	r = sp_array_insert((void **)&c->policy_routes, &c->n_policy_routes, sizeof(*r), i);
	if (!r) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	strcpy(r->name, name);
	r->seq = seq;
	return r;
}

size_t sp_config_policy_route_remove(struct sp_config *c, const char *name, uint32_t seq)
{
	size_t removed = 0;

	for (size_t i = c->n_policy_routes; i-- > 0;) {
		if (strcmp(c->policy_routes[i].name, name) == 0 &&
		    (seq == 0 || c->policy_routes[i].seq == seq)) {
			sp_array_erase(c->policy_routes, &c->n_policy_routes,
				       sizeof(*c->policy_routes), i);
			removed++;
		}
	}
	return removed;
}

static size_t sp_name_search(const void *base, size_t n, size_t size, const char *name, bool *found)
{
	size_t lo = 0, hi = n;

	/* every named item starts with its name */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp((const char *)base + mid * size, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && strcmp((const char *)base + lo * size, name) == 0;
	return lo;
}

struct sp_interface *sp_config_interface_find(struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_name_search(c->interfaces, c->n_interfaces, sizeof(*c->interfaces), name,
				  &found);

	return found ? &c->interfaces[i] : NULL;
}

struct sp_interface *sp_config_interface_get(struct sp_config *c, const char *name,
					     struct sp_error *e)
{
	struct sp_interface *itf;
	bool found;
	size_t i;

	if (sp_check_ifname(name, e) < 0)
		return NULL;
	i = sp_name_search(c->interfaces, c->n_interfaces, sizeof(*c->interfaces), name, &found);
	if (found)
		return &c->interfaces[i];
	itf = sp_array_insert((void **)&c->interfaces, &c->n_interfaces, sizeof(*itf), i);
	if (!itf) {
		sp_error_set(e, "Out of memory");
		return NULL;
	}
	strcpy(itf->name, name);
	return itf;
}

bool sp_config_interface_remove(struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_name_search(c->interfaces, c->n_interfaces, sizeof(*c->interfaces), name,
				  &found);

	if (found)
		sp_array_erase(c->interfaces, &c->n_interfaces, sizeof(*c->interfaces), i);
	return found;
}

struct sp_user *sp_config_user_find(const struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_name_search(c->users, c->n_users, sizeof(*c->users), name, &found);

	return found ? &c->users[i] : NULL;
}

int sp_config_user_set(struct sp_config *c, const char *name, int privilege,
		       const char *secret_hash, struct sp_error *e)
{
	struct sp_user *u;
	char *h;
	bool found;
	size_t i;

	if (sp_check_username(name, e) < 0)
		return -1;
	if (privilege != SP_USER_PRIVILEGE_NONE && privilege != SP_USER_PRIVILEGE_READ_ONLY &&
	    privilege != SP_USER_PRIVILEGE_ADMIN)
		return sp_error_set(e, "Invalid privilege \"%d\" (1 or 15)", privilege);
	if (!(h = strdup(secret_hash)))
		return sp_error_set(e, "Out of memory");
	i = sp_name_search(c->users, c->n_users, sizeof(*c->users), name, &found);
	if (found) {
		free(c->users[i].secret_hash);
		c->users[i].secret_hash = h;
		c->users[i].privilege = privilege;
		return 0;
	}
	u = sp_array_insert((void **)&c->users, &c->n_users, sizeof(*u), i);
	if (!u) {
		free(h);
		return sp_error_set(e, "Out of memory");
	}
	strcpy(u->name, name);
	u->secret_hash = h;
	u->privilege = privilege;
	return 0;
}

bool sp_config_user_remove(struct sp_config *c, const char *name)
{
	bool found;
	size_t i = sp_name_search(c->users, c->n_users, sizeof(*c->users), name, &found);

	if (found) {
		free(c->users[i].secret_hash);
		sp_array_erase(c->users, &c->n_users, sizeof(*c->users), i);
	}
	return found;
}

int sp_config_enable_secret_set(struct sp_config *c, const char *secret_hash)
{
	char *h = NULL;

	if (secret_hash && !(h = strdup(secret_hash)))
		return -1;
	free(c->enable_secret_hash);
	c->enable_secret_hash = h;
	return 0;
}

/* ---- whole-configuration validation ---- */

/* signaling-port-range: from 1024, not empty, and apart from the ports
 * whose traffic means something else here: media (the guard drops what
 * reaches them untranslated) and the intercepted SIP and TLS ports. */
static int sp_config_check_signaling_ports(const struct sp_sp_settings *sp, struct sp_error *e)
{
	unsigned lo = sp->signaling_port_min, hi = sp->signaling_port_max;

	if (lo < SP_SIGNALING_PORT_MIN || lo > hi)
		return sp_error_set(e, "Invalid signaling-port-range %u %u", lo, hi);
	if (sp->media_port_max >= lo && sp->media_port_min <= hi)
		return sp_error_set(e, "media-port-range %u %u overlaps the server-side signaling ports %u-%u",
				    sp->media_port_min, sp->media_port_max, lo, hi);
	for (unsigned i = 0; i < sp->n_listen_ports; i++)
		if (sp->listen_ports[i] >= lo && sp->listen_ports[i] <= hi)
			return sp_error_set(e, "signaling-port-range %u %u holds listen port %u", lo, hi,
					    sp->listen_ports[i]);
	if (sp->tls_certificate[0] && sp->tls_port >= lo && sp->tls_port <= hi)
		return sp_error_set(e, "tls-port %u is in the signaling-port-range", sp->tls_port);
	return 0;
}

int sp_config_validate(const struct sp_config *c, struct sp_error *e)
{
	const struct sp_sp_settings *sp = &c->sp;
	char a[SP_ADDR_STRLEN];

	for (size_t i = 0; i < c->n_strategies; i++) {
		const struct sp_strategy *s = &c->strategies[i];

		if (i > 0 && c->strategies[i - 1].seq == s->seq)
			return sp_error_set(e, "Sequence number %u is used by proxy-strategy %s and %s",
					    s->seq, c->strategies[i - 1].name, s->name);
		if (s->action == SP_ACTION_PROXY && !sp_addr_is_set(&s->server))
			return sp_error_set(e, "proxy-strategy %s seq %u: action proxy needs a server",
					    s->name, s->seq);
	}
	for (size_t i = 1; i < c->n_policy_routes; i++)
		if (c->policy_routes[i - 1].seq == c->policy_routes[i].seq)
			return sp_error_set(e, "Sequence number %u is used by policy-route %s and %s",
					    c->policy_routes[i].seq, c->policy_routes[i - 1].name,
					    c->policy_routes[i].name);
	if (sp->message_size_limit < SP_MESSAGE_SIZE_MIN || sp->message_size_limit > SP_MESSAGE_SIZE_MAX)
		return sp_error_set(e, "Invalid message-size-limit %u (%u-%u)", sp->message_size_limit,
				    SP_MESSAGE_SIZE_MIN, SP_MESSAGE_SIZE_MAX);
	if (sp->tcp_message_size < SP_MESSAGE_SIZE_MIN || sp->tcp_message_size > SP_TCP_MESSAGE_SIZE_MAX)
		return sp_error_set(e, "Invalid limit tcp-message-size %u (%u-%u)", sp->tcp_message_size,
				    SP_MESSAGE_SIZE_MIN, SP_TCP_MESSAGE_SIZE_MAX);
	if (sp->media_port_min > sp->media_port_max || (sp->media_port_min & 1))
		return sp_error_set(e, "Invalid media-port-range %u %u", sp->media_port_min,
				    sp->media_port_max);
	/* the media guard drops whatever reaches these ports untranslated:
	 * SIP must never arrive there */
	for (unsigned i = 0; i < sp->n_listen_ports; i++)
		if (sp->listen_ports[i] >= sp->media_port_min && sp->listen_ports[i] <= sp->media_port_max)
			return sp_error_set(e, "media-port-range %u %u holds listen port %u",
					    sp->media_port_min, sp->media_port_max, sp->listen_ports[i]);
	/* TLS (once E has a certificate) has its own port: a listen port is
	 * plain SIP */
	for (unsigned i = 0; sp->tls_certificate[0] && i < sp->n_listen_ports; i++)
		if (sp->listen_ports[i] == sp->tls_port)
			return sp_error_set(e, "tls-port %u is a listen-port", sp->tls_port);
	if (sp->tls_certificate[0] && sp->tls_port >= sp->media_port_min && sp->tls_port <= sp->media_port_max)
		return sp_error_set(e, "tls-port %u is in the media-port-range", sp->tls_port);
	if (sp_config_check_signaling_ports(sp, e) < 0)
		return -1;
	if (sp_addr_is_set(&sp->server_side_address) && sp->server_side_address.family != AF_INET)
		return sp_error_set(e, "server-side-address %s is not IPv4",
				    sp_addr_str(&sp->server_side_address, a, sizeof(a)));
	if (sp_addr_is_set(&sp->server_side_address6) && sp->server_side_address6.family != AF_INET6)
		return sp_error_set(e, "IPv6 server-side-address %s is not IPv6",
				    sp_addr_str(&sp->server_side_address6, a, sizeof(a)));
	if (sp_addr_is_set(&sp->local_virtual_address) &&
	    (sp_addr_equal(&sp->local_virtual_address, &sp->server_side_address) ||
	     sp_addr_equal(&sp->local_virtual_address, &sp->server_side_address6)))
		return sp_error_set(e, "local-virtual-address %s is the server-side-address",
				    sp_addr_str(&sp->local_virtual_address, a, sizeof(a)));
	if (sp->return_path == SP_RETURN_DEFAULT_GATEWAY && !sp_addr_is_set(&sp->return_gateway))
		return sp_error_set(e, "return-path default-gateway needs an address");
	if (c->redundancy.configured && sp_addr_is_set(&c->redundancy.local_address) &&
	    sp_addr_is_set(&c->redundancy.peer_address) &&
	    c->redundancy.local_address.family != c->redundancy.peer_address.family)
		return sp_error_set(e, "redundancy local-address and peer-address differ in family");
	return sp_config_mp_validate(c, e);
}

const char *sp_action_name(enum sp_action a)
{
	switch (a) {
	case SP_ACTION_PROXY: return "proxy";
	case SP_ACTION_FORWARD: return "forward";
	case SP_ACTION_DROP: return "drop";
	default: return "none";
	}
}

const char *sp_side_name(enum sp_if_side s)
{
	switch (s) {
	case SP_SIDE_TERMINAL: return "terminal-side";
	case SP_SIDE_SERVER: return "server-side";
	default: return "none";
	}
}

const char *sp_role_name(enum sp_role r)
{
	return r == SP_ROLE_STANDBY ? "standby" : "active";
}

const char *sp_config_object_name(enum sp_config_object o)
{
	switch (o) {
	case SP_OBJ_GLOBAL: return "global";
	case SP_OBJ_STRATEGY: return "proxy-strategy";
	case SP_OBJ_POLICY_ROUTE: return "policy-route";
	case SP_OBJ_INTERFACE: return "interface";
	case SP_OBJ_REDUNDANCY: return "redundancy";
	case SP_OBJ_USERS: return "users";
	case SP_OBJ_MEDIA_PROXY: return "media-proxy";
	}
	return "?";
}
