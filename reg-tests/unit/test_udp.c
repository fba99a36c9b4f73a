/* test_udp.c - mode udp: session keys, the configuration checks of udp.c,
 * and one worker relaying real datagrams on 127.0.0.1.
 *
 * The live part starts the real runtime (one worker) on a loaded config
 * whose servers are two echo sockets of this test, answered by a thread
 * that prefixes each reply with the server's name ("s1:" / "s2:").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/listener.h>
#include <sluice/proxy.h>
#include <sluice/qsbr.h>
#include <sluice/server.h>
#include <sluice/udp.h>
#include <sluice/worker.h>

#include "ut.h"
#include "ut_cfg.h"

static char messages[16384];

static void expect_errors(const char *text, int want, const char *needle)
{
	ut_expect_errors(text, want, needle, messages, sizeof(messages));
}

/* ---- keys ----------------------------------------------------------------- */

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 v6(const char *ip, int port, unsigned scope)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((uint16_t)port);
	a.sin6_scope_id = scope;
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_keys(void)
{
	int o1, o2;
	struct sockaddr_in a = v4("10.0.0.1", 5000), b = v4("10.0.0.1", 5000);
	struct sockaddr_in c = v4("10.0.0.1", 5001), d = v4("10.0.0.2", 5000);
	struct sockaddr_in6 x = v6("2001:db8::1", 5000, 0), y = v6("2001:db8::1", 5000, 0);
	struct sockaddr_in6 z = v6("2001:db8::1", 5000, 3), m = v6("::ffff:10.0.0.1", 5000, 0);

	b.sin_zero[0] = 7;	/* padding is not part of the key */
	UT_CHECK(udp_addr_same(SA(a), SA(b)));
	UT_CHECK(udp_key_hash(&o1, SA(a)) == udp_key_hash(&o1, SA(b)));
	UT_CHECK(!udp_addr_same(SA(a), SA(c)));
	UT_CHECK(!udp_addr_same(SA(a), SA(d)));
	UT_CHECK(udp_key_hash(&o1, SA(a)) != udp_key_hash(&o1, SA(c)));
	UT_CHECK(udp_key_hash(&o1, SA(a)) != udp_key_hash(&o1, SA(d)));
	UT_CHECK(udp_key_hash(&o1, SA(a)) != udp_key_hash(&o2, SA(a)));
	UT_CHECK(udp_addr_same(SA(x), SA(y)));
	UT_CHECK(udp_key_hash(&o1, SA(x)) == udp_key_hash(&o1, SA(y)));
	UT_CHECK(!udp_addr_same(SA(x), SA(z)));	/* another interface */
	UT_CHECK(!udp_addr_same(SA(a), SA(m)));	/* mapped is another family */
	UT_CHECK(udp_key_hash(&o1, SA(a)) != udp_key_hash(&o1, SA(m)));
}

/* Low bits pick the bucket: 4096 ports of one client spread over 256. */
static void test_key_spread(void)
{
	unsigned counts[256] = { 0 }, max = 0;
	int owner;

	for (int p = 0; p < 4096; p++) {
		struct sockaddr_in a = v4("192.0.2.7", 20000 + p);

		counts[udp_key_hash(&owner, SA(a)) & 255]++;
	}
	for (int i = 0; i < 256; i++)
		if (counts[i] > max)
			max = counts[i];
	UT_CHECK(max <= 40);	/* mean 16 */
}

/* ---- configuration checks -------------------------------------------------- */

#define HEAD "global\n    maxconn 100\n"	/* line 1, 2 */

static void test_good_configs(void)
{
	expect_errors(HEAD
		      "frontend f\n    mode udp\n    bind 127.0.0.1:5353\n    default_backend b\n"
		      "    timeout client 5s\n    maxconn 10\nbackend b\n    mode udp\n    balance source\n"
		      "    server s1 127.0.0.1:53 send-proxy-v2\n    server s2 127.0.0.1 weight 2\n",
		      0, NULL);
	expect_errors(HEAD
		      "listen l\n    mode udp\n    bind 127.0.0.1:5353 accept-proxy\n"
		      "    balance hash src\n    stick-table type ip size 1k\n    stick on src\n"
		      "    server s1 127.0.0.1:53\n",
		      0, NULL);
	/* TCP proxies keep every feature */
	expect_errors(HEAD
		      "listen l\n    bind 127.0.0.1:5353\n    tcp-request inspect-delay 1s\n"
		      "    option splice-auto\n    server s1 127.0.0.1:53 send-proxy\n",
		      0, NULL);
}

