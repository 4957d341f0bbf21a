/*
 * idl.c - parser of ros2idl schemas: the OMG IDL files rosidl generates,
 * concatenated, each after a line of '=' and a line "IDL: pkg/msg/Type".
 * The top-level type is the schema name with '/' read as '::'.
 *
 * The subset rosidl writes, and a little more: modules, structs, typedefs
 * (arrays included), integer constants (skipped, but usable as array sizes
 * and bounds), enums (32-bit on the wire), sequence<T> / sequence<T, N>,
 * string / wstring with optional bounds, multi-dimensional arrays, every
 * basic type ("unsigned long long", int8 ... uint64, octet, boolean, float,
 * double, char). Annotations (@default, @verbatim, @key, ...) are skipped;
 * preprocessor lines (#include, #pragma) are ignored, since every included
 * file is in the schema. Unions, inheritance, @optional members, wchar and
 * long double are reported as unsupported. Names are resolved from the
 * innermost module outwards once the whole text is parsed.
 */
#include <stdlib.h>

#include "decode_internal.h"

enum tok { T_EOF, T_IDENT, T_INT, T_FLOAT, T_STRING, T_CHAR, T_SCOPE, T_PUNCT, T_ERR };

#define MAX_SCOPE 64  /* module nesting */
#define MAX_NAME 1024 /* a scoped name */
#define MAX_CONSTS 4096

struct constant {
  pl_name name; /* full "a::b::N" */
  uint64_t value;
};

struct idl {
  struct pl__schema *s;
  const char *p, *end, *text;
  unsigned line;
  /* current token */
  int tok;
  const char *tp;
  size_t tn;
  char punct;
  uint64_t ival;
  /* module scope "a::b" */
  char scope[MAX_NAME];
  size_t scope_len;
  unsigned depth;
  struct constant *consts;
  size_t n_consts;
};

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int err(struct idl *x, int code, const char *what) {
  int shown = (int)(x->tn > 40 ? 40 : x->tn);
  if (x->tok == T_EOF)
    return pl__schema_error(x->s, code, "line %u: %s (at the end of the text)", x->line, what);
  return pl__schema_error(x->s, code, "line %u: %s (at '%.*s')", x->line, what, shown, x->tp);
}

/* Skip whitespace, comments, preprocessor and section lines. */
static void skip(struct idl *x) {
  for (;;) {
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' || *x->p == '\n')) {
      if (*x->p == '\n') x->line++;
      x->p++;
    }
    if (x->p >= x->end) return;
    int line_start = x->p == x->text || x->p[-1] == '\n' || x->p[-1] == ' ' || x->p[-1] == '\t';
    const char *eol = memchr(x->p, '\n', (size_t)(x->end - x->p));
    if (!eol) eol = x->end;
    if (line_start && (*x->p == '#' || (*x->p == '=' && eol - x->p >= 3 && x->p[1] == '=') ||
                       (eol - x->p >= 4 && memcmp(x->p, "IDL:", 4) == 0))) {
      x->p = eol;
      continue;
    }
    if (x->p + 1 < x->end && x->p[0] == '/' && x->p[1] == '/') {
      x->p = eol;
      continue;
    }
    if (x->p + 1 < x->end && x->p[0] == '/' && x->p[1] == '*') {
      const char *q = x->p + 2;
      while (q + 1 < x->end && !(q[0] == '*' && q[1] == '/')) {
        if (*q == '\n') x->line++;
        q++;
      }
      x->p = q + 1 < x->end ? q + 2 : x->end;
      continue;
    }
    return;
  }
}

