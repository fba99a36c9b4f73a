/* server_state.c - a server's operational state, admin flags and weight.
 *
 * Owns every runtime change of a server's availability: the down causes
 * (health check, agent, tracked server) that make it DOWN, the admin flags
 * (maintenance, drain, and their inherited forms), the runtime weight and
 * the slow start ramp that scales it after a return to service. A change
 * is pushed to the balancer and the queues, applies on-marked-down and
 * on-marked-up, is copied to the servers that track this one, and is
 * logged with HAProxy's wording.
 *
 * Threading: any thread may call in. The read-modify-write of a server's
 * bits happens under its state_lock; everything that follows from it
 * (balancer, queues, logs, trackers) runs after unlocking, so a tracker's
 * lock is never taken while a tracked server's is held. The slow start
 * timer belongs to one worker (s->slowstart_worker) and is only touched
 * from that worker's thread, reached through worker_call().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sluice/backend.h>
#include <sluice/global.h>
#include <sluice/lb.h>
#include <sluice/log.h>
#include <sluice/loop.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/session.h>
#include <sluice/worker.h>

/* Set once the workers run; NULL at configuration time, when nothing is
 * logged and no thread can be asked to do anything. */
static struct runtime *_Atomic state_rt;

/* What balancing sees of a server, before and after a change. */
struct srv_view {
	int up;
	unsigned admin;
	unsigned eweight;
};

struct srv_change {
	struct srv_view old, new;
	int ramp;		/* a slow start ramp began: start its timer */
};

/* Why a change happened, for its log line. */
struct srv_note {
	const struct srv_why *why;	/* down causes */
	int via_track;			/* the tracked server flipped this one */
	const char *admin_why;		/* admin flags */
};

static int view_usable(const struct srv_view *v)
{
	return v->up && !v->admin && v->eweight > 0;
}

/* Able to serve its own queue: drain still lets queued and persistent
 * sessions in, maintenance and DOWN do not. */
static int view_in_service(const struct srv_view *v)
{
	return v->up && !(v->admin & SRV_ADMF_ANY_MAINT);
}

/* What trackers inherit: operational DOWN, maintenance, drain. */
#define TRACK_DOWN	0x1
#define TRACK_MAINT	0x2
#define TRACK_DRAIN	0x4

static unsigned view_track_bits(const struct srv_view *v)
{
	return (v->up ? 0 : TRACK_DOWN) |
	       (v->admin & SRV_ADMF_ANY_MAINT ? TRACK_MAINT : 0) |
	       (v->admin & SRV_ADMF_ANY_DRAIN ? TRACK_DRAIN : 0);
}

static void read_view(const struct server *s, struct srv_view *v)
{
	v->up = atomic_load(&s->state) == SRV_ST_UP;
	v->admin = atomic_load(&s->admin);
	v->eweight = atomic_load(&s->eweight);
}

static int view_equal(const struct srv_view *a, const struct srv_view *b)
{
	return a->up == b->up && a->admin == b->admin && a->eweight == b->eweight;
}

/* ---- slow start --------------------------------------------------------- */

unsigned srv_slowstart_weight(unsigned cur_weight, uint64_t elapsed_ms, unsigned slowstart_ms)
{
	uint64_t w;

	if (!cur_weight)
		return 0;
	if (!slowstart_ms || elapsed_ms >= slowstart_ms)
		return cur_weight;
	w = (uint64_t)cur_weight * elapsed_ms / slowstart_ms;
	return w ? (unsigned)w : 1;
}

/* Twenty steps over the ramp, but no busier than every 100ms and no
 * coarser than every second, so a long ramp still looks smooth. */
static unsigned slowstart_step_ms(unsigned slowstart_ms)
{
	unsigned step = slowstart_ms / 20;

	if (step < 100)
		step = 100;
	return step > 1000 ? 1000 : step;
}

/* The weight balancers should use now; ends the ramp when it is over.
 * state_lock held. */
static unsigned effective_weight_locked(struct server *s, uint64_t now)
{
	unsigned cur = atomic_load(&s->cur_weight) * SRV_EWEIGHT_SCALE;
	uint64_t elapsed;

	if (!s->slowstart_begin)
		return cur;
	elapsed = now > s->slowstart_begin ? now - s->slowstart_begin : 0;
	if (elapsed >= s->chk.slowstart) {
		s->slowstart_begin = 0;
		return cur;
	}
	return srv_slowstart_weight(cur, elapsed, s->chk.slowstart);
}

