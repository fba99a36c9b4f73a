/* stick_cfg.c - stick tables in the configuration, and references to them.
 *
 * A table is declared by "stick-table" in a frontend, backend or listen
 * (it takes the proxy's name) or by "table NAME" in a peers section (named
 * "PEERS/NAME"). sluice keeps a peers section's tables as ordinary local
 * tables but never synchronises them, and says so at every line that asks
 * for synchronisation rather than ignoring it.
 * Rules, fetches and converters may name a table declared further down the
 * file, so while parsing they only record a reference here. Once every file
 * is read, a post-parser resolves the references, checks that each table
 * keeps the data its users read, lets stick rules enable server_id, and
 * only then initialises the tables, whose layout depends on all of that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/proxy.h"
#include "sluice/stick.h"

#define STK_SIZE_MAX	(1ul << 28)		/* 256m entries: more is a typo */
#define STK_TIME_MAX	(24u * 86400000u)	/* 24 days: HAProxy's limit, and freq_ctr's */
#define STK_ITEM_MAX	128			/* longest "store" item */

/* ---- the tables of a config ---------------------------------------------- */

static const struct {
	const char *name;
	enum stk_key_type type;
	unsigned size;		/* 0: "len", default STK_STR_DEFAULT_LEN */
} key_types[] = {
	{ "ip",      STK_KEY_IP,   4 },
	{ "ipv6",    STK_KEY_IPV6, 16 },
	{ "integer", STK_KEY_INT,  8 },
	{ "string",  STK_KEY_STR,  0 },
	{ "binary",  STK_KEY_BIN,  0 },
};

static const char *key_type_name(enum stk_key_type type)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(key_types); i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "?";
}

struct stktable *stktable_find(const struct config *conf, const char *name)
{
	struct stktable *t;

	for (t = conf->tables; t; t = t->next)
		if (!strcmp(t->id, name))
			return t;
	return NULL;
}

struct stktable *stick_tables(const struct config *conf)
{
	return conf->tables;
}

void stktable_enable(struct stktable *t, enum stk_dt dt)
{
	if ((unsigned)dt >= STK_DT_COUNT)
		return;
	t->data[dt].stored = 1;
	if (!t->data[dt].nb)
		t->data[dt].nb = 1;
}

static struct stktable *table_new(struct cfg_ctx *ctx, const char *id)
{
	struct stktable *t = calloc(1, sizeof(*t));

	if (t)
		t->id = strdup(id);
	if (!t || !t->id) {
		free(t);
		cfg_err(ctx, "out of memory");
		return NULL;
	}
	t->file = ctx->file;
	t->line = ctx->line;
	return t;
}

/* A table that stktable_init() never touched is only what this file
 * allocated: free it here, so nothing depends on how stick.c treats
 * runtime fields that were never set. */
static void table_free(struct stktable *t)
{
	if (t->shards || t->region) {
		stktable_free(t);
		return;
	}
	free(t->id);
	free(t);
}

static void table_link(struct config *conf, struct stktable *t)
{
	struct stktable **tail = &conf->tables;

	while (*tail)
		tail = &(*tail)->next;
	*tail = t;
}

/* ---- stktable_parse: type, size, expire, nopurge ------------------------ */

static int parse_len(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
		     int argc, char **args, int i)
{
	unsigned long n;

	if (t->type != STK_KEY_STR && t->type != STK_KEY_BIN)
		return cfg_err(ctx, "'%s': 'len' only applies to string and binary tables (%s keys have a fixed size)",
			       kw, key_type_name(t->type));
	if (i + 1 >= argc || cfg_parse_uint(args[i + 1], 1, STK_KEY_MAX_LEN, &n) < 0)
		return cfg_err(ctx, "'%s': 'len' expects a number of bytes from 1 to %u, got '%s'",
			       kw, STK_KEY_MAX_LEN, i + 1 < argc ? args[i + 1] : "");
	t->key_size = (unsigned)n;
	return i + 2;
}

