/* acl.c - the "acl" keyword, conditions ("if|unless ...") and their
 * evaluation.
 *
 * An ACL expression is a sample expression and a pattern store
 * (pattern.c) with its match method; a named ACL is the OR of its lines.
 * A condition is parsed once into a flat array of terms, each marked with
 * whether it opens a new "||" group, and evaluated left to right with
 * three-valued logic: a term whose sample could still change (a fetch over
 * client data that has not all arrived) and does not match yet says MISS,
 * "wait", until the evaluation is final.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/acl.h>
#include <sluice/cfg.h>
#include <sluice/pattern.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>

struct acl_expr {
	struct sample_expr *smp;
	struct pat_set *pats;
	struct acl_expr *next;		/* next line of the same named ACL */
};

struct acl {
	struct list node;		/* in proxy->acls */
	char *name;
	struct acl_expr *exprs;		/* OR'ed, in file order */
	struct acl_expr **tail;
};

enum term_kind { T_NAMED, T_EXPR, T_TRUE, T_FALSE, T_WAIT_END };

struct acl_term {
	unsigned char kind;		/* enum term_kind */
	unsigned char neg;		/* "!" */
	unsigned char new_group;	/* first term after "||" */
	union {
		const struct acl *named;
		struct acl_expr *expr;	/* owned: inline, LOCALHOST, REQ_CONTENT */
	} u;
};

struct acl_cond {
	int unless;
	int nterms;
	struct acl_term terms[];
};

/* ---- ACL expressions ---- */

static void acl_expr_free(struct acl_expr *x)
{
	if (!x)
		return;
	sample_free_expr(x->smp);
	pat_set_free(x->pats);
	free(x);
}

/* What an expression yields, as far as parsing can tell: the last
 * converter that fixes a type, else the fetch's; src and dst declare no
 * type (IPv4 or IPv6 at runtime) but are addresses. */
static enum smp_type expr_type(const struct sample_expr *e)
{
	enum smp_type t = e->fetch->out_type;
	int i;

	if (t == SMP_T_ANY && (!strcmp(e->fetch->name, "src") || !strcmp(e->fetch->name, "dst")))
		t = SMP_T_IPV4;
	for (i = 0; i < e->nconv; i++)
		if (e->convs[i].conv->out_type != SMP_T_ANY)
			t = e->convs[i].conv->out_type;
	return t;
}

static const char *type_name(enum smp_type t)
{
	switch (t) {
	case SMP_T_BOOL: return "boolean";
	case SMP_T_SINT: return "integer";
	case SMP_T_IPV4:
	case SMP_T_IPV6: return "address";
	case SMP_T_STR: return "string";
	case SMP_T_BIN: return "binary";
	default: return "untyped";
	}
}

/* The method an ACL uses without -m. req.ssl_ver is HAProxy's one
 * "decimal" criterion: its patterns read "3.1" for SSL/TLS versions. */
static int default_method(const struct sample_expr *e, unsigned *flags)
{
	const char *name = e->fetch->name;

	if (!e->nconv && (!strcmp(name, "req.ssl_ver") || !strcmp(name, "req_ssl_ver"))) {
		*flags |= PAT_F_DOTTED;
		return PAT_M_INT;
	}
	switch (expr_type(e)) {
	case SMP_T_BOOL: return PAT_M_BOOL;
	case SMP_T_SINT: return PAT_M_INT;
	case SMP_T_IPV4:
	case SMP_T_IPV6: return PAT_M_IP;
	case SMP_T_STR: return PAT_M_STR;
	case SMP_T_BIN: return PAT_M_BIN;
	default: return -1;
	}
}

/* HAProxy's compatibility matrix between sample types and methods. */
static int method_accepts(enum pat_method m, enum smp_type t)
{
	if (t == SMP_T_ANY)
		return 1;
	switch (m) {
	case PAT_M_BOOL:
		return t == SMP_T_BOOL || t == SMP_T_SINT;
	case PAT_M_INT:
		return t == SMP_T_BOOL || t == SMP_T_SINT || t == SMP_T_STR;
	case PAT_M_IP:
		return t == SMP_T_IPV4 || t == SMP_T_IPV6 || t == SMP_T_STR || t == SMP_T_BIN;
	case PAT_M_BIN:
		return t == SMP_T_STR || t == SMP_T_BIN;
	default:	/* found, len and the string methods: every type has a text form */
		return 1;
	}
}

