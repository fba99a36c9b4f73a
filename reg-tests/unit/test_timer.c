/* test_timer.c - the timer wheel against a simulated clock. */
#include <stdint.h>
#include <stdlib.h>
#include "ut.h"
#include "sluice/timer.h"

static struct timer_wheel wheel;
static uint64_t sim_prev, sim_now;	/* last two advance targets */

struct probe {
	struct timer t;
	uint64_t deadline;
	uint64_t fired_at;	/* wheel time inside the callback */
	uint64_t fired_sim;	/* advance target when it fired */
	int fired;
	int order;
};

static int fire_seq;
static int late_or_early;	/* timers that fired outside their window */

static void probe_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, t);

	p->fired++;
	p->fired_at = wheel.now;
	p->fired_sim = sim_now;
	p->order = fire_seq++;
	if (wheel.now != p->deadline || p->deadline > sim_now ||
	    (p->deadline <= sim_prev && p->deadline > 0))
		late_or_early++;
}

static void advance(uint64_t to)
{
	sim_prev = sim_now;
	sim_now = to;
	timer_wheel_advance(&wheel, to);
}

static void reset(uint64_t start)
{
	timer_wheel_init(&wheel, start);
	sim_prev = sim_now = start;
	fire_seq = 0;
	late_or_early = 0;
}

static uint64_t rnd64(void)
{
	return ((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^ (uint64_t)rand();
}

static void test_empty(void)
{
	reset(1000);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), -1);
	advance(5000000);
	UT_EQ_INT(wheel.now, 5000000);
	UT_EQ_INT(wheel.count, 0);
}

static void test_ordering(void)
{
	static const uint64_t d[] = { 70, 5, 4096, 63, 64, 1, 65, 4095, 300, 4097, 2 };
	enum { N = sizeof(d) / sizeof(d[0]) };
	struct probe p[N];
	uint64_t now;
	int i, j, sorted = 1;

	reset(12345);
	for (i = 0; i < N; i++) {
		timer_init(&p[i].t, probe_cb);
		p[i].fired = 0;
		p[i].deadline = 12345 + d[i];
		timer_arm(&wheel, &p[i].t, p[i].deadline);
	}
	UT_EQ_INT(wheel.count, N);
	for (now = 12346; now <= 12345 + 5000; now++)
		advance(now);
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++)
			if (d[i] < d[j] && p[i].order > p[j].order)
				sorted = 0;
	UT_CHECK(sorted);
	for (i = 0; i < N; i++) {
		UT_EQ_INT(p[i].fired, 1);
		UT_EQ_INT(p[i].fired_at, p[i].deadline);
	}
	UT_EQ_INT(late_or_early, 0);
	UT_EQ_INT(wheel.count, 0);
}

/* One timer per scale, from 1 ms to beyond the wheel's 2^36 ms reach. */
static void test_scales(void)
{
	static const uint64_t d[] = {
		1, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097, 262143, 262144,
		262145, 1000000, 16777215, 16777216, 16777217, 86400000,
		3 * 86400000ULL, (1ULL << 30) - 1, 1ULL << 30, (1ULL << 30) + 1,
		(1ULL << 36) - 1, 1ULL << 36, (1ULL << 36) + 12345, 1ULL << 40,
	};
	enum { N = sizeof(d) / sizeof(d[0]) };
	struct probe p[N];
	uint64_t start = 987654321;
	int i, k, ok = 1;

	/* Jump straight to each deadline, then to just before the next. */
	reset(start);
	for (i = 0; i < N; i++) {
		timer_init(&p[i].t, probe_cb);
		p[i].fired = 0;
		p[i].deadline = start + d[i];
		timer_arm(&wheel, &p[i].t, p[i].deadline);
	}
	for (i = 0; i < N; i++) {
		if (!p[i].fired) {
			UT_CHECK(p[i].deadline - 1 >= wheel.now);
			advance(p[i].deadline - 1);
			ok &= !p[i].fired;
			advance(p[i].deadline);
		}
		ok &= p[i].fired == 1 && p[i].fired_at == p[i].deadline;
	}
	UT_CHECK(ok);
	UT_EQ_INT(late_or_early, 0);
	UT_EQ_INT(wheel.count, 0);

	/* Same deadlines reached through coarse steps from odd offsets. */
	for (k = 0; k < 3; k++) {
		uint64_t step = k == 0 ? 7 : k == 1 ? 1000003 : 977777777;

		reset(start + k);
		for (i = 0; i < N; i++) {
			p[i].fired = 0;
			p[i].deadline = start + k + d[i];
			timer_arm(&wheel, &p[i].t, p[i].deadline);
		}
		while (wheel.count && sim_now < start + (1ULL << 41)) {
			/* k == 0: steps that grow with the distance covered */
			if (k == 0)
				step = 7 + (sim_now - start) / 8;
			advance(sim_now + step + rnd64() % step);
		}
		for (i = 0; i < N; i++)
			UT_EQ_INT(p[i].fired, 1);
		UT_EQ_INT(late_or_early, 0);
	}
}

