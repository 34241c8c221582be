/*
 * Transport endpoints (IPv4/IPv6 address + port) in a compact, fixed-size
 * form that can be stored in tables, compared and hashed byte for byte.
 */
#ifndef SP_ENDPOINT_H
#define SP_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* "[ffff:...:255.255.255.255]:65535" plus NUL. */
#define SP_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8)

/*
 * Unused address bytes are always zero (the constructors see to it), so two
 * equal endpoints are equal as memory and hash the same.
 */
struct sp_endpoint {
	uint8_t family;		/* AF_INET, AF_INET6, or 0 for "none" */
	uint8_t reserved;	/* always 0 */
	uint16_t port;		/* host byte order; 0 when not relevant */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
};

void sp_endpoint_clear(struct sp_endpoint *ep);
void sp_endpoint_set_v4(struct sp_endpoint *ep, struct in_addr addr, uint16_t port);
void sp_endpoint_set_v6(struct sp_endpoint *ep, const struct in6_addr *addr, uint16_t port);
/* Literal IPv4 or IPv6 address (no brackets). Returns 0 or -EINVAL. */
int sp_endpoint_parse(struct sp_endpoint *ep, const char *addr, uint16_t port);
/* Returns 0 or -EAFNOSUPPORT / -EINVAL. */
int sp_endpoint_from_sockaddr(struct sp_endpoint *ep, const struct sockaddr *sa, socklen_t len);
/* Returns the length of the filled sockaddr, or 0 for an empty endpoint. */
socklen_t sp_endpoint_to_sockaddr(const struct sp_endpoint *ep, struct sockaddr_storage *ss);
bool sp_endpoint_equal(const struct sp_endpoint *a, const struct sp_endpoint *b);
/* Same address, port ignored. */
bool sp_endpoint_same_addr(const struct sp_endpoint *a, const struct sp_endpoint *b);
/* "192.0.2.1:5060", "[2001:db8::1]:5060", or "-" when empty; returns buf. */
char *sp_endpoint_format(const struct sp_endpoint *ep, char *buf, size_t len);
/* The address alone, as text (IPv6 without brackets); "?" when unprintable. */
void sp_endpoint_host(const struct sp_endpoint *ep, char *buf, size_t len);

#endif
