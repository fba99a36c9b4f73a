/* stats.c - the statistics listener: HTML page and Prometheus metrics.
 *
 * A frontend with "stats enable" (or "stats uri") serves only statistics:
 * sluice has no HTTP mode, so this file speaks just enough HTTP/1.x to
 * answer one request per connection (Connection: close). GET/HEAD on the
 * stats uri gives the HTML page, on /metrics the Prometheus text format
 * 0.0.4 with the metric names of HAProxy's exporter, so that dashboards
 * written for HAProxy work unchanged.
 *
 * A connection reads its request head (at most STATS_HEAD_MAX bytes) under
 * "timeout client" (10 s when unset), renders the whole answer into one
 * malloc'd buffer (this is not the data path), writes it as the socket
 * accepts it, shuts its write side and lingers briefly for the client's
 * FIN so that unread bytes do not turn the close into a reset that would
 * destroy the answer in flight.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice/cfg.h"
#include "sluice/check.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/proxy.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/stats.h"
#include "sluice/tcpcheck.h"
#include "sluice/worker.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

#define STATS_DEFAULT_TIMEOUT_MS	10000
#define STATS_LINGER_MS			1000

/* Process start, for start_time_seconds and uptime. */
static double start_real;
static uint64_t start_mono_ms;

__attribute__((constructor)) static void stats_clock_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	start_real = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	start_mono_ms = clock_mono_ms();
}

/* ======================================================================
 * Request parsing
 * ====================================================================== */

static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The request line l[0..n) (no CR/LF): METHOD SP target SP HTTP/1.x */
static enum stats_parse parse_request_line(const char *l, size_t n, struct stats_req *req)
{
	size_t i = 0, m, t;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (!i || i >= n || l[i] != ' ')
		return STATS_P_BAD;
	m = i++;
	t = i;
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
		i++;
	if (i == t || i >= n || l[i] != ' ')
		return STATS_P_BAD;
	req->target = l + t;
	req->target_len = i - t;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/", 5) || l[i + 6] != '.' ||
	    l[i + 5] < '0' || l[i + 5] > '9' || l[i + 7] < '0' || l[i + 7] > '9')
		return STATS_P_BAD;
	if (l[i + 5] != '1')
		return STATS_P_VERSION;
	req->minor = l[i + 7] - '0';
	if (m == 3 && !memcmp(l, "GET", 3))
		req->method = STATS_M_GET;
	else if (m == 4 && !memcmp(l, "HEAD", 4))
		req->method = STATS_M_HEAD;
	else
		req->method = STATS_M_OTHER;
	return STATS_P_OK;
}

/* Length of the line at buf[pos..n) without its CR LF / LF, and where the
 * next line starts; 0 when no LF yet. */
static int next_line(const char *buf, size_t pos, size_t n, size_t *len, size_t *next)
{
	const char *lf = memchr(buf + pos, '\n', n - pos);

	if (!lf)
		return 0;
	*next = (size_t)(lf - buf) + 1;
	*len = (size_t)(lf - buf) - pos;
	if (*len && buf[pos + *len - 1] == '\r')
		(*len)--;
	return 1;
}

enum stats_parse stats_parse_request(const char *buf, size_t len, size_t max,
				     struct stats_req *req)
{
	size_t n = len < max ? len : max, pos = 0, llen, next;
	enum stats_parse r;

	memset(req, 0, sizeof(*req));
	/* RFC 9112: ignore empty lines before the request line. */
	while (next_line(buf, pos, n, &llen, &next) && !llen)
		pos = next;
	if (!next_line(buf, pos, n, &llen, &next))
		return len >= max ? STATS_P_TOO_BIG : STATS_P_MORE;
	r = parse_request_line(buf + pos, llen, req);
	if (r != STATS_P_OK)
		return r;
	for (pos = next; next_line(buf, pos, n, &llen, &next); pos = next) {
		if (!llen) {
			req->head_len = next;
			return STATS_P_OK;
		}
		if (memchr(buf + pos, '\0', llen))
			return STATS_P_BAD;
	}
	return len >= max ? STATS_P_TOO_BIG : STATS_P_MORE;
}

enum stats_page stats_route(const struct stats_req *req, const char *uri)
{
	size_t ulen = strlen(uri), tlen = req->target_len, plen;
	const char *t = req->target, *q = memchr(t, '?', tlen);

	if (tlen >= ulen && !memcmp(t, uri, ulen)) {
		if (tlen == ulen)
			return STATS_PAGE_HTML;
		/* "/haproxy?stats;csv" style suffixes, or a query after a path */
		if (strchr(uri, '?') ? (t[ulen] == ';' || t[ulen] == '&') : t[ulen] == '?')
			return STATS_PAGE_HTML;
	}
	plen = q ? (size_t)(q - t) : tlen;
	if (plen == strlen(STATS_METRICS_PATH) && !memcmp(t, STATS_METRICS_PATH, plen))
		return STATS_PAGE_METRICS;
	return STATS_PAGE_NOT_FOUND;
}

/* ======================================================================
 * Output buffer
 * ====================================================================== */

static int buf_reserve(struct stats_buf *b, size_t more)
{
	size_t want = b->len + more + 1, size = b->size ? b->size : 4096;
	char *p;

	if (b->failed)
		return -1;
	if (want <= b->size)
		return 0;
	while (size < want)
		size *= 2;
	p = realloc(b->data, size);
	if (!p) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->size = size;
	return 0;
}

