/* test_acl.c - ACLs and conditions: every match method with good and bad
 * patterns, -i, -f files, integer ranges and operators, "X.Y" versions,
 * IPv4/IPv6 networks (mapped addresses too), the three-valued logic of
 * conditions (MISS), named ACLs over several lines, inline and predefined
 * ACLs, errors with FILE:LINE through the config loader, and the fetches
 * over proxy and server state (fetch_l4.c).
 *
 * The test registers the t.* fetches of ut_smp.h (t.str, t.int, ...),
 * whose values it sets before each evaluation, so each method can be fed
 * what it needs.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/acl.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/pattern.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>
#include <sluice/server.h>

#include "ut.h"
#include "ut_cfg.h"
#include "ut_smp.h"

static char messages[16384];

/* ---- the proxy conditions are parsed in, and what they see ---- */

static struct config conf;
static int conf_loaded;
static struct proxy *fe;
static struct sockaddr_storage src, dst;
static struct smp_ctx sctx;
static char req[512];

static void set_src(const char *ip)
{
	ut_set_ip(&src, ip, 0);
}

static void set_req(const void *data, size_t len)
{
	memcpy(req, data, len);
	sctx.req = req;
	sctx.req_len = len;
}

/* Loads text as the configuration; fe is its proxy "fe". */
static int load(const char *text)
{
	int errors;

	if (conf_loaded)
		config_free(&conf);
	errors = ut_load_config(&conf, text, 1, messages, sizeof(messages));
	conf_loaded = 1;
	if (errors)
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	fe = config_find_proxy(&conf, "fe", PX_CAP_FE);
	memset(&sctx, 0, sizeof(sctx));
	sctx.src = &src;
	sctx.dst = &dst;
	sctx.fe = sctx.be = fe;
	sctx.conf = &conf;
	return errors;
}

static const char base_cfg[] =
	"frontend fe\n"
	"  bind 127.0.0.1:18471\n"
	"  default_backend be\n"
	"backend be\n"
	"  server s1 127.0.0.1:1\n";

/* Parses "if ..." in fe and evaluates it: the acl_result, or -1 when the
 * condition does not parse (what was said is left in messages). */
static int cond(const char *text, int final)
{
	char out[2048], errpath[] = "/tmp/sluice_ut_acl_XXXXXX", *args[CFG_MAX_ARGS + 1];
	struct cfg_ctx c = { .file = "t.cfg", .line = 7, .section = CFG_FRONTEND,
			     .conf = &conf, .px = fe };
	const char *terr;
	struct acl_cond *ac;
	int n, fd, saved, r;

	n = cfg_tokenize(text, out, sizeof(out), args, CFG_MAX_ARGS, &terr);
	if (n <= 0)
		return -2;
	fd = ut_stderr_begin(errpath, &saved);
	ac = acl_cond_parse(&c, n, args);
	ut_stderr_end(fd, saved, messages, sizeof(messages), errpath);
	if (!ac)
		return -1;
	r = acl_cond_eval(ac, &sctx, final);
	acl_cond_free(ac);
	return r;
}

#define T ACL_TRUE
#define F ACL_FALSE
#define M ACL_MISS

static void expect(const char *text, int final, int want)
{
	int got = cond(text, final);

	UT_EQ_INT(got, want);
	if (got != want)
		fprintf(stderr, "  condition '%s' (final %d): got %d, want %d%s%s\n",
			text, final, got, want, got == -1 ? ": " : "", got == -1 ? messages : "");
}

/* The condition must not parse, and say needle. */
static void expect_parse_error(const char *text, const char *needle)
{
	int got = cond(text, 1);

	UT_EQ_INT(got, -1);
	UT_CHECK(strstr(messages, needle) != NULL);
	if (got != -1 || !strstr(messages, needle))
		fprintf(stderr, "  condition '%s': got %d, said '%s', expected '%s'\n",
			text, got, messages, needle);
}

static void str_is(const char *s)
{
	ut_t.str = s;
}

/* ---- match methods ---- */

static void test_str(void)
{
	char text[4096];
	int i, n = 0;

	str_is("foo");
	expect("if { t.str foo }", 1, T);
	expect("if { t.str bar foo }", 1, T);
	expect("if { t.str FOO }", 1, F);
	expect("if { t.str -i FOO }", 1, T);
	expect("if { t.str fo }", 1, F);
	expect("if { t.str foox }", 1, F);
	expect("if { t.str -m str foo }", 1, T);
	str_is("");
	expect("if { t.str foo }", 1, F);
	expect("if { t.str -m len 0 }", 1, T);
	/* many patterns on a line */
	n = snprintf(text, sizeof(text), "if { t.str");
	for (i = 0; i < 50; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, " k%d", i);
	snprintf(text + n, sizeof(text) - (size_t)n, " }");
	str_is("k0");
	expect(text, 1, T);
	str_is("k49");
	expect(text, 1, T);
	str_is("k50");
	expect(text, 1, F);
	/* "-i" applies to the patterns after it only */
	str_is("ABC");
	expect("if { t.str -i abc }", 1, T);
	expect("if { t.str abc -i }", 1, F);	/* "-i" is a second pattern here */
	str_is("-i");
	expect("if { t.str abc -i }", 1, T);
	expect("if { t.str -- -i }", 1, T);
	/* a non-string sample is compared in its text form */
	ut_t.sint = 42;
	expect("if { t.int -m str 42 }", 1, T);
	expect("if { t.int -m beg 4 }", 1, T);
}

