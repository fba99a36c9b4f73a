/* vars.h - variables: set-var / unset-var actions and the var() fetch.
 *
 * Owns: variable names ("proc.NAME", "sess.NAME", "txn.NAME", "req.NAME",
 * "res.NAME"; at layer 4 a session is one transaction, so sess/txn/req/res
 * variables live in the session and die with it, proc variables live as
 * long as the process), their storage, and the fetch var(NAME[,DEFAULT]).
 * Names are resolved to small ids while parsing, so setting or reading a
 * variable never compares strings on the data path.
 * Threading: session variables belong to the session's worker; proc
 * variables are guarded by one lock (they are rare and small).
 */
#ifndef SLUICE_VARS_H
#define SLUICE_VARS_H

#include <stddef.h>

struct sample;
struct session;
struct smp_ctx;

struct var_store;	/* per session, allocated on the first set-var */

/* Resolve "txn.name" (etc.) to an id at parse time. Returns the id (>= 0),
 * or -1 with a message in err for a bad scope or name. */
int vars_name_id(const char *name, char *err, size_t errsz);

/* Store a copy of smp under id for session s (proc variables are global).
 * Returns 0, or -1 when out of memory (the variable stays unset). */
int vars_set(struct session *s, int id, const struct sample *smp);
void vars_unset(struct session *s, int id);
/* Read a variable: 1 with *out (pointing into the store) or 0 if unset. */
int vars_get(const struct session *s, int id, struct sample *out);
/* Release a session's variables (session_close). */
void vars_free(struct var_store *vs);

#endif
