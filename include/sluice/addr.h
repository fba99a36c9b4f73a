/* addr.h - socket address parsing and printing.
 *
 * Owns: the HAProxy address syntax ("1.2.3.4:80", "[::1]:80", ":80",
 * "*:80", "ipv4@", "ipv6@", "unix@/path", "abns@name" is rejected, port
 * ranges "80-85", and "+N"/"-N" port offsets for servers) and the textual
 * form used in logs. Pure functions; thread-safe.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>

#define ADDR_PORT_NONE	0x01	/* no port given */
#define ADDR_PORT_RANGE	0x02	/* "low-high": port_low..port_high */
#define ADDR_PORT_OFFSET 0x04	/* "+N" / "-N": relative to the client's dst port */

struct addr_spec {
	struct sockaddr_storage ss;	/* port set to port_low */
	socklen_t len;
	unsigned flags;		/* ADDR_PORT_* */
	int port_low, port_high;	/* port range, or the offset for ADDR_PORT_OFFSET */
};

#define ADDR_ALLOW_RANGE	0x01	/* bind: "80-85" */
#define ADDR_ALLOW_NO_PORT	0x02	/* server: port optional */
#define ADDR_ALLOW_OFFSET	0x04	/* server: "+N" / "-N" */
#define ADDR_ALLOW_UNIX		0x08	/* unix sockets ("/path", "unix@/path") */
#define ADDR_RESOLVE		0x10	/* resolve host names (getaddrinfo) */

/* Parse one address. Returns 0, or -1 with a message in err (errsz bytes). */
int addr_parse(const char *str, unsigned allow, struct addr_spec *out,
	       char *err, size_t errsz);

/* "1.2.3.4" / "::1" (no port) into buf; returns buf. */
const char *addr_ip_str(const struct sockaddr_storage *ss, char *buf, size_t sz);
int addr_port(const struct sockaddr_storage *ss);
void addr_set_port(struct sockaddr_storage *ss, int port);
/* "1.2.3.4:80" / "[::1]:80" / "unix:/path" into buf; returns buf. */
const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t sz);
socklen_t addr_len(const struct sockaddr_storage *ss);
int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
