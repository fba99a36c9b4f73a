/* privs.c - dropping privileges, and transparent proxying.
 *
 * Owns the global keywords user, group, uid, gid, chroot and setcap and
 * privs_apply(), which turns root into the configured user after the
 * listeners are bound; the "transparent" bind option; and "source ...
 * [usesrc ...] [interface ...]" on backends, defaults and servers, which
 * privs_bind_source() applies to outgoing sockets.
 * Threading: parsing and privs_apply() run on the main thread before any
 * worker exists (Linux ids and capabilities are per thread: threads created
 * afterwards inherit them). privs_bind_source() runs on workers and only
 * reads the configuration; privs_source_failed() rate-limits with an atomic.
 */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/listener.h>
#include <sluice/log.h>
#include <sluice/privs.h>
#include <sluice/proxy.h>
#include <sluice/server.h>
#include <sluice/session.h>

/* ---- capability names ------------------------------------------------------ */

/* Only what a proxy may still need once it runs as a user: binding low
 * ports again (reload), and connecting from foreign addresses. */
static const struct {
	const char *name;
	cap_value_t cap;
} privs_caps[] = {
	{ "cap_net_bind_service", CAP_NET_BIND_SERVICE },
	{ "cap_net_admin", CAP_NET_ADMIN },
	{ "cap_net_raw", CAP_NET_RAW },
};

const char *privs_cap_names(void)
{
	return "cap_net_bind_service, cap_net_admin, cap_net_raw";
}

static int privs_find_cap(const char *name, size_t len, cap_value_t *cap)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(privs_caps); i++) {
		if (strlen(privs_caps[i].name) == len &&
		    !strncasecmp(privs_caps[i].name, name, len)) {
			*cap = privs_caps[i].cap;
			return 0;
		}
	}
	return -1;
}

int privs_parse_caps(const char *list, uint64_t *mask, char *err, size_t errsz)
{
	const char *cur = list, *end;
	cap_value_t cap;
	size_t len;

	*mask = 0;
	for (;;) {
		end = strchr(cur, ',');
		len = end ? (size_t)(end - cur) : strlen(cur);
		if (!len) {
			snprintf(err, errsz, "empty capability name in '%s'; supported: %s",
				 list, privs_cap_names());
			return -1;
		}
		if (privs_find_cap(cur, len, &cap) < 0) {
			snprintf(err, errsz, "unknown capability '%.*s'; supported: %s",
				 (int)len, cur, privs_cap_names());
			return -1;
		}
		*mask |= 1ULL << cap;
		if (!end)
			return 0;
		cur = end + 1;
	}
}

/* ---- global keywords ------------------------------------------------------- */

static struct privs_cfg *privs_of(struct cfg_ctx *ctx)
{
	return &ctx->conf->global.privs;
}

static int privs_one_arg(struct cfg_ctx *ctx, int argc, char **args, const char *what)
{
	if (argc != 2 || !*args[1])
		return cfg_err(ctx, "'%s' expects %s", args[0], what);
	return 0;
}

static void privs_set_uid(struct cfg_ctx *ctx, uid_t uid, const gid_t *primary)
{
	struct privs_cfg *p = privs_of(ctx);

	if (p->uid_set && p->uid != uid)
		cfg_warn(ctx, "'%s': the user was already set, this one replaces it", "user/uid");
	p->uid = uid;
	p->uid_set = 1;
	p->conf_file = ctx->file;
	p->conf_line = ctx->line;
	/* Without "group", run in the user's own group, never in root's. */
	if (primary && (!p->gid_set || p->gid_from_user)) {
		p->gid = *primary;
		p->gid_set = 1;
		p->gid_from_user = 1;
	}
}

static void privs_set_gid(struct cfg_ctx *ctx, gid_t gid)
{
	struct privs_cfg *p = privs_of(ctx);

	if (p->gid_set && !p->gid_from_user && p->gid != gid)
		cfg_warn(ctx, "'%s': the group was already set, this one replaces it", "group/gid");
	p->gid = gid;
	p->gid_set = 1;
	p->gid_from_user = 0;
}

static int kw_user(struct cfg_ctx *ctx, int argc, char **args)
{
	struct passwd *pw;

	if (privs_one_arg(ctx, argc, args, "a user name, e.g. 'user haproxy'") < 0)
		return -1;
	pw = getpwnam(args[1]);
	if (!pw)
		return cfg_err(ctx, "'user': unknown user '%s' (not in the passwd database)",
			       args[1]);
	privs_set_uid(ctx, pw->pw_uid, &pw->pw_gid);
	return 0;
}

