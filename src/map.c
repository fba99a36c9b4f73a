/* map.c - map files and the map_* converters.
 *
 * A converter's check callback loads its file while the configuration is
 * parsed (a path relative to the current directory) and leaves the loaded
 * map in args[0].ptr, so that a lookup never touches a name. Maps are kept
 * in one list per process, keyed by (path, method): a file used by ten
 * rules is read once. The value a lookup returns points into the map,
 * which lives until map_free_all().
 */
#include <stdlib.h>
#include <string.h>

#include <sluice/map.h>
#include <sluice/pattern.h>
#include <sluice/sample.h>
#include "sluice/errbuf.h"

struct map {
	struct map *next;
	char *path;
	enum pat_method method;
	struct pat_set *pats;
};

static struct map *maps;

static struct map *map_load(const char *path, enum pat_method method, char *err, size_t errsz)
{
	struct map *m;

	for (m = maps; m; m = m->next)
		if (m->method == method && !strcmp(m->path, path))
			return m;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)) || !(m->pats = pat_set_new(method))) {
		errbuf_fail(err, errsz, "out of memory");
		goto fail;
	}
	m->method = method;
	if (pat_load_file(m->pats, path, 0, 1, err, errsz) < 0)
		goto fail;
	m->next = maps;
	maps = m;
	return m;
fail:
	if (m) {
		pat_set_free(m->pats);
		free(m->path);
		free(m);
	}
	return NULL;
}

void map_free_all(void)
{
	struct map *m, *next;

	for (m = maps; m; m = next) {
		next = m->next;
		pat_set_free(m->pats);
		free(m->path);
		free(m);
	}
	maps = NULL;
}

static int map_check(struct sample_arg *args, enum pat_method method, const char *conv,
		     char *err, size_t errsz)
{
	char msg[768];

	if (args[0].type != ARG_STR || !args[0].str[0])
		return errbuf_fail(err, errsz, "%s: expects a map file name, as in %s(file.map[,default])",
				   conv, conv);
	args[0].ptr = map_load(args[0].str, method, msg, sizeof(msg));
	if (!args[0].ptr)
		return errbuf_fail(err, errsz, "%s: %s", conv, msg);
	return 0;
}

#define MAP_CHECK(suffix, method)						\
static int check_##suffix(struct sample_arg *args, char *err, size_t errsz)	\
{										\
	return map_check(args, method, "map_" #suffix, err, errsz);		\
}

MAP_CHECK(str, PAT_M_STR)
MAP_CHECK(beg, PAT_M_BEG)
MAP_CHECK(end, PAT_M_END)
MAP_CHECK(sub, PAT_M_SUB)
MAP_CHECK(dir, PAT_M_DIR)
MAP_CHECK(dom, PAT_M_DOM)
MAP_CHECK(reg, PAT_M_REG)
MAP_CHECK(ip, PAT_M_IP)
MAP_CHECK(int, PAT_M_INT)

/* A key that cannot be read the map's way (text that is no address for
 * map_ip) is simply not found: the default applies. */
static int conv_map(const struct sample_arg *args, struct sample *smp, const struct smp_ctx *ctx)
{
	const struct map *m = args[0].ptr;
	const struct pat_entry *e = NULL;
	size_t len;

	if (pat_prepare_sample(m->method, smp, ctx))
		e = pat_lookup(m->pats, smp);
	if (e) {
		smp->u.str.ptr = pat_entry_value(e, &len);
		smp->u.str.len = len;
	} else if (args[1].type == ARG_STR) {
		smp->u.str.ptr = args[1].str;
		smp->u.str.len = strlen(args[1].str);
	} else {
		return 0;
	}
	smp->type = SMP_T_STR;
	return 1;
}

static const struct sample_conv map_convs[] = {
	{ "map",     conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_str },
	{ "map_str", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_str },
	{ "map_beg", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_beg },
	{ "map_end", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_end },
	{ "map_sub", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_sub },
	{ "map_dir", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_dir },
	{ "map_dom", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_dom },
	{ "map_reg", conv_map, SMP_T_STR,  SMP_T_STR, 1, 2, "ss", check_reg },
	{ "map_ip",  conv_map, SMP_T_ANY,  SMP_T_STR, 1, 2, "ss", check_ip },
	{ "map_int", conv_map, SMP_T_SINT, SMP_T_STR, 1, 2, "ss", check_int },
	{ NULL }
};

static struct sample_conv_list map_conv_list = { .kws = map_convs };

__attribute__((constructor)) static void map_init(void)
{
	sample_register_convs(&map_conv_list);
}
