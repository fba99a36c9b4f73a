/* test_check_udp.c - health checks of mode udp servers.
 *
 * The pure parts are called directly: the hex decoder, the reply matcher
 * and the no-reply rule (codes, info texts, escaping, bounds). The
 * "udp-check" keyword and the post-parse rules go through the real config
 * loader. A few real runs on loopback start one worker thread against a
 * small UDP responder thread: a right reply, a wrong one, silence with and
 * without an expect, and ICMP port unreachable once the responder is gone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/check.h>
#include <sluice/check_udp.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/qsbr.h>
#include <sluice/server.h>
#include <sluice/worker.h>

#include "ut.h"
#include "ut_cfg.h"

static char messages[16384];

static int no_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* ---- pure functions ------------------------------------------------------ */

static void test_hex(void)
{
	uint8_t out[8];
	char err[128];

	UT_EQ_INT(udpcheck_hex_decode("0100", out, sizeof(out), err, sizeof(err)), 2);
	UT_CHECK(out[0] == 1 && out[1] == 0);
	UT_EQ_INT(udpcheck_hex_decode("aBcDeF", out, sizeof(out), err, sizeof(err)), 3);
	UT_CHECK(out[0] == 0xab && out[1] == 0xcd && out[2] == 0xef);
	UT_EQ_INT(udpcheck_hex_decode("", out, sizeof(out), err, sizeof(err)), 0);
	UT_EQ_INT(udpcheck_hex_decode("abc", out, sizeof(out), err, sizeof(err)), -1);
	UT_CHECK(strstr(err, "even number") != NULL);
	UT_EQ_INT(udpcheck_hex_decode("01zz", out, sizeof(out), err, sizeof(err)), -1);
	UT_EQ_STR(err, "'z' at position 3 is not a hex digit");
	UT_EQ_INT(udpcheck_hex_decode("0g", out, sizeof(out), err, sizeof(err)), -1);
	UT_EQ_STR(err, "'g' at position 2 is not a hex digit");
	UT_EQ_INT(udpcheck_hex_decode("000102030405060708", out, sizeof(out), err, sizeof(err)),
		  -1);
	UT_CHECK(strstr(err, "9 bytes") != NULL);
}

static struct udpcheck text_expect(const char *pat)
{
	struct udpcheck u = { .refcnt = 1 };

	u.expect = (uint8_t *)pat;
	u.expect_len = strlen(pat);
	return u;
}

static void test_match_no_expect(void)
{
	struct udpcheck none = { .refcnt = 1 };
	enum check_code code = CHK_UNK;
	char info[128];

	UT_EQ_INT(udpcheck_match(NULL, (const uint8_t *)"x", 1, 0, &code, info, sizeof(info)), 1);
	UT_EQ_INT(code, CHK_L4OK);
	UT_EQ_STR(info, "UDP reply of 1 bytes");
	code = CHK_UNK;
	UT_EQ_INT(udpcheck_match(&none, (const uint8_t *)"", 0, 0, &code, info, sizeof(info)), 1);
	UT_EQ_INT(code, CHK_L4OK);
	UT_EQ_INT(udpcheck_match(&none, (const uint8_t *)"xy", 2, 1, &code, info, sizeof(info)), 1);
	UT_EQ_STR(info, "UDP reply of more than 2 bytes");
	UT_EQ_INT(udpcheck_no_reply(&none, 1500, &code, info, sizeof(info)), 1);
	UT_EQ_INT(code, CHK_L4OK);
	UT_EQ_STR(info, "no UDP reply in 1500ms, none expected (no ICMP error)");
}

