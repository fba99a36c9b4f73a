/* errbuf.c - see errbuf.h. */
#include <stdio.h>

#include "sluice/errbuf.h"

int errbuf_vfail(char *err, size_t errsz, const char *fmt, va_list ap)
{
	if (err && errsz)
		vsnprintf(err, errsz, fmt, ap);
	return -1;
}

int errbuf_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vfail(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}
