/* backend.c - choosing a server, connection slots and queues.
 *
 * A slot is one unit of a server's maxconn, taken with a CAS so two threads
 * can never overshoot it. A session that finds every server full waits in a
 * queue: the server's own queue when the balancer insists on that server
 * (hashing), else the backend's. Whoever frees a slot hands it to the oldest
 * waiter of both queues, so sessions are served in arrival order whatever
 * thread they live on; the grant travels to the waiter's worker through its
 * inbox.
 *
 * Enqueue/release race: the enqueuer raises nbpend before re-trying the slot,
 * the releaser drops the slot before reading nbpend; with sequentially
 * consistent atomics at least one of them sees the other, so no waiter is
 * left behind a free slot.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sluice/backend.h"
#include "sluice/inspect.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/sample.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/worker.h"

int server_take_slot(struct server *srv)
{
	unsigned cur = atomic_load(&srv->cur_conns);

	do {
		if (srv_maxconn(srv) && cur >= srv_maxconn(srv))
			return 0;
	} while (!atomic_compare_exchange_weak(&srv->cur_conns, &cur, cur + 1));
	atomic_fetch_add_explicit(&srv->ctr.cum_sess, 1, memory_order_relaxed);
	if (srv->px->lb.ops->take)
		srv->px->lb.ops->take(srv);
	return 1;
}

void server_drop_slot(struct server *srv)
{
	atomic_fetch_sub(&srv->cur_conns, 1);
	if (srv->px->lb.ops->drop)
		srv->px->lb.ops->drop(srv);
}

int backend_take_slot(struct session *s, struct server *srv)
{
	if (!server_take_slot(srv))
		return 0;
	s->srv = srv;
	s->flags |= SF_SRV_SLOT | SF_ASSIGNED;
	return 1;
}

/* --- hashing keys -------------------------------------------------------- */

static size_t addr_bytes(const union sockaddr_any *a, const void **p)
{
	if (a->sa.sa_family == AF_INET6) {
		*p = &a->in6.sin6_addr;
		return sizeof(a->in6.sin6_addr);
	}
	*p = &a->in.sin_addr;
	return sizeof(a->in.sin_addr);
}

/* The key for source/hash algorithms. An absent sample falls back to a
 * per-session value so that such sessions still spread, as HAProxy falls
 * back to round-robin. */
static uint64_t session_hash(struct session *s)
{
	const struct proxy *be = s->be;
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	struct sample smp;
	char scratch[256], tmp[16];
	const void *p;
	size_t len;

	if (be->lb.algo == LB_ALGO_SOURCE) {
		len = addr_bytes(&s->cli_addr, &p);
		return lb_hash_bytes(p, len);
	}
	/* The same view as rules: addresses after a PROXY header, and the
	 * bytes buffered during "tcp-request inspect-delay". */
	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	if (be->lb.hash_expr && sample_eval(be->lb.hash_expr, &ctx, &smp) &&
	    sample_to_bytes(&smp, &p, &len, tmp) == 0)
		return lb_hash_bytes(p, len);
	return lb_hash_bytes(&s, sizeof(s)) ^ s->t_accept;
}

/* --- queues -------------------------------------------------------------- */

static struct pendconn *pendconn_new(struct session *s, struct server *target)
{
	struct pendconn *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->sess = s;
	p->owner = s->w;
	p->target = target;
	p->state = PEND_WAITING;
	return p;
}

/* Queue s on target (or the backend when NULL), unless a slot frees up
 * meanwhile. Returns ASSIGN_QUEUED, ASSIGN_OK or ASSIGN_ERROR. */
static enum assign_result enqueue(struct session *s, struct server *target)
{
	struct proxy *be = s->be;
	struct pendconn *p = pendconn_new(s, target);
	_Atomic unsigned *count = target ? &target->nbpend : &be->nbpend;
	int got;

	if (!p)
		return ASSIGN_ERROR;
	pthread_mutex_lock(&be->qlock);
	p->seq = atomic_fetch_add(&be->queue_seq, 1);
	list_add_tail(target ? &target->pendq : &be->pendq, &p->node);
	atomic_fetch_add(count, 1);
	/* Re-try with the waiter visible: see the race note at the top. */
	if (target)
		got = backend_take_slot(s, target);
	else {
		int all_full = 0;
		struct server *srv = lb_pick(be, 0, NULL, &all_full);
		got = srv && backend_take_slot(s, srv);
	}
	if (got) {
		list_del(&p->node);
		atomic_fetch_sub(count, 1);
		pthread_mutex_unlock(&be->qlock);
		free(p);
		return ASSIGN_OK;
	}
	s->pend = p;
	pthread_mutex_unlock(&be->qlock);
	return ASSIGN_QUEUED;
}

