/* test_proxy_proto.c - the PROXY protocol: every valid v1 and v2 form, every
 * prefix of them (wait for more), hostile input (refused), build -> parse
 * round trips with TLVs and CRC32C, the local form health checks send, and
 * the keywords (accept-proxy, send-proxy*, proxy-v2-options) and the
 * fc_rcvd_proxy fetch through the real config loader. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sluice/listener.h>
#include <sluice/proxy.h>
#include <sluice/proxy_proto.h>
#include <sluice/sample.h>
#include <sluice/server.h>
#include <sluice/session.h>

#include "ut.h"
#include "ut_cfg.h"

static char messages[16384];
static char perr[128];

static enum pp_status parse(const void *d, size_t n, struct pp_info *pi, size_t *used)
{
	return pp_parse(d, n, pi, used, perr, sizeof(perr));
}

static enum pp_status parse_str(const char *s, struct pp_info *pi, size_t *used)
{
	return parse(s, strlen(s), pi, used);
}

/* "1.2.3.4:80" or "[::1]:80" */
static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, size, "unspec");
	}
	return buf;
}

static struct sockaddr_storage mk(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

/* Every strict prefix of a valid header must say "wait for more". */
static void expect_prefixes_need_more(const void *hdr, size_t n, const char *what)
{
	struct pp_info pi;
	size_t i, used, bad = 0, first_bad = 0;

	for (i = 0; i < n; i++) {
		if (parse(hdr, i, &pi, &used) != PP_NEED_MORE) {
			if (!bad++)
				first_bad = i;
		}
	}
	UT_EQ_INT(bad, 0);
	if (bad)
		fprintf(stderr, "  %s: prefix of %zu bytes is not NEED_MORE (%s)\n", what,
			first_bad, perr);
}

static void expect_invalid(const void *d, size_t n, const char *what)
{
	struct pp_info pi;
	size_t used = 1234;
	enum pp_status st = parse(d, n, &pi, &used);

	UT_EQ_INT(st, PP_INVALID);
	if (st != PP_INVALID)
		fprintf(stderr, "  expected INVALID: %s\n", what);
	else
		UT_CHECK(perr[0] != '\0');
}

static void expect_invalid_str(const char *s)
{
	expect_invalid(s, strlen(s), s);
}

/* ---- CRC32c ------------------------------------------------------------- */

static void test_crc32c(void)
{
	static const uint8_t zeros[32];

	UT_EQ_INT(pp_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
	UT_EQ_INT(pp_crc32c((const uint8_t *)"", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeroes */
	UT_EQ_INT(pp_crc32c(zeros, sizeof(zeros)), 0x8A9136AAu);
}

/* ---- version 1 ---------------------------------------------------------- */

static void test_v1_valid(void)
{
	struct pp_info pi;
	size_t used;
	char b[64];
	const char *l4 = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nGET /";
	const char *l6 = "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 0 65535\r\n";
	const char *lu = "PROXY UNKNOWN\r\n";
	const char *lul = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

	UT_EQ_INT(parse_str(l4, &pi, &used), PP_OK);
	UT_EQ_INT(used, strlen(l4) - 5);
	UT_EQ_INT(pi.version, 1);
	UT_EQ_INT(pi.local, 0);
	UT_EQ_INT(pi.dgram, 0);
	UT_EQ_STR(addr_str(&pi.src, b, sizeof(b)), "1.2.3.4:1111");
	UT_EQ_STR(addr_str(&pi.dst, b, sizeof(b)), "5.6.7.8:2222");
	UT_CHECK(pi.authority == NULL && pi.alpn == NULL && pi.unique_id == NULL);

	UT_EQ_INT(parse_str(l6, &pi, &used), PP_OK);
	UT_EQ_INT(used, strlen(l6));
	UT_EQ_INT(pi.local, 0);
	UT_EQ_STR(addr_str(&pi.src, b, sizeof(b)), "[2001:db8::1]:0");
	UT_EQ_STR(addr_str(&pi.dst, b, sizeof(b)), "[::ffff:10.0.0.1]:65535");

	UT_EQ_INT(parse_str(lu, &pi, &used), PP_OK);
	UT_EQ_INT(used, 15);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.src.ss_family, AF_UNSPEC);
	UT_EQ_INT(pi.dst.ss_family, AF_UNSPEC);

	/* the specification's worst case: 107 bytes, all ignored after UNKNOWN */
	UT_EQ_INT(strlen(lul), PP_V1_MAX_LEN);
	UT_EQ_INT(parse_str(lul, &pi, &used), PP_OK);
	UT_EQ_INT(used, PP_V1_MAX_LEN);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(parse_str("PROXY UNKNOWN whatever  it says\r\n", &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);

	/* longest TCP6 and TCP4 lines */
	UT_EQ_INT(parse_str("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", &pi, &used), PP_OK);
	UT_EQ_INT(used, 104);
	UT_EQ_INT(parse_str("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
			    &pi, &used), PP_OK);
	UT_EQ_INT(used, 56);
	UT_EQ_INT(parse_str("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", &pi, &used), PP_OK);

	expect_prefixes_need_more(l4, strlen(l4) - 5, "v1 TCP4");
	expect_prefixes_need_more(l6, strlen(l6), "v1 TCP6");
	expect_prefixes_need_more(lu, strlen(lu), "v1 UNKNOWN");
	expect_prefixes_need_more(lul, strlen(lul), "v1 UNKNOWN long");
}

static void test_v1_hostile(void)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.256 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1111 2222\r\n",	/* octal-looking */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 99999\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1111 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01111 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 0x10\r\n",
		"PROXY TCP4 ::1 ::2 1111 2222\r\n",		/* v6 in TCP4 */
		"PROXY TCP4 1.2.3.4 ::2 1111 2222\r\n",
		"PROXY TCP6 1.2.3.4 5.6.7.8 1111 2222\r\n",	/* v4 in TCP6 */
		"PROXY TCP6 ::1 ::g 1111 2222\r\n",
		"PROXY TCP6 1::2::3 ::1 1111 2222\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1111 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",	/* trailing space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 3333\r\n",
		"PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",	/* double space */
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111  2222\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 \r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8\r\n",
		"PROXY TCP4\r\n",
		"PROXY \r\n",
		"PROXY\r\n",
		"PROXY\tTCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY tcp4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOW\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\n",	/* LF alone */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\rX",	/* CR alone */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\r\n",
		"PROXY UNKNOWN\n",
		"PROXY UNKNOWN \r \r\n",
		"PROXX",
		"PROXY TCP4 1.2.3.x",				/* refused before the CRLF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 99999",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 ",
		"PROXY TCP4 1.2.3.4 5.6.7.8 00",
		"PROXY TCP4 1234567890123456",
		"PROXY TCP7",
		"proxy TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
		"GET / HTTP/1.1\r\n",
		"\x16\x03\x01\x02\x00\x01",
		"X",
	};
	char line[256];
	size_t i;
	struct pp_info pi;
	size_t used;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_invalid_str(bad[i]);

	/* port 0 is fine, as long as no digit follows it */
	UT_EQ_INT(parse_str("PROXY TCP4 1.2.3.4 5.6.7.8 0 ", &pi, &used), PP_NEED_MORE);

	/* embedded NUL in the middle of a valid-looking line */
	memcpy(line, "PROXY TCP4 1.2.3.4\0 5.6.7.8 1111 2222\r\n", 40);
	expect_invalid(line, 40, "v1 with a NUL");
	memcpy(line, "PROXY UNKNOWN \0\r\n", 17);
	expect_invalid(line, 17, "v1 UNKNOWN with a NUL");

	/* no CRLF within 107 bytes: a 200-byte line, and the limit exactly */
	memset(line, 'a', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 198, "\r\n", 2);
	expect_invalid(line, 200, "200-byte line");
	UT_EQ_INT(parse(line, 106, &pi, &used), PP_NEED_MORE);
	expect_invalid(line, 107, "107 bytes without CRLF");
	memcpy(line + 105, "\r\n", 2);	/* a 107-byte line is the longest */
	UT_EQ_INT(parse(line, 200, &pi, &used), PP_OK);
	UT_EQ_INT(used, 107);
	memcpy(line + 105, "a\r\n", 3);	/* 108 bytes */
	expect_invalid(line, 200, "108-byte line");
	UT_EQ_INT(parse(line, 107, &pi, &used), PP_INVALID);

	/* nothing yet, or a beginning of the signature: wait */
	UT_EQ_INT(parse("", 0, &pi, &used), PP_NEED_MORE);
	UT_EQ_INT(parse("PROX", 4, &pi, &used), PP_NEED_MORE);
	UT_EQ_INT(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r", 37, &pi, &used), PP_NEED_MORE);
}

/* ---- version 2 ---------------------------------------------------------- */

/* A v2 header by hand: 16-byte start, then body (addresses and TLVs). */
static size_t v2_hdr(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body, size_t blen)
{
	memcpy(out, pp_v2_signature, PP_V2_SIG_LEN);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

static const uint8_t inet_blk[12] = {
	192, 0, 2, 1,  198, 51, 100, 7,  0x04, 0x57,  0x01, 0xbb	/* 1111 -> 443 */
};

static void v6_blk(uint8_t *b)
{
	struct in6_addr a;

	inet_pton(AF_INET6, "2001:db8::1", &a);
	memcpy(b, &a, 16);
	inet_pton(AF_INET6, "2001:db8::2", &a);
	memcpy(b + 16, &a, 16);
	b[32] = 0xff; b[33] = 0xff;	/* 65535 */
	b[34] = 0x00; b[35] = 0x00;	/* 0 */
}

static void test_v2_addresses(void)
{
	uint8_t h[600], blk[300];
	struct pp_info pi;
	size_t n, used;
	char b[64];

	/* TCP over IPv4, with payload behind */
	n = v2_hdr(h, 0x21, 0x11, inet_blk, 12);
	memcpy(h + n, "payload", 7);
	UT_EQ_INT(parse(h, n + 7, &pi, &used), PP_OK);
	UT_EQ_INT(used, 28);
	UT_EQ_INT(pi.version, 2);
	UT_EQ_INT(pi.local, 0);
	UT_EQ_INT(pi.dgram, 0);
	UT_EQ_STR(addr_str(&pi.src, b, sizeof(b)), "192.0.2.1:1111");
	UT_EQ_STR(addr_str(&pi.dst, b, sizeof(b)), "198.51.100.7:443");
	expect_prefixes_need_more(h, n, "v2 INET STREAM");

	/* UDP over IPv4 */
	n = v2_hdr(h, 0x21, 0x12, inet_blk, 12);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.dgram, 1);
	UT_EQ_INT(pi.local, 0);
	UT_EQ_STR(addr_str(&pi.src, b, sizeof(b)), "192.0.2.1:1111");

	/* TCP and UDP over IPv6 */
	v6_blk(blk);
	n = v2_hdr(h, 0x21, 0x21, blk, 36);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, 52);
	UT_EQ_INT(pi.dgram, 0);
	UT_EQ_STR(addr_str(&pi.src, b, sizeof(b)), "[2001:db8::1]:65535");
	UT_EQ_STR(addr_str(&pi.dst, b, sizeof(b)), "[2001:db8::2]:0");
	expect_prefixes_need_more(h, n, "v2 INET6 STREAM");
	n = v2_hdr(h, 0x21, 0x22, blk, 36);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.dgram, 1);
	UT_EQ_INT(pi.local, 0);

	/* LOCAL: addresses ignored whatever the family */
	n = pp_build_local(2, h, sizeof(h));
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, 16);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.src.ss_family, AF_UNSPEC);
	expect_prefixes_need_more(h, n, "v2 LOCAL");
	n = v2_hdr(h, 0x20, 0x11, inet_blk, 12);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.src.ss_family, AF_UNSPEC);
	n = v2_hdr(h, 0x20, 0x11, inet_blk, 5);	/* LOCAL need not carry a full block */
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, 21);
	UT_EQ_INT(pi.local, 1);

	/* PROXY with family UNSPEC, or an UNSPEC transport */
	n = v2_hdr(h, 0x21, 0x00, NULL, 0);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);
	n = v2_hdr(h, 0x21, 0x10, inet_blk, 12);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.src.ss_family, AF_UNSPEC);

	/* UNIX stream and datagram: parsed, reported as local */
	memset(blk, 'u', 216);
	n = v2_hdr(h, 0x21, 0x31, blk, 216);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, 232);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.src.ss_family, AF_UNSPEC);
	expect_prefixes_need_more(h, n, "v2 UNIX");
	n = v2_hdr(h, 0x21, 0x32, blk, 216);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);
	UT_EQ_INT(pi.dgram, 1);
}

