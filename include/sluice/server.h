/* server.h - backend servers: configuration and shared runtime state.
 *
 * Owns: struct server, the "server" and "default-server" keywords, and the
 * registry of server keywords (weight, maxconn, ...), which other subsystems
 * extend from their own files (checks register inter/rise/fall there).
 * State changes live in server_state.c: the operational state follows
 * a set of "down causes" (health check, agent, tracked server), the admin
 * flags (maintenance, drain) and the runtime weight (agent, CLI, slow
 * start); every change is logged, counted, pushed to the balancer, to the
 * queues and to the servers that track this one.
 * Threading: configuration is read-only once workers run. Runtime state
 * (operational state, admin flags, weights, connection counts, counters) is
 * atomics, read by balancers on any thread; changes are serialised by the
 * server's state_lock (server_state.c). The pending queue is guarded by the
 * backend's qlock.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include "check.h"
#include "list.h"
#include "privs.h"
#include "timer.h"

struct proxy;
struct cfg_ctx;

/* Operational state: UP when no down cause is set. */
enum srv_state {
	SRV_ST_DOWN = 0,
	SRV_ST_UP = 1,
};

/* Why a server is operationally down (srv->down_causes). */
#define SRV_DOWN_CHECK	0x01	/* the health check failed "fall" times */
#define SRV_DOWN_AGENT	0x02	/* the agent replied down, fail or stopped */
#define SRV_DOWN_TRACK	0x04	/* the tracked server is down */

/* Administrative flags (srv->admin). */
#define SRV_ADMF_MAINT	0x01	/* "disabled", CLI or agent "maint": no traffic at all */
#define SRV_ADMF_DRAIN	0x02	/* CLI or agent "drain": no new sessions from balancing */
#define SRV_ADMF_IMAINT	0x04	/* maintenance inherited from the tracked server */
#define SRV_ADMF_IDRAIN	0x08	/* drain inherited from the tracked server */
#define SRV_ADMF_ANY_MAINT (SRV_ADMF_MAINT | SRV_ADMF_IMAINT)
#define SRV_ADMF_ANY_DRAIN (SRV_ADMF_DRAIN | SRV_ADMF_IDRAIN)

/* Configuration flags (srv->flags). */
#define SRV_F_BACKUP	0x01
#define SRV_F_PORT_MAP	0x02	/* port is an offset from the client's dst port */
#define SRV_F_NO_PORT	0x04	/* no port: use the client's dst port */
#define SRV_F_TCPKA	0x08
#define SRV_F_SEND_PROXY	0x10	/* "send-proxy" (issue 4 adds the keyword) */
#define SRV_F_SEND_PROXY_V2	0x20	/* "send-proxy-v2" */

#define SRV_MAX_WEIGHT	256
/* eweight is the runtime weight times this, so that slow start can ramp
 * even a weight-1 server in fine steps (balancers only use ratios). */
#define SRV_EWEIGHT_SCALE 16

struct srv_counters {
	_Atomic uint64_t cum_sess;
	_Atomic uint64_t bytes_in, bytes_out;
	_Atomic uint64_t failed_conns;
	_Atomic uint64_t retries, redispatches;
	_Atomic uint64_t queue_timeouts;
	_Atomic unsigned max_conn;
	_Atomic uint64_t failed_checks;	/* failed health checks ("chkfail") */
	_Atomic uint64_t down_trans;	/* UP -> DOWN transitions ("chkdown") */
	_Atomic uint64_t down_time_ms;	/* time spent DOWN, finished periods */
};

struct server {
	char *name;
	struct proxy *px;		/* owning backend */
	int puid;			/* "id", or position (1-based) */
	const char *conf_file;
	int conf_line;
	char *addr_str;			/* as written, for messages */
	struct sockaddr_storage addr;	/* port 0 with SRV_F_NO_PORT */
	socklen_t addrlen;
	int port_offset;		/* with SRV_F_PORT_MAP */
	unsigned flags;			/* SRV_F_* */
	unsigned uweight;		/* configured weight, 0..256, default 1 */
	unsigned maxconn;		/* 0: unlimited */
	unsigned maxqueue;		/* 0: unlimited */
	unsigned pp_opts;		/* PP_OPT_* of "proxy-v2-options" (proxy_proto.h) */
	struct check_conf chk;		/* check settings (check.h) */
	struct conn_src src;		/* "source", wins over the backend's (privs.c) */

