/* test_cfg.c - configuration loading: keyword dispatch, sections, defaults
 * inheritance, error reporting with FILE:LINE, post-parsers, and the
 * number parsers. Writes small files to a temporary directory under /tmp
 * and captures what cfg_load_files() prints on stderr.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include "ut.h"

static char dir[64];
static char out[16384];		/* stderr of the last load */
static struct config conf;

/* ---- test keywords, registered only here ---- */

static int seen_argc, seen_negate, seen_null_end;
static char seen_kw[64];
static unsigned seen_section;
static struct proxy *seen_px, *seen_defpx;

static int kw_record(struct cfg_ctx *ctx, int argc, char **args)
{
	seen_argc = argc;
	seen_negate = ctx->negate;
	seen_null_end = args[argc] == NULL;
	snprintf(seen_kw, sizeof(seen_kw), "%s", args[0]);
	seen_section = ctx->section;
	seen_px = ctx->px;
	seen_defpx = ctx->defpx;
	return 0;
}

static int kw_two_word(struct cfg_ctx *ctx, int argc, char **args)
{
	kw_record(ctx, argc, args);
	snprintf(seen_kw, sizeof(seen_kw), "%s %s", args[0], args[1]);
	return 0;
}

static int kw_fail_silently(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)ctx; (void)argc; (void)args;
	return -1;
}

static int kw_warn(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)argc;
	cfg_warn(ctx, "'%s' is only a test", args[0]);
	return 0;
}

static struct cfg_kw_list test_kws = { .kws = (const struct cfg_kw[]){
	{ "ut-fe-only", CFG_FRONTEND, kw_record, 0 },
	{ "ut-any", CFG_GLOBAL | CFG_PROXIES, kw_record, 0 },
	{ "ut-neg", CFG_PROXIES, kw_record, CFG_KW_NEGATABLE },
	{ "ut-two", CFG_PROXIES, kw_record, 0 },
	{ "ut-two word", CFG_PROXIES, kw_two_word, 0 },
	{ "ut-split", CFG_GLOBAL, kw_record, 0 },
	{ "ut-silent", CFG_PROXIES, kw_fail_silently, 0 },
	{ "ut-warn", CFG_PROXIES, kw_warn, 0 },
	{ NULL },
} };

static struct cfg_kw_list test_kws2 = { .kws = (const struct cfg_kw[]){
	{ "ut-split", CFG_BACKEND, kw_two_word, 0 },
	{ NULL },
} };

static char pp_order[8];
static int pp_errors_to_return;

static int pp_first(struct config *c)
{
	(void)c;
	strcat(pp_order, "1");
	return pp_errors_to_return;
}

static int pp_second(struct config *c)
{
	(void)c;
	strcat(pp_order, "2");
	return 0;
}

static struct cfg_postparser pp1 = { .name = "ut1", .fn = pp_first };
static struct cfg_postparser pp2 = { .name = "ut2", .fn = pp_second };

/* ---- helpers ---- */

static const char *path_of(const char *name)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static const char *write_file(const char *name, const char *text)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

/* Loads files into a fresh conf (freeing the previous one), keeping what
 * was printed on stderr in out. */
static int load_files(int n, const char **paths)
{
	char errpath[128];
	int saved, fd, errors;
	ssize_t len;

	config_free(&conf);
	config_init(&conf);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	pp_order[0] = '\0';
	errors = cfg_load_files(&conf, n, (char **)paths);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	len = read(fd, out, sizeof(out) - 1);
	out[len > 0 ? len : 0] = '\0';
	close(fd);
	return errors;
}

static int load(const char *text)
{
	const char *path = write_file("t.cfg", text);

	return load_files(1, &path);
}

/* Checks that stderr holds "t.cfg:LINE: msg" (msg may be a prefix). */
static void expect_msg(int line, const char *msg)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/t.cfg:%d: %s", dir, line, msg);
	UT_CHECK(strstr(out, want) != NULL);
	if (!strstr(out, want))
		fprintf(stderr, "  expected: %s\n  got: %s\n", want, out);
}

static void expect_clean(int errors)
{
	UT_EQ_INT(errors, 0);
	if (errors)
		fprintf(stderr, "  stderr was: %s\n", out);
}

/* ---- tests ---- */

