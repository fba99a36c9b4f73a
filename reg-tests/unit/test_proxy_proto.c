/* PROXY protocol headers sluice sends (health checks: the LOCAL form). */
#include <stdint.h>
#include <string.h>

#include "sluice/proxy_proto.h"
#include "ut.h"

int main(void)
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
	UT_DONE();
}
