/* lb_hash.c - source and hash: map-based and consistent (bounded load).
 *
 * The caller hashes the key (client address for "source", the sample for
 * "hash <expr>") with lb_hash_bytes() and passes it to pick().
 *
 * map-based: an interleaved table where each usable server appears uweight
 * times (weights divided by their gcd); slot = hash % size. Like HAProxy's
 * it is static: runtime weight changes other than to/from 0 are ignored,
 * because any change of the table size moves almost every key.
 *
 * consistent: a Maglev-style lookup table of prime size M chosen from the
 * number of configured servers (never from the usable count, which would
 * reshuffle everything when a server leaves). Each server walks its own
 * permutation of the slots, (offset + p * skip) mod M, both derived from a
 * hash of "puid:name" so the table is the same across reloads and hosts.
 * Servers visit their p-th slot at the "time" -ln(1 - (p+1)/(M+1)) / w
 * (an exponential clock of rate eweight), and a slot belongs to the first
 * server that visits it. The owner of a slot is thus a pure function of
 * the servers present (as with rendezvous hashing): when a server leaves,
 * exactly its slots move, and a server's share follows its weight.
 * Maglev's original round-robin fill balances slightly better but also
 * moves a small share of the other servers' keys on each change; we
 * prefer strict stability (spread measured within ~2% on 10 servers).
 * Bounded load ("hash-balance-factor F"): a server is acceptable when
 * cur_conns + 1 <= ceil(F/100 * (total + 1) * w / W), the average load
 * scaled by its weight share (equal weights: F/100 * (total + 1) / n).
 * From the hashed slot, pick() walks the table to the next acceptable
 * server; one always exists since the bound is above the average.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/server.h"

/* ------------------------------------------------------------------ */
/* map-based                                                          */

struct map_state {
	unsigned n, len;
	struct server **srv;
	uint32_t *seq;		/* slot -> index into srv */
};

static struct map_state *map_build(struct server **tmp, unsigned n, unsigned *w)
{
	struct map_state *st;
	unsigned i, kept = 0, len;

