/*
 * proto.c - protobuf: the schema is a FileDescriptorSet (parsed here, no
 * protobuf library), messages are the protobuf wire format.
 *
 * Schema: every message and enum of every file is registered under its full
 * name ("pkg.Outer.Inner"); field types name them (".pkg.Outer.Inner", or
 * relative names searched from the innermost scope outwards). Map fields
 * (repeated entries of a map_entry message) become PL__T_MAP. Presence:
 * proto3 singular scalars have none (absent = zero value) unless declared
 * optional; proto2 and editions fields, message fields and oneof members
 * have it (absent = null). Groups are not supported (a clear error).
 *
 * Messages are decoded in two passes over their bytes: the first counts the
 * elements of each repeated field (packed runs included) so each array is
 * allocated once at its final size; the second fills the values. Scalars may
 * come packed or not whatever the declaration says (both must be accepted).
 * Singular fields seen twice keep the last value; unknown fields are skipped
 * (nested groups included, depth-bounded).
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_internal.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

struct pb {
  const uint8_t *start, *p, *end;
};

static int pb_varint(struct pb *b, uint64_t *v) {
  uint64_t x = 0;
  for (int i = 0; i < 10; i++) {
    if (b->p >= b->end) return -1;
    uint8_t c = *b->p++;
    if (i == 9 && c > 1) return -1;
    x |= (uint64_t)(c & 0x7F) << (7 * i);
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* Skip a field's payload of wire type wt; groups nest at most `depth` deep. */
static int pb_skip(struct pb *b, int wt, uint32_t field, unsigned depth) {
  uint64_t v;
  switch (wt) {
    case WT_VARINT:
      return pb_varint(b, &v);
    case WT_I64:
      if (b->end - b->p < 8) return -1;
      b->p += 8;
      return 0;
    case WT_I32:
      if (b->end - b->p < 4) return -1;
      b->p += 4;
      return 0;
    case WT_LEN:
      if (pb_varint(b, &v) != 0 || v > (uint64_t)(b->end - b->p)) return -1;
      b->p += v;
      return 0;
    case WT_SGROUP:
      if (depth == 0) return -2;
      for (;;) {
        uint64_t tag = 0;
        if (pb_varint(b, &tag) != 0) return -1;
        int w = (int)(tag & 7);
        uint32_t f = (uint32_t)(tag >> 3);
        if (w == WT_EGROUP) return f == field ? 0 : -1;
        int rc = pb_skip(b, w, f, depth - 1);
        if (rc) return rc;
      }
    default:
      return -1;
  }
}

/* ========================================================= the schema */

struct dp {
  struct pl__schema *s;
  struct pb whole;
  int proto3, editions;
};

static int dp_error(struct dp *d, const uint8_t *at, const char *what) {
  return pl__schema_error(d->s, PL_DECODE_ESCHEMA, "FileDescriptorSet: byte %zu: %s",
                          (size_t)(at - d->whole.start), what);
}

/* A string field's view (LEN payload). */
static int dp_len(struct dp *d, struct pb *b, struct pb *sub) {
  uint64_t n;
  const uint8_t *at = b->p;
  if (pb_varint(b, &n) != 0 || n > (uint64_t)(b->end - b->p))
    return dp_error(d, at, "truncated length-delimited field");
  sub->start = d->whole.start;
  sub->p = b->p;
  sub->end = b->p + n;
  b->p += n;
  return 0;
}

static char *join(struct pl__schema *s, pl_name scope, const uint8_t *name, size_t n) {
  size_t total = scope.len ? scope.len + 1 + n : n;
  char *p = pl__arena_alloc(&s->arena, total + 1);
  if (!p) return NULL;
  size_t o = 0;
  if (scope.len) {
    memcpy(p, scope.data, scope.len);
    p[scope.len] = '.';
    o = scope.len + 1;
  }
  memcpy(p + o, name, n);
  p[total] = '\0';
  return p;
}

static int parse_enum(struct dp *d, struct pb b, pl_name scope, unsigned depth) {
  struct pl__schema *s = d->s;
  struct pl__type *t = pl__type_new(s, PL__T_ENUM);
  if (!t) return PL_DECODE_ENOMEM;
  (void)depth;
  /* first pass: the name and the number of values */
  struct pb c = b;
  uint32_t nvals = 0;
  while (c.p < c.end) {
    uint64_t tag = 0;
    const uint8_t *at = c.p;
    if (pb_varint(&c, &tag) != 0) return dp_error(d, at, "bad tag in an enum");
    int wt = (int)(tag & 7);
    if ((tag >> 3) == 1 && wt == WT_LEN) {
      struct pb str;
      int rc = dp_len(d, &c, &str);
      if (rc) return rc;
      t->name.data = join(s, scope, str.p, (size_t)(str.end - str.p));
      if (!t->name.data) return PL_DECODE_ENOMEM;
      t->name.len = (uint32_t)strlen(t->name.data);
    } else {
      if ((tag >> 3) == 2 && wt == WT_LEN) nvals++;
      if (pb_skip(&c, wt, (uint32_t)(tag >> 3), 0) != 0)
        return dp_error(d, at, "bad field in an enum");
    }
  }
  if (!t->name.data) return dp_error(d, b.p, "enum without a name");
  t->names = pl__arena_alloc(&s->arena, (nvals ? nvals : 1) * sizeof *t->names);
  t->numbers = pl__arena_alloc(&s->arena, (nvals ? nvals : 1) * sizeof *t->numbers);
  if (!t->names || !t->numbers) return PL_DECODE_ENOMEM;
  c = b;
  while (c.p < c.end) {
    uint64_t tag = 0;
    pb_varint(&c, &tag);
    int wt = (int)(tag & 7);
    if ((tag >> 3) != 2 || wt != WT_LEN) {
      pb_skip(&c, wt, (uint32_t)(tag >> 3), 0);
      continue;
    }
    struct pb v;
    dp_len(d, &c, &v);
    pl_name nm = {"", 0};
    int64_t number = 0;
    while (v.p < v.end) {
      uint64_t vt;
      const uint8_t *at = v.p;
      if (pb_varint(&v, &vt) != 0) return dp_error(d, at, "bad tag in an enum value");
      int w = (int)(vt & 7);
      if ((vt >> 3) == 1 && w == WT_LEN) {
        struct pb str;
        int rc = dp_len(d, &v, &str);
        if (rc) return rc;
        nm.data = pl__arena_strdup(&s->arena, (const char *)str.p, (size_t)(str.end - str.p));
        if (!nm.data) return PL_DECODE_ENOMEM;
        nm.len = (uint32_t)(str.end - str.p);
      } else if ((vt >> 3) == 2 && w == WT_VARINT) {
        uint64_t x;
        if (pb_varint(&v, &x) != 0) return dp_error(d, at, "bad enum value number");
        number = (int32_t)x;
      } else if (pb_skip(&v, w, (uint32_t)(vt >> 3), 0) != 0) {
        return dp_error(d, at, "bad field in an enum value");
      }
    }
    t->names[t->n] = nm;
    t->numbers[t->n] = (int32_t)number;
    t->n++;
  }
  if (pl__schema_find(s, t->name.data, t->name.len)) return PL_DECODE_OK;
  return pl__schema_add(s, t) == 0 ? PL_DECODE_OK : PL_DECODE_ENOMEM;
}

