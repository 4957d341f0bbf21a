/*
 * output.c - diagnostics, formatting, text tables, JSON helpers and the
 * progress line (see output.h).
 */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/agent.h"
#include "pipeline/client.h"
#include "pipeline/core.h"

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

const char *cli_plural(uint64_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

const char *cli_count(char *buf, size_t size, uint64_t n, const char *one, const char *many) {
  snprintf(buf, size, "%llu %s", (unsigned long long)n, n == 1 ? one : many);
  return buf;
}

void cli_mark_incomplete(const cli_ctx *ctx) {
  if (ctx && ctx->incomplete) *ctx->incomplete = 1;
}

int cli_report_damage(const cli_ctx *ctx, const char *path, const mcap_damage *d) {
  if (!d || d->problems == 0) return CLI_EXIT_OK;
  char name[4200];
  if (!path || strcmp(path, "-") == 0)
    snprintf(name, sizeof name, "standard input");
  else
    snprintf(name, sizeof name, "'%s'", path);
  const char *why = d->msg[0] ? d->msg : mcap_strerror(d->code);
  if (d->unreadable || d->code == MCAP_EIO || d->code == MCAP_ENOMEM) {
    cli_error(ctx, "%s: %s", name, why);
    return CLI_EXIT_FAILURE;
  }
  char what[256] = "", more[256] = "";
  size_t n = 0, m = 0;
  /* the places skipped: chunks, and other records (an attachment whose CRC does not match) */
  uint64_t parts = d->problems - (d->rest_unread ? 1 : 0);
  if (d->chunks_skipped && parts > d->chunks_skipped)
    n += (size_t)snprintf(what, sizeof what, "skipped %llu damaged parts (%llu %s), the first at offset %llu",
                          (unsigned long long)parts, (unsigned long long)d->chunks_skipped,
                          cli_plural(d->chunks_skipped, "chunk", "chunks"),
                          (unsigned long long)d->first_offset);
  else if (d->chunks_skipped)
    n += (size_t)snprintf(what, sizeof what, "skipped %llu damaged %s%s %llu",
                          (unsigned long long)d->chunks_skipped,
                          cli_plural(d->chunks_skipped, "chunk", "chunks"),
                          d->chunks_skipped == 1 ? " at offset" : ", the first at offset",
                          (unsigned long long)d->first_offset);
  if (d->rest_unread && n < sizeof what)
    n += (size_t)snprintf(what + n, sizeof what - n, "%sstopped at offset %llu",
                          n ? " and " : "", (unsigned long long)d->stop_offset);
  if (!n && d->problems == 1)
    snprintf(what, sizeof what, "damaged at offset %llu", (unsigned long long)d->first_offset);
  else if (!n)
    snprintf(what, sizeof what, "%llu damaged parts, the first at offset %llu",
             (unsigned long long)d->problems, (unsigned long long)d->first_offset);
  if (d->bytes_skipped)
    m += (size_t)snprintf(more, sizeof more, "%llu %s not read",
                          (unsigned long long)d->bytes_skipped,
                          cli_plural(d->bytes_skipped, "byte", "bytes"));
  else if (d->rest_unread)
    m += (size_t)snprintf(more, sizeof more, "the rest not read");
  if (d->messages_skipped && m < sizeof more)
    m += (size_t)snprintf(more + m, sizeof more - m, "%sat least %llu %s lost", m ? ", " : "",
                          (unsigned long long)d->messages_skipped,
                          cli_plural(d->messages_skipped, "message", "messages"));
  cli_error(ctx, "%s: incomplete: %s%s%s%s: %s", name, what, m ? " (" : "", more, m ? ")" : "",
            why);
  cli_mark_incomplete(ctx);
  return CLI_EXIT_PROBLEMS;
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

void cli_json_add_damage(json_object *obj, const mcap_damage *d) {
  cli_json_add_bool(obj, "complete", d->problems == 0);
  if (!d->problems) return;
  json_object *o = json_object_new_object();
  cli_json_add_u64(o, "problems", d->problems);
  cli_json_add_u64(o, "first_offset", d->first_offset);
  if (d->rest_unread)
    cli_json_add_u64(o, "stop_offset", d->stop_offset);
  else
    json_object_object_add(o, "stop_offset", NULL);
  cli_json_add_u64(o, "bytes_skipped", d->bytes_skipped);
  cli_json_add_u64(o, "chunks_skipped", d->chunks_skipped);
  cli_json_add_u64(o, "messages_skipped", d->messages_skipped);
  cli_json_add_str(o, "message", d->msg);
  json_object_object_add(obj, "damage", o);
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

/* ---------------------------------------------------------- API resources */

static const char *tfmt(char *buf, uint64_t ns) {
  if (!ns) return "-";
  pl_format_time(ns, buf);
  return buf;
}

const char *cli_or_dash(const char *s) {
  return s && *s ? s : "-";
}

/* Text from the server for the terminal: control characters shown as '?' (the client
 * library has made it UTF-8 already). */
void cli_put_text(const char *s) {
  for (; s && *s; s++) putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

void cli_print_api_list(const pl_api_list *l) {
  cli_table t;
  char a[40], b[40], c[CLI_FMT_SIZE];
  switch (l->kind) {
    case PL_API_RECORDINGS:
      cli_table_init(&t, 7, "lllllrl");
      cli_table_add(&t, "id");
      cli_table_add(&t, "device");
      cli_table_add(&t, "start");
      cli_table_add(&t, "end");
      cli_table_add(&t, "status");
      cli_table_add(&t, "size");
      cli_table_add(&t, "path");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_recording *r = &l->recordings[i];
        cli_table_add(&t, "%s", r->id);
        cli_table_add(&t, "%s", cli_or_dash(r->device_name));
        cli_table_add(&t, "%s", tfmt(a, r->start));
        cli_table_add(&t, "%s", tfmt(b, r->end));
        cli_table_add(&t, "%s", cli_or_dash(r->import_status));
        cli_table_add(&t, "%s", cli_fmt_bytes(c, sizeof c, r->size));
        cli_table_add(&t, "%s", cli_or_dash(r->path));
      }
      break;
    case PL_API_ATTACHMENTS:
      cli_table_init(&t, 7, "llllrrl");
      cli_table_add(&t, "id");
      cli_table_add(&t, "recording");
      cli_table_add(&t, "name");
      cli_table_add(&t, "media type");
      cli_table_add(&t, "size");
      cli_table_add(&t, "crc");
      cli_table_add(&t, "log time");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_attachment *x = &l->attachments[i];
        cli_table_add(&t, "%s", x->id);
        cli_table_add(&t, "%s", cli_or_dash(x->recording_id));
        cli_table_add(&t, "%s", cli_or_dash(x->name));
        cli_table_add(&t, "%s", cli_or_dash(x->media_type));
        cli_table_add(&t, "%s", cli_fmt_bytes(c, sizeof c, x->size));
        cli_table_add(&t, "%u", x->crc);
        cli_table_add(&t, "%s", tfmt(a, x->log_time));
      }
      break;
    case PL_API_TOPICS:
      cli_table_init(&t, 5, "lllll");
      cli_table_add(&t, "topic");
      cli_table_add(&t, "encoding");
      cli_table_add(&t, "schema name");
      cli_table_add(&t, "schema encoding");
      cli_table_add(&t, "version");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_topic *x = &l->topics[i];
        cli_table_add(&t, "%s", x->topic);
        cli_table_add(&t, "%s", cli_or_dash(x->encoding));
        cli_table_add(&t, "%s", cli_or_dash(x->schema_name));
        cli_table_add(&t, "%s", cli_or_dash(x->schema_encoding));
        cli_table_add(&t, "%s", cli_or_dash(x->version));
      }
      break;
    case PL_API_COVERAGE:
      cli_table_init(&t, 4, "llll");
      cli_table_add(&t, "device");
      cli_table_add(&t, "start");
      cli_table_add(&t, "end");
      cli_table_add(&t, "status");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_coverage *x = &l->coverage[i];
        cli_table_add(&t, "%s", x->device_name ? x->device_name : cli_or_dash(x->device_id));
        cli_table_add(&t, "%s", tfmt(a, x->start));
        cli_table_add(&t, "%s", tfmt(b, x->end));
        cli_table_add(&t, "%s", x->import_status ? x->import_status : cli_or_dash(x->status));
      }
      break;
    case PL_API_PENDING_IMPORTS:
      cli_table_init(&t, 6, "llllll");
      cli_table_add(&t, "request id");
      cli_table_add(&t, "filename");
      cli_table_add(&t, "device");
      cli_table_add(&t, "status");
      cli_table_add(&t, "updated");
      cli_table_add(&t, "error");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_import *x = &l->imports[i];
        cli_table_add(&t, "%s", x->request_id);
        cli_table_add(&t, "%s", cli_or_dash(x->filename));
        cli_table_add(&t, "%s", x->device_name ? x->device_name : cli_or_dash(x->device_id));
        cli_table_add(&t, "%s", cli_or_dash(x->status));
        cli_table_add(&t, "%s", tfmt(a, x->updated_at));
        cli_table_add(&t, "%s", cli_or_dash(x->error));
      }
      break;
    case PL_API_LAKE_FILES:
      cli_table_init(&t, 2, "ll");
      cli_table_add(&t, "path");
      cli_table_add(&t, "topics");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_lake_file *x = &l->lake_files[i];
        cli_table_add(&t, "%s", x->path);
        char topics[512] = "";
        size_t used = 0;
        for (size_t k = 0; k < x->n_topics && used + 1 < sizeof topics; k++) {
          int w = snprintf(topics + used, sizeof topics - used, "%s%s", k ? "," : "", x->topics[k]);
          if (w < 0) break;
          used += (size_t)w;
        }
        cli_table_add(&t, "%s", x->n_topics ? topics : "-");
      }
      break;
    case PL_API_DEVICES:
    default:
      cli_table_init(&t, 2, "ll");
      cli_table_add(&t, "id");
      cli_table_add(&t, "name");
      for (size_t i = 0; i < l->n; i++) {
        cli_table_add(&t, "%s", l->devices[i].id);
        cli_table_add(&t, "%s", cli_or_dash(l->devices[i].name));
      }
      break;
  }
  cli_table_print(&t, stdout, "");
  cli_table_dispose(&t);
}