static struct worker *pick_slowstart_worker(const struct server *s, struct runtime *rt)
{
	unsigned uuid = s->px ? (unsigned)s->px->uuid : 0;

	return &rt->workers[(uuid + (unsigned)s->puid) % rt->nworkers];
}

static void push_to_balancer(struct server *s, const struct srv_change *c);

static void slowstart_tick(struct timer *t)
{
	struct server *s = container_of(t, struct server, slowstart_timer);
	struct srv_change c = { 0 };
	int more;

	pthread_mutex_lock(&s->state_lock);
	read_view(s, &c.old);
	atomic_store(&s->eweight, effective_weight_locked(s, clock_mono_ms()));
	read_view(s, &c.new);
	more = s->slowstart_begin != 0;
	pthread_mutex_unlock(&s->state_lock);
	push_to_balancer(s, &c);
	if (more)
		timer_arm(&s->slowstart_worker->loop.timers, t,
			  s->slowstart_worker->loop.now_ms + slowstart_step_ms(s->chk.slowstart));
}

/* On the owning worker's thread: (re)start the ramp's steps. A ramp that
 * was cancelled meanwhile (DOWN, maintenance) ends at the first tick. */
static void slowstart_arm(struct worker *w, void *arg)
{
	struct server *s = arg;

	if (w->stopping)
		return;
	s->slowstart_timer.cb = slowstart_tick;
	timer_arm(&w->loop.timers, &s->slowstart_timer,
		  w->loop.now_ms + slowstart_step_ms(s->chk.slowstart));
}

/* Without a timer the ramp could never finish: give the full weight now. */
static void slowstart_abort(struct server *s)
{
	struct srv_change c = { 0 };

	pthread_mutex_lock(&s->state_lock);
	read_view(s, &c.old);
	s->slowstart_begin = 0;
	atomic_store(&s->eweight, atomic_load(&s->cur_weight) * SRV_EWEIGHT_SCALE);
	read_view(s, &c.new);
	pthread_mutex_unlock(&s->state_lock);
	push_to_balancer(s, &c);
}

static void slowstart_kick(struct server *s)
{
	if (worker_call(s->slowstart_worker, slowstart_arm, s) < 0)
		slowstart_abort(s);
}

/* ---- the locked part of a change ----------------------------------------- */

static void change_begin(struct server *s, struct srv_change *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&s->state_lock);
	read_view(s, &c->old);
}

/* The down causes, admin flags or runtime weight were just modified:
 * derive the state, its accounting, the ramp and the effective weight. */
static void change_end(struct server *s, struct srv_change *c)
{
	struct runtime *rt = atomic_load(&state_rt);
	uint64_t now = clock_mono_ms();
	struct srv_view mid;

	mid.up = atomic_load(&s->down_causes) == 0;
	mid.admin = atomic_load(&s->admin);
	if (mid.up != c->old.up) {
		uint64_t since = atomic_load(&s->last_change);

		atomic_store(&s->state, mid.up ? SRV_ST_UP : SRV_ST_DOWN);
		if (!mid.up)
			atomic_fetch_add(&s->ctr.down_trans, 1);
		else if (since && now > since)
			atomic_fetch_add(&s->ctr.down_time_ms, now - since);
		atomic_store(&s->last_change, now);
	}
	if (!view_in_service(&mid)) {
		s->slowstart_begin = 0;
	} else if (!view_in_service(&c->old) && rt && rt->nworkers && s->chk.slowstart) {
		/* back in service at runtime: ramp up (never at start-up) */
		s->slowstart_begin = now ? now : 1;
		if (!s->slowstart_worker)	/* added at runtime */
			s->slowstart_worker = pick_slowstart_worker(s, rt);
		c->ramp = 1;
	}
	atomic_store(&s->eweight, effective_weight_locked(s, now));
	read_view(s, &c->new);
	pthread_mutex_unlock(&s->state_lock);
}

/* ---- consequences --------------------------------------------------------- */

static void push_to_balancer(struct server *s, const struct srv_change *c)
{
	int was = view_usable(&c->old), is = view_usable(&c->new);

	if (was != is || (is && c->old.eweight != c->new.eweight))
		lb_server_changed(s);
	if (!was && is)
		backend_srv_up(s);
}

/* Sessions waiting on s's own queue go back to the backend's queue when s
 * stops taking them. Returns how many moved. */
