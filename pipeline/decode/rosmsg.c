/*
 * rosmsg.c - parser of ros1msg / ros2msg schema text: the top-level .msg
 * definition, then each dependency after a line of '=' and a line
 * "MSG: pkg/Type" (the gendeps --cat layout).
 *
 * A line is "TYPE NAME", "TYPE NAME DEFAULT" (ROS 2 default values, ignored),
 * or "TYPE NAME=VALUE" (a constant: not part of the data, skipped); '#' starts
 * a comment. TYPE is a primitive, "string<=N" / "wstring<=N", or a message
 * name ("pkg/Type", "pkg/msg/Type", or "Type" in the current package; ROS 1
 * "Header" is std_msgs/Header), followed by "[]", "[N]" or "[<=N]". Names are
 * kept as "pkg/Type" so every spelling finds the same definition. A section
 * whose type was already defined is ignored (rosbag2 repeats them).
 */
#include <stdlib.h>

#include "decode_internal.h"

struct parser {
  struct pl__schema *s;
  int ros2;
  const char *p, *end;
  unsigned line;
  pl_name package; /* package of the section being parsed */
};

static int is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* "pkg/msg/Type" -> "pkg/Type"; "Type" -> "<package>/Type"; into the arena. */
static int normalize(struct parser *ps, const char *name, size_t len, pl_name package,
                     pl_name *out) {
  const char *slash = memchr(name, '/', len);
  const char *last = name + len;
  while (last > name && last[-1] != '/') last--;
  size_t tail = (size_t)(name + len - last);
  char *buf;
  size_t n;
  if (!slash) {
    if (!ps->ros2 && len == 6 && memcmp(name, "Header", 6) == 0) {
      package.data = "std_msgs";
      package.len = 8;
    }
    if (!package.len) {
      buf = pl__arena_strdup(&ps->s->arena, name, len);
      n = len;
    } else {
      n = package.len + 1 + len;
      buf = pl__arena_alloc(&ps->s->arena, n + 1);
      if (buf) {
        memcpy(buf, package.data, package.len);
        buf[package.len] = '/';
        memcpy(buf + package.len + 1, name, len);
        buf[n] = '\0';
      }
    }
  } else {
    size_t pkg = (size_t)(slash - name);
    n = pkg + 1 + tail;
    buf = pl__arena_alloc(&ps->s->arena, n + 1);
    if (buf) {
      memcpy(buf, name, pkg + 1);
      memcpy(buf + pkg + 1, last, tail);
      buf[n] = '\0';
    }
  }
  if (!buf) return -1;
  out->data = buf;
  out->len = (uint32_t)n;
  return 0;
}

static int prim_kind(int ros2, const char *t, size_t n) {
  static const struct {
    const char *name;
    int kind;
    int only; /* 0 both, 1 ros1 only, 2 ros2 only */
  } map[] = {
      {"bool", PL__T_BOOL, 0},   {"int8", PL__T_I8, 0},           {"uint8", PL__T_U8, 0},
      {"int16", PL__T_I16, 0},   {"uint16", PL__T_U16, 0},        {"int32", PL__T_I32, 0},
      {"uint32", PL__T_U32, 0},  {"int64", PL__T_I64, 0},         {"uint64", PL__T_U64, 0},
      {"float32", PL__T_F32, 0}, {"float64", PL__T_F64, 0},       {"string", PL__T_STRING, 0},
      {"char", PL__T_U8, 0},     {"byte", PL__T_I8, 1},           {"byte", PL__T_U8, 2},
      {"time", PL__T_TIME, 1},   {"duration", PL__T_DURATION, 1}, {"wstring", PL__T_WSTRING, 2},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    if (map[i].only == 1 && ros2) continue;
    if (map[i].only == 2 && !ros2) continue;
    if (strlen(map[i].name) == n && memcmp(map[i].name, t, n) == 0) return map[i].kind;
  }
  return -1;
}

static int parse_count(const char *p, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (n == 0 || n > 12) return -1;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  *out = v;
  return 0;
}

