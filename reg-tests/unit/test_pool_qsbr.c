/* test_pool_qsbr.c - object pools, buffer realignment, QSBR reclamation. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "ut.h"
#include "sluice/buf.h"
#include "sluice/pool.h"
#include "sluice/qsbr.h"

static void test_pool(void)
{
	struct pool p;
	void *objs[10], *again;
	int i;

	pool_init(&p, 3, 4);
	UT_CHECK(p.size >= sizeof(void *));
	for (i = 0; i < 10; i++) {
		objs[i] = pool_alloc(&p);
		UT_CHECK(objs[i] != NULL);
		memset(objs[i], 0xab, p.size);
	}
	UT_EQ_INT(p.used, 10);
	for (i = 0; i < 10; i++)
		pool_free(&p, objs[i]);
	pool_free(&p, NULL);
	UT_EQ_INT(p.used, 0);
#ifndef SLUICE_POOL_NOCACHE
	UT_EQ_INT(p.nfree, 4);		/* bounded by max_free */
	again = pool_alloc(&p);
	UT_CHECK(again == objs[3]);	/* last one cached comes back first */
	UT_EQ_INT(p.nfree, 3);
#else
	UT_EQ_INT(p.nfree, 0);
	again = pool_alloc(&p);
#endif
	UT_EQ_INT(p.used, 1);
	pool_free(&p, again);
	pool_flush(&p);
	UT_EQ_INT(p.nfree, 0);
	UT_CHECK(p.free_list == NULL);
	UT_EQ_INT(p.used, 0);

	pool_init(&p, 100, 0);	/* no cache at all */
	again = pool_alloc(&p);
	pool_free(&p, again);
	UT_EQ_INT(p.nfree, 0);
}

static void test_buf(void)
{
	struct buf *b = malloc(sizeof(*b) + 16);

	b->size = 16;
	b->head = 0;
	b->len = 0;
	memcpy(buf_tail(b), "hello world", 11);
	b->len = 11;
	buf_consume(b, 6);
	UT_EQ_INT(b->head, 6);
	UT_EQ_INT(buf_room(b), 16 - 11);
	buf_realign(b);
	UT_EQ_INT(b->head, 0);
	UT_EQ_INT(b->len, 5);
	UT_EQ_INT(buf_room(b), 11);
	UT_CHECK(!memcmp(buf_head(b), "world", 5));
	buf_consume(b, 5);
	UT_EQ_INT(b->head, 0);
	buf_realign(b);
	UT_EQ_INT(b->len, 0);
	UT_EQ_INT(buf_room(b), 16);
	free(b);
}

static int freed;

static void count_free(void *obj)
{
	freed++;
	free(obj);
}

static void test_qsbr_rules(void)
{
	freed = 0;
	qsbr_retire(malloc(8), count_free);
	UT_EQ_INT(freed, 1);		/* nobody registered: freed at once */

	qsbr_init(2);
	qsbr_retire(malloc(8), count_free);
	qsbr_reclaim();
	UT_EQ_INT(freed, 1);		/* nobody quiescent yet */
	qsbr_quiescent(0);
	qsbr_reclaim();
	UT_EQ_INT(freed, 1);		/* thread 1 may still hold it */
	qsbr_quiescent(1);
	qsbr_reclaim();
	UT_EQ_INT(freed, 2);

	/* Quiescent before the retirement does not count. */
	qsbr_retire(malloc(8), count_free);
	qsbr_reclaim();
	UT_EQ_INT(freed, 2);
	qsbr_quiescent(1);
	qsbr_quiescent(0);
	qsbr_reclaim();
	UT_EQ_INT(freed, 3);

	/* An offline thread blocks nothing, an online one blocks again. */
	qsbr_offline(1);
	qsbr_retire(malloc(8), count_free);
	qsbr_quiescent(0);
	qsbr_reclaim();
	UT_EQ_INT(freed, 4);
	qsbr_online(1);
	qsbr_retire(malloc(8), count_free);
	qsbr_retire(malloc(8), count_free);
	qsbr_quiescent(0);
	qsbr_reclaim();
	UT_EQ_INT(freed, 4);
	qsbr_quiescent(1);
	qsbr_retire(malloc(8), count_free);	/* after thread 1's quiescence */
	qsbr_quiescent(0);
	qsbr_reclaim();
	UT_EQ_INT(freed, 6);

	qsbr_shutdown();
	UT_EQ_INT(freed, 7);
	qsbr_retire(malloc(8), count_free);
	UT_EQ_INT(freed, 8);		/* after shutdown: at once again */
}

/* Stress: a reader follows a shared pointer while a writer keeps replacing
 * it and retiring the old object. A premature free shows as a poisoned
 * magic (or as a use-after-free under ASan). */
#define MAGIC 0x5eed5eedu
#define ROUNDS 200000

struct obj {
	unsigned magic;
	unsigned payload[15];
};

static _Atomic(struct obj *) shared;
static atomic_int done;
static atomic_long retired_count, freed_count;
static long bad_reads, reads;

static void obj_free(void *p)
{
	struct obj *o = p;

	o->magic = 0xdeadu;
	atomic_fetch_add(&freed_count, 1);
	free(o);
}

static struct obj *obj_new(unsigned v)
{
	struct obj *o = malloc(sizeof(*o));
	int i;

	o->magic = MAGIC;
	for (i = 0; i < 15; i++)
		o->payload[i] = v;
	return o;
}

static void *reader(void *arg)
{
	unsigned n = 0, i;
	struct obj *o;

	(void)arg;
	while (!atomic_load(&done)) {
		o = atomic_load_explicit(&shared, memory_order_acquire);
		for (i = 0; i < 15; i++)
			if (o->payload[i] != o->payload[0] || o->magic != MAGIC)
				bad_reads++;
		reads++;
		if (++n % 8 == 0)
			qsbr_quiescent(0);
		if (n % 4096 == 0) {	/* a short sleep, like epoll_wait */
			qsbr_offline(0);
			sched_yield();
			qsbr_online(0);
		}
	}
	qsbr_offline(0);
	return NULL;
}

static void *writer(void *arg)
{
	struct obj *old;
	unsigned i;

	(void)arg;
	for (i = 1; i <= ROUNDS; i++) {
		old = atomic_exchange_explicit(&shared, obj_new(i), memory_order_acq_rel);
		qsbr_retire(old, obj_free);
		atomic_fetch_add(&retired_count, 1);
		qsbr_quiescent(1);
		if (i % 16 == 0)
			qsbr_reclaim();
	}
	atomic_store(&done, 1);
	qsbr_offline(1);
	return NULL;
}

static void test_qsbr_threads(void)
{
	pthread_t r, w;

	atomic_store(&shared, obj_new(0));
	qsbr_init(2);
	pthread_create(&r, NULL, reader, NULL);
	pthread_create(&w, NULL, writer, NULL);
	pthread_join(w, NULL);
	UT_CHECK(atomic_load(&freed_count) > 0);	/* made progress while running */
	pthread_join(r, NULL);
	qsbr_reclaim();				/* both offline: all of it */
	UT_EQ_INT(atomic_load(&freed_count), ROUNDS);
	UT_EQ_INT(bad_reads, 0);
	UT_CHECK(reads > 0);
	qsbr_shutdown();
	free(atomic_load(&shared));
}

int main(void)
{
	test_pool();
	test_buf();
	test_qsbr_rules();
	test_qsbr_threads();
	UT_DONE();
}
