/*
 * json.c - the json message encoding and the jsonschema schema encoding.
 *
 * Messages: a strict RFC 8259 parser (one value, valid UTF-8 in strings,
 * nesting at most max_depth) that builds a pl_value tree without copying:
 * strings and object keys stay JSON string bodies (escapes included,
 * PL_VALUE_F_JSON_ESCAPED / _NAMES) and numbers stay the text they were
 * written as (PL_VALUE_NUMBER), so rendering the tree as JSON gives the
 * message back exactly, minus insignificant whitespace. Members and elements
 * are gathered on a scratch stack and copied to the arena when their bracket
 * closes. The parser is also used on JSON schema text.
 *
 * Schemas: a JSON Schema gives the CSV layout its columns. "object" with
 * "properties" becomes a struct (properties in order), "array" with "items" a
 * sequence, "number"/"integer" a number, "string" a string ("contentEncoding":
 * "base64" makes it a byte array for the bytes rule), "boolean" a bool; local
 * references ("#/definitions/X", "#/$defs/X") are followed, each definition
 * converted once. Anything else (unions, "enum" without "type", "null") is an
 * opaque JSON value. An empty schema text makes the whole message opaque.
 */
#include <stdlib.h>

#include "decode_internal.h"

struct jp {
  const char *s;
  size_t n, i;
  struct pl__dctx *c;
};

static int jfail(struct jp *p, const char *what) {
  if (p->i >= p->n)
    return pl__fail(p->c, PL_DECODE_EMESSAGE, p->i, "JSON: %s (at the end of the text)", what);
  return pl__fail(p->c, PL_DECODE_EMESSAGE, p->i, "JSON: %s", what);
}

static void ws(struct jp *p) {
  while (p->i < p->n) {
    char c = p->s[p->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->i++;
  }
}

static int scratch_push(struct jp *p, const pl_value *v, const char *name, size_t name_len) {
  struct pl__scratch *s = p->c->scratch;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    /* the scratch stack counts against the tree limit too */
    if (p->c->arena->limit && cap * (sizeof(pl_value) + sizeof(pl_name)) > p->c->arena->limit) {
      p->c->arena->over = 1;
      return pl__fail_alloc(p->c, p->i);
    }
    pl_value *v2 = realloc(s->vals, cap * sizeof *v2);
    if (!v2) return pl__fail(p->c, PL_DECODE_ENOMEM, p->i, "out of memory");
    s->vals = v2;
    pl_name *n2 = realloc(s->names, cap * sizeof *n2);
    if (!n2) return pl__fail(p->c, PL_DECODE_ENOMEM, p->i, "out of memory");
    s->names = n2;
    s->cap = cap;
  }
  s->vals[s->n] = *v;
  s->names[s->n].data = name;
  s->names[s->n].len = (uint32_t)name_len;
  s->n++;
  return 0;
}

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at p->i (on the quote): its body (between the quotes) into body and len. */
static int jstring(struct jp *p, const char **body, size_t *len) {
  size_t start = ++p->i;
  const uint8_t *u = (const uint8_t *)p->s;
  while (p->i < p->n) {
    uint8_t c = u[p->i];
    if (c == '"') {
      *body = p->s + start;
      *len = p->i - start;
      p->i++;
      return 0;
    }
    if (c < 0x20) return jfail(p, "control character in a string");
    if (c == '\\') {
      if (p->i + 1 >= p->n) return jfail(p, "unterminated string");
      char e = p->s[p->i + 1];
      if (e == 'u') {
        if (p->n - p->i < 6 || !is_hex(p->s[p->i + 2]) || !is_hex(p->s[p->i + 3]) ||
            !is_hex(p->s[p->i + 4]) || !is_hex(p->s[p->i + 5]))
          return jfail(p, "bad \\u escape");
        p->i += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                 e == 'r' || e == 't') {
        p->i += 2;
      } else {
        return jfail(p, "bad escape in a string");
      }
      continue;
    }
    if (c < 0x80) {
      p->i++;
      continue;
    }
    size_t k = pl_utf8_next(u + p->i, p->n - p->i, NULL, NULL);
    if (!k) return jfail(p, "invalid UTF-8 in a string");
    p->i += k;
  }
  return jfail(p, "unterminated string");
}

static int digits(struct jp *p) {
  size_t s = p->i;
  while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  return p->i > s ? 0 : -1;
}

