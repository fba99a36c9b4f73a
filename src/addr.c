/* addr.c - socket address parsing and printing (HAProxy address syntax).
 *
 * As in HAProxy the port follows the LAST colon, so "::1:80" is [::1]:80 and
 * a bare "::1" reads as address "::" port 1: brackets remove the doubt.
 * An empty host or "*" is the IPv4 "any" address unless "ipv6@" asks for
 * the IPv6 one. Host names are only resolved when the caller allows it,
 * once, at configuration time (first answer of getaddrinfo).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <sluice/addr.h>
#include <sluice/errbuf.h>

#define ADDR_MAX_HOST 256


struct addr_parse_state {
	const char *str;	/* the whole argument, for messages */
	unsigned allow;
	int family;		/* forced by ipv4@/ipv6@, else AF_UNSPEC */
	char *err;
	size_t errsz;
};

static int parse_unix(struct addr_parse_state *st, const char *path,
		      struct addr_spec *out)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
	size_t len = strlen(path);

	if (!(st->allow & ADDR_ALLOW_UNIX))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': UNIX socket addresses are not allowed here", st->str);
	if (!len)
		return errbuf_fail(st->err, st->errsz, "'%s': empty UNIX socket path", st->str);
	if (len >= sizeof(un->sun_path))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': UNIX socket path too long (at most %zu characters)",
				 st->str, sizeof(un->sun_path) - 1);
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, len + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

/* A decimal port 0..65535 spanning exactly [s, end). */
static int parse_port_num(const char *s, const char *end, int *port)
{
	int v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return -1;
	}
	*port = v;
	return 0;
}

static int parse_offset(struct addr_parse_state *st, const char *port,
			struct addr_spec *out)
{
	int v;

	if (!(st->allow & ADDR_ALLOW_OFFSET))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': port offsets (+N/-N) are not allowed here", st->str);
	if (parse_port_num(port + 1, port + strlen(port), &v) < 0)
		return errbuf_fail(st->err, st->errsz,
				 "'%s': invalid port offset '%s' (expects +N or -N with N up to 65535)",
				 st->str, port);
	out->flags |= ADDR_PORT_OFFSET;
	out->port_low = out->port_high = *port == '-' ? -v : v;
	return 0;
}

static int parse_range(struct addr_parse_state *st, const char *port,
		       const char *dash, struct addr_spec *out)
{
	int lo, hi;

	if (!(st->allow & ADDR_ALLOW_RANGE))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': port ranges are not allowed here", st->str);
	if (parse_port_num(port, dash, &lo) < 0 ||
	    parse_port_num(dash + 1, dash + strlen(dash), &hi) < 0 || !lo || !hi)
		return errbuf_fail(st->err, st->errsz,
				 "'%s': invalid port range '%s' (expects LOW-HIGH within 1-65535)",
				 st->str, port);
	if (lo > hi)
		return errbuf_fail(st->err, st->errsz,
				 "'%s': port range '%s' ends before it starts", st->str, port);
	out->flags |= ADDR_PORT_RANGE;
	out->port_low = lo;
	out->port_high = hi;
	return 0;
}

/* port is what follows the separating colon, NULL if there was none. */
static int parse_port(struct addr_parse_state *st, const char *port,
		      struct addr_spec *out)
{
	const char *dash;
	int v;

	if (!port || !*port) {
		if (!(st->allow & ADDR_ALLOW_NO_PORT))
			return errbuf_fail(st->err, st->errsz,
					 "'%s': missing port (expects ADDRESS:PORT, as in 127.0.0.1:80)",
					 st->str);
		out->flags |= ADDR_PORT_NONE;
		return 0;
	}
	if (*port == '+' || *port == '-')
		return parse_offset(st, port, out);
	dash = strchr(port, '-');
	if (dash)
		return parse_range(st, port, dash, out);
	if (parse_port_num(port, port + strlen(port), &v) < 0)
		return errbuf_fail(st->err, st->errsz,
				 "'%s': invalid port '%s' (expects a number from 1 to 65535)",
				 st->str, port);
	if (!v)
		return errbuf_fail(st->err, st->errsz,
				 "'%s': port 0 is not allowed (expects 1 to 65535)", st->str);
	out->port_low = out->port_high = v;
	return 0;
}

