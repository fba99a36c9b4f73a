/* test_lb.c - balancing algorithms, on proxies and servers built by hand. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/qsbr.h"
#include "sluice/server.h"
#include "ut.h"

#define MAX_SRV 16

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */

static struct server *add_server(struct proxy *px, unsigned weight, unsigned flags)
{
	struct server *s = calloc(1, sizeof(*s));
	char name[32];

	snprintf(name, sizeof(name), "s%u", px->nb_srv);
	s->name = strdup(name);
	s->px = px;
	s->puid = px->nb_srv + 1;
	s->flags = flags;
	s->uweight = weight;
	atomic_store(&s->eweight, weight);
	atomic_store(&s->state, SRV_ST_UP);
	list_init(&s->pendq);
	if (px->srv_last)
		px->srv_last->next = s;
	else
		px->srv = s;
	px->srv_last = s;
	px->nb_srv++;
	return s;
}

static struct proxy *new_backend(enum lb_algo algo)
{
	struct proxy *px = calloc(1, sizeof(*px));

	px->name = "be";
	px->cap = PX_CAP_BE;
	px->lb.algo = algo;
	px->lb.random_draws = 2;
	pthread_mutex_init(&px->lb.lock, NULL);
	pthread_mutex_init(&px->qlock, NULL);
	return px;
}

/* n servers with the given weights (NULL: all 1), balancer initialised */
static struct proxy *backend_with(enum lb_algo algo, unsigned n, const unsigned *w,
				  struct server **out)
{
	struct proxy *px = new_backend(algo);
	unsigned i;

	for (i = 0; i < n; i++) {
		struct server *s = add_server(px, w ? w[i] : 1, 0);

		if (out)
			out[i] = s;
	}
	return px;
}

static int init(struct proxy *px)
{
	return lb_init_backend(px);
}

static void free_backend(struct proxy *px)
{
	struct server *s, *next;

	if (px->lb.ops)
		px->lb.ops->deinit(px);
	for (s = px->srv; s; s = next) {
		next = s->next;
		free(s->name);
		free(s);
	}
	pthread_mutex_destroy(&px->lb.lock);
	pthread_mutex_destroy(&px->qlock);
	free(px);
}

static void set_state(struct server *s, int state)
{
	atomic_store(&s->state, state);
	lb_server_changed(s);
}

static struct server *pick(struct proxy *px, uint64_t hash, const struct server *avoid)
{
	int full;

	return lb_pick(px, hash, avoid, &full);
}

static uint64_t key_hash(unsigned k)
{
	return lb_hash_bytes(&k, sizeof(k));
}

/* ------------------------------------------------------------------ */
/* Hash function                                                      */

static void test_hash_bytes(void)
{
	unsigned i, b, flips = 0, samples = 0;
	char a1[] = "a", a2[2] = { 'a', 0 };

	UT_CHECK(lb_hash_bytes("hello", 5) == lb_hash_bytes("hello", 5));
	UT_CHECK(lb_hash_bytes("hello", 5) != lb_hash_bytes("hellp", 5));
	UT_CHECK(lb_hash_bytes(a1, 1) != lb_hash_bytes(a2, 2));
	UT_CHECK(lb_hash_bytes("", 0) != 0);
	/* avalanche: one flipped input bit flips about half the output */
	for (i = 0; i < 2000; i++) {
		unsigned char buf[13];

		for (b = 0; b < sizeof(buf); b++)
			buf[b] = (unsigned char)(i * 31 + b * 7);
		uint64_t h0 = lb_hash_bytes(buf, sizeof(buf));

		buf[i % sizeof(buf)] ^= 1u << (i % 8);
		flips += __builtin_popcountll(h0 ^ lb_hash_bytes(buf, sizeof(buf)));
		samples++;
	}
	printf("hash: average output bits flipped per input bit: %.2f / 64\n",
	       (double)flips / samples);
	UT_CHECK(flips > samples * 30 && flips < samples * 34);
}

/* ------------------------------------------------------------------ */
/* roundrobin / static-rr                                             */

static unsigned srv_index(struct server **srv, unsigned n, const struct server *s)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (srv[i] == s)
			return i;
	return n;
}

/* Exact spread over whole cycles, and smoothness: at every prefix of a
 * cycle, each server's count is within 1 of its weighted share. */
