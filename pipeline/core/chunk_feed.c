/*
 * chunk_feed.c - hands decompressed chunks from one pass over a file to a
 * second pass over the same file on another thread, so that a chunk is
 * decompressed once even when two readers need its records.
 *
 * `mcapkit lake` walks the recording to route messages to per-topic writers
 * while the doctor checks the same file for index.json; decompression was the
 * doctor's largest cost, taken from the compression workers on a small
 * machine. The producer (the walk) puts each chunk it decompressed and checked
 * (CRC included) into a short queue, in file order; the consumer (the doctor)
 * takes the chunk it is at, or learns that the producer does not have it and
 * decompresses it itself. Either side may stop early: a finished producer or a
 * closed consumer never leaves the other waiting.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core.h"

struct feed_item {
  uint64_t offset;
  struct pl_buf buf;
};

struct pl_feed {
  pthread_mutex_t mu;
  pthread_cond_t changed;
  struct feed_item *q; /* ring of `depth` items */
  size_t depth, head, len;
  struct pl_buf *spare; /* empty buffers to hand back to the producer */
  size_t n_spare;
  struct pl_buf held;  /* the consumer's current chunk */
  int finished;        /* no more puts */
  int closed;          /* no more takes */
};

int pl_feed_new(pl_feed **out, size_t depth) {
  pl_feed *f;
  *out = NULL;
  if (depth == 0) depth = 1;
  f = calloc(1, sizeof *f);
  if (!f) return PL_ENOMEM;
  f->q = calloc(depth, sizeof *f->q);
  f->spare = calloc(depth + 1, sizeof *f->spare);
  if (!f->q || !f->spare) {
    free(f->q);
    free(f->spare);
    free(f);
    return PL_ENOMEM;
  }
  f->depth = depth;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->changed, NULL);
  *out = f;
  return PL_OK;
}

void pl_feed_free(pl_feed *f) {
  if (!f) return;
  for (size_t i = 0; i < f->len; i++) pl_buf_dispose(&f->q[(f->head + i) % f->depth].buf);
  for (size_t i = 0; i < f->n_spare; i++) pl_buf_dispose(&f->spare[i]);
  pl_buf_dispose(&f->held);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->changed);
  free(f->q);
  free(f->spare);
  free(f);
}

/* Keep an emptied buffer for the producer (at most depth + 1 of them). Locked. */
static void recycle(pl_feed *f, struct pl_buf *b) {
  if (b->data && f->n_spare < f->depth + 1) {
    b->len = 0;
    f->spare[f->n_spare++] = *b;
  } else {
    pl_buf_dispose(b);
  }
  memset(b, 0, sizeof *b);
}

void pl_feed_put(pl_feed *f, uint64_t offset, struct pl_buf *buf) {
  pthread_mutex_lock(&f->mu);
  while (f->len == f->depth && !f->closed) pthread_cond_wait(&f->changed, &f->mu);
  if (!f->closed && !f->finished) {
    struct feed_item *it = &f->q[(f->head + f->len) % f->depth];
    it->offset = offset;
    it->buf = *buf;
    f->len++;
    /* Give the producer a recycled buffer (or none: it grows a new one). */
    if (f->n_spare) *buf = f->spare[--f->n_spare];
    else memset(buf, 0, sizeof *buf);
    pthread_cond_broadcast(&f->changed);
  }
  pthread_mutex_unlock(&f->mu);
}

void pl_feed_finish(pl_feed *f) {
  pthread_mutex_lock(&f->mu);
  f->finished = 1;
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->mu);
}

int pl_feed_take(pl_feed *f, uint64_t offset, const uint8_t **data, uint64_t *len) {
  int got = 0;
  pthread_mutex_lock(&f->mu);
  recycle(f, &f->held);
  for (;;) {
    struct feed_item *it;
    while (f->len == 0 && !f->finished) pthread_cond_wait(&f->changed, &f->mu);
    if (f->len == 0) break; /* the producer is done and never had it */
    it = &f->q[f->head];
    if (it->offset > offset) break; /* the producer skipped this chunk */
    f->head = (f->head + 1) % f->depth;
    f->len--;
    pthread_cond_broadcast(&f->changed);
    if (it->offset == offset) {
      f->held = it->buf;
      memset(&it->buf, 0, sizeof it->buf);
      *data = f->held.data;
      *len = f->held.len;
      got = 1;
      break;
    }
    recycle(f, &it->buf); /* a chunk the consumer passed without asking for it */
  }
  pthread_mutex_unlock(&f->mu);
  return got;
}

void pl_feed_close(pl_feed *f) {
  pthread_mutex_lock(&f->mu);
  f->closed = 1;
  while (f->len) {
    recycle(f, &f->q[f->head].buf);
    f->head = (f->head + 1) % f->depth;
    f->len--;
  }
  recycle(f, &f->held);
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->mu);
}
