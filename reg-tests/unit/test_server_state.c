/* test_server_state.c - server state changes: down causes, admin flags,
 * tracking, weights, slow start, and the log lines they produce (the last
 * part runs real workers). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice/backend.h"
#include "sluice/global.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/qsbr.h"
#include "sluice/server.h"
#include "sluice/worker.h"
#include "ut.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */

static struct proxy *new_backend(const char *name, int uuid)
{
	struct proxy *px = proxy_new(name, PX_CAP_BE, NULL);

	px->uuid = uuid;
	return px;
}

static struct server *add_server(struct proxy *px, const char *name, unsigned weight,
				 unsigned flags)
{
	struct server *s = calloc(1, sizeof(*s));

	server_init_from_defaults(s, &px->defsrv);
	s->name = strdup(name);
	s->flags = flags;
	s->uweight = weight;
	atomic_store(&s->cur_weight, weight);
	atomic_store(&s->eweight, weight * SRV_EWEIGHT_SCALE);
	server_attach(px, s);
	s->puid = (int)px->nb_srv;
	return s;
}

static void track(struct server *tracker, struct server *tracked)
{
	tracker->track = tracked;
	tracker->tracknext = tracked->trackers;
	tracked->trackers = tracker;
}

/* Does balancing ever return s over n picks? */
static int picked(struct proxy *px, const struct server *s, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (lb_pick(px, i, NULL, NULL) == s)
			return 1;
	return 0;
}

static const struct srv_why check_why = { "Layer4 connection problem", "Connection refused", 3,
					  "health check" };

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* Slow start arithmetic                                              */

static void test_slowstart_math(void)
{
	UT_EQ_INT(srv_slowstart_weight(10, 0, 1000), 1);
	UT_EQ_INT(srv_slowstart_weight(10, 500, 1000), 5);
	UT_EQ_INT(srv_slowstart_weight(100, 250, 1000), 25);
	UT_EQ_INT(srv_slowstart_weight(256, 999, 1000), 255);
	UT_EQ_INT(srv_slowstart_weight(1, 1, 1000), 1);
	UT_EQ_INT(srv_slowstart_weight(10, 1000, 1000), 10);
	UT_EQ_INT(srv_slowstart_weight(10, 123456, 1000), 10);
	UT_EQ_INT(srv_slowstart_weight(0, 0, 1000), 0);
	UT_EQ_INT(srv_slowstart_weight(0, 500, 1000), 0);
	UT_EQ_INT(srv_slowstart_weight(10, 0, 0), 10);
	/* no overflow with long ramps */
	UT_EQ_INT(srv_slowstart_weight(256, 3000000000ULL, 4000000000U), 192);
}

/* ------------------------------------------------------------------ */
/* Down causes                                                        */

static void test_down_causes(void)
{
	struct proxy *px = new_backend("be", 1);
	struct server *s0 = add_server(px, "s0", 1, 0);
	struct server *s1 = add_server(px, "s1", 1, 0);

	add_server(px, "s2", 1, 0);
	UT_EQ_INT(lb_init_backend(px), 0);
	UT_CHECK(picked(px, s1, 30));

	srv_set_down_cause(s1, SRV_DOWN_CHECK, &check_why);
	UT_EQ_INT(atomic_load(&s1->state), SRV_ST_DOWN);
	UT_CHECK(!srv_is_usable(s1));
	UT_CHECK(!picked(px, s1, 30));
	UT_EQ_INT(atomic_load(&px->lb.usable), 2);
	UT_EQ_INT(atomic_load(&s1->ctr.down_trans), 1);
	UT_CHECK(atomic_load(&s1->last_change) != 0);

	/* a second cause: both must go before it comes back */
	srv_set_down_cause(s1, SRV_DOWN_AGENT, NULL);
	UT_EQ_INT(atomic_load(&s1->ctr.down_trans), 1);
	msleep(30);
	srv_clear_down_cause(s1, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&s1->state), SRV_ST_DOWN);
	UT_EQ_INT(atomic_load(&s1->down_causes), SRV_DOWN_AGENT);
	srv_clear_down_cause(s1, SRV_DOWN_AGENT, NULL);
	UT_EQ_INT(atomic_load(&s1->state), SRV_ST_UP);
	UT_CHECK(srv_is_usable(s1));
	UT_CHECK(picked(px, s1, 30));
	UT_EQ_INT(atomic_load(&px->lb.usable), 3);
	UT_CHECK(atomic_load(&s1->ctr.down_time_ms) >= 30);

	/* setting a cause twice counts one transition */
	srv_set_down_cause(s0, SRV_DOWN_CHECK, NULL);
	srv_set_down_cause(s0, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&s0->ctr.down_trans), 1);
	srv_clear_down_cause(s0, SRV_DOWN_CHECK, NULL);
	srv_clear_down_cause(s0, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&s0->state), SRV_ST_UP);

	/* no slow start before the workers run: full weight at once */
	s1->chk.slowstart = 60000;
	atomic_store(&s1->cur_weight, 7);
	srv_set_down_cause(s1, SRV_DOWN_CHECK, NULL);
	srv_clear_down_cause(s1, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&s1->eweight), 7 * SRV_EWEIGHT_SCALE);
	UT_EQ_INT(s1->slowstart_begin, 0);
	proxy_free(px);
}

