/* test_addr.c - address parsing and printing. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include <sluice/addr.h>
#include "ut.h"

static struct addr_spec a;
static char err[256];
static char buf[128];

static int parse(const char *s, unsigned allow)
{
	err[0] = '\0';
	return addr_parse(s, allow, &a, err, sizeof(err));
}

/* Parses s and checks its printed form. */
static void ok(const char *s, unsigned allow, const char *printed)
{
	int rc = parse(s, allow);

	UT_EQ_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  '%s': %s\n", s, err);
	else
		UT_EQ_STR(addr_str(&a.ss, buf, sizeof(buf)), printed);
}

static void bad(const char *s, unsigned allow, const char *needle)
{
	UT_EQ_INT(parse(s, allow), -1);
	UT_CHECK(strstr(err, needle) != NULL);
	if (!strstr(err, needle))
		fprintf(stderr, "  '%s': got '%s', expected '%s'\n", s, err, needle);
}

static void test_ipv4(void)
{
	ok("127.0.0.1:80", 0, "127.0.0.1:80");
	UT_EQ_INT(a.ss.ss_family, AF_INET);
	UT_EQ_INT(a.len, sizeof(struct sockaddr_in));
	UT_EQ_INT(a.flags, 0);
	UT_EQ_INT(a.port_low, 80);
	UT_EQ_INT(a.port_high, 80);
	ok("*:8080", 0, "0.0.0.0:8080");
	ok(":443", 0, "0.0.0.0:443");
	ok("ipv4@:53", 0, "0.0.0.0:53");
	ok("ipv4@10.1.2.3:65535", 0, "10.1.2.3:65535");
	ok("10.0.0.1", ADDR_ALLOW_NO_PORT, "10.0.0.1:0");
	UT_EQ_INT(a.flags, ADDR_PORT_NONE);
	ok("10.0.0.1:", ADDR_ALLOW_NO_PORT, "10.0.0.1:0");
	UT_EQ_INT(a.flags, ADDR_PORT_NONE);
}

static void test_ipv6(void)
{
	ok("[::1]:80", 0, "[::1]:80");
	UT_EQ_INT(a.ss.ss_family, AF_INET6);
	UT_EQ_INT(a.len, sizeof(struct sockaddr_in6));
	ok("::1:80", 0, "[::1]:80");
	ok(":::80", 0, "[::]:80");
	ok("ipv6@:80", 0, "[::]:80");
	ok("ipv6@*:80", 0, "[::]:80");
	ok("[]:80", 0, "[::]:80");
	ok("[2001:db8::5]", ADDR_ALLOW_NO_PORT, "[2001:db8::5]:0");
	UT_EQ_INT(a.flags, ADDR_PORT_NONE);
	ok("2001:db8::5:", ADDR_ALLOW_NO_PORT, "[2001:db8::5]:0");
	ok("ipv6@[fe80::1]:22", 0, "[fe80::1]:22");
	ok("::ffff:1.2.3.4:9", 0, "[::ffff:1.2.3.4]:9");
}

static void test_ports(void)
{
	ok("1.2.3.4:1000-1010", ADDR_ALLOW_RANGE, "1.2.3.4:1000");
	UT_EQ_INT(a.flags, ADDR_PORT_RANGE);
	UT_EQ_INT(a.port_low, 1000);
	UT_EQ_INT(a.port_high, 1010);
	ok(":5-5", ADDR_ALLOW_RANGE, "0.0.0.0:5");
	ok("1.2.3.4:+10", ADDR_ALLOW_OFFSET, "1.2.3.4:0");
	UT_EQ_INT(a.flags, ADDR_PORT_OFFSET);
	UT_EQ_INT(a.port_low, 10);
	ok("[::1]:-1000", ADDR_ALLOW_OFFSET, "[::1]:0");
	UT_EQ_INT(a.port_low, -1000);
	bad("1.2.3.4:0", ADDR_ALLOW_NO_PORT, "port 0");
	bad("1.2.3.4:65536", 0, "invalid port");
	bad("1.2.3.4:99999999999", 0, "invalid port");
	bad("1.2.3.4:8o", 0, "invalid port '8o'");
	bad("1.2.3.4", 0, "missing port");
	bad("1.2.3.4:", 0, "missing port");
	bad("[::1]", 0, "missing port");
	bad("1.2.3.4:80-90", 0, "ranges are not allowed");
	bad("1.2.3.4:90-80", ADDR_ALLOW_RANGE, "ends before");
	bad("1.2.3.4:0-80", ADDR_ALLOW_RANGE, "invalid port range");
	bad("1.2.3.4:80-", ADDR_ALLOW_RANGE, "invalid port range");
	bad("1.2.3.4:+1", 0, "offsets");
	bad("1.2.3.4:+", ADDR_ALLOW_OFFSET, "invalid port offset");
	bad("1.2.3.4:+70000", ADDR_ALLOW_OFFSET, "invalid port offset");
}

