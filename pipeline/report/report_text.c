/*
 * report_text.c - the text side of pl_report: the one escaping function
 * (pl_report_escape) every value from a recording goes through, UTF-8
 * decoding with replacement (over pl_core's pl_utf8_next), the capped output buffer, and number, size,
 * duration and time formatting for the pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* ------------------------------------------------------------------ UTF-8 */

/* A code point XML 1.0 does not allow, or that is a control character on a page. */
static int forbidden(uint32_t c) {
  if (c < 0x20) return c != '\t' && c != '\n';
  if (c >= 0x7F && c <= 0x9F) return 1;
  if (c >= 0xD800 && c <= 0xDFFF) return 1;
  if (c == 0xFFFE || c == 0xFFFF) return 1;
  return c > 0x10FFFF;
}

uint32_t pl__page_char_next(const unsigned char *s, size_t n, size_t *adv) {
  uint32_t cp;
  size_t len = pl_utf8_next(s, n, &cp, NULL);
  /* an ill-formed sequence: one replacement per byte (the page shows where bytes were lost) */
  *adv = len ? len : 1;
  return len && !forbidden(cp) ? cp : 0xFFFD;
}

/* The escaped form of one code point into out (at most 8 bytes); its length. */
static size_t escape_cp(uint32_t cp, char out[8]) {
  const char *ent = NULL;
  switch (cp) {
    case '&': ent = "&amp;"; break;
    case '<': ent = "&lt;"; break;
    case '>': ent = "&gt;"; break;
    case '"': ent = "&quot;"; break;
    case '\'': ent = "&#39;"; break;
    default: break;
  }
  if (ent) {
    size_t n = strlen(ent);
    memcpy(out, ent, n);
    return n;
  }
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

size_t pl_report_escape(char *dst, size_t cap, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t need = 0, written = 0, adv;
  int full = !dst || cap == 0;
  char tmp[8];
  if (!s) len = 0;
  while (len) {
    size_t k = escape_cp(pl__page_char_next(p, len, &adv), tmp);
    if (!full) {
      if (written + k < cap) {
        memcpy(dst + written, tmp, k);
        written += k;
      } else {
        full = 1; /* no later, shorter character after a cut */
      }
    }
    need += k;
    p += adv;
    len -= adv;
  }
  if (dst && cap) dst[written] = '\0';
  return need;
}

/* ------------------------------------------------------------------ buffer */

void pl__rb_init(struct rb *b, size_t max) {
  memset(b, 0, sizeof *b);
  b->max = max;
}

void pl__rb_dispose(struct rb *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Room for n more bytes and a NUL. */
static int rb_reserve(struct rb *b, size_t n) {
  if (b->status) return -1;
  if (n > b->max || b->len > b->max - n) {
    b->status = PL_REPORT_ELIMIT;
    return -1;
  }
  if (b->len + n + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->status = PL_REPORT_ENOMEM;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void pl__rb_putn(struct rb *b, const char *s, size_t n) {
  if (rb_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void pl__rb_put(struct rb *b, const char *s) { pl__rb_putn(b, s, strlen(s)); }

void pl__rb_printf(struct rb *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    pl__rb_putn(b, tmp, (size_t)n);
    return;
  }
  if (rb_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void pl__rb_text(struct rb *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t adv;
  char tmp[8];
  if (!s) return;
  while (n && !b->status) {
    /* plain runs are copied whole */
    size_t run = 0;
    while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '&' && p[run] != '<' &&
           p[run] != '>' && p[run] != '"' && p[run] != '\'')
      run++;
    if (run) {
      pl__rb_putn(b, (const char *)p, run);
      p += run;
      n -= run;
      continue;
    }
    size_t k = escape_cp(pl__page_char_next(p, n, &adv), tmp);
    pl__rb_putn(b, tmp, k);
    p += adv;
    n -= adv;
  }
}

void pl__rb_textz(struct rb *b, const char *s) {
  if (s) pl__rb_text(b, s, strlen(s));
}

void pl__rb_text_cut(struct rb *b, const char *s, size_t max_chars) {
  if (!s) return;
  size_t n = strlen(s), chars = 0, adv;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n; i += adv) {
    pl__page_char_next(p + i, n - i, &adv);
    chars++;
  }
  if (chars <= max_chars || max_chars < 5) {
    pl__rb_text(b, s, n);
    return;
  }
  /* keep 60 % of the room for the start, the rest for the end */
  size_t keep = max_chars - 1, head = keep * 3 / 5, tail = keep - head;
  size_t i = 0, c = 0;
  for (; c < head; c++) {
    pl__page_char_next(p + i, n - i, &adv);
    i += adv;
  }
  pl__rb_text(b, s, i);
  pl__rb_put(b, "\xE2\x80\xA6"); /* … */
  size_t j = 0;
  for (c = 0; c < chars - tail; c++) {
    pl__page_char_next(p + j, n - j, &adv);
    j += adv;
  }
  pl__rb_text(b, s + j, n - j);
}

/* ------------------------------------------------------------- formatting */

void pl__rb_count(struct rb *b, uint64_t v) {
  char d[32], out[48];
  int n = snprintf(d, sizeof d, "%llu", (unsigned long long)v);
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) out[o++] = ',';
    out[o++] = d[i];
  }
  pl__rb_putn(b, out, o);
}

void pl__rb_bytes(struct rb *b, uint64_t v) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (v < 1024) {
    pl__rb_printf(b, "%llu B", (unsigned long long)v);
    return;
  }
  double x = (double)v / 1024;
  size_t u = 0;
  while (x >= 1024 && u + 1 < sizeof units / sizeof *units) {
    x /= 1024;
    u++;
  }
  pl__rb_printf(b, x < 10 ? "%.2f %s" : x < 100 ? "%.1f %s" : "%.0f %s", x, units[u]);
}

void pl__rb_duration(struct rb *b, uint64_t ns) {
  if (ns < 1000) {
    pl__rb_printf(b, "%llu ns", (unsigned long long)ns);
  } else if (ns < 1000000) {
    pl__rb_printf(b, "%.3g \xC2\xB5s", (double)ns / 1e3);
  } else if (ns < 1000000000) {
    pl__rb_printf(b, "%.3g ms", (double)ns / 1e6);
  } else if (ns < UINT64_C(60000000000)) {
    pl__rb_printf(b, "%.3g s", (double)ns / 1e9);
  } else {
    uint64_t s = ns / 1000000000u;
    uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d)
      pl__rb_printf(b, "%llu d %02llu h %02llu min", (unsigned long long)d, (unsigned long long)h,
                    (unsigned long long)m);
    else if (h)
      pl__rb_printf(b, "%llu h %02llu min", (unsigned long long)h, (unsigned long long)m);
    else
      pl__rb_printf(b, "%llu min %02llu s", (unsigned long long)m, (unsigned long long)(s % 60));
  }
}

void pl__rb_hz(struct rb *b, double hz) {
  if (!(hz > 0)) {
    pl__rb_put(b, "0 Hz");
  } else if (hz >= 1e6) {
    pl__rb_printf(b, "%.3g MHz", hz / 1e6);
  } else if (hz >= 1e3) {
    pl__rb_printf(b, "%.3g kHz", hz / 1e3);
  } else {
    pl__rb_printf(b, "%.3g Hz", hz);
  }
}

void pl__rb_time(struct rb *b, uint64_t ns) {
  char full[40];
  pl_format_time(ns, full); /* ...T..:..:..nnnnnnnnnZ */
  size_t n = strlen(full);
  if (n == 30) { /* keep milliseconds: YYYY-MM-DDTHH:MM:SS.mmm + Z */
    pl__rb_putn(b, full, 23);
    pl__rb_put(b, "Z");
  } else {
    pl__rb_put(b, full);
  }
}
