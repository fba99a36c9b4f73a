/* test_tls_hello.c - the ClientHello parser and the req.ssl_* fetches.
 *
 * The four captured hellos were recorded from "openssl s_client" (OpenSSL
 * 3.0) connecting to a local listener: TLS 1.3 and 1.2 (-tls1_2), with
 * -servername a.example -alpn h2,http/1.1, and without SNI or ALPN
 * (-noservername). Other hellos are built here, so that each field can be
 * bent on purpose: GREASE values, oversized names, lying lengths,
 * fragmentation over several records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sample.h>
#include <sluice/tls_hello.h>
#include "ut.h"
#include "ut_smp.h"

static const uint8_t tls13_sni_alpn[] = {
	0x16, 0x03, 0x01, 0x01, 0x48, 0x01, 0x00, 0x01, 0x44, 0x03, 0x03, 0xb1,
	0xd0, 0x2f, 0x77, 0x5e, 0x64, 0x19, 0xbe, 0x60, 0x12, 0x06, 0x9b, 0x7e,
	0xa8, 0x51, 0x78, 0xa3, 0xde, 0x07, 0x1f, 0x0d, 0x8b, 0xff, 0xda, 0x05,
	0x28, 0x1c, 0x8d, 0x21, 0x08, 0x9b, 0x47, 0x20, 0xf5, 0x04, 0xe8, 0x71,
	0x54, 0x67, 0x13, 0xb3, 0xa6, 0x3c, 0xac, 0xa6, 0x17, 0xbc, 0xf4, 0xc6,
	0x35, 0x69, 0xfa, 0xaa, 0x4b, 0x82, 0x01, 0x51, 0x06, 0x51, 0x83, 0x79,
	0x58, 0xb0, 0xb5, 0xef, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xbd,
	0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 0x61, 0x2e, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00,
	0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17,
	0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02,
	0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e,
	0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31,
	0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09,
	0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00,
	0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0x10, 0x9e, 0xac, 0x49, 0xdc, 0x22, 0xcd, 0xd0, 0xc5, 0xf5, 0xdb,
	0x0d, 0x44, 0x47, 0xc7, 0xec, 0x79, 0x85, 0x13, 0x09, 0xa2, 0x75, 0x96,
	0xf5, 0x4b, 0x8e, 0x78, 0x8e, 0x5f, 0x97, 0xb9, 0x73,
};

static const uint8_t tls12_sni_alpn[] = {
	0x16, 0x03, 0x01, 0x00, 0xdb, 0x01, 0x00, 0x00, 0xd7, 0x03, 0x03, 0xd4,
	0xc3, 0x0e, 0x4c, 0x80, 0x4f, 0x37, 0x19, 0x8e, 0x6b, 0x50, 0xc1, 0x97,
	0xe7, 0x06, 0x8e, 0x45, 0x28, 0xd9, 0x63, 0x6e, 0xd6, 0xc3, 0x39, 0x7e,
	0x97, 0x43, 0xb4, 0x52, 0x9f, 0x8b, 0xec, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x76, 0x00, 0x00,
	0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 0x61, 0x2e, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,
	0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e,
	0x00, 0x19, 0x00, 0x18, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e,
	0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31,
	0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};

static const uint8_t tls12_nosni[] = {
	0x16, 0x03, 0x01, 0x00, 0xb7, 0x01, 0x00, 0x00, 0xb3, 0x03, 0x03, 0x75,
	0x04, 0x18, 0x6b, 0xb3, 0x9a, 0x69, 0xf1, 0x9a, 0xab, 0x8f, 0x88, 0x46,
	0xe2, 0xdb, 0xce, 0xda, 0x94, 0xe6, 0x8c, 0x4d, 0xb8, 0x48, 0x30, 0x6a,
	0x07, 0x4e, 0xe6, 0x89, 0x02, 0x01, 0x6d, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x52, 0x00, 0x0b,
	0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};

static const uint8_t tls13_nosni[] = {
	0x16, 0x03, 0x01, 0x01, 0x24, 0x01, 0x00, 0x01, 0x20, 0x03, 0x03, 0xe4,
	0x31, 0xa1, 0xb3, 0x29, 0xd5, 0x51, 0x67, 0x87, 0x12, 0xa8, 0x8f, 0x97,
	0xdb, 0xb4, 0xce, 0x88, 0x78, 0x29, 0xdb, 0xea, 0xc5, 0x9f, 0x73, 0x5f,
	0xc4, 0xc2, 0x9a, 0xac, 0xb6, 0xbe, 0xf2, 0x20, 0x03, 0x4c, 0xf0, 0xb4,
	0xc6, 0x2c, 0x3a, 0xcb, 0xd9, 0x04, 0x98, 0x8b, 0x80, 0x96, 0x05, 0x2d,
	0x82, 0xde, 0x98, 0xd7, 0x3d, 0x00, 0x74, 0xa9, 0xfc, 0xa3, 0xaa, 0xc2,
	0x03, 0x20, 0x36, 0xe9, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x99,
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16,
	0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09,
	0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00,
	0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0x96, 0x39, 0x10, 0xb6, 0x66, 0xd9, 0x48, 0xa6, 0x8c, 0x6e, 0x7b,
	0x4a, 0x60, 0xa9, 0xeb, 0x3a, 0xaa, 0xc0, 0x8d, 0x10, 0x27, 0xd8, 0x0a,
	0xd2, 0x4c, 0x2c, 0x22, 0xb4, 0xd8, 0x74, 0x2b, 0x75,
};

struct capture {
	const char *name;
	const uint8_t *data;
	size_t len;
	const char *sni;	/* NULL: none expected */
	uint16_t max_version;
};

