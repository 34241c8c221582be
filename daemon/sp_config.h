/* The configuration model: the single source of truth that the CLI, the MIB
 * and the config file read and write.
 *
 * Every change is made on a candidate copy (sp_config_dup), validated as a
 * whole (sp_config_validate) and committed (sp_config_store_commit), which
 * computes exactly what was added, changed or removed and tells the
 * subscribers (engine, kernel programmer, MIB). A subscriber that refuses
 * aborts the commit and those already told are given the reverse change, so a
 * change is applied entirely or not at all. */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sp_error.h"
#include "sp_valid.h"

enum sp_action {
	SP_ACTION_UNSET = 0,
	SP_ACTION_PROXY,
	SP_ACTION_FORWARD,
	SP_ACTION_DROP,
};

enum sp_return_path {
	SP_RETURN_LEARN = 0,
	SP_RETURN_DEFAULT_GATEWAY,
};

/* How UDP bindings receive from and send to their servers: a socket per
 * binding on C:c, or one socket per C (and engine worker) for all of them
 * (TPROXY in, a raw socket out: no descriptor per binding). */
enum sp_signaling_sockets {
	SP_SIGSOCK_PER_BINDING = 0,
	SP_SIGSOCK_SHARED,
};

enum sp_media_mode {
	SP_MEDIA_KERNEL = 0,
	SP_MEDIA_OFF,
	SP_MEDIA_PROXY,	/* the remote media proxies (`media-proxy NAME`) */
};

/* A strategy's media: its own choice, or the signaling-proxy's (unset). */
enum sp_strategy_media {
	SP_STRATEGY_MEDIA_UNSET = 0,
	SP_STRATEGY_MEDIA_KERNEL,
	SP_STRATEGY_MEDIA_OFF,
	SP_STRATEGY_MEDIA_PROXY,	/* every media proxy, or the one named */
};

/* What a call gets when no media proxy of its group answers. */
enum sp_mp_fallback {
	SP_MP_FALLBACK_KERNEL = 0,	/* the in-kernel media */
	SP_MP_FALLBACK_REFUSE,		/* 503 to the caller */
};

enum sp_if_side {
	SP_SIDE_NONE = 0,
	SP_SIDE_TERMINAL,
	SP_SIDE_SERVER,
};

enum sp_role {
	SP_ROLE_ACTIVE = 0,
	SP_ROLE_STANDBY,
};

/* Which match fields of a strategy are set. */
enum sp_match_field {
	SP_MATCH_VPN = 1 << 0,
	SP_MATCH_VLAN = 1 << 1,
	SP_MATCH_MPLS = 1 << 2,
	SP_MATCH_PROTOCOL = 1 << 3,
	SP_MATCH_SOURCE = 1 << 4,
	SP_MATCH_SOURCE_PORT = 1 << 5,
	SP_MATCH_DESTINATION = 1 << 6,
	SP_MATCH_DESTINATION_PORT = 1 << 7,
	SP_MATCH_INPUT_INTERFACE = 1 << 8, /* policy routes only */
};

#define SP_FILE_MAX 255		/* a file's path */
#define SP_SERVER_NAME_MAX 253	/* a DNS name */

enum sp_server_transport {
	SP_SERVER_TRANSPORT_DEFAULT = 0,	/* UDP, not said */
	SP_SERVER_TRANSPORT_UDP,
	SP_SERVER_TRANSPORT_TCP,
	SP_SERVER_TRANSPORT_TLS,
};

struct sp_strategy {
	char name[SP_NAME_MAX + 1];
	uint32_t seq;
	uint32_t match; /* enum sp_match_field bits */
	uint32_t vpn_id;
	uint32_t vlan;
	uint32_t mpls_label;
	uint8_t protocol;
	struct sp_prefix source;
	struct sp_port_range source_port;
	struct sp_prefix destination;
	struct sp_port_range destination_port;
	enum sp_action action;
	struct sp_addr server;
	uint16_t server_port;
	/* how the SP reaches the server (`server ... transport`): UDP by
	 * default; udp said explicitly makes it a UDP-only peer (RFC 3261
	 * §18.1.1: a request over 1300 bytes is refused 513, not fragmented) */
	enum sp_server_transport server_transport;
	/* over TLS: the name the server's certificate must say (and SNI);
	 * "": its address (`server ... transport tls name NAME`) */
	char server_name[SP_SERVER_NAME_MAX + 1];
	/* remove Server, User-Agent and Warning from the server's messages
	 * towards terminals: the server's software is not told to scanners */
	bool hide_server_identity;
	/* kept in the configuration but not installed (`shutdown`; SNMP
	 * RowStatus notInService) */
	bool shutdown;
	enum sp_strategy_media media;
	char media_proxy[SP_NAME_MAX + 1]; /* media proxy: this one only; "": any */
};

