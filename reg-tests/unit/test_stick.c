/* test_stick.c - stick table core: rate counters, entries, keys, expiry,
 * eviction, stored data, concurrency and memory per entry. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/freq_ctr.h>
#include <sluice/sample.h>
#include <sluice/stick.h>

#include "ut.h"

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SIZE	100000u		/* sanitizers: smaller, same checks */
#define THREAD_ITERS	20000u
#else
#define BENCH_SIZE	1000000u
#define THREAD_ITERS	100000u
#endif

#define T0	5000000ull	/* a "now" well away from 0 */

/* ---- helpers ---------------------------------------------------------- */

static struct stktable *mk_table(enum stk_key_type type, unsigned key_size,
				 unsigned size, unsigned expire)
{
	struct stktable *t = calloc(1, sizeof(*t));

	t->id = strdup("test");
	t->type = type;
	t->key_size = key_size;
	t->size = size;
	t->expire = expire;
	return t;
}

static void store(struct stktable *t, enum stk_dt dt, unsigned nb, unsigned period)
{
	t->data[dt].stored = 1;
	t->data[dt].nb = nb;
	t->data[dt].period = period;
}

static int init_ok(struct stktable *t)
{
	char err[256] = "";
	int ret = stktable_init(t, err, sizeof(err));

	if (ret)
		fprintf(stderr, "stktable_init: %s\n", err);
	return ret == 0;
}

/* Keys point into themselves: build them in place, never copy them. */
static void ip_key(struct stk_key *k, uint32_t v)
{
	memcpy(k->buf, &v, 4);
	k->ptr = k->buf;
	k->len = 4;
}

static uint64_t get_val(struct stktable *t, struct stksess *e, enum stk_dt dt,
			unsigned idx, uint64_t now)
{
	uint64_t v = 0xdeadbeef;

	if (!stksess_get(t, e, dt, idx, now, &v))
		return 0xffffffffffffull;	/* "not kept" marker */
	return v;
}

/* Is key present (lookup, reference dropped again)? */
static int present(struct stktable *t, const struct stk_key *k, uint64_t now)
{
	struct stksess *e = stktable_lookup(t, k, now);

	stksess_release(t, e, 0, now);
	return e != NULL;
}

/* ---- freq_ctr --------------------------------------------------------- */

static void test_freq_ctr_windows(void)
{
	struct freq_ctr f = { 0 };
	const uint32_t p = 10000;

	UT_EQ_INT(freq_ctr_read(&f, p, 0), 0);
	freq_ctr_add(&f, p, 0, 5);
	UT_EQ_INT(freq_ctr_read(&f, p, 0), 5);
	UT_EQ_INT(freq_ctr_read(&f, p, 9999), 5);
	UT_EQ_INT(freq_ctr_read(&f, p, 10000), 5);	/* all of prev still inside */
	UT_EQ_INT(freq_ctr_read(&f, p, 12500), 4);	/* ceil(5 * 0.75) */
	UT_EQ_INT(freq_ctr_read(&f, p, 15000), 3);	/* ceil(2.5) */
	UT_EQ_INT(freq_ctr_read(&f, p, 19999), 1);	/* ceil(5 * 0.0001) */
	UT_EQ_INT(freq_ctr_read(&f, p, 20000), 0);
	UT_EQ_INT(freq_ctr_read(&f, p, 50000), 0);

	/* events in two periods: 5 at 0, 8 at 12500 */
	freq_ctr_add(&f, p, 12500, 8);
	UT_EQ_INT(f.prev_ctr, 5);
	UT_EQ_INT(f.curr_ctr, 8);
	UT_EQ_INT(f.curr_tick, 10000);
	UT_EQ_INT(freq_ctr_read(&f, p, 12500), 8 + 4);
	UT_EQ_INT(freq_ctr_read(&f, p, 17500), 8 + 2);	/* ceil(1.25) */
	UT_EQ_INT(freq_ctr_read(&f, p, 20000), 8);
	UT_EQ_INT(freq_ctr_read(&f, p, 25000), 4);
	UT_EQ_INT(freq_ctr_read(&f, p, 30000), 0);
	/* a period skipped entirely forgets everything */
	freq_ctr_add(&f, p, 31000, 1);
	UT_EQ_INT(f.prev_ctr, 0);
	UT_EQ_INT(f.curr_tick, 30000);
	UT_EQ_INT(freq_ctr_read(&f, p, 31000), 1);
	/* a reader slightly behind the writer sees elapsed 0 */
	UT_EQ_INT(freq_ctr_read(&f, p, 29990), 1);
	/* saturation */
	freq_ctr_add(&f, p, 31000, UINT32_MAX);
	UT_EQ_INT(freq_ctr_read(&f, p, 31000), UINT32_MAX);
	freq_ctr_clear(&f);
	UT_EQ_INT(freq_ctr_read(&f, p, 31000), 0);
}

static void test_freq_ctr_wrap(void)
{
	struct freq_ctr f = { 0 };
	const uint32_t p = 1000, start = UINT32_MAX - 499;	/* 500 ms before the wrap */

	freq_ctr_add(&f, p, start, 10);
	UT_EQ_INT(freq_ctr_read(&f, p, start + 999), 10);	/* wrapped: 499 */
	freq_ctr_add(&f, p, start + 1250, 4);			/* next period, after the wrap */
	UT_EQ_INT(f.prev_ctr, 10);
	UT_EQ_INT(f.curr_ctr, 4);
	UT_EQ_INT(f.curr_tick, (uint32_t)(start + 1000));
	UT_EQ_INT(freq_ctr_read(&f, p, start + 1250), 4 + 8);	/* ceil(10 * 0.75) */
	UT_EQ_INT(freq_ctr_read(&f, p, start + 1900), 4 + 1);
	UT_EQ_INT(freq_ctr_read(&f, p, start + 2000), 4);
	UT_EQ_INT(freq_ctr_read(&f, p, start + 3000), 0);
}

