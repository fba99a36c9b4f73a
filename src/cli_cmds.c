/* cli_cmds.c - runtime API: the line parser, the command table, levels,
 * and the small server commands (state, weight, checks, sessions).
 *
 * The parser is a pure function over the bytes it is given, so the socket
 * thread, the unit tests and the fuzz target all go through the same
 * cli_exec_line(). A line is split into commands at ';' and each command
 * into words at blanks; a backslash makes the next byte ordinary (HAProxy
 * lets "\;" and "\ " through the same way).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/cfg.h"
#include "sluice/check.h"
#include "sluice/backend.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/loop.h"
#include "sluice/proxy.h"
#include "sluice/server.h"
#include "sluice/worker.h"

/* ---- the answer buffer ---------------------------------------------------- */

void cli_out_init(struct cli_out *o)
{
	memset(o, 0, sizeof(*o));
}

void cli_out_free(struct cli_out *o)
{
	free(o->buf);
	cli_out_init(o);
}

void cli_out_reset(struct cli_out *o)
{
	o->len = 0;
	o->full = 0;
	if (o->buf)
		o->buf[0] = '\0';
}

/* Grows geometrically; refusing past CLI_OUT_MAX bounds what one line of
 * a client can make the process allocate. */
static int out_reserve(struct cli_out *o, size_t n)
{
	size_t want = o->len + n + 1, size = o->size ? o->size : 1024;
	char *nb;

	if (o->full || want > CLI_OUT_MAX) {
		o->full = 1;
		return -1;
	}
	if (want <= o->size)
		return 0;
	while (size < want)
		size *= 2;
	if (size > CLI_OUT_MAX + 1)
		size = CLI_OUT_MAX + 1;
	nb = realloc(o->buf, size);
	if (!nb) {
		o->full = 1;
		return -1;
	}
	o->buf = nb;
	o->size = size;
	return 0;
}

void cli_out_add(struct cli_out *o, const char *s, size_t n)
{
	if (!n || out_reserve(o, n) < 0)
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void cli_out_str(struct cli_out *o, const char *s)
{
	cli_out_add(o, s, strlen(s));
}

void cli_printf(struct cli_out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		cli_out_add(o, small, (size_t)n);
		return;
	}
	if (out_reserve(o, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* ---- start time ------------------------------------------------------------ */

static uint64_t start_ms;

__attribute__((constructor)) static void record_start(void)
{
	start_ms = clock_mono_ms();
}

uint64_t cli_start_ms(void)
{
	return start_ms;
}

/* ---- asking every worker ------------------------------------------------------ */

/* Shared by the caller and the workers it asked; whoever drops the last
 * reference frees it, so a worker answering after the caller gave up
 * writes into memory that is still there. */
struct gather {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned refs, pending, n;
	cli_worker_fn fn;
	struct cli_out *parts;
	unsigned char *done;
	void *arg;		/* a copy: the caller may be gone */
};

/* Called with g->lock held; releases it, and g with the last reference. */
static void gather_put(struct gather *g)
{
	unsigned i, last = --g->refs == 0;

	pthread_mutex_unlock(&g->lock);
	if (!last)
		return;
	for (i = 0; i < g->n; i++)
		cli_out_free(&g->parts[i]);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g->parts);
	free(g->done);
	free(g->arg);
	free(g);
}

static void gather_call(struct worker *w, void *arg)
{
	struct gather *g = arg;
	struct cli_out part;

	cli_out_init(&part);
	if (!w->stopping)
		g->fn(w, g->arg, &part);
	pthread_mutex_lock(&g->lock);
	if (w->id < g->n) {
		g->parts[w->id] = part;
		g->done[w->id] = 1;
	} else {
		cli_out_free(&part);
	}
	g->pending--;
	pthread_cond_signal(&g->cond);
	gather_put(g);
}

static struct gather *gather_new(struct runtime *rt, cli_worker_fn fn, const void *arg,
				 size_t argsize)
{
	struct gather *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->n = rt->nworkers;
	g->fn = fn;
	g->parts = calloc(g->n ? g->n : 1, sizeof(*g->parts));
	g->done = calloc(g->n ? g->n : 1, 1);
	g->arg = malloc(argsize ? argsize : 1);
	if (!g->parts || !g->done || !g->arg) {
		free(g->parts);
		free(g->done);
		free(g->arg);
		free(g);
		return NULL;
	}
	if (argsize)
		memcpy(g->arg, arg, argsize);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->refs = 1;
	return g;
}

static void gather_wait(struct gather *g, unsigned timeout_ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (g->pending)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &dl))
			break;
}