static void test_unknown_keywords(void)
{
	UT_EQ_INT(load("frontend fe\n"
		       "\tbind :8080\n"
		       "\tbogus 1 2\n"
		       "\toption nosuch\n"
		       "\ttimeout nosuch 1s\n"
		       "\toption\n"
		       "\n"
		       "\t# comment\n"
		       "\tpeer x\n"), 5);
	expect_msg(3, "unknown keyword 'bogus' in 'frontend' section (sluice does not implement it; see doc/configuration.md)");
	expect_msg(4, "unknown option 'nosuch'");
	expect_msg(5, "unknown timeout 'nosuch'");
	expect_msg(6, "'option' expects a name");
	expect_msg(9, "'peer' is not allowed in 'frontend' section");
	UT_CHECK(!strcmp(pp_order, ""));	/* no post-parse after errors */
}

static void test_sections_allowed(void)
{
	UT_EQ_INT(load("backend be\n"
		       "  ut-fe-only\n"
		       "  no ut-any\n"
		       "  no\n"
		       "global\n"
		       "  ut-neg\n"), 4);
	expect_msg(2, "'ut-fe-only' is not allowed in 'backend' section");
	expect_msg(3, "'no' is not supported for 'ut-any'");
	expect_msg(4, "'no' expects a keyword");
	expect_msg(6, "'ut-neg' is not allowed in 'global' section");

	/* the same name registered by two files for two sections */
	expect_clean(load("global\n ut-split a\nbackend b\n ut-split b\n"));
	UT_EQ_STR(seen_kw, "ut-split b");
	UT_EQ_INT(load("frontend f\n ut-split\n"), 1);
	expect_msg(2, "'ut-split' is not allowed in 'frontend' section");
}

static void test_dispatch(void)
{
	expect_clean(load("listen l\n"
			  "  ut-neg a b c\n"));
	UT_EQ_STR(seen_kw, "ut-neg");
	UT_EQ_INT(seen_argc, 4);
	UT_EQ_INT(seen_negate, 0);
	UT_EQ_INT(seen_null_end, 1);
	UT_EQ_INT(seen_section, CFG_LISTEN);
	UT_CHECK(seen_px == conf.proxies);

	expect_clean(load("listen l\n  no ut-neg x\n"));
	UT_EQ_STR(seen_kw, "ut-neg");
	UT_EQ_INT(seen_argc, 2);
	UT_EQ_INT(seen_negate, 1);
	UT_EQ_INT(seen_null_end, 1);

	/* two-word names first, then the first word alone */
	expect_clean(load("backend b\n  ut-two word 1\n"));
	UT_EQ_STR(seen_kw, "ut-two word");
	UT_EQ_INT(seen_argc, 3);
	expect_clean(load("backend b\n  ut-two other\n"));
	UT_EQ_STR(seen_kw, "ut-two");
	expect_clean(load("backend b\n  ut-two\n"));
	UT_EQ_STR(seen_kw, "ut-two");
	UT_EQ_INT(seen_argc, 1);

	/* quoting reaches the handler */
	expect_clean(load("global\n  ut-any \"a b\" 'c d' e\\ f # x y\n"));
	UT_EQ_INT(seen_argc, 4);
	UT_EQ_INT(seen_section, CFG_GLOBAL);
	UT_CHECK(seen_px == NULL);

	/* a handler failing without a message still counts */
	UT_EQ_INT(load("backend b\n  ut-silent\n"), 1);
	expect_msg(2, "'ut-silent': invalid arguments");

	/* warnings are printed but are not errors */
	expect_clean(load("backend b\n  server s 127.0.0.1:1\n  ut-warn\n"));
	expect_msg(3, "warning: 'ut-warn' is only a test");
}

static void test_outside_and_unsupported(void)
{
	UT_EQ_INT(load("ut-any 1\n"
		       "mailers mypeers\n"
		       "  mailer a 127.0.0.1:1024\n"
		       "  bogus\n"
		       "userlist u\n"
		       "  user x\n"
		       "backend b\n"
		       "  bogus2\n"
		       "resolvers dns\n"
		       "  nameserver x\n"), 5);
	expect_msg(1, "'ut-any' is outside of any section");
	expect_msg(2, "section 'mailers' is not supported by sluice");
	expect_msg(5, "section 'userlist' is not supported by sluice");
	expect_msg(8, "unknown keyword 'bogus2' in 'backend' section");
	expect_msg(9, "section 'resolvers' is not supported by sluice");
	UT_CHECK(!strstr(out, ":3:") && !strstr(out, ":4:") && !strstr(out, ":10:"));
}