/* ---- data type names ---------------------------------------------------- */

static void test_dt_names(void)
{
	static const char *const names[STK_DT_COUNT] = {
		"server_id", "gpt0", "gpc0", "gpc0_rate", "gpc1", "gpc1_rate",
		"conn_cnt", "conn_cur", "conn_rate", "sess_cnt", "sess_rate",
		"bytes_in_cnt", "bytes_in_rate", "bytes_out_cnt", "bytes_out_rate",
		"gpt", "gpc", "gpc_rate",
	};
	int dt, rates = 0, arrays = 0;

	for (dt = 0; dt < STK_DT_COUNT; dt++) {
		UT_EQ_STR(stk_dt_name(dt), names[dt]);
		UT_EQ_INT(stk_dt_lookup(names[dt], strlen(names[dt])), dt);
		rates += stk_dt_is_rate(dt);
		arrays += stk_dt_is_array(dt);
	}
	UT_EQ_INT(rates, 7);
	UT_EQ_INT(arrays, 3);
	UT_CHECK(stk_dt_is_rate(STK_DT_GPC_RATE) && stk_dt_is_array(STK_DT_GPC_RATE));
	UT_CHECK(!stk_dt_is_rate(STK_DT_CONN_CUR));
	UT_EQ_INT(stk_dt_lookup("conn_rate(10s)", 9), STK_DT_CONN_RATE);
	UT_EQ_INT(stk_dt_lookup("gpc", 3), STK_DT_GPC);
	UT_EQ_INT(stk_dt_lookup("gpc0x", 5), -1);
	UT_EQ_INT(stk_dt_lookup("conn", 4), -1);
}

/* ---- init ------------------------------------------------------------- */

static int init_fails(struct stktable *t, const char *needle)
{
	char err[256] = "";
	int ret = stktable_init(t, err, sizeof(err));

	if (ret == 0 || !strstr(err, needle))
		fprintf(stderr, "init: ret %d, err '%s' (wanted '%s')\n", ret, err, needle);
	return ret == -1 && strstr(err, needle);
}

/* In a child whose address space is capped, a huge table cannot map. */
static int init_too_large_fails(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct rlimit rl = { 1u << 30, 1u << 30 };
		struct stktable *t = mk_table(STK_KEY_STR, 1024, 100000000, 0);

		setrlimit(RLIMIT_AS, &rl);
		_exit(init_fails(t, "cannot reserve") ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void test_init(void)
{
	struct stktable *t;

	t = mk_table(STK_KEY_IP, 4, 0, 0);
	UT_CHECK(init_fails(t, "size"));
	stktable_free(t);
	t = mk_table(STK_KEY_STR, 0, 10, 0);
	UT_CHECK(init_fails(t, "key length"));
	stktable_free(t);
	t = mk_table(STK_KEY_BIN, STK_KEY_MAX_LEN + 1, 10, 0);
	UT_CHECK(init_fails(t, "key length"));
	stktable_free(t);
	t = mk_table(STK_KEY_IP, 0, 10, 0);
	UT_CHECK(init_fails(t, "key size"));
	stktable_free(t);
	t = mk_table(STK_KEY_IP, 4, 10, 0);
	store(t, STK_DT_GPC, 0, 0);
	UT_CHECK(init_fails(t, "'gpc' needs between 1 and 100"));
	stktable_free(t);
	t = mk_table(STK_KEY_IP, 4, 10, 0);
	store(t, STK_DT_CONN_RATE, 1, 0);
	UT_CHECK(init_fails(t, "period"));
	stktable_free(t);
	UT_CHECK(init_too_large_fails());

	t = mk_table(STK_KEY_STR, STK_KEY_MAX_LEN, 10, 0);
	UT_CHECK(init_ok(t));
	UT_EQ_INT(stktable_count(t), 0);
	UT_EQ_INT(stktable_avail(t), 10);
	stktable_free(t);
	stktable_free(NULL);
}

/* ---- entries ---------------------------------------------------------- */

static void test_get_lookup_remove(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 100, 0);
	struct stk_key a, b, bad;
	struct stksess *e, *e2, *e3;

	ip_key(&a, 0x01020304);
	ip_key(&b, 0x05060708);
	ip_key(&bad, 1);
	store(t, STK_DT_CONN_CNT, 1, 0);
	UT_CHECK(init_ok(t));
	UT_CHECK(stktable_lookup(t, &a, T0) == NULL);
	e = stktable_get(t, &a, T0);
	UT_CHECK(e != NULL);
	UT_EQ_INT(stksess_refs(e), 1);
	UT_EQ_INT(stktable_count(t), 1);
	UT_EQ_INT(stktable_avail(t), 99);
	e2 = stktable_get(t, &a, T0);
	UT_CHECK(e2 == e);
	UT_EQ_INT(stksess_refs(e), 2);
	e3 = stktable_lookup(t, &a, T0);
	UT_CHECK(e3 == e);
	UT_EQ_INT(stksess_refs(e), 3);
	stksess_release(t, e3, 0, T0);
	stksess_release(t, e2, 1, T0);
	UT_EQ_INT(stksess_refs(e), 1);
	UT_CHECK(stktable_lookup(t, &b, T0) == NULL);
	UT_EQ_INT(stktable_count(t), 1);
	bad.len = 3;			/* a 3-byte key does not fit an ip table */
	UT_CHECK(stktable_get(t, &bad, T0) == NULL);
	UT_EQ_INT(stktable_count(t), 1);

	/* removal of a referenced entry: unlinked now, freed at last release */
	stksess_add(t, e, STK_DT_CONN_CNT, 0, 42, T0);
	UT_EQ_INT(stktable_remove(t, &a), 1);
	UT_EQ_INT(stktable_remove(t, &a), 0);
	UT_CHECK(!present(t, &a, T0));
	UT_EQ_INT(stktable_count(t), 1);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CNT, 0, T0), 42);	/* still usable */
	e2 = stktable_get(t, &a, T0);				/* a new entry */
	UT_CHECK(e2 != NULL && e2 != e);
	UT_EQ_INT(get_val(t, e2, STK_DT_CONN_CNT, 0, T0), 0);
	UT_EQ_INT(stktable_count(t), 2);
	stksess_release(t, e, 1, T0);
	UT_EQ_INT(stktable_count(t), 1);
	UT_CHECK(present(t, &a, T0));
	stksess_release(t, e2, 0, T0);
	UT_EQ_INT(stktable_remove(t, &a), 1);
	UT_EQ_INT(stktable_count(t), 0);
	UT_CHECK(!present(t, &a, T0));
	UT_CHECK(stktable_mem_used(t) > 0);
	stktable_free(t);
}

