/* check_udp.c - health checks of "mode udp" servers.
 *
 * UDP has no connection to test, so a check is an exchange: one datagram
 * out from a connected socket, then the first of a reply, an ICMP error
 * (reported by Linux as ECONNREFUSED and friends on a connected socket) or
 * the deadline decides. Many UDP services stay silent on input they do not
 * understand, so without "udp-check expect" silence passes and only an ICMP
 * error fails; with it, the reply must hold the expected bytes.
 * This file holds the "udp-check" keyword and its post-parse rules, the
 * pure matcher and hex decoder (unit tested and fuzzed: the matcher reads
 * what a server sent), and the socket steps of a run. check_io.c only
 * dispatches here and takes the result back (check_run_result), so the
 * rise/fall counter, logs and state changes are those of TCP checks.
 * Threading: keyword and post-parse on the main thread before workers; a
 * run belongs to its check's worker; the pure functions are reentrant.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/check.h>
#include <sluice/check_udp.h>
#include <sluice/global.h>
#include <sluice/loop.h>
#include <sluice/proxy.h>
#include <sluice/proxy_proto.h>
#include <sluice/server.h>
#include <sluice/worker.h>

/* A reply is read whole (the largest datagram), so that "expect" finds its
 * bytes anywhere in it. On the worker's stack, only during the read. */
#define UDPCHK_RECV_MAX		65536
/* Bytes of a pattern or a reply shown in a check's info (128 bytes). */
#define UDPCHK_SHOW_PAT		24
#define UDPCHK_SHOW_REPLY	20

/* ---- settings life cycle ------------------------------------------------ */

struct udpcheck *udpcheck_ref(struct udpcheck *u)
{
	u->refcnt++;
	return u;
}

void udpcheck_unref(struct udpcheck *u)
{
	if (!u || --u->refcnt)
		return;
	free(u->send);
	free(u->expect);
	free(u);
}

/* ---- pure helpers ---------------------------------------------------------- */

long udpcheck_hex_decode(const char *hex, uint8_t *out, size_t outsz, char *err, size_t errsz)
{
	size_t n = strlen(hex), bad = 0;
	long r = cfg_hex_decode(hex, out, outsz, &bad);

	if (r == -1)
		snprintf(err, errsz, "an even number of hex digits is needed, got %zu", n);
	else if (r == -2)
		snprintf(err, errsz, "%zu bytes is more than the %zu allowed", n / 2, outsz);
	else if (r == -3)
		snprintf(err, errsz, "'%c' at position %zu is not a hex digit", hex[bad], bad + 1);
	return r < 0 ? -1 : r;
}

/* Show up to max bytes of p in dst: as hex, or as text with anything but
 * printable ASCII written \xHH (a log line must not carry control bytes
 * from a server); "..." marks a cut. Always NUL-terminated. */
static void show_bytes(char *dst, size_t dstsz, const uint8_t *p, size_t n, int hex, size_t max)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0, i, need;

	for (i = 0; i < n && i < max; i++) {
		int plain = !hex && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\';

		need = hex ? 2 : plain ? 1 : 4;
		if (o + need + 4 > dstsz)	/* keep room for "..." and the NUL */
			break;
		if (plain) {
			dst[o++] = (char)p[i];
			continue;
		}
		if (!hex) {
			dst[o++] = '\\';
			dst[o++] = 'x';
		}
		dst[o++] = digits[p[i] >> 4];
		dst[o++] = digits[p[i] & 15];
	}
	if (i < n && o + 4 <= dstsz) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	if (dstsz)
		dst[o < dstsz ? o : dstsz - 1] = '\0';
}

int udpcheck_match(const struct udpcheck *u, const uint8_t *data, size_t len, int truncated,
		   enum check_code *code, char *info, size_t infosz)
{
	char pat[UDPCHK_SHOW_PAT * 4 + 4], got[UDPCHK_SHOW_REPLY * 4 + 4];