unsigned cli_on_workers(struct runtime *rt, cli_worker_fn fn, void *arg, size_t argsize,
			struct cli_out *out, unsigned timeout_ms)
{
	struct gather *g;
	unsigned i, answered = 0;

	if (!rt->nworkers || atomic_load(&rt->stopping))
		return 0;
	g = gather_new(rt, fn, arg, argsize);
	if (!g) {
		cli_out_str(out, "Out of memory.\n");
		return 0;
	}
	pthread_mutex_lock(&g->lock);
	for (i = 0; i < rt->nworkers; i++) {
		g->refs++;
		g->pending++;
		if (worker_call(&rt->workers[i], gather_call, g) < 0) {
			g->refs--;
			g->pending--;
		}
	}
	gather_wait(g, timeout_ms);
	for (i = 0; i < g->n; i++) {
		if (g->done[i]) {
			cli_out_add(out, g->parts[i].buf, g->parts[i].len);
			answered++;
		} else {
			cli_printf(out, "# thread %u did not answer in time\n", i + 1);
		}
	}
	gather_put(g);
	return answered;
}

/* ---- finding things ------------------------------------------------------------ */

struct server *cli_find_server(struct cli_cmd_ctx *c, const char *arg, struct proxy **bep)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	struct proxy *be;
	struct server *s;
	char name[256];

	if (!slash || slash == arg || !slash[1] || (size_t)(slash - arg) >= sizeof(name)) {
		cli_out_str(c->out, "Require 'backend/server'.\n");
		return NULL;
	}
	memcpy(name, arg, (size_t)(slash - arg));
	name[slash - arg] = '\0';
	be = config_find_proxy(c->conf, name, PX_CAP_BE);
	if (!be) {
		cli_out_str(c->out, "No such backend.\n");
		return NULL;
	}
	s = server_find(be, slash + 1);
	if (!s) {
		cli_out_str(c->out, "No such server.\n");
		return NULL;
	}
	if (bep)
		*bep = be;
	return s;
}

/* ---- server commands -------------------------------------------------------------- */

static struct server *need_server(struct cli_cmd_ctx *c, int argc, char **args, int at)
{
	if (argc <= at) {
		cli_out_str(c->out, "Require 'backend/server'.\n");
		return NULL;
	}
	return cli_find_server(c, args[at], NULL);
}

static void cmd_enable_server(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s = need_server(c, argc, args, 2);

	if (!s)
		return;
	if (args[0][0] == 'e')
		srv_clear_admin(s, SRV_ADMF_MAINT, NULL);
	else
		srv_set_admin(s, SRV_ADMF_MAINT, NULL);
}

static void cmd_health(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s = need_server(c, argc, args, 2);
	int agent = !strcmp(args[1], "agent"), en = args[0][0] == 'e';

	if (!s)
		return;
	if (check_set_enabled(s, agent, en) < 0)
		cli_printf(c->out, "%s not configured on this server, cannot %s.\n",
			   agent ? "Agent was" : "Health checks are", en ? "enable" : "disable");
}