static unsigned requeue(struct server *s, const struct srv_change *c)
{
	int lost_lb = view_usable(&c->old) && !view_usable(&c->new);
	int lost_service = view_in_service(&c->old) && !view_in_service(&c->new);

	if (lost_lb || lost_service || (c->old.up && !c->new.up))
		return backend_srv_down(s);
	return 0;
}

void srv_count_usable(const struct proxy *be, unsigned *active, unsigned *backup)
{
	const struct server *s;

	*active = *backup = 0;
	for (s = be->srv; s; s = s->next) {
		if (!srv_is_usable(s))
			continue;
		if (s->flags & SRV_F_BACKUP)
			(*backup)++;
		else
			(*active)++;
	}
}

static void kill_down(struct worker *w, void *arg)
{
	session_kill_server(w, arg, 'D');
}

static void kill_backup(struct worker *w, void *arg)
{
	session_kill_server(w, arg, 'U');
}

static void kill_admin(struct worker *w, void *arg)
{
	session_kill_server(w, arg, 'K');
}

unsigned srv_shutdown_sessions(struct server *s, char who)
{
	struct runtime *rt = atomic_load(&state_rt);
	worker_call_fn fn = who == 'D' ? kill_down : who == 'U' ? kill_backup : kill_admin;

	if (!rt)
		return 0;
	return runtime_call_all(rt, fn, s);
}

/* on-marked-up shutdown-backup-sessions: a primary is back, so sessions
 * still on backups move to it as they reconnect. */
static void shutdown_backups(const struct server *s)
{
	struct server *b;

	if (!(s->chk.flags & CHK_CF_UP_SHUTDOWN_BACKUP) || (s->flags & SRV_F_BACKUP))
		return;
	for (b = s->px->srv; b; b = b->next)
		if (b->flags & SRV_F_BACKUP)
			srv_shutdown_sessions(b, 'U');
}

/* ---- log lines -------------------------------------------------------------- */

#define SRV_MSG_LEN 512

struct srv_msg {
	char buf[SRV_MSG_LEN];
	size_t len;
};

