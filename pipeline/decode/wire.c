/*
 * wire.c - schema-driven decoding of CDR (ROS 2) and ROS 1 messages into
 * pl_value trees. Both walk the same type graph; they differ only in a few
 * rules, switched by `ros1`:
 *
 *   CDR (XCDR1, plain): a 4-byte encapsulation header (0x0000 big endian,
 *   0x0001 little endian; alignment counts from after it); every primitive
 *   aligned to its size (8-byte types to 8); strings are a uint32 length that
 *   counts a terminating NUL, then the bytes; wstrings a uint32 count of
 *   units, then the units (4 bytes each by default); sequences a uint32
 *   count; an array of primitives is aligned once, before its first element
 *   (no element, no alignment); a ROS 2 message without fields is one byte;
 *   up to 3 bytes of padding may follow the message.
 *
 *   ROS 1: little endian, no alignment; strings and variable arrays have a
 *   uint32 length; time and duration are two 32-bit integers; the message
 *   must end exactly where its fields end.
 *
 * Every length is checked against the bytes left (times the element's
 * minimum size) before the tree arena is asked for anything; recursion is
 * bounded by max_depth. Failures name the byte offset in the message and the
 * field path (built as the recursion unwinds, so the success path pays
 * nothing for it).
 */
#include "decode_internal.h"

struct rd {
  const uint8_t *base; /* data after the encapsulation header */
  size_t size, pos;
  size_t hdr; /* offset of base in the message */
  int be;     /* big endian */
  int ros1;
  struct pl__dctx *c;
};

static const pl_name time_names[2] = {{"sec", 3}, {"nsec", 4}};

static int truncated(struct rd *r, const char *what, size_t need) {
  size_t left = r->pos <= r->size ? r->size - r->pos : 0;
  return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos,
                  "%s needs %zu bytes, %zu left (message truncated?)", what, need, left);
}

static inline void align(struct rd *r, size_t a) {
  if (!r->ros1) r->pos = (r->pos + a - 1) & ~(a - 1);
}

/* An n-byte integer at the current position (bounds checked by the caller). */
static inline uint64_t load(const struct rd *r, size_t n) {
  return pl__load_uint(r->base + r->pos, n, r->be);
}

static inline int have(const struct rd *r, size_t n) {
  return r->pos <= r->size && r->size - r->pos >= n;
}

static const char *prim_name(int kind) {
  static const char *const names[] = {"bool",   "int8",  "uint8",  "int16",   "uint16", "int32",
                                      "uint32", "int64", "uint64", "float32", "float64"};
  return kind <= PL__T_F64 ? names[kind] : "value";
}

/* A primitive numeric value at the current position. */
static inline int prim(struct rd *r, int kind, pl_value *out) {
  size_t sz = pl__prim_size(kind);
  align(r, sz);
  if (!have(r, sz)) return truncated(r, prim_name(kind), sz);
  uint64_t x = load(r, sz);
  if (kind == PL__T_BOOL && x > 1)
    return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos, "invalid bool value %u",
                    (unsigned)x);
  pl__scalar_from_bits(kind, x, out);
  r->pos += sz;
  return 0;
}

static int u32(struct rd *r, const char *what, uint32_t *v) {
  align(r, 4);
  if (!have(r, 4)) return truncated(r, what, 4);
  *v = (uint32_t)load(r, 4);
  r->pos += 4;
  return 0;
}

static int string(struct rd *r, pl_value *out) {
  uint32_t len;
  int rc = u32(r, "string length", &len);
  if (rc) return rc;
  if (!have(r, len))
    return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos - 4,
                    "string length %u exceeds the %zu bytes left", len, r->size - r->pos);
  const uint8_t *p = r->base + r->pos;
  uint32_t n = len;
  if (!r->ros1 && n > 0 && p[n - 1] == '\0') n--; /* CDR counts the terminating NUL */
  out->kind = PL_VALUE_STRING;
  out->flags = 0;
  out->count = n;
  out->v.str = (const char *)p;
  out->names = NULL;
  r->pos += len;
  return 0;
}

