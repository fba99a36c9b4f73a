/* inspect.c - from accept to server assignment: rules, PROXY header,
 * content inspection, backend and server switching.
 *
 * The steps follow HAProxy's order: connection rules see the socket's own
 * addresses; a PROXY header (if expected) then replaces them; session
 * rules see the new ones; content rules of the frontend wait for data up
 * to its inspect-delay; use_backend picks the backend; the backend's own
 * content rules run (its inspect-delay counted from accept); use-server
 * may force a server. Each step is resumable: a session that waits for
 * data keeps its step in s->inspect_phase and comes back here on the next
 * read or when its timer fires.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sluice/buf.h"
#include "sluice/global.h"
#include "sluice/inspect.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/proxy.h"
#include "sluice/proxy_proto.h"
#include "sluice/sample.h"
#include "sluice/session.h"
#include "sluice/stick.h"
#include "sluice/tcp_rules.h"
#include "sluice/worker.h"

enum inspect_phase {
	PH_PROXY_HDR = 0,	/* waiting for a PROXY header */
	PH_FE_CONTENT,		/* frontend content rules */
	PH_BE_CONTENT,		/* backend content rules, then use-server */
};

static uint64_t now_ms(const struct session *s)
{
	return s->w->loop.now_ms;
}

void inspect_smp_ctx(struct session *s, struct smp_ctx *ctx,
		     struct sockaddr_storage *src, struct sockaddr_storage *dst,
		     char *scratch, size_t scratch_size)
{
	socklen_t len = sizeof(s->dst_addr);

	memset(ctx, 0, sizeof(*ctx));
	memset(src, 0, sizeof(*src));
	memcpy(src, &s->cli_addr, sizeof(s->cli_addr));
	if (!(s->flags & SF_DST_SET)) {
		if (getsockname(s->cli.fd, &s->dst_addr.sa, &len) < 0)
			memset(&s->dst_addr, 0, sizeof(s->dst_addr));
		s->flags |= SF_DST_SET;
	}
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, &s->dst_addr, sizeof(s->dst_addr));
	ctx->sess = s;
	ctx->src = src;
	ctx->dst = dst;
	ctx->fe = s->fe;
	ctx->be = s->be ? s->be : s->fe;
	ctx->conf = s->w->conf;
	if (s->req) {
		ctx->req = buf_head(s->req);
		ctx->req_len = s->req->len;
	}
	ctx->scratch = scratch;
	ctx->scratch_size = scratch_size;
}

/* Run one rule set of px; returns the verdict. */
static enum tcp_verdict run_rules(struct session *s, const struct proxy *px,
				  enum tcp_rule_set set, int final)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];
	unsigned pos = s->rule_pos;
	enum tcp_verdict v;

	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	v = tcp_rules_run(px, set, s, &ctx, &pos, final);
	s->rule_pos = (uint16_t)pos;
	return v;
}

/* --- reading ------------------------------------------------------------- */

/* Read what the client has sent into the request buffer, keeping the
 * headroom free. Returns -1 on a read error, else 0. */
static int inspect_read(struct session *s)
{
	struct worker *w = s->w;
	struct buf *b = s->req;
	uint32_t limit;
	ssize_t n;

	if (!(s->flags & SF_CLI_RD) || (s->flags & SF_CLI_EOF))
		return 0;
	if (!b) {
		b = buf_alloc(&w->buf_pool, w->conf->global.bufsize);
		if (!b)
			return -1;
		s->req = b;
	}
	limit = b->size > INSPECT_HEADROOM ? b->size - INSPECT_HEADROOM : b->size / 2;
	if (b->head)
		buf_realign(b);
	while (b->len < limit) {
		n = recv(s->cli.fd, b->data + b->len, limit - b->len, MSG_DONTWAIT);
		if (n > 0) {
			b->len += (uint32_t)n;
			s->bytes_in += (uint64_t)n;
			s->cli_active = now_ms(s);
			continue;
		}
		if (n == 0) {
			s->flags |= SF_CLI_EOF;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			s->flags &= ~SF_CLI_RD;
			break;
		}
		return -1;
	}
	return 0;
}

/* Nothing more can arrive for inspection: the client closed, or the
 * buffer (minus headroom) is full. */
