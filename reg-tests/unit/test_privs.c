/* test_privs.c - user/group/uid/gid/chroot/setcap, "bind ... transparent"
 * and "source ... usesrc": keyword parsing with FILE:LINE errors,
 * capability names, the outgoing socket's source address, and, when run
 * as root, a real drop in forked children (ids, capability sets, what the
 * process may still do afterwards). */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/addr.h>
#include <sluice/check.h>
#include <sluice/listener.h>
#include <sluice/privs.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/session.h>

#include "ut.h"
#include "ut_cfg.h"

static char msgs[8192];

static void expect_err(const char *text, const char *needle)
{
	ut_expect_errors(text, 1, needle, msgs, sizeof(msgs));
}

static void expect_ok(const char *text)
{
	ut_expect_errors(text, 0, NULL, msgs, sizeof(msgs));
}

/* ---- capability names ------------------------------------------------------ */

static void test_cap_names(void)
{
	char err[256];
	uint64_t m;

	UT_EQ_INT(privs_parse_caps("cap_net_bind_service", &m, err, sizeof(err)), 0);
	UT_CHECK(m == 1ULL << CAP_NET_BIND_SERVICE);
	UT_EQ_INT(privs_parse_caps("cap_net_admin,CAP_NET_RAW,cap_net_bind_service", &m,
				   err, sizeof(err)), 0);
	UT_CHECK(m == ((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW) |
		       (1ULL << CAP_NET_BIND_SERVICE)));
	UT_EQ_INT(privs_parse_caps("cap_sys_admin", &m, err, sizeof(err)), -1);
	UT_CHECK(strstr(err, "unknown capability 'cap_sys_admin'") != NULL);
	UT_CHECK(strstr(err, "cap_net_admin") != NULL);	/* lists what is supported */
	UT_EQ_INT(privs_parse_caps("cap_net_admin,", &m, err, sizeof(err)), -1);
	UT_CHECK(strstr(err, "empty capability name") != NULL);
	UT_EQ_INT(privs_parse_caps("", &m, err, sizeof(err)), -1);
	UT_EQ_INT(privs_parse_caps("cap_net_admin_x", &m, err, sizeof(err)), -1);
}

/* ---- global keywords --------------------------------------------------------- */

static void test_global_keywords(void)
{
	struct config conf;
	int n;

	n = ut_load_config(&conf, "global\n  user nobody\n  chroot /var/empty\n"
			   "  setcap cap_net_bind_service,cap_net_admin\n", 0, msgs, sizeof(msgs));
	UT_EQ_INT(n, 0);
	UT_CHECK(conf.global.privs.uid_set && conf.global.privs.uid == 65534);
	/* no "group": the user's own group, never root's */
	UT_CHECK(conf.global.privs.gid_set && conf.global.privs.gid == 65534);
	UT_EQ_STR(conf.global.privs.chroot_dir, "/var/empty");
	UT_CHECK(conf.global.privs.caps == ((1ULL << CAP_NET_BIND_SERVICE) |
					    (1ULL << CAP_NET_ADMIN)));
	config_free(&conf);

	n = ut_load_config(&conf, "global\n  group daemon\n  user nobody\n", 0, msgs, sizeof(msgs));
	UT_EQ_INT(n, 0);
	UT_CHECK(conf.global.privs.gid == 1);	/* group wins over the user's own */
	config_free(&conf);

	n = ut_load_config(&conf, "global\n  uid 1234\n  gid 4321\n", 0, msgs, sizeof(msgs));
	UT_EQ_INT(n, 0);
	UT_CHECK(conf.global.privs.uid == 1234 && conf.global.privs.gid == 4321);
	config_free(&conf);

	expect_err("global\n  user no_such_user_xyz\n", ":2: 'user': unknown user 'no_such_user_xyz'");
	expect_err("global\n\n  group no_such_group_xyz\n", ":3: 'group': unknown group");
	expect_err("global\n  uid abc\n", ":2: 'uid' expects a number");
	expect_err("global\n  gid -1\n", ":2: 'gid' expects a number");
	expect_err("global\n  user\n", ":2: 'user' expects a user name");
	expect_err("global\n  chroot var/empty\n", ":2: 'chroot' expects an absolute path");
	expect_err("global\n  setcap cap_net_admin,cap_sys_module\n",
		   ":2: 'setcap': unknown capability 'cap_sys_module'");
	expect_err("global\n  setcap cap_net_admin cap_net_raw\n", ":2: 'setcap' expects one");
	expect_err("global\n  uid 54321\n", "'uid 54321' has no passwd entry");
	expect_ok("global\n  uid 54321\n  gid 54321\n");
	expect_err("frontend f\n  bind :8080\n  user nobody\n", ":3:");
}

