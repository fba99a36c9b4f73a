/* test_tcp_rules.c - tcp-request/tcp-response rules, use_backend,
 * use-server and variables.
 *
 * Keywords and their errors go through the real config loader; evaluation
 * runs the loaded rules on a fake session (a zeroed struct session with
 * its frontend) and a sample context holding the client's address and the
 * bytes "received" so far, with real fetches and conditions.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>
#include <sluice/server.h>
#include <sluice/session.h>
#include <sluice/tcp_rules.h>
#include <sluice/vars.h>

#include "ut.h"
#include "ut_cfg.h"
#include "ut_smp.h"

static char messages[16384];

static void expect_errors(const char *text, int want, const char *needle)
{
	ut_expect_errors(text, want, needle, messages, sizeof(messages));
}

static int load(struct config *conf, const char *text)
{
	int errors = ut_load_config(conf, text, 1, messages, sizeof(messages));

	if (errors)
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	return errors;
}

/* ------------------------------------------------------------------ */
/* A fake session and what its rules see                              */

struct fake {
	struct session s;
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];
};

static void fake_init(struct fake *f, const struct config *conf, struct proxy *fe,
		      const char *ip, unsigned dport)
{
	memset(f, 0, sizeof(*f));
	f->s.fe = fe;
	ut_set_ip(&f->src, ip, 40000);
	ut_set_ip(&f->dst, "192.0.2.1", dport);
	ut_smp_ctx_init(&f->ctx, f->scratch, sizeof(f->scratch));
	f->ctx.sess = &f->s;
	f->ctx.src = &f->src;
	f->ctx.dst = &f->dst;
	f->ctx.fe = fe;
	f->ctx.be = fe;
	f->ctx.conf = conf;
}

static void fake_data(struct fake *f, const char *req)
{
	f->ctx.req = req;
	f->ctx.req_len = strlen(req);
}

static void fake_free(struct fake *f)
{
	vars_free(f->s.vars);
	f->s.vars = NULL;
}

/* Read a variable as text through the var() fetch, into out. */
static const char *var_text(struct fake *f, const char *expr, char *out, size_t size)
{
	char err[256];
	struct sample_expr *e = sample_parse_expr(expr, err, sizeof(err));
	struct sample smp;

	out[0] = '\0';
	if (!e) {
		fprintf(stderr, "%s: %s\n", expr, err);
		return NULL;
	}
	if (!sample_eval(e, &f->ctx, &smp) || !sample_cast(&smp, SMP_T_STR, &f->ctx)) {
		sample_free_expr(e);
		return NULL;
	}
	snprintf(out, size, "%.*s", (int)smp.u.str.len, smp.u.str.ptr);
	sample_free_expr(e);
	return out;
}

/* ------------------------------------------------------------------ */
/* Keywords: what a good configuration builds                         */

static const char good_cfg[] =
	"frontend f1\n"
	"  bind 127.0.0.1:18481\n"
	"  tcp-request connection expect-proxy layer4 if { src 10.0.0.1 }\n"
	"  tcp-request connection reject if { src 10.0.0.2 }\n"
	"  tcp-request connection silent-drop if { src 10.0.0.3 }\n"
	"  tcp-request connection set-var(sess.port) src_port\n"
	"  tcp-request connection set-var(proc.last) src\n"
	"  tcp-request session unset-var(sess.port) if { src 10.0.0.4 }\n"
	"  tcp-request session accept\n"
	"  tcp-request inspect-delay 5s\n"
	"  tcp-request content set-var(txn.first) req.payload(0,3)\n"
	"  tcp-request content reject if { req.payload(0,3) 424144 }\n"
	"  tcp-request content accept if { req.len ge 8 }\n"
	"  tcp-request content accept if WAIT_END\n"
	"  use_backend bk_%[req.payload(0,3)] if { req.len ge 3 }\n"
	"  use_backend static_be if { src 10.0.0.9 }\n"
	"  default_backend dflt\n"
	"frontend f3\n"
	"  bind 127.0.0.1:18482\n"
	"  use_backend p%[dst_port]\n"
	"  use_backend a%%b if FALSE\n"
	"frontend bk_fe\n"
	"  bind 127.0.0.1:18483\n"
	"  default_backend dflt\n"
	"backend bk_one\n  server a 127.0.0.1:1\n"
	"backend static_be\n  server a 127.0.0.1:1\n"
	"backend dflt\n  server a 127.0.0.1:1\n"
	"backend p443\n  server a 127.0.0.1:1\n"
	"backend b1\n"
	"  acl from5 src 10.0.0.5\n"
	"  use-server s2 if from5\n"
	"  use-server s3 if TRUE\n"
	"  tcp-request content reject if { src 10.0.0.6 }\n"
	"  tcp-request content reject unless { src 10.0.0.0/24 }\n"
	"  tcp-response inspect-delay 2s\n"
	"  tcp-response content close if { src 10.0.0.7 }\n"
	"  tcp-response content accept\n"
	"  server s1 127.0.0.1:1\n"
	"  server s2 127.0.0.1:2\n"
	"  server s3 127.0.0.1:3 weight 0\n";

