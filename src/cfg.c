/* cfg.c - configuration loading: files, sections, keyword dispatch.
 *
 * Reads each file line by line, tokenizes it (cfg_lex.c), switches sections
 * and hands every other line to the keyword registered for it by the
 * subsystem that implements it. Parsing goes on after an error so that one
 * run reports as many mistakes as possible; the post-parsers, which resolve
 * references between proxies, only run on a configuration without errors.
 * Also holds the root struct config (init, free, proxy lookup) and the
 * number/time/size parsers every keyword uses.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>
#include <sluice/global.h>
#include <sluice/log.h>
#include <sluice/proxy.h>
#include <sluice/stick.h>

#define CFG_MAX_LINE	65536
/* room for a line whose environment variables grew it */
#define CFG_OUT_SIZE	(2 * CFG_MAX_LINE)

static struct cfg_kw_list *kw_lists;
static struct cfg_kw_list **kw_tail = &kw_lists;
static struct cfg_postparser *postparsers;
static struct cfg_postparser **pp_tail = &postparsers;

/* State of one cfg_load_files() run, around the public context. */
struct cfg_parser {
	struct cfg_ctx ctx;
	int skipping;		/* inside a section we refused: ignore lines */
	struct proxy **px_tail;	/* where the next proxy is linked */
	char *out;		/* tokenizer output */
	char *args[CFG_MAX_ARGS + 1];
	char *peers_name;	/* copy of the current peers section's name */
};

/* The parser running now, for cfg_current(). Parsing happens on the main
 * thread only, before workers exist. */
static struct cfg_ctx *current_ctx;

struct cfg_ctx *cfg_current(void)
{
	return current_ctx;
}

/* HAProxy sections sluice refuses as a whole rather than line by line. */
static const char *const unsupported_sections[] = {
	"resolvers", "userlist", "mailers", "program", "http-errors",
	"ring", "cache", "fcgi-app", "crt-store", "log-forward", "traces",
};

/* ---- messages ---- */

static void vreport(const char *file, int line, const char *what,
		    const char *fmt, va_list ap)
{
	if (file)
		fprintf(stderr, "%s:%d: %s", file, line, what);
	else
		fputs(what, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cfg_err(struct cfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ctx->file, ctx->line, "", fmt, ap);
	va_end(ap);
	ctx->errors++;
	return -1;
}

void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ctx->file, ctx->line, "warning: ", fmt, ap);
	va_end(ap);
	ctx->warnings++;
}

void cfg_err_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(file, line, "", fmt, ap);
	va_end(ap);
}

/* ---- registries ---- */

void cfg_register(struct cfg_kw_list *list)
{
	list->next = NULL;
	*kw_tail = list;
	kw_tail = &list->next;
}

void cfg_register_postparser(struct cfg_postparser *pp)
{
	pp->next = NULL;
	*pp_tail = pp;
	pp_tail = &pp->next;
}

/* The same name may be registered for several sections by different files
 * ("maxconn" in global and in proxies): prefer the one allowed here, else
 * report any one through *elsewhere. */
static const struct cfg_kw *find_kw(const char *name, unsigned section,
				    const struct cfg_kw **elsewhere)
{
	const struct cfg_kw_list *l;
	const struct cfg_kw *kw;

	for (l = kw_lists; l; l = l->next) {
		for (kw = l->kws; kw->name; kw++) {
			if (strcmp(kw->name, name))
				continue;
			if (kw->sections & section)
				return kw;
			*elsewhere = kw;
		}
	}
	return NULL;
}

static const char *section_name(unsigned section)
{
	switch (section) {
	case CFG_GLOBAL:	return "global";
	case CFG_DEFAULTS:	return "defaults";
	case CFG_FRONTEND:	return "frontend";
	case CFG_BACKEND:	return "backend";
	case CFG_LISTEN:	return "listen";
	case CFG_PEERS:		return "peers";
	default:		return "?";
	}
}

