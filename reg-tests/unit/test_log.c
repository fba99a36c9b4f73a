/* test_log.c - log keywords, session line formats, syslog framing and
 * delivery to a local UDP socket. Runs with TZ=UTC so dates are fixed. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/log.h>
#include <sluice/proxy.h>

#include "ut.h"

/* 2026-11-23 10:12:13.123 UTC */
#define ACCEPT_MS 1795428733123ULL

static struct sockaddr_storage cli, fe_addr, srv_addr;

static void set_ip(struct sockaddr_storage *ss, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
}

static struct log_sess_info base_info(void)
{
	struct log_sess_info i;

	memset(&i, 0, sizeof(i));
	i.cli = &cli;
	i.fe_addr = &fe_addr;
	i.srv_addr = &srv_addr;
	i.fe_name = "fe";
	i.be_name = "be";
	i.srv_name = "srv1";
	i.accept_date_ms = ACCEPT_MS;
	i.Tw = 0;
	i.Tc = 1;
	i.Tt = 5003;
	i.bytes_in = 77;
	i.bytes_out = 1234;
	memcpy(i.term, "--", 3);
	i.actconn = 3;
	i.feconn = 2;
	i.beconn = 1;
	i.srv_conn = 1;
	i.level = LOG_LVL_INFO;
	return i;
}

static const char *fmt_line(const struct proxy *px, const struct log_sess_info *info)
{
	static char buf[2048];

	log_format_session(px, info, buf, sizeof(buf));
	return buf;
}

/* Compile px->log_format the way the post-parser does; returns errors. */
static int compile_one(struct proxy *px, const char *fmt)
{
	struct config conf;
	int ret;

	config_init(&conf);
	free(px->log_format);
	px->log_format = strdup(fmt);
	px->log_format_file = "test.cfg";
	px->log_format_line = 12;
	free(px->logfmt);
	px->logfmt = NULL;
	conf.proxies = px;
	ret = log_compile_formats(&conf);
	conf.proxies = NULL;
	config_free(&conf);
	return ret;
}

/* Run fn with stderr going to a file, and return what it printed. */
static char captured[8192];

static void capture_start(int *saved, FILE **tmp)
{
	fflush(stderr);
	*tmp = tmpfile();
	*saved = dup(2);
	dup2(fileno(*tmp), 2);
}

static void capture_end(int saved, FILE *tmp)
{
	size_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
}

static int compile_err(struct proxy *px, const char *fmt)
{
	int saved, ret;
	FILE *tmp;

	capture_start(&saved, &tmp);
	ret = compile_one(px, fmt);
	capture_end(saved, tmp);
	return ret;
}

static void test_tcplog(void)
{
	struct proxy *px = proxy_new("fe", PX_CAP_FE, NULL);
	struct log_sess_info i = base_info();
	char small[16];

	px->options |= PX_O_TCPLOG;
	UT_EQ_STR(fmt_line(px, &i),
		  "10.0.1.2:33312 [23/Nov/2026:10:12:13.123] fe be/srv1 0/1/5003 1234 -- 3/2/1/1/0 0/0");

	i.srv_name = NULL;
	i.be_name = NULL;
	i.Tc = -1;
	i.Tw = -1;
	memcpy(i.term, "SC", 3);
	i.retries = 3;
	i.redispatched = 1;
	i.srv_queue = 4;
	i.be_queue = 5;
	UT_EQ_STR(fmt_line(px, &i),
		  "10.0.1.2:33312 [23/Nov/2026:10:12:13.123] fe fe/<NOSRV> -1/-1/5003 1234 SC 3/2/1/1/+3 4/5");

	i = base_info();
	set_ip(&cli, "2001:db8::1", 40000);
	px->options |= PX_O_LOGASAP;
	UT_EQ_STR(fmt_line(px, &i),
		  "2001:db8::1:40000 [23/Nov/2026:10:12:13.123] fe be/srv1 0/1/+5003 +1234 -- 3/2/1/1/0 0/0");
	set_ip(&cli, "10.0.1.2", 33312);
	px->options &= ~PX_O_LOGASAP;

	/* truncated to size - 1, NUL-terminated */
	UT_EQ_INT(log_format_session(px, &i, small, sizeof(small)), 15);
	UT_EQ_STR(small, "10.0.1.2:33312 ");
	UT_EQ_INT(log_format_session(px, &i, small, 1), 0);
	UT_EQ_STR(small, "");
	proxy_free(px);
}

