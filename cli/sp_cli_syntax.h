/* What may follow the words typed so far, from a command's usage string
 * (the `usage` of its row in the command table: "{PREFIX|any} [port N[-M]]",
 * "NAME [privilege {1 | 15}] secret {PASSWORD | hashed HASH}", "N [N ...]",
 * "WORD | 7 HEX"). The CLI's `?` after a command's first argument answers
 * from it: libcli itself only describes the first argument.
 *
 * The usage language: a word with an upper-case letter is a value (any word
 * fits it; TEXT takes the rest of the line), any other word a keyword (an
 * abbreviation fits it); {A | B} one of, [A] optional, "X ..." X once or
 * more; '|' at the top level separates whole alternatives. */
#ifndef SP_CLI_SYNTAX_H
#define SP_CLI_SYNTAX_H

#include <stdbool.h>

struct sp_cli_syntax_item {
	const char *word;  /* the keyword, or the value's placeholder ("N", "A.B.C.D") */
	const char *after; /* the keyword written last before a value ("port"), or "" */
	int ordinal;       /* a value's position among the usage's values (0: the first) */
	bool is_value;
};

struct sp_cli_syntax_next {
	struct sp_cli_syntax_item items[16]; /* pointing into the usage string's copy */
	int n;
	bool can_end;  /* the words typed make a complete command (<cr>) */
	bool fits;     /* the words typed fit the usage at all */
	char buf[256]; /* the usage's copy the items point into */
};

/* Fills `next` with what may follow `words` (n complete words) under
 * `usage`; keywords are kept only when `partial` (the word being typed, or
 * "") abbreviates them. A usage longer than the buffer fits nothing. */
void sp_cli_syntax_next(const char *usage, char *const *words, int n, const char *partial,
			struct sp_cli_syntax_next *next);

#endif
