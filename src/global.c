/* global.c - keywords of the "global" section.
 *
 * Owns the process-wide settings of struct global_cfg that the operator
 * writes in "global": maxconn, nbthread, cpu-map, daemon, pidfile,
 * tune.bufsize, tune.maxaccept, nosplice, maxpipes, ulimit-n. Defaults are
 * set by config_init() (cfg.c); values derived at start-up (maxconn from
 * RLIMIT_NOFILE, one thread per CPU) are main's job.
 * Threading: parsing only, on the main thread.
 */
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/global.h>

#define BUFSIZE_MIN	1024UL
#define BUFSIZE_MAX	(1024UL * 1024)

static struct global_cfg *glob(struct cfg_ctx *ctx)
{
	return &ctx->conf->global;
}

static int expect_no_arg(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc > 1)
		return cfg_err(ctx, "'%s' takes no argument, got '%s'", args[0], args[1]);
	return 0;
}

/* "KW N" with N in [min, max]; every numeric global keyword goes through
 * here so that their messages read the same. */
static int parse_one_uint(struct cfg_ctx *ctx, int argc, char **args,
			  unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_uint(args[1], min, max, &v) < 0)
		return cfg_err(ctx, "'%s' expects one integer between %lu and %lu, got '%s'",
			       args[0], min, max, argc > 1 ? args[1] : "");
	*out = (unsigned)v;
	return 0;
}

static int kw_maxconn(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_one_uint(ctx, argc, args, 1, INT_MAX, &glob(ctx)->maxconn);
}

static int kw_nbthread(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_one_uint(ctx, argc, args, 1, MAX_THREADS, &glob(ctx)->nbthread);
}

static int kw_maxpipes(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_one_uint(ctx, argc, args, 1, INT_MAX, &glob(ctx)->maxpipes);
}

/* tune.pipesize: bytes a splice pipe holds (the kernel rounds to pages
 * and caps it at /proc/sys/fs/pipe-max-size). */
static int kw_pipesize(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_size(args[1], &v) < 0 || v < 4096 || v > (1ul << 30))
		return cfg_err(ctx, "'%s' expects a size between 4k and 1g, got '%s'",
			       args[0], argc > 1 ? args[1] : "");
	glob(ctx)->pipesize = (unsigned)v;
	return 0;
}

static int kw_ulimit_n(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_one_uint(ctx, argc, args, 1, INT_MAX, &glob(ctx)->ulimit_n);
}

/* HAProxy documents -1 as "no limit" for tune.maxaccept; keep that meaning. */
static int kw_maxaccept(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc == 2 && !strcmp(args[1], "-1")) {
		glob(ctx)->maxaccept = UINT_MAX;
		return 0;
	}
	return parse_one_uint(ctx, argc, args, 1, INT_MAX, &glob(ctx)->maxaccept);
}

static int kw_bufsize(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_size(args[1], &v) < 0 ||
	    v < BUFSIZE_MIN || v > BUFSIZE_MAX)
		return cfg_err(ctx, "'%s' expects a size between %lu and %lu bytes, got '%s'",
			       args[0], BUFSIZE_MIN, BUFSIZE_MAX, argc > 1 ? args[1] : "");
	glob(ctx)->bufsize = (unsigned)v;
	return 0;
}

static int kw_daemon(struct cfg_ctx *ctx, int argc, char **args)
{
	if (expect_no_arg(ctx, argc, args) < 0)
		return -1;
	glob(ctx)->daemon = 1;
	return 0;
}

static int kw_nosplice(struct cfg_ctx *ctx, int argc, char **args)
{
	if (expect_no_arg(ctx, argc, args) < 0)
		return -1;
	glob(ctx)->nosplice = 1;
	return 0;
}

static int kw_pidfile(struct cfg_ctx *ctx, int argc, char **args)
{
	char *path;

	if (argc != 2 || !*args[1])
		return cfg_err(ctx, "'%s' expects one file path", args[0]);
	path = strdup(args[1]);
	if (!path)
		return cfg_err(ctx, "'%s': out of memory", args[0]);
	free(glob(ctx)->pidfile);
	glob(ctx)->pidfile = path;
	return 0;
}

/* ---- cpu-map ---------------------------------------------------------- */

#define CPU_WORDS	(CPU_SETSIZE / 64)

struct cpu_list {
	int cpu[CPU_SETSIZE];
	int n;
};

/* "N" or "N-M" within [min, max]. */
static int parse_range(const char *s, unsigned long min, unsigned long max,
		       unsigned long *lo, unsigned long *hi)
{
	char buf[32];
	char *dash;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (cfg_parse_uint(buf, min, max, lo) < 0)
		return -1;
	if (!dash) {
		*hi = *lo;
		return 0;
	}
	if (cfg_parse_uint(dash + 1, min, max, hi) < 0 || *hi < *lo)
		return -1;
	return 0;
}

/* A thread set: "all", "odd", "even", "N" or "N-M"; bit t-1 for thread t. */
static int parse_thread_set(const char *s, uint64_t *mask)
{
	unsigned long lo, hi, t;

	*mask = 0;
	if (!strcmp(s, "all") || !strcmp(s, "odd") || !strcmp(s, "even")) {
		for (t = 1; t <= MAX_THREADS; t++)
			if (s[0] == 'a' || (t & 1) == (s[0] == 'o'))
				*mask |= 1ULL << (t - 1);
		return 0;
	}
	if (parse_range(s, 1, MAX_THREADS, &lo, &hi) < 0)
		return -1;
	for (t = lo; t <= hi; t++)
		*mask |= 1ULL << (t - 1);
	return 0;
}

