/* session.h - one proxied TCP connection, from accept to close.
 *
 * Owns: struct session and its life: accept, server assignment (through
 * backend.c), connect with retries and redispatch, the relay (relay.c),
 * timeouts and the final log line.
 * Threading: a session lives its whole life on the worker that accepted it.
 * Only its pendconn (while queued) is touched by other threads, under the
 * backend's qlock.
 */
#ifndef SLUICE_SESSION_H
#define SLUICE_SESSION_H

#include <stdint.h>
#include <netinet/in.h>
#include "list.h"
#include "loop.h"
#include "timer.h"

struct worker;
struct proxy;
struct server;
struct bind_conf;
struct buf;
struct pendconn;

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

enum sess_state {
	SS_INSPECT = 0,		/* reading a PROXY header / running content rules */
	SS_ASSIGN,		/* choosing a server */
	SS_QUEUED,		/* waiting for a server slot */
	SS_TURNAROUND,		/* waiting before a retry */
	SS_CONNECTING,
	SS_RELAY,
	SS_CLOSED,
};

/* s->flags: readiness and shutdown state of each side, relay modes */
#define SF_CLI_RD	0x0001	/* client fd may have data (edge seen) */
#define SF_CLI_WR	0x0002	/* client fd may accept data */
#define SF_CLI_EOF	0x0004	/* read 0 from client */
#define SF_CLI_SHUTW	0x0008	/* we shut our write side to the client */
#define SF_SRV_RD	0x0010
#define SF_SRV_WR	0x0020
#define SF_SRV_EOF	0x0040
#define SF_SRV_SHUTW	0x0080
#define SF_REQ_SPLICE	0x0100	/* client->server moves through a pipe */
#define SF_RES_SPLICE	0x0200
#define SF_CLI_ERR	0x0400
#define SF_SRV_ERR	0x0800
#define SF_SRV_SLOT	0x1000	/* holds a slot (cur_conns) on s->srv */
#define SF_BE_COUNTED	0x2000	/* counted in be->beconn */
#define SF_ASSIGNED	0x4000	/* server chosen by balancing or granted */
#define SF_CLI_RDHUP	0x8000	/* peer half-closed: EOF follows the data */
#define SF_SRV_RDHUP	0x10000
#define SF_PROXY_RCVD	0x20000	/* a PROXY header was received (fc_rcvd_proxy) */
#define SF_DST_SET	0x40000	/* dst_addr is known (PROXY header, or looked up once) */
#define SF_EXPECT_PROXY	0x80000	/* "expect-proxy layer4": read a PROXY header first */
#define SF_NOLOG	0x100000	/* no log line (tcp-request connection reject) */

struct relay_pipe;

struct session {
	struct worker *w;
	struct proxy *fe, *be;
	struct server *srv;
	struct bind_conf *bc;
	struct io cli;
	struct io sio;			/* server side */
	struct timer timer;
	struct task task;		/* continue work after a fairness budget */
	struct list node;		/* in worker->sessions */
	struct buf *req, *res;		/* client->server, server->client */
	struct relay_pipe *req_pipe, *res_pipe;
	struct pendconn *pend;		/* while queued */
	struct server *prev_srv;	/* server of the last failed attempt */
	struct var_store *vars;		/* set-var variables, NULL until the first */
	struct stk_track *track;	/* track-sc counters, NULL until the first */
	union sockaddr_any cli_addr;	/* the client, or the PROXY header's source */
	union sockaddr_any dst_addr;	/* with SF_DST_SET: the PROXY header's destination */
	uint64_t inspect_until;		/* monotonic ms: end of tcp-request inspect-delay */
	uint16_t rule_pos;		/* content rule to resume at (tcp_rules_run) */
	uint8_t inspect_phase;		/* inspect.c's step */
	uint64_t t_accept;		/* monotonic ms */
	uint64_t accept_date_ms;	/* wall clock ms */
	uint64_t cli_active, srv_active;	/* monotonic ms of last I/O per side */
	uint64_t bytes_in, bytes_out;
	int32_t t_queue, t_connect;	/* ms from accept; -1 not reached */
	uint32_t flags;
	uint8_t state;
	uint8_t retries_left;
	uint8_t redispatched;
	uint8_t conn_attempts;
	char term[2];			/* termination state for %ts */
};

/* Accept path: a new client connection on worker w. Takes ownership of fd. */
void session_accept(struct worker *w, struct bind_conf *bc, int fd,
		    const union sockaddr_any *addr, socklen_t alen);
/* A queued session got a slot on srv (called on its own thread). */
void session_granted(struct session *s, struct server *srv);
/* For inspect.c: end s now with termination code who/phase ("PR": a
 * rule rejected it, "cR": client timeout while inspecting, ...). */
void session_abort(struct session *s, char who, char phase);
/* For inspect.c: close without anything reaching the client (no FIN,
 * no reset that reaches it: TTL 1 then a reset), counted and logged "PR". */
void session_silent_drop(struct session *s);
/* For inspect.c: HAProxy's default "Connect from" line, when the
 * frontend uses the default log format (once the session is admitted). */
void session_log_connect(struct session *s);
/* For inspect.c: s->be is chosen (and s->srv maybe, by use-server, or
 * NULL): count, then assign a server and connect. */
void session_backend_chosen(struct session *s, struct server *forced);

/* Close every session of worker w that is connected or connecting to srv,
 * with termination code who ('D': server marked down, 'U': backup
 * replaced by an active server, 'K': killed by the admin). Runs on w's
 * thread. Returns how many were closed. */
unsigned session_kill_server(struct worker *w, const struct server *srv, char who);
/* Close every session of the worker (hard stop). */
void session_kill_all(struct worker *w);

#endif
