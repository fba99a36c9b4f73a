/* cli_table.c - runtime API: "show table", "clear table", "set table".
 *
 * Output as HAProxy's:
 *   # table: be, type: ip, size:1024, used:1
 *   0x7f..: key=127.0.0.1 use=0 exp=29870 server_id=1 conn_rate(10000)=3
 * Keys are typed the way the table stores them (an address, an integer,
 * a string, hex digits for a binary table) and converted like a sample.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/cfg.h"
#include "sluice/cli.h"
#include "sluice/global.h"
#include "sluice/loop.h"
#include "sluice/sample.h"
#include "sluice/stick.h"

#define WALK_STEP 1024	/* entries per shard lock hold */

static const char *const key_type_names[] = {
	[STK_KEY_IP] = "ip", [STK_KEY_IPV6] = "ipv6", [STK_KEY_INT] = "integer",
	[STK_KEY_STR] = "string", [STK_KEY_BIN] = "binary",
};

static void table_header(struct cli_out *o, const struct stktable *t)
{
	cli_printf(o, "# table: %s, type: %s, size:%u, used:%u\n", t->id,
		   key_type_names[t->type], t->size, stktable_count(t));
}

static struct stktable *find_table(struct cli_cmd_ctx *c, int argc, char **args, int at)
{
	struct stktable *t = argc > at ? stktable_find(c->conf, args[at]) : NULL;

	if (!t || !t->shards) {
		cli_out_str(c->out, argc > at ? "No such table\n" : "Require a table name.\n");
		return NULL;
	}
	return t;
}

/* ---- keys -------------------------------------------------------------------------- */

/* A binary key is written in hex; bin must hold key_size bytes. */
static int parse_bin_key(const struct stktable *t, const char *text, uint8_t *bin,
			 struct stk_key *key)
{
	size_t bad;
	long n = cfg_hex_decode(text, bin, t->key_size, &bad);

	if (n < 0)
		return -1;
	key->ptr = bin;
	key->len = (size_t)n;
	return 0;
}

static int parse_key(struct cli_cmd_ctx *c, const struct stktable *t, int argc, char **args,
		     int at, uint8_t *bin, struct stk_key *key)
{
	struct sample smp;

	if (argc <= at + 1 || strcmp(args[at], "key")) {
		cli_out_str(c->out, "\"key\" argument expected\n");
		return -1;
	}
	memset(key, 0, sizeof(*key));
	if (t->type == STK_KEY_BIN) {
		if (parse_bin_key(t, args[at + 1], bin, key) == 0)
			return 0;
	} else {
		memset(&smp, 0, sizeof(smp));
		smp.type = SMP_T_STR;
		smp.u.str.ptr = args[at + 1];
		smp.u.str.len = strlen(args[at + 1]);
		if (stk_key_from_sample(t, &smp, NULL, key))
			return 0;
	}
	cli_out_str(c->out, "Invalid key\n");
	return -1;
}

static void print_str_key(struct cli_out *o, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			cli_printf(o, "\\x%02x", ch);
		else
			cli_out_add(o, (const char *)&ch, 1);
	}
}

static void print_key(struct cli_out *o, const struct stktable *t, const struct stksess *e)
{
	struct sample smp;
	char ip[INET6_ADDRSTRLEN];
	size_t i;

	memset(&smp, 0, sizeof(smp));
	stksess_key_sample(t, e, &smp);
	switch (smp.type) {
	case SMP_T_IPV4:
		cli_out_str(o, inet_ntop(AF_INET, &smp.u.ipv4, ip, sizeof(ip)));
		break;
	case SMP_T_IPV6:
		cli_out_str(o, inet_ntop(AF_INET6, &smp.u.ipv6, ip, sizeof(ip)));
		break;
	case SMP_T_SINT:
		cli_printf(o, "%" PRId64, smp.u.sint);
		break;
	case SMP_T_BIN:
		for (i = 0; i < smp.u.str.len; i++)
			cli_printf(o, "%02x", (unsigned char)smp.u.str.ptr[i]);
		break;
	default:
		print_str_key(o, smp.u.str.ptr, smp.u.str.len);
	}
}

/* ---- entries ----------------------------------------------------------------------- */

static void print_data(struct cli_out *o, struct stktable *t, struct stksess *e, uint64_t now)
{
	unsigned dt, i;
	uint64_t v;

	for (dt = 0; dt < STK_DT_COUNT; dt++) {
		const struct stk_dt_conf *dc = &t->data[dt];

		if (!dc->stored)
			continue;
		for (i = 0; i < dc->nb; i++) {
			if (!stksess_get(t, e, dt, i, now, &v))
				continue;
			if (stk_dt_is_array(dt) && stk_dt_is_rate(dt))
				cli_printf(o, " %s(%u,%u)=%" PRIu64, stk_dt_name(dt), i, dc->period, v);
			else if (stk_dt_is_array(dt))
				cli_printf(o, " %s(%u)=%" PRIu64, stk_dt_name(dt), i, v);
			else if (stk_dt_is_rate(dt))
				cli_printf(o, " %s(%u)=%" PRIu64, stk_dt_name(dt), dc->period, v);
			else
				cli_printf(o, " %s=%" PRIu64, stk_dt_name(dt), v);
		}
	}
}