static int wstring(struct rd *r, pl_value *out) {
  uint32_t count;
  int rc = u32(r, "wstring length", &count);
  if (rc) return rc;
  size_t w = r->c->wchar_size;
  if (count > (r->size - r->pos) / w)
    return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos - 4,
                    "wstring of %u units exceeds the %zu bytes left", count, r->size - r->pos);
  char *o = pl__arena_alloc(r->c->arena, (size_t)count * 4 + 1);
  if (!o) return pl__fail_alloc(r->c, r->hdr + r->pos);
  size_t n = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t cp = (uint32_t)load(r, w);
    r->pos += w;
    if (w == 2 && cp >= 0xD800 && cp <= 0xDBFF && i + 1 < count) {
      uint32_t lo = (uint32_t)load(r, 2);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        r->pos += 2;
        i++;
      }
    }
    if (cp == 0 && i + 1 == count) break; /* a terminating NUL unit */
    n += pl__utf8_put(o + n, cp);
  }
  out->kind = PL_VALUE_STRING;
  out->flags = 0;
  out->count = (uint32_t)n;
  out->v.str = o;
  out->names = NULL;
  return 0;
}

static int value(struct rd *r, const struct pl__type *t, pl_value *out, uint32_t depth);

static int elements(struct rd *r, const struct pl__type *elem, uint32_t count, pl_value *out,
                    uint32_t depth) {
  out->names = NULL;
  out->flags = 0;
  out->count = count;
  if (elem->kind == PL__T_U8) {
    if (!have(r, count))
      return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos,
                      "byte array of %u bytes exceeds the %zu bytes left", count,
                      r->pos <= r->size ? r->size - r->pos : 0);
    out->kind = PL_VALUE_BYTES;
    out->v.bytes = r->base + r->pos;
    r->pos += count;
    return 0;
  }
  if (pl__is_prim_numeric(elem->kind)) {
    size_t sz = pl__prim_size(elem->kind);
    if (count) align(r, sz);
    if (r->pos > r->size || count > (r->size - r->pos) / sz)
      return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos,
                      "array of %u %s needs %llu bytes, %zu left", count, prim_name(elem->kind),
                      (unsigned long long)count * sz, r->pos <= r->size ? r->size - r->pos : 0);
    const uint8_t *p = r->base + r->pos;
    if (elem->kind == PL__T_BOOL)
      for (uint32_t i = 0; i < count; i++)
        if (p[i] > 1) {
          pl__path_index(r->c, i);
          return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos + i, "invalid bool value %u",
                          p[i]);
        }
    out->kind = PL_VALUE_ARRAY;
    out->flags = PL_VALUE_F_PACKED | (r->be ? PL_VALUE_F_BIG_ENDIAN : 0);
    out->elem = pl__packed_kind(elem->kind);
    out->v.bytes = p;
    r->pos += (size_t)count * sz;
    return 0;
  }
  if (depth >= r->c->max_depth)
    return pl__fail(r->c, PL_DECODE_ELIMIT, r->hdr + r->pos, "nesting deeper than %u levels",
                    r->c->max_depth);
  uint64_t min = elem->min_size;
  size_t left = r->pos <= r->size ? r->size - r->pos : 0;
  if (min && count > left / min)
    return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos,
                    "%u elements need at least %llu bytes, %zu left", count,
                    (unsigned long long)((uint64_t)count * min), left);
  pl_value *items = pl__values(r->c, count ? count : 1);
  if (!items) return pl__fail_alloc(r->c, r->hdr + r->pos);
  out->kind = PL_VALUE_ARRAY;
  out->v.items = items;
  for (uint32_t i = 0; i < count; i++) {
    int rc = value(r, elem, &items[i], depth + 1);
    if (rc) {
      pl__path_index(r->c, i);
      return rc;
    }
  }
  return 0;
}

