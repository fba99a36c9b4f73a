/* server.c - backend servers: "server", "default-server" and their keywords.
 *
 * Owns the parsing of a server line (shared by the config file and the
 * runtime API's "add server"), the registry of server keywords with the
 * basic ones (weight, maxconn, maxqueue, disabled, enabled, id, backup),
 * the default-server template, and the numbering of servers without "id".
 * Threading: parsing runs on the main thread (or under the CLI's lock for
 * runtime additions); nothing here touches a server's runtime state once
 * it is linked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/addr.h>
#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/proxy.h>
#include <sluice/server.h>

static struct srv_kw_list *srv_kw_lists;

void srv_register_keywords(struct srv_kw_list *list)
{
	list->next = srv_kw_lists;
	srv_kw_lists = list;
}

static const struct srv_kw *srv_find_kw(const char *name)
{
	const struct srv_kw_list *l;
	const struct srv_kw *kw;

	for (l = srv_kw_lists; l; l = l->next)
		for (kw = l->kws; kw->name; kw++)
			if (!strcmp(kw->name, name))
				return kw;
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

/* Everything that is per server instance (identity, place in lists,
 * counters, connections) starts afresh; every setting is copied, so a
 * keyword added elsewhere is inherited without touching this file. */
void server_init_from_defaults(struct server *s, const struct server *defsrv)
{
	if (!defsrv) {
		memset(s, 0, sizeof(*s));
		s->uweight = 1;
		check_conf_defaults(&s->chk);
	} else {
		memcpy(s, defsrv, sizeof(*s));
		s->name = NULL;
		s->addr_str = NULL;
		s->px = NULL;
		s->puid = 0;
		s->conf_file = NULL;
		s->conf_line = 0;
		s->next = NULL;
		s->lb_pos = 0;
		memset(&s->ctr, 0, sizeof(s->ctr));
		atomic_store(&s->cur_conns, 0);
		atomic_store(&s->nbpend, 0);
		s->check = s->agent = NULL;
		s->track = s->trackers = s->tracknext = NULL;
		s->slowstart_worker = NULL;
		if (check_conf_dup(&s->chk, &defsrv->chk) < 0)
			check_conf_defaults(&s->chk);	/* out of memory: plain */
	}
	list_init(&s->pendq);
	atomic_store(&s->state, SRV_ST_UP);
	atomic_store(&s->down_causes, 0);
	atomic_store(&s->cur_weight, s->uweight);
	atomic_store(&s->eweight, s->uweight * SRV_EWEIGHT_SCALE);
	atomic_store(&s->last_change, 0);
	pthread_mutex_init(&s->state_lock, NULL);
	timer_init(&s->slowstart_timer, NULL);
}

void server_deinit(struct server *s)
{
	free(s->name);
	free(s->addr_str);
	s->name = s->addr_str = NULL;
	check_conf_free(&s->chk);
	pthread_mutex_destroy(&s->state_lock);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_deinit(s);
	free(s);
}

struct server *server_find(const struct proxy *be, const char *name)
{
	struct server *s;

