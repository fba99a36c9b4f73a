/* stick.h - stick tables: keys, entries, stored data, references, tracking.
 *
 * Four files share this header, each owning one part:
 *  - src/stick.c       the table itself: a hash table split into shards
 *                      (one mutex each), fixed-size entries carved from one
 *                      region reserved at start (never more than `size`),
 *                      per-shard LRU lists for O(1) expiry and eviction,
 *                      the data stored in an entry (counters, rates, gpc,
 *                      gpt, server_id) behind a per-entry spin lock, and the
 *                      conversion of samples to keys.
 *  - src/stick_cfg.c   configuration: "stick-table" in proxies, "table" in
 *                      a peers section, the list of tables of a config, and
 *                      the references to tables (rules, fetches, converters)
 *                      that a post-parser resolves with FILE:LINE errors.
 *  - src/stick_rules.c "stick on|match|store-request": persistence.
 *  - src/stick_fetch.c fetches (sc0_*..sc2_*, sc_*, src_*, table_cnt,
 *                      table_avl) and converters (in_table, table_*).
 *  - src/stick_track.c (session side) the counters a session tracks with
 *                      track-sc0..2, started, updated and ended with it.
 * Threading: tables are shared by every worker. Lookups and inserts take
 * one shard's lock; data of an entry is read and written under the
 * entry's own lock, so two threads counting the same client never lose an
 * update and no global lock exists. An entry referenced by a session (a
 * tracked counter) is never expired nor evicted until released.
 * Configuration fields are written while parsing and read-only after.
 */
#ifndef SLUICE_STICK_H
#define SLUICE_STICK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "freq_ctr.h"
#include "list.h"

struct cfg_ctx;
struct config;
struct proxy;
struct server;
struct session;
struct sample;
struct smp_ctx;

/* ---- configuration of a table ---------------------------------------- */

enum stk_key_type {
	STK_KEY_IP = 0,		/* IPv4, 4 bytes (IPv4-mapped IPv6 samples convert) */
	STK_KEY_IPV6,		/* 16 bytes (IPv4 samples are stored mapped) */
	STK_KEY_INT,		/* signed 64-bit integer, 8 bytes */
	STK_KEY_STR,		/* up to key_size bytes, longer ones truncated */
	STK_KEY_BIN,		/* key_size bytes, shorter ones padded with zeros */
};

#define STK_STR_DEFAULT_LEN	32	/* "len" of string/binary tables */
#define STK_KEY_MAX_LEN		1024	/* largest "len" accepted */

/* Stored data types (the words of "store"). */
enum stk_dt {
	STK_DT_SERVER_ID = 0,	/* int: puid of the server (stick rules) */
	STK_DT_GPT0,		/* uint32 tag */
	STK_DT_GPC0,		/* uint32 counter */
	STK_DT_GPC0_RATE,	/* freq_ctr, period */
	STK_DT_GPC1,
	STK_DT_GPC1_RATE,
	STK_DT_CONN_CNT,	/* uint32 */
	STK_DT_CONN_CUR,	/* uint32 */
	STK_DT_CONN_RATE,	/* freq_ctr */
	STK_DT_SESS_CNT,	/* uint32 */
	STK_DT_SESS_RATE,	/* freq_ctr */
	STK_DT_BYTES_IN_CNT,	/* uint64 */
	STK_DT_BYTES_IN_RATE,	/* freq_ctr */
	STK_DT_BYTES_OUT_CNT,	/* uint64 */
	STK_DT_BYTES_OUT_RATE,	/* freq_ctr */
	STK_DT_GPT,		/* array of uint32: gpt(N) */
	STK_DT_GPC,		/* array of uint32: gpc(N) */
	STK_DT_GPC_RATE,	/* array of freq_ctr: gpc_rate(N,period) */
	STK_DT_COUNT
};

#define STK_DT_ARRAY_MAX	100	/* largest N of gpc(N), gpt(N), gpc_rate(N,T) */

struct stk_dt_conf {
	uint8_t stored;		/* the table keeps this type */
	uint16_t nb;		/* elements: N for arrays, 1 otherwise */
	unsigned period;	/* ms, rate types only */
	unsigned off;		/* byte offset in an entry's data (stktable_init) */
};

struct stk_shard;

