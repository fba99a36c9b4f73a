/* stick_fetch.c - sample fetches and converters over stick tables:
 * sc0_*..sc2_* and sc_* (the entries a session tracks), src_* (the
 * client's address looked up in a table), table_cnt, table_avl, and the
 * converters in_table and table_*.
 *
 * One row of `counters` describes what a word such as "conn_rate" or
 * "inc_gpc0" does and which families of names carry it; the names
 * themselves (sc1_conn_rate, sc_conn_rate, src_conn_rate, ...) are built at
 * start-up and share one generic function. A check callback is not told
 * which keyword it checks, so every registered keyword gets its own pair
 * of one-line wrappers (macro-generated slots below) that pass their
 * descriptor on.
 *
 * Tables may be declared further down the file than the expression that
 * names them, so a check callback does not look a table up: it registers
 * a reference (stick_ref_table, stick_ref_sc) that the post-parser
 * resolves into the argument's ptr, reporting FILE:LINE for a table that
 * does not exist or does not keep the data. These keywords therefore only
 * parse while a configuration is read.
 *
 * Following HAProxy: a counter nobody tracks gives no sample (sc*_tracked
 * gives false); a key absent from a table reads as 0; src_inc_*, src_clr_*
 * and src_updt_conn_cnt create the key; a table that does not keep the
 * data gives no sample.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sluice/cfg.h"
#include "sluice/errbuf.h"
#include "sluice/sample.h"
#include "sluice/stick.h"

enum stk_op {
	OP_READ,	/* a stored value (a rate over its period) */
	OP_KBYTES,	/* a byte counter, in units of 1024 bytes */
	OP_INC,		/* gpc + 1, the new value */
	OP_CLR,		/* gpc = 0, the previous value */
	OP_UPDT_CONN,	/* conn_cnt + 1 on an entry created if needed, the new value */
	OP_TRACKED,	/* bool: the session tracks this counter */
	OP_TRACKERS,	/* sessions referencing the entry */
	OP_IN_TABLE,	/* bool: the key is in the table */
	OP_TABLE_CNT,
	OP_TABLE_AVL,
};

/* Families of names, and where their arguments are. */
#define FAM_SCN		0x01	/* sc0_W([table]) .. sc2_W([table]) */
#define FAM_SC		0x02	/* sc_W(ctr[,table]) */
#define FAM_SRC		0x04	/* src_W([table]) */
#define FAM_TABLE	0x08	/* the word itself, a fetch: table_cnt([table]) */
#define FAM_CONV	0x10	/* the word itself, a converter: table_gpc0(table) */
#define FAM_ALL		(FAM_SCN | FAM_SC | FAM_SRC)

#define IDX_ARG		-1	/* the element is the first argument: sc_get_gpc(idx,ctr) */

struct stk_counter {
	const char *word;
	enum stk_op op;
	enum stk_dt dt;		/* read or written; for legacy gpc writes, which one */
	int idx;		/* array element, legacy gpc number, or IDX_ARG */
	unsigned families;
};

