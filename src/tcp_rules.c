/* tcp_rules.c - tcp-request / tcp-response rules, use_backend, use-server.
 *
 * Each rule is parsed once into an action, an optional condition (acl.c)
 * and the action's arguments (a sample expression, a variable id), so that
 * evaluation walks a list and allocates nothing. Names of backends and
 * servers are resolved by a post-parser, once every section is read, since
 * a rule may name a backend defined further down the file; a use_backend
 * name holding "%[expr]" parts is rendered and looked up per session.
 */
#include <stdatomic.h>
#include <stdio.h>
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
#include "sluice/tcp_rules.h"
#include "sluice/vars.h"

/* Longest backend name a dynamic use_backend can produce. */
#define DYN_NAME_MAX 256

enum tcp_action {
	ACT_ACCEPT,
	ACT_REJECT,
	ACT_SILENT_DROP,
	ACT_CLOSE,
	ACT_EXPECT_PROXY,
	ACT_SET_VAR,
	ACT_UNSET_VAR,
	ACT_TRACK_SC,		/* track-scN KEY [table T] */
	ACT_SC_ADD_GPC,		/* sc-inc-gpc0/1(N), sc-inc-gpc(I,N), sc-add-gpc(I,N) V */
	ACT_SC_SET_GPT,		/* sc-set-gpt0(N) V, sc-set-gpt(I,N) V */
};

struct tcp_rule {
	struct list node;
	enum tcp_action act;
	struct acl_cond *cond;		/* NULL: always */
	struct sample_expr *expr;	/* set-var, track-sc key, sc-* value */
	int var_id;			/* set-var, unset-var */
	void *table;			/* track-sc: struct stktable, set at post-parse */
	int64_t value;			/* sc-* constant (when expr is NULL) */
	unsigned idx;			/* sc-*: gpc/gpt element */
	uint8_t sc;			/* track-sc / sc-*: counter 0..2 */
	uint8_t legacy;			/* sc-*: gpc0/gpc1/gpt0 forms */
	int reads_payload;		/* the rule's own words name a payload fetch */
	const char *file;
	int line;
};

/* One piece of a dynamic backend name: literal text, or an expression. */
struct name_part {
	char *lit;
	size_t len;
	struct sample_expr *expr;
};

struct switch_rule {
	struct list node;
	struct acl_cond *cond;
	char *name;			/* as written */
	struct name_part *parts;	/* use_backend "%[...]" names, else NULL */
	int nparts;
	struct proxy *be;		/* static use_backend, after post-parse */
	struct server *srv;		/* use-server, after post-parse */
	const char *file;
	int line;
};

#define SET_BIT(s)	(1u << (s))
#define IN_REQ_SETS	(SET_BIT(TCP_RULES_CONNECTION) | SET_BIT(TCP_RULES_SESSION) | \
			 SET_BIT(TCP_RULES_CONTENT))
#define IN_ALL_SETS	(IN_REQ_SETS | SET_BIT(TCP_RULES_RESPONSE))

/* Actions without arguments, and where each one is valid. */
static const struct {
	const char *name;
	enum tcp_action act;
	unsigned sets;
	const char *where;	/* for the message when used elsewhere */
} simple_actions[] = {
	{ "accept",      ACT_ACCEPT,      IN_ALL_SETS, NULL },
	{ "reject",      ACT_REJECT,      IN_ALL_SETS, NULL },
	{ "silent-drop", ACT_SILENT_DROP, IN_ALL_SETS, NULL },
	{ "close",       ACT_CLOSE,       SET_BIT(TCP_RULES_RESPONSE), "'tcp-response content'" },
};

/* HAProxy actions that sluice knows about but does not implement. */
static const char *const unimplemented_actions[] = {
	"capture", "use-service", "switch-mode", "do-resolve", "set-dst",
	"set-dst-port", "set-src", "set-src-port", "set-mark", "set-tos",
	"set-nice", "set-log-level", "set-priority-class",
	"set-priority-offset", "set-fc-mark", "set-fc-tos",
	"set-bandwidth-limit", "send-spoe-group", "expect-netscaler-cip",
	"attach-srv", "set-var-fmt", "wait-for-body", "set-retries",
};

static const char *const set_kw[TCP_RULES_NSETS] = {
	[TCP_RULES_CONNECTION] = "tcp-request connection",
	[TCP_RULES_SESSION] = "tcp-request session",
	[TCP_RULES_CONTENT] = "tcp-request content",
	[TCP_RULES_RESPONSE] = "tcp-response content",
};

/* ---- life of the rule lists ---- */

void tcp_rules_init(struct tcp_rules *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < TCP_RULES_NSETS; i++)
		list_init(&r->sets[i]);
	list_init(&r->use_backend);
	list_init(&r->use_server);
}

void tcp_rules_inherit(struct tcp_rules *r, const struct tcp_rules *defs)
{
	r->inspect_delay = defs->inspect_delay;
	r->res_inspect_delay = defs->res_inspect_delay;
}

