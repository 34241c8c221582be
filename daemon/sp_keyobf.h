/* Obfuscation of the state-sync key in configuration text, in the style of
 * Cisco's "type 7": `authentication key 7 HEX` instead of the key itself, so
 * the key does not show on a screen, in a paste or in a diff of the startup
 * file. It is NOT encryption: anyone with this code reverses it; the file
 * itself stays root-only (0600). */
#ifndef SP_KEYOBF_H
#define SP_KEYOBF_H

#include <stddef.h>

#include "sp_error.h"

/* The longest obfuscated text of a key of SP_KEY_MAX characters, with its
 * NUL: a two-digit seed and two hex digits per character. */
#define SP_KEYOBF_MAX (2 + 2 * 64 + 1)

/* Writes the obfuscated form of `key` (deterministic: the same key gives
 * the same text, so running-config round-trips byte for byte). */
void sp_keyobf_encode(const char *key, char *out, size_t cap);
/* Reverses it into `key` (cap bytes); -1 with `e` set when `text` is not a
 * well-formed obfuscated key. The result is not validated as a key. */
int sp_keyobf_decode(const char *text, char *key, size_t cap, struct sp_error *e);

#endif