static void test_section_lines(void)
{
	UT_EQ_INT(load("global extra\n"
		       "listen l 127.0.0.1:80\n"
		       "frontend f 127.0.0.1:81\n"
		       "backend b junk\n"
		       "frontend\n"
		       "  bogus-skipped\n"
		       "backend bad/name\n"
		       "frontend g from\n"
		       "  bogus-skipped-too\n"), 7);
	expect_msg(1, "'global' takes no argument");
	expect_msg(2, "'listen l 127.0.0.1:80': an address on the 'listen' line is not supported, use bind (write 'bind 127.0.0.1:80' inside the section)");
	expect_msg(3, "'frontend f 127.0.0.1:81': an address on the 'frontend' line is not supported, use bind");
	expect_msg(4, "'backend b': unexpected argument 'junk'");
	expect_msg(5, "'frontend' expects a name");
	expect_msg(7, "'backend bad/name': character '/' is not allowed");
	expect_msg(8, "'frontend': 'from' expects the name of a defaults section");
	UT_CHECK(!strstr(out, "skipped"));
}

static void test_duplicates(void)
{
	char want[256];

	UT_EQ_INT(load("frontend x\n"
		       "backend x\n"
		       "frontend x\n"
		       "listen y\n"
		       "backend y\n"
		       "listen x\n"), 3);
	snprintf(want, sizeof(want), "frontend 'x' has the same name as frontend 'x' declared at %s/t.cfg:1", dir);
	expect_msg(3, want);
	expect_msg(5, "backend 'y' has the same name as listen 'y' declared at");
	expect_msg(6, "listen 'x' has the same name as frontend 'x' declared at");
	UT_CHECK(strstr(out, "(only a frontend and a backend may share a name)") != NULL);
}

static void test_proxies_and_defaults(void)
{
	struct proxy *px, *f1, *f2, *b1, *b2, *l1, *dA, *dC;

	expect_clean(load("global\n"
			  "defaults A\n"
			  "  timeout client 5s\n"
			  "defaults B\n"
			  "  timeout client 7s\n"
			  "frontend f1\n"
			  "  ut-any\n"
			  "  bind :1\n"
			  "  default_backend b1\n"
			  "frontend f2 from A\n"
			  "  bind :2\n"
			  "  default_backend b1\n"
			  "defaults C from A\n"
			  "  timeout server 3s\n"
			  "backend b1\n"
			  "  server s 127.0.0.1:1\n"
			  "defaults\n"
			  "backend b2 from B\n"
			  "  server s 127.0.0.1:1\n"
			  "listen l1\n"
			  "  ut-any\n"
			  "  bind :3\n"
			  "  server s 127.0.0.1:1\n"));
	UT_EQ_INT(conf.nb_proxies, 5);
	f1 = conf.proxies;
	f2 = f1 ? f1->next : NULL;
	b1 = f2 ? f2->next : NULL;
	b2 = b1 ? b1->next : NULL;
	l1 = b2 ? b2->next : NULL;
	if (!l1) {
		UT_CHECK(0);
		return;
	}
	UT_CHECK(l1->next == NULL);
	UT_EQ_STR(f1->name, "f1");
	UT_EQ_STR(f2->name, "f2");
	UT_EQ_STR(b1->name, "b1");
	UT_EQ_STR(b2->name, "b2");
	UT_EQ_STR(l1->name, "l1");
	UT_EQ_INT(f1->uuid, 1);
	UT_EQ_INT(f2->uuid, 2);
	UT_EQ_INT(b1->uuid, 3);
	UT_EQ_INT(b2->uuid, 4);
	UT_EQ_INT(l1->uuid, 5);
	UT_EQ_INT(f1->cap, PX_CAP_FE);
	UT_EQ_INT(b1->cap, PX_CAP_BE);
	UT_EQ_INT(l1->cap, PX_CAP_LISTEN);
	UT_EQ_INT(f1->conf_line, 6);
	UT_EQ_INT(l1->conf_line, 20);
	UT_EQ_STR(f1->conf_file, path_of("t.cfg"));
	UT_EQ_INT(conf.global.conf_line, 1);
	/* inheritance: last defaults, "from", defaults from defaults, reset */
	UT_EQ_INT(f1->to.client, 7000);
	UT_EQ_INT(f2->to.client, 5000);
	UT_EQ_INT(b1->to.client, 5000);
	UT_EQ_INT(b1->to.server, 3000);
	UT_EQ_INT(b2->to.client, 7000);
	UT_EQ_INT(b2->to.server, 0);
	UT_EQ_INT(l1->to.client, 0);
	/* the context seen by handlers */
	UT_CHECK(seen_px == l1);
	UT_CHECK(seen_defpx == conf.defaults);
	UT_EQ_STR(conf.defaults->name, "");
	/* lookups */
	UT_CHECK(config_find_proxy(&conf, "f1", PX_CAP_FE) == f1);
	UT_CHECK(config_find_proxy(&conf, "f1", PX_CAP_BE) == NULL);
	UT_CHECK(config_find_proxy(&conf, "l1", PX_CAP_BE) == l1);
	UT_CHECK(config_find_proxy(&conf, "l1", PX_CAP_LISTEN) == l1);
	UT_CHECK(config_find_proxy(&conf, "b1", PX_CAP_LISTEN) == NULL);
	UT_CHECK(config_find_proxy(&conf, "nope", PX_CAP_FE) == NULL);
	dA = config_find_proxy(&conf, "A", PX_CAP_DEFAULTS);
	dC = config_find_proxy(&conf, "C", PX_CAP_DEFAULTS);
	UT_CHECK(dA && dA->cap == PX_CAP_DEFAULTS && dA->to.client == 5000);
	UT_CHECK(dC && dC->to.server == 3000 && dC->to.client == 5000);
	UT_CHECK(config_find_proxy(&conf, "", PX_CAP_DEFAULTS) == NULL);
	UT_CHECK(config_find_proxy(&conf, "f1", PX_CAP_DEFAULTS) == NULL);
	for (px = conf.defaults; px && px->next; px = px->next)
		;
	UT_CHECK(px == dA);	/* newest first */
	UT_EQ_STR(pp_order, "12");
}

