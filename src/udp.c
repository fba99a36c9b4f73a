/* udp.c - mode udp: datagram sessions between clients and servers.
 *
 *   client datagram -> find (listener, sender) in the worker's table
 *       -> new: frontend slot (evict the least recently active), stick
 *          rules or balancer, server slot, connected socket to the server
 *       -> server unusable: move the session to another one
 *       -> send() on the session's socket (with a PROXY v2 header)
 *   server datagrams -> recvmmsg on the session's socket -> sendmmsg to
 *       the client from the address it reached
 *   silence for "timeout client" -> end, log, count
 *
 * Termination codes in logs: "cD" timeout, "RD" evicted because the
 * frontend reached its maxconn (a proxy resource ran out during the data
 * phase), "SD" the server became unusable and no other one could take the
 * session, "KD" ended at shutdown.
 *
 * All I/O of a worker goes through one set of UDP_BATCH buffers allocated
 * at start: a batch is read, relayed and done before the next one is read,
 * so nothing is copied or allocated per datagram. The data path only
 * stamps last_active; the session's timer re-arms itself when it fires
 * early, so the wheel is not touched per datagram either.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sluice/backend.h"
#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/log.h"
#include "sluice/proxy.h"
#include "sluice/proxy_proto.h"
#include "sluice/sample.h"
#include "sluice/server.h"
#include "sluice/session.h"
#include "sluice/stick.h"
#include "sluice/udp.h"
#include "sluice/worker.h"

/* Fairness: batches read per callback before yielding to other sockets. */
#define CLI_BATCHES_PER_CB	8
#define SRV_BATCHES_PER_CB	4
/* v2 header with two IPv6 addresses and a CRC32C TLV is 59 bytes. */
#define PP_HDR_MAX		64
#define MIN_BUCKETS		256u
#define MAX_BUCKETS		(1u << 20)

/* Room for one IPv4 and one IPv6 pktinfo: a dual-stack socket reports
 * IPv4 datagrams with IP_PKTINFO and IPv6 ones with IPV6_PKTINFO. */
union udp_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* A UDP frontend as seen by one worker: its sessions by last activity
 * (oldest first), so that maxconn evicts in O(1). */
struct udp_front {
	struct proxy *fe;
	struct list lru;
};

/* This worker's socket of one UDP listener. */
struct udp_listener {
	struct io io;
	struct udp_worker *uw;
	struct listener *li;
	struct udp_front *front;
	struct task more;	/* batch budget spent: continue later */
	int pktinfo;		/* wildcard bind: the local address varies */
	int stopped;
};

struct udp_sess {
	struct io io;			/* connected socket towards srv */
	struct udp_sess *hnext;		/* hash chain */
	struct list lru;		/* in front->lru */
	struct timer timer;
	struct task more;		/* server batch budget spent */
	struct udp_listener *ul;	/* where replies leave from */
	struct proxy *be;
	struct server *srv;		/* holds a slot; NULL only while moving */
	uint64_t hash;
	union sockaddr_any peer;	/* the sender: key, and where replies go */
	union sockaddr_any local;	/* the address the sender reached */
	union sockaddr_any cli;		/* PROXY header's source, else peer */
	union sockaddr_any dst;		/* PROXY header's destination, else local */
	socklen_t peer_len;
	int ifindex;			/* IPv6 link-local replies need it */
	unsigned timeout;		/* ms of silence that end the session */
	uint64_t t_start, last_active, accept_date_ms;
	uint64_t dgrams_in, dgrams_out, bytes_in, bytes_out;
	uint64_t acct_in, acct_out;	/* bytes already added to proxy/server counters */
	int redispatched;
	uint8_t pp_len;			/* "send-proxy-v2": header sent before each datagram */
	uint8_t pp_hdr[PP_HDR_MAX];
};

/* Datagrams dropped on this worker, by reason (for tests and, later, the
 * runtime API). */
struct udp_drops {
	uint64_t truncated, bad_proxy, no_server, limit, send_full, refused, recv_err;
};

struct udp_worker {
	struct worker *w;
	struct udp_front *fronts;
	unsigned nfronts;
	struct udp_listener *ls;
	unsigned nls;
	struct udp_sess **buckets;
	unsigned mask;			/* buckets - 1 */
	unsigned nsess;
	struct pool pool;
	struct udp_drops drops;
	uint8_t *bufs;			/* UDP_BATCH * UDP_MAX_DGRAM */
	struct mmsghdr crx[UDP_BATCH];	/* from clients: with address and pktinfo */
	struct mmsghdr srx[UDP_BATCH];	/* from a server: connected, no address */
	struct mmsghdr tx[UDP_BATCH];	/* to a client */
	struct iovec rx_iov[UDP_BATCH];	/* whole buffers */
	struct iovec tx_iov[UDP_BATCH];	/* what was received */
	union sockaddr_any crx_addr[UDP_BATCH];
	union udp_cmsg crx_cmsg[UDP_BATCH];
	union udp_cmsg tx_cmsg;		/* one batch goes to one client */
};

static void sess_end(struct udp_sess *s, const char *term);

