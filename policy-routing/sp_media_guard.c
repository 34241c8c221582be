#include "config.h"
#include "sp_media_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sp_media_guard_render(uint16_t first, uint16_t last, char **out)
{
	return sp_media_guard_render_families(first, last, false, out);
}

int sp_media_guard_render_families(uint16_t first, uint16_t last, bool ipv6, char **out)
{
	char v6[512] = "", set6[256] = "";
	int n;

	if (!first || last < first) {
		*out = strdup("");
		return *out ? 0 : -1;
	}
	/* "ct status ! dnat": no NATed entry of ours carries the packet (both
	 * directions of one have the bit). IPv6 only where the SP has IPv6
	 * media (ipv6). The priority puts the chain after the nat hook
	 * (dstnat), which has bound the packet to its entry. */
	if (ipv6) {
		snprintf(set6, sizeof(set6),
			 "\tset " SP_MEDIA_GUARD_SET6 " {\n"
			 "\t\ttype ipv6_addr . inet_service . ipv6_addr . inet_service\n"
			 "\t\tsize %u\n"
			 "\t\tflags dynamic,timeout\n"
			 "\t\ttimeout %us\n"
			 "\t}\n", SP_MEDIA_GUARD_SEEN_MAX, SP_MEDIA_GUARD_SEEN_TIMEOUT_S);
		snprintf(v6, sizeof(v6),
			 "\t\tmeta nfproto ipv6 udp dport %u-%u ct status ! dnat add @" SP_MEDIA_GUARD_SET6
			 " { ip6 saddr . udp sport . ip6 daddr . udp dport }\n"
			 "\t\tmeta nfproto ipv6 udp dport %u-%u ct status ! dnat counter name \"" SP_MEDIA_GUARD_COUNTER "\" drop\n",
			 first, last, first, last);
	}
	n = asprintf(out,
		     "\tset " SP_MEDIA_GUARD_SET " {\n"
		     "\t\ttype ipv4_addr . inet_service . ipv4_addr . inet_service\n"
		     "\t\tsize %u\n"
		     "\t\tflags dynamic,timeout\n"
		     "\t\ttimeout %us\n"
		     "\t}\n"
		     "%s"
		     "\tcounter " SP_MEDIA_GUARD_COUNTER " {\n\t}\n"
		     "\tchain media_guard {\n"
		     "\t\ttype filter hook prerouting priority dstnat + 10; policy accept;\n"
		     "\t\tmeta nfproto ipv4 udp dport %u-%u ct status ! dnat add @" SP_MEDIA_GUARD_SET
		     " { ip saddr . udp sport . ip daddr . udp dport }\n"
		     "\t\tmeta nfproto ipv4 udp dport %u-%u ct status ! dnat counter name \"" SP_MEDIA_GUARD_COUNTER "\" drop\n"
		     "%s"
		     "\t}\n",
		     SP_MEDIA_GUARD_SEEN_MAX, SP_MEDIA_GUARD_SEEN_TIMEOUT_S, set6, first, last, first, last, v6);
	if (n < 0) {
		*out = NULL;
		return -1;
	}
	return 0;
}

/* "A . P . A . P" at s (nft's concatenation), IPv4 or IPv6; 0 or -1. */
static int sp_media_guard_element(const char *s, struct sp_media_guard_seen *seen)
{
	char src[46], dst[46];
	unsigned sport, dport;

	if (sscanf(s, " %45[0-9a-fA-F:.] . %u . %45[0-9a-fA-F:.] . %u", src, &sport, dst, &dport) != 4 ||
	    sport > 65535 || dport > 65535)
		return -1;
	if (sp_endpoint_parse(&seen->src, src, (uint16_t)sport) < 0 ||
	    sp_endpoint_parse(&seen->dst, dst, (uint16_t)dport) < 0)
		return -1;
	return 0;
}

int sp_media_guard_parse_seen(const char *text, struct sp_media_guard_seen **out)
{
	struct sp_media_guard_seen *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	/* one element a line (sp_nft_set_elements) */
	for (const char *p = text; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct sp_media_guard_seen *g = realloc(v, ncap * sizeof(*g));

			if (!g) {
				free(v);
				return -1;
			}
			v = g;
			cap = ncap;
		}
		if (sp_media_guard_element(p, &v[n]) == 0)
			n++;
	}
	*out = v;
	return (int)n;
}