static void test_beg_end_sub(void)
{
	str_is("www.Example.com");
	expect("if { t.str -m beg www. }", 1, T);
	expect("if { t.str -m beg img. www. }", 1, T);
	expect("if { t.str -m beg WWW. }", 1, F);
	expect("if { t.str -i -m beg WWW. }", 1, T);
	expect("if { t.str -m beg www.Example.com.x }", 1, F);
	expect("if { t.str -m end .com }", 1, T);
	expect("if { t.str -m end Example.com }", 1, T);
	expect("if { t.str -m end example.com }", 1, F);
	expect("if { t.str -m end -i example.COM }", 1, T);
	expect("if { t.str -m sub Exam }", 1, T);
	expect("if { t.str -m sub exam }", 1, F);
	expect("if { t.str -m sub -i EXAM }", 1, T);
	expect("if { t.str -m sub zzz com. }", 1, F);
	expect("if { t.str -m sub .com }", 1, T);
}

static void test_dom_dir(void)
{
	str_is("api.example.com");
	expect("if { t.str -m dom example.com }", 1, T);
	expect("if { t.str -m dom api.example.com }", 1, T);
	expect("if { t.str -m dom example }", 1, T);
	expect("if { t.str -m dom com }", 1, T);
	expect("if { t.str -m dom ample.com }", 1, F);
	expect("if { t.str -m dom example.co }", 1, F);
	expect("if { t.str -m dom .example.com }", 1, T);	/* delimiters around a pattern add nothing */
	expect("if { t.str -m dom EXAMPLE.com }", 1, F);
	expect("if { t.str -m dom -i EXAMPLE.com }", 1, T);
	str_is("example.com:443");
	expect("if { t.str -m dom example.com }", 1, T);
	str_is("http://a.b/c?d");
	expect("if { t.str -m dom b }", 1, T);
	expect("if { t.str -m dom c }", 1, T);
	expect("if { t.str -m dom http }", 1, T);
	str_is("/static/img/x.png");
	expect("if { t.str -m dir img }", 1, T);
	expect("if { t.str -m dir static/img }", 1, T);
	expect("if { t.str -m dir im }", 1, F);
	expect("if { t.str -m dir x }", 1, F);	/* '.' does not delimit a dir */
	expect("if { t.str -m dir x.png }", 1, T);
	expect_parse_error("if { t.str -m dom . }", "no word between its delimiters");
}

static void test_reg(void)
{
	str_is("GET /index.html");
	expect("if { t.str -m reg ^GET\\ / }", 1, T);
	expect("if { t.str -m reg ^get }", 1, F);
	expect("if { t.str -m reg -i ^get }", 1, T);
	expect("if { t.str -m reg index\\.(html|htm)$ }", 1, T);
	expect("if { t.str -m reg [0-9]+ }", 1, F);
	expect("if { t.str -m reg x y \\.html }", 1, T);
	/* POSIX, not PCRE: \\d is no digit class here */
	str_is("a1");
	expect("if { t.str -m reg [[:digit:]] }", 1, T);
	expect_parse_error("if { t.str -m reg (abc }", "invalid regex '(abc'");
	expect_parse_error("if { t.str -m reg a[ }", "POSIX extended");
	/* binary input with a NUL is searched whole */
	ut_t.bin = "ab\0cd";
	ut_t.bin_len = 5;
	expect("if { t.bin -m reg cd$ }", 1, T);
}

static void test_len(void)
{
	str_is("hello");
	expect("if { t.str -m len 5 }", 1, T);
	expect("if { t.str -m len 4 }", 1, F);
	expect("if { t.str -m len 1:5 }", 1, T);
	expect("if { t.str -m len 6: }", 1, F);
	expect("if { t.str -m len gt 4 }", 1, T);
	expect("if { t.str -m len lt 5 }", 1, F);
	ut_t.bin_len = 3;
	expect("if { t.bin -m len eq 3 }", 1, T);
	expect_parse_error("if { t.str -m len five }", "'five' is not valid");
}

static void test_int(void)
{
	ut_t.sint = 15;
	expect("if { t.int 15 }", 1, T);
	expect("if { t.int 1 2 15 }", 1, T);
	expect("if { t.int 16 }", 1, F);
	expect("if { t.int 10:20 }", 1, T);
	expect("if { t.int 16:20 }", 1, F);
	expect("if { t.int 15: }", 1, T);
	expect("if { t.int :14 }", 1, F);
	expect("if { t.int :15 }", 1, T);
	expect("if { t.int gt 14 }", 1, T);
	expect("if { t.int gt 15 }", 1, F);
	expect("if { t.int ge 15 }", 1, T);
	expect("if { t.int lt 15 }", 1, F);
	expect("if { t.int lt 16 }", 1, T);
	expect("if { t.int le 15 }", 1, T);
	expect("if { t.int le 14 }", 1, F);
	expect("if { t.int eq 15 }", 1, T);
	expect("if { t.int eq 1 15 }", 1, T);
	expect("if { t.int gt 100 10 }", 1, T);	/* any value may match */
	ut_t.sint = -3;
	expect("if { t.int lt 0 }", 1, T);
	expect("if { t.int -- -3 }", 1, T);
	expect("if { t.int -- -5:-1 }", 1, T);
	expect("if { t.int -m bool }", 1, T);
	ut_t.sint = 0;
	expect("if { t.int -m bool }", 1, F);
	/* a boolean as an integer, a string as an integer */
	ut_t.boolean = 1;
	expect("if { t.bool -m int 1 }", 1, T);
	str_is("80");
	expect("if { t.str -m int 1:1023 }", 1, T);
	str_is("eighty");
	expect("if { t.str -m int 1:1023 }", 1, F);

	expect_parse_error("if { t.int abc }", "'abc' is not valid: expects an integer");
	expect_parse_error("if { t.int 1.5 }", "'1.5' is not valid");
	expect_parse_error("if { t.int 20:10 }", "is empty");
	expect_parse_error("if { t.int : }", "':' is not valid");
	expect_parse_error("if { t.int gt }", "operator 'gt' expects a value");
	expect_parse_error("if { t.int gt 1:5 }", "cannot follow an operator");
	expect_parse_error("if { t.int -5 }", "'-5' is not a valid flag");
	expect_parse_error("if { t.int gt 9223372036854775807 }", "can never match");
}