static inline struct worker *sess_worker(const struct udp_sess *s)
{
	return s->ul->uw->w;
}

static inline uint64_t now_ms(const struct udp_worker *uw)
{
	return uw->w->loop.now_ms;
}

/* ---- session keys ------------------------------------------------------ */

uint64_t udp_key_hash(const void *owner, const struct sockaddr *a)
{
	struct {
		const void *owner;
		uint16_t family, port;
		uint32_t scope;
		uint8_t addr[16];
	} k;

	memset(&k, 0, sizeof(k));
	k.owner = owner;
	k.family = a->sa_family;
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		k.port = in6->sin6_port;
		k.scope = in6->sin6_scope_id;
		memcpy(k.addr, &in6->sin6_addr, 16);
	} else if (a->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		k.port = in->sin_port;
		memcpy(k.addr, &in->sin_addr, 4);
	}
	return lb_hash_bytes(&k, sizeof(k));
}

int udp_addr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return 0;
}

static struct udp_sess *sess_lookup(struct udp_worker *uw, const struct udp_listener *ul,
				    const union sockaddr_any *peer, uint64_t hash)
{
	struct udp_sess *s;

	for (s = uw->buckets[hash & uw->mask]; s; s = s->hnext)
		if (s->hash == hash && s->ul == ul && udp_addr_same(&s->peer.sa, &peer->sa))
			return s;
	return NULL;
}

static void sess_unhash(struct udp_worker *uw, struct udp_sess *s)
{
	struct udp_sess **pp = &uw->buckets[s->hash & uw->mask];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
}

/* Stamp activity; the LRU moves at most once per loop tick per session. */
static inline void sess_touch(struct udp_sess *s)
{
	uint64_t now = now_ms(s->ul->uw);

	if (s->last_active == now)
		return;
	s->last_active = now;
	list_del(&s->lru);
	list_add_tail(&s->ul->front->lru, &s->lru);
}

/* ---- counters and log -------------------------------------------------- */

static void add_bytes(_Atomic uint64_t *in, _Atomic uint64_t *out, uint64_t din, uint64_t dout)
{
	if (din)
		atomic_fetch_add_explicit(in, din, memory_order_relaxed);
	if (dout)
		atomic_fetch_add_explicit(out, dout, memory_order_relaxed);
}

/* Flush the bytes relayed since the last flush to fe, be and srv: at the
 * end, when moving off a server, and whenever the timer fires. */
static void account_bytes(struct udp_sess *s)
{
	struct proxy *fe = s->ul->front->fe;
	uint64_t din = s->bytes_in - s->acct_in, dout = s->bytes_out - s->acct_out;

	if (!din && !dout)
		return;
	add_bytes(&fe->ctr.bytes_in, &fe->ctr.bytes_out, din, dout);
	if (s->be != fe)
		add_bytes(&s->be->ctr.bytes_in, &s->be->ctr.bytes_out, din, dout);
	if (s->srv)
		add_bytes(&s->srv->ctr.bytes_in, &s->srv->ctr.bytes_out, din, dout);
	s->acct_in = s->bytes_in;
	s->acct_out = s->bytes_out;
}

static void to_storage(struct sockaddr_storage *ss, const union sockaddr_any *a)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, a, sizeof(*a));
}

static void sess_log(struct udp_sess *s, const char *term)
{
	struct worker *w = sess_worker(s);
	struct proxy *fe = s->ul->front->fe;
	struct sockaddr_storage cli, local, srv;
	struct log_sess_info li;

	if (!log_proxy_has_targets(fe, w->conf))
		return;
	memset(&li, 0, sizeof(li));
	to_storage(&cli, &s->cli);
	to_storage(&local, &s->local);
	li.cli = &cli;
	li.fe_addr = &local;
	if (s->srv) {
		memcpy(&srv, &s->srv->addr, sizeof(srv));
		li.srv_addr = &srv;
	}
	li.fe_name = fe->name;
	li.be_name = s->be->name;
	li.srv_name = s->srv ? s->srv->name : "<NOSRV>";
	li.accept_date_ms = s->accept_date_ms;
	li.Tt = (int64_t)(now_ms(s->ul->uw) - s->t_start);
	li.bytes_in = s->bytes_in;
	li.bytes_out = s->bytes_out;
	li.term[0] = term[0];
	li.term[1] = term[1];
	/* rt->actconn counts TCP sessions: the frontend's count is what
	 * a UDP line can honestly show as %ac. */
	li.actconn = li.feconn = atomic_load(&fe->feconn);
	li.beconn = atomic_load(&s->be->beconn);
	li.srv_conn = s->srv ? atomic_load(&s->srv->cur_conns) : 0;
	li.redispatched = s->redispatched;
	li.level = LOG_LVL_INFO;
	log_udp_session(fe, w->conf, &li, s->dgrams_in, s->dgrams_out);
}

/* ---- choosing a server --------------------------------------------------- */

struct sess_ctx {
	struct smp_ctx ctx;
	struct sockaddr_storage src, dst;
	char scratch[256];
};

