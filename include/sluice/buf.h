/* buf.h - relay buffers.
 *
 * Owns: one contiguous byte buffer of tune.bufsize bytes. A session holds a
 * buffer only while it holds data: buffers come from the worker's pool when a
 * read has something to store and go back as soon as they are drained.
 * Threading: a buffer belongs to the session's thread.
 */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stdint.h>

struct buf {
	uint32_t head;		/* offset of the first unsent byte */
	uint32_t len;		/* bytes held, from head */
	uint32_t size;		/* capacity of data[] */
	char data[];
};

static inline uint32_t buf_room(const struct buf *b) { return b->size - b->head - b->len; }
static inline char *buf_tail(struct buf *b) { return b->data + b->head + b->len; }
static inline char *buf_head(struct buf *b) { return b->data + b->head; }
static inline void buf_consume(struct buf *b, uint32_t n)
{
	b->head += n;
	b->len -= n;
	if (!b->len)
		b->head = 0;
}
struct pool;
/* An empty buffer of size bytes from pool (whose items hold at least
 * sizeof(struct buf) + size), or NULL. */
struct buf *buf_alloc(struct pool *pool, uint32_t size);
/* Move held bytes to the front so that the whole free space is at the tail. */
void buf_realign(struct buf *b);

#endif