static struct stksess *get_smp(struct stktable *t, struct sample *smp, const struct smp_ctx *ctx)
{
	struct stk_key k;
	struct stksess *e;

	if (!stk_key_from_sample(t, smp, ctx, &k))
		return NULL;
	e = stktable_get(t, &k, T0);
	stksess_release(t, e, 0, T0);
	return e;
}

static void smp_ip4(struct sample *s, const char *txt)
{
	memset(s, 0, sizeof(*s));
	s->type = SMP_T_IPV4;
	inet_pton(AF_INET, txt, &s->u.ipv4);
}

static void smp_ip6(struct sample *s, const char *txt)
{
	memset(s, 0, sizeof(*s));
	s->type = SMP_T_IPV6;
	inet_pton(AF_INET6, txt, &s->u.ipv6);
}

static void smp_str(struct sample *s, enum smp_type type, const char *p, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->u.str.ptr = p;
	s->u.str.len = len;
}

static void test_keys_ip(const struct smp_ctx *ctx)
{
	struct stktable *t4 = mk_table(STK_KEY_IP, 4, 100, 0);
	struct stktable *t6 = mk_table(STK_KEY_IPV6, 16, 100, 0);
	struct stksess *e;
	struct sample s;

	UT_CHECK(init_ok(t4) && init_ok(t6));
	smp_ip4(&s, "10.1.2.3");
	e = get_smp(t4, &s, ctx);
	UT_CHECK(e != NULL);
	smp_ip6(&s, "::ffff:10.1.2.3");
	UT_CHECK(get_smp(t4, &s, ctx) == e);
	smp_str(&s, SMP_T_STR, "10.1.2.3", 8);
	UT_CHECK(get_smp(t4, &s, ctx) == e);
	smp_ip6(&s, "2001:db8::1");
	UT_CHECK(get_smp(t4, &s, ctx) == NULL);	/* not an IPv4 */
	UT_EQ_INT(stktable_count(t4), 1);

	smp_ip4(&s, "192.0.2.7");
	e = get_smp(t6, &s, ctx);
	UT_CHECK(e != NULL);
	smp_ip6(&s, "::ffff:192.0.2.7");
	UT_CHECK(get_smp(t6, &s, ctx) == e);
	smp_ip6(&s, "2001:db8::1");
	UT_CHECK(get_smp(t6, &s, ctx) != e);
	UT_EQ_INT(stktable_count(t6), 2);
	stktable_free(t4);
	stktable_free(t6);
}

static void test_keys_int_str(const struct smp_ctx *ctx)
{
	struct stktable *ti = mk_table(STK_KEY_INT, 8, 100, 0);
	struct stktable *ts = mk_table(STK_KEY_STR, 8, 100, 0);
	struct stksess *e;
	struct sample s;

	UT_CHECK(init_ok(ti) && init_ok(ts));
	smp_str(&s, SMP_T_STR, "123", 3);
	e = get_smp(ti, &s, ctx);
	UT_CHECK(e != NULL);
	memset(&s, 0, sizeof(s));
	s.type = SMP_T_SINT;
	s.u.sint = 123;
	UT_CHECK(get_smp(ti, &s, ctx) == e);
	s.u.sint = -123;
	UT_CHECK(get_smp(ti, &s, ctx) != e);
	smp_str(&s, SMP_T_STR, "abc", 3);
	UT_CHECK(get_smp(ti, &s, ctx) == NULL);
	UT_EQ_INT(stktable_count(ti), 2);

	smp_str(&s, SMP_T_STR, "abcdefghij", 10);
	e = get_smp(ts, &s, ctx);
	UT_CHECK(e != NULL);
	smp_str(&s, SMP_T_STR, "abcdefghXYZ", 11);	/* same first 8 bytes */
	UT_CHECK(get_smp(ts, &s, ctx) == e);
	smp_str(&s, SMP_T_STR, "abcdefgh", 8);
	UT_CHECK(get_smp(ts, &s, ctx) == e);
	smp_str(&s, SMP_T_STR, "abcdefg", 7);
	UT_CHECK(get_smp(ts, &s, ctx) != e);
	smp_ip4(&s, "1.2.3.4");				/* "1.2.3.4" as text */
	e = get_smp(ts, &s, ctx);
	UT_CHECK(e != NULL);
	smp_str(&s, SMP_T_STR, "1.2.3.4", 7);
	UT_CHECK(get_smp(ts, &s, ctx) == e);
	UT_EQ_INT(stktable_count(ts), 3);
	stktable_free(ti);
	stktable_free(ts);
}

