/* Log lines an attacker cannot abuse: escaping of network strings. */
#include "config.h"
#include "sp_log.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(log, escape_printable_kept)
{
	char buf[SP_LOG_ESCAPED_MAX];

	cr_assert_str_eq(sp_log_escape("alice@example.com", buf, sizeof(buf)), "alice@example.com");
	cr_assert_str_eq(sp_log_escape("", buf, sizeof(buf)), "");
	cr_assert_str_eq(sp_log_escape(NULL, buf, sizeof(buf)), "");
}

Test(log, escape_control_quote_backslash_high_bytes)
{
	char buf[SP_LOG_ESCAPED_MAX];

	/* a newline would forge a second log line; ESC and 0x9b drive terminals */
	cr_assert_str_eq(sp_log_escape("a\nb\r\x1b[2J\"\\\x9b\xff", buf, sizeof(buf)),
			 "a\\x0ab\\x0d\\x1b[2J\\x22\\x5c\\x9b\\xff");
	/* an embedded NUL with an explicit length */
	cr_assert_str_eq(sp_log_escape_n("x\0y", 3, buf, sizeof(buf)), "x\\x00y");
}

Test(log, escape_truncates_with_dots_never_mid_escape)
{
	char buf[12];
	char big[600];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_str_eq(sp_log_escape("abcdefghijklmnop", buf, sizeof(buf)), "abcdefgh...");
	cr_assert_str_eq(sp_log_escape("\x01\x02\x03\x04", buf, sizeof(buf)), "\\x01\\x02...");
	cr_assert_str_eq(sp_log_escape("abcdefghijk", buf, sizeof(buf)), "abcdefghijk");
	{
		char out[SP_LOG_ESCAPED_MAX];

		sp_log_escape(big, out, sizeof(out));
		cr_assert_eq(strlen(out), SP_LOG_ESCAPED_MAX - 1);
		cr_assert_str_eq(out + strlen(out) - 3, "...");
	}
}

/* show logging: the last lines, oldest first, kept whatever the targets. */
Test(log, ring_keeps_the_last_lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sp_log_open("test", 0, LOG_INFO);
	for (int i = 0; i < SP_LOG_RING_LINES + 5; i++)
		sp_notice("line %d", i);
	sp_debug("engine: not kept at level info");
	f = open_memstream(&buf, &len);
	sp_log_ring_print(f);
	fclose(f);
	cr_assert(strstr(buf, "notice: line 4\n") == NULL, "%s", buf);
	cr_assert(strstr(buf, "notice: line 5\n") != NULL);
	cr_assert(strstr(buf, "notice: line 260\n") != NULL);
	cr_assert(strstr(buf, "not kept") == NULL);
	free(buf);
}

/* debug CATEGORY: that category's debug lines pass at any level, the
 * category told by the line's prefix. */
Test(log, debug_categories_by_prefix)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sp_log_open("test", 0, LOG_INFO);
	cr_assert_eq(sp_log_debug_from_name("sync"), SP_DEBUG_SYNC);
	cr_assert_eq(sp_log_debug_from_name("bogus"), 0);
	sp_log_debug_set(SP_DEBUG_SYNC, true);
	sp_debug("sync: frame 1");
	sp_debug("engine: binding 7 expired");
	sp_log_debug_set(SP_DEBUG_SYNC, false);
	sp_debug("sync: frame 2");
	f = open_memstream(&buf, &len);
	sp_log_ring_print(f);
	fclose(f);
	cr_assert(strstr(buf, "debug: sync: frame 1") != NULL, "%s", buf);
	cr_assert(strstr(buf, "binding 7") == NULL);
	cr_assert(strstr(buf, "frame 2") == NULL);
	cr_assert_eq(sp_log_debug_get(), 0);
	free(buf);
}