/* The words of one ACL being parsed: "CRITERION [flags] [op] [patterns]". */
struct expr_parse {
	struct cfg_ctx *ctx;
	const char *who;		/* "acl 'x'" or "inline ACL '{ src ... }'" */
	int argc, i;
	char *const *args;
	struct acl_expr *x;
	int method;			/* -1 until -m or the first pattern */
	unsigned flags;			/* PAT_F_* for the following patterns */
	int files;			/* -f seen */
};

#define METHODS_LIST "found bool int ip bin len str beg end sub dir dom reg"

static int ensure_pats(struct expr_parse *p)
{
	enum smp_type t = expr_type(p->x->smp);

	if (p->x->pats)
		return 0;
	if (p->method < 0) {
		p->method = default_method(p->x->smp, &p->flags);
		if (p->method < 0)
			return cfg_err(p->ctx, "%s: fetch '%s' returns an %s sample, which has no default match method: add '-m METHOD' (%s)",
				       p->who, p->x->smp->fetch->name, type_name(t), METHODS_LIST);
	} else if (!method_accepts(p->method, t)) {
		return cfg_err(p->ctx, "%s: '-m %s' cannot match the %s sample of '%s'",
			       p->who, pat_method_name(p->method), type_name(t), p->args[0]);
	}
	p->x->pats = pat_set_new(p->method);
	return p->x->pats ? 0 : cfg_err(p->ctx, "%s: out of memory", p->who);
}

static const char *flag_arg(struct expr_parse *p, const char *what)
{
	if (p->i + 1 >= p->argc) {
		cfg_err(p->ctx, "%s: '%s' expects %s", p->who, p->args[p->i], what);
		return NULL;
	}
	return p->args[++p->i];
}

static int flag_method(struct expr_parse *p)
{
	const char *name = flag_arg(p, "a match method (" METHODS_LIST ")");

	if (!name)
		return -1;
	if (p->x->pats)
		return cfg_err(p->ctx, "%s: '-m' must come before '-f' and before the patterns", p->who);
	if (p->method >= 0)
		return cfg_err(p->ctx, "%s: '-m' given twice", p->who);
	p->method = pat_method_parse(name);
	if (p->method < 0)
		return cfg_err(p->ctx, "%s: unknown match method '%s' (expects one of: %s)",
			       p->who, name, METHODS_LIST);
	return 0;
}

static int flag_file(struct expr_parse *p)
{
	const char *path = flag_arg(p, "a file name");
	char err[768];

	if (!path || ensure_pats(p) < 0)
		return -1;
	if (!pat_method_has_patterns(p->method))
		return cfg_err(p->ctx, "%s: '-m %s' takes no pattern, so no '-f' file",
			       p->who, pat_method_name(p->method));
	p->files = 1;
	if (pat_load_file(p->x->pats, path, p->flags, 0, err, sizeof(err)) < 0)
		return cfg_err(p->ctx, "%s: %s", p->who, err);
	return 0;
}

static int parse_flags(struct expr_parse *p)
{
	const char *w;

	for (; p->i < p->argc; p->i++) {
		w = p->args[p->i];
		if (w[0] != '-' || !w[1])
			return 0;
		if (!strcmp(w, "--")) {
			p->i++;
			return 0;
		}
		if (!strcmp(w, "-i")) {
			p->flags |= PAT_F_ICASE;
		} else if (!strcmp(w, "-n")) {
			continue;	/* no DNS: sluice never resolves patterns anyway */
		} else if (!strcmp(w, "-m")) {
			if (flag_method(p) < 0)
				return -1;
		} else if (!strcmp(w, "-f")) {
			if (flag_file(p) < 0)
				return -1;
		} else if (!strcmp(w, "-M") || !strcmp(w, "-u")) {
			return cfg_err(p->ctx, "%s: flag '%s' is not supported (%s)", p->who, w,
				       w[1] == 'M' ? "use a pattern file with -f, or a map_* converter" :
				       "there is no runtime API for ACL contents");
		} else {
			return cfg_err(p->ctx, "%s: '%s' is not a valid flag (-i -f -m -n --); write '--' before a pattern that starts with '-'",
				       p->who, w);
		}
	}
	return 0;
}