/* Append a TLV to body at *off. */
static void add_tlv(uint8_t *body, size_t *off, uint8_t type, const void *v, size_t len)
{
	body[*off] = type;
	body[*off + 1] = (uint8_t)(len >> 8);
	body[*off + 2] = (uint8_t)len;
	if (len)
		memcpy(body + *off + 3, v, len);
	*off += 3 + len;
}

/* Fill a CRC32C TLV's value (at crc_off in the header h of n bytes). */
static void seal_crc(uint8_t *h, size_t n, size_t crc_off)
{
	uint32_t c;

	memset(h + crc_off, 0, 4);
	c = pp_crc32c(h, n);
	h[crc_off] = (uint8_t)(c >> 24);
	h[crc_off + 1] = (uint8_t)(c >> 16);
	h[crc_off + 2] = (uint8_t)(c >> 8);
	h[crc_off + 3] = (uint8_t)c;
}

static void test_v2_tlvs(void)
{
	uint8_t h[1024], body[900], uid[129];
	static const uint8_t ssl[] = { 0x01, 0, 0, 0, 0, 0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.', '3' };
	struct pp_info pi;
	size_t n, off, used, crc_off;

	memcpy(body, inet_blk, 12);
	off = 12;
	add_tlv(body, &off, 0x04, "\0\0\0", 3);			/* NOOP */
	add_tlv(body, &off, 0x01, "h2", 2);			/* ALPN */
	add_tlv(body, &off, 0x02, "example.com", 11);		/* AUTHORITY */
	add_tlv(body, &off, 0x20, ssl, sizeof(ssl));		/* SSL, skipped */
	add_tlv(body, &off, 0x30, "blue", 4);			/* NETNS, skipped */
	add_tlv(body, &off, 0xE0, "custom", 6);
	add_tlv(body, &off, 0x04, NULL, 0);			/* empty NOOP */
	memset(uid, 'i', sizeof(uid));
	add_tlv(body, &off, 0x05, uid, 128);			/* UNIQUE_ID, at the limit */
	add_tlv(body, &off, 0x03, "\0\0\0\0", 4);		/* CRC32C */
	n = v2_hdr(h, 0x21, 0x11, body, off);
	crc_off = n - 4;
	seal_crc(h, n, crc_off);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, n);
	UT_EQ_INT(pi.local, 0);
	UT_CHECK(pi.alpn && pi.alpn_len == 2 && !memcmp(pi.alpn, "h2", 2));
	UT_CHECK(pi.authority && pi.authority_len == 11 &&
		 !memcmp(pi.authority, "example.com", 11));
	UT_CHECK(pi.unique_id && pi.unique_id_len == 128 && pi.unique_id[127] == 'i');
	/* pointers into the caller's buffer */
	UT_CHECK(pi.authority > h && pi.authority + pi.authority_len <= h + n);
	expect_prefixes_need_more(h, n, "v2 with TLVs");

	/* a wrong checksum, anywhere */
	h[crc_off + 3] ^= 1;
	expect_invalid(h, n, "CRC32C off by one bit");
	h[crc_off + 3] ^= 1;
	h[20] ^= 0x80;		/* an address byte changed in transit */
	expect_invalid(h, n, "address changed under the CRC");
	h[20] ^= 0x80;
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);

	/* checksum in a LOCAL header is verified too */
	off = 0;
	add_tlv(body, &off, 0x03, "\0\0\0\0", 4);
	n = v2_hdr(h, 0x20, 0x00, body, off);
	seal_crc(h, n, n - 4);
	UT_EQ_INT(parse(h, n, &pi, &used), PP_OK);
	UT_EQ_INT(pi.local, 1);
	h[n - 1] ^= 0xff;
	expect_invalid(h, n, "LOCAL with a wrong CRC32C");

	/* unique id over 128 bytes */
	memcpy(body, inet_blk, 12);
	off = 12;
	add_tlv(body, &off, 0x05, uid, 129);
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "unique id of 129 bytes");

	/* CRC32C of the wrong size, and two of them */
	off = 12;
	add_tlv(body, &off, 0x03, "\0\0\0", 3);
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "CRC32C of 3 bytes");
	off = 12;
	add_tlv(body, &off, 0x03, "\0\0\0\0", 4);
	add_tlv(body, &off, 0x03, "\0\0\0\0", 4);
	n = v2_hdr(h, 0x21, 0x11, body, off);
	seal_crc(h, n, n - 4);
	expect_invalid(h, n, "two CRC32C TLVs");

	/* TLV overruns: value past the header, truncated TLV header */
	off = 12;
	add_tlv(body, &off, 0x02, "abc", 3);
	body[off - 4] = 4;	/* claims 4 bytes, has 3 */
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "TLV overrun");
	off = 12;
	body[off++] = 0x04;
	body[off++] = 0x00;
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "2 bytes of TLV");
	off = 12;
	body[off++] = 0x04;
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "1 byte of TLV");
	off = 12;
	add_tlv(body, &off, 0x01, NULL, 0);
	body[off - 2] = 0xff;
	body[off - 1] = 0xff;
	n = v2_hdr(h, 0x21, 0x11, body, off);
	expect_invalid(h, n, "TLV of 65535 bytes in a short header");
}

