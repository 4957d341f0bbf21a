/*
 * csv.c - CSV tables of decoded messages: a fixed column layout made once
 * from the decoder's schema, then one row per message.
 *
 * Layout: structs are flattened into "parent.child" paths; arrays get
 * "path[i]" columns for their first max_array elements and, when their length
 * varies or exceeds max_array, a "path.count" column with the real length;
 * byte arrays (uint8[], protobuf bytes, base64 strings of JSON schemas) are one
 * column holding their length (or base64). What cannot be flattened into
 * fixed columns -- maps, a type met again inside itself, JSON values without a
 * schema -- is one column holding the value's compact JSON. The layout is a
 * tree (an array's element layout is shared by its columns); building it is
 * bounded by max_columns and by the nesting depth.
 *
 * Rows walk the layout and the value side by side: members are matched by
 * position for schema-driven formats and by name for JSON objects; anything
 * missing gives empty cells, so every row has exactly the header's columns.
 * Cells are quoted as RFC 4180 says (quotes doubled) when they hold a comma,
 * quote or line break.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_internal.h"

enum lk { L_LEAF, L_STRUCT, L_ARRAY, L_BYTES, L_JSON };

struct lnode {
  uint8_t kind;
  uint8_t count_col; /* ARRAY: a length column after the elements */
  uint32_t shown;    /* ARRAY: element columns */
  uint64_t ncols;    /* columns of this subtree (saturated) */
  struct lnode *elem;
  struct lnode **kids;
  pl_name *names; /* STRUCT: member names (for JSON objects) */
  uint32_t nkids;
};

struct pl_csv {
  struct pl__arena arena;
  struct lnode *root;
  char **cols;
  size_t ncols;
  pl_bytes_mode bytes;
  size_t nodes, max_nodes;
  uint32_t max_array;
  uint32_t max_columns;
  uint32_t max_depth;
  pl_text tmp; /* scratch for JSON cells and unescaped strings, reused */
  /* hash tables of large JSON objects' member names, a stack during a row */
  uint32_t *htab;
  size_t hcap, htop;
};

void pl_csv_options_init(pl_csv_options *o) {
  memset(o, 0, sizeof *o);
  o->max_array = 16;
  o->bytes = PL_BYTES_LENGTH;
  o->max_columns = 65536;
}

/* -------------------------------------------------------------- layout */

#define COLS_CAP (UINT64_C(1) << 40)

static struct lnode *node(pl_csv *c, int kind) {
  if (++c->nodes > c->max_nodes) return NULL;
  struct lnode *n = pl__arena_alloc(&c->arena, sizeof *n);
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  n->ncols = kind == L_STRUCT || kind == L_ARRAY ? 0 : 1;
  return n;
}

/* Types on the current path, to spot a type inside itself. */
struct path {
  const struct pl__type *t;
  const struct path *up;
};

static int on_path(const struct path *p, const struct pl__type *t) {
  for (; p; p = p->up)
    if (p->t == t) return 1;
  return 0;
}

