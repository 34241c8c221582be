#include "config.h"
#include "sp_keyobf.h"

#include <stdio.h>
#include <string.h>

/* The well-known type-7 translation string: the point is only that the key
 * does not read as itself. */
static const char sp_keyobf_xlat[] = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87";
#define SP_KEYOBF_XLAT_LEN (sizeof(sp_keyobf_xlat) - 1)

/* The seed comes from the key (not from a random source) so that the text
 * of one configuration is always the same. */
static unsigned sp_keyobf_seed(const char *key)
{
	unsigned h = 0;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = h * 31 + *p;
	return h % 16;
}

void sp_keyobf_encode(const char *key, char *out, size_t cap)
{
	unsigned seed = sp_keyobf_seed(key);
	size_t len = strlen(key), n;

	if (cap < 3 + 2 * len) {
		if (cap)
			out[0] = '\0';
		return;
	}
	n = (size_t)snprintf(out, cap, "%02u", seed);
	for (size_t i = 0; i < len; i++)
		n += (size_t)snprintf(out + n, cap - n, "%02X",
				      (unsigned char)key[i] ^
				      (unsigned char)sp_keyobf_xlat[(seed + i) % SP_KEYOBF_XLAT_LEN]);
}

static int sp_keyobf_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sp_keyobf_decode(const char *text, char *key, size_t cap, struct sp_error *e)
{
	size_t len = strlen(text), n;
	unsigned seed;

	if (len < 4 || len % 2 != 0 || text[0] < '0' || text[0] > '9' || text[1] < '0' ||
	    text[1] > '9')
		return sp_error_set(e, "Invalid obfuscated key: two decimal digits, then hex digits");
	seed = (unsigned)(text[0] - '0') * 10 + (unsigned)(text[1] - '0');
	if (seed >= SP_KEYOBF_XLAT_LEN)
		return sp_error_set(e, "Invalid obfuscated key: bad seed");
	n = (len - 2) / 2;
	if (n + 1 > cap)
		return sp_error_set(e, "Invalid obfuscated key: too long");
	for (size_t i = 0; i < n; i++) {
		int hi = sp_keyobf_hexval(text[2 + 2 * i]), lo = sp_keyobf_hexval(text[3 + 2 * i]);
		unsigned char c;

		if (hi < 0 || lo < 0)
			return sp_error_set(e, "Invalid obfuscated key: not hex digits");
		c = (unsigned char)(hi << 4 | lo) ^
		    (unsigned char)sp_keyobf_xlat[(seed + i) % SP_KEYOBF_XLAT_LEN];
		if (c == '\0')
			return sp_error_set(e, "Invalid obfuscated key: contains a NUL");
		key[i] = (char)c;
	}
	key[n] = '\0';
	return 0;
}
