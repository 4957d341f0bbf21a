/*
 * codec_zstd.c - the "zstd" chunk codec (Zstandard frames). Decompression runs
 * block by block (zstd's buffer-less streaming: ZSTD_decompressBegin,
 * ZSTD_nextSrcSizeToDecompress, ZSTD_decompressContinue) straight into the
 * caller's exact-size buffer when the caller wants progress reports (each
 * block, at most 128 KiB), else one-shot (ZSTD_decompressDCtx). Both accept
 * several concatenated frames, skippable frames and frames without a
 * content-size field, and zstd checks each frame's content size and checksum.
 * The streaming functions are in
 * zstd's "static linking only" section; they have been stable since 1.3.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

static int zstd_fail(size_t r, size_t dst_len, size_t in, uint64_t offset, mcap_error_info *err) {
  if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
    return mcap__codec_err(err, MCAP_EDECOMPRESS_SIZE, offset,
                           "zstd data decompresses to more than the declared uncompressed "
                           "size %zu",
                           dst_len);
  }
  return mcap__codec_err(err, MCAP_EDECOMPRESS, offset,
                         "zstd decompression failed at compressed byte %zu: %s", in,
                         ZSTD_getErrorName(r));
}

static int zstd_decompress(struct mcap_codec_ctx *c, const uint8_t *src, size_t src_len,
                           uint8_t *dst, size_t dst_len, uint64_t offset, mcap_error_info *err) {
  uint8_t dummy = 0;
  uint8_t *to = dst_len ? dst : &dummy; /* never NULL, even for zero lengths */
  size_t in = 0, out = 0, r;
  if (!c->zstd_d) {
    c->zstd_d = ZSTD_createDCtx();
    if (!c->zstd_d) {
      return mcap__codec_err(err, MCAP_ENOMEM, offset, "out of memory creating a zstd decoder");
    }
  }
  if (!c->progress) {
    /* One-shot when nobody waits for pieces: readers do not use the block-by-block path
     * for zstd (see mcap__chunk_decompress_crch). */
    r = ZSTD_decompressDCtx(c->zstd_d, to, dst_len, src_len ? (const void *)src : &dummy, src_len);
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
        return zstd_fail(r, dst_len, 0, offset, err);
      }
      return mcap__codec_err(err, MCAP_EDECOMPRESS, offset, "zstd decompression failed: %s",
                             ZSTD_getErrorName(r));
    }
    out = r;
    in = src_len;
  }
  while (in < src_len) { /* a frame */
    r = ZSTD_decompressBegin(c->zstd_d);
    if (ZSTD_isError(r)) return zstd_fail(r, dst_len, in, offset, err);
    for (;;) {
      size_t need = ZSTD_nextSrcSizeToDecompress(c->zstd_d);
      if (need == 0) break; /* the frame is complete */
      if (need > src_len - in) {
        return mcap__codec_err(err, MCAP_EDECOMPRESS, offset,
                               "zstd data ends inside a frame after %zu compressed bytes",
                               src_len);
      }
      r = ZSTD_decompressContinue(c->zstd_d, to + out, dst_len - out, src + in, need);
      if (ZSTD_isError(r)) return zstd_fail(r, dst_len, in, offset, err);
      if (r > dst_len - out) { /* zstd never writes past the capacity it is given */
        return zstd_fail((size_t)-ZSTD_error_dstSize_tooSmall, dst_len, in, offset, err);
      }
      in += need;
      out += r;
      if (r && c->progress) c->progress(c->progress_arg, out);
    }
  }
  if (out != dst_len) {
    return mcap__codec_err(err, MCAP_EDECOMPRESS_SIZE, offset,
                           "zstd data decompressed to %zu bytes, declared uncompressed size %zu",
                           out, dst_len);
  }
  return MCAP_OK;
}

static int zstd_compress(struct mcap_codec_ctx *c, int level, const uint8_t *src, size_t src_len,
                         struct mcap_buf *out, mcap_error_info *err) {
  uint8_t dummy = 0;
  size_t bound, r;
  int rc;
  if (!c->zstd_c) {
    c->zstd_c = ZSTD_createCCtx();
    if (!c->zstd_c) {
      return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory creating a zstd encoder");
    }
  }
  bound = ZSTD_compressBound(src_len);
  if (ZSTD_isError(bound) || bound == 0) {
    return mcap__err(err, MCAP_ELIMIT, UINT64_MAX, "%zu bytes are too many for one zstd frame",
                     src_len);
  }
  rc = mcap__codec_reserve(out, bound, "zstd", err);
  if (rc) return rc;
  r = ZSTD_compressCCtx(c->zstd_c, out->data + out->len, bound, src_len ? (const void *)src : &dummy,
                        src_len, level ? level : ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(r)) {
    return mcap__err(err, MCAP_ECOMPRESS, UINT64_MAX, "zstd compression failed: %s",
                     ZSTD_getErrorName(r));
  }
  out->len += r;
  return MCAP_OK;
}

static void zstd_release(struct mcap_codec_ctx *c) {
  ZSTD_freeDCtx(c->zstd_d);
  ZSTD_freeCCtx(c->zstd_c);
  c->zstd_d = NULL;
  c->zstd_c = NULL;
}

void mcap__codec_zstd_levels(int *min, int *max) {
  *min = ZSTD_minCLevel();
  *max = ZSTD_maxCLevel();
}

const struct mcap_codec mcap__codec_zstd = {"zstd", zstd_decompress, zstd_compress, zstd_release};
