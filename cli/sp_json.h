/* A JSON writer onto a stdio stream, for `show ... | json`: objects and
 * arrays nest (at most SP_JSON_DEPTH deep), commas come by themselves,
 * strings are escaped. Inside an object each value has a key; inside an
 * array and at the top the key is NULL. */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SP_JSON_DEPTH 8

struct sp_json {
	FILE *out;
	int depth;
	bool need_comma[SP_JSON_DEPTH + 1];
	char closer[SP_JSON_DEPTH + 1]; /* what ends the object or array open at each depth */
};

void sp_json_start(struct sp_json *j, FILE *out);
void sp_json_object(struct sp_json *j, const char *key);
void sp_json_array(struct sp_json *j, const char *key);
void sp_json_close(struct sp_json *j); /* the innermost object or array */
/* After the last close: the line's end. */
void sp_json_finish(struct sp_json *j);
void sp_json_str(struct sp_json *j, const char *key, const char *v); /* NULL: null */
void sp_json_uint(struct sp_json *j, const char *key, uint64_t v);
void sp_json_bool(struct sp_json *j, const char *key, bool v);
void sp_json_null(struct sp_json *j, const char *key);

#endif
