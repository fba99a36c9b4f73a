/* proxy.c - frontends, backends, listen sections and defaults.
 *
 * Owns struct proxy's life cycle (creation with inheritance from a
 * defaults section, freeing) and the proxy-level keywords: mode, maxconn,
 * retries, default_backend, timeout *, option * (the layer-4 ones),
 * description, disabled/enabled. Its post-parser resolves default_backend
 * and warns about frontends without bind and backends without server.
 * Threading: configuration only, on the main thread.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/acl.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/listener.h>
#include <sluice/log.h>
#include <sluice/proxy.h>
#include <sluice/stick.h>
#include <sluice/sample.h>
#include <sluice/tcpcheck.h>

const char *proxy_cap_str(unsigned cap)
{
	switch (cap) {
	case PX_CAP_FE:		return "frontend";
	case PX_CAP_BE:		return "backend";
	case PX_CAP_LISTEN:	return "listen";
	default:		return "defaults";
	}
}

/* ---- creation and inheritance ---------------------------------------- */

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

static int copy_loggers(struct proxy *px, const struct proxy *defs)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, (struct list *)&defs->loggers) {
		const struct logger *src = list_entry(pos, struct logger, node);
		struct logger *lg = malloc(sizeof(*lg));

		if (!lg)
			return -1;
		*lg = *src;
		lg->fd = -1;	/* each proxy's targets are opened on their own */
		list_add_tail(&px->loggers, &lg->node);
	}
	return 0;
}

/* The balancer's settings only: its state and lock belong to this proxy,
 * and the hash expression is compiled again from its text by lb.c. */
static int copy_lb_settings(struct lb *dst, const struct lb *src)
{
	int failed = 0;

	dst->algo = src->algo;
	dst->ops = src->ops;
	dst->hash_type = src->hash_type;
	dst->hash_balance_factor = src->hash_balance_factor;
	dst->random_draws = src->random_draws;
	dst->conf_file = src->conf_file;
	dst->conf_line = src->conf_line;
	dst->hash_expr_str = dup_or_null(src->hash_expr_str, &failed);
	return failed ? -1 : 0;
}

static int inherit_defaults(struct proxy *px, const struct proxy *defs)
{
	int failed = 0;

	px->mode = defs->mode;
	px->options = defs->options;
	px->to = defs->to;
	px->maxconn = defs->maxconn;
	px->retries = defs->retries;
	px->redispatch_interval = defs->redispatch_interval;
	px->disabled = defs->disabled;
	px->default_backend_name = dup_or_null(defs->default_backend_name, &failed);
	px->default_backend_file = defs->default_backend_file;
	px->default_backend_line = defs->default_backend_line;
	px->log_format = dup_or_null(defs->log_format, &failed);
	server_init_from_defaults(&px->defsrv, &defs->defsrv);
	px->tcpcheck = defs->tcpcheck ? tcpcheck_ruleset_ref(defs->tcpcheck) : NULL;
	tcp_rules_inherit(&px->rules, &defs->rules);
	if (failed || copy_loggers(px, defs) < 0 || copy_lb_settings(&px->lb, &defs->lb) < 0)
		return -1;
	return 0;
}

static void set_builtin_defaults(struct proxy *px)
{
	px->mode = PX_MODE_TCP;
	px->retries = 3;
	px->redispatch_interval = -1;
	px->lb.random_draws = 2;
	server_init_from_defaults(&px->defsrv, NULL);
}

struct proxy *proxy_new(const char *name, unsigned cap, const struct proxy *defs)
{
	struct proxy *px = calloc(1, sizeof(*px));

	if (!px)
		return NULL;
	list_init(&px->binds);
	list_init(&px->pendq);
	list_init(&px->loggers);
	list_init(&px->acls);
	list_init(&px->stick_rules);
	tcp_rules_init(&px->rules);
	pthread_mutex_init(&px->qlock, NULL);
	pthread_mutex_init(&px->lb.lock, NULL);
	px->cap = cap;
	if (name && !(px->name = strdup(name)))
		goto fail;
	if (defs) {
		if (inherit_defaults(px, defs) < 0)
			goto fail;
	} else {
		set_builtin_defaults(px);
	}
	return px;
fail:
	proxy_free(px);
	return NULL;
}

static void free_binds_and_servers(struct proxy *px)
{
	struct list *pos, *tmp;
	struct server *s, *next;

	list_for_each_safe(pos, tmp, &px->binds) {
		list_del(pos);
		bind_conf_free(list_entry(pos, struct bind_conf, node));
	}
	for (s = px->srv; s; s = next) {
		next = s->next;
		server_free(s);
	}
	px->srv = px->srv_last = NULL;
	px->nb_srv = 0;
	server_deinit(&px->defsrv);
	if (px->tcpcheck)
		tcpcheck_ruleset_unref(px->tcpcheck);
	px->tcpcheck = NULL;
	tcp_rules_free(&px->rules);
	stick_rules_free(px);
	acl_free_proxy(px);
}