static void test_defaults_errors(void)
{
	UT_EQ_INT(load("defaults A\n"
		       "frontend f from Z\n"
		       "  ut-fe-only\n"
		       "defaults D from nope\n"
		       "backend b from f\n"
		       "defaults a b\n"), 4);
	expect_msg(2, "'frontend f': no defaults section named 'Z' above this line");
	expect_msg(4, "'defaults D': no defaults section named 'nope'");
	expect_msg(5, "'backend b': no defaults section named 'f'");
	expect_msg(6, "'defaults': unexpected argument 'b'");
	/* the frontend was still parsed */
	UT_EQ_STR(seen_kw, "ut-fe-only");
	/* a "from" pointing below is not found either */
	UT_EQ_INT(load("frontend f from L\ndefaults L\n"), 1);
}

static void test_files(void)
{
	const char *paths[3];

	paths[0] = write_file("a.cfg", "defaults A\n  timeout client 9s\n");
	paths[1] = write_file("b.cfg", "ut-any\nbackend b from A\n  server s 127.0.0.1:1\n");
	UT_EQ_INT(load_files(2, paths), 1);
	UT_CHECK(strstr(out, "/b.cfg:1: 'ut-any' is outside of any section") != NULL);
	UT_CHECK(conf.proxies && conf.proxies->to.client == 9000);
	UT_CHECK(conf.proxies && strstr(conf.proxies->conf_file, "/b.cfg"));

	paths[1] = "/nonexistent/sluice.cfg";
	paths[2] = write_file("c.cfg", "backend c\n  bogus\n");
	UT_EQ_INT(load_files(3, paths), 2);
	UT_CHECK(strstr(out, "cannot open /nonexistent/sluice.cfg: No such file or directory") != NULL);
	UT_CHECK(strstr(out, "/c.cfg:2: unknown keyword 'bogus'") != NULL);
}