static const struct stk_counter counters[] = {
	{ "conn_cnt",       OP_READ,   STK_DT_CONN_CNT,       0, FAM_ALL },
	{ "conn_cur",       OP_READ,   STK_DT_CONN_CUR,       0, FAM_ALL },
	{ "conn_rate",      OP_READ,   STK_DT_CONN_RATE,      0, FAM_ALL },
	{ "sess_cnt",       OP_READ,   STK_DT_SESS_CNT,       0, FAM_ALL },
	{ "sess_rate",      OP_READ,   STK_DT_SESS_RATE,      0, FAM_ALL },
	{ "bytes_in_rate",  OP_READ,   STK_DT_BYTES_IN_RATE,  0, FAM_ALL },
	{ "bytes_out_rate", OP_READ,   STK_DT_BYTES_OUT_RATE, 0, FAM_ALL },
	{ "kbytes_in",      OP_KBYTES, STK_DT_BYTES_IN_CNT,   0, FAM_ALL },
	{ "kbytes_out",     OP_KBYTES, STK_DT_BYTES_OUT_CNT,  0, FAM_ALL },
	{ "get_gpc0",       OP_READ,   STK_DT_GPC0,           0, FAM_ALL },
	{ "gpc0_rate",      OP_READ,   STK_DT_GPC0_RATE,      0, FAM_ALL },
	{ "inc_gpc0",       OP_INC,    STK_DT_GPC0,           0, FAM_ALL },
	{ "clr_gpc0",       OP_CLR,    STK_DT_GPC0,           0, FAM_ALL },
	{ "get_gpc1",       OP_READ,   STK_DT_GPC1,           0, FAM_ALL },
	{ "gpc1_rate",      OP_READ,   STK_DT_GPC1_RATE,      0, FAM_ALL },
	{ "inc_gpc1",       OP_INC,    STK_DT_GPC1,           1, FAM_ALL },
	{ "clr_gpc1",       OP_CLR,    STK_DT_GPC1,           1, FAM_ALL },
	{ "get_gpt0",       OP_READ,   STK_DT_GPT0,           0, FAM_ALL },
	{ "tracked",        OP_TRACKED,  STK_DT_COUNT,        0, FAM_SCN | FAM_SC },
	{ "trackers",       OP_TRACKERS, STK_DT_COUNT,        0, FAM_SCN | FAM_SC },
	{ "get_gpc",        OP_READ,   STK_DT_GPC,      IDX_ARG, FAM_SC | FAM_SRC },
	{ "gpc_rate",       OP_READ,   STK_DT_GPC_RATE, IDX_ARG, FAM_SC | FAM_SRC },
	{ "inc_gpc",        OP_INC,    STK_DT_GPC,      IDX_ARG, FAM_SC | FAM_SRC },
	{ "clr_gpc",        OP_CLR,    STK_DT_GPC,      IDX_ARG, FAM_SC | FAM_SRC },
	{ "get_gpt",        OP_READ,   STK_DT_GPT,      IDX_ARG, FAM_SC | FAM_SRC },
	{ "updt_conn_cnt",  OP_UPDT_CONN, STK_DT_CONN_CNT,    0, FAM_SRC },
	{ "table_cnt",      OP_TABLE_CNT, STK_DT_COUNT,       0, FAM_TABLE },
	{ "table_avl",      OP_TABLE_AVL, STK_DT_COUNT,       0, FAM_TABLE },
	{ "in_table",             OP_IN_TABLE, STK_DT_COUNT,  0, FAM_CONV },
	{ "table_conn_cnt",       OP_READ,   STK_DT_CONN_CNT,       0, FAM_CONV },
	{ "table_conn_cur",       OP_READ,   STK_DT_CONN_CUR,       0, FAM_CONV },
	{ "table_conn_rate",      OP_READ,   STK_DT_CONN_RATE,      0, FAM_CONV },
	{ "table_sess_cnt",       OP_READ,   STK_DT_SESS_CNT,       0, FAM_CONV },
	{ "table_sess_rate",      OP_READ,   STK_DT_SESS_RATE,      0, FAM_CONV },
	{ "table_bytes_in_rate",  OP_READ,   STK_DT_BYTES_IN_RATE,  0, FAM_CONV },
	{ "table_bytes_out_rate", OP_READ,   STK_DT_BYTES_OUT_RATE, 0, FAM_CONV },
	{ "table_kbytes_in",      OP_KBYTES, STK_DT_BYTES_IN_CNT,   0, FAM_CONV },
	{ "table_kbytes_out",     OP_KBYTES, STK_DT_BYTES_OUT_CNT,  0, FAM_CONV },
	{ "table_gpc0",           OP_READ,   STK_DT_GPC0,           0, FAM_CONV },
	{ "table_gpc0_rate",      OP_READ,   STK_DT_GPC0_RATE,      0, FAM_CONV },
	{ "table_gpc1",           OP_READ,   STK_DT_GPC1,           0, FAM_CONV },
	{ "table_gpc1_rate",      OP_READ,   STK_DT_GPC1_RATE,      0, FAM_CONV },
	{ "table_gpt0",           OP_READ,   STK_DT_GPT0,           0, FAM_CONV },
	{ "table_gpc",            OP_READ,   STK_DT_GPC,      IDX_ARG, FAM_CONV },
	{ "table_gpc_rate",       OP_READ,   STK_DT_GPC_RATE, IDX_ARG, FAM_CONV },
	{ "table_gpt",            OP_READ,   STK_DT_GPT,      IDX_ARG, FAM_CONV },
	{ "table_server_id",      OP_READ,   STK_DT_SERVER_ID,      0, FAM_CONV },
	{ "table_trackers",       OP_TRACKERS, STK_DT_COUNT,        0, FAM_CONV },
};

