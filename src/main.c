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
#include "sluice/server.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/map.h"
#include "sluice/proxy.h"
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

		if (!strcmp(a, "-f") && i + 1 < argc)
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
		} else if (!strcmp(a, "-W") || !strcmp(a, "-Ws") || !strcmp(a, "-S") ||
			   !strcmp(a, "-sf") || !strcmp(a, "-st")) {
			fprintf(stderr, "%s: option '%s' is not supported yet "
				"(master-worker mode is not implemented)\n", argv[0], a);
			exit(1);
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

static void wait_for_signals(struct runtime *rt, const sigset_t *set)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	unsigned char joined[MAX_THREADS] = { 0 };

	for (;;) {
		int sig = sigtimedwait(set, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
			runtime_stop(rt, 0);
		else if (sig == SIGUSR1)
			runtime_stop(rt, 1);
		if (atomic_load(&rt->stopping) && !workers_running(rt, joined))
			return;
	}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config conf;
	struct runtime rt;
	unsigned nthreads;
	sigset_t sigs;
	int errors;

	parse_args(argc, argv, &o);
	config_init(&conf);
	conf.check_only = o.check_only;
	conf.foreground = o.foreground;
	conf.debug = o.debug;
	errors = cfg_load_files(&conf, o.nfiles, o.files);
	if (errors) {
		fprintf(stderr, "[ALERT] %d error(s) found in configuration; fatal.\n", errors);
		return 1;
	}
	if (o.check_only) {
		if (!o.quiet)
			printf("Configuration file is valid\n");
		config_free(&conf);
		map_free_all();
		free(o.files);
		return 0;
	}
	nthreads = conf.global.nbthread ? conf.global.nbthread : count_cpus();
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	memset(&rt, 0, sizeof(rt));
	rt.maxconn = size_limits(&conf, nthreads);
	rt.maxpipes = conf.global.maxpipes ? conf.global.maxpipes : rt.maxconn / 4;
	if (listeners_open(&conf, nthreads) || log_open_targets(&conf) < 0) {
		fprintf(stderr, "[ALERT] start-up failed.\n");
		return 1;
	}
	if ((o.daemon || conf.global.daemon) && !o.foreground)
		daemonize(o.pidfile ? o.pidfile : conf.global.pidfile);
	else if (o.pidfile || conf.global.pidfile)
		write_pidfile(o.pidfile ? o.pidfile : conf.global.pidfile, getpid());
	block_signals(&sigs);
	if (runtime_start(&rt, &conf, nthreads) < 0) {
		fprintf(stderr, "[ALERT] cannot start worker threads: %s\n", strerror(errno));
		return 1;
	}
	srv_state_start(&rt);
	check_start_all(&rt);
	stick_start(&rt);
	if (!o.quiet && conf.debug)
		fprintf(stderr, "sluice " SLUICE_VERSION " started: %u thread(s), maxconn %u\n",
			nthreads, rt.maxconn);
	wait_for_signals(&rt, &sigs);
	runtime_free(&rt);
	check_free_all(&conf);
	listeners_close(&conf);
	log_close_targets(&conf);
	qsbr_shutdown();
	config_free(&conf);
	map_free_all();
	free(o.files);
	return 0;
}