static void test_keys_bin(const struct smp_ctx *ctx)
{
	struct stktable *t = mk_table(STK_KEY_BIN, 8, 100, 0);
	struct stksess *e, *z;
	struct sample s;

	UT_CHECK(init_ok(t));
	smp_str(&s, SMP_T_BIN, "ab", 2);
	e = get_smp(t, &s, ctx);
	UT_CHECK(e != NULL);
	smp_str(&s, SMP_T_BIN, "ab\0", 3);
	UT_CHECK(get_smp(t, &s, ctx) == e);
	smp_str(&s, SMP_T_BIN, "ab\0\0\0\0\0\0", 8);
	UT_CHECK(get_smp(t, &s, ctx) == e);
	smp_str(&s, SMP_T_STR, "ab", 2);		/* a string converts to binary */
	UT_CHECK(get_smp(t, &s, ctx) == e);
	smp_str(&s, SMP_T_BIN, "ab\0c", 4);
	UT_CHECK(get_smp(t, &s, ctx) != e);
	smp_str(&s, SMP_T_BIN, "abcdefgh12", 10);
	e = get_smp(t, &s, ctx);
	smp_str(&s, SMP_T_BIN, "abcdefgh", 8);
	UT_CHECK(get_smp(t, &s, ctx) == e);
	smp_str(&s, SMP_T_BIN, "", 0);
	z = get_smp(t, &s, ctx);
	smp_str(&s, SMP_T_BIN, "\0\0\0", 3);
	UT_CHECK(z != NULL && get_smp(t, &s, ctx) == z);
	UT_EQ_INT(stktable_count(t), 4);
	stktable_free(t);
}

/* An entry's key back as a sample, and into another table with it. */
static void test_key_sample(const struct smp_ctx *ctx)
{
	struct stktable *t4 = mk_table(STK_KEY_IP, 4, 10, 0);
	struct stktable *ts = mk_table(STK_KEY_STR, 8, 10, 0);
	struct stktable *tb = mk_table(STK_KEY_BIN, 8, 10, 0);
	struct stktable *ti = mk_table(STK_KEY_INT, 8, 10, 0);
	struct stksess *e, *e2;
	struct sample s;
	char txt[32];

	UT_CHECK(init_ok(t4) && init_ok(ts) && init_ok(tb) && init_ok(ti));
	smp_ip4(&s, "10.9.8.7");
	e = get_smp(t4, &s, ctx);
	stksess_key_sample(t4, e, &s);
	UT_EQ_INT(s.type, SMP_T_IPV4);
	inet_ntop(AF_INET, &s.u.ipv4, txt, sizeof(txt));
	UT_EQ_STR(txt, "10.9.8.7");
	e2 = get_smp(ts, &s, ctx);			/* "10.9.8.7" in a string table */
	stksess_key_sample(ts, e2, &s);
	UT_EQ_INT(s.type, SMP_T_STR);
	UT_EQ_INT(s.u.str.len, 8);
	UT_CHECK(!memcmp(s.u.str.ptr, "10.9.8.7", 8));

	smp_str(&s, SMP_T_STR, "ab", 2);
	e = get_smp(ts, &s, ctx);
	stksess_key_sample(ts, e, &s);
	UT_EQ_INT(s.u.str.len, 2);
	smp_str(&s, SMP_T_BIN, "ab", 2);
	e = get_smp(tb, &s, ctx);
	stksess_key_sample(tb, e, &s);
	UT_EQ_INT(s.type, SMP_T_BIN);
	UT_EQ_INT(s.u.str.len, 8);			/* padded */
	UT_CHECK(!memcmp(s.u.str.ptr, "ab\0\0\0\0\0\0", 8));
	UT_CHECK(get_smp(tb, &s, ctx) == e);

	memset(&s, 0, sizeof(s));
	s.type = SMP_T_SINT;
	s.u.sint = -42;
	e = get_smp(ti, &s, ctx);
	stksess_key_sample(ti, e, &s);
	UT_EQ_INT(s.type, SMP_T_SINT);
	UT_EQ_INT(s.u.sint, -42);
	stktable_free(t4);
	stktable_free(ts);
	stktable_free(tb);
	stktable_free(ti);
}

/* ---- expiry and eviction --------------------------------------------- */