/* Logger sockets are closed by log_close_targets() before the config is
 * freed; a compiled log-format is a single allocation (see log.c). */
void proxy_free(struct proxy *px)
{
	struct list *pos, *tmp;

	if (!px)
		return;
	free_binds_and_servers(px);
	list_for_each_safe(pos, tmp, &px->loggers) {
		list_del(pos);
		free(list_entry(pos, struct logger, node));
	}
	if (px->lb.ops && px->lb.ops->deinit)
		px->lb.ops->deinit(px);
	if (px->lb.hash_expr)
		sample_free_expr(px->lb.hash_expr);
	free(px->lb.hash_expr_str);
	pthread_mutex_destroy(&px->lb.lock);
	pthread_mutex_destroy(&px->qlock);
	free(px->logfmt);
	free(px->log_format);
	free(px->default_backend_name);
	free(px->desc);
	free(px->name);
	free(px);
}

/* ---- keywords ---------------------------------------------------------- */

static int kw_mode(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc == 2 && !strcmp(args[1], "tcp"))
		ctx->px->mode = PX_MODE_TCP;
	else if (argc == 2 && !strcmp(args[1], "udp"))
		ctx->px->mode = PX_MODE_UDP;
	else if (argc == 2 && !strcmp(args[1], "http"))
		return cfg_err(ctx, "sluice is a layer-4 proxy: 'mode http' is not supported");
	else
		return cfg_err(ctx, "'mode' expects 'tcp' or 'udp', got '%s'",
			       argc > 1 ? args[1] : "");
	return 0;
}

static int parse_px_uint(struct cfg_ctx *ctx, int argc, char **args, unsigned *out)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_uint(args[1], 0, INT_MAX, &v) < 0)
		return cfg_err(ctx, "'%s' expects one integer between 0 and %d, got '%s'",
			       args[0], INT_MAX, argc > 1 ? args[1] : "");
	*out = (unsigned)v;
	return 0;
}

static int kw_maxconn(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_px_uint(ctx, argc, args, &ctx->px->maxconn);
}

static int kw_retries(struct cfg_ctx *ctx, int argc, char **args)
{
	return parse_px_uint(ctx, argc, args, &ctx->px->retries);
}

static int kw_default_backend(struct cfg_ctx *ctx, int argc, char **args)
{
	char *name;

	if (argc != 2 || !*args[1])
		return cfg_err(ctx, "'default_backend' expects one backend name");
	name = strdup(args[1]);
	if (!name)
		return cfg_err(ctx, "'default_backend': out of memory");
	free(ctx->px->default_backend_name);
	ctx->px->default_backend_name = name;
	ctx->px->default_backend_file = ctx->file;
	ctx->px->default_backend_line = ctx->line;
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} px_timeouts[] = {
	{ "connect", offsetof(struct px_timeouts, connect) },
	{ "client", offsetof(struct px_timeouts, client) },
	{ "server", offsetof(struct px_timeouts, server) },
	{ "queue", offsetof(struct px_timeouts, queue) },
	{ "tunnel", offsetof(struct px_timeouts, tunnel) },
	{ "client-fin", offsetof(struct px_timeouts, client_fin) },
	{ "server-fin", offsetof(struct px_timeouts, server_fin) },
	{ "check", offsetof(struct px_timeouts, check) },
};

/* Registered as "timeout client" etc.: args[1] names the timeout. */
static int kw_timeout(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned ms;
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(px_timeouts); i++)
		if (!strcmp(args[1], px_timeouts[i].name))
			break;
	if (i == CFG_ARRAY_SIZE(px_timeouts))
		return cfg_err(ctx, "unknown timeout 'timeout %s'", args[1]);
	if (argc != 3 || cfg_parse_time(args[2], &ms) < 0)
		return cfg_err(ctx, "'timeout %s': expects a time like 30s, got '%s'",
			       args[1], argc > 2 ? args[2] : "");
	/* timers count in signed 32-bit milliseconds, as in HAProxy */
	if (ms > INT_MAX)
		return cfg_err(ctx, "'timeout %s': '%s' is too large (at most 24d)",
			       args[1], args[2]);
	*(unsigned *)((char *)&ctx->px->to + px_timeouts[i].off) = ms;
	return 0;
}

static int kw_old_timeout(struct cfg_ctx *ctx, int argc, char **args)
{
	const char *repl = !strcmp(args[0], "contimeout") ? "connect" :
			   !strcmp(args[0], "clitimeout") ? "client" : "server";

	(void)argc;
	return cfg_err(ctx, "'%s' is an old keyword that sluice does not accept: "
		       "use 'timeout %s' instead", args[0], repl);
}