static const char *item_json(const pl_api_list *l, size_t i) {
  switch (l->kind) {
    case PL_API_RECORDINGS:
      return l->recordings[i].json;
    case PL_API_ATTACHMENTS:
      return l->attachments[i].json;
    case PL_API_TOPICS:
      return l->topics[i].json;
    case PL_API_COVERAGE:
      return l->coverage[i].json;
    case PL_API_PENDING_IMPORTS:
      return l->imports[i].json;
    case PL_API_LAKE_FILES:
      return l->lake_files[i].json;
    case PL_API_DEVICES:
      return l->devices[i].json;
  }
  return "null";
}

int cli_print_api_list_json(const char *kind, const pl_api_list *l) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "kind", kind);
  cli_json_add_u64(doc, "count", l->n);
  cli_json_add_u64(doc, "pages", l->pages);
  json_object *items = json_object_new_array();
  for (size_t i = 0; i < l->n; i++) {
    json_object *o = json_tokener_parse(item_json(l, i));
    json_object_array_add(items, o ? o : json_object_new_null());
  }
  json_object_object_add(doc, "items", items);
  return cli_json_print(stdout, doc);
}

int cli_print_api_item_json(const char *kind, const char *json) {
  json_object *doc = cli_json_document();
  json_object *o = json_tokener_parse(json ? json : "null");
  json_object_object_add(doc, kind, o);
  return cli_json_print(stdout, doc);
}