static void test_expiry(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 100, 1000);
	struct stk_key a, b, c;
	struct stksess *e;

	ip_key(&a, 1);
	ip_key(&b, 2);
	ip_key(&c, 3);
	UT_CHECK(init_ok(t));
	stksess_release(t, stktable_get(t, &a, T0), 1, T0);
	UT_CHECK(present(t, &a, T0 + 999));
	UT_CHECK(!present(t, &a, T0 + 1000));
	UT_EQ_INT(stktable_count(t), 0);	/* the lookup dropped it */

	/* a touch on release restarts the expiry */
	stksess_release(t, stktable_get(t, &a, T0), 1, T0);
	e = stktable_get(t, &a, T0 + 500);
	stksess_release(t, e, 1, T0 + 800);
	UT_CHECK(present(t, &a, T0 + 1500));	/* lookups do not touch */
	UT_CHECK(present(t, &a, T0 + 1799));
	UT_CHECK(!present(t, &a, T0 + 1800));

	/* purge drops expired entries; referenced ones survive */
	stksess_release(t, stktable_get(t, &a, T0), 1, T0);
	stksess_release(t, stktable_get(t, &b, T0), 1, T0);
	e = stktable_get(t, &c, T0);
	UT_EQ_INT(stktable_count(t), 3);
	stktable_purge(t, T0 + 999);
	UT_EQ_INT(stktable_count(t), 3);
	stktable_purge(t, T0 + 5000);
	UT_EQ_INT(stktable_count(t), 1);
	UT_CHECK(present(t, &c, T0 + 5000));
	UT_CHECK(!present(t, &a, T0 + 5000));
	stksess_release(t, e, 0, T0 + 5000);	/* requeued at the purge */
	stktable_purge(t, T0 + 5999);
	UT_EQ_INT(stktable_count(t), 1);
	stktable_purge(t, T0 + 6000);
	UT_EQ_INT(stktable_count(t), 0);

	/* a get on an expired entry gives a fresh one */
	e = stktable_get(t, &a, T0);
	stksess_add(t, e, STK_DT_CONN_CNT, 0, 1, T0);	/* not kept: ignored */
	stksess_release(t, e, 1, T0);
	e = stktable_get(t, &a, T0 + 2000);
	UT_CHECK(e != NULL);
	UT_EQ_INT(stktable_count(t), 1);
	stksess_release(t, e, 1, T0 + 2000);
	stktable_free(t);
}

static void test_expiry_never(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 10, 0);
	struct stk_key a;

	ip_key(&a, 1);
	UT_CHECK(init_ok(t));
	stksess_release(t, stktable_get(t, &a, T0), 1, T0);
	stktable_purge(t, T0 + 100000000ull);
	UT_CHECK(present(t, &a, T0 + 4000000000ull));
	stktable_free(t);
}

static void test_eviction(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 100, 0);
	struct stksess *held[10];
	struct stk_key k;
	unsigned i, found = 0;

	UT_CHECK(init_ok(t));
	for (i = 0; i < 150; i++) {
		ip_key(&k, 1000 + i);
		stksess_release(t, stktable_get(t, &k, T0 + i), 1, T0 + i);
	}
	UT_EQ_INT(stktable_count(t), 100);
	UT_EQ_INT(stktable_avail(t), 0);
	ip_key(&k, 1000);
	UT_CHECK(!present(t, &k, T0 + 200));
	ip_key(&k, 1049);
	UT_CHECK(!present(t, &k, T0 + 200));
	ip_key(&k, 1149);
	UT_CHECK(present(t, &k, T0 + 200));
	for (i = 0; i < 150; i++) {
		ip_key(&k, 1000 + i);
		found += present(t, &k, T0 + 200);
	}
	UT_EQ_INT(found, 100);

	/* referenced entries are never evicted */
	for (i = 0; i < 10; i++) {
		ip_key(&k, 1100 + i);
		held[i] = stktable_get(t, &k, T0 + 300);
	}
	for (i = 0; i < 300; i++) {
		ip_key(&k, 5000 + i);
		stksess_release(t, stktable_get(t, &k, T0 + 400 + i), 1, T0 + 400 + i);
	}
	UT_EQ_INT(stktable_count(t), 100);
	for (i = 0, found = 0; i < 10; i++) {
		ip_key(&k, 1100 + i);
		found += present(t, &k, T0 + 1000);
	}
	UT_EQ_INT(found, 10);
	ip_key(&k, 5299);
	UT_CHECK(present(t, &k, T0 + 1000));
	ip_key(&k, 5000);
	UT_CHECK(!present(t, &k, T0 + 1000));
	for (i = 0; i < 10; i++)
		stksess_release(t, held[i], 1, T0 + 1000);
	stktable_free(t);
}

static void test_eviction_all_referenced(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 5, 0);
	struct stksess *held[5];
	struct stk_key k;
	unsigned i;

	UT_CHECK(init_ok(t));
	for (i = 0; i < 5; i++) {
		ip_key(&k, i);
		held[i] = stktable_get(t, &k, T0);
	}
	ip_key(&k, 99);
	UT_CHECK(stktable_get(t, &k, T0) == NULL);
	stksess_release(t, held[2], 0, T0);
	UT_CHECK((held[2] = stktable_get(t, &k, T0)) != NULL);
	ip_key(&k, 2);
	UT_CHECK(!present(t, &k, T0));
	UT_EQ_INT(stktable_count(t), 5);
	for (i = 0; i < 5; i++)
		stksess_release(t, held[i], 0, T0);
	stktable_free(t);
}

static void test_nopurge(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 100, 1000);
	struct stksess *e;
	struct stk_key k;
	unsigned i;

	t->nopurge = 1;
	UT_CHECK(init_ok(t));
	for (i = 0; i < 100; i++) {
		ip_key(&k, i);
		e = stktable_get(t, &k, T0);
		UT_CHECK(e != NULL);
		stksess_release(t, e, 1, T0);
	}
	ip_key(&k, 100);
	UT_CHECK(stktable_get(t, &k, T0 + 10) == NULL);
	UT_EQ_INT(stktable_count(t), 100);
	ip_key(&k, 5);
	e = stktable_get(t, &k, T0 + 10);	/* existing keys are still found */
	UT_CHECK(e != NULL);
	stksess_release(t, e, 1, T0 + 10);
	ip_key(&k, 100);			/* expiry still frees room */
	e = stktable_get(t, &k, T0 + 1005);
	UT_CHECK(e != NULL);
	stksess_release(t, e, 1, T0 + 1005);
	stktable_free(t);
}

