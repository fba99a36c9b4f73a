/* test_stick_cfg.c - stick tables in the configuration, references to
 * them, and the stick match/on/store-request rules.
 *
 * Everything goes through the real config loader. References are made by
 * three keywords this test registers ("ut-table", "ut-track", "ut-sc"),
 * which call stick_ref_table/stick_ref_track/stick_ref_sc as fetches and
 * track-sc rules do, so the post-parser's checks are tested here without
 * depending on those. The rules run on a fake session (a zeroed struct
 * session with its backend and server) against the tables the loader
 * initialised.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>
#include <sluice/server.h>
#include <sluice/session.h>
#include <sluice/stick.h>

#include "ut.h"
#include "ut_cfg.h"
#include "ut_smp.h"

static char messages[16384];

static void expect_errors(const char *text, int want, const char *needle)
{
	ut_expect_errors(text, want, needle, messages, sizeof(messages));
}

static int load(struct config *conf, const char *text)
{
	int errors = ut_load_config(conf, text, 1, messages, sizeof(messages));

	if (errors)
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	return errors;
}

/* ------------------------------------------------------------------ */
/* Test keywords that take references like fetches and rules do        */

#define UT_SLOTS 16
static void *slots[UT_SLOTS];
static int nslots;

static void **next_slot(void)
{
	return nslots < UT_SLOTS ? &slots[nslots++] : NULL;
}

static enum stk_dt need_arg(const char *w)
{
	int dt = w ? stk_dt_lookup(w, strlen(w)) : -1;

	return dt < 0 ? STK_DT_COUNT : (enum stk_dt)dt;
}

/* ut-table NAME|- [NEED [IDX]] */
static int kw_ut_table(struct cfg_ctx *ctx, int argc, char **args)
{
	const char *name = argc > 1 && strcmp(args[1], "-") ? args[1] : NULL;

	return stick_ref_table(ctx, name, next_slot(), need_arg(argc > 2 ? args[2] : NULL),
			       argc > 3 ? (unsigned)atoi(args[3]) : 0, "ut-table");
}

/* ut-track SC [TABLE] */
static int kw_ut_track(struct cfg_ctx *ctx, int argc, char **args)
{
	return stick_ref_track(ctx, (unsigned)atoi(args[1]), argc > 2 ? args[2] : NULL, next_slot());
}

/* ut-sc SC [NEED [IDX]] */
static int kw_ut_sc(struct cfg_ctx *ctx, int argc, char **args)
{
	return stick_ref_sc(ctx, (unsigned)atoi(args[1]), need_arg(argc > 2 ? args[2] : NULL),
			    argc > 3 ? (unsigned)atoi(args[3]) : 0, "ut-sc");
}