static void check_rr_cycle(enum lb_algo algo, unsigned n, const unsigned *w, unsigned cycles)
{
	struct server *srv[MAX_SRV];
	struct proxy *px = backend_with(algo, n, w, srv);
	unsigned cnt[MAX_SRV] = { 0 }, i, k, len = 0, g = 0, smooth_ok = 1;

	UT_EQ_INT(init(px), 0);
	for (i = 0; i < n; i++) {
		unsigned a = w[i], b = g;

		while (b) {
			unsigned t = a % b;

			a = b;
			b = t;
		}
		g = a;
	}
	for (i = 0; i < n; i++)
		len += w[i] / g;
	for (k = 1; k <= len * cycles; k++) {
		unsigned idx = srv_index(srv, n, pick(px, 0, NULL));

		if (idx >= n)
			break;
		cnt[idx]++;
		for (i = 0; i < n && k <= len; i++) {
			double share = (double)k * (w[i] / g) / len;

			if (cnt[i] > share + 1 || cnt[i] + 1 < share)
				smooth_ok = 0;
		}
	}
	for (i = 0; i < n; i++)
		UT_EQ_INT(cnt[i], cycles * (w[i] / g));
	UT_CHECK(smooth_ok);
	free_backend(px);
}

static void test_roundrobin(void)
{
	static const unsigned eq[] = { 1, 1, 1 }, w1[] = { 3, 1, 2 },
		w2[] = { 5, 3, 2, 1 }, w3[] = { 10, 20, 30 }, w4[] = { 256, 1 };
	struct server *srv[3];
	struct proxy *px;
	struct server *a, *b, *c;

	check_rr_cycle(LB_ALGO_ROUNDROBIN, 3, eq, 1000);
	check_rr_cycle(LB_ALGO_ROUNDROBIN, 3, w1, 500);
	check_rr_cycle(LB_ALGO_ROUNDROBIN, 4, w2, 200);
	check_rr_cycle(LB_ALGO_ROUNDROBIN, 3, w3, 300);	/* gcd 10 */
	check_rr_cycle(LB_ALGO_ROUNDROBIN, 2, w4, 20);
	check_rr_cycle(LB_ALGO_STATIC_RR, 4, w2, 200);

	/* equal weights interleave: A B C A B C */
	px = backend_with(LB_ALGO_ROUNDROBIN, 3, eq, srv);
	init(px);
	a = pick(px, 0, NULL);
	b = pick(px, 0, NULL);
	c = pick(px, 0, NULL);
	UT_CHECK(a != b && b != c && a != c);
	UT_CHECK(pick(px, 0, NULL) == a);
	/* avoid skips a server */
	UT_CHECK(pick(px, 0, b) != b);
	free_backend(px);
}

/* roundrobin follows eweight, static-rr keeps uweight */
static void test_static_rr(void)
{
	static const unsigned w[] = { 2, 1 };
	enum lb_algo algos[] = { LB_ALGO_ROUNDROBIN, LB_ALGO_STATIC_RR };
	unsigned expect0[] = { 450, 600 }, a;	/* 1:1 vs 2:1 */

	for (a = 0; a < 2; a++) {
		struct server *srv[2];
		struct proxy *px = backend_with(algos[a], 2, w, srv);
		unsigned i, cnt0 = 0;

		init(px);
		atomic_store(&srv[0]->eweight, 1);	/* e.g. slow start */
		lb_server_changed(srv[0]);
		for (i = 0; i < 900; i++)
			cnt0 += pick(px, 0, NULL) == srv[0];
		UT_EQ_INT(cnt0, expect0[a]);
		/* weight 0 removes it from both */
		atomic_store(&srv[0]->eweight, 0);
		lb_server_changed(srv[0]);
		for (i = 0, cnt0 = 0; i < 100; i++)
			cnt0 += pick(px, 0, NULL) == srv[0];
		UT_EQ_INT(cnt0, 0);
		free_backend(px);
	}
}

/* ------------------------------------------------------------------ */
/* leastconn / first                                                  */

static void test_leastconn(void)
{
	static const unsigned w[] = { 2, 1 };
	struct server *srv[3], *s;
	struct proxy *px = backend_with(LB_ALGO_LEASTCONN, 3, NULL, srv);
	unsigned cnt[3] = { 0 }, i;

	UT_EQ_INT(init(px), 0);
	atomic_store(&srv[0]->cur_conns, 5);
	atomic_store(&srv[2]->cur_conns, 3);
	UT_CHECK(pick(px, 0, NULL) == srv[1]);
	UT_CHECK(pick(px, 0, srv[1]) == srv[2]);	/* avoid: next least loaded */
	/* equal load: ties rotate */
	for (i = 0; i < 3; i++)
		atomic_store(&srv[i]->cur_conns, 0);
	for (i = 0; i < 3000; i++)
		cnt[srv_index(srv, 3, pick(px, 0, NULL))]++;
	UT_EQ_INT(cnt[0], 1000);
	UT_EQ_INT(cnt[1], 1000);
	UT_EQ_INT(cnt[2], 1000);
	free_backend(px);

	/* weighted: connections settle at 2:1 */
	px = backend_with(LB_ALGO_LEASTCONN, 2, w, srv);
	init(px);
	for (i = 0; i < 300; i++) {
		s = pick(px, 0, NULL);
		atomic_fetch_add(&s->cur_conns, 1);
	}
	UT_EQ_INT(atomic_load(&srv[0]->cur_conns), 200);
	UT_EQ_INT(atomic_load(&srv[1]->cur_conns), 100);
	free_backend(px);
}