static void tcp_rule_free(struct tcp_rule *rule)
{
	if (rule->cond)
		acl_cond_free(rule->cond);
	sample_free_expr(rule->expr);
	free(rule);
}

static void switch_rule_free(struct switch_rule *rule)
{
	int i;

	if (rule->cond)
		acl_cond_free(rule->cond);
	for (i = 0; i < rule->nparts; i++) {
		free(rule->parts[i].lit);
		sample_free_expr(rule->parts[i].expr);
	}
	free(rule->parts);
	free(rule->name);
	free(rule);
}

void tcp_rules_free(struct tcp_rules *r)
{
	struct list *pos, *tmp;
	int i;

	for (i = 0; i < TCP_RULES_NSETS; i++) {
		list_for_each_safe(pos, tmp, &r->sets[i]) {
			list_del(pos);
			tcp_rule_free(list_entry(pos, struct tcp_rule, node));
		}
	}
	list_for_each_safe(pos, tmp, &r->use_backend) {
		list_del(pos);
		switch_rule_free(list_entry(pos, struct switch_rule, node));
	}
	list_for_each_safe(pos, tmp, &r->use_server) {
		list_del(pos);
		switch_rule_free(list_entry(pos, struct switch_rule, node));
	}
}

/* ---- parsing helpers ---- */

static const char *section_str(unsigned section)
{
	switch (section) {
	case CFG_DEFAULTS:	return "defaults";
	case CFG_FRONTEND:	return "frontend";
	case CFG_BACKEND:	return "backend";
	case CFG_LISTEN:	return "listen";
	default:		return "global";
	}
}

/* The generic "not allowed here" of cfg.c does not say where to go. */
static int section_ok(struct cfg_ctx *ctx, const char *kw, unsigned allowed)
{
	static const unsigned order[] = { CFG_DEFAULTS, CFG_FRONTEND, CFG_BACKEND, CFG_LISTEN };
	char where[64] = "";
	size_t i, n = 0, len = 0;

	if (ctx->section & allowed)
		return 1;
	for (i = 0; i < CFG_ARRAY_SIZE(order); i++) {
		if (!(allowed & order[i]))
			continue;
		len += (size_t)snprintf(where + len, sizeof(where) - len, "%s%s",
					n++ ? " or " : "", section_str(order[i]));
	}
	cfg_err(ctx, "'%s' is not allowed in a %s section: put it in a %s section",
		kw, section_str(ctx->section), where);
	return 0;
}

static int is_cond_word(const char *w)
{
	return !strcmp(w, "if") || !strcmp(w, "unless");
}

/* Parses "if|unless COND" at args[i] (or nothing). Returns 0 with *cond
 * set (NULL without a condition), or -1 after cfg_err(). */
static int parse_cond(struct cfg_ctx *ctx, const char *kw, int argc, char **args, int i,
		      struct acl_cond **cond)
{
	*cond = NULL;
	if (i >= argc)
		return 0;
	if (!is_cond_word(args[i]))
		return cfg_err(ctx, "'%s': unexpected '%s': expects 'if' or 'unless' followed by a condition",
			       kw, args[i]);
	if (i + 1 >= argc)
		return cfg_err(ctx, "'%s': '%s' must be followed by a condition", kw, args[i]);
	*cond = acl_cond_parse(ctx, argc - i, args + i);
	return *cond ? 0 : -1;
}

/* A cheap look at the words of a rule for fetches that read the client's
 * data; named ACLs are not looked into. Only used for a warning. */
static int words_read_payload(int argc, char **args)
{
	static const char *const prefixes[] = {
		"req.", "req_", "payload", "REQ_CONTENT", "WAIT_END", "rdp_cookie",
	};
	const char *w;
	size_t i;
	int a;

	for (a = 0; a < argc; a++) {
		for (w = args[a]; *w == '!' || *w == '{'; w++)
			;
		for (i = 0; i < CFG_ARRAY_SIZE(prefixes); i++)
			if (!strncmp(w, prefixes[i], strlen(prefixes[i])))
				return 1;
	}
	return 0;
}

/* ---- actions ---- */

/* "NAME)" after "set-var(" or "unset-var(": the variable's id, or -1. */
static int parse_var_name(struct cfg_ctx *ctx, const char *kw, const char *word,
			  const char *open)
{
	char name[128], err[160];
	size_t len = strlen(open), n;
	int id;

	n = strlen(word + len);
	if (!n || word[len + n - 1] != ')')
		return cfg_err(ctx, "'%s': missing ')' in '%s', as in '%stxn.name)'",
			       kw, word, open);
	if (n - 1 >= sizeof(name))
		return cfg_err(ctx, "'%s': variable name too long in '%s'", kw, word);
	memcpy(name, word + len, n - 1);
	name[n - 1] = '\0';
	id = vars_name_id(name, err, sizeof(err));
	if (id < 0)
		return cfg_err(ctx, "'%s': %s", kw, err);
	return id;
}

