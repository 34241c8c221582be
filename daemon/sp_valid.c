#include "config.h"
#include "sp_valid.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Strict decimal: no sign, no spaces, no hex, no trailing junk. */
static int sp_parse_decimal(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 10)
		return -1;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int sp_parse_u32(const char *s, uint32_t min, uint32_t max, const char *what, uint32_t *out,
		 struct sp_error *e)
{
	uint64_t v;

	if (sp_parse_decimal(s, &v) < 0 || v < min || v > max)
		return sp_error_set(e, "Invalid %s \"%s\" (expected %u-%u)", what, s ? s : "", min,
				    max);
	*out = (uint32_t)v;
	return 0;
}

int sp_parse_addr(const char *s, struct sp_addr *out, struct sp_error *e)
{
	struct sp_addr a = { 0 };

	if (s && inet_pton(AF_INET, s, &a.u.v4) == 1)
		a.family = AF_INET;
	else if (s && inet_pton(AF_INET6, s, &a.u.v6) == 1)
		a.family = AF_INET6;
	else
		return sp_error_set(e, "Invalid address \"%s\"", s ? s : "");
	*out = a;
	return 0;
}

int sp_parse_ipv4(const char *s, struct sp_addr *out, struct sp_error *e)
{
	struct sp_addr a = { 0 };

	if (!s || inet_pton(AF_INET, s, &a.u.v4) != 1)
		return sp_error_set(e, "Invalid IPv4 address \"%s\"", s ? s : "");
	a.family = AF_INET;
	*out = a;
	return 0;
}

static void sp_prefix_clear_host_bits(struct sp_prefix *p)
{
	uint8_t *b = p->addr.family == AF_INET ? (uint8_t *)&p->addr.u.v4 : p->addr.u.v6.s6_addr;
	unsigned bytes = p->addr.family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit = i * 8;
		if (bit >= p->len)
			b[i] = 0;
		else if (bit + 8 > p->len)
			b[i] &= (uint8_t)(0xff << (8 - (p->len - bit)));
	}
}

int sp_parse_prefix(const char *s, struct sp_prefix *out, struct sp_error *e)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct sp_prefix p = { 0 };
	const char *slash;
	uint64_t len;
	unsigned max;

	if (!s || strlen(s) >= sizeof(buf))
		return sp_error_set(e, "Invalid prefix \"%s\"", s ? s : "");
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, &p.addr.u.v4) == 1)
		p.addr.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &p.addr.u.v6) == 1)
		p.addr.family = AF_INET6;
	else
		return sp_error_set(e, "Invalid prefix \"%s\"", s);
	max = p.addr.family == AF_INET ? 32 : 128;
	if (slash) {
		if (sp_parse_decimal(slash + 1, &len) < 0 || len > max)
			return sp_error_set(e, "Invalid prefix \"%s\"", s);
	} else {
		len = max;
	}
	p.len = (uint8_t)len;
	sp_prefix_clear_host_bits(&p);
	*out = p;
	return 0;
}

int sp_parse_port(const char *s, uint16_t *out, struct sp_error *e)
{
	uint64_t v;

	if (sp_parse_decimal(s, &v) < 0 || v < 1 || v > 65535)
		return sp_error_set(e, "Invalid port \"%s\" (expected 1-65535)", s ? s : "");
	*out = (uint16_t)v;
	return 0;
}

int sp_parse_port_range(const char *s, struct sp_port_range *out, struct sp_error *e)
{
	char lo[8], hi[8];
	const char *dash;
	struct sp_port_range r;
	struct sp_error ignored;

	if (!s)
		return sp_error_set(e, "Invalid port range \"\"");
	dash = strchr(s, '-');
	if (!dash) {
		if (sp_parse_port(s, &r.lo, e) < 0)
			return -1;
		r.hi = r.lo;
	} else {
		if ((size_t)(dash - s) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
			return sp_error_set(e, "Invalid port range \"%s\"", s);
		memcpy(lo, s, (size_t)(dash - s));
		lo[dash - s] = '\0';
		strcpy(hi, dash + 1);
		if (sp_parse_port(lo, &r.lo, &ignored) < 0 || sp_parse_port(hi, &r.hi, &ignored) < 0)
			return sp_error_set(e, "Invalid port range \"%s\" (expected N or N-M, 1-65535)",
					    s);
		if (r.lo > r.hi)
			return sp_error_set(e, "Invalid port range \"%s\" (start above end)", s);
	}
	*out = r;
	return 0;
}

int sp_parse_protocol(const char *s, uint8_t *out, struct sp_error *e)
{
	uint64_t v;

	if (s && strcasecmp(s, "udp") == 0) {
		*out = IPPROTO_UDP;
		return 0;
	}
	if (s && strcasecmp(s, "tcp") == 0) {
		*out = IPPROTO_TCP;
		return 0;
	}
	if (sp_parse_decimal(s, &v) < 0 || v < 1 || v > 255)
		return sp_error_set(e, "Invalid protocol \"%s\" (expected udp, tcp or 1-255)",
				    s ? s : "");
	*out = (uint8_t)v;
	return 0;
}

int sp_check_name(const char *s, const char *what, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > SP_NAME_MAX)
		return sp_error_set(e, "Invalid %s name \"%s\" (1-%d characters)", what,
				    s ? s : "", SP_NAME_MAX);
	if (!isalnum((unsigned char)s[0]))
		return sp_error_set(e, "Invalid %s name \"%s\" (must start with a letter or digit)",
				    what, s);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return sp_error_set(e,
					    "Invalid %s name \"%s\" (letters, digits, '_', '.', '-')",
					    what, s);
	return 0;
}