static void set_any(int family, struct addr_spec *out)
{
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		out->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		out->len = sizeof(*s4);
	}
}

/* Literal IPv4/IPv6. Returns 1 if parsed, 0 if not a literal, -1 on a
 * literal of the wrong family. */
static int parse_literal(struct addr_parse_state *st, const char *host,
			 struct addr_spec *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;

	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		if (st->family == AF_INET6)
			return errbuf_fail(st->err, st->errsz,
					 "'%s': '%s' is an IPv4 address but ipv6@ was given",
					 st->str, host);
		s4->sin_family = AF_INET;
		out->len = sizeof(*s4);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		if (st->family == AF_INET)
			return errbuf_fail(st->err, st->errsz,
					 "'%s': '%s' is an IPv6 address but ipv4@ was given",
					 st->str, host);
		s6->sin6_family = AF_INET6;
		out->len = sizeof(*s6);
		return 1;
	}
	return 0;
}

static int resolve(struct addr_parse_state *st, const char *host,
		   struct addr_spec *out)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = st->family;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc)
		return errbuf_fail(st->err, st->errsz, "'%s': cannot resolve '%s': %s",
				 st->str, host, gai_strerror(rc));
	if (res->ai_addrlen > sizeof(out->ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		return errbuf_fail(st->err, st->errsz, "'%s': '%s' resolves to no IP address",
				 st->str, host);
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int parse_host(struct addr_parse_state *st, const char *host,
		      struct addr_spec *out)
{
	int rc;

	if (!*host || !strcmp(host, "*")) {
		set_any(st->family, out);
		return 0;
	}
	rc = parse_literal(st, host, out);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (strchr(host, ':'))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': invalid IPv6 address '%s' (the port follows the last colon: write IPv6 addresses in brackets, as in [::1]:80)",
				 st->str, host);
	if (!(st->allow & ADDR_RESOLVE))
		return errbuf_fail(st->err, st->errsz,
				 "'%s': '%s' is not an IP address (host names are not accepted here)",
				 st->str, host);
	return resolve(st, host, out);
}

/* Splits "[v6]:port", "host:port" (last colon) or "host" into host and
 * port (NULL when no colon). */
static int split_host_port(struct addr_parse_state *st, const char *s,
			   char *host, size_t hostsz, const char **port)
{
	const char *end, *colon;

	*port = NULL;
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end)
			return errbuf_fail(st->err, st->errsz, "'%s': missing ']'", st->str);
		if (end[1] && end[1] != ':')
			return errbuf_fail(st->err, st->errsz,
					 "'%s': unexpected '%s' after ']' (expects :PORT)", st->str, end + 1);
		if (end[1])
			*port = end + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		end = colon ? colon : s + strlen(s);
		if (colon)
			*port = colon + 1;
	}
	if ((size_t)(end - s) >= hostsz)
		return errbuf_fail(st->err, st->errsz, "'%s': host name too long", st->str);
	memcpy(host, s, end - s);
	host[end - s] = '\0';
	return 0;
}

static int parse_inet(struct addr_parse_state *st, const char *s,
		      struct addr_spec *out)
{
	char host[ADDR_MAX_HOST];
	const char *port;

	if (split_host_port(st, s, host, sizeof(host), &port) < 0)
		return -1;
	if (*s == '[') {
		if (st->family == AF_INET)
			return errbuf_fail(st->err, st->errsz,
					 "'%s': brackets hold an IPv6 address but ipv4@ was given", st->str);
		st->family = AF_INET6;
		if (*host && strcmp(host, "*") &&
		    !inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&out->ss)->sin6_addr))
			return errbuf_fail(st->err, st->errsz,
					 "'%s': '%s' is not an IPv6 address", st->str, host);
	}
	if (parse_host(st, host, out) < 0 || parse_port(st, port, out) < 0)
		return -1;
	addr_set_port(&out->ss, out->flags & (ADDR_PORT_NONE | ADDR_PORT_OFFSET) ? 0 : out->port_low);
	return 0;
}

