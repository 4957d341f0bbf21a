/*
 * fuzz_indexed_reader.c - fuzz target for the indexed reader: open a whole
 * file from memory (summary or scan fallback), walk every accessor, read
 * every attachment (whole and streamed) and metadata record by its index, and
 * ask every channel's time range (message indexes or queries), run log-time,
 * reverse and file-order queries with 1 and 2 threads and a tiny
 * memory budget; then the same bytes once more through a file source (a memfd),
 * whose workers map windows of the file instead of copying chunks. Some runs
 * skip the chunks they cannot read (skip_bad_chunks) and check that the damage
 * they report adds up. Nothing may crash, hang or leak, whatever the indexes
 * claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcap/mcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LIMIT ((uint64_t)16 << 20)
#define MAX_MESSAGES 200000

static void run_query(mcap_reader *r, mcap_read_order order, int with_range) {
  mcap_query q;
  mcap_message_iter *it = NULL;
  mcap_message_view v;
  memset(&q, 0, sizeof q);
  q.order = order;
  if (with_range) {
    q.has_start = 1;
    q.start = 2;
    q.has_end = 1;
    q.end = 1000;
  }
  if (mcap_reader_query(r, &q, &it) != MCAP_OK) return;
  for (int i = 0; i < MAX_MESSAGES; i++) {
    if (mcap_message_iter_next(it, &v) != MCAP_OK) break;
    /* Touch the views: they must lie in valid memory. */
    if (v.message.data.len) (void)((volatile const uint8_t *)v.message.data.data)[v.message.data.len - 1];
  }
  mcap_message_iter_free(it);
}

static void on_problem(void *user, const mcap_error_info *p) {
  (*(uint64_t *)user)++;
  if (!p->msg[0]) abort(); /* every problem says what it is */
}

static void one(const uint8_t *data, size_t size, int threads, int force_scan, int skip,
                const char *path) {
  uint64_t calls = 0;
  mcap_source src;
  mcap_indexed_options o;
  mcap_reader *r = NULL;
  mcap_error_info err;
  memset(&o, 0, sizeof o);
  o.threads = threads;
  o.force_scan = force_scan;
  o.skip_bad_chunks = skip;
  o.on_problem = on_problem;
  o.problem_user = &calls;
  o.memory_budget = 4096;
  o.base.max_record_size = FUZZ_LIMIT;
  o.base.max_chunk_uncompressed_size = FUZZ_LIMIT;
  if (path) {
    if (mcap_source_open_file(&src, path, &err) != MCAP_OK) return;
  } else if (mcap_source_from_memory(&src, data, size) != MCAP_OK) {
    return;
  }
  if (mcap_reader_open(&r, &src, &o, &err) != MCAP_OK) return;
  for (size_t i = 0; i < mcap_reader_attachment_count(r); i++) {
    mcap_attachment a;
    mcap_attachment_stream *s = NULL;
    const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
    (void)mcap_reader_read_attachment(r, ai, &a);
    if (mcap_reader_attachment_open(r, ai, &s, &a) == MCAP_OK) {
      uint8_t buf[97];
      size_t got;
      while (mcap_attachment_stream_read(s, buf, sizeof buf, &got) == MCAP_OK && got) {
      }
      mcap_attachment_stream_free(s);
    }
  }
  for (size_t i = 0; i < mcap_reader_metadata_count(r); i++) {
    mcap_metadata m;
    (void)mcap_reader_read_metadata(r, mcap_reader_metadata_at(r, i), &m);
  }
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    uint64_t first, last;
    (void)mcap_reader_channel_message_count(r, mcap_reader_channel_at(r, i)->id);
    /* message indexes read from the file, or queries where they cannot be used */
    if (mcap_reader_channel_time_range(r, mcap_reader_channel_at(r, i)->id, &first, &last) ==
            MCAP_OK &&
        first > last)
      __builtin_trap();
  }
  (void)mcap_reader_statistics(r, NULL);
  run_query(r, MCAP_ORDER_LOG_TIME, 0);
  run_query(r, MCAP_ORDER_REVERSE, 1);
  run_query(r, MCAP_ORDER_FILE, 0);
  {
    mcap_damage d;
    mcap_reader_damage(r, &d);
    /* one callback per problem; nothing skipped without a problem; a stop within the input */
    if (d.problems != calls) abort();
    if (!d.problems && (d.bytes_skipped || d.chunks_skipped || d.rest_unread)) abort();
    if (d.problems && !d.msg[0]) abort();
    if (d.rest_unread && d.stop_offset > size) abort();
  }
  mcap_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -2;
  static char path[64];
  one(data, size, 1, 0, 0, NULL);
  one(data, size, 2, 0, 1, NULL);
  one(data, size, 1, 1, 1, NULL);
  if (fd == -2) {
    fd = memfd_create("fuzz_indexed_reader", 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (fd >= 0 && ftruncate(fd, 0) == 0 && (size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size)) {
    one(data, size, 2, 0, 1, path);
  }
  return 0;
}
