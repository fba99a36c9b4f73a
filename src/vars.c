/* vars.c - variables (set-var / unset-var) and the var() fetch.
 *
 * Names are resolved once, while parsing, to small ids in one registry
 * shared by every proxy: the same name is the same variable wherever it is
 * written. A session keeps its variables in an array indexed by id, created
 * by its first set-var (sessions that use no variable pay nothing); proc
 * variables live in a global array under one mutex.
 *
 * Values are copied when set, so a variable never points into a buffer the
 * session will reuse. Text and binary values are kept up to VARS_MAX_VALUE
 * bytes: a longer value is truncated (HAProxy has no such limit, but a
 * layer-4 variable holding more than 1 KiB of client data would be a way to
 * make every session cost that much memory).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/errbuf.h"
#include "sluice/sample.h"
#include "sluice/session.h"
#include "sluice/vars.h"

#define VARS_MAX_NAMES	256
#define VARS_MAX_VALUE	1024

struct var_slot {
	struct sample smp;	/* STR/BIN point into buf */
	char *buf;
	size_t cap;
	int set;
};

struct var_store {
	int n;			/* slots allocated */
	struct var_slot slots[];
};

/* The registry: written while parsing only (one thread), read afterwards. */
static char *var_names[VARS_MAX_NAMES];
static unsigned char var_is_proc[VARS_MAX_NAMES];
static int nb_var_names;

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct var_slot proc_slots[VARS_MAX_NAMES];

static const char *const scopes[] = { "proc.", "sess.", "txn.", "req.", "res." };

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Returns the length of the scope prefix of name, or 0 if it has none. */
static size_t scope_len(const char *name)
{
	size_t i, n;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		n = strlen(scopes[i]);
		if (!strncmp(name, scopes[i], n))
			return n;
	}
	return 0;
}

static int check_name(const char *name, char *err, size_t errsz)
{
	size_t sl = scope_len(name);
	const char *p;

	if (!sl)
		return errbuf_fail(err, errsz, "variable '%s' has no valid scope: it must start with proc., sess., txn., req. or res.",
				  name);
	if (!name[sl])
		return errbuf_fail(err, errsz, "variable '%s' has an empty name after its scope", name);
	for (p = name + sl; *p; p++)
		if (!name_char_ok(*p))
			return errbuf_fail(err, errsz, "variable '%s': invalid character '%c' (a name may only contain letters, digits, '_' and '.')",
					  name, *p);
	return 0;
}

int vars_name_id(const char *name, char *err, size_t errsz)
{
	int i;

	if (!name || check_name(name, err, errsz) < 0)
		return -1;
	for (i = 0; i < nb_var_names; i++)
		if (!strcmp(var_names[i], name))
			return i;
	if (nb_var_names >= VARS_MAX_NAMES)
		return errbuf_fail(err, errsz, "variable '%s': too many variable names (at most %d)",
				  name, VARS_MAX_NAMES);
	var_names[i] = strdup(name);
	if (!var_names[i])
		return errbuf_fail(err, errsz, "out of memory");
	var_is_proc[i] = !strncmp(name, "proc.", 5);
	nb_var_names++;
	return i;
}

/* ---- one slot ---- */

static int slot_store(struct var_slot *v, const struct sample *smp)
{
	size_t len;
	char *nb;

	v->smp = *smp;
	v->smp.may_change = 0;
	if (smp->type != SMP_T_STR && smp->type != SMP_T_BIN) {
		v->set = 1;
		return 0;
	}
	len = smp->u.str.len < VARS_MAX_VALUE ? smp->u.str.len : VARS_MAX_VALUE;
	if (len > v->cap || !v->buf) {
		nb = realloc(v->buf, len ? len : 1);
		if (!nb) {
			v->set = 0;
			return -1;
		}
		v->buf = nb;
		v->cap = len ? len : 1;
	}
	if (len)
		memcpy(v->buf, smp->u.str.ptr, len);
	v->smp.u.str.ptr = v->buf;
	v->smp.u.str.len = len;
	v->set = 1;
	return 0;
}

static int id_ok(int id, const struct sample *smp)
{
	return id >= 0 && id < nb_var_names &&
	       (!smp || (smp->type > SMP_T_ANY && smp->type <= SMP_T_BIN));
}

