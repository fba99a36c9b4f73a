/* proxy_proto.h - the PROXY protocol (v1 text, v2 binary) headers.
 *
 * Owns: parsing the header a client sends with "bind ... accept-proxy" (and
 * "tcp-request connection expect-proxy layer4"), building the header sent
 * to servers with "send-proxy" / "send-proxy-v2" (TCP and, later, UDP),
 * the "accept-proxy" bind keyword, the "send-proxy", "send-proxy-v2" and
 * "proxy-v2-options" server keywords, and the fetch fc_rcvd_proxy.
 * Health checks send the "local" form: the connection is the proxy's own,
 * with no client behind it.
 * Threading: pure functions over caller buffers.
 */
#ifndef SLUICE_PROXY_PROTO_H
#define SLUICE_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PP_V1_LOCAL_LEN	15	/* "PROXY UNKNOWN\r\n" */
#define PP_V2_SIG_LEN	12
#define PP_V2_HDR_LEN	16	/* signature, ver/cmd, family, length */

extern const uint8_t pp_v2_signature[PP_V2_SIG_LEN];

#define PP_V1_MAX_LEN	107	/* the specification's bound for a v1 line */
#define PP_V2_MAX_LEN	(PP_V2_HDR_LEN + 65535)

enum pp_status {
	PP_OK = 0,		/* a complete, valid header: *consumed bytes */
	PP_NEED_MORE,		/* a valid prefix: wait for more bytes */
	PP_INVALID,		/* not a PROXY header, or a malformed one */
};

/* A parsed header. For LOCAL (v2) and UNKNOWN (v1) headers, local is 1 and
 * the addresses are unset (family AF_UNSPEC): the connection's own
 * addresses stay in force, as the specification says. */
struct pp_info {
	int version;			/* 1 or 2 */
	int local;			/* LOCAL command / UNKNOWN protocol */
	int dgram;			/* v2 transport is DGRAM (UDP) */
	struct sockaddr_storage src, dst;	/* AF_INET / AF_INET6 with ports */
	/* v2 TLVs we understand (pointers into the parsed buffer) */
	const uint8_t *authority;	/* PP2_TYPE_AUTHORITY (the client's SNI) */
	size_t authority_len;
	const uint8_t *alpn;		/* PP2_TYPE_ALPN */
	size_t alpn_len;
	const uint8_t *unique_id;	/* PP2_TYPE_UNIQUE_ID */
	size_t unique_id_len;
};

/* Parse a PROXY header at the start of data[0..len). Accepts v1 (TCP4,
 * TCP6, UNKNOWN) and v2 (PROXY/LOCAL; INET, INET6, UNSPEC; STREAM, DGRAM;
 * UNIX families are parsed and reported as local). A v2 CRC32C TLV, if
 * present, is verified. Returns PP_OK with *consumed set, PP_NEED_MORE, or
 * PP_INVALID (with a short reason in err when err is not NULL). Never
 * reads outside data[0..len). */
enum pp_status pp_parse(const uint8_t *data, size_t len, struct pp_info *out,
			size_t *consumed, char *err, size_t errsz);

/* TLVs to add to a v2 header ("proxy-v2-options"); NULL/0 when absent. */
struct pp_tlvs {
	const uint8_t *authority;	/* e.g. the SNI seen in the ClientHello */
	size_t authority_len;
	const uint8_t *alpn;
	size_t alpn_len;
	const uint8_t *unique_id;
	size_t unique_id_len;
	int crc32c;			/* add a PP2_TYPE_CRC32C checksum */
};

/* struct server's pp_opts: the TLVs "proxy-v2-options" asks for. HAProxy's
 * ssl, cert-cn, ssl-cipher, cert-sig and cert-key describe a TLS session
 * that sluice never terminates, and unique-id needs unique-id-format: all
 * are refused at configuration time. */
#define PP_OPT_AUTHORITY	0x01
#define PP_OPT_CRC32C		0x02
#define PP_OPT_UNIQUE_ID	0x04

/* Build a v1 line for a connection from src to dst ("PROXY TCP4 ..." or
 * "PROXY TCP6 ..."; "PROXY UNKNOWN" when the families differ or are not
 * IP). Returns the length, or 0 if outsz is too small. */
size_t pp_build_v1(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		   uint8_t *out, size_t outsz);
/* Build a v2 header (command PROXY, STREAM or DGRAM) with the given TLVs
 * (tlvs may be NULL; the CRC32C TLV comes last and covers the rest).
 * Addresses of different or non-IP families go out as family UNSPEC.
 * Returns the length, or 0 if outsz is too small or the TLVs do not fit
 * (a unique id over 128 bytes, more than 65535 bytes in all). */
size_t pp_build_v2(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		   int dgram, const struct pp_tlvs *tlvs, uint8_t *out, size_t outsz);

/* Header for a connection made by the proxy itself (health checks):
 * version 1 writes "PROXY UNKNOWN\r\n", version 2 the LOCAL command with
 * family UNSPEC and no address. Returns the length written, or 0 when
 * outsz is too small or the version is neither 1 nor 2. */
size_t pp_build_local(int version, uint8_t *out, size_t outsz);

/* CRC32c (Castagnoli), as the PP2_TYPE_CRC32C TLV uses it. */
uint32_t pp_crc32c(const uint8_t *data, size_t len);

#endif