/* One registered keyword. */
struct stk_kw {
	const struct stk_counter *c;
	unsigned family;	/* one FAM_* bit */
	unsigned sc;		/* FAM_SCN: which counter */
	char name[24];
};

/* ---- arguments ------------------------------------------------------- */

/* Integer arguments come first (element index, then counter number), the
 * table name last. */
static unsigned leading_ints(const struct stk_kw *kw)
{
	return (kw->c->idx == IDX_ARG) + (kw->family == FAM_SC);
}

static unsigned ctr_pos(const struct stk_kw *kw)
{
	return kw->c->idx == IDX_ARG;
}

static unsigned elem_index(const struct stk_kw *kw, const struct sample_arg *args)
{
	return kw->c->idx == IDX_ARG ? (unsigned)args[0].sint : (unsigned)kw->c->idx;
}

static int op_writes(enum stk_op op)
{
	return op == OP_INC || op == OP_CLR || op == OP_UPDT_CONN;
}

/* The data type a table must keep for kw. Increments and clears accept a
 * table keeping only the counter's rate (HAProxy counts into whichever is
 * there), which one type cannot express: the run-time check does it. A
 * server_id may be enabled by stick rules after the references are
 * resolved, so it is checked at run time as well. */
static enum stk_dt needed_type(const struct stk_counter *c)
{
	if (c->op != OP_READ && c->op != OP_KBYTES && c->op != OP_UPDT_CONN)
		return STK_DT_COUNT;
	return c->dt == STK_DT_SERVER_ID ? STK_DT_COUNT : c->dt;
}

static int check_ints(const struct stk_kw *kw, const struct sample_arg *args,
		      char *err, size_t errsz)
{
	int64_t v;

	if (kw->c->idx == IDX_ARG) {
		v = args[0].sint;
		if (v < 0 || v >= STK_DT_ARRAY_MAX)
			return errbuf_fail(err, errsz, "'%s': expects an element index from 0 to %d, "
					   "got %lld", kw->name, STK_DT_ARRAY_MAX - 1, (long long)v);
	}
	if (kw->family == FAM_SC) {
		v = args[ctr_pos(kw)].sint;
		if (v < 0 || v >= STK_TRACK_MAX)
			return errbuf_fail(err, errsz, "'%s': expects a tracked counter number from "
					   "0 to %d, got %lld", kw->name, STK_TRACK_MAX - 1, (long long)v);
	}
	return 0;
}

/* The check callback: validates the numbers and registers the table
 * reference, resolved into args[table].ptr after the whole file is read. */
static int stk_check(const struct stk_kw *kw, struct sample_arg *args, char *err, size_t errsz)
{
	struct sample_arg *tbl = &args[leading_ints(kw)];
	struct cfg_ctx *cfg = cfg_current();
	enum stk_dt need = needed_type(kw->c);
	unsigned idx, sc;
	int rc;

	if (!cfg)
		return errbuf_fail(err, errsz, "'%s' reads a stick table: it can only be used "
				   "in the configuration", kw->name);
	if (check_ints(kw, args, err, errsz) < 0)
		return -1;
	if (tbl->type == ARG_STR && !tbl->str[0])
		return errbuf_fail(err, errsz, "'%s': expects a stick table name, got an empty one",
				   kw->name);
	idx = kw->c->idx == IDX_ARG ? elem_index(kw, args) : 0;
	sc = kw->family == FAM_SC ? (unsigned)args[ctr_pos(kw)].sint : kw->sc;
	if ((kw->family == FAM_SCN || kw->family == FAM_SC) && tbl->type != ARG_STR)
		rc = stick_ref_sc(cfg, sc, need, idx, kw->name);
	else
		rc = stick_ref_table(cfg, tbl->type == ARG_STR ? tbl->str : NULL, &tbl->ptr,
				     need, idx, kw->name);
	if (rc < 0)
		return errbuf_fail(err, errsz, "'%s': no usable stick table", kw->name);
	return 0;
}

