/* ut.h - minimal unit-test helpers. Each test binary ends with
 * UT_DONE(), which prints "N passed, N failed" and sets the exit code. */
#ifndef SLUICE_UT_H
#define SLUICE_UT_H

#include <stdio.h>
#include <string.h>

static int ut_pass, ut_fail;

#define UT_CHECK(cond) do { \
	if (cond) ut_pass++; \
	else { ut_fail++; fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define UT_EQ_INT(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	if (_a == _b) ut_pass++; \
	else { ut_fail++; fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld != %lld)\n", \
				  __FILE__, __LINE__, #a, #b, _a, _b); } \
} while (0)

#define UT_EQ_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	if (_a && _b && !strcmp(_a, _b)) ut_pass++; \
	else { ut_fail++; fprintf(stderr, "%s:%d: FAILED: %s == %s (\"%s\" != \"%s\")\n", \
				  __FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } \
} while (0)

#define UT_DONE() do { \
	printf("%s: %d passed, %d failed\n", __FILE__, ut_pass, ut_fail); \
	return ut_fail ? 1 : 0; \
} while (0)

#endif
