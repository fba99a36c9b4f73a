/* fuzz_proxy_proto.c - libFuzzer target for the PROXY protocol.
 * The first byte picks the test: even, the rest is what a client sent and
 * goes to pp_parse; odd, the rest describes a connection (families,
 * addresses, ports, TLVs) that is built as v1 and v2 headers and parsed
 * back. Beyond memory errors, the target checks what callers rely on:
 * consumed within the data, TLV pointers inside the header, every prefix
 * of a valid header asks for more, and build -> parse gives back what was
 * built. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sluice/proxy_proto.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	if (!p) {
		CHECK(n == 0);
		return;
	}
	CHECK(p >= base && n <= len && (size_t)(p - base) <= len - n);
}

static void check_info(const struct pp_info *pi, const uint8_t *d, size_t used)
{
	CHECK(pi->version == 1 || pi->version == 2);
	check_inside(pi->authority, pi->authority_len, d, used);
	check_inside(pi->alpn, pi->alpn_len, d, used);
	check_inside(pi->unique_id, pi->unique_id_len, d, used);
	CHECK(pi->unique_id_len <= 128);
	if (pi->local) {
		CHECK(pi->src.ss_family == AF_UNSPEC && pi->dst.ss_family == AF_UNSPEC);
		return;
	}
	CHECK(pi->src.ss_family == AF_INET || pi->src.ss_family == AF_INET6);
	CHECK(pi->dst.ss_family == pi->src.ss_family);
	if (pi->version == 1)
		CHECK(!pi->authority && !pi->alpn && !pi->unique_id && !pi->dgram);
}

/* Prefixes of a valid header: a sample of them, all must wait for more. */
static void check_prefixes(const uint8_t *d, size_t used)
{
	struct pp_info pi;
	size_t p, n, step = used / 16 + 1;

	for (p = 0; p < used; p += (used - p > 4 ? step : 1)) {
		CHECK(pp_parse(d, p, &pi, &n, NULL, 0) == PP_NEED_MORE);
	}
}

static void fuzz_parse(const uint8_t *d, size_t len)
{
	struct pp_info pi, again;
	char err[64];
	size_t used = 0, used2 = 0;
	enum pp_status st;

	memset(err, 'x', sizeof(err));
	st = pp_parse(d, len, &pi, &used, err, sizeof(err));
	CHECK(st == PP_OK || st == PP_NEED_MORE || st == PP_INVALID);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (st == PP_NEED_MORE)
		CHECK(len < PP_V2_MAX_LEN && (!len || d[0] != 'P' || len < PP_V1_MAX_LEN));
	if (st == PP_INVALID)
		CHECK(err[0] != '\0');
	if (st != PP_OK)
		return;
	CHECK(used > 0 && used <= len);
	CHECK(pi.version != 1 || used <= PP_V1_MAX_LEN);
	check_info(&pi, d, used);
	/* a header is self-delimiting: exactly its bytes parse the same */
	CHECK(pp_parse(d, used, &again, &used2, NULL, 0) == PP_OK && used2 == used);
	CHECK(again.local == pi.local && again.dgram == pi.dgram &&
	      !memcmp(&again.src, &pi.src, sizeof(pi.src)) &&
	      !memcmp(&again.dst, &pi.dst, sizeof(pi.dst)));
	check_prefixes(d, used);
}

/* ---- build -> parse ------------------------------------------------------ */

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static void rd_addr(struct reader *r, struct sockaddr_storage *ss, int v6)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	uint8_t *a = v6 ? in6->sin6_addr.s6_addr : (uint8_t *)&in->sin_addr;
	uint16_t port;
	size_t i;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = v6 ? AF_INET6 : AF_INET;
	for (i = 0; i < (v6 ? 16u : 4u); i++)
		a[i] = rd8(r);
	port = (uint16_t)(rd8(r) << 8 | rd8(r));
	if (v6)
		in6->sin6_port = port;
	else
		in->sin_port = port;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* A TLV value: a length byte, then that many bytes (or fewer at the end). */
static void rd_tlv(struct reader *r, const uint8_t **v, size_t *len)
{
	size_t n = rd8(r);

	if (n > r->n)
		n = r->n;
	*v = n ? r->p : NULL;
	*len = n;
	r->p += n;
	r->n -= n;
}

static void check_tlv(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
	CHECK(glen == wlen);
	CHECK(!wlen || !memcmp(got, want, wlen));
}

static void roundtrip(const struct sockaddr_storage *s, const struct sockaddr_storage *d,
		      int dgram, const struct pp_tlvs *t)
{
	static uint8_t out[PP_V2_HDR_LEN + 1024];
	int same = s->ss_family == d->ss_family;
	struct pp_info pi;
	size_t n, used;

	n = pp_build_v1(s, d, out, sizeof(out));
	CHECK(n > 0 && n <= PP_V1_MAX_LEN);
	CHECK(pp_parse(out, n, &pi, &used, NULL, 0) == PP_OK && used == n);
	CHECK(pi.local == !same);
	CHECK(!same || (same_addr(&pi.src, s) && same_addr(&pi.dst, d)));
	check_prefixes(out, n);

	n = pp_build_v2(s, d, dgram, t, out, sizeof(out));
	CHECK(n >= PP_V2_HDR_LEN);
	CHECK(pp_parse(out, n, &pi, &used, NULL, 0) == PP_OK && used == n);
	CHECK(pi.local == !same);
	CHECK(!same || (same_addr(&pi.src, s) && same_addr(&pi.dst, d) && pi.dgram == dgram));
	check_tlv(pi.authority, pi.authority_len, t->authority, t->authority_len);
	check_tlv(pi.alpn, pi.alpn_len, t->alpn, t->alpn_len);
	check_tlv(pi.unique_id, pi.unique_id_len, t->unique_id, t->unique_id_len);
	check_prefixes(out, n);
	if (t->crc32c) {
		/* bytes whose change leaves the format intact: only the
		 * checksum can catch it */
		out[n - 1] ^= 0x01;
		CHECK(pp_parse(out, n, &pi, &used, NULL, 0) == PP_INVALID);
		out[n - 1] ^= 0x01;
		if (same) {
			out[PP_V2_HDR_LEN] ^= 0x80;
			CHECK(pp_parse(out, n, &pi, &used, NULL, 0) == PP_INVALID);
			out[PP_V2_HDR_LEN] ^= 0x80;
		}
	}
	CHECK(pp_build_v2(s, d, dgram, t, out, n - 1) == 0);
}

static void fuzz_build(const uint8_t *d, size_t len)
{
	struct reader r = { d, len };
	struct sockaddr_storage src, dst;
	struct pp_tlvs t;
	uint8_t how = rd8(&r);

	rd_addr(&r, &src, how & 1);
	rd_addr(&r, &dst, (how >> 1) & 1);
	memset(&t, 0, sizeof(t));
	t.crc32c = (how >> 3) & 1;
	rd_tlv(&r, &t.authority, &t.authority_len);
	rd_tlv(&r, &t.alpn, &t.alpn_len);
	rd_tlv(&r, &t.unique_id, &t.unique_id_len);
	if (t.unique_id_len > 128)
		t.unique_id_len = 128;
	roundtrip(&src, &dst, (how >> 2) & 1, &t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_build(data + 1, size - 1);
	else
		fuzz_parse(data + 1, size - 1);
	return 0;
}
