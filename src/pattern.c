/* pattern.c - pattern stores for ACLs and maps: parsing patterns, loading
 * pattern and map files, and matching samples.
 *
 * Exact strings and IP networks are hashed (FNV-1a); every other method
 * keeps a list in the order patterns were given, so that the first match
 * wins, which is what a map with overlapping keys promises. Hash chains
 * also keep insertion order, so a duplicated key answers with its first
 * value. Strings hash case-folded whatever their -i flag, so one table
 * serves case-sensitive and -i patterns: each entry decides how it
 * compares.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/pattern.h>
#include <sluice/sample.h>
#include "sluice/errbuf.h"

struct pat_entry {
	struct pat_entry *next;		/* list order, or hash chain */
	uint64_t hash;			/* str and ip: kept for rehashing */
	char *value;			/* map value, NULL for an ACL pattern */
	size_t value_len;
	unsigned flags;			/* PAT_F_ICASE */
	union {
		struct { char *ptr; size_t len; } str;	/* str beg end sub dir dom bin */
		struct { int64_t min, max; } range;	/* int len, bounds included */
		struct {
			unsigned char addr[16];		/* network, host bits cleared */
			unsigned char v6;		/* 0: IPv4 (4 bytes), 1: IPv6 */
			unsigned char plen;
		} ip;
		regex_t re;
	} u;
};

struct pat_hash {
	struct pat_entry **buckets;
	size_t nbuckets;		/* a power of two, 0 before the first entry */
	size_t count;
};

struct pat_set {
	enum pat_method method;
	size_t count;
	struct pat_entry *head, **tail;	/* list methods, in insertion order */
	struct pat_hash hash;		/* str and ip */
	uint64_t plens[2][3];		/* ip: prefix lengths present, [v6][bit / 64] */
};

static const char *const method_names[PAT_M_COUNT] = {
	[PAT_M_FOUND] = "found", [PAT_M_BOOL] = "bool", [PAT_M_INT] = "int",
	[PAT_M_LEN] = "len", [PAT_M_IP] = "ip", [PAT_M_BIN] = "bin",
	[PAT_M_STR] = "str", [PAT_M_BEG] = "beg", [PAT_M_END] = "end",
	[PAT_M_SUB] = "sub", [PAT_M_DIR] = "dir", [PAT_M_DOM] = "dom",
	[PAT_M_REG] = "reg",
};

int pat_method_parse(const char *name)
{
	int m;

	for (m = 0; m < PAT_M_COUNT; m++)
		if (!strcmp(method_names[m], name))
			return m;
	return -1;
}

const char *pat_method_name(enum pat_method m)
{
	return (unsigned)m < PAT_M_COUNT ? method_names[m] : "?";
}

int pat_method_has_patterns(enum pat_method m)
{
	return m != PAT_M_FOUND && m != PAT_M_BOOL;
}

enum pat_op pat_op_parse(const char *word)
{
	static const char *const ops[] = { "", "eq", "ge", "gt", "le", "lt" };
	int i;

	for (i = 1; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		if (!strcmp(word, ops[i]))
			return (enum pat_op)i;
	return PAT_OP_NONE;
}

static int is_hashed(enum pat_method m)
{
	return m == PAT_M_STR || m == PAT_M_IP;
}

/* ---- small helpers ---- */

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int mem_eq(const char *a, const char *b, size_t n, int icase)
{
	size_t i;

	if (!icase)
		return !memcmp(a, b, n);
	for (i = 0; i < n; i++)
		if (fold(a[i]) != fold(b[i]))
			return 0;
	return 1;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n, int icase)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (icase ? fold(c[i]) : c[i])) * 0x100000001b3ULL;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

/* ---- the hash table ---- */

static void hash_append(struct pat_entry **buckets, size_t n, struct pat_entry *e)
{
	struct pat_entry **pp = &buckets[e->hash & (n - 1)];

	while (*pp)
		pp = &(*pp)->next;
	e->next = NULL;
	*pp = e;
}

