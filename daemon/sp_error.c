#include "config.h"
#include "sp_error.h"

#include <stdarg.h>
#include <stdio.h>

int sp_error_set(struct sp_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}
