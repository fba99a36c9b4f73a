/* privs.h - dropping privileges, and transparent proxying.
 *
 * Owns: the global keywords "user", "group", "uid", "gid", "chroot" and
 * "setcap" (struct privs_cfg, in struct global_cfg) and privs_apply(), which
 * changes root into the configured user once the listeners are bound,
 * keeping only the capabilities "setcap" lists (libcap); the "transparent"
 * bind option (IP_TRANSPARENT / IPV6_TRANSPARENT before bind(), so that a
 * frontend accepts connections to non-local addresses); and the "source
 * ADDR[:PORT] [usesrc ADDR[:PORT]|client|clientip] [interface NAME]"
 * keyword of backends and servers (struct conn_src), applied by
 * privs_bind_source() to each outgoing socket before connect().
 * Threading: privs_apply() runs on the main thread before any worker thread
 * exists, so every thread inherits the ids and capabilities (Linux keeps
 * them per thread). privs_bind_source() runs on workers and only reads the
 * configuration.
 */
#ifndef SLUICE_PRIVS_H
#define SLUICE_PRIVS_H

#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct config;
struct server;
struct proxy;
union sockaddr_any;

/* Global settings, resolved to numbers while parsing. */
struct privs_cfg {
	int uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	int gid_from_user;		/* gid is the primary group of "user" */
	char chroot_dir[PATH_MAX];	/* "" if none */
	uint64_t caps;			/* bit (1 << CAP_x) per "setcap" name */
	const char *conf_file;		/* the "user"/"uid" line, for messages */
	int conf_line;
};

/* What the source address of an outgoing connection comes from. */
enum conn_src_use {
	SRC_USE_NONE = 0,	/* "source ADDR": bind ADDR, no transparency */
	SRC_USE_ADDR,		/* "usesrc ADDR[:PORT]": a foreign address */
	SRC_USE_CLIENTIP,	/* "usesrc clientip": the client's address, any port */
	SRC_USE_CLIENT,		/* "usesrc client": the client's address and port */
};

/* "source ..." of a backend or a server. Plain data (no pointers), so that
 * default-server and defaults sections copy it as a whole. */
struct conn_src {
	int set;			/* a "source" line applies */
	struct sockaddr_storage addr;	/* "source ADDR[:PORT]", port 0: any */
	enum conn_src_use usesrc;
	struct sockaddr_storage usesrc_addr;	/* with SRC_USE_ADDR */
	char interface[16];		/* "interface NAME" (IFNAMSIZ), "" if none */
	int from_defaults;		/* a defaults section's "source", carried by
					 * the default-server template (privs.c) */
};

/* At start-up, after the listeners are bound and the logs opened, before
 * any thread is created: chroot, then setgroups/setresgid/setresuid to the
 * configured ids, keeping the "setcap" capabilities (and no other) across
 * the change; checks that it worked. Prints [ALERT]/[WARNING] lines on
 * stderr. Returns 0, or -1 when start-up must fail. */
int privs_apply(const struct config *conf);

/* Parse a "setcap" list ("cap_net_admin,cap_net_raw") into a mask of
 * (1 << CAP_x). Returns 0, or -1 with a message in err. */
int privs_parse_caps(const char *list, uint64_t *mask, char *err, size_t errsz);
/* The "setcap" names, comma-separated, for messages and tests. */
const char *privs_cap_names(void);

/* IP_TRANSPARENT (IPv4) or IPV6_TRANSPARENT on fd, for "bind ...
 * transparent" and "usesrc". Needs CAP_NET_ADMIN or CAP_NET_RAW.
 * Returns 0 or -1 with errno. */
int privs_set_transparent(int fd, int family);

/* Before connect() on fd, the socket of a connection to srv of be: applies
 * the server's "source", else the backend's (nothing if neither has one).
 * client is the session's client (its PROXY-header source with
 * accept-proxy), or NULL for a health check, which binds the plain
 * "source ADDR" and never uses "usesrc". Returns 0, or -1 with errno:
 * EPERM (transparency not allowed: CAP_NET_ADMIN missing), EAFNOSUPPORT
 * (the address to use is not of the server's family), or bind()'s. */
int privs_bind_source(int fd, const struct server *srv, const struct proxy *be,
		      const union sockaddr_any *client);
/* Say why privs_bind_source() failed (err: its errno) on be's log targets
 * and on stderr, at most once a second per process: the session itself is
 * closed by the caller with termination state "RC". */
void privs_source_failed(const struct config *conf, const struct server *srv,
			 const struct proxy *be, int err);

#endif
