/* fuzz_cli.c - libFuzzer target for the runtime API's line parser and
 * dispatcher. A small configuration (a frontend, a backend with two
 * servers and a stick table) is loaded once; each input's first byte
 * picks the access level (operator when the line holds "add": "add
 * server" would resolve host names) and the rest is one command line, run through
 * cli_exec_line() as a socket client's line would be. Beyond memory
 * errors, the target checks what the socket loop relies on: the answer
 * is NUL-terminated at its length and bounded, and the configured
 * servers are never removed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/cfg.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/proxy.h"
#include "sluice/server.h"
#include "sluice/worker.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char cfg_text[] =
	"defaults\n"
	"    mode tcp\n"
	"    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
	"frontend fe\n"
	"    bind 127.0.0.1:19996\n"
	"    default_backend be\n"
	"backend be\n"
	"    stick-table type string len 16 size 64 expire 10s store gpt0,gpc(3),gpc_rate(2,1s),conn_rate(10s),server_id\n"
	"    server s1 127.0.0.1:8001\n"
	"    server s2 127.0.0.1:8002 weight 4\n";

static struct config conf;
static struct runtime rt;
static struct cli_out out;
static int ready;

static int setup(void)
{
	char path[] = "/tmp/sluice_fuzz_cli_XXXXXX";
	char *files[] = { path };
	int fd = mkstemp(path), errors;

	if (fd < 0 || write(fd, cfg_text, sizeof(cfg_text) - 1) != (ssize_t)sizeof(cfg_text) - 1)
		return -1;
	close(fd);
	config_init(&conf);
	errors = cfg_load_files(&conf, 1, files);
	unlink(path);
	if (errors)
		return -1;
	rt.conf = &conf;
	rt.maxconn = 100;
	cli_out_init(&out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy *be;
	int level;

	if (!ready) {
		if (setup() < 0)
			abort();
		ready = 1;
	}
	if (!size)
		return 0;
	level = data[0] % 3;
	/* "add server" resolves host names: keep the fuzzer off the network
	 * (test_cli.c covers it) */
	if (memmem(data + 1, size - 1, "add", 3))
		level = CLI_LVL_OPER;
	cli_out_reset(&out);
	cli_exec_line(&rt, level, (const char *)data + 1, size - 1, &out);
	CHECK(out.len <= CLI_OUT_MAX);
	CHECK(!out.buf || out.buf[out.len] == '\0');
	be = config_find_proxy(&conf, "be", PX_CAP_BE);
	CHECK(be && server_find(be, "s1") && server_find(be, "s2"));
	return 0;
}
