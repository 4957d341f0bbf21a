/*
 * codec.c - chunk compression dispatch: the codec table, the reusable codec
 * context, mcap__codec_{id,decompress,compress} (internal.h), and the public
 * helpers mcap_decompressor_*, mcap_chunk_decompress and mcap_compression_*.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

static const struct mcap_codec *const codecs[MCAP__CODEC_COUNT] = {
    [MCAP__CODEC_NONE] = &mcap__codec_none,
    [MCAP__CODEC_ZSTD] = &mcap__codec_zstd,
    [MCAP__CODEC_LZ4] = &mcap__codec_lz4,
};

int mcap__codec_err(mcap_error_info *err, int code, uint64_t offset, const char *fmt, ...) {
  char msg[sizeof err->msg];
  va_list ap;
  if (!err) return code;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (offset == UINT64_MAX) return mcap__err(err, code, offset, "%s", msg);
  return mcap__err(err, code, offset, "chunk at offset %llu: %s", (unsigned long long)offset, msg);
}

int mcap__codec_reserve(struct mcap_buf *out, size_t extra, const char *codec,
                        mcap_error_info *err) {
  int rc = mcap__buf_reserve(out, extra);
  if (rc == MCAP_ELIMIT) {
    return mcap__err(err, rc, UINT64_MAX,
                     "%s output of up to %zu bytes exceeds the buffer limit", codec, extra);
  }
  if (rc) {
    return mcap__err(err, rc, UINT64_MAX, "out of memory for %zu bytes of %s output", extra,
                     codec);
  }
  return MCAP_OK;
}

int mcap__codec_ctx_new(struct mcap_codec_ctx **out) {
  if (!out) return MCAP_EINVAL;
  *out = mcap__calloc(1, sizeof **out);
  return *out ? MCAP_OK : MCAP_ENOMEM;
}

void mcap__codec_ctx_free(struct mcap_codec_ctx *c) {
  if (!c) return;
  for (int i = 0; i < MCAP__CODEC_COUNT; i++) codecs[i]->release(c);
  mcap__free(c);
}

int mcap__codec_id(mcap_str compression) {
  for (int i = 0; i < MCAP__CODEC_COUNT; i++) {
    size_t n = strlen(codecs[i]->name);
    if (compression.len == n &&
        (n == 0 || (compression.data && memcmp(compression.data, codecs[i]->name, n) == 0))) {
      return i;
    }
  }
  return -1;
}

int mcap__codec_decompress(struct mcap_codec_ctx *c, int codec, const uint8_t *src,
                           uint64_t src_len, uint8_t *dst, uint64_t dst_len, uint64_t offset,
                           mcap_error_info *err) {
  if (!c || (!src && src_len) || (!dst && dst_len)) {
    return mcap__err(err, MCAP_EINVAL, offset, "invalid argument to chunk decompression");
  }
  if (codec < 0 || codec >= MCAP__CODEC_COUNT) {
    return mcap__codec_err(err, MCAP_ECOMPRESSION, offset, "unsupported compression (codec %d)",
                           codec);
  }
  if (src_len > SIZE_MAX || dst_len > SIZE_MAX) {
    return mcap__codec_err(err, MCAP_ELIMIT, offset, "chunk too large for this platform");
  }
  return codecs[codec]->decompress(c, src, (size_t)src_len, dst, (size_t)dst_len, offset, err);
}

int mcap__codec_compress(struct mcap_codec_ctx *c, int codec, int level, const uint8_t *src,
                         size_t src_len, struct mcap_buf *out, mcap_error_info *err) {
  if (!c || !out || (!src && src_len)) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "invalid argument to chunk compression");
  }
  if (codec < 0 || codec >= MCAP__CODEC_COUNT) {
    return mcap__err(err, MCAP_ECOMPRESSION, UINT64_MAX, "unsupported compression (codec %d)",
                     codec);
  }
  return codecs[codec]->compress(c, level, src, src_len, out, err);
}

/* ------------------------------------------------------------ public helpers */

struct mcap_decompressor {
  struct mcap_codec_ctx ctx;
};

int mcap_decompressor_new(mcap_decompressor **out) {
  if (!out) return MCAP_EINVAL;
  *out = mcap__calloc(1, sizeof **out);
  return *out ? MCAP_OK : MCAP_ENOMEM;
}

