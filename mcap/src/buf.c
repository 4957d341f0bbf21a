/*
 * buf.c - struct mcap_buf, a growable byte buffer with a hard maximum.
 */
#include <string.h>

#include "internal.h"

int mcap__buf_ensure(struct mcap_buf *b, size_t n) {
  size_t max = b->max ? b->max : SIZE_MAX;
  if (n <= b->cap) return MCAP_OK;
  if (n > max) return MCAP_ELIMIT;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < n) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
  if (cap > max) cap = max;
  uint8_t *p = mcap__realloc(b->data, cap);
  if (!p) return MCAP_ENOMEM;
  b->data = p;
  b->cap = cap;
  return MCAP_OK;
}

int mcap__buf_reserve(struct mcap_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len) return MCAP_ELIMIT;
  return mcap__buf_ensure(b, b->len + extra);
}

int mcap__buf_append(struct mcap_buf *b, const void *p, size_t n) {
  int rc = mcap__buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return MCAP_OK;
}

void mcap__buf_dispose(struct mcap_buf *b) {
  mcap__free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int mcap__grow_array(void **arr, size_t *cap, size_t need, size_t elem) {
  size_t c = *cap ? *cap : 16;
  void *p;
  if (need <= *cap) return MCAP_OK;
  while (c < need) {
    if (c > SIZE_MAX / 2) return MCAP_ELIMIT;
    c *= 2;
  }
  if (elem && c > SIZE_MAX / elem) return MCAP_ELIMIT;
  p = mcap__realloc(*arr, c * elem);
  if (!p) return MCAP_ENOMEM;
  *arr = p;
  *cap = c;
  return MCAP_OK;
}
