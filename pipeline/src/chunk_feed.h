/*
 * chunk_feed.h - the chunk feed (chunk_feed.c), private to the pipeline:
 * decompressed chunks passed from one pass over a file (the producer) to a
 * second pass on another thread (the consumer), in file order, at most
 * `depth` waiting. Thread-safe between one producer and one consumer.
 */
#ifndef PL_CHUNK_FEED_H
#define PL_CHUNK_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

struct pl__buf;
typedef struct pl__feed pl__feed;

int pl__feed_new(pl__feed **out, size_t depth); /* PL_OK or PL_ENOMEM; free with pl__feed_free */
void pl__feed_free(pl__feed *f);
/* Producer: queue buf's len bytes as the records of the chunk at `offset` (the feed takes
 * the buffer; *buf becomes a recycled or empty one). Waits while the queue is full, unless
 * the consumer has closed (then *buf is left as it was). */
void pl__feed_put(pl__feed *f, uint64_t offset, struct pl__buf *buf);
void pl__feed_finish(pl__feed *f); /* producer: no more chunks */
/* Consumer: 1 and the records of the chunk at `offset` (valid until the next take or the
 * close), or 0 when the producer does not have it (then decompress it yourself). Waits only
 * while the producer has not reached `offset`. */
int pl__feed_take(pl__feed *f, uint64_t offset, const uint8_t **data, uint64_t *len);
void pl__feed_close(pl__feed *f); /* consumer: no more takes; the producer stops waiting */

/* pl_doctor_run() (doctor.c) taking what chunks it can from `feed` instead of decompressing
 * them (NULL: none); closes the feed when done. */
int pl__doctor_run_fed(mcap_source *src, const pl_doctor_options *o, pl__feed *feed,
                       pl_doctor_report **out, pl_error_info *err);

#endif