int backend_unqueue(struct session *s)
{
	struct pendconn *p = s->pend;
	struct proxy *be = s->be;
	int waiting;

	if (!p)
		return 1;
	pthread_mutex_lock(&be->qlock);
	waiting = p->state == PEND_WAITING;
	if (waiting) {
		list_del(&p->node);
		atomic_fetch_sub(p->target ? &p->target->nbpend : &be->nbpend, 1);
	}
	pthread_mutex_unlock(&be->qlock);
	if (!waiting)
		return 0;
	free(p);
	s->pend = NULL;
	return 1;
}

unsigned backend_queue_len(const struct proxy *be)
{
	return atomic_load(&be->nbpend);
}

/* --- assignment ---------------------------------------------------------- */

static struct server *pick(struct session *s, uint64_t hash, int avoid_prev, int *all_full)
{
	struct server *srv = NULL;

	*all_full = 0;
	if (avoid_prev && s->prev_srv)
		srv = lb_pick(s->be, hash, s->prev_srv, all_full);
	if (!srv && !*all_full)
		srv = lb_pick(s->be, hash, NULL, all_full);
	return srv;
}

enum assign_result backend_assign(struct session *s, int avoid_prev)
{
	struct proxy *be = s->be;
	uint64_t hash = 0;
	struct server *srv;
	int all_full, tries;

	if (be->lb.algo == LB_ALGO_SOURCE || be->lb.algo == LB_ALGO_HASH)
		hash = session_hash(s);
	/* A slot seen free by the balancer may be taken by another thread
	 * before our CAS: pick again a few times before queueing. */
	for (tries = 0; tries < 4; tries++) {
		srv = pick(s, hash, avoid_prev, &all_full);
		if (!srv)
			break;
		if (backend_take_slot(s, srv))
			return ASSIGN_OK;
		if (be->lb.algo == LB_ALGO_SOURCE || be->lb.algo == LB_ALGO_HASH) {
			/* Hashing insists on this server: wait for it, unless
			 * its queue is full (maxqueue breaks persistence). */
			if (!srv->maxqueue || atomic_load(&srv->nbpend) < srv->maxqueue)
				return enqueue(s, srv);
			avoid_prev = 1;
			s->prev_srv = srv;
		}
	}
	if (!srv && !all_full)
		return ASSIGN_NO_SERVER;
	return enqueue(s, NULL);
}

enum assign_result backend_assign_to(struct session *s, struct server *srv)
{
	if (backend_take_slot(s, srv))
		return ASSIGN_OK;
	if (srv->maxqueue && atomic_load(&srv->nbpend) >= srv->maxqueue)
		return ASSIGN_QUEUE_FULL;
	return enqueue(s, srv);
}

/* --- releasing and granting ---------------------------------------------- */

static void deliver(struct worker *self, struct pendconn *p)
{
	struct worker *owner = p->owner;

	pthread_mutex_lock(&owner->inbox_lock);
	list_add_tail(&owner->inbox, &p->node);
	pthread_mutex_unlock(&owner->inbox_lock);
	if (owner == self)
		loop_defer(&self->loop, &self->inbox_task);
	else
		loop_wake(&owner->loop);
}

/* srv takes traffic from balancing now: usable, and a backup only while
 * the balancer uses backups (no primary is up). */
static int srv_serves_backend_queue(const struct server *srv)
{
	return srv_is_usable(srv) &&
	       (!(srv->flags & SRV_F_BACKUP) || atomic_load(&srv->px->lb.using_backups));
}

/* The oldest waiter that srv may serve: its own queue, or the backend's
 * when srv takes traffic from balancing. Called with qlock held. */
static struct pendconn *oldest_waiter(struct server *srv)
{
	struct proxy *be = srv->px;
	struct pendconn *ps = NULL, *pb = NULL;