/* ----------------------------------------------------------- agent status */

void cli_agent_entry_json(json_object *arr, const pl_agent_entry *e) {
  json_object *o = json_object_new_object();
  cli_json_add_u64(o, "id", e->id);
  cli_json_add_str(o, "path", e->path);
  cli_json_add_str(o, "state", e->state);
  cli_json_add_str(o, "kind", e->kind);
  cli_json_add_bool(o, "stale", e->stale);
  cli_json_add_u64(o, "size", e->size);
  cli_json_add_u64(o, "attempts", (uint64_t)e->attempts);
  if (e->next_retry_ns) cli_json_add_time(o, "next_retry", e->next_retry_ns);
  if (e->updated_ns) cli_json_add_time(o, "updated", e->updated_ns);
  if (e->reason) cli_json_add_str(o, "reason", e->reason);
  if (e->key) cli_json_add_str(o, "key", e->key);
  if (e->recording_id) cli_json_add_str(o, "recording_id", e->recording_id);
  if (e->copy) cli_json_add_str(o, "copy", e->copy);
  cli_json_add_bool(o, "lost", e->lost);
  cli_json_add_u64(o, "messages_lost", e->messages_lost);
  cli_json_add_u64(o, "doctor_errors", e->doctor_errors);
  cli_json_add_u64(o, "bytes_sent", e->bytes_sent);
  cli_json_add_u64(o, "bytes_total", e->bytes_total);
  cli_json_add_double(o, "rate", e->rate, 0);
  json_object_array_add(arr, o);
}

