/* udp.h - mode udp: datagram sessions between clients and servers.
 *
 * Owns: the datagram path of "mode udp" frontends/backends/listens: each
 * worker's table of UDP sessions (keyed by the client's address and port,
 * per frontend), reading the frontend's socket in batches (recvmmsg),
 * creating a session on a client's first datagram (stick rules, then the
 * backend's balancer), one connected UDP socket per session towards its
 * server (so replies need no lookup), sending replies back from the
 * address the client reached in batches (sendmmsg, IP_PKTINFO for wildcard
 * binds), session timeouts ("timeout client" of silence either way, 30 s
 * when unset), the maxconn bound (the least recently active session of the
 * worker is evicted for a new one), PROXY v2 over datagrams ("accept-proxy"
 * on the bind: every datagram starts with a v2 header; "send-proxy-v2" on
 * the server: every datagram gets one, family DGRAM), moving a session off
 * a server that is no longer usable on its next datagram, the log line at
 * a session's end and the counters.
 * Threading: every worker polls its own SO_REUSEPORT socket of each UDP
 * listener; the kernel sends a client's datagrams (same 4-tuple) to one of
 * them, so a session lives on one worker and its table needs no lock.
 * Shared with other threads: proxy/server counters and connection counts
 * (atomics) and server state (read).
 */
#ifndef SLUICE_UDP_H
#define SLUICE_UDP_H

#include <stdint.h>

struct worker;
struct config;

/* Largest datagram relayed intact (IPv4 payload limit). */
#define UDP_MAX_DGRAM		65535
/* Datagrams read or written per recvmmsg/sendmmsg call. */
#define UDP_BATCH		16
/* Session timeout when neither "timeout client" is set. */
#define UDP_DEFAULT_TIMEOUT_MS	30000

/* On worker w's thread, before its loop runs: poll its sockets of every
 * UDP listener. 0, or -1 (out of memory, epoll failure). Does nothing
 * when the configuration has no UDP frontend. */
int udp_worker_init(struct worker *w);
/* Soft stop on w: stop reading the listeners (live sessions end at their
 * timeout or at udp_worker_free). */
void udp_worker_stop(struct worker *w);
/* On w's thread once its loop ended: end every session (logged, counted),
 * free the table and the buffers. */
void udp_worker_free(struct worker *w);
/* Live UDP sessions of w (for tests and the runtime API later). */
unsigned udp_worker_sessions(const struct worker *w);

struct sockaddr;
/* The session key (exposed for tests): the hash of a sender's address
 * and port as seen on one listening socket (owner), and whether two
 * addresses name the same sender (family, address, port; scope for
 * IPv6). Other families never match. */
uint64_t udp_key_hash(const void *owner, const struct sockaddr *a);
int udp_addr_same(const struct sockaddr *a, const struct sockaddr *b);

#endif