static int input_done(const struct session *s)
{
	const struct buf *b = s->req;

	if (s->flags & (SF_CLI_EOF | SF_CLI_ERR))
		return 1;
	return b && b->len + INSPECT_HEADROOM >= b->size;
}

static void release_empty_buffer(struct session *s)
{
	if (s->req && !s->req->len) {
		pool_free(&s->w->buf_pool, s->req);
		s->req = NULL;
	}
}

/* --- verdicts and waiting ------------------------------------------------ */

/* 1: go on, 0: wait for data, -1: the session was closed. */
static int verdict_ok(struct session *s, enum tcp_verdict v)
{
	switch (v) {
	case TCP_V_ACCEPT:
		return 1;
	case TCP_V_WAIT:
		return 0;
	case TCP_V_SILENT_DROP:
		session_silent_drop(s);
		return -1;
	case TCP_V_REJECT:
	default:
		session_abort(s, 'P', 'R');
		return -1;
	}
}

/* Sleep until data arrives, the step's deadline (0: none) or the client
 * timeout, whichever comes first. */
static void arm_wait(struct session *s, uint64_t deadline)
{
	unsigned tc = s->fe->to.client;
	uint64_t when = tc ? s->cli_active + tc : 0;

	if (deadline && (!when || deadline < when))
		when = deadline;
	if (when)
		timer_arm(&s->w->loop.timers, &s->timer, when);
	else
		timer_disarm(&s->w->loop.timers, &s->timer);
}

/* --- PROXY header ------------------------------------------------------ */

static void log_bad_proxy_header(struct session *s, const char *why)
{
	char addr[64];

	if (!log_proxy_has_targets(s->fe, s->w->conf))
		return;
	if (s->cli_addr.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &s->cli_addr.in6.sin6_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET, &s->cli_addr.in.sin_addr, addr, sizeof(addr));
	log_send(s->fe, s->w->conf, LOG_LVL_NOTICE,
		 "%s:%u %s: Received something which does not look like a PROXY protocol header (%s)",
		 addr, ntohs(s->cli_addr.in.sin_port), s->fe->name, why);
}

static void apply_proxy_header(struct session *s, const struct pp_info *pp, size_t used)
{
	buf_consume(s->req, (uint32_t)used);
	s->bytes_in -= used;	/* the header is not the client's payload */
	s->flags |= SF_PROXY_RCVD;
	if (pp->local)
		return;		/* LOCAL/UNKNOWN: the socket's addresses stay */
	memset(&s->cli_addr, 0, sizeof(s->cli_addr));
	memcpy(&s->cli_addr, &pp->src, pp->src.ss_family == AF_INET6 ?
	       sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	memset(&s->dst_addr, 0, sizeof(s->dst_addr));
	memcpy(&s->dst_addr, &pp->dst, pp->dst.ss_family == AF_INET6 ?
	       sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	s->flags |= SF_DST_SET;
}

/* Returns 1 when the header was consumed (go on), 0 to wait, -1 after
 * closing the session. */
static int step_proxy_header(struct session *s)
{
	struct pp_info pp;
	size_t used = 0;
	char err[96] = "";
	enum pp_status st = PP_NEED_MORE;

	if (s->req)
		st = pp_parse((const uint8_t *)buf_head(s->req), s->req->len, &pp, &used,
			      err, sizeof(err));
	if (st == PP_NEED_MORE && !input_done(s))
		return 0;
	if (st != PP_OK) {
		log_bad_proxy_header(s, st == PP_NEED_MORE ? "incomplete" : err);
		s->flags |= SF_NOLOG;
		session_abort(s, 'P', 'R');
		return -1;
	}
	apply_proxy_header(s, &pp, used);
	s->rule_pos = 0;
	if (tcp_rules_has(s->fe, TCP_RULES_SESSION))
		return verdict_ok(s, run_rules(s, s->fe, TCP_RULES_SESSION, 1));
	return 1;
}

/* --- content rules and switching ---------------------------------------- */

/* Content rules of px; its inspect-delay counts from accept. */
static int step_content(struct session *s, const struct proxy *px)
{
	uint64_t deadline = s->t_accept + px->rules.inspect_delay;
	int final = !px->rules.inspect_delay || now_ms(s) >= deadline || input_done(s);
	int r = verdict_ok(s, run_rules(s, px, TCP_RULES_CONTENT, final));

	if (r == 0)
		arm_wait(s, deadline);
	return r;
}

/* use_backend rules, else default_backend, else the frontend itself when
 * it is a listen section. Returns 0 after closing the session. */
static int choose_backend(struct session *s)
{
	struct proxy *fe = s->fe, *be = NULL;

	if (!list_empty(&fe->rules.use_backend)) {
		struct sockaddr_storage src, dst;
		struct smp_ctx ctx;
		char scratch[512];

		inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
		be = tcp_rules_use_backend(fe, &ctx);
	}
	if (!be)
		be = fe->default_backend ? fe->default_backend :
		     (fe->cap & PX_CAP_BE) ? fe : NULL;
	s->be = be;
	if (!be) {
		session_abort(s, 'S', 'C');
		return 0;
	}
	return 1;
}

static struct server *forced_server(struct session *s)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];

	if (list_empty(&s->be->rules.use_server))
		return NULL;
	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	return tcp_rules_use_server(s->be, &ctx);
}

