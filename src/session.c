/* session.c - the life of one proxied TCP connection.
 *
 *   accept -> assign a server (or queue) -> connect (retries, redispatch)
 *          -> relay both ways -> close, count, log
 *
 * Timeouts use one timer per session. While relaying, I/O only stamps
 * cli_active/srv_active; the timer recomputes the deadline when it fires and
 * re-arms itself if there was activity, so the data path never touches the
 * wheel.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sluice/backend.h"
#include "sluice/buf.h"
#include "sluice/global.h"
#include "sluice/inspect.h"
#include "sluice/proxy_proto.h"
#include "sluice/vars.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/privs.h"
#include "sluice/proxy.h"
#include "sluice/relay.h"
#include "sluice/sample.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/stick.h"
#include "sluice/tcp_rules.h"
#include "sluice/tls_hello.h"
#include "sluice/worker.h"

/* HAProxy waits min(timeout connect, 1s) before retrying a refused
 * connection on the same server, so a restarting server is not hammered. */
#define TURNAROUND_MS 1000

static void session_process(struct session *s);
static void session_start_connect(struct session *s);
static void session_assign_and_connect(struct session *s, int avoid_prev,
				       struct server *forced);

static uint64_t now_ms(const struct session *s)
{
	return s->w->loop.now_ms;
}

static void set_term(struct session *s, char who, char phase)
{
	if (s->term[0] == '-' || !s->term[0]) {
		s->term[0] = who;
		s->term[1] = phase;
	}
}

/* --- logging and close -------------------------------------------------- */

static void fill_log_info(struct session *s, struct log_sess_info *li,
			  struct sockaddr_storage *cli, struct sockaddr_storage *srv,
			  struct sockaddr_storage *fe_addr)
{
	socklen_t alen = sizeof(*fe_addr);

	memset(li, 0, sizeof(*li));
	/* Only logging needs the local address: ask the kernel here rather
	 * than at every accept. */
	if (getsockname(s->cli.fd, (struct sockaddr *)fe_addr, &alen) == 0)
		li->fe_addr = fe_addr;
	memset(cli, 0, sizeof(*cli));
	memcpy(cli, &s->cli_addr, sizeof(s->cli_addr));
	li->cli = cli;
	if (s->srv) {
		memcpy(srv, &s->srv->addr, sizeof(*srv));
		li->srv_addr = srv;
	}
	li->fe_name = s->fe->name;
	li->be_name = s->be ? s->be->name : s->fe->name;
	li->srv_name = s->srv && (s->flags & SF_ASSIGNED) ? s->srv->name : "<NOSRV>";
	li->accept_date_ms = s->accept_date_ms;
	li->Tw = s->t_queue >= 0 ? s->t_queue : -1;
	li->Tc = s->t_connect >= 0 ? s->t_connect - (s->t_queue >= 0 ? s->t_queue : 0) : -1;
	li->Tt = (int64_t)(now_ms(s) - s->t_accept);
	li->bytes_in = s->bytes_in;
	li->bytes_out = s->bytes_out;
	li->term[0] = s->term[0] ? s->term[0] : '-';
	li->term[1] = s->term[1] ? s->term[1] : '-';
	li->actconn = atomic_load(&s->w->rt->actconn);
	li->feconn = atomic_load(&s->fe->feconn);
	li->beconn = s->be ? atomic_load(&s->be->beconn) : 0;
	li->srv_conn = s->srv ? atomic_load(&s->srv->cur_conns) : 0;
	li->retries = s->conn_attempts ? s->conn_attempts - 1u : 0;
	li->redispatched = s->redispatched;
	li->srv_queue = s->srv ? atomic_load(&s->srv->nbpend) : 0;
	li->be_queue = s->be ? atomic_load(&s->be->nbpend) : 0;
	li->level = LOG_LVL_INFO;
}

static void session_log(struct session *s)
{
	struct log_sess_info li;
	struct sockaddr_storage cli, srv, fe_addr;

	if ((s->flags & SF_NOLOG) || !log_proxy_has_targets(s->fe, s->w->conf) ||
	    log_proxy_wants_connect_line(s->fe))
		return;		/* the default format was logged at accept */
	fill_log_info(s, &li, &cli, &srv, &fe_addr);
	log_session(s->fe, s->w->conf, &li);
}

