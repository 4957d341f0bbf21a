/*
 * rewrite_internal.h - declarations shared by the rewrite engine's files
 * (rewrite.c, rewrite_walk.c, rewrite_sorted.c, rewrite_chunk.c,
 * rewrite_output.c), merge.c and recover.c. Not installed.
 *
 * Pieces:
 * - pl__defs: owned copies of an input's Schema and Channel records by id,
 *   whether from its summary or its data section.
 * - pl__reg: which schema and channel ids a writer has registered, and the
 *   helper that registers a channel (and its schema first) from pl__defs.
 * - pl__sel: topic selection by full-match regular expressions.
 * - pl__chunk_*: reading a Chunk record's fields and walking decompressed
 *   chunk records, building the message index entries a raw copy needs.
 * - pl__rw: the rewrite context shared by the file-order walker
 *   (rewrite_walk.c) and the sorted writer (rewrite_sorted.c).
 *
 * Invariants:
 * - A pl__def's `rec` views point into its own `content` copy.
 * - pl__reg: a channel is marked registered only after its schema (if any)
 *   was; ids are the input's (the rewrite keeps ids).
 */
#ifndef PIPELINE_REWRITE_INTERNAL_H
#define PIPELINE_REWRITE_INTERNAL_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"
#include "pipeline/rewrite.h"

#define PL__IDS 65536

/* Default cap on a chunk's decompressed size and on one record we hold in memory. */
#define PL__MAX_CHUNK (UINT64_C(1) << 30)
/* Largest Header, Schema, Channel or Metadata record accepted (they are held whole). */
#define PL__MAX_SMALL_RECORD (UINT64_C(256) << 20)

/* ----------------------------------------------------------- definitions */

struct pl__def {
  uint8_t *content; /* the record content (owned) */
  uint64_t len;
  mcap_record rec;  /* parsed; views into content */
  int seen;         /* met in the data section (not only in the summary) */
  int from_summary; /* listed in the input's summary */
};

struct pl__defs {
  struct pl__def **schemas;  /* [PL__IDS] */
  struct pl__def **channels; /* [PL__IDS] */
  size_t n_schemas, n_channels;
};

int pl__defs_init(struct pl__defs *d);
void pl__defs_dispose(struct pl__defs *d);

/*
 * Store a Schema or Channel record (rec->opcode tells which; rec->content is
 * copied). @return 0 when new, 1 when an identical one was there already,
 * 2 when one with that id but different content was there (it is kept),
 * PL_ENOMEM.
 */
int pl__defs_put(struct pl__defs *d, const mcap_record *rec);
/* Store a parsed Schema (opcode MCAP_OP_SCHEMA, `s`) or Channel (`c`) by encoding it first. */
int pl__defs_put_parsed(struct pl__defs *d, const mcap_schema *s, const mcap_channel *c);
/* The stored definition of a record kind and id, or NULL. */
struct pl__def *pl__defs_get(const struct pl__defs *d, uint8_t opcode, uint16_t id);
const mcap_schema *pl__defs_schema(const struct pl__defs *d, uint16_t id);
const mcap_channel *pl__defs_channel(const struct pl__defs *d, uint16_t id);
/* Equality of definitions, ids included. */
int pl__schema_equal(const mcap_schema *a, const mcap_schema *b);
int pl__channel_equal(const mcap_channel *a, const mcap_channel *b);

/* ---------------------------------------------------------- registration */

struct pl__reg {
  uint8_t *schema;  /* [PL__IDS] 1 = registered */
  uint8_t *channel; /* [PL__IDS] */
  uint64_t n_schemas, n_channels;
};

int pl__reg_init(struct pl__reg *g);
void pl__reg_dispose(struct pl__reg *g);

/*
 * Make sure channel `id` (and its schema) is registered in `w` under the same
 * ids, from the definitions in `defs`. @return PL_OK; PL_EMCAP when the
 * channel or its schema is unknown, or the writer refused it.
 */
int pl__reg_channel(mcap_writer *w, struct pl__reg *g, const struct pl__defs *defs, uint16_t id,
                    pl_error_info *err);

/* ------------------------------------------------------------- selection */