static void test_match_text(void)
{
	struct udpcheck u = text_expect("PONG");
	enum check_code code = CHK_UNK;
	char info[128];

	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"PONG", 4, 0, &code, info, sizeof(info)), 1);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_STR(info, "");
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"+PONG\r\n", 7, 0, &code, info,
				 sizeof(info)), 1);
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"\0\0PONG\0", 7, 0, &code, info,
				 sizeof(info)), 1);
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"PON", 3, 0, &code, info, sizeof(info)), 0);
	UT_EQ_INT(code, CHK_L7RSP);
	UT_EQ_STR(info, "UDP reply did not match 'PONG' (got 3 bytes: 'PON')");
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"", 0, 0, &code, info, sizeof(info)), 0);
	UT_EQ_STR(info, "UDP reply did not match 'PONG' (got 0 bytes: '')");
	/* a server's control bytes and backslashes never reach a log line raw */
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"ERR\r\n\\\x7f\xff", 8, 0, &code, info,
				 sizeof(info)), 0);
	UT_EQ_STR(info, "UDP reply did not match 'PONG' (got 8 bytes: "
		  "'ERR\\x0d\\x0a\\x5c\\x7f\\xff')");
	UT_CHECK(no_control(info));
	/* only the start of a long reply is shown */
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26, 1, &code,
				 info, sizeof(info)), 0);
	UT_EQ_STR(info, "UDP reply did not match 'PONG' (got more than 26 bytes: "
		  "'abcdefghijklmnopqrst...')");
	UT_EQ_INT(udpcheck_no_reply(&u, 2000, &code, info, sizeof(info)), 0);
	UT_EQ_INT(code, CHK_L7TOUT);
	UT_EQ_STR(info, "no UDP reply in 2000ms (expected 'PONG')");
}

static void test_match_binary_and_bounds(void)
{
	static const uint8_t pat[] = { 0x02, 0x00 };
	struct udpcheck u = { .refcnt = 1, .expect = (uint8_t *)pat, .expect_len = 2,
			      .expect_binary = 1 };
	enum check_code code = CHK_UNK;
	char info[128], tiny[8];
	uint8_t big[200];

	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"\x01\x02\x00\x03", 4, 0, &code, info,
				 sizeof(info)), 1);
	UT_EQ_INT(code, CHK_L7OK);
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"\x02\x01\x00", 3, 0, &code, info,
				 sizeof(info)), 0);
	UT_EQ_STR(info, "UDP reply did not match '0200' (got 3 bytes: '020100')");
	/* the pattern is the last byte of the buffer: no read past it */
	UT_EQ_INT(udpcheck_match(&u, (const uint8_t *)"\x02", 1, 0, &code, info, sizeof(info)), 0);
	memset(big, 0xab, sizeof(big));
	UT_EQ_INT(udpcheck_match(&u, big, sizeof(big), 0, &code, info, sizeof(info)), 0);
	UT_CHECK(strlen(info) < sizeof(info) && strstr(info, "abab...") != NULL);
	/* a small info buffer is cut, never overrun */
	UT_EQ_INT(udpcheck_match(&u, big, sizeof(big), 0, &code, tiny, sizeof(tiny)), 0);
	UT_EQ_INT(strlen(tiny), sizeof(tiny) - 1);
	big[150] = 0x02;
	big[151] = 0x00;
	UT_EQ_INT(udpcheck_match(&u, big, sizeof(big), 0, &code, info, sizeof(info)), 1);
}

/* ---- keyword and post-parse ------------------------------------------------ */

static int load(struct config *conf, const char *text)
{
	return ut_load_config(conf, text, 0, messages, sizeof(messages));
}

static void unload(struct config *conf)
{
	check_free_all(conf);
	config_free(conf);
}

static struct server *srv_named(struct config *conf, const char *be, const char *name)
{
	struct proxy *px = config_find_proxy(conf, be, PX_CAP_BE);

	return px ? server_find(px, name) : NULL;
}

static int bytes_are(const uint8_t *p, size_t n, const char *want, size_t wlen)
{
	return n == wlen && (!n || !memcmp(p, want, n));
}

