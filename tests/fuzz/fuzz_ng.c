/*
 * libFuzzer target: an NG reply from a media proxy (rtpengine), as the
 * client meets it: sp_ng_split, then sp_ng_decode and the lookups the
 * client makes on arbitrary bytes.
 *
 * Sources: tests/fuzz/fuzz_ng.c daemon/sp_ng.c
 * Libraries: none
 * fuzz-options: -max_len=70000
 *
 * scripts/fuzz builds and runs it (scripts/fuzz 60 ng) with the seeds in
 * tests/fuzz/corpus/ng.
 *
 * Besides memory errors it checks the contract: a decoded document has
 * at most SP_NG_NODES_MAX values, every string lies inside the input, and
 * every child index points inside the document.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_ng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sp_ng_doc doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cookie, *body, *in = (const char *)data;
	size_t cl, bl;

	if (sp_ng_split(in, size, &cookie, &cl, &body, &bl) < 0)
		return 0;
	if (cl == 0 || cl > SP_NG_COOKIE_MAX || body + bl != in + size)
		abort();
	if (sp_ng_decode(&doc, body, bl, NULL) < 0)
		return 0;
	if (doc.n == 0 || doc.n > SP_NG_NODES_MAX)
		abort();
	for (unsigned i = 0; i < doc.n; i++) {
		const struct sp_ng_node *n = &doc.nodes[i];

		if (n->type == SP_NG_STR && (n->s < body || n->s + n->len > body + bl))
			abort();
		if (n->first >= (int)doc.n || n->next >= (int)doc.n)
			abort();
	}
	(void)sp_ng_dict_get(&doc, &doc.nodes[0], "result");
	(void)sp_ng_str_is(sp_ng_dict_get(&doc, &doc.nodes[0], "sdp"), "v=0");
	return 0;
}
