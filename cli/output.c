/*
 * output.c - diagnostics, formatting, text tables, JSON helpers and the
 * progress line (see output.h).
 */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline.h"

/* ------------------------------------------------------------ diagnostics */

static void vreport(const cli_ctx *ctx, const char *fmt, va_list ap) {
  if (ctx && ctx->cmd)
    fprintf(stderr, "mcapkit %s: ", ctx->cmd->name);
  else
    fputs("mcapkit: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_error(const cli_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, fmt, ap);
  va_end(ap);
}

void cli_file_error(const cli_ctx *ctx, const char *path, const char *msg) {
  char quoted[4200];
  snprintf(quoted, sizeof quoted, "'%s'", path);
  if (strstr(msg, quoted))
    cli_error(ctx, "%s", msg);
  else
    cli_error(ctx, "%s: %s", quoted, msg);
}

void cli_verbose(const cli_ctx *ctx, const char *fmt, ...) {
  if (!ctx || ctx->verbose <= 0) return;
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, fmt, ap);
  va_end(ap);
}

const char *cli_open_error(char *buf, size_t n, const char *path, const mcap_error_info *err,
                           int code) {
  char quoted[512];
  snprintf(quoted, sizeof quoted, "'%s'", path);
  if (err && err->msg[0] && strstr(err->msg, quoted))
    snprintf(buf, n, "%s", err->msg);
  else
    snprintf(buf, n, "cannot open '%s': %s", path,
             err && err->msg[0] ? err->msg : mcap_strerror(code));
  return buf;
}

/* ------------------------------------------------------------- formatting */

#define UNIX_1990 UINT64_C(631152000)
#define UNIX_2200 UINT64_C(7258118400)

const char *cli_fmt_time(char *buf, size_t n, uint64_t ns) {
  uint64_t secs = ns / 1000000000u, frac = ns % 1000000000u;
  if (secs >= UNIX_1990 && secs < UNIX_2200) {
    char t[40];
    pl_format_time(ns, t);
    snprintf(buf, n, "%s", t);
  } else {
    snprintf(buf, n, "%llu.%09llu", (unsigned long long)secs, (unsigned long long)frac);
  }
  return buf;
}

const char *cli_fmt_duration(char *buf, size_t n, uint64_t ns) {
  snprintf(buf, n, "%llu.%09llu s", (unsigned long long)(ns / 1000000000u),
           (unsigned long long)(ns % 1000000000u));
  return buf;
}

const char *cli_fmt_bytes(char *buf, size_t n, uint64_t bytes) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    return buf;
  }
  double v = (double)bytes / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024.0;
    u++;
  }
  snprintf(buf, n, v < 10 ? "%.2f %s" : "%.1f %s", v, units[u]);
  return buf;
}

/* ----------------------------------------------------------------- tables */

void cli_table_init(cli_table *t, size_t ncols, const char *align) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols ? ncols : 1;
  t->align = align ? align : "";
}

void cli_table_add(cli_table *t, const char *fmt, ...) {
  if (t->oom) return;
  if (t->ncells == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 32;
    char **nc = realloc(t->cells, ncap * sizeof *nc);
    if (!nc) {
      t->oom = 1;
      return;
    }
    t->cells = nc;
    t->cap = ncap;
  }
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!s) {
    t->oom = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  va_end(ap);
  /* names from files and servers may hold control characters: never for the terminal */
  for (char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  t->cells[t->ncells++] = s;
}

/* Display width: UTF-8 code points (every byte that is not a continuation byte). */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

void cli_table_print(const cli_table *t, FILE *f, const char *indent) {
  if (t->oom) {
    fputs("(out of memory)\n", f);
    return;
  }
  size_t *width = calloc(t->ncols, sizeof *width);
  if (!width) {
    fputs("(out of memory)\n", f);
    return;
  }
  for (size_t i = 0; i < t->ncells; i++) {
    size_t w = text_width(t->cells[i]);
    if (w > width[i % t->ncols]) width[i % t->ncols] = w;
  }
  size_t alen = strlen(t->align);
  for (size_t i = 0; i < t->ncells; i++) {
    size_t col = i % t->ncols;
    const char *cell = t->cells[i];
    size_t pad = width[col] - text_width(cell);
    int right = col < alen && t->align[col] == 'r';
    int last = col + 1 == t->ncols || i + 1 == t->ncells;
    if (col == 0 && indent) fputs(indent, f);
    if (right) fprintf(f, "%*s", (int)pad, "");
    fputs(cell, f);
    if (!right && !last) fprintf(f, "%*s", (int)pad, "");
    fputs(last ? "\n" : "  ", f);
  }
  free(width);
}

void cli_table_dispose(cli_table *t) {
  for (size_t i = 0; i < t->ncells; i++) free(t->cells[i]);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------- JSON */

json_object *cli_json_document(void) {
  json_object *o = json_object_new_object();
  if (o) json_object_object_add(o, "format_version", json_object_new_int(1));
  return o;
}

void cli_json_add_str(json_object *obj, const char *key, const char *s) {
  json_object_object_add(obj, key, s ? json_object_new_string(s) : NULL);
}

void cli_json_add_strn(json_object *obj, const char *key, const char *s, size_t len) {
  json_object_object_add(obj, key, json_object_new_string_len(s ? s : "", (int)len));
}

void cli_json_add_u64(json_object *obj, const char *key, uint64_t v) {
  json_object_object_add(obj, key, json_object_new_uint64(v));
}

void cli_json_add_int(json_object *obj, const char *key, int64_t v) {
  json_object_object_add(obj, key, json_object_new_int64(v));
}

void cli_json_add_bool(json_object *obj, const char *key, int v) {
  json_object_object_add(obj, key, json_object_new_boolean(v ? 1 : 0));
}

void cli_json_add_double(json_object *obj, const char *key, double v, int decimals) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*f", decimals, v);
  json_object_object_add(obj, key, json_object_new_double_s(v, buf));
}

void cli_json_add_time(json_object *obj, const char *key, uint64_t ns) {
  char k[96], v[CLI_FMT_SIZE];
  snprintf(k, sizeof k, "%s_ns", key);
  snprintf(v, sizeof v, "%llu", (unsigned long long)ns);
  json_object_object_add(obj, k, json_object_new_string(v));
  json_object_object_add(obj, key, json_object_new_string(cli_fmt_time(v, sizeof v, ns)));
}

static int print_json(FILE *f, json_object *doc, int flags) {
  int rc = -1;
  if (doc) {
    const char *s = json_object_to_json_string_ext(doc, flags);
    if (s && fputs(s, f) >= 0 && fputc('\n', f) != EOF) rc = 0;
  }
  json_object_put(doc);
  return rc;
}

int cli_json_print(FILE *f, json_object *doc) {
  return print_json(
      f, doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int cli_json_print_line(FILE *f, json_object *obj) {
  return print_json(f, obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* --------------------------------------------------------------- progress */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(cli_progress *p, const cli_ctx *ctx) {
  memset(p, 0, sizeof *p);
  p->enabled = ctx && ctx->stderr_tty;
}

void cli_progress_update(cli_progress *p, const char *fmt, ...) {
  if (!p->enabled) return;
  double t = now_seconds();
  if (p->shown && t - p->last < 0.1) return;
  p->last = t;
  p->shown = 1;
  va_list ap;
  va_start(ap, fmt);
  fputc('\r', stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\033[K", stderr); /* erase the rest of the line */
  va_end(ap);
  fflush(stderr);
}

void cli_progress_done(cli_progress *p) {
  if (p->enabled && p->shown) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
  p->shown = 0;
}
