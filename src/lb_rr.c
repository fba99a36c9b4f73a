/* lb_rr.c - roundrobin and static-rr.
 *
 * Both walk a precomputed, interleaved weighted sequence of the usable
 * servers (weights divided by their gcd) with one shared atomic counter, so
 * N * sum(weights) picks give every server exactly N * weight sessions.
 * roundrobin follows the effective weight (eweight: slow start, "set
 * weight"); static-rr uses the configured weight (uweight) and only sees
 * eweight drop to 0 or come back, like HAProxy's static algorithms.
 * A server without a free slot is skipped; when every usable server is
 * full, pick() reports all_full so the caller queues.
 */
#include <stdlib.h>

#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/server.h"

struct rr_state {
	_Atomic uint64_t next;	/* sessions picked so far: the next slot */
	unsigned n;		/* servers */
	unsigned len;		/* slots in seq */
	struct server **srv;
	uint32_t *seq;		/* slot -> index into srv */
};

static unsigned rr_weight(const struct server *s, int is_static)
{
	return is_static ? s->uweight
			 : atomic_load_explicit(&s->eweight, memory_order_relaxed);
}

/* Build the state for the usable servers in tmp[0..n) (those with a
 * non-zero weight are kept). NULL when out of memory. */
static struct rr_state *rr_build(struct server **tmp, unsigned n, int is_static,
				 unsigned *w)
{
	struct rr_state *st;
	unsigned i, kept = 0, len;

	for (i = 0; i < n; i++) {
		unsigned wi = rr_weight(tmp[i], is_static);

		if (!wi)
			continue;
		tmp[kept] = tmp[i];
		w[kept++] = wi;
	}
	len = lb_seq_len(w, kept);
	st = calloc(1, sizeof(*st) + kept * sizeof(*st->srv) + len * sizeof(*st->seq));
	if (!st)
		return NULL;
	st->n = kept;
	st->len = len;
	st->srv = (struct server **)(st + 1);
	st->seq = (uint32_t *)(st->srv + kept);
	for (i = 0; i < kept; i++)
		st->srv[i] = tmp[i];
	if (lb_build_sequence(w, kept, st->seq) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

static void rr_update_common(struct proxy *be, int is_static)
{
	struct server **tmp = malloc((be->nb_srv + 1) * sizeof(*tmp));
	unsigned *w = malloc((be->nb_srv + 1) * sizeof(*w));
	struct rr_state *st = NULL, *old;
	unsigned n;
	int backups;

	if (tmp && w) {
		n = lb_collect(be, tmp, &backups);
		st = rr_build(tmp, n, is_static, w);
	}
	free(tmp);
	free(w);
	if (!st)
		return;	/* keep serving from the previous state */
	/* carry the position over so a rebuild does not favour slot 0 */
	old = atomic_load_explicit(&be->lb.state, memory_order_relaxed);
	if (old)
		st->next = atomic_load_explicit(&old->next, memory_order_relaxed);
	lb_publish(be, st, st->n, backups);
}

static void rr_update(struct proxy *be)
{
	rr_update_common(be, 0);
}

static void static_rr_update(struct proxy *be)
{
	rr_update_common(be, 1);
}

static int rr_eligible(const struct server *s, const struct server *avoid)
{
	return s != avoid && srv_is_usable(s) && srv_has_slot(s);
}

static struct server *rr_pick(struct proxy *be, uint64_t hash,
			      const struct server *avoid, int *all_full)
{
	struct rr_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);
	uint64_t pos;
	unsigned i, window;

	(void)hash;
	if (!st || !st->len)
		return NULL;
	pos = atomic_fetch_add_explicit(&st->next, 1, memory_order_relaxed) % st->len;
	/* A few following slots keep the weighted order when the chosen one is
	 * full; beyond that a linear scan bounds the cost at O(servers). */
	window = st->len < 2 * st->n + 8 ? st->len : 2 * st->n + 8;
	for (i = 0; i < window; i++) {
		struct server *s = st->srv[st->seq[(pos + i) % st->len]];

		if (rr_eligible(s, avoid))
			return s;
	}
	return lb_scan_free(st->srv, st->n, st->seq[pos], avoid, all_full);
}

const struct lb_ops lb_rr_ops = {
	.name = "roundrobin",
	.init = lb_init_state,
	.update = rr_update,
	.pick = rr_pick,
	.deinit = lb_free_state,
};

const struct lb_ops lb_static_rr_ops = {
	.name = "static-rr",
	.init = lb_init_state,
	.update = static_rr_update,
	.pick = rr_pick,
	.deinit = lb_free_state,
};
