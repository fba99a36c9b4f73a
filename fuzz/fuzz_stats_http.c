/* fuzz_stats_http.c - libFuzzer target for the stats listener's HTTP
 * request parser. Beyond memory errors, it checks what stats.c relies on:
 * the target lies inside the input, a complete head fits in max and in
 * the input, and a result stays the same once more bytes follow a
 * complete head (the parser never looks past the empty line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/stats.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stats_req r, r2;
	size_t max = size ? 1 + data[0] * 40u : 1;
	const char *buf;
	enum stats_parse p;

	if (!size)
		return 0;
	buf = (const char *)data + 1;
	size--;
	p = stats_parse_request(buf, size, max, &r);
	CHECK(p <= STATS_P_VERSION);
	if (p != STATS_P_OK)
		return 0;
	CHECK(r.head_len > 0 && r.head_len <= size && r.head_len <= max);
	CHECK(r.target >= buf && r.target_len > 0 && r.target + r.target_len <= buf + r.head_len);
	CHECK(r.method <= STATS_M_HEAD && r.minor >= 0 && r.minor <= 9);
	CHECK(stats_parse_request(buf, r.head_len, max, &r2) == STATS_P_OK);
	CHECK(r2.head_len == r.head_len && r2.target == r.target);
	stats_route(&r, "/");
	stats_route(&r, STATS_DEFAULT_URI);
	return 0;
}