static int kw_group(struct cfg_ctx *ctx, int argc, char **args)
{
	struct group *gr;

	if (privs_one_arg(ctx, argc, args, "a group name, e.g. 'group haproxy'") < 0)
		return -1;
	gr = getgrnam(args[1]);
	if (!gr)
		return cfg_err(ctx, "'group': unknown group '%s' (not in the group database)",
			       args[1]);
	privs_set_gid(ctx, gr->gr_gid);
	return 0;
}

/* (uid_t)-1 and (gid_t)-1 mean "unchanged" to the set*id calls. */
static int privs_parse_id(struct cfg_ctx *ctx, int argc, char **args, unsigned long *id)
{
	if (argc != 2 || cfg_parse_uint(args[1], 0, 0xfffffffeUL, id) < 0)
		return cfg_err(ctx, "'%s' expects a number from 0 to 4294967294, got '%s'",
			       args[0], argc > 1 ? args[1] : "");
	return 0;
}

static int kw_uid(struct cfg_ctx *ctx, int argc, char **args)
{
	struct passwd *pw;
	unsigned long id;

	if (privs_parse_id(ctx, argc, args, &id) < 0)
		return -1;
	pw = getpwuid((uid_t)id);
	privs_set_uid(ctx, (uid_t)id, pw ? &pw->pw_gid : NULL);
	return 0;
}

static int kw_gid(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned long id;

	if (privs_parse_id(ctx, argc, args, &id) < 0)
		return -1;
	privs_set_gid(ctx, (gid_t)id);
	return 0;
}

static int kw_chroot(struct cfg_ctx *ctx, int argc, char **args)
{
	struct privs_cfg *p = privs_of(ctx);

	if (privs_one_arg(ctx, argc, args, "a directory, e.g. 'chroot /var/empty'") < 0)
		return -1;
	/* a relative path would depend on the directory sluice starts in */
	if (args[1][0] != '/')
		return cfg_err(ctx, "'chroot' expects an absolute path, got '%s'", args[1]);
	if (strlen(args[1]) >= sizeof(p->chroot_dir))
		return cfg_err(ctx, "'chroot': path too long");
	strcpy(p->chroot_dir, args[1]);
	return 0;
}

static int kw_setcap(struct cfg_ctx *ctx, int argc, char **args)
{
	char err[256];
	uint64_t mask;

	if (argc != 2)
		return cfg_err(ctx, "'setcap' expects one comma-separated list, e.g. "
			       "'setcap cap_net_bind_service,cap_net_admin'");
	if (privs_parse_caps(args[1], &mask, err, sizeof(err)) < 0)
		return cfg_err(ctx, "'setcap': %s", err);
	privs_of(ctx)->caps = mask;
	return 0;
}

/* ---- "source" ---------------------------------------------------------------- */

static int src_parse_addr(struct cfg_ctx *ctx, const char *kw, const char *str,
			  struct sockaddr_storage *out)
{
	struct addr_spec spec;
	char err[256];

	if (addr_parse(str, ADDR_ALLOW_NO_PORT | ADDR_ALLOW_RANGE | ADDR_RESOLVE, &spec,
		       err, sizeof(err)) < 0)
		return cfg_err(ctx, "'%s': %s", kw, err);
	if ((spec.flags & ADDR_PORT_RANGE) && spec.port_low != spec.port_high)
		return cfg_err(ctx, "'%s': port ranges are not supported, got '%s'", kw, str);
	if (spec.ss.ss_family != AF_INET && spec.ss.ss_family != AF_INET6)
		return cfg_err(ctx, "'%s' expects an IPv4 or IPv6 address, got '%s'", kw, str);
	*out = spec.ss;
	return 0;
}

