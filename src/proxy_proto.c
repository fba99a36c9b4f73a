/* proxy_proto.c - PROXY protocol headers (see the specification at
 * haproxy.org/download/1.8/doc/proxy-protocol.txt).
 *
 * Parsing is strict: a receiver that guessed at malformed headers would let
 * anyone who can reach the port spoof their address, so anything that does
 * not match the specification exactly is refused. Parsing never reads
 * outside the bytes it is given and tells a valid prefix (wait for more)
 * from garbage (close now) as early as it can.
 * Also here: the accept-proxy, send-proxy* and proxy-v2-options keywords
 * and the fc_rcvd_proxy fetch.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/listener.h"
#include "sluice/proxy_proto.h"
#include "sluice/sample.h"
#include "sluice/server.h"
#include "sluice/session.h"

const uint8_t pp_v2_signature[PP_V2_SIG_LEN] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

size_t pp_build_local(int version, uint8_t *out, size_t outsz)
{
	if (version == 1) {
		if (outsz < PP_V1_LOCAL_LEN)
			return 0;
		memcpy(out, "PROXY UNKNOWN\r\n", PP_V1_LOCAL_LEN);
		return PP_V1_LOCAL_LEN;
	}
	if (version != 2 || outsz < PP_V2_HDR_LEN)
		return 0;
	memcpy(out, pp_v2_signature, PP_V2_SIG_LEN);
	out[12] = 0x20;		/* version 2, command LOCAL */
	out[13] = 0x00;		/* AF_UNSPEC, UNSPEC transport */
	out[14] = 0;		/* no address block */
	out[15] = 0;
	return PP_V2_HDR_LEN;
}

/* ---- CRC32c (Castagnoli, reflected polynomial 0x82F63B78) ---------------- */

static uint32_t crc32c_table[256];

__attribute__((constructor)) static void crc32c_init_table(void)
{
	uint32_t i, bit, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
		crc32c_table[i] = c;
	}
}

/* crc is the running value before the final inversion (start with ~0). */
static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--)
		crc = (crc >> 8) ^ crc32c_table[(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t pp_crc32c(const uint8_t *data, size_t len)
{
	return ~crc32c_update(~0u, data, len);
}

/* The checksum of a header whose 4-byte checksum field at offset off is
 * read as zeroes, as the specification asks, without copying it. */
static uint32_t crc32c_zeroed(const uint8_t *hdr, size_t len, size_t off)
{
	static const uint8_t zero[4];
	uint32_t crc = crc32c_update(~0u, hdr, off);

	crc = crc32c_update(crc, zero, 4);
	return ~crc32c_update(crc, hdr + off + 4, len - off - 4);
}

/* ---- parsing: common ------------------------------------------------------ */

static enum pp_status pp_fail(char *err, size_t errsz, const char *why)
{
	if (err && errsz)
		snprintf(err, errsz, "%s", why);
	return PP_INVALID;
}

static void set_inet(struct sockaddr_storage *ss, const void *addr, uint16_t port_be)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	memcpy(&in->sin_addr, addr, 4);
	in->sin_port = port_be;
}

static void set_inet6(struct sockaddr_storage *ss, const void *addr, uint16_t port_be)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, addr, 16);
	in6->sin6_port = port_be;
}

/* ---- parsing: version 1 --------------------------------------------------- */

#define V1_FIELDS	6	/* PROXY, protocol, src, dst, sport, dport */
#define V1_ADDR_MAX	45	/* longest IPv6 text (INET6_ADDRSTRLEN - 1) */

/* The words of a v1 line (or of the part received so far). After
 * "UNKNOWN" the rest is one opaque field: the receiver must ignore it. */
struct v1_line {
	const char *f[V1_FIELDS];
	size_t len[V1_FIELDS];
	int n;
};

/* Split on single spaces; -1 when there are too many words. */
static int v1_split(const char *p, size_t n, struct v1_line *l)
{
	size_t i, start = 0;

	l->n = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != ' ')
			continue;
		if (l->n == V1_FIELDS)
			return -1;
		l->f[l->n] = p + start;
		l->len[l->n++] = i - start;
		start = i + 1;
		if (l->n == 2 && i < n && l->len[1] == 7 && !memcmp(l->f[1], "UNKNOWN", 7)) {
			l->f[2] = p + start;
			l->len[2] = n - start;
			l->n = 3;
			return 0;
		}
	}
	return 0;
}