static struct cfg_kw_list ut_kws = {
	.kws = (const struct cfg_kw[]){
		{ "ut-table", CFG_PROXIES, kw_ut_table, 0 },
		{ "ut-track", CFG_PROXIES, kw_ut_track, 0 },
		{ "ut-sc", CFG_PROXIES, kw_ut_sc, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

/* ------------------------------------------------------------------ */
/* Good tables                                                         */

static struct proxy *find_px(struct config *conf, const char *name)
{
	return config_find_proxy(conf, name, PX_CAP_BE) ? config_find_proxy(conf, name, PX_CAP_BE)
							: config_find_proxy(conf, name, PX_CAP_FE);
}

static const char good_types[] =
	"backend b_ip\n  stick-table type ip size 100k expire 30m\n"
	"backend b_ip6\n  stick-table type ipv6 size 1m nopurge\n"
	"backend b_int\n  stick-table type integer size 2k expire 24d\n"
	"backend b_str\n  stick-table type string size 10\n"
	"backend b_str64\n  stick-table type string len 64 size 10\n"
	"backend b_bin\n  stick-table size 10 type binary len 16\n"
	"backend b_late\n  stick-table type string size 10 len 8\n"
	"peers p\n  table t type ip size 1k\n  disabled\n  enabled\n"
	"  table u type integer size 5 expire 10s\n";

static void test_types(void)
{
	struct config conf;
	struct stktable *t;
	int n = 0;

	UT_EQ_INT(load(&conf, good_types), 0);
	for (t = stick_tables(&conf); t; t = t->next)
		n++;
	UT_EQ_INT(n, 9);
	t = stktable_find(&conf, "b_ip");
	UT_CHECK(t && t->type == STK_KEY_IP && t->key_size == 4 && t->size == 102400 &&
		 t->expire == 1800000 && !t->nopurge && t->line == 2);
	UT_CHECK(t && t->px == find_px(&conf, "b_ip") && t->px->table == t);
	t = stktable_find(&conf, "b_ip6");
	UT_CHECK(t && t->type == STK_KEY_IPV6 && t->key_size == 16 && t->size == 1048576 && t->nopurge);
	t = stktable_find(&conf, "b_int");
	UT_CHECK(t && t->type == STK_KEY_INT && t->key_size == 8 && t->size == 2048 &&
		 t->expire == 24u * 86400000u);
	t = stktable_find(&conf, "b_str");
	UT_CHECK(t && t->type == STK_KEY_STR && t->key_size == STK_STR_DEFAULT_LEN && t->size == 10);
	t = stktable_find(&conf, "b_str64");
	UT_CHECK(t && t->key_size == 64);
	t = stktable_find(&conf, "b_bin");
	UT_CHECK(t && t->type == STK_KEY_BIN && t->key_size == 16);
	t = stktable_find(&conf, "b_late");
	UT_CHECK(t && t->key_size == 8);
	t = stktable_find(&conf, "p/t");
	UT_CHECK(t && !t->px && t->type == STK_KEY_IP && t->size == 1024 && t->line == 16);
	t = stktable_find(&conf, "p/u");
	UT_CHECK(t && t->type == STK_KEY_INT && t->expire == 10000);
	UT_CHECK(stktable_find(&conf, "t") == NULL);
	UT_CHECK(stktable_find(&conf, "p") == NULL);
	/* declaration order */
	UT_EQ_STR(stick_tables(&conf)->id, "b_ip");
	/* initialised by the post-parser */
	t = stktable_find(&conf, "b_ip");
	UT_CHECK(t && t->entry_size > 0 && stktable_avail(t) == 102400);
	config_free(&conf);
	UT_CHECK(conf.tables == NULL);
}

static void test_store(void)
{
	static const char text[] =
		"frontend f\n"
		"  bind 127.0.0.1:18591\n"
		"  stick-table type ip size 1k store conn_cur,conn_rate(10s),gpc(3),gpc_rate(2,1m) store gpt(2),bytes_out_rate(1h)\n"
		"backend b\n"
		"  stick-table type ip size 1k store server_id,gpc0,gpc0_rate(30s),gpc1,gpt0,sess_cnt,conn_cnt,bytes_in_cnt\n";
	struct config conf;
	struct stktable *t;

	UT_EQ_INT(load(&conf, text), 0);
	t = stktable_find(&conf, "f");
	UT_CHECK(t != NULL);
	if (t) {
		UT_CHECK(t->data[STK_DT_CONN_CUR].stored && t->data[STK_DT_CONN_CUR].nb == 1);
		UT_CHECK(t->data[STK_DT_CONN_RATE].stored && t->data[STK_DT_CONN_RATE].period == 10000);
		UT_CHECK(t->data[STK_DT_GPC].stored && t->data[STK_DT_GPC].nb == 3);
		UT_CHECK(t->data[STK_DT_GPC_RATE].stored && t->data[STK_DT_GPC_RATE].nb == 2 &&
			 t->data[STK_DT_GPC_RATE].period == 60000);
		UT_CHECK(t->data[STK_DT_GPT].stored && t->data[STK_DT_GPT].nb == 2);
		UT_CHECK(t->data[STK_DT_BYTES_OUT_RATE].period == 3600000);
		UT_CHECK(!t->data[STK_DT_SERVER_ID].stored);
		UT_CHECK(!t->data[STK_DT_CONN_CNT].stored);
		/* legacy names read the arrays */
		UT_CHECK(stktable_stores(t, STK_DT_GPC0, 0));
		UT_CHECK(stktable_stores(t, STK_DT_GPC, 2));
		UT_CHECK(!stktable_stores(t, STK_DT_GPC, 3));
	}
	t = stktable_find(&conf, "b");
	UT_CHECK(t && t->data[STK_DT_GPC0_RATE].period == 30000 && t->data[STK_DT_SERVER_ID].stored &&
		 t->data[STK_DT_GPT0].stored && t->data[STK_DT_BYTES_IN_CNT].stored);
	config_free(&conf);

	/* a type stored twice: warning, the first wins */
	UT_EQ_INT(load(&conf, "backend b\n  stick-table type ip size 1k store conn_rate(10s) store conn_rate(1m)\n"), 0);
	t = stktable_find(&conf, "b");
	UT_CHECK(t && t->data[STK_DT_CONN_RATE].period == 10000);
	UT_CHECK(strstr(messages, ":2: warning") || strstr(messages, "stored twice"));
	config_free(&conf);
}

/* ------------------------------------------------------------------ */
/* Bad tables: FILE:LINE and what to do                                */

static void test_bad_tables(void)
{
	expect_errors("backend b\n  stick-table size 1k\n", 1, ":2: 'stick-table': missing 'type'");
	expect_errors("backend b\n  stick-table type ip\n", 1, ":2: 'stick-table': missing 'size'");
	expect_errors("backend b\n  stick-table type ipv4 size 1k\n", 1, "'type' expects ip, ipv6");
	expect_errors("backend b\n  stick-table type\n", 1, "'type' expects");
	expect_errors("backend b\n  stick-table type string len 0 size 1k\n", 1,
		      ":2: 'stick-table': 'len' expects a number of bytes from 1 to 1024, got '0'");
	expect_errors("backend b\n  stick-table type binary len 1025 size 1k\n", 1, "got '1025'");
	expect_errors("backend b\n  stick-table type ip len 4 size 1k\n", 1,
		      "'len' only applies to string and binary tables (ip keys");
	expect_errors("backend b\n  stick-table len 4 type string size 1k\n", 1,
		      "'len' must follow 'type string'");
	expect_errors("backend b\n  stick-table type ip size 0\n", 1, "'size' expects a number of entries");
	expect_errors("backend b\n  stick-table type ip size 1g\n", 1, "got '1g'");
	expect_errors("backend b\n  stick-table type ip size lots\n", 1, "got 'lots'");
	expect_errors("backend b\n  stick-table type ip size 1k expire 25d\n", 1,
		      "'expire' expects a time like 30m (at most 24d), got '25d'");
	expect_errors("backend b\n  stick-table type ip size 1k expire soon\n", 1, "got 'soon'");
	expect_errors("backend b\n  stick-table type ip size 1k colour blue\n", 1, "unknown argument 'colour'");
}

static void test_bad_store(void)
{
	expect_errors("backend b\n  stick-table type ip size 1k store foo\n", 1,
		      ":2: 'stick-table': unknown data type 'foo' in 'store' (expects server_id, gpt0");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_cur,conn_rate\n", 1,
		      "data type 'conn_rate' needs a period, as in 'conn_rate(10s)'");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_cnt(10s)\n", 1,
		      "data type 'conn_cnt' takes no argument");
	expect_errors("backend b\n  stick-table type ip size 1k store http_req_rate(10s)\n", 1,
		      "data type 'http_req_rate' is not supported by sluice: it counts HTTP");
	expect_errors("backend b\n  stick-table type ip size 1k store http_err_cnt\n", 1, "HTTP");
	expect_errors("backend b\n  stick-table type ip size 1k store server_name\n", 1,
		      "'server_name' is not supported");
	expect_errors("backend b\n  stick-table type ip size 1k store server_key\n", 1, "server_key");
	expect_errors("backend b\n  stick-table type ip size 1k store glitch_rate(10s)\n", 1, "glitch");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc\n", 1,
		      "'gpc' needs a number of elements, as in 'gpc(3)'");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc(0)\n", 1,
		      "the number of elements must be 1 to 100, got '0'");
	expect_errors("backend b\n  stick-table type ip size 1k store gpt(101)\n", 1, "got '101'");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc_rate(2)\n", 1,
		      "'gpc_rate' needs a period, as in 'gpc_rate(3,10s)'");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc(2,10s)\n", 1, "too many arguments");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_rate(10s,1)\n", 1, "too many");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_rate(0)\n", 1,
		      "the period expects a time like 10s");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_rate(10s\n", 1, "missing ')'");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_cur,,gpc0\n", 1,
		      "'store' expects data types separated by commas");
	expect_errors("backend b\n  stick-table type ip size 1k store\n", 1, "'store' expects data types");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc0,gpc(2)\n", 1,
		      "'gpc' and 'gpc0' cannot both be stored");
	expect_errors("backend b\n  stick-table type ip size 1k store gpt0,gpt(1)\n", 1, "'gpt' and 'gpt0'");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc1_rate(1s),gpc_rate(1,1s)\n", 1,
		      "'gpc_rate' and 'gpc1_rate'");
}