static int hash_grow(struct pat_hash *h)
{
	size_t n = h->nbuckets ? h->nbuckets * 2 : 16, i;
	struct pat_entry **nb = calloc(n, sizeof(*nb)), *e, *next;

	if (!nb)
		return -1;
	/* walking each old chain in order keeps equal keys in insertion order */
	for (i = 0; i < h->nbuckets; i++) {
		for (e = h->buckets[i]; e; e = next) {
			next = e->next;
			hash_append(nb, n, e);
		}
	}
	free(h->buckets);
	h->buckets = nb;
	h->nbuckets = n;
	return 0;
}

static int hash_insert(struct pat_hash *h, struct pat_entry *e)
{
	if (h->count >= h->nbuckets && hash_grow(h) < 0)
		return -1;
	hash_append(h->buckets, h->nbuckets, e);
	h->count++;
	return 0;
}

static const struct pat_entry *hash_chain(const struct pat_hash *h, uint64_t hash)
{
	return h->nbuckets ? h->buckets[hash & (h->nbuckets - 1)] : NULL;
}

/* ---- sets ---- */

struct pat_set *pat_set_new(enum pat_method m)
{
	struct pat_set *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->method = m;
	ps->tail = &ps->head;
	return ps;
}

static void entry_free(enum pat_method m, struct pat_entry *e)
{
	if (m == PAT_M_REG)
		regfree(&e->u.re);
	else if (m != PAT_M_INT && m != PAT_M_LEN && m != PAT_M_IP)
		free(e->u.str.ptr);
	free(e->value);
	free(e);
}

void pat_set_free(struct pat_set *ps)
{
	struct pat_entry *e, *next;
	size_t i;

	if (!ps)
		return;
	for (e = ps->head; e; e = next) {
		next = e->next;
		entry_free(ps->method, e);
	}
	for (i = 0; i < ps->hash.nbuckets; i++) {
		for (e = ps->hash.buckets[i]; e; e = next) {
			next = e->next;
			entry_free(ps->method, e);
		}
	}
	free(ps->hash.buckets);
	free(ps);
}

enum pat_method pat_set_method(const struct pat_set *ps)
{
	return ps->method;
}

size_t pat_set_count(const struct pat_set *ps)
{
	return ps->count;
}

/* ---- parsing: integers ---- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal integer, or with PAT_F_DOTTED "X.Y" (and "X" = "X.0"). */
static int parse_int(const char *s, size_t n, unsigned flags, int64_t *out)
{
	char buf[32], *end;
	long long major, minor = 0;

	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!is_digit(buf[0]) && !(buf[0] == '-' && is_digit(buf[1])))
		return -1;
	errno = 0;
	major = strtoll(buf, &end, 10);
	if (errno)
		return -1;
	if (!(flags & PAT_F_DOTTED)) {
		*out = major;
		return *end ? -1 : 0;
	}
	if (*end == '.') {
		if (!is_digit(end[1]))
			return -1;
		minor = strtoll(end + 1, &end, 10);
		if (errno || minor > 65535)
			return -1;
	}
	if (*end || major < 0 || major > 32767)
		return -1;
	*out = (int64_t)major * 65536 + minor;
	return 0;
}

static int apply_op(enum pat_op op, int64_t v, int64_t *min, int64_t *max)
{
	*min = INT64_MIN;
	*max = INT64_MAX;
	switch (op) {
	case PAT_OP_NONE:
	case PAT_OP_EQ:
		*min = *max = v;
		return 0;
	case PAT_OP_GE:
		*min = v;
		return 0;
	case PAT_OP_GT:
		if (v == INT64_MAX)
			return -1;
		*min = v + 1;
		return 0;
	case PAT_OP_LE:
		*max = v;
		return 0;
	case PAT_OP_LT:
		if (v == INT64_MIN)
			return -1;
		*max = v - 1;
		return 0;
	}
	return -1;
}

static const char *int_form(unsigned flags)
{
	return flags & PAT_F_DOTTED ?
		"a version like 3.1, a range like 3.0:3.3, or an operator (eq ge gt le lt) and a version" :
		"an integer, a range like 1024:65535 (either bound may be omitted), or an operator (eq ge gt le lt) and an integer";
}

