/* `show running-config`: the configuration as commands, in a canonical order
 * so that two equal models always print the same text. Defaults are left out,
 * as routers do. */
#include "config.h"
#include "sp_config.h"
#include "sp_keyobf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sp_text_match_prefix_port(FILE *f, const char *kw, bool has_prefix,
				      const struct sp_prefix *p, bool has_port,
				      const struct sp_port_range *r)
{
	char pb[SP_PREFIX_STRLEN], rb[16];

	if (!has_prefix && !has_port)
		return;
	fprintf(f, " match %s %s", kw, has_prefix ? sp_prefix_str(p, pb, sizeof(pb)) : "any");
	if (has_port)
		fprintf(f, " port %s", sp_port_range_str(r, rb, sizeof(rb)));
	fputc('\n', f);
}

static void sp_text_strategy(FILE *f, const struct sp_strategy *s)
{
	char ab[SP_ADDR_STRLEN], pb[16];

	fprintf(f, "proxy-strategy %s seq %u\n", s->name, s->seq);
	if (s->match & SP_MATCH_VPN)
		fprintf(f, " match vpn-id %u\n", s->vpn_id);
	if (s->match & SP_MATCH_VLAN)
		fprintf(f, " match vlan %u\n", s->vlan);
	if (s->match & SP_MATCH_MPLS)
		fprintf(f, " match mpls-label %u\n", s->mpls_label);
	if (s->match & SP_MATCH_PROTOCOL)
		fprintf(f, " match protocol %s\n", sp_protocol_str(s->protocol, pb, sizeof(pb)));
	sp_text_match_prefix_port(f, "source", s->match & SP_MATCH_SOURCE, &s->source,
				  s->match & SP_MATCH_SOURCE_PORT, &s->source_port);
	sp_text_match_prefix_port(f, "destination", s->match & SP_MATCH_DESTINATION,
				  &s->destination, s->match & SP_MATCH_DESTINATION_PORT,
				  &s->destination_port);
	if (sp_addr_is_set(&s->server)) {
		fprintf(f, " server %s", sp_addr_str(&s->server, ab, sizeof(ab)));
		/* each transport's own default port (TLS: 5061) goes unsaid */
		if (s->server_port != (s->server_transport == SP_SERVER_TRANSPORT_TLS ? SP_DEFAULT_TLS_PORT
										    : SP_DEFAULT_SIP_PORT))
			fprintf(f, " port %u", s->server_port);
		if (s->server_transport)
			fprintf(f, " transport %s",
				s->server_transport == SP_SERVER_TRANSPORT_UDP ? "udp" :
				s->server_transport == SP_SERVER_TRANSPORT_TCP ? "tcp" : "tls");
		if (s->server_transport == SP_SERVER_TRANSPORT_TLS && s->server_name[0])
			fprintf(f, " name %s", s->server_name);
		fputc('\n', f);
	}
	if (s->action != SP_ACTION_UNSET)
		fprintf(f, " action %s\n", sp_action_name(s->action));
	if (s->hide_server_identity)
		fputs(" hide-server-identity\n", f);
	if (s->media != SP_STRATEGY_MEDIA_UNSET)
		fprintf(f, " media %s%s%s\n",
			s->media == SP_STRATEGY_MEDIA_KERNEL ? "kernel" :
			s->media == SP_STRATEGY_MEDIA_OFF ? "off" : "proxy",
			s->media_proxy[0] ? " " : "", s->media_proxy);
	if (s->shutdown)
		fputs(" shutdown\n", f);
	fputs("!\n", f);
}

static void sp_text_policy_route(FILE *f, const struct sp_policy_route *r)
{
	char b[SP_PREFIX_STRLEN];

	fprintf(f, "policy-route %s seq %u\n", r->name, r->seq);
	if (r->match & SP_MATCH_SOURCE)
		fprintf(f, " match source %s\n", sp_prefix_str(&r->source, b, sizeof(b)));
	if (r->match & SP_MATCH_DESTINATION)
		fprintf(f, " match destination %s\n", sp_prefix_str(&r->destination, b, sizeof(b)));
	if (r->match & SP_MATCH_PROTOCOL)
		fprintf(f, " match protocol %s\n", sp_protocol_str(r->protocol, b, sizeof(b)));
	if (r->match & SP_MATCH_SOURCE_PORT)
		fprintf(f, " match source-port %s\n", sp_port_range_str(&r->source_port, b, sizeof(b)));
	if (r->match & SP_MATCH_DESTINATION_PORT)
		fprintf(f, " match destination-port %s\n",
			sp_port_range_str(&r->destination_port, b, sizeof(b)));
	if (r->match & SP_MATCH_INPUT_INTERFACE)
		fprintf(f, " match input-interface %s\n", r->input_interface);
	if (sp_addr_is_set(&r->next_hop))
		fprintf(f, " set next-hop %s\n", sp_addr_str(&r->next_hop, b, sizeof(b)));
	if (r->table)
		fprintf(f, " set table %u\n", r->table);
	if (r->shutdown)
		fputs(" shutdown\n", f);
	fputs("!\n", f);
}