static int parse_set_var(struct cfg_ctx *ctx, const char *kw, struct tcp_rule *rule,
			 int argc, char **args)
{
	char err[256];

	rule->var_id = parse_var_name(ctx, kw, args[0], "set-var(");
	if (rule->var_id < 0)
		return -1;
	if (argc < 2 || is_cond_word(args[1]))
		return cfg_err(ctx, "'%s %s' expects a sample expression, as in '%s src'",
			       kw, args[0], args[0]);
	rule->expr = sample_parse_expr(args[1], err, sizeof(err));
	if (!rule->expr)
		return cfg_err(ctx, "'%s %s': %s", kw, args[0], err);
	rule->act = ACT_SET_VAR;
	return 2;
}

static int parse_expect_proxy(struct cfg_ctx *ctx, const char *kw, struct tcp_rule *rule,
			      int argc, char **args, enum tcp_rule_set set)
{
	if (set != TCP_RULES_CONNECTION)
		return cfg_err(ctx, "'%s': action 'expect-proxy' is only valid in 'tcp-request connection' rules",
			       kw);
	if (argc < 2)
		return cfg_err(ctx, "'%s expect-proxy' expects 'layer4'", kw);
	if (strcmp(args[1], "layer4"))
		return cfg_err(ctx, "'%s expect-proxy' expects 'layer4', got '%s'", kw, args[1]);
	rule->act = ACT_EXPECT_PROXY;
	return 2;
}

static int unknown_action(struct cfg_ctx *ctx, const char *kw, const char *word)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(unimplemented_actions); i++)
		if (!strncmp(word, unimplemented_actions[i], strlen(unimplemented_actions[i])))
			return cfg_err(ctx, "'%s': action '%s' is not implemented in sluice", kw, word);
	if (!strncmp(word, "lua.", 4))
		return cfg_err(ctx, "'%s': action '%s' is not implemented yet (Lua)", kw, word);
	return cfg_err(ctx, "'%s': unknown action '%s' (expects accept, reject, silent-drop%s, set-var(NAME) EXPR, unset-var(NAME), track-sc0..2 KEY or sc-inc-gpc0(N))",
		       kw, word, strcmp(kw, "tcp-response content") ? "" : ", close");
}

/* ---- stick counter actions ---- */

/* "track-scN KEY [table NAME]" */
static int parse_track_sc(struct cfg_ctx *ctx, const char *kw, struct tcp_rule *rule,
			  int argc, char **args, enum tcp_rule_set set)
{
	const char *table = NULL;
	char err[256];
	int used = 2;

	if (set == TCP_RULES_RESPONSE)
		return cfg_err(ctx, "'%s': action '%s' is only valid in 'tcp-request' rules", kw, args[0]);
	if (args[0][8] < '0' || args[0][8] > '2' || args[0][9])
		return cfg_err(ctx, "'%s': unknown action '%s': sluice has the stick counters track-sc0, track-sc1 and track-sc2",
			       kw, args[0]);
	rule->sc = (uint8_t)(args[0][8] - '0');
	if (argc < 2 || is_cond_word(args[1]))
		return cfg_err(ctx, "'%s %s' expects a key, as in '%s src'", kw, args[0], args[0]);
	rule->expr = sample_parse_expr(args[1], err, sizeof(err));
	if (!rule->expr)
		return cfg_err(ctx, "'%s %s': %s", kw, args[0], err);
	if (argc > 2 && !strcmp(args[2], "table")) {
		if (argc < 4)
			return cfg_err(ctx, "'%s %s': 'table' expects a table name", kw, args[0]);
		table = args[3];
		used = 4;
	}
	if (stick_ref_track(ctx, rule->sc, table, &rule->table) < 0)
		return -1;
	rule->act = ACT_TRACK_SC;
	return used;
}

/* "(N)" or "(I,N)" after an sc-* action name: I into rule->idx (when
 * want_idx), N into rule->sc. */
static int parse_sc_args(struct cfg_ctx *ctx, const char *kw, const char *word,
			 const char *open, struct tcp_rule *rule, int want_idx)
{
	const char *p = word + strlen(open);
	unsigned long idx = 0, sc;
	char *end;

	if (want_idx) {
		idx = strtoul(p, &end, 10);
		if (end == p || *end != ',' || idx >= STK_DT_ARRAY_MAX)
			return cfg_err(ctx, "'%s': '%s' expects an element index below %d then a counter, as in '%s1,0)'",
				       kw, word, STK_DT_ARRAY_MAX, open);
		p = end + 1;
	}
	sc = strtoul(p, &end, 10);
	if (end == p || strcmp(end, ")") || sc >= STK_TRACK_MAX)
		return cfg_err(ctx, "'%s': '%s' expects a stick counter 0, 1 or 2, as in '%s%s0)'",
			       kw, word, open, want_idx ? "1," : "");
	rule->idx = (unsigned)idx;
	rule->sc = (uint8_t)sc;
	return 0;
}

