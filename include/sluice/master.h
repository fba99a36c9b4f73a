/* master.h - master-worker mode, seamless reloads and -sf/-st hand-over.
 *
 * Owns: the -W/-Ws/-S/-sf/-st options, the "master-worker" and
 * "hard-stop-after" global keywords, the master process (it loads the
 * configuration, keeps the listening sockets, forks one worker process
 * per generation, reloads on SIGUSR2 or the master CLI "reload", reaps
 * workers and stops old ones once the new one is serving), the master CLI
 * (-S: help, show proc, reload, quit) and systemd notification (-Ws:
 * READY=1 / RELOADING=1 / STOPPING=1 / STATUS= on $NOTIFY_SOCKET).
 *
 * A reload never refuses a connection: a new worker gets the very kernel
 * sockets of the addresses that did not change (the master keeps a
 * duplicate of each and the worker inherits it across fork()), so the
 * old worker's soft stop only drops its own reference.
 *
 * Threading: the master is single-threaded and never starts worker
 * threads; a worker process runs main's normal start-up in its child.
 * master_serving() is called once by that start-up, on the main thread.
 */
#ifndef SLUICE_MASTER_H
#define SLUICE_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct config;
struct listener;

#define MASTER_MAX_OLD_PIDS 64

/* Command-line options of this subsystem. */
struct master_opts {
	int master_worker;		/* -W, -Ws */
	int systemd;			/* -Ws */
	const char *cli_addr;		/* -S ADDR */
	pid_t old_pids[MASTER_MAX_OLD_PIDS];	/* -sf / -st */
	int nold_pids;
	int old_hard;			/* -st: SIGTERM instead of SIGUSR1 */
};

/* Parse argv[i] if it is one of ours. Returns how many words it used
 * (>= 1), 0 if argv[i] is not ours, or -1 after printing why to stderr. */
int master_parse_arg(struct master_opts *mo, int argc, char **argv, int i);

/* What main provides to the master: reading the configuration again on
 * reload, detaching (daemon/pidfile, once), and running a worker in a
 * child (returns the exit code). */
struct master_ops {
	int (*load)(struct config *conf, void *ctx);	/* 0 or errors */
	unsigned (*nthreads)(const struct config *conf);
	void (*detach)(const struct config *conf, void *ctx);
	int (*run)(struct config *conf, void *ctx);
	void *ctx;
};

/* Run the master with a configuration already loaded (taken over: freed
 * here). Returns the process exit code. */
int master_main(const struct master_opts *mo, const struct master_ops *ops,
		struct config *conf);

/* Called by the start-up code once the runtime serves: in a worker,
 * tells the master it is ready; otherwise signals the -sf/-st processes. */
void master_serving(const struct master_opts *mo);

/* ---- pure helpers (unit-tested) -------------------------------------- */

/* What identifies a listening socket across reloads. */
struct sock_key {
	struct sockaddr_storage addr;
	int udp;
	const char *iface;		/* NULL: none */
};
int sock_key_match(const struct sock_key *a, const struct sock_key *b);

enum sd_state { SD_READY, SD_RELOADING, SD_STOPPING, SD_STATUS };
/* Build a sd_notify datagram: "READY=1\nSTATUS=...", "RELOADING=1\n
 * MONOTONIC_USEC=N\nSTATUS=...", ... (status may be NULL; newlines in it
 * become spaces). Returns its length, or 0 if it does not fit. */
size_t sd_msg_build(char *buf, size_t sz, enum sd_state st, uint64_t mono_usec,
		    const char *status);
/* $NOTIFY_SOCKET into an AF_UNIX address ("/path" or "@abstract").
 * Returns 0 or -1. */
struct sockaddr_un;
int sd_addr_parse(const char *env, struct sockaddr_un *sun, socklen_t *len);
/* "0d00h01m05s" into buf (HAProxy's uptime format). */
const char *master_uptime_str(char *buf, size_t sz, unsigned long secs);

#endif
