/* Parsers and validators for every value the configuration accepts.
 * The CLI, the config file and the SNMP agent all go through these, so one
 * value is accepted or refused the same way whichever front end brings it. */
#ifndef SP_VALID_H
#define SP_VALID_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>

#include "sp_error.h"

struct sp_addr {
	uint8_t family; /* AF_UNSPEC (unset), AF_INET, AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct sp_prefix {
	struct sp_addr addr;
	uint8_t len;
};

struct sp_port_range {
	uint16_t lo, hi; /* 0/0: any */
};

#define SP_NAME_MAX 32     /* strategy and policy-route names */
#define SP_IFNAME_MAX 16   /* IFNAMSIZ */
#define SP_HOSTNAME_MAX 63
#define SP_USERNAME_MAX 32
#define SP_KEY_MAX 64
#define SP_VLAN_MIN 1
#define SP_VLAN_MAX 4094
#define SP_MPLS_MIN 16      /* 0-15 are reserved labels */
#define SP_MPLS_MAX 1048575
#define SP_VPN_MIN 1
#define SP_VPN_MAX 4294967295u
#define SP_SEQ_MIN 1
#define SP_SEQ_MAX 65535
#define SP_TABLE_MIN 1
#define SP_TABLE_MAX 4294967295u
#define SP_SESSION_LIMIT_MAX 10000000u

int sp_parse_u32(const char *s, uint32_t min, uint32_t max, const char *what, uint32_t *out,
		 struct sp_error *e);
int sp_parse_addr(const char *s, struct sp_addr *out, struct sp_error *e);
int sp_parse_ipv4(const char *s, struct sp_addr *out, struct sp_error *e);
/* "10.0.0.0/24", "2001:db8::/32"; a bare address is a host prefix; host bits
 * beyond the length are cleared, as a router does. */
int sp_parse_prefix(const char *s, struct sp_prefix *out, struct sp_error *e);
int sp_parse_port(const char *s, uint16_t *out, struct sp_error *e);
/* "N" or "N-M" with N <= M */
int sp_parse_port_range(const char *s, struct sp_port_range *out, struct sp_error *e);
/* "udp", "tcp" or 1-255 */
int sp_parse_protocol(const char *s, uint8_t *out, struct sp_error *e);
int sp_check_name(const char *s, const char *what, struct sp_error *e);
int sp_check_hostname(const char *s, struct sp_error *e);
/* A TLS server's name (what its certificate says): a DNS name or an
 * address; "" is valid (none). */
int sp_check_server_name(const char *s, struct sp_error *e);
int sp_check_ifname(const char *s, struct sp_error *e);
int sp_check_username(const char *s, struct sp_error *e);
int sp_check_key(const char *s, struct sp_error *e);

bool sp_addr_is_set(const struct sp_addr *a);
bool sp_addr_equal(const struct sp_addr *a, const struct sp_addr *b);
bool sp_prefix_equal(const struct sp_prefix *a, const struct sp_prefix *b);
/* Text forms; buffers of at least SP_ADDR_STRLEN / SP_PREFIX_STRLEN. */
#define SP_ADDR_STRLEN INET6_ADDRSTRLEN
#define SP_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)
const char *sp_addr_str(const struct sp_addr *a, char *buf, size_t len);
const char *sp_prefix_str(const struct sp_prefix *p, char *buf, size_t len);
const char *sp_port_range_str(const struct sp_port_range *r, char *buf, size_t len);
const char *sp_protocol_str(uint8_t proto, char *buf, size_t len);

#endif