static int value(struct rd *r, const struct pl__type *t, pl_value *out, uint32_t depth) {
  switch (t->kind) {
    case PL__T_STRING:
      return string(r, out);
    case PL__T_STRUCT: {
      if (depth >= r->c->max_depth)
        return pl__fail(r->c, PL_DECODE_ELIMIT, r->hdr + r->pos, "nesting deeper than %u levels",
                        r->c->max_depth);
      out->kind = PL_VALUE_STRUCT;
      out->flags = t->plain ? PL_VALUE_F_PLAIN_NAMES : 0;
      out->count = t->n;
      out->names = t->names;
      if (t->n == 0) {
        out->v.items = NULL;
        if (t->ros2_empty && !r->ros1) {
          /* rosidl gives an empty message one uint8 member */
          if (!have(r, 1)) return truncated(r, "empty message's placeholder byte", 1);
          r->pos++;
        }
        return 0;
      }
      pl_value *items = pl__values(r->c, t->n);
      if (!items) return pl__fail_alloc(r->c, r->hdr + r->pos);
      out->v.items = items;
      for (uint32_t i = 0; i < t->n; i++) {
        const struct pl__type *ft = t->fields[i].type;
        int rc = ft->kind <= PL__T_F64 ? prim(r, ft->kind, &items[i])
                                       : value(r, ft, &items[i], depth + 1);
        if (rc) {
          pl__path_field(r->c, &t->fields[i].name);
          return rc;
        }
      }
      return 0;
    }
    case PL__T_ARRAY:
      return elements(r, t->elem, t->n, out, depth);
    case PL__T_SEQ: {
      uint32_t count;
      int rc = u32(r, "sequence length", &count);
      if (rc) return rc;
      return elements(r, t->elem, count, out, depth);
    }
    case PL__T_WSTRING:
      return wstring(r, out);
    case PL__T_ENUM: {
      uint32_t x;
      int rc = u32(r, "enum", &x);
      if (rc) return rc;
      out->kind = PL_VALUE_ENUM;
      out->flags = 0;
      out->count = 0;
      out->v.i = x;
      /* IDL enumerators are numbered 0..n-1 */
      out->names = x < t->n ? &t->names[x] : NULL;
      return 0;
    }
    case PL__T_TIME:
    case PL__T_DURATION: {
      pl_value *items = pl__values(r->c, 2);
      if (!items) return pl__fail_alloc(r->c, r->hdr + r->pos);
      int kind = t->kind == PL__T_TIME ? PL__T_U32 : PL__T_I32;
      for (int i = 0; i < 2; i++) {
        int rc = prim(r, kind, &items[i]);
        if (rc) {
          pl__path_field(r->c, &time_names[i]);
          return rc;
        }
      }
      out->kind = PL_VALUE_STRUCT;
      out->flags = PL_VALUE_F_PLAIN_NAMES;
      out->count = 2;
      out->v.items = items;
      out->names = time_names;
      return 0;
    }
    default:
      if (t->kind <= PL__T_F64) return prim(r, t->kind, out);
      return pl__fail(r->c, PL_DECODE_EMESSAGE, r->hdr + r->pos, "type not decodable here");
  }
}

int pl__cdr_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out) {
  if (c->msg_len < 4)
    return pl__fail(c, PL_DECODE_EMESSAGE, 0,
                    "%zu bytes is shorter than the 4-byte CDR encapsulation header", c->msg_len);
  const uint8_t *m = c->msg;
  unsigned rep = (unsigned)m[0] << 8 | m[1];
  if (rep > 1) {
    static const char *const names[] = {"CDR big endian",
                                        "CDR little endian",
                                        "PL_CDR big endian",
                                        "PL_CDR little endian",
                                        "?",
                                        "?",
                                        "XCDR2 big endian",
                                        "XCDR2 little endian",
                                        "delimited XCDR2 big endian",
                                        "delimited XCDR2 little endian",
                                        "PL_CDR2 big endian",
                                        "PL_CDR2 little endian"};
    return pl__fail(c, PL_DECODE_EUNSUPPORTED, 0,
                    "CDR representation 0x%04x (%s) is not supported: only XCDR1 plain CDR is "
                    "decoded",
                    rep, rep < sizeof names / sizeof names[0] ? names[rep] : "unknown");
  }
  struct rd r = {m + 4, c->msg_len - 4, 0, 4, rep == 0, 0, c};
  int rc = value(&r, root, out, 0);
  if (rc) return rc;
  if (r.size - r.pos > 3)
    return pl__fail(c, PL_DECODE_EMESSAGE, r.hdr + r.pos,
                    "%zu bytes left after the last field (does the schema match the data?)",
                    r.size - r.pos);
  return 0;
}

int pl__ros1_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out) {
  struct rd r = {c->msg, c->msg_len, 0, 0, 0, 1, c};
  int rc = value(&r, root, out, 0);
  if (rc) return rc;
  if (r.pos != r.size)
    return pl__fail(c, PL_DECODE_EMESSAGE, r.pos,
                    "%zu bytes left after the last field (does the schema match the data?)",
                    r.size - r.pos);
  return 0;
}