static void test_bad_lines(void)
{
	static const char nul_line[] = "backend b\n  ut-any a\0b\n";
	char *big;
	size_t n = 70000, len;

	UT_EQ_INT(load("backend b\n"
		       "  ut-any \"open\n"
		       "  ut-any 'open\n"
		       "  ut-any \\x4g\n"
		       "  ut-any ok\r\n"), 3);
	expect_msg(2, "unterminated double quote");
	expect_msg(3, "unterminated single quote");
	expect_msg(4, "invalid \\x escape");

	big = malloc(n + 64);
	strcpy(big, "backend b\n  ut-any ");
	len = strlen(big);
	memset(big + len, 'x', n);
	strcpy(big + len + n, "\n  bogus\n");
	UT_EQ_INT(load(big), 2);
	expect_msg(2, "line too long (more than 65536 characters)");
	expect_msg(3, "unknown keyword 'bogus'");
	free(big);

	{
		const char *path = path_of("nul.cfg");
		FILE *f = fopen(path, "w");

		fwrite(nul_line, 1, sizeof(nul_line) - 1, f);
		fclose(f);
		UT_EQ_INT(load_files(1, &path), 1);
		UT_CHECK(strstr(out, "nul.cfg:2: NUL character in line") != NULL);
	}
}

static void test_postparsers(void)
{
	pp_errors_to_return = 2;
	UT_EQ_INT(load("backend b\n  server s 127.0.0.1:1\n"), 2);
	UT_EQ_STR(pp_order, "12");
	pp_errors_to_return = 0;
	UT_EQ_INT(load("backend b\n  bogus\n"), 1);
	UT_EQ_STR(pp_order, "");
}

static void test_parse_time(void)
{
	unsigned ms = 12345;

	UT_EQ_INT(cfg_parse_time("10", &ms), 0);
	UT_EQ_INT(ms, 10);
	UT_EQ_INT(cfg_parse_time("10ms", &ms), 0);
	UT_EQ_INT(ms, 10);
	UT_EQ_INT(cfg_parse_time("2s", &ms), 0);
	UT_EQ_INT(ms, 2000);
	UT_EQ_INT(cfg_parse_time("3m", &ms), 0);
	UT_EQ_INT(ms, 180000);
	UT_EQ_INT(cfg_parse_time("1h", &ms), 0);
	UT_EQ_INT(ms, 3600000);
	UT_EQ_INT(cfg_parse_time("1d", &ms), 0);
	UT_EQ_INT(ms, 86400000);
	UT_EQ_INT(cfg_parse_time("1500us", &ms), 0);
	UT_EQ_INT(ms, 2);
	UT_EQ_INT(cfg_parse_time("1us", &ms), 0);
	UT_EQ_INT(ms, 1);
	UT_EQ_INT(cfg_parse_time("0", &ms), 0);
	UT_EQ_INT(ms, 0);
	UT_EQ_INT(cfg_parse_time("4294967295", &ms), 0);
	UT_EQ_INT(ms, UINT_MAX);
	UT_EQ_INT(cfg_parse_time("49d", &ms), 0);
	ms = 7;
	UT_EQ_INT(cfg_parse_time("4294967296", &ms), -1);
	UT_EQ_INT(cfg_parse_time("50d", &ms), -1);
	UT_EQ_INT(cfg_parse_time("99999999999999999999999s", &ms), -1);
	UT_EQ_INT(cfg_parse_time("", &ms), -1);
	UT_EQ_INT(cfg_parse_time("s", &ms), -1);
	UT_EQ_INT(cfg_parse_time("abc", &ms), -1);
	UT_EQ_INT(cfg_parse_time("10x", &ms), -1);
	UT_EQ_INT(cfg_parse_time("10S", &ms), -1);
	UT_EQ_INT(cfg_parse_time("10 s", &ms), -1);
	UT_EQ_INT(cfg_parse_time("-1", &ms), -1);
	UT_EQ_INT(cfg_parse_time("1.5s", &ms), -1);
	UT_EQ_INT(cfg_parse_time("10sec", &ms), -1);
	UT_EQ_INT(ms, 7);
}

