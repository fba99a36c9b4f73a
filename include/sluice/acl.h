/* acl.h - conditions: named and inline ACLs, match methods, pattern lists.
 *
 * Owns: the "acl" keyword (per proxy), the parsing and evaluation of the
 * "if|unless CONDITION" that ends every rule (tcp-request, use_backend,
 * use-server, stick ...), the match methods (-m str|beg|end|sub|reg|dir|dom|
 * found|len|int|ip|bool|bin, the default method of each fetch's type,
 * -i, -f FILE, -n, --), integer ranges and operators (gt ge lt le eq,
 * "1024:65535"), IPv4/IPv6 addresses and CIDR lists, pattern files, and
 * HAProxy's predefined ACLs that make sense at layer 4 (TRUE, FALSE,
 * LOCALHOST, REQ_CONTENT, WAIT_END).
 * Also the pattern store shared with map files (map.c): exact strings in a
 * hash, prefixes/suffixes/domains, regexes (POSIX extended), IP networks
 * with longest-prefix match; it lives in pattern.h / pattern.c.
 * Threading: everything is built while parsing and read-only afterwards;
 * evaluation is reentrant and allocates nothing.
 *
 * A condition is a disjunction ("||" or "or") of conjunctions of terms; a
 * term is an ACL name or an inline ACL "{ fetch [flags] [patterns] }",
 * optionally negated with "!". A named ACL written on several lines is the
 * OR of those lines. Named ACLs must be declared before the rule that uses
 * them, in the same proxy, as in HAProxy.
 */
#ifndef SLUICE_ACL_H
#define SLUICE_ACL_H

#include "list.h"

struct cfg_ctx;
struct smp_ctx;
struct proxy;

/* Three-valued logic: MISS means "cannot tell yet" (a fetch that reads the
 * client's data has not seen enough of it). Rules wait on MISS until the
 * inspection ends; a final evaluation treats MISS as FALSE. */
enum acl_result { ACL_FALSE = 0, ACL_TRUE = 1, ACL_MISS = 2 };

struct acl_cond;

/* Parse a condition: args[0] is "if" or "unless", the condition runs to
 * args[argc-1]. Named ACLs are looked up in ctx->px. Returns NULL after
 * cfg_err() (FILE:LINE, naming the faulty word). */
struct acl_cond *acl_cond_parse(struct cfg_ctx *ctx, int argc, char **args);
void acl_cond_free(struct acl_cond *c);

/* Evaluate c for a session (ctx as for sample_eval). With final set, a
 * term that cannot tell yet counts as false (the inspection is over), so
 * the result is never ACL_MISS. "unless" is applied. */
enum acl_result acl_cond_eval(const struct acl_cond *c, const struct smp_ctx *ctx, int final);

/* Free every named ACL of a proxy (proxy_free calls it). */
void acl_free_proxy(struct proxy *px);

#endif