static void test_unix(void)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)&a.ss;
	char longpath[200];

	ok("/run/sluice.sock", ADDR_ALLOW_UNIX, "unix:/run/sluice.sock");
	UT_EQ_INT(a.ss.ss_family, AF_UNIX);
	UT_EQ_STR(un->sun_path, "/run/sluice.sock");
	UT_EQ_INT(a.len, addr_len(&a.ss));
	ok("unix@/tmp/x", ADDR_ALLOW_UNIX, "unix:/tmp/x");
	ok("unix@rel.sock", ADDR_ALLOW_UNIX, "unix:rel.sock");
	bad("/run/sluice.sock", 0, "UNIX socket addresses are not allowed");
	bad("unix@/x", 0, "not allowed");
	bad("unix@", ADDR_ALLOW_UNIX, "empty UNIX");
	memset(longpath, 'p', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	bad(longpath, ADDR_ALLOW_UNIX, "too long");
	bad("abns@foo", ADDR_ALLOW_UNIX, "abns@");
	bad("fd@3", ADDR_ALLOW_UNIX, "unsupported address prefix 'fd@'");
}

static void test_bad_hosts(void)
{
	bad("", 0, "empty");
	bad("ipv4@", 0, "missing address");
	bad("1.2.3:80", 0, "not an IP address");
	bad("localhost:80", 0, "host names are not accepted");
	bad("fe80::1", ADDR_ALLOW_NO_PORT, "brackets");
	bad("[::1:80", 0, "missing ']'");
	bad("[::1]x", 0, "after ']'");
	bad("[1.2.3.4]:80", 0, "not an IPv6 address");
	bad("ipv4@[::1]:80", 0, "ipv4@");
	bad("ipv4@::1:80", 0, "ipv4@");
	bad("ipv6@1.2.3.4:80", 0, "ipv6@");
	bad("1.2.3.4 :80", 0, "not an IP address");
}

static void test_resolve(void)
{
	/* "localhost" resolves from /etc/hosts without a network */
	if (parse("localhost:8080", ADDR_RESOLVE) == 0) {
		UT_CHECK(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6);
		UT_EQ_INT(addr_port(&a.ss), 8080);
	} else {
		fprintf(stderr, "note: localhost does not resolve here: %s\n", err);
	}
	ok("ipv4@localhost:1", ADDR_RESOLVE, "127.0.0.1:1");
	bad("no-such-host.invalid:80", ADDR_RESOLVE, "cannot resolve");
}

static void test_printing(void)
{
	struct sockaddr_storage x, y;
	char small[6];

	UT_EQ_INT(parse("192.168.1.20:443", 0), 0);
	UT_EQ_STR(addr_ip_str(&a.ss, buf, sizeof(buf)), "192.168.1.20");
	UT_EQ_INT(addr_port(&a.ss), 443);
	addr_set_port(&a.ss, 8443);
	UT_EQ_STR(addr_str(&a.ss, buf, sizeof(buf)), "192.168.1.20:8443");
	UT_EQ_STR(addr_str(&a.ss, small, sizeof(small)), "192.1");
	x = a.ss;
	UT_EQ_INT(parse("192.168.1.20:8443", 0), 0);
	y = a.ss;
	UT_CHECK(addr_equal(&x, &y));
	addr_set_port(&y, 1);
	UT_CHECK(!addr_equal(&x, &y));
	UT_EQ_INT(parse("[::1]:8443", 0), 0);
	UT_CHECK(!addr_equal(&x, &a.ss));
	UT_EQ_STR(addr_ip_str(&a.ss, buf, sizeof(buf)), "::1");
	UT_EQ_INT(addr_len(&a.ss), sizeof(struct sockaddr_in6));
	UT_EQ_INT(addr_len(&x), sizeof(struct sockaddr_in));
	memset(&x, 0, sizeof(x));
	UT_EQ_STR(addr_str(&x, buf, sizeof(buf)), "?");
	UT_EQ_INT(addr_port(&x), 0);
}

int main(void)
{
	test_ipv4();
	test_ipv6();
	test_ports();
	test_unix();
	test_bad_hosts();
	test_resolve();
	test_printing();
	UT_DONE();
}
