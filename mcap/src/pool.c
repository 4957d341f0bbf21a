/*
 * pool.c - mcap_pool: compression threads that one or several writers share
 * (see pool.h for the invariants and mcap.h for the contract).
 *
 * Why the caller works too: on a 2-core machine a writer with two threads of
 * its own and a busy caller (the rewrite engine decompressing its input) had
 * three threads on two cores, and the scheduler kept the caller and a worker
 * on one core while the other idled (1.4x from the second core). A pool of N
 * has N - 1 threads; the caller, when it would wait for a chunk, compresses
 * the oldest queued one itself, so exactly N threads are busy.
 */
#include <pthread.h>
#include <stdlib.h>

#include "codec.h"
#include "pool.h"

#define MAX_THREADS 256

struct mcap_pool {
  pthread_mutex_t mu;
  pthread_cond_t work; /* a job was queued, or stop */
  pthread_cond_t done; /* a job is done */
  struct mcap__job *head, *tail;
  int stop;
  int threads; /* counting the callers' share: threads - 1 started */
  pthread_t *ids;
  int n_started;
};

/* Pop the oldest queued job (mutex held); NULL when none. */
static struct mcap__job *pop(mcap_pool *p) {
  struct mcap__job *j = p->head;
  if (!j) return NULL;
  p->head = j->next;
  if (!p->head) p->tail = NULL;
  j->next = NULL;
  j->state = MCAP__JOB_RUNNING;
  return j;
}

/* Run a popped job with the mutex released; returns with it held again. */
static void run_locked(mcap_pool *p, struct mcap__job *j, struct mcap_codec_ctx *ctx) {
  pthread_mutex_unlock(&p->mu);
  j->run(j, ctx);
  pthread_mutex_lock(&p->mu);
  j->state = MCAP__JOB_DONE;
  pthread_cond_broadcast(&p->done);
}

static void *worker_main(void *arg) {
  mcap_pool *p = arg;
  struct mcap_codec_ctx *ctx = NULL;
  /* Without a codec context of its own this thread takes no job: the callers still run them. */
  if (mcap__codec_ctx_new(&ctx) != MCAP_OK) return NULL;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    struct mcap__job *j;
    while (!p->head && !p->stop) pthread_cond_wait(&p->work, &p->mu);
    j = pop(p);
    if (!j) break; /* stop, nothing queued */
    run_locked(p, j, ctx);
  }
  pthread_mutex_unlock(&p->mu);
  mcap__codec_ctx_free(ctx);
  return NULL;
}

int mcap_pool_new(mcap_pool **out, int threads) {
  mcap_pool *p;
  if (!out) return MCAP_EINVAL;
  *out = NULL;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  p = mcap__calloc(1, sizeof *p);
  if (!p) return MCAP_ENOMEM;
  p->threads = threads;
  if (threads > 1) {
    p->ids = mcap__calloc((size_t)threads - 1, sizeof *p->ids);
    if (!p->ids) {
      mcap__free(p);
      return MCAP_ENOMEM;
    }
  }
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    mcap__free(p->ids);
    mcap__free(p);
    return MCAP_ENOMEM;
  }
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  /* Threads that cannot be started leave their share to the callers. */
  for (int i = 0; i < threads - 1; i++) {
    if (pthread_create(&p->ids[p->n_started], NULL, worker_main, p) != 0) break;
    p->n_started++;
  }
  *out = p;
  return MCAP_OK;
}

void mcap_pool_free(mcap_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_started; i++) pthread_join(p->ids[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->done);
  mcap__free(p->ids);
  mcap__free(p);
}

int mcap_pool_threads(const mcap_pool *p) { return p ? p->threads : 0; }

int mcap__pool_threads(const mcap_pool *p) { return p->threads; }

void mcap__pool_submit(mcap_pool *p, struct mcap__job *j) {
  j->next = NULL;
  pthread_mutex_lock(&p->mu);
  j->state = MCAP__JOB_QUEUED;
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  if (p->n_started) pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->mu);
}

void mcap__pool_wait(mcap_pool *p, struct mcap__job *j, struct mcap_codec_ctx *ctx) {
  pthread_mutex_lock(&p->mu);
  while (j->state != MCAP__JOB_DONE) {
    struct mcap__job *other = pop(p);
    if (other)
      run_locked(p, other, ctx);
    else
      pthread_cond_wait(&p->done, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
}

int mcap__pool_done(mcap_pool *p, struct mcap__job *j) {
  int done;
  pthread_mutex_lock(&p->mu);
  done = j->state == MCAP__JOB_DONE;
  pthread_mutex_unlock(&p->mu);
  return done;
}

int mcap__pool_cancel(mcap_pool *p, struct mcap__job *j) {
  pthread_mutex_lock(&p->mu);
  if (j->state == MCAP__JOB_QUEUED) {
    struct mcap__job **link = &p->head, *prev = NULL;
    while (*link && *link != j) {
      prev = *link;
      link = &(*link)->next;
    }
    if (*link) {
      *link = j->next;
      if (p->tail == j) p->tail = prev;
      j->next = NULL;
      j->state = MCAP__JOB_DONE;
      pthread_mutex_unlock(&p->mu);
      return 1;
    }
  }
  while (j->state != MCAP__JOB_DONE) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return 0;
}