/* "V", "LO:HI", "LO:", ":HI", or with op "V" only. */
static int parse_range(const char *text, unsigned flags, enum pat_op op,
		       int64_t *min, int64_t *max, char *err, size_t errsz)
{
	const char *colon = strchr(text, ':');
	size_t lo_len;
	int64_t v;

	if (!colon) {
		if (parse_int(text, strlen(text), flags, &v) < 0)
			return errbuf_fail(err, errsz, "'%s' is not valid: expects %s",
					   text, int_form(flags));
		if (apply_op(op, v, min, max) < 0)
			return errbuf_fail(err, errsz, "'%s' can never match with this operator", text);
		return 0;
	}
	if (op != PAT_OP_NONE)
		return errbuf_fail(err, errsz, "range '%s' cannot follow an operator: write either a range or an operator and a value",
				   text);
	lo_len = (size_t)(colon - text);
	*min = INT64_MIN;
	*max = INT64_MAX;
	if ((lo_len && parse_int(text, lo_len, flags, min) < 0) ||
	    (colon[1] && parse_int(colon + 1, strlen(colon + 1), flags, max) < 0) ||
	    (!lo_len && !colon[1]))
		return errbuf_fail(err, errsz, "'%s' is not valid: expects %s", text, int_form(flags));
	if (*min > *max)
		return errbuf_fail(err, errsz, "range '%s' is empty: its low bound is above its high bound", text);
	return 0;
}

/* ---- parsing: addresses ---- */

/* Dotted decimal IPv4, including HAProxy's short forms where the last
 * part fills the bytes left: "10.12" is 10.0.0.12, "127.1" is 127.0.0.1.
 * At least one dot, so that a plain number is never taken for an address;
 * no octal or hex parts, unlike inet_aton(). */
static int parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
	uint64_t parts[4], v = 0, last_max;
	size_t i, digits = 0;
	int np = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && is_digit(s[i])) {
			if (++digits > 10)
				return -1;
			v = v * 10 + (uint64_t)(s[i] - '0');
			continue;
		}
		if (!digits || (i < n && s[i] != '.') || np == 4)
			return -1;
		parts[np++] = v;
		v = 0;
		digits = 0;
	}
	if (np < 2)
		return -1;
	last_max = (1ULL << (8 * (5 - np))) - 1;
	if (parts[np - 1] > last_max)
		return -1;
	for (i = 0; i < (size_t)np - 1; i++)
		if (parts[i] > 255)
			return -1;
	v = parts[np - 1];
	for (i = 0; i < (size_t)np - 1; i++)
		v |= parts[i] << (24 - 8 * i);
	for (i = 0; i < 4; i++)
		out[i] = (unsigned char)(v >> (24 - 8 * i));
	return 0;
}

static void mask_bits(unsigned char *b, size_t nbytes, unsigned plen)
{
	size_t i;

	for (i = 0; i < nbytes; i++, plen = plen > 8 ? plen - 8 : 0)
		if (plen < 8)
			b[i] &= (unsigned char)(0xff00 >> plen);
}

/* "/N" or, for IPv4, a dotted netmask with contiguous ones. */
static int parse_mask(const char *m, int v6, unsigned *plen)
{
	unsigned char nm[4];
	unsigned long n;
	uint32_t inv;
	char *end;

	if (!v6 && strchr(m, '.')) {
		if (parse_ipv4(m, strlen(m), nm) < 0)
			return -1;
		inv = ~((uint32_t)nm[0] << 24 | (uint32_t)nm[1] << 16 | (uint32_t)nm[2] << 8 | nm[3]);
		if (inv & (inv + 1))
			return -1;
		*plen = 32 - (unsigned)__builtin_popcount(inv);
		return 0;
	}
	if (!is_digit(m[0]) || strlen(m) > 3)
		return -1;
	n = strtoul(m, &end, 10);
	if (*end || n > (v6 ? 128u : 32u))
		return -1;
	*plen = (unsigned)n;
	return 0;
}

