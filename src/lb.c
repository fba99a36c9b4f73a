/* lb.c - balancer core: keywords, usable set, state publication, hashing.
 *
 * The algorithms live in lb_rr.c, lb_lc.c, lb_hash.c and lb_random.c; this
 * file parses "balance", "hash-type" and "hash-balance-factor", picks the
 * ops table of each backend after parsing, and holds what they share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/qsbr.h"
#include "sluice/sample.h"
#include "sluice/server.h"

#define LB_MAX_DRAWS		100
#define LB_MAX_BALANCE_FACTOR	100000

/* ------------------------------------------------------------------ */
/* Usable set                                                         */

unsigned lb_collect(struct proxy *be, struct server **out, int *backups)
{
	struct server *s;
	unsigned n = 0;
	int all = !!(be->options & PX_O_ALLBACKUPS);

	/* nb_srv bounds the walk too, so out[] can never overflow. */
	for (s = be->srv; s && n < be->nb_srv; s = s->next)
		if (!(s->flags & SRV_F_BACKUP) && srv_is_usable(s))
			out[n++] = s;
	*backups = 0;
	if (n)
		return n;
	for (s = be->srv; s && n < be->nb_srv; s = s->next) {
		if (!(s->flags & SRV_F_BACKUP) || !srv_is_usable(s))
			continue;
		out[n++] = s;
		if (!all)
			break;
	}
	*backups = n > 0;
	return n;
}