static struct lnode *build(pl_csv *c, const struct pl__type *t, const struct path *up,
                           uint32_t depth) {
  if (depth > c->max_depth) return node(c, L_JSON);
  switch (t->kind) {
    case PL__T_BYTES:
      return node(c, L_BYTES);
    case PL__T_STRING:
      return node(c, t->base64 ? L_BYTES : L_LEAF);
    case PL__T_TIME:
    case PL__T_DURATION: {
      static const pl_name tn[2] = {{"sec", 3}, {"nsec", 4}};
      struct lnode *n = node(c, L_STRUCT);
      if (!n) return NULL;
      n->kids = pl__arena_alloc(&c->arena, 2 * sizeof *n->kids);
      if (!n->kids) return NULL;
      n->nkids = 2;
      n->names = (pl_name *)tn;
      for (int i = 0; i < 2; i++)
        if (!(n->kids[i] = node(c, L_LEAF))) return NULL;
      n->ncols = 2;
      return n;
    }
    case PL__T_STRUCT: {
      if (t->wkt != PL__WKT_NONE) return node(c, L_LEAF);
      if (on_path(up, t)) return node(c, L_JSON);
      struct path here = {t, up};
      struct lnode *n = node(c, L_STRUCT);
      if (!n) return NULL;
      n->nkids = t->n;
      n->names = t->names;
      n->kids = pl__arena_alloc(&c->arena, (t->n ? t->n : 1) * sizeof *n->kids);
      if (!n->kids) return NULL;
      for (uint32_t i = 0; i < t->n; i++) {
        n->kids[i] = build(c, t->fields[i].type, &here, depth + 1);
        if (!n->kids[i]) return NULL;
        n->ncols += n->kids[i]->ncols;
        if (n->ncols > COLS_CAP) n->ncols = COLS_CAP;
      }
      return n;
    }
    case PL__T_ARRAY:
    case PL__T_SEQ: {
      if (t->elem->kind == PL__T_U8) return node(c, L_BYTES);
      struct lnode *n = node(c, L_ARRAY);
      if (!n) return NULL;
      int fixed = t->kind == PL__T_ARRAY;
      n->shown = fixed && t->n < c->max_array ? t->n : c->max_array;
      n->count_col = !fixed || t->n > c->max_array;
      n->elem = build(c, t->elem, up, depth + 1);
      if (!n->elem) return NULL;
      uint64_t per = n->elem->ncols;
      n->ncols = per && n->shown > COLS_CAP / per ? COLS_CAP : per * n->shown;
      n->ncols += n->count_col;
      return n;
    }
    case PL__T_MAP:
    case PL__T_JSON:
      return node(c, L_JSON);
    default:
      return node(c, L_LEAF); /* numbers, bools, enums, strings */
  }
}

/* Column names: a depth-first walk with array indexes expanded. */
struct names {
  pl_csv *c;
  char buf[4096];
  size_t len;
  size_t next;
  int err;
};

static void add_col(struct names *w, const char *suffix) {
  size_t sl = strlen(suffix);
  char *s = pl__arena_alloc(&w->c->arena, w->len + sl + 1);
  if (!s) {
    w->err = 1;
    return;
  }
  memcpy(s, w->buf, w->len);
  memcpy(s + w->len, suffix, sl);
  s[w->len + sl] = '\0';
  w->c->cols[w->next++] = s;
}

static void walk_names(struct names *w, const struct lnode *n) {
  size_t base = w->len;
  switch (n->kind) {
    case L_STRUCT:
      for (uint32_t i = 0; i < n->nkids && !w->err; i++) {
        size_t need = n->names[i].len + 1;
        if (base + need >= sizeof w->buf) {
          w->err = 2;
          return;
        }
        size_t l = base;
        if (l) w->buf[l++] = '.';
        memcpy(w->buf + l, n->names[i].data, n->names[i].len);
        w->len = l + n->names[i].len;
        walk_names(w, n->kids[i]);
        w->len = base;
      }
      return;
    case L_ARRAY:
      for (uint32_t i = 0; i < n->shown && !w->err; i++) {
        int k = snprintf(w->buf + base, sizeof w->buf - base, "[%u]", i);
        if (k < 0 || (size_t)k >= sizeof w->buf - base) {
          w->err = 2;
          return;
        }
        w->len = base + (size_t)k;
        walk_names(w, n->elem);
        w->len = base;
      }
      if (n->count_col) add_col(w, base ? ".count" : "count");
      return;
    default:
      add_col(w, base ? "" : "message");
      return;
  }
}