static int parse_type(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
		      int argc, char **args, int i)
{
	size_t k;

	for (k = 0; i + 1 < argc && k < CFG_ARRAY_SIZE(key_types); k++)
		if (!strcmp(args[i + 1], key_types[k].name))
			break;
	if (i + 1 >= argc || k == CFG_ARRAY_SIZE(key_types))
		return cfg_err(ctx, "'%s': 'type' expects ip, ipv6, integer, string [len N] or binary [len N], got '%s'",
			       kw, i + 1 < argc ? args[i + 1] : "");
	t->type = key_types[k].type;
	t->key_size = key_types[k].size ? key_types[k].size : STK_STR_DEFAULT_LEN;
	i += 2;
	if (i < argc && !strcmp(args[i], "len"))
		return parse_len(ctx, kw, t, argc, args, i);
	return i;
}

/* "len" away from "type" is only accepted once the type allows it. */
static int parse_late_len(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
			  int argc, char **args, int i)
{
	if (!t->key_size)
		return cfg_err(ctx, "'%s': 'len' must follow 'type string' or 'type binary'", kw);
	return parse_len(ctx, kw, t, argc, args, i);
}

static int parse_size(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
		      int argc, char **args, int i)
{
	unsigned long n;

	if (i + 1 >= argc || cfg_parse_size(args[i + 1], &n) < 0 || !n || n > STK_SIZE_MAX)
		return cfg_err(ctx, "'%s': 'size' expects a number of entries from 1 to 256m (k, m, g multiply by 1024), got '%s'",
			       kw, i + 1 < argc ? args[i + 1] : "");
	t->size = (unsigned)n;
	return i + 2;
}

static int parse_expire(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
			int argc, char **args, int i)
{
	unsigned ms;

	if (i + 1 >= argc || cfg_parse_time(args[i + 1], &ms) < 0 || ms > STK_TIME_MAX)
		return cfg_err(ctx, "'%s': 'expire' expects a time like 30m (at most 24d), got '%s'",
			       kw, i + 1 < argc ? args[i + 1] : "");
	t->expire = ms;
	return i + 2;
}

static int parse_nopurge(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
			 int argc, char **args, int i)
{
	(void)ctx;
	(void)kw;
	(void)argc;
	(void)args;
	t->nopurge = 1;
	return i + 1;
}

static int refuse_sync(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
		       int argc, char **args, int i)
{
	(void)t;
	(void)argc;
	return cfg_err(ctx, "'%s': '%s': peer synchronisation is not implemented in sluice (its tables are local to the process); remove it",
		       kw, args[i]);
}

/* ---- stktable_parse: store ---------------------------------------------- */

/* Types HAProxy has and sluice does not keep, with the reason. */
static const struct {
	const char *prefix;
	const char *why;
} refused_types[] = {
	{ "http_", "it counts HTTP requests or errors, which a layer-4 proxy never sees" },
	{ "glitch_", "it counts HTTP/2 and QUIC protocol glitches, and sluice does not speak those protocols" },
	{ "server_key", "it serves peer synchronisation of stick rules, which sluice does not do (stick rules store 'server_id')" },
	{ "server_name", "it serves peer synchronisation of stick rules, which sluice does not do (stick rules store 'server_id')" },
};

static int refuse_type(struct cfg_ctx *ctx, const char *kw, const char *name, size_t len)
{
	size_t i, plen;

	for (i = 0; i < CFG_ARRAY_SIZE(refused_types); i++) {
		plen = strlen(refused_types[i].prefix);
		if (len >= plen && !strncmp(name, refused_types[i].prefix, plen))
			return cfg_err(ctx, "'%s': data type '%.*s' is not supported by sluice: %s",
				       kw, (int)len, name, refused_types[i].why);
	}
	return 0;
}

static int unknown_type(struct cfg_ctx *ctx, const char *kw, const char *name, size_t len)
{
	char list[512];
	size_t n = 0;
	int dt;

	list[0] = '\0';
	for (dt = 0; dt < STK_DT_COUNT && n < sizeof(list); dt++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", dt ? ", " : "",
				      stk_dt_name((enum stk_dt)dt));
	return cfg_err(ctx, "'%s': unknown data type '%.*s' in 'store' (expects %s)",
		       kw, (int)len, name, list);
}

