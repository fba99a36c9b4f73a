/* check.c - health and agent checks: configuration and set-up.
 *
 * Owns the server keywords of checks, the global "spread-checks" and
 * "ssl-server-verify", the post-parse step that resolves "track", rejects
 * what cannot work (agent-check without agent-port, TLS verification
 * without a CA file, a check without a port, tracking loops, TLS or a
 * PROXY header on the check of a UDP server) and creates
 * the struct check of each checked server with its TLS context, and the
 * pure rules the engine (check_io.c) applies: HAProxy's rise/fall health
 * counter, the choice of interval, and the state strings of the stats.
 * Threading: keywords and post-parse run on the main thread before any
 * worker; the pure helpers are safe anywhere; check_state_str() and
 * check_get_report() read atomics and may run on any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/check.h>
#include <sluice/check_udp.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/tcpcheck.h>

#define CHK_MAX_COUNT	1000000	/* rise, fall, error-limit: keeps rise+fall in an int */

/* ---- settings life cycle -------------------------------------------------- */

void check_conf_defaults(struct check_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->inter = 2000;
	c->rise = 2;
	c->fall = 3;
	c->error_limit = 10;
	c->on_error = CHK_ON_ERROR_FAIL_CHECK;
}

static char *memdup(const char *src, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, src, len);
		p[len] = '\0';
	}
	return p;
}

/* Leaves dst freeable whatever fails: pointers not duplicated are NULL. */
int check_conf_dup(struct check_conf *dst, const struct check_conf *src)
{
	int failed = 0;

	dst->agent_send = NULL;
	dst->sni = dst->ca_file = dst->track = NULL;
	dst->udp = src->udp ? udpcheck_ref(src->udp) : NULL;
	if (src->agent_send &&
	    !(dst->agent_send = memdup(src->agent_send, src->agent_send_len)))
		failed = 1;
	if (src->sni && !(dst->sni = strdup(src->sni)))
		failed = 1;
	if (src->ca_file && !(dst->ca_file = strdup(src->ca_file)))
		failed = 1;
	if (src->track && !(dst->track = strdup(src->track)))
		failed = 1;
	if (failed) {
		check_conf_free(dst);
		return -1;
	}
	return 0;
}

void check_conf_free(struct check_conf *c)
{
	free(c->agent_send);
	free(c->sni);
	free(c->ca_file);
	free(c->track);
	udpcheck_unref(c->udp);
	c->agent_send = c->sni = c->ca_file = c->track = NULL;
	c->udp = NULL;
	c->agent_send_len = 0;
}

/* ---- server keywords ----------------------------------------------------- */

