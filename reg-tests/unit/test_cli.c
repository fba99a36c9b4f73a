/* test_cli.c - the runtime API's keywords, line parser and commands,
 * through cli_exec_line() on a loaded configuration (no worker runs, so
 * "show sess" has nothing to ask and deleted servers are freed at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/proxy.h"
#include "sluice/server.h"
#include "sluice/worker.h"
#include "ut.h"
#include "ut_cfg.h"

static char msgs[8192];

static const char *base_cfg =
	"global\n"
	"    stats socket /tmp/sluice-ut-cli.sock mode 600 level admin\n"
	"    stats socket ipv4@127.0.0.1:19998 level user\n"
	"    stats timeout 3s\n"
	"    stats maxconn 4\n"
	"defaults\n"
	"    mode tcp\n"
	"    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
	"frontend fe\n"
	"    bind 127.0.0.1:19997\n"
	"    default_backend be\n"
	"backend be\n"
	"    stick-table type ip size 100 expire 10s store gpc0,conn_cnt,conn_rate(10s)\n"
	"    server s1 127.0.0.1:8001\n"
	"    server s2 127.0.0.1:8002 weight 4\n";

static struct config conf;
static struct runtime rt;
static struct cli_out out;

/* Run a line at a level; the answer is left in out.buf. */
static const char *run(int level, const char *line, int *ret)
{
	int r;

	cli_out_reset(&out);
	cli_out_add(&out, "", 0);
	r = cli_exec_line(&rt, level, line, strlen(line), &out);
	if (ret)
		*ret = r;
	return out.buf ? out.buf : "";
}

static struct server *srv(const char *name)
{
	return server_find(config_find_proxy(&conf, "be", PX_CAP_BE), name);
}

static void test_keywords(void)
{
	ut_expect_errors("global\n    stats socket /tmp/x.sock foo bar\n", 1,
			 "unknown option 'foo'", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats socket /tmp/x.sock level root\n", 1,
			 "'level' expects 'user', 'operator' or 'admin'", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats socket /tmp/x.sock mode 999\n", 1,
			 "octal", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats socket\n", 1, "expects a path", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats timeout abc\n", 1, "'stats timeout'", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats maxconn 0\n", 1, "'stats maxconn'", msgs, sizeof(msgs));
	ut_expect_errors("global\n    stats socket ipv4@nope:x\n", 1, "stats socket", msgs, sizeof(msgs));
	UT_EQ_INT(cli_conf_sockets(&conf), 2);
}

static void test_protocol(void)
{
	int ret;

	UT_CHECK(strstr(run(CLI_LVL_USER, "help", &ret), "show stat") != NULL);
	UT_EQ_INT(ret, 0);
	UT_CHECK(strstr(out.buf, "add server") == NULL);	/* not at this level */
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "help", NULL), "add server") != NULL);
	UT_CHECK(!strncmp(run(CLI_LVL_USER, "bogus cmd", NULL), "Unknown command.", 16));
	UT_EQ_STR(run(CLI_LVL_USER, "disable server be/s1", NULL), "Permission denied\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "add server be/x 1.2.3.4:80", NULL), "Permission denied\n\n");
	run(CLI_LVL_USER, "prompt", &ret);
	UT_EQ_INT(ret, CLI_RET_PROMPT);
	run(CLI_LVL_USER, "prompt;prompt", &ret);
	UT_EQ_INT(ret, 0);
	UT_EQ_STR(run(CLI_LVL_USER, "quit", &ret), "");
	UT_EQ_INT(ret, CLI_RET_QUIT);
	UT_EQ_STR(run(CLI_LVL_USER, "get weight be/s1;get weight be/s2\r", NULL),
		  "1 (initial 1)\n\n4 (initial 4)\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "  ;; get   weight   be/s1 ;", NULL), "1 (initial 1)\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "get weight be\\/s1", NULL), "1 (initial 1)\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "get\\ weight be/s1", NULL), out.buf);	/* one word: unknown */
	UT_CHECK(!strncmp(out.buf, "Unknown command.", 16));
	UT_EQ_STR(run(CLI_LVL_USER, "show info\001", &ret), "Invalid character in command line.\n");
	UT_EQ_INT(ret, CLI_RET_QUIT);
	{
		char *big = malloc(CLI_LINE_MAX + 10);

		memset(big, 'a', CLI_LINE_MAX + 9);
		big[CLI_LINE_MAX + 9] = '\0';
		UT_EQ_STR(run(CLI_LVL_USER, big, &ret), "Command line too long.\n");
		UT_EQ_INT(ret, CLI_RET_QUIT);
		free(big);
	}
	{
		char many[1024] = "show";
		int i;

		for (i = 0; i < 100; i++)
			strcat(many, " x");
		strcat(many, "; get weight be/s1");
		UT_CHECK(strstr(run(CLI_LVL_USER, many, NULL), "Too many words") != NULL);
		UT_CHECK(strstr(out.buf, "1 (initial 1)") != NULL);
	}
}