static void test_good_config(void)
{
	struct config conf;
	struct proxy *f1, *b1;

	UT_EQ_INT(load(&conf, good_cfg), 0);
	UT_CHECK(strstr(messages, "will not wait") == NULL);
	f1 = config_find_proxy(&conf, "f1", PX_CAP_FE);
	b1 = config_find_proxy(&conf, "b1", PX_CAP_BE);
	UT_CHECK(f1 && b1);
	if (!f1 || !b1)
		goto out;
	UT_EQ_INT(f1->rules.inspect_delay, 5000);
	UT_EQ_INT(b1->rules.res_inspect_delay, 2000);
	UT_EQ_INT(f1->rules.expect_proxy, 1);
	UT_EQ_INT(b1->rules.expect_proxy, 0);
	UT_CHECK(tcp_rules_has(f1, TCP_RULES_CONNECTION));
	UT_CHECK(tcp_rules_has(f1, TCP_RULES_SESSION));
	UT_CHECK(tcp_rules_has(f1, TCP_RULES_CONTENT));
	UT_CHECK(!tcp_rules_has(f1, TCP_RULES_RESPONSE));
	UT_CHECK(!tcp_rules_has(b1, TCP_RULES_CONNECTION));
	UT_CHECK(tcp_rules_has(b1, TCP_RULES_CONTENT));
	UT_CHECK(tcp_rules_has(b1, TCP_RULES_RESPONSE));
out:
	config_free(&conf);
}

/* inspect-delay is the one rule keyword a defaults section may hold */
static void test_defaults_delay(void)
{
	struct config conf;
	struct proxy *f, *b;

	UT_EQ_INT(load(&conf, "defaults\n  tcp-request inspect-delay 3s\n"
		       "  tcp-response inspect-delay 1s\n"
		       "frontend f\n  bind 127.0.0.1:18484\n  default_backend b\n"
		       "  tcp-request content accept if { req.len ge 1 }\n"
		       "backend b\n  server a 127.0.0.1:1\n"), 0);
	f = config_find_proxy(&conf, "f", PX_CAP_FE);
	b = config_find_proxy(&conf, "b", PX_CAP_BE);
	UT_CHECK(f && b);
	if (f && b) {
		UT_EQ_INT(f->rules.inspect_delay, 3000);
		UT_EQ_INT(b->rules.res_inspect_delay, 1000);
		if (f->rules.inspect_delay != 3000)
			fprintf(stderr, "  (proxy.c's inherit_defaults() must call tcp_rules_inherit())\n");
	}
	UT_CHECK(strstr(messages, "will not wait") == NULL);
	config_free(&conf);
}

/* ------------------------------------------------------------------ */
/* Keywords: every error, with its file and line                      */

#define FE "frontend f\n  bind 127.0.0.1:18485\n  default_backend b\n"
#define BE "backend b\n  server s1 127.0.0.1:1\n"

