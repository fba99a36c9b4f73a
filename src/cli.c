/* cli.c - runtime API: the "stats ..." global keywords and the thread that
 * serves the stats sockets.
 *
 * One thread with its own epoll loop serves every socket, so no worker
 * ever waits for a CLI client. Each turn does a bounded amount of work per
 * client (one read of at most a line's worth, one command line, one write
 * of at most CLI_WRITE_STEP bytes): a client that sends a huge line or
 * reads slowly only delays itself. A client that has a reply pending is
 * not read from, so a reply is the most a client holds in memory; at most
 * "stats maxconn" clients are served (the listeners leave epoll while
 * full, the kernel backlog holds the rest), and a client idle for "stats
 * timeout" is closed.
 * The settings of "stats" lines are kept per config in a small registry
 * here, since struct config has no slot for them.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sluice/addr.h"
#include "sluice/cfg.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/loop.h"
#include "sluice/worker.h"

#define CLI_DEFAULT_TIMEOUT_MS	10000
#define CLI_DEFAULT_MAXCONN	10
#define CLI_WRITE_STEP		65536
#define CLI_BACKLOG		16

/* ---- configuration -------------------------------------------------------------- */

struct cli_sock_conf {
	char *path;			/* as written */
	int is_unix;
	struct sockaddr_storage ss;	/* TCP: the address */
	socklen_t len;
	int level;
	int mode;			/* -1: umask decides */
	long uid, gid;			/* -1: unchanged */
	const char *file;
	int line;
};

struct cli_conf {
	const struct config *conf;
	struct cli_sock_conf *socks;
	unsigned nsocks;
	unsigned timeout_ms;
	unsigned maxconn;
	int fresh;			/* seen in the load being parsed */
	struct cli_conf *next;
};

static struct cli_conf *confs;
static pthread_mutex_t confs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cli_conf *conf_find(const struct config *conf)
{
	struct cli_conf *cc;

	for (cc = confs; cc; cc = cc->next)
		if (cc->conf == conf)
			return cc;
	return NULL;
}

static struct cli_conf *conf_get(struct cfg_ctx *ctx)
{
	struct cli_conf *cc = conf_find(ctx->conf);

	if (cc)
		return cc;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->conf = ctx->conf;
	cc->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	cc->maxconn = CLI_DEFAULT_MAXCONN;
	cc->fresh = 1;
	cc->next = confs;
	confs = cc;
	return cc;
}

static void conf_free(struct cli_conf *cc)
{
	unsigned i;

	for (i = 0; i < cc->nsocks; i++)
		free(cc->socks[i].path);
	free(cc->socks);
	free(cc);
}

void cli_conf_forget(const struct config *conf)
{
	struct cli_conf **pp, *cc;

	pthread_mutex_lock(&confs_lock);
	for (pp = &confs; (cc = *pp); ) {
		if (cc->conf == conf) {
			*pp = cc->next;
			conf_free(cc);
		} else {
			pp = &cc->next;
		}
	}
	pthread_mutex_unlock(&confs_lock);
}

unsigned cli_conf_sockets(const struct config *conf)
{
	struct cli_conf *cc = conf_find(conf);

	return cc ? cc->nsocks : 0;
}

/* A config loaded at the address of an older, freed one must not inherit
 * its sockets: whatever this load did not write is dropped. */
static int cli_postparse(struct config *conf)
{
	struct cli_conf *cc = conf_find(conf);

	if (cc && !cc->fresh)
		cli_conf_forget(conf);
	else if (cc)
		cc->fresh = 0;
	return 0;
}

static int parse_level(struct cfg_ctx *ctx, const char *w, int *level)
{
	if (!strcmp(w, "user"))
		*level = CLI_LVL_USER;
	else if (!strcmp(w, "operator"))
		*level = CLI_LVL_OPER;
	else if (!strcmp(w, "admin"))
		*level = CLI_LVL_ADMIN;
	else
		return cfg_err(ctx, "'stats socket': 'level' expects 'user', 'operator' or 'admin', got '%s'", w);
	return 0;
}