/* Word w of length n is word ref, or (when partial) a beginning of it. */
static int word_is(const char *w, size_t n, const char *ref, int partial)
{
	size_t rl = strlen(ref);

	return (partial ? n <= rl : n == rl) && !memcmp(w, ref, n);
}

static int v1_proto_ok(const char *w, size_t n, int partial)
{
	return word_is(w, n, "TCP4", partial) || word_is(w, n, "TCP6", partial) ||
	       word_is(w, n, "UNKNOWN", partial);
}

static int v1_addr_char_ok(char c, int af)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (c == '.')
		return 1;	/* IPv6 may end with a dotted quad (::ffff:1.2.3.4) */
	if (af == AF_INET)
		return 0;
	return c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* inet_pton refuses leading zeroes in IPv4 numbers, as the specification
 * asks; a partial address only has to use the right characters. */
static int v1_addr_ok(const char *w, size_t n, int af, int partial, void *bin)
{
	char tmp[V1_ADDR_MAX + 1];
	uint8_t scratch[16];
	size_t i;

	if (n > (af == AF_INET ? 15u : (size_t)V1_ADDR_MAX))
		return 0;
	for (i = 0; i < n; i++)
		if (!v1_addr_char_ok(w[i], af))
			return 0;
	if (partial)
		return 1;
	memcpy(tmp, w, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, bin ? bin : scratch) == 1;
}

/* Decimal 0..65535 without sign or leading zero. */
static int v1_port_ok(const char *w, size_t n, int partial, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n > 5 || (!partial && !n) || (n > 1 && w[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(w[i] - '0');
	}
	if (v > 65535)
		return 0;
	if (port)
		*port = (uint16_t)v;
	return 1;
}

/* Validate the words of a line; complete says the CRLF was seen (else
 * only the last word may be unfinished). Fills out for a complete line. */
static int v1_check(const struct v1_line *l, int complete, struct pp_info *out)
{
	uint8_t a[2][16];
	uint16_t port[2] = { 0, 0 };
	int i, af;

	for (i = 0; i < l->n; i++) {
		int partial = !complete && i == l->n - 1;

		if ((i == 0 && !word_is(l->f[0], l->len[0], "PROXY", partial)) ||
		    (i == 1 && !v1_proto_ok(l->f[1], l->len[1], partial)))
			return 0;
	}
	/* "UNKNOWN" alone, or anything after a space (v1_split made it one word) */
	if (l->n >= 2 && word_is(l->f[1], l->len[1], "UNKNOWN", 0))
		return 1;
	if (complete && l->n != V1_FIELDS)
		return 0;
	if (l->n <= 2)
		return 1;
	/* the protocol word is complete here, so it is TCP4 or TCP6 */
	af = l->f[1][3] == '6' ? AF_INET6 : AF_INET;
	for (i = 2; i < l->n; i++) {
		int partial = !complete && i == l->n - 1;
		int ok = i < 4 ? v1_addr_ok(l->f[i], l->len[i], af, partial, a[i - 2]) :
				 v1_port_ok(l->f[i], l->len[i], partial, &port[i - 4]);

		if (!ok || (!partial && !l->len[i]))
			return 0;
	}
	if (complete && out) {
		void (*set)(struct sockaddr_storage *, const void *, uint16_t) =
			af == AF_INET ? set_inet : set_inet6;

		set(&out->src, a[0], htons(port[0]));
		set(&out->dst, a[1], htons(port[1]));
	}
	return 1;
}

/* Where the line ends: the index of its CR, or -1 when no CRLF was found;
 * -2 for a byte that has no place in a v1 line (NUL, lone CR or LF). */
static long v1_find_eol(const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (d[i] == '\0' || d[i] == '\n')
			return -2;
		if (d[i] != '\r')
			continue;
		if (i + 1 == n)
			return -1;	/* the LF may come next */
		return d[i + 1] == '\n' ? (long)i : -2;
	}
	return -1;
}

