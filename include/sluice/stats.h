/* stats.h - the statistics listener: an HTML page and Prometheus metrics.
 *
 * Owns: the "stats" proxy keywords (enable, uri, refresh, show-legends,
 * hide-version; the others are refused), the connections accepted on a
 * frontend that has stats enabled (such a frontend serves only stats:
 * listener.c hands them to stats_accept() instead of session_accept()),
 * the parser of their HTTP/1.x request line, and the rendering of every
 * proxy's counters as HTML and as Prometheus text (format 0.0.4, HAProxy's
 * exporter metric names).
 * Threading: a stats connection lives on the worker that accepted it, like
 * a session; rendering only reads atomics and read-only configuration.
 * This is not the data path: connections and their output are malloc'd.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stddef.h>
#include <sys/socket.h>

#define STATS_URI_MAX		256	/* "stats uri" length, with the NUL */
#define STATS_DEFAULT_URI	"/haproxy?stats"
#define STATS_METRICS_PATH	"/metrics"
#define STATS_HEAD_MAX		8192	/* request head (line + headers) */

/* stats_conf.flags */
#define STATS_F_LEGENDS		0x01	/* "stats show-legends" */
#define STATS_F_HIDE_VERSION	0x02	/* "stats hide-version" */

/* A proxy's "stats" settings (struct proxy's stats field). In a defaults
 * section they are settings only: a frontend that enables stats starts
 * from them. */
struct stats_conf {
	int enabled;			/* frontend/listen: serve only stats */
	int seen;			/* a stats keyword set something here */
	unsigned refresh_ms;		/* "stats refresh", 0: none */
	unsigned flags;			/* STATS_F_* */
	char uri[STATS_URI_MAX];	/* "" until set: STATS_DEFAULT_URI */
	const char *conf_file;		/* where stats was enabled */
	int conf_line;
};

/* ---- request line parser (pure, unit-tested, fuzzed) ---- */
enum stats_method { STATS_M_OTHER = 0, STATS_M_GET, STATS_M_HEAD };

enum stats_parse {
	STATS_P_MORE = 0,	/* the head is not complete yet */
	STATS_P_OK,		/* a complete, well-formed head */
	STATS_P_BAD,		/* malformed: answer 400 */
	STATS_P_TOO_BIG,	/* no end of head within max bytes: answer 400 */
	STATS_P_VERSION,	/* not HTTP/1.x: answer 505 */
};

struct stats_req {
	enum stats_method method;
	const char *target;	/* points into the buffer, not NUL-terminated */
	size_t target_len;
	int minor;		/* HTTP/1.<minor> */
	size_t head_len;	/* bytes up to and including the empty line */
};

/* Parse an HTTP/1.x request head held in buf[0..len): request line, then
 * headers (not interpreted) up to the empty line. Leading empty lines are
 * skipped; lines may end in CRLF or LF. Never reads past len. */
enum stats_parse stats_parse_request(const char *buf, size_t len, size_t max,
				     struct stats_req *req);

enum stats_page { STATS_PAGE_NOT_FOUND = 0, STATS_PAGE_HTML, STATS_PAGE_METRICS };
/* Which page a parsed request asks for: the stats uri (exactly, or followed
 * by a query: '?' after a path, ';' or '&' after a uri that has a '?')
 * gives the HTML page; the path /metrics (any query) the Prometheus text. */
enum stats_page stats_route(const struct stats_req *req, const char *uri);

/* ---- rendering ---- */

/* A growable output buffer; failed is set once an allocation failed (the
 * contents are then incomplete and must not be sent). */
struct stats_buf {
	char *data;
	size_t len, size;
	int failed;
};
void stats_buf_printf(struct stats_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void stats_buf_free(struct stats_buf *b);

struct config;
struct runtime;
struct proxy;
/* Every enabled proxy's counters. rt may be NULL (no workers: process
 * values then come from the configuration). Return 0, or -1 if b failed. */
int stats_render_prometheus(struct stats_buf *b, const struct config *conf,
			    const struct runtime *rt);
/* fe is the stats frontend (its refresh, legends and hide-version). */
int stats_render_html(struct stats_buf *b, const struct config *conf,
		      const struct runtime *rt, const struct proxy *fe);
/* Prometheus label value escaping: backslash, double quote, newline. */
void stats_buf_label(struct stats_buf *b, const char *value);

/* ---- runtime ---- */
struct worker;
struct bind_conf;
union sockaddr_any;
/* A frontend serves stats (listener.c asks at accept). */
int stats_frontend(const struct proxy *fe);
/* Accept path of a stats frontend, on worker w. Takes ownership of fd and
 * of the slots listener.c took (given back with listener_conn_closed). */
void stats_accept(struct worker *w, struct bind_conf *bc, int fd,
		  const union sockaddr_any *addr, socklen_t alen);
/* Close w's stats connections (the worker stops; they are short-lived and
 * the worker does not wait for them). */
void stats_worker_stop(struct worker *w);

#endif