struct raw_field {
  pl_name name;
  uint64_t number, label, type;
  pl_name type_name;
  int64_t oneof;
  int packed, proto3_optional;
};

static int parse_field(struct dp *d, struct pb b, struct raw_field *f) {
  memset(f, 0, sizeof *f);
  f->oneof = -1;
  f->packed = -1;
  while (b.p < b.end) {
    uint64_t tag, x;
    const uint8_t *at = b.p;
    if (pb_varint(&b, &tag) != 0) return dp_error(d, at, "bad tag in a field");
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt == WT_LEN && (num == 1 || num == 6 || num == 8)) {
      struct pb str;
      int rc = dp_len(d, &b, &str);
      if (rc) return rc;
      pl_name v = {(const char *)str.p, (uint32_t)(str.end - str.p)};
      if (num == 1) {
        f->name = v;
      } else if (num == 6) {
        f->type_name = v;
      } else {
        /* FieldOptions: packed = 2 */
        while (str.p < str.end) {
          uint64_t ot;
          const uint8_t *oat = str.p;
          if (pb_varint(&str, &ot) != 0) return dp_error(d, oat, "bad field options");
          if ((ot >> 3) == 2 && (ot & 7) == WT_VARINT) {
            if (pb_varint(&str, &x) != 0) return dp_error(d, oat, "bad field options");
            f->packed = x != 0;
          } else if (pb_skip(&str, (int)(ot & 7), (uint32_t)(ot >> 3), 0) != 0) {
            return dp_error(d, oat, "bad field options");
          }
        }
      }
    } else if (wt == WT_VARINT && (num == 3 || num == 4 || num == 5 || num == 9 || num == 17)) {
      if (pb_varint(&b, &x) != 0) return dp_error(d, at, "bad varint in a field");
      if (num == 3) f->number = x;
      if (num == 4) f->label = x;
      if (num == 5) f->type = x;
      if (num == 9) f->oneof = (int64_t)x;
      if (num == 17) f->proto3_optional = x != 0;
    } else if (pb_skip(&b, wt, (uint32_t)num, 0) != 0) {
      return dp_error(d, at, "bad field in a field descriptor");
    }
  }
  return 0;
}

static int parse_message(struct dp *d, struct pb b, pl_name scope, unsigned depth);

static int scalar_type(uint64_t type, int *kind, int *form) {
  static const struct {
    int kind, form;
  } map[19] = {
      {-1, 0},
      {PL__T_F64, PL__PB_FIXED},   /* 1 double */
      {PL__T_F32, PL__PB_FIXED},   /* 2 float */
      {PL__T_I64, PL__PB_VARINT},  /* 3 int64 */
      {PL__T_U64, PL__PB_VARINT},  /* 4 uint64 */
      {PL__T_I32, PL__PB_VARINT},  /* 5 int32 */
      {PL__T_U64, PL__PB_FIXED},   /* 6 fixed64 */
      {PL__T_U32, PL__PB_FIXED},   /* 7 fixed32 */
      {PL__T_BOOL, PL__PB_VARINT}, /* 8 bool */
      {PL__T_STRING, 0},           /* 9 string */
      {-2, 0},                     /* 10 group */
      {-3, 0},                     /* 11 message */
      {PL__T_BYTES, 0},            /* 12 bytes */
      {PL__T_U32, PL__PB_VARINT},  /* 13 uint32 */
      {-4, PL__PB_VARINT},         /* 14 enum */
      {PL__T_I32, PL__PB_FIXED},   /* 15 sfixed32 */
      {PL__T_I64, PL__PB_FIXED},   /* 16 sfixed64 */
      {PL__T_I32, PL__PB_ZIGZAG},  /* 17 sint32 */
      {PL__T_I64, PL__PB_ZIGZAG},  /* 18 sint64 */
  };
  if (type == 0 || type > 18) return -1;
  *kind = map[type].kind;
  *form = map[type].form;
  return 0;
}