	for (i = 0; i < n; i++) {
		if (!tmp[i]->uweight)
			continue;
		w[kept] = tmp[i]->uweight;
		tmp[kept++] = tmp[i];
	}
	len = lb_seq_len(w, kept);
	st = calloc(1, sizeof(*st) + kept * sizeof(*st->srv) + len * sizeof(*st->seq));
	if (!st)
		return NULL;
	st->n = kept;
	st->len = len;
	st->srv = (struct server **)(st + 1);
	st->seq = (uint32_t *)(st->srv + kept);
	memcpy(st->srv, tmp, kept * sizeof(*tmp));
	if (lb_build_sequence(w, kept, st->seq) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

static void map_update(struct proxy *be)
{
	struct server **tmp = malloc((be->nb_srv + 1) * sizeof(*tmp));
	unsigned *w = malloc((be->nb_srv + 1) * sizeof(*w));
	struct map_state *st = NULL;
	int backups = 0;

	if (tmp && w)
		st = map_build(tmp, lb_collect(be, tmp, &backups), w);
	free(tmp);
	free(w);
	if (st)
		lb_publish(be, st, st->n, backups);
}

/* A hashing algorithm returns its server even when full: the caller queues
 * on it, which keeps the affinity. avoid moves to the next distinct usable
 * server of the table. */
static struct server *map_pick(struct proxy *be, uint64_t hash,
			       const struct server *avoid, int *all_full)
{
	struct map_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);
	struct server *first;
	unsigned i, pos;

	(void)all_full;
	if (!st || !st->len)
		return NULL;
	pos = hash % st->len;
	first = st->srv[st->seq[pos]];
	if (first != avoid && srv_is_usable(first))
		return first;
	for (i = 1; i < st->len; i++) {
		struct server *s = st->srv[st->seq[(pos + i) % st->len]];

		if (s != first && s != avoid && srv_is_usable(s))
			return s;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* consistent: table construction                                     */

struct chash_state {
	unsigned n;
	uint32_t m;		/* table size, prime */
	uint64_t wsum;		/* sum of w */
	struct server **srv;
	unsigned *w;		/* eweight snapshot */
	uint32_t *table;	/* slot -> index into srv */
};

/* Big enough for ~100 slots per configured server, so shares stay within
 * a few percent of the weights. */
static uint32_t chash_size(unsigned nb_srv)
{
	static const uint32_t primes[] = {
		65537, 131071, 262147, 524287, 1048573, 2097143, 4194301
	};
	unsigned i;

	for (i = 0; i < CFG_ARRAY_SIZE(primes) - 1; i++)
		if (primes[i] >= (uint64_t)nb_srv * 100)
			break;
	return primes[i];
}

/* log2 in 32.32 fixed point, from a table of log2(1 + k/2^LOG_BITS)
 * interpolated linearly: monotonic, exact to ~2^-24, no libm needed. */
#define LOG_BITS 11
static uint64_t log_tab[(1 << LOG_BITS) + 1];

/* log2(y) for y in [1,2) given in Q31, by repeated squaring */
static uint64_t log2_mantissa_slow(uint64_t y)
{
	uint64_t r = 0;
	int b;

	for (b = 31; b >= 0; b--) {
		y = (y * y) >> 31;
		if (y >= (2ULL << 31)) {
			y >>= 1;
			r |= 1ULL << b;
		}
	}
	return r;
}

__attribute__((constructor)) static void log_tab_init(void)
{
	unsigned k;

	for (k = 0; k < (1u << LOG_BITS); k++)
		log_tab[k] = log2_mantissa_slow((1ULL << 31) + ((uint64_t)k << (31 - LOG_BITS)));
	log_tab[1u << LOG_BITS] = 1ULL << 32;
}

static uint64_t log2_q32(uint32_t x)
{
	int e = 31 - __builtin_clz(x);
	uint32_t frac = (uint32_t)(((uint64_t)x << (31 - e)) & 0x7fffffff);
	uint32_t k = frac >> (31 - LOG_BITS);
	uint64_t rem = frac & ((1u << (31 - LOG_BITS)) - 1);

	return ((uint64_t)e << 32) + log_tab[k] +
	       (((log_tab[k + 1] - log_tab[k]) * rem) >> (31 - LOG_BITS));
}

/* Offset and skip of a server's permutation, from its id and name. */
static void chash_perm(const struct server *s, uint32_t m, uint32_t *offset, uint32_t *skip)
{
	char key[256];
	int len = snprintf(key, sizeof(key), "%d:%s", s->puid, s->name ? s->name : "");
	uint64_t h1, h2;

	if (len < 0 || (size_t)len >= sizeof(key))
		len = sizeof(key) - 1;
	h1 = lb_hash_bytes(key, len);
	h2 = lb_hash_bytes(&h1, sizeof(h1));
	*offset = h1 % m;
	*skip = h2 % (m - 1) + 1;
}

/* Per-build scratch. t[p] = log2(M+1) - log2(M-p) is the visit time of
 * permutation position p for weight 1; best[j] the time of slot j's owner.
 * A server of weight w visits position p at t[p] / w. */
struct chash_build {
	uint64_t *t;
	uint64_t *best;
	uint64_t kt;		/* latest slot time seen (as kt / kw), 0: none */
	unsigned kw;
};

/* The latest owner time over all slots: no later visit can win a slot. */
static void chash_update_limit(struct chash_build *b, const struct chash_state *st)
{
	uint32_t j;

	b->kt = 0;
	b->kw = 1;
	for (j = 0; j < st->m; j++) {
		unsigned w = st->w[st->table[j]];

		if (b->best[j] * b->kw > b->kt * w) {
			b->kt = b->best[j];
			b->kw = w;
		}
	}
}

/* Walk server i's permutation; it takes each slot it visits earlier than
 * the current owner (ties stay with the lower index, visited first). */
static void chash_sweep(struct chash_build *b, struct chash_state *st, uint32_t i,
			uint32_t slot, uint32_t skip)
{
	uint64_t wi = st->w[i];
	uint32_t p;

	for (p = 0; p < st->m; p++) {
		uint64_t tp = b->t[p];
		uint32_t o = st->table[slot];

		if (b->kt && tp * b->kw >= b->kt * wi)
			break;	/* later than every owner: nothing left to win */
		if (o == UINT32_MAX || tp * st->w[o] < b->best[slot] * wi) {
			st->table[slot] = i;
			b->best[slot] = tp;
		}
		slot += skip;
		if (slot >= st->m)
			slot -= st->m;
	}
}

/* Owner of a slot = the server that visits it first, a pure function of
 * the set of servers. Sweeping server by server with an early stop costs
 * about M * ln(M) * log2(n) steps. */
static int chash_build_table(struct chash_state *st)
{
	struct chash_build b = { 0 };
	uint32_t i, j, offset, skip;
	uint64_t log_m1 = log2_q32(st->m + 1);

	b.t = malloc((size_t)st->m * sizeof(*b.t));
	b.best = malloc((size_t)st->m * sizeof(*b.best));
	if (!b.t || !b.best) {
		free(b.t);
		free(b.best);
		return -1;
	}
	for (j = 0; j < st->m; j++) {
		b.t[j] = log_m1 - log2_q32(st->m - j);
		st->table[j] = UINT32_MAX;
	}
	for (i = 0; i < st->n; i++) {
		chash_perm(st->srv[i], st->m, &offset, &skip);
		chash_sweep(&b, st, i, offset, skip);
		if (((i + 1) & i) == 0 || i + 1 == st->n)	/* 1, 2, 4, 8, ... */
			chash_update_limit(&b, st);
	}
	free(b.t);
	free(b.best);
	return 0;
}

static struct chash_state *chash_alloc(struct proxy *be, uint32_t m)
{
	unsigned cap = be->nb_srv + 1;
	struct chash_state *st;

	st = calloc(1, sizeof(*st) + cap * (sizeof(*st->srv) + sizeof(*st->w)) +
		       (size_t)m * sizeof(*st->table));
	if (!st)
		return NULL;
	st->m = m;
	st->srv = (struct server **)(st + 1);
	st->w = (unsigned *)(st->srv + cap);
	st->table = (uint32_t *)(st->w + cap);
	return st;
}

static void chash_update(struct proxy *be)
{
	struct chash_state *st = chash_alloc(be, chash_size(be->nb_srv));
	unsigned i;
	int backups;

	if (!st)
		return;	/* keep serving from the previous state */
	st->n = lb_collect(be, st->srv, &backups);
	for (i = 0; i < st->n; i++) {
		st->w[i] = atomic_load_explicit(&st->srv[i]->eweight, memory_order_relaxed);
		st->wsum += st->w[i];
	}
	if (st->n && chash_build_table(st) < 0) {
		free(st);
		return;
	}
	lb_publish(be, st, st->n, backups);
}

/* ------------------------------------------------------------------ */
/* consistent: lookup                                                 */

static uint64_t chash_total_conns(const struct chash_state *st)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < st->n; i++)
		total += atomic_load_explicit(&st->srv[i]->cur_conns, memory_order_relaxed);
	return total;
}

/* cur + 1 <= ceil(F * (total + 1) * w / (100 * W))  <=>
 * cur * 100 * W < F * (total + 1) * w */
static int chash_under_bound(const struct chash_state *st, unsigned k,
			     unsigned factor, uint64_t total)
{
	unsigned cur = atomic_load_explicit(&st->srv[k]->cur_conns, memory_order_relaxed);
	unsigned __int128 lhs = (unsigned __int128)cur * 100 * st->wsum;
	unsigned __int128 rhs = (unsigned __int128)factor * (total + 1) * st->w[k];

	return lhs < rhs;
}

static struct server *chash_pick(struct proxy *be, uint64_t hash,
				 const struct server *avoid, int *all_full)
{
	struct chash_state *st = atomic_load_explicit(&be->lb.state, memory_order_acquire);
	unsigned factor = be->lb.hash_balance_factor;
	uint32_t pos, i, rejected = UINT32_MAX;
	uint64_t total = 0;

	(void)all_full;
	if (!st || !st->n)
		return NULL;
	pos = hash % st->m;
	if (factor)
		total = chash_total_conns(st);
	for (i = 0; i < st->m; i++) {
		uint32_t k = st->table[(pos + i) % st->m];
		struct server *s = st->srv[k];

		if (k == rejected)
			continue;	/* runs of one owner: decided already */
		if (s != avoid && srv_is_usable(s) &&
		    (!factor || chash_under_bound(st, k, factor, total)))
			return s;
		rejected = k;
	}
	/* only reachable through races on the counters: keep the affinity */
	if (factor) {
		struct server *s = st->srv[st->table[pos]];

		if (s != avoid && srv_is_usable(s))
			return s;
	}
	return NULL;
}

const struct lb_ops lb_map_hash_ops = {
	.name = "map-based hash",
	.init = lb_init_state,
	.update = map_update,
	.pick = map_pick,
	.deinit = lb_free_state,
};

const struct lb_ops lb_chash_ops = {
	.name = "consistent hash",
	.init = lb_init_state,
	.update = chash_update,
	.pick = chash_pick,
	.deinit = lb_free_state,
};
