/* lb_lc.c - leastconn and first.
 *
 * leastconn: the usable server with the lowest (cur_conns + 1) / eweight
 * wins (compared cross-multiplied, no floats). Each pick starts its scan at
 * a rotating index, so servers with equal load take turns. The scan is
 * O(servers) with relaxed atomic loads only, which beats a shared tree for
 * the farm sizes an L4 balancer sees and needs no lock on the hot path.
 * first: servers in increasing id ("puid") order; the first one with a
 * free slot takes the session (maxconn 0 means it takes everything), so
 * the farm fills one server at a time and idle servers can be stopped.
 */
#include <stdlib.h>

#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/server.h"

struct lc_state {
	_Atomic unsigned rot;	/* where the next scan starts */
	unsigned n;
	struct server **srv;	/* leastconn: file order; first: puid order */
	unsigned *w;		/* eweight snapshot, same order */
};

static struct lc_state *lc_alloc(struct proxy *be)
{
	unsigned cap = be->nb_srv + 1;
	struct lc_state *st = calloc(1, sizeof(*st) + cap * (sizeof(*st->srv) + sizeof(*st->w)));

	if (!st)
		return NULL;
	st->srv = (struct server **)(st + 1);
	st->w = (unsigned *)(st->srv + cap);
	return st;
}

static void lc_update(struct proxy *be)
{
	struct lc_state *st = lc_alloc(be), *old;
	unsigned i;
	int backups;

	if (!st)
		return;	/* keep serving from the previous state */
	st->n = lb_collect(be, st->srv, &backups);
	for (i = 0; i < st->n; i++)
		st->w[i] = atomic_load_explicit(&st->srv[i]->eweight, memory_order_relaxed);
	old = atomic_load_explicit(&be->lb.state, memory_order_relaxed);
	if (old)
		st->rot = atomic_load_explicit(&old->rot, memory_order_relaxed);
	lb_publish(be, st, st->n, backups);
}

/* a carries less load than b: (ca+1)/wa < (cb+1)/wb */
static int lc_lighter(unsigned ca, unsigned wa, unsigned cb, unsigned wb)
{
	return ((uint64_t)ca + 1) * wb < ((uint64_t)cb + 1) * wa;
}

static struct server *lc_pick(struct proxy *be, uint64_t hash,
			      const struct server *avoid, int *all_full)
{
	struct lc_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);
	struct server *best = NULL;
	unsigned i, start, best_c = 0, best_w = 1, full = 0;

	(void)hash;
	if (!st || !st->n)
		return NULL;
	start = atomic_fetch_add_explicit(&st->rot, 1, memory_order_relaxed) % st->n;
	for (i = 0; i < st->n; i++) {
		unsigned k = (start + i) % st->n, c;
		struct server *s = st->srv[k];

		if (s == avoid || !st->w[k] || !srv_is_usable(s))
			continue;
		if (!srv_has_slot(s)) {
			full++;
			continue;
		}
		c = atomic_load_explicit(&s->cur_conns, memory_order_relaxed);
		if (!best || lc_lighter(c, st->w[k], best_c, best_w)) {
			best = s;
			best_c = c;
			best_w = st->w[k];
		}
	}
	if (!best && full)
		*all_full = 1;
	return best;
}

static int puid_cmp(const void *a, const void *b)
{
	const struct server *x = *(struct server *const *)a, *y = *(struct server *const *)b;

	if (x->puid != y->puid)
		return x->puid < y->puid ? -1 : 1;
	return x->lb_pos < y->lb_pos ? -1 : x->lb_pos > y->lb_pos;
}

static void first_update(struct proxy *be)
{
	struct lc_state *st = lc_alloc(be);
	int backups;

	if (!st)
		return;
	st->n = lb_collect(be, st->srv, &backups);
	qsort(st->srv, st->n, sizeof(*st->srv), puid_cmp);
	lb_publish(be, st, st->n, backups);
}

static struct server *first_pick(struct proxy *be, uint64_t hash,
				 const struct server *avoid, int *all_full)
{
	struct lc_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);

	(void)hash;
	if (!st || !st->n)
		return NULL;
	return lb_scan_free(st->srv, st->n, 0, avoid, all_full);
}

const struct lb_ops lb_leastconn_ops = {
	.name = "leastconn",
	.init = lb_init_state,
	.update = lc_update,
	.pick = lc_pick,
	.deinit = lb_free_state,
};

const struct lb_ops lb_first_ops = {
	.name = "first",
	.init = lb_init_state,
	.update = first_update,
	.pick = first_pick,
	.deinit = lb_free_state,
};