static int build_field(struct dp *d, struct pl__type *msg, struct pl__field *f,
                       const struct raw_field *r, pl_name scope, const uint8_t *at) {
  struct pl__schema *s = d->s;
  int kind, form;
  if (r->number == 0 || r->number > 536870911) return dp_error(d, at, "bad field number");
  if (scalar_type(r->type, &kind, &form) != 0) return dp_error(d, at, "unknown field type");
  if (kind == -2)
    return pl__schema_error(s, PL_DECODE_EUNSUPPORTED,
                            "message '%.*s' field '%.*s': groups are not supported",
                            (int)msg->name.len, msg->name.data, (int)r->name.len, r->name.data);
  f->name.data = pl__arena_strdup(&s->arena, r->name.data, r->name.len);
  f->name.len = r->name.len;
  if (!f->name.data) return PL_DECODE_ENOMEM;
  f->number = (uint32_t)r->number;
  f->oneof = r->oneof >= 0 && r->oneof < 65536 ? (int32_t)r->oneof : -1;
  f->pb_form = (uint8_t)form;
  f->repeated = r->label == 3;
  struct pl__type *base;
  if (kind < 0) {
    /* message or enum: a reference */
    base = pl__type_new(s, PL__T_REF);
    if (!base) return PL_DECODE_ENOMEM;
    base->name.data = pl__arena_strdup(&s->arena, r->type_name.data, r->type_name.len);
    base->name.len = r->type_name.len;
    base->scope = scope;
    if (!base->name.data) return PL_DECODE_ENOMEM;
    f->packable = kind == -4;
  } else {
    base = pl__prim(kind);
    f->packable = kind != PL__T_STRING && kind != PL__T_BYTES;
  }
  if (f->repeated) {
    struct pl__type *seq = pl__type_new(s, PL__T_SEQ);
    if (!seq) return PL_DECODE_ENOMEM;
    seq->elem = base;
    f->type = seq;
    if (base->kind == PL__T_REF && pl__schema_slot(s, &seq->elem) != 0) return PL_DECODE_ENOMEM;
  } else {
    f->type = base;
    if (base->kind == PL__T_REF && pl__schema_slot(s, &f->type) != 0) return PL_DECODE_ENOMEM;
  }
  /* presence: messages and oneof members always; proto3 scalars only when optional */
  if (f->repeated)
    f->presence = 0;
  else if (kind == -3 || f->oneof >= 0 || r->proto3_optional)
    f->presence = 1;
  else
    f->presence = !d->proto3;
  return 0;
}

static int parse_message(struct dp *d, struct pb b, pl_name scope, unsigned depth) {
  struct pl__schema *s = d->s;
  if (depth > s->max_depth) return dp_error(d, b.p, "messages nest too deep");
  struct pl__type *t = pl__type_new(s, PL__T_STRUCT);
  if (!t) return PL_DECODE_ENOMEM;
  /* pass 1: name, counts, options */
  struct pb c = b;
  uint32_t nfields = 0, noneofs = 0;
  while (c.p < c.end) {
    uint64_t tag = 0;
    const uint8_t *at = c.p;
    if (pb_varint(&c, &tag) != 0) return dp_error(d, at, "bad tag in a message");
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt == WT_LEN && (num == 1 || num == 7)) {
      struct pb str;
      int rc = dp_len(d, &c, &str);
      if (rc) return rc;
      if (num == 1) {
        t->name.data = join(s, scope, str.p, (size_t)(str.end - str.p));
        if (!t->name.data) return PL_DECODE_ENOMEM;
        t->name.len = (uint32_t)strlen(t->name.data);
      } else {
        /* MessageOptions: map_entry = 7 */
        while (str.p < str.end) {
          uint64_t ot, x;
          const uint8_t *oat = str.p;
          if (pb_varint(&str, &ot) != 0) return dp_error(d, oat, "bad message options");
          if ((ot >> 3) == 7 && (ot & 7) == WT_VARINT) {
            if (pb_varint(&str, &x) != 0) return dp_error(d, oat, "bad message options");
            t->map_entry = x != 0;
          } else if (pb_skip(&str, (int)(ot & 7), (uint32_t)(ot >> 3), 0) != 0) {
            return dp_error(d, oat, "bad message options");
          }
        }
      }
    } else {
      if (wt == WT_LEN && num == 2) nfields++;
      if (wt == WT_LEN && num == 8) noneofs++;
      if (pb_skip(&c, wt, (uint32_t)num, 0) != 0) return dp_error(d, at, "bad field in a message");
    }
  }
  if (!t->name.data) return dp_error(d, b.p, "message without a name");
  if (strcmp(t->name.data, "google.protobuf.Timestamp") == 0) t->wkt = PL__WKT_TIMESTAMP;
  if (strcmp(t->name.data, "google.protobuf.Duration") == 0) t->wkt = PL__WKT_DURATION;
  t->max_oneof = noneofs;
  t->fields = pl__arena_alloc(&s->arena, (nfields ? nfields : 1) * sizeof *t->fields);
  if (!t->fields) return PL_DECODE_ENOMEM;
  /* registered before the nested types so that they can refer to it */
  int dup = pl__schema_find(s, t->name.data, t->name.len) != NULL;
  if (!dup && pl__schema_add(s, t) != 0) return PL_DECODE_ENOMEM;
  /* pass 2: fields, nested messages and enums */
  c = b;
  while (c.p < c.end) {
    uint64_t tag = 0;
    const uint8_t *at = c.p;
    pb_varint(&c, &tag);
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt != WT_LEN || (num != 2 && num != 3 && num != 4)) {
      pb_skip(&c, wt, (uint32_t)num, 0);
      continue;
    }
    struct pb sub;
    int rc = dp_len(d, &c, &sub);
    if (rc) return rc;
    if (num == 2) {
      struct raw_field r;
      rc = parse_field(d, sub, &r);
      if (rc) return rc;
      struct pl__field *f = &t->fields[t->n];
      memset(f, 0, sizeof *f);
      rc = build_field(d, t, f, &r, t->name, at);
      if (rc) return rc;
      t->n++;
    } else if (num == 3) {
      rc = parse_message(d, sub, t->name, depth + 1);
      if (rc) return rc;
    } else {
      rc = parse_enum(d, sub, t->name, depth + 1);
      if (rc) return rc;
    }
  }
  if (pl__struct_names(s, t) != 0) return PL_DECODE_ENOMEM;
  /* field index by number: dense when the numbers are small */
  uint32_t maxn = 0;
  for (uint32_t i = 0; i < t->n; i++)
    if (t->fields[i].number > maxn) maxn = t->fields[i].number;
  if (maxn <= 4 * t->n + 64) {
    t->by_number_n = maxn + 1;
    t->by_number = pl__arena_alloc(&s->arena, t->by_number_n * sizeof *t->by_number);
    if (!t->by_number) return PL_DECODE_ENOMEM;
    memset(t->by_number, 0, t->by_number_n * sizeof *t->by_number);
    for (uint32_t i = 0; i < t->n; i++) t->by_number[t->fields[i].number] = i + 1;
  } else {
    t->sorted = pl__arena_alloc(&s->arena, (t->n ? t->n : 1) * sizeof *t->sorted);
    if (!t->sorted) return PL_DECODE_ENOMEM;
    for (uint32_t i = 0; i < t->n; i++) t->sorted[i] = i;
    /* insertion sort by number, then binary search when decoding */
    for (uint32_t i = 1; i < t->n; i++) {
      uint32_t x = t->sorted[i], j = i;
      while (j > 0 && t->fields[t->sorted[j - 1]].number > t->fields[x].number) {
        t->sorted[j] = t->sorted[j - 1];
        j--;
      }
      t->sorted[j] = x;
    }
  }
  (void)dup;
  return 0;
}