static const struct capture captures[] = {
	{ "tls13_sni_alpn", tls13_sni_alpn, sizeof(tls13_sni_alpn), "a.example", 0x0304 },
	{ "tls12_sni_alpn", tls12_sni_alpn, sizeof(tls12_sni_alpn), "a.example", 0x0303 },
	{ "tls12_nosni",    tls12_nosni,    sizeof(tls12_nosni),    NULL,        0x0303 },
	{ "tls13_nosni",    tls13_nosni,    sizeof(tls13_nosni),    NULL,        0x0304 },
};
#define NCAPTURES (sizeof(captures) / sizeof(captures[0]))

#define SCRATCH_SIZE (16384 + 1024)
static uint8_t scratch[SCRATCH_SIZE];
static uint8_t buf[70000];	/* records under construction */
static uint8_t msg[70000];	/* a handshake message under construction */

/* ---- helpers ---- */

static int in_range(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
	return p >= base && n <= size && (size_t)(p - base) <= size - n;
}

/* Parses and checks what every answer must satisfy, whatever the input. */
static enum tls_hello_status parse_sz(const uint8_t *d, size_t len, size_t ssize, struct tls_hello *h)
{
	enum tls_hello_status st = tls_hello_parse(d, len, scratch, ssize, h);

	if (st != TLS_HELLO_OK) {
		if (h->sni || h->alpn || h->sni_len || h->alpn_len || h->hello_version || h->max_version) {
			UT_CHECK(!"fields left set on failure");
		}
		return st;
	}
	if (h->sni && !in_range(h->sni, h->sni_len, d, len) && !in_range(h->sni, h->sni_len, scratch, ssize))
		UT_CHECK(!"sni outside data and scratch");
	if (h->alpn && !in_range(h->alpn, h->alpn_len, d, len) && !in_range(h->alpn, h->alpn_len, scratch, ssize))
		UT_CHECK(!"alpn outside data and scratch");
	if (h->sni_len > TLS_HELLO_MAX_SNI)
		UT_CHECK(!"sni too long");
	return st;
}

static enum tls_hello_status parse(const uint8_t *d, size_t len, struct tls_hello *h)
{
	return parse_sz(d, len, SCRATCH_SIZE, h);
}

static int sni_is(const struct tls_hello *h, const char *want)
{
	if (!want)
		return h->sni == NULL && h->sni_len == 0;
	return h->sni && h->sni_len == strlen(want) && !memcmp(h->sni, want, h->sni_len);
}

static int first_alpn_is(const struct tls_hello *h, const char *want)
{
	const uint8_t *name;
	size_t n;

	if (tls_hello_first_alpn(h->alpn, h->alpn_len, &name, &n) < 0)
		return want == NULL;
	return want && n == strlen(want) && !memcmp(name, want, n);
}

/* Rewraps handshake message m (len bytes) into records whose fragments
 * have the sizes in cuts (the last record takes what is left). */
static size_t wrap(uint8_t *out, const uint8_t *m, size_t len, const size_t *cuts, int ncuts)
{
	size_t o = 0, done = 0, n;
	int i;

	for (i = 0; done < len; i++) {
		n = i < ncuts && cuts[i] < len - done ? cuts[i] : len - done;
		out[o++] = 0x16;
		out[o++] = 0x03;
		out[o++] = 0x01;
		out[o++] = (uint8_t)(n >> 8);
		out[o++] = (uint8_t)n;
		memcpy(out + o, m + done, n);
		o += n;
		done += n;
	}
	return o;
}

/* The handshake message of a captured single-record hello. */
static const uint8_t *cap_msg(const struct capture *c, size_t *len)
{
	*len = c->len - 5;
	return c->data + 5;
}

/* ---- building hellos ---- */

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t ext_raw(uint8_t *p, unsigned type, const void *data, size_t len)
{
	put16(p, type);
	put16(p + 2, (unsigned)len);
	memcpy(p + 4, data, len);
	return 4 + len;
}

static size_t ext_sni(uint8_t *p, const char *name, size_t len)
{
	uint8_t d[16384];

	put16(d, (unsigned)(len + 3));
	d[2] = 0;
	put16(d + 3, (unsigned)len);
	memcpy(d + 5, name, len);
	return ext_raw(p, 0x0000, d, len + 5);
}