/* CPU sets come as one or more words, each a comma-separated list of
 * "N" or "N-M". Like HAProxy they form a set, listed in ascending order. */
static int parse_cpu_set(int argc, char **args, struct cpu_list *out)
{
	uint64_t bits[CPU_WORDS] = { 0 };
	unsigned long lo, hi, c;
	char word[256], *tok, *save;
	int i;

	for (i = 0; i < argc; i++) {
		if (strlen(args[i]) >= sizeof(word))
			return -1;
		strcpy(word, args[i]);
		for (tok = strtok_r(word, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (parse_range(tok, 0, CPU_SETSIZE - 1, &lo, &hi) < 0)
				return -1;
			for (c = lo; c <= hi; c++)
				bits[c / 64] |= 1ULL << (c % 64);
		}
	}
	out->n = 0;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (bits[c / 64] & (1ULL << (c % 64)))
			out->cpu[out->n++] = (int)c;
	return out->n ? 0 : -1;
}

/* Left-hand side: "[auto:]THREADS" or "[auto:]1/THREADS". sluice has one
 * process and one thread group, so a set before '/' may only name that
 * one; without '/', the numbers are threads, which is also what a config
 * written for HAProxy's old nbproc meant by process numbers. */
static int parse_cpu_map_target(struct cfg_ctx *ctx, const char *arg,
				int *is_auto, uint64_t *threads)
{
	const char *slash;

	*is_auto = !strncmp(arg, "auto:", 5);
	if (*is_auto)
		arg += 5;
	slash = strchr(arg, '/');
	if (slash) {
		size_t glen = (size_t)(slash - arg);

		if (!((glen == 1 && arg[0] == '1') || (glen == 3 && !strncmp(arg, "all", 3))))
			return cfg_err(ctx, "'cpu-map': sluice runs one process with one thread group, "
				       "so the part before '/' must be 1, got '%.*s'", (int)glen, arg);
		arg = slash + 1;
	}
	if (parse_thread_set(arg, threads) < 0)
		return cfg_err(ctx, "'cpu-map': expects threads as N, N-M, all, odd or even "
			       "(1..%d), got '%s'", MAX_THREADS, arg);
	return 0;
}

/* Each thread is pinned to exactly one CPU (see DESIGN.md). With auto: the
 * Nth thread gets the Nth CPU; without, threads are spread over the CPU set
 * in turn, which is the closest single-CPU reading of "these threads may
 * run on these CPUs". */
static int kw_cpu_map(struct cfg_ctx *ctx, int argc, char **args)
{
	static struct cpu_list cpus;	/* 4 KiB: keep it off the stack */
	uint64_t threads;
	int is_auto, nthr, t, k;

	if (argc < 3)
		return cfg_err(ctx, "'cpu-map' expects [auto:]THREADS or [auto:]1/THREADS, "
			       "then a CPU set, e.g. 'cpu-map auto:1/1-4 0-3'");
	if (parse_cpu_map_target(ctx, args[1], &is_auto, &threads) < 0)
		return -1;
	if (parse_cpu_set(argc - 2, args + 2, &cpus) < 0)
		return cfg_err(ctx, "'cpu-map': expects CPU numbers as N, N-M or a comma list "
			       "(0..%d), got '%s'", CPU_SETSIZE - 1, args[2]);
	nthr = __builtin_popcountll(threads);
	if (is_auto && nthr != cpus.n)
		return cfg_err(ctx, "'cpu-map %s': auto: needs as many CPUs as threads "
			       "(%d threads, %d CPUs)", args[1], nthr, cpus.n);
	for (t = 0, k = 0; t < MAX_THREADS; t++) {
		if (!(threads & (1ULL << t)))
			continue;
		glob(ctx)->cpu_map[t] = cpus.cpu[k % cpus.n];
		k++;
	}
	glob(ctx)->cpu_map_set = 1;
	return 0;
}

static struct cfg_kw_list global_kws = {
	.kws = (const struct cfg_kw[]){
		{ "maxconn", CFG_GLOBAL, kw_maxconn, 0 },
		{ "nbthread", CFG_GLOBAL, kw_nbthread, 0 },
		{ "cpu-map", CFG_GLOBAL, kw_cpu_map, 0 },
		{ "daemon", CFG_GLOBAL, kw_daemon, 0 },
		{ "pidfile", CFG_GLOBAL, kw_pidfile, 0 },
		{ "tune.bufsize", CFG_GLOBAL, kw_bufsize, 0 },
		{ "tune.maxaccept", CFG_GLOBAL, kw_maxaccept, 0 },
		{ "nosplice", CFG_GLOBAL, kw_nosplice, 0 },
		{ "maxpipes", CFG_GLOBAL, kw_maxpipes, 0 },
		{ "tune.pipesize", CFG_GLOBAL, kw_pipesize, 0 },
		{ "ulimit-n", CFG_GLOBAL, kw_ulimit_n, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void global_kws_init(void)
{
	cfg_register(&global_kws);
}