static int parse_file(struct dp *d, struct pb b) {
  pl_name package = {"", 0};
  struct pb c = b;
  d->proto3 = 0;
  d->editions = 0;
  /* package and syntax first: they apply to the whole file */
  while (c.p < c.end) {
    uint64_t tag = 0;
    const uint8_t *at = c.p;
    if (pb_varint(&c, &tag) != 0) return dp_error(d, at, "bad tag in a file");
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt == WT_LEN && (num == 2 || num == 12)) {
      struct pb str;
      int rc = dp_len(d, &c, &str);
      if (rc) return rc;
      size_t n = (size_t)(str.end - str.p);
      if (num == 2) {
        package.data = pl__arena_strdup(&d->s->arena, (const char *)str.p, n);
        if (!package.data) return PL_DECODE_ENOMEM;
        package.len = (uint32_t)n;
      } else {
        d->proto3 = n == 6 && memcmp(str.p, "proto3", 6) == 0;
        d->editions = n == 8 && memcmp(str.p, "editions", 8) == 0;
      }
    } else if (pb_skip(&c, wt, (uint32_t)num, 0) != 0) {
      return dp_error(d, at, "bad field in a file");
    }
  }
  c = b;
  while (c.p < c.end) {
    uint64_t tag = 0;
    pb_varint(&c, &tag);
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt != WT_LEN || (num != 4 && num != 5)) {
      pb_skip(&c, wt, (uint32_t)num, 0);
      continue;
    }
    struct pb sub;
    int rc = dp_len(d, &c, &sub);
    if (rc) return rc;
    rc = num == 4 ? parse_message(d, sub, package, 1) : parse_enum(d, sub, package, 1);
    if (rc) return rc;
  }
  return 0;
}

static struct pl__type *resolve(struct pl__schema *s, const struct pl__type *ref) {
  const char *name = ref->name.data;
  size_t n = ref->name.len;
  if (n && name[0] == '.') {
    struct pl__type *t = pl__schema_find(s, name + 1, n - 1);
    if (!t)
      pl__schema_error(s, PL_DECODE_ESCHEMA, "unknown type '%.*s'", (int)(n > 100 ? 100 : n), name);
    return t;
  }
  /* relative: from the innermost scope outwards */
  char buf[2048];
  size_t sl = ref->scope.len;
  if (n + sl + 2 > sizeof buf) return NULL;
  for (;;) {
    size_t len = 0;
    if (sl) {
      memcpy(buf, ref->scope.data, sl);
      buf[sl] = '.';
      len = sl + 1;
    }
    memcpy(buf + len, name, n);
    len += n;
    struct pl__type *t = pl__schema_find(s, buf, len);
    if (t) return t;
    if (!sl) break;
    while (sl > 0 && ref->scope.data[sl - 1] != '.') sl--;
    sl = sl ? sl - 1 : 0;
  }
  pl__schema_error(s, PL_DECODE_ESCHEMA, "unknown type '%.*s'", (int)(n > 100 ? 100 : n), name);
  return NULL;
}

/* Repeated fields of map_entry messages become maps. */
static int make_maps(struct pl__schema *s) {
  for (uint32_t i = 0; i < s->tab_cap; i++) {
    struct pl__type *t = s->tab[i];
    if (!t || t->kind != PL__T_STRUCT) continue;
    for (uint32_t k = 0; k < t->n; k++) {
      struct pl__field *f = &t->fields[k];
      if (!f->repeated || f->type->kind != PL__T_SEQ) continue;
      struct pl__type *e = f->type->elem;
      if (e->kind != PL__T_STRUCT || !e->map_entry) continue;
      struct pl__field *key = NULL, *val = NULL;
      for (uint32_t j = 0; j < e->n; j++) {
        if (e->fields[j].number == 1) key = &e->fields[j];
        if (e->fields[j].number == 2) val = &e->fields[j];
      }
      if (!key || !val) continue; /* not a well-formed entry: leave it a repeated message */
      struct pl__type *m = pl__type_new(s, PL__T_MAP);
      if (!m) return PL_DECODE_ENOMEM;
      m->key = key->type;
      m->elem = e; /* entries are decoded as the entry message */
      f->type = m;
      f->packable = 0;
    }
  }
  return 0;
}