/* names: NULL-terminated */
static size_t ext_alpn(uint8_t *p, const char *const *names)
{
	uint8_t d[1024];
	size_t n = 2, l;

	for (; *names; names++) {
		l = strlen(*names);
		d[n++] = (uint8_t)l;
		memcpy(d + n, *names, l);
		n += l;
	}
	put16(d, (unsigned)(n - 2));
	return ext_raw(p, 0x0010, d, n);
}

static size_t ext_versions(uint8_t *p, const uint16_t *v, int nv)
{
	uint8_t d[256];
	int i;

	d[0] = (uint8_t)(2 * nv);
	for (i = 0; i < nv; i++)
		put16(d + 1 + 2 * i, v[i]);
	return ext_raw(p, 0x002b, d, 1 + 2 * (size_t)nv);
}

/* A ClientHello message (with its 4-byte header) into msg. exts == NULL:
 * no extensions block at all. */
static size_t build_hello(const uint8_t *exts, size_t exts_len)
{
	size_t n = 4;

	n += put16(msg + n, 0x0303);
	memset(msg + n, 0x5a, 32);
	n += 32;
	msg[n++] = 32;				/* session id */
	memset(msg + n, 0x33, 32);
	n += 32;
	n += put16(msg + n, 4);			/* two cipher suites */
	n += put16(msg + n, 0x1301);
	n += put16(msg + n, 0xc02f);
	msg[n++] = 1;				/* null compression */
	msg[n++] = 0;
	if (exts) {
		n += put16(msg + n, (unsigned)exts_len);
		memcpy(msg + n, exts, exts_len);
		n += exts_len;
	}
	msg[0] = 1;
	msg[1] = (uint8_t)((n - 4) >> 16);
	msg[2] = (uint8_t)((n - 4) >> 8);
	msg[3] = (uint8_t)(n - 4);
	return n;
}

/* build_hello() wrapped in a single record. */
static size_t hello_record(const uint8_t *exts, size_t exts_len)
{
	size_t n = build_hello(exts, exts_len);
	size_t big = n;

	return wrap(buf, msg, n, &big, 1);
}

/* ---- captured hellos ---- */

static void test_captures(void)
{
	struct tls_hello h;
	size_t i;

	for (i = 0; i < NCAPTURES; i++) {
		const struct capture *c = &captures[i];

		UT_EQ_INT(parse(c->data, c->len, &h), TLS_HELLO_OK);
		UT_EQ_INT(h.hs_type, 1);
		UT_EQ_INT(h.record_version, 0x0301);
		UT_EQ_INT(h.hello_version, 0x0303);
		UT_EQ_INT(h.max_version, c->max_version);
		UT_CHECK(sni_is(&h, c->sni));
		UT_CHECK(first_alpn_is(&h, c->sni ? "h2" : NULL));
		/* unfragmented: parsed in place, nothing copied */
		if (c->sni)
			UT_CHECK(in_range(h.sni, h.sni_len, c->data, c->len));
	}
	/* the whole ALPN list is exposed, each name length-prefixed */
	parse(tls12_sni_alpn, sizeof(tls12_sni_alpn), &h);
	UT_EQ_INT(h.alpn_len, 12);
	UT_CHECK(h.alpn && !memcmp(h.alpn, "\x02h2\x08http/1.1", 12));
}

/* Every prefix of a hello is "need more", never an answer. */
static void test_prefixes(void)
{
	struct tls_hello h;
	size_t i, n;
	int bad;

	UT_EQ_INT(parse(NULL, 0, &h), TLS_HELLO_NEED_MORE);
	UT_EQ_INT(parse((const uint8_t *)"", 0, &h), TLS_HELLO_NEED_MORE);
	for (i = 0; i < NCAPTURES; i++) {
		bad = 0;
		for (n = 0; n < captures[i].len; n++)
			if (parse(captures[i].data, n, &h) != TLS_HELLO_NEED_MORE)
				bad++;
		UT_EQ_INT(bad, 0);
		UT_EQ_INT(parse(captures[i].data, captures[i].len, &h), TLS_HELLO_OK);
	}
	/* what is known early is reported early */
	parse(tls13_sni_alpn, 3, &h);
	UT_EQ_INT(h.record_version, 0x0301);
	UT_EQ_INT(h.hs_type, 0);
	parse(tls13_sni_alpn, 6, &h);
	UT_EQ_INT(h.hs_type, 1);
	UT_CHECK(h.sni == NULL && h.max_version == 0);
}

/* Bytes after the hello (a client sending early data, say) are not ours. */
static void test_trailing_records(void)
{
	struct tls_hello h;
	size_t n = sizeof(tls13_sni_alpn);

	memcpy(buf, tls13_sni_alpn, n);
	memcpy(buf + n, "\x17\x03\x03\x00\x05hello", 10);
	UT_EQ_INT(parse(buf, n + 10, &h), TLS_HELLO_OK);
	UT_CHECK(sni_is(&h, "a.example"));
}

/* ---- fragmentation ---- */