static void account_bytes(struct session *s)
{
	atomic_fetch_add_explicit(&s->fe->ctr.bytes_in, s->bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->fe->ctr.bytes_out, s->bytes_out, memory_order_relaxed);
	if (s->be && s->be != s->fe) {
		atomic_fetch_add_explicit(&s->be->ctr.bytes_in, s->bytes_in, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->be->ctr.bytes_out, s->bytes_out, memory_order_relaxed);
	}
	if (s->srv && (s->flags & SF_ASSIGNED)) {
		atomic_fetch_add_explicit(&s->srv->ctr.bytes_in, s->bytes_in, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->srv->ctr.bytes_out, s->bytes_out, memory_order_relaxed);
	}
}

static void close_server_side(struct session *s)
{
	if (s->sio.fd >= 0) {
		/* Events of this fd may still wait in the current batch. */
		loop_forget(&s->w->loop, &s->sio);
		close(s->sio.fd);	/* also removes it from epoll */
		s->sio.fd = -1;
	}
	s->flags &= ~(SF_SRV_RD | SF_SRV_WR | SF_SRV_EOF | SF_SRV_SHUTW |
		      SF_SRV_ERR | SF_SRV_RDHUP | SF_RES_SPLICE);
}

static void session_close(struct session *s)
{
	struct worker *w = s->w;

	if (!s->term[0])
		set_term(s, '-', '-');
	s->state = SS_CLOSED;
	timer_disarm(&w->loop.timers, &s->timer);
	loop_cancel(&s->task);
	session_log(s);
	account_bytes(s);
	close_server_side(s);
	loop_forget(&w->loop, &s->cli);
	close(s->cli.fd);
	relay_release(s);
	if (s->vars)
		vars_free(s->vars);
	if (s->track)
		stk_track_end(s);
	if (s->flags & SF_SRV_SLOT)
		backend_release_slot(s);
	if (s->flags & SF_BE_COUNTED)
		atomic_fetch_sub(&s->be->beconn, 1);
	list_del(&s->node);
	w->nb_sessions--;
	listener_conn_closed(w, s->bc);
	pool_free(&w->sess_pool, s);
}

/* --- timeouts ----------------------------------------------------------- */

static int half_closed(const struct session *s)
{
	return (s->flags & (SF_CLI_EOF | SF_SRV_EOF | SF_CLI_SHUTW | SF_SRV_SHUTW)) != 0;
}

/* The inactivity timeout of one side while relaying; 0 = none. */
static unsigned side_timeout(const struct session *s, int client)
{
	const struct px_timeouts *fe = &s->fe->to, *be = &s->be->to;
	int half = half_closed(s);

	if (client && half && fe->client_fin)
		return fe->client_fin;
	if (!client && half && be->server_fin)
		return be->server_fin;
	if (be->tunnel)
		return be->tunnel;
	return client ? fe->client : be->server;
}

/* Earliest relay deadline, and which side it belongs to (0 = none). */
static uint64_t relay_deadline(const struct session *s, int *client_side)
{
	unsigned tc = side_timeout(s, 1), ts = side_timeout(s, 0);
	uint64_t dc = tc ? s->cli_active + tc : 0;
	uint64_t ds = ts ? s->srv_active + ts : 0;

	*client_side = 1;
	if (!dc || (ds && ds < dc)) {
		*client_side = 0;
		return ds;
	}
	return dc;
}

static void arm_relay_timer(struct session *s)
{
	int client_side;
	uint64_t d = relay_deadline(s, &client_side);

	if (d)
		timer_arm(&s->w->loop.timers, &s->timer, d);
	else
		timer_disarm(&s->w->loop.timers, &s->timer);
}

static void arm_deadline(struct session *s, unsigned timeout)
{
	if (timeout)
		timer_arm(&s->w->loop.timers, &s->timer, now_ms(s) + timeout);
	else
		timer_disarm(&s->w->loop.timers, &s->timer);
}

static void connect_failed(struct session *s, int timed_out);

