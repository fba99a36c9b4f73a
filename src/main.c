/* main.c - command line, configuration, start-up and signals.
 *
 * Stays short on purpose: parse arguments, load the configuration, size
 * the process (threads, maxconn, file descriptors), open sockets, start
 * the workers, then wait for a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sluice/cfg.h"
#include "sluice/check.h"
#include "sluice/cli.h"
#include "sluice/server.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/map.h"
#include "sluice/master.h"
#include "sluice/proxy.h"
#include "sluice/privs.h"
#include "sluice/qsbr.h"
#include "sluice/stick.h"
#include "sluice/worker.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

struct options {
	char **files;
	int nfiles;
	int check_only, foreground, daemon, debug, quiet;
	const char *pidfile;
	unsigned maxconn;		/* derived by size_limits() */
	struct master_opts mo;		/* -W, -Ws, -S, -sf, -st (master.c) */
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s -f CONFIG [-f CONFIG...] [options]\n"
		"  -f FILE   load this configuration file (repeatable)\n"
		"  -c        check the configuration and exit (0: valid, 1: errors)\n"
		"  -db       stay in the foreground (no daemon)\n"
		"  -D        run as a daemon\n"
		"  -p FILE   write the process id to FILE\n"
		"  -d        debug: also print log messages on stderr\n"
		"  -W        master-worker mode (reload with SIGUSR2)\n"
		"  -Ws       master-worker mode with systemd notification\n"
		"  -S ADDR   master CLI on a UNIX socket path or ipv4@IP:PORT\n"
		"  -sf PID.. once serving, ask these processes to finish (SIGUSR1)\n"
		"  -st PID.. once serving, stop these processes (SIGTERM)\n"
		"  -q        quiet start-up\n"
		"  -v, -vv   version, and build options\n", prog);
	exit(1);
}

static void print_version(int verbose)
{
	printf("sluice version " SLUICE_VERSION "\n");
	if (!verbose)
		return;
	printf("Build options:\n"
	       "  compiler: %s\n"
	       "  sanitizers: %s\n"
	       "Features: +EPOLL +SPLICE +REUSEPORT +ACCEPT4 +TFO +THREAD +CPU_AFFINITY\n"
	       "Modes: tcp\n"
	       "Max threads: %d\n",
#ifdef __clang__
	       "clang " __clang_version__,
#else
	       "gcc " __VERSION__,
#endif
#ifdef SLUICE_POOL_NOCACHE
	       "address,undefined",
#else
	       "none",
#endif
	       MAX_THREADS);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	o->files = calloc((size_t)argc, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int used = master_parse_arg(&o->mo, argc, argv, i);

		if (used < 0)
			exit(1);
		if (used > 0)
			i += used - 1;
		else if (!strcmp(a, "-f") && i + 1 < argc)
			o->files[o->nfiles++] = argv[++i];
		else if (!strcmp(a, "-c"))
			o->check_only = 1;
		else if (!strcmp(a, "-db"))
			o->foreground = 1;
		else if (!strcmp(a, "-D"))
			o->daemon = 1;
		else if (!strcmp(a, "-p") && i + 1 < argc)
			o->pidfile = argv[++i];
		else if (!strcmp(a, "-d"))
			o->debug = 1;
		else if (!strcmp(a, "-q"))
			o->quiet = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "-vv")) {
			print_version(a[2] == 'v');
			exit(0);
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
			usage(argv[0]);
		}
	}
	if (!o->nfiles)
		usage(argv[0]);
}

static unsigned count_cpus(void)
{
	cpu_set_t mask;

	if (sched_getaffinity(0, sizeof(mask), &mask) == 0 && CPU_COUNT(&mask) > 0)
		return (unsigned)CPU_COUNT(&mask);
	return 1;
}

/* Raise the fd limit as far as allowed and derive maxconn from it when the
 * configuration does not set one: each session needs two descriptors. */