/* What stick rules and "balance hash" see of a UDP session: addresses. */
static void sess_smp_ctx(const struct udp_sess *s, struct sess_ctx *c)
{
	memset(&c->ctx, 0, sizeof(c->ctx));
	to_storage(&c->src, &s->cli);
	to_storage(&c->dst, &s->dst);
	c->ctx.src = &c->src;
	c->ctx.dst = &c->dst;
	c->ctx.fe = s->ul->front->fe;
	c->ctx.be = s->be;
	c->ctx.conf = sess_worker(s)->conf;
	c->ctx.scratch = c->scratch;
	c->ctx.scratch_size = sizeof(c->scratch);
}

static uint64_t balance_hash(const struct udp_sess *s, const struct smp_ctx *ctx)
{
	const struct lb *lb = &s->be->lb;
	struct sample smp;
	const void *p;
	size_t len;
	char tmp[16];

	if (lb->algo == LB_ALGO_SOURCE) {
		if (s->cli.sa.sa_family == AF_INET6)
			return lb_hash_bytes(&s->cli.in6.sin6_addr, sizeof(s->cli.in6.sin6_addr));
		return lb_hash_bytes(&s->cli.in.sin_addr, sizeof(s->cli.in.sin_addr));
	}
	if (lb->algo == LB_ALGO_HASH && lb->hash_expr && sample_eval(lb->hash_expr, ctx, &smp) &&
	    sample_to_bytes(&smp, &p, &len, tmp) == 0)
		return lb_hash_bytes(p, len);
	/* No key: spread by sender, as the TCP path spreads by session. */
	return s->hash;
}

/* A server for s other than avoid, with a slot taken, or NULL. Stick
 * rules first; a sticky server that is full gives way to the balancer
 * (there is no queue for datagrams). */
static struct server *choose_server(struct udp_sess *s, const struct smp_ctx *ctx,
				    const struct server *avoid)
{
	struct proxy *be = s->be;
	struct server *srv;
	uint64_t hash;
	int all_full;

	if (stick_rules_has(be)) {
		srv = stick_rules_match(be, ctx);
		if (srv && srv != avoid && server_take_slot(srv))
			return srv;
	}
	hash = balance_hash(s, ctx);
	srv = lb_pick(be, hash, avoid, &all_full);
	if (!srv)
		return NULL;
	if (server_take_slot(srv))
		return srv;
	/* Full (a hashing balancer may insist on it) or taken meanwhile by
	 * another thread: one more pick elsewhere. */
	srv = lb_pick(be, hash, srv, &all_full);
	if (srv && srv != avoid && server_take_slot(srv))
		return srv;
	return NULL;
}

/* The server's address; "server x 10.0.0.1" (no port) or "+N" follow the
 * port the client reached, as for TCP. */
static int server_address(const struct udp_sess *s, struct sockaddr_storage *ss)
{
	return server_dest_addr(s->srv, &s->local.sa, ss);
}

/* Built once per session and server: the addresses never change. */
static void build_proxy_header(struct udp_sess *s)
{
	struct sockaddr_storage src, dst;
	struct pp_tlvs tlvs = { 0 };

	s->pp_len = 0;
	if (!(s->srv->flags & SRV_F_SEND_PROXY_V2))
		return;
	tlvs.crc32c = !!(s->srv->pp_opts & PP_OPT_CRC32C);
	to_storage(&src, &s->cli);
	to_storage(&dst, &s->dst);
	s->pp_len = (uint8_t)pp_build_v2(&src, &dst, 1, &tlvs, s->pp_hdr, sizeof(s->pp_hdr));
}

static void srv_io_cb(struct io *io, uint32_t ev);