int pl__proto_parse(struct pl__schema *s, const uint8_t *data, size_t len, const char *name,
                    size_t name_len) {
  struct dp d;
  memset(&d, 0, sizeof d);
  d.s = s;
  d.whole.start = d.whole.p = data;
  d.whole.end = data + len;
  struct pb b = d.whole;
  while (b.p < b.end) {
    uint64_t tag = 0;
    const uint8_t *at = b.p;
    if (pb_varint(&b, &tag) != 0) return dp_error(&d, at, "bad tag");
    int wt = (int)(tag & 7);
    if ((tag >> 3) == 1 && wt == WT_LEN) {
      struct pb file;
      int rc = dp_len(&d, &b, &file);
      if (rc) return rc;
      rc = parse_file(&d, file);
      if (rc) return rc;
    } else if (pb_skip(&b, wt, (uint32_t)(tag >> 3), 0) != 0) {
      return dp_error(&d, at, "bad field (is this a FileDescriptorSet?)");
    }
  }
  if (name_len && name[0] == '.') {
    name++;
    name_len--;
  }
  struct pl__type *root = pl__schema_find(s, name, name_len);
  if (!root || root->kind != PL__T_STRUCT)
    return pl__schema_error(s, PL_DECODE_ESCHEMA, "no message '%.*s' in the FileDescriptorSet",
                            (int)(name_len > 200 ? 200 : name_len), name);
  s->root = root;
  int rc = pl__schema_finish(s, resolve, 0);
  if (rc) return rc;
  for (size_t i = 0; i < s->n_slots; i++) {
    const struct pl__type *t = *s->slots[i];
    if (t->kind != PL__T_STRUCT && t->kind != PL__T_ENUM)
      return pl__schema_error(s, PL_DECODE_ESCHEMA, "a field names '%.*s', not a message or enum",
                              (int)t->name.len, t->name.data);
  }
  return make_maps(s);
}

/* ========================================================= messages */

struct pd {
  struct pl__dctx *c;
  const uint8_t *msg;
};

static size_t off(const struct pd *d, const uint8_t *p) {
  return (size_t)(p - d->msg);
}