/* Two-word names ("timeout client") take precedence over one-word ones. */
static const struct cfg_kw *lookup_kw(unsigned section, int argc, char **args,
				      const struct cfg_kw **elsewhere)
{
	const struct cfg_kw *kw;
	char two[256];
	int n;

	*elsewhere = NULL;
	if (argc >= 2) {
		n = snprintf(two, sizeof(two), "%s %s", args[0], args[1]);
		if (n > 0 && (size_t)n < sizeof(two)) {
			kw = find_kw(two, section, elsewhere);
			if (kw)
				return kw;
		}
	}
	return find_kw(args[0], section, elsewhere);
}

static void report_unknown(struct cfg_ctx *ctx, int argc, char **args)
{
	const char *sec = section_name(ctx->section);

	if (!strcmp(args[0], "option") || !strcmp(args[0], "timeout")) {
		if (argc < 2) {
			cfg_err(ctx, "'%s' expects a name, as in '%s %s'", args[0],
				args[0], args[0][0] == 'o' ? "redispatch" : "client");
			return;
		}
		cfg_err(ctx, "unknown %s '%s' in '%s' section (sluice does not implement it; see doc/configuration.md)",
			args[0], args[1], sec);
		return;
	}
	cfg_err(ctx, "unknown keyword '%s' in '%s' section (sluice does not implement it; see doc/configuration.md)",
		args[0], sec);
}

static void run_kw(struct cfg_ctx *ctx, int argc, char **args)
{
	const struct cfg_kw *kw, *elsewhere;
	int errors = ctx->errors;

	kw = lookup_kw(ctx->section, argc, args, &elsewhere);
	if (!kw) {
		if (elsewhere)
			cfg_err(ctx, "'%s' is not allowed in '%s' section",
				elsewhere->name, section_name(ctx->section));
		else
			report_unknown(ctx, argc, args);
		return;
	}
	if (ctx->negate && !(kw->flags & CFG_KW_NEGATABLE)) {
		cfg_err(ctx, "'no' is not supported for '%s'", kw->name);
		return;
	}
	if (!kw->fn)
		return;
	/* a handler that fails silently still must not let the config pass */
	if (kw->fn(ctx, argc, args) < 0 && ctx->errors == errors)
		cfg_err(ctx, "'%s': invalid arguments", kw->name);
}

/* ---- sections ---- */

static void enter_skip(struct cfg_parser *p)
{
	p->skipping = 1;
	p->ctx.section = 0;
	p->ctx.px = NULL;
	p->ctx.defpx = NULL;
	p->ctx.peers = NULL;
}

static void section_global(struct cfg_parser *p, int argc, char **args)
{
	struct cfg_ctx *ctx = &p->ctx;
	struct global_cfg *g = &ctx->conf->global;

	if (argc > 1)
		cfg_err(ctx, "'global' takes no argument, got '%s'", args[1]);
	p->skipping = 0;
	ctx->section = CFG_GLOBAL;
	ctx->px = NULL;
	ctx->defpx = NULL;
	if (!g->conf_file) {
		g->conf_file = ctx->file;
		g->conf_line = ctx->line;
	}
}

/* Proxy names end up in logs, stats and the runtime API: keep them to the
 * characters HAProxy accepts. */
static int check_name(struct cfg_ctx *ctx, const char *kind, const char *name)
{
	const char *c;

	for (c = name; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-_.:", *c))
			continue;
		return cfg_err(ctx, "'%s %s': character '%c' is not allowed in a name (letters, digits, '-', '_', '.', ':')",
			       kind, name, *c);
	}
	return 0;
}

struct section_args {
	const char *name;	/* NULL if none */
	const char *from;	/* "from NAME", NULL if none */
	const char *extra;	/* first unexpected word, NULL if none */
};

/* "KIND [NAME] [from DEFAULTS] [junk...]" */
static int split_section_args(struct cfg_ctx *ctx, int argc, char **args,
			      struct section_args *sa)
{
	int i = 1;