/* Open s's socket towards s->srv. 0, or -1 with nothing open. */
static int sess_connect(struct udp_sess *s)
{
	struct sockaddr_storage ss;
	int fd;

	if (server_address(s, &ss) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	s->io.fd = fd;
	s->io.cb = srv_io_cb;
	if (connect(fd, (struct sockaddr *)&ss, s->srv->addrlen) < 0 ||
	    loop_add(&sess_worker(s)->loop, &s->io, EPOLLIN) < 0) {
		close(fd);
		s->io.fd = -1;
		return -1;
	}
	build_proxy_header(s);
	return 0;
}

static void sess_close_socket(struct udp_sess *s)
{
	if (s->io.fd < 0)
		return;
	loop_cancel(&s->more);
	loop_forget(&sess_worker(s)->loop, &s->io);
	close(s->io.fd);
	s->io.fd = -1;
}

/* Choose a server (not avoid) and connect to it. 0, or -1 with no slot held
 * (no usable server: counted on the backend). */
static int sess_attach(struct udp_sess *s, const struct server *avoid)
{
	struct sess_ctx c;

	sess_smp_ctx(s, &c);
	s->srv = choose_server(s, &c.ctx, avoid);
	if (!s->srv) {
		atomic_fetch_add_explicit(&s->be->ctr.failed_conns, 1, memory_order_relaxed);
		s->ul->uw->drops.no_server++;
		return -1;
	}
	if (sess_connect(s) < 0) {
		atomic_fetch_add_explicit(&s->srv->ctr.failed_conns, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->be->ctr.failed_conns, 1, memory_order_relaxed);
		server_drop_slot(s->srv);
		s->srv = NULL;
		return -1;
	}
	if (stick_rules_has(s->be))
		stick_rules_store(s->be, s->srv, &c.ctx);
	return 0;
}

/* s's server went down or into maintenance: the next datagram goes
 * elsewhere. -1 when no server is left (s has been ended). */
static int sess_move(struct udp_sess *s)
{
	struct server *old = s->srv;

	account_bytes(s);
	sess_close_socket(s);
	server_drop_slot(old);
	s->srv = NULL;
	if (sess_attach(s, old) < 0) {
		sess_end(s, "SD");
		return -1;
	}
	s->redispatched = 1;
	atomic_fetch_add_explicit(&s->be->ctr.redispatches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&old->ctr.redispatches, 1, memory_order_relaxed);
	return 0;
}

/* ---- session life ------------------------------------------------------ */

static void sess_timer_cb(struct timer *t)
{
	struct udp_sess *s = container_of(t, struct udp_sess, timer);
	uint64_t deadline = s->last_active + s->timeout;

	if (deadline > now_ms(s->ul->uw)) {
		/* Active meanwhile: keep the statistics fresh for long
		 * sessions, and sleep until the new deadline. */
		account_bytes(s);
		timer_arm(&sess_worker(s)->loop.timers, &s->timer, deadline);
		return;
	}
	sess_end(s, "cD");
}

static void sess_more_cb(struct task *t);

static void sess_end(struct udp_sess *s, const char *term)
{
	struct udp_worker *uw = s->ul->uw;
	struct proxy *fe = s->ul->front->fe;

	timer_disarm(&uw->w->loop.timers, &s->timer);
	sess_log(s, term);
	account_bytes(s);
	sess_close_socket(s);
	if (s->srv)
		server_drop_slot(s->srv);
	atomic_fetch_sub(&fe->feconn, 1);
	atomic_fetch_sub(&s->be->beconn, 1);
	sess_unhash(uw, s);
	list_del(&s->lru);
	uw->nsess--;
	pool_free(&uw->pool, s);
}

/* One more session on fe: at the limit (the frontend's maxconn, else the
 * global one), this worker's least recently active session of fe gives
 * its place. 1 when the slot is taken. */
static int fe_take_slot(struct udp_listener *ul)
{
	struct proxy *fe = ul->front->fe;
	unsigned max = px_maxconn(fe) ? px_maxconn(fe) : rt_maxconn(ul->uw->w->rt);

	for (int tries = 0; tries < 2; tries++) {
		unsigned v = atomic_fetch_add(&fe->feconn, 1);

		if (!max || v < max)
			return 1;
		atomic_fetch_sub(&fe->feconn, 1);
		if (tries || list_empty(&ul->front->lru))
			break;
		sess_end(list_first(&ul->front->lru, struct udp_sess, lru), "RD");
	}
	ul->uw->drops.limit++;
	return 0;
}

/* The backend of a UDP frontend: use_backend and content rules are refused
 * for mode udp, so default_backend or the listen section itself. */
static struct proxy *udp_backend(struct proxy *fe)
{
	if (fe->default_backend)
		return fe->default_backend;
	return (fe->cap & PX_CAP_BE) ? fe : NULL;
}

static void sess_set_addrs(struct udp_sess *s, const union sockaddr_any *peer, socklen_t plen,
			   const union sockaddr_any *local, int ifindex,
			   const struct pp_info *pp)
{
	s->peer = *peer;
	s->peer_len = plen;
	s->local = *local;
	s->ifindex = ifindex;
	s->cli = *peer;
	s->dst = *local;
	if (pp && !pp->local && pp->src.ss_family == pp->dst.ss_family &&
	    (pp->src.ss_family == AF_INET || pp->src.ss_family == AF_INET6)) {
		memcpy(&s->cli, &pp->src, sizeof(s->cli));
		memcpy(&s->dst, &pp->dst, sizeof(s->dst));
	}
}

static void sess_register(struct udp_sess *s)
{
	struct udp_worker *uw = s->ul->uw;
	struct proxy *fe = s->ul->front->fe;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	s->accept_date_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	s->t_start = s->last_active = now_ms(uw);
	s->timeout = fe->to.client ? fe->to.client : UDP_DEFAULT_TIMEOUT_MS;
	s->hnext = uw->buckets[s->hash & uw->mask];
	uw->buckets[s->hash & uw->mask] = s;
	list_add_tail(&s->ul->front->lru, &s->lru);
	uw->nsess++;
	timer_arm(&uw->w->loop.timers, &s->timer, s->t_start + s->timeout);
	atomic_fetch_add_explicit(&fe->ctr.cum_conn, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fe->ctr.cum_sess, 1, memory_order_relaxed);
	if (s->be != fe)
		atomic_fetch_add_explicit(&s->be->ctr.cum_sess, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->be->beconn, 1, memory_order_relaxed);
}

/* A sender's first datagram. NULL when it is dropped (no backend, no
 * server, limit, no memory or socket): nothing is kept for it. */
static struct udp_sess *sess_create(struct udp_listener *ul, const union sockaddr_any *peer,
				    socklen_t plen, uint64_t hash, const union sockaddr_any *local,
				    int ifindex, const struct pp_info *pp)
{
	struct udp_worker *uw = ul->uw;
	struct proxy *be = udp_backend(ul->front->fe);
	struct udp_sess *s;

	if (!be) {
		uw->drops.no_server++;
		return NULL;
	}
	if (!fe_take_slot(ul))
		return NULL;
	s = pool_alloc(&uw->pool);
	if (!s) {
		atomic_fetch_sub(&ul->front->fe->feconn, 1);
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->ul = ul;
	s->be = be;
	s->hash = hash;
	s->io.fd = -1;
	timer_init(&s->timer, sess_timer_cb);
	task_init(&s->more, sess_more_cb);
	list_init(&s->lru);
	sess_set_addrs(s, peer, plen, local, ifindex, pp);
	if (sess_attach(s, NULL) < 0) {
		atomic_fetch_sub(&ul->front->fe->feconn, 1);
		pool_free(&uw->pool, s);
		return NULL;
	}
	sess_register(s);
	return s;
}

/* ---- client -> server ---------------------------------------------------- */

static ssize_t sess_send(struct udp_sess *s, uint8_t *data, size_t len)
{
	struct iovec iov[2];
	struct msghdr m;

	if (!s->pp_len)
		return send(s->io.fd, data, len, MSG_DONTWAIT);
	iov[0].iov_base = s->pp_hdr;
	iov[0].iov_len = s->pp_len;
	iov[1].iov_base = data;
	iov[1].iov_len = len;
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	return sendmsg(s->io.fd, &m, MSG_DONTWAIT);
}

static void sess_forward(struct udp_sess *s, uint8_t *data, size_t len)
{
	ssize_t r = sess_send(s, data, len);

	/* An ICMP port unreachable for an earlier datagram is reported (and
	 * cleared) by this send, which did not go out: count it, try again. */
	if (r < 0 && errno == ECONNREFUSED) {
		s->ul->uw->drops.refused++;
		r = sess_send(s, data, len);
	}
	if (r < 0) {
		if (errno == ECONNREFUSED)
			s->ul->uw->drops.refused++;
		else
			s->ul->uw->drops.send_full++;	/* EAGAIN, ENOBUFS, ... */
		return;
	}
	s->dgrams_in++;
	s->bytes_in += len;
	sess_touch(s);
}

/* "accept-proxy": every datagram starts with a v2 header; strip it. -1 to
 * drop the datagram (missing, v1, malformed). */
static int strip_proxy_header(uint8_t **data, size_t *len, struct pp_info *pp)
{
	size_t used = 0;

	if (pp_parse(*data, *len, pp, &used, NULL, 0) != PP_OK || pp->version != 2 ||
	    used > *len)
		return -1;
	*data += used;
	*len -= used;
	return 0;
}

/* The address the datagram was sent to: the listener's, or for a wildcard
 * bind the one its pktinfo reports (with the listener's port). */
static void rx_local_addr(const struct udp_listener *ul, struct msghdr *m,
			  union sockaddr_any *local, int *ifindex)
{
	struct cmsghdr *c;

	memset(local, 0, sizeof(*local));
	memcpy(local, &ul->li->addr, sizeof(*local));
	*ifindex = 0;
	if (!ul->pktinfo)
		return;
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (local->sa.sa_family == AF_INET) {
				local->in.sin_addr = pi.ipi_spec_dst;
			} else {	/* IPv4 on a dual-stack socket: mapped */
				memset(&local->in6.sin6_addr, 0, 10);
				memset((char *)&local->in6.sin6_addr + 10, 0xff, 2);
				memcpy((char *)&local->in6.sin6_addr + 12, &pi.ipi_spec_dst, 4);
			}
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   local->sa.sa_family == AF_INET6) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in6.sin6_addr = pi.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				*ifindex = (int)pi.ipi6_ifindex;
		}
	}
}