void stats_buf_printf(struct stats_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 256) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->size - b->len) {
		if (buf_reserve(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void buf_put(struct stats_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void stats_buf_free(struct stats_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void stats_buf_label(struct stats_buf *b, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			buf_put(b, "\\\\", 2);
		else if (*p == '"')
			buf_put(b, "\\\"", 2);
		else if (*p == '\n')
			buf_put(b, "\\n", 2);
		else
			buf_put(b, p, 1);
	}
}

static void buf_html(struct stats_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_put(b, "&lt;", 4); break;
		case '>': buf_put(b, "&gt;", 4); break;
		case '&': buf_put(b, "&amp;", 5); break;
		case '"': buf_put(b, "&quot;", 6); break;
		case '\'': buf_put(b, "&#39;", 5); break;
		default: buf_put(b, s, 1);
		}
	}
}

/* ======================================================================
 * Prometheus rendering
 * ====================================================================== */

enum m_scope { M_PROCESS, M_FRONTEND, M_BACKEND, M_SERVER };

struct mctx {
	const struct config *conf;
	const struct runtime *rt;
	const struct proxy *px;
	const struct server *srv;
	uint64_t now_mono;
	double now_real;
};

/* A sample value: integer unless is_float. */
struct mval {
	int is_float;
	uint64_t u;
	double d;
};

/* Returns 0 when the object has no such value (no sample is written). */
typedef int (*m_get)(const struct mctx *m, struct mval *v);

struct metric {
	const char *name;
	const char *type;
	enum m_scope scope;
	m_get get;
	const char *help;
};

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define GETTER(fn, expr) \
	static int fn(const struct mctx *m, struct mval *v) { (void)m; v->u = (expr); return 1; }
#define GETTER_IF(fn, cond, expr) \
	static int fn(const struct mctx *m, struct mval *v) { v->u = (expr); return (cond); }

static unsigned process_maxconn(const struct mctx *m)
{
	return m->rt ? m->rt->maxconn : m->conf->global.maxconn;
}

static int get_start_time(const struct mctx *m, struct mval *v)
{
	(void)m;
	v->is_float = 1;
	v->d = start_real;
	return 1;
}

static int get_uptime(const struct mctx *m, struct mval *v)
{
	v->is_float = 1;
	v->d = (double)(m->now_mono - start_mono_ms) / 1000.0;
	return 1;
}

static uint64_t sum_frontend_conns(const struct config *conf)
{
	uint64_t n = 0;

	for (const struct proxy *px = conf->proxies; px; px = px->next)
		if ((px->cap & PX_CAP_FE) && !px->disabled)
			n += LOAD(px->ctr.cum_conn);
	return n;
}

GETTER(get_nbthread, m->rt ? m->rt->nworkers : m->conf->global.nbthread)
GETTER(get_maxconn, process_maxconn(m))
GETTER(get_actconn, m->rt ? LOAD(((struct runtime *)m->rt)->actconn) : 0)
GETTER(get_proc_conns, sum_frontend_conns(m->conf))
GETTER(get_build_info, 1)

/* Proxy counters: m->px is the frontend or backend. */
GETTER(get_px_up, !m->px->disabled)
GETTER(get_feconn, LOAD(((struct proxy *)m->px)->feconn))
GETTER(get_beconn, LOAD(((struct proxy *)m->px)->beconn))
GETTER(get_px_max, LOAD(((struct proxy *)m->px)->ctr.max_conn))
GETTER(get_fe_limit, m->px->maxconn ? m->px->maxconn : process_maxconn(m))
GETTER(get_px_sess, LOAD(((struct proxy *)m->px)->ctr.cum_sess))
GETTER(get_px_conn, LOAD(((struct proxy *)m->px)->ctr.cum_conn))
GETTER(get_px_bin, LOAD(((struct proxy *)m->px)->ctr.bytes_in))
GETTER(get_px_bout, LOAD(((struct proxy *)m->px)->ctr.bytes_out))
GETTER(get_px_denied, LOAD(((struct proxy *)m->px)->ctr.denied_conn))
GETTER(get_px_econ, LOAD(((struct proxy *)m->px)->ctr.failed_conns))
GETTER(get_px_retr, LOAD(((struct proxy *)m->px)->ctr.retries))
GETTER(get_px_redisp, LOAD(((struct proxy *)m->px)->ctr.redispatches))
GETTER(get_px_cli_abrt, LOAD(((struct proxy *)m->px)->ctr.cli_aborts))
GETTER(get_px_srv_abrt, LOAD(((struct proxy *)m->px)->ctr.srv_aborts))
GETTER(get_px_qcur, LOAD(((struct proxy *)m->px)->nbpend))

static int get_be_counts(const struct mctx *m, struct mval *v, int backup)
{
	unsigned act = 0, bck = 0;

	srv_count_usable(m->px, &act, &bck);
	v->u = backup ? bck : act;
	return 1;
}

static int get_be_act(const struct mctx *m, struct mval *v) { return get_be_counts(m, v, 0); }
static int get_be_bck(const struct mctx *m, struct mval *v) { return get_be_counts(m, v, 1); }

static int get_be_status(const struct mctx *m, struct mval *v)
{
	unsigned act = 0, bck = 0;

	srv_count_usable(m->px, &act, &bck);
	v->u = act + bck > 0;
	return 1;
}

/* HAProxy's backend weight: the sum of the effective weights of the
 * servers that balancing would use now. */
static int get_be_weight(const struct mctx *m, struct mval *v)
{
	unsigned act = 0, bck = 0, want_backup;

	srv_count_usable(m->px, &act, &bck);
	want_backup = !act;
	v->u = 0;
	for (const struct server *s = m->px->srv; s; s = s->next)
		if (srv_is_usable(s) && !!(s->flags & SRV_F_BACKUP) == want_backup)
			v->u += LOAD(((struct server *)s)->eweight) / SRV_EWEIGHT_SCALE;
	return 1;
}

#define SRV(m) ((struct server *)(m)->srv)
GETTER(get_srv_cur, LOAD(SRV(m)->cur_conns))
GETTER(get_srv_max, LOAD(SRV(m)->ctr.max_conn))
GETTER_IF(get_srv_limit, m->srv->maxconn != 0, m->srv->maxconn)
GETTER(get_srv_sess, LOAD(SRV(m)->ctr.cum_sess))
GETTER(get_srv_bin, LOAD(SRV(m)->ctr.bytes_in))
GETTER(get_srv_bout, LOAD(SRV(m)->ctr.bytes_out))
GETTER(get_srv_econ, LOAD(SRV(m)->ctr.failed_conns))
GETTER(get_srv_retr, LOAD(SRV(m)->ctr.retries))
GETTER(get_srv_redisp, LOAD(SRV(m)->ctr.redispatches))
GETTER(get_srv_qcur, LOAD(SRV(m)->nbpend))
GETTER_IF(get_srv_qlimit, m->srv->maxqueue != 0, m->srv->maxqueue)
GETTER(get_srv_weight, LOAD(SRV(m)->eweight) / SRV_EWEIGHT_SCALE)
GETTER_IF(get_srv_chkfail, m->srv->check != NULL, LOAD(SRV(m)->ctr.failed_checks))
GETTER_IF(get_srv_chkdown, m->srv->check != NULL, LOAD(SRV(m)->ctr.down_trans))

/* Finished DOWN periods plus the current one. */
static int get_srv_downtime(const struct mctx *m, struct mval *v)
{
	uint64_t ms = LOAD(SRV(m)->ctr.down_time_ms), since = LOAD(SRV(m)->last_change);

	if (LOAD(SRV(m)->state) != SRV_ST_UP && m->now_mono > since)
		ms += m->now_mono - since;
	v->u = ms / 1000;
	return 1;
}

static const struct metric metrics[] = {
	{ "haproxy_process_nbthread", "gauge", M_PROCESS, get_nbthread,
	  "Number of started threads (global.nbthread)." },
	{ "haproxy_process_start_time_seconds", "gauge", M_PROCESS, get_start_time,
	  "Start time in seconds since the Unix epoch." },
	{ "haproxy_process_uptime_seconds", "gauge", M_PROCESS, get_uptime,
	  "How long ago this worker process was started (seconds)." },
	{ "haproxy_process_max_connections", "gauge", M_PROCESS, get_maxconn,
	  "Maximum number of concurrent connections (global.maxconn)." },
	{ "haproxy_process_current_connections", "gauge", M_PROCESS, get_actconn,
	  "Number of active sessions." },
	{ "haproxy_process_connections_total", "counter", M_PROCESS, get_proc_conns,
	  "Total number of connections accepted by every frontend." },
	{ "haproxy_process_build_info", "gauge", M_PROCESS, get_build_info,
	  "Build info." },

	{ "haproxy_frontend_status", "gauge", M_FRONTEND, get_px_up,
	  "Current status of the service (1: open)." },
	{ "haproxy_frontend_current_sessions", "gauge", M_FRONTEND, get_feconn,
	  "Number of current sessions." },
	{ "haproxy_frontend_max_sessions", "gauge", M_FRONTEND, get_px_max,
	  "Maximum observed number of active sessions." },
	{ "haproxy_frontend_limit_sessions", "gauge", M_FRONTEND, get_fe_limit,
	  "Configured session limit." },
	{ "haproxy_frontend_sessions_total", "counter", M_FRONTEND, get_px_sess,
	  "Total number of sessions." },
	{ "haproxy_frontend_connections_total", "counter", M_FRONTEND, get_px_conn,
	  "Total number of connections." },
	{ "haproxy_frontend_bytes_in_total", "counter", M_FRONTEND, get_px_bin,
	  "Current total of incoming bytes." },
	{ "haproxy_frontend_bytes_out_total", "counter", M_FRONTEND, get_px_bout,
	  "Current total of outgoing bytes." },
	{ "haproxy_frontend_denied_connections_total", "counter", M_FRONTEND, get_px_denied,
	  "Total number of requests denied by \"tcp-request connection\" rules." },

	{ "haproxy_backend_status", "gauge", M_BACKEND, get_be_status,
	  "Current status of the service (1: up, at least one usable server)." },
	{ "haproxy_backend_current_sessions", "gauge", M_BACKEND, get_beconn,
	  "Number of current sessions." },
	{ "haproxy_backend_max_sessions", "gauge", M_BACKEND, get_px_max,
	  "Maximum observed number of active sessions." },
	{ "haproxy_backend_sessions_total", "counter", M_BACKEND, get_px_sess,
	  "Total number of sessions." },
	{ "haproxy_backend_bytes_in_total", "counter", M_BACKEND, get_px_bin,
	  "Current total of incoming bytes." },
	{ "haproxy_backend_bytes_out_total", "counter", M_BACKEND, get_px_bout,
	  "Current total of outgoing bytes." },
	{ "haproxy_backend_current_queue", "gauge", M_BACKEND, get_px_qcur,
	  "Current number of queued requests." },
	{ "haproxy_backend_connection_errors_total", "counter", M_BACKEND, get_px_econ,
	  "Total number of connection errors." },
	{ "haproxy_backend_retry_warnings_total", "counter", M_BACKEND, get_px_retr,
	  "Total number of retry warnings." },
	{ "haproxy_backend_redispatch_warnings_total", "counter", M_BACKEND, get_px_redisp,
	  "Total number of redispatch warnings." },
	{ "haproxy_backend_client_aborts_total", "counter", M_BACKEND, get_px_cli_abrt,
	  "Total number of data transfers aborted by the client." },
	{ "haproxy_backend_server_aborts_total", "counter", M_BACKEND, get_px_srv_abrt,
	  "Total number of data transfers aborted by the server." },
	{ "haproxy_backend_weight", "gauge", M_BACKEND, get_be_weight,
	  "Service weight (sum of the effective weights of the servers in use)." },
	{ "haproxy_backend_active_servers", "gauge", M_BACKEND, get_be_act,
	  "Current number of active servers." },
	{ "haproxy_backend_backup_servers", "gauge", M_BACKEND, get_be_bck,
	  "Current number of backup servers." },

	{ "haproxy_server_status", "gauge", M_SERVER, NULL,
	  "Current status of the service, per state label value." },
	{ "haproxy_server_current_sessions", "gauge", M_SERVER, get_srv_cur,
	  "Number of current sessions." },
	{ "haproxy_server_max_sessions", "gauge", M_SERVER, get_srv_max,
	  "Maximum observed number of active sessions." },
	{ "haproxy_server_limit_sessions", "gauge", M_SERVER, get_srv_limit,
	  "Configured session limit (servers with a maxconn)." },
	{ "haproxy_server_sessions_total", "counter", M_SERVER, get_srv_sess,
	  "Total number of sessions." },
	{ "haproxy_server_bytes_in_total", "counter", M_SERVER, get_srv_bin,
	  "Current total of incoming bytes." },
	{ "haproxy_server_bytes_out_total", "counter", M_SERVER, get_srv_bout,
	  "Current total of outgoing bytes." },
	{ "haproxy_server_current_queue", "gauge", M_SERVER, get_srv_qcur,
	  "Current number of queued requests." },
	{ "haproxy_server_queue_limit", "gauge", M_SERVER, get_srv_qlimit,
	  "Configured maxqueue for the server (servers with a maxqueue)." },
	{ "haproxy_server_connection_errors_total", "counter", M_SERVER, get_srv_econ,
	  "Total number of connection errors." },
	{ "haproxy_server_retry_warnings_total", "counter", M_SERVER, get_srv_retr,
	  "Total number of retry warnings." },
	{ "haproxy_server_redispatch_warnings_total", "counter", M_SERVER, get_srv_redisp,
	  "Total number of redispatch warnings." },
	{ "haproxy_server_weight", "gauge", M_SERVER, get_srv_weight,
	  "Service weight." },
	{ "haproxy_server_check_failures_total", "counter", M_SERVER, get_srv_chkfail,
	  "Total number of failed checks (servers with a check)." },
	{ "haproxy_server_check_up_down_total", "counter", M_SERVER, get_srv_chkdown,
	  "Total number of UP->DOWN transitions (servers with a check)." },
	{ "haproxy_server_downtime_seconds_total", "counter", M_SERVER, get_srv_downtime,
	  "Total downtime (in seconds) for the service." },
};

/* HAProxy's server state label values. */
static const char *const srv_states[] = { "DOWN", "UP", "MAINT", "DRAIN", "NOLB" };

static const char *srv_state_name(const struct server *s)
{
	unsigned admin = LOAD(((struct server *)s)->admin);

	if (admin & SRV_ADMF_ANY_MAINT)
		return "MAINT";
	if (LOAD(((struct server *)s)->state) != SRV_ST_UP)
		return "DOWN";
	if (admin & SRV_ADMF_ANY_DRAIN)
		return "DRAIN";
	if (!LOAD(((struct server *)s)->cur_weight))
		return "NOLB";
	return "UP";
}

static void put_labels(struct stats_buf *b, const struct mctx *m)
{
	if (!m->px)
		return;
	buf_put(b, "{proxy=\"", 8);
	stats_buf_label(b, m->px->name);
	if (m->srv) {
		buf_put(b, "\",server=\"", 10);
		stats_buf_label(b, m->srv->name);
	}
	buf_put(b, "\"", 1);
}

static void put_sample(struct stats_buf *b, const struct metric *mt, const struct mctx *m)
{
	struct mval v = { 0 };

	if (!mt->get(m, &v))
		return;
	stats_buf_printf(b, "%s", mt->name);
	if (mt->scope == M_PROCESS && mt->get == get_build_info)
		stats_buf_printf(b, "{version=\"%s\"", SLUICE_VERSION);
	else
		put_labels(b, m);
	if (m->px || mt->get == get_build_info)
		buf_put(b, "}", 1);
	if (v.is_float)
		stats_buf_printf(b, " %.3f\n", v.d);
	else
		stats_buf_printf(b, " %llu\n", (unsigned long long)v.u);
}

static void put_server_status(struct stats_buf *b, const struct metric *mt, const struct mctx *m)
{
	const char *cur = srv_state_name(m->srv);

	for (size_t i = 0; i < CFG_ARRAY_SIZE(srv_states); i++) {
		stats_buf_printf(b, "%s", mt->name);
		put_labels(b, m);
		stats_buf_printf(b, ",state=\"%s\"} %d\n", srv_states[i],
				 !strcmp(cur, srv_states[i]));
	}
}

/* Every sample of one metric: a family's samples must be contiguous. */
static void put_family(struct stats_buf *b, const struct metric *mt, struct mctx *m)
{
	stats_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
	if (mt->scope == M_PROCESS) {
		m->px = NULL;
		m->srv = NULL;
		put_sample(b, mt, m);
		return;
	}
	for (m->px = m->conf->proxies; m->px; m->px = m->px->next) {
		unsigned need = mt->scope == M_FRONTEND ? PX_CAP_FE : PX_CAP_BE;

		if (!(m->px->cap & need) || m->px->disabled)
			continue;
		m->srv = NULL;
		if (mt->scope != M_SERVER) {
			put_sample(b, mt, m);
			continue;
		}
		for (m->srv = m->px->srv; m->srv; m->srv = m->srv->next) {
			if (mt->get)
				put_sample(b, mt, m);
			else
				put_server_status(b, mt, m);
		}
	}
}

int stats_render_prometheus(struct stats_buf *b, const struct config *conf,
			    const struct runtime *rt)
{
	struct mctx m = { .conf = conf, .rt = rt, .now_mono = clock_mono_ms() };

	for (size_t i = 0; i < CFG_ARRAY_SIZE(metrics); i++)
		put_family(b, &metrics[i], &m);
	return b->failed ? -1 : 0;
}

/* ======================================================================
 * HTML rendering
 * ====================================================================== */

static const char html_style[] =
	"<style>body{font-family:sans-serif;font-size:13px}"
	"table{border-collapse:collapse;margin-bottom:1.5em}"
	"th,td{border:1px solid #999;padding:2px 6px;text-align:right}"
	"th{background:#ddd}td.n{text-align:left}"
	"tr.fe,tr.be{background:#e8e8d0;font-weight:bold}"
	"tr.up{background:#c0ffc0}tr.down{background:#ff9090}"
	"tr.maint{background:#c07820}tr.drain{background:#20a0ff}</style>";

static const char html_columns[] =
	"<tr><th>Name</th><th>Status</th><th>Cur</th><th>Max</th><th>Limit</th>"
	"<th>Total</th><th>Bytes in</th><th>Bytes out</th><th>Denied</th>"
	"<th>Errors</th><th>Queue</th><th>Weight</th><th>Check</th></tr>\n";

static void html_head(struct stats_buf *b, const struct config *conf,
		      const struct runtime *rt, const struct stats_conf *sc)
{
	uint64_t up = (clock_mono_ms() - start_mono_ms) / 1000;

	stats_buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			 "<title>Statistics Report for sluice</title>");
	if (sc->refresh_ms)
		stats_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">",
				 (sc->refresh_ms + 999) / 1000);
	stats_buf_printf(b, "%s</head><body>\n<h1>sluice statistics</h1>\n<p>", html_style);
	if (!(sc->flags & STATS_F_HIDE_VERSION))
		stats_buf_printf(b, "version %s, ", SLUICE_VERSION);
	stats_buf_printf(b, "pid %d, uptime %llud %02lluh%02llum%02llus, threads %u, "
			 "current connections %u, maxconn %u</p>\n", (int)getpid(),
			 (unsigned long long)(up / 86400), (unsigned long long)(up / 3600 % 24),
			 (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60),
			 rt ? rt->nworkers : conf->global.nbthread,
			 rt ? LOAD(((struct runtime *)rt)->actconn) : 0,
			 rt ? rt->maxconn : conf->global.maxconn);
}