static void test_first(void)
{
	struct server *srv[3], *s;
	struct proxy *px = backend_with(LB_ALGO_FIRST, 3, NULL, srv);
	unsigned i;
	int full = 0;

	/* ids out of file order: s1 has the lowest id */
	srv[0]->puid = 3;
	srv[1]->puid = 1;
	srv[2]->puid = 2;
	for (i = 0; i < 3; i++)
		srv[i]->maxconn = 2;
	UT_EQ_INT(init(px), 0);
	for (i = 0; i < 6; i++) {
		s = pick(px, 0, NULL);
		UT_CHECK(s == srv[i < 2 ? 1 : i < 4 ? 2 : 0]);
		if (s)
			atomic_fetch_add(&s->cur_conns, 1);
	}
	UT_CHECK(lb_pick(px, 0, NULL, &full) == NULL);
	UT_EQ_INT(full, 1);
	/* a slot frees on the lowest id: it gets the next one */
	atomic_fetch_sub(&srv[1]->cur_conns, 1);
	UT_CHECK(pick(px, 0, NULL) == srv[1]);
	/* maxconn 0: the first server takes everything */
	srv[1]->maxconn = 0;
	for (i = 0; i < 10; i++)
		UT_CHECK(pick(px, 0, NULL) == srv[1]);
	free_backend(px);
}

/* ------------------------------------------------------------------ */
/* map-based hashing                                                  */

#define NKEYS 100000

static void test_map_hash(void)
{
	static const unsigned w[] = { 3, 1 };
	struct server *srv[4];
	struct proxy *px = backend_with(LB_ALGO_SOURCE, 4, NULL, srv);
	unsigned cnt[4] = { 0 }, i, stable = 1, ok;

	UT_CHECK(px->lb.hash_type == LB_HASH_MAP_BASED);
	UT_EQ_INT(init(px), 0);
	UT_CHECK(px->lb.ops == &lb_map_hash_ops);
	for (i = 0; i < NKEYS; i++) {
		struct server *s = pick(px, key_hash(i), NULL);

		cnt[srv_index(srv, 4, s)]++;
		if (pick(px, key_hash(i), NULL) != s)
			stable = 0;
	}
	UT_CHECK(stable);
	printf("map-based, 4 x weight 1, %d keys: %u %u %u %u\n", NKEYS,
	       cnt[0], cnt[1], cnt[2], cnt[3]);
	for (i = 0, ok = 1; i < 4; i++)
		ok &= cnt[i] > NKEYS / 4 * 97 / 100 && cnt[i] < NKEYS / 4 * 103 / 100;
	UT_CHECK(ok);
	/* a full server is still returned (the caller queues on it) */
	srv[0]->maxconn = 1;
	atomic_store(&srv[0]->cur_conns, 1);
	for (i = 0, ok = 0; i < 100 && !ok; i++)
		ok = pick(px, key_hash(i), NULL) == srv[0];
	UT_CHECK(ok);
	/* avoid: another server, the same one every time */
	UT_CHECK(pick(px, key_hash(i - 1), srv[0]) != srv[0]);
	UT_CHECK(pick(px, key_hash(i - 1), srv[0]) == pick(px, key_hash(i - 1), srv[0]));
	free_backend(px);

	px = backend_with(LB_ALGO_SOURCE, 2, w, srv);
	init(px);
	cnt[0] = 0;
	for (i = 0; i < NKEYS; i++)
		cnt[0] += pick(px, key_hash(i), NULL) == srv[0];
	printf("map-based, weights 3:1: %.1f%% / %.1f%%\n", 100.0 * cnt[0] / NKEYS,
	       100.0 - 100.0 * cnt[0] / NKEYS);
	UT_CHECK(cnt[0] > NKEYS * 73 / 100 && cnt[0] < NKEYS * 77 / 100);
	free_backend(px);
}

/* ------------------------------------------------------------------ */
/* consistent hashing                                                 */

static unsigned char owner_before[NKEYS];

static void map_keys(struct proxy *px, struct server **srv, unsigned n,
		     unsigned char *owner, unsigned *cnt)
{
	unsigned i;

	memset(cnt, 0, n * sizeof(*cnt));
	for (i = 0; i < NKEYS; i++) {
		owner[i] = srv_index(srv, n, pick(px, key_hash(i), NULL));
		if (owner[i] < n)
			cnt[owner[i]]++;
	}
}

