/* test_sample.c - sample expressions: parsing, layer-4 fetches, converters,
 * casts and hashing bytes. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/addr.h>
#include <sluice/sample.h>
#include "ut.h"
#include "ut_smp.h"

static char err[256];
static char scratch[64];
static struct sockaddr_storage src, dst;
static struct smp_ctx ctx;

static void set_addr(struct sockaddr_storage *ss, const char *s)
{
	struct addr_spec a;

	if (addr_parse(s, 0, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "bad test address %s: %s\n", s, err);
		exit(2);
	}
	*ss = a.ss;
}

static void reset_ctx(void)
{
	ut_smp_ctx_init(&ctx, scratch, sizeof(scratch));
	ctx.src = &src;
	ctx.dst = &dst;
}

/* Parses and evaluates; returns sample_eval()'s answer, -1 on parse error. */
static int eval(const char *expr, struct sample *out)
{
	return ut_smp_eval(expr, &ctx, out);
}

/* Evaluates to a string and compares its text. */
static void eval_str(const char *expr, const char *want)
{
	struct sample s;
	char text[128];

	UT_EQ_INT(eval(expr, &s), 1);
	UT_CHECK(s.type == SMP_T_STR || s.type == SMP_T_BIN);
	snprintf(text, sizeof(text), "%.*s", (int)s.u.str.len, s.u.str.ptr);
	UT_EQ_STR(text, want);
}

static void parse_err(const char *expr, const char *needle)
{
	ut_smp_parse_fails(expr, needle, err, sizeof(err));
}

static void test_parse_errors(void)
{
	parse_err("", "fetch name");
	parse_err("nosuch", "unknown fetch method 'nosuch'");
	parse_err("src,nosuch", "unknown converter 'nosuch'");
	parse_err("src,", "converter name");
	parse_err("src(1)", "takes no argument");
	parse_err("req.payload", "expects 2 arguments, got 0");
	parse_err("req.payload()", "expects 2 arguments, got 0");
	parse_err("req.payload(1)", "expects 2 arguments, got 1");
	parse_err("req.payload(1,2,3)", "at most 2");
	parse_err("req.payload(a,2)", "argument 1 of fetch 'req.payload' must be an integer, got 'a'");
	parse_err("req.payload(0,)", "argument 2");
	parse_err("req.payload(0,99999999999999999999)", "argument 2");
	parse_err("req.payload(-1,2)", "offset");
	parse_err("req.payload(0,-2)", "length");
	parse_err("req.payload(0,2", "missing ')'");
	parse_err("src x", "unexpected ' x'");
	parse_err("src,lower(", "takes no argument");
	parse_err("src,ipmask(24", "missing ')'");
	parse_err("src,ipmask", "expects at least 1 argument");
	parse_err("src,ipmask(33)", "invalid IPv4 mask");
	parse_err("src,ipmask(255.0.255.0)", "invalid IPv4 mask");
	parse_err("src,ipmask(24,129)", "invalid IPv6 mask");
	parse_err("src,ipmask(24,x)", "must be an integer");
	parse_err("src,lower,lower,lower,lower,lower,lower,lower,lower,lower", "too many converters");
}

static void test_fetch_l4(void)
{
	struct sample s;

	reset_ctx();
	set_addr(&src, "192.0.2.7:40000");
	set_addr(&dst, "[2001:db8::1]:443");
	UT_EQ_INT(eval("src", &s), 1);
	UT_EQ_INT(s.type, SMP_T_IPV4);
	UT_EQ_INT(s.u.ipv4.s_addr, inet_addr("192.0.2.7"));
	UT_EQ_INT(s.may_change, 0);
	UT_EQ_INT(eval("src_port", &s), 1);
	UT_EQ_INT(s.type, SMP_T_SINT);
	UT_EQ_INT(s.u.sint, 40000);
	UT_EQ_INT(eval("dst", &s), 1);
	UT_EQ_INT(s.type, SMP_T_IPV6);
	UT_EQ_INT(s.u.ipv6.s6_addr[15], 1);
	UT_EQ_INT(eval("dst_port", &s), 1);
	UT_EQ_INT(s.u.sint, 443);
	eval_str("src,lower", "192.0.2.7");
	eval_str("dst,upper", "2001:DB8::1");
	eval_str("dst_port,lower", "443");
	/* no address: absent */
	ctx.src = NULL;
	UT_EQ_INT(eval("src", &s), 0);
	UT_EQ_INT(eval("src_port", &s), 0);
	set_addr(&src, "ipv4@1.1.1.1:1");
	ctx.src = &src;
}

