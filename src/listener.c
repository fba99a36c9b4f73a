/* listener.c - accepting connections on a worker, with back-pressure.
 *
 * Limits are counted before accept(): a worker that reaches the global,
 * frontend or bind maxconn stops polling the listener (epoll_ctl DEL) and
 * leaves further clients in the kernel's backlog, instead of accepting and
 * dropping them. Any thread that frees a slot wakes the workers that paused;
 * re-adding an edge-triggered fd reports what is already pending, so nothing
 * waits for a new edge.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/proxy.h"
#include "sluice/session.h"
#include "sluice/stats.h"
#include "sluice/worker.h"

/* After EMFILE, retry accepting this much later. */
#define EMFILE_PAUSE_MS 100

enum limit { LIMIT_NONE = 0, LIMIT_GLOBAL, LIMIT_FRONTEND, LIMIT_BIND };

static int counter_take(_Atomic unsigned *ctr, unsigned max)
{
	unsigned v = atomic_fetch_add(ctr, 1);

	if (max && v >= max) {
		atomic_fetch_sub(ctr, 1);
		return 0;
	}
	return 1;
}

static enum limit take_slots(struct worker *w, struct bind_conf *bc)
{
	struct proxy *fe = bc->fe;

	if (!counter_take(&w->rt->actconn, rt_maxconn(w->rt)))
		return LIMIT_GLOBAL;
	if (!counter_take(&fe->feconn, px_maxconn(fe))) {
		atomic_fetch_sub(&w->rt->actconn, 1);
		return LIMIT_FRONTEND;
	}
	if (!counter_take(&bc->nbconn, bc->maxconn)) {
		atomic_fetch_sub(&fe->feconn, 1);
		atomic_fetch_sub(&w->rt->actconn, 1);
		return LIMIT_BIND;
	}
	return LIMIT_NONE;
}

static void give_back_slots(struct worker *w, struct bind_conf *bc)
{
	atomic_fetch_sub(&bc->nbconn, 1);
	atomic_fetch_sub(&bc->fe->feconn, 1);
	atomic_fetch_sub(&w->rt->actconn, 1);
}

static int limits_allow(const struct worker *w, const struct bind_conf *bc)
{
	unsigned gmax = rt_maxconn(w->rt), fmax = px_maxconn(bc->fe);

	return (!gmax || atomic_load(&w->rt->actconn) < gmax) &&
	       (!fmax || atomic_load(&bc->fe->feconn) < fmax) &&
	       (!bc->maxconn || atomic_load(&bc->nbconn) < bc->maxconn);
}

static void pause_one(struct wlistener *wl)
{
	if (wl->paused || wl->io.fd < 0)
		return;
	loop_del(&wl->w->loop, &wl->io);
	loop_cancel(&wl->more);
	wl->paused = 1;
	wl->w->listeners_paused = 1;
	atomic_fetch_or(&wl->w->rt->paused_mask, 1ull << wl->w->id);
}

static void pause_all(struct worker *w)
{
	for (unsigned i = 0; i < w->nlisteners; i++)
		pause_one(&w->listeners[i]);
}

void listener_try_resume(struct worker *w)
{
	int still_paused = 0;

	if (!w->listeners_paused || w->stopping)
		return;
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct wlistener *wl = &w->listeners[i];

		if (!wl->paused)
			continue;
		if (timer_armed(&w->resume_timer) || !limits_allow(w, wl->li->bc) ||
		    loop_add(&w->loop, &wl->io, EPOLLIN) < 0) {
			still_paused = 1;
			continue;
		}
		wl->paused = 0;
	}
	w->listeners_paused = still_paused;
	if (!still_paused)
		atomic_fetch_and(&w->rt->paused_mask, ~(1ull << w->id));
}

static void emfile_pause(struct worker *w, struct bind_conf *bc, int err)
{
	if (w->loop.now_ms - w->last_emfile_log >= 1000) {
		w->last_emfile_log = w->loop.now_ms;
		log_send(bc->fe, w->conf, LOG_LVL_ALERT,
			 "Proxy %s: accept() failed: %s; pausing listeners for %d ms "
			 "(raise 'ulimit -n' or lower maxconn)",
			 bc->fe->name, strerror(err), EMFILE_PAUSE_MS);
	}
	pause_all(w);
	timer_arm(&w->loop.timers, &w->resume_timer, w->loop.now_ms + EMFILE_PAUSE_MS);
}