static int spread_within(const unsigned *cnt, const unsigned *w, unsigned n, double tol,
			 double *worst)
{
	unsigned i, wsum = 0;
	int ok = 1;

	*worst = 0;
	for (i = 0; i < n; i++)
		wsum += w ? w[i] : 1;
	for (i = 0; i < n; i++) {
		double expect = (double)NKEYS * (w ? w[i] : 1) / wsum;
		double dev = (cnt[i] - expect) / expect;

		if (dev < 0)
			dev = -dev;
		if (dev > *worst)
			*worst = dev;
		ok &= dev <= tol;
	}
	return ok;
}

/* Take srv[gone] out with change(), then check that only its keys moved. */
static void check_only_its_keys_move(struct proxy *px, struct server **srv, unsigned n,
				     unsigned gone, const char *what)
{
	static unsigned char owner_after[NKEYS];
	unsigned i, moved_other = 0, moved_own = 0, own = 0;

	for (i = 0; i < NKEYS; i++) {
		owner_after[i] = srv_index(srv, n, pick(px, key_hash(i), NULL));
		if (owner_before[i] == gone) {
			own++;
			moved_own += owner_after[i] != gone;
		} else {
			moved_other += owner_after[i] != owner_before[i];
		}
	}
	printf("consistent, %s: %u keys of the server moved (of %u), %u other keys moved\n",
	       what, moved_own, own, moved_other);
	UT_EQ_INT(moved_own, own);
	UT_EQ_INT(moved_other, 0);
}

static void test_consistent_disruption(void)
{
	struct server *srv[10];
	struct proxy *px = backend_with(LB_ALGO_SOURCE, 10, NULL, srv);
	unsigned cnt[10], i, same = 1;
	double worst;

	px->lb.hash_type = LB_HASH_CONSISTENT;
	UT_EQ_INT(init(px), 0);
	UT_CHECK(px->lb.ops == &lb_chash_ops);
	map_keys(px, srv, 10, owner_before, cnt);
	UT_CHECK(spread_within(cnt, NULL, 10, 0.10, &worst));
	printf("consistent, 10 x weight 1, %d keys: worst deviation from even %.2f%%\n",
	       NKEYS, worst * 100);
	printf("  per server:");
	for (i = 0; i < 10; i++)
		printf(" %u", cnt[i]);
	printf("\n");

	set_state(srv[3], SRV_ST_DOWN);
	check_only_its_keys_move(px, srv, 10, 3, "s3 down");
	/* back up: exactly the original mapping */
	set_state(srv[3], SRV_ST_UP);
	for (i = 0; i < NKEYS; i++)
		same &= srv_index(srv, 10, pick(px, key_hash(i), NULL)) == owner_before[i];
	UT_CHECK(same);
	/* maintenance of the last server behaves the same */
	atomic_store(&srv[9]->admin, SRV_ADMF_MAINT);
	lb_server_changed(srv[9]);
	check_only_its_keys_move(px, srv, 10, 9, "s9 maint");
	free_backend(px);
}

static void test_consistent_weights(void)
{
	static const unsigned w[] = { 1, 2, 3, 4, 1, 1, 2, 2, 3, 1 };
	struct server *srv[10];
	struct proxy *px = backend_with(LB_ALGO_SOURCE, 10, w, srv);
	unsigned cnt[10], i, moved_other = 0;
	double worst;

	px->lb.hash_type = LB_HASH_CONSISTENT;
	UT_EQ_INT(init(px), 0);
	map_keys(px, srv, 10, owner_before, cnt);
	UT_CHECK(spread_within(cnt, w, 10, 0.10, &worst));
	printf("consistent, weights 1,2,3,4,1,1,2,2,3,1: worst deviation from weight share %.2f%%\n",
	       worst * 100);
	/* a heavy server leaves: only its keys move */
	set_state(srv[3], SRV_ST_DOWN);
	check_only_its_keys_move(px, srv, 10, 3, "weighted, s3 (weight 4) down");
	set_state(srv[3], SRV_ST_UP);
	/* a weight change moves keys only to or from that server */
	atomic_store(&srv[5]->eweight, 3);
	lb_server_changed(srv[5]);
	for (i = 0; i < NKEYS; i++) {
		unsigned now = srv_index(srv, 10, pick(px, key_hash(i), NULL));

		moved_other += now != owner_before[i] && now != 5 && owner_before[i] != 5;
	}
	UT_EQ_INT(moved_other, 0);
	free_backend(px);
}