static void finish(struct session *s)
{
	timer_disarm(&s->w->loop.timers, &s->timer);
	release_empty_buffer(s);
	session_backend_chosen(s, forced_server(s));
}

static void inspect_run(struct session *s)
{
	int r;

	if (inspect_read(s) < 0 || (s->flags & SF_CLI_ERR)) {
		session_abort(s, 'C', 'R');
		return;
	}
	switch (s->inspect_phase) {
	case PH_PROXY_HDR:
		r = step_proxy_header(s);
		if (r == 0)
			arm_wait(s, 0);
		if (r <= 0)
			return;
		s->inspect_phase = PH_FE_CONTENT;
		s->rule_pos = 0;
		session_log_connect(s);
		/* fall through */
	case PH_FE_CONTENT:
		if (tcp_rules_has(s->fe, TCP_RULES_CONTENT) && step_content(s, s->fe) <= 0)
			return;
		if (!choose_backend(s))
			return;
		s->inspect_phase = PH_BE_CONTENT;
		s->rule_pos = 0;
		/* fall through */
	case PH_BE_CONTENT:
	default:
		if (s->be != s->fe && tcp_rules_has(s->be, TCP_RULES_CONTENT) &&
		    step_content(s, s->be) <= 0)
			return;
		finish(s);
	}
}

/* Nothing to wait for: no PROXY header, no content rule, no switching
 * rule. Then no buffer is ever taken before the server is chosen. */
static int needs_inspection(const struct session *s, int want_proxy)
{
	const struct proxy *fe = s->fe, *be = fe->default_backend;

	if (want_proxy || tcp_rules_has(fe, TCP_RULES_CONTENT) ||
	    !list_empty(&fe->rules.use_backend))
		return 1;
	if (!be && (fe->cap & PX_CAP_BE))
		be = fe;
	return be && ((be != fe && tcp_rules_has(be, TCP_RULES_CONTENT)) ||
		      !list_empty(&be->rules.use_server));
}

void inspect_start(struct session *s)
{
	int want_proxy = s->bc->accept_proxy;

	if (tcp_rules_has(s->fe, TCP_RULES_CONNECTION)) {
		int r = verdict_ok(s, run_rules(s, s->fe, TCP_RULES_CONNECTION, 1));

		if (r < 0)
			return;
		want_proxy |= !!(s->flags & SF_EXPECT_PROXY);
		stk_track_accepted(s);
	}
	s->rule_pos = 0;
	if (!needs_inspection(s, want_proxy)) {
		session_log_connect(s);
		if (choose_backend(s))
			session_backend_chosen(s, NULL);
		return;
	}
	s->state = SS_INSPECT;
	s->inspect_phase = want_proxy ? PH_PROXY_HDR : PH_FE_CONTENT;
	if (!want_proxy)
		session_log_connect(s);
	inspect_run(s);
}

void inspect_process(struct session *s)
{
	inspect_run(s);
}

void inspect_timer(struct session *s)
{
	unsigned tc = s->fe->to.client;

	if (tc && now_ms(s) >= s->cli_active + tc) {
		session_abort(s, 'c', 'R');
		return;
	}
	inspect_run(s);
}