static void test_v2_hostile(void)
{
	uint8_t h[128];
	struct pp_info pi;
	size_t n, used;

	n = v2_hdr(h, 0x11, 0x11, inet_blk, 12);	/* version 1 */
	expect_invalid(h, n, "v2 version 1");
	expect_invalid(h, 13, "v2 version 1, refused on byte 13");
	n = v2_hdr(h, 0x31, 0x11, inet_blk, 12);
	expect_invalid(h, n, "v2 version 3");
	n = v2_hdr(h, 0x22, 0x11, inet_blk, 12);	/* command 2 */
	expect_invalid(h, n, "v2 command 2");
	expect_invalid(h, 13, "v2 command 2, refused on byte 13");
	n = v2_hdr(h, 0x2f, 0x11, inet_blk, 12);
	expect_invalid(h, n, "v2 command 15");
	n = v2_hdr(h, 0x21, 0x41, inet_blk, 12);	/* family 4 */
	expect_invalid(h, 14, "v2 family 4");
	n = v2_hdr(h, 0x21, 0x13, inet_blk, 12);	/* transport 3 */
	expect_invalid(h, n, "v2 transport 3");

	/* length too small for the family, refused before the rest arrives */
	n = v2_hdr(h, 0x21, 0x11, inet_blk, 11);
	expect_invalid(h, n, "INET with 11 bytes");
	expect_invalid(h, 16, "INET with 11 bytes, header only");
	n = v2_hdr(h, 0x21, 0x21, inet_blk, 12);
	expect_invalid(h, n, "INET6 with 12 bytes");
	h[14] = 0;
	h[15] = 35;
	expect_invalid(h, 16, "INET6 with 35 bytes");
	h[13] = 0x31;
	h[14] = 0;
	h[15] = 215;
	expect_invalid(h, 16, "UNIX with 215 bytes");
	h[13] = 0x12;
	h[15] = 0;
	expect_invalid(h, 16, "UDP4 with no address");

	/* huge length, little data: wait (the caller's timeout ends it) */
	v2_hdr(h, 0x21, 0x11, inet_blk, 12);
	h[14] = 0xff;
	h[15] = 0xff;
	UT_EQ_INT(parse(h, 28, &pi, &used), PP_NEED_MORE);
	UT_EQ_INT(parse(h, 16, &pi, &used), PP_NEED_MORE);

	/* a broken signature, at each of its bytes */
	for (n = 0; n < PP_V2_SIG_LEN; n++) {
		v2_hdr(h, 0x21, 0x11, inet_blk, 12);
		h[n] ^= 0x40;
		if (n == 0) {
			UT_EQ_INT(parse(h, 28, &pi, &used), PP_INVALID);
			continue;
		}
		expect_invalid(h, n + 1, "v2 broken signature");
	}
}

