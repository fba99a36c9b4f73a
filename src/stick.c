/* stick.c - the stick table at run time: entries, shards, expiry, data.
 *
 * Memory: every entry has the same size (header, key slot, data laid out
 * by stktable_init) and lives in one region reserved once for `size`
 * entries with MAP_NORESERVE, so a page costs memory only once an entry
 * on it was used and nothing is allocated per entry. Entries are named by
 * their 32-bit index; links hold index + 1 so that 0 means "none".
 *
 * Shards: the high bits of a key's hash pick a shard (one mutex, a bucket
 * array of hash chains, a free list of recycled entries, and an LRU list
 * in order of last touch); the low bits pick the bucket. Every entry of a
 * table has the same expire, so the LRU order is also the expiry order:
 * expiry pops the head while it is expired, and eviction takes the head.
 * A thread never holds two shard locks: borrowing a free entry or evicting
 * in another shard drops its own lock first and looks the key up again.
 *
 * References: refs counts the sessions holding an entry, plus LINKED while
 * the entry can be found in its shard. Whoever brings it to 0 frees the
 * entry, so a removed entry still in use is freed at its last release,
 * and purge only frees entries whose refs is exactly LINKED. New
 * references are only taken under the shard lock of a linked entry.
 * A referenced entry met at the LRU head is requeued at the tail as if
 * touched then: it cannot leave while used, and keeping the list sorted
 * keeps expiry O(1).
 *
 * Count: t->count is the number of entries not in a free list nor still
 * virgin in the region; a slot is reserved (count + 1, never above size)
 * before one is taken, so the table never holds more than size entries.
 *
 * Data: read and written under the entry's own spin lock; the caller holds
 * a reference so the entry cannot be freed meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "sluice/sample.h"
#include "sluice/stick.h"

#define NONE		0u		/* link value: no entry */
#define LINKED		0x80000000u	/* refs bit: findable in its shard */
#define PURGE_STEPS	8		/* expiry work done by each get/lookup */
#define EVICT_STEPS	256		/* referenced entries skipped per eviction */
#define SHARDS_MAX	64
#define SHARD_MIN_SHARE	256		/* fewer shards for tiny tables */

struct stksess {
	uint32_t hnext;		/* hash chain */
	uint32_t lprev, lnext;	/* LRU list, or free list (lnext) */
	uint32_t touched;	/* last touch, ms since t->epoch_ms */
	_Atomic uint32_t refs;	/* sessions, | LINKED */
	_Atomic uint8_t lock;	/* data */
	uint8_t unused;
	uint16_t key_len;
	unsigned char key[];	/* key_size bytes, zero-padded, then data */
};

_Static_assert(sizeof(struct stksess) == 24, "entry header grew");

struct stk_shard {
	alignas(64) pthread_mutex_t lock;
	uint32_t *buckets;
	uint32_t mask;			/* buckets - 1 */
	uint32_t lru_head, lru_tail;
	uint32_t free_head;
	uint64_t seed;			/* the table's hash seed (same in all) */
};

/* A key as stored: fixed types exactly key_size bytes, strings truncated,
 * binaries truncated and without trailing zeros (they compare as if
 * padded, so "ab" and "ab\0" are one key). */
struct nkey {
	const unsigned char *p;
	size_t len;
	uint64_t hash;
};

/* ---- data types ------------------------------------------------------ */

static const char *const dt_names[STK_DT_COUNT] = {
	[STK_DT_SERVER_ID] = "server_id",
	[STK_DT_GPT0] = "gpt0",
	[STK_DT_GPC0] = "gpc0",
	[STK_DT_GPC0_RATE] = "gpc0_rate",
	[STK_DT_GPC1] = "gpc1",
	[STK_DT_GPC1_RATE] = "gpc1_rate",
	[STK_DT_CONN_CNT] = "conn_cnt",
	[STK_DT_CONN_CUR] = "conn_cur",
	[STK_DT_CONN_RATE] = "conn_rate",
	[STK_DT_SESS_CNT] = "sess_cnt",
	[STK_DT_SESS_RATE] = "sess_rate",
	[STK_DT_BYTES_IN_CNT] = "bytes_in_cnt",
	[STK_DT_BYTES_IN_RATE] = "bytes_in_rate",
	[STK_DT_BYTES_OUT_CNT] = "bytes_out_cnt",
	[STK_DT_BYTES_OUT_RATE] = "bytes_out_rate",
	[STK_DT_GPT] = "gpt",
	[STK_DT_GPC] = "gpc",
	[STK_DT_GPC_RATE] = "gpc_rate",
};

const char *stk_dt_name(enum stk_dt dt)
{
	return (unsigned)dt < STK_DT_COUNT ? dt_names[dt] : "?";
}

int stk_dt_lookup(const char *name, size_t len)
{
	int dt;

	for (dt = 0; dt < STK_DT_COUNT; dt++)
		if (strlen(dt_names[dt]) == len && !memcmp(dt_names[dt], name, len))
			return dt;
	return -1;
}

