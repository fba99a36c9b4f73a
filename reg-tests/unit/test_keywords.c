/* test_keywords.c - global, proxy, server and bind keywords, through the
 * real config loader: each case writes a config file, loads it and checks
 * the parsed values, or the number of errors and what they say. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/listener.h>
#include <sluice/proxy.h>
#include <sluice/server.h>

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

static struct proxy *px_named(struct config *conf, const char *name, unsigned cap)
{
	return config_find_proxy(conf, name, cap);
}

static void test_global(void)
{
	struct config conf;
	int errors = load(&conf,
		"global\n"
		"  maxconn 5000\n"
		"  nbthread 8\n"
		"  cpu-map 1 0\n"
		"  cpu-map 1/2 3\n"
		"  cpu-map 3-4 0-1\n"
		"  cpu-map auto:1/5-6 6-7\n"
		"  cpu-map 1/7 2,4\n"
		"  daemon\n"
		"  pidfile /run/sluice.pid\n"
		"  tune.bufsize 32k\n"
		"  tune.maxaccept 100\n"
		"  nosplice\n"
		"  maxpipes 77\n"
		"  ulimit-n 100000\n");

	UT_EQ_INT(errors, 0);
	UT_EQ_INT(conf.global.maxconn, 5000);
	UT_EQ_INT(conf.global.nbthread, 8);
	UT_EQ_INT(conf.global.cpu_map[0], 0);
	UT_EQ_INT(conf.global.cpu_map[1], 3);
	UT_EQ_INT(conf.global.cpu_map[2], 0);
	UT_EQ_INT(conf.global.cpu_map[3], 1);
	UT_EQ_INT(conf.global.cpu_map[4], 6);
	UT_EQ_INT(conf.global.cpu_map[5], 7);
	UT_EQ_INT(conf.global.cpu_map[6], 2);
	UT_EQ_INT(conf.global.cpu_map[7], -1);
	UT_EQ_INT(conf.global.cpu_map_set, 1);
	UT_EQ_INT(conf.global.daemon, 1);
	UT_EQ_STR(conf.global.pidfile, "/run/sluice.pid");
	UT_EQ_INT(conf.global.bufsize, 32768);
	UT_EQ_INT(conf.global.maxaccept, 100);
	UT_EQ_INT(conf.global.nosplice, 1);
	UT_EQ_INT(conf.global.maxpipes, 77);
	UT_EQ_INT(conf.global.ulimit_n, 100000);
	config_free(&conf);

	errors = load(&conf, "global\n  cpu-map 1/all 4-5\n  tune.maxaccept -1\n");
	UT_EQ_INT(errors, 0);
	UT_EQ_INT(conf.global.cpu_map[0], 4);
	UT_EQ_INT(conf.global.cpu_map[1], 5);
	UT_EQ_INT(conf.global.cpu_map[63], 5);
	UT_CHECK(conf.global.maxaccept > 1000000);
	config_free(&conf);
}

static void test_global_errors(void)
{
	expect_errors("global\n  nbthread 0\n  nbthread 65\n  nbthread x\n", 3,
		      "'nbthread' expects one integer between 1 and 64");
	expect_errors("global\n  cpu-map 2/1 0\n", 1, "must be 1");
	expect_errors("global\n  cpu-map auto:1/1-3 0-1\n", 1,
		      "auto: needs as many CPUs as threads (3 threads, 2 CPUs)");
	expect_errors("global\n  cpu-map 1/65 0\n  cpu-map 1 x\n  cpu-map 1\n", 3, "cpu-map");
	expect_errors("global\n  tune.bufsize 512\n  tune.bufsize 2m\n", 2, "tune.bufsize");
	expect_errors("global\n  master-worker now\n", 1, "master-worker");
	expect_errors("global\n  daemon now\n  maxconn\n  pidfile\n", 3, "takes no argument");
	expect_errors("global\n  stats socket /tmp/x frob\n", 1, "frob");
}

static const char *const defaults_cfg =
	"defaults\n"
	"  mode tcp\n"
	"  timeout connect 5s\n"
	"  timeout client 1m\n"
	"  timeout server 2m\n"
	"  timeout queue 3s\n"
	"  timeout tunnel 1h\n"
	"  timeout client-fin 10s\n"
	"  timeout server-fin 11s\n"
	"  timeout check 2s\n"
	"  option tcplog\n"
	"  option dontlognull\n"
	"  option redispatch\n"
	"  option tcpka\n"
	"  retries 5\n"
	"  maxconn 900\n"
	"  default-server weight 5 maxconn 10\n"
	"frontend fe\n"
	"  bind 127.0.0.1:18080\n"
	"  no option tcplog\n"
	"  option logasap\n"
	"  description front door  for  tests\n"
	"  default_backend be\n"
	"backend be\n"
	"  no option redispatch\n"
	"  option redispatch 2\n"
	"  no option srvtcpka\n"
	"  option allbackups\n"
	"  timeout server 7s\n"
	"  default-server maxqueue 3\n"
	"  server a 10.0.0.1:80\n"
	"  server b 10.0.0.2 weight 0 id 1 backup\n"
	"  server c 10.0.0.3:+1000 maxconn 20 disabled\n"
	"  server d 10.0.0.4:-1\n"
	"defaults udpdefs\n"
	"  retries 7\n"
	"  timeout client 30s\n"
	"defaults tcpdefs from udpdefs\n"
	"  mode tcp\n"
	"  option splice-auto\n"
	"backend ube from udpdefs\n"
	"  server u 10.0.0.9:53\n"
	"listen both\n"
	"  bind 127.0.0.1:18081\n"
	"  server s 10.0.0.5:22\n"
	"  disabled\n";

static void test_proxy_inheritance(void)
{
	struct config conf;
	struct proxy *fe, *be, *ube, *both;
	int errors = load(&conf, defaults_cfg);

	UT_EQ_INT(errors, 0);
	fe = px_named(&conf, "fe", PX_CAP_FE);
	be = px_named(&conf, "be", PX_CAP_BE);
	ube = px_named(&conf, "ube", PX_CAP_BE);
	both = px_named(&conf, "both", PX_CAP_LISTEN);
	UT_CHECK(fe && be && ube && both);
	if (!fe || !be || !ube || !both)
		goto out;
	UT_EQ_INT(fe->to.connect, 5000);
	UT_EQ_INT(fe->to.client, 60000);
	UT_EQ_INT(fe->to.tunnel, 3600000);
	UT_EQ_INT(fe->to.client_fin, 10000);
	UT_EQ_INT(be->to.server, 7000);
	UT_EQ_INT(be->to.server_fin, 11000);
	UT_EQ_INT(be->to.queue, 3000);
	UT_EQ_INT(be->to.check, 2000);
	UT_EQ_INT(fe->options & PX_O_TCPLOG, 0);
	UT_CHECK(fe->options & PX_O_LOGASAP);
	UT_CHECK(fe->options & PX_O_DONTLOGNULL);
	UT_CHECK(fe->options & PX_O_CLITCPKA);
	UT_EQ_INT(fe->maxconn, 900);
	UT_EQ_STR(fe->desc, "front door for tests");
	UT_CHECK(fe->default_backend == be);
	UT_CHECK(be->options & PX_O_REDISPATCH);
	UT_EQ_INT(be->redispatch_interval, 2);
	UT_EQ_INT(be->options & PX_O_SRVTCPKA, 0);
	UT_CHECK(be->options & PX_O_CLITCPKA);
	UT_CHECK(be->options & PX_O_ALLBACKUPS);
	UT_EQ_INT(be->retries, 5);
	/* named defaults: udpdefs starts afresh, tcpdefs inherits from it,
	 * and a proxy without "from" takes the last defaults above it */
	UT_EQ_INT(ube->to.client, 30000);
	UT_EQ_INT(ube->to.connect, 0);
	UT_EQ_INT(ube->retries, 7);
	UT_EQ_INT(ube->redispatch_interval, -1);
	UT_EQ_INT(both->mode, PX_MODE_TCP);
	UT_EQ_INT(both->to.client, 30000);
	UT_CHECK(both->options & PX_O_SPLICE_AUTO);
	UT_EQ_INT(both->options & PX_O_TCPLOG, 0);
	UT_EQ_INT(both->disabled, 1);
	UT_EQ_INT(fe->disabled, 0);
	UT_EQ_INT(ube->srv->uweight, 1);