static int field_index(const struct pl__type *t, uint64_t number) {
  if (t->by_number) return number < t->by_number_n ? (int)t->by_number[number] - 1 : -1;
  uint32_t lo = 0, hi = t->n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    uint32_t fn = t->fields[t->sorted[mid]].number;
    if (fn == number) return (int)t->sorted[mid];
    if (fn < number)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static int scalar_wire(const struct pl__field *f, const struct pl__type *t) {
  if (t->kind == PL__T_ENUM) return WT_VARINT;
  if (f->pb_form == PL__PB_FIXED) return pl__prim_size(t->kind) == 8 ? WT_I64 : WT_I32;
  return WT_VARINT;
}

static const char *wt_name(int wt) {
  static const char *const n[] = {
      "varint", "64-bit", "length-delimited", "group start", "group end", "32-bit", "6", "7"};
  return n[wt & 7];
}

/* Read one scalar of field f (element type t) at b into out. */
static int scalar(struct pd *d, struct pb *b, const struct pl__field *f, const struct pl__type *t,
                  pl_value *out) {
  uint64_t x = 0;
  const uint8_t *at = b->p;
  memset(out, 0, sizeof *out);
  if (t->kind == PL__T_ENUM || f->pb_form != PL__PB_FIXED) {
    if (pb_varint(b, &x) != 0)
      return pl__fail(d->c, PL_DECODE_EMESSAGE, off(d, at), "truncated or overlong varint");
  } else {
    size_t sz = pl__prim_size(t->kind);
    if ((size_t)(b->end - b->p) < sz)
      return pl__fail(d->c, PL_DECODE_EMESSAGE, off(d, at), "truncated %zu-byte value", sz);
    for (size_t i = sz; i-- > 0;) x = x << 8 | b->p[i];
    b->p += sz;
  }
  if (f->pb_form == PL__PB_ZIGZAG) x = (x >> 1) ^ (0 - (x & 1));
  switch (t->kind) {
    case PL__T_ENUM: {
      out->kind = PL_VALUE_ENUM;
      out->v.i = (int32_t)x;
      for (uint32_t i = 0; i < t->n; i++)
        if (t->numbers[i] == (int32_t)x) {
          out->names = &t->names[i];
          break;
        }
      return 0;
    }
    default:
      /* Varints and fixed fields of every numeric kind; narrowing truncates as protobuf
       * readers do (an int32 sent as a 64-bit varint). */
      pl__scalar_from_bits(t->kind <= PL__T_F64 ? (int)t->kind : PL__T_U64, x, out);
      return 0;
  }
}

/* The default of a field that is absent. */
static void absent(const struct pl__field *f, pl_value *out) {
  const struct pl__type *t = f->type;
  memset(out, 0, sizeof *out);
  if (f->presence) return; /* null */
  switch (t->kind) {
    case PL__T_BOOL:
      out->kind = PL_VALUE_BOOL;
      break;
    case PL__T_I32:
    case PL__T_I64:
      out->kind = PL_VALUE_INT;
      break;
    case PL__T_F32:
      out->kind = PL_VALUE_FLOAT32;
      break;
    case PL__T_F64:
      out->kind = PL_VALUE_FLOAT64;
      break;
    case PL__T_STRING:
      out->kind = PL_VALUE_STRING;
      out->v.str = "";
      break;
    case PL__T_BYTES:
      out->kind = PL_VALUE_BYTES;
      out->v.bytes = (const uint8_t *)"";
      break;
    case PL__T_ENUM:
      out->kind = PL_VALUE_ENUM;
      for (uint32_t i = 0; i < t->n; i++)
        if (t->numbers[i] == 0) {
          out->names = &t->names[i];
          break;
        }
      break;
    case PL__T_SEQ:
      out->kind = PL_VALUE_ARRAY;
      break;
    case PL__T_MAP:
      out->kind = PL_VALUE_STRUCT;
      break;
    default:
      out->kind = PL_VALUE_UINT;
      break;
  }
}

static int message(struct pd *d, const struct pl__type *t, const uint8_t *p, size_t n,
                   pl_value *out, uint32_t depth);

/* Packed storage size of one element of a packable scalar (0: values, not packed). */
static size_t packed_size(const struct pl__type *t) {
  if (t->kind == PL__T_ENUM) return 0;
  return pl__prim_size(t->kind);
}

/* Store scalar value v as element i of packed storage (little endian). */
static void packed_put(uint8_t *base, size_t sz, size_t i, const pl_value *v) {
  uint64_t x;
  switch (v->kind) {
    case PL_VALUE_FLOAT32: {
      uint32_t b;
      memcpy(&b, &v->v.f32, 4);
      x = b;
      break;
    }
    case PL_VALUE_FLOAT64:
      memcpy(&x, &v->v.f64, 8);
      break;
    case PL_VALUE_BOOL:
      x = (uint64_t)v->v.b;
      break;
    default:
      x = v->v.u;
      break;
  }
  uint8_t *o = base + i * sz;
  for (size_t k = 0; k < sz; k++) o[k] = (uint8_t)(x >> (8 * k));
}

/* Count the elements of a packed run of f's element type. */
static int packed_count(struct pd *d, const struct pl__field *f, const struct pl__type *t,
                        const uint8_t *p, size_t n, uint64_t *count) {
  int wt = scalar_wire(f, t);
  if (wt == WT_VARINT) {
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k += !(p[i] & 0x80);
    if (n && (p[n - 1] & 0x80))
      return pl__fail(d->c, PL_DECODE_EMESSAGE, off(d, p + n), "packed varints end inside a value");
    *count = k;
    return 0;
  }
  size_t sz = wt == WT_I64 ? 8 : 4;
  if (n % sz)
    return pl__fail(d->c, PL_DECODE_EMESSAGE, off(d, p),
                    "packed field of %zu bytes is not a multiple of %zu", n, sz);
  *count = n / sz;
  return 0;
}

static int map_entry(struct pd *d, const struct pl__type *entry, const uint8_t *p, size_t n,
                     pl_value *key, pl_value *val, uint32_t depth) {
  pl_value ev;
  int rc = message(d, entry, p, n, &ev, depth + 1);
  if (rc) return rc;
  for (uint32_t j = 0; j < entry->n; j++) {
    if (entry->fields[j].number == 1) *key = ev.v.items[j];
    if (entry->fields[j].number == 2) *val = ev.v.items[j];
  }
  return 0;
}

/* Text of a map key into the arena. */
static int key_name(struct pd *d, const pl_value *k, pl_name *out) {
  if (k->kind == PL_VALUE_STRING) {
    out->data = k->v.str;
    out->len = k->count;
    return 0;
  }
  char *buf = pl__arena_alloc(d->c->arena, 24);
  if (!buf) return -1;
  size_t n;
  if (k->kind == PL_VALUE_BOOL) {
    n = k->v.b ? 4 : 5;
    memcpy(buf, k->v.b ? "true" : "false", n);
  } else if (k->kind == PL_VALUE_INT) {
    n = pl__fmt_i64(buf, k->v.i);
  } else {
    n = pl__fmt_u64(buf, k->v.u);
  }
  out->data = buf;
  out->len = (uint32_t)n;
  return 0;
}

static int key_cmp(const pl_name *a, const pl_value *ka, const pl_name *b, const pl_value *kb) {
  if (ka->kind == PL_VALUE_INT) return ka->v.i < kb->v.i ? -1 : ka->v.i > kb->v.i;
  if (ka->kind == PL_VALUE_UINT || ka->kind == PL_VALUE_BOOL)
    return ka->v.u < kb->v.u ? -1 : ka->v.u > kb->v.u;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->data, b->data, n);
  return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* Sort map entries by key (stable merge sort), keep the last of equal keys. */
static int finish_map(struct pd *d, pl_value *keys, pl_value *vals, pl_name *names, uint32_t n,
                      pl_value *out) {
  uint32_t *idx = pl__arena_alloc(d->c->arena, 2 * (size_t)(n ? n : 1) * sizeof *idx);
  if (!idx) return -1;
  uint32_t *tmp = idx + n;
  for (uint32_t i = 0; i < n; i++) idx[i] = i;
  for (uint32_t w = 1; w < n; w *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * w) {
      uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        tmp[k++] = key_cmp(&names[idx[j]], &keys[idx[j]], &names[idx[i]], &keys[idx[i]]) < 0
                       ? idx[j++]
                       : idx[i++];
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
  }
  pl_value *items = pl__values(d->c, n ? n : 1);
  pl_name *nm = pl__arena_alloc(d->c->arena, (n ? n : 1) * sizeof *nm);
  if (!items || !nm) return -1;
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t e = idx[i];
    if (i + 1 < n && key_cmp(&names[e], &keys[e], &names[idx[i + 1]], &keys[idx[i + 1]]) == 0)
      continue; /* a later duplicate (stable order) wins */
    items[m] = vals[e];
    nm[m] = names[e];
    m++;
  }
  memset(out, 0, sizeof *out);
  out->kind = PL_VALUE_STRUCT;
  out->count = m;
  out->v.items = items;
  out->names = nm;
  return 0;
}

