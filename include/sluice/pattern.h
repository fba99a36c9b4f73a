/* pattern.h - pattern stores: what an ACL or a map file compares samples to.
 *
 * Owns: the match methods (found, bool, int, len, ip, bin, str, beg, end,
 * sub, dir, dom, reg), the parsing of one pattern for a method (integer
 * values, ranges "1024:65535" and operators gt/ge/lt/le/eq, "X.Y" versions,
 * IPv4/IPv6 addresses and networks, hex blocks, POSIX extended regexes),
 * pattern and map files, and the lookup of a sample in a store:
 *  - exact strings sit in a hash table (with -i, keys hash case-folded);
 *  - IP networks sit in a hash table per prefix length, looked up from the
 *    longest prefix down, so a map_ip answers with the most specific network;
 *  - the other methods keep a list in file order: the first match wins.
 * A store is used by acl.c (does any pattern match?) and by map.c (which
 * entry, and its value?).
 * Threading: a store is built while parsing and read-only afterwards;
 * lookups are reentrant and allocate nothing themselves, except that a
 * regex goes through libc's regexec(), which may allocate (and glibc
 * serialises concurrent uses of one regex): prefer beg/end/sub/dom.
 */
#ifndef SLUICE_PATTERN_H
#define SLUICE_PATTERN_H

#include <stddef.h>

struct sample;
struct smp_ctx;

enum pat_method {
	PAT_M_FOUND = 0,	/* the sample exists; no pattern */
	PAT_M_BOOL,		/* the value is non-zero; no pattern */
	PAT_M_INT,		/* integer values and ranges */
	PAT_M_LEN,		/* integer ranges on a string's length */
	PAT_M_IP,		/* IPv4/IPv6 addresses and networks */
	PAT_M_BIN,		/* hex patterns, exact bytes */
	PAT_M_STR,		/* exact string */
	PAT_M_BEG,		/* prefix */
	PAT_M_END,		/* suffix */
	PAT_M_SUB,		/* substring */
	PAT_M_DIR,		/* a '/'-delimited part ('/' and '?' delimit) */
	PAT_M_DOM,		/* a '.'-delimited part ('/', '?', '.', ':' delimit) */
	PAT_M_REG,		/* POSIX extended regex, searched anywhere */
	PAT_M_COUNT
};

/* Flags of pat_add() and pat_load_file(). */
#define PAT_F_ICASE	0x01	/* "-i": compare strings and regexes ignoring case */
#define PAT_F_DOTTED	0x02	/* integers may read "X.Y" = X * 65536 + Y (req.ssl_ver) */

/* Integer operators written before the values: "gt 5 10" means > 5 or > 10. */
enum pat_op { PAT_OP_NONE = 0, PAT_OP_EQ, PAT_OP_GE, PAT_OP_GT, PAT_OP_LE, PAT_OP_LT };

struct pat_set;
struct pat_entry;

/* "str", "beg", ... Returns the method, or -1 for an unknown name. */
int pat_method_parse(const char *name);
const char *pat_method_name(enum pat_method m);
/* "found" and "bool" take no pattern. */
int pat_method_has_patterns(enum pat_method m);
/* "eq", "ge", "gt", "le", "lt" -> PAT_OP_*, anything else PAT_OP_NONE. */
enum pat_op pat_op_parse(const char *word);

struct pat_set *pat_set_new(enum pat_method m);
void pat_set_free(struct pat_set *ps);
enum pat_method pat_set_method(const struct pat_set *ps);
size_t pat_set_count(const struct pat_set *ps);

/* Add one pattern written as text (op only for int and len), with the
 * value a map gives for it (NULL for an ACL). Returns 0, or -1 with a
 * message in err that names the text and says what was expected. */
int pat_add(struct pat_set *ps, const char *text, unsigned flags, enum pat_op op,
	    const char *value, char *err, size_t errsz);

/* Add every pattern of a file: one per line; lines whose first character
 * is '#' and blank lines are skipped; leading and trailing spaces and tabs
 * are trimmed. With values set, a line is "KEY VALUE...": the key is the
 * first word, the value the rest of the line. Returns 0, or -1 with
 * "PATH:LINE: message" (or "PATH: cannot open ...") in err. */
int pat_load_file(struct pat_set *ps, const char *path, unsigned flags, int values,
		  char *err, size_t errsz);

/* Turn *smp into what the method compares (a string for str..reg, an
 * integer for int, an address for ip, ...), casting through ctx->scratch
 * if needed. Returns 0 when the sample cannot be read that way. */
int pat_prepare_sample(enum pat_method m, struct sample *smp, const struct smp_ctx *ctx);

/* The first entry (longest prefix for ip) that matches a prepared sample,
 * or NULL. Not for found and bool, which have no entries. */
const struct pat_entry *pat_lookup(const struct pat_set *ps, const struct sample *smp);

/* Does the sample (as fetched: it is prepared here) match the store?
 * found: always; bool: non-zero; others: pat_lookup(). */
int pat_match(const struct pat_set *ps, struct sample *smp, const struct smp_ctx *ctx);

/* The map value of an entry ("" for an ACL pattern). */
const char *pat_entry_value(const struct pat_entry *e, size_t *len);

#endif