static void test_bad_places(void)
{
	expect_errors("backend b\n  stick-table type ip size 1k peers p\n", 1,
		      ":2: 'stick-table': 'peers': peer synchronisation is not implemented in sluice");
	expect_errors("backend b\n  stick-table type ip size 1k srvkey addr\n", 1,
		      "'srvkey': peer synchronisation is not implemented in sluice");
	expect_errors("peers p\n  table t type ip size 1k write-to other\n", 1,
		      ":2: 'table': 'write-to': peer synchronisation is not implemented in sluice");
	expect_errors("peers p\n  table t type ip size 1k recv-only\n", 1, "'recv-only': peer synchronisation");
	expect_errors("backend b\n  stick-table type ip size 1k\n  stick-table type ip size 2k\n", 1,
		      ":3: 'stick-table': backend 'b' already has a stick-table (declared at ");
	UT_CHECK(strstr(messages, ":2)") != NULL);
	expect_errors("defaults\n  stick-table type ip size 1k\n", 1,
		      ":2: 'stick-table' is not allowed in a defaults section");
	expect_errors("frontend x\n  bind 127.0.0.1:18592\n  stick-table type ip size 1k\n"
		      "backend x\n  stick-table type ip size 1k\n", 1,
		      ":5: 'stick-table': a table named 'x' already exists (declared at ");
	expect_errors("peers p\n  peer me 127.0.0.1:10000\n", 1,
		      ":2: 'peer': sluice keeps the tables of a peers section but does not synchronise them");
	expect_errors("peers p\n  server me 127.0.0.1:10000\n  bind :10000\n  log stdout local0\n"
		      "  default-server inter 1s\n  default-bind v4v6\n  shards 3\n", 6, "'shards': sluice keeps");
	expect_errors("peers p\n  table t type ip size 1k\n  table t type ip size 2k\n", 1,
		      ":3: 'table t': peers section 'p' already has a table named 't' (declared at ");
	expect_errors("peers p\n  table type ip size 1k\n", 1, "unknown argument 'ip'");
	expect_errors("peers p\n  table\n", 1, "'table' expects a name");
	expect_errors("peers p\n  table a/b type ip size 1k\n", 1, "character '/' is not allowed");
	expect_errors("global\n  table t type ip size 1k\n", 1, "not allowed in 'global'");
}

