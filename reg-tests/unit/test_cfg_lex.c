/* test_cfg_lex.c - the configuration tokenizer. */
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include "ut.h"

static char out[512];
static char *args[CFG_MAX_ARGS];
static const char *err;

static int tok(const char *line)
{
	err = NULL;
	memset(out, 'X', sizeof(out));
	return cfg_tokenize(line, out, sizeof(out), args, CFG_MAX_ARGS, &err);
}

static void test_words(void)
{
	UT_EQ_INT(tok(""), 0);
	UT_EQ_INT(tok("   \t  "), 0);
	UT_EQ_INT(tok("\r\n"), 0);
	UT_EQ_INT(tok("bind :80"), 2);
	UT_EQ_STR(args[0], "bind");
	UT_EQ_STR(args[1], ":80");
	UT_EQ_INT(tok("  \ttimeout\t\tclient   30s  \r\n"), 3);
	UT_EQ_STR(args[0], "timeout");
	UT_EQ_STR(args[1], "client");
	UT_EQ_STR(args[2], "30s");
}

static void test_comments(void)
{
	UT_EQ_INT(tok("# a comment"), 0);
	UT_EQ_INT(tok("   # indented comment"), 0);
	UT_EQ_INT(tok("maxconn 100 # trailing"), 2);
	UT_EQ_STR(args[1], "100");
	UT_EQ_INT(tok("a#b"), 1);
	UT_EQ_STR(args[0], "a");
	UT_EQ_INT(tok("\"a#b\" 'c#d' e\\#f"), 3);
	UT_EQ_STR(args[0], "a#b");
	UT_EQ_STR(args[1], "c#d");
	UT_EQ_STR(args[2], "e#f");
}

static void test_quotes(void)
{
	UT_EQ_INT(tok("log-format \"%ci:%cp [%t]\""), 2);
	UT_EQ_STR(args[1], "%ci:%cp [%t]");
	UT_EQ_INT(tok("x 'single $HOME \\n'"), 2);
	UT_EQ_STR(args[1], "single $HOME \\n");
	UT_EQ_INT(tok("a\"b c\"d'e f'g"), 1);
	UT_EQ_STR(args[0], "ab cde fg");
	UT_EQ_INT(tok("x \"\" y"), 3);
	UT_EQ_STR(args[1], "");
	UT_EQ_STR(args[2], "y");
	UT_EQ_INT(tok("''"), 1);
	UT_EQ_STR(args[0], "");
	UT_EQ_INT(tok("\"it's\" 'say \"hi\"'"), 2);
	UT_EQ_STR(args[0], "it's");
	UT_EQ_STR(args[1], "say \"hi\"");
}

static void test_escapes(void)
{
	UT_EQ_INT(tok("a\\ b c"), 2);
	UT_EQ_STR(args[0], "a b");
	UT_EQ_INT(tok("\\t\\n\\r\\\\\\\"\\'\\$"), 1);
	UT_EQ_STR(args[0], "\t\n\r\\\"'$");
	UT_EQ_INT(tok("\\x41\\x7a \"\\x20\""), 2);
	UT_EQ_STR(args[0], "Az");
	UT_EQ_STR(args[1], " ");
	/* unknown escapes keep their backslash (regexes) */
	UT_EQ_INT(tok("^\\d+\\.x$"), 1);
	UT_EQ_STR(args[0], "^\\d+\\.x$");
	UT_EQ_INT(tok("end\\"), 1);
	UT_EQ_STR(args[0], "end\\");
	UT_EQ_INT(tok("\"q\\\"q\""), 1);
	UT_EQ_STR(args[0], "q\"q");
}

