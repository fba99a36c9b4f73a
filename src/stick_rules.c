/* stick_rules.c - persistence: "stick match", "stick on", "stick store-request".
 *
 * A rule keeps a sample expression (the key), an optional condition and a
 * table, which the post-parser of stick_cfg.c resolves (tables may be
 * declared further down the file). Match rules run before balancing: the
 * first key found whose server can take forced traffic wins. Store rules
 * run once the session is connected to its server and record that
 * server's id under their key, at most one key per table and
 * STICK_STORE_MAX keys per session, as HAProxy does.
 * Evaluation allocates nothing: keys live on the stack, entries are
 * released before returning.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/acl.h"
#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/proxy.h"
#include "sluice/sample.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/stick.h"

#define STICK_MATCH	0x1
#define STICK_STORE	0x2
#define STICK_STORE_MAX	8	/* keys a session stores, HAProxy's limit too */

struct stick_rule {
	struct list node;
	unsigned kind;			/* STICK_MATCH, STICK_STORE or both ("on") */
	struct sample_expr *expr;
	char *expr_str;			/* as written, for messages */
	struct acl_cond *cond;		/* NULL: always */
	void *table;			/* struct stktable, set by the post-parser */
	const char *kw;
	const char *file;
	int line;
};

static void rule_free(struct stick_rule *r)
{
	if (r->cond)
		acl_cond_free(r->cond);
	sample_free_expr(r->expr);
	free(r->expr_str);
	free(r);
}

void stick_rules_free(struct proxy *px)
{
	struct list *pos, *tmp;

	if (!px->stick_rules.next)
		return;
	list_for_each_safe(pos, tmp, &px->stick_rules) {
		list_del(pos);
		rule_free(list_entry(pos, struct stick_rule, node));
	}
}

int stick_rules_has(const struct proxy *px)
{
	return px->stick_rules.next && !list_empty(&px->stick_rules);
}

/* ---- parsing ---- */

static int is_cond_word(const char *w)
{
	return !strcmp(w, "if") || !strcmp(w, "unless");
}

/* HAProxy allows stick rules in backends and listens only. */
static int stick_section_ok(struct cfg_ctx *ctx, const char *kw)
{
	const char *where;

	if (ctx->section & (CFG_BACKEND | CFG_LISTEN))
		return 1;
	where = ctx->section == CFG_FRONTEND ? "frontend" : "defaults";
	cfg_err(ctx, "'%s' is not allowed in a %s section: put it in a backend or listen section",
		kw, where);
	return 0;
}

/* "[table NAME] [if|unless COND]" from args[i]; *name is NULL without a
 * table. Returns 0, or -1 after cfg_err(). */
static int parse_tail(struct cfg_ctx *ctx, struct stick_rule *r, int argc, char **args, int i,
		      const char **name)
{
	*name = NULL;
	if (i < argc && !strcmp(args[i], "table")) {
		if (i + 1 >= argc || is_cond_word(args[i + 1]))
			return cfg_err(ctx, "'%s': 'table' expects a table name", r->kw);
		*name = args[i + 1];
		i += 2;
	}
	if (i >= argc)
		return 0;
	if (!is_cond_word(args[i]))
		return cfg_err(ctx, "'%s': unexpected '%s': expects 'table NAME', or 'if' or 'unless' followed by a condition",
			       r->kw, args[i]);
	if (i + 1 >= argc)
		return cfg_err(ctx, "'%s': '%s' must be followed by a condition", r->kw, args[i]);
	r->cond = acl_cond_parse(ctx, argc - i, args + i);
	return r->cond ? 0 : -1;
}

static struct stick_rule *rule_new(struct cfg_ctx *ctx, const char *kw, unsigned kind,
				   const char *expr)
{
	struct stick_rule *r = calloc(1, sizeof(*r));
	char err[256];

	if (!r || !(r->expr_str = strdup(expr))) {
		free(r);
		cfg_err(ctx, "'%s': out of memory", kw);
		return NULL;
	}
	r->kind = kind;
	r->kw = kw;
	r->file = ctx->file;
	r->line = ctx->line;
	r->expr = sample_parse_expr(expr, err, sizeof(err));
	if (!r->expr) {
		cfg_err(ctx, "'%s %s': %s", kw, expr, err);
		rule_free(r);
		return NULL;
	}
	return r;
}