	/* set up after parsing */
	struct check *check;		/* health check, NULL without "check" */
	struct check *agent;		/* agent check, NULL without "agent-check" */
	struct server *track;		/* server whose state this one follows */
	struct server *trackers;	/* servers tracking this one */
	struct server *tracknext;	/* next in track->trackers */

	/* runtime, shared between threads */
	_Atomic int state;		/* enum srv_state */
	_Atomic unsigned down_causes;	/* SRV_DOWN_*; state is UP iff 0 */
	_Atomic unsigned admin;		/* SRV_ADMF_* */
	_Atomic unsigned cur_weight;	/* runtime weight (agent, CLI), before slow start */
	_Atomic unsigned eweight;	/* cur_weight * SRV_EWEIGHT_SCALE, ramped by slow start */
	_Atomic uint64_t last_change;	/* monotonic ms of the last state change */
	pthread_mutex_t state_lock;	/* serialises state changes (server_state.c) */
	struct timer slowstart_timer;	/* on slowstart_worker's wheel */
	struct worker *slowstart_worker;
	uint64_t slowstart_begin;	/* monotonic ms the ramp began, 0: none (state_lock) */
	_Atomic unsigned cur_conns;	/* sessions holding a slot */
	_Atomic unsigned nbpend;	/* sessions in pendq */
	struct list pendq;		/* sessions waiting for this server */
	struct srv_counters ctr;
	unsigned lb_pos;		/* index for balancers, set by lb code */

	struct server *next;
};

/* A server may take sessions from balancing: up, not in maintenance, not
 * draining, non-zero weight. */
static inline int srv_is_usable(const struct server *s)
{
	return atomic_load_explicit(&s->state, memory_order_relaxed) == SRV_ST_UP &&
	       !atomic_load_explicit(&s->admin, memory_order_relaxed) &&
	       atomic_load_explicit(&s->eweight, memory_order_relaxed) > 0;
}

/* A server may take sessions sent to it by name or by persistence
 * (use-server, stick tables): up and not in maintenance. Weight 0 and
 * draining do not matter: that is how a draining server keeps the
 * clients that stick to it. */
static inline int srv_can_be_forced(const struct server *s)
{
	return atomic_load_explicit(&s->state, memory_order_relaxed) == SRV_ST_UP &&
	       !(atomic_load_explicit(&s->admin, memory_order_relaxed) & SRV_ADMF_ANY_MAINT);
}

/* maxconn may be changed at run time ("set maxconn server"): readers on
 * the data path load it atomically (a plain unsigned, so that keyword
 * parsers can still take its address). 0: no limit. */
static inline unsigned srv_maxconn(const struct server *s)
{
	return __atomic_load_n(&s->maxconn, __ATOMIC_RELAXED);
}

/* Has a free connection slot (maxconn not reached). */
static inline int srv_has_slot(const struct server *s)
{
	unsigned max = srv_maxconn(s);

	return !max || atomic_load_explicit(&s->cur_conns, memory_order_relaxed) < max;
}

/* Server keyword registry: handler gets the words after the keyword
 * (args[0] is the keyword itself) and returns how many extra words it used
 * (0 for a flag, 1 for "weight N"), or -1 after cfg_err(). */
typedef int (*srv_kw_fn)(struct cfg_ctx *ctx, struct server *s, char **args);

struct srv_kw {
	const char *name;
	srv_kw_fn fn;
	int default_ok;		/* allowed on default-server */
};

struct srv_kw_list {
	struct srv_kw_list *next;
	const struct srv_kw *kws;	/* terminated by { NULL } */
};

void srv_register_keywords(struct srv_kw_list *list);
/* cfg_err() for a server keyword: the message names the server
 * ("server 'web1': ...") or the default-server template. Returns -1. */
