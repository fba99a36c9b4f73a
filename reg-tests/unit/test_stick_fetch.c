/* test_stick_fetch.c - stick-table fetches (sc0_*..sc2_*, sc_*, src_*,
 * table_cnt, table_avl) and converters (in_table, table_*).
 *
 * Expressions must be parsed while a configuration is read (their table
 * references are resolved by its post-parser), so the test registers its
 * own keyword, "ut-expr NAME EXPR", that parses EXPR in a proxy and keeps
 * it under NAME. The test then evaluates those expressions with a sample
 * context holding a client address and, for the sc* fetches, a fake
 * session whose s->track points to counters the test fills itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>
#include <sluice/session.h>
#include <sluice/stick.h>

#include "ut.h"
#include "ut_cfg.h"
#include "ut_smp.h"

#define ABSENT	-999999	/* what ev() returns when there is no sample */

static char messages[16384];

/* ---- the test's own keyword ---- */

static struct {
	char name[32];
	struct sample_expr *e;
} exprs[96];
static int nexprs;

static int kw_ut_expr(struct cfg_ctx *ctx, int argc, char **args)
{
	struct sample_expr *e;
	char err[512] = "";

	if (argc != 3)
		return cfg_err(ctx, "'ut-expr': expects NAME EXPR");
	if (nexprs >= (int)CFG_ARRAY_SIZE(exprs))
		return cfg_err(ctx, "'ut-expr': too many expressions for the test");
	e = sample_parse_expr(args[2], err, sizeof(err));
	if (!e)
		return cfg_err(ctx, "'ut-expr %s': %s", args[2], err);
	snprintf(exprs[nexprs].name, sizeof(exprs[nexprs].name), "%s", args[1]);
	exprs[nexprs++].e = e;
	return 0;
}

static struct cfg_kw_list ut_kws = { .kws = (const struct cfg_kw[]){
	{ "ut-expr", CFG_FRONTEND | CFG_BACKEND | CFG_LISTEN, kw_ut_expr, 0 },
	{ NULL },
} };

static void exprs_free(void)
{
	while (nexprs > 0)
		sample_free_expr(exprs[--nexprs].e);
}

static const struct sample_expr *find_expr(const char *name)
{
	int i;

	for (i = 0; i < nexprs; i++)
		if (!strcmp(exprs[i].name, name))
			return exprs[i].e;
	fprintf(stderr, "test bug: no expression '%s'\n", name);
	exit(2);
}

/* Value of expression name (booleans as 0/1), ABSENT without a sample;
 * *type gets the sample's type when type is set. */
static long long ev_type(const char *name, const struct smp_ctx *ctx, enum smp_type *type)
{
	struct sample out;

	if (!sample_eval(find_expr(name), ctx, &out))
		return ABSENT;
	if (type)
		*type = out.type;
	if (out.type != SMP_T_SINT && out.type != SMP_T_BOOL)
		return ABSENT - 1;
	UT_EQ_INT(out.may_change, 0);
	return out.u.sint;
}

static long long ev(const char *name, const struct smp_ctx *ctx)
{
	return ev_type(name, ctx, NULL);
}

/* ---- configuration ---- */

static int load(struct config *conf, const char *text)
{
	struct stktable *t;
	char err[256];
	int errors = ut_load_config(conf, text, 0, messages, sizeof(messages));

	if (errors)
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	/* tables are normally initialised when the workers start */
	for (t = stick_tables(conf); t; t = t->next)
		if (!t->shards && stktable_init(t, err, sizeof(err)) < 0)
			fprintf(stderr, "stktable_init: %s\n", err);
	return errors;
}

static void expect_errors(const char *text, int want, const char *needle)
{
	ut_expect_errors(text, want, needle, messages, sizeof(messages));
	if (getenv("UT_VERBOSE"))
		fprintf(stderr, "%s", messages);
	exprs_free();
}

