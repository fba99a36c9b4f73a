/* server.h - backend servers: configuration and shared runtime state.
 *
 * Owns: struct server, the "server" and "default-server" keywords, and the
 * registry of server keywords (weight, maxconn, ...), which other subsystems
 * extend from their own files (checks register inter/rise/fall there).
 * Threading: configuration is read-only once workers run. Runtime state
 * (operational state, admin flags, effective weight, connection counts,
 * counters) is atomics, written by checks/CLI and read by balancers on any
 * thread. A state or weight change must call lb_server_changed() so the
 * backend's balancer rebuilds its tables. The pending queue is guarded by
 * the backend's qlock.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include "list.h"

struct proxy;
struct cfg_ctx;

/* Operational state, as health checks see it. */
enum srv_state {
	SRV_ST_DOWN = 0,
	SRV_ST_UP = 1,
};

/* Administrative flags (srv->admin). */
#define SRV_ADMF_MAINT	0x01	/* "disabled" or set to maint: no traffic at all */
#define SRV_ADMF_DRAIN	0x02	/* no new sessions from balancing */

/* Configuration flags (srv->flags). */
#define SRV_F_BACKUP	0x01
#define SRV_F_PORT_MAP	0x02	/* port is an offset from the client's dst port */
#define SRV_F_NO_PORT	0x04	/* no port: use the client's dst port */
#define SRV_F_TCPKA	0x08

#define SRV_MAX_WEIGHT	256

struct srv_counters {
	_Atomic uint64_t cum_sess;
	_Atomic uint64_t bytes_in, bytes_out;
	_Atomic uint64_t failed_conns;
	_Atomic uint64_t retries, redispatches;
	_Atomic uint64_t queue_timeouts;
	_Atomic unsigned max_conn;
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

	/* runtime, shared between threads */
	_Atomic int state;		/* enum srv_state */
	_Atomic unsigned admin;		/* SRV_ADMF_* */
	_Atomic unsigned eweight;	/* effective weight used by balancers */
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

/* Has a free connection slot (maxconn not reached). */
static inline int srv_has_slot(const struct server *s)
{
	return !s->maxconn ||
	       atomic_load_explicit(&s->cur_conns, memory_order_relaxed) < s->maxconn;
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
struct server *server_find(const struct proxy *be, const char *name);
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

#endif