static void session_timer_cb(struct timer *t)
{
	struct session *s = container_of(t, struct session, timer);
	int client_side;
	uint64_t d;

	switch (s->state) {
	case SS_INSPECT:
		inspect_timer(s);
		return;
	case SS_QUEUED:
		if (!backend_unqueue(s))
			return;	/* a slot is on its way: session_granted() follows */
		atomic_fetch_add(&s->be->ctr.queue_timeouts, 1);
		s->t_queue = (int32_t)(now_ms(s) - s->t_accept);	/* %Tw: time queued */
		set_term(s, 's', 'Q');
		session_close(s);
		return;
	case SS_TURNAROUND:
		session_start_connect(s);
		return;
	case SS_CONNECTING:
		connect_failed(s, 1);
		return;
	case SS_RELAY:
		d = relay_deadline(s, &client_side);
		if (!d)
			return;
		if (d > now_ms(s)) {
			timer_arm(&s->w->loop.timers, &s->timer, d);
			return;
		}
		set_term(s, client_side ? 'c' : 's', 'D');
		session_close(s);
		return;
	default:
		return;
	}
}

/* --- connecting --------------------------------------------------------- */

static int server_address(struct session *s, struct sockaddr_storage *ss)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (!(s->srv->flags & (SRV_F_NO_PORT | SRV_F_PORT_MAP)))
		return server_dest_addr(s->srv, NULL, ss);
	/* The port depends on the one the client reached. */
	if (getsockname(s->cli.fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	return server_dest_addr(s->srv, (const struct sockaddr *)&local, ss);
}

static void srv_io_cb(struct io *io, uint32_t ev);

/* A v2 header with the TLVs of "proxy-v2-options": crc32c, and authority
 * = the SNI of the ClientHello the client sent, when it was inspected. */
static size_t build_v2_header(struct session *s, const struct sockaddr_storage *src,
			      const struct sockaddr_storage *dst, uint8_t *out, size_t outsz)
{
	static __thread uint8_t scratch[TLS_HELLO_SCRATCH];
	struct pp_tlvs tlvs = { 0 };
	struct tls_hello hello;

	tlvs.crc32c = !!(s->srv->pp_opts & PP_OPT_CRC32C);
	if ((s->srv->pp_opts & PP_OPT_AUTHORITY) && s->req &&
	    tls_hello_parse((const uint8_t *)buf_head(s->req), s->req->len, scratch,
			    sizeof(scratch), &hello) == TLS_HELLO_OK && hello.sni) {
		tlvs.authority = hello.sni;
		tlvs.authority_len = hello.sni_len;
	}
	return pp_build_v2(src, dst, 0, &tlvs, out, outsz);
}

/* "send-proxy" / "send-proxy-v2": the header goes in front of whatever
 * the client already sent (inspection keeps room for it), so it is the
 * first thing the server reads. Returns -1 when no buffer is available. */
static int queue_proxy_header(struct session *s)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	uint8_t hdr[INSPECT_HEADROOM];
	struct buf *b = s->req;
	size_t n;

	inspect_smp_ctx(s, &ctx, &src, &dst, NULL, 0);
	if (s->srv->flags & SRV_F_SEND_PROXY_V2)
		n = build_v2_header(s, &src, &dst, hdr, sizeof(hdr));
	else
		n = pp_build_v1(&src, &dst, hdr, sizeof(hdr));
	if (!n)
		return -1;
	if (!b) {
		b = buf_alloc(&s->w->buf_pool, s->w->conf->global.bufsize);
		if (!b)
			return -1;
		s->req = b;
	}
	if (b->len + n > b->size)
		return -1;
	buf_realign(b);
	memmove(b->data + n, b->data, b->len);
	memcpy(b->data, hdr, n);
	b->len += (uint32_t)n;
	return 0;
}

/* "tcp-response content" rules of the backend. sluice has no res.*
 * fetches yet, so they are decided once, when the server connection is
 * established, with what a condition can see then (addresses, variables,
 * proxy and server state). Returns 0 to go on, -1 to close. */
static int response_rules(struct session *s)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];
	unsigned pos = 0;

	if (!tcp_rules_has(s->be, TCP_RULES_RESPONSE))
		return 0;
	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	switch (tcp_rules_run(s->be, TCP_RULES_RESPONSE, s, &ctx, &pos, 1)) {
	case TCP_V_ACCEPT:
	case TCP_V_WAIT:
		return 0;
	case TCP_V_CLOSE:
		set_term(s, 'P', 'D');
		return -1;
	default:
		atomic_fetch_add_explicit(&s->be->ctr.denied_conn, 1, memory_order_relaxed);
		set_term(s, 'P', 'D');
		return -1;
	}
}