static const char good_cfg[] =
	"frontend fe\n"
	"    mode tcp\n"
	"    bind 127.0.0.1:8000\n"
	"    stick-table type ip size 4 expire 10s store conn_cnt,conn_cur,gpc0,gpc0_rate(10s),gpc1,gpt0,bytes_in_cnt\n"
	"    ut-expr src_cnt src_conn_cnt\n"
	"    ut-expr src_gpc0 src_get_gpc0\n"
	"    ut-expr src_inc0 src_inc_gpc0\n"
	"    ut-expr src_clr0 src_clr_gpc0\n"
	"    ut-expr src_g0rate src_gpc0_rate\n"
	"    ut-expr src_inc1 src_inc_gpc1\n"
	"    ut-expr src_gpc1 src_get_gpc1\n"
	"    ut-expr src_gpt0 src_get_gpt0\n"
	"    ut-expr updt src_updt_conn_cnt\n"
	"    ut-expr kin src_kbytes_in\n"
	"    ut-expr cnt table_cnt\n"
	"    ut-expr avl table_avl\n"
	"    ut-expr cnt_be table_cnt(be)\n"
	"    ut-expr avl_be table_avl(be)\n"
	"    ut-expr be_inc src_inc_gpc(1,be)\n"
	"    ut-expr be_get src_get_gpc(1,be)\n"
	"    ut-expr be_rate src_gpc_rate(1,be)\n"
	"    ut-expr be_gpt src_get_gpt(0,be)\n"
	"    ut-expr be_clr src_clr_gpc(1,be)\n"
	"    ut-expr be_cnt src_conn_cnt(be)\n"
	"    ut-expr sc0_cnt sc0_conn_cnt\n"
	"    ut-expr sc0_gpc0 sc0_get_gpc0\n"
	"    ut-expr sc0_inc sc0_inc_gpc0\n"
	"    ut-expr sc0_clr sc0_clr_gpc0\n"
	"    ut-expr sc0_sess_rate sc0_sess_rate\n"
	"    ut-expr sc0_tracked sc0_tracked\n"
	"    ut-expr sc1_tracked sc1_tracked\n"
	"    ut-expr sc_tracked1 sc_tracked(1)\n"
	"    ut-expr sc0_trackers sc0_trackers\n"
	"    ut-expr sc1_cnt sc1_conn_cnt\n"
	"    ut-expr sc2_trackers sc2_trackers\n"
	"    ut-expr sc_cnt sc_conn_cnt(0)\n"
	"    ut-expr sc_cnt1 sc_conn_cnt(1)\n"
	"    ut-expr sc_be_gpc sc_get_gpc(1,0,be)\n"
	"    ut-expr sc_be_inc sc_inc_gpc(0,0,be)\n"
	"    ut-expr sc0_be_cnt sc0_conn_cnt(be)\n"
	"    ut-expr sc0_str sc0_get_gpc0(strtab)\n"
	"    ut-expr sc0_str_inc sc0_inc_gpc0(strtab)\n"
	"    ut-expr sc0_str_trk sc0_trackers(strtab)\n"
	"    ut-expr in t.str,in_table(fe)\n"
	"    ut-expr c_cnt t.str,table_conn_cnt(fe)\n"
	"    ut-expr c_gpc0 t.str,table_gpc0(fe)\n"
	"    ut-expr c_gpc t.str,table_gpc(1,be)\n"
	"    ut-expr c_trk t.str,table_trackers(fe)\n"
	"    ut-expr c_kin t.str,table_kbytes_in(fe)\n"
	"    ut-expr c_srv t.str,table_server_id(fe)\n"
	"    ut-expr c_str t.str,table_gpc0(strtab)\n"
	"    ut-expr c_int t.int,in_table(fe)\n"
	"backend be\n"
	"    stick-table type ip size 10 store gpc(2),gpc_rate(2,10s),gpt(1),conn_cnt\n"
	"backend strtab\n"
	"    stick-table type string len 32 size 10 store gpc0\n";

