/* tcp_rules.h - tcp-request / tcp-response rules, use_backend, use-server.
 *
 * Owns: the keywords "tcp-request connection|session|content ACTION [if|
 * unless COND]", "tcp-request inspect-delay", "tcp-response content",
 * "tcp-response inspect-delay", "use_backend NAME|%[expr] [COND]",
 * "use-server NAME [COND]"; the registry of rule actions (accept, reject,
 * silent-drop, expect-proxy layer4 (connection rules only), set-var(NAME)
 * EXPR, unset-var(NAME); stick tables add track-sc0..2 and sc-inc-gpc0
 * later); and the evaluation entry points session.c calls at each step.
 * Threading: rules are built while parsing and read-only afterwards;
 * evaluation runs on the session's worker and allocates nothing (except
 * variables, see vars.h).
 *
 * HAProxy's semantics: rules of a set run in order; the first accept or
 * reject ends the set; a rule whose condition cannot tell yet (ACL_MISS)
 * makes the set wait, and resumes at that rule when more data came, until
 * the inspect-delay expires (then conditions see what is there). With no
 * inspect-delay, content rules run once with what is already buffered.
 * A set in which no rule decided accepts.
 */
#ifndef SLUICE_TCP_RULES_H
#define SLUICE_TCP_RULES_H

#include "list.h"

struct cfg_ctx;
struct proxy;
struct server;
struct session;
struct smp_ctx;
struct acl_cond;
struct sample_expr;

enum tcp_rule_set {
	TCP_RULES_CONNECTION = 0,	/* frontend, right after accept, no data */
	TCP_RULES_SESSION,		/* frontend, after a PROXY header was read */
	TCP_RULES_CONTENT,		/* frontend then backend, over buffered client data */
	TCP_RULES_RESPONSE,		/* backend, over the first server data (basics) */
	TCP_RULES_NSETS
};

enum tcp_verdict {
	TCP_V_ACCEPT = 0,	/* go on (an accept rule, or no rule decided) */
	TCP_V_REJECT,		/* close the connection (logged, counted as denied) */
	TCP_V_SILENT_DROP,	/* close without anything reaching the client (RST, no log line flush) */
	TCP_V_WAIT,		/* need more data: call again after reading, or final */
};

/* Per-proxy rule lists, embedded in struct proxy (proxy.h). */
struct tcp_rules {
	struct list sets[TCP_RULES_NSETS];	/* struct tcp_rule */
	unsigned inspect_delay;			/* ms, 0: not set */
	unsigned res_inspect_delay;
	struct list use_backend;		/* struct switch_rule */
	struct list use_server;			/* struct switch_rule */
	int expect_proxy;			/* a connection rule asks for a PROXY header */
};

void tcp_rules_init(struct tcp_rules *r);
void tcp_rules_free(struct tcp_rules *r);

/* Run set `set` of proxy px for session s, starting at rule *pos (0 the
 * first time; updated so that a WAIT resumes where it stopped). final: the
 * inspection is over (delay expired, buffer full, client closed), so
 * conditions that cannot tell count as false and WAIT is never returned.
 * Side effects of actions (variables, expect-proxy) apply to s. */
enum tcp_verdict tcp_rules_run(const struct proxy *px, enum tcp_rule_set set,
			       struct session *s, const struct smp_ctx *ctx,
			       unsigned *pos, int final);

/* Does px have rules in this set? (session.c skips the phase otherwise) */
int tcp_rules_has(const struct proxy *px, enum tcp_rule_set set);

/* use_backend rules of frontend fe, in order: the backend of the first
 * rule whose condition holds (a %[expr] name is evaluated and looked up
 * by name; an unknown name falls through to the next rule), or NULL
 * (then default_backend applies). */
struct proxy *tcp_rules_use_backend(const struct proxy *fe, const struct smp_ctx *ctx);
/* use-server rules of backend be: the named server of the first rule whose
 * condition holds and that is usable (up, not in maintenance), or NULL. */
struct server *tcp_rules_use_server(const struct proxy *be, const struct smp_ctx *ctx);

#endif
