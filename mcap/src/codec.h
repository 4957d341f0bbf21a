/*
 * codec.h - the chunk codecs behind mcap__codec_* (internal.h): one table entry
 * per compression, each implemented in codec_<name>.c. Only the codec_*.c files
 * include zstd.h / lz4frame.h; the contexts are named here by struct tag only.
 *
 * A codec's decompress fills exactly dst_len bytes or fails: it never writes at
 * or past dst + dst_len, and it reports data that decodes to any other size as
 * MCAP_EDECOMPRESS_SIZE. compress appends one complete compressed body to `out`.
 */
#ifndef MCAP_CODEC_H
#define MCAP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Codec ids, as returned by mcap__codec_id(). */
enum { MCAP__CODEC_NONE = 0, MCAP__CODEC_ZSTD = 1, MCAP__CODEC_LZ4 = 2, MCAP__CODEC_COUNT = 3 };

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
struct LZ4F_cctx_s;
struct LZ4F_dctx_s;

/* Reusable codec state of one reader or writer; each context is created on first use. */
struct mcap_codec_ctx {
  struct ZSTD_DCtx_s *zstd_d;
  struct ZSTD_CCtx_s *zstd_c;
  struct LZ4F_dctx_s *lz4_d;
  struct LZ4F_cctx_s *lz4_c;
  /* Optional: while a decompress call runs, told (in order, growing) how many bytes at the
   * start of dst are final, every 64-128 KiB or so; lets another thread check the CRC of
   * what is done while the rest decodes. NULL: not called. Only "none" and lz4 report; zstd
   * decodes in one shot and ignores it (block-by-block decoding measured slower). */
  void (*progress)(void *arg, size_t done);
  void *progress_arg;
};

struct mcap_codec {
  const char *name; /* Chunk.compression string */
  /* Sizes already checked to fit size_t. `offset` is the chunk's file offset
   * (UINT64_MAX if unknown), for messages. */
  int (*decompress)(struct mcap_codec_ctx *c, const uint8_t *src, size_t src_len, uint8_t *dst,
                    size_t dst_len, uint64_t offset, mcap_error_info *err);
  int (*compress)(struct mcap_codec_ctx *c, int level, const uint8_t *src, size_t src_len,
                  struct mcap_buf *out, mcap_error_info *err);
  void (*release)(struct mcap_codec_ctx *c); /* free this codec's contexts */
};

/* zstd's level range (ZSTD_minCLevel .. ZSTD_maxCLevel), from the only file that includes zstd.h. */
void mcap__codec_zstd_levels(int *min, int *max);

extern const struct mcap_codec mcap__codec_none;
extern const struct mcap_codec mcap__codec_zstd;
extern const struct mcap_codec mcap__codec_lz4;

/*
 * mcap__err() with a "chunk at offset N: " prefix (no prefix when offset is
 * UINT64_MAX: callers that know the chunk add their own).
 */
int mcap__codec_err(mcap_error_info *err, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Room for `extra` more bytes in out, with a message on failure. */
int mcap__codec_reserve(struct mcap_buf *out, size_t extra, const char *codec,
                        mcap_error_info *err);

#endif
