/*
 * internal.h - declarations shared by libmcap's source files (mcap__ prefix).
 * Not installed, not for users.
 *
 * Invariants:
 * - struct mcap_cursor {p, left}: every read checks `left` first; on a short
 *   read the cursor fails with MCAP_ERECORD naming the field, and p/left are
 *   unchanged.
 * - struct mcap_buf: data[0..len) valid, len <= cap <= max; growth beyond
 *   `max` fails with MCAP_ELIMIT instead of allocating.
 */
#ifndef MCAP_INTERNAL_H
#define MCAP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "endian.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- allocation (one place, so tests can count or fail allocations) */
void *mcap__malloc(size_t n);
void *mcap__calloc(size_t n, size_t size);
void *mcap__realloc(void *p, size_t n);
void mcap__free(void *p);

/* ---- overflow-checked arithmetic: return 1 on overflow */
static inline int mcap__add_overflow(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_add_overflow(a, b, out);
}

/* ---- error info helpers */
/* Fill `err` (if non-NULL) and return `code`. */
int mcap__err(mcap_error_info *err, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int mcap__verr(mcap_error_info *err, int code, uint64_t offset, const char *fmt, va_list ap);

/* ---- bounds-checked cursor over untrusted bytes */
struct mcap_cursor {
  const uint8_t *p;
  uint64_t left;
  const char *record;  /* record type name, for messages */
  uint64_t base_offset; /* file offset of the record, for messages */
  uint64_t start_left;  /* content length, to report field offsets */
  mcap_error_info *err;
};

void mcap__cursor_init(struct mcap_cursor *c, const uint8_t *p, uint64_t len, const char *record,
                       uint64_t base_offset, mcap_error_info *err);
int mcap__cursor_u8(struct mcap_cursor *c, const char *field, uint8_t *v);
int mcap__cursor_u16(struct mcap_cursor *c, const char *field, uint16_t *v);
int mcap__cursor_u32(struct mcap_cursor *c, const char *field, uint32_t *v);
int mcap__cursor_u64(struct mcap_cursor *c, const char *field, uint64_t *v);
int mcap__cursor_str(struct mcap_cursor *c, const char *field, mcap_str *v);
int mcap__cursor_bytes32(struct mcap_cursor *c, const char *field, mcap_bytes *v);
int mcap__cursor_bytes64(struct mcap_cursor *c, const char *field, mcap_bytes *v);
int mcap__cursor_map(struct mcap_cursor *c, const char *field, int str_map, mcap_map *v);
int mcap__cursor_rest(struct mcap_cursor *c, mcap_bytes *v);

/* ---- growable buffer with a hard maximum */
struct mcap_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t max; /* 0 = SIZE_MAX */
};
#define MCAP_BUF_INIT {NULL, 0, 0, 0}

/* Make room for `extra` more bytes. MCAP_ENOMEM or MCAP_ELIMIT on failure. */
int mcap__buf_reserve(struct mcap_buf *b, size_t extra);
/* Ensure capacity of at least `n` total bytes (contents kept). */
int mcap__buf_ensure(struct mcap_buf *b, size_t n);
int mcap__buf_append(struct mcap_buf *b, const void *p, size_t n);
void mcap__buf_dispose(struct mcap_buf *b);
/* Grow an array of `elem`-byte items to hold at least `need` (capacity doubles; overflow
 * checked). MCAP_ENOMEM or MCAP_ELIMIT on failure, the array unchanged. */
int mcap__grow_array(void **arr, size_t *cap, size_t need, size_t elem);

/* ---- sources: read n bytes at off as one contiguous view even from a source that hands out
 * pieces (assembled in tmp); *got < n only at the end of input */
int mcap__source_pull(mcap_source *src, struct mcap_buf *tmp, uint64_t off, uint64_t n,
                      const uint8_t **p, uint64_t *got, mcap_error_info *err);

/* Turn on read-ahead for a sequential reader of a file source (mcap_source_open_file):
 * a helper thread maps and faults in the next window. MCAP_OK, MCAP_EUNSUPPORTED for
 * other sources, or MCAP_ENOMEM (then the source works as before). */
int mcap__source_readahead(mcap_source *src);

/* Map [offset, offset + len) of a file source (mcap_source_open_file) for any thread, also
 * while its read is in use, not faulted in (see mcap__source_prefault): *view points at offset;
 * the caller owns the mapping (*base, *base_len) and releases it with mcap__source_unmap.
 * MCAP_EUNSUPPORTED for other sources. */
int mcap__source_map(const mcap_source *src, uint64_t offset, uint64_t len, const uint8_t **view,
                     void **base, size_t *base_len, mcap_error_info *err);
/* Fault in the pages under [p, p + len) of such a mapping (by touching them: see source.c),
 * from any thread; [p, p + len) must lie inside the mapping and the file. */
void mcap__source_prefault(const void *p, size_t len);
void mcap__source_unmap(void *base, size_t len);

/* ---- CRC helper thread (crc_helper.c): a reader's CRCs computed beside it. One owner
 * thread calls these; see crc_helper.c for the protocol. */
