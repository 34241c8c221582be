#include "config.h"
#include "sp_log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>

/* The log sink is process-wide by nature (syslog itself is), so this is the one
 * piece of state kept outside the daemon context. */
static struct {
	unsigned targets;
	int max_level;
	pthread_mutex_t lock;
} sp_log_state = { SP_LOG_STDERR, LOG_INFO, PTHREAD_MUTEX_INITIALIZER };

static const char *const sp_log_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void sp_log_open(const char *ident, unsigned targets, int max_level)
{
	sp_log_state.targets = targets;
	sp_log_state.max_level = max_level;
	if (targets & SP_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void sp_log_set_level(int max_level)
{
	sp_log_state.max_level = max_level;
}

int sp_log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(sp_log_names) / sizeof(sp_log_names[0]); i++)
		if (strcasecmp(name, sp_log_names[i]) == 0)
			return (int)i;
	return -1;
}

static void sp_vlog(int level, const char *fmt, va_list args)
{
	va_list ap;

	if (level > sp_log_state.max_level)
		return;
	if (sp_log_state.targets & SP_LOG_SYSLOG) {
		va_copy(ap, args);
		vsyslog(level, fmt, ap);
		va_end(ap);
	}
	if (sp_log_state.targets & SP_LOG_STDERR) {
		char ts[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&sp_log_state.lock);
		fprintf(stderr, "%s.%03ld sigproxyd[%s]: ", ts, now.tv_nsec / 1000000,
			level >= 0 && level <= LOG_DEBUG ? sp_log_names[level] : "?");
		va_copy(ap, args);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		pthread_mutex_unlock(&sp_log_state.lock);
	}
}

void sp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_vlog(level, fmt, ap);
	va_end(ap);
}

static bool sp_log_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

const char *sp_log_escape_n(const char *in, size_t len, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, total = 0, room;

	if (cap == 0)
		return buf;
	for (size_t i = 0; in && i < len; i++)
		total += sp_log_plain((unsigned char)in[i]) ? 1 : 4;
	/* all of it, or as much as fits before "..." */
	room = total < cap ? cap - 1 : cap >= 4 ? cap - 4 : 0;
	for (size_t i = 0; in && i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = sp_log_plain(c) ? 1 : 4;

		if (o + need > room)
			break;
		if (need == 1) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (total >= cap && cap >= 4) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

const char *sp_log_escape(const char *in, char *buf, size_t cap)
{
	return sp_log_escape_n(in, in ? strlen(in) : 0, buf, cap);
}

/* ---- rate limiting ---- */

static struct {
	pthread_mutex_t lock;
	struct sp_log_limit *all;
} sp_log_limits = { PTHREAD_MUTEX_INITIALIZER, NULL };

static uint64_t sp_log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sp_log_report_suppressed(const char *reason, unsigned long n)
{
	if (n)
		sp_log(LOG_NOTICE, "%s: %lu more suppressed", reason, n);
}

void sp_log_limited(struct sp_log_limit *lim, int level, const char *fmt, ...)
{
	uint64_t now = sp_log_now_ms();
	unsigned long report = 0;
	bool emit;
	va_list ap;

	if (level > sp_log_state.max_level)
		return;
	pthread_mutex_lock(&sp_log_limits.lock);
	if (!lim->registered) {
		lim->registered = true;
		lim->next = sp_log_limits.all;
		sp_log_limits.all = lim;
		lim->window_start_ms = now - SP_LOG_LIMIT_INTERVAL_MS; /* first line passes */
	}
	emit = now - lim->window_start_ms >= SP_LOG_LIMIT_INTERVAL_MS;
	if (emit) {
		report = lim->suppressed;
		lim->suppressed = 0;
		lim->window_start_ms = now;
	} else {
		lim->suppressed++;
	}
	pthread_mutex_unlock(&sp_log_limits.lock);
	if (!emit)
		return;
	sp_log_report_suppressed(lim->reason, report);
	va_start(ap, fmt);
	sp_vlog(level, fmt, ap);
	va_end(ap);
}

void sp_log_limit_flush(void)
{
	uint64_t now = sp_log_now_ms();

	pthread_mutex_lock(&sp_log_limits.lock);
	for (struct sp_log_limit *l = sp_log_limits.all; l; l = l->next)
		if (l->suppressed && now - l->window_start_ms >= SP_LOG_LIMIT_INTERVAL_MS) {
			/* the interval is over: say how many were left out, and
			 * let the next event through at once */
			sp_log_report_suppressed(l->reason, l->suppressed);
			l->suppressed = 0;
		}
	pthread_mutex_unlock(&sp_log_limits.lock);
}
