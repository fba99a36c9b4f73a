/* bind.c - "bind" lines and their listening sockets.
 *
 * Owns the parsing of "bind ADDR[,ADDR...] [kw...]" into a struct bind_conf
 * with one struct listener per address and port, the registry of bind
 * keywords with the basic ones (backlog, maxconn, v4v6, v6only,
 * defer-accept, tfo, interface, name), and the creation of one
 * SO_REUSEPORT socket per worker thread for every listener
 * (listeners_open/listeners_close). TCP frontends get listening stream
 * sockets; UDP frontends get bound datagram sockets for udp.c.
 * Threading: everything here runs on the main thread before workers start
 * (and after they stop, for listeners_close).
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/listener.h>
#include <sluice/privs.h>
#include <sluice/proxy.h>

#define BACKLOG_DEFAULT	1024
#define BACKLOG_MAX	65535	/* the kernel caps it to somaxconn anyway */

static struct bind_kw_list *bind_kw_lists;

void bind_register_keywords(struct bind_kw_list *list)
{
	list->next = bind_kw_lists;
	bind_kw_lists = list;
}

static const struct bind_kw *bind_find_kw(const char *name)
{
	const struct bind_kw_list *l;
	const struct bind_kw *kw;

	for (l = bind_kw_lists; l; l = l->next)
		for (kw = l->kws; kw->name; kw++)
			if (!strcmp(kw->name, name))
				return kw;
	return NULL;
}

static void listener_close_fds(struct listener *l)
{
	unsigned i;

	for (i = 0; i < l->nbfds; i++)
		if (l->fds[i] >= 0)
			close(l->fds[i]);
	free(l->fds);
	l->fds = NULL;
	l->nbfds = 0;
}

void bind_conf_free(struct bind_conf *bc)
{
	struct list *pos, *tmp;

	if (!bc)
		return;
	list_for_each_safe(pos, tmp, &bc->listeners) {
		struct listener *l = list_entry(pos, struct listener, node);

		list_del(pos);
		listener_close_fds(l);
		free(l);
	}
	free(bc->arg);
	free(bc->interface);
	free(bc->name);
	free(bc);
}

/* ---- keyword handlers ------------------------------------------------------ */

static int bind_err(struct cfg_ctx *ctx, const struct bind_conf *bc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bind_err(struct cfg_ctx *ctx, const struct bind_conf *bc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cfg_err(ctx, "bind '%s': %s", bc->arg, msg);
}

static int bind_kw_uint(struct cfg_ctx *ctx, struct bind_conf *bc, char **args,
			unsigned *out)
{
	unsigned long v;

	if (!args[1] || cfg_parse_uint(args[1], 1, 0x7fffffff, &v) < 0)
		return bind_err(ctx, bc, "'%s' expects a positive integer, got '%s'",
				args[0], args[1] ? args[1] : "");
	*out = (unsigned)v;
	return 1;
}

static int bind_kw_backlog(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	return bind_kw_uint(ctx, bc, args, &bc->backlog);
}

static int bind_kw_maxconn(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	return bind_kw_uint(ctx, bc, args, &bc->maxconn);
}

static int bind_kw_v6(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)ctx;
	bc->v6only = !strcmp(args[0], "v6only");
	bc->v4v6 = !bc->v6only;
	return 0;
}

/* HAProxy's defer-accept is a plain flag: one second is the smallest
 * TCP_DEFER_ACCEPT value, after which the kernel hands over silent
 * connections anyway. */
static int bind_kw_defer_accept(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)ctx;
	(void)args;
	bc->defer_accept = 1;
	return 0;
}

static int bind_kw_tfo(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)ctx;
	(void)args;
	bc->tfo = 1;
	return 0;
}

static int bind_kw_string(struct cfg_ctx *ctx, struct bind_conf *bc, char **args,
			  size_t maxlen, char **out)
{
	char *v;

	if (!args[1] || !*args[1] || strlen(args[1]) > maxlen)
		return bind_err(ctx, bc, "'%s' expects a name of at most %zu characters, got '%s'",
				args[0], maxlen, args[1] ? args[1] : "");
	v = strdup(args[1]);
	if (!v)
		return bind_err(ctx, bc, "out of memory");
	free(*out);
	*out = v;
	return 1;
}