	if (!u || !u->expect_len) {
		*code = CHK_L4OK;
		snprintf(info, infosz, "UDP reply of %s%zu bytes", truncated ? "more than " : "",
			 len);
		return 1;
	}
	if (len >= u->expect_len && memmem(data, len, u->expect, u->expect_len)) {
		*code = CHK_L7OK;
		snprintf(info, infosz, "%s", "");
		return 1;
	}
	*code = CHK_L7RSP;
	show_bytes(pat, sizeof(pat), u->expect, u->expect_len, u->expect_binary, UDPCHK_SHOW_PAT);
	show_bytes(got, sizeof(got), data, len, u->expect_binary, UDPCHK_SHOW_REPLY);
	snprintf(info, infosz, "UDP reply did not match '%s' (got %s%zu bytes: '%s')", pat,
		 truncated ? "more than " : "", len, got);
	return 0;
}

int udpcheck_no_reply(const struct udpcheck *u, unsigned waited_ms, enum check_code *code,
		      char *info, size_t infosz)
{
	char pat[UDPCHK_SHOW_PAT * 4 + 4];

	if (!u || !u->expect_len) {
		*code = CHK_L4OK;
		snprintf(info, infosz, "no UDP reply in %ums, none expected (no ICMP error)",
			 waited_ms);
		return 1;
	}
	*code = CHK_L7TOUT;
	show_bytes(pat, sizeof(pat), u->expect, u->expect_len, u->expect_binary, UDPCHK_SHOW_PAT);
	snprintf(info, infosz, "no UDP reply in %ums (expected '%s')", waited_ms, pat);
	return 0;
}

/* ---- keyword ------------------------------------------------------------------ */

/* What one "udp-check" line says, before it is committed. */
struct udp_line {
	uint8_t *send, *expect;
	size_t send_len, expect_len;
	int has_send, has_expect, expect_binary;
};

static void udp_line_free(struct udp_line *l)
{
	free(l->send);
	free(l->expect);
}

/* The bytes of "send STRING", "expect-binary HEX", ... into *out. */
static int word_bytes(struct cfg_ctx *ctx, const char *kw, const char *arg, int hex,
		      uint8_t **out, size_t *len)
{
	size_t n = strlen(arg);
	char err[128];
	long got;

	if (n / (hex ? 2 : 1) > UDPCHK_MAX_PAYLOAD)
		return cfg_err(ctx, "'udp-check %s': %zu bytes do not fit in one datagram (at "
			       "most %d)", kw, n / (hex ? 2 : 1), UDPCHK_MAX_PAYLOAD);
	*out = malloc(n + 1);
	if (!*out)
		return cfg_err(ctx, "out of memory");
	if (!hex) {
		memcpy(*out, arg, n);
		*len = n;
		return 0;
	}
	got = udpcheck_hex_decode(arg, *out, n, err, sizeof(err));
	if (got < 0)
		return cfg_err(ctx, "'udp-check %s' expects hex bytes like 0a1b, got '%s': %s",
			       kw, arg, err);
	*len = (size_t)got;
	return 0;
}

/* One "WORD ARG" pair of the line at args[i]. */
static int parse_pair(struct cfg_ctx *ctx, struct udp_line *l, const char *w, const char *arg)
{
	int expect = !strncmp(w, "expect", 6), hex = !!strstr(w, "-binary");
	int *seen = expect ? &l->has_expect : &l->has_send;

	if (!arg || (!*arg && (hex || expect)))
		return cfg_err(ctx, "'udp-check %s' expects %s", w,
			       hex ? "hex bytes, as in 'udp-check send-binary 0100'" :
			       expect ? "a non-empty string" : "a string (\"\" for an empty datagram)");
	if (*seen)
		return cfg_err(ctx, "'udp-check': two %s on one line (a check %s)",
			       expect ? "expects" : "sends",
			       expect ? "judges one reply" : "sends one datagram");
	*seen = 1;
	if (expect) {
		l->expect_binary = hex;
		return word_bytes(ctx, w, arg, hex, &l->expect, &l->expect_len);
	}
	return word_bytes(ctx, w, arg, hex, &l->send, &l->send_len);
}