/* Timestamp / Duration as their canonical strings; 0 when converted. */
static int well_known(struct pd *d, const struct pl__type *t, pl_value *v) {
  int64_t secs = 0;
  int64_t nanos = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    const pl_value *x = &v->v.items[i];
    if (x->kind != PL_VALUE_INT) continue;
    if (t->fields[i].number == 1) secs = x->v.i;
    if (t->fields[i].number == 2) nanos = x->v.i;
  }
  char buf[48];
  size_t n = 0;
  if (t->wkt == PL__WKT_TIMESTAMP) {
    if (nanos < 0 || nanos > 999999999) return 1;
    n = pl__fmt_timestamp(secs, (int32_t)nanos, buf);
    if (!n) return 1;
  } else {
    if (secs < -315576000000 || secs > 315576000000 || nanos < -999999999 || nanos > 999999999 ||
        (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0))
      return 1;
    int neg = secs < 0 || nanos < 0;
    uint64_t s = (uint64_t)(secs < 0 ? -secs : secs);
    uint32_t ns = (uint32_t)(nanos < 0 ? -nanos : nanos);
    if (neg) buf[n++] = '-';
    n += pl__fmt_u64(buf + n, s);
    if (ns) {
      int digits = ns % 1000000 == 0 ? 3 : ns % 1000 == 0 ? 6 : 9;
      uint32_t f = digits == 3 ? ns / 1000000 : digits == 6 ? ns / 1000 : ns;
      buf[n++] = '.';
      for (int i = digits - 1; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + f % 10);
        f /= 10;
      }
      n += (size_t)digits;
    }
    buf[n++] = 's';
  }
  char *s = pl__arena_strdup(d->c->arena, buf, n);
  if (!s) return -1;
  memset(v, 0, sizeof *v);
  v->kind = PL_VALUE_STRING;
  v->v.str = s;
  v->count = (uint32_t)n;
  return 0;
}