/* "N" (0..256) or "N%" of the configured weight, as HAProxy reads it. */
static int parse_weight(const struct server *s, const char *arg, unsigned *out, const char **err)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (end == arg || (*end && strcmp(end, "%")) || arg[0] == '-') {
		*err = "Require <weight> or <weight%>.\n";
		return -1;
	}
	if (*end == '%') {
		if (v > 100000) {
			*err = "Relative weight is too large.\n";
			return -1;
		}
		v = (unsigned long)s->uweight * v / 100;
		if (v > SRV_MAX_WEIGHT)
			v = SRV_MAX_WEIGHT;
	} else if (v > SRV_MAX_WEIGHT) {
		*err = "Absolute weight can only be between 0 and 256 inclusive.\n";
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static void set_weight(struct cli_cmd_ctx *c, struct server *s, int argc, char **args, int at)
{
	const char *err;
	unsigned w;

	if (argc <= at) {
		cli_out_str(c->out, "Require <weight> or <weight%>.\n");
		return;
	}
	if (parse_weight(s, args[at], &w, &err) < 0) {
		cli_out_str(c->out, err);
		return;
	}
	srv_set_weight(s, w, NULL);
}

static void cmd_set_weight(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s = need_server(c, argc, args, 2);

	if (s)
		set_weight(c, s, argc, args, 3);
}

static void cmd_get_weight(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s = need_server(c, argc, args, 2);

	if (s)
		cli_printf(c->out, "%u (initial %u)\n", atomic_load(&s->cur_weight), s->uweight);
}

static void set_state(struct cli_cmd_ctx *c, struct server *s, int argc, char **args)
{
	const char *st = argc > 4 ? args[4] : "";

	if (!strcmp(st, "ready")) {
		srv_clear_admin(s, SRV_ADMF_MAINT | SRV_ADMF_DRAIN, NULL);
	} else if (!strcmp(st, "drain")) {
		srv_set_admin(s, SRV_ADMF_DRAIN, NULL);
		srv_clear_admin(s, SRV_ADMF_MAINT, NULL);
	} else if (!strcmp(st, "maint")) {
		srv_set_admin(s, SRV_ADMF_MAINT, NULL);
		srv_clear_admin(s, SRV_ADMF_DRAIN, NULL);
	} else {
		cli_out_str(c->out, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
	}
}

static void cmd_set_server(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s = need_server(c, argc, args, 2);
	const char *what = argc > 3 ? args[3] : "";

	if (!s)
		return;
	if (!strcmp(what, "state"))
		set_state(c, s, argc, args);
	else if (!strcmp(what, "weight"))
		set_weight(c, s, argc, args, 4);
	else
		cli_out_str(c->out, "'set server <srv>' only supports 'state' and 'weight' in sluice.\n");
}

static void cmd_shutdown_sessions(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct server *s;

	if (argc < 3 || strcmp(args[2], "server")) {
		cli_out_str(c->out, "'shutdown sessions' expects 'server <backend>/<server>'.\n");
		return;
	}
	s = need_server(c, argc, args, 3);
	if (s)
		srv_shutdown_sessions(s, 'K');
}

/* The value of "set maxconn ... N": 0 (server: no limit) .. INT_MAX. */
static int maxconn_value(struct cli_cmd_ctx *c, int argc, char **args, int at,
			 unsigned min, unsigned *out)
{
	char *end;
	unsigned long v;

	if (at >= argc || !*args[at]) {
		cli_out_str(c->out, "Integer value expected.\n");
		return -1;
	}
	v = strtoul(args[at], &end, 10);
	if (*end || args[at][0] == '-' || v < min || v > 2147483647UL) {
		cli_out_str(c->out, "Value out of range.\n");
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* The limits are read atomically on the data path (srv_maxconn,
 * px_maxconn, rt_maxconn). A raised limit serves waiters at once: a
 * server's queue gets the new slots, paused listeners resume. */
static void cmd_set_maxconn(struct cli_cmd_ctx *c, int argc, char **args)
{
	const char *what = argc > 2 ? args[2] : "";
	struct server *s;
	struct proxy *fe;
	unsigned v;

	if (!strcmp(what, "server")) {
		s = need_server(c, argc, args, 3);
		if (!s || maxconn_value(c, argc, args, 4, 0, &v) < 0)
			return;
		__atomic_store_n(&s->maxconn, v, __ATOMIC_RELAXED);
		backend_srv_up(s);
	} else if (!strcmp(what, "frontend")) {
		fe = argc > 3 ? config_find_proxy(c->conf, args[3], PX_CAP_FE) : NULL;
		if (!fe) {
			cli_out_str(c->out, "No such frontend.\n");
			return;
		}
		if (maxconn_value(c, argc, args, 4, 0, &v) < 0)
			return;
		__atomic_store_n(&fe->maxconn, v, __ATOMIC_RELAXED);
	} else if (!strcmp(what, "global")) {
		if (maxconn_value(c, argc, args, 3, 1, &v) < 0)
			return;
		__atomic_store_n(&c->rt->maxconn, v, __ATOMIC_RELAXED);
	} else {
		cli_out_str(c->out, "'set maxconn' only supports 'frontend', 'server' and 'global'.\n");
		return;
	}
	if (c->rt)
		runtime_slot_freed(c->rt);	/* paused listeners look again */
}

/* ---- the command table ----------------------------------------------------------- */

typedef void (*cli_fn)(struct cli_cmd_ctx *c, int argc, char **args);

struct cli_cmd {
	const char *words[4];	/* the keyword, NULL-terminated */
	int level;
	const char *usage;
	const char *help;
	cli_fn fn;
};

static void cmd_help(struct cli_cmd_ctx *c, int argc, char **args);

static void cmd_prompt(struct cli_cmd_ctx *c, int argc, char **args)
{
	(void)argc;
	(void)args;
	c->ret ^= CLI_RET_PROMPT;
}

static void cmd_quit(struct cli_cmd_ctx *c, int argc, char **args)
{
	(void)argc;
	(void)args;
	c->ret |= CLI_RET_QUIT;
}

static const struct cli_cmd commands[] = {
	{ { "help" }, CLI_LVL_USER, "help", "list the commands valid at this level", cmd_help },
	{ { "prompt" }, CLI_LVL_USER, "prompt", "toggle interactive mode with prompt", cmd_prompt },
	{ { "quit" }, CLI_LVL_USER, "quit", "disconnect", cmd_quit },
	{ { "show", "info" }, CLI_LVL_USER, "show info", "report information about the running process", cli_show_info },
	{ { "show", "stat" }, CLI_LVL_USER, "show stat", "report counters for each proxy and server (CSV)", cli_show_stat },
	{ { "show", "servers", "state" }, CLI_LVL_USER, "show servers state [<backend>]", "dump the state of the servers", cli_show_servers_state },
	{ { "show", "sess" }, CLI_LVL_USER, "show sess", "report the list of current sessions", cli_show_sess },
	{ { "show", "table" }, CLI_LVL_USER, "show table [<table> [key <key>]]", "list the stick tables, or the entries of one", cli_show_table },
	{ { "get", "weight" }, CLI_LVL_USER, "get weight <bk>/<srv>", "report a server's current weight", cmd_get_weight },
	{ { "clear", "table" }, CLI_LVL_OPER, "clear table <table> [key <key>]", "remove an entry, or every unused entry", cli_clear_table },
	{ { "enable", "server" }, CLI_LVL_OPER, "enable server <bk>/<srv>", "take a server out of maintenance", cmd_enable_server },
	{ { "disable", "server" }, CLI_LVL_OPER, "disable server <bk>/<srv>", "put a server in maintenance", cmd_enable_server },
	{ { "enable", "health" }, CLI_LVL_OPER, "enable health <bk>/<srv>", "resume a server's health check", cmd_health },
	{ { "disable", "health" }, CLI_LVL_OPER, "disable health <bk>/<srv>", "stop a server's health check", cmd_health },
	{ { "enable", "agent" }, CLI_LVL_OPER, "enable agent <bk>/<srv>", "resume a server's agent check", cmd_health },
	{ { "disable", "agent" }, CLI_LVL_OPER, "disable agent <bk>/<srv>", "stop a server's agent check", cmd_health },
	{ { "set", "weight" }, CLI_LVL_OPER, "set weight <bk>/<srv> <w>[%]", "change a server's weight", cmd_set_weight },
	{ { "set", "server" }, CLI_LVL_OPER, "set server <bk>/<srv> state|weight ...", "change a server's state (ready, drain, maint) or weight", cmd_set_server },
	{ { "shutdown", "sessions" }, CLI_LVL_OPER, "shutdown sessions server <bk>/<srv>", "kill the sessions of a server", cmd_shutdown_sessions },
	{ { "set", "table" }, CLI_LVL_ADMIN, "set table <table> key <k> data.<type> <v> ...", "create or update a stick table entry", cli_set_table },
	{ { "set", "maxconn" }, CLI_LVL_ADMIN, "set maxconn server|frontend|global ...", "change a connection limit", cmd_set_maxconn },
	{ { "add", "server" }, CLI_LVL_ADMIN, "add server <bk>/<srv> <addr> [args]*", "add a server (in maintenance) to a backend", cli_add_server },
	{ { "del", "server" }, CLI_LVL_ADMIN, "del server <bk>/<srv>", "remove a server in maintenance without sessions", cli_del_server },
};

static void help_list(struct cli_cmd_ctx *c)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(commands); i++)
		if (commands[i].level <= c->level)
			cli_printf(c->out, "  %-46s : %s\n", commands[i].usage, commands[i].help);
}

static void cmd_help(struct cli_cmd_ctx *c, int argc, char **args)
{
	(void)argc;
	(void)args;
	cli_out_str(c->out, "The following commands are valid at this level:\n");
	help_list(c);
}

static int cmd_matches(const struct cli_cmd *cmd, int argc, char **args)
{
	int i;

	for (i = 0; i < 4 && cmd->words[i]; i++)
		if (i >= argc || strcmp(cmd->words[i], args[i]))
			return 0;
	return 1;
}

static void dispatch(struct cli_cmd_ctx *c, int argc, char **args)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(commands); i++) {
		if (!cmd_matches(&commands[i], argc, args))
			continue;
		if (commands[i].level > c->level) {
			cli_out_str(c->out, "Permission denied\n");
			return;
		}
		commands[i].fn(c, argc, args);
		return;
	}
	cli_out_str(c->out, "Unknown command. Please enter one of the following commands only :\n");
	help_list(c);
}