static unsigned size_limits(struct config *conf, unsigned nthreads)
{
	struct rlimit rl;
	unsigned long want, fds;
	unsigned maxconn = conf->global.maxconn;
	unsigned reserve = 64 + nthreads * 8;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return maxconn ? maxconn : 1000;
	want = conf->global.ulimit_n ? conf->global.ulimit_n :
	       (maxconn ? (unsigned long)maxconn * 2 + reserve : rl.rlim_max);
	if (want > rl.rlim_max && !conf->global.ulimit_n)
		want = rl.rlim_max;
	if (want > rl.rlim_cur) {
		struct rlimit nr = { want, want > rl.rlim_max ? want : rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &nr) < 0) {
			fprintf(stderr, "[WARNING] cannot raise the file descriptor limit to "
				"%lu (%s); it stays at %lu\n", want, strerror(errno),
				(unsigned long)rl.rlim_cur);
		} else
			rl.rlim_cur = want;
	}
	fds = rl.rlim_cur;
	if (!maxconn) {
		maxconn = fds > reserve * 2 ? (unsigned)((fds - reserve) / 2) : 100;
		if (maxconn > 100000)
			maxconn = 100000;
	} else if ((unsigned long)maxconn * 2 + reserve > fds) {
		fprintf(stderr, "[WARNING] maxconn %u needs about %lu file descriptors but "
			"only %lu are allowed: connections beyond that will wait\n",
			maxconn, (unsigned long)maxconn * 2 + reserve, fds);
	}
	return maxconn;
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "[ALERT] cannot write pidfile '%s': %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	return 0;
}

/* Classic daemon: the parent writes the child's pid and exits. The
 * pidfile is opened before forking so that a bad path fails start-up
 * instead of leaving an unrecorded daemon behind. */