/* ------------------------------------------------------------------ */
/* Tracking                                                           */

/* a in be1, tracked by b in be2, itself tracked by c in be2 */
struct chain {
	struct proxy *be1, *be2;
	struct server *a, *b, *c;
};

static void chain_init(struct chain *ch)
{
	ch->be1 = new_backend("be1", 1);
	ch->be2 = new_backend("be2", 2);
	ch->a = add_server(ch->be1, "a", 1, 0);
	ch->b = add_server(ch->be2, "b", 1, 0);
	ch->c = add_server(ch->be2, "c", 1, 0);
	track(ch->b, ch->a);
	track(ch->c, ch->b);
	UT_EQ_INT(lb_init_backend(ch->be1), 0);
	UT_EQ_INT(lb_init_backend(ch->be2), 0);
}

static void chain_free(struct chain *ch)
{
	proxy_free(ch->be1);
	proxy_free(ch->be2);
}

static void test_tracking_down(void)
{
	struct chain ch;
	struct server *a, *b, *c;

	chain_init(&ch);
	a = ch.a, b = ch.b, c = ch.c;
	srv_set_down_cause(a, SRV_DOWN_CHECK, &check_why);
	UT_EQ_INT(atomic_load(&b->state), SRV_ST_DOWN);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_DOWN);
	UT_EQ_INT(atomic_load(&b->down_causes), SRV_DOWN_TRACK);
	UT_EQ_INT(atomic_load(&c->down_causes), SRV_DOWN_TRACK);
	UT_CHECK(lb_pick(ch.be2, 0, NULL, NULL) == NULL);
	srv_clear_down_cause(a, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&b->state), SRV_ST_UP);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_UP);
	UT_CHECK(lb_pick(ch.be2, 0, NULL, NULL) != NULL);

	/* b's own cause holds b (and so c) down after a recovers */
	srv_set_down_cause(b, SRV_DOWN_CHECK, NULL);
	srv_set_down_cause(a, SRV_DOWN_CHECK, NULL);
	srv_clear_down_cause(a, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&b->down_causes), SRV_DOWN_CHECK);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_DOWN);
	srv_clear_down_cause(b, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_UP);
	/* a tracker's weight is its own */
	srv_set_weight(a, 0, NULL);
	UT_EQ_INT(atomic_load(&b->eweight), 1 * SRV_EWEIGHT_SCALE);
	chain_free(&ch);
}

