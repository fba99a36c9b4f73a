/* test_map.c - map files and the map_* converters: every match method,
 * longest prefix for map_ip, default values, values with spaces,
 * duplicate keys, a file loaded once however often it is used, missing
 * files and bad lines (with the map's FILE:LINE, and the config's through
 * the loader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/map.h>
#include <sluice/sample.h>

#include "ut.h"
#include "ut_cfg.h"
#include "ut_smp.h"

static char messages[16384];
static char err[1024];

static struct sockaddr_storage src;
static char scratch[256];
static struct smp_ctx ctx = { .src = &src, .scratch = scratch, .scratch_size = sizeof(scratch) };

static void set_src(const char *ip)
{
	ut_set_ip(&src, ip, 0);
}

static char tmp_paths[64][64];
static int ntmp;

static char *write_tmp(const char *text)
{
	char *p = tmp_paths[ntmp++];

	if (ntmp > 64)
		abort();
	strcpy(p, "/tmp/sluice_ut_map_XXXXXX");
	return ut_write_tmp(p, text);
}

/* Evaluates "fetch,CONV(path[,default])"; want NULL: the sample is absent. */
static void lookup(const char *fetch, const char *conv, const char *path,
		   const char *dflt, const char *want)
{
	char expr[512], got[256];
	struct sample s;
	int rc;

	snprintf(expr, sizeof(expr), "%s,%s(%s%s%s)", fetch, conv, path,
		 dflt ? "," : "", dflt ? dflt : "");
	rc = ut_smp_eval_text(expr, &ctx, &s, got, sizeof(got));
	UT_CHECK(rc >= 0);
	if (rc < 0)
		return;
	if (rc)
		UT_EQ_INT(s.type, SMP_T_STR);
	else
		strcpy(got, "(absent)");
	UT_EQ_STR(got, want ? want : "(absent)");
	if (strcmp(got, want ? want : "(absent)"))
		fprintf(stderr, "  '%s' with '%s'\n", expr, ut_t.str ? ut_t.str : "");
}

static void str_lookup(const char *conv, const char *path, const char *in, const char *want)
{
	ut_t.str = in;
	lookup("t.str", conv, path, NULL, want);
}

static void parse_fails(const char *expr, const char *needle)
{
	ut_smp_parse_fails(expr, needle, err, sizeof(err));
}

static void test_str(void)
{
	char *f = write_tmp("# names\n"
			    "foo bar\n"
			    "   spaced\t  value with  spaces  \n"
			    "dup first\n"
			    "dup second\n"
			    "crlf yes\r\n"
			    "novalue\n"
			    "\n"
			    " #hash is a key\n"
			    "# comment ignored\n");

	str_lookup("map_str", f, "foo", "bar");
	str_lookup("map", f, "foo", "bar");
	str_lookup("map_str", f, "spaced", "value with  spaces");
	str_lookup("map_str", f, "dup", "first");
	str_lookup("map_str", f, "crlf", "yes");
	str_lookup("map_str", f, "novalue", "");
	str_lookup("map_str", f, "#hash", "is a key");
	str_lookup("map_str", f, "#", NULL);
	str_lookup("map_str", f, "FOO", NULL);	/* maps are case-sensitive */
	str_lookup("map_str", f, "fo", NULL);
	ut_t.str = "nope";
	lookup("t.str", "map_str", f, "fallback", "fallback");
	ut_t.str = "foo";
	lookup("t.str", "map_str", f, "fallback", "bar");
	lookup("t.str,upper,lower", "map_str", f, NULL, "bar");
	/* an absent input stays absent */
	ut_t.str = NULL;
	lookup("t.str", "map_str", f, "fallback", NULL);
	/* the integer 42 looked up as text */
	ut_t.sint = 42;
	str_lookup("map_str", write_tmp("42 answer\n"), "x", NULL);
	lookup("t.int", "map_str", write_tmp("42 answer\n"), NULL, "answer");
}

static void test_beg_end_sub_dir(void)
{
	char *beg = write_tmp("/api/v1 one\n/api two\n/static three\n");
	char *end = write_tmp(".png image\n.js script\n");
	char *sub = write_tmp("admin a\nlogin l\n");
	char *dir = write_tmp("img i\nstatic/css c\n");

	str_lookup("map_beg", beg, "/api/v1/users", "one");
	str_lookup("map_beg", beg, "/api/v2", "two");	/* the first in file order */
	str_lookup("map_beg", beg, "/apix", "two");
	str_lookup("map_beg", beg, "/other", NULL);
	str_lookup("map_end", end, "/a/b.png", "image");
	str_lookup("map_end", end, "/a/b.json", NULL);
	str_lookup("map_sub", sub, "/x/login/admin", "a");	/* first pattern listed */
	str_lookup("map_sub", sub, "/loginpage", "l");
	str_lookup("map_sub", sub, "/home", NULL);
	str_lookup("map_dir", dir, "/static/img/x.png", "i");
	str_lookup("map_dir", dir, "/static/css/site.css", "c");
	str_lookup("map_dir", dir, "/images/x", NULL);
}