static int src_parse_usesrc(struct cfg_ctx *ctx, struct conn_src *src, const char *v)
{
	if (!v || !*v)
		return cfg_err(ctx, "'usesrc' expects 'client', 'clientip' or an address");
	if (!strcmp(v, "clientip"))
		src->usesrc = SRC_USE_CLIENTIP;
	else if (!strcmp(v, "client"))
		src->usesrc = SRC_USE_CLIENT;
	else if (!strncmp(v, "hdr_ip(", 7))
		return cfg_err(ctx, "'usesrc %s' is not supported (no HTTP in sluice)", v);
	else if (src_parse_addr(ctx, "usesrc", v, &src->usesrc_addr) < 0)
		return -1;
	else
		src->usesrc = SRC_USE_ADDR;
	return 0;
}

static int src_parse_interface(struct cfg_ctx *ctx, struct conn_src *src, const char *v)
{
	if (!v || !*v || strlen(v) >= sizeof(src->interface))
		return cfg_err(ctx, "'interface' expects an interface name of at most %zu "
			       "characters, got '%s'", sizeof(src->interface) - 1, v ? v : "");
	strcpy(src->interface, v);
	return 0;
}

/* "source ADDR[:PORT] [usesrc X] [interface NAME]": args[0] is "source",
 * the line ends with NULL. On a server line, parsing stops at the first
 * word that is not one of these options. Returns the words used after
 * "source", or -1. */
static int src_parse(struct cfg_ctx *ctx, struct conn_src *src, char **args, int server)
{
	struct conn_src tmp = { .set = 1 };
	int i;

	if (!args[1] || !*args[1])
		return cfg_err(ctx, "'source' expects an address, e.g. 'source 10.0.0.1' or "
			       "'source 0.0.0.0 usesrc clientip'");
	if (src_parse_addr(ctx, "source", args[1], &tmp.addr) < 0)
		return -1;
	for (i = 2; args[i]; i += 2) {
		if (!strcmp(args[i], "usesrc")) {
			if (src_parse_usesrc(ctx, &tmp, args[i + 1]) < 0)
				return -1;
		} else if (!strcmp(args[i], "interface")) {
			if (src_parse_interface(ctx, &tmp, args[i + 1]) < 0)
				return -1;
		} else if (server) {
			break;
		} else {
			return cfg_err(ctx, "'source': unknown option '%s' (expects 'usesrc' or "
				       "'interface')", args[i]);
		}
	}
	*src = tmp;
	return i - 1;
}

/* A proxy copies only some fields of its defaults section, but always the
 * whole default-server template: a defaults section's "source" rides in
 * it, marked, and the post-parse check gives it to each backend that has
 * no "source" of its own. A server's own "source" still wins. */
static int kw_source(struct cfg_ctx *ctx, int argc, char **args)
{
	struct proxy *px = ctx->px;

	(void)argc;
	if (src_parse(ctx, &px->src, args, 0) < 0)
		return -1;
	if (px->cap == PX_CAP_DEFAULTS && (!px->defsrv.src.set || px->defsrv.src.from_defaults)) {
		px->defsrv.src = px->src;
		px->defsrv.src.from_defaults = 1;
	}
	return 0;
}

static int srv_kw_source(struct cfg_ctx *ctx, struct server *s, char **args)
{
	return src_parse(ctx, &s->src, args, 1);
}

/* ---- "transparent" bind option ------------------------------------------------ */

static int bind_kw_transparent(struct cfg_ctx *ctx, struct bind_conf *bc, char **args)
{
	(void)ctx;
	(void)args;
	bc->transparent = 1;
	return 0;
}

int privs_set_transparent(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	return setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
}

/* ---- outgoing sockets ------------------------------------------------------------ */

/* The client's address in the server's family: an IPv4 client seen
 * through a dual-stack listener (::ffff:a.b.c.d) still talks IPv4. */
static int src_client_addr(const union sockaddr_any *client, int family, int keep_port,
			   struct sockaddr_storage *out)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct sockaddr_in *in = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (client->sa.sa_family == family) {
		memcpy(out, client, family == AF_INET6 ? sizeof(client->in6) : sizeof(client->in));
	} else if (family == AF_INET && client->sa.sa_family == AF_INET6 &&
		   !memcmp(client->in6.sin6_addr.s6_addr, v4mapped, 12)) {
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, client->in6.sin6_addr.s6_addr + 12, 4);
		in->sin_port = client->in6.sin6_port;
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (!keep_port)
		addr_set_port(out, 0);
	return 0;
}

