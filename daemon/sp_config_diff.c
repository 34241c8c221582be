/* Two configurations compared: equality item by item (field by field, so
 * padding never matters) and the diff a commit hands its subscribers. */
#include "config.h"
#include "sp_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- item equality: field by field, so padding never matters ---- */

static bool sp_range_equal(const struct sp_port_range *a, const struct sp_port_range *b)
{
	return a->lo == b->lo && a->hi == b->hi;
}

static bool sp_strategy_equal(const struct sp_strategy *a, const struct sp_strategy *b)
{
	return strcmp(a->name, b->name) == 0 && a->seq == b->seq && a->match == b->match &&
	       a->vpn_id == b->vpn_id && a->vlan == b->vlan && a->mpls_label == b->mpls_label &&
	       a->protocol == b->protocol && sp_prefix_equal(&a->source, &b->source) &&
	       sp_range_equal(&a->source_port, &b->source_port) &&
	       sp_prefix_equal(&a->destination, &b->destination) &&
	       sp_range_equal(&a->destination_port, &b->destination_port) &&
	       a->action == b->action && sp_addr_equal(&a->server, &b->server) &&
	       a->server_port == b->server_port && a->server_transport == b->server_transport &&
	       strcmp(a->server_name, b->server_name) == 0 &&
	       a->hide_server_identity == b->hide_server_identity && a->shutdown == b->shutdown &&
	       a->media == b->media && strcmp(a->media_proxy, b->media_proxy) == 0;
}

static bool sp_policy_route_equal(const struct sp_policy_route *a, const struct sp_policy_route *b)
{
	return strcmp(a->name, b->name) == 0 && a->seq == b->seq && a->match == b->match &&
	       sp_prefix_equal(&a->source, &b->source) &&
	       sp_prefix_equal(&a->destination, &b->destination) && a->protocol == b->protocol &&
	       sp_range_equal(&a->source_port, &b->source_port) &&
	       sp_range_equal(&a->destination_port, &b->destination_port) &&
	       strcmp(a->input_interface, b->input_interface) == 0 &&
	       sp_addr_equal(&a->next_hop, &b->next_hop) && a->table == b->table &&
	       a->shutdown == b->shutdown;
}

static bool sp_interface_equal(const struct sp_interface *a, const struct sp_interface *b)
{
	return strcmp(a->name, b->name) == 0 && a->vpn_id == b->vpn_id && a->side == b->side;
}

static bool sp_settings_equal(const struct sp_sp_settings *a, const struct sp_sp_settings *b)
{
	if (a->n_listen_ports != b->n_listen_ports)
		return false;
	for (unsigned i = 0; i < a->n_listen_ports; i++)
		if (a->listen_ports[i] != b->listen_ports[i])
			return false;
	return sp_addr_equal(&a->server_side_address, &b->server_side_address) &&
	       sp_addr_equal(&a->server_side_address6, &b->server_side_address6) &&
	       a->default_action == b->default_action &&
	       sp_addr_equal(&a->local_virtual_address, &b->local_virtual_address) &&
	       a->return_path == b->return_path && a->signaling_sockets == b->signaling_sockets &&
	       sp_addr_equal(&a->return_gateway, &b->return_gateway) && a->media == b->media &&
	       a->media_port_min == b->media_port_min && a->media_port_max == b->media_port_max &&
	       a->signaling_port_min == b->signaling_port_min &&
	       a->signaling_port_max == b->signaling_port_max &&
	       a->session_limit == b->session_limit && a->source_rate == b->source_rate &&
	       a->source_new_bindings == b->source_new_bindings &&
	       a->source_bindings == b->source_bindings &&
	       a->message_size_limit == b->message_size_limit &&
	       a->tcp_connections == b->tcp_connections &&
	       a->tcp_source_connections == b->tcp_source_connections &&
	       a->tcp_message_size == b->tcp_message_size &&
	       a->tcp_header_timeout == b->tcp_header_timeout &&
	       a->tcp_idle_timeout == b->tcp_idle_timeout &&
	       a->dialog_early_timeout == b->dialog_early_timeout &&
	       a->dialog_idle_timeout == b->dialog_idle_timeout &&
	       strcmp(a->tls_certificate, b->tls_certificate) == 0 && strcmp(a->tls_key, b->tls_key) == 0 &&
	       strcmp(a->tls_ca, b->tls_ca) == 0 && a->tls_port == b->tls_port && a->tls_load == b->tls_load;
}

