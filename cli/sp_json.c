#include "config.h"
#include "sp_json.h"

#include <inttypes.h>

void sp_json_start(struct sp_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void sp_json_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* The comma before a value and its key. */
static void sp_json_key(struct sp_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
	if (key) {
		sp_json_escaped(j->out, key);
		fputc(':', j->out);
	}
}

static void sp_json_open(struct sp_json *j, const char *key, char c)
{
	sp_json_key(j, key);
	fputc(c, j->out);
	if (j->depth < SP_JSON_DEPTH) {
		j->depth++;
		j->need_comma[j->depth] = false;
		j->closer[j->depth] = c == '{' ? '}' : ']';
	}
}

void sp_json_object(struct sp_json *j, const char *key)
{
	sp_json_open(j, key, '{');
}

void sp_json_array(struct sp_json *j, const char *key)
{
	sp_json_open(j, key, '[');
}

void sp_json_close(struct sp_json *j)
{
	if (j->depth == 0)
		return;
	fputc(j->closer[j->depth], j->out);
	j->depth--;
}

void sp_json_finish(struct sp_json *j)
{
	while (j->depth > 0)
		sp_json_close(j);
	fputc('\n', j->out);
}

void sp_json_str(struct sp_json *j, const char *key, const char *v)
{
	sp_json_key(j, key);
	if (v)
		sp_json_escaped(j->out, v);
	else
		fputs("null", j->out);
}

void sp_json_uint(struct sp_json *j, const char *key, uint64_t v)
{
	sp_json_key(j, key);
	fprintf(j->out, "%" PRIu64, v);
}

void sp_json_bool(struct sp_json *j, const char *key, bool v)
{
	sp_json_key(j, key);
	fputs(v ? "true" : "false", j->out);
}

void sp_json_null(struct sp_json *j, const char *key)
{
	sp_json_key(j, key);
	fputs("null", j->out);
}
