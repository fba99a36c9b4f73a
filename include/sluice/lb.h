/* lb.h - load-balancing algorithms behind one ops table.
 *
 * Owns: the "balance", "hash-type" and "hash-balance-factor" keywords, the
 * choice of usable servers (primaries, else the first backup or all backups
 * with "option allbackups"), and one ops table per algorithm family:
 * lb_rr.c (roundrobin, static-rr), lb_lc.c (leastconn, first), lb_hash.c
 * (source, hash; map-based and consistent with bounded load), lb_random.c
 * (random, power-of-N choices).
 * Threading: pick() runs on any worker thread without locks: it reads the
 * algorithm's state through an atomic pointer. update() runs under lb.lock
 * whenever a server's state or weight changes, builds a new state and
 * publishes it; the old one is freed through qsbr once no thread can still
 * read it.
 */
#ifndef SLUICE_LB_H
#define SLUICE_LB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct proxy;
struct server;
struct sample_expr;

enum lb_algo {
	LB_ALGO_ROUNDROBIN = 0,	/* default */
	LB_ALGO_STATIC_RR,
	LB_ALGO_LEASTCONN,
	LB_ALGO_FIRST,
	LB_ALGO_SOURCE,
	LB_ALGO_HASH,		/* "hash <expr>" */
	LB_ALGO_RANDOM,		/* "random[(draws)]" */
};

enum lb_hash_type { LB_HASH_MAP_BASED = 0, LB_HASH_CONSISTENT = 1 };

struct lb_ops {
	const char *name;
	/* After configuration: build the first state. 0 or -1. */
	int (*init)(struct proxy *be);
	/* Usable set or weights changed: rebuild and publish (lb.lock held). */
	void (*update)(struct proxy *be);
	/* Choose a server. hash is the key for hashing algorithms (ignored
	 * otherwise). avoid is a server not to return (failed connection), or
	 * NULL. Returns NULL when no usable server has a free slot; sets
	 * *all_full to 1 when usable servers exist but all are at maxconn. A
	 * hashing algorithm may return a full server: the caller then queues on
	 * it. */
	struct server *(*pick)(struct proxy *be, uint64_t hash,
			       const struct server *avoid, int *all_full);
	/* Optional: a session took / released a slot on s. */
	void (*take)(struct server *s);
	void (*drop)(struct server *s);
	void (*deinit)(struct proxy *be);
};

struct lb {
	enum lb_algo algo;
	const struct lb_ops *ops;
	enum lb_hash_type hash_type;
	unsigned hash_balance_factor;	/* 0: unbounded; else >100 (percent) */
	unsigned random_draws;		/* random(N), default 2 */
	struct sample_expr *hash_expr;	/* "hash <expr>" */
	char *hash_expr_str;
	int conf_line;
	const char *conf_file;
	pthread_mutex_t lock;		/* serialises update() */
	_Atomic(void *) state;		/* algorithm-private, read by pick() */
	_Atomic unsigned usable;	/* servers in the current usable set */
	_Atomic int using_backups;	/* the usable set is made of backups */
};

/* Collect the servers the balancer may use now, in file order: usable
 * primaries; if there are none, the first usable backup (all usable backups
 * with option allbackups). Returns the count; sets *backups. out must hold
 * be->nb_srv entries. */
unsigned lb_collect(struct proxy *be, struct server **out, int *backups);

/* After config: set up every backend's balancer. Returns error count. */
int lb_init_backend(struct proxy *be);
/* A server's state/admin/weight changed: rebuild its backend's tables. */
void lb_server_changed(struct server *s);
/* Pick for a session: wraps ops->pick. */
struct server *lb_pick(struct proxy *be, uint64_t hash,
		       const struct server *avoid, int *all_full);
/* 64-bit mixing hash used by source/hash algorithms. */
uint64_t lb_hash_bytes(const void *data, size_t len);

/* Helpers shared by the lb_*.c files (not used by other subsystems). */
/* Lock, run ops->update once, unlock: the ops' init(). 0, or -1 when no
 * state could be built (out of memory). */
int lb_init_state(struct proxy *be);
/* Free the published state (deinit, no reader left). */
void lb_free_state(struct proxy *be);
/* Publish a new state built by update(); the old one goes to qsbr. */
void lb_publish(struct proxy *be, void *state, unsigned usable, int backups);
/* Length of the interleaved sequence for these weights: their sum divided
 * by their gcd (0 when all are 0). */
unsigned lb_seq_len(const unsigned *weights, unsigned n);
/* Fill seq (lb_seq_len() entries) with server indexes, each index i
 * appearing weights[i]/gcd times, spread evenly ("ABAC", not "AABC").
 * Returns 0 or -1 (out of memory). */
int lb_build_sequence(const unsigned *weights, unsigned n, uint32_t *seq);
/* Fallback scan: first server from srv[start] on (wrapping) that is usable,
 * has a free slot and is not avoid. Sets *all_full when none has a slot but
 * some usable server other than avoid exists. */
struct server *lb_scan_free(struct server *const *srv, unsigned n, unsigned start,
			    const struct server *avoid, int *all_full);

extern const struct lb_ops lb_rr_ops, lb_static_rr_ops, lb_leastconn_ops,
	lb_first_ops, lb_map_hash_ops, lb_chash_ops, lb_random_ops;

#endif
