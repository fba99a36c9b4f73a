/* cfg.h - configuration loading: tokenizer, sections, keyword registries.
 *
 * Owns: the tokenizer for HAProxy syntax, section switching (global,
 * defaults [named], frontend, backend, listen), the registry of section
 * keywords, and the post-parse checks that resolve references between
 * proxies. Keywords themselves belong to the subsystems that implement
 * them: each registers a table with cfg_register() from a constructor, so
 * adding a keyword touches one file.
 * Threading: configuration is parsed once, on the main thread, before any
 * worker starts; afterwards it is read-only except for the atomics the
 * runtime owns.
 *
 * Errors: every handler reports with cfg_err(), which prefixes FILE:LINE.
 */
#ifndef SLUICE_CFG_H
#define SLUICE_CFG_H

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct server;
struct config;

/* Section bits, for keyword tables. */
#define CFG_GLOBAL	0x01
#define CFG_DEFAULTS	0x02
#define CFG_FRONTEND	0x04
#define CFG_BACKEND	0x08
#define CFG_LISTEN	0x10
#define CFG_PEERS	0x20	/* "peers NAME": only "table" lines (stick_cfg.c) */
#define CFG_PROXIES	(CFG_DEFAULTS | CFG_FRONTEND | CFG_BACKEND | CFG_LISTEN)
#define CFG_FE_SIDE	(CFG_DEFAULTS | CFG_FRONTEND | CFG_LISTEN)
#define CFG_BE_SIDE	(CFG_DEFAULTS | CFG_BACKEND | CFG_LISTEN)

#define CFG_MAX_ARGS	64

/* Tokenizer: split one line into words. Handles '#' comments, "double" and
 * 'single' quotes, backslash escapes (\t \n \r \\ \" \' \# \$ \<space> \xHH;
 * any other backslash is kept, for regexes), and "${NAME}" / "$NAME"
 * environment expansion inside double quotes only, as in HAProxy (unset:
 * empty; elsewhere '$' is an ordinary character).
 * Returns the number of words (0 for a blank line) and points args[] into
 * out, which receives the unescaped words NUL-separated.
 * On error returns -1 and sets *err to a static message. */
int cfg_tokenize(const char *line, char *out, size_t outsz,
		 char **args, int max_args, const char **err);

struct cfg_ctx {
	const char *file;	/* current file (lives as long as the config) */
	int line;		/* current line number */
	unsigned section;	/* CFG_* bit of the current section */
	struct config *conf;
	struct proxy *px;	/* proxy being parsed (also a defaults section) */
	struct proxy *defpx;	/* defaults that the current proxy inherits */
	const char *peers;	/* name of the current peers section (CFG_PEERS) */
	int negate;		/* the line started with "no" */
	int errors;		/* errors reported so far */
	int warnings;
};

/* The context of the line being parsed, or NULL outside cfg_load_files().
 * For code that runs while parsing but is not handed the context, such as
 * the check callback of a sample fetch that names a stick table. */
struct cfg_ctx *cfg_current(void);

/* Report an error at the current FILE:LINE (printed to stderr). Always
 * returns -1 so a handler can write: return cfg_err(ctx, "...", ...); */
int cfg_err(struct cfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A section keyword handler gets the whole line: args[0] is the keyword
 * (args[0] args[1] for two-word keywords such as "option redispatch" or
 * "timeout client"), argc counts every word and args[argc] is NULL, as for
 * argv (a leading "no" is already removed and sets ctx->negate).
 * Return 0 or -1. */
typedef int (*cfg_kw_fn)(struct cfg_ctx *ctx, int argc, char **args);

#define CFG_KW_NEGATABLE 0x01	/* accepts a leading "no" (ctx->negate) */

struct cfg_kw {
	const char *name;	/* "maxconn", or two words: "option tcplog" */
	unsigned sections;	/* CFG_* bits where it is allowed */
	cfg_kw_fn fn;
	unsigned flags;
};

struct cfg_kw_list {
	struct cfg_kw_list *next;
	const struct cfg_kw *kws;	/* terminated by { NULL } */
};

void cfg_register(struct cfg_kw_list *list);

/* Post-parse hooks: run in registration order once every file is read,
 * to resolve references (default_backend, track, ...) and finish set-up.
 * A hook reports errors with cfg_err()-style FILE:LINE messages on stderr
 * and returns the number of errors. */
struct cfg_postparser {
	struct cfg_postparser *next;
	const char *name;
	int (*fn)(struct config *conf);
};
void cfg_register_postparser(struct cfg_postparser *pp);

/* Print a FILE:LINE-prefixed error outside of parsing (post-parse checks). */
void cfg_err_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value of one hexadecimal digit (either case), or -1. */
int cfg_hex_digit(char c);
/* Decode hex digits (an even number, either case) into out[0..outsz).
 * Returns the number of bytes, or -1 (odd number of digits), -2 (more
 * than outsz bytes) or -3 with *bad set to the index of the first
 * character that is not a hex digit. Callers word their own messages. */
long cfg_hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *bad);

/* Parse a time ("10", "10ms", "2s", "1m", "1h", "1d"; default unit ms)
 * into milliseconds. Returns 0 or -1. */
int cfg_parse_time(const char *s, unsigned *ms);
/* Parse a non-negative integer within [min, max]. Returns 0 or -1. */
int cfg_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Parse a size with optional k/m/g suffix. */
int cfg_parse_size(const char *s, unsigned long *out);

/* Load files in order into conf (already config_init()ed). Returns the
 * number of errors (0 = good). */
int cfg_load_files(struct config *conf, int nfiles, char **files);

/* Helper for registries of sub-keywords (server and bind options): the
 * caller looks a word up by name. */
#define CFG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