/* The value of sc-set-gpt* / sc-add-gpc: an integer or an expression. */
static int parse_sc_value(struct cfg_ctx *ctx, const char *kw, struct tcp_rule *rule,
			  int argc, char **args)
{
	char err[256], *end;
	long long v;

	if (argc < 2 || is_cond_word(args[1]))
		return cfg_err(ctx, "'%s %s' expects a value (an integer or a sample expression)", kw, args[0]);
	v = strtoll(args[1], &end, 10);
	if (end != args[1] && !*end) {
		rule->value = v;
		return 2;
	}
	rule->expr = sample_parse_expr(args[1], err, sizeof(err));
	if (!rule->expr)
		return cfg_err(ctx, "'%s %s': %s", kw, args[0], err);
	return 2;
}

static int parse_sc_action(struct cfg_ctx *ctx, const char *kw, struct tcp_rule *rule,
			   int argc, char **args)
{
	static const struct {
		const char *open;
		enum tcp_action act;
		int legacy, idx, want_idx, takes_value;
		enum stk_dt need;
	} forms[] = {
		{ "sc-inc-gpc0(", ACT_SC_ADD_GPC, 1, 0, 0, 0, STK_DT_COUNT },
		{ "sc-inc-gpc1(", ACT_SC_ADD_GPC, 1, 1, 0, 0, STK_DT_COUNT },
		{ "sc-inc-gpc(",  ACT_SC_ADD_GPC, 0, 0, 1, 0, STK_DT_COUNT },
		{ "sc-add-gpc(",  ACT_SC_ADD_GPC, 0, 0, 1, 1, STK_DT_COUNT },
		{ "sc-set-gpt0(", ACT_SC_SET_GPT, 1, 0, 0, 1, STK_DT_GPT0 },
		{ "sc-set-gpt(",  ACT_SC_SET_GPT, 0, 0, 1, 1, STK_DT_GPT },
	};
	size_t i;
	int used = 1;

	for (i = 0; i < CFG_ARRAY_SIZE(forms); i++) {
		if (strncmp(args[0], forms[i].open, strlen(forms[i].open)))
			continue;
		if (parse_sc_args(ctx, kw, args[0], forms[i].open, rule, forms[i].want_idx) < 0)
			return -1;
		if (!forms[i].want_idx)
			rule->idx = (unsigned)forms[i].idx;
		rule->act = forms[i].act;
		rule->legacy = (uint8_t)forms[i].legacy;
		rule->value = 1;	/* sc-inc-gpc*: one more */
		if (forms[i].takes_value && (used = parse_sc_value(ctx, kw, rule, argc, args)) < 0)
			return -1;
		/* the gpc forms work with the counter or its rate: nothing to require */
		if (forms[i].need != STK_DT_COUNT &&
		    stick_ref_sc(ctx, rule->sc, forms[i].need, rule->idx, args[0]) < 0)
			return -1;
		return used;
	}
	return cfg_err(ctx, "'%s': unknown action '%s' (sluice has sc-inc-gpc0(N), sc-inc-gpc1(N), sc-inc-gpc(I,N), sc-add-gpc(I,N) V, sc-set-gpt0(N) V and sc-set-gpt(I,N) V)",
		       kw, args[0]);
}

/* Fills rule from the action at args[0]; returns the words it used, or -1. */
static int parse_action(struct cfg_ctx *ctx, enum tcp_rule_set set, struct tcp_rule *rule,
			int argc, char **args)
{
	const char *kw = set_kw[set];
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(simple_actions); i++) {
		if (strcmp(args[0], simple_actions[i].name))
			continue;
		if (!(simple_actions[i].sets & SET_BIT(set)))
			return cfg_err(ctx, "'%s': action '%s' is only valid in %s rules",
				       kw, args[0], simple_actions[i].where);
		rule->act = simple_actions[i].act;
		return 1;
	}
	if (!strcmp(args[0], "expect-proxy"))
		return parse_expect_proxy(ctx, kw, rule, argc, args, set);
	if (!strncmp(args[0], "set-var(", 8))
		return parse_set_var(ctx, kw, rule, argc, args);
	if (!strncmp(args[0], "track-sc", 8))
		return parse_track_sc(ctx, kw, rule, argc, args, set);
	if (!strncmp(args[0], "sc-", 3))
		return parse_sc_action(ctx, kw, rule, argc, args);
	if (!strncmp(args[0], "unset-var(", 10)) {
		rule->var_id = parse_var_name(ctx, kw, args[0], "unset-var(");
		rule->act = ACT_UNSET_VAR;
		return rule->var_id < 0 ? -1 : 1;
	}
	return unknown_action(ctx, kw, args[0]);
}

