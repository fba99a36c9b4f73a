/* test_check.c - health and agent checks.
 *
 * Keywords and post-parse rules go through the real config loader (each
 * case writes a config file, loads it and checks values or errors); the
 * engine's pure rules (health counter, intervals, timeouts, state strings)
 * are called directly; and a few real runs on loopback (connect, refused,
 * agent, tcp-check, TLS, observe layer4, enable/disable, log lines) start
 * one worker thread against small responder threads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <sluice/cfg.h>
#include <sluice/check.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/qsbr.h>
#include <sluice/server.h>
#include <sluice/worker.h>

#include "ut.h"
#include "ut_cfg.h"

static char messages[16384];	/* what the last load printed on stderr */

/* A self-signed certificate (CN sluice-test-ca) and its key: the CA file
 * of "verify required" and the identity of the TLS responder. */
static const char test_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBiDCCAS+gAwIBAgIUe1XDfRIct/7MSM92moyocJxb6lwwCgYIKoZIzj0EAwIw\n"
	"GTEXMBUGA1UEAwwOc2x1aWNlLXRlc3QtY2EwIBcNMjYxMTIzMTExMTM5WhgPMjEy\n"
	"NjEwMzAxMTExMzlaMBkxFzAVBgNVBAMMDnNsdWljZS10ZXN0LWNhMFkwEwYHKoZI\n"
	"zj0CAQYIKoZIzj0DAQcDQgAE6JxSuh/r878TcNKRrk6c1ngUkSbsR+F2wlj2VyBE\n"
	"LrdJ83IwmRu2AzSAN7IZOiWc0AWZwE2BToBI4W6/qjKpSqNTMFEwHQYDVR0OBBYE\n"
	"FJaYu5Mq+B6FYTZxBFv7eIRyDfG6MB8GA1UdIwQYMBaAFJaYu5Mq+B6FYTZxBFv7\n"
	"eIRyDfG6MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgcq9acDDm\n"
	"660U6RywP8PB0tTwj9NdZvsuUTL/yy5fWNECIBKsSO+maTzppsQTlQk/gQf/jNWR\n"
	"ZeD1Dly9wBTr2zCJ\n"
	"-----END CERTIFICATE-----\n";
static const char test_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg20mxtQ49vEHhC/fi\n"
	"Q/C8c5LuvMyzTWTBnj0wg3ARcJKhRANCAATonFK6H+vzvxNw0pGuTpzWeBSRJuxH\n"
	"4XbCWPZXIEQut0nzcjCZG7YDNIA3shk6JZzQBZnATYFOgEjhbr+qMqlK\n"
	"-----END PRIVATE KEY-----\n";

static char ca_path[64];	/* test_cert written to a file */
static char junk_path[64];	/* a readable file that is not PEM */

/* ------------------------------------------------------------------ */
/* Loading                                                            */

static int load_mode(struct config *conf, const char *text, int check_only)
{
	return ut_load_config(conf, text, check_only, messages, sizeof(messages));
}

static int load(struct config *conf, const char *text)
{
	return load_mode(conf, text, 0);
}

static void unload(struct config *conf)
{
	check_free_all(conf);
	config_free(conf);
}

/* Load, expect at least one error whose message holds needle. */
static void expect_error(const char *text, const char *needle)
{
	struct config conf;
	int got = load(&conf, text);

	UT_CHECK(got > 0);
	UT_CHECK(strstr(messages, needle) != NULL);
	if (got <= 0 || !strstr(messages, needle))
		fprintf(stderr, "--- config:\n%s--- said:\n%s--- wanted: %s\n", text, messages,
			needle);
	unload(&conf);
}

static void expect_ok(const char *text)
{
	struct config conf;
	int got = load(&conf, text);

	UT_EQ_INT(got, 0);
	if (got)
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	unload(&conf);
}

static struct server *srv_named(struct config *conf, const char *be, const char *name)
{
	struct proxy *px = config_find_proxy(conf, be, PX_CAP_BE);