/* Columns Cur .. Errors shared by every row kind. */
static void html_counts(struct stats_buf *b, unsigned cur, unsigned max, unsigned limit,
			uint64_t total, uint64_t bin, uint64_t bout, const char *denied,
			const char *errors)
{
	if (limit)
		stats_buf_printf(b, "<td>%u</td><td>%u</td><td>%u</td>", cur, max, limit);
	else
		stats_buf_printf(b, "<td>%u</td><td>%u</td><td></td>", cur, max);
	stats_buf_printf(b, "<td>%llu</td><td>%llu</td><td>%llu</td><td>%s</td><td>%s</td>",
			 (unsigned long long)total, (unsigned long long)bin,
			 (unsigned long long)bout, denied, errors);
}

static void html_frontend(struct stats_buf *b, const struct proxy *px, unsigned gmax)
{
	char denied[24];
	struct proxy *p = (struct proxy *)px;

	snprintf(denied, sizeof(denied), "%llu", (unsigned long long)LOAD(p->ctr.denied_conn));
	stats_buf_printf(b, "<tr class=\"fe\"><td class=\"n\">Frontend</td><td>%s</td>",
			 px->disabled ? "STOP" : "OPEN");
	html_counts(b, LOAD(p->feconn), LOAD(p->ctr.max_conn), px->maxconn ? px->maxconn : gmax,
		    LOAD(p->ctr.cum_sess), LOAD(p->ctr.bytes_in), LOAD(p->ctr.bytes_out),
		    denied, "");
	stats_buf_printf(b, "<td></td><td></td><td></td></tr>\n");
}

