/* buf.c - relay buffers. */
#include <string.h>
#include "sluice/buf.h"

void buf_realign(struct buf *b)
{
	if (b->head && b->len)
		memmove(b->data, b->data + b->head, b->len);
	b->head = 0;
}