/* ---- round trips ------------------------------------------------------ */

static void roundtrip_v1(const char *src, unsigned sp, const char *dst, unsigned dp, int local)
{
	struct sockaddr_storage s = mk(src, sp), d = mk(dst, dp);
	uint8_t out[PP_V1_MAX_LEN];
	struct pp_info pi;
	size_t n, used, i;
	char b1[64], b2[64];

	n = pp_build_v1(&s, &d, out, sizeof(out));
	UT_CHECK(n > 0);
	UT_EQ_INT(parse(out, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, n);
	UT_EQ_INT(pi.version, 1);
	UT_EQ_INT(pi.local, local);
	if (!local) {
		UT_EQ_STR(addr_str(&pi.src, b1, sizeof(b1)), addr_str(&s, b2, sizeof(b2)));
		UT_EQ_STR(addr_str(&pi.dst, b1, sizeof(b1)), addr_str(&d, b2, sizeof(b2)));
	}
	for (i = 0; i < n; i++)
		if (pp_build_v1(&s, &d, out, i) != 0)
			break;
	UT_EQ_INT(i, n);	/* every smaller buffer is refused */
}

static void roundtrip_v2(const char *src, unsigned sp, const char *dst, unsigned dp,
			 int dgram, const struct pp_tlvs *t, int local)
{
	struct sockaddr_storage s = mk(src, sp), d = mk(dst, dp);
	uint8_t out[1024];
	struct pp_info pi;
	size_t n, used, i;
	char b1[64], b2[64];

	n = pp_build_v2(&s, &d, dgram, t, out, sizeof(out));
	UT_CHECK(n > 0);
	UT_EQ_INT(parse(out, n, &pi, &used), PP_OK);
	UT_EQ_INT(used, n);
	UT_EQ_INT(pi.version, 2);
	UT_EQ_INT(pi.local, local);
	UT_EQ_INT(pi.dgram, local ? 0 : dgram);
	if (!local) {
		UT_EQ_STR(addr_str(&pi.src, b1, sizeof(b1)), addr_str(&s, b2, sizeof(b2)));
		UT_EQ_STR(addr_str(&pi.dst, b1, sizeof(b1)), addr_str(&d, b2, sizeof(b2)));
	}
	if (t) {
		UT_EQ_INT(pi.authority_len, t->authority_len);
		UT_CHECK(!t->authority_len || !memcmp(pi.authority, t->authority, t->authority_len));
		UT_EQ_INT(pi.alpn_len, t->alpn_len);
		UT_CHECK(!t->alpn_len || !memcmp(pi.alpn, t->alpn, t->alpn_len));
		UT_EQ_INT(pi.unique_id_len, t->unique_id_len);
		UT_CHECK(!t->unique_id_len || !memcmp(pi.unique_id, t->unique_id, t->unique_id_len));
		if (t->crc32c) {
			out[n - 8] ^= 1;	/* the last byte before the CRC TLV */
			UT_EQ_INT(parse(out, n, &pi, &used), PP_INVALID);
			out[n - 8] ^= 1;
		}
	}
	for (i = 0; i < n; i++)
		if (pp_build_v2(&s, &d, dgram, t, out, i) != 0)
			break;
	UT_EQ_INT(i, n);
}

static void test_roundtrips(void)
{
	static const uint8_t uid[128] = { 1, 2, 3 };
	struct pp_tlvs all = {
		.authority = (const uint8_t *)"sni.example.org", .authority_len = 15,
		.alpn = (const uint8_t *)"\x02h2\x08http/1.1", .alpn_len = 12,
		.unique_id = uid, .unique_id_len = 128, .crc32c = 1,
	};
	struct pp_tlvs crc_only = { .crc32c = 1 };
	struct pp_tlvs auth_only = { .authority = (const uint8_t *)"a", .authority_len = 1 };
	struct pp_tlvs too_long = { .unique_id = uid, .unique_id_len = 129 };
	struct sockaddr_storage s = mk("10.0.0.1", 1), d = mk("10.0.0.2", 2);
	uint8_t out[256];
	size_t n;

	roundtrip_v1("10.1.2.3", 40000, "10.9.8.7", 443, 0);
	roundtrip_v1("0.0.0.0", 0, "255.255.255.255", 65535, 0);
	roundtrip_v1("2001:db8::1", 1, "::1", 65535, 0);
	roundtrip_v1("::ffff:192.0.2.1", 5, "::ffff:192.0.2.2", 6, 0);
	roundtrip_v1("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 0);
	roundtrip_v1("10.0.0.1", 1, "::1", 2, 1);	/* mixed: UNKNOWN */

	roundtrip_v2("10.1.2.3", 40000, "10.9.8.7", 443, 0, NULL, 0);
	roundtrip_v2("10.1.2.3", 53, "10.9.8.7", 53, 1, NULL, 0);
	roundtrip_v2("2001:db8::1", 1, "2001:db8::2", 2, 0, &all, 0);
	roundtrip_v2("2001:db8::1", 1, "2001:db8::2", 2, 1, &all, 0);
	roundtrip_v2("192.0.2.1", 1234, "192.0.2.2", 80, 0, &all, 0);
	roundtrip_v2("192.0.2.1", 1234, "192.0.2.2", 80, 0, &crc_only, 0);
	roundtrip_v2("192.0.2.1", 1234, "192.0.2.2", 80, 0, &auth_only, 0);
	roundtrip_v2("192.0.2.1", 1234, "::1", 80, 0, &all, 1);	/* mixed: UNSPEC */

	/* the exact bytes of a simple one */
	n = pp_build_v2(&s, &d, 0, NULL, out, sizeof(out));
	UT_EQ_INT(n, 28);
	UT_CHECK(!memcmp(out, "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"
			 "\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02", 28));
	n = pp_build_v1(&s, &d, out, sizeof(out));
	UT_EQ_INT(n, 34);
	UT_CHECK(!memcmp(out, "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n", 34));
	/* crc32c last, with the checksum over the whole header */
	n = pp_build_v2(&s, &d, 0, &crc_only, out, sizeof(out));
	UT_EQ_INT(n, 35);
	UT_EQ_INT(out[28], 0x03);
	UT_EQ_INT(out[30], 4);

	/* TLVs that cannot be sent */
	UT_EQ_INT(pp_build_v2(&s, &d, 0, &too_long, out, sizeof(out)), 0);
}

/* ---- keywords and the fetch ------------------------------------------------- */

static const char kw_cfg[] =
	"defaults\n"
	"  mode tcp\n"
	"  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n"
	"  default-server send-proxy\n"
	"frontend fe\n"
	"  bind 127.0.0.1:18470 accept-proxy\n"
	"  bind 127.0.0.1:18471\n"
	"  default_backend be\n"
	"backend be\n"
	"  server a 127.0.0.1:1\n"
	"  server b 127.0.0.1:2 no-send-proxy send-proxy-v2 proxy-v2-options authority,crc32c\n"
	"  server c 127.0.0.1:3 send-proxy-v2 no-send-proxy-v2 no-send-proxy"
	" proxy-v2-options crc32c proxy-v2-options authority\n"
	"backend be2\n"
	"  default-server send-proxy-v2 proxy-v2-options crc32c\n"
	"  server d 127.0.0.1:4\n";

static void test_keywords(void)
{
	struct config conf;
	struct proxy *fe, *be, *be2;
	struct bind_conf *bc1, *bc2;
	struct server *a, *b, *c;
	int errors = ut_load_config(&conf, kw_cfg, 0, messages, sizeof(messages));

	UT_EQ_INT(errors, 0);
	if (errors) {
		fprintf(stderr, "%s", messages);
		config_free(&conf);
		return;
	}
	fe = config_find_proxy(&conf, "fe", PX_CAP_FE);
	be = config_find_proxy(&conf, "be", PX_CAP_BE);
	be2 = config_find_proxy(&conf, "be2", PX_CAP_BE);
	UT_CHECK(fe && be && be2);
	if (!fe || !be || !be2) {
		config_free(&conf);
		return;
	}
	bc1 = list_first(&fe->binds, struct bind_conf, node);
	bc2 = list_entry(bc1->node.next, struct bind_conf, node);
	UT_EQ_INT(bc1->accept_proxy, 1);
	UT_EQ_INT(bc2->accept_proxy, 0);
	a = be->srv;
	b = a->next;
	c = b->next;
	UT_EQ_INT(a->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2), SRV_F_SEND_PROXY);
	UT_EQ_INT(a->pp_opts, 0);
	UT_EQ_INT(b->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2), SRV_F_SEND_PROXY_V2);
	UT_EQ_INT(b->pp_opts, PP_OPT_AUTHORITY | PP_OPT_CRC32C);
	UT_EQ_INT(c->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2), 0);
	UT_EQ_INT(c->pp_opts, PP_OPT_AUTHORITY | PP_OPT_CRC32C);
	UT_EQ_INT(be2->srv->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2),
		  SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2);	/* v2 wins when both are set */
	UT_EQ_INT(be2->srv->pp_opts, PP_OPT_CRC32C);
	config_free(&conf);
}