static void check_fragmented(const uint8_t *d, size_t len, const struct capture *c, int *bad)
{
	struct tls_hello h;

	if (parse(d, len, &h) != TLS_HELLO_OK || !sni_is(&h, c->sni) ||
	    !first_alpn_is(&h, c->sni ? "h2" : NULL) || h.max_version != c->max_version)
		(*bad)++;
}

/* The message split over 2 records at every byte, and over 3 records at
 * many pairs of points, including inside the 4-byte message header. */
static void test_fragmented(void)
{
	size_t mlen, n, a, b, cuts[2];
	const uint8_t *m;
	size_t i;
	int bad = 0, bad3 = 0;

	for (i = 0; i < NCAPTURES; i++) {
		m = cap_msg(&captures[i], &mlen);
		for (a = 1; a < mlen; a++) {
			cuts[0] = a;
			n = wrap(buf, m, mlen, cuts, 1);
			check_fragmented(buf, n, &captures[i], &bad);
		}
		for (a = 1; a < mlen; a += 7)
			for (b = 1; a + b < mlen; b += 5) {
				cuts[0] = a;
				cuts[1] = b;
				n = wrap(buf, m, mlen, cuts, 2);
				check_fragmented(buf, n, &captures[i], &bad3);
			}
	}
	UT_EQ_INT(bad, 0);
	UT_EQ_INT(bad3, 0);
}

/* Fragmented: the strings point into scratch, and every prefix waits. */
static void test_fragmented_prefixes(void)
{
	size_t mlen, n, k, cuts[2] = { 2, 100 };
	const uint8_t *m = cap_msg(&captures[0], &mlen);
	struct tls_hello h;
	int bad = 0;

	n = wrap(buf, m, mlen, cuts, 2);
	UT_EQ_INT(n, mlen + 15);
	for (k = 0; k < n; k++)
		if (parse(buf, k, &h) != TLS_HELLO_NEED_MORE)
			bad++;
	UT_EQ_INT(bad, 0);
	UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_OK);
	UT_CHECK(in_range(h.sni, h.sni_len, scratch, sizeof(scratch)));
	UT_CHECK(in_range(h.alpn, h.alpn_len, scratch, sizeof(scratch)));
}

/* Records other than handshake records in the middle of a hello. */
static void test_wrong_record_in_middle(void)
{
	size_t mlen, n, cuts[2] = { 50, 60 };
	const uint8_t *m = cap_msg(&captures[0], &mlen);
	static const uint8_t types[] = { 0x14, 0x15, 0x17, 0x00, 0x80, 0xff };
	struct tls_hello h;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		n = wrap(buf, m, mlen, cuts, 2);
		buf[5 + 50] = types[i];			/* second record's type */
		UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_INVALID);
		UT_EQ_INT(parse(buf, 5 + 50 + 1, &h), TLS_HELLO_INVALID);	/* seen as soon as it is there */
		n = wrap(buf, m, mlen, cuts, 2);
		buf[5 + 50 + 5 + 60] = types[i];	/* third record's type */
		UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_INVALID);
	}
	n = wrap(buf, m, mlen, cuts, 2);
	buf[5 + 50 + 1] = 0x02;				/* second record's version */
	UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_INVALID);
	n = wrap(buf, m, mlen, cuts, 2);
	buf[5 + 50 + 3] = 0;				/* empty second record */
	buf[5 + 50 + 4] = 0;
	UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_INVALID);
}