static enum pp_status pp_parse_v1(const uint8_t *data, size_t len, struct pp_info *out,
				  size_t *consumed, char *err, size_t errsz)
{
	size_t scan = len < PP_V1_MAX_LEN ? len : PP_V1_MAX_LEN;
	long eol = v1_find_eol(data, scan);
	struct v1_line l;
	size_t upto;

	if (eol == -2)
		return pp_fail(err, errsz, "v1: invalid character in the line");
	if (eol < 0 && len >= PP_V1_MAX_LEN)
		return pp_fail(err, errsz, "v1: no CRLF within 107 bytes");
	/* a trailing CR means the line is all there but its LF */
	upto = eol >= 0 ? (size_t)eol : (data[scan - 1] == '\r' ? scan - 1 : scan);
	if (v1_split((const char *)data, upto, &l) < 0)
		return pp_fail(err, errsz, "v1: too many fields");
	if (!v1_check(&l, eol >= 0 || upto < scan, eol >= 0 ? out : NULL))
		return pp_fail(err, errsz, "v1: malformed line");
	if (eol < 0)
		return PP_NEED_MORE;
	out->version = 1;
	out->local = word_is(l.f[1], l.len[1], "UNKNOWN", 0);
	*consumed = (size_t)eol + 2;
	return PP_OK;
}

/* ---- parsing: version 2 --------------------------------------------------- */

#define PP2_CMD_LOCAL	0x0
#define PP2_CMD_PROXY	0x1
#define PP2_FAM_UNSPEC	0x0
#define PP2_FAM_INET	0x1
#define PP2_FAM_INET6	0x2
#define PP2_FAM_UNIX	0x3
#define PP2_TR_UNSPEC	0x0
#define PP2_TR_STREAM	0x1
#define PP2_TR_DGRAM	0x2

#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02
#define PP2_TYPE_CRC32C		0x03
#define PP2_TYPE_NOOP		0x04
#define PP2_TYPE_UNIQUE_ID	0x05
#define PP2_UNIQUE_ID_MAX	128

static const uint16_t pp2_addr_len[4] = { 0, 12, 36, 216 };

/* Checks on the 13th and 14th bytes, done as soon as they arrive so that
 * garbage is refused without waiting for the rest. */
static enum pp_status pp_v2_check_start(const uint8_t *d, size_t len, char *err, size_t errsz)
{
	size_t n = len < PP_V2_SIG_LEN ? len : PP_V2_SIG_LEN;

	if (memcmp(d, pp_v2_signature, n))
		return pp_fail(err, errsz, "v2: bad signature");
	if (len > 12 && (d[12] >> 4) != 2)
		return pp_fail(err, errsz, "v2: unsupported version");
	if (len > 12 && (d[12] & 0x0f) > PP2_CMD_PROXY)
		return pp_fail(err, errsz, "v2: unknown command");
	if (len > 13 && ((d[13] >> 4) > PP2_FAM_UNIX || (d[13] & 0x0f) > PP2_TR_DGRAM))
		return pp_fail(err, errsz, "v2: unknown address family or transport");
	return PP_OK;
}

/* Record one TLV we understand. Returns 0, or -1 when it is malformed. */
static int pp_v2_tlv(struct pp_info *out, uint8_t type, const uint8_t *v, size_t vlen,
		     const uint8_t **crc_field)
{
	switch (type) {
	case PP2_TYPE_ALPN:
		out->alpn = v;
		out->alpn_len = vlen;
		return 0;
	case PP2_TYPE_AUTHORITY:
		out->authority = v;
		out->authority_len = vlen;
		return 0;
	case PP2_TYPE_UNIQUE_ID:
		if (vlen > PP2_UNIQUE_ID_MAX)
			return -1;
		out->unique_id = v;
		out->unique_id_len = vlen;
		return 0;
	case PP2_TYPE_CRC32C:
		/* two checksums could disagree on what "the" checksum is */
		if (vlen != 4 || *crc_field)
			return -1;
		*crc_field = v;
		return 0;
	default:	/* NOOP, SSL, NETNS, custom: nothing we use */
		return 0;
	}
}

/* Walk the TLVs in hdr[off..total) and verify a checksum if one is there. */
static enum pp_status pp_v2_tlvs(const uint8_t *hdr, size_t off, size_t total,
				 struct pp_info *out, char *err, size_t errsz)
{
	const uint8_t *crc_field = NULL;
	uint32_t want;
	size_t vlen;

	while (off < total) {
		if (total - off < 3)
			return pp_fail(err, errsz, "v2: truncated TLV");
		vlen = (size_t)hdr[off + 1] << 8 | hdr[off + 2];
		if (vlen > total - off - 3)
			return pp_fail(err, errsz, "v2: TLV overruns the header");
		if (pp_v2_tlv(out, hdr[off], hdr + off + 3, vlen, &crc_field) < 0)
			return pp_fail(err, errsz, "v2: malformed TLV");
		off += 3 + vlen;
	}
	if (!crc_field)
		return PP_OK;
	want = (uint32_t)crc_field[0] << 24 | (uint32_t)crc_field[1] << 16 |
	       (uint32_t)crc_field[2] << 8 | crc_field[3];
	if (crc32c_zeroed(hdr, total, (size_t)(crc_field - hdr)) != want)
		return pp_fail(err, errsz, "v2: CRC32C mismatch");
	return PP_OK;
}

