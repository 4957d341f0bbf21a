/*
 * pool.h - the compression pool behind mcap_pool (mcap.h): a FIFO of jobs run
 * by the pool's threads and by the callers that wait on them.
 *
 * Invariants:
 * - A job is queued (on the FIFO), running (taken by one thread) or done;
 *   `state` changes only under the pool's mutex, and every change to done is
 *   broadcast on `done`.
 * - A thread that waits for a job (mcap__pool_wait) runs the oldest queued
 *   job itself instead of sleeping, so a pool of N threads keeps N cores busy
 *   with N - 1 threads of its own and the caller: "threads" always counts the
 *   caller, as for the indexed reader.
 * - A job owns nothing of the pool: whoever submitted it keeps it alive until
 *   it is done (mcap__pool_wait) or taken back before it ran
 *   (mcap__pool_cancel).
 */
#ifndef MCAP_POOL_H
#define MCAP_POOL_H

#include "internal.h"

struct mcap_codec_ctx;

enum { MCAP__JOB_QUEUED = 0, MCAP__JOB_RUNNING = 1, MCAP__JOB_DONE = 2 };

struct mcap__job {
  /* The work; `ctx` is the running thread's own codec state (NULL when the caller has none:
   * a job that needs one fails with MCAP_ENOMEM). */
  void (*run)(struct mcap__job *j, struct mcap_codec_ctx *ctx);
  struct mcap__job *next; /* FIFO link */
  int state;
};

/* Queue a job (its `run` set). */
void mcap__pool_submit(mcap_pool *p, struct mcap__job *j);

/* Return once `j` is done; meanwhile the caller runs queued jobs (any submitter's, oldest
 * first) with `ctx`, its own codec state. */
void mcap__pool_wait(mcap_pool *p, struct mcap__job *j, struct mcap_codec_ctx *ctx);

/* 1 when `j` is done (no waiting). */
int mcap__pool_done(mcap_pool *p, struct mcap__job *j);

/* Take `j` back if it has not started (1), else wait until it is done (0). */
int mcap__pool_cancel(mcap_pool *p, struct mcap__job *j);

/* The pool's thread count, the caller's included (mcap_pool_new's `threads`, at least 1). */
int mcap__pool_threads(const mcap_pool *p);

#endif