int srv_cfg_err(struct cfg_ctx *ctx, const struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct server *server_find(const struct proxy *be, const char *name);
/* Where to connect to srv: its address, with the port of local (the
 * address the client reached) when the server line has no port or a
 * "+N"/"-N" offset. 0, or -1 when a port is needed and local is NULL or
 * the port falls out of range. */
int server_dest_addr(const struct server *srv, const struct sockaddr *local,
		     struct sockaddr_storage *out);
/* The server of be whose id (puid) is id, or NULL. */
struct server *server_find_by_id(const struct proxy *be, int id);
/* Initialise s from the backend's default-server template, or from the
 * built-in defaults when defsrv is NULL (weight 1, up, no limits). Settings
 * are copied as a whole: a keyword that stores an allocated string in
 * struct server must add its duplication here and its release to
 * server_deinit(). */
void server_init_from_defaults(struct server *s, const struct server *defsrv);
/* Parse "server NAME ADDR [kw...]" (args[0] is "server") for backend px,
 * from a config file or the runtime API alike (ctx needs file, line and
 * errors; args need no NULL terminator): checks the name, the address,
 * every keyword, and that name and id are unique in px. Returns a new
 * server, not linked yet, or NULL after cfg_err(). */
struct server *server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args);
/* Link s at the end of px's servers. */
void server_attach(struct proxy *px, struct server *s);
/* Give s (puid 0) the lowest id that no server of px uses. */
void server_assign_id(struct proxy *px, struct server *s);
/* Free what s owns but not s (default-server templates are embedded). */
void server_deinit(struct server *s);
void server_free(struct server *s);

/* ---- state changes (server_state.c) ---------------------------------------
 * Each function takes s->state_lock, updates the atomics, and when the
 * usable set changed: rebuilds the balancer (lb_server_changed), serves or
 * requeues waiting sessions (backend_srv_up/backend_srv_down), applies
 * on-marked-down / on-marked-up, propagates to trackers, counts, and logs
 * HAProxy's lines ("Server be/s is DOWN, reason: ..., N active and M backup
 * servers left. ...", "backend be has no server available!"). Any thread.
 * Before srv_state_start() (configuration time) nothing is logged. */

/* Why a state changed, for the log line. Every field may be NULL / -1. */
struct srv_why {
	const char *reason;	/* "Layer4 connection problem", "Agent reports DOWN" */
	const char *info;	/* "Connection refused" */
	int duration_ms;	/* check duration, -1: not from a check */
	const char *by;		/* "health check", "agent", "cli", "tracked server" */
};

struct runtime;
/* Workers run: enable logging, cross-thread actions and slow start. */
void srv_state_start(struct runtime *rt);
void srv_set_down_cause(struct server *s, unsigned cause, const struct srv_why *why);
void srv_clear_down_cause(struct server *s, unsigned cause, const struct srv_why *why);
/* Set or clear SRV_ADMF_* flags; why may be NULL. */
void srv_set_admin(struct server *s, unsigned flags, const char *why);
void srv_clear_admin(struct server *s, unsigned flags, const char *why);
/* Runtime weight 0..256 (agent "N%", CLI "set weight"); slow start scales
 * it. Not logged, as in HAProxy: the caller reports it if it wants to. */
void srv_set_weight(struct server *s, unsigned weight, const char *why);
/* Close every session using s on every worker, with termination code who
 * ('D', 'U' or 'K', see session_kill_server). Returns the number of
 * workers asked (0 before srv_state_start). */
unsigned srv_shutdown_sessions(struct server *s, char who);
/* Counts for logs and stats: usable primaries and backups of be. */
void srv_count_usable(const struct proxy *be, unsigned *active, unsigned *backup);
/* Slow start: the effective weight elapsed_ms into a ramp of slowstart_ms
 * (at least 1 unless cur_weight is 0, cur_weight once the ramp is over). */
unsigned srv_slowstart_weight(unsigned cur_weight, uint64_t elapsed_ms, unsigned slowstart_ms);

#endif