static bool sp_global_equal(const struct sp_config *a, const struct sp_config *b)
{
	return strcmp(a->hostname, b->hostname) == 0 && a->sp_enabled == b->sp_enabled &&
	       sp_settings_equal(&a->sp, &b->sp);
}

static bool sp_redundancy_equal(const struct sp_redundancy *a, const struct sp_redundancy *b)
{
	return a->configured == b->configured && a->role == b->role &&
	       sp_addr_equal(&a->local_address, &b->local_address) &&
	       a->local_port == b->local_port &&
	       sp_addr_equal(&a->peer_address, &b->peer_address) &&
	       a->peer_port == b->peer_port && strcmp(a->key, b->key) == 0;
}

static bool sp_str_equal_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool sp_cli_settings_equal(const struct sp_cli_settings *a, const struct sp_cli_settings *b)
{
	if (a->login_timeout != b->login_timeout || a->exec_timeout != b->exec_timeout ||
	    a->n_access != b->n_access || strcmp(a->banner_motd, b->banner_motd) != 0 ||
	    a->n_log_hosts != b->n_log_hosts)
		return false;
	for (unsigned i = 0; i < a->n_log_hosts; i++)
		if (!sp_addr_equal(&a->log_hosts[i].addr, &b->log_hosts[i].addr) ||
		    a->log_hosts[i].port != b->log_hosts[i].port)
			return false;
	for (unsigned i = 0; i < a->n_access; i++)
		if (!sp_prefix_equal(&a->access[i], &b->access[i]))
			return false;
	return true;
}

static bool sp_users_equal(const struct sp_config *a, const struct sp_config *b)
{
	if (!sp_cli_settings_equal(&a->cli, &b->cli))
		return false;
	if (a->n_users != b->n_users || !sp_str_equal_null(a->enable_secret_hash, b->enable_secret_hash))
		return false;
	for (size_t i = 0; i < a->n_users; i++)
		if (strcmp(a->users[i].name, b->users[i].name) != 0 ||
		    strcmp(a->users[i].secret_hash, b->users[i].secret_hash) != 0 ||
		    a->users[i].privilege != b->users[i].privilege)
			return false;
	return true;
}

bool sp_config_equal(const struct sp_config *a, const struct sp_config *b)
{
	if (!sp_global_equal(a, b) || !sp_redundancy_equal(&a->redundancy, &b->redundancy) ||
	    !sp_users_equal(a, b) || a->n_strategies != b->n_strategies ||
	    a->n_policy_routes != b->n_policy_routes || a->n_interfaces != b->n_interfaces ||
	    a->n_media_proxies != b->n_media_proxies)
		return false;
	for (size_t i = 0; i < a->n_media_proxies; i++)
		if (!sp_media_proxy_equal(&a->media_proxies[i], &b->media_proxies[i]))
			return false;
	for (size_t i = 0; i < a->n_strategies; i++)
		if (!sp_strategy_equal(&a->strategies[i], &b->strategies[i]))
			return false;
	for (size_t i = 0; i < a->n_policy_routes; i++)
		if (!sp_policy_route_equal(&a->policy_routes[i], &b->policy_routes[i]))
			return false;
	for (size_t i = 0; i < a->n_interfaces; i++)
		if (!sp_interface_equal(&a->interfaces[i], &b->interfaces[i]))
			return false;
	return true;
}

/* ---- diff ---- */

struct sp_diff_builder {
	struct sp_config_diff *d;
	size_t cap;
	bool fail;
};

static void sp_diff_push(struct sp_diff_builder *b, enum sp_config_object obj, enum sp_change_op op,
			 const void *old_item, const void *new_item)
{
	if (b->fail)
		return;
	if (b->d->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct sp_config_change *grown = realloc(b->d->changes, cap * sizeof(*grown));
		if (!grown) {
			b->fail = true;
			return;
		}
		b->d->changes = grown;
		b->cap = cap;
	}
	b->d->changes[b->d->n++] = (struct sp_config_change){ obj, op, old_item, new_item };
}

/* Merge of two sorted collections; the key comparison and equality come from
 * small per-kind callbacks so every collection is diffed by one loop. */