out:
	config_free(&conf);
}

static void test_servers(void)
{
	struct config conf;
	struct server *a, *b, *c, *d;
	struct proxy *be;
	char buf[64];

	UT_EQ_INT(load(&conf, defaults_cfg), 0);
	be = px_named(&conf, "be", PX_CAP_BE);
	if (!be) {
		UT_CHECK(0);
		config_free(&conf);
		return;
	}
	UT_EQ_INT(be->nb_srv, 4);
	a = server_find(be, "a");
	b = server_find(be, "b");
	c = server_find(be, "c");
	d = server_find(be, "d");
	UT_CHECK(a && b && c && d && !server_find(be, "zz"));
	if (!a || !b || !c || !d)
		goto out;
	UT_CHECK(be->srv == a && a->next == b && be->srv_last == d);
	/* default-server: weight/maxconn from defaults, maxqueue from be */
	UT_EQ_INT(a->uweight, 5);
	UT_EQ_INT(a->eweight, 5 * SRV_EWEIGHT_SCALE);
	UT_EQ_INT(a->maxconn, 10);
	UT_EQ_INT(a->maxqueue, 3);
	UT_EQ_INT(a->state, SRV_ST_UP);
	UT_EQ_INT(a->admin, 0);
	UT_EQ_STR(addr_str(&a->addr, buf, sizeof(buf)), "10.0.0.1:80");
	UT_EQ_INT(a->flags, 0);
	UT_EQ_INT(b->uweight, 0);
	UT_CHECK(b->flags & SRV_F_NO_PORT);
	UT_CHECK(b->flags & SRV_F_BACKUP);
	UT_EQ_INT(c->maxconn, 20);
	UT_CHECK(c->flags & SRV_F_PORT_MAP);
	UT_EQ_INT(c->port_offset, 1000);
	UT_EQ_INT(c->admin, SRV_ADMF_MAINT);
	UT_EQ_INT(d->port_offset, -1);
	UT_EQ_STR(c->addr_str, "10.0.0.3:+1000");
	/* ids: b claimed 1, the others follow in file order */
	UT_EQ_INT(b->puid, 1);
	UT_EQ_INT(a->puid, 2);
	UT_EQ_INT(c->puid, 3);
	UT_EQ_INT(d->puid, 4);
	UT_EQ_INT(a->conf_line, 31);
	UT_CHECK(a->px == be);
out:
	config_free(&conf);
}