/* ut_expect_errors() with the checks a good load creates freed too. */
static void expect_errors(const char *text, int n, const char *needle)
{
	struct config conf;
	int got = load(&conf, text);

	UT_EQ_INT(got, n);
	if (needle)
		UT_CHECK(strstr(messages, needle) != NULL);
	if (got != n || (needle && !strstr(messages, needle)))
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	unload(&conf);
}

static void test_keyword_values(void)
{
	struct config conf;
	struct server *a, *b;
	const struct udpcheck *u;

	UT_EQ_INT(load(&conf,
		       "backend be\n"
		       "  mode udp\n"
		       "  server a 127.0.0.1:53 check\n"
		       "  udp-check send-binary 0100 expect-binary 0200\n"
		       "  server b 127.0.0.1:54 check\n"), 0);
	a = srv_named(&conf, "be", "a");
	b = srv_named(&conf, "be", "b");
	UT_CHECK(a && b && a->chk.udp && a->chk.udp == b->chk.udp);
	u = a ? a->chk.udp : NULL;
	if (u) {
		UT_CHECK(bytes_are(u->send, u->send_len, "\x01\x00", 2));
		UT_CHECK(bytes_are(u->expect, u->expect_len, "\x02\x00", 2));
		UT_EQ_INT(u->expect_binary, 1);
		UT_EQ_INT(u->send_line, 4);
		UT_EQ_INT(u->expect_line, 4);
	}
	UT_CHECK(a && a->check != NULL);
	unload(&conf);

	/* several lines combine; an empty send is allowed */
	UT_EQ_INT(load(&conf,
		       "listen li\n"
		       "  mode udp\n"
		       "  bind 127.0.0.1:5353\n"
		       "  udp-check expect \"PONG\\r\\n\"\n"
		       "  udp-check send \"\"\n"
		       "  server a 127.0.0.1:53 check\n"), 0);
	a = srv_named(&conf, "li", "a");
	u = a ? a->chk.udp : NULL;
	UT_CHECK(u != NULL);
	if (u) {
		UT_CHECK(bytes_are(u->expect, u->expect_len, "PONG\r\n", 6));
		UT_EQ_INT(u->expect_binary, 0);
		UT_EQ_INT(u->send_len, 0);
		UT_EQ_INT(u->send_line, 5);
	}
	unload(&conf);
}

static void test_keyword_inheritance(void)
{
	struct config conf;
	struct server *a, *b, *c;

	UT_EQ_INT(load(&conf,
		       "defaults\n"
		       "  mode udp\n"
		       "  udp-check send PING expect PONG\n"
		       "backend inherits\n"
		       "  server a 127.0.0.1:53 check\n"
		       "backend own\n"
		       "  udp-check send HELLO\n"
		       "  server b 127.0.0.1:53 check\n"
		       "backend tcp_one\n"
		       "  mode tcp\n"
		       "  server c 127.0.0.1:80 check\n"), 0);
	a = srv_named(&conf, "inherits", "a");
	b = srv_named(&conf, "own", "b");
	c = srv_named(&conf, "tcp_one", "c");
	UT_CHECK(a && a->chk.udp && bytes_are(a->chk.udp->send, a->chk.udp->send_len, "PING", 4));
	UT_CHECK(a && a->chk.udp && a->chk.udp->expect_len == 4);
	/* a section that writes udp-check starts afresh */
	UT_CHECK(b && b->chk.udp && bytes_are(b->chk.udp->send, b->chk.udp->send_len, "HELLO", 5));
	UT_CHECK(b && b->chk.udp && !b->chk.udp->expect && !b->chk.udp->expect_line);
	/* inherited by a mode tcp backend: not used there, not an error */
	UT_CHECK(c && c->check != NULL);
	unload(&conf);

	/* a defaults section may hold tcp-check for its TCP backends */
	UT_EQ_INT(load(&conf,
		       "defaults\n"
		       "  option redis-check\n"
		       "backend u\n"
		       "  mode udp\n"
		       "  server a 127.0.0.1:53 check\n"), 0);
	unload(&conf);
}