static void sp_text_signaling_proxy(FILE *f, const struct sp_config *c)
{
	const struct sp_sp_settings *sp = &c->sp;
	char b[SP_ADDR_STRLEN];

	if (!c->sp_enabled)
		return;
	fputs("signaling-proxy\n", f);
	if (sp_addr_is_set(&sp->server_side_address))
		fprintf(f, " server-side-address %s\n", sp_addr_str(&sp->server_side_address, b, sizeof(b)));
	if (sp_addr_is_set(&sp->server_side_address6))
		fprintf(f, " server-side-address %s\n", sp_addr_str(&sp->server_side_address6, b, sizeof(b)));
	if (!(sp->n_listen_ports == 1 && sp->listen_ports[0] == SP_DEFAULT_SIP_PORT)) {
		fputs(" listen-port", f);
		for (unsigned i = 0; i < sp->n_listen_ports; i++)
			fprintf(f, " %u", sp->listen_ports[i]);
		fputc('\n', f);
	}
	if (sp->default_action != SP_ACTION_FORWARD)
		fprintf(f, " default-action %s\n", sp_action_name(sp->default_action));
	if (sp_addr_is_set(&sp->local_virtual_address))
		fprintf(f, " local-virtual-address %s\n",
			sp_addr_str(&sp->local_virtual_address, b, sizeof(b)));
	if (sp->return_path == SP_RETURN_DEFAULT_GATEWAY)
		fprintf(f, " return-path default-gateway %s\n",
			sp_addr_str(&sp->return_gateway, b, sizeof(b)));
	if (sp->signaling_sockets == SP_SIGSOCK_SHARED)
		fputs(" signaling-sockets shared\n", f);
	if (sp->media != SP_MEDIA_KERNEL)
		fprintf(f, " media %s\n", sp_media_mode_name(sp->media));
	if (sp->media_port_min != SP_DEFAULT_MEDIA_PORT_MIN ||
	    sp->media_port_max != SP_DEFAULT_MEDIA_PORT_MAX)
		fprintf(f, " media-port-range %u %u\n", sp->media_port_min, sp->media_port_max);
	if (sp->signaling_port_min != SP_SIGNALING_PORT_FIRST ||
	    sp->signaling_port_max != SP_SIGNALING_PORT_LAST)
		fprintf(f, " signaling-port-range %u %u\n", sp->signaling_port_min, sp->signaling_port_max);
	if (sp->session_limit)
		fprintf(f, " session-limit %u\n", sp->session_limit);
	if (sp->source_rate != SP_DEFAULT_SOURCE_RATE)
		fprintf(f, " limit source-rate %u\n", sp->source_rate);
	if (sp->source_new_bindings != SP_DEFAULT_SOURCE_NEW_BINDINGS)
		fprintf(f, " limit source-new-bindings %u\n", sp->source_new_bindings);
	if (sp->source_bindings != SP_DEFAULT_SOURCE_BINDINGS)
		fprintf(f, " limit source-bindings %u\n", sp->source_bindings);
	if (sp->message_size_limit != SP_MESSAGE_SIZE_MAX)
		fprintf(f, " message-size-limit %u\n", sp->message_size_limit);
	if (sp->tcp_connections != SP_DEFAULT_TCP_CONNECTIONS)
		fprintf(f, " limit tcp-connections %u\n", sp->tcp_connections);
	if (sp->tcp_source_connections != SP_DEFAULT_TCP_SOURCE_CONNECTIONS)
		fprintf(f, " limit tcp-source-connections %u\n", sp->tcp_source_connections);
	if (sp->tcp_message_size != SP_DEFAULT_TCP_MESSAGE_SIZE)
		fprintf(f, " limit tcp-message-size %u\n", sp->tcp_message_size);
	if (sp->tcp_header_timeout != SP_DEFAULT_TCP_HEADER_TIMEOUT)
		fprintf(f, " limit tcp-header-timeout %u\n", sp->tcp_header_timeout);
	if (sp->tcp_idle_timeout != SP_DEFAULT_TCP_IDLE_TIMEOUT)
		fprintf(f, " limit tcp-idle-timeout %u\n", sp->tcp_idle_timeout);
	if (sp->dialog_early_timeout != SP_DEFAULT_DIALOG_EARLY_TIMEOUT)
		fprintf(f, " limit dialog-early-timeout %u\n", sp->dialog_early_timeout);
	if (sp->dialog_idle_timeout != SP_DEFAULT_DIALOG_IDLE_TIMEOUT)
		fprintf(f, " limit dialog-idle-timeout %u\n", sp->dialog_idle_timeout);
	if (sp->tls_certificate[0])
		fprintf(f, " tls certificate %s key %s\n", sp->tls_certificate, sp->tls_key);
	if (sp->tls_ca[0])
		fprintf(f, " tls ca %s\n", sp->tls_ca);
	if (sp->tls_port != SP_DEFAULT_TLS_PORT)
		fprintf(f, " tls-port %u\n", sp->tls_port);
	fputs("!\n", f);
}