static int parse_stick_rule(struct cfg_ctx *ctx, int argc, char **args, const char *kw,
			    unsigned kind)
{
	struct stick_rule *r;
	const char *name;

	if (!stick_section_ok(ctx, kw))
		return -1;
	if (argc < 3 || is_cond_word(args[2]) || !strcmp(args[2], "table"))
		return cfg_err(ctx, "'%s' expects a sample expression, as in '%s src'", kw, kw);
	r = rule_new(ctx, kw, kind, args[2]);
	if (!r)
		return -1;
	/* the reference is taken last: nothing may free the rule after it */
	if (parse_tail(ctx, r, argc, args, 3, &name) < 0 ||
	    stick_ref_table(ctx, name, &r->table, STK_DT_COUNT, 0, kw) < 0) {
		rule_free(r);
		return -1;
	}
	list_add_tail(&ctx->px->stick_rules, &r->node);
	return 0;
}

static int kw_stick_on(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_stick_rule(ctx, argc, args, "stick on", STICK_MATCH | STICK_STORE);
}

static int kw_stick_match(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_stick_rule(ctx, argc, args, "stick match", STICK_MATCH);
}

static int kw_stick_store_req(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_stick_rule(ctx, argc, args, "stick store-request", STICK_STORE);
}

static int kw_stick_store_res(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)argc;
	(void)args;
	return cfg_err(ctx, "'stick store-response' is not implemented in sluice: its persistence keys come from the request; use 'stick on' or 'stick store-request'");
}

/* "stick" followed by anything but the words above. */
static int kw_stick(struct cfg_ctx *ctx, int argc, char **args)
{
	return cfg_err(ctx, "'stick' expects 'on', 'match' or 'store-request' then a sample expression, got '%s'",
		       argc > 1 ? args[1] : "");
}

/* ---- post-parse ---- */

static enum smp_type expr_out_type(const struct sample_expr *e)
{
	return e->nconv ? e->convs[e->nconv - 1].conv->out_type : e->fetch->out_type;
}

/* Mirrors the conversions sample_cast() knows: an expression whose type
 * can never become the key is refused, anything that may is accepted. */
static int key_accepts(enum stk_key_type key, enum smp_type from)
{
	switch (key) {
	case STK_KEY_IP:
	case STK_KEY_IPV6:
		return from != SMP_T_BOOL && from != SMP_T_SINT && from != SMP_T_BIN;
	case STK_KEY_INT:
		return from != SMP_T_IPV4 && from != SMP_T_IPV6 && from != SMP_T_BIN;
	default:
		return 1;
	}
}

static const char *smp_type_desc(enum smp_type t)
{
	switch (t) {
	case SMP_T_BOOL:	return "a boolean";
	case SMP_T_SINT:	return "an integer";
	case SMP_T_IPV4:	return "an IPv4 address";
	case SMP_T_IPV6:	return "an IPv6 address";
	case SMP_T_STR:		return "a string";
	case SMP_T_BIN:		return "binary data";
	default:		return "a sample";
	}
}

static const char *key_type_word(enum stk_key_type t)
{
	static const char *const words[] = { "ip", "ipv6", "integer", "string", "binary" };

	return (unsigned)t < CFG_ARRAY_SIZE(words) ? words[t] : "?";
}

static int rule_postparse(struct stick_rule *r)
{
	struct stktable *t = r->table;
	enum smp_type out;

	if (!t)
		return 0;	/* its reference already reported the problem */
	stktable_enable(t, STK_DT_SERVER_ID);
	out = expr_out_type(r->expr);
	if (key_accepts(t->type, out))
		return 0;
	cfg_err_at(r->file, r->line, "'%s': expression '%s' gives %s, which cannot be a key of table '%s' (type %s)",
		   r->kw, r->expr_str, smp_type_desc(out), t->id, key_type_word(t->type));
	return 1;
}

int stick_rules_postparse(struct config *conf)
{
	struct proxy *px;
	struct list *l;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next) {
		if (!stick_rules_has(px))
			continue;
		for (l = px->stick_rules.next; l != &px->stick_rules; l = l->next)
			errors += rule_postparse(list_entry(l, struct stick_rule, node));
	}
	return errors;
}

