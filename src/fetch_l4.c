/* fetch_l4.c - sample fetches over the state of proxies and servers:
 * fe_conn, be_conn, nbsrv, connslots, queue, avg_queue, srv_conn,
 * srv_is_up, fe_name, be_name, fe_id, be_id.
 *
 * Without an argument a fetch reads the session's own frontend or backend
 * (in a frontend, before a backend is chosen, "the backend" is the
 * frontend itself, as in HAProxy). An argument naming a proxy is looked up
 * when the fetch runs, in ctx->conf: a check callback has no configuration
 * to resolve it against at parse time. A name that matches nothing makes
 * the sample absent, so the ACL does not match.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/sample.h>
#include <sluice/server.h>
#include "sluice/errbuf.h"

/* The proxy an optional argument names, or the default. */
static struct proxy *arg_proxy(const struct sample_arg *arg, const struct smp_ctx *ctx,
			       unsigned cap, struct proxy *dflt)
{
	if (arg->type != ARG_STR)
		return dflt;
	return ctx->conf ? config_find_proxy(ctx->conf, arg->str, cap) : NULL;
}

static int set_sint(struct sample *out, int64_t v)
{
	out->type = SMP_T_SINT;
	out->u.sint = v;
	return 1;
}

static unsigned read_u(const _Atomic unsigned *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static int smp_fetch_fe_conn(const struct sample_arg *args, struct sample *out,
			     const struct smp_ctx *ctx)
{
	const struct proxy *fe = arg_proxy(&args[0], ctx, PX_CAP_FE, ctx->fe);

	return fe ? set_sint(out, read_u(&fe->feconn)) : 0;
}

static int smp_fetch_be_conn(const struct sample_arg *args, struct sample *out,
			     const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);

	return be ? set_sint(out, read_u(&be->beconn)) : 0;
}

/* The servers balancing would use: the usable active ones, else the
 * first usable backup (all of them with "option allbackups"). */
static unsigned usable_servers(const struct proxy *be)
{
	unsigned act, bck;

	srv_count_usable(be, &act, &bck);
	if (act)
		return act;
	return bck && !(be->options & PX_O_ALLBACKUPS) ? 1 : bck;
}

static int smp_fetch_nbsrv(const struct sample_arg *args, struct sample *out,
			   const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);

	return be ? set_sint(out, usable_servers(be)) : 0;
}

/* Free connection slots plus free queue slots of the usable servers; -1
 * when one of them has no maxconn or no maxqueue (unlimited), as HAProxy
 * documents it. */
static int smp_fetch_connslots(const struct sample_arg *args, struct sample *out,
			       const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);
	const struct server *s;
	unsigned cur, pend;
	int64_t slots = 0;

	if (!be)
		return 0;
	for (s = be->srv; s; s = s->next) {
		if (!srv_is_usable(s))
			continue;
		if (!s->maxconn || !s->maxqueue)
			return set_sint(out, -1);
		cur = read_u(&s->cur_conns);
		pend = read_u(&s->nbpend);
		slots += (s->maxconn > cur ? s->maxconn - cur : 0) +
			 (s->maxqueue > pend ? s->maxqueue - pend : 0);
	}
	return set_sint(out, slots);
}

static int64_t queued(const struct proxy *be)
{
	const struct server *s;
	int64_t n = read_u(&be->nbpend);

	for (s = be->srv; s; s = s->next)
		n += read_u(&s->nbpend);
	return n;
}

static int smp_fetch_queue(const struct sample_arg *args, struct sample *out,
			   const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);

	return be ? set_sint(out, queued(be)) : 0;
}

/* Queued sessions per usable server, rounded; with no server left, twice
 * the queue (HAProxy's estimate that one will come back). */
static int smp_fetch_avg_queue(const struct sample_arg *args, struct sample *out,
			       const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);
	int64_t q;
	unsigned n;

	if (!be)
		return 0;
	q = queued(be);
	n = usable_servers(be);
	return set_sint(out, n ? (q + n / 2) / n : 2 * q);
}

/* ---- one server: "[BACKEND/]SERVER" ---- */

/* The check callback split the argument: args[0] the backend (or none),
 * args[1] the server. */
static const struct server *arg_server(const struct sample_arg *args, const struct smp_ctx *ctx)
{
	const struct proxy *be = arg_proxy(&args[0], ctx, PX_CAP_BE, ctx->be);

	return be ? server_find(be, args[1].str) : NULL;
}

