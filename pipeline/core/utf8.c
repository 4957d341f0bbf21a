/*
 * utf8.c - UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates,
 * nothing above U+10FFFF): pl_utf8_next, the one decoder every UTF-8 check of
 * mcapkit uses (pl_decode, pl_report, pl_inspect, the site's JSON), and the
 * validity check and U+FFFD repair of JSON text that must be valid.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/core.h"

size_t pl_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *adv) {
  uint32_t dummy_cp;
  size_t dummy_adv;
  if (!cp) cp = &dummy_cp;
  if (!adv) adv = &dummy_adv;
  *cp = 0xFFFD;
  *adv = 0;
  if (n == 0) return 0;
  uint8_t c = s[0];
  size_t len;
  uint32_t v;
  uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
  *adv = 1;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0Fu;
    if (c == 0xE0) lo = 0xA0; /* no overlong forms */
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07u;
    if (c == 0xF0) lo = 0x90; /* no overlong forms */
    if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 0; /* C0, C1, F5..FF, or a stray continuation byte */
  }
  for (size_t i = 1; i < len; i++) {
    uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (i >= n || s[i] < l || s[i] > h) {
      *adv = i; /* the maximal subpart: the lead and the continuation bytes that fit */
      return 0;
    }
    v = v << 6 | (s[i] & 0x3Fu);
  }
  *cp = v;
  *adv = len;
  return len;
}

int pl_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = pl_utf8_next(p + i, n - i, NULL, NULL);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

char *pl_utf8_fix(const char *s, size_t n, size_t *out_len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, bad, extra = 0;
  /* each replaced byte grows to at most 3 */
  while (i < n) {
    size_t k = p[i] < 0x80 ? 1 : pl_utf8_next(p + i, n - i, NULL, &bad);
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
    size_t k = p[i] < 0x80 ? 1 : pl_utf8_next(p + i, n - i, NULL, &bad);
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