static void test_tracking_admin(void)
{
	struct chain ch;
	struct server *a, *b, *c;

	chain_init(&ch);
	a = ch.a, b = ch.b, c = ch.c;
	/* maintenance is inherited as IMAINT, down the chain */
	srv_set_admin(a, SRV_ADMF_MAINT, "cli");
	UT_EQ_INT(atomic_load(&b->admin), SRV_ADMF_IMAINT);
	UT_EQ_INT(atomic_load(&c->admin), SRV_ADMF_IMAINT);
	UT_EQ_INT(atomic_load(&b->state), SRV_ST_UP);
	UT_CHECK(!srv_is_usable(b) && !srv_is_usable(c));
	/* b's own maintenance keeps c in IMAINT when a leaves */
	srv_set_admin(b, SRV_ADMF_MAINT, NULL);
	srv_clear_admin(a, SRV_ADMF_MAINT, NULL);
	UT_EQ_INT(atomic_load(&b->admin), SRV_ADMF_MAINT);
	UT_EQ_INT(atomic_load(&c->admin), SRV_ADMF_IMAINT);
	srv_clear_admin(b, SRV_ADMF_MAINT, NULL);
	UT_EQ_INT(atomic_load(&c->admin), 0);
	UT_CHECK(srv_is_usable(b) && srv_is_usable(c));

	/* drain is inherited as IDRAIN */
	srv_set_admin(a, SRV_ADMF_DRAIN, NULL);
	UT_EQ_INT(atomic_load(&b->admin), SRV_ADMF_IDRAIN);
	UT_EQ_INT(atomic_load(&c->admin), SRV_ADMF_IDRAIN);
	srv_clear_admin(a, SRV_ADMF_DRAIN, NULL);
	UT_EQ_INT(atomic_load(&c->admin), 0);

	/* down and maintenance together, then apart */
	srv_set_down_cause(a, SRV_DOWN_CHECK, NULL);
	srv_set_admin(a, SRV_ADMF_MAINT, NULL);
	UT_EQ_INT(atomic_load(&c->down_causes), SRV_DOWN_TRACK);
	UT_EQ_INT(atomic_load(&c->admin), SRV_ADMF_IMAINT);
	srv_clear_admin(a, SRV_ADMF_MAINT, NULL);
	UT_EQ_INT(atomic_load(&c->admin), 0);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_DOWN);
	srv_clear_down_cause(a, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&c->state), SRV_ST_UP);
	chain_free(&ch);
}

/* ------------------------------------------------------------------ */
/* Admin flags and weights                                            */

static void test_admin(void)
{
	struct proxy *px = new_backend("be", 1);
	struct server *s0 = add_server(px, "s0", 1, 0);
	struct server *s1 = add_server(px, "s1", 1, 0);

	UT_EQ_INT(lb_init_backend(px), 0);
	srv_set_admin(s1, SRV_ADMF_MAINT, "cli");
	UT_EQ_INT(atomic_load(&s1->state), SRV_ST_UP);
	UT_CHECK(!srv_is_usable(s1));
	UT_CHECK(!picked(px, s1, 20));
	srv_clear_admin(s1, SRV_ADMF_MAINT, NULL);
	UT_CHECK(srv_is_usable(s1));
	UT_CHECK(picked(px, s1, 20));

	srv_set_admin(s1, SRV_ADMF_DRAIN, NULL);
	UT_CHECK(!srv_is_usable(s1));
	UT_CHECK(!picked(px, s1, 20));
	srv_set_admin(s1, SRV_ADMF_MAINT, NULL);
	srv_clear_admin(s1, SRV_ADMF_MAINT, NULL);
	UT_CHECK(!srv_is_usable(s1));	/* still draining */
	srv_clear_admin(s1, SRV_ADMF_DRAIN, NULL);
	UT_CHECK(srv_is_usable(s1));

	/* clearing what is not set changes nothing */
	srv_clear_admin(s1, SRV_ADMF_IMAINT | SRV_ADMF_IDRAIN, NULL);
	UT_EQ_INT(atomic_load(&s1->admin), 0);

	srv_set_admin(s0, SRV_ADMF_MAINT, NULL);
	srv_set_admin(s1, SRV_ADMF_MAINT, NULL);
	UT_CHECK(lb_pick(px, 0, NULL, NULL) == NULL);
	srv_clear_admin(s0, SRV_ADMF_MAINT, NULL);
	UT_CHECK(lb_pick(px, 0, NULL, NULL) == s0);
	srv_clear_admin(s1, SRV_ADMF_MAINT, NULL);
	proxy_free(px);
}

static void test_weight(void)
{
	struct proxy *px = new_backend("be", 1);
	struct server *s0 = add_server(px, "s0", 1, 0);
	struct server *s1 = add_server(px, "s1", 1, 0);
	unsigned i, n1 = 0;

	UT_EQ_INT(lb_init_backend(px), 0);
	srv_set_weight(s1, 0, "cli");
	UT_EQ_INT(atomic_load(&s1->state), SRV_ST_UP);
	UT_EQ_INT(atomic_load(&s1->eweight), 0);
	UT_CHECK(!srv_is_usable(s1));
	UT_CHECK(!picked(px, s1, 20));

	srv_set_weight(s1, 3, NULL);
	UT_EQ_INT(atomic_load(&s1->cur_weight), 3);
	UT_EQ_INT(atomic_load(&s1->eweight), 3 * SRV_EWEIGHT_SCALE);
	for (i = 0; i < 40; i++)
		n1 += lb_pick(px, i, NULL, NULL) == s1;
	UT_EQ_INT(n1, 30);

	srv_set_weight(s0, 1000, NULL);
	UT_EQ_INT(atomic_load(&s0->cur_weight), SRV_MAX_WEIGHT);
	UT_EQ_INT(atomic_load(&s0->eweight), SRV_MAX_WEIGHT * SRV_EWEIGHT_SCALE);
	proxy_free(px);
}

