/*
 * fuzz_stream_reader.c - fuzz target for the streamed reader.
 *
 * Input: a whole MCAP file, read from memory three times: with the default
 * options (every check on), with every CRC and magic check off and a missing
 * footer allowed (so mutations that break a CRC still reach the parsers
 * behind it), and with raw chunks. Each pass runs until MCAP_ITEROVER or an
 * error, capped in iterations. Limits are lowered to 16 MiB so a forged size
 * is refused instead of tripping the fuzzer's memory limit. Checked: a dead
 * reader stays dead with the same code and has a message; top-level records
 * lie inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcap/mcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITERATIONS 100000
#define FUZZ_LIMIT ((uint64_t)16 << 20)

static void fail(const char *what, int pass) {
  fprintf(stderr, "fuzz_stream_reader: %s (pass %d)\n", what, pass);
  abort();
}

static void read_all(const uint8_t *data, size_t size, const mcap_reader_options *opts, int pass) {
  mcap_source src;
  if (mcap_source_from_memory(&src, data, size) != MCAP_OK) return;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, opts) != MCAP_OK) return;

  mcap_record rec;
  int rc = MCAP_OK;
  for (int i = 0; i < MAX_ITERATIONS; i++) {
    memset(&rec, 0, sizeof rec);
    rc = mcap_stream_reader_next(r, &rec);
    if (rc != MCAP_OK) break;
    if (!rec.in_chunk) {
      uint64_t end = 0;
      if (__builtin_add_overflow(rec.offset, (uint64_t)MCAP_RECORD_HEADER_SIZE, &end) ||
          __builtin_add_overflow(end, rec.content.len, &end) || end > size) {
        fail("a top-level record extends past the end of the input", pass);
      }
    }
    if (mcap_stream_reader_position(r) > size) fail("position past the end of the input", pass);
  }
  if (rc != MCAP_OK && rc != MCAP_ITEROVER) {
    const char *msg = mcap_stream_reader_errmsg(r);
    if (msg == NULL || msg[0] == '\0') fail("error without a message", pass);
    if (mcap_strerror(rc) == NULL) fail("mcap_strerror returned NULL", pass);
    (void)mcap_stream_reader_error_offset(r);
    memset(&rec, 0, sizeof rec);
    if (mcap_stream_reader_next(r, &rec) != rc) fail("a dead reader changed its error", pass);
    /* the damage report says where it stopped, within the input, and why */
    mcap_damage d;
    mcap_stream_reader_damage(r, &d);
    if (d.problems != 1 || !d.rest_unread || d.code != rc) fail("damage without the error", pass);
    if (d.stop_offset > size || d.bytes_skipped != size - d.stop_offset)
      fail("damage beyond the input", pass);
  } else {
    mcap_damage d;
    mcap_stream_reader_damage(r, &d);
    if (d.problems) fail("damage reported without an error", pass);
  }
  mcap_stream_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mcap_reader_options opts;
  mcap_reader_options_init(&opts);
  opts.max_record_size = FUZZ_LIMIT;
  opts.max_chunk_uncompressed_size = FUZZ_LIMIT;
  read_all(data, size, &opts, 1);

  opts.no_magic_check = 1;
  opts.no_chunk_crc = 1;
  opts.no_data_crc = 1;
  opts.no_summary_crc = 1;
  opts.no_attachment_crc = 1;
  opts.allow_no_footer = 1;
  read_all(data, size, &opts, 2);

  mcap_reader_options_init(&opts);
  opts.max_record_size = FUZZ_LIMIT;
  opts.max_chunk_uncompressed_size = FUZZ_LIMIT;
  opts.raw_chunks = 1;
  read_all(data, size, &opts, 3);
  return 0;
}
