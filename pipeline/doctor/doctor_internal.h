/*
 * doctor_internal.h - state shared by the doctor's source files (doctor.c:
 * driver, findings, code table, top-level records; doctor_chunk.c: chunk
 * contents and message indexes; doctor_summary.c: indexes, statistics,
 * summary offsets and the end-of-file checks). Not installed.
 *
 * Invariants:
 * - d->chunks, d->mis, d->atts, d->metas, d->sums are in file order, hence
 *   sorted by offset (the pass is strictly forward), so lookups by offset
 *   are binary searches.
 * - d->msgs holds the messages of the chunk whose message indexes may still
 *   follow (d->open_chunk != NO_CHUNK); it is reused from chunk to chunk.
 * - Schema and channel tables are flat arrays indexed by id (65536 entries):
 *   O(1) lookups per message and no per-message allocation.
 */
#ifndef PIPELINE_DOCTOR_INTERNAL_H
#define PIPELINE_DOCTOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"
#include "pipeline/doctor.h"

/* The finding codes; the table in doctor.c gives each its text, severity and summary. */
enum dc_code {
  /* framing */
  DC_MAGIC_LEADING,
  DC_MAGIC_TRAILING,
  DC_TRUNCATED,
  DC_RECORD_MALFORMED,
  DC_RECORD_TOO_LARGE,
  DC_HEADER_MISSING,
  DC_DUPLICATE_HEADER,
  DC_DUPLICATE_DATA_END,
  DC_DATA_END_MISSING,
  DC_FOOTER_MISSING,
  DC_TRAILING_BYTES,
  DC_RECORD_WRONG_SECTION,
  DC_OPCODE_UNKNOWN,
  DC_OPCODE_PRIVATE,
  /* CRCs */
  DC_CRC_DATA,
  DC_CRC_SUMMARY,
  DC_CRC_CHUNK,
  DC_CRC_ATTACHMENT,
  /* header */
  DC_HEADER_LIBRARY_EMPTY,
  DC_HEADER_PROFILE_UNKNOWN,
  /* schemas and channels */
  DC_SCHEMA_ID_ZERO,
  DC_SCHEMA_CONFLICT,
  DC_DUPLICATE_SCHEMA,
  DC_SCHEMA_DATA_WITHOUT_ENCODING,
  DC_SCHEMA_EMPTY,
  DC_CHANNEL_CONFLICT,
  DC_DUPLICATE_CHANNEL,
  DC_CHANNEL_UNKNOWN_SCHEMA,
  DC_CHANNEL_ENCODING_EMPTY,
  DC_SUMMARY_SCHEMA_UNKNOWN,
  DC_SUMMARY_CHANNEL_UNKNOWN,
  DC_SUMMARY_SCHEMA_MISSING,
  DC_SUMMARY_CHANNEL_MISSING,
  /* messages */
  DC_MESSAGE_UNKNOWN_CHANNEL,
  DC_LOG_TIME_ORDER,
  DC_MESSAGE_OUTSIDE_CHUNK,
  /* chunks */
  DC_COMPRESSION_UNKNOWN,
  DC_DECOMPRESS,
  DC_CHUNK_TOO_LARGE,
  DC_CHUNK_TIME_RANGE,
  DC_CHUNK_EMPTY_TIME,
  /* message indexes */
  DC_MESSAGE_INDEX_ORPHAN,
  DC_DUPLICATE_MESSAGE_INDEX,
  DC_MESSAGE_INDEX_OFFSET,
  DC_MESSAGE_INDEX_CHANNEL,
  DC_MESSAGE_INDEX_TIME,
  DC_MESSAGE_INDEX_ENTRY_MISSING,
  DC_MESSAGE_INDEX_MISSING,
  DC_MESSAGE_INDEX_EXTRA,
  DC_MESSAGE_INDEX_ABSENT,
  /* chunk indexes */
  DC_CHUNK_INDEX_OFFSET,
  DC_CHUNK_INDEX_MISMATCH,
  DC_CHUNK_INDEX_MISSING,
  DC_DUPLICATE_CHUNK_INDEX,
  /* attachment and metadata indexes */
  DC_ATTACHMENT_INDEX_OFFSET,
  DC_ATTACHMENT_INDEX_MISMATCH,
  DC_ATTACHMENT_INDEX_MISSING,
  DC_DUPLICATE_ATTACHMENT_INDEX,
  DC_METADATA_INDEX_OFFSET,
  DC_METADATA_INDEX_MISMATCH,
  DC_METADATA_INDEX_MISSING,
  DC_DUPLICATE_METADATA_INDEX,
  /* statistics */
  DC_DUPLICATE_STATISTICS,
  DC_STATISTICS_MESSAGE_COUNT,
  DC_STATISTICS_TIME_RANGE,
  DC_STATISTICS_START_ZERO,
  DC_STATISTICS_CHANNEL_MESSAGES,
  DC_STATISTICS_SCHEMA_COUNT,
  DC_STATISTICS_CHANNEL_COUNT,
  DC_STATISTICS_ATTACHMENT_COUNT,
  DC_STATISTICS_METADATA_COUNT,
  DC_STATISTICS_CHUNK_COUNT,
  DC_STATISTICS_CHANNELS_MISSING,
  DC_STATISTICS_SKIPPED,
  /* summary offsets and footer */
  DC_SUMMARY_OFFSET_START,
  DC_SUMMARY_OFFSET_OPCODE,
  DC_SUMMARY_OFFSET_LENGTH,
  DC_DUPLICATE_SUMMARY_OFFSET,
  DC_SUMMARY_GROUP_SPLIT,
  DC_FOOTER_SUMMARY_START,
  DC_FOOTER_SUMMARY_OFFSET_START,
  /* strings */
  DC_UTF8_INVALID,
  /* bookkeeping */
  DC_FINDINGS_OMITTED,
  DC__COUNT
};

