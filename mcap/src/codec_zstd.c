/*
 * codec_zstd.c - the "zstd" chunk codec (Zstandard frames). Decompression is one-shot
 * (ZSTD_decompressDCtx) into the caller's exact-size buffer; it accepts several concatenated
 * frames, skippable frames and frames without a content-size field, and zstd checks each
 * frame's content size and checksum. Readers never ask zstd for progress pieces: decoding
 * block by block with the CRC beside it was measured slower than one-shot decoding followed
 * by the CRC (see mcap__chunk_decompress_crch), so there is no block-by-block path.
 */
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

static int zstd_decompress(struct mcap_codec_ctx *c, const uint8_t *src, size_t src_len,
                           uint8_t *dst, size_t dst_len, uint64_t offset, mcap_error_info *err) {
  uint8_t dummy = 0;
  uint8_t *to = dst_len ? dst : &dummy; /* never NULL, even for zero lengths */
  if (!c->zstd_d) {
    c->zstd_d = ZSTD_createDCtx();
    if (!c->zstd_d) {
      return mcap__codec_err(err, MCAP_ENOMEM, offset, "out of memory creating a zstd decoder");
    }
  }
  size_t r =
      ZSTD_decompressDCtx(c->zstd_d, to, dst_len, src_len ? (const void *)src : &dummy, src_len);
  if (ZSTD_isError(r)) {
    if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
      return mcap__codec_err(err, MCAP_EDECOMPRESS_SIZE, offset,
                             "zstd data decompresses to more than the declared uncompressed "
                             "size %zu",
                             dst_len);
    }
    return mcap__codec_err(err, MCAP_EDECOMPRESS, offset, "zstd decompression failed: %s",
                           ZSTD_getErrorName(r));
  }
  if (r != dst_len) {
    return mcap__codec_err(err, MCAP_EDECOMPRESS_SIZE, offset,
                           "zstd data decompressed to %zu bytes, declared uncompressed size %zu",
                           r, dst_len);
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
