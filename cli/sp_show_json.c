#include "config.h"
#include "sp_show_json.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP_JSON_MAX_COLS 24
#define SP_JSON_MAX_DEPTH 8

struct sp_json_line {
	const char *s;
	size_t len;
};

static void sp_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void sp_json_trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* A value: a JSON number when it is a plain decimal number, else a string. */
static void sp_json_value(FILE *f, const char *s, size_t len)
{
	size_t i = 0;

	sp_json_trim(&s, &len);
	if (len && len < 20 && (s[0] != '0' || len == 1)) {
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i == len) {
			fwrite(s, 1, len, f);
			return;
		}
	}
	sp_json_string(f, s, len);
}

/* A key: lower case, blanks and other punctuation as single '-'. */
static void sp_json_key(char *out, size_t cap, const char *prefix, const char *s, size_t len)
{
	size_t n = 0;
	bool dash = false;

	sp_json_trim(&s, &len);
	if (prefix && *prefix) {
		n = (size_t)snprintf(out, cap, "%s.", prefix);
		if (n >= cap)
			n = cap - 1;
	}
	for (size_t i = 0; i < len && n + 2 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c)) {
			if (dash && n && out[n - 1] != '.')
				out[n++] = '-';
			out[n++] = (char)tolower(c);
			dash = false;
		} else {
			dash = true;
		}
	}
	out[n] = '\0';
}

static size_t sp_json_indent(const struct sp_json_line *l)
{
	size_t i = 0;

	while (i < l->len && l->s[i] == ' ')
		i++;
	return i;
}

/* Column starts of a header: position 0 and every non-blank after two or
 * more blanks. A header has at least three columns. */
static int sp_json_header(const struct sp_json_line *l, size_t *starts)
{
	int n = 0;

	if (l->len == 0 || l->s[0] == ' ')
		return 0;
	starts[n++] = 0;
	for (size_t i = 2; i < l->len && n < SP_JSON_MAX_COLS; i++)
		if (l->s[i] != ' ' && l->s[i - 1] == ' ' && l->s[i - 2] == ' ')
			starts[n++] = i;
	return n >= 3 ? n : 0;
}

/* A row of that header: reaches the second column, with a blank before
 * every column start it reaches ("0 sessions" under "Id     VPN" is not). */
static bool sp_json_row(const struct sp_json_line *l, const size_t *starts, int n)
{
	if (l->len <= starts[1] || l->s[0] == ' ')
		return false;
	for (int c = 1; c < n && starts[c] < l->len; c++)
		if (l->s[starts[c] - 1] != ' ')
			return false;
	return true;
}

/* "Key: value" or "  key   value" (two or more blanks, then the value). */
static bool sp_json_pair(const struct sp_json_line *l, size_t *key_len, size_t *val_at)
{
	const char *colon = memchr(l->s, ':', l->len);
	size_t ind = sp_json_indent(l);

	if (colon && colon > l->s + ind && (size_t)(colon - l->s) + 1 < l->len && colon[1] == ' ') {
		*key_len = (size_t)(colon - l->s);
		*val_at = (size_t)(colon - l->s) + 2;
		return true;
	}
	if (ind == 0)
		return false;
	for (size_t i = ind + 1; i + 1 < l->len; i++)
		if (l->s[i] == ' ' && l->s[i + 1] == ' ') {
			size_t v = i;

			while (v < l->len && l->s[v] == ' ')
				v++;
			if (v == l->len)
				return false;
			*key_len = i;
			*val_at = v;
			return true;
		}
	/* "  forwarded (in the kernel) 0": a count one blank after its label */
	{
		size_t v = l->len;

		while (v > ind && isdigit((unsigned char)l->s[v - 1]))
			v--;
		if (v < l->len && v > ind + 1 && l->s[v - 1] == ' ') {
			*key_len = v - 1;
			*val_at = v;
			return true;
		}
	}
	return false;
}