/* ---- bind transparent, source ----------------------------------------------------- */

static struct proxy *find_px(struct config *c, const char *name)
{
	return config_find_proxy(c, name, PX_CAP_BE);
}

static void test_bind_transparent(void)
{
	struct config conf;
	struct bind_conf *bc;
	struct proxy *fe;

	UT_EQ_INT(ut_load_config(&conf, "frontend f\n  bind 192.0.2.1:80 transparent name x\n"
				 "  default_backend b\nbackend b\n  server s 127.0.0.1:1\n",
				 0, msgs, sizeof(msgs)), 0);
	fe = config_find_proxy(&conf, "f", PX_CAP_FE);
	UT_CHECK(fe && !list_empty(&fe->binds));
	if (fe && !list_empty(&fe->binds)) {
		bc = list_entry(fe->binds.next, struct bind_conf, node);
		UT_EQ_INT(bc->transparent, 1);
		UT_EQ_STR(bc->name, "x");
	}
	config_free(&conf);
}

static void check_addr(const struct sockaddr_storage *ss, const char *ip, int port)
{
	char buf[64];

	UT_EQ_STR(addr_ip_str(ss, buf, sizeof(buf)), ip);
	UT_EQ_INT(addr_port(ss), port);
}

static void test_source_parsing(void)
{
	struct config conf;
	struct proxy *be;

	UT_EQ_INT(ut_load_config(&conf,
		"backend b\n  source 0.0.0.0 usesrc clientip\n"
		"  server s1 127.0.0.1:1\n"
		"  server s2 127.0.0.1:2 source 127.0.0.2:2000 interface lo check\n"
		"  server s3 127.0.0.1:3 source 127.0.0.3 usesrc 192.0.2.7 weight 5\n"
		"backend c\n  default-server source 127.0.0.4 usesrc client\n"
		"  server s 127.0.0.1:1\n"
		"  source 10.0.0.1\n",
		0, msgs, sizeof(msgs)), 0);
	be = find_px(&conf, "b");
	UT_CHECK(be != NULL);
	if (be) {
		UT_CHECK(be->src.set && be->src.usesrc == SRC_USE_CLIENTIP);
		check_addr(&be->src.addr, "0.0.0.0", 0);
		UT_CHECK(!be->srv->src.set);
		UT_CHECK(be->srv->next->src.set && be->srv->next->src.usesrc == SRC_USE_NONE);
		check_addr(&be->srv->next->src.addr, "127.0.0.2", 2000);
		UT_EQ_STR(be->srv->next->src.interface, "lo");
		UT_EQ_INT(be->srv->next->next->uweight, 5);
		UT_CHECK(be->srv->next->next->src.usesrc == SRC_USE_ADDR);
		check_addr(&be->srv->next->next->src.usesrc_addr, "192.0.2.7", 0);
	}
	be = find_px(&conf, "c");
	UT_CHECK(be && be->srv->src.set && be->srv->src.usesrc == SRC_USE_CLIENT);
	UT_CHECK(be && be->src.set);
	check_free_all(&conf);
	config_free(&conf);

	expect_err("backend b\n  source\n", ":2: 'source' expects an address");
	expect_err("backend b\n  source 10.0.0.1:1000-2000\n", ":2: 'source': port ranges");
	expect_err("backend b\n  source 0.0.0.0 usesrc hdr_ip(x-forwarded-for)\n",
		   ":2: 'usesrc hdr_ip(x-forwarded-for)' is not supported");
	expect_err("backend b\n  source 0.0.0.0 usesrc\n", ":2: 'usesrc' expects");
	expect_err("backend b\n  source 0.0.0.0 foo\n", ":2: 'source': unknown option 'foo'");
	expect_err("backend b\n  source 0.0.0.0 interface\n", ":2: 'interface' expects");
	expect_err("frontend f\n  bind :8080\n  source 10.0.0.1\n", ":3:");
	expect_err("backend b\n  server s 127.0.0.1:1 source 10.0.0.1 foo\n", "'foo'");
	expect_err("backend b\n  source [::1]\n  server s 127.0.0.1:1\n",
		   ":3: server 's': the 'source' address and the server's address are not of "
		   "the same family");
	expect_err("backend b\n  server s [::1]:1 source [::] usesrc 10.0.0.1\n",
		   "'usesrc' address and the server's");
	expect_err("backend b\n  mode udp\n  source 10.0.0.1\n  server s 127.0.0.1:1\n",
		   ":4: server 's': 'source' is not supported in mode udp");
}