/* Post-parse errors point at the server line. */
static int srv_err_at(const struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int srv_err_at(const struct server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_err_at(s->conf_file ? s->conf_file : "?", s->conf_line, "server '%s/%s': %s",
		   s->px ? s->px->name : "?", s->name, msg);
	return 1;
}

static const struct { const char *name; size_t off; int zero_ok; } time_kws[] = {
	{ "inter", offsetof(struct check_conf, inter), 0 },
	{ "fastinter", offsetof(struct check_conf, fastinter), 0 },
	{ "downinter", offsetof(struct check_conf, downinter), 0 },
	{ "agent-inter", offsetof(struct check_conf, agent_inter), 0 },
	{ "slowstart", offsetof(struct check_conf, slowstart), 1 },
};

static int kw_time(struct cfg_ctx *ctx, struct server *s, char **args)
{
	unsigned ms, i;

	for (i = 0; strcmp(time_kws[i].name, args[0]); i++)
		;
	if (!args[1] || cfg_parse_time(args[1], &ms) < 0)
		return srv_cfg_err(ctx, s, "'%s' expects a time like 2s or 500ms, got '%s'",
			       args[0], args[1] ? args[1] : "");
	if (!ms && !time_kws[i].zero_ok)
		return srv_cfg_err(ctx, s, "'%s' expects a time greater than 0, got '%s'",
			       args[0], args[1]);
	*(unsigned *)((char *)&s->chk + time_kws[i].off) = ms;
	return 1;
}

static const struct { const char *name; size_t off; unsigned long min, max; } uint_kws[] = {
	{ "rise", offsetof(struct check_conf, rise), 1, CHK_MAX_COUNT },
	{ "fall", offsetof(struct check_conf, fall), 1, CHK_MAX_COUNT },
	{ "error-limit", offsetof(struct check_conf, error_limit), 1, CHK_MAX_COUNT },
	{ "port", offsetof(struct check_conf, port), 1, 65535 },
	{ "agent-port", offsetof(struct check_conf, agent_port), 1, 65535 },
};

static int kw_uint(struct cfg_ctx *ctx, struct server *s, char **args)
{
	unsigned long v;
	unsigned i;

	for (i = 0; strcmp(uint_kws[i].name, args[0]); i++)
		;
	if (!args[1] || cfg_parse_uint(args[1], uint_kws[i].min, uint_kws[i].max, &v) < 0)
		return srv_cfg_err(ctx, s, "'%s' expects an integer between %lu and %lu, got '%s'",
			       args[0], uint_kws[i].min, uint_kws[i].max, args[1] ? args[1] : "");
	*(unsigned *)((char *)&s->chk + uint_kws[i].off) = (unsigned)v;
	return 1;
}

/* Flags and their "no-" forms. */
static const struct { const char *name; unsigned flag; int set; } flag_kws[] = {
	{ "check", CHK_CF_CHECK, 1 },
	{ "no-check", CHK_CF_CHECK, 0 },
	{ "agent-check", CHK_CF_AGENT, 1 },
	{ "no-agent-check", CHK_CF_AGENT, 0 },
	{ "check-send-proxy", CHK_CF_SEND_PROXY, 1 },
	{ "no-check-send-proxy", CHK_CF_SEND_PROXY, 0 },
	{ "check-ssl", CHK_CF_SSL, 1 },
	{ "no-check-ssl", CHK_CF_SSL, 0 },
};

static int kw_flag(struct cfg_ctx *ctx, struct server *s, char **args)
{
	unsigned i;

	(void)ctx;
	for (i = 0; strcmp(flag_kws[i].name, args[0]); i++)
		;
	if (flag_kws[i].set)
		s->chk.flags |= flag_kws[i].flag;
	else
		s->chk.flags &= ~flag_kws[i].flag;
	return 0;
}

/* "addr" / "agent-addr": an address without a port (the port has its own
 * keyword, so a port here would be silently meaningless). */
static int kw_addr(struct cfg_ctx *ctx, struct server *s, char **args)
{
	int agent = !strcmp(args[0], "agent-addr");
	struct addr_spec spec;
	char err[256];

	if (!args[1])
		return srv_cfg_err(ctx, s, "'%s' expects an IP address", args[0]);
	if (addr_parse(args[1], ADDR_ALLOW_NO_PORT | ADDR_RESOLVE, &spec, err, sizeof(err)) < 0)
		return srv_cfg_err(ctx, s, "'%s': %s", args[0], err);
	if (!(spec.flags & ADDR_PORT_NONE))
		return srv_cfg_err(ctx, s, "'%s' takes an address without a port, got '%s' "
			       "(use '%s' for the port)", args[0], args[1],
			       agent ? "agent-port" : "port");
	if (agent) {
		s->chk.agent_addr = spec.ss;
		s->chk.agent_addrlen = spec.len;
	} else {
		s->chk.addr = spec.ss;
		s->chk.addrlen = spec.len;
	}
	return 1;
}

static int set_string(struct cfg_ctx *ctx, struct server *s, char **args, char **dst)
{
	char *v;

	if (!args[1] || !*args[1])
		return srv_cfg_err(ctx, s, "'%s' expects a value", args[0]);
	v = strdup(args[1]);
	if (!v)
		return srv_cfg_err(ctx, s, "out of memory");
	free(*dst);
	*dst = v;
	return 1;
}

static int kw_sni(struct cfg_ctx *ctx, struct server *s, char **args)
{
	return set_string(ctx, s, args, &s->chk.sni);
}

static int kw_track(struct cfg_ctx *ctx, struct server *s, char **args)
{
	return set_string(ctx, s, args, &s->chk.track);
}

static int kw_agent_send(struct cfg_ctx *ctx, struct server *s, char **args)
{
	int ret = set_string(ctx, s, args, &s->chk.agent_send);

	if (ret > 0)
		s->chk.agent_send_len = strlen(s->chk.agent_send);
	return ret;
}

static int kw_ca_file(struct cfg_ctx *ctx, struct server *s, char **args)
{
	if (args[1] && *args[1] && access(args[1], R_OK) < 0)
		return srv_cfg_err(ctx, s, "'ca-file': cannot read '%s': %s", args[1], strerror(errno));
	return set_string(ctx, s, args, &s->chk.ca_file);
}

/* A keyword taking one word out of a fixed list; returns the index. */
static int one_of(struct cfg_ctx *ctx, struct server *s, char **args, const char *const *words,
		  const char *expected)
{
	int i;

	for (i = 0; args[1] && words[i]; i++)
		if (!strcmp(args[1], words[i]))
			return i;
	return srv_cfg_err(ctx, s, "'%s' expects %s, got '%s'", args[0], expected,
		       args[1] ? args[1] : "");
}

static int kw_verify(struct cfg_ctx *ctx, struct server *s, char **args)
{
	static const char *const words[] = { "none", "required", NULL };
	int i = one_of(ctx, s, args, words, "'none' or 'required'");

	if (i < 0)
		return -1;
	s->chk.verify = i ? CHK_VERIFY_REQUIRED : CHK_VERIFY_NONE;
	return 1;
}

static int kw_observe(struct cfg_ctx *ctx, struct server *s, char **args)
{
	static const char *const words[] = { "none", "layer4", NULL };
	int i;

	if (args[1] && !strcmp(args[1], "layer7"))
		return srv_cfg_err(ctx, s, "'observe layer7' watches HTTP responses, which a "
			       "layer-4 proxy never sees: use 'observe layer4'");
	i = one_of(ctx, s, args, words, "'layer4' or 'none'");
	if (i < 0)
		return -1;
	if (i)
		s->chk.flags |= CHK_CF_OBSERVE_L4;
	else
		s->chk.flags &= ~CHK_CF_OBSERVE_L4;
	return 1;
}

static int kw_on_error(struct cfg_ctx *ctx, struct server *s, char **args)
{
	/* indexed by enum chk_on_error */
	static const char *const words[] = {
		"fastinter", "fail-check", "sudden-death", "mark-down", NULL
	};
	int i = one_of(ctx, s, args, words,
		       "'fastinter', 'fail-check', 'sudden-death' or 'mark-down'");

	if (i < 0)
		return -1;
	s->chk.on_error = i;
	return 1;
}

static int kw_on_marked(struct cfg_ctx *ctx, struct server *s, char **args)
{
	int down = !strcmp(args[0], "on-marked-down");
	const char *want = down ? "shutdown-sessions" : "shutdown-backup-sessions";

	if (!args[1] || strcmp(args[1], want))
		return srv_cfg_err(ctx, s, "'%s' expects '%s', got '%s'", args[0], want,
			       args[1] ? args[1] : "");
	s->chk.flags |= down ? CHK_CF_DOWN_SHUTDOWN : CHK_CF_UP_SHUTDOWN_BACKUP;
	return 1;
}

static struct srv_kw_list check_srv_kws = {
	.kws = (const struct srv_kw[]){
		{ "check", kw_flag, 1 },
		{ "no-check", kw_flag, 1 },
		{ "agent-check", kw_flag, 1 },
		{ "no-agent-check", kw_flag, 1 },
		{ "check-send-proxy", kw_flag, 1 },
		{ "no-check-send-proxy", kw_flag, 1 },
		{ "check-ssl", kw_flag, 1 },
		{ "no-check-ssl", kw_flag, 1 },
		{ "inter", kw_time, 1 },
		{ "fastinter", kw_time, 1 },
		{ "downinter", kw_time, 1 },
		{ "agent-inter", kw_time, 1 },
		{ "slowstart", kw_time, 1 },
		{ "rise", kw_uint, 1 },
		{ "fall", kw_uint, 1 },
		{ "error-limit", kw_uint, 1 },
		{ "port", kw_uint, 1 },
		{ "agent-port", kw_uint, 1 },
		{ "addr", kw_addr, 1 },
		{ "agent-addr", kw_addr, 1 },
		{ "agent-send", kw_agent_send, 1 },
		{ "check-sni", kw_sni, 1 },
		{ "ca-file", kw_ca_file, 1 },
		{ "verify", kw_verify, 1 },
		{ "observe", kw_observe, 1 },
		{ "on-error", kw_on_error, 1 },
		{ "on-marked-down", kw_on_marked, 1 },
		{ "on-marked-up", kw_on_marked, 1 },
		{ "track", kw_track, 0 },
		{ NULL, NULL, 0 },
	},
};

/* ---- global keywords ------------------------------------------------------ */

static int kw_spread_checks(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned long v;

	if (argc != 2 || cfg_parse_uint(args[1], 0, 50, &v) < 0)
		return cfg_err(ctx, "'spread-checks' expects a percentage between 0 and 50, got '%s'",
			       argc > 1 ? args[1] : "");
	ctx->conf->global.spread_checks = (unsigned)v;
	return 0;
}

static int kw_ssl_server_verify(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc != 2 || (strcmp(args[1], "none") && strcmp(args[1], "required")))
		return cfg_err(ctx, "'ssl-server-verify' expects 'none' or 'required', got '%s'",
			       argc > 1 ? args[1] : "");
	ctx->conf->global.ssl_server_verify = !strcmp(args[1], "required");
	return 0;
}