/* A hello larger than scratch is invalid, fragmented or not. */
static void test_scratch_size(void)
{
	size_t mlen, n, cut = 100;
	const uint8_t *m = cap_msg(&captures[0], &mlen);
	struct tls_hello h;

	UT_EQ_INT(parse_sz(tls13_sni_alpn, sizeof(tls13_sni_alpn), mlen, &h), TLS_HELLO_OK);
	UT_EQ_INT(parse_sz(tls13_sni_alpn, sizeof(tls13_sni_alpn), mlen - 1, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(h.hs_type, 1);
	n = wrap(buf, m, mlen, &cut, 1);
	UT_EQ_INT(parse_sz(buf, n, mlen, &h), TLS_HELLO_OK);
	UT_EQ_INT(parse_sz(buf, n, mlen - 1, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(parse_sz(buf, 9, mlen - 1, &h), TLS_HELLO_INVALID);	/* known from the header */
	UT_EQ_INT(parse_sz(buf, n, 3, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(parse_sz(buf, n, 0, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(tls_hello_parse(buf, n, NULL, 0, &h), TLS_HELLO_INVALID);
}

/* ---- lying lengths ---- */

struct lenfield {
	size_t off;
	int width;
};

static size_t rd(const uint8_t *p, int width)
{
	size_t v = 0;

	while (width--)
		v = v << 8 | *p++;
	return v;
}

static void add_field(struct lenfield *f, int *nf, size_t off, int width)
{
	f[*nf].off = off;
	f[(*nf)++].width = width;
}

/* Length fields inside one extension we parse. */
static void ext_length_fields(const uint8_t *d, size_t e, unsigned type, struct lenfield *f, int *nf)
{
	size_t elen = rd(d + e + 2, 2), p = e + 4, end = e + 4 + elen;

	if (type == 0x0000) {
		add_field(f, nf, p, 2);		/* server_name_list */
		add_field(f, nf, p + 3, 2);	/* host_name */
	} else if (type == 0x0010) {
		add_field(f, nf, p, 2);		/* protocol_name_list */
		for (p += 2; p < end; p += 1 + d[p])
			add_field(f, nf, p, 1);
	} else if (type == 0x002b) {
		add_field(f, nf, p, 1);
	}
}

/* Offsets of every length field of a single-record hello (a test-side walk
 * over a hello known to be well formed). */
static int length_fields(const uint8_t *d, size_t len, struct lenfield *f)
{
	size_t p = 5 + 4 + 2 + 32, end;
	int nf = 0;

	add_field(f, &nf, 3, 2);			/* record */
	add_field(f, &nf, 6, 3);			/* handshake message */
	add_field(f, &nf, p, 1);			/* session id */
	p += 1 + d[p];
	add_field(f, &nf, p, 2);			/* cipher suites */
	p += 2 + rd(d + p, 2);
	add_field(f, &nf, p, 1);			/* compression methods */
	p += 1 + d[p];
	add_field(f, &nf, p, 2);			/* extensions */
	end = p + 2 + rd(d + p, 2);
	for (p += 2; p < end && p < len; p += 4 + rd(d + p + 2, 2)) {
		add_field(f, &nf, p + 2, 2);
		ext_length_fields(d, p, (unsigned)rd(d + p, 2), f, &nf);
	}
	return nf;
}

/* Each byte of each length field moved up and down by one (and set to 0
 * and 0xff): the parser must see through it, never answering OK. */
static void test_lying_lengths(void)
{
	static const int deltas[] = { 1, -1, 0x100, -0x100 };
	struct lenfield f[128];
	struct tls_hello h;
	size_t i, k, len;
	int nf, j, b, d, bad = 0, tried = 0;
	enum tls_hello_status st;

	for (i = 0; i < NCAPTURES; i++) {
		len = captures[i].len;
		nf = length_fields(captures[i].data, len, f);
		UT_CHECK(nf >= 8);
		for (j = 0; j < nf; j++)
			for (b = 0; b < f[j].width; b++)
				for (d = 0; d < 4; d++) {
					memcpy(buf, captures[i].data, len);
					k = f[j].off + b;
					buf[k] = d < 2 ? (uint8_t)(buf[k] + deltas[d]) : (d == 2 ? 0 : 0xff);
					if (buf[k] == captures[i].data[k])
						continue;
					st = parse(buf, len, &h);
					tried++;
					if (st != TLS_HELLO_INVALID && st != TLS_HELLO_NEED_MORE) {
						bad++;
						fprintf(stderr, "  %s: byte %zu set to 0x%02x: status %d\n",
							captures[i].name, k, buf[k], st);
					}
				}
	}
	UT_CHECK(tried > 200);
	UT_EQ_INT(bad, 0);
}

/* Every byte of every capture set to every value: no crash, no pointer
 * outside the input or scratch (checked by parse()). */
static void test_every_byte(void)
{
	struct tls_hello h;
	size_t i, k;
	unsigned v, ok = 0, total = 0;

	for (i = 0; i < NCAPTURES; i++) {
		for (k = 0; k < captures[i].len; k++) {
			memcpy(buf, captures[i].data, captures[i].len);
			for (v = 0; v < 256; v++) {
				buf[k] = (uint8_t)v;
				ok += parse(buf, captures[i].len, &h) == TLS_HELLO_OK;
				total++;
			}
		}
	}
	UT_CHECK(ok > 0 && ok < total);
	/* the first byte decides: only 0x16 is TLS */
	memcpy(buf, tls12_nosni, sizeof(tls12_nosni));
	for (v = 0, k = 0; v < 256; v++) {
		buf[0] = (uint8_t)v;
		k += v != 0x16 && parse(buf, sizeof(tls12_nosni), &h) != TLS_HELLO_NOT_TLS;
		k += v != 0x16 && parse(buf, 1, &h) != TLS_HELLO_NOT_TLS;
	}
	UT_EQ_INT(k, 0);
}

/* ---- built hellos ---- */

static const char *const h2_http11[] = { "h2", "http/1.1", NULL };

static void test_grease(void)
{
	static const uint16_t v13[] = { 0x7a7a, 0x0304, 0x0303, 0x7f1c, 0xfafa };
	static const uint16_t only_grease[] = { 0x0a0a, 0x1a1a };
	static const uint16_t old[] = { 0x0302, 0x0301 };
	uint8_t e[512];
	struct tls_hello h;
	size_t n = 0;

	n += ext_raw(e + n, 0x2a2a, "", 0);		/* GREASE extension, empty */
	n += ext_sni(e + n, "grease.example", 14);
	n += ext_raw(e + n, 0x4a4a, "\x00", 1);	/* another, with a byte */
	n += ext_alpn(e + n, h2_http11);
	n += ext_versions(e + n, v13, 5);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_EQ_INT(h.max_version, 0x0304);		/* not 0xfafa, 0x7f1c or 0x7a7a */
	UT_EQ_INT(h.hello_version, 0x0303);
	UT_CHECK(sni_is(&h, "grease.example"));
	UT_CHECK(first_alpn_is(&h, "h2"));

	n = ext_versions(e, only_grease, 2);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_EQ_INT(h.max_version, 0x0303);		/* falls back to legacy_version */
	n = ext_versions(e, old, 2);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_EQ_INT(h.max_version, 0x0302);		/* the list rules, even below legacy_version */
}

static void test_sni_limits(void)
{
	static char name[10240];
	uint8_t *e = malloc(20000);
	struct tls_hello h;
	size_t n, cut = 5000;

	memset(name, 'a', sizeof(name));
	n = ext_sni(e, name, 255);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_EQ_INT(h.sni_len, 255);
	n = ext_sni(e, name, 256);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = ext_sni(e, name, sizeof(name));		/* 10 KB */
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = build_hello(e, ext_sni(e, name, sizeof(name)));
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &cut, 1), &h), TLS_HELLO_INVALID);
	n = ext_sni(e, "a\0b.example", 11);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = ext_sni(e, "", 0);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	free(e);
}

/* A name list whose first entry is not a host_name, then one that is. */
static void test_sni_name_types(void)
{
	static const uint8_t list[] = {
		0x00, 0x10,
		0x01, 0x00, 0x03, 'x', 'y', 'z',		/* unknown name_type 1 */
		0x00, 0x00, 0x07, 'b', '.', 'e', 'x', 'a', 'm', 'p',
	};
	static const uint8_t empty_list[] = { 0x00, 0x00 };
	uint8_t e[64];
	struct tls_hello h;
	size_t n;

	n = ext_raw(e, 0x0000, list, sizeof(list));
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_CHECK(sni_is(&h, "b.examp"));
	n = ext_raw(e, 0x0000, empty_list, sizeof(empty_list));
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = ext_raw(e, 0x0000, "", 0);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
}

static void test_alpn(void)
{
	static const char *const acme[] = { "acme-tls/1", NULL };
	static const uint8_t zero_name[] = { 0x00, 0x04, 0x02, 'h', '2', 0x00 };
	static const uint8_t long_name[] = { 0x00, 0x03, 0x05, 'h', '2' };
	uint8_t e[64];
	const uint8_t *name;
	struct tls_hello h;
	size_t n, nl;

	n = ext_alpn(e, acme);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_OK);
	UT_CHECK(first_alpn_is(&h, "acme-tls/1"));
	UT_CHECK(sni_is(&h, NULL));
	n = ext_raw(e, 0x0010, zero_name, sizeof(zero_name));
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = ext_raw(e, 0x0010, long_name, sizeof(long_name));
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
	n = ext_raw(e, 0x0010, "\x00\x00", 2);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);

	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"\x02h2\x03h3x", 7, &name, &nl), 0);
	UT_CHECK(nl == 2 && !memcmp(name, "h2", 2));
	UT_EQ_INT(tls_hello_first_alpn(NULL, 0, &name, &nl), -1);
	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"", 0, &name, &nl), -1);
	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"\x00", 1, &name, &nl), -1);
	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"\x03h2", 3, &name, &nl), -1);
	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"\x02h2\x00", 4, &name, &nl), -1);
	UT_EQ_INT(tls_hello_first_alpn((const uint8_t *)"\x02h2\x05h", 5, &name, &nl), -1);
}