/* ------------------------------------------------------------------ */
/* References                                                          */

static void test_refs(void)
{
	static const char text[] =
		"frontend f\n"
		"  bind 127.0.0.1:18593\n"
		"  ut-table -\n"			/* own table, declared below */
		"  ut-table b conn_rate\n"		/* forward reference */
		"  ut-table p/t gpc 2\n"
		"  ut-track 0\n"
		"  ut-track 1 b\n"
		"  ut-sc 0 conn_cur\n"
		"  ut-sc 1 conn_rate\n"
		"  stick-table type ip size 1k store conn_cur\n"
		"  default_backend b\n"
		"backend b\n"
		"  ut-sc 0 conn_cur\n"			/* sees what f tracks */
		"  ut-sc 1\n"
		"  stick-table type string size 1k store conn_rate(10s)\n"
		"peers p\n"
		"  table t type ip size 1k store gpc(3)\n";
	struct config conf;

	nslots = 0;
	memset(slots, 0, sizeof(slots));
	UT_EQ_INT(load(&conf, text), 0);
	UT_EQ_INT(nslots, 5);
	UT_CHECK(slots[0] && slots[0] == stktable_find(&conf, "f"));
	UT_CHECK(slots[1] && slots[1] == stktable_find(&conf, "b"));
	UT_CHECK(slots[2] && slots[2] == stktable_find(&conf, "p/t"));
	UT_CHECK(slots[3] && slots[3] == stktable_find(&conf, "f"));
	UT_CHECK(slots[4] && slots[4] == stktable_find(&conf, "b"));
	UT_CHECK(strstr(messages, "nothing in the configuration tracks") == NULL);
	config_free(&conf);
}