static void test_section_errors(void)
{
	expect_errors("defaults\n  tcp-request connection reject\n", 1,
		      ":2: 'tcp-request connection' is not allowed in a defaults section: put it in a frontend or listen section");
	expect_errors("defaults\n  tcp-request content reject\n", 1,
		      ":2: 'tcp-request content' is not allowed in a defaults section: put it in a frontend or backend or listen section");
	expect_errors(BE "  tcp-request connection reject\n", 1,
		      ":3: 'tcp-request connection' is not allowed in a backend section");
	expect_errors(BE "  tcp-request session accept\n", 1,
		      ":3: 'tcp-request session' is not allowed in a backend section");
	expect_errors(FE "  tcp-response content accept\n" BE, 1,
		      ":4: 'tcp-response content' is not allowed in a frontend section: put it in a backend or listen section");
	expect_errors(FE "  tcp-response inspect-delay 1s\n" BE, 1,
		      ":4: 'tcp-response inspect-delay' is not allowed in a frontend section: put it in a defaults or backend or listen section");
	expect_errors("defaults\n  tcp-response content accept\n", 1,
		      ":2: 'tcp-response content' is not allowed in a defaults section");
	expect_errors(BE "  use_backend b\n", 1,
		      ":3: 'use_backend' is not allowed in a backend section: put it in a frontend or listen section");
	expect_errors("defaults\n  use_backend b\n", 1,
		      ":2: 'use_backend' is not allowed in a defaults section");
	expect_errors(FE "  use-server s1 if TRUE\n" BE, 1,
		      ":4: 'use-server' is not allowed in a frontend section: put it in a backend or listen section");
}

static void test_action_errors(void)
{
	expect_errors(FE "  tcp-request connection track-sc0 src\n" BE, 1,
		      ":4: 'track-sc0': proxy 'f' has no stick-table");
	expect_errors(FE "  tcp-request connection track-sc3 src\n" BE, 1,
		      ":4: 'tcp-request connection': unknown action 'track-sc3': sluice has the stick counters track-sc0");
	expect_errors(FE "  tcp-request content sc-inc-gpc0(3)\n" BE, 1,
		      ":4: 'tcp-request content': 'sc-inc-gpc0(3)' expects a stick counter 0, 1 or 2");
	expect_errors(FE "  tcp-request content sc-set-gpt0(0)\n" BE, 1,
		      ":4: 'tcp-request content sc-set-gpt0(0)' expects a value");
	expect_errors(FE "  tcp-request content sc-frob(0)\n" BE, 1,
		      ":4: 'tcp-request content': unknown action 'sc-frob(0)'");
	expect_errors("backend b\n  stick-table type ip size 10\n  tcp-response content track-sc0 src\n"
		      "  server s1 127.0.0.1:1\n", 1,
		      ":3: 'tcp-response content': action 'track-sc0' is only valid in 'tcp-request' rules");
	expect_errors(FE "  tcp-request content capture req.payload(0,4) len 4\n" BE, 1,
		      ":4: 'tcp-request content': action 'capture' is not implemented in sluice");
	expect_errors(FE "  tcp-request content use-service lua.x\n" BE, 1,
		      "action 'use-service' is not implemented in sluice");
	expect_errors(FE "  tcp-request content set-dst ipv4(10.0.0.1)\n" BE, 1,
		      "action 'set-dst' is not implemented in sluice");
	expect_errors(FE "  tcp-request connection frobnicate\n" BE, 1,
		      ":4: 'tcp-request connection': unknown action 'frobnicate'");
	expect_errors(BE "  tcp-response content frobnicate\n", 1,
		      "unknown action 'frobnicate' (expects accept, reject, silent-drop, close,");
	expect_errors(FE "  tcp-request content expect-proxy layer4\n" BE, 1,
		      ":4: 'tcp-request content': action 'expect-proxy' is only valid in 'tcp-request connection' rules");
	expect_errors(FE "  tcp-request connection expect-proxy layer7\n" BE, 1,
		      ":4: 'tcp-request connection expect-proxy' expects 'layer4', got 'layer7'");
	expect_errors(FE "  tcp-request connection expect-proxy\n" BE, 1,
		      "expects 'layer4'");
	expect_errors(FE "  tcp-request content close\n" BE, 1,
		      ":4: 'tcp-request content': action 'close' is only valid in 'tcp-response content' rules");
	expect_errors(FE "  tcp-request session expect-proxy layer4\n" BE, 1,
		      "only valid in 'tcp-request connection' rules");
}