static void test_default_format(void)
{
	struct proxy *px = proxy_new("www", PX_CAP_FE, NULL);
	struct log_sess_info i = base_info();

	i.fe_name = NULL;	/* falls back to the proxy's name */
	UT_CHECK(log_proxy_wants_connect_line(px));
	UT_EQ_STR(fmt_line(px, &i), "Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (www/TCP)");
	px->mode = PX_MODE_UDP;
	UT_EQ_STR(fmt_line(px, &i), "Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (www/UDP)");
	i.fe_addr = NULL;
	UT_EQ_STR(fmt_line(px, &i), "Connect from 10.0.1.2:33312 to -:- (www/UDP)");
	px->options |= PX_O_TCPLOG;
	UT_CHECK(!log_proxy_wants_connect_line(px));
	px->options &= ~PX_O_TCPLOG;
	px->log_format = strdup("%ci");
	UT_CHECK(!log_proxy_wants_connect_line(px));
	proxy_free(px);
}

static void test_log_format_vars(void)
{
	struct proxy *px = proxy_new("fe", PX_CAP_FE, NULL);
	struct log_sess_info i = base_info();

	UT_EQ_INT(compile_one(px, "%ci:%cp %fi:%fp %si:%sp %bi:%bp %ft %f %b %s"), 0);
	UT_EQ_STR(fmt_line(px, &i), "10.0.1.2:33312 10.0.3.31:8012 192.168.1.5:22 -:- fe fe be srv1");

	UT_EQ_INT(compile_one(px, "[%t] [%T] [%Tl] %Ts %ms"), 0);
	UT_EQ_STR(fmt_line(px, &i), "[23/Nov/2026:10:12:13.123] [23/Nov/2026:10:12:13 +0000] "
		  "[23/Nov/2026:10:12:13 +0000] 1795428733 123");

	UT_EQ_INT(compile_one(px, "%Tw/%Tc/%Tt %Th %Ti %B %U %ts %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq"), 0);
	UT_EQ_STR(fmt_line(px, &i), "0/1/5003 0 -1 1234 77 -- ---- 3/2/1/1/0 0/0");

	/* flags: quote strings (never numbers), hex, escape */
	UT_EQ_INT(compile_one(px, "%{+Q}ci %{+Q}cp %{+Q}b %{+X}ci %{+X}cp %{+X}Ts %{+Q,+X}si"), 0);
	UT_EQ_STR(fmt_line(px, &i), "\"10.0.1.2\" 33312 \"be\" 0A000102 8220 6B04117D \"C0A80105\"");

	i.be_name = "a\"b]c\\d";
	UT_EQ_INT(compile_one(px, "%{+E}b %{+Q+E}b %b"), 0);
	UT_EQ_STR(fmt_line(px, &i), "a\\\"b\\]c\\\\d \"a\\\"b\\]c\\\\d\" a\"b]c\\d");
	i.be_name = "be";

	/* %{...}o sets flags for everything that follows; -Q takes it back */
	UT_EQ_INT(compile_one(px, "%{+Q}o %b %s %{-Q}ft %Tt"), 0);
	UT_EQ_STR(fmt_line(px, &i), " \"be\" \"srv1\" fe 5003");

	/* missing strings: "-", or "" when quoted */
	i.srv_addr = NULL;
	UT_EQ_INT(compile_one(px, "%si:%sp %{+Q}si"), 0);
	UT_EQ_STR(fmt_line(px, &i), "-:- \"\"");
	i.srv_addr = &srv_addr;

	UT_EQ_INT(compile_one(px, "100%% %%ci, literal only"), 0);
	UT_EQ_STR(fmt_line(px, &i), "100% %ci, literal only");
	UT_EQ_INT(compile_one(px, ""), 0);
	UT_EQ_STR(fmt_line(px, &i), "");

	i.redispatched = 1;
	i.retries = 2;
	UT_EQ_INT(compile_one(px, "%rc %pid"), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "+2 %d", (int)getpid());
		UT_EQ_STR(fmt_line(px, &i), want);
	}
	/* "option tcplog" set after log-format wins */
	px->options |= PX_O_TCPLOG;
	UT_EQ_STR(fmt_line(px, &i),
		  "10.0.1.2:33312 [23/Nov/2026:10:12:13.123] fe be/srv1 0/1/5003 1234 -- 3/2/1/1/+2 0/0");
	px->options &= ~PX_O_TCPLOG;
	proxy_free(px);
}