struct stktable {
	/* configuration (stick_cfg.c) */
	char *id;			/* proxy name, or "PEERS/NAME" for a peers table */
	const char *file;		/* where it was declared */
	int line;
	struct proxy *px;		/* owner of a "stick-table" line, NULL: peers table */
	enum stk_key_type type;
	unsigned key_size;		/* bytes of a key: 4, 16, 8, or "len" */
	unsigned size;			/* most entries ever held */
	unsigned expire;		/* ms of inactivity before removal, 0: never */
	int nopurge;			/* full table: refuse new keys, evict nothing */
	struct stk_dt_conf data[STK_DT_COUNT];
	struct stktable *next;		/* in the config's list (stick_cfg.c) */

	/* runtime (stick.c, set by stktable_init) */
	unsigned entry_size;		/* bytes per entry, header + key + data */
	unsigned nshards;
	struct stk_shard *shards;
	void *region;			/* entries, reserved once */
	size_t region_size;
	_Atomic unsigned next_free;	/* entries of the region never used yet */
	_Atomic unsigned count;		/* live entries */
	uint64_t epoch_ms;		/* monotonic ms at init: internal times are relative */
};

/* Names of data types as written after "store": "conn_rate" ... */
const char *stk_dt_name(enum stk_dt dt);
/* The type named name[0..len) ("gpc0", "conn_rate", "gpc"), or -1. */
int stk_dt_lookup(const char *name, size_t len);
/* Does dt count events over a period (needs "(period)")? Is it an array? */
int stk_dt_is_rate(enum stk_dt dt);
int stk_dt_is_array(enum stk_dt dt);

/* Does t keep dt (element idx for arrays)? GPT0, GPC0, GPC0_RATE, GPC1
 * and GPC1_RATE also count as kept when the table has the matching array
 * (gpt, gpc, gpc_rate) with element 0 (1): HAProxy reads those from the
 * array when the legacy type is absent. */
int stktable_stores(const struct stktable *t, enum stk_dt dt, unsigned idx);

/* ---- the table at run time (stick.c) -------------------------------- */

/* Lay the data out and reserve memory for t->size entries (pages are only
 * touched when entries are first used). After every configured type was
 * enabled (stick rules enable server_id). Returns 0, or -1 with a message
 * in err. */
int stktable_init(struct stktable *t, char *err, size_t errsz);
/* Frees runtime memory, t->id and t itself. */
void stktable_free(struct stktable *t);

/* A key in the table's own form. ptr/len point into the sample or into
 * buf; stk_key_from_sample() fills it. */
struct stk_key {
	const void *ptr;
	size_t len;
	uint8_t buf[16];
};

/* Convert a sample to t's key type (IP <-> IPv6 mapping, integer parse of
 * a string, text of an address for a string table, ...). Strings and
 * binaries longer than key_size are truncated (HAProxy does the same).
 * Returns 1, or 0 when the sample does not convert. smp may be changed. */
int stk_key_from_sample(const struct stktable *t, struct sample *smp,
			const struct smp_ctx *ctx, struct stk_key *key);

struct stksess;		/* an entry; opaque outside stick.c */

/* now: monotonic milliseconds (the worker loop's now_ms). */

/* Find key, creating it when absent. A full table first drops expired
 * entries, then (unless nopurge) evicts its least recently used entry that
 * no session references. Returns the entry with one reference taken, or
 * NULL when nothing could be freed (or key does not fit). */
struct stksess *stktable_get(struct stktable *t, const struct stk_key *key, uint64_t now);
/* Find key; NULL when absent or expired. Takes a reference. */
struct stksess *stktable_lookup(struct stktable *t, const struct stk_key *key, uint64_t now);
/* Drop a reference. touch: the entry's expiry restarts at now (HAProxy
 * refreshes an entry when it is updated and when its tracking ends). */
void stksess_release(struct stktable *t, struct stksess *e, int touch, uint64_t now);
/* Remove key (runtime API "clear table"); 1 if it was there. An entry
 * still referenced is unlinked now and freed at its last release. */
int stktable_remove(struct stktable *t, const struct stk_key *key);
/* Drop expired unreferenced entries (a worker timer calls it). */
void stktable_purge(struct stktable *t, uint64_t now);
unsigned stktable_count(const struct stktable *t);	/* table_cnt */
unsigned stktable_avail(const struct stktable *t);	/* table_avl: size - count */
/* Bytes reserved and bytes in use for the entries currently held,
 * including hash buckets (for the benchmark and "show table"). */