	return px ? server_find(px, name) : NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

/* ------------------------------------------------------------------ */
/* Keywords                                                           */

static void test_defaults(void)
{
	struct config conf;
	struct server *s;

	UT_EQ_INT(load(&conf, "backend be\n  server s1 127.0.0.1:80\n"), 0);
	s = srv_named(&conf, "be", "s1");
	UT_CHECK(s != NULL);
	UT_EQ_INT(s->chk.flags, 0);
	UT_EQ_INT(s->chk.inter, 2000);
	UT_EQ_INT(s->chk.fastinter, 0);
	UT_EQ_INT(s->chk.downinter, 0);
	UT_EQ_INT(s->chk.rise, 2);
	UT_EQ_INT(s->chk.fall, 3);
	UT_EQ_INT(s->chk.error_limit, 10);
	UT_EQ_INT(s->chk.on_error, CHK_ON_ERROR_FAIL_CHECK);
	UT_EQ_INT(s->chk.verify, CHK_VERIFY_DEFAULT);
	UT_EQ_INT(s->chk.port, 0);
	UT_EQ_INT(s->chk.addr.ss_family, 0);
	UT_CHECK(s->check == NULL && s->agent == NULL && s->track == NULL);
	UT_EQ_INT(conf.global.spread_checks, 0);
	UT_EQ_INT(conf.global.ssl_server_verify, 1);
	unload(&conf);
}

static void test_all_keywords(void)
{
	struct config conf;
	struct server *s;
	char cfg[2048];
	struct check_report rep;
	const struct sockaddr_in *a;

	snprintf(cfg, sizeof(cfg),
		 "global\n  spread-checks 20\n  ssl-server-verify none\n"
		 "backend be\n"
		 "  server s1 127.0.0.1:80 check inter 3s fastinter 500 downinter 1m rise 4 fall 5"
		 " port 8080 addr 127.0.0.2 slowstart 30s observe layer4 error-limit 7"
		 " on-error sudden-death on-marked-down shutdown-sessions"
		 " on-marked-up shutdown-backup-sessions agent-check agent-port 9999"
		 " agent-addr 127.0.0.3 agent-inter 4s agent-send \"ping\\n\" check-send-proxy"
		 " check-ssl check-sni www.example.com verify required ca-file %s\n", ca_path);
	UT_EQ_INT(load(&conf, cfg), 0);
	if (*messages)
		fprintf(stderr, "%s", messages);
	UT_EQ_INT(conf.global.spread_checks, 20);
	UT_EQ_INT(conf.global.ssl_server_verify, 0);
	s = srv_named(&conf, "be", "s1");
	UT_CHECK(s != NULL);
	if (!s)
		return;
	UT_EQ_INT(s->chk.flags, CHK_CF_CHECK | CHK_CF_AGENT | CHK_CF_SEND_PROXY | CHK_CF_SSL |
		  CHK_CF_OBSERVE_L4 | CHK_CF_DOWN_SHUTDOWN | CHK_CF_UP_SHUTDOWN_BACKUP);
	UT_EQ_INT(s->chk.inter, 3000);
	UT_EQ_INT(s->chk.fastinter, 500);
	UT_EQ_INT(s->chk.downinter, 60000);
	UT_EQ_INT(s->chk.rise, 4);
	UT_EQ_INT(s->chk.fall, 5);
	UT_EQ_INT(s->chk.port, 8080);
	a = (const struct sockaddr_in *)&s->chk.addr;
	UT_EQ_INT(a->sin_family, AF_INET);
	UT_EQ_INT(ntohl(a->sin_addr.s_addr), 0x7f000002);
	UT_EQ_INT(s->chk.slowstart, 30000);
	UT_EQ_INT(s->chk.error_limit, 7);
	UT_EQ_INT(s->chk.on_error, CHK_ON_ERROR_SUDDEN_DEATH);
	UT_EQ_INT(s->chk.agent_port, 9999);
	a = (const struct sockaddr_in *)&s->chk.agent_addr;
	UT_EQ_INT(ntohl(a->sin_addr.s_addr), 0x7f000003);
	UT_EQ_INT(s->chk.agent_inter, 4000);
	UT_EQ_INT(s->chk.agent_send_len, 5);
	UT_CHECK(s->chk.agent_send && !memcmp(s->chk.agent_send, "ping\n", 5));
	UT_EQ_STR(s->chk.sni, "www.example.com");
	UT_EQ_INT(s->chk.verify, CHK_VERIFY_REQUIRED);
	UT_EQ_STR(s->chk.ca_file, ca_path);
	/* post-parse created both checks, TLS for the health check only */
	UT_CHECK(s->check != NULL && s->agent != NULL);
	UT_CHECK(s->check && s->check->ssl_ctx != NULL);
	UT_CHECK(s->agent && s->agent->ssl_ctx == NULL);
	UT_EQ_INT(check_get_report(s, 0, &rep), 0);
	UT_EQ_INT(rep.code, CHK_UNK);
	UT_EQ_INT(rep.duration_ms, -1);
	UT_EQ_INT(rep.health, 4);	/* starts up, one failure from down */
	UT_EQ_INT(rep.rise, 4);
	UT_EQ_INT(rep.fall, 5);
	UT_EQ_INT(rep.enabled, 1);
	UT_EQ_INT(check_get_report(s, 1, &rep), 0);
	UT_EQ_INT(rep.code, CHK_UNK);
	unload(&conf);
}

static void test_no_forms(void)
{
	struct config conf;
	struct server *s;

	UT_EQ_INT(load(&conf,
		       "backend be\n"
		       "  default-server check agent-check agent-port 1 check-ssl check-send-proxy"
		       " verify none\n"
		       "  server s1 127.0.0.1:80 no-check no-agent-check no-check-ssl"
		       " no-check-send-proxy observe none\n"
		       "  server s2 127.0.0.1:80\n"), 0);
	s = srv_named(&conf, "be", "s1");
	UT_EQ_INT(s->chk.flags, 0);
	UT_CHECK(s->check == NULL && s->agent == NULL);
	s = srv_named(&conf, "be", "s2");
	UT_EQ_INT(s->chk.flags, CHK_CF_CHECK | CHK_CF_AGENT | CHK_CF_SSL | CHK_CF_SEND_PROXY);
	UT_CHECK(s->check != NULL && s->agent != NULL);
	unload(&conf);
}

/* Strings owned by default-server are copied into each server: each copy
 * is freed once (the ASan build of this test proves no double free). */
static void test_default_server_inheritance(void)
{
	struct config conf;
	struct server *s1, *s2;
	char cfg[1024];

	snprintf(cfg, sizeof(cfg),
		 "defaults\n  default-server inter 700 check-sni d.example\n"
		 "backend be\n"
		 "  default-server agent-send hello check-sni x.example ca-file %s rise 5\n"
		 "  server s1 127.0.0.1:80\n"
		 "  server s2 127.0.0.1:80 check-sni y.example\n"
		 "backend be2\n  server s3 127.0.0.1:80\n", ca_path);
	UT_EQ_INT(load(&conf, cfg), 0);
	s1 = srv_named(&conf, "be", "s1");
	s2 = srv_named(&conf, "be", "s2");
	UT_EQ_INT(s1->chk.inter, 700);
	UT_EQ_INT(s1->chk.rise, 5);
	UT_EQ_STR(s1->chk.sni, "x.example");
	UT_EQ_STR(s2->chk.sni, "y.example");
	UT_EQ_STR(s1->chk.agent_send, "hello");
	UT_EQ_STR(s2->chk.agent_send, "hello");
	UT_CHECK(s1->chk.agent_send != s2->chk.agent_send);
	UT_CHECK(s1->chk.ca_file != s2->chk.ca_file);
	UT_EQ_STR(srv_named(&conf, "be2", "s3")->chk.sni, "d.example");
	unload(&conf);

	/* check_conf_dup() alone: every string copied */
	{
		struct check_conf a, b;

		check_conf_defaults(&a);
		a.agent_send = strdup("x");
		a.agent_send_len = 1;
		a.sni = strdup("sni");
		a.ca_file = strdup("/ca");
		a.track = strdup("be/s");
		memcpy(&b, &a, sizeof(b));
		UT_EQ_INT(check_conf_dup(&b, &a), 0);
		UT_CHECK(b.sni != a.sni && b.track != a.track && b.agent_send != a.agent_send);
		UT_EQ_STR(b.track, "be/s");
		check_conf_free(&a);
		check_conf_free(&b);
		UT_CHECK(a.sni == NULL && b.track == NULL);
	}
}

static void test_bad_values(void)
{
	static const struct { const char *line, *needle; } cases[] = {
		{ "check inter 0", "'inter' expects a time greater than 0" },
		{ "check inter abc", "'inter' expects a time like 2s" },
		{ "check inter", "'inter' expects a time" },
		{ "check fastinter -1", "'fastinter' expects a time" },
		{ "check downinter 0", "'downinter' expects a time greater than 0" },
		{ "agent-inter 0", "'agent-inter'" },
		{ "slowstart x", "'slowstart' expects a time" },
		{ "check rise 0", "'rise' expects an integer between 1 and" },
		{ "check fall x", "'fall' expects an integer between 1 and" },
		{ "check port 0", "'port' expects an integer between 1 and 65535" },
		{ "check port 65536", "'port' expects an integer between 1 and 65535" },
		{ "agent-port 70000", "'agent-port' expects an integer between 1 and 65535" },
		{ "error-limit 0", "'error-limit' expects an integer between 1 and" },
		{ "check addr 127.0.0.2:80", "'addr' takes an address without a port" },
		{ "check addr", "'addr' expects an IP address" },
		{ "check addr not..an..address", "'addr'" },
		{ "agent-addr 10.0.0.1:5", "'agent-addr' takes an address without a port" },
		{ "check observe layer7", "'observe layer7' watches HTTP responses" },
		{ "check observe layer3", "'observe' expects 'layer4' or 'none', got 'layer3'" },
		{ "check on-error retry", "'on-error' expects 'fastinter', 'fail-check', "
					   "'sudden-death' or 'mark-down', got 'retry'" },
		{ "on-marked-down kill", "'on-marked-down' expects 'shutdown-sessions'" },
		{ "on-marked-up shutdown-sessions",
		  "'on-marked-up' expects 'shutdown-backup-sessions'" },
		{ "check verify maybe", "'verify' expects 'none' or 'required', got 'maybe'" },
		{ "check ca-file /nonexistent/ca.pem", "'ca-file': cannot read '/nonexistent/ca.pem'" },
		{ "check check-sni", "'check-sni' expects a value" },
		{ "agent-send", "'agent-send' expects a value" },
		{ "track", "'track' expects a value" },
	};
	char cfg[512];
	unsigned i;

	for (i = 0; i < CFG_ARRAY_SIZE(cases); i++) {
		snprintf(cfg, sizeof(cfg), "backend be\n  server s1 127.0.0.1:80 %s\n",
			 cases[i].line);
		expect_error(cfg, cases[i].needle);
	}
	/* the server is named, with FILE:LINE */
	expect_error("backend be\n  server web1 127.0.0.1:80 rise 0\n", ":2: server 'web1': 'rise'");
	expect_error("backend be\n  default-server rise 0\n", "default-server: 'rise'");
	expect_error("backend be\n  default-server track s1\n",
		     "'track' is only allowed on a server line");
	expect_error("global\n  spread-checks 51\n",
		     "'spread-checks' expects a percentage between 0 and 50, got '51'");
	expect_error("global\n  spread-checks\n", "'spread-checks' expects a percentage");
	expect_error("global\n  ssl-server-verify sometimes\n",
		     "'ssl-server-verify' expects 'none' or 'required', got 'sometimes'");
}

/* ------------------------------------------------------------------ */
/* Post-parse rules                                                   */

static void test_track(void)
{
	struct config conf;
	struct server *a, *b, *c, *t;

	UT_EQ_INT(load(&conf,
		       "backend be\n"
		       "  server a 127.0.0.1:80 check\n"
		       "  server b 127.0.0.1:81 track a\n"
		       "  server c 127.0.0.1:82 track b\n"
		       "backend other\n"
		       "  server t 127.0.0.1:83 track be/a\n"), 0);
	a = srv_named(&conf, "be", "a");
	b = srv_named(&conf, "be", "b");
	c = srv_named(&conf, "be", "c");
	t = srv_named(&conf, "other", "t");
	UT_CHECK(b->track == a && c->track == b && t->track == a && a->track == NULL);
	/* a's trackers: b and t, each once */
	UT_CHECK((a->trackers == b && b->tracknext == t && !t->tracknext) ||
		 (a->trackers == t && t->tracknext == b && !b->tracknext));
	UT_CHECK(b->trackers == c && c->tracknext == NULL);
	UT_CHECK(b->check == NULL);	/* tracking is not checking */
	unload(&conf);

	/* a tracker of a server in maintenance inherits it, through chains */
	UT_EQ_INT(load(&conf,
		       "backend be\n"
		       "  server a 127.0.0.1:80 check disabled\n"
		       "  server b 127.0.0.1:81 track a\n"
		       "  server c 127.0.0.1:82 track b\n"
		       "  server d 127.0.0.1:83 check\n"), 0);
	UT_CHECK(atomic_load(&srv_named(&conf, "be", "b")->admin) & SRV_ADMF_IMAINT);
	UT_CHECK(atomic_load(&srv_named(&conf, "be", "c")->admin) & SRV_ADMF_IMAINT);
	UT_CHECK(!(atomic_load(&srv_named(&conf, "be", "d")->admin) & SRV_ADMF_IMAINT));
	unload(&conf);

	expect_error("backend be\n  server a 127.0.0.1:80 track nosuch/x\n",
		     "server 'be/a': 'track nosuch/x': no backend named 'nosuch'");
	expect_error("backend be\n  server a 127.0.0.1:80 track zz\n",
		     "'track zz': backend 'be' has no server 'zz'");
	expect_error("backend be\n  server a 127.0.0.1:80 check track a\n",
		     "a server cannot track itself");
	expect_error("backend be\n  server a 127.0.0.1:80 track b\n"
		     "  server b 127.0.0.1:80 track a\n", "tracking loop");
	expect_error("backend be\n  server a 127.0.0.1:80 track b\n"
		     "  server b 127.0.0.1:80 track c\n  server c 127.0.0.1:80 track b\n",
		     "tracking loop");
	expect_error("backend be\n  server a 127.0.0.1:80\n  server b 127.0.0.1:80 track a\n",
		     ":3: server 'be/b': cannot track 'be/a': it has neither 'check' nor "
		     "'agent-check'");
	expect_error("backend be\n  server a 127.0.0.1:80\n  server b 127.0.0.1:80 track a\n"
		     "  server c 127.0.0.1:80 track b\n", "cannot track 'be/a'");
	/* an agent-only target is fine */
	expect_ok("backend be\n  server a 127.0.0.1:80 agent-check agent-port 5000\n"
		  "  server b 127.0.0.1:80 track a\n");
	/* a frontend is not a backend */
	expect_error("frontend fe\n  bind 127.0.0.1:8080\n  default_backend be\n"
		     "backend be\n  server a 127.0.0.1:80 track fe/a\n",
		     "no backend named 'fe'");
}

static void test_postparse_rules(void)
{
	char cfg[1024];

	expect_error("backend be\n  server a 127.0.0.1:80 agent-check\n",
		     ":2: server 'be/a': 'agent-check' needs 'agent-port N'");
	expect_ok("backend be\n  server a 127.0.0.1:80 agent-check agent-port 1\n");

	/* TLS: verification by default needs a CA file */
	expect_error("backend be\n  server a 127.0.0.1:443 check check-ssl\n",
		     "verify is enabled by default but no CA file specified ('ca-file FILE'); "
		     "set 'verify none' on the server line if you trust the network, or "
		     "'ssl-server-verify none' in global");
	expect_error("global\n  ssl-server-verify none\n"
		     "backend be\n  server a 127.0.0.1:443 check check-ssl verify required\n",
		     "'verify required' needs 'ca-file FILE'");
	expect_ok("backend be\n  server a 127.0.0.1:443 check check-ssl verify none\n");
	expect_ok("global\n  ssl-server-verify none\n"
		  "backend be\n  server a 127.0.0.1:443 check check-ssl\n");
	/* check-ssl without check: nothing runs TLS, nothing to verify */
	expect_ok("backend be\n  server a 127.0.0.1:443 check-ssl\n");
	/* a tcp-check connect rule with ssl needs the same */
	expect_error("backend be\n  option tcp-check\n  tcp-check connect ssl\n"
		     "  server a 127.0.0.1:443 check\n", "no CA file specified");
	snprintf(cfg, sizeof(cfg), "backend be\n  server a 127.0.0.1:443 check check-ssl "
		 "ca-file %s\n", ca_path);
	expect_ok(cfg);
	snprintf(cfg, sizeof(cfg), "backend be\n  server a 127.0.0.1:443 check check-ssl "
		 "ca-file %s\n", junk_path);
	expect_error(cfg, ":2: server 'be/a': cannot set up TLS for the health check with "
		     "ca-file");

	/* a port to check */
	expect_error("backend be\n  server a 127.0.0.1 check\n",
		     "health check needs a port: use 'port N'");
	expect_error("backend be\n  server a 127.0.0.1:+1 check\n",
		     "health check needs a port: use 'port N'");
	expect_ok("backend be\n  server a 127.0.0.1 check port 80\n");
	expect_ok("backend be\n  server a 127.0.0.1\n");
	expect_ok("backend be\n  option tcp-check\n  tcp-check connect port 80\n"
		  "  server a 127.0.0.1 check\n");
	expect_error("backend be\n  option tcp-check\n  tcp-check send x\n"
		     "  server a 127.0.0.1 check\n", "health check needs a port");

	/* observe needs the check it acts on */
	expect_error("backend be\n  server a 127.0.0.1:80 observe layer4\n",
		     "'observe layer4' acts on the health check: add 'check'");
	expect_ok("backend be\n  server a 127.0.0.1:80 check observe layer4\n");

}

/* -c: everything is checked, nothing stays allocated. */
static void test_check_only(void)
{
	struct config conf;
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "backend be\n  server a 127.0.0.1:443 check check-ssl "
		 "ca-file %s agent-check agent-port 2\n", ca_path);
	UT_EQ_INT(load_mode(&conf, cfg, 1), 0);
	UT_CHECK(srv_named(&conf, "be", "a")->check == NULL);
	UT_CHECK(srv_named(&conf, "be", "a")->agent == NULL);
	config_free(&conf);
	snprintf(cfg, sizeof(cfg), "backend be\n  server a 127.0.0.1:443 check check-ssl "
		 "ca-file %s\n", junk_path);
	UT_CHECK(load_mode(&conf, cfg, 1) > 0);
	config_free(&conf);
}