static void html_check(struct stats_buf *b, const struct server *s)
{
	struct check_report rep;

	if (check_get_report(s, 0, &rep) < 0) {
		stats_buf_printf(b, "<td class=\"n\">no check</td>");
		return;
	}
	stats_buf_printf(b, "<td class=\"n\">%s", check_code_name(rep.code));
	if (rep.duration_ms >= 0)
		stats_buf_printf(b, " in %dms", rep.duration_ms);
	if (rep.info[0]) {
		stats_buf_printf(b, ": ");
		buf_html(b, rep.info);
	}
	stats_buf_printf(b, "</td>");
}

static void html_server(struct stats_buf *b, const struct server *s)
{
	struct server *sv = (struct server *)s;
	char state[64], errors[24], *cls;
	const char *name = srv_state_name(s);

	check_state_str(s, state, sizeof(state));
	cls = !strcmp(name, "UP") ? "up" : !strcmp(name, "DOWN") ? "down" :
	      !strcmp(name, "MAINT") ? "maint" : "drain";
	snprintf(errors, sizeof(errors), "%llu", (unsigned long long)LOAD(sv->ctr.failed_conns));
	stats_buf_printf(b, "<tr class=\"%s\"><td class=\"n\">", cls);
	buf_html(b, s->name);
	stats_buf_printf(b, "%s</td><td>", s->flags & SRV_F_BACKUP ? " (backup)" : "");
	buf_html(b, state);
	stats_buf_printf(b, "</td>");
	html_counts(b, LOAD(sv->cur_conns), LOAD(sv->ctr.max_conn), s->maxconn,
		    LOAD(sv->ctr.cum_sess), LOAD(sv->ctr.bytes_in), LOAD(sv->ctr.bytes_out),
		    "", errors);
	stats_buf_printf(b, "<td>%u</td><td>%u</td>", LOAD(sv->nbpend),
			 LOAD(sv->eweight) / SRV_EWEIGHT_SCALE);
	html_check(b, s);
	stats_buf_printf(b, "</tr>\n");
}