	for (s = be->srv; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

int server_dest_addr(const struct server *srv, const struct sockaddr *local,
		     struct sockaddr_storage *out)
{
	int port;

	memcpy(out, &srv->addr, sizeof(*out));
	if (!(srv->flags & (SRV_F_NO_PORT | SRV_F_PORT_MAP)))
		return 0;
	if (!local)
		return -1;
	port = ntohs(local->sa_family == AF_INET6 ?
		     ((const struct sockaddr_in6 *)local)->sin6_port :
		     ((const struct sockaddr_in *)local)->sin_port);
	if (srv->flags & SRV_F_PORT_MAP)
		port += srv->port_offset;
	if (port <= 0 || port > 65535)
		return -1;
	if (out->ss_family == AF_INET6)
		((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
	return 0;
}

struct server *server_find_by_id(const struct proxy *be, int id)
{
	struct server *s;

	for (s = be->srv; s; s = s->next)
		if (s->puid == id)
			return s;
	return NULL;
}

void server_attach(struct proxy *px, struct server *s)
{
	s->px = px;
	s->next = NULL;
	if (px->srv_last)
		px->srv_last->next = s;
	else
		px->srv = s;
	px->srv_last = s;
	px->nb_srv++;
}

/* ---- keyword handlers ----------------------------------------------------- */

int srv_cfg_err(struct cfg_ctx *ctx, const struct server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->name)
		return cfg_err(ctx, "server '%s': %s", s->name, msg);
	return cfg_err(ctx, "default-server: %s", msg);
}

static int srv_kw_uint(struct cfg_ctx *ctx, struct server *s, char **args,
		       unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long v;

	if (!args[1] || cfg_parse_uint(args[1], min, max, &v) < 0)
		return srv_cfg_err(ctx, s, "'%s' expects an integer between %lu and %lu, got '%s'",
			       args[0], min, max, args[1] ? args[1] : "");
	*out = (unsigned)v;
	return 1;
}

static int srv_kw_weight(struct cfg_ctx *ctx, struct server *s, char **args)
{
	int ret = srv_kw_uint(ctx, s, args, 0, SRV_MAX_WEIGHT, &s->uweight);

	if (ret > 0) {
		atomic_store(&s->cur_weight, s->uweight);
		atomic_store(&s->eweight, s->uweight * SRV_EWEIGHT_SCALE);
	}
	return ret;
}

static int srv_kw_maxconn(struct cfg_ctx *ctx, struct server *s, char **args)
{
	return srv_kw_uint(ctx, s, args, 0, 0x7fffffff, &s->maxconn);
}

static int srv_kw_maxqueue(struct cfg_ctx *ctx, struct server *s, char **args)
{
	return srv_kw_uint(ctx, s, args, 0, 0x7fffffff, &s->maxqueue);
}

static int srv_kw_id(struct cfg_ctx *ctx, struct server *s, char **args)
{
	unsigned id = 0;
	int ret = srv_kw_uint(ctx, s, args, 1, 0x7fffffff, &id);

	if (ret > 0)
		s->puid = (int)id;
	return ret;
}

static int srv_kw_disabled(struct cfg_ctx *ctx, struct server *s, char **args)
{
	(void)ctx;
	if (!strcmp(args[0], "disabled"))
		atomic_fetch_or(&s->admin, SRV_ADMF_MAINT);
	else
		atomic_fetch_and(&s->admin, ~(unsigned)SRV_ADMF_MAINT);
	return 0;
}

static int srv_kw_backup(struct cfg_ctx *ctx, struct server *s, char **args)
{
	(void)ctx;
	if (!strcmp(args[0], "backup"))
		s->flags |= SRV_F_BACKUP;
	else
		s->flags &= ~SRV_F_BACKUP;
	return 0;
}

static struct srv_kw_list srv_basic_kws = {
	.kws = (const struct srv_kw[]){
		{ "weight", srv_kw_weight, 1 },
		{ "maxconn", srv_kw_maxconn, 1 },
		{ "maxqueue", srv_kw_maxqueue, 1 },
		{ "disabled", srv_kw_disabled, 1 },
		{ "enabled", srv_kw_disabled, 1 },
		{ "id", srv_kw_id, 0 },
		{ "backup", srv_kw_backup, 1 },
		{ "no-backup", srv_kw_backup, 1 },
		{ NULL, NULL, 0 },
	},
};

/* ---- parsing a line --------------------------------------------------------- */

/* Apply the keywords args[first..argc-1] to s. Handlers read their value
 * as args[1], so they get a NULL-terminated copy whatever the caller's
 * array holds past argc. */
static int srv_apply_keywords(struct cfg_ctx *ctx, struct server *s, int is_default,
			      int first, int argc, char **args)
{
	char *av[CFG_MAX_ARGS + 1];
	const struct srv_kw *kw;
	int i, used;

	if (argc > CFG_MAX_ARGS)
		return srv_cfg_err(ctx, s, "too many words (at most %d)", CFG_MAX_ARGS);
	memcpy(av, args, sizeof(*av) * (size_t)argc);
	av[argc] = NULL;
	for (i = first; i < argc; i += 1 + used) {
		kw = srv_find_kw(av[i]);
		if (!kw)
			return srv_cfg_err(ctx, s, "unknown keyword '%s' (sluice does not implement it)",
				       av[i]);
		if (is_default && !kw->default_ok)
			return srv_cfg_err(ctx, s, "'%s' is only allowed on a server line", av[i]);
		used = kw->fn(ctx, s, av + i);
		if (used < 0)
			return -1;
	}
	return 0;
}

/* HAProxy's rule for proxy and server names, so they are safe in logs and
 * on the runtime API's command line. */
static int srv_check_name(struct cfg_ctx *ctx, const struct proxy *px, const char *name)
{
	const struct server *other;
	const char *p;

	if (!*name)
		return cfg_err(ctx, "'server' expects a name");
	for (p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("-_.:", *p))
			return cfg_err(ctx, "server name '%s' contains '%c': use only letters, "
				       "digits, '-', '_', '.' and ':'", name, *p);
	other = server_find(px, name);
	if (other)
		return cfg_err(ctx, "server '%s' is already defined in %s '%s' at %s:%d",
			       name, proxy_cap_str(px->cap), px->name,
			       other->conf_file ? other->conf_file : "?", other->conf_line);
	return 0;
}

static int srv_set_addr(struct cfg_ctx *ctx, struct server *s, const char *str)
{
	struct addr_spec spec;
	char err[256];

	if (addr_parse(str, ADDR_ALLOW_NO_PORT | ADDR_ALLOW_OFFSET | ADDR_RESOLVE,
		       &spec, err, sizeof(err)) < 0)
		return srv_cfg_err(ctx, s, "%s", err);
	if (spec.flags & ADDR_PORT_RANGE)
		return srv_cfg_err(ctx, s, "a server takes one port, not a range ('%s')", str);
	s->addr_str = strdup(str);
	if (!s->addr_str)
		return srv_cfg_err(ctx, s, "out of memory");
	s->addr = spec.ss;
	s->addrlen = spec.len;
	if (spec.flags & ADDR_PORT_NONE)
		s->flags |= SRV_F_NO_PORT;
	if (spec.flags & ADDR_PORT_OFFSET) {
		s->flags |= SRV_F_PORT_MAP;
		s->port_offset = spec.port_low;
	}
	return 0;
}

static int srv_check_id(struct cfg_ctx *ctx, const struct proxy *px, const struct server *s)
{
	const struct server *other;

	if (!s->puid)
		return 0;
	for (other = px->srv; other; other = other->next)
		if (other->puid == s->puid)
			return srv_cfg_err(ctx, s, "id %d is already used by server '%s' at %s:%d",
				       s->puid, other->name,
				       other->conf_file ? other->conf_file : "?", other->conf_line);
	return 0;
}

struct server *server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args)
{
	struct server *s;

	if (argc < 3) {
		cfg_err(ctx, "'server' expects a name and an address, e.g. 'server web1 10.0.0.1:80'");
		return NULL;
	}
	if (srv_check_name(ctx, px, args[1]) < 0)
		return NULL;
	s = malloc(sizeof(*s));
	if (!s) {
		cfg_err(ctx, "server '%s': out of memory", args[1]);
		return NULL;
	}
	server_init_from_defaults(s, &px->defsrv);
	s->px = px;	/* keyword handlers may look at their backend */
	s->conf_file = ctx->file;
	s->conf_line = ctx->line;
	s->name = strdup(args[1]);
	if (!s->name) {
		cfg_err(ctx, "server '%s': out of memory", args[1]);
		goto fail;
	}
	if (srv_set_addr(ctx, s, args[2]) < 0 ||
	    srv_apply_keywords(ctx, s, 0, 3, argc, args) < 0 ||
	    srv_check_id(ctx, px, s) < 0)
		goto fail;
	atomic_store(&s->cur_weight, s->uweight);
	atomic_store(&s->eweight, s->uweight * SRV_EWEIGHT_SCALE);
	return s;
fail:
	server_free(s);
	return NULL;
}

/* ---- numbering --------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Ids taken by px's servers, sorted; *n receives the count. */
static int *collect_ids(const struct proxy *px, unsigned *n)
{
	const struct server *s;
	int *ids = malloc(sizeof(*ids) * (px->nb_srv + 1));

	*n = 0;
	if (!ids)
		return NULL;	/* n = 0: numbering goes on, duplicates unchecked */
	for (s = px->srv; s && *n <= px->nb_srv; s = s->next)
		if (s->puid)
			ids[(*n)++] = s->puid;
	qsort(ids, *n, sizeof(*ids), cmp_int);
	return ids;
}

/* The lowest id from "next" up that ids[*k..n-1] (sorted) does not hold;
 * advances *k past the ids it skipped, so successive calls with growing
 * "next" make one pass over ids. */
static int next_free_id(const int *ids, unsigned n, unsigned *k, int next)
{
	for (; *k < n && ids[*k] <= next; (*k)++)
		if (ids[*k] == next)
			next++;
	return next;
}

/* Servers without "id", in file order, take the lowest numbers that no
 * server claimed. */
static void assign_missing_ids(struct proxy *px)
{
	struct server *s;
	unsigned n, k = 0;
	int next = 1;
	int *ids = collect_ids(px, &n);

	for (s = px->srv; s; s = s->next) {
		if (s->puid)
			continue;
		next = next_free_id(ids, n, &k, next);
		s->puid = next++;
	}
	free(ids);
}

void server_assign_id(struct proxy *px, struct server *s)
{
	unsigned n, k = 0;
	int *ids = collect_ids(px, &n);

	s->puid = next_free_id(ids, n, &k, 1);
	free(ids);
}

static int server_postparse(struct config *conf)
{
	struct proxy *px;

	for (px = conf->proxies; px; px = px->next)
		if (px->cap & PX_CAP_BE)
			assign_missing_ids(px);
	return 0;
}

/* ---- section keywords --------------------------------------------------------- */

static int kw_server(struct cfg_ctx *ctx, int argc, char **args)
{
	struct server *s = server_parse(ctx, ctx->px, argc, args);

	if (!s)
		return -1;
	server_attach(ctx->px, s);
	return 0;
}

static int kw_default_server(struct cfg_ctx *ctx, int argc, char **args)
{
	return srv_apply_keywords(ctx, &ctx->px->defsrv, 1, 1, argc, args);
}

static struct cfg_kw_list server_kws = {
	.kws = (const struct cfg_kw[]){
		{ "server", CFG_BACKEND | CFG_LISTEN, kw_server, 0 },
		{ "default-server", CFG_BE_SIDE, kw_default_server, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

static struct cfg_postparser server_pp = {
	.name = "server ids",
	.fn = server_postparse,
};

__attribute__((constructor)) static void server_kws_init(void)
{
	srv_register_keywords(&srv_basic_kws);
	cfg_register(&server_kws);
	cfg_register_postparser(&server_pp);
}