/* Timers every ms, each level boundary: exact tick when stepping by 1 ms. */
static void test_every_ms(void)
{
	enum { N = 2000 };
	static struct probe p[N];
	uint64_t start = 4095, end, now;
	int i, ok = 1;

	reset(start);
	for (i = 0; i < N; i++) {
		timer_init(&p[i].t, probe_cb);
		p[i].fired = 0;
		p[i].deadline = start + 1 + (uint64_t)i * 151 + (i % 3);
		timer_arm(&wheel, &p[i].t, p[i].deadline);
	}
	end = p[N - 1].deadline + 10;
	for (now = start + 1; now <= end; now++) {
		int64_t next = timer_wheel_next_ms(&wheel);

		advance(now);
		(void)next;
	}
	for (i = 0; i < N; i++)
		ok &= p[i].fired == 1 && p[i].fired_at == p[i].deadline;
	UT_CHECK(ok);
	UT_EQ_INT(late_or_early, 0);
}

static struct probe periodic;
static int periodic_runs;

static void periodic_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, t);

	UT_EQ_INT(wheel.now, p->deadline);
	periodic_runs++;
	if (periodic_runs < 100) {
		p->deadline = wheel.now + 10 * periodic_runs;
		timer_arm(&wheel, t, p->deadline);
	}
}

static void test_rearm_in_callback(void)
{
	uint64_t now;

	reset(0);
	timer_init(&periodic.t, periodic_cb);
	periodic.deadline = 10;
	timer_arm(&wheel, &periodic.t, 10);
	for (now = 1; now < 100000 && periodic_runs < 100; now++)
		advance(now);
	UT_EQ_INT(periodic_runs, 100);
	UT_CHECK(!timer_armed(&periodic.t));
	UT_EQ_INT(wheel.count, 0);
}

/* The first of two timers of the same slot disarms and frees the second,
 * re-arms a third one of the same slot, and frees itself. */
static struct probe *sib_a, *sib_b, *sib_c;
static int sib_b_runs, sib_c_runs;

static void sib_a_cb(struct timer *t)
{
	(void)t;
	timer_disarm(&wheel, &sib_b->t);
	free(sib_b);
	sib_b = NULL;
	timer_arm(&wheel, &sib_c->t, wheel.now + 5);
	free(sib_a);
	sib_a = NULL;
}

static void sib_b_cb(struct timer *t)
{
	(void)t;
	sib_b_runs++;
}

static void sib_c_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, t);

	sib_c_runs++;
	p->fired_at = wheel.now;
}

