/* timer.c - per-thread hierarchical timer wheel.
 *
 * Level L (0..5) has 64 slots of 64^L ms each. A timer whose deadline is
 * E, armed when the wheel stands at `now`, goes to the lowest level whose
 * span holds E - now, in the slot named by E's bits at that level. A level-L
 * slot is "cascaded" (its timers re-inserted one level lower or more) at the
 * tick E rounded down to a multiple of 64^L; by then E - now fits a lower
 * level, so every timer reaches level 0 and fires at exactly its deadline
 * tick. Advancing jumps straight from one interesting tick (occupied level-0
 * slot or occupied slot about to cascade) to the next using the occupancy
 * bitmaps, so an idle gap costs a few bit operations, not one step per ms.
 *
 * Level-0 slot (now & 63) can never receive a timer due in the future (those
 * land 1..63 slots ahead), so it doubles as the "due" slot: a deadline that
 * has already passed is parked there and runs on the next advance.
 */
#include <stdint.h>
#include "sluice/timer.h"

#define SLOT_MASK	((uint64_t)TIMER_SLOTS - 1)
#define WHEEL_BITS	(TIMER_LEVELS * TIMER_SLOT_BITS)	/* 36 */
#define WHEEL_MAX_DELTA	((UINT64_C(1) << WHEEL_BITS) - 1)

static inline uint64_t bit(unsigned slot)
{
	return UINT64_C(1) << slot;
}

/* Rotate right so that bit `from` becomes bit 0: ctz() of the result is the
 * distance from slot `from` to the next occupied slot, wrapping around. */
static inline uint64_t rotr64(uint64_t x, unsigned from)
{
	from &= 63;
	return (x >> from) | (x << ((64 - from) & 63));
}

/* Move every element of src to dst (an uninitialised head); src ends empty. */
static void list_take_all(struct list *dst, struct list *src)
{
	if (list_empty(src)) {
		list_init(dst);
		return;
	}
	dst->next = src->next;
	dst->prev = src->prev;
	dst->next->prev = dst;
	dst->prev->next = dst;
	list_init(src);
}

/* Put every element of src in front of dst's elements; src ends empty. */
static void list_prepend_all(struct list *dst, struct list *src)
{
	if (list_empty(src))
		return;
	src->prev->next = dst->next;
	dst->next->prev = src->prev;
	dst->next = src->next;
	src->next->prev = dst;
	list_init(src);
}

static void wheel_insert(struct timer_wheel *w, struct timer *t)
{
	uint64_t exp = t->expire, delta;
	unsigned level, slot;

	if (exp <= w->now) {
		level = 0;
		slot = w->now & SLOT_MASK;
	} else {
		delta = exp - w->now;
		/* Beyond the wheel's reach: park the timer in the farthest slot;
		 * each cascade re-inserts it with its real deadline. */
		if (delta > WHEEL_MAX_DELTA) {
			delta = WHEEL_MAX_DELTA;
			exp = w->now + delta;
		}
		level = (63 - __builtin_clzll(delta)) / TIMER_SLOT_BITS;
		slot = (exp >> (level * TIMER_SLOT_BITS)) & SLOT_MASK;
	}
	list_add_tail(&w->slots[level][slot], &t->node);
	w->occupied[level] |= bit(slot);
}

/* head just became empty: clear its occupancy bit if it is one of the
 * wheel's slots (it may also be the local list of a slot being run). */
static void slot_emptied(struct timer_wheel *w, const struct list *head)
{
	uintptr_t base = (uintptr_t)&w->slots[0][0];
	uintptr_t p = (uintptr_t)head;
	size_t idx;

	if (p < base || p >= base + sizeof(w->slots))
		return;
	idx = (p - base) / sizeof(struct list);
	w->occupied[idx / TIMER_SLOTS] &= ~bit(idx % TIMER_SLOTS);
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms)
{
	unsigned l, s;

	w->now = now_ms;
	w->count = 0;
	for (l = 0; l < TIMER_LEVELS; l++) {
		w->occupied[l] = 0;
		for (s = 0; s < TIMER_SLOTS; s++)
			list_init(&w->slots[l][s]);
	}
}

void timer_init(struct timer *t, timer_cb cb)
{
	list_init(&t->node);
	t->expire = 0;
	t->cb = cb;
}