static int parse_line(struct cfg_ctx *ctx, struct udp_line *l, int argc, char **args)
{
	static const char *const words[] = { "send", "send-binary", "expect", "expect-binary" };
	int i, k;

	if (argc < 2)
		return cfg_err(ctx, "'udp-check' expects 'send STRING', 'send-binary HEX', "
			       "'expect STRING' or 'expect-binary HEX'");
	for (i = 1; i < argc; i += 2) {
		for (k = 0; k < 4 && strcmp(args[i], words[k]); k++)
			;
		if (k == 4)
			return cfg_err(ctx, "'udp-check': unknown word '%s' (expects 'send', "
				       "'send-binary', 'expect' or 'expect-binary', each followed "
				       "by its value)", args[i]);
		if (parse_pair(ctx, l, args[i], i + 1 < argc ? args[i + 1] : NULL) < 0)
			return -1;
	}
	return 0;
}

/* Point the section's default-server and every server already written in
 * it at u (later servers copy default-server). */
static void section_set(struct proxy *px, struct udpcheck *u)
{
	struct server *s;

	for (s = px->srv; s; s = s->next) {
		udpcheck_unref(s->chk.udp);
		s->chk.udp = udpcheck_ref(u);
	}
	udpcheck_unref(px->defsrv.chk.udp);
	px->defsrv.chk.udp = u;	/* takes the caller's reference */
}

/* The settings this section's lines go to: its own, or fresh ones that
 * replace what it inherited. */
static struct udpcheck *own_udpcheck(struct cfg_ctx *ctx)
{
	struct udpcheck *u = ctx->px->defsrv.chk.udp;

	if (u && u->owner == ctx->px)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->refcnt = 1;
	u->owner = ctx->px;
	u->conf_file = ctx->file;
	u->conf_line = ctx->line;
	section_set(ctx->px, u);
	return u;
}

/* Two sends (or expects) in one section are refused rather than one
 * silently winning: a check sends one datagram and judges one reply. */
static int check_repeat(struct cfg_ctx *ctx, const struct udp_line *l)
{
	const struct udpcheck *u = ctx->px->defsrv.chk.udp;

	if (!u || u->owner != ctx->px)
		return 0;
	if (l->has_send && u->send_line)
		return cfg_err(ctx, "'udp-check send': this section already sends at line %d "
			       "(a check sends one datagram)", u->send_line);
	if (l->has_expect && u->expect_line)
		return cfg_err(ctx, "'udp-check expect': this section already expects at line %d "
			       "(a check judges one reply)", u->expect_line);
	return 0;
}

static int kw_udp_check(struct cfg_ctx *ctx, int argc, char **args)
{
	struct udp_line l = { 0 };
	struct udpcheck *u;

	if (parse_line(ctx, &l, argc, args) < 0 || check_repeat(ctx, &l) < 0) {
		udp_line_free(&l);
		return -1;
	}
	u = own_udpcheck(ctx);
	if (!u) {
		udp_line_free(&l);
		return cfg_err(ctx, "out of memory");
	}
	if (l.has_send) {
		u->send = l.send;
		u->send_len = l.send_len;
		u->send_line = ctx->line;
	}
	if (l.has_expect) {
		u->expect = l.expect;
		u->expect_len = l.expect_len;
		u->expect_binary = l.expect_binary;
		u->expect_line = ctx->line;
	}
	return 0;
}

/* ---- post-parse --------------------------------------------------------------- */

