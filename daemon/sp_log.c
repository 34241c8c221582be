#include "config.h"
#include "sp_log.h"

#include <stdarg.h>
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

void sp_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > sp_log_state.max_level)
		return;
	if (sp_log_state.targets & SP_LOG_SYSLOG) {
		va_start(ap, fmt);
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
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		pthread_mutex_unlock(&sp_log_state.lock);
	}
}