	memset(sa, 0, sizeof(*sa));
	if (i < argc && strcmp(args[i], "from"))
		sa->name = args[i++];
	if (i < argc && !strcmp(args[i], "from")) {
		if (i + 1 >= argc)
			return cfg_err(ctx, "'%s': 'from' expects the name of a defaults section", args[0]);
		sa->from = args[i + 1];
		i += 2;
	}
	if (i < argc)
		sa->extra = args[i];
	return 0;
}

static struct proxy *find_defaults(const struct config *conf, const char *name)
{
	return config_find_proxy(conf, name, PX_CAP_DEFAULTS);
}

/* The defaults a section inherits: "from NAME", else the last one seen
 * (only for proxies: a defaults section without "from" starts afresh). */
static struct proxy *pick_defaults(struct cfg_ctx *ctx, const char *kind,
				   const struct section_args *sa, int is_defaults)
{
	struct proxy *defs;

	if (!sa->from)
		return is_defaults ? NULL : ctx->conf->defaults;
	defs = find_defaults(ctx->conf, sa->from);
	if (!defs)
		cfg_err(ctx, "'%s%s%s': no defaults section named '%s' above this line",
			kind, sa->name ? " " : "", sa->name ? sa->name : "", sa->from);
	return defs;
}

static void section_defaults(struct cfg_parser *p, int argc, char **args)
{
	struct cfg_ctx *ctx = &p->ctx;
	struct section_args sa;
	struct proxy *defs, *px;

	if (split_section_args(ctx, argc, args, &sa) < 0) {
		enter_skip(p);
		return;
	}
	if (sa.extra)
		cfg_err(ctx, "'defaults': unexpected argument '%s' (expects 'defaults [NAME] [from NAME]')",
			sa.extra);
	if (sa.name)
		check_name(ctx, "defaults", sa.name);
	defs = pick_defaults(ctx, "defaults", &sa, 1);
	px = proxy_new(sa.name ? sa.name : "", PX_CAP_DEFAULTS, defs);
	if (!px) {
		cfg_err(ctx, "out of memory");
		enter_skip(p);
		return;
	}
	px->conf_file = ctx->file;
	px->conf_line = ctx->line;
	px->next = ctx->conf->defaults;
	ctx->conf->defaults = px;
	p->skipping = 0;
	ctx->section = CFG_DEFAULTS;
	ctx->px = px;
	ctx->defpx = defs;
}

/* Two proxies clash when they share a side: a frontend and a backend may
 * have the same name, a listen clashes with both. */
static void check_duplicate(struct cfg_ctx *ctx, const char *kind,
			    const char *name, unsigned cap)
{
	const struct proxy *px;

	for (px = ctx->conf->proxies; px; px = px->next) {
		if (!(px->cap & cap) || !px->name || strcmp(px->name, name))
			continue;
		cfg_err(ctx, "%s '%s' has the same name as %s '%s' declared at %s:%d (only a frontend and a backend may share a name)",
			kind, name, proxy_cap_str(px->cap), px->name,
			px->conf_file ? px->conf_file : "?", px->conf_line);
		return;
	}
}

static void check_proxy_args(struct cfg_ctx *ctx, const char *kind,
			     const struct section_args *sa)
{
	if (!sa->extra)
		return;
	if (!strcmp(kind, "backend"))
		cfg_err(ctx, "'backend %s': unexpected argument '%s' (expects 'backend NAME [from DEFAULTS]')",
			sa->name, sa->extra);
	else
		cfg_err(ctx, "'%s %s %s': an address on the '%s' line is not supported, use bind (write 'bind %s' inside the section)",
			kind, sa->name, sa->extra, kind, sa->extra);
}

static void link_proxy(struct cfg_parser *p, struct proxy *px)
{
	struct config *conf = p->ctx.conf;

	px->uuid = ++conf->nb_proxies;
	px->conf_file = p->ctx.file;
	px->conf_line = p->ctx.line;
	px->next = NULL;
	*p->px_tail = px;
	p->px_tail = &px->next;
}