static int parse_period(struct cfg_ctx *ctx, const char *kw, const char *item,
			const char *arg, unsigned *period)
{
	if (!arg || cfg_parse_time(arg, period) < 0 || !*period || *period > STK_TIME_MAX)
		return cfg_err(ctx, "'%s': '%s': the period expects a time like 10s (at most 24d), got '%s'",
			       kw, item, arg ? arg : "");
	return 0;
}

/* The "(...)" of a data type: N for arrays, then a period for rates. */
static int parse_dt_args(struct cfg_ctx *ctx, const char *kw, const char *item, enum stk_dt dt,
			 char *arg, struct stk_dt_conf *dc)
{
	const char *name = stk_dt_name(dt);
	int array = stk_dt_is_array(dt), rate = stk_dt_is_rate(dt);
	char *second = arg ? strchr(arg, ',') : NULL;
	unsigned long n;

	if (second)
		*second++ = '\0';
	if (!rate && !array && arg)
		return cfg_err(ctx, "'%s': data type '%s' takes no argument (only rates take a period, as in 'conn_rate(10s)')",
			       kw, name);
	if (array && !arg)
		return cfg_err(ctx, "'%s': data type '%s' needs a number of elements, as in '%s(3%s)'",
			       kw, name, name, rate ? ",10s" : "");
	if (rate && !(array ? second : arg))
		return cfg_err(ctx, "'%s': data type '%s' needs a period, as in '%s(%s10s)'",
			       kw, name, name, array ? "3," : "");
	if (second && (!array || !rate || strchr(second, ',')))
		return cfg_err(ctx, "'%s': '%s': too many arguments", kw, item);
	dc->nb = 1;
	if (array) {
		if (cfg_parse_uint(arg, 1, STK_DT_ARRAY_MAX, &n) < 0)
			return cfg_err(ctx, "'%s': '%s': the number of elements must be 1 to %d, got '%s'",
				       kw, item, STK_DT_ARRAY_MAX, arg);
		dc->nb = (uint16_t)n;
	}
	if (rate)
		return parse_period(ctx, kw, item, array ? second : arg, &dc->period);
	return 0;
}

static int parse_store_item(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
			    const char *item, size_t len)
{
	char whole[STK_ITEM_MAX], buf[STK_ITEM_MAX], *open, *arg = NULL;
	struct stk_dt_conf dc = { 0 };
	size_t nlen;
	int dt;

	if (!len || len >= sizeof(buf))
		return cfg_err(ctx, "'%s': 'store' expects data types separated by commas, got '%.*s'",
			       kw, (int)len, item);
	memcpy(buf, item, len);
	buf[len] = '\0';
	memcpy(whole, buf, len + 1);
	open = strchr(buf, '(');
	nlen = open ? (size_t)(open - buf) : len;
	if (refuse_type(ctx, kw, buf, nlen) < 0)
		return -1;
	dt = stk_dt_lookup(buf, nlen);
	if (dt < 0 || dt >= STK_DT_COUNT)
		return unknown_type(ctx, kw, buf, nlen);
	if (open) {
		if (buf[len - 1] != ')')
			return cfg_err(ctx, "'%s': missing ')' in '%s'", kw, whole);
		buf[len - 1] = '\0';
		arg = open + 1;
	}
	if (parse_dt_args(ctx, kw, whole, (enum stk_dt)dt, arg, &dc) < 0)
		return -1;
	if (t->data[dt].stored) {
		cfg_warn(ctx, "'%s': data type '%s' is stored twice; keeping the first one",
			 kw, stk_dt_name((enum stk_dt)dt));
		return 0;
	}
	dc.stored = 1;
	t->data[dt] = dc;
	return 0;
}