/* ------------------------------------------------------------------ */
/* Pure rules                                                         */

static void test_health_step(void)
{
	int h = 2;	/* rise 2, fall 3: top 4, starts at rise */
	unsigned r;

	r = check_health_step(&h, 2, 3, 0, 0);	/* the first failure marks it down */
	UT_EQ_INT(h, 0);
	UT_EQ_INT(r, CHK_HS_COUNTED | CHK_HS_CHANGED | CHK_HS_DOWN);
	r = check_health_step(&h, 2, 3, 0, 1);	/* down already: not counted */
	UT_EQ_INT(h, 0);
	UT_EQ_INT(r, 0);
	r = check_health_step(&h, 2, 3, 1, 1);	/* going up: DOWN 1/2 */
	UT_EQ_INT(h, 1);
	UT_EQ_INT(r, CHK_HS_CHANGED);
	r = check_health_step(&h, 2, 3, 0, 1);	/* going up fails back to 0 */
	UT_EQ_INT(h, 0);
	UT_EQ_INT(r, CHK_HS_CHANGED | CHK_HS_COUNTED);
	check_health_step(&h, 2, 3, 1, 1);
	r = check_health_step(&h, 2, 3, 1, 1);	/* rise reached: fully up */
	UT_EQ_INT(h, 4);
	UT_EQ_INT(r, CHK_HS_CHANGED | CHK_HS_UP);
	r = check_health_step(&h, 2, 3, 1, 0);	/* up and full: nothing */
	UT_EQ_INT(h, 4);
	UT_EQ_INT(r, 0);
	r = check_health_step(&h, 2, 3, 0, 0);	/* UP 2/3 */
	UT_EQ_INT(h, 3);
	UT_EQ_INT(r, CHK_HS_CHANGED | CHK_HS_COUNTED);
	r = check_health_step(&h, 2, 3, 1, 0);	/* one success refills it */
	UT_EQ_INT(h, 4);
	UT_EQ_INT(r, CHK_HS_CHANGED);
	check_health_step(&h, 2, 3, 0, 0);
	check_health_step(&h, 2, 3, 0, 0);
	UT_EQ_INT(h, 2);			/* UP 1/3 */
	r = check_health_step(&h, 2, 3, 0, 0);	/* the third failure in a row */
	UT_EQ_INT(h, 0);
	UT_EQ_INT(r, CHK_HS_CHANGED | CHK_HS_COUNTED | CHK_HS_DOWN);

	h = 1;					/* rise 1 fall 1: one result decides */
	r = check_health_step(&h, 1, 1, 0, 0);
	UT_EQ_INT(h, 0);
	UT_CHECK(r & CHK_HS_DOWN);
	r = check_health_step(&h, 1, 1, 1, 1);
	UT_EQ_INT(h, 1);
	UT_CHECK(r & CHK_HS_UP);
	/* marked down by something else (on-error) with health left: a
	 * success brings it back */
	h = 4;
	r = check_health_step(&h, 2, 3, 1, 1);
	UT_EQ_INT(r, CHK_HS_UP);
}