static void test_keyword_errors(void)
{
	static const char head[] = "backend be\n  server s 127.0.0.1:1 ";
	static const struct { const char *line, *needle; } cases[] = {
		{ "proxy-v2-options unique-id\n", ":2: server 's': 'proxy-v2-options': 'unique-id' needs 'unique-id-format'" },
		{ "proxy-v2-options crc32c,unique-id\n", "unique-id-format" },
		{ "proxy-v2-options ssl\n", ":2: server 's': 'proxy-v2-options': 'ssl' describes a TLS session, but sluice does not terminate TLS" },
		{ "proxy-v2-options cert-cn\n", "'cert-cn' describes a TLS session" },
		{ "proxy-v2-options authority,ssl-cipher\n", "'ssl-cipher' describes a TLS session" },
		{ "proxy-v2-options cert-sig\n", "does not terminate TLS" },
		{ "proxy-v2-options cert-key\n", "does not terminate TLS" },
		{ "proxy-v2-options bogus\n", "unknown option 'bogus' (expects a comma-separated list of 'authority', 'crc32c')" },
		{ "proxy-v2-options\n", "'proxy-v2-options' expects a comma-separated list" },
		{ "proxy-v2-options authority,,crc32c\n", "empty or oversized option" },
		{ "proxy-v2-options authority,\n", "empty or oversized option" },
		{ "send-proxy-v3\n", "unknown keyword 'send-proxy-v3'" },
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, cases[i].line);
		ut_expect_errors(text, 1, cases[i].needle, messages, sizeof(messages));
	}
	ut_expect_errors("defaults\n  default-server proxy-v2-options ssl\n", 1,
			 "default-server: 'proxy-v2-options': 'ssl' describes a TLS session",
			 messages, sizeof(messages));
	ut_expect_errors("frontend f\n  bind 127.0.0.1:18472 accept-proxy\n"
			 "  bind 127.0.0.1:18473 accept-proxy backlog x\n", 1, ":3: bind",
			 messages, sizeof(messages));
}

