/* test_tcpcheck.c - check scripts: the "tcp-check" keywords and built-in
 * check options through the real config loader, the expect judge, the
 * MySQL / PostgreSQL / TLS reply parsers, the agent reply parser and
 * send-lf. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/tcpcheck.h>

#include "ut.h"
#include "ut_cfg.h"

static char messages[16384];	/* what the last load printed on stderr */

static int load(struct config *conf, const char *text)
{
	return ut_load_config(conf, text, 0, messages, sizeof(messages));
}

static void expect_errors(const char *text, int want, const char *needle)
{
	ut_expect_errors(text, want, needle, messages, sizeof(messages));
}

static struct tcpcheck_ruleset *rules_of(struct config *conf, const char *be)
{
	struct proxy *px = config_find_proxy(conf, be, PX_CAP_BE);

	return px ? px->tcpcheck : NULL;
}

#define BE(lines) "backend be\n" lines "  server s1 127.0.0.1:80\n"

/* ---- status codes --------------------------------------------------------- */

static void test_codes(void)
{
	UT_EQ_STR(check_code_name(CHK_L4CON), "L4CON");
	UT_EQ_STR(check_code_desc(CHK_L4CON), "Layer4 connection problem");
	UT_EQ_STR(check_code_name(CHK_L7OKC), "L7OKC");
	UT_EQ_STR(check_code_desc(CHK_L7OKC), "Layer7 check conditionally passed");
	UT_EQ_STR(check_code_desc(CHK_L6RSP), "Layer6 invalid response");
	UT_EQ_STR(check_code_name(CHK_SOCKERR), "SOCKERR");
	UT_EQ_STR(check_code_name((enum check_code)999), "UNK");
	UT_CHECK(check_code_ok(CHK_L4OK) && check_code_ok(CHK_L6OK));
	UT_CHECK(check_code_ok(CHK_L7OK) && check_code_ok(CHK_L7OKC));
	UT_CHECK(!check_code_ok(CHK_L7STS) && !check_code_ok(CHK_L4TOUT) && !check_code_ok(CHK_UNK));
}

/* ---- parsing tcp-check rules ---------------------------------------------- */

static void check_script_rules(const struct tcpcheck_ruleset *rs);

static void test_parse_script(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	int errors = load(&conf, BE(
		"  option tcp-check\n"
		"  tcp-check connect port 6379 ssl sni db.example send-proxy linger comment first\n"
		"  tcp-check send \"PING\\r\\n\" comment ping\n"
		"  tcp-check comment \"want pong\"\n"
		"  tcp-check expect min-recv 5 error-status L7STS ! string -ERR tout-status L6TOUT\n"
		"  tcp-check send-binary 00ff0A\n"
		"  tcp-check expect binary 0001 ok-status L7OKC\n"
		"  tcp-check expect rstring ^\\+OK.*$ comment regex\n"
		"  tcp-check expect rbinary ^0A0B\n"
		"  tcp-check send-lf \"hello %s of %b at %si:%sp 100%%\"\n"
		"  tcp-check connect\n"));

	UT_EQ_INT(errors, 0);
	rs = rules_of(&conf, "be");
	UT_CHECK(rs != NULL);
	if (!rs) {
		fprintf(stderr, "%s", messages);
		config_free(&conf);
		return;
	}
	UT_EQ_INT(rs->kind, TCPCHK_KIND_TCP);
	UT_EQ_INT(rs->has_option, 1);
	UT_EQ_INT(rs->nrules, 9);
	if (rs->nrules == 9)
		check_script_rules(rs);
	UT_EQ_STR(messages, "");
	config_free(&conf);
}

static void check_script_rules(const struct tcpcheck_ruleset *rs)
{
	const struct tcpcheck_rule *r;

	r = &rs->rules[0];
	UT_EQ_INT(r->act, TCPCHK_ACT_CONNECT);
	UT_EQ_INT(r->connect.port, 6379);
	UT_EQ_INT(r->connect.ssl, 1);
	UT_EQ_INT(r->connect.send_proxy, 1);
	UT_EQ_INT(r->connect.linger, 1);
	UT_EQ_STR(r->connect.sni, "db.example");
	UT_EQ_STR(r->comment, "first");
	UT_EQ_INT(r->conf_line, 3);
	r = &rs->rules[1];
	UT_EQ_INT(r->act, TCPCHK_ACT_SEND);
	UT_EQ_INT(r->send.len, 6);
	UT_CHECK(r->send.data && !memcmp(r->send.data, "PING\r\n", 6));
	UT_EQ_STR(r->comment, "ping");
	r = &rs->rules[2];
	UT_EQ_INT(r->act, TCPCHK_ACT_EXPECT);
	UT_EQ_INT(r->expect.type, TCPCHK_EXP_STRING);
	UT_EQ_INT(r->expect.inverse, 1);
	UT_EQ_INT(r->expect.min_recv, 5);
	UT_EQ_INT(r->expect.err_code, CHK_L7STS);
	UT_EQ_INT(r->expect.tout_code, CHK_L6TOUT);
	UT_EQ_INT(r->expect.ok_code, CHK_L7OK);
	UT_EQ_STR(r->comment, "want pong");	/* from the "tcp-check comment" line */
	UT_EQ_INT(r->expect.patlen, 4);
	UT_EQ_STR(r->expect.pat_text, "-ERR");
	r = &rs->rules[3];
	UT_EQ_INT(r->send.len, 3);
	UT_CHECK(r->send.data && !memcmp(r->send.data, "\x00\xff\x0a", 3));
	UT_CHECK(r->comment == NULL);
	r = &rs->rules[4];
	UT_EQ_INT(r->expect.type, TCPCHK_EXP_BINARY);
	UT_EQ_INT(r->expect.patlen, 2);
	UT_CHECK(!memcmp(r->expect.pat, "\x00\x01", 2));
	UT_EQ_INT(r->expect.ok_code, CHK_L7OKC);
	UT_EQ_INT(r->expect.err_code, CHK_L7RSP);
	UT_EQ_INT(r->expect.tout_code, CHK_L7TOUT);
	r = &rs->rules[5];
	UT_EQ_INT(r->expect.type, TCPCHK_EXP_RSTRING);
	UT_CHECK(r->expect.re != NULL);
	UT_EQ_STR(r->comment, "regex");
	UT_EQ_INT(rs->rules[6].expect.type, TCPCHK_EXP_RBINARY);
	UT_CHECK(rs->rules[7].send.lf != NULL && rs->rules[7].send.data == NULL);
	UT_EQ_INT(rs->rules[8].act, TCPCHK_ACT_CONNECT);
	UT_EQ_INT(rs->rules[8].connect.port, 0);
}

