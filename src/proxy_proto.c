/* proxy_proto.c - PROXY protocol headers (see the specification at
 * haproxy.org/download/1.8/doc/proxy-protocol.txt). */
#include <string.h>

#include "sluice/proxy_proto.h"

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
