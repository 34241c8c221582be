/* rtpengine's NG framing and bencode: round trips, and every malformed
 * input refused without reading past it. */
#include "config.h"
#include "sp_ng.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sp_ng_doc doc;

static int decode(const char *s)
{
	const char *why = NULL;

	return sp_ng_decode(&doc, s, strlen(s), &why);
}

Test(ng, encodes_a_request)
{
	char buf[256];
	struct sp_ng_out o;

	sp_ng_out_init(&o, buf, sizeof(buf));
	sp_ng_put_raw(&o, "c1 ", 3);
	sp_ng_open_dict(&o);
	sp_ng_put_kv(&o, "command", "ping");
	sp_ng_put_cstr(&o, "n");
	sp_ng_put_int(&o, -42);
	sp_ng_put_cstr(&o, "l");
	sp_ng_open_list(&o);
	sp_ng_put_cstr(&o, "a");
	sp_ng_close(&o);
	sp_ng_close(&o);
	cr_assert(sp_ng_out_ok(&o));
	cr_assert_eq(o.len, strlen("c1 d7:command4:ping1:ni-42e1:ll1:aee"));
	cr_assert(memcmp(buf, "c1 d7:command4:ping1:ni-42e1:ll1:aee", o.len) == 0);
}

Test(ng, encoder_overflow_is_sticky)
{
	char buf[8];
	struct sp_ng_out o;

	sp_ng_out_init(&o, buf, sizeof(buf));
	sp_ng_put_cstr(&o, "0123456789");
	sp_ng_put_raw(&o, "e", 1);
	cr_assert_not(sp_ng_out_ok(&o));
	cr_assert_leq(o.len, sizeof(buf));
}

Test(ng, decodes_a_reply)
{
	const struct sp_ng_node *r;

	cr_assert_eq(decode("d6:result2:ok3:sdp5:v=0\r\n4:listli1ei2eee"), 0);
	cr_assert_eq(doc.nodes[0].type, SP_NG_DICT);
	r = sp_ng_dict_get(&doc, &doc.nodes[0], "result");
	cr_assert(sp_ng_str_is(r, "ok"));
	r = sp_ng_dict_get(&doc, &doc.nodes[0], "sdp");
	cr_assert_eq(r->len, 5);
	r = sp_ng_dict_get(&doc, &doc.nodes[0], "list");
	cr_assert_eq(r->type, SP_NG_LIST);
	cr_assert_eq(r->len, 2);
	cr_assert_eq(doc.nodes[r->first].i, 1);
	cr_assert_null(sp_ng_dict_get(&doc, &doc.nodes[0], "missing"));
	cr_assert_eq(decode("le"), 0);
	cr_assert_eq(decode("i0e"), 0);
}

Test(ng, refuses_malformed_input)
{
	static const char *const bad[] = {
		"", "d", "l", "i", "ie", "i-0e", "i01e", "i1", "5:abc", "-1:a", "01:a", "d1:ae",
		"di1e1:ae", "d6:result2:okee", "le ", "x", "i99999999999999999999e",
		"d3:key", "2:a", "1:", "d1:a1:b1:c1:de extra",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(decode(bad[i]), -1, "accepted \"%s\"", bad[i]);
}

Test(ng, bounds_depth_and_count)
{
	char deep[SP_NG_DEPTH_MAX * 2 + 8], *big;
	size_t n = 0;

	for (int i = 0; i < SP_NG_DEPTH_MAX + 2; i++)
		deep[n++] = 'l';
	for (int i = 0; i < SP_NG_DEPTH_MAX + 2; i++)
		deep[n++] = 'e';
	deep[n] = '\0';
	cr_assert_eq(decode(deep), -1);
	/* a huge dictionary: more values than a document holds */
	big = malloc(SP_NG_NODES_MAX * 8 + 16);
	n = 0;
	big[n++] = 'd';
	for (int i = 0; i < SP_NG_NODES_MAX; i++)
		n += (size_t)sprintf(big + n, "1:%ci1e", 'a' + i % 26);
	big[n++] = 'e';
	big[n] = '\0';
	cr_assert_eq(decode(big), -1);
	free(big);
}

Test(ng, splits_the_cookie)
{
	const char *c, *b;
	size_t cl, bl;

	cr_assert_eq(sp_ng_split("abc_1 d4:testi1ee", 17, &c, &cl, &b, &bl), 0);
	cr_assert_eq(cl, 5);
	cr_assert_eq(bl, 11);
	cr_assert_eq(sp_ng_split("nocookie", 8, &c, &cl, &b, &bl), -1);
	cr_assert_eq(sp_ng_split(" d1:ae", 6, &c, &cl, &b, &bl), -1);
	cr_assert_eq(sp_ng_split("a\x01b de", 6, &c, &cl, &b, &bl), -1);
	cr_assert_eq(sp_ng_split("0123456789012345678901234567890123456789 de", 43, &c, &cl, &b, &bl), -1);
}
