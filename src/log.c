/* log.c - log targets, syslog framing and session log lines.
 *
 * Owns the "log", "log-tag" and "log-format" keywords, the sockets of the
 * targets, the syslog headers and the session lines (HAProxy's default
 * "Connect from" line, the tcplog format and custom log-formats).
 * A log-format is compiled once, after parsing, into a flat array of nodes:
 * runs of literal text and variables, each variable being a small function
 * that appends its value. Formatting a line walks that array over a
 * caller-provided buffer, so nothing is allocated per session; sending is
 * one writev()/sendmsg() per target of a per-thread buffer.
 * Threading: everything here is read-only once workers run, except the
 * per-thread buffer and date cache, and the drop counter (an atomic).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/log.h>
#include "sluice/errbuf.h"
#include <sluice/proxy.h>

#define LOG_DEFAULT_LEN		1024
#define LOG_MIN_LEN		80	/* HAProxy's bounds for "len" */
#define LOG_MAX_LEN		65535
#define LOG_DEFAULT_PORT	514
#define LOG_HDR_MAX		384	/* syslog header, tag and host included */
#define LOG_DEFAULT_TAG		"sluice"

/* log-format flags, as written in "%{+Q,+X,+E}var" */
#define LF_QUOTE	0x01
#define LF_HEX		0x02
#define LF_ESC		0x04

static const char *const facility_names[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *const format_names[] = {
	[LOG_F_RFC3164] = "rfc3164", [LOG_F_RFC5424] = "rfc5424",
	[LOG_F_SHORT] = "short", [LOG_F_RAW] = "raw", [LOG_F_PRIORITY] = "priority",
	[LOG_F_TIMED] = "timed", [LOG_F_ISO] = "iso",
};

static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static _Atomic unsigned long log_drops;

/* One line is formatted here, then sent to each target: a per-thread
 * buffer keeps the stack small and the hot path free of allocation. */
static _Thread_local char log_buf[LOG_MAX_LEN + 1];

/* %H and the rfc5424 HOSTNAME: set before workers start, read-only after. */
static char log_host[256];
static pthread_once_t log_host_once = PTHREAD_ONCE_INIT;

static void log_host_init(void)
{
	if (gethostname(log_host, sizeof(log_host) - 1) < 0 || !log_host[0])
		strcpy(log_host, "-");
}

static const char *hostname(void)
{
	pthread_once(&log_host_once, log_host_init);
	return log_host;
}

static void log_host_set(const struct config *conf)
{
	pthread_once(&log_host_once, log_host_init);
	if (conf && conf->global.hostname && *conf->global.hostname)
		snprintf(log_host, sizeof(log_host), "%s", conf->global.hostname);
}

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return -1;
}