static void pp_v2_addresses(const uint8_t *blk, unsigned fam, struct pp_info *out)
{
	uint16_t sp, dp;

	if (fam == PP2_FAM_INET) {
		memcpy(&sp, blk + 8, 2);
		memcpy(&dp, blk + 10, 2);
		set_inet(&out->src, blk, sp);
		set_inet(&out->dst, blk + 4, dp);
	} else {
		memcpy(&sp, blk + 32, 2);
		memcpy(&dp, blk + 34, 2);
		set_inet6(&out->src, blk, sp);
		set_inet6(&out->dst, blk + 16, dp);
	}
}

static enum pp_status pp_parse_v2(const uint8_t *data, size_t len, struct pp_info *out,
				  size_t *consumed, char *err, size_t errsz)
{
	enum pp_status st = pp_v2_check_start(data, len, err, errsz);
	unsigned cmd, fam, tr;
	size_t blen, alen, total;

	if (st != PP_OK)
		return st;
	if (len < PP_V2_HDR_LEN)
		return PP_NEED_MORE;
	cmd = data[12] & 0x0f;
	fam = data[13] >> 4;
	tr = data[13] & 0x0f;
	blen = (size_t)data[14] << 8 | data[15];
	alen = pp2_addr_len[fam];
	/* addresses are only used for PROXY over a known transport; in the
	 * other cases the block is skipped whatever it holds */
	out->local = cmd == PP2_CMD_LOCAL || fam == PP2_FAM_UNSPEC ||
		     fam == PP2_FAM_UNIX || tr == PP2_TR_UNSPEC;
	if (cmd == PP2_CMD_PROXY && fam != PP2_FAM_UNSPEC && tr != PP2_TR_UNSPEC && blen < alen)
		return pp_fail(err, errsz, "v2: length too small for the address family");
	total = PP_V2_HDR_LEN + blen;
	if (len < total)
		return PP_NEED_MORE;
	out->version = 2;
	out->dgram = tr == PP2_TR_DGRAM;
	if (!out->local)
		pp_v2_addresses(data + PP_V2_HDR_LEN, fam, out);
	if (alen <= blen) {
		st = pp_v2_tlvs(data, PP_V2_HDR_LEN + alen, total, out, err, errsz);
		if (st != PP_OK)
			return st;
	}
	*consumed = total;
	return PP_OK;
}

enum pp_status pp_parse(const uint8_t *data, size_t len, struct pp_info *out,
			size_t *consumed, char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (err && errsz)
		err[0] = '\0';
	if (!len)
		return PP_NEED_MORE;
	if (data[0] == 'P')
		return pp_parse_v1(data, len, out, consumed, err, errsz);
	if (data[0] == pp_v2_signature[0])
		return pp_parse_v2(data, len, out, consumed, err, errsz);
	return pp_fail(err, errsz, "not a PROXY protocol header");
}

/* ---- building ------------------------------------------------------------- */

static const void *ss_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return &((const struct sockaddr_in *)ss)->sin_addr;
	return &((const struct sockaddr_in6 *)ss)->sin6_addr;
}

/* The port in network order. */
static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* Both IPv4 or both IPv6: the only pairs a header can describe. */
static int same_ip_family(const struct sockaddr_storage *src, const struct sockaddr_storage *dst)
{
	return src->ss_family == dst->ss_family &&
	       (src->ss_family == AF_INET || src->ss_family == AF_INET6);
}

size_t pp_build_v1(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		   uint8_t *out, size_t outsz)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], line[PP_V1_MAX_LEN + 1];
	int n;

	if (!same_ip_family(src, dst))
		return pp_build_local(1, out, outsz);
	if (!inet_ntop(src->ss_family, ss_addr(src), s, sizeof(s)) ||
	    !inet_ntop(dst->ss_family, ss_addr(dst), d, sizeof(d)))
		return 0;
	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		     src->ss_family == AF_INET ? "TCP4" : "TCP6", s, d,
		     ntohs(ss_port(src)), ntohs(ss_port(dst)));
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > outsz)
		return 0;
	memcpy(out, line, (size_t)n);
	return (size_t)n;
}

