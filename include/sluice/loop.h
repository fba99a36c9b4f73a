/* loop.h - the per-thread event loop (epoll + timer wheel + deferred tasks).
 *
 * Owns: one epoll instance, the thread's timer wheel, the list of tasks to
 * run after the current batch of events, and a wake-up eventfd through which
 * other threads can interrupt epoll_wait.
 * Threading: everything here belongs to one thread, except loop_wake(),
 * which any thread may call.
 *
 * File descriptors are registered edge-triggered once, with every event the
 * owner may ever want; the owner remembers readiness itself. That keeps
 * epoll_ctl out of the data path.
 */
#ifndef SLUICE_LOOP_H
#define SLUICE_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>
#include "list.h"
#include "timer.h"

struct io;
typedef void (*io_cb)(struct io *io, uint32_t events);

struct io {
	int fd;
	io_cb cb;
};

struct task;
typedef void (*task_cb)(struct task *t);

/* A deferred call: queued with loop_defer(), run once after the current
 * batch of I/O events. Used to continue work that hit a fairness budget. */
struct task {
	struct list node;
	task_cb cb;
};

struct loop {
	int epfd;
	int wake_fd;			/* eventfd written by loop_wake() */
	struct io wake_io;
	void (*on_wake)(struct loop *l);	/* called after a wake-up */
	void *owner;			/* the worker that runs this loop */
	uint64_t now_ms;		/* monotonic, refreshed once per iteration */
	uint64_t now_us;
	struct timer_wheel timers;
	struct list tasks;		/* deferred tasks */
	volatile int stop;
	unsigned max_events;		/* epoll batch, 256 by default */
	/* Called around epoll_wait (also when it will not block): a worker
	 * goes qsbr-offline while it may sleep. */
	void (*before_sleep)(struct loop *l);
	void (*after_sleep)(struct loop *l);
	/* The batch being dispatched, so that loop_del()/loop_forget() can
	 * drop the pending events of an io freed by an earlier callback. */
	struct epoll_event *batch;
	int batch_len;
	int batch_pos;
};

int loop_init(struct loop *l);			/* 0, or -1 with errno */
void loop_destroy(struct loop *l);
/* Register fd edge-triggered for events (EPOLLIN/EPOLLOUT/...; EPOLLET is
 * added). */
int loop_add(struct loop *l, struct io *io, uint32_t events);
int loop_mod(struct loop *l, struct io *io, uint32_t events);
/* loop_del() also drops io's events still pending in the current batch, so
 * io may be freed right away. loop_forget() does only that, for an owner that
 * close()s the fd itself (closing removes it from epoll). */
int loop_del(struct loop *l, struct io *io);
void loop_forget(struct loop *l, struct io *io);
void loop_defer(struct loop *l, struct task *t);	/* no-op if already queued */
void loop_cancel(struct task *t);
static inline void task_init(struct task *t, task_cb cb) { list_init(&t->node); t->cb = cb; }
/* Run until l->stop is set (from this thread) and no task is pending. */
void loop_run(struct loop *l);
void loop_update_time(struct loop *l);
/* Any thread: make the loop's epoll_wait return and call on_wake. */
void loop_wake(struct loop *l);

/* Wall clock helpers for logs. */
uint64_t clock_mono_ms(void);

#endif
