/*
 * server_util.c - small helpers of the server: clock, random ids, strings,
 * files written atomically, directory trees, name rules, JSON responses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"

uint64_t pl__srv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pl__srv_now_s(void) { return pl__srv_now_ns() / 1000000000u; }

int pl__srv_random(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void pl__srv_new_id(const char *prefix, char out[SRV_ID_LEN + 1]) {
  static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint8_t rnd[16];
  if (pl__srv_random(rnd, sizeof rnd) != 0) {
    /* getrandom cannot fail on Linux >= 3.17 with a valid buffer; fall back to the clock */
    uint64_t t = pl__srv_now_ns();
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)i;
  }
  size_t n = strlen(prefix);
  if (n > 6) n = 6;
  memcpy(out, prefix, n);
  out[n++] = '_';
  for (size_t i = 0; i < 16 && n < SRV_ID_LEN; i++) out[n++] = alphabet[rnd[i] % 62];
  out[n] = 0;
}

char *pl__srv_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

char *pl__srv_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *p = malloc((size_t)n + 1);
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void pl__srv_hex(const uint8_t *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = 0;
}

void pl__srv_log(pl_server *s, const char *fmt, ...) {
  if (!s || !s->opt.log) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pl__srv_log_line(s, line, sizeof line);
}

void pl__srv_log_line(pl_server *s, char *line, size_t cap) {
  if (!s || !s->opt.log) return;
  /* no API key ever reaches a log, whatever a message quotes */
  pl__srv_auth_redact(&s->auth, line, cap);
  /* nor control characters or ill-formed UTF-8 that a file or a client sent */
  size_t n = strlen(line);
  char *clean = pl_utf8_valid(line, n) ? NULL : pl_utf8_fix(line, n, &n);
  char *p = clean ? clean : line;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) p[i] = '?';
  s->opt.log(s->opt.log_user, p);
  free(clean);
}

int pl__srv_mkdirs(const char *path, unsigned mode) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) return -1;
      buf[i] = c;
    }
  }
  struct stat sb;
  if (stat(path, &sb) != 0) return -1;
  if (!S_ISDIR(sb.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

/* Remove group and other permission bits below `path` (lstat: symlinks are neither
 * followed nor changed). */
static void tighten(const char *path, const struct stat *sb, int recursive,
                    struct srv_tighten *t) {
  if (S_ISLNK(sb->st_mode)) return;
  if (sb->st_mode & 077) {
    mode_t want = (sb->st_mode & 07700) & ~(mode_t)06000; /* no set-id bits either */
    if (S_ISDIR(sb->st_mode)) want |= 0700;
    if (chmod(path, want) == 0)
      t->fixed++;
    else
      t->failed++;
  }
  if (!recursive || !S_ISDIR(sb->st_mode)) return;
  DIR *d = opendir(path);
  if (!d) {
    t->failed++;
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *child = pl__srv_printf("%s/%s", path, e->d_name);
    struct stat cs;
    if (child && lstat(child, &cs) == 0)
      tighten(child, &cs, recursive, t);
    else
      t->failed++;
    free(child);
  }
  closedir(d);
}

void pl__srv_tighten(const char *path, int recursive, struct srv_tighten *t) {
  struct stat sb;
  if (lstat(path, &sb) == 0) tighten(path, &sb, recursive, t);
}

int pl__srv_rmtree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(sb.st_mode)) return unlink(path);
  DIR *d = opendir(path);
  if (!d) return -1;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *child = pl__srv_printf("%s/%s", path, e->d_name);
    if (!child) {
      rc = -1;
      break;
    }
    if (pl__srv_rmtree(child) != 0) rc = -1;
    free(child);
  }
  closedir(d);
  if (rmdir(path) != 0) rc = -1;
  return rc;
}

void pl__srv_sync_dir(const char *dir, int no_fsync) {
  if (no_fsync) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int pl__srv_write_atomic(const char *path, const void *data, size_t len, int no_fsync,
                         unsigned mode) {
  char rnd[9];
  uint8_t r[4];
  if (pl__srv_random(r, sizeof r) != 0) memset(r, 0, sizeof r);
  pl__srv_hex(r, sizeof r, rnd);
  char *tmp = pl__srv_printf("%s.%s.tmp", path, rnd);
  if (!tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    free(tmp);
    return -1;
  }
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      free(tmp);
      errno = e;
      return -1;
    }
    p += n;
    left -= (size_t)n;
  }
  if ((!no_fsync && fsync(fd) != 0) || close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    errno = e;
    return -1;
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    errno = e;
    return -1;
  }
  free(tmp);
  /* the directory entry must be durable too */
  char *dir = pl__srv_strdup(path);
  if (dir) {
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = 0;
      pl__srv_sync_dir(dir, no_fsync);
    }
    free(dir);
  }
  return 0;
}