static void test_dom(void)
{
	char *f = write_tmp("shop.example.com     web\n"
			    "status.example.com   mail\n"
			    "example.net          net\n");

	str_lookup("map_dom", f, "shop.example.com", "web");
	str_lookup("map_dom", f, "eu.shop.example.com", "web");
	str_lookup("map_dom", f, "www.example.net", "net");
	str_lookup("map_dom", f, "example.net", "net");
	str_lookup("map_dom", f, "badexample.net", NULL);
	str_lookup("map_dom", f, "example.com", NULL);
	ut_t.str = "WWW.EXAMPLE.NET";
	lookup("t.str,lower", "map_dom", f, "web", "net");
	lookup("t.str", "map_dom", f, "web", "web");
}

static void test_reg(void)
{
	char *f = write_tmp("^/api/v[0-9]+/ api\n"
			    "\\.(png|jpe?g)$ images\n"
			    "^/$ root\n");
	char *bad = write_tmp("ok x\n^(unclosed y\n");

	str_lookup("map_reg", f, "/api/v2/users", "api");
	str_lookup("map_reg", f, "/pics/a.jpeg", "images");
	str_lookup("map_reg", f, "/", "root");
	str_lookup("map_reg", f, "/api/vx/", NULL);
	snprintf(messages, sizeof(messages), "t.str,map_reg(%s)", bad);
	parse_fails(messages, ":2: invalid regex '^(unclosed'");
}

static void test_int(void)
{
	char *f = write_tmp("80 http\n443 https\n1024:49151 registered\n49152: dynamic\n");
	char *bad = write_tmp("80 http\nabc nope\n");

	ut_t.sint = 443;
	lookup("t.int", "map_int", f, NULL, "https");
	ut_t.sint = 8080;
	lookup("t.int", "map_int", f, NULL, "registered");
	ut_t.sint = 60000;
	lookup("t.int", "map_int", f, NULL, "dynamic");
	ut_t.sint = 22;
	lookup("t.int", "map_int", f, "other", "other");
	/* a string input is read as an integer */
	str_lookup("map_int", f, "80", "http");
	str_lookup("map_int", f, "eighty", NULL);
	snprintf(messages, sizeof(messages), "t.int,map_int(%s)", bad);
	parse_fails(messages, ":2: 'abc' is not valid: expects an integer");
}

static void test_ip(void)
{
	char *f = write_tmp("# networks, most specific wins\n"
			    "10.0.0.0/8        ten\n"
			    "10.1.0.0/16       ten-one\n"
			    "10.1.2.0/24       ten-one-two\n"
			    "10.1.2.3          host\n"
			    "0.0.0.0/0         anywhere4\n"
			    "2001:db8::/32     doc\n"
			    "2001:db8:1::/48   doc-one\n"
			    "2.22.246.0/23     United Kingdom   \n");
	char *bad = write_tmp("10.0.0.0/8 ok\n\n# c\n10.0.0.0/40 bad\n");
	char *v6only = write_tmp("::ffff:0:0/96 mapped\n");

	set_src("10.1.2.3");
	lookup("src", "map_ip", f, NULL, "host");
	set_src("10.1.2.4");
	lookup("src", "map_ip", f, NULL, "ten-one-two");
	set_src("10.1.3.4");
	lookup("src", "map_ip", f, NULL, "ten-one");
	set_src("10.2.3.4");
	lookup("src", "map_ip", f, NULL, "ten");
	set_src("192.0.2.1");
	lookup("src", "map_ip", f, NULL, "anywhere4");
	set_src("2.22.247.9");
	lookup("src", "map_ip", f, NULL, "United Kingdom");
	set_src("2001:db8:1::5");
	lookup("src", "map_ip", f, NULL, "doc-one");
	set_src("2001:db8:2::5");
	lookup("src", "map_ip", f, NULL, "doc");
	set_src("2001:db9::1");
	lookup("src", "map_ip", f, "none", "none");
	/* an IPv4-mapped client finds IPv4 networks */
	set_src("::ffff:10.1.2.77");
	lookup("src", "map_ip", f, NULL, "ten-one-two");
	/* an IPv4 client finds an IPv6 network of mapped addresses */
	set_src("192.0.2.1");
	lookup("src", "map_ip", v6only, NULL, "mapped");
	/* text input; text that is no address is not found */
	str_lookup("map_ip", f, "10.1.9.9", "ten-one");
	str_lookup("map_ip", f, "2001:db8::1", "doc");
	ut_t.str = "not-an-ip";
	lookup("t.str", "map_ip", f, "dflt", "dflt");
	/* src,ipmask then map_ip */
	set_src("10.1.2.3");
	lookup("src,ipmask(24)", "map_ip", f, NULL, "ten-one-two");
	snprintf(messages, sizeof(messages), "src,map_ip(%s)", bad);
	parse_fails(messages, ":4: '10.0.0.0/40' is not an IPv4 or IPv6 address");
	UT_CHECK(strstr(err, bad) != NULL);
	UT_CHECK(strstr(err, "map_ip: ") == err);
}