static uint8_t *put_tlv(uint8_t *p, uint8_t type, const void *v, size_t vlen)
{
	p[0] = type;
	p[1] = (uint8_t)(vlen >> 8);
	p[2] = (uint8_t)vlen;
	if (vlen)
		memcpy(p + 3, v, vlen);
	return p + 3 + vlen;
}

/* Bytes the TLVs take; more than a header can hold if a value is too long. */
static size_t tlvs_size(const struct pp_tlvs *t)
{
	size_t n = 0;

	if (!t)
		return 0;
	/* each length alone must fit, so that the sum cannot wrap */
	if (t->authority_len > 0xffff || t->alpn_len > 0xffff || t->unique_id_len > 0xffff)
		return PP_V2_MAX_LEN;
	if (t->authority && t->authority_len)
		n += 3 + t->authority_len;
	if (t->alpn && t->alpn_len)
		n += 3 + t->alpn_len;
	if (t->unique_id && t->unique_id_len)
		n += t->unique_id_len > PP2_UNIQUE_ID_MAX ? PP_V2_MAX_LEN : 3 + t->unique_id_len;
	if (t->crc32c)
		n += 3 + 4;
	return n;
}

static uint8_t *put_tlvs(uint8_t *p, const struct pp_tlvs *t)
{
	if (!t)
		return p;
	if (t->authority && t->authority_len)
		p = put_tlv(p, PP2_TYPE_AUTHORITY, t->authority, t->authority_len);
	if (t->alpn && t->alpn_len)
		p = put_tlv(p, PP2_TYPE_ALPN, t->alpn, t->alpn_len);
	if (t->unique_id && t->unique_id_len)
		p = put_tlv(p, PP2_TYPE_UNIQUE_ID, t->unique_id, t->unique_id_len);
	return p;
}

static uint8_t *put_addresses(uint8_t *p, const struct sockaddr_storage *src,
			      const struct sockaddr_storage *dst)
{
	size_t alen = src->ss_family == AF_INET ? 4 : 16;
	uint16_t sp = ss_port(src), dp = ss_port(dst);

	memcpy(p, ss_addr(src), alen);
	memcpy(p + alen, ss_addr(dst), alen);
	memcpy(p + 2 * alen, &sp, 2);
	memcpy(p + 2 * alen + 2, &dp, 2);
	return p + 2 * alen + 4;
}

/* Addresses that no header can carry (mixed or non-IP families) go out as
 * family UNSPEC: the server then keeps the connection's own addresses. */
size_t pp_build_v2(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		   int dgram, const struct pp_tlvs *tlvs, uint8_t *out, size_t outsz)
{
	unsigned fam = !same_ip_family(src, dst) ? PP2_FAM_UNSPEC :
		       src->ss_family == AF_INET ? PP2_FAM_INET : PP2_FAM_INET6;
	size_t blen = pp2_addr_len[fam] + tlvs_size(tlvs), total = PP_V2_HDR_LEN + blen;
	uint8_t *p = out + PP_V2_HDR_LEN;
	uint32_t crc;

	if (blen > 0xffff || total > outsz)
		return 0;
	memcpy(out, pp_v2_signature, PP_V2_SIG_LEN);
	out[12] = 0x20 | PP2_CMD_PROXY;
	out[13] = (uint8_t)(fam << 4 | (fam == PP2_FAM_UNSPEC ? PP2_TR_UNSPEC :
					dgram ? PP2_TR_DGRAM : PP2_TR_STREAM));
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (fam != PP2_FAM_UNSPEC)
		p = put_addresses(p, src, dst);
	p = put_tlvs(p, tlvs);
	if (tlvs && tlvs->crc32c) {
		/* last, so that it covers everything else */
		p = put_tlv(p, PP2_TYPE_CRC32C, "\0\0\0\0", 4);
		crc = pp_crc32c(out, total);
		p[-4] = (uint8_t)(crc >> 24);
		p[-3] = (uint8_t)(crc >> 16);
		p[-2] = (uint8_t)(crc >> 8);
		p[-1] = (uint8_t)crc;
	}
	return total;
}

/* ---- keywords --------------------------------------------------------------- */

static int bind_kw_accept_proxy(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)ctx;
	(void)args;
	bc->accept_proxy = 1;
	return 0;
}

