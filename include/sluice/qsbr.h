/* qsbr.h - quiescent-state based reclamation.
 *
 * Owns: the list of objects retired by writers (balancer tables, ...) that
 * readers on other threads may still be looking at. A worker announces a
 * quiescent state at the top of every loop iteration and goes "offline"
 * while it sleeps in epoll_wait; an object retired at epoch E is freed once
 * every registered thread has been quiescent or offline after E.
 * Threading: qsbr_retire() and qsbr_reclaim() from any thread (a mutex
 * guards the retire list); qsbr_quiescent/offline/online only from the
 * registered thread itself, lock-free.
 */
#ifndef SLUICE_QSBR_H
#define SLUICE_QSBR_H

void qsbr_init(unsigned nthreads);	/* before workers start */
void qsbr_quiescent(unsigned tid);
void qsbr_offline(unsigned tid);
void qsbr_online(unsigned tid);
/* Free obj with free_fn once no reader can hold it. Before qsbr_init() (or
 * with no threads registered) it is freed at once. It also reclaims earlier
 * retirements that became safe, so free_fn runs in the caller's context and
 * must not take a lock the caller may hold. */
void qsbr_retire(void *obj, void (*free_fn)(void *));
void qsbr_reclaim(void);		/* free what is safe to free now */
void qsbr_shutdown(void);		/* free everything (no readers left) */

#endif