static void client_dgram(struct udp_listener *ul, unsigned i)
{
	struct udp_worker *uw = ul->uw;
	struct msghdr *m = &uw->crx[i].msg_hdr;
	union sockaddr_any *peer = &uw->crx_addr[i];
	uint8_t *data = uw->rx_iov[i].iov_base;
	size_t len = uw->crx[i].msg_len;
	struct pp_info pp, *ppp = NULL;
	struct udp_sess *s;
	uint64_t hash;

	if (m->msg_flags & MSG_TRUNC) {
		uw->drops.truncated++;
		return;
	}
	if (ul->li->bc->accept_proxy) {
		if (strip_proxy_header(&data, &len, &pp) < 0) {
			uw->drops.bad_proxy++;
			atomic_fetch_add_explicit(&ul->front->fe->ctr.denied_conn, 1,
						  memory_order_relaxed);
			return;
		}
		ppp = &pp;
	}
	hash = udp_key_hash(ul, &peer->sa);
	s = sess_lookup(uw, ul, peer, hash);
	if (!s) {
		union sockaddr_any local;
		int ifindex;

		rx_local_addr(ul, m, &local, &ifindex);
		s = sess_create(ul, peer, m->msg_namelen, hash, &local, ifindex, ppp);
		if (!s)
			return;
	} else if (!srv_can_be_forced(s->srv) && sess_move(s) < 0) {
		return;
	}
	sess_forward(s, data, len);
}

