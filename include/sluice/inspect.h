/* inspect.h - the steps between accept and server assignment.
 *
 * Owns: what a session does before it has a server: tcp-request
 * connection rules, reading a PROXY header (bind accept-proxy, or
 * expect-proxy layer4), tcp-request session rules, buffering the client's
 * first bytes while tcp-request content rules wait for them (up to
 * tcp-request inspect-delay), choosing the backend (use_backend, else
 * default_backend), the backend's content rules and use-server. The bytes
 * read here stay in the session's request buffer and reach the server
 * unchanged, before anything else. A session whose proxies have none of
 * these goes straight to assignment: no buffer, no extra syscall.
 * Threading: runs on the session's worker, like the rest of its life.
 */
#ifndef SLUICE_INSPECT_H
#define SLUICE_INSPECT_H

#include <stdint.h>
#include <sys/socket.h>

struct session;
struct smp_ctx;

/* Bytes kept free in the request buffer while inspecting, so that a PROXY
 * header for the server always fits in front of the inspected data. */
#define INSPECT_HEADROOM 512

/* Right after accept (the session is set up, fe known, be not yet). */
void inspect_start(struct session *s);
/* Client readiness while the session is in SS_INSPECT. */
void inspect_process(struct session *s);
/* The session's timer fired while in SS_INSPECT. */
void inspect_timer(struct session *s);

/* Fill ctx for evaluating samples on s (src/dst as the session sees them,
 * after a PROXY header; the buffered request bytes; scratch space). dst is
 * looked up once and cached in s->dst_addr. */
void inspect_smp_ctx(struct session *s, struct smp_ctx *ctx,
		     struct sockaddr_storage *src, struct sockaddr_storage *dst,
		     char *scratch, size_t scratch_size);

#endif
