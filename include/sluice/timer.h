/* timer.h - per-thread hierarchical timer wheel.
 *
 * Owns: the wheel's slots and the set of armed timers of one thread.
 * Threading: a wheel and its timers belong to one thread; never touch them
 * from another thread.
 *
 * Resolution is one millisecond. Arming, re-arming and disarming are O(1);
 * advancing costs O(expired timers) plus an amortised O(1) cascade per timer
 * per level, so nothing is scanned. Sessions use "lazy" timers: activity only
 * records a timestamp, and the callback re-arms itself if the deadline moved.
 */
#ifndef SLUICE_TIMER_H
#define SLUICE_TIMER_H

#include <stdint.h>
#include "list.h"

#define TIMER_LEVELS     6	/* 6 levels of 64 slots: 2^36 ms, over two years */
#define TIMER_SLOT_BITS  6
#define TIMER_SLOTS      (1u << TIMER_SLOT_BITS)

struct timer;
typedef void (*timer_cb)(struct timer *t);

struct timer {
	struct list node;	/* in a wheel slot when armed, self-linked when not */
	uint64_t expire;	/* absolute ms on the wheel's clock */
	timer_cb cb;
};

struct timer_wheel {
	uint64_t now;				/* last time advanced to (ms) */
	uint64_t occupied[TIMER_LEVELS];	/* bit i set: slot i non-empty */
	struct list slots[TIMER_LEVELS][TIMER_SLOTS];
	unsigned count;				/* armed timers */
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms);
void timer_init(struct timer *t, timer_cb cb);
/* Arm (or move) t to fire at expire_ms; a past deadline fires on the next advance. */
void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expire_ms);
void timer_disarm(struct timer_wheel *w, struct timer *t);
static inline int timer_armed(const struct timer *t) { return list_linked(&t->node); }
/* Move the clock to now_ms and run the callback of every timer whose deadline
 * passed. A callback may arm, disarm or free any timer, including itself. */
void timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms);
/* Milliseconds until the earliest deadline may be due (a lower bound that is
 * never later than the real one), or -1 when nothing is armed. */
int64_t timer_wheel_next_ms(const struct timer_wheel *w);

#endif