void mcap_decompressor_free(mcap_decompressor *d) {
  if (!d) return;
  for (int i = 0; i < MCAP__CODEC_COUNT; i++) codecs[i]->release(&d->ctx);
  mcap__free(d);
}

/* Copy at most 64 bytes of an untrusted string for a message, '?' for anything unprintable. */
static void printable(char *dst, size_t cap, mcap_str s) {
  size_t n = 0;
  for (uint32_t i = 0; i < s.len && n + 4 < cap && i < 64; i++) {
    unsigned char ch = (unsigned char)s.data[i];
    dst[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (s.len > 64 && n + 4 < cap) {
    memcpy(dst + n, "...", 3);
    n += 3;
  }
  dst[n] = '\0';
}

int mcap_chunk_size_possible(const mcap_chunk *ck) {
  return ck && (ck->uncompressed_size <= 64 || ck->uncompressed_size / 131072 <= ck->records.len);
}

int mcap_chunk_size_check(const mcap_chunk *ck, uint64_t offset, uint64_t limit,
                          mcap_error_info *err) {
  if (!ck) return mcap__err(err, MCAP_EINVAL, offset, "invalid argument to mcap_chunk_size_check");
  if (limit > SIZE_MAX) limit = SIZE_MAX;
  if (ck->uncompressed_size > limit) {
    return mcap__err(err, MCAP_ELIMIT, offset,
                     "Chunk record at offset %llu: uncompressed size %llu exceeds the limit %llu",
                     (unsigned long long)offset, (unsigned long long)ck->uncompressed_size,
                     (unsigned long long)limit);
  }
  if (!mcap_chunk_size_possible(ck)) {
    return mcap__err(err, MCAP_ERECORD, offset,
                     "Chunk record at offset %llu: uncompressed size %llu is impossible for %llu "
                     "compressed bytes",
                     (unsigned long long)offset, (unsigned long long)ck->uncompressed_size,
                     (unsigned long long)ck->records.len);
  }
  return MCAP_OK;
}

int mcap__chunk_stored(const mcap_chunk *ck) {
  return ck->compression.len == 0 && ck->records.len == ck->uncompressed_size;
}

int mcap__chunk_crc_result(uint32_t stored, uint32_t computed, mcap_error_info *err) {
  if (computed == stored) return MCAP_OK;
  return mcap__err(err, MCAP_ECRC, UINT64_MAX, "CRC mismatch: stored 0x%08x, computed 0x%08x",
                   (unsigned)stored, (unsigned)computed);
}

int mcap__chunk_crc_check(const mcap_chunk *ck, const uint8_t *records, int no_crc,
                          mcap_error_info *err) {
  if (no_crc || ck->uncompressed_crc == 0) return MCAP_OK;
  return mcap__chunk_crc_result(ck->uncompressed_crc,
                                mcap_crc32(0, records, (size_t)ck->uncompressed_size), err);
}

int mcap__chunk_crc_check_crch(const mcap_chunk *ck, const uint8_t *records, int no_crc,
                               struct mcap__crch *crc, mcap_error_info *err) {
  size_t len = (size_t)ck->uncompressed_size, mid;
  uint32_t own;
  if (!crc || no_crc || ck->uncompressed_crc == 0 || len < (256u << 10)) {
    return mcap__chunk_crc_check(ck, records, no_crc, err);
  }
  /* Both threads at once: the helper from the front, this one from the middle. */
  mid = len / 2;
  mcap__crch_fill_whole(crc, records, mid);
  own = mcap_crc32(0, records + mid, len - mid);
  return mcap__chunk_crc_result(ck->uncompressed_crc, mcap__crch_fill_end(crc, len, mid, own), err);
}

static void progress_to_helper(void *arg, size_t done) { mcap__crch_fill_advance(arg, done); }

int mcap_chunk_decompress(mcap_decompressor *d, const mcap_chunk *chunk, uint8_t *dst,
                          uint64_t dst_len, int no_crc, mcap_error_info *err) {
  return mcap__chunk_decompress_crch(d, chunk, dst, dst_len, no_crc, NULL, err);
}

int mcap__chunk_decompress_crch(mcap_decompressor *d, const mcap_chunk *chunk, uint8_t *dst,
                                uint64_t dst_len, int no_crc, struct mcap__crch *crc,
                                mcap_error_info *err) {
  struct mcap_codec_ctx tmp = {0};
  struct mcap_codec_ctx *ctx = d ? &d->ctx : &tmp;
  int codec, rc, piped;

  if (!chunk || (!dst && dst_len) || (!chunk->records.data && chunk->records.len) ||
      (!chunk->compression.data && chunk->compression.len)) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "invalid argument to mcap_chunk_decompress");
  }
  if (dst_len != chunk->uncompressed_size) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX,
                     "output buffer of %llu bytes for a chunk of uncompressed size %llu",
                     (unsigned long long)dst_len, (unsigned long long)chunk->uncompressed_size);
  }
  codec = mcap__codec_id(chunk->compression);
  if (codec < 0) {
    char name[80];
    printable(name, sizeof name, chunk->compression);
    return mcap__err(err, MCAP_ECOMPRESSION, UINT64_MAX, "unsupported compression '%s'", name);
  }
  /* With a helper, the CRC of what is decoded runs beside the rest of the decoding. */
  /* Not for zstd: the 1-thread zstd read decoding block by block with the CRC on the
   * helper took 2.03-3.11 s for 1 GiB against 1.68-1.91 s for one-shot decoding with the
   * CRC after it (paired runs, 'written' page cache); the CRC is a few % of zstd's time. */
  piped = crc && !no_crc && chunk->uncompressed_crc != 0 && dst_len >= (64u << 10) &&
          codec != MCAP__CODEC_ZSTD;
  if (piped) {
    mcap__crch_fill_begin(crc, dst);
    ctx->progress = progress_to_helper;
    ctx->progress_arg = crc;
  }
  rc = mcap__codec_decompress(ctx, codec, chunk->records.data, chunk->records.len, dst, dst_len,
                              UINT64_MAX, err);
  ctx->progress = NULL;
  ctx->progress_arg = NULL;
  if (!d) {
    for (int i = 0; i < MCAP__CODEC_COUNT; i++) codecs[i]->release(&tmp);
  }
  if (piped) {
    if (rc) {
      mcap__crch_fill_abort(crc);
      return rc;
    }
    return mcap__chunk_crc_result(chunk->uncompressed_crc,
                                  mcap__crch_fill_end(crc, (size_t)dst_len, (size_t)dst_len, 0),
                                  err);
  }
  if (rc) return rc;
  return mcap__chunk_crc_check(chunk, dst, no_crc, err);
}

