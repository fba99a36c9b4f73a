/* test_loop.c - the event loop: I/O dispatch, timers, tasks, wake-ups. */
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "ut.h"
#include "sluice/loop.h"

static struct loop L;

struct pipe_io {
	struct io io;
	int wfd;
	int reads;
	struct pipe_io *peer;	/* deleted by this one's callback */
};

static void pipe_open(struct pipe_io *p, io_cb cb)
{
	int fds[2];

	UT_EQ_INT(pipe2(fds, O_NONBLOCK), 0);
	p->io.fd = fds[0];
	p->io.cb = cb;
	p->wfd = fds[1];
	p->reads = 0;
	p->peer = NULL;
	UT_EQ_INT(loop_add(&L, &p->io, EPOLLIN), 0);
}

static void pipe_close(struct pipe_io *p)
{
	loop_del(&L, &p->io);
	close(p->io.fd);
	close(p->wfd);
}

static void drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void read_and_stop(struct io *io, uint32_t events)
{
	struct pipe_io *p = container_of(io, struct pipe_io, io);

	UT_CHECK(events & EPOLLIN);
	drain(io->fd);
	p->reads++;
	L.stop = 1;
}

static void test_pipe_dispatch(void)
{
	struct pipe_io p;

	pipe_open(&p, read_and_stop);
	UT_EQ_INT(write(p.wfd, "x", 1), 1);
	L.stop = 0;
	loop_run(&L);
	UT_EQ_INT(p.reads, 1);
	pipe_close(&p);
}

static uint64_t timer_fired_ms;

static void timer_stop_cb(struct timer *t)
{
	(void)t;
	timer_fired_ms = L.now_ms;
	L.stop = 1;
}

static void test_timer_fires(void)
{
	struct timer t;
	uint64_t start = clock_mono_ms(), deadline;

	loop_update_time(&L);
	deadline = L.now_ms + 30;
	timer_init(&t, timer_stop_cb);
	timer_arm(&L.timers, &t, deadline);
	L.stop = 0;
	loop_run(&L);
	UT_CHECK(timer_fired_ms >= deadline);
	UT_CHECK(clock_mono_ms() - start >= 30);
	UT_CHECK(clock_mono_ms() - start < 1000);
	UT_CHECK(!timer_armed(&t));
}

static int sleeps, wakes_from_sleep;
static int task_b_round;
static struct task task_a, task_b;

static void count_sleep(struct loop *l)
{
	(void)l;
	sleeps++;
}

static void count_wakeup(struct loop *l)
{
	(void)l;
	wakes_from_sleep++;
}

static void task_b_cb(struct task *t)
{
	(void)t;
	task_b_round = sleeps;
	L.stop = 1;
}

static void task_a_cb(struct task *t)
{
	(void)t;
	loop_defer(&L, &task_b);
	loop_defer(&L, &task_b);	/* already queued: no-op */
}

/* A task queued by a task runs in the next round, after an epoll pass. */
static void test_tasks(void)
{
	task_init(&task_a, task_a_cb);
	task_init(&task_b, task_b_cb);
	sleeps = wakes_from_sleep = 0;
	L.before_sleep = count_sleep;
	L.after_sleep = count_wakeup;
	loop_defer(&L, &task_a);
	L.stop = 0;
	loop_run(&L);
	UT_EQ_INT(task_b_round, 1);
	UT_EQ_INT(sleeps, 1);
	UT_EQ_INT(wakes_from_sleep, 1);
	UT_CHECK(!list_linked(&task_a.node) && !list_linked(&task_b.node));
	L.before_sleep = L.after_sleep = NULL;
}

static struct task greedy;
static int greedy_runs;

static void greedy_cb(struct task *t)
{
	greedy_runs++;
	loop_defer(&L, t);
}

static void stop_greedy(struct io *io, uint32_t events)
{
	read_and_stop(io, events);
	loop_cancel(&greedy);
}