static void test_log_format_errors(void)
{
	struct proxy *px = proxy_new("fe", PX_CAP_FE, NULL);

	UT_EQ_INT(compile_err(px, "%ci %xyz"), 1);
	UT_CHECK(strstr(captured, "test.cfg:12: 'log-format': unknown variable '%xyz'") != NULL);
	UT_CHECK(px->logfmt == NULL);
	UT_EQ_INT(compile_err(px, "%ci %cip"), 1);
	UT_CHECK(strstr(captured, "unknown variable '%cip'") != NULL);
	UT_EQ_INT(compile_err(px, "%{+Q}r"), 1);
	UT_CHECK(strstr(captured, "'%r' is an HTTP variable") != NULL);
	UT_EQ_INT(compile_err(px, "%[src]"), 1);
	UT_CHECK(strstr(captured, "not supported") != NULL);
	UT_EQ_INT(compile_err(px, "50%"), 1);
	UT_CHECK(strstr(captured, "must be followed by a variable name") != NULL);
	UT_EQ_INT(compile_err(px, "% ci"), 1);
	UT_EQ_INT(compile_err(px, "%{+Z}ci"), 1);
	UT_CHECK(strstr(captured, "unknown flag '+Z'") != NULL);
	UT_EQ_INT(compile_err(px, "%{+Q"), 1);
	UT_CHECK(strstr(captured, "missing '}'") != NULL);
	proxy_free(px);
}

/* ---- delivery ---- */

static int sink_open(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* One datagram, or -1 when none comes within wait_ms. */
static int sink_recv(int fd, char *buf, size_t size, int wait_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, wait_ms) <= 0)
		return -1;
	n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static struct logger *udp_logger(int port, enum log_format_type fmt, int facility)
{
	struct logger *lg = calloc(1, sizeof(*lg));

	list_init(&lg->node);
	lg->type = LOG_T_UDP;
	lg->format = fmt;
	set_ip(&lg->addr, "127.0.0.1", port);
	lg->addrlen = sizeof(struct sockaddr_in);
	lg->fd = -1;
	lg->facility = facility;
	lg->level = LOG_LVL_DEBUG;
	lg->minlevel = LOG_LVL_EMERG;
	lg->maxlen = 1024;
	return lg;
}

static int matches(const char *s, const char *re)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	if (!ok)
		fprintf(stderr, "'%s' does not match /%s/\n", s, re);
	return ok;
}

#define ISO_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}\\+00:00"

