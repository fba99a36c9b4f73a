/* tcpcheck.c - check scripts: "tcp-check" rules, the built-in protocol
 * checks and the pure functions that judge what a server answered.
 *
 * Every check option compiles into the same rule model (connect, send,
 * expect), so check.c runs one engine: "option redis-check" is a send of
 * PING and an expect of +PONG, "option mysql-check" an expect whose judge
 * is a MySQL packet parser, and so on. The parsers of server replies (TLS,
 * MySQL, PostgreSQL, agent) are pure functions over a bounded buffer: they
 * are the part of checks that reads untrusted bytes, and they are unit
 * tested and fuzzed alone.
 *
 * Ownership of rules follows HAProxy: a proxy inherits the rule set of its
 * defaults section (shared, reference counted); as soon as it writes its
 * own "tcp-check" line it starts a set of its own, and "tcp-check" rules
 * only run under "option tcp-check" (HAProxy silently ignores them
 * otherwise, sluice refuses the configuration).
 * Threading: parsing runs on the main thread; the judging functions are
 * reentrant (regex scratch space is per thread).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/errbuf.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/tcpcheck.h>

/* Regex rules look at most at this many received bytes (the default check
 * buffer is 16 KiB); rbinary needs twice as much room for the hex dump. */
#define TCPCHK_SCAN_MAX	16384
/* User names go into fixed-size protocol packets. */
#define TCPCHK_USER_MAX	255

/* ---- check status codes --------------------------------------------------- */

static const struct {
	const char *name;
	const char *desc;
} check_codes[CHK_CODE_COUNT] = {
	[CHK_UNK]	= { "UNK", "Unknown" },
	[CHK_INI]	= { "INI", "Initializing" },
	[CHK_SOCKERR]	= { "SOCKERR", "Socket error" },
	[CHK_L4OK]	= { "L4OK", "Layer4 check passed" },
	[CHK_L4TOUT]	= { "L4TOUT", "Layer4 timeout" },
	[CHK_L4CON]	= { "L4CON", "Layer4 connection problem" },
	[CHK_L6OK]	= { "L6OK", "Layer6 check passed" },
	[CHK_L6TOUT]	= { "L6TOUT", "Layer6 timeout" },
	[CHK_L6RSP]	= { "L6RSP", "Layer6 invalid response" },
	[CHK_L7TOUT]	= { "L7TOUT", "Layer7 timeout" },
	[CHK_L7RSP]	= { "L7RSP", "Layer7 invalid response" },
	[CHK_L7OK]	= { "L7OK", "Layer7 check passed" },
	[CHK_L7OKC]	= { "L7OKC", "Layer7 check conditionally passed" },
	[CHK_L7STS]	= { "L7STS", "Layer7 wrong status" },
};

const char *check_code_name(enum check_code code)
{
	if ((unsigned)code >= CHK_CODE_COUNT)
		code = CHK_UNK;
	return check_codes[code].name;
}

const char *check_code_desc(enum check_code code)
{
	if ((unsigned)code >= CHK_CODE_COUNT)
		code = CHK_UNK;
	return check_codes[code].desc;
}

int check_code_ok(enum check_code code)
{
	return code == CHK_L4OK || code == CHK_L6OK || code == CHK_L7OK || code == CHK_L7OKC;
}

/* ---- messages ------------------------------------------------------------- */

/* Reasons end up in log lines: no control character may slip through from
 * a server's reply or a pattern written with "\r\n". */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '.';
}

