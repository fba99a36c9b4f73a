/* worker.c - worker threads: one event loop per thread, pinned to a CPU.
 *
 * The main thread creates the workers and then only waits for signals; it
 * never touches a worker's state, it asks through runtime_stop(), which sets
 * a flag and wakes the loops.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/backend.h"
#include "sluice/buf.h"
#include "sluice/check.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/qsbr.h"
#include "sluice/relay.h"
#include "sluice/session.h"
#include "sluice/stick.h"
#include "sluice/udp.h"
#include "sluice/worker.h"

enum { STOP_NONE = 0, STOP_SOFT = 1, STOP_HARD = 2 };

struct worker_call {
	struct list node;
	worker_call_fn fn;
	void *arg;
};

static __thread struct worker *current_worker;

struct worker *worker_self(void)
{
	return current_worker;
}

/* Take the whole mailbox in one step, then run it unlocked: a call may
 * queue further calls (they run on the next round). */
static void worker_run_calls(struct worker *w)
{
	struct list batch;
	struct list *pos, *tmp;

	pthread_mutex_lock(&w->inbox_lock);
	if (list_empty(&w->calls)) {
		pthread_mutex_unlock(&w->inbox_lock);
		return;
	}
	batch = w->calls;
	batch.next->prev = &batch;
	batch.prev->next = &batch;
	list_init(&w->calls);
	w->pending_calls = 0;
	pthread_mutex_unlock(&w->inbox_lock);
	list_for_each_safe(pos, tmp, &batch) {
		struct worker_call *c = list_entry(pos, struct worker_call, node);

		list_del(&c->node);
		c->fn(w, c->arg);
		free(c);
	}
}

int worker_call(struct worker *w, worker_call_fn fn, void *arg)
{
	struct worker_call *c = malloc(sizeof(*c));

	if (!c)
		return -1;
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&w->inbox_lock);
	list_add_tail(&w->calls, &c->node);
	w->pending_calls++;
	pthread_mutex_unlock(&w->inbox_lock);
	if (current_worker == w)
		loop_defer(&w->loop, &w->inbox_task);
	else
		loop_wake(&w->loop);
	return 0;
}

unsigned runtime_call_all(struct runtime *rt, worker_call_fn fn, void *arg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rt->nworkers; i++)
		if (worker_call(&rt->workers[i], fn, arg) == 0)
			n++;
	return n;
}

static void worker_apply_stop(struct worker *w)
{
	int how = atomic_load(&w->rt->stopping);

	if (how == STOP_NONE)
		return;
	if (!w->stopping) {
		w->stopping = 1;
		listener_worker_stop(w);
		udp_worker_stop(w);
	}
	if (how == STOP_HARD) {
		backend_process_inbox(w);
		session_kill_all(w);
	}
	if (!w->nb_sessions)
		w->loop.stop = 1;
}

static void worker_on_wake(struct loop *l)
{
	struct worker *w = l->owner;

	backend_process_inbox(w);
	worker_run_calls(w);
	listener_try_resume(w);
	worker_apply_stop(w);
}

static void inbox_task_cb(struct task *t)
{
	struct worker *w = container_of(t, struct worker, inbox_task);

	backend_process_inbox(w);
	worker_run_calls(w);
}

static void before_sleep(struct loop *l)
{
	qsbr_offline(((struct worker *)l->owner)->id);
}

static void after_sleep(struct loop *l)
{
	qsbr_online(((struct worker *)l->owner)->id);
}