static int src_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &in6addr_any,
			       sizeof(in6addr_any));
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* The local address to bind, and whether it needs transparency. */
static int src_local_addr(const struct conn_src *src, const union sockaddr_any *client,
			  int family, struct sockaddr_storage *local, int *transparent)
{
	*transparent = client && src->usesrc != SRC_USE_NONE;
	if (!*transparent)
		*local = src->addr;
	else if (src->usesrc == SRC_USE_ADDR)
		*local = src->usesrc_addr;
	else if (src_client_addr(client, family, src->usesrc == SRC_USE_CLIENT, local) < 0)
		return -1;
	if (local->ss_family != family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
}

static int src_bind(int fd, const struct sockaddr_storage *local)
{
	int one = 1;

	/* A fixed port is shared by connections to different servers; port 0
	 * lets connect() pick it, so the same port serves many servers
	 * instead of using up the ephemeral range at bind(). */
	if (addr_port(local))
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)local, addr_len(local));
}

static const struct conn_src *src_of(const struct server *srv, const struct proxy *be)
{
	if (srv && srv->src.set && !srv->src.from_defaults)
		return &srv->src;
	if (be && be->src.set)
		return &be->src;
	return NULL;
}

int privs_bind_source(int fd, const struct server *srv, const struct proxy *be,
		      const union sockaddr_any *client)
{
	const struct conn_src *src = src_of(srv, be);
	int family = srv->addr.ss_family, transparent;
	struct sockaddr_storage local;

	if (!src)
		return 0;
	if (src->interface[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, src->interface,
		       (socklen_t)strlen(src->interface) + 1) < 0)
		return -1;
	if (src_local_addr(src, client, family, &local, &transparent) < 0)
		return -1;
	if (transparent && privs_set_transparent(fd, family) < 0)
		return -1;
	if (!transparent && !addr_port(&local) && src_is_wildcard(&local))
		return 0;	/* "source 0.0.0.0": nothing to choose */
	return src_bind(fd, &local);
}

static const char *src_hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "transparent proxying needs CAP_NET_ADMIN: start as root and keep it "
		       "with 'setcap cap_net_admin'";
	case EAFNOSUPPORT:
		return "the address to use is not of the server's family (IPv4/IPv6)";
	case EADDRNOTAVAIL:
		return "the address is not local: a foreign address needs 'usesrc'";
	case EADDRINUSE:
		return "the source port is in use";
	default:
		return "check the 'source' line";
	}
}

void privs_source_failed(const struct config *conf, const struct server *srv,
			 const struct proxy *be, int err)
{
	static _Atomic int64_t last_report;
	struct timespec now;
	int64_t prev;

	clock_gettime(CLOCK_MONOTONIC, &now);
	prev = atomic_load(&last_report);
	/* one line a second is enough to be seen, and cannot flood the logs
	 * (stored as second + 1 so that 0 means "never") */
	if (prev == (int64_t)now.tv_sec + 1 ||
	    !atomic_compare_exchange_strong(&last_report, &prev, (int64_t)now.tv_sec + 1))
		return;
	log_send(be, conf, LOG_LVL_ALERT, "backend %s: cannot set the source address of a "
		 "connection to server %s: %s (%s)", be->name, srv->name, strerror(err),
		 src_hint(err));
	fprintf(stderr, "[ALERT] backend %s: cannot set the source address of a connection "
		"to server %s: %s (%s)\n", be->name, srv->name, strerror(err), src_hint(err));
}

/* ---- dropping privileges ----------------------------------------------------------- */

static int privs_alert(const char *what, const char *arg)
{
	fprintf(stderr, "[ALERT] %s%s: %s\n", what, arg ? arg : "", strerror(errno));
	return -1;
}

/* chdir first: after chroot(".") the working directory is inside. */
static int privs_chroot(const char *dir)
{
	if (chdir(dir) < 0)
		return privs_alert("cannot enter the chroot directory ", dir);
	if (chroot(".") < 0)
		return privs_alert("cannot chroot to ", dir);
	if (chdir("/") < 0)
		return privs_alert("cannot enter / in the chroot ", dir);
	return 0;
}

/* Exactly the capabilities of mask in the permitted and effective sets,
 * none inheritable. */
static int privs_set_caps(uint64_t mask)
{
	cap_t caps = cap_init();
	cap_value_t v;
	int ret = 0;

	if (!caps)
		return privs_alert("cannot set capabilities", NULL);
	for (v = 0; v < 64 && ret == 0; v++) {
		if (!(mask & (1ULL << v)))
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
			ret = -1;
	}
	if (ret == 0)
		ret = cap_set_proc(caps);
	cap_free(caps);
	return ret < 0 ? privs_alert("cannot set the capabilities kept by 'setcap'", NULL) : 0;
}