static void test_framing(void)
{
	struct config conf;
	struct logger *lg;
	char buf[2048], re[256];
	int port, fd = sink_open(&port), pid = (int)getpid();

	config_init(&conf);
	conf.global.hostname = strdup("testhost");
	free(conf.global.log_tag);
	conf.global.log_tag = strdup("mytag");
	log_compile_formats(&conf);	/* picks up the host name */
	lg = udp_logger(port, LOG_F_RFC3164, 16);
	list_add_tail(&conf.global.loggers, &lg->node);
	UT_EQ_INT(log_open_targets(&conf), 0);
	UT_CHECK(lg->fd >= 0);

	log_send(NULL, &conf, LOG_LVL_INFO, "hello %d", 42);
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	snprintf(re, sizeof(re), "^<134>[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "
		 "mytag\\[%d\\]: hello 42$", pid);
	UT_CHECK(matches(buf, re));

	lg->format = LOG_F_RFC5424;
	log_send(NULL, &conf, LOG_LVL_ERR, "hello\n");	/* trailing newline dropped */
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	snprintf(re, sizeof(re), "^<131>1 " ISO_RE " testhost mytag %d - - hello$", pid);
	UT_CHECK(matches(buf, re));

	lg->format = LOG_F_SHORT;
	log_send(NULL, &conf, LOG_LVL_WARNING, "short");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "<4>short");

	lg->format = LOG_F_PRIORITY;
	log_send(NULL, &conf, LOG_LVL_WARNING, "prio");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "<132>prio");

	lg->format = LOG_F_RAW;
	log_send(NULL, &conf, LOG_LVL_WARNING, "raw");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "raw");

	lg->format = LOG_F_TIMED;
	log_send(NULL, &conf, LOG_LVL_NOTICE, "timed");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_CHECK(matches(buf, "^<5>" ISO_RE " timed$"));

	lg->format = LOG_F_ISO;
	log_send(NULL, &conf, LOG_LVL_NOTICE, "iso");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_CHECK(matches(buf, "^" ISO_RE " iso$"));

	log_close_targets(&conf);
	UT_EQ_INT(lg->fd, -1);
	config_free(&conf);
	close(fd);
}

static void test_levels_and_len(void)
{
	struct config conf;
	struct logger *lg;
	char buf[2048], msg[300];
	int port, fd = sink_open(&port);

	config_init(&conf);
	lg = udp_logger(port, LOG_F_RAW, 0);
	lg->level = LOG_LVL_NOTICE;
	lg->minlevel = LOG_LVL_CRIT;
	list_add_tail(&conf.global.loggers, &lg->node);
	log_open_targets(&conf);

	log_send(NULL, &conf, LOG_LVL_INFO, "too verbose");
	log_send(NULL, &conf, LOG_LVL_DEBUG, "too verbose");
	UT_EQ_INT(sink_recv(fd, buf, sizeof(buf), 100), -1);
	lg->format = LOG_F_PRIORITY;
	log_send(NULL, &conf, LOG_LVL_NOTICE, "kept");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "<5>kept");
	log_send(NULL, &conf, LOG_LVL_EMERG, "capped");	/* raised to crit */
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "<2>capped");

	/* "len": the whole line, header included */
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	lg->maxlen = 80;
	lg->format = LOG_F_RAW;
	log_send(NULL, &conf, LOG_LVL_NOTICE, "%s", msg);
	UT_EQ_INT(sink_recv(fd, buf, sizeof(buf), 1000), 80);
	lg->format = LOG_F_RFC3164;
	log_send(NULL, &conf, LOG_LVL_NOTICE, "%s", msg);
	UT_EQ_INT(sink_recv(fd, buf, sizeof(buf), 1000), 80);
	UT_CHECK(!strncmp(buf, "<5>", 3) && buf[79] == 'x');

	log_close_targets(&conf);
	config_free(&conf);
	close(fd);
}

/* A proxy with one target of its own and one global target, both UDP. */
struct sess_env {
	struct config conf;
	struct proxy *px;
	struct log_sess_info i;
	int fd, gfd;
	char buf[2048];
};

static void env_init(struct sess_env *e)
{
	struct logger *own, *glob;
	int port, gport;

	e->fd = sink_open(&port);
	e->gfd = sink_open(&gport);
	config_init(&e->conf);
	e->px = proxy_new("fe", PX_CAP_FE, NULL);
	e->i = base_info();
	own = udp_logger(port, LOG_F_RAW, 16);
	glob = udp_logger(gport, LOG_F_PRIORITY, 16);
	list_add_tail(&e->px->loggers, &own->node);
	list_add_tail(&e->conf.global.loggers, &glob->node);
	e->conf.proxies = e->px;
	UT_EQ_INT(log_open_targets(&e->conf), 0);
	UT_CHECK(own->fd >= 0 && glob->fd >= 0);
}

