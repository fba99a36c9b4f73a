/* cli_show.c - runtime API: "show info", "show stat", "show servers state"
 * and "show sess", in HAProxy's formats so that existing tools (CSV
 * scrapers, server-state-file savers) read them unchanged. Fields sluice
 * does not have are left empty, as HAProxy does for what a proxy lacks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/addr.h"
#include "sluice/check.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/loop.h"
#include "sluice/proxy.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/worker.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* ---- show info -------------------------------------------------------------------- */

static uint64_t sum_frontends(const struct config *conf, int bytes_out)
{
	const struct proxy *px;
	uint64_t n = 0;

	for (px = conf->proxies; px; px = px->next)
		if (px->cap & PX_CAP_FE)
			n += bytes_out ? LD(px->ctr.bytes_out) : LD(px->ctr.cum_conn);
	return n;
}

void cli_show_info(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct runtime *rt = c->rt;
	unsigned long long up = (unsigned long long)((clock_mono_ms() - cli_start_ms()) / 1000);
	char host[256] = "";

	(void)argc;
	(void)args;
	gethostname(host, sizeof(host) - 1);
	cli_printf(c->out, "Name: sluice\nVersion: %s\nNbthread: %u\nNbproc: 1\nProcess_num: 1\n"
		   "Pid: %d\nUptime: %llud %02lluh%02llum%02llus\nUptime_sec: %llu\n",
		   SLUICE_VERSION, rt->nworkers, (int)getpid(), up / 86400, up / 3600 % 24,
		   up / 60 % 60, up % 60, up);
	cli_printf(c->out, "Maxconn: %u\nHard_maxconn: %u\nCurrConns: %u\nCumConns: %" PRIu64 "\n"
		   "Maxpipes: %u\nPipesUsed: %u\nPipesFree: %u\n",
		   rt->maxconn, rt->maxconn, LD(rt->actconn), sum_frontends(c->conf, 0),
		   rt->maxpipes, LD(rt->pipes_used),
		   rt->maxpipes > LD(rt->pipes_used) ? rt->maxpipes - LD(rt->pipes_used) : 0);
	cli_printf(c->out, "Stopping: %d\nTotalBytesOut: %" PRIu64 "\nnode: %s\ndescription: \n",
		   LD(rt->stopping) ? 1 : 0, sum_frontends(c->conf, 1),
		   c->conf->global.hostname ? c->conf->global.hostname : host);
}

/* ---- show stat -------------------------------------------------------------------- */

/* HAProxy's CSV columns, in its order (management guide, section 9.1). */
static const char *const stat_cols[] = {
	"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
	"dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight",
	"act", "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid",
	"sid", "throttle", "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max",
	"check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
	"hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max",
	"req_tot", "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp",
	"lastsess", "last_chk", "last_agt", "qtime", "ctime", "rtime", "ttime",
	"agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc",
	"check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
	"agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max",
	"conn_tot", "intercepted", "dcon", "dses", "wrew", "connect", "reuse",
	"cache_lookups", "cache_hits", "srv_icur", "src_ilim", "qtime_max", "ctime_max",
	"rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur",
	"used_conn_cur", "need_conn_est", "uweight",
};

enum {
	ST_PXNAME, ST_SVNAME, ST_QCUR, ST_QMAX, ST_SCUR, ST_SMAX, ST_SLIM, ST_STOT, ST_BIN,
	ST_BOUT, ST_DREQ, ST_DRESP, ST_EREQ, ST_ECON, ST_ERESP, ST_WRETR, ST_WREDIS,
	ST_STATUS, ST_WEIGHT, ST_ACT, ST_BCK, ST_CHKFAIL, ST_CHKDOWN, ST_LASTCHG,
	ST_DOWNTIME, ST_QLIMIT, ST_PID, ST_IID, ST_SID, ST_THROTTLE, ST_LBTOT, ST_TRACKED,
	ST_TYPE, ST_CHECK_STATUS = 36, ST_CHECK_CODE, ST_CHECK_DURATION,
	ST_CLI_ABRT = 49, ST_SRV_ABRT, ST_LAST_CHK = 56, ST_LAST_AGT,
	ST_AGENT_STATUS = 62, ST_AGENT_CODE, ST_AGENT_DURATION, ST_CHECK_DESC,
	ST_AGENT_DESC, ST_CHECK_RISE, ST_CHECK_FALL, ST_CHECK_HEALTH, ST_AGENT_RISE,
	ST_AGENT_FALL, ST_AGENT_HEALTH, ST_ADDR, ST_COOKIE, ST_MODE, ST_ALGO,
	ST_CONN_TOT = 79, ST_DCON = 81, ST_UWEIGHT = 99,
	ST_NCOLS
};