char *pl__srv_read_file(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
    close(fd);
    errno = EFBIG;
    return NULL;
  }
  size_t n = (size_t)sb.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    close(fd);
    return NULL;
  }
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);
    if (k < 0) {
      if (errno == EINTR) continue;
      free(buf);
      close(fd);
      return NULL;
    }
    if (k == 0) break;
    got += (size_t)k;
  }
  close(fd);
  buf[got] = 0;
  if (len) *len = got;
  return buf;
}

void pl__srv_time_str(uint64_t ns, char buf[40]) {
  /* API responses: RFC 3339 UTC with 'Z' and nine fractional digits */
  pl_format_time(ns, buf);
}

json_object *pl__srv_json_time(uint64_t ns) {
  char buf[40];
  pl__srv_time_str(ns, buf);
  return json_object_new_string(buf);
}

json_object *pl__srv_json_str(const char *s) { return s ? json_object_new_string(s) : NULL; }

/* ------------------------------------------------------------- name rules */

int pl__srv_valid_device_name(const char *s) {
  /* API: <= 100 characters, ^[A-Za-z0-9_.-]+$; ours: not "." or ".." */
  size_t n = strlen(s);
  if (n == 0 || n > SRV_MAX_NAME) return 0;
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

/* No control characters, no path separators, not "." or ".." (keys and file
 * names are never used as paths here, but refusing them keeps every consumer
 * of our state safe). */
static int plain_text(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max) return 0;
  if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return 0;
  }
  return 1;
}

/* Keys are identifiers clients send back: they must be text (UTF-8), unlike topic and
 * attachment names, which are kept as the file has them. */
int pl__srv_valid_key(const char *s) {
  return plain_text(s, SRV_MAX_KEY) && pl_utf8_valid(s, strlen(s));
}

/* Upload file names are data (the recording's `path`), never a path on disk: any
 * non-empty UTF-8 text up to SRV_MAX_FILENAME bytes ("run-7/front.mcap", "../x.mcap"). */
int pl__srv_valid_filename(const char *s) {
  size_t n = strlen(s);
  return n > 0 && n <= SRV_MAX_FILENAME && pl_utf8_valid(s, n);
}

int pl__srv_valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SRV_ID_LEN) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

/* ------------------------------------------------------------- responses */

void pl__srv_resp_json(struct srv_resp *r, int status, json_object *obj) {
  const char *text =
      json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (!text) text = "null";
  free(r->body);
  /* names from recordings are raw bytes; a JSON text is UTF-8 (server_json.c) */
  size_t n = strlen(text);
  r->body = pl_utf8_valid(text, n) ? pl__srv_strdup(text) : pl_utf8_fix(text, n, NULL);
  r->len = r->body ? strlen(r->body) : 0;
  r->status = r->body ? status : 500;
  r->content_type = "application/json";
  r->kind = RESP_BUFFER;
  json_object_put(obj);
}

void pl__srv_resp_error(struct srv_resp *r, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "error", json_object_new_string(msg));
  pl__srv_resp_json(r, status, o);
}

/* ------------------------------------------------------------- vectors, sorting */

int pl__srv_vec_push(struct srv_vec *v, void *item) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    void **p = realloc(v->items, cap * sizeof *p);
    if (!p) return -1;
    v->items = p;
    v->cap = cap;
  }
  v->items[v->n++] = item;
  return 0;
}

void pl__srv_vec_remove_at(struct srv_vec *v, size_t i) {
  if (i >= v->n) return;
  memmove(v->items + i, v->items + i + 1, (v->n - i - 1) * sizeof *v->items);
  v->n--;
}

struct sort_ctx {
  int (*cmp)(const void *, const void *, void *);
  void *ctx;
  int desc;
};

static int sort_tramp(const void *a, const void *b, void *arg) {
  const struct sort_ctx *sc = arg;
  int c = sc->cmp(*(void *const *)a, *(void *const *)b, sc->ctx);
  return sc->desc ? -c : c;
}

void pl__srv_sort(void **items, size_t n, int (*cmp)(const void *, const void *, void *),
                  void *ctx, int desc) {
  struct sort_ctx sc = {cmp, ctx, desc};
  if (n > 1) qsort_r(items, n, sizeof *items, sort_tramp, &sc);
}

int pl__srv_cmp_str(const char *a, const char *b) {
  if (!a) a = "";
  if (!b) b = "";
  int c = strcmp(a, b);
  return c < 0 ? -1 : c > 0;
}

int pl__srv_cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
