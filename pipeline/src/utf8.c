/*
 * utf8.c - UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates,
 * nothing above U+10FFFF), for JSON that must be valid text: the local site's
 * responses and request bodies, and the API client's view of responses.
 */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t pl__utf8_seq(const unsigned char *p, size_t n, size_t *bad) {
  size_t dummy;
  if (!bad) bad = &dummy;
  unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
  *bad = 1;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
    if (c == 0xED) hi = 0x9F;      /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;      /* no overlong forms */
    if (c == 0xF4) hi = 0x8F;      /* nothing above U+10FFFF */
  } else {
    return 0;                      /* C0, C1, F5..FF, or a stray continuation byte */
  }
  for (size_t i = 1; i < len; i++) {
    unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (i >= n || p[i] < l || p[i] > h) {
      *bad = i;
      return 0;
    }
  }
  return len;
}

int pl__utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, bad;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = pl__utf8_seq(p + i, n - i, &bad);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

char *pl__utf8_fix(const char *s, size_t n, size_t *out_len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, bad, extra = 0;
  /* each replaced byte grows to at most 3 */
  while (i < n) {
    size_t k = p[i] < 0x80 ? 1 : pl__utf8_seq(p + i, n - i, &bad);
    if (!k) {
      extra += 3;
      i += bad;
    } else {
      i += k;
    }
  }
  char *out = malloc(n + extra + 1);
  if (!out) return NULL;
  size_t o = 0;
  i = 0;
  while (i < n) {
    size_t k = p[i] < 0x80 ? 1 : pl__utf8_seq(p + i, n - i, &bad);
    if (!k) {
      out[o++] = (char)0xEF;
      out[o++] = (char)0xBF;
      out[o++] = (char)0xBD;
      i += bad;
    } else {
      memcpy(out + o, p + i, k);
      o += k;
      i += k;
    }
  }
  out[o] = 0;
  if (out_len) *out_len = o;
  return out;
}