_Static_assert(ST_NCOLS == sizeof(stat_cols) / sizeof(stat_cols[0]), "stat columns");

#define ST_CELL 64

struct stat_row {
	char cell[ST_NCOLS][ST_CELL];
};

static void cell(struct stat_row *r, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cell(struct stat_row *r, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->cell[col], ST_CELL, fmt, ap);
	va_end(ap);
}

static void cell_u64(struct stat_row *r, int col, uint64_t v)
{
	cell(r, col, "%" PRIu64, v);
}

/* CSV cells must not hold the separator: names are checked by the config
 * parser, but check texts come from the network. */
static void row_emit(struct cli_out *o, struct stat_row *r)
{
	int i;

	for (i = 0; i < ST_NCOLS; i++) {
		for (char *p = r->cell[i]; *p; p++)
			if (*p == ',' || *p == '\n' || *p == '\r')
				*p = ' ';
		cli_out_str(o, r->cell[i]);
		cli_out_str(o, ",");
	}
	cli_out_str(o, "\n");
}

static void row_common(struct stat_row *r, const struct proxy *px, const char *svname,
		       int type)
{
	memset(r, 0, sizeof(*r));
	cell(r, ST_PXNAME, "%s", px->name);
	cell(r, ST_SVNAME, "%s", svname);
	cell(r, ST_PID, "1");
	cell(r, ST_IID, "%d", px->uuid);
	cell(r, ST_TYPE, "%d", type);
	cell(r, ST_MODE, "%s", px->mode == PX_MODE_UDP ? "udp" : "tcp");
}

static void row_frontend(struct cli_cmd_ctx *c, const struct proxy *px)
{
	struct stat_row r;
	unsigned lim = px->maxconn ? px->maxconn : c->rt->maxconn;

	row_common(&r, px, "FRONTEND", 0);
	cell(&r, ST_SCUR, "%u", LD(px->feconn));
	cell(&r, ST_SMAX, "%u", LD(px->ctr.max_conn));
	cell(&r, ST_SLIM, "%u", lim);
	cell_u64(&r, ST_STOT, LD(px->ctr.cum_sess));
	cell_u64(&r, ST_BIN, LD(px->ctr.bytes_in));
	cell_u64(&r, ST_BOUT, LD(px->ctr.bytes_out));
	cell(&r, ST_DREQ, "0");
	cell(&r, ST_DRESP, "0");
	cell(&r, ST_EREQ, "0");
	cell(&r, ST_STATUS, "%s", px->disabled ? "STOP" : "OPEN");
	cell(&r, ST_SID, "0");
	cell_u64(&r, ST_CONN_TOT, LD(px->ctr.cum_conn));
	cell_u64(&r, ST_DCON, LD(px->ctr.denied_conn));
	row_emit(c->out, &r);
}