/* "a,b(10s),gpc_rate(2,1m)": commas inside parentheses separate arguments. */
static int parse_store(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
		       int argc, char **args, int i)
{
	const char *p, *end;
	int depth;

	if (i + 1 >= argc)
		return cfg_err(ctx, "'%s': 'store' expects data types, as in 'store conn_cur,conn_rate(10s)'", kw);
	for (p = args[i + 1];; p = end + 1) {
		for (end = p, depth = 0; *end && (depth || *end != ','); end++) {
			if (*end == '(')
				depth++;
			else if (*end == ')' && depth)
				depth--;
		}
		if (parse_store_item(ctx, kw, t, p, (size_t)(end - p)) < 0)
			return -1;
		if (!*end)
			return i + 2;
	}
}

/* HAProxy refuses a legacy type next to the array that holds it: the
 * array's element 0 (1) is what the legacy name reads (stktable_stores). */
static int check_array_overlap(struct cfg_ctx *ctx, const char *kw, const struct stktable *t)
{
	static const enum stk_dt pairs[][2] = {
		{ STK_DT_GPT, STK_DT_GPT0 },
		{ STK_DT_GPC, STK_DT_GPC0 },
		{ STK_DT_GPC, STK_DT_GPC1 },
		{ STK_DT_GPC_RATE, STK_DT_GPC0_RATE },
		{ STK_DT_GPC_RATE, STK_DT_GPC1_RATE },
	};
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(pairs); i++) {
		if (!t->data[pairs[i][0]].stored || !t->data[pairs[i][1]].stored)
			continue;
		return cfg_err(ctx, "'%s': '%s' and '%s' cannot both be stored in one table ('%s' takes the place of '%s', HAProxy refuses it too); keep one of them",
			       kw, stk_dt_name(pairs[i][0]), stk_dt_name(pairs[i][1]),
			       stk_dt_name(pairs[i][0]), stk_dt_name(pairs[i][1]));
	}
	return 0;
}

typedef int (*stk_opt_fn)(struct cfg_ctx *ctx, const char *kw, struct stktable *t,
			  int argc, char **args, int i);

static const struct {
	const char *name;
	stk_opt_fn fn;
} table_options[] = {
	{ "type", parse_type },
	{ "len", parse_late_len },
	{ "size", parse_size },
	{ "expire", parse_expire },
	{ "nopurge", parse_nopurge },
	{ "store", parse_store },
	{ "peers", refuse_sync },
	{ "srvkey", refuse_sync },
	{ "write-to", refuse_sync },
	{ "recv-only", refuse_sync },
};

int stktable_parse(struct cfg_ctx *ctx, struct stktable *t, int argc, char **args, int first)
{
	const char *kw = args[0];
	int i = first;
	size_t k;

	while (i < argc) {
		for (k = 0; k < CFG_ARRAY_SIZE(table_options); k++)
			if (!strcmp(args[i], table_options[k].name))
				break;
		if (k == CFG_ARRAY_SIZE(table_options))
			return cfg_err(ctx, "'%s': unknown argument '%s' (expects type, size, expire, nopurge or store)",
				       kw, args[i]);
		i = table_options[k].fn(ctx, kw, t, argc, args, i);
		if (i < 0)
			return -1;
	}
	if (!t->key_size)
		return cfg_err(ctx, "'%s': missing 'type' (ip, ipv6, integer, string or binary)", kw);
	if (!t->size)
		return cfg_err(ctx, "'%s': missing 'size', as in 'size 100k'", kw);
	return check_array_overlap(ctx, kw, t);
}

/* ---- keywords ------------------------------------------------------------ */

static int kw_stick_table(struct cfg_ctx *ctx, int argc, char **args)
{
	struct proxy *px = ctx->px;
	struct stktable *t;

	if (ctx->section == CFG_DEFAULTS)
		return cfg_err(ctx, "'stick-table' is not allowed in a defaults section: a table belongs to one frontend, backend or listen section (or to a peers section's 'table' line)");
	if (px->table)
		return cfg_err(ctx, "'stick-table': %s '%s' already has a stick-table (declared at %s:%d); a proxy has at most one, put more tables in a peers section",
			       proxy_cap_str(px->cap), px->name, px->table->file, px->table->line);
	t = stktable_find(ctx->conf, px->name);
	if (t)
		return cfg_err(ctx, "'stick-table': a table named '%s' already exists (declared at %s:%d): tables take their proxy's name, give the proxies different names",
			       px->name, t->file, t->line);
	t = table_new(ctx, px->name);
	if (!t)
		return -1;
	if (stktable_parse(ctx, t, argc, args, 1) < 0) {
		table_free(t);
		return -1;
	}
	t->px = px;
	px->table = t;
	table_link(ctx->conf, t);
	return 0;
}