static int parse_patterns(struct expr_parse *p)
{
	enum pat_op op = PAT_OP_NONE;
	char err[512];

	if (ensure_pats(p) < 0)
		return -1;
	if ((p->method == PAT_M_INT || p->method == PAT_M_LEN) && p->i < p->argc &&
	    (op = pat_op_parse(p->args[p->i])) != PAT_OP_NONE &&
	    ++p->i >= p->argc)
		return cfg_err(p->ctx, "%s: operator '%s' expects a value after it", p->who, p->args[p->i - 1]);
	for (; p->i < p->argc; p->i++)
		if (pat_add(p->x->pats, p->args[p->i], p->flags, op, NULL, err, sizeof(err)) < 0)
			return cfg_err(p->ctx, "%s: %s", p->who, err);
	if (!p->files && !pat_set_count(p->x->pats) && pat_method_has_patterns(p->method))
		cfg_warn(p->ctx, "%s: no pattern to match, it never matches", p->who);
	return 0;
}

/* args[0] is the criterion (a sample expression), then flags and patterns. */
static struct acl_expr *acl_expr_parse(struct cfg_ctx *ctx, const char *who,
				       int argc, char *const *args)
{
	struct expr_parse p = { .ctx = ctx, .who = who, .argc = argc, .args = args,
				.i = 1, .method = -1 };
	char err[512];

	p.x = calloc(1, sizeof(*p.x));
	if (!p.x) {
		cfg_err(ctx, "%s: out of memory", who);
		return NULL;
	}
	p.x->smp = sample_parse_expr(args[0], err, sizeof(err));
	if (!p.x->smp) {
		cfg_err(ctx, "%s: %s", who, err);
		goto fail;
	}
	if (parse_flags(&p) < 0 || parse_patterns(&p) < 0)
		goto fail;
	return p.x;
fail:
	acl_expr_free(p.x);
	return NULL;
}

/* ---- named ACLs ---- */

static struct acl *acl_find(const struct proxy *px, const char *name)
{
	const struct list *pos;
	struct acl *a;

	for (pos = px->acls.next; pos != &px->acls; pos = pos->next) {
		a = list_entry(pos, struct acl, node);
		if (!strcmp(a->name, name))
			return a;
	}
	return NULL;
}

static int valid_acl_name(const char *s)
{
	if (!*s || !strcmp(s, "or"))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.:", *s)))
			return 0;
	return 1;
}

static struct acl *acl_get(struct proxy *px, const char *name)
{
	struct acl *a = acl_find(px, name);

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->name = strdup(name))) {
		free(a);
		return NULL;
	}
	a->tail = &a->exprs;
	list_add_tail(&px->acls, &a->node);
	return a;
}

/* "acl NAME CRITERION [flags] [operator] [patterns...]" */
static int cfg_acl(struct cfg_ctx *ctx, int argc, char **args)
{
	struct acl_expr *x;
	struct acl *a;
	char who[160];

	if (argc < 3)
		return cfg_err(ctx, "'acl': expects a name and a criterion, as in 'acl local src 127.0.0.1/8'");
	if (!valid_acl_name(args[1]))
		return cfg_err(ctx, "'acl': invalid name '%s' (letters, digits, '-', '_', '.' and ':' only; 'or' is reserved)",
			       args[1]);
	snprintf(who, sizeof(who), "acl '%s'", args[1]);
	x = acl_expr_parse(ctx, who, argc - 2, args + 2);
	if (!x)
		return -1;
	a = acl_get(ctx->px, args[1]);
	if (!a) {
		acl_expr_free(x);
		return cfg_err(ctx, "%s: out of memory", who);
	}
	*a->tail = x;
	a->tail = &x->next;
	return 0;
}

void acl_free_proxy(struct proxy *px)
{
	struct list *pos, *tmp;
	struct acl_expr *x, *next;
	struct acl *a;

	list_for_each_safe(pos, tmp, &px->acls) {
		a = list_entry(pos, struct acl, node);
		list_del(pos);
		for (x = a->exprs; x; x = next) {
			next = x->next;
			acl_expr_free(x);
		}
		free(a->name);
		free(a);
	}
}

/* ---- conditions: parsing ---- */

/* HAProxy's predefined ACLs that mean something at layer 4. */
static const struct {
	const char *name;
	enum term_kind kind;
	char *words[4];		/* for T_EXPR: an inline ACL */
} predefined[] = {
	{ "TRUE", T_TRUE, { NULL } },
	{ "FALSE", T_FALSE, { NULL } },
	{ "WAIT_END", T_WAIT_END, { NULL } },
	{ "LOCALHOST", T_EXPR, { "src", "127.0.0.1/8", "::1", NULL } },
	{ "REQ_CONTENT", T_EXPR, { "req.len", "gt", "0", NULL } },
};