static int check_server_arg(struct sample_arg *args, char *err, size_t errsz)
{
	char *arg = args[0].str, *slash = strchr(arg, '/'), *srv;

	if (!*arg || (slash && (slash == arg || !slash[1])))
		return errbuf_fail(err, errsz, "expects a server as SERVER or BACKEND/SERVER, got '%s'", arg);
	srv = strdup(slash ? slash + 1 : arg);
	if (!srv)
		return errbuf_fail(err, errsz, "out of memory");
	args[1].type = ARG_STR;
	args[1].str = srv;
	if (slash) {
		*slash = '\0';
	} else {
		free(arg);
		args[0].type = ARG_NONE;
		args[0].str = NULL;
	}
	return 0;
}

static int smp_fetch_srv_conn(const struct sample_arg *args, struct sample *out,
			      const struct smp_ctx *ctx)
{
	const struct server *s = arg_server(args, ctx);

	return s ? set_sint(out, read_u(&s->cur_conns)) : 0;
}

/* UP and not in maintenance; a draining server is still up. */
static int smp_fetch_srv_is_up(const struct sample_arg *args, struct sample *out,
			       const struct smp_ctx *ctx)
{
	const struct server *s = arg_server(args, ctx);

	if (!s)
		return 0;
	out->type = SMP_T_BOOL;
	out->u.sint = atomic_load_explicit(&s->state, memory_order_relaxed) == SRV_ST_UP &&
		      !(read_u(&s->admin) & SRV_ADMF_ANY_MAINT);
	return 1;
}

/* ---- names and ids of the session's proxies ---- */

static int set_name(struct sample *out, const struct proxy *px)
{
	if (!px || !px->name)
		return 0;
	out->type = SMP_T_STR;
	out->u.str.ptr = px->name;
	out->u.str.len = strlen(px->name);
	return 1;
}

static int smp_fetch_fe_name(const struct sample_arg *args, struct sample *out,
			     const struct smp_ctx *ctx)
{
	(void)args;
	return set_name(out, ctx->fe);
}

static int smp_fetch_be_name(const struct sample_arg *args, struct sample *out,
			     const struct smp_ctx *ctx)
{
	(void)args;
	return set_name(out, ctx->be);
}

static int smp_fetch_fe_id(const struct sample_arg *args, struct sample *out,
			   const struct smp_ctx *ctx)
{
	(void)args;
	return ctx->fe ? set_sint(out, ctx->fe->uuid) : 0;
}

static int smp_fetch_be_id(const struct sample_arg *args, struct sample *out,
			   const struct smp_ctx *ctx)
{
	(void)args;
	return ctx->be ? set_sint(out, ctx->be->uuid) : 0;
}

static int check_proxy_arg(struct sample_arg *args, char *err, size_t errsz)
{
	if (args[0].type == ARG_STR && !args[0].str[0])
		return errbuf_fail(err, errsz, "expects a proxy name, got an empty one");
	return 0;
}

static const struct sample_fetch state_fetches[] = {
	{ "fe_conn",   smp_fetch_fe_conn,   SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "be_conn",   smp_fetch_be_conn,   SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "nbsrv",     smp_fetch_nbsrv,     SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "connslots", smp_fetch_connslots, SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "queue",     smp_fetch_queue,     SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "avg_queue", smp_fetch_avg_queue, SMP_T_SINT, 0, 1, "s", check_proxy_arg },
	{ "srv_conn",  smp_fetch_srv_conn,  SMP_T_SINT, 1, 1, "s", check_server_arg },
	{ "srv_is_up", smp_fetch_srv_is_up, SMP_T_BOOL, 1, 1, "s", check_server_arg },
	{ "fe_name",   smp_fetch_fe_name,   SMP_T_STR,  0, 0, NULL, NULL },
	{ "be_name",   smp_fetch_be_name,   SMP_T_STR,  0, 0, NULL, NULL },
	{ "fe_id",     smp_fetch_fe_id,     SMP_T_SINT, 0, 0, NULL, NULL },
	{ "be_id",     smp_fetch_be_id,     SMP_T_SINT, 0, 0, NULL, NULL },
	{ NULL }
};

static struct sample_fetch_list state_fetch_list = { .kws = state_fetches };

__attribute__((constructor)) static void fetch_l4_init(void)
{
	sample_register_fetches(&state_fetch_list);
}
