/* The one daemon context: everything sigproxyd owns hangs off it. */
#ifndef SP_DAEMON_H
#define SP_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_config.h"
#include "sp_loop.h"

struct sp_cli_server;
struct sp_agent;
struct sp_engine;
struct sp_pbr;
struct sp_redundancy_ctl;
struct sp_status;
struct sp_events;

#define SP_AGENTX_MAX_CONTEXTS 8

struct sp_daemon_options {
	const char *config_path;
	const char *cli_listen;   /* "ADDR:PORT", or "none" */
	const char *cli_socket;   /* unix socket path, or "none" */
	const char *agentx_socket;
	/* SNMP contexts the MIB is registered in besides the default one: a
	 * SET names its context in the audit log (AgentX passes no requester) */
	const char *agentx_contexts[SP_AGENTX_MAX_CONTEXTS];
	size_t n_agentx_contexts;
	const char *pid_file;
	const char *state_dir;    /* bindings and dialogs kept there, or "none" */
	const char *cli_admin_group; /* unix-socket and PAM users: admin CLI */
	const char *cli_ro_group;    /* ... read-only CLI */
	const char *cli_pam_service; /* TCP logins of unknown users through PAM, or NULL */
	const char *cli_pam_dir;     /* where its file is (NULL: /etc/pam.d) */
	bool daemonize;
	int log_level;
	unsigned workers;            /* engine workers (--workers, or the CPUs) */
	bool workers_given;          /* by --workers, not the CPUs' default */
	int sched_policy;            /* --sched: SCHED_BATCH, SCHED_FIFO, or
	                              * SCHED_OTHER for normal (as started) */
};

struct sp_daemon {
	struct sp_daemon_options opt;
	struct sp_loop *loop;
	struct sp_config_store *config;
	struct sp_cli_server *cli;
	struct sp_agent *agent;   /* NULL with --agentx none */
	struct sp_engine *engine;
	struct sp_pbr *pbr;       /* policy routes (policy-routing/sp_pbr) */
	struct sp_redundancy_ctl *redundancy; /* active-standby role and state sync */
	struct sp_status *status;   /* install state of every configured object */
	struct sp_events *events;   /* events from below, for the management layer */
	int signal_fd;
	uint64_t started_ms;
};

#endif