static void row_check(struct stat_row *r, const struct server *s, int agent)
{
	struct check_report rep;
	int base = agent ? ST_AGENT_STATUS : ST_CHECK_STATUS;

	if (check_get_report(s, agent, &rep) < 0)
		return;
	cell(r, base, "%s", check_code_name(rep.code));
	if (rep.duration_ms >= 0)
		cell(r, agent ? ST_AGENT_DURATION : ST_CHECK_DURATION, "%d", rep.duration_ms);
	cell(r, agent ? ST_AGENT_DESC : ST_CHECK_DESC, "%s", check_code_desc(rep.code));
	cell(r, agent ? ST_AGENT_RISE : ST_CHECK_RISE, "%u", rep.rise);
	cell(r, agent ? ST_AGENT_FALL : ST_CHECK_FALL, "%u", rep.fall);
	cell(r, agent ? ST_AGENT_HEALTH : ST_CHECK_HEALTH, "%d", rep.health);
}

static void row_server(struct cli_cmd_ctx *c, const struct proxy *px, const struct server *s)
{
	struct stat_row r;
	char buf[128];
	uint64_t now = clock_mono_ms(), chg = LD(s->last_change);
	int backup = !!(s->flags & SRV_F_BACKUP);

	row_common(&r, px, s->name, 2);
	cell(&r, ST_QCUR, "%u", LD(s->nbpend));
	cell(&r, ST_SCUR, "%u", LD(s->cur_conns));
	cell(&r, ST_SMAX, "%u", LD(s->ctr.max_conn));
	if (s->maxconn)
		cell(&r, ST_SLIM, "%u", s->maxconn);
	cell_u64(&r, ST_STOT, LD(s->ctr.cum_sess));
	cell_u64(&r, ST_BIN, LD(s->ctr.bytes_in));
	cell_u64(&r, ST_BOUT, LD(s->ctr.bytes_out));
	cell(&r, ST_DRESP, "0");
	cell_u64(&r, ST_ECON, LD(s->ctr.failed_conns));
	cell(&r, ST_ERESP, "0");
	cell_u64(&r, ST_WRETR, LD(s->ctr.retries));
	cell_u64(&r, ST_WREDIS, LD(s->ctr.redispatches));
	cell(&r, ST_STATUS, "%s", check_state_str(s, buf, sizeof(buf)));
	cell(&r, ST_WEIGHT, "%u", LD(s->eweight) / SRV_EWEIGHT_SCALE);
	cell(&r, ST_ACT, "%d", !backup);
	cell(&r, ST_BCK, "%d", backup);
	if (s->check) {
		cell_u64(&r, ST_CHKFAIL, LD(s->ctr.failed_checks));
		cell_u64(&r, ST_CHKDOWN, LD(s->ctr.down_trans));
	}
	cell_u64(&r, ST_LASTCHG, chg && now > chg ? (now - chg) / 1000 : (now - cli_start_ms()) / 1000);
	if (s->check)
		cell_u64(&r, ST_DOWNTIME, LD(s->ctr.down_time_ms) / 1000);
	if (s->maxqueue)
		cell(&r, ST_QLIMIT, "%u", s->maxqueue);
	cell(&r, ST_SID, "%d", s->puid);
	cell_u64(&r, ST_LBTOT, LD(s->ctr.cum_sess));
	if (s->track)
		cell(&r, ST_TRACKED, "%s/%s", s->track->px->name, s->track->name);
	row_check(&r, s, 0);
	row_check(&r, s, 1);
	cell(&r, ST_ADDR, "%s", addr_str(&s->addr, buf, sizeof(buf)));
	cell(&r, ST_UWEIGHT, "%u", s->uweight);
	row_emit(c->out, &r);
}