static void test_show(void)
{
	const char *r;

	r = run(CLI_LVL_USER, "show info", NULL);
	UT_CHECK(strstr(r, "Name: sluice\n") != NULL);
	UT_CHECK(strstr(r, "Pid: ") != NULL);
	UT_CHECK(strstr(r, "Uptime_sec: ") != NULL);
	UT_CHECK(strstr(r, "CurrConns: 0\n") != NULL);
	r = run(CLI_LVL_USER, "show stat", NULL);
	UT_CHECK(!strncmp(r, "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,"
			  "ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,"
			  "lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,", 150));
	UT_CHECK(strstr(r, "\nfe,FRONTEND,") != NULL);
	UT_CHECK(strstr(r, "\nbe,s1,") != NULL);
	UT_CHECK(strstr(r, "\nbe,s2,0,,0,0,,0,0,0,,0,,0,0,0,0,UP,4,1,0,") != NULL);
	UT_CHECK(strstr(r, "\nbe,BACKEND,") != NULL);
	UT_CHECK(strstr(r, ",UP,5,2,0,") != NULL);	/* backend weight 5, 2 active */
	r = run(CLI_LVL_USER, "show servers state", NULL);
	UT_CHECK(!strncmp(r, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
			  "srv_admin_state srv_uweight srv_iweight", 90));
	UT_CHECK(strstr(r, "\n2 be 1 s1 127.0.0.1 2 0 1 1 ") != NULL);
	UT_CHECK(strstr(r, "\n2 be 2 s2 127.0.0.1 2 0 4 4 ") != NULL);
	UT_EQ_STR(run(CLI_LVL_USER, "show servers state nope", NULL), "Can't find backend.\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "show sess", NULL), "\n");
}

static void test_servers(void)
{
	struct server *s1 = srv("s1"), *s2 = srv("s2");

	UT_EQ_STR(run(CLI_LVL_OPER, "disable server be/s1", NULL), "\n");
	UT_CHECK(atomic_load(&s1->admin) & SRV_ADMF_MAINT);
	UT_CHECK(strstr(run(CLI_LVL_USER, "show stat", NULL), ",MAINT,") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_USER, "show servers state be", NULL), " s1 127.0.0.1 2 1 ") != NULL);
	UT_EQ_STR(run(CLI_LVL_OPER, "enable server be/s1", NULL), "\n");
	UT_EQ_INT(atomic_load(&s1->admin), 0);
	run(CLI_LVL_OPER, "set server be/s1 state drain", NULL);
	UT_EQ_INT(atomic_load(&s1->admin), SRV_ADMF_DRAIN);
	run(CLI_LVL_OPER, "set server be/s1 state maint", NULL);
	UT_EQ_INT(atomic_load(&s1->admin), SRV_ADMF_MAINT);
	run(CLI_LVL_OPER, "set server be/s1 state ready", NULL);
	UT_EQ_INT(atomic_load(&s1->admin), 0);
	UT_CHECK(strstr(run(CLI_LVL_OPER, "set server be/s1 state up", NULL), "expects 'ready'") != NULL);
	UT_EQ_STR(run(CLI_LVL_OPER, "set weight be/s2 50%", NULL), "\n");
	UT_EQ_STR(run(CLI_LVL_USER, "get weight be/s2", NULL), "2 (initial 4)\n\n");
	run(CLI_LVL_OPER, "set server be/s2 weight 7", NULL);
	UT_EQ_INT(atomic_load(&s2->cur_weight), 7);
	UT_CHECK(strstr(run(CLI_LVL_OPER, "set weight be/s2 257", NULL), "between 0 and 256") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_OPER, "set weight be/s2 abc", NULL), "Require <weight>") != NULL);
	UT_EQ_STR(run(CLI_LVL_OPER, "disable server be/zz", NULL), "No such server.\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "disable server zz/s1", NULL), "No such backend.\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "disable server be", NULL), "Require 'backend/server'.\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "disable server", NULL), "Require 'backend/server'.\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "disable health be/s1", NULL),
		  "Health checks are not configured on this server, cannot disable.\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "shutdown sessions server be/s1", NULL), "\n");
	UT_EQ_STR(run(CLI_LVL_ADMIN, "set maxconn server be/s1 3", NULL), "\n");
	UT_EQ_INT((int)srv_maxconn(server_find(config_find_proxy(&conf, "be", PX_CAP_BE), "s1")), 3);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "set maxconn server be/s1 x", NULL), "Value out of range.\n\n");
	UT_CHECK(strstr(run(CLI_LVL_OPER, "set maxconn server be/s1 4", NULL), "Permission denied") != NULL);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "set maxconn frontend nope 3", NULL), "No such frontend.\n\n");
}

