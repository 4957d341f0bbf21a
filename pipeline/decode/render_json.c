/*
 * render_json.c - pl_value trees as compact JSON, NDJSON message lines, and
 * the number and time texts the CSV writer shares.
 *
 * Exactness rules: integers outside JavaScript's safe range (|v| > 2^53 - 1)
 * are written as strings, so no JSON reader rounds them; floats use the
 * shortest text that reads back exactly (fmt_double.c), float32 values as
 * float32; NaN and infinities, which JSON numbers cannot carry, are the
 * strings "NaN", "Infinity", "-Infinity". Strings are escaped (invalid UTF-8
 * becomes U+FFFD); JSON strings and numbers from json messages are copied as
 * written.
 */
#include <math.h>

#include "decode_internal.h"

#define SAFE_INT ((uint64_t)9007199254740991) /* 2^53 - 1 */

/* Room for any scalar text. */
#define SCALAR_ROOM 48

static inline size_t put_int(char *p, int64_t v, int json) {
  uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if (json && mag > SAFE_INT) {
    p[0] = '"';
    size_t n = pl__fmt_i64(p + 1, v);
    p[n + 1] = '"';
    return n + 2;
  }
  return pl__fmt_i64(p, v);
}

static inline size_t put_uint(char *p, uint64_t v, int json) {
  if (json && v > SAFE_INT) {
    p[0] = '"';
    size_t n = pl__fmt_u64(p + 1, v);
    p[n + 1] = '"';
    return n + 2;
  }
  return pl__fmt_u64(p, v);
}

static inline size_t put_f64(char *p, double v, int json) {
  if (json && !isfinite(v)) {
    p[0] = '"';
    size_t n = pl_decode_format_double(v, p + 1);
    p[n + 1] = '"';
    return n + 2;
  }
  return pl_decode_format_double(v, p);
}

static inline size_t put_f32(char *p, float v, int json) {
  if (json && !isfinite(v)) {
    p[0] = '"';
    size_t n = pl_decode_format_float(v, p + 1);
    p[n + 1] = '"';
    return n + 2;
  }
  return pl_decode_format_float(v, p);
}

int pl__render_scalar(pl_text *t, const pl_value *v, int json) {
  if (pl__text_reserve(t, SCALAR_ROOM) != 0) return -1;
  char *p = t->data + t->len;
  size_t n;
  switch (v->kind) {
    case PL_VALUE_BOOL:
      n = v->v.b ? 4 : 5;
      memcpy(p, v->v.b ? "true" : "false", n);
      break;
    case PL_VALUE_INT:
    case PL_VALUE_ENUM:
      n = put_int(p, v->v.i, json);
      break;
    case PL_VALUE_UINT:
      n = put_uint(p, v->v.u, json);
      break;
    case PL_VALUE_FLOAT32:
      n = put_f32(p, v->v.f32, json);
      break;
    case PL_VALUE_FLOAT64:
      n = put_f64(p, v->v.f64, json);
      break;
    case PL_VALUE_NUMBER:
      return pl__text_put(t, v->v.str, v->count);
    default:
      n = json ? 4 : 0;
      memcpy(p, "null", n);
      break;
  }
  t->len += n;
  return 0;
}

/* Packed array elements, comma-separated (JSON or CSV cells share this). */
static int packed_json(pl_text *t, const pl_value *a) {
  size_t sz = pl__prim_size(a->elem);
  int be = (a->flags & PL_VALUE_F_BIG_ENDIAN) != 0;
  const uint8_t *p = a->v.bytes;
  for (uint32_t i = 0; i < a->count; i++) {
    if (pl__text_reserve(t, SCALAR_ROOM) != 0) return -1;
    char *o = t->data + t->len;
    if (i) *o++ = ',';
    if (!be && a->elem == PL_PACKED_F64) {
      double d;
      memcpy(&d, p + 8 * (size_t)i, 8);
      o += put_f64(o, d, 1);
    } else if (!be && a->elem == PL_PACKED_F32) {
      float f;
      memcpy(&f, p + 4 * (size_t)i, 4);
      o += put_f32(o, f, 1);
    } else {
      pl_value e;
      pl__packed_get(a, i, &e);
      t->len = (size_t)(o - t->data);
      if (pl__render_scalar(t, &e, 1) != 0) return -1;
      continue;
    }
    t->len = (size_t)(o - t->data);
  }
  (void)sz;
  return 0;
}