static void test_keyword_errors(void)
{
	expect_errors("backend be\n  mode udp\n  udp-check\n", 1, ":3: 'udp-check' expects");
	expect_errors("backend be\n  mode udp\n  udp-check send\n", 1,
		      "'udp-check send' expects a string");
	expect_errors("backend be\n  mode udp\n  udp-check expect\n", 1,
		      "'udp-check expect' expects a non-empty string");
	expect_errors("backend be\n  mode udp\n  udp-check expect \"\"\n", 1,
		      "'udp-check expect' expects a non-empty string");
	expect_errors("backend be\n  mode udp\n  udp-check send-binary\n", 1,
		      "'udp-check send-binary' expects hex bytes");
	expect_errors("backend be\n  mode udp\n  udp-check send-binary 0x01\n", 1,
		      ":3: 'udp-check send-binary' expects hex bytes like 0a1b, got '0x01': "
		      "'x' at position 2 is not a hex digit");
	expect_errors("backend be\n  mode udp\n  udp-check expect-binary 123\n", 1,
		      "an even number of hex digits is needed, got 3");
	expect_errors("backend be\n  mode udp\n  udp-check send a recv b\n", 1,
		      "'udp-check': unknown word 'recv'");
	expect_errors("backend be\n  mode udp\n  udp-check send a send b\n", 1,
		      "'udp-check': two sends on one line");
	expect_errors("backend be\n  mode udp\n  udp-check expect a expect-binary 00\n", 1,
		      "'udp-check': two expects on one line");
	expect_errors("backend be\n  mode udp\n  udp-check send a\n  udp-check send-binary 00\n",
		      1, ":4: 'udp-check send': this section already sends at line 3");
	expect_errors("backend be\n  mode udp\n  udp-check expect a\n  udp-check send x expect b\n",
		      1, ":4: 'udp-check expect': this section already expects at line 3");
	expect_errors("frontend fe\n  mode udp\n  udp-check send a\n", 1, NULL);
}

static void test_mode_rules(void)
{
	/* udp-check in a mode tcp backend, found once the mode is known */
	expect_errors("backend be\n  udp-check send a\n  server s 127.0.0.1:80 check\n", 1,
		      ":2: 'udp-check' applies to mode udp, and backend 'be' is mode tcp");
	expect_errors("backend be\n  udp-check send a\n  mode udp\n  server s 127.0.0.1:53 check\n",
		      0, NULL);
	expect_errors("backend be\n  mode udp\n  option tcp-check\n  tcp-check send x\n"
		      "  server s 127.0.0.1:53 check\n", 1,
		      ":3: 'option tcp-check' checks TCP servers, and backend 'be' is mode udp");
	expect_errors("backend be\n  option redis-check\n  mode udp\n", 1,
		      ":2: 'option redis-check' checks TCP servers");
	expect_errors("listen li\n  mode udp\n  bind 127.0.0.1:5353\n  option ssl-hello-chk\n", 1,
		      ":4: 'option ssl-hello-chk' checks TCP servers, and listen 'li' is mode udp");
	/* server options */
	expect_errors("backend be\n  mode udp\n  server s 127.0.0.1:53 check check-ssl verify none\n",
		      1, ":3: server 'be/s': 'check-ssl' does not apply to a UDP server");
	expect_errors("backend be\n  mode udp\n  server s 127.0.0.1:53 check check-send-proxy\n",
		      1, ":3: server 'be/s': 'check-send-proxy' does not apply to a UDP server");
	expect_errors("backend be\n  mode udp\n  default-server check-ssl\n"
		      "  server s 127.0.0.1:53 check no-check-ssl\n", 0, NULL);
	/* agents stay TCP; a UDP check needs a port like a TCP one */
	expect_errors("backend be\n  mode udp\n  server s 127.0.0.1:53 check agent-check "
		      "agent-port 5555\n", 0, NULL);
	expect_errors("backend be\n  mode udp\n  server s 127.0.0.1 check\n", 1,
		      "health check needs a port");
	expect_errors("backend be\n  mode udp\n  server s 127.0.0.1 check port 53\n", 0, NULL);
}