static void test_count_usable(void)
{
	struct proxy *px = new_backend("be", 1);
	struct server *p0 = add_server(px, "p0", 1, 0);
	struct server *p1 = add_server(px, "p1", 1, 0);
	struct server *b0 = add_server(px, "b0", 1, SRV_F_BACKUP);
	unsigned act, bck;

	add_server(px, "b1", 1, SRV_F_BACKUP);
	UT_EQ_INT(lb_init_backend(px), 0);
	srv_count_usable(px, &act, &bck);
	UT_EQ_INT(act, 2);
	UT_EQ_INT(bck, 2);
	srv_set_down_cause(p0, SRV_DOWN_CHECK, NULL);
	srv_count_usable(px, &act, &bck);
	UT_EQ_INT(act, 1);
	srv_set_admin(p1, SRV_ADMF_DRAIN, NULL);
	srv_count_usable(px, &act, &bck);
	UT_EQ_INT(act, 0);
	UT_EQ_INT(bck, 2);
	UT_CHECK(lb_pick(px, 0, NULL, NULL) == b0);	/* first backup */
	UT_EQ_INT(atomic_load(&px->lb.using_backups), 1);
	srv_set_weight(b0, 0, NULL);
	srv_count_usable(px, &act, &bck);
	UT_EQ_INT(bck, 1);
	UT_CHECK(lb_pick(px, 0, NULL, NULL) != b0);
	srv_clear_admin(p1, SRV_ADMF_DRAIN, NULL);
	UT_CHECK(lb_pick(px, 0, NULL, NULL) == p1);
	UT_EQ_INT(atomic_load(&px->lb.using_backups), 0);
	proxy_free(px);
}

/* A session waiting on a server that goes down moves to the backend queue. */
static void test_requeue(void)
{
	struct proxy *px = new_backend("be", 1);
	struct server *s0 = add_server(px, "s0", 1, 0);
	struct server *s1 = add_server(px, "s1", 1, 0);
	struct pendconn p = { .target = s1, .seq = 1 };

	UT_EQ_INT(lb_init_backend(px), 0);
	srv_set_admin(s0, SRV_ADMF_MAINT, NULL);	/* nobody to grant it */
	list_add_tail(&s1->pendq, &p.node);
	atomic_store(&s1->nbpend, 1);
	srv_set_down_cause(s1, SRV_DOWN_CHECK, NULL);
	UT_EQ_INT(atomic_load(&s1->nbpend), 0);
	UT_EQ_INT(atomic_load(&px->nbpend), 1);
	UT_CHECK(p.target == NULL);
	UT_CHECK(px->pendq.next == &p.node);
	list_del(&p.node);
	atomic_store(&px->nbpend, 0);
	proxy_free(px);
}

/* Threads flipping a tracked server at once: its trackers end up
 * matching it, whatever order the propagations finish in. */
struct flipper {
	pthread_t thread;
	struct server *s;
	unsigned seed;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	unsigned i;

	for (i = 0; i < 3000; i++) {
		unsigned r = rand_r(&f->seed);

		if (r & 1)
			srv_set_down_cause(f->s, SRV_DOWN_CHECK, NULL);
		else
			srv_clear_down_cause(f->s, SRV_DOWN_CHECK, NULL);
		if (r & 2)
			srv_set_admin(f->s, SRV_ADMF_MAINT, NULL);
		else
			srv_clear_admin(f->s, SRV_ADMF_MAINT, NULL);
	}
	return NULL;
}