static void test_syntax_errors(void)
{
	expect_errors(FE "  tcp-request bogus accept\n" BE, 1,
		      ":4: 'tcp-request': unknown rule type 'bogus'");
	expect_errors(FE "  tcp-request\n" BE, 1,
		      ":4: 'tcp-request' expects 'connection', 'session', 'content' or 'inspect-delay'");
	expect_errors(BE "  tcp-response bogus\n", 1, ":3: 'tcp-response': unknown rule type 'bogus'");
	expect_errors(FE "  tcp-request connection\n" BE, 1,
		      ":4: 'tcp-request connection' expects an action");
	expect_errors(FE "  tcp-request inspect-delay abc\n" BE, 1,
		      ":4: 'tcp-request inspect-delay' expects a time like 5s, got 'abc'");
	expect_errors(FE "  tcp-request inspect-delay\n" BE, 1,
		      ":4: 'tcp-request inspect-delay' expects one time");
	expect_errors(FE "  tcp-request content reject foo\n" BE, 1,
		      ":4: 'tcp-request content': unexpected 'foo': expects 'if' or 'unless' followed by a condition");
	expect_errors(FE "  tcp-request content reject if\n" BE, 1,
		      ":4: 'tcp-request content': 'if' must be followed by a condition");
	expect_errors(FE "  tcp-request content accept if NO_SUCH_ACL\n" BE, 1, ":4: ");
	expect_errors(FE "  no tcp-request content accept\n" BE, 1, ":4: 'no' is not supported");
}

static void test_var_errors(void)
{
	expect_errors(FE "  tcp-request content set-var(txn.x)\n" BE, 1,
		      ":4: 'tcp-request content set-var(txn.x)' expects a sample expression");
	expect_errors(FE "  tcp-request content set-var(txn.x) if TRUE\n" BE, 1,
		      "expects a sample expression");
	expect_errors(FE "  tcp-request content set-var(bad.x) src\n" BE, 1,
		      ":4: 'tcp-request content': variable 'bad.x' has no valid scope");
	expect_errors(FE "  tcp-request content set-var(txn.x src\n" BE, 1,
		      ":4: 'tcp-request content': missing ')' in 'set-var(txn.x'");
	expect_errors(FE "  tcp-request content set-var(txn.a-b) src\n" BE, 1,
		      "invalid character '-'");
	expect_errors(FE "  tcp-request content set-var(txn.) src\n" BE, 1,
		      "has an empty name after its scope");
	expect_errors(FE "  tcp-request content set-var(txn.x) nosuchfetch\n" BE, 1,
		      ":4: 'tcp-request content set-var(txn.x)': unknown fetch method 'nosuchfetch'");
	expect_errors(FE "  tcp-request connection unset-var(foo)\n" BE, 1,
		      ":4: 'tcp-request connection': variable 'foo' has no valid scope");
	expect_errors(FE "  tcp-request content set-var-fmt(txn.x) abc\n" BE, 1,
		      "action 'set-var-fmt(txn.x)' is not implemented in sluice");
}