/* Indexed by enum dc_code (doctor.c). */
extern const pl_doctor_code pl__doctor_codes[DC__COUNT];

#define NO_CHUNK UINT32_MAX

/* A growable array of fixed-size elements. */
struct dvec {
  void *p;
  size_t n, cap, elem;
};

/* One Chunk record of the data section. */
struct dr_chunk {
  uint64_t offset, length; /* record offset and 9 + content length */
  uint64_t start, end;     /* declared message time range */
  uint64_t compressed_size, uncompressed_size;
  uint64_t compression_hash;
  uint64_t mi_length; /* bytes of the MessageIndex records right after it */
  uint32_t mi_first;  /* its MessageIndex records: d->mis[mi_first .. + mi_count) */
  uint32_t mi_count;
  uint32_t n_index;     /* ChunkIndex records pointing at it */
  uint8_t readable;     /* contents decompressed and walked to the end */
  char compression[15]; /* for messages; NUL-terminated, cut at 14 bytes */
};

/* One MessageIndex record that followed a chunk. */
struct dr_mi {
  uint64_t offset;
  uint32_t chunk;
  uint16_t channel;
};

/* One message of the open chunk (offset within the decompressed records). */
struct dr_msg {
  uint64_t offset;
  uint64_t log_time;
  uint16_t channel;
  uint8_t indexed;
};

/* One Attachment record of the data section. */
struct dr_att {
  uint64_t offset, length, log_time, create_time, data_size;
  uint64_t name_hash, media_type_hash;
  uint32_t n_index;
};

/* One Metadata record of the data section. */
struct dr_meta {
  uint64_t offset, length, name_hash;
  uint32_t n_index;
};

/* A summary Channel naming a schema not defined before it: indexed readers read the whole
 * summary first, so a Schema later in the summary still counts (checked at the end). */
struct dr_late {
  uint64_t offset;
  uint16_t channel, schema;
};

/* One record of the summary or summary-offset section. */
struct dr_sum {
  uint64_t offset, length;
  uint8_t opcode;
};

enum {
  SF_DATA = 1,        /* defined in the data section */
  SF_SUMMARY = 2,     /* repeated in the summary section */
  SF_DUP_WARNED = 4,  /* duplicate-* reported */
  SF_IN_CHUNK = 8,    /* (channels) has messages inside chunks */
  SF_DIFF_WARNED = 16 /* conflict reported */
};

struct dr_schema {
  uint64_t name_hash, encoding_hash, data_hash;
  uint8_t flags;
  uint8_t listed; /* in used_schemas */
};

struct dr_channel {
  uint64_t topic_hash, encoding_hash, metadata_hash;
  uint64_t messages;     /* in the whole file */
  uint32_t mi_chunk;     /* chunk number + 1 of the last MessageIndex seen for it */
  uint32_t cur_chunk;    /* chunk number + 1 that cur_* refer to */
  uint64_t cur_messages; /* messages in that chunk */
  uint64_t cur_indexed;  /* of those, found in its MessageIndex */
  uint16_t schema_id;
  uint8_t flags;
  uint8_t listed; /* in used_channels */
};

enum section { SEC_DATA, SEC_SUMMARY, SEC_SUMMARY_OFFSETS };

/* A source wrapper that remembers the leading bytes it served. */
struct dr_tap {
  mcap_source inner;
  uint8_t head[8];
  uint32_t head_len;
};

struct pl_feed;

struct doctor {
  pl_doctor_options o;
  pl_doctor_report *rep;
  size_t kept_per_code[DC__COUNT];
  size_t per_code_cap;
  size_t omitted;
  int fatal_oom; /* an allocation failed: the run fails with PL_ENOMEM */

  struct dr_tap tap;
  mcap_decompressor *dec;
  struct pl_feed *feed;  /* chunks another pass decompressed already, or NULL */
  uint8_t *cbuf;         /* decompressed chunk records, reused */
  size_t cbuf_cap;