static void next(struct idl *x) {
  skip(x);
  x->tp = x->p;
  x->tn = 0;
  if (x->p >= x->end) {
    x->tok = T_EOF;
    return;
  }
  char c = *x->p;
  if (is_alpha(c)) {
    const char *q = x->p;
    while (q < x->end && (is_alpha(*q) || is_digit(*q))) q++;
    x->tok = T_IDENT;
    x->tn = (size_t)(q - x->p);
    x->p = q;
    return;
  }
  if (is_digit(c) || (c == '.' && x->p + 1 < x->end && is_digit(x->p[1]))) {
    const char *q = x->p;
    uint64_t v = 0;
    int overflow = 0, is_float = 0;
    if (c == '0' && q + 1 < x->end && (q[1] == 'x' || q[1] == 'X')) {
      q += 2;
      while (q < x->end && (is_digit(*q) || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))) {
        unsigned d = is_digit(*q) ? (unsigned)(*q - '0') : (unsigned)((*q | 0x20) - 'a' + 10);
        if (v >> 60) overflow = 1;
        v = v << 4 | d;
        q++;
      }
    } else {
      while (q < x->end && is_digit(*q)) {
        if (v > UINT64_MAX / 10) overflow = 1;
        v = v * 10 + (uint64_t)(*q - '0');
        q++;
      }
      while (q < x->end && (is_digit(*q) || *q == '.' || *q == 'e' || *q == 'E' ||
                            ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')) ||
                            *q == 'd' || *q == 'D')) {
        is_float = 1;
        q++;
      }
    }
    while (q < x->end && (*q == 'l' || *q == 'L' || *q == 'u' || *q == 'U')) q++;
    x->tok = is_float ? T_FLOAT : overflow ? T_ERR : T_INT;
    x->ival = v;
    x->tn = (size_t)(q - x->p);
    x->p = q;
    return;
  }
  if (c == '"' || c == '\'') {
    const char *q = x->p + 1;
    while (q < x->end && *q != c) {
      if (*q == '\\' && q + 1 < x->end) q++;
      if (*q == '\n') x->line++;
      q++;
    }
    if (q >= x->end) {
      x->tok = T_ERR;
      x->tn = 1;
      return;
    }
    x->tok = c == '"' ? T_STRING : T_CHAR;
    x->tn = (size_t)(q + 1 - x->p);
    x->p = q + 1;
    return;
  }
  if (c == ':' && x->p + 1 < x->end && x->p[1] == ':') {
    x->tok = T_SCOPE;
    x->tn = 2;
    x->p += 2;
    return;
  }
  x->tok = T_PUNCT;
  x->punct = c;
  x->tn = 1;
  x->p++;
}

static int is_word(const struct idl *x, const char *w) {
  return x->tok == T_IDENT && strlen(w) == x->tn && memcmp(x->tp, w, x->tn) == 0;
}

static int is_punct(const struct idl *x, char c) {
  return x->tok == T_PUNCT && x->punct == c;
}

static int expect_punct(struct idl *x, char c) {
  if (!is_punct(x, c)) {
    char what[32] = "expected ' '";
    what[10] = c;
    return err(x, PL_DECODE_ESCHEMA, what);
  }
  next(x);
  return 0;
}

/* Skip a balanced (...) group, strings included. */
static int skip_parens(struct idl *x) {
  int level = 0;
  do {
    if (x->tok == T_EOF || x->tok == T_ERR) return err(x, PL_DECODE_ESCHEMA, "unbalanced '('");
    if (is_punct(x, '(')) level++;
    if (is_punct(x, ')')) level--;
    next(x);
  } while (level > 0);
  return 0;
}

/* Skip annotations; *optional set when one is @optional. */
static int annotations(struct idl *x, int *optional) {
  while (is_punct(x, '@')) {
    next(x);
    if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected an annotation name");
    if (optional && is_word(x, "optional")) *optional = 1;
    next(x);
    while (x->tok == T_SCOPE) {
      next(x);
      if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a name after '::'");
      next(x);
    }
    if (is_punct(x, '(')) {
      int rc = skip_parens(x);
      if (rc) return rc;
    }
  }
  return 0;
}

/* A scoped name into buf ("a::b::C", a leading "::" kept). */
static int scoped_name(struct idl *x, char *buf, size_t *len) {
  size_t n = 0;
  if (x->tok == T_SCOPE) {
    memcpy(buf, "::", 2);
    n = 2;
    next(x);
  }
  for (;;) {
    if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a name");
    if (n + x->tn + 2 >= MAX_NAME) return err(x, PL_DECODE_ELIMIT, "name too long");
    memcpy(buf + n, x->tp, x->tn);
    n += x->tn;
    next(x);
    if (x->tok != T_SCOPE) break;
    memcpy(buf + n, "::", 2);
    n += 2;
    next(x);
  }
  *len = n;
  return 0;
}