/* recvmmsg overwrites lengths and flags: reset what it changes. */
static void crx_prepare(struct udp_worker *uw, int pktinfo)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		struct msghdr *m = &uw->crx[i].msg_hdr;

		m->msg_name = &uw->crx_addr[i];
		m->msg_namelen = sizeof(uw->crx_addr[i]);
		m->msg_iov = &uw->rx_iov[i];
		m->msg_iovlen = 1;
		m->msg_control = pktinfo ? uw->crx_cmsg[i].buf : NULL;
		m->msg_controllen = pktinfo ? sizeof(uw->crx_cmsg[i].buf) : 0;
		m->msg_flags = 0;
	}
}

/* A batch shorter than UDP_BATCH means the queue was empty when it ended:
 * a datagram arriving later raises a new edge, so there is no need to read
 * until EAGAIN. */
static void listener_read(struct udp_listener *ul)
{
	struct udp_worker *uw = ul->uw;

	for (int b = 0; b < CLI_BATCHES_PER_CB; b++) {
		int n;

		crx_prepare(uw, ul->pktinfo);
		n = recvmmsg(ul->io.fd, uw->crx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				uw->drops.recv_err++;
			return;
		}
		for (int i = 0; i < n; i++)
			client_dgram(ul, (unsigned)i);
		if (n < UDP_BATCH)
			return;
	}
	loop_defer(&uw->w->loop, &ul->more);
}

static void listener_io_cb(struct io *io, uint32_t ev)
{
	(void)ev;
	listener_read(container_of(io, struct udp_listener, io));
}

static void listener_more_cb(struct task *t)
{
	struct udp_listener *ul = container_of(t, struct udp_listener, more);

	if (!ul->stopped)
		listener_read(ul);
}

/* ---- server -> client ---------------------------------------------------- */

/* The source address of replies, for wildcard binds. Returns its length. */
static size_t build_pktinfo(const struct udp_sess *s, union udp_cmsg *c)
{
	struct cmsghdr *h = &c->align;

	memset(c, 0, sizeof(*c));
	if (s->local.sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = s->local.in6.sin6_addr,
					  .ipi6_ifindex = (unsigned)s->ifindex };

		h->cmsg_level = IPPROTO_IPV6;
		h->cmsg_type = IPV6_PKTINFO;
		h->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(h), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in_pktinfo pi = { .ipi_spec_dst = s->local.in.sin_addr };

		h->cmsg_level = IPPROTO_IP;
		h->cmsg_type = IP_PKTINFO;
		h->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(h), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/* Set up tx[] for the n datagrams just read; returns how many to send. */
static unsigned tx_prepare(struct udp_sess *s, unsigned n)
{
	struct udp_worker *uw = s->ul->uw;
	size_t clen = s->ul->pktinfo ? build_pktinfo(s, &uw->tx_cmsg) : 0;
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct msghdr *m = &uw->tx[k].msg_hdr;

		if (uw->srx[i].msg_hdr.msg_flags & MSG_TRUNC) {
			uw->drops.truncated++;
			continue;
		}
		uw->tx_iov[k].iov_base = uw->rx_iov[i].iov_base;
		uw->tx_iov[k].iov_len = uw->srx[i].msg_len;
		m->msg_name = &s->peer;
		m->msg_namelen = s->peer_len;
		m->msg_iov = &uw->tx_iov[k];
		m->msg_iovlen = 1;
		m->msg_control = clen ? uw->tx_cmsg.buf : NULL;
		m->msg_controllen = clen;
		m->msg_flags = 0;
		k++;
	}
	return k;
}

static void reply_batch(struct udp_sess *s, unsigned n)
{
	struct udp_worker *uw = s->ul->uw;
	unsigned k = tx_prepare(s, n), sent = 0;

	while (sent < k) {
		int r = sendmmsg(s->ul->io.fd, uw->tx + sent, k - sent, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Full socket buffer: datagrams may be lost, as on
			 * the wire; never wait for room. */
			uw->drops.send_full += k - sent;
			break;
		}
		sent += (unsigned)r;
	}
	for (unsigned i = 0; i < sent; i++)
		s->bytes_out += uw->tx_iov[i].iov_len;
	s->dgrams_out += sent;
	if (sent)
		sess_touch(s);
}

static void srx_prepare(struct udp_worker *uw)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		struct msghdr *m = &uw->srx[i].msg_hdr;

		memset(m, 0, sizeof(*m));
		m->msg_iov = &uw->rx_iov[i];
		m->msg_iovlen = 1;
	}
}

static void sess_read_server(struct udp_sess *s)
{
	struct udp_worker *uw = s->ul->uw;

	for (int b = 0; b < SRV_BATCHES_PER_CB; b++) {
		int n;

		srx_prepare(uw);
		n = recvmmsg(s->io.fd, uw->srx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* ICMP unreachable for what we sent: the error is
			 * consumed by this call, datagrams may follow. */
			if (errno == ECONNREFUSED) {
				uw->drops.refused++;
				continue;
			}
			if (errno == EINTR)
				continue;
			return;
		}
		reply_batch(s, (unsigned)n);
		if (n < UDP_BATCH)
			return;
	}
	loop_defer(&uw->w->loop, &s->more);
}

