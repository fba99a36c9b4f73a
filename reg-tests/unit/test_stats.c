/* test_stats.c - the stats listener: request parser, routing, Prometheus
 * and HTML rendering from a loaded configuration, and the stats keywords. */
#include <stdlib.h>
#include <string.h>

#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/stats.h>

#include "ut.h"
#include "ut_cfg.h"

static char msgs[8192];

static enum stats_parse parse(const char *s, struct stats_req *r)
{
	return stats_parse_request(s, strlen(s), STATS_HEAD_MAX, r);
}

static void test_parser_good(void)
{
	struct stats_req r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	UT_EQ_INT(parse(s, &r), STATS_P_OK);
	UT_EQ_INT(r.method, STATS_M_GET);
	UT_EQ_INT(r.minor, 1);
	UT_EQ_INT(r.target_len, 8);
	UT_CHECK(!memcmp(r.target, "/metrics", 8));
	UT_EQ_INT(r.head_len, strlen(s));
	UT_EQ_INT(parse("HEAD / HTTP/1.0\n\n", &r), STATS_P_OK);
	UT_EQ_INT(r.method, STATS_M_HEAD);
	UT_EQ_INT(r.minor, 0);
	UT_EQ_INT(parse("\r\n\r\nPOST /x HTTP/1.1\r\n\r\n", &r), STATS_P_OK);
	UT_EQ_INT(r.method, STATS_M_OTHER);
	UT_EQ_INT(parse("get / HTTP/1.1\r\n\r\n", &r), STATS_P_OK);	/* case-sensitive */
	UT_EQ_INT(r.method, STATS_M_OTHER);
}

static void test_parser_bad(void)
{
	static const char *const bad[] = {
		"GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n",
		"GET / http/1.1\r\n\r\n", "GET / HTTP/1.x\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n", " GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.11\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\n",
	};
	struct stats_req r;

	for (size_t i = 0; i < CFG_ARRAY_SIZE(bad) - 1; i++)
		UT_EQ_INT(parse(bad[i], &r), STATS_P_BAD);
	/* a bad request line is refused before the head is complete */
	UT_EQ_INT(parse(bad[CFG_ARRAY_SIZE(bad) - 1], &r), STATS_P_MORE);
	UT_EQ_INT(parse("GET / HTTP/2.0\r\n\r\n", &r), STATS_P_VERSION);
	UT_EQ_INT(parse("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", &r), STATS_P_MORE);
	UT_EQ_INT(stats_parse_request("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27,
				      STATS_HEAD_MAX, &r), STATS_P_BAD);
}

static void test_parser_partial(void)
{
	const char *s = "GET /haproxy?stats HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t n = strlen(s);
	struct stats_req r;
	char *big;

	for (size_t i = 0; i < n; i++)	/* every prefix asks for more */
		UT_EQ_INT(stats_parse_request(s, i, STATS_HEAD_MAX, &r), STATS_P_MORE);
	UT_EQ_INT(stats_parse_request(s, n, STATS_HEAD_MAX, &r), STATS_P_OK);
	/* a limit cutting the head: too big, never reading past max */
	UT_EQ_INT(stats_parse_request(s, n, n - 1, &r), STATS_P_TOO_BIG);
	big = malloc(STATS_HEAD_MAX + 64);
	memset(big, 'a', STATS_HEAD_MAX + 64);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	UT_EQ_INT(stats_parse_request(big, STATS_HEAD_MAX + 64, STATS_HEAD_MAX, &r),
		  STATS_P_TOO_BIG);
	UT_EQ_INT(stats_parse_request(big, STATS_HEAD_MAX - 1, STATS_HEAD_MAX, &r), STATS_P_MORE);
	free(big);
}

static enum stats_page route(const char *target, const char *uri)
{
	struct stats_req r = { .target = target, .target_len = strlen(target) };

	return stats_route(&r, uri);
}

static void test_route(void)
{
	UT_EQ_INT(route("/", "/"), STATS_PAGE_HTML);
	UT_EQ_INT(route("/?x=1", "/"), STATS_PAGE_HTML);
	UT_EQ_INT(route("/metrics", "/"), STATS_PAGE_METRICS);
	UT_EQ_INT(route("/metrics?a", "/"), STATS_PAGE_METRICS);
	UT_EQ_INT(route("/other", "/"), STATS_PAGE_NOT_FOUND);
	UT_EQ_INT(route("/haproxy?stats", STATS_DEFAULT_URI), STATS_PAGE_HTML);
	UT_EQ_INT(route("/haproxy?stats;csv", STATS_DEFAULT_URI), STATS_PAGE_HTML);
	UT_EQ_INT(route("/haproxy?statsx", STATS_DEFAULT_URI), STATS_PAGE_NOT_FOUND);
	UT_EQ_INT(route("/haproxy", STATS_DEFAULT_URI), STATS_PAGE_NOT_FOUND);
	UT_EQ_INT(route("/metrics", "/metrics"), STATS_PAGE_HTML);
	UT_EQ_INT(route("/metricsx", "/s"), STATS_PAGE_NOT_FOUND);
}

static const char cfg_text[] =
	"defaults\n  timeout client 5s\n  stats refresh 3s\n"
	"frontend st\n  bind 127.0.0.1:19999\n  stats uri /s\n  stats hide-version\n"
	"frontend fe\n  bind 127.0.0.1:19999\n  maxconn 50\n  default_backend b-e.x:1\n"
	"backend b-e.x:1\n  server s1 127.0.0.1:1 maxconn 7\n"
	"  server s2 127.0.0.1:2 backup weight 3\n";

/* Each line is HELP, TYPE or a sample of the family just announced; no
 * family is announced twice. Returns the number of families. */
