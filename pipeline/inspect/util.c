/*
 * util.c - pl_inspect's small shared helpers (inspect_internal.h) and the tests of record
 * contents behind `list` and `cat`: whether per-channel counts are known, whether schema
 * data or message data is text, and a strict JSON validator for message data of the json
 * encoding (only one well-formed JSON value is embedded into NDJSON as it is).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

char *pl__insp_dup(mcap_str s) {
  char *p = malloc((size_t)s.len + 1);
  if (!p) return NULL;
  if (s.len) memcpy(p, s.data, s.len);
  p[s.len] = '\0';
  return p;
}

int pl__insp_grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, ncap * size);
  if (!p) return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

int pl__insp_fail(pl_error_info *err, int code, int mcap_code, uint64_t offset, const char *fmt,
                  ...) {
  if (!err) return code;
  memset(err, 0, sizeof *err);
  err->code = code;
  err->mcap_code = mcap_code;
  err->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

/* ------------------------------------------------------------------ list */

int pl_inspect_channel_counts_known(mcap_reader *r) {
  const mcap_statistics *st = mcap_reader_statistics(r, NULL);
  return st->channel_message_counts.len > 0 || (st->message_count == 0 && st->chunk_count == 0);
}

static int is_text_encoding(mcap_str enc) {
  static const char *const text[] = {"ros1msg", "ros2msg", "ros2idl", "omgidl", "jsonschema"};
  for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
    if (enc.len == strlen(text[i]) && memcmp(enc.data, text[i], enc.len) == 0) return 1;
  return 0;
}

/* Well-formed UTF-8 whose only control characters are tab, line feed and carriage return
 * (DEL allowed when allow_del). */
static int clean_text(const uint8_t *p, uint64_t n, int allow_del) {
  uint64_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return 0;
    if (c == 0x7f && !allow_del) return 0;
    size_t len = pl_utf8_next(p + i, (size_t)(n - i), NULL, NULL);
    if (!len) return 0;
    i += len;
  }
  return 1;
}

int pl_inspect_schema_data_is_text(const mcap_schema *s) {
  return is_text_encoding(s->encoding) && clean_text(s->data.data, s->data.len, 1);
}

int pl_inspect_looks_like_text(const uint8_t *p, size_t n) {
  return n > 0 && clean_text(p, n, 0);
}

/* --------------------------------------------------------- JSON validation */

#define JSON_MAX_DEPTH 256

struct jv {
  const uint8_t *p;
  size_t n, i;
};

static void jv_ws(struct jv *v) {
  while (v->i < v->n &&
         (v->p[v->i] == ' ' || v->p[v->i] == '\t' || v->p[v->i] == '\n' || v->p[v->i] == '\r'))
    v->i++;
}

static int jv_lit(struct jv *v, const char *lit) {
  size_t len = strlen(lit);
  if (v->n - v->i < len || memcmp(v->p + v->i, lit, len) != 0) return -1;
  v->i += len;
  return 0;
}

static int jv_digits(struct jv *v) {
  size_t s = v->i;
  while (v->i < v->n && v->p[v->i] >= '0' && v->p[v->i] <= '9') v->i++;
  return v->i > s ? 0 : -1;
}

static int jv_number(struct jv *v) {
  if (v->i < v->n && v->p[v->i] == '-') v->i++;
  if (v->i >= v->n) return -1;
  if (v->p[v->i] == '0') {
    v->i++;
  } else if (jv_digits(v) != 0) {
    return -1;
  }
  if (v->i < v->n && v->p[v->i] == '.') {
    v->i++;
    if (jv_digits(v) != 0) return -1;
  }
  if (v->i < v->n && (v->p[v->i] == 'e' || v->p[v->i] == 'E')) {
    v->i++;
    if (v->i < v->n && (v->p[v->i] == '+' || v->p[v->i] == '-')) v->i++;
    if (jv_digits(v) != 0) return -1;
  }
  return 0;
}

static int is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int jv_string(struct jv *v) {
  v->i++; /* the opening quote */
  while (v->i < v->n) {
    uint8_t c = v->p[v->i];
    if (c == '"') {
      v->i++;
      return 0;
    }
    if (c < 0x20) return -1;
    if (c == '\\') {
      if (v->i + 1 >= v->n) return -1;
      uint8_t e = v->p[v->i + 1];
      if (e == 'u') {
        if (v->n - v->i < 6) return -1;
        for (size_t k = 2; k < 6; k++)
          if (!is_hex(v->p[v->i + k])) return -1;
        v->i += 6;
      } else if (e && strchr("\"\\/bfnrt", e)) {
        v->i += 2;
      } else {
        return -1;
      }
      continue;
    }
    size_t len = pl_utf8_next(v->p + v->i, v->n - v->i, NULL, NULL);
    if (!len) return -1;
    v->i += len;
  }
  return -1;
}

static int jv_value(struct jv *v, int depth) {
  jv_ws(v);
  if (v->i >= v->n) return -1;
  uint8_t c = v->p[v->i];
  if (c == '"') return jv_string(v);
  if (c == '{' || c == '[') {
    if (depth >= JSON_MAX_DEPTH) return -1;
    uint8_t close = c == '{' ? '}' : ']';
    v->i++;
    jv_ws(v);
    if (v->i < v->n && v->p[v->i] == close) {
      v->i++;
      return 0;
    }
    for (;;) {
      if (c == '{') {
        jv_ws(v);
        if (v->i >= v->n || v->p[v->i] != '"' || jv_string(v) != 0) return -1;
        jv_ws(v);
        if (v->i >= v->n || v->p[v->i] != ':') return -1;
        v->i++;
      }
      if (jv_value(v, depth + 1) != 0) return -1;
      jv_ws(v);
      if (v->i >= v->n) return -1;
      if (v->p[v->i] == ',') {
        v->i++;
        continue;
      }
      if (v->p[v->i] == close) {
        v->i++;
        return 0;
      }
      return -1;
    }
  }
  if (c == 't') return jv_lit(v, "true");
  if (c == 'f') return jv_lit(v, "false");
  if (c == 'n') return jv_lit(v, "null");
  return jv_number(v);
}

int pl_inspect_json_valid(const uint8_t *p, size_t n) {
  struct jv v = {p, n, 0};
  if (jv_value(&v, 0) != 0) return 0;
  jv_ws(&v);
  return v.i == n;
}
