/* sigproxyd: start-up, signals, shutdown. */
#include "config.h"
#include "sp_access.h"
#include "sp_agent.h"
#include "sp_cli.h"
#include "sp_config_file.h"
#include "sp_daemon.h"
#include "sp_sdnotify.h"
#include "sp_engine.h"
#include "sp_log.h"
#include "sp_pbr.h"
#include "sp_persist.h"
#include "sp_redundancy.h"
#include "sp_status.h"
#include "sp_event.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define SP_DEFAULT_CONFIG SYSCONFDIR "/sigproxy/sigproxy.conf"
#define SP_DEFAULT_CLI_LISTEN "127.0.0.1:2650"
#define SP_DEFAULT_CLI_SOCKET RUNSTATEDIR "/sigproxy/cli.sock"

/* The default of --workers: one per CPU this process may run on (its
 * affinity: taskset, systemd's CPUAffinity=, a cgroup's cpuset), not every
 * CPU of the machine, since a worker without a CPU of its own only adds a
 * thread switch; at most the steering program's 64. */
static unsigned sp_default_workers(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else /* more CPUs than a cpu_set_t holds (1024) */
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static void sp_usage(FILE *f)
{
	fprintf(f,
		"Usage: sigproxyd [OPTIONS]\n"
		"Transparent SIP signaling proxy daemon.\n\n"
		"  -f, --config FILE        configuration file (default %s)\n"
		"  -d, --daemon             run in the background\n"
		"      --cli-listen A:P     CLI TCP listener, or \"none\" (default %s)\n"
		"      --cli-socket PATH    CLI unix socket, or \"none\" (default %s)\n"
		"      --cli-group NAME     local users of this group get the admin CLI on the\n"
		"                           unix socket (root always does; default %s)\n"
		"      --cli-ro-group NAME  ... and of this one the read-only CLI (default %s)\n"
		"      --cli-pam SERVICE    TCP logins of users not configured with `username'\n"
		"                           go through PAM service SERVICE (e.g. sigproxy);\n"
		"                           their groups give their privilege as above\n"
		"      --cli-pam-dir DIR    read the PAM service file from DIR (tests)\n"
		"      --agentx SOCKET      AgentX master socket (default: Net-SNMP's)\n"
		"      --agentx-context NAME  also serve SIGPROXY-MIB in SNMP context NAME\n"
		"                           (up to 8): a SET's audit line names its context\n"
		"      --pid-file PATH      write the process id there\n"
		"      --state-dir DIR      bindings and dialogs kept there across restarts,\n"
		"                           or \"none\" (default %s)\n"
		"      --workers N          engine workers, each reading the terminals the\n"
		"                           kernel steers to it (1 to 64; default: one per\n"
		"                           CPU this process may run on, here %u)\n"
		"      --sched POLICY       normal (default): as started; batch: every thread\n"
		"                           SCHED_BATCH, a datagram's wake-up preempting no\n"
		"                           running task (less CPU per message, more latency\n"
		"                           on a busy CPU); fifo: every thread SCHED_FIFO at\n"
		"                           priority 1, ahead of every normal task (the least\n"
		"                           latency on a busy CPU; needs CAP_SYS_NICE)\n"
		"  -l, --log-level LEVEL    error, warning, notice, info (default) or debug\n"
		"  -V, --version            print the version and exit\n"
		"  -h, --help               print this help and exit\n\n"
		"Signals: SIGHUP re-reads the configuration file (as one transaction);\n"
		"SIGTERM and SIGINT shut down cleanly.\n",
		SP_DEFAULT_CONFIG, SP_DEFAULT_CLI_LISTEN, SP_DEFAULT_CLI_SOCKET,
		SP_ACCESS_DEFAULT_ADMIN_GROUP, SP_ACCESS_DEFAULT_RO_GROUP, SP_PERSIST_DEFAULT_DIR,
		sp_default_workers());
}

static void sp_options_defaults(struct sp_daemon_options *o)
{
	o->config_path = SP_DEFAULT_CONFIG;
	o->cli_listen = SP_DEFAULT_CLI_LISTEN;
	o->cli_socket = SP_DEFAULT_CLI_SOCKET;
	o->state_dir = SP_PERSIST_DEFAULT_DIR;
	o->cli_admin_group = SP_ACCESS_DEFAULT_ADMIN_GROUP;
	o->cli_ro_group = SP_ACCESS_DEFAULT_RO_GROUP;
	o->log_level = LOG_INFO;
	o->workers = sp_default_workers();
	o->sched_policy = SCHED_OTHER;
}

/* --agentx-context NAME, once more: -1 (said on stderr) past the last. */
static int sp_add_agentx_context(struct sp_daemon_options *o, const char *name)
{
	if (o->n_agentx_contexts == SP_AGENTX_MAX_CONTEXTS || !name[0] || strlen(name) > 32) {
		fprintf(stderr, "sigproxyd: --agentx-context: at most %d, of 1 to 32 characters\n",
			SP_AGENTX_MAX_CONTEXTS);
		return -1;
	}
	o->agentx_contexts[o->n_agentx_contexts++] = name;
	return 0;
}

/* --workers N: 1 to 64 (the steering program's limit). */
static int sp_set_workers(struct sp_daemon_options *o, const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (!*arg || *end || n < 1 || n > 64) {
		fprintf(stderr, "sigproxyd: --workers: 1 to 64\n");
		return -1;
	}
	o->workers = (unsigned)n;
	o->workers_given = true;
	return 0;
}

/* --sched normal|batch|fifo */
static int sp_set_sched(struct sp_daemon_options *o, const char *arg)
{
	if (!strcmp(arg, "normal"))
		o->sched_policy = SCHED_OTHER;
	else if (!strcmp(arg, "batch"))
		o->sched_policy = SCHED_BATCH;
	else if (!strcmp(arg, "fifo"))
		o->sched_policy = SCHED_FIFO;
	else {
		fprintf(stderr, "sigproxyd: --sched: normal, batch or fifo\n");
		return -1;
	}
	return 0;
}

/* --sched batch: SCHED_BATCH, before any thread starts (threads inherit
 * it). A task woken by a datagram then does not preempt the task running on
 * its CPU: the socket layer wakes a reader on the sender's CPU (a sync
 * wake-up), and sigproxyd preempting a SIPp or a server that is about to
 * send two more answers woke up once per answer; with it, it reads the
 * burst in one batch. Measured at 200 calls/s: 17 % less CPU per call, 0.6
 * fewer wake-ups, but on a loaded machine the INVITE->200 p90 from 2.9 to
 * 5-7.7 ms (it waits for other tasks' slices): not the default
 * (bench/RESULTS.md). A policy the operator chose (real-time through chrt
 * or systemd) is left alone.
 * --sched fifo: SCHED_FIFO at priority 1. On a CPU shared with other work a
 * normal task waits for the running one's slice: at 3500 calls/s beside
 * the bench's SIPps a message's p99 in sigproxyd's namespace was 1.6 ms
 * with normal, 0.15 ms with FIFO (bench/count --tool latency). Priority
 * 1 stays below any real-time task the router already runs (keepalived's
 * VRRP, interrupt threads); the kernel's real-time throttling still leaves
 * the other tasks a share under a flood. */
static void sp_sched_apply(const struct sp_daemon_options *o)
{
	struct sched_param param = { 0 };
	const char *name = o->sched_policy == SCHED_FIFO ? "fifo" : "batch";

	if (o->sched_policy == SCHED_OTHER || sched_getscheduler(0) != SCHED_OTHER)
		return;
	if (o->sched_policy == SCHED_FIFO)
		param.sched_priority = 1;
	if (sched_setscheduler(0, o->sched_policy, &param) < 0)
		sp_warn("--sched %s: %s; running with the policy it was started with", name, strerror(errno));
}

static int sp_parse_args(int argc, char **argv, struct sp_daemon_options *o)
{
	enum { OPT_CLI_LISTEN = 256, OPT_CLI_SOCKET, OPT_AGENTX, OPT_PID_FILE, OPT_STATE_DIR,
	       OPT_CLI_GROUP, OPT_CLI_RO_GROUP, OPT_CLI_PAM, OPT_CLI_PAM_DIR, OPT_AGENTX_CONTEXT,
	       OPT_WORKERS, OPT_SCHED };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "cli-listen", required_argument, NULL, OPT_CLI_LISTEN },
		{ "cli-socket", required_argument, NULL, OPT_CLI_SOCKET },
		{ "agentx", required_argument, NULL, OPT_AGENTX },
		{ "agentx-context", required_argument, NULL, OPT_AGENTX_CONTEXT },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "sched", required_argument, NULL, OPT_SCHED },
		{ "cli-group", required_argument, NULL, OPT_CLI_GROUP },
		{ "cli-ro-group", required_argument, NULL, OPT_CLI_RO_GROUP },
		{ "cli-pam", required_argument, NULL, OPT_CLI_PAM },
		{ "cli-pam-dir", required_argument, NULL, OPT_CLI_PAM_DIR },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	sp_options_defaults(o);
	while ((c = getopt_long(argc, argv, "f:dl:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->config_path = optarg; break;
		case 'd': o->daemonize = true; break;
		case OPT_CLI_LISTEN: o->cli_listen = optarg; break;
		case OPT_CLI_SOCKET: o->cli_socket = optarg; break;
		case OPT_AGENTX: o->agentx_socket = optarg; break;
		case OPT_AGENTX_CONTEXT:
			if (sp_add_agentx_context(o, optarg) < 0)
				return -1;
			break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_STATE_DIR: o->state_dir = optarg; break;
		case OPT_WORKERS:
		case OPT_SCHED:
			if ((c == OPT_WORKERS ? sp_set_workers : sp_set_sched)(o, optarg) < 0)
				return -1;
			break;
		case OPT_CLI_GROUP: o->cli_admin_group = optarg; break;
		case OPT_CLI_RO_GROUP: o->cli_ro_group = optarg; break;
		case OPT_CLI_PAM: o->cli_pam_service = optarg; break;
		case OPT_CLI_PAM_DIR: o->cli_pam_dir = optarg; break;
		case 'l':
			o->log_level = sp_log_level_from_name(optarg);
			if (o->log_level < LOG_ERR) {
				fprintf(stderr, "sigproxyd: unknown log level \"%s\"\n", optarg);
				return -1;
			}
			break;
		case 'V':
			printf("sigproxyd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			sp_usage(stdout);
			exit(0);
		default:
			sp_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sigproxyd: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	/* relative paths would break after daemon() changes to / */
	if (o->config_path[0] != '/') {
		char *abs = realpath(o->config_path, NULL);
		if (abs)
			o->config_path = abs;
	}
	return 0;
}

static int sp_pid_file_write(int fd, const char *path)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0) {
		sp_err("cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The pid file is also a lock: a second daemon with the same file refuses to
 * start instead of fighting the first over the kernel state. */
static int sp_pid_file_create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		sp_err("cannot open pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		sp_err("pid file %s is locked: another sigproxyd is running", path);
		close(fd);
		return -1;
	}
	if (sp_pid_file_write(fd, path) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * daemon(3), except that the parent returns only once the child has written
 * its own pid into the pid file: a supervisor or script reading the file as
 * soon as "sigproxyd -d" returns must not find the parent's pid. The child
 * keeps the pid file's lock (the open file description is shared).
 */
static int sp_daemonize(int pid_fd, const char *pid_path)
{
	int ready[2], devnull;
	pid_t pid;
	char ok = 0;

	if (pipe2(ready, O_CLOEXEC) < 0) {
		sp_err("daemon: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		sp_err("daemon: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	if (pid > 0) {
		ssize_t n;

		close(ready[1]);
		do
			n = read(ready[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		/* the child said it is ready, or died before (then fail) */
		_exit(n == 1 && ok == 1 ? 0 : 1);
	}
	close(ready[0]);
	if (setsid() < 0 || chdir("/") < 0)
		goto fail;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		goto fail;
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
	if (pid_fd >= 0 && sp_pid_file_write(pid_fd, pid_path) < 0)
		goto fail;
	ok = 1;
	if (write(ready[1], &ok, 1) != 1)
		goto fail;
	close(ready[1]);
	return 0;
fail:
	sp_err("daemon: %s", strerror(errno));
	close(ready[1]);
	return -1;
}

static void sp_signal_cb(struct sp_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sp_daemon *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct sp_error e = { { 0 } };

			/* the audit trail: who sent it (signalfd says) */
			sp_notice("audit: SIGHUP from pid %u (uid %u): re-reading %s", si.ssi_pid, si.ssi_uid,
				  d->opt.config_path);
			if (sp_config_file_load(d->config, d->opt.config_path, false, false, &e) < 0)
				sp_warn("config not changed: %s", e.msg);
		} else {
			sp_notice("signal %u: shutting down", si.ssi_signo);
			sp_loop_stop(loop);
		}
	}
}

/* Rate-limited log lines report what they left out once their interval is
 * over, even when the events have stopped. */
static void sp_log_flush_cb(struct sp_loop *loop, void *arg)
{
	struct sp_loop_timer **t = arg;

	(void)loop;
	sp_log_limit_flush();
	sp_loop_timer_arm(*t, 1000);
}

/* The daemon's own objects, then the subsystems below the management
 * layer: configuration, engine, redundancy, policy routes. -1 (logged). */
static int sp_start_core(struct sp_daemon *d)
{
	struct sp_error e = { { 0 } };

	d->started_ms = sp_loop_now_ms();
	d->loop = sp_loop_new();
	d->config = sp_config_store_new();
	d->status = sp_status_new();
	d->events = sp_events_new();
	if (!d->loop || !d->config || !d->status || !d->events) {
		sp_err("out of memory");
		return -1;
	}
	if (sp_config_file_load(d->config, d->opt.config_path, true, false, &e) < 0) {
		sp_err("%s", e.msg);
		return -1;
	}
	d->engine = sp_engine_start(&(struct sp_engine_env){ .loop = d->loop, .config = d->config,
							     .events = d->events, .status = d->status,
							     .state_dir = d->opt.state_dir,
							     .workers = d->opt.workers,
							     .workers_defaulted = !d->opt.workers_given }, &e);
	if (!d->engine) {
		sp_err("proxy engine: %s", e.msg);
		return -1;
	}
	d->redundancy = sp_redundancy_start(&(struct sp_redundancy_env){ .loop = d->loop,
									 .config = d->config,
									 .events = d->events,
									 .engine = d->engine }, &e);
	if (!d->redundancy) {
		sp_err("%s", e.msg);
		return -1;
	}
	/* after the engine, whose start removes every rule and route a previous
	 * run left with sigproxy's tag */
	d->pbr = sp_pbr_start(d->config, d->status, d->events, &e);
	if (!d->pbr) {
		sp_err("%s", e.msg);
		return -1;
	}
	return 0;
}

/* The signals blocked in mask, read on the loop. -1 (logged). */
static int sp_signals_open(struct sp_daemon *d, const sigset_t *mask)
{
	d->signal_fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0 || sp_loop_add_fd(d->loop, d->signal_fd, EPOLLIN, sp_signal_cb, d) < 0) {
		sp_err("signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The management layer: the CLI server and the SNMP agent. -1 (logged). */
static int sp_start_management(struct sp_daemon *d)
{
	struct sp_error e = { { 0 } };

	d->cli = sp_cli_server_start(d, &e);
	if (!d->cli) {
		sp_err("%s", e.msg);
		return -1;
	}
	d->agent = sp_agent_start(d, &e);
	if (!d->agent && e.msg[0]) {
		sp_err("%s", e.msg);
		return -1;
	}
	sp_agent_attach_engine(d->agent, d->engine);
	if (sp_agent_subscribe(d->agent, d->events) < 0) {
		sp_err("out of memory");
		return -1;
	}
	sp_agent_attach_redundancy_ctl(d->agent, d->redundancy);
	return 0;
}

/* Into the background only now, with the listeners, the kernel state and
 * the pid file in place: when the parent returns, the service is up (what
 * a forking systemd unit expects). No thread exists yet: CLI session
 * threads start on the first connection, and the state store's writer is
 * stopped across the fork. -1 (logged). */
static int sp_background(struct sp_daemon *d, int pid_fd, const sigset_t *mask)
{
	struct sp_error e = { { 0 } };

	sp_engine_persist_suspend(d->engine);
	if (sp_daemonize(pid_fd, d->opt.pid_file) < 0)
		return -1;
	if (sp_engine_persist_resume(d->engine, &e) < 0) {
		sp_err("%s", e.msg);
		return -1;
	}
	/* a signalfd wakes epoll for the process that registered it: the
	 * child needs its own */
	sp_loop_del_fd(d->loop, d->signal_fd);
	close(d->signal_fd);
	return sp_signals_open(d, mask);
}

/* Everything started, stopped in reverse order (each stop takes NULL). */
static void sp_stop_all(struct sp_daemon *d, struct sp_loop_timer *log_flush, int pid_fd)
{
	if (d->loop)
		sp_loop_close_calls(d->loop);
	sp_cli_server_stop(d->cli);
	if (log_flush)
		sp_loop_timer_free(log_flush);
	sp_agent_unsubscribe(d->agent, d->events);
	sp_agent_stop(d->agent);
	sp_pbr_stop(d->pbr); /* removes its rules and routes */
	sp_redundancy_stop(d->redundancy);
	d->redundancy = NULL; /* the engine's last marks find no channel */
	sp_engine_stop(d->engine); /* removes what it put in the kernel */
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	sp_config_store_free(d->config);
	sp_events_free(d->events);
	sp_status_free(d->status);
	sp_loop_free(d->loop);
	if (pid_fd >= 0) {
		unlink(d->opt.pid_file);
		close(pid_fd);
	}
}

int main(int argc, char **argv)
{
	struct sp_loop_timer *log_flush = NULL;
	struct sp_sdnotify *watchdog = NULL;
	struct sp_daemon d = { .signal_fd = -1 };
	sigset_t mask;
	int pid_fd = -1, rc = 1;

	if (sp_parse_args(argc, argv, &d.opt) < 0)
		return 2;
	/* under systemd (JOURNAL_STREAM) stderr and syslog both end in the
	 * journal: syslog alone, with its priorities, says it once */
	sp_log_open("sigproxyd",
		    d.opt.daemonize || getenv("JOURNAL_STREAM") ? SP_LOG_SYSLOG :
								  SP_LOG_STDERR | SP_LOG_SYSLOG,
		    d.opt.log_level);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	/* blocked before threads start, so every thread inherits the mask and the
	 * signals reach only the signalfd */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sp_sched_apply(&d.opt);

	if (d.opt.pid_file && (pid_fd = sp_pid_file_create(d.opt.pid_file)) < 0)
		return 1;
	if (sp_start_core(&d) < 0 || sp_signals_open(&d, &mask) < 0)
		goto out;
	log_flush = sp_loop_timer_new(d.loop, sp_log_flush_cb, &log_flush);
	if (!log_flush || sp_loop_timer_arm(log_flush, 1000) < 0) {
		sp_err("log timer: %s", strerror(errno));
		goto out;
	}
	if (sp_start_management(&d) < 0)
		goto out;
	sp_notice("sigproxyd %s started (config %s, CLI %s and %s)", PACKAGE_VERSION,
		  d.opt.config_path, d.opt.cli_listen, d.opt.cli_socket);
	if (d.opt.daemonize && sp_background(&d, pid_fd, &mask) < 0)
		goto out;
	{
		struct sp_error e = { "" };

		/* after the fork: threads do not survive it */
		if (sp_engine_workers_run(d.engine, &e) < 0) {
			sp_err("proxy engine: %s", e.msg);
			goto out;
		}
	}
	/* every listener, the kernel state and the pid file are in place */
	sp_sdnotify_ready();
	watchdog = sp_sdnotify_watchdog_start(d.loop);
	rc = sp_loop_run(d.loop) < 0 ? 1 : 0;
	sp_engine_workers_join(d.engine);
	sp_sdnotify_stopping();
out:
	sp_sdnotify_watchdog_stop(watchdog);
	sp_stop_all(&d, log_flush, pid_fd);
	if (rc == 0)
		sp_notice("sigproxyd stopped");
	return rc;
}