static int parse_ip(const char *text, struct pat_entry *e)
{
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned plen;

	memset(e->u.ip.addr, 0, sizeof(e->u.ip.addr));
	e->u.ip.v6 = memchr(text, ':', n) != NULL;
	if (e->u.ip.v6) {
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, text, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, e->u.ip.addr) != 1)
			return -1;
	} else if (parse_ipv4(text, n, e->u.ip.addr) < 0) {
		return -1;
	}
	plen = e->u.ip.v6 ? 128 : 32;
	if (slash && parse_mask(slash + 1, e->u.ip.v6, &plen) < 0)
		return -1;
	e->u.ip.plen = (unsigned char)plen;
	mask_bits(e->u.ip.addr, e->u.ip.v6 ? 16 : 4, plen);
	return 0;
}

static uint64_t ip_hash(int v6, unsigned plen, const unsigned char *addr)
{
	unsigned char head[2] = { (unsigned char)v6, (unsigned char)plen };

	return hash_bytes(hash_bytes(HASH_SEED, head, 2, 0), addr, v6 ? 16 : 4, 0);
}

/* ---- parsing: strings, hex, regexes ---- */

static const char *word_delims(enum pat_method m)
{
	return m == PAT_M_DOM ? "/?.:" : "/?";
}

static int is_delim(char c, const char *delims)
{
	return c && strchr(delims, c);
}

/* dir and dom compare whole words: delimiters around a pattern add
 * nothing (".example.com" is "example.com"), so they are dropped. */
static int parse_word(enum pat_method m, const char *text, struct pat_entry *e,
		      char *err, size_t errsz)
{
	const char *d = word_delims(m), *p = text;
	size_t n = strlen(text);

	while (n && is_delim(*p, d)) {
		p++;
		n--;
	}
	while (n && is_delim(p[n - 1], d))
		n--;
	if (!n)
		return errbuf_fail(err, errsz, "'%s' has no word between its delimiters ('%s')", text, d);
	e->u.str.ptr = strndup(p, n);
	e->u.str.len = n;
	return e->u.str.ptr ? 0 : errbuf_fail(err, errsz, "out of memory");
}

static int parse_hex(const char *text, struct pat_entry *e, char *err, size_t errsz)
{
	size_t n = strlen(text), bad = 0;

	if (!n || n % 2)
		return errbuf_fail(err, errsz, "'%s' is not valid: expects an even number of hex digits, like 48656c6c6f", text);
	e->u.str.ptr = malloc(n / 2);
	if (!e->u.str.ptr)
		return errbuf_fail(err, errsz, "out of memory");
	if (cfg_hex_decode(text, (uint8_t *)e->u.str.ptr, n / 2, &bad) < 0)
		return errbuf_fail(err, errsz, "'%s' is not valid: '%c' is not a hex digit",
				   text, text[bad]);
	e->u.str.len = n / 2;
	return 0;
}

static int parse_regex(const char *text, unsigned flags, struct pat_entry *e,
		       char *err, size_t errsz)
{
	char msg[128];
	int rc;

	rc = regcomp(&e->u.re, text, REG_EXTENDED | REG_NOSUB |
		     (flags & PAT_F_ICASE ? REG_ICASE : 0));
	if (!rc)
		return 0;
	regerror(rc, &e->u.re, msg, sizeof(msg));
	return errbuf_fail(err, errsz, "invalid regex '%s': %s (POSIX extended syntax)", text, msg);
}

/* ---- adding ---- */

static int parse_entry(struct pat_set *ps, const char *text, unsigned flags, enum pat_op op,
		       struct pat_entry *e, char *err, size_t errsz)
{
	switch (ps->method) {
	case PAT_M_FOUND:
	case PAT_M_BOOL:
		return errbuf_fail(err, errsz, "'-m %s' takes no pattern, got '%s'",
				   method_names[ps->method], text);
	case PAT_M_INT:
	case PAT_M_LEN:
		return parse_range(text, flags, op, &e->u.range.min, &e->u.range.max, err, errsz);
	case PAT_M_IP:
		if (parse_ip(text, e) < 0)
			return errbuf_fail(err, errsz, "'%s' is not an IPv4 or IPv6 address or network (like 10.0.0.0/8 or 2001:db8::/32; host names are not resolved)",
					   text);
		e->hash = ip_hash(e->u.ip.v6, e->u.ip.plen, e->u.ip.addr);
		return 0;
	case PAT_M_BIN:
		return parse_hex(text, e, err, errsz);
	case PAT_M_REG:
		return parse_regex(text, flags, e, err, errsz);
	case PAT_M_DIR:
	case PAT_M_DOM:
		return parse_word(ps->method, text, e, err, errsz);
	default:
		e->u.str.len = strlen(text);
		e->u.str.ptr = strdup(text);
		e->hash = hash_bytes(HASH_SEED, text, e->u.str.len, 1);
		return e->u.str.ptr ? 0 : errbuf_fail(err, errsz, "out of memory");
	}
}