/* text's lines (without their CR), pointing into it; NULL when out of memory. */
static struct sp_json_line *sp_json_lines(const char *text, size_t len, size_t *n_out)
{
	struct sp_json_line *lines = NULL;
	size_t n_lines = 0, cap = 0;

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl ? nl : end) - p);

		if (n_lines == cap) {
			struct sp_json_line *g = realloc(lines, (cap ? cap * 2 : 32) * sizeof(*g));
			if (!g) {
				free(lines);
				return NULL;
			}
			lines = g;
			cap = cap ? cap * 2 : 32;
		}
		while (l && p[l - 1] == '\r')
			l--;
		lines[n_lines++] = (struct sp_json_line){ p, l };
		p = nl ? nl + 1 : end;
	}
	*n_out = n_lines;
	return lines;
}

/* The rows of the first table (a header line, then rows in its columns),
 * each an object keyed by the column names. */
static void sp_json_put_rows(FILE *f, const struct sp_json_line *lines, size_t n_lines)
{
	bool first_row = true;

	for (size_t i = 0; i < n_lines; i++) {
		size_t starts[SP_JSON_MAX_COLS];
		int cols = sp_json_header(&lines[i], starts);

		/* a header: rows follow, or a count ("0 sessions") */
		if (!cols || i + 1 >= n_lines ||
		    (!sp_json_row(&lines[i + 1], starts, cols) &&
		     !(lines[i + 1].len && isdigit((unsigned char)lines[i + 1].s[0]))))
			continue;
		for (size_t r = i + 1; r < n_lines && sp_json_row(&lines[r], starts, cols); r++) {
			fputs(first_row ? "{" : ",{", f);
			first_row = false;
			for (int c = 0; c < cols && starts[c] < lines[r].len; c++) {
				size_t from = starts[c];
				size_t to = c + 1 < cols && starts[c + 1] < lines[r].len ? starts[c + 1] : lines[r].len;
				char key[64];

				sp_json_key(key, sizeof(key), NULL, lines[i].s + starts[c],
					    (c + 1 < cols ? starts[c + 1] : lines[i].len) - starts[c]);
				fprintf(f, "%s\"%s\":", c ? "," : "", key);
				sp_json_value(f, lines[r].s + from, to - from);
			}
			fputc('}', f);
		}
		break; /* one table per command */
	}
}

/* "Key: value" lines, keyed by their path under the less indented lines
 * above them. */
static void sp_json_put_fields(FILE *f, const struct sp_json_line *lines, size_t n_lines)
{
	char parents[SP_JSON_MAX_DEPTH][256] = { { 0 } };
	size_t parent_indent[SP_JSON_MAX_DEPTH] = { 0 };
	int depth = 0;
	bool first = true;

	for (size_t i = 0; i < n_lines; i++) {
		size_t key_len, val_at, ind = sp_json_indent(&lines[i]);
		char key[240];

		while (depth > 0 && parent_indent[depth - 1] >= ind)
			depth--;
		if (!sp_json_pair(&lines[i], &key_len, &val_at))
			continue;
		sp_json_key(key, sizeof(key), depth ? parents[depth - 1] : NULL, lines[i].s, key_len);
		if (!key[0])
			continue;
		fprintf(f, "%s\"%s\":", first ? "" : ",", key);
		first = false;
		sp_json_value(f, lines[i].s + val_at, lines[i].len - val_at);
		if (depth < SP_JSON_MAX_DEPTH) {
			snprintf(parents[depth], sizeof(parents[depth]), "%s", key);
			parent_indent[depth++] = ind;
		}
	}
}

char *sp_show_json(const char *text, size_t len)
{
	size_t n_lines = 0;
	struct sp_json_line *lines = sp_json_lines(text, len, &n_lines);
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;

	if (!lines && len)
		return NULL;
	f = open_memstream(&out, &out_len);
	if (!f) {
		free(lines);
		return NULL;
	}
	fputs("{\"rows\":[", f);
	sp_json_put_rows(f, lines, n_lines);
	fputs("],\"fields\":{", f);
	sp_json_put_fields(f, lines, n_lines);
	fputs("},\"lines\":[", f);
	for (size_t i = 0; i < n_lines; i++) {
		if (i)
			fputc(',', f);
		sp_json_string(f, lines[i].s, lines[i].len);
	}
	fputs("]}", f);
	free(lines);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