static void test_bad_refs(void)
{
	expect_errors("backend b\n  ut-table -\n", 1, ":2: 'ut-table': proxy 'b' has no stick-table");
	expect_errors("backend b\n  ut-table nope\n", 1, ":2: 'ut-table': no stick table named 'nope'");
	expect_errors("backend b\n  ut-table \"\"\n", 1, "empty table name");
	expect_errors("backend b\n  stick-table type ip size 1k store conn_cur\n  ut-table b conn_rate\n", 1,
		      ":3: 'ut-table': table 'b' does not store conn_rate (add it to 'store')");
	expect_errors("backend b\n  stick-table type ip size 1k store gpc(2)\n  ut-table b gpc 2\n", 1,
		      "does not store gpc element 2 (add 'gpc(3)' to 'store')");
	expect_errors("backend b\n  stick-table type ip size 1k\n  ut-track 3\n", 1, "sc0 to sc2 only");
	/* the table tracked in sc0 lacks what the fetch reads */
	expect_errors("frontend f\n  bind 127.0.0.1:18594\n  stick-table type ip size 1k store conn_cur\n"
		      "  ut-track 0\n  ut-sc 0 conn_rate\n", 1,
		      ":5: 'ut-sc': sc0 is tracked in table 'f' (");
	UT_CHECK(strstr(messages, "which does not store conn_rate") != NULL);
	/* a backend's scN sees its frontends' tracks */
	expect_errors("frontend f\n  bind 127.0.0.1:18595\n  stick-table type ip size 1k store conn_cur\n"
		      "  ut-track 0\n  default_backend b\nbackend b\n  ut-sc 0 gpc0\n", 1, ":7: 'ut-sc'");
	/* a frontend does not see another frontend's tracks */
	expect_errors("frontend f\n  bind 127.0.0.1:18596\n  stick-table type ip size 1k\n  ut-track 0\n"
		      "frontend g\n  bind 127.0.0.1:18597\n  ut-sc 0 gpc0\n", 0, NULL);
	UT_CHECK(strstr(messages, "ut-sc") == NULL);
	/* nothing tracks sc2 at all: a warning only */
	expect_errors("backend b\n  ut-sc 2 conn_cur\n", 0,
		      ":2: warning: 'ut-sc': nothing in the configuration tracks sc2");
	/* a failed parse frees the references it had taken */
	expect_errors("backend b\n  ut-table nope\n  stick-table type ip\n", 1, "missing 'size'");
}

/* ------------------------------------------------------------------ */
/* Stick rules                                                         */

static void test_rules_cfg(void)
{
	static const char text[] =
		"backend b\n"
		"  stick on src\n"
		"  stick match src table p/t if { src 10.0.0.0/8 }\n"
		"  stick store-request src table b2 unless { src 10.0.0.1 }\n"
		"  stick-table type ip size 1k\n"
		"  server s1 127.0.0.1:1\n"
		"backend b2\n"
		"  stick-table type string size 1k store gpc0\n"
		"  server s1 127.0.0.1:1\n"
		"listen l\n"
		"  bind 127.0.0.1:18598\n"
		"  stick on src_port table b3\n"
		"  server s1 127.0.0.1:1\n"
		"backend b3\n"
		"  stick-table type integer size 1k\n"
		"peers p\n"
		"  table t type ipv6 size 1k\n"
		"  table unused type ip size 1k\n";
	struct config conf;
	struct proxy *b;

	UT_EQ_INT(load(&conf, text), 0);
	b = find_px(&conf, "b");
	UT_CHECK(b && stick_rules_has(b));
	UT_CHECK(!stick_rules_has(find_px(&conf, "b2")));
	UT_CHECK(stktable_stores(stktable_find(&conf, "b"), STK_DT_SERVER_ID, 0));
	UT_CHECK(stktable_stores(stktable_find(&conf, "b2"), STK_DT_SERVER_ID, 0));
	UT_CHECK(stktable_stores(stktable_find(&conf, "b3"), STK_DT_SERVER_ID, 0));
	UT_CHECK(stktable_stores(stktable_find(&conf, "p/t"), STK_DT_SERVER_ID, 0));
	UT_CHECK(!stktable_stores(stktable_find(&conf, "p/unused"), STK_DT_SERVER_ID, 0));
	config_free(&conf);
}