struct dump_ctx {
	struct cli_out *out;
	uint64_t now;
	unsigned own_refs;	/* references the dumper itself holds */
};

static void dump_entry(struct stktable *t, struct stksess *e, void *arg)
{
	struct dump_ctx *d = arg;
	long long exp = stksess_expire_in(t, e, d->now);

	cli_printf(d->out, "%p: key=", (void *)e);
	print_key(d->out, t, e);
	cli_printf(d->out, " use=%u exp=%lld", stksess_refs(e) - d->own_refs, exp < 0 ? 0 : exp);
	print_data(d->out, t, e, d->now);
	cli_out_str(d->out, "\n");
}

static void show_one(struct cli_cmd_ctx *c, struct stktable *t, int argc, char **args)
{
	uint8_t bin[STK_KEY_MAX_LEN];
	struct dump_ctx d = { c->out, clock_mono_ms(), 1 };
	struct stk_key key;
	struct stksess *e;

	if (parse_key(c, t, argc, args, 3, bin, &key) < 0)
		return;
	table_header(c->out, t);
	e = stktable_lookup(t, &key, d.now);
	if (!e)
		return;
	dump_entry(t, e, &d);
	stksess_release(t, e, 0, d.now);
}

void cli_show_table(struct cli_cmd_ctx *c, int argc, char **args)
{
	struct stk_walk cur = { 0, 0 };
	struct dump_ctx d = { c->out, clock_mono_ms(), 0 };
	struct stktable *t;

	if (argc < 3) {
		for (t = stick_tables(c->conf); t; t = t->next)
			if (t->shards)
				table_header(c->out, t);
		return;
	}
	t = find_table(c, argc, args, 2);
	if (!t)
		return;
	if (argc > 3) {
		show_one(c, t, argc, args);
		return;
	}
	table_header(c->out, t);
	while (!c->out->full && stktable_walk(t, &cur, WALK_STEP, d.now, dump_entry, &d))
		;
}

void cli_clear_table(struct cli_cmd_ctx *c, int argc, char **args)
{
	uint8_t bin[STK_KEY_MAX_LEN];
	struct stktable *t = find_table(c, argc, args, 2);
	struct stk_key key;

	if (!t)
		return;
	if (argc == 3) {
		stktable_clear(t);
		return;
	}
	if (parse_key(c, t, argc, args, 3, bin, &key) == 0)
		stktable_remove(t, &key);
}

/* ---- set table ----------------------------------------------------------------------- */

/* "data.NAME" or "data.NAME(IDX)" for an array. */
static int parse_data_name(const char *w, int *dt, unsigned *idx)
{
	const char *name = w + 5, *par;
	size_t len;

	if (strncmp(w, "data.", 5))
		return -1;
	par = strchr(name, '(');
	len = par ? (size_t)(par - name) : strlen(name);
	*dt = stk_dt_lookup(name, len);
	*idx = 0;
	if (*dt < 0)
		return -1;
	if (par) {
		char *end;
		unsigned long v = strtoul(par + 1, &end, 10);

		if (end == par + 1 || strcmp(end, ")") || v >= STK_DT_ARRAY_MAX)
			return -1;
		*idx = (unsigned)v;
	}
	return 0;
}

static int set_one(struct cli_cmd_ctx *c, struct stktable *t, struct stksess *e,
		   const char *name, const char *val, uint64_t now)
{
	unsigned idx;
	int dt;
	char *end;
	unsigned long long v;

	if (parse_data_name(name, &dt, &idx) < 0) {
		cli_printf(c->out, "Unknown data type '%s'\n", name);
		return -1;
	}
	v = strtoull(val, &end, 10);
	if (end == val || *end || val[0] == '-') {
		cli_out_str(c->out, "Require a valid integer value to store\n");
		return -1;
	}
	if (stk_dt_is_rate(dt) && v) {
		cli_out_str(c->out, "A rate can only be reset to 0\n");
		return -1;
	}
	if (!stksess_set(t, e, dt, idx, v, now)) {
		cli_printf(c->out, "Data type '%s' not stored in this table\n", name + 5);
		return -1;
	}
	return 0;
}

void cli_set_table(struct cli_cmd_ctx *c, int argc, char **args)
{
	uint8_t bin[STK_KEY_MAX_LEN];
	struct stktable *t = find_table(c, argc, args, 2);
	uint64_t now = clock_mono_ms();
	struct stk_key key;
	struct stksess *e;
	int i;

	if (!t || parse_key(c, t, argc, args, 3, bin, &key) < 0)
		return;
	if (argc < 7 || (argc - 5) % 2) {
		cli_out_str(c->out, "Require 'data.<type> <value>' pairs after the key.\n");
		return;
	}
	e = stktable_get(t, &key, now);
	if (!e) {
		cli_out_str(c->out, "Unable to allocate a new entry\n");
		return;
	}
	for (i = 5; i + 1 < argc; i += 2)
		if (set_one(c, t, e, args[i], args[i + 1], now) < 0)
			break;
	stksess_release(t, e, 1, now);
}