static void env_free(struct sess_env *e)
{
	log_close_targets(&e->conf);
	config_free(&e->conf);	/* frees px too */
	if (e->fd >= 0)
		close(e->fd);
	close(e->gfd);
}

/* 1: the proxy's own target got a line, 0: it got nothing */
static int own_got_line(struct sess_env *e)
{
	log_session(e->px, &e->conf, &e->i);
	return sink_recv(e->fd, e->buf, sizeof(e->buf), 100) > 0;
}

static void test_session_default_and_tcplog(void)
{
	struct sess_env e;

	env_init(&e);
	/* default format: a line at accept, nothing at the end */
	UT_CHECK(log_proxy_has_targets(e.px, &e.conf));
	UT_CHECK(!own_got_line(&e));
	log_connect(e.px, &e.conf, &e.i);
	UT_CHECK(sink_recv(e.fd, e.buf, sizeof(e.buf), 1000) > 0);
	UT_EQ_STR(e.buf, "Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (fe/TCP)");

	e.px->options |= PX_O_TCPLOG;
	log_connect(e.px, &e.conf, &e.i);
	UT_EQ_INT(sink_recv(e.fd, e.buf, sizeof(e.buf), 100), -1);
	UT_CHECK(own_got_line(&e));
	UT_EQ_STR(e.buf,
		  "10.0.1.2:33312 [23/Nov/2026:10:12:13.123] fe be/srv1 0/1/5003 1234 -- 3/2/1/1/0 0/0");
	env_free(&e);
}

static void test_session_filters(void)
{
	struct sess_env e;

	env_init(&e);
	e.px->options |= PX_O_TCPLOG | PX_O_DONTLOGNULL;
	/* dontlognull: the client sent nothing */
	e.i.bytes_in = 0;
	UT_CHECK(!own_got_line(&e));
	e.i.bytes_in = 1;
	e.i.bytes_out = 0;
	UT_CHECK(own_got_line(&e));

	/* dontlog-normal: only errors, retries and redispatches */
	e.px->options |= PX_O_DONTLOG_NORMAL;
	UT_CHECK(!own_got_line(&e));
	memcpy(e.i.term, "SC", 3);
	UT_CHECK(own_got_line(&e));
	memcpy(e.i.term, "--", 3);
	e.i.retries = 1;
	UT_CHECK(own_got_line(&e));
	e.i.retries = 0;
	e.i.redispatched = 1;
	UT_CHECK(own_got_line(&e));
	env_free(&e);
}

static void test_session_global_and_nolog(void)
{
	struct sess_env e;
	unsigned long before;

	env_init(&e);
	e.px->options |= PX_O_TCPLOG | PX_O_LOG_GLOBAL;
	e.i.level = 0;	/* a zeroed level means info, never emerg */
	UT_CHECK(own_got_line(&e));
	UT_CHECK(sink_recv(e.gfd, e.buf, sizeof(e.buf), 1000) > 0);
	UT_CHECK(!strncmp(e.buf, "<134>10.0.1.2:33312 [", 21));

	e.px->options |= PX_O_NOLOG;
	UT_CHECK(!log_proxy_has_targets(e.px, &e.conf));
	UT_CHECK(!own_got_line(&e));
	UT_EQ_INT(sink_recv(e.gfd, e.buf, sizeof(e.buf), 100), -1);
	e.px->options &= ~PX_O_NOLOG;

	/* a target that is gone: counted, never blocking */
	before = log_dropped();
	close(e.fd);
	e.fd = -1;
	for (int k = 0; k < 3; k++)
		log_send(e.px, &e.conf, LOG_LVL_INFO, "nobody listens");
	UT_CHECK(log_dropped() > before);
	env_free(&e);
}