static const struct {
	const char *name;
	unsigned flags;
} px_flag_options[] = {
	{ "tcplog", PX_O_TCPLOG },
	{ "dontlognull", PX_O_DONTLOGNULL },
	{ "dontlog-normal", PX_O_DONTLOG_NORMAL },
	{ "logasap", PX_O_LOGASAP },
	{ "tcpka", PX_O_CLITCPKA | PX_O_SRVTCPKA },
	{ "clitcpka", PX_O_CLITCPKA },
	{ "srvtcpka", PX_O_SRVTCPKA },
	{ "splice-auto", PX_O_SPLICE_AUTO },
	{ "splice-request", PX_O_SPLICE_REQ },
	{ "splice-response", PX_O_SPLICE_RTR },
	{ "allbackups", PX_O_ALLBACKUPS },
	{ "log-health-checks", PX_O_LOG_HEALTH },
};

/* Registered as "option NAME" for each simple on/off option. */
static int kw_option_flag(struct cfg_ctx *ctx, int argc, char **args)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(px_flag_options); i++)
		if (!strcmp(args[1], px_flag_options[i].name))
			break;
	if (i == CFG_ARRAY_SIZE(px_flag_options))
		return cfg_err(ctx, "unknown option 'option %s'", args[1]);
	if (argc > 2)
		return cfg_err(ctx, "'option %s' takes no argument, got '%s'", args[1], args[2]);
	if (ctx->negate)
		ctx->px->options &= ~px_flag_options[i].flags;
	else
		ctx->px->options |= px_flag_options[i].flags;
	return 0;
}

/* "option redispatch [N]": N > 0 redispatches every Nth retry, N < 0 on the
 * Nth retry before the last, 0 turns it off (HAProxy's meaning). */
static int kw_option_redispatch(struct cfg_ctx *ctx, int argc, char **args)
{
	char *end;
	long n = -1;

	if (ctx->negate) {
		ctx->px->options &= ~PX_O_REDISPATCH;
		return 0;
	}
	if (argc > 3)
		return cfg_err(ctx, "'option redispatch' expects at most one interval, got '%s'",
			       args[3]);
	if (argc == 3) {
		n = strtol(args[2], &end, 10);
		if (end == args[2] || *end || n < INT_MIN || n > INT_MAX)
			return cfg_err(ctx, "'option redispatch' expects an integer interval "
				       "(e.g. -1: last retry, 2: every 2nd retry), got '%s'", args[2]);
	}
	if (n == 0) {
		ctx->px->options &= ~PX_O_REDISPATCH;
		return 0;
	}
	ctx->px->options |= PX_O_REDISPATCH;
	ctx->px->redispatch_interval = (int)n;
	return 0;
}

/* "no option httplog" asks for nothing sluice would do, so it is accepted. */
static int kw_option_httplog(struct cfg_ctx *ctx, int argc, char **args)
{
	(void)argc;
	(void)args;
	if (ctx->negate)
		return 0;
	return cfg_err(ctx, "'option httplog': HTTP mode is not supported; use 'option tcplog'");
}

static int kw_description(struct cfg_ctx *ctx, int argc, char **args)
{
	size_t len = 0;
	char *d;
	int i;

	if (argc < 2)
		return cfg_err(ctx, "'description' expects a text");
	for (i = 1; i < argc; i++)
		len += strlen(args[i]) + 1;
	d = malloc(len);
	if (!d)
		return cfg_err(ctx, "'description': out of memory");
	d[0] = '\0';
	for (i = 1; i < argc; i++) {
		if (i > 1)
			strcat(d, " ");
		strcat(d, args[i]);
	}
	free(ctx->px->desc);
	ctx->px->desc = d;
	return 0;
}

static int kw_disabled(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc > 1)
		return cfg_err(ctx, "'%s' takes no argument, got '%s'", args[0], args[1]);
	ctx->px->disabled = !strcmp(args[0], "disabled");
	return 0;
}

/* ---- post-parse checks -------------------------------------------------- */

static const char *mode_str(enum px_mode m)
{
	return m == PX_MODE_UDP ? "udp" : "tcp";
}

static struct proxy *find_backend(const struct config *conf, const char *name)
{
	struct proxy *px;

	for (px = conf->proxies; px; px = px->next)
		if ((px->cap & PX_CAP_BE) && px->name && !strcmp(px->name, name))
			return px;
	return NULL;
}