#define PREDEFINED_LIST "TRUE FALSE LOCALHOST REQ_CONTENT WAIT_END"

static int term_predefined(struct cfg_ctx *ctx, const char *name, struct acl_term *t)
{
	size_t i;
	int n;

	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		if (strcmp(name, predefined[i].name))
			continue;
		t->kind = (unsigned char)predefined[i].kind;
		if (t->kind != T_EXPR)
			return 0;
		for (n = 0; predefined[i].words[n]; n++)
			;
		t->u.expr = acl_expr_parse(ctx, name, n, predefined[i].words);
		return t->u.expr ? 0 : -1;
	}
	return 1;
}

static int term_named(struct cfg_ctx *ctx, const char *name, struct acl_term *t)
{
	const struct acl *a = acl_find(ctx->px, name);
	int rc;

	if (a) {
		t->kind = T_NAMED;
		t->u.named = a;
		return 0;
	}
	rc = term_predefined(ctx, name, t);
	if (rc <= 0)
		return rc;
	if (name[0] == '{' || (name[0] && name[strlen(name) - 1] == '}'))
		return cfg_err(ctx, "no such ACL '%s': braces of an inline ACL must be separate words, as in '{ src 10.0.0.0/8 }'",
			       name);
	if (sample_find_fetch(name, strcspn(name, "(,")))
		return cfg_err(ctx, "no such ACL '%s': to test a fetch in a condition, write an inline ACL such as '{ %s ... }'",
			       name, name);
	return cfg_err(ctx, "no such ACL '%s' (declare it with 'acl %s ...' earlier in this section, or use a predefined ACL: %s)",
		       name, name, PREDEFINED_LIST);
}

/* "{ CRITERION ... }" starting at args[*i]; *i ends after the "}". */
static int term_inline(struct cfg_ctx *ctx, int argc, char **args, int *i, struct acl_term *t)
{
	int start = *i + 1, end;
	char who[160];

	for (end = start; end < argc && strcmp(args[end], "}"); end++)
		;
	if (end >= argc)
		return cfg_err(ctx, "missing '}' to close the inline ACL '{ %s ...'",
			       start < argc ? args[start] : "");
	if (end == start)
		return cfg_err(ctx, "empty inline ACL '{ }': expects a fetch and patterns, as in '{ src 10.0.0.0/8 }'");
	snprintf(who, sizeof(who), "inline ACL '{ %s ... }'", args[start]);
	t->kind = T_EXPR;
	t->u.expr = acl_expr_parse(ctx, who, end - start, args + start);
	*i = end + 1;
	return t->u.expr ? 0 : -1;
}

struct cond_parse {
	int neg;		/* "!" seen for the next term */
	int new_group;		/* "||" seen before the next term */
	int have_term;		/* the current group has a term */
};

static int cond_word(struct cfg_ctx *ctx, struct acl_cond *c, int argc, char **args,
		     int *i, struct cond_parse *st)
{
	const char *w = args[*i];
	struct acl_term *t = &c->terms[c->nterms];
	int rc;

	if (!strcmp(w, "||") || !strcmp(w, "or")) {
		if (!st->have_term || st->neg)
			return cfg_err(ctx, "'%s' must sit between two terms of the condition", w);
		st->new_group = 1;
		st->have_term = 0;
		(*i)++;
		return 0;
	}
	for (; *w == '!'; w++)
		st->neg = !st->neg;
	if (!*w) {
		(*i)++;
		return 0;
	}
	if (!strcmp(w, "}"))
		return cfg_err(ctx, "unexpected '}' in the condition (no '{' before it)");
	if (!strcmp(w, "{")) {
		rc = term_inline(ctx, argc, args, i, t);
	} else {
		rc = term_named(ctx, w, t);
		(*i)++;
	}
	if (rc < 0)
		return -1;	/* a failed parse leaves nothing to free */
	t->neg = (unsigned char)st->neg;
	t->new_group = (unsigned char)st->new_group;
	c->nterms++;
	st->neg = st->new_group = 0;
	st->have_term = 1;
	return 0;
}

struct acl_cond *acl_cond_parse(struct cfg_ctx *ctx, int argc, char **args)
{
	struct cond_parse st = { 0, 0, 0 };
	struct acl_cond *c;
	int i = 1;