static void test_unix_target(void)
{
	struct config conf;
	struct logger *lg;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/test_log_%d.sock", (int)getpid());
	unlink(sun.sun_path);
	UT_CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	config_init(&conf);
	lg = udp_logger(0, LOG_F_PRIORITY, 1);
	lg->type = LOG_T_UNIX;
	memcpy(&lg->addr, &sun, sizeof(sun));
	lg->addrlen = sizeof(sun);
	list_add_tail(&conf.global.loggers, &lg->node);
	UT_EQ_INT(log_open_targets(&conf), 0);
	log_send(NULL, &conf, LOG_LVL_ERR, "over unix");
	UT_CHECK(sink_recv(fd, buf, sizeof(buf), 1000) > 0);
	UT_EQ_STR(buf, "<11>over unix");	/* datagrams carry no newline */
	log_close_targets(&conf);
	config_free(&conf);
	close(fd);
	unlink(sun.sun_path);
}

static void test_stdout_target(void)
{
	struct config conf;
	struct logger *lg;
	int p[2], saved;
	char buf[256];
	ssize_t n;

	config_init(&conf);
	lg = udp_logger(0, LOG_F_SHORT, 3);
	lg->type = LOG_T_STDOUT;
	list_add_tail(&conf.global.loggers, &lg->node);
	UT_EQ_INT(log_open_targets(&conf), 0);
	UT_CHECK(pipe(p) == 0);
	fflush(stdout);
	saved = dup(1);
	dup2(p[1], 1);
	log_send(NULL, &conf, LOG_LVL_ERR, "on stdout");
	dup2(saved, 1);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	UT_EQ_STR(buf, "<3>on stdout\n");
	close(p[0]);
	log_close_targets(&conf);
	config_free(&conf);
}

/* ---- keywords, through the real configuration loader ---- */

static int load_cfg(struct config *conf, const char *text)
{
	char path[] = "/tmp/test_log_XXXXXX";
	char *files[1] = { path };
	int fd = mkstemp(path), saved, ret;
	FILE *tmp;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -100;
	close(fd);
	config_init(conf);
	capture_start(&saved, &tmp);
	ret = cfg_load_files(conf, 1, files);
	capture_end(saved, tmp);
	unlink(path);
	return ret;
}

static struct logger *nth_logger(struct list *head, int n)
{
	struct list *l = head->next;

	while (n-- > 0 && l != head)
		l = l->next;
	return l == head ? NULL : list_entry(l, struct logger, node);
}

static int count_loggers(const struct list *head)
{
	int n = 0;

	for (const struct list *l = head->next; l != head; l = l->next)
		n++;
	return n;
}

static const char good_cfg[] =
	"global\n"
	"    log 127.0.0.1:5514 len 200 format rfc5424 local3 notice err\n"
	"    log stdout format raw daemon\n"
	"    log /dev/log local0\n"
	"    log unix@/run/x.sock user info\n"
	"    log udp4@127.0.0.1 local7\n"
	"    log [::1]:1514 format short kern\n"
	"    log-tag mytag\n"
	"defaults\n"
	"    log global\n"
	"    log 127.0.0.2 local1\n"
	"    option tcplog\n"
	"    log-format \"%ci %b\"\n"
	"frontend fe1\n"
	"    no log\n"
	"frontend fe2\n"
	"    option tcplog\n"
	"frontend fe3\n"
	"    log-format \"%ci:%cp %{+Q}b\"\n"
	"    log stderr local2\n";