static int check_exposition(char *text)
{
	char fam[128] = "", seen[8192] = " ", key[140];
	int families = 0, ok = 1;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", fam);
			snprintf(key, sizeof(key), " %s ", fam);
			ok &= !strstr(seen, key);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			families++;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			ok &= !strncmp(line + 7, fam, strlen(fam)) && line[7 + strlen(fam)] == ' ';
		} else {
			size_t n = strlen(fam);

			ok &= n && !strncmp(line, fam, n) && (line[n] == '{' || line[n] == ' ');
		}
	}
	UT_CHECK(ok);
	return families;
}

static void test_prometheus(void)
{
	struct config conf;
	struct stats_buf b = { 0 };

	UT_EQ_INT(ut_load_config(&conf, cfg_text, 0, msgs, sizeof(msgs)), 0);
	UT_EQ_INT(stats_render_prometheus(&b, &conf, NULL), 0);
	UT_CHECK(strstr(b.data, "# TYPE haproxy_frontend_current_sessions gauge\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_frontend_limit_sessions{proxy=\"fe\"} 50\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_frontend_sessions_total{proxy=\"st\"} 0\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_backend_active_servers{proxy=\"b-e.x:1\"} 1\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_server_limit_sessions{proxy=\"b-e.x:1\",server=\"s1\"} 7\n") != NULL);
	UT_CHECK(strstr(b.data, "server=\"s2\"} 7\n") == NULL);
	UT_CHECK(strstr(b.data, "haproxy_server_weight{proxy=\"b-e.x:1\",server=\"s2\"} 3\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_server_status{proxy=\"b-e.x:1\",server=\"s1\",state=\"UP\"} 1\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_server_status{proxy=\"b-e.x:1\",server=\"s1\",state=\"DOWN\"} 0\n") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_process_build_info{version=") != NULL);
	UT_CHECK(strstr(b.data, "{proxy=\"fe\"}") != NULL);
	UT_CHECK(strstr(b.data, "haproxy_backend_status{proxy=\"fe\"}") == NULL);
	UT_CHECK(check_exposition(b.data) >= 40);
	stats_buf_free(&b);
	config_free(&conf);
}

static void test_html(void)
{
	struct config conf;
	struct stats_buf b = { 0 };
	struct proxy *st;

	UT_EQ_INT(ut_load_config(&conf, cfg_text, 0, msgs, sizeof(msgs)), 0);
	st = config_find_proxy(&conf, "st", PX_CAP_FE);
	UT_CHECK(st && stats_frontend(st));
	UT_EQ_STR(st->stats.uri, "/s");
	UT_EQ_INT(st->stats.refresh_ms, 3000);	/* from defaults */
	UT_CHECK(!stats_frontend(config_find_proxy(&conf, "fe", PX_CAP_FE)));
	UT_EQ_INT(stats_render_html(&b, &conf, NULL, st), 0);
	UT_CHECK(strstr(b.data, "<h2>frontend st</h2>") != NULL);
	UT_CHECK(strstr(b.data, "<h2>frontend fe</h2>") != NULL);
	UT_CHECK(strstr(b.data, "<h2>backend b-e.x:1</h2>") != NULL);
	UT_CHECK(strstr(b.data, ">s2 (backup)<") != NULL);
	UT_CHECK(strstr(b.data, "content=\"3\"") != NULL);
	UT_CHECK(strstr(b.data, "version") == NULL);	/* hide-version */
	stats_buf_free(&b);
	config_free(&conf);
}

static void test_keywords(void)
{
	struct config conf;

	ut_expect_errors("frontend f\n bind 127.0.0.1:19999\n stats auth a:b\n", 1,
			 ":3: 'stats auth' is not implemented", msgs, sizeof(msgs));
	ut_expect_errors("frontend f\n bind 127.0.0.1:19999\n stats admin if TRUE\n", 1,
			 "not implemented", msgs, sizeof(msgs));
	ut_expect_errors("defaults\n stats enable\n", 1, ":2: 'stats enable' in a defaults",
			 msgs, sizeof(msgs));
	ut_expect_errors("backend b\n stats enable\n server s 127.0.0.1:1\n", 1,
			 "not by a backend", msgs, sizeof(msgs));
	ut_expect_errors("frontend f\n bind 127.0.0.1:19999\n stats uri nope\n", 1,
			 "starting with '/'", msgs, sizeof(msgs));
	ut_expect_errors("frontend f\n bind 127.0.0.1:19999\n stats refresh abc\n", 1,
			 "'stats refresh' expects", msgs, sizeof(msgs));
	ut_expect_errors("frontend f\n bind 127.0.0.1:19999\n stats enable\n default_backend b\n"
			 "backend b\n server s 127.0.0.1:1\n", 1, "serves only statistics",
			 msgs, sizeof(msgs));
	ut_expect_errors("listen l\n bind 127.0.0.1:19999\n stats enable\n server s 127.0.0.1:1\n",
			 1, "move its 'server' lines", msgs, sizeof(msgs));
	UT_EQ_INT(ut_load_config(&conf, "frontend f\n bind 127.0.0.1:19999\n stats enable\n",
				 0, msgs, sizeof(msgs)), 0);
	UT_EQ_STR(conf.proxies->stats.uri, STATS_DEFAULT_URI);
	config_free(&conf);
}

static void test_label_escape(void)
{
	struct stats_buf b = { 0 };

	stats_buf_label(&b, "a\\b\"c\nd");
	UT_EQ_STR(b.data, "a\\\\b\\\"c\\nd");
	stats_buf_free(&b);
}

int main(void)
{
	test_parser_good();
	test_parser_bad();
	test_parser_partial();
	test_route();
	test_prometheus();
	test_html();
	test_keywords();
	test_label_escape();
	UT_DONE();
}