static int link_entry(struct pat_set *ps, struct pat_entry *e)
{
	if (is_hashed(ps->method)) {
		if (hash_insert(&ps->hash, e) < 0)
			return -1;
	} else {
		e->next = NULL;
		*ps->tail = e;
		ps->tail = &e->next;
	}
	if (ps->method == PAT_M_IP)
		ps->plens[e->u.ip.v6][e->u.ip.plen / 64] |= 1ULL << (e->u.ip.plen % 64);
	ps->count++;
	return 0;
}

int pat_add(struct pat_set *ps, const char *text, unsigned flags, enum pat_op op,
	    const char *value, char *err, size_t errsz)
{
	struct pat_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return errbuf_fail(err, errsz, "out of memory");
	e->flags = flags & PAT_F_ICASE;
	if (value) {
		e->value_len = strlen(value);
		e->value = strdup(value);
	}
	if ((value && !e->value) || parse_entry(ps, text, flags, op, e, err, errsz) < 0) {
		if (value && !e->value)
			errbuf_fail(err, errsz, "out of memory");
		/* a regex that failed to compile holds nothing to free */
		if (ps->method == PAT_M_REG) {
			free(e->value);
			free(e);
		} else {
			entry_free(ps->method, e);
		}
		return -1;
	}
	if (link_entry(ps, e) < 0) {
		entry_free(ps->method, e);
		return errbuf_fail(err, errsz, "out of memory");
	}
	return 0;
}

/* ---- files ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims line in place; with values, splits it at the first run of blanks. */
static char *split_line(char *line, char **value)
{
	char *key = line, *end, *v;

	while (is_blank(*key))
		key++;
	end = key + strlen(key);
	while (end > key && is_blank(end[-1]))
		*--end = '\0';
	if (!value)
		return key;
	for (v = key; *v && !is_blank(*v); v++)
		;
	if (*v)
		*v++ = '\0';
	while (is_blank(*v))
		v++;
	*value = v;
	return key;
}

