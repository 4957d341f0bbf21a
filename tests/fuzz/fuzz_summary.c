/*
 * fuzz_summary.c - fuzz target for the indexed reader's summary parser. The
 * input becomes the summary section of an otherwise valid, empty file (magic,
 * Header, DataEnd, summary, Footer pointing at it with no CRC, magic), so
 * every mutation reaches the summary parser and the checks that decide
 * between trusting the summary and scanning.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcap/mcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t head[] = {
      0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n',        /* magic */
      0x01, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* Header: empty strings */
      0x0F, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};        /* DataEnd: crc 0 */
  size_t total = sizeof head + size + 29 + 8;
  uint8_t *file;
  mcap_source src;
  mcap_reader *r = NULL;
  mcap_indexed_options o;
  mcap_error_info err;
  if (size > (1u << 20)) return 0;
  file = malloc(total);
  if (!file) return 0;
  memcpy(file, head, sizeof head);
  if (size) memcpy(file + sizeof head, data, size);
  {
    uint8_t *f = file + sizeof head + size;
    f[0] = 0x02;
    le64(f + 1, 20);
    le64(f + 9, size ? sizeof head : 0); /* summary_start */
    le64(f + 17, 0);                     /* summary_offset_start */
    memset(f + 25, 0, 4);                /* no summary CRC */
    memcpy(f + 29, head, 8);
  }
  memset(&o, 0, sizeof o);
  o.threads = 1;
  o.base.max_record_size = 16u << 20;
  o.base.max_chunk_uncompressed_size = 16u << 20;
  if (mcap_source_from_memory(&src, file, total) == MCAP_OK &&
      mcap_reader_open(&r, &src, &o, &err) == MCAP_OK) {
    mcap_message_iter *it = NULL;
    mcap_message_view v;
    for (size_t i = 0; i < mcap_reader_schema_count(r); i++) (void)mcap_reader_schema_at(r, i);
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
      const mcap_channel *c = mcap_reader_channel_at(r, i);
      (void)mcap_reader_channel_message_count(r, c->id);
      (void)mcap_map_str_count(&c->metadata);
    }
    for (size_t i = 0; i < mcap_reader_attachment_count(r); i++) {
      mcap_attachment a;
      (void)mcap_reader_read_attachment(r, mcap_reader_attachment_at(r, i), &a);
    }
    for (size_t i = 0; i < mcap_reader_metadata_count(r); i++) {
      mcap_metadata m;
      (void)mcap_reader_read_metadata(r, mcap_reader_metadata_at(r, i), &m);
    }
    if (mcap_reader_query(r, NULL, &it) == MCAP_OK) {
      for (int i = 0; i < 100000 && mcap_message_iter_next(it, &v) == MCAP_OK; i++) {
      }
      mcap_message_iter_free(it);
    }
    mcap_reader_free(r);
  }
  free(file);
  return 0;
}