void cli_agent_counts_json(json_object *doc, const pl_agent_counts *c) {
  json_object *o = json_object_new_object();
  cli_json_add_u64(o, "verified", c->verified);
  cli_json_add_u64(o, "deleted", c->deleted);
  cli_json_add_u64(o, "failed", c->failed);
  cli_json_add_u64(o, "refused", c->refused);
  cli_json_add_u64(o, "differs", c->differs);
  cli_json_add_u64(o, "gone", c->gone);
  cli_json_add_u64(o, "lost", c->lost);
  cli_json_add_u64(o, "pending", c->pending);
  if (c->uploads) cli_json_add_u64(o, "uploads_this_run", c->uploads);
  json_object_object_add(doc, "counts", o);
}

void cli_agent_entry_detail(const pl_agent_entry *e, uint64_t now, char *buf, size_t n) {
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE], r[CLI_FMT_SIZE];
  buf[0] = 0;
  if (strcmp(e->state, "uploading") == 0 && e->bytes_total) {
    snprintf(buf, n, "%s of %s at %s/s", cli_fmt_bytes(a, sizeof a, e->bytes_sent),
             cli_fmt_bytes(b, sizeof b, e->bytes_total),
             cli_fmt_bytes(r, sizeof r, (uint64_t)e->rate));
  } else if (strcmp(e->state, "failed") == 0) {
    if (e->next_retry_ns)
      snprintf(buf, n, "attempt %d, next in %.0f s: %s", e->attempts,
               e->next_retry_ns > now ? (double)(e->next_retry_ns - now) / 1e9 : 0.0,
               e->reason ? e->reason : "");
    else
      snprintf(buf, n, "attempt %d, not retried: %s", e->attempts, e->reason ? e->reason : "");
  } else if ((strcmp(e->state, "verified") == 0 || strcmp(e->state, "deleted") == 0) &&
             e->recording_id) {
    snprintf(buf, n, "recording %s%s%s", e->recording_id, e->lost ? "; " : "",
             e->lost && e->reason ? e->reason : "");
  } else if (e->reason) {
    snprintf(buf, n, "%s", e->reason);
  }
  if (e->stale && strlen(buf) + 10 < n) {
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "%s(stale)", l ? " " : "");
  }
}

void cli_agent_event_json(FILE *f, uint64_t now, const pl_agent_event *ev) {
  json_object *o = cli_json_document();
  cli_json_add_time(o, "time", now);
  cli_json_add_str(o, "event", ev->event);
  if (ev->path) cli_json_add_str(o, "path", ev->path);
  if (ev->message) cli_json_add_str(o, "message", ev->message);
  if (ev->size) cli_json_add_u64(o, "size", ev->size);
  if (ev->messages_lost) cli_json_add_u64(o, "messages_lost", ev->messages_lost);
  if (ev->attempts) cli_json_add_u64(o, "attempts", (uint64_t)ev->attempts);
  if (ev->next_retry_ns) cli_json_add_time(o, "next_retry", ev->next_retry_ns);
  if (ev->key) cli_json_add_str(o, "key", ev->key);
  if (ev->recording_id) cli_json_add_str(o, "recording_id", ev->recording_id);
  cli_json_print_line(f, o);
}
