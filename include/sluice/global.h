/* global.h - the "global" section and the loaded configuration as a whole.
 *
 * Owns: process-wide settings (maxconn, nbthread, cpu-map, daemon, pidfile,
 * tune.*, nosplice, maxpipes, ulimit-n) and struct config, the root that
 * holds every proxy after loading. There is no global variable for it:
 * main() creates one config and hands it to whoever needs it.
 * Threading: written while parsing; read-only afterwards.
 */
#ifndef SLUICE_GLOBAL_H
#define SLUICE_GLOBAL_H

#include <stdint.h>
#include "list.h"
#include "privs.h"

#define MAX_THREADS 64

struct proxy;
struct stktable;

struct global_cfg {
	unsigned maxconn;	/* 0: derived from RLIMIT_NOFILE at start-up */
	unsigned nbthread;	/* 0: one per CPU of the inherited affinity mask */
	int cpu_map[MAX_THREADS];	/* thread i -> CPU, -1: automatic */
	int cpu_map_set;	/* any cpu-map line seen */
	int daemon;
	char *pidfile;
	unsigned bufsize;	/* tune.bufsize, default 16384 */
	unsigned maxaccept;	/* tune.maxaccept, default 64 */
	int nosplice;
	unsigned pipesize;	/* tune.pipesize, 0: relay.c default (256 KiB) */
	unsigned maxpipes;	/* 0: derived from maxconn (maxconn / 4) */
	unsigned ulimit_n;	/* "ulimit-n", 0: not set; applied at start-up */
	struct list loggers;	/* struct logger, used by "log global" */
	char *log_tag;		/* "log-tag", default "sluice" */
	unsigned spread_checks;	/* "spread-checks" percent 0..50 (check.c) */
	int ssl_server_verify;	/* "ssl-server-verify": 1 required (default), 0 none */
	struct privs_cfg privs;	/* user, group, uid, gid, chroot, setcap (privs.c) */
	char *hostname;		/* "localpeer"/"node" not supported; gethostname() */
	int master_worker;	/* "master-worker" (master.c) */
	int mworker_no_exit;	/* "master-worker no-exit-on-failure" */
	unsigned hard_stop_after;	/* "hard-stop-after", ms; 0: none (master.c) */
	const char *conf_file;	/* where "global" was first seen */
	int conf_line;
};

struct config {
	struct global_cfg global;
	struct proxy *proxies;		/* frontends, backends, listens, in file order */
	struct proxy *defaults;		/* every defaults section, newest first */
	int nb_proxies;
	struct stktable *tables;		/* every stick table (stick_cfg.c) */
	/* command line */
	int check_only;			/* -c */
	int foreground;			/* -db */
	int debug;			/* -d */
	int nfiles;
	char **files;
	/* names of the files loaded (strdup'd by cfg_load_files): the
	 * conf_file pointers of proxies, servers, ... point here */
	int nfile_names;
	char **file_names;
};

void config_init(struct config *conf);
void config_free(struct config *conf);
/* A proxy having every bit of cap (PX_CAP_FE finds frontends and listens);
 * cap PX_CAP_DEFAULTS looks up named defaults sections, newest first. */
struct proxy *config_find_proxy(const struct config *conf, const char *name, unsigned cap);

#endif