unsigned long log_dropped(void)
{
	return atomic_load_explicit(&log_drops, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Targets: "log <target> ..."                                         */

static int parse_unix_target(struct cfg_ctx *ctx, const char *path, struct logger *lg)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&lg->addr;
	size_t len = strlen(path);

	if (!len || len >= sizeof(sun->sun_path))
		return cfg_err(ctx, "'log': UNIX socket path '%s' must be 1 to %zu bytes long",
			       path, sizeof(sun->sun_path) - 1);
	memset(&lg->addr, 0, sizeof(lg->addr));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	lg->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	lg->type = LOG_T_UNIX;
	return 0;
}

/* "udp4@" and "udp6@" say the same as addr.c's "ipv4@" and "ipv6@". */
static int parse_udp_target(struct cfg_ctx *ctx, const char *str, struct logger *lg)
{
	const char *orig = str, *prefix = "";
	char buf[512], err[256];
	struct addr_spec as;

	if (!strncmp(str, "udp4@", 5)) {
		prefix = "ipv4@";
		str += 5;
	} else if (!strncmp(str, "udp6@", 5)) {
		prefix = "ipv6@";
		str += 5;
	} else if (!strncmp(str, "udp@", 4)) {
		str += 4;
	}
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", prefix, str) >= sizeof(buf))
		return cfg_err(ctx, "'log': target '%.64s...' is too long", orig);
	if (addr_parse(buf, ADDR_ALLOW_NO_PORT | ADDR_RESOLVE, &as, err, sizeof(err)) < 0)
		return cfg_err(ctx, "'log': invalid target '%s': %s", orig, err);
	if (as.ss.ss_family != AF_INET && as.ss.ss_family != AF_INET6)
		return cfg_err(ctx, "'log': target '%s' is not an IPv4 or IPv6 address", orig);
	if (as.flags & ADDR_PORT_NONE)
		addr_set_port(&as.ss, LOG_DEFAULT_PORT);
	else if (!addr_port(&as.ss))
		return cfg_err(ctx, "'log': target '%s' has port 0", orig);
	lg->addr = as.ss;
	lg->addrlen = as.len ? as.len : addr_len(&as.ss);
	lg->type = LOG_T_UDP;
	return 0;
}

static int is_supported_prefix(const char *s, size_t n)
{
	static const char *const ok[] = { "udp", "udp4", "udp6", "ipv4", "ipv6", "unix" };

	for (size_t i = 0; i < CFG_ARRAY_SIZE(ok); i++)
		if (strlen(ok[i]) == n && !strncmp(ok[i], s, n))
			return 1;
	return 0;
}

static int parse_target(struct cfg_ctx *ctx, const char *s, struct logger *lg)
{
	const char *at = strchr(s, '@');

	/* HAProxy documents stdout and stderr as aliases of fd@1 and fd@2 */
	if (!strcmp(s, "stdout") || !strcmp(s, "fd@1")) {
		lg->type = LOG_T_STDOUT;
		return 0;
	}
	if (!strcmp(s, "stderr") || !strcmp(s, "fd@2")) {
		lg->type = LOG_T_STDERR;
		return 0;
	}
	if (at && !is_supported_prefix(s, (size_t)(at - s)))
		return cfg_err(ctx, "'log': target '%s' is not supported; use stdout, stderr, "
			       "a UNIX socket path (/dev/log, unix@/path) or a UDP address "
			       "(host[:port], udp@, udp4@, udp6@)", s);
	if (s[0] == '/')
		return parse_unix_target(ctx, s, lg);
	if (!strncmp(s, "unix@", 5))
		return parse_unix_target(ctx, s + 5, lg);
	return parse_udp_target(ctx, s, lg);
}

static int parse_len(struct cfg_ctx *ctx, const char *s, struct logger *lg)
{
	unsigned long v;

	if (cfg_parse_uint(s, LOG_MIN_LEN, LOG_MAX_LEN, &v) < 0)
		return cfg_err(ctx, "'log': 'len' expects a length between %d and %d, got '%s'",
			       LOG_MIN_LEN, LOG_MAX_LEN, s);
	lg->maxlen = (unsigned)v;
	return 0;
}

static int parse_format(struct cfg_ctx *ctx, const char *s, struct logger *lg)
{
	int f = name_index(format_names, CFG_ARRAY_SIZE(format_names), s);

	if (f < 0)
		return cfg_err(ctx, "'log': unknown format '%s', expects rfc3164, rfc5424, "
			       "short, priority, timed, iso or raw", s);
	lg->format = (enum log_format_type)f;
	return 0;
}

/* "len N" and "format F", between the target and the facility. */
static int parse_logger_options(struct cfg_ctx *ctx, int argc, char **args, int *i,
				struct logger *lg)
{
	for (; *i < argc; *i += 2) {
		const char *kw = args[*i];
		int is_len = !strcmp(kw, "len");

		if (!strcmp(kw, "sample") || !strcmp(kw, "profile"))
			return cfg_err(ctx, "'log': '%s' is not supported", kw);
		if (!is_len && strcmp(kw, "format"))
			return 0;
		if (*i + 1 >= argc)
			return cfg_err(ctx, "'log': '%s' expects a value", kw);
		if ((is_len ? parse_len : parse_format)(ctx, args[*i + 1], lg) < 0)
			return -1;
	}
	return 0;
}

static int parse_level(struct cfg_ctx *ctx, const char *what, const char *s, int *out)
{
	int l = name_index(level_names, CFG_ARRAY_SIZE(level_names), s);

	if (l < 0)
		return cfg_err(ctx, "'log': unknown %s '%s', expects one of emerg, alert, crit, "
			       "err, warning, notice, info, debug", what, s);
	*out = l;
	return 0;
}

/* log <target> [len N] [format F] <facility> [max-level [min-level]] */
static int parse_logger(struct cfg_ctx *ctx, int argc, char **args, struct logger *lg)
{
	int i = 2;

	if (parse_target(ctx, args[1], lg) < 0 ||
	    parse_logger_options(ctx, argc, args, &i, lg) < 0)
		return -1;
	if (i >= argc)
		return cfg_err(ctx, "'log %s': expects a facility (kern, user, daemon, local0..local7, ...)",
			       args[1]);
	lg->facility = name_index(facility_names, CFG_ARRAY_SIZE(facility_names), args[i]);
	if (lg->facility < 0)
		return cfg_err(ctx, "'log': unknown facility '%s', expects one of kern user mail daemon "
			       "auth syslog lpr news uucp cron auth2 ftp ntp audit alert cron2 "
			       "local0..local7", args[i]);
	if (++i < argc && parse_level(ctx, "level", args[i], &lg->level) < 0)
		return -1;
	if (++i < argc && parse_level(ctx, "minimum level", args[i], &lg->minlevel) < 0)
		return -1;
	if (++i < argc)
		return cfg_err(ctx, "'log': unexpected '%s' after the levels", args[i]);
	return 0;
}

static struct logger *logger_new(const struct cfg_ctx *ctx)
{
	struct logger *lg = calloc(1, sizeof(*lg));

	if (!lg)
		return NULL;
	list_init(&lg->node);
	lg->format = LOG_F_RFC3164;
	lg->fd = -1;
	lg->level = LOG_LVL_DEBUG;
	lg->minlevel = LOG_LVL_EMERG;
	lg->maxlen = LOG_DEFAULT_LEN;
	lg->conf_file = ctx->file;
	lg->conf_line = ctx->line;
	return lg;
}

static void logger_close(struct logger *lg)
{
	if ((lg->type == LOG_T_UDP || lg->type == LOG_T_UNIX) && lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
}

void log_free_loggers(struct list *loggers)
{
	struct list *pos, *tmp;

	if (!loggers || !loggers->next)
		return;
	list_for_each_safe(pos, tmp, loggers) {
		struct logger *lg = list_entry(pos, struct logger, node);

		list_del(&lg->node);
		logger_close(lg);
		free(lg);
	}
}

/* "no log": forget what the defaults gave, "log global" included. */
static int kw_no_log(struct cfg_ctx *ctx, int argc, char **args)
{
	if (ctx->section == CFG_GLOBAL)
		return cfg_err(ctx, "'no log' is only valid in defaults, frontend, backend and listen");
	if (argc > 1)
		return cfg_err(ctx, "'no log' takes no argument, got '%s'", args[1]);
	log_free_loggers(&ctx->px->loggers);
	ctx->px->options &= ~PX_O_LOG_GLOBAL;
	ctx->px->options |= PX_O_NOLOG;
	return 0;
}

static int kw_log(struct cfg_ctx *ctx, int argc, char **args)
{
	struct logger *lg;

	if (ctx->negate)
		return kw_no_log(ctx, argc, args);
	if (argc >= 2 && !strcmp(args[1], "global")) {
		if (ctx->section == CFG_GLOBAL)
			return cfg_err(ctx, "'log global' is only valid in proxies; in global, "
				       "write 'log <target> <facility>'");
		if (argc > 2)
			return cfg_err(ctx, "'log global' takes no argument, got '%s'", args[2]);
		ctx->px->options = (ctx->px->options & ~PX_O_NOLOG) | PX_O_LOG_GLOBAL;
		return 0;
	}
	if (argc < 3)
		return cfg_err(ctx, "'log' expects 'global' or '<target> [len <n>] [format <fmt>] "
			       "<facility> [<level> [<minlevel>]]'");
	lg = logger_new(ctx);
	if (!lg)
		return cfg_err(ctx, "'log': out of memory");
	if (parse_logger(ctx, argc, args, lg) < 0) {
		free(lg);
		return -1;
	}
	if (ctx->section == CFG_GLOBAL) {
		list_add_tail(&ctx->conf->global.loggers, &lg->node);
	} else {
		list_add_tail(&ctx->px->loggers, &lg->node);
		ctx->px->options &= ~PX_O_NOLOG;
	}
	return 0;
}

static int kw_log_tag(struct cfg_ctx *ctx, int argc, char **args)
{
	char *tag;

	if (argc != 2 || !*args[1])
		return cfg_err(ctx, "'log-tag' expects one name");
	tag = strdup(args[1]);
	if (!tag)
		return cfg_err(ctx, "'log-tag': out of memory");
	free(ctx->conf->global.log_tag);
	ctx->conf->global.log_tag = tag;
	return 0;
}

/* The string is checked by log_compile_formats(), once "option tcplog"
 * and inheritance have settled which format each proxy really uses. */
static int kw_log_format(struct cfg_ctx *ctx, int argc, char **args)
{
	struct proxy *px = ctx->px;
	char *fmt;

	if (argc != 2)
		return cfg_err(ctx, "'log-format' expects exactly one argument: quote the format "
			       "or escape its spaces");
	if (ctx->section == CFG_BACKEND)
		cfg_warn(ctx, "'log-format' is ignored in a backend: sessions are logged by "
			 "their frontend");
	fmt = strdup(args[1]);
	if (!fmt)
		return cfg_err(ctx, "'log-format': out of memory");
	free(px->log_format);
	px->log_format = fmt;
	px->log_format_file = ctx->file;
	px->log_format_line = ctx->line;
	/* whichever of "log-format" and "option tcplog" comes last wins */
	px->options &= ~PX_O_TCPLOG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output helpers: append to a bounded buffer, truncating silently.    */

struct lw {
	char *p, *end;		/* end: last byte, kept for the NUL */
};

static void lw_putc(struct lw *w, char c)
{
	if (w->p < w->end)
		*w->p++ = c;
}

static void lw_put(struct lw *w, const char *s, size_t n)
{
	size_t room = (size_t)(w->end - w->p);

	if (n > room)
		n = room;
	memcpy(w->p, s, n);
	w->p += n;
}

static void lw_puts(struct lw *w, const char *s)
{
	lw_put(w, s, strlen(s));
}

/* Decimal digits of v, right-aligned with zeroes to at least width. */
static void lw_uint(struct lw *w, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width && n < (int)sizeof(tmp))
		tmp[sizeof(tmp) - 1 - n++] = '0';
	lw_put(w, tmp + sizeof(tmp) - n, (size_t)n);
}

static void lw_int(struct lw *w, int64_t v)
{
	if (v < 0) {
		lw_putc(w, '-');
		lw_uint(w, (uint64_t)0 - (uint64_t)v, 0);
	} else {
		lw_uint(w, (uint64_t)v, 0);
	}
}

static void lw_hex(struct lw *w, uint64_t v, int width)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = "0123456789ABCDEF"[v & 15];
		v >>= 4;
	} while (v);
	while (n < width && n < (int)sizeof(tmp))
		tmp[sizeof(tmp) - 1 - n++] = '0';
	lw_put(w, tmp + sizeof(tmp) - n, (size_t)n);
}

