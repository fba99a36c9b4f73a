/* buf.c - relay buffers. */
#include <string.h>
#include "sluice/buf.h"
#include "sluice/pool.h"

struct buf *buf_alloc(struct pool *pool, uint32_t size)
{
	struct buf *b = pool_alloc(pool);

	if (b) {
		b->head = b->len = 0;
		b->size = size;
	}
	return b;
}

void buf_realign(struct buf *b)
{
	if (b->head && b->len)
		memmove(b->data, b->data + b->head, b->len);
	b->head = 0;
}