/* ---- evaluation ---- */

static int rule_applies(const struct stick_rule *r, unsigned kind, const struct smp_ctx *ctx)
{
	if (!(r->kind & kind) || !r->table)
		return 0;
	return !r->cond || acl_cond_eval(r->cond, ctx, 1) == ACL_TRUE;
}

/* The server r's key points to in be, when it may be forced. The sample
 * stays in this frame: the key may point into it. */
static struct server *match_one(const struct stick_rule *r, const struct proxy *be,
				const struct smp_ctx *ctx, uint64_t now)
{
	struct stktable *t = r->table;
	struct server *srv = NULL;
	struct stksess *e;
	struct stk_key key;
	struct sample smp;
	uint64_t id;

	if (!sample_eval(r->expr, ctx, &smp) || !stk_key_from_sample(t, &smp, ctx, &key))
		return NULL;
	e = stktable_lookup(t, &key, now);
	if (!e)
		return NULL;
	if (stksess_get(t, e, STK_DT_SERVER_ID, 0, now, &id) && id > 0 && id <= INT_MAX)
		srv = server_find_by_id(be, (int)id);
	stksess_release(t, e, 0, now);
	return srv && srv_can_be_forced(srv) ? srv : NULL;
}

struct server *stick_rules_match(const struct proxy *be, const struct smp_ctx *ctx)
{
	const struct stick_rule *r;
	const struct list *l;
	struct server *srv;
	uint64_t now;

	if (!be || !stick_rules_has(be))
		return NULL;
	now = stick_now(ctx);
	for (l = be->stick_rules.next; l != &be->stick_rules; l = l->next) {
		r = list_entry(l, const struct stick_rule, node);
		if (!rule_applies(r, STICK_MATCH, ctx))
			continue;
		srv = match_one(r, be, ctx, now);
		if (srv)
			return srv;
	}
	return NULL;
}

/* Records srv under r's key; 1 when stored. */
static int store_one(const struct stick_rule *r, const struct server *srv,
		     const struct smp_ctx *ctx, uint64_t now)
{
	struct stktable *t = r->table;
	struct stksess *e;
	struct stk_key key;
	struct sample smp;

	if (!sample_eval(r->expr, ctx, &smp) || !stk_key_from_sample(t, &smp, ctx, &key))
		return 0;
	e = stktable_get(t, &key, now);
	if (!e)
		return 0;
	stksess_set(t, e, STK_DT_SERVER_ID, 0, (uint64_t)srv->puid, now);
	stksess_release(t, e, 1, now);
	return 1;
}

static int table_seen(const void *const *done, unsigned n, const void *t)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (done[i] == t)
			return 1;
	return 0;
}

void stick_rules_store(const struct proxy *be, const struct server *srv,
		       const struct smp_ctx *ctx)
{
	const void *done[STICK_STORE_MAX];
	const struct stick_rule *r;
	const struct list *l;
	unsigned n = 0;
	uint64_t now;

	if (!be || !srv || !stick_rules_has(be))
		return;
	now = stick_now(ctx);
	for (l = be->stick_rules.next; l != &be->stick_rules && n < STICK_STORE_MAX;
	     l = l->next) {
		r = list_entry(l, const struct stick_rule, node);
		/* HAProxy: the first store rule that gives a key wins its table */
		if (table_seen(done, n, r->table) || !rule_applies(r, STICK_STORE, ctx))
			continue;
		if (store_one(r, srv, ctx, now))
			done[n++] = r->table;
	}
}

static struct cfg_kw_list stick_rules_kws = {
	.kws = (const struct cfg_kw[]){
		{ "stick on", CFG_PROXIES, kw_stick_on, 0 },
		{ "stick match", CFG_PROXIES, kw_stick_match, 0 },
		{ "stick store-request", CFG_PROXIES, kw_stick_store_req, 0 },
		{ "stick store-response", CFG_PROXIES, kw_stick_store_res, 0 },
		{ "stick", CFG_PROXIES, kw_stick, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void stick_rules_kws_init(void)
{
	cfg_register(&stick_rules_kws);
}
