/* tls_hello.h - reading a TLS ClientHello without decrypting anything.
 *
 * Owns: the parser of the first bytes a TLS client sends (record layer and
 * ClientHello, no OpenSSL), and the sample fetches built on it:
 * req.ssl_hello_type, req.ssl_sni, req.ssl_ver, req.ssl_alpn (and the old
 * spellings req_ssl_hello_type, req_ssl_sni, req_ssl_ver), evaluated over
 * the bytes a session has buffered while it inspects (smp_ctx.req).
 * Threading: pure functions over caller buffers; no state.
 *
 * The hello may arrive in several TCP segments and be fragmented over
 * several TLS records: the parser reassembles the handshake message into a
 * caller-provided scratch buffer (bounded), never reads outside what it was
 * given, and answers "need more" until the whole ClientHello is there.
 */
#ifndef SLUICE_TLS_HELLO_H
#define SLUICE_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

enum tls_hello_status {
	TLS_HELLO_OK = 0,	/* a complete ClientHello was parsed */
	TLS_HELLO_NEED_MORE,	/* looks like TLS so far: wait for more bytes */
	TLS_HELLO_NOT_TLS,	/* the first bytes are not a TLS handshake record */
	TLS_HELLO_INVALID,	/* TLS, but malformed, lying lengths, or too large */
};

#define TLS_HELLO_MAX_SNI	255
#define TLS_HELLO_SCRATCH	(16384 + 1024)	/* enough for any hello in one buffer */	/* host names longer than this are "invalid" */

struct tls_hello {
	uint8_t hs_type;		/* handshake type of the first message (1: ClientHello) */
	uint16_t record_version;	/* record layer version, e.g. 0x0301 */
	uint16_t hello_version;		/* ClientHello legacy_version, e.g. 0x0303 */
	uint16_t max_version;		/* highest of supported_versions (TLS 1.3), else hello_version */
	const uint8_t *sni;		/* first host_name of server_name, NULL if none */
	size_t sni_len;
	const uint8_t *alpn;		/* ALPN protocol_name_list (each name length-prefixed), NULL if none */
	size_t alpn_len;
};

/* Parse data[0..len). scratch (scratch_size bytes, at least 16 KiB
 * recommended) receives the reassembled handshake message; the pointers in
 * *out point into data or scratch. On TLS_HELLO_NEED_MORE/NOT_TLS/INVALID,
 * *out is zeroed except hs_type/record_version when known (so
 * req.ssl_hello_type can report another handshake type at once; it
 * answers 1 only for a whole, valid ClientHello). */
enum tls_hello_status tls_hello_parse(const uint8_t *data, size_t len,
				      uint8_t *scratch, size_t scratch_size,
				      struct tls_hello *out);

/* The first protocol of an ALPN list (as in struct tls_hello). Returns 0
 * with *name and *n set, or -1 for an empty or malformed list. */
int tls_hello_first_alpn(const uint8_t *alpn, size_t alpn_len, const uint8_t **name, size_t *n);

#endif
