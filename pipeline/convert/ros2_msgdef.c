/*
 * ros2_msgdef.c - ROS 2 message definitions from .msg files (--msg-path):
 * the ros2msg schema text of a type is its .msg file, then one section per
 * type it depends on, found recursively, each introduced by a line of 80 '='
 * and "MSG: pkg/Name" (the layout rosbag2 itself writes into MCAP files).
 *
 * A type "pkg/msg/Name" (or "pkg/Name") is looked for as
 * DIR/share/pkg/msg/Name.msg and DIR/pkg/msg/Name.msg for each DIR given.
 * A field type without a package is of the same package as the file it is in;
 * primitive types (and their bounded or array forms) have no file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert_internal.h"

#define MAX_TYPES 512
#define MAX_FILE ((size_t)1 << 20)
#define SEPARATOR "================================================================================\n"

static const char *const primitives[] = {
    "bool",   "byte",   "char",   "float32", "float64", "int8",  "uint8",    "int16",
    "uint16", "int32",  "uint32", "int64",   "uint64",  "string", "wstring", "time",
    "duration", NULL};

static int is_primitive(const char *t, size_t n) {
  for (size_t i = 0; primitives[i]; i++)
    if (strlen(primitives[i]) == n && memcmp(primitives[i], t, n) == 0) return 1;
  return 0;
}

struct sbuf {
  char *p;
  size_t len, cap;
};

static int sb_add(struct sbuf *s, const char *d, size_t n) {
  if (cv_grow((void **)&s->p, &s->cap, s->len + n + 1, 1)) return -1;
  memcpy(s->p + s->len, d, n);
  s->len += n;
  s->p[s->len] = '\0';
  return 0;
}

/* Read pkg/msg/Name.msg from the first path that has it. @return text or NULL. */
static char *read_msg(const char *const *paths, size_t n_paths, const char *pkg, const char *name,
                      size_t *len, int *too_big) {
  char file[4096];
  *too_big = 0;
  for (size_t i = 0; i < n_paths; i++) {
    for (int share = 1; share >= 0; share--) {
      snprintf(file, sizeof file, "%s%s/%s/msg/%s.msg", paths[i], share ? "/share" : "", pkg,
               name);
      FILE *f = fopen(file, "rb");
      if (!f) continue;
      struct stat st;
      if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE) {
        *too_big = S_ISREG(st.st_mode);
        fclose(f);
        continue;
      }
      char *t = malloc((size_t)st.st_size + 1);
      if (!t) {
        fclose(f);
        return NULL;
      }
      *len = fread(t, 1, (size_t)st.st_size, f);
      t[*len] = '\0';
      fclose(f);
      return t;
    }
  }
  return NULL;
}

/* "pkg/msg/Name" or "pkg/Name" -> pkg, Name. @return 0 or -1 (malformed). */
static int split_type(const char *type, char *pkg, size_t pn, char *name, size_t nn) {
  const char *s1 = strchr(type, '/');
  if (!s1 || s1 == type) return -1;
  const char *last = strrchr(type, '/');
  const char *mid = s1 + 1;
  if (last != s1) { /* pkg/<msg>/Name */
    if ((size_t)(last - mid) != 3 || memcmp(mid, "msg", 3) != 0) return -1;
  }
  size_t pl = (size_t)(s1 - type), nl = strlen(last + 1);
  if (!nl || pl >= pn || nl >= nn) return -1;
  memcpy(pkg, type, pl);
  pkg[pl] = '\0';
  memcpy(name, last + 1, nl + 1);
  return 0;
}