int stk_dt_is_rate(enum stk_dt dt)
{
	switch (dt) {
	case STK_DT_GPC0_RATE: case STK_DT_GPC1_RATE: case STK_DT_CONN_RATE:
	case STK_DT_SESS_RATE: case STK_DT_BYTES_IN_RATE: case STK_DT_BYTES_OUT_RATE:
	case STK_DT_GPC_RATE:
		return 1;
	default:
		return 0;
	}
}

int stk_dt_is_array(enum stk_dt dt)
{
	return dt == STK_DT_GPT || dt == STK_DT_GPC || dt == STK_DT_GPC_RATE;
}

static int dt_is_wide(enum stk_dt dt)
{
	return dt == STK_DT_BYTES_IN_CNT || dt == STK_DT_BYTES_OUT_CNT;
}

static size_t dt_elem_size(enum stk_dt dt)
{
	if (stk_dt_is_rate(dt))
		return sizeof(struct freq_ctr);
	return dt_is_wide(dt) ? sizeof(uint64_t) : sizeof(uint32_t);
}

/* The array a legacy type reads from when it is not itself stored. */
static int dt_legacy_array(enum stk_dt dt, enum stk_dt *arr, unsigned *idx)
{
	switch (dt) {
	case STK_DT_GPT0: *arr = STK_DT_GPT; *idx = 0; return 1;
	case STK_DT_GPC0: *arr = STK_DT_GPC; *idx = 0; return 1;
	case STK_DT_GPC0_RATE: *arr = STK_DT_GPC_RATE; *idx = 0; return 1;
	case STK_DT_GPC1: *arr = STK_DT_GPC; *idx = 1; return 1;
	case STK_DT_GPC1_RATE: *arr = STK_DT_GPC_RATE; *idx = 1; return 1;
	default: return 0;
	}
}

/* Where t keeps dt[idx]: resolves legacy fallbacks; 0 when not kept. */
static int dt_resolve(const struct stktable *t, enum stk_dt *dt, unsigned *idx)
{
	enum stk_dt arr;
	unsigned aidx;

	if ((unsigned)*dt >= STK_DT_COUNT)
		return 0;
	if (!t->data[*dt].stored && *idx == 0 && dt_legacy_array(*dt, &arr, &aidx)) {
		*dt = arr;
		*idx = aidx;
	}
	if (!t->data[*dt].stored)
		return 0;
	if (stk_dt_is_array(*dt))
		return *idx < t->data[*dt].nb;
	return *idx == 0;
}

int stktable_stores(const struct stktable *t, enum stk_dt dt, unsigned idx)
{
	return dt_resolve(t, &dt, &idx);
}

/* ---- entries ---------------------------------------------------------- */

static inline struct stksess *entry_at(const struct stktable *t, uint32_t idx)
{
	return (struct stksess *)((char *)t->region + (size_t)idx * t->entry_size);
}

static inline uint32_t entry_idx(const struct stktable *t, const struct stksess *e)
{
	return (uint32_t)(((const char *)e - (const char *)t->region) / t->entry_size);
}

/* Link value (index + 1) to entry, NULL for NONE. */
static inline struct stksess *link_entry(const struct stktable *t, uint32_t link)
{
	return link ? entry_at(t, link - 1) : NULL;
}

static inline uint32_t entry_link(const struct stktable *t, const struct stksess *e)
{
	return entry_idx(t, e) + 1;
}

static inline void *entry_data(const struct stktable *t, struct stksess *e,
			       enum stk_dt dt, unsigned idx)
{
	return (char *)e + t->data[dt].off + idx * dt_elem_size(dt);
}

static inline uint32_t rel_ms(const struct stktable *t, uint64_t now)
{
	return (uint32_t)(now - t->epoch_ms);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Critical sections are a few instructions long: spin, and only yield
 * when the holder was likely descheduled. */
static void data_lock(struct stksess *e)
{
	unsigned tries = 0;

	while (atomic_exchange_explicit(&e->lock, 1, memory_order_acquire)) {
		while (atomic_load_explicit(&e->lock, memory_order_relaxed)) {
			if (++tries < 100)
				cpu_relax();
			else
				sched_yield();
		}
	}
}

static inline void data_unlock(struct stksess *e)
{
	atomic_store_explicit(&e->lock, 0, memory_order_release);
}

/* ---- keys and hashing ------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Seeded per table so that clients choosing string keys cannot aim at
 * one hash chain. */
static uint64_t key_hash(uint64_t seed, const unsigned char *p, size_t len)
{
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL), w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = mix64(h ^ w ^ ((uint64_t)len << 56));
	}
	return mix64(h);
}

/* Fills n from k in t's stored form; 0 when k does not fit t. */
static int key_norm(const struct stktable *t, const struct stk_key *k, struct nkey *n)
{
	n->p = k->ptr ? k->ptr : (const void *)"";
	n->len = k->len;
	switch (t->type) {
	case STK_KEY_STR:
	case STK_KEY_BIN:
		if (n->len > t->key_size)
			n->len = t->key_size;
		if (t->type == STK_KEY_BIN)
			while (n->len && !n->p[n->len - 1])
				n->len--;
		break;
	default:
		if (n->len != t->key_size)
			return 0;
	}
	n->hash = key_hash(t->shards[0].seed, n->p, n->len);
	return 1;
}

