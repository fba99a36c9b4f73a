/* proxy_proto.h - the PROXY protocol (v1 text, v2 binary) headers.
 *
 * Owns: building the headers sluice sends to servers. Health checks send
 * the "local" form: the connection is the proxy's own, with no client
 * behind it.
 * Threading: pure functions over caller buffers.
 */
#ifndef SLUICE_PROXY_PROTO_H
#define SLUICE_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PP_V1_LOCAL_LEN	15	/* "PROXY UNKNOWN\r\n" */
#define PP_V2_SIG_LEN	12
#define PP_V2_HDR_LEN	16	/* signature, ver/cmd, family, length */

extern const uint8_t pp_v2_signature[PP_V2_SIG_LEN];

/* Header for a connection made by the proxy itself (health checks):
 * version 1 writes "PROXY UNKNOWN\r\n", version 2 the LOCAL command with
 * family UNSPEC and no address. Returns the length written, or 0 when
 * outsz is too small or the version is neither 1 nor 2. */
size_t pp_build_local(int version, uint8_t *out, size_t outsz);

#endif
