/* pool.c - per-thread pools of fixed-size objects.
 *
 * A free object stores the link to the next one in its first word, so the
 * cache costs no memory of its own. The cache is bounded by max_free so
 * that a burst does not pin its peak memory forever.
 */
#include <stdlib.h>
#include "sluice/pool.h"

void pool_init(struct pool *p, size_t size, unsigned max_free)
{
	/* Room for the free-list link. */
	p->size = size < sizeof(void *) ? sizeof(void *) : size;
	p->free_list = NULL;
	p->nfree = 0;
	p->max_free = max_free;
	p->used = 0;
}

#ifdef SLUICE_POOL_NOCACHE

void *pool_alloc(struct pool *p)
{
	void *obj = malloc(p->size);

	if (obj)
		p->used++;
	return obj;
}

void pool_free(struct pool *p, void *obj)
{
	if (!obj)
		return;
	p->used--;
	free(obj);
}

#else

void *pool_alloc(struct pool *p)
{
	void *obj = p->free_list;

	if (obj) {
		p->free_list = *(void **)obj;
		p->nfree--;
	} else {
		obj = malloc(p->size);
		if (!obj)
			return NULL;
	}
	p->used++;
	return obj;
}

void pool_free(struct pool *p, void *obj)
{
	if (!obj)
		return;
	p->used--;
	if (p->nfree >= p->max_free) {
		free(obj);
		return;
	}
	*(void **)obj = p->free_list;
	p->free_list = obj;
	p->nfree++;
}

#endif

void pool_flush(struct pool *p)
{
	void *obj;

	while ((obj = p->free_list)) {
		p->free_list = *(void **)obj;
		free(obj);
	}
	p->nfree = 0;
}