static void test_refused(void)
{
	expect_errors(HEAD "listen l\n    mode udp\n    bind 127.0.0.1:5353\n"
		      "    server s1 127.0.0.1:53 send-proxy\n",
		      1, ":6: server 's1': 'send-proxy' is not supported in mode udp");
	expect_errors(HEAD "listen l\n    mode udp\n    bind 127.0.0.1:5353\n"
		      "    tcp-request content reject if { src 10.0.0.1 }\n    server s1 127.0.0.1:53\n",
		      1, ":3: listen 'l': 'tcp-request content' is not supported in mode udp");
	expect_errors(HEAD "listen l\n    bind 127.0.0.1:5353\n"
		      "    tcp-request connection reject if { src 10.0.0.1 }\n    mode udp\n"
		      "    server s1 127.0.0.1:53\n",
		      1, ":3: listen 'l': 'tcp-request connection' is not supported in mode udp");
	expect_errors(HEAD "listen l\n    mode udp\n    bind 127.0.0.1:5353\n"
		      "    tcp-request inspect-delay 2s\n    server s1 127.0.0.1:53\n",
		      1, "'tcp-request inspect-delay' is not supported in mode udp");
	expect_errors(HEAD "frontend f\n    mode udp\n    bind 127.0.0.1:5353\n"
		      "    use_backend b if { src 10.0.0.1 }\n    default_backend b\n"
		      "backend b\n    mode udp\n    server s1 127.0.0.1:53\n",
		      1, ":3: frontend 'f': 'use_backend' is not supported in mode udp");
	expect_errors(HEAD "backend b\n    mode udp\n    use-server s1 if { src 10.0.0.1 }\n"
		      "    server s1 127.0.0.1:53\n",
		      1, ":3: backend 'b': 'use-server' is not supported in mode udp");
	expect_errors(HEAD "backend b\n    mode udp\n    balance hash req.payload(0,4)\n"
		      "    server s1 127.0.0.1:53\n",
		      1, ":5: backend 'b': 'balance hash req.payload(0,4)' is not supported in mode udp");
	expect_errors(HEAD "listen l\n    mode udp\n    option splice-response\n"
		      "    bind 127.0.0.1:5353\n    server s1 127.0.0.1:53\n",
		      1, "'option splice-response' is not supported in mode udp");
	expect_errors(HEAD "defaults\n    option splice-auto\n"
		      "listen l\n    mode udp\n    bind 127.0.0.1:5353\n    server s1 127.0.0.1:53\n",
		      1, ":5: listen 'l': 'option splice-auto' is not supported in mode udp");
	/* a UDP frontend cannot use a TCP backend, and the reverse (proxy.c) */
	expect_errors(HEAD "frontend f\n    mode udp\n    bind 127.0.0.1:5353\n    default_backend b\n"
		      "backend b\n    server s1 127.0.0.1:53\n",
		      1, ":6: default_backend 'b'");
	expect_errors(HEAD "frontend f\n    bind 127.0.0.1:5353\n    default_backend b\n"
		      "backend b\n    mode udp\n    server s1 127.0.0.1:53\n",
		      1, ":5: default_backend 'b'");
}

/* ---- one live worker ------------------------------------------------------- */

struct echo {
	int fd[2];
	int port[2];
	atomic_int stop;
	pthread_t th;
};