/* RFC 1123 host label, as routers accept for their hostname. */
int sp_check_hostname(const char *s, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > SP_HOSTNAME_MAX || !isalpha((unsigned char)s[0]) || s[n - 1] == '-')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			goto bad;
	return 0;
bad:
	return sp_error_set(e,
			    "Invalid hostname \"%s\" (letters, digits and '-', starting with a letter, at most %d)",
			    s ? s : "", SP_HOSTNAME_MAX);
}

int sp_check_server_name(const char *s, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 253)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != ':')
			goto bad;
	return 0;
bad:
	return sp_error_set(e, "Invalid server name \"%s\" (a DNS name or an address, at most 253 characters)",
			    s ? s : "");
}

/* Characters the CLI grammar only takes quoted or escaped (and '|' starts an
 * output filter): running-config writes names and keys as bare words, so a
 * value holding one would load back as something else. */
static bool sp_config_word_char(char c)
{
	return !strchr("\"'\\|", c);
}

int sp_check_ifname(const char *s, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n >= SP_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || isspace((unsigned char)s[i]) || !isprint((unsigned char)s[i]) ||
		    !sp_config_word_char(s[i]))
			goto bad;
	return 0;
bad:
	return sp_error_set(e, "Invalid interface name \"%s\"", s ? s : "");
}

int sp_check_username(const char *s, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > SP_USERNAME_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			goto bad;
	return 0;
bad:
	return sp_error_set(e, "Invalid username \"%s\" (1-%d letters, digits, '_', '.', '-')",
			    s ? s : "", SP_USERNAME_MAX);
}

int sp_check_key(const char *s, struct sp_error *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 8 || n > SP_KEY_MAX)
		return sp_error_set(e, "Invalid key (8-%d printable characters but \" ' \\ |)",
				    SP_KEY_MAX);
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]) || !sp_config_word_char(s[i]))
			return sp_error_set(e, "Invalid key (8-%d printable characters but \" ' \\ |)",
					    SP_KEY_MAX);
	return 0;
}

bool sp_addr_is_set(const struct sp_addr *a)
{
	return a->family != AF_UNSPEC;
}

bool sp_addr_equal(const struct sp_addr *a, const struct sp_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
	return true;
}

bool sp_prefix_equal(const struct sp_prefix *a, const struct sp_prefix *b)
{
	return a->len == b->len && sp_addr_equal(&a->addr, &b->addr);
}

const char *sp_addr_str(const struct sp_addr *a, char *buf, size_t len)
{
	if (a->family == AF_INET || a->family == AF_INET6)
		inet_ntop(a->family, &a->u, buf, (socklen_t)len);
	else
		snprintf(buf, len, "-");
	return buf;
}

const char *sp_prefix_str(const struct sp_prefix *p, char *buf, size_t len)
{
	char a[SP_ADDR_STRLEN];

	if (!sp_addr_is_set(&p->addr))
		snprintf(buf, len, "any");
	else
		snprintf(buf, len, "%s/%u", sp_addr_str(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

const char *sp_port_range_str(const struct sp_port_range *r, char *buf, size_t len)
{
	if (r->lo == 0)
		snprintf(buf, len, "any");
	else if (r->lo == r->hi)
		snprintf(buf, len, "%u", r->lo);
	else
		snprintf(buf, len, "%u-%u", r->lo, r->hi);
	return buf;
}

const char *sp_protocol_str(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_UDP)
		snprintf(buf, len, "udp");
	else if (proto == IPPROTO_TCP)
		snprintf(buf, len, "tcp");
	else
		snprintf(buf, len, "%u", proto);
	return buf;
}