/* ---- a client and its session ---- */

struct fake {
	struct session s;
	struct stk_track track;
	struct sockaddr_storage src;
	struct smp_ctx ctx;
	char scratch[256];
};

static void fake_init(struct fake *f, const char *ip)
{
	memset(f, 0, sizeof(*f));
	ut_set_ip(&f->src, ip, 40000);
	ut_smp_ctx_init(&f->ctx, f->scratch, sizeof(f->scratch));
	f->ctx.src = &f->src;
	f->ctx.sess = &f->s;
}

static struct stksess *entry_of(struct stktable *t, const char *text, int create)
{
	struct sample smp = { .type = SMP_T_STR };
	struct stk_key key;

	smp.u.str.ptr = text;
	smp.u.str.len = strlen(text);
	if (!stk_key_from_sample(t, &smp, NULL, &key))
		return NULL;
	return create ? stktable_get(t, &key, 0) : stktable_lookup(t, &key, 0);
}

/* f's session tracks ip in t as sc (a reference is taken, as track-sc does) */
static void fake_track(struct fake *f, unsigned sc, struct stktable *t, const char *ip)
{
	f->s.track = &f->track;
	f->track.sc[sc].t = t;
	f->track.sc[sc].e = entry_of(t, ip, 1);
}

static void fake_untrack(struct fake *f)
{
	unsigned i;

	for (i = 0; i < STK_TRACK_MAX; i++)
		if (f->track.sc[i].e)
			stksess_release(f->track.sc[i].t, f->track.sc[i].e, 0, 0);
	memset(&f->track, 0, sizeof(f->track));
	f->s.track = NULL;
}

/* ---- the tests ---- */

static void test_registry(void)
{
	static const char *const fetches[] = {
		"sc0_conn_cnt", "sc2_clr_gpc1", "sc1_get_gpt0", "sc_trackers", "sc_get_gpt",
		"sc_clr_gpc", "src_updt_conn_cnt", "src_kbytes_out", "src_get_gpc",
		"table_cnt", "table_avl", "sc2_bytes_out_rate", "sc_gpc_rate",
	};
	static const char *const convs[] = {
		"in_table", "table_gpc", "table_gpc_rate", "table_gpt", "table_server_id",
		"table_trackers", "table_kbytes_out", "table_gpc1_rate",
	};
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(fetches); i++)
		UT_CHECK(sample_find_fetch(fetches[i], strlen(fetches[i])) != NULL);
	for (i = 0; i < CFG_ARRAY_SIZE(convs); i++)
		UT_CHECK(sample_find_conv(convs[i], strlen(convs[i])) != NULL);
	/* HAProxy has the element-indexed forms only as sc_*, not sc0_* */
	UT_CHECK(sample_find_fetch("sc0_get_gpc", 11) == NULL);
	UT_CHECK(sample_find_fetch("src_tracked", 11) == NULL);
}

static void test_outside_config(void)
{
	char err[512];

	ut_smp_parse_fails("src_conn_cnt", "only be used in the configuration", err, sizeof(err));
	ut_smp_parse_fails("src,table_gpc0(t)", "only be used in the configuration", err,
			   sizeof(err));
}

