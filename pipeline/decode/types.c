/*
 * types.c - the type graph shared by the schema parsers: primitive nodes,
 * named types in a hash table, references patched once every definition of a
 * schema is known, and the final check of the graph (nesting depth, types
 * that contain themselves, minimum wire sizes for the length checks of CDR
 * and ROS 1 decoding).
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_internal.h"

/* Shared immutable primitive nodes (kinds PL__T_BOOL .. PL__T_WSTRING, TIME,
 * DURATION, BYTES, JSON, NUMBER). */
static const struct pl__type prims[] = {
    {.kind = PL__T_BOOL, .mark = 2, .min_size = 1},
    {.kind = PL__T_I8, .mark = 2, .min_size = 1},
    {.kind = PL__T_U8, .mark = 2, .min_size = 1},
    {.kind = PL__T_I16, .mark = 2, .min_size = 2},
    {.kind = PL__T_U16, .mark = 2, .min_size = 2},
    {.kind = PL__T_I32, .mark = 2, .min_size = 4},
    {.kind = PL__T_U32, .mark = 2, .min_size = 4},
    {.kind = PL__T_I64, .mark = 2, .min_size = 8},
    {.kind = PL__T_U64, .mark = 2, .min_size = 8},
    {.kind = PL__T_F32, .mark = 2, .min_size = 4},
    {.kind = PL__T_F64, .mark = 2, .min_size = 8},
    {.kind = PL__T_STRING, .mark = 2, .min_size = 4},
    {.kind = PL__T_WSTRING, .mark = 2, .min_size = 4},
};
static const struct pl__type prim_time = {.kind = PL__T_TIME, .mark = 2, .min_size = 8};
static const struct pl__type prim_duration = {.kind = PL__T_DURATION, .mark = 2, .min_size = 8};
static const struct pl__type prim_bytes = {.kind = PL__T_BYTES, .mark = 2, .min_size = 0};
static const struct pl__type prim_json = {.kind = PL__T_JSON, .mark = 2, .min_size = 0};
static const struct pl__type prim_number = {.kind = PL__T_NUMBER, .mark = 2, .min_size = 0};

struct pl__type *pl__prim(int kind) {
  const struct pl__type *t = NULL;
  if (kind >= PL__T_BOOL && kind <= PL__T_WSTRING)
    t = &prims[kind];
  else if (kind == PL__T_TIME)
    t = &prim_time;
  else if (kind == PL__T_DURATION)
    t = &prim_duration;
  else if (kind == PL__T_BYTES)
    t = &prim_bytes;
  else if (kind == PL__T_JSON)
    t = &prim_json;
  else if (kind == PL__T_NUMBER)
    t = &prim_number;
  /* The graph is read-only after parsing; the cast only lets these shared
   * nodes sit in the same non-const fields as the schema's own. */
  return (struct pl__type *)t;
}

struct pl__type *pl__type_new(struct pl__schema *s, int kind) {
  struct pl__type *t = pl__arena_alloc(&s->arena, sizeof *t);
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  t->kind = (uint8_t)kind;
  return t;
}

int pl__schema_error(struct pl__schema *s, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return code;
}

/* ------------------------------------------------------------ name table */

