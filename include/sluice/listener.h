/* listener.h - "bind" lines, listening sockets and accept back-pressure.
 *
 * Owns: struct bind_conf (one "bind" line with its options) and struct
 * listener (one address of it), the registry of bind keywords (backlog,
 * maxconn, v4v6, v6only, defer-accept, tfo, interface; other subsystems add
 * theirs, e.g. accept-proxy), the creation of one SO_REUSEPORT socket per
 * worker thread per address, and the global/frontend/bind maxconn limits.
 * Threading: configuration is parsed on the main thread; sockets are
 * created before workers start; each worker only polls its own socket of
 * each listener. Connection counts are atomics.
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include <stdatomic.h>
#include <sys/socket.h>
#include "list.h"

struct proxy;
struct cfg_ctx;
struct config;

struct bind_conf {
	struct list node;		/* in proxy->binds */
	struct proxy *fe;
	const char *conf_file;
	int conf_line;
	char *arg;			/* the address argument as written */
	struct list listeners;		/* struct listener */
	unsigned backlog;		/* 0: default (frontend maxconn, capped) */
	unsigned maxconn;		/* 0: unlimited at this level */
	int v4v6, v6only;
	unsigned defer_accept;		/* seconds for TCP_DEFER_ACCEPT, 0: off */
	int tfo;
	char *interface;		/* SO_BINDTODEVICE */
	char *name;			/* "name", NULL if none */
	int accept_proxy;		/* reserved for the PROXY protocol */
	int transparent;		/* "transparent": IP_TRANSPARENT before bind() (privs.c) */
	_Atomic unsigned nbconn;	/* current connections through this bind */
};

struct listener {
	struct list node;		/* in bind_conf->listeners */
	struct bind_conf *bc;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int *fds;			/* one socket per worker thread, -1 if none */
	unsigned nbfds;
};

/* Bind keyword registry: same contract as server keywords (returns extra
 * words used, or -1). */
typedef int (*bind_kw_fn)(struct cfg_ctx *ctx, struct bind_conf *bc, char **args);
struct bind_kw {
	const char *name;
	bind_kw_fn fn;
};
struct bind_kw_list {
	struct bind_kw_list *next;
	const struct bind_kw *kws;	/* terminated by { NULL } */
};
void bind_register_keywords(struct bind_kw_list *list);
/* Free a bind line, its listeners (closing their sockets) and strings. */
void bind_conf_free(struct bind_conf *bc);

/* Create nthreads sockets for every listener of every frontend (bound and
 * listening). Errors are printed as "FILE:LINE: cannot bind ..." and
 * counted; returns the number of errors. */
int listeners_open(struct config *conf, unsigned nthreads);
void listeners_close(struct config *conf);

struct worker;
/* Runtime, on a worker: start polling its sockets; a session ended (give
 * back its global/frontend/bind slots and resume paused listeners). */
int listener_worker_init(struct worker *w);
void listener_conn_closed(struct worker *w, struct bind_conf *bc);
/* Resume this worker's paused listeners if limits allow (on wake-up). */
void listener_try_resume(struct worker *w);
/* Soft stop: stop accepting on this worker. */
void listener_worker_stop(struct worker *w);

#endif