static int jnumber(struct jp *p, pl_value *out) {
  size_t start = p->i;
  if (p->s[p->i] == '-') p->i++;
  if (p->i >= p->n) return jfail(p, "bad number");
  if (p->s[p->i] == '0') {
    p->i++;
  } else if (digits(p) != 0) {
    return jfail(p, "bad number");
  }
  if (p->i < p->n && p->s[p->i] == '.') {
    p->i++;
    if (digits(p) != 0) return jfail(p, "bad number: digits expected after '.'");
  }
  if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
    p->i++;
    if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
    if (digits(p) != 0) return jfail(p, "bad number: digits expected in the exponent");
  }
  memset(out, 0, sizeof *out);
  out->kind = PL_VALUE_NUMBER;
  out->v.str = p->s + start;
  out->count = (uint32_t)(p->i - start);
  return 0;
}

static int lit(struct jp *p, const char *w, size_t n) {
  if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0) return jfail(p, "unexpected text");
  p->i += n;
  return 0;
}

static int jvalue(struct jp *p, pl_value *out, uint32_t depth);

/* Move the scratch entries from `base` up into the arena as items (and names). */
static int collect(struct jp *p, size_t base, pl_value *out, int names) {
  struct pl__scratch *s = p->c->scratch;
  size_t n = s->n - base;
  pl_value *items = pl__values(p->c, n ? n : 1);
  if (!items) return pl__fail_alloc(p->c, p->i);
  if (n) memcpy(items, s->vals + base, n * sizeof *items); /* vals is NULL until the first push */
  out->v.items = items;
  out->count = (uint32_t)n;
  out->names = NULL;
  if (names) {
    pl_name *nm = pl__arena_alloc(p->c->arena, (n ? n : 1) * sizeof *nm);
    if (!nm) return pl__fail_alloc(p->c, p->i);
    if (n) memcpy(nm, s->names + base, n * sizeof *nm);
    out->names = nm;
  }
  s->n = base;
  return 0;
}

static int jvalue(struct jp *p, pl_value *out, uint32_t depth) {
  ws(p);
  if (p->i >= p->n) return jfail(p, "value expected");
  char c = p->s[p->i];
  if (c == '{' || c == '[') {
    if (depth >= p->c->max_depth)
      return pl__fail(p->c, PL_DECODE_ELIMIT, p->i, "JSON nests deeper than %u levels",
                      p->c->max_depth);
    int obj = c == '{';
    char close = obj ? '}' : ']';
    size_t base = p->c->scratch->n;
    p->i++;
    ws(p);
    memset(out, 0, sizeof *out);
    out->kind = obj ? PL_VALUE_STRUCT : PL_VALUE_ARRAY;
    out->flags = obj ? PL_VALUE_F_JSON_NAMES : 0;
    if (p->i < p->n && p->s[p->i] == close) {
      p->i++;
      return collect(p, base, out, obj);
    }
    for (;;) {
      const char *key = NULL;
      size_t key_len = 0;
      if (obj) {
        ws(p);
        if (p->i >= p->n || p->s[p->i] != '"') return jfail(p, "member name expected");
        int rc = jstring(p, &key, &key_len);
        if (rc) return rc;
        ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') return jfail(p, "':' expected");
        p->i++;
      }
      pl_value v;
      int rc = jvalue(p, &v, depth + 1);
      if (rc) {
        if (obj) {
          pl_name nm = {key, (uint32_t)key_len};
          pl__path_field(p->c, &nm);
        } else {
          pl__path_index(p->c, p->c->scratch->n - base);
        }
        return rc;
      }
      rc = scratch_push(p, &v, key, key_len);
      if (rc) return rc;
      ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return collect(p, base, out, obj);
      }
      return jfail(p, obj ? "',' or '}' expected" : "',' or ']' expected");
    }
  }
  memset(out, 0, sizeof *out);
  switch (c) {
    case '"': {
      const char *b;
      size_t n;
      int rc = jstring(p, &b, &n);
      if (rc) return rc;
      out->kind = PL_VALUE_STRING;
      out->flags = PL_VALUE_F_JSON_ESCAPED;
      out->v.str = b;
      out->count = (uint32_t)n;
      return 0;
    }
    case 't':
      out->kind = PL_VALUE_BOOL;
      out->v.b = 1;
      return lit(p, "true", 4);
    case 'f':
      out->kind = PL_VALUE_BOOL;
      return lit(p, "false", 5);
    case 'n':
      out->kind = PL_VALUE_NULL;
      return lit(p, "null", 4);
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return jnumber(p, out);
      return jfail(p, "unexpected character");
  }
}

