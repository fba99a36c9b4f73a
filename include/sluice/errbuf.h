/* errbuf.h - report an error into a caller-provided message buffer.
 *
 * Owns nothing: the parsers that are pure functions (addresses, sample
 * expressions, log formats) write their messages into (err, errsz) given by
 * the caller, which decides where to print them. Thread-safe.
 */
#ifndef SLUICE_ERRBUF_H
#define SLUICE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Format into err (when err and errsz are set); always returns -1 so a
 * parser can write: return errbuf_fail(err, errsz, "...", ...); */
int errbuf_fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int errbuf_vfail(char *err, size_t errsz, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