  /* position in the file */
  enum section section;
  int saw_header, saw_data_end, saw_footer;
  int implicit_summary;                 /* the summary began without a DataEnd */
  uint64_t data_end_next;               /* offset right after DataEnd */
  uint64_t first_summary_offset;        /* first record after the data section; UINT64_MAX = none */
  uint64_t first_summary_offset_record; /* first SummaryOffset; UINT64_MAX = none */
  uint32_t data_crc, summary_crc;
  uint8_t last_opcode; /* previous top-level record */

  /* Schemas and channels by id: 65,536 entries each (6 MiB), reserved with mmap so that
   * only the pages of ids in use are ever touched (calloc zeroed all of it, and the checks
   * walked every id: three quarters of the doctor's time on a 14 KB file). The ids in use
   * are listed in `used`, in the order first seen; entries are reached through
   * pl__doctor_schema_at / pl__doctor_channel_at, which keep that list. */
  struct dr_schema *schemas;
  struct dr_channel *channels;
  struct dvec used_schemas, used_channels; /* uint16_t ids */

  /* messages */
  uint64_t messages, top_level_messages, first_top_level_message;
  uint64_t min_log_time, max_log_time; /* over all messages seen */
  uint64_t min_nonzero_log_time;       /* smallest log time > 0, or 0 */
  int order_warned;
  int outside_chunk_warned;
  /* Some chunk could not be walked: message counts are partial and schema/channel
   * definitions may be missing, so the checks that depend on them are skipped. */
  int contents_incomplete;

  /* data-section records remembered for the summary checks */
  struct dvec chunks, mis, atts, metas, sums;
  struct dvec late_schema;  /* struct dr_late: summary Channels whose schema came later */
  uint32_t open_chunk;      /* chunk whose MessageIndex records may follow, or NO_CHUNK */
  struct dvec msgs;         /* messages of open_chunk */
  struct dvec cur_channels; /* uint16 ids with messages in open_chunk */
  uint64_t chunks_without_mi;
  uint64_t chunks_with_messages;

  /* summary */
  uint64_t n_chunk_index, n_attachment_index, n_metadata_index;
  uint64_t n_schemas, n_channels; /* distinct ids defined anywhere */
  uint64_t n_channels_summary_before_stats;
  uint64_t n_channels_summary;
  int have_stats;
  uint64_t stats_offset;
  mcap_statistics stats; /* views cleared; the map lives in stats_map */
  uint8_t *stats_map;
  uint32_t stats_map_len;
  uint8_t so_seen[256]; /* SummaryOffset per group opcode */
};

/* ---- doctor.c */
void pl__doctor_add(struct doctor *d, enum dc_code code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int pl__dvec_push(struct doctor *d, struct dvec *v, const void *elem);
/* The entry of a schema or channel id, listed among the used ids on first use. */
struct dr_schema *pl__doctor_schema_at(struct doctor *d, uint16_t id);
struct dr_channel *pl__doctor_channel_at(struct doctor *d, uint16_t id);
/* The used ids in ascending order (sorted in place); *n gets their count. */
const uint16_t *pl__doctor_used_ids(struct dvec *v, size_t *n);
uint64_t pl__doctor_fnv(const void *p, size_t n);
uint64_t pl__hash_str(mcap_str s);
/* A printable copy of at most 48 bytes of s for a message. Returns buf. */
const char *pl__printable(char *buf, size_t cap, mcap_str s);
/* Report utf8-invalid unless s is valid UTF-8. */
void pl__check_utf8(struct doctor *d, mcap_str s, const char *what, uint64_t offset);
void pl__check_utf8_map(struct doctor *d, const mcap_map *m, const char *what, uint64_t offset);
void pl__doctor_schema(struct doctor *d, const mcap_schema *s, uint64_t offset, int in_chunk);
void pl__doctor_channel(struct doctor *d, const mcap_channel *c, uint64_t offset, int in_chunk);
void pl__doctor_message(struct doctor *d, const mcap_message *m, uint64_t offset, int in_chunk);

/* ---- doctor_chunk.c */
void pl__doctor_chunk(struct doctor *d, const mcap_record *rec);
void pl__doctor_message_index(struct doctor *d, const mcap_record *rec);
/* The MessageIndex records of the open chunk are over: check coverage, close it. */
void pl__doctor_close_chunk(struct doctor *d);

/* ---- doctor_summary.c */
void pl__doctor_chunk_index(struct doctor *d, const mcap_record *rec);
void pl__doctor_attachment_index(struct doctor *d, const mcap_record *rec);
void pl__doctor_metadata_index(struct doctor *d, const mcap_record *rec);
void pl__doctor_statistics(struct doctor *d, const mcap_record *rec);
void pl__doctor_summary_offset(struct doctor *d, const mcap_record *rec);
void pl__doctor_footer(struct doctor *d, const mcap_record *rec);
/* The checks that need the whole file (statistics, index coverage, summary repeats);
 * `complete` when the pass reached the end of the input (not stopped by a fatal finding). */
void pl__doctor_finish(struct doctor *d, int complete);

#endif /* PIPELINE_DOCTOR_INTERNAL_H */
