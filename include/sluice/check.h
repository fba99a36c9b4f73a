/* check.h - active health checks, agent checks and passive observation.
 *
 * Owns: the server keywords of checks (check, inter, fastinter, downinter,
 * rise, fall, port, addr, slowstart, observe, error-limit, on-error,
 * on-marked-down, on-marked-up, agent-check, agent-port, agent-addr,
 * agent-inter, agent-send, check-send-proxy, check-ssl, check-sni, verify,
 * ca-file, track, and their "no-" forms), the global keywords
 * "spread-checks" and "ssl-server-verify", the runtime struct check of each
 * checked server, running checks (connect, TLS through OpenSSL, the
 * tcpcheck.h rules; a UDP server's health check runs in check_udp.c, see
 * check_udp.h), the rise/fall health counters, and what passive
 * observation ("observe layer4") does on errors.
 * What a result changes is done through server_state.c (srv_set_down_cause,
 * srv_set_admin, srv_set_weight): checks never touch the balancer directly.
 * check.c holds the keywords, the post-parse set-up and the pure rules
 * (health counter, intervals, state strings); check_io.c runs the checks.
 *
 * Threading: each check belongs to one worker (servers are spread over the
 * workers); its timer, socket, TLS state and health counters are touched
 * only on that worker's thread. Other threads reach a check through
 * worker_call() (observe layer4 errors, the runtime API). Configuration
 * (struct check_conf) is read-only once workers run.
 */
#ifndef SLUICE_CHECK_H
#define SLUICE_CHECK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "tcpcheck.h"
#include "timer.h"

struct server;
struct config;
struct runtime;
struct worker;
struct check;
struct udpcheck;

/* check_conf.flags */
#define CHK_CF_CHECK		0x0001	/* "check" */
#define CHK_CF_AGENT		0x0002	/* "agent-check" */
#define CHK_CF_SEND_PROXY	0x0004	/* "check-send-proxy" */
#define CHK_CF_SSL		0x0008	/* "check-ssl" */
#define CHK_CF_OBSERVE_L4	0x0010	/* "observe layer4" */
#define CHK_CF_DOWN_SHUTDOWN	0x0020	/* "on-marked-down shutdown-sessions" */
#define CHK_CF_UP_SHUTDOWN_BACKUP 0x0040 /* "on-marked-up shutdown-backup-sessions" */

enum chk_verify { CHK_VERIFY_DEFAULT = 0, CHK_VERIFY_NONE, CHK_VERIFY_REQUIRED };

enum chk_on_error {
	CHK_ON_ERROR_FASTINTER = 0,
	CHK_ON_ERROR_FAIL_CHECK,	/* default (HAProxy's), set by check_conf_defaults() */
	CHK_ON_ERROR_SUDDEN_DEATH,
	CHK_ON_ERROR_MARK_DOWN,
};

/* Check settings of one server, part of struct server and copied from
 * default-server; strings are duplicated by check_conf_dup(). Times in ms. */
struct check_conf {
	unsigned flags;			/* CHK_CF_* */
	unsigned inter;			/* default 2000 */
	unsigned fastinter;		/* 0: inter */
	unsigned downinter;		/* 0: inter */
	unsigned rise, fall;		/* defaults 2 and 3 */
	unsigned port;			/* "port", 0: the server's */
	struct sockaddr_storage addr;	/* "addr", ss_family 0: the server's */
	socklen_t addrlen;
	unsigned agent_port;		/* required with agent-check */
	struct sockaddr_storage agent_addr;	/* "agent-addr", family 0: check address */
	socklen_t agent_addrlen;
	unsigned agent_inter;		/* 0: inter */
	char *agent_send;		/* sent on connect, may hold any byte */
	size_t agent_send_len;
	char *sni;			/* "check-sni" */
	char *ca_file;			/* "ca-file" (for verify required) */
	int verify;			/* enum chk_verify */
	unsigned slowstart;		/* ms, 0: none */
	unsigned error_limit;		/* default 10 */
	int on_error;			/* enum chk_on_error */
	char *track;			/* "track [BACKEND/]SERVER", server lines only */
	struct udpcheck *udp;		/* the section's "udp-check" (check_udp.h), one
					 * reference; NULL: empty datagram, no expect */
};

/* Settings of a fresh server (inter 2000, rise 2, fall 3, error-limit 10). */
void check_conf_defaults(struct check_conf *c);
/* dst holds a byte copy of src: duplicate what src owns. Returns 0 or -1. */
int check_conf_dup(struct check_conf *dst, const struct check_conf *src);
void check_conf_free(struct check_conf *c);

/* What a check last saw, for logs, stats and the runtime API. */
struct check_report {
	enum check_code code;
	char info[128];		/* e.g. "Connection refused", may be empty */
	int duration_ms;	/* of the last completed check, -1: none */
	int health;		/* 0 .. rise+fall-1 */
	unsigned rise, fall;
	int enabled;		/* not disabled through the runtime API */
	uint64_t failures;	/* failed checks since start */
};

/* Runtime state of one check: created at post-parse (check.c), run by one
 * worker (check_io.c). Other subsystems use the functions below, not the
 * fields. Fields without _Atomic are the owner's, except rep, which any
 * thread may copy (check_get_report). */
