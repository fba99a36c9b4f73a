/* sample.c - sample fetch and converter registries, expression parsing
 * and evaluation, type casts, and the layer-4 fetches.
 *
 * An expression is parsed once at configuration time into a fetch and a
 * chain of converters with their arguments already converted, so that
 * evaluation on the data path allocates nothing: text produced by casts and
 * converters goes into the caller's scratch buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/addr.h>
#include <sluice/sample.h>
#include "sluice/errbuf.h"

static struct sample_fetch_list *fetch_lists;
static struct sample_fetch_list **fetch_tail = &fetch_lists;
static struct sample_conv_list *conv_lists;
static struct sample_conv_list **conv_tail = &conv_lists;

void sample_register_fetches(struct sample_fetch_list *l)
{
	l->next = NULL;
	*fetch_tail = l;
	fetch_tail = &l->next;
}

void sample_register_convs(struct sample_conv_list *l)
{
	l->next = NULL;
	*conv_tail = l;
	conv_tail = &l->next;
}

static int name_is(const char *kw, const char *name, size_t len)
{
	return strlen(kw) == len && !memcmp(kw, name, len);
}

const struct sample_fetch *sample_find_fetch(const char *name, size_t len)
{
	const struct sample_fetch_list *l;
	const struct sample_fetch *f;

	for (l = fetch_lists; l; l = l->next)
		for (f = l->kws; f->name; f++)
			if (name_is(f->name, name, len))
				return f;
	return NULL;
}

const struct sample_conv *sample_find_conv(const char *name, size_t len)
{
	const struct sample_conv_list *l;
	const struct sample_conv *c;

	for (l = conv_lists; l; l = l->next)
		for (c = l->kws; c->name; c++)
			if (name_is(c->name, name, len))
				return c;
	return NULL;
}

static const char *type_name(enum smp_type t)
{
	static const char *const names[] = {
		[SMP_T_ANY] = "any", [SMP_T_BOOL] = "boolean", [SMP_T_SINT] = "integer",
		[SMP_T_IPV4] = "ipv4", [SMP_T_IPV6] = "ipv6", [SMP_T_STR] = "string",
		[SMP_T_BIN] = "binary",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* ---- casts ---- */

/* Which conversions exist at all; some may still fail on a given value. */
static int cast_exists(enum smp_type from, enum smp_type to)
{
	static const unsigned char ok[7][7] = {
		/*            ANY BOOL SINT IPV4 IPV6 STR BIN */
		[SMP_T_BOOL] = { 1, 1,   1,   0,   0,   1,  1 },
		[SMP_T_SINT] = { 1, 1,   1,   0,   0,   1,  1 },
		[SMP_T_IPV4] = { 1, 0,   0,   1,   1,   1,  1 },
		[SMP_T_IPV6] = { 1, 0,   0,   1,   1,   1,  1 },
		[SMP_T_STR]  = { 1, 0,   1,   1,   1,   1,  1 },
		[SMP_T_BIN]  = { 1, 0,   0,   0,   0,   1,  1 },
	};

	if (from == SMP_T_ANY || to == SMP_T_ANY)
		return 1;
	if ((unsigned)from > SMP_T_BIN || (unsigned)to > SMP_T_BIN)
		return 0;
	return ok[from][to];
}

static char *scratch_get(const struct smp_ctx *ctx, size_t need)
{
	return ctx->scratch && ctx->scratch_size >= need ? ctx->scratch : NULL;
}

static int set_scratch_str(struct sample *smp, const struct smp_ctx *ctx,
			   enum smp_type type, const void *data, size_t len)
{
	char *dst = scratch_get(ctx, len);

	if (!dst)
		return 0;
	memmove(dst, data, len);
	smp->type = type;
	smp->u.str.ptr = dst;
	smp->u.str.len = len;
	return 1;
}