static void test_fetch_payload(void)
{
	struct sample s;

	reset_ctx();
	ctx.req = "\x16\x03\x01hello";
	ctx.req_len = 8;
	UT_EQ_INT(eval("req.len", &s), 1);
	UT_EQ_INT(s.type, SMP_T_SINT);
	UT_EQ_INT(s.u.sint, 8);
	UT_EQ_INT(s.may_change, 1);
	UT_EQ_INT(eval("req_len", &s), 1);
	UT_EQ_INT(s.u.sint, 8);
	UT_EQ_INT(eval("req.payload(0,1)", &s), 1);
	UT_EQ_INT(s.type, SMP_T_BIN);
	UT_EQ_INT(s.u.str.len, 1);
	UT_EQ_INT(s.u.str.ptr[0], 0x16);
	UT_EQ_INT(s.may_change, 0);
	eval_str("req.payload(3,5)", "hello");
	eval_str("req.payload(3,5),upper", "HELLO");
	/* not enough data yet: absent, but may change */
	UT_EQ_INT(eval("req.payload(3,6)", &s), 0);
	UT_EQ_INT(s.may_change, 1);
	UT_EQ_INT(eval("req.payload(9,0)", &s), 0);
	UT_EQ_INT(s.may_change, 1);
	/* length 0: to the end of what we have */
	eval_str("req.payload(4,0)", "ello");
	UT_EQ_INT(eval("req.payload(4,0)", &s), 1);
	UT_EQ_INT(s.may_change, 1);
	ctx.req = NULL;
	ctx.req_len = 0;
	UT_EQ_INT(eval("req.payload(0,1)", &s), 0);
	UT_EQ_INT(eval("req.len", &s), 1);
	UT_EQ_INT(s.u.sint, 0);
}

static void test_ipmask(void)
{
	struct sample s;

	reset_ctx();
	set_addr(&src, "192.0.2.77:1");
	set_addr(&dst, "[2001:db8:aaaa:bbbb::1]:1");
	eval_str("src,ipmask(24),lower", "192.0.2.0");
	eval_str("src,ipmask(255.255.0.0),lower", "192.0.0.0");
	eval_str("src,ipmask(0),lower", "0.0.0.0");
	eval_str("src,ipmask(32),lower", "192.0.2.77");
	eval_str("src,ipmask(27),lower", "192.0.2.64");
	eval_str("dst,ipmask(24,32),lower", "2001:db8::");
	eval_str("dst,ipmask(24,36),lower", "2001:db8:a000::");
	/* IPv6 without mask6: dropped, as in HAProxy */
	UT_EQ_INT(eval("dst,ipmask(24)", &s), 0);
	UT_EQ_INT(eval("src,ipmask(8)", &s), 1);
	UT_EQ_INT(s.type, SMP_T_IPV4);
}

static void test_scratch_limits(void)
{
	struct sample s;

	reset_ctx();
	set_addr(&dst, "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:1");
	ctx.scratch_size = 8;
	UT_EQ_INT(eval("dst,lower", &s), 0);
	ctx.scratch = NULL;
	UT_EQ_INT(eval("dst_port,lower", &s), 0);
}

static void test_casts(void)
{
	struct sample s;

	reset_ctx();
	s.type = SMP_T_STR;
	s.u.str.ptr = "-42";
	s.u.str.len = 3;
	UT_EQ_INT(sample_cast(&s, SMP_T_SINT, &ctx), 1);
	UT_EQ_INT(s.u.sint, -42);
	UT_EQ_INT(sample_cast(&s, SMP_T_BOOL, &ctx), 1);
	UT_EQ_INT(s.u.sint, 1);
	s.type = SMP_T_STR;
	s.u.str.ptr = "4x";
	s.u.str.len = 2;
	UT_EQ_INT(sample_cast(&s, SMP_T_SINT, &ctx), 0);
	s.type = SMP_T_STR;
	s.u.str.ptr = "10.0.0.1";
	s.u.str.len = 8;
	UT_EQ_INT(sample_cast(&s, SMP_T_IPV4, &ctx), 1);
	UT_EQ_INT(s.u.ipv4.s_addr, inet_addr("10.0.0.1"));
	UT_EQ_INT(sample_cast(&s, SMP_T_IPV6, &ctx), 1);
	UT_EQ_INT(s.u.ipv6.s6_addr[10], 0xff);
	UT_EQ_INT(sample_cast(&s, SMP_T_IPV4, &ctx), 1);
	UT_EQ_INT(s.u.ipv4.s_addr, inet_addr("10.0.0.1"));
	inet_pton(AF_INET6, "2001:db8::1", &s.u.ipv6);
	s.type = SMP_T_IPV6;
	UT_EQ_INT(sample_cast(&s, SMP_T_IPV4, &ctx), 0);
	s.type = SMP_T_BIN;
	UT_EQ_INT(sample_cast(&s, SMP_T_SINT, &ctx), 0);
	s.type = SMP_T_SINT;
	s.u.sint = 258;
	UT_EQ_INT(sample_cast(&s, SMP_T_BIN, &ctx), 1);
	UT_EQ_INT(s.u.str.len, 8);
	UT_EQ_INT((unsigned char)s.u.str.ptr[6], 1);
	UT_EQ_INT((unsigned char)s.u.str.ptr[7], 2);
}