/* The full name "scope::name" in the arena. */
static int full_name(struct idl *x, const char *name, size_t n, pl_name *out) {
  size_t total = x->scope_len ? x->scope_len + 2 + n : n;
  char *p = pl__arena_alloc(&x->s->arena, total + 1);
  if (!p) return PL_DECODE_ENOMEM;
  size_t o = 0;
  if (x->scope_len) {
    memcpy(p, x->scope, x->scope_len);
    memcpy(p + x->scope_len, "::", 2);
    o = x->scope_len + 2;
  }
  memcpy(p + o, name, n);
  p[total] = '\0';
  out->data = p;
  out->len = (uint32_t)total;
  return 0;
}

static const struct constant *find_const(const struct idl *x, const char *name, size_t n) {
  /* innermost scope first */
  char buf[2 * MAX_NAME];
  size_t sl = x->scope_len;
  if (n >= 2 && name[0] == ':') {
    name += 2;
    n -= 2;
    sl = 0;
  }
  for (;;) {
    size_t len = 0;
    if (sl) {
      memcpy(buf, x->scope, sl);
      memcpy(buf + sl, "::", 2);
      len = sl + 2;
    }
    memcpy(buf + len, name, n);
    len += n;
    for (size_t i = 0; i < x->n_consts; i++)
      if (x->consts[i].name.len == len && memcmp(x->consts[i].name.data, buf, len) == 0)
        return &x->consts[i];
    if (!sl) return NULL;
    while (sl > 0 && !(sl >= 2 && x->scope[sl - 1] == ':' && x->scope[sl - 2] == ':')) sl--;
    sl = sl >= 2 ? sl - 2 : 0;
  }
}

/* A positive constant expression: a literal or an integer constant's name. */
static int const_expr(struct idl *x, uint64_t *out) {
  if (x->tok == T_INT) {
    *out = x->ival;
    next(x);
    return 0;
  }
  if (x->tok == T_IDENT || x->tok == T_SCOPE) {
    char name[MAX_NAME];
    size_t n;
    int rc = scoped_name(x, name, &n);
    if (rc) return rc;
    const struct constant *c = find_const(x, name, n);
    if (!c) return err(x, PL_DECODE_ESCHEMA, "unknown constant in a size");
    *out = c->value;
    return 0;
  }
  return err(x, PL_DECODE_ESCHEMA, "expected a size (an integer or an integer constant)");
}

static int type_spec(struct idl *x, struct pl__type **slot);