/* Parse TYPE (t, n) into *slot (a node, or a reference registered for patching). */
static int parse_type(struct parser *ps, const char *t, size_t n, struct pl__field *f) {
  struct pl__schema *s = ps->s;
  struct pl__type **slot = &f->type;
  const char *br = memchr(t, '[', n);
  size_t base_len = br ? (size_t)(br - t) : n;
  if (br) {
    if (t[n - 1] != ']')
      return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad array type '%.*s'", ps->line,
                              (int)n, t);
    const char *in = br + 1;
    size_t in_len = (size_t)(t + n - 1 - in);
    struct pl__type *arr;
    uint64_t count = 0;
    if (in_len == 0) {
      arr = pl__type_new(s, PL__T_SEQ);
    } else if (in_len > 2 && in[0] == '<' && in[1] == '=') {
      if (parse_count(in + 2, in_len - 2, &count) != 0)
        return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad array bound in '%.*s'",
                                ps->line, (int)n, t);
      arr = pl__type_new(s, PL__T_SEQ);
    } else {
      if (parse_count(in, in_len, &count) != 0)
        return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad array length in '%.*s'",
                                ps->line, (int)n, t);
      if (count > s->max_fixed_array)
        return pl__schema_error(s, PL_DECODE_ELIMIT,
                                "line %u: fixed array of %llu elements (limit %u)", ps->line,
                                (unsigned long long)count, s->max_fixed_array);
      arr = pl__type_new(s, PL__T_ARRAY);
    }
    if (!arr) return PL_DECODE_ENOMEM;
    arr->n = (uint32_t)(count > UINT32_MAX ? UINT32_MAX : count);
    *slot = arr;
    slot = &arr->elem;
  }
  if (base_len == 0)
    return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: missing type", ps->line);
  /* string<=N / wstring<=N: the bound does not change the wire format */
  size_t plain = base_len;
  const char *le = NULL;
  for (size_t i = 0; i + 1 < base_len; i++)
    if (t[i] == '<' && t[i + 1] == '=') {
      le = t + i;
      break;
    }
  if (le) plain = (size_t)(le - t);
  int k = prim_kind(ps->ros2, t, plain);
  if (le && k != PL__T_STRING && k != PL__T_WSTRING)
    return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad type '%.*s'", ps->line,
                            (int)base_len, t);
  if (k >= 0) {
    *slot = pl__prim(k);
    return 0;
  }
  for (size_t i = 0; i < base_len; i++)
    if (!is_ident(t[i]) && t[i] != '/')
      return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad type name '%.*s'", ps->line,
                              (int)base_len, t);
  struct pl__type *ref = pl__type_new(s, PL__T_REF);
  if (!ref || normalize(ps, t, base_len, ps->package, &ref->name) != 0) return PL_DECODE_ENOMEM;
  ref->scope.data = t; /* as written, for the error message */
  ref->scope.len = (uint32_t)base_len;
  *slot = ref;
  if (pl__schema_slot(s, slot) != 0) return PL_DECODE_ENOMEM;
  return 0;
}

/* Type text of a field while its section is collected. */
struct pending {
  const char *type;
  size_t len;
  unsigned line;
};

/* Parse lines until a separator line or the end into struct t. */
static int parse_section(struct parser *ps, struct pl__type *t) {
  struct pl__schema *s = ps->s;
  struct pl__field *fields = NULL;
  struct pending *types = NULL;
  size_t n = 0, cap = 0;
  int rc = PL_DECODE_OK;
  while (ps->p < ps->end) {
    const char *line = ps->p;
    const char *eol = memchr(line, '\n', (size_t)(ps->end - line));
    if (!eol) eol = ps->end;
    /* a separator line: only '=' (at least three) */
    size_t ll = (size_t)(eol - line);
    while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ')) ll--;
    if (ll >= 3) {
      size_t k = 0;
      while (k < ll && line[k] == '=') k++;
      if (k == ll) break;
    }
    ps->p = eol < ps->end ? eol + 1 : eol;
    ps->line++;
    const char *c = line;
    while (c < eol && is_space(*c)) c++;
    if (c == eol || *c == '#') continue;
    const char *ty = c;
    while (c < eol && !is_space(*c) && *c != '#') c++;
    size_t ty_len = (size_t)(c - ty);
    while (c < eol && is_space(*c)) c++;
    const char *nm = c;
    while (c < eol && is_ident(*c)) c++;
    size_t nm_len = (size_t)(c - nm);
    while (c < eol && is_space(*c)) c++;
    if (c < eol && *c == '=') continue; /* a constant: not in the data */
    if (nm_len == 0) {
      rc = pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: expected a field name after '%.*s'",
                            ps->line, (int)(ty_len > 60 ? 60 : ty_len), ty);
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
      struct pending *nt = realloc(types, ncap * sizeof *nt);
      if (!nt) {
        rc = PL_DECODE_ENOMEM;
        goto out;
      }
      types = nt;
      cap = ncap;
    }
    struct pl__field *f = &fields[n];
    memset(f, 0, sizeof *f);
    f->oneof = -1;
    f->name.data = pl__arena_strdup(&s->arena, nm, nm_len);
    f->name.len = (uint32_t)nm_len;
    if (!f->name.data) {
      rc = PL_DECODE_ENOMEM;
      goto out;
    }
    types[n].type = ty;
    types[n].len = ty_len;
    types[n].line = ps->line;
    n++;
  }
  t->fields = pl__arena_alloc(&s->arena, (n ? n : 1) * sizeof *t->fields);
  if (!t->fields) {
    rc = PL_DECODE_ENOMEM;
    goto out;
  }
  if (n) memcpy(t->fields, fields, n * sizeof *fields);
  t->n = (uint32_t)n;
  t->ros2_empty = ps->ros2 && n == 0;
  /* types last, so the slots registered for references are the final fields */
  unsigned line = ps->line;
  for (size_t i = 0; i < n && rc == PL_DECODE_OK; i++) {
    ps->line = types[i].line;
    rc = parse_type(ps, types[i].type, types[i].len, &t->fields[i]);
  }
  ps->line = line;