/* args[first] is the action of a rule of set `set` for ctx->px. */
static int parse_rule(struct cfg_ctx *ctx, enum tcp_rule_set set, int argc, char **args,
		      int first)
{
	struct tcp_rule *rule;
	int used;

	if (first >= argc)
		return cfg_err(ctx, "'%s' expects an action, as in '%s reject if { src 10.0.0.0/8 }'",
			       set_kw[set], set_kw[set]);
	rule = calloc(1, sizeof(*rule));
	if (!rule)
		return cfg_err(ctx, "'%s': out of memory", set_kw[set]);
	rule->var_id = -1;
	rule->file = ctx->file;
	rule->line = ctx->line;
	used = parse_action(ctx, set, rule, argc - first, args + first);
	if (used < 0 || parse_cond(ctx, set_kw[set], argc, args, first + used, &rule->cond) < 0) {
		tcp_rule_free(rule);
		return -1;
	}
	rule->reads_payload = words_read_payload(argc - first, args + first);
	if (rule->act == ACT_EXPECT_PROXY)
		ctx->px->rules.expect_proxy = 1;
	list_add_tail(&ctx->px->rules.sets[set], &rule->node);
	return 0;
}

static int parse_delay(struct cfg_ctx *ctx, const char *kw, int argc, char **args,
		       unsigned *delay)
{
	if (argc != 3)
		return cfg_err(ctx, "'%s' expects one time, as in '%s 5s'", kw, kw);
	if (cfg_parse_time(args[2], delay) < 0)
		return cfg_err(ctx, "'%s' expects a time like 5s, got '%s'", kw, args[2]);
	return 0;
}

/* ---- keywords ---- */

#define RULE_SECTIONS	(CFG_FRONTEND | CFG_BACKEND | CFG_LISTEN)
#define FE_SECTIONS	(CFG_FRONTEND | CFG_LISTEN)
#define BE_SECTIONS	(CFG_BACKEND | CFG_LISTEN)

static int kw_tcp_request(struct cfg_ctx *ctx, int argc, char **args)
{
	static const struct { const char *name; enum tcp_rule_set set; unsigned sections; } kinds[] = {
		{ "connection", TCP_RULES_CONNECTION, FE_SECTIONS },
		{ "session", TCP_RULES_SESSION, FE_SECTIONS },
		{ "content", TCP_RULES_CONTENT, RULE_SECTIONS },
	};
	size_t i;

	if (argc < 2)
		return cfg_err(ctx, "'tcp-request' expects 'connection', 'session', 'content' or 'inspect-delay'");
	if (!strcmp(args[1], "inspect-delay"))
		return parse_delay(ctx, "tcp-request inspect-delay", argc, args,
				   &ctx->px->rules.inspect_delay);
	for (i = 0; i < CFG_ARRAY_SIZE(kinds); i++) {
		if (strcmp(args[1], kinds[i].name))
			continue;
		if (!section_ok(ctx, set_kw[kinds[i].set], kinds[i].sections))
			return -1;
		return parse_rule(ctx, kinds[i].set, argc, args, 2);
	}
	return cfg_err(ctx, "'tcp-request': unknown rule type '%s' (expects connection, session, content or inspect-delay)",
		       args[1]);
}

static int kw_tcp_response(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc < 2)
		return cfg_err(ctx, "'tcp-response' expects 'content' or 'inspect-delay'");
	if (!strcmp(args[1], "inspect-delay")) {
		if (!section_ok(ctx, "tcp-response inspect-delay", CFG_DEFAULTS | BE_SECTIONS))
			return -1;
		return parse_delay(ctx, "tcp-response inspect-delay", argc, args,
				   &ctx->px->rules.res_inspect_delay);
	}
	if (!strcmp(args[1], "content")) {
		if (!section_ok(ctx, "tcp-response content", BE_SECTIONS))
			return -1;
		return parse_rule(ctx, TCP_RULES_RESPONSE, argc, args, 2);
	}
	return cfg_err(ctx, "'tcp-response': unknown rule type '%s' (expects content or inspect-delay)",
		       args[1]);
}

/* ---- dynamic backend names: literal text and %[expr] ---- */

/* Length of the expression in "%[expr]" starting at p (just after "%["),
 * up to the matching ']' outside quotes and parentheses; -1 if none. */
static long expr_span(const char *p)
{
	const char *s = p;
	char quote = 0;
	int depth = 0;

	for (; *s; s++) {
		if (quote) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == quote)
				quote = 0;
		} else if (*s == '"' || *s == '\'') {
			quote = *s;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')' && depth) {
			depth--;
		} else if (*s == ']' && !depth) {
			return s - p;
		}
	}
	return -1;
}

static int add_literal(struct switch_rule *r, const char *p, size_t len)
{
	struct name_part *part = &r->parts[r->nparts];

	if (!len)
		return 0;
	part->lit = strndup(p, len);
	if (!part->lit)
		return -1;
	part->len = len;
	r->nparts++;
	return 0;
}