size_t stktable_mem_used(const struct stktable *t);

/* Runtime API ("show table", "clear table"). stktable_walk() visits the
 * entries not expired from *cur on, calling fn under a shard lock (fn may
 * read data with stksess_get and stksess_key_sample, nothing that takes a
 * shard lock), and stops once max entries were seen at a bucket boundary:
 * 1 when more remain (call again with the same cursor, zeroed at first),
 * 0 at the end. Entries inserted or removed meanwhile may be missed, as in
 * HAProxy. */
struct stk_walk {
	unsigned shard, bucket;
};
typedef void (*stk_walk_fn)(struct stktable *t, struct stksess *e, void *arg);
int stktable_walk(struct stktable *t, struct stk_walk *cur, unsigned max, uint64_t now,
		  stk_walk_fn fn, void *arg);
/* Milliseconds before e expires at now, -1 when the table never expires. */
long long stksess_expire_in(const struct stktable *t, const struct stksess *e, uint64_t now);
/* Remove every entry no session references; returns how many. */
unsigned stktable_clear(struct stktable *t);

/* Data of an entry. idx selects the element of array types (0 otherwise).
 * The legacy types fall back to the arrays as stktable_stores() says.
 * Each returns 1, or 0 when t does not keep that type/element. */
/* Current value; a rate reads as events over its period at now. */
int stksess_get(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		uint64_t now, uint64_t *val);
/* Counters: add delta (negative for conn_cur, floored at 0); a rate type
 * counts delta events at now. */
int stksess_add(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		int64_t delta, uint64_t now);
/* Tags and counters: set a value (server_id, gpt, gpc). A rate type is
 * only cleared by val 0. */
int stksess_set(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		uint64_t val, uint64_t now);
/* gpc increments: gpc idx and its rate (legacy: gpc0/gpc0_rate for idx 0,
 * gpc1/gpc1_rate for 1, falling back to the arrays; else gpc[idx] and
 * gpc_rate[idx]). Adds delta under one lock and returns 1 with the new
 * counter value in *result (the rate's value when only the rate is kept),
 * 0 when neither is kept. */
int stksess_gpc_add(struct stktable *t, struct stksess *e, int legacy, unsigned idx,
		    uint64_t delta, uint64_t now, uint64_t *result);
/* The same, clearing: counter (and rate) set to 0, *old = previous value. */
int stksess_gpc_clear(struct stktable *t, struct stksess *e, int legacy, unsigned idx,
		      uint64_t now, uint64_t *old);
/* A new tracked connection: conn_cnt+1, conn_cur+1, conn_rate+1, under
 * one lock. */
void stksess_conn_start(struct stktable *t, struct stksess *e, uint64_t now);
/* The tracked connection ended: conn_cur-1. */
void stksess_conn_end(struct stktable *t, struct stksess *e, uint64_t now);
/* A tracked session was accepted: sess_cnt+1, sess_rate+1. */
void stksess_sess_start(struct stktable *t, struct stksess *e, uint64_t now);
/* Traffic of a tracked session: bytes_in/out counters and rates. */
void stksess_add_bytes(struct stktable *t, struct stksess *e, uint64_t in, uint64_t out,
		       uint64_t now);
/* How many sessions track this entry (sc0_trackers, table_trackers). */
unsigned stksess_refs(const struct stksess *e);
/* e's key as a sample of t's key type (IPV4, IPV6, SINT, STR or BIN; a
 * string without its padding), pointing into the entry: valid while the
 * caller holds a reference. sc0_get_gpc0(other) looks the tracked key up
 * in another table with it. */
void stksess_key_sample(const struct stktable *t, const struct stksess *e,
			struct sample *smp);

/* ---- configuration: tables and references (stick_cfg.c) ------------ */

/* Parse the words after "stick-table" (args[first..argc)) or after
 * "table NAME" into t: type, size, expire, nopurge, store; "peers",
 * "srvkey", "write-to", "recv-only" are refused with FILE:LINE. */
int stktable_parse(struct cfg_ctx *ctx, struct stktable *t, int argc, char **args, int first);
/* Table named name in conf: a proxy's (by proxy name) or a peers table
 * ("PEERS/NAME"); NULL if none. */
struct stktable *stktable_find(const struct config *conf, const char *name);
/* Enable dt in t (stick rules need server_id). Before stktable_init. */
void stktable_enable(struct stktable *t, enum stk_dt dt);