/* A missing string prints "-" like HAProxy, or "" when quoted. */
static void emit_str(struct lw *w, unsigned flags, const char *s)
{
	if (!s || !*s) {
		lw_puts(w, (flags & LF_QUOTE) ? "\"\"" : "-");
		return;
	}
	if (flags & LF_QUOTE)
		lw_putc(w, '"');
	if (flags & LF_ESC) {
		for (; *s; s++) {
			if (*s == '"' || *s == '\\' || *s == ']')
				lw_putc(w, '\\');
			lw_putc(w, *s);
		}
	} else {
		lw_puts(w, s);
	}
	if (flags & LF_QUOTE)
		lw_putc(w, '"');
}

static void emit_ip(struct lw *w, unsigned flags, const struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];
	const unsigned char *b;
	struct lw hw = { buf, buf + sizeof(buf) - 1 };

	if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		emit_str(w, flags, ss && ss->ss_family == AF_UNIX ? "unix" : NULL);
		return;
	}
	if (ss->ss_family == AF_INET)
		b = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
	else
		b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	if (flags & LF_HEX) {
		for (int i = 0; i < (ss->ss_family == AF_INET ? 4 : 16); i++)
			lw_hex(&hw, b[i], 2);
		*hw.p = '\0';
	} else if (!inet_ntop(ss->ss_family, b, buf, sizeof(buf))) {
		buf[0] = '\0';
	}
	emit_str(w, flags, buf);
}

/* Ports are numbers: never quoted, like every number. */
static void emit_port(struct lw *w, unsigned flags, const struct sockaddr_storage *ss)
{
	int port;

	if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)) {
		lw_putc(w, '-');
		return;
	}
	port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	if (flags & LF_HEX)
		lw_hex(w, (uint64_t)port, 4);
	else
		lw_uint(w, (uint64_t)port, 0);
}

/* ------------------------------------------------------------------ */
/* Dates                                                               */

/* localtime_r() takes a process-wide lock; lines come in bursts within
 * the same second, so one conversion per thread and second is enough. */
static const struct tm *local_tm(time_t sec)
{
	static _Thread_local struct { time_t sec; int valid; struct tm tm; } cache;

	if (!cache.valid || cache.sec != sec) {
		localtime_r(&sec, &cache.tm);
		cache.sec = sec;
		cache.valid = 1;
	}
	return &cache.tm;
}

/* "23/Nov/2026:10:12:13", HAProxy's date in %t, %T and %Tl */
static void lw_date(struct lw *w, const struct tm *tm)
{
	lw_uint(w, (uint64_t)tm->tm_mday, 2);
	lw_putc(w, '/');
	lw_puts(w, month_names[tm->tm_mon % 12]);
	lw_putc(w, '/');
	lw_uint(w, (uint64_t)tm->tm_year + 1900, 4);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_hour, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_min, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_sec, 2);
}

/* "+0100" (sep 0) or "+01:00" (sep ':') */
static void lw_tzoff(struct lw *w, long gmtoff, char sep)
{
	long off = gmtoff < 0 ? -gmtoff : gmtoff;

	lw_putc(w, gmtoff < 0 ? '-' : '+');
	lw_uint(w, (uint64_t)(off / 3600), 2);
	if (sep)
		lw_putc(w, sep);
	lw_uint(w, (uint64_t)(off % 3600 / 60), 2);
}