void timer_disarm(struct timer_wheel *w, struct timer *t)
{
	struct list *prev = t->node.prev;

	if (!timer_armed(t))
		return;
	list_del(&t->node);
	w->count--;
	if (prev->next == prev)
		slot_emptied(w, prev);
}

void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expire_ms)
{
	timer_disarm(w, t);
	t->expire = expire_ms;
	wheel_insert(w, t);
	w->count++;
}

/* Run level-0 slot `slot`. Its timers are moved to a local list first, so
 * that timers armed by the callbacks (even due ones) wait for the next pass
 * and a callback may disarm or free any sibling still waiting its turn. */
static void run_slot(struct timer_wheel *w, unsigned slot)
{
	struct list batch;
	struct timer *t;

	if (!(w->occupied[0] & bit(slot)))
		return;
	list_take_all(&batch, &w->slots[0][slot]);
	w->occupied[0] &= ~bit(slot);
	while (!list_empty(&batch)) {
		t = list_first(&batch, struct timer, node);
		list_del(&t->node);
		w->count--;
		t->cb(t);
	}
}

static void cascade_slot(struct timer_wheel *w, unsigned level, unsigned slot)
{
	struct list batch;
	struct timer *t;

	list_take_all(&batch, &w->slots[level][slot]);
	w->occupied[level] &= ~bit(slot);
	while (!list_empty(&batch)) {
		t = list_first(&batch, struct timer, node);
		list_del(&t->node);
		wheel_insert(w, t);
	}
}

/* w->now has just become `tick`: bring down every slot that starts here. */
static void cascade_at(struct timer_wheel *w, uint64_t tick)
{
	unsigned level, shift, slot;

	for (level = 1; level < TIMER_LEVELS; level++) {
		shift = level * TIMER_SLOT_BITS;
		if (tick & ((UINT64_C(1) << shift) - 1))
			break;
		slot = (tick >> shift) & SLOT_MASK;
		if (w->occupied[level] & bit(slot))
			cascade_slot(w, level, slot);
	}
}

/* The first tick after w->now at which something happens (a level-0 slot to
 * run or a slot to cascade), or limit if that comes first. */
static uint64_t next_event(const struct timer_wheel *w, uint64_t limit)
{
	uint64_t now = w->now, best = limit, occ, cur, tick;
	unsigned level, shift, dist;

	occ = w->occupied[0] & ~bit(now & SLOT_MASK);
	if (occ) {
		tick = now + 1 + __builtin_ctzll(rotr64(occ, (now + 1) & SLOT_MASK));
		if (tick < best)
			best = tick;
	}
	/* Cascades only happen on multiples of 64 ms. */
	if ((now | SLOT_MASK) + 1 >= best)
		return best;
	for (level = 1; level < TIMER_LEVELS; level++) {
		occ = w->occupied[level];
		if (!occ)
			continue;
		shift = level * TIMER_SLOT_BITS;
		cur = now >> shift;
		dist = 1 + __builtin_ctzll(rotr64(occ, (cur + 1) & SLOT_MASK));
		tick = (cur + dist) << shift;
		if (tick < best)
			best = tick;
	}
	return best;
}

/* Move due timers left in the old current slot (armed by callbacks of the
 * tick just run) into the new current slot so they run there. */
static void carry_due(struct timer_wheel *w, uint64_t from, uint64_t to)
{
	unsigned old = from & SLOT_MASK, new = to & SLOT_MASK;

	if (old == new || !(w->occupied[0] & bit(old)))
		return;
	list_prepend_all(&w->slots[0][new], &w->slots[0][old]);
	w->occupied[0] &= ~bit(old);
	w->occupied[0] |= bit(new);
}

void timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms)
{
	uint64_t tick;

	run_slot(w, w->now & SLOT_MASK);
	while (w->now < now_ms) {
		if (!w->count) {
			w->now = now_ms;
			break;
		}
		tick = next_event(w, now_ms);
		carry_due(w, w->now, tick);
		w->now = tick;
		cascade_at(w, tick);
		run_slot(w, tick & SLOT_MASK);
	}
}

int64_t timer_wheel_next_ms(const struct timer_wheel *w)
{
	uint64_t next;

	if (!w->count)
		return -1;
	if (w->occupied[0] & bit(w->now & SLOT_MASK))
		return 0;
	next = next_event(w, UINT64_MAX);
	/* Armed but in no slot: they sit in the batch being run, so are due. */
	if (next == UINT64_MAX)
		return 0;
	return (int64_t)(next - w->now);
}
