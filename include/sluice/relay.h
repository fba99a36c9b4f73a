/* relay.h - moving bytes between the two sides of a session.
 *
 * Owns: the forwarding of each direction (buffers allocated only while they
 * hold data, or splice() through a pooled pipe for bulk transfers), the
 * propagation of half-closes with shutdown(SHUT_WR), and the worker's pipe
 * pool.
 * Threading: runs on the session's worker only.
 *
 * Readiness is edge-triggered: a side's RD/WR flag is cleared only when the
 * kernel said EAGAIN (or a short read without a pending FIN proves the socket
 * empty), so no edge is ever lost.
 */
#ifndef SLUICE_RELAY_H
#define SLUICE_RELAY_H

struct session;
struct worker;

struct relay_pipe {
	int rfd, wfd;
	unsigned len;			/* bytes inside */
	struct relay_pipe *next;	/* in the pool's free list */
};

enum relay_result {
	RELAY_CONTINUE = 0,	/* wait for events */
	RELAY_MORE,		/* budget used: call again soon */
	RELAY_DONE,		/* both directions finished: close */
	RELAY_ABORT,		/* error: s->term set, close */
};

/* Forward what can be forwarded in both directions. */
enum relay_result relay_run(struct session *s);
/* Give back buffers and pipes (session end). */
void relay_release(struct session *s);

struct relay_pipe *pipe_get(struct worker *w);
void pipe_put(struct worker *w, struct relay_pipe *p);
void pipe_pool_flush(struct worker *w);

#endif