static void test_fetch(void)
{
	const struct sample_fetch *f = sample_find_fetch("fc_rcvd_proxy", 13);
	struct sample_expr *e;
	struct session sess;
	struct smp_ctx ctx;
	struct sample smp;
	char err[128];

	UT_CHECK(f != NULL);
	if (!f)
		return;
	UT_EQ_INT(f->out_type, SMP_T_BOOL);
	memset(&ctx, 0, sizeof(ctx));
	memset(&sess, 0, sizeof(sess));
	memset(&smp, 0, sizeof(smp));
	UT_EQ_INT(f->fn(NULL, &smp, &ctx), 1);	/* no session: false */
	UT_EQ_INT(smp.type, SMP_T_BOOL);
	UT_EQ_INT(smp.u.sint, 0);
	ctx.sess = &sess;
	UT_EQ_INT(f->fn(NULL, &smp, &ctx), 1);
	UT_EQ_INT(smp.u.sint, 0);
	sess.flags = SF_PROXY_RCVD;
	UT_EQ_INT(f->fn(NULL, &smp, &ctx), 1);
	UT_EQ_INT(smp.u.sint, 1);

	e = sample_parse_expr("fc_rcvd_proxy", err, sizeof(err));
	UT_CHECK(e != NULL);
	if (e) {
		UT_EQ_INT(sample_eval(e, &ctx, &smp), 1);
		UT_EQ_INT(smp.u.sint, 1);
		sample_free_expr(e);
	}
	UT_CHECK(sample_parse_expr("fc_rcvd_proxy(1)", err, sizeof(err)) == NULL);
}