static void row_backend(struct cli_cmd_ctx *c, const struct proxy *px)
{
	struct stat_row r;
	const struct server *s;
	unsigned act, bck, weight = 0, uweight = 0;
	uint64_t chkdown = 0;

	srv_count_usable(px, &act, &bck);
	for (s = px->srv; s; s = s->next) {
		if (srv_is_usable(s))
			weight += LD(s->eweight) / SRV_EWEIGHT_SCALE;
		uweight += s->uweight;
		chkdown += LD(s->ctr.down_trans);
	}
	row_common(&r, px, "BACKEND", 1);
	cell(&r, ST_QCUR, "%u", LD(px->nbpend));
	cell(&r, ST_SCUR, "%u", LD(px->beconn));
	cell(&r, ST_SMAX, "%u", LD(px->ctr.max_conn));
	cell_u64(&r, ST_STOT, LD(px->ctr.cum_sess));
	cell_u64(&r, ST_BIN, LD(px->ctr.bytes_in));
	cell_u64(&r, ST_BOUT, LD(px->ctr.bytes_out));
	cell(&r, ST_DREQ, "0");
	cell(&r, ST_DRESP, "0");
	cell_u64(&r, ST_ECON, LD(px->ctr.failed_conns));
	cell(&r, ST_ERESP, "0");
	cell_u64(&r, ST_WRETR, LD(px->ctr.retries));
	cell_u64(&r, ST_WREDIS, LD(px->ctr.redispatches));
	cell(&r, ST_STATUS, "%s", px->disabled ? "STOP" : act + bck ? "UP" : "DOWN");
	cell(&r, ST_WEIGHT, "%u", weight);
	cell(&r, ST_ACT, "%u", act);
	cell(&r, ST_BCK, "%u", bck);
	cell_u64(&r, ST_CHKDOWN, chkdown);
	cell(&r, ST_SID, "0");
	cell_u64(&r, ST_LBTOT, LD(px->ctr.cum_sess));
	cell_u64(&r, ST_CLI_ABRT, LD(px->ctr.cli_aborts));
	cell_u64(&r, ST_SRV_ABRT, LD(px->ctr.srv_aborts));
	if (px->lb.ops)
		cell(&r, ST_ALGO, "%s", px->lb.ops->name);
	cell(&r, ST_UWEIGHT, "%u", uweight);
	row_emit(c->out, &r);
}

void cli_show_stat(struct cli_cmd_ctx *c, int argc, char **args)
{
	const struct proxy *px;
	const struct server *s;
	int i;

	(void)argc;
	(void)args;
	cli_out_str(c->out, "# ");
	for (i = 0; i < ST_NCOLS; i++) {
		cli_out_str(c->out, stat_cols[i]);
		cli_out_str(c->out, ",");
	}
	cli_out_str(c->out, "\n");
	for (px = c->conf->proxies; px; px = px->next) {
		if (px->cap & PX_CAP_FE)
			row_frontend(c, px);
		if (!(px->cap & PX_CAP_BE))
			continue;
		for (s = px->srv; s; s = s->next)
			row_server(c, px, s);
		row_backend(c, px);
	}
}

/* ---- show servers state ----------------------------------------------------------- */

/* HAProxy's srv_admin_state bits in the state file. */
#define SSF_FMAINT	0x01
#define SSF_IMAINT	0x02
#define SSF_FDRAIN	0x08
#define SSF_IDRAIN	0x10

static unsigned state_admin(unsigned admin)
{
	return (admin & SRV_ADMF_MAINT ? SSF_FMAINT : 0) |
	       (admin & SRV_ADMF_IMAINT ? SSF_IMAINT : 0) |
	       (admin & SRV_ADMF_DRAIN ? SSF_FDRAIN : 0) |
	       (admin & SRV_ADMF_IDRAIN ? SSF_IDRAIN : 0);
}

/* HAProxy's check state bits: configured 0x02, enabled 0x04, paused 0x08. */
static unsigned state_check_bits(const struct server *s, int agent)
{
	struct check_report rep;

	if (check_get_report(s, agent, &rep) < 0)
		return 0;
	return 0x02 | (rep.enabled ? 0x04 : 0x08);
}