/* "stick store-request" / "stick on": remember the server for the keys. */
static void store_stickiness(struct session *s)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];

	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	stick_rules_store(s->be, s->srv, &ctx);
}

/* The connection to the server is up. Returns -1 after closing s. */
static int connected(struct session *s)
{
	unsigned opts = s->fe->options | s->be->options;

	int hdr_ok = !(s->srv->flags & (SRV_F_SEND_PROXY | SRV_F_SEND_PROXY_V2)) ||
		     queue_proxy_header(s) == 0;

	if (!hdr_ok)
		set_term(s, 'R', 'C');
	if (!hdr_ok || response_rules(s) < 0) {
		session_close(s);
		return -1;
	}
	check_observe(s->srv, s->srv->chk.flags, 1);
	if (stick_rules_has(s->be))
		store_stickiness(s);
	s->state = SS_RELAY;
	s->t_connect = (int32_t)(now_ms(s) - s->t_accept);
	s->cli_active = s->srv_active = now_ms(s);
	if (opts & PX_O_SPLICE_REQ)
		s->flags |= SF_REQ_SPLICE;
	if (opts & PX_O_SPLICE_RTR)
		s->flags |= SF_RES_SPLICE;
	if (s->w->conf->global.nosplice || !s->w->rt->maxpipes)
		s->flags &= ~(SF_REQ_SPLICE | SF_RES_SPLICE);
	arm_relay_timer(s);
	return 0;
}