static void html_backend(struct stats_buf *b, const struct proxy *px)
{
	struct proxy *p = (struct proxy *)px;
	struct mctx m = { .px = px };
	struct mval w = { 0 }, st = { 0 };
	char errors[24];

	for (const struct server *s = px->srv; s; s = s->next)
		html_server(b, s);
	get_be_weight(&m, &w);
	get_be_status(&m, &st);
	snprintf(errors, sizeof(errors), "%llu", (unsigned long long)LOAD(p->ctr.failed_conns));
	stats_buf_printf(b, "<tr class=\"be\"><td class=\"n\">Backend</td><td>%s</td>",
			 st.u ? "UP" : "DOWN");
	html_counts(b, LOAD(p->beconn), LOAD(p->ctr.max_conn), 0, LOAD(p->ctr.cum_sess),
		    LOAD(p->ctr.bytes_in), LOAD(p->ctr.bytes_out), "", errors);
	stats_buf_printf(b, "<td>%u</td><td>%llu</td><td></td></tr>\n", LOAD(p->nbpend),
			 (unsigned long long)w.u);
}

static void html_legends(struct stats_buf *b)
{
	stats_buf_printf(b, "<h3>Legend</h3><ul>"
		"<li>Cur / Max / Limit: current, highest seen and allowed concurrent sessions</li>"
		"<li>Total: sessions since start; Bytes in: client to server; Bytes out: server to client</li>"
		"<li>Denied: connections refused by tcp-request rules; Errors: failed connections to servers</li>"
		"<li>Status: UP, DOWN, going up or down (\"UP 1/3\"), DRAIN, MAINT, NOLB (weight 0)</li>"
		"<li>Check: last health check result (L4OK, L4CON, L7RSP, ...) and its duration</li>"
		"</ul>\n");
}

