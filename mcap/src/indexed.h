/*
 * indexed.h - the indexed reader's private structures, shared by
 * indexed_reader.c (open, accessors), scan.c (the linear-scan fallback) and
 * query.c (message queries).
 */
#ifndef MCAP_INDEXED_H
#define MCAP_INDEXED_H

#include "internal.h"

/* Bump allocator for copies that live as long as the reader. */
struct mcap__arena {
  struct arena_block *head;
};
void *mcap__arena_copy(struct mcap__arena *a, const void *p, size_t n);

/* One chunk of the index. */
struct mcap__chunk {
  mcap_chunk_index ci;      /* public view; times are the chunk's message range */
  uint16_t *channels;       /* channels with messages in it, when known */
  uint32_t n_channels;
  int channels_known;       /* 0: must be read to know (no message indexes) */
  int damaged;              /* a query could not read it (counted once in the damage) */
};

/* A message outside any chunk (files written without chunking). */
struct mcap__loose {
  uint64_t log_time;
  uint64_t offset; /* file offset of the Message record */
  uint16_t channel_id;
};

struct mcap_reader {
  mcap_source src;
  mcap_indexed_options o;
  mcap_error_info err;
  mcap_index_source source;
  char why[256];

  mcap_header header;
  mcap_footer footer;
  int has_footer;
  uint64_t first_record; /* offset after the Header */
  uint64_t data_end;     /* end of the data section as known */

  struct mcap_buf summary; /* owned copy of the summary section */
  struct mcap__arena arena;
  struct mcap_buf rec_buf; /* last record read by offset */
  struct mcap_buf pieces;  /* assembly buffer for sources that hand out pieces */

  mcap_schema *schemas;
  size_t n_schemas, cap_schemas;
  mcap_channel *channels;
  size_t n_channels, cap_channels;
  int sorted;
  uint8_t schema_seen[8192], channel_seen[8192]; /* ids already indexed (bitmaps) */
  struct mcap__chunk *chunks;
  size_t n_chunks, cap_chunks;
  mcap_attachment_index *attachments;
  size_t n_attachments, cap_attachments;
  mcap_metadata_index *metadata;
  size_t n_metadata, cap_metadata;
  struct mcap__loose *loose;
  size_t n_loose, cap_loose;

  mcap_statistics stats; /* the file's own */
  int has_stats;
  mcap_statistics computed;
  uint64_t *channel_counts; /* [65536] after a scan */
  uint64_t *channel_times;  /* [2 * 65536] after a scan: first, last log time per channel */
  int counts_known;
  uint64_t scan_start, scan_end;
  char scan_problem[256]; /* why a scan stopped early ("" if it reached DataEnd) */
  mcap_damage damage;     /* what could not be read (mcap_reader_damage) */

  mcap_decompressor *dec;
  int iter_open;
};

int mcap__rfail(mcap_reader *r, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int mcap__reader_read(mcap_reader *r, uint64_t off, uint64_t n, const uint8_t **p,
                      const char *what);
int mcap__reader_add_schema_copy(mcap_reader *r, const mcap_schema *s);
int mcap__reader_add_channel_copy(mcap_reader *r, const mcap_channel *c);
int mcap__reader_scan(mcap_reader *r);
/* Count a damaged place in r->damage and tell on_problem: `bytes` skipped at `offset`
 * (`rest`: reading stopped there), `chunks` and `messages` in it. */
void mcap__reader_note_damage(mcap_reader *r, int code, uint64_t offset, uint64_t bytes,
                              uint64_t chunks, uint64_t messages, int rest, const char *msg);
/* Messages a chunk index says its chunk holds (from its message index length); 0 unknown. */
uint64_t mcap__chunk_message_count(const mcap_chunk_index *ci);

#endif