typedef int (*sp_key_cmp_fn)(const void *a, const void *b);
typedef bool (*sp_item_eq_fn)(const void *a, const void *b);

static void sp_diff_sorted(struct sp_diff_builder *b, enum sp_config_object obj, const void *oa,
			   size_t on, const void *na, size_t nn, size_t size, sp_key_cmp_fn cmp,
			   sp_item_eq_fn eq)
{
	size_t i = 0, j = 0;

	while (i < on || j < nn) {
		const void *o = i < on ? (const char *)oa + i * size : NULL;
		const void *n = j < nn ? (const char *)na + j * size : NULL;
		int r = !o ? 1 : !n ? -1 : cmp(o, n);

		if (r < 0) {
			sp_diff_push(b, obj, SP_CHANGE_REMOVE, o, NULL);
			i++;
		} else if (r > 0) {
			sp_diff_push(b, obj, SP_CHANGE_ADD, NULL, n);
			j++;
		} else {
			if (!eq(o, n))
				sp_diff_push(b, obj, SP_CHANGE_MODIFY, o, n);
			i++;
			j++;
		}
	}
}

/* Strategies and policy routes are keyed by (seq, name): a seq moving to
 * another name is a remove plus an add. */
static int sp_strategy_key_cmp(const void *a, const void *b)
{
	const struct sp_strategy *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool sp_strategy_eq_cb(const void *a, const void *b)
{
	return sp_strategy_equal(a, b);
}

static int sp_policy_route_key_cmp(const void *a, const void *b)
{
	const struct sp_policy_route *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool sp_policy_route_eq_cb(const void *a, const void *b)
{
	return sp_policy_route_equal(a, b);
}

static int sp_interface_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sp_interface *)a)->name, ((const struct sp_interface *)b)->name);
}

static bool sp_interface_eq_cb(const void *a, const void *b)
{
	return sp_interface_equal(a, b);
}

static int sp_mp_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sp_media_proxy *)a)->name,
		      ((const struct sp_media_proxy *)b)->name);
}

static bool sp_mp_eq_cb(const void *a, const void *b)
{
	return sp_media_proxy_equal(a, b);
}

int sp_config_diff(const struct sp_config *a, const struct sp_config *b,
		   struct sp_config_diff *out)
{
	struct sp_diff_builder bld = { out, 0, false };

	out->changes = NULL;
	out->n = 0;
	if (!sp_global_equal(a, b))
		sp_diff_push(&bld, SP_OBJ_GLOBAL, SP_CHANGE_MODIFY, a, b);
	sp_diff_sorted(&bld, SP_OBJ_STRATEGY, a->strategies, a->n_strategies, b->strategies,
		       b->n_strategies, sizeof(struct sp_strategy), sp_strategy_key_cmp,
		       sp_strategy_eq_cb);
	sp_diff_sorted(&bld, SP_OBJ_POLICY_ROUTE, a->policy_routes, a->n_policy_routes,
		       b->policy_routes, b->n_policy_routes, sizeof(struct sp_policy_route),
		       sp_policy_route_key_cmp, sp_policy_route_eq_cb);
	sp_diff_sorted(&bld, SP_OBJ_INTERFACE, a->interfaces, a->n_interfaces, b->interfaces,
		       b->n_interfaces, sizeof(struct sp_interface), sp_interface_key_cmp,
		       sp_interface_eq_cb);
	if (!sp_redundancy_equal(&a->redundancy, &b->redundancy))
		sp_diff_push(&bld, SP_OBJ_REDUNDANCY, SP_CHANGE_MODIFY, &a->redundancy,
			     &b->redundancy);
	if (!sp_users_equal(a, b))
		sp_diff_push(&bld, SP_OBJ_USERS, SP_CHANGE_MODIFY, a, b);
	sp_diff_sorted(&bld, SP_OBJ_MEDIA_PROXY, a->media_proxies, a->n_media_proxies,
		       b->media_proxies, b->n_media_proxies, sizeof(struct sp_media_proxy),
		       sp_mp_key_cmp, sp_mp_eq_cb);
	if (bld.fail) {
		sp_config_diff_free(out);
		return -1;
	}
	return 0;
}

void sp_config_diff_free(struct sp_config_diff *d)
{
	free(d->changes);
	d->changes = NULL;
	d->n = 0;
}