static int parse_text(struct pl__dctx *c, const char *s, size_t n, pl_value *out) {
  struct jp p = {s, n, 0, c};
  if (n > UINT32_MAX) return pl__fail(c, PL_DECODE_ELIMIT, 0, "JSON text larger than 4 GiB");
  c->scratch->n = 0;
  int rc = jvalue(&p, out, 0);
  if (rc) return rc;
  ws(&p);
  if (p.i != n) return jfail(&p, "unexpected text after the JSON value");
  return 0;
}

int pl__json_decode(struct pl__dctx *c, pl_value *out) {
  return parse_text(c, (const char *)c->msg, c->msg_len, out);
}

int pl__json_key_eq(const char *raw, size_t raw_len, const char *name, size_t name_len) {
  if (!memchr(raw, '\\', raw_len)) return raw_len == name_len && memcmp(raw, name, raw_len) == 0;
  if (raw_len > 4096) return 0;
  char buf[4096];
  pl_text t = {buf, 0, sizeof buf};
  if (pl__json_unescape(&t, raw, raw_len) != 0) return 0;
  return t.len == name_len && memcmp(buf, name, name_len) == 0;
}

void pl__scratch_dispose(struct pl__scratch *s) {
  free(s->vals);
  free(s->names);
  memset(s, 0, sizeof *s);
}

/* ----------------------------------------------------------- JSON Schema */

struct js {
  struct pl__schema *s;
  const pl_value *root;
  uint32_t max_depth;
};

static const pl_value *member(const pl_value *obj, const char *name) {
  if (!obj || obj->kind != PL_VALUE_STRUCT) return NULL;
  size_t n = strlen(name);
  for (uint32_t i = 0; i < obj->count; i++)
    if (pl__json_key_eq(obj->names[i].data, obj->names[i].len, name, n)) return &obj->v.items[i];
  return NULL;
}

static int str_is(const pl_value *v, const char *w) {
  return v && v->kind == PL_VALUE_STRING && pl__json_key_eq(v->v.str, v->count, w, strlen(w));
}

static struct pl__type *convert(struct js *j, const pl_value *node, uint32_t depth);

/* "#/definitions/X" or "#/$defs/X": the definition's node, or NULL. */
static const pl_value *ref_target(struct js *j, const pl_value *ref, pl_name *key) {
  static const char *const prefixes[] = {"#/definitions/", "#/$defs/"};
  if (!ref || ref->kind != PL_VALUE_STRING || memchr(ref->v.str, '\\', ref->count)) return NULL;
  for (int k = 0; k < 2; k++) {
    size_t pl = strlen(prefixes[k]);
    if (ref->count > pl && memcmp(ref->v.str, prefixes[k], pl) == 0) {
      const pl_value *defs = member(j->root, k == 0 ? "definitions" : "$defs");
      const char *nm = ref->v.str + pl;
      size_t nl = ref->count - pl;
      if (!defs || defs->kind != PL_VALUE_STRUCT || memchr(nm, '/', nl)) return NULL;
      key->data = ref->v.str;
      key->len = ref->count;
      for (uint32_t i = 0; i < defs->count; i++)
        if (pl__json_key_eq(defs->names[i].data, defs->names[i].len, nm, nl))
          return &defs->v.items[i];
      return NULL;
    }
  }
  return NULL;
}

static struct pl__type *object_type(struct js *j, const pl_value *props, uint32_t depth) {
  struct pl__schema *s = j->s;
  struct pl__type *t = pl__type_new(s, PL__T_STRUCT);
  if (!t) return NULL;
  uint32_t n = props ? props->count : 0;
  t->fields = pl__arena_alloc(&s->arena, (n ? n : 1) * sizeof *t->fields);
  if (!t->fields) return NULL;
  t->n = n;
  for (uint32_t i = 0; i < n; i++) {
    struct pl__field *f = &t->fields[i];
    memset(f, 0, sizeof *f);
    f->oneof = -1;
    pl_text tx = {NULL, 0, 0};
    if (pl__json_unescape(&tx, props->names[i].data, props->names[i].len) != 0) {
      pl_text_dispose(&tx);
      return NULL;
    }
    f->name.data = pl__arena_strdup(&s->arena, tx.data ? tx.data : "", tx.len);
    f->name.len = (uint32_t)tx.len;
    pl_text_dispose(&tx);
    if (!f->name.data) return NULL;
    f->type = convert(j, &props->v.items[i], depth + 1);
    if (!f->type) return NULL;
  }
  if (pl__struct_names(s, t) != 0) return NULL;
  return t;
}