static void test_switch_errors(void)
{
	expect_errors(FE "  use_backend\n" BE, 1, ":4: 'use_backend' expects a backend name");
	expect_errors(FE "  use_backend if TRUE\n" BE, 1, ":4: 'use_backend' expects a backend name");
	expect_errors(FE "  use_backend nosuch if TRUE\n" BE, 1, ":4: use_backend 'nosuch': no such backend");
	expect_errors(FE "  use_backend other\n" BE "frontend other\n  bind 127.0.0.1:18486\n  default_backend b\n",
		      1, ":4: use_backend 'other': 'other' is a frontend, not a backend");
	expect_errors(FE "  use_backend b extra\n" BE, 1, ":4: 'use_backend': unexpected 'extra'");
	expect_errors(FE "  use_backend bk_%[src\n" BE, 1, ":4: 'use_backend bk_%[src': missing ']' after '%['");
	expect_errors(FE "  use_backend bk_%ci\n" BE, 1,
		      ":4: 'use_backend bk_%ci': only '%[expression]' and '%%' are supported in a backend name, got '%c'");
	expect_errors(FE "  use_backend bk_%[nosuch]\n" BE, 1,
		      ":4: 'use_backend bk_%[nosuch]': unknown fetch method 'nosuch'");
	expect_errors(BE "  use-server s9 if TRUE\n", 1, ":3: use-server 's9': backend 'b' has no server 's9'");
	expect_errors(BE "  use-server s1\n", 1,
		      ":3: 'use-server' expects a server name then 'if' or 'unless' and a condition");
	expect_errors(BE "  use-server s1 foo TRUE\n", 1, ":3: 'use-server' expects a server name");
	expect_errors(BE "  use-server s1 if\n", 1, ":3: 'use-server' expects a server name");
}

/* HAProxy warns when content rules look at data nobody waits for. */
static void test_blind_content_warning(void)
{
	expect_errors(FE "  tcp-request content reject if { req.len ge 1 }\n" BE, 0,
		      ":4: warning: frontend 'f': 'tcp-request content' rule reads the request's contents but will not wait for data; add 'tcp-request inspect-delay'");
	expect_errors(FE "  tcp-request content reject if { src 10.0.0.1 }\n" BE, 0, NULL);
	UT_CHECK(strstr(messages, "will not wait") == NULL);
	expect_errors(FE "  tcp-request inspect-delay 1s\n  tcp-request content reject if { req.len ge 1 }\n" BE,
		      0, NULL);
	UT_CHECK(strstr(messages, "will not wait") == NULL);
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                         */

static void test_connection_rules(const struct config *conf, struct proxy *f1)
{
	struct fake f;
	unsigned pos = 0;
	char buf[64];
	uint64_t denied = atomic_load(&f1->ctr.denied_conn);

	fake_init(&f, conf, f1, "10.0.0.1", 80);
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONNECTION, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_CHECK(f.s.flags & SF_EXPECT_PROXY);
	UT_EQ_STR(var_text(&f, "var(sess.port)", buf, sizeof(buf)), "40000");
	UT_EQ_STR(var_text(&f, "var(proc.last)", buf, sizeof(buf)), "10.0.0.1");
	/* session rules: unset-var only for 10.0.0.4, then accept */
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_SESSION, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_EQ_STR(var_text(&f, "var(sess.port)", buf, sizeof(buf)), "40000");
	fake_free(&f);

	fake_init(&f, conf, f1, "10.0.0.4", 80);
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONNECTION, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_CHECK(!(f.s.flags & SF_EXPECT_PROXY));
	UT_CHECK(var_text(&f, "var(sess.port)", buf, sizeof(buf)) != NULL);
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_SESSION, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_CHECK(var_text(&f, "var(sess.port)", buf, sizeof(buf)) == NULL);
	UT_EQ_STR(var_text(&f, "var(sess.port,none)", buf, sizeof(buf)), "none");
	/* proc variables are shared by every session */
	UT_EQ_STR(var_text(&f, "var(proc.last)", buf, sizeof(buf)), "10.0.0.4");
	fake_free(&f);

	fake_init(&f, conf, f1, "10.0.0.2", 80);
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONNECTION, &f.s, &f.ctx, &pos, 1), TCP_V_REJECT);
	UT_EQ_INT(atomic_load(&f1->ctr.denied_conn), denied + 1);
	UT_EQ_INT(pos, 0);
	UT_CHECK(f.s.vars == NULL);	/* stopped before any set-var */
	fake_init(&f, conf, f1, "10.0.0.3", 80);
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONNECTION, &f.s, &f.ctx, &pos, 1), TCP_V_SILENT_DROP);
	UT_EQ_INT(atomic_load(&f1->ctr.denied_conn), denied + 1);
}