/* Extensions are optional as a whole; what is there must add up. */
static void test_extension_block(void)
{
	uint8_t e[128];
	struct tls_hello h;
	size_t n;

	n = hello_record(NULL, 0);
	UT_EQ_INT(parse(buf, n, &h), TLS_HELLO_OK);
	UT_CHECK(h.sni == NULL && h.alpn == NULL);
	UT_EQ_INT(h.max_version, 0x0303);
	UT_EQ_INT(parse(buf, hello_record(e, 0), &h), TLS_HELLO_OK);	/* empty block */

	n = ext_sni(e, "a.example", 9);
	n += ext_sni(e + n, "b.example", 9);
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);	/* twice */

	n = ext_sni(e, "a.example", 9);
	n = build_hello(e, n);
	msg[n++] = 0;				/* a byte after the extensions */
	msg[3]++;
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);

	e[0] = 0x00;				/* an extension header cut short */
	UT_EQ_INT(parse(buf, hello_record(e, 1), &h), TLS_HELLO_INVALID);
	n = ext_raw(e, 0x002b, "\x03\x03\x04\x03", 4);	/* odd versions list */
	UT_EQ_INT(parse(buf, hello_record(e, n), &h), TLS_HELLO_INVALID);
}

/* Fixed fields of the hello body. */
static void test_body_fields(void)
{
	struct tls_hello h;
	size_t n = build_hello(NULL, 0);
	size_t sid = 4 + 2 + 32, cs = sid + 1 + 32;

	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_OK);
	msg[sid] = 33;				/* session id longer than 32 */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	build_hello(NULL, 0);
	msg[cs + 1] = 3;			/* odd cipher suites */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	build_hello(NULL, 0);
	msg[cs + 1] = 0;			/* no cipher suite */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	build_hello(NULL, 0);
	msg[cs + 2 + 4] = 0;			/* no compression method */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	build_hello(NULL, 0);
	msg[4] = 0x02;				/* legacy_version 2.x */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	build_hello(NULL, 0);
	msg[0] = 2;				/* a ServerHello */
	UT_EQ_INT(parse(buf, wrap(buf, msg, n, &n, 1), &h), TLS_HELLO_INVALID);
	UT_EQ_INT(h.hs_type, 2);
	UT_EQ_INT(parse(buf, 6, &h), TLS_HELLO_INVALID);	/* told at once */
	UT_EQ_INT(h.hs_type, 2);
	UT_EQ_INT(h.record_version, 0x0301);
}

