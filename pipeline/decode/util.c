/*
 * util.c - the small pieces every part of pl_decode uses: the arena, the
 * text buffer, integer and base64 text, UTF-8 and JSON string escaping, the
 * decode context (errors with the byte offset and field path), value accessors
 * and status texts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_internal.h"

#define ARENA_MIN_CHUNK ((size_t)64 << 10)
#define ARENA_KEEP ((size_t)4 << 20) /* a reset keeps one chunk up to this size */

/* --------------------------------------------------------------- arena */

void *pl__arena_alloc_slow(struct pl__arena *a, size_t n) {
  size_t want = ARENA_MIN_CHUNK;
  if (a->head) {
    /* grow geometrically with what is in use, so a big tree takes few chunks */
    size_t grown = (size_t)(a->total < ((uint64_t)1 << 40) ? a->total : 0);
    if (grown > want) want = grown;
  }
  if (n > SIZE_MAX / 2 - sizeof(struct pl__arena_chunk)) {
    a->over = 1;
    return NULL;
  }
  if (want < n) want = n;
  if (a->limit) {
    if (a->total + n + sizeof(struct pl__arena_chunk) > a->limit) {
      a->over = 1;
      return NULL;
    }
    if (a->total + want > a->limit) want = (size_t)(a->limit - a->total);
    if (want < n) want = n;
  }
  struct pl__arena_chunk *c = malloc(sizeof *c + want);
  if (!c) {
    a->over = 0;
    return NULL;
  }
  c->cap = want;
  c->used = n;
  c->next = a->head;
  a->head = c;
  a->total += want;
  return c + 1;
}

