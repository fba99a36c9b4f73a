/* log.h - log targets and session log lines.
 *
 * Owns: "log" (global and proxies, including "log global" and "no log"),
 * "log-format", "log-tag", the targets (stdout, stderr, syslog over UDP
 * or a UNIX datagram socket), the syslog header formats (rfc3164 default,
 * rfc5424, short, priority, timed, iso, raw) and the formatting of one line
 * per session in HAProxy's tcplog format, a custom log-format, or the
 * default "Connect from" line.
 * Threading: targets are created at start-up; sending is a single
 * write()/sendto() of a whole line, safe from any thread. Formatting works on
 * a caller-provided buffer: no allocation.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdint.h>
#include <sys/socket.h>
#include "list.h"

struct proxy;
struct config;

enum log_target_type { LOG_T_STDOUT, LOG_T_STDERR, LOG_T_UDP, LOG_T_UNIX };
enum log_format_type { LOG_F_RFC3164 = 0, LOG_F_RFC5424, LOG_F_SHORT, LOG_F_RAW,
		       LOG_F_PRIORITY, LOG_F_TIMED, LOG_F_ISO };

struct logger {
	struct list node;
	enum log_target_type type;
	enum log_format_type format;
	struct sockaddr_storage addr;	/* UDP or UNIX */
	socklen_t addrlen;
	int fd;				/* opened by log_open_targets(), -1 before */
	int facility;			/* 0..23 */
	int level;			/* max level sent, 0..7 (default 7: debug) */
	int minlevel;			/* levels below are raised to it */
	unsigned maxlen;		/* "len N", default 1024 */
	const char *conf_file;
	int conf_line;
};

/* syslog levels */
#define LOG_LVL_EMERG	0
#define LOG_LVL_ALERT	1
#define LOG_LVL_CRIT	2
#define LOG_LVL_ERR	3
#define LOG_LVL_WARNING	4
#define LOG_LVL_NOTICE	5
#define LOG_LVL_INFO	6
#define LOG_LVL_DEBUG	7

/* Everything a session log line can show. Times in ms; -1 means "never
 * reached" and prints as -1 like HAProxy. */
struct log_sess_info {
	const struct sockaddr_storage *cli;	/* %ci:%cp */
	const struct sockaddr_storage *fe_addr;	/* %fi:%fp, may be NULL */
	const struct sockaddr_storage *srv_addr;	/* %si:%sp, may be NULL */
	const char *fe_name, *be_name, *srv_name;	/* %ft %b %s ("<NOSRV>") */
	uint64_t accept_date_ms;	/* wall clock, ms since epoch: %t */
	int64_t Tw, Tc, Tt;		/* queue wait, connect, total */
	uint64_t bytes_in;		/* %U client -> server */
	uint64_t bytes_out;		/* %B server -> client */
	char term[3];			/* %ts, e.g. "--", "SC", "cD" */
	unsigned actconn, feconn, beconn, srv_conn, retries;	/* %ac/%fc/%bc/%sc/%rc */
	int redispatched;		/* %rc prefixed with '+' */
	unsigned srv_queue, be_queue;	/* %sq/%bq */
	int level;			/* syslog level for this line */
};

/* Open the targets of the global section and of every proxy. 0 or -1. */
int log_open_targets(struct config *conf);
void log_close_targets(struct config *conf);

/* The loggers that apply to px (its own, plus global ones with "log global"). */
int log_proxy_has_targets(const struct proxy *px, const struct config *conf);

/* Format the line for px (its log-format, else tcplog with "option tcplog",
 * else the default "Connect from" line) into buf; returns the length
 * (truncated to size - 1, always NUL-terminated). */
int log_format_session(const struct proxy *px, const struct log_sess_info *info,
		       char *buf, int size);
/* Format and send one session line to px's targets, at session end. Does
 * nothing for a proxy with the default format (see log_connect()), and
 * honours "option dontlognull" (the client sent nothing) and "option
 * dontlog-normal" (no error, no retry, no redispatch). */
void log_session(const struct proxy *px, const struct config *conf,
		 const struct log_sess_info *info);
/* HAProxy's default format (neither "option tcplog" nor "log-format") is
 * "Connect from CLI to FE (NAME/TCP)", logged at accept rather than at end. */
int log_proxy_wants_connect_line(const struct proxy *px);
/* The end of a UDP session: its "log-format" line if it has one, else the
 * tcplog line (whatever "option tcplog" says: UDP sessions log once, at
 * their end) followed by " dgrams IN/OUT", the datagrams each way. */
void log_udp_session(const struct proxy *px, const struct config *conf,
		     const struct log_sess_info *info, uint64_t dgrams_in, uint64_t dgrams_out);
/* At accept: send that line when px uses the default format, else nothing. */
void log_connect(const struct proxy *px, const struct config *conf,
		 const struct log_sess_info *info);
/* Send a free-form message (server state changes, alerts) to px's targets,
 * or the global ones when px is NULL; also to stderr when conf->debug. */
void log_send(const struct proxy *px, const struct config *conf, int level,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Post-parse: compile every proxy's log-format. Returns error count.
 * Registered as a post-parser by log.c; calling it again is harmless.
 * A compiled struct logfmt is a single allocation: free() releases it. */
int log_compile_formats(struct config *conf);

/* Unlink and free every struct logger of a list (for proxy_free and
 * config_free); closes the sockets that are open. */
void log_free_loggers(struct list *loggers);

/* Lines dropped since start: target not open, send error, full socket. */
unsigned long log_dropped(void);

#endif