/* A TLS 1.2 ClientHello without extensions. */
static size_t tls12_hello(unsigned char *b)
{
	static const unsigned char head[] = {
		0x16, 0x03, 0x01, 0x00, 45,		/* record: handshake, 45 bytes */
		0x01, 0x00, 0x00, 41,			/* ClientHello, 41 bytes */
		0x03, 0x03,				/* TLS 1.2 */
	};
	static const unsigned char tail[] = {
		0x00,					/* no session id */
		0x00, 0x02, 0x00, 0x2f,			/* one cipher suite */
		0x01, 0x00,				/* null compression */
	};
	size_t n = 0;

	memcpy(b, head, sizeof(head));
	n += sizeof(head);
	memset(b + n, 0x42, 32);
	n += 32;
	memcpy(b + n, tail, sizeof(tail));
	return n + sizeof(tail);
}

static void test_ssl_ver(void)
{
	unsigned char hello[64];
	size_t n = tls12_hello(hello);

	set_req(hello, n);
	expect("if { req.ssl_ver 3.3 }", 1, T);
	expect("if { req_ssl_ver 3.3 }", 1, T);
	expect("if { req.ssl_ver 3.1 }", 1, F);
	expect("if { req.ssl_ver 3:3.1 }", 1, F);	/* the manual's "sslv3" example */
	expect("if { req.ssl_ver 3.1:3.3 }", 1, T);
	expect("if { req.ssl_ver ge 3.1 }", 1, T);
	expect("if { req.ssl_ver lt 3.3 }", 1, F);
	expect("if { req.ssl_ver -m int 196611 }", 1, T);	/* 3 * 65536 + 3 */
	expect_parse_error("if { req.ssl_ver 3.x }", "expects a version like 3.1");
	expect_parse_error("if { req.ssl_ver 3.70000 }", "'3.70000' is not valid");
	/* half a hello: not yet */
	set_req(hello, 20);
	expect("if { req.ssl_ver 3.3 }", 0, M);
	expect("if { req.ssl_ver 3.3 }", 1, F);
	set_req("", 0);
}

static void test_ip(void)
{
	set_src("10.1.2.3");
	expect("if { src 10.1.2.3 }", 1, T);
	expect("if { src 10.1.2.4 }", 1, F);
	expect("if { src 10.0.0.0/8 }", 1, T);
	expect("if { src 10.1.2.3/8 }", 1, T);		/* host bits are ignored */
	expect("if { src 10.0.0.0/255.0.0.0 }", 1, T);
	expect("if { src 11.0.0.0/8 192.168.0.0/16 }", 1, F);
	expect("if { src 0.0.0.0/0 }", 1, T);
	expect("if { src 10.1.2.2/31 }", 1, T);
	expect("if { src 10.1.2.0/31 }", 1, F);
	/* HAProxy's short forms: the last part fills the bytes left */
	set_src("127.0.0.1");
	expect("if { src 127.1 }", 1, T);
	set_src("10.0.0.12");
	expect("if { src 10.12 }", 1, T);
	set_src("192.168.0.1");
	expect("if { src 192.168.1 }", 1, T);
	/* IPv6 */
	set_src("2001:db8::1");
	expect("if { src 2001:db8::1 }", 1, T);
	expect("if { src 2001:db8::/32 }", 1, T);
	expect("if { src 2001:db9::/32 }", 1, F);
	expect("if { src ::/0 }", 1, T);
	expect("if { src 0.0.0.0/0 }", 1, F);	/* not an address carrying IPv4 */
	/* an IPv4 pattern matches the IPv4 an IPv6 address carries */
	set_src("::ffff:10.1.2.3");
	expect("if { src 10.0.0.0/8 }", 1, T);
	expect("if { src 11.0.0.0/8 }", 1, F);
	set_src("::10.1.2.3");
	expect("if { src 10.1.2.3 }", 1, T);
	set_src("2002:a01:203::1");
	expect("if { src 10.1.2.3 }", 1, T);
	/* an IPv6 pattern sees an IPv4 address as ::ffff:a.b.c.d */
	set_src("10.1.2.3");
	expect("if { src ::ffff:10.1.2.3 }", 1, T);
	expect("if { src ::ffff:0:0/96 }", 1, T);
	expect("if { src 2001:db8::/32 }", 1, F);
	/* mixed lists */
	expect("if { src 2001:db8::/32 10.1.0.0/16 }", 1, T);
	/* addresses as text (-m ip on a string) */
	str_is("192.168.1.9");
	expect("if { t.str -m ip 192.168.0.0/16 }", 1, T);
	str_is("fe80::1");
	expect("if { t.str -m ip fe80::/10 }", 1, T);
	str_is("not an address");
	expect("if { t.str -m ip 0.0.0.0/0 }", 1, F);
	/* bad patterns */
	expect_parse_error("if { src 10 }", "'10' is not an IPv4 or IPv6 address");
	expect_parse_error("if { src 1.2.3.256 }", "'1.2.3.256' is not");
	expect_parse_error("if { src 1.2.3.4/33 }", "'1.2.3.4/33' is not");
	expect_parse_error("if { src 1.2.3.4/255.0.255.0 }", "is not");
	expect_parse_error("if { src ::1/129 }", "'::1/129' is not");
	expect_parse_error("if { src localhost }", "host names are not resolved");
	expect_parse_error("if { src 1.2.3.4/ }", "is not");
	expect_parse_error("if { src 0x7f.1 }", "is not");
	expect_parse_error("if { src -m int 1 }", "'-m int' cannot match the address sample");
}