static int cast_to_str(struct sample *smp, const struct smp_ctx *ctx)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	int n = 0;

	switch (smp->type) {
	case SMP_T_BOOL:
	case SMP_T_SINT:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, smp->u.sint);
		break;
	case SMP_T_IPV4:
		inet_ntop(AF_INET, &smp->u.ipv4, tmp, sizeof(tmp));
		n = strlen(tmp);
		break;
	case SMP_T_IPV6:
		inet_ntop(AF_INET6, &smp->u.ipv6, tmp, sizeof(tmp));
		n = strlen(tmp);
		break;
	case SMP_T_BIN:
		smp->type = SMP_T_STR;
		return 1;
	default:
		return 0;
	}
	return set_scratch_str(smp, ctx, SMP_T_STR, tmp, n);
}

static int cast_to_bin(struct sample *smp, const struct smp_ctx *ctx)
{
	char tmp[16];
	const void *p;
	size_t len;

	if (smp->type == SMP_T_STR) {
		smp->type = SMP_T_BIN;
		return 1;
	}
	if (sample_to_bytes(smp, &p, &len, tmp) < 0)
		return 0;
	return set_scratch_str(smp, ctx, SMP_T_BIN, p, len);
}

/* Copies a STR sample into a NUL-terminated buffer for libc parsers. */
static int str_to_cstr(const struct sample *smp, char *buf, size_t sz)
{
	if (smp->u.str.len >= sz)
		return 0;
	memcpy(buf, smp->u.str.ptr, smp->u.str.len);
	buf[smp->u.str.len] = '\0';
	return 1;
}

static int cast_to_sint(struct sample *smp)
{
	char buf[32], *end;
	long long v;

	if (smp->type == SMP_T_BOOL) {
		smp->type = SMP_T_SINT;
		return 1;
	}
	if (smp->type != SMP_T_STR || !str_to_cstr(smp, buf, sizeof(buf)) || !buf[0])
		return 0;
	v = strtoll(buf, &end, 10);
	if (*end)
		return 0;
	smp->type = SMP_T_SINT;
	smp->u.sint = v;
	return 1;
}

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int cast_to_ipv4(struct sample *smp)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr a;

	if (smp->type == SMP_T_IPV6) {
		if (memcmp(smp->u.ipv6.s6_addr, v4mapped_prefix, 12))
			return 0;
		memcpy(&a, smp->u.ipv6.s6_addr + 12, 4);
	} else if (smp->type != SMP_T_STR || !str_to_cstr(smp, buf, sizeof(buf)) ||
		   inet_pton(AF_INET, buf, &a) != 1) {
		return 0;
	}
	smp->type = SMP_T_IPV4;
	smp->u.ipv4 = a;
	return 1;
}

static int cast_to_ipv6(struct sample *smp)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (smp->type == SMP_T_IPV4) {
		memcpy(a.s6_addr, v4mapped_prefix, 12);
		memcpy(a.s6_addr + 12, &smp->u.ipv4, 4);
	} else if (smp->type != SMP_T_STR || !str_to_cstr(smp, buf, sizeof(buf)) ||
		   inet_pton(AF_INET6, buf, &a) != 1) {
		return 0;
	}
	smp->type = SMP_T_IPV6;
	smp->u.ipv6 = a;
	return 1;
}

int sample_cast(struct sample *smp, enum smp_type to, const struct smp_ctx *ctx)
{
	if (to == SMP_T_ANY || smp->type == to)
		return 1;
	if (!cast_exists(smp->type, to))
		return 0;
	switch (to) {
	case SMP_T_BOOL:
		smp->type = SMP_T_BOOL;
		smp->u.sint = smp->u.sint != 0;
		return 1;
	case SMP_T_SINT:
		return cast_to_sint(smp);
	case SMP_T_IPV4:
		return cast_to_ipv4(smp);
	case SMP_T_IPV6:
		return cast_to_ipv6(smp);
	case SMP_T_STR:
		return cast_to_str(smp, ctx);
	case SMP_T_BIN:
		return cast_to_bin(smp, ctx);
	default:
		return 0;
	}
}

int sample_to_bytes(const struct sample *s, const void **p, size_t *len, char tmp[16])
{
	uint64_t v;
	int i;

	switch (s->type) {
	case SMP_T_STR:
	case SMP_T_BIN:
		*p = s->u.str.ptr ? s->u.str.ptr : "";
		*len = s->u.str.len;
		return 0;
	case SMP_T_IPV4:
		memcpy(tmp, &s->u.ipv4, 4);
		*len = 4;
		break;
	case SMP_T_IPV6:
		memcpy(tmp, &s->u.ipv6, 16);
		*len = 16;
		break;
	case SMP_T_BOOL:
		tmp[0] = s->u.sint != 0;
		*len = 1;
		break;
	case SMP_T_SINT:
		v = (uint64_t)s->u.sint;
		for (i = 7; i >= 0; i--, v >>= 8)
			tmp[i] = (char)(v & 0xff);
		*len = 8;
		break;
	default:
		return -1;
	}
	*p = tmp;
	return 0;
}

