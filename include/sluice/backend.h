/* backend.h - server assignment, queues and connection slots.
 *
 * Owns: choosing a server for a session (balancer, or a queue when every
 * server is full), the per-server and per-backend queues served in arrival
 * order, taking and releasing connection slots, and handing a freed slot to
 * the oldest waiting session even when it lives on another thread.
 * Threading: slots are atomics; queues are guarded by the backend's qlock;
 * a granted session is passed to its worker through the worker's inbox.
 */
#ifndef SLUICE_BACKEND_H
#define SLUICE_BACKEND_H

#include <stdint.h>
#include "list.h"

struct session;
struct server;
struct proxy;
struct worker;

enum pend_state { PEND_WAITING = 0, PEND_GRANTED };

struct pendconn {
	struct list node;	/* in a queue (qlock) or a worker's inbox */
	struct session *sess;
	struct worker *owner;
	struct server *target;	/* queued on this server, NULL: backend queue */
	struct server *granted;	/* slot given, with PEND_GRANTED */
	uint64_t seq;
	int state;
};

enum assign_result {
	ASSIGN_OK = 0,		/* s->srv set, slot held */
	ASSIGN_QUEUED,		/* s->pend set, wait for session_granted() */
	ASSIGN_NO_SERVER,	/* no usable server */
	ASSIGN_QUEUE_FULL,	/* maxqueue reached everywhere */
	ASSIGN_ERROR,		/* out of memory */
};

/* Choose a server for s (avoiding s->prev_srv when redispatching). */
enum assign_result backend_assign(struct session *s, int avoid_prev);
/* Use srv for s ("use-server"): take a slot, or wait in srv's queue. */
enum assign_result backend_assign_to(struct session *s, struct server *srv);
/* The slot itself, for sessions without a queue (UDP): take one unit of
 * srv's maxconn (and tell the balancer), 1 on success; give it back. */
int server_take_slot(struct server *srv);
void server_drop_slot(struct server *srv);
/* Take a slot on srv for s if one is free. 1 on success. */
int backend_take_slot(struct session *s, struct server *srv);
/* Release s's slot and give it to the oldest waiter, if any. */
void backend_release_slot(struct session *s);
/* Remove s from its queue. Returns 1 if it was still waiting (removed), 0 if
 * a slot was already granted (session_granted will follow). */
int backend_unqueue(struct session *s);
/* Worker inbox: process granted pendconns. */
void backend_process_inbox(struct worker *w);
/* srv became usable: give its free slots to waiters (any thread). */
void backend_srv_up(struct server *srv);
/* srv stopped taking traffic: move the sessions waiting on its own queue
 * to the backend's queue (keeping their turn) and serve them from the
 * other servers' free slots. Returns how many were moved ("requeued").
 * Any thread. */
unsigned backend_srv_down(struct server *srv);
/* Number of waiters for %sq/%bq. */
unsigned backend_queue_len(const struct proxy *be);

#endif