static int add_expr(struct cfg_ctx *ctx, struct switch_rule *r, const char *p, size_t len)
{
	char *text = strndup(p, len), err[256];
	struct name_part *part = &r->parts[r->nparts];

	if (!text)
		return cfg_err(ctx, "'use_backend': out of memory");
	part->expr = sample_parse_expr(text, err, sizeof(err));
	free(text);
	if (!part->expr)
		return cfg_err(ctx, "'use_backend %s': %s", r->name, err);
	r->nparts++;
	return 0;
}

/* Split r->name into literal text and %[expr] parts ("%%" is a '%'). */
static int compile_name(struct cfg_ctx *ctx, struct switch_rule *r)
{
	const char *p = r->name, *lit = p;
	size_t max = 2 * strlen(r->name) + 1;
	long n;

	r->parts = calloc(max, sizeof(*r->parts));
	if (!r->parts)
		return cfg_err(ctx, "'use_backend': out of memory");
	while (*p) {
		if (*p != '%') {
			p++;
			continue;
		}
		if (add_literal(r, lit, (size_t)(p - lit) + (p[1] == '%')) < 0)
			return cfg_err(ctx, "'use_backend': out of memory");
		if (p[1] == '%') {
			p += 2;
			lit = p;
			continue;
		}
		if (p[1] != '[')
			return cfg_err(ctx, "'use_backend %s': only '%%[expression]' and '%%%%' are supported in a backend name, got '%%%.1s'",
				       r->name, p + 1);
		n = expr_span(p + 2);
		if (n < 0)
			return cfg_err(ctx, "'use_backend %s': missing ']' after '%%['", r->name);
		if (add_expr(ctx, r, p + 2, (size_t)n) < 0)
			return -1;
		p += 2 + n + 1;
		lit = p;
	}
	if (add_literal(r, lit, (size_t)(p - lit)) < 0)
		return cfg_err(ctx, "'use_backend': out of memory");
	return 0;
}

/* ---- use_backend, use-server ---- */

static struct switch_rule *new_switch_rule(struct cfg_ctx *ctx, const char *kw, const char *name)
{
	struct switch_rule *r = calloc(1, sizeof(*r));

	if (r)
		r->name = strdup(name);
	if (!r || !r->name) {
		free(r);
		cfg_err(ctx, "'%s': out of memory", kw);
		return NULL;
	}
	r->file = ctx->file;
	r->line = ctx->line;
	return r;
}

static int kw_use_backend(struct cfg_ctx *ctx, int argc, char **args)
{
	struct switch_rule *r;

	if (!section_ok(ctx, "use_backend", FE_SECTIONS))
		return -1;
	if (argc < 2 || is_cond_word(args[1]))
		return cfg_err(ctx, "'use_backend' expects a backend name, as in 'use_backend bk_tls if { req.ssl_hello_type 1 }'");
	r = new_switch_rule(ctx, "use_backend", args[1]);
	if (!r)
		return -1;
	if ((strchr(r->name, '%') && compile_name(ctx, r) < 0) ||
	    parse_cond(ctx, "use_backend", argc, args, 2, &r->cond) < 0) {
		switch_rule_free(r);
		return -1;
	}
	list_add_tail(&ctx->px->rules.use_backend, &r->node);
	return 0;
}

static int kw_use_server(struct cfg_ctx *ctx, int argc, char **args)
{
	struct switch_rule *r;

	if (!section_ok(ctx, "use-server", BE_SECTIONS))
		return -1;
	/* HAProxy requires the condition: use-server is a conditional override */
	if (argc < 4 || is_cond_word(args[1]) || !is_cond_word(args[2]))
		return cfg_err(ctx, "'use-server' expects a server name then 'if' or 'unless' and a condition, as in 'use-server s1 if { src 10.0.0.1 }'");
	r = new_switch_rule(ctx, "use-server", args[1]);
	if (!r)
		return -1;
	if (parse_cond(ctx, "use-server", argc, args, 2, &r->cond) < 0) {
		switch_rule_free(r);
		return -1;
	}
	list_add_tail(&ctx->px->rules.use_server, &r->node);
	return 0;
}

/* ---- evaluation ---- */

static enum acl_result rule_cond(const struct acl_cond *cond, const struct smp_ctx *ctx, int final)
{
	enum acl_result res;

	if (!cond)
		return ACL_TRUE;
	res = acl_cond_eval(cond, ctx, final);
	return res == ACL_MISS && final ? ACL_FALSE : res;
}

static void count_denied(const struct smp_ctx *ctx)
{
	if (ctx->fe)
		atomic_fetch_add_explicit(&ctx->fe->ctr.denied_conn, 1, memory_order_relaxed);
	if (ctx->be && ctx->be != ctx->fe)
		atomic_fetch_add_explicit(&ctx->be->ctr.denied_conn, 1, memory_order_relaxed);
}

static void do_track(const struct tcp_rule *r, struct session *s, const struct smp_ctx *ctx,
		     enum tcp_rule_set set)
{
	struct sample smp;
	struct stk_key key;