/* Handles "ipv4@", "ipv6@", "unix@"; returns what follows, or NULL after
 * an error. *is_unix tells that the rest is a path. */
static const char *parse_prefix(struct addr_parse_state *st, const char *s, int *is_unix)
{
	const char *at = strchr(s, '@');
	size_t len;

	*is_unix = 0;
	if (!at)
		return s;
	len = at - s;
	if (len == 4 && !strncmp(s, "ipv4", 4))
		st->family = AF_INET;
	else if (len == 4 && !strncmp(s, "ipv6", 4))
		st->family = AF_INET6;
	else if (len == 4 && !strncmp(s, "unix", 4))
		*is_unix = 1;
	else if (len == 4 && !strncmp(s, "abns", 4)) {
		errbuf_fail(st->err, st->errsz,
			  "'%s': abstract UNIX sockets (abns@) are not supported by sluice", st->str);
		return NULL;
	} else {
		errbuf_fail(st->err, st->errsz,
			  "'%s': unsupported address prefix '%.*s@' (sluice knows ipv4@, ipv6@ and unix@)",
			  st->str, (int)len, s);
		return NULL;
	}
	return at + 1;
}

int addr_parse(const char *str, unsigned allow, struct addr_spec *out,
	       char *err, size_t errsz)
{
	struct addr_parse_state st = {
		.str = str, .allow = allow, .family = AF_UNSPEC, .err = err, .errsz = errsz,
	};
	const char *s;
	int is_unix;

	memset(out, 0, sizeof(*out));
	if (!str || !*str)
		return errbuf_fail(err, errsz, "empty address");
	s = parse_prefix(&st, str, &is_unix);
	if (!s)
		return -1;
	if (is_unix || *s == '/')
		return parse_unix(&st, s, out);
	if (!*s)
		return errbuf_fail(err, errsz, "'%s': missing address after the prefix", str);
	return parse_inet(&st, s, out);
}

const char *addr_ip_str(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_un *un = (const struct sockaddr_un *)ss;

	if (!sz)
		return buf;
	buf[0] = '\0';
	switch (ss->ss_family) {
	case AF_INET:
		if (!inet_ntop(AF_INET, &s4->sin_addr, buf, sz))
			buf[0] = '\0';
		break;
	case AF_INET6:
		if (!inet_ntop(AF_INET6, &s6->sin6_addr, buf, sz))
			buf[0] = '\0';
		break;
	case AF_UNIX:
		snprintf(buf, sz, "%.*s", (int)sizeof(un->sun_path), un->sun_path);
		break;
	default:
		snprintf(buf, sz, "?");
	}
	return buf;
}

int addr_port(const struct sockaddr_storage *ss)
{
	switch (ss->ss_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	default:
		return 0;
	}
}

void addr_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_un *un = (const struct sockaddr_un *)ss;

	if (!sz)
		return buf;
	switch (ss->ss_family) {
	case AF_INET:
		snprintf(buf, sz, "%s:%d", addr_ip_str(ss, ip, sizeof(ip)), addr_port(ss));
		break;
	case AF_INET6:
		snprintf(buf, sz, "[%s]:%d", addr_ip_str(ss, ip, sizeof(ip)), addr_port(ss));
		break;
	case AF_UNIX:
		snprintf(buf, sz, "unix:%.*s", (int)sizeof(un->sun_path), un->sun_path);
		break;
	default:
		snprintf(buf, sz, "?");
	}
	return buf;
}

socklen_t addr_len(const struct sockaddr_storage *ss)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)ss;

	switch (ss->ss_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	case AF_UNIX:
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				   strnlen(un->sun_path, sizeof(un->sun_path)) + 1);
	default:
		return 0;
	}
}

int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_un *au = (const void *)a, *bu = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	switch (a->ss_family) {
	case AF_INET:
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		return a6->sin6_port == b6->sin6_port &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) &&
		       a6->sin6_scope_id == b6->sin6_scope_id;
	case AF_UNIX:
		return !strncmp(au->sun_path, bu->sun_path, sizeof(au->sun_path));
	default:
		return 1;
	}
}