static void test_record_header(void)
{
	struct tls_hello h;

	UT_EQ_INT(parse((const uint8_t *)"\x16", 1, &h), TLS_HELLO_NEED_MORE);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03", 2, &h), TLS_HELLO_NEED_MORE);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\x41", 4, &h), TLS_HELLO_NEED_MORE);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\x41\x01", 5, &h), TLS_HELLO_INVALID);	/* > 2^14 + 256 */
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\x41\x00", 5, &h), TLS_HELLO_NEED_MORE);	/* = 2^14 + 256 */
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\xff\xff", 5, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\x00\x00\x16\x03\x01\x00\x04", 10, &h), TLS_HELLO_INVALID);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9, &h), TLS_HELLO_INVALID);	/* empty hello */
	UT_EQ_INT(parse((const uint8_t *)"\x16\x02\x00", 3, &h), TLS_HELLO_NOT_TLS);
	UT_EQ_INT(parse((const uint8_t *)"\x16\x04", 2, &h), TLS_HELLO_NOT_TLS);
}

static void test_not_tls(void)
{
	static const char *const texts[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"\x17\x03\x03\x00\x10garbage garbage!",
		"\x15\x03\x03\x00\x02\x02\x28",	/* an alert */
		"G",
	};
	/* SSLv2-compatible ClientHello: 2-byte header with the high bit set */
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10 };
	struct tls_hello h;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		UT_EQ_INT(parse((const uint8_t *)texts[i], strlen(texts[i]), &h), TLS_HELLO_NOT_TLS);
	UT_EQ_INT(parse(sslv2, sizeof(sslv2), &h), TLS_HELLO_NOT_TLS);
	UT_EQ_INT(h.hs_type, 0);
	UT_EQ_INT(h.record_version, 0);
}

/* ---- the fetches ---- */

static char err[256];
static char ctx_scratch[256];
static struct smp_ctx ctx;

static void set_req(const void *d, size_t len)
{
	ut_smp_ctx_init(&ctx, ctx_scratch, sizeof(ctx_scratch));
	ctx.req = d;
	ctx.req_len = len;
}

/* Parses and evaluates: 1 present, 0 absent, -1 parse error. */
static int eval(const char *expr, struct sample *out)
{
	return ut_smp_eval(expr, &ctx, out);
}

static void eval_str(const char *expr, const char *want)
{
	struct sample s;
	char text[300];

	UT_EQ_INT(eval(expr, &s), 1);
	UT_EQ_INT(s.type, SMP_T_STR);
	UT_EQ_INT(s.may_change, 0);
	snprintf(text, sizeof(text), "%.*s", (int)s.u.str.len, s.u.str.ptr);
	UT_EQ_STR(text, want);
}

static void eval_int(const char *expr, int64_t want)
{
	struct sample s;

	UT_EQ_INT(eval(expr, &s), 1);
	UT_EQ_INT(s.type, SMP_T_SINT);
	UT_EQ_INT(s.u.sint, want);
	UT_EQ_INT(s.may_change, 0);
}

static void eval_absent(const char *expr, int may_change)
{
	struct sample s;

	UT_EQ_INT(eval(expr, &s), 0);
	UT_EQ_INT(s.may_change, may_change);
}

static const char *const all_fetches[] = {
	"req.ssl_hello_type", "req_ssl_hello_type", "req.ssl_sni", "req_ssl_sni",
	"req.ssl_ver", "req_ssl_ver", "req.ssl_alpn",
};
#define NFETCHES (sizeof(all_fetches) / sizeof(all_fetches[0]))

