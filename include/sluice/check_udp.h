/* check_udp.h - health checks of "mode udp" servers.
 *
 * Owns: the proxy keyword "udp-check send|send-binary|expect|expect-binary"
 * (backend, listen, defaults), the compiled udp-check settings of a section
 * (struct udpcheck), the post-parse rules that keep UDP and TCP checks apart
 * (udp-check in a mode tcp backend, tcp-check and "option *-chk" in a mode
 * udp backend), the pure reply matcher, and the run of a UDP health check on
 * its worker: one connected datagram socket per run, one datagram out (the
 * payload, behind a PROXY v2 LOCAL header when the server uses
 * send-proxy-v2 and the check goes to the same place), then the first reply,
 * an ICMP error or the timeout decides. Results go through check_io.c's
 * check_run_result(), so rise/fall, logs and state changes are the TCP
 * checks' own. Agent checks of UDP servers stay TCP (check_io.c).
 *
 * Sharing: a section's settings live in its default-server's check_conf
 * (check_conf.udp) and every server of the section points to the same
 * struct udpcheck (reference counted, parse time only), so defaults are
 * inherited the way default-server settings are. A section that writes
 * udp-check lines starts afresh: it does not add to inherited settings.
 * Threading: settings are immutable once workers run; a run belongs to its
 * check's worker; the matcher and hex decoder are pure.
 */
#ifndef SLUICE_CHECK_UDP_H
#define SLUICE_CHECK_UDP_H

#include <stddef.h>
#include <stdint.h>
#include "tcpcheck.h"

struct check;
struct proxy;

/* Largest udp-check payload: an IPv4 datagram's, less a PROXY v2 LOCAL
 * header. */
#define UDPCHK_MAX_PAYLOAD	(65507 - 16)

struct udpcheck {
	unsigned refcnt;
	const struct proxy *owner;	/* section whose lines built it */
	const char *conf_file;		/* first udp-check line */
	int conf_line;
	uint8_t *send;			/* NULL: an empty datagram */
	size_t send_len;
	int send_line;			/* 0: no send written */
	uint8_t *expect;		/* NULL: any reply, or none, passes */
	size_t expect_len;
	int expect_binary;		/* written with expect-binary (messages in hex) */
	int expect_line;
};

struct udpcheck *udpcheck_ref(struct udpcheck *u);
void udpcheck_unref(struct udpcheck *u);

/* Decode hex digits (an even number, either case) into out[0..outsz).
 * Returns the length, or -1 with a reason in err (odd count, a bad digit
 * and where, too long). */
long udpcheck_hex_decode(const char *hex, uint8_t *out, size_t outsz, char *err, size_t errsz);

/* Judge a reply datagram: data[0..len) is what was read of it, truncated
 * when the datagram was longer than the buffer. Without an expect any reply
 * passes (CHK_L4OK, info says how long it was); with one, a reply holding
 * the expected bytes anywhere passes (CHK_L7OK) and another fails
 * (CHK_L7RSP, info names the pattern and shows the start of the reply,
 * non-printable bytes as \xHH). Returns 1 passed, 0 failed; info is always
 * NUL-terminated and free of control characters. Never reads outside
 * data[0..len). */
int udpcheck_match(const struct udpcheck *u, const uint8_t *data, size_t len, int truncated,
		   enum check_code *code, char *info, size_t infosz);

/* Result of a run that saw no reply within waited_ms, its timeout: without an expect
 * it passes (CHK_L4OK: nothing refused the datagram), with one it fails
 * (CHK_L7TOUT). Returns 1 passed, 0 failed. */
int udpcheck_no_reply(const struct udpcheck *u, unsigned waited_ms, enum check_code *code,
		      char *info, size_t infosz);

/* ---- engine, between check_io.c and check_udp.c (owner's thread) ---- */

/* The health check (not the agent) of a server of a mode udp backend. */
int check_is_udp(const struct check *c);
/* Start a run (c->start_ms is set): open, connect, send, arm the deadline
 * on c->timer. A run that ends at once reports through check_run_result(). */
void check_udp_start(struct check *c);
/* c->timer fired while c->udp_run is set. */
void check_udp_timeout(struct check *c);
/* Drop the run without a result (use_loop 0 once the worker is gone). */
void check_udp_abort(struct check *c, int use_loop);

/* check_io.c: end a health check run with a result (duration from
 * c->start_ms, rise/fall, logs, server state) and schedule the next. */
void check_run_result(struct check *c, enum check_code code, const char *info);

#endif
