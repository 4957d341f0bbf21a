/*
 * server_budget.c - the server-wide memory budget (--memory-budget, issue #15):
 * heavy work (export fetches, imports) reserves the memory it is expected to
 * hold before it starts and gives it back when it ends, so that concurrent
 * heavy requests cannot together exhaust the machine. What a request reserves
 * is computed by its caller (docs/serve.md, "Memory budget"); here only the
 * counting and the waiting:
 *
 * - a reservation larger than the whole budget is cut to the whole budget: such
 *   work waits until nothing else holds any and then runs alone;
 * - export fetches wait a short bounded time (a client is waiting) and are
 *   then answered 503 with Retry-After; imports wait until they fit (nobody
 *   waits on them; they are ended only by pl__srv_budget_cancel at stop);
 * - waiters are served first come, first served (a ticket queue), so a large
 *   reservation is not starved by a stream of small ones.
 */
#include <errno.h>
#include <time.h>

#include "server_internal.h"

void pl__srv_budget_init(struct srv_budget *b, uint64_t total) {
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cv, &ca);
  pthread_condattr_destroy(&ca);
  b->total = total ? total : SRV_DEFAULT_MEMORY_BUDGET;
  b->used = b->peak = b->refused = 0;
  b->waiters = NULL;
  b->cancel = 0;
}

void pl__srv_budget_dispose(struct srv_budget *b) {
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
}

/* Waiters in order of arrival; only the first may take (first come, first served). */
struct srv_budget_waiter {
  struct srv_budget_waiter *next;
};

static void leave(struct srv_budget *b, struct srv_budget_waiter *w) {
  for (struct srv_budget_waiter **pp = &b->waiters; *pp; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      break;
    }
}

uint64_t pl__srv_budget_reserve(struct srv_budget *b, uint64_t want, int wait_ms) {
  if (want == 0) want = 1;
  if (want > b->total) want = b->total;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  if (wait_ms >= 0) {
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  struct srv_budget_waiter me = {NULL};
  pthread_mutex_lock(&b->mu);
  struct srv_budget_waiter **tail = &b->waiters;
  while (*tail) tail = &(*tail)->next;
  *tail = &me;
  uint64_t got = 0;
  for (;;) {
    if (b->cancel) break;
    if (b->waiters == &me && b->total - b->used >= want) {
      b->used += want;
      if (b->used > b->peak) b->peak = b->used;
      got = want;
      break;
    }
    int rc = wait_ms >= 0 ? pthread_cond_timedwait(&b->cv, &b->mu, &until)
                          : pthread_cond_wait(&b->cv, &b->mu);
    if (rc == ETIMEDOUT) {
      if (!b->cancel && b->waiters == &me && b->total - b->used >= want) continue;
      break;
    }
  }
  leave(b, &me);
  if (!got && wait_ms > 0 && !b->cancel) b->refused++; /* a mere try (0) is not */
  pthread_cond_broadcast(&b->cv); /* the next waiter may be first now */
  pthread_mutex_unlock(&b->mu);
  return got;
}

void pl__srv_budget_release(struct srv_budget *b, uint64_t amount) {
  if (!amount) return;
  pthread_mutex_lock(&b->mu);
  b->used = amount <= b->used ? b->used - amount : 0;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void pl__srv_budget_cancel(struct srv_budget *b) {
  pthread_mutex_lock(&b->mu);
  b->cancel = 1;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void pl__srv_budget_get(struct srv_budget *b, uint64_t *used, uint64_t *peak,
                        uint64_t *refused) {
  pthread_mutex_lock(&b->mu);
  *used = b->used;
  *peak = b->peak;
  *refused = b->refused;
  pthread_mutex_unlock(&b->mu);
}