static void section_proxy(struct cfg_parser *p, int argc, char **args,
			  unsigned cap, unsigned section)
{
	struct cfg_ctx *ctx = &p->ctx;
	const char *kind = args[0];
	struct section_args sa;
	struct proxy *defs, *px;

	if (split_section_args(ctx, argc, args, &sa) < 0) {
		enter_skip(p);
		return;
	}
	if (!sa.name) {
		cfg_err(ctx, "'%s' expects a name, as in '%s NAME [from DEFAULTS]'", kind, kind);
		enter_skip(p);
		return;
	}
	check_proxy_args(ctx, kind, &sa);
	check_name(ctx, kind, sa.name);
	check_duplicate(ctx, kind, sa.name, cap);
	defs = pick_defaults(ctx, kind, &sa, 0);
	px = proxy_new(sa.name, cap, defs);
	if (!px) {
		cfg_err(ctx, "out of memory");
		enter_skip(p);
		return;
	}
	link_proxy(p, px);
	p->skipping = 0;
	ctx->section = section;
	ctx->px = px;
	ctx->defpx = defs;
}

/* "peers NAME": sluice keeps its "table" lines (stick tables named
 * NAME/TABLE) and refuses synchronisation with other peers (stick_cfg.c
 * owns the keywords). */
static void section_peers(struct cfg_parser *p, int argc, char **args)
{
	struct cfg_ctx *ctx = &p->ctx;

	enter_skip(p);
	if (argc != 2) {
		cfg_err(ctx, "'peers' expects one name, as in 'peers mypeers'");
		return;
	}
	if (check_name(ctx, "peers", args[1]) < 0)
		return;
	free(p->peers_name);
	p->peers_name = strdup(args[1]);
	if (!p->peers_name) {
		cfg_err(ctx, "out of memory");
		return;
	}
	p->skipping = 0;
	ctx->section = CFG_PEERS;
	ctx->peers = p->peers_name;
}

static int is_unsupported_section(const char *word)
{
	size_t i;

	for (i = 0; i < CFG_ARRAY_SIZE(unsupported_sections); i++)
		if (!strcmp(word, unsupported_sections[i]))
			return 1;
	return 0;
}

/* The whole section is skipped: one error is enough. */
static void refuse_section(struct cfg_parser *p, const char *name)
{
	cfg_err(&p->ctx, "section '%s' is not supported by sluice", name);
	enter_skip(p);
}

/* Returns 1 if the line opened (or refused) a section. */
static int try_section(struct cfg_parser *p, int argc, char **args)
{
	const char *w = args[0];

	if (!strcmp(w, "global"))
		section_global(p, argc, args);
	else if (!strcmp(w, "defaults"))
		section_defaults(p, argc, args);
	else if (!strcmp(w, "frontend"))
		section_proxy(p, argc, args, PX_CAP_FE, CFG_FRONTEND);
	else if (!strcmp(w, "backend"))
		section_proxy(p, argc, args, PX_CAP_BE, CFG_BACKEND);
	else if (!strcmp(w, "listen"))
		section_proxy(p, argc, args, PX_CAP_LISTEN, CFG_LISTEN);
	else if (!strcmp(w, "peers"))
		section_peers(p, argc, args);
	else if (is_unsupported_section(w))
		refuse_section(p, w);
	else
		return 0;
	return 1;
}

static void dispatch(struct cfg_parser *p, int argc, char **args)
{
	struct cfg_ctx *ctx = &p->ctx;

	ctx->negate = 0;
	if (try_section(p, argc, args) || p->skipping)
		return;
	if (!ctx->section) {
		cfg_err(ctx, "'%s' is outside of any section: start with 'global', 'defaults', 'frontend', 'backend' or 'listen'",
			args[0]);
		return;
	}
	if (!strcmp(args[0], "no")) {
		if (argc < 2) {
			cfg_err(ctx, "'no' expects a keyword after it");
			return;
		}
		ctx->negate = 1;
		args++;
		argc--;
	}
	run_kw(ctx, argc, args);
	ctx->negate = 0;
}