static void sp_text_redundancy(FILE *f, const struct sp_redundancy *r)
{
	char b[SP_ADDR_STRLEN];

	if (!r->configured)
		return;
	fputs("redundancy\n", f);
	fprintf(f, " role %s\n", sp_role_name(r->role));
	if (sp_addr_is_set(&r->local_address))
		fprintf(f, " local-address %s port %u\n", sp_addr_str(&r->local_address, b, sizeof(b)),
			r->local_port);
	if (sp_addr_is_set(&r->peer_address))
		fprintf(f, " peer-address %s port %u\n", sp_addr_str(&r->peer_address, b, sizeof(b)),
			r->peer_port);
	if (r->key[0]) {
		/* never in clear: a screen, a paste or a diff would show it */
		char obf[SP_KEYOBF_MAX];

		sp_keyobf_encode(r->key, obf, sizeof(obf));
		fprintf(f, " authentication key 7 %s\n", obf);
	}
	fputs("!\n", f);
}

static void sp_text_cli(FILE *f, const struct sp_cli_settings *c)
{
	char pb[SP_PREFIX_STRLEN];
	bool any = false;

	if (c->login_timeout != SP_DEFAULT_CLI_LOGIN_TIMEOUT) {
		fprintf(f, "cli login-timeout %u\n", c->login_timeout);
		any = true;
	}
	if (c->exec_timeout != SP_DEFAULT_CLI_EXEC_TIMEOUT) {
		fprintf(f, "cli exec-timeout %u\n", c->exec_timeout);
		any = true;
	}
	for (unsigned i = 0; i < c->n_access; i++) {
		fprintf(f, "cli access-class %s\n", sp_prefix_str(&c->access[i], pb, sizeof(pb)));
		any = true;
	}
	if (c->banner_motd[0]) {
		fprintf(f, "banner motd %s\n", c->banner_motd);
		any = true;
	}
	for (unsigned i = 0; i < c->n_log_hosts; i++) {
		char ab[SP_ADDR_STRLEN];

		fprintf(f, "logging host %s", sp_addr_str(&c->log_hosts[i].addr, ab, sizeof(ab)));
		if (c->log_hosts[i].port != SP_DEFAULT_SYSLOG_PORT)
			fprintf(f, " port %u", c->log_hosts[i].port);
		fputc('\n', f);
		any = true;
	}
	if (any)
		fputs("!\n", f);
}

char *sp_config_to_text(const struct sp_config *c, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	fputs("!\n", f);
	fprintf(f, "hostname %s\n", c->hostname);
	fputs("!\n", f);
	for (size_t i = 0; i < c->n_users; i++) {
		const struct sp_user *u = &c->users[i];

		if (u->privilege != SP_USER_PRIVILEGE_NONE)
			fprintf(f, "username %s privilege %d secret hashed %s\n", u->name, u->privilege,
				u->secret_hash);
		else
			fprintf(f, "username %s secret hashed %s\n", u->name, u->secret_hash);
	}
	if (c->enable_secret_hash)
		fprintf(f, "enable secret hashed %s\n", c->enable_secret_hash);
	if (c->n_users || c->enable_secret_hash)
		fputs("!\n", f);
	sp_text_cli(f, &c->cli);
	/* before the blocks that name them: pasted into a CLI, each block is
	 * validated as it is left */
	sp_config_mp_text(f, c);
	sp_text_signaling_proxy(f, c);
	for (size_t i = 0; i < c->n_interfaces; i++) {
		const struct sp_interface *itf = &c->interfaces[i];

		fprintf(f, "interface %s\n", itf->name);
		if (itf->vpn_id)
			fprintf(f, " vpn-id %u\n", itf->vpn_id);
		if (itf->side != SP_SIDE_NONE)
			fprintf(f, " signaling-proxy %s\n", sp_side_name(itf->side));
		fputs("!\n", f);
	}
	for (size_t i = 0; i < c->n_strategies; i++)
		sp_text_strategy(f, &c->strategies[i]);
	for (size_t i = 0; i < c->n_policy_routes; i++)
		sp_text_policy_route(f, &c->policy_routes[i]);
	sp_text_redundancy(f, &c->redundancy);
	fputs("end\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}