int pl_csv_create(pl_csv **out, const pl_decoder *d, const pl_csv_options *o,
                  pl_decode_error_info *err) {
  if (err) {
    err->code = 0;
    err->msg[0] = '\0';
  }
  if (!out || !d) return PL_DECODE_EINVAL;
  *out = NULL;
  pl_csv_options def;
  if (!o) {
    pl_csv_options_init(&def);
    o = &def;
  }
  pl_csv *c = calloc(1, sizeof *c);
  if (!c) return PL_DECODE_ENOMEM;
  c->max_array = o->max_array;
  c->bytes = o->bytes == PL_BYTES_BASE64 ? PL_BYTES_BASE64 : PL_BYTES_LENGTH;
  c->max_columns = o->max_columns ? o->max_columns : 65536;
  c->max_nodes = (size_t)c->max_columns * 4 + 1024;
  c->max_depth = pl__decoder_max_depth(d);
  const struct pl__schema *s = pl__decoder_schema(d);
  int rc = PL_DECODE_OK;
  c->root = build(c, s->root, NULL, 0);
  uint64_t n = c->root ? c->root->ncols + 2 : 0;
  if (!c->root || n > c->max_columns) {
    rc = c->nodes > c->max_nodes || n > c->max_columns ? PL_DECODE_ELIMIT : PL_DECODE_ENOMEM;
    if (err) {
      err->code = rc;
      if (rc == PL_DECODE_ELIMIT)
        snprintf(err->msg, sizeof err->msg,
                 "the CSV layout would need more than %u columns (arrays shown up to %u "
                 "elements; lower the array limit)",
                 c->max_columns, c->max_array);
      else
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    pl_csv_free(c);
    return rc;
  }
  c->ncols = (size_t)n;
  c->cols = pl__arena_alloc(&c->arena, c->ncols * sizeof *c->cols);
  struct names *w = calloc(1, sizeof *w);
  if (!c->cols || !w) {
    free(w);
    pl_csv_free(c);
    return PL_DECODE_ENOMEM;
  }
  w->c = c;
  c->cols[0] = "log_time";
  c->cols[1] = "log_time_rfc3339";
  w->next = 2;
  walk_names(w, c->root);
  int werr = w->err;
  free(w);
  if (werr) {
    rc = werr == 2 ? PL_DECODE_ELIMIT : PL_DECODE_ENOMEM;
    if (err) {
      err->code = rc;
      snprintf(err->msg, sizeof err->msg, "%s",
               rc == PL_DECODE_ELIMIT ? "a CSV column name would be longer than 4 KiB"
                                      : "out of memory");
    }
    pl_csv_free(c);
    return rc;
  }
  *out = c;
  return PL_DECODE_OK;
}

void pl_csv_free(pl_csv *c) {
  if (!c) return;
  pl__arena_dispose(&c->arena);
  pl_text_dispose(&c->tmp);
  free(c->htab);
  free(c);
}

size_t pl_csv_column_count(const pl_csv *c) {
  return c ? c->ncols : 0;
}

const char *pl_csv_column_name(const pl_csv *c, size_t i) {
  return c && i < c->ncols ? c->cols[i] : NULL;
}

/* ---------------------------------------------------------------- cells */

/* A text cell, quoted when needed; invalid UTF-8 becomes U+FFFD. */
static int cell_text(pl_text *t, const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  int quote = 0, clean = 1;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = p[i];
    if (ch == ',' || ch == '"' || ch == '\n' || ch == '\r') quote = 1;
    if (ch >= 0x80) clean = 0;
  }
  if (!quote && clean) return pl__text_put(t, s, n);
  if (n > SIZE_MAX / 3 - 2 || pl__text_reserve(t, n * 3 + 2) != 0) return -1;
  char *o = t->data + t->len;
  if (quote) *o++ = '"';
  size_t i = 0;
  while (i < n) {
    uint8_t ch = p[i];
    if (ch < 0x80) {
      if (ch == '"') *o++ = '"';
      *o++ = (char)ch;
      i++;
      continue;
    }
    size_t k = pl_utf8_next(p + i, n - i, NULL, NULL);
    if (k) {
      memcpy(o, p + i, k);
      o += k;
      i += k;
    } else {
      memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
      o += 3;
      i++;
    }
  }
  if (quote) *o++ = '"';
  t->len = (size_t)(o - t->data);
  return 0;
}

static int cell_json(pl_text *t, const pl_value *v, pl_text *tmp) {
  tmp->len = 0;
  if (pl_decode_json_value(v, NULL, tmp) != PL_DECODE_OK) return -1;
  return cell_text(t, tmp->data ? tmp->data : "", tmp->len);
}

static int cell_string(pl_text *t, const pl_value *v, pl_text *tmp) {
  if (!(v->flags & PL_VALUE_F_JSON_ESCAPED)) return cell_text(t, v->v.str, v->count);
  tmp->len = 0;
  if (pl__json_unescape(tmp, v->v.str, v->count) != 0) return -1;
  return cell_text(t, tmp->data ? tmp->data : "", tmp->len);
}

/* Decoded length of base64 text (padding and whitespace not counted). */
static uint64_t base64_len(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '+' || ch == '/' || ch == '-' || ch == '_')
      k++;
  }
  return (uint64_t)k * 3 / 4;
}