const char *mcap_compression_name(mcap_compression c) {
  switch (c) {
    case MCAP_COMPRESSION_DEFAULT: return "zstd";
    case MCAP_COMPRESSION_NONE: return "";
    case MCAP_COMPRESSION_ZSTD: return "zstd";
    case MCAP_COMPRESSION_LZ4: return "lz4";
  }
  return NULL;
}

int mcap_compression_levels(mcap_compression c, int *min, int *max) {
  int lo = 1, hi = 0; /* none: no level */
  switch (c) {
    case MCAP_COMPRESSION_DEFAULT:
    case MCAP_COMPRESSION_ZSTD:
      mcap__codec_zstd_levels(&lo, &hi);
      break;
    case MCAP_COMPRESSION_LZ4:
      lo = 1;
      hi = 12; /* LZ4HC_CLEVEL_MAX; lz4frame clamps anything above it */
      break;
    case MCAP_COMPRESSION_NONE:
      break;
    default:
      return MCAP_EINVAL;
  }
  if (min) *min = lo;
  if (max) *max = hi;
  return MCAP_OK;
}

int mcap_compression_parse(const char *name, mcap_compression *out) {
  mcap_compression c;
  if (!name || !out) return MCAP_EINVAL;
  if (strcmp(name, "") == 0 || strcmp(name, "none") == 0) {
    c = MCAP_COMPRESSION_NONE;
  } else if (strcmp(name, "zstd") == 0) {
    c = MCAP_COMPRESSION_ZSTD;
  } else if (strcmp(name, "lz4") == 0) {
    c = MCAP_COMPRESSION_LZ4;
  } else {
    return MCAP_EINVAL;
  }
  *out = c;
  return MCAP_OK;
}