struct check_run;	/* the run in progress (check_io.c) */
struct check_udp_run;	/* the same for a UDP server (check_udp.c) */
struct ssl_ctx_st;	/* OpenSSL's SSL_CTX */
struct check {
	struct server *srv;
	unsigned kind;			/* CHK_CF_CHECK or CHK_CF_AGENT */
	struct worker *w;		/* owner, set by check_start_all() */
	_Atomic int started;		/* w is set: other threads may call it */
	struct timer timer;		/* the next run, or the current run's deadline */
	struct check_run *run;		/* NULL while idle */
	struct check_udp_run *udp_run;	/* instead of run for UDP servers */
	struct ssl_ctx_st *ssl_ctx;	/* one reference, NULL: no TLS */
	uint64_t start_ms;		/* when the current or last run started */
	unsigned first_delay;		/* ms from start-up to the first run */
	int running;			/* owner's view of enabled: runs are scheduled */
	int force_fast;			/* on-error: the next run comes after fastinter */
	_Atomic int health;		/* 0 .. rise+fall-1 */
	_Atomic int enabled;		/* as the runtime API asked */
	_Atomic unsigned consec_errors;	/* "observe layer4": errors in a row */
	_Atomic int onerror_queued;	/* an on-error action waits for the owner */
	struct check_report rep;	/* written by the owner */
};

/* Post-parse (registered by check.c): resolve "track", check what needs
 * the whole configuration (agent-check without agent-port, verify required
 * without ca-file, track loops and targets without checks), and create the
 * struct check of every checked server (s->check, s->agent). Reports
 * FILE:LINE errors; returns the error count. After errors, or with
 * conf->check_only (-c), it frees the checks again before returning. */
int check_postparse(struct config *conf);

/* After the workers started: give each check to a worker and schedule its
 * first run, spread over the interval so that thousands of servers do not
 * fire at once. */
void check_start_all(struct runtime *rt);
/* On worker w's thread, once its loop ended: close w's checks' sockets and
 * TLS sessions. */
void check_worker_stop(struct worker *w);
/* Free every check of conf (after the workers were joined). */
void check_free_all(struct config *conf);

/* Copy what s's health check (agent 0) or agent check (agent 1) last saw.
 * Returns 0, or -1 when s has no such check. Any thread (a torn read of
 * info is harmless). */
int check_get_report(const struct server *s, int agent, struct check_report *out);
/* "UP", "DOWN", "UP 1/3" (going down), "DOWN 1/2" (going up), "NOLB",
 * "DRAIN", "MAINT", "MAINT (via be/s)", as HAProxy's stats show them. */
const char *check_state_str(const struct server *s, char *buf, size_t size);

/* Runtime API: stop or resume s's health (agent 0) or agent (agent 1)
 * check. A stopped check keeps its last result. Any thread. */
int check_set_enabled(struct server *s, int agent, int enabled);

/* Data path ("observe layer4"): a connection to s succeeded (ok 1) or
 * failed (ok 0). Called on any worker; costs one atomic unless the error
 * limit is reached, which hands the on-error action to the check's worker. */
void check_observe_slow(struct server *s, int ok);
static inline void check_observe(struct server *s, unsigned conf_flags, int ok)
{
	if (conf_flags & CHK_CF_OBSERVE_L4)
		check_observe_slow(s, ok);
}

/* ---- pure helpers (check.c), used by the engine and unit-tested ---- */

/* check_health_step() results */
#define CHK_HS_COUNTED	0x01	/* a failed check that counts (the server was not fully down) */
#define CHK_HS_CHANGED	0x02	/* health moved (worth a log-health-checks line) */
#define CHK_HS_DOWN	0x04	/* set SRV_DOWN_CHECK */
#define CHK_HS_UP	0x08	/* clear SRV_DOWN_CHECK */

/* HAProxy's rise/fall counter: apply one result (ok 1, failed 0) to
 * *health (0 .. rise+fall-1). marked_down: SRV_DOWN_CHECK is set. */
unsigned check_health_step(int *health, unsigned rise, unsigned fall, int ok, int marked_down);
/* Interval before the next run: downinter when fully down, fastinter in
 * transition, else inter (unset ones fall back to inter); agent checks use
 * agent-inter. */
unsigned check_interval(const struct check_conf *c, int agent, int health);
/* ms moved by a random amount within +/- pct percent (rnd: any random
 * 32-bit value); never below 1 for a non-zero ms. */
unsigned check_spread(unsigned ms, unsigned pct, uint32_t rnd);
/* HAProxy's check timeouts: with "timeout check" (to_check), connecting
 * may take min(timeout connect, inter) and the rest to_check; without,
 * the whole check has inter (*rest_ms 0: same deadline as the connect). */
void check_timeouts(unsigned to_connect, unsigned to_check, unsigned inter,
		    unsigned *conn_ms, unsigned *rest_ms);
/* First run of the k-th of total checks: spread evenly over inter. */
unsigned check_first_delay(unsigned k, unsigned total, unsigned inter);
/* check_state_str() for a given health (-1: s has no health check). */
const char *check_state_fmt(const struct server *s, int health, char *buf, size_t size);

#endif