static void test_src(struct config *conf)
{
	struct stktable *fe = stktable_find(conf, "fe"), *be = stktable_find(conf, "be");
	struct stksess *e;
	struct fake f;

	fake_init(&f, "10.0.0.1");
	f.ctx.sess = NULL;
	UT_EQ_INT(ev("src_cnt", &f.ctx), 0);	/* absent key reads 0... */
	UT_EQ_INT(ev("src_gpc0", &f.ctx), 0);
	UT_EQ_INT(ev("cnt", &f.ctx), 0);		/* ...and is not created */
	UT_EQ_INT(ev("avl", &f.ctx), 4);
	UT_EQ_INT(ev("src_inc0", &f.ctx), 1);	/* increments create it */
	UT_EQ_INT(ev("src_inc0", &f.ctx), 2);
	UT_EQ_INT(ev("src_gpc0", &f.ctx), 2);
	UT_EQ_INT(ev("src_g0rate", &f.ctx), 2);
	UT_EQ_INT(ev("cnt", &f.ctx), 1);
	UT_EQ_INT(ev("avl", &f.ctx), 3);
	UT_EQ_INT(ev("src_clr0", &f.ctx), 2);	/* the value before clearing */
	UT_EQ_INT(ev("src_gpc0", &f.ctx), 0);
	UT_EQ_INT(ev("src_inc1", &f.ctx), 1);
	UT_EQ_INT(ev("src_gpc1", &f.ctx), 1);
	UT_EQ_INT(ev("src_gpt0", &f.ctx), 0);
	UT_EQ_INT(ev("updt", &f.ctx), 1);
	UT_EQ_INT(ev("updt", &f.ctx), 2);
	UT_EQ_INT(ev("src_cnt", &f.ctx), 2);

	e = entry_of(fe, "10.0.0.1", 0);
	UT_CHECK(e != NULL);
	if (e) {
		UT_EQ_INT(stksess_refs(e), 1);	/* every fetch released its reference */
		stksess_add(fe, e, STK_DT_BYTES_IN_CNT, 0, 5000, 0);
		stksess_release(fe, e, 0, 0);
	}
	UT_EQ_INT(ev("kin", &f.ctx), 4);

	/* a clear on a new client creates it and returns 0 */
	ut_set_ip(&f.src, "10.0.0.2", 1);
	UT_EQ_INT(ev("src_clr0", &f.ctx), 0);
	UT_EQ_INT(ev("cnt", &f.ctx), 2);

	/* a named table, element-indexed counters */
	ut_set_ip(&f.src, "10.0.0.1", 1);
	UT_EQ_INT(ev("cnt_be", &f.ctx), 0);
	UT_EQ_INT(ev("avl_be", &f.ctx), 10);
	UT_EQ_INT(ev("be_get", &f.ctx), 0);
	UT_EQ_INT(ev("be_inc", &f.ctx), 1);
	UT_EQ_INT(ev("be_inc", &f.ctx), 2);
	UT_EQ_INT(ev("be_get", &f.ctx), 2);
	UT_EQ_INT(ev("be_rate", &f.ctx), 2);
	UT_EQ_INT(ev("be_gpt", &f.ctx), 0);
	UT_EQ_INT(ev("be_clr", &f.ctx), 2);
	UT_EQ_INT(ev("be_get", &f.ctx), 0);
	UT_EQ_INT(ev("be_cnt", &f.ctx), 0);
	UT_EQ_INT(ev("cnt_be", &f.ctx), 1);
	UT_EQ_INT(stktable_count(be), 1);

	/* no client address: no sample */
	f.ctx.src = NULL;
	UT_EQ_INT(ev("src_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev("src_inc0", &f.ctx), ABSENT);
}

static void test_not_tracked(void)
{
	enum smp_type type = SMP_T_ANY;
	struct fake f;

	fake_init(&f, "10.0.0.1");
	UT_EQ_INT(ev("sc0_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc0_inc", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc0_trackers", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc0_be_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev_type("sc0_tracked", &f.ctx, &type), 0);
	UT_EQ_INT(type, SMP_T_BOOL);
	f.ctx.sess = NULL;	/* no session at all */
	UT_EQ_INT(ev("sc0_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc0_tracked", &f.ctx), 0);
}

static void test_tracked(struct config *conf)
{
	struct stktable *fe = stktable_find(conf, "fe"), *str = stktable_find(conf, "strtab");
	struct fake f, other;

	fake_init(&f, "10.0.0.1");
	fake_track(&f, 0, fe, "10.0.0.1");
	UT_CHECK(f.track.sc[0].e != NULL);
	if (!f.track.sc[0].e)
		return;
	UT_EQ_INT(ev("sc0_tracked", &f.ctx), 1);
	UT_EQ_INT(ev("sc1_tracked", &f.ctx), 0);
	UT_EQ_INT(ev("sc_tracked1", &f.ctx), 0);
	UT_EQ_INT(ev("sc1_cnt", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc_cnt1", &f.ctx), ABSENT);
	UT_EQ_INT(ev("sc0_cnt", &f.ctx), 2);		/* from test_src */
	UT_EQ_INT(ev("sc_cnt", &f.ctx), 2);
	UT_EQ_INT(ev("sc0_gpc0", &f.ctx), 0);
	UT_EQ_INT(ev("sc0_inc", &f.ctx), 1);
	UT_EQ_INT(ev("src_gpc0", &f.ctx), 1);	/* the same entry */
	UT_EQ_INT(ev("sc0_trackers", &f.ctx), 1);
	UT_EQ_INT(ev("sc0_sess_rate", &f.ctx), ABSENT);	/* fe keeps no sess_rate */

	/* a second session tracking the same client */
	fake_init(&other, "10.0.0.1");
	fake_track(&other, 2, fe, "10.0.0.1");
	UT_EQ_INT(ev("sc0_trackers", &f.ctx), 2);
	UT_EQ_INT(ev("sc2_trackers", &other.ctx), 2);
	fake_untrack(&other);
	UT_EQ_INT(ev("sc0_trackers", &f.ctx), 1);

	/* the tracked key looked up in another table */
	UT_EQ_INT(ev("sc0_be_cnt", &f.ctx), 0);		/* created by test_src */
	UT_EQ_INT(ev("sc_be_gpc", &f.ctx), 0);
	UT_EQ_INT(ev("sc_be_inc", &f.ctx), 1);
	UT_EQ_INT(ev("sc0_str", &f.ctx), 0);		/* "10.0.0.1" is not there yet */
	UT_EQ_INT(ev("sc0_str_trk", &f.ctx), 0);
	UT_EQ_INT(stktable_count(str), 0);
	UT_EQ_INT(ev("sc0_str_inc", &f.ctx), 1);		/* a write creates it */
	UT_EQ_INT(ev("sc0_str", &f.ctx), 1);
	UT_EQ_INT(ev("sc0_str_trk", &f.ctx), 0);		/* nobody tracks it there */
	UT_EQ_INT(stktable_count(str), 1);
	UT_EQ_INT(ev("sc0_clr", &f.ctx), 1);
	UT_EQ_INT(ev("sc0_gpc0", &f.ctx), 0);
	fake_untrack(&f);
}

static void test_converters(void)
{
	enum smp_type type = SMP_T_ANY;
	struct fake f;

	fake_init(&f, "10.0.0.1");
	ut_t.str = "10.0.0.1";
	UT_EQ_INT(ev_type("in", &f.ctx, &type), 1);
	UT_EQ_INT(type, SMP_T_BOOL);
	UT_EQ_INT(ev("c_cnt", &f.ctx), 2);
	UT_EQ_INT(ev("c_gpc0", &f.ctx), 0);
	UT_EQ_INT(ev("c_gpc", &f.ctx), 0);
	UT_EQ_INT(ev("c_trk", &f.ctx), 0);
	UT_EQ_INT(ev("c_kin", &f.ctx), 4);
	UT_EQ_INT(ev("c_srv", &f.ctx), ABSENT);	/* fe keeps no server_id */
	UT_EQ_INT(ev("c_str", &f.ctx), 1);	/* the string key from sc0_str_inc */

	ut_t.str = "10.9.9.9";
	UT_EQ_INT(ev("in", &f.ctx), 0);
	UT_EQ_INT(ev("c_cnt", &f.ctx), 0);
	UT_EQ_INT(ev("c_str", &f.ctx), 0);
	ut_t.str = "not an address";
	UT_EQ_INT(ev("in", &f.ctx), ABSENT);
	ut_t.str = NULL;
	UT_EQ_INT(ev("in", &f.ctx), ABSENT);
	ut_t.sint = 7;
	UT_EQ_INT(ev("c_int", &f.ctx), ABSENT);	/* an integer is no IPv4 key */
}

static void test_good_config(void)
{
	struct config conf;

	if (load(&conf, good_cfg)) {
		UT_CHECK(0);
		config_free(&conf);
		exprs_free();
		return;
	}
	UT_CHECK(!strstr(messages, "error"));
	test_src(&conf);
	test_not_tracked();
	test_tracked(&conf);
	test_converters();
	config_free(&conf);
	exprs_free();
}

static void test_config_errors(void)
{
	expect_errors("frontend f\n"
		      "    mode tcp\n"
		      "    ut-expr x src_conn_cnt(nosuch)\n", 1, "nosuch");
	expect_errors("frontend f\n"
		      "    mode tcp\n"
		      "    ut-expr x src_conn_cnt(nosuch)\n", 1, ":3:");
	expect_errors("frontend f\n"
		      "    stick-table type ip size 10 store gpc0\n"
		      "    ut-expr x src_conn_rate\n", 1, ":3:");
	expect_errors("frontend f\n"
		      "    stick-table type ip size 10 store gpc0\n"
		      "    ut-expr x src_conn_rate\n", 1, "conn_rate");
	/* an ACL goes through the same check; the table comes later */
	expect_errors("frontend f\n"
		      "    acl a src_get_gpt(3,t) gt 0\n"
		      "    tcp-request connection reject if a\n"
		      "backend t\n"
		      "    stick-table type ip size 10 store gpt(3)\n", 1, ":2:");
	expect_errors("frontend f\n"
		      "    acl a src_get_gpt(2,t) gt 0\n"
		      "    tcp-request connection reject if a\n"
		      "backend t\n"
		      "    stick-table type ip size 10 store gpt(3)\n", 0, NULL);
	expect_errors("frontend f\n"
		      "    ut-expr x src,table_conn_cur(t)\n"
		      "backend t\n"
		      "    stick-table type ip size 10 store gpc0\n", 1, "conn_cur");
	/* an increment counts into the rate when only the rate is kept */
	expect_errors("frontend f\n"
		      "    stick-table type ip size 10 store gpc0_rate(10s)\n"
		      "    ut-expr x src_inc_gpc0\n"
		      "    ut-expr y src_clr_gpc0\n", 0, NULL);
	/* no table argument and no stick-table in the proxy */
	expect_errors("frontend f\n"
		      "    mode tcp\n"
		      "    ut-expr x src_conn_rate\n", 1, ":3:");
	expect_errors("frontend f\n"
		      "    ut-expr x table_cnt\n", 1, ":2:");
	expect_errors("frontend f\n"
		      "    ut-expr x table_cnt(t)\n"
		      "backend t\n"
		      "    stick-table type ip size 10\n", 0, NULL);
	/* numbers */
	expect_errors("frontend f\n"
		      "    ut-expr x src_get_gpc(100,t)\n"
		      "backend t\n"
		      "    stick-table type ip size 10 store gpc(2)\n", 1, "from 0 to 99");
	expect_errors("frontend f\n"
		      "    ut-expr x sc_conn_cnt(3)\n", 1, "from 0 to 2");
	expect_errors("frontend f\n"
		      "    ut-expr x sc_conn_cnt(-1,t)\n", 1, "from 0 to 2");
	expect_errors("frontend f\n"
		      "    ut-expr x sc0_conn_cnt()\n"
		      "    ut-expr y 'src_conn_cnt(\"\")'\n", 1, "empty");
	expect_errors("frontend f\n"
		      "    ut-expr x t.str,in_table\n", 1, "in_table");
}

int main(void)
{
	cfg_register(&ut_kws);
	ut_register_test_fetches();
	test_registry();
	test_outside_config();
	test_good_config();
	test_config_errors();
	UT_DONE();
}