/* ---- the line parser --------------------------------------------------------------- */

static int bad_byte(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* Splits one command (up to an unescaped ';' or the end) into words
 * written NUL-terminated into words_buf; *pos moves past the ';'.
 * Returns the number of words, or -1 when there are too many. */
static int split_command(const char *line, size_t len, size_t *pos, char *words_buf,
			 char **args)
{
	size_t i = *pos, o = 0;
	int argc = 0, in_word = 0;

	for (; i < len && line[i] != ';'; i++) {
		char ch = line[i];

		if (ch == ' ' || ch == '\t') {
			if (in_word)
				words_buf[o++] = '\0';
			in_word = 0;
			continue;
		}
		if (!in_word) {
			if (argc == CLI_MAX_WORDS) {
				while (i < len && line[i] != ';')
					i++;
				*pos = i < len ? i + 1 : len;
				return -1;
			}
			args[argc++] = words_buf + o;
			in_word = 1;
		}
		if (ch == '\\' && i + 1 < len)
			ch = line[++i];
		words_buf[o++] = ch;
	}
	if (in_word)
		words_buf[o++] = '\0';
	*pos = i < len ? i + 1 : len;
	return argc;
}

static int line_check(const char *line, size_t len, struct cli_out *out)
{
	size_t i;

	if (len > CLI_LINE_MAX) {
		cli_out_str(out, "Command line too long.\n");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (bad_byte((unsigned char)line[i])) {
			cli_out_str(out, "Invalid character in command line.\n");
			return -1;
		}
	}
	return 0;
}

int cli_exec_line(struct runtime *rt, int level, const char *line, size_t len,
		  struct cli_out *out)
{
	struct cli_cmd_ctx c = { rt, rt->conf, level, out, 0 };
	char *args[CLI_MAX_WORDS + 1];
	char *buf;
	size_t pos = 0;

	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (line_check(line, len, out) < 0)
		return CLI_RET_QUIT;
	buf = malloc(len * 2 + 2);
	if (!buf) {
		cli_out_str(out, "Out of memory.\n");
		return CLI_RET_QUIT;
	}
	while (pos < len && !(c.ret & CLI_RET_QUIT)) {
		int argc = split_command(line, len, &pos, buf, args);

		if (argc < 0) {
			cli_printf(out, "Too many words in a command (at most %d).\n\n", CLI_MAX_WORDS);
			continue;
		}
		if (!argc)
			continue;
		args[argc] = NULL;
		dispatch(&c, argc, args);
		if (!(c.ret & CLI_RET_QUIT))
			cli_out_str(out, "\n");
	}
	free(buf);
	return c.ret;
}