static void test_sibling_in_callback(void)
{
	uint64_t now;

	reset(100);
	sib_a = calloc(1, sizeof(*sib_a));
	sib_b = calloc(1, sizeof(*sib_b));
	sib_c = calloc(1, sizeof(*sib_c));
	timer_init(&sib_a->t, sib_a_cb);
	timer_init(&sib_b->t, sib_b_cb);
	timer_init(&sib_c->t, sib_c_cb);
	/* Far enough to come down through a cascade together. */
	timer_arm(&wheel, &sib_a->t, 100000);
	timer_arm(&wheel, &sib_b->t, 100000);
	timer_arm(&wheel, &sib_c->t, 100000);
	advance(99999);
	UT_EQ_INT(wheel.count, 3);
	advance(100000);
	UT_CHECK(sib_a == NULL && sib_b == NULL);
	UT_EQ_INT(sib_b_runs, 0);
	UT_EQ_INT(sib_c_runs, 0);
	UT_EQ_INT(wheel.count, 1);
	for (now = 100001; now <= 100010; now++)
		advance(now);
	UT_EQ_INT(sib_c_runs, 1);
	UT_EQ_INT(sib_c->fired_at, 100005);
	UT_EQ_INT(wheel.count, 0);
	free(sib_c);
}

static void test_past_and_move(void)
{
	struct probe a, b;

	reset(5000);
	timer_init(&a.t, probe_cb);
	timer_init(&b.t, probe_cb);
	a.fired = b.fired = 0;
	/* A past deadline fires on the next advance, even to the same time. */
	a.deadline = 5000;
	timer_arm(&wheel, &a.t, 10);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), 0);
	timer_wheel_advance(&wheel, 5000);
	UT_EQ_INT(a.fired, 1);
	UT_EQ_INT(a.fired_at, 5000);

	/* Arming an armed timer moves it. */
	b.deadline = 9000;
	timer_arm(&wheel, &b.t, 6000);
	timer_arm(&wheel, &b.t, 9000);
	UT_EQ_INT(wheel.count, 1);
	UT_EQ_INT(timer_wheel_next_ms(&wheel) <= 4000, 1);
	advance(8999);
	UT_EQ_INT(b.fired, 0);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), 1);
	advance(9000);
	UT_EQ_INT(b.fired, 1);

	/* Disarmed timers never fire and leave no trace in the bitmaps. */
	timer_arm(&wheel, &b.t, 20000);
	timer_arm(&wheel, &a.t, 9010);
	timer_disarm(&wheel, &b.t);
	timer_disarm(&wheel, &a.t);
	timer_disarm(&wheel, &a.t);
	UT_EQ_INT(wheel.count, 0);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), -1);
	int clean = 1;
	for (int l = 0; l < TIMER_LEVELS; l++)
		clean &= wheel.occupied[l] == 0;
	UT_CHECK(clean);
	advance(100000);
	UT_EQ_INT(b.fired, 1);
	UT_EQ_INT(a.fired, 1);
}

/* A callback arming a due timer (or re-arming itself at "now") during a
 * long advance: it runs before that advance returns, once per advance. */
static struct probe late_b;
static int stubborn_runs;

static void arms_due_cb(struct timer *t)
{
	(void)t;
	timer_arm(&wheel, &late_b.t, wheel.now - 100);
}

static void stubborn_cb(struct timer *t)
{
	stubborn_runs++;
	timer_arm(&wheel, t, wheel.now);
}

static void test_due_from_callback(void)
{
	struct timer a, s;

	reset(1000);
	timer_init(&a, arms_due_cb);
	timer_init(&late_b.t, probe_cb);
	late_b.fired = 0;
	timer_arm(&wheel, &a, 1500);
	timer_wheel_advance(&wheel, 1510);
	UT_EQ_INT(late_b.fired, 1);
	UT_CHECK(late_b.fired_at >= 1500 && late_b.fired_at <= 1510);
	UT_EQ_INT(wheel.now, 1510);
	UT_EQ_INT(wheel.count, 0);

	timer_init(&s, stubborn_cb);
	timer_arm(&wheel, &s, 1600);
	timer_wheel_advance(&wheel, 1700);
	UT_EQ_INT(stubborn_runs, 2);	/* at 1600, then carried to 1700 */
	timer_wheel_advance(&wheel, 1700);
	UT_EQ_INT(stubborn_runs, 3);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), 0);
	timer_disarm(&wheel, &s);
	UT_EQ_INT(timer_wheel_next_ms(&wheel), -1);
}