struct server *lb_scan_free(struct server *const *srv, unsigned n, unsigned start,
			    const struct server *avoid, int *all_full)
{
	unsigned i, full = 0;

	for (i = 0; i < n; i++) {
		struct server *s = srv[(start + i) % n];

		if (s == avoid || !srv_is_usable(s))
			continue;
		if (srv_has_slot(s))
			return s;
		full++;
	}
	if (full)
		*all_full = 1;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* State publication                                                  */

void lb_publish(struct proxy *be, void *state, unsigned usable, int backups)
{
	void *old;

	atomic_store_explicit(&be->lb.usable, usable, memory_order_relaxed);
	atomic_store_explicit(&be->lb.using_backups, backups, memory_order_relaxed);
	/* release: a reader that sees the pointer sees the filled tables */
	old = atomic_exchange_explicit(&be->lb.state, state, memory_order_acq_rel);
	if (old)
		qsbr_retire(old, free);
}

int lb_init_state(struct proxy *be)
{
	pthread_mutex_lock(&be->lb.lock);
	be->lb.ops->update(be);
	pthread_mutex_unlock(&be->lb.lock);
	return atomic_load(&be->lb.state) ? 0 : -1;
}

void lb_free_state(struct proxy *be)
{
	free(atomic_exchange(&be->lb.state, NULL));
}

/* ------------------------------------------------------------------ */
/* Interleaved weighted sequences (roundrobin, map-based, random)     */

static unsigned gcd_u(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static unsigned weights_gcd(const unsigned *w, unsigned n)
{
	unsigned i, g = 0;

	for (i = 0; i < n; i++)
		g = gcd_u(w[i], g);
	return g;
}

unsigned lb_seq_len(const unsigned *weights, unsigned n)
{
	unsigned i, g = weights_gcd(weights, n), len = 0;

	if (!g)
		return 0;
	for (i = 0; i < n; i++)
		len += weights[i] / g;
	return len;
}

/* The k-th of a server's w turns sits at (2k+1)/(2w) of the cycle: turns of
 * one server are evenly spaced, and servers interleave. */
struct seq_turn {
	uint32_t num, den, idx;
};

static int seq_turn_cmp(const void *a, const void *b)
{
	const struct seq_turn *x = a, *y = b;
	uint64_t l = (uint64_t)x->num * y->den, r = (uint64_t)y->num * x->den;

	if (l != r)
		return l < r ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int lb_build_sequence(const unsigned *weights, unsigned n, uint32_t *seq)
{
	unsigned i, k, g = weights_gcd(weights, n), len = lb_seq_len(weights, n), pos = 0;
	struct seq_turn *turns;

	if (!len)
		return 0;
	turns = malloc(len * sizeof(*turns));
	if (!turns)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned w = weights[i] / g;

		for (k = 0; k < w; k++)
			turns[pos++] = (struct seq_turn){ 2 * k + 1, 2 * w, i };
	}
	qsort(turns, len, sizeof(*turns), seq_turn_cmp);
	for (i = 0; i < len; i++)
		seq[i] = turns[i].idx;
	free(turns);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hashing: a Murmur3-style multiply/rotate body with the fmix64       */
/* finaliser, reading little-endian words so every host agrees.        */

#define HASH_C1 0x87c37b91114253d5ULL
#define HASH_C2 0x4cf5ad432745937fULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t load_le(const unsigned char *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint64_t mix_word(uint64_t k)
{
	k *= HASH_C1;
	k = rotl64(k, 31);
	return k * HASH_C2;
}

static inline uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

uint64_t lb_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * HASH_C2);

	for (; len >= 8; p += 8, len -= 8) {
		h ^= mix_word(load_le(p, 8));
		h = rotl64(h, 27) * 5 + 0x52dce729;
	}
	if (len)
		h ^= mix_word(load_le(p, len));
	return fmix64(h);
}

/* ------------------------------------------------------------------ */
/* Runtime entry points                                               */

void lb_server_changed(struct server *s)
{
	struct proxy *be = s->px;

	if (!be || !be->lb.ops)
		return;	/* before lb_init_backend(): it will read the state */
	pthread_mutex_lock(&be->lb.lock);
	be->lb.ops->update(be);
	pthread_mutex_unlock(&be->lb.lock);
}

struct server *lb_pick(struct proxy *be, uint64_t hash,
		       const struct server *avoid, int *all_full)
{
	int dummy;

	if (!all_full)
		all_full = &dummy;
	*all_full = 0;
	if (!be->lb.ops)
		return NULL;
	return be->lb.ops->pick(be, hash, avoid, all_full);
}

/* ------------------------------------------------------------------ */
/* Set-up after parsing                                               */

static const struct lb_ops *lb_select_ops(const struct lb *lb)
{
	switch (lb->algo) {
	case LB_ALGO_STATIC_RR:	return &lb_static_rr_ops;
	case LB_ALGO_LEASTCONN:	return &lb_leastconn_ops;
	case LB_ALGO_FIRST:	return &lb_first_ops;
	case LB_ALGO_RANDOM:	return &lb_random_ops;
	case LB_ALGO_SOURCE:
	case LB_ALGO_HASH:
		return lb->hash_type == LB_HASH_CONSISTENT ? &lb_chash_ops : &lb_map_hash_ops;
	case LB_ALGO_ROUNDROBIN:
	default:
		return &lb_rr_ops;
	}
}

/* A "balance hash" inherited from defaults arrives as text only (proxy.c
 * copies the string, never the compiled expression): compile it here. */
static int lb_compile_hash_expr(struct proxy *be)
{
	char err[256] = "";

	if (be->lb.algo != LB_ALGO_HASH || be->lb.hash_expr)
		return 0;
	if (!be->lb.hash_expr_str) {
		cfg_err_at(be->conf_file, be->conf_line,
			   "backend '%s': 'balance hash' has no expression", be->name);
		return 1;
	}
	be->lb.hash_expr = sample_parse_expr(be->lb.hash_expr_str, err, sizeof(err));
	if (!be->lb.hash_expr) {
		cfg_err_at(be->lb.conf_file, be->lb.conf_line,
			   "'balance hash %s' (inherited by backend '%s'): %s",
			   be->lb.hash_expr_str, be->name, err);
		return 1;
	}
	return 0;
}

/* HAProxy ignores the factor outside consistent hashing; so do we, but an
 * operator should know. */
static void lb_warn_unused_factor(const struct proxy *be)
{
	if (!be->lb.hash_balance_factor || be->lb.ops == &lb_chash_ops)
		return;
	fprintf(stderr, "%s:%d: warning: backend '%s': 'hash-balance-factor' only "
		"applies to 'hash-type consistent' with 'balance source' or "
		"'balance hash'; ignored\n",
		be->conf_file ? be->conf_file : "?", be->conf_line, be->name);
}

int lb_init_backend(struct proxy *be)
{
	struct server *s;
	unsigned pos = 0;

	if (lb_compile_hash_expr(be))
		return 1;
	for (s = be->srv; s; s = s->next)
		s->lb_pos = pos++;
	if (!be->lb.random_draws)
		be->lb.random_draws = 2;
	be->lb.ops = lb_select_ops(&be->lb);
	lb_warn_unused_factor(be);
	if (be->lb.ops->init(be) < 0) {
		cfg_err_at(be->conf_file, be->conf_line,
			   "backend '%s': out of memory building the '%s' balancer",
			   be->name, be->lb.ops->name);
		return 1;
	}
	return 0;
}

static int lb_postparse(struct config *conf)
{
	struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next)
		if (px->cap & PX_CAP_BE)
			errors += lb_init_backend(px);
	return errors;
}

