/* tcpcheck.h - check scripts: "tcp-check" rules and built-in protocol checks.
 *
 * Owns: the proxy keywords "option tcp-check", "tcp-check connect|send|
 * send-binary|send-lf|expect|comment", "option ssl-hello-chk",
 * "option redis-check", "option mysql-check [user U [post-41|pre-41]]" and
 * "option pgsql-check user U"; the compiled rule set of a proxy (each
 * built-in option is compiled into the same rule model, so check.c runs one
 * engine); HAProxy's check status codes; and the pure functions that judge
 * received bytes: expect rules, the MySQL/PostgreSQL/TLS reply parsers and
 * the agent-check reply parser.
 * Rules are compiled as written: when the first rule of a TCP rule set is
 * not "connect", check.c connects first on its own (implicit connect).
 * Threading: rule sets are built while parsing and immutable afterwards; a
 * proxy that inherits its rules from a defaults section shares them
 * (reference counted, parse time only). Every evaluation function is pure
 * over a bounded buffer and safe from any thread.
 */
#ifndef SLUICE_TCPCHECK_H
#define SLUICE_TCPCHECK_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct proxy;

/* HAProxy's check status codes (shown in logs, stats and "show servers"). */
enum check_code {
	CHK_UNK = 0,	/* "UNK": not checked yet */
	CHK_INI,	/* "INI": initializing */
	CHK_SOCKERR,	/* "SOCKERR": socket error */
	CHK_L4OK,	/* "L4OK": Layer4 check passed */
	CHK_L4TOUT,	/* "L4TOUT": Layer4 timeout */
	CHK_L4CON,	/* "L4CON": Layer4 connection problem */
	CHK_L6OK,	/* "L6OK": Layer6 check passed (TLS) */
	CHK_L6TOUT,	/* "L6TOUT": Layer6 timeout */
	CHK_L6RSP,	/* "L6RSP": Layer6 invalid response */
	CHK_L7TOUT,	/* "L7TOUT": Layer7 timeout */
	CHK_L7RSP,	/* "L7RSP": Layer7 invalid response */
	CHK_L7OK,	/* "L7OK": Layer7 check passed */
	CHK_L7OKC,	/* "L7OKC": Layer7 check conditionally passed */
	CHK_L7STS,	/* "L7STS": Layer7 wrong status */
	CHK_CODE_COUNT
};

/* "L4CON" */
const char *check_code_name(enum check_code code);
/* "Layer4 connection problem" */
const char *check_code_desc(enum check_code code);
/* Success codes: L4OK, L6OK, L7OK, L7OKC. */
int check_code_ok(enum check_code code);

/* Which option built the rule set (the last one written wins, as in HAProxy). */
enum tcpcheck_kind {
	TCPCHK_KIND_TCP = 0,	/* option tcp-check (possibly no rules: connect only) */
	TCPCHK_KIND_SSL_HELLO,
	TCPCHK_KIND_REDIS,
	TCPCHK_KIND_MYSQL,
	TCPCHK_KIND_PGSQL,
};

enum tcpcheck_act {
	TCPCHK_ACT_CONNECT = 0,
	TCPCHK_ACT_SEND,	/* send, send-binary, send-lf */
	TCPCHK_ACT_EXPECT,
};

enum tcpcheck_expect_type {
	TCPCHK_EXP_STRING = 0,	/* substring anywhere in what was received */
	TCPCHK_EXP_RSTRING,	/* POSIX extended regex over the received text */
	TCPCHK_EXP_BINARY,	/* byte string anywhere in what was received */
	TCPCHK_EXP_RBINARY,	/* regex over the received bytes as upper-case hex */
	TCPCHK_EXP_CUSTOM,	/* a protocol parser (MySQL, PostgreSQL, ...) */
};

enum tcpcheck_verdict {
	TCPCHK_MORE = 0,	/* cannot decide yet: read more */
	TCPCHK_OK,
	TCPCHK_FAIL,
};

/* A protocol reply parser: judge data[0..len) (everything received since
 * the previous expect rule was satisfied). last: nothing more will come
 * (EOF, or the buffer is full). On failure, sets *code (e.g. CHK_L7STS)
 * and writes a short reason into info (always NUL-terminated). On success
 * it sets *code too and may leave a note in info (the MySQL server
 * version). Never reads outside data[0..len). */
typedef enum tcpcheck_verdict (*tcpcheck_custom_fn)(const uint8_t *data, size_t len, int last,
						    enum check_code *code, char *info,
						    size_t infosz);

struct tcpcheck_lf;	/* a compiled send-lf format (tcpcheck.c) */

struct tcpcheck_rule {
	enum tcpcheck_act act;
	int conf_line;
	char *comment;		/* "comment X" or a preceding "tcp-check comment" */
	union {
		struct {
			unsigned port;		/* 0: the check's port */
			char *sni;		/* "sni NAME", NULL: none/server's */
			unsigned ssl:1;		/* "ssl" */
			unsigned send_proxy:1;	/* "send-proxy" */
			unsigned linger:1;	/* "linger": close with FIN, not RST */
		} connect;
		struct {
			uint8_t *data;		/* send / send-binary */
			size_t len;
			struct tcpcheck_lf *lf;	/* send-lf (data is NULL) */
		} send;
		struct {
			enum tcpcheck_expect_type type;
			int inverse;		/* "expect !" */
			uint8_t *pat;		/* string/binary pattern */
			size_t patlen;
			void *re;		/* regex_t for rstring/rbinary */
			char *pat_text;		/* the pattern as written, for messages */
			unsigned min_recv;	/* "min-recv N": decide only with N bytes; 0: unset */
			tcpcheck_custom_fn custom;
			enum check_code err_code;	/* on mismatch, default L7RSP */
			enum check_code tout_code;	/* on timeout, default L7TOUT */
			enum check_code ok_code;	/* on success, default L7OK */
		} expect;
	};
};