/* Basic type keywords; -1 when not one (the token is left alone). */
static int basic_type(struct idl *x) {
  static const struct {
    const char *w;
    int kind;
  } map[] = {{"boolean", PL__T_BOOL}, {"octet", PL__T_U8},   {"char", PL__T_U8},
             {"int8", PL__T_I8},      {"uint8", PL__T_U8},   {"int16", PL__T_I16},
             {"uint16", PL__T_U16},   {"int32", PL__T_I32},  {"uint32", PL__T_U32},
             {"int64", PL__T_I64},    {"uint64", PL__T_U64}, {"float", PL__T_F32},
             {"double", PL__T_F64},   {"short", PL__T_I16}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (is_word(x, map[i].w)) {
      next(x);
      return map[i].kind;
    }
  if (is_word(x, "unsigned")) {
    next(x);
    if (is_word(x, "short")) {
      next(x);
      return PL__T_U16;
    }
    if (is_word(x, "long")) {
      next(x);
      if (is_word(x, "long")) {
        next(x);
        return PL__T_U64;
      }
      return PL__T_U32;
    }
    return -2;
  }
  if (is_word(x, "long")) {
    next(x);
    if (is_word(x, "long")) {
      next(x);
      return PL__T_I64;
    }
    if (is_word(x, "double")) return -3;
    return PL__T_I32;
  }
  if (is_word(x, "wchar")) return -4;
  return -1;
}

static int type_spec(struct idl *x, struct pl__type **slot) {
  struct pl__schema *s = x->s;
  int k = basic_type(x);
  if (k >= 0) {
    *slot = pl__prim(k);
    return 0;
  }
  if (k == -2) return err(x, PL_DECODE_ESCHEMA, "expected 'short' or 'long' after 'unsigned'");
  if (k == -3) return err(x, PL_DECODE_EUNSUPPORTED, "'long double' is not supported");
  if (k == -4) return err(x, PL_DECODE_EUNSUPPORTED, "'wchar' is not supported");
  if (is_word(x, "string") || is_word(x, "wstring")) {
    int wide = x->tn == 7;
    next(x);
    if (is_punct(x, '<')) {
      next(x);
      uint64_t bound;
      int rc = const_expr(x, &bound);
      if (rc) return rc;
      rc = expect_punct(x, '>');
      if (rc) return rc;
    }
    *slot = pl__prim(wide ? PL__T_WSTRING : PL__T_STRING);
    return 0;
  }
  if (is_word(x, "sequence")) {
    next(x);
    int rc = expect_punct(x, '<');
    if (rc) return rc;
    struct pl__type *seq = pl__type_new(s, PL__T_SEQ);
    if (!seq) return PL_DECODE_ENOMEM;
    if (++x->depth > s->max_depth) return err(x, PL_DECODE_ELIMIT, "types nest too deep");
    rc = type_spec(x, &seq->elem);
    x->depth--;
    if (rc) return rc;
    if (seq->elem->kind == PL__T_REF && pl__schema_slot(s, &seq->elem) != 0)
      return PL_DECODE_ENOMEM;
    if (is_punct(x, ',')) {
      next(x);
      uint64_t bound;
      rc = const_expr(x, &bound);
      if (rc) return rc;
      seq->n = (uint32_t)(bound > UINT32_MAX ? UINT32_MAX : bound);
    }
    rc = expect_punct(x, '>');
    if (rc) return rc;
    *slot = seq;
    return 0;
  }
  if (is_word(x, "any") || is_word(x, "fixed") || is_word(x, "map") || is_word(x, "bitset") ||
      is_word(x, "bitmask"))
    return err(x, PL_DECODE_EUNSUPPORTED, "type not supported");
  if (x->tok != T_IDENT && x->tok != T_SCOPE) return err(x, PL_DECODE_ESCHEMA, "expected a type");
  char name[MAX_NAME];
  size_t n;
  int rc = scoped_name(x, name, &n);
  if (rc) return rc;
  struct pl__type *ref = pl__type_new(s, PL__T_REF);
  if (!ref) return PL_DECODE_ENOMEM;
  ref->name.data = pl__arena_strdup(&s->arena, name, n);
  ref->name.len = (uint32_t)n;
  ref->scope.data = pl__arena_strdup(&s->arena, x->scope, x->scope_len);
  ref->scope.len = (uint32_t)x->scope_len;
  if (!ref->name.data || !ref->scope.data) return PL_DECODE_ENOMEM;
  *slot = ref; /* the caller registers the slot where the reference finally lives */
  return 0;
}

/* Array dimensions after a declarator name wrap *slot (outermost first). */
static int dimensions(struct idl *x, struct pl__type **slot, struct pl__type *base) {
  struct pl__type *dims[16];
  int nd = 0;
  while (is_punct(x, '[')) {
    next(x);
    uint64_t n;
    int rc = const_expr(x, &n);
    if (rc) return rc;
    rc = expect_punct(x, ']');
    if (rc) return rc;
    if (nd == 16) return err(x, PL_DECODE_ELIMIT, "more than 16 array dimensions");
    if (n > x->s->max_fixed_array)
      return pl__schema_error(x->s, PL_DECODE_ELIMIT,
                              "line %u: fixed array of %llu elements (limit %u)", x->line,
                              (unsigned long long)n, x->s->max_fixed_array);
    struct pl__type *a = pl__type_new(x->s, PL__T_ARRAY);
    if (!a) return PL_DECODE_ENOMEM;
    a->n = (uint32_t)n;
    dims[nd++] = a;
  }
  if (!nd) {
    *slot = base;
  } else {
    *slot = dims[0];
    for (int i = 0; i + 1 < nd; i++) dims[i]->elem = dims[i + 1];
    dims[nd - 1]->elem = base;
  }
  /* a reference now sits in a new place: register that one too */
  if (base->kind == PL__T_REF) {
    struct pl__type **where = nd ? &dims[nd - 1]->elem : slot;
    if (pl__schema_slot(x->s, where) != 0) return PL_DECODE_ENOMEM;
  }
  return 0;
}

static int struct_def(struct idl *x) {
  struct pl__schema *s = x->s;
  next(x); /* 'struct' */
  if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a struct name");
  pl_name full;
  if (full_name(x, x->tp, x->tn, &full)) return PL_DECODE_ENOMEM;
  next(x);
  if (is_punct(x, ';')) { /* forward declaration */
    next(x);
    return 0;
  }
  if (is_punct(x, ':'))
    return err(x, PL_DECODE_EUNSUPPORTED, "struct inheritance is not supported");
  int rc = expect_punct(x, '{');
  if (rc) return rc;
  struct pl__field *fields = NULL;
  size_t n = 0, cap = 0;
  while (!is_punct(x, '}')) {
    if (x->tok == T_EOF || x->tok == T_ERR) {
      rc = err(x, PL_DECODE_ESCHEMA, "unterminated struct");
      goto out;
    }
    int optional = 0;
    rc = annotations(x, &optional);
    if (rc) goto out;
    if (optional) {
      rc = err(x, PL_DECODE_EUNSUPPORTED, "@optional members are not supported");
      goto out;
    }
    struct pl__type *base = NULL;
    rc = type_spec(x, &base);
    if (rc) goto out;
    for (;;) {
      if (x->tok != T_IDENT) {
        rc = err(x, PL_DECODE_ESCHEMA, "expected a member name");
        goto out;
      }
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        struct pl__field *nf = realloc(fields, ncap * sizeof *nf);
        if (!nf) {
          rc = PL_DECODE_ENOMEM;
          goto out;
        }
        fields = nf;
        cap = ncap;
      }
      struct pl__field *f = &fields[n++];
      memset(f, 0, sizeof *f);
      f->oneof = -1;
      f->name.data = pl__arena_strdup(&s->arena, x->tp, x->tn);
      f->name.len = (uint32_t)x->tn;
      if (!f->name.data) {
        rc = PL_DECODE_ENOMEM;
        goto out;
      }
      next(x);
      /* the field's final address is not known yet: keep the dimensions on a node */
      struct pl__type *holder = pl__type_new(s, PL__T_ALIAS);
      if (!holder) {
        rc = PL_DECODE_ENOMEM;
        goto out;
      }
      rc = dimensions(x, &holder->elem, base);
      if (rc) goto out;
      f->type = holder;
      if (!is_punct(x, ',')) break;
      next(x);
    }
    rc = expect_punct(x, ';');
    if (rc) goto out;
  }
  next(x); /* '}' */
  rc = expect_punct(x, ';');
  if (rc) goto out;
  struct pl__type *t = pl__type_new(s, PL__T_STRUCT);
  if (!t) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  t->name = full;
  t->n = (uint32_t)n;
  t->fields = pl__arena_alloc(&s->arena, (n ? n : 1) * sizeof *t->fields);
  if (!t->fields) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  if (n) memcpy(t->fields, fields, n * sizeof *fields);
  /* each field's holder becomes a slot of its own: resolve() follows aliases */
  for (size_t i = 0; i < n; i++)
    if (pl__schema_slot(s, &t->fields[i].type) != 0) {
      rc = PL_DECODE_ENOMEM;
      goto out;
    }
  if (pl__struct_names(s, t) != 0) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  if (!pl__schema_find(s, full.data, full.len) && pl__schema_add(s, t) != 0) rc = PL_DECODE_ENOMEM;
out:
  free(fields);
  return rc;
}