static int bind_kw_interface(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	return bind_kw_string(ctx, bc, args, IFNAMSIZ - 1, &bc->interface);
}

static int bind_kw_name(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	return bind_kw_string(ctx, bc, args, 255, &bc->name);
}

static int bind_kw_ssl(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)bc;
	return cfg_err(ctx, "bind: '%s' is not supported (sluice never terminates TLS)", args[0]);
}

static struct bind_kw_list bind_basic_kws = {
	.kws = (const struct bind_kw[]){
		{ "backlog", bind_kw_backlog },
		{ "maxconn", bind_kw_maxconn },
		{ "v4v6", bind_kw_v6 },
		{ "v6only", bind_kw_v6 },
		{ "defer-accept", bind_kw_defer_accept },
		{ "tfo", bind_kw_tfo },
		{ "interface", bind_kw_interface },
		{ "name", bind_kw_name },
		{ "ssl", bind_kw_ssl },
		{ NULL, NULL },
	},
};

/* ---- parsing a line ------------------------------------------------------------ */

static int bind_add_listener(struct cfg_ctx *ctx, struct bind_conf *bc,
			     const struct addr_spec *spec, int port)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (!l)
		return bind_err(ctx, bc, "out of memory");
	l->bc = bc;
	l->addr = spec->ss;
	l->addrlen = spec->len;
	addr_set_port(&l->addr, port);
	list_add_tail(&bc->listeners, &l->node);
	return 0;
}

/* Only IP addresses for now: a UNIX socket would need its own accept path
 * (no client address, file permissions), so it is refused by name. */
static int bind_is_unix(const char *a)
{
	return a[0] == '/' || !strncmp(a, "unix@", 5) || !strncmp(a, "abns@", 5) ||
	       !strncmp(a, "fd@", 3) || !strncmp(a, "sockpair@", 9);
}

static int bind_parse_one_addr(struct cfg_ctx *ctx, struct bind_conf *bc, const char *a)
{
	struct addr_spec spec;
	char err[256];
	int port;

	/* addr_parse() messages quote the address already */
	if (!*a)
		return bind_err(ctx, bc, "empty address in the list");
	if (bind_is_unix(a))
		return cfg_err(ctx, "bind: '%s': only IPv4/IPv6 addresses are supported, "
			       "not UNIX sockets or file descriptors", a);
	if (addr_parse(a, ADDR_ALLOW_RANGE | ADDR_RESOLVE, &spec, err, sizeof(err)) < 0)
		return cfg_err(ctx, "bind: %s", err);
	if (spec.port_low <= 0)
		return cfg_err(ctx, "bind: '%s': port 0 is not allowed, give a port", a);
	for (port = spec.port_low; port <= spec.port_high; port++)
		if (bind_add_listener(ctx, bc, &spec, port) < 0)
			return -1;
	return 0;
}

static int bind_parse_addrs(struct cfg_ctx *ctx, struct bind_conf *bc, const char *list)
{
	char *copy = strdup(list), *cur, *comma;
	int ret = 0;

	if (!copy)
		return bind_err(ctx, bc, "out of memory");
	for (cur = copy; ret == 0; cur = comma + 1) {
		comma = strchr(cur, ',');
		if (comma)
			*comma = '\0';
		ret = bind_parse_one_addr(ctx, bc, cur);
		if (!comma)
			break;
	}
	free(copy);
	return ret;
}

/* Keyword handlers read their value as args[1]: the config parser ends
 * args with NULL, which is what they rely on. */
static int bind_apply_keywords(struct cfg_ctx *ctx, struct bind_conf *bc, int argc, char **args)
{
	const struct bind_kw *kw;
	int i, used;

	for (i = 2; i < argc; i += 1 + used) {
		kw = bind_find_kw(args[i]);
		if (!kw)
			return bind_err(ctx, bc, "unknown keyword '%s' (sluice does not implement it)",
					args[i]);
		used = kw->fn(ctx, bc, args + i);
		if (used < 0)
			return -1;
	}
	return 0;
}

