/* check_io.c - running health and agent checks on the workers.
 *
 * Owns the runs of checks: each check belongs to one worker, which times
 * it with one timer (the next run while idle, the deadline while running),
 * opens a non-blocking connection on its event loop, speaks PROXY and TLS
 * when asked, runs the backend's tcp-check rules (tcpcheck.h judges what
 * comes back) or reads an agent's reply (the health check of a UDP server
 * runs in check_udp.c instead), and turns the result into health
 * (check.c's pure rules) and server state (server_state.c). Runs hold no
 * memory between them: a run's state and its buffers live only while it
 * runs, so thousands of idle checks cost a struct check each.
 * Threading: a check's run, timer and health are its worker's; other
 * threads reach it with worker_call() (observe layer4, the runtime API).
 * A call that arrives after the worker's loop ended (runtime_free() runs it
 * on the main thread) does nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sluice/addr.h>
#include <sluice/check.h>
#include <sluice/check_udp.h>
#include <sluice/global.h>
#include <sluice/log.h>
#include <sluice/loop.h>
#include <sluice/privs.h>
#include <sluice/proxy.h>
#include <sluice/proxy_proto.h>
#include <sluice/server.h>
#include <sluice/tcpcheck.h>
#include <sluice/worker.h>

enum run_phase {
	PH_CONNECTING,	/* waiting for the TCP connection */
	PH_PROXY,	/* writing the PROXY header, before TLS */
	PH_TLS,		/* TLS handshake */
	PH_RULES,	/* tcp-check rules, or the agent's exchange */
};

struct check_run {
	struct io io;			/* fd -1 between connections */
	struct check *c;
	SSL *ssl;
	enum run_phase phase;
	unsigned rule;			/* index of the next tcp-check rule */
	unsigned conn_step;		/* 1-based step of the connect rule, 0: implicit */
	uint64_t deadline;
	unsigned readable:1, writable:1, eof:1;	/* edge-triggered: remembered */
	unsigned linger:1, tls:1, tls_used:1, sending:1, had_expect:1, agent_sent:1;
	int pp_version;			/* PROXY header to send first, 0: none */
	const char *sni;
	enum check_code ok_code;	/* of the last expect that matched */
	char ok_info[128];		/* and its note */
	const uint8_t *out;		/* being written */
	size_t outlen, outpos;
	uint8_t *outbuf;		/* owned memory behind out (send-lf) */
	uint8_t *in;			/* received, allocated by the first read */
	size_t inlen;
	uint8_t pp[PP_V2_HDR_LEN];
};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t chk_now(const struct check *c)
{
	return c->w->loop.now_ms;
}

static struct timer_wheel *chk_wheel(struct check *c)
{
	return &c->w->loop.timers;
}

static size_t chk_bufsize(const struct check *c)
{
	unsigned sz = c->w->conf->global.bufsize;

	return sz ? sz : 16384;
}

static int chk_is_agent(const struct check *c)
{
	return c->kind == CHK_CF_AGENT;
}

/* A run is in progress, TCP (run) or UDP (udp_run). */
static int chk_busy(const struct check *c)
{
	return c->run || c->udp_run;
}