/* ---- files ---- */

static const char *keep_file_name(struct config *conf, const char *path)
{
	char **names;
	char *copy;

	copy = strdup(path);
	if (!copy)
		return NULL;
	names = realloc(conf->file_names, (conf->nfile_names + 1) * sizeof(*names));
	if (!names) {
		free(copy);
		return NULL;
	}
	names[conf->nfile_names++] = copy;
	conf->file_names = names;
	return copy;
}

/* Checks what the tokenizer cannot see, strips the end of line. Returns
 * the number of words, 0 for nothing to do (blank line or error). */
static int split_line(struct cfg_parser *p, char *line, ssize_t len)
{
	struct cfg_ctx *ctx = &p->ctx;
	const char *err = NULL;
	int argc;

	if (len > CFG_MAX_LINE) {
		cfg_err(ctx, "line too long (more than %d characters)", CFG_MAX_LINE);
		return 0;
	}
	if ((ssize_t)strlen(line) != len) {
		cfg_err(ctx, "NUL character in line");
		return 0;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	argc = cfg_tokenize(line, p->out, CFG_OUT_SIZE, p->args, CFG_MAX_ARGS, &err);
	if (argc < 0) {
		cfg_err(ctx, "%s", err ? err : "cannot parse line");
		return 0;
	}
	p->args[argc] = NULL;
	return argc;
}

static void load_one(struct cfg_parser *p, const char *path)
{
	struct cfg_ctx *ctx = &p->ctx;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int argc;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		ctx->errors++;
		return;
	}
	ctx->file = keep_file_name(ctx->conf, path);
	if (!ctx->file) {
		fprintf(stderr, "%s: out of memory\n", path);
		ctx->errors++;
		fclose(f);
		return;
	}
	/* each file starts outside any section, as in HAProxy */
	enter_skip(p);
	p->skipping = 0;
	for (ctx->line = 1; (len = getline(&line, &cap, f)) >= 0; ctx->line++) {
		argc = split_line(p, line, len);
		if (argc > 0)
			dispatch(p, argc, p->args);
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
		ctx->errors++;
	}
	free(line);
	fclose(f);
}

static int run_postparsers(struct config *conf)
{
	const struct cfg_postparser *pp;
	int errors = 0;

	for (pp = postparsers; pp; pp = pp->next)
		errors += pp->fn(conf);
	return errors;
}

int cfg_load_files(struct config *conf, int nfiles, char **files)
{
	struct cfg_parser p;
	int i;

	memset(&p, 0, sizeof(p));
	p.ctx.conf = conf;
	p.px_tail = &conf->proxies;
	while (*p.px_tail)
		p.px_tail = &(*p.px_tail)->next;
	p.out = malloc(CFG_OUT_SIZE);
	if (!p.out) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	current_ctx = &p.ctx;
	for (i = 0; i < nfiles; i++)
		load_one(&p, files[i]);
	current_ctx = NULL;
	free(p.out);
	free(p.peers_name);
	if (p.ctx.errors)
		return p.ctx.errors;
	return run_postparsers(conf);
}

/* ---- numbers ---- */