static int kw_bind(struct cfg_ctx *ctx, int argc, char **args)
{
	struct bind_conf *bc;

	if (argc < 2 || !*args[1])
		return cfg_err(ctx, "'bind' expects an address, e.g. 'bind :8080' or "
			       "'bind 10.0.0.1:80,10.0.0.1:8000-8010'");
	bc = calloc(1, sizeof(*bc));
	if (!bc)
		return cfg_err(ctx, "'bind': out of memory");
	list_init(&bc->listeners);
	bc->fe = ctx->px;
	bc->conf_file = ctx->file;
	bc->conf_line = ctx->line;
	bc->arg = strdup(args[1]);
	if (!bc->arg) {
		bind_conf_free(bc);
		return cfg_err(ctx, "'bind': out of memory");
	}
	if (bind_parse_addrs(ctx, bc, args[1]) < 0 ||
	    bind_apply_keywords(ctx, bc, argc, args) < 0) {
		bind_conf_free(bc);
		return -1;
	}
	list_add_tail(&ctx->px->binds, &bc->node);
	return 0;
}

/* ---- sockets --------------------------------------------------------------------- */

static unsigned bind_backlog(const struct config *conf, const struct bind_conf *bc)
{
	unsigned b = bc->backlog;

	if (!b)
		b = bc->fe->maxconn ? bc->fe->maxconn : conf->global.maxconn;
	if (!b)
		b = BACKLOG_DEFAULT;
	return b > BACKLOG_MAX ? BACKLOG_MAX : b;
}

/* Which step failed, for the message; errno says why. */
struct sock_fail {
	const char *what;
};

static int set_int_opt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

/* Options that must be set before bind(). */
static int sock_pre_bind(int fd, const struct bind_conf *bc, const struct listener *l,
			 struct sock_fail *f)
{
	f->what = "set SO_REUSEADDR/SO_REUSEPORT on socket";
	if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
		return -1;
	/* unless told, keep the system's IPV6_V6ONLY default, as HAProxy does */
	f->what = "set IPV6_V6ONLY on socket";
	if (l->addr.ss_family == AF_INET6 && (bc->v4v6 || bc->v6only) &&
	    set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, bc->v6only) < 0)
		return -1;
	f->what = "set IP_TRANSPARENT (needs CAP_NET_ADMIN) on socket";
	if (bc->transparent && privs_set_transparent(fd, l->addr.ss_family) < 0)
		return -1;
	f->what = "bind to the interface (SO_BINDTODEVICE) of socket";
	if (bc->interface &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bc->interface,
		       (socklen_t)strlen(bc->interface) + 1) < 0)
		return -1;
	return 0;
}

static int sock_tcp_opts(int fd, const struct bind_conf *bc, unsigned backlog,
			 struct sock_fail *f)
{
	f->what = "set TCP_DEFER_ACCEPT on socket";
	if (bc->defer_accept &&
	    set_int_opt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, (int)bc->defer_accept) < 0)
		return -1;
	f->what = "set TCP_FASTOPEN on socket";
	if (bc->tfo && set_int_opt(fd, IPPROTO_TCP, TCP_FASTOPEN, (int)backlog) < 0)
		return -1;
	return 0;
}

