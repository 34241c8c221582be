/* `show ... | json`: a show command's text as one JSON object, so scripts
 * need not parse the columns. The show renderers write text for people;
 * their forms are few and regular, and this reads them back:
 *  - a table (a header of columns two or more blanks apart, then rows
 *    aligned under it) becomes "rows": [ {column: value, ...}, ... ];
 *  - "Key: value" and "  key   value" lines become "fields": {key: value},
 *    keys lower-case with '-' for blanks, an indented line's key prefixed
 *    with its parent's ("dropped.parse-errors"); numbers are numbers;
 *  - every line, understood or not, is also in "lines", in order. */
#ifndef SP_SHOW_JSON_H
#define SP_SHOW_JSON_H

#include <stddef.h>

/* The JSON text (one line, malloc'd) of `len` bytes of show output, or NULL
 * when out of memory. */
char *sp_show_json(const char *text, size_t len);

#endif
