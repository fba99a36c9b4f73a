/* test_master.c - the pure parts of master.c: -W/-Ws/-S/-sf/-st parsing,
 * socket matching across reloads, sd_notify datagrams, uptime format. */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <sys/un.h>

#include "ut.h"
#include "sluice/master.h"

static int parse(struct master_opts *mo, int argc, char **argv)
{
	for (int i = 1; i < argc; ) {
		int used = master_parse_arg(mo, argc, argv, i);

		if (used <= 0)
			return used < 0 ? -1 : i;	/* first word not ours */
		i += used;
	}
	return 0;
}

static void test_args(void)
{
	struct master_opts mo = { 0 };
	char *a1[] = { "sluice", "-W", "-S", "/run/m.sock", NULL };
	char *a2[] = { "sluice", "-Ws", "-sf", "12", "345", "-f", NULL };
	char *a3[] = { "sluice", "-st", "7", NULL };
	char *a4[] = { "sluice", "-sf", NULL };
	char *a5[] = { "sluice", "-sf", "12x", NULL };
	char *a6[] = { "sluice", "-S", NULL };
	char *a7[] = { "sluice", "-sf", "0", NULL };

	UT_EQ_INT(parse(&mo, 4, a1), 0);
	UT_EQ_INT(mo.master_worker, 1);
	UT_EQ_INT(mo.systemd, 0);
	UT_EQ_STR(mo.cli_addr, "/run/m.sock");

	mo = (struct master_opts){ 0 };
	UT_EQ_INT(parse(&mo, 6, a2), 5);	/* stops at -f */
	UT_EQ_INT(mo.master_worker, 1);
	UT_EQ_INT(mo.systemd, 1);
	UT_EQ_INT(mo.nold_pids, 2);
	UT_EQ_INT(mo.old_pids[0], 12);
	UT_EQ_INT(mo.old_pids[1], 345);
	UT_EQ_INT(mo.old_hard, 0);

	mo = (struct master_opts){ 0 };
	UT_EQ_INT(parse(&mo, 3, a3), 0);
	UT_EQ_INT(mo.old_hard, 1);
	UT_EQ_INT(mo.nold_pids, 1);

	mo = (struct master_opts){ 0 };
	UT_EQ_INT(master_parse_arg(&mo, 2, a4, 1), 1);	/* empty list: $(cat pidfile) */
	UT_EQ_INT(mo.nold_pids, 0);
	UT_EQ_INT(master_parse_arg(&mo, 3, a5, 1), -1);
	UT_EQ_INT(master_parse_arg(&mo, 2, a6, 1), -1);
	UT_EQ_INT(master_parse_arg(&mo, 3, a7, 1), -1);
	UT_EQ_INT(master_parse_arg(&mo, 2, (char *[]){ "sluice", "-db", NULL }, 1), 0);
}

static struct sock_key key4(const char *ip, int port, int udp, const char *iface)
{
	struct sock_key k = { .udp = udp, .iface = iface };
	struct sockaddr_in *sin = (struct sockaddr_in *)&k.addr;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return k;
}

static void test_match(void)
{
	struct sock_key a = key4("127.0.0.1", 80, 0, NULL);
	struct sock_key b = key4("127.0.0.1", 80, 0, NULL);
	struct sock_key six = { 0 };
	char eth0[] = "eth0";

	UT_CHECK(sock_key_match(&a, &b));
	b = key4("127.0.0.1", 81, 0, NULL);
	UT_CHECK(!sock_key_match(&a, &b));	/* port */
	b = key4("127.0.0.2", 80, 0, NULL);
	UT_CHECK(!sock_key_match(&a, &b));	/* address */
	b = key4("127.0.0.1", 80, 1, NULL);
	UT_CHECK(!sock_key_match(&a, &b));	/* tcp vs udp */
	b = key4("127.0.0.1", 80, 0, "eth0");
	UT_CHECK(!sock_key_match(&a, &b));	/* bound to an interface */
	a = key4("127.0.0.1", 80, 0, eth0);
	UT_CHECK(sock_key_match(&a, &b));	/* same name, other pointer */
	six.addr.ss_family = AF_INET6;
	((struct sockaddr_in6 *)&six.addr)->sin6_port = htons(80);
	UT_CHECK(!sock_key_match(&a, &six));	/* family */
}

static void test_sd_msg(void)
{
	char buf[128];
	size_t n;

	n = sd_msg_build(buf, sizeof(buf), SD_READY, 0, NULL);
	UT_EQ_STR(buf, "READY=1\n");
	UT_EQ_INT(n, 8);
	sd_msg_build(buf, sizeof(buf), SD_READY, 0, "Ready: worker #2");
	UT_EQ_STR(buf, "READY=1\nSTATUS=Ready: worker #2\n");
	sd_msg_build(buf, sizeof(buf), SD_RELOADING, 1234567, "Reloading");
	UT_EQ_STR(buf, "RELOADING=1\nMONOTONIC_USEC=1234567\nSTATUS=Reloading\n");
	sd_msg_build(buf, sizeof(buf), SD_STOPPING, 0, NULL);
	UT_EQ_STR(buf, "STOPPING=1\n");
	sd_msg_build(buf, sizeof(buf), SD_STATUS, 0, "two\nlines");
	UT_EQ_STR(buf, "STATUS=two lines\n");	/* one status line */
	UT_EQ_INT(sd_msg_build(buf, 10, SD_READY, 0, "too long for ten"), 0);
	UT_EQ_INT(sd_msg_build(buf, 0, SD_READY, 0, NULL), 0);
}

static void test_sd_addr(void)
{
	struct sockaddr_un sun;
	socklen_t len;

	UT_EQ_INT(sd_addr_parse("/run/systemd/notify", &sun, &len), 0);
	UT_EQ_STR(sun.sun_path, "/run/systemd/notify");
	UT_EQ_INT(len, offsetof(struct sockaddr_un, sun_path) + 20);
	UT_EQ_INT(sd_addr_parse("@abstract", &sun, &len), 0);
	UT_EQ_INT(sun.sun_path[0], 0);
	UT_CHECK(!memcmp(sun.sun_path + 1, "abstract", 8));
	UT_EQ_INT(len, offsetof(struct sockaddr_un, sun_path) + 9);
	UT_EQ_INT(sd_addr_parse(NULL, &sun, &len), -1);
	UT_EQ_INT(sd_addr_parse("", &sun, &len), -1);
	UT_EQ_INT(sd_addr_parse("relative/path", &sun, &len), -1);
	UT_EQ_INT(sd_addr_parse("@", &sun, &len), -1);
}

static void test_uptime(void)
{
	char buf[32];

	UT_EQ_STR(master_uptime_str(buf, sizeof(buf), 0), "0d00h00m00s");
	UT_EQ_STR(master_uptime_str(buf, sizeof(buf), 65), "0d00h01m05s");
	UT_EQ_STR(master_uptime_str(buf, sizeof(buf), 2 * 86400 + 3 * 3600 + 7), "2d03h00m07s");
}

int main(void)
{
	test_args();
	test_match();
	test_sd_msg();
	test_sd_addr();
	test_uptime();
	UT_DONE();
}