#define SP_MP_DEFAULT_WEIGHT 1
#define SP_MP_WEIGHT_MAX 1000
#define SP_MP_MAX 64

/* `media-proxy NAME`: a remote media proxy (rtpengine) driven over its NG
 * control protocol (UDP). */
struct sp_media_proxy {
	char name[SP_NAME_MAX + 1];
	struct sp_addr control;		/* its NG address; unset: not usable */
	uint16_t control_port;
	uint32_t weight;		/* share of new calls; 0: none (drained) */
	enum sp_mp_fallback fallback;
	/* the address it announces in SDP towards each side, one per family
	 * (`media-address SIDE ADDRESS` sets its family's); unset: its own. A
	 * call between the families (interworking) needs the terminals'
	 * family on the terminal side and the server's on the server side. */
	struct sp_addr media_terminal_side;	/* IPv4 */
	struct sp_addr media_server_side;	/* IPv4 */
	struct sp_addr media_terminal_side6;	/* IPv6 */
	struct sp_addr media_server_side6;	/* IPv6 */
	bool shutdown;			/* kept but not used (`shutdown`, notInService) */
};

struct sp_policy_route {
	char name[SP_NAME_MAX + 1];
	uint32_t seq;
	uint32_t match;
	struct sp_prefix source;
	struct sp_prefix destination;
	uint8_t protocol;
	struct sp_port_range source_port;
	struct sp_port_range destination_port;
	char input_interface[SP_IFNAME_MAX];
	struct sp_addr next_hop; /* either a next hop ... */
	uint32_t table;          /* ... or a table; 0: none set */
	bool shutdown;           /* kept but not installed (`shutdown`, notInService) */
};

struct sp_interface {
	char name[SP_IFNAME_MAX];
	uint32_t vpn_id; /* 0: none */
	enum sp_if_side side;
};

/* A local user's privilege, as Cisco's `username NAME privilege N`: none
 * set (user EXEC, `enable` with the enable secret), 1 (read-only user EXEC
 * for good: `enable` refused) or 15 (privileged EXEC at login). */
#define SP_USER_PRIVILEGE_NONE 0
#define SP_USER_PRIVILEGE_READ_ONLY 1
#define SP_USER_PRIVILEGE_ADMIN 15

struct sp_user {
	char name[SP_USERNAME_MAX + 1];
	char *secret_hash; /* crypt(3) string */
	int privilege;     /* SP_USER_PRIVILEGE_* */
};

#define SP_LISTEN_PORTS_MAX 8
#define SP_DEFAULT_SIP_PORT 5060
#define SP_DEFAULT_MEDIA_PORT_MIN 20000
#define SP_DEFAULT_MEDIA_PORT_MAX 29999
/* Server-side ports c, one per terminal binding on each C (the engine
 * binds them; the media port range is validated not to overlap them): the
 * default `signaling-port-range`. */
#define SP_SIGNALING_PORT_FIRST 40000
#define SP_SIGNALING_PORT_LAST 49999
#define SP_SIGNALING_PORT_MIN 1024	/* the lowest a range may start at */
/* Per-source limits (a source: a terminal address in its VPN); 0 = off. */
#define SP_DEFAULT_SOURCE_RATE 1000         /* messages/s */
#define SP_DEFAULT_SOURCE_NEW_BINDINGS 100  /* new bindings/s */
#define SP_DEFAULT_SOURCE_BINDINGS 1000     /* bindings held */
#define SP_SOURCE_LIMIT_MAX 10000000u
/* Largest request sent to a server over UDP: an IPv4 datagram's payload
 * (65535 - 20 - 8); the smallest a limit may be is RFC 3261's 512-byte
 * floor for what a UA must accept. */