/* Bounded load: every pick lands on a server that was within the bound. */
static void test_bounded_load(void)
{
	static const unsigned w[] = { 1, 1, 1, 1, 1, 1, 1, 1, 2, 2 };
	struct server *srv[10];
	struct proxy *px = backend_with(LB_ALGO_SOURCE, 10, w, srv);
	unsigned i, k, violations = 0, max_ratio_pct = 0;

	px->lb.hash_type = LB_HASH_CONSISTENT;
	px->lb.hash_balance_factor = 125;
	UT_EQ_INT(init(px), 0);
	/* three hot keys only: without the bound they would hit <= 3 servers */
	for (i = 0; i < 5000; i++) {
		uint64_t total = 0;
		struct server *s = pick(px, key_hash(i % 3), NULL);

		for (k = 0; k < 10; k++)
			total += atomic_load(&srv[k]->cur_conns);
		k = srv_index(srv, 10, s);
		if (k >= 10) {
			violations++;
			continue;
		}
		/* cur + 1 <= ceil(1.25 * (total + 1) * w / W), W = 12 */
		uint64_t cap = (125 * (total + 1) * w[k] + 100 * 12 - 1) / (100 * 12);

		if (atomic_load(&s->cur_conns) + 1 > cap)
			violations++;
		atomic_fetch_add(&s->cur_conns, 1);
		/* release some at random-ish to exercise a moving total */
		if (i % 7 == 6) {
			struct server *r = srv[(i * 13) % 10];

			if (atomic_load(&r->cur_conns))
				atomic_fetch_sub(&r->cur_conns, 1);
		}
	}
	for (k = 0; k < 10; k++) {
		uint64_t total = 0;
		unsigned j, pct;

		for (j = 0; j < 10; j++)
			total += atomic_load(&srv[j]->cur_conns);
		pct = (unsigned)(100.0 * atomic_load(&srv[k]->cur_conns) * 12 / (total * w[k]));
		if (pct > max_ratio_pct)
			max_ratio_pct = pct;
	}
	printf("bounded load (factor 125, 3 hot keys, 5000 picks): %u violations, "
	       "max load %u%% of weighted average\n", violations, max_ratio_pct);
	UT_EQ_INT(violations, 0);
	UT_CHECK(max_ratio_pct <= 130);
	free_backend(px);
}

/* Without a factor, the same three hot keys stay on at most three servers. */
static void test_unbounded_hot_keys(void)
{
	struct server *srv[10];
	struct proxy *px = backend_with(LB_ALGO_SOURCE, 10, NULL, srv);
	unsigned i, k;

	px->lb.hash_type = LB_HASH_CONSISTENT;
	init(px);
	for (i = 0, k = 0; i < 300; i++) {
		struct server *s = pick(px, key_hash(i % 3), NULL);

		atomic_fetch_add(&s->cur_conns, 1);
	}
	for (i = 0; i < 10; i++)
		k += atomic_load(&srv[i]->cur_conns) > 0;
	UT_CHECK(k <= 3);
	free_backend(px);
}

/* ------------------------------------------------------------------ */
/* random                                                             */

static void test_random(void)
{
	static const unsigned w[] = { 3, 1 };
	struct server *srv[4];
	struct proxy *px = backend_with(LB_ALGO_RANDOM, 4, NULL, srv);
	unsigned cnt[4] = { 0 }, i, ok = 1;

	UT_EQ_INT(init(px), 0);
	for (i = 0; i < 40000; i++)
		cnt[srv_index(srv, 4, pick(px, 0, NULL))]++;
	for (i = 0; i < 4; i++)
		ok &= cnt[i] > 9000 && cnt[i] < 11000;
	printf("random(2), 4 idle servers, 40000 picks: %u %u %u %u\n",
	       cnt[0], cnt[1], cnt[2], cnt[3]);
	UT_CHECK(ok);
	/* a loaded server is picked only when every draw lands on it */
	atomic_store(&srv[0]->cur_conns, 100);
	cnt[0] = 0;
	for (i = 0; i < 40000; i++)
		cnt[0] += pick(px, 0, NULL) == srv[0];
	printf("random(2), one server loaded: it got %.2f%% (1/16 = 6.25%% expected)\n",
	       100.0 * cnt[0] / 40000);
	UT_CHECK(cnt[0] > 40000 * 4 / 100 && cnt[0] < 40000 * 9 / 100);
	/* full servers are never drawn */
	srv[0]->maxconn = 100;
	for (i = 0, ok = 1; i < 1000; i++)
		ok &= pick(px, 0, NULL) != srv[0];
	UT_CHECK(ok);
	free_backend(px);

	/* random(1) follows the weights */
	px = backend_with(LB_ALGO_RANDOM, 2, w, srv);
	px->lb.random_draws = 1;
	init(px);
	cnt[0] = 0;
	for (i = 0; i < 40000; i++)
		cnt[0] += pick(px, 0, NULL) == srv[0];
	UT_CHECK(cnt[0] > 40000 * 72 / 100 && cnt[0] < 40000 * 78 / 100);
	free_backend(px);
}

/* ------------------------------------------------------------------ */
/* Usable set: backups, maint, drain, weight 0, all full              */

static const enum lb_algo all_algos[] = {
	LB_ALGO_ROUNDROBIN, LB_ALGO_STATIC_RR, LB_ALGO_LEASTCONN, LB_ALGO_FIRST,
	LB_ALGO_SOURCE, LB_ALGO_RANDOM,
};
#define NB_ALGOS (sizeof(all_algos) / sizeof(all_algos[0]))