static int value(pl_text *t, const pl_value *v, pl_bytes_mode bytes) {
  switch (v->kind) {
    case PL_VALUE_STRING:
      if (v->flags & PL_VALUE_F_JSON_ESCAPED) {
        if (pl__text_reserve(t, (size_t)v->count + 2) != 0) return -1;
        t->data[t->len++] = '"';
        memcpy(t->data + t->len, v->v.str, v->count);
        t->len += v->count;
        t->data[t->len++] = '"';
        return 0;
      }
      return pl_text_json_string(t, v->v.str, v->count);
    case PL_VALUE_BYTES:
      if (bytes == PL_BYTES_LENGTH) {
        pl_value n = {.kind = PL_VALUE_UINT, .v.u = v->count};
        return pl__render_scalar(t, &n, 1);
      }
      if (pl__text_ch(t, '"') != 0 || pl_text_base64(t, v->v.bytes, v->count) != 0) return -1;
      return pl__text_ch(t, '"');
    case PL_VALUE_ARRAY:
      if (pl__text_ch(t, '[') != 0) return -1;
      if (v->flags & PL_VALUE_F_PACKED) {
        if (packed_json(t, v) != 0) return -1;
      } else {
        for (uint32_t i = 0; i < v->count; i++) {
          if (i && pl__text_ch(t, ',') != 0) return -1;
          if (value(t, &v->v.items[i], bytes) != 0) return -1;
        }
      }
      return pl__text_ch(t, ']');
    case PL_VALUE_STRUCT:
      if (pl__text_ch(t, '{') != 0) return -1;
      for (uint32_t i = 0; i < v->count; i++) {
        const pl_name *nm = &v->names[i];
        if (pl__text_reserve(t, (size_t)nm->len + 4) != 0) return -1;
        if (i) t->data[t->len++] = ',';
        if (v->flags & (PL_VALUE_F_JSON_NAMES | PL_VALUE_F_PLAIN_NAMES)) {
          t->data[t->len++] = '"';
          memcpy(t->data + t->len, nm->data, nm->len);
          t->len += nm->len;
          t->data[t->len++] = '"';
        } else if (pl_text_json_string(t, nm->data, nm->len) != 0) {
          return -1;
        }
        if (pl__text_ch(t, ':') != 0 || value(t, &v->v.items[i], bytes) != 0) return -1;
      }
      return pl__text_ch(t, '}');
    case PL_VALUE_ENUM:
      if (v->names) return pl_text_json_string(t, v->names->data, v->names->len);
      return pl__render_scalar(t, v, 1);
    case PL_VALUE_NULL:
      return pl__text_put(t, "null", 4);
    default:
      return pl__render_scalar(t, v, 1);
  }
}

int pl_decode_json_value(const pl_value *v, const pl_json_options *o, pl_text *out) {
  if (!v || !out) return PL_DECODE_EINVAL;
  size_t mark = out->len;
  if (value(out, v, o ? o->bytes : PL_BYTES_DEFAULT) != 0) {
    out->len = mark;
    return PL_DECODE_ENOMEM;
  }
  return PL_DECODE_OK;
}

int pl_decode_ndjson_line(const mcap_channel *channel, const mcap_message *m, const pl_value *v,
                          const pl_json_options *o, pl_text *out) {
  if (!channel || !m || !v || !out) return PL_DECODE_EINVAL;
  size_t mark = out->len;
  if (pl__text_put(out, "{\"topic\":", 9) != 0 ||
      pl_text_json_string(out, channel->topic.data, channel->topic.len) != 0 ||
      pl__text_reserve(out, 140) != 0)
    goto nomem;
  char *p = out->data + out->len;
  memcpy(p, ",\"channel_id\":", 14);
  p += 14;
  p += pl__fmt_u64(p, channel->id);
  memcpy(p, ",\"sequence\":", 12);
  p += 12;
  p += pl__fmt_u64(p, m->sequence);
  memcpy(p, ",\"log_time\":\"", 13);
  p += 13;
  p += pl__fmt_u64(p, m->log_time);
  memcpy(p, "\",\"publish_time\":\"", 18);
  p += 18;
  p += pl__fmt_u64(p, m->publish_time);
  memcpy(p, "\",\"message\":", 12);
  p += 12;
  out->len = (size_t)(p - out->data);
  if (value(out, v, o ? o->bytes : PL_BYTES_DEFAULT) != 0 || pl__text_put(out, "}\n", 2) != 0)
    goto nomem;
  return PL_DECODE_OK;
nomem:
  out->len = mark;
  return PL_DECODE_ENOMEM;
}

/* ------------------------------------------------------------------ time */

/* Civil date of days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *two(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* "YYYY-MM-DDTHH:MM:SS" of secs since the epoch (year 0..9999); the end. */
static char *date_time(char *p, int64_t secs) {
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned mo, d;
  civil(days, &y, &mo, &d);
  p = two(p, (unsigned)(y / 100));
  p = two(p, (unsigned)(y % 100));
  *p++ = '-';
  p = two(p, mo);
  *p++ = '-';
  p = two(p, d);
  *p++ = 'T';
  p = two(p, (unsigned)(sod / 3600));
  *p++ = ':';
  p = two(p, (unsigned)(sod / 60 % 60));
  *p++ = ':';
  return two(p, (unsigned)(sod % 60));
}

size_t pl_decode_format_rfc3339(uint64_t ns, char *buf) {
  uint64_t secs = ns / 1000000000u;
  uint32_t frac = (uint32_t)(ns % 1000000000u);
  char *p = date_time(buf, (int64_t)secs);
  *p++ = '.';
  for (int i = 8; i >= 0; i--) {
    p[i] = (char)('0' + frac % 10);
    frac /= 10;
  }
  p += 9;
  *p++ = 'Z';
  return (size_t)(p - buf);
}

size_t pl__fmt_timestamp(int64_t secs, int32_t nanos, char *buf) {
  /* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
  if (secs < -62135596800 || secs > 253402300799 || nanos < 0 || nanos > 999999999) return 0;
  char *p = date_time(buf, secs);
  if (nanos) {
    int digits = nanos % 1000000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9;
    uint32_t f = (uint32_t)(digits == 3 ? nanos / 1000000 : digits == 6 ? nanos / 1000 : nanos);
    *p++ = '.';
    for (int i = digits - 1; i >= 0; i--) {
      p[i] = (char)('0' + f % 10);
      f /= 10;
    }
    p += digits;
  }
  *p++ = 'Z';
  return (size_t)(p - buf);
}