/* ---- session store ---- */

/* Make room for id in s's store; the store is sized for every name known,
 * so it normally grows once, at the first set-var of the session. */
static struct var_slot *session_slot(struct session *s, int id)
{
	struct var_store *vs = s->vars, *nvs;
	int old = vs ? vs->n : 0, n = nb_var_names;

	if (id < old)
		return &vs->slots[id];
	nvs = realloc(vs, sizeof(*nvs) + (size_t)n * sizeof(nvs->slots[0]));
	if (!nvs)
		return NULL;
	memset(&nvs->slots[old], 0, (size_t)(n - old) * sizeof(nvs->slots[0]));
	nvs->n = n;
	s->vars = nvs;
	return &nvs->slots[id];
}

int vars_set(struct session *s, int id, const struct sample *smp)
{
	struct var_slot *v;
	int ret;

	if (!id_ok(id, smp))
		return -1;
	if (var_is_proc[id]) {
		pthread_mutex_lock(&proc_lock);
		ret = slot_store(&proc_slots[id], smp);
		pthread_mutex_unlock(&proc_lock);
		return ret;
	}
	if (!s)
		return -1;
	v = session_slot(s, id);
	return v ? slot_store(v, smp) : -1;
}

void vars_unset(struct session *s, int id)
{
	if (!id_ok(id, NULL))
		return;
	if (var_is_proc[id]) {
		pthread_mutex_lock(&proc_lock);
		proc_slots[id].set = 0;
		pthread_mutex_unlock(&proc_lock);
		return;
	}
	if (s && s->vars && id < s->vars->n)
		s->vars->slots[id].set = 0;
}

/* A proc variable may be set by another thread at any time, so its value
 * is copied out under the lock into a per-thread buffer: *out stays valid
 * until this thread reads another proc variable. */
static int proc_get(int id, struct sample *out)
{
	static _Thread_local char copy[VARS_MAX_VALUE];
	const struct var_slot *v = &proc_slots[id];
	int found;

	pthread_mutex_lock(&proc_lock);
	found = v->set;
	if (found) {
		*out = v->smp;
		if (out->type == SMP_T_STR || out->type == SMP_T_BIN) {
			memcpy(copy, v->smp.u.str.ptr, v->smp.u.str.len);
			out->u.str.ptr = copy;
		}
	}
	pthread_mutex_unlock(&proc_lock);
	return found;
}

int vars_get(const struct session *s, int id, struct sample *out)
{
	const struct var_slot *v;

	if (!id_ok(id, NULL))
		return 0;
	if (var_is_proc[id])
		return proc_get(id, out);
	if (!s || !s->vars || id >= s->vars->n)
		return 0;
	v = &s->vars->slots[id];
	if (!v->set)
		return 0;
	*out = v->smp;
	return 1;
}

void vars_free(struct var_store *vs)
{
	int i;

	if (!vs)
		return;
	for (i = 0; i < vs->n; i++)
		free(vs->slots[i].buf);
	free(vs);
}

/* ---- var(NAME[,DEFAULT]) ---- */

static int smp_fetch_var(const struct sample_arg *args, struct sample *out,
			 const struct smp_ctx *ctx)
{
	if (vars_get(ctx->sess, (int)args[0].sint, out))
		return 1;
	if (args[1].type != ARG_STR)
		return 0;
	out->type = SMP_T_STR;
	out->u.str.ptr = args[1].str;
	out->u.str.len = strlen(args[1].str);
	out->may_change = 0;
	return 1;
}

/* The name becomes its id, so that reading never compares strings. */
static int check_var_args(struct sample_arg *args, char *err, size_t errsz)
{
	int id = vars_name_id(args[0].str, err, errsz);

	if (id < 0)
		return -1;
	free(args[0].str);
	args[0].str = NULL;
	args[0].type = ARG_SINT;
	args[0].sint = id;
	return 0;
}

static const struct sample_fetch var_fetches[] = {
	{ "var", smp_fetch_var, SMP_T_ANY, 1, 2, "ss", check_var_args },
	{ NULL }
};

static struct sample_fetch_list var_fetch_list = { .kws = var_fetches };

__attribute__((constructor)) static void vars_init(void)
{
	sample_register_fetches(&var_fetch_list);
}