#define SP_MESSAGE_SIZE_MIN 512
#define SP_MESSAGE_SIZE_MAX 65507
/* SIP over TCP from terminals (`limit tcp-...`; 0: off, except the message
 * size): connections open at once in all and from one address, the
 * largest message, how long a message begun may take to arrive whole
 * (slowloris) and how long a connection may stay silent. */
#define SP_DEFAULT_TCP_CONNECTIONS 16384
#define SP_DEFAULT_TCP_SOURCE_CONNECTIONS 128
#define SP_DEFAULT_TCP_MESSAGE_SIZE 65535
#define SP_TCP_MESSAGE_SIZE_MAX 1048576
#define SP_DEFAULT_TCP_HEADER_TIMEOUT 10    /* s */
#define SP_DEFAULT_TCP_IDLE_TIMEOUT 3600    /* s */
#define SP_DEFAULT_TLS_PORT 5061
/* How long a call's dialog is kept without a message: an INVITE without a
 * final answer (RFC 3261 Timer C, > 3 min), and a confirmed call without
 * session timer (long calls send nothing; a 200 never ACKed or a call
 * never ended with a BYE stays this long). */
#define SP_DEFAULT_DIALOG_EARLY_TIMEOUT 180	/* s */
#define SP_DEFAULT_DIALOG_IDLE_TIMEOUT 43200	/* s, 12 h */
#define SP_DIALOG_TIMEOUT_MAX 2000000		/* s, ~23 days: fits ms in 32 bits */

struct sp_sp_settings {
	/* C, one per address family: the IPv4 one, and the IPv6 one that
	 * the bindings of IPv6 servers take (`server-side-address` puts an
	 * address in its family's slot) */
	struct sp_addr server_side_address;
	struct sp_addr server_side_address6;
	uint16_t listen_ports[SP_LISTEN_PORTS_MAX];
	unsigned n_listen_ports;
	enum sp_action default_action; /* SP_ACTION_FORWARD or SP_ACTION_DROP */
	struct sp_addr local_virtual_address;
	enum sp_return_path return_path;
	struct sp_addr return_gateway;
	enum sp_signaling_sockets signaling_sockets;
	enum sp_media_mode media;
	uint16_t media_port_min, media_port_max;
	/* c of every C (`signaling-port-range`), 10 000 by default */
	uint16_t signaling_port_min, signaling_port_max;
	uint32_t session_limit; /* 0: unlimited */
	/* per-source limits, 0: off. The rates are enforced by nftables where
	 * the packet is classified, the bindings held by the engine. */
	uint32_t source_rate;
	uint32_t source_new_bindings;
	uint32_t source_bindings;
	uint32_t message_size_limit; /* bytes, towards a server */
	uint32_t tcp_connections, tcp_source_connections; /* 0: off */
	uint32_t tcp_message_size;			  /* bytes */
	uint32_t tcp_header_timeout, tcp_idle_timeout;	  /* s, 0: off */
	uint32_t dialog_early_timeout, dialog_idle_timeout; /* s, >= 1 */
	/* SIP over TLS (`tls ...`): E's certificate and key (PEM files; ""
	 * none: the TLS port is not intercepted), the CA bundle servers are
	 * verified against ("": the system's), the port terminals reach E's
	 * TLS on. tls_load counts `tls certificate` commands: entering it
	 * again re-reads the files (a renewed certificate) without a restart. */
	char tls_certificate[SP_FILE_MAX + 1];
	char tls_key[SP_FILE_MAX + 1];
	char tls_ca[SP_FILE_MAX + 1];
	uint16_t tls_port;
	uint32_t tls_load;
};

struct sp_redundancy {
	bool configured;
	enum sp_role role;
	struct sp_addr local_address;
	uint16_t local_port;
	struct sp_addr peer_address;
	uint16_t peer_port;
	char key[SP_KEY_MAX + 1];
};

/* The management plane (`cli ...` commands): who may open a TCP session and
 * how long one may stay. */
#define SP_CLI_ACCESS_MAX 16
#define SP_DEFAULT_CLI_LOGIN_TIMEOUT 30  /* seconds to log in, from the connection */
#define SP_DEFAULT_CLI_EXEC_TIMEOUT 600  /* seconds of idleness, once logged in */
#define SP_CLI_TIMEOUT_MAX 86400