static void test_found_bool_bin(void)
{
	str_is("x");
	expect("if { t.str -m found }", 1, T);
	str_is(NULL);
	expect("if { t.str -m found }", 1, F);
	expect("if { t.str foo }", 1, F);
	expect_parse_error("if { t.str -m found x }", "'-m found' takes no pattern, got 'x'");
	expect_parse_error("if { t.bool yes }", "'-m bool' takes no pattern");
	ut_t.boolean = 1;
	expect("if { t.bool }", 1, T);
	ut_t.boolean = 0;
	expect("if { t.bool }", 1, F);
	expect("if ! { t.bool }", 1, T);
	expect_parse_error("if { t.str -m bool }", "'-m bool' cannot match the string sample");
	/* hex blocks */
	ut_t.bin = "Hello\n";
	ut_t.bin_len = 6;
	expect("if { t.bin 48656c6c6f0a }", 1, T);
	expect("if { t.bin 48656C6C6F0A }", 1, T);
	expect("if { t.bin 48656c6c6f }", 1, F);	/* exact, not a prefix */
	expect("if { t.bin -m beg 48656c }", 1, F);	/* beg compares text */
	expect("if { t.bin -m beg Hel }", 1, T);
	str_is("Hi");
	expect("if { t.str -m bin 4869 }", 1, T);
	expect_parse_error("if { t.bin 486 }", "even number of hex digits");
	expect_parse_error("if { t.bin 48zz }", "'z' is not a hex digit");
	expect_parse_error("if { t.int -m bin 00 }", "'-m bin' cannot match the integer sample");
	/* a fetch without a type needs -m */
	expect_parse_error("if { t.any foo }", "has no default match method");
	str_is("foo");
	expect("if { t.any -m str foo }", 1, T);
	expect_parse_error("if { t.str -m nosuch x }", "unknown match method 'nosuch'");
	expect_parse_error("if { t.str -m }", "'-m' expects a match method");
	expect_parse_error("if { t.str -m str -m beg x }", "'-m' given twice");
	expect_parse_error("if { t.str -M x }", "flag '-M' is not supported");
	expect_parse_error("if { t.str -u 1 x }", "flag '-u' is not supported");
	expect_parse_error("if { t.str -x foo }", "'-x' is not a valid flag");
	expect("if { t.str -n foo }", 1, T);
	expect("if { t.str,upper FOO }", 1, T);
	expect_parse_error("if { nosuchfetch foo }", "unknown fetch method 'nosuchfetch'");
}

/* ---- pattern files ---- */

static char *write_tmp(const char *text)
{
	static char paths[8][64];
	static int next;
	char *p = paths[next++ % 8];

	strcpy(p, "/tmp/sluice_ut_pat_XXXXXX");
	return ut_write_tmp(p, text);
}

/* Thousands of exact strings and networks: the hash tables grow and keep
 * finding every key. */
static void test_big_file(void)
{
	static char text[200000];
	char line[128], *strs, *nets;
	size_t n = 0;
	int i;

	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "Key%d\n", i);
	strs = write_tmp(text);
	for (n = 0, i = 0; i < 4000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "10.%d.%d.0/24\n", i / 200, i % 200);
	nets = write_tmp(text);
	snprintf(line, sizeof(line), "if { t.str -i -f %s }", strs);
	str_is("key0");
	expect(line, 1, T);
	str_is("KEY4999");
	expect(line, 1, T);
	str_is("key5000");
	expect(line, 1, F);
	snprintf(line, sizeof(line), "if { src -f %s }", nets);
	set_src("10.19.199.7");
	expect(line, 1, T);
	set_src("10.20.0.1");
	expect(line, 1, F);
	set_src("10.0.200.1");
	expect(line, 1, F);
	unlink(strs);
	unlink(nets);
}

static void test_file_errors(const char *names, const char *bad, const char *empty)
{
	char line[512];

	/* -m after -f, a bad line, a missing file, an empty file */
	snprintf(line, sizeof(line), "if { t.str -f %s -m beg }", names);
	expect_parse_error(line, "'-m' must come before '-f'");
	snprintf(line, sizeof(line), "if { src -f %s }", bad);
	expect_parse_error(line, ":3: '1.2.3.999' is not an IPv4 or IPv6 address");
	UT_CHECK(strstr(messages, bad) != NULL);
	UT_CHECK(strstr(messages, "t.cfg:7: inline ACL '{ src ... }'") != NULL);
	expect_parse_error("if { src -f /nonexistent/list.txt }", "cannot open '/nonexistent/list.txt'");
	expect_parse_error("if { src -f }", "'-f' expects a file name");
	snprintf(line, sizeof(line), "if { src -f %s }", empty);
	expect(line, 1, F);
	snprintf(line, sizeof(line), "if { t.str -m found -f %s }", names);
	expect_parse_error(line, "takes no pattern, so no '-f' file");
}