static const char *tcpcheck_name(const struct tcpcheck_ruleset *rs)
{
	switch (rs->kind) {
	case TCPCHK_KIND_SSL_HELLO:	return "option ssl-hello-chk";
	case TCPCHK_KIND_REDIS:		return "option redis-check";
	case TCPCHK_KIND_MYSQL:		return "option mysql-check";
	case TCPCHK_KIND_PGSQL:		return "option pgsql-check";
	default:			return rs->has_option ? "option tcp-check" : "tcp-check";
	}
}

/* Only lines written in the section itself are refused: a defaults section
 * may serve TCP and UDP backends alike, and each takes what applies to it
 * (documented). */
static int check_modes(const struct proxy *px)
{
	const struct tcpcheck_ruleset *rs = px->tcpcheck;
	const struct udpcheck *u = px->defsrv.chk.udp;
	int own_rules;

	if (px->mode != PX_MODE_UDP) {
		if (!u || u->owner != px)
			return 0;
		cfg_err_at(u->conf_file, u->conf_line, "'udp-check' applies to mode udp, and %s '%s' "
			   "is mode tcp: use 'tcp-check' here, or 'mode udp'",
			   proxy_cap_str(px->cap), px->name);
		return 1;
	}
	if (!rs || rs->owner != px)
		return 0;
	own_rules = rs->kind == TCPCHK_KIND_TCP && !rs->has_option && rs->rules_file;
	cfg_err_at(own_rules ? rs->rules_file : rs->conf_file,
		   own_rules ? rs->rules_line : rs->conf_line,
		   "'%s' checks TCP servers, and %s '%s' is mode udp: use 'udp-check send|expect' "
		   "to set what its checks send and expect", tcpcheck_name(rs),
		   proxy_cap_str(px->cap), px->name);
	return 1;
}

static int udpcheck_postparse(struct config *conf)
{
	const struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next)
		if (px->cap & PX_CAP_BE)
			errors += check_modes(px);
	return errors;
}

static struct cfg_postparser udpcheck_pp = {
	.name = "udp-check",
	.fn = udpcheck_postparse,
};

