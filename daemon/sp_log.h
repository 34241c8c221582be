/* Logging to stderr and/or syslog with levels. */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <syslog.h>

enum sp_log_target {
	SP_LOG_STDERR = 1 << 0,
	SP_LOG_SYSLOG = 1 << 1,
};

void sp_log_open(const char *ident, unsigned targets, int max_level);
void sp_log_set_level(int max_level);
int sp_log_level_from_name(const char *name);
void sp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `debug {engine|sip|kernel|sync}`: debug lines of those categories are
 * logged whatever the level. A line's category is its prefix ("sync:",
 * "media:", "libosip2", ...); any other prefix is the engine's. */
enum sp_debug_category {
	SP_DEBUG_ENGINE = 1 << 0,
	SP_DEBUG_SIP = 1 << 1,
	SP_DEBUG_KERNEL = 1 << 2,
	SP_DEBUG_SYNC = 1 << 3,
};
#define SP_DEBUG_ALL (SP_DEBUG_ENGINE | SP_DEBUG_SIP | SP_DEBUG_KERNEL | SP_DEBUG_SYNC)
void sp_log_debug_set(unsigned categories, bool on);
unsigned sp_log_debug_get(void);
unsigned sp_log_debug_from_name(const char *name); /* 0: unknown */
const char *sp_log_debug_name(unsigned category);

/* The last SP_LOG_RING_LINES lines logged, kept in memory for `show
 * logging` (whatever the targets), oldest first. */
#define SP_LOG_RING_LINES 256
#define SP_LOG_RING_LINE_MAX 512
void sp_log_ring_print(FILE *out);

/* `logging host`: every line also goes to these syslog hosts over UDP
 * (RFC 3164, facility daemon); n == 0 stops it. */
#define SP_LOG_REMOTE_MAX 4
int sp_log_set_remote(const struct sockaddr_storage *hosts, const socklen_t *lens, size_t n);

/* Every string that came from the network (a SIP header, a user name typed
 * at the login prompt) goes through this before it reaches a log line:
 * bytes outside printable ASCII, '"' and '\\' become \xNN, so a log line
 * is always one line of text that says exactly what was received. Output
 * longer than the buffer ends in "..."; returns `buf`. */
#define SP_LOG_ESCAPED_MAX 256
const char *sp_log_escape(const char *in, char *buf, size_t cap);
const char *sp_log_escape_n(const char *in, size_t len, char *buf, size_t cap);

/* Rate limiting per reason: an event that can repeat at the rate of an
 * attacker's packets logs its first line, then at most one line per
 * interval; the lines left out are counted and reported as
 * "REASON: N more suppressed" when the interval ends (sp_log_limit_flush,
 * which the daemon calls every second) or before the next line. One static
 * struct sp_log_limit per call site. */
#define SP_LOG_LIMIT_INTERVAL_MS 10000
struct sp_log_limit {
	const char *reason;
	uint64_t window_start_ms;
	unsigned long suppressed;
	bool registered;
	struct sp_log_limit *next;
};
#define SP_LOG_LIMIT_INIT(reason_text) { .reason = (reason_text) }

void sp_log_limited(struct sp_log_limit *lim, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports and resets every limiter whose interval is over (any thread). */
void sp_log_limit_flush(void);

#define sp_err(...) sp_log(LOG_ERR, __VA_ARGS__)
#define sp_warn(...) sp_log(LOG_WARNING, __VA_ARGS__)
#define sp_notice(...) sp_log(LOG_NOTICE, __VA_ARGS__)
#define sp_info(...) sp_log(LOG_INFO, __VA_ARGS__)
#define sp_debug(...) sp_log(LOG_DEBUG, __VA_ARGS__)

#endif