/* One bound (and, for TCP, listening) socket; -1 with f->what and errno. */
static int open_one_socket(const struct bind_conf *bc, const struct listener *l,
			   int udp, unsigned backlog, struct sock_fail *f)
{
	int type = (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd, saved;

	f->what = "create socket";
	fd = socket(l->addr.ss_family, type, 0);
	if (fd < 0)
		return -1;
	if (sock_pre_bind(fd, bc, l, f) < 0)
		goto fail;
	f->what = "bind socket";
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		goto fail;
	if (udp)
		return fd;
	if (sock_tcp_opts(fd, bc, backlog, f) < 0)
		goto fail;
	f->what = "listen on socket";
	if (listen(fd, (int)backlog) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Opens l's sockets; on failure reports once for this listener and keeps
 * what is open for listeners_close(). Returns 0 or 1 (errors). */
static int listener_open(const struct config *conf, struct listener *l, unsigned nthreads)
{
	const struct bind_conf *bc = l->bc;
	unsigned backlog = bind_backlog(conf, bc), i;
	int udp = bc->fe->mode == PX_MODE_UDP;
	struct sock_fail f;
	char abuf[128];

	/* sockets handed over by the master (master.c) are kept: only the
	 * missing ones (-1) are opened */
	if (!l->fds || l->nbfds != nthreads) {
		listener_close_fds(l);
		l->fds = malloc(sizeof(*l->fds) * nthreads);
		if (!l->fds) {
			cfg_err_at(bc->conf_file, bc->conf_line, "out of memory");
			return 1;
		}
		l->nbfds = nthreads;
		for (i = 0; i < nthreads; i++)
			l->fds[i] = -1;
	}
	for (i = 0; i < nthreads; i++) {
		if (l->fds[i] >= 0)
			continue;
		l->fds[i] = open_one_socket(bc, l, udp, backlog, &f);
		if (l->fds[i] < 0) {
			cfg_err_at(bc->conf_file, bc->conf_line, "cannot %s for %s '%s' [%s]: %s",
				   f.what, proxy_cap_str(bc->fe->cap), bc->fe->name,
				   addr_str(&l->addr, abuf, sizeof(abuf)), strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int bind_conf_open(const struct config *conf, struct bind_conf *bc, unsigned nthreads)
{
	struct list *pos, *tmp;
	int errors = 0;

	list_for_each_safe(pos, tmp, &bc->listeners)
		errors += listener_open(conf, list_entry(pos, struct listener, node), nthreads);
	return errors;
}

int listeners_open(struct config *conf, unsigned nthreads)
{
	struct list *pos, *tmp;
	struct proxy *px;
	int errors = 0;

	if (!nthreads)
		nthreads = 1;
	for (px = conf->proxies; px; px = px->next) {
		if (!(px->cap & PX_CAP_FE) || px->disabled)
			continue;
		list_for_each_safe(pos, tmp, &px->binds)
			errors += bind_conf_open(conf, list_entry(pos, struct bind_conf, node),
						 nthreads);
	}
	return errors;
}

void listeners_close(struct config *conf)
{
	struct list *bpos, *btmp, *lpos, *ltmp;
	struct proxy *px;

	for (px = conf->proxies; px; px = px->next) {
		list_for_each_safe(bpos, btmp, &px->binds) {
			struct bind_conf *bc = list_entry(bpos, struct bind_conf, node);

			list_for_each_safe(lpos, ltmp, &bc->listeners)
				listener_close_fds(list_entry(lpos, struct listener, node));
		}
	}
}

/* ---- post-parse checks -------------------------------------------------------------- */

/* The mode may come after the bind line, so TCP-only options on a UDP
 * frontend can only be caught once the section is complete. */
static int check_udp_binds(struct config *conf)
{
	struct list *pos, *tmp;
	struct proxy *px;
	int errors = 0;

	for (px = conf->proxies; px; px = px->next) {
		if (!(px->cap & PX_CAP_FE) || px->mode != PX_MODE_UDP)
			continue;
		list_for_each_safe(pos, tmp, &px->binds) {
			struct bind_conf *bc = list_entry(pos, struct bind_conf, node);
			const char *opt = bc->tfo ? "tfo" : bc->defer_accept ? "defer-accept" :
					  bc->backlog ? "backlog" : NULL;

			if (!opt)
				continue;
			cfg_err_at(bc->conf_file, bc->conf_line, "bind '%s': '%s' only applies to "
				   "TCP, but %s '%s' is mode udp", bc->arg, opt,
				   proxy_cap_str(px->cap), px->name);
			errors++;
		}
	}
	return errors;
}

static struct cfg_postparser bind_pp = {
	.name = "bind",
	.fn = check_udp_binds,
};

static struct cfg_kw_list bind_kws = {
	.kws = (const struct cfg_kw[]){
		{ "bind", CFG_FRONTEND | CFG_LISTEN, kw_bind, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void bind_kws_init(void)
{
	bind_register_keywords(&bind_basic_kws);
	cfg_register(&bind_kws);
	cfg_register_postparser(&bind_pp);
}
