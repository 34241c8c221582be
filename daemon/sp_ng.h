/* rtpengine's NG control protocol, the pure part: bencode (encoder and a
 * bounded decoder) and the framing of one message, "COOKIE <bencoded
 * dictionary>" in one UDP datagram.
 *
 * The decoder never trusts its input: a document has at most
 * SP_NG_NODES_MAX values, nested at most SP_NG_DEPTH_MAX deep, and
 * strings point into the caller's buffer (no copies, no allocation). Any
 * excess, a truncated value, a non-canonical integer or trailing bytes
 * reject the whole message. */
#ifndef SP_NG_H
#define SP_NG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_NG_NODES_MAX 512
#define SP_NG_DEPTH_MAX 16
#define SP_NG_COOKIE_MAX 32
/* a datagram: replies carry an SDP body */
#define SP_NG_MSG_MAX 65507

enum sp_ng_type { SP_NG_INT, SP_NG_STR, SP_NG_LIST, SP_NG_DICT };

struct sp_ng_node {
	enum sp_ng_type type;
	const char *s;		/* SP_NG_STR: the bytes (not NUL-terminated) */
	size_t len;		/* SP_NG_STR: bytes; LIST/DICT: values (a dict's keys and values) */
	int64_t i;		/* SP_NG_INT */
	int first;		/* LIST/DICT: index of the first child, -1: none */
	int next;		/* the next sibling, -1: none */
};

struct sp_ng_doc {
	struct sp_ng_node nodes[SP_NG_NODES_MAX];
	unsigned n;		/* nodes[0] is the root */
};

/* Decodes one value filling buf[0..len) exactly. 0, or -1 with *why. */
int sp_ng_decode(struct sp_ng_doc *d, const char *buf, size_t len, const char **why);

/* The value of `key` in a dictionary node, or NULL. */
const struct sp_ng_node *sp_ng_dict_get(const struct sp_ng_doc *d, const struct sp_ng_node *dict,
					const char *key);
/* A string node equal to s. */
bool sp_ng_str_is(const struct sp_ng_node *n, const char *s);

/* Splits "COOKIE SP BODY": the cookie (1-SP_NG_COOKIE_MAX printable bytes)
 * and the body. 0 or -1. */
int sp_ng_split(const char *buf, size_t len, const char **cookie, size_t *cookie_len,
		const char **body, size_t *body_len);

/* The encoder writes into a fixed buffer; an overflow is sticky and
 * reported by sp_ng_out_ok. */
struct sp_ng_out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

void sp_ng_out_init(struct sp_ng_out *o, char *buf, size_t cap);
void sp_ng_put_raw(struct sp_ng_out *o, const char *s, size_t len);
void sp_ng_put_str(struct sp_ng_out *o, const char *s, size_t len);
void sp_ng_put_cstr(struct sp_ng_out *o, const char *s);
void sp_ng_put_int(struct sp_ng_out *o, int64_t v);
void sp_ng_open_dict(struct sp_ng_out *o);
void sp_ng_open_list(struct sp_ng_out *o);
void sp_ng_close(struct sp_ng_out *o);
/* key then string value, in a dictionary */
void sp_ng_put_kv(struct sp_ng_out *o, const char *key, const char *value);
bool sp_ng_out_ok(const struct sp_ng_out *o);

#endif