static void set_info(char *info, size_t infosz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_info(char *info, size_t infosz, const char *fmt, ...)
{
	va_list ap;

	if (!info || !infosz)
		return;
	va_start(ap, fmt);
	vsnprintf(info, infosz, fmt, ap);
	va_end(ap);
	sanitize(info);
}

/* Copy n bytes of server text into info, bounded and sanitized. */
static void set_info_bytes(char *info, size_t infosz, const uint8_t *p, size_t n)
{
	if (!info || !infosz)
		return;
	if (n >= infosz)
		n = infosz - 1;
	memcpy(info, p, n);
	info[n] = '\0';
	/* an embedded NUL simply ends the text */
	sanitize(info);
}

static enum tcpcheck_verdict verdict(enum tcpcheck_verdict v, enum check_code c,
				     enum check_code *code)
{
	if (code)
		*code = c;
	return v;
}

/* ---- rule sets ------------------------------------------------------------ */

struct lf_item {
	enum { LF_LIT, LF_BACKEND, LF_SERVER, LF_SRV_IP, LF_SRV_PORT } type;
	size_t off, len;	/* LF_LIT: bytes in lits */
};

/* A compiled send-lf format: one allocation, items then literal bytes. */
struct tcpcheck_lf {
	unsigned nitems;
	char *lits;
	struct lf_item items[];
};

static void regex_free(void *re)
{
	if (!re)
		return;
	regfree(re);
	free(re);
}

static void rule_free(struct tcpcheck_rule *r)
{
	free(r->comment);
	switch (r->act) {
	case TCPCHK_ACT_CONNECT:
		free(r->connect.sni);
		break;
	case TCPCHK_ACT_SEND:
		free(r->send.data);
		free(r->send.lf);
		break;
	case TCPCHK_ACT_EXPECT:
		free(r->expect.pat);
		regex_free(r->expect.re);
		free(r->expect.pat_text);
		break;
	}
	memset(r, 0, sizeof(*r));
}

static struct tcpcheck_ruleset *ruleset_new(enum tcpcheck_kind kind, const struct proxy *owner,
					    const char *file, int line)
{
	struct tcpcheck_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->refcnt = 1;
	rs->kind = kind;
	rs->owner = owner;
	rs->conf_file = file;
	rs->conf_line = line;
	return rs;
}

struct tcpcheck_ruleset *tcpcheck_ruleset_ref(struct tcpcheck_ruleset *rs)
{
	if (rs)
		rs->refcnt++;
	return rs;
}

void tcpcheck_ruleset_unref(struct tcpcheck_ruleset *rs)
{
	unsigned i;

	if (!rs || --rs->refcnt)
		return;
	if (rs->borrowed) {
		tcpcheck_ruleset_unref(rs->borrowed);
	} else {
		for (i = 0; i < rs->nrules; i++)
			rule_free(&rs->rules[i]);
		free(rs->rules);
	}
	free(rs->pending_comment);
	free(rs);
}

/* Takes over what r owns (r is left empty). Returns 0 or -1. */
static int ruleset_append(struct tcpcheck_ruleset *rs, struct tcpcheck_rule *r)
{
	struct tcpcheck_rule *rules;

	rules = realloc(rs->rules, (rs->nrules + 1) * sizeof(*rules));
	if (!rules)
		return -1;
	rs->rules = rules;
	rules[rs->nrules++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

/* The proxy being parsed replaces its rule set with rs. */
static void px_set_ruleset(struct proxy *px, struct tcpcheck_ruleset *rs)
{
	tcpcheck_ruleset_unref(px->tcpcheck);
	px->tcpcheck = rs;
}

/* ---- expect evaluation ---------------------------------------------------- */

/* Scratch for regex subjects: a NUL-terminated copy (rstring) or the hex
 * dump (rbinary) of what was received. Per thread, so no allocation. */
static _Thread_local char scan_buf[2 * TCPCHK_SCAN_MAX + 1];

/* POSIX regexec() needs a C string: bytes after an embedded NUL are not
 * seen, and only the first TCPCHK_SCAN_MAX bytes are looked at. */
static const char *subject_text(const uint8_t *data, size_t len)
{
	if (len > TCPCHK_SCAN_MAX)
		len = TCPCHK_SCAN_MAX;
	memcpy(scan_buf, data, len);
	scan_buf[len] = '\0';
	return scan_buf;
}

/* HAProxy's rbinary matches a regex over the upper-case hex dump. */
static const char *subject_hex(const uint8_t *data, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (len > TCPCHK_SCAN_MAX)
		len = TCPCHK_SCAN_MAX;
	for (i = 0; i < len; i++) {
		scan_buf[2 * i] = hex[data[i] >> 4];
		scan_buf[2 * i + 1] = hex[data[i] & 15];
	}
	scan_buf[2 * len] = '\0';
	return scan_buf;
}

/* Returns 1 with *end just past the first match, 0 for no match. */
static int expect_match(const struct tcpcheck_rule *r, const uint8_t *data, size_t len,
			size_t *end)
{
	regmatch_t m[1];
	const uint8_t *hit;

	switch (r->expect.type) {
	case TCPCHK_EXP_STRING:
	case TCPCHK_EXP_BINARY:
		if (!r->expect.patlen || !len)
			return 0;
		hit = memmem(data, len, r->expect.pat, r->expect.patlen);
		if (!hit)
			return 0;
		*end = (size_t)(hit - data) + r->expect.patlen;
		return 1;
	case TCPCHK_EXP_RSTRING:
		if (!r->expect.re || regexec(r->expect.re, subject_text(data, len), 1, m, 0))
			return 0;
		*end = (size_t)m[0].rm_eo;
		return 1;
	case TCPCHK_EXP_RBINARY:
		if (!r->expect.re || regexec(r->expect.re, subject_hex(data, len), 1, m, 0))
			return 0;
		*end = ((size_t)m[0].rm_eo + 1) / 2;	/* a match may end mid-byte */
		return 1;
	default:
		return 0;
	}
}

static const char *expect_what(const struct tcpcheck_rule *r)
{
	switch (r->expect.type) {
	case TCPCHK_EXP_STRING:		return "content";
	case TCPCHK_EXP_RSTRING:	return "content (regex)";
	case TCPCHK_EXP_BINARY:		return "binary";
	case TCPCHK_EXP_RBINARY:	return "binary (regex)";
	default:			return "reply";
	}
}

static enum tcpcheck_verdict expect_fail(const struct tcpcheck_rule *r, size_t len, int unwanted,
					 unsigned step, enum check_code *code, char *info,
					 size_t infosz)
{
	const char *pat = r->expect.pat_text ? r->expect.pat_text : "";

	if (r->comment)
		set_info(info, infosz, "%s", r->comment);
	else if (unwanted)
		set_info(info, infosz, "TCPCHK matched unwanted %s '%s' at step %u",
			 expect_what(r), pat, step);
	else if (!len)
		set_info(info, infosz, "TCPCHK got an empty response at step %u", step);
	else
		set_info(info, infosz, "TCPCHK did not match %s '%s' at step %u",
			 expect_what(r), pat, step);
	return verdict(TCPCHK_FAIL, r->expect.err_code, code);
}

static enum tcpcheck_verdict expect_custom(const struct tcpcheck_rule *r, const uint8_t *data,
					   size_t len, int last, enum check_code *code,
					   char *info, size_t infosz)
{
	enum check_code c = r->expect.err_code;
	enum tcpcheck_verdict v;

	if (!r->expect.custom) {
		set_info(info, infosz, "no parser for this reply");
		return verdict(TCPCHK_FAIL, c, code);
	}
	v = r->expect.custom(data, len, last, &c, info, infosz);
	if (v == TCPCHK_FAIL && r->comment)
		set_info(info, infosz, "%s", r->comment);
	return verdict(v, c, code);
}

enum tcpcheck_verdict tcpcheck_expect(const struct tcpcheck_rule *r, const uint8_t *data,
				      size_t len, int last, unsigned step,
				      enum check_code *code, char *info, size_t infosz)
{
	int matched, decided;
	size_t end;

	if (info && infosz)
		info[0] = '\0';
	if (r->expect.min_recv && len < r->expect.min_recv && !last)
		return TCPCHK_MORE;
	if (r->expect.type == TCPCHK_EXP_CUSTOM)
		return expect_custom(r, data, len, last, code, info, infosz);
	matched = expect_match(r, data, len, &end);
	decided = last || r->expect.min_recv;
	if (r->expect.inverse) {
		if (matched)
			return expect_fail(r, len, 1, step, code, info, infosz);
		if (!decided)
			return TCPCHK_MORE;
		return verdict(TCPCHK_OK, r->expect.ok_code, code);
	}
	if (matched)
		return verdict(TCPCHK_OK, r->expect.ok_code, code);
	if (!decided)
		return TCPCHK_MORE;
	return expect_fail(r, len, 0, step, code, info, infosz);
}

size_t tcpcheck_expect_consumed(const struct tcpcheck_rule *r, const uint8_t *data, size_t len)
{
	size_t end;

	if (r->act != TCPCHK_ACT_EXPECT || r->expect.inverse ||
	    r->expect.type == TCPCHK_EXP_CUSTOM || !expect_match(r, data, len, &end))
		return len;
	return end < len ? end : len;
}

/* ---- TLS hello reply ------------------------------------------------------ */

/* Any TLS record of type handshake (a ServerHello, or a HelloRetryRequest
 * from a TLS 1.3 server) or alert proves a TLS stack answered. */
static enum tcpcheck_verdict judge_ssl_hello(const uint8_t *d, size_t len, int last,
					     enum check_code *code, char *info, size_t infosz)
{
	if (len < 5) {
		if (!last)
			return TCPCHK_MORE;
		set_info(info, infosz, "short TLS reply (%zu bytes)", len);
		return verdict(TCPCHK_FAIL, CHK_L6RSP, code);
	}
	if ((d[0] != 0x16 && d[0] != 0x15) || d[1] != 0x03) {
		set_info(info, infosz, "not a TLS handshake or alert record");
		return verdict(TCPCHK_FAIL, CHK_L6RSP, code);
	}
	if (d[0] == 0x15)
		set_info(info, infosz, "TLS alert in reply to the hello");
	return verdict(TCPCHK_OK, CHK_L6OK, code);
}

/* ---- MySQL replies -------------------------------------------------------- */

/* One MySQL packet: 3-byte little-endian payload length, sequence id,
 * payload. Returns 1 with the payload when it is complete, else 0. */
static int mysql_packet(const uint8_t *d, size_t len, const uint8_t **payload, size_t *plen)
{
	size_t n;

	if (len < 4)
		return 0;
	n = (size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16;
	if (len - 4 < n)
		return 0;
	*payload = d + 4;
	*plen = n;
	return 1;
}

/* ERR packet: 0xff, error code (2 bytes), ["#" SQL state (5)], message. */
static enum tcpcheck_verdict mysql_error(const uint8_t *p, size_t n, enum check_code *code,
					 char *info, size_t infosz)
{
	size_t off = 3;

	if (n < 3) {
		set_info(info, infosz, "MySQL error packet without a code");
		return verdict(TCPCHK_FAIL, CHK_L7STS, code);
	}
	if (n > 3 && p[3] == '#')
		off = n >= 9 ? 9 : n;
	if (off < n && p[off])
		set_info_bytes(info, infosz, p + off, n - off);
	else
		set_info(info, infosz, "MySQL error %u", (unsigned)(p[1] | p[2] << 8));
	return verdict(TCPCHK_FAIL, CHK_L7STS, code);
}

/* Common start of both MySQL judges: wait for one whole packet. Returns
 * TCPCHK_OK with the payload, or the verdict to give right away. */
static enum tcpcheck_verdict mysql_read(const uint8_t *d, size_t len, int last,
					const uint8_t **p, size_t *n, enum check_code *code,
					char *info, size_t infosz)
{
	if (mysql_packet(d, len, p, n)) {
		if (*n)
			return TCPCHK_OK;
		set_info(info, infosz, "invalid MySQL packet (empty)");
		return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
	}
	if (!last)
		return TCPCHK_MORE;
	set_info(info, infosz, "invalid MySQL packet (incomplete, %zu bytes)", len);
	return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
}

/* The server's greeting: protocol version 10 (or 9 for very old servers),
 * then the NUL-terminated server version; or an ERR packet ("Host is
 * blocked", "Too many connections"). */
static enum tcpcheck_verdict judge_mysql_handshake(const uint8_t *d, size_t len, int last,
						   enum check_code *code, char *info,
						   size_t infosz)
{
	enum tcpcheck_verdict v;
	const uint8_t *p, *nul;
	size_t n;

	v = mysql_read(d, len, last, &p, &n, code, info, infosz);
	if (v != TCPCHK_OK)
		return v;
	if (p[0] == 0xff)
		return mysql_error(p, n, code, info, infosz);
	if (p[0] != 10 && p[0] != 9) {
		set_info(info, infosz, "unexpected MySQL protocol version %u", p[0]);
		return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
	}
	nul = memchr(p + 1, 0, n - 1);
	set_info_bytes(info, infosz, p + 1, nul ? (size_t)(nul - (p + 1)) : n - 1);
	return verdict(TCPCHK_OK, CHK_L7OK, code);
}

/* The answer to the authentication packet: OK (0x00) or ERR (0xff). */
static enum tcpcheck_verdict judge_mysql_ok(const uint8_t *d, size_t len, int last,
					    enum check_code *code, char *info, size_t infosz)
{
	enum tcpcheck_verdict v;
	const uint8_t *p;
	size_t n;

	v = mysql_read(d, len, last, &p, &n, code, info, infosz);
	if (v != TCPCHK_OK)
		return v;
	if (p[0] == 0x00)
		return verdict(TCPCHK_OK, CHK_L7OK, code);
	if (p[0] == 0xff)
		return mysql_error(p, n, code, info, infosz);
	set_info(info, infosz, "unexpected MySQL reply 0x%02x to the authentication", p[0]);
	return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
}

/* ---- PostgreSQL replies --------------------------------------------------- */

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ErrorResponse fields: a type byte and a NUL-terminated string each, the
 * list ending with a 0 byte. Report the 'M' (message) field. */
static enum tcpcheck_verdict pgsql_error(const uint8_t *f, size_t n, enum check_code *code,
					 char *info, size_t infosz)
{
	const uint8_t *end = f + n, *nul;
	size_t flen;
	uint8_t type;

	while (f < end && *f) {
		type = *f++;
		nul = memchr(f, 0, (size_t)(end - f));
		flen = nul ? (size_t)(nul - f) : (size_t)(end - f);
		if (type == 'M' && flen) {
			set_info_bytes(info, infosz, f, flen);
			return verdict(TCPCHK_FAIL, CHK_L7STS, code);
		}
		if (!nul)
			break;
		f = nul + 1;
	}
	set_info(info, infosz, "PostgreSQL error without a message");
	return verdict(TCPCHK_FAIL, CHK_L7STS, code);
}

/* The reply to a StartupMessage: an authentication request ('R': the
 * server knows the user and asks for credentials, or says it is in) or an
 * ErrorResponse ('E'). Lengths count themselves, not the type byte. */
static enum tcpcheck_verdict judge_pgsql(const uint8_t *d, size_t len, int last,
					 enum check_code *code, char *info, size_t infosz)
{
	uint32_t mlen;

	if (len >= 1 && d[0] != 'R' && d[0] != 'E') {
		set_info(info, infosz, "unexpected PostgreSQL reply 0x%02x", d[0]);
		return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
	}
	if (len < 5) {
		if (!last)
			return TCPCHK_MORE;
		set_info(info, infosz, "invalid PostgreSQL reply (incomplete, %zu bytes)", len);
		return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
	}
	mlen = get_be32(d + 1);
	if (mlen < (d[0] == 'R' ? 8u : 4u) || mlen > INT32_MAX) {
		set_info(info, infosz, "invalid PostgreSQL message length %u", mlen);
		return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
	}
	if (len - 1 < mlen) {
		if (!last)
			return TCPCHK_MORE;
		if (d[0] == 'R') {
			set_info(info, infosz, "invalid PostgreSQL reply (incomplete, %zu bytes)", len);
			return verdict(TCPCHK_FAIL, CHK_L7RSP, code);
		}
	}
	if (d[0] == 'E')
		return pgsql_error(d + 5, (len - 1 < mlen ? len - 1 : mlen) - 4, code, info, infosz);
	set_info(info, infosz, "PostgreSQL server is ok");
	return verdict(TCPCHK_OK, CHK_L7OK, code);
}

static const struct {
	const char *name;
	tcpcheck_custom_fn fn;
} custom_fns[] = {
	{ "ssl-hello", judge_ssl_hello },
	{ "mysql-handshake", judge_mysql_handshake },
	{ "mysql-ok", judge_mysql_ok },
	{ "pgsql", judge_pgsql },
};

tcpcheck_custom_fn tcpcheck_custom_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(custom_fns); i++)
		if (!strcmp(custom_fns[i].name, name))
			return custom_fns[i].fn;
	return NULL;
}

/* ---- agent replies -------------------------------------------------------- */

static int is_agent_sep(uint8_t c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static int word_is(const uint8_t *w, size_t n, const char *kw)
{
	return strlen(kw) == n && !strncasecmp((const char *)w, kw, n);
}

/* Digits only, at least one; saturates at cap. Returns 0 or -1. */
static int parse_capped(const uint8_t *p, size_t n, unsigned cap, unsigned *out)
{
	unsigned long long v = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v <= cap)
			v = v * 10 + (p[i] - '0');
	}
	*out = v > cap ? cap : (unsigned)v;
	return 0;
}

/* The state words and the flags they set; a word clears the other flags
 * of its group, so that the last of up/down (and of ready/drain/maint)
 * wins. */
static const struct {
	const char *word;
	unsigned set, group;
} agent_states[] = {
	{ "up", AGENT_R_UP, AGENT_R_UP | AGENT_R_DOWN },
	{ "down", AGENT_R_DOWN, AGENT_R_UP | AGENT_R_DOWN },
	{ "fail", AGENT_R_DOWN, AGENT_R_UP | AGENT_R_DOWN },
	{ "stopped", AGENT_R_DOWN, AGENT_R_UP | AGENT_R_DOWN },
	{ "ready", AGENT_R_READY, AGENT_R_READY | AGENT_R_DRAIN | AGENT_R_MAINT },
	{ "drain", AGENT_R_DRAIN, AGENT_R_READY | AGENT_R_DRAIN | AGENT_R_MAINT },
	{ "maint", AGENT_R_MAINT, AGENT_R_READY | AGENT_R_DRAIN | AGENT_R_MAINT },
};

/* Returns 1 when the word means something to us. */
static int agent_word(struct agent_reply *out, const uint8_t *w, size_t n)
{
	size_t i;

	if (n > 1 && w[n - 1] == '%' && !parse_capped(w, n - 1, 100000, &out->weight_pct)) {
		out->flags |= AGENT_R_WEIGHT;
		return 1;
	}
	if (n > 8 && !strncasecmp((const char *)w, "maxconn:", 8) &&
	    !parse_capped(w + 8, n - 8, UINT_MAX, &out->maxconn)) {
		out->flags |= AGENT_R_MAXCONN;
		return 1;
	}
	for (i = 0; i < CFG_ARRAY_SIZE(agent_states); i++) {
		if (!word_is(w, n, agent_states[i].word))
			continue;
		out->flags = (out->flags & ~agent_states[i].group) | agent_states[i].set;
		if (agent_states[i].set == AGENT_R_DOWN)
			snprintf(out->state_word, sizeof(out->state_word), "%s",
				 agent_states[i].word);
		return 1;
	}
	return 0;
}

static void agent_desc(struct agent_reply *out, const uint8_t *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	set_info_bytes(out->desc, sizeof(out->desc), p, n);
}

enum tcpcheck_verdict agent_parse_reply(const uint8_t *data, size_t len, int last,
					struct agent_reply *out, char *info, size_t infosz)
{
	const uint8_t *nl = memchr(data, '\n', len), *hash, *w;
	size_t n = nl ? (size_t)(nl - data) : len, i, understood = 0, unknown = 0;

	memset(out, 0, sizeof(*out));
	if (info && infosz)
		info[0] = '\0';
	if (!nl && !last)
		return TCPCHK_MORE;
	if (n && data[n - 1] == '\r')
		n--;
	hash = memchr(data, '#', n);
	if (hash) {
		agent_desc(out, hash + 1, n - (size_t)(hash + 1 - data));
		n = (size_t)(hash - data);
	}
	for (i = 0; i < n;) {
		if (is_agent_sep(data[i])) {
			i++;
			continue;
		}
		for (w = data + i; i < n && !is_agent_sep(data[i]); i++)
			;
		if (agent_word(out, w, (size_t)(data + i - w)))
			understood++;
		else
			unknown++;
	}
	if (understood)
		return TCPCHK_OK;
	set_info(info, infosz, "invalid agent reply (%s)",
		 unknown ? "no word understood" : "empty line");
	return TCPCHK_FAIL;
}

/* ---- send-lf -------------------------------------------------------------- */

static void lf_add_lit(struct tcpcheck_lf *lf, size_t *litlen, const char *p, size_t n)
{
	struct lf_item *it = lf->nitems ? &lf->items[lf->nitems - 1] : NULL;

	if (!it || it->type != LF_LIT || it->off + it->len != *litlen) {
		it = &lf->items[lf->nitems++];
		it->type = LF_LIT;
		it->off = *litlen;
		it->len = 0;
	}
	memcpy(lf->lits + *litlen, p, n);
	*litlen += n;
	it->len += n;
}

static int lf_var(const char *name, size_t n)
{
	if (n == 1 && name[0] == 'b')
		return LF_BACKEND;
	if (n == 1 && name[0] == 's')
		return LF_SERVER;
	if (n == 2 && !strncmp(name, "si", 2))
		return LF_SRV_IP;
	if (n == 2 && !strncmp(name, "sp", 2))
		return LF_SRV_PORT;
	return -1;
}

/* Compile a send-lf format. Only what a check can know without a client
 * session is supported: %b, %s, %si, %sp and %%. Returns NULL with a
 * message in err. */
static struct tcpcheck_lf *lf_compile(const char *fmt, char *err, size_t errsz)
{
	size_t len = strlen(fmt), litlen = 0, i, n;
	struct tcpcheck_lf *lf;
	int type;

	lf = malloc(sizeof(*lf) + (len + 1) * sizeof(lf->items[0]) + len + 1);
	if (!lf)
		return errbuf_fail(err, errsz, "out of memory"), NULL;
	lf->nitems = 0;
	lf->lits = (char *)&lf->items[len + 1];
	for (i = 0; i < len;) {
		if (fmt[i] != '%' || fmt[i + 1] == '%') {
			lf_add_lit(lf, &litlen, fmt + i, 1);
			i += fmt[i] == '%' ? 2 : 1;
			continue;
		}
		for (n = 0; isalpha((unsigned char)fmt[i + 1 + n]); n++)
			;
		type = lf_var(fmt + i + 1, n);
		if (type < 0) {
			errbuf_fail(err, errsz, "'%%%.*s' is not supported in send-lf yet (sluice knows %%b, %%s, %%si, %%sp and %%%%)",
				    (int)(n ? n : (fmt[i + 1] ? 1 : 0)), fmt + i + 1);
			free(lf);
			return NULL;
		}
		lf->items[lf->nitems].type = type;
		lf->items[lf->nitems++].len = 0;
		i += 1 + n;
	}
	return lf;
}

/* The address a check reaches by default: "addr"/"port" when set. */
static void lf_server_addr(const struct server *s, char *buf, size_t sz, int want_port)
{
	const struct sockaddr_storage *ss = s->chk.addr.ss_family ? &s->chk.addr : &s->addr;

	if (!want_port)
		addr_ip_str(ss, buf, sz);
	else
		snprintf(buf, sz, "%d", s->chk.port ? (int)s->chk.port : addr_port(&s->addr));
}

long tcpcheck_send_lf(const struct tcpcheck_rule *r, const struct server *s,
		      char *out, size_t outsz)
{
	const struct tcpcheck_lf *lf = r->send.lf;
	const struct lf_item *it;
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *p;
	size_t used = 0, n;
	unsigned i;

	for (i = 0; lf && i < lf->nitems; i++) {
		it = &lf->items[i];
		p = tmp;
		if (it->type == LF_LIT)
			p = lf->lits + it->off;
		else if (it->type == LF_BACKEND)
			p = s->px && s->px->name ? s->px->name : "-";
		else if (it->type == LF_SERVER)
			p = s->name ? s->name : "-";
		else
			lf_server_addr(s, tmp, sizeof(tmp), it->type == LF_SRV_PORT);
		n = it->type == LF_LIT ? it->len : strlen(p);
		if (n > outsz - used)
			return -1;
		memcpy(out + used, p, n);
		used += n;
	}
	if (used < outsz)
		out[used] = '\0';
	return (long)used;
}

/* ---- built-in requests ---------------------------------------------------- */

/* A small byte writer for the packets the built-in checks send. */
struct wbuf {
	uint8_t b[512];
	size_t n;
	int overflow;
};

static void w_mem(struct wbuf *w, const void *p, size_t n)
{
	if (n > sizeof(w->b) - w->n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_u8(struct wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	w_mem(w, &b, 1);
}

static void w_be16(struct wbuf *w, unsigned v)
{
	w_u8(w, v >> 8);
	w_u8(w, v);
}

static void w_le(struct wbuf *w, uint32_t v, int bytes)
{
	while (bytes--) {
		w_u8(w, v & 0xff);
		v >>= 8;
	}
}

/* Write a big-endian length of `bytes` bytes at offset at. */
static void w_patch_be(struct wbuf *w, size_t at, size_t v, int bytes)
{
	while (bytes--) {
		if (at + bytes < w->n)
			w->b[at + bytes] = (uint8_t)v;
		v >>= 8;
	}
}

static void w_patch_le24(struct wbuf *w, size_t at, size_t v)
{
	if (at + 3 <= w->n) {
		w->b[at] = (uint8_t)v;
		w->b[at + 1] = (uint8_t)(v >> 8);
		w->b[at + 2] = (uint8_t)(v >> 16);
	}
}

static void hello_extensions(struct wbuf *w)
{
	static const unsigned versions[] = { 0x0304, 0x0303 };
	static const unsigned groups[] = { 0x001d /* x25519 */, 0x0017 /* secp256r1 */ };
	static const unsigned sigalgs[] = { 0x0804, 0x0403, 0x0401 };
	size_t i;

	w_be16(w, 0x002b);		/* supported_versions */
	w_be16(w, 1 + 2 * CFG_ARRAY_SIZE(versions));
	w_u8(w, 2 * CFG_ARRAY_SIZE(versions));
	for (i = 0; i < CFG_ARRAY_SIZE(versions); i++)
		w_be16(w, versions[i]);
	w_be16(w, 0x000a);		/* supported_groups */
	w_be16(w, 2 + 2 * CFG_ARRAY_SIZE(groups));
	w_be16(w, 2 * CFG_ARRAY_SIZE(groups));
	for (i = 0; i < CFG_ARRAY_SIZE(groups); i++)
		w_be16(w, groups[i]);
	w_be16(w, 0x000d);		/* signature_algorithms */
	w_be16(w, 2 + 2 * CFG_ARRAY_SIZE(sigalgs));
	w_be16(w, 2 * CFG_ARRAY_SIZE(sigalgs));
	for (i = 0; i < CFG_ARRAY_SIZE(sigalgs); i++)
		w_be16(w, sigalgs[i]);
	/* key_share with no share: TLS 1.3 asks for supported_groups to come
	 * with it; a TLS 1.3 server answers a HelloRetryRequest */
	w_be16(w, 0x0033);
	w_be16(w, 2);
	w_be16(w, 0);
}

/* A ClientHello that any TLS 1.0-1.3 server answers with a handshake
 * record (ServerHello or HelloRetryRequest) or an alert. */
static void build_client_hello(struct wbuf *w)
{
	static const unsigned suites[] = {
		0x1301, 0x1302, 0x1303, 0xc02f, 0xc02b, 0xc030, 0xc02c, 0x009c,
	};
	static const char random[32] = "sluice-health-check-hello-random";
	size_t rec, hs, ext, i;

	w_u8(w, 0x16);			/* record: handshake */
	w_be16(w, 0x0301);		/* record version, as clients send it */
	rec = w->n;
	w_be16(w, 0);
	hs = w->n;
	w_u8(w, 0x01);			/* ClientHello */
	w_mem(w, "\0\0\0", 3);
	w_be16(w, 0x0303);		/* legacy_version: TLS 1.2 */
	w_mem(w, random, sizeof(random));
	w_u8(w, 0);			/* no session id */
	w_be16(w, 2 * CFG_ARRAY_SIZE(suites));
	for (i = 0; i < CFG_ARRAY_SIZE(suites); i++)
		w_be16(w, suites[i]);
	w_u8(w, 1);			/* compression methods: null */
	w_u8(w, 0);
	ext = w->n;
	w_be16(w, 0);
	hello_extensions(w);
	w_patch_be(w, ext, w->n - ext - 2, 2);
	w_patch_be(w, hs + 1, w->n - hs - 4, 3);
	w_patch_be(w, rec, w->n - hs, 2);
}

#define MYSQL_CLIENT_LONG_PASSWORD	0x0001
#define MYSQL_CLIENT_PROTOCOL_41	0x0200
#define MYSQL_CLIENT_SECURE_CONN	0x8000

/* Handshake response (sequence 1) with an empty password, then COM_QUIT
 * so the server closes cleanly instead of counting an aborted client. */
static void build_mysql_auth(struct wbuf *w, const char *user, int pre41)
{
	size_t start = w->n;

	w_mem(w, "\0\0\0\x01", 4);
	if (pre41) {
		w_le(w, MYSQL_CLIENT_LONG_PASSWORD, 2);
		w_le(w, 0x010000, 3);		/* max packet size */
		w_mem(w, user, strlen(user) + 1);
	} else {
		w_le(w, MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_PROTOCOL_41 |
		     MYSQL_CLIENT_SECURE_CONN, 4);
		w_le(w, 0x01000000, 4);		/* max packet size */
		w_u8(w, 8);			/* character set: latin1 */
		while (w->n < start + 4 + 32)	/* reserved */
			w_u8(w, 0);
		w_mem(w, user, strlen(user) + 1);
		w_u8(w, 0);			/* auth response: empty */
	}
	w_patch_le24(w, start, w->n - start - 4);
	w_mem(w, "\x01\0\0\0\x01", 5);		/* COM_QUIT, sequence 0 */
}

/* StartupMessage, protocol 3.0, with only the user: the server uses the
 * database of the same name. */
static void build_pgsql_startup(struct wbuf *w, const char *user)
{
	w_mem(w, "\0\0\0\0", 4);
	w_be16(w, 3);
	w_be16(w, 0);
	w_mem(w, "user", 5);
	w_mem(w, user, strlen(user) + 1);
	w_u8(w, 0);
	w_patch_be(w, 0, w->n, 4);
}

/* ---- building rules ------------------------------------------------------- */

static void *dup_mem(const void *p, size_t n)
{
	void *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

static int add_send(struct tcpcheck_ruleset *rs, int line, const void *p, size_t n)
{
	struct tcpcheck_rule r = { .act = TCPCHK_ACT_SEND, .conf_line = line };

	r.send.data = dup_mem(p, n);
	r.send.len = n;
	if (!r.send.data || ruleset_append(rs, &r) < 0) {
		rule_free(&r);
		return -1;
	}
	return 0;
}

static void expect_defaults(struct tcpcheck_rule *r, int line)
{
	memset(r, 0, sizeof(*r));
	r->act = TCPCHK_ACT_EXPECT;
	r->conf_line = line;
	r->expect.err_code = CHK_L7RSP;
	r->expect.tout_code = CHK_L7TOUT;
	r->expect.ok_code = CHK_L7OK;
}

static int add_expect_custom(struct tcpcheck_ruleset *rs, int line, const char *name,
			     enum check_code err, enum check_code tout, enum check_code ok)
{
	struct tcpcheck_rule r;

	expect_defaults(&r, line);
	r.expect.type = TCPCHK_EXP_CUSTOM;
	r.expect.custom = tcpcheck_custom_by_name(name);
	r.expect.err_code = err;
	r.expect.tout_code = tout;
	r.expect.ok_code = ok;
	r.expect.pat_text = strdup(name);
	if (!r.expect.pat_text || ruleset_append(rs, &r) < 0) {
		rule_free(&r);
		return -1;
	}
	return 0;
}

/* Redis answers an error status ("-LOADING ...") rather than garbage:
 * a mismatch is a wrong status, L7STS. No comment, so that a failure
 * says what was expected and a timeout is not described as a mismatch. */
static int add_expect_status_string(struct tcpcheck_ruleset *rs, int line, const char *s)
{
	struct tcpcheck_rule r;

	expect_defaults(&r, line);
	r.expect.type = TCPCHK_EXP_STRING;
	r.expect.err_code = CHK_L7STS;
	r.expect.patlen = strlen(s);
	r.expect.pat = dup_mem(s, r.expect.patlen);
	r.expect.pat_text = strdup(s);
	if (!r.expect.pat || !r.expect.pat_text || ruleset_append(rs, &r) < 0) {
		rule_free(&r);
		return -1;
	}
	return 0;
}

/* ---- keywords: the built-in check options --------------------------------- */

static const char *kind_option(const struct tcpcheck_ruleset *rs)
{
	switch (rs->kind) {
	case TCPCHK_KIND_SSL_HELLO:	return "option ssl-hello-chk";
	case TCPCHK_KIND_REDIS:		return "option redis-check";
	case TCPCHK_KIND_MYSQL:		return "option mysql-check";
	case TCPCHK_KIND_PGSQL:		return "option pgsql-check";
	default:			return "option tcp-check";
	}
}

/* The last check option wins, as in HAProxy; say so when both were
 * written in the same section, which is likely an oversight. */
static void warn_replaced(struct cfg_ctx *ctx, const char *kw)
{
	const struct tcpcheck_ruleset *cur = ctx->px->tcpcheck;

	if (!cur || cur->owner != ctx->px)
		return;
	if (cur->kind == TCPCHK_KIND_TCP && !cur->has_option)
		cfg_warn(ctx, "'%s' discards the 'tcp-check' rules written above (they need 'option tcp-check')",
			 kw);
	else if (cur->kind == TCPCHK_KIND_TCP && cur->nrules)
		cfg_warn(ctx, "'%s' replaces 'option tcp-check' and its rules written above (the last check option wins)",
			 kw);
	else
		cfg_warn(ctx, "'%s' replaces '%s' written at line %d (the last check option wins)",
			 kw, kind_option(cur), cur->conf_line);
}

static struct tcpcheck_ruleset *new_builtin(struct cfg_ctx *ctx, enum tcpcheck_kind kind,
					    const char *kw)
{
	struct tcpcheck_ruleset *rs;

	warn_replaced(ctx, kw);
	rs = ruleset_new(kind, ctx->px, ctx->file, ctx->line);
	if (!rs)
		cfg_err(ctx, "out of memory");
	return rs;
}

/* "no option X" drops the rule set only when X built it. */
static int negate_option(struct cfg_ctx *ctx, enum tcpcheck_kind kind)
{
	if (ctx->px->tcpcheck && ctx->px->tcpcheck->kind == kind)
		px_set_ruleset(ctx->px, NULL);
	return 0;
}

static int no_args(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc > 2)
		return cfg_err(ctx, "'%s %s' takes no argument, got '%s'", args[0], args[1], args[2]);
	return 0;
}

static int finish_builtin(struct cfg_ctx *ctx, struct tcpcheck_ruleset *rs, int failed)
{
	if (failed) {
		tcpcheck_ruleset_unref(rs);
		return cfg_err(ctx, "out of memory");
	}
	px_set_ruleset(ctx->px, rs);
	return 0;
}

static int kw_option_ssl_hello(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_ruleset *rs;
	struct wbuf w = { .n = 0 };
	int failed;

	if (ctx->negate)
		return negate_option(ctx, TCPCHK_KIND_SSL_HELLO);
	if (no_args(ctx, argc, args) < 0)
		return -1;
	rs = new_builtin(ctx, TCPCHK_KIND_SSL_HELLO, "option ssl-hello-chk");
	if (!rs)
		return -1;
	build_client_hello(&w);
	failed = w.overflow || add_send(rs, ctx->line, w.b, w.n) < 0 ||
		 add_expect_custom(rs, ctx->line, "ssl-hello", CHK_L6RSP, CHK_L6TOUT, CHK_L6OK) < 0;
	return finish_builtin(ctx, rs, failed);
}

static int kw_option_redis(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_ruleset *rs;
	int failed;

	if (ctx->negate)
		return negate_option(ctx, TCPCHK_KIND_REDIS);
	if (no_args(ctx, argc, args) < 0)
		return -1;
	rs = new_builtin(ctx, TCPCHK_KIND_REDIS, "option redis-check");
	if (!rs)
		return -1;
	failed = add_send(rs, ctx->line, "PING\r\n", 6) < 0 ||
		 add_expect_status_string(rs, ctx->line, "+PONG") < 0;
	return finish_builtin(ctx, rs, failed);
}

static int check_user(struct cfg_ctx *ctx, const char *kw, const char *user)
{
	if (!*user)
		return cfg_err(ctx, "'%s': the user name is empty", kw);
	if (strlen(user) > TCPCHK_USER_MAX)
		return cfg_err(ctx, "'%s': the user name is longer than %d characters",
			       kw, TCPCHK_USER_MAX);
	return 0;
}

/* "option mysql-check [user U [post-41|pre-41]]"; post-41 is the default,
 * as documented by HAProxy. Returns 0/1 for pre41 or -1. */
static int mysql_args(struct cfg_ctx *ctx, int argc, char **args)
{
	const char *kw = "option mysql-check";

	if (argc == 2)
		return 0;
	if (strcmp(args[2], "user"))
		return cfg_err(ctx, "'%s': unexpected '%s' (expects '%s [user NAME [post-41|pre-41]]')",
			       kw, args[2], kw);
	if (argc < 4)
		return cfg_err(ctx, "'%s user' expects a user name", kw);
	if (check_user(ctx, kw, args[3]) < 0)
		return -1;
	if (argc == 4 || !strcmp(args[4], "post-41"))
		return argc > 5 ? cfg_err(ctx, "'%s': unexpected '%s'", kw, args[5]) : 0;
	if (!strcmp(args[4], "pre-41"))
		return argc > 5 ? cfg_err(ctx, "'%s': unexpected '%s'", kw, args[5]) : 1;
	if (!strcmp(args[4], "post-80"))
		return cfg_err(ctx, "'%s ... post-80' is not implemented by sluice (use post-41 or pre-41)",
			       kw);
	return cfg_err(ctx, "'%s': expects 'post-41' or 'pre-41' after the user name, got '%s'",
		       kw, args[4]);
}

static int kw_option_mysql(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_ruleset *rs;
	struct wbuf w = { .n = 0 };
	int pre41, failed;

	if (ctx->negate)
		return negate_option(ctx, TCPCHK_KIND_MYSQL);
	pre41 = mysql_args(ctx, argc, args);
	if (pre41 < 0)
		return -1;
	rs = new_builtin(ctx, TCPCHK_KIND_MYSQL, "option mysql-check");
	if (!rs)
		return -1;
	failed = add_expect_custom(rs, ctx->line, "mysql-handshake", CHK_L7RSP, CHK_L7TOUT,
				   CHK_L7OK) < 0;
	if (!failed && argc > 2) {
		build_mysql_auth(&w, args[3], pre41);
		failed = w.overflow || add_send(rs, ctx->line, w.b, w.n) < 0 ||
			 add_expect_custom(rs, ctx->line, "mysql-ok", CHK_L7RSP, CHK_L7TOUT,
					   CHK_L7OK) < 0;
	}
	return finish_builtin(ctx, rs, failed);
}

static int kw_option_pgsql(struct cfg_ctx *ctx, int argc, char **args)
{
	const char *kw = "option pgsql-check";
	struct tcpcheck_ruleset *rs;
	struct wbuf w = { .n = 0 };
	int failed;

	if (ctx->negate)
		return negate_option(ctx, TCPCHK_KIND_PGSQL);
	if (argc < 4 || strcmp(args[2], "user"))
		return cfg_err(ctx, "'%s' expects 'user NAME' (the PostgreSQL role the check logs in as)",
			       kw);
	if (argc > 4)
		return cfg_err(ctx, "'%s': unexpected '%s' after the user name", kw, args[4]);
	if (check_user(ctx, kw, args[3]) < 0)
		return -1;
	rs = new_builtin(ctx, TCPCHK_KIND_PGSQL, kw);
	if (!rs)
		return -1;
	build_pgsql_startup(&w, args[3]);
	failed = w.overflow || add_send(rs, ctx->line, w.b, w.n) < 0 ||
		 add_expect_custom(rs, ctx->line, "pgsql", CHK_L7RSP, CHK_L7TOUT, CHK_L7OK) < 0;
	return finish_builtin(ctx, rs, failed);
}

/* "option tcp-check": keeps the rules this section already wrote, and
 * uses inherited rules that were written without the option. */
static int kw_option_tcp_check(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_ruleset *cur = ctx->px->tcpcheck, *rs;

	if (ctx->negate)
		return negate_option(ctx, TCPCHK_KIND_TCP);
	if (no_args(ctx, argc, args) < 0)
		return -1;
	if (cur && cur->kind == TCPCHK_KIND_TCP) {
		if (cur->has_option)
			return 0;
		if (cur->owner == ctx->px) {
			cur->has_option = 1;
			cur->conf_file = ctx->file;
			cur->conf_line = ctx->line;
			return 0;
		}
	}
	rs = new_builtin(ctx, TCPCHK_KIND_TCP, "option tcp-check");
	if (!rs)
		return -1;
	rs->has_option = 1;
	if (cur && cur->kind == TCPCHK_KIND_TCP) {
		/* share the inherited rules rather than copying them */
		rs->borrowed = tcpcheck_ruleset_ref(cur->borrowed ? cur->borrowed : cur);
		rs->rules = rs->borrowed->rules;
		rs->nrules = rs->borrowed->nrules;
		rs->rules_file = cur->rules_file;
		rs->rules_line = cur->rules_line;
	}
	px_set_ruleset(ctx->px, rs);
	return 0;
}

/* ---- keywords: tcp-check rules -------------------------------------------- */

/* The rule set "tcp-check" lines of this section go to: a section that
 * writes rules owns them and does not inherit those of its defaults (only
 * whether "option tcp-check" applies is inherited). */
static struct tcpcheck_ruleset *own_tcp_rules(struct cfg_ctx *ctx)
{
	struct tcpcheck_ruleset *cur = ctx->px->tcpcheck, *rs;
	int carry = cur && cur->kind == TCPCHK_KIND_TCP && cur->has_option;

	if (cur && cur->owner == ctx->px && cur->kind == TCPCHK_KIND_TCP && !cur->borrowed)
		return cur;
	if (cur && cur->owner == ctx->px && cur->kind != TCPCHK_KIND_TCP)
		cfg_warn(ctx, "'tcp-check' rules replace '%s' written at line %d (they also need 'option tcp-check')",
			 kind_option(cur), cur->conf_line);
	rs = ruleset_new(TCPCHK_KIND_TCP, ctx->px, carry ? cur->conf_file : ctx->file,
			 carry ? cur->conf_line : ctx->line);
	if (!rs) {
		cfg_err(ctx, "out of memory");
		return NULL;
	}
	rs->has_option = carry;
	px_set_ruleset(ctx->px, rs);
	return rs;
}

/* Words common to every rule. Returns 2 when "comment TEXT" was taken,
 * 0 when the word is not "comment", -1 after an error. */
static int rule_comment(struct cfg_ctx *ctx, const char *act, struct tcpcheck_rule *r,
			int argc, char **args, int i)
{
	if (strcmp(args[i], "comment"))
		return 0;
	if (i + 1 >= argc)
		return cfg_err(ctx, "'tcp-check %s': 'comment' expects a text", act);
	free(r->comment);
	r->comment = strdup(args[i + 1]);
	if (!r->comment)
		return cfg_err(ctx, "out of memory");
	return 2;
}

static int parse_port(struct cfg_ctx *ctx, const char *s, unsigned *port)
{
	unsigned long v;

	if (!s || cfg_parse_uint(s, 1, 65535, &v) < 0)
		return cfg_err(ctx, "'tcp-check connect': 'port' expects a port number 1-65535, got '%s'",
			       s ? s : "");
	*port = (unsigned)v;
	return 0;
}

static int not_implemented(struct cfg_ctx *ctx, const char *what)
{
	return cfg_err(ctx, "'%s' is not implemented by sluice", what);
}

/* The flags of "tcp-check connect". Returns 1 when w is one of them. */
static int connect_flag(struct tcpcheck_rule *r, const char *w)
{
	if (!strcmp(w, "ssl"))
		r->connect.ssl = 1;
	else if (!strcmp(w, "send-proxy"))
		r->connect.send_proxy = 1;
	else if (!strcmp(w, "linger"))
		r->connect.linger = 1;
	else
		return 0;
	return 1;
}

/* One option word of "tcp-check connect". Returns the words used or -1. */
static int connect_word(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args,
			int i)
{
	static const char *const unsupported[] = { "default", "addr", "alpn", "proto", "via-socks4" };
	const char *w = args[i];
	char what[64];
	size_t k;
	int n;

	if ((n = rule_comment(ctx, "connect", r, argc, args, i)) != 0)
		return n;
	if (!strcmp(w, "port"))
		return parse_port(ctx, args[i + 1], &r->connect.port) < 0 ? -1 : 2;
	if (connect_flag(r, w))
		return 1;
	if (!strcmp(w, "sni")) {
		if (i + 1 >= argc)
			return cfg_err(ctx, "'tcp-check connect': 'sni' expects a host name");
		free(r->connect.sni);
		r->connect.sni = strdup(args[i + 1]);
		return r->connect.sni ? 2 : cfg_err(ctx, "out of memory");
	}
	for (k = 0; k < CFG_ARRAY_SIZE(unsupported); k++) {
		if (strcmp(w, unsupported[k]))
			continue;
		snprintf(what, sizeof(what), "tcp-check connect %s", w);
		return not_implemented(ctx, what);
	}
	return cfg_err(ctx, "'tcp-check connect': unknown option '%s' (expects port N, ssl, sni NAME, send-proxy, linger or comment TEXT)",
		       w);
}

static int parse_connect(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args)
{
	int i, n;

	r->act = TCPCHK_ACT_CONNECT;
	for (i = 2; i < argc; i += n) {
		n = connect_word(ctx, r, argc, args, i);
		if (n < 0)
			return -1;
	}
	return 0;
}

/* Returns a malloc'd byte string, or NULL after an error. */
static uint8_t *parse_hex(struct cfg_ctx *ctx, const char *kw, const char *hex, size_t *len)
{
	size_t n = strlen(hex), bad = 0;
	uint8_t *out;

	if (!n || n % 2)
		return cfg_err(ctx, "'%s' expects an even number of hex digits, got '%s'", kw, hex),
		       NULL;
	out = malloc(n / 2);
	if (!out)
		return cfg_err(ctx, "out of memory"), NULL;
	if (cfg_hex_decode(hex, out, n / 2, &bad) < 0) {
		free(out);
		cfg_err(ctx, "'%s': '%c' is not a hex digit in '%s'", kw, hex[bad], hex);
		return NULL;
	}
	*len = n / 2;
	return out;
}

/* "tcp-check send|send-binary|send-lf DATA [comment TEXT]" */
static int parse_send(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args)
{
	char kw[32], err[256];
	const char *act = args[1];
	int n;

	snprintf(kw, sizeof(kw), "tcp-check %s", act);
	r->act = TCPCHK_ACT_SEND;
	if (argc < 3 || (!strcmp(act, "send") && !*args[2]))
		return cfg_err(ctx, "'%s' expects the data to send", kw);
	n = argc > 3 ? rule_comment(ctx, act, r, argc, args, 3) : 2;
	if (n < 0)
		return -1;
	if (!n)
		return cfg_err(ctx, "'%s': unexpected '%s' after the data (quote data that holds spaces)",
			       kw, args[3]);
	if (argc > 5)
		return cfg_err(ctx, "'%s': unexpected '%s'", kw, args[5]);
	if (!strcmp(act, "send-binary")) {
		r->send.data = parse_hex(ctx, kw, args[2], &r->send.len);
		return r->send.data ? 0 : -1;
	}
	if (!strcmp(act, "send-lf")) {
		r->send.lf = lf_compile(args[2], err, sizeof(err));
		return r->send.lf ? 0 : cfg_err(ctx, "'%s': %s", kw, err);
	}
	r->send.len = strlen(args[2]);
	r->send.data = dup_mem(args[2], r->send.len);
	return r->send.data ? 0 : cfg_err(ctx, "out of memory");
}

static const struct {
	const char *name;
	enum check_code code;
	const char *opt;	/* the status option that accepts it */
} status_names[] = {
	{ "L7OK", CHK_L7OK, "ok-status" }, { "L7OKC", CHK_L7OKC, "ok-status" },
	{ "L6OK", CHK_L6OK, "ok-status" }, { "L4OK", CHK_L4OK, "ok-status" },
	{ "L7RSP", CHK_L7RSP, "error-status" }, { "L7STS", CHK_L7STS, "error-status" },
	{ "L6RSP", CHK_L6RSP, "error-status" }, { "L4CON", CHK_L4CON, "error-status" },
	{ "L7TOUT", CHK_L7TOUT, "tout-status" }, { "L6TOUT", CHK_L6TOUT, "tout-status" },
	{ "L4TOUT", CHK_L4TOUT, "tout-status" },
};

static int parse_status(struct cfg_ctx *ctx, const char *opt, const char *name,
			enum check_code *code)
{
	size_t i;

	for (i = 0; name && i < CFG_ARRAY_SIZE(status_names); i++) {
		if (strcmp(status_names[i].opt, opt) || strcmp(status_names[i].name, name))
			continue;
		*code = status_names[i].code;
		return 0;
	}
	if (!strcmp(opt, "ok-status"))
		return cfg_err(ctx, "'tcp-check expect': 'ok-status' expects L7OK, L7OKC, L6OK or L4OK, got '%s'",
			       name ? name : "");
	if (!strcmp(opt, "error-status"))
		return cfg_err(ctx, "'tcp-check expect': 'error-status' expects L7RSP, L7STS, L6RSP or L4CON, got '%s'",
			       name ? name : "");
	return cfg_err(ctx, "'tcp-check expect': 'tout-status' expects L7TOUT, L6TOUT or L4TOUT, got '%s'",
		       name ? name : "");
}

static int expect_type(const char *w)
{
	if (!strcmp(w, "string"))
		return TCPCHK_EXP_STRING;
	if (!strcmp(w, "rstring"))
		return TCPCHK_EXP_RSTRING;
	if (!strcmp(w, "binary"))
		return TCPCHK_EXP_BINARY;
	if (!strcmp(w, "rbinary"))
		return TCPCHK_EXP_RBINARY;
	return -1;
}

/* Options of "tcp-check expect" that need a value. Returns the words used,
 * 0 when w is not one of them, -1 after an error. */
static int expect_option(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args,
			 int i)
{
	static const char *const unsupported[] = { "on-success", "on-error", "status-code" };
	const char *w = args[i], *v = i + 1 < argc ? args[i + 1] : NULL;
	unsigned long n;
	char what[64];
	size_t k;

	if (!strcmp(w, "min-recv")) {
		if (!v || cfg_parse_uint(v, 0, 1UL << 30, &n) < 0)
			return cfg_err(ctx, "'tcp-check expect': 'min-recv' expects a number of bytes, got '%s'",
				       v ? v : "");
		r->expect.min_recv = (unsigned)n;
		return 2;
	}
	if (!strcmp(w, "ok-status"))
		return parse_status(ctx, w, v, &r->expect.ok_code) < 0 ? -1 : 2;
	if (!strcmp(w, "error-status"))
		return parse_status(ctx, w, v, &r->expect.err_code) < 0 ? -1 : 2;
	if (!strcmp(w, "tout-status"))
		return parse_status(ctx, w, v, &r->expect.tout_code) < 0 ? -1 : 2;
	for (k = 0; k < CFG_ARRAY_SIZE(unsupported); k++) {
		if (strcmp(w, unsupported[k]))
			continue;
		snprintf(what, sizeof(what), "tcp-check expect %s", w);
		return not_implemented(ctx, what);
	}
	return rule_comment(ctx, "expect", r, argc, args, i);
}

/* The match type and its pattern ("!" may come first). Returns the words
 * used, 0 when w starts no match, -1 after an error. */
static int expect_match_words(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc,
			      char **args, int i, int *have_type)
{
	const char *w = args[i];
	int type = expect_type(w);

	if (!strcmp(w, "!") || type >= 0 || !strcmp(w, "string-lf") || !strcmp(w, "binary-lf")) {
		if (*have_type)
			return cfg_err(ctx, "'tcp-check expect': only one match per rule, got '%s' after the pattern",
				       w);
	}
	if (!strcmp(w, "!")) {
		r->expect.inverse = 1;
		return 1;
	}
	if (!strcmp(w, "string-lf") || !strcmp(w, "binary-lf"))
		return cfg_err(ctx, "'tcp-check expect %s' is not implemented by sluice", w);
	if (type < 0)
		return 0;
	if (i + 1 >= argc)
		return cfg_err(ctx, "'tcp-check expect %s' expects a pattern", w);
	r->expect.type = type;
	r->expect.pat_text = strdup(args[i + 1]);
	if (!r->expect.pat_text)
		return cfg_err(ctx, "out of memory");
	*have_type = 1;
	return 2;
}

static int compile_regex(struct cfg_ctx *ctx, struct tcpcheck_rule *r, const char *type)
{
	char msg[256];
	regex_t *re = malloc(sizeof(*re));
	int rc;

	if (!re)
		return cfg_err(ctx, "out of memory");
	rc = regcomp(re, r->expect.pat_text, REG_EXTENDED);
	if (rc) {
		regerror(rc, re, msg, sizeof(msg));
		free(re);
		return cfg_err(ctx, "'tcp-check expect %s': invalid regex '%s': %s", type,
			       r->expect.pat_text, msg);
	}
	r->expect.re = re;
	return 0;
}

static int compile_pattern(struct cfg_ctx *ctx, struct tcpcheck_rule *r)
{
	const char *pat = r->expect.pat_text;

	switch (r->expect.type) {
	case TCPCHK_EXP_STRING:
		if (!*pat)
			return cfg_err(ctx, "'tcp-check expect string' expects a non-empty pattern");
		r->expect.patlen = strlen(pat);
		r->expect.pat = dup_mem(pat, r->expect.patlen);
		return r->expect.pat ? 0 : cfg_err(ctx, "out of memory");
	case TCPCHK_EXP_BINARY:
		r->expect.pat = parse_hex(ctx, "tcp-check expect binary", pat, &r->expect.patlen);
		return r->expect.pat ? 0 : -1;
	case TCPCHK_EXP_RSTRING:
		return compile_regex(ctx, r, "rstring");
	case TCPCHK_EXP_RBINARY:
		return compile_regex(ctx, r, "rbinary");
	default:
		return -1;
	}
}

/* "tcp-check expect [min-recv N] [status and comment options] [!] TYPE
 * PATTERN [status and comment options]" */
static int parse_expect(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args)
{
	int i, n, have_type = 0;

	expect_defaults(r, ctx->line);
	for (i = 2; i < argc; i += n) {
		n = expect_option(ctx, r, argc, args, i);
		if (!n)
			n = expect_match_words(ctx, r, argc, args, i, &have_type);
		if (n < 0)
			return -1;
		if (!n && have_type)
			return cfg_err(ctx, "'tcp-check expect': unexpected '%s' after the pattern",
				       args[i]);
		if (!n)
			return cfg_err(ctx, "'tcp-check expect': unknown match type or option '%s' (expects [min-recv N] [!] string|rstring|binary|rbinary PATTERN)",
				       args[i]);
	}
	if (!have_type)
		return cfg_err(ctx, "'tcp-check expect' expects a match type and a pattern, as in 'tcp-check expect string +OK'");
	return compile_pattern(ctx, r);
}

static int tcp_check_comment(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_ruleset *rs;
	char *text;

	if (argc != 3)
		return cfg_err(ctx, "'tcp-check comment' expects one text (quote it when it holds spaces)");
	rs = own_tcp_rules(ctx);
	if (!rs)
		return -1;
	text = strdup(args[2]);
	if (!text)
		return cfg_err(ctx, "out of memory");
	free(rs->pending_comment);
	rs->pending_comment = text;
	if (!rs->rules_file) {
		rs->rules_file = ctx->file;
		rs->rules_line = ctx->line;
	}
	return 0;
}

static int parse_rule(struct cfg_ctx *ctx, struct tcpcheck_rule *r, int argc, char **args)
{
	const char *act = args[1];
	char what[64];

	if (!strcmp(act, "connect"))
		return parse_connect(ctx, r, argc, args);
	if (!strcmp(act, "send") || !strcmp(act, "send-binary") || !strcmp(act, "send-lf"))
		return parse_send(ctx, r, argc, args);
	if (!strcmp(act, "expect"))
		return parse_expect(ctx, r, argc, args);
	snprintf(what, sizeof(what), "tcp-check %.40s", act);
	return cfg_err(ctx, "'%s' is not implemented by sluice (tcp-check knows connect, send, send-binary, send-lf, expect and comment)",
		       what);
}

static int kw_tcp_check(struct cfg_ctx *ctx, int argc, char **args)
{
	struct tcpcheck_rule r = { .act = TCPCHK_ACT_CONNECT };
	struct tcpcheck_ruleset *rs;

	if (argc < 2)
		return cfg_err(ctx, "'tcp-check' expects an action: connect, send, send-binary, send-lf, expect or comment");
	if (!strcmp(args[1], "comment"))
		return tcp_check_comment(ctx, argc, args);
	if (parse_rule(ctx, &r, argc, args) < 0) {
		rule_free(&r);
		return -1;
	}
	r.conf_line = ctx->line;
	rs = own_tcp_rules(ctx);
	if (rs && !r.comment) {
		r.comment = rs->pending_comment;
		rs->pending_comment = NULL;
	}
	if (!rs || ruleset_append(rs, &r) < 0) {
		rule_free(&r);
		return rs ? cfg_err(ctx, "out of memory") : -1;
	}
	if (!rs->rules_file) {
		rs->rules_file = ctx->file;
		rs->rules_line = ctx->line;
	}
	return 0;
}

/* ---- post-parse ----------------------------------------------------------- */

static int check_proxy_rules(const struct proxy *px)
{
	const struct tcpcheck_ruleset *rs = px->tcpcheck;

	if (rs && rs->owner == px && rs->pending_comment)
		cfg_err_at(rs->rules_file, rs->rules_line,
			   "warning: %s '%s': a 'tcp-check comment' is not followed by any rule",
			   proxy_cap_str(px->cap), px->name);
	if (!(px->cap & PX_CAP_BE) || !rs || rs->kind != TCPCHK_KIND_TCP || rs->has_option ||
	    !rs->rules_file)
		return 0;
	if (rs->owner == px)
		cfg_err_at(rs->rules_file, rs->rules_line,
			   "'tcp-check' rules need 'option tcp-check' in this section (HAProxy ignores them otherwise)");
	else
		cfg_err_at(rs->rules_file, rs->rules_line,
			   "'tcp-check' rules written here, inherited by %s '%s', need 'option tcp-check' in that section or here (HAProxy ignores them otherwise)",
			   proxy_cap_str(px->cap), px->name);
	return 1;
}

static int tcpcheck_postparse(struct config *conf)
{
	const struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next)
		errors += check_proxy_rules(px);
	for (px = conf->defaults; px; px = px->next)
		check_proxy_rules(px);
	return errors;
}

static struct cfg_postparser tcpcheck_pp = {
	.name = "tcpcheck",
	.fn = tcpcheck_postparse,
};

static struct cfg_kw_list tcpcheck_kws = {
	.kws = (const struct cfg_kw[]){
		{ "option tcp-check", CFG_BE_SIDE, kw_option_tcp_check, CFG_KW_NEGATABLE },
		{ "option ssl-hello-chk", CFG_BE_SIDE, kw_option_ssl_hello, CFG_KW_NEGATABLE },
		{ "option redis-check", CFG_BE_SIDE, kw_option_redis, CFG_KW_NEGATABLE },
		{ "option mysql-check", CFG_BE_SIDE, kw_option_mysql, CFG_KW_NEGATABLE },
		{ "option pgsql-check", CFG_BE_SIDE, kw_option_pgsql, CFG_KW_NEGATABLE },
		{ "tcp-check", CFG_BE_SIDE, kw_tcp_check, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void tcpcheck_init(void)
{
	cfg_register(&tcpcheck_kws);
	cfg_register_postparser(&tcpcheck_pp);
}