/* ---- real runs ------------------------------------------------------------------ */

/* A UDP server on loopback answering each datagram with reply (NULL:
 * silent), until stopped; its port is then closed (ICMP unreachable). */
struct responder {
	int fd, port;
	const char *volatile reply;
	volatile size_t reply_len;
	pthread_t thr;
	volatile int stop;
	volatile unsigned got;
	uint8_t last[64];
	volatile size_t last_len;
};

static void *responder_main(void *arg)
{
	struct responder *r = arg;
	struct sockaddr_storage from;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	uint8_t buf[2048];
	socklen_t fl;
	ssize_t n;

	while (!r->stop) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(r->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		r->last_len = (size_t)n < sizeof(r->last) ? (size_t)n : sizeof(r->last);
		memcpy(r->last, buf, r->last_len);
		r->got++;
		if (r->reply)
			sendto(r->fd, r->reply, r->reply_len, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void responder_start(struct responder *r, const char *reply, size_t reply_len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(r, 0, sizeof(*r));
	r->reply = reply;
	r->reply_len = reply_len;
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(r->fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	r->port = ntohs(sin.sin_port);
	pthread_create(&r->thr, NULL, responder_main, r);
}

static void responder_stop(struct responder *r)
{
	if (r->fd < 0)
		return;
	r->stop = 1;
	pthread_join(r->thr, NULL);
	close(r->fd);
	r->fd = -1;
}

static struct config rt_conf;
static struct runtime rt;	/* static: server_state.c keeps a pointer to it */

static int rt_begin(const char *text)
{
	if (load(&rt_conf, text)) {
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
		config_free(&rt_conf);
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
	rt.nworkers = 0;
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

/* Wait up to 5 s for s's report to have code and s to be in state st. */
static int wait_for(struct server *s, enum check_code code, int st)
{
	uint64_t end = mono_ms() + 5000;
	struct check_report rep;

	while (mono_ms() < end) {
		if (check_get_report(s, 0, &rep) == 0 && rep.code == code &&
		    atomic_load(&s->state) == st)
			return 1;
		usleep(5000);
	}
	check_get_report(s, 0, &rep);
	fprintf(stderr, "server %s: code %s info '%s' state %d\n", s->name,
		check_code_name(rep.code), rep.info, atomic_load(&s->state));
	return 0;
}

static void test_runs(void)
{
	struct responder good, bad, silent, quiet;
	struct server *g, *b, *si, *q;
	struct check_report rep;
	char cfg[2048], logs[16384], path[64] = "/tmp/test_check_udp_log_XXXXXX";
	int lfd, saved;

	responder_start(&good, "\x02\x00ok", 4);
	responder_start(&bad, "nope", 4);
	responder_start(&silent, NULL, 0);
	responder_start(&quiet, NULL, 0);
	snprintf(cfg, sizeof(cfg),
		 "global\n  log stderr format raw local0\n"
		 "backend be\n  mode udp\n  log global\n  timeout check 200ms\n"
		 "  udp-check send-binary 0100 expect-binary 0200\n"
		 "  server good 127.0.0.1:%d check inter 50 rise 1 fall 1\n"
		 "  server bad 127.0.0.1:%d check inter 50 rise 1 fall 1\n"
		 "  server silent 127.0.0.1:%d check inter 50 rise 1 fall 1\n"
		 "backend open\n  mode udp\n  log global\n  timeout check 100ms\n"
		 "  server quiet 127.0.0.1:%d check inter 50 rise 1 fall 1\n",
		 good.port, bad.port, silent.port, quiet.port);
	lfd = ut_stderr_begin(path, &saved);
	if (rt_begin(cfg) < 0) {
		ut_stderr_end(lfd, saved, logs, sizeof(logs), path);
		UT_CHECK(0);
		return;
	}
	g = srv_named(&rt_conf, "be", "good");
	b = srv_named(&rt_conf, "be", "bad");
	si = srv_named(&rt_conf, "be", "silent");
	q = srv_named(&rt_conf, "open", "quiet");
	UT_CHECK(wait_for(g, CHK_L7OK, SRV_ST_UP));
	UT_CHECK(good.got >= 1 && good.last_len == 2 && !memcmp(good.last, "\x01\x00", 2));
	UT_CHECK(wait_for(b, CHK_L7RSP, SRV_ST_DOWN));
	check_get_report(b, 0, &rep);
	UT_EQ_STR(rep.info, "UDP reply did not match '0200' (got 4 bytes: '6e6f7065')");
	UT_CHECK(wait_for(si, CHK_L7TOUT, SRV_ST_DOWN));
	check_get_report(si, 0, &rep);
	UT_EQ_STR(rep.info, "no UDP reply in 200ms (expected '0200')");
	/* no expect: silence passes, and the datagram is empty */
	UT_CHECK(wait_for(q, CHK_L4OK, SRV_ST_UP));
	UT_CHECK(quiet.got >= 1 && quiet.last_len == 0);
	/* gone: ICMP port unreachable takes both down at once */
	responder_stop(&good);
	responder_stop(&quiet);
	UT_CHECK(wait_for(g, CHK_L4CON, SRV_ST_DOWN));
	UT_CHECK(wait_for(q, CHK_L4CON, SRV_ST_DOWN));
	check_get_report(g, 0, &rep);
	UT_EQ_STR(rep.info, "Connection refused");
	UT_CHECK(rep.duration_ms >= 0 && rep.duration_ms < 100);
	rt_end();
	ut_stderr_end(lfd, saved, logs, sizeof(logs), path);
	UT_CHECK(strstr(logs, "Server be/good is DOWN, reason: Layer4 connection problem, "
			"info: \"Connection refused\"") != NULL);
	UT_CHECK(strstr(logs, "Server be/bad is DOWN, reason: Layer7 invalid response, info: "
			"\"UDP reply did not match '0200'") != NULL);
	UT_CHECK(strstr(logs, "Server be/silent is DOWN, reason: Layer7 timeout") != NULL);
	UT_CHECK(strstr(logs, "Server open/quiet is DOWN, reason: Layer4 connection problem") !=
		 NULL);
	if (getenv("UT_VERBOSE") || !strstr(logs, "be/good is DOWN, reason: Layer4"))
		fprintf(stderr, "--- logs:\n%s", logs);
	responder_stop(&bad);
	responder_stop(&silent);
}

/* Down, then up again when the server answers right. */
static void test_run_recovers(void)
{
	struct responder r;
	struct server *s;
	char cfg[1024];

	responder_start(&r, "wrong", 5);
	snprintf(cfg, sizeof(cfg),
		 "backend be\n  mode udp\n  timeout check 200ms\n"
		 "  udp-check send PING expect PONG\n"
		 "  server s 127.0.0.1:%d check inter 30 rise 2 fall 1\n", r.port);
	if (rt_begin(cfg) < 0) {
		UT_CHECK(0);
		responder_stop(&r);
		return;
	}
	s = srv_named(&rt_conf, "be", "s");
	UT_CHECK(wait_for(s, CHK_L7RSP, SRV_ST_DOWN));
	r.reply_len = 6;
	r.reply = "+PONG\n";
	UT_CHECK(wait_for(s, CHK_L7OK, SRV_ST_UP));
	UT_CHECK(r.last_len == 4 && !memcmp(r.last, "PING", 4));
	rt_end();
	responder_stop(&r);
}

int main(void)
{
	test_hex();
	test_match_no_expect();
	test_match_text();
	test_match_binary_and_bounds();
	test_keyword_values();
	test_keyword_inheritance();
	test_keyword_errors();
	test_mode_rules();
	test_runs();
	test_run_recovers();
	UT_DONE();
}