/* The bounding set caps what any later execve() could gain back, and the
 * ambient set what it would inherit: keep only the listed capabilities.
 * Best effort (a container may refuse CAP_SETPCAP): the permitted and
 * effective sets, checked afterwards, are what protects this process. */
static void privs_limit_bounding(uint64_t mask)
{
	cap_value_t v, last = (cap_value_t)cap_max_bits();

	for (v = 0; v < last; v++) {
		if (v < 64 && (mask & (1ULL << v)))
			continue;
		if (cap_drop_bound(v) < 0 && errno != EINVAL) {
			fprintf(stderr, "[WARNING] cannot limit the capability bounding set: %s\n",
				strerror(errno));
			break;
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static int privs_set_gids(gid_t gid)
{
	if (setgroups(1, &gid) < 0)
		return privs_alert("cannot set the supplementary groups", NULL);
	if (setresgid(gid, gid, gid) < 0)
		return privs_alert("cannot change the group id", NULL);
	return 0;
}

static int privs_set_uids(uid_t uid, uint64_t caps)
{
	if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return privs_alert("cannot keep capabilities across the user change", NULL);
	privs_limit_bounding(caps);
	if (setresuid(uid, uid, uid) < 0)
		return privs_alert("cannot change the user id", NULL);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* the kernel cleared the effective set: rebuild exactly the list
	 * (and, without setcap, make sure nothing is left) */
	return privs_set_caps(caps);
}

static int privs_check_caps(uint64_t want)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t prm, eff;
	cap_value_t v, last = (cap_value_t)cap_max_bits();
	int ok = caps != NULL;

	for (v = 0; ok && v < last; v++) {
		int listed = v < 64 && (want & (1ULL << v));

		ok = cap_get_flag(caps, v, CAP_PERMITTED, &prm) == 0 &&
		     cap_get_flag(caps, v, CAP_EFFECTIVE, &eff) == 0 &&
		     (prm == CAP_SET) == listed && (eff == CAP_SET) == listed;
	}
	cap_free(caps);
	return ok;
}

/* Trust nothing: read back every id and every capability. */
static int privs_verify(const struct privs_cfg *p)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (p->uid_set && (getresuid(&ru, &eu, &su) < 0 ||
			   ru != p->uid || eu != p->uid || su != p->uid))
		return fprintf(stderr, "[ALERT] the user id change did not take\n"), -1;
	n = getgroups(2, groups);
	if (p->gid_set && (getresgid(&rg, &eg, &sg) < 0 || rg != p->gid ||
			   eg != p->gid || sg != p->gid || n != 1 || groups[0] != p->gid))
		return fprintf(stderr, "[ALERT] the group id change did not take\n"), -1;
	if (!p->uid_set || p->uid == 0)
		return 0;
	if (!privs_check_caps(p->caps))
		return fprintf(stderr, "[ALERT] capabilities other than those of 'setcap' "
			       "are left after the user change\n"), -1;
	if (setuid(0) == 0)
		return fprintf(stderr, "[ALERT] root could be regained after the user change\n"), -1;
	return 0;
}

static int privs_drop_root(const struct privs_cfg *p)
{
	if (p->gid_set && privs_set_gids(p->gid) < 0)
		return -1;
	if (p->uid_set && p->uid != 0 && privs_set_uids(p->uid, p->caps) < 0)
		return -1;
	return privs_verify(p);
}

/* Not root: nothing can change, only be checked, as HAProxy does. */
static int privs_check_unprivileged(const struct privs_cfg *p)
{
	if (p->uid_set && (getuid() != p->uid || geteuid() != p->uid)) {
		fprintf(stderr, "[ALERT] 'user'/'uid' %u: sluice runs as uid %u and only root "
			"can change it; start it as root or remove the line\n",
			(unsigned)p->uid, (unsigned)geteuid());
		return -1;
	}
	if (p->gid_set && !p->gid_from_user && (getgid() != p->gid || getegid() != p->gid)) {
		fprintf(stderr, "[ALERT] 'group'/'gid' %u: sluice runs as gid %u and only root "
			"can change it; start it as root or remove the line\n",
			(unsigned)p->gid, (unsigned)getegid());
		return -1;
	}
	if (p->uid_set)
		fprintf(stderr, "[WARNING] not started as root: already running as uid %u, "
			"nothing to drop\n", (unsigned)p->uid);
	if (p->caps)
		fprintf(stderr, "[WARNING] 'setcap' only applies when root changes user\n");
	return 0;
}

int privs_apply(const struct config *conf)
{
	const struct privs_cfg *p = &conf->global.privs;

	if (p->chroot_dir[0] && privs_chroot(p->chroot_dir) < 0)
		return -1;
	if (geteuid() != 0)
		return privs_check_unprivileged(p);
	if (p->caps && (!p->uid_set || p->uid == 0))
		fprintf(stderr, "[WARNING] 'setcap' has no effect without 'user' or 'uid': "
			"sluice keeps running as root\n");
	if (!p->uid_set && !p->gid_set)
		return 0;
	return privs_drop_root(p);
}

/* ---- post-parse checks --------------------------------------------------------------- */

static int src_check_family(const struct conn_src *src, const struct server *s)
{
	int fam = s->addr.ss_family;
	const char *bad = src->addr.ss_family != fam ? "source" :
			  src->usesrc == SRC_USE_ADDR && src->usesrc_addr.ss_family != fam ?
			  "usesrc" : NULL;

	if (!bad)
		return 0;
	cfg_err_at(s->conf_file, s->conf_line, "server '%s': the '%s' address and the "
		   "server's address are not of the same family (IPv4/IPv6)", s->name, bad);
	return 1;
}

/* UDP sessions do not bind a source yet: refuse rather than send from
 * another address than the one configured. */
static int src_check_proxy(struct proxy *px)
{
	const struct server *s;
	int errors = 0;

	if (!(px->cap & PX_CAP_BE))
		return 0;
	if (!px->src.set && px->defsrv.src.from_defaults)
		px->src = px->defsrv.src;
	for (s = px->srv; s; s = s->next) {
		const struct conn_src *src = src_of(s, px);

		if (!src)
			continue;
		if (px->mode == PX_MODE_UDP) {
			cfg_err_at(s->conf_file, s->conf_line, "server '%s': 'source' is not "
				   "supported in mode udp", s->name);
			errors++;
			continue;
		}
		errors += src_check_family(src, s);
	}
	return errors;
}

static int privs_postparse(struct config *conf)
{
	const struct privs_cfg *p = &conf->global.privs;
	struct proxy *px;
	int errors = 0;

	if (p->uid_set && p->uid != 0 && !p->gid_set) {
		cfg_err_at(p->conf_file, p->conf_line, "'uid %u' has no passwd entry, so no "
			   "group to run in: set 'gid' or 'group' too", (unsigned)p->uid);
		errors++;
	}
	for (px = conf->proxies; px; px = px->next)
		errors += src_check_proxy(px);
	return errors;
}

/* ---- registration ------------------------------------------------------------------- */

static struct cfg_kw_list privs_kws = {
	.kws = (const struct cfg_kw[]){
		{ "user", CFG_GLOBAL, kw_user, 0 },
		{ "group", CFG_GLOBAL, kw_group, 0 },
		{ "uid", CFG_GLOBAL, kw_uid, 0 },
		{ "gid", CFG_GLOBAL, kw_gid, 0 },
		{ "chroot", CFG_GLOBAL, kw_chroot, 0 },
		{ "setcap", CFG_GLOBAL, kw_setcap, 0 },
		{ "source", CFG_BE_SIDE, kw_source, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

static struct srv_kw_list privs_srv_kws = {
	.kws = (const struct srv_kw[]){
		{ "source", srv_kw_source, 1 },
		{ NULL, NULL, 0 },
	},
};

static struct bind_kw_list privs_bind_kws = {
	.kws = (const struct bind_kw[]){
		{ "transparent", bind_kw_transparent },
		{ NULL, NULL },
	},
};

static struct cfg_postparser privs_pp = {
	.name = "privs",
	.fn = privs_postparse,
};

__attribute__((constructor)) static void privs_init(void)
{
	cfg_register(&privs_kws);
	srv_register_keywords(&privs_srv_kws);
	bind_register_keywords(&privs_bind_kws);
	cfg_register_postparser(&privs_pp);
}