struct mcap__crch;
/* Start the helper thread: MCAP_OK or MCAP_ENOMEM (no thread). */
int mcap__crch_new(struct mcap__crch **out);
void mcap__crch_free(struct mcap__crch *h); /* NULL is fine; stops and joins the thread */
/* Segments: one running CRC over a sequence of byte ranges. push waits for the previous
 * segment, then hands [p, p + len) over; the bytes must stay until the next sync. */
void mcap__crch_seg_push(struct mcap__crch *h, const void *p, size_t len);
uint32_t mcap__crch_seg_sync(struct mcap__crch *h); /* wait; the running CRC */
void mcap__crch_seg_set(struct mcap__crch *h, uint32_t crc); /* sync, then set it */
/* Fill: the CRC of buf as the owner fills it. begin, then advance(n) each time
 * buf[0, n) is final, then end(total, own_from, own_crc), where the owner has already
 * computed own_crc over [own_from, total) itself (own_from = total: nothing); end returns
 * the CRC of buf[0, total). abort instead of end when the fill is given up. Only one
 * fill at a time; buf must stay until end or abort returns. */
void mcap__crch_fill_begin(struct mcap__crch *h, const void *buf);
void mcap__crch_fill_advance(struct mcap__crch *h, size_t produced);
uint32_t mcap__crch_fill_end(struct mcap__crch *h, size_t total, size_t own_from,
                             uint32_t own_crc);
void mcap__crch_fill_abort(struct mcap__crch *h);
/* A fill whose bytes buf[0, len) are all final already (begin, then advance(len); the
 * helper can sleep once it is done with them instead of watching for more). Then end or
 * abort as for any fill. */
void mcap__crch_fill_whole(struct mcap__crch *h, const void *buf, size_t len);
/* Observation points for tests that replay a race step by step (never set by the library):
 * helper_read runs on the helper thread each time it has read an open lane (lane 0 fill,
 * 1 segments): the claim offset it read (SIZE_MAX while the lane is closed to claims) and
 * `produced`, before it tries to claim; owner_opening runs on the owner's thread while it
 * opens a lane, after the lane's fields changed and before claims are allowed. Set them
 * before any work is handed over; hooks is copied. */
struct mcap__crch_hooks {
  void (*helper_read)(void *arg, int lane, size_t claimed, size_t produced);
  void (*owner_opening)(void *arg, int lane);
  void *arg;
};
void mcap__crch_set_hooks(struct mcap__crch *h, const struct mcap__crch_hooks *hooks);

/* ---- codecs (codec_*.c); the reader/writer never include codec headers */
struct mcap_codec_ctx; /* per-handle reusable contexts for every codec */
int mcap__codec_ctx_new(struct mcap_codec_ctx **out);
void mcap__codec_ctx_free(struct mcap_codec_ctx *c);
/* Identify a compression string: 0 none, 1 zstd, 2 lz4, -1 unknown. */
int mcap__codec_id(mcap_str compression);
/* A stored chunk: uncompressed, its records exactly its declared size, so they can be
 * used where they lie instead of being copied. */
int mcap__chunk_stored(const mcap_chunk *ck);
/* The chunk CRC over its uncompressed_size bytes of records (not checked when no_crc or
 * the chunk's CRC is 0): MCAP_OK or MCAP_ECRC "CRC mismatch: ..." (no offset prefix). */
int mcap__chunk_crc_check(const mcap_chunk *ck, const uint8_t *records, int no_crc,
                          mcap_error_info *err);
/* A chunk's stored CRC against the one computed: MCAP_OK or MCAP_ECRC with the message
 * mcap__chunk_crc_check gives (no offset prefix). The one place that message is written. */
int mcap__chunk_crc_result(uint32_t stored, uint32_t computed, mcap_error_info *err);
/* mcap_chunk_decompress with the chunk CRC checked by a helper thread (crc: NULL = on this
 * thread) while the chunk decodes. */
int mcap__chunk_decompress_crch(mcap_decompressor *d, const mcap_chunk *chunk, uint8_t *dst,
                                uint64_t dst_len, int no_crc, struct mcap__crch *crc,
                                mcap_error_info *err);
/* mcap__chunk_crc_check of records already in memory, split with a helper thread (the
 * helper takes the first half, this thread the second; crc NULL: all here). */
int mcap__chunk_crc_check_crch(const mcap_chunk *ck, const uint8_t *records, int no_crc,
                               struct mcap__crch *crc, mcap_error_info *err);
/* Decompress exactly dst_len bytes; error if the data decodes to any other size. */
int mcap__codec_decompress(struct mcap_codec_ctx *c, int codec, const uint8_t *src,
                           uint64_t src_len, uint8_t *dst, uint64_t dst_len, uint64_t offset,
                           mcap_error_info *err);
/* Compress src and append to out (out->len grows by the compressed size). */
int mcap__codec_compress(struct mcap_codec_ctx *c, int codec, int level, const uint8_t *src,
                         size_t src_len, struct mcap_buf *out, mcap_error_info *err);

#ifdef __cplusplus
}
#endif

#endif