static int typedef_def(struct idl *x) {
  struct pl__schema *s = x->s;
  next(x); /* 'typedef' */
  struct pl__type *base = NULL;
  int rc = type_spec(x, &base);
  if (rc) return rc;
  for (;;) {
    if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a typedef name");
    struct pl__type *alias = pl__type_new(s, PL__T_ALIAS);
    if (!alias || full_name(x, x->tp, x->tn, &alias->name)) return PL_DECODE_ENOMEM;
    next(x);
    rc = dimensions(x, &alias->elem, base);
    if (rc) return rc;
    if (!pl__schema_find(s, alias->name.data, alias->name.len) && pl__schema_add(s, alias) != 0)
      return PL_DECODE_ENOMEM;
    if (!is_punct(x, ',')) break;
    next(x);
  }
  return expect_punct(x, ';');
}

static int const_def(struct idl *x) {
  next(x); /* 'const' */
  struct pl__type *t = NULL;
  int rc = type_spec(x, &t);
  if (rc) return rc;
  if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a constant name");
  const char *nm = x->tp;
  size_t nn = x->tn;
  next(x);
  rc = expect_punct(x, '=');
  if (rc) return rc;
  /* integer constants are remembered (array sizes may use them); others skipped */
  int simple = 0;
  uint64_t v = 0;
  if (x->tok == T_INT) {
    v = x->ival;
    next(x);
    simple = is_punct(x, ';');
  }
  while (!is_punct(x, ';')) {
    if (x->tok == T_EOF || x->tok == T_ERR) return err(x, PL_DECODE_ESCHEMA, "unterminated const");
    next(x);
  }
  next(x); /* ';' */
  if (simple) {
    if (x->n_consts >= MAX_CONSTS) return err(x, PL_DECODE_ELIMIT, "too many constants");
    if (x->n_consts % 64 == 0) {
      struct constant *c = realloc(x->consts, (x->n_consts + 64) * sizeof *c);
      if (!c) return PL_DECODE_ENOMEM;
      x->consts = c;
    }
    struct constant *c = &x->consts[x->n_consts];
    if (full_name(x, nm, nn, &c->name)) return PL_DECODE_ENOMEM;
    c->value = v;
    x->n_consts++;
  }
  return 0;
}

