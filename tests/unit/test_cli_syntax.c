/* `?` after a command's first argument: what may follow, from the usage
 * string of the command's row. */
#include "config.h"
#include "sp_cli_syntax.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct sp_cli_syntax_next nx;

static void next(const char *usage, const char *line, const char *partial)
{
	char buf[256], *words[16], *save;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok_r(buf, " ", &save); w && n < 16; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	sp_cli_syntax_next(usage, words, n, partial, &nx);
}

static bool offers(const char *word, bool is_value)
{
	for (int i = 0; i < nx.n; i++)
		if (nx.items[i].is_value == is_value && strcmp(nx.items[i].word, word) == 0)
			return true;
	return false;
}

Test(cli_syntax, after_a_prefix_port_or_the_end)
{
	next("{PREFIX|any} [port N[-M]]", "10.0.0.0/8", "");
	cr_assert(nx.fits);
	cr_assert(nx.can_end);
	cr_assert_eq(nx.n, 1);
	cr_assert(offers("port", false));
	next("{PREFIX|any} [port N[-M]]", "any", "");
	cr_assert(nx.can_end && offers("port", false));
}

Test(cli_syntax, after_a_keyword_its_value_and_no_end)
{
	next("{PREFIX|any} [port N[-M]]", "10.0.0.0/8 port", "");
	cr_assert(nx.fits);
	cr_assert_not(nx.can_end);
	cr_assert_eq(nx.n, 1);
	cr_assert(offers("N[-M]", true));
	cr_assert_str_eq(nx.items[0].after, "port");
	next("{PREFIX|any} [port N[-M]]", "10.0.0.0/8 po", "");
	cr_assert(offers("N[-M]", true), "an abbreviated keyword");
	next("A.B.C.D [port N]", "192.0.2.1 port 5070", "");
	cr_assert(nx.can_end);
	cr_assert_eq(nx.n, 0);
}

Test(cli_syntax, words_that_do_not_fit)
{
	next("A.B.C.D [port N]", "192.0.2.1 5070", "");
	cr_assert_not(nx.fits);
	cr_assert_not(nx.can_end);
	cr_assert_eq(nx.n, 0);
	next(NULL, "x", "");
	cr_assert_not(nx.fits);
	next(NULL, "", "");
	cr_assert(nx.can_end);
}

Test(cli_syntax, alternatives_optional_groups_and_values)
{
	const char *u = "NAME [privilege {1 | 15}] secret {PASSWORD | hashed HASH}";

	next(u, "admin", "");
	cr_assert_not(nx.can_end);
	cr_assert(offers("privilege", false) && offers("secret", false));
	cr_assert_eq(nx.n, 2);
	next(u, "admin privilege", "");
	cr_assert(offers("1", false) && offers("15", false));
	next(u, "admin privilege 15 secret", "");
	cr_assert(offers("PASSWORD", true) && offers("hashed", false));
	cr_assert_str_eq(nx.items[0].after, "secret");
	next(u, "admin secret hashed", "");
	cr_assert(offers("HASH", true), "hashed as the keyword");
	cr_assert(nx.can_end, "or hashed as the password");
	next(u, "admin", "s");
	cr_assert_eq(nx.n, 1);
	cr_assert(offers("secret", false), "the word being typed filters keywords");
}

Test(cli_syntax, repetition_and_top_level_alternatives)
{
	next("N [N ...]", "5060", "");
	cr_assert(nx.can_end && offers("N", true));
	next("N [N ...]", "5060 5070 5080", "");
	cr_assert(nx.can_end && offers("N", true));
	next("WORD | 7 HEX", "7", "");
	cr_assert(nx.can_end, "7 as the key itself");
	cr_assert(offers("HEX", true));
	next("N M", "1024", "");
	cr_assert(offers("M", true));
	cr_assert_eq(nx.items[0].ordinal, 1);
	next("TEXT", "hello operators of the world", "");
	cr_assert(nx.can_end);
}
