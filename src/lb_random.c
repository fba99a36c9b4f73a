/* lb_random.c - random with power-of-N choices ("balance random(N)").
 *
 * Each pick draws N servers (default 2) from a table where each usable
 * server appears in proportion to its eweight, and keeps the least loaded
 * (cur_conns / eweight, cross-multiplied) among those with a free slot.
 * Draws come from a per-thread xorshift64* generator: no shared cache line
 * is written on the hot path. When every draw lands on a full (or avoided)
 * server, a scan from a random start finds a free one or reports all_full.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/server.h"

struct rnd_state {
	unsigned n;
	unsigned len;		/* slots in seq */
	struct server **srv;
	unsigned *w;		/* eweight snapshot */
	uint32_t *seq;		/* weighted table: slot -> index into srv */
};

static _Thread_local uint64_t rnd_x;

/* Seed from the thread's identity and the clock, through splitmix64 so
 * neighbouring seeds give unrelated streams. */
static uint64_t rnd_seed(void)
{
	struct timespec ts;
	uint64_t z;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	z = (uint64_t)(uintptr_t)&rnd_x ^ (uint64_t)pthread_self() ^
	    ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec;
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_next(void)
{
	uint64_t x = rnd_x ? rnd_x : rnd_seed();

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rnd_x = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static struct rnd_state *rnd_build(struct server **tmp, unsigned n, unsigned *w)
{
	struct rnd_state *st;
	unsigned i, len = lb_seq_len(w, n);

	st = calloc(1, sizeof(*st) + n * (sizeof(*st->srv) + sizeof(*st->w)) +
		       len * sizeof(*st->seq));
	if (!st)
		return NULL;
	st->n = n;
	st->len = len;
	st->srv = (struct server **)(st + 1);
	st->w = (unsigned *)(st->srv + n);
	st->seq = (uint32_t *)(st->w + n);
	for (i = 0; i < n; i++) {
		st->srv[i] = tmp[i];
		st->w[i] = w[i];
	}
	if (lb_build_sequence(w, n, st->seq) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

static void rnd_update(struct proxy *be)
{
	struct server **tmp = malloc((be->nb_srv + 1) * sizeof(*tmp));
	unsigned *w = malloc((be->nb_srv + 1) * sizeof(*w));
	struct rnd_state *st = NULL;
	unsigned i, n;
	int backups = 0;

	if (tmp && w) {
		n = lb_collect(be, tmp, &backups);
		for (i = 0; i < n; i++)
			w[i] = atomic_load_explicit(&tmp[i]->eweight, memory_order_relaxed);
		st = rnd_build(tmp, n, w);
	}
	free(tmp);
	free(w);
	if (st)
		lb_publish(be, st, st->n, backups);
}

static struct server *rnd_pick(struct proxy *be, uint64_t hash,
			       const struct server *avoid, int *all_full)
{
	struct rnd_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);
	struct server *best = NULL;
	unsigned d, draws = be->lb.random_draws ? be->lb.random_draws : 2;
	unsigned best_c = 0, best_w = 1;

	(void)hash;
	if (!st || !st->len)
		return NULL;
	for (d = 0; d < draws; d++) {
		unsigned k = st->seq[rnd_next() % st->len], c;
		struct server *s = st->srv[k];

		if (s == avoid || !srv_is_usable(s) || !srv_has_slot(s))
			continue;
		c = atomic_load_explicit(&s->cur_conns, memory_order_relaxed);
		/* c / w[k] < best_c / best_w */
		if (!best || (uint64_t)c * best_w < (uint64_t)best_c * st->w[k]) {
			best = s;
			best_c = c;
			best_w = st->w[k];
		}
	}
	if (best)
		return best;
	return lb_scan_free(st->srv, st->n, rnd_next() % st->n, avoid, all_full);
}

const struct lb_ops lb_random_ops = {
	.name = "random",
	.init = lb_init_state,
	.update = rnd_update,
	.pick = rnd_pick,
	.deinit = lb_free_state,
};