/* ---- expression parsing ---- */


static size_t name_span(const char *p)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	       (p[n] >= '0' && p[n] <= '9') || p[n] == '.' || p[n] == '_' || p[n] == '-')
		n++;
	return n;
}

/* What the parser knows about the keyword whose arguments it reads. */
struct arg_spec {
	const char *kind;	/* "fetch" or "converter" */
	const char *name;
	size_t name_len;
	int min_args, max_args;
	const char *types;
};

/* Reads one argument into *out (a fresh string) up to an unquoted ',' or
 * ')'. Quotes and backslashes let an argument hold those characters. */
static int read_arg(const char **pp, const struct arg_spec *sp, char **out,
		    char *err, size_t errsz)
{
	const char *p = *pp;
	char quote = 0, *dst;

	dst = *out = malloc(strlen(p) + 1);
	if (!dst)
		return errbuf_fail(err, errsz, "out of memory");
	for (; *p && (quote || (*p != ',' && *p != ')')); p++) {
		if (quote && *p == quote)
			quote = 0;
		else if (!quote && (*p == '"' || *p == '\''))
			quote = *p;
		else if (*p == '\\' && p[1])
			*dst++ = *++p;
		else
			*dst++ = *p;
	}
	*dst = '\0';
	*pp = p;
	if (!*p)
		return errbuf_fail(err, errsz, "missing ')' after the arguments of %s '%.*s'",
				  sp->kind, (int)sp->name_len, sp->name);
	return 0;
}

static int convert_arg(const struct arg_spec *sp, int idx, char *word,
		       struct sample_arg *arg, char *err, size_t errsz)
{
	char type = sp->types && (size_t)idx < strlen(sp->types) ? sp->types[idx] : 's';
	char *end;

	if (type != 'i') {
		arg->type = ARG_STR;
		arg->str = word;
		return 0;
	}
	errno = 0;
	arg->sint = strtoll(word, &end, 10);
	if (!*word || *end || errno) {
		errbuf_fail(err, errsz, "argument %d of %s '%.*s' must be an integer, got '%s'",
			   idx + 1, sp->kind, (int)sp->name_len, sp->name, word);
		free(word);
		return -1;
	}
	free(word);
	arg->type = ARG_SINT;
	return 0;
}

static int count_error(const struct arg_spec *sp, int n, char *err, size_t errsz)
{
	if (n < sp->min_args)
		return errbuf_fail(err, errsz, "%s '%.*s' expects %s%d argument%s, got %d",
				  sp->kind, (int)sp->name_len, sp->name,
				  sp->min_args == sp->max_args ? "" : "at least ",
				  sp->min_args, sp->min_args > 1 ? "s" : "", n);
	if (!sp->max_args)
		return errbuf_fail(err, errsz, "%s '%.*s' takes no argument",
				  sp->kind, (int)sp->name_len, sp->name);
	return errbuf_fail(err, errsz, "%s '%.*s' takes at most %d argument%s",
			  sp->kind, (int)sp->name_len, sp->name, sp->max_args,
			  sp->max_args > 1 ? "s" : "");
}

/* "(a,b)" after a name, or nothing. *pp is left after the ')'. */
static int parse_args(const char **pp, const struct arg_spec *sp,
		      struct sample_arg *args, char *err, size_t errsz)
{
	const char *p = *pp;
	int n = 0;
	char *word;

	if (*p == '(' && p[1] == ')')
		p += 2;
	else if (*p == '(') {
		do {
			p++;
			if (n >= sp->max_args || n >= SMP_MAX_ARGS)
				return count_error(sp, n + 1, err, errsz);
			if (read_arg(&p, sp, &word, err, errsz) < 0) {
				free(word);
				return -1;
			}
			if (convert_arg(sp, n, word, &args[n], err, errsz) < 0)
				return -1;
			n++;
		} while (*p == ',');
		p++;
	}
	*pp = p;
	if (n < sp->min_args)
		return count_error(sp, n, err, errsz);
	return 0;
}

