/* worker.h - worker threads and the process-wide runtime they share.
 *
 * Owns: struct runtime (the loaded config, the workers, the global
 * connection count and which threads have paused their listeners) and
 * struct worker (one thread: its event loop, pools, listening sockets,
 * sessions and an inbox for sessions handed over by other threads).
 * Threading: a worker's fields belong to its thread, except the inbox
 * and the call mailbox (guarded by inbox_lock) and loop_wake(). The
 * runtime's counters are atomics.
 *
 * Any thread may ask a worker to run a function on the worker's own thread
 * with worker_call(): that is how checks, state changes and the runtime API
 * reach timers, sockets and sessions that belong to one thread. Calls are
 * rare (state changes, not traffic), so each one is a small allocation.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "list.h"
#include "loop.h"
#include "pool.h"
#include "timer.h"

struct config;
struct listener;
struct runtime;

/* One listening socket polled by one worker. */
struct wlistener {
	struct io io;
	struct listener *li;
	struct worker *w;
	struct task more;	/* accept batch cut short: continue */
	int paused;		/* removed from epoll for back-pressure */
};

struct relay_pipe;
struct udp_worker;

/* Per-thread pool of empty pipes for splice(). */
struct pipe_pool {
	struct relay_pipe *free;	/* singly linked */
	unsigned nfree;
	unsigned pipe_size;		/* bytes a pipe holds */
};

struct worker {
	unsigned id;		/* 0-based */
	pthread_t thread;
	int cpu;		/* CPU pinned to, -1 if not pinned */
	struct runtime *rt;
	struct config *conf;
	struct loop loop;
	struct pool sess_pool;
	struct pool buf_pool;
	struct pool track_pool;	/* struct stk_track (stick_track.c) */
	struct pipe_pool pipes;
	struct wlistener *listeners;
	unsigned nlisteners;
	int listeners_paused;	/* 1 while back-pressure or EMFILE holds them */
	struct timer resume_timer;	/* EMFILE: retry accepting later */
	uint64_t last_emfile_log;

	pthread_mutex_t inbox_lock;
	struct list inbox;	/* struct pendconn granted by other threads */
	struct task inbox_task;

	struct list calls;	/* struct worker_call queued by worker_call() */
	unsigned pending_calls;	/* in calls, under inbox_lock */

	struct udp_worker *udp;	/* UDP sessions and listeners (udp.c), NULL if none */
	struct list sessions;	/* every live session of this thread */
	unsigned nb_sessions;
	int stopping;		/* soft stop: listeners closed, draining */
};

struct runtime {
	struct config *conf;
	struct worker *workers;
	unsigned nworkers;
	unsigned maxconn;		/* effective global maxconn */
	_Atomic unsigned actconn;	/* current sessions, all threads */
	_Atomic uint64_t paused_mask;	/* workers whose listeners wait for a slot */
	_Atomic unsigned pipes_used;	/* against maxpipes */
	unsigned maxpipes;
	_Atomic int stopping;
};

/* The global maxconn, which "set maxconn global" may change at run time. */
static inline unsigned rt_maxconn(const struct runtime *rt)
{
	return __atomic_load_n(&rt->maxconn, __ATOMIC_RELAXED);
}

int runtime_start(struct runtime *rt, struct config *conf, unsigned nworkers);
/* Ask every worker to stop now (hard) or after draining (soft). */
void runtime_stop(struct runtime *rt, int soft);
void runtime_join(struct runtime *rt);
void runtime_free(struct runtime *rt);

/* A slot freed somewhere: wake workers whose listeners are paused. */
void runtime_slot_freed(struct runtime *rt);

/* Run fn(w, arg) on w's thread, after its current batch of events (right
 * away in order if called from w's own thread: it is still deferred, never
 * nested). Any thread. Returns 0, or -1 when out of memory. Calls queued
 * on a worker that has stopped are run by runtime_free() with w->stopping
 * set, so a call that owns memory can release it. */
typedef void (*worker_call_fn)(struct worker *w, void *arg);
int worker_call(struct worker *w, worker_call_fn fn, void *arg);
/* worker_call() on every worker; returns how many calls were queued. */
unsigned runtime_call_all(struct runtime *rt, worker_call_fn fn, void *arg);
/* The worker running on the calling thread, or NULL (main thread). */
struct worker *worker_self(void);

#endif