	if (!s || !r->table || stk_track_get(s, r->sc))
		return;
	if (!sample_eval(r->expr, ctx, &smp) || !stk_key_from_sample(r->table, &smp, ctx, &key))
		return;
	stk_track_start(s, r->sc, r->table, &key, set != TCP_RULES_CONNECTION);
}

/* sc-inc-gpc*, sc-add-gpc, sc-set-gpt*: nothing when scN is not tracked. */
static void do_sc_update(const struct tcp_rule *r, struct session *s, const struct smp_ctx *ctx)
{
	const struct stk_ctr *c = stk_track_get(s, r->sc);
	uint64_t now = stick_now(ctx), res;
	struct sample smp;
	int64_t v = r->value;

	if (!c)
		return;
	if (r->expr) {
		if (!sample_eval(r->expr, ctx, &smp) || !sample_cast(&smp, SMP_T_SINT, ctx))
			return;
		v = smp.u.sint;
	}
	if (r->act == ACT_SC_SET_GPT)
		stksess_set(c->t, c->e, r->legacy ? STK_DT_GPT0 : STK_DT_GPT, r->idx,
			    (uint64_t)v, now);
	else if (v > 0)
		stksess_gpc_add(c->t, c->e, r->legacy, r->idx, (uint64_t)v, now, &res);
}

/* Performs the action; returns its verdict, or -1 to go on with the set. */
static int apply_action(const struct tcp_rule *r, struct session *s, const struct smp_ctx *ctx,
			enum tcp_rule_set set)
{
	struct sample smp;

	switch (r->act) {
	case ACT_ACCEPT:
		return TCP_V_ACCEPT;
	case ACT_REJECT:
		count_denied(ctx);
		return TCP_V_REJECT;
	case ACT_SILENT_DROP:
		return TCP_V_SILENT_DROP;
	case ACT_CLOSE:
		return TCP_V_CLOSE;
	case ACT_EXPECT_PROXY:
		if (s)
			s->flags |= SF_EXPECT_PROXY;
		return -1;
	case ACT_SET_VAR:
		/* as in HAProxy, an absent sample leaves the variable as it was */
		if (sample_eval(r->expr, ctx, &smp))
			vars_set(s, r->var_id, &smp);
		return -1;
	case ACT_UNSET_VAR:
		vars_unset(s, r->var_id);
		return -1;
	case ACT_TRACK_SC:
		do_track(r, s, ctx, set);
		return -1;
	case ACT_SC_ADD_GPC:
	case ACT_SC_SET_GPT:
		do_sc_update(r, s, ctx);
		return -1;
	}
	return -1;
}

enum tcp_verdict tcp_rules_run(const struct proxy *px, enum tcp_rule_set set,
			       struct session *s, const struct smp_ctx *ctx,
			       unsigned *pos, int final)
{
	const struct list *head = &px->rules.sets[set], *l;
	const struct tcp_rule *r;
	unsigned i = 0;
	int v;

	for (l = head->next; l != head; l = l->next, i++) {
		if (i < *pos)
			continue;
		r = list_entry(l, const struct tcp_rule, node);
		switch (rule_cond(r->cond, ctx, final)) {
		case ACL_MISS:
			/* from the top next time, as HAProxy does */
			*pos = 0;
			return TCP_V_WAIT;
		case ACL_FALSE:
			continue;
		case ACL_TRUE:
			break;
		}
		v = apply_action(r, s, ctx, set);
		if (v >= 0) {
			*pos = 0;
			return (enum tcp_verdict)v;
		}
	}
	*pos = 0;
	return TCP_V_ACCEPT;
}

int tcp_rules_has(const struct proxy *px, enum tcp_rule_set set)
{
	return (unsigned)set < TCP_RULES_NSETS && !list_empty(&px->rules.sets[set]);
}

/* Renders a dynamic name into out; -1 when a sample is absent, does not
 * convert to text, holds a NUL or does not fit. */
static int render_name(const struct switch_rule *r, const struct smp_ctx *ctx,
		       char *out, size_t size)
{
	const struct name_part *part;
	struct sample smp;
	const char *src;
	size_t len = 0, n;
	int i;

	for (i = 0; i < r->nparts; i++) {
		part = &r->parts[i];
		src = part->lit;
		n = part->len;
		if (part->expr) {
			if (!sample_eval(part->expr, ctx, &smp) ||
			    !sample_cast(&smp, SMP_T_STR, ctx))
				return -1;
			src = smp.u.str.ptr;
			n = smp.u.str.len;
			if (memchr(src, '\0', n))
				return -1;
		}
		if (n >= size - len)
			return -1;
		memcpy(out + len, src, n);
		len += n;
	}
	out[len] = '\0';
	return 0;
}