static void free_args(struct sample_arg *args)
{
	int i;

	for (i = 0; i < SMP_MAX_ARGS; i++) {
		if (args[i].type == ARG_STR)
			free(args[i].str);
		args[i].type = ARG_NONE;
		args[i].str = NULL;
	}
}

void sample_free_expr(struct sample_expr *e)
{
	int i;

	if (!e)
		return;
	free_args(e->args);
	for (i = 0; i < e->nconv; i++)
		free_args(e->convs[i].args);
	free(e);
}

static int parse_fetch(const char **pp, struct sample_expr *e, char *err, size_t errsz)
{
	const char *p = *pp;
	size_t len = name_span(p);
	struct arg_spec sp;

	if (!len)
		return errbuf_fail(err, errsz, "expects a sample fetch name, as in 'src', got '%s'", p);
	e->fetch = sample_find_fetch(p, len);
	if (!e->fetch)
		return errbuf_fail(err, errsz, "unknown fetch method '%.*s'", (int)len, p);
	sp = (struct arg_spec){ "fetch", p, len, e->fetch->min_args, e->fetch->max_args,
				e->fetch->arg_types };
	*pp = p + len;
	if (parse_args(pp, &sp, e->args, err, errsz) < 0)
		return -1;
	if (e->fetch->check && e->fetch->check(e->args, err, errsz) < 0)
		return -1;
	return 0;
}

/* *pp is just after a ','; *type is the type flowing into the converter. */
static int parse_conv(const char **pp, struct sample_expr *e, enum smp_type *type,
		      char *err, size_t errsz)
{
	const char *p = *pp;
	size_t len = name_span(p);
	const struct sample_conv *conv;
	struct arg_spec sp;

	if (!len)
		return errbuf_fail(err, errsz, "expects a converter name after ','");
	if (e->nconv >= SMP_MAX_CONVS)
		return errbuf_fail(err, errsz, "too many converters (at most %d)", SMP_MAX_CONVS);
	conv = sample_find_conv(p, len);
	if (!conv)
		return errbuf_fail(err, errsz, "unknown converter '%.*s'", (int)len, p);
	if (!cast_exists(*type, conv->in_type))
		return errbuf_fail(err, errsz, "converter '%.*s' takes %s input, it cannot use %s",
				  (int)len, p, type_name(conv->in_type), type_name(*type));
	e->convs[e->nconv].conv = conv;
	sp = (struct arg_spec){ "converter", p, len, conv->min_args, conv->max_args,
				conv->arg_types };
	*pp = p + len;
	/* count it first so that sample_free_expr() frees its arguments */
	e->nconv++;
	if (parse_args(pp, &sp, e->convs[e->nconv - 1].args, err, errsz) < 0)
		return -1;
	if (conv->check && conv->check(e->convs[e->nconv - 1].args, err, errsz) < 0)
		return -1;
	*type = conv->out_type;
	return 0;
}

struct sample_expr *sample_parse_expr(const char *str, char *err, size_t errsz)
{
	struct sample_expr *e;
	enum smp_type type;
	const char *p = str;

	e = calloc(1, sizeof(*e));
	if (!e) {
		errbuf_fail(err, errsz, "out of memory");
		return NULL;
	}
	if (parse_fetch(&p, e, err, errsz) < 0)
		goto fail;
	type = e->fetch->out_type;
	while (*p == ',') {
		p++;
		if (parse_conv(&p, e, &type, err, errsz) < 0)
			goto fail;
	}
	if (*p) {
		errbuf_fail(err, errsz, "unexpected '%s' in expression '%s'", p, str);
		goto fail;
	}
	return e;
fail:
	sample_free_expr(e);
	return NULL;
}

/* ---- evaluation ---- */