static void check_global_loggers(struct config *conf)
{
	struct logger *lg;

	UT_EQ_INT(count_loggers(&conf->global.loggers), 6);
	lg = nth_logger(&conf->global.loggers, 0);
	UT_EQ_INT(lg->type, LOG_T_UDP);
	UT_EQ_INT(ntohs(((struct sockaddr_in *)&lg->addr)->sin_port), 5514);
	UT_EQ_INT(lg->maxlen, 200);
	UT_EQ_INT(lg->format, LOG_F_RFC5424);
	UT_EQ_INT(lg->facility, 19);
	UT_EQ_INT(lg->level, LOG_LVL_NOTICE);
	UT_EQ_INT(lg->minlevel, LOG_LVL_ERR);
	UT_EQ_INT(lg->conf_line, 2);
	lg = nth_logger(&conf->global.loggers, 1);
	UT_EQ_INT(lg->type, LOG_T_STDOUT);
	UT_EQ_INT(lg->format, LOG_F_RAW);
	UT_EQ_INT(lg->facility, 3);
	UT_EQ_INT(lg->level, LOG_LVL_DEBUG);
	UT_EQ_INT(lg->maxlen, 1024);
	lg = nth_logger(&conf->global.loggers, 2);
	UT_EQ_INT(lg->type, LOG_T_UNIX);
	UT_EQ_STR(((struct sockaddr_un *)&lg->addr)->sun_path, "/dev/log");
	UT_EQ_INT(lg->format, LOG_F_RFC3164);
	lg = nth_logger(&conf->global.loggers, 3);
	UT_EQ_STR(((struct sockaddr_un *)&lg->addr)->sun_path, "/run/x.sock");
	UT_EQ_INT(lg->level, LOG_LVL_INFO);
	lg = nth_logger(&conf->global.loggers, 4);
	UT_EQ_INT(lg->type, LOG_T_UDP);
	UT_EQ_INT(lg->addr.ss_family, AF_INET);
	UT_EQ_INT(ntohs(((struct sockaddr_in *)&lg->addr)->sin_port), 514);
	UT_EQ_INT(lg->facility, 23);
	lg = nth_logger(&conf->global.loggers, 5);
	UT_EQ_INT(lg->addr.ss_family, AF_INET6);
	UT_EQ_INT(ntohs(((struct sockaddr_in6 *)&lg->addr)->sin6_port), 1514);
	UT_EQ_INT(lg->format, LOG_F_SHORT);
	UT_EQ_STR(conf->global.log_tag, "mytag");
}

static void test_keywords(void)
{
	struct config conf;
	struct proxy *fe1, *fe2, *fe3;
	struct log_sess_info i = base_info();
	int ret = load_cfg(&conf, good_cfg);

	UT_EQ_INT(ret, 0);
	if (ret) {
		fprintf(stderr, "%s", captured);
		config_free(&conf);
		return;
	}
	check_global_loggers(&conf);
	UT_CHECK(conf.defaults && (conf.defaults->options & PX_O_LOG_GLOBAL));
	UT_CHECK(!(conf.defaults->options & PX_O_TCPLOG));	/* log-format came last */
	UT_EQ_INT(count_loggers(&conf.defaults->loggers), 1);

	fe1 = config_find_proxy(&conf, "fe1", PX_CAP_FE);
	fe2 = config_find_proxy(&conf, "fe2", PX_CAP_FE);
	fe3 = config_find_proxy(&conf, "fe3", PX_CAP_FE);
	UT_CHECK(fe1 && fe2 && fe3);
	if (!fe1 || !fe2 || !fe3) {
		config_free(&conf);
		return;
	}
	UT_CHECK(fe1->options & PX_O_NOLOG);
	UT_CHECK(!(fe1->options & PX_O_LOG_GLOBAL));
	UT_EQ_INT(count_loggers(&fe1->loggers), 0);
	UT_CHECK(!log_proxy_has_targets(fe1, &conf));

	/* inherited log-format, then "option tcplog": tcplog wins */
	UT_CHECK(log_proxy_has_targets(fe2, &conf));
	UT_EQ_STR(fmt_line(fe2, &i),
		  "10.0.1.2:33312 [23/Nov/2026:10:12:13.123] fe be/srv1 0/1/5003 1234 -- 3/2/1/1/0 0/0");

	UT_EQ_INT(count_loggers(&fe3->loggers), 2);	/* inherited + own */
	UT_EQ_INT(nth_logger(&fe3->loggers, 1)->type, LOG_T_STDERR);
	UT_CHECK(fe3->logfmt != NULL);
	UT_EQ_STR(fmt_line(fe3, &i), "10.0.1.2:33312 \"be\"");
	config_free(&conf);
}