static int enum_def(struct idl *x) {
  struct pl__schema *s = x->s;
  next(x); /* 'enum' */
  if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected an enum name");
  struct pl__type *t = pl__type_new(s, PL__T_ENUM);
  if (!t || full_name(x, x->tp, x->tn, &t->name)) return PL_DECODE_ENOMEM;
  next(x);
  int rc = expect_punct(x, '{');
  if (rc) return rc;
  pl_name *names = NULL;
  size_t n = 0, cap = 0;
  while (!is_punct(x, '}')) {
    rc = annotations(x, NULL);
    if (rc) goto out;
    if (x->tok != T_IDENT) {
      rc = err(x, PL_DECODE_ESCHEMA, "expected an enumerator");
      goto out;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      pl_name *nn = realloc(names, ncap * sizeof *nn);
      if (!nn) {
        rc = PL_DECODE_ENOMEM;
        goto out;
      }
      names = nn;
      cap = ncap;
    }
    names[n].data = pl__arena_strdup(&s->arena, x->tp, x->tn);
    names[n].len = (uint32_t)x->tn;
    if (!names[n].data) {
      rc = PL_DECODE_ENOMEM;
      goto out;
    }
    n++;
    next(x);
    if (is_punct(x, ',')) next(x);
  }
  next(x);
  rc = expect_punct(x, ';');
  if (rc) goto out;
  t->n = (uint32_t)n;
  t->names = pl__arena_alloc(&s->arena, (n ? n : 1) * sizeof *t->names);
  t->numbers = pl__arena_alloc(&s->arena, (n ? n : 1) * sizeof *t->numbers);
  if (!t->names || !t->numbers) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    t->names[i] = names[i];
    t->numbers[i] = (int32_t)i;
  }
  if (!pl__schema_find(s, t->name.data, t->name.len) && pl__schema_add(s, t) != 0)
    rc = PL_DECODE_ENOMEM;
out:
  free(names);
  return rc;
}

static int definitions(struct idl *x, int in_module);

static int module_def(struct idl *x) {
  next(x); /* 'module' */
  if (x->tok != T_IDENT) return err(x, PL_DECODE_ESCHEMA, "expected a module name");
  if (x->depth >= MAX_SCOPE) return err(x, PL_DECODE_ELIMIT, "modules nest too deep");
  size_t saved = x->scope_len;
  size_t add = (saved ? 2 : 0) + x->tn;
  if (saved + add >= MAX_NAME) return err(x, PL_DECODE_ELIMIT, "module name too long");
  if (saved) {
    memcpy(x->scope + saved, "::", 2);
    memcpy(x->scope + saved + 2, x->tp, x->tn);
  } else {
    memcpy(x->scope, x->tp, x->tn);
  }
  x->scope_len = saved + add;
  next(x);
  int rc = expect_punct(x, '{');
  if (rc) return rc;
  x->depth++;
  rc = definitions(x, 1);
  x->depth--;
  if (rc) return rc;
  next(x); /* '}' */
  x->scope_len = saved;
  return expect_punct(x, ';');
}