/* ---- the entry a keyword works on ------------------------------------ */

struct stk_target {
	struct stktable *t;
	struct stksess *e;	/* NULL: the key is not in t */
	int own;		/* a reference on e was taken here */
};

static void target_release(struct stk_target *tg, int wrote, uint64_t now)
{
	if (tg->own && tg->e)
		stksess_release(tg->t, tg->e, wrote, now);
}

/* Finds key in tg->t; writers create it (HAProxy's src_inc_gpc0 counts a
 * client it has never seen). */
static void target_find(struct stk_target *tg, const struct stk_key *key, int create,
			uint64_t now)
{
	tg->e = create ? stktable_get(tg->t, key, now) : stktable_lookup(tg->t, key, now);
	tg->own = 1;
}

/* The client's address as a sample, to be converted to a table's key. */
static int src_sample(const struct smp_ctx *ctx, struct sample *smp)
{
	const struct sockaddr_storage *ss = ctx->src;

	if (!ss)
		return 0;
	if (ss->ss_family == AF_INET) {
		smp->type = SMP_T_IPV4;
		smp->u.ipv4 = ((const struct sockaddr_in *)ss)->sin_addr;
		return 1;
	}
	if (ss->ss_family == AF_INET6) {
		smp->type = SMP_T_IPV6;
		smp->u.ipv6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return 1;
	}
	return 0;
}

/* src_*: the client's address in the named table or the proxy's own. */
static int target_src(const struct stk_kw *kw, const struct sample_arg *args,
		      const struct smp_ctx *ctx, uint64_t now, struct stk_target *tg)
{
	struct sample smp = { 0 };
	struct stk_key key;

	tg->t = args[leading_ints(kw)].ptr;
	if (!tg->t || !src_sample(ctx, &smp) || !stk_key_from_sample(tg->t, &smp, ctx, &key))
		return 0;
	target_find(tg, &key, op_writes(kw->c->op), now);
	return 1;
}

/* sc*_: the entry the session tracks, or with a table argument, the
 * tracked key looked up in that table. -1 when the counter is not tracked. */
static int target_tracked(const struct stk_kw *kw, const struct sample_arg *args,
			  const struct smp_ctx *ctx, uint64_t now, struct stk_target *tg)
{
	const struct sample_arg *tbl = &args[leading_ints(kw)];
	unsigned sc = kw->family == FAM_SC ? (unsigned)args[ctr_pos(kw)].sint : kw->sc;
	const struct stk_ctr *ctr = stk_track_get(ctx->sess, sc);
	struct sample smp = { 0 };
	struct stk_key key;

	if (!ctr)
		return -1;
	if (tbl->type != ARG_STR) {
		tg->t = ctr->t;
		tg->e = ctr->e;
		return 1;
	}
	tg->t = tbl->ptr;
	if (!tg->t)
		return 0;
	stksess_key_sample(ctr->t, ctr->e, &smp);
	if (!stk_key_from_sample(tg->t, &smp, ctx, &key))
		return 0;
	target_find(tg, &key, op_writes(kw->c->op), now);
	return 1;
}

/* ---- operations ------------------------------------------------------- */

static int read_value(const struct stk_counter *c, unsigned idx, const struct stk_target *tg,
		      uint64_t now, uint64_t *val)
{
	if (!tg->e) {
		*val = 0;
		return stktable_stores(tg->t, c->dt, idx);
	}
	if (!stksess_get(tg->t, tg->e, c->dt, idx, now, val))
		return 0;
	if (c->op == OP_KBYTES)
		*val >>= 10;
	return 1;
}

static int update_value(const struct stk_counter *c, unsigned idx, const struct stk_target *tg,
			uint64_t now, uint64_t *val)
{
	int legacy = c->dt != STK_DT_GPC;

	if (!tg->e)	/* the table is full */
		return 0;
	if (c->op == OP_INC)
		return stksess_gpc_add(tg->t, tg->e, legacy, idx, 1, now, val);
	if (c->op == OP_CLR)
		return stksess_gpc_clear(tg->t, tg->e, legacy, idx, now, val);
	return stksess_add(tg->t, tg->e, STK_DT_CONN_CNT, 0, 1, now) &&
	       stksess_get(tg->t, tg->e, STK_DT_CONN_CNT, 0, now, val);
}