static void accept_batch(struct wlistener *wl)
{
	struct worker *w = wl->w;
	struct bind_conf *bc = wl->li->bc;
	unsigned max = w->conf->global.maxaccept ? w->conf->global.maxaccept : 64;

	for (unsigned n = 0; n < max; n++) {
		union sockaddr_any addr;
		socklen_t alen = sizeof(addr);
		enum limit lim = take_slots(w, bc);
		int fd;

		if (lim != LIMIT_NONE) {
			if (lim == LIMIT_GLOBAL)
				pause_all(w);
			else
				pause_one(wl);
			/* A slot may have freed between the check and the
			 * pause: look again rather than wait for a wake-up. */
			listener_try_resume(w);
			return;
		}
		fd = accept4(wl->io.fd, &addr.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;

			give_back_slots(w, bc);
			if (err == EINTR || err == ECONNABORTED)
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
				emfile_pause(w, bc, err);
			return;	/* EAGAIN: backlog empty */
		}
		if (stats_frontend(bc->fe))
			stats_accept(w, bc, fd, &addr, alen);
		else
			session_accept(w, bc, fd, &addr, alen);
	}
	loop_defer(&w->loop, &wl->more);	/* more may wait in the backlog */
}

static void listener_io_cb(struct io *io, uint32_t ev)
{
	(void)ev;
	accept_batch(container_of(io, struct wlistener, io));
}

static void listener_more_cb(struct task *t)
{
	struct wlistener *wl = container_of(t, struct wlistener, more);

	if (!wl->paused && wl->io.fd >= 0)
		accept_batch(wl);
}

static void resume_timer_cb(struct timer *t)
{
	struct worker *w = container_of(t, struct worker, resume_timer);

	listener_try_resume(w);
}

void listener_conn_closed(struct worker *w, struct bind_conf *bc)
{
	give_back_slots(w, bc);
	if (w->stopping && !w->nb_sessions)
		w->loop.stop = 1;
	if (atomic_load(&w->rt->paused_mask))
		runtime_slot_freed(w->rt);
}

static unsigned count_listeners(const struct config *conf)
{
	unsigned n = 0;

	for (const struct proxy *px = conf->proxies; px; px = px->next) {
		struct list *b, *l;

		if (!(px->cap & PX_CAP_FE) || px->mode != PX_MODE_TCP)
			continue;
		for (b = px->binds.next; b != &px->binds; b = b->next) {
			struct bind_conf *bc = list_entry(b, struct bind_conf, node);

			for (l = bc->listeners.next; l != &bc->listeners; l = l->next)
				n++;
		}
	}
	return n;
}

int listener_worker_init(struct worker *w)
{
	unsigned n = count_listeners(w->conf), i = 0;

	timer_init(&w->resume_timer, resume_timer_cb);
	w->listeners = n ? calloc(n, sizeof(*w->listeners)) : NULL;
	if (n && !w->listeners)
		return -1;
	for (struct proxy *px = w->conf->proxies; px; px = px->next) {
		struct list *b, *l;

		if (!(px->cap & PX_CAP_FE) || px->mode != PX_MODE_TCP)
			continue;
		for (b = px->binds.next; b != &px->binds; b = b->next) {
			struct bind_conf *bc = list_entry(b, struct bind_conf, node);

			for (l = bc->listeners.next; l != &bc->listeners; l = l->next) {
				struct listener *li = list_entry(l, struct listener, node);
				struct wlistener *wl = &w->listeners[i++];

				wl->li = li;
				wl->w = w;
				wl->io.fd = w->id < li->nbfds ? li->fds[w->id] : -1;
				wl->io.cb = listener_io_cb;
				task_init(&wl->more, listener_more_cb);
				if (wl->io.fd >= 0 && loop_add(&w->loop, &wl->io, EPOLLIN) < 0)
					return -1;
			}
		}
	}
	w->nlisteners = n;
	return 0;
}

/* Soft stop, before close(): with SO_REUSEPORT the kernel resets the
 * clients still queued on a socket when it closes (-sf hand-over), so take
 * them first, as far as limits allow. Under a master the socket is shared
 * and survives: this only serves a few more clients here. */
static void drain_backlog(struct wlistener *wl)
{
	struct worker *w = wl->w;
	struct bind_conf *bc = wl->li->bc;

	for (;;) {
		union sockaddr_any addr;
		socklen_t alen = sizeof(addr);
		int fd;

		if (take_slots(w, bc) != LIMIT_NONE)
			return;
		fd = accept4(wl->io.fd, &addr.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			give_back_slots(w, bc);
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		session_accept(w, bc, fd, &addr, alen);
	}
}

void listener_worker_stop(struct worker *w)
{
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct wlistener *wl = &w->listeners[i];

		if (wl->io.fd < 0)
			continue;
		if (!wl->paused)
			loop_del(&w->loop, &wl->io);
		loop_cancel(&wl->more);
		wl->paused = 1;
		/* Close this worker's own socket now so that the kernel stops
		 * queueing clients on it (SO_REUSEPORT sends them elsewhere). */
		drain_backlog(wl);
		close(wl->io.fd);
		wl->li->fds[w->id] = -1;
		wl->io.fd = -1;
	}
	timer_disarm(&w->loop.timers, &w->resume_timer);
	stats_worker_stop(w);
}