static int check_table_name(struct cfg_ctx *ctx, const char *name)
{
	const char *c;

	if (!*name)
		return cfg_err(ctx, "'table' expects a name then the table's settings, as in 'table t1 type ip size 100k'");
	for (c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-_.:", *c)))
			return cfg_err(ctx, "'table %s': character '%c' is not allowed in a name (letters, digits, '-', '_', '.', ':')",
				       name, *c);
	return 0;
}

/* "table NAME ..." in a peers section: a local table named "PEERS/NAME". */
static int kw_peers_table(struct cfg_ctx *ctx, int argc, char **args)
{
	char id[512];
	struct stktable *t;

	if (argc < 2)
		return check_table_name(ctx, "");
	if (check_table_name(ctx, args[1]) < 0)
		return -1;
	if ((size_t)snprintf(id, sizeof(id), "%s/%s", ctx->peers, args[1]) >= sizeof(id))
		return cfg_err(ctx, "'table %s': name too long", args[1]);
	t = stktable_find(ctx->conf, id);
	if (t)
		return cfg_err(ctx, "'table %s': peers section '%s' already has a table named '%s' (declared at %s:%d)",
			       args[1], ctx->peers, args[1], t->file, t->line);
	t = table_new(ctx, id);
	if (!t)
		return -1;
	if (stktable_parse(ctx, t, argc, args, 2) < 0) {
		table_free(t);
		return -1;
	}
	table_link(ctx->conf, t);
	return 0;
}

static int kw_peers_sync(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)argc;
	return cfg_err(ctx, "'%s': sluice keeps the tables of a peers section but does not synchronise them with other peers; remove this line (the tables work locally without it)",
		       args[0]);
}

/* Nothing to switch: there is no synchronisation to disable. */
static int kw_peers_noop(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)ctx;
	(void)argc;
	(void)args;
	return 0;
}

/* ---- references ---------------------------------------------------------- */

enum ref_kind { REF_TABLE, REF_TRACK, REF_SC };

struct stick_ref {
	struct stick_ref *next;
	const struct config *conf;
	enum ref_kind kind;
	const char *file;
	int line;
	struct proxy *px;
	char *name;		/* NULL: the proxy's own table */
	char *what;		/* keyword, fetch or converter, for messages */
	void **slot;		/* NULL for REF_SC */
	enum stk_dt need;	/* STK_DT_COUNT: any table */
	unsigned idx;
	unsigned sc;		/* REF_TRACK, REF_SC */
	struct stktable *table;	/* once resolved */
};

/* Pending until the post-parser of the config they belong to. */
static struct stick_ref *refs;

static void ref_free(struct stick_ref *r)
{
	free(r->name);
	free(r->what);
	free(r);
}

static void drop_refs(const struct config *conf)
{
	struct stick_ref **pp = &refs, *r;

	while ((r = *pp)) {
		if (r->conf != conf) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		ref_free(r);
	}
}

static struct stick_ref *ref_add(struct cfg_ctx *ctx, enum ref_kind kind, const char *name,
				 const char *what)
{
	struct stick_ref *r = calloc(1, sizeof(*r)), **tail = &refs;

	if (!r || (name && !(r->name = strdup(name))) || !(r->what = strdup(what))) {
		if (r)
			ref_free(r);
		cfg_err(ctx, "'%s': out of memory", what);
		return NULL;
	}
	r->conf = ctx->conf;
	r->kind = kind;
	r->file = ctx->file;
	r->line = ctx->line;
	r->px = ctx->section == CFG_PEERS ? NULL : ctx->px;
	r->need = STK_DT_COUNT;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	return r;
}