static void test_intervals(void)
{
	struct check_conf c;

	check_conf_defaults(&c);
	UT_EQ_INT(check_interval(&c, 0, 4), 2000);
	UT_EQ_INT(check_interval(&c, 0, 0), 2000);
	UT_EQ_INT(check_interval(&c, 0, 2), 2000);
	UT_EQ_INT(check_interval(&c, 1, 0), 2000);
	c.fastinter = 300;
	c.downinter = 10000;
	c.agent_inter = 5000;
	UT_EQ_INT(check_interval(&c, 0, 4), 2000);	/* fully up */
	UT_EQ_INT(check_interval(&c, 0, 3), 300);	/* going down */
	UT_EQ_INT(check_interval(&c, 0, 2), 300);	/* UP 1/3, the start */
	UT_EQ_INT(check_interval(&c, 0, 1), 300);	/* going up */
	UT_EQ_INT(check_interval(&c, 0, 0), 10000);	/* fully down */
	UT_EQ_INT(check_interval(&c, 1, 0), 5000);	/* agents: agent-inter */
	c.downinter = 0;
	UT_EQ_INT(check_interval(&c, 0, 0), 2000);
}

static void test_spread_timeouts(void)
{
	UT_EQ_INT(check_spread(1000, 0, 12345), 1000);
	UT_EQ_INT(check_spread(1000, 10, 0), 900);		/* -10% */
	UT_EQ_INT(check_spread(1000, 10, 200), 1100);		/* +10% */
	UT_EQ_INT(check_spread(1000, 10, 100), 1000);
	UT_EQ_INT(check_spread(1, 50, 0), 1);
	UT_EQ_INT(check_spread(3, 50, 0), 2);
	{
		unsigned i, v, lo = ~0u, hi = 0;

		for (i = 0; i < 1000; i++) {
			v = check_spread(2000, 50, i * 2654435761u);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		UT_CHECK(lo >= 1000 && hi <= 3000 && hi - lo > 1500);
	}

	{
		unsigned conn, rest;

		check_timeouts(0, 0, 2000, &conn, &rest);
		UT_EQ_INT(conn, 2000);
		UT_EQ_INT(rest, 0);
		check_timeouts(5000, 0, 2000, &conn, &rest);	/* no "timeout check" */
		UT_EQ_INT(conn, 2000);
		UT_EQ_INT(rest, 0);
		check_timeouts(1000, 3000, 2000, &conn, &rest);
		UT_EQ_INT(conn, 1000);
		UT_EQ_INT(rest, 3000);
		check_timeouts(5000, 3000, 2000, &conn, &rest);
		UT_EQ_INT(conn, 2000);
		UT_EQ_INT(rest, 3000);
		check_timeouts(0, 3000, 2000, &conn, &rest);
		UT_EQ_INT(conn, 2000);
		UT_EQ_INT(rest, 3000);
	}

	UT_EQ_INT(check_first_delay(0, 5000, 1000), 0);
	UT_EQ_INT(check_first_delay(5, 5000, 1000), 1);
	UT_EQ_INT(check_first_delay(4999, 5000, 1000), 999);
	UT_EQ_INT(check_first_delay(1, 2, 2000), 1000);
	UT_EQ_INT(check_first_delay(0, 0, 2000), 0);
	UT_EQ_INT(check_first_delay(99999, 100000, 86400000), 86399136);	/* no overflow */
}

static void test_state_strings(void)
{
	struct config conf;
	struct server *a, *b, *n;
	char buf[64];

	UT_EQ_INT(load(&conf,
		       "backend be\n"
		       "  server a 127.0.0.1:80 check rise 2 fall 3\n"
		       "  server b 127.0.0.1:81 track a\n"
		       "  server n 127.0.0.1:82\n"
		       "  server z 127.0.0.1:83 weight 0\n"), 0);
	a = srv_named(&conf, "be", "a");
	b = srv_named(&conf, "be", "b");
	n = srv_named(&conf, "be", "n");
	UT_EQ_STR(check_state_fmt(a, 4, buf, sizeof(buf)), "UP");
	UT_EQ_STR(check_state_fmt(a, 3, buf, sizeof(buf)), "UP 2/3");
	UT_EQ_STR(check_state_fmt(a, 2, buf, sizeof(buf)), "UP 1/3");
	UT_EQ_STR(check_state_str(a, buf, sizeof(buf)), "UP 1/3");	/* at start */
	UT_EQ_STR(check_state_str(n, buf, sizeof(buf)), "UP");	/* no check */
	UT_EQ_STR(check_state_str(srv_named(&conf, "be", "z"), buf, sizeof(buf)), "NOLB");

	srv_set_down_cause(a, SRV_DOWN_CHECK, NULL);
	UT_EQ_STR(check_state_fmt(a, 0, buf, sizeof(buf)), "DOWN");
	UT_EQ_STR(check_state_fmt(a, 1, buf, sizeof(buf)), "DOWN 1/2");
	UT_EQ_STR(check_state_str(b, buf, sizeof(buf)), "DOWN");	/* follows a */
	srv_clear_down_cause(a, SRV_DOWN_CHECK, NULL);
	UT_EQ_STR(check_state_fmt(a, 4, buf, sizeof(buf)), "UP");
	UT_EQ_STR(check_state_str(b, buf, sizeof(buf)), "UP");

	srv_set_admin(a, SRV_ADMF_DRAIN, NULL);
	UT_EQ_STR(check_state_fmt(a, 4, buf, sizeof(buf)), "DRAIN");
	srv_clear_admin(a, SRV_ADMF_DRAIN, NULL);
	srv_set_admin(a, SRV_ADMF_MAINT, NULL);
	UT_EQ_STR(check_state_fmt(a, 4, buf, sizeof(buf)), "MAINT");
	UT_EQ_STR(check_state_str(b, buf, sizeof(buf)), "MAINT (via be/a)");
	srv_clear_admin(a, SRV_ADMF_MAINT, NULL);
	UT_EQ_STR(check_state_str(b, buf, sizeof(buf)), "UP");
	srv_set_admin(n, SRV_ADMF_MAINT, NULL);
	UT_EQ_STR(check_state_str(n, buf, sizeof(buf)), "MAINT");
	srv_clear_admin(n, SRV_ADMF_MAINT, NULL);
	srv_set_down_cause(n, SRV_DOWN_AGENT, NULL);
	UT_EQ_STR(check_state_str(n, buf, sizeof(buf)), "DOWN");
	unload(&conf);
}

/* Reports and the runtime API before the workers start. */
static void test_api_before_start(void)
{
	struct config conf;
	struct check_report rep;
	struct server *a, *n;
	int i;

	UT_EQ_INT(load(&conf, "backend be\n  server a 127.0.0.1:80 check observe layer4"
		       " error-limit 2 on-error mark-down\n  server n 127.0.0.1:80\n"), 0);
	a = srv_named(&conf, "be", "a");
	n = srv_named(&conf, "be", "n");
	UT_EQ_INT(check_get_report(n, 0, &rep), -1);
	UT_EQ_INT(check_get_report(a, 1, &rep), -1);
	UT_EQ_INT(check_set_enabled(n, 0, 0), -1);
	UT_EQ_INT(check_set_enabled(a, 0, 0), 0);
	UT_EQ_INT(check_get_report(a, 0, &rep), 0);
	UT_EQ_INT(rep.enabled, 0);
	UT_EQ_INT(check_set_enabled(a, 0, 1), 0);
	for (i = 0; i < 10; i++)		/* not started: counted, nothing queued */
		check_observe(a, a->chk.flags, 0);
	check_observe(n, n->chk.flags, 0);	/* no observe: nothing */
	UT_EQ_INT(atomic_load(&a->state), SRV_ST_UP);
	unload(&conf);
}

/* ------------------------------------------------------------------ */
/* Real runs on loopback                                              */

/* Accepts connections one at a time and serves each: with a reply, sends
 * it (in TLS when tls is set; after reading the client's first bytes with
 * read_first) and waits for the client to close; without, holds the
 * connection until the client closes it. */
struct responder {
	int fd;
	int port;
	const char *reply;
	SSL_CTX *tls;
	int read_first;
	char got[256];		/* first bytes of the first connection (read_first) */
	_Atomic int ngot;
	_Atomic int stop;
	_Atomic int accepted;
	pthread_t th;
};

static void drain(int fd)
{
	char buf[512];

	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static void serve_one(struct responder *r, int cfd)
{
	struct timeval tv = { 2, 0 };
	char buf[256];
	SSL *ssl;
	ssize_t n;

	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (r->tls) {
		ssl = SSL_new(r->tls);
		SSL_set_fd(ssl, cfd);
		if (SSL_accept(ssl) == 1 && r->reply)
			SSL_write(ssl, r->reply, (int)strlen(r->reply));
		SSL_free(ssl);
		close(cfd);
		return;
	}
	if (r->read_first) {
		n = recv(cfd, buf, sizeof(buf), 0);
		if (n > 0 && !atomic_load(&r->ngot)) {
			memcpy(r->got, buf, (size_t)n);
			atomic_store(&r->ngot, (int)n);
		}
	}
	if (r->reply && send(cfd, r->reply, strlen(r->reply), MSG_NOSIGNAL) > 0)
		shutdown(cfd, SHUT_WR);
	drain(cfd);
	close(cfd);
}

static void *responder_main(void *arg)
{
	struct responder *r = arg;
	struct pollfd p = { r->fd, POLLIN, 0 };
	int cfd;

	while (!atomic_load(&r->stop)) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		cfd = accept(r->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		atomic_fetch_add(&r->accepted, 1);
		serve_one(r, cfd);
	}
	return NULL;
}

static int listen_any(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	*port = ntohs(sin.sin_port);
	return fd;
}

static void responder_start_ex(struct responder *r, const char *reply, SSL_CTX *tls,
			       int read_first)
{
	memset(r, 0, sizeof(*r));
	r->reply = reply;
	r->tls = tls;
	r->read_first = read_first;
	r->fd = listen_any(&r->port);
	pthread_create(&r->th, NULL, responder_main, r);
}

static void responder_start(struct responder *r, const char *reply, SSL_CTX *tls)
{
	responder_start_ex(r, reply, tls, 0);
}

static void responder_stop(struct responder *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	close(r->fd);
}

/* A port where nothing listens. */
static int closed_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

static SSL_CTX *server_tls_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *cb = BIO_new_mem_buf(test_cert, -1), *kb = BIO_new_mem_buf(test_key, -1);
	X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);

	if (!ctx || !cert || !key || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		abort();
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return ctx;
}

static struct config rt_conf;
static struct runtime rt;	/* static: server_state.c keeps a pointer to it */

static int rt_begin(const char *text)
{
	int errors = load(&rt_conf, text);

	if (errors) {
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
		return -1;
	}
	memset(&rt, 0, sizeof(rt));
	if (runtime_start(&rt, &rt_conf, 1) < 0)
		return -1;
	srv_state_start(&rt);
	check_start_all(&rt);
	return 0;
}

static void rt_end(void)
{
	runtime_stop(&rt, 0);
	runtime_join(&rt);
	runtime_free(&rt);
	rt.nworkers = 0;	/* later loads must not reach the stopped workers */
	check_free_all(&rt_conf);
	qsbr_shutdown();
	config_free(&rt_conf);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait up to 5 s for s's check report to satisfy pred. */
static int wait_report(struct server *s, int agent, int (*pred)(const struct check_report *,
								 const struct server *))
{
	uint64_t end = mono_ms() + 5000;
	struct check_report rep;

	while (mono_ms() < end) {
		if (check_get_report(s, agent, &rep) == 0 && pred(&rep, s))
			return 1;
		usleep(5000);
	}
	return 0;
}

static int is_l4ok(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code == CHK_L4OK;
}

static int is_down_refused(const struct check_report *r, const struct server *s)
{
	return r->code == CHK_L4CON && atomic_load(&s->state) == SRV_ST_DOWN;
}

static int is_l7ok(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code == CHK_L7OK;
}

static int is_failed(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code != CHK_UNK && !check_code_ok(r->code);
}

static int is_l6ok(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code == CHK_L6OK;
}

static int is_agent_down(const struct check_report *r, const struct server *s)
{
	return r->code == CHK_L7STS && (atomic_load(&s->down_causes) & SRV_DOWN_AGENT);
}

static int weight_is_5(const struct check_report *r, const struct server *s)
{
	return r->code == CHK_L7OK && atomic_load(&s->cur_weight) == 5;
}

static int server_down(const struct check_report *r, const struct server *s)
{
	(void)r;
	return atomic_load(&s->state) == SRV_ST_DOWN;
}

/* Capture stderr (the log target of the run) into a file. */
static int capture_begin(char *path, int *saved)
{
	strcpy(path, "/tmp/test_check_log_XXXXXX");
	return ut_stderr_begin(path, saved);
}

/* A stopped check keeps its report and runs no more; resumed, it runs. */
static void stop_and_resume(struct server *s)
{
	struct check_report rep;
	uint64_t before;

	UT_EQ_INT(check_set_enabled(s, 0, 0), 0);
	usleep(100000);
	check_get_report(s, 0, &rep);
	before = rep.failures;
	UT_EQ_INT(rep.enabled, 0);
	usleep(300000);
	check_get_report(s, 0, &rep);
	UT_EQ_INT(rep.failures, before);
	UT_EQ_INT(rep.code, CHK_L4CON);
	UT_EQ_INT(check_set_enabled(s, 0, 1), 0);
	usleep(300000);
	check_get_report(s, 0, &rep);
	UT_CHECK(rep.failures > before);
	UT_EQ_INT(rep.enabled, 1);
}

static void test_run_connect(void)
{
	struct responder up;
	struct check_report rep;
	struct server *ok, *dead;
	char cfg[1024], logs[8192], path[64];
	int dead_port = closed_port(), lfd, saved;

	responder_start(&up, NULL, NULL);
	snprintf(cfg, sizeof(cfg),
		 "global\n  log stderr format raw local0\n"
		 "backend be\n  log global\n  option log-health-checks\n"
		 "  server ok 127.0.0.1:%d check inter 50 rise 1 fall 1\n"
		 "  server dead 127.0.0.1:%d check inter 50 fastinter 20 downinter 100\n",
		 up.port, dead_port);
	lfd = capture_begin(path, &saved);
	if (rt_begin(cfg) < 0) {
		ut_stderr_end(lfd, saved, logs, sizeof(logs), path);
		UT_CHECK(0);
		responder_stop(&up);
		return;
	}
	ok = srv_named(&rt_conf, "be", "ok");
	dead = srv_named(&rt_conf, "be", "dead");
	UT_CHECK(wait_report(ok, 0, is_l4ok));
	UT_CHECK(wait_report(dead, 0, is_down_refused));
	check_get_report(dead, 0, &rep);
	UT_EQ_STR(rep.info, "Connection refused");
	UT_EQ_INT(rep.health, 0);
	UT_CHECK(rep.duration_ms >= 0 && rep.failures >= 1);
	UT_EQ_INT(atomic_load(&dead->ctr.failed_checks), 1);	/* only while it was up */
	UT_EQ_INT(atomic_load(&ok->state), SRV_ST_UP);

	stop_and_resume(dead);
	rt_end();
	ut_stderr_end(lfd, saved, logs, sizeof(logs), path);
	UT_CHECK(strstr(logs, "Health check for server be/dead failed, reason: Layer4 "
			"connection problem, info: \"Connection refused\", check duration: ") != NULL);
	UT_CHECK(strstr(logs, "status: 0/2 DOWN.") != NULL);
	UT_CHECK(strstr(logs, "Health check for server be/ok succeeded, reason: Layer4 check "
			"passed, check duration: ") != NULL);
	UT_CHECK(strstr(logs, "status: 1/1 UP.") != NULL);
	if (!strstr(logs, "be/dead failed"))
		fprintf(stderr, "--- logs:\n%s", logs);
	responder_stop(&up);
}

static void test_run_rules_and_agent(void)
{
	struct responder pong, err, agent_down, agent_w;
	struct check_report rep;
	char cfg[2048];

	responder_start(&pong, "+PONG\r\n", NULL);
	responder_start(&err, "-ERR wrong\r\n", NULL);
	responder_start(&agent_down, "down #maintenance window\n", NULL);
	responder_start(&agent_w, "up 50%\n", NULL);
	snprintf(cfg, sizeof(cfg),
		 "backend rules\n  option tcp-check\n"
		 "  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n"
		 "  server good 127.0.0.1:%d check inter 50\n"
		 "  server bad 127.0.0.1:%d check inter 50\n"
		 "backend agents\n"
		 "  server a1 127.0.0.1:%d agent-check agent-port %d agent-inter 50\n"
		 "  server a2 127.0.0.1:%d weight 10 agent-check agent-port %d agent-inter 50"
		 " agent-send \"hello\\n\"\n"
		 "  server a3 127.0.0.1:%d agent-check agent-port %d agent-inter 50\n",
		 pong.port, err.port, pong.port, agent_down.port, pong.port, agent_w.port,
		 pong.port, agent_w.port);
	if (rt_begin(cfg) < 0) {
		UT_CHECK(0);
	} else {
		struct server *good = srv_named(&rt_conf, "rules", "good");
		struct server *bad = srv_named(&rt_conf, "rules", "bad");
		struct server *a1 = srv_named(&rt_conf, "agents", "a1");
		struct server *a2 = srv_named(&rt_conf, "agents", "a2");

		UT_CHECK(wait_report(good, 0, is_l7ok));
		UT_CHECK(wait_report(bad, 0, is_failed));
		check_get_report(bad, 0, &rep);
		UT_EQ_INT(rep.code, CHK_L7RSP);
		UT_CHECK(strstr(rep.info, "PONG") != NULL);
		UT_CHECK(wait_report(a1, 1, is_agent_down));
		check_get_report(a1, 1, &rep);
		UT_EQ_STR(rep.info, "maintenance window");
		UT_EQ_INT(atomic_load(&a1->state), SRV_ST_DOWN);
		UT_CHECK(wait_report(a2, 1, weight_is_5));	/* 50% of weight 10 */
		UT_EQ_INT(atomic_load(&a2->state), SRV_ST_UP);
		/* 50% of weight 1 keeps weight 1: only 0% drains */
		UT_CHECK(wait_report(srv_named(&rt_conf, "agents", "a3"), 1, is_l7ok));
		UT_EQ_INT(atomic_load(&srv_named(&rt_conf, "agents", "a3")->cur_weight), 1);
		rt_end();
	}
	responder_stop(&pong);
	responder_stop(&err);
	responder_stop(&agent_down);
	responder_stop(&agent_w);
}

static int is_l7tout(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code == CHK_L7TOUT;
}

static int is_l6tout(const struct check_report *r, const struct server *s)
{
	(void)s;
	return r->code == CHK_L6TOUT;
}

/* Timeouts (with and without "timeout check"), the PROXY header, and a
 * rule set that opens two connections. */
static void test_run_timeouts_proxy_connects(void)
{
	struct responder hold1, hold2, pp, pong, word;
	struct check_report rep;
	char cfg[2048];

	responder_start(&hold1, NULL, NULL);
	responder_start(&hold2, NULL, NULL);
	responder_start_ex(&pp, "OK\n", NULL, 1);
	responder_start(&pong, "+PONG\r\n", NULL);
	responder_start(&word, "hello world\n", NULL);
	snprintf(cfg, sizeof(cfg),
		 "backend exp\n  timeout check 150\n  option tcp-check\n"
		 "  tcp-check expect string XYZ\n"
		 "  server e 127.0.0.1:%d check inter 5s\n"
		 "backend tls\n"
		 "  server t 127.0.0.1:%d check check-ssl verify none inter 200\n"
		 "backend pp\n  option tcp-check\n  tcp-check expect string OK\n"
		 "  server p 127.0.0.1:%d check check-send-proxy inter 100\n"
		 "backend multi\n  option tcp-check\n"
		 "  tcp-check connect port %d\n  tcp-check expect string +PONG\n"
		 "  tcp-check connect port %d\n  tcp-check expect string world\n"
		 "  server m 127.0.0.1:1 check inter 100\n",
		 hold1.port, hold2.port, pp.port, pong.port, word.port);
	if (rt_begin(cfg) == 0) {
		UT_CHECK(wait_report(srv_named(&rt_conf, "exp", "e"), 0, is_l7tout));
		check_get_report(srv_named(&rt_conf, "exp", "e"), 0, &rep);
		UT_EQ_STR(rep.info, "at step 1 of tcp-check (expect 'XYZ')");
		UT_CHECK(rep.duration_ms >= 140 && rep.duration_ms < 2000);	/* not inter */
		UT_CHECK(wait_report(srv_named(&rt_conf, "tls", "t"), 0, is_l6tout));
		check_get_report(srv_named(&rt_conf, "tls", "t"), 0, &rep);
		UT_CHECK(rep.duration_ms >= 190 && rep.duration_ms < 2000);
		UT_CHECK(wait_report(srv_named(&rt_conf, "pp", "p"), 0, is_l7ok));
		UT_EQ_INT(atomic_load(&pp.ngot) >= 15, 1);
		UT_CHECK(!memcmp(pp.got, "PROXY UNKNOWN\r\n", 15));
		UT_CHECK(wait_report(srv_named(&rt_conf, "multi", "m"), 0, is_l7ok));
		rt_end();
	}
	responder_stop(&hold1);
	responder_stop(&hold2);
	responder_stop(&pp);
	responder_stop(&pong);
	responder_stop(&word);
}

/* A failed agent connection changes nothing. */
static void test_run_agent_unreachable(void)
{
	struct check_report rep;
	struct server *s;
	char cfg[512];
	struct responder up;

	responder_start(&up, NULL, NULL);
	snprintf(cfg, sizeof(cfg), "backend be\n  server s 127.0.0.1:%d agent-check "
		 "agent-port %d agent-inter 50\n", up.port, closed_port());
	if (rt_begin(cfg) == 0) {
		s = srv_named(&rt_conf, "be", "s");
		UT_CHECK(wait_report(s, 1, is_failed));
		check_get_report(s, 1, &rep);
		UT_EQ_INT(rep.code, CHK_L4CON);
		UT_EQ_INT(atomic_load(&s->state), SRV_ST_UP);
		UT_EQ_INT(atomic_load(&s->down_causes), 0);
		rt_end();
	}
	responder_stop(&up);
}

static void test_run_tls(void)
{
	struct responder tls, tls_hello, plain;
	struct check_report rep;
	SSL_CTX *sctx = server_tls_ctx();
	char cfg[2048];

	responder_start(&tls, NULL, sctx);
	responder_start(&tls_hello, "hello over TLS\n", sctx);
	responder_start(&plain, "not TLS at all\n", NULL);
	snprintf(cfg, sizeof(cfg),
		 "backend be\n"
		 "  server v 127.0.0.1:%d check check-ssl inter 100 ca-file %s"
		 " check-sni sluice-test-ca\n"
		 "  server wrongname 127.0.0.1:%d check check-ssl inter 100 ca-file %s"
		 " check-sni other.example\n"
		 "  server noverify 127.0.0.1:%d check check-ssl inter 100 verify none\n"
		 "  server garbage 127.0.0.1:%d check check-ssl inter 100 verify none\n"
		 "backend rules\n  option tcp-check\n"
		 "  tcp-check connect ssl sni sluice-test-ca\n"
		 "  tcp-check expect string TLS\n"
		 "  server r 127.0.0.1:%d check inter 100 ca-file %s\n",
		 tls.port, ca_path, tls.port, ca_path, tls.port, plain.port, tls_hello.port,
		 ca_path);
	if (rt_begin(cfg) == 0) {
		UT_CHECK(wait_report(srv_named(&rt_conf, "be", "v"), 0, is_l6ok));
		UT_CHECK(wait_report(srv_named(&rt_conf, "be", "noverify"), 0, is_l6ok));
		UT_CHECK(wait_report(srv_named(&rt_conf, "be", "wrongname"), 0, is_failed));
		check_get_report(srv_named(&rt_conf, "be", "wrongname"), 0, &rep);
		UT_EQ_INT(rep.code, CHK_L6RSP);
		UT_CHECK(strstr(rep.info, "certificate verify failed") != NULL);
		UT_CHECK(strstr(rep.info, "mismatch") != NULL);
		if (!strstr(rep.info, "mismatch"))
			fprintf(stderr, "TLS info: %s\n", rep.info);
		UT_CHECK(wait_report(srv_named(&rt_conf, "be", "garbage"), 0, is_failed));
		check_get_report(srv_named(&rt_conf, "be", "garbage"), 0, &rep);
		UT_EQ_INT(rep.code, CHK_L6RSP);
		UT_CHECK(wait_report(srv_named(&rt_conf, "rules", "r"), 0, is_l7ok));
		rt_end();
	}
	responder_stop(&tls);
	responder_stop(&tls_hello);
	responder_stop(&plain);
	SSL_CTX_free(sctx);
}

/* observe layer4 + on-error mark-down: the data path's errors put a
 * healthy server down without waiting for the next check. */
static void test_run_observe(void)
{
	struct responder up;
	struct server *s;
	char cfg[512];
	int i;

	responder_start(&up, NULL, NULL);
	snprintf(cfg, sizeof(cfg), "backend be\n  server s 127.0.0.1:%d check inter 60s "
		 "observe layer4 error-limit 3 on-error mark-down\n", up.port);
	if (rt_begin(cfg) == 0) {
		s = srv_named(&rt_conf, "be", "s");
		UT_CHECK(wait_report(s, 0, is_l4ok));	/* first run at once (k = 0) */
		check_observe(s, s->chk.flags, 0);
		check_observe(s, s->chk.flags, 0);
		check_observe(s, s->chk.flags, 1);	/* a success resets the count */
		check_observe(s, s->chk.flags, 0);
		check_observe(s, s->chk.flags, 0);
		usleep(100000);
		UT_EQ_INT(atomic_load(&s->state), SRV_ST_UP);
		for (i = 0; i < 3; i++)
			check_observe(s, s->chk.flags, 0);
		UT_CHECK(wait_report(s, 0, server_down));
		UT_EQ_INT(atomic_load(&s->check->health), 0);
		UT_EQ_INT(atomic_load(&s->ctr.failed_checks), 1);
		rt_end();
	}
	responder_stop(&up);
}

int main(void)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);	/* as main() does: peers may close first */
	strcpy(ca_path, "/tmp/test_check_ca_XXXXXX");
	strcpy(junk_path, "/tmp/test_check_junk_XXXXXX");
	if ((fd = mkstemp(ca_path)) < 0)
		abort();
	close(fd);
	if ((fd = mkstemp(junk_path)) < 0)
		abort();
	close(fd);
	write_file(ca_path, test_cert);
	write_file(junk_path, "this is not a certificate\n");

	test_defaults();
	test_all_keywords();
	test_no_forms();
	test_default_server_inheritance();
	test_bad_values();
	test_track();
	test_postparse_rules();
	test_check_only();
	test_health_step();
	test_intervals();
	test_spread_timeouts();
	test_state_strings();
	test_api_before_start();
	test_run_connect();
	test_run_rules_and_agent();
	test_run_agent_unreachable();
	test_run_timeouts_proxy_connects();
	test_run_tls();
	test_run_observe();

	unlink(ca_path);
	unlink(junk_path);
	UT_DONE();
}