static void srv_io_cb(struct io *io, uint32_t ev)
{
	(void)ev;
	sess_read_server(container_of(io, struct udp_sess, io));
}

static void sess_more_cb(struct task *t)
{
	struct udp_sess *s = container_of(t, struct udp_sess, more);

	if (s->io.fd >= 0)
		sess_read_server(s);
}

/* ---- worker set-up ------------------------------------------------------- */

static int udp_frontend(const struct proxy *px)
{
	return (px->cap & PX_CAP_FE) && px->mode == PX_MODE_UDP && !px->disabled;
}

static int addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

/* Count UDP frontends and listeners, and the sessions a worker may hold. */
static void count_udp(const struct worker *w, unsigned *nfronts, unsigned *nls,
		      unsigned long *maxsess)
{
	*nfronts = *nls = 0;
	*maxsess = 0;
	for (const struct proxy *px = w->conf->proxies; px; px = px->next) {
		const struct list *b, *l;

		if (!udp_frontend(px))
			continue;
		(*nfronts)++;
		*maxsess += px->maxconn ? px->maxconn : w->rt->maxconn;
		for (b = px->binds.next; b != &px->binds; b = b->next) {
			const struct bind_conf *bc = list_entry(b, const struct bind_conf, node);

			for (l = bc->listeners.next; l != &bc->listeners; l = l->next)
				(*nls)++;
		}
	}
	if (w->rt->nworkers > 1)
		*maxsess /= w->rt->nworkers;
}

static int table_init(struct udp_worker *uw, unsigned long maxsess)
{
	unsigned n = MIN_BUCKETS;

	while (n < maxsess && n < MAX_BUCKETS)
		n <<= 1;
	uw->buckets = calloc(n, sizeof(*uw->buckets));
	uw->mask = n - 1;
	return uw->buckets ? 0 : -1;
}

static int buffers_init(struct udp_worker *uw)
{
	uw->bufs = malloc((size_t)UDP_BATCH * UDP_MAX_DGRAM);
	if (!uw->bufs)
		return -1;
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		uw->rx_iov[i].iov_base = uw->bufs + (size_t)i * UDP_MAX_DGRAM;
		uw->rx_iov[i].iov_len = UDP_MAX_DGRAM;
	}
	return 0;
}

/* Wildcard binds learn each datagram's local address; a dual-stack IPv6
 * socket reports IPv4 datagrams through IP_PKTINFO. */