static int parse_owner(struct cfg_ctx *ctx, const char *kw, const char *w, long *out)
{
	unsigned long v;

	if (!strcmp(kw, "uid") || !strcmp(kw, "gid")) {
		if (cfg_parse_uint(w, 0, 0x7fffffff, &v) < 0)
			return cfg_err(ctx, "'stats socket': '%s' expects a number, got '%s'", kw, w);
		*out = (long)v;
	} else if (!strcmp(kw, "user")) {
		struct passwd *pw = getpwnam(w);

		if (!pw)
			return cfg_err(ctx, "'stats socket': unknown user '%s'", w);
		*out = (long)pw->pw_uid;
	} else {
		struct group *gr = getgrnam(w);

		if (!gr)
			return cfg_err(ctx, "'stats socket': unknown group '%s'", w);
		*out = (long)gr->gr_gid;
	}
	return 0;
}

static int parse_option(struct cfg_ctx *ctx, struct cli_sock_conf *sc, const char *kw,
			const char *val)
{
	char *end;

	if (!val)
		return cfg_err(ctx, "'stats socket': '%s' expects a value", kw);
	if (!strcmp(kw, "level"))
		return parse_level(ctx, val, &sc->level);
	if (!strcmp(kw, "mode")) {
		long m = strtol(val, &end, 8);

		if (end == val || *end || m < 0 || m > 07777)
			return cfg_err(ctx, "'stats socket': 'mode' expects an octal mode like 660, got '%s'", val);
		sc->mode = (int)m;
		return 0;
	}
	if (!strcmp(kw, "user") || !strcmp(kw, "uid"))
		return parse_owner(ctx, kw, val, &sc->uid);
	return parse_owner(ctx, kw, val, &sc->gid);
}

static int parse_path(struct cfg_ctx *ctx, struct cli_sock_conf *sc, const char *path)
{
	struct addr_spec spec;
	char err[256];

	if (!strncmp(path, "ipv4@", 5) || !strncmp(path, "ipv6@", 5)) {
		if (addr_parse(path, 0, &spec, err, sizeof(err)) < 0)
			return cfg_err(ctx, "'stats socket': %s", err);
		sc->ss = spec.ss;
		sc->len = spec.len;
		return 0;
	}
	if (!strncmp(path, "unix@", 5))
		path += 5;
	if (!*path || strlen(path) + 24 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cfg_err(ctx, "'stats socket': path '%s' is empty or too long for a UNIX socket", path);
	if (strchr(path, '@'))
		return cfg_err(ctx, "'stats socket': expects a path, 'ipv4@ADDR:PORT' or 'ipv6@ADDR:PORT', got '%s'", path);
	sc->is_unix = 1;
	return 0;
}

static int kw_stats_socket(struct cfg_ctx *ctx, int argc, char **args)
{
	struct cli_sock_conf sc = { .level = CLI_LVL_OPER, .mode = -1, .uid = -1, .gid = -1 };
	struct cli_conf *cc;
	struct cli_sock_conf *ns;
	int i;

	if (argc < 3)
		return cfg_err(ctx, "'stats socket' expects a path or an address, e.g. 'stats socket /run/sluice.sock mode 600 level admin'");
	if (parse_path(ctx, &sc, args[2]) < 0)
		return -1;
	for (i = 3; i < argc; i += 2) {
		const char *kw = args[i];

		if (strcmp(kw, "level") && strcmp(kw, "mode") && strcmp(kw, "user") &&
		    strcmp(kw, "group") && strcmp(kw, "uid") && strcmp(kw, "gid"))
			return cfg_err(ctx, "'stats socket': unknown option '%s' (supported: mode, level, user, group, uid, gid)", kw);
		if (parse_option(ctx, &sc, kw, i + 1 < argc ? args[i + 1] : NULL) < 0)
			return -1;
	}
	cc = conf_get(ctx);
	ns = cc ? realloc(cc->socks, (cc->nsocks + 1) * sizeof(*ns)) : NULL;
	if (!ns)
		return cfg_err(ctx, "'stats socket': out of memory");
	cc->socks = ns;
	sc.path = strdup(!strncmp(args[2], "unix@", 5) ? args[2] + 5 : args[2]);
	sc.file = ctx->file;
	sc.line = ctx->line;
	cc->socks[cc->nsocks++] = sc;
	cc->fresh = 1;
	return sc.path ? 0 : cfg_err(ctx, "'stats socket': out of memory");
}

static int kw_stats_timeout(struct cfg_ctx *ctx, int argc, char **args)
{
	struct cli_conf *cc;
	unsigned ms;

	if (argc != 3 || cfg_parse_time(args[2], &ms) < 0 || !ms)
		return cfg_err(ctx, "'stats timeout' expects a time like 10s, got '%s'", argc > 2 ? args[2] : "");
	cc = conf_get(ctx);
	if (!cc)
		return cfg_err(ctx, "'stats timeout': out of memory");
	cc->timeout_ms = ms;
	cc->fresh = 1;
	return 0;
}

static int kw_stats_maxconn(struct cfg_ctx *ctx, int argc, char **args)
{
	struct cli_conf *cc;
	unsigned long v;

	if (argc != 3 || cfg_parse_uint(args[2], 1, 10000, &v) < 0)
		return cfg_err(ctx, "'stats maxconn' expects an integer between 1 and 10000, got '%s'", argc > 2 ? args[2] : "");
	cc = conf_get(ctx);
	if (!cc)
		return cfg_err(ctx, "'stats maxconn': out of memory");
	cc->maxconn = (unsigned)v;
	cc->fresh = 1;
	return 0;
}

static struct cfg_kw_list kws = { .kws = (const struct cfg_kw[]){
	{ "stats socket", CFG_GLOBAL, kw_stats_socket, 0 },
	{ "stats timeout", CFG_GLOBAL, kw_stats_timeout, 0 },
	{ "stats maxconn", CFG_GLOBAL, kw_stats_maxconn, 0 },
	{ NULL },
} };

static struct cfg_postparser postparser = { .name = "cli", .fn = cli_postparse };

__attribute__((constructor)) static void init(void)
{
	cfg_register(&kws);
	cfg_register_postparser(&postparser);
}

/* ---- the server ---------------------------------------------------------------- */

enum { EP_LISTENER = 1, EP_CLIENT = 2, EP_STOP = 3 };

struct cli_listener {
	int kind;		/* EP_LISTENER: first, epoll's data.ptr points here */
	int fd;
	int level;
	char *unlink_path;	/* a UNIX socket this process created */
	char *tmp_path;		/* its temporary name until every socket is open */
};

struct cli_client {
	int kind;		/* EP_CLIENT */
	int fd;
	int level;
	int prompt;
	int closing;		/* close once the reply is out */
	int eof;
	int draining;		/* reply sent: reading what is left until EOF */
	size_t drained;
	uint32_t events;	/* what epoll watches now */
	uint64_t last_ms;
	size_t inlen, outpos;
	struct cli_out out;
	struct cli_client *next;
	char in[CLI_LINE_MAX + 2];
};

struct cli_server {
	struct runtime *rt;
	pthread_t thread;
	int epfd;
	int stop_kind;		/* EP_STOP, for the eventfd's data.ptr */
	int stopfd;
	struct cli_listener *ls;
	unsigned nls;
	int ls_polled;
	struct cli_client *clients;
	unsigned nclients, maxconn;
	unsigned timeout_ms;
};

static struct cli_server *server;

static void listeners_poll(struct cli_server *cs, int on)
{
	unsigned i;

	if (cs->ls_polled == on)
		return;
	for (i = 0; i < cs->nls; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs->ls[i] };

		epoll_ctl(cs->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, cs->ls[i].fd, &ev);
	}
	cs->ls_polled = on;
}