/* Many shards: a full table frees room in other shards too. */
static void test_eviction_sharded(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 20000, 0);
	struct stk_key k;
	unsigned i, got = 0, found = 0;

	UT_CHECK(init_ok(t));
	UT_CHECK(t->nshards > 1);
	for (i = 0; i < 60000; i++) {
		struct stksess *e;

		ip_key(&k, i);
		e = stktable_get(t, &k, T0 + i);
		got += e != NULL;
		stksess_release(t, e, 1, T0 + i);
	}
	UT_EQ_INT(got, 60000);
	UT_EQ_INT(stktable_count(t), 20000);
	for (i = 59000; i < 60000; i++) {
		ip_key(&k, i);
		found += present(t, &k, T0 + 60000);
	}
	UT_EQ_INT(found, 1000);			/* the newest are all there */
	for (i = 0, found = 0; i < 60000; i++) {
		ip_key(&k, i);
		found += stktable_remove(t, &k);
	}
	UT_EQ_INT(found, 20000);
	UT_EQ_INT(stktable_count(t), 0);
	for (i = 0, got = 0; i < 20000; i++) {	/* slots come back from free lists */
		ip_key(&k, 100000 + i);
		got += stktable_get(t, &k, T0) != NULL;
	}
	UT_EQ_INT(got, 20000);
	UT_EQ_INT(stktable_count(t), 20000);
	stktable_free(t);
}

/* ---- stored data -------------------------------------------------------- */

static struct stktable *mk_all_types(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 10, 0);
	int dt;

	for (dt = 0; dt < STK_DT_COUNT; dt++)
		store(t, dt, stk_dt_is_array(dt) ? 3 : 1, stk_dt_is_rate(dt) ? 10000 : 0);
	return t;
}

#define NOT_KEPT 0xffffffffffffull

static void test_data_scalars(void)
{
	struct stktable *t = mk_all_types();
	struct stk_key k;
	struct stksess *e;

	ip_key(&k, 7);
	UT_CHECK(init_ok(t));
	e = stktable_get(t, &k, T0);
	UT_CHECK(stksess_set(t, e, STK_DT_SERVER_ID, 0, 12, T0));
	UT_EQ_INT(get_val(t, e, STK_DT_SERVER_ID, 0, T0), 12);
	UT_CHECK(!stksess_set(t, e, STK_DT_SERVER_ID, 1, 12, T0));
	stksess_set(t, e, STK_DT_GPT0, 0, 77, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPT0, 0, T0), 77);
	UT_EQ_INT(get_val(t, e, STK_DT_GPT, 0, T0), 0);	/* gpt0 is its own */
	stksess_add(t, e, STK_DT_GPC0, 0, 3, T0);
	stksess_add(t, e, STK_DT_GPC0, 0, -5, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0, 0, T0), 0);	/* floored */
	stksess_set(t, e, STK_DT_CONN_CNT, 0, UINT32_MAX - 1, T0);
	stksess_add(t, e, STK_DT_CONN_CNT, 0, 5, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CNT, 0, T0), UINT32_MAX);	/* saturated */
	stksess_set(t, e, STK_DT_CONN_CNT, 0, 0, T0);

	stksess_conn_start(t, e, T0);
	stksess_conn_start(t, e, T0 + 1);
	stksess_conn_start(t, e, T0 + 2);
	stksess_conn_end(t, e, T0 + 3);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CNT, 0, T0 + 3), 3);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CUR, 0, T0 + 3), 2);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_RATE, 0, T0 + 3), 3);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_RATE, 0, T0 + 25000), 0);
	stksess_conn_end(t, e, T0);
	stksess_conn_end(t, e, T0);
	stksess_conn_end(t, e, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CUR, 0, T0), 0);	/* floor at 0 */
	stksess_sess_start(t, e, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_SESS_CNT, 0, T0), 1);
	UT_EQ_INT(get_val(t, e, STK_DT_SESS_RATE, 0, T0), 1);

	stksess_add_bytes(t, e, 100, 5000000000ull, T0);
	stksess_add_bytes(t, e, 100, 200, T0 + 1);
	UT_EQ_INT(get_val(t, e, STK_DT_BYTES_IN_CNT, 0, T0), 200);
	UT_EQ_INT(get_val(t, e, STK_DT_BYTES_OUT_CNT, 0, T0), 5000000200ull);
	UT_EQ_INT(get_val(t, e, STK_DT_BYTES_IN_RATE, 0, T0 + 1), 200);
	UT_EQ_INT(get_val(t, e, STK_DT_BYTES_OUT_RATE, 0, T0 + 1), UINT32_MAX);
	stksess_add(t, e, STK_DT_BYTES_IN_CNT, 0, -1000, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_BYTES_IN_CNT, 0, T0), 0);

	/* a rate can only be cleared */
	UT_CHECK(stksess_set(t, e, STK_DT_SESS_RATE, 0, 9, T0));
	UT_EQ_INT(get_val(t, e, STK_DT_SESS_RATE, 0, T0), 1);
	stksess_set(t, e, STK_DT_SESS_RATE, 0, 0, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_SESS_RATE, 0, T0), 0);
	stksess_add(t, e, STK_DT_SESS_RATE, 0, 4, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_SESS_RATE, 0, T0 + 15000), 2);
	stksess_release(t, e, 1, T0);
	stktable_free(t);
}