	if (!list_empty(&srv->pendq))
		ps = list_first(&srv->pendq, struct pendconn, node);
	if (!list_empty(&be->pendq) && srv_serves_backend_queue(srv))
		pb = list_first(&be->pendq, struct pendconn, node);
	if (ps && pb)
		return ps->seq < pb->seq ? ps : pb;
	return ps ? ps : pb;
}

static void grant_waiters(struct worker *self, struct server *srv)
{
	struct proxy *be = srv->px;
	struct list granted;
	struct list *pos, *tmp;

	list_init(&granted);
	pthread_mutex_lock(&be->qlock);
	for (;;) {
		struct pendconn *p = oldest_waiter(srv);
		unsigned cur;

		if (!p)
			break;
		cur = atomic_load(&srv->cur_conns);
		if (srv_maxconn(srv) && cur >= srv_maxconn(srv))
			break;
		if (!atomic_compare_exchange_strong(&srv->cur_conns, &cur, cur + 1))
			continue;
		list_del(&p->node);
		atomic_fetch_sub(p->target ? &p->target->nbpend : &be->nbpend, 1);
		p->state = PEND_GRANTED;
		p->granted = srv;
		list_add_tail(&granted, &p->node);
	}
	pthread_mutex_unlock(&be->qlock);
	list_for_each_safe(pos, tmp, &granted) {
		struct pendconn *p = list_entry(pos, struct pendconn, node);

		list_del(&p->node);
		atomic_fetch_add_explicit(&srv->ctr.cum_sess, 1, memory_order_relaxed);
		if (be->lb.ops->take)
			be->lb.ops->take(srv);
		deliver(self, p);
	}
}

void backend_release_slot(struct session *s)
{
	struct server *srv = s->srv;
	struct proxy *be = srv->px;

	s->flags &= ~SF_SRV_SLOT;
	server_drop_slot(srv);
	if (atomic_load(&srv->nbpend) || atomic_load(&be->nbpend))
		grant_waiters(s->w, srv);
}

void backend_srv_up(struct server *srv)
{
	if (atomic_load(&srv->nbpend) || atomic_load(&srv->px->nbpend))
		grant_waiters(worker_self(), srv);
}

/* Insert p into the backend queue at its arrival position, so requeued
 * sessions keep their turn. Called with qlock held. */
static void insert_by_seq(struct list *q, struct pendconn *p)
{
	struct list *pos;

	for (pos = q->prev; pos != q; pos = pos->prev)
		if (list_entry(pos, struct pendconn, node)->seq < p->seq)
			break;
	/* after pos */
	p->node.prev = pos;
	p->node.next = pos->next;
	pos->next->prev = &p->node;
	pos->next = &p->node;
}

unsigned backend_srv_down(struct server *srv)
{
	struct proxy *be = srv->px;
	struct list *pos, *tmp;
	struct server *other;
	unsigned moved = 0;

	if (!atomic_load(&srv->nbpend))
		return 0;
	pthread_mutex_lock(&be->qlock);
	list_for_each_safe(pos, tmp, &srv->pendq) {
		struct pendconn *p = list_entry(pos, struct pendconn, node);

		list_del(&p->node);
		atomic_fetch_sub(&srv->nbpend, 1);
		p->target = NULL;
		insert_by_seq(&be->pendq, p);
		atomic_fetch_add(&be->nbpend, 1);
		moved++;
	}
	pthread_mutex_unlock(&be->qlock);
	for (other = be->srv; other; other = other->next)
		if (other != srv && srv_serves_backend_queue(other) && srv_has_slot(other))
			grant_waiters(worker_self(), other);
	return moved;
}

void backend_process_inbox(struct worker *w)
{
	struct list batch;
	struct list *pos, *tmp;

	list_init(&batch);
	pthread_mutex_lock(&w->inbox_lock);
	if (!list_empty(&w->inbox)) {
		/* Move the whole inbox to a local list in one step. */
		batch = w->inbox;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		list_init(&w->inbox);
	}
	pthread_mutex_unlock(&w->inbox_lock);
	list_for_each_safe(pos, tmp, &batch) {
		struct pendconn *p = list_entry(pos, struct pendconn, node);
		struct session *s = p->sess;
		struct server *srv = p->granted;

		list_del(&p->node);
		s->pend = NULL;
		free(p);
		session_granted(s, srv);
	}
}