/* ------------------------------------------------------------------ */
/* Keywords                                                           */

/* "random" or "random(N)"; 0, or -1 after cfg_err(). */
static int parse_random(struct cfg_ctx *ctx, const char *word, struct lb *lb)
{
	unsigned long draws = 2;
	size_t len = strlen(word);

	if (word[6] == '(') {
		char num[16];

		if (len < 9 || word[len - 1] != ')' || len - 8 >= sizeof(num))
			goto bad;
		memcpy(num, word + 7, len - 8);
		num[len - 8] = '\0';
		if (cfg_parse_uint(num, 1, LB_MAX_DRAWS, &draws) < 0)
			goto bad;
	} else if (word[6]) {
		goto bad;
	}
	lb->algo = LB_ALGO_RANDOM;
	lb->random_draws = draws;
	return 0;
bad:
	return cfg_err(ctx, "'balance random': expects 'random' or 'random(N)' with N "
		       "draws from 1 to %d, got '%s'", LB_MAX_DRAWS, word);
}

/* "hash <expr>": compiled in backends, only checked in defaults (the
 * backends that inherit it compile their own copy). */
static int parse_hash(struct cfg_ctx *ctx, int argc, char **args, struct lb *lb)
{
	struct sample_expr *expr;
	char err[256] = "";
	char *str;

	if (argc != 3)
		return cfg_err(ctx, "'balance hash': expects one sample expression, e.g. "
			       "'balance hash src' (quote it if it contains spaces)");
	expr = sample_parse_expr(args[2], err, sizeof(err));
	if (!expr)
		return cfg_err(ctx, "'balance hash %s': %s", args[2], err);
	str = strdup(args[2]);
	if (!str) {
		sample_free_expr(expr);
		return cfg_err(ctx, "'balance hash': out of memory");
	}
	if (ctx->section == CFG_DEFAULTS) {
		sample_free_expr(expr);
		expr = NULL;
	}
	lb->algo = LB_ALGO_HASH;
	lb->hash_expr = expr;
	lb->hash_expr_str = str;
	return 0;
}

static int is_algo(const char *word, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(word, name, len) && (!word[len] || word[len] == '(');
}

/* Algorithms HAProxy has that sluice refuses, with the reason. 1 if word
 * was one of them (error reported). */
static int refuse_algo(struct cfg_ctx *ctx, const char *word)
{
	static const char *const http_algos[] = {
		"uri", "url_param", "hdr", NULL
	};
	int i;

	for (i = 0; http_algos[i]; i++)
		if (is_algo(word, http_algos[i])) {
			cfg_err(ctx, "balance '%s' is an HTTP algorithm, not supported by "
				"sluice; use a TCP algorithm such as roundrobin, leastconn, "
				"source or 'hash <expr>'", http_algos[i]);
			return 1;
		}
	if (is_algo(word, "rdp-cookie")) {
		cfg_err(ctx, "balance 'rdp-cookie' is not implemented by sluice; use "
			"'balance source' (or a stick table on src) to keep an RDP "
			"client on one server");
		return 1;
	}
	return 0;
}

static const struct {
	const char *name;
	enum lb_algo algo;
} simple_algos[] = {
	{ "roundrobin", LB_ALGO_ROUNDROBIN },
	{ "static-rr", LB_ALGO_STATIC_RR },
	{ "leastconn", LB_ALGO_LEASTCONN },
	{ "first", LB_ALGO_FIRST },
	{ "source", LB_ALGO_SOURCE },
};