/* References resolved once the whole file is read (tables may be declared
 * further down). Each records ctx's FILE:LINE and proxy; the post-parser
 * reports, at that place, a table that does not exist or does not keep
 * the data type the reference needs, then writes the table into *slot.
 * need: STK_DT_COUNT when any table will do. what: the keyword, fetch or
 * converter, for messages ("sc0_conn_rate", "track-sc1", "stick on").
 * name NULL: the table of the current proxy ("src_conn_rate" without
 * argument), an error if it has none. Returns 0, or -1 after cfg_err(). */
int stick_ref_table(struct cfg_ctx *ctx, const char *name, void **slot,
		    enum stk_dt need, unsigned idx, const char *what);
/* A track-scN rule of ctx->px with table name (NULL: the proxy's own). */
int stick_ref_track(struct cfg_ctx *ctx, unsigned sc, const char *name, void **slot);
/* An scN_* fetch without a table argument in ctx->px: at post-parse it is
 * an error when the proxy (or, for a backend, some frontend) tracks scN
 * but none of the tables it tracks scN in keeps need; a warning when
 * nothing in the config tracks scN at all. */
int stick_ref_sc(struct cfg_ctx *ctx, unsigned sc, enum stk_dt need, unsigned idx,
		 const char *what);
/* Every table of conf, in declaration order (for the runtime API). */
struct stktable *stick_tables(const struct config *conf);
/* Frees every table of conf and drops pending references (config_free). */
void stick_free_all(struct config *conf);

/* ---- persistence rules (stick_rules.c) ------------------------------ */

/* "stick match|on|store-request" lines of a backend, in order, kept in
 * px->stick_rules. */
void stick_rules_free(struct proxy *px);
int stick_rules_has(const struct proxy *px);
/* Before balancing: the server a match rule of backend be points the
 * client (ctx) to, when it is up and not in maintenance (a draining server
 * keeps its clients), else NULL (the balancer chooses; the store rules then
 * record the new server). TCP sessions and UDP sessions alike. */
struct server *stick_rules_match(const struct proxy *be, const struct smp_ctx *ctx);
/* The client is connected to srv of be: store rules whose condition holds
 * record the server's id under their keys. */
void stick_rules_store(const struct proxy *be, const struct server *srv,
		       const struct smp_ctx *ctx);
/* Run by stick_cfg.c's post-parser once references are resolved and
 * before tables are initialised: enables server_id in every table a rule
 * uses and checks that each rule's expression can give the table's key
 * type. Returns the number of errors (FILE:LINE on stderr). */
int stick_rules_postparse(struct config *conf);

/* ---- session tracking (stick_track.c) ------------------------------- */

#define STK_TRACK_MAX	3	/* sc0, sc1, sc2 */

struct stk_ctr {
	struct stktable *t;
	struct stksess *e;	/* NULL: not tracked */
};

/* Allocated from the worker's pool the first time a session tracks. */
struct stk_track {
	struct stk_ctr sc[STK_TRACK_MAX];
	uint64_t bytes_in, bytes_out;	/* already added to the entries */
	uint8_t sess_counted;		/* stksess_sess_start done for sc[i] (bits) */
};

/* The counter scN of a session, or NULL when it is not tracked. */
const struct stk_ctr *stk_track_get(const struct session *s, unsigned sc);
/* track-scN: start tracking key in t (ignored if scN is already tracked).
 * Counts a connection, and a session when the session is already
 * accepted (after the connection rules). Returns 0, -1 when the table
 * cannot take the key or no memory. */
int stk_track_start(struct session *s, unsigned sc, struct stktable *t,
		    const struct stk_key *key, int accepted);
/* The connection rules accepted s: count a session on what it tracks. */
void stk_track_accepted(struct session *s);
/* Report bytes moved since the last call (relay, close). */
void stk_track_bytes(struct session *s);
/* Session end: conn_cur-1, last bytes, release (touching) the entries. */
void stk_track_end(struct session *s);
struct runtime;
struct worker;
/* Workers run: sweep expired entries from a timer on the first worker. */
void stick_start(struct runtime *rt);
/* On worker w's thread once its loop ended: stop the sweep timer. */
void stick_worker_stop(struct worker *w);
/* Monotonic ms for table operations from a sample context (the session's
 * worker clock, else the system clock). */
uint64_t stick_now(const struct smp_ctx *ctx);

#endif