static int cell_bytes(const pl_csv *c, pl_text *t, const pl_value *v, pl_text *tmp) {
  if (v->kind == PL_VALUE_BYTES) {
    if (c->bytes == PL_BYTES_BASE64) return pl_text_base64(t, v->v.bytes, v->count);
    pl_value n = {.kind = PL_VALUE_UINT, .v.u = v->count};
    return pl__render_scalar(t, &n, 0);
  }
  if (v->kind == PL_VALUE_STRING) {
    if (c->bytes == PL_BYTES_BASE64) return cell_string(t, v, tmp);
    pl_value n = {.kind = PL_VALUE_UINT, .v.u = base64_len(v->v.str, v->count)};
    return pl__render_scalar(t, &n, 0);
  }
  if (v->kind == PL_VALUE_NULL) return 0;
  return cell_json(t, v, tmp);
}

static int cell_leaf(pl_text *t, const pl_value *v, pl_text *tmp) {
  switch (v->kind) {
    case PL_VALUE_NULL:
      return 0;
    case PL_VALUE_STRING:
      return cell_string(t, v, tmp);
    case PL_VALUE_ENUM:
      if (v->names) return cell_text(t, v->names->data, v->names->len);
      return pl__render_scalar(t, v, 0);
    case PL_VALUE_BYTES:
    case PL_VALUE_ARRAY:
    case PL_VALUE_STRUCT:
      return cell_json(t, v, tmp);
    default:
      return pl__render_scalar(t, v, 0);
  }
}

/* n empty cells (each after a comma). */
static int empties(pl_text *t, uint64_t n) {
  if (pl__text_reserve(t, (size_t)n) != 0) return -1;
  memset(t->data + t->len, ',', (size_t)n);
  t->len += (size_t)n;
  return 0;
}

/* The member of struct value v that layout child i stands for, or NULL (small objects:
 * the same position first, then a scan). */
static const pl_value *member_for(const struct lnode *n, uint32_t i, const pl_value *v) {
  if (!v || v->kind != PL_VALUE_STRUCT) return NULL;
  if (!(v->flags & PL_VALUE_F_JSON_NAMES)) return i < v->count ? &v->v.items[i] : NULL;
  const pl_name *want = &n->names[i];
  if (i < v->count && pl__json_key_eq(v->names[i].data, v->names[i].len, want->data, want->len))
    return &v->v.items[i];
  for (uint32_t k = 0; k < v->count; k++)
    if (pl__json_key_eq(v->names[k].data, v->names[k].len, want->data, want->len))
      return &v->v.items[k];
  return NULL;
}

