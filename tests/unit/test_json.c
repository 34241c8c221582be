/* The JSON writer of `| json`: nesting, commas, escapes, null. */
#include "config.h"
#include "sp_json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

Test(json, nesting_commas_and_escapes)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct sp_json j;

	cr_assert_not_null(f);
	sp_json_start(&j, f);
	sp_json_object(&j, NULL);
	sp_json_uint(&j, "n", 18446744073709551615ull);
	sp_json_str(&j, "s", "a\"b\\c\n\x01");
	sp_json_str(&j, "none", NULL);
	sp_json_array(&j, "list");
	sp_json_bool(&j, NULL, true);
	sp_json_object(&j, NULL);
	sp_json_null(&j, "x");
	sp_json_close(&j);
	sp_json_array(&j, NULL);
	sp_json_close(&j);
	sp_json_finish(&j); /* closes what is still open */
	fclose(f);
	cr_assert_str_eq(buf, "{\"n\":18446744073709551615,\"s\":\"a\\\"b\\\\c\\u000a\\u0001\",\"none\":null,"
			      "\"list\":[true,{\"x\":null},[]]}\n");
	free(buf);
}
