#include "config.h"
#include "sp_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- debug categories: a debug line belongs to the category its prefix
 * names ("sync: ...", "media: ..."), so no module needs to know of them ---- */

static _Atomic unsigned sp_log_debug_mask;

static const struct {
	const char *name;
	unsigned cat;
} sp_log_debug_names[] = {
	{ "engine", SP_DEBUG_ENGINE },
	{ "sip", SP_DEBUG_SIP },
	{ "kernel", SP_DEBUG_KERNEL },
	{ "sync", SP_DEBUG_SYNC },
};

static const struct {
	const char *prefix;
	unsigned cat;
} sp_log_debug_prefixes[] = {
	{ "sync", SP_DEBUG_SYNC },      { "redundancy", SP_DEBUG_SYNC }, { "sip", SP_DEBUG_SIP },
	{ "libosip2", SP_DEBUG_SIP },   { "media", SP_DEBUG_KERNEL },   { "libbpf", SP_DEBUG_KERNEL },
	{ "nft", SP_DEBUG_KERNEL },     { "rtnl", SP_DEBUG_KERNEL },    { "pbr", SP_DEBUG_KERNEL },
	{ "policy-route", SP_DEBUG_KERNEL }, { "kernel", SP_DEBUG_KERNEL }, { "conntrack", SP_DEBUG_KERNEL },
};

void sp_log_debug_set(unsigned cats, bool on)
{
	if (on)
		atomic_fetch_or(&sp_log_debug_mask, cats);
	else
		atomic_fetch_and(&sp_log_debug_mask, ~cats);
}

unsigned sp_log_debug_get(void)
{
	return atomic_load(&sp_log_debug_mask);
}

unsigned sp_log_debug_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(sp_log_debug_names) / sizeof(sp_log_debug_names[0]); i++)
		if (strcasecmp(name, sp_log_debug_names[i].name) == 0)
			return sp_log_debug_names[i].cat;
	return 0;
}

const char *sp_log_debug_name(unsigned cat)
{
	for (size_t i = 0; i < sizeof(sp_log_debug_names) / sizeof(sp_log_debug_names[0]); i++)
		if (sp_log_debug_names[i].cat == cat)
			return sp_log_debug_names[i].name;
	return "?";
}

static unsigned sp_log_debug_category(const char *msg)
{
	for (size_t i = 0; i < sizeof(sp_log_debug_prefixes) / sizeof(sp_log_debug_prefixes[0]); i++) {
		size_t n = strlen(sp_log_debug_prefixes[i].prefix);

		if (strncmp(msg, sp_log_debug_prefixes[i].prefix, n) == 0 &&
		    (msg[n] == ':' || msg[n] == ' ' || msg[n] == '('))
			return sp_log_debug_prefixes[i].cat;
	}
	return SP_DEBUG_ENGINE;
}

/* ---- the in-memory ring (show logging) and remote syslog (logging host) ---- */

static struct {
	pthread_mutex_t lock;
	char lines[SP_LOG_RING_LINES][SP_LOG_RING_LINE_MAX + 64]; /* + time and level */
	size_t next;  /* slot the next line goes to */
	size_t count;
	int fds[2];   /* UDP sockets, AF_INET and AF_INET6, opened on demand */
	struct sockaddr_storage hosts[SP_LOG_REMOTE_MAX];
	socklen_t host_lens[SP_LOG_REMOTE_MAX];
	size_t n_hosts;
} sp_log_out = { .lock = PTHREAD_MUTEX_INITIALIZER, .fds = { -1, -1 } };

int sp_log_set_remote(const struct sockaddr_storage *hosts, const socklen_t *lens, size_t n)
{
	int rc = 0;

	if (n > SP_LOG_REMOTE_MAX)
		n = SP_LOG_REMOTE_MAX;
	pthread_mutex_lock(&sp_log_out.lock);
	for (size_t i = 0; i < n; i++) {
		int k = hosts[i].ss_family == AF_INET6 ? 1 : 0;

		if (sp_log_out.fds[k] < 0) {
			sp_log_out.fds[k] = socket(k ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (sp_log_out.fds[k] < 0)
				rc = -1;
		}
		sp_log_out.hosts[i] = hosts[i];
		sp_log_out.host_lens[i] = lens[i];
	}
	sp_log_out.n_hosts = n;
	pthread_mutex_unlock(&sp_log_out.lock);
	return rc;
}

void sp_log_ring_print(FILE *out)
{
	pthread_mutex_lock(&sp_log_out.lock);
	for (size_t i = 0; i < sp_log_out.count; i++) {
		size_t k = (sp_log_out.next + SP_LOG_RING_LINES - sp_log_out.count + i) % SP_LOG_RING_LINES;

		fprintf(out, "%s\n", sp_log_out.lines[k]);
	}
	pthread_mutex_unlock(&sp_log_out.lock);
}

/* One line to the ring and, RFC 3164 style (facility daemon), to every
 * remote syslog host: UDP, never blocking the caller. */
static void sp_log_keep(int level, const struct timespec *now, const char *msg)
{
	char ts[32], host[64] = "-";
	struct tm tm;

	localtime_r(&now->tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&sp_log_out.lock);
	snprintf(sp_log_out.lines[sp_log_out.next], sizeof(sp_log_out.lines[0]), "%s.%03ld %s: %s", ts,
		 now->tv_nsec / 1000000, sp_log_names[level], msg);
	sp_log_out.next = (sp_log_out.next + 1) % SP_LOG_RING_LINES;
	if (sp_log_out.count < SP_LOG_RING_LINES)
		sp_log_out.count++;
	if (sp_log_out.n_hosts) {
		char pkt[1200], stamp[32];
		int n;

		gethostname(host, sizeof(host) - 1);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(pkt, sizeof(pkt), "<%d>%s %s sigproxyd[%d]: %s", LOG_DAEMON | level, stamp, host,
			     (int)getpid(), msg);
		if (n > (int)sizeof(pkt) - 1)
			n = (int)sizeof(pkt) - 1;
		for (size_t i = 0; i < sp_log_out.n_hosts; i++) {
			int fd = sp_log_out.fds[sp_log_out.hosts[i].ss_family == AF_INET6 ? 1 : 0];

			if (fd >= 0)
				(void)sendto(fd, pkt, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
					     (const struct sockaddr *)&sp_log_out.hosts[i], sp_log_out.host_lens[i]);
		}
	}
	pthread_mutex_unlock(&sp_log_out.lock);
}

static void sp_vlog(int level, const char *fmt, va_list args)
{
	char msg[SP_LOG_RING_LINE_MAX];
	struct timespec now;
	va_list ap;

	if (level < 0 || level > LOG_DEBUG)
		level = LOG_ERR;
	if (level > sp_log_state.max_level && !(level == LOG_DEBUG && atomic_load(&sp_log_debug_mask)))
		return;
	va_copy(ap, args);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level > sp_log_state.max_level && !(sp_log_debug_category(msg) & atomic_load(&sp_log_debug_mask)))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	sp_log_keep(level, &now, msg);
	if (sp_log_state.targets & SP_LOG_SYSLOG)
		syslog(level, "%s", msg);
	if (sp_log_state.targets & SP_LOG_STDERR) {
		char ts[32];
		struct tm tm;

		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&sp_log_state.lock);
		fprintf(stderr, "%s.%03ld sigproxyd[%s]: %s\n", ts, now.tv_nsec / 1000000, sp_log_names[level], msg);
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