static void test_no_starvation(void)
{
	struct pipe_io p;

	pipe_open(&p, stop_greedy);
	task_init(&greedy, greedy_cb);
	greedy_runs = 0;
	loop_defer(&L, &greedy);
	UT_EQ_INT(write(p.wfd, "x", 1), 1);
	L.stop = 0;
	alarm(5);
	loop_run(&L);
	alarm(0);
	UT_EQ_INT(p.reads, 1);
	UT_CHECK(greedy_runs >= 1 && greedy_runs <= 2);
	UT_CHECK(!list_linked(&greedy.node));
	pipe_close(&p);
}

/* Stop with a task pending: the task still runs before loop_run returns. */
static int last_runs;

static void last_cb(struct task *t)
{
	(void)t;
	last_runs++;
}

static void stop_then_defer(struct io *io, uint32_t events)
{
	static struct task last;

	read_and_stop(io, events);
	task_init(&last, last_cb);
	loop_defer(&L, &last);
}

static void test_stop_drains_tasks(void)
{
	struct pipe_io p;

	pipe_open(&p, stop_then_defer);
	UT_EQ_INT(write(p.wfd, "x", 1), 1);
	L.stop = 0;
	loop_run(&L);
	UT_EQ_INT(last_runs, 1);
	pipe_close(&p);
}

/* Two ready fds in one batch; whichever runs first deletes (and closes)
 * the other, whose pending event must then be dropped. */
static int kill_calls;

static void kill_peer(struct io *io, uint32_t events)
{
	struct pipe_io *p = container_of(io, struct pipe_io, io);

	(void)events;
	kill_calls++;
	drain(io->fd);
	if (p->peer) {
		pipe_close(p->peer);
		p->peer->io.cb = NULL;	/* would crash if still dispatched */
		p->peer->peer = NULL;
		p->peer = NULL;
	}
}

/* Runs once per round: re-queues itself once, then stops the loop, so the
 * loop makes exactly one epoll pass. */
static void two_rounds(struct task *t)
{
	static int round;

	if (round++ % 2 == 0)
		loop_defer(&L, t);
	else
		L.stop = 1;
}

static void test_del_in_batch(void)
{
	struct pipe_io a, b;
	struct task rounds;

	pipe_open(&a, kill_peer);
	pipe_open(&b, kill_peer);
	a.peer = &b;
	b.peer = &a;
	UT_EQ_INT(write(a.wfd, "x", 1), 1);
	UT_EQ_INT(write(b.wfd, "x", 1), 1);
	kill_calls = 0;
	task_init(&rounds, two_rounds);
	loop_defer(&L, &rounds);
	L.stop = 0;
	loop_run(&L);
	UT_EQ_INT(kill_calls, 1);
	UT_CHECK((a.io.cb == NULL) != (b.io.cb == NULL));
	pipe_close(a.io.cb ? &a : &b);
}

static void on_wake_stop(struct loop *l)
{
	l->stop = 1;
}

static void *waker(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	loop_wake(&L);
	return NULL;
}

static void test_wake(void)
{
	pthread_t th;
	uint64_t start = clock_mono_ms();

	L.on_wake = on_wake_stop;
	L.stop = 0;
	UT_EQ_INT(timer_wheel_next_ms(&L.timers), -1);	/* would block forever */
	alarm(5);
	UT_EQ_INT(pthread_create(&th, NULL, waker, NULL), 0);
	loop_run(&L);
	alarm(0);
	pthread_join(th, NULL);
	UT_CHECK(clock_mono_ms() - start >= 50);
	UT_EQ_INT(L.stop, 1);
	L.on_wake = NULL;
}

int main(void)
{
	alarm(10);
	UT_EQ_INT(loop_init(&L), 0);
	UT_EQ_INT(L.max_events, 256);
	UT_CHECK(L.now_ms > 0 && L.now_us / 1000 == L.now_ms);
	test_pipe_dispatch();
	test_timer_fires();
	test_tasks();
	test_no_starvation();
	test_stop_drains_tasks();
	test_del_in_batch();
	test_wake();
	loop_destroy(&L);
	UT_DONE();
}
