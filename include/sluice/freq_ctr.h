/* freq_ctr.h - sliding-window event rate counters (conn_rate(10s), ...).
 *
 * Owns: struct freq_ctr and its arithmetic. A counter keeps the events of
 * the current period and of the previous one; the rate over the last
 * period is the current count plus the previous count weighted by the part
 * of the previous period that is still inside the window. This is the
 * usual "sliding window" estimate (HAProxy documents the same behaviour
 * for its *_rate counters): exact right after a period boundary, never
 * more than one period's worth of error, 12 bytes per counter.
 * Threading: none of its own. Callers serialise updates of one counter
 * (stick table entries hold a small lock around their data).
 *
 * Time is the low 32 bits of a millisecond monotonic clock; differences
 * are computed modulo 2^32, so periods up to 24 days work across the wrap.
 * A reader whose clock is a little behind the last writer's (two threads
 * that read the clock at different moments) sees an elapsed time of 0.
 */
#ifndef SLUICE_FREQ_CTR_H
#define SLUICE_FREQ_CTR_H

#include <stdint.h>

struct freq_ctr {
	uint32_t curr_tick;	/* start of the current period (ms) */
	uint32_t curr_ctr;	/* events since curr_tick */
	uint32_t prev_ctr;	/* events in the period before */
};

/* ms since the current period began; 0 if the caller's clock is behind. */
static inline uint32_t freq_ctr_elapsed(const struct freq_ctr *f, uint32_t now)
{
	int32_t d = (int32_t)(now - f->curr_tick);

	return d > 0 ? (uint32_t)d : 0;
}

/* Move the window to now: whole periods that passed shift the counts. */
static inline void freq_ctr_rotate(struct freq_ctr *f, uint32_t period, uint32_t now)
{
	uint32_t elapsed;

	if (!f->curr_tick && !f->curr_ctr && !f->prev_ctr) {
		f->curr_tick = now;	/* never used: start a window now */
		return;
	}
	elapsed = freq_ctr_elapsed(f, now);
	if (!period || elapsed < period)
		return;
	f->prev_ctr = elapsed >= 2 * (uint64_t)period ? 0 : f->curr_ctr;
	f->curr_ctr = 0;
	f->curr_tick += elapsed - elapsed % period;
}

/* Count n events at time now (saturates instead of wrapping). */
static inline void freq_ctr_add(struct freq_ctr *f, uint32_t period, uint32_t now, uint32_t n)
{
	freq_ctr_rotate(f, period, now);
	f->curr_ctr = f->curr_ctr > UINT32_MAX - n ? UINT32_MAX : f->curr_ctr + n;
}

/* Events over the last period as seen at time now (does not modify f).
 * The previous period's share is rounded up, so a limit is never
 * under-estimated. */
static inline uint32_t freq_ctr_read(const struct freq_ctr *f, uint32_t period, uint32_t now)
{
	uint32_t elapsed = freq_ctr_elapsed(f, now), curr = f->curr_ctr, prev = f->prev_ctr;
	uint64_t rate;

	if (!period)
		return curr;
	if (elapsed >= 2 * (uint64_t)period)
		return 0;
	if (elapsed >= period) {
		prev = curr;
		curr = 0;
		elapsed -= period;
	}
	rate = curr + ((uint64_t)prev * (period - elapsed) + period - 1) / period;
	return rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
}

static inline void freq_ctr_clear(struct freq_ctr *f)
{
	f->curr_tick = 0;
	f->curr_ctr = 0;
	f->prev_ctr = 0;
}

#endif