struct pl__sel {
  regex_t *inc, *exc, *lpc;
  size_t n_inc, n_exc, n_lpc;
};

/* Compile the patterns (anchored: a pattern must match the whole topic). */
int pl__sel_init(struct pl__sel *s, const pl_rewrite_options *o, pl_error_info *err);
void pl__sel_dispose(struct pl__sel *s);
/* 1 when a channel with this topic is kept. */
int pl__sel_keep(const struct pl__sel *s, mcap_str topic);
/* 1 when the topic matches a last-per-channel pattern. */
int pl__sel_lpc(const struct pl__sel *s, mcap_str topic);

/* ---------------------------------------------------------------- chunks */

/*
 * Parse a Chunk record's content; unlike mcap_record_parse this accepts a
 * content that stops inside the records field (a truncated chunk): then
 * `records` holds what is there and *truncated is set.
 * @return 0, or -1 when even the fixed fields are not all there or invalid.
 */
int pl__chunk_parse_partial(const uint8_t *content, uint64_t have, uint64_t declared_len,
                            mcap_chunk *ck, int *truncated);

/* Message index entries of one chunk, per channel, for mcap_writer_write_chunk_raw. */
struct pl__mi {
  struct pl__mi_ent {
    uint16_t channel;
    uint64_t log_time, offset;
  } * ents;
  size_t n, cap;
  struct pl_buf bytes;     /* entries grouped by channel, 16 bytes each */
  mcap_message_index *idx; /* views into bytes, by channel id */
  size_t n_idx, cap_idx;
};

void pl__mi_reset(struct pl__mi *m);
int pl__mi_add(struct pl__mi *m, uint16_t channel, uint64_t log_time, uint64_t offset);
/* Group the entries by channel (ids ascending, record order within); fills idx/n_idx. */
int pl__mi_build(struct pl__mi *m);
void pl__mi_dispose(struct pl__mi *m);

/* ---------------------------------------------------------- misc helpers */

/* Number of online cores (at least 1). */
int pl__cores(void);

/* Compression string of a chunk ("", "zstd", "lz4") as the writer's enum; -1 if unknown. */
int pl__compression_of(mcap_str s, mcap_compression *out);

/*
 * A scratch file in dir, open for writing (the returned fd, which the caller closes when
 * done writing; -1 on error). Unnamed (O_TMPFILE) where possible, so that a killed run
 * leaves nothing behind: *path is then "/proc/self/fd/N" of a descriptor kept open until
 * pl__scratch_release; else a real "dir/PREFIX-XXXXXX". Either way *path reopens it.
 */
int pl__scratch_open(const char *dir, const char *prefix, char **path, pl_error_info *err);

/* Remove a scratch file (close its kept descriptor, or unlink it) and free path; NULL ok. */
void pl__scratch_release(char *path);

/*
 * Copy a stream (standard input) into a scratch file and open it as a file source;
 * *path_out reopens it (release it with pl__scratch_release). @return PL_OK or PL_EIO.
 */
int pl__spool_stdin(const char *tmp_dir, mcap_source *src, char **path_out, pl_error_info *err);

/* Read the 9-byte record envelope at off; *eof: 0 read, 1 the input ends at off, 2 it ends
 * inside the envelope. */
int pl__read_envelope(mcap_source *src, struct pl_buf *tmp, uint64_t off, uint8_t *opcode,
                      uint64_t *len, int *eof, pl_error_info *err);

/* ------------------------------------------------------- rewrite context */

struct pl__lpc_msg {
  mcap_message m; /* data points into `buf` */
  uint8_t *buf;
};

struct pl__rw {
  pl_rewrite_options o;
  pl_rewrite_stats *st;
  pl_error_info *err;
  mcap_sink *sink;
  mcap_writer *w; /* opened on first need (pl__rw_writer) */
  char *profile;  /* the input Header's profile (owned) */
  int have_header;
  struct pl__defs defs; /* the input's definitions */
  struct pl__reg reg;   /* what the output has */
  struct pl__sel sel;
  uint8_t *keep;   /* [PL__IDS] per channel: 0 undecided, 1 keep, 2 drop */
  int threads;     /* resolved */
  int sort_chunks; /* log-time order by the file-order walker: chunks do not overlap in
                      time, so sorting each chunk's messages sorts the file */
  /* last message per channel before start, written first */
  struct pl__lpc_msg *lpc;
  size_t n_lpc;
  int lpc_written;
};