/* Which servers a backend hands out over many picks, as a bit mask. */
static unsigned picked_mask(struct proxy *px, struct server **srv, unsigned n)
{
	unsigned i, mask = 0;

	for (i = 0; i < 400; i++) {
		unsigned k = srv_index(srv, n, pick(px, key_hash(i), NULL));

		mask |= k < n ? 1u << k : 1u << 31;
	}
	return mask;
}

static void check_backups(enum lb_algo algo, int consistent)
{
	struct server *srv[4];
	struct proxy *px = new_backend(algo);
	int first = algo == LB_ALGO_FIRST;	/* lowest id only */

	px->lb.hash_type = consistent ? LB_HASH_CONSISTENT : LB_HASH_MAP_BASED;
	srv[0] = add_server(px, 1, 0);
	srv[1] = add_server(px, 1, SRV_F_BACKUP);
	srv[2] = add_server(px, 1, 0);
	srv[3] = add_server(px, 1, SRV_F_BACKUP);
	init(px);
	UT_EQ_INT(picked_mask(px, srv, 4), first ? 0x1 : 0x5);
	UT_EQ_INT(atomic_load(&px->lb.using_backups), 0);
	set_state(srv[0], SRV_ST_DOWN);
	set_state(srv[2], SRV_ST_DOWN);
	UT_EQ_INT(picked_mask(px, srv, 4), 0x2);	/* first backup only */
	UT_EQ_INT(atomic_load(&px->lb.using_backups), 1);
	UT_EQ_INT(atomic_load(&px->lb.usable), 1);
	px->options |= PX_O_ALLBACKUPS;
	lb_server_changed(srv[0]);
	UT_EQ_INT(picked_mask(px, srv, 4), first ? 0x2 : 0xa);	/* all backups */
	px->options &= ~PX_O_ALLBACKUPS;
	set_state(srv[1], SRV_ST_DOWN);
	UT_EQ_INT(picked_mask(px, srv, 4), 0x8);	/* next backup */
	set_state(srv[2], SRV_ST_UP);
	UT_EQ_INT(picked_mask(px, srv, 4), 0x4);	/* a primary is back */
	UT_EQ_INT(atomic_load(&px->lb.using_backups), 0);
	set_state(srv[2], SRV_ST_DOWN);
	set_state(srv[3], SRV_ST_DOWN);
	UT_CHECK(pick(px, 1, NULL) == NULL);		/* nothing usable */
	UT_EQ_INT(atomic_load(&px->lb.usable), 0);
	free_backend(px);
}

static void check_excluded(enum lb_algo algo, int consistent)
{
	struct server *srv[4];
	struct proxy *px = backend_with(algo, 4, NULL, srv);

	px->lb.hash_type = consistent ? LB_HASH_CONSISTENT : LB_HASH_MAP_BASED;
	atomic_store(&srv[0]->admin, SRV_ADMF_MAINT);
	atomic_store(&srv[1]->admin, SRV_ADMF_DRAIN);
	atomic_store(&srv[2]->eweight, 0);
	init(px);
	UT_EQ_INT(picked_mask(px, srv, 4), 0x8);
	/* drain set at runtime, before the rebuild: pick() already skips it */
	atomic_store(&srv[3]->admin, SRV_ADMF_DRAIN);
	UT_CHECK(pick(px, 5, NULL) == NULL);
	free_backend(px);
}

static void check_all_full(enum lb_algo algo)
{
	struct server *srv[3];
	struct proxy *px = backend_with(algo, 3, NULL, srv);
	struct server *s;
	unsigned i;
	int full = 0, hashing = algo == LB_ALGO_SOURCE;

	init(px);
	for (i = 0; i < 3; i++) {
		srv[i]->maxconn = 2;
		atomic_store(&srv[i]->cur_conns, 2);
	}
	s = lb_pick(px, 7, NULL, &full);
	if (hashing) {
		UT_CHECK(s != NULL);	/* returned anyway: the caller queues */
	} else {
		UT_CHECK(s == NULL);
		UT_EQ_INT(full, 1);
	}
	/* one free slot: found whatever the rotation */
	atomic_store(&srv[1]->cur_conns, 1);
	for (i = 0; i < 10 && !hashing; i++)
		UT_CHECK(pick(px, 7, NULL) == srv[1]);
	/* the only free server avoided: full, not "no server" */
	if (!hashing) {
		s = lb_pick(px, 7, srv[1], &full);
		UT_CHECK(s == NULL && full == 1);
	}
	free_backend(px);
}