static int definitions(struct idl *x, int in_module) {
  for (;;) {
    int rc = annotations(x, NULL);
    if (rc) return rc;
    if (x->tok == T_EOF) {
      if (in_module) return err(x, PL_DECODE_ESCHEMA, "unterminated module");
      return 0;
    }
    if (in_module && is_punct(x, '}')) return 0;
    if (x->tok == T_ERR) return err(x, PL_DECODE_ESCHEMA, "bad token");
    if (is_word(x, "module"))
      rc = module_def(x);
    else if (is_word(x, "struct"))
      rc = struct_def(x);
    else if (is_word(x, "typedef"))
      rc = typedef_def(x);
    else if (is_word(x, "const"))
      rc = const_def(x);
    else if (is_word(x, "enum"))
      rc = enum_def(x);
    else if (is_word(x, "union"))
      rc = err(x, PL_DECODE_EUNSUPPORTED, "unions are not supported");
    else if (is_punct(x, ';')) {
      next(x);
      rc = 0;
    } else
      rc = err(x, PL_DECODE_ESCHEMA, "expected a definition");
    if (rc) return rc;
  }
}

/* Look a name up from `scope` outwards; follow typedefs. */
static struct pl__type *lookup(struct pl__schema *s, const char *name, size_t n, const char *scope,
                               size_t sl) {
  char buf[2 * MAX_NAME + 4];
  if (n >= 2 && name[0] == ':') {
    name += 2;
    n -= 2;
    sl = 0;
  }
  if (n + sl + 2 > sizeof buf) return NULL;
  for (;;) {
    size_t len = 0;
    if (sl) {
      memcpy(buf, scope, sl);
      memcpy(buf + sl, "::", 2);
      len = sl + 2;
    }
    memcpy(buf + len, name, n);
    len += n;
    struct pl__type *t = pl__schema_find(s, buf, len);
    if (t) return t;
    if (!sl) return NULL;
    while (sl > 0 && !(sl >= 2 && scope[sl - 1] == ':' && scope[sl - 2] == ':')) sl--;
    sl = sl >= 2 ? sl - 2 : 0;
  }
}

static struct pl__type *resolve(struct pl__schema *s, const struct pl__type *ref) {
  const struct pl__type *cur = ref;
  for (unsigned hops = 0; hops < 256; hops++) {
    struct pl__type *t;
    if (cur->kind == PL__T_ALIAS) {
      t = cur->elem;
    } else {
      t = lookup(s, cur->name.data, cur->name.len, cur->scope.data, cur->scope.len);
      if (!t) {
        pl__schema_error(s, PL_DECODE_ESCHEMA, "unknown type '%.*s'",
                         (int)(cur->name.len > 100 ? 100 : cur->name.len), cur->name.data);
        return NULL;
      }
    }
    if (t->kind != PL__T_REF && t->kind != PL__T_ALIAS) return t;
    cur = t;
  }
  pl__schema_error(s, PL_DECODE_ESCHEMA, "typedefs refer to each other in a loop");
  return NULL;
}

int pl__idl_parse(struct pl__schema *s, const char *text, size_t len, const char *name,
                  size_t name_len) {
  struct idl x;
  memset(&x, 0, sizeof x);
  x.s = s;
  x.text = x.p = text;
  x.end = text + len;
  x.line = 1;
  next(&x);
  int rc = definitions(&x, 0);
  free(x.consts);
  if (rc) return rc;
  /* the root: the schema name with '/' as '::' */
  char root[MAX_NAME];
  size_t n = 0;
  for (size_t i = 0; i < name_len && n + 2 < sizeof root; i++) {
    if (name[i] == '/') {
      root[n++] = ':';
      root[n++] = ':';
    } else {
      root[n++] = name[i];
    }
  }
  struct pl__type *r = pl__schema_find(s, root, n);
  while (r && r->kind == PL__T_ALIAS && r->elem && r->elem->kind != PL__T_REF) r = r->elem;
  if (!r || r->kind != PL__T_STRUCT)
    return pl__schema_error(s, PL_DECODE_ESCHEMA, "no struct '%.*s' in the IDL text",
                            (int)(n > 200 ? 200 : n), root);
  s->root = r;
  return pl__schema_finish(s, resolve, 1);
}