/* Applies c to tg; 1 with *val set, 0 when there is no sample. */
static int apply_op(const struct stk_counter *c, unsigned idx, const struct stk_target *tg,
		    uint64_t now, uint64_t *val)
{
	switch (c->op) {
	case OP_READ:
	case OP_KBYTES:
		return read_value(c, idx, tg, now, val);
	case OP_INC:
	case OP_CLR:
	case OP_UPDT_CONN:
		return update_value(c, idx, tg, now, val);
	case OP_TRACKERS:
		/* our own lookup is not a tracker */
		*val = tg->e ? stksess_refs(tg->e) - (unsigned)tg->own : 0;
		return 1;
	case OP_TRACKED:
	case OP_IN_TABLE:
		*val = tg->e != NULL;
		return 1;
	case OP_TABLE_CNT:
		*val = stktable_count(tg->t);
		return 1;
	case OP_TABLE_AVL:
		*val = stktable_avail(tg->t);
		return 1;
	}
	return 0;
}

static int set_result(const struct stk_counter *c, struct sample *out, uint64_t val)
{
	int boolean = c->op == OP_TRACKED || c->op == OP_IN_TABLE;

	out->type = boolean ? SMP_T_BOOL : SMP_T_SINT;
	out->u.sint = (int64_t)val;
	out->may_change = 0;
	return 1;
}

/* Selects the entry for a fetch: 1 found (tg->e may be NULL), 0 no sample,
 * -1 the counter is not tracked. */
static int fetch_target(const struct stk_kw *kw, const struct sample_arg *args,
			const struct smp_ctx *ctx, uint64_t now, struct stk_target *tg)
{
	switch (kw->family) {
	case FAM_SCN:
	case FAM_SC:
		return target_tracked(kw, args, ctx, now, tg);
	case FAM_SRC:
		return target_src(kw, args, ctx, now, tg);
	default:
		tg->t = args[leading_ints(kw)].ptr;
		return tg->t != NULL;
	}
}

static int stk_fetch(const struct stk_kw *kw, const struct sample_arg *args,
		     struct sample *out, const struct smp_ctx *ctx)
{
	const struct stk_counter *c = kw->c;
	struct stk_target tg = { 0 };
	uint64_t now, val;
	int rc;

	if (c->op == OP_TRACKED) {
		rc = stk_track_get(ctx->sess, kw->family == FAM_SC ?
				   (unsigned)args[ctr_pos(kw)].sint : kw->sc) != NULL;
		return set_result(c, out, rc);
	}
	now = stick_now(ctx);
	rc = fetch_target(kw, args, ctx, now, &tg);
	if (rc <= 0)
		return 0;
	rc = apply_op(c, elem_index(kw, args), &tg, now, &val);
	target_release(&tg, op_writes(c->op), now);
	return rc ? set_result(c, out, val) : 0;
}

/* Converters: the input sample is the key. */
static int stk_conv(const struct stk_kw *kw, const struct sample_arg *args,
		    struct sample *smp, const struct smp_ctx *ctx)
{
	struct stk_target tg = { .t = args[leading_ints(kw)].ptr };
	struct stk_key key;
	uint64_t now, val;
	int rc;

	if (!tg.t || !stk_key_from_sample(tg.t, smp, ctx, &key))
		return 0;
	now = stick_now(ctx);
	target_find(&tg, &key, 0, now);
	rc = apply_op(kw->c, elem_index(kw, args), &tg, now, &val);
	target_release(&tg, 0, now);
	return rc ? set_result(kw->c, smp, val) : 0;
}

static int stk_run(const struct stk_kw *kw, const struct sample_arg *args,
		   struct sample *smp, const struct smp_ctx *ctx)
{
	if (kw->family == FAM_CONV)
		return stk_conv(kw, args, smp, ctx);
	return stk_fetch(kw, args, smp, ctx);
}

/* ---- one callback pair per keyword ----------------------------------- */

#define NSLOTS 140

static struct stk_kw kws[NSLOTS];