static void pin_thread(struct worker *w)
{
	cpu_set_t set;

	if (w->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	current_worker = w;
	pin_thread(w);
	qsbr_online(w->id);
	loop_run(&w->loop);
	check_worker_stop(w);
	stick_worker_stop(w);
	udp_worker_free(w);
	/* Hard stop may leave granted sessions in the inbox: finish them. */
	backend_process_inbox(w);
	session_kill_all(w);
	qsbr_offline(w->id);
	return NULL;
}

static int worker_init(struct runtime *rt, struct worker *w, unsigned id)
{
	struct config *conf = rt->conf;

	w->id = id;
	w->rt = rt;
	w->conf = conf;
	w->cpu = -1;
	list_init(&w->sessions);
	list_init(&w->inbox);
	list_init(&w->calls);
	pthread_mutex_init(&w->inbox_lock, NULL);
	task_init(&w->inbox_task, inbox_task_cb);
	pool_init(&w->sess_pool, sizeof(struct session), 4096);
	pool_init(&w->buf_pool, sizeof(struct buf) + conf->global.bufsize, 256);
	pool_init(&w->track_pool, sizeof(struct stk_track), 1024);
	if (loop_init(&w->loop) < 0)
		return -1;
	w->loop.owner = w;
	w->loop.on_wake = worker_on_wake;
	w->loop.before_sleep = before_sleep;
	w->loop.after_sleep = after_sleep;
	if (listener_worker_init(w) < 0)
		return -1;
	return udp_worker_init(w);
}

/* CPU for thread i: cpu-map if given, else the i-th CPU of the affinity
 * mask we inherited (so "taskset -c 1 sluice" keeps every thread on CPU 1). */
static int cpu_for_thread(const struct config *conf, const cpu_set_t *mask, unsigned i)
{
	int n = CPU_COUNT(mask), k = 0;

	if (i < MAX_THREADS && conf->global.cpu_map[i] >= 0)
		return conf->global.cpu_map[i];
	if (!n)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, mask))
			continue;
		if (k++ == (int)(i % (unsigned)n))
			return cpu;
	}
	return -1;
}

int runtime_start(struct runtime *rt, struct config *conf, unsigned nworkers)
{
	cpu_set_t mask;

	rt->conf = conf;
	rt->nworkers = nworkers;
	rt->workers = calloc(nworkers, sizeof(*rt->workers));
	if (!rt->workers)
		return -1;
	if (sched_getaffinity(0, sizeof(mask), &mask) < 0)
		CPU_ZERO(&mask);
	qsbr_init(nworkers);
	for (unsigned i = 0; i < nworkers; i++) {
		if (worker_init(rt, &rt->workers[i], i) < 0)
			return -1;
		rt->workers[i].cpu = cpu_for_thread(conf, &mask, i);
	}
	for (unsigned i = 0; i < nworkers; i++) {
		if (pthread_create(&rt->workers[i].thread, NULL, worker_main, &rt->workers[i]))
			return -1;
	}
	return 0;
}

void runtime_stop(struct runtime *rt, int soft)
{
	int want = soft ? STOP_SOFT : STOP_HARD;
	int cur = atomic_load(&rt->stopping);

	if (cur < want)
		atomic_store(&rt->stopping, want);
	for (unsigned i = 0; i < rt->nworkers; i++)
		loop_wake(&rt->workers[i].loop);
}

void runtime_slot_freed(struct runtime *rt)
{
	uint64_t mask = atomic_load(&rt->paused_mask);

	for (unsigned i = 0; mask && i < rt->nworkers; i++) {
		if (mask & (1ull << i))
			loop_wake(&rt->workers[i].loop);
	}
}

void runtime_join(struct runtime *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++)
		pthread_join(rt->workers[i].thread, NULL);
}

void runtime_free(struct runtime *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct worker *w = &rt->workers[i];

		w->stopping = 1;
		worker_run_calls(w);	/* lets calls release what they own */
		pipe_pool_flush(w);
		pool_flush(&w->sess_pool);
		pool_flush(&w->buf_pool);
		pool_flush(&w->track_pool);
		loop_destroy(&w->loop);
		free(w->listeners);
		pthread_mutex_destroy(&w->inbox_lock);
	}
	free(rt->workers);
	rt->workers = NULL;
}
