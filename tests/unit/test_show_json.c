/* `| json`: show output read back as rows, fields and lines. */
#include "config.h"
#include "sp_show_json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *json(const char *text)
{
	char *j = sp_show_json(text, strlen(text));

	cr_assert_not_null(j);
	return j;
}

Test(show_json, table_rows_keyed_by_columns)
{
	char *j = json("Line   Kind   User      Since\n"
		       "9      unix   (root)    2026-12-04 14:57:50\n"
		       "1 session\n");

	cr_assert(strstr(j, "\"rows\":[{\"line\":9,\"kind\":\"unix\",\"user\":\"(root)\","
			    "\"since\":\"2026-12-04 14:57:50\"}]"), "%s", j);
	free(j);
}

Test(show_json, empty_table_has_no_rows)
{
	char *j = json("Id     VPN    State       Terminal\n0 sessions\n");

	cr_assert(strstr(j, "\"rows\":[]"), "%s", j);
	cr_assert(strstr(j, "\"0 sessions\""), "%s", j);
	free(j);
}

Test(show_json, fields_nested_by_indentation)
{
	char *j = json("Title\n  dropped        3\n    parse errors 2\n  sent   0\nUptime: 1d 00h\n");

	cr_assert(strstr(j, "\"dropped\":3,\"dropped.parse-errors\":2,\"sent\":0,\"uptime\":\"1d 00h\""), "%s", j);
	free(j);
}

Test(show_json, strings_escaped)
{
	char *j = json("Call-ID: a\"b\\c\n");

	cr_assert(strstr(j, "\"call-id\":\"a\\\"b\\\\c\""), "%s", j);
	free(j);
}

Test(show_json, leading_zero_is_text)
{
	char *j = json("Idle: 007\n");

	cr_assert(strstr(j, "\"idle\":\"007\""), "%s", j);
	free(j);
}