struct tcpcheck_ruleset {
	unsigned refcnt;
	enum tcpcheck_kind kind;
	struct tcpcheck_rule *rules;
	unsigned nrules;
	const char *conf_file;	/* where the option was written */
	int conf_line;
	/* parse-time bookkeeping (tcpcheck.c); check.c ignores it */
	const struct proxy *owner;	/* section whose lines built this set */
	struct tcpcheck_ruleset *borrowed; /* rules belong to this inherited set */
	unsigned has_option:1;		/* kind TCP: "option tcp-check" applies */
	const char *rules_file;		/* first "tcp-check" line, NULL: none */
	int rules_line;
	char *pending_comment;		/* "tcp-check comment" awaiting its rule */
};

/* Parse-time sharing between defaults and the proxies that inherit them. */
struct tcpcheck_ruleset *tcpcheck_ruleset_ref(struct tcpcheck_ruleset *rs);
void tcpcheck_ruleset_unref(struct tcpcheck_ruleset *rs);

/* Judge an expect rule over data[0..len) (what was received since the
 * previous expect rule matched). last: no more data will come (EOF or the
 * check buffer is full). step is the 1-based rule number for messages.
 * Without min-recv a mismatch waits for more (TCPCHK_MORE) unless last;
 * with min-recv N nothing is decided before N bytes unless last. "!"
 * inverts: a match fails right away, a mismatch succeeds once decided.
 * On TCPCHK_FAIL sets *code (the rule's err_code) and writes HAProxy's
 * style of reason into info, e.g. "TCPCHK did not match content 'PONG'
 * at step 2" or "TCPCHK matched unwanted content 'ERR' at step 2", with
 * the rule's comment instead when it has one. On TCPCHK_OK sets *code to
 * the rule's ok_code. A custom rule (TCPCHK_EXP_CUSTOM) runs its parser,
 * which chooses the code itself (L7STS for an error reply, L7RSP for
 * garbage). rstring and rbinary look at the first 16 KiB only, and
 * rstring, a POSIX regex over text, does not see past a NUL byte.
 *
 * Bytes dropped after an expect (contract with check.c): once an expect
 * rule is satisfied, the bytes it matched are consumed, so that the next
 * expect only sees what follows; tcpcheck_expect_consumed() says how many.
 * For string, binary, rstring and rbinary rules everything up to the end of
 * the first match is dropped; for inverted ("!") and custom rules the whole
 * buffer is dropped. A custom parser therefore judges one protocol message
 * and must not rely on bytes that came with it: MySQL only answers the
 * authentication packet after receiving it, so that reply always arrives
 * after the handshake. */
enum tcpcheck_verdict tcpcheck_expect(const struct tcpcheck_rule *r, const uint8_t *data,
				      size_t len, int last, unsigned step,
				      enum check_code *code, char *info, size_t infosz);

/* After tcpcheck_expect() returned TCPCHK_OK over data[0..len): how many
 * leading bytes check.c drops before the next rule (see above). */
size_t tcpcheck_expect_consumed(const struct tcpcheck_rule *r, const uint8_t *data, size_t len);

/* The built-in protocol parsers by name: "ssl-hello", "mysql-handshake",
 * "mysql-ok", "pgsql" (for tests and fuzzers). NULL for another name. */
tcpcheck_custom_fn tcpcheck_custom_by_name(const char *name);

/* Expand a send-lf rule for server s into out; returns the length (at
 * most outsz), or -1 if it does not fit. */
long tcpcheck_send_lf(const struct tcpcheck_rule *r, const struct server *s,
		      char *out, size_t outsz);

/* ---- agent check replies ------------------------------------------------ */

#define AGENT_R_WEIGHT	0x01	/* "75%" */
#define AGENT_R_MAXCONN	0x02	/* "maxconn:N" */
#define AGENT_R_UP	0x04	/* "up" */
#define AGENT_R_DOWN	0x08	/* "down", "fail" or "stopped" */
#define AGENT_R_READY	0x10	/* "ready" */
#define AGENT_R_DRAIN	0x20	/* "drain" */
#define AGENT_R_MAINT	0x40	/* "maint" */

struct agent_reply {
	unsigned flags;		/* AGENT_R_* seen (the last of up/down wins, as
				 * does the last of ready/drain/maint) */
	unsigned weight_pct;	/* with AGENT_R_WEIGHT: 0..100000 */
	unsigned maxconn;	/* with AGENT_R_MAXCONN */
	char state_word[8];	/* "down", "fail" or "stopped" with AGENT_R_DOWN */
	char desc[128];		/* text after '#', trimmed, may be empty */
};

/* Parse an agent's reply: one line of words separated by spaces, tabs or
 * commas, ended by '\n' (or by the end of data when last), as HAProxy's
 * agent-check defines it. Returns TCPCHK_MORE while no line end is seen and
 * !last; TCPCHK_OK with *out filled when at least one word is understood;
 * TCPCHK_FAIL with a reason in info for an empty or meaningless line.
 * Unknown words are skipped. */
enum tcpcheck_verdict agent_parse_reply(const uint8_t *data, size_t len, int last,
					struct agent_reply *out, char *info, size_t infosz);

#endif