int pl__rw_init(struct pl__rw *rw, const pl_rewrite_options *o, mcap_sink *sink,
                pl_rewrite_stats *st, pl_error_info *err);
void pl__rw_dispose(struct pl__rw *rw);

/* Open the writer if not yet open; `comp` is the input compression to keep when the options
 * leave it to the input (NULL = not known: zstd). */
int pl__rw_writer(struct pl__rw *rw, const mcap_str *comp);

/* 1 if messages of channel `id` are kept (0 when the channel is not known yet). */
int pl__rw_keep_channel(struct pl__rw *rw, uint16_t id);

/* 1 if a log time is inside the bounds. */
int pl__rw_in_range(const struct pl__rw *rw, uint64_t t);

/* Write one kept message (registering its channel first). */
int pl__rw_write_message(struct pl__rw *rw, const mcap_message *m);

/* Write the last-per-channel messages (once). */
int pl__rw_write_lpc(struct pl__rw *rw);

/* Collect the last-per-channel messages with a reverse query over `r`. */
int pl__rw_collect_lpc(struct pl__rw *rw, mcap_reader *r);

/* Register every channel known from the definitions (keep_unused_channels). */
int pl__rw_register_all(struct pl__rw *rw);

/* Finish: close the writer (opening it first if nothing was written). */
int pl__rw_finish(struct pl__rw *rw);

/* Write an attachment whose record starts at `off` in `src` (content length len), streaming
 * its data; CRC checked unless disabled. */
int pl__rw_copy_attachment(struct pl__rw *rw, mcap_source *src, uint64_t off, uint64_t len);

/* A writer failure as a pl_error. */
int pl__werr(mcap_writer *w, int rc, pl_error_info *err, const char *what);

/* Do the reader's chunks follow each other in time, with every message in a chunk? Then its
 * file order, chunk by chunk sorted, is log-time order (rewrite.c). */
int pl__chunks_disjoint(mcap_reader *r);

/* The two engines. */
int pl__rewrite_walk(struct pl__rw *rw, mcap_source *src, mcap_reader *r);
int pl__rewrite_sorted(struct pl__rw *rw, mcap_reader *r, mcap_source *raw);

/*
 * Walk the data section's top-level records by their envelopes (chunks are
 * jumped over), calling `fn` for each Attachment and Metadata record at its
 * offset. Used by the sorted writer and by merge. With `r` (the same file's
 * indexed reader, opened with skip_bad_chunks) damage is not an error: at a
 * record that runs past the end the walk goes on at the next record r's summary
 * indexes, or stops there; r's damage is what the caller reports.
 */
typedef int (*pl__hop_fn)(void *ctx, uint8_t opcode, uint64_t off, uint64_t len);
int pl__hop_records(mcap_source *src, mcap_reader *r, pl__hop_fn fn, void *ctx,
                    pl_error_info *err);

/*
 * Where r's summary (not a scan) knows a record to start after `pos`: chunks,
 * attachments, metadata; UINT64_MAX if none. *chunks and *messages count the
 * chunks indexed in [pos, that offset) and the messages their indexes hold.
 */
uint64_t pl__next_known(mcap_reader *r, uint64_t pos, uint64_t *chunks, uint64_t *messages);

/*
 * Stream an attachment record into a writer (shared by rewrite and merge). With check_crc
 * and `damaged` on a file (not a stream), the CRC is checked before anything is written: a
 * mismatch writes nothing, sets *damaged and says why in err, and returns PL_OK.
 */
int pl__copy_attachment(mcap_writer *w, mcap_source *src, uint64_t off, uint64_t len, int check_crc,
                        int (*keep)(void *ctx, const mcap_attachment *a), void *keep_ctx,
                        int *written, int *damaged, pl_error_info *err);

#endif /* PIPELINE_REWRITE_INTERNAL_H */