static void session_start_connect(struct session *s)
{
	struct sockaddr_storage ss;
	int one = 1, fd;

	s->conn_attempts++;
	if (server_address(s, &ss) < 0) {
		set_term(s, 'S', 'C');
		session_close(s);
		return;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_term(s, 'R', 'C');	/* out of file descriptors or memory */
		session_close(s);
		return;
	}
	if (privs_bind_source(fd, s->srv, s->be, &s->cli_addr) < 0) {
		privs_source_failed(s->w->conf, s->srv, s->be, errno);
		close(fd);
		set_term(s, 'R', 'C');	/* as HAProxy: a local resource problem */
		session_close(s);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((s->be->options & PX_O_SRVTCPKA) || (s->srv->flags & SRV_F_TCPKA))
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	s->sio.fd = fd;
	s->sio.cb = srv_io_cb;
	s->state = SS_CONNECTING;
	if (connect(fd, (struct sockaddr *)&ss, s->srv->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		connect_failed(s, 0);
		return;
	}
	if (loop_add(&s->w->loop, &s->sio, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
		set_term(s, 'R', 'C');
		session_close(s);
		return;
	}
	arm_deadline(s, s->be->to.connect);
}

/* HAProxy's "option redispatch <interval>": positive N redispatches every
 * Nth retry, negative -N on the Nth retry before the last (-1: last). */
static int should_redispatch(const struct session *s)
{
	const struct proxy *be = s->be;
	int retry = (int)be->retries - s->retries_left;	/* 1-based retry number */
	int iv = be->redispatch_interval;

	if (!(be->options & PX_O_REDISPATCH) || be->nb_srv < 2)
		return 0;
	if (iv > 0)
		return retry % iv == 0;
	return retry == (int)be->retries + 1 + iv;
}

static void connect_failed(struct session *s, int timed_out)
{
	unsigned wait;

	close_server_side(s);
	check_observe(s->srv, s->srv->chk.flags, 0);
	atomic_fetch_add(&s->srv->ctr.failed_conns, 1);
	atomic_fetch_add(&s->be->ctr.failed_conns, 1);
	if (!s->retries_left) {
		set_term(s, timed_out ? 's' : 'S', 'C');
		session_close(s);
		return;
	}
	s->retries_left--;
	atomic_fetch_add(&s->srv->ctr.retries, 1);
	atomic_fetch_add(&s->be->ctr.retries, 1);
	if (should_redispatch(s)) {
		s->prev_srv = s->srv;
		s->redispatched = 1;
		atomic_fetch_add(&s->be->ctr.redispatches, 1);
		atomic_fetch_add(&s->srv->ctr.redispatches, 1);
		backend_release_slot(s);
		s->flags &= ~SF_ASSIGNED;
		session_assign_and_connect(s, 1, NULL);
		return;
	}
	if (timed_out) {
		session_start_connect(s);
		return;
	}
	wait = s->be->to.connect && s->be->to.connect < TURNAROUND_MS ?
	       s->be->to.connect : TURNAROUND_MS;
	s->state = SS_TURNAROUND;
	arm_deadline(s, wait);
}

static void session_assign_and_connect(struct session *s, int avoid_prev,
				       struct server *forced)
{
	unsigned qto;

	s->state = SS_ASSIGN;
	switch (forced ? backend_assign_to(s, forced) : backend_assign(s, avoid_prev)) {
	case ASSIGN_OK:
		if (s->t_queue < 0)
			s->t_queue = (int32_t)(now_ms(s) - s->t_accept);
		session_start_connect(s);
		return;
	case ASSIGN_QUEUED:
		s->state = SS_QUEUED;
		qto = s->be->to.queue ? s->be->to.queue : s->be->to.connect;
		arm_deadline(s, qto);
		return;
	case ASSIGN_QUEUE_FULL:
		set_term(s, 's', 'Q');
		break;
	case ASSIGN_ERROR:
		set_term(s, 'R', 'C');
		break;
	case ASSIGN_NO_SERVER:
	default:
		set_term(s, 'S', 'C');
		break;
	}
	session_close(s);
}

void session_granted(struct session *s, struct server *srv)
{
	s->srv = srv;
	s->flags |= SF_SRV_SLOT | SF_ASSIGNED;
	s->t_queue = (int32_t)(now_ms(s) - s->t_accept);
	if (s->flags & SF_CLI_ERR) {
		set_term(s, 'C', 'Q');
		session_close(s);
		return;
	}
	session_start_connect(s);
}

/* --- events ------------------------------------------------------------- */

static void session_task_cb(struct task *t)
{
	session_process(container_of(t, struct session, task));
}

static void session_process(struct session *s)
{
	switch (s->state) {
	case SS_INSPECT:
		inspect_process(s);
		return;
	case SS_RELAY:
		switch (relay_run(s)) {
		case RELAY_CONTINUE:
			if (s->track)
				stk_track_bytes(s);
			return;
		case RELAY_MORE:
			loop_defer(&s->w->loop, &s->task);
			return;
		case RELAY_DONE:
		case RELAY_ABORT:
			session_close(s);
			return;
		}
		return;
	case SS_QUEUED:
		/* Without abortonclose a queued client that half-closes keeps
		 * its place; a reset ends the wait. */
		if ((s->flags & SF_CLI_ERR) && backend_unqueue(s)) {
			set_term(s, 'C', 'Q');
			session_close(s);
		}
		return;
	case SS_CONNECTING:
	case SS_TURNAROUND:
		if (s->flags & SF_CLI_ERR) {
			set_term(s, 'C', 'C');
			session_close(s);
		}
		return;
	default:
		return;
	}
}

static void cli_io_cb(struct io *io, uint32_t ev)
{
	struct session *s = container_of(io, struct session, cli);

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->flags |= SF_CLI_RD;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->flags |= SF_CLI_WR;
	if (ev & (EPOLLRDHUP | EPOLLHUP))
		s->flags |= SF_CLI_RDHUP;
	if (ev & EPOLLERR)
		s->flags |= SF_CLI_ERR;
	session_process(s);
}

static void srv_io_cb(struct io *io, uint32_t ev)
{
	struct session *s = container_of(io, struct session, sio);

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->flags |= SF_SRV_RD;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->flags |= SF_SRV_WR;
	if (ev & (EPOLLRDHUP | EPOLLHUP))
		s->flags |= SF_SRV_RDHUP;
	if (s->state == SS_CONNECTING) {
		if (ev & (EPOLLERR | EPOLLHUP)) {
			connect_failed(s, 0);
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		if (connected(s) < 0)
			return;
	}
	if (ev & EPOLLERR)
		s->flags |= SF_SRV_ERR;
	session_process(s);
}

/* --- accept ------------------------------------------------------------- */

void session_log_connect(struct session *s)
{
	struct log_sess_info li;
	struct sockaddr_storage cli, srv, fe_addr;

	if (!log_proxy_has_targets(s->fe, s->w->conf) ||
	    !log_proxy_wants_connect_line(s->fe))
		return;
	fill_log_info(s, &li, &cli, &srv, &fe_addr);
	log_connect(s->fe, s->w->conf, &li);
}

void session_abort(struct session *s, char who, char phase)
{
	set_term(s, who, phase);
	session_close(s);
}

/* Make the reset die on the way (TTL 1) where the kernel lets us, then
 * reset: the client sees nothing and keeps waiting, as HAProxy's
 * silent-drop intends. */
void session_silent_drop(struct session *s)
{
	struct linger lg = { 1, 0 };
	int one = 1;

	if (s->cli_addr.sa.sa_family == AF_INET6)
		setsockopt(s->cli.fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &one, sizeof(one));
	else
		setsockopt(s->cli.fd, IPPROTO_IP, IP_TTL, &one, sizeof(one));
	setsockopt(s->cli.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	atomic_fetch_add_explicit(&s->fe->ctr.denied_conn, 1, memory_order_relaxed);
	session_abort(s, 'P', 'R');
}

/* "stick match" / "stick on": the server a client sticks to, if usable. */
static struct server *sticky_server(struct session *s)
{
	struct sockaddr_storage src, dst;
	struct smp_ctx ctx;
	char scratch[512];

	inspect_smp_ctx(s, &ctx, &src, &dst, scratch, sizeof(scratch));
	return stick_rules_match(s->be, &ctx);
}

void session_backend_chosen(struct session *s, struct server *forced)
{
	if (!forced && stick_rules_has(s->be))
		forced = sticky_server(s);
	s->state = SS_ASSIGN;
	s->retries_left = (uint8_t)(s->be->retries > 255 ? 255 : s->be->retries);
	atomic_fetch_add_explicit(&s->be->beconn, 1, memory_order_relaxed);
	s->flags |= SF_BE_COUNTED;
	if (s->be != s->fe)
		atomic_fetch_add_explicit(&s->be->ctr.cum_sess, 1, memory_order_relaxed);
	session_assign_and_connect(s, 0, forced);
}

void session_accept(struct worker *w, struct bind_conf *bc, int fd,
		    const union sockaddr_any *addr, socklen_t alen)
{
	struct proxy *fe = bc->fe;
	struct session *s = pool_alloc(&w->sess_pool);
	struct timeval tv;
	int one = 1;

	if (!s) {
		close(fd);
		listener_conn_closed(w, bc);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->fe = fe;
	s->bc = bc;
	s->cli.fd = fd;
	s->cli.cb = cli_io_cb;
	s->sio.fd = -1;
	memcpy(&s->cli_addr, addr, alen < sizeof(s->cli_addr) ? alen : sizeof(s->cli_addr));
	timer_init(&s->timer, session_timer_cb);
	task_init(&s->task, session_task_cb);
	list_add_tail(&w->sessions, &s->node);
	w->nb_sessions++;
	s->t_accept = s->cli_active = s->srv_active = w->loop.now_ms;
	gettimeofday(&tv, NULL);
	s->accept_date_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	s->t_queue = s->t_connect = -1;
	atomic_fetch_add_explicit(&fe->ctr.cum_conn, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fe->ctr.cum_sess, 1, memory_order_relaxed);
	if (fe->options & (PX_O_CLITCPKA))
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (loop_add(&w->loop, &s->cli, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
		set_term(s, 'R', 'C');
		session_close(s);
		return;
	}
	inspect_start(s);
}

unsigned session_kill_server(struct worker *w, const struct server *srv, char who)
{
	struct list *pos, *tmp;
	unsigned n = 0;

	list_for_each_safe(pos, tmp, &w->sessions) {
		struct session *s = list_entry(pos, struct session, node);

		if (s->srv != srv || !(s->flags & SF_ASSIGNED) || s->state == SS_CLOSED)
			continue;
		if (s->state == SS_QUEUED)
			continue;	/* waiting for a slot: not on the server yet */
		set_term(s, who, s->state == SS_RELAY ? 'D' : 'C');
		session_close(s);
		n++;
	}
	return n;
}

void session_kill_all(struct worker *w)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &w->sessions) {
		struct session *s = list_entry(pos, struct session, node);

		if (s->state == SS_QUEUED && !backend_unqueue(s))
			continue;	/* granted: the inbox still holds it */
		set_term(s, 'K', 'D');
		session_close(s);
	}
}