int sample_eval(const struct sample_expr *e, const struct smp_ctx *ctx, struct sample *out)
{
	const struct sample_conv *conv;
	int i;

	memset(out, 0, sizeof(*out));
	out->type = e->fetch->out_type;
	if (!e->fetch->fn(e->args, out, ctx))
		return 0;
	for (i = 0; i < e->nconv; i++) {
		conv = e->convs[i].conv;
		if (!sample_cast(out, conv->in_type, ctx))
			return 0;
		if (!conv->fn(e->convs[i].args, out, ctx))
			return 0;
		if (conv->out_type != SMP_T_ANY)
			out->type = conv->out_type;
	}
	return 1;
}

/* ---- layer-4 fetches ---- */

static int fetch_ip(const struct sockaddr_storage *ss, struct sample *out)
{
	if (!ss)
		return 0;
	if (ss->ss_family == AF_INET) {
		out->type = SMP_T_IPV4;
		out->u.ipv4 = ((const struct sockaddr_in *)ss)->sin_addr;
		return 1;
	}
	if (ss->ss_family == AF_INET6) {
		out->type = SMP_T_IPV6;
		out->u.ipv6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return 1;
	}
	return 0;
}

static int fetch_port(const struct sockaddr_storage *ss, struct sample *out)
{
	if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6))
		return 0;
	out->type = SMP_T_SINT;
	out->u.sint = addr_port(ss);
	return 1;
}

static int smp_fetch_src(const struct sample_arg *args, struct sample *out,
			 const struct smp_ctx *ctx)
{
	(void)args;
	return fetch_ip(ctx->src, out);
}

static int smp_fetch_dst(const struct sample_arg *args, struct sample *out,
			 const struct smp_ctx *ctx)
{
	(void)args;
	return fetch_ip(ctx->dst, out);
}

static int smp_fetch_src_port(const struct sample_arg *args, struct sample *out,
			      const struct smp_ctx *ctx)
{
	(void)args;
	return fetch_port(ctx->src, out);
}

static int smp_fetch_dst_port(const struct sample_arg *args, struct sample *out,
			      const struct smp_ctx *ctx)
{
	(void)args;
	return fetch_port(ctx->dst, out);
}

/* More data may arrive: the length is never final while inspecting. */
static int smp_fetch_req_len(const struct sample_arg *args, struct sample *out,
			     const struct smp_ctx *ctx)
{
	(void)args;
	out->type = SMP_T_SINT;
	out->u.sint = (int64_t)ctx->req_len;
	out->may_change = 1;
	return 1;
}

static int smp_fetch_req_payload(const struct sample_arg *args, struct sample *out,
				 const struct smp_ctx *ctx)
{
	uint64_t off = (uint64_t)args[0].sint, len = (uint64_t)args[1].sint;
	uint64_t have = ctx->req_len;

	if (off > have || len > have - off) {
		out->may_change = 1;	/* not enough data yet */
		return 0;
	}
	if (!len) {
		len = have - off;
		out->may_change = 1;	/* "to the end" grows with the data */
	}
	out->type = SMP_T_BIN;
	out->u.str.ptr = ctx->req ? ctx->req + off : "";
	out->u.str.len = len;
	return 1;
}

static int check_payload_args(struct sample_arg *args, char *err, size_t errsz)
{
	if (args[0].sint < 0)
		return errbuf_fail(err, errsz, "req.payload: offset must be 0 or more, got %" PRId64,
				  args[0].sint);
	if (args[1].sint < 0)
		return errbuf_fail(err, errsz, "req.payload: length must be 0 (to the end) or more, got %" PRId64,
				  args[1].sint);
	return 0;
}

