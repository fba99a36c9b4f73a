/* pool.h - per-thread pools of fixed-size objects.
 *
 * Owns: free objects of one size for one thread, so that the data path never
 * calls malloc once warm. Threading: a pool belongs to one thread.
 * In the sanitizer build (SLUICE_POOL_NOCACHE) every alloc/free goes straight
 * to malloc/free so that ASan sees use-after-free and leaks.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stddef.h>

struct pool {
	size_t size;		/* object size in bytes */
	void *free_list;	/* singly linked through the first word */
	unsigned nfree;		/* objects on free_list */
	unsigned max_free;	/* keep at most this many cached */
	size_t used;		/* objects handed out and not returned */
};

void pool_init(struct pool *p, size_t size, unsigned max_free);
void *pool_alloc(struct pool *p);	/* NULL when out of memory */
void pool_free(struct pool *p, void *obj);
void pool_flush(struct pool *p);	/* give cached objects back to malloc */

#endif