static void test_fetch_complete(void)
{
	struct sample s;

	set_req(tls13_sni_alpn, sizeof(tls13_sni_alpn));
	eval_int("req.ssl_hello_type", 1);
	eval_int("req_ssl_hello_type", 1);
	eval_str("req.ssl_sni", "a.example");
	eval_str("req_ssl_sni", "a.example");
	eval_int("req.ssl_ver", 0x00030004);
	eval_int("req_ssl_ver", 0x00030004);
	eval_str("req.ssl_alpn", "h2");
	eval_str("req.ssl_sni,upper", "A.EXAMPLE");
	/* unfragmented: the string is the client's own bytes */
	UT_EQ_INT(eval("req.ssl_sni", &s), 1);
	UT_CHECK((const uint8_t *)s.u.str.ptr > tls13_sni_alpn &&
		 (const uint8_t *)s.u.str.ptr < tls13_sni_alpn + sizeof(tls13_sni_alpn));

	set_req(tls12_sni_alpn, sizeof(tls12_sni_alpn));
	eval_int("req.ssl_ver", 0x00030003);
	eval_str("req.ssl_alpn", "h2");

	set_req(tls12_nosni, sizeof(tls12_nosni));
	eval_int("req.ssl_hello_type", 1);
	eval_absent("req.ssl_sni", 0);
	eval_absent("req.ssl_alpn", 0);
	eval_int("req.ssl_ver", 0x00030003);
}

/* Until the hello is whole, every fetch is absent and says "wait". */
static void test_fetch_partial(void)
{
	size_t i, n, bad = 0;
	struct sample s;

	for (n = 0; n < sizeof(tls13_sni_alpn); n++) {
		set_req(tls13_sni_alpn, n);
		for (i = 0; i < NFETCHES; i++)
			if (eval(all_fetches[i], &s) != 0 || s.may_change != 1)
				bad++;
	}
	UT_EQ_INT(bad, 0);
	set_req(NULL, 0);
	eval_absent("req.ssl_sni", 1);
	eval_absent("req.ssl_hello_type", 1);
}

/* Not TLS, or broken TLS: absent for good. */
static void test_fetch_not_tls(void)
{
	static const char http[] = "GET / HTTP/1.1\r\n";
	size_t i;

	set_req(http, strlen(http));
	for (i = 0; i < NFETCHES; i++)
		eval_absent(all_fetches[i], 0);
	memcpy(buf, tls13_sni_alpn, sizeof(tls13_sni_alpn));
	buf[5 + 4 + 2 + 32] = 33;		/* session id too long */
	set_req(buf, sizeof(tls13_sni_alpn));
	for (i = 0; i < NFETCHES; i++)
		eval_absent(all_fetches[i], 0);
	/* a ServerHello coming from the client: its type, at once */
	set_req("\x16\x03\x03\x00\x40\x02", 6);
	eval_int("req.ssl_hello_type", 2);
	eval_absent("req.ssl_sni", 0);
}

/* Fragmented: the strings lie in the thread's reassembly buffer and are
 * handed out from ctx->scratch, which must be large enough. */
static void test_fetch_fragmented(void)
{
	size_t mlen, n, cut = 40;
	const uint8_t *m = cap_msg(&captures[0], &mlen);
	struct sample s, s2;

	n = wrap(buf, m, mlen, &cut, 1);
	set_req(buf, n);
	UT_EQ_INT(eval("req.ssl_sni", &s), 1);
	UT_CHECK(s.u.str.ptr == ctx_scratch && s.u.str.len == 9);
	UT_EQ_INT(eval("req.ssl_alpn", &s2), 1);	/* reuses the scratch: copy first */
	UT_CHECK(s2.u.str.ptr == ctx_scratch && s2.u.str.len == 2 && !memcmp(s2.u.str.ptr, "h2", 2));
	eval_str("req.ssl_sni,lower", "a.example");
	eval_int("req.ssl_ver", 0x00030004);
	ctx.scratch_size = 8;			/* too small for "a.example" */
	eval_absent("req.ssl_sni", 0);
	eval_str("req.ssl_alpn", "h2");
	ctx.scratch = NULL;
	ctx.scratch_size = 0;
	eval_absent("req.ssl_alpn", 0);
	set_req(buf, n - 1);
	eval_absent("req.ssl_sni", 1);
}

static void test_fetch_registry(void)
{
	size_t i;

	for (i = 0; i < NFETCHES; i++)
		UT_CHECK(sample_find_fetch(all_fetches[i], strlen(all_fetches[i])) != NULL);
	UT_CHECK(sample_parse_expr("req.ssl_sni(1)", err, sizeof(err)) == NULL);
}

int main(void)
{
	test_captures();
	test_prefixes();
	test_trailing_records();
	test_fragmented();
	test_fragmented_prefixes();
	test_wrong_record_in_middle();
	test_scratch_size();
	test_lying_lengths();
	test_every_byte();
	test_grease();
	test_sni_limits();
	test_sni_name_types();
	test_alpn();
	test_extension_block();
	test_body_fields();
	test_record_header();
	test_not_tls();
	test_fetch_complete();
	test_fetch_partial();
	test_fetch_not_tls();
	test_fetch_fragmented();
	test_fetch_registry();
	UT_DONE();
}