/* A defaults section's "source" reaches the backends that follow it. */
static void test_source_defaults(void)
{
	struct config conf;
	struct proxy *be;

	UT_EQ_INT(ut_load_config(&conf, "defaults\n  source 127.0.0.9\n"
				 "backend b\n  server s 127.0.0.1:1\n", 0, msgs, sizeof(msgs)), 0);
	be = find_px(&conf, "b");
	UT_CHECK(be && be->src.set);
	if (be && be->src.set)
		check_addr(&be->src.addr, "127.0.0.9", 0);
	config_free(&conf);

	/* a backend's own source beats the defaults'; a server's beats both,
	 * whether the defaults' line comes before or after default-server */
	UT_EQ_INT(ut_load_config(&conf, "defaults\n  source 127.0.0.9\n"
				 "  default-server source 127.0.0.8\n  source 127.0.0.10\n"
				 "backend b\n  source 127.0.0.11\n  server s 127.0.0.1:1\n"
				 "backend c\n  server s 127.0.0.1:1\n"
				 "defaults\n  source 127.0.0.12\n"
				 "backend d\n  server s 127.0.0.1:1\n"
				 "  server t 127.0.0.1:1 source 127.0.0.13\n"
				 "backend e\n  source 127.0.0.14\n  server s 127.0.0.1:1\n",
				 0, msgs, sizeof(msgs)), 0);
	be = find_px(&conf, "b");
	UT_CHECK(be && be->src.set && !be->srv->src.from_defaults);
	if (be) {
		check_addr(&be->src.addr, "127.0.0.11", 0);
		check_addr(&be->srv->src.addr, "127.0.0.8", 0);
	}
	/* the defaults' default-server source is every server's own, so it
	 * wins over the defaults' source */
	be = find_px(&conf, "c");
	UT_CHECK(be && be->srv->src.set && !be->srv->src.from_defaults);
	if (be)
		check_addr(&be->srv->src.addr, "127.0.0.8", 0);
	be = find_px(&conf, "d");
	UT_CHECK(be && be->srv->src.from_defaults && !be->srv->next->src.from_defaults);
	if (be) {
		check_addr(&be->src.addr, "127.0.0.12", 0);
		check_addr(&be->srv->next->src.addr, "127.0.0.13", 0);
	}
	be = find_px(&conf, "e");
	if (be)
		check_addr(&be->src.addr, "127.0.0.14", 0);
	config_free(&conf);
}

/* ---- privs_bind_source on real sockets --------------------------------------------- */

