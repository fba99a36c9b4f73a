/* list.h - intrusive circular doubly-linked lists.
 *
 * Owns nothing: a list head is embedded in whatever structure links the
 * elements. Not thread-safe; callers hold whatever lock guards the list.
 */
#ifndef SLUICE_LIST_H
#define SLUICE_LIST_H

#include <stddef.h>

struct list {
	struct list *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list *l) { l->next = l->prev = l; }
static inline int list_empty(const struct list *l) { return l->next == l; }
/* An element that was list_init()ed or list_del()eted is not linked. */
static inline int list_linked(const struct list *l) { return l->next != l; }

static inline void list_add_tail(struct list *head, struct list *el)
{
	el->prev = head->prev;
	el->next = head;
	head->prev->next = el;
	head->prev = el;
}

static inline void list_add_head(struct list *head, struct list *el)
{
	el->next = head->next;
	el->prev = head;
	head->next->prev = el;
	head->next = el;
}

static inline void list_del(struct list *el)
{
	el->prev->next = el->next;
	el->next->prev = el->prev;
	el->next = el->prev = el;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first(head, type, member) container_of((head)->next, type, member)

#define list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
