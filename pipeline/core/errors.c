/*
 * errors.c - the pipeline's error texts (pl_strerror) and the small helpers
 * every import file uses: filling a pl_error_info, string copies, growable
 * arrays and buffers, piecewise source reads and finding lists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core.h"

const char *pl_severity_name(pl_severity s) {
  switch (s) {
    case PL_SEV_ERROR:
      return "error";
    case PL_SEV_WARNING:
      return "warning";
    case PL_SEV_INFO:
      return "info";
  }
  return "info";
}

const char *pl_strerror(int code) {
  switch (code) {
    case PL_OK:
      return "success";
    case PL_EINVAL:
      return "invalid argument";
    case PL_ENOMEM:
      return "out of memory";
    case PL_EIO:
      return "file system error";
    case PL_EMCAP:
      return "MCAP error";
    case PL_EPARTIAL:
      return "input could only be read in part";
    case PL_EJSON:
      return "malformed or unexpected JSON";
    case PL_EHTTP:
      return "HTTP error status";
    case PL_ENET:
      return "network error";
    case PL_ETIMEOUT:
      return "timed out";
    case PL_ENOTFOUND:
      return "not found";
    case PL_ECONFLICT:
      return "conflict";
    case PL_EAUTH:
      return "not authorized";
    case PL_EVERIFY:
      return "verification found differences";
    case PL_ECANCELED:
      return "interrupted";
    case PL_EUNAVAILABLE:
      return "a library it needs cannot be loaded";
    default:
      return "unknown error";
  }
}

static int vfill(pl_error_info *err, int code, uint64_t offset, const char *fmt, va_list ap) {
  if (!err) return code;
  memset(err, 0, sizeof *err);
  err->code = code;
  err->offset = offset;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  return code;
}

int pl_error_set(pl_error_info *err, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfill(err, code, offset, fmt, ap);
  va_end(ap);
  return code;
}

void pl_damage_add(mcap_damage *dst, const mcap_damage *src) {
  if (!src->problems) return;
  if (!dst->problems) {
    *dst = *src;
    return;
  }
  dst->problems += src->problems;
  if (src->rest_unread && !dst->rest_unread) {
    dst->rest_unread = 1;
    dst->stop_offset = src->stop_offset;
  }
  dst->bytes_skipped += src->bytes_skipped;
  dst->chunks_skipped += src->chunks_skipped;
  dst->messages_skipped += src->messages_skipped;
}

void pl_damage_one(mcap_damage *dst, const pl_error_info *err, uint64_t offset, uint64_t bytes) {
  mcap_damage one;
  memset(&one, 0, sizeof one);
  one.problems = 1;
  one.code = err && err->mcap_code ? err->mcap_code : MCAP_ERECORD;
  one.first_offset = offset;
  one.bytes_skipped = bytes;
  if (err) snprintf(one.msg, sizeof one.msg, "%.*s", (int)sizeof one.msg - 1, err->msg);
  pl_damage_add(dst, &one);
}

int pl_error_set_mcap(pl_error_info *err, int mcap_code, uint64_t offset, const char *fmt, ...) {
  int code = mcap_code == MCAP_ENOMEM ? PL_ENOMEM : PL_EMCAP;
  va_list ap;
  va_start(ap, fmt);
  vfill(err, code, offset, fmt, ap);
  va_end(ap);
  if (err) err->mcap_code = mcap_code;
  return code;
}

int pl_error_set_errno(pl_error_info *err, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfill(err, PL_EIO, UINT64_MAX, fmt, ap);
  va_end(ap);
  if (err) {
    size_t n = strlen(err->msg);
    char ebuf[128];
    const char *text = strerror_r(errnum, ebuf, sizeof ebuf);
    snprintf(err->msg + n, sizeof err->msg - n, ": %s", text);
  }
  return PL_EIO;
}

char *pl_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

char *pl_strview(mcap_str s) {
  char *p = malloc((size_t)s.len + 1);
  if (!p) return NULL;
  if (s.len) memcpy(p, s.data, s.len);
  p[s.len] = '\0';
  return p;
}

int pl_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 8;
  while (c < need) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  if (elem && c > SIZE_MAX / elem) return -1;
  void *p = realloc(*arr, c * elem);
  if (!p) return -1;
  *arr = p;
  *cap = c;
  return 0;
}

int pl_buf_reserve(struct pl_buf *b, size_t n) {
  if (n <= b->cap) return 0;
  size_t c = b->cap ? b->cap : 4096;
  while (c < n) {
    if (c > SIZE_MAX / 2) {
      c = n;
      break;
    }
    c *= 2;
  }
  uint8_t *p = realloc(b->data, c);
  if (!p) return -1;
  b->data = p;
  b->cap = c;
  return 0;
}

int pl_buf_append(struct pl_buf *b, const void *p, size_t n) {
  if (n > SIZE_MAX - b->len) return -1;
  if (pl_buf_reserve(b, b->len + n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void pl_buf_dispose(struct pl_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

int pl_source_pull(mcap_source *src, struct pl_buf *tmp, uint64_t off, uint64_t n,
                   const uint8_t **p, uint64_t *got, pl_error_info *err) {
  const uint8_t *q = NULL;
  uint64_t g = 0, have;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = src->read(src->payload, off, n, &q, &g, &me);
  if (rc) return pl_error_set_mcap(err, rc, off, "%s", me.msg[0] ? me.msg : mcap_strerror(rc));
  if (g >= n || g == 0) {
    *p = q;
    *got = g < n ? g : n;
    return PL_OK;
  }
  /* a source that hands out pieces: assemble them */
  if (n > SIZE_MAX)
    return pl_error_set(err, PL_ENOMEM, off, "read of %llu bytes too large", (unsigned long long)n);
  tmp->len = 0;
  if (pl_buf_reserve(tmp, (size_t)n) != 0)
    return pl_error_set(err, PL_ENOMEM, off, "out of memory reading %llu bytes",
                        (unsigned long long)n);
  memcpy(tmp->data, q, (size_t)g);
  have = g;
  while (have < n) {
    rc = src->read(src->payload, off + have, n - have, &q, &g, &me);
    if (rc)
      return pl_error_set_mcap(err, rc, off + have, "%s", me.msg[0] ? me.msg : mcap_strerror(rc));
    if (g == 0) break;
    if (g > n - have) g = n - have;
    memcpy(tmp->data + have, q, (size_t)g);
    have += g;
  }
  tmp->len = (size_t)have;
  *p = tmp->data;
  *got = have;
  return PL_OK;
}

int pl_finding_add(pl_finding **arr, size_t *n, size_t *cap, pl_severity sev, const char *code,
                   uint64_t offset, const char *fmt, ...) {
  if (pl_grow((void **)arr, cap, *n + 1, sizeof **arr) != 0) return PL_ENOMEM;
  pl_finding *f = &(*arr)[*n];
  memset(f, 0, sizeof *f);
  f->severity = sev;
  snprintf(f->code, sizeof f->code, "%s", code);
  f->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->message, sizeof f->message, fmt, ap);
  va_end(ap);
  (*n)++;
  return PL_OK;
}