struct bad_case {
	const char *cfg;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "global\n log ring@buf local0\n", ":2: 'log': target 'ring@buf' is not supported" },
	{ "global\n log fd@3 local0\n", "is not supported" },
	{ "global\n log 127.0.0.1 local9\n", "unknown facility 'local9'" },
	{ "global\n log 127.0.0.1 local0 verbose\n", "unknown level 'verbose'" },
	{ "global\n log 127.0.0.1 local0 info loud\n", "unknown minimum level 'loud'" },
	{ "global\n log 127.0.0.1 local0 info err extra\n", "unexpected 'extra'" },
	{ "global\n log 127.0.0.1 len 10 local0\n", "'len' expects a length between 80 and 65535" },
	{ "global\n log 127.0.0.1 format json local0\n", "unknown format 'json'" },
	{ "global\n log 127.0.0.1 sample 1:2 local0\n", "'sample' is not supported" },
	{ "global\n log 127.0.0.1 local\n", "unknown facility" },
	{ "global\n log stdout\n", "expects" },
	{ "global\n log 127.0.0.1 format raw\n", "expects a facility" },
	{ "global\n log global\n", "'log global' is only valid in proxies" },
	{ "global\n log-tag\n", "'log-tag' expects one name" },
	{ "frontend f\n log global extra\n", "'log global' takes no argument" },
	{ "frontend f\n no log now\n", "'no log' takes no argument" },
	{ "frontend f\n log-format %ci %cp\n", "'log-format' expects exactly one argument" },
	{ "frontend f\n log 1.2.3.4:0 local0\n", "port 0" },
	{ "global\n log unix@ local0\n", "UNIX socket path" },
	{ "frontend f\n # comment\n\n log-format \"%ci %Tq\"\n",
	  ":4: 'log-format': '%Tq' is an HTTP variable" },
};

static void test_keyword_errors(void)
{
	for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
		struct config conf;
		int ret = load_cfg(&conf, bad_cases[k].cfg);

		UT_CHECK(ret > 0);
		if (!strstr(captured, bad_cases[k].msg)) {
			fprintf(stderr, "case %zu: '%s' not in: %s", k, bad_cases[k].msg, captured);
			UT_CHECK(0);
		} else {
			UT_CHECK(1);
		}
		config_free(&conf);
	}
}

static int count_occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_keyword_misc(void)
{
	struct config conf;
	struct proxy *f;

	/* a bad format in defaults: one error, at its own line */
	UT_CHECK(load_cfg(&conf, "defaults\n log-format \"%ci %bogus\"\n"
			  "frontend a\nfrontend b\n") > 0);
	UT_EQ_INT(count_occurrences(captured, "unknown variable '%bogus'"), 1);
	UT_CHECK(strstr(captured, ":2: 'log-format'") != NULL);
	config_free(&conf);

	/* ignored in a backend, like HAProxy: a warning, no error */
	UT_EQ_INT(load_cfg(&conf, "backend b\n log-format \"%ci\"\n"), 0);
	UT_CHECK(strstr(captured, "'log-format' is ignored in a backend") != NULL);
	config_free(&conf);

	/* "no log" drops what defaults gave; a later "log" line adds again */
	UT_EQ_INT(load_cfg(&conf, "defaults\n log 127.0.0.1 local0\n log global\n"
			   "frontend f\n no log\n log stdout format raw local1\n"), 0);
	f = config_find_proxy(&conf, "f", PX_CAP_FE);
	UT_CHECK(f != NULL);
	if (f) {
		UT_EQ_INT(count_loggers(&f->loggers), 1);
		UT_EQ_INT(nth_logger(&f->loggers, 0)->type, LOG_T_STDOUT);
		UT_CHECK(!(f->options & (PX_O_NOLOG | PX_O_LOG_GLOBAL)));
	}
	config_free(&conf);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	set_ip(&cli, "10.0.1.2", 33312);
	set_ip(&fe_addr, "10.0.3.31", 8012);
	set_ip(&srv_addr, "192.168.1.5", 22);

	test_tcplog();
	test_default_format();
	test_log_format_vars();
	test_log_format_errors();
	test_framing();
	test_levels_and_len();
	test_session_default_and_tcplog();
	test_session_filters();
	test_session_global_and_nolog();
	test_unix_target();
	test_stdout_target();
	test_keywords();
	test_keyword_errors();
	test_keyword_misc();
	UT_DONE();
}
