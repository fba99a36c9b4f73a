/* tcp_rules.h - tcp-request / tcp-response rules, use_backend, use-server.
 *
 * Owns: the keywords "tcp-request connection|session|content ACTION [if|
 * unless COND]", "tcp-request inspect-delay", "tcp-response content",
 * "tcp-response inspect-delay", "use_backend NAME|%[expr] [COND]",
 * "use-server NAME if|unless COND"; the registry of rule actions (accept,
 * reject, silent-drop, close (response rules only), expect-proxy layer4
 * (connection rules only), set-var(NAME) EXPR, unset-var(NAME), and the
 * stick counter actions track-sc0..2 KEY [table T] (request rules),
 * sc-inc-gpc0/1(N), sc-inc-gpc(I,N), sc-add-gpc(I,N) V, sc-set-gpt0(N) V,
 * sc-set-gpt(I,N) V (stick.h holds the counters)); and the evaluation
 * entry points session.c calls at each step.
 * Threading: rules are built while parsing and read-only afterwards;
 * evaluation runs on the session's worker and allocates nothing (except
 * variables, see vars.h).
 *
 * HAProxy's semantics: rules of a set run in order; the first accept or
 * reject ends the set; a rule whose condition cannot tell yet (ACL_MISS)
 * makes the set wait, and the whole set is evaluated again when more data
 * came (HAProxy: "haproxy will evaluate the whole rules for every new chunk
 * which gets in", so a set-var before the waiting rule sees the new data),
 * until the inspect-delay expires (then conditions see what is there).
 * With no inspect-delay, content rules run once with what is already
 * buffered.
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
	TCP_V_CLOSE,		/* "tcp-response content close": close the server side
				 * and end the session normally (response rules only) */
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
/* What a proxy inherits from its defaults section: the inspect delays only
 * (rules are not allowed in defaults). proxy_new() calls it. */
void tcp_rules_inherit(struct tcp_rules *r, const struct tcp_rules *defs);

/* Run set `set` of proxy px for session s, starting at rule *pos (0 the
 * first time). Every verdict leaves *pos at 0, WAIT included: the set is
 * evaluated again from its first rule with more data (see above); *pos is
 * where an action that suspends itself (Lua, later) would resume.
 * s may be NULL (tests). final: the inspection is over (delay expired,
 * buffer full, client closed), so conditions that cannot tell count as
 * false and WAIT is never returned.
 * Side effects of actions (variables, expect-proxy) apply to s. */
enum tcp_verdict tcp_rules_run(const struct proxy *px, enum tcp_rule_set set,
			       struct session *s, const struct smp_ctx *ctx,
			       unsigned *pos, int final);

/* Does px have rules in this set? (session.c skips the phase otherwise) */
int tcp_rules_has(const struct proxy *px, enum tcp_rule_set set);

/* use_backend rules of frontend fe, in order: the backend of the first
 * rule whose condition holds (a %[expr] name is evaluated and looked up
 * by name in ctx->conf), or NULL (then default_backend applies). As in
 * HAProxy, a dynamic name that names no backend (or a sample that is
 * absent) ends the evaluation: later rules are not tried. */
struct proxy *tcp_rules_use_backend(const struct proxy *fe, const struct smp_ctx *ctx);
/* use-server rules of backend be: the named server of the first rule whose
 * condition holds and that is up and not in maintenance, or NULL. As in
 * HAProxy, a server with weight 0 or draining is still used (that is the
 * point of "use-server x if ... / server x ... weight 0"); a down one is
 * skipped and the next rules are tried. */
struct server *tcp_rules_use_server(const struct proxy *be, const struct smp_ctx *ctx);

#endif