/* "2026-11-23T10:12:13.123456+01:00" (RFC 3339, for rfc5424, timed, iso) */
static void lw_iso_date(struct lw *w, const struct timespec *ts)
{
	const struct tm *tm = local_tm(ts->tv_sec);

	lw_uint(w, (uint64_t)tm->tm_year + 1900, 4);
	lw_putc(w, '-');
	lw_uint(w, (uint64_t)tm->tm_mon + 1, 2);
	lw_putc(w, '-');
	lw_uint(w, (uint64_t)tm->tm_mday, 2);
	lw_putc(w, 'T');
	lw_uint(w, (uint64_t)tm->tm_hour, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_min, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_sec, 2);
	lw_putc(w, '.');
	lw_uint(w, (uint64_t)(ts->tv_nsec / 1000), 6);
	lw_tzoff(w, tm->tm_gmtoff, ':');
}

/* Dates are strings for the Q flag: format aside, then emit. */
static void emit_date(struct lw *w, unsigned flags, uint64_t ms, int kind)
{
	char buf[48];
	struct lw dw = { buf, buf + sizeof(buf) - 1 };
	time_t sec = (time_t)(ms / 1000);
	struct tm gmt;

	if (kind == 'T') {
		gmtime_r(&sec, &gmt);
		lw_date(&dw, &gmt);
		lw_puts(&dw, " +0000");
	} else {
		const struct tm *tm = local_tm(sec);

		lw_date(&dw, tm);
		if (kind == 't') {
			lw_putc(&dw, '.');
			lw_uint(&dw, ms % 1000, 3);
		} else {
			lw_putc(&dw, ' ');
			lw_tzoff(&dw, tm->tm_gmtoff, 0);
		}
	}
	*dw.p = '\0';
	emit_str(w, flags, buf);
}

/* ------------------------------------------------------------------ */
/* log-format variables                                                */

struct lf_args {
	const struct proxy *px;
	const struct log_sess_info *info;
};

struct lf_node;
typedef void (*lf_fn)(struct lw *w, const struct lf_node *n, const struct lf_args *a);

/* A compiled format: literal runs point into text[], a copy of the source,
 * so one allocation holds everything and free() releases it. */
struct lf_node {
	lf_fn fn;		/* NULL: literal text */
	unsigned flags;		/* LF_* */
	unsigned arg;		/* variable: what to show (field offset, ...) */
	unsigned off, len;	/* literal: bytes of text */
};

struct logfmt {
	const char *text;
	unsigned nb;
	struct lf_node node[];
};

#define INFO_FIELD(a, n, type) ((const type *)((const char *)(a)->info + (n)->arg))
#define INFO_ADDR(a, n) (*INFO_FIELD(a, n, struct sockaddr_storage *))

static void v_ip(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	emit_ip(w, n->flags, INFO_ADDR(a, n));
}

static void v_port(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	emit_port(w, n->flags, INFO_ADDR(a, n));
}

/* %bi/%bp: the source address toward the server is not recorded */
static void v_none(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)a;
	emit_str(w, n->flags, NULL);
}

static void v_uint(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	lw_uint(w, *INFO_FIELD(a, n, unsigned), 0);
}

static void v_u64(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	lw_uint(w, *INFO_FIELD(a, n, uint64_t), 0);
}

/* timers: -1 when the step was never reached */
static void v_i64(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	lw_int(w, *INFO_FIELD(a, n, int64_t));
}

/* handshake time: no TLS or PROXY handshake delays a TCP session here */
static void v_Th(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)n;
	(void)a;
	lw_putc(w, '0');
}

/* idle time before an HTTP request: never measured in TCP */
static void v_Ti(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)n;
	(void)a;
	lw_puts(w, "-1");
}

/* With "option logasap" the line may leave before the end: HAProxy marks
 * the total time and the byte count as lower bounds with a '+'. */
static void v_asap(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	if (a->px->options & PX_O_LOGASAP)
		lw_putc(w, '+');
	if (n->arg == offsetof(struct log_sess_info, Tt))
		v_i64(w, n, a);
	else
		v_u64(w, n, a);
}

static void v_rc(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	if (a->info->redispatched)
		lw_putc(w, '+');
	v_uint(w, n, a);
}

static void v_ft(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	emit_str(w, n->flags, a->info->fe_name ? a->info->fe_name : a->px->name);
}

/* Before a backend is chosen, HAProxy shows the frontend in its place. */
static void v_b(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	if (a->info->be_name)
		emit_str(w, n->flags, a->info->be_name);
	else
		v_ft(w, n, a);
}

static void v_s(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	emit_str(w, n->flags, a->info->srv_name ? a->info->srv_name : "<NOSRV>");
}

/* %t, %T and %Tl: the kind of date is in arg */
static void v_date(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	emit_date(w, n->flags, a->info->accept_date_ms, (int)n->arg);
}

static void v_Ts(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	uint64_t sec = a->info->accept_date_ms / 1000;

	if (n->flags & LF_HEX)
		lw_hex(w, sec, 8);
	else
		lw_uint(w, sec, 0);
}

static void v_ms(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)n;
	lw_uint(w, a->info->accept_date_ms % 1000, 3);
}

/* %ts, and %tsc (arg 1) which adds HTTP's cookie status, never set here */
static void v_ts(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	char ts[5] = { '-', '-', '-', '-', '\0' };
	const char *term = a->info->term;

	if (term[0]) {
		ts[0] = term[0];
		if (term[1])
			ts[1] = term[1];
	}
	ts[n->arg ? 4 : 2] = '\0';
	emit_str(w, n->flags, ts);
}

static void v_pid(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)a;
	if (n->flags & LF_HEX)
		lw_hex(w, (uint64_t)getpid(), 4);
	else
		lw_uint(w, (uint64_t)getpid(), 0);
}

static void v_H(struct lw *w, const struct lf_node *n, const struct lf_args *a)
{
	(void)a;
	emit_str(w, n->flags, hostname());
}

#define F(field) offsetof(struct log_sess_info, field)