static void test_env(void)
{
	setenv("SLUICE_UT_A", "one two", 1);
	setenv("SLUICE_UT_EMPTY", "", 1);
	unsetenv("SLUICE_UT_UNSET");
	/* HAProxy expands variables only inside double quotes */
	UT_EQ_INT(tok("x \"${SLUICE_UT_A}\" $SLUICE_UT_A ${SLUICE_UT_A}!"), 4);
	UT_EQ_STR(args[1], "one two");
	UT_EQ_STR(args[2], "$SLUICE_UT_A");
	UT_EQ_STR(args[3], "${SLUICE_UT_A}!");
	UT_EQ_INT(tok("bind \"${SLUICE_UT_UNSET}:80\""), 2);
	UT_EQ_STR(args[1], ":80");
	/* quoted: an empty word; unquoted: no word at all */
	UT_EQ_INT(tok("x \"$SLUICE_UT_UNSET\" y"), 3);
	UT_EQ_STR(args[1], "");
	UT_EQ_INT(tok("x $SLUICE_UT_UNSET y"), 3);
	UT_EQ_STR(args[1], "$SLUICE_UT_UNSET");
	UT_EQ_INT(tok("x \"${SLUICE_UT_EMPTY}\""), 2);
	UT_EQ_STR(args[1], "");
	/* no expansion in single quotes, nor escaped, nor without a name */
	UT_EQ_INT(tok("'$SLUICE_UT_A' \\$SLUICE_UT_A \"\\$X\" $ a$ $1"), 6);
	UT_EQ_STR(args[0], "$SLUICE_UT_A");
	UT_EQ_STR(args[1], "$SLUICE_UT_A");
	UT_EQ_STR(args[2], "$X");
	UT_EQ_STR(args[3], "$");
	UT_EQ_STR(args[4], "a$");
	UT_EQ_STR(args[5], "$1");
	/* a value is not re-tokenized */
	setenv("SLUICE_UT_Q", "a\"b #c", 1);
	UT_EQ_INT(tok("\"$SLUICE_UT_Q\""), 1);
	UT_EQ_STR(args[0], "a\"b #c");
}

static void test_errors(void)
{
	UT_EQ_INT(tok("x \"open"), -1);
	UT_CHECK(err && strstr(err, "double quote"));
	UT_EQ_INT(tok("x 'open"), -1);
	UT_CHECK(err && strstr(err, "single quote"));
	UT_EQ_INT(tok("\\x4"), -1);
	UT_CHECK(err && strstr(err, "\\x"));
	UT_EQ_INT(tok("\\xzz"), -1);
	UT_EQ_INT(tok("\\x00"), -1);
	UT_EQ_INT(tok("\"${UNCLOSED\""), -1);
	UT_CHECK(err && strstr(err, "}"));
	UT_EQ_INT(tok("\"${A[*]}\""), -1);
	UT_EQ_INT(tok("\"${}\""), -1);
	UT_EQ_INT(tok("\"${1A}\""), -1);
}

static void test_bounds(void)
{
	char small[8], line[256], *few[3];
	int i, n;

	/* "abc de" needs 7 bytes: fits in 8, not in 6 */
	UT_EQ_INT(cfg_tokenize("abc de", small, 8, few, 3, &err), 2);
	UT_EQ_STR(few[1], "de");
	memset(small, 'Z', sizeof(small));
	UT_EQ_INT(cfg_tokenize("abc de", small, 6, few, 3, &err), -1);
	UT_EQ_INT(small[6], 'Z');
	UT_EQ_INT(small[7], 'Z');
	UT_EQ_INT(cfg_tokenize("abcdefgh", small, 8, few, 3, &err), -1);
	UT_EQ_INT(cfg_tokenize("\"\"", small, 1, few, 3, &err), 1);
	UT_EQ_INT(cfg_tokenize("\"\"", small, 0, few, 3, &err), -1);
	/* word count */
	UT_EQ_INT(cfg_tokenize("a b c", small, 8, few, 3, &err), 3);
	UT_EQ_INT(cfg_tokenize("a b c d", small, 8, few, 3, &err), -1);
	UT_CHECK(err && strstr(err, "too many"));
	/* the environment cannot overflow the output either */
	setenv("SLUICE_UT_LONG", "0123456789012345678901234567890123456789", 1);
	UT_EQ_INT(cfg_tokenize("$SLUICE_UT_LONG", small, 8, few, 3, &err), -1);
	for (i = 0, n = 0; i < CFG_MAX_ARGS + 1; i++)
		n += sprintf(line + n, "w ");
	UT_EQ_INT(tok(line), -1);
	line[2 * CFG_MAX_ARGS] = '\0';
	UT_EQ_INT(tok(line), CFG_MAX_ARGS);
}

int main(void)
{
	test_words();
	test_comments();
	test_quotes();
	test_escapes();
	test_env();
	test_errors();
	test_bounds();
	UT_DONE();
}
