/* stick_track.c - the counters a session tracks (track-sc0..2).
 *
 * A session that tracks nothing carries a NULL pointer and pays nothing.
 * The first track-scN takes a struct stk_track from the worker's pool; each
 * tracked entry keeps one reference for the session's whole life, so the
 * table can neither expire nor evict it while the session counts on it.
 * Counting follows HAProxy: a connection is counted (conn_cnt, conn_cur,
 * conn_rate) when its tracking starts, a session (sess_cnt, sess_rate) once
 * the connection rules let it in, bytes as they move, and conn_cur drops
 * when the session ends, which also restarts the entry's expiry.
 */
#include <string.h>
#include <time.h>

#include "sluice/sample.h"
#include "sluice/session.h"
#include "sluice/stick.h"
#include "sluice/worker.h"

static uint64_t session_now(const struct session *s)
{
	return s->w->loop.now_ms;
}

uint64_t stick_now(const struct smp_ctx *ctx)
{
	struct timespec ts;

	if (ctx && ctx->sess && ctx->sess->w)
		return session_now(ctx->sess);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct stk_ctr *stk_track_get(const struct session *s, unsigned sc)
{
	if (!s || !s->track || sc >= STK_TRACK_MAX || !s->track->sc[sc].e)
		return NULL;
	return &s->track->sc[sc];
}

int stk_track_start(struct session *s, unsigned sc, struct stktable *t,
		    const struct stk_key *key, int accepted)
{
	uint64_t now = session_now(s);
	struct stk_track *tr = s->track;
	struct stksess *e;

	if (sc >= STK_TRACK_MAX)
		return -1;
	if (tr && tr->sc[sc].e)
		return 0;	/* HAProxy: the first rule tracking scN wins */
	if (!tr) {
		tr = pool_alloc(&s->w->track_pool);
		if (!tr)
			return -1;
		memset(tr, 0, sizeof(*tr));
		/* bytes before tracking started are not the entry's */
		tr->bytes_in = s->bytes_in;
		tr->bytes_out = s->bytes_out;
		s->track = tr;
	}
	e = stktable_get(t, key, now);
	if (!e)
		return -1;
	tr->sc[sc].t = t;
	tr->sc[sc].e = e;
	stksess_conn_start(t, e, now);
	if (accepted) {
		stksess_sess_start(t, e, now);
		tr->sess_counted |= (uint8_t)(1u << sc);
	}
	return 0;
}

void stk_track_accepted(struct session *s)
{
	struct stk_track *tr = s->track;
	unsigned i;

	if (!tr)
		return;
	for (i = 0; i < STK_TRACK_MAX; i++) {
		if (!tr->sc[i].e || (tr->sess_counted & (1u << i)))
			continue;
		stksess_sess_start(tr->sc[i].t, tr->sc[i].e, session_now(s));
		tr->sess_counted |= (uint8_t)(1u << i);
	}
}

void stk_track_bytes(struct session *s)
{
	struct stk_track *tr = s->track;
	uint64_t in, out;
	unsigned i;

	if (!tr)
		return;
	in = s->bytes_in - tr->bytes_in;
	out = s->bytes_out - tr->bytes_out;
	if (!in && !out)
		return;
	tr->bytes_in = s->bytes_in;
	tr->bytes_out = s->bytes_out;
	for (i = 0; i < STK_TRACK_MAX; i++)
		if (tr->sc[i].e)
			stksess_add_bytes(tr->sc[i].t, tr->sc[i].e, in, out, session_now(s));
}

void stk_track_end(struct session *s)
{
	struct stk_track *tr = s->track;
	uint64_t now;
	unsigned i;

	if (!tr)
		return;
	stk_track_bytes(s);
	now = session_now(s);
	for (i = 0; i < STK_TRACK_MAX; i++) {
		if (!tr->sc[i].e)
			continue;
		stksess_conn_end(tr->sc[i].t, tr->sc[i].e, now);
		stksess_release(tr->sc[i].t, tr->sc[i].e, 1, now);
	}
	pool_free(&s->w->track_pool, tr);
	s->track = NULL;
}

/* ---- expiry ------------------------------------------------------------
 * Lookups already drop the expired entries they meet; this timer, on the
 * first worker, sweeps every table so that table_cnt and memory follow
 * the expiry even when no traffic touches a shard. Each sweep only pops
 * expired entries from the LRU heads: its cost is what expired. */

#define PURGE_INTERVAL_MS 1000

static struct timer purge_timer;
static struct worker *purge_worker;

static void purge_cb(struct timer *t)
{
	struct worker *w = purge_worker;
	struct stktable *tab;

	for (tab = stick_tables(w->conf); tab; tab = tab->next)
		if (tab->expire)
			stktable_purge(tab, w->loop.now_ms);
	timer_arm(&w->loop.timers, t, w->loop.now_ms + PURGE_INTERVAL_MS);
}

static void start_purge(struct worker *w, void *arg)
{
	(void)arg;
	if (w->stopping)
		return;
	purge_worker = w;
	timer_init(&purge_timer, purge_cb);
	timer_arm(&w->loop.timers, &purge_timer, w->loop.now_ms + PURGE_INTERVAL_MS);
}

void stick_start(struct runtime *rt)
{
	struct stktable *t;
	int any = 0;

	for (t = stick_tables(rt->conf); t; t = t->next)
		any |= t->expire != 0;
	if (any && rt->nworkers)
		worker_call(&rt->workers[0], start_purge, NULL);
}

void stick_worker_stop(struct worker *w)
{
	if (purge_worker == w) {
		timer_disarm(&w->loop.timers, &purge_timer);
		purge_worker = NULL;
	}
}