static int resolve_default_backend(struct config *conf, struct proxy *fe)
{
	const char *file = fe->default_backend_file;
	int line = fe->default_backend_line;
	struct proxy *be;

	if (!fe->default_backend_name)
		return 0;
	be = find_backend(conf, fe->default_backend_name);
	if (!be) {
		cfg_err_at(file, line, "default_backend '%s': no such backend",
			   fe->default_backend_name);
		return 1;
	}
	if (be->mode != fe->mode) {
		cfg_err_at(file, line, "default_backend '%s': %s '%s' is mode %s but "
			   "backend '%s' is mode %s", be->name, proxy_cap_str(fe->cap),
			   fe->name, mode_str(fe->mode), be->name, mode_str(be->mode));
		return 1;
	}
	fe->default_backend = be;
	return 0;
}

static void warn_incomplete(const struct proxy *px)
{
	if (px->disabled)
		return;
	if ((px->cap & PX_CAP_FE) && list_empty(&px->binds))
		cfg_err_at(px->conf_file, px->conf_line, "warning: %s '%s' has no 'bind' line",
			   proxy_cap_str(px->cap), px->name);
	if (px->stats.enabled)
		return;		/* it serves statistics itself */
	/* HAProxy accepts it too: its connections simply fail. A listen that
	 * routes elsewhere by default needs no server of its own. */
	if (px->cap == PX_CAP_FE && !px->default_backend_name)
		cfg_err_at(px->conf_file, px->conf_line, "warning: frontend '%s' has no "
			   "'default_backend': every connection will be closed", px->name);
	if ((px->cap & PX_CAP_BE) && !px->srv && !px->default_backend_name)
		cfg_err_at(px->conf_file, px->conf_line, "warning: %s '%s' has no 'server' line",
			   proxy_cap_str(px->cap), px->name);
}

static int proxy_postparse(struct config *conf)
{
	struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next) {
		if (px->cap & PX_CAP_FE)
			errors += resolve_default_backend(conf, px);
		warn_incomplete(px);
	}
	return errors;
}

static struct cfg_postparser proxy_pp = {
	.name = "proxy",
	.fn = proxy_postparse,
};

#define FE_ONLY_OPT(n)	{ "option " n, CFG_FE_SIDE, kw_option_flag, CFG_KW_NEGATABLE }
#define BE_ONLY_OPT(n)	{ "option " n, CFG_BE_SIDE, kw_option_flag, CFG_KW_NEGATABLE }
#define ANY_OPT(n)	{ "option " n, CFG_PROXIES, kw_option_flag, CFG_KW_NEGATABLE }
#define FE_TIMEOUT(n)	{ "timeout " n, CFG_FE_SIDE, kw_timeout, 0 }
#define BE_TIMEOUT(n)	{ "timeout " n, CFG_BE_SIDE, kw_timeout, 0 }

static struct cfg_kw_list proxy_kws = {
	.kws = (const struct cfg_kw[]){
		{ "mode", CFG_PROXIES, kw_mode, 0 },
		{ "maxconn", CFG_FE_SIDE, kw_maxconn, 0 },
		{ "retries", CFG_BE_SIDE, kw_retries, 0 },
		{ "default_backend", CFG_FE_SIDE, kw_default_backend, 0 },
		FE_TIMEOUT("client"), FE_TIMEOUT("client-fin"),
		BE_TIMEOUT("connect"), BE_TIMEOUT("server"), BE_TIMEOUT("queue"),
		BE_TIMEOUT("tunnel"), BE_TIMEOUT("server-fin"), BE_TIMEOUT("check"),
		{ "contimeout", CFG_PROXIES, kw_old_timeout, 0 },
		{ "clitimeout", CFG_PROXIES, kw_old_timeout, 0 },
		{ "srvtimeout", CFG_PROXIES, kw_old_timeout, 0 },
		{ "option redispatch", CFG_BE_SIDE, kw_option_redispatch, CFG_KW_NEGATABLE },
		FE_ONLY_OPT("tcplog"), FE_ONLY_OPT("dontlognull"),
		FE_ONLY_OPT("dontlog-normal"), FE_ONLY_OPT("logasap"),
		FE_ONLY_OPT("clitcpka"), BE_ONLY_OPT("srvtcpka"), ANY_OPT("tcpka"),
		ANY_OPT("splice-auto"), ANY_OPT("splice-request"), ANY_OPT("splice-response"),
		BE_ONLY_OPT("allbackups"), BE_ONLY_OPT("log-health-checks"),
		{ "option httplog", CFG_PROXIES, kw_option_httplog, CFG_KW_NEGATABLE },
		{ "description", CFG_FRONTEND | CFG_BACKEND | CFG_LISTEN, kw_description, 0 },
		{ "disabled", CFG_PROXIES, kw_disabled, 0 },
		{ "enabled", CFG_PROXIES, kw_disabled, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void proxy_kws_init(void)
{
	cfg_register(&proxy_kws);
	cfg_register_postparser(&proxy_pp);
}
