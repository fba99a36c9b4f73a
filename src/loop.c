/* loop.c - the per-thread event loop.
 *
 * One iteration: run due timers, run the tasks queued so far, sleep in
 * epoll_wait (not at all if a task is pending, else until the next timer),
 * read the clock once, dispatch the events. The clock is read right after
 * the wait so that I/O callbacks stamp activity with the time they woke up,
 * not the time the thread went to sleep.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "sluice/loop.h"

#define LOOP_DEFAULT_EVENTS	256
#define LOOP_MAX_EVENTS		1024	/* the batch lives on loop_run's stack */

uint64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void loop_update_time(struct loop *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	l->now_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	l->now_ms = l->now_us / 1000;
}

static void wake_cb(struct io *io, uint32_t events)
{
	struct loop *l = container_of(io, struct loop, wake_io);
	uint64_t val;

	(void)events;
	/* One read resets the counter however many wake-ups were posted; a
	 * failure (EAGAIN) only means another read already did. */
	if (read(l->wake_fd, &val, sizeof(val)) < 0)
		val = 0;
	if (l->on_wake)
		l->on_wake(l);
}

int loop_init(struct loop *l)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->epfd = l->wake_fd = -1;
	l->max_events = LOOP_DEFAULT_EVENTS;
	list_init(&l->tasks);
	loop_update_time(l);
	timer_wheel_init(&l->timers, l->now_ms);

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -1;
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0)
		goto fail;
	l->wake_io.fd = l->wake_fd;
	l->wake_io.cb = wake_cb;
	if (loop_add(l, &l->wake_io, EPOLLIN) < 0)
		goto fail;
	return 0;
fail:
	err = errno;
	loop_destroy(l);
	errno = err;
	return -1;
}

void loop_destroy(struct loop *l)
{
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->wake_fd = l->epfd = -1;
}

static int loop_ctl(struct loop *l, int op, struct io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.ptr = io };

	return epoll_ctl(l->epfd, op, io->fd, &ev);
}

int loop_add(struct loop *l, struct io *io, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_ADD, io, events);
}

int loop_mod(struct loop *l, struct io *io, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_MOD, io, events);
}

void loop_forget(struct loop *l, struct io *io)
{
	int i;

	for (i = l->batch_pos + 1; i < l->batch_len; i++)
		if (l->batch[i].data.ptr == io)
			l->batch[i].data.ptr = NULL;
}

int loop_del(struct loop *l, struct io *io)
{
	struct epoll_event ev = { 0 };	/* kernels before 2.6.9 want one */

	loop_forget(l, io);
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, &ev);
}

void loop_defer(struct loop *l, struct task *t)
{
	if (!list_linked(&t->node))
		list_add_tail(&l->tasks, &t->node);
}

void loop_cancel(struct task *t)
{
	list_del(&t->node);
}

void loop_wake(struct loop *l)
{
	uint64_t one = 1;
	ssize_t ret;

	/* EAGAIN means the counter is saturated: a wake-up is pending anyway. */
	do
		ret = write(l->wake_fd, &one, sizeof(one));
	while (ret < 0 && errno == EINTR);
}

/* Run the tasks queued so far. Tasks queued meanwhile (a task re-queueing
 * itself included) wait for the next round, after a pass through epoll. */
static void run_tasks(struct loop *l)
{
	struct list round;
	struct task *t;

	if (list_empty(&l->tasks))
		return;
	round.next = l->tasks.next;
	round.prev = l->tasks.prev;
	round.next->prev = &round;
	round.prev->next = &round;
	list_init(&l->tasks);
	while (!list_empty(&round)) {
		t = list_first(&round, struct task, node);
		list_del(&t->node);
		t->cb(t);
	}
}

static int sleep_timeout(const struct loop *l)
{
	int64_t next;

	if (!list_empty(&l->tasks))
		return 0;
	next = timer_wheel_next_ms(&l->timers);
	if (next < 0)
		return -1;
	return next > INT_MAX ? INT_MAX : (int)next;
}

static void dispatch(struct loop *l, struct epoll_event *ev, int n)
{
	struct io *io;

	l->batch = ev;
	l->batch_len = n;
	for (l->batch_pos = 0; l->batch_pos < n; l->batch_pos++) {
		io = ev[l->batch_pos].data.ptr;
		if (io)
			io->cb(io, ev[l->batch_pos].events);
	}
	l->batch = NULL;
	l->batch_len = l->batch_pos = 0;
}

void loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	unsigned max = l->max_events;
	int timeout, n;

	if (!max)
		max = LOOP_DEFAULT_EVENTS;
	if (max > LOOP_MAX_EVENTS)
		max = LOOP_MAX_EVENTS;
	loop_update_time(l);
	for (;;) {
		timer_wheel_advance(&l->timers, l->now_ms);
		run_tasks(l);
		if (l->stop && list_empty(&l->tasks))
			break;
		timeout = sleep_timeout(l);
		if (l->before_sleep)
			l->before_sleep(l);
		n = epoll_wait(l->epfd, ev, (int)max, timeout);
		if (l->after_sleep)
			l->after_sleep(l);
		loop_update_time(l);
		if (n > 0)
			dispatch(l, ev, n);
	}
}