static int udp_socket(int *port)
{
	struct sockaddr_in a = v4("127.0.0.1", 0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, SA(a), sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	static char buf[70000];

	while (!atomic_load(&e->stop)) {
		struct pollfd p[2] = { { e->fd[0], POLLIN, 0 }, { e->fd[1], POLLIN, 0 } };

		if (poll(p, 2, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t n;

			if (!(p[i].revents & POLLIN))
				continue;
			n = recvfrom(e->fd[i], buf + 3, sizeof(buf) - 3, 0,
				     (struct sockaddr *)&from, &flen);
			if (n < 0)
				continue;
			memcpy(buf, i ? "s2:" : "s1:", 3);
			sendto(e->fd[i], buf, (size_t)n + 3, 0, (struct sockaddr *)&from, flen);
		}
	}
	return NULL;
}

/* Send data from fd to port, wait for the answer (NUL-terminated in out).
 * Returns its length, or -1 after a timeout. */
static ssize_t ask(int fd, int port, const char *data, size_t len, char *out, size_t outsz)
{
	struct sockaddr_in to = v4("127.0.0.1", port);
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	sendto(fd, data, len, 0, SA(to), sizeof(to));
	if (poll(&p, 1, 1000) <= 0)
		return -1;
	n = recv(fd, out, outsz - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct live {
	struct config conf;
	struct runtime rt;
	struct echo echo;
	struct proxy *px;
	int fe_port;
};

static int live_start(struct live *L)
{
	char text[1024];
	int tmp = udp_socket(&L->fe_port);

	close(tmp);
	L->echo.fd[0] = udp_socket(&L->echo.port[0]);
	L->echo.fd[1] = udp_socket(&L->echo.port[1]);
	snprintf(text, sizeof(text),
		 "listen l\n    mode udp\n    maxconn 2\n    timeout client 400ms\n"
		 "    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n    server s2 127.0.0.1:%d\n",
		 L->fe_port, L->echo.port[0], L->echo.port[1]);
	if (ut_load_config(&L->conf, text, 0, messages, sizeof(messages)) ||
	    listeners_open(&L->conf, 1)) {
		fprintf(stderr, "%s", messages);
		return -1;
	}
	L->px = config_find_proxy(&L->conf, "l", PX_CAP_FE);
	pthread_create(&L->echo.th, NULL, echo_main, &L->echo);
	memset(&L->rt, 0, sizeof(L->rt));
	L->rt.maxconn = 100;
	if (runtime_start(&L->rt, &L->conf, 1) < 0)
		return -1;
	srv_state_start(&L->rt);
	return 0;
}

static void live_stop(struct live *L)
{
	runtime_stop(&L->rt, 0);
	runtime_join(&L->rt);
	runtime_free(&L->rt);
	atomic_store(&L->echo.stop, 1);
	pthread_join(L->echo.th, NULL);
	close(L->echo.fd[0]);
	close(L->echo.fd[1]);
	listeners_close(&L->conf);
	qsbr_shutdown();
	config_free(&L->conf);
}

/* Two clients over two servers; each one sticks; a 60000-byte and an empty
 * datagram come back whole. Returns the fd of client a and its server. */
static void live_relay(struct live *L, int a, int b, char *srv_a)
{
	static char big[60000], out[70000];
	char o2[64];

	UT_EQ_INT(ask(a, L->fe_port, "one", 3, out, sizeof(out)), 6);
	UT_CHECK(!strcmp(out + 2, ":one") && (out[1] == '1' || out[1] == '2'));
	*srv_a = out[1];
	UT_EQ_INT(ask(a, L->fe_port, "two", 3, o2, sizeof(o2)), 6);
	UT_CHECK(o2[1] == *srv_a);
	UT_EQ_INT(ask(b, L->fe_port, "bee", 3, o2, sizeof(o2)), 6);
	UT_CHECK(o2[1] != *srv_a);	/* roundrobin */
	memset(big, 'x', sizeof(big));
	UT_EQ_INT(ask(a, L->fe_port, big, sizeof(big), out, sizeof(out)), (long)sizeof(big) + 3);
	UT_EQ_INT(ask(a, L->fe_port, "", 0, o2, sizeof(o2)), 3);
	UT_EQ_INT(atomic_load(&L->px->feconn), 2);
}

static void test_live(void)
{
	struct live L;
	char out[64], srv_a;
	struct server *sa;
	int a, b, c, port;

	memset(&L, 0, sizeof(L));
	if (live_start(&L) < 0) {
		UT_CHECK(!"live set-up failed");
		return;
	}
	a = udp_socket(&port);
	b = udp_socket(&port);
	c = udp_socket(&port);
	live_relay(&L, a, b, &srv_a);
	/* a's server goes into maintenance: a moves to the other one */
	sa = server_find(L.px, srv_a == '1' ? "s1" : "s2");
	srv_set_admin(sa, SRV_ADMF_MAINT, "test");
	UT_EQ_INT(ask(a, L.fe_port, "moved", 5, out, sizeof(out)), 8);
	UT_CHECK(out[1] != srv_a);
	UT_EQ_INT(atomic_load(&L.px->ctr.redispatches), 1);
	srv_clear_admin(sa, SRV_ADMF_MAINT, "test");
	/* maxconn 2: a third client evicts the least recently active (b) */
	UT_EQ_INT(ask(c, L.fe_port, "sea", 3, out, sizeof(out)), 6);
	UT_EQ_INT(atomic_load(&L.px->feconn), 2);
	UT_EQ_INT(atomic_load(&L.px->ctr.cum_sess), 3);
	UT_EQ_INT(ask(a, L.fe_port, "still", 5, out, sizeof(out)), 8);
	UT_EQ_INT(atomic_load(&L.px->ctr.cum_sess), 3);	/* a was kept */
	/* silence: every session ends, the counters get the bytes */
	sleep_ms(900);
	UT_EQ_INT(atomic_load(&L.px->feconn), 0);
	UT_EQ_INT(atomic_load(&L.px->beconn), 0);
	UT_EQ_INT(atomic_load(&L.px->ctr.bytes_in), 3 + 3 + 3 + 60000 + 0 + 5 + 3 + 5);
	UT_EQ_INT(atomic_load(&sa->cur_conns), 0);
	close(a);
	close(b);
	close(c);
	live_stop(&L);
}

int main(void)
{
	test_keys();
	test_key_spread();
	test_good_configs();
	test_refused();
	test_live();
	UT_DONE();
}
