/* sample.h - sample fetches and converters (the expression language of
 * "balance hash <expr>", ACLs and rules).
 *
 * Owns: the registries of fetches and converters, the parser of an
 * expression "fetch(args),conv(args),conv..." and its evaluation. Each
 * subsystem registers the fetches it can answer (layer-4 fetches here; the
 * TLS hello parser, stick tables and variables register theirs).
 * Threading: registries are filled by constructors and read-only after;
 * evaluation is reentrant and works on the caller's session.
 */
#ifndef SLUICE_SAMPLE_H
#define SLUICE_SAMPLE_H

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct session;
struct proxy;
struct config;

enum smp_type {
	SMP_T_ANY = 0,
	SMP_T_BOOL,
	SMP_T_SINT,
	SMP_T_IPV4,
	SMP_T_IPV6,
	SMP_T_STR,
	SMP_T_BIN,
};

struct sample {
	enum smp_type type;
	union {
		int64_t sint;
		struct in_addr ipv4;
		struct in6_addr ipv6;
		struct { const char *ptr; size_t len; } str;	/* STR and BIN */
	} u;
	int may_change;		/* more data could change the answer (wait) */
};

/* What an expression can see of a session. Filled by the caller. */
struct smp_ctx {
	struct session *sess;
	const struct sockaddr_storage *src;	/* client address */
	const struct sockaddr_storage *dst;	/* address the client reached */
	struct proxy *fe, *be;
	const struct config *conf;		/* for fetches naming a proxy (nbsrv(BE)), may be NULL */
	const char *req;			/* bytes received from the client so far */
	size_t req_len;
	char *scratch;				/* converter output space */
	size_t scratch_size;
};

#define SMP_MAX_ARGS 4

struct sample_arg {
	enum { ARG_NONE = 0, ARG_SINT, ARG_STR } type;
	int64_t sint;
	char *str;
	void *ptr;	/* set by a check callback (a loaded map); not freed with the expr */
};

struct sample_fetch {
	const char *name;
	/* Returns 1 with *out set, 0 when the sample is absent. */
	int (*fn)(const struct sample_arg *args, struct sample *out, const struct smp_ctx *ctx);
	enum smp_type out_type;
	int min_args, max_args;
	const char *arg_types;	/* "i" int, "s" string, per argument, e.g. "ii" */
	/* Optional: validate (and may rewrite) the parsed arguments at
	 * configuration time. Returns 0, or -1 with a message in err. */
	int (*check)(struct sample_arg *args, char *err, size_t errsz);
};

struct sample_conv {
	const char *name;
	/* Transform *smp in place; returns 1, or 0 to drop the sample. */
	int (*fn)(const struct sample_arg *args, struct sample *smp, const struct smp_ctx *ctx);
	enum smp_type in_type, out_type;
	int min_args, max_args;
	const char *arg_types;
	int (*check)(struct sample_arg *args, char *err, size_t errsz);	/* optional, as for fetches */
};

struct sample_fetch_list { struct sample_fetch_list *next; const struct sample_fetch *kws; };
struct sample_conv_list { struct sample_conv_list *next; const struct sample_conv *kws; };
void sample_register_fetches(struct sample_fetch_list *l);
void sample_register_convs(struct sample_conv_list *l);
const struct sample_fetch *sample_find_fetch(const char *name, size_t len);
const struct sample_conv *sample_find_conv(const char *name, size_t len);

#define SMP_MAX_CONVS 8

struct sample_expr {
	const struct sample_fetch *fetch;
	struct sample_arg args[SMP_MAX_ARGS];
	int nconv;
	struct {
		const struct sample_conv *conv;
		struct sample_arg args[SMP_MAX_ARGS];
	} convs[SMP_MAX_CONVS];
};

/* Parse "src", "req.payload(0,4)", "src,lower". Returns NULL with a message
 * in err on failure. */
struct sample_expr *sample_parse_expr(const char *str, char *err, size_t errsz);
void sample_free_expr(struct sample_expr *e);
/* Evaluate; returns 1 with *out set, 0 if absent. Converters write their
 * output into ctx->scratch (a STR sample may then point into it). */
int sample_eval(const struct sample_expr *e, const struct smp_ctx *ctx, struct sample *out);
/* Convert *smp to type "to" in place (text forms go into ctx->scratch).
 * Returns 1, or 0 when no conversion exists or the value does not convert
 * (e.g. "abc" to SINT, or a non-mapped IPv6 to IPV4). */
int sample_cast(struct sample *smp, enum smp_type to, const struct smp_ctx *ctx);
/* Convert a sample to its bytes for hashing (IPs as raw bytes in network
 * order, SINT as 8 big-endian bytes, BOOL as 1 byte; tmp holds them).
 * Returns 0, or -1 for a sample without a type. */
int sample_to_bytes(const struct sample *s, const void **p, size_t *len, char tmp[16]);

#endif
