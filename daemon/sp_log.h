/* Logging to stderr and/or syslog with levels. */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <syslog.h>

enum sp_log_target {
	SP_LOG_STDERR = 1 << 0,
	SP_LOG_SYSLOG = 1 << 1,
};

void sp_log_open(const char *ident, unsigned targets, int max_level);
void sp_log_set_level(int max_level);
int sp_log_level_from_name(const char *name);
void sp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sp_err(...) sp_log(LOG_ERR, __VA_ARGS__)
#define sp_warn(...) sp_log(LOG_WARNING, __VA_ARGS__)
#define sp_notice(...) sp_log(LOG_NOTICE, __VA_ARGS__)
#define sp_info(...) sp_log(LOG_INFO, __VA_ARGS__)
#define sp_debug(...) sp_log(LOG_DEBUG, __VA_ARGS__)

#endif