static void test_files(void)
{
	char line[512];
	char *ips = write_tmp("# allowed networks\n"
			      "\n"
			      "  10.0.0.0/8  \n"
			      "\t192.168.1.1\r\n"
			      "2001:db8::/32\n");
	char *names = write_tmp("foo\n #hash\n  bar baz  \n# comment\n");
	char *upper = write_tmp("ABC\n");
	char *bad = write_tmp("10.0.0.1\n# fine\n1.2.3.999\n");
	char *empty = write_tmp("# nothing here\n\n");

	snprintf(line, sizeof(line), "if { src -f %s }", ips);
	set_src("10.9.9.9");
	expect(line, 1, T);
	set_src("192.168.1.1");
	expect(line, 1, T);
	set_src("192.168.1.2");
	expect(line, 1, F);
	set_src("2001:db8::5");
	expect(line, 1, T);
	snprintf(line, sizeof(line), "if { src -f %s 172.16.0.0/12 }", ips);
	set_src("172.16.1.1");
	expect(line, 1, T);

	/* lines are trimmed; a '#' past the first column is a pattern */
	snprintf(line, sizeof(line), "if { t.str -f %s }", names);
	str_is("bar baz");
	expect(line, 1, T);
	str_is("#hash");
	expect(line, 1, T);
	str_is("# comment");
	expect(line, 1, F);
	str_is("foo");
	expect(line, 1, T);

	/* -i applies to the files after it; several -f add up */
	str_is("abc");
	snprintf(line, sizeof(line), "if { t.str -f %s }", upper);
	expect(line, 1, F);
	snprintf(line, sizeof(line), "if { t.str -i -f %s }", upper);
	expect(line, 1, T);
	snprintf(line, sizeof(line), "if { t.str -f %s -i -f %s }", names, upper);
	expect(line, 1, T);
	snprintf(line, sizeof(line), "if { t.str -f %s -f %s }", names, upper);
	expect(line, 1, F);

	test_file_errors(names, bad, empty);
	test_big_file();
	unlink(ips);
	unlink(names);
	unlink(upper);
	unlink(bad);
	unlink(empty);
}

/* ---- the pattern store on its own ---- */

static void test_pattern_api(void)
{
	struct pat_set *ps = pat_set_new(PAT_M_INT);
	struct sample s = { .type = SMP_T_SINT };
	char err[256];

	UT_EQ_INT(pat_method_parse("dom"), PAT_M_DOM);
	UT_EQ_INT(pat_method_parse("dec"), -1);
	UT_EQ_STR(pat_method_name(PAT_M_REG), "reg");
	UT_EQ_INT(pat_op_parse("ge"), PAT_OP_GE);
	UT_EQ_INT(pat_op_parse("gte"), PAT_OP_NONE);
	UT_EQ_INT(pat_add(ps, "3.1", PAT_F_DOTTED, PAT_OP_NONE, NULL, err, sizeof(err)), 0);
	UT_EQ_INT(pat_add(ps, "4", PAT_F_DOTTED, PAT_OP_GE, NULL, err, sizeof(err)), 0);
	UT_EQ_INT(pat_set_count(ps), 2);
	s.u.sint = 3 * 65536 + 1;
	UT_CHECK(pat_lookup(ps, &s) != NULL);
	s.u.sint = 3 * 65536 + 2;
	UT_CHECK(pat_lookup(ps, &s) == NULL);
	s.u.sint = 4 * 65536;
	UT_CHECK(pat_lookup(ps, &s) != NULL);
	UT_EQ_INT(pat_add(ps, "-1.2", PAT_F_DOTTED, PAT_OP_NONE, NULL, err, sizeof(err)), -1);
	pat_set_free(ps);

	/* duplicate keys: the first value wins; values of ACL entries are "" */
	ps = pat_set_new(PAT_M_STR);
	UT_EQ_INT(pat_add(ps, "k", 0, PAT_OP_NONE, "first", err, sizeof(err)), 0);
	UT_EQ_INT(pat_add(ps, "k", 0, PAT_OP_NONE, "second", err, sizeof(err)), 0);
	UT_EQ_INT(pat_add(ps, "acl", 0, PAT_OP_NONE, NULL, err, sizeof(err)), 0);
	s.type = SMP_T_STR;
	s.u.str.ptr = "k";
	s.u.str.len = 1;
	UT_EQ_STR(pat_entry_value(pat_lookup(ps, &s), NULL), "first");
	s.u.str.ptr = "acl";
	s.u.str.len = 3;
	UT_EQ_STR(pat_entry_value(pat_lookup(ps, &s), NULL), "");
	pat_set_free(ps);
	pat_set_free(NULL);
}

/* ---- conditions ---- */

static void test_logic(void)
{
	/* TRUE, FALSE and WAIT_END (MISS until the end) as the truth table */
	expect("if TRUE", 0, T);
	expect("if FALSE", 0, F);
	expect("if WAIT_END", 0, M);
	expect("if WAIT_END", 1, T);
	expect("if TRUE WAIT_END", 0, M);
	expect("if WAIT_END TRUE", 0, M);
	expect("if FALSE WAIT_END", 0, F);
	expect("if WAIT_END FALSE", 0, F);
	expect("if TRUE || WAIT_END", 0, T);
	expect("if WAIT_END || TRUE", 0, T);
	expect("if FALSE || WAIT_END", 0, M);
	expect("if WAIT_END or FALSE", 0, M);
	expect("if FALSE || FALSE", 0, F);
	expect("if FALSE TRUE || TRUE", 0, T);
	expect("if TRUE FALSE || FALSE TRUE", 0, F);
	expect("if TRUE TRUE TRUE", 0, T);
	expect("if !WAIT_END", 0, M);
	expect("if !WAIT_END", 1, F);
	expect("if !TRUE", 0, F);
	expect("if ! TRUE", 0, F);
	expect("if !FALSE", 0, T);
	expect("if !!TRUE", 0, T);
	expect("if ! ! FALSE", 0, F);
	expect("unless TRUE", 0, F);
	expect("unless FALSE", 0, T);
	expect("unless WAIT_END", 0, M);
	expect("unless WAIT_END", 1, F);
	expect("unless FALSE || TRUE", 0, F);
	expect("if !FALSE !FALSE", 0, T);

	/* a fetch that may still change: absent or not matching yet is MISS */
	str_is(NULL);
	ut_t.may_change = 1;
	expect("if { t.str foo }", 0, M);
	expect("if { t.str foo }", 1, F);
	expect("if !{ t.str foo }", 0, M);
	expect("if ! { t.str foo }", 0, M);
	expect("if ! { t.str foo }", 1, T);
	str_is("fo");
	expect("if { t.str foo }", 0, M);
	str_is("foo");
	expect("if { t.str foo }", 0, T);	/* a match does not wait */
	expect("if { t.str foo } FALSE", 0, F);
	str_is("bar");
	expect("if { t.str foo } || TRUE", 0, T);
	expect("if { t.str foo } || FALSE", 0, M);
	expect("if { t.str foo } TRUE", 0, M);
	ut_t.may_change = 0;
	expect("if { t.str foo }", 0, F);
	str_is(NULL);
}