static void test_usable_set(void)
{
	unsigned a;

	for (a = 0; a < NB_ALGOS; a++) {
		check_backups(all_algos[a], 0);
		check_excluded(all_algos[a], 0);
		check_all_full(all_algos[a]);
	}
	check_backups(LB_ALGO_SOURCE, 1);
	check_excluded(LB_ALGO_SOURCE, 1);
}

static void test_no_servers(void)
{
	unsigned a;
	int full = 5;

	for (a = 0; a < NB_ALGOS; a++) {
		struct proxy *px = new_backend(all_algos[a]);

		UT_EQ_INT(init(px), 0);
		UT_CHECK(lb_pick(px, 1, NULL, &full) == NULL);
		UT_EQ_INT(full, 0);
		free_backend(px);
	}
}

/* ------------------------------------------------------------------ */
/* Concurrency: readers pick while a writer flips servers up and down */

#define NREADERS 4

struct race {
	struct proxy *px;
	struct server *srv[8];
	_Atomic int stop;
	_Atomic unsigned started;
	_Atomic unsigned long bad, picks;
};

struct reader_arg {
	struct race *r;
	unsigned tid;
};

static void *race_reader(void *arg)
{
	struct reader_arg *ra = arg;
	struct race *r = ra->r;
	unsigned long i = 0;

	qsbr_online(ra->tid);
	atomic_fetch_add(&r->started, 1);
	while (!atomic_load(&r->stop)) {
		int full;
		struct server *s = lb_pick(r->px, key_hash(i), NULL, &full);

		if (s && srv_index(r->srv, 8, s) >= 8)
			atomic_fetch_add(&r->bad, 1);
		if (++i % 64 == 0)
			qsbr_quiescent(ra->tid);
	}
	atomic_fetch_add(&r->picks, i);
	qsbr_offline(ra->tid);
	return NULL;
}

static void race_algo(enum lb_algo algo, int consistent)
{
	struct race r = { 0 };
	struct reader_arg ra[NREADERS];
	pthread_t th[NREADERS];
	unsigned i;

	r.px = backend_with(algo, 8, NULL, r.srv);
	r.px->lb.hash_type = consistent ? LB_HASH_CONSISTENT : LB_HASH_MAP_BASED;
	init(r.px);
	for (i = 0; i < NREADERS; i++) {
		ra[i] = (struct reader_arg){ &r, i };
		pthread_create(&th[i], NULL, race_reader, &ra[i]);
	}
	while (atomic_load(&r.started) < NREADERS)
		;
	for (i = 0; i < 100; i++) {
		struct server *s = r.srv[i % 8];

		set_state(s, atomic_load(&s->state) == SRV_ST_UP ? SRV_ST_DOWN : SRV_ST_UP);
		qsbr_reclaim();
	}
	atomic_store(&r.stop, 1);
	for (i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);
	qsbr_reclaim();
	UT_EQ_INT(atomic_load(&r.bad), 0);
	UT_CHECK(atomic_load(&r.picks) > 0);
	free_backend(r.px);
}

static void test_concurrency(void)
{
	unsigned a;

	qsbr_init(NREADERS);
	for (a = 0; a < NB_ALGOS; a++)
		race_algo(all_algos[a], 0);
	race_algo(LB_ALGO_SOURCE, 1);
	qsbr_shutdown();
}

/* ------------------------------------------------------------------ */
/* Keywords, through the real configuration loader                    */

static char cfg_dir[64];
static char cfg_out[8192];	/* stderr of the last load */
static struct config cfg_conf;

static int load_cfg(const char *text)
{
	char path[128], errpath[128];
	char *paths[1] = { path };
	int saved, fd, errors;
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/lb.cfg", cfg_dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", cfg_dir);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return -1;
	config_free(&cfg_conf);
	config_init(&cfg_conf);
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	errors = cfg_load_files(&cfg_conf, 1, paths);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	len = read(fd, cfg_out, sizeof(cfg_out) - 1);
	cfg_out[len > 0 ? len : 0] = '\0';
	close(fd);
	return errors;
}

static void expect_err(const char *text, const char *msg)
{
	int errors = load_cfg(text);

	UT_CHECK(errors > 0);
	UT_CHECK(strstr(cfg_out, msg) != NULL);
	if (!strstr(cfg_out, msg))
		fprintf(stderr, "  expected: %s\n  got: %s\n", msg, cfg_out);
}

static struct proxy *cfg_backend(const char *name)
{
	return config_find_proxy(&cfg_conf, name, PX_CAP_BE);
}