static void test_data_arrays(void)
{
	struct stktable *t = mk_all_types();
	struct stk_key k;
	struct stksess *e;
	uint64_t v = 0;

	ip_key(&k, 7);
	UT_CHECK(init_ok(t));
	e = stktable_get(t, &k, T0);
	UT_CHECK(stksess_set(t, e, STK_DT_GPT, 2, 9, T0));
	UT_CHECK(!stksess_set(t, e, STK_DT_GPT, 3, 9, T0));
	UT_EQ_INT(get_val(t, e, STK_DT_GPT, 2, T0), 9);
	UT_EQ_INT(get_val(t, e, STK_DT_GPT, 3, T0), NOT_KEPT);
	UT_CHECK(stksess_add(t, e, STK_DT_GPC, 1, 4, T0));
	UT_EQ_INT(get_val(t, e, STK_DT_GPC, 1, T0), 4);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC1, 0, T0), 0);	/* own slot, no fallback */
	UT_CHECK(stksess_add(t, e, STK_DT_GPC_RATE, 2, 6, T0));
	UT_EQ_INT(get_val(t, e, STK_DT_GPC_RATE, 2, T0), 6);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC_RATE, 1, T0), 0);

	/* gpc_add, not legacy: gpc[i] and gpc_rate[i] */
	UT_CHECK(stksess_gpc_add(t, e, 0, 2, 3, T0, &v));
	UT_EQ_INT(v, 3);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC_RATE, 2, T0), 9);
	UT_CHECK(!stksess_gpc_add(t, e, 0, 3, 1, T0, &v));
	/* legacy: gpc0 and gpc0_rate (both kept themselves) */
	UT_CHECK(stksess_gpc_add(t, e, 1, 0, 2, T0, &v));
	UT_CHECK(stksess_gpc_add(t, e, 1, 0, 1, T0, &v));
	UT_EQ_INT(v, 3);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0_RATE, 0, T0), 3);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC, 0, T0), 0);
	UT_CHECK(stksess_gpc_clear(t, e, 1, 0, T0, &v));
	UT_EQ_INT(v, 3);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0, 0, T0), 0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0_RATE, 0, T0), 0);
	UT_CHECK(!stksess_gpc_add(t, e, 1, 2, 1, T0, &v));
	stksess_release(t, e, 1, T0);
	stktable_free(t);
}

static void test_data_legacy_fallback(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 10, 0);
	struct stk_key k;
	struct stksess *e;
	uint64_t v = 0;

	ip_key(&k, 7);
	store(t, STK_DT_GPT, 1, 0);
	store(t, STK_DT_GPC, 2, 0);
	store(t, STK_DT_GPC_RATE, 2, 10000);
	UT_CHECK(init_ok(t));
	UT_CHECK(stktable_stores(t, STK_DT_GPT0, 0));
	UT_CHECK(stktable_stores(t, STK_DT_GPC0, 0));
	UT_CHECK(stktable_stores(t, STK_DT_GPC1, 0));
	UT_CHECK(stktable_stores(t, STK_DT_GPC0_RATE, 0));
	UT_CHECK(stktable_stores(t, STK_DT_GPC1_RATE, 0));
	UT_CHECK(stktable_stores(t, STK_DT_GPC, 1));
	UT_CHECK(!stktable_stores(t, STK_DT_GPC, 2));
	UT_CHECK(!stktable_stores(t, STK_DT_GPT, 1));
	UT_CHECK(!stktable_stores(t, STK_DT_GPC0, 1));
	UT_CHECK(!stktable_stores(t, STK_DT_CONN_CNT, 0));
	UT_CHECK(!stktable_stores(t, STK_DT_SERVER_ID, 0));

	e = stktable_get(t, &k, T0);
	stksess_set(t, e, STK_DT_GPT0, 0, 5, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPT, 0, T0), 5);
	stksess_add(t, e, STK_DT_GPC1, 0, 4, T0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC, 1, T0), 4);
	UT_CHECK(stksess_gpc_add(t, e, 1, 1, 2, T0, &v));	/* gpc1 -> gpc[1] */
	UT_EQ_INT(v, 6);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC1_RATE, 0, T0), 2);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC_RATE, 1, T0), 2);
	UT_CHECK(stksess_gpc_add(t, e, 1, 0, 1, T0, &v));	/* gpc0 -> gpc[0] */
	UT_EQ_INT(v, 1);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0, 0, T0), 1);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0_RATE, 0, T0), 1);
	UT_CHECK(stksess_gpc_clear(t, e, 0, 1, T0, &v));
	UT_EQ_INT(v, 6);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC1, 0, T0), 0);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC1_RATE, 0, T0), 0);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CNT, 0, T0), NOT_KEPT);
	UT_CHECK(!stksess_add(t, e, STK_DT_CONN_CNT, 0, 1, T0));
	stksess_conn_start(t, e, T0);				/* nothing kept: no-op */
	stksess_release(t, e, 1, T0);
	stktable_free(t);
}

static void test_data_rate_only(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 10, 0);
	struct stk_key k;
	struct stksess *e;
	uint64_t v = 0;

	ip_key(&k, 7);
	store(t, STK_DT_GPC0_RATE, 1, 1000);
	UT_CHECK(init_ok(t));
	e = stktable_get(t, &k, T0);
	UT_CHECK(stksess_gpc_add(t, e, 1, 0, 1, T0, &v));
	UT_CHECK(stksess_gpc_add(t, e, 1, 0, 1, T0 + 10, &v));
	UT_EQ_INT(v, 2);					/* the rate's value */
	UT_CHECK(!stksess_gpc_add(t, e, 1, 1, 1, T0, &v));
	UT_CHECK(!stksess_gpc_add(t, e, 0, 0, 1, T0, &v));
	UT_CHECK(stksess_gpc_clear(t, e, 1, 0, T0 + 20, &v));
	UT_EQ_INT(v, 2);
	UT_EQ_INT(get_val(t, e, STK_DT_GPC0_RATE, 0, T0 + 20), 0);
	stksess_release(t, e, 1, T0);
	stktable_free(t);
}

/* ---- concurrency ------------------------------------------------------ */