static void test_add_del(void)
{
	struct server *s3;

	UT_EQ_STR(run(CLI_LVL_ADMIN, "add server be/s3 127.0.0.1:8003 weight 9", NULL),
		  "New server registered.\n\n");
	s3 = srv("s3");
	UT_CHECK(s3 != NULL);
	if (!s3)
		return;
	UT_EQ_INT(s3->puid, 3);
	UT_CHECK(atomic_load(&s3->admin) & SRV_ADMF_MAINT);
	UT_EQ_INT(config_find_proxy(&conf, "be", PX_CAP_BE)->nb_srv, 3);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "add server be/s3 127.0.0.1:8003", NULL),
		  "Already exists a server with the same name in backend.\n\n");
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "add server be/s4 127.0.0.1:8003 check", NULL),
			"not supported") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "add server be/s4 127.0.0.1:99999", NULL), "Invalid server") != NULL);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "add server zz/s4 1.2.3.4:5", NULL), "No such backend.\n\n");
	run(CLI_LVL_OPER, "enable server be/s3", NULL);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "del server be/s3", NULL),
		  "Only servers in maintenance mode can be deleted.\n\n");
	UT_EQ_STR(run(CLI_LVL_ADMIN, "del server be/s1", NULL),
		  "Only servers added with 'add server' can be deleted.\n\n");
	atomic_store(&s3->cur_conns, 1);
	run(CLI_LVL_OPER, "disable server be/s3", NULL);
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "del server be/s3", NULL), "still has connections") != NULL);
	atomic_store(&s3->cur_conns, 0);
	UT_EQ_STR(run(CLI_LVL_ADMIN, "del server be/s3", NULL), "Server deleted.\n\n");
	UT_CHECK(srv("s3") == NULL);
	UT_EQ_INT(config_find_proxy(&conf, "be", PX_CAP_BE)->nb_srv, 2);
	UT_CHECK(config_find_proxy(&conf, "be", PX_CAP_BE)->srv_last == srv("s2"));
	UT_EQ_STR(run(CLI_LVL_ADMIN, "add server be/s3 127.0.0.1:8003", NULL), "New server registered.\n\n");
	UT_EQ_INT(srv("s3")->puid, 3);
}

static void test_tables(void)
{
	const char *r;

	UT_EQ_STR(run(CLI_LVL_USER, "show table", NULL),
		  "# table: be, type: ip, size:100, used:0\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "show table nope", NULL), "No such table\n\n");
	UT_EQ_STR(run(CLI_LVL_OPER, "set table be key 10.0.0.1 data.gpc0 5", NULL), "Permission denied\n\n");
	UT_EQ_STR(run(CLI_LVL_ADMIN, "set table be key 10.0.0.1 data.gpc0 5 data.conn_cnt 2", NULL), "\n");
	r = run(CLI_LVL_USER, "show table be", NULL);
	UT_CHECK(!strncmp(r, "# table: be, type: ip, size:100, used:1\n0x", 42));
	UT_CHECK(strstr(r, ": key=10.0.0.1 use=0 exp=") != NULL);
	UT_CHECK(strstr(r, " gpc0=5 conn_cnt=2 conn_rate(10000)=0\n") != NULL);
	r = run(CLI_LVL_USER, "show table be key 10.0.0.1", NULL);
	UT_CHECK(strstr(r, "key=10.0.0.1 use=0 ") != NULL);
	UT_EQ_STR(run(CLI_LVL_USER, "show table be key 10.0.0.2", NULL),
		  "# table: be, type: ip, size:100, used:1\n\n");
	UT_EQ_STR(run(CLI_LVL_USER, "show table be key nope", NULL), "Invalid key\n\n");
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "set table be key 10.0.0.1 data.nope 1", NULL), "Unknown data type") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "set table be key 10.0.0.1 data.gpc1 1", NULL), "not stored") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "set table be key 10.0.0.1 data.gpc0 x", NULL), "valid integer") != NULL);
	UT_CHECK(strstr(run(CLI_LVL_ADMIN, "set table be key 10.0.0.1", NULL), "data.<type>") != NULL);
	run(CLI_LVL_ADMIN, "set table be key 10.0.0.2 data.gpc0 1", NULL);
	UT_CHECK(strstr(run(CLI_LVL_USER, "show table", NULL), "used:2") != NULL);
	UT_EQ_STR(run(CLI_LVL_OPER, "clear table be key 10.0.0.1", NULL), "\n");
	UT_CHECK(strstr(run(CLI_LVL_USER, "show table", NULL), "used:1") != NULL);
	UT_EQ_STR(run(CLI_LVL_OPER, "clear table be", NULL), "\n");
	UT_CHECK(strstr(run(CLI_LVL_USER, "show table", NULL), "used:0") != NULL);
}

int main(void)
{
	int errors = ut_load_config(&conf, base_cfg, 0, msgs, sizeof(msgs));

	UT_EQ_INT(errors, 0);
	if (errors) {
		fprintf(stderr, "%s", msgs);
		UT_DONE();
	}
	memset(&rt, 0, sizeof(rt));
	rt.conf = &conf;
	rt.maxconn = 100;
	cli_out_init(&out);
	test_keywords();
	test_protocol();
	test_show();
	test_servers();
	test_add_del();
	test_tables();
	cli_out_free(&out);
	cli_conf_forget(&conf);
	config_free(&conf);
	UT_DONE();
}