static uint32_t name_hash(const char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

/* Hash of a JSON member name as it reads (escapes resolved); 0 with *ok = 0 when too long. */
static uint32_t raw_name_hash(const pl_name *raw, int *ok) {
  *ok = 1;
  if (!memchr(raw->data, '\\', raw->len)) return name_hash(raw->data, raw->len);
  if (raw->len > 4096) {
    *ok = 0; /* pl__json_key_eq never matches it either */
    return 0;
  }
  char buf[4096];
  pl_text t = {buf, 0, sizeof buf};
  if (pl__json_unescape(&t, raw->data, raw->len) != 0) {
    *ok = 0;
    return 0;
  }
  return name_hash(buf, t.len);
}

/*
 * Index of the members of a large JSON object on c->htab (open addressing,
 * member index + 1, 0 = empty), so that matching the layout's children costs
 * O(children + members) instead of their product. @return the table's offset
 * and size in *size, or (size_t)-1 when out of memory.
 */
static size_t index_members(pl_csv *c, const pl_value *v, size_t *size) {
  size_t n = 16;
  while (n < 2 * (size_t)v->count) n *= 2;
  if (c->htop + n > c->hcap) {
    size_t cap = c->hcap ? c->hcap : 1024;
    while (cap < c->htop + n) cap *= 2;
    uint32_t *t = realloc(c->htab, cap * sizeof *t);
    if (!t) return (size_t)-1;
    c->htab = t;
    c->hcap = cap;
  }
  size_t base = c->htop;
  uint32_t *tab = c->htab + base;
  memset(tab, 0, n * sizeof *tab);
  for (uint32_t k = 0; k < v->count; k++) {
    int ok;
    uint32_t h = raw_name_hash(&v->names[k], &ok);
    if (!ok) continue;
    size_t j = h & (n - 1);
    while (tab[j]) j = (j + 1) & (n - 1);
    tab[j] = k + 1;
  }
  c->htop += n;
  *size = n;
  return base;
}

static const pl_value *member_by_index(const pl_csv *c, size_t base, size_t size,
                                       const pl_name *want, const pl_value *v) {
  const uint32_t *tab = c->htab + base;
  size_t j = name_hash(want->data, want->len) & (size - 1);
  while (tab[j]) {
    uint32_t k = tab[j] - 1;
    if (pl__json_key_eq(v->names[k].data, v->names[k].len, want->data, want->len))
      return &v->v.items[k];
    j = (j + 1) & (size - 1);
  }
  return NULL;
}

/* Cells of layout n for value v (NULL: absent); each cell is preceded by a comma. */
static int emit(pl_csv *c, const struct lnode *n, const pl_value *v, pl_text *t, pl_text *tmp) {
  switch (n->kind) {
    case L_STRUCT:
      if (!v || v->kind != PL_VALUE_STRUCT) return empties(t, n->ncols);
      if ((v->flags & PL_VALUE_F_JSON_NAMES) && v->count > 8 && n->nkids > 1) {
        size_t size, base = index_members(c, v, &size);
        if (base == (size_t)-1) return -1;
        int rc = 0;
        for (uint32_t i = 0; i < n->nkids && rc == 0; i++)
          rc = emit(c, n->kids[i], member_by_index(c, base, size, &n->names[i], v), t, tmp);
        c->htop = base;
        return rc;
      }
      for (uint32_t i = 0; i < n->nkids; i++)
        if (emit(c, n->kids[i], member_for(n, i, v), t, tmp) != 0) return -1;
      return 0;
    case L_ARRAY: {
      if (!v || v->kind != PL_VALUE_ARRAY) return empties(t, n->ncols);
      for (uint32_t i = 0; i < n->shown; i++) {
        if (i >= v->count) {
          if (empties(t, n->elem->ncols) != 0) return -1;
          continue;
        }
        if (v->flags & PL_VALUE_F_PACKED) {
          pl_value e;
          pl__packed_get(v, i, &e);
          if (emit(c, n->elem, &e, t, tmp) != 0) return -1;
        } else if (emit(c, n->elem, &v->v.items[i], t, tmp) != 0) {
          return -1;
        }
      }
      if (n->count_col) {
        pl_value k = {.kind = PL_VALUE_UINT, .v.u = v->count};
        if (pl__text_ch(t, ',') != 0 || pl__render_scalar(t, &k, 0) != 0) return -1;
      }
      return 0;
    }
    default:
      if (pl__text_ch(t, ',') != 0) return -1;
      if (!v) return 0;
      if (n->kind == L_BYTES) return cell_bytes(c, t, v, tmp);
      if (n->kind == L_JSON) return v->kind == PL_VALUE_NULL ? 0 : cell_json(t, v, tmp);
      return cell_leaf(t, v, tmp);
  }
}

int pl_csv_write_header(const pl_csv *c, pl_text *out) {
  if (!c || !out) return PL_DECODE_EINVAL;
  size_t mark = out->len;
  for (size_t i = 0; i < c->ncols; i++) {
    if ((i && pl__text_ch(out, ',') != 0) || cell_text(out, c->cols[i], strlen(c->cols[i])) != 0) {
      out->len = mark;
      return PL_DECODE_ENOMEM;
    }
  }
  if (pl__text_ch(out, '\n') != 0) {
    out->len = mark;
    return PL_DECODE_ENOMEM;
  }
  return PL_DECODE_OK;
}

int pl_csv_write_row(pl_csv *c, uint64_t log_time, const pl_value *v, pl_text *out) {
  if (!c || !v || !out) return PL_DECODE_EINVAL;
  size_t mark = out->len;
  char tb[64];
  int ok = pl__text_reserve(out, 64) == 0;
  if (ok) {
    out->len += pl__fmt_u64(out->data + out->len, log_time);
    out->data[out->len++] = ',';
    size_t n = pl_decode_format_rfc3339(log_time, tb);
    memcpy(out->data + out->len, tb, n);
    out->len += n;
    c->htop = 0;
    ok = emit(c, c->root, v, out, &c->tmp) == 0 && pl__text_ch(out, '\n') == 0;
  }
  if (!ok) {
    out->len = mark;
    return PL_DECODE_ENOMEM;
  }
  return PL_DECODE_OK;
}