static void msg_add(struct srv_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_add(struct srv_msg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->len >= sizeof(m->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->len, sizeof(m->buf) - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n < sizeof(m->buf) - m->len ? (size_t)n : sizeof(m->buf) - m->len - 1;
}

static void msg_server(struct srv_msg *m, const struct server *s)
{
	msg_add(m, "%sServer %s/%s", s->flags & SRV_F_BACKUP ? "Backup " : "",
		s->px->name, s->name);
}

/* " via be/s", or ", reason: ..., info: \"...\", check duration: Nms" */
static void msg_cause(struct srv_msg *m, const struct server *s, const struct srv_note *n)
{
	const struct srv_why *why = n->why;

	if (n->via_track && s->track) {
		msg_add(m, " via %s/%s", s->track->px->name, s->track->name);
		return;
	}
	if (!why)
		return;
	if (why->reason)
		msg_add(m, ", reason: %s", why->reason);
	if (why->info && *why->info)
		msg_add(m, ", info: \"%s\"", why->info);
	if (why->duration_ms >= 0)
		msg_add(m, ", check duration: %dms", why->duration_ms);
}

/* The counts HAProxy appends: what is left after a loss ... */
static void msg_left(struct srv_msg *m, const struct server *s, unsigned moved)
{
	unsigned act, bck;

	srv_count_usable(s->px, &act, &bck);
	msg_add(m, " %u active and %u backup servers left.%s"
		" %u sessions active, %u requeued, %u remaining in queue.",
		act, bck, !act && bck ? " Running on backup." : "",
		atomic_load(&s->cur_conns), moved, atomic_load(&s->nbpend));
}

/* ... and after a gain. Waiters are served by backend_srv_up(), not
 * requeued, hence 0. */
static void msg_online(struct srv_msg *m, const struct server *s)
{
	unsigned act, bck;

	srv_count_usable(s->px, &act, &bck);
	msg_add(m, " %u active and %u backup servers online.%s"
		" 0 sessions requeued, %u total in queue.",
		act, bck, !act && bck ? " Running on backup." : "",
		atomic_load(&s->px->nbpend));
}

static void msg_send(const struct server *s, int level, const struct srv_msg *m)
{
	struct runtime *rt = atomic_load(&state_rt);

	if (rt)
		log_send(s->px, rt->conf, level, "%s", m->buf);
}

static void log_op_change(const struct server *s, const struct srv_change *c,
			  const struct srv_note *n, unsigned moved)
{
	struct srv_msg m = { .len = 0 };

	msg_server(&m, s);
	msg_add(&m, " is %s", c->new.up ? "UP" : "DOWN");
	msg_cause(&m, s, n);
	msg_add(&m, ".");
	if (c->new.up)
		msg_online(&m, s);
	else
		msg_left(&m, s, moved);
	msg_send(s, c->new.up ? LOG_LVL_NOTICE : LOG_LVL_ALERT, &m);
}

static void msg_admin_why(struct srv_msg *m, const struct srv_note *n)
{
	if (n->admin_why && *n->admin_why)
		msg_add(m, " (%s)", n->admin_why);
}

static void log_maint(const struct server *s, const struct srv_change *c,
		      const struct srv_note *n, unsigned moved)
{
	struct srv_msg m = { .len = 0 };
	int entering = !!(c->new.admin & SRV_ADMF_ANY_MAINT);
	int forced = !!((c->old.admin ^ c->new.admin) & SRV_ADMF_MAINT);

	msg_server(&m, s);
	if (entering && !c->new.up) {
		msg_add(&m, " was DOWN and now enters maintenance");
		msg_admin_why(&m, n);
		msg_add(&m, ".");
	} else if (entering) {
		msg_add(&m, " is going DOWN for maintenance");
		msg_admin_why(&m, n);
		msg_add(&m, ".");
		msg_left(&m, s, moved);
	} else {
		msg_add(&m, " is %s (leaving %smaintenance).", c->new.up ? "UP" : "DOWN",
			forced ? "forced " : "");
		if (c->new.up)
			msg_online(&m, s);
	}
	msg_send(s, entering && c->old.up ? LOG_LVL_ALERT : LOG_LVL_NOTICE, &m);
}

static void log_drain(const struct server *s, const struct srv_change *c,
		      const struct srv_note *n, unsigned moved)
{
	struct srv_msg m = { .len = 0 };
	int forced = !!((c->old.admin ^ c->new.admin) & SRV_ADMF_DRAIN);

	msg_server(&m, s);
	if (c->new.admin & SRV_ADMF_ANY_DRAIN) {
		msg_add(&m, " enters drain state");
		msg_admin_why(&m, n);
		msg_add(&m, ".");
		msg_left(&m, s, moved);
	} else {
		msg_add(&m, " is %s (leaving %sdrain).", c->new.up ? "UP" : "DOWN",
			forced ? "forced " : "");
		if (view_usable(&c->new))
			msg_online(&m, s);
	}
	msg_send(s, LOG_LVL_NOTICE, &m);
}

static void log_admin_change(const struct server *s, const struct srv_change *c,
			     const struct srv_note *n, unsigned moved)
{
	int was_maint = !!(c->old.admin & SRV_ADMF_ANY_MAINT);
	int is_maint = !!(c->new.admin & SRV_ADMF_ANY_MAINT);
	int was_drain = !!(c->old.admin & SRV_ADMF_ANY_DRAIN);
	int is_drain = !!(c->new.admin & SRV_ADMF_ANY_DRAIN);

	/* drain under maintenance changes nothing anyone can see */
	if (was_maint != is_maint)
		log_maint(s, c, n, moved);
	else if (!is_maint && was_drain != is_drain)
		log_drain(s, c, n, moved);
}

static void log_backend_lost(const struct server *s, const struct srv_change *c)
{
	struct srv_msg m = { .len = 0 };
	unsigned act, bck;

	if (!view_usable(&c->old) || view_usable(&c->new))
		return;
	srv_count_usable(s->px, &act, &bck);
	if (act || bck)
		return;
	msg_add(&m, "%s %s has no server available!", proxy_cap_str(s->px->cap), s->px->name);
	msg_send(s, LOG_LVL_EMERG, &m);
}

/* ---- trackers ---------------------------------------------------------------- */

static void sync_tracker(struct server *t, const struct server *s, unsigned bits)
{
	static const struct srv_why track_why = {
		.reason = NULL, .info = NULL, .duration_ms = -1, .by = "tracked server",
	};
	char why[256];

	if (bits & TRACK_DOWN)
		srv_set_down_cause(t, SRV_DOWN_TRACK, &track_why);
	else
		srv_clear_down_cause(t, SRV_DOWN_TRACK, &track_why);
	snprintf(why, sizeof(why), "via %s/%s", s->px->name, s->name);
	if (bits & TRACK_MAINT)
		srv_set_admin(t, SRV_ADMF_IMAINT, why);
	else
		srv_clear_admin(t, SRV_ADMF_IMAINT, why);
	if (bits & TRACK_DRAIN)
		srv_set_admin(t, SRV_ADMF_IDRAIN, why);
	else
		srv_clear_admin(t, SRV_ADMF_IDRAIN, why);
}

/* Copy s's current state to its trackers, and again if s changed while we
 * were at it: two threads propagating opposite changes of s may finish in
 * either order, and the last one to write a tracker always re-reads s
 * afterwards, so trackers end up matching s. */
static void sync_trackers(struct server *s)
{
	struct srv_view v;
	unsigned bits;
	struct server *t;

	if (!s->trackers)
		return;
	read_view(s, &v);
	do {
		bits = view_track_bits(&v);
		for (t = s->trackers; t; t = t->tracknext)
			sync_tracker(t, s, bits);
		read_view(s, &v);
	} while (view_track_bits(&v) != bits);
}

/* ---- after a change ----------------------------------------------------------- */

static void change_apply(struct server *s, const struct srv_change *c, const struct srv_note *n)
{
	unsigned moved;

	if (view_equal(&c->old, &c->new) && !c->ramp)
		return;
	push_to_balancer(s, c);
	moved = requeue(s, c);
	if (c->old.up && !c->new.up && (s->chk.flags & CHK_CF_DOWN_SHUTDOWN))
		srv_shutdown_sessions(s, 'D');
	if (!c->old.up && c->new.up)
		shutdown_backups(s);
	if (c->old.up != c->new.up)
		log_op_change(s, c, n, moved);
	if (c->old.admin != c->new.admin)
		log_admin_change(s, c, n, moved);
	log_backend_lost(s, c);
	if (c->ramp)
		slowstart_kick(s);
	if (view_track_bits(&c->old) != view_track_bits(&c->new))
		sync_trackers(s);
}

/* ---- entry points -------------------------------------------------------------- */

void srv_state_start(struct runtime *rt)
{
	struct proxy *px;
	struct server *s;

	if (!rt || !rt->nworkers)
		return;
	for (px = rt->conf->proxies; px; px = px->next) {
		for (s = px->srv; s; s = s->next) {
			pthread_mutex_lock(&s->state_lock);
			if (!s->slowstart_worker)
				s->slowstart_worker = pick_slowstart_worker(s, rt);
			pthread_mutex_unlock(&s->state_lock);
		}
	}
	atomic_store(&state_rt, rt);
}

void srv_set_down_cause(struct server *s, unsigned cause, const struct srv_why *why)
{
	struct srv_note n = { .why = why, .via_track = cause == SRV_DOWN_TRACK };
	struct srv_change c;

	change_begin(s, &c);
	atomic_fetch_or(&s->down_causes, cause);
	change_end(s, &c);
	change_apply(s, &c, &n);
}

void srv_clear_down_cause(struct server *s, unsigned cause, const struct srv_why *why)
{
	struct srv_note n = { .why = why, .via_track = cause == SRV_DOWN_TRACK };
	struct srv_change c;

	change_begin(s, &c);
	atomic_fetch_and(&s->down_causes, ~cause);
	change_end(s, &c);
	change_apply(s, &c, &n);
}

void srv_set_admin(struct server *s, unsigned flags, const char *why)
{
	struct srv_note n = { .admin_why = why };
	struct srv_change c;

	change_begin(s, &c);
	atomic_fetch_or(&s->admin, flags);
	change_end(s, &c);
	change_apply(s, &c, &n);
}

void srv_clear_admin(struct server *s, unsigned flags, const char *why)
{
	struct srv_note n = { .admin_why = why };
	struct srv_change c;

	change_begin(s, &c);
	atomic_fetch_and(&s->admin, ~flags);
	change_end(s, &c);
	change_apply(s, &c, &n);
}

/* Not logged, like HAProxy's "set weight": the caller reports it. */
void srv_set_weight(struct server *s, unsigned weight, const char *why)
{
	struct srv_note n = { .admin_why = why };
	struct srv_change c;

	change_begin(s, &c);
	atomic_store(&s->cur_weight, weight > SRV_MAX_WEIGHT ? SRV_MAX_WEIGHT : weight);
	change_end(s, &c);
	change_apply(s, &c, &n);
}