int pat_load_file(struct pat_set *ps, const char *path, unsigned flags, int values,
		  char *err, size_t errsz)
{
	char *line = NULL, *key, *value = NULL, msg[512];
	size_t cap = 0;
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return errbuf_fail(err, errsz, "cannot open '%s': %s", path, strerror(errno));
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		/* as in HAProxy, only a '#' in the first column starts a comment:
		 * " #x" is the pattern "#x" */
		if (line[0] == '#')
			continue;
		key = split_line(line, values ? &value : NULL);
		if (!*key)
			continue;
		if (pat_add(ps, key, flags, PAT_OP_NONE, values ? value : NULL, msg, sizeof(msg)) < 0) {
			rc = errbuf_fail(err, errsz, "%s:%d: %s", path, lineno, msg);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = errbuf_fail(err, errsz, "%s: read error: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

/* ---- matching ---- */

static int prepare_ip(struct sample *smp, const struct smp_ctx *ctx)
{
	if (smp->type == SMP_T_IPV4 || smp->type == SMP_T_IPV6)
		return 1;
	if (smp->type == SMP_T_BIN && (smp->u.str.len == 4 || smp->u.str.len == 16)) {
		if (smp->u.str.len == 4)
			memcpy(&smp->u.ipv4, smp->u.str.ptr, 4);
		else
			memcpy(&smp->u.ipv6, smp->u.str.ptr, 16);
		smp->type = smp->u.str.len == 4 ? SMP_T_IPV4 : SMP_T_IPV6;
		return 1;
	}
	return smp->type == SMP_T_STR &&
	       (sample_cast(smp, SMP_T_IPV4, ctx) || sample_cast(smp, SMP_T_IPV6, ctx));
}

int pat_prepare_sample(enum pat_method m, struct sample *smp, const struct smp_ctx *ctx)
{
	switch (m) {
	case PAT_M_FOUND:
		return 1;
	case PAT_M_BOOL:
		return smp->type == SMP_T_BOOL || smp->type == SMP_T_SINT;
	case PAT_M_INT:
		return sample_cast(smp, SMP_T_SINT, ctx);
	case PAT_M_IP:
		return prepare_ip(smp, ctx);
	case PAT_M_BIN:
		return sample_cast(smp, SMP_T_BIN, ctx);
	default:	/* len and the string methods read bytes */
		if (smp->type == SMP_T_BIN || smp->type == SMP_T_STR) {
			if (!smp->u.str.ptr)
				smp->u.str.ptr = "";
			return 1;
		}
		return sample_cast(smp, SMP_T_STR, ctx);
	}
}

static int sub_find(const char *in, size_t n, const char *p, size_t pn, int icase)
{
	size_t i;

	for (i = 0; i + pn <= n; i++)
		if (mem_eq(in + i, p, pn, icase))
			return 1;
	return 0;
}

/* p appears in the input with a delimiter (or an end) on each side. */
static int word_find(const char *in, size_t n, const char *p, size_t pn, int icase,
		     const char *delims)
{
	size_t i;

	for (i = 0; i + pn <= n; i++) {
		if (i && !is_delim(in[i - 1], delims))
			continue;
		if (i + pn < n && !is_delim(in[i + pn], delims))
			continue;
		if (mem_eq(in + i, p, pn, icase))
			return 1;
	}
	return 0;
}

static int regex_match(const regex_t *re, const char *in, size_t n)
{
	regmatch_t pm[1];
#ifdef REG_STARTEND
	pm[0].rm_so = 0;
	pm[0].rm_eo = (regoff_t)n;
	return regexec(re, in, 0, pm, REG_STARTEND) == 0;
#else
	char buf[1024];

	(void)pm;
	if (n >= sizeof(buf) || memchr(in, 0, n))
		return 0;
	memcpy(buf, in, n);
	buf[n] = '\0';
	return regexec(re, buf, 0, NULL, 0) == 0;
#endif
}

static int str_entry_matches(enum pat_method m, const struct pat_entry *e,
			     const char *in, size_t n)
{
	const char *p = e->u.str.ptr;
	size_t pn = e->u.str.len;
	int icase = e->flags & PAT_F_ICASE;

	switch (m) {
	case PAT_M_BIN:
		return n == pn && !memcmp(in, p, n);
	case PAT_M_BEG:
		return n >= pn && mem_eq(in, p, pn, icase);
	case PAT_M_END:
		return n >= pn && mem_eq(in + n - pn, p, pn, icase);
	case PAT_M_SUB:
		return sub_find(in, n, p, pn, icase);
	case PAT_M_DIR:
	case PAT_M_DOM:
		return word_find(in, n, p, pn, icase, word_delims(m));
	case PAT_M_REG:
		return regex_match(&e->u.re, in, n);
	default:
		return 0;
	}
}

static const struct pat_entry *list_lookup(const struct pat_set *ps, const struct sample *smp)
{
	const struct pat_entry *e;
	int64_t v;

	for (e = ps->head; e; e = e->next) {
		if (ps->method == PAT_M_INT || ps->method == PAT_M_LEN) {
			v = ps->method == PAT_M_INT ? smp->u.sint : (int64_t)smp->u.str.len;
			if (v >= e->u.range.min && v <= e->u.range.max)
				return e;
		} else if (str_entry_matches(ps->method, e, smp->u.str.ptr, smp->u.str.len)) {
			return e;
		}
	}
	return NULL;
}

static const struct pat_entry *str_lookup(const struct pat_set *ps, const char *in, size_t n)
{
	uint64_t h = hash_bytes(HASH_SEED, in, n, 1);
	const struct pat_entry *e;

	for (e = hash_chain(&ps->hash, h); e; e = e->next)
		if (e->hash == h && e->u.str.len == n &&
		    mem_eq(e->u.str.ptr, in, n, e->flags & PAT_F_ICASE))
			return e;
	return NULL;
}

static int has_plen(const struct pat_set *ps, int v6, unsigned plen)
{
	return (ps->plens[v6][plen / 64] >> (plen % 64)) & 1;
}

/* Longest prefix first: one hash probe per prefix length in use. */
static const struct pat_entry *ip_find(const struct pat_set *ps, int v6, const unsigned char *addr)
{
	size_t nbytes = v6 ? 16 : 4;
	unsigned char key[16];
	const struct pat_entry *e;
	int plen;
	uint64_t h;

	if (!(ps->plens[v6][0] | ps->plens[v6][1] | ps->plens[v6][2]))
		return NULL;
	for (plen = v6 ? 128 : 32; plen >= 0; plen--) {
		if (!has_plen(ps, v6, (unsigned)plen))
			continue;
		memcpy(key, addr, nbytes);
		mask_bits(key, nbytes, (unsigned)plen);
		h = ip_hash(v6, (unsigned)plen, key);
		for (e = hash_chain(&ps->hash, h); e; e = e->next)
			if (e->hash == h && e->u.ip.v6 == v6 && e->u.ip.plen == plen &&
			    !memcmp(e->u.ip.addr, key, nbytes))
				return e;
	}
	return NULL;
}

/* The IPv4 address an IPv6 one carries: ::ffff:a.b.c.d (mapped),
 * ::a.b.c.d (compatible) or 2002:AABB:CCDD:: (6to4), as HAProxy reads it. */
static int v6_to_v4(const unsigned char *a6, unsigned char *a4)
{
	static const unsigned char zero[12], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(a6, mapped, 12) || !memcmp(a6, zero, 12)) {
		memcpy(a4, a6 + 12, 4);
		return 1;
	}
	if (a6[0] == 0x20 && a6[1] == 0x02) {
		memcpy(a4, a6 + 2, 4);
		return 1;
	}
	return 0;
}

static const struct pat_entry *ip_lookup(const struct pat_set *ps, const struct sample *smp)
{
	unsigned char a[16] = { [10] = 0xff, [11] = 0xff };
	const struct pat_entry *e;

	if (smp->type == SMP_T_IPV4) {
		e = ip_find(ps, 0, (const unsigned char *)&smp->u.ipv4);
		if (e)
			return e;
		/* an IPv6 pattern sees an IPv4 client as ::ffff:a.b.c.d */
		memcpy(a + 12, &smp->u.ipv4, 4);
		return ip_find(ps, 1, a);
	}
	e = ip_find(ps, 1, smp->u.ipv6.s6_addr);
	if (e || !v6_to_v4(smp->u.ipv6.s6_addr, a))
		return e;
	return ip_find(ps, 0, a);
}

const struct pat_entry *pat_lookup(const struct pat_set *ps, const struct sample *smp)
{
	switch (ps->method) {
	case PAT_M_FOUND:
	case PAT_M_BOOL:
		return NULL;
	case PAT_M_STR:
		return str_lookup(ps, smp->u.str.ptr, smp->u.str.len);
	case PAT_M_IP:
		if (smp->type != SMP_T_IPV4 && smp->type != SMP_T_IPV6)
			return NULL;
		return ip_lookup(ps, smp);
	default:
		return list_lookup(ps, smp);
	}
}

int pat_match(const struct pat_set *ps, struct sample *smp, const struct smp_ctx *ctx)
{
	if (!pat_prepare_sample(ps->method, smp, ctx))
		return 0;
	if (ps->method == PAT_M_FOUND)
		return 1;
	if (ps->method == PAT_M_BOOL)
		return smp->u.sint != 0;
	return pat_lookup(ps, smp) != NULL;
}

const char *pat_entry_value(const struct pat_entry *e, size_t *len)
{
	if (len)
		*len = e->value ? e->value_len : 0;
	return e->value ? e->value : "";
}