static int set_simple_algo(struct cfg_ctx *ctx, int argc, char **args, struct lb *lb)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(simple_algos); i++) {
		if (strcmp(args[1], simple_algos[i].name))
			continue;
		if (argc > 2)
			return cfg_err(ctx, "'balance %s': takes no argument, got '%s'",
				       args[1], args[2]);
		lb->algo = simple_algos[i].algo;
		return 0;
	}
	return 1;	/* not a simple algorithm */
}

static int kw_balance(struct cfg_ctx *ctx, int argc, char **args)
{
	struct lb *lb = &ctx->px->lb;
	int ret;

	if (argc < 2)
		return cfg_err(ctx, "'balance': expects an algorithm: roundrobin, static-rr, "
			       "leastconn, first, source, random[(N)] or hash <expr>");
	if (refuse_algo(ctx, args[1]))
		return -1;
	if (lb->hash_expr)
		sample_free_expr(lb->hash_expr);
	free(lb->hash_expr_str);
	lb->hash_expr = NULL;
	lb->hash_expr_str = NULL;
	lb->conf_file = ctx->file;
	lb->conf_line = ctx->line;

	ret = set_simple_algo(ctx, argc, args, lb);
	if (ret <= 0)
		return ret;
	if (is_algo(args[1], "random")) {
		if (argc > 2)
			return cfg_err(ctx, "'balance %s': takes no argument, got '%s' "
				       "(write random(N) for N draws)", args[1], args[2]);
		return parse_random(ctx, args[1], lb);
	}
	if (!strcmp(args[1], "hash"))
		return parse_hash(ctx, argc, args, lb);
	return cfg_err(ctx, "'balance': unknown algorithm '%s'; expects roundrobin, "
		       "static-rr, leastconn, first, source, random[(N)] or hash <expr>",
		       args[1]);
}

/* The function and modifier words are accepted so that configurations
 * written for HAProxy load unchanged, but sluice always hashes with
 * lb_hash_bytes(), which already avalanches. */
static int kw_hash_type(struct cfg_ctx *ctx, int argc, char **args)
{
	static const char *const functions[] = { "sdbm", "djb2", "wt6", "crc32", "none", NULL };
	struct lb *lb = &ctx->px->lb;
	int i = 1, f;

	if (argc < 2)
		goto usage;
	if (!strcmp(args[1], "map-based"))
		lb->hash_type = LB_HASH_MAP_BASED;
	else if (!strcmp(args[1], "consistent"))
		lb->hash_type = LB_HASH_CONSISTENT;
	else
		goto usage;
	i = 2;
	if (i < argc) {
		for (f = 0; functions[f] && strcmp(args[i], functions[f]); f++)
			;
		if (functions[f])
			i++;
	}
	if (i < argc && !strcmp(args[i], "avalanche"))
		i++;
	if (i < argc)
		goto usage;
	return 0;
usage:
	return cfg_err(ctx, "'hash-type': expects 'map-based' or 'consistent', optionally "
		       "followed by a function (sdbm, djb2, wt6, crc32, none) and "
		       "'avalanche', got '%s'", i < argc ? args[i] : "");
}

static int kw_hash_balance_factor(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_uint(args[1], 0, LB_MAX_BALANCE_FACTOR, &v) < 0 ||
	    (v && v <= 100))
		return cfg_err(ctx, "'hash-balance-factor': expects 0 (off) or a percentage "
			       "above 100 (at most %d), e.g. 150, got '%s'",
			       LB_MAX_BALANCE_FACTOR, argc > 1 ? args[1] : "");
	ctx->px->lb.hash_balance_factor = v;
	return 0;
}

static struct cfg_kw_list lb_kws = {
	.kws = (const struct cfg_kw[]){
		{ "balance", CFG_BE_SIDE, kw_balance, 0 },
		{ "hash-type", CFG_BE_SIDE, kw_hash_type, 0 },
		{ "hash-balance-factor", CFG_BE_SIDE, kw_hash_balance_factor, 0 },
		{ 0 },	/* end */
	},
};

static struct cfg_postparser lb_postparser = {
	.name = "lb",
	.fn = lb_postparse,
};

__attribute__((constructor)) static void lb_register(void)
{
	cfg_register(&lb_kws);
	cfg_register_postparser(&lb_postparser);
}