static inline struct stk_shard *shard_of(const struct stktable *t, uint64_t hash)
{
	unsigned bits = __builtin_ctz(t->nshards);

	return &t->shards[bits ? hash >> (64 - bits) : 0];
}

static inline uint32_t *bucket_of(struct stk_shard *s, uint64_t hash)
{
	return &s->buckets[hash & s->mask];
}

static uint64_t entry_hash(const struct stktable *t, const struct stksess *e)
{
	return key_hash(t->shards[0].seed, e->key, e->key_len);
}

int stk_key_from_sample(const struct stktable *t, struct sample *smp,
			const struct smp_ctx *ctx, struct stk_key *key)
{
	static const enum smp_type to[] = {
		[STK_KEY_IP] = SMP_T_IPV4, [STK_KEY_IPV6] = SMP_T_IPV6,
		[STK_KEY_INT] = SMP_T_SINT, [STK_KEY_STR] = SMP_T_STR,
		[STK_KEY_BIN] = SMP_T_BIN,
	};
	struct smp_ctx none = { 0 };

	if (!sample_cast(smp, to[t->type], ctx ? ctx : &none))
		return 0;
	key->ptr = key->buf;
	switch (t->type) {
	case STK_KEY_IP:
		memcpy(key->buf, &smp->u.ipv4, 4);
		key->len = 4;
		return 1;
	case STK_KEY_IPV6:
		memcpy(key->buf, &smp->u.ipv6, 16);
		key->len = 16;
		return 1;
	case STK_KEY_INT:
		memcpy(key->buf, &smp->u.sint, 8);
		key->len = 8;
		return 1;
	default:
		key->ptr = smp->u.str.ptr ? smp->u.str.ptr : "";
		key->len = smp->u.str.len < t->key_size ? smp->u.str.len : t->key_size;
		return 1;
	}
}

void stksess_key_sample(const struct stktable *t, const struct stksess *e,
			struct sample *smp)
{
	static const enum smp_type from[] = {
		[STK_KEY_IP] = SMP_T_IPV4, [STK_KEY_IPV6] = SMP_T_IPV6,
		[STK_KEY_INT] = SMP_T_SINT, [STK_KEY_STR] = SMP_T_STR,
		[STK_KEY_BIN] = SMP_T_BIN,
	};

	memset(smp, 0, sizeof(*smp));
	smp->type = from[t->type];
	switch (t->type) {
	case STK_KEY_IP:
		memcpy(&smp->u.ipv4, e->key, 4);
		break;
	case STK_KEY_IPV6:
		memcpy(&smp->u.ipv6, e->key, 16);
		break;
	case STK_KEY_INT:
		memcpy(&smp->u.sint, e->key, 8);
		break;
	default:
		/* a binary key is key_size bytes, its padding included */
		smp->u.str.ptr = (const char *)e->key;
		smp->u.str.len = t->type == STK_KEY_BIN ? t->key_size : e->key_len;
	}
}

/* ---- shard lists (shard lock held) ------------------------------------ */

static void lru_unlink(const struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	struct stksess *p = link_entry(t, e->lprev), *n = link_entry(t, e->lnext);

	if (p)
		p->lnext = e->lnext;
	else
		s->lru_head = e->lnext;
	if (n)
		n->lprev = e->lprev;
	else
		s->lru_tail = e->lprev;
	e->lprev = e->lnext = NONE;
}

static void lru_append(const struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	uint32_t link = entry_link(t, e);

	e->lnext = NONE;
	e->lprev = s->lru_tail;
	if (s->lru_tail)
		link_entry(t, s->lru_tail)->lnext = link;
	else
		s->lru_head = link;
	s->lru_tail = link;
}

static void touch_locked(const struct stktable *t, struct stk_shard *s,
			 struct stksess *e, uint32_t now)
{
	e->touched = now;
	if (s->lru_tail != entry_link(t, e)) {
		lru_unlink(t, s, e);
		lru_append(t, s, e);
	}
}

static void hash_unlink(const struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	uint32_t *pp = bucket_of(s, entry_hash(t, e)), link = entry_link(t, e);

	while (*pp && *pp != link)
		pp = &link_entry(t, *pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	e->hnext = NONE;
}

static struct stksess *hash_find(const struct stktable *t, struct stk_shard *s,
				 const struct nkey *k)
{
	struct stksess *e;
	uint32_t link;

	for (link = *bucket_of(s, k->hash); link; link = e->hnext) {
		e = link_entry(t, link);
		if (e->key_len == k->len && !memcmp(e->key, k->p, k->len))
			return e;
	}
	return NULL;
}

static void free_push(const struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	e->lnext = s->free_head;
	s->free_head = entry_link(t, e);
}

static struct stksess *free_pop(const struct stktable *t, struct stk_shard *s)
{
	struct stksess *e = link_entry(t, s->free_head);

	if (e)
		s->free_head = e->lnext;
	return e;
}

/* Takes e out of its shard; the caller owns its slot afterwards. */
static void entry_unlink(const struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	hash_unlink(t, s, e);
	lru_unlink(t, s, e);
	atomic_store_explicit(&e->refs, 0, memory_order_relaxed);
}

/* The slot goes to s's free list and leaves the count. */
static void slot_release(struct stktable *t, struct stk_shard *s, struct stksess *e)
{
	free_push(t, s, e);
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_release);
}