/* ---- the local form (health checks) ------------------------------------- */

static void test_local(void)
{
	uint8_t buf[64];
	size_t n;

	n = pp_build_local(1, buf, sizeof(buf));
	UT_EQ_INT(n, 15);
	UT_CHECK(!memcmp(buf, "PROXY UNKNOWN\r\n", 15));
	UT_EQ_INT(pp_build_local(1, buf, 14), 0);

	n = pp_build_local(2, buf, sizeof(buf));
	UT_EQ_INT(n, 16);
	UT_CHECK(!memcmp(buf, "\r\n\r\n\0\r\nQUIT\n", 12));
	UT_EQ_INT(buf[12], 0x20);	/* version 2, LOCAL */
	UT_EQ_INT(buf[13], 0x00);	/* UNSPEC */
	UT_EQ_INT(buf[14], 0);
	UT_EQ_INT(buf[15], 0);
	UT_EQ_INT(pp_build_local(2, buf, 15), 0);
	UT_EQ_INT(pp_build_local(3, buf, sizeof(buf)), 0);
}

int main(void)
{
	test_local();
	test_crc32c();
	test_v1_valid();
	test_v1_hostile();
	test_v2_addresses();
	test_v2_tlvs();
	test_v2_hostile();
	test_roundtrips();
	test_keywords();
	test_keyword_errors();
	test_fetch();
	UT_DONE();
}