int cfg_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *c;

	if (!s || !*s)
		return -1;
	for (c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		if (v > (ULONG_MAX - (unsigned long)(*c - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Splits "123unit": digits into *v (overflow-checked), *unit after them. */
static int split_number(const char *s, unsigned long long *v, const char **unit)
{
	unsigned long long n = 0;
	const char *c = s;

	if (!s || *c < '0' || *c > '9')
		return -1;
	for (; *c >= '0' && *c <= '9'; c++) {
		if (n > (ULLONG_MAX - (unsigned long long)(*c - '0')) / 10)
			return -1;
		n = n * 10 + (unsigned long long)(*c - '0');
	}
	*v = n;
	*unit = c;
	return 0;
}

int cfg_parse_time(const char *s, unsigned *ms)
{
	static const struct { const char *unit; unsigned long long mul; } units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	unsigned long long v, res;
	const char *unit;
	size_t i;

	if (split_number(s, &v, &unit) < 0)
		return -1;
	if (!strcmp(unit, "us")) {
		/* round up: a non-zero timeout must not become "no timeout" */
		res = v / 1000 + (v % 1000 != 0);
		goto done;
	}
	for (i = 0; i < CFG_ARRAY_SIZE(units); i++)
		if (!strcmp(unit, units[i].unit))
			break;
	if (i == CFG_ARRAY_SIZE(units))
		return -1;
	if (v > UINT_MAX / units[i].mul)
		return -1;
	res = v * units[i].mul;
done:
	if (res > UINT_MAX)
		return -1;
	*ms = (unsigned)res;
	return 0;
}

int cfg_parse_size(const char *s, unsigned long *out)
{
	unsigned long long v, mul = 1;
	const char *unit;

	if (split_number(s, &v, &unit) < 0)
		return -1;
	if (*unit) {
		switch (*unit) {
		case 'k': case 'K': mul = 1ULL << 10; break;
		case 'm': case 'M': mul = 1ULL << 20; break;
		case 'g': case 'G': mul = 1ULL << 30; break;
		default: return -1;
		}
		if (unit[1])
			return -1;
	}
	if (v > ULONG_MAX / mul)
		return -1;
	*out = (unsigned long)(v * mul);
	return 0;
}

/* ---- struct config ---- */

void config_init(struct config *conf)
{
	int i;

	memset(conf, 0, sizeof(*conf));
	conf->global.bufsize = 16384;
	conf->global.maxaccept = 64;
	conf->global.ssl_server_verify = 1;
	for (i = 0; i < MAX_THREADS; i++)
		conf->global.cpu_map[i] = -1;
	list_init(&conf->global.loggers);
	conf->global.log_tag = strdup("sluice");
}

static void free_proxy_chain(struct proxy *px)
{
	struct proxy *next;

	for (; px; px = next) {
		next = px->next;
		proxy_free(px);
	}
}

/* Loggers are plain allocations owned by the list they sit on. */
static void free_loggers(struct list *head)
{
	struct list *pos, *tmp;

	if (!head->next)
		return;
	list_for_each_safe(pos, tmp, head) {
		list_del(pos);
		free(list_entry(pos, struct logger, node));
	}
}

void config_free(struct config *conf)
{
	int i;

	stick_free_all(conf);	/* tables point at their proxies */
	free_proxy_chain(conf->proxies);
	free_proxy_chain(conf->defaults);
	free_loggers(&conf->global.loggers);
	free(conf->global.pidfile);
	free(conf->global.log_tag);
	free(conf->global.hostname);
	for (i = 0; i < conf->nfile_names; i++)
		free(conf->file_names[i]);
	free(conf->file_names);
	/* files/nfiles come from the command line and belong to main() */
	conf->proxies = conf->defaults = NULL;
	conf->nb_proxies = 0;
	conf->file_names = NULL;
	conf->nfile_names = 0;
	conf->global.pidfile = conf->global.log_tag = conf->global.hostname = NULL;
	conf->global.conf_file = NULL;
}

struct proxy *config_find_proxy(const struct config *conf, const char *name, unsigned cap)
{
	struct proxy *px;

	if (cap == PX_CAP_DEFAULTS) {
		for (px = conf->defaults; px; px = px->next)
			if (px->name && *px->name && !strcmp(px->name, name))
				return px;
		return NULL;
	}
	for (px = conf->proxies; px; px = px->next)
		if ((px->cap & cap) == cap && px->name && !strcmp(px->name, name))
			return px;
	return NULL;
}