static inline int is_expired(const struct stktable *t, const struct stksess *e, uint32_t now)
{
	int32_t idle = (int32_t)(now - e->touched);

	return t->expire && idle >= 0 && (uint32_t)idle >= t->expire;
}

static inline int is_unused(const struct stksess *e)
{
	return atomic_load_explicit(&e->refs, memory_order_acquire) == LINKED;
}

/* Expires from the LRU head, at most max steps (0: no limit). */
static void purge_locked(struct stktable *t, struct stk_shard *s, uint32_t now, unsigned max)
{
	struct stksess *e;
	unsigned steps = 0;

	while ((e = link_entry(t, s->lru_head)) && is_expired(t, e, now)) {
		if (is_unused(e)) {
			entry_unlink(t, s, e);
			slot_release(t, s, e);
		} else {
			touch_locked(t, s, e, now);
		}
		if (max && ++steps >= max)
			break;
	}
}

/* Unlinks the least recently used entry nobody references and returns
 * it (its slot stays counted: it changes hands), or NULL. */
static struct stksess *evict_locked(struct stktable *t, struct stk_shard *s, uint32_t now)
{
	struct stksess *e;
	unsigned steps;

	for (steps = 0; steps < EVICT_STEPS && (e = link_entry(t, s->lru_head)); steps++) {
		if (is_unused(e)) {
			entry_unlink(t, s, e);
			return e;
		}
		if (s->lru_tail == s->lru_head)
			break;
		touch_locked(t, s, e, now);
	}
	return NULL;
}

/* ---- slots ------------------------------------------------------------ */

