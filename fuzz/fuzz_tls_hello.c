/* fuzz_tls_hello.c - libFuzzer target for the TLS ClientHello parser.
 * Each input is parsed twice: with a scratch too small for most fragmented
 * hellos (the "too large" paths) and with a full-size one. Beyond memory
 * errors, the target checks what callers rely on: a status in range,
 * pointers that lie inside the input or the scratch with their whole
 * length, a host name no longer than TLS_HELLO_MAX_SNI and without NUL, an
 * ALPN list whose first name can be read, nothing but hs_type and
 * record_version left set on failure, and the same answer from both
 * scratches whenever the hello fits in the small one. */
#include <stdint.h>
#include <string.h>

#include "sluice/tls_hello.h"

#define SMALL_SCRATCH	128
#define LARGE_SCRATCH	(16384 + 1024)

static uint8_t small_scratch[SMALL_SCRATCH];
static uint8_t large_scratch[LARGE_SCRATCH];

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && n <= size && a - b <= size - n;
}

static void check_ptr(const uint8_t *p, size_t n, const uint8_t *data, size_t size,
		      const uint8_t *scratch, size_t scratch_size)
{
	if (!p) {
		if (n)
			__builtin_trap();
		return;
	}
	if (!inside(p, n, data, size) && !inside(p, n, scratch, scratch_size))
		__builtin_trap();
}

static void check_ok(const struct tls_hello *h, const uint8_t *data, size_t size,
		     const uint8_t *scratch, size_t scratch_size)
{
	const uint8_t *name;
	size_t n;

	if (h->hs_type != 1 || h->hello_version >> 8 != 3 || h->max_version >> 8 != 3)
		__builtin_trap();
	check_ptr(h->sni, h->sni_len, data, size, scratch, scratch_size);
	check_ptr(h->alpn, h->alpn_len, data, size, scratch, scratch_size);
	if (h->sni && (!h->sni_len || h->sni_len > TLS_HELLO_MAX_SNI || memchr(h->sni, 0, h->sni_len)))
		__builtin_trap();
	if (h->alpn && tls_hello_first_alpn(h->alpn, h->alpn_len, &name, &n) < 0)
		__builtin_trap();
	if (h->alpn && (!n || !inside(name, n, h->alpn, h->alpn_len)))
		__builtin_trap();
}

static enum tls_hello_status run(const uint8_t *data, size_t size, uint8_t *scratch,
				 size_t scratch_size, struct tls_hello *h)
{
	enum tls_hello_status st = tls_hello_parse(data, size, scratch, scratch_size, h);

	switch (st) {
	case TLS_HELLO_OK:
		check_ok(h, data, size, scratch, scratch_size);
		break;
	case TLS_HELLO_NEED_MORE:
	case TLS_HELLO_NOT_TLS:
	case TLS_HELLO_INVALID:
		if (h->sni || h->alpn || h->sni_len || h->alpn_len || h->hello_version || h->max_version)
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	return st;
}

static int same_hello(const struct tls_hello *a, const struct tls_hello *b)
{
	return a->hs_type == b->hs_type && a->record_version == b->record_version &&
	       a->hello_version == b->hello_version && a->max_version == b->max_version &&
	       a->sni_len == b->sni_len && a->alpn_len == b->alpn_len &&
	       (!a->sni_len || !memcmp(a->sni, b->sni, a->sni_len)) &&
	       (!a->alpn_len || !memcmp(a->alpn, b->alpn, a->alpn_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_hello small, large;
	enum tls_hello_status s, l;

	s = run(data, size, small_scratch, sizeof(small_scratch), &small);
	l = run(data, size, large_scratch, sizeof(large_scratch), &large);
	/* a smaller scratch can only turn an answer into "invalid" */
	if (s != TLS_HELLO_INVALID && (s != l || !same_hello(&small, &large)))
		__builtin_trap();
	if (s == TLS_HELLO_INVALID && l == TLS_HELLO_OK && small.hs_type != 1)
		__builtin_trap();
	return 0;
}
