/*
 * libFuzzer target: sp_stun_answer + sp_stun_mapped_address on arbitrary
 * bytes, as the engine meets them on the SIP port.
 *
 * Sources: tests/fuzz/fuzz_stun.c daemon/sip/sp_stun.c daemon/sp_endpoint.c
 * Libraries: none
 * fuzz-options: -max_len=1500
 *
 * scripts/fuzz builds and runs it (scripts/fuzz 60 stun) with the seeds in
 * tests/fuzz/corpus/stun. By hand, from a configured build directory BUILD
 * (for config.h), it needs only its own sources:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I$BUILD -Idaemon -Idaemon/sip \
 *       tests/fuzz/fuzz_stun.c daemon/sip/sp_stun.c daemon/sp_endpoint.c -o fuzz_stun
 *   ./fuzz_stun -max_total_time=60 -max_len=1500 tests/fuzz/corpus/stun
 *
 * Besides memory errors it checks the contract: an answer fits
 * SP_STUN_ANSWER_MAX, is itself well-formed STUN with the request's
 * transaction ID, and a success answer maps back to the source address.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct in6_addr v6 = { { { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 } } };
	uint8_t out[SP_STUN_ANSWER_MAX + 64];
	struct sp_endpoint from, got;
	size_t out_len = 0;
	enum sp_stun_result r;

	/* the source's family from the data, so both encodings are reached */
	if (size && (data[size - 1] & 1))
		sp_endpoint_set_v6(&from, &v6, 5062);
	else
		sp_endpoint_set_v4(&from, (struct in_addr){ htonl(0xC0000201) }, 5062);
	(void)sp_stun_is_stun(data, size);
	(void)sp_stun_mapped_address(data, size, &got);
	memset(out, 0xA5, sizeof(out));
	r = sp_stun_answer(data, size, &from, out, &out_len, NULL);
	for (size_t i = SP_STUN_ANSWER_MAX; i < sizeof(out); i++)
		if (out[i] != 0xA5)
			abort(); /* wrote past the promised size */
	if (r == SP_STUN_IGNORED || r == SP_STUN_INDICATION) {
		if (out_len)
			abort();
		return 0;
	}
	if (out_len > SP_STUN_ANSWER_MAX || !sp_stun_is_stun(out, out_len) ||
	    memcmp(out + 8, data + 8, 12) != 0)
		abort();
	if (r == SP_STUN_ANSWERED &&
	    (sp_stun_mapped_address(out, out_len, &got) != 0 || !sp_endpoint_equal(&got, &from)))
		abort();
	return 0;
}
