/* A one-line error message carried back to whoever asked for a change
 * (a CLI session, an SNMP SET, the config file loader). */
#ifndef SP_ERROR_H
#define SP_ERROR_H

#include <stddef.h>

#define SP_ERROR_MAX 256

struct sp_error {
	char msg[SP_ERROR_MAX];
};

/* Always returns -1 so callers can write `return sp_error_set(e, ...);`. */
int sp_error_set(struct sp_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sp_error_clear(struct sp_error *e)
{
	if (e)
		e->msg[0] = '\0';
}

#endif