static struct cfg_kw_list check_global_kws = {
	.kws = (const struct cfg_kw[]){
		{ "spread-checks", CFG_GLOBAL, kw_spread_checks, 0 },
		{ "ssl-server-verify", CFG_GLOBAL, kw_ssl_server_verify, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

/* ---- pure rules ----------------------------------------------------------- */

/* Consecutive results, as HAProxy counts them: a failure takes one step
 * down while the server still has "fall" credit, and below "rise" drops to
 * zero (marked down); a success climbs one step, and reaching "rise" jumps
 * to the top (fully up again). The server starts at rise: up, and one
 * failure away from down. */
unsigned check_health_step(int *health, unsigned rise, unsigned fall, int ok, int marked_down)
{
	int top = (int)(rise + fall) - 1, h = *health, res = 0;

	if (ok) {
		if (h < top) {
			h++;
			if (h >= (int)rise)
				h = top;
			res |= CHK_HS_CHANGED;
		}
		if (h >= (int)rise && marked_down)
			res |= CHK_HS_UP;
	} else {
		if (h > 0) {
			h--;
			if (h < (int)rise)
				h = 0;
			res |= CHK_HS_CHANGED | CHK_HS_COUNTED;
		}
		if (h == 0 && !marked_down)
			res |= CHK_HS_DOWN;
	}
	*health = h;
	return (unsigned)res;
}

unsigned check_interval(const struct check_conf *c, int agent, int health)
{
	int top = (int)(c->rise + c->fall) - 1;

	if (agent)
		return c->agent_inter ? c->agent_inter : c->inter;
	if (health <= 0 && c->downinter)
		return c->downinter;
	if (health > 0 && health < top && c->fastinter)
		return c->fastinter;
	return c->inter;
}

unsigned check_spread(unsigned ms, unsigned pct, uint32_t rnd)
{
	uint64_t range = (uint64_t)ms * pct / 100;
	int64_t v;

	if (!range)
		return ms;
	v = (int64_t)ms - (int64_t)range + (int64_t)(rnd % (2 * range + 1));
	return v < 1 ? 1 : (unsigned)v;
}

void check_timeouts(unsigned to_connect, unsigned to_check, unsigned inter,
		    unsigned *conn_ms, unsigned *rest_ms)
{
	if (!to_check) {
		*conn_ms = inter;
		*rest_ms = 0;
		return;
	}
	*conn_ms = to_connect && to_connect < inter ? to_connect : inter;
	*rest_ms = to_check;
}

unsigned check_first_delay(unsigned k, unsigned total, unsigned inter)
{
	if (!total)
		return 0;
	return (unsigned)((uint64_t)k * inter / total);
}

/* ---- state strings and reports -------------------------------------------- */

/* The first server of s's tracking chain that is in maintenance itself,
 * or NULL. Bounded: post-parse rejected loops, the bound is a safety net. */
static const struct server *maint_source(const struct server *s)
{
	const struct server *t = s->track;
	int hops;

	for (hops = 0; t && hops < 1024; t = t->track, hops++)
		if (atomic_load_explicit(&t->admin, memory_order_relaxed) & SRV_ADMF_MAINT)
			return t;
	return NULL;
}

static const char *state_down(const struct server *s, int health, char *buf, size_t size)
{
	if (health > 0 && health < (int)s->chk.rise) {
		snprintf(buf, size, "DOWN %d/%u", health, s->chk.rise);
		return buf;
	}
	snprintf(buf, size, "DOWN");
	return buf;
}

const char *check_state_fmt(const struct server *s, int health, char *buf, size_t size)
{
	unsigned admin = atomic_load_explicit(&s->admin, memory_order_relaxed);
	int top = (int)(s->chk.rise + s->chk.fall) - 1;
	const struct server *via;

	if (admin & SRV_ADMF_MAINT) {
		snprintf(buf, size, "MAINT");
	} else if (admin & SRV_ADMF_IMAINT) {
		via = maint_source(s);
		if (!via)
			via = s->track;
		if (via)
			snprintf(buf, size, "MAINT (via %s/%s)", via->px ? via->px->name : "?",
				 via->name);
		else
			snprintf(buf, size, "MAINT");
	} else if (atomic_load_explicit(&s->state, memory_order_relaxed) != SRV_ST_UP) {
		return state_down(s, health, buf, size);
	} else if (admin & SRV_ADMF_ANY_DRAIN) {
		snprintf(buf, size, "DRAIN");
	} else if (!atomic_load_explicit(&s->eweight, memory_order_relaxed)) {
		snprintf(buf, size, "NOLB");
	} else if (health >= (int)s->chk.rise && health < top) {
		snprintf(buf, size, "UP %d/%u", health - (int)s->chk.rise + 1, s->chk.fall);
	} else {
		snprintf(buf, size, "UP");
	}
	return buf;
}

const char *check_state_str(const struct server *s, char *buf, size_t size)
{
	int health = s->check ? atomic_load_explicit(&s->check->health, memory_order_relaxed) : -1;

	return check_state_fmt(s, health, buf, size);
}

int check_get_report(const struct server *s, int agent, struct check_report *out)
{
	const struct check *c = agent ? s->agent : s->check;

	if (!c)
		return -1;
	memcpy(out, &c->rep, sizeof(*out));
	out->info[sizeof(out->info) - 1] = '\0';	/* a torn copy stays a string */
	if (!agent)
		out->health = atomic_load_explicit(&c->health, memory_order_relaxed);
	out->enabled = atomic_load_explicit(&c->enabled, memory_order_relaxed);
	return 0;
}

/* ---- post-parse: tracking ------------------------------------------------- */

/* "track [BACKEND/]SERVER": find the target. Returns 0, or 1 after an error. */
static int track_resolve(struct config *conf, struct server *s)
{
	char *slash = strchr(s->chk.track, '/');
	const struct proxy *be = s->px;
	const char *name = s->chk.track;
	struct server *t;

	if (slash) {
		*slash = '\0';
		be = config_find_proxy(conf, s->chk.track, PX_CAP_BE);
		*slash = '/';
		name = slash + 1;
		if (!be)
			return srv_err_at(s, "'track %s': no backend named '%.*s'", s->chk.track,
					  (int)(slash - s->chk.track), s->chk.track);
	}
	t = server_find(be, name);
	if (!t)
		return srv_err_at(s, "'track %s': backend '%s' has no server '%s'", s->chk.track,
				  be->name, name);
	if (t == s)
		return srv_err_at(s, "'track %s': a server cannot track itself", s->chk.track);
	s->track = t;
	return 0;
}

/* The end of s's chain must run a check; a chain that comes back is a
 * loop. Every server is visited at most once per chain, so a chain longer
 * than the number of servers has looped. */
static int track_validate(struct server *s, unsigned nservers)
{
	const struct server *t = s->track;
	unsigned hops = 0;

	for (; t->track && hops <= nservers; t = t->track, hops++)
		if (t->track == s)
			return srv_err_at(s, "'track %s': tracking loop (%s/%s tracks this "
					  "server back)", s->chk.track, t->px->name, t->name);
	if (t->track)
		return srv_err_at(s, "'track %s': tracking loop further down the chain",
				  s->chk.track);
	if (!(t->chk.flags & (CHK_CF_CHECK | CHK_CF_AGENT)))
		return srv_err_at(s, "cannot track '%s/%s': it has neither 'check' nor "
				  "'agent-check' (the end of a tracking chain must be checked)",
				  t->px->name, t->name);
	return 0;
}

/* Calls fn on every server of every backend; sums what it returns. */
static int for_each_server(struct config *conf, int (*fn)(struct config *, struct server *,
							   void *), void *arg)
{
	struct server *s;
	struct proxy *px;
	int n = 0;

	for (px = conf->proxies; px; px = px->next)
		if (px->cap & PX_CAP_BE)
			for (s = px->srv; s; s = s->next)
				n += fn(conf, s, arg);
	return n;
}

static int count_one(struct config *conf, struct server *s, void *arg)
{
	(void)conf;
	(void)s;
	(void)arg;
	return 1;
}

static int resolve_one(struct config *conf, struct server *s, void *arg)
{
	(void)arg;
	s->track = s->trackers = s->tracknext = NULL;
	return s->chk.track ? track_resolve(conf, s) : 0;
}

static int validate_one(struct config *conf, struct server *s, void *arg)
{
	(void)conf;
	return s->track ? track_validate(s, *(unsigned *)arg) : 0;
}

static int link_one(struct config *conf, struct server *s, void *arg)
{
	(void)conf;
	(void)arg;
	if (s->track) {
		s->tracknext = s->track->trackers;
		s->track->trackers = s;
	}
	return 0;
}

/* A server following one in maintenance starts in inherited maintenance. */
static int inherit_maint_one(struct config *conf, struct server *s, void *arg)
{
	(void)conf;
	(void)arg;
	if (maint_source(s))
		srv_set_admin(s, SRV_ADMF_IMAINT, NULL);
	return 0;
}

static int track_all(struct config *conf)
{
	unsigned nservers = (unsigned)for_each_server(conf, count_one, NULL);
	int errors = for_each_server(conf, resolve_one, NULL);

	errors += for_each_server(conf, validate_one, &nservers);
	if (errors)
		return errors;
	for_each_server(conf, link_one, NULL);
	for_each_server(conf, inherit_maint_one, NULL);
	return 0;
}

/* ---- post-parse: what each server's checks need --------------------------- */

static int rules_have(const struct tcpcheck_ruleset *rs, int (*pred)(const struct tcpcheck_rule *))
{
	unsigned i;

	for (i = 0; rs && i < rs->nrules; i++)
		if (pred(&rs->rules[i]))
			return 1;
	return 0;
}

static int rule_connect_ssl(const struct tcpcheck_rule *r)
{
	return r->act == TCPCHK_ACT_CONNECT && r->connect.ssl;
}

static int rule_connect_no_port(const struct tcpcheck_rule *r)
{
	return r->act == TCPCHK_ACT_CONNECT && !r->connect.port;
}

/* The health check of s runs TLS on some connection. UDP checks never do
 * (check-ssl is refused there, inherited tcp-check rules do not apply). */
static int check_uses_tls(const struct server *s)
{
	return (s->chk.flags & CHK_CF_CHECK) && s->px->mode != PX_MODE_UDP &&
	       ((s->chk.flags & CHK_CF_SSL) || rules_have(s->px->tcpcheck, rule_connect_ssl));
}

static int effective_verify(const struct config *conf, const struct server *s)
{
	if (s->chk.verify != CHK_VERIFY_DEFAULT)
		return s->chk.verify;
	return conf->global.ssl_server_verify ? CHK_VERIFY_REQUIRED : CHK_VERIFY_NONE;
}

/* Every connection of the health check finds a port: its rule's, "port",
 * or the server's own (not with a port offset or no port at all). */
static int check_has_port(const struct server *s)
{
	const struct tcpcheck_ruleset *rs = s->px->mode == PX_MODE_UDP ? NULL : s->px->tcpcheck;
	int implicit = !rs || !rs->nrules || rs->rules[0].act != TCPCHK_ACT_CONNECT;

	if (s->chk.port || !(s->flags & (SRV_F_NO_PORT | SRV_F_PORT_MAP)))
		return 1;
	return !implicit && !rules_have(rs, rule_connect_no_port);
}

/* A UDP server's check is one datagram (check_udp.c): nothing to wrap in
 * TLS, and the PROXY header it gets is decided by send-proxy-v2. Its agent
 * check is TCP, as agents are. */
static int validate_udp_one(const struct server *s)
{
	int errors = 0;

	if (s->chk.flags & CHK_CF_SSL)
		errors += srv_err_at(s, "'check-ssl' does not apply to a UDP server (its check is "
				     "one datagram; TLS needs TCP): remove it, or add 'no-check-ssl' "
				     "when it comes from default-server");
	if (s->chk.flags & CHK_CF_SEND_PROXY)
		errors += srv_err_at(s, "'check-send-proxy' does not apply to a UDP server (its "
				     "check datagram carries a PROXY v2 LOCAL header when the server "
				     "has 'send-proxy-v2'): remove it, or add 'no-check-send-proxy' "
				     "when it comes from default-server");
	return errors;
}

static int validate_checks_one(struct config *conf, struct server *s, void *arg)
{
	unsigned f = s->chk.flags;
	int errors = 0;

	(void)arg;
	if (s->px->mode == PX_MODE_UDP)
		errors += validate_udp_one(s);
	if ((f & CHK_CF_OBSERVE_L4) && !(f & CHK_CF_CHECK))
		errors += srv_err_at(s, "'observe layer4' acts on the health check: add 'check' "
				     "or remove 'observe'");
	if ((f & CHK_CF_AGENT) && !s->chk.agent_port)
		errors += srv_err_at(s, "'agent-check' needs 'agent-port N' (the agent's TCP port)");
	if ((f & CHK_CF_CHECK) && !check_has_port(s))
		errors += srv_err_at(s, "health check needs a port: use 'port N' (the server "
				     "has no fixed port)");
	if (check_uses_tls(s) && effective_verify(conf, s) == CHK_VERIFY_REQUIRED &&
	    !s->chk.ca_file)
		errors += srv_err_at(s, s->chk.verify == CHK_VERIFY_REQUIRED ?
				     "'verify required' needs 'ca-file FILE' to check the "
				     "server's certificate against" :
				     "verify is enabled by default but no CA file specified "
				     "('ca-file FILE'); set 'verify none' on the server line if "
				     "you trust the network, or 'ssl-server-verify none' in global");
	return errors;
}

/* ---- post-parse: TLS contexts ---------------------------------------------- */

/* One SSL_CTX per distinct (verify, CA file); each check takes a reference. */
struct tls_ctx_entry {
	int verify;
	const char *ca_file;	/* NULL unless verify is required */
	SSL_CTX *ctx;
};

struct tls_ctx_set {
	struct tls_ctx_entry *v;
	unsigned n, size;
};

static void openssl_error(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "unknown error");
	ERR_clear_error();
}

static SSL_CTX *tls_ctx_new(int verify, const char *ca_file, char *err, size_t errsz)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		openssl_error(err, errsz);
		return NULL;
	}
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* A peer closing without close_notify ends a read like EOF does. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	if (verify != CHK_VERIFY_REQUIRED) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		openssl_error(err, errsz);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* The context for s, created on first use. NULL after an error. */
static SSL_CTX *tls_ctx_get(struct tls_ctx_set *set, const struct config *conf,
			    const struct server *s)
{
	int verify = effective_verify(conf, s);
	const char *ca = verify == CHK_VERIFY_REQUIRED ? s->chk.ca_file : NULL;
	struct tls_ctx_entry *e;
	char err[256];
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].verify == verify &&
		    (set->v[i].ca_file == ca || (ca && set->v[i].ca_file &&
						 !strcmp(set->v[i].ca_file, ca))))
			return set->v[i].ctx;
	if (set->n == set->size) {
		unsigned size = set->size ? set->size * 2 : 4;

		e = realloc(set->v, size * sizeof(*e));
		if (!e) {
			srv_err_at(s, "out of memory");
			return NULL;
		}
		set->v = e;
		set->size = size;
	}
	e = &set->v[set->n];
	e->ctx = tls_ctx_new(verify, ca, err, sizeof(err));
	if (!e->ctx) {
		srv_err_at(s, "cannot set up TLS for the health check%s%s: %s",
			   ca ? " with ca-file " : "", ca ? ca : "", err);
		return NULL;
	}
	e->verify = verify;
	e->ca_file = ca;
	set->n++;
	return e->ctx;
}