static uint32_t hash_name(const char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static int tab_grow(struct pl__schema *s) {
  uint32_t cap = s->tab_cap ? s->tab_cap * 2 : 64;
  struct pl__type **tab = calloc(cap, sizeof *tab);
  if (!tab) return -1;
  for (uint32_t i = 0; i < s->tab_cap; i++) {
    struct pl__type *t = s->tab[i];
    if (!t) continue;
    uint32_t j = hash_name(t->name.data, t->name.len) & (cap - 1);
    while (tab[j]) j = (j + 1) & (cap - 1);
    tab[j] = t;
  }
  free(s->tab);
  s->tab = tab;
  s->tab_cap = cap;
  return 0;
}

struct pl__type *pl__schema_find(const struct pl__schema *s, const char *name, size_t len) {
  if (!s->tab_cap) return NULL;
  uint32_t j = hash_name(name, len) & (s->tab_cap - 1);
  while (s->tab[j]) {
    const struct pl__type *t = s->tab[j];
    if (t->name.len == len && memcmp(t->name.data, name, len) == 0) return s->tab[j];
    j = (j + 1) & (s->tab_cap - 1);
  }
  return NULL;
}

int pl__schema_add(struct pl__schema *s, struct pl__type *t) {
  if ((s->tab_n + 1) * 2 > s->tab_cap && tab_grow(s) != 0) return -1;
  uint32_t j = hash_name(t->name.data, t->name.len) & (s->tab_cap - 1);
  while (s->tab[j]) j = (j + 1) & (s->tab_cap - 1);
  s->tab[j] = t;
  s->tab_n++;
  return 0;
}

int pl__schema_slot(struct pl__schema *s, struct pl__type **slot) {
  if (s->n_slots == s->cap_slots) {
    size_t cap = s->cap_slots ? s->cap_slots * 2 : 64;
    struct pl__type ***p = realloc(s->slots, cap * sizeof *p);
    if (!p) return -1;
    s->slots = p;
    s->cap_slots = cap;
  }
  s->slots[s->n_slots++] = slot;
  return 0;
}

int pl__struct_names(struct pl__schema *s, struct pl__type *t) {
  t->names = pl__arena_alloc(&s->arena, (t->n ? t->n : 1) * sizeof *t->names);
  if (!t->names) return -1;
  t->plain = 1;
  for (uint32_t i = 0; i < t->n; i++) {
    t->names[i] = t->fields[i].name;
    for (uint32_t k = 0; k < t->names[i].len; k++) {
      unsigned char c = (unsigned char)t->names[i].data[k];
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') t->plain = 0;
    }
  }
  return 0;
}

void pl__schema_dispose(struct pl__schema *s) {
  pl__arena_dispose(&s->arena);
  free(s->tab);
  free(s->slots);
  s->tab = NULL;
  s->slots = NULL;
  s->tab_cap = s->tab_n = 0;
  s->n_slots = s->cap_slots = 0;
}

/* ------------------------------------------------------------- checking */

static uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) || r > (UINT64_C(1) << 62) ? UINT64_C(1) << 62 : r;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) || r > (UINT64_C(1) << 62) ? UINT64_C(1) << 62 : r;
}

/*
 * Depth-first walk from t computing min sizes. `sized`: a struct reached
 * again through fields and fixed arrays only (not through a sequence, map or
 * protobuf field) would be infinitely large. Sequences restart the "direct"
 * path but are still walked once. @return 0 or an error code.
 */
static int check(struct pl__schema *s, struct pl__type *t, uint32_t depth, int sized) {
  if (depth > s->max_depth)
    return pl__schema_error(s, PL_DECODE_ELIMIT, "types nest deeper than %u levels", s->max_depth);
  switch (t->kind) {
    case PL__T_STRUCT: {
      if (t->mark == 2) return 0;
      if (t->mark == 1) {
        if (sized)
          return pl__schema_error(s, PL_DECODE_ESCHEMA, "type '%.*s' contains itself",
                                  (int)t->name.len, t->name.data);
        return 0; /* recursion through a sequence or optional field: allowed */
      }
      t->mark = 1;
      uint64_t size = 0;
      for (uint32_t i = 0; i < t->n; i++) {
        struct pl__type *ft = t->fields[i].type;
        /* protobuf fields are all optional on the wire */
        int rc = check(s, ft, depth + 1, sized && !t->fields[i].number);
        if (rc) return rc;
        size = sat_add(size, ft->mark == 1 ? 0 : ft->min_size);
      }
      if (t->n == 0 && t->ros2_empty) size = 1;
      t->min_size = size;
      t->mark = 2;
      return 0;
    }
    case PL__T_ARRAY: {
      if (t->mark == 2) return 0;
      int rc = check(s, t->elem, depth + 1, sized);
      if (rc) return rc;
      t->min_size = sat_mul(t->n, t->elem->mark == 1 ? 0 : t->elem->min_size);
      t->mark = 2;
      return 0;
    }
    case PL__T_SEQ:
    case PL__T_MAP: {
      if (t->mark == 2) return 0;
      t->mark = 2; /* before recursing: a sequence is always finite on the wire */
      if (t->key) {
        int rc = check(s, t->key, depth + 1, 0);
        if (rc) return rc;
      }
      int rc = check(s, t->elem, depth + 1, 0);
      if (rc) return rc;
      t->min_size = 4;
      return 0;
    }
    default:
      return 0;
  }
}

int pl__schema_finish(struct pl__schema *s, pl__resolver resolve, int sized) {
  for (size_t i = 0; i < s->n_slots; i++) {
    struct pl__type *ref = *s->slots[i];
    if (ref->kind != PL__T_REF && ref->kind != PL__T_ALIAS) continue;
    struct pl__type *t = resolve(s, ref);
    if (!t) return PL_DECODE_ESCHEMA; /* resolve set the message */
    *s->slots[i] = t;
  }
  if (!s->root) return pl__schema_error(s, PL_DECODE_ESCHEMA, "no root type");
  return check(s, s->root, 0, sized);
}