static const struct lf_var {
	const char *name;
	lf_fn fn;
	unsigned arg;
} lf_vars[] = {
	{ "ci", v_ip, F(cli) },		{ "cp", v_port, F(cli) },
	{ "fi", v_ip, F(fe_addr) },	{ "fp", v_port, F(fe_addr) },
	{ "si", v_ip, F(srv_addr) },	{ "sp", v_port, F(srv_addr) },
	{ "bi", v_none, 0 },		{ "bp", v_none, 0 },
	{ "ft", v_ft, 0 }, { "f", v_ft, 0 }, { "b", v_b, 0 }, { "s", v_s, 0 },
	{ "t", v_date, 't' }, { "T", v_date, 'T' }, { "Tl", v_date, 'l' },
	{ "Ts", v_Ts, 0 }, { "ms", v_ms, 0 },
	{ "Tw", v_i64, F(Tw) }, { "Tc", v_i64, F(Tc) }, { "Tt", v_asap, F(Tt) },
	{ "Th", v_Th, 0 }, { "Ti", v_Ti, 0 },
	{ "B", v_asap, F(bytes_out) }, { "U", v_u64, F(bytes_in) },
	{ "ts", v_ts, 0 }, { "tsc", v_ts, 1 },
	{ "ac", v_uint, F(actconn) }, { "fc", v_uint, F(feconn) },
	{ "bc", v_uint, F(beconn) }, { "sc", v_uint, F(srv_conn) },
	{ "rc", v_rc, F(retries) },
	{ "sq", v_uint, F(srv_queue) }, { "bq", v_uint, F(be_queue) },
	{ "pid", v_pid, 0 }, { "H", v_H, 0 },
};

#undef F

/* Variables HAProxy only fills in HTTP mode: named in the error so that a
 * copied httplog format is not mistaken for a typo. */
static const char *const lf_http_vars[] = {
	"r", "HM", "HP", "HPO", "HQ", "HU", "HV", "ST", "CC", "CS", "hr", "hrl",
	"hs", "hsl", "Tq", "TR", "Tr", "Ta", "Td", "tr", "trg", "trl", "ID", "rt",
	"lc", "sslc", "sslv", "st",
};

#define TCPLOG_FORMAT "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

static struct logfmt *tcplog_fmt;	/* compiled by the constructor */

/* ------------------------------------------------------------------ */
/* log-format compiler                                                 */

struct lf_parser {
	const char *src;	/* the copy inside the logfmt */
	size_t pos;
	unsigned gflags;	/* set by "%{...}o": defaults for what follows */
	struct logfmt *f;
	char *err;
	size_t errsz;
};