static void test_parse_errors(void)
{
	expect_errors(BE("  option tcp-check\n  tcp-check expect string\n"), 1,
		      "'tcp-check expect string' expects a pattern");
	expect_errors(BE("  option tcp-check\n  tcp-check expect\n"), 1,
		      "expects a match type and a pattern");
	expect_errors(BE("  option tcp-check\n  tcp-check expect strng foo\n"), 1,
		      "unknown match type or option 'strng'");
	expect_errors(BE("  option tcp-check\n  tcp-check expect rstring ab(\n"), 1,
		      "'tcp-check expect rstring': invalid regex 'ab(': ");
	expect_errors(BE("  option tcp-check\n  tcp-check expect rbinary [\n"), 1,
		      "invalid regex '['");
	expect_errors(BE("  option tcp-check\n  tcp-check send-binary abc\n"), 1,
		      "'tcp-check send-binary' expects an even number of hex digits, got 'abc'");
	expect_errors(BE("  option tcp-check\n  tcp-check send-binary 0g\n"), 1,
		      "'g' is not a hex digit");
	expect_errors(BE("  option tcp-check\n  tcp-check expect binary 0x01\n"), 1,
		      "'x' is not a hex digit");
	expect_errors(BE("  option tcp-check\n  tcp-check set-var(a) int(1)\n"), 1,
		      "'tcp-check set-var(a)' is not implemented by sluice");
	expect_errors(BE("  option tcp-check\n  tcp-check unset-var(a)\n"), 1,
		      "not implemented");
	expect_errors(BE("  option tcp-check\n  tcp-check\n"), 1, "expects an action");
}

static void test_parse_errors_more(void)
{
	expect_errors(BE("  option tcp-check\n  tcp-check connect port 0\n"), 1,
		      "'port' expects a port number");
	expect_errors(BE("  option tcp-check\n  tcp-check connect via-socks4\n"), 1,
		      "'tcp-check connect via-socks4' is not implemented by sluice");
	expect_errors(BE("  option tcp-check\n  tcp-check connect foo\n"), 1,
		      "unknown option 'foo'");
	expect_errors(BE("  option tcp-check\n  tcp-check send a b\n"), 1,
		      "unexpected 'b' after the data");
	expect_errors(BE("  option tcp-check\n  tcp-check send\n"), 1, "expects the data to send");
	expect_errors(BE("  option tcp-check\n  tcp-check send x comment\n"), 1,
		      "'comment' expects a text");
	expect_errors(BE("  option tcp-check\n  tcp-check expect string a b\n"), 1,
		      "unexpected 'b' after the pattern");
	expect_errors(BE("  option tcp-check\n  tcp-check expect string a ! string b\n"), 1,
		      "only one match per rule");
	expect_errors(BE("  option tcp-check\n  tcp-check expect error-status L7OK string a\n"), 1,
		      "'error-status' expects L7RSP, L7STS, L6RSP or L4CON, got 'L7OK'");
	expect_errors(BE("  option tcp-check\n  tcp-check expect string a ok-status\n"), 1,
		      "'ok-status' expects");
	expect_errors(BE("  option tcp-check\n  tcp-check expect min-recv x string a\n"), 1,
		      "'min-recv' expects a number");
	expect_errors(BE("  option tcp-check\n  tcp-check expect on-success x string a\n"), 1,
		      "'tcp-check expect on-success' is not implemented");
	expect_errors(BE("  option tcp-check\n  tcp-check expect string-lf %[src]\n"), 1,
		      "'tcp-check expect string-lf' is not implemented");
	expect_errors(BE("  option tcp-check\n  tcp-check send-lf %[src]\n"), 1,
		      "'%[' is not supported in send-lf yet");
	expect_errors(BE("  option tcp-check\n  tcp-check send-lf \"%ci\"\n"), 1,
		      "'%ci' is not supported in send-lf yet");
	expect_errors(BE("  option tcp-check\n  tcp-check send-lf abc%\n"), 1,
		      "'%' is not supported in send-lf yet");
	expect_errors(BE("  option tcp-check\n  tcp-check comment a b\n"), 1,
		      "'tcp-check comment' expects one text");
	expect_errors("frontend fe\n  bind :8000\n  tcp-check send x\n", 1,
		      "'tcp-check' is not allowed in 'frontend' section");
	expect_errors(BE("  no tcp-check send x\n"), 1, "'no' is not supported for 'tcp-check'");
	/* errors point at their line */
	expect_errors(BE("  option tcp-check\n\n  tcp-check expect string\n"), 1, ":4: ");
}

