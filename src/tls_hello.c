/* tls_hello.c - reading a TLS ClientHello without decrypting anything, and
 * the req.ssl_* sample fetches built on it.
 *
 * The parser trusts no length: every vector is checked against what is
 * left of its enclosing structure, so lying lengths end as "invalid" (when
 * the whole message is there) or "need more" (when it is not), never as a
 * read out of bounds. A handshake message that fits in the first record is
 * parsed in place; one spread over several records is copied into the
 * caller's scratch buffer first, so the answer does not depend on how the
 * client fragmented it (a message larger than scratch is invalid either
 * way).
 *
 * The fetches parse again on each call (a hello is a few hundred bytes)
 * rather than caching per session, which keeps them stateless; the
 * reassembly buffer is thread-local so that evaluation allocates nothing.
 */
#include <stdint.h>
#include <string.h>

#include <sluice/sample.h>
#include <sluice/tls_hello.h>

#define REC_HDR_LEN	5
#define REC_MAX_LEN	(16384 + 256)	/* RFC 8446 5.2: 2^14 plus expansion */
#define HS_HDR_LEN	4
#define HS_CLIENT_HELLO	1
/* version, random, session_id length, one cipher suite, one compression method */
#define HELLO_MIN_BODY	(2 + 32 + 1 + 2 + 2 + 1 + 1)
#define EXT_SERVER_NAME	0x0000
#define EXT_ALPN	0x0010
#define EXT_SUPP_VERS	0x002b
#define SNI_HOST_NAME	0

/* ---- bounded reading of the ClientHello body ---- */

struct cursor {
	const uint8_t *p;
	size_t n;
};

