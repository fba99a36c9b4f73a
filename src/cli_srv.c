/* cli_srv.c - runtime API: "add server" and "del server".
 *
 * A server is added as HAProxy does it: parsed like a configuration line
 * (errors go to stderr as "cli:1: ..."), in maintenance, linked at the
 * tail of its backend while the workers run; "enable server" puts it in
 * service. Workers walk the server list without locks, so the new server
 * is complete before the store that links it, and the balancer's rebuild
 * (which sizes its arrays from nb_srv) is kept out by the backend's
 * lb.lock meanwhile.
 * Removal is only for servers added here: configured ones may be named by
 * use-server rules or tracked, which hold plain pointers. The server must
 * be in maintenance with no connection, no queued session, and no session
 * of any worker still pointing at it; it is unlinked, and freed through
 * qsbr once no worker can still be walking past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/lb.h"
#include "sluice/proxy.h"
#include "sluice/qsbr.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/worker.h"

static const char cli_file[] = "cli";

static struct proxy *split_name(struct cli_cmd_ctx *c, const char *arg, char *name, size_t size)
{
	const char *slash = strchr(arg, '/');
	char bename[256];
	struct proxy *be;

	if (!slash || slash == arg || !slash[1] || (size_t)(slash - arg) >= sizeof(bename) ||
	    strlen(slash + 1) >= size) {
		cli_out_str(c->out, "Require 'backend/server'.\n");
		return NULL;
	}
	memcpy(bename, arg, (size_t)(slash - arg));
	bename[slash - arg] = '\0';
	strcpy(name, slash + 1);
	be = config_find_proxy(c->conf, bename, PX_CAP_BE);
	if (!be)
		cli_out_str(c->out, "No such backend.\n");
	return be;
}

/* What needs the whole configuration (post-parse) cannot be set up for a
 * single server yet. */
static int refuse_postparse_kw(struct cli_cmd_ctx *c, const struct server *s)
{
	if (!(s->chk.flags & (CHK_CF_CHECK | CHK_CF_AGENT)) && !s->chk.track)
		return 0;
	cli_out_str(c->out, "'check', 'agent-check' and 'track' are not supported on servers "
		    "added at runtime yet (also when inherited from default-server).\n");
	return -1;
}

static void link_server(struct proxy *be, struct server *s)
{
	s->lb_pos = be->srv_last ? be->srv_last->lb_pos + 1 : 0;
	pthread_mutex_lock(&be->lb.lock);
	atomic_thread_fence(memory_order_release);
	server_attach(be, s);
	pthread_mutex_unlock(&be->lb.lock);
}

void cli_add_server(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct cfg_ctx ctx = { .file = cli_file, .line = 1, .section = CFG_BACKEND };
	char name[256], *sargs[CLI_MAX_WORDS + 1];
	struct proxy *be;
	struct server *s;
	int i, n = 0;

	if (argc < 4) {
		cli_out_str(c->out, "'add server' expects <backend>/<server> <address> [args]*\n");
		return;
	}
	be = split_name(c, args[2], name, sizeof(name));
	if (!be)
		return;
	if (server_find(be, name)) {
		cli_out_str(c->out, "Already exists a server with the same name in backend.\n");
		return;
	}
	sargs[n++] = "server";
	sargs[n++] = name;
	for (i = 3; i < argc && n < CLI_MAX_WORDS; i++)
		sargs[n++] = args[i];
	sargs[n] = NULL;
	ctx.conf = c->conf;
	ctx.px = be;
	s = server_parse(&ctx, be, n, sargs);
	if (!s) {
		cli_out_str(c->out, "Invalid server line (details on sluice's standard error).\n");
		return;
	}
	if (refuse_postparse_kw(c, s) < 0) {
		server_free(s);
		return;
	}
	if (!s->puid)
		server_assign_id(be, s);
	atomic_store(&s->admin, atomic_load(&s->admin) | SRV_ADMF_MAINT);
	atomic_store(&s->last_change, 0);
	link_server(be, s);
	cli_out_str(c->out, "New server registered.\n");
}

/* ---- del server ------------------------------------------------------------------- */

static void refs_scan(struct worker *w, void *arg, struct cli_out *part)
{
	const struct server *target = *(struct server *const *)arg;
	struct list *pos;

	for (pos = w->sessions.next; pos != &w->sessions; pos = pos->next) {
		const struct session *s = list_entry(pos, struct session, node);

		if (s->srv == target || s->prev_srv == target) {
			cli_out_str(part, "x");
			return;
		}
	}
}

static void free_server(void *p)
{
	server_free(p);
}

/* On the worker whose wheel may hold the slow start timer. */
static void del_finish(struct worker *w, void *arg)
{
	struct server *s = arg;

	if (!w->stopping)
		timer_disarm(&w->loop.timers, &s->slowstart_timer);
	qsbr_retire(s, free_server);
}

static void unlink_server(struct proxy *be, struct server *s)
{
	struct server *prev = NULL, *p;

	pthread_mutex_lock(&be->lb.lock);
	for (p = be->srv; p && p != s; p = p->next)
		prev = p;
	if (p) {
		if (prev)
			prev->next = s->next;
		else
			be->srv = s->next;
		if (be->srv_last == s)
			be->srv_last = prev;
		be->nb_srv--;
	}
	pthread_mutex_unlock(&be->lb.lock);
}

static int del_allowed(struct cli_cmd_ctx *c, struct server *s)
{
	struct cli_out refs;
	int busy;

	if (s->conf_file != cli_file) {
		cli_out_str(c->out, "Only servers added with 'add server' can be deleted.\n");
		return 0;
	}
	if (!(atomic_load(&s->admin) & SRV_ADMF_MAINT)) {
		cli_out_str(c->out, "Only servers in maintenance mode can be deleted.\n");
		return 0;
	}
	cli_out_init(&refs);
	if (!atomic_load(&s->cur_conns) && !atomic_load(&s->nbpend))
		cli_on_workers(c->rt, refs_scan, &s, sizeof(s), &refs, 2000);
	busy = atomic_load(&s->cur_conns) || atomic_load(&s->nbpend) || refs.len;
	cli_out_free(&refs);
	if (busy)
		cli_out_str(c->out, "Server still has connections attached to it, cannot remove it.\n");
	return !busy;
}

void cli_del_server(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct proxy *be = NULL;
	struct server *s = argc > 2 ? cli_find_server(c, args[2], &be) : NULL;

	if (argc <= 2)
		cli_out_str(c->out, "Require 'backend/server'.\n");
	if (!s || !del_allowed(c, s))
		return;
	unlink_server(be, s);
	if (!s->slowstart_worker || worker_call(s->slowstart_worker, del_finish, s) < 0)
		qsbr_retire(s, free_server);
	cli_out_str(c->out, "Server deleted.\n");
}