static void test_rules_need_option(void)
{
	expect_errors(BE("  tcp-check send x\n  tcp-check expect string y\n"), 1,
		      ":2: 'tcp-check' rules need 'option tcp-check' in this section (HAProxy ignores them otherwise)");
	/* rules written in defaults, used by a backend without the option */
	expect_errors("defaults\n  tcp-check send x\n" BE(""), 1,
		      ":2: 'tcp-check' rules written here, inherited by backend 'be', need 'option tcp-check'");
	/* a frontend inheriting them is not concerned */
	expect_errors("defaults\n  tcp-check send x\nfrontend fe\n  bind :8000\n", 0, NULL);
	/* "no option tcp-check" drops the rules too */
	expect_errors(BE("  tcp-check send x\n  no option tcp-check\n"), 0, NULL);
	/* the option may come after the rules */
	expect_errors(BE("  tcp-check send x\n  option tcp-check\n"), 0, NULL);
	/* a built-in option with tcp-check rules after it: rules without option */
	expect_errors(BE("  option redis-check\n  tcp-check send x\n"), 1,
		      "need 'option tcp-check'");
	expect_errors(BE("  option redis-check\n  tcp-check send x\n"), 1,
		      "warning: 'tcp-check' rules replace 'option redis-check' written at line 2");
	expect_errors(BE("  option tcp-check\n  tcp-check send x\n  tcp-check comment dangling\n"), 0,
		      "a 'tcp-check comment' is not followed by any rule");
}

static void test_inheritance(void)
{
	struct config conf;
	struct tcpcheck_ruleset *d, *b1, *b2, *b3;
	struct proxy *defs;
	int errors;

	/* defaults with the option and rules: shared as long as a backend
	 * writes no rule; a backend with rules starts afresh but keeps the
	 * option */
	errors = load(&conf,
		"defaults\n  option tcp-check\n  tcp-check send x\n  tcp-check expect string y\n"
		"backend b1\n  server s 127.0.0.1:1\n"
		"backend b2\n  tcp-check send z\n  server s 127.0.0.1:1\n"
		"backend b3\n  option ssl-hello-chk\n  server s 127.0.0.1:1\n");
	UT_EQ_INT(errors, 0);
	defs = conf.defaults;
	d = defs ? defs->tcpcheck : NULL;
	b1 = rules_of(&conf, "b1");
	b2 = rules_of(&conf, "b2");
	b3 = rules_of(&conf, "b3");
	UT_CHECK(d && b1 == d);
	UT_EQ_INT(d ? d->refcnt : 0, 2);	/* defaults + b1 (b2 and b3 dropped theirs) */
	UT_EQ_INT(d ? d->nrules : 0, 2);
	UT_CHECK(b2 && b2 != d && b2->has_option && b2->nrules == 1);
	UT_CHECK(b2 && b2->rules[0].send.len == 1 && b2->rules[0].send.data[0] == 'z');
	UT_CHECK(b3 && b3->kind == TCPCHK_KIND_SSL_HELLO);
	UT_EQ_STR(messages, "");
	config_free(&conf);

	/* rules in defaults without the option: a backend that sets the
	 * option runs them (shared, not copied) */
	errors = load(&conf,
		"defaults\n  tcp-check send x\n  tcp-check expect string y\n"
		"backend b1\n  option tcp-check\n  server s 127.0.0.1:1\n"
		"backend b2\n  option tcp-check\n  tcp-check send w\n  server s 127.0.0.1:1\n");
	UT_EQ_INT(errors, 0);
	d = conf.defaults->tcpcheck;
	b1 = rules_of(&conf, "b1");
	b2 = rules_of(&conf, "b2");
	UT_CHECK(b1 && b1 != d && b1->has_option && b1->borrowed == d);
	UT_CHECK(b1 && d && b1->rules == d->rules && b1->nrules == 2);
	UT_CHECK(b2 && b2->borrowed == NULL && b2->nrules == 1 && b2->has_option);
	config_free(&conf);

	/* a defaults section inheriting from another one */
	errors = load(&conf,
		"defaults base\n  option tcp-check\n  tcp-check send x\n"
		"defaults d2 from base\n  tcp-check send y\n"
		"backend b1 from d2\n  server s 127.0.0.1:1\n"
		"backend b2 from base\n  server s 127.0.0.1:1\n");
	UT_EQ_INT(errors, 0);
	b1 = rules_of(&conf, "b1");
	b2 = rules_of(&conf, "b2");
	UT_CHECK(b1 && b1->has_option && b1->nrules == 1 && b1->rules[0].send.data[0] == 'y');
	UT_CHECK(b2 && b2->nrules == 1 && b2->rules[0].send.data[0] == 'x');
	config_free(&conf);
}