static void test_to_bytes(void)
{
	struct sample s;
	const void *p;
	size_t len;
	char tmp[16];

	reset_ctx();
	set_addr(&src, "10.1.2.3:5");
	UT_EQ_INT(eval("src", &s), 1);
	UT_EQ_INT(sample_to_bytes(&s, &p, &len, tmp), 0);
	UT_EQ_INT(len, 4);
	UT_CHECK(!memcmp(p, "\x0a\x01\x02\x03", 4));
	set_addr(&src, "[::2]:5");
	UT_EQ_INT(eval("src", &s), 1);
	UT_EQ_INT(sample_to_bytes(&s, &p, &len, tmp), 0);
	UT_EQ_INT(len, 16);
	UT_EQ_INT(((const unsigned char *)p)[15], 2);
	UT_EQ_INT(eval("src_port", &s), 1);
	UT_EQ_INT(sample_to_bytes(&s, &p, &len, tmp), 0);
	UT_EQ_INT(len, 8);
	UT_EQ_INT(((const unsigned char *)p)[7], 5);
	ctx.req = "abcdef";
	ctx.req_len = 6;
	UT_EQ_INT(eval("req.payload(1,3)", &s), 1);
	UT_EQ_INT(sample_to_bytes(&s, &p, &len, tmp), 0);
	UT_EQ_INT(len, 3);
	UT_CHECK(p == ctx.req + 1);
	s.type = SMP_T_ANY;
	UT_EQ_INT(sample_to_bytes(&s, &p, &len, tmp), -1);
}

/* Another subsystem's fetches join the same registry. */
static int fetch_const(const struct sample_arg *args, struct sample *out,
		       const struct smp_ctx *c)
{
	(void)c;
	out->type = SMP_T_STR;
	out->u.str.ptr = args[0].type == ARG_STR ? args[0].str : "none";
	out->u.str.len = strlen(out->u.str.ptr);
	return 1;
}

static int conv_neg(const struct sample_arg *args, struct sample *smp,
		    const struct smp_ctx *c)
{
	(void)args;
	(void)c;
	smp->u.sint = -smp->u.sint;
	return 1;
}

static const struct sample_fetch test_fetches[] = {
	{ "ut.const", fetch_const, SMP_T_STR, 0, 1, "s", NULL },
	{ NULL }
};
static const struct sample_conv test_convs[] = {
	{ "ut.neg", conv_neg, SMP_T_SINT, SMP_T_SINT, 0, 0, NULL, NULL },
	{ NULL }
};
static struct sample_fetch_list test_list = { .kws = test_fetches };
static struct sample_conv_list test_conv_list = { .kws = test_convs };

static void test_registry(void)
{
	struct sample s;

	reset_ctx();
	UT_CHECK(sample_find_fetch("ut.const", 8) == NULL);
	sample_register_fetches(&test_list);
	UT_CHECK(sample_find_fetch("ut.const", 8) == &test_fetches[0]);
	UT_CHECK(sample_find_fetch("ut.constant", 8) == &test_fetches[0]);
	UT_CHECK(sample_find_fetch("ut.con", 6) == NULL);
	UT_CHECK(sample_find_conv("lower", 5) != NULL);
	UT_CHECK(sample_find_conv("lowerx", 6) == NULL);
	eval_str("ut.const", "none");
	eval_str("ut.const(AbC),lower", "abc");
	eval_str("ut.const(\"a,b)\"),upper", "A,B)");
	/* (the expression is freed before the check: copy through lower) */
	eval_str("ut.const(X\\,Y),lower", "x,y");
	eval_str("ut.const()", "none");
	/* converter input types are checked at parse time, cast at run time */
	sample_register_convs(&test_conv_list);
	parse_err("req.payload(0,1),ut.neg", "converter 'ut.neg' takes integer input, it cannot use binary");
	eval_str("ut.const(-12),ut.neg,lower", "12");
	UT_EQ_INT(eval("ut.const(x),ut.neg", &s), 0);
}

int main(void)
{
	test_parse_errors();
	test_fetch_l4();
	test_fetch_payload();
	test_ipmask();
	test_scratch_limits();
	test_casts();
	test_to_bytes();
	test_registry();
	UT_DONE();
}