/* The piece the runtime API reuses: parse a server line outside a file. */
static void test_server_parse_runtime(void)
{
	struct config conf;
	struct cfg_ctx ctx;
	struct server *s;
	struct proxy *be;
	char *ok[] = { "server", "e", "10.0.0.7:81", "weight", "9", NULL };
	char *dup[] = { "server", "a", "10.0.0.7:81", NULL };
	char *dupid[] = { "server", "f", "10.0.0.7:81", "id", "3", NULL };

	UT_EQ_INT(load(&conf, defaults_cfg), 0);
	be = px_named(&conf, "be", PX_CAP_BE);
	if (!be) {
		UT_CHECK(0);
		config_free(&conf);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.file = "cli";
	ctx.conf = &conf;
	ctx.px = be;
	s = server_parse(&ctx, be, 5, ok);
	UT_CHECK(s != NULL);
	if (s) {
		UT_EQ_INT(s->uweight, 9);
		UT_EQ_INT(s->maxqueue, 3);
		server_assign_id(be, s);
		UT_EQ_INT(s->puid, 5);
		server_attach(be, s);
		UT_EQ_INT(be->nb_srv, 5);
		UT_CHECK(be->srv_last == s);
	}
	fflush(stderr);
	UT_CHECK(server_parse(&ctx, be, 3, dup) == NULL);
	UT_CHECK(server_parse(&ctx, be, 5, dupid) == NULL);
	UT_EQ_INT(ctx.errors, 2);
	config_free(&conf);
}

static void test_proxy_errors(void)
{
	expect_errors("frontend f\n  mode http\n", 1,
		      "sluice is a layer-4 proxy: 'mode http' is not supported");
	expect_errors("defaults\n  mode health\n", 1, "'mode' expects 'tcp' or 'udp'");
	expect_errors("backend b\n  timeout client 5s\n", 1, "not allowed");
	expect_errors("frontend f\n  timeout server 5s\n  timeout connect 1s\n  retries 3\n", 3,
		      "not allowed");
	expect_errors("defaults\n  timeout client abc\n  timeout server 30d\n  timeout queue\n", 3,
		      "'timeout client': expects a time like 30s, got 'abc'");
	expect_errors("defaults\n  contimeout 5s\n  clitimeout 5s\n  srvtimeout 5s\n", 3,
		      "use 'timeout connect' instead");
	expect_errors("defaults\n  option httplog\n  no option httplog\n", 1,
		      "HTTP mode is not supported; use 'option tcplog'");
	expect_errors("defaults\n  option forwardfor\n  option tcplog clf\n", 2, "forwardfor");
	expect_errors("defaults\n  option redispatch x\n  no mode tcp\n", 2, "option redispatch");
	expect_errors("defaults\n  description x\n", 1, "not allowed");
	expect_errors("frontend f\n  bind :18082\n  default_backend nope\n", 1,
		      ":3: default_backend 'nope': no such backend");
	expect_errors("frontend f\n  bind :18082\n  default_backend f\n", 1,
		      "no such backend");
	/* a frontend and its backend share their mode */
	expect_errors("frontend f\n  bind :18082\n  default_backend b\n"
		      "backend b\n  mode udp\n  server s 1.2.3.4:53\n", 1,
		      "is mode tcp but backend 'b' is mode udp");
	expect_errors("frontend f\n  default_backend b\nbackend b\n", 0,
		      ":1: warning: frontend 'f' has no 'bind' line");
	UT_CHECK(strstr(messages, ":3: warning: backend 'b' has no 'server' line") != NULL);
}

static void test_server_errors(void)
{
	expect_errors("backend b\n  server a 10.0.0.1:80\n  server a 10.0.0.2:80\n", 1,
		      ":3: server 'a' is already defined in backend 'b' at ");
	UT_CHECK(strstr(messages, ":2\n") != NULL);
	expect_errors("backend b\n  server a 10.0.0.1:80 id 4\n  server c 10.0.0.2:80 id 4\n", 1,
		      "server 'c': id 4 is already used by server 'a'");
	expect_errors("backend b\n  server a 10.0.0.1:80 foo\n", 1,
		      "server 'a': unknown keyword 'foo' (sluice does not implement it)");
	expect_errors("backend b\n  server a 10.0.0.1:80 weight 300\n"
		      "  server b 10.0.0.1:80 weight\n  server c 10.0.0.1:80 id 0\n", 3,
		      "'weight' expects an integer between 0 and 256, got '300'");
	expect_errors("backend b\n  server a\n  server b 10.0.0.1:80-90\n"
		      "  server c /tmp/sock\n  server d@ 1.2.3.4:5\n", 4, "server");
	expect_errors("defaults\n  server a 10.0.0.1:80\n", 1, "not allowed");
	expect_errors("frontend f\n  server a 10.0.0.1:80\n  default-server weight 2\n", 2,
		      "not allowed");
	expect_errors("defaults\n  default-server id 3\n  default-server bogus\n", 2,
		      "default-server: 'id' is only allowed on a server line");
}

static int count_listeners(const struct bind_conf *bc)
{
	const struct list *l;
	int n = 0;

	for (l = bc->listeners.next; l != &bc->listeners; l = l->next)
		n++;
	return n;
}

static void test_bind(void)
{
	struct config conf;
	struct bind_conf *bc, *bc2;
	struct listener *l;
	struct proxy *fe;
	char buf[64];
	int errors = load(&conf,
		"frontend fe\n"
		"  maxconn 10\n"
		"  bind 127.0.0.1:8000-8002,[::1]:9000 backlog 50 v6only name web defer-accept tfo\n"
		"  bind :7000 interface lo v4v6 maxconn 30\n"
		"  default_backend be\n"
		"backend be\n"
		"  server s 127.0.0.1:1\n");

	UT_EQ_INT(errors, 0);
	fe = px_named(&conf, "fe", PX_CAP_FE);
	if (!fe || list_empty(&fe->binds)) {
		UT_CHECK(0);
		config_free(&conf);
		return;
	}
	bc = list_first(&fe->binds, struct bind_conf, node);
	bc2 = list_entry(bc->node.next, struct bind_conf, node);
	UT_EQ_INT(count_listeners(bc), 4);
	UT_EQ_STR(bc->arg, "127.0.0.1:8000-8002,[::1]:9000");
	UT_EQ_INT(bc->backlog, 50);
	UT_EQ_INT(bc->v6only, 1);
	UT_EQ_INT(bc->v4v6, 0);
	UT_EQ_INT(bc->defer_accept, 1);
	UT_EQ_INT(bc->tfo, 1);
	UT_EQ_STR(bc->name, "web");
	UT_CHECK(bc->fe == fe);
	UT_EQ_INT(bc->conf_line, 3);
	l = list_first(&bc->listeners, struct listener, node);
	UT_EQ_STR(addr_str(&l->addr, buf, sizeof(buf)), "127.0.0.1:8000");
	l = list_entry(l->node.next->next, struct listener, node);
	UT_EQ_STR(addr_str(&l->addr, buf, sizeof(buf)), "127.0.0.1:8002");
	l = list_entry(l->node.next, struct listener, node);
	UT_EQ_STR(addr_str(&l->addr, buf, sizeof(buf)), "[::1]:9000");
	UT_EQ_INT(count_listeners(bc2), 1);
	UT_EQ_STR(bc2->interface, "lo");
	UT_EQ_INT(bc2->v4v6, 1);
	UT_EQ_INT(bc2->maxconn, 30);
	config_free(&conf);
}

static void test_bind_errors(void)
{
	expect_errors("frontend f\n  bind :443 ssl crt /x.pem\n", 1,
		      "bind: 'ssl' is not supported (sluice never terminates TLS)");
	expect_errors("frontend f\n  bind /run/x.sock\n  bind unix@/run/y.sock\n", 2,
		      "not UNIX sockets");
	expect_errors("frontend f\n  bind :0\n  bind 1.2.3.4\n  bind\n  bind :80,\n", 4, "bind");
	expect_errors("frontend f\n  bind :80 accept-netscaler-cip 1234\n  bind :81 backlog x\n", 2,
		      "unknown keyword 'accept-netscaler-cip' (sluice does not implement it)");
	expect_errors("backend b\n  bind :80\n", 1, "not allowed");
	expect_errors("frontend f\n  bind :80 tfo\n  mode udp\n", 1,
		      "'tfo' only applies to TCP");
}

/* A port nobody uses right now: bind to port 0 and ask which one we got. */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static const char *fe_config(int port)
{
	static char text[256];

	snprintf(text, sizeof(text),
		 "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
		 "backend be\n  server s 127.0.0.1:1\n", port);
	return text;
}

static void test_listeners_open(void)
{
	struct config conf;
	struct listener *l;
	struct proxy *fe;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int port = free_port(), blocker, type = 0;
	socklen_t tlen = sizeof(type);
	char want[128];

	UT_EQ_INT(load(&conf, fe_config(port)), 0);
	fe = px_named(&conf, "fe", PX_CAP_FE);
	UT_EQ_INT(listeners_open(&conf, 3), 0);
	l = list_first(&list_first(&fe->binds, struct bind_conf, node)->listeners,
		       struct listener, node);
	UT_EQ_INT(l->nbfds, 3);
	UT_CHECK(l->fds[0] >= 0 && l->fds[1] >= 0 && l->fds[2] >= 0);
	UT_EQ_INT(getsockname(l->fds[2], (struct sockaddr *)&sin, &len), 0);
	UT_EQ_INT(ntohs(sin.sin_port), port);
	UT_EQ_INT(getsockopt(l->fds[0], SOL_SOCKET, SO_ACCEPTCONN, &type, &tlen), 0);
	UT_EQ_INT(type, 1);
	UT_CHECK(fcntl(l->fds[1], F_GETFL) & O_NONBLOCK);
	listeners_close(&conf);
	UT_CHECK(l->fds == NULL && l->nbfds == 0);
	config_free(&conf);

	/* someone else holds the port, without SO_REUSEPORT */
	port = free_port();
	blocker = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	UT_EQ_INT(bind(blocker, (struct sockaddr *)&sin, sizeof(sin)), 0);
	UT_EQ_INT(listen(blocker, 1), 0);
	UT_EQ_INT(load(&conf, fe_config(port)), 0);
	{
		char path[] = "/tmp/test_keywords_err_XXXXXX";
		int saved, efd = ut_stderr_begin(path, &saved);

		UT_EQ_INT(listeners_open(&conf, 2), 1);
		ut_stderr_end(efd, saved, messages, sizeof(messages), path);
	}
	snprintf(want, sizeof(want),
		 ":2: cannot bind socket for frontend 'fe' [127.0.0.1:%d]: Address already in use",
		 port);
	UT_CHECK(strstr(messages, want) != NULL);
	listeners_close(&conf);
	config_free(&conf);
	close(blocker);
}

int main(void)
{
	test_global();
	test_global_errors();
	test_proxy_inheritance();
	test_servers();
	test_server_parse_runtime();
	test_proxy_errors();
	test_server_errors();
	test_bind();
	test_bind_errors();
	test_listeners_open();
	UT_DONE();
}