int stats_render_html(struct stats_buf *b, const struct config *conf,
		      const struct runtime *rt, const struct proxy *fe)
{
	unsigned gmax = rt ? rt->maxconn : conf->global.maxconn;

	html_head(b, conf, rt, &fe->stats);
	for (const struct proxy *px = conf->proxies; px; px = px->next) {
		if (px->disabled)
			continue;
		stats_buf_printf(b, "<h2>%s ", proxy_cap_str(px->cap));
		buf_html(b, px->name);
		stats_buf_printf(b, "</h2>\n<table>\n%s", html_columns);
		if (px->cap & PX_CAP_FE)
			html_frontend(b, px, gmax);
		if (px->cap & PX_CAP_BE)
			html_backend(b, px);
		stats_buf_printf(b, "</table>\n");
	}
	if (fe->stats.flags & STATS_F_LEGENDS)
		html_legends(b);
	stats_buf_printf(b, "</body></html>\n");
	return b->failed ? -1 : 0;
}

/* ======================================================================
 * Configuration
 * ====================================================================== */

/* A proxy's first stats keyword: start from its defaults section's
 * settings (proxy_new() does not know about them). */
static struct stats_conf *stats_conf_of(struct cfg_ctx *ctx)
{
	struct stats_conf *sc = &ctx->px->stats;

	if (!sc->seen && ctx->defpx && ctx->defpx != ctx->px && ctx->defpx->stats.seen)
		*sc = ctx->defpx->stats;
	sc->seen = 1;
	return sc;
}

static int stats_set_uri(struct cfg_ctx *ctx, struct stats_conf *sc, int argc, char **args)
{
	if (argc != 3 || args[2][0] != '/')
		return cfg_err(ctx, "'stats uri' expects one path starting with '/'");
	if (strlen(args[2]) >= STATS_URI_MAX)
		return cfg_err(ctx, "'stats uri': path longer than %d characters",
			       STATS_URI_MAX - 1);
	strcpy(sc->uri, args[2]);
	return 0;
}

static int stats_set_refresh(struct cfg_ctx *ctx, struct stats_conf *sc, int argc, char **args)
{
	if (argc != 3 || cfg_parse_time(args[2], &sc->refresh_ms) < 0)
		return cfg_err(ctx, "'stats refresh' expects a delay like 10s, got '%s'",
			       argc > 2 ? args[2] : "");
	return 0;
}

static int stats_apply(struct cfg_ctx *ctx, struct stats_conf *sc, int argc, char **args)
{
	const char *sub = args[1];

	if (!strcmp(sub, "uri"))
		return stats_set_uri(ctx, sc, argc, args);
	if (!strcmp(sub, "refresh"))
		return stats_set_refresh(ctx, sc, argc, args);
	if (argc != 2)
		return cfg_err(ctx, "'stats %s' takes no argument", sub);
	if (!strcmp(sub, "show-legends"))
		sc->flags |= STATS_F_LEGENDS;
	else if (!strcmp(sub, "hide-version"))
		sc->flags |= STATS_F_HIDE_VERSION;
	return 0;	/* "enable" */
}