static int listen_on(const char *ip, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 || listen(fd, 8) < 0)
		abort();
	getsockname(fd, (struct sockaddr *)sin, &len);
	return fd;
}

static void set_ss(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &in->sin_addr);
}

/* Connect to the listener through privs_bind_source; returns the address
 * the server side saw in peer (port 0 if it failed). */
static int connect_via(struct server *srv, struct proxy *be, const union sockaddr_any *cli,
		       int lfd, struct sockaddr_storage *peer, int *transparent)
{
	socklen_t len = sizeof(*peer), olen = sizeof(int);
	int fd = socket(AF_INET, SOCK_STREAM, 0), afd, ret;

	memset(peer, 0, sizeof(*peer));
	ret = privs_bind_source(fd, srv, be, cli);
	*transparent = 0;
	getsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, transparent, &olen);
	if (ret == 0 && connect(fd, (struct sockaddr *)&srv->addr, srv->addrlen) == 0) {
		afd = accept(lfd, (struct sockaddr *)peer, &len);
		if (afd >= 0)
			close(afd);
	}
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void test_bind_source(void)
{
	struct proxy *be = calloc(1, sizeof(*be));
	struct server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_storage peer;
	struct sockaddr_in lsin;
	union sockaddr_any cli;
	int lfd = listen_on("127.0.0.1", &lsin), tp;

	srv->name = "s";
	memcpy(&srv->addr, &lsin, sizeof(lsin));
	srv->addrlen = sizeof(lsin);
	memset(&cli, 0, sizeof(cli));
	cli.in.sin_family = AF_INET;
	cli.in.sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.5", &cli.in.sin_addr);

	/* nothing configured: the kernel's choice */
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.1", addr_port(&peer));
	/* "source 127.0.0.2" on the backend */
	be->src.set = 1;
	set_ss(&be->src.addr, "127.0.0.2", 0);
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.2", addr_port(&peer));
	UT_EQ_INT(tp, 0);
	/* a copy of a defaults section's source does not beat the backend's */
	srv->src = be->src;
	set_ss(&srv->src.addr, "127.0.0.4", 0);
	srv->src.from_defaults = 1;
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.2", addr_port(&peer));
	srv->src.from_defaults = 0;
	/* the server's own source wins */
	srv->src.set = 1;
	set_ss(&srv->src.addr, "127.0.0.3", 0);
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.3", addr_port(&peer));
	/* usesrc clientip: the client's address, transparent, any port */
	srv->src.usesrc = SRC_USE_CLIENTIP;
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.5", addr_port(&peer));
	UT_CHECK(addr_port(&peer) != 40000);
	UT_EQ_INT(tp, 1);
	/* usesrc client: address and port */
	srv->src.usesrc = SRC_USE_CLIENT;
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.5", 40000);
	/* a health check (no client) binds the plain source address */
	srv->src.usesrc = SRC_USE_CLIENTIP;
	UT_EQ_INT(connect_via(srv, be, NULL, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.3", addr_port(&peer));
	UT_EQ_INT(tp, 0);
	/* usesrc ADDR */
	srv->src.usesrc = SRC_USE_ADDR;
	set_ss(&srv->src.usesrc_addr, "127.0.0.6", 0);
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.6", addr_port(&peer));
	/* an IPv4 client seen through a dual-stack listener */
	memset(&cli, 0, sizeof(cli));
	cli.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.7", &cli.in6.sin6_addr);
	srv->src.usesrc = SRC_USE_CLIENTIP;
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.7", addr_port(&peer));
	/* a real IPv6 client cannot become an IPv4 source */
	inet_pton(AF_INET6, "2001:db8::1", &cli.in6.sin6_addr);
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), -EAFNOSUPPORT);
	/* a non-local address without usesrc */
	srv->src.usesrc = SRC_USE_NONE;
	set_ss(&srv->src.addr, "192.0.2.1", 0);
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), -EADDRNOTAVAIL);
	/* an interface that does not exist */
	set_ss(&srv->src.addr, "127.0.0.3", 0);
	strcpy(srv->src.interface, "nosuchif0");
	UT_CHECK(connect_via(srv, be, &cli, lfd, &peer, &tp) < 0);
	strcpy(srv->src.interface, "lo");
	UT_EQ_INT(connect_via(srv, be, &cli, lfd, &peer, &tp), 0);
	check_addr(&peer, "127.0.0.3", addr_port(&peer));
	close(lfd);
	free(srv);
	free(be);
}

