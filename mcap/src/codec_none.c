/*
 * codec_none.c - the "" (uncompressed) chunk codec: records are stored as is.
 */
#include <string.h>

#include "codec.h"

#define NONE_PIECE ((size_t)64 << 10)

static int none_decompress(struct mcap_codec_ctx *c, const uint8_t *src, size_t src_len,
                           uint8_t *dst, size_t dst_len, uint64_t offset, mcap_error_info *err) {
  if (src_len != dst_len) {
    return mcap__codec_err(err, MCAP_EDECOMPRESS_SIZE, offset,
                           "uncompressed chunk holds %zu bytes, declared uncompressed size %zu",
                           src_len, dst_len);
  }
  if (!c->progress) {
    if (dst_len) memcpy(dst, src, dst_len);
    return MCAP_OK;
  }
  /* In pieces, each reported while it is still in cache for whoever checks its CRC. */
  for (size_t done = 0; done < dst_len;) {
    size_t n = dst_len - done < NONE_PIECE ? dst_len - done : NONE_PIECE;
    memcpy(dst + done, src + done, n);
    done += n;
    c->progress(c->progress_arg, done);
  }
  return MCAP_OK;
}

static int none_compress(struct mcap_codec_ctx *c, int level, const uint8_t *src, size_t src_len,
                         struct mcap_buf *out, mcap_error_info *err) {
  (void)c;
  (void)level;
  int rc = mcap__codec_reserve(out, src_len, "uncompressed", err);
  if (rc) return rc;
  if (src_len) memcpy(out->data + out->len, src, src_len);
  out->len += src_len;
  return MCAP_OK;
}

static void none_release(struct mcap_codec_ctx *c) {
  (void)c;
}

const struct mcap_codec mcap__codec_none = {"", none_decompress, none_compress, none_release};