static int is_known_sub(const char *sub)
{
	static const char *const known[] = { "enable", "uri", "refresh", "show-legends",
					     "hide-version" };

	for (size_t i = 0; i < CFG_ARRAY_SIZE(known); i++)
		if (!strcmp(sub, known[i]))
			return 1;
	return 0;
}

/* "stats SUB ...": in a frontend or listen, any supported sub-keyword
 * enables stats, as in HAProxy. In defaults they are settings for the
 * frontends that enable stats, except "stats enable" itself: sluice's
 * stats frontends serve nothing else, so every frontend would stop
 * proxying. */
static int kw_stats(struct cfg_ctx *ctx, int argc, char **args)
{
	struct stats_conf *sc;

	if (argc < 2)
		return cfg_err(ctx, "'stats' expects a sub-keyword (enable, uri, refresh, "
			       "show-legends, hide-version)");
	if (!is_known_sub(args[1]))
		return cfg_err(ctx, "'stats %s' is not implemented (sluice supports stats "
			       "enable, uri, refresh, show-legends, hide-version)", args[1]);
	if (ctx->section == CFG_BACKEND)
		return cfg_err(ctx, "'stats %s': stats are served by a frontend or listen "
			       "section in sluice, not by a backend", args[1]);
	if (ctx->section == CFG_DEFAULTS && !strcmp(args[1], "enable"))
		return cfg_err(ctx, "'stats enable' in a defaults section would make every "
			       "frontend serve only statistics: write it in the frontend or "
			       "listen section that serves them");
	sc = stats_conf_of(ctx);
	if (stats_apply(ctx, sc, argc, args) < 0)
		return -1;
	if (ctx->section != CFG_DEFAULTS && !sc->enabled) {
		sc->enabled = 1;
		sc->conf_file = ctx->file;
		sc->conf_line = ctx->line;
	}
	return 0;
}

/* A stats frontend serves only stats: anything that would route its
 * connections elsewhere is a mistake worth stopping for. */
static int check_stats_frontend(struct proxy *px)
{
	const char *f = px->stats.conf_file;
	int l = px->stats.conf_line, errors = 0;

	if (!px->stats.uri[0])
		strcpy(px->stats.uri, STATS_DEFAULT_URI);
	if (px->mode != PX_MODE_TCP) {
		cfg_err_at(f, l, "%s '%s': stats need 'mode tcp'", proxy_cap_str(px->cap), px->name);
		errors++;
	}
	if (px->default_backend_name || !list_empty(&px->rules.use_backend)) {
		cfg_err_at(f, l, "%s '%s': a stats frontend serves only statistics; remove its "
			   "default_backend/use_backend or move stats to a frontend of its own",
			   proxy_cap_str(px->cap), px->name);
		errors++;
	}
	if (px->srv) {
		cfg_err_at(f, l, "listen '%s': a stats section serves only statistics; move its "
			   "'server' lines to a backend", px->name);
		errors++;
	}
	for (int i = 0; i < TCP_RULES_NSETS; i++) {
		if (list_empty(&px->rules.sets[i]))
			continue;
		cfg_err_at(f, l, "%s '%s': tcp-request/tcp-response rules are not implemented "
			   "on a stats frontend", proxy_cap_str(px->cap), px->name);
		errors++;
		break;
	}
	return errors;
}

static int stats_postparse(struct config *conf)
{
	int errors = 0;

	for (struct proxy *px = conf->proxies; px; px = px->next)
		if ((px->cap & PX_CAP_FE) && px->stats.enabled)
			errors += check_stats_frontend(px);
	return errors;
}

static struct cfg_kw_list stats_kws = {
	.kws = (const struct cfg_kw[]){
		{ "stats", CFG_PROXIES, kw_stats, 0 },
		{ NULL },
	}
};

static struct cfg_postparser stats_pp = {
	.name = "stats",
	.fn = stats_postparse,
};

__attribute__((constructor)) static void stats_init(void)
{
	cfg_register(&stats_kws);
	cfg_register_postparser(&stats_pp);
}

/* ======================================================================
 * Connections
 * ====================================================================== */

enum sc_state { SC_READ, SC_WRITE, SC_LINGER };

struct stats_conn {
	struct io io;
	struct timer timer;
	struct list node;		/* in conns[w->id] */
	struct worker *w;
	struct bind_conf *bc;
	enum sc_state state;
	unsigned timeout_ms;
	size_t in_len;
	struct stats_buf out;
	size_t out_pos;
	char in[STATS_HEAD_MAX];
};

/* Each worker touches only its own list. */
static struct list conns[MAX_THREADS];

static struct list *worker_conns(struct worker *w)
{
	struct list *l = &conns[w->id % MAX_THREADS];

	if (!l->next)
		list_init(l);
	return l;
}

int stats_frontend(const struct proxy *fe)
{
	return fe->stats.enabled;
}

static void sc_close(struct stats_conn *c)
{
	struct worker *w = c->w;
	struct proxy *fe = c->bc->fe;

	atomic_fetch_add_explicit(&fe->ctr.bytes_in, c->in_len, memory_order_relaxed);
	atomic_fetch_add_explicit(&fe->ctr.bytes_out, c->out_pos, memory_order_relaxed);
	timer_disarm(&w->loop.timers, &c->timer);
	loop_forget(&w->loop, &c->io);
	close(c->io.fd);
	list_del(&c->node);
	stats_buf_free(&c->out);
	listener_conn_closed(w, c->bc);
	free(c);
}

static const char *status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* The whole answer into c->out: head, then body unless HEAD. */
static void sc_respond(struct stats_conn *c, int code, const char *ctype,
		       struct stats_buf *body, int head_only)
{
	stats_buf_free(&c->out);
	stats_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-cache\r\n%s"
			 "Connection: close\r\n\r\n", code, status_text(code), ctype,
			 body->len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only && body->len)
		buf_put(&c->out, body->data, body->len);
	c->out_pos = 0;
	c->state = SC_WRITE;
}