static void enable_pktinfo(struct udp_listener *ul)
{
	int one = 1;

	if (ul->li->addr.ss_family == AF_INET6) {
		setsockopt(ul->io.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		setsockopt(ul->io.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		setsockopt(ul->io.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	ul->pktinfo = 1;
}

static int listener_setup(struct udp_worker *uw, struct udp_front *front,
			  struct listener *li)
{
	struct udp_listener *ul = &uw->ls[uw->nls++];

	ul->uw = uw;
	ul->li = li;
	ul->front = front;
	ul->io.fd = li->fds && uw->w->id < li->nbfds ? li->fds[uw->w->id] : -1;
	ul->io.cb = listener_io_cb;
	task_init(&ul->more, listener_more_cb);
	if (ul->io.fd < 0) {
		ul->stopped = 1;
		return 0;
	}
	if (addr_is_wildcard(&li->addr))
		enable_pktinfo(ul);
	return loop_add(&uw->w->loop, &ul->io, EPOLLIN);
}

static int listeners_setup(struct udp_worker *uw)
{
	for (struct proxy *px = uw->w->conf->proxies; px; px = px->next) {
		struct udp_front *front;
		struct list *b, *l;

		if (!udp_frontend(px))
			continue;
		front = &uw->fronts[uw->nfronts++];
		front->fe = px;
		list_init(&front->lru);
		for (b = px->binds.next; b != &px->binds; b = b->next) {
			struct bind_conf *bc = list_entry(b, struct bind_conf, node);

			for (l = bc->listeners.next; l != &bc->listeners; l = l->next)
				if (listener_setup(uw, front, list_entry(l, struct listener, node)) < 0)
					return -1;
		}
	}
	return 0;
}

int udp_worker_init(struct worker *w)
{
	struct udp_worker *uw;
	unsigned nfronts, nls;
	unsigned long maxsess;

	w->udp = NULL;
	count_udp(w, &nfronts, &nls, &maxsess);
	if (!nfronts)
		return 0;
	uw = calloc(1, sizeof(*uw));
	if (!uw)
		return -1;
	w->udp = uw;
	uw->w = w;
	pool_init(&uw->pool, sizeof(struct udp_sess), 4096);
	uw->fronts = calloc(nfronts, sizeof(*uw->fronts));
	uw->ls = nls ? calloc(nls, sizeof(*uw->ls)) : NULL;
	if (!uw->fronts || (nls && !uw->ls) || table_init(uw, maxsess) < 0 ||
	    buffers_init(uw) < 0)
		return -1;
	return listeners_setup(uw);
}

void udp_worker_stop(struct worker *w)
{
	struct udp_worker *uw = w->udp;

	if (!uw)
		return;
	for (unsigned i = 0; i < uw->nls; i++) {
		struct udp_listener *ul = &uw->ls[i];

		if (ul->stopped)
			continue;
		/* bind.c owns the socket: stop polling it, keep it open. */
		loop_del(&w->loop, &ul->io);
		loop_cancel(&ul->more);
		ul->stopped = 1;
	}
}

void udp_worker_free(struct worker *w)
{
	struct udp_worker *uw = w->udp;

	if (!uw)
		return;
	udp_worker_stop(w);
	for (unsigned f = 0; uw->fronts && f < uw->nfronts; f++)
		while (!list_empty(&uw->fronts[f].lru))
			sess_end(list_first(&uw->fronts[f].lru, struct udp_sess, lru), "KD");
	pool_flush(&uw->pool);
	free(uw->bufs);
	free(uw->buckets);
	free(uw->ls);
	free(uw->fronts);
	free(uw);
	w->udp = NULL;
}

unsigned udp_worker_sessions(const struct worker *w)
{
	return w->udp ? w->udp->nsess : 0;
}

/* ---- configuration checks ------------------------------------------------ */

static const char *const payload_prefixes[] = { "req.", "req_", "payload", "rdp_cookie" };

static int reads_payload(const char *expr)
{
	for (size_t i = 0; i < CFG_ARRAY_SIZE(payload_prefixes); i++)
		if (!strncmp(expr, payload_prefixes[i], strlen(payload_prefixes[i])))
			return 1;
	return 0;
}

/* Rules are kept by tcp_rules.c without a way to ask for their line: they
 * are reported at the proxy's line, naming the keyword. */
static int check_rules(const struct proxy *px)
{
	static const char *const set_kw[TCP_RULES_NSETS] = {
		"tcp-request connection", "tcp-request session", "tcp-request content",
		"tcp-response content",
	};
	const char *what = NULL;

	for (int i = 0; i < TCP_RULES_NSETS && !what; i++)
		if (tcp_rules_has(px, (enum tcp_rule_set)i))
			what = set_kw[i];
	if (!what && !list_empty(&px->rules.use_backend))
		what = "use_backend";
	if (!what && !list_empty(&px->rules.use_server))
		what = "use-server";
	if (!what && px->rules.inspect_delay)
		what = "tcp-request inspect-delay";
	if (!what && px->rules.res_inspect_delay)
		what = "tcp-response inspect-delay";
	if (!what)
		return 0;
	cfg_err_at(px->conf_file, px->conf_line, "%s '%s': '%s' is not supported in mode udp "
		   "(datagrams are relayed without inspection and go to default_backend; "
		   "set here or inherited from defaults)", proxy_cap_str(px->cap), px->name, what);
	return 1;
}

static int check_options(const struct proxy *px)
{
	const char *opt = (px->options & PX_O_SPLICE_AUTO) ? "option splice-auto" :
			  (px->options & PX_O_SPLICE_REQ) ? "option splice-request" :
			  (px->options & PX_O_SPLICE_RTR) ? "option splice-response" : NULL;

	if (!opt)
		return 0;
	cfg_err_at(px->conf_file, px->conf_line, "%s '%s': '%s' is not supported in mode udp "
		   "(splicing moves TCP streams; set here or inherited from defaults)",
		   proxy_cap_str(px->cap), px->name, opt);
	return 1;
}

static int check_backend(const struct proxy *px)
{
	int errors = 0;

	if (px->lb.algo == LB_ALGO_HASH && px->lb.hash_expr_str &&
	    reads_payload(px->lb.hash_expr_str)) {
		cfg_err_at(px->lb.conf_file ? px->lb.conf_file : px->conf_file,
			   px->lb.conf_file ? px->lb.conf_line : px->conf_line,
			   "%s '%s': 'balance hash %s' is not supported in mode udp (the "
			   "server is chosen before any payload is read; hash on src or dst)",
			   proxy_cap_str(px->cap), px->name, px->lb.hash_expr_str);
		errors++;
	}
	for (const struct server *s = px->srv; s; s = s->next) {
		if (!(s->flags & SRV_F_SEND_PROXY))
			continue;
		cfg_err_at(s->conf_file, s->conf_line, "server '%s': 'send-proxy' is not "
			   "supported in mode udp (use 'send-proxy-v2', which has a datagram form)",
			   s->name);
		errors++;
	}
	return errors;
}

static int udp_postparse(struct config *conf)
{
	int errors = 0;

	for (struct proxy *px = conf->proxies; px; px = px->next) {
		if (px->mode != PX_MODE_UDP)
			continue;
		errors += check_rules(px) + check_options(px);
		if (px->cap & PX_CAP_BE)
			errors += check_backend(px);
	}
	return errors;
}

static struct cfg_postparser udp_pp = {
	.name = "udp",
	.fn = udp_postparse,
};

__attribute__((constructor)) static void udp_init(void)
{
	cfg_register_postparser(&udp_pp);
}