static void test_content_waits(const struct config *conf, struct proxy *f1)
{
	struct fake f;
	unsigned pos = 0;
	char buf[64];

	/* nothing yet: the reject rule cannot tell, so the set waits */
	fake_init(&f, conf, f1, "10.0.0.8", 80);
	fake_data(&f, "");
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 0), TCP_V_WAIT);
	UT_EQ_INT(pos, 0);
	UT_CHECK(var_text(&f, "var(txn.first)", buf, sizeof(buf)) == NULL);
	/* more data: the whole set runs again, the set-var before the
	 * waiting rule sees the new bytes, and the reject now decides */
	fake_data(&f, "BADxx");
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 0), TCP_V_REJECT);
	UT_EQ_INT(pos, 0);
	UT_EQ_STR(var_text(&f, "var(txn.first)", buf, sizeof(buf)), "BAD");
	fake_free(&f);

	/* a start position is honoured (for actions that suspend) */
	fake_init(&f, conf, f1, "10.0.0.8", 80);
	fake_data(&f, "GOODDATA");
	pos = 1;
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 0), TCP_V_ACCEPT);
	UT_CHECK(var_text(&f, "var(txn.first)", buf, sizeof(buf)) == NULL);
	UT_EQ_INT(pos, 0);
	fake_free(&f);

	fake_init(&f, conf, f1, "10.0.0.8", 80);
	fake_data(&f, "GOOD");
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 0), TCP_V_WAIT);
	UT_EQ_STR(var_text(&f, "var(txn.first)", buf, sizeof(buf)), "GOO");
	/* still short, but the delay expired: WAIT_END holds, never WAIT */
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_EQ_INT(pos, 0);
	fake_free(&f);

	fake_init(&f, conf, f1, "10.0.0.8", 80);
	fake_data(&f, "GOODDATA");
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 0), TCP_V_ACCEPT);
	UT_EQ_STR(var_text(&f, "var(txn.first)", buf, sizeof(buf)), "GOO");
	fake_free(&f);

	/* final with nothing: the reject cannot match, WAIT_END accepts */
	fake_init(&f, conf, f1, "10.0.0.8", 80);
	fake_data(&f, "");
	UT_EQ_INT(tcp_rules_run(f1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	fake_free(&f);
}

static void test_backend_rules(const struct config *conf, struct proxy *f1, struct proxy *b1)
{
	struct fake f;
	unsigned pos = 0;
	uint64_t fe_denied = atomic_load(&f1->ctr.denied_conn);

	fake_init(&f, conf, f1, "10.0.0.6", 80);
	f.ctx.be = b1;
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 1), TCP_V_REJECT);
	UT_EQ_INT(atomic_load(&f1->ctr.denied_conn), fe_denied + 1);
	UT_EQ_INT(atomic_load(&b1->ctr.denied_conn), 1);
	fake_init(&f, conf, f1, "10.0.0.7", 80);
	f.ctx.be = b1;
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_RESPONSE, &f.s, &f.ctx, &pos, 1), TCP_V_CLOSE);
	fake_init(&f, conf, f1, "10.0.0.8", 80);
	f.ctx.be = b1;
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_RESPONSE, &f.s, &f.ctx, &pos, 1), TCP_V_ACCEPT);
	fake_init(&f, conf, f1, "10.0.1.8", 80);
	f.ctx.be = b1;
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_CONTENT, &f.s, &f.ctx, &pos, 1), TCP_V_REJECT);
	UT_EQ_INT(atomic_load(&b1->ctr.denied_conn), 2);
	/* a proxy without rules in a set accepts */
	UT_EQ_INT(tcp_rules_run(b1, TCP_RULES_SESSION, &f.s, &f.ctx, &pos, 0), TCP_V_ACCEPT);
}