static void sc_error(struct stats_conn *c, int code)
{
	struct stats_buf body = { 0 };

	stats_buf_printf(&body, "%d %s\n", code, status_text(code));
	sc_respond(c, code, "text/plain", &body, 0);
	stats_buf_free(&body);
}

static void sc_answer(struct stats_conn *c, const struct stats_req *req)
{
	struct proxy *fe = c->bc->fe;
	struct stats_buf body = { 0 };
	enum stats_page page = stats_route(req, fe->stats.uri);
	const char *ctype;
	int rc;

	if (req->method == STATS_M_OTHER)
		return sc_error(c, 405);
	if (page == STATS_PAGE_NOT_FOUND)
		return sc_error(c, 404);
	if (page == STATS_PAGE_METRICS) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		rc = stats_render_prometheus(&body, c->w->conf, c->w->rt);
	} else {
		ctype = "text/html; charset=utf-8";
		rc = stats_render_html(&body, c->w->conf, c->w->rt, fe);
	}
	if (rc < 0) {
		stats_buf_free(&body);
		return sc_error(c, 500);
	}
	sc_respond(c, 200, ctype, &body, req->method == STATS_M_HEAD);
	stats_buf_free(&body);
}

/* Read what the head needs; returns -1 when the connection is gone. */
static int sc_read(struct stats_conn *c)
{
	struct stats_req req;
	enum stats_parse r;
	ssize_t n;

	for (;;) {
		n = read(c->io.fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;	/* closed or failed before a full head */
		c->in_len += (size_t)n;
		timer_arm(&c->w->loop.timers, &c->timer, c->w->loop.now_ms + c->timeout_ms);
		r = stats_parse_request(c->in, c->in_len, sizeof(c->in), &req);
		if (r == STATS_P_MORE)
			continue;
		if (r == STATS_P_OK)
			sc_answer(c, &req);
		else
			sc_error(c, r == STATS_P_VERSION ? 505 : 400);
		return 0;
	}
}

static int sc_write(struct stats_conn *c)
{
	while (c->out_pos < c->out.len) {
		ssize_t n = send(c->io.fd, c->out.data + c->out_pos, c->out.len - c->out_pos,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		c->out_pos += (size_t)n;
		timer_arm(&c->w->loop.timers, &c->timer, c->w->loop.now_ms + c->timeout_ms);
	}
	shutdown(c->io.fd, SHUT_WR);
	c->state = SC_LINGER;
	timer_arm(&c->w->loop.timers, &c->timer, c->w->loop.now_ms + STATS_LINGER_MS);
	return 0;
}

/* After our FIN: discard what the client still sends until its own FIN. */
static int sc_linger(struct stats_conn *c)
{
	char sink[1024];
	ssize_t n;

	while ((n = read(c->io.fd, sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR))
		;
	return n < 0 && errno == EAGAIN ? 0 : -1;
}

static void sc_io_cb(struct io *io, uint32_t ev)
{
	struct stats_conn *c = container_of(io, struct stats_conn, io);
	int rc = 0;

	(void)ev;
	if (c->state == SC_READ)
		rc = sc_read(c);
	if (!rc && c->state == SC_WRITE)
		rc = sc_write(c);
	if (!rc && c->state == SC_LINGER)
		rc = sc_linger(c);
	if (rc < 0)
		sc_close(c);
}

/* Timeout: an incomplete request gets 408; anything else just closes. */
static void sc_timer_cb(struct timer *t)
{
	struct stats_conn *c = container_of(t, struct stats_conn, timer);

	if (c->state != SC_READ) {
		sc_close(c);
		return;
	}
	sc_error(c, 408);
	if (sc_write(c) < 0)
		sc_close(c);
	else if (c->state == SC_WRITE)
		timer_arm(&c->w->loop.timers, &c->timer, c->w->loop.now_ms + c->timeout_ms);
}

static void update_max_conn(struct proxy *fe)
{
	unsigned cur = atomic_load(&fe->feconn), max = atomic_load(&fe->ctr.max_conn);

	while (cur > max && !atomic_compare_exchange_weak(&fe->ctr.max_conn, &max, cur))
		;
}

void stats_accept(struct worker *w, struct bind_conf *bc, int fd,
		  const union sockaddr_any *addr, socklen_t alen)
{
	struct proxy *fe = bc->fe;
	struct stats_conn *c = malloc(sizeof(*c));

	(void)addr;
	(void)alen;
	if (!c) {
		close(fd);
		listener_conn_closed(w, bc);
		return;
	}
	memset(c, 0, offsetof(struct stats_conn, in));
	c->w = w;
	c->bc = bc;
	c->io.fd = fd;
	c->io.cb = sc_io_cb;
	c->timeout_ms = fe->to.client ? fe->to.client : STATS_DEFAULT_TIMEOUT_MS;
	timer_init(&c->timer, sc_timer_cb);
	list_add_tail(worker_conns(w), &c->node);
	atomic_fetch_add_explicit(&fe->ctr.cum_conn, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fe->ctr.cum_sess, 1, memory_order_relaxed);
	update_max_conn(fe);
	timer_arm(&w->loop.timers, &c->timer, w->loop.now_ms + c->timeout_ms);
	/* Edge-triggered registration reports what is already readable. */
	if (loop_add(&w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0)
		sc_close(c);
}

void stats_worker_stop(struct worker *w)
{
	struct list *l = worker_conns(w), *pos, *tmp;

	list_for_each_safe(pos, tmp, l)
		sc_close(list_entry(pos, struct stats_conn, node));
}