/* ---- real privilege drops (root only), in forked children ------------------------- */

struct drop_report {
	int apply_ret;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int ngroups;
	gid_t group0;
	unsigned long long cap_prm, cap_eff, cap_bnd, cap_amb;
	int low_bind_errno;	/* binding port 1 on 127.0.0.1: 0 or errno */
	int setuid0_ret;
	int transparent_errno;	/* IP_TRANSPARENT: 0 or errno */
	char cwd[64];
	int marker_seen;	/* /marker visible after chroot */
};

static unsigned long long status_hex(const char *field)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(field);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static int try_errno(int ok)
{
	return ok ? 0 : errno;
}

static void fill_report(struct drop_report *r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	gid_t groups[8];

	getresuid(&r->ru, &r->eu, &r->su);
	getresgid(&r->rg, &r->eg, &r->sg);
	r->ngroups = getgroups(8, groups);
	r->group0 = r->ngroups > 0 ? groups[0] : (gid_t)-1;
	r->cap_prm = status_hex("CapPrm");
	r->cap_eff = status_hex("CapEff");
	r->cap_bnd = status_hex("CapBnd");
	r->cap_amb = status_hex("CapAmb");
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->low_bind_errno = try_errno(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	r->transparent_errno = try_errno(setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one,
						    sizeof(one)) == 0);
	close(fd);
	if (!getcwd(r->cwd, sizeof(r->cwd)))
		r->cwd[0] = '\0';
	r->marker_seen = access("/sluice_privs_marker", F_OK) == 0;
	r->setuid0_ret = setuid(0);
}

/* Run privs_apply(p) in a child (after pre(), if any) and bring back
 * what the child could see and do afterwards. */
static int drop_in_child(const struct privs_cfg *p, void (*pre)(void), struct drop_report *r)
{
	static struct config conf;	/* big: not on the stack */
	int pfd[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		memset(&conf, 0, sizeof(conf));
		conf.global.privs = *p;
		if (pre)
			pre();
		fflush(stderr);
		r->apply_ret = privs_apply(&conf);
		fill_report(r);
		if (write(pfd[1], r, sizeof(*r)) != (ssize_t)sizeof(*r))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], r, sizeof(*r)) != (ssize_t)sizeof(*r))
		r->apply_ret = -99;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return 0;
}

static void test_drop_with_setcap(void)
{
	struct privs_cfg p = { .uid_set = 1, .uid = 65534, .gid_set = 1, .gid = 65534,
			       .caps = 1ULL << CAP_NET_BIND_SERVICE };
	struct drop_report r;

	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, 0);
	UT_CHECK(r.ru == 65534 && r.eu == 65534 && r.su == 65534);
	UT_CHECK(r.rg == 65534 && r.eg == 65534 && r.sg == 65534);
	UT_CHECK(r.ngroups == 1 && r.group0 == 65534);
	UT_CHECK(r.cap_prm == 1ULL << CAP_NET_BIND_SERVICE);
	UT_CHECK(r.cap_eff == 1ULL << CAP_NET_BIND_SERVICE);
	UT_CHECK(r.cap_bnd == 1ULL << CAP_NET_BIND_SERVICE);
	UT_CHECK(r.cap_amb == 0);
	UT_EQ_INT(r.low_bind_errno, 0);		/* port 1 still allowed */
	UT_EQ_INT(r.transparent_errno, EPERM);	/* but no CAP_NET_ADMIN */
	UT_CHECK(r.setuid0_ret == -1);
}

