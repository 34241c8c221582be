/* Log lines an attacker cannot abuse: escaping of network strings. */
#include "config.h"
#include "sp_log.h"

#include <criterion/criterion.h>
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
