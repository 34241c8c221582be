/*
 * Writes the generated seeds of tests/fuzz/corpus/sync/: RECORDS streams as
 * an active SP sends them (a resync with bindings and dialogs, then
 * incremental updates and deletes). Run once when the record format
 * changes, from the worktree root, with a configured build BUILD:
 *
 *   cc -I$BUILD -Idaemon tests/fuzz/make_seeds.c $BUILD/libsigproxy.a -lcrypto -o /tmp/make_seeds
 *   /tmp/make_seeds tests/fuzz/corpus/sync
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_sync.h"
#include "sp_sync_codec.h"

#define NOW (100000 * 1000ULL)

static uint8_t out[1 << 17];
static size_t out_len;
static uint64_t seq;

static void frame(uint8_t type, const uint8_t *payload, uint32_t len)
{
	static const uint8_t key[SP_SYNC_MAC_LEN] = { 1 };

	out_len += sp_sync_frame_build(out + out_len, SP_SYNC_VERSION, type, ++seq, payload, len,
				       key, sizeof(key));
}

static void records_of(struct sp_sync_codec *c, int kind)
{
	static uint8_t p[SP_SYNC_PAYLOAD_MAX];
	size_t n = 0;

	for (uint32_t id = sp_sync_codec_next_id(c, kind, 0); id; id = sp_sync_codec_next_id(c, kind, id)) {
		ssize_t r = sp_sync_codec_encode(c, kind, id, NOW, p + n + 7, sizeof(p) - n - 7);

		if (r <= 0)
			exit(1);
		p[n] = (uint8_t)kind;
		memcpy(p + n + 1, &id, 4);	/* little-endian machine */
		p[n + 5] = (uint8_t)r;
		p[n + 6] = (uint8_t)(r >> 8);
		n += 7 + (size_t)r;
	}
	frame(SP_SYNC_F_RECORDS, p, (uint32_t)n);
}

static void save(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, out_len, f) != out_len || fclose(f))
		exit(1);
	out_len = 0;
	seq = 0;
}

static struct sp_endpoint ep(const char *a, uint16_t port)
{
	struct sp_endpoint e;

	if (sp_endpoint_parse(&e, a, port))
		exit(1);
	return e;
}

int main(int argc, char **argv)
{
	struct sp_table_config cfg;
	struct sp_table *t;
	struct sp_sync_codec *c;
	const char *terminals[] = { "10.1.0.10", "10.1.0.11", "2001:db8::10" };
	uint8_t del[7] = { SP_SYNC_BINDING, 1, 0, 0, 0, 0, 0 };

	if (argc != 2)
		return 2;
	sp_table_config_default(&cfg);
	cfg.sig_port_first = 40000;
	cfg.sig_port_last = 40063;
	cfg.media_port_first = 50000;
	cfg.media_port_last = 50127;
	t = sp_table_create(&cfg, NULL);
	c = sp_sync_codec_new(t);
	for (unsigned i = 0; i < 3; i++) {
		int v6 = strchr(terminals[i], ':') != NULL;
		struct sp_binding_params bp = {
			.vpn = i,
			.terminal = ep(terminals[i], 5060),
			.virtual_server = ep(v6 ? "2001:db8::1" : "198.51.100.1", 5060),
			.server_side = ep(v6 ? "2001:db8:1::1" : "203.0.113.1", 0),
			.server = ep(v6 ? "2001:db8:1::100" : "203.0.113.100", 5060),
			.strategy_id = 7,
			.via_sent_by = "10.1.1.1:5060",
			.contact = "[2001:db8::5]:5062",
		};
		struct sp_binding *b;
		struct sp_dialog *d;
		struct sp_media_stream *m;
		char callid[32];
		struct sp_endpoint te = ep(terminals[i], 4000), fe = ep("192.0.2.50", 6000);

		if (sp_binding_create(t, &bp, NOW - 5000, &b))
			return 1;
		sp_binding_set_registration(t, b, NOW - 1000, 3600);
		snprintf(callid, sizeof(callid), "call-%u@example.com", i);
		struct sp_dialog_params dp = {
			.binding = b, .call_id = callid, .call_id_len = strlen(callid),
			.from_tag = "ftag", .to_tag = i ? "ttag" : NULL, .invite_cseq = 101,
			.state = SP_DIALOG_EARLY,
		};
		if (sp_dialog_create(t, &dp, NOW - 500, &d))
			return 1;
		if (i && sp_dialog_set_state(t, d, SP_DIALOG_CONFIRMED, NOW - 400))
			return 1;
		if (i == 2)
			sp_dialog_set_session_expires(t, d, 1800, NOW - 300);
		if (sp_dialog_add_media(t, d, &te, &fe, &m))
			return 1;
	}
	/* a full resync */
	frame(SP_SYNC_F_RESYNC_BEGIN, NULL, 0);
	records_of(c, SP_SYNC_BINDING);
	records_of(c, SP_SYNC_DIALOG);
	frame(SP_SYNC_F_RESYNC_END, NULL, 0);
	save(argv[1], "resync");
	/* incremental: bindings, dialogs, a delete, then a keepalive and an ack */
	records_of(c, SP_SYNC_BINDING);
	records_of(c, SP_SYNC_DIALOG);
	frame(SP_SYNC_F_RECORDS, del, sizeof(del));
	frame(SP_SYNC_F_KEEPALIVE, NULL, 0);
	frame(SP_SYNC_F_ACK, (const uint8_t *)"\1\0\0\0\0\0\0\0", 8);
	save(argv[1], "incremental");
	/* a resync that carries only the bindings: the sweep drops the dialogs */
	records_of(c, SP_SYNC_BINDING);
	records_of(c, SP_SYNC_DIALOG);
	frame(SP_SYNC_F_RESYNC_BEGIN, NULL, 0);
	records_of(c, SP_SYNC_BINDING);
	frame(SP_SYNC_F_RESYNC_END, NULL, 0);
	save(argv[1], "sweep");
	sp_sync_codec_free(c);
	sp_table_destroy(t);
	return 0;
}