/* next_ms is exact at level 0 and never later than the real deadline. */
static void test_next_ms(void)
{
	struct probe a;
	int i, ok = 1;

	timer_init(&a.t, probe_cb);
	for (i = 0; i < 20000; i++) {
		uint64_t start = rnd64() % (1ULL << 40), d = 1 + rnd64() % (1ULL << (1 + i % 38));
		int64_t n;

		reset(start);
		a.fired = 0;
		a.deadline = start + d;
		timer_arm(&wheel, &a.t, a.deadline);
		n = timer_wheel_next_ms(&wheel);
		ok &= n >= 1 && (uint64_t)n <= d;
		if (d < 64)
			ok &= (uint64_t)n == d;
		/* Following the hint alone must reach the deadline exactly. */
		while (!a.fired && ok) {
			n = timer_wheel_next_ms(&wheel);
			ok &= n >= 1 && wheel.now + (uint64_t)n <= a.deadline;
			advance(wheel.now + (uint64_t)n);
		}
		ok &= a.fired == 1 && a.fired_at == a.deadline;
	}
	UT_CHECK(ok);
	UT_EQ_INT(late_or_early, 0);
}

/* 100k random timers, random disarms and re-arms, random clock steps. */
enum { NRAND = 100000 };
static struct probe *rp;

static void random_round(int step_every_ms, uint64_t span)
{
	uint64_t start = rnd64() % (1ULL << 44), now;
	int i, ok = 1, disarmed = 0;
	static char killed[NRAND];

	reset(start);
	for (i = 0; i < NRAND; i++) {
		timer_init(&rp[i].t, probe_cb);
		rp[i].fired = 0;
		killed[i] = 0;
		rp[i].deadline = start + 1 + rnd64() % span;
		timer_arm(&wheel, &rp[i].t, rp[i].deadline);
	}
	/* Move a tenth, cancel a tenth. */
	for (i = 0; i < NRAND / 10; i++) {
		int k = rand() % NRAND;

		if (!killed[k]) {
			rp[k].deadline = start + 1 + rnd64() % span;
			timer_arm(&wheel, &rp[k].t, rp[k].deadline);
		}
		k = rand() % NRAND;
		if (!killed[k]) {
			timer_disarm(&wheel, &rp[k].t);
			killed[k] = 1;
			disarmed++;
		}
	}
	UT_EQ_INT(wheel.count, NRAND - disarmed);
	now = start;
	while (wheel.count) {
		now += step_every_ms ? 1 : 1 + rnd64() % (span / 50 + 1);
		advance(now);
	}
	for (i = 0; i < NRAND; i++)
		ok &= killed[i] ? rp[i].fired == 0 :
		      rp[i].fired == 1 && rp[i].fired_at == rp[i].deadline;
	UT_CHECK(ok);
	UT_EQ_INT(late_or_early, 0);
}

static void test_random(void)
{
	rp = calloc(NRAND, sizeof(*rp));
	random_round(1, 300000);		/* every ms, up to 5 minutes */
	random_round(0, 300000);
	random_round(0, 86400000ULL * 30);	/* coarse steps, up to a month */
	random_round(0, 1ULL << 38);		/* past the wheel's reach */
	free(rp);
}

int main(void)
{
	srand(42);
	test_empty();
	test_ordering();
	test_scales();
	test_every_ms();
	test_rearm_in_callback();
	test_sibling_in_callback();
	test_past_and_move();
	test_due_from_callback();
	test_next_ms();
	test_random();
	UT_DONE();
}