out:
  free(fields);
  free(types);
  return rc;
}

static int section(struct parser *ps, pl_name full) {
  struct pl__schema *s = ps->s;
  struct pl__type *t = pl__type_new(s, PL__T_STRUCT);
  if (!t) return PL_DECODE_ENOMEM;
  t->name = full;
  const char *slash = memchr(full.data, '/', full.len);
  ps->package.data = full.data;
  ps->package.len = slash ? (uint32_t)(slash - full.data) : 0;
  int rc = parse_section(ps, t);
  if (rc) return rc;
  if (pl__struct_names(s, t) != 0) return PL_DECODE_ENOMEM;
  if (pl__schema_find(s, full.data, full.len)) return PL_DECODE_OK; /* repeated section */
  if (!s->root) s->root = t;
  if (pl__schema_add(s, t) != 0) return PL_DECODE_ENOMEM;
  return PL_DECODE_OK;
}

static struct pl__type *resolve(struct pl__schema *s, const struct pl__type *ref) {
  struct pl__type *t = pl__schema_find(s, ref->name.data, ref->name.len);
  if (!t)
    pl__schema_error(s, PL_DECODE_ESCHEMA, "unknown type '%.*s' (no definition in the schema)",
                     (int)(ref->scope.len > 100 ? 100 : ref->scope.len), ref->scope.data);
  return t;
}

int pl__rosmsg_parse(struct pl__schema *s, const char *text, size_t len, const char *name,
                     size_t name_len, int ros2) {
  struct parser ps;
  memset(&ps, 0, sizeof ps);
  ps.s = s;
  ps.ros2 = ros2;
  ps.p = text;
  ps.end = text + len;
  pl_name none = {"", 0};
  pl_name full;
  if (name_len == 0) return pl__schema_error(s, PL_DECODE_ESCHEMA, "the schema has no name");
  if (normalize(&ps, name, name_len, none, &full) != 0) return PL_DECODE_ENOMEM;
  int rc = section(&ps, full);
  while (rc == PL_DECODE_OK && ps.p < ps.end) {
    /* at a separator line: skip it, expect "MSG: name" */
    const char *eol = memchr(ps.p, '\n', (size_t)(ps.end - ps.p));
    ps.p = eol ? eol + 1 : ps.end;
    ps.line++;
    while (ps.p < ps.end && (*ps.p == '\n' || *ps.p == '\r')) {
      ps.p++;
      ps.line++;
    }
    if (ps.p >= ps.end) break;
    eol = memchr(ps.p, '\n', (size_t)(ps.end - ps.p));
    const char *le = eol ? eol : ps.end;
    const char *c = ps.p;
    if ((size_t)(le - c) < 4 || memcmp(c, "MSG:", 4) != 0)
      return pl__schema_error(s, PL_DECODE_ESCHEMA,
                              "line %u: expected 'MSG: pkg/Type' after "
                              "the separator",
                              ps.line + 1);
    c += 4;
    while (c < le && is_space(*c)) c++;
    const char *ne = le;
    while (ne > c && is_space(ne[-1])) ne--;
    if (ne == c)
      return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: 'MSG:' without a type name",
                              ps.line + 1);
    for (const char *q = c; q < ne; q++)
      if (!is_ident(*q) && *q != '/')
        return pl__schema_error(s, PL_DECODE_ESCHEMA, "line %u: bad type name after 'MSG:'",
                                ps.line + 1);
    ps.p = eol ? eol + 1 : ps.end;
    ps.line++;
    if (normalize(&ps, c, (size_t)(ne - c), none, &full) != 0) return PL_DECODE_ENOMEM;
    rc = section(&ps, full);
  }
  if (rc) return rc;
  return pl__schema_finish(s, resolve, 1);
}