static const struct sample_fetch l4_fetches[] = {
	{ "src",         smp_fetch_src,         SMP_T_ANY,  0, 0, NULL, NULL },
	{ "dst",         smp_fetch_dst,         SMP_T_ANY,  0, 0, NULL, NULL },
	{ "src_port",    smp_fetch_src_port,    SMP_T_SINT, 0, 0, NULL, NULL },
	{ "dst_port",    smp_fetch_dst_port,    SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req.len",     smp_fetch_req_len,     SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req_len",     smp_fetch_req_len,     SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req.payload", smp_fetch_req_payload, SMP_T_BIN,  2, 2, "ii", check_payload_args },
	{ NULL }
};

/* ---- converters ---- */

static int conv_case(struct sample *smp, const struct smp_ctx *ctx, int upper)
{
	char *s;
	size_t i;

	if (smp->u.str.ptr != ctx->scratch &&
	    !set_scratch_str(smp, ctx, SMP_T_STR, smp->u.str.ptr, smp->u.str.len))
		return 0;
	s = ctx->scratch;
	for (i = 0; i < smp->u.str.len; i++) {
		if (upper && s[i] >= 'a' && s[i] <= 'z')
			s[i] -= 'a' - 'A';
		else if (!upper && s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 'a' - 'A';
	}
	return 1;
}

static int conv_lower(const struct sample_arg *args, struct sample *smp,
		      const struct smp_ctx *ctx)
{
	(void)args;
	return conv_case(smp, ctx, 0);
}

static int conv_upper(const struct sample_arg *args, struct sample *smp,
		      const struct smp_ctx *ctx)
{
	(void)args;
	return conv_case(smp, ctx, 1);
}

static void mask_bytes(unsigned char *b, size_t n, int64_t prefix)
{
	size_t i;

	for (i = 0; i < n; i++, prefix -= 8) {
		if (prefix >= 8)
			continue;
		b[i] &= prefix <= 0 ? 0 : (unsigned char)(0xff00 >> prefix);
	}
}

/* Addresses may also come as text (e.g. from a header-like fetch). */
static int conv_ipmask(const struct sample_arg *args, struct sample *smp,
		       const struct smp_ctx *ctx)
{
	if (smp->type == SMP_T_STR && !sample_cast(smp, SMP_T_IPV4, ctx) &&
	    !sample_cast(smp, SMP_T_IPV6, ctx))
		return 0;
	if (smp->type == SMP_T_IPV4) {
		mask_bytes((unsigned char *)&smp->u.ipv4, 4, args[0].sint);
		return 1;
	}
	if (smp->type == SMP_T_IPV6 && args[1].type == ARG_SINT) {
		mask_bytes(smp->u.ipv6.s6_addr, 16, args[1].sint);
		return 1;
	}
	return 0;
}

/* mask4 is a prefix length or a dotted netmask; both become a length. */
static int mask4_to_prefix(const char *s, int64_t *prefix)
{
	unsigned long n;
	struct in_addr a;
	uint32_t inv;
	char *end;

	if (inet_pton(AF_INET, s, &a) == 1) {
		/* contiguous when the host part is all ones: 0...01...1 */
		inv = ~ntohl(a.s_addr);
		if (inv & (inv + 1))
			return -1;
		*prefix = 32 - __builtin_popcount(inv);
		return 0;
	}
	n = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || n > 32)
		return -1;
	*prefix = (int64_t)n;
	return 0;
}

static int check_ipmask_args(struct sample_arg *args, char *err, size_t errsz)
{
	int64_t prefix;

	if (mask4_to_prefix(args[0].str, &prefix) < 0)
		return errbuf_fail(err, errsz, "ipmask: invalid IPv4 mask '%s' (expects 0 to 32 or a netmask like 255.255.255.0)",
				  args[0].str);
	free(args[0].str);
	args[0].str = NULL;
	args[0].type = ARG_SINT;
	args[0].sint = prefix;
	if (args[1].type == ARG_SINT && (args[1].sint < 0 || args[1].sint > 128))
		return errbuf_fail(err, errsz, "ipmask: invalid IPv6 mask %" PRId64 " (expects 0 to 128)",
				  args[1].sint);
	return 0;
}

static const struct sample_conv l4_convs[] = {
	{ "lower",  conv_lower,  SMP_T_STR, SMP_T_STR, 0, 0, NULL, NULL },
	{ "upper",  conv_upper,  SMP_T_STR, SMP_T_STR, 0, 0, NULL, NULL },
	{ "ipmask", conv_ipmask, SMP_T_ANY, SMP_T_ANY, 1, 2, "si", check_ipmask_args },
	{ NULL }
};

static struct sample_fetch_list l4_fetch_list = { .kws = l4_fetches };
static struct sample_conv_list l4_conv_list = { .kws = l4_convs };

__attribute__((constructor)) static void sample_init(void)
{
	sample_register_fetches(&l4_fetch_list);
	sample_register_convs(&l4_conv_list);
}