static void test_concurrent_tracking(void)
{
	struct chain ch;
	struct server *a, *b, *c;
	struct flipper f[4];
	unsigned i;
	int a_down, a_maint;

	chain_init(&ch);
	a = ch.a, b = ch.b, c = ch.c;
	for (i = 0; i < 4; i++) {
		f[i].s = a;
		f[i].seed = i + 1;
		pthread_create(&f[i].thread, NULL, flip, &f[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(f[i].thread, NULL);
	a_down = atomic_load(&a->state) == SRV_ST_DOWN;
	a_maint = !!(atomic_load(&a->admin) & SRV_ADMF_MAINT);
	UT_EQ_INT(atomic_load(&b->down_causes), a_down ? SRV_DOWN_TRACK : 0);
	UT_EQ_INT(atomic_load(&c->down_causes), a_down ? SRV_DOWN_TRACK : 0);
	UT_EQ_INT(atomic_load(&b->admin), a_maint ? SRV_ADMF_IMAINT : 0);
	UT_EQ_INT(atomic_load(&c->admin), a_maint ? SRV_ADMF_IMAINT : 0);
	UT_EQ_INT(atomic_load(&c->state), a_down ? SRV_ST_DOWN : SRV_ST_UP);
	chain_free(&ch);
}

/* ------------------------------------------------------------------ */
/* With workers: log lines, cross-thread calls, slow start ramp        */

static int stderr_saved = -1;
static char capture_path[] = "/tmp/test_server_state.XXXXXX";

static void capture_start(void)
{
	int fd = mkstemp(capture_path);

	fflush(stderr);
	stderr_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Stop capturing and compare what was logged with want (NULL-terminated). */
static void capture_check(const char *const *want)
{
	char line[1024];
	FILE *f;
	unsigned i = 0;

	fflush(stderr);
	dup2(stderr_saved, STDERR_FILENO);
	close(stderr_saved);
	f = fopen(capture_path, "r");
	UT_CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		UT_EQ_STR(line, want[i] ? want[i] : "(no more lines expected)");
		if (want[i])
			i++;
	}
	UT_EQ_STR(want[i] ? want[i] : "", "");
	fclose(f);
	unlink(capture_path);
}

static const char *const runtime_log[] = {
	"[ALERT] Server bk/s1 is DOWN, reason: Layer4 connection problem, info: "
	"\"Connection refused\", check duration: 3ms. 1 active and 1 backup servers left. "
	"0 sessions active, 1 requeued, 0 remaining in queue.",
	"[ALERT] Server bk/s2 is DOWN, reason: Layer4 timeout, check duration: 2001ms. "
	"0 active and 1 backup servers left. Running on backup. "
	"0 sessions active, 0 requeued, 0 remaining in queue.",
	"[ALERT] Server bk2/t1 is DOWN via bk/s2. 0 active and 0 backup servers left. "
	"0 sessions active, 0 requeued, 0 remaining in queue.",
	"[EMERG] backend bk2 has no server available!",
	"[ALERT] Backup Server bk/b1 is going DOWN for maintenance (cli). "
	"0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
	"[EMERG] backend bk has no server available!",
	"[NOTICE] Server bk/s1 is UP, reason: Layer4 check passed, check duration: 1ms. "
	"1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
	"[NOTICE] Backup Server bk/b1 is UP (leaving forced maintenance). "
	"1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.",
	"[NOTICE] Server bk/s1 enters drain state (cli). 0 active and 1 backup servers left. "
	"Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.",
	"[NOTICE] Server bk/s1 is UP (leaving forced drain). "
	"1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.",
	"[NOTICE] Server bk/s2 is UP. "
	"2 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.",
	"[NOTICE] Server bk2/t1 is UP via bk/s2. "
	"1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
	"[ALERT] Server bk/s1 is DOWN. 1 active and 1 backup servers left. "
	"0 sessions active, 0 requeued, 0 remaining in queue.",
	"[NOTICE] Server bk/s1 was DOWN and now enters maintenance.",
	"[NOTICE] Server bk/s1 is DOWN (leaving forced maintenance).",
	NULL,
};

static void runtime_scenario(struct proxy *bk, struct server *s1, struct server *s2,
			     struct server *b1)
{
	static const struct srv_why s2_why = { "Layer4 timeout", NULL, 2001, "health check" };
	static const struct srv_why up_why = { "Layer4 check passed", "", 1, "health check" };
	struct pendconn p = { .target = s1, .seq = 1 };
	unsigned w;

	/* a queued session is requeued; s2 and b1 are full so it stays queued */
	s2->maxconn = b1->maxconn = 1;
	atomic_store(&s2->cur_conns, 1);
	atomic_store(&b1->cur_conns, 1);
	list_add_tail(&s1->pendq, &p.node);
	atomic_store(&s1->nbpend, 1);
	srv_set_down_cause(s1, SRV_DOWN_CHECK, &check_why);
	pthread_mutex_lock(&bk->qlock);
	list_del(&p.node);
	atomic_store(&bk->nbpend, 0);
	pthread_mutex_unlock(&bk->qlock);
	atomic_store(&s2->cur_conns, 0);
	atomic_store(&b1->cur_conns, 0);

	srv_set_down_cause(s2, SRV_DOWN_CHECK, &s2_why);
	srv_set_admin(b1, SRV_ADMF_MAINT, "cli");
	srv_set_down_cause(s1, SRV_DOWN_AGENT, NULL);	/* already down: silent */
	srv_clear_down_cause(s1, SRV_DOWN_AGENT, NULL);
	srv_clear_down_cause(s1, SRV_DOWN_CHECK, &up_why);

	/* slow start: 1000ms ramp from 1 to 100, in 100ms steps */
	UT_EQ_INT(atomic_load(&s1->eweight), 1);
	msleep(500);
	w = atomic_load(&s1->eweight);
	UT_CHECK(w > 1 && w < 100 * SRV_EWEIGHT_SCALE);
	srv_set_weight(s1, 50, NULL);	/* the ramp scales the new weight */
	UT_CHECK(atomic_load(&s1->eweight) < 50 * SRV_EWEIGHT_SCALE);
	for (w = 0; w < 50 && atomic_load(&s1->eweight) != 50 * SRV_EWEIGHT_SCALE; w++)
		msleep(100);	/* done after ~500ms more; slow machines get 5s */
	UT_EQ_INT(atomic_load(&s1->eweight), 50 * SRV_EWEIGHT_SCALE);
	UT_EQ_INT(s1->slowstart_begin, 0);

	srv_clear_admin(b1, SRV_ADMF_MAINT, NULL);
	srv_set_admin(s1, SRV_ADMF_DRAIN, "cli");
	srv_clear_admin(s1, SRV_ADMF_DRAIN, "cli");
	UT_EQ_INT(atomic_load(&s1->eweight), 50 * SRV_EWEIGHT_SCALE);	/* drain does not ramp */
	srv_clear_down_cause(s2, SRV_DOWN_CHECK, NULL);	/* t1 follows, s2 ramps silently */
	UT_EQ_INT(atomic_load(&s2->eweight), 1);

	srv_set_weight(s1, 20, "cli");			/* not logged */
	UT_EQ_INT(atomic_load(&s1->eweight), 20 * SRV_EWEIGHT_SCALE);
	UT_EQ_INT(srv_shutdown_sessions(s1, 'K'), 2);
	srv_set_down_cause(s1, SRV_DOWN_CHECK, NULL);
	srv_set_admin(s1, SRV_ADMF_MAINT, NULL);
	srv_clear_admin(s1, SRV_ADMF_MAINT, NULL);
	capture_check(runtime_log);
}

static void test_runtime(void)
{
	static struct config conf;
	static struct runtime rt;
	struct proxy *bk, *bk2;
	struct server *s1, *s2, *b1, *t1;

	config_init(&conf);
	conf.debug = 1;
	bk = new_backend("bk", 1);
	bk2 = new_backend("bk2", 2);
	bk->next = bk2;
	conf.proxies = bk;
	s1 = add_server(bk, "s1", 100, 0);
	s2 = add_server(bk, "s2", 1, 0);
	b1 = add_server(bk, "b1", 1, SRV_F_BACKUP);
	t1 = add_server(bk2, "t1", 1, 0);
	track(t1, s2);
	s1->chk.slowstart = 1000;
	s2->chk.slowstart = 60000;
	UT_EQ_INT(lb_init_backend(bk), 0);
	UT_EQ_INT(lb_init_backend(bk2), 0);
	UT_EQ_INT(runtime_start(&rt, &conf, 2), 0);
	srv_state_start(&rt);
	UT_CHECK(s1->slowstart_worker != NULL);
	UT_CHECK(t1->slowstart_worker != NULL);

	capture_start();
	runtime_scenario(bk, s1, s2, b1);
	runtime_stop(&rt, 0);
	runtime_join(&rt);
	runtime_free(&rt);
	qsbr_shutdown();
	config_free(&conf);
}

int main(void)
{
	test_slowstart_math();
	test_down_causes();
	test_tracking_down();
	test_tracking_admin();
	test_admin();
	test_weight();
	test_count_usable();
	test_requeue();
	test_concurrent_tracking();
	test_runtime();
	UT_DONE();
}