static int lf_fail(struct lf_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int lf_fail(struct lf_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vfail(p->err, p->errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static void lf_add_literal(struct lf_parser *p, size_t start, size_t end)
{
	struct lf_node *n;

	if (end <= start)
		return;
	n = &p->f->node[p->f->nb++];
	n->fn = NULL;
	n->flags = 0;
	n->arg = 0;
	n->off = (unsigned)start;
	n->len = (unsigned)(end - start);
}

/* "{+Q,-X,+E}" at p->pos (just past the '{'): applies to *flags. */
static int lf_parse_flags(struct lf_parser *p, unsigned *flags)
{
	const char *s = p->src;

	while (s[p->pos] && s[p->pos] != '}') {
		char sign = s[p->pos], c = s[p->pos + 1];
		unsigned bit = c == 'Q' ? LF_QUOTE : c == 'X' ? LF_HEX : c == 'E' ? LF_ESC : 0;

		if (sign == ',') {
			p->pos++;
			continue;
		}
		if ((sign != '+' && sign != '-') || !bit)
			return lf_fail(p, "unknown flag '%.2s' in '%%{...}': expects +Q, -Q, +X, -X, +E or -E",
				       s + p->pos);
		*flags = sign == '+' ? (*flags | bit) : (*flags & ~bit);
		p->pos += 2;
	}
	if (s[p->pos] != '}')
		return lf_fail(p, "missing '}' after the flags of '%%{'");
	p->pos++;
	return 0;
}

static const struct lf_var *lf_lookup(struct lf_parser *p, const char *name, size_t len)
{
	for (size_t i = 0; i < CFG_ARRAY_SIZE(lf_vars); i++)
		if (strlen(lf_vars[i].name) == len && !strncmp(lf_vars[i].name, name, len))
			return &lf_vars[i];
	for (size_t i = 0; i < CFG_ARRAY_SIZE(lf_http_vars); i++)
		if (strlen(lf_http_vars[i]) == len && !strncmp(lf_http_vars[i], name, len)) {
			lf_fail(p, "'%%%.*s' is an HTTP variable; sluice logs TCP sessions",
				(int)len, name);
			return NULL;
		}
	lf_fail(p, "unknown variable '%%%.*s'", (int)len, name);
	return NULL;
}

/* One "%..." item, p->pos just past the '%'. */
static int lf_parse_var(struct lf_parser *p)
{
	const char *s = p->src;
	unsigned flags = p->gflags;
	const struct lf_var *var;
	struct lf_node *n;
	size_t start;

	if (s[p->pos] == '%') {		/* "%%": the '%' itself */
		lf_add_literal(p, p->pos, p->pos + 1);
		p->pos++;
		return 0;
	}
	if (s[p->pos] == '{') {
		p->pos++;
		if (lf_parse_flags(p, &flags) < 0)
			return -1;
	}
	if (s[p->pos] == '[')
		return lf_fail(p, "sample expressions '%%[...]' are not supported");
	start = p->pos;
	while ((s[p->pos] >= 'a' && s[p->pos] <= 'z') || (s[p->pos] >= 'A' && s[p->pos] <= 'Z'))
		p->pos++;
	if (p->pos == start)
		return lf_fail(p, "'%%' at offset %zu must be followed by a variable name, "
			       "'{flags}' or another '%%'", start - 1);
	if (p->pos - start == 1 && s[start] == 'o') {	/* flags for all what follows */
		p->gflags = flags;
		return 0;
	}
	var = lf_lookup(p, s + start, p->pos - start);
	if (!var)
		return -1;
	n = &p->f->node[p->f->nb++];
	n->fn = var->fn;
	n->flags = flags;
	n->arg = var->arg;
	return 0;
}

/* Returns a logfmt (one allocation) or NULL with a message in err. */
static struct logfmt *lf_compile(const char *src, char *err, size_t errsz)
{
	size_t len = strlen(src), lit = 0;
	/* every node consumes at least one byte of the source */
	size_t nodes_sz = sizeof(struct logfmt) + (len + 1) * sizeof(struct lf_node);
	struct lf_parser p = { .err = err, .errsz = errsz };
	char *text;

	p.f = malloc(nodes_sz + len + 1);
	if (!p.f) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	text = (char *)p.f + nodes_sz;
	memcpy(text, src, len + 1);
	p.f->text = text;
	p.f->nb = 0;
	p.src = text;
	while (text[p.pos]) {
		if (text[p.pos] != '%') {
			p.pos++;
			continue;
		}
		lf_add_literal(&p, lit, p.pos);
		p.pos++;
		if (lf_parse_var(&p) < 0) {
			free(p.f);
			return NULL;
		}
		lit = p.pos;
	}
	lf_add_literal(&p, lit, p.pos);
	return p.f;
}

static int lf_render(const struct logfmt *f, const struct lf_args *a, char *buf, int size)
{
	struct lw w;

	if (size <= 0)
		return 0;
	w.p = buf;
	w.end = buf + size - 1;
	for (unsigned i = 0; i < f->nb; i++) {
		const struct lf_node *n = &f->node[i];

		if (n->fn)
			n->fn(&w, n, a);
		else
			lw_put(&w, f->text + n->off, n->len);
	}
	*w.p = '\0';
	return (int)(w.p - buf);
}

/* "Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (www/TCP)" */
static int format_connect(const struct proxy *px, const struct log_sess_info *info,
			  char *buf, int size)
{
	struct lw w;

	if (size <= 0)
		return 0;
	w.p = buf;
	w.end = buf + size - 1;
	lw_puts(&w, "Connect from ");
	emit_ip(&w, 0, info->cli);
	lw_putc(&w, ':');
	emit_port(&w, 0, info->cli);
	lw_puts(&w, " to ");
	emit_ip(&w, 0, info->fe_addr);
	lw_putc(&w, ':');
	emit_port(&w, 0, info->fe_addr);
	lw_puts(&w, " (");
	emit_str(&w, 0, info->fe_name ? info->fe_name : px->name);
	lw_puts(&w, px->mode == PX_MODE_UDP ? "/UDP)" : "/TCP)");
	*w.p = '\0';
	return (int)(w.p - buf);
}

int log_proxy_wants_connect_line(const struct proxy *px)
{
	return !px->log_format && !(px->options & PX_O_TCPLOG);
}

int log_format_session(const struct proxy *px, const struct log_sess_info *info,
		       char *buf, int size)
{
	struct lf_args a = { px, info };
	const struct logfmt *f = tcplog_fmt;

	if (log_proxy_wants_connect_line(px))
		return format_connect(px, info, buf, size);
	/* "log-format" clears PX_O_TCPLOG, so both set means "option tcplog"
	 * came last and wins. Not compiled yet (before post-parse): tcplog. */
	if (!(px->options & PX_O_TCPLOG) && px->logfmt)
		f = px->logfmt;
	if (!f) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	return lf_render(f, &a, buf, size);
}

/* Report each bad string once, where it was written (defaults are
 * compiled first), not again for every proxy that inherited a copy. */
struct lf_reported {
	const char *fmt[32];
	int nb;
};

static int lf_already_reported(struct lf_reported *r, const char *fmt)
{
	for (int i = 0; i < r->nb; i++)
		if (!strcmp(r->fmt[i], fmt))
			return 1;
	if (r->nb < (int)CFG_ARRAY_SIZE(r->fmt))
		r->fmt[r->nb++] = fmt;
	return 0;
}

static int compile_proxy_format(struct proxy *px, struct lf_reported *rep)
{
	const char *file = px->log_format_file ? px->log_format_file : px->conf_file;
	int line = px->log_format_file ? px->log_format_line : px->conf_line;
	char err[256];

	if (!px->log_format || px->logfmt || (px->options & PX_O_TCPLOG))
		return 0;
	px->logfmt = lf_compile(px->log_format, err, sizeof(err));
	if (px->logfmt)
		return 0;
	if (lf_already_reported(rep, px->log_format))
		return 1;	/* still an error: it must not start */
	cfg_err_at(file, line, "'log-format': %s", err);
	return 1;
}

int log_compile_formats(struct config *conf)
{
	struct lf_reported rep = { .nb = 0 };
	int errors = 0;

	log_host_set(conf);
	for (struct proxy *px = conf->defaults; px; px = px->next)
		errors += compile_proxy_format(px, &rep);
	for (struct proxy *px = conf->proxies; px; px = px->next)
		errors += compile_proxy_format(px, &rep);
	return errors;
}

/* ------------------------------------------------------------------ */
/* Syslog framing and sending                                          */

struct log_hdr_ctx {
	const char *tag;
	const struct timespec *now;
	int pid;
};

static void hdr_pri(struct lw *w, int pri)
{
	lw_putc(w, '<');
	lw_uint(w, (uint64_t)pri, 0);
	lw_putc(w, '>');
}

/* "<PRI>Mmm dd hh:mm:ss TAG[PID]: ", without a host name: HAProxy only
 * adds one with "log-send-hostname", and the local daemon fills it in. */
static void hdr_rfc3164(struct lw *w, int pri, const struct log_hdr_ctx *h)
{
	const struct tm *tm = local_tm(h->now->tv_sec);

	hdr_pri(w, pri);
	lw_puts(w, month_names[tm->tm_mon % 12]);
	lw_putc(w, ' ');
	lw_putc(w, tm->tm_mday < 10 ? ' ' : (char)('0' + tm->tm_mday / 10));
	lw_putc(w, (char)('0' + tm->tm_mday % 10));
	lw_putc(w, ' ');
	lw_uint(w, (uint64_t)tm->tm_hour, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_min, 2);
	lw_putc(w, ':');
	lw_uint(w, (uint64_t)tm->tm_sec, 2);
	lw_putc(w, ' ');
	lw_puts(w, h->tag);
	lw_putc(w, '[');
	lw_uint(w, (uint64_t)h->pid, 0);
	lw_puts(w, "]: ");
}

/* "<PRI>1 ISO-DATE HOST TAG PID - - ": no MSGID, no structured data */
static void hdr_rfc5424(struct lw *w, int pri, const struct log_hdr_ctx *h)
{
	hdr_pri(w, pri);
	lw_puts(w, "1 ");
	lw_iso_date(w, h->now);
	lw_putc(w, ' ');
	lw_puts(w, hostname());
	lw_putc(w, ' ');
	lw_puts(w, h->tag);
	lw_putc(w, ' ');
	lw_uint(w, (uint64_t)h->pid, 0);
	lw_puts(w, " - - ");
}

static int build_header(const struct logger *lg, int level, const struct log_hdr_ctx *h,
			char *buf, size_t size)
{
	struct lw w = { buf, buf + size - 1 };
	int pri = lg->facility * 8 + level;

	switch (lg->format) {
	case LOG_F_RAW:
		break;
	case LOG_F_SHORT:	/* the level alone, as systemd reads stderr */
		hdr_pri(&w, level);
		break;
	case LOG_F_TIMED:
		hdr_pri(&w, level);
		lw_iso_date(&w, h->now);
		lw_putc(&w, ' ');
		break;
	case LOG_F_ISO:
		lw_iso_date(&w, h->now);
		lw_putc(&w, ' ');
		break;
	case LOG_F_PRIORITY:
		hdr_pri(&w, pri);
		break;
	case LOG_F_RFC5424:
		hdr_rfc5424(&w, pri, h);
		break;
	default:
		hdr_rfc3164(&w, pri, h);
		break;
	}
	return (int)(w.p - buf);
}

/* One system call per line and target, never blocking a socket: a line
 * that cannot leave now is dropped and counted. */
static void logger_write(const struct logger *lg, struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t ret;

	if (lg->type == LOG_T_STDOUT || lg->type == LOG_T_STDERR) {
		int fd = lg->type == LOG_T_STDOUT ? STDOUT_FILENO : STDERR_FILENO;

		do
			ret = writev(fd, iov, iovcnt);
		while (ret < 0 && errno == EINTR);
	} else if (lg->fd < 0) {
		ret = -1;
	} else {
		/* UNIX targets stay unconnected so that a restarted syslog
		 * daemon, which recreates its socket, is found again */
		if (lg->type == LOG_T_UNIX) {
			mh.msg_name = (void *)&lg->addr;
			mh.msg_namelen = lg->addrlen;
		}
		ret = sendmsg(lg->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (ret < 0 && errno == EDESTADDRREQ) {	/* UDP connect() failed at start */
			mh.msg_name = (void *)&lg->addr;
			mh.msg_namelen = lg->addrlen;
			ret = sendmsg(lg->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	if (ret < 0)
		atomic_fetch_add_explicit(&log_drops, 1, memory_order_relaxed);
}

/* Header + message (+ '\n' on streams), the whole cut to "len" bytes. */
static void logger_send(const struct logger *lg, int level, const struct log_hdr_ctx *h,
			const char *msg, size_t len)
{
	char hdr[LOG_HDR_MAX];
	struct iovec iov[3];
	int nl = lg->type == LOG_T_STDOUT || lg->type == LOG_T_STDERR;
	unsigned maxlen = lg->maxlen ? lg->maxlen : LOG_DEFAULT_LEN;
	size_t budget = maxlen > (unsigned)nl ? maxlen - (unsigned)nl : 0;
	size_t hlen;

	if (level > lg->level)
		return;
	if (level < lg->minlevel)
		level = lg->minlevel;
	hlen = (size_t)build_header(lg, level, h, hdr, sizeof(hdr));
	if (hlen > budget)
		hlen = budget;
	if (len > budget - hlen)
		len = budget - hlen;
	iov[0] = (struct iovec){ hdr, hlen };
	iov[1] = (struct iovec){ (void *)msg, len };
	iov[2] = (struct iovec){ "\n", 1 };
	logger_write(lg, iov, 2 + nl);
}

static void send_list(const struct list *head, int level, const struct log_hdr_ctx *h,
		      const char *msg, size_t len)
{
	for (const struct list *l = head->next; l != head; l = l->next)
		logger_send(list_entry(l, const struct logger, node), level, h, msg, len);
}

/* px NULL: the global targets. */
static void send_to_targets(const struct proxy *px, const struct config *conf, int level,
			    const char *msg, size_t len)
{
	struct timespec now;
	struct log_hdr_ctx h;

	clock_gettime(CLOCK_REALTIME, &now);
	h.tag = conf && conf->global.log_tag ? conf->global.log_tag : LOG_DEFAULT_TAG;
	h.now = &now;
	h.pid = (int)getpid();
	if (!px) {
		if (conf && conf->global.loggers.next)
			send_list(&conf->global.loggers, level, &h, msg, len);
		return;
	}
	if (px->options & PX_O_NOLOG)
		return;
	send_list(&px->loggers, level, &h, msg, len);
	if ((px->options & PX_O_LOG_GLOBAL) && conf && conf->global.loggers.next)
		send_list(&conf->global.loggers, level, &h, msg, len);
}

int log_proxy_has_targets(const struct proxy *px, const struct config *conf)
{
	int global = conf && conf->global.loggers.next && !list_empty(&conf->global.loggers);

	if (!px)
		return global;
	if (px->options & PX_O_NOLOG)
		return 0;
	return !list_empty(&px->loggers) || ((px->options & PX_O_LOG_GLOBAL) && global);
}

/* "option dontlog-normal": nothing went wrong; "option dontlognull": the
 * client sent nothing (a probe or a port scan). */
static int session_filtered(const struct proxy *px, const struct log_sess_info *info)
{
	char err = info->term[0];

	if ((px->options & PX_O_DONTLOGNULL) && !info->bytes_in)
		return 1;
	/* a locally processed end ('L') is no failure either */
	if ((px->options & PX_O_DONTLOG_NORMAL) && (!err || err == '-' || err == 'L') &&
	    !info->retries && !info->redispatched)
		return 1;
	return 0;
}

/* A zeroed info says emerg, which syslog daemons broadcast to every
 * terminal and no session deserves: read it as "not chosen", i.e. info. */
static int session_level(const struct log_sess_info *info)
{
	return info->level > LOG_LVL_EMERG && info->level <= LOG_LVL_DEBUG ? info->level
									 : LOG_LVL_INFO;
}

void log_session(const struct proxy *px, const struct config *conf,
		 const struct log_sess_info *info)
{
	int n;

	if (!px || !info || log_proxy_wants_connect_line(px) ||
	    !log_proxy_has_targets(px, conf) || session_filtered(px, info))
		return;
	n = log_format_session(px, info, log_buf, sizeof(log_buf));
	if (n > 0)
		send_to_targets(px, conf, session_level(info), log_buf, (size_t)n);
}

void log_udp_session(const struct proxy *px, const struct config *conf,
		     const struct log_sess_info *info, uint64_t dgrams_in, uint64_t dgrams_out)
{
	struct lf_args a = { px, info };
	const struct logfmt *f = tcplog_fmt;
	int n;

	if (!px || !info || !log_proxy_has_targets(px, conf))
		return;
	if (!(px->options & PX_O_TCPLOG) && px->logfmt)
		f = px->logfmt;
	if (!f)
		return;
	n = lf_render(f, &a, log_buf, sizeof(log_buf));
	if (n < 0)
		return;
	if (f == tcplog_fmt)
		n += snprintf(log_buf + n, sizeof(log_buf) - (size_t)n, " dgrams %llu/%llu",
			      (unsigned long long)dgrams_in, (unsigned long long)dgrams_out);
	if ((size_t)n >= sizeof(log_buf))
		n = (int)sizeof(log_buf) - 1;
	send_to_targets(px, conf, session_level(info), log_buf, (size_t)n);
}

void log_connect(const struct proxy *px, const struct config *conf,
		 const struct log_sess_info *info)
{
	int n;

	if (!px || !info || !log_proxy_wants_connect_line(px) ||
	    !log_proxy_has_targets(px, conf))
		return;
	n = format_connect(px, info, log_buf, sizeof(log_buf));
	send_to_targets(px, conf, session_level(info), log_buf, (size_t)n);
}

static int has_stderr_target(const struct list *head)
{
	if (!head->next)
		return 0;
	for (const struct list *l = head->next; l != head; l = l->next)
		if (list_entry(l, const struct logger, node)->type == LOG_T_STDERR)
			return 1;
	return 0;
}

/* "-d": the operator watches the terminal; skip it when a target already
 * writes there. */
static void debug_copy(const struct proxy *px, const struct config *conf, int level,
		       const char *msg, size_t len)
{
	static const char *const up[] = {
		"EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
	};
	char hdr[32];
	struct iovec iov[3];
	int hlen;

	if (has_stderr_target(&conf->global.loggers) || (px && has_stderr_target(&px->loggers)))
		return;
	hlen = snprintf(hdr, sizeof(hdr), "[%s] ", up[level & 7]);
	iov[0] = (struct iovec){ hdr, (size_t)hlen };
	iov[1] = (struct iovec){ (void *)msg, len };
	iov[2] = (struct iovec){ "\n", 1 };
	if (writev(STDERR_FILENO, iov, 3) < 0)
		atomic_fetch_add_explicit(&log_drops, 1, memory_order_relaxed);
}

void log_send(const struct proxy *px, const struct config *conf, int level,
	      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (level < LOG_LVL_EMERG)
		level = LOG_LVL_EMERG;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	va_start(ap, fmt);
	n = vsnprintf(log_buf, sizeof(log_buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(log_buf))
		n = (int)sizeof(log_buf) - 1;
	while (n > 0 && log_buf[n - 1] == '\n')	/* the framing adds its own */
		n--;
	send_to_targets(px, conf, level, log_buf, (size_t)n);
	if (conf && conf->debug)
		debug_copy(px, conf, level, log_buf, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* Opening and closing targets                                         */

static int logger_open(struct logger *lg)
{
	int family = lg->type == LOG_T_UNIX ? AF_UNIX : lg->addr.ss_family;

	if (lg->type == LOG_T_STDOUT || lg->type == LOG_T_STDERR) {
		lg->fd = lg->type == LOG_T_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
		return 0;
	}
	if (lg->fd >= 0)
		return 0;
	lg->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lg->fd < 0) {
		cfg_err_at(lg->conf_file, lg->conf_line, "'log': cannot create a socket: %s",
			   strerror(errno));
		return -1;
	}
	/* a log server unreachable at boot must not stop the start: sending
	 * falls back to sendmsg() with the address (see logger_write()) */
	if (lg->type == LOG_T_UDP &&
	    connect(lg->fd, (const struct sockaddr *)&lg->addr, lg->addrlen) < 0)
		fprintf(stderr, "%s:%d: warning: 'log': cannot reach the target yet (%s); "
			"will keep trying at each line\n",
			lg->conf_file ? lg->conf_file : "?", lg->conf_line, strerror(errno));
	return 0;
}

static int open_list(struct list *head)
{
	struct list *pos, *tmp;
	int ret = 0;

	if (!head->next)
		return 0;
	list_for_each_safe(pos, tmp, head)
		if (logger_open(list_entry(pos, struct logger, node)) < 0)
			ret = -1;
	return ret;
}

static void close_list(struct list *head)
{
	struct list *pos, *tmp;

	if (!head->next)
		return;
	list_for_each_safe(pos, tmp, head)
		logger_close(list_entry(pos, struct logger, node));
}

int log_open_targets(struct config *conf)
{
	int ret = open_list(&conf->global.loggers);

	log_host_set(conf);
	for (struct proxy *px = conf->proxies; px; px = px->next)
		if (!(px->options & PX_O_NOLOG) && open_list(&px->loggers) < 0)
			ret = -1;
	return ret;
}

void log_close_targets(struct config *conf)
{
	close_list(&conf->global.loggers);
	for (struct proxy *px = conf->proxies; px; px = px->next)
		close_list(&px->loggers);
}

/* ------------------------------------------------------------------ */

static struct cfg_kw_list log_kws = { .kws = (const struct cfg_kw[]){
	{ "log", CFG_GLOBAL | CFG_PROXIES, kw_log, CFG_KW_NEGATABLE },
	{ "log-tag", CFG_GLOBAL, kw_log_tag, 0 },
	{ "log-format", CFG_PROXIES, kw_log_format, 0 },
	{ NULL, 0, NULL, 0 },
} };

static struct cfg_postparser log_pp = { .name = "log-format", .fn = log_compile_formats };

__attribute__((constructor)) static void log_init(void)
{
	char err[128];

	cfg_register(&log_kws);
	cfg_register_postparser(&log_pp);
	tcplog_fmt = lf_compile(TCPLOG_FORMAT, err, sizeof(err));
}