static void test_use_backend(const struct config *conf, struct proxy *f1, struct proxy *f3)
{
	struct proxy *bk_one = config_find_proxy(conf, "bk_one", PX_CAP_BE);
	struct proxy *static_be = config_find_proxy(conf, "static_be", PX_CAP_BE);
	struct proxy *p443 = config_find_proxy(conf, "p443", PX_CAP_BE);
	struct fake f;

	UT_CHECK(bk_one && static_be && p443);
	fake_init(&f, conf, f1, "10.0.0.9", 80);
	fake_data(&f, "onexyz");
	UT_CHECK(tcp_rules_use_backend(f1, &f.ctx) == bk_one);
	/* dynamic name of no backend: evaluation stops (HAProxy), the
	 * matching static rule after it is not used */
	fake_data(&f, "zzzxyz");
	UT_CHECK(tcp_rules_use_backend(f1, &f.ctx) == NULL);
	/* a frontend by that name is not a backend */
	fake_data(&f, "fexyz");
	UT_CHECK(tcp_rules_use_backend(f1, &f.ctx) == NULL);
	/* first rule does not match: the static one does */
	fake_data(&f, "on");
	UT_CHECK(tcp_rules_use_backend(f1, &f.ctx) == static_be);
	fake_init(&f, conf, f1, "10.0.0.10", 80);
	fake_data(&f, "on");
	UT_CHECK(tcp_rules_use_backend(f1, &f.ctx) == NULL);
	/* integers render as text */
	fake_init(&f, conf, f3, "10.0.0.10", 443);
	UT_CHECK(tcp_rules_use_backend(f3, &f.ctx) == p443);
	fake_init(&f, conf, f3, "10.0.0.10", 444);
	UT_CHECK(tcp_rules_use_backend(f3, &f.ctx) == NULL);
	UT_CHECK(tcp_rules_use_backend(config_find_proxy(conf, "bk_fe", PX_CAP_FE), &f.ctx) == NULL);
}

static void test_use_server(const struct config *conf, struct proxy *f1, struct proxy *b1)
{
	struct server *s2 = server_find(b1, "s2"), *s3 = server_find(b1, "s3");
	struct fake f;

	UT_CHECK(s2 && s3);
	if (!s2 || !s3)
		return;
	fake_init(&f, conf, f1, "10.0.0.5", 80);
	f.ctx.be = b1;
	UT_CHECK(tcp_rules_use_server(b1, &f.ctx) == s2);
	/* a down server is skipped; weight 0 does not stop use-server */
	atomic_store(&s2->state, SRV_ST_DOWN);
	UT_CHECK(tcp_rules_use_server(b1, &f.ctx) == s3);
	atomic_store(&s3->admin, SRV_ADMF_DRAIN);
	UT_CHECK(tcp_rules_use_server(b1, &f.ctx) == s3);
	atomic_store(&s3->admin, SRV_ADMF_MAINT);
	UT_CHECK(tcp_rules_use_server(b1, &f.ctx) == NULL);
	atomic_store(&s3->admin, 0);
	atomic_store(&s2->state, SRV_ST_UP);
	fake_init(&f, conf, f1, "10.0.0.50", 80);
	UT_CHECK(tcp_rules_use_server(b1, &f.ctx) == s3);
	UT_CHECK(tcp_rules_use_server(f1, &f.ctx) == NULL);
}

static void test_evaluation(void)
{
	struct config conf;
	struct proxy *f1, *f3, *b1;

	if (load(&conf, good_cfg)) {
		UT_CHECK(0);
		config_free(&conf);
		return;
	}
	f1 = config_find_proxy(&conf, "f1", PX_CAP_FE);
	f3 = config_find_proxy(&conf, "f3", PX_CAP_FE);
	b1 = config_find_proxy(&conf, "b1", PX_CAP_BE);
	test_connection_rules(&conf, f1);
	test_content_waits(&conf, f1);
	test_backend_rules(&conf, f1, b1);
	test_use_backend(&conf, f1, f3);
	test_use_server(&conf, f1, b1);
	config_free(&conf);
}

/* ------------------------------------------------------------------ */
/* Variables directly                                                 */

static void test_vars_names(void)
{
	char err[256];
	int a = vars_name_id("txn.api_a", err, sizeof(err));

	UT_CHECK(a >= 0);
	UT_EQ_INT(vars_name_id("txn.api_a", err, sizeof(err)), a);
	UT_CHECK(vars_name_id("sess.api_a", err, sizeof(err)) != a);
	UT_EQ_INT(vars_name_id("api_a", err, sizeof(err)), -1);
	UT_CHECK(strstr(err, "no valid scope") != NULL);
	UT_EQ_INT(vars_name_id("req.a b", err, sizeof(err)), -1);
	UT_CHECK(strstr(err, "invalid character ' '") != NULL);
	UT_EQ_INT(vars_name_id("res.", err, sizeof(err)), -1);
	UT_CHECK(vars_name_id("req.a.b_C9", err, sizeof(err)) >= 0);
	UT_CHECK(vars_name_id("proc.x", err, sizeof(err)) >= 0);
}