static void test_parse_uint_size(void)
{
	unsigned long v = 99;

	UT_EQ_INT(cfg_parse_uint("0", 0, 10, &v), 0);
	UT_EQ_INT(v, 0);
	UT_EQ_INT(cfg_parse_uint("10", 1, 10, &v), 0);
	UT_EQ_INT(v, 10);
	UT_EQ_INT(cfg_parse_uint("11", 1, 10, &v), -1);
	UT_EQ_INT(cfg_parse_uint("0", 1, 10, &v), -1);
	UT_EQ_INT(cfg_parse_uint("", 0, 10, &v), -1);
	UT_EQ_INT(cfg_parse_uint("-1", 0, ULONG_MAX, &v), -1);
	UT_EQ_INT(cfg_parse_uint("+1", 0, ULONG_MAX, &v), -1);
	UT_EQ_INT(cfg_parse_uint(" 1", 0, ULONG_MAX, &v), -1);
	UT_EQ_INT(cfg_parse_uint("1k", 0, ULONG_MAX, &v), -1);
	UT_EQ_INT(cfg_parse_uint("99999999999999999999999", 0, ULONG_MAX, &v), -1);
	UT_EQ_INT(cfg_parse_uint("18446744073709551615", 0, ULONG_MAX, &v), 0);
	UT_CHECK(v == ULONG_MAX);
	UT_EQ_INT(cfg_parse_size("16384", &v), 0);
	UT_EQ_INT(v, 16384);
	UT_EQ_INT(cfg_parse_size("16k", &v), 0);
	UT_EQ_INT(v, 16384);
	UT_EQ_INT(cfg_parse_size("2M", &v), 0);
	UT_EQ_INT(v, 2 << 20);
	UT_EQ_INT(cfg_parse_size("1g", &v), 0);
	UT_EQ_INT(v, 1 << 30);
	UT_EQ_INT(cfg_parse_size("1G", &v), 0);
	UT_EQ_INT(cfg_parse_size("1kb", &v), -1);
	UT_EQ_INT(cfg_parse_size("1t", &v), -1);
	UT_EQ_INT(cfg_parse_size("k", &v), -1);
	UT_EQ_INT(cfg_parse_size("", &v), -1);
	UT_EQ_INT(cfg_parse_size("-1k", &v), -1);
	UT_EQ_INT(cfg_parse_size("99999999999999999999g", &v), -1);
}

static void test_config_init(void)
{
	struct config c;
	int i, all = 1;

	config_init(&c);
	UT_EQ_INT(c.global.bufsize, 16384);
	UT_EQ_INT(c.global.maxaccept, 64);
	for (i = 0; i < MAX_THREADS; i++)
		all &= c.global.cpu_map[i] == -1;
	UT_CHECK(all);
	UT_CHECK(list_empty(&c.global.loggers));
	UT_EQ_STR(c.global.log_tag, "sluice");
	UT_CHECK(c.proxies == NULL && c.defaults == NULL && c.nb_proxies == 0);
	config_free(&c);
	config_free(&c);	/* twice is harmless */
}

static void test_messages(void)
{
	struct cfg_ctx ctx = { .file = "x.cfg", .line = 7 };
	char errpath[128];
	int saved, fd;
	ssize_t len;

	snprintf(errpath, sizeof(errpath), "%s/msg", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	UT_EQ_INT(cfg_err(&ctx, "bad %d", 1), -1);
	cfg_warn(&ctx, "meh %s", "x");
	cfg_err_at("y.cfg", 3, "late %s", "check");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	len = read(fd, out, sizeof(out) - 1);
	out[len > 0 ? len : 0] = '\0';
	close(fd);
	UT_EQ_STR(out, "x.cfg:7: bad 1\nx.cfg:7: warning: meh x\ny.cfg:3: late check\n");
	UT_EQ_INT(ctx.errors, 1);
	UT_EQ_INT(ctx.warnings, 1);
}

static void cleanup(void)
{
	const char *names[] = { "t.cfg", "a.cfg", "b.cfg", "c.cfg", "nul.cfg", "stderr", "msg" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_of(names[i]));
	rmdir(dir);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sluice-test-cfg-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	cfg_register(&test_kws);
	cfg_register(&test_kws2);
	cfg_register_postparser(&pp1);
	cfg_register_postparser(&pp2);
	config_init(&conf);

	test_unknown_keywords();
	test_sections_allowed();
	test_dispatch();
	test_outside_and_unsupported();
	test_section_lines();
	test_duplicates();
	test_proxies_and_defaults();
	test_defaults_errors();
	test_files();
	test_bad_lines();
	test_postparsers();
	test_parse_time();
	test_parse_uint_size();
	test_config_init();
	test_messages();

	config_free(&conf);
	cleanup();
	UT_DONE();
}