static void daemonize(const char *pidfile)
{
	FILE *pf = NULL;
	pid_t pid;
	int fd;

	if (pidfile && !(pf = fopen(pidfile, "w"))) {
		fprintf(stderr, "[ALERT] cannot write pidfile '%s': %s\n", pidfile, strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid > 0) {
		if (pf) {
			fprintf(pf, "%d\n", (int)pid);
			fclose(pf);
		}
		exit(0);
	}
	if (pf)
		fclose(pf);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Block the signals the main thread waits for, before threads exist, so
 * every worker inherits the mask and only sigtimedwait() sees them. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Join the workers that have finished; 1 while any still runs. */
static int workers_running(struct runtime *rt, unsigned char *joined)
{
	int running = 0;

	for (unsigned i = 0; i < rt->nworkers; i++) {
		if (joined[i])
			continue;
		if (pthread_tryjoin_np(rt->workers[i].thread, NULL) == 0)
			joined[i] = 1;
		else
			running = 1;
	}
	return running;
}

static time_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "hard-stop-after": a soft stop that still drains after that long
 * becomes a hard one (deadline 0: none armed). */
static void wait_for_signals(struct runtime *rt, const sigset_t *set)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	unsigned char joined[MAX_THREADS] = { 0 };
	unsigned hard_after = rt->conf->global.hard_stop_after;
	time_t deadline = 0;

	for (;;) {
		int sig = sigtimedwait(set, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
			runtime_stop(rt, 0);
		else if (sig == SIGUSR1) {
			runtime_stop(rt, 1);
			if (hard_after && !deadline)
				deadline = monotonic_ms() + hard_after;
		}
		if (deadline && monotonic_ms() >= deadline) {
			fprintf(stderr, "[WARNING] still draining after hard-stop-after "
				"(%u ms): closing every connection\n", hard_after);
			runtime_stop(rt, 0);
			deadline = 0;
		}
		if (atomic_load(&rt->stopping) && !workers_running(rt, joined))
			return;
	}
}

static int load_config(struct config *conf, void *ctx)
{
	const struct options *o = ctx;

	conf->check_only = o->check_only;
	conf->foreground = o->foreground;
	conf->debug = o->debug;
	return cfg_load_files(conf, o->nfiles, o->files);
}

static unsigned thread_count(const struct config *conf)
{
	unsigned n = conf->global.nbthread ? conf->global.nbthread : count_cpus();

	return n > MAX_THREADS ? MAX_THREADS : n;
}

/* Daemon or not, and the pidfile: in master-worker mode this is the
 * master, so the pidfile names the master. */
static void detach(const struct config *conf, void *ctx)
{
	const struct options *o = ctx;
	const char *pidfile = o->pidfile ? o->pidfile : conf->global.pidfile;

	if ((o->daemon || conf->global.daemon) && !o->foreground)
		daemonize(pidfile);
	else if (pidfile)
		write_pidfile(pidfile, getpid());
}

/* Run the threads until a stop signal; the sockets are open. */
static int serve(struct config *conf, struct options *o)
{
	unsigned nthreads = thread_count(conf);
	struct runtime rt;
	sigset_t sigs;

	memset(&rt, 0, sizeof(rt));
	rt.maxconn = o->maxconn;
	rt.maxpipes = conf->global.maxpipes ? conf->global.maxpipes : rt.maxconn / 4;
	/* before any thread exists, so that every thread has the new ids */
	if (privs_apply(conf) < 0) {
		fprintf(stderr, "[ALERT] start-up failed.\n");
		return 1;
	}
	block_signals(&sigs);
	if (runtime_start(&rt, conf, nthreads) < 0) {
		fprintf(stderr, "[ALERT] cannot start worker threads: %s\n", strerror(errno));
		return 1;
	}
	srv_state_start(&rt);
	check_start_all(&rt);
	stick_start(&rt);
	if (cli_start(&rt) < 0) {
		fprintf(stderr, "[ALERT] cannot start the runtime API.\n");
		runtime_stop(&rt, 0);
		runtime_join(&rt);
		return 1;
	}
	master_serving(&o->mo);
	if (!o->quiet && conf->debug)
		fprintf(stderr, "sluice " SLUICE_VERSION " started: %u thread(s), maxconn %u\n",
			nthreads, rt.maxconn);
	wait_for_signals(&rt, &sigs);
	cli_stop();
	runtime_free(&rt);
	check_free_all(conf);
	listeners_close(conf);
	log_close_targets(conf);
	qsbr_shutdown();
	return 0;
}

static void free_all(struct config *conf, struct options *o)
{
	config_free(conf);
	map_free_all();
	free(o->files);
}

/* A worker process forked by the master, over the master's sockets. */
static int run_worker(struct config *conf, void *ctx)
{
	struct options *o = ctx;
	int ret;

	o->maxconn = size_limits(conf, thread_count(conf));
	if (log_open_targets(conf) < 0) {
		fprintf(stderr, "[ALERT] start-up failed.\n");
		return 1;
	}
	ret = serve(conf, o);
	free_all(conf, o);
	return ret;
}

static int run_master(struct config *conf, struct options *o)
{
	const struct master_ops ops = {
		.load = load_config, .nthreads = thread_count, .detach = detach,
		.run = run_worker, .ctx = o,
	};
	int ret = master_main(&o->mo, &ops, conf);

	map_free_all();
	free(o->files);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config conf;
	int errors, ret;

	parse_args(argc, argv, &o);
	config_init(&conf);
	errors = load_config(&conf, &o);
	if (errors) {
		fprintf(stderr, "[ALERT] %d error(s) found in configuration; fatal.\n", errors);
		return 1;
	}
	if (o.check_only) {
		if (!o.quiet)
			printf("Configuration file is valid\n");
		free_all(&conf, &o);
		return 0;
	}
	if (o.mo.master_worker || conf.global.master_worker)
		return run_master(&conf, &o);
	o.maxconn = size_limits(&conf, thread_count(&conf));
	if (listeners_open(&conf, thread_count(&conf)) || log_open_targets(&conf) < 0) {
		fprintf(stderr, "[ALERT] start-up failed.\n");
		return 1;
	}
	detach(&conf, &o);
	ret = serve(&conf, &o);
	free_all(&conf, &o);
	return ret;
}