static int count_reserve(struct stktable *t)
{
	unsigned c = atomic_load_explicit(&t->count, memory_order_relaxed);

	while (c < t->size)
		if (atomic_compare_exchange_weak_explicit(&t->count, &c, c + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return 1;
	return 0;
}

static struct stksess *bump_alloc(struct stktable *t)
{
	unsigned n = atomic_load_explicit(&t->next_free, memory_order_relaxed);

	while (n < t->size)
		if (atomic_compare_exchange_weak_explicit(&t->next_free, &n, n + 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return entry_at(t, n);
	return NULL;
}

/* A slot for a new entry of s without leaving s's lock: *reserved tells
 * whether a count was reserved that still waits for a slot elsewhere. */
static struct stksess *slot_local(struct stktable *t, struct stk_shard *s,
				  uint32_t now, int *reserved)
{
	struct stksess *e;

	*reserved = 0;
	if (atomic_load_explicit(&t->count, memory_order_relaxed) >= t->size)
		purge_locked(t, s, now, 0);
	if (count_reserve(t)) {
		if ((e = free_pop(t, s)) || (e = bump_alloc(t)))
			return e;
		*reserved = 1;
		return NULL;
	}
	return t->nopurge ? NULL : evict_locked(t, s, now);
}

/* Visit other shards one at a time (never two locks): take a free slot
 * when a count is reserved, else make room (expiry, then eviction). */
static struct stksess *slot_elsewhere(struct stktable *t, struct stk_shard *own,
				      uint32_t now, int *reserved)
{
	struct stksess *e = NULL;
	unsigned i;

	for (i = 0; i < t->nshards && !e; i++) {
		struct stk_shard *s = &t->shards[i];

		if (s == own)
			continue;
		pthread_mutex_lock(&s->lock);
		if (!*reserved) {
			purge_locked(t, s, now, 0);
			*reserved = count_reserve(t);
		}
		if (*reserved)
			e = free_pop(t, s);
		else if (!t->nopurge)
			e = evict_locked(t, s, now);
		pthread_mutex_unlock(&s->lock);
	}
	return e;
}

static struct stksess *entry_insert(struct stktable *t, struct stk_shard *s,
				    struct stksess *e, const struct nkey *k, uint32_t now)
{
	uint32_t *b = bucket_of(s, k->hash);

	memset(e, 0, t->entry_size);
	memcpy(e->key, k->p, k->len);
	e->key_len = (uint16_t)k->len;
	e->touched = now;
	atomic_store_explicit(&e->refs, LINKED | 1, memory_order_relaxed);
	e->hnext = *b;
	*b = entry_link(t, e);
	lru_append(t, s, e);
	return e;
}

/* ---- the table at run time ------------------------------------------- */

/* Found e under s's lock: a reference, unless it is expired and unused
 * (then it is freed and the key counts as absent). */
static struct stksess *found_locked(struct stktable *t, struct stk_shard *s,
				    struct stksess *e, uint32_t now)
{
	if (!e)
		return NULL;
	if (is_expired(t, e, now) && is_unused(e)) {
		entry_unlink(t, s, e);
		slot_release(t, s, e);
		return NULL;
	}
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

/* Key absent from s (locked): create it, possibly leaving the lock to
 * find room in other shards, then looking the key up again. A reserved
 * count always has a free slot somewhere, but slots move between shards
 * while we look, so a missed one is looked for again. */
static struct stksess *create_locked(struct stktable *t, struct stk_shard *s,
				     const struct nkey *k, uint32_t now)
{
	struct stksess *e, *slot;
	int reserved, round;

	slot = slot_local(t, s, now, &reserved);
	if (slot)
		return entry_insert(t, s, slot, k, now);
	if (!reserved && t->nshards == 1)
		return NULL;
	for (round = 0; round < 4 && !slot; round++) {
		pthread_mutex_unlock(&s->lock);
		slot = slot_elsewhere(t, s, now, &reserved);
		pthread_mutex_lock(&s->lock);
		if (!slot && reserved && !(slot = free_pop(t, s)))
			slot = bump_alloc(t);
		if (!reserved)
			break;		/* nothing to evict anywhere */
	}
	if (!slot && reserved)
		atomic_fetch_sub_explicit(&t->count, 1, memory_order_release);
	e = found_locked(t, s, hash_find(t, s, k), now);
	if (e) {
		if (slot)
			slot_release(t, s, slot);
		return e;
	}
	return slot ? entry_insert(t, s, slot, k, now) : NULL;
}

/* The entry of key with a reference taken; created when absent if create. */
static struct stksess *find_entry(struct stktable *t, const struct stk_key *key, uint64_t now,
				  int create)
{
	uint32_t rnow = rel_ms(t, now);
	struct stk_shard *s;
	struct stksess *e;
	struct nkey k;

	if (!key_norm(t, key, &k))
		return NULL;
	s = shard_of(t, k.hash);
	pthread_mutex_lock(&s->lock);
	purge_locked(t, s, rnow, PURGE_STEPS);
	e = found_locked(t, s, hash_find(t, s, &k), rnow);
	if (!e && create)
		e = create_locked(t, s, &k, rnow);
	pthread_mutex_unlock(&s->lock);
	return e;
}

struct stksess *stktable_get(struct stktable *t, const struct stk_key *key, uint64_t now)
{
	return find_entry(t, key, now, 1);
}

struct stksess *stktable_lookup(struct stktable *t, const struct stk_key *key, uint64_t now)
{
	return find_entry(t, key, now, 0);
}

void stksess_release(struct stktable *t, struct stksess *e, int touch, uint64_t now)
{
	struct stk_shard *s = NULL;
	uint32_t prev;

	if (!e)
		return;
	if (touch) {
		s = shard_of(t, entry_hash(t, e));
		pthread_mutex_lock(&s->lock);
		if (atomic_load_explicit(&e->refs, memory_order_relaxed) & LINKED)
			touch_locked(t, s, e, rel_ms(t, now));
	}
	prev = atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel);
	if (prev == 1) {
		/* removed while we used it: ours is the last reference */
		if (!s) {
			s = shard_of(t, entry_hash(t, e));
			pthread_mutex_lock(&s->lock);
		}
		slot_release(t, s, e);
	}
	if (s)
		pthread_mutex_unlock(&s->lock);
}

int stktable_remove(struct stktable *t, const struct stk_key *key)
{
	struct stk_shard *s;
	struct stksess *e;
	struct nkey k;
	uint32_t prev;

	if (!key_norm(t, key, &k))
		return 0;
	s = shard_of(t, k.hash);
	pthread_mutex_lock(&s->lock);
	e = hash_find(t, s, &k);
	if (e) {
		hash_unlink(t, s, e);
		lru_unlink(t, s, e);
		prev = atomic_fetch_and_explicit(&e->refs, ~LINKED, memory_order_acq_rel);
		if (prev == LINKED)
			slot_release(t, s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return e != NULL;
}

void stktable_purge(struct stktable *t, uint64_t now)
{
	uint32_t rnow = rel_ms(t, now);
	unsigned i;

	if (!t->expire)
		return;
	for (i = 0; i < t->nshards; i++) {
		pthread_mutex_lock(&t->shards[i].lock);
		purge_locked(t, &t->shards[i], rnow, 0);
		pthread_mutex_unlock(&t->shards[i].lock);
	}
}

unsigned stktable_count(const struct stktable *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

unsigned stktable_avail(const struct stktable *t)
{
	unsigned c = stktable_count(t);

	return c < t->size ? t->size - c : 0;
}

size_t stktable_mem_used(const struct stktable *t)
{
	size_t bytes = (size_t)stktable_count(t) * t->entry_size;
	unsigned i;

	bytes += (size_t)t->nshards * sizeof(struct stk_shard);
	for (i = 0; i < t->nshards; i++)
		bytes += ((size_t)t->shards[i].mask + 1) * sizeof(uint32_t);
	return bytes;
}

unsigned stksess_refs(const struct stksess *e)
{
	return atomic_load_explicit(&e->refs, memory_order_relaxed) & ~LINKED;
}

/* ---- data of an entry ------------------------------------------------- */

static inline uint32_t u32_add(uint32_t v, int64_t delta)
{
	if (delta < 0)
		return 0 - (uint64_t)delta >= v ? 0 : v - (uint32_t)(0 - (uint64_t)delta);
	return (uint64_t)delta >= UINT32_MAX - v ? UINT32_MAX : v + (uint32_t)delta;
}

static inline uint64_t u64_add(uint64_t v, int64_t delta)
{
	if (delta < 0)
		return 0 - (uint64_t)delta >= v ? 0 : v - (0 - (uint64_t)delta);
	return (uint64_t)delta >= UINT64_MAX - v ? UINT64_MAX : v + (uint64_t)delta;
}

static inline uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Data of dt[idx] in e (legacy types resolved), NULL when not kept. */
static void *dt_locate(struct stktable *t, struct stksess *e, enum stk_dt *dt, unsigned idx)
{
	if (!dt_resolve(t, dt, &idx))
		return NULL;
	return entry_data(t, e, *dt, idx);
}

/* Entry lock held. */
static uint64_t dt_read(const struct stktable *t, enum stk_dt dt, const void *p, uint32_t now)
{
	if (stk_dt_is_rate(dt))
		return freq_ctr_read(p, t->data[dt].period, now);
	if (dt_is_wide(dt))
		return *(const uint64_t *)p;
	if (dt == STK_DT_SERVER_ID)
		return (uint64_t)(int64_t)*(const int32_t *)p;
	return *(const uint32_t *)p;
}

/* Entry lock held. */
static void dt_add(const struct stktable *t, enum stk_dt dt, void *p, int64_t delta, uint32_t now)
{
	if (stk_dt_is_rate(dt)) {
		if (delta > 0)
			freq_ctr_add(p, t->data[dt].period, now, clamp32((uint64_t)delta));
	} else if (dt_is_wide(dt)) {
		*(uint64_t *)p = u64_add(*(uint64_t *)p, delta);
	} else if (dt == STK_DT_SERVER_ID) {
		int64_t v = *(int32_t *)p + delta;

		*(int32_t *)p = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
	} else {
		*(uint32_t *)p = u32_add(*(uint32_t *)p, delta);
	}
}

int stksess_get(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		uint64_t now, uint64_t *val)
{
	void *p = dt_locate(t, e, &dt, idx);

	if (!p)
		return 0;
	data_lock(e);
	*val = dt_read(t, dt, p, rel_ms(t, now));
	data_unlock(e);
	return 1;
}

int stksess_add(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		int64_t delta, uint64_t now)
{
	void *p = dt_locate(t, e, &dt, idx);

	if (!p)
		return 0;
	data_lock(e);
	dt_add(t, dt, p, delta, rel_ms(t, now));
	data_unlock(e);
	return 1;
}

int stksess_set(struct stktable *t, struct stksess *e, enum stk_dt dt, unsigned idx,
		uint64_t val, uint64_t now)
{
	void *p = dt_locate(t, e, &dt, idx);

	(void)now;
	if (!p)
		return 0;
	data_lock(e);
	if (stk_dt_is_rate(dt)) {
		if (!val)
			freq_ctr_clear(p);
	} else if (dt_is_wide(dt)) {
		*(uint64_t *)p = val;
	} else if (dt == STK_DT_SERVER_ID) {
		*(int32_t *)p = (int32_t)val;
	} else {
		*(uint32_t *)p = clamp32(val);
	}
	data_unlock(e);
	return 1;
}

/* The counter and rate of a gpc operation (either may be NULL). */
static int gpc_locate(struct stktable *t, struct stksess *e, int legacy, unsigned idx,
		      uint32_t **cnt, struct freq_ctr **rate, unsigned *period)
{
	enum stk_dt c = STK_DT_GPC, r = STK_DT_GPC_RATE;

	if (legacy) {
		if (idx > 1)
			return 0;
		c = idx ? STK_DT_GPC1 : STK_DT_GPC0;
		r = idx ? STK_DT_GPC1_RATE : STK_DT_GPC0_RATE;
		idx = 0;
	}
	*cnt = dt_locate(t, e, &c, idx);
	*rate = dt_locate(t, e, &r, idx);
	*period = *rate ? t->data[r].period : 0;
	return *cnt || *rate;
}

int stksess_gpc_add(struct stktable *t, struct stksess *e, int legacy, unsigned idx,
		    uint64_t delta, uint64_t now, uint64_t *result)
{
	uint32_t rnow = rel_ms(t, now), *cnt;
	struct freq_ctr *rate;
	unsigned period;

	if (!gpc_locate(t, e, legacy, idx, &cnt, &rate, &period))
		return 0;
	data_lock(e);
	if (cnt)
		*cnt = u32_add(*cnt, (int64_t)clamp32(delta));
	if (rate && delta)
		freq_ctr_add(rate, period, rnow, clamp32(delta));
	*result = cnt ? *cnt : freq_ctr_read(rate, period, rnow);
	data_unlock(e);
	return 1;
}

int stksess_gpc_clear(struct stktable *t, struct stksess *e, int legacy, unsigned idx,
		      uint64_t now, uint64_t *old)
{
	uint32_t rnow = rel_ms(t, now), *cnt;
	struct freq_ctr *rate;
	unsigned period;

	if (!gpc_locate(t, e, legacy, idx, &cnt, &rate, &period))
		return 0;
	data_lock(e);
	*old = cnt ? *cnt : freq_ctr_read(rate, period, rnow);
	if (cnt)
		*cnt = 0;
	if (rate)
		freq_ctr_clear(rate);
	data_unlock(e);
	return 1;
}

/* Adds delta to each kept type of list under one lock. */
static void add_many(struct stktable *t, struct stksess *e, const enum stk_dt *list,
		     unsigned n, const int64_t *delta, uint64_t now)
{
	uint32_t rnow = rel_ms(t, now);
	unsigned i;

	data_lock(e);
	for (i = 0; i < n; i++)
		if (t->data[list[i]].stored)
			dt_add(t, list[i], entry_data(t, e, list[i], 0), delta[i], rnow);
	data_unlock(e);
}

void stksess_conn_start(struct stktable *t, struct stksess *e, uint64_t now)
{
	static const enum stk_dt list[] = { STK_DT_CONN_CNT, STK_DT_CONN_CUR, STK_DT_CONN_RATE };
	static const int64_t one[] = { 1, 1, 1 };

	add_many(t, e, list, 3, one, now);
}

void stksess_conn_end(struct stktable *t, struct stksess *e, uint64_t now)
{
	stksess_add(t, e, STK_DT_CONN_CUR, 0, -1, now);
}

void stksess_sess_start(struct stktable *t, struct stksess *e, uint64_t now)
{
	static const enum stk_dt list[] = { STK_DT_SESS_CNT, STK_DT_SESS_RATE };
	static const int64_t one[] = { 1, 1 };

	add_many(t, e, list, 2, one, now);
}

void stksess_add_bytes(struct stktable *t, struct stksess *e, uint64_t in, uint64_t out,
		       uint64_t now)
{
	static const enum stk_dt list[] = {
		STK_DT_BYTES_IN_CNT, STK_DT_BYTES_IN_RATE,
		STK_DT_BYTES_OUT_CNT, STK_DT_BYTES_OUT_RATE,
	};
	int64_t i = in > INT64_MAX ? INT64_MAX : (int64_t)in;
	int64_t o = out > INT64_MAX ? INT64_MAX : (int64_t)out;
	const int64_t delta[] = { i, i, o, o };

	if (in || out)
		add_many(t, e, list, 4, delta, now);
}

/* ---- set-up ----------------------------------------------------------- */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = mix64(monotonic_ms() ^ (uintptr_t)&seed);
	return seed;
}

static int check_key(const struct stktable *t, char *err, size_t errsz)
{
	static const unsigned fixed[] = { [STK_KEY_IP] = 4, [STK_KEY_IPV6] = 16, [STK_KEY_INT] = 8 };

	if ((unsigned)t->type > STK_KEY_BIN) {
		snprintf(err, errsz, "unknown key type");
		return -1;
	}
	if (t->type <= STK_KEY_INT && t->key_size != fixed[t->type]) {
		snprintf(err, errsz, "key size must be %u bytes for this type, not %u",
			 fixed[t->type], t->key_size);
		return -1;
	}
	if (!t->key_size || t->key_size > STK_KEY_MAX_LEN) {
		snprintf(err, errsz, "key length must be between 1 and %d, not %u",
			 STK_KEY_MAX_LEN, t->key_size);
		return -1;
	}
	return 0;
}

static int check_data(struct stktable *t, char *err, size_t errsz)
{
	int dt;

	for (dt = 0; dt < STK_DT_COUNT; dt++) {
		struct stk_dt_conf *d = &t->data[dt];

		if (!d->stored)
			continue;
		if (!stk_dt_is_array(dt)) {
			d->nb = 1;
		} else if (!d->nb || d->nb > STK_DT_ARRAY_MAX) {
			snprintf(err, errsz, "'%s' needs between 1 and %d elements, not %u",
				 dt_names[dt], STK_DT_ARRAY_MAX, d->nb);
			return -1;
		}
		if (stk_dt_is_rate(dt) && !d->period) {
			snprintf(err, errsz, "'%s' needs a period, e.g. %s(10s)",
				 dt_names[dt], dt_names[dt]);
			return -1;
		}
	}
	return 0;
}

/* Data after the key, 8-byte types first so nothing needs padding but
 * the start and the end. */
static void layout(struct stktable *t)
{
	unsigned align = 4, off, pass;
	int dt;

	for (dt = 0; dt < STK_DT_COUNT; dt++)
		if (t->data[dt].stored && dt_is_wide(dt))
			align = 8;
	off = (unsigned)sizeof(struct stksess) + t->key_size;
	off = (off + align - 1) & ~(align - 1);
	for (pass = 0; pass < 2; pass++) {
		for (dt = 0; dt < STK_DT_COUNT; dt++) {
			if (!t->data[dt].stored || dt_is_wide(dt) != !pass)
				continue;
			t->data[dt].off = off;
			off += (unsigned)dt_elem_size(dt) * t->data[dt].nb;
		}
	}
	t->entry_size = (off + align - 1) & ~(align - 1);
}

static unsigned pow2_at_least(unsigned long n)
{
	unsigned p = 1;

	while (p < n && p < 0x80000000u)
		p <<= 1;
	return p;
}

static int shards_init(struct stktable *t, char *err, size_t errsz)
{
	unsigned i, n = 1, per;
	uint64_t seed = random_seed();

	while (n < SHARDS_MAX && (unsigned long)n * 2 * SHARD_MIN_SHARE <= t->size)
		n <<= 1;
	t->shards = aligned_alloc(alignof(struct stk_shard), n * sizeof(*t->shards));
	if (!t->shards)
		goto oom;
	memset(t->shards, 0, n * sizeof(*t->shards));
	t->nshards = n;
	per = pow2_at_least((t->size + n - 1) / n);
	for (i = 0; i < n; i++) {
		struct stk_shard *s = &t->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->seed = seed;
		s->mask = per - 1;
		s->buckets = calloc(per, sizeof(*s->buckets));
		if (!s->buckets)
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errsz, "out of memory for %u entries", t->size);
	return -1;
}

static void shards_free(struct stktable *t)
{
	unsigned i;

	if (!t->shards)
		return;
	for (i = 0; i < t->nshards; i++) {
		pthread_mutex_destroy(&t->shards[i].lock);
		free(t->shards[i].buckets);
	}
	free(t->shards);
	t->shards = NULL;
	t->nshards = 0;
}

static int region_init(struct stktable *t, char *err, size_t errsz)
{
	void *p;

	t->region_size = (size_t)t->size * t->entry_size;
	p = mmap(NULL, t->region_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errsz, "cannot reserve %zu bytes for %u entries of %u bytes (%s): lower 'size'",
			 t->region_size, t->size, t->entry_size, strerror(errno));
		t->region_size = 0;
		return -1;
	}
	t->region = p;
	return 0;
}

int stktable_init(struct stktable *t, char *err, size_t errsz)
{
	if (!t->size) {
		snprintf(err, errsz, "size must be at least 1");
		return -1;
	}
	if (check_key(t, err, errsz) < 0 || check_data(t, err, errsz) < 0)
		return -1;
	layout(t);
	if (region_init(t, err, errsz) < 0)
		return -1;
	if (shards_init(t, err, errsz) < 0) {
		shards_free(t);
		munmap(t->region, t->region_size);
		t->region = NULL;
		return -1;
	}
	atomic_store(&t->next_free, 0);
	atomic_store(&t->count, 0);
	t->epoch_ms = monotonic_ms();
	return 0;
}

void stktable_free(struct stktable *t)
{
	if (!t)
		return;
	shards_free(t);
	if (t->region)
		munmap(t->region, t->region_size);
	free(t->id);
	free(t);
}

/* ---- runtime API: walking and clearing (cli_table.c) ------------------ */

long long stksess_expire_in(const struct stktable *t, const struct stksess *e, uint64_t now)
{
	int32_t idle = (int32_t)(rel_ms(t, now) - e->touched);

	if (!t->expire)
		return -1;
	if (idle < 0)
		idle = 0;
	return (uint32_t)idle >= t->expire ? 0 : (long long)(t->expire - (uint32_t)idle);
}

/* Whole buckets at a time: a chain is short, and finishing it keeps the
 * cursor a plain (shard, bucket) pair that survives unlocking. */
int stktable_walk(struct stktable *t, struct stk_walk *cur, unsigned max, uint64_t now,
		  stk_walk_fn fn, void *arg)
{
	uint32_t rnow = rel_ms(t, now);
	unsigned seen = 0;

	for (; cur->shard < t->nshards; cur->shard++, cur->bucket = 0) {
		struct stk_shard *s = &t->shards[cur->shard];

		pthread_mutex_lock(&s->lock);
		for (; cur->bucket <= s->mask; cur->bucket++) {
			uint32_t link;

			if (seen >= max) {
				pthread_mutex_unlock(&s->lock);
				return 1;
			}
			for (link = s->buckets[cur->bucket]; link; link = link_entry(t, link)->hnext) {
				struct stksess *e = link_entry(t, link);

				if (is_expired(t, e, rnow))
					continue;
				fn(t, e, arg);
				seen++;
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

unsigned stktable_clear(struct stktable *t)
{
	unsigned i, n = 0;

	for (i = 0; i < t->nshards; i++) {
		struct stk_shard *s = &t->shards[i];
		uint32_t link, next;

		pthread_mutex_lock(&s->lock);
		for (link = s->lru_head; link; link = next) {
			struct stksess *e = link_entry(t, link);

			next = e->lnext;
			if (!is_unused(e))
				continue;
			entry_unlink(t, s, e);
			slot_release(t, s, e);
			n++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}