static uint32_t chk_rand(void)
{
	static _Thread_local uint32_t x;

	if (!x)
		x = ((uint32_t)clock_mono_ms() * 2654435761u) ^ (uint32_t)(uintptr_t)&x ^ 1u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* The run's time budget: agent-inter for agents, inter for health checks. */
static unsigned chk_budget(const struct check *c)
{
	const struct check_conf *k = &c->srv->chk;

	if (chk_is_agent(c))
		return k->agent_inter ? k->agent_inter : k->inter;
	return k->inter;
}

/* Calls fn on each check (health and agent) of every backend. */
static void for_each_check(struct config *conf, void (*fn)(struct check *, void *), void *arg)
{
	struct server *s;
	struct proxy *px;

	for (px = conf->proxies; px; px = px->next) {
		if (!(px->cap & PX_CAP_BE))
			continue;
		for (s = px->srv; s; s = s->next) {
			if (s->check)
				fn(s->check, arg);
			if (s->agent)
				fn(s->agent, arg);
		}
	}
}

/* ---- results ------------------------------------------------------------------ */

static void report_set(struct check *c, enum check_code code, const char *info, int duration)
{
	c->rep.code = code;
	snprintf(c->rep.info, sizeof(c->rep.info), "%s", info ? info : "");
	c->rep.duration_ms = duration;
}

/* "option log-health-checks": HAProxy's line for a result that moved
 * health or changed the status. */
static void log_result(struct check *c, int ok, const struct srv_why *why, const char *status)
{
	const struct server *s = c->srv;
	char info[sizeof(c->rep.info) + 16] = "", dur[32] = "";

	if (!(s->px->options & PX_O_LOG_HEALTH))
		return;
	if (why->info)
		snprintf(info, sizeof(info), ", info: \"%s\"", why->info);
	if (why->duration_ms >= 0)
		snprintf(dur, sizeof(dur), ", check duration: %dms", why->duration_ms);
	log_send(s->px, c->w->conf, ok ? LOG_LVL_NOTICE : LOG_LVL_WARNING,
		 "%s check for server %s/%s %s, reason: %s%s%s, status: %s.",
		 chk_is_agent(c) ? "Agent" : "Health", s->px->name, s->name,
		 ok ? "succeeded" : "failed", why->reason, info, dur, status);
}

static void log_health(struct check *c, int ok, const struct srv_why *why, int h)
{
	const struct check_conf *k = &c->srv->chk;
	char status[64];

	if (h >= (int)k->rise)
		snprintf(status, sizeof(status), "%d/%u UP", h - (int)k->rise + 1, k->fall);
	else
		snprintf(status, sizeof(status), "%d/%u DOWN", h, k->rise);
	log_result(c, ok, why, status);
}

/* One result through the rise/fall counter, then the server's state. */
static void health_apply(struct check *c, int ok, const char *reason, const char *info,
			 int duration, int changed)
{
	struct server *s = c->srv;
	int h = atomic_load(&c->health);
	int marked = !!(atomic_load(&s->down_causes) & SRV_DOWN_CHECK);
	unsigned st = check_health_step(&h, s->chk.rise, s->chk.fall, ok, marked);
	struct srv_why why = { reason, info && *info ? info : NULL, duration, "health check" };

	atomic_store(&c->health, h);
	c->rep.health = h;
	if (!ok)
		c->rep.failures++;
	if (st & CHK_HS_COUNTED)
		atomic_fetch_add(&s->ctr.failed_checks, 1);
	if ((st & CHK_HS_CHANGED) || changed)
		log_health(c, ok, &why, h);
	if (st & CHK_HS_DOWN)
		srv_set_down_cause(s, SRV_DOWN_CHECK, &why);
	if (st & CHK_HS_UP)
		srv_clear_down_cause(s, SRV_DOWN_CHECK, &why);
}

static void health_result(struct check *c, enum check_code code, const char *info, int duration)
{
	int changed = c->rep.code != code;

	report_set(c, code, info, duration);
	health_apply(c, check_code_ok(code), check_code_desc(code), info, duration, changed);
}

static void agent_set_admin(struct server *s, const struct agent_reply *rep)
{
	unsigned admin = atomic_load(&s->admin);

	if ((rep->flags & AGENT_R_READY) && (admin & (SRV_ADMF_MAINT | SRV_ADMF_DRAIN)))
		srv_clear_admin(s, SRV_ADMF_MAINT | SRV_ADMF_DRAIN, "agent");
	if (rep->flags & AGENT_R_DRAIN) {
		if (admin & SRV_ADMF_MAINT)
			srv_clear_admin(s, SRV_ADMF_MAINT, "agent");
		if (!(admin & SRV_ADMF_DRAIN))
			srv_set_admin(s, SRV_ADMF_DRAIN, "agent");
	}
	if ((rep->flags & AGENT_R_MAINT) && !(admin & SRV_ADMF_MAINT))
		srv_set_admin(s, SRV_ADMF_MAINT, "agent");
}

/* The agent's percentage applies to the configured weight, as in HAProxy;
 * a non-zero percentage keeps at least weight 1, so that "75%" on a
 * server of weight 1 lowers nothing rather than draining it ("0%" or
 * "drain" do that). */
static unsigned agent_weight(unsigned uweight, unsigned pct)
{
	uint64_t w = (uint64_t)uweight * pct / 100;

	if (!w && pct && uweight)
		w = 1;
	return w > SRV_MAX_WEIGHT ? SRV_MAX_WEIGHT : (unsigned)w;
}

/* Apply what an agent said. Only real changes reach server_state.c, so an
 * agent repeating "up 100%" every second costs nothing there.
 * AGENT_R_MAXCONN is not applied: s->maxconn is configuration that the
 * data path reads without atomics; a runtime maxconn needs its own field. */
static void agent_apply(struct check *c, const struct agent_reply *rep, const char *info,
			int duration)
{
	struct server *s = c->srv;
	unsigned causes = atomic_load(&s->down_causes);
	struct srv_why why = { "Agent reports DOWN", info && *info ? info : NULL, duration,
			       "agent" };

	agent_set_admin(s, rep);
	if (rep->flags & AGENT_R_WEIGHT) {
		unsigned w = agent_weight(s->uweight, rep->weight_pct);

		if (atomic_load(&s->cur_weight) != w)
			srv_set_weight(s, w, "agent");
	}
	if ((rep->flags & AGENT_R_DOWN) && !(causes & SRV_DOWN_AGENT)) {
		srv_set_down_cause(s, SRV_DOWN_AGENT, &why);
	} else if ((rep->flags & AGENT_R_UP) && (causes & SRV_DOWN_AGENT)) {
		why.reason = "Agent reports UP";
		srv_clear_down_cause(s, SRV_DOWN_AGENT, &why);
	}
}

/* An agent that cannot be reached changes nothing: the health check is
 * what tests connectivity (HAProxy's rule). Only its report moves. */
static void agent_result(struct check *c, enum check_code code, const char *info, int duration,
			 const struct agent_reply *rep)
{
	int changed = c->rep.code != code || strcmp(c->rep.info, info);
	int ok = check_code_ok(code);
	struct srv_why why = { check_code_desc(code), *info ? info : NULL, duration, "agent" };
	int down = !!(atomic_load(&c->srv->down_causes) & SRV_DOWN_AGENT);

	report_set(c, code, info, duration);
	if (rep && (rep->flags & (AGENT_R_UP | AGENT_R_DOWN)))
		down = !!(rep->flags & AGENT_R_DOWN);
	if (changed)	/* before the state change it causes, as HAProxy orders them */
		log_result(c, ok, &why, down ? "DOWN" : "UP");
	if (rep)
		agent_apply(c, rep, info, duration);
	down = !!(atomic_load(&c->srv->down_causes) & SRV_DOWN_AGENT);
	atomic_store(&c->health, !down);
	c->rep.health = !down;
	if (!ok)
		c->rep.failures++;
}

/* ---- scheduling ----------------------------------------------------------------- */

/* The next run counts from when this one started, so the period does not
 * drift by the checks' durations; it never goes back in time. */
static void schedule_next(struct check *c)
{
	const struct check_conf *k = &c->srv->chk;
	uint64_t now = chk_now(c), next;
	unsigned iv;

	if (!c->running) {
		timer_disarm(chk_wheel(c), &c->timer);
		return;
	}
	iv = check_interval(k, chk_is_agent(c), atomic_load(&c->health));
	if (c->force_fast && k->fastinter)
		iv = k->fastinter;
	c->force_fast = 0;
	iv = check_spread(iv, c->w->conf->global.spread_checks, chk_rand());
	next = c->start_ms + iv;
	timer_arm(chk_wheel(c), &c->timer, next > now ? next : now);
}

/* ---- connections ---------------------------------------------------------------- */

/* Close the current connection. use_loop 0 once the worker is gone. Unless
 * the connect rule asked for "linger", close with a reset as HAProxy does:
 * thousands of checks a second must not pile up TIME_WAIT sockets. */
static void conn_close(struct check_run *r, int use_loop)
{
	static const struct linger rst = { 1, 0 };

	if (r->ssl) {
		if (r->linger)
			SSL_shutdown(r->ssl);
		SSL_free(r->ssl);	/* SSL_set_fd's BIO leaves the fd open */
		r->ssl = NULL;
	}
	if (r->io.fd >= 0) {
		if (!r->linger)
			setsockopt(r->io.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		if (use_loop)
			loop_forget(&r->c->w->loop, &r->io);
		close(r->io.fd);
		r->io.fd = -1;
	}
	r->readable = r->writable = r->eof = 0;
	r->inlen = 0;
}

static void run_free(struct check_run *r, int use_loop)
{
	conn_close(r, use_loop);
	free(r->outbuf);
	free(r->in);
	free(r);
}

/* End the run with a result, then schedule the next one. Always -1, the
 * "finished" value of the step functions. */
static int run_finish(struct check_run *r, enum check_code code, const char *info,
		      const struct agent_reply *rep)
{
	struct check *c = r->c;
	char text[sizeof(c->rep.info)];
	int duration;

	snprintf(text, sizeof(text), "%s", info ? info : "");
	c->run = NULL;
	run_free(r, 1);
	if (!chk_is_agent(c)) {
		check_run_result(c, code, text);
		return -1;
	}
	duration = (int)(chk_now(c) - c->start_ms);
	agent_result(c, code, text, duration, rep);
	schedule_next(c);
	return -1;
}

void check_run_result(struct check *c, enum check_code code, const char *info)
{
	health_result(c, code, info, (int)(chk_now(c) - c->start_ms));
	schedule_next(c);
}

static int run_fail(struct check_run *r, enum check_code code, const char *info)
{
	return run_finish(r, code, info, NULL);
}

static int run_fail_errno(struct check_run *r, enum check_code code, int err)
{
	return run_fail(r, code, strerror(err));
}

static void run_abort(struct check *c, int use_loop)
{
	struct check_run *r = c->run;

	check_udp_abort(c, use_loop);
	if (r) {
		c->run = NULL;
		run_free(r, use_loop);
	}
}

/* Where a connection goes: the rule's port, else "port", else the
 * server's; agents go to agent-addr (else the check address) and
 * agent-port. */
static void conn_dest(const struct check *c, const struct tcpcheck_rule *rule,
		      struct sockaddr_storage *ss)
{
	const struct server *s = c->srv;
	const struct check_conf *k = &s->chk;
	int port;

	*ss = k->addr.ss_family ? k->addr : s->addr;
	if (chk_is_agent(c)) {
		if (k->agent_addr.ss_family)
			*ss = k->agent_addr;
		port = (int)k->agent_port;
	} else if (rule && rule->connect.port) {
		port = (int)rule->connect.port;
	} else {
		port = k->port ? (int)k->port : addr_port(&s->addr);
	}
	addr_set_port(ss, port);
}

/* What this connection speaks: HAProxy sends PROXY on checks with
 * check-send-proxy, with a connect rule's send-proxy, or when the server
 * uses it for traffic and the check goes to the same place (no "port"
 * nor "addr"). */
static void conn_settings(struct check_run *r, const struct tcpcheck_rule *rule)
{
	const struct server *s = r->c->srv;
	const struct check_conf *k = &s->chk;
	int same_place = !k->port && !k->addr.ss_family;

	r->linger = rule && rule->connect.linger;
	r->pp_version = 0;
	r->tls = 0;
	r->sni = rule && rule->connect.sni ? rule->connect.sni : k->sni;
	if (chk_is_agent(r->c))
		return;
	r->tls = (k->flags & CHK_CF_SSL) || (rule && rule->connect.ssl);
	if ((k->flags & CHK_CF_SEND_PROXY) || (rule && rule->connect.send_proxy) ||
	    ((s->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2)) && same_place))
		r->pp_version = (s->flags & SRV_F_SEND_PROXY_V2) ? 2 : 1;
	r->tls_used |= r->tls;
}

/* Open a connection (closing the previous one). 0, or -1 when the run
 * ended with the failure. */
static int conn_open(struct check_run *r, const struct tcpcheck_rule *rule)
{
	struct check *c = r->c;
	const struct px_timeouts *to = &c->srv->px->to;
	struct sockaddr_storage ss;
	unsigned conn_ms, rest_ms;
	int one = 1, fd;

	conn_close(r, 1);
	conn_dest(c, rule, &ss);
	conn_settings(r, rule);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return run_fail_errno(r, CHK_SOCKERR, errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->io.fd = fd;
	/* the "source" of the server or backend (never usesrc: no client) */
	if (privs_bind_source(fd, c->srv, c->srv->px, NULL) < 0)
		return run_fail_errno(r, CHK_SOCKERR, errno);
	if (connect(fd, (struct sockaddr *)&ss, addr_len(&ss)) < 0 && errno != EINPROGRESS)
		return run_fail_errno(r, CHK_L4CON, errno);
	if (loop_add(&c->w->loop, &r->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0)
		return run_fail_errno(r, CHK_SOCKERR, errno);
	r->phase = PH_CONNECTING;
	check_timeouts(to->connect, chk_is_agent(c) ? 0 : to->check, chk_budget(c),
		       &conn_ms, &rest_ms);
	if (rest_ms)
		r->deadline = chk_now(c) + conn_ms;
	timer_arm(chk_wheel(c), &c->timer, r->deadline);
	return 0;
}

/* ---- I/O ---------------------------------------------------------------------------- */

/* "certificate verify failed (hostname mismatch)": OpenSSL's reason, and
 * for a rejected certificate, why it was rejected. */
static void tls_error_text(SSL *ssl, unsigned long e, char *info, size_t size)
{
	const char *reason = ERR_reason_error_string(e);
	long vr = SSL_get_verify_result(ssl);

	if (!reason) {
		ERR_error_string_n(e, info, size);
		return;
	}
	if (vr != X509_V_OK)
		snprintf(info, size, "%s (%s)", reason, X509_verify_cert_error_string(vr));
	else
		snprintf(info, size, "%s", reason);
}

/* After an OpenSSL call returned ret <= 0: 0 to wait for readiness, or -1
 * after ending the run with the error. */
static int tls_wait_or_fail(struct check_run *r, int ret)
{
	int err = SSL_get_error(r->ssl, ret);
	unsigned long e;
	char info[128];

	if (err == SSL_ERROR_WANT_READ) {
		r->readable = 0;
		return 0;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		r->writable = 0;
		return 0;
	}
	e = ERR_get_error();
	if (e)
		tls_error_text(r->ssl, e, info, sizeof(info));
	else if (err == SSL_ERROR_SYSCALL && errno)
		snprintf(info, sizeof(info), "%s", strerror(errno));
	else
		snprintf(info, sizeof(info), "connection closed during TLS");
	ERR_clear_error();
	return run_fail(r, CHK_L6RSP, info);
}

/* Write out[outpos..outlen). 1 when all is written, 0 to wait, -1 ended. */
static int out_write(struct check_run *r)
{
	ssize_t n;
	int ret;

	while (r->outpos < r->outlen) {
		if (r->ssl) {
			ret = SSL_write(r->ssl, r->out + r->outpos, (int)(r->outlen - r->outpos));
			if (ret <= 0)
				return tls_wait_or_fail(r, ret);
			n = ret;
		} else {
			if (!r->writable)
				return 0;
			n = send(r->io.fd, r->out + r->outpos, r->outlen - r->outpos, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				r->writable = 0;
				return 0;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return run_fail_errno(r, CHK_L4CON, errno);
		}
		r->outpos += (size_t)n;
	}
	return 1;
}

static int in_read_tls(struct check_run *r, size_t room)
{
	int ret = SSL_read(r->ssl, r->in + r->inlen, room > INT32_MAX ? INT32_MAX : (int)room);
	int err;

	if (ret > 0) {
		r->inlen += (size_t)ret;
		return 1;
	}
	err = SSL_get_error(r->ssl, ret);
	/* a close without close_notify (OpenSSL without IGNORE_UNEXPECTED_EOF
	 * reports it as a bare SYSCALL error) ends the data too */
	if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && !ERR_peek_error())) {
		r->eof = 1;
		return 1;
	}
	return tls_wait_or_fail(r, ret);
}

/* Read what is there into the receive buffer. 1 when data or EOF came, 0 to
 * wait, -1 ended. The caller treats a full buffer as the end of data. */
static int in_read(struct check_run *r)
{
	size_t cap = chk_bufsize(r->c);
	ssize_t n;

	if (!r->in && !(r->in = malloc(cap)))
		return run_fail(r, CHK_SOCKERR, "out of memory");
	if (r->ssl)
		return in_read_tls(r, cap - r->inlen);
	for (;;) {
		if (!r->readable)
			return 0;
		n = recv(r->io.fd, r->in + r->inlen, cap - r->inlen, 0);
		if (n > 0) {
			r->inlen += (size_t)n;
			return 1;
		}
		if (n == 0) {
			r->eof = 1;
			return 1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			r->readable = 0;
		else if (errno != EINTR)
			return run_fail_errno(r, CHK_L4CON, errno);
	}
}

/* No more data will come: EOF, or the buffer is full. */
static int in_last(const struct check_run *r)
{
	return r->eof || (r->in && r->inlen >= chk_bufsize(r->c));
}

static const uint8_t *in_data(const struct check_run *r)
{
	return r->in ? r->in : (const uint8_t *)"";
}

/* ---- phases ------------------------------------------------------------------------- */

static int tls_begin(struct check_run *r)
{
	SSL_CTX *ctx = (SSL_CTX *)r->c->ssl_ctx;
	char info[128];

	if (!ctx)
		return run_fail(r, CHK_L6RSP, "no TLS context for this check");
	r->ssl = SSL_new(ctx);
	if (!r->ssl || !SSL_set_fd(r->ssl, r->io.fd)) {
		ERR_error_string_n(ERR_get_error(), info, sizeof(info));
		ERR_clear_error();
		return run_fail(r, CHK_L6RSP, info);
	}
	if (r->sni) {
		SSL_set_tlsext_host_name(r->ssl, r->sni);
		/* verify required checks the name the check asked for */
		if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER)
			SSL_set1_host(r->ssl, r->sni);
	}
	SSL_set_connect_state(r->ssl);
	r->phase = PH_TLS;
	return 1;
}

/* After the PROXY header (if any): TLS or the rules. */
static int after_proxy(struct check_run *r)
{
	if (r->tls)
		return tls_begin(r);
	r->phase = PH_RULES;
	return 1;
}

static int step_connecting(struct check_run *r)
{
	struct check *c = r->c;
	unsigned to_check = chk_is_agent(c) ? 0 : c->srv->px->to.check;
	socklen_t len = sizeof(int);
	int err = 0;

	if (!r->writable)
		return 0;
	if (getsockopt(r->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return run_fail_errno(r, CHK_L4CON, err);
	if (to_check) {
		r->deadline = chk_now(c) + to_check;
		timer_arm(chk_wheel(c), &c->timer, r->deadline);
	}
	if (!r->pp_version)
		return after_proxy(r);
	r->outlen = pp_build_local(r->pp_version, r->pp, sizeof(r->pp));
	r->out = r->pp;
	r->outpos = 0;
	r->phase = PH_PROXY;
	return 1;
}

static int step_proxy(struct check_run *r)
{
	int ret = out_write(r);

	return ret <= 0 ? ret : after_proxy(r);
}

static int step_tls(struct check_run *r)
{
	int ret = SSL_connect(r->ssl);

	if (ret == 1) {
		r->phase = PH_RULES;
		return 1;
	}
	return tls_wait_or_fail(r, ret);
}

static int run_success(struct check_run *r)
{
	enum check_code code = r->had_expect ? r->ok_code : r->tls_used ? CHK_L6OK : CHK_L4OK;

	return run_finish(r, code, r->had_expect ? r->ok_info : NULL, NULL);
}

static int step_send(struct check_run *r, const struct tcpcheck_rule *rule)
{
	size_t cap = chk_bufsize(r->c);
	char info[128];
	long n;
	int ret;

	if (!r->sending) {
		r->out = rule->send.data;
		r->outlen = rule->send.len;
		if (rule->send.lf) {
			if (!r->outbuf && !(r->outbuf = malloc(cap)))
				return run_fail(r, CHK_SOCKERR, "out of memory");
			n = tcpcheck_send_lf(rule, r->c->srv, (char *)r->outbuf, cap);
			if (n < 0) {
				snprintf(info, sizeof(info), "send-lf at step %u of tcp-check "
					 "does not fit in tune.bufsize", r->rule + 1);
				return run_fail(r, CHK_L7RSP, info);
			}
			r->out = r->outbuf;
			r->outlen = (size_t)n;
		}
		r->outpos = 0;
		r->sending = 1;
	}
	ret = out_write(r);
	if (ret <= 0)
		return ret;
	r->sending = 0;
	r->rule++;
	return 1;
}

/* Drop what the rule consumed (tcpcheck.h's contract) and keep its code
 * and note (e.g. a MySQL version) for the report of a passing run. */
static void expect_matched(struct check_run *r, const struct tcpcheck_rule *rule,
			   enum check_code code, const char *info)
{
	size_t used = tcpcheck_expect_consumed(rule, in_data(r), r->inlen);

	if (used < r->inlen) {
		memmove(r->in, r->in + used, r->inlen - used);
		r->inlen -= used;
	} else {
		r->inlen = 0;
	}
	r->ok_code = code;
	snprintf(r->ok_info, sizeof(r->ok_info), "%s", info);
	r->rule++;
}

/* Judge what came since the previous expect matched. */
static int step_expect(struct check_run *r, const struct tcpcheck_rule *rule)
{
	enum tcpcheck_verdict v;
	enum check_code code;
	char info[128];
	int last, ret;

	r->had_expect = 1;
	for (;;) {
		last = in_last(r);
		if (r->inlen || last) {
			code = rule->expect.err_code;
			info[0] = '\0';
			v = tcpcheck_expect(rule, in_data(r), r->inlen, last, r->rule + 1, &code,
					    info, sizeof(info));
			if (v == TCPCHK_OK) {
				expect_matched(r, rule, code, info);
				return 1;
			}
			if (v == TCPCHK_FAIL || last) {
				if (v != TCPCHK_FAIL)
					snprintf(info, sizeof(info), "no more data at step %u of "
						 "tcp-check", r->rule + 1);
				return run_fail(r, code, info);
			}
		}
		ret = in_read(r);
		if (ret <= 0)
			return ret;
	}
}

static int step_rule(struct check_run *r)
{
	const struct tcpcheck_ruleset *rs = r->c->srv->px->tcpcheck;
	const struct tcpcheck_rule *rule;

	if (!rs || r->rule >= rs->nrules)
		return run_success(r);
	rule = &rs->rules[r->rule];
	switch (rule->act) {
	case TCPCHK_ACT_CONNECT:
		r->rule++;
		r->conn_step = r->rule;
		return conn_open(r, rule) < 0 ? -1 : 1;
	case TCPCHK_ACT_SEND:
		return step_send(r, rule);
	default:
		return step_expect(r, rule);
	}
}

static int agent_reply_done(struct check_run *r, const struct agent_reply *rep)
{
	int down = !!(rep->flags & AGENT_R_DOWN);
	const char *info = rep->desc[0] ? rep->desc : down ? rep->state_word : "";

	return run_finish(r, down ? CHK_L7STS : CHK_L7OK, info, rep);
}

/* Agent: write agent-send, then read one line. */
static int step_agent(struct check_run *r)
{
	const struct check_conf *k = &r->c->srv->chk;
	struct agent_reply rep;
	enum tcpcheck_verdict v;
	char info[128];
	int last, ret;

	if (k->agent_send && !r->agent_sent) {
		if (!r->sending) {
			r->out = (const uint8_t *)k->agent_send;
			r->outlen = k->agent_send_len;
			r->outpos = 0;
			r->sending = 1;
		}
		ret = out_write(r);
		if (ret <= 0)
			return ret;
		r->sending = 0;
		r->agent_sent = 1;
	}
	for (;;) {
		last = in_last(r);
		if (r->inlen || last) {
			memset(&rep, 0, sizeof(rep));
			info[0] = '\0';
			v = agent_parse_reply(in_data(r), r->inlen, last, &rep, info, sizeof(info));
			if (v == TCPCHK_OK)
				return agent_reply_done(r, &rep);
			if (v == TCPCHK_FAIL || last)
				return run_fail(r, CHK_L7RSP, v == TCPCHK_FAIL ? info :
						"the agent closed without replying");
		}
		ret = in_read(r);
		if (ret <= 0)
			return ret;
	}
}

/* Move the run as far as readiness allows. */
static void run_advance(struct check_run *r)
{
	int ret;

	do {
		switch (r->phase) {
		case PH_CONNECTING:
			ret = step_connecting(r);
			break;
		case PH_PROXY:
			ret = step_proxy(r);
			break;
		case PH_TLS:
			ret = step_tls(r);
			break;
		default:
			ret = chk_is_agent(r->c) ? step_agent(r) : step_rule(r);
			break;
		}
	} while (ret > 0);
}

static void check_io_cb(struct io *io, uint32_t ev)
{
	struct check_run *r = container_of(io, struct check_run, io);

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		r->readable = 1;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		r->writable = 1;
	run_advance(r);
}

/* "at step 3 of tcp-check (expect 'PONG')", for timeouts. */
static void timeout_info(const struct check_run *r, enum check_code *code, char *info,
			 size_t size)
{
	const struct tcpcheck_ruleset *rs = r->c->srv->px->tcpcheck;
	const struct tcpcheck_rule *rule;

	if (chk_is_agent(r->c) || !rs || r->rule >= rs->nrules)
		return;
	rule = &rs->rules[r->rule];
	if (rule->comment)
		snprintf(info, size, "at step %u of tcp-check (%s)", r->rule + 1, rule->comment);
	else if (rule->act == TCPCHK_ACT_EXPECT && rule->expect.pat_text)
		snprintf(info, size, "at step %u of tcp-check (expect '%s')", r->rule + 1,
			 rule->expect.pat_text);
	else
		snprintf(info, size, "at step %u of tcp-check (%s)", r->rule + 1,
			 rule->act == TCPCHK_ACT_EXPECT ? "expect" : "send");
	if (rule->act == TCPCHK_ACT_EXPECT)
		*code = rule->expect.tout_code;
}

static void run_timeout(struct check_run *r)
{
	enum check_code code = CHK_L7TOUT;
	char info[128] = "";

	switch (r->phase) {
	case PH_CONNECTING:
	case PH_PROXY:
		code = CHK_L4TOUT;
		if (r->conn_step)
			snprintf(info, sizeof(info), "at step %u of tcp-check (connect)",
				 r->conn_step);
		break;
	case PH_TLS:
		code = CHK_L6TOUT;
		break;
	default:
		timeout_info(r, &code, info, sizeof(info));
		break;
	}
	run_fail(r, code, info);
}

static void run_start(struct check *c)
{
	const struct tcpcheck_ruleset *rs = c->srv->px->tcpcheck;
	struct check_run *r;

	c->start_ms = chk_now(c);
	if (check_is_udp(c)) {
		check_udp_start(c);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		health_result(c, CHK_SOCKERR, "out of memory", 0);
		schedule_next(c);
		return;
	}
	r->c = c;
	r->io.fd = -1;
	r->io.cb = check_io_cb;
	r->deadline = c->start_ms + chk_budget(c);
	c->run = r;
	if (chk_is_agent(c) || !rs || !rs->nrules || rs->rules[0].act != TCPCHK_ACT_CONNECT) {
		if (conn_open(r, NULL) < 0)
			return;
	} else {
		r->phase = PH_RULES;	/* the first rule opens the connection */
	}
	run_advance(r);
}

static void check_timer_cb(struct timer *t)
{
	struct check *c = container_of(t, struct check, timer);

	if (c->udp_run)
		check_udp_timeout(c);
	else if (c->run)
		run_timeout(c->run);
	else if (c->running)
		run_start(c);
}

/* ---- starting and stopping -------------------------------------------------------- */

struct start_ctx {
	struct runtime *rt;
	unsigned k, total;
};

static void count_check(struct check *c, void *arg)
{
	if (!c->srv->px->disabled)
		((struct start_ctx *)arg)->total++;
}

/* The k-th check runs first at k/total of its interval, give or take
 * spread-checks, so thousands of servers do not fire together. */
static void assign_check(struct check *c, void *arg)
{
	struct start_ctx *sc = arg;
	struct runtime *rt = sc->rt;
	unsigned iv, delay, spread;

	if (c->srv->px->disabled)
		return;
	iv = check_interval(&c->srv->chk, chk_is_agent(c), atomic_load(&c->health));
	delay = check_first_delay(sc->k, sc->total, iv);
	spread = check_spread(iv, rt->conf->global.spread_checks, chk_rand());
	if ((int64_t)delay + spread - iv > 0)
		delay = (unsigned)((int64_t)delay + spread - iv);
	else
		delay = 0;
	c->w = &rt->workers[sc->k % rt->nworkers];
	c->first_delay = delay;
	c->timer.cb = check_timer_cb;
	atomic_store_explicit(&c->started, 1, memory_order_release);
	sc->k++;
}

static void arm_first(struct check *c, void *arg)
{
	struct worker *w = arg;

	if (c->w != w || !atomic_load(&c->started))
		return;
	c->running = atomic_load(&c->enabled);
	c->rep.enabled = c->running;
	if (c->running)
		timer_arm(&w->loop.timers, &c->timer, w->loop.now_ms + c->first_delay);
}

static void start_worker_checks(struct worker *w, void *arg)
{
	(void)arg;
	if (worker_self() != w)
		return;	/* the worker stopped before starting */
	for_each_check(w->conf, arm_first, w);
}

void check_start_all(struct runtime *rt)
{
	struct start_ctx sc = { rt, 0, 0 };

	if (!rt->nworkers)
		return;
	for_each_check(rt->conf, count_check, &sc);
	if (!sc.total)
		return;
	for_each_check(rt->conf, assign_check, &sc);
	runtime_call_all(rt, start_worker_checks, NULL);
}

static void stop_check(struct check *c, void *arg)
{
	struct worker *w = arg;

	if (c->w != w || !atomic_load(&c->started))
		return;
	run_abort(c, 1);
	c->running = 0;
	timer_disarm(&w->loop.timers, &c->timer);
}

void check_worker_stop(struct worker *w)
{
	for_each_check(w->conf, stop_check, w);
}

static void check_destroy(struct check *c)
{
	if (!c)
		return;
	run_abort(c, 0);	/* the workers are gone: no loop to tell */
	SSL_CTX_free((SSL_CTX *)c->ssl_ctx);
	free(c);
}

static void destroy_one(struct check *c, void *arg)
{
	struct server *s = c->srv;

	(void)arg;
	if (s->check == c)
		s->check = NULL;
	else
		s->agent = NULL;
	check_destroy(c);
}

void check_free_all(struct config *conf)
{
	for_each_check(conf, destroy_one, NULL);
}

/* ---- runtime API ------------------------------------------------------------------- */

static void apply_enabled(struct worker *w, void *arg)
{
	struct check *c = arg;
	int want;

	if (worker_self() != w)
		return;
	want = atomic_load(&c->enabled);
	c->rep.enabled = want;
	if (want == c->running)
		return;
	c->running = want;
	if (!want) {
		run_abort(c, 1);
		timer_disarm(chk_wheel(c), &c->timer);
	} else if (!chk_busy(c)) {
		timer_arm(chk_wheel(c), &c->timer, chk_now(c));
	}
}

int check_set_enabled(struct server *s, int agent, int enabled)
{
	struct check *c = agent ? s->agent : s->check;

	if (!c)
		return -1;
	atomic_store(&c->enabled, !!enabled);
	if (!atomic_load_explicit(&c->started, memory_order_acquire))
		return 0;	/* check_start_all() reads enabled */
	return worker_call(c->w, apply_enabled, c);
}

/* ---- observe layer4 ------------------------------------------------------------------ */

/* HAProxy's on-error "then force fastinter": the next run comes after
 * fastinter if that is sooner; nothing when fastinter is not set. */
static void force_fastinter(struct check *c)
{
	unsigned fi = c->srv->chk.fastinter;
	uint64_t next = chk_now(c) + fi;

	if (!fi || !c->running)
		return;
	if (chk_busy(c)) {
		c->force_fast = 1;
		return;
	}
	if (!timer_armed(&c->timer) || c->timer.expire > next)
		timer_arm(chk_wheel(c), &c->timer, next);
}

/* fail-check counts one failed check; sudden-death first leaves the server
 * one failure from down; mark-down leaves it none. */
static void apply_on_error(struct check *c)
{
	const struct check_conf *k = &c->srv->chk;
	int h = atomic_load(&c->health);
	char info[128];

	snprintf(info, sizeof(info), "Detected %u consecutive errors, last one was: "
		 "L4 unsuccessful connection", k->error_limit);
	switch (k->on_error) {
	case CHK_ON_ERROR_MARK_DOWN:
		if (h > 1)
			atomic_store(&c->health, 1);
		health_apply(c, 0, "Health analyze", info, -1, 1);
		break;
	case CHK_ON_ERROR_SUDDEN_DEATH:
		if (h > (int)k->rise)
			atomic_store(&c->health, (int)k->rise + 1);
		health_apply(c, 0, "Health analyze", info, -1, 1);
		break;
	case CHK_ON_ERROR_FAIL_CHECK:
		health_apply(c, 0, "Health analyze", info, -1, 1);
		break;
	default:
		break;
	}
	force_fastinter(c);
}

static void on_error_call(struct worker *w, void *arg)
{
	struct check *c = arg;

	atomic_store(&c->onerror_queued, 0);
	if (worker_self() == w && c->w == w)
		apply_on_error(c);
}

void check_observe_slow(struct server *s, int ok)
{
	struct check *c = s->check;
	unsigned n;

	if (!c)
		return;
	if (ok) {
		/* read first: a healthy server's sessions do not all write the line */
		if (atomic_load_explicit(&c->consec_errors, memory_order_relaxed))
			atomic_store_explicit(&c->consec_errors, 0, memory_order_relaxed);
		return;
	}
	n = atomic_fetch_add_explicit(&c->consec_errors, 1, memory_order_relaxed) + 1;
	if (n < s->chk.error_limit)
		return;
	atomic_store_explicit(&c->consec_errors, 0, memory_order_relaxed);
	if (!atomic_load_explicit(&c->started, memory_order_acquire) ||
	    atomic_exchange(&c->onerror_queued, 1))
		return;
	if (worker_call(c->w, on_error_call, c) < 0)
		atomic_store(&c->onerror_queued, 0);
}