#define DEFINE_SLOT(t, o)								\
	static int run_##t##o(const struct sample_arg *a, struct sample *s,		\
			      const struct smp_ctx *c)					\
	{ return stk_run(&kws[(t) * 10 + (o)], a, s, c); }				\
	static int check_##t##o(struct sample_arg *a, char *err, size_t errsz)		\
	{ return stk_check(&kws[(t) * 10 + (o)], a, err, errsz); }
#define SLOT_ENTRY(t, o) { run_##t##o, check_##t##o },
#define TEN_SLOTS(M, t) M(t, 0) M(t, 1) M(t, 2) M(t, 3) M(t, 4) \
			M(t, 5) M(t, 6) M(t, 7) M(t, 8) M(t, 9)
#define ALL_SLOTS(M) TEN_SLOTS(M, 0) TEN_SLOTS(M, 1) TEN_SLOTS(M, 2) TEN_SLOTS(M, 3) \
		     TEN_SLOTS(M, 4) TEN_SLOTS(M, 5) TEN_SLOTS(M, 6) TEN_SLOTS(M, 7) \
		     TEN_SLOTS(M, 8) TEN_SLOTS(M, 9) TEN_SLOTS(M, 10) TEN_SLOTS(M, 11) \
		     TEN_SLOTS(M, 12) TEN_SLOTS(M, 13)

ALL_SLOTS(DEFINE_SLOT)

static const struct {
	int (*run)(const struct sample_arg *, struct sample *, const struct smp_ctx *);
	int (*check)(struct sample_arg *, char *, size_t);
} slots[] = { ALL_SLOTS(SLOT_ENTRY) };

_Static_assert(sizeof(slots) / sizeof(slots[0]) == NSLOTS, "one slot per keyword");

/* ---- registration ----------------------------------------------------- */

static struct sample_fetch fetch_defs[NSLOTS + 1];
static struct sample_conv conv_defs[NSLOTS + 1];
static unsigned nkws;

static void add_kw(const struct stk_counter *c, unsigned family, unsigned sc)
{
	struct stk_kw *kw;

	if (nkws >= NSLOTS) {
		fprintf(stderr, "stick_fetch.c: more keywords than NSLOTS\n");
		abort();
	}
	kw = &kws[nkws++];
	kw->c = c;
	kw->family = family;
	kw->sc = sc;
	if (family == FAM_SCN)
		snprintf(kw->name, sizeof(kw->name), "sc%u_%s", sc, c->word);
	else
		snprintf(kw->name, sizeof(kw->name), "%s%s", family == FAM_SC ? "sc_" :
			 family == FAM_SRC ? "src_" : "", c->word);
}

static void build_keywords(void)
{
	const struct stk_counter *c;
	unsigned fam, sc;

	for (c = counters; c < counters + CFG_ARRAY_SIZE(counters); c++) {
		for (fam = 1; fam <= FAM_CONV; fam <<= 1) {
			if (!(c->families & fam))
				continue;
			if (fam != FAM_SCN)
				add_kw(c, fam, 0);
			else
				for (sc = 0; sc < STK_TRACK_MAX; sc++)
					add_kw(c, fam, sc);
		}
	}
}

__attribute__((constructor)) static void stick_fetch_init(void)
{
	static const char *const arg_types[] = { "s", "is", "iis" };
	static struct sample_fetch_list fetch_list = { .kws = fetch_defs };
	static struct sample_conv_list conv_list = { .kws = conv_defs };
	unsigned i, nf = 0, nc = 0, lead;
	enum smp_type out;

	build_keywords();
	for (i = 0; i < nkws; i++) {
		lead = leading_ints(&kws[i]);
		out = kws[i].c->op == OP_TRACKED || kws[i].c->op == OP_IN_TABLE ?
		      SMP_T_BOOL : SMP_T_SINT;
		if (kws[i].family == FAM_CONV)
			conv_defs[nc++] = (struct sample_conv){
				kws[i].name, slots[i].run, SMP_T_ANY, out, (int)lead + 1,
				(int)lead + 1, arg_types[lead], slots[i].check };
		else
			fetch_defs[nf++] = (struct sample_fetch){
				kws[i].name, slots[i].run, out, (int)lead, (int)lead + 1,
				arg_types[lead], slots[i].check };
	}
	sample_register_fetches(&fetch_list);
	sample_register_convs(&conv_list);
}