static void test_rules_bad(void)
{
	expect_errors("frontend f\n  bind 127.0.0.1:18599\n  stick on src\n", 1,
		      ":3: 'stick on' is not allowed in a frontend section: put it in a backend or listen section");
	expect_errors("defaults\n  stick match src\n", 1, "'stick match' is not allowed in a defaults section");
	expect_errors("backend b\n  stick on src\n  server s 127.0.0.1:1\n", 1,
		      ":2: 'stick on': proxy 'b' has no stick-table");
	expect_errors("backend b\n  stick store-request src table nope\n", 1,
		      ":2: 'stick store-request': no stick table named 'nope'");
	expect_errors("backend b\n  stick on\n", 1, "'stick on' expects a sample expression");
	expect_errors("backend b\n  stick on table t\n", 1, "expects a sample expression");
	expect_errors("backend b\n  stick on src table\n", 1, "'table' expects a table name");
	expect_errors("backend b\n  stick on src foo\n", 1, "unexpected 'foo'");
	expect_errors("backend b\n  stick on src if\n", 1, "must be followed by a condition");
	expect_errors("backend b\n  stick on nosuchfetch\n", 1, "'stick on nosuchfetch':");
	expect_errors("backend b\n  stick on src if nosuchacl\n", 1, NULL);
	expect_errors("backend b\n  stick store-response src\n", 1,
		      "'stick store-response' is not implemented in sluice");
	expect_errors("backend b\n  stick with src\n", 1, "'stick' expects 'on', 'match' or 'store-request'");
	expect_errors("backend b\n  stick-table type ip size 1k\n  stick on fc_rcvd_proxy\n", 1,
		      ":3: 'stick on': expression 'fc_rcvd_proxy' gives a boolean, which cannot be a key of table 'b' (type ip)");
	expect_errors("backend b\n  stick-table type ip size 1k\n  stick match src_port\n", 1,
		      "gives an integer");
	expect_errors("backend b\n  stick-table type integer size 1k\n  stick on src\n", 0, NULL);
	expect_errors("backend b\n  stick-table type string size 1k\n  stick on fc_rcvd_proxy\n", 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Rules at run time, on a fake session                                */

struct fake {
	struct session s;
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];
};

static void fake_init(struct fake *f, const struct config *conf, struct proxy *be, const char *ip)
{
	memset(f, 0, sizeof(*f));
	f->s.fe = be;
	f->s.be = be;
	ut_set_ip(&f->src, ip, 40000);
	ut_set_ip(&f->dst, "192.0.2.1", 80);
	ut_smp_ctx_init(&f->ctx, f->scratch, sizeof(f->scratch));
	f->ctx.src = &f->src;
	f->ctx.dst = &f->dst;
	f->ctx.fe = be;
	f->ctx.be = be;
	f->ctx.conf = conf;
}

static void test_rules_run(void)
{
	static const char text[] =
		"listen l\n"
		"  bind 127.0.0.1:18600\n"
		"  stick-table type ip size 10\n"
		"  stick match src table other if { src 10.1.0.0/16 }\n"
		"  stick on src\n"
		"  stick store-request src table other if { src 10.2.0.0/16 }\n"
		"  server s1 127.0.0.1:1\n"
		"  server s2 127.0.0.1:2 id 7\n"
		"backend other\n"
		"  stick-table type ip size 10\n"
		"  server x 127.0.0.1:3\n";
	struct config conf;
	struct proxy *l;
	struct server *s2;
	struct stktable *t, *other;
	struct fake f;

	if (load(&conf, text)) {
		UT_CHECK(0);
		return;
	}
	l = find_px(&conf, "l");
	s2 = server_find(l, "s2");
	t = stktable_find(&conf, "l");
	other = stktable_find(&conf, "other");
	UT_CHECK(s2 && s2->puid == 7 && t && other);

	fake_init(&f, &conf, l, "10.0.0.1");
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == NULL);
	f.s.srv = s2;
	stick_rules_store(f.s.be, f.s.srv, &f.ctx);
	UT_EQ_INT(stktable_count(t), 1);
	UT_EQ_INT(stktable_count(other), 0);
	f.s.srv = NULL;
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == s2);

	/* a server in maintenance is not forced; the balancer chooses */
	atomic_store(&s2->admin, SRV_ADMF_MAINT);
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == NULL);
	/* a draining one keeps its clients */
	atomic_store(&s2->admin, SRV_ADMF_DRAIN);
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == s2);
	atomic_store(&s2->admin, 0);
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == s2);

	/* another client knows nothing */
	fake_init(&f, &conf, l, "10.0.0.2");
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == NULL);

	/* 10.2/16: "stick on" and the store-request into other both store */
	fake_init(&f, &conf, l, "10.2.0.1");
	f.s.srv = s2;
	stick_rules_store(f.s.be, f.s.srv, &f.ctx);
	UT_EQ_INT(stktable_count(t), 2);
	UT_EQ_INT(stktable_count(other), 1);

	/* 10.1/16 matches in other first: its entry is not there yet, then "on" */
	fake_init(&f, &conf, l, "10.1.0.1");
	UT_CHECK(stick_rules_match(f.s.be, &f.ctx) == NULL);
	config_free(&conf);
}