static void test_errors(void)
{
	parse_fails("t.str,map_str(/nonexistent/file.map)", "map_str: cannot open '/nonexistent/file.map'");
	parse_fails("t.str,map_str", "expects at least 1 argument");
	parse_fails("t.str,map_str()", "expects at least 1 argument");
	parse_fails("t.str,map_str(a,b,c)", "takes at most 2 arguments");
	parse_fails("t.str,map_str(\"\")", "map_str: expects a map file name");
}

/* One file, read once: later changes to it are not seen. */
static void test_loaded_once(void)
{
	char *f = write_tmp("k v1\n");
	char expr[256];
	struct sample_expr *a, *b, *c;
	FILE *fp;

	snprintf(expr, sizeof(expr), "t.str,map_str(%s)", f);
	a = sample_parse_expr(expr, err, sizeof(err));
	fp = fopen(f, "w");
	fputs("k v2\n", fp);
	fclose(fp);
	b = sample_parse_expr(expr, err, sizeof(err));
	snprintf(expr, sizeof(expr), "t.str,map_beg(%s)", f);
	c = sample_parse_expr(expr, err, sizeof(err));
	UT_CHECK(a && b && c);
	if (a && b && c) {
		UT_CHECK(a->convs[0].args[0].ptr == b->convs[0].args[0].ptr);
		UT_CHECK(a->convs[0].args[0].ptr != c->convs[0].args[0].ptr);	/* another method */
	}
	str_lookup("map_str", f, "k", "v1");
	str_lookup("map_beg", f, "k", "v2");
	sample_free_expr(a);
	sample_free_expr(b);
	sample_free_expr(c);
}

/* Through the config loader: the config's FILE:LINE, then the map's. */
static void test_config(void)
{
	char *good = write_tmp("10.0.0.0/8 be\n");
	char *bad = write_tmp("# header\n10.0.0.300 be\n");
	char text[1024];
	struct config conf;

	snprintf(text, sizeof(text),
		 "frontend fe\n"
		 "  bind 127.0.0.1:18472\n"
		 "  use_backend %%[src,map_ip(%s,be)]\n"
		 "  use_backend be if { src,map_ip(%s) -m str be }\n"
		 "  default_backend be\n"
		 "backend be\n"
		 "  server s 127.0.0.1:1\n", good, good);
	UT_EQ_INT(ut_load_config(&conf, text, 1, messages, sizeof(messages)), 0);
	config_free(&conf);
	snprintf(text, sizeof(text),
		 "frontend fe\n"
		 "  bind 127.0.0.1:18472\n"
		 "  acl x src,map_ip(%s) -m found\n"
		 "  default_backend be\n"
		 "backend be\n"
		 "  server s 127.0.0.1:1\n", bad);
	UT_EQ_INT(ut_load_config(&conf, text, 1, messages, sizeof(messages)), 1);
	UT_CHECK(strstr(messages, ":3: acl 'x': map_ip: ") != NULL);
	UT_CHECK(strstr(messages, ":2: '10.0.0.300' is not an IPv4") != NULL);
	UT_CHECK(strstr(messages, bad) != NULL);
	if (!strstr(messages, ":2: '10.0.0.300' is not an IPv4"))
		fprintf(stderr, "--- said:\n%s", messages);
	config_free(&conf);
}

int main(void)
{
	ut_register_test_fetches();
	test_str();
	test_beg_end_sub_dir();
	test_dom();
	test_reg();
	test_int();
	test_ip();
	test_errors();
	test_loaded_once();
	test_config();
	map_free_all();
	map_free_all();
	while (ntmp)
		unlink(tmp_paths[--ntmp]);
	UT_DONE();
}