static struct pl__type *convert(struct js *j, const pl_value *node, uint32_t depth) {
  struct pl__schema *s = j->s;
  if (depth > j->max_depth || !node || node->kind != PL_VALUE_STRUCT) return pl__prim(PL__T_JSON);
  pl_name key;
  const pl_value *ref = member(node, "$ref");
  if (ref) {
    const pl_value *target = ref_target(j, ref, &key);
    if (!target) return pl__prim(PL__T_JSON);
    struct pl__type *known = pl__schema_find(s, key.data, key.len);
    if (known) return known;
    /* a placeholder first, so a recursive reference finds it */
    struct pl__type *ph = pl__type_new(s, PL__T_JSON);
    if (!ph) return NULL;
    ph->name = key;
    if (pl__schema_add(s, ph) != 0) return NULL;
    struct pl__type *t = convert(j, target, depth + 1);
    if (!t) return NULL;
    pl_name keep = ph->name;
    *ph = *t;
    ph->name = keep;
    return ph;
  }
  const pl_value *type = member(node, "type");
  if (type && type->kind == PL_VALUE_ARRAY) {
    /* ["number", "null"]: one type besides null */
    const pl_value *only = NULL;
    int n = 0;
    for (uint32_t i = 0; i < type->count; i++)
      if (!str_is(&type->v.items[i], "null")) {
        only = &type->v.items[i];
        n++;
      }
    type = n == 1 ? only : NULL;
  }
  const pl_value *props = member(node, "properties");
  if (str_is(type, "object") || (!type && props && props->kind == PL_VALUE_STRUCT)) {
    if (!props || props->kind != PL_VALUE_STRUCT) return pl__prim(PL__T_JSON);
    return object_type(j, props, depth);
  }
  if (str_is(type, "array")) {
    struct pl__type *t = pl__type_new(s, PL__T_SEQ);
    if (!t) return NULL;
    t->elem = convert(j, member(node, "items"), depth + 1);
    return t->elem ? t : NULL;
  }
  if (str_is(type, "number") || str_is(type, "integer")) return pl__prim(PL__T_NUMBER);
  if (str_is(type, "boolean")) return pl__prim(PL__T_BOOL);
  if (str_is(type, "string")) {
    if (str_is(member(node, "contentEncoding"), "base64")) {
      struct pl__type *t = pl__type_new(s, PL__T_STRING);
      if (!t) return NULL;
      t->base64 = 1;
      return t;
    }
    return pl__prim(PL__T_STRING);
  }
  return pl__prim(PL__T_JSON);
}

int pl__jsonschema_parse(struct pl__schema *s, const char *text, size_t len) {
  size_t k = 0;
  while (k < len && (text[k] == ' ' || text[k] == '\n' || text[k] == '\t' || text[k] == '\r')) k++;
  if (k == len) {
    s->root = pl__prim(PL__T_JSON);
    return PL_DECODE_OK;
  }
  struct pl__arena tmp = {NULL, 0, (uint64_t)64 << 20, 0};
  struct pl__scratch scratch = {NULL, NULL, 0, 0};
  struct pl__dctx c;
  pl__dctx_init(&c, &tmp, (const uint8_t *)text, len, s->max_depth);
  c.scratch = &scratch;
  pl_value root;
  int rc = parse_text(&c, text, len, &root);
  if (rc) {
    pl__schema_error(s, rc == PL_DECODE_ENOMEM ? PL_DECODE_ENOMEM : PL_DECODE_ESCHEMA,
                     "not valid JSON: byte %zu: %s", c.offset, c.why);
    rc = rc == PL_DECODE_ENOMEM ? PL_DECODE_ENOMEM : PL_DECODE_ESCHEMA;
    goto out;
  }
  struct js j = {s, &root, s->max_depth};
  s->root = convert(&j, &root, 0);
  if (!s->root) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  rc = PL_DECODE_OK;
out:
  pl__scratch_dispose(&scratch);
  pl__arena_dispose(&tmp);
  return rc;
}
