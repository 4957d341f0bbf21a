/*
 * base64.c - the one base64 encoder (RFC 4648, with '=' padding) of the pipeline and
 * the CLI: schema data in index JSON and `list`, bytes in NDJSON and decoded values,
 * schemas in the local site's answers.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/core.h"

static const char alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t pl_base64_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  return groups > (SIZE_MAX - 1) / 4 ? SIZE_MAX : groups * 4;
}

size_t pl_base64_encode(char *dst, const uint8_t *src, size_t n) {
  char *o = dst;
  size_t i = 0;
  for (; n - i >= 3; i += 3) {
    uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
    o[3] = alphabet[v & 63];
    o += 4;
  }
  if (i < n) {
    uint32_t v = (uint32_t)src[i] << 16 | (n - i == 2 ? (uint32_t)src[i + 1] << 8 : 0);
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = n - i == 2 ? alphabet[(v >> 6) & 63] : '=';
    o[3] = '=';
    o += 4;
  }
  return (size_t)(o - dst);
}

char *pl_base64_dup(const uint8_t *src, size_t n) {
  size_t len = pl_base64_len(n);
  char *s = len == SIZE_MAX ? NULL : malloc(len + 1);
  if (!s) return NULL;
  s[pl_base64_encode(s, src, n)] = '\0';
  return s;
}