static int check_ref_name(struct cfg_ctx *ctx, const char *name, const char *what)
{
	/* an expression in a defaults section is parsed once and copied by
	 * each proxy: a reference from there would outlive its expression */
	if (ctx->section == CFG_DEFAULTS)
		return cfg_err(ctx, "'%s' reads a stick table: it cannot be used in a defaults section, write it in the proxy",
			       what);
	if (name && !*name)
		return cfg_err(ctx, "'%s': empty table name", what);
	if (!name && (!ctx->px || ctx->section == CFG_PEERS))
		return cfg_err(ctx, "'%s' needs a table name here", what);
	return 0;
}

int stick_ref_table(struct cfg_ctx *ctx, const char *name, void **slot,
		    enum stk_dt need, unsigned idx, const char *what)
{
	struct stick_ref *r;

	if (check_ref_name(ctx, name, what) < 0)
		return -1;
	r = ref_add(ctx, REF_TABLE, name, what);
	if (!r)
		return -1;
	r->slot = slot;
	r->need = (unsigned)need < STK_DT_COUNT ? need : STK_DT_COUNT;
	r->idx = idx;
	return 0;
}

int stick_ref_track(struct cfg_ctx *ctx, unsigned sc, const char *name, void **slot)
{
	char what[32];
	struct stick_ref *r;

	snprintf(what, sizeof(what), "track-sc%u", sc);
	if (sc >= STK_TRACK_MAX)
		return cfg_err(ctx, "'%s': sluice has sc0 to sc%d only", what, STK_TRACK_MAX - 1);
	if (check_ref_name(ctx, name, what) < 0)
		return -1;
	r = ref_add(ctx, REF_TRACK, name, what);
	if (!r)
		return -1;
	r->slot = slot;
	r->sc = sc;
	return 0;
}

int stick_ref_sc(struct cfg_ctx *ctx, unsigned sc, enum stk_dt need, unsigned idx,
		 const char *what)
{
	struct stick_ref *r;

	if (sc >= STK_TRACK_MAX)
		return cfg_err(ctx, "'%s': sluice has sc0 to sc%d only", what, STK_TRACK_MAX - 1);
	if (!ctx->px || ctx->section == CFG_PEERS)
		return 0;	/* nothing there tracks anything: nothing to check */
	r = ref_add(ctx, REF_SC, NULL, what);
	if (!r)
		return -1;
	r->sc = sc;
	r->need = (unsigned)need < STK_DT_COUNT ? need : STK_DT_COUNT;
	r->idx = idx;
	return 0;
}

/* ---- post-parse ----------------------------------------------------------- */

/* "conn_rate (add it to 'store')", "gpc element 2 (add 'gpc(3)' to 'store')" */
static void describe_need(char *buf, size_t size, enum stk_dt need, unsigned idx)
{
	const char *name = stk_dt_name(need);

	if (!stk_dt_is_array(need))
		snprintf(buf, size, "%s (add it to 'store')", name);
	else
		snprintf(buf, size, "%s element %u (add '%s(%u%s)' to 'store')", name, idx,
			 name, idx + 1, stk_dt_is_rate(need) ? ",PERIOD" : "");
}

static int ref_keeps(const struct stick_ref *r, const struct stktable *t)
{
	char need[128];

	if (r->need == STK_DT_COUNT || stktable_stores(t, r->need, r->idx))
		return 1;
	describe_need(need, sizeof(need), r->need, r->idx);
	cfg_err_at(r->file, r->line, "'%s': table '%s' does not store %s", r->what, t->id, need);
	return 0;
}

/* Returns the number of errors (0 or 1). */
static int resolve_ref(const struct config *conf, struct stick_ref *r)
{
	struct stktable *t;

	if (!r->name) {
		t = r->px ? r->px->table : NULL;
		if (!t) {
			cfg_err_at(r->file, r->line, "'%s': proxy '%s' has no stick-table (declare one in it, or name another table)",
				   r->what, r->px ? r->px->name : "");
			return 1;
		}
	} else {
		t = stktable_find(conf, r->name);
		if (!t) {
			cfg_err_at(r->file, r->line, "'%s': no stick table named '%s' (a table takes its proxy's name, or PEERS/NAME in a peers section)",
				   r->what, r->name);
			return 1;
		}
	}
	if (!ref_keeps(r, t))
		return 1;
	r->table = t;
	if (r->slot)
		*r->slot = t;
	return 0;
}

