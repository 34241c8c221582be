/* Transport endpoints: construction, conversion, comparison, formatting. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sp_endpoint.h"

void sp_endpoint_clear(struct sp_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
}

void sp_endpoint_set_v4(struct sp_endpoint *ep, struct in_addr addr, uint16_t port)
{
	sp_endpoint_clear(ep);
	ep->family = AF_INET;
	ep->port = port;
	ep->addr.v4 = addr;
}

void sp_endpoint_set_v6(struct sp_endpoint *ep, const struct in6_addr *addr, uint16_t port)
{
	sp_endpoint_clear(ep);
	ep->family = AF_INET6;
	ep->port = port;
	ep->addr.v6 = *addr;
}

int sp_endpoint_parse(struct sp_endpoint *ep, const char *addr, uint16_t port)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, addr, &v4) == 1) {
		sp_endpoint_set_v4(ep, v4, port);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6) == 1) {
		sp_endpoint_set_v6(ep, &v6, port);
		return 0;
	}
	return -EINVAL;
}

int sp_endpoint_from_sockaddr(struct sp_endpoint *ep, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (len < sizeof(*sin))
			return -EINVAL;
		sp_endpoint_set_v4(ep, sin->sin_addr, ntohs(sin->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (len < sizeof(*sin6))
			return -EINVAL;
		sp_endpoint_set_v6(ep, &sin6->sin6_addr, ntohs(sin6->sin6_port));
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t sp_endpoint_to_sockaddr(const struct sp_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		sin->sin_addr = ep->addr.v4;
		return sizeof(*sin);
	}
	if (ep->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		sin6->sin6_addr = ep->addr.v6;
		return sizeof(*sin6);
	}
	return 0;
}

bool sp_endpoint_equal(const struct sp_endpoint *a, const struct sp_endpoint *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

bool sp_endpoint_same_addr(const struct sp_endpoint *a, const struct sp_endpoint *b)
{
	return a->family == b->family &&
	       memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes)) == 0;
}

char *sp_endpoint_format(const struct sp_endpoint *ep, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (ep->family != AF_INET && ep->family != AF_INET6) {
		snprintf(buf, len, "-");
		return buf;
	}
	sp_endpoint_host(ep, host, sizeof(host));
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, ep->port);
	else
		snprintf(buf, len, "%s:%u", host, ep->port);
	return buf;
}

/* Dotted quad by hand: glibc's inet_ntop formats through sprintf, and the
 * binding view formats four addresses per message (~9 % of the daemon's
 * instructions, bench/RESULTS.md 2026-11-30). */
static bool sp_endpoint_format_v4(const struct in_addr *a, char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *p = buf;

	if (len < INET_ADDRSTRLEN)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return true;
}

/* IPv6 by hand, for the same reason (on IPv6 inet_ntop was a third of the
 * daemon's instructions per call, bench/RESULTS.md 2026-12-04): exactly
 * what glibc's inet_ntop writes (RFC 5952: the leftmost longest run of two
 * or more zero groups as "::", lowercase hex without leading zeros, an
 * IPv4-mapped or -compatible address with its dotted quad). */
static bool sp_endpoint_format_v6(const struct in6_addr *a, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	char *p = buf;

	if (len < INET6_ADDRSTRLEN)
		return false;
	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
		if (w[i] == 0) {
			cur = cur < 0 ? i : cur;
			cur_len++;
			if (cur_len > best_len) {
				best = cur;
				best_len = cur_len;
			}
		} else {
			cur = -1;
			cur_len = 0;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return sp_endpoint_format_v4((const struct in_addr *)&a->s6_addr[12], p,
						     len - (size_t)(p - buf));
		/* the group's hex digits, without leading zeros */
		for (int shift = w[i] ? (31 - __builtin_clz(w[i])) / 4 * 4 : 0; shift >= 0; shift -= 4)
			*p++ = hex[w[i] >> shift & 15];
	}
	if (best >= 0 && best + best_len == 8)
		*p++ = ':';
	*p = '\0';
	return true;
}

/* The last texts written, per thread, keyed by the address itself: every
 * message formats its binding's four addresses (terminal, E, C, D), which
 * are the same from one message to the next (on IPv6 this formatting was
 * 12.4k of 181k instructions per call, bench/count --ipv6). Keyed by value,
 * the memo needs no invalidation: a binding whose address changes (restore,
 * sync, a transport change) simply asks for another key. */
#define SP_ENDPOINT_MEMO 64 /* = 1 << (64 - 58), the index below */

struct sp_endpoint_memo {
	uint8_t family; /* 0: empty */
	uint8_t len;	/* strlen(text) */
	uint8_t bytes[16];
	char text[INET6_ADDRSTRLEN];
};

static __thread struct sp_endpoint_memo memo[SP_ENDPOINT_MEMO];

static struct sp_endpoint_memo *sp_endpoint_memo_slot(const struct sp_endpoint *ep)
{
	uint64_t lo, hi;

	memcpy(&lo, ep->addr.bytes, 8);
	memcpy(&hi, ep->addr.bytes + 8, 8);
	/* a product's high bits depend on all of its factor's bits (the low
	 * ones only on the low ones, which addresses of one prefix share) */
	lo = (lo * 0x9e3779b97f4a7c15ull ^ hi * 0xff51afd7ed558ccdull ^ ep->family) *
	     0xc4ceb9fe1a85ec53ull;
	return &memo[lo >> 58];
}

static bool sp_endpoint_format_host(const struct sp_endpoint *ep, char *buf, size_t len)
{
	if (ep->family == AF_INET)
		return sp_endpoint_format_v4(&ep->addr.v4, buf, len);
	return sp_endpoint_format_v6(&ep->addr.v6, buf, len);
}

void sp_endpoint_host(const struct sp_endpoint *ep, char *buf, size_t len)
{
	if (ep->family == AF_INET || ep->family == AF_INET6) {
		struct sp_endpoint_memo *m = sp_endpoint_memo_slot(ep);

		if (m->family == ep->family && len > m->len &&
		    memcmp(m->bytes, ep->addr.bytes, sizeof(m->bytes)) == 0) {
			memcpy(buf, m->text, (size_t)m->len + 1);
			return;
		}
		if (sp_endpoint_format_host(ep, buf, len)) {
			size_t n = strlen(buf);

			m->family = ep->family;
			m->len = (uint8_t)n;
			memcpy(m->bytes, ep->addr.bytes, sizeof(m->bytes));
			memcpy(m->text, buf, n + 1);
			return;
		}
	}
	if (!inet_ntop(ep->family, &ep->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}
