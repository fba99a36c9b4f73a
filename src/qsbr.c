/* qsbr.c - quiescent-state based reclamation.
 *
 * A global epoch counts retirements: retiring an object records the current
 * epoch R and bumps the counter. A thread announces the epoch it read at
 * each quiescent point, or QSBR_OFFLINE while it sleeps. A thread whose
 * announcement is still <= R has not passed a quiescent point since the
 * object was retired and may hold it; once every registered thread announces
 * more than R (offline counts as infinitely far), nobody can.
 *
 * Orderings: the epoch is read with acquire so that a thread announcing an
 * epoch > R also sees the writer's unlink that preceded the retirement (it
 * cannot pick up the old pointer afterwards); the announcement is a release
 * so that everything the thread did with the object happens before the
 * reclaimer, which reads it with acquire, frees it. Coming back online is a
 * store followed by loads of shared pointers, racing with a reclaimer that
 * reads the announcement after an unlink: both sides need a full fence.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include "sluice/global.h"
#include "sluice/qsbr.h"

#define QSBR_OFFLINE UINT64_MAX

/* An epoch alone on its cache line: no false sharing. */
struct padded_epoch {
	_Alignas(64) _Atomic uint64_t epoch;
};

struct retired {
	struct retired *next;
	void *obj;
	void (*free_fn)(void *);
	uint64_t epoch;
};

/* Read by every thread at every iteration, written only by retirements. */
static struct padded_epoch global_epoch = { 1 };
static struct padded_epoch threads[MAX_THREADS];
static _Atomic unsigned nregistered;

static pthread_mutex_t retire_lock = PTHREAD_MUTEX_INITIALIZER;
static struct retired *retire_head;
static struct retired **retire_tail = &retire_head;

void qsbr_init(unsigned nthreads)
{
	unsigned i;

	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	/* A thread counts as online and not yet quiescent until it says
	 * otherwise: it may read shared objects from its very first step. */
	for (i = 0; i < MAX_THREADS; i++)
		atomic_store_explicit(&threads[i].epoch, i < nthreads ? 0 : QSBR_OFFLINE,
				      memory_order_relaxed);
	atomic_store_explicit(&nregistered, nthreads, memory_order_release);
}

void qsbr_quiescent(unsigned tid)
{
	uint64_t e = atomic_load_explicit(&global_epoch.epoch, memory_order_acquire);

	if (tid < MAX_THREADS)
		atomic_store_explicit(&threads[tid].epoch, e, memory_order_release);
}

void qsbr_offline(unsigned tid)
{
	if (tid < MAX_THREADS)
		atomic_store_explicit(&threads[tid].epoch, QSBR_OFFLINE,
				      memory_order_release);
}

void qsbr_online(unsigned tid)
{
	uint64_t e = atomic_load_explicit(&global_epoch.epoch, memory_order_acquire);

	if (tid >= MAX_THREADS)
		return;
	atomic_store_explicit(&threads[tid].epoch, e, memory_order_relaxed);
	/* Publish the announcement before reading any shared pointer. */
	atomic_thread_fence(memory_order_seq_cst);
}

void qsbr_retire(void *obj, void (*free_fn)(void *))
{
	struct retired *r;

	if (!atomic_load_explicit(&nregistered, memory_order_acquire)) {
		free_fn(obj);
		return;
	}
	r = malloc(sizeof(*r));
	/* Out of memory: leaking the object is the only safe choice, since
	 * waiting here could wait for the calling thread itself. */
	if (!r)
		return;
	r->next = NULL;
	r->obj = obj;
	r->free_fn = free_fn;
	pthread_mutex_lock(&retire_lock);
	r->epoch = atomic_fetch_add_explicit(&global_epoch.epoch, 1, memory_order_seq_cst);
	*retire_tail = r;
	retire_tail = &r->next;
	pthread_mutex_unlock(&retire_lock);
	/* Nobody has to remember to reclaim: each retirement frees what the
	 * previous ones left once it became safe, so at most the latest
	 * generation stays pending. */
	qsbr_reclaim();
}

/* The oldest epoch a registered thread may still be reading in. */
static uint64_t oldest_announced(void)
{
	unsigned i, n = atomic_load_explicit(&nregistered, memory_order_acquire);
	uint64_t min = QSBR_OFFLINE, e;

	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < n; i++) {
		e = atomic_load_explicit(&threads[i].epoch, memory_order_acquire);
		if (e < min)
			min = e;
	}
	return min;
}

static void free_retired(struct retired *r)
{
	struct retired *next;

	for (; r; r = next) {
		next = r->next;
		r->free_fn(r->obj);
		free(r);
	}
}

void qsbr_reclaim(void)
{
	struct retired *done, *last = NULL, *r;
	uint64_t oldest;

	pthread_mutex_lock(&retire_lock);
	oldest = oldest_announced();
	/* Epochs grow along the list: the safe entries are a prefix. */
	for (r = retire_head; r && r->epoch < oldest; r = r->next)
		last = r;
	if (!last) {
		pthread_mutex_unlock(&retire_lock);
		return;
	}
	done = retire_head;
	retire_head = last->next;
	if (!retire_head)
		retire_tail = &retire_head;
	last->next = NULL;
	pthread_mutex_unlock(&retire_lock);
	/* Outside the lock: a free_fn may retire something itself. */
	free_retired(done);
}

void qsbr_shutdown(void)
{
	struct retired *all;

	pthread_mutex_lock(&retire_lock);
	all = retire_head;
	retire_head = NULL;
	retire_tail = &retire_head;
	atomic_store_explicit(&nregistered, 0, memory_order_release);
	pthread_mutex_unlock(&retire_lock);
	free_retired(all);
}