/* Could a track-scN of tr feed the scN fetches of proxy px? A backend
 * sees what its frontends tracked. */
static int track_reaches(const struct stick_ref *tr, const struct proxy *px)
{
	return tr->px == px || (px->cap == PX_CAP_BE && tr->px && (tr->px->cap & PX_CAP_FE));
}

static int check_sc_ref(const struct config *conf, const struct stick_ref *r)
{
	const struct stick_ref *tr, *first = NULL;
	int tracked = 0;
	char need[128];

	for (tr = refs; tr; tr = tr->next) {
		if (tr->conf != conf || tr->kind != REF_TRACK || tr->sc != r->sc)
			continue;
		tracked = 1;
		if (!tr->table || !track_reaches(tr, r->px))
			continue;
		if (r->need == STK_DT_COUNT || stktable_stores(tr->table, r->need, r->idx))
			return 0;
		if (!first)
			first = tr;
	}
	if (!tracked) {
		cfg_err_at(r->file, r->line, "warning: '%s': nothing in the configuration tracks sc%u (no 'track-sc%u' rule), so it never finds an entry",
			   r->what, r->sc, r->sc);
		return 0;
	}
	if (!first)
		return 0;
	describe_need(need, sizeof(need), r->need, r->idx);
	cfg_err_at(r->file, r->line, "'%s': sc%u is tracked in table '%s' (%s:%d), which does not store %s",
		   r->what, r->sc, first->table->id, first->file, first->line, need);
	return 1;
}

static int init_tables(struct config *conf)
{
	struct stktable *t;
	char err[256];
	int errors = 0;

	for (t = conf->tables; t; t = t->next) {
		err[0] = '\0';
		if (stktable_init(t, err, sizeof(err)) < 0) {
			cfg_err_at(t->file, t->line, "%s '%s': %s", t->px ? "stick-table" : "table",
				   t->id, err[0] ? err : "cannot set the table up");
			errors++;
		}
	}
	return errors;
}

static int stick_postparse(struct config *conf)
{
	struct stick_ref *r;
	int errors = 0;

	for (r = refs; r; r = r->next)
		if (r->conf == conf && r->kind != REF_SC)
			errors += resolve_ref(conf, r);
	/* server_id must be enabled before the layout is fixed */
	errors += stick_rules_postparse(conf);
	for (r = refs; r; r = r->next)
		if (r->conf == conf && r->kind == REF_SC)
			errors += check_sc_ref(conf, r);
	errors += init_tables(conf);
	drop_refs(conf);
	return errors;
}

void stick_free_all(struct config *conf)
{
	struct stktable *t, *next;

	for (t = conf->tables; t; t = next) {
		next = t->next;
		table_free(t);
	}
	conf->tables = NULL;
	drop_refs(conf);
}

static struct cfg_postparser stick_pp = {
	.name = "stick-tables",
	.fn = stick_postparse,
};

static struct cfg_kw_list stick_cfg_kws = {
	.kws = (const struct cfg_kw[]){
		{ "stick-table", CFG_PROXIES, kw_stick_table, 0 },
		{ "table", CFG_PEERS, kw_peers_table, 0 },
		{ "peer", CFG_PEERS, kw_peers_sync, 0 },
		{ "server", CFG_PEERS, kw_peers_sync, 0 },
		{ "bind", CFG_PEERS, kw_peers_sync, 0 },
		{ "default-server", CFG_PEERS, kw_peers_sync, 0 },
		{ "default-bind", CFG_PEERS, kw_peers_sync, 0 },
		{ "shards", CFG_PEERS, kw_peers_sync, 0 },
		{ "log", CFG_PEERS, kw_peers_sync, 0 },
		{ "disabled", CFG_PEERS, kw_peers_noop, 0 },
		{ "enabled", CFG_PEERS, kw_peers_noop, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void stick_cfg_init(void)
{
	cfg_register(&stick_cfg_kws);
	cfg_register_postparser(&stick_pp);
}