static struct sample text_sample(enum smp_type type, const char *p, size_t len)
{
	struct sample smp;

	memset(&smp, 0, sizeof(smp));
	smp.type = type;
	smp.u.str.ptr = p;
	smp.u.str.len = len;
	return smp;
}

static void test_vars_session(void)
{
	char err[256], big[2000];
	struct session s;
	struct sample smp, out;
	int a = vars_name_id("txn.api_a", err, sizeof(err));
	int b = vars_name_id("sess.api_b", err, sizeof(err));

	memset(&s, 0, sizeof(s));
	UT_EQ_INT(vars_get(&s, a, &out), 0);
	UT_CHECK(s.vars == NULL);
	memset(&smp, 0, sizeof(smp));
	smp.type = SMP_T_SINT;
	smp.u.sint = -42;
	smp.may_change = 1;
	UT_EQ_INT(vars_set(&s, a, &smp), 0);
	UT_CHECK(s.vars != NULL);
	UT_EQ_INT(vars_get(&s, a, &out), 1);
	UT_EQ_INT(out.type, SMP_T_SINT);
	UT_EQ_INT(out.u.sint, -42);
	UT_EQ_INT(out.may_change, 0);
	UT_EQ_INT(vars_get(&s, b, &out), 0);
	/* values are copied, and bounded to 1 KiB */
	memset(big, 'x', sizeof(big));
	smp = text_sample(SMP_T_BIN, big, sizeof(big));
	UT_EQ_INT(vars_set(&s, b, &smp), 0);
	big[0] = 'y';
	UT_EQ_INT(vars_get(&s, b, &out), 1);
	UT_EQ_INT(out.type, SMP_T_BIN);
	UT_EQ_INT(out.u.str.len, 1024);
	UT_EQ_INT(out.u.str.ptr[0], 'x');
	smp = text_sample(SMP_T_STR, "", 0);
	UT_EQ_INT(vars_set(&s, b, &smp), 0);
	UT_EQ_INT(vars_get(&s, b, &out), 1);
	UT_EQ_INT(out.u.str.len, 0);
	vars_unset(&s, a);
	UT_EQ_INT(vars_get(&s, a, &out), 0);
	/* no session, bad ids */
	UT_EQ_INT(vars_set(NULL, a, &smp), -1);
	UT_EQ_INT(vars_set(&s, -1, &smp), -1);
	UT_EQ_INT(vars_get(&s, 100000, &out), 0);
	vars_free(s.vars);
	vars_free(NULL);
}

/* proc scope lives without a session and is seen by every session */
static void test_vars_proc(void)
{
	char err[256];
	struct session s;
	struct sample smp = text_sample(SMP_T_STR, "hello", 5), out;
	int p = vars_name_id("proc.api_p", err, sizeof(err));

	memset(&s, 0, sizeof(s));
	UT_EQ_INT(vars_set(NULL, p, &smp), 0);
	UT_EQ_INT(vars_get(NULL, p, &out), 1);
	UT_CHECK(out.u.str.len == 5 && !memcmp(out.u.str.ptr, "hello", 5));
	UT_EQ_INT(vars_get(&s, p, &out), 1);
	UT_CHECK(s.vars == NULL);
	vars_unset(&s, p);
	UT_EQ_INT(vars_get(NULL, p, &out), 0);
}

int main(void)
{
	test_good_config();
	test_defaults_delay();
	test_section_errors();
	test_action_errors();
	test_syntax_errors();
	test_var_errors();
	test_switch_errors();
	test_blind_content_warning();
	test_evaluation();
	test_vars_names();
	test_vars_session();
	test_vars_proc();
	UT_DONE();
}
