/*
 * libFuzzer target: the standby's side of the state-sync channel (SPEC §5),
 * fed by a peer that knows the key (the MAC is not checked: that is the
 * worst case, everything after authentication). Built and run by
 * scripts/fuzz (scripts/fuzz 60 sync).
 *
 * fuzz-options: -max_len=65536
 *
 * The input is a stream of frames in the wire format of sp_sync.h, decoded
 * by the channel's own sp_sync_frame_parse; RECORDS payloads go through
 * sp_sync_adopt into sp_sync_codec_apply on a real table, RESYNC_BEGIN/END
 * run the codec's sweep, and the table's clock moves one second per frame
 * (with expiry) so adopted deadlines are exercised too.
 *
 * Besides memory errors it checks that whatever was adopted is a state the
 * table can send on: every object re-encodes, decodes, and applies to an
 * empty table (bindings first, as a resync does).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sp_sync.h"
#include "sp_sync_codec.h"

#define NOW0 (100000 * 1000ULL)

struct rx {
	struct sp_sync_codec *codec;
	uint64_t now;
};

static int apply_record(void *arg, enum sp_sync_kind kind, uint32_t id, const uint8_t *data,
			size_t len)
{
	struct rx *rx = arg;

	return sp_sync_codec_apply(rx->codec, kind, id, data, len, rx->now);
}

static struct sp_table *new_table(void)
{
	struct sp_table_config cfg;

	sp_table_config_default(&cfg);
	cfg.sig_port_first = 40000;
	cfg.sig_port_last = 40063;
	cfg.media_port_first = 50000;
	cfg.media_port_last = 50127;
	cfg.session_limit = 64;
	return sp_table_create(&cfg, NULL);
}

/* Whatever was adopted can be sent on to another standby. */
static void check_resendable(struct sp_sync_codec *from, uint64_t now)
{
	struct sp_table *t = new_table();
	struct sp_sync_codec *to = t ? sp_sync_codec_new(t) : NULL;
	static uint8_t buf[SP_SYNC_RECORD_MAX];

	if (!to)
		abort();
	for (int k = SP_SYNC_BINDING; k <= SP_SYNC_DIALOG; k++)
		for (uint32_t id = sp_sync_codec_next_id(from, k, 0); id;
		     id = sp_sync_codec_next_id(from, k, id)) {
			ssize_t n = sp_sync_codec_encode(from, k, id, now, buf, sizeof(buf));

			if (n <= 0)
				abort();
			if (sp_sync_codec_apply(to, k, id, buf, (size_t)n, now) != 0)
				abort();
		}
	sp_sync_codec_free(to);
	sp_table_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_table *t = new_table();
	struct rx rx = { .now = NOW0 };
	struct sp_sync_frame f;
	const char *why;
	size_t off = 0;
	/* a copy in its own allocation so ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);

	if (!t || !buf || !(rx.codec = sp_sync_codec_new(t)))
		abort();
	memcpy(buf, data, size);
	while (sp_sync_frame_parse(buf + off, size - off, &f, &why) > 0) {
		if (f.size > size - off || f.payload + f.len != f.mac)
			abort();
		switch (f.type) {
		case SP_SYNC_F_RECORDS:
			sp_sync_adopt(f.payload, f.len, apply_record, &rx, NULL);
			break;
		case SP_SYNC_F_RESYNC_BEGIN:
			sp_sync_codec_resync_begin(rx.codec);
			break;
		case SP_SYNC_F_RESYNC_END:
			sp_sync_codec_resync_end(rx.codec);
			break;
		default:
			break;
		}
		rx.now += 1000;
		sp_table_expire(t, rx.now);
		off += f.size;
	}
	check_resendable(rx.codec, rx.now);
	sp_sync_codec_free(rx.codec);
	sp_table_destroy(t);
	free(buf);
	return 0;
}