#define SP_BANNER_MAX 200
#define SP_LOG_HOSTS_MAX 4
#define SP_DEFAULT_SYSLOG_PORT 514

/* `logging host A.B.C.D [port N]`: a remote syslog host (UDP). */
struct sp_log_host {
	struct sp_addr addr;
	uint16_t port;
};

struct sp_cli_settings {
	uint32_t login_timeout;
	uint32_t exec_timeout; /* 0: never */
	/* permitted TCP sources (`cli access-class`); none: every source */
	struct sp_prefix access[SP_CLI_ACCESS_MAX];
	unsigned n_access;
	char banner_motd[SP_BANNER_MAX + 1]; /* `banner motd TEXT`; empty: the default */
	struct sp_log_host log_hosts[SP_LOG_HOSTS_MAX];
	unsigned n_log_hosts;
};

struct sp_config {
	char hostname[SP_HOSTNAME_MAX + 1];
	char *enable_secret_hash;
	struct sp_user *users;
	size_t n_users;
	bool sp_enabled; /* the signaling-proxy block has been entered */
	struct sp_sp_settings sp;
	/* Kept sorted: strategies and policy routes by seq (unique across names),
	 * interfaces and users by name. */
	struct sp_strategy *strategies;
	size_t n_strategies;
	struct sp_policy_route *policy_routes;
	size_t n_policy_routes;
	struct sp_interface *interfaces;
	size_t n_interfaces;
	struct sp_media_proxy *media_proxies; /* sorted by name */
	size_t n_media_proxies;
	struct sp_redundancy redundancy;
	struct sp_cli_settings cli; /* part of SP_OBJ_USERS: the management plane */
};

struct sp_config *sp_config_new(void);
struct sp_config *sp_config_dup(const struct sp_config *c);
void sp_config_free(struct sp_config *c);
bool sp_config_equal(const struct sp_config *a, const struct sp_config *b);

/* Whole-configuration checks that single commands cannot make (unique
 * sequence numbers, proxy needs a server, ...). */
int sp_config_validate(const struct sp_config *c, struct sp_error *e);

/* Lookups and creation. Pointers are valid until the next change of the same
 * collection. */
struct sp_strategy *sp_config_strategy_find(struct sp_config *c, const char *name, uint32_t seq);
struct sp_strategy *sp_config_strategy_create(struct sp_config *c, const char *name, uint32_t seq,
					      struct sp_error *e);
/* Removes one entry (seq != 0) or every entry of the name (seq == 0);
 * returns the number removed. */
size_t sp_config_strategy_remove(struct sp_config *c, const char *name, uint32_t seq);

struct sp_policy_route *sp_config_policy_route_find(struct sp_config *c, const char *name,
						    uint32_t seq);
struct sp_policy_route *sp_config_policy_route_create(struct sp_config *c, const char *name,
						      uint32_t seq, struct sp_error *e);
size_t sp_config_policy_route_remove(struct sp_config *c, const char *name, uint32_t seq);

struct sp_interface *sp_config_interface_find(struct sp_config *c, const char *name);
struct sp_interface *sp_config_interface_get(struct sp_config *c, const char *name,
					     struct sp_error *e);
bool sp_config_interface_remove(struct sp_config *c, const char *name);

/* Media proxies (sp_config_mp.c). get creates one with the defaults. */
struct sp_media_proxy *sp_config_mp_find(const struct sp_config *c, const char *name);
struct sp_media_proxy *sp_config_mp_get(struct sp_config *c, const char *name, struct sp_error *e);
bool sp_config_mp_remove(struct sp_config *c, const char *name);
void sp_media_proxy_defaults(struct sp_media_proxy *mp);
bool sp_media_proxy_equal(const struct sp_media_proxy *a, const struct sp_media_proxy *b);
/* The media address of that side and family (AF_INET, AF_INET6); NULL
 * when none is set. The const-less one is the slot `media-address` writes. */
const struct sp_addr *sp_media_proxy_address(const struct sp_media_proxy *mp, bool terminal_side,
					     int family);