static void state_row(struct cli_out *o, const struct proxy *px, const struct server *s)
{
	struct check_report rep = { .code = CHK_UNK };
	char ip[64];
	uint64_t now = clock_mono_ms(), chg = LD(s->last_change);
	int has_chk = check_get_report(s, 0, &rep) == 0;
	int up = LD(s->state) == SRV_ST_UP;
	int result = !has_chk ? 0 : rep.code == CHK_UNK ? 0 : check_code_ok(rep.code) ? 3 : 2;

	cli_printf(o, "%d %s %d %s %s %d %u %u %u %" PRIu64 " %d %d %d %u %u 0 %d - %d - 0 %u - - %u\n",
		   px->uuid, px->name, s->puid, s->name, addr_ip_str(&s->addr, ip, sizeof(ip)),
		   up ? 2 : 0, state_admin(LD(s->admin)), LD(s->cur_weight), s->uweight,
		   chg && now > chg ? (now - chg) / 1000 : (now - cli_start_ms()) / 1000,
		   (int)rep.code, result, has_chk ? rep.health : 0, state_check_bits(s, 0),
		   state_check_bits(s, 1), s->conf_file && !strcmp(s->conf_file, "cli") ? 0 : 1,
		   addr_port(&s->addr), s->chk.port, s->chk.agent_port);
}

void cli_show_servers_state(struct cli_cmd_ctx *c, int argc, char **args)
{
	const struct proxy *px, *only = NULL;
	const struct server *s;

	if (argc > 3) {
		only = config_find_proxy(c->conf, args[3], PX_CAP_BE);
		if (!only) {
			cli_out_str(c->out, "Can't find backend.\n");
			return;
		}
	}
	cli_out_str(c->out, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
		    "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
		    "srv_check_status srv_check_result srv_check_health srv_check_state "
		    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
		    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
	for (px = c->conf->proxies; px; px = px->next) {
		if (!(px->cap & PX_CAP_BE) || (only && px != only))
			continue;
		for (s = px->srv; s; s = s->next)
			state_row(c->out, px, s);
	}
}

/* ---- show sess -------------------------------------------------------------------- */

/* One worker's sessions are many in a busy process: stop at a bound so a
 * worker answers in bounded time. */
#define SESS_MAX_PER_WORKER 100000

static const char *const sess_states[] = {
	"INSPECT", "ASSIGN", "QUEUED", "TURNAROUND", "CONNECTING", "RELAY", "CLOSED",
};

static void sess_line(struct worker *w, const struct session *s, struct cli_out *o)
{
	struct sockaddr_storage ss;
	char src[128];
	uint64_t age = w->loop.now_ms > s->t_accept ? (w->loop.now_ms - s->t_accept) / 1000 : 0;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &s->cli_addr, sizeof(s->cli_addr));
	cli_printf(o, "%p: proto=%s src=%s fe=%s be=%s srv=%s ts=%c%c age=%" PRIu64 "s "
		   "thr=%u state=%s bytes_in=%" PRIu64 " bytes_out=%" PRIu64 "\n",
		   (const void *)s, s->cli_addr.sa.sa_family == AF_INET6 ? "tcpv6" : "tcpv4",
		   addr_str(&ss, src, sizeof(src)), s->fe ? s->fe->name : "<NONE>",
		   s->be ? s->be->name : "<NONE>", s->srv ? s->srv->name : "<NONE>",
		   s->term[0] ? s->term[0] : '-', s->term[1] ? s->term[1] : '-', age, w->id + 1,
		   s->state < sizeof(sess_states) / sizeof(sess_states[0]) ? sess_states[s->state] : "?",
		   s->bytes_in, s->bytes_out);
}

static void sess_collect(struct worker *w, void *arg, struct cli_out *part)
{
	struct list *pos;
	unsigned n = 0;

	(void)arg;
	for (pos = w->sessions.next; pos != &w->sessions; pos = pos->next) {
		if (n++ == SESS_MAX_PER_WORKER) {
			cli_printf(part, "# thread %u: %u more sessions not shown\n", w->id + 1,
				   w->nb_sessions - SESS_MAX_PER_WORKER);
			break;
		}
		sess_line(w, list_entry(pos, struct session, node), part);
	}
}

void cli_show_sess(struct cli_cmd_ctx *c, int argc, char **args)
{
	(void)argc;
	(void)args;
	cli_on_workers(c->rt, sess_collect, NULL, 0, c->out, 2000);
}