static void tls_ctx_set_free(struct tls_ctx_set *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		SSL_CTX_free(set->v[i].ctx);
	free(set->v);
}

/* ---- post-parse: creating the checks ---------------------------------------- */

static struct check *check_new(struct server *s, unsigned kind)
{
	struct check *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = s;
	c->kind = kind;
	timer_init(&c->timer, NULL);	/* check_start_all() sets the callback */
	c->running = 1;
	atomic_init(&c->health, kind == CHK_CF_AGENT ? 1 : (int)s->chk.rise);
	atomic_init(&c->enabled, 1);
	c->rep.code = CHK_UNK;
	c->rep.duration_ms = -1;
	c->rep.health = atomic_load(&c->health);
	c->rep.rise = kind == CHK_CF_AGENT ? 1 : s->chk.rise;
	c->rep.fall = kind == CHK_CF_AGENT ? 1 : s->chk.fall;
	c->rep.enabled = 1;
	return c;
}

static int create_one(struct config *conf, struct server *s, void *arg)
{
	struct tls_ctx_set *set = arg;
	SSL_CTX *ctx = NULL;

	if (check_uses_tls(s)) {
		ctx = tls_ctx_get(set, conf, s);
		if (!ctx)
			return 1;
	}
	if (s->chk.flags & CHK_CF_CHECK) {
		s->check = check_new(s, CHK_CF_CHECK);
		if (!s->check)
			return srv_err_at(s, "out of memory");
		if (ctx && SSL_CTX_up_ref(ctx))
			s->check->ssl_ctx = ctx;
	}
	if (s->chk.flags & CHK_CF_AGENT) {
		s->agent = check_new(s, CHK_CF_AGENT);
		if (!s->agent)
			return srv_err_at(s, "out of memory");
	}
	return 0;
}

int check_postparse(struct config *conf)
{
	struct tls_ctx_set set = { NULL, 0, 0 };
	int errors = track_all(conf);

	errors += for_each_server(conf, validate_checks_one, NULL);
	if (errors)
		return errors;
	errors = for_each_server(conf, create_one, &set);
	tls_ctx_set_free(&set);	/* the checks hold their own references */
	/* Nothing runs after a failed load or "-c": release what was made. */
	if (errors || conf->check_only)
		check_free_all(conf);
	return errors;
}

static struct cfg_postparser check_pp = {
	.name = "checks",
	.fn = check_postparse,
};

__attribute__((constructor)) static void check_kws_init(void)
{
	srv_register_keywords(&check_srv_kws);
	cfg_register(&check_global_kws);
	cfg_register_postparser(&check_pp);
}