static int cur_u8(struct cursor *c, unsigned *v)
{
	if (c->n < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->n--;
	return 0;
}

static int cur_u16(struct cursor *c, unsigned *v)
{
	if (c->n < 2)
		return -1;
	*v = (unsigned)c->p[0] << 8 | c->p[1];
	c->p += 2;
	c->n -= 2;
	return 0;
}

static int cur_take(struct cursor *c, size_t len, struct cursor *sub)
{
	if (len > c->n)
		return -1;
	sub->p = c->p;
	sub->n = len;
	c->p += len;
	c->n -= len;
	return 0;
}

/* A vector with a 1- or 2-byte length prefix whose length lies in
 * [min, max]: what TLS writes as opaque x<min..max>. */
static int cur_vec(struct cursor *c, int prefix, size_t min, size_t max, struct cursor *sub)
{
	unsigned len;

	if ((prefix == 1 ? cur_u8(c, &len) : cur_u16(c, &len)) < 0)
		return -1;
	if (len < min || len > max)
		return -1;
	return cur_take(c, len, sub);
}

/* ---- extensions ---- */

static int is_grease(unsigned v)
{
	/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa */
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* RFC 6066 3: the first host_name of the list. Other name types are
 * skipped as opaque<1..2^16-1>, the shape every defined type has. */
static int parse_sni(struct cursor ext, struct tls_hello *out)
{
	struct cursor list, name;
	unsigned type;

	if (cur_vec(&ext, 2, 1, 0xffff, &list) < 0 || ext.n)
		return -1;
	while (list.n) {
		if (cur_u8(&list, &type) < 0 || cur_vec(&list, 2, 1, 0xffff, &name) < 0)
			return -1;
		if (type != SNI_HOST_NAME || out->sni)
			continue;
		if (name.n > TLS_HELLO_MAX_SNI || memchr(name.p, 0, name.n))
			return -1;
		out->sni = name.p;
		out->sni_len = name.n;
	}
	return 0;
}

/* RFC 7301 3.1: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>. */
static int parse_alpn(struct cursor ext, struct tls_hello *out)
{
	struct cursor list;
	const uint8_t *name;
	size_t n;

	if (cur_vec(&ext, 2, 2, 0xffff, &list) < 0 || ext.n)
		return -1;
	if (tls_hello_first_alpn(list.p, list.n, &name, &n) < 0)
		return -1;
	out->alpn = list.p;
	out->alpn_len = list.n;
	return 0;
}

/* RFC 8446 4.2.1: ProtocolVersion versions<2..254>. Only 0x03xx values
 * count (draft and GREASE values are not versions one can route on). */
static int parse_supported_versions(struct cursor ext, struct tls_hello *out)
{
	struct cursor list;
	unsigned v = 0, best = 0;

	if (cur_vec(&ext, 1, 2, 254, &list) < 0 || ext.n || (list.n & 1))
		return -1;
	while (list.n) {
		cur_u16(&list, &v);
		if (!is_grease(v) && (v >> 8) == 3 && v > best)
			best = v;
	}
	if (best)
		out->max_version = (uint16_t)best;
	return 0;
}

static int parse_extension(unsigned type, struct cursor data, unsigned *seen, struct tls_hello *out)
{
	unsigned bit;

	switch (type) {
	case EXT_SERVER_NAME: bit = 1; break;
	case EXT_ALPN:        bit = 2; break;
	case EXT_SUPP_VERS:   bit = 4; break;
	default:
		return 0;	/* unknown: skipped */
	}
	if (*seen & bit)
		return -1;	/* RFC 8446 4.2: at most one of each type */
	*seen |= bit;
	if (type == EXT_SERVER_NAME)
		return parse_sni(data, out);
	if (type == EXT_ALPN)
		return parse_alpn(data, out);
	return parse_supported_versions(data, out);
}

static int parse_extensions(struct cursor *body, struct tls_hello *out)
{
	struct cursor exts, data;
	unsigned type, seen = 0;

	if (!body->n)
		return 0;	/* pre-TLS 1.2 clients may send none at all */
	if (cur_vec(body, 2, 0, 0xffff, &exts) < 0 || body->n)
		return -1;
	while (exts.n) {
		if (cur_u16(&exts, &type) < 0 || cur_vec(&exts, 2, 0, 0xffff, &data) < 0)
			return -1;
		if (parse_extension(type, data, &seen, out) < 0)
			return -1;
	}
	return 0;
}

/* RFC 8446 4.1.2 / RFC 5246 7.4.1.2, body of the handshake message. */
static int parse_client_hello(const uint8_t *body, size_t len, struct tls_hello *out)
{
	struct cursor c = { body, len }, skip;
	unsigned version;

	if (cur_u16(&c, &version) < 0 || (version >> 8) != 3)
		return -1;
	out->hello_version = (uint16_t)version;
	out->max_version = (uint16_t)version;
	if (cur_take(&c, 32, &skip) < 0 ||			/* random */
	    cur_vec(&c, 1, 0, 32, &skip) < 0 ||			/* legacy_session_id */
	    cur_vec(&c, 2, 2, 0xfffe, &skip) < 0 || (skip.n & 1) ||	/* cipher_suites */
	    cur_vec(&c, 1, 1, 255, &skip) < 0)			/* compression_methods */
		return -1;
	return parse_extensions(&c, out);
}

/* ---- record layer and reassembly ---- */

/* Checks the record header at p (n bytes available). The first record
 * decides TLS or not; a later one that is not a handshake record makes the
 * stream invalid. */
static enum tls_hello_status record_header(const uint8_t *p, size_t n, int first,
					   size_t *frag_len, struct tls_hello *out)
{
	enum tls_hello_status wrong = first ? TLS_HELLO_NOT_TLS : TLS_HELLO_INVALID;

	if (n < 1)
		return TLS_HELLO_NEED_MORE;
	if (p[0] != 0x16 || (n >= 2 && p[1] != 0x03))
		return wrong;
	if (n >= 3 && first)
		out->record_version = (uint16_t)(p[1] << 8 | p[2]);
	if (n < REC_HDR_LEN)
		return TLS_HELLO_NEED_MORE;
	*frag_len = (size_t)p[3] << 8 | p[4];
	if (*frag_len == 0 || *frag_len > REC_MAX_LEN)
		return TLS_HELLO_INVALID;	/* RFC 8446 5.1: no empty handshake fragments */
	return TLS_HELLO_OK;
}

/* Where the handshake message is gathered when it spans records. */
struct gather {
	uint8_t *buf;
	size_t size;
	size_t got;
	size_t want;	/* HS_HDR_LEN until the message header is in, then the whole message */
};

/* Learns the handshake type and length from its 4-byte header. */
static enum tls_hello_status hs_header(const uint8_t *h, size_t scratch_size, size_t *msg_len,
				       struct tls_hello *out)
{
	out->hs_type = h[0];
	if (h[0] != HS_CLIENT_HELLO)
		return TLS_HELLO_INVALID;
	*msg_len = HS_HDR_LEN + ((size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]);
	if (*msg_len < HS_HDR_LEN + HELLO_MIN_BODY || *msg_len > scratch_size)
		return TLS_HELLO_INVALID;
	return TLS_HELLO_OK;
}

static enum tls_hello_status gather_feed(struct gather *g, const uint8_t *p, size_t n,
					 struct tls_hello *out)
{
	size_t take;

	while (n && g->got < g->want) {
		take = g->want - g->got < n ? g->want - g->got : n;
		if (take > g->size - g->got)
			return TLS_HELLO_INVALID;	/* scratch smaller than a message header */
		memcpy(g->buf + g->got, p, take);
		g->got += take;
		p += take;
		n -= take;
		if (g->got == HS_HDR_LEN && g->want == HS_HDR_LEN &&
		    hs_header(g->buf, g->size, &g->want, out) != TLS_HELLO_OK)
			return TLS_HELLO_INVALID;
	}
	return TLS_HELLO_OK;
}

/* The common case: the whole message lies in the first record, parse it
 * where it is. Returns OK with *msg set, NEED_MORE, INVALID, or -1 (cast)
 * when the message goes on in later records. Like the reassembly, it
 * answers once the record holding the end of the message is complete, so
 * a record length that claims more than the message is waited on. */
static int message_in_first_record(const uint8_t *frag, size_t frag_len, size_t avail,
				   size_t scratch_size, const uint8_t **msg, size_t *msg_len,
				   struct tls_hello *out)
{
	if (avail >= 1) {
		out->hs_type = frag[0];
		if (frag[0] != HS_CLIENT_HELLO)
			return TLS_HELLO_INVALID;
	}
	if (frag_len < HS_HDR_LEN)
		return -1;
	if (avail < HS_HDR_LEN)
		return TLS_HELLO_NEED_MORE;
	if (hs_header(frag, scratch_size, msg_len, out) != TLS_HELLO_OK)
		return TLS_HELLO_INVALID;
	if (*msg_len > frag_len)
		return -1;
	if (avail < frag_len)
		return TLS_HELLO_NEED_MORE;
	*msg = frag;
	return TLS_HELLO_OK;
}

/* Finds the complete handshake message, in data or copied into scratch. */
static enum tls_hello_status find_message(const uint8_t *data, size_t len, uint8_t *scratch,
					  size_t scratch_size, const uint8_t **msg, size_t *msg_len,
					  struct tls_hello *out)
{
	struct gather g = { scratch, scratch_size, 0, HS_HDR_LEN };
	size_t pos = 0, frag_len, avail;
	enum tls_hello_status st;
	int rc;

	for (;;) {
		st = record_header(data + pos, len - pos, pos == 0, &frag_len, out);
		if (st != TLS_HELLO_OK)
			return st;
		avail = len - pos - REC_HDR_LEN;
		if (avail > frag_len)
			avail = frag_len;
		if (pos == 0) {
			rc = message_in_first_record(data + REC_HDR_LEN, frag_len, avail,
						     scratch_size, msg, msg_len, out);
			if (rc >= 0)
				return (enum tls_hello_status)rc;
		}
		if (gather_feed(&g, data + pos + REC_HDR_LEN, avail, out) != TLS_HELLO_OK)
			return TLS_HELLO_INVALID;
		if (avail < frag_len)
			return TLS_HELLO_NEED_MORE;
		if (g.got == g.want && g.want > HS_HDR_LEN) {	/* header read, body complete */
			*msg = g.buf;
			*msg_len = g.want;
			return TLS_HELLO_OK;
		}
		pos += REC_HDR_LEN + frag_len;
	}
}

enum tls_hello_status tls_hello_parse(const uint8_t *data, size_t len,
				      uint8_t *scratch, size_t scratch_size,
				      struct tls_hello *out)
{
	const uint8_t *msg = NULL;
	size_t msg_len = 0;
	enum tls_hello_status st;
	uint8_t hs_type;
	uint16_t record_version;

	memset(out, 0, sizeof(*out));
	if (!data || !len)
		return TLS_HELLO_NEED_MORE;
	st = find_message(data, len, scratch, scratch_size, &msg, &msg_len, out);
	if (st == TLS_HELLO_OK &&
	    parse_client_hello(msg + HS_HDR_LEN, msg_len - HS_HDR_LEN, out) < 0)
		st = TLS_HELLO_INVALID;
	if (st != TLS_HELLO_OK) {
		hs_type = out->hs_type;
		record_version = out->record_version;
		memset(out, 0, sizeof(*out));
		out->hs_type = hs_type;
		out->record_version = record_version;
	}
	return st;
}

int tls_hello_first_alpn(const uint8_t *alpn, size_t alpn_len, const uint8_t **name, size_t *n)
{
	struct cursor list = { alpn, alpn_len }, first, next;

	if (!alpn || cur_vec(&list, 1, 1, 255, &first) < 0)
		return -1;
	while (list.n)
		if (cur_vec(&list, 1, 1, 255, &next) < 0)
			return -1;
	*name = first.p;
	*n = first.n;
	return 0;
}

/* ---- sample fetches ---- */

/* Large enough for any hello a session buffer can hold; a hello that does
 * not fit is "invalid" rather than a reason to allocate. */
#define FETCH_SCRATCH_SIZE	(16384 + 1024)

static _Thread_local uint8_t fetch_scratch[FETCH_SCRATCH_SIZE];

/* Parses what the client sent so far. On anything but OK the sample is
 * absent, and may_change tells whether more data could make it present. */
static int fetch_hello(struct sample *smp, const struct smp_ctx *ctx, struct tls_hello *h)
{
	size_t len = ctx->req ? ctx->req_len : 0;
	enum tls_hello_status st;

	st = tls_hello_parse((const uint8_t *)ctx->req, len, fetch_scratch,
			     sizeof(fetch_scratch), h);
	smp->may_change = st == TLS_HELLO_NEED_MORE;
	return st == TLS_HELLO_OK;
}

/* A string from the hello must outlive the next fetch: bytes in the
 * client's buffer stay put, bytes in the thread-local reassembly buffer
 * are copied into the caller's scratch. */
static int set_hello_str(struct sample *smp, const struct smp_ctx *ctx,
			 const uint8_t *p, size_t len)
{
	uintptr_t at = (uintptr_t)p, lo = (uintptr_t)fetch_scratch;

	if (at < lo || at >= lo + sizeof(fetch_scratch)) {
		smp->u.str.ptr = (const char *)p;
	} else {
		if (!ctx->scratch || ctx->scratch_size < len)
			return 0;
		memcpy(ctx->scratch, p, len);
		smp->u.str.ptr = ctx->scratch;
	}
	smp->type = SMP_T_STR;
	smp->u.str.len = len;
	return 1;
}

/* HAProxy documents the type "if the buffer contains data that parse as a
 * complete ... client hello": answering 1 as soon as the type byte is in
 * would let the usual "tcp-request content accept if { req_ssl_hello_type 1 }"
 * accept before the SNI is there, and route on a missing req.ssl_sni. So 1
 * comes with a whole, valid ClientHello; another handshake type (a client
 * speaking first with a ServerHello, say) is reported as soon as it is seen
 * since no hello can follow. */
static int smp_fetch_hello_type(const struct sample_arg *args, struct sample *smp,
				const struct smp_ctx *ctx)
{
	struct tls_hello h;

	(void)args;
	if (!fetch_hello(smp, ctx, &h)) {
		if (smp->may_change || h.hs_type == 0 || h.hs_type == HS_CLIENT_HELLO)
			return 0;
		smp->may_change = 0;
	}
	smp->type = SMP_T_SINT;
	smp->u.sint = h.hs_type;
	return 1;
}

static int smp_fetch_sni(const struct sample_arg *args, struct sample *smp,
			 const struct smp_ctx *ctx)
{
	struct tls_hello h;

	(void)args;
	if (!fetch_hello(smp, ctx, &h) || !h.sni)
		return 0;
	return set_hello_str(smp, ctx, h.sni, h.sni_len);
}

/* HAProxy's encoding, major * 65536 + minor (TLS 1.2 is 0x00030003, "3.3"
 * for the ACL). The version is the highest the client offers: the
 * supported_versions extension when present (TLS 1.3 is 0x00030004),
 * else the ClientHello's legacy_version. HAProxy documents "the version of
 * the SSL/TLS protocol of a stream"; taking the record-layer version
 * instead would show nearly every modern client as 3.1. */
static int smp_fetch_ver(const struct sample_arg *args, struct sample *smp,
			 const struct smp_ctx *ctx)
{
	struct tls_hello h;

	(void)args;
	if (!fetch_hello(smp, ctx, &h))
		return 0;
	smp->type = SMP_T_SINT;
	smp->u.sint = (int64_t)(h.max_version >> 8) << 16 | (h.max_version & 0xff);
	return 1;
}

/* The first protocol the client lists, so that the documented
 * "use_backend bk_acme if { req.ssl_alpn acme-tls/1 }" matches a client
 * that offers acme-tls/1 first. */
static int smp_fetch_alpn(const struct sample_arg *args, struct sample *smp,
			  const struct smp_ctx *ctx)
{
	struct tls_hello h;
	const uint8_t *name;
	size_t n;

	(void)args;
	if (!fetch_hello(smp, ctx, &h) || tls_hello_first_alpn(h.alpn, h.alpn_len, &name, &n) < 0)
		return 0;
	return set_hello_str(smp, ctx, name, n);
}

static const struct sample_fetch tls_hello_fetches[] = {
	{ "req.ssl_hello_type", smp_fetch_hello_type, SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req_ssl_hello_type", smp_fetch_hello_type, SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req.ssl_sni",        smp_fetch_sni,        SMP_T_STR,  0, 0, NULL, NULL },
	{ "req_ssl_sni",        smp_fetch_sni,        SMP_T_STR,  0, 0, NULL, NULL },
	{ "req.ssl_ver",        smp_fetch_ver,        SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req_ssl_ver",        smp_fetch_ver,        SMP_T_SINT, 0, 0, NULL, NULL },
	{ "req.ssl_alpn",       smp_fetch_alpn,       SMP_T_STR,  0, 0, NULL, NULL },
	{ NULL }
};

static struct sample_fetch_list tls_hello_fetch_list = { .kws = tls_hello_fetches };

__attribute__((constructor)) static void tls_hello_init(void)
{
	sample_register_fetches(&tls_hello_fetch_list);
}