static void client_close(struct cli_server *cs, struct cli_client *c)
{
	struct cli_client **pp;

	for (pp = &cs->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	epoll_ctl(cs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	cli_out_free(&c->out);
	free(c);
	cs->nclients--;
	listeners_poll(cs, 1);
}

static void client_watch(struct cli_server *cs, struct cli_client *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return;
	epoll_ctl(cs->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void client_accept(struct cli_server *cs, struct cli_listener *l)
{
	struct cli_client *c;
	struct epoll_event ev;
	int fd, n;

	for (n = 0; n < 16 && cs->nclients < cs->maxconn; n++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->kind = EP_CLIENT;
		c->fd = fd;
		c->level = l->level;
		c->events = EPOLLIN;
		c->last_ms = clock_mono_ms();
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			return;
		}
		c->next = cs->clients;
		cs->clients = c;
		cs->nclients++;
	}
	if (cs->nclients >= cs->maxconn)
		listeners_poll(cs, 0);
}

/* One complete line (or what is left at EOF) from the input, run. */
static void client_run_line(struct cli_server *cs, struct cli_client *c)
{
	char *nl = memchr(c->in, '\n', c->inlen);
	size_t len, used;
	int ret;

	if (!nl && c->inlen > CLI_LINE_MAX) {
		cli_out_str(&c->out, "Command line too long.\n");
		c->closing = 1;
		return;
	}
	if (!nl && !c->eof)
		return;
	len = nl ? (size_t)(nl - c->in) : c->inlen;
	used = nl ? len + 1 : len;
	ret = cli_exec_line(cs->rt, c->level, c->in, len, &c->out);
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	if (ret & CLI_RET_PROMPT)
		c->prompt = !c->prompt;
	if ((ret & CLI_RET_QUIT) || !c->prompt || (c->eof && !c->inlen))
		c->closing = 1;
	else
		cli_out_str(&c->out, "> ");
}

#define CLI_DRAIN_MAX (1u << 20)

/* Closing a socket with unread input sends a reset, which may destroy the
 * reply before the client read it: shut our side and read until EOF. */
static void client_drain(struct cli_server *cs, struct cli_client *c)
{
	ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);

	if (n > 0)
		c->drained += (size_t)n;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || c->drained > CLI_DRAIN_MAX)
		client_close(cs, c);
}

static void client_finish(struct cli_server *cs, struct cli_client *c)
{
	ssize_t n = c->eof ? 0 : recv(c->fd, c->in, sizeof(c->in), 0);

	if (n > 0 || c->inlen) {
		shutdown(c->fd, SHUT_WR);
		c->draining = 1;
		c->inlen = 0;
		client_watch(cs, c, EPOLLIN);
		return;
	}
	client_close(cs, c);
}

/* Reply pending: write; else read and run a line. Bounded per call. */
static void client_step(struct cli_server *cs, struct cli_client *c)
{
	ssize_t n;

	if (c->outpos < c->out.len) {
		size_t left = c->out.len - c->outpos;

		n = send(c->fd, c->out.buf + c->outpos, left < CLI_WRITE_STEP ? left : CLI_WRITE_STEP,
			 MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			client_close(cs, c);
			return;
		}
		if (n > 0) {
			c->outpos += (size_t)n;
			c->last_ms = clock_mono_ms();
		}
		if (c->outpos < c->out.len) {
			client_watch(cs, c, EPOLLOUT);
			return;
		}
		cli_out_reset(&c->out);
		c->outpos = 0;
		if (c->closing) {
			client_finish(cs, c);
			return;
		}
	} else if (c->draining) {
		client_drain(cs, c);
		return;
	} else if (!c->eof) {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			client_close(cs, c);
			return;
		}
		if (n == 0)
			c->eof = 1;
		if (n > 0) {
			c->inlen += (size_t)n;
			c->last_ms = clock_mono_ms();
		}
	}
	client_run_line(cs, c);
	if (c->out.len) {
		client_watch(cs, c, EPOLLOUT);
	} else if (c->closing || c->eof) {
		client_finish(cs, c);
	} else {
		client_watch(cs, c, EPOLLIN);
	}
}