static void test_last_option_wins(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	int errors;

	errors = load(&conf, BE("  option tcp-check\n  tcp-check send x\n  option ssl-hello-chk\n"));
	UT_EQ_INT(errors, 0);
	rs = rules_of(&conf, "be");
	UT_CHECK(rs && rs->kind == TCPCHK_KIND_SSL_HELLO && rs->nrules == 2);
	UT_CHECK(strstr(messages, "warning: 'option ssl-hello-chk' replaces 'option tcp-check' and its rules") != NULL);
	config_free(&conf);

	errors = load(&conf, BE("  option mysql-check\n  option redis-check\n"));
	UT_EQ_INT(errors, 0);
	rs = rules_of(&conf, "be");
	UT_CHECK(rs && rs->kind == TCPCHK_KIND_REDIS);
	UT_CHECK(strstr(messages, "'option redis-check' replaces 'option mysql-check' written at line 2") != NULL);
	config_free(&conf);

	/* "no option X" drops X's rules only */
	errors = load(&conf, "defaults\n  option redis-check\n"
		      "backend a\n  no option redis-check\n  server s 127.0.0.1:1\n"
		      "backend b\n  no option mysql-check\n  server s 127.0.0.1:1\n"
		      "backend c\n  option tcp-check\n  no option tcp-check\n  server s 127.0.0.1:1\n");
	UT_EQ_INT(errors, 0);
	UT_CHECK(rules_of(&conf, "a") == NULL);
	rs = rules_of(&conf, "b");
	UT_CHECK(rs && rs->kind == TCPCHK_KIND_REDIS);
	UT_CHECK(rules_of(&conf, "c") == NULL);
	config_free(&conf);

	/* option tcp-check alone: connect only */
	errors = load(&conf, BE("  option tcp-check\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->kind == TCPCHK_KIND_TCP && rs->nrules == 0 && rs->has_option);
	config_free(&conf);
}

/* ---- built-in options ----------------------------------------------------- */

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned be24(const uint8_t *p) { return (unsigned)p[0] << 16 | be16(p + 1); }
static unsigned le24(const uint8_t *p) { return p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16; }

/* Walk the ClientHello: every length must add up exactly. */
static void check_client_hello(const uint8_t *h, size_t n)
{
	size_t off, ext_end;
	int seen_versions = 0;

	UT_CHECK(n > 60 && n < 512);
	if (n <= 60)
		return;
	UT_EQ_INT(h[0], 0x16);
	UT_EQ_INT(be16(h + 1), 0x0301);
	UT_EQ_INT(be16(h + 3), n - 5);
	UT_EQ_INT(h[5], 1);
	UT_EQ_INT(be24(h + 6), n - 9);
	UT_EQ_INT(be16(h + 9), 0x0303);
	off = 11 + 32;
	UT_EQ_INT(h[off], 0);			/* session id */
	off++;
	UT_EQ_INT(be16(h + off), 16);		/* 8 cipher suites */
	UT_EQ_INT(be16(h + off + 2), 0x1301);
	UT_EQ_INT(be16(h + off + 16), 0x009c);
	off += 2 + 16;
	UT_EQ_INT(h[off], 1);
	UT_EQ_INT(h[off + 1], 0);
	off += 2;
	UT_EQ_INT(be16(h + off), n - off - 2);
	ext_end = n;
	for (off += 2; off + 4 <= ext_end; off += 4 + be16(h + off + 2)) {
		if (be16(h + off) == 0x002b) {
			seen_versions = 1;
			UT_CHECK(!memcmp(h + off + 4, "\x04\x03\x04\x03\x03", 5));
		}
	}
	UT_EQ_INT(off, ext_end);
	UT_CHECK(seen_versions);
}

static void test_builtin_ssl_redis(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	const struct tcpcheck_rule *r;
	int errors;

	errors = load(&conf, BE("  option ssl-hello-chk\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->kind == TCPCHK_KIND_SSL_HELLO && rs->nrules == 2);
	if (rs && rs->nrules == 2) {
		check_client_hello(rs->rules[0].send.data, rs->rules[0].send.len);
		r = &rs->rules[1];
		UT_EQ_INT(r->expect.type, TCPCHK_EXP_CUSTOM);
		UT_CHECK(r->expect.custom == tcpcheck_custom_by_name("ssl-hello"));
		UT_EQ_INT(r->expect.ok_code, CHK_L6OK);
		UT_EQ_INT(r->expect.err_code, CHK_L6RSP);
		UT_EQ_INT(r->expect.tout_code, CHK_L6TOUT);
	}
	config_free(&conf);

	errors = load(&conf, BE("  option redis-check\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->kind == TCPCHK_KIND_REDIS && rs->nrules == 2);
	if (rs && rs->nrules == 2) {
		UT_CHECK(rs->rules[0].send.len == 6 && !memcmp(rs->rules[0].send.data, "PING\r\n", 6));
		r = &rs->rules[1];
		UT_EQ_INT(r->expect.type, TCPCHK_EXP_STRING);
		UT_EQ_STR(r->expect.pat_text, "+PONG");
		UT_EQ_INT(r->expect.err_code, CHK_L7STS);
		UT_EQ_INT(r->expect.tout_code, CHK_L7TOUT);
		UT_EQ_INT(r->expect.ok_code, CHK_L7OK);
	}
	config_free(&conf);

}

static void test_builtin_mysql(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	int errors;

	errors = load(&conf, BE("  option mysql-check\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->kind == TCPCHK_KIND_MYSQL && rs->nrules == 1);
	if (rs && rs->nrules == 1)
		UT_CHECK(rs->rules[0].expect.custom == tcpcheck_custom_by_name("mysql-handshake"));
	config_free(&conf);

	errors = load(&conf, BE("  option mysql-check user haproxy\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->nrules == 3);
	if (rs && rs->nrules == 3) {
		const uint8_t *p = rs->rules[1].send.data;
		size_t n = rs->rules[1].send.len, plen = le24(p);

		UT_CHECK(rs->rules[0].expect.custom == tcpcheck_custom_by_name("mysql-handshake"));
		UT_CHECK(rs->rules[2].expect.custom == tcpcheck_custom_by_name("mysql-ok"));
		/* post-41 auth: caps(4) max(4) charset(1) 23 zeros, user, 0 */
		UT_EQ_INT(p[3], 1);
		UT_EQ_INT(plen, 32 + 8 + 1);
		UT_EQ_INT(n, 4 + plen + 5);
		UT_CHECK((p[4] | p[5] << 8) & 0x0200);		/* CLIENT_PROTOCOL_41 */
		UT_CHECK((p[4] | p[5] << 8) & 0x8000);		/* CLIENT_SECURE_CONNECTION */
		UT_EQ_INT(p[12], 8);
		UT_CHECK(!memcmp(p + 36, "haproxy\0\0", 9));
		UT_CHECK(!memcmp(p + 4 + plen, "\x01\0\0\0\x01", 5));	/* COM_QUIT */
	}
	config_free(&conf);

	errors = load(&conf, BE("  option mysql-check user chk pre-41\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->nrules == 3);
	if (rs && rs->nrules == 3) {
		const uint8_t *p = rs->rules[1].send.data;

		UT_EQ_INT(le24(p), 2 + 3 + 4);
		UT_CHECK(!((p[4] | p[5] << 8) & 0x0200));
		UT_CHECK(!memcmp(p + 9, "chk\0", 4));
		UT_EQ_INT(rs->rules[1].send.len, 4 + 9 + 5);
	}
	config_free(&conf);

}

static void test_builtin_pgsql_and_errors(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	int errors;

	errors = load(&conf, BE("  option pgsql-check user monitor\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->kind == TCPCHK_KIND_PGSQL && rs->nrules == 2);
	if (rs && rs->nrules == 2) {
		static const uint8_t want[] = "\0\0\0\x16\0\x03\0\0user\0monitor\0";	/* + final 0 */

		UT_EQ_INT(rs->rules[0].send.len, 22);
		UT_CHECK(!memcmp(rs->rules[0].send.data, want, 22));
		UT_CHECK(rs->rules[1].expect.custom == tcpcheck_custom_by_name("pgsql"));
	}
	config_free(&conf);

	expect_errors(BE("  option pgsql-check\n"), 1, "'option pgsql-check' expects 'user NAME'");
	expect_errors(BE("  option pgsql-check user\n"), 1, "'option pgsql-check' expects 'user NAME'");
	expect_errors(BE("  option pgsql-check user a b\n"), 1, "unexpected 'b'");
	expect_errors(BE("  option mysql-check user\n"), 1, "'option mysql-check user' expects a user name");
	expect_errors(BE("  option mysql-check admin\n"), 1, "unexpected 'admin'");
	expect_errors(BE("  option mysql-check user a post-42\n"), 1, "expects 'post-41' or 'pre-41'");
	expect_errors(BE("  option mysql-check user a post-80\n"), 1, "post-80' is not implemented");
	expect_errors(BE("  option mysql-check user \"\"\n"), 1, "the user name is empty");
	expect_errors(BE("  option redis-check now\n"), 1, "'option redis-check' takes no argument");
	expect_errors(BE("  option ssl-hello-chk x\n"), 1, "takes no argument");
	expect_errors("frontend fe\n  bind :8000\n  option redis-check\n", 1, "not allowed");
}

/* ---- expect --------------------------------------------------------------- */

/* Build an expect rule the way the parser does, from a one-line script. */
static struct config expect_conf;

static const struct tcpcheck_rule *expect_rule(const char *line)
{
	char text[512];
	struct tcpcheck_ruleset *rs;

	config_free(&expect_conf);
	snprintf(text, sizeof(text), BE("  option tcp-check\n  %s\n"), line);
	if (load(&expect_conf, text)) {
		fprintf(stderr, "%s", messages);
		return NULL;
	}
	rs = rules_of(&expect_conf, "be");
	return rs && rs->nrules == 1 ? &rs->rules[0] : NULL;
}

static enum tcpcheck_verdict run(const struct tcpcheck_rule *r, const char *data, size_t len,
				 int last, enum check_code *code, char *info)
{
	if (!r)
		return (enum tcpcheck_verdict)-1;
	return tcpcheck_expect(r, (const uint8_t *)data, len, last, 2, code, info, 128);
}

#define S(x) x, sizeof(x) - 1

static void test_expect_string(void)
{
	const struct tcpcheck_rule *r = expect_rule("tcp-check expect string +PONG");
	enum check_code code = CHK_UNK;
	char info[128];

	UT_EQ_INT(run(r, S("+PONG\r\n"), 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_INT(run(r, S("xx+PONGyy"), 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(r ? tcpcheck_expect_consumed(r, (const uint8_t *)"xx+PONGyy", 9) : 0, 7);
	UT_EQ_INT(run(r, S("+PO"), 0, &code, info), TCPCHK_MORE);	/* wait for more */
	UT_EQ_INT(run(r, S("-ERR\r\n"), 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(run(r, S("-ERR\r\n"), 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_EQ_STR(info, "TCPCHK did not match content '+PONG' at step 2");
	UT_EQ_INT(run(r, "", 0, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK got an empty response at step 2");

	/* min-recv: nothing decided before N bytes, then no more waiting */
	r = expect_rule("tcp-check expect min-recv 4 string OK");
	UT_EQ_INT(run(r, S("OK"), 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(run(r, S("OK"), 1, &code, info), TCPCHK_OK);
	UT_EQ_INT(run(r, S("OK!!"), 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(run(r, S("NO!!"), 0, &code, info), TCPCHK_FAIL);

	/* inverse: a match fails at once, a mismatch passes once decided */
	r = expect_rule("tcp-check expect ! string ERR");
	UT_EQ_INT(run(r, S("ok ERR"), 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK matched unwanted content 'ERR' at step 2");
	UT_EQ_INT(run(r, S("ok"), 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(run(r, S("ok"), 1, &code, info), TCPCHK_OK);
	UT_EQ_INT(run(r, "", 0, 1, &code, info), TCPCHK_OK);
	UT_EQ_INT(r ? tcpcheck_expect_consumed(r, (const uint8_t *)"ok", 2) : 0, 2);
	r = expect_rule("tcp-check expect min-recv 2 ! string ERR comment no-error-reply");
	UT_EQ_INT(run(r, S("OK ready\n"), 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(run(r, S("ERR busy\n"), 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "no-error-reply");

	/* comment and codes */
	r = expect_rule("tcp-check expect string OK comment \"say\\r\\nok\" error-status L7STS ok-status L7OKC");
	UT_EQ_INT(run(r, S("KO"), 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "say..ok");	/* no control character reaches a log */
	UT_EQ_INT(run(r, S("OK"), 1, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OKC);
}

static void test_expect_binary_and_regex(void)
{
	const struct tcpcheck_rule *r = expect_rule("tcp-check expect binary 0001ff");
	enum check_code code;
	char info[128];

	UT_EQ_INT(run(r, "\x00\x00\x01\xff", 4, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(r ? tcpcheck_expect_consumed(r, (const uint8_t *)"\x00\x00\x01\xff\x05", 5) : 0, 4);
	UT_EQ_INT(run(r, "\x00\x01", 2, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK did not match binary '0001ff' at step 2");

	r = expect_rule("tcp-check expect rstring status=2[0-9]{2}");
	UT_EQ_INT(run(r, S("\x01status=200\n"), 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(r ? tcpcheck_expect_consumed(r, (const uint8_t *)"\x01status=200\n", 12) : 0, 11);
	UT_EQ_INT(run(r, S("status=500\n"), 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(run(r, S("status=500\n"), 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK did not match content (regex) 'status=2[0-9]{2}' at step 2");
	/* POSIX regexes stop at a NUL byte: what follows is not seen */
	UT_EQ_INT(run(r, "\0status=200", 11, 1, &code, info), TCPCHK_FAIL);
	r = expect_rule("tcp-check expect ! rstring ^ERR");
	UT_EQ_INT(run(r, S("ERR x"), 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK matched unwanted content (regex) '^ERR' at step 2");

	/* rbinary: a regex over the upper-case hex dump */
	r = expect_rule("tcp-check expect rbinary ^0A0B(FF)+$");
	UT_EQ_INT(run(r, "\x0a\x0b\xff\xff", 4, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(r ? tcpcheck_expect_consumed(r, (const uint8_t *)"\x0a\x0b\xff\xff", 4) : 0, 4);
	UT_EQ_INT(run(r, "\x0a\x0b\xff\x00", 4, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "TCPCHK did not match binary (regex) '^0A0B(FF)+$' at step 2");
	r = expect_rule("tcp-check expect rbinary 00FF00");
	UT_EQ_INT(run(r, "a\x00\xff\x00z", 5, 0, &code, info), TCPCHK_OK);	/* NULs are fine here */
	r = expect_rule("tcp-check expect rbinary 0a");
	UT_EQ_INT(run(r, "\x0a", 1, 1, &code, info), TCPCHK_FAIL);		/* lower case never matches */
}

/* ---- custom parsers ------------------------------------------------------- */

static enum tcpcheck_verdict custom(const char *name, const void *d, size_t n, int last,
				    enum check_code *code, char *info)
{
	tcpcheck_custom_fn fn = tcpcheck_custom_by_name(name);

	*code = CHK_UNK;
	info[0] = '\0';
	return fn ? fn(d, n, last, code, info, 128) : (enum tcpcheck_verdict)-1;
}

static void test_ssl_hello_reply(void)
{
	enum check_code code;
	char info[128];

	UT_CHECK(tcpcheck_custom_by_name("nope") == NULL);
	UT_EQ_INT(custom("ssl-hello", "\x16\x03\x03\x00\x5a\x02", 6, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L6OK);
	UT_EQ_INT(custom("ssl-hello", "\x15\x03\x01\x00\x02", 5, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(custom("ssl-hello", "\x16\x03", 2, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("ssl-hello", "\x16\x03", 2, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L6RSP);
	UT_EQ_INT(custom("ssl-hello", "HTTP/1.1 400", 12, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L6RSP);
	UT_EQ_INT(custom("ssl-hello", "\x17\x03\x03\x00\x01", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("ssl-hello", "\x16\x02\x03\x00\x01", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("ssl-hello", "", 0, 1, &code, info), TCPCHK_FAIL);
}

static size_t mysql_pkt(uint8_t *out, unsigned seq, const void *payload, size_t n)
{
	out[0] = (uint8_t)n;
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)seq;
	memcpy(out + 4, payload, n);
	return n + 4;
}

static void test_mysql_replies(void)
{
	static const char greet[] = "\x0a" "8.0.36-fake\0" "\x07\0\0\0" "abcdefgh\0";
	uint8_t buf[256];
	enum check_code code;
	char info[128];
	size_t n;

	n = mysql_pkt(buf, 0, greet, sizeof(greet) - 1);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_STR(info, "8.0.36-fake");
	UT_EQ_INT(custom("mysql-handshake", buf, n - 1, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("mysql-handshake", buf, n - 1, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_CHECK(strstr(info, "incomplete") != NULL);
	UT_EQ_INT(custom("mysql-handshake", buf, 3, 0, &code, info), TCPCHK_MORE);
	/* protocol 9, version without its NUL */
	n = mysql_pkt(buf, 0, "\x09" "3.23", 5);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_OK);
	UT_EQ_STR(info, "3.23");
	/* error packets, with and without SQL state, and without message */
	n = mysql_pkt(buf, 0, "\xff\x69\x04Host is blocked", 18);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "Host is blocked");
	n = mysql_pkt(buf, 2, "\xff\x15\x04#28000Access denied\r\n", 24);
	UT_EQ_INT(custom("mysql-ok", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "Access denied..");
	n = mysql_pkt(buf, 0, "\xff\x15\x04", 3);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "MySQL error 1045");
	n = mysql_pkt(buf, 0, "\xff\x15\x04#2800", 8);	/* truncated SQL state */
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "MySQL error 1045");
	n = mysql_pkt(buf, 0, "\xff\x15", 2);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	/* zero length, unknown protocol, huge lying length */
	n = mysql_pkt(buf, 0, "", 0);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	n = mysql_pkt(buf, 0, "\x0b" "x", 2);
	UT_EQ_INT(custom("mysql-handshake", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	memcpy(buf, "\xff\xff\xff\x00\x0a" "5.7", 8);
	UT_EQ_INT(custom("mysql-handshake", buf, 8, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("mysql-handshake", buf, 8, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);

	/* the answer to the authentication */
	n = mysql_pkt(buf, 2, "\x00\x00\x00\x02\x00\x00\x00", 7);
	UT_EQ_INT(custom("mysql-ok", buf, n, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OK);
	n = mysql_pkt(buf, 2, "\xfe" "caching_sha2_password", 22);
	UT_EQ_INT(custom("mysql-ok", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_EQ_INT(custom("mysql-ok", buf, 2, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("mysql-ok", "", 0, 0, &code, info), TCPCHK_MORE);
}

static size_t pg_msg(uint8_t *out, char type, const void *body, size_t n)
{
	uint32_t len = htonl((uint32_t)n + 4);

	out[0] = (uint8_t)type;
	memcpy(out + 1, &len, 4);
	memcpy(out + 5, body, n);
	return n + 5;
}

static void test_pgsql_replies(void)
{
	static const char fields[] = "SFATAL\0C28000\0Mrole \"monitor\" does not exist\0\0";
	uint8_t buf[256];
	enum check_code code;
	char info[128];
	size_t n;

	n = pg_msg(buf, 'R', "\0\0\0\0", 4);
	UT_EQ_INT(custom("pgsql", buf, n, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_STR(info, "PostgreSQL server is ok");
	n = pg_msg(buf, 'R', "\0\0\0\x05salt", 8);	/* MD5 password request */
	UT_EQ_INT(custom("pgsql", buf, n, 0, &code, info), TCPCHK_OK);
	UT_EQ_INT(custom("pgsql", buf, n - 1, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("pgsql", buf, n - 1, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_EQ_INT(custom("pgsql", "R", 1, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("pgsql", "", 0, 1, &code, info), TCPCHK_FAIL);
	/* errors: message field, none, truncated, lying lengths */
	n = pg_msg(buf, 'E', fields, sizeof(fields) - 1);
	UT_EQ_INT(custom("pgsql", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "role \"monitor\" does not exist");
	UT_EQ_INT(custom("pgsql", buf, 20, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("pgsql", buf, 20, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "PostgreSQL error without a message");
	UT_EQ_INT(custom("pgsql", buf, 30, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "role \"moni");	/* the message as far as it came */
	n = pg_msg(buf, 'E', "SFATAL\0\0", 8);
	UT_EQ_INT(custom("pgsql", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "PostgreSQL error without a message");
	n = pg_msg(buf, 'E', "", 0);
	UT_EQ_INT(custom("pgsql", buf, n, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_INT(custom("pgsql", "E\0\0\0\x02", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_EQ_INT(custom("pgsql", "R\0\0\0\x04", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("pgsql", "R\xff\xff\xff\xff", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("pgsql", "R\x7f\xff\xff\xff\0\0\0\0", 9, 0, &code, info), TCPCHK_MORE);
	UT_EQ_INT(custom("pgsql", "R\x7f\xff\xff\xff\0\0\0\0", 9, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(custom("pgsql", "E\0\0\0\x10Mabc", 9, 1, &code, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "abc");
	UT_EQ_INT(custom("pgsql", "N\0\0\0\x04", 5, 0, &code, info), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7RSP);
}

/* A custom rule through tcpcheck_expect: the comment replaces the reason. */
static void test_custom_through_expect(void)
{
	struct tcpcheck_rule r;
	enum check_code code;
	char info[128];

	memset(&r, 0, sizeof(r));
	r.act = TCPCHK_ACT_EXPECT;
	r.expect.type = TCPCHK_EXP_CUSTOM;
	r.expect.custom = tcpcheck_custom_by_name("pgsql");
	r.expect.err_code = CHK_L7RSP;
	UT_EQ_INT(tcpcheck_expect(&r, (const uint8_t *)"R\0\0\0\x08\0\0\0\0", 9, 0, 1, &code, info,
				  sizeof(info)), TCPCHK_OK);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_INT(tcpcheck_expect_consumed(&r, (const uint8_t *)"R\0\0\0\x08\0\0\0\0", 9), 9);
	r.comment = "db refused us";
	UT_EQ_INT(tcpcheck_expect(&r, (const uint8_t *)"E\0\0\0\x04", 5, 0, 1, &code, info,
				  sizeof(info)), TCPCHK_FAIL);
	UT_EQ_INT(code, CHK_L7STS);
	UT_EQ_STR(info, "db refused us");
}

/* ---- agent replies -------------------------------------------------------- */

static enum tcpcheck_verdict agent(const char *s, size_t n, int last, struct agent_reply *a,
				   char *info)
{
	return agent_parse_reply((const uint8_t *)s, n, last, a, info, 128);
}

static void test_agent(void)
{
	struct agent_reply a;
	char info[128];

	UT_EQ_INT(agent(S("75%\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_WEIGHT);
	UT_EQ_INT(a.weight_pct, 75);
	UT_EQ_INT(agent(S("75%"), 0, &a, info), TCPCHK_MORE);
	UT_EQ_INT(agent(S("75%"), 1, &a, info), TCPCHK_OK);
	UT_EQ_INT(agent(S("up 50% #fine\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_UP | AGENT_R_WEIGHT);
	UT_EQ_INT(a.weight_pct, 50);
	UT_EQ_STR(a.desc, "fine");
	UT_EQ_INT(agent(S("drain"), 1, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_DRAIN);
	UT_EQ_INT(agent(S("maint,down#reason \r\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_MAINT | AGENT_R_DOWN);
	UT_EQ_STR(a.state_word, "down");
	UT_EQ_STR(a.desc, "reason");
	UT_EQ_INT(agent(S("STOPPED\tREADY,MaxConn:40 200%\r\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_DOWN | AGENT_R_READY | AGENT_R_MAXCONN | AGENT_R_WEIGHT);
	UT_EQ_STR(a.state_word, "stopped");
	UT_EQ_INT(a.maxconn, 40);
	UT_EQ_INT(a.weight_pct, 200);
	/* the last of up/down and of ready/drain/maint wins */
	UT_EQ_INT(agent(S("down fail up drain maint ready\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_UP | AGENT_R_READY);
	UT_EQ_INT(agent(S("fail\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_STR(a.state_word, "fail");
	/* unknown words are skipped; only the first line counts */
	UT_EQ_INT(agent(S("hello up\nmaint\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.flags, AGENT_R_UP);
	UT_EQ_INT(agent(S("999999999%\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.weight_pct, 100000);
	UT_EQ_INT(agent(S("maxconn:99999999999999999999\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.maxconn, 4294967295u);
	/* nothing understood */
	UT_EQ_INT(agent(S("\r\n"), 0, &a, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "invalid agent reply (empty line)");
	UT_EQ_INT(agent(S("garbage %% 5.5% maxconn: -3%\n"), 0, &a, info), TCPCHK_FAIL);
	UT_EQ_STR(info, "invalid agent reply (no word understood)");
	UT_EQ_INT(agent(S("#just a note\n"), 0, &a, info), TCPCHK_FAIL);
	UT_EQ_INT(agent("", 0, 1, &a, info), TCPCHK_FAIL);
	UT_EQ_INT(agent("", 0, 0, &a, info), TCPCHK_MORE);
	UT_EQ_INT(agent(S("up\0down\n"), 0, &a, info), TCPCHK_FAIL);	/* "up\0down" is one word */
	/* a long description is cut, control characters are masked */
	UT_EQ_INT(agent(S("down # a\x01" "b\n"), 0, &a, info), TCPCHK_OK);
	UT_EQ_STR(a.desc, "a.b");

}

/* A 10 KB line without a newline is judged once nothing more comes. */
static void test_agent_long_line(void)
{
	struct agent_reply a;
	char info[128], *big;

	big = malloc(10240);
	if (!big)
		return;
	memset(big, 'x', 10240);
	memcpy(big + 10240 - 8, " 25% #zz", 8);
	UT_EQ_INT(agent(big, 10240, 0, &a, info), TCPCHK_MORE);
	UT_EQ_INT(agent(big, 10240, 1, &a, info), TCPCHK_OK);
	UT_EQ_INT(a.weight_pct, 25);
	UT_EQ_STR(a.desc, "zz");
	memset(big, 'd', 10240);
	big[0] = '#';
	UT_EQ_INT(agent(big, 10240, 1, &a, info), TCPCHK_FAIL);
	UT_EQ_INT(strlen(a.desc), sizeof(a.desc) - 1);
	free(big);
}

/* ---- send-lf -------------------------------------------------------------- */

static void test_send_lf(void)
{
	struct config conf;
	struct tcpcheck_ruleset *rs;
	struct server s;
	struct proxy px;
	struct sockaddr_in *sin = (struct sockaddr_in *)&s.addr;
	char out[128];
	long n;
	int errors;

	errors = load(&conf, BE("  option tcp-check\n"
				"  tcp-check send-lf \"hello %s of %b at %si:%sp 100%%\\r\\n\"\n"
				"  tcp-check send-lf %b%s\n"));
	rs = rules_of(&conf, "be");
	UT_CHECK(errors == 0 && rs && rs->nrules == 2);
	if (!rs || rs->nrules != 2) {
		config_free(&conf);
		return;
	}
	memset(&s, 0, sizeof(s));
	memset(&px, 0, sizeof(px));
	px.name = "pool";
	s.px = &px;
	s.name = "db1";
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5432);
	inet_pton(AF_INET, "10.0.0.7", &sin->sin_addr);
	n = tcpcheck_send_lf(&rs->rules[0], &s, out, sizeof(out));
	UT_EQ_INT(n, (long)strlen("hello db1 of pool at 10.0.0.7:5432 100%\r\n"));
	UT_EQ_STR(out, "hello db1 of pool at 10.0.0.7:5432 100%\r\n");
	/* the check's own address and port when set */
	s.chk.port = 9000;
	sin = (struct sockaddr_in *)&s.chk.addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.8", &sin->sin_addr);
	n = tcpcheck_send_lf(&rs->rules[0], &s, out, sizeof(out));
	UT_EQ_STR(out, "hello db1 of pool at 10.0.0.8:9000 100%\r\n");
	UT_EQ_INT(tcpcheck_send_lf(&rs->rules[0], &s, out, 10), -1);
	n = tcpcheck_send_lf(&rs->rules[1], &s, out, 7);
	UT_EQ_INT(n, 7);
	UT_CHECK(!memcmp(out, "pooldb1", 7));
	UT_EQ_INT(tcpcheck_send_lf(&rs->rules[1], &s, out, 6), -1);
	config_free(&conf);
}

int main(void)
{
	test_codes();
	test_parse_script();
	test_parse_errors();
	test_parse_errors_more();
	test_rules_need_option();
	test_inheritance();
	test_last_option_wins();
	test_builtin_ssl_redis();
	test_builtin_mysql();
	test_builtin_pgsql_and_errors();
	test_expect_string();
	test_expect_binary_and_regex();
	config_free(&expect_conf);
	test_ssl_hello_reply();
	test_mysql_replies();
	test_pgsql_replies();
	test_custom_through_expect();
	test_agent();
	test_agent_long_line();
	test_send_lf();
	UT_DONE();
}
