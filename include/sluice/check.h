/* check.h - active health checks, agent checks and passive observation.
 *
 * Owns: the server keywords of checks (check, inter, fastinter, downinter,
 * rise, fall, port, addr, slowstart, observe, error-limit, on-error,
 * on-marked-down, on-marked-up, agent-check, agent-port, agent-addr,
 * agent-inter, agent-send, check-send-proxy, check-ssl, check-sni, verify,
 * ca-file, track, and their "no-" forms), the global keywords
 * "spread-checks" and "ssl-server-verify", the runtime struct check of each
 * checked server, running checks (connect, TLS through OpenSSL, the
 * tcpcheck.h rules), the rise/fall health counters, and what passive
 * observation ("observe layer4") does on errors.
 * What a result changes is done through server_state.c (srv_set_down_cause,
 * srv_set_admin, srv_set_weight): checks never touch the balancer directly.
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

struct server;
struct config;
struct runtime;
struct worker;
struct check;

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
	CHK_ON_ERROR_FASTINTER = 0,	/* default */
	CHK_ON_ERROR_FAIL_CHECK,
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

/* Post-parse (registered by check.c): resolve "track", check what needs
 * the whole configuration (agent-check without agent-port, verify required
 * without ca-file, track loops and targets without checks), and create the
 * struct check of every checked server (s->check, s->agent). Reports
 * FILE:LINE errors; returns the error count. */
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

#endif