static void test_drop_without_setcap(void)
{
	struct privs_cfg p = { .uid_set = 1, .uid = 65534, .gid_set = 1, .gid = 65534 };
	struct drop_report r;

	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, 0);
	UT_CHECK(r.eu == 65534 && r.su == 65534 && r.eg == 65534);
	UT_CHECK(r.cap_prm == 0 && r.cap_eff == 0 && r.cap_amb == 0);
	UT_EQ_INT(r.low_bind_errno, EACCES);
	UT_EQ_INT(r.transparent_errno, EPERM);
	UT_CHECK(r.setuid0_ret == -1);
}

static void test_drop_keeps_net_admin(void)
{
	struct privs_cfg p = { .uid_set = 1, .uid = 65534, .gid_set = 1, .gid = 65534,
			       .caps = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW) };
	struct drop_report r;

	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, 0);
	UT_CHECK(r.cap_eff == ((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW)));
	UT_EQ_INT(r.transparent_errno, 0);
	UT_EQ_INT(r.low_bind_errno, EACCES);
}

static char chroot_dir[] = "/tmp/sluice_privs_XXXXXX";

static void test_chroot(void)
{
	struct privs_cfg p = { .uid_set = 1, .uid = 65534, .gid_set = 1, .gid = 65534 };
	struct drop_report r;
	char marker[128];
	FILE *f;

	if (!mkdtemp(chroot_dir) || chmod(chroot_dir, 0755) < 0)	/* nobody looks inside */
		abort();
	snprintf(marker, sizeof(marker), "%s/sluice_privs_marker", chroot_dir);
	f = fopen(marker, "w");
	if (f)
		fclose(f);
	strcpy(p.chroot_dir, chroot_dir);
	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, 0);
	UT_EQ_STR(r.cwd, "/");
	UT_EQ_INT(r.marker_seen, 1);
	UT_CHECK(r.eu == 65534);
	/* a missing directory fails start-up */
	strcpy(p.chroot_dir, "/nonexistent/sluice");
	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, -1);
	UT_CHECK(r.eu == 0);
	unlink(marker);
	rmdir(chroot_dir);
}

static void become_nobody(void)
{
	gid_t g = 65534;

	if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 || setresuid(65534, 65534, 65534) < 0)
		_exit(3);
}

static void test_not_root(void)
{
	struct privs_cfg p = { .uid_set = 1, .uid = 65534, .gid_set = 1, .gid = 65534,
			       .gid_from_user = 1 };
	struct drop_report r;

	/* already that user: a warning, start-up goes on */
	drop_in_child(&p, become_nobody, &r);
	UT_EQ_INT(r.apply_ret, 0);
	/* another user: only root could do it */
	p.uid = 1;
	drop_in_child(&p, become_nobody, &r);
	UT_EQ_INT(r.apply_ret, -1);
	p.uid = 65534;
	p.gid = 1;
	p.gid_from_user = 0;
	drop_in_child(&p, become_nobody, &r);
	UT_EQ_INT(r.apply_ret, -1);
}

static void test_group_only(void)
{
	struct privs_cfg p = { .gid_set = 1, .gid = 65534 };
	struct drop_report r;

	drop_in_child(&p, NULL, &r);
	UT_EQ_INT(r.apply_ret, 0);
	UT_CHECK(r.eu == 0 && r.eg == 65534 && r.sg == 65534 && r.ngroups == 1);
}

int main(void)
{
	test_cap_names();
	test_global_keywords();
	test_bind_transparent();
	test_source_parsing();
	test_source_defaults();
	if (geteuid() == 0) {
		test_bind_source();
		test_drop_with_setcap();
		test_drop_without_setcap();
		test_drop_keeps_net_admin();
		test_chroot();
		test_not_root();
		test_group_only();
	} else {
		printf("test_privs: not root, the socket and drop tests are skipped\n");
	}
	UT_DONE();
}