static struct cfg_kw_list udpcheck_kws = {
	.kws = (const struct cfg_kw[]){
		{ "udp-check", CFG_BE_SIDE, kw_udp_check, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void udpcheck_init(void)
{
	cfg_register(&udpcheck_kws);
	cfg_register_postparser(&udpcheck_pp);
}

/* ---- a run ------------------------------------------------------------------------ */

struct check_udp_run {
	struct io io;
	struct check *c;
};

int check_is_udp(const struct check *c)
{
	return c->kind == CHK_CF_CHECK && c->srv->px->mode == PX_MODE_UDP;
}

static void run_free(struct check_udp_run *r, int use_loop)
{
	if (r->io.fd >= 0) {
		if (use_loop)
			loop_forget(&r->c->w->loop, &r->io);
		close(r->io.fd);
	}
	free(r);
}

void check_udp_abort(struct check *c, int use_loop)
{
	struct check_udp_run *r = c->udp_run;

	if (r) {
		c->udp_run = NULL;
		run_free(r, use_loop);
	}
}

static void run_end(struct check_udp_run *r, enum check_code code, const char *info)
{
	struct check *c = r->c;

	c->udp_run = NULL;
	run_free(r, 1);
	check_run_result(c, code, info);
}

static void run_end_errno(struct check_udp_run *r, enum check_code code, int err)
{
	run_end(r, code, strerror(err));
}

/* The check address, as for TCP checks: "addr", else the server's; "port",
 * else the server's. */
static void udp_dest(const struct server *s, struct sockaddr_storage *ss)
{
	const struct check_conf *k = &s->chk;

	*ss = k->addr.ss_family ? k->addr : s->addr;
	addr_set_port(ss, k->port ? (int)k->port : addr_port(&s->addr));
}

/* The same rule as TCP checks: with "timeout check" a reply may take that
 * long (there is no connect phase to wait for), else the check has inter. */
static unsigned udp_wait_ms(const struct check *c)
{
	const struct px_timeouts *to = &c->srv->px->to;
	unsigned conn_ms, rest_ms;

	check_timeouts(to->connect, to->check, c->srv->chk.inter, &conn_ms, &rest_ms);
	return rest_ms ? rest_ms : conn_ms;
}

/* A server that reads a PROXY v2 header on every datagram also gets one on
 * its check (the LOCAL command: "the proxy's own"), when the check goes to
 * the same place as the traffic. */
static int udp_send(struct check_udp_run *r)
{
	const struct server *s = r->c->srv;
	const struct udpcheck *u = s->chk.udp;
	uint8_t pp[PP_V2_HDR_LEN];
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t n;

	if ((s->flags & SRV_F_SEND_PROXY_V2) && !s->chk.port && !s->chk.addr.ss_family) {
		iov[msg.msg_iovlen].iov_base = pp;
		iov[msg.msg_iovlen++].iov_len = pp_build_local(2, pp, sizeof(pp));
	}
	iov[msg.msg_iovlen].iov_base = u ? u->send : NULL;
	iov[msg.msg_iovlen++].iov_len = u ? u->send_len : 0;
	do
		n = sendmsg(r->io.fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

/* Read the first datagram or the pending error. 0 when there is none yet,
 * else the run ended. */
static int udp_read(struct check_udp_run *r)
{
	uint8_t buf[UDPCHK_RECV_MAX];
	enum check_code code;
	char info[128];
	ssize_t n;

	do
		n = recv(r->io.fd, buf, sizeof(buf), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		/* ICMP port/host unreachable, as the kernel reports it */
		run_end_errno(r, CHK_L4CON, errno);
		return 1;
	}
	udpcheck_match(r->c->srv->chk.udp, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf),
		       (size_t)n > sizeof(buf), &code, info, sizeof(info));
	run_end(r, code, info);
	return 1;
}

static void udp_io_cb(struct io *io, uint32_t ev)
{
	(void)ev;
	udp_read(container_of(io, struct check_udp_run, io));
}

/* Socket, connect, register, send. 0, or -1 with the run ended. */
static int udp_open(struct check_udp_run *r)
{
	struct check *c = r->c;
	struct sockaddr_storage ss;
	int fd;

	udp_dest(c->srv, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		run_end_errno(r, CHK_SOCKERR, errno);
		return -1;
	}
	r->io.fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, addr_len(&ss)) < 0) {
		run_end_errno(r, CHK_L4CON, errno);
		return -1;
	}
	if (loop_add(&c->w->loop, &r->io, EPOLLIN) < 0) {
		run_end_errno(r, CHK_SOCKERR, errno);
		return -1;
	}
	if (udp_send(r) < 0) {
		run_end_errno(r, errno == ENOBUFS || errno == EAGAIN ? CHK_SOCKERR : CHK_L4CON,
			      errno);
		return -1;
	}
	return 0;
}

void check_udp_start(struct check *c)
{
	struct check_udp_run *r = calloc(1, sizeof(*r));

	if (!r) {
		check_run_result(c, CHK_SOCKERR, "out of memory");
		return;
	}
	r->c = c;
	r->io.fd = -1;
	r->io.cb = udp_io_cb;
	c->udp_run = r;
	if (udp_open(r) < 0)
		return;
	timer_arm(&c->w->loop.timers, &c->timer, c->w->loop.now_ms + udp_wait_ms(c));
}

void check_udp_timeout(struct check *c)
{
	struct check_udp_run *r = c->udp_run;
	enum check_code code;
	char info[128];

	/* a reply or an error may be queued behind the timer in this batch */
	if (udp_read(r))
		return;
	udpcheck_no_reply(c->srv->chk.udp, udp_wait_ms(c), &code, info, sizeof(info));
	run_end(r, code, info);
}
