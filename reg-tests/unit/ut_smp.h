/* ut_smp.h - unit-test helpers for sample expressions: a sample context
 * with scratch space, an address from its text, one expression parsed,
 * evaluated (its text kept) and freed, an expression that must not
 * parse, and fetches whose values the test sets (t.str, t.any, t.int,
 * t.bool, t.bin, from ut_t). Include after ut.h; every helper is static
 * inline so a test uses only what it needs. */
#ifndef SLUICE_UT_SMP_H
#define SLUICE_UT_SMP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sample.h>

#include "ut.h"

/* A zeroed context whose converters write into scratch (NULL: none). */
static inline void ut_smp_ctx_init(struct smp_ctx *ctx, char *scratch, size_t size)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->scratch = scratch;
	ctx->scratch_size = size;
}

/* ss becomes ip (IPv6 when it holds a ':') and port. A test's address is
 * a constant: one that does not parse is the test's own bug. */
static inline void ut_set_ip(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	int ok;

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		ok = inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		ok = inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	if (ok != 1) {
		fprintf(stderr, "bad test address %s\n", ip);
		exit(2);
	}
}

/* Parses expr and evaluates it in ctx: 1 present, 0 absent, -1 when it
 * does not parse (said on stderr). When text, a present string or binary
 * sample is copied there as a string (cut to size; "" otherwise) before
 * the expression is freed: the sample may point into its arguments (a
 * converter's default value). */
static inline int ut_smp_eval_text(const char *expr, const struct smp_ctx *ctx, struct sample *out,
				   char *text, size_t size)
{
	char err[1024];
	struct sample_expr *e = sample_parse_expr(expr, err, sizeof(err));
	int rc;

	if (text)
		text[0] = '\0';
	if (!e) {
		fprintf(stderr, "parse '%s': %s\n", expr, err);
		return -1;
	}
	rc = sample_eval(e, ctx, out);
	if (rc > 0 && text && (out->type == SMP_T_STR || out->type == SMP_T_BIN))
		snprintf(text, size, "%.*s", (int)out->u.str.len, out->u.str.ptr);
	sample_free_expr(e);
	return rc;
}

/* ut_smp_eval_text() without the copy: out must not point into expr. */
static inline int ut_smp_eval(const char *expr, const struct smp_ctx *ctx, struct sample *out)
{
	return ut_smp_eval_text(expr, ctx, out, NULL, 0);
}

/* expr must not parse, and the message (left in err) must hold needle. */
static inline void ut_smp_parse_fails(const char *expr, const char *needle, char *err, size_t errsize)
{
	struct sample_expr *e;

	err[0] = '\0';
	e = sample_parse_expr(expr, err, errsize);
	UT_CHECK(e == NULL);
	sample_free_expr(e);
	UT_CHECK(strstr(err, needle) != NULL);
	if (e || !strstr(err, needle))
		fprintf(stderr, "  '%s': said '%s', expected '%s'\n", expr, err, needle);
}

/* ---- fetches under the test's control ---- */

/* What the t.* fetches return; the test sets it before each evaluation. */
struct ut_fetch_vals {
	const char *str;	/* t.str and t.any; NULL: absent */
	int64_t sint;		/* t.int */
	int may_change;		/* what t.str, t.any and t.int say of their sample */
	int boolean;		/* t.bool */
	const char *bin;	/* t.bin */
	size_t bin_len;
};

static struct ut_fetch_vals ut_t;

static inline int ut_fetch_str(const struct sample_arg *a, struct sample *out, const struct smp_ctx *c)
{
	(void)a;
	(void)c;
	out->may_change = ut_t.may_change;
	if (!ut_t.str)
		return 0;
	out->type = SMP_T_STR;
	out->u.str.ptr = ut_t.str;
	out->u.str.len = strlen(ut_t.str);
	return 1;
}

static inline int ut_fetch_int(const struct sample_arg *a, struct sample *out, const struct smp_ctx *c)
{
	(void)a;
	(void)c;
	out->may_change = ut_t.may_change;
	out->type = SMP_T_SINT;
	out->u.sint = ut_t.sint;
	return 1;
}

static inline int ut_fetch_bool(const struct sample_arg *a, struct sample *out, const struct smp_ctx *c)
{
	(void)a;
	(void)c;
	out->type = SMP_T_BOOL;
	out->u.sint = ut_t.boolean;
	return 1;
}

static inline int ut_fetch_bin(const struct sample_arg *a, struct sample *out, const struct smp_ctx *c)
{
	(void)a;
	(void)c;
	out->type = SMP_T_BIN;
	out->u.str.ptr = ut_t.bin;
	out->u.str.len = ut_t.bin_len;
	return 1;
}

/* Adds the t.* fetches to the registry; once per test program. t.any is
 * t.str with no declared type, so that an ACL on it needs "-m". */
static inline void ut_register_test_fetches(void)
{
	static const struct sample_fetch fetches[] = {
		{ "t.str", ut_fetch_str, SMP_T_STR, 0, 0, NULL, NULL },
		{ "t.any", ut_fetch_str, SMP_T_ANY, 0, 0, NULL, NULL },
		{ "t.int", ut_fetch_int, SMP_T_SINT, 0, 0, NULL, NULL },
		{ "t.bool", ut_fetch_bool, SMP_T_BOOL, 0, 0, NULL, NULL },
		{ "t.bin", ut_fetch_bin, SMP_T_BIN, 0, 0, NULL, NULL },
		{ NULL }
	};
	static struct sample_fetch_list list = { .kws = fetches };

	sample_register_fetches(&list);
}

#endif