void pl__arena_reset(struct pl__arena *a) {
  struct pl__arena_chunk *keep = NULL;
  struct pl__arena_chunk *c = a->head;
  /* keep the newest (largest) chunk when it is not huge */
  if (c && c->cap <= ARENA_KEEP) {
    keep = c;
    c = c->next;
  }
  while (c) {
    struct pl__arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = keep;
  a->total = keep ? keep->cap : 0;
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
  a->over = 0;
}

void pl__arena_dispose(struct pl__arena *a) {
  struct pl__arena_chunk *c = a->head;
  while (c) {
    struct pl__arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->total = 0;
}

char *pl__arena_strdup(struct pl__arena *a, const char *s, size_t n) {
  char *p = pl__arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* ---------------------------------------------------------------- text */

int pl__text_grow(pl_text *t, size_t n) {
  if (n > SIZE_MAX / 4 - t->len) return -1;
  size_t want = t->cap ? t->cap : 4096;
  while (want - t->len < n) want *= 2;
  char *p = realloc(t->data, want);
  if (!p) return -1;
  t->data = p;
  t->cap = want;
  return 0;
}

int pl_text_reserve(pl_text *t, size_t n) {
  return pl__text_reserve(t, n);
}

int pl_text_append(pl_text *t, const void *s, size_t n) {
  return pl__text_put(t, s, n);
}

void pl_text_dispose(pl_text *t) {
  if (!t) return;
  free(t->data);
  t->data = NULL;
  t->len = t->cap = 0;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t pl__fmt_u64(char *p, uint64_t v) {
  char tmp[20];
  size_t i = 20;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    i -= 2;
    memcpy(tmp + i, digit_pairs + 2 * r, 2);
  }
  if (v >= 10) {
    i -= 2;
    memcpy(tmp + i, digit_pairs + 2 * v, 2);
  } else {
    tmp[--i] = (char)('0' + v);
  }
  memcpy(p, tmp + i, 20 - i);
  return 20 - i;
}

size_t pl__fmt_i64(char *p, int64_t v) {
  if (v < 0) {
    *p = '-';
    return 1 + pl__fmt_u64(p + 1, (uint64_t)0 - (uint64_t)v);
  }
  return pl__fmt_u64(p, (uint64_t)v);
}

int pl_text_base64(pl_text *t, const uint8_t *p, size_t n) {
  size_t need = pl_base64_len(n);
  if (need == SIZE_MAX || pl__text_reserve(t, need) != 0) return -1;
  t->len += pl_base64_encode(t->data + t->len, p, n);
  return 0;
}

size_t pl__utf8_put(char *p, uint32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    p[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    p[0] = (char)(0xC0 | cp >> 6);
    p[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (char)(0xE0 | cp >> 12);
    p[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    p[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  p[0] = (char)(0xF0 | cp >> 18);
  p[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  p[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  p[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Bytes a JSON string carries as they are: printable ASCII but " and \. */
static inline int plain_byte(uint8_t c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

int pl_text_json_string(pl_text *t, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const uint8_t *p = (const uint8_t *)s;
  /* worst case 6 bytes per input byte, plus quotes */
  if (n > (SIZE_MAX - 2) / 6 || pl__text_reserve(t, n * 6 + 2) != 0) return -1;
  char *o = t->data + t->len;
  *o++ = '"';
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (plain_byte(c)) {
      *o++ = (char)c;
      i++;
      continue;
    }
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
      i++;
    } else if (c < 0x20) {
      *o++ = '\\';
      if (c == '\n') {
        *o++ = 'n';
      } else if (c == '\t') {
        *o++ = 't';
      } else if (c == '\r') {
        *o++ = 'r';
      } else if (c == '\b') {
        *o++ = 'b';
      } else if (c == '\f') {
        *o++ = 'f';
      } else {
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
      }
      i++;
    } else {
      size_t len = pl_utf8_next(p + i, n - i, NULL, NULL);
      if (len) {
        memcpy(o, p + i, len);
        o += len;
        i += len;
      } else {
        memcpy(o, "\\ufffd", 6);
        o += 6;
        i++;
      }
    }
  }
  *o++ = '"';
  t->len = (size_t)(o - t->data);
  return 0;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static uint32_t hex4(const char *s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 4 | (uint32_t)hexval((uint8_t)s[i]);
  return v;
}

int pl__json_unescape(pl_text *t, const char *s, size_t n) {
  if (pl__text_reserve(t, n) != 0) return -1; /* unescaped text is never longer */
  char *o = t->data + t->len;
  size_t i = 0;
  while (i < n) {
    if (s[i] != '\\') {
      *o++ = s[i++];
      continue;
    }
    char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'b':
        *o++ = '\b';
        break;
      case 'f':
        *o++ = '\f';
        break;
      case 'n':
        *o++ = '\n';
        break;
      case 'r':
        *o++ = '\r';
        break;
      case 't':
        *o++ = '\t';
        break;
      case 'u': {
        uint32_t cp = hex4(s + i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
          uint32_t lo = hex4(s + i + 2);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        /* "\uXXXX" is 6 bytes and yields at most 3; a pair is 12 and yields 4 */
        o += pl__utf8_put(o, cp);
        break;
      }
      default:
        *o++ = e;
        break; /* " \ / */
    }
  }
  t->len = (size_t)(o - t->data);
  return 0;
}

/* ------------------------------------------------------ decode context */

void pl__dctx_init(struct pl__dctx *c, struct pl__arena *arena, const uint8_t *msg, size_t len,
                   uint32_t max_depth) {
  c->arena = arena;
  c->scratch = NULL;
  c->msg = msg;
  c->msg_len = len;
  c->max_depth = max_depth;
  c->wchar_size = 4;
  c->code = PL_DECODE_OK;
  c->offset = 0;
  c->why[0] = '\0';
  c->path_start = sizeof c->path - 1;
  c->path[c->path_start] = '\0';
}

int pl__fail(struct pl__dctx *c, int code, size_t offset, const char *fmt, ...) {
  va_list ap;
  c->code = code;
  c->offset = offset;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  return code;
}

int pl__fail_alloc(struct pl__dctx *c, size_t offset) {
  if (c->arena->over)
    return pl__fail(c, PL_DECODE_ELIMIT, offset,
                    "the decoded message would need more than %llu bytes of memory",
                    (unsigned long long)c->arena->limit);
  return pl__fail(c, PL_DECODE_ENOMEM, offset, "out of memory");
}

static void path_prepend(struct pl__dctx *c, const char *s, size_t n) {
  if (n > c->path_start) return; /* full: keep the innermost part */
  c->path_start -= n;
  memcpy(c->path + c->path_start, s, n);
}

void pl__path_field(struct pl__dctx *c, const pl_name *name) {
  /* ".name" unless it is the outermost, which is fixed up when the message is built */
  path_prepend(c, name->data, name->len > 64 ? 64 : name->len);
  path_prepend(c, ".", 1);
}

void pl__path_index(struct pl__dctx *c, size_t i) {
  char b[24];
  int n = snprintf(b, sizeof b, "[%zu]", i);
  path_prepend(c, b, (size_t)n);
}

/* -------------------------------------------------------------- values */

/* The packed element codes are the primitive kinds (checked below), so one conversion serves. */
_Static_assert(PL_PACKED_BOOL == (int)PL__T_BOOL && PL_PACKED_I8 == (int)PL__T_I8 &&
                   PL_PACKED_U8 == (int)PL__T_U8 && PL_PACKED_I16 == (int)PL__T_I16 &&
                   PL_PACKED_U16 == (int)PL__T_U16 && PL_PACKED_I32 == (int)PL__T_I32 &&
                   PL_PACKED_U32 == (int)PL__T_U32 && PL_PACKED_I64 == (int)PL__T_I64 &&
                   PL_PACKED_U64 == (int)PL__T_U64 && PL_PACKED_F32 == (int)PL__T_F32 &&
                   PL_PACKED_F64 == (int)PL__T_F64,
               "packed element codes must equal the primitive kinds");

void pl__scalar_from_bits(int kind, uint64_t x, pl_value *out) {
  out->flags = 0;
  out->count = 0;
  out->names = NULL;
  switch (kind) {
    case PL__T_BOOL:
      out->kind = PL_VALUE_BOOL;
      out->v.b = x != 0;
      return;
    case PL__T_I8:
      out->kind = PL_VALUE_INT;
      out->v.i = (int8_t)x;
      return;
    case PL__T_I16:
      out->kind = PL_VALUE_INT;
      out->v.i = (int16_t)x;
      return;
    case PL__T_I32:
      out->kind = PL_VALUE_INT;
      out->v.i = (int32_t)x;
      return;
    case PL__T_I64:
      out->kind = PL_VALUE_INT;
      out->v.i = (int64_t)x;
      return;
    case PL__T_U8:
      out->kind = PL_VALUE_UINT;
      out->v.u = (uint8_t)x;
      return;
    case PL__T_U16:
      out->kind = PL_VALUE_UINT;
      out->v.u = (uint16_t)x;
      return;
    case PL__T_U32:
      out->kind = PL_VALUE_UINT;
      out->v.u = (uint32_t)x;
      return;
    case PL__T_F32: {
      uint32_t b = (uint32_t)x;
      out->kind = PL_VALUE_FLOAT32;
      memcpy(&out->v.f32, &b, 4);
      return;
    }
    case PL__T_F64:
      out->kind = PL_VALUE_FLOAT64;
      memcpy(&out->v.f64, &x, 8);
      return;
    default:
      out->kind = PL_VALUE_UINT;
      out->v.u = x;
      return;
  }
}

void pl__packed_get(const pl_value *a, size_t i, pl_value *out) {
  size_t sz = pl__prim_size(a->elem);
  uint64_t x = pl__load_uint(a->v.bytes + i * sz, sz, (a->flags & PL_VALUE_F_BIG_ENDIAN) != 0);
  pl__scalar_from_bits(a->elem, x, out);
}

int pl_value_at(const pl_value *array, size_t i, pl_value *out) {
  if (!array || !out || array->kind != PL_VALUE_ARRAY || i >= array->count) return PL_DECODE_EINVAL;
  if (array->flags & PL_VALUE_F_PACKED)
    pl__packed_get(array, i, out);
  else
    *out = array->v.items[i];
  return PL_DECODE_OK;
}

const pl_value *pl_value_member(const pl_value *s, const char *name) {
  if (!s || !name || s->kind != PL_VALUE_STRUCT) return NULL;
  size_t n = strlen(name);
  for (uint32_t i = 0; i < s->count; i++)
    if (s->names[i].len == n && memcmp(s->names[i].data, name, n) == 0) return &s->v.items[i];
  return NULL;
}

const char *pl_value_kind_name(int kind) {
  static const char *const names[] = {"null",   "bool",  "int",   "uint",   "float32", "float64",
                                      "string", "bytes", "array", "struct", "enum",    "number"};
  if (kind < 0 || (size_t)kind >= sizeof names / sizeof names[0]) return "?";
  return names[kind];
}

const char *pl_decode_strerror(int code) {
  switch (code) {
    case PL_DECODE_OK:
      return "ok";
    case PL_DECODE_EINVAL:
      return "invalid argument";
    case PL_DECODE_ENOMEM:
      return "out of memory";
    case PL_DECODE_EUNSUPPORTED:
      return "no decoder for this encoding";
    case PL_DECODE_ESCHEMA:
      return "bad schema";
    case PL_DECODE_EMESSAGE:
      return "malformed message";
    case PL_DECODE_EIO:
      return "input/output error";
    case PL_DECODE_ELIMIT:
      return "safety limit exceeded";
    default:
      return "unknown error";
  }
}
