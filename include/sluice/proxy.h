/* proxy.h - frontends, backends, listen sections and defaults.
 *
 * Owns: struct proxy and the proxy-level keywords (mode, maxconn, timeout,
 * option ..., retries, default_backend, default-server is in server.c,
 * balance/hash-type in lb.c, log/log-format in log.c, bind in bind.c,
 * stats in stats.c).
 * A "defaults" section is a struct proxy with cap PX_CAP_DEFAULTS that is
 * copied into each proxy that follows it.
 * Threading: configuration fields are read-only once workers run. Counters
 * and connection counts are atomics; the pending queue is guarded by qlock.
 */
#ifndef SLUICE_PROXY_H
#define SLUICE_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "list.h"
#include "server.h"
#include "lb.h"
#include "tcp_rules.h"
#include "stats.h"

#define PX_CAP_DEFAULTS	0x0
#define PX_CAP_FE	0x1
#define PX_CAP_BE	0x2
#define PX_CAP_LISTEN	(PX_CAP_FE | PX_CAP_BE)

enum px_mode { PX_MODE_TCP = 0, PX_MODE_UDP = 1 };

/* proxy->options */
#define PX_O_REDISPATCH		0x0001
#define PX_O_TCPLOG		0x0002
#define PX_O_DONTLOGNULL	0x0004
#define PX_O_CLITCPKA		0x0008
#define PX_O_SRVTCPKA		0x0010
#define PX_O_SPLICE_AUTO	0x0020
#define PX_O_SPLICE_REQ		0x0040
#define PX_O_SPLICE_RTR		0x0080
#define PX_O_LOG_GLOBAL		0x0100	/* "log global" */
#define PX_O_NOLOG		0x0200	/* "no log": drop inherited loggers */
#define PX_O_ALLBACKUPS		0x0400
#define PX_O_DONTLOG_NORMAL	0x0800
#define PX_O_LOGASAP		0x1000
#define PX_O_LOG_HEALTH		0x2000	/* "option log-health-checks" */

/* Timeouts in milliseconds; 0 means "not set" (no timeout). */
struct px_timeouts {
	unsigned connect, client, server, queue, tunnel, client_fin, server_fin, check;
};

struct px_counters {
	_Atomic uint64_t cum_conn;	/* accepted connections (frontend) */
	_Atomic uint64_t cum_sess;	/* sessions (frontend) / sent to this backend */
	_Atomic uint64_t bytes_in;	/* client -> server */
	_Atomic uint64_t bytes_out;	/* server -> client */
	_Atomic uint64_t denied_conn;
	_Atomic uint64_t failed_conns;	/* connection errors to servers */
	_Atomic uint64_t retries;
	_Atomic uint64_t redispatches;
	_Atomic uint64_t queue_timeouts;
	_Atomic uint64_t cli_aborts, srv_aborts;
	_Atomic unsigned max_conn;	/* highest concurrency seen */
};

struct logfmt;
struct tcpcheck_ruleset;
struct stktable;

struct proxy {
	char *name;
	unsigned cap;			/* PX_CAP_* */
	enum px_mode mode;
	int uuid;			/* 1-based, in file order */
	const char *conf_file;
	int conf_line;
	unsigned options;		/* PX_O_* */
	struct px_timeouts to;
	unsigned maxconn;		/* frontend: 0 = only global maxconn */
	unsigned retries;		/* default 3 */
	int redispatch_interval;	/* with PX_O_REDISPATCH: -1 last retry, N every Nth */
	int disabled;			/* "disabled": parsed, but never started */
	char *desc;			/* "description", NULL if none */

	/* rules and conditions (acl.c, tcp_rules.c) */
	struct list acls;		/* named ACLs, struct acl (acl.c) */
	struct tcp_rules rules;		/* tcp-request/-response, use_backend, use-server */
	struct stktable *table;		/* own "stick-table", NULL if none (stick_cfg.c) */

	/* frontend side */
	struct list binds;		/* struct bind_conf */
	char *default_backend_name;
	int default_backend_line;	/* line of the default_backend keyword */
	const char *default_backend_file;
	struct proxy *default_backend;	/* resolved after parsing */
	_Atomic unsigned feconn;	/* current frontend connections */

	/* backend side */
	struct server *srv;		/* servers in file order */
	struct server *srv_last;
	unsigned nb_srv;
	struct server defsrv;		/* "default-server" template */
	struct conn_src src;		/* "source" (privs.c), for servers without one */
	struct lb lb;
	struct tcpcheck_ruleset *tcpcheck;	/* check script (tcpcheck.h), NULL: connect only */
	struct list stick_rules;	/* stick match/on/store-request (stick_rules.c) */
	_Atomic unsigned beconn;	/* sessions currently assigned here */
	pthread_mutex_t qlock;		/* guards pendq and every server's pendq */
	struct list pendq;		/* sessions waiting for any server */
	_Atomic unsigned nbpend;	/* entries in pendq */
	_Atomic uint64_t queue_seq;	/* order across backend and server queues */

	/* logging */
	struct list loggers;		/* struct logger (own "log" lines) */
	char *log_format;		/* "log-format" string, NULL: tcplog/default */
	const char *log_format_file;	/* where "log-format" was written, for */
	int log_format_line;		/* errors found when it is compiled */
	struct logfmt *logfmt;		/* compiled at post-parse */

	struct px_counters ctr;
	struct stats_conf stats;	/* "stats" keywords (stats.c) */
	struct proxy *next;
};

/* A frontend's maxconn, which "set maxconn frontend" may change at run
 * time: read atomically on the data path. 0: only the global limit. */
static inline unsigned px_maxconn(const struct proxy *px)
{
	return __atomic_load_n(&px->maxconn, __ATOMIC_RELAXED);
}

/* Allocate a proxy of the given cap, inheriting everything from defs (may be
 * NULL). Strings and lists are deep-copied. proxy_free() also frees the
 * binds, the servers and lb.hash_expr/hash_expr_str (lb ops deinit only
 * releases the algorithm's state). */
struct proxy *proxy_new(const char *name, unsigned cap, const struct proxy *defs);
void proxy_free(struct proxy *px);
const char *proxy_cap_str(unsigned cap);	/* "frontend", "backend", "listen", "defaults" */

#endif