static int message(struct pd *d, const struct pl__type *t, const uint8_t *p, size_t n,
                   pl_value *out, uint32_t depth) {
  struct pl__dctx *c = d->c;
  if (depth >= c->max_depth)
    return pl__fail(c, PL_DECODE_ELIMIT, off(d, p), "nesting deeper than %u levels", c->max_depth);
  uint32_t nf = t->n;
  pl_value *items = pl__values(c, nf ? nf : 1);
  uint32_t *counts = pl__arena_alloc(c->arena, 2 * (size_t)(nf ? nf : 1) * sizeof *counts);
  if (!items || !counts) return pl__fail_alloc(c, off(d, p));
  uint32_t *fill = counts + nf;
  memset(counts, 0, 2 * (size_t)nf * sizeof *counts);
  /* pass 1: validate the framing, count repeated elements */
  struct pb b = {d->msg, p, p + n};
  while (b.p < b.end) {
    const uint8_t *at = b.p;
    uint64_t tag = 0;
    if (pb_varint(&b, &tag) != 0)
      return pl__fail(c, PL_DECODE_EMESSAGE, off(d, at), "truncated or overlong tag");
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    if (num == 0) return pl__fail(c, PL_DECODE_EMESSAGE, off(d, at), "field number 0");
    int fi = num <= 536870911 ? field_index(t, num) : -1;
    const uint8_t *payload = b.p;
    int rc = pb_skip(&b, wt, (uint32_t)num, c->max_depth - depth);
    if (rc == -2)
      return pl__fail(c, PL_DECODE_ELIMIT, off(d, at), "groups nest deeper than %u levels",
                      c->max_depth);
    if (rc || wt == WT_EGROUP)
      return pl__fail(c, PL_DECODE_EMESSAGE, off(d, at), "field %llu (%s): truncated or bad",
                      (unsigned long long)num, wt_name(wt));
    if (fi < 0 || !t->fields[fi].repeated) continue;
    const struct pl__field *f = &t->fields[fi];
    uint64_t k = 1;
    if (f->packable && wt == WT_LEN) {
      struct pb lp = {d->msg, payload, b.p};
      uint64_t len = 0;
      pb_varint(&lp, &len);
      rc = packed_count(d, f, f->type->elem, lp.p, (size_t)len, &k);
      if (rc) {
        pl__path_field(c, &f->name);
        return rc;
      }
    }
    if (k > UINT32_MAX - counts[fi])
      return pl__fail(c, PL_DECODE_ELIMIT, off(d, at), "more than 2^32 elements");
    counts[fi] += (uint32_t)k;
  }
  /* defaults and arrays */
  for (uint32_t i = 0; i < nf; i++) {
    const struct pl__field *f = &t->fields[i];
    absent(f, &items[i]);
    if (!f->repeated) continue;
    uint32_t k = counts[i];
    if (f->type->kind == PL__T_MAP) {
      /* keys, values and names side by side until sorted */
      pl_value *kv = pl__values(c, 2 * (size_t)(k ? k : 1));
      pl_name *nm = pl__arena_alloc(c->arena, (k ? k : 1) * sizeof *nm);
      if (!kv || !nm) return pl__fail_alloc(c, off(d, p));
      items[i].v.items = kv;
      items[i].names = nm;
      continue;
    }
    const struct pl__type *et = f->type->elem;
    size_t psz = f->packable ? packed_size(et) : 0;
    items[i].count = 0;
    if (psz) {
      uint8_t *store = pl__arena_alloc(c->arena, (size_t)k * psz + 1);
      if (!store) return pl__fail_alloc(c, off(d, p));
      items[i].flags = PL_VALUE_F_PACKED;
      items[i].elem = pl__packed_kind(et->kind);
      items[i].v.bytes = store;
    } else {
      pl_value *arr = pl__values(c, k ? k : 1);
      if (!arr) return pl__fail_alloc(c, off(d, p));
      items[i].v.items = arr;
    }
  }
  /* pass 2: values */
  b.p = p;
  while (b.p < b.end) {
    const uint8_t *at = b.p;
    uint64_t tag = 0;
    pb_varint(&b, &tag);
    int wt = (int)(tag & 7);
    uint64_t num = tag >> 3;
    int fi = num <= 536870911 ? field_index(t, num) : -1;
    if (fi < 0) {
      pb_skip(&b, wt, (uint32_t)num, c->max_depth);
      continue;
    }
    const struct pl__field *f = &t->fields[fi];
    const struct pl__type *ft = f->repeated && f->type->kind == PL__T_SEQ ? f->type->elem : f->type;
    pl_value *slot = &items[fi];
    int rc = 0;
    if (f->type->kind == PL__T_MAP) {
      if (wt != WT_LEN) goto bad_wire;
      struct pb lp = b;
      uint64_t len = 0;
      pb_varint(&lp, &len);
      pb_skip(&b, wt, (uint32_t)num, 0);
      uint32_t e = fill[fi]++;
      pl_value *kv = (pl_value *)slot->v.items;
      rc = map_entry(d, f->type->elem, lp.p, (size_t)len, &kv[2 * e], &kv[2 * e + 1], depth);
      if (rc == 0 && key_name(d, &kv[2 * e], (pl_name *)&slot->names[e]) != 0)
        rc = pl__fail_alloc(c, off(d, at));
    } else if (ft->kind == PL__T_STRUCT || ft->kind == PL__T_STRING || ft->kind == PL__T_BYTES) {
      if (wt != WT_LEN) goto bad_wire;
      uint64_t len = 0;
      pb_varint(&b, &len);
      const uint8_t *body = b.p;
      b.p += len;
      pl_value v;
      if (ft->kind == PL__T_STRUCT) {
        rc = message(d, ft, body, (size_t)len, &v, depth + 1);
      } else {
        memset(&v, 0, sizeof v);
        v.kind = ft->kind == PL__T_STRING ? PL_VALUE_STRING : PL_VALUE_BYTES;
        v.v.bytes = body;
        v.count = (uint32_t)len;
        if (len > UINT32_MAX) rc = pl__fail(c, PL_DECODE_ELIMIT, off(d, at), "field over 4 GiB");
      }
      if (rc == 0) {
        if (f->repeated)
          ((pl_value *)slot->v.items)[fill[fi]++] = v;
        else
          *slot = v;
      } else if (f->repeated) {
        pl__path_index(c, fill[fi]);
      }
    } else if (f->repeated && f->packable && wt == WT_LEN) {
      uint64_t len = 0;
      pb_varint(&b, &len);
      struct pb run = {d->msg, b.p, b.p + len};
      b.p += len;
      size_t psz = packed_size(ft);
      while (run.p < run.end && rc == 0) {
        pl_value v;
        rc = scalar(d, &run, f, ft, &v);
        if (rc) break;
        if (psz)
          packed_put((uint8_t *)slot->v.bytes, psz, fill[fi]++, &v);
        else
          ((pl_value *)slot->v.items)[fill[fi]++] = v;
      }
    } else {
      if (wt != scalar_wire(f, ft)) goto bad_wire;
      pl_value v;
      rc = scalar(d, &b, f, ft, &v);
      if (rc == 0) {
        if (f->repeated) {
          size_t psz = packed_size(ft);
          if (psz)
            packed_put((uint8_t *)slot->v.bytes, psz, fill[fi]++, &v);
          else
            ((pl_value *)slot->v.items)[fill[fi]++] = v;
        } else {
          *slot = v;
        }
      }
    }
    if (rc) {
      pl__path_field(c, &f->name);
      return rc;
    }
    continue;
  bad_wire:
    pl__path_field(c, &f->name);
    return pl__fail(c, PL_DECODE_EMESSAGE, off(d, at),
                    "field %llu has wire type %s, which does not fit its declared type",
                    (unsigned long long)num, wt_name(wt));
  }
  for (uint32_t i = 0; i < nf; i++) {
    const struct pl__field *f = &t->fields[i];
    if (!f->repeated) continue;
    if (f->type->kind == PL__T_MAP) {
      pl_value *kv = (pl_value *)items[i].v.items;
      uint32_t k = fill[i];
      /* split keys and values for the sort */
      pl_value *keys = pl__values(c, k ? k : 1), *vals = pl__values(c, k ? k : 1);
      if (!keys || !vals) return pl__fail_alloc(c, off(d, p));
      for (uint32_t e = 0; e < k; e++) {
        keys[e] = kv[2 * e];
        vals[e] = kv[2 * e + 1];
      }
      if (finish_map(d, keys, vals, (pl_name *)items[i].names, k, &items[i]) != 0)
        return pl__fail_alloc(c, off(d, p));
    } else {
      items[i].kind = PL_VALUE_ARRAY;
      items[i].count = fill[i];
    }
  }
  memset(out, 0, sizeof *out);
  out->kind = PL_VALUE_STRUCT;
  out->flags = t->plain ? PL_VALUE_F_PLAIN_NAMES : 0;
  out->count = nf;
  out->v.items = items;
  out->names = t->names;
  if (t->wkt != PL__WKT_NONE && well_known(d, t, out) < 0) return pl__fail_alloc(c, off(d, p));
  return 0;
}

int pl__proto_decode(struct pl__dctx *c, const struct pl__type *root, pl_value *out) {
  struct pd d = {c, c->msg};
  return message(&d, root, c->msg, c->msg_len, out, 0);
}