static void test_named(void)
{
	UT_EQ_INT(load("frontend fe\n"
		       "  bind 127.0.0.1:18471\n"
		       "  acl web t.str foo\n"
		       "  acl web t.str -m beg ba\n"
		       "  acl num t.int gt 10\n"
		       "  acl local src 127.0.0.0/8\n"
		       "  acl TRUE t.str shadowed\n"
		       "  acl a-b.c:d_e t.int 1\n"
		       "  default_backend be\n"
		       "backend be\n"
		       "  server s1 127.0.0.1:1\n"), 0);
	str_is("foo");
	expect("if web", 1, T);
	str_is("bar");
	expect("if web", 1, T);
	str_is("qux");
	expect("if web", 1, F);
	expect("if !web", 1, T);
	ut_t.sint = 11;
	expect("if web || num", 1, T);
	expect("if web num", 1, F);
	str_is("foo");
	expect("if web num", 1, T);
	expect("if web !num", 1, F);
	set_src("127.0.0.9");
	expect("if web num local", 1, T);
	expect("if web num local { t.int 12 }", 1, F);
	expect("if web num local { t.int 11 } { src 127.0.0.9 }", 1, T);
	/* a declared name hides the predefined one */
	str_is("shadowed");
	expect("if TRUE", 1, T);
	str_is("other");
	expect("if TRUE", 1, F);
	ut_t.sint = 1;
	expect("if a-b.c:d_e", 1, T);
	/* a MISS line OR a TRUE line */
	str_is(NULL);
	ut_t.may_change = 1;
	expect("if web", 0, M);
	expect("if web", 1, F);
	ut_t.may_change = 0;

	expect_parse_error("if nosuch", "no such ACL 'nosuch'");
	expect_parse_error("if web nosuch", "no such ACL 'nosuch'");
	expect_parse_error("if src", "write an inline ACL such as '{ src ... }'");
	expect_parse_error("if {src 1.2.3.4}", "braces of an inline ACL must be separate words");
	expect_parse_error("if", "'if' expects a condition");
	expect_parse_error("when web", "expects 'if' or 'unless'");
	expect_parse_error("if web ||", "condition ends with '||'");
	expect_parse_error("if || web", "'||' must sit between two terms");
	expect_parse_error("if web || || web", "'||' must sit between two terms");
	expect_parse_error("if web !", "condition ends with '!'");
	expect_parse_error("if ! || web", "'||' must sit between two terms");
	expect_parse_error("if { src 1.2.3.4", "missing '}'");
	expect_parse_error("if { }", "empty inline ACL");
	expect_parse_error("if web }", "unexpected '}'");
	expect_parse_error("if { src 1.2.3.4 } }", "unexpected '}'");
	UT_CHECK(strstr(messages, "t.cfg:7: ") == messages);
}

static void test_predefined(void)
{
	load(base_cfg);
	set_src("127.0.0.1");
	expect("if LOCALHOST", 1, T);
	set_src("127.255.0.1");
	expect("if LOCALHOST", 1, T);
	set_src("::1");
	expect("if LOCALHOST", 1, T);
	set_src("::ffff:127.0.0.1");
	expect("if LOCALHOST", 1, T);
	set_src("10.0.0.1");
	expect("if LOCALHOST", 1, F);
	expect("unless LOCALHOST", 1, T);
	set_req("", 0);
	expect("if REQ_CONTENT", 0, M);
	expect("if REQ_CONTENT", 1, F);
	expect("if !REQ_CONTENT", 0, M);
	set_req("x", 1);
	expect("if REQ_CONTENT", 0, T);
	expect("if REQ_CONTENT WAIT_END", 0, M);
	expect("if REQ_CONTENT || WAIT_END", 0, T);
	set_req("", 0);
	expect("if TRUE FALSE LOCALHOST REQ_CONTENT WAIT_END", 1, F);
	/* the request payload: absent until enough bytes came */
	expect("if { req.payload(0,3) -m str abc }", 0, M);
	set_req("abcd", 4);
	expect("if { req.payload(0,3) -m str abc }", 0, T);
	expect("if { req.payload(0,3) 616263 }", 0, T);
	expect("if { req.payload(0,3) -m str abd }", 0, F);	/* 3 bytes are final */
	expect("if { req.payload(0,0) -m str abc }", 0, M);	/* "to the end" grows */
	expect("if { req.len ge 4 }", 0, T);
	expect("if { req.len gt 4 }", 0, M);
	set_req("", 0);
}

/* ---- through the config loader ---- */

