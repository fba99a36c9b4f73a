/* fuzz_check_replies.c - libFuzzer target for what health checks read from
 * servers: the TLS / MySQL / PostgreSQL reply parsers, the agent reply
 * parser, the expect judge (string, binary, rstring, rbinary) and the UDP
 * check's reply matcher.
 * The first byte picks the parser (low 3 bits; 4 is the agent parser, or
 * the UDP matcher when bit 7 is set), whether more data may come (bit 3,
 * for UDP: the datagram was truncated) and, for expect rules, inversion
 * and min-recv (bits 4 and 5; for UDP, which expect: bits 4 and 5);
 * the rest is the server's reply. Beyond memory errors, the target checks
 * what callers rely on: a NUL-terminated reason without control
 * characters, a verdict in range, and a consumed count within the data. */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/check_udp.h"
#include "sluice/tcpcheck.h"

static const char *const custom_names[] = { "ssl-hello", "mysql-handshake", "mysql-ok", "pgsql" };

static void check_text(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		__builtin_trap();
	while (n--)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			__builtin_trap();
}

static void check_verdict(enum tcpcheck_verdict v, int last)
{
	if (v != TCPCHK_MORE && v != TCPCHK_OK && v != TCPCHK_FAIL)
		__builtin_trap();
	/* with nothing more to come, a parser must decide */
	if (last && v == TCPCHK_MORE)
		__builtin_trap();
}

static void fuzz_custom(unsigned which, const uint8_t *d, size_t n, int last)
{
	tcpcheck_custom_fn fn = tcpcheck_custom_by_name(custom_names[which]);
	enum check_code code = CHK_UNK;
	enum tcpcheck_verdict v;
	char info[64];

	if (!fn)
		__builtin_trap();
	info[0] = '\0';
	v = fn(d, n, last, &code, info, sizeof(info));
	check_verdict(v, last);
	check_text(info, sizeof(info));
	if (v != TCPCHK_MORE && (unsigned)code >= CHK_CODE_COUNT)
		__builtin_trap();
}

static void fuzz_agent(const uint8_t *d, size_t n, int last)
{
	struct agent_reply a;
	enum tcpcheck_verdict v;
	char info[64];

	v = agent_parse_reply(d, n, last, &a, info, sizeof(info));
	check_verdict(v, last);
	check_text(info, sizeof(info));
	check_text(a.desc, sizeof(a.desc));
	if (a.weight_pct > 100000 || ((a.flags & AGENT_R_UP) && (a.flags & AGENT_R_DOWN)))
		__builtin_trap();
}

/* Expect rules as the parser would build them. */
static struct tcpcheck_rule rules[4];

static void set_regex(struct tcpcheck_rule *r, enum tcpcheck_expect_type type, const char *re)
{
	static regex_t compiled[2];
	regex_t *slot = &compiled[type == TCPCHK_EXP_RBINARY];

	if (regcomp(slot, re, REG_EXTENDED))
		abort();
	r->expect.type = type;
	r->expect.re = slot;
	r->expect.pat_text = (char *)re;
}

static void init_rules(void)
{
	static int done;
	int i;

	if (done)
		return;
	done = 1;
	for (i = 0; i < 4; i++) {
		rules[i].act = TCPCHK_ACT_EXPECT;
		rules[i].expect.err_code = CHK_L7RSP;
		rules[i].expect.tout_code = CHK_L7TOUT;
		rules[i].expect.ok_code = CHK_L7OK;
	}
	rules[0].expect.type = TCPCHK_EXP_STRING;
	rules[0].expect.pat = (uint8_t *)"+PONG";
	rules[0].expect.patlen = 5;
	rules[0].expect.pat_text = "+PONG\r\n";
	rules[1].expect.type = TCPCHK_EXP_BINARY;
	rules[1].expect.pat = (uint8_t *)"\x00\x01\xff";
	rules[1].expect.patlen = 3;
	rules[1].expect.pat_text = "0001ff";
	set_regex(&rules[2], TCPCHK_EXP_RSTRING, "^(\\+OK|READY)[[:space:]]+(up|[0-9]{1,3})$");
	set_regex(&rules[3], TCPCHK_EXP_RBINARY, "^52(00)*08.{8}(0A|FF)+$");
	rules[3].comment = "binary rule";
}

static void fuzz_expect(unsigned which, unsigned flags, const uint8_t *d, size_t n, int last)
{
	struct tcpcheck_rule r = rules[which];
	enum check_code code = CHK_UNK;
	enum tcpcheck_verdict v;
	char info[96];

	r.expect.inverse = !!(flags & 1);
	r.expect.min_recv = (flags & 2) ? 7 : 0;
	info[0] = '\0';
	v = tcpcheck_expect(&r, d, n, last, 3, &code, info, sizeof(info));
	check_verdict(v, last);
	check_text(info, sizeof(info));
	if (v == TCPCHK_OK && tcpcheck_expect_consumed(&r, d, n) > n)
		__builtin_trap();
}

/* udp-check settings as the parser builds them: none, text, binary (with
 * bytes that must be escaped), and a long pattern that is cut in messages. */
static void fuzz_udp(unsigned which, const uint8_t *d, size_t n, int truncated)
{
	static uint8_t text[] = "PONG\r\n", bin[] = { 0x00, 0x01, 0xff, 0x0a };
	static uint8_t longp[] = "0123456789abcdefghijklmnopqrstuvwxyz\x01";
	struct udpcheck u = { .refcnt = 1 };
	enum check_code code = CHK_UNK;
	char info[128];
	int ok;

	if (which == 1) {
		u.expect = text;
		u.expect_len = sizeof(text) - 1;
	} else if (which == 2) {
		u.expect = bin;
		u.expect_len = sizeof(bin);
		u.expect_binary = 1;
	} else if (which == 3) {
		u.expect = longp;
		u.expect_len = sizeof(longp) - 1;
	}
	ok = udpcheck_match(which ? &u : NULL, d, n, truncated, &code, info, sizeof(info));
	check_text(info, sizeof(info));
	if (ok != check_code_ok(code) || (ok != 0 && ok != 1))
		__builtin_trap();
	if (which && ok != (memmem(d, n, u.expect, u.expect_len) != NULL))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel, last;

	if (!size)
		return 0;
	init_rules();
	sel = data[0] & 7;
	last = (data[0] >> 3) & 1;
	data++;
	size--;
	if (sel < 4)
		fuzz_custom(sel, data, size, last);
	else if (sel == 4 && (data[-1] & 0x80))
		fuzz_udp((data[-1] >> 4) & 3, data, size, last);
	else if (sel == 4)
		fuzz_agent(data, size, last);
	else
		fuzz_expect(sel == 5 ? (data[-1] >> 6) & 1 : sel - 4, (data[-1] >> 4) & 3,
			    data, size, last);
	return 0;
}