struct worker_arg {
	struct stktable *t;
	unsigned id;
	unsigned over;		/* times count was seen above size */
	unsigned misses;	/* gets that returned NULL */
};

static void *conn_worker(void *p)
{
	struct worker_arg *a = p;
	struct stk_key k;
	unsigned i;

	ip_key(&k, 0x0a000001);
	for (i = 0; i < THREAD_ITERS; i++) {
		struct stksess *e = stktable_get(a->t, &k, T0 + i / 100);

		if (!e) {
			a->misses++;
			continue;
		}
		stksess_conn_start(a->t, e, T0 + i / 100);
		stksess_release(a->t, e, i & 1, T0 + i / 100);
	}
	return NULL;
}

static void test_threads_one_key(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, 1000, 0);
	struct worker_arg args[4];
	pthread_t th[4];
	struct stk_key k;
	struct stksess *e;
	unsigned i, misses = 0;

	ip_key(&k, 0x0a000001);
	store(t, STK_DT_CONN_CNT, 1, 0);
	store(t, STK_DT_CONN_CUR, 1, 0);
	store(t, STK_DT_CONN_RATE, 1, 10000);
	UT_CHECK(init_ok(t));
	for (i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ .t = t, .id = i };
		pthread_create(&th[i], NULL, conn_worker, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		misses += args[i].misses;
	}
	UT_EQ_INT(misses, 0);
	e = stktable_lookup(t, &k, T0);
	UT_CHECK(e != NULL);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CNT, 0, T0), 4 * THREAD_ITERS);
	UT_EQ_INT(get_val(t, e, STK_DT_CONN_CUR, 0, T0), 4 * THREAD_ITERS);
	UT_EQ_INT(stksess_refs(e), 1);
	stksess_release(t, e, 0, T0);
	stktable_free(t);
}

static void *insert_worker(void *p)
{
	struct worker_arg *a = p;
	unsigned i;

	for (i = 0; i < THREAD_ITERS / 2; i++) {
		struct stksess *e;
		struct stk_key k;

		ip_key(&k, a->id << 24 | i);
		e = stktable_get(a->t, &k, T0 + i);

		if (stktable_count(a->t) > a->t->size)
			a->over++;
		if (!e) {
			a->misses++;
			continue;
		}
		stksess_conn_start(a->t, e, T0 + i);
		stksess_release(a->t, e, 1, T0 + i);
		if (i % 7 == 3) {		/* frees slots into shard free lists */
			ip_key(&k, a->id << 24 | (i - 3));
			stktable_remove(a->t, &k);
		}
	}
	return NULL;
}

static void run_insert_threads(unsigned size, unsigned expire)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, size, expire);
	struct worker_arg args[4];
	pthread_t th[4];
	unsigned i, over = 0, misses = 0;

	store(t, STK_DT_CONN_CNT, 1, 0);
	UT_CHECK(init_ok(t));
	for (i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ .t = t, .id = i + 1 };
		pthread_create(&th[i], NULL, insert_worker, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		over += args[i].over;
		misses += args[i].misses;
	}
	UT_EQ_INT(over, 0);
	UT_EQ_INT(misses, 0);
	UT_CHECK(stktable_count(t) <= size);
	if (!expire)
		UT_CHECK(stktable_count(t) >= size * 9 / 10);
	stktable_purge(t, T0 + 10ull * THREAD_ITERS);
	if (expire)
		UT_EQ_INT(stktable_count(t), 0);
	stktable_free(t);
}

static void test_threads_insert(void)
{
	run_insert_threads(1000, 0);
	run_insert_threads(20000, 0);		/* many shards */
	run_insert_threads(20000, 500);	/* with expiry */
}

/* ---- memory per entry -------------------------------------------------- */

static void test_bench_memory(void)
{
	struct stktable *t = mk_table(STK_KEY_IP, 4, BENCH_SIZE, 10000);
	struct stk_key k;
	unsigned i, misses = 0;
	double per;

	store(t, STK_DT_CONN_RATE, 1, 10000);
	UT_CHECK(init_ok(t));
	for (i = 0; i < BENCH_SIZE; i++) {
		struct stksess *e;

		ip_key(&k, 0x0a000000 + i);
		e = stktable_get(t, &k, T0);
		misses += !e;
		stksess_conn_start(t, e, T0);
		stksess_release(t, e, 1, T0);
	}
	UT_EQ_INT(misses, 0);
	UT_EQ_INT(stktable_count(t), BENCH_SIZE);
	per = (double)stktable_mem_used(t) / stktable_count(t);
	printf("stick table: type ip size %u store conn_rate(10s): %u entries, "
	       "%u bytes/entry, %.1f bytes/entry with buckets and shards\n",
	       BENCH_SIZE, stktable_count(t), t->entry_size, per);
	UT_CHECK(per < 80);
	UT_CHECK(per <= 64);
	stktable_free(t);
}

int main(void)
{
	char scratch[256];
	struct smp_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.scratch = scratch;
	ctx.scratch_size = sizeof(scratch);

	test_freq_ctr_windows();
	test_freq_ctr_wrap();
	test_dt_names();
	test_init();
	test_get_lookup_remove();
	test_keys_ip(&ctx);
	test_keys_int_str(&ctx);
	test_keys_bin(&ctx);
	test_key_sample(&ctx);
	test_expiry();
	test_expiry_never();
	test_eviction();
	test_eviction_all_referenced();
	test_nopurge();
	test_eviction_sharded();
	test_data_scalars();
	test_data_arrays();
	test_data_legacy_fallback();
	test_data_rate_only();
	test_threads_one_key();
	test_threads_insert();
	test_bench_memory();
	UT_DONE();
}