static void test_config_errors(void)
{
	static const struct { const char *text; const char *needle; } cases[] = {
		{ "frontend fe\n  acl\n", ":2: 'acl': expects a name and a criterion" },
		{ "frontend fe\n  acl x\n", ":2: 'acl': expects a name and a criterion" },
		{ "frontend fe\n  acl bad/name src 1.2.3.4\n", ":2: 'acl': invalid name 'bad/name'" },
		{ "frontend fe\n  acl or src 1.2.3.4\n", "invalid name 'or'" },
		{ "frontend fe\n  bind :18471\n  acl x src 1.2.3.999\n",
		  ":3: acl 'x': '1.2.3.999' is not an IPv4 or IPv6 address" },
		{ "frontend fe\n  acl x nosuch 1\n", ":2: acl 'x': unknown fetch method 'nosuch'" },
		{ "frontend fe\n  acl x src -m reg (\n", ":2: acl 'x': invalid regex '('" },
		{ "frontend fe\n  acl x t.int gt\n", "acl 'x': operator 'gt' expects a value" },
		{ "frontend fe\n  acl x t.any 1\n", "acl 'x': fetch 't.any'" },
		{ "defaults\n  acl x src 1.2.3.4\n", ":2: " },
		{ "frontend fe\n  bind :18471\n  default_backend be\n  tcp-request content accept if nosuch\n"
		  "backend be\n  server s 127.0.0.1:1\n", ":4: no such ACL 'nosuch'" },
		{ "frontend fe\n  bind :18471\n  tcp-request content accept if later\n  acl later src 1.2.3.4\n"
		  "  default_backend be\nbackend be\n  server s 127.0.0.1:1\n", ":3: no such ACL 'later'" },
		{ "frontend fe\n  bind :18471\n  acl x src 1.2.3.4\n  default_backend be\n"
		  "backend be\n  server s 127.0.0.1:1\n  use-server s if x\n", ":7: no such ACL 'x'" },
		{ "frontend fe\n  bind :18471\n  use_backend be if { src 1.2.3.4/40 }\nbackend be\n  server s 127.0.0.1:1\n",
		  ":3: inline ACL '{ src ... }': '1.2.3.4/40' is not" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ut_expect_errors(cases[i].text, 1, cases[i].needle, messages, sizeof(messages));
}

static void test_config_ok(void)
{
	char *list = write_tmp("10.0.0.0/8\n");
	char text[1024];

	snprintf(text, sizeof(text),
		 "frontend fe\n"
		 "  bind 127.0.0.1:18471\n"
		 "  tcp-request inspect-delay 5s\n"
		 "  acl trusted src -f %s 192.168.0.0/16 127.0.0.1\n"
		 "  acl tls req.ssl_hello_type 1\n"
		 "  tcp-request connection reject unless trusted\n"
		 "  tcp-request content accept if tls || WAIT_END\n"
		 "  use_backend be if { req.ssl_sni -i -m end .example.com } !{ src 10.9.0.0/16 }\n"
		 "  default_backend be\n"
		 "backend be\n"
		 "  acl down nbsrv lt 1\n"
		 "  server s1 127.0.0.1:1\n", list);
	UT_EQ_INT(load(text), 0);
	UT_CHECK(!list_empty(&fe->acls));
	unlink(list);
	/* an ACL with no pattern never matches, and says so */
	UT_EQ_INT(load("frontend fe\n  bind :18471\n  acl x src\n  default_backend be\n"
		       "backend be\n  server s 127.0.0.1:1\n"), 0);
	UT_CHECK(strstr(messages, ":3: warning: acl 'x': no pattern to match") != NULL);
	set_src("1.2.3.4");
	expect("if x", 1, F);
}

/* ---- fetches over proxy and server state ---- */

/* Samples are evaluated with scratch space (conditions, without: acl.c
 * brings its own). */
static int eval_scratch(const char *expr, struct sample *s, char *text, size_t size)
{
	struct smp_ctx c = sctx;
	static char scratch[256];

	c.scratch = scratch;
	c.scratch_size = sizeof(scratch);
	return ut_smp_eval_text(expr, &c, s, text, size);
}

static int64_t eval_int(const char *expr, int *ok)
{
	struct sample s;

	*ok = eval_scratch(expr, &s, NULL, 0) > 0;
	return *ok ? s.u.sint : -999;
}

static void expect_int(const char *expr, int64_t want)
{
	int ok;
	int64_t got = eval_int(expr, &ok);

	UT_CHECK(ok);
	UT_EQ_INT(got, want);
	if (!ok || got != want)
		fprintf(stderr, "  '%s'\n", expr);
}

static void expect_absent(const char *expr)
{
	int ok;

	eval_int(expr, &ok);
	UT_CHECK(!ok);
	if (ok)
		fprintf(stderr, "  '%s' should be absent\n", expr);
}

static void expect_str(const char *expr, const char *want)
{
	char got[128];
	struct sample s;
	int rc = eval_scratch(expr, &s, got, sizeof(got));

	UT_CHECK(rc >= 0);
	if (rc >= 0)
		UT_EQ_STR(got, want);
}

static struct proxy *be, *be2;
static struct server *s1, *s2, *s3, *b1;

static int load_farm(void)
{
	UT_EQ_INT(load("frontend fe\n"
		       "  bind 127.0.0.1:18471\n"
		       "  default_backend be\n"
		       "backend be\n"
		       "  server s1 127.0.0.1:1 maxconn 10 maxqueue 5\n"
		       "  server s2 127.0.0.1:2 maxconn 20 maxqueue 5\n"
		       "  server s3 127.0.0.1:3 maxconn 30 maxqueue 5\n"
		       "  server b1 127.0.0.1:4 backup\n"
		       "backend be2\n"
		       "  server x 127.0.0.1:5\n"
		       "listen li\n"
		       "  bind 127.0.0.1:18473\n"
		       "  server y 127.0.0.1:6\n"), 0);
	be = config_find_proxy(&conf, "be", PX_CAP_BE);
	be2 = config_find_proxy(&conf, "be2", PX_CAP_BE);
	if (!be || !be2)
		return -1;
	s1 = server_find(be, "s1");
	s2 = server_find(be, "s2");
	s3 = server_find(be, "s3");
	b1 = server_find(be, "b1");
	sctx.be = be;
	return s1 && s2 && s3 && b1 ? 0 : -1;
}

static void test_conn_fetches(void)
{
	atomic_store(&fe->feconn, 7);
	atomic_store(&be->beconn, 4);
	atomic_store(&be2->beconn, 9);
	expect_int("fe_conn", 7);
	expect_int("fe_conn(fe)", 7);
	expect_int("fe_conn(li)", 0);
	expect_absent("fe_conn(be)");		/* a backend is no frontend */
	expect_absent("fe_conn(nosuch)");
	expect_int("be_conn", 4);
	expect_int("be_conn(be2)", 9);
	expect_absent("be_conn(nosuch)");
	/* no conf to look names up in: absent */
	sctx.conf = NULL;
	expect_absent("be_conn(be2)");
	expect_int("be_conn", 4);
	sctx.conf = &conf;
}

static void test_nbsrv(void)
{
	expect_int("nbsrv", 3);
	expect_int("nbsrv()", 3);
	expect_int("nbsrv(be2)", 1);
	atomic_store(&s2->state, SRV_ST_DOWN);
	atomic_store(&s3->admin, SRV_ADMF_MAINT);
	expect_int("nbsrv", 1);
	atomic_store(&s1->eweight, 0);		/* weight 0: not usable */
	expect_int("nbsrv", 1);			/* the backup takes over */
	be->options |= PX_O_ALLBACKUPS;
	expect_int("nbsrv", 1);
	atomic_store(&b1->state, SRV_ST_DOWN);
	expect_int("nbsrv", 0);
	expect("if { nbsrv(be) lt 1 }", 1, T);
	expect("if { nbsrv(be) lt 1 } || { nbsrv(be2) lt 1 }", 1, T);
	atomic_store(&b1->state, SRV_ST_UP);
	be->options &= ~PX_O_ALLBACKUPS;
	atomic_store(&s1->eweight, SRV_EWEIGHT_SCALE);
	atomic_store(&s2->state, SRV_ST_UP);
	atomic_store(&s3->admin, 0);
	expect("if { nbsrv(be) lt 1 } || { nbsrv(be2) lt 1 }", 1, F);
	expect("if { nbsrv(be) eq 3 } { nbsrv(be2) eq 1 }", 1, T);
}

static void test_slots_and_queues(void)
{
	/* connslots: (maxconn - cur) + (maxqueue - queued) per usable server,
	 * -1 when one has no limit (the backup here) */
	expect_int("connslots", -1);
	atomic_store(&b1->state, SRV_ST_DOWN);
	atomic_store(&s1->cur_conns, 4);
	atomic_store(&s2->nbpend, 2);
	atomic_store(&s3->cur_conns, 40);	/* over its limit: no slot, not negative */
	expect_int("connslots", (10 - 4 + 5) + (20 + 5 - 2) + (0 + 5));
	expect_int("connslots(be2)", -1);

	atomic_store(&be->nbpend, 3);
	expect_int("queue", 3 + 2);
	expect_int("queue(be2)", 0);
	expect_int("avg_queue", (5 + 1) / 3);
	atomic_store(&s1->state, SRV_ST_DOWN);
	atomic_store(&s2->state, SRV_ST_DOWN);
	atomic_store(&s3->state, SRV_ST_DOWN);
	expect_int("avg_queue", 10);		/* no server: twice the queue */
	expect_int("connslots", 0);
}

static void test_server_fetches(void)
{
	char err[256];

	expect_int("srv_conn(be/s1)", 4);
	expect_int("srv_conn(s3)", 40);
	expect_absent("srv_conn(be/nosuch)");
	expect_absent("srv_conn(nosuch/s1)");
	atomic_store(&s1->state, SRV_ST_UP);
	atomic_store(&s1->admin, SRV_ADMF_DRAIN);
	expect("if { srv_is_up(be/s1) }", 1, T);	/* draining is still up */
	expect("if { srv_is_up(s1) }", 1, T);
	expect("if { srv_is_up(be/s2) }", 1, F);
	atomic_store(&s1->admin, SRV_ADMF_MAINT);
	expect("if { srv_is_up(be/s1) }", 1, F);
	expect("if { srv_is_up(be2/x) }", 1, T);
	expect("if { srv_is_up(be2/nosuch) }", 1, F);
	atomic_store(&s1->admin, 0);
	UT_CHECK(sample_parse_expr("srv_is_up(be/)", err, sizeof(err)) == NULL);
	UT_CHECK(strstr(err, "expects a server as SERVER or BACKEND/SERVER") != NULL);
	UT_CHECK(sample_parse_expr("srv_is_up(/s)", err, sizeof(err)) == NULL);
	UT_CHECK(sample_parse_expr("srv_is_up", err, sizeof(err)) == NULL);
	UT_CHECK(sample_parse_expr("nbsrv(\"\")", err, sizeof(err)) == NULL);
	UT_CHECK(strstr(err, "expects a proxy name") != NULL);
}

static void test_names(void)
{
	expect_str("fe_name", "fe");
	expect_str("be_name", "be");
	expect_str("be_name,upper", "BE");
	expect_int("fe_id", fe->uuid);
	expect_int("be_id", be->uuid);
	expect("if { be_name be }", 1, T);
	expect("if { fe_name -m beg f }", 1, T);
	sctx.be = NULL;
	expect_absent("nbsrv");
	expect_absent("be_name");
	expect_absent("be_id");
	sctx.be = fe;
}

static void test_state_fetches(void)
{
	UT_CHECK(load_farm() == 0);
	if (!s1 || !b1)
		return;
	test_conn_fetches();
	test_nbsrv();
	test_slots_and_queues();
	test_server_fetches();
	test_names();
}

int main(void)
{
	ut_register_test_fetches();
	UT_EQ_INT(load(base_cfg), 0);
	test_str();
	test_beg_end_sub();
	test_dom_dir();
	test_reg();
	test_len();
	test_int();
	test_ssl_ver();
	test_ip();
	test_found_bool_bin();
	test_files();
	test_pattern_api();
	test_logic();
	test_named();
	test_predefined();
	test_config_errors();
	test_config_ok();
	test_state_fetches();
	config_free(&conf);
	UT_DONE();
}