/* Append to `queue` the types the .msg text of package `pkg` refers to. */
static int collect_deps(const char *text, const char *pkg, char ***queue, size_t *n,
                        size_t *cap) {
  const char *p = text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    const char *q = p, *end = p + ll;
    while (q < end && (*q == ' ' || *q == '\t')) q++;
    const char *t = q;
    while (q < end && *q != ' ' && *q != '\t' && *q != '#') q++;
    size_t tl = (size_t)(q - t);
    /* The type without array ([...]) and bound (<=N) suffixes. */
    for (size_t i = 0; i < tl; i++)
      if (t[i] == '[' || t[i] == '<') {
        tl = i;
        break;
      }
    if (tl && *t != '#' && !is_primitive(t, tl)) {
      char dep[512];
      const char *slash = memchr(t, '/', tl);
      int w;
      if (slash) w = snprintf(dep, sizeof dep, "%.*s", (int)tl, t);
      else if (tl == 6 && memcmp(t, "Header", 6) == 0) w = snprintf(dep, sizeof dep, "std_msgs/Header");
      else w = snprintf(dep, sizeof dep, "%s/%.*s", pkg, (int)tl, t);
      if (w > 0 && (size_t)w < sizeof dep) {
        if (cv_grow((void **)queue, cap, *n + 1, sizeof **queue)) return -1;
        (*queue)[*n] = cv_strdup(dep);
        if (!(*queue)[*n]) return -1;
        (*n)++;
      }
    }
    p = eol ? eol + 1 : end;
  }
  return 0;
}

int cv_msgdef_resolve(const char *const *paths, size_t n_paths, const char *type, char **text,
                      size_t *len, char **missing) {
  *text = NULL;
  *len = 0;
  *missing = NULL;
  char **queue = NULL, **done = NULL;
  size_t nq = 0, cq = 0, nd = 0, cd = 0, qi = 0;
  struct sbuf out = {0};
  int rc = PL_CONVERT_OK;
  if (cv_grow((void **)&queue, &cq, 1, sizeof *queue) || !(queue[0] = cv_strdup(type))) {
    rc = PL_CONVERT_ENOMEM;
    goto out;
  }
  nq = 1;
  while (qi < nq) {
    char pkg[256], name[256];
    const char *t = queue[qi++];
    if (split_type(t, pkg, sizeof pkg, name, sizeof name)) {
      *missing = cv_strdup(t);
      rc = PL_CONVERT_EFORMAT;
      goto out;
    }
    /* Already written (as pkg/Name, whichever spelling was used)? */
    char key[520];
    snprintf(key, sizeof key, "%s/%s", pkg, name);
    int seen = 0;
    for (size_t i = 0; i < nd && !seen; i++) seen = strcmp(done[i], key) == 0;
    if (seen) continue;
    if (nd >= MAX_TYPES) {
      rc = PL_CONVERT_ELIMIT;
      goto out;
    }
    size_t tl = 0;
    int too_big = 0;
    char *body = read_msg(paths, n_paths, pkg, name, &tl, &too_big);
    if (!body) {
      *missing = cv_strdup(too_big ? t : key);
      rc = too_big ? PL_CONVERT_ELIMIT : PL_CONVERT_EFORMAT;
      goto out;
    }
    if (cv_grow((void **)&done, &cd, nd + 1, sizeof *done) || !(done[nd] = cv_strdup(key))) {
      free(body);
      rc = PL_CONVERT_ENOMEM;
      goto out;
    }
    nd++;
    int bad = 0;
    if (out.len) {
      if (out.p[out.len - 1] != '\n') bad |= sb_add(&out, "\n", 1);
      bad |= sb_add(&out, SEPARATOR, strlen(SEPARATOR));
      bad |= sb_add(&out, "MSG: ", 5);
      bad |= sb_add(&out, key, strlen(key));
      bad |= sb_add(&out, "\n", 1);
    }
    bad |= sb_add(&out, body, tl);
    bad |= collect_deps(body, pkg, &queue, &nq, &cq);
    free(body);
    if (bad) {
      rc = PL_CONVERT_ENOMEM;
      goto out;
    }
  }
out:
  for (size_t i = 0; i < nq; i++) free(queue[i]);
  for (size_t i = 0; i < nd; i++) free(done[i]);
  free(queue);
  free(done);
  if (rc) {
    free(out.p);
    return rc;
  }
  if (!out.p && sb_add(&out, "", 0)) return PL_CONVERT_ENOMEM;
  *text = out.p;
  *len = out.len;
  return PL_CONVERT_OK;
}