	if (argc < 1 || (strcmp(args[0], "if") && strcmp(args[0], "unless"))) {
		cfg_err(ctx, "expects 'if' or 'unless' before a condition, got '%s'", argc ? args[0] : "");
		return NULL;
	}
	if (argc < 2) {
		cfg_err(ctx, "'%s' expects a condition after it", args[0]);
		return NULL;
	}
	c = calloc(1, sizeof(*c) + (size_t)argc * sizeof(c->terms[0]));
	if (!c) {
		cfg_err(ctx, "out of memory");
		return NULL;
	}
	c->unless = !strcmp(args[0], "unless");
	while (i < argc)
		if (cond_word(ctx, c, argc, args, &i, &st) < 0)
			goto fail;
	if (!st.have_term || st.neg) {
		cfg_err(ctx, "condition ends with '%s': a term must follow it", args[argc - 1]);
		goto fail;
	}
	return c;
fail:
	acl_cond_free(c);
	return NULL;
}

void acl_cond_free(struct acl_cond *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->nterms; i++)
		if (c->terms[i].kind == T_EXPR)
			acl_expr_free(c->terms[i].u.expr);
	free(c);
}

/* ---- conditions: evaluation ---- */

static enum acl_result or3(enum acl_result a, enum acl_result b)
{
	if (a == ACL_TRUE || b == ACL_TRUE)
		return ACL_TRUE;
	return a == ACL_MISS || b == ACL_MISS ? ACL_MISS : ACL_FALSE;
}

static enum acl_result and3(enum acl_result a, enum acl_result b)
{
	if (a == ACL_FALSE || b == ACL_FALSE)
		return ACL_FALSE;
	return a == ACL_MISS || b == ACL_MISS ? ACL_MISS : ACL_TRUE;
}

static enum acl_result not3(enum acl_result r)
{
	return r == ACL_MISS ? ACL_MISS : r == ACL_TRUE ? ACL_FALSE : ACL_TRUE;
}

/* As in HAProxy, a match is final even when the sample may grow; a
 * mismatch is only final once the sample cannot change any more. */
static enum acl_result expr_eval(const struct acl_expr *x, const struct smp_ctx *ctx, int final)
{
	struct sample smp;

	if (sample_eval(x->smp, ctx, &smp) && pat_match(x->pats, &smp, ctx))
		return ACL_TRUE;
	return smp.may_change && !final ? ACL_MISS : ACL_FALSE;
}

static enum acl_result term_eval(const struct acl_term *t, const struct smp_ctx *ctx, int final)
{
	enum acl_result r = ACL_FALSE;
	const struct acl_expr *x;

	switch (t->kind) {
	case T_TRUE:
		r = ACL_TRUE;
		break;
	case T_WAIT_END:
		r = final ? ACL_TRUE : ACL_MISS;
		break;
	case T_EXPR:
		r = expr_eval(t->u.expr, ctx, final);
		break;
	case T_NAMED:
		for (x = t->u.named->exprs; x && r != ACL_TRUE; x = x->next)
			r = or3(r, expr_eval(x, ctx, final));
		break;
	default:
		break;
	}
	return t->neg ? not3(r) : r;
}

static enum acl_result cond_value(const struct acl_cond *c, const struct smp_ctx *ctx, int final)
{
	enum acl_result res = ACL_FALSE, group = ACL_TRUE;
	int i;

	for (i = 0; i < c->nterms; i++) {
		if (c->terms[i].new_group) {
			res = or3(res, group);
			if (res == ACL_TRUE)
				return res;
			group = ACL_TRUE;
		}
		/* a false term settles its group: skip the rest of it */
		if (group != ACL_FALSE)
			group = and3(group, term_eval(&c->terms[i], ctx, final));
	}
	return or3(res, group);
}

enum acl_result acl_cond_eval(const struct acl_cond *c, const struct smp_ctx *ctx, int final)
{
	struct smp_ctx local;
	char scratch[256];
	enum acl_result r;

	if (!ctx->scratch || !ctx->scratch_size) {
		local = *ctx;
		local.scratch = scratch;
		local.scratch_size = sizeof(scratch);
		ctx = &local;
	}
	r = cond_value(c, ctx, final);
	if (final && r == ACL_MISS)
		r = ACL_FALSE;
	return c->unless ? not3(r) : r;
}

static struct cfg_kw_list acl_kws = {
	.kws = (const struct cfg_kw[]){
		{ "acl", CFG_FRONTEND | CFG_BACKEND | CFG_LISTEN, cfg_acl, 0 },
		{ NULL },
	}
};

__attribute__((constructor)) static void acl_init(void)
{
	cfg_register(&acl_kws);
}