/* Does t hold the IPv4 address ip? */
static int has_ip(struct stktable *t, const struct smp_ctx *ctx, const char *ip)
{
	struct sample smp = { .type = SMP_T_IPV4 };
	struct stksess *e;
	struct stk_key key;
	uint64_t now = stick_now(ctx);

	if (inet_pton(AF_INET, ip, &smp.u.ipv4) != 1 || !stk_key_from_sample(t, &smp, ctx, &key))
		return -1;
	e = stktable_lookup(t, &key, now);
	if (e)
		stksess_release(t, e, 0, now);
	return e != NULL;
}

/* One key per table, at most 8 keys per session, as in HAProxy. */
static void test_store_caps(void)
{
	char text[2048];
	size_t n;
	struct config conf;
	struct proxy *b;
	struct fake f;
	struct stktable *t1;
	char id[16];
	int i;

	n = (size_t)snprintf(text, sizeof(text),
			     "backend b\n  server s1 127.0.0.1:1\n"
			     "  stick store-request dst table p/t1\n"
			     "  stick store-request src table p/t1\n");
	for (i = 2; i <= 9; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "  stick store-request src table p/t%d\n", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "peers p\n");
	for (i = 1; i <= 9; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  table t%d type ip size 4\n", i);
	if (load(&conf, text)) {
		UT_CHECK(0);
		return;
	}
	b = find_px(&conf, "b");
	fake_init(&f, &conf, b, "10.0.0.1");
	f.s.srv = b->srv;
	stick_rules_store(f.s.be, f.s.srv, &f.ctx);
	for (i = 1; i <= 9; i++) {
		snprintf(id, sizeof(id), "p/t%d", i);
		UT_EQ_INT(stktable_count(stktable_find(&conf, id)), i <= 8);
	}
	/* t1 got dst's key from the first rule, not src's from the second */
	t1 = stktable_find(&conf, "p/t1");
	UT_EQ_INT(has_ip(t1, &f.ctx, "192.0.2.1"), 1);
	UT_EQ_INT(has_ip(t1, &f.ctx, "10.0.0.1"), 0);
	config_free(&conf);
}

int main(void)
{
	cfg_register(&ut_kws);
	test_types();
	test_store();
	test_bad_tables();
	test_bad_store();
	test_bad_places();
	test_refs();
	test_bad_refs();
	test_rules_cfg();
	test_rules_bad();
	test_rules_run();
	test_store_caps();
	UT_DONE();
}