static struct bind_kw_list pp_bind_kws = {
	.kws = (const struct bind_kw[]){
		{ "accept-proxy", bind_kw_accept_proxy },
		{ NULL, NULL },
	},
};

/* send-proxy, send-proxy-v2 and their "no-" forms (to undo a
 * default-server setting). Both may be set: v2 is then sent. */
static int srv_kw_send_proxy(struct cfg_ctx *ctx, struct server *s, char **args)
{
	const char *kw = args[0];
	int off = !strncmp(kw, "no-", 3);
	unsigned flag = !strcmp(kw + (off ? 3 : 0), "send-proxy-v2") ?
			SRV_F_SEND_PROXY_V2 : SRV_F_SEND_PROXY;

	(void)ctx;
	if (off)
		s->flags &= ~flag;
	else
		s->flags |= flag;
	return 0;
}

static const char *const pp_tls_options[] = {
	"ssl", "cert-cn", "ssl-cipher", "cert-sig", "cert-key", NULL
};

/* One option of "proxy-v2-options" into *opts. Returns 0 or -1. */
static int pp_v2_option(struct cfg_ctx *ctx, struct server *s, const char *opt, unsigned *opts)
{
	int i;

	if (!strcmp(opt, "authority")) {
		*opts |= PP_OPT_AUTHORITY;
		return 0;
	}
	if (!strcmp(opt, "crc32c")) {
		*opts |= PP_OPT_CRC32C;
		return 0;
	}
	if (!strcmp(opt, "unique-id"))
		return srv_cfg_err(ctx, s, "'proxy-v2-options': 'unique-id' needs 'unique-id-format', "
				   "which sluice does not implement; remove 'unique-id'");
	for (i = 0; pp_tls_options[i]; i++)
		if (!strcmp(opt, pp_tls_options[i]))
			return srv_cfg_err(ctx, s, "'proxy-v2-options': '%s' describes a TLS session, "
					   "but sluice does not terminate TLS; remove '%s'", opt, opt);
	return srv_cfg_err(ctx, s, "'proxy-v2-options': unknown option '%s' "
			   "(expects a comma-separated list of 'authority', 'crc32c')", opt);
}

static int srv_kw_proxy_v2_options(struct cfg_ctx *ctx, struct server *s, char **args)
{
	char opt[64];
	const char *p, *comma;
	unsigned opts = 0;
	size_t n;

	if (!args[1] || !*args[1])
		return srv_cfg_err(ctx, s, "'%s' expects a comma-separated list of options "
				   "('authority', 'crc32c')", args[0]);
	for (p = args[1]; ; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (!n || n >= sizeof(opt))
			return srv_cfg_err(ctx, s, "'%s': empty or oversized option in '%s'",
					   args[0], args[1]);
		memcpy(opt, p, n);
		opt[n] = '\0';
		if (pp_v2_option(ctx, s, opt, &opts) < 0)
			return -1;
		if (!comma)
			break;
	}
	s->pp_opts |= opts;
	return 1;
}

static struct srv_kw_list pp_srv_kws = {
	.kws = (const struct srv_kw[]){
		{ "send-proxy", srv_kw_send_proxy, 1 },
		{ "send-proxy-v2", srv_kw_send_proxy, 1 },
		{ "no-send-proxy", srv_kw_send_proxy, 1 },
		{ "no-send-proxy-v2", srv_kw_send_proxy, 1 },
		{ "proxy-v2-options", srv_kw_proxy_v2_options, 1 },
		{ NULL, NULL, 0 },
	},
};

static int smp_fetch_fc_rcvd_proxy(const struct sample_arg *args, struct sample *out,
				   const struct smp_ctx *ctx)
{
	(void)args;
	out->type = SMP_T_BOOL;
	out->u.sint = ctx->sess && (ctx->sess->flags & SF_PROXY_RCVD);
	return 1;
}

static const struct sample_fetch pp_fetches[] = {
	{ "fc_rcvd_proxy", smp_fetch_fc_rcvd_proxy, SMP_T_BOOL, 0, 0, NULL, NULL },
	{ NULL }
};

static struct sample_fetch_list pp_fetch_list = { .kws = pp_fetches };

__attribute__((constructor)) static void pp_register(void)
{
	bind_register_keywords(&pp_bind_kws);
	srv_register_keywords(&pp_srv_kws);
	sample_register_fetches(&pp_fetch_list);
}