static void test_config_keywords(void)
{
	struct proxy *be;
	int errors;

	errors = load_cfg("defaults\n"
			  "  balance hash src\n"
			  "  hash-type consistent sdbm avalanche\n"
			  "  hash-balance-factor 150\n"
			  "backend h\n"
			  "  server a 127.0.0.1:1\n"
			  "  server b 127.0.0.1:2\n"
			  "backend lc\n"
			  "  balance leastconn\n"
			  "  hash-type map-based\n"
			  "  server a 127.0.0.1:1\n"
			  "backend r\n"
			  "  balance random(3)\n"
			  "  server a 127.0.0.1:1 weight 0\n"
			  "  server b 127.0.0.1:1\n"
			  "backend rr\n"
			  "  balance roundrobin\n"
			  "  server a 127.0.0.1:1\n");
	UT_EQ_INT(errors, 0);
	if (errors)
		fprintf(stderr, "  stderr was: %s\n", cfg_out);
	if ((be = cfg_backend("h"))) {
		UT_EQ_INT(be->lb.algo, LB_ALGO_HASH);
		UT_CHECK(be->lb.hash_expr != NULL);	/* compiled from the inherited text */
		UT_EQ_STR(be->lb.hash_expr_str, "src");
		UT_CHECK(be->lb.ops == &lb_chash_ops);
		UT_EQ_INT(be->lb.hash_balance_factor, 150);
		UT_EQ_INT(atomic_load(&be->lb.usable), 2);
	} else {
		UT_CHECK(0);
	}
	if ((be = cfg_backend("lc")))
		UT_CHECK(be->lb.ops == &lb_leastconn_ops);
	/* the inherited factor means nothing to leastconn: say so */
	UT_CHECK(strstr(cfg_out, "warning: backend 'lc': 'hash-balance-factor' only applies") != NULL);
	if ((be = cfg_backend("r"))) {
		UT_CHECK(be->lb.ops == &lb_random_ops);
		UT_EQ_INT(be->lb.random_draws, 3);
		UT_EQ_INT(atomic_load(&be->lb.usable), 1);	/* weight 0 left out */
	}
	if ((be = cfg_backend("rr"))) {
		UT_CHECK(be->lb.ops == &lb_rr_ops);
		UT_CHECK(lb_pick(be, 0, NULL, NULL) == be->srv);
	}
}

static void test_config_errors(void)
{

	expect_err("backend b\n  balance uri\n",
		   "lb.cfg:2: balance 'uri' is an HTTP algorithm, not supported by sluice");
	expect_err("backend b\n  balance hdr(host)\n",
		   "balance 'hdr' is an HTTP algorithm, not supported by sluice");
	expect_err("backend b\n  balance url_param id\n",
		   "balance 'url_param' is an HTTP algorithm");
	expect_err("backend b\n  balance rdp-cookie\n",
		   "balance 'rdp-cookie' is not implemented by sluice");
	expect_err("backend b\n  balance bogus\n", "'balance': unknown algorithm 'bogus'");
	expect_err("backend b\n  balance\n", "'balance': expects an algorithm");
	expect_err("backend b\n  balance roundrobin now\n",
		   "'balance roundrobin': takes no argument, got 'now'");
	expect_err("backend b\n  balance random(0)\n", "'balance random': expects");
	expect_err("backend b\n  balance random(x\n", "'balance random': expects");
	expect_err("backend b\n  balance randomly\n", "'balance': unknown algorithm 'randomly'");
	expect_err("backend b\n  balance hash\n", "'balance hash': expects one sample expression");
	expect_err("backend b\n  balance hash nosuchfetch\n", "'balance hash nosuchfetch': ");
	expect_err("backend b\n  hash-type ring\n", "'hash-type': expects 'map-based' or 'consistent'");
	expect_err("backend b\n  hash-type consistent md5\n", "got 'md5'");
	expect_err("backend b\n  hash-balance-factor 100\n",
		   "'hash-balance-factor': expects 0 (off) or a percentage above 100");
	expect_err("backend b\n  hash-balance-factor x\n", "'hash-balance-factor': expects");
	expect_err("frontend f\n  balance roundrobin\n", "balance");
}

static void test_config(void)
{
	snprintf(cfg_dir, sizeof(cfg_dir), "/tmp/test_lb.XXXXXX");
	if (!mkdtemp(cfg_dir)) {
		UT_CHECK(0);
		return;
	}
	config_init(&cfg_conf);
	test_config_keywords();
	test_config_errors();
	config_free(&cfg_conf);
	memset(&cfg_conf, 0, sizeof(cfg_conf));
	snprintf(cfg_out, sizeof(cfg_out), "%s/lb.cfg", cfg_dir);
	unlink(cfg_out);
	snprintf(cfg_out, sizeof(cfg_out), "%s/stderr", cfg_dir);
	unlink(cfg_out);
	rmdir(cfg_dir);
}

int main(void)
{
	test_hash_bytes();
	test_roundrobin();
	test_static_rr();
	test_leastconn();
	test_first();
	test_map_hash();
	test_consistent_disruption();
	test_consistent_weights();
	test_bounded_load();
	test_unbounded_hot_keys();
	test_random();
	test_usable_set();
	test_no_servers();
	test_concurrency();
	test_config();
	UT_DONE();
}