struct sp_addr *sp_media_proxy_slot(struct sp_media_proxy *mp, bool terminal_side, int family);
/* What sp_config_validate checks of the media proxies and of the media
 * choices that name them. */
int sp_config_mp_validate(const struct sp_config *c, struct sp_error *e);
void sp_config_mp_text(FILE *f, const struct sp_config *c);
/* The media of a strategy once the signaling-proxy's is applied. */
enum sp_media_mode sp_strategy_media_mode(const struct sp_config *c, const struct sp_strategy *s);
const char *sp_media_mode_name(enum sp_media_mode m);
const char *sp_mp_fallback_name(enum sp_mp_fallback f);

struct sp_user *sp_config_user_find(const struct sp_config *c, const char *name);
int sp_config_user_set(struct sp_config *c, const char *name, int privilege,
		       const char *secret_hash, struct sp_error *e);
bool sp_config_user_remove(struct sp_config *c, const char *name);
int sp_config_enable_secret_set(struct sp_config *c, const char *secret_hash);

void sp_sp_settings_defaults(struct sp_sp_settings *s);
/* The server-side address C of family (AF_INET, AF_INET6), or NULL when
 * none is configured for it. */
const struct sp_addr *sp_sp_server_side(const struct sp_sp_settings *s, int family);
void sp_cli_settings_defaults(struct sp_cli_settings *s);
/* Whether `cli access-class` lets a TCP session from `peer` in (an IPv4
 * peer seen as ::ffff:a.b.c.d matches IPv4 prefixes). */
bool sp_cli_access_permits(const struct sp_cli_settings *s, const struct sp_addr *peer);

/* The text of `show running-config`: canonical, stable order, one command per
 * line; also what `write memory` stores and the loader reads back. */
char *sp_config_to_text(const struct sp_config *c, size_t *len);

const char *sp_action_name(enum sp_action a);
const char *sp_side_name(enum sp_if_side s);
const char *sp_role_name(enum sp_role r);

/* ---- Changes and subscribers ---- */

enum sp_config_object {
	SP_OBJ_GLOBAL,     /* hostname, signaling-proxy settings */
	SP_OBJ_STRATEGY,
	SP_OBJ_POLICY_ROUTE,
	SP_OBJ_INTERFACE,
	SP_OBJ_REDUNDANCY,
	SP_OBJ_USERS,      /* users, enable secret and the cli settings */
	SP_OBJ_MEDIA_PROXY,
};

enum sp_change_op { SP_CHANGE_ADD, SP_CHANGE_MODIFY, SP_CHANGE_REMOVE };

struct sp_config_change {
	enum sp_config_object object;
	enum sp_change_op op;
	const void *old_item; /* NULL for ADD (and for GLOBAL/REDUNDANCY/USERS it is the config) */
	const void *new_item; /* NULL for REMOVE */
};

struct sp_config_diff {
	struct sp_config_change *changes;
	size_t n;
};

/* Changes from a to b, in a stable order (object kind, then key). */
int sp_config_diff(const struct sp_config *a, const struct sp_config *b,
		   struct sp_config_diff *out);
void sp_config_diff_free(struct sp_config_diff *d);
const char *sp_config_object_name(enum sp_config_object o);

/* A subscriber sees the old and new configuration and the change set between
 * them; returning -1 (with a message) refuses the change. */
typedef int (*sp_config_subscriber_fn)(void *arg, const struct sp_config *old_cfg,
				       const struct sp_config *new_cfg,
				       const struct sp_config_diff *diff, struct sp_error *e);

struct sp_config_store;

struct sp_config_store *sp_config_store_new(void);
void sp_config_store_free(struct sp_config_store *s);
const struct sp_config *sp_config_store_current(const struct sp_config_store *s);
int sp_config_store_subscribe(struct sp_config_store *s, const char *name,
			      sp_config_subscriber_fn fn, void *arg);
/* Validates `candidate`, tells every subscriber, and on success takes
 * ownership of it as the running configuration. On failure nothing changes,
 * the candidate is freed, and `e` says why. `n_changes` (optional) receives the
 * number of changes committed. */
int sp_config_store_commit(struct sp_config_store *s, struct sp_config *candidate,
			   size_t *n_changes, struct sp_error *e);
uint64_t sp_config_store_generation(const struct sp_config_store *s);

#endif