static struct proxy *dynamic_backend(const struct proxy *fe, const struct switch_rule *r,
				     const struct smp_ctx *ctx)
{
	char name[DYN_NAME_MAX];
	struct proxy *be;

	if (!ctx->conf || render_name(r, ctx, name, sizeof(name)) < 0)
		return NULL;
	be = config_find_proxy(ctx->conf, name, PX_CAP_BE);
	if (be && be->mode != fe->mode)
		return NULL;
	return be;
}

struct proxy *tcp_rules_use_backend(const struct proxy *fe, const struct smp_ctx *ctx)
{
	const struct list *head = &fe->rules.use_backend, *l;
	const struct switch_rule *r;

	for (l = head->next; l != head; l = l->next) {
		r = list_entry(l, const struct switch_rule, node);
		if (rule_cond(r->cond, ctx, 1) != ACL_TRUE)
			continue;
		/* HAProxy: a dynamic name that names nothing ends the search */
		return r->parts ? dynamic_backend(fe, r, ctx) : r->be;
	}
	return NULL;
}

struct server *tcp_rules_use_server(const struct proxy *be, const struct smp_ctx *ctx)
{
	const struct list *head = &be->rules.use_server, *l;
	const struct switch_rule *r;

	for (l = head->next; l != head; l = l->next) {
		r = list_entry(l, const struct switch_rule, node);
		if (r->srv && srv_can_be_forced(r->srv) && rule_cond(r->cond, ctx, 1) == ACL_TRUE)
			return r->srv;
	}
	return NULL;
}

/* ---- post-parse: resolve names, warn about blind content rules ---- */

static const char *mode_name(enum px_mode m)
{
	return m == PX_MODE_UDP ? "udp" : "tcp";
}

static int resolve_backend(const struct config *conf, const struct proxy *fe, struct switch_rule *r)
{
	struct proxy *be = config_find_proxy(conf, r->name, PX_CAP_BE);

	if (!be) {
		if (config_find_proxy(conf, r->name, PX_CAP_FE))
			cfg_err_at(r->file, r->line, "use_backend '%s': '%s' is a frontend, not a backend",
				   r->name, r->name);
		else
			cfg_err_at(r->file, r->line, "use_backend '%s': no such backend", r->name);
		return 1;
	}
	if (be->mode != fe->mode) {
		cfg_err_at(r->file, r->line, "use_backend '%s': %s '%s' is mode %s but backend '%s' is mode %s",
			   r->name, proxy_cap_str(fe->cap), fe->name, mode_name(fe->mode),
			   be->name, mode_name(be->mode));
		return 1;
	}
	r->be = be;
	return 0;
}

static int resolve_switch_rules(const struct config *conf, struct proxy *px)
{
	struct list *l;
	struct switch_rule *r;
	int errors = 0;

	for (l = px->rules.use_backend.next; l != &px->rules.use_backend; l = l->next) {
		r = list_entry(l, struct switch_rule, node);
		if (!r->parts)
			errors += resolve_backend(conf, px, r);
	}
	for (l = px->rules.use_server.next; l != &px->rules.use_server; l = l->next) {
		r = list_entry(l, struct switch_rule, node);
		r->srv = server_find(px, r->name);
		if (!r->srv) {
			cfg_err_at(r->file, r->line, "use-server '%s': %s '%s' has no server '%s'",
				   r->name, proxy_cap_str(px->cap), px->name, r->name);
			errors++;
		}
	}
	return errors;
}

/* HAProxy warns too: without a delay, content rules see whatever happened
 * to be read with the connection, which is usually nothing. */
static void warn_blind_content(const struct proxy *px)
{
	const struct list *head = &px->rules.sets[TCP_RULES_CONTENT], *l;
	const struct tcp_rule *r;

	if (px->rules.inspect_delay)
		return;
	for (l = head->next; l != head; l = l->next) {
		r = list_entry(l, const struct tcp_rule, node);
		if (!r->reads_payload)
			continue;
		cfg_err_at(r->file, r->line, "warning: %s '%s': 'tcp-request content' rule reads the request's contents "
			   "but will not wait for data; add 'tcp-request inspect-delay'",
			   proxy_cap_str(px->cap), px->name);
		return;
	}
}

static int tcp_rules_postparse(struct config *conf)
{
	struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next) {
		errors += resolve_switch_rules(conf, px);
		warn_blind_content(px);
	}
	return errors;
}

static struct cfg_postparser tcp_rules_pp = {
	.name = "tcp-rules",
	.fn = tcp_rules_postparse,
};

static struct cfg_kw_list tcp_rules_kws = {
	.kws = (const struct cfg_kw[]){
		{ "tcp-request", CFG_PROXIES, kw_tcp_request, 0 },
		{ "tcp-response", CFG_PROXIES, kw_tcp_response, 0 },
		{ "use_backend", CFG_PROXIES, kw_use_backend, 0 },
		{ "use-server", CFG_PROXIES, kw_use_server, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void tcp_rules_kws_init(void)
{
	cfg_register(&tcp_rules_kws);
	cfg_register_postparser(&tcp_rules_pp);
}