static void clients_expire(struct cli_server *cs)
{
	uint64_t now = clock_mono_ms();
	struct cli_client *c, *next;

	for (c = cs->clients; c; c = next) {
		next = c->next;
		if (now - c->last_ms >= cs->timeout_ms)
			client_close(cs, c);
	}
}

static void *cli_thread(void *arg)
{
	struct cli_server *cs = arg;
	struct epoll_event evs[32];
	int i, n;

	for (;;) {
		n = epoll_wait(cs->epfd, evs, 32, 500);
		for (i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;

			if (kind == EP_STOP)
				return NULL;
			if (kind == EP_LISTENER)
				client_accept(cs, evs[i].data.ptr);
			else
				client_step(cs, evs[i].data.ptr);
		}
		clients_expire(cs);
	}
	return NULL;
}

/* ---- opening and closing ------------------------------------------------------- */

/* Bound under a temporary name and renamed over the path once every
 * socket is open: a client never meets a socket without its final mode
 * and owner, a stale socket left by a crashed process is replaced, and a
 * start that fails leaves the sockets of a running instance alone. */
static int open_unix(const struct cli_sock_conf *sc, struct cli_listener *l)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char tmp[sizeof(sun.sun_path)];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", sc->path, (int)getpid());
	strcpy(sun.sun_path, tmp);
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	l->tmp_path = strdup(tmp);
	if ((sc->mode >= 0 && chmod(tmp, (mode_t)sc->mode) < 0) ||
	    ((sc->uid >= 0 || sc->gid >= 0) && chown(tmp, (uid_t)sc->uid, (gid_t)sc->gid) < 0) ||
	    listen(fd, CLI_BACKLOG) < 0 || !l->tmp_path) {
		int e = errno;

		unlink(tmp);
		free(l->tmp_path);
		l->tmp_path = NULL;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int publish_unix(struct cli_server *cs, const struct cli_conf *cc)
{
	unsigned i;

	for (i = 0; i < cs->nls; i++) {
		struct cli_listener *l = &cs->ls[i];

		if (!l->tmp_path)
			continue;
		if (rename(l->tmp_path, cc->socks[i].path) < 0) {
			fprintf(stderr, "%s:%d: 'stats socket': cannot create '%s': %s\n",
				cc->socks[i].file, cc->socks[i].line, cc->socks[i].path, strerror(errno));
			return -1;
		}
		free(l->tmp_path);
		l->tmp_path = NULL;
		l->unlink_path = strdup(cc->socks[i].path);
	}
	return 0;
}

static int open_tcp(const struct cli_sock_conf *sc)
{
	int one = 1, fd = socket(sc->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&sc->ss, sc->len) < 0 || listen(fd, CLI_BACKLOG) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void cli_server_free(struct cli_server *cs)
{
	unsigned i;

	while (cs->clients)
		client_close(cs, cs->clients);
	for (i = 0; i < cs->nls; i++) {
		if (cs->ls[i].fd >= 0)
			close(cs->ls[i].fd);
		if (cs->ls[i].unlink_path)
			unlink(cs->ls[i].unlink_path);
		if (cs->ls[i].tmp_path)
			unlink(cs->ls[i].tmp_path);
		free(cs->ls[i].unlink_path);
		free(cs->ls[i].tmp_path);
	}
	free(cs->ls);
	if (cs->epfd >= 0)
		close(cs->epfd);
	if (cs->stopfd >= 0)
		close(cs->stopfd);
	free(cs);
}

static int open_all(struct cli_server *cs, const struct cli_conf *cc)
{
	unsigned i;

	for (i = 0; i < cc->nsocks; i++) {
		const struct cli_sock_conf *sc = &cc->socks[i];
		struct cli_listener *l = &cs->ls[cs->nls];

		l->kind = EP_LISTENER;
		l->level = sc->level;
		l->fd = sc->is_unix ? open_unix(sc, l) : open_tcp(sc);
		if (l->fd < 0) {
			fprintf(stderr, "%s:%d: 'stats socket': cannot listen on '%s': %s\n",
				sc->file, sc->line, sc->path, strerror(errno));
			return -1;
		}
		cs->nls++;
	}
	return 0;
}

static struct cli_server *cli_server_new(struct runtime *rt, const struct cli_conf *cc)
{
	struct cli_server *cs = calloc(1, sizeof(*cs));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!cs)
		return NULL;
	cs->rt = rt;
	cs->maxconn = cc->maxconn;
	cs->timeout_ms = cc->timeout_ms;
	cs->stop_kind = EP_STOP;
	cs->epfd = epoll_create1(EPOLL_CLOEXEC);
	cs->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cs->ls = calloc(cc->nsocks, sizeof(*cs->ls));
	ev.data.ptr = &cs->stop_kind;
	if (cs->epfd < 0 || cs->stopfd < 0 || !cs->ls ||
	    epoll_ctl(cs->epfd, EPOLL_CTL_ADD, cs->stopfd, &ev) < 0) {
		fprintf(stderr, "[ALERT] runtime API: cannot set up its event loop: %s\n", strerror(errno));
		cli_server_free(cs);
		return NULL;
	}
	return cs;
}

int cli_start(struct runtime *rt)
{
	struct cli_conf *cc = conf_find(rt->conf);
	struct cli_server *cs;

	if (!cc || !cc->nsocks || server)
		return 0;
	cs = cli_server_new(rt, cc);
	if (!cs)
		return -1;
	if (open_all(cs, cc) < 0 || publish_unix(cs, cc) < 0) {
		cli_server_free(cs);
		return -1;
	}
	listeners_poll(cs, 1);
	if (pthread_create(&cs->thread, NULL, cli_thread, cs) != 0) {
		fprintf(stderr, "[ALERT] runtime API: cannot start its thread\n");
		cli_server_free(cs);
		return -1;
	}
	server = cs;
	return 0;
}

void cli_stop(void)
{
	struct cli_server *cs = server;
	uint64_t one = 1;

	if (!cs)
		return;
	if (write(cs->stopfd, &one, sizeof(one)) < 0)
		fprintf(stderr, "[WARNING] runtime API: cannot wake its thread: %s\n", strerror(errno));
	pthread_join(cs->thread, NULL);
	server = NULL;
	cli_server_free(cs);
}
